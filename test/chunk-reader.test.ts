// A LAN server reads the chunks it serves on a worker thread into a few reused buffers
// (app/store/chunk-reader.ts): byte for byte, every buffer given back (answered, abandoned, or
// more requests than buffers at once), and a stream closed after serving leaves no WAL behind
// (the worker lets go of the file before the stream's own connection closes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { blake2b256, bytesEqual } from '../app/core/crypto.js';
import { addBytes, parseFileValue } from '../app/store/files.js';
import { chunkReader } from '../app/store/chunk-reader.js';
import { LanServer } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import { hex, tmpDir } from './helpers.js';

const dir = tmpDir('drayer-chunk-reader-');
const MiB = 1024 * 1024;
const servers: LanServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  await chunkReader.stop();
});

async function serve(s: Stream): Promise<string> {
  const srv = new LanServer({ resolve: (pk) => (bytesEqual(pk, s.publicKey) ? s : undefined), shared: () => [] });
  servers.push(srv);
  const { port } = await srv.listen();
  return `http://127.0.0.1:${port}/${Buffer.from(s.publicKey).toString('base64url')}/chunk/`;
}

async function bigFile(name: string, mib: number): Promise<{ s: Stream; data: Uint8Array; chunks: Uint8Array[] }> {
  const s = Stream.create(path.join(dir, `${name}.stream`), { name });
  const data = new Uint8Array(mib * MiB + 12345);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 13) + name.length) & 255;
  await addBytes(s, 'big.bin', data);
  return { s, data, chunks: parseFileValue(s.get('file', 'big.bin')!.val!).header.chunks! };
}

const settled = async (until: () => boolean) => {
  for (let i = 0; i < 200 && !until(); i++) await new Promise((r) => setTimeout(r, 10));
};

test('chunks are read on the reader thread, byte for byte, and every buffer comes back, with more requests than buffers at once', async () => {
  const { s, data, chunks } = await bigFile('many', 5);
  const base = await serve(s);
  // Every chunk twice at once: 12 answers in flight, more than the reader's 8 buffers (and
  // within what the server lets one address have: 16 requests, 24 MiB).
  const all = [0, 1].flatMap(() => chunks.map((h, i) => ({ h, i })));
  const got = await Promise.all(
    all.map(async ({ h, i }) => {
      const r = await fetch(base + hex(h));
      assert.equal(r.status, 200);
      return { i, body: new Uint8Array(await r.arrayBuffer()) };
    }),
  );
  for (const { i, body } of got) {
    assert.ok(bytesEqual(blake2b256(body), chunks[i]!), `chunk ${i} differs`);
    assert.ok(bytesEqual(body, data.subarray(i * MiB, Math.min(data.length, (i + 1) * MiB))));
  }
  assert.equal(chunkReader.running, true, 'the reader thread served them');
  await settled(() => chunkReader.inUse === 0);
  assert.equal(chunkReader.inUse, 0, 'every buffer was given back');
  // A range of a chunk and a chunk not held answer as before.
  const part = await fetch(base + hex(chunks[2]!), { headers: { Range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.ok(bytesEqual(new Uint8Array(await part.arrayBuffer()), data.subarray(2 * MiB + 100, 2 * MiB + 200)));
  assert.equal((await fetch(base + 'cd'.repeat(32))).status, 404);
  await settled(() => chunkReader.inUse === 0);
  assert.equal(chunkReader.inUse, 0);
});

test('a client that leaves in the middle of a chunk gives its buffer back', async () => {
  const { s, chunks } = await bigFile('leaver', 2);
  const base = new URL(await serve(s));
  for (let k = 0; k < 10; k++) {
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(Number(base.port), '127.0.0.1', () => {
        sock.write(`GET ${base.pathname}${hex(chunks[0]!)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
      sock.once('data', () => {
        sock.destroy(); // a few KiB of the answer read, the rest never
        resolve();
      });
      sock.once('error', reject);
    });
  }
  await settled(() => chunkReader.inUse === 0);
  assert.equal(chunkReader.inUse, 0, 'no buffer stays taken by an abandoned answer');
});

test('a stream closed after its chunks were served leaves no WAL behind', async () => {
  const { s, chunks } = await bigFile('closing', 2);
  const base = await serve(s);
  const r = await fetch(base + hex(chunks[1]!));
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  assert.equal(chunkReader.running, true);
  s.close();
  assert.equal(fs.existsSync(s.file + '-wal'), false, 'the stream connection was the last one, so it checkpointed and removed the WAL');
  // The file can be opened, and served, again.
  const again = Stream.open(s.file);
  const base2 = await serve(again);
  const r2 = await fetch(base2 + hex(chunks[0]!));
  assert.equal(r2.status, 200);
  assert.ok(bytesEqual(blake2b256(new Uint8Array(await r2.arrayBuffer())), chunks[0]!));
  again.close();
  assert.equal(fs.existsSync(s.file + '-wal'), false);
});
