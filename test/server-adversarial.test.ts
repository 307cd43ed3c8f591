// The LAN server against hostile or broken clients: path traversal in every spelling, oversized
// URLs, unknown streams, writes, malformed numbers, slowloris, floods, and internal failures that
// must never show a stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from '../app/core/crypto.js';
import { addBytes } from '../app/store/files.js';
import { LanServer, type ServerOptions } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import { hex, tmpDir, utf8 } from './helpers.js';

const dir = tmpDir('drayer-server-adv-');
const streams = new Map<string, Stream>();
const servers: LanServer[] = [];
/** Every body any test here received: none may hold a stack trace. */
const bodies: string[] = [];

async function startServer(extra: Partial<ServerOptions> = {}): Promise<{ base: string; srv: LanServer }> {
  const srv = new LanServer({
    resolve: (pk) => streams.get(hex(pk)),
    shared: () => [],
    ...extra,
  });
  servers.push(srv);
  const { port } = await srv.listen();
  return { base: `http://127.0.0.1:${port}`, srv };
}

function makeStream(name: string): Stream {
  const s = Stream.create(path.join(dir, `${name}.stream`), { name });
  streams.set(hex(s.publicKey), s);
  return s;
}

const urlKey = (s: Stream) => Buffer.from(s.publicKey).toString('base64url');

/** A request sent byte for byte as given (no URL normalisation, unlike fetch). */
function raw(
  base: string,
  p: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString('latin1');
        bodies.push(body);
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Send raw bytes on a socket and collect whatever comes back until the server closes it. */
function rawSocket(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    const parts: Buffer[] = [];
    sock.on('data', (d) => parts.push(d));
    sock.on('close', () => resolve(Buffer.concat(parts).toString('latin1')));
    sock.on('error', reject);
    sock.setTimeout(5000, () => sock.destroy());
  });
}

let S: Stream;
let T: Stream;
let base: string;
let port: number;
const SECRET = 'TOP-SECRET-OTHER-STREAM';

before(async () => {
  S = makeStream('site');
  await addBytes(S, 'index.html', utf8('<p>site</p>'));
  await addBytes(S, 'a/b.txt', utf8('inner'));
  T = makeStream('other');
  await addBytes(T, 'secret.txt', utf8(SECRET));
  // A file outside every stream, next to the stream files.
  fs.writeFileSync(path.join(dir, 'passwd'), SECRET);
  const x = await startServer();
  base = x.base;
  port = x.srv.port;
});

after(async () => {
  for (const s of servers) await s.close();
  for (const s of streams.values()) s.close();
  for (const b of bodies) assert.doesNotMatch(b, /\n\s+at /, 'a response body holds a stack trace');
});

test('traversal attempts never leave the stream and get 400 or 404', async () => {
  const k = urlKey(S);
  const tk = urlKey(T);
  const attempts = [
    `/${k}/webAccess/../${tk}/webAccess/secret.txt`,
    `/${k}/webAccess/../../${tk}/webAccess/secret.txt`,
    `/${k}/webAccess/%2e%2e/%2e%2e/${tk}/webAccess/secret.txt`,
    `/${k}/webAccess/%2E%2E/passwd`,
    `/${k}/webAccess/..%2f..%2fpasswd`,
    `/${k}/webAccess/a/..%2F..%2F..%2Fpasswd`,
    `/${k}/webAccess/a/%2e/b.txt`,
    `/${k}/webAccess/./index.html`,
    `/${k}/webAccess/index.html%00.txt`,
    `/${k}/webAccess/a%00/b.txt`,
    `/${k}/webAccess/a\\b.txt`,
    `/${k}/webAccess/..\\..\\passwd`,
    `/${k}/webAccess/%5c..%5cpasswd`,
    `/${k}/webAccess/%252e%252e/passwd`,
    `/${k}/webAccess//etc/passwd`,
    `/${k}/webAccess/%2fetc%2fpasswd`,
    `/${k}/webAccess/${encodeURIComponent(path.join(dir, 'passwd'))}`,
    `/${k}/webAccess/%ZZ`,
    `/${k}/webAccess/%C0%AE%C0%AE/passwd`,
    `/${k}/../${tk}/webAccess/secret.txt`,
    `/../../etc/passwd`,
    `/${k}/webAccess/a/b.txt/..`,
  ];
  for (const p of attempts) {
    const r = await raw(base, p);
    assert.ok(r.status === 400 || r.status === 404, `${p} → ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${p} leaked`);
    assert.ok(!r.body.includes('site</p>') && !r.body.includes('inner'), `${p} served a file`);
    assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
  }
  // The legitimate paths still work.
  assert.equal((await raw(base, `/${k}/webAccess/a/b.txt`)).body, 'inner');
  assert.equal((await raw(base, `/${tk}/webAccess/secret.txt`)).body, SECRET);
});

test('an oversized URL gets 414, and huge headers are refused without harm', async () => {
  const r = await raw(base, `/${urlKey(S)}/changes?since=0&pad=${'x'.repeat(3000)}`);
  assert.equal(r.status, 414);
  const huge = await rawSocket(port, `GET /${'y'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 4(14|31)/);
  // The server still answers.
  assert.equal((await raw(base, `/${urlKey(S)}/tips`)).status, 200);
});

test('unknown streams and unknown addresses are 404', async () => {
  const stranger = Buffer.from(randomBytes(32)).toString('base64url');
  for (const p of [
    `/${stranger}/changes`,
    `/${stranger}/`,
    `/${stranger}/webAccess/index.html`,
    '/not-a-key/changes',
    '/favicon.ico',
    `/${urlKey(S)}/nope`,
    `/${urlKey(S)}/constructor`,
    `/${urlKey(S)}/__proto__`,
    `/${urlKey(S)}/changes/extra`,
  ]) {
    const r = await raw(base, p);
    assert.equal(r.status, 404, p);
  }
});

test('anything but GET and HEAD is 405, and request bodies are not read', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await raw(base, `/${urlKey(S)}/changes`, { method, body: method === 'POST' ? 'x'.repeat(100_000) : undefined });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.equal(r.headers.connection, 'close');
  }
  const head = await raw(base, `/${urlKey(S)}/changes`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('malformed numbers are 400 with a plain sentence', async () => {
  const k = urlKey(S);
  const bad = [
    `/${k}/changes?since=abc`,
    `/${k}/changes?since=-1`,
    `/${k}/changes?since=1e3`,
    `/${k}/changes?since=`,
    `/${k}/changes?since=99999999999999999999`,
    `/${k}/changes?limit=ten`,
    `/${k}/changes?limit=1.5`,
    `/${k}/changes?minId=0x10`,
    `/${k}/changes?minMod=%20`,
    `/${k}/changes?meta=yes`,
    `/${k}/record/abc`,
    `/${k}/record/-1`,
    `/${k}/value/1.0`,
    `/${k}/chunk/zz`,
    `/${k}/chunk/${'a'.repeat(63)}`,
    `/${k}/newRecords/xyz`,
    `/${k}/newRecords/1e9`,
    `/${k}/newestRecordsJSON/post?after=x`,
    `/${k}/listRecordsJSON/post?before=1.5`,
    `/${urlKey(T)}/?page=-3`,
    `/${urlKey(T)}/?page=0`,
    `/${urlKey(T)}/?page=1000000`,
  ];
  for (const p of bad) {
    const r = await raw(base, p);
    assert.equal(r.status, 400, `${p} → ${r.status} ${r.body}`);
    assert.match(r.headers['content-type']!, /^text\/plain/);
    assert.match(r.body, /^[A-Z].*\.\n$/s);
  }
  // Within bounds but large is fine: the limit is clamped, not refused.
  assert.equal((await raw(base, `/${k}/changes?limit=1000000`)).status, 200);
});

test('a slowloris client is cut off by the headers timeout', async () => {
  const { srv } = await startServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 1000 } });
  const started = Date.now();
  const result = await new Promise<{ closedAfter: number; got: string }>((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1');
    const parts: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    sock.on('connect', () => {
      sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      let n = 0;
      timer = setInterval(() => {
        if (!sock.destroyed && sock.writable) sock.write(`X-Slow-${n++}: a\r\n`);
      }, 100);
    });
    sock.on('data', (d) => parts.push(d));
    sock.on('error', () => undefined); // a reset is one way of being cut off
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfter: Date.now() - started, got: Buffer.concat(parts).toString('latin1') });
    });
    setTimeout(() => {
      clearInterval(timer);
      sock.destroy();
      reject(new Error('the slow client was never cut off'));
    }, 8000);
  });
  assert.ok(result.closedAfter < 4000, `cut off after ${result.closedAfter} ms`);
  if (result.got) assert.match(result.got, /^HTTP\/1\.1 408/);
});

test('too many requests in flight get 503 with Retry-After, one address never fills them alone, and the server recovers', async () => {
  const B = makeStream('bigfile');
  await addBytes(B, 'big.bin', new Uint8Array(32 * 1024 * 1024).fill(1));
  const { srv } = await startServer({ limits: { maxConcurrent: 2, maxConcurrentPerAddress: 1 } });
  // Clients ask for a big file and never read it: their answers stay in flight.
  const hog = (from: string) =>
    new Promise<net.Socket>((resolve) => {
      const sock = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: from }, () => {
        sock.write(`GET /${urlKey(B)}/webAccess/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
        sock.once('data', () => {
          sock.pause();
          resolve(sock);
        });
      });
      sock.on('error', () => undefined);
    });
  /** A GET from a given source address (all of 127/8 is loopback). */
  const from = (addr: string, p: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: srv.port, path: p, localAddress: addr, agent: false }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('latin1') }));
        })
        .on('error', reject);
    });
  const socks = [await hog('127.0.0.1')];
  assert.equal(srv.stats().active, 1);
  // The first address has its share: it gets 429, and the server is not full.
  const mine = await from('127.0.0.1', `/${urlKey(S)}/tips`);
  assert.equal(mine.status, 429);
  assert.equal(mine.headers['retry-after'], '1');
  socks.push(await hog('127.0.0.2'));
  assert.equal(srv.stats().active, 2);
  // Two addresses fill it: a third gets 503.
  const r = await from('127.0.0.3', `/${urlKey(S)}/tips`);
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '1');
  bodies.push(mine.body, r.body);
  assert.deepEqual([srv.stats().refused.addressBusy, srv.stats().refused.busy], [1, 1]);
  assert.equal(srv.stats().rejected, 2);
  for (const s of socks) s.destroy();
  for (let i = 0; i < 100 && srv.stats().active > 0; i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(srv.stats().active, 0);
  assert.equal((await from('127.0.0.1', `/${urlKey(S)}/tips`)).status, 200);
  assert.ok(srv.stats().requests >= 5);
});

test('an internal failure is a generic 500 with no stack trace; the detail goes to the log', async () => {
  const broken = Stream.create(path.join(dir, 'broken.stream'), { name: 'broken' });
  broken.close(); // every query on it now throws
  const logged: string[] = [];
  const { base: b } = await startServer({ resolve: () => broken, log: (m) => logged.push(m) });
  for (const p of ['changes', 'tips', 'record/1', 'webAccess/index.html', '', 'newRecords/0', 'listRecordsJSON/post']) {
    const r = await raw(b, `/${urlKey(broken)}/${p}`);
    assert.equal(r.status, 500, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /\bat\b.*\.js|Error|sqlite|broken\.stream/i);
    assert.match(r.body, /Something went wrong/);
  }
  assert.ok(logged.length >= 7);
  assert.match(logged[0]!, /failed/);
  // A logger that throws does not break the answer.
  const { base: b2 } = await startServer({
    resolve: () => broken,
    log: () => {
      throw new Error('log down');
    },
  });
  assert.equal((await raw(b2, `/${urlKey(broken)}/changes`)).status, 500);
});

test('close() cuts open connections and stops listening', async () => {
  const { base: b, srv } = await startServer();
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((res) => sock.once('connect', res));
  const closed = new Promise((res) => sock.once('close', res));
  sock.on('error', () => undefined);
  await srv.close();
  await closed;
  await assert.rejects(fetch(`${b}/`));
});
