// A server's changes page right after its own write comes from that write's rows
// (app/store/tip-cache.ts), without a read; every page so answered must be the page a read gives
// (checked against a second connection to the same file), and anything else that changes the file
// (an edit, a delete, a meta write, another connection's or another process's commit) must
// make the next page a read again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Stream } from '../app/store/store.js';
import type { ChangesOptions } from '../app/store/feed.js';
import { pull } from '../app/net/sync.js';
import { LanServer } from '../app/net/server/server.js';
import { bytesEqual } from '../app/core/crypto.js';
import { tmpDir, utf8 } from './helpers.js';

/** Counts the packed page reads (feed.ts changesPacked's statement) from here on, on every connection. */
function countPageReads(probe: Database.Database): { readonly n: number; stop(): void } {
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { iterate: (...a: unknown[]) => unknown };
  const iterate = proto.iterate;
  const counter = { n: 0, stop: () => (proto.iterate = iterate) };
  proto.iterate = function (this: { source: string }, ...a: unknown[]) {
    if (/CAST\(hash \|\| sig/.test(this.source)) counter.n++;
    return iterate.apply(this, a);
  };
  return counter;
}

/** w's page after `since` (and how many reads it took) next to the one a fresh read through `r` gives. */
function page(w: Stream, r: Stream, since: number, opts: ChangesOptions = {}): number {
  const c = countPageReads(w.db);
  const got = w.changesPacked(since, opts);
  c.stop();
  const want = r.changesPacked(since, opts);
  assert.ok(got && want);
  assert.deepEqual(got.rows, want.rows, `rows after ${since}`);
  assert.equal(got.seq, want.seq, `seq after ${since}`);
  assert.equal(got.more, want.more, `more after ${since}`);
  assert.equal(got.last ?? w.lastSeq(), r.lastSeq(), `last after ${since}`);
  return c.n;
}

function streams(): { w: Stream; r: Stream; file: string } {
  const file = path.join(tmpDir(), 'w.stream');
  const w = Stream.create(file, { name: 'w' });
  for (let i = 0; i < 20; i++) w.put('post', `p${i}`, utf8(`post ${i}`));
  return { w, r: Stream.open(file), file };
}

test('the page after a new post comes from the put: the same rows, seq, more and last as a read', () => {
  const { w, r } = streams();
  try {
    const before = w.lastSeq();
    w.put('post', 'new', utf8('a new post'));
    assert.equal(page(w, r, before), 0, 'no read for the page the follower asks');
    assert.equal(page(w, r, before + 1), 0, 'nor for the empty page after it');
    assert.equal(page(w, r, before - 1), 1, 'a page from before the write is read');
    assert.equal(page(w, r, 0, { limit: 5 }), 1);
    assert.equal(page(w, r, before, { metaOnly: true }), 1, 'filtered pages are read');
    assert.equal(page(w, r, before, { minId: 3 }), 1);
    assert.equal(page(w, r, before), 0, 'and the kept rows still answer after them');
    const next = w.lastSeq();
    w.put('post', 'newer', utf8('and another'));
    assert.equal(page(w, r, next), 0);
    assert.equal(page(w, r, before), 1, 'only the last write is kept');
  } finally {
    r.close();
    w.close();
  }
});

test('an edit or a delete (rows moved or gone below it) is answered right, and limits and the byte cap cut it as a read does', () => {
  const { w, r } = streams();
  try {
    let before = w.lastSeq();
    w.put('post', 'p5', utf8('p5, edited: its successor in the M chain is patched'));
    assert.ok(w.lastSeq() - before >= 2, 'the edit wrote more than one row');
    assert.equal(page(w, r, before), 0);
    assert.equal(page(w, r, before, { limit: 1 }), 0);
    assert.equal(page(w, r, before, { maxBytes: 1 }), 0);
    assert.equal(page(w, r, before + 1), 0);
    before = w.lastSeq();
    assert.ok(w.delete('post', 'p9'));
    assert.ok(w.lastSeq() > before, 'the delete patched its neighbours');
    assert.equal(page(w, r, before), 0);
    assert.equal(page(w, r, before - 3), 1);
    // the newest record deleted: whatever it wrote or not, every page is the read one
    w.put('post', 'last', utf8('newest'));
    before = w.lastSeq();
    assert.ok(w.delete('post', 'last'));
    for (const since of [before - 2, before - 1, before, w.lastSeq()]) page(w, r, since);
  } finally {
    r.close();
    w.close();
  }
});

test('puts committed as a group (putDurable, as the app posts) are kept too, unless one put moved the row of another', async () => {
  const { w, r } = streams();
  try {
    let before = w.lastSeq();
    await Promise.all([0, 1, 2].map((i) => w.putDurable('post', `g${i}`, utf8(`grouped ${i}`))));
    assert.equal(w.lastSeq() - before, 3);
    for (const since of [before, before + 1, before + 3]) assert.equal(page(w, r, since), 0);
    assert.equal(page(w, r, before, { limit: 2 }), 0);
    // the same key twice in one group: the first row's seq is empty afterwards; nothing kept
    before = w.lastSeq();
    await Promise.all([w.putDurable('post', 'twice', utf8('first')), w.putDurable('post', 'twice', utf8('second')), w.putDurable('post', 'other', utf8('x'))]);
    for (const since of [before, before + 1]) assert.equal(page(w, r, since), 1);
  } finally {
    r.close();
    w.close();
  }
});

test('any other change to the file makes the next page a read: a meta write, another connection, another process', () => {
  const { w, r, file } = streams();
  const raw = new Database(file);
  try {
    let before = w.lastSeq();
    w.put('post', 'a', utf8('a'));
    w.setMeta('something', 1); // this connection's own other write
    assert.equal(page(w, r, before), 1);

    before = w.lastSeq();
    w.put('post', 'b', utf8('b'));
    r.setMeta('other', 1); // another connection of this process
    assert.equal(page(w, r, before), 1);

    // Another process (a raw connection) removes the new row: it must not be served from memory.
    before = w.lastSeq();
    w.put('post', 'c', utf8('c'));
    raw.prepare('DELETE FROM records WHERE seq = ?').run(w.lastSeq());
    assert.equal(page(w, r, before), 1);
    assert.equal(w.changesPacked(before)!.rows.length, 0);

    // inside a transaction of its own connection nothing is answered from memory
    before = w.lastSeq();
    w.put('post', 'd', utf8('d'));
    w.db.exec('BEGIN');
    try {
      assert.equal(page(w, r, before), 1);
    } finally {
      w.db.exec('ROLLBACK');
    }
  } finally {
    raw.close();
    r.close();
    w.close();
  }
});

test('a pull of a new post over HTTP gets it from the kept rows, and the follower stores it', async () => {
  const { w, r } = streams();
  const f = Stream.create(path.join(tmpDir(), 'f.stream'), { followKey: w.publicKey });
  const server = new LanServer({ resolve: (pk) => (bytesEqual(pk, w.publicKey) ? w : undefined), shared: () => [] });
  const { port } = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  try {
    assert.equal((await pull(f, url)).stored, 21);
    for (let i = 0; i < 3; i++) {
      w.put('post', `new${i}`, utf8(`new post ${i}`));
      const c = countPageReads(w.db);
      const res = await pull(f, url);
      c.stop();
      assert.equal(res.stored, 1);
      assert.equal(c.n, 0, 'the server read no page');
      assert.ok(bytesEqual(f.get('post', `new${i}`)!.val!, utf8(`new post ${i}`)));
    }
    assert.equal(f.count(), w.count());
  } finally {
    await server.close();
    f.close();
    r.close();
    w.close();
  }
});
