// One new post in a 1M-record stream reaching a follower that is already in sync: the time from
// the moment the writer's put returns (the notification) until a pull has the post stored at the
// follower, over loopback HTTP, median and p95 of many repetitions. Baseline in the same run: a
// plain GET round trip of a tiny answer (/<pk>/tips) from the same server, each GET right before
// a round so both meet the same load. Three ways: writer, server and follower in this process; the
// server in a child process (the writer's commits reach it through the file); and the writer and
// its server in one child process, as a node posts and serves, the follower here (node_child).
//
// The follower is built by applying the writer's feed locally (apply with verified: true, which
// is what a finished clone holds) and its cursor for the server is set to the writer's last seq,
// exactly what a completed pull leaves behind.
import { peerId } from '../app/core/peer.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Stream } from '../app/store/store.js';
import { pull, streamCursors, urlSafeKey } from '../app/net/sync.js';
import { applyParallel, VerifierPool } from '../app/store/verifier.js';
import { buildWriter200, childServer, inProcessServer, post200, type ChildServer } from './clone.js';
import { machine, removeDir, seconds, tempDir } from './common.js';

const round2 = (n: number) => Math.round(n * 100) / 100;

function stats(ms: number[]): { median: number; p95: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { median: round2(at(0.5)), p95: round2(at(0.95)), min: round2(s[0]!), max: round2(s[s.length - 1]!) };
}

/** A follower holding everything `w` holds, with its cursor for `url` at w's last seq. */
function syncedFollower(dir: string, w: Stream, url: string): Stream {
  const f = Stream.create(path.join(dir, 'follower.stream'), { followKey: w.publicKey });
  let since = 0;
  for (;;) {
    const page = w.changesSince(since, { limit: 10_000 });
    const res = f.apply(page.records, { verified: true });
    if (res.rejected.length) throw new Error(`follower rejected: ${res.rejected[0]!.reason}`);
    since = page.seq;
    if (!page.more) break;
  }
  streamCursors(f).setCursor(peerId(url), Buffer.from(w.publicKey).toString('base64'), w.nodeId, w.lastSeq());
  return f;
}

/** Writes post `i` under `key` at the writer; resolves with the moment its put returned (ms on the clock all processes share). */
type Put = (key: string, i: number) => Promise<number>;

const clock = () => performance.timeOrigin + performance.now();

/** The writer in this process. */
const putHere =
  (w: Stream): Put =>
  (key, i) => {
    w.put('post', key, post200(i));
    return Promise.resolve(clock());
  };

/**
 * The writer in the server's child process, as a node posts and serves (clone.ts "PUT"): the pull
 * starts once the child's answer is here, so the time it took to come back is counted against us.
 */
function putThere(child: ChildServer): Put {
  const waiting: ((at: number) => void)[] = [];
  let pending = '';
  child.child.stdout!.on('data', (d: Buffer) => {
    pending += d.toString('latin1');
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const m = /^PUT ([\d.]+)$/.exec(pending.slice(0, i));
      pending = pending.slice(i + 1);
      if (m) waiting.shift()?.(Number(m[1]));
    }
  });
  return (key, i) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.child.stdin!.write(`PUT ${key} ${i}\n`);
    });
}

/** One round: put one post at the writer, pull it at the follower; ms from put's return, and the put's own ms (as seen from here). */
async function round(put: Put, f: Stream, url: string, pool: VerifierPool, key: string, i: number): Promise<{ ms: number; putMs: number }> {
  const t0 = clock();
  const t1 = await put(key, i); // the notification: the put has returned
  const res = await pull(f, url, { applier: (s, r) => applyParallel(s, r, pool) });
  const t2 = clock();
  if (res.stored !== 1 || !f.get('post', key)) throw new Error(`${key}: the post did not arrive (${JSON.stringify(res)})`);
  return { ms: t2 - t1, putMs: t1 - t0 };
}

/** One GET of a tiny answer, read to the end; ms and bytes. */
async function tinyGet(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = new Uint8Array(await res.arrayBuffer());
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return { ms, bytes: body.length };
}

/** CPU ns the main thread of process `pid` has run (its event loop), from /proc; null where the OS does not say. */
function mainThreadNs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/**
 * `reps` rounds against `url`, each a GET of `tipsUrl` (the baseline) then a new post pulled, so
 * the machine's changing load (other processes, the collector and checkpoints after the build)
 * falls on both alike; after `warm` of each first (connections, statements, JIT).
 */
async function measure(put: Put, f: Stream, url: string, tipsUrl: string, pool: VerifierPool, reps: number, tag: string, serverPid?: number, warm = 20) {
  for (let i = 0; i < warm; i++) {
    await round(put, f, url, pool, `${tag}-warm-${i}`, i);
    await tinyGet(tipsUrl);
  }
  const latency: number[] = [];
  const putMs: number[] = [];
  const get: number[] = [];
  let bytes = 0;
  // CPU, whatever the load (median µs of each GET and each round): this process's (process.cpuUsage:
  // the put and the pull, and with the server here both sides), and the main thread of a server
  // child (Linux's per-thread schedstat, in ns; read while it waits, so it is up to date).
  const cpu = { get: [] as number[], round: [] as number[], serverGet: [] as number[], serverRound: [] as number[] };
  const mine = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  for (let i = 0; i < reps; i++) {
    const s0 = mainThreadNs(serverPid);
    const a = mine();
    const g = await tinyGet(tipsUrl);
    const b = mine();
    const s1 = mainThreadNs(serverPid);
    get.push(g.ms);
    bytes = g.bytes;
    const c = mine();
    const r = await round(put, f, url, pool, `${tag}-${i}`, i);
    const d = mine();
    const s2 = mainThreadNs(serverPid);
    cpu.get.push(b - a);
    cpu.round.push(d - c);
    if (s0 !== null && s1 !== null && s2 !== null) (cpu.serverGet.push((s1 - s0) / 1000), cpu.serverRound.push((s2 - s1) / 1000));
    latency.push(r.ms);
    putMs.push(r.putMs);
  }
  const med = (x: number[]) => (x.length ? Math.round(stats(x).median * 10) / 10 : null);
  const cpuUsEach = { get: med(cpu.get), round: med(cpu.round), serverGet: med(cpu.serverGet), serverRound: med(cpu.serverRound) };
  return { latency: stats(latency), put: stats(putMs), get: stats(get), bytes, cpuUsEach };
}

/** The goal (issue 17): the new post stored at the follower within this many times a tiny GET's round trip. */
export const INCREMENTAL_GOAL = 1.5;

/** One way's headline figures, named `${prefix}_…`. */
function figures(prefix: string, m: Awaited<ReturnType<typeof measure>>): Record<string, number | boolean> {
  return {
    [`${prefix}_median_ms`]: m.latency.median,
    [`${prefix}_p95_ms`]: m.latency.p95,
    [`${prefix}_get_median_ms`]: m.get.median,
    [`${prefix}_ratio_to_get`]: round2(m.latency.median / m.get.median),
    [`${prefix}_meets_goal`]: m.latency.median <= INCREMENTAL_GOAL * m.get.median,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const loadStart = Math.round(os.loadavg()[0]! * 100) / 100;
  const n = Number(process.env.BENCH_RECORDS ?? 1_000_000);
  const reps = Number(process.env.BENCH_REPS ?? 50);
  const dir = tempDir('drayer-bench-incremental-');
  const pool = new VerifierPool();
  try {
    let t = performance.now();
    const w = buildWriter200(path.join(dir, 'writer.stream'), n - 1); // + drayer/info = n records
    const buildMs = performance.now() - t;
    w.db.pragma('wal_checkpoint(TRUNCATE)');
    const local = await inProcessServer([w]);
    t = performance.now();
    const f = syncedFollower(dir, w, local.url);
    const followerMs = performance.now() - t;
    if (f.count() !== w.count()) throw new Error(`follower holds ${f.count()} of ${w.count()}`);
    f.db.pragma('wal_checkpoint(TRUNCATE)'); // the build's writes are on disk before the timing begins
    const records = w.count();
    const tipsUrl = (base: string) => `${base}/${urlSafeKey(w.publicKey)}/tips`;
    await pool.verify(w.changesSince(0, { limit: 256 }).records, w.publicKey); // start the workers

    try {
      const idle = await pull(f, local.url);
      if (idle.records !== 0) throw new Error(`the follower was not in sync: ${idle.records} records came`);
      const inc = await measure(putHere(w), f, local.url, tipsUrl(local.url), pool, reps, 'inproc');

      /** The rounds against a server in a child process, the writer `here` or in that child. */
      const viaChild = async (tag: string, writerThere: boolean) => {
        const child = await childServer('--serve-stream', w.file);
        try {
          // a new peer address: give the follower the cursor a finished pull from it would leave
          streamCursors(f).setCursor(peerId(child.url), Buffer.from(w.publicKey).toString('base64'), w.nodeId, w.lastSeq());
          return await measure(writerThere ? putThere(child) : putHere(w), f, child.url, tipsUrl(child.url), pool, reps, tag, child.child.pid);
        } finally {
          await child.stop();
        }
      };
      // The server in a child process (the writer's commits reach it through the file).
      const sep = await viaChild('child', false);
      // As on a LAN: the writer and its server in one process (a node posting and serving), the follower here.
      const asNode = await viaChild('node', true);

      return {
        bench: 'incremental',
        records,
        reps,
        median_ms: inc.latency.median,
        p95_ms: inc.latency.p95,
        min_ms: inc.latency.min,
        max_ms: inc.latency.max,
        baseline_get_median_ms: inc.get.median,
        baseline_get_p95_ms: inc.get.p95,
        baseline_get_bytes: inc.bytes,
        ratio_median_to_get: round2(inc.latency.median / inc.get.median),
        goal_ratio_to_get: INCREMENTAL_GOAL,
        meets_goal: inc.latency.median <= INCREMENTAL_GOAL * inc.get.median,
        put_median_ms: inc.put.median,
        // median CPU µs, server in this process: a GET (client and server), a round (put, pull: every side)
        cpu_us_get: inc.cpuUsEach.get,
        cpu_us_round: inc.cpuUsEach.round,
        ...figures('server_child', sep),
        // median CPU µs, server in a child: this process's for a GET and a round (put, pull), the server main thread's for each
        server_child_cpu_us_get: sep.cpuUsEach.get,
        server_child_cpu_us_round: sep.cpuUsEach.round,
        server_child_server_cpu_us_get: sep.cpuUsEach.serverGet,
        server_child_server_cpu_us_round: sep.cpuUsEach.serverRound,
        // the writer and the server in one child process (a node), the follower here: the LAN's case
        ...figures('node_child', asNode),
        node_child_put_to_notice_ms: asNode.put.median,
        server: 'in process (median_ms), child process, and writer + server in one child (node_child)',
        build_writer_s: seconds(buildMs),
        build_follower_s: seconds(followerMs),
        writer_file_mib: Math.round(fs.statSync(w.file).size / 1048576),
        load_start: loadStart,
        load_end: Math.round(os.loadavg()[0]! * 100) / 100,
        ...machine(),
      };
    } finally {
      await local.server.close();
      f.close();
      w.close();
    }
  } finally {
    await pool.close();
    removeDir(dir);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run()));
}
