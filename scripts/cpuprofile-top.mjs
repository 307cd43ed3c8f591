// Top costs of a V8 .cpuprofile (node --cpu-prof), per function (name, file, line), largest self
// time first: its self share of the sampled total, and its total share (time with it anywhere on
// the stack, counted once a sample even when it recurses).
// Usage: node scripts/cpuprofile-top.mjs [--top=N] [--by=total] FILE.cpuprofile...  (one table per
// file: a process writes one profile per thread)
import * as fs from 'node:fs';

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 10);
const byTotal = args.includes('--by=total');
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node scripts/cpuprofile-top.mjs [--top=N] [--by=total] FILE.cpuprofile...');
  process.exit(2);
}
for (const file of files) summarise(file);

function nameOf(cf) {
  const where = cf.url ? `${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
  return `${cf.functionName || '(anonymous)'}${where ? ' ' + where : ''}`;
}

function summarise(file) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const total = new Map();
  // timeDeltas[i] is the time before samples[i]: charge it to that sample's node (self) and to
  // every distinct function on its stack (total).
  let sum = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const name = nameOf(byId.get(prof.samples[i]).callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set();
    for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
      const nm = nameOf(byId.get(id).callFrame);
      if (seen.has(nm)) continue;
      seen.add(nm);
      total.set(nm, (total.get(nm) ?? 0) + dt);
    }
    sum += dt;
  }
  const order = byTotal ? total : self;
  const rows = [...order].sort((a, b) => b[1] - a[1]).slice(0, top);
  const pct = (us) => (((us ?? 0) / sum) * 100).toFixed(1).padStart(5);
  console.log(`${file}: ${(sum / 1000).toFixed(0)} ms sampled`);
  console.log(' self%  total%  self ms  function');
  for (const [name] of rows)
    console.log(`${pct(self.get(name))}%  ${pct(total.get(name))}%  ${((self.get(name) ?? 0) / 1000).toFixed(0).padStart(7)}  ${name}`);
}
