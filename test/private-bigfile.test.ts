// Big files of a private stream (DESIGN §8): each chunk sealed on its own, any byte range read
// without opening the rest, carried and served by a blind mirror exactly like a public big file's
// chunks without a byte of the file or its name, and a tampered, swapped or moved chunk caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ReadKey, setPrivateBackend } from '../app/core/private.js';
import { chunkCount, sealedChunkLists } from '../app/store/files.js';
import { Stream } from '../app/store/store.js';
import { drayerFails as fails, drayerOk as ok, runDrayer, tmpDir } from './helpers.js';
import { fileBytes, forms, recordingProxy, servingNode } from './private-harness.js';

const NAME = 'SECRETBIGNAME-6d0f.bin';
const TWIN = 'SECRETTWIN-19ab.bin';
const NEEDLE = 'SECRETBIGCONTENT-3c7e';

function found(hay: Buffer): string[] {
  return [NAME, TWIN, NEEDLE].filter((n) => forms(n).some((f) => hay.includes(f)));
}

/** 3.5 MiB of varied bytes with the needle at every chunk boundary and beyond. */
function content(): Buffer {
  const b = Buffer.alloc(3.5 * 1024 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
  for (let at = 0; at + NEEDLE.length < b.length; at += 128 * 1024 - 7) b.write(NEEDLE, at);
  return b;
}

function withStream<T>(file: string, fn: (s: Stream) => T): T {
  const s = Stream.open(file, { readonly: true });
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

test("a chunk's seal is bound to its file and its place: libsodium and the browser's tweetnacl give the same bytes", async () => {
  const rk = await ReadKey.generate();
  const prefix = new Uint8Array(16).fill(3);
  const plain = new Uint8Array(1000).fill(42);
  const a = await rk.fileCipher(prefix);
  const sealed = new Uint8Array(plain.length + 16);
  a.sealChunk(5, plain, sealed);
  assert.deepEqual(a.openChunk(5, sealed), plain);
  assert.throws(() => a.openChunk(4, sealed), /chunk 4 does not open/, 'moved to another place');
  const other = await rk.fileCipher(new Uint8Array(16).fill(4));
  assert.throws(() => other.openChunk(5, sealed), /does not open/, "another file's chunk");
  const flipped = Uint8Array.from(sealed);
  flipped[100] ^= 1;
  assert.throws(() => a.openChunk(5, flipped), /does not open/, 'altered');
  setPrivateBackend('browser');
  try {
    const b = await (await ReadKey.from(rk.bytes)).fileCipher(prefix);
    const again = new Uint8Array(plain.length + 16);
    b.sealChunk(5, plain, again);
    assert.deepEqual(again, sealed, 'the same bytes in the browser');
    assert.deepEqual(b.openChunk(5, sealed), plain);
  } finally {
    setPrivateBackend('sodium');
  }
});

test('a big private file: added, read by byte range, carried blind, cloned with the read link, tampering caught', async () => {
  const dir = tmpDir('drayer-private-big-');
  const dataA = path.join(dir, 'a');
  const dataB = path.join(dir, 'b');
  fs.mkdirSync(dataA);
  fs.mkdirSync(dataB);
  const file = path.join(dataA, 'secret.stream');
  const [pk, link] = (await ok(['create', file, '--private'], dir)).out.trim().split('\n') as [string, string];
  const data = content();
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, NAME), data);
  fs.writeFileSync(path.join(src, TWIN), data);
  assert.match((await ok(['add', file, path.join(src, NAME), path.join(src, TWIN)], dir)).out, /2 added/);

  // each file 4 sealed chunks; the same content in two files shares no chunk (a fresh prefix per file)
  const lists = withStream(file, (s) => sealedChunkLists(s));
  assert.equal(lists.length, 2);
  assert.deepEqual(
    lists.map((h) => h.chunks!.length),
    [4, 4],
  );
  const hexes = lists.flatMap((h) => h.chunks!.map((c) => Buffer.from(c).toString('hex')));
  assert.equal(new Set(hexes).size, 8, 'identical plaintext leaks no equality');
  assert.equal(
    withStream(file, (s) => chunkCount(s)),
    8,
  );
  assert.deepEqual(found(fileBytes(file)), [], "the writer's file holds ciphertext only");

  // the writer reads it whole and by any byte range
  assert.ok((await ok(['cat', file, NAME], dir)).stdout.equals(data));
  const cs = 1024 * 1024 - 16;
  for (const [a, b] of [
    [0, 0],
    [cs - 3, cs + 2],
    [2 * cs + 5, 3 * cs + 100],
    [data.length - 10, data.length + 50],
  ] as const) {
    const got = (await ok(['cat', file, NAME, '--range', `${a}-${b}`], dir)).stdout;
    assert.ok(got.equals(data.subarray(a, b + 1)), `range ${a}-${b}`);
  }
  assert.ok((await ok(['cat', file, NAME, '--range', '-100'], dir)).stdout.equals(data.subarray(data.length - 100)));
  await fails(['cat', file, NAME, '--range', '9-3'], dir, /not a byte range/);
  // an unchanged re-add stores nothing new and leaves no chunk behind
  assert.match((await ok(['add', file, path.join(src, NAME)], dir)).out, /0 added, 0 updated, 0 removed, 1 unchanged/);
  assert.equal(
    withStream(file, (s) => chunkCount(s)),
    8,
  );
  // touched: sealed again under a fresh prefix, and the old version's chunks collected
  fs.utimesSync(path.join(src, NAME), new Date(), new Date(Date.now() - 5000));
  assert.match((await ok(['add', file, path.join(src, NAME)], dir)).out, /0 added, 1 updated/);
  assert.equal(
    withStream(file, (s) => chunkCount(s)),
    8,
  );
  assert.equal(new Set(withStream(file, (s) => sealedChunkLists(s)).flatMap((h) => h.chunks!.map((c) => Buffer.from(c).toString('hex')))).size, 8);
  assert.ok((await ok(['cat', file, NAME], dir)).stdout.equals(data));

  const a = await servingNode(dataA, pk);
  const proxyA = await recordingProxy(a.url);
  let b: Awaited<ReturnType<typeof servingNode>> | undefined;
  let proxyB: Awaited<ReturnType<typeof recordingProxy>> | undefined;
  try {
    // a blind mirror clones by the key alone: it carries every sealed chunk, verified
    const blind = path.join(dataB, 'blind.stream');
    await ok(['clone', proxyA.url, pk, blind], dir);
    assert.equal(
      withStream(blind, (s) => chunkCount(s)),
      8,
      'the blind mirror holds every chunk',
    );
    await fails(['cat', blind, NAME], dir, /sealed: no read key/);
    assert.deepEqual(found(fileBytes(blind)), [], "the blind mirror's file holds no plaintext");
    // a reader clones through the blind mirror's node, which serves the sealed chunks
    b = await servingNode(dataB, pk);
    proxyB = await recordingProxy(b.url);
    const reader = path.join(dir, 'reader.stream');
    await ok(['clone', proxyB.url, link, reader], dir);
    assert.ok((await ok(['cat', reader, TWIN], dir)).stdout.equals(data));
    assert.ok(
      proxyB.answers.some((x) => x.length > 1024 * 1024),
      'the blind node served chunks',
    );
    for (const [i, ans] of [...proxyA.answers, ...proxyB.answers].entries()) assert.deepEqual(found(ans), [], `HTTP answer ${i} holds plaintext`);

    // a range opens only its chunks: with chunk 0 gone, a range in chunk 2 still reads
    const chunksOf = (f: string) =>
      withStream(f, (s) => {
        const v = s.db.prepare('SELECT hash, data FROM chunks').all() as { hash: Buffer; data: Buffer }[];
        return new Map(v.map((r) => [r.hash.toString('hex'), r.data]));
      });
    const held = chunksOf(reader);
    assert.equal(held.size, 8);
    // find NAME's chunk list: the one whose first chunk opens the file (by trying each file's list)
    const twinLists = withStream(reader, (s) => sealedChunkLists(s)).map((h) => h.chunks!.map((c) => Buffer.from(c)));
    const db = new Database(reader);
    try {
      let which = -1;
      for (const [i, l] of twinLists.entries()) {
        db.prepare('DELETE FROM chunks WHERE hash = ?').run(l[0]);
        const r = await runDrayer(['cat', reader, NAME, '--range', `${2 * cs}-${2 * cs + 99}`], { cwd: dir });
        const first = await runDrayer(['cat', reader, NAME, '--range', '0-9'], { cwd: dir });
        db.prepare('INSERT INTO chunks (hash, data) VALUES (?, ?)').run(l[0], held.get(l[0]!.toString('hex')));
        if (first.code !== 0) {
          assert.equal(r.code, 0, `a range in chunk 2 reads without chunk 0: ${r.err}`);
          assert.ok(r.stdout.equals(data.subarray(2 * cs, 2 * cs + 100)));
          assert.match(first.err, /Chunk 0 of file .* is not here yet/);
          which = i;
        }
      }
      assert.ok(which >= 0, "one file's chunk 0 was the one its range needed");
      const l = twinLists[which]!;
      // altered: one bit of chunk 1
      const altered = Buffer.from(held.get(l[1]!.toString('hex'))!);
      altered[1000] ^= 1;
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(altered, l[1]);
      await fails(['cat', reader, NAME, '--range', `${cs}-${cs + 9}`], dir, /cannot be read: chunk 1 does not open with the read key/);
      // moved: chunk 2's sealed bytes in chunk 1's place
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(held.get(l[2]!.toString('hex')), l[1]);
      await fails(['cat', reader, NAME, '--range', `${cs}-${cs + 9}`], dir, /chunk 1 does not open/);
      // swapped: the twin's chunk 1 in this file's chunk 1 (same plaintext, another file)
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(held.get(twinLists[1 - which]![1]!.toString('hex')), l[1]);
      await fails(['cat', reader, NAME], dir, /chunk 1 does not open/);
      assert.ok((await ok(['cat', reader, NAME, '--range', `0-${cs - 1}`], dir)).stdout.equals(data.subarray(0, cs)), 'the chunks before it still read');
    } finally {
      db.close();
    }
    // a blind mirror refuses an altered chunk from its source (the hash of the ciphertext is signed)
    const blind2 = path.join(dir, 'blind2.stream');
    const tamper = await tamperingProxy(proxyA.url);
    const bad = await runDrayer(['clone', tamper.url, pk, blind2], { cwd: dir });
    await tamper.close();
    assert.notEqual(bad.code, 0, 'a clone from a source that alters a chunk fails');
    assert.match(bad.err, /chunk|does not match/i);
  } finally {
    await proxyA.close();
    await proxyB?.close();
    await a.node.stop();
    await b?.node.stop();
  }

  // deleting the big file takes its chunks with it
  await ok(['rm', file, 'file', NAME], dir);
  assert.equal(
    withStream(file, (s) => chunkCount(s)),
    4,
  );
  await fails(['cat', file, NAME], dir, /no file/);
  assert.ok((await ok(['cat', file, TWIN], dir)).stdout.equals(data));
});

/** A proxy that flips a byte in every chunk answer it passes on. */
async function tamperingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
      const parts: Buffer[] = [];
      r.on('data', (d: Buffer) => parts.push(d));
      r.on('end', () => {
        const body = Buffer.concat(parts);
        if (/\/chunk\//.test(req.url ?? '') && body.length > 100) body[50] ^= 1;
        const headers = { ...r.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
        res.writeHead(r.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
