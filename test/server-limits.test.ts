// What one client address may hold of the LAN server (issue 7): clients that ask for a big file
// and never read, hundreds of idle TCP connections, and stalled /changes readers of big values
// must not lock out or bloat the server; another address is still served, and quickly. On Linux
// all of 127/8 is loopback, so test clients bind 127.0.0.x source addresses to be "other" clients.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addBytes } from '../app/store/files.js';
import { decodeWire } from '../app/core/record.js';
import { addressKey, DEFAULT_LIMITS, LanServer, type ServerOptions } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import { tmpDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const BIG = 32 * MiB;
const dir = tmpDir('drayer-server-limits-');
const servers: LanServer[] = [];
const clients: net.Socket[] = [];
let S: Stream; // a small stream
let B: Stream; // one big file

const urlKey = (s: Stream) => Buffer.from(s.publicKey).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(extra: Partial<ServerOptions> = {}): Promise<{ srv: LanServer; port: number }> {
  const byKey = new Map([S, B].map((s) => [Buffer.from(s.publicKey).toString('hex'), s]));
  const srv = new LanServer({ resolve: (pk) => byKey.get(Buffer.from(pk).toString('hex')), shared: () => [], ...extra });
  servers.push(srv);
  const { port } = await srv.listen();
  return { srv, port };
}

/** A raw client from source address `from` that sends `request` (if any) and never reads. */
function hog(port: number, from: string, request?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      sock.off('error', reject);
      sock.on('error', () => undefined); // a reset is one way of being refused or cut off
      // A client that asked stops reading (and, paused, does not see the server close it either);
      // an idle one keeps listening, so it sees when the server closes it.
      if (request) {
        sock.write(request);
        sock.pause();
      }
      resolve(sock);
    });
    sock.once('error', reject);
    clients.push(sock);
  });
}

const getRequest = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

/** A well-behaved GET from source address `from`, timed from connect to the last byte. */
function get(port: number, p: string, from: string, headers: Record<string, string> = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, localAddress: from, agent: false, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${p} from ${from}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const open = (socks: net.Socket[]) => socks.filter((s) => !s.destroyed).length;

before(async () => {
  S = Stream.create(path.join(dir, 'small.stream'), { name: 'small' });
  S.put('note', 'hello', new TextEncoder().encode('hello'));
  B = Stream.create(path.join(dir, 'big.stream'), { name: 'big' });
  await addBytes(B, 'big.bin', new Uint8Array(BIG).fill(7));
});

after(async () => {
  for (const c of clients) c.destroy();
  for (const s of servers) await s.close();
  S.close();
  B.close();
});

test('64 clients of one address that ask for a big file and never read hold only their share; another address is served at once', async (t: TestContext) => {
  const { srv, port } = await startServer();
  const bigPath = `/${urlKey(B)}/webAccess/big.bin`;
  const hogs = await Promise.all(Array.from({ length: 64 }, () => hog(port, '127.0.0.1', getRequest(bigPath))));
  await until(() => srv.stats().requests >= 64, 'the server to see the 64 requests');
  await sleep(200);
  const share = DEFAULT_LIMITS.maxConcurrentPerAddress;
  // (b) another address is served: a small answer at once, and the whole big file.
  const tips = await get(port, `/${urlKey(S)}/tips`, '127.0.0.2');
  assert.equal(tips.status, 200, `another address got ${tips.status}: ${tips.body}`);
  const file = await get(port, bigPath, '127.0.0.2');
  assert.equal(file.status, 200);
  assert.equal(file.body.length, BIG);
  t.diagnostic(`while 64 non-readers hold the big file: /tips from another address in ${tips.ms.toFixed(1)} ms, the 32 MiB file in ${file.ms.toFixed(0)} ms`);
  // (a) the attacking address holds no more than its share, and gets 429 beyond it.
  assert.ok(srv.stats().active <= share, `${srv.stats().active} requests in flight, share ${share}`);
  const more = await get(port, bigPath, '127.0.0.1');
  assert.equal(more.status, 429);
  assert.equal(more.headers['retry-after'], '1');
  const { refused } = srv.stats();
  // Its share is of requests in flight, or of the bytes they hold (a file read ahead), whichever is first.
  assert.ok(refused.addressBusy + refused.addressMemory >= 64 - share, JSON.stringify(refused));
  assert.equal(srv.stats().refused.busy, 0, 'one address alone reached the global cap');
  // Once the non-readers are gone, the address is served again.
  for (const h of hogs) h.destroy();
  await until(() => srv.stats().active === 0, 'the non-readers to be released');
  assert.equal((await get(port, `/${urlKey(S)}/tips`, '127.0.0.1')).status, 200);
});

test('an answer that stops moving is cut after stallTimeoutMs; a slow reader that keeps reading is not', async (t: TestContext) => {
  const stallTimeoutMs = 1500;
  const { srv, port } = await startServer({ limits: { stallTimeoutMs } });
  const bigPath = `/${urlKey(B)}/webAccess/big.bin`;
  const started = Date.now();
  const stalled = await hog(port, '127.0.0.1', getRequest(bigPath));
  // The slow reader reads 2 MiB, then waits 0.3 s, over an 8 MiB range.
  const slow = new Promise<{ status: number; bytes: number; complete: boolean }>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: bigPath, localAddress: '127.0.0.3', agent: false, headers: { Range: `bytes=0-${8 * MiB - 1}` } },
      (res) => {
        let bytes = 0;
        let windowEnd = 2 * MiB;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
          if (bytes >= windowEnd) {
            windowEnd += 2 * MiB;
            res.pause();
            setTimeout(() => res.resume(), 300);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode!, bytes, complete: res.complete }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
  await until(() => srv.stats().closed?.stalled === 1, 'the stalled answer to be cut', 8000);
  const after = Date.now() - started;
  assert.ok(after >= stallTimeoutMs, `cut after ${after} ms, before the timeout`);
  t.diagnostic(`a stalled reader was cut ${after} ms after its request (stallTimeoutMs ${stallTimeoutMs})`);
  // Reading now, the client finds a short body, never a wrong one.
  const got = await new Promise<number>((resolve) => {
    let n = 0;
    stalled.on('data', (d: Buffer) => (n += d.length));
    stalled.on('close', () => resolve(n));
    stalled.resume();
  });
  assert.ok(got < BIG, `${got} bytes arrived after the cut`);
  const s = await slow;
  assert.deepEqual(s, { status: 206, bytes: 8 * MiB, complete: true });
  assert.equal(srv.stats().closed.stalled, 1);
  await until(() => srv.stats().active === 0, 'the stalled answer to be released');
});

test('512 idle connections from one address: it keeps its share of 32, another address is served', async (t: TestContext) => {
  const { srv, port } = await startServer();
  const idle = await Promise.all(Array.from({ length: 512 }, () => hog(port, '127.0.0.1')));
  await sleep(300);
  const tips = await get(port, `/${urlKey(S)}/tips`, '127.0.0.2');
  assert.equal(tips.status, 200);
  t.diagnostic(`with 512 idle connections from one address, another address got /tips in ${tips.ms.toFixed(1)} ms`);
  const share = DEFAULT_LIMITS.maxConnectionsPerAddress;
  await until(() => open(idle) <= share, `the idle connections beyond the ${share} of the address to be closed`);
  assert.ok(srv.stats().connections <= share + 1);
  // Beyond its share an address's newcomer takes the place of its own idlest connection, if any.
  const { refused, closed } = srv.stats();
  assert.ok(refused.addressConnections + closed.idle >= 512 - share, JSON.stringify({ refused, closed }));
  for (const s of idle) s.destroy();
});

test('512 idle connections from 16 addresses fill the server: a newcomer still gets in, an idle one makes room', async (t: TestContext) => {
  const { srv, port } = await startServer();
  const per = DEFAULT_LIMITS.maxConnectionsPerAddress;
  const addresses = Math.ceil(DEFAULT_LIMITS.maxConnections / per);
  const idle: net.Socket[] = [];
  for (let a = 1; a <= addresses; a++) idle.push(...(await Promise.all(Array.from({ length: per }, () => hog(port, `127.0.1.${a}`)))));
  await sleep(300);
  assert.equal(open(idle), idle.length, 'an idle connection was closed before the server was full');
  const tips = await get(port, `/${urlKey(S)}/tips`, '127.0.0.2');
  assert.equal(tips.status, 200);
  // Connections are scarce: the answer does not keep its connection open.
  assert.equal(tips.headers.connection, 'close');
  t.diagnostic(`with ${idle.length} idle connections from ${addresses} addresses, a newcomer got /tips in ${tips.ms.toFixed(1)} ms`);
  assert.ok(srv.stats().closed.idle >= 1);
  assert.ok(srv.stats().connections <= DEFAULT_LIMITS.maxConnections);
  for (const s of idle) s.destroy();
});

test('64 stalled /changes readers of big values from one address cost the server a bounded amount of memory', async (t: TestContext) => {
  const child = fork(path.join(here, 'fixtures', 'server-child.js'), [tmpDir('drayer-server-child-')], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: unknown[] = [];
  let wake: () => void = () => undefined;
  child.on('message', (m) => {
    messages.push(m);
    wake();
  });
  const next = async <T>(): Promise<T> => {
    while (messages.length === 0) await new Promise<void>((r) => (wake = r));
    return messages.shift() as T;
  };
  type Measure = { rss: number; stats: ReturnType<LanServer['stats']> };
  const measure = async () => {
    child.send('measure');
    return next<Measure>();
  };
  const socks: net.Socket[] = [];
  try {
    const { port, key } = await next<{ port: number; key: string }>();
    const changes = `/${key}/changes?since=0`;
    // A first reader warms every path up; then the baseline.
    const warm = await get(port, changes, '127.0.0.2');
    assert.equal(warm.status, 200);
    const base = await measure();
    socks.push(...(await Promise.all(Array.from({ length: 64 }, () => hog(port, '127.0.0.1', getRequest(changes))))));
    // Until the server has done with them (the counters stop changing): of those it took, it
    // answers some, refuses the rest, and has closed the connections over its share.
    let last = '';
    let same = 0;
    await until(async () => {
      await sleep(100);
      const now = JSON.stringify((await measure()).stats);
      same = now === last ? same + 1 : 0;
      last = now;
      return same >= 3;
    }, 'the server to settle');
    const attacked = await measure();
    const growth = attacked.rss - base.rss;
    t.diagnostic(
      `RSS ${(base.rss / MiB).toFixed(0)} MiB before, ${(attacked.rss / MiB).toFixed(0)} MiB with 64 stalled readers (+${(growth / MiB).toFixed(0)} MiB); answers held in memory: ${((attacked.stats.buffered ?? NaN) / MiB).toFixed(1)} MiB`,
    );
    assert.ok(growth < 256 * MiB, `RSS grew by ${(growth / MiB).toFixed(0)} MiB`);
    assert.ok(attacked.stats.buffered <= DEFAULT_LIMITS.maxBufferedBytesPerAddress, `${attacked.stats.buffered} bytes held for one address`);
    // Another address still gets a full page, at once.
    const good = await get(port, changes, '127.0.0.2');
    assert.equal(good.status, 200);
    const page = decodeWire(new Uint8Array(good.body)) as { records: unknown[] };
    assert.equal(page.records.length, 4);
    t.diagnostic(`another address got a 16 MiB page in ${good.ms.toFixed(0)} ms`);
  } finally {
    for (const s of socks) s.destroy();
    child.send('stop');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000).then(() => child.kill('SIGKILL'))]);
  }
});

test('a /changes page is cut to what its address may still hold, and the cut skips nothing', async () => {
  const V = Stream.create(path.join(dir, 'values.stream'), { name: 'values' });
  const keys = new Set<string>();
  for (let i = 0; i < 24; i++) {
    V.put('blob', `v${i}`, new Uint8Array(MiB).fill(i));
    keys.add(`v${i}`);
  }
  const perAddress = 10 * MiB;
  const srv = new LanServer({ resolve: () => V, shared: () => [], limits: { maxBufferedBytesPerAddress: perAddress, maxBufferedBytes: 40 * MiB } });
  servers.push(srv);
  const { port } = await srv.listen();
  try {
    const feed = `/${urlKey(V)}/changes`;
    // A reader that never reads holds a page of 8 MiB of values (and the stream's info record).
    const stalled = await hog(port, '127.0.0.1', getRequest(`${feed}?since=0&limit=9`));
    await until(() => srv.stats().buffered >= 8 * MiB, 'the stalled page to be held');
    const held = srv.stats().buffered;
    // The same address pages through the feed in what is left.
    const seen = new Set<string>();
    let since = 0;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 100);
      const r = await get(port, `${feed}?since=${since}`, '127.0.0.1');
      assert.equal(r.status, 200);
      assert.ok(r.body.length <= perAddress - held, `a ${r.body.length}-byte page with ${perAddress - held} bytes left`);
      const page = decodeWire(new Uint8Array(r.body)) as { seq: number; more: boolean; records: { key: string | Uint8Array }[] };
      for (const x of page.records) seen.add(Buffer.from(x.key).toString('utf8'));
      since = page.seq;
      if (!page.more) break;
    }
    assert.deepEqual([...seen].filter((k) => k.startsWith('v')).sort(), [...keys].sort());
    // Another address has its own share: a page of up to 10 MiB.
    const other = await get(port, `${feed}?since=0`, '127.0.0.2');
    assert.ok(other.body.length > perAddress - held && other.body.length <= perAddress, `a ${other.body.length}-byte page`);
    assert.ok(srv.stats().buffered <= 40 * MiB);
    stalled.destroy();
    await until(() => srv.stats().buffered === 0, 'the stalled page to be let go');
  } finally {
    V.close();
  }
});

test('stalled downloads from four addresses leave room: a well-behaved client still gets big answers and small ones (issue 14.7)', async (t: TestContext) => {
  // The stalled readers are not cut during the test: what they hold must not keep others out.
  const { srv, port } = await startServer({ limits: { stallTimeoutMs: 120_000 } });
  const bigPath = `/${urlKey(B)}/webAccess/big.bin`;
  const attackers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const hogs: net.Socket[] = [];
  for (const from of attackers) {
    hogs.push(...(await Promise.all(Array.from({ length: DEFAULT_LIMITS.maxConcurrentPerAddress }, () => hog(port, from, getRequest(bigPath))))));
  }
  await until(() => srv.stats().requests >= hogs.length, 'the server to see the stalled requests');
  await sleep(300);
  const held = srv.stats().buffered;
  t.diagnostic(
    `${hogs.length} stalled downloads from ${attackers.length} addresses: ${(held / MiB).toFixed(1)} MiB held in this process, ${srv.stats().active} answers in flight, refused ${JSON.stringify(srv.stats().refused)}`,
  );
  assert.ok(held <= DEFAULT_LIMITS.maxBufferedBytes, `${held} bytes held`);
  // A well-behaved client: big answers (the whole 32 MiB file, and a 1 MiB range) and small ones, several times.
  for (let round = 0; round < 3; round++) {
    const file = await get(port, bigPath, '127.0.0.6');
    assert.equal(file.status, 200, `round ${round}: ${file.status} ${file.body.subarray(0, 200)}`);
    assert.equal(file.body.length, BIG);
    const part = await get(port, bigPath, '127.0.0.6', { Range: `bytes=${MiB}-${2 * MiB - 1}` });
    assert.equal(part.status, 206);
    assert.equal(part.body.length, MiB);
    const tips = await get(port, `/${urlKey(S)}/tips`, '127.0.0.6');
    assert.equal(tips.status, 200);
  }
  assert.equal(srv.stats().refused.memory, 0, JSON.stringify(srv.stats().refused));
  for (const h of hogs) h.destroy();
  await until(() => srv.stats().active === 0 && srv.stats().buffered === 0, 'the stalled downloads to be let go');
});

test('addresses are counted per IPv4 address and per IPv6 /64', () => {
  assert.equal(addressKey('10.0.0.7'), '10.0.0.7');
  assert.equal(addressKey('::ffff:10.0.0.7'), '10.0.0.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  assert.equal(addressKey('fe80::1%eth0'), addressKey('fe80::2'));
  assert.equal(addressKey(undefined), addressKey(undefined));
});
