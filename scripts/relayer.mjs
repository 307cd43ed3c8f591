#!/usr/bin/env node
// One-off tool of the layer move (issue 16): moves app/'s files into their layer folders
// (git mv) and rewrites every relative import in the repository to the new places. Re-running it
// is safe, and is how a branch written against the old layout is brought over after a merge: an
// import that no longer resolves is looked up at its old place and pointed at the new one.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const layers = {
  core: ['record', 'crypto', 'msgpack', 'keys', 'pgpwords', 'keybackup', 'errors', 'threads', 'text', 'units', 'site'],
  store: [
    'store',
    'files',
    'chunk-writer',
    'chunk-writer-worker',
    'verifier',
    'verify-range',
    'verify-worker',
    'checkpointer',
    'checkpointer-worker',
    'keystore',
    'export',
    'posts',
  ],
  net: ['sync', 'open', 'discovery', 'lan', 'nearby'],
  'net/server': ['webpage', 'markdown-html'],
  node: ['node', 'library', 'datadir', 'uploads', 'api', 'api-schema', 'webui'],
  cli: ['cli', 'cli-net'],
};
/** old path (from the repo root, .ts) → new path */
const moves = new Map();
for (const [dir, names] of Object.entries(layers)) for (const n of names) moves.set(`app/${n}.ts`, `app/${dir}/${n}.ts`);
moves.set('app/server.ts', 'app/net/server/server.ts');
for (const n of ['context', 'guard', 'http', 'sync-routes', 'web-routes']) moves.set(`app/server/${n}.ts`, `app/net/server/${n}.ts`);
// Extra moves a branch adds (files split off before the move), as JSON {"old": "new"} lines.
const extra = path.join(root, 'scripts', 'relayer-extra.json');
if (fs.existsSync(extra)) for (const [a, b] of Object.entries(JSON.parse(fs.readFileSync(extra, 'utf8')))) moves.set(a, b);
const back = new Map([...moves].map(([a, b]) => [b, a]));

const exists = (p) => fs.existsSync(path.join(root, p));
const git = (...args) => execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

// 1. Move what is still at its old place.
for (const [from, to] of moves) {
  if (exists(from) && !exists(to)) {
    fs.mkdirSync(path.dirname(path.join(root, to)), { recursive: true });
    git('mv', from, to);
  }
}

// 2. Rewrite imports.
const SOURCE = /\.(ts|tsx|js|mjs)$/;
const files = git('ls-files', '-co', '--exclude-standard', 'app', 'main', 'renderer', 'test', 'bench', 'scripts', 'bin')
  .split('\n')
  .filter((f) => SOURCE.test(f) && exists(f) && !f.endsWith('relayer.mjs'));

/** The source file a specifier names, relative to the repo root, if one exists there. */
function sourceOf(dir, spec) {
  const p = path.posix.normalize(path.posix.join(dir, spec));
  const stem = p.replace(/\.(js|mjs)$/, '');
  for (const c of [p, `${stem}.ts`, `${stem}.tsx`]) if (exists(c) && fs.statSync(path.join(root, c)).isFile()) return c;
  return null;
}
function oldSource(dir, spec) {
  const p = path.posix.normalize(path.posix.join(dir, spec));
  const stem = p.replace(/\.(js|mjs)$/, '');
  for (const c of [`${stem}.ts`, `${stem}.tsx`, p]) if (moves.has(c)) return c;
  return null;
}
function relSpec(fromDir, target, spec) {
  let r = path.posix.relative(fromDir, target);
  if (!r.startsWith('.')) r = `./${r}`;
  const ext = /\.(js|mjs)$/.exec(spec)?.[0] ?? (/\.tsx?$/.test(spec) ? null : '');
  if (ext === null) return r; // spec named the .ts itself
  return r.replace(/\.tsx?$/, ext);
}

let changed = 0;
const IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bnew URL\(\s*|\brequire\(\s*)(['"])(\.{1,2}\/[^'"]+)\2/g;
for (const f of files) {
  const text = fs.readFileSync(path.join(root, f), 'utf8');
  const dir = path.posix.dirname(f);
  const oldDir = back.has(f) ? path.posix.dirname(back.get(f)) : dir;
  const out = text.replace(IMPORT, (all, pre, q, spec) => {
    // The dist/ paths of bin/ and scripts/ name compiled files: map them through their sources.
    const distBase = /(^|\/)dist\//.test(spec);
    if (distBase) {
      const abs = path.posix.normalize(path.posix.join(dir, spec));
      const m = /^dist\/(.*)\.js$/.exec(abs);
      if (!m) return all;
      const to = moves.get(`${m[1]}.ts`);
      if (!to) return all;
      return `${pre}${q}${relSpec(dir, `dist/${to.replace(/\.ts$/, '.js')}`, spec)}${q}`;
    }
    if (sourceOf(dir, spec) && !(back.has(f) && oldSource(oldDir, spec) && sourceOf(dir, spec) !== moves.get(oldSource(oldDir, spec)))) return all;
    const old = oldSource(oldDir, spec) ?? oldSource(dir, spec);
    if (!old) return all;
    const target = moves.get(old);
    return `${pre}${q}${relSpec(dir, target, spec)}${q}`;
  });
  if (out !== text) {
    fs.writeFileSync(path.join(root, f), out);
    changed++;
  }
}
console.log(`relayer: ${changed} files rewritten`);
