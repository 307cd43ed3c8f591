// Files across the two Drayers (issue 20.4): a small file kept as it is (a picture) carries no
// `enc` in its header, so the original Drayer, which sends a file header's enc as Content-Encoding,
// serves it without `Content-Encoding: binary` (no HTTP content coding; clients may refuse it).
// A stream compatible with the original keeps files up to 7.9 MiB whole in one record (the original
// reads no chunks), which the real original mirrors and serves; a chunked file's manifest body says
// what it needs. The original's own file records (a committed fixture) read the same way as ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { decode } from '@msgpack/msgpack';
import { Stream } from '../app/store/store.js';
import { runInNetns } from './netns.js';
import { mirrorScript, skipReal } from './original-mirror.js';
import { runDrayer, tmpDir } from './helpers.js';

/** A stream with a picture (kept as it is) and a text file (gzipped), made with the CLI. */
async function streamWithFiles(dir: string): Promise<{ file: string; pk: string; png: Buffer; txt: Buffer }> {
  const file = path.join(dir, 'data', 'files.stream');
  fs.mkdirSync(path.dirname(file));
  const made = await runDrayer(['create', file, '--name', 'Files']);
  assert.equal(made.code, 0, made.err);
  const site = path.join(dir, 'site');
  fs.mkdirSync(site);
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), crypto.randomBytes(3000)]);
  const txt = Buffer.from('Hello from Drayer. '.repeat(200));
  fs.writeFileSync(path.join(site, 'pic.png'), png);
  fs.writeFileSync(path.join(site, 'notes.txt'), txt);
  const added = await runDrayer(['add', file, path.join(site, 'pic.png'), path.join(site, 'notes.txt')]);
  assert.equal(added.code, 0, added.err);
  return { file, pk: made.out.trim(), png, txt };
}

function headerOf(val: Uint8Array): Record<string, unknown> {
  const n = Buffer.from(val).readUInt32LE(0);
  return decode(val.subarray(4, 4 + n)) as Record<string, unknown>;
}

test('a small file kept as it is has no enc in its header (the original would send it as Content-Encoding); it reads back the same', async () => {
  const dir = tmpDir('drayer-orig-files-');
  const { file, png, txt } = await streamWithFiles(dir);
  const s = Stream.open(file, { readonly: true });
  try {
    const pic = headerOf(s.get('file', 'pic.png')!.val!);
    assert.equal('enc' in pic, false, JSON.stringify(pic));
    assert.equal(pic.mime, 'image/png');
    assert.equal(headerOf(s.get('file', 'notes.txt')!.val!).enc, 'gzip');
  } finally {
    s.close();
  }
  assert.deepEqual(await catBytes(file, 'pic.png'), png);
  assert.deepEqual(await catBytes(file, 'notes.txt'), txt);
});

async function catBytes(file: string, name: string): Promise<Buffer> {
  const { Stream: S } = await import('../app/store/store.js');
  const { readFileBytes } = await import('../app/store/files.js');
  const s = S.open(file, { readonly: true });
  try {
    return Buffer.from(await readFileBytes(s, name));
  } finally {
    s.close();
  }
}

interface Served {
  name: string;
  status: number;
  enc: string | null;
  length: number;
  sha256: string;
  /** the body, when under 64 KiB */
  hex: string;
}

/**
 * In one private namespace: our node serves `dir`/data on `port`, the real original follows stream
 * `pk` from it (its httpSync) and serves its copy on `port + 1` once ours is gone; each of `names`
 * is then fetched from the original's webAccess.
 */
async function servedByOriginal(dir: string, pk: string, port: number, names: string[]): Promise<Served[]> {
  const key = encodeURIComponent(pk).replace(/%20/g, '+');
  const fetchScript = path.join(dir, 'get.mjs');
  fs.writeFileSync(
    fetchScript,
    `import { createHash } from 'node:crypto';
     for (const name of ${JSON.stringify(names)}) {
       const r = await fetch('http://127.0.0.1:${port + 1}/${key}/webAccess/' + name);
       const body = Buffer.from(await r.arrayBuffer());
       console.log(JSON.stringify({ name, status: r.status, enc: r.headers.get('content-encoding'), length: body.length,
         sha256: createHash('sha256').update(body).digest('hex'), hex: body.length < 65536 ? body.toString('hex') : '' }));
     }`,
  );
  const script = mirrorScript(dir, pk, port, `"${process.execPath}" "${fetchScript}"`);
  const r = await runInNetns('sh', ['-c', script], { timeoutMs: 280_000 });
  const log = fs.existsSync(path.join(dir, 'original.log')) ? fs.readFileSync(path.join(dir, 'original.log'), 'utf8') : '';
  const got = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Served);
  assert.equal(got.length, names.length, `${r.stdout}\n${r.stderr}\n${log}`);
  return got;
}

test(
  'the real original Drayer mirrors our stream and serves our small files: no Content-Encoding: binary, the same bytes',
  { skip: skipReal, timeout: 180_000 },
  async () => {
    const dir = tmpDir('drayer-orig-files-real-');
    const { pk, png, txt } = await streamWithFiles(dir);
    const got = await servedByOriginal(dir, pk, 33127, ['pic.png', 'notes.txt']);
    const pic = got.find((x) => x.name === 'pic.png')!;
    assert.equal(pic.status, 200);
    assert.equal(pic.enc, null, 'no Content-Encoding for a file kept as it is');
    assert.equal(pic.hex, png.toString('hex'));
    const notes = got.find((x) => x.name === 'notes.txt')!;
    assert.equal(notes.enc, 'gzip');
    assert.equal(Buffer.from(notes.hex, 'hex').toString(), txt.toString(), 'fetch undoes the gzip');
  },
);

/** A stream set compatible (drayer create --compatible) with a 3 MiB file and a 9 MiB one, both random. */
async function compatibleWithBigFiles(dir: string): Promise<{ file: string; pk: string; three: Buffer; nine: Buffer }> {
  const file = path.join(dir, 'data', 'both.stream');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const made = await runDrayer(['create', file, '--name', 'Both', '--compatible']);
  assert.equal(made.code, 0, made.err);
  const three = crypto.randomBytes(3 * 1024 * 1024);
  const nine = crypto.randomBytes(9 * 1024 * 1024);
  fs.writeFileSync(path.join(dir, 'three.bin'), three);
  fs.writeFileSync(path.join(dir, 'nine.mp4'), nine);
  const added = await runDrayer(['add', file, path.join(dir, 'three.bin'), path.join(dir, 'nine.mp4')]);
  assert.equal(added.code, 0, added.err);
  return { file, pk: made.out.trim(), three, nine };
}

/** A file record's body as the original's webAccess reads it: u32le header length, msgpack header, data; its enc. */
function originalWebAccess(val: Uint8Array): { enc: string | undefined; body: Buffer } {
  const n = Buffer.from(val).readUInt32LE(0);
  const h = decode(val.subarray(4, 4 + n)) as Record<string, unknown>;
  return { enc: h.enc as string | undefined, body: Buffer.from(val.subarray(4 + n)) };
}

test('files in the original layout: a compatible stream keeps files up to ~8 MiB whole; a chunked file says in its body what it needs', async () => {
  const dir = tmpDir('drayer-orig-bigfiles-');
  const { file, three, nine } = await compatibleWithBigFiles(dir);
  // and a stream not compatible: a 2 MiB file is chunked, its manifest's body the note
  const plain = path.join(dir, 'data', 'plain.stream');
  assert.equal((await runDrayer(['create', plain, '--name', 'Plain'])).code, 0);
  fs.writeFileSync(path.join(dir, 'two.bin'), three.subarray(0, 2 * 1024 * 1024));
  assert.equal((await runDrayer(['add', plain, path.join(dir, 'two.bin')])).code, 0);
  const s = Stream.open(file, { readonly: true });
  const p = Stream.open(plain, { readonly: true });
  try {
    const whole = originalWebAccess(s.get('file', 'three.bin')!.val!);
    assert.equal(whole.enc, undefined, 'random data is kept as it is: no Content-Encoding for the original to send');
    assert.ok(whole.body.equals(three), 'the record holds the file whole, as the original serves it');
    for (const [st, key, size] of [
      [s, 'nine.mp4', nine.length],
      [p, 'two.bin', 2 * 1024 * 1024],
    ] as const) {
      const chunked = originalWebAccess(st.get('file', key)!.val!);
      assert.equal(chunked.enc, 'chunks');
      assert.match(
        chunked.body.toString('utf8'),
        new RegExp(`^"${key.replace('.', '\\.')}" \\(${size} bytes, .* MiB\\) is not here: it is stored as chunks, which need Drayer >= 0\\.1;`),
      );
    }
  } finally {
    s.close();
    p.close();
  }
  // and Drayer reads all three back as they were
  assert.ok((await catBytes(file, 'three.bin')).equals(three));
  assert.ok((await catBytes(file, 'nine.mp4')).equals(nine));
  assert.ok((await catBytes(plain, 'two.bin')).equals(three.subarray(0, 2 * 1024 * 1024)));
});

test(
  'the real original Drayer mirrors a compatible stream with a 3 MiB file and serves the same bytes; a chunked file it shows says what it needs',
  { skip: skipReal, timeout: 300_000 },
  async () => {
    const dir = tmpDir('drayer-orig-bigfiles-real-');
    const { pk, three } = await compatibleWithBigFiles(dir);
    const got = await servedByOriginal(dir, pk, 33129, ['three.bin', 'nine.mp4']);
    const whole = got.find((x) => x.name === 'three.bin')!;
    assert.equal(whole.status, 200);
    assert.equal(whole.enc, null);
    assert.equal(whole.length, three.length);
    assert.equal(whole.sha256, crypto.createHash('sha256').update(three).digest('hex'), 'the original serves the 3 MiB file byte for byte');
    const chunked = got.find((x) => x.name === 'nine.mp4')!;
    assert.equal(chunked.status, 200);
    assert.match(
      Buffer.from(chunked.hex, 'hex').toString('utf8'),
      /^"nine\.mp4" \(9437184 bytes, 9\.0 MiB\) is not here: it is stored as chunks, which need Drayer >= 0\.1; the original Drayer reads only whole files\./,
    );
  },
);

// test/fixtures/original/files.stream: written by the real original (test/original/original.py files),
// its insertFile of these two files
const FILES_FIXTURE = fileURLToPath(new URL('../../test/fixtures/original/files.stream', import.meta.url));
const PATTERN = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * i + 7 * i) % 251));
const NOTES = Buffer.from(Array.from({ length: 300 }, (_, i) => `Line ${i + 1} of the original's notes. \u0645\u0631\u062d\u0628\u0627\n`).join(''), 'utf8');

test("the original's own file records (its insertFile, committed): imported and read byte for byte; ours read the original's way give the same", async () => {
  const dir = tmpDir('drayer-orig-files-fixture-');
  const out = path.join(dir, 'imported.stream');
  const r = await runDrayer(['import', FILES_FIXTURE, out]);
  assert.equal(r.code, 0, r.err);
  assert.ok((await catBytes(out, 'pattern.bin')).equals(PATTERN), 'its gzip record read as the original wrote it');
  assert.ok((await catBytes(out, 'notes.txt')).equals(NOTES));

  // the same two files written by us, in a compatible stream, and read as the original's webAccess reads a record
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'pattern.bin'), PATTERN);
  fs.writeFileSync(path.join(src, 'notes.txt'), NOTES);
  const ours = path.join(dir, 'ours.stream');
  assert.equal((await runDrayer(['create', ours, '--compatible'])).code, 0);
  assert.equal((await runDrayer(['add', ours, path.join(src, 'pattern.bin'), path.join(src, 'notes.txt')])).code, 0);
  const theirs = Stream.open(out, { readonly: true });
  const mine = Stream.open(ours, { readonly: true });
  try {
    for (const [name, content] of [
      ['pattern.bin', PATTERN],
      ['notes.txt', NOTES],
    ] as const) {
      const t = originalWebAccess(theirs.get('file', name)!.val!);
      const o = originalWebAccess(mine.get('file', name)!.val!);
      assert.equal(t.enc, 'gzip', 'the original gzips every file');
      assert.equal(o.enc, 'gzip', 'so do we, where that makes it smaller');
      assert.ok(zlib.gunzipSync(t.body).equals(content));
      assert.ok(zlib.gunzipSync(o.body).equals(content), `${name}: the original's reading of our record gives the file`);
      const keys = (v: Uint8Array) => Object.keys(headerOf(v)).sort();
      assert.deepEqual(keys(theirs.get('file', name)!.val!), ['enc', 'time']);
      assert.ok(
        keys(theirs.get('file', name)!.val!).every((k) => keys(mine.get('file', name)!.val!).includes(k)),
        'every field of its header is in ours',
      );
    }
  } finally {
    theirs.close();
    mine.close();
  }
});
