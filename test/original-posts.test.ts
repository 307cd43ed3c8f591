// Posts across the two Drayers (issue 20.3). The original's apps write `publicSocialPost` records
// (key = title, value = the text): they show as posts in the timeline, a stream's posts, search and
// the phone page. A stream set "compatible with the original Drayer" writes its posts that way, and
// the real original (DRAYER_ORIGINAL_SRC, in a private namespace) reads them back with its own API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DrayerNode } from '../app/node/node.js';
import { Stream } from '../app/store/store.js';
import { addPost } from '../app/store/posts.js';
import { quotePlusKey } from '../app/net/sync-original.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';
import { decodeOriginalAnswer, DRAYER_BIN, runDrayer, tmpDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/original/small.stream', import.meta.url));
const FIXTURE_KEY = 'qNgGxeu1hjKHDsmzE4W2+EQIoAbIkUgdAXZU+Ji+Rmc=';
const HELPER = fileURLToPath(new URL('../../test/original/original.py', import.meta.url));
const SRC = process.env.DRAYER_ORIGINAL_SRC;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const start = (dir: string) => DrayerNode.start({ dataDir: dir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
const lanOf = (n: DrayerNode) => `http://127.0.0.1:${n.lanAddress()!.port}`;
const urlKey = (pk: string) => Buffer.from(pk, 'base64').toString('base64url');

test("an original Drayer's stream shows its publicSocialPost records as posts: timeline, stream, search, phone page", async () => {
  // the fixture, written by the real original: 12 posts with Arabic in each, "Post 3" edited
  const dirA = tmpDir('drayer-orig-posts-a-');
  const imported = await runDrayer(['import', FIXTURE, path.join(dirA, 'old.stream')]);
  assert.equal(imported.code, 0, imported.err);
  const a = await start(dirA);
  const b = await start(tmpDir('drayer-orig-posts-b-'));
  try {
    const own = (await a.call('listStreams', undefined)).find((s) => s.publicKey === FIXTURE_KEY);
    assert.equal(own?.posts, 12, 'the writer counts its 12 posts');
    const followed = await b.call('follow', { key: FIXTURE_KEY, url: lanOf(a) });
    assert.equal(followed.posts, 12);

    const posts = await b.call('listPosts', { publicKey: FIXTURE_KEY });
    assert.equal(posts.length, 12);
    const third = posts.find((p) => p.title === 'Post 3');
    assert.equal(third?.body, 'Post 3, edited.');
    assert.equal(third?.key, 'Post 3');
    assert.equal(posts.find((p) => p.title === 'Post 7')?.body, 'An original post, number 7. مرحبا');
    assert.deepEqual(await b.call('getPost', { publicKey: FIXTURE_KEY, key: 'Post 12' }).then((p) => p?.body), 'An original post, number 12. مرحبا');

    const timeline = await b.call('timeline', {});
    assert.deepEqual(timeline.map((t) => t.title).sort(), [...Array(12)].map((_, i) => `Post ${i + 1}`).sort());
    assert.ok(timeline.every((t) => t.streamKey === FIXTURE_KEY));
    const hits = await b.call('search', { query: 'edited' });
    assert.deepEqual(
      hits.map((h) => h.title),
      ['Post 3'],
    );
    assert.equal((await b.call('search', { query: 'مرحبا' })).length, 11);

    // the phone page lists them, the edited one with its new text
    const page = await (await fetch(`${lanOf(b)}/${urlKey(FIXTURE_KEY)}/webAccess/`)).text();
    assert.match(page, /Post 3, edited\./);
    assert.match(page, /An original post, number 12\./);
    assert.match(page, /12 posts/);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a stream set compatible writes its posts as the original does; edits and deletes keep that shape; a follower and newRecords see them', async () => {
  const a = await start(tmpDir('drayer-compat-a-'));
  const b = await start(tmpDir('drayer-compat-b-'));
  try {
    const s = await a.call('createStream', { name: 'Both worlds' });
    const pk = s.publicKey;
    assert.equal(s.compatible, undefined);
    const before = await a.call('post', { publicKey: pk, title: 'Earlier', body: 'a Drayer post' });
    const on = await a.call('setStreamSettings', { publicKey: pk, compatible: true });
    assert.equal(on.compatible, true);
    assert.equal((await a.call('streamDetails', { publicKey: pk })).compatible, true);

    const hello = await a.call('post', { publicKey: pk, title: 'Hello', body: 'Readable by the original. مرحبا' });
    assert.equal(hello.key, 'Hello');
    const again = await a.call('post', { publicKey: pk, title: 'Hello', body: 'a second post with that title' });
    assert.equal(again.key, 'Hello (2)', 'a taken title never replaces the other post');
    const untitled = await a.call('post', { publicKey: pk, title: '', body: 'No title here\nbut two lines' });
    assert.equal(untitled.key, 'No title here');
    assert.equal(untitled.title, 'No title here');

    const file = (await a.call('streamDetails', { publicKey: pk })).path;
    const store = Stream.open(file, { readonly: true });
    try {
      assert.equal(store.get('post', before.key)?.type, 'post', 'posts written before keep their shape');
      const r = store.get('publicSocialPost', 'Hello')!;
      assert.equal(Buffer.from(r.val!).toString('utf8'), 'Readable by the original. مرحبا', 'the value is the raw text');
      assert.equal(store.count('post'), 1);
    } finally {
      store.close();
    }

    // an edit of the body keeps the key (and id); a new title moves the post to that key, at its old time
    const edited = await a.call('editPost', { publicKey: pk, key: 'Hello', title: 'Hello', body: 'edited text' });
    assert.equal(edited.key, 'Hello');
    assert.equal(edited.id, hello.id);
    const renamed = await a.call('editPost', { publicKey: pk, key: 'Hello (2)', title: 'Renamed', body: 'moved' });
    assert.equal(renamed.key, 'Renamed');
    assert.equal(renamed.ts, again.ts);
    assert.equal(await a.call('getPost', { publicKey: pk, key: 'Hello (2)' }), null);
    assert.equal(await a.call('deletePost', { publicKey: pk, key: 'No title here' }), true);
    assert.equal(await a.call('deletePost', { publicKey: pk, key: 'No title here' }), false);

    const want = ['Earlier|a Drayer post', 'Hello|edited text', 'Renamed|moved'];
    const postsOf = async (n: DrayerNode) => (await n.call('listPosts', { publicKey: pk })).map((p) => `${p.title}|${p.body}`).sort();
    assert.deepEqual(await postsOf(a), want);
    assert.deepEqual((await a.call('timeline', {})).map((t) => t.title).sort(), ['Earlier', 'Hello', 'Renamed']);
    await b.call('follow', { key: pk, url: lanOf(a) });
    assert.deepEqual(await postsOf(b), want);
    assert.equal((await b.call('search', { query: 'moved' }))[0]?.title, 'Renamed');

    // what an original node following us receives: its msgpack maps, the post in its shape
    const res = await fetch(`${lanOf(a)}/${quotePlusKey(Buffer.from(pk, 'base64'))}/newRecords/0`);
    assert.equal(res.status, 200);
    const list = decodeOriginalAnswer(new Uint8Array(await res.arrayBuffer())) as unknown as Record<string, unknown>[];
    const original = list.filter((r) => r.type === 'publicSocialPost').map((r) => `${r.key as string}|${Buffer.from(r.val as Uint8Array).toString('utf8')}`);
    assert.deepEqual(original.sort(), ['Hello|edited text', 'Renamed|moved']);

    // off again: new posts are Drayer posts
    await a.call('setStreamSettings', { publicKey: pk, compatible: false });
    const later = await a.call('post', { publicKey: pk, title: 'Later', body: 'json again' });
    assert.notEqual(later.key, 'Later');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('compatible is refused where the original could not read the posts: a private stream, a mirror', async () => {
  const a = await start(tmpDir('drayer-compat-refuse-'));
  try {
    const priv = await a.call('createStream', { name: 'Diary', private: true });
    await assert.rejects(a.call('setStreamSettings', { publicKey: priv.publicKey, compatible: true }), /private stream cannot be compatible/);
    const dir = tmpDir('drayer-compat-cli-');
    const file = path.join(dir, 'c.stream');
    let r = await runDrayer(['create', file, '--private', '--compatible']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /cannot be compatible/);
    r = await runDrayer(['create', file, '--compatible']);
    assert.equal(r.code, 0, r.err);
    r = await runDrayer(['compatible', file]);
    assert.match(r.out, /^on/);
    r = await runDrayer(['post', file, '--title', 'From the CLI', '--body', 'plain text']);
    assert.equal(r.out.trim(), 'From the CLI');
    r = await runDrayer(['ls', file, '--type', 'publicSocialPost', '--json']);
    assert.deepEqual(
      (JSON.parse(r.out) as { key: string; title: string }[]).map((x) => [x.key, x.title]),
      [['From the CLI', 'From the CLI']],
    );
    r = await runDrayer(['compatible', file, 'off']);
    assert.match(r.out, /^off/);
    const mirror = path.join(dir, 'mirror.stream');
    assert.equal((await runDrayer(['export', file, mirror])).code, 0);
    r = await runDrayer(['compatible', mirror, 'on']);
    assert.equal(r.code, 1);
    assert.match(r.err, /is a mirror/);
  } finally {
    await a.stop();
  }
});

const skipReal = !SRC ? 'DRAYER_ORIGINAL_SRC is not set (a checkout of the original Python Drayer)' : !netnsAvailable() ? NETNS_SKIP_REASON : false;

test('the real original Drayer follows a compatible stream and reads its posts back with its own API', { skip: skipReal, timeout: 180_000 }, async () => {
  const dir = tmpDir('drayer-compat-real-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  const file = path.join(data, 'ours.stream');
  const made = await runDrayer(['create', file, '--name', 'Ours', '--compatible']);
  assert.equal(made.code, 0, made.err);
  const pk = made.out.trim();
  for (const [title, body] of [
    ['First', 'Written by Drayer, read by the original. مرحبا'],
    ['First', 'Same title, another post'],
    ['A long one', 'x'.repeat(100_000)],
  ])
    assert.equal((await runDrayer(['post', file, '--title', title!, '--body', body!])).code, 0);
  // and more than the 100 records an answer of ours held (issue 20.6): the original takes them all in one pull
  const more = Stream.open(file);
  try {
    more.db.transaction(() => {
      for (let i = 1; i <= 250; i++) addPost(more, { title: `Many ${i}`, body: `post ${i} of many` }, { original: true });
    })();
  } finally {
    more.close();
  }
  // one namespace: our node serves on 127.0.0.1:33126 (it multicasts nothing: --no-discovery), the original pulls
  const script = `
    "${process.execPath}" "${DRAYER_BIN}" serve --data "${data}" --host 127.0.0.1 --port 33126 --no-discovery > "${dir}/serve.log" 2>&1 &
    OURS=$!
    for i in $(seq 1 100); do grep -q "LAN:" "${dir}/serve.log" && break; sleep 0.2; done
    DRAYER_ORIGINAL_SRC="${SRC}" "${PYTHON}" "${HELPER}" read "${dir}/theirs.stream" "${pk}" http://127.0.0.1:33126 2>"${dir}/original.err"
    kill $OURS
  `;
  const r = await runInNetns('sh', ['-c', script], { timeoutMs: 150_000 });
  const said = fs.existsSync(path.join(dir, 'original.err')) ? fs.readFileSync(path.join(dir, 'original.err'), 'utf8') : '';
  assert.match(r.stdout, /^done$/m, `${r.stdout}\n${r.stderr}\n${said}`);
  const read = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { title: string; body: string });
  assert.equal(read.length, 253, 'every post, in the one pull the original made');
  assert.deepEqual(
    read
      .filter((p) => !p.title.startsWith('Many '))
      .map((p) => `${p.title}|${p.body.length > 60 ? p.body.length : p.body}`)
      .sort(),
    ['A long one|100000', 'First (2)|Same title, another post', 'First|Written by Drayer, read by the original. مرحبا'],
  );
  assert.equal(read.find((p) => p.title === 'Many 250')?.body, 'post 250 of many');
});
