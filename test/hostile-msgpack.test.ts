// Issue 7, "msgpack without bounds": tiny inputs whose msgpack headers declare huge lengths, met
// where a node meets outside bytes. Each side that decodes runs as a child process with a small
// heap (--max-old-space-size), so a decoder that allocates what a header declares fails the test
// (the child dies) instead of taking the test runner down:
//   * the 320-byte discovery packet and a flood of 25-byte ones, to real Discovery instances
//     (multicast, so in a private network namespace)
//   * a sync peer answering ~300 bytes to /changes, /newRecords and /tips: clone, sync and a
//     node's own pulls fail with a clear error
//   * a stream author signing bombs as drayer/info, drayer/primaryServers and a file header:
//     verify reports the first two (any bytes may be put as a file; reading one says it is
//     malformed); info, clone, sync, cat and a follower node (at every start) carry on
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '@msgpack/msgpack';
import { formatKey, keyName, parseKey } from '../app/core/keys.js';
import { LanServer } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import { VerifierPool, verifyStreamParallel } from '../app/store/verifier.js';
import { arrayBomb } from './bombs.js';
import { hex, tmpDir, utf8 } from './helpers.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'hostile-msgpack-child.js');
const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));
/** Heap for every child: a few times what a node needs here, far below what one bomb asks for. */
const HEAP = '--max-old-space-size=192';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** A child node process (async: the test process keeps serving HTTP meanwhile). */
function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [HEAP, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, DRAYER_DEBUG: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

const drayer = (cwd: string, args: string[]) => run([BIN, ...args], { cwd });
const show = (r: Run) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.out}\nstderr: ${r.err.slice(0, 2000)}`;

function noStackTrace(r: Run): void {
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+/, `stack trace on stderr: ${show(r)}`);
  assert.doesNotMatch(r.err, /heap out of memory|FATAL ERROR/i, show(r));
}

function lastJson(r: Run): Record<string, any> {
  const line = r.out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  assert.ok(line, `the child printed no result: ${show(r)}`);
  return JSON.parse(line).result;
}

async function hostile(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const srv = http.createServer((req, res) => {
    res.on('error', () => {});
    handler(req, res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

function answer(res: http.ServerResponse, body: Uint8Array): void {
  res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': body.length });
  res.end(body);
}

// ---------- discovery ----------

test(
  'the 320-byte packet and a 20 000-packet flood of 25-byte ones: real discovery nodes refuse them in bounded memory and CPU',
  { timeout: 120_000 },
  async (t) => {
    if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
    const r = await runInNetns(process.execPath, [HEAP, '--expose-gc', '--enable-source-maps', child], {
      env: { ...process.env, DRAYER_HOSTILE_CHILD: 'udp' },
      timeoutMs: 100_000,
    });
    const text = `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr.slice(0, 2000)}`;
    assert.equal(r.code, 0, text);
    const o = lastJson({ code: r.code, signal: r.signal, out: r.stdout, err: r.stderr });
    const s = JSON.stringify(o, null, 1);
    t.diagnostic(`udp: ${JSON.stringify(o)}`);
    assert.ok(o.introducedMs !== null, s);
    assert.equal(o.bombBytes, 320);
    assert.equal(o.floodPacketBytes, 25);
    // every bomb reached both nodes, was refused and counted; nothing stayed behind
    assert.ok(o.bomb.invalid[0] >= 4 && o.bomb.invalid[1] >= 4, s);
    assert.ok(o.bomb.heapGrowthMB < 16, s);
    // Most of the flood reached F's decoder (its rate limit is off; loopback may drop a few).
    // Unbounded, each one cost ~30-150 ms of CPU and 260 MB; now it is a few microseconds.
    const f = o.flood;
    assert.ok(f.decodedAndRefusedByF >= f.sent / 2, s);
    assert.ok((f.cpuMs - f.baselineCpuMs) / f.decodedAndRefusedByF < 0.5, `more than 0.5 ms of CPU per hostile packet: ${s}`);
    assert.ok(f.rssPeakMB - f.rssBeforeMB < 64, s);
    assert.ok(f.heapGrowthMB < 16, s);
    assert.ok(f.maxLoopDelayMs < 1000, `the event loop stalled (an HTTP server would have): ${s}`);
    // N runs with the default rate limit: most of the flood is dropped before decoding
    assert.ok(f.rateLimitedAtN > f.sent / 2, s);
    // and both still hear an honest peer afterwards
    assert.ok(o.heardAfterMs !== null, s);
    assert.deepEqual(o.warnings, []);
  },
);

// ---------- sync ----------

const writerDir = tmpDir('drayer-hostile-msgpack-');
const served = new Map<string, Stream>();
let lanBase = '';
async function lan(): Promise<string> {
  if (!lanBase) {
    const srv = new LanServer({ resolve: (pk) => served.get(hex(pk)), shared: () => [] });
    lanBase = `http://127.0.0.1:${(await srv.listen()).port}`;
    cleanup.push(() => srv.close());
  }
  return lanBase;
}

test(
  "a sync peer answering ~300 bytes of bomb to /changes, /newRecords and /tips: clone, sync and a node's pulls fail with a clear error",
  { timeout: 120_000 },
  async () => {
    const bomb = arrayBomb(60);
    assert.equal(bomb.length, 300);
    const changesBomb = await hostile((req, res) => answer(res, bomb));
    const newRecordsBomb = await hostile((req, res) => {
      if (req.url?.includes('/newRecords/')) return answer(res, bomb);
      res.writeHead(404).end();
    });
    const key = formatKey(Stream.create(path.join(writerDir, 'victim.stream'), { name: 'victim' }).publicKey);
    const dir = tmpDir('drayer-hostile-clone-');

    for (const [url, what] of [
      [changesBomb, 'changes page'],
      [newRecordsBomb, 'newRecords list'],
    ] as const) {
      const c = await drayer(dir, ['clone', url, key, `c-${what.length}.stream`]);
      noStackTrace(c);
      assert.equal(c.code, 1, show(c));
      assert.match(c.err, new RegExp(`^drayer: ${url}/\\S+ sent a ${what} that declares more items than it holds`), show(c));
      // a clone that received nothing leaves no file: sync is tried on an empty mirror of its own
      assert.equal(fs.existsSync(path.join(dir, `c-${what.length}.stream`)), false);
      Stream.create(path.join(dir, `c-${what.length}.stream`), { followKey: parseKey(key) }).close();
      const s = await drayer(dir, ['sync', `c-${what.length}.stream`, url]);
      noStackTrace(s);
      assert.equal(s.code, 1, show(s));
      assert.match(s.out + s.err, /declares more items than it holds/, show(s));
    }
    // --latest asks /tips first
    const latest = await drayer(dir, ['clone', changesBomb, key, 'latest.stream', '--latest', '5']);
    noStackTrace(latest);
    assert.equal(latest.code, 1, show(latest));
    assert.match(latest.err, /sent a tips answer that declares more items than it holds/, show(latest));

    // a node's own pulls (the ones a forged announcement triggers go the same way)
    for (const url of [changesBomb, newRecordsBomb]) {
      const n = await run(['--enable-source-maps', child], {
        env: { DRAYER_HOSTILE_CHILD: 'node-pull', DRAYER_HOSTILE_DIR: tmpDir('drayer-hostile-node-'), DRAYER_HOSTILE_URL: url, DRAYER_HOSTILE_KEY: key },
      });
      noStackTrace(n);
      assert.equal(n.code, 0, show(n));
      const o = lastJson(n);
      assert.equal(o.errors.length, 2, JSON.stringify(o)); // follow, then syncNow
      for (const e of [...o.errors, ...o.again]) assert.match(e, /sent a (changes page|newRecords list) that declares more items than it holds/);
      assert.equal(o.alive, 1);
    }
  },
);

// ---------- values signed by the stream's author ----------

test(
  'a stream author signs bombs as drayer/info, primaryServers and a file header: verify reports the drayer ones; info, clone, sync, cat and a follower node carry on',
  { timeout: 120_000 },
  async () => {
    const file = path.join(writerDir, 'bomber.stream');
    const w = Stream.create(file, { name: 'bomber' });
    cleanup.push(() => w.close());
    const bomb = arrayBomb(60);
    const fileBomb = Buffer.concat([Buffer.from([bomb.length, 0, 0, 0]), bomb, utf8('data')]);
    // the real writer API: each of these is a validly signed record
    w.put('drayer', 'info', bomb);
    w.put('drayer', 'primaryServers', bomb);
    w.put('file', 'bomb.txt', fileBomb);
    w.put('note', 'n1', utf8('hello'));
    served.set(hex(w.publicKey), w);
    const key = formatKey(w.publicKey);
    const base = await lan();

    // verify: in process (both paths report the same) and as a command
    const report = w.verify();
    assert.equal(report.intact, false);
    const whats = report.problems.map((p) => p.what);
    assert.equal(whats.length, 2, whats.join('\n'));
    assert.match(whats.join('\n'), /\(drayer\/info\): its value is not a valid drayer\/info value: it declares more items than it holds/);
    assert.match(whats.join('\n'), /\(drayer\/primaryServers\): its value is not a valid drayer\/primaryServers value: it declares more items than it holds/);
    const pool = new VerifierPool({ threads: 1 });
    cleanup.push(() => pool.close());
    assert.deepEqual(await verifyStreamParallel(w, pool), report);

    const v = await drayer(writerDir, ['verify', 'bomber.stream']);
    noStackTrace(v);
    assert.equal(v.code, 1, show(v));
    assert.match(v.out, /2 problems found/);
    assert.match(v.out, /drayer\/info\): its value is not a valid drayer\/info value/);

    const i = await drayer(writerDir, ['info', 'bomber.stream']);
    noStackTrace(i);
    assert.equal(i.code, 0, show(i));
    const keyed = keyName(w.publicKey); // no readable name: words of the key stand in
    assert.ok(i.out.includes(`Name:         ${keyed} (made from the key: its name record is unreadable)`), show(i));
    assert.match(i.err, /drayer\/info.*not a valid drayer\/info value.*drayer verify/, show(i));
    const ij = await drayer(writerDir, ['info', 'bomber.stream', '--json']);
    assert.equal(ij.code, 0, show(ij));
    assert.equal(JSON.parse(ij.out).name, keyed);
    assert.equal(JSON.parse(ij.out).nameFromKey, true);

    const dir = tmpDir('drayer-hostile-clone-');
    const c = await drayer(dir, ['clone', base, key, 'copy.stream']);
    noStackTrace(c);
    assert.equal(c.code, 0, show(c));
    assert.ok(c.out.startsWith(`Cloned "${keyed}" into copy.stream: 4 records`), show(c));
    assert.match(c.err, /drayer\/info.*not a valid drayer\/info value/, show(c));
    const cv = await drayer(dir, ['verify', 'copy.stream']);
    assert.equal(cv.code, 1, show(cv)); // the copy holds what the author signed: the same problems
    assert.match(cv.out, /2 problems found/);
    // no URL: sync falls back to where it was cloned from, and reads primaryServers
    const s = await drayer(dir, ['sync', 'copy.stream']);
    noStackTrace(s);
    assert.equal(s.code, 0, show(s));
    const cat = await drayer(dir, ['cat', 'copy.stream', 'bomb.txt']);
    noStackTrace(cat);
    assert.equal(cat.code, 1, show(cat));
    assert.match(cat.err, /malformed/, show(cat));

    // a follower node: follows it, restarts with it, syncs it
    const n = await run(['--enable-source-maps', child], {
      env: { DRAYER_HOSTILE_CHILD: 'node-info', DRAYER_HOSTILE_DIR: tmpDir('drayer-hostile-node-'), DRAYER_HOSTILE_URL: base, DRAYER_HOSTILE_KEY: key },
    });
    noStackTrace(n);
    assert.equal(n.code, 0, show(n));
    const o = lastJson(n);
    const os = JSON.stringify(o);
    assert.equal(o.follow.records, 4, os);
    assert.deepEqual(o.follow.errors, [], os);
    assert.equal(o.follow.name, keyed, os); // no readable name: words of the key
    assert.equal(o.detailsName, keyed, os);
    assert.deepEqual(o.primaryServers, [], os);
    assert.deepEqual(o.restart, [{ name: keyed, records: 4 }], os);
    assert.deepEqual(o.synced, [{ error: null, records: 0 }], os);
  },
);

test('an info that decodes but is not a map, or names that are not text: reported, shown without a name', async () => {
  for (const [val, why] of [
    [encode([1, 2, 3]), /its value is not a valid drayer\/info value: it is not a map/],
    [encode('just text'), /it is not a map/],
    [Buffer.from([0x81, 0xa1, 0x6e, 0xce, 0x00]), /it is not msgpack \(cut short at byte 3\)/],
    [Buffer.concat([encode({ name: 'x' }), Buffer.from([0])]), /it is not msgpack \(1 byte after its end\)/],
  ] as const) {
    const s = Stream.create(path.join(writerDir, `odd-${hex(val).slice(0, 12)}-${Math.random()}.stream`), { name: 'odd' });
    s.put('drayer', 'info', val);
    assert.deepEqual(s.info(), {});
    const r = s.verify();
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!.what, why);
    s.close();
  }
  // a map whose name is not text is a valid info: its name is ignored, the rest kept
  const s = Stream.create(path.join(writerDir, `odd-name.stream`), { name: 'odd' });
  s.put('drayer', 'info', encode({ name: [1, 2], about: 'fine', avatar: new Uint8Array(3) }));
  assert.deepEqual(s.info(), { about: 'fine', avatar: new Uint8Array(3) });
  assert.equal(s.verify().intact, true);
  s.close();
});
