// Posts appended, three ways, against libsodium signing measured in the same run (the limit: a
// post is one signature):
//   sync        Stream.put one at a time: each its own transaction, safe from a crash when it
//               returns (WAL, synchronous=NORMAL), not from a power loss;
//   durable     Stream.putDurable one at a time (await each): each waits for its own disk sync;
//   concurrent  Stream.putDurable with BENCH_IN_FLIGHT posts in flight (each caller posts again when
//               its last one is acknowledged): group commit, each acknowledged once on disk.
// CPU is all threads of the process (the checkpointer's too), per post.
import * as os from 'node:os';
import * as path from 'node:path';
import { cryptoBackend } from '../app/core/crypto.js';
import { Stream } from '../app/store/store.js';
import { cpuMicrosEach, perSecond, postValue, rawSignRate, removeDir, seconds, tempDir } from './common.js';

const GOAL_POSTS_PER_S = 20_000;
const GOAL_CPU_US = 45;

interface Phase {
  posts: number;
  ms: number;
  cpuMs: number;
  /** acknowledgement latencies, ms (durable modes) */
  latencies: number[];
}

const load = () => Math.round(os.loadavg()[0]! * 100) / 100;
const key = (mode: string, i: number) => `${mode}${String(i).padStart(7, '0')}`;
const values = Array.from({ length: 1024 }, (_, i) => postValue(i));

async function timed(fn: (lat: number[]) => Promise<number> | number): Promise<Phase> {
  const latencies: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const posts = await fn(latencies);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { posts, ms, cpuMs: (c.user + c.system) / 1000, latencies };
}

function sync(s: Stream, n: number): Promise<Phase> {
  return timed(() => {
    for (let i = 0; i < n; i++) s.put('post', key('s', i), values[i & 1023]!);
    return n;
  });
}

function durable(s: Stream, n: number): Promise<Phase> {
  return timed(async (lat) => {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await s.putDurable('post', key('d', i), values[i & 1023]!);
      lat.push(performance.now() - t);
    }
    return n;
  });
}

function concurrent(s: Stream, n: number, inFlight: number): Promise<Phase> {
  return timed(async (lat) => {
    let next = 0;
    const caller = async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await s.putDurable('post', key('c', i), values[i & 1023]!);
        lat.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, caller));
    return n;
  });
}

/** libsodium Ed25519 signing of a record's 136 bytes: signatures a second, and CPU µs each (load-independent). */
function signBaseline(ms: number): { perS: number; cpuUs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const perS = rawSignRate(ms, 'sodium');
  const took = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { perS, cpuUs: Math.round(((c.user + c.system) / ((perS * took) / 1000)) * 10) / 10 };
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
};

function report(p: Phase) {
  return {
    posts: p.posts,
    posts_per_s: perSecond(p.posts, p.ms),
    cpu_us_per_post: cpuMicrosEach(p.cpuMs, p.posts),
    seconds: seconds(p.ms),
    ...(p.latencies.length ? { ack_ms_median: pct(p.latencies, 50), ack_ms_p99: pct(p.latencies, 99) } : {}),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const posts = Number(process.env.BENCH_POSTS ?? 100_000);
  const durablePosts = Number(process.env.BENCH_DURABLE_POSTS ?? Math.min(posts, 300));
  const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 1000);
  const loadStart = load();
  const dir = tempDir();
  try {
    const s = Stream.create(path.join(dir, 'append.stream'), { name: 'append bench' });
    // The baseline is measured around the phases (half before, half after): the machine drifts.
    const before = signBaseline(1000);
    const c = await concurrent(s, posts, inFlight);
    const d = await durable(s, durablePosts);
    const y = await sync(s, posts);
    const after = signBaseline(1000);
    const expected = 1 + posts + durablePosts + posts;
    if (s.count() !== expected) throw new Error(`expected ${expected} records, found ${s.count()}`);
    if (s.verify().problems.length > 0) throw new Error(`the bench stream does not verify: ${s.verify().problems[0]}`);
    s.close();
    const sign = { perS: Math.round((before.perS + after.perS) / 2), cpuUs: Math.round(((before.cpuUs + after.cpuUs) / 2) * 10) / 10 };
    const conc = report(c);
    return {
      bench: 'append',
      signer: cryptoBackend(),
      in_flight: inFlight,
      concurrent: conc,
      durable_one_at_a_time: report(d),
      sync_one_at_a_time: report(y),
      sodium_sign_per_s: sign.perS,
      sodium_sign_cpu_us: sign.cpuUs,
      // the figures, each beside its goal
      posts_per_s: conc.posts_per_s,
      goal_posts_per_s: GOAL_POSTS_PER_S,
      cpu_us_per_post: conc.cpu_us_per_post,
      goal_cpu_us_per_post: GOAL_CPU_US,
      cpu_ratio_to_sign: Math.round((conc.cpu_us_per_post / sign.cpuUs) * 100) / 100,
      rate_ratio_to_sign: Math.round((conc.posts_per_s / sign.perS) * 1000) / 1000,
      meets_goals: conc.posts_per_s >= GOAL_POSTS_PER_S && conc.cpu_us_per_post <= GOAL_CPU_US,
      cores: os.availableParallelism(),
      load_start: loadStart,
      load_end: load(),
      node: process.version,
    };
  } finally {
    removeDir(dir);
  }
}
