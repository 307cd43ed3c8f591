import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Library } from '../app/node/library.js';
import { LIBRARY_FILE, type TimelineEntry } from '../app/node/library-schema.js';
import { Stream } from '../app/store/store.js';
import { addPost, editPost, encodePost, POST_TYPE } from '../app/store/posts.js';
import { isDrayerError } from '../app/core/errors.js';
import { tmpDir } from './helpers.js';
import { b64, ownedStream } from './library-helpers.js';

const SEC = 1_000_000; // µs
const titles = (xs: TimelineEntry[]): string[] => xs.map((x) => x.title);

/** Pull everything from `from` into `to` starting at `since`; returns the new cursor and every apply result. */
function pull(to: Stream, from: Stream, since: number) {
  const results = [];
  for (;;) {
    const page = from.changesSince(since, { limit: 50 });
    results.push(to.apply(page.records));
    since = page.seq;
    if (!page.more) return { since, results };
  }
}

test('streams are added, listed, updated and removed', () => {
  const lib = Library.open(path.join(tmpDir(), 'data'));
  assert.ok(fs.existsSync(path.join(lib.dataDir, LIBRARY_FILE)));
  const a = ownedStream(lib, 'alice');
  const b = Stream.create(path.join(lib.dataDir, 'bob.stream'), { name: 'Bob' });
  const e = lib.addStream({ publicKey: b64(b), file: path.join(lib.dataDir, 'bob.stream'), owned: false, settings: { serve: true } });
  assert.equal(e.file, 'bob.stream', 'absolute paths inside the data dir are stored relative');
  assert.equal(e.name, '');
  assert.deepEqual(e.settings, { serve: true });
  assert.ok(e.added > 0 && e.added <= Date.now());
  assert.deepEqual(
    lib.listStreams().map((x) => x.file),
    ['bob.stream', 'alice.stream'],
  );

  assert.throws(
    () => lib.addStream({ publicKey: b64(a), file: 'other.stream', owned: true }),
    (err) => isDrayerError(err, 'EXISTS') && /already in the library/.test(err.message),
  );
  assert.throws(
    () => lib.addStream({ publicKey: 'not a key', file: 'x.stream', owned: false }),
    (err) => isDrayerError(err, 'INVALID_ARGUMENT'),
  );

  const u = lib.updateStream(b64(b), { settings: { announce: true, partial: { latest: 10 } } });
  assert.deepEqual(u.settings, { serve: true, announce: true, partial: { latest: 10 } }, 'settings merge');
  assert.deepEqual(lib.updateStream(b64(b), { settings: { serve: undefined } }).settings, { announce: true, partial: { latest: 10 } });
  assert.equal(lib.updateStream(b64(b), { name: 'Bobby' }).name, 'Bobby');
  assert.throws(
    () => lib.updateStream('AAAA', { name: 'x' }),
    (err) => isDrayerError(err, 'NOT_FOUND'),
  );

  // indexing fills the display name from drayer/info
  lib.indexStream(b);
  assert.equal(lib.getStream(b64(b))!.name, 'Bob');

  addPost(a, { title: 'hello', body: 'world' });
  lib.indexStream(a);
  lib.setCursor('http://peer', b64(a), 'n1', 5);
  lib.removeStream(b64(a));
  assert.equal(lib.getStream(b64(a)), undefined);
  assert.deepEqual(lib.timeline(), []);
  assert.equal(lib.getCursor('http://peer', b64(a), 'n1'), 0);
  assert.ok(fs.existsSync(a.file), 'the stream file is left alone');
  lib.removeStream(b64(a)); // idempotent
  assert.deepEqual(
    lib.listStreams().map((x) => x.publicKey),
    [b64(b)],
  );
  // indexing a stream that is not in the library says so
  assert.throws(
    () => lib.indexStream(a),
    (err) => isDrayerError(err, 'NOT_FOUND') && /addStream/.test(err.message),
  );
  a.close();
  b.close();
  lib.close();
});

test('settings round trip with defaults, and survive reopening', () => {
  const dir = tmpDir();
  let lib = Library.open(dir);
  assert.equal(lib.getSetting('theme', 'light'), 'light');
  lib.setSetting('theme', 'dark');
  lib.setSetting('ports', { http: 8080, list: [1, 2] });
  lib.setSetting('zero', 0);
  lib.setSetting('off', false);
  assert.equal(lib.getSetting('theme', 'light'), 'dark');
  assert.deepEqual(lib.getSetting('ports', {}), { http: 8080, list: [1, 2] });
  lib.close();
  lib = Library.open(dir);
  assert.equal(lib.getSetting('zero', 7), 0);
  assert.equal(lib.getSetting('off', true), false);
  lib.setSetting('theme', undefined);
  assert.equal(lib.getSetting('theme', 'light'), 'light');
  lib.close();
});

test('a cursor is valid only for the node id it was taken from; peers upsert and list', () => {
  const lib = Library.open(tmpDir());
  assert.equal(lib.getCursor('p1', 'S', 'nodeA'), 0);
  lib.setCursor('p1', 'S', 'nodeA', 42);
  lib.setCursor('p2', 'S', 'nodeB', 7);
  assert.equal(lib.getCursor('p1', 'S', 'nodeA'), 42);
  assert.equal(lib.getCursor('p2', 'S', 'nodeB'), 7);
  assert.equal(lib.getCursor('p1', 'S', 'nodeC'), 0, 'the peer database was replaced');
  lib.setCursor('p1', 'S', 'nodeC', 3);
  assert.equal(lib.getCursor('p1', 'S', 'nodeC'), 3);
  assert.equal(lib.getCursor('p1', 'S', 'nodeA'), 0);
  assert.throws(
    () => lib.setCursor('p1', 'S', 'n', -1),
    (err) => isDrayerError(err, 'INVALID_ARGUMENT'),
  );

  lib.upsertPeer({ url: 'http://b:1', lastSeen: 10 });
  lib.upsertPeer({ url: 'http://a:1', failures: 2, nextTry: 99 });
  lib.upsertPeer({ url: 'http://b:1', lastOk: 11 });
  assert.deepEqual(lib.listPeers(), [
    { url: 'http://a:1', lastSeen: 0, lastOk: 0, failures: 2, nextTry: 99 },
    { url: 'http://b:1', lastSeen: 10, lastOk: 11, failures: 0, nextTry: 0 },
  ]);
  lib.close();
});

test('the timeline spans streams, newest first, with keyset pagination and a stream filter', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  const b = ownedStream(lib, 'bob');
  const t0 = 1_700_000_000 * SEC;
  for (let i = 0; i < 10; i++) addPost(i % 2 ? a : b, { title: `p${i}`, body: `body ${i}` }, { ts: t0 + i * SEC });
  addPost(a, { title: 'same-ts-a', body: '' }, { ts: t0 + 100 * SEC });
  addPost(b, { title: 'same-ts-b', body: '' }, { ts: t0 + 100 * SEC });
  assert.deepEqual(lib.indexStream(a), { indexed: 6, removed: 0 });
  assert.deepEqual(lib.indexStream(b), { indexed: 6, removed: 0 });

  const all = lib.timeline({ limit: 100 });
  assert.equal(all.length, 12);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.ts >= all[i]!.ts);
  assert.deepEqual(titles(all).slice(2), ['p9', 'p8', 'p7', 'p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
  assert.equal(all.find((x) => x.title === 'p1')!.streamName, 'alice');
  assert.equal(all.find((x) => x.title === 'p0')!.streamKey, b64(b));

  // pages of 5 reproduce the whole list, ties on ts included
  const paged: TimelineEntry[] = [];
  let before: { ts: number; streamKey: string; id: number } | undefined;
  for (;;) {
    const page = lib.timeline({ limit: 5, before });
    if (page.length === 0) break;
    paged.push(...page);
    const last = page[page.length - 1]!;
    before = { ts: last.ts, streamKey: last.streamKey, id: last.id };
  }
  assert.deepEqual(paged, all);

  assert.deepEqual(titles(lib.timeline({ streams: [b64(a)], limit: 3 })), ['same-ts-a', 'p9', 'p7']);
  assert.deepEqual(lib.timeline({ streams: [] }), []);
  a.close();
  b.close();
  lib.close();
});

test('edits and deletes (of the ID tip, the M tip and the middle) show after indexStream', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  const keys = [];
  for (let i = 0; i < 8; i++) keys.push(addPost(a, { title: `t${i}`, body: `b${i}` }, { ts: (i + 1) * SEC }).key);
  lib.indexStream(a);
  assert.equal(lib.timeline().length, 8);

  editPost(a, keys[2]!, { title: 't2 edited', body: 'new body' });
  a.delete(POST_TYPE, keys[7]!); // ID tip: the one before it is re-issued under a new id
  a.delete(POST_TYPE, keys[2]!); // M tip (it was just edited)
  a.delete(POST_TYPE, keys[4]!); // middle
  editPost(a, keys[0]!, { title: 't0 edited', body: 'b0' });
  const r = lib.indexStream(a);
  assert.ok(r.removed >= 3, `removed ${r.removed}`);
  const tl = lib.timeline();
  assert.deepEqual(titles(tl), ['t6', 't5', 't3', 't1', 't0 edited']);
  assert.deepEqual(
    tl.map((x) => x.key),
    [keys[6], keys[5], keys[3], keys[1], keys[0]],
  );
  assert.equal(tl.length, a.count(POST_TYPE));
  assert.deepEqual(
    lib.search('edited').map((x) => x.title),
    ['t0 edited'],
  );
  assert.deepEqual(lib.indexStream(a), { indexed: 0, removed: 0 }, 'nothing changed');
  a.close();
  lib.close();
});

test('a mirror that receives a delete through apply shows it after noteApplied', () => {
  const d = tmpDir();
  fs.mkdirSync(path.join(d, 'writer'));
  const w = Stream.create(path.join(d, 'writer', 'w.stream'), { name: 'Writer' });
  const lib = Library.open(path.join(d, 'mirror'));
  const m = Stream.create(path.join(lib.dataDir, 'w.stream'), { followKey: w.publicKey });
  lib.addStream({ publicKey: b64(w), file: 'w.stream', owned: false });
  const keys = [];
  for (let i = 0; i < 6; i++) keys.push(addPost(w, { title: `post ${i}`, body: 'text' }, { ts: (i + 1) * SEC }).key);

  let cur = pull(m, w, 0);
  for (const res of cur.results) lib.noteApplied(m, res);
  assert.equal(lib.timeline().length, 6);
  assert.equal(lib.getStream(b64(w))!.name, 'Writer', 'drayer/info arriving names the stream');
  lib.indexStream(m); // marks the index current; from here noteApplied keeps it current

  w.delete(POST_TYPE, keys[2]!);
  editPost(w, keys[4]!, { title: 'post 4 edited', body: 'text' });
  cur = pull(m, w, cur.since);
  assert.ok(
    cur.results.some((x) => x.removed.length > 0),
    'the delete reached the mirror as a removal',
  );
  for (const res of cur.results) lib.noteApplied(m, res);
  assert.deepEqual(titles(lib.timeline()), ['post 5', 'post 4 edited', 'post 3', 'post 1', 'post 0']);
  assert.deepEqual(lib.indexStream(m), { indexed: 0, removed: 0 }, 'noteApplied left the index current');

  // deleting the ID tip re-issues a neighbour under a new id; the old row must not linger
  w.delete(POST_TYPE, keys[5]!);
  cur = pull(m, w, cur.since);
  for (const res of cur.results) lib.noteApplied(m, res);
  assert.deepEqual(titles(lib.timeline()), ['post 4 edited', 'post 3', 'post 1', 'post 0']);
  w.close();
  m.close();
  lib.close();
});

test('local writes: noteApplied with a batch keeps the timeline exact, even for deletes it was not told about', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  lib.indexStream(a);
  const written = a.batch((b) => {
    for (let i = 0; i < 5; i++) b.put(POST_TYPE, `k${i}`, encodePost({ title: `t${i}`, body: '' }), (i + 1) * SEC);
  });
  lib.noteApplied(a, { stored: written, removed: [] });
  assert.equal(lib.timeline().length, 5);
  const del = a.batch((b) => {
    b.delete(POST_TYPE, 'k4'); // ID tip: k3 is re-issued with a new id
    b.delete(POST_TYPE, 'k1');
  });
  lib.noteApplied(a, { stored: del, removed: [] });
  assert.deepEqual(titles(lib.timeline()), ['t3', 't2', 't0']);
  assert.deepEqual(lib.indexStream(a), { indexed: 0, removed: 0 });
  a.close();
  lib.close();
});

test('search finds title and body words, never chokes on user input, and respects the stream filter', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'alice');
  const b = ownedStream(lib, 'bob');
  addPost(a, { title: 'Gardening notes', body: 'Tomatoes need sun and patience.' }, { ts: 1 * SEC });
  addPost(a, { title: 'Café review', body: 'The espresso was bitter.' }, { ts: 2 * SEC });
  addPost(b, { title: 'Bread', body: 'Sourdough with tomatoes from the garden.' }, { ts: 3 * SEC });
  const long = 'filler '.repeat(200) + 'needle at the end';
  addPost(b, { title: 'Long one', body: long }, { ts: 4 * SEC });
  lib.indexStream(a);
  lib.indexStream(b);

  assert.deepEqual(
    lib.search('gardening').map((x) => x.title),
    ['Gardening notes'],
  );
  assert.deepEqual(
    lib
      .search('tomatoes')
      .map((x) => x.title)
      .sort(),
    ['Bread', 'Gardening notes'],
  );
  assert.deepEqual(
    lib.search('tomatoes', { streams: [b64(b)] }).map((x) => x.title),
    ['Bread'],
  );
  assert.deepEqual(lib.search('tomatoes', { streams: [] }), []);
  assert.deepEqual(
    lib.search('espr').map((x) => x.title),
    ['Café review'],
    'prefix on the last term',
  );
  assert.deepEqual(
    lib.search('cafe').map((x) => x.title),
    ['Café review'],
    'diacritics are ignored',
  );
  assert.deepEqual(
    lib.search('bitter espresso').map((x) => x.title),
    ['Café review'],
    'all terms, any order',
  );
  assert.deepEqual(lib.search('bitter tomatoes'), []);
  assert.deepEqual(
    lib.search('needle').map((x) => x.title),
    ['Long one'],
    'the whole body is searchable',
  );
  assert.ok(lib.search('needle')[0]!.body.length <= 500, 'the timeline keeps an excerpt');
  const hit = lib.search('sun')[0]!;
  assert.match(hit.snippet, /sun/);
  assert.equal(hit.streamName, 'alice');

  for (const q of ['foo" OR (', '"', '(', 'AND', 'NOT', 'a OR', '*', 'title:x', '^', 'NEAR(a b)', '', '   ', '""""', 'bread" OR "x']) {
    assert.doesNotThrow(() => lib.search(q), `query ${JSON.stringify(q)}`);
  }
  assert.deepEqual(
    lib.search('bread" (').map((x) => x.title),
    ['Bread'],
    'punctuation is ignored',
  );
  assert.deepEqual(lib.search('bread" OR (sourdough'), [], 'OR is a word, not an operator: every word must match');

  // edits and deletes reach the index
  const k = a.list(POST_TYPE).find((r) => r.ts === 1 * SEC)!.key;
  editPost(a, k, { title: 'Gardening notes', body: 'Cucumbers now.' });
  lib.indexStream(a);
  assert.deepEqual(
    lib.search('tomatoes').map((x) => x.title),
    ['Bread'],
  );
  assert.deepEqual(
    lib.search('cucumbers').map((x) => x.title),
    ['Gardening notes'],
  );
  a.delete(POST_TYPE, k);
  lib.indexStream(a);
  assert.deepEqual(lib.search('cucumbers'), []);
  a.close();
  b.close();
  lib.close();
});

test('rebuild reproduces the timeline; deleting library.db and rebuilding loses no stream', () => {
  const d = tmpDir();
  let lib = Library.open(d);
  const a = ownedStream(lib, 'alice');
  const b = ownedStream(lib, 'bob');
  fs.mkdirSync(path.join(d, 'elsewhere'));
  const w = Stream.create(path.join(d, 'elsewhere', 'w.stream'), { name: 'Walt' });
  const m = Stream.create(path.join(d, 'walt.stream'), { followKey: w.publicKey });
  lib.addStream({ publicKey: b64(w), file: 'walt.stream', owned: false, settings: { serve: true } });
  for (let i = 0; i < 20; i++) addPost(i % 2 ? a : b, { title: `post ${i}`, body: `body ${i}` }, { ts: (i + 1) * SEC });
  addPost(w, { title: 'from walt', body: '' }, { ts: 50 * SEC });
  pull(m, w, 0);
  for (const s of [a, b, m]) lib.indexStream(s);
  lib.setSetting('theme', 'dark');
  lib.updateStream(b64(a), { settings: { announce: true } });
  lib.setCursor('peer', b64(w), 'node', 9);
  lib.upsertPeer({ url: 'http://peer:1', lastOk: 5 });
  fs.writeFileSync(path.join(d, 'junk.stream'), 'not a database');
  const before = lib.timeline({ limit: 1000 });
  const streamsBefore = lib.listStreams();
  assert.equal(before.length, 21);

  const r = lib.rebuild();
  assert.equal(r.streams, 3);
  assert.equal(r.posts, 21);
  assert.deepEqual(
    r.skipped.map((x) => x.file),
    ['junk.stream'],
  );
  assert.match(r.skipped[0]!.reason, /not a Drayer stream|not an SQLite/);
  assert.deepEqual(lib.timeline({ limit: 1000 }), before);
  assert.deepEqual(lib.listStreams(), streamsBefore, 'entries, names, settings and added times are kept');
  assert.equal(lib.getSetting('theme', 'light'), 'dark');
  assert.equal(lib.getCursor('peer', b64(w), 'node'), 0, 'cursors restart after a rebuild');
  assert.equal(lib.listPeers().length, 1);
  lib.close();

  // lose the library entirely (with its WAL), streams closed: every stream comes back from the files
  for (const s of [a, b, w, m]) s.close();
  for (const f of [LIBRARY_FILE, LIBRARY_FILE + '-wal', LIBRARY_FILE + '-shm']) fs.rmSync(path.join(d, f), { force: true });
  lib = Library.open(d);
  const r2 = lib.rebuild();
  assert.equal(r2.streams, 3);
  assert.deepEqual(
    lib
      .listStreams()
      .map((e) => [e.publicKey, e.file, e.owned, e.name])
      .sort(),
    streamsBefore.map((e) => [e.publicKey, e.file, e.owned, e.name]).sort(),
  );
  assert.deepEqual(lib.timeline({ limit: 1000 }), before);
  assert.deepEqual(
    lib.search('walt').map((x) => x.title),
    ['from walt'],
  );

  // a stream file that disappears leaves the library on the next rebuild
  for (const f of ['bob.stream', 'bob.stream.privatekey', 'bob.stream-wal', 'bob.stream-shm']) fs.rmSync(path.join(d, f), { force: true });
  const r3 = lib.rebuild();
  assert.equal(r3.streams, 2);
  assert.equal(lib.getStream(b64(b)), undefined);
  assert.equal(lib.timeline({ limit: 1000 }).length, 11);
  lib.close();
});

/** Deterministic PRNG so failures name a seed. */
function rng(seed: number) {
  let x = seed * 2654435761 + 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

test('random edits, deletes and partial pulls: noteApplied keeps the timeline equal to the live posts (30 seeds)', () => {
  const d = tmpDir();
  const view = (xs: { id: number; key: string; mod: number; title: string }[]) => xs.map((x) => `${x.id}:${x.key}@${x.mod}=${x.title}`).sort();
  for (let seed = 1; seed <= 30; seed++) {
    const rnd = rng(seed);
    const w = Stream.create(path.join(d, `w${seed}.stream`));
    const lib = Library.open(path.join(d, `lib${seed}`));
    const m = Stream.create(path.join(lib.dataDir, 'm.stream'), { followKey: w.publicKey });
    lib.addStream({ publicKey: b64(w), file: 'm.stream', owned: false });
    lib.indexStream(m);
    let since = 0;
    let n = 0;
    for (let step = 0; step < 80; step++) {
      const ks = w.list(POST_TYPE, { limit: 1000 }).map((r) => r.key);
      const op = rnd();
      const k = ks[Math.floor(rnd() * ks.length)];
      if (op < 0.45 || !k) addPost(w, { title: `t${++n}`, body: 'b' }, { ts: Math.floor(rnd() * 1000) * SEC });
      else if (op < 0.7) editPost(w, k, { title: `e${step}`, body: 'b' });
      else w.delete(POST_TYPE, k);
      if (rnd() < 0.4) {
        const page = w.changesSince(since, { limit: 1 + Math.floor(rnd() * 4) });
        lib.noteApplied(m, m.apply(page.records));
        since = page.seq;
        const live = m
          .list(POST_TYPE, { limit: 1000 })
          .map((r) => ({ id: r.id, key: r.key, mod: r.mod, title: JSON.parse(Buffer.from(r.val!).toString()).title }));
        assert.deepEqual(view(lib.timeline({ limit: 1000 })), view(live), `seed ${seed} step ${step}`);
      }
    }
    assert.deepEqual(lib.indexStream(m).removed, 0, `seed ${seed}: noteApplied left nothing behind`);
    w.close();
    m.close();
    lib.close();
  }
});

test('a replaced stream file (another node id) is re-indexed from scratch', () => {
  const d = tmpDir();
  const lib = Library.open(path.join(d, 'data'));
  const w = Stream.create(path.join(d, 'w.stream'), { name: 'W' });
  for (let i = 0; i < 5; i++) addPost(w, { title: `p${i}`, body: '' }, { ts: (i + 1) * SEC });
  const m1 = Stream.create(path.join(lib.dataDir, 'm.stream'), { followKey: w.publicKey });
  lib.addStream({ publicKey: b64(w), file: 'm.stream', owned: false });
  pull(m1, w, 0);
  lib.indexStream(m1);
  assert.equal(lib.timeline().length, 5);
  m1.close();
  for (const f of ['m.stream', 'm.stream-wal', 'm.stream-shm']) fs.rmSync(path.join(lib.dataDir, f), { force: true });
  // a fresh copy that holds only part of the stream
  const m2 = Stream.create(path.join(lib.dataDir, 'm.stream'), { followKey: w.publicKey });
  const page = w.changesSince(0, { limit: 3 });
  m2.apply(page.records);
  const r = lib.indexStream(m2);
  assert.equal(lib.timeline().length, m2.count(POST_TYPE));
  assert.ok(r.removed > 0);
  w.close();
  m2.close();
  lib.close();
});

test('indexing a 20k-post stream, then again with no changes', () => {
  const lib = Library.open(tmpDir());
  const a = ownedStream(lib, 'big');
  const N = 20_000;
  a.batch((b) => {
    for (let i = 0; i < N; i++)
      b.put(
        POST_TYPE,
        `k${i}`,
        encodePost({ title: `post number ${i}`, body: `some words for the index ${i % 97} ${'lorem ipsum '.repeat(i % 20)}` }),
        (i + 1) * SEC,
      );
  });
  let t = performance.now();
  const first = lib.indexStream(a);
  const full = performance.now() - t;
  t = performance.now();
  const again = lib.indexStream(a);
  const noop = performance.now() - t;
  a.delete(POST_TYPE, 'k10');
  t = performance.now();
  const afterDelete = lib.indexStream(a);
  const del = performance.now() - t;
  console.log(`indexStream of ${N} posts: first ${full.toFixed(0)} ms, unchanged ${noop.toFixed(1)} ms, after one delete ${del.toFixed(1)} ms`);
  assert.equal(first.indexed, N);
  assert.deepEqual(again, { indexed: 0, removed: 0 });
  assert.equal(afterDelete.removed, 1);
  assert.equal(lib.timeline({ limit: 1000 }).length, 1000);
  t = performance.now();
  const hits = lib.search('number 1234');
  console.log(`search over ${N} posts: ${(performance.now() - t).toFixed(1)} ms`);
  assert.ok(hits.some((h) => h.title === 'post number 1234'));
  a.close();
  lib.close();
});
