// The fast chunk path (app/net/chunk-fetch.ts) against raw TCP peers that control every byte:
// odd but honest answers (extra bytes, Connection: close, HTTP/1.0, a kept-alive connection
// dropped under a request) still bring every chunk, verified; hostile ones (a stall mid-body,
// a head that never ends, wrong bytes, a body cut off) fail bounded in time and store nothing
// wrong; a transfer broken off mid-chunk resumes and the file reads back identical.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from '../app/core/crypto.js';
import { addBytes, chunkCount, getChunk, missingChunks, readFileBytes } from '../app/store/files.js';
import type { Stream } from '../app/store/store.js';
import { fetchMissingChunks, pull } from '../app/net/sync.js';
import { plainHead } from '../app/net/chunk-fetch.js';
import { unhex } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-chunk-fetch-');
const MiB = 1024 * 1024;

type Answer = (sock: net.Socket, body: Buffer, req: { n: number; onConn: number }) => void;

/** A raw HTTP peer for `w`'s chunks: each GET is answered by `answer` (n: request number overall, onConn: on its connection). */
async function rawPeer(w: Stream, answer: Answer): Promise<{ url: string; requests: () => number; connections: () => number }> {
  let n = 0;
  let conns = 0;
  const srv = net.createServer((sock) => {
    conns++;
    let onConn = 0;
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const m = /^GET \S*\/chunk\/([0-9a-f]{64}) HTTP/.exec(head);
        const body = m ? getChunk(w, unhex(m[1]!)) : undefined;
        if (!body) {
          sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
          continue;
        }
        answer(sock, body, { n: ++n, onConn: ++onConn });
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  after(() => srv.close());
  const port = (srv.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests: () => n, connections: () => conns };
}

const ok = (len: number, extra = '') => `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${len}\r\n${extra}\r\n`;

/** A writer with a file of `chunks` MiB (and `tail` bytes more), and a follower holding its records but no chunk. */
async function scene(name: string, chunks: number, tail = 123): Promise<{ w: Stream; f: Stream; data: Uint8Array }> {
  const w = bench.writer(name);
  const data = randomBytes(chunks * MiB + tail);
  await addBytes(w, 'big.bin', data);
  const f = bench.follower(w);
  await pull(f, (await bench.lan()).url, { fetchChunks: false });
  assert.equal(chunkCount(f), 0);
  return { w, f, data };
}

test('the plain case is read from the head alone; anything else is left to the general client', () => {
  assert.deepEqual(plainHead('HTTP/1.1 200 OK\r\nContent-Length: 10', 100), { length: 10, close: false });
  assert.deepEqual(plainHead('HTTP/1.1 200 OK\r\ncontent-length: 10\r\nConnection: close', 100), { length: 10, close: true });
  assert.deepEqual(plainHead('HTTP/1.0 200 OK\r\nContent-Length: 0', 100), { length: 0, close: true });
  for (const h of [
    'HTTP/1.1 200 OK', // no length
    'HTTP/1.1 200 OK\r\nContent-Length: 101', // over the limit
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 10', // twice
    'HTTP/1.1 200 OK\r\nContent-Length: 1e3',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked',
    'HTTP/1.1 206 Partial Content\r\nContent-Length: 10',
    'HTTP/1.1 429 Too Many Requests\r\nContent-Length: 10',
    'HTTP/1.1 200 OK\r\nbroken header line\r\nContent-Length: 10',
    'HTTP/2 200\r\nContent-Length: 10',
  ])
    assert.equal(plainHead(h, 100), undefined, h);
});

test('odd but honest peers (extra bytes, Connection: close, HTTP/1.0, a kept-alive connection dropped under a request) bring every chunk, verified', async () => {
  const { w, f, data } = await scene('odd', 5);
  const answers: [string, Answer][] = [
    ['bytes after the body', (s, b) => s.write(Buffer.concat([Buffer.from(ok(b.length)), b, Buffer.from('GARBAGE\r\n\r\n')]))],
    ['Connection: close', (s, b) => s.end(Buffer.concat([Buffer.from(ok(b.length, 'Connection: close\r\n')), b]))],
    ['HTTP/1.0', (s, b) => s.end(Buffer.concat([Buffer.from(ok(b.length).replace('HTTP/1.1', 'HTTP/1.0')), b]))],
    // the second request on each connection finds it closed, with no byte of answer: asked again on a new one
    ['dropped', (s, b, r) => (r.onConn > 1 ? s.destroy() : s.write(Buffer.concat([Buffer.from(ok(b.length)), b])))],
    // head and body in many small writes
    [
      'dribbled head',
      (s, b) => {
        const all = Buffer.concat([Buffer.from(ok(b.length)), b]);
        for (let i = 0; i < 200; i += 7) s.write(all.subarray(i, Math.min(i + 7, 200)));
        s.write(all.subarray(200));
      },
    ],
  ];
  for (const [name, answer] of answers) {
    f.db.prepare('DELETE FROM chunks').run();
    const peer = await rawPeer(w, answer);
    const stored = await fetchMissingChunks(f, peer.url, { timeoutMs: 3000 });
    assert.equal(stored, chunkCount(w), name);
    assert.equal(missingChunks(f, 'big.bin').length, 0, name);
    assert.ok(Buffer.from(data).equals(await readFileBytes(f, 'big.bin')), `${name}: the file reads back identical`);
    if (name === 'dropped') assert.ok(peer.requests() > chunkCount(w), 'the dropped requests were asked again');
  }
});

test('hostile chunk answers on the fast path (a stall mid-body, a head that never ends, wrong bytes, a body cut off) fail bounded and store nothing wrong', async () => {
  const { w, f } = await scene('hostile-fast', 2, 0);
  const cases: [string, Answer, RegExp][] = [
    [
      'stall mid-body',
      (s, b) => s.write(Buffer.concat([Buffer.from(ok(b.length)), b.subarray(0, 1000)])),
      /stopped sending: nothing more came within .* after 1000 bytes/,
    ],
    [
      'endless head',
      (s) => {
        s.write('HTTP/1.1 200 OK\r\n');
        const pump = () => {
          while (!s.destroyed && s.write(`X-Filler: ${'a'.repeat(1000)}\r\n`));
          if (!s.destroyed) s.once('drain', pump);
        };
        pump();
      },
      /./,
    ],
    ['wrong bytes', (s, b) => s.write(Buffer.concat([Buffer.from(ok(b.length)), Buffer.alloc(b.length, 7)])), /does not match its hash/],
    ['cut off', (s, b) => s.end(Buffer.concat([Buffer.from(ok(b.length)), b.subarray(0, 5000)])), /broke off its answer after 5000 bytes/],
  ];
  for (const [name, answer, want] of cases) {
    const peer = await rawPeer(w, answer);
    const t0 = Date.now();
    await assert.rejects(fetchMissingChunks(f, peer.url, { timeoutMs: 1000 }), (e: Error) => want.test(e.message), name);
    assert.ok(Date.now() - t0 < 8000, `${name}: bounded in time (${Date.now() - t0} ms)`);
    assert.equal(chunkCount(f), 0, `${name}: nothing stored`);
  }
  assert.equal(await fetchMissingChunks(f, (await bench.lan()).url), chunkCount(w), 'an honest peer still completes the file');
});

test('a transfer broken off in the middle of a chunk keeps what was verified, and the next fetch brings only the rest', async () => {
  const { w, f, data } = await scene('resume', 6);
  const total = chunkCount(w);
  let cut = true;
  const peer = await rawPeer(w, (s, b, r) => {
    // the fourth request overall is cut off halfway through its body, once
    if (cut && r.n === 4) {
      cut = false;
      s.end(Buffer.concat([Buffer.from(ok(b.length)), b.subarray(0, b.length >> 1)]));
      return;
    }
    s.write(Buffer.concat([Buffer.from(ok(b.length)), b]));
  });
  await assert.rejects(fetchMissingChunks(f, peer.url), /broke off its answer after \d+ bytes/);
  const kept = chunkCount(f);
  assert.ok(kept < total, `${kept} of ${total} chunks kept`);
  const before = peer.requests();
  assert.equal(await fetchMissingChunks(f, peer.url), total - kept, 'only the missing chunks are fetched');
  assert.equal(peer.requests() - before, total - kept);
  assert.ok(Buffer.from(data).equals(await readFileBytes(f, 'big.bin')));
});

test('small answers one after another on a kept-alive connection, each read whole in one socket read, all arrive (the next read lands where its head is parsed)', async () => {
  // Node asks for the buffer of a socket's next read right after the read before: after a small
  // answer read whole, that buffer was the head buffer past the old head, while the next answer
  // was parsed from its start (a stale head: the chunk waited out the peer's keep-alive, then
  // "broke off": private-files-node under load). And the chunk writer counted small chunks by
  // their bytes, not the 1 MiB buffers they came in: eight tails in a row never committed, and
  // the fetch waited for buffers forever.
  const w = bench.writer('small-tails');
  const files: [string, Uint8Array][] = [];
  for (const [i, tail] of [100, 12_345, 107, 5000, 77, 9000, 1, 300].entries()) {
    const data = randomBytes(MiB + tail);
    files.push([`f${i}.bin`, data]);
    await addBytes(w, `f${i}.bin`, data);
  }
  const f = bench.follower(w);
  const url = (await bench.lan()).url;
  await pull(f, url, { fetchChunks: false });
  // small answers only: the big chunks are here already, so each connection asks tail after tail
  for (const [p] of files)
    for (const h of missingChunks(f, p).slice(0, -1)) f.db.prepare('INSERT INTO chunks (hash, data) VALUES (?, ?)').run(h, getChunk(w, h));
  const started = Date.now();
  assert.equal(await fetchMissingChunks(f, url, { timeoutMs: 3000 }), files.length);
  assert.ok(Date.now() - started < 2000, `the tails came at once (${Date.now() - started} ms), not after a peer's timeout`);
  for (const [p, data] of files) assert.ok(Buffer.from(data).equals(await readFileBytes(f, p)), `${p} reads back identical`);
});
