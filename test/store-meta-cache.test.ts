// A stream's meta attributes read through a cache (app/store/meta-cache.ts): an incremental pull
// reads SQLite's meta table a few times instead of a dozen, and every write is still seen where it
// must be: through the same connection at once, through another connection of this process at
// once, from another process (or a raw connection) from the next turn of the event loop, and a
// write rolled back is never seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Stream } from '../app/store/store.js';
import { pull } from '../app/net/sync.js';
import { LanServer } from '../app/net/server/server.js';
import { bytesEqual } from '../app/core/crypto.js';
import { tmpDir, utf8 } from './helpers.js';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** Counts the meta-table reads of every statement from here on (better-sqlite3's Statement.prototype.get). */
function countMetaReads(probe: Database.Database): { readonly n: number; stop(): void } {
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { get: (...a: unknown[]) => unknown };
  const get = proto.get;
  const counter = { n: 0, stop: () => (proto.get = get) };
  proto.get = function (this: { source: string }, ...a: unknown[]) {
    if (/FROM meta\b/.test(this.source)) counter.n++;
    return get.apply(this, a);
  };
  return counter;
}

test('an incremental pull reads the meta table a few times, not once per attribute it looks at', async () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'), { name: 'w' });
  for (let i = 0; i < 20; i++) w.put('post', `p${i}`, utf8(`post ${i}`));
  const f = Stream.create(path.join(d, 'f.stream'), { followKey: w.publicKey });
  const server = new LanServer({ resolve: (pk) => (bytesEqual(pk, w.publicKey) ? w : undefined), shared: () => [] });
  const { port } = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  try {
    assert.equal((await pull(f, url)).stored, 21);
    w.put('post', 'new', utf8('one more'));
    await nextTurn();
    const count = countMetaReads(f.db);
    let res;
    try {
      res = await pull(f, url);
    } finally {
      count.stop();
    }
    assert.equal(res.stored, 1);
    // Without the cache: 15 reads (the window twice, the filters twice, the cursor thrice, original
    // or not, the syncs in progress, the server's store id, …) on the follower and the server
    // together. With it, only what changed since it was read: the cursor this pull moved.
    assert.ok(count.n <= 4, `${count.n} reads of the meta table for a one-record pull`);
  } finally {
    await server.close();
    f.close();
    w.close();
  }
});

test('a meta write is seen at once through the same and through another connection of this process', () => {
  const d = tmpDir();
  const file = path.join(d, 'a.stream');
  const a = Stream.create(file);
  const b = Stream.open(file);
  assert.equal(a.meta('x'), undefined);
  assert.equal(b.meta('x'), undefined);
  a.setMeta('x', 'one');
  assert.equal(a.meta('x'), 'one');
  assert.equal(b.meta('x'), 'one');
  b.setMeta('x', null);
  assert.equal(a.meta('x'), null);
  a.setMeta('nodeId', 'ab'.repeat(16));
  assert.equal(b.nodeId, 'ab'.repeat(16));
  b.close();
  a.close();
});

test('a meta write from elsewhere (another process, a raw connection) is seen from the next turn on', async () => {
  const d = tmpDir();
  const file = path.join(d, 'a.stream');
  const s = Stream.create(file);
  assert.equal(s.meta('latest'), undefined);
  const raw = new Database(file);
  raw.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('latest', 7)").run();
  raw.close();
  await nextTurn();
  assert.equal(s.meta('latest'), 7);
  assert.equal(s.latest, 7);
  s.close();
});

test('a meta write rolled back is not seen afterwards', () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'a.stream'));
  s.setMeta('x', 'kept');
  assert.equal(s.meta('x'), 'kept');
  assert.throws(() =>
    s.db.transaction(() => {
      s.setMeta('x', 'dropped');
      assert.equal(s.meta('x'), 'dropped'); // inside the transaction it is there
      throw new Error('roll back');
    })(),
  );
  assert.equal(s.meta('x'), 'kept');
  s.close();
});

test('a Buffer attribute is the caller’s own copy each time', () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'a.stream'));
  s.setMeta('blob', Buffer.from([1, 2, 3]));
  const first = s.meta('blob') as Buffer;
  first[0] = 9;
  assert.deepEqual([...(s.meta('blob') as Buffer)], [1, 2, 3]);
  s.close();
});
