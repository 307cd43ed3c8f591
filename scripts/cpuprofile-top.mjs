// Top self-time costs of a V8 .cpuprofile (node --cpu-prof): self time summed per function
// (name, file, line), printed largest first with its share of the sampled total.
// Usage: node scripts/cpuprofile-top.mjs [--top=N] FILE.cpuprofile...  (one table per file: a
// process writes one profile per thread)
import * as fs from 'node:fs';

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 10);
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node scripts/cpuprofile-top.mjs [--top=N] FILE.cpuprofile...');
  process.exit(2);
}
for (const file of files) summarise(file);

function summarise(file) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i] is the time before samples[i]: charge it to that sample's node.
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const n = byId.get(prof.samples[i]);
    const cf = n.callFrame;
    const where = cf.url ? `${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
    const name = `${cf.functionName || '(anonymous)'}${where ? ' ' + where : ''}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [name, us] of rows) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
}
