// Clones under load (issue 14.2): a GET that got no byte of answer because its connection broke
// (a kept-alive socket the server closes as it is reused, a connection refused by a busy server)
// is asked again on a new connection, a bounded number of times; a pull that breaks off midway
// goes on from its cursor while it makes progress (sync.test.ts: "a clone interrupted...").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { type Stream } from '../app/store/store.js';
import { pull, RESET_RETRIES } from '../app/net/sync.js';
import { hex, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-retry-');

function writer(records: number): Stream {
  const s = bench.writer('retry');
  s.batch((b) => {
    for (let i = 0; i < records; i++) b.put('note', `n${i}`, utf8(`value ${i} `.repeat(10)));
  });
  return s;
}

const follower = (of: Stream): Stream => bench.follower(of);

const live = (s: Stream) => [...s.iterate()].map((r) => `${r.id}:${r.mod}:${hex(r.sig)}:${r.val ? hex(r.val) : '-'}`).sort();

async function lan(): Promise<number> {
  return (await bench.lan()).port;
}

/**
 * A TCP front for the LAN server: `drop(i)` says whether connection i (from 0) is closed as soon
 * as its request arrives, without a byte of answer; the others are passed through.
 */
async function front(drop: (i: number) => boolean): Promise<{ url: string; connections: () => number }> {
  const port = await lan();
  let count = 0;
  const srv = net.createServer((c) => {
    const i = count++;
    c.on('error', () => {});
    if (drop(i)) {
      c.once('data', () => c.resetAndDestroy());
      return;
    }
    const up = net.connect(port, '127.0.0.1');
    up.on('error', () => c.destroy());
    c.pipe(up).pipe(c);
    c.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  bench.onClose(() => new Promise<void>((r) => srv.close(() => r())));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, connections: () => count };
}

test('connections closed before any answer are asked again on a new connection, and the clone completes intact', async () => {
  const w = writer(600);
  const f = follower(w);
  // The first three connections are cut as their request arrives (a server shedding load).
  const fr = await front((i) => i < 3);
  const r = await pull(f, fr.url, { pageLimit: 100 });
  assert.equal(r.records, w.count());
  assert.deepEqual(live(f), live(w));
  assert.ok(f.verify().intact);
  assert.ok(fr.connections() > 3);
});

test('a server that closes each kept-alive connection as its next request arrives (the keep-alive race): every page is asked again on a new connection', async () => {
  const w = writer(800);
  const f = follower(w);
  const port = await lan();
  let resets = 0;
  // Each connection answers one request and keeps the socket open; a second request on it is met
  // by a closed connection, as when a server's keep-alive timeout fires as the client reuses it.
  const front = await bench.listen((req, res) => {
    const sock = req.socket as net.Socket & { answered?: boolean };
    if (sock.answered) {
      resets++;
      sock.resetAndDestroy();
      return;
    }
    sock.answered = true;
    http.get({ host: '127.0.0.1', port, path: req.url, agent: false }, (up) => {
      const { connection: _c, 'keep-alive': _k, ...headers } = up.headers;
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
  });
  front.server.keepAliveTimeout = 60_000;
  const r = await pull(f, front.url, { pageLimit: 100 });
  assert.equal(r.records, w.count());
  assert.deepEqual(live(f), live(w));
  assert.ok(f.verify().intact);
  assert.ok(resets >= 1, 'the client reused a kept-alive connection at least once');
});

test('a server that closes every connection without answering: the pull stops after a bounded number of tries, saying what happened', async () => {
  const w = writer(10);
  const f = follower(w);
  const fr = await front(() => true);
  const t0 = Date.now();
  await assert.rejects(pull(f, fr.url), (e: Error) => e.message.includes(fr.url) && /closed the connection without answering/.test(e.message));
  assert.equal(fr.connections(), RESET_RETRIES.tries + 1);
  assert.ok(Date.now() - t0 < 15_000, `gave up after ${Date.now() - t0} ms`);
  assert.equal(f.count(), 0);
});
