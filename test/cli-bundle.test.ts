// bin/drayer.js runs the CLI bundled by scripts/build-cli.mjs (issue 17: a node starts from a
// few files, not ~200 modules). Real child processes: the bundled `drayer serve --ui` starts,
// serves its API and page, loads few files, and its stack traces still point at the .ts sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DRAYER_BIN, tmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = path.join(ROOT, 'dist', 'bundle');

/** An --import module that reports each module file the process loads (one `LOADED url` line on stderr). */
function loadReporter(dir: string): string {
  fs.writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `export async function load(url, ctx, next) { if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n'); return next(url, ctx); }\n`,
  );
  const reg = path.join(dir, 'register.mjs');
  fs.writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`);
  return pathToFileURL(reg).href;
}

test('the bundled `drayer serve --ui` starts, serves the API and the page, and loads few files', async () => {
  const dir = tmpDir('drayer-bundle-');
  const data = path.join(dir, 'data');
  const args = ['--import', loadReporter(dir), DRAYER_BIN, 'serve', '--data', data, '--host', '127.0.0.1', '--port', '0', '--no-discovery', '--ui', '--json'];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DRAYER_DEBUG: '' } });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      void exited.then((code) => reject(new Error(`drayer serve exited (${code}) before it was ready: ${err}`)));
    });
    const loadedAtStart = err.split('\n').filter((l) => l.startsWith('LOADED '));
    const { ui, token } = JSON.parse(line) as { ui: string; token: string };
    const origin = new URL(ui).origin;
    const api = async <T>(method: string, arg: unknown): Promise<T> => {
      const res = await fetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(arg),
      });
      const env = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
      assert.ok(env.ok, `${method}: ${env.error?.message}`);
      return env.value as T;
    };
    // The page (the renderer's files, found from the bundle) and the API (zod, loaded after start) both answer.
    const page = await fetch(ui);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script[^>]+type="module"/);
    const { publicKey } = await api<{ publicKey: string }>('createStream', { name: 'Bundled' });
    await api('post', { publicKey, title: 'Quince jam', body: 'From the bundled node.' });
    const found = await api<{ results: { title: string }[] } | { title: string }[]>('search', { query: 'quince' });
    assert.match(JSON.stringify(found), /Quince jam/);
    // Bad input still gets the API's clear error (the schemas came with the bundle).
    const bad = await fetch(`${origin}/api/post`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ publicKey, title: 7 }),
    });
    assert.equal(((await bad.json()) as { ok: boolean }).ok, false);

    // Up to "ready": the bundle's few chunks, not the ~105 modules of dist/app and zod's ~95.
    const ours = loadedAtStart.filter((l) => l.includes(pathToFileURL(ROOT).href) && !l.includes('/node_modules/'));
    assert.ok(
      ours.every((l) => l.includes('/dist/bundle/') || l.endsWith('/bin/drayer.js')),
      `loaded outside the bundle: ${ours.filter((l) => !l.includes('/dist/bundle/')).join('\n')}`,
    );
    // 40: devices, private files and rotation (issue 19) came as chunks of their own; still a handful against ~200 unbundled
    assert.ok(ours.length <= 40, `${ours.length} module files loaded before the node was ready:\n${ours.join('\n')}`);
    // As unbundled (startup-modules.test.ts): zod, hash-wasm and tweetnacl wait until their work comes.
    const packages = new Set<string>();
    for (const l of loadedAtStart) {
      const url = l.slice('LOADED '.length);
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (m) packages.add(m[1]!);
      // the bundler's own runtime chunk (interop for CommonJS packages) has no source map: it holds no package
      if (!url.includes('/dist/bundle/') || !fs.existsSync(fileURLToPath(url) + '.map')) continue;
      const map = JSON.parse(fs.readFileSync(fileURLToPath(url) + '.map', 'utf8')) as { sources: string[] };
      for (const src of map.sources) {
        const b = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(src);
        if (b) packages.add(b[1]!);
      }
    }
    assert.ok(packages.has('better-sqlite3') && packages.has('@msgpack/msgpack'), `the probe sees packages: ${[...packages].join(', ')}`);
    for (const pkg of ['zod', 'hash-wasm', 'tweetnacl']) assert.ok(!packages.has(pkg), `${pkg} is loaded at start-up (loaded: ${[...packages].join(', ')})`);
  } finally {
    p.kill('SIGTERM');
    assert.equal(
      await exited,
      0,
      `drayer serve did not stop cleanly: ${err
        .split('\n')
        .filter((l) => !l.startsWith('LOADED '))
        .join('\n')}`,
    );
  }
});

test("the bundle's stack traces point at the .ts sources, and every worker it starts is there", () => {
  const dir = tmpDir('drayer-bundle-');
  const file = path.join(dir, 'bad.stream');
  fs.writeFileSync(file, 'not a database');
  const r = spawnSync(process.execPath, ['--enable-source-maps', DRAYER_BIN, 'info', file], { env: { ...process.env, DRAYER_DEBUG: '1' } });
  const err = r.stderr.toString();
  assert.equal(r.status, 1, err);
  assert.match(err, /not a Drayer stream file/);
  assert.match(err, /at \S+ \(.*app\/store\/schema\.ts:\d+:\d+\)/, `no .ts frame in:\n${err}`);
  assert.doesNotMatch(err, /dist\/bundle\//, 'a frame was left unmapped');

  // Workers run from tsc's output (the bundle points each `import.meta.url` there): each must exist.
  const workers = new Set<string>();
  for (const f of fs.readdirSync(BUNDLE).filter((n) => n.endsWith('.js'))) {
    const code = fs.readFileSync(path.join(BUNDLE, f), 'utf8');
    for (const m of code.matchAll(/new URL\("(\.\/[\w-]+\.js)", new URL\("([^"]+)", import\.meta\.url\)\.href\)/g)) {
      workers.add(fileURLToPath(new URL(m[1]!, new URL(m[2]!, pathToFileURL(path.join(BUNDLE, f))))));
    }
  }
  assert.ok(workers.size >= 4, `expected the checkpointer, chunk reader/writer and verifier workers, found ${[...workers].join(', ')}`);
  for (const w of workers) assert.ok(fs.existsSync(w), `${w} (a worker the bundle starts) is missing`);
});
