import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { Stream } from '../app/store/store.js';
import { blake2b256 } from '../app/core/crypto.js';
import { isDrayerError } from '../app/core/errors.js';
import {
  addBytes,
  addFile,
  addPaths,
  chunkCount,
  collectLeftovers,
  deleteFile,
  gcChunks,
  getChunk,
  importFolder,
  type ImportProgress,
  listFiles,
  missingChunks,
  normalizeFilePath,
  openFileStream,
  parseFileValue,
  putChunk,
  rawFileBody,
  readFileBytes,
  statFile,
} from '../app/store/files.js';
import { tmpDir, utf8 } from './helpers.js';

const MiB = 1024 * 1024;

/** Deterministic bytes that do not compress and differ per seed. */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, n - 4));
  }
  return out;
}

async function collect(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    r,
    new Writable({
      write(c, _e, cb) {
        parts.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(parts);
}

function newStream(): Stream {
  return Stream.create(path.join(tmpDir(), 'files.stream'));
}

test('paths: relative, forward slashes, NFC; traversal and oddities are rejected', () => {
  assert.equal(normalizeFilePath('index.html'), 'index.html');
  assert.equal(normalizeFilePath('a/b/c.txt'), 'a/b/c.txt');
  assert.equal(normalizeFilePath('cafe\u0301.txt'), 'caf\u00e9.txt');
  for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a/', './a', 'a/./b', 'a\\b', 'a\u0000b', '..', 'x/..']) {
    assert.throws(
      () => normalizeFilePath(bad),
      (e) => isDrayerError(e, 'INVALID_ARGUMENT') && /cannot be used/.test(e.message),
      bad,
    );
  }
});

test('a small text file round trips gzipped, a small binary file stays binary', async () => {
  const s = newStream();
  const textData = utf8('<h1>hello</h1>\n'.repeat(500));
  const r = await addBytes(s, 'index.html', textData, { time: 1_700_000_000_000_000 });
  assert.deepEqual(r, { path: 'index.html', changed: true });
  const val = s.get('file', 'index.html')!.val!;
  const { header, body } = parseFileValue(val);
  assert.equal(header.enc, 'gzip');
  assert.equal(header.time, 1_700_000_000_000_000);
  assert.equal(header.mime, 'text/html');
  assert.ok(body.length < textData.length / 10);
  assert.equal(new DataView(val.buffer, val.byteOffset).getUint32(0, true), val.length - body.length - 4);
  assert.deepEqual(await readFileBytes(s, 'index.html'), Buffer.from(textData));
  assert.deepEqual(gunzipSync(rawFileBody(s, 'index.html')!.data), Buffer.from(textData));
  assert.deepEqual(await collect(openFileStream(s, 'index.html', { start: 4, end: 9 })), Buffer.from(textData.subarray(4, 10)));

  const bin = noise(5000, 7);
  await addBytes(s, 'img/x.png', bin);
  const st = statFile(s, 'img/x.png')!;
  assert.equal(st.enc, 'binary');
  assert.equal(st.mime, 'image/png');
  assert.equal(st.size, 5000);
  assert.equal(st.chunked, false);
  assert.equal(rawFileBody(s, 'img/x.png')!.enc, 'binary');
  assert.deepEqual(await readFileBytes(s, 'img/x.png'), bin);
  assert.equal(statFile(s, 'index.html')!.size, textData.length);

  // Same content again (new time) is not rewritten.
  const seq = s.lastSeq();
  assert.equal((await addBytes(s, 'img/x.png', bin, { time: 5 })).changed, false);
  assert.equal(s.lastSeq(), seq);
  assert.deepEqual(
    listFiles(s).map((f) => f.path),
    ['img/x.png', 'index.html'],
  );
  assert.deepEqual(s.verify().problems, []);
  s.close();
});

test('original Drayer small-file values without size or mime are read', async () => {
  const s = newStream();
  const { encode } = await import('@msgpack/msgpack');
  const data = utf8('plain old file');
  const h = encode({ enc: 'binary', time: 123 });
  const val = Buffer.concat([Buffer.from([h.length, 0, 0, 0]), h, data]);
  s.put('file', 'old.txt', val);
  const st = statFile(s, 'old.txt')!;
  assert.equal(st.size, data.length);
  assert.equal(st.mime, 'text/plain');
  assert.equal(st.time, 123);
  assert.deepEqual(await readFileBytes(s, 'old.txt'), Buffer.from(data));
  s.close();
});

test("a file's time in ms (small private files from before 0.1) reads as the µs it meant; µs and 0 stay", async () => {
  const { encode } = await import('@msgpack/msgpack');
  const val = (time: number) => {
    const h = encode({ enc: 'binary', time });
    return Buffer.concat([Buffer.from([h.length, 0, 0, 0]), h, utf8('x')]);
  };
  const msNow = 1_765_000_000_000; // December 2025 in ms
  assert.equal(parseFileValue(val(msNow)).header.time, msNow * 1000);
  assert.equal(parseFileValue(val(msNow * 1000)).header.time, msNow * 1000);
  assert.equal(parseFileValue(val(0)).header.time, 0);
  assert.equal(parseFileValue(val(315_532_800_000_000)).header.time, 315_532_800_000_000, '1980 in µs (zip archives) stays');
});

test('a 5 MiB file round trips chunked, with ranges from any offset', async () => {
  const d = tmpDir();
  const s = newStream();
  const src = path.join(d, 'big.bin');
  const data = noise(5 * MiB + 12345, 1);
  fs.writeFileSync(src, data);
  const r = await addFile(s, 'media/big.bin', src);
  assert.deepEqual(r, { path: 'media/big.bin', changed: true });
  const st = statFile(s, 'media/big.bin')!;
  assert.equal(st.chunked, true);
  assert.equal(st.enc, 'chunks');
  assert.equal(st.size, data.length);
  assert.equal(st.time, Math.floor(fs.statSync(src).mtimeMs * 1000));
  const { header, body } = parseFileValue(s.get('file', 'media/big.bin')!.val!);
  // the body is for the original Drayer, which serves it as the file: what is missing and what reads it
  assert.match(
    Buffer.from(body).toString('utf8'),
    new RegExp(`^"media/big\\.bin" \\(${data.length} bytes, 5\\.0 MiB\\) is not here: it is stored as chunks, which need Drayer >= 0\\.1;`),
  );
  assert.equal(header.chunkSize, MiB);
  assert.equal(header.chunks!.length, 6);
  assert.deepEqual(header.chunks![0], blake2b256(data.subarray(0, MiB)));
  assert.equal(chunkCount(s), 6);

  assert.ok((await collect(openFileStream(s, 'media/big.bin'))).equals(data));
  const ranges: [number, number][] = [
    [0, 0],
    [1, 100],
    [MiB - 1, MiB],
    [MiB, 2 * MiB - 1],
    [3 * MiB + 7, 5 * MiB + 12344],
    [2 * MiB + 5, 4 * MiB + 9],
    [5 * MiB, 5 * MiB + 99999],
  ];
  for (const [start, end] of ranges) {
    const got = await collect(openFileStream(s, 'media/big.bin', { start, end }));
    assert.ok(got.equals(data.subarray(start, Math.min(end, data.length - 1) + 1)), `${start}-${end}`);
  }
  assert.ok((await collect(openFileStream(s, 'media/big.bin', { start: 4 * MiB }))).equals(data.subarray(4 * MiB)));
  assert.equal((await collect(openFileStream(s, 'media/big.bin', { start: data.length }))).length, 0);
  assert.ok((await readFileBytes(s, 'media/big.bin')).equals(data));
  assert.equal(rawFileBody(s, 'media/big.bin'), undefined);
  assert.deepEqual(missingChunks(s, 'media/big.bin'), []);
  assert.deepEqual(s.verify().problems, []);
  s.close();
});

test('chunks are deduplicated; replacing and deleting big files collects their chunks', async () => {
  const s = newStream();
  const a = noise(3 * MiB, 2);
  await addBytes(s, 'a.bin', a);
  assert.equal(chunkCount(s), 3);
  const seq = s.lastSeq();
  assert.equal((await addBytes(s, 'a.bin', a, { time: 1 })).changed, false);
  assert.equal(s.lastSeq(), seq);
  await addBytes(s, 'copy-of-a.bin', a);
  assert.equal(chunkCount(s), 3, 'the same content twice shares its chunks');

  // Replace a.bin: its chunks are still used by the copy, so none go.
  const b = noise(2 * MiB + 1, 3);
  await addBytes(s, 'a.bin', b);
  assert.equal(chunkCount(s), 6);
  // Delete the copy: a's old chunks are now unreferenced.
  assert.equal(deleteFile(s, 'copy-of-a.bin'), true);
  assert.equal(chunkCount(s), 3);
  // Replace the big file with a small one: all its chunks go.
  await addBytes(s, 'a.bin', utf8('small now'));
  assert.equal(chunkCount(s), 0);
  assert.equal(await readFileBytes(s, 'a.bin').then((x) => x.toString()), 'small now');
  assert.equal(deleteFile(s, 'a.bin'), true);
  assert.equal(deleteFile(s, 'a.bin'), false);
  assert.equal(gcChunks(s), 0);
  assert.deepEqual(s.verify().problems, []);
  s.close();
});

test('a mirror holding a manifest without chunks: NOT_FOUND, missingChunks, verified putChunk', async () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const data = noise(3 * MiB + 10, 4);
  await addBytes(w, 'v.mp4', data);
  const m = Stream.create(path.join(d, 'm.stream'), { followKey: w.publicKey });
  const page = w.changesSince(0, { limit: 100 });
  assert.deepEqual(m.apply(page.records).rejected, []);

  const missing = missingChunks(m, 'v.mp4');
  assert.equal(missing.length, 4);
  assert.equal(listFiles(m)[0]!.chunked, true);
  assert.throws(
    () => openFileStream(m, 'v.mp4'),
    (e) => isDrayerError(e, 'NOT_FOUND') && e.message.includes(Buffer.from(missing[0]!).toString('hex')),
  );

  // A tampered chunk is refused and nothing is stored.
  const good = getChunk(w, missing[1]!)!;
  const bad = Buffer.from(good);
  bad[1000] ^= 1;
  assert.throws(
    () => putChunk(m, bad, missing[1]!),
    (e) => isDrayerError(e, 'INVALID_RECORD'),
  );
  assert.equal(getChunk(m, missing[1]!), undefined);

  putChunk(m, good, missing[1]!);
  assert.equal(missingChunks(m, 'v.mp4').length, 3);
  // Chunk 1 alone is readable now; a range touching chunk 0 still fails.
  assert.ok((await collect(openFileStream(m, 'v.mp4', { start: MiB + 5, end: 2 * MiB - 1 }))).equals(data.subarray(MiB + 5, 2 * MiB)));
  assert.throws(
    () => openFileStream(m, 'v.mp4', { start: 10, end: MiB + 10 }),
    (e) => isDrayerError(e, 'NOT_FOUND'),
  );
  // A chunk vanishing mid-read fails the stream with NOT_FOUND too.
  for (const h of missingChunks(m, 'v.mp4')) putChunk(m, getChunk(w, h)!, h);
  const r = openFileStream(m, 'v.mp4');
  m.db.prepare('DELETE FROM chunks WHERE hash = ?').run(missing[3]!);
  await assert.rejects(collect(r), (e) => isDrayerError(e, 'NOT_FOUND'));
  putChunk(m, getChunk(w, missing[3]!)!, missing[3]!);
  assert.ok((await readFileBytes(m, 'v.mp4')).equals(data));
  assert.equal(gcChunks(m), 0, 'chunks of a held manifest are kept');
  assert.deepEqual(m.verify().problems, []);
  await assert.rejects(addBytes(m, 'x.txt', utf8('x')), (e) => isDrayerError(e, 'NOT_WRITABLE'));
  w.close();
  m.close();
});

test('folder import adds, updates, removes, keeps unchanged, and skips dotfiles and outside links', async () => {
  const d = tmpDir();
  const site = path.join(d, 'site');
  const outside = path.join(d, 'secret.txt');
  fs.writeFileSync(outside, 'do not publish');
  fs.mkdirSync(path.join(site, 'css'), { recursive: true });
  fs.mkdirSync(path.join(site, '.git'), { recursive: true });
  fs.writeFileSync(path.join(site, 'index.html'), '<html>home</html>');
  fs.writeFileSync(path.join(site, 'about.html'), '<html>about</html>');
  fs.writeFileSync(path.join(site, 'css', 'site.css'), 'body { color: red }');
  fs.writeFileSync(path.join(site, 'video.webm'), noise(2 * MiB + 3, 5));
  fs.writeFileSync(path.join(site, '.DS_Store'), 'junk');
  fs.writeFileSync(path.join(site, '.git', 'HEAD'), 'ref');
  fs.symlinkSync(outside, path.join(site, 'leak.txt'));
  fs.symlinkSync(path.join(site, 'index.html'), path.join(site, 'home.html'));
  fs.symlinkSync(site, path.join(site, 'css', 'loop'));

  const s = newStream();
  const seen: ImportProgress[] = [];
  const r1 = await importFolder(s, site, { onProgress: (p) => seen.push(p) });
  assert.deepEqual(r1.added.sort(), ['about.html', 'css/site.css', 'home.html', 'index.html', 'video.webm']);
  assert.deepEqual([r1.updated, r1.removed, r1.unchanged], [[], [], 0]);
  const last = seen.at(-1)!;
  assert.equal(last.files, 5);
  assert.equal(last.filesTotal, 5);
  assert.equal(last.bytes, last.bytesTotal);
  assert.equal(statFile(s, 'css/site.css')!.mime, 'text/css');
  assert.equal((await readFileBytes(s, 'index.html')).toString(), '<html>home</html>');
  assert.equal(statFile(s, 'leak.txt'), undefined);
  assert.equal(statFile(s, '.DS_Store'), undefined);

  // No changes (even with a new mtime): nothing is written.
  const seq = s.lastSeq();
  const future = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(site, 'about.html'), future, future);
  const r2 = await importFolder(s, site);
  assert.deepEqual([r2.added, r2.updated, r2.removed, r2.unchanged], [[], [], [], 5]);
  assert.equal(s.lastSeq(), seq);

  // Change one, add one, remove one (the big one: its chunks are collected).
  fs.writeFileSync(path.join(site, 'about.html'), '<html>about us</html>');
  fs.writeFileSync(path.join(site, 'css', 'new.css'), 'p {}');
  fs.rmSync(path.join(site, 'video.webm'));
  const r3 = await importFolder(s, site);
  assert.deepEqual(r3.added, ['css/new.css']);
  assert.deepEqual(r3.updated, ['about.html']);
  assert.deepEqual(r3.removed, ['video.webm']);
  assert.equal(r3.unchanged, 3);
  assert.equal(chunkCount(s), 0);
  assert.equal((await readFileBytes(s, 'about.html')).toString(), '<html>about us</html>');

  // With a prefix only that subtree is mirrored; files elsewhere stay.
  const docs = path.join(d, 'docs');
  fs.mkdirSync(docs);
  fs.writeFileSync(path.join(docs, 'a.md'), '# A');
  const r4 = await importFolder(s, docs, { prefix: 'docs/' });
  assert.deepEqual(r4.added, ['docs/a.md']);
  assert.deepEqual(r4.removed, []);
  fs.rmSync(path.join(docs, 'a.md'));
  fs.writeFileSync(path.join(docs, 'b.md'), '# B');
  const r5 = await importFolder(s, docs, { prefix: 'docs' });
  assert.deepEqual([r5.added, r5.removed], [['docs/b.md'], ['docs/a.md']]);
  assert.equal(statFile(s, 'index.html')!.mime, 'text/html');

  // addPaths: files under their base name, folders by their contents; nothing is removed.
  const one = path.join(d, 'note.txt');
  fs.writeFileSync(one, 'note');
  const r6 = await addPaths(s, [one, docs]);
  assert.deepEqual(r6.added, ['note.txt', 'b.md']);
  assert.deepEqual(r6.removed, []);
  assert.ok(statFile(s, 'docs/b.md'));

  assert.deepEqual(s.verify().problems, []);
  s.close();
});

test('addFile reports missing sources and folders clearly', async () => {
  const d = tmpDir();
  const s = newStream();
  await assert.rejects(addFile(s, 'x', path.join(d, 'nope')), (e) => isDrayerError(e, 'NOT_FOUND'));
  await assert.rejects(addFile(s, 'x', d), (e) => isDrayerError(e, 'INVALID_ARGUMENT') && /folder/.test(e.message));
  await assert.rejects(addFile(s, '../x', d), (e) => isDrayerError(e, 'INVALID_ARGUMENT'));
  assert.throws(
    () => openFileStream(s, 'nope.txt'),
    (e) => isDrayerError(e, 'NOT_FOUND'),
  );
  s.close();
});

test("overlapping big-file writes restore the stream's checkpoint setting when the last one ends", async () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'cp.stream'));
  try {
    const original = s.db.pragma('wal_autocheckpoint', { simple: true });
    const big = (n: number) => new Uint8Array(3 * 1024 * 1024).fill(n);
    await Promise.all([addBytes(s, 'a.bin', big(1)), addBytes(s, 'b.bin', big(2)), addBytes(s, 'c.bin', big(3))]);
    // raised until the background checkpoint of the big writes has ended, then the stream's own again
    const deadline = Date.now() + 10_000;
    while (s.db.pragma('wal_autocheckpoint', { simple: true }) !== original && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.db.pragma('wal_autocheckpoint', { simple: true }), original);
    // a second round after that starts from the stream's own setting, not a raised one
    await addBytes(s, 'd.bin', big(4));
    while (s.db.pragma('wal_autocheckpoint', { simple: true }) !== original && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.db.pragma('wal_autocheckpoint', { simple: true }), original);
    assert.equal((await readFileBytes(s, 'b.bin'))[0], 2);
  } finally {
    s.close();
  }
});

test('a big file goes into the WAL and reaches the database file by a background checkpoint; close leaves no WAL', async () => {
  const d = tmpDir();
  const f = path.join(d, 'wal.stream');
  const s = Stream.create(f);
  const data = noise(12 * MiB + 7, 3);
  const size0 = fs.statSync(f).size;
  await addBytes(s, 'big.bin', data);
  // Readable at once, from the WAL.
  assert.ok(data.equals(await readFileBytes(s, 'big.bin')));
  // The one checkpoint asked for when the file was complete moves it into the database file.
  const deadline = Date.now() + 20_000;
  while (fs.statSync(f).size < size0 + 12 * MiB && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.ok(fs.statSync(f).size >= size0 + 12 * MiB, `database file holds the data (${fs.statSync(f).size} bytes)`);
  s.put('note', 'after', utf8('a small write after the big one'));
  s.close();
  assert.equal(fs.existsSync(f + '-wal'), false, 'closing the stream removed its WAL');
  const again = Stream.open(f);
  assert.ok(data.equals(await readFileBytes(again, 'big.bin')));
  assert.deepEqual(again.verify().problems, []);
  again.close();
});

test('an add cancelled mid-way (AbortSignal) removes the chunks it wrote and stores no record', async () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'cancel.stream'));
  try {
    await addBytes(s, 'keep.bin', noise(2 * MiB, 1));
    const kept = chunkCount(s);
    fs.writeFileSync(path.join(d, 'big.bin'), noise(40 * MiB, 2));
    const ac = new AbortController();
    const opts = { signal: ac.signal, onProgress: (p: ImportProgress) => (p.bytes >= 8 * MiB ? ac.abort() : undefined) };
    await assert.rejects(addPaths(s, [path.join(d, 'big.bin')], opts), (e) => isDrayerError(e, 'CANCELLED') && /big\.bin was cancelled/.test(e.message));
    assert.equal(s.get('file', 'big.bin'), undefined);
    assert.equal(chunkCount(s), kept);
    // its space is given back: no free page is left to hold its bytes
    assert.equal(s.db.pragma('freelist_count', { simple: true }), 0);
    s.checkpoints.settle();
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    assert.ok(fs.statSync(s.file).size < 4 * MiB, `${fs.statSync(s.file).size} bytes`);
    // nothing half-done stays in the way of the next add
    const again = await addPaths(s, [path.join(d, 'big.bin')]);
    assert.deepEqual(again.added, ['big.bin']);
    assert.equal(chunkCount(s), kept + 40);
    assert.deepEqual(s.verify().problems, []);
  } finally {
    s.close();
  }
});

test('orphan chunks left by a Drayer from before their collection are collected at the first open', async () => {
  const d = tmpDir();
  const f = path.join(d, 'old.stream');
  const s = Stream.create(f);
  await addBytes(s, 'keep.bin', noise(3 * MiB, 4));
  s.close();
  // What an interrupted add left in a stream of schema 2 (no record of adds in progress).
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(f);
  const stray = noise(MiB, 5);
  db.prepare('INSERT INTO chunks (hash, data) VALUES (?, ?)').run(Buffer.from(blake2b256(stray)), stray);
  db.exec('DROP TABLE IF EXISTS chunk_pins; DROP TABLE IF EXISTS chunk_ops; PRAGMA user_version = 2');
  db.close();
  const again = Stream.open(f);
  try {
    assert.equal(chunkCount(again), 3);
    assert.ok((await readFileBytes(again, 'keep.bin')).equals(noise(3 * MiB, 4)));
  } finally {
    again.close();
  }
});

test('a collection keeps what operations in progress pinned, and takes what those whose process is gone left', async () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'ops.stream'));
  try {
    // How this process marks its operations, seen while one runs.
    fs.writeFileSync(path.join(d, 'big.bin'), noise(3 * MiB, 6));
    let mine: { pid: number; place: string } | undefined;
    await addPaths(s, [path.join(d, 'big.bin')], { onProgress: () => (mine ??= s.db.prepare('SELECT pid, place FROM chunk_ops').get() as typeof mine) });
    assert.equal(mine?.pid, process.pid);
    assert.equal(s.db.prepare('SELECT count(*) FROM chunk_ops').pluck().get(), 0, 'a finished add leaves no row');
    assert.equal(s.db.prepare('SELECT count(*) FROM chunk_pins').pluck().get(), 0, 'nor pins');
    const kept = chunkCount(s);
    const { spawnSync } = await import('node:child_process');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const now = Date.now();
    const cases = [
      { pid: process.pid, place: mine!.place, beat: 0, stays: true }, // alive here: its beat does not matter
      { pid: dead, place: mine!.place, beat: now, stays: false }, // gone here: at once
      { pid: 1, place: 'another machine', beat: now - 60_000, stays: true }, // elsewhere, beating
      { pid: process.pid, place: 'another machine', beat: now - 11 * 60_000, stays: false }, // elsewhere, silent too long
    ];
    for (const [i, c] of cases.entries()) {
      const op = Number(s.db.prepare('INSERT INTO chunk_ops (pid, place, started, beat) VALUES (?, ?, 0, ?)').run(c.pid, c.place, c.beat).lastInsertRowid);
      const data = noise(1000, 100 + i);
      const hash = Buffer.from(blake2b256(data));
      s.db.prepare('INSERT INTO chunks (hash, data) VALUES (?, ?)').run(hash, data);
      s.db.prepare('INSERT INTO chunk_pins (op, hash) VALUES (?, ?)').run(op, hash);
    }
    assert.equal(collectLeftovers(s), 2);
    assert.equal(chunkCount(s), kept + 2);
    assert.deepEqual(
      s.db.prepare('SELECT pid, place FROM chunk_ops ORDER BY id').all(),
      cases.filter((c) => c.stays).map(({ pid, place }) => ({ pid, place })),
    );
    assert.equal(s.db.prepare('SELECT count(*) FROM chunk_pins').pluck().get(), 2);
    assert.equal(collectLeftovers(s), 0, 'nothing stale: nothing collected');
    assert.ok((await readFileBytes(s, 'big.bin')).equals(noise(3 * MiB, 6)));
  } finally {
    s.close();
  }
});
