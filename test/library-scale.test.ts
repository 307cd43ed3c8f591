// A big library (issue 17, `bench library`): the search index's prefix indexes and bounded
// ranking give the same answers as before where they can, a library.db of schema 1 is upgraded
// without losing anything, and a node shows Home from library.db before it has opened every
// stream file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DrayerNode } from '../app/node/node.js';
import * as library from '../app/node/library.js';
import { Library } from '../app/node/library.js';
import { MIGRATIONS } from '../app/node/library-schema.js';
import type { NodeState } from '../app/node/state.js';
import { excerpt } from '../app/node/timeline-text.js';
import { watchLocalChanges } from '../app/node/changes.js';
import { addPost, decodePost, encodePost, POST_TYPE } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { sleep, tmpDir } from './helpers.js';
import { b64, ownedStream } from './library-helpers.js';

/** Matches ranked at most (read softly, so this file also runs against code without it: there it fails, not crashes). */
const RANKED: number = (library as { RANKED?: number }).RANKED ?? 1000;

test('search as you type: every prefix finds exactly the posts with a word starting so, best match first', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  const words = ['garden', 'gardener', 'garlic', 'gate', 'river', 'riverside', 'رمان', 'Ünïcode'];
  for (let i = 0; i < 60; i++) addPost(a, { title: `note ${i}`, body: `${words[i % words.length]} and ${words[(i * 3) % words.length]} today` });
  lib.indexStream(a);
  const all = lib.timeline({ limit: 1000 });
  for (const q of ['g', 'ga', 'gar', 'gard', 'garden', 'r', 'riv', 'ر', 'رما', 'u', 'üni', 'garden tod', 'x']) {
    const last = q.split(' ').at(-1)!.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    const first = q.split(' ').length > 1 ? q.split(' ')[0]! : null;
    const expected = all
      .filter((t) => {
        const ws = `${t.title} ${t.body}`
          .normalize('NFD')
          .replace(/\p{M}/gu, '')
          .toLowerCase()
          .split(/[^\p{L}\p{N}]+/u);
        return ws.some((w) => w.startsWith(last)) && (!first || ws.includes(first));
      })
      .map((t) => t.key)
      .sort();
    const got = lib.search(q, { limit: 1000 });
    assert.deepEqual(got.map((r) => r.key).sort(), expected, `query "${q}"`);
  }
  a.close();
  lib.close();
});

test(`search ranks the newest ${RANKED} matches when more match; fewer, it ranks them all`, () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  // The oldest posts match best (the word three times, short); the newest RANKED match once, in longer text.
  const old = 50;
  a.batch((w) => {
    for (let i = 0; i < old; i++) w.put(POST_TYPE, `old${i}`, encodePost({ title: 'kestrel kestrel', body: 'kestrel' }));
    for (let i = 0; i < RANKED; i++)
      w.put(POST_TYPE, `new${i}`, encodePost({ title: `post ${i}`, body: `a long day, then a kestrel flew over the field by the old mill ${i}` }));
  });
  lib.indexStream(a);
  const hits = lib.search('kestrel', { limit: 20 });
  assert.equal(hits.length, 20);
  assert.ok(
    hits.every((h) => h.key.startsWith('new')),
    'only the newest matches are ranked: the old better ones are left out',
  );
  // A rarer word: every match ranked, best first, as before.
  a.put(POST_TYPE, 'rare-best', encodePost({ title: 'osprey osprey', body: 'osprey' }));
  a.put(POST_TYPE, 'rare-worse', encodePost({ title: 'birds', body: 'one osprey among many other birds seen over the whole long day' }));
  lib.indexStream(a);
  assert.deepEqual(
    lib.search('ospr').map((h) => h.key),
    ['rare-best', 'rare-worse'],
  );
  a.close();
  lib.close();
});

test('a word of one letter, or a last word (still typed) of two, is not weighed: its matches come newest first; longer ones best first', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  // The oldest post matches "m" and "moss" best (the word three times, short); newer ones once, in longer text.
  a.put(POST_TYPE, 'best', encodePost({ title: 'moss moss', body: 'moss' }));
  for (let i = 0; i < 5; i++)
    a.put(POST_TYPE, `new${i}`, encodePost({ title: `walk ${i}`, body: `a long walk by the river and some moss on the old stones ${i}` }));
  a.put(POST_TYPE, 'other', encodePost({ title: 'nothing here', body: 'starts with no such letter' }));
  lib.indexStream(a);
  const newestFirst = lib
    .timeline({ limit: 100 })
    .filter((t) => t.key !== 'other')
    .map((t) => t.key);
  assert.equal(newestFirst[0], 'new4');
  assert.deepEqual(
    lib.search('m').map((h) => h.key),
    newestFirst,
  );
  assert.deepEqual(
    lib.search('walk m').map((h) => h.key),
    newestFirst.filter((k) => k !== 'best'),
  );
  // a letter with an accent is one letter too
  assert.deepEqual(
    lib.search('M\u0301').map((h) => h.key),
    newestFirst,
  );
  // The word being typed (the last) weighs only from three letters on: two start too many words.
  assert.deepEqual(
    lib.search('mo').map((h) => h.key),
    newestFirst,
  );
  assert.deepEqual(
    lib.search('walk mo').map((h) => h.key),
    newestFirst.filter((k) => k !== 'best'),
  );
  assert.equal(lib.search('mos')[0]!.key, 'best');
  assert.equal(lib.search('moss')[0]!.key, 'best');
  a.close();
  lib.close();
});

test('a library.db of schema 1 is upgraded: entries, settings, peers and cursors kept, every post found, long ones whole', () => {
  const dir = tmpDir();
  const lib0 = Library.open(dir); // only to place the stream files; its library.db is replaced below
  const a = ownedStream(lib0, 'alice');
  lib0.close();
  const tail = 'zanzibarwordattheend';
  const long = `${'a long walk by the sea '.repeat(40)}${tail}`;
  const short = addPost(a, { title: 'Short one', body: 'harbour lights tonight' });
  const longPost = addPost(a, { title: 'Long one', body: long });
  // Schema 1, filled as the node of that schema did (timeline excerpt, whole body in the search index).
  const file = path.join(dir, 'library.db');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  const db = new Database(file);
  db.exec(MIGRATIONS[0]!);
  db.pragma('user_version = 1');
  const pk = b64(a);
  db.prepare(`INSERT INTO streams (pk, file, owned, name, added, settings) VALUES (?, 'alice.stream', 1, 'alice', 5, '{"announce":false}')`).run(pk);
  db.prepare(`INSERT INTO settings (k, v) VALUES ('nodeId', '"00112233445566778899aabbccddeeff"')`).run();
  db.prepare(`INSERT INTO peers (url, last_seen, last_ok, failures, next_try) VALUES ('http://10.0.0.2:15723', 1, 2, 3, 4)`).run();
  db.prepare(`INSERT INTO cursors (peer, node_id, stream_pk, seq, updated) VALUES ('http://10.0.0.2:15723', 'n1', ?, 7, 8)`).run(pk);
  const put = db.prepare(`INSERT INTO timeline (stream_pk, id, key, ts, mod, title, body) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING rid`).pluck();
  const fts = db.prepare(`INSERT INTO timeline_fts (rowid, title, body) VALUES (?, ?, ?)`);
  for (const r of a.list(POST_TYPE, { limit: 100 })) {
    const p = decodePost(r.val);
    fts.run(put.get(pk, r.id, r.key, r.ts, r.mod, p.title, excerpt(p.body)), p.title, p.body);
  }
  db.prepare(`INSERT INTO index_state (stream_pk, node_id, seq) VALUES (?, ?, ?)`).run(pk, a.nodeId, a.lastSeq());
  db.close();

  const lib = Library.open(dir);
  assert.equal(lib.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.match(String(lib.db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'timeline_fts'`).pluck().get()), /prefix='1 2 3'/);
  const e = lib.getStream(pk)!;
  assert.deepEqual([e.name, e.added, e.settings], ['alice', 5, { announce: false }]);
  assert.equal(lib.getSetting('nodeId', ''), '00112233445566778899aabbccddeeff');
  assert.deepEqual(lib.getPeer('http://10.0.0.2:15723'), { url: 'http://10.0.0.2:15723', lastSeen: 1, lastOk: 2, failures: 3, nextTry: 4 });
  assert.equal(lib.getCursor('http://10.0.0.2:15723', pk, 'n1'), 7);
  // The short post is searchable at once, by a prefix too; the long one's row waits for its file to be read whole.
  assert.deepEqual(
    lib.search('harb').map((r) => r.key),
    [short.key],
  );
  lib.indexStream(a);
  assert.deepEqual(
    lib.search(tail.slice(0, 6)).map((r) => r.key),
    [longPost.key],
    'the end of the long post is found: indexed whole again',
  );
  assert.deepEqual(
    lib
      .timeline()
      .map((t) => t.key)
      .sort(),
    [short.key, longPost.key].sort(),
  );
  assert.equal(lib.timeline().find((t) => t.key === longPost.key)!.cut, true);
  a.close();
  lib.close();
});

test('a node shows Home from library.db before it has opened every stream file; asking for one opens it', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const opts = { dataDir, host: null, discovery: false, autoSync: false } as const;
  let node = await DrayerNode.start(opts);
  const N = 40;
  for (let i = 0; i < N; i++) {
    const s = await node.call('createStream', { name: `stream ${i}`, about: `about ${i}` });
    await node.call('post', { publicKey: s.publicKey, title: `hello ${i}`, body: 'first post' });
  }
  await node.stop();

  node = await DrayerNode.start(opts);
  try {
    const n = (node as unknown as { n: NodeState }).n;
    const changed = new Promise<void>((resolve) => {
      const off = node.subscribe((e) => {
        if (e.event === 'streamsChanged') (off(), resolve());
      });
    });
    // Nothing has had a turn since start returned: the streams wait to be opened.
    assert.ok(n.streams.size < N, `${n.streams.size} of ${N} stream files were opened before Home could be shown`);
    const list = await node.call('listStreams', undefined);
    assert.equal(list.length, N, 'every stream is listed meanwhile');
    assert.ok(list.every((s) => s.posts === 1 && s.name.startsWith('stream ')));
    const home = await node.call('timeline', { limit: 50 });
    assert.equal(home.length, N);
    // One asked for by name is opened at once.
    const one = list.find((s) => !n.streams.isOpen(s.publicKey));
    if (one) assert.equal((await node.call('streamDetails', { publicKey: one.publicKey })).about, one.name.replace('stream', 'about'));
    await changed;
    assert.equal(n.streams.size, N, 'all opened soon after');
    assert.ok((await node.call('listStreams', undefined)).every((s) => s.about === s.name.replace('stream', 'about')));
  } finally {
    await node.stop();
  }
});

test('writes by another process are noticed, with only the streams whose files were written to polled at every tick, and all in turns, 50 a time, now and then', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const node = await DrayerNode.start({ dataDir, host: null, discovery: false, autoSync: false });
  try {
    const n = (node as unknown as { n: NodeState }).n;
    const N = 60;
    const keys: string[] = [];
    for (let i = 0; i < N; i++) keys.push((await node.call('createStream', { name: `s${i}` })).publicKey);
    let polled = 0;
    for (const s of n.streams.values()) {
      const own = s.lastSeq.bind(s);
      s.lastSeq = () => (polled++, own());
    }
    watchLocalChanges(n);
    assert.ok(polled <= 50, `one tick polled ${polled} of ${N} streams`);
    // Nothing written (the directory is watched): ten ticks poll one sweep's turn, not 50 streams each.
    await sleep(300); // the watcher's news of the streams just made
    watchLocalChanges(n);
    polled = 0;
    for (let i = 0; i < 10; i++) watchLocalChanges(n);
    assert.ok(polled <= 50, `ten ticks with nothing written polled ${polled} stream seqs`);
    // The CLI writes to the last stream through its own connection: the node's own ticks see it.
    const other = Stream.open(path.join(dataDir, n.library.getStream(keys[N - 1]!)!.file));
    addPost(other, { title: 'from the command line', body: '' });
    other.close();
    for (let t = Date.now(); Date.now() - t < 10_000; await sleep(100)) {
      if ((await node.call('timeline', { limit: 5 })).some((x) => x.title === 'from the command line')) break;
    }
    assert.deepEqual(
      (await node.call('timeline', { limit: 5 })).map((t) => t.title),
      ['from the command line'],
    );
  } finally {
    await node.stop();
  }
});
