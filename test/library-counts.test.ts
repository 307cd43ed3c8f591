// Each stream's number of posts comes from library.db's stream_posts (schema 3), kept by
// triggers, instead of a count of the stream's timeline rows: the stream list is asked for before
// Home paints, and counting every stream's rows read the whole timeline of a big library. The kept
// number must equal the rows through every change: indexing, edits, deletes, gaps, a removed
// stream, a rebuild, and the upgrade of a library.db of schema 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { DrayerNode } from '../app/node/node.js';
import { Library } from '../app/node/library.js';
import type { NodeState } from '../app/node/state.js';
import { MIGRATIONS } from '../app/node/library-schema.js';
import { addPost, editPost, POST_TYPE } from '../app/store/posts.js';
import { tmpDir } from './helpers.js';
import { b64, downgradeLibrary, DROP_LIBRARY_SINCE_2, ownedStream } from './library-helpers.js';

/** What the counts must be: the timeline's rows of each stream, counted. */
function counted(lib: Library, pk: string): number {
  return lib.db.prepare(`SELECT count(*) FROM timeline WHERE stream_pk = ?`).pluck().get(pk) as number;
}

test('a stream’s post count is kept in library.db and equals its timeline rows through adds, edits, deletes, removal and rebuild', () => {
  const lib = Library.open(tmpDir());
  assert.ok(lib.db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'stream_posts'`).get(), 'schema 3 keeps the counts in stream_posts');
  const a = ownedStream(lib, 'alice');
  const b = ownedStream(lib, 'bob');
  const check = (when: string) => {
    for (const s of [a, b]) {
      const pk = b64(s);
      assert.equal(lib.postCount(pk), counted(lib, pk), `${when}: ${s.info().name}`);
      if (s.db.open) assert.equal(lib.postCount(pk), s.count(POST_TYPE), `${when}: ${s.info().name} as the stream holds`);
    }
  };
  check('empty');
  const posts = Array.from({ length: 30 }, (_, i) => addPost(a, { title: `a${i}`, body: `post ${i}` }));
  for (let i = 0; i < 7; i++) addPost(b, { title: `b${i}`, body: `post ${i}` });
  lib.indexStream(a);
  lib.indexStream(b);
  check('indexed');
  assert.equal(lib.postCount(b64(a)), 30);
  lib.indexStream(a); // again, nothing new: the upsert changes no row
  check('indexed twice');
  for (const p of posts.slice(0, 5)) editPost(a, p.key, { title: `${p.key} edited`, body: 'edited' });
  lib.indexStream(a);
  check('edited');
  for (const p of posts.slice(10, 18)) a.delete(POST_TYPE, p.key);
  lib.indexStream(a);
  check('deleted');
  assert.equal(lib.postCount(b64(a)), 22);
  lib.removeStream(b64(b));
  assert.equal(lib.postCount(b64(b)), 0, 'a removed stream has no posts');
  b.close();
  assert.equal(lib.postCount(Buffer.alloc(32, 7).toString('base64')), 0, 'a stream never seen has none');
  a.close();
  const report = lib.rebuild();
  assert.equal(report.posts, 22 + 7, 'a rebuild counts the posts of every stream file again');
  assert.equal(lib.postCount(b64(a)), 22);
  lib.close();
});

test('a library.db of schema 2 gets each stream’s count from its timeline rows when it is upgraded', () => {
  const dir = tmpDir();
  const lib0 = Library.open(dir); // only to place the stream files; its library.db is replaced below
  const a = ownedStream(lib0, 'alice');
  const b = ownedStream(lib0, 'bob');
  for (let i = 0; i < 12; i++) addPost(a, { title: `a${i}`, body: `post ${i}` });
  for (let i = 0; i < 3; i++) addPost(b, { title: `b${i}`, body: `post ${i}` });
  lib0.indexStream(a);
  lib0.indexStream(b);
  lib0.close();
  // Back to schema 2 as an older Drayer left it: the same rows, no counts.
  downgradeLibrary(dir, DROP_LIBRARY_SINCE_2, 2);
  const lib = Library.open(dir);
  assert.equal(lib.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal(lib.postCount(b64(a)), 12);
  assert.equal(lib.postCount(b64(b)), 3);
  addPost(a, { title: 'after', body: 'the upgrade' });
  lib.indexStream(a);
  assert.equal(lib.postCount(b64(a)), 13, 'counted on from there by the triggers');
  a.close();
  b.close();
  lib.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the stream list shows a stream file’s settings changed without a new record (its summary is kept only while nothing changed)', async () => {
  const node = await DrayerNode.start({ dataDir: tmpDir(), host: null, discovery: false, autoSync: false });
  try {
    const a = await node.call('createStream', { name: 'Ada', about: 'first' });
    const listed = async () => (await node.call('listStreams', undefined)).find((x) => x.publicKey === a.publicKey)!;
    assert.deepEqual((await listed()).sources, []);
    assert.equal((await listed()).posts, 0);
    const s = (node as unknown as { n: NodeState }).n.streams.get(a.publicKey)!;
    const seq = s.lastSeq();
    // What a follow or a window change writes: the file's own settings, no record.
    s.setMeta('sources', JSON.stringify(['http://10.0.0.9:15723']));
    s.setMeta('minId', 7);
    assert.equal(s.lastSeq(), seq, 'no record was written');
    const after = await listed();
    assert.deepEqual(after.sources, ['http://10.0.0.9:15723']);
    assert.equal(after.partial.minId, 7);
    await node.call('post', { publicKey: a.publicKey, title: 'one', body: 'two' });
    assert.equal((await listed()).posts, 1);
    await node.call('setStreamInfo', { publicKey: a.publicKey, about: 'second' });
    assert.equal((await listed()).about, 'second');
  } finally {
    await node.stop();
  }
});
