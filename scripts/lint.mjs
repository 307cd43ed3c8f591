#!/usr/bin/env node
// `npm run lint` (and so `npm test` and CI): ESLint, the Prettier check and the dependency rules,
// run side by side (separate processes, on separate cores where there are), each one's findings
// printed under its name, and a last line that says which failed and what to do. All three always
// run, so one failing does not hide the others' findings.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const checks = [
  { name: 'eslint', cmd: bin('eslint'), args: ['.'], fix: 'fix the code (`npx eslint --fix .` fixes type imports)' },
  {
    name: 'prettier',
    cmd: bin('prettier'),
    args: ['--check', '.', '--log-level', 'warn', '--cache', '--cache-strategy', 'content'],
    fix: 'run `npm run format`',
  },
  {
    name: 'dependency rules',
    cmd: bin('depcruise'),
    args: ['app', 'main', 'renderer', 'test', 'bench', 'scripts', '--output-type', 'err'],
    fix: 'move the import (README "Architecture" says which folder may import which)',
  },
];

function run({ cmd, args }) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ code: 1, out: `${out}${e.message}\n`, s: (Date.now() - started) / 1000 }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out, s: (Date.now() - started) / 1000 }));
  });
}

const results = await Promise.all(checks.map(run));
const failed = [];
checks.forEach((c, i) => {
  const r = results[i];
  const text = r.out.trim();
  if (r.code !== 0) failed.push(c);
  if (r.code !== 0 || process.env.LINT_VERBOSE) {
    process.stdout.write(`\n── ${c.name} ${r.code === 0 ? 'ok' : 'FAILED'} (${r.s.toFixed(1)} s)\n${text ? `${text}\n` : ''}`);
  }
});
if (failed.length) {
  process.stdout.write(`\nlint failed: ${failed.map((c) => `${c.name} (${c.fix})`).join('; ')}\n`);
  process.exit(1);
}
process.stdout.write(`lint ok: ${checks.map((c, i) => `${c.name} ${results[i].s.toFixed(1)} s`).join(', ')}\n`);
