// A 100k-post stream cloned over loopback HTTP and verified (pull + applyParallel), against, in
// the same run: the raw Ed25519 verify rate (one core, and × the verifier's worker count), and
// Hypercore 10 replicating the same number of 200-byte blocks between two in-process cores.
// The Drayer clone runs with the server in a child process (the fairer setup on a small machine:
// the client's verifier workers do not share an event loop with the server; records_per_s) and in
// this process (*_server_in_process), each with two appliers: `(s, r) => applyParallel(s, r, pool)`
// as a plain function, and preparedApplier (*_prepared), which also uses Applier.prepare so the
// pool checks page k+1 while page k is applied.
//
// This file also holds the child-process servers the network benches share:
//   node dist/bench/clone.js --serve-stream FILE   a LanServer for the stream in FILE
//   node dist/bench/clone.js --serve-file FILE     plain node:http serving FILE with fs.createReadStream
// Each prints `PORT <n>` once listening and exits when its stdin closes.
import type { Applier } from '../app/store/verifier.js';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Hypercore from 'hypercore';
import { bytesEqual } from '../app/core/crypto.js';
import { encodePost } from '../app/store/posts.js';
import { LanServer } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import type { DrayerRecord } from '../app/core/record.js';
import { pull, rejectionSummary } from '../app/net/sync.js';
import { applyParallel, preparedApplier, VerifierPool } from '../app/store/verifier.js';
import { machine, perSecond, ratio, rawVerifyRate, removeDir, seconds, tempDir } from './common.js';

export const POST_BYTES = 200;

/** A post value of exactly POST_BYTES bytes (JSON {title, body}), different for each i. */
export function post200(i: number): Uint8Array {
  const title = `Post number ${i}`;
  const head = `This is the body of post ${i}, a short note of the usual length. `;
  const overhead = JSON.stringify({ title, body: '' }).length;
  const body = (head + 'lorem ipsum dolor sit amet '.repeat(8)).slice(0, POST_BYTES - overhead);
  const v = encodePost({ title, body });
  if (v.length !== POST_BYTES) throw new Error(`post of ${v.length} bytes`);
  return v;
}

/** A writer stream holding `n` 200-byte posts (plus drayer/info), built with Stream.batch. */
export function buildWriter200(file: string, n: number, onProgress?: (done: number) => void): Stream {
  const s = Stream.create(file, { name: 'bench' });
  const per = 10_000;
  for (let start = 0; start < n; start += per) {
    s.batch((w) => {
      for (let i = start; i < Math.min(n, start + per); i++) w.put('post', `p${String(i).padStart(7, '0')}`, post200(i));
    });
    onProgress?.(Math.min(n, start + per));
  }
  return s;
}

/** A LanServer in this process serving `streams`. */
export async function inProcessServer(streams: Stream[]): Promise<{ url: string; server: LanServer }> {
  const server = new LanServer({
    resolve: (pk) => streams.find((s) => bytesEqual(s.publicKey, pk)),
    shared: () => streams.map((s) => ({ publicKey: s.publicKey, name: 'bench' })),
  });
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, server };
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Start one of this file's server modes in a child process (see the header). */
export function childServer(mode: '--serve-stream' | '--serve-file', file: string): Promise<ChildServer> {
  const script = fileURLToPath(import.meta.url);
  // The parent's flags go along (e.g. --cpu-prof, so a profile of the client brings one of the server).
  const child = spawn(process.execPath, [...process.execArgv, script, mode, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (!m) return;
      child.stdout!.off('data', onData);
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.stdin!.end();
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        });
      resolve({ url: `http://127.0.0.1:${m[1]}`, child, stop });
    };
    child.stdout!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server child exited (${code}) before listening`)));
  });
}

async function serveStreamChild(file: string): Promise<void> {
  const s = Stream.open(file);
  const { server } = await inProcessServer([s]);
  process.stdout.write(`PORT ${server.port}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => void server.close().then(() => (s.close(), process.exit(0))));
}

async function serveFileChild(file: string): Promise<void> {
  const size = fs.statSync(file).size;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

/** Hypercore 10: `n` blocks of `size` bytes replicated between two cores in this process; blocks/s. */
async function hypercoreClone(dir: string, n: number, size: number): Promise<{ perS: number; ms: number; appendMs: number }> {
  const a = new Hypercore(path.join(dir, 'hc-a'));
  await a.ready();
  const t0 = performance.now();
  for (let start = 0; start < n; start += 1000) {
    const blocks: Uint8Array[] = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) blocks.push(post200(i).subarray(0, size));
    await a.append(blocks);
  }
  const appendMs = performance.now() - t0;
  const b = new Hypercore(path.join(dir, 'hc-b'), a.key);
  await b.ready();
  const t1 = performance.now();
  const s1 = a.replicate(true);
  const s2 = b.replicate(false);
  s1.pipe(s2).pipe(s1);
  await b.download({ start: 0, end: n }).done();
  const ms = performance.now() - t1;
  if (b.contiguousLength !== n) throw new Error(`hypercore clone holds ${b.contiguousLength} of ${n} blocks`);
  const last = await b.get(n - 1);
  if (!last || last.length !== size) throw new Error('hypercore clone: last block missing');
  s1.destroy();
  s2.destroy();
  await b.close();
  await a.close();
  return { perS: perSecond(n, ms), ms, appendMs };
}

/** One Drayer clone of `w` from `url` into a fresh follower; records/s. */
async function drayerClone(
  dir: string,
  name: string,
  w: Stream,
  url: string,
  pool: VerifierPool,
  applier?: Applier,
): Promise<{ perS: number; ms: number; records: number; bytes: number }> {
  const f = Stream.create(path.join(dir, `${name}.stream`), { followKey: w.publicKey });
  try {
    const t0 = performance.now();
    const res = await pull(f, url, { applier: applier ?? ((s, r) => applyParallel(s, r, pool)) });
    const ms = performance.now() - t0;
    if (res.rejected > 0) throw new Error(`clone rejected ${res.rejected}: ${rejectionSummary(res.rejections)}`);
    if (f.count() !== w.count()) throw new Error(`clone holds ${f.count()} records, writer ${w.count()}`);
    return { perS: perSecond(res.records, ms), ms, records: res.records, bytes: res.bytes };
  } finally {
    f.close();
    for (const x of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `${name}.stream${x}`), { force: true });
  }
}

/**
 * The pool's own rate on these records, pages of 1000 all queued at once (no network, no store):
 * what "multi-core verify" gives on this machine at this moment, contention included.
 */
async function poolVerifyRate(w: Stream, pool: VerifierPool): Promise<number> {
  const pages: DrayerRecord[][] = [];
  for (let since = 0; ;) {
    const page = w.changesSince(since, { limit: 1000 });
    pages.push(page.records);
    since = page.seq;
    if (!page.more) break;
  }
  const t0 = performance.now();
  const answers = await Promise.all(pages.map((p) => pool.verify(p, w.publicKey)));
  const ms = performance.now() - t0;
  if (answers.some((a) => a.some((x) => x !== null))) throw new Error('pool verify rejected a record');
  return perSecond(
    pages.reduce((n, p) => n + p.length, 0),
    ms,
  );
}

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_POSTS ?? 100_000);
  const dir = tempDir('drayer-bench-clone-');
  const pool = new VerifierPool();
  try {
    const tb = performance.now();
    const w = buildWriter200(path.join(dir, 'writer.stream'), n);
    const buildMs = performance.now() - tb;
    w.db.pragma('wal_checkpoint(TRUNCATE)');
    const records = w.count();
    await pool.verify(w.changesSince(0, { limit: 256 }).records, w.publicKey); // start the workers

    const raw = rawVerifyRate(2000);
    const rawMulti = raw * pool.threads;
    const rawSodiumMulti = rawVerifyRate(1000, 'sodium') * pool.threads;

    const hc = await hypercoreClone(dir, records, POST_BYTES);

    const local = await inProcessServer([w]);
    let inproc;
    let inprocPrep;
    try {
      inproc = await drayerClone(dir, 'follower-inproc', w, local.url, pool);
      inprocPrep = await drayerClone(dir, 'follower-inproc-prepared', w, local.url, pool, preparedApplier(pool));
    } finally {
      await local.server.close();
    }

    const child = await childServer('--serve-stream', w.file);
    let sep;
    let prep;
    try {
      sep = await drayerClone(dir, 'follower-child', w, child.url, pool);
      prep = await drayerClone(dir, 'follower-prepared', w, child.url, pool, preparedApplier(pool));
    } finally {
      await child.stop();
    }
    const poolRate = await poolVerifyRate(w, pool);
    w.close();

    return {
      bench: 'clone',
      records,
      post_bytes: POST_BYTES,
      threads: pool.threads,
      records_per_s: sep.perS,
      records_per_s_server_in_process: inproc.perS,
      raw_verify_per_s: raw,
      raw_verify_multi_per_s: rawMulti,
      ratio_to_raw_verify: ratio(sep.perS, raw),
      ratio_to_multi_core_verify: ratio(sep.perS, rawMulti),
      raw_sodium_verify_multi_per_s: rawSodiumMulti,
      ratio_to_multi_core_sodium_verify: ratio(sep.perS, rawSodiumMulti),
      ratio_to_multi_core_verify_server_in_process: ratio(inproc.perS, rawMulti),
      records_per_s_prepared: prep.perS,
      ratio_to_multi_core_verify_prepared: ratio(prep.perS, rawMulti),
      ratio_to_hypercore_prepared: ratio(prep.perS, hc.perS),
      clone_s_prepared: seconds(prep.ms),
      records_per_s_prepared_server_in_process: inprocPrep.perS,
      ratio_to_multi_core_verify_prepared_server_in_process: ratio(inprocPrep.perS, rawMulti),
      pool_verify_per_s: poolRate,
      ratio_to_pool_verify: ratio(sep.perS, poolRate),
      ratio_to_pool_verify_prepared: ratio(prep.perS, poolRate),
      meets_goals: sep.perS >= 2 * hc.perS && sep.perS >= 0.7 * rawMulti,
      meets_goals_prepared: prep.perS >= 2 * hc.perS && prep.perS >= 0.7 * rawMulti,
      hypercore_blocks_per_s: hc.perS,
      ratio_to_hypercore: ratio(sep.perS, hc.perS),
      ratio_to_hypercore_server_in_process: ratio(inproc.perS, hc.perS),
      clone_s: seconds(sep.ms),
      clone_s_server_in_process: seconds(inproc.ms),
      hypercore_s: seconds(hc.ms),
      wire_mib: Math.round((sep.bytes / 1048576) * 10) / 10,
      build_writer_s: seconds(buildMs),
      hypercore_append_s: seconds(hc.appendMs),
      server: 'child process (records_per_s, *_prepared) and in process (*_server_in_process)',
      ...machine(),
    };
  } finally {
    await pool.close();
    removeDir(dir);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, file] = process.argv.slice(2);
  if (mode === '--serve-stream' && file) await serveStreamChild(file);
  else if (mode === '--serve-file' && file) await serveFileChild(file);
  else console.log(JSON.stringify(await run()));
}
