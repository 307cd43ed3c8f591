// A busy LAN must cost little (issue 17), the parts that need no multicast: announcement hints
// queued per stream and drained as the rate allows (a flood from one address costs a bounded
// number of pulls, honest hints are never lost), configured sources asked one per round in turn,
// an empty pull that writes nothing to library.db, and a scheduler that keeps no fired timer.
// Real nodes and real LanServers on 127.0.0.1 (and 127.0.0.2 for the hostile host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { formatKey } from '../app/core/keys.js';
import { syncRound } from '../app/node/scheduler.js';
import type { DrayerNode } from '../app/node/node.js';
import type { NodeState } from '../app/node/state.js';
import type { Stream } from '../app/store/store.js';
import { hex, sleep, until, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-hints-');
const stateOf = (node: DrayerNode): NodeState => (node as unknown as { n: NodeState }).n;

/** What discovery does when a peer announces a stream's tip. */
function hint(node: DrayerNode, s: Stream, address: string, port: number, mod: number): void {
  (node as unknown as { pullOnAnnouncement(h: object): void }).pullOnAnnouncement({ publicKey: s.publicKey, address, port, mod });
}

let posts = 0;
const post = (s: Stream) => s.put('publicSocialPost', `p${posts++}`, utf8(`post ${posts}`));

test('a flood of hints from one address costs a bounded number of pulls; honest hints for 30 streams are all pulled, none lost', async (t) => {
  const writers = Array.from({ length: 30 }, (_, i) => bench.writer(`hinted ${i}`));
  for (const w of writers) post(w);
  const honest = await bench.lan();
  // The hostile host: a real LanServer on another address, holding empty copies (every pull is answered, with nothing).
  const empty = new Map(writers.map((w) => [hex(w.publicKey), bench.follower(w)]));
  const hostile = await bench.serve({ host: '127.0.0.2', resolve: (pk) => empty.get(hex(pk)) });
  const node = await bench.node();
  for (const w of writers) await node.call('follow', { key: formatKey(w.publicKey), url: honest.url });
  const n = stateOf(node);
  const copies = writers.map((w) => n.streams.get(formatKey(w.publicKey))!);
  for (const w of writers) post(w);

  const sync = n.sync as unknown as { hints?: Map<string, Map<string, unknown>> };
  let queued = 0;
  let perStream = 0;
  const sample = () => {
    queued = Math.max(queued, sync.hints?.size ?? 0);
    for (const m of sync.hints?.values() ?? []) perStream = Math.max(perStream, m.size);
  };
  const before = hostile.srv.stats().requests;
  const started = Date.now();
  let mod = Number.MAX_SAFE_INTEGER - 1_000_000; // mods are microseconds since 1970
  // 3 s of made-up tips for every followed stream, ever newer (so none is old news), 50 a second each
  const flood = (async () => {
    while (Date.now() - started < 3000) {
      for (const w of writers) hint(node, w, '127.0.0.2', hostile.port, mod++);
      sample();
      await sleep(20);
    }
  })();
  await sleep(100);
  for (const w of writers) hint(node, w, '127.0.0.1', honest.port, w.mtip());
  sample();
  const all = await until(() => copies.every((c, i) => c.mtip() === writers[i]!.mtip()), 20_000);
  await flood;
  await sleep(500);
  const elapsed = (Date.now() - started) / 1000;
  const hostilePulls = hostile.srv.stats().requests - before;
  const got = copies.filter((c, i) => c.mtip() === writers[i]!.mtip()).length;
  t.diagnostic(`all 30 honest hints pulled: ${all}; ${hostilePulls} pulls from the flooding address in ${elapsed.toFixed(1)} s`);
  assert.ok(all, `every honest hint was pulled: ${got} of 30 streams have their new post`);
  // per address: a burst of 32, then 2 a second
  assert.ok(hostilePulls <= 32 + 2 * elapsed + 1, `${hostilePulls} pulls from the flooding address in ${elapsed.toFixed(1)} s`);
  assert.ok(hostilePulls >= 1, 'the flooding address was asked (it looked like a holder)');
  assert.ok(queued <= 30, `the hint queue held ${queued} streams (30 followed)`);
  assert.ok(perStream <= 2, `a stream held hints from ${perStream} addresses (2 announce it)`);
});

test('configured sources are asked one per round, in turn; one that fails gives way to the next', async () => {
  const w = bench.writer('rotated');
  post(w);
  const a = await bench.serve();
  const b = await bench.serve();
  const c = await bench.serve();
  const node = await bench.node();
  const pk = formatKey(w.publicKey);
  await node.call('follow', { key: pk, url: a.url });
  await node.call('setStreamSettings', { publicKey: pk, sources: [a.url, b.url, c.url] });
  const n = stateOf(node);
  const count = () => [a, b, c].map((x) => x.srv.stats().requests);
  const before = count();
  for (let i = 0; i < 3; i++) await syncRound(n);
  const after = count();
  assert.deepEqual(
    after.map((x, i) => x - before[i]!),
    [1, 1, 1],
    'three rounds: each source asked once',
  );
  // The next round starts with a again: a is gone, so b answers, and c is not asked.
  await a.srv.close();
  post(w);
  await syncRound(n);
  const last = count();
  assert.equal(last[1]! - after[1]!, 1, 'b asked once, after a failed');
  assert.equal(last[2]! - after[2]!, 0, 'c not asked');
  assert.equal(n.streams.get(pk)!.mtip(), w.mtip(), 'the new post came from b');
});

/** library.db as another connection sees it (data_version moves with every commit by anyone else), and its bytes. */
function libraryState(dir: string): { version: number; bytes: string } {
  const db = new Database(path.join(dir, 'library.db'), { readonly: true, fileMustExist: true });
  try {
    const version = db.pragma('data_version', { simple: true }) as number;
    const h = createHash('sha256');
    for (const f of ['library.db', 'library.db-wal']) if (fs.existsSync(path.join(dir, f))) h.update(fs.readFileSync(path.join(dir, f)));
    return { version, bytes: h.digest('hex') };
  } finally {
    db.close();
  }
}

test('an empty pull writes nothing to library.db (Sync now, a round, an announcement); its page still says when it last synced', async () => {
  const w = bench.writer('quiet');
  post(w);
  const lan = await bench.lan();
  const node = await bench.node();
  const pk = formatKey(w.publicKey);
  await node.call('follow', { key: pk, url: lan.url });
  const n = stateOf(node);
  const first = (await node.call('streamDetails', { publicKey: pk })).lastSync!;
  await sleep(50);
  // A reader held open across the pulls: data_version changes when another connection commits.
  const db = new Database(path.join(node.dataDir, 'library.db'), { readonly: true, fileMustExist: true });
  try {
    const version = () => db.pragma('data_version', { simple: true }) as number;
    const v0 = version();
    const s0 = libraryState(node.dataDir);
    const [rep] = await node.call('syncNow', { publicKey: pk });
    assert.equal(rep!.error, undefined);
    assert.equal(rep!.stored, 0);
    await syncRound(n);
    const requests = lan.srv.stats().requests;
    hint(node, w, '127.0.0.1', lan.port, w.mtip() + 1); // a tip the source does not have: its pull comes back empty
    assert.ok(await until(() => lan.srv.stats().requests > requests && n.sync.syncing.size === 0, 5000), 'the announcement was pulled');
    await sleep(100);
    assert.equal(version(), v0, 'no commit to library.db');
    assert.deepEqual(libraryState(node.dataDir), s0, 'library.db and its WAL are byte for byte the same');
  } finally {
    db.close();
  }
  const shown = (await node.call('streamDetails', { publicKey: pk })).lastSync!;
  assert.ok(shown.at > first.at, 'the stream page shows the later sync');
  assert.equal(shown.error, undefined);
  // Something new is still written.
  const v1 = libraryState(node.dataDir).version;
  post(w);
  await node.call('syncNow', { publicKey: pk });
  assert.notEqual(libraryState(node.dataDir).bytes, v1, 'a pull that brings a post writes');
});

test('the scheduler keeps no fired timer: after three rounds the node holds its change watch and the next round, nothing more', async () => {
  const node = await bench.node(undefined, { autoSync: true });
  await node.call('setSettings', { syncIntervalS: 5 });
  await sleep(11_500); // rounds at 1 s, 6 s and 11 s
  const timers = (node as unknown as { timers: NodeJS.Timeout[] }).timers;
  assert.equal(timers.length, 2, `${timers.length} timers held`);
});
