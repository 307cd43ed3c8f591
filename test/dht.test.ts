// The Mainline DHT (app/net/dht.ts). The infohash is checked here against vectors computed with
// the original's formula in Python; everything that joins a DHT runs in
// test/fixtures/dht-scenarios.ts, a node:test file started inside a private network namespace
// (test/netns.ts), where only the nodes it starts exist and the public routers cannot be reached.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dhtInfoHash, parseBootstrap } from '../app/net/dht.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'test', 'vectors', 'original-drayer-infohash.json'), 'utf8')) as {
  vectors: { public_key_hex: string; infohash_hex: string }[];
};

test("a stream's infohash is the original Drayer's (BLAKE2b-256 twice, first 20 bytes)", () => {
  assert.ok(vectors.vectors.length >= 3);
  for (const v of vectors.vectors) assert.equal(dhtInfoHash(Buffer.from(v.public_key_hex, 'hex')).toString('hex'), v.infohash_hex);
  assert.throws(() => dhtInfoHash(new Uint8Array(31)), /32 bytes/);
});

test('bootstrap lists are HOST:PORT, and a wrong entry is named', () => {
  assert.deepEqual(parseBootstrap('127.0.0.1:6881, router.example.org:25401'), ['127.0.0.1:6881', 'router.example.org:25401']);
  assert.throws(() => parseBootstrap('127.0.0.1'), /"127.0.0.1" is not a DHT node address/);
  assert.throws(() => parseBootstrap('a:0'), /"a:0"/);
  assert.throws(() => parseBootstrap(' , '), /No DHT node address/);
});

test(
  'real DHT nodes in a private network namespace: announce, lookup, restart, hostile answers',
  { skip: !netnsAvailable() && NETNS_SKIP_REASON },
  async (t) => {
    const r = await runInNetns(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', path.join(here, 'fixtures', 'dht-scenarios.js')], {
      // without NODE_TEST_CONTEXT, or the inner runner reports to this one's channel instead of its stdout
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, DRAYER_DHT_CHILD: '1', DRAYER_DHT_NO_PUBLIC: '1' },
      timeoutMs: 120_000,
    });
    assert.equal(r.timedOut, false, `the scenarios ran past 120 s:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.code, 0, `the scenarios failed:\n${r.stdout}\n${r.stderr}`);
    for (const line of r.stdout.split('\n').filter((l) => /^[✔✖]/.test(l))) t.diagnostic(line);
    assert.match(r.stdout, /pass [1-9]/);
    assert.match(r.stdout, /fail 0/);
  },
);
