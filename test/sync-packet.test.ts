// A record announced on the LAN with its value (issue 17: a post reaches every follower without a
// round trip): applied from the packet when it follows the copy's M-tip; otherwise, and for the
// patches an edit or a delete leaves below the tip, pulled from its announcer. What discovery
// hands the node (the record, signature checked, and where it came from) is given here directly:
// the multicast half is test/discovery.test.ts. Real nodes and a real LanServer on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKey } from '../app/core/keys.js';
import type { DrayerRecord } from '../app/core/record.js';
import { recordAnnounced } from '../app/node/scheduler.js';
import type { DrayerNode } from '../app/node/node.js';
import type { NodeState } from '../app/node/state.js';
import type { Stream } from '../app/store/store.js';
import { hex, sleep, until, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-packet-');
const stateOf = (node: DrayerNode): NodeState => (node as unknown as { n: NodeState }).n;

/** Every live record, as id → mod and signature: two copies are the same when these are. */
const live = (s: Stream): string[] => [...s.iterate()].map((r) => `${r.id}:${r.mod}:${hex(r.sig)}`).sort();

/** What the writer's node announces after a change: the newest record the change stored (changes.ts). */
function announced(w: Stream, seqBefore: number): DrayerRecord {
  const stored = w.changesSince(seqBefore, { limit: 1000 }).records;
  return stored.reduce((a, r) => (r.mod > a.mod ? r : a));
}

/** A writer served on 127.0.0.1, a node following it (no discovery, no automatic sync): the node's copy. */
async function setUp(name: string): Promise<{ w: Stream; node: DrayerNode; copy: Stream; port: number; requests: () => number }> {
  const w = bench.writer(name);
  w.put('post', 'a', utf8(JSON.stringify({ title: 'a', body: 'first' })));
  const lan = await bench.serve();
  const node = await bench.node();
  await node.call('follow', { key: formatKey(w.publicKey), url: lan.url });
  const copy = stateOf(node).streams.get(formatKey(w.publicKey))!;
  assert.deepEqual(live(copy), live(w));
  return { w, node, copy, port: lan.port, requests: () => lan.srv.stats().requests };
}

test('a short post announced with its value is applied from the packet: no request to the writer, the same record', async () => {
  const { w, node, copy, port, requests } = await setUp('short');
  const changes: number[] = [];
  node.subscribe((e) => {
    if (e.event === 'recordsChanged' && !e.data.local) changes.push(e.data.stored);
  });
  const before = requests();
  const seq = w.lastSeq();
  w.put('post', 'b', utf8(JSON.stringify({ title: 'b', body: 'second' })));
  const r = announced(w, seq);
  assert.ok(r.val !== null);
  recordAnnounced(stateOf(node), { record: r, address: '127.0.0.1', port });
  assert.deepEqual(live(copy), live(w), 'applied at once');
  assert.deepEqual(changes, [1], 'the UI heard of it');
  await sleep(300);
  assert.equal(requests() - before, 0, 'nothing was pulled');
  assert.ok(
    (await node.call('listPosts', { publicKey: formatKey(w.publicKey), limit: 5 })).some((p) => p.title === 'b'),
    'on the timeline',
  );
});

test('the same record without its value (too big for a packet) is pulled from its announcer', async () => {
  const { w, node, copy, port, requests } = await setUp('big');
  const before = requests();
  const seq = w.lastSeq();
  w.put('post', 'b', utf8(JSON.stringify({ title: 'b', body: 'x'.repeat(5000) })));
  const r = { ...announced(w, seq), val: null };
  recordAnnounced(stateOf(node), { record: r, address: '127.0.0.1', port });
  assert.ok(await until(() => live(copy).join() === live(w).join(), 5000), 'pulled');
  assert.ok(requests() - before >= 1);
  assert.ok(copy.getById(r.id)!.val !== null, 'with its value');
});

test('a copy that missed a post takes the next one only by a pull: both arrive, not the newest alone', async () => {
  const { w, node, copy, port } = await setUp('missed');
  w.put('post', 'b', utf8(JSON.stringify({ title: 'b', body: 'never announced' })));
  const seq = w.lastSeq();
  w.put('post', 'c', utf8(JSON.stringify({ title: 'c', body: 'announced' })));
  recordAnnounced(stateOf(node), { record: announced(w, seq), address: '127.0.0.1', port });
  assert.ok(await until(() => live(copy).join() === live(w).join(), 5000), `${live(copy).length} of ${live(w).length} records`);
});

test('an edit and a delete of older posts reach the follower from their announcement, and the copies end identical', async () => {
  const { w, node, copy, port } = await setUp('patches');
  const n = stateOf(node);
  for (const k of ['b', 'c', 'd']) {
    const seq = w.lastSeq();
    w.put('post', k, utf8(JSON.stringify({ title: k, body: k })));
    recordAnnounced(n, { record: announced(w, seq), address: '127.0.0.1', port });
  }
  assert.deepEqual(live(copy), live(w));

  // an edit of an old post: it moves to the front; the record after it is re-signed (a patch)
  let seq = w.lastSeq();
  w.put('post', 'b', utf8(JSON.stringify({ title: 'b', body: 'edited' })));
  recordAnnounced(n, { record: announced(w, seq), address: '127.0.0.1', port });
  assert.ok(await until(() => live(copy).join() === live(w).join(), 5000), 'the edit and its patch arrived');
  assert.equal(JSON.parse(Buffer.from(copy.get('post', 'b')!.val!).toString()).body, 'edited');

  // a delete of a post below the tip: no new M-tip, only patches (the node announces the newest of them)
  seq = w.lastSeq();
  const mtip = w.mtip();
  assert.ok(w.delete('post', 'c'));
  assert.equal(w.mtip(), mtip, 'a delete below the tip moves no M-tip');
  recordAnnounced(n, { record: announced(w, seq), address: '127.0.0.1', port });
  assert.ok(await until(() => copy.get('post', 'c') === undefined, 5000), 'the delete reached the follower');
  assert.ok(await until(() => live(copy).join() === live(w).join(), 5000), 'identical copies');
});

test('replayed old versions and deleted records change nothing and pull nothing', async () => {
  const { w, node, copy, port, requests } = await setUp('replay');
  const n = stateOf(node);
  const old = w.get('post', 'a')!;
  let seq = w.lastSeq();
  w.put('post', 'a', utf8(JSON.stringify({ title: 'a', body: 'edited' })));
  recordAnnounced(n, { record: announced(w, seq), address: '127.0.0.1', port });
  seq = w.lastSeq();
  w.put('post', 'gone', utf8(JSON.stringify({ title: 'gone', body: 'soon deleted' })));
  const gone = announced(w, seq);
  recordAnnounced(n, { record: gone, address: '127.0.0.1', port });
  seq = w.lastSeq();
  w.delete('post', 'gone');
  recordAnnounced(n, { record: announced(w, seq), address: '127.0.0.1', port });
  assert.ok(await until(() => live(copy).join() === live(w).join(), 5000));
  await sleep(300);
  const before = requests();
  const held = live(copy);
  for (let i = 0; i < 20; i++) {
    recordAnnounced(n, { record: old, address: '127.0.0.1', port }); // an old version of 'a'
    recordAnnounced(n, { record: gone, address: '127.0.0.1', port }); // a deleted post
  }
  await sleep(500);
  assert.deepEqual(live(copy), held, 'nothing came back');
  assert.equal(copy.get('post', 'gone'), undefined);
  assert.equal(requests() - before, 0, 'no pull for a record the copy already knows is older or deleted');
});
