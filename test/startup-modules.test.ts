// What a node loads before it can answer (issue 17, start-up of a big library): the engine and
// the web UI's transport, without the libraries only some requests need. zod (the API argument
// schemas, about a hundred modules) loads after the UI listens; hash-wasm and tweetnacl only
// where libsodium is missing or a big file is fetched. Each of them cost start-up tens of ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The packages (folders under node_modules) a fresh process has loaded once it imported `modules`. */
function packagesLoaded(modules: string[]): Set<string> {
  // A loader hook names every module as it loads; hooks run on their own thread, so it writes to stderr.
  const hook = `export async function load(u, c, next) { process.stderr.write('LOADED ' + u + '\\n'); return next(u, c); }`;
  const script = `
    import { register } from 'node:module';
    import { pathToFileURL } from 'node:url';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    for (const m of ${JSON.stringify(modules.map((m) => path.join(DIST, m)))}) await import(pathToFileURL(m).href);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, `the probe failed: ${r.stderr}`);
  const out = new Set<string>();
  for (const line of r.stderr.split('\n')) {
    const m = /^LOADED .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

test('a node and its web UI load without zod, hash-wasm or tweetnacl; each loads when its work comes', () => {
  const start = packagesLoaded(['app/node/node.js', 'app/node/webui.js']);
  assert.ok(start.has('@msgpack/msgpack'), `the probe sees packages: ${[...start].join(', ')}`);
  for (const p of ['zod', 'hash-wasm', 'tweetnacl']) assert.ok(!start.has(p), `${p} is not loaded at start-up (loaded: ${[...start].join(', ')})`);
  // Where they are needed, they are there.
  assert.ok(packagesLoaded(['app/node/api-schema.js']).has('zod'));
  // the Mainline DHT too: loaded only when it is turned on (app/node/dht-presence.ts)
  assert.ok(!start.has('bittorrent-dht') && !start.has('k-rpc'), `the DHT is not loaded at start-up (loaded: ${[...start].join(', ')})`);
  assert.ok(packagesLoaded(['app/net/dht.js']).has('bittorrent-dht'));
});
