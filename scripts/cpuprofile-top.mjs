// Top costs of V8 .cpuprofile files (node --cpu-prof), per function (name, file, line), largest first:
// self time (the function's own samples) and total time (samples with it anywhere on the stack,
// each sample counted once), as shares of the sampled busy time (idle samples left out).
// Usage: node scripts/cpuprofile-top.mjs [--top=N] [--merge] [--by=total] FILE.cpuprofile...
// One table per file (a process writes one profile per thread), or one for all with --merge (the
// bench lan profiles: one per node).
import * as fs from 'node:fs';

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 10);
const byTotal = args.includes('--by=total');
const merge = args.includes('--merge');
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node scripts/cpuprofile-top.mjs [--top=N] [--merge] [--by=total] FILE.cpuprofile...');
  process.exit(2);
}
if (merge) {
  const acc = { self: new Map(), total: new Map(), busy: 0, idle: 0 };
  for (const file of files) add(acc, file);
  print(`${files.length} profiles`, acc);
} else {
  for (const file of files) {
    const acc = { self: new Map(), total: new Map(), busy: 0, idle: 0 };
    add(acc, file);
    print(file, acc);
  }
}

function nameOf(cf) {
  const where = cf.url ? `${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
  return `${cf.functionName || '(anonymous)'}${where ? ' ' + where : ''}`;
}

function add(acc, file) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // each node's stack of distinct names, made once
  const stacks = new Map();
  const stackOf = (id) => {
    let s = stacks.get(id);
    if (!s) {
      const names = new Set();
      for (let at = id; at !== undefined; at = parent.get(at)) names.add(nameOf(byId.get(at).callFrame));
      s = [...names];
      stacks.set(id, s);
    }
    return s;
  };
  // timeDeltas[i] is the time before samples[i]: charge it to that sample's node.
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const id = prof.samples[i];
    const name = nameOf(byId.get(id).callFrame);
    if (name === '(idle)') {
      acc.idle += dt;
      continue;
    }
    acc.busy += dt;
    acc.self.set(name, (acc.self.get(name) ?? 0) + dt);
    for (const n of stackOf(id)) acc.total.set(n, (acc.total.get(n) ?? 0) + dt);
  }
}

function print(title, acc) {
  const pct = (us) => `${((us / acc.busy) * 100).toFixed(1).padStart(5)}%`;
  const key = byTotal ? acc.total : acc.self;
  const rows = [...key]
    .filter(([n]) => !byTotal || !/^\((root|program)\)/.test(n))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  console.log(`${title}: ${(acc.busy / 1000).toFixed(0)} ms busy sampled (${(acc.idle / 1000).toFixed(0)} ms idle)`);
  console.log('  self  total  self ms  function');
  for (const [name] of rows) {
    const s = acc.self.get(name) ?? 0;
    console.log(`${pct(s)} ${pct(acc.total.get(name) ?? 0)} ${(s / 1000).toFixed(0).padStart(8)}  ${name}`);
  }
}
