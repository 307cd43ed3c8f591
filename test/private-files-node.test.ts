// Files of a private stream through a node's API (DESIGN §8, issue 19): what the app sends (one
// call, an upload in pieces, a folder by its paths, the avatar) is sealed in the stream file, small
// ones as one record and big ones chunk by chunk; the stream page lists them for readers, a reader
// on another node reads any byte range, a blind mirror lists none and says "sealed: no read key".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { tmpDir } from './helpers.js';

async function startNode(dataDir: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

/** `size` bytes of a text that names itself (so a search of the stream file for it would find any piece left in clear). */
function patterned(tag: string, size: number): Buffer {
  const unit = Buffer.from(`${tag} line of plaintext, `);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, size - i));
  return out;
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('IHDR okapi avatar pixels')]);

/** SHA-256 of the SHA-256s of each 1 MiB piece: the digest folderDiff compares (core/site.ts). */
function folderDigest(b: Buffer): string {
  const outer = createHash('sha256');
  for (let i = 0; i < b.length; i += 1024 * 1024)
    outer.update(
      createHash('sha256')
        .update(b.subarray(i, i + 1024 * 1024))
        .digest(),
    );
  return outer.digest('hex');
}

async function readAll(n: DrayerNode, publicKey: string, p: string, offset = 0, length?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let at = offset;
  for (;;) {
    const want = length === undefined ? undefined : offset + length - at;
    if (want === 0) break;
    const r = await n.call('readFile', { publicKey, path: p, offset: at, ...(want === undefined ? {} : { length: want }) });
    const b = Buffer.from(r.data, 'base64');
    if (b.length === 0) break;
    parts.push(b);
    at += b.length;
  }
  return Buffer.concat(parts);
}

test('files of a private stream from the app are sealed, listed for readers, read in ranges on another node, and sealed for a blind mirror', async () => {
  const root = tmpDir('drayer-private-files-');
  const a = await startNode(path.join(root, 'a'));
  const b = await startNode(path.join(root, 'b'));
  const c = await startNode(path.join(root, 'c'));
  try {
    const { publicKey: pk } = await a.call('createStream', { name: 'Sealed album', private: true });
    // one call
    const note = Buffer.from('Narwhal shopping list: pistachios');
    await a.call('putFile', { publicKey: pk, path: 'notes/list.txt', data: note.toString('base64') });
    // an upload in pieces, bigger than a chunk
    const big = patterned('Wombat', 2 * 1024 * 1024 + 12345);
    const up = await a.call('uploadBegin', { publicKey: pk, path: 'video/big.bin', size: big.length });
    for (let off = 0; off < big.length; off += up.chunkBytes)
      await a.call('uploadChunk', { uploadId: up.uploadId, offset: off, data: big.subarray(off, off + up.chunkBytes).toString('base64') });
    assert.deepEqual(await a.call('uploadFinish', { uploadId: up.uploadId }), { path: 'video/big.bin', changed: true });
    // a folder by its paths (the desktop app's drop): a site, with a big file in it
    const site = path.join(root, 'site');
    fs.mkdirSync(path.join(site, 'css'), { recursive: true });
    const html = Buffer.from('<h1>Capybara homepage</h1>');
    const css = Buffer.from('body { color: tangerine }');
    const movie = patterned('Axolotl', 1024 * 1024 + 77);
    fs.writeFileSync(path.join(site, 'index.html'), html);
    fs.writeFileSync(path.join(site, 'css', 'a.css'), css);
    fs.writeFileSync(path.join(site, 'movie.bin'), movie);
    const added = await a.call('addFiles', { publicKey: pk, paths: [site] });
    assert.deepEqual(added.added.sort(), ['css/a.css', 'index.html', 'movie.bin']);
    // the same again is unchanged, and a folder update asks for nothing
    assert.equal((await a.call('addFiles', { publicKey: pk, paths: [site] })).unchanged, 3);
    const diff = await a.call('folderDiff', {
      publicKey: pk,
      under: '',
      files: [
        { path: 'index.html', size: html.length, hash: folderDigest(html) },
        { path: 'css/a.css', size: css.length + 1, hash: folderDigest(Buffer.concat([css, Buffer.from(' ')])) },
        { path: 'movie.bin', size: movie.length, hash: folderDigest(movie) },
      ],
    });
    assert.deepEqual(diff.change, ['css/a.css']);
    assert.equal(diff.unchanged, 2);
    assert.deepEqual(diff.remove, [], 'folders the update does not have (notes, video) are kept');
    // the avatar: sealed too, and named in the sealed drayer/info
    const withAvatar = await a.call('setAvatar', { publicKey: pk, data: PNG.toString('base64') });
    assert.match(withAvatar.avatar ?? '', /^media\/avatar-.*\.png$/);

    const d = await a.call('streamDetails', { publicKey: pk });
    assert.deepEqual(
      d.files.map((f) => [f.path, f.size]),
      [
        ['css/a.css', css.length],
        ['index.html', html.length],
        [withAvatar.avatar!, PNG.length],
        ['movie.bin', movie.length],
        ['notes/list.txt', note.length],
        ['video/big.bin', big.length],
      ],
    );
    assert.equal(d.files.find((f) => f.path === 'index.html')?.mime, 'text/html');
    assert.ok((await readAll(a, pk, 'video/big.bin')).equals(big));

    // nothing of it in clear in the stream file
    const file = path.join(a.dataDir, d.file);
    const stored = Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    for (const word of [
      'Narwhal',
      'Wombat line',
      'Axolotl line',
      'Capybara',
      'tangerine',
      'okapi',
      'list.txt',
      'big.bin',
      'index.html',
      'avatar-',
      'Sealed album',
    ])
      assert.ok(!stored.includes(word), `"${word}" is not in the stream file`);

    // a reader on another node: the same list, any byte range (across a chunk's end), the avatar
    const url = `http://127.0.0.1:${a.lanAddress()!.port}`;
    await b.call('follow', { key: d.readLink!, url });
    const db = await b.call('streamDetails', { publicKey: pk });
    assert.equal(db.private, 'reader');
    assert.deepEqual(
      db.files.map((f) => f.path),
      d.files.map((f) => f.path),
    );
    assert.equal(db.avatar, withAvatar.avatar);
    const from = 1024 * 1024 - 100;
    assert.ok((await readAll(b, pk, 'video/big.bin', from, 300)).equals(big.subarray(from, from + 300)));
    assert.ok((await readAll(b, pk, 'movie.bin')).equals(movie));
    assert.ok((await readAll(b, pk, withAvatar.avatar!)).equals(PNG));
    assert.equal((await readAll(b, pk, 'notes/list.txt')).toString(), note.toString());
    // a reader that does not hold the stream's secret key writes nothing
    const refused = await b.callEnvelope('putFile', { publicKey: pk, path: 'x.txt', data: 'eA==' });
    assert.equal(refused.ok, false);

    // a blind mirror: no files to list, and reading one says why
    await c.call('follow', { key: pk, url });
    const dc = await c.call('streamDetails', { publicKey: pk });
    assert.equal(dc.private, 'sealed');
    assert.deepEqual(dc.files, []);
    const sealed = await c.callEnvelope('readFile', { publicKey: pk, path: 'notes/list.txt' });
    assert.equal(sealed.ok, false);
    assert.match((sealed as { ok: false; error: { message: string } }).error.message, /sealed: no read key/);

    // deletes: a folder, then one file; the reader follows
    assert.deepEqual((await a.call('deleteFiles', { publicKey: pk, folder: 'video' })).removed, ['video/big.bin']);
    assert.equal(await a.call('deleteFile', { publicKey: pk, path: 'css/a.css' }), true);
    await b.call('syncNow', { publicKey: pk });
    const left = (await b.call('streamDetails', { publicKey: pk })).files.map((f) => f.path);
    assert.deepEqual(left, ['index.html', withAvatar.avatar!, 'movie.bin', 'notes/list.txt']);
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});
