// An original Drayer following one of our streams (issue 20.6): it pulls newRecords/<t> once per
// two hours and reads up to 100 MB of one answer. Our answer holds as many records as fit (by count
// and bytes), streamed from a snapshot of the stream file, over real HTTP on 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { checkRecord, decodeWire, fromWire, type DrayerRecord } from '../app/core/record.js';
import { LanServer, type ServerOptions } from '../app/net/server/server.js';
import { quotePlusKey } from '../app/net/sync-original.js';
import { Stream } from '../app/store/store.js';
import { hex, tmpDir, utf8 } from './helpers.js';

const dir = tmpDir('drayer-orig-pages-');
const servers: LanServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function serve(s: Stream, extra: Partial<ServerOptions> = {}): Promise<string> {
  const srv = new LanServer({ resolve: (pk) => (hex(pk) === hex(s.publicKey) ? s : undefined), shared: () => [], ...extra });
  servers.push(srv);
  const { port } = await srv.listen();
  return `http://127.0.0.1:${port}`;
}

/** GET as the original does, but waiting out "busy" (503 after this test's own long synchronous work lagged the server's event loop, as a loaded machine can). */
async function get(base: string, p: string, onFirstBytes?: () => void): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  for (let i = 0; ; i++) {
    const r = await getOnce(base, p, onFirstBytes);
    if (r.status !== 503 || i === 5) return r;
    await new Promise((res) => setTimeout(res, Math.min(Number(r.headers['retry-after'] ?? 1), 10) * 1000));
  }
}

function getOnce(base: string, p: string, onFirstBytes?: () => void): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        if (parts.length === 0 && onFirstBytes) {
          // a slow reader: the rest waits while the writer goes on
          res.pause();
          onFirstBytes();
          setTimeout(() => res.resume(), 200);
        }
        parts.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function records(s: Stream, body: Buffer): DrayerRecord[] {
  const list = decodeWire(body) as unknown[];
  assert.ok(Array.isArray(list));
  return list.map((m) => {
    const r = fromWire(m, s.publicKey);
    assert.equal(checkRecord(r, s.publicKey), null);
    return r;
  });
}

const live = (s: Stream) => [...s.iterate()].map((r) => `${r.id}:${r.type}/${r.key}@${r.mod}/${r.prev}/${r.prevch}:${r.val ? hex(r.val) : '-'}`).sort();

test('newRecords answers an original follower with every record in one streamed answer, not 100', async () => {
  const s = Stream.create(path.join(dir, 'many.stream'), { name: 'Many' });
  s.db.transaction(() => {
    for (let i = 0; i < 2500; i++) s.put('publicSocialPost', `Post ${i}`, utf8(`text ${i}`));
  })();
  const base = await serve(s);
  const r = await get(base, `/${quotePlusKey(s.publicKey)}/newRecords/0`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(r.headers['transfer-encoding'], 'chunked', 'streamed, not built whole');
  const got = records(s, r.body);
  assert.equal(got.length, 2501, 'drayer/info and the 2,500 posts');
  assert.deepEqual(
    got.map((x) => x.mod),
    got.map((x) => x.mod).sort((a, b) => a - b),
  );
  const mirror = Stream.create(path.join(dir, 'many-mirror.stream'), { followKey: s.publicKey });
  mirror.apply(got);
  assert.deepEqual(live(mirror), live(s));
  // from its newest mod: nothing more
  const rest = await get(base, `/${quotePlusKey(s.publicKey)}/newRecords/${s.mtip()}`);
  assert.equal(rest.status, 200);
  assert.equal(records(s, rest.body).length, 0);
  mirror.close();
});

test('each answer stays within its byte bound (the original reads 100 MB, no more); repeated from the last mod, it brings everything', async () => {
  const s = Stream.create(path.join(dir, 'big.stream'), { name: 'Big' });
  s.db.transaction(() => {
    for (let i = 0; i < 60; i++) s.put('publicSocialPost', `Post ${i}`, utf8(`${i} `.padEnd(10_000, 'x')));
  })();
  const bound = 50_000;
  const base = await serve(s, { limits: { newRecordsBytes: bound } });
  const mirror = Stream.create(path.join(dir, 'big-mirror.stream'), { followKey: s.publicKey });
  let t = 0;
  let calls = 0;
  for (;;) {
    const r = await get(base, `/${quotePlusKey(s.publicKey)}/newRecords/${t}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.length <= bound, `${r.body.length} bytes`);
    const got = records(s, r.body);
    if (got.length === 0) break;
    calls++;
    assert.ok(got.length >= 1 && got.length <= 5);
    mirror.apply(got);
    t = got[got.length - 1]!.mod;
  }
  assert.ok(calls >= 12, `${calls} answers`);
  assert.deepEqual(live(mirror), live(s));
  mirror.close();
});

test('a stream written while its answer is sent: the answer is the snapshot it began with, whole and valid', async () => {
  const s = Stream.create(path.join(dir, 'busy.stream'), { name: 'Busy' });
  s.db.transaction(() => {
    for (let i = 0; i < 3000; i++) s.put('publicSocialPost', `Post ${i}`, utf8(`${i} `.padEnd(600, 'y')));
  })();
  const before = live(s);
  const tip = s.mtip();
  const base = await serve(s);
  const r = await get(base, `/${quotePlusKey(s.publicKey)}/newRecords/0`, () => {
    // edits, deletes (re-signing neighbours) and new records, while the answer is half sent
    for (let i = 0; i < 50; i++) s.put('publicSocialPost', `Post ${i * 7}`, utf8('edited'));
    for (let i = 1; i < 40; i++) s.delete('publicSocialPost', `Post ${i * 11}`);
    for (let i = 0; i < 20; i++) s.put('publicSocialPost', `New ${i}`, utf8('new'));
  });
  assert.equal(r.status, 200);
  assert.ok(r.body.length > 1_000_000, 'long enough to be read in parts');
  const got = records(s, r.body);
  assert.equal(got.length, 3001);
  assert.ok(got.every((x) => x.mod <= tip));
  const mirror = Stream.create(path.join(dir, 'busy-mirror.stream'), { followKey: s.publicKey });
  mirror.apply(got);
  assert.deepEqual(live(mirror), before, 'the stream as it was when the answer began');
  // the next answer, from there, holds what changed since (by mod, as the original asks)
  const again = await get(base, `/${quotePlusKey(s.publicKey)}/newRecords/${tip}`);
  assert.equal(again.status, 200);
  const next = records(s, again.body);
  assert.deepEqual(
    next.map((x) => x.id),
    [...s.iterate()]
      .filter((x) => x.mod > tip)
      .sort((a, b) => a.mod - b.mod)
      .map((x) => x.id),
  );
  mirror.close();
});
