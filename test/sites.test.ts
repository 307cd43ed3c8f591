// Websites from folders (issue 13, item 4): which folder is the site's root, a folder update that
// sends only what changed and removes what left the folder (the app's own media kept), removing
// a folder whole, and a follower that converges and serves the new site to a phone over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import type { FolderFile } from '../app/node/api.js';
import { DIGEST_PIECE, isAppMedia, siteRoots } from '../app/core/site.js';
import { randomBytes } from '../app/core/crypto.js';
import { tmpDir } from './helpers.js';

async function startNode(name: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: path.join(tmpDir(), name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');

/** What the browser computes (renderer/lib/drop.ts): SHA-256 of the SHA-256s of each 1 MiB piece. */
function digest(data: Buffer): string {
  const outer = createHash('sha256');
  for (let off = 0; off < data.length; off += DIGEST_PIECE)
    outer.update(
      createHash('sha256')
        .update(data.subarray(off, off + DIGEST_PIECE))
        .digest(),
    );
  return outer.digest('hex');
}

const entry = (p: string, data: string | Buffer): FolderFile => ({ path: p, size: Buffer.byteLength(data), hash: digest(Buffer.from(data)) });

test('the site root: index.html at the top, else the shallowest folders that hold one', () => {
  assert.deepEqual(siteRoots(['index.html', 'css/a.css', 'blog/index.html']), ['']);
  assert.deepEqual(siteRoots(['README.md', 'public/index.html', 'public/css/a.css', 'public/blog/index.html']), ['public']);
  assert.deepEqual(siteRoots(['docs/index.html', 'site/index.html', 'site/x/index.html', 'a/b/c/index.html']), ['docs', 'site', 'a/b/c']);
  assert.deepEqual(siteRoots(['notes.txt', 'pics/a.png', 'index.htm', 'xindex.html']), []);
  // the app's own media: avatars and post pictures, not a site's media folder
  assert.ok(isAppMedia('media/avatar-mabc123.webp'));
  assert.ok(isAppMedia('media/mjx3k2a9z1-cake.png'));
  assert.ok(!isAppMedia('media/photo.jpg'));
  assert.ok(!isAppMedia('media/2024-trip.jpg'));
  assert.ok(!isAppMedia('media/sub/mjx3k2a9z1-cake.png'));
  assert.ok(!isAppMedia('site/media/avatar-x.png'));
});

test('a folder update sends only what changed, removes what left the folder, keeps the app media; a follower converges and serves the new site', async () => {
  const a = await startNode('site-writer');
  const b = await startNode('site-follower');
  try {
    const s = await a.call('createStream', { name: 'Cafe' });
    const pk = s.publicKey;
    const big = Buffer.from(randomBytes(DIGEST_PIECE * 2 + 4321)); // chunked: the digest runs across pieces
    const v1: Record<string, string | Buffer> = {
      'index.html': '<!doctype html><link rel="stylesheet" href="css/a.css"><h1>Version one</h1>',
      'css/a.css': 'h1 { color: navy }',
      'css/vendor/reset.css': '* { margin: 0 }',
      'about.html': '<h1>About</h1>',
      'video/big.bin': big,
    };
    // the first add: everything is new
    let diff = await a.call('folderDiff', { publicKey: pk, under: '', files: Object.entries(v1).map(([p, d]) => entry(p, d)) });
    assert.deepEqual(diff, { add: Object.keys(v1), change: [], remove: [], unchanged: 0 });
    for (const p of diff.add) {
      const data = Buffer.from(v1[p]!);
      if (data.length <= 512 * 1024) await a.call('putFile', { publicKey: pk, path: p, data: b64(data) });
      else {
        const { uploadId, chunkBytes } = await a.call('uploadBegin', { publicKey: pk, path: p, size: data.length });
        for (let off = 0; off < data.length; off += chunkBytes)
          await a.call('uploadChunk', { uploadId, offset: off, data: b64(data.subarray(off, off + chunkBytes)) });
        await a.call('uploadFinish', { uploadId });
      }
    }
    // a picture of a post and an avatar: the app's, not the folder's
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');
    await a.call('putFile', { publicKey: pk, path: 'media/mjx3k2a9z1-cake.png', data: b64(png) });
    const avatar = (await a.call('setAvatar', { publicKey: pk, data: b64(png) })).avatar!;

    await b.call('follow', { key: pk, url: `http://127.0.0.1:${a.lanAddress()!.port}` });
    const phone = b.localWebUrl(Buffer.from(pk, 'base64'))!;
    assert.match(await (await fetch(`${phone}webAccess/`)).text(), /Version one/);

    // the same folder again: nothing to send, nothing written
    diff = await a.call('folderDiff', { publicKey: pk, under: '', files: Object.entries(v1).map(([p, d]) => entry(p, d)) });
    assert.deepEqual(diff, { add: [], change: [], remove: [], unchanged: 5 });

    // one page edited, one removed, one new; the css and the big file unchanged (only their mtime moved)
    const v2 = { ...v1, 'index.html': '<!doctype html><link rel="stylesheet" href="css/a.css"><h1>Version two</h1>', 'news.html': '<h1>News</h1>' } as Record<
      string,
      string | Buffer
    >;
    delete v2['about.html'];
    diff = await a.call('folderDiff', { publicKey: pk, under: '', files: Object.entries(v2).map(([p, d]) => entry(p, d)) });
    assert.deepEqual(
      diff,
      { add: ['news.html'], change: ['index.html'], remove: ['about.html'], unchanged: 3 },
      'media/ of posts and the avatar are not removed',
    );

    // a changed file of the same size is found by its hash
    const sameSize = { ...v2, 'css/a.css': 'h1 { color: teal }' };
    assert.deepEqual((await a.call('folderDiff', { publicKey: pk, under: '', files: Object.entries(sameSize).map(([p, d]) => entry(p, d)) })).change, [
      'index.html',
      'css/a.css',
    ]);

    // apply v2: only the changed files are written
    const before = a.call('streamDetails', { publicKey: pk });
    const seqBefore = (await before).lastSeq;
    const cssBefore = (await before).files.find((f) => f.path === 'css/a.css')!;
    for (const p of [...diff.add, ...diff.change]) await a.call('putFile', { publicKey: pk, path: p, data: b64(v2[p]!), time: 1_800_000_000_000_000 });
    assert.deepEqual(await a.call('deleteFiles', { publicKey: pk, paths: diff.remove }), { removed: ['about.html'] });
    const after = await a.call('streamDetails', { publicKey: pk });
    assert.equal(after.files.find((f) => f.path === 'css/a.css')!.time, cssBefore.time, 'an unchanged file is not rewritten');
    assert.ok(after.lastSeq - seqBefore <= 6, `a few records written (two files, a delete and its patches), not the whole site: ${after.lastSeq - seqBefore}`);
    assert.deepEqual(
      after.files.map((f) => f.path).sort(),
      [avatar, 'css/a.css', 'css/vendor/reset.css', 'index.html', 'media/mjx3k2a9z1-cake.png', 'news.html', 'video/big.bin'].sort(),
    );
    assert.deepEqual(await a.call('folderDiff', { publicKey: pk, under: '', files: Object.entries(v2).map(([p, d]) => entry(p, d)) }), {
      add: [],
      change: [],
      remove: [],
      unchanged: 5,
    });

    // the follower converges, and its phone page serves the new site over real HTTP
    const [report] = await b.call('syncNow', { publicKey: pk });
    assert.equal(report!.error, undefined);
    const bd = await b.call('streamDetails', { publicKey: pk });
    assert.deepEqual(bd.files.map((f) => f.path).sort(), after.files.map((f) => f.path).sort());
    const home = await fetch(`${phone}webAccess/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await home.text(), /Version two/);
    assert.equal((await fetch(`${phone}webAccess/news.html`)).status, 200);
    assert.equal((await fetch(`${phone}webAccess/about.html`)).status, 404, 'a removed page is gone from the follower too');
    const css = await fetch(`${phone}webAccess/css/vendor/reset.css`);
    assert.equal(css.status, 200);
    assert.equal(await css.text(), '* { margin: 0 }', 'nested folders keep their relative paths');
    const bigBack = Buffer.from(await (await fetch(`${phone}webAccess/video/big.bin`)).arrayBuffer());
    assert.ok(bigBack.equals(big));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a folder update of a subfolder touches only that folder; a folder is removed whole', async () => {
  const n = await startNode('site-folders');
  try {
    const { publicKey: pk } = await n.call('createStream', { name: 'Docs' });
    for (const [p, d] of [
      ['index.html', 'home'],
      ['docs/a.md', 'A'],
      ['docs/old.md', 'O'],
      ['docs/deep/b.md', 'B'],
      ['docs/deep/x/y.md', 'Y'],
      ['docs/beside/c.md', 'C'],
      ['docsx/c.md', 'C'],
      ['notes.txt', 'n'],
    ]) {
      await n.call('putFile', { publicKey: pk, path: p, data: b64(d) });
    }
    const diff = await n.call('folderDiff', { publicKey: pk, under: 'docs', files: [entry('docs/a.md', 'A2'), entry('docs/deep/z.md', 'Z')] });
    assert.deepEqual(
      diff,
      { add: ['docs/deep/z.md'], change: ['docs/a.md'], remove: ['docs/deep/b.md', 'docs/deep/x/y.md', 'docs/old.md'], unchanged: 0 },
      'what left docs/ and docs/deep/ goes; docs/beside/ (a folder the picked one does not have), docsx/ and the top stay',
    );
    const outside = await n.callEnvelope('folderDiff', { publicKey: pk, under: 'docs', files: [entry('notes.txt', 'n')] });
    assert.equal(!outside.ok && outside.error.code, 'INVALID_ARGUMENT');
    for (const files of [
      [{ path: 'a', size: -1, hash: '0'.repeat(64) }],
      [{ path: 'a', size: 1, hash: 'xyz' }],
      [{ path: '../a', size: 1, hash: '0'.repeat(64) }],
      'nope',
      [entry('a', 'x'), entry('a', 'x')],
    ]) {
      const env = await n.callEnvelope('folderDiff', { publicKey: pk, under: '', files: files as never });
      assert.equal(!env.ok && env.error.code, 'INVALID_ARGUMENT', JSON.stringify(files));
    }

    // remove a folder whole: its files and subfolders, nothing beside it
    assert.deepEqual(await n.call('deleteFiles', { publicKey: pk, folder: 'docs/' }), {
      removed: ['docs/a.md', 'docs/beside/c.md', 'docs/deep/b.md', 'docs/deep/x/y.md', 'docs/old.md'],
    });
    const left = (await n.call('streamDetails', { publicKey: pk })).files.map((f) => f.path).sort();
    assert.deepEqual(left, ['docsx/c.md', 'index.html', 'notes.txt']);
    assert.deepEqual(await n.call('deleteFiles', { publicKey: pk, folder: 'docs' }), { removed: [] });
    for (const bad of [{ folder: '' }, { folder: '/' }, { folder: '../x' }, {}]) {
      const env = await n.callEnvelope('deleteFiles', { publicKey: pk, ...bad });
      assert.equal(!env.ok && env.error.code, 'INVALID_ARGUMENT', JSON.stringify(bad));
    }
  } finally {
    await n.stop();
  }
});

test('a mirror cannot be updated from a folder', async () => {
  const a = await startNode('site-w');
  const b = await startNode('site-m');
  try {
    const { publicKey: pk } = await a.call('createStream', { name: 'Mine' });
    await a.call('putFile', { publicKey: pk, path: 'index.html', data: b64('x') });
    await b.call('follow', { key: pk, url: `http://127.0.0.1:${a.lanAddress()!.port}` });
    for (const [m, arg] of [
      ['folderDiff', { publicKey: pk, under: '', files: [] }],
      ['deleteFiles', { publicKey: pk, folder: 'x' }],
    ] as const) {
      const env = await b.callEnvelope(m, arg);
      assert.equal(!env.ok && env.error.code, 'NOT_WRITABLE', m);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
