// Shared bench helpers: temp dirs, a big writer stream and big files built fast, RSS sampling, and raw node:crypto rates
// measured in the same run so results can be read as ratios on any machine.
import * as nodeCrypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { encodePost } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';

export function tempDir(prefix = 'drayer-bench-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A post value of realistic size (~120 bytes of JSON), different for each i. */
export function postValue(i: number): Uint8Array {
  return encodePost({ title: `Post number ${i}`, body: `This is the body of post ${i}, a short note of the usual length.` });
}

/** A writer stream with `n` posts (plus drayer/info), built in big transactions (Stream.batch). */
export function buildWriter(dir: string, n: number): Stream {
  const s = Stream.create(path.join(dir, 'writer.stream'), { name: 'bench' });
  const per = 10_000;
  for (let start = 0; start < n; start += per) {
    s.batch((w) => {
      for (let i = start; i < Math.min(n, start + per); i++) w.put('post', `p${String(i).padStart(7, '0')}`, postValue(i));
    });
  }
  return s;
}

export const seconds = (ms: number): number => Math.round(ms) / 1000;
export const perSecond = (n: number, ms: number): number => Math.round((n * 1000) / ms);
export const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

function messages(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const m = nodeCrypto.randomBytes(136);
    m.writeUInt32LE(i, 0);
    return m;
  });
}

/**
 * The raw Ed25519 baselines. 'node' is node:crypto, the baseline the issues' goals name;
 * 'sodium' is libsodium (sodium-native), the library Drayer signs and verifies with, about twice
 * as fast: benches print ratios to both, so neither flatters.
 */
export type RawBackend = 'node' | 'sodium';

interface SodiumSign {
  crypto_sign_keypair(pk: Buffer, sk: Buffer): void;
  crypto_sign_detached(sig: Buffer, m: Buffer, sk: Buffer): void;
  crypto_sign_verify_detached(sig: Buffer, m: Buffer, pk: Buffer): boolean;
}
const sodium = createRequire(import.meta.url)('sodium-native') as SodiumSign;

function rawOps(backend: RawBackend): { sign(m: Buffer): Buffer; verify(m: Buffer, sig: Buffer): boolean } {
  if (backend === 'node') {
    const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ed25519');
    return { sign: (m) => nodeCrypto.sign(null, m, privateKey), verify: (m, sig) => nodeCrypto.verify(null, m, publicKey, sig) };
  }
  const pk = Buffer.alloc(32);
  const sk = Buffer.alloc(64);
  sodium.crypto_sign_keypair(pk, sk);
  return {
    sign: (m) => {
      const sig = Buffer.alloc(64);
      sodium.crypto_sign_detached(sig, m, sk);
      return sig;
    },
    verify: (m, sig) => sodium.crypto_sign_verify_detached(sig, m, pk),
  };
}

function timedLoop(ms: number, step: (n: number) => void): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 64; i++) step(n + i);
    n += 64;
    t = performance.now();
  }
  return perSecond(n, t - t0);
}

/** Ed25519 signatures per second of 136-byte messages (the signed record layout), one core, ~ms. */
export function rawSignRate(ms = 2000, backend: RawBackend = 'node'): number {
  const ops = rawOps(backend);
  const msgs = messages(256);
  return timedLoop(ms, (k) => ops.sign(msgs[k & 255]!));
}

/** Ed25519 verifications per second of 136-byte messages, one core, ~ms. */
export function rawVerifyRate(ms = 2000, backend: RawBackend = 'node'): number {
  const ops = rawOps(backend);
  const msgs = messages(256);
  const sigs = msgs.map((m) => ops.sign(m));
  return timedLoop(ms, (k) => {
    if (!ops.verify(msgs[k & 255]!, sigs[k & 255]!)) throw new Error('raw verify failed');
  });
}

/**
 * rawVerifyRate on `threads` threads at once, started together: the rate they reach between them.
 * Unlike the single-core rate times the threads, it meets the machine's other load as the
 * workers of a parallel phase do (on a busy machine, threads get less than a core each).
 */
export async function rawVerifyRateThreads(ms: number, threads: number, backend: RawBackend = 'node'): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./raw-worker.js', import.meta.url)));
  try {
    const next = (w: Worker) =>
      new Promise<unknown>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    await Promise.all(workers.map(next)); // all loaded: the measurement starts together
    const rates = workers.map(next);
    for (const w of workers) w.postMessage({ ms, backend });
    return ((await Promise.all(rates)) as number[]).reduce((a, b) => a + b, 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * The machine is shared, so its speed drifts: a phase's reference rate is measured right before
 * and right after it (half the time each), and the phase is compared with their mean. `also`, a
 * second reference, is measured the same way (inside the first).
 */
export async function bracketed<T>(
  raw: (ms: number) => number,
  ms: number,
  phase: () => Promise<T> | T,
  also?: (ms: number) => number,
): Promise<{ value: T; ms: number; raw: number; rawAlso: number | null; cpuMs: number; mainCpuMs: number | null }> {
  const before = raw(ms / 2);
  const alsoBefore = also?.(ms / 2) ?? 0;
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuMs();
  const t0 = performance.now();
  const value = await phase();
  const took = performance.now() - t0;
  const c = process.cpuUsage(c0); // every thread of the process: main and workers
  const m1 = mainThreadCpuMs();
  const alsoAfter = also?.(ms / 2) ?? 0;
  const after = raw(ms / 2);
  return {
    value,
    ms: took,
    raw: Math.round((before + after) / 2),
    rawAlso: also ? Math.round((alsoBefore + alsoAfter) / 2) : null,
    cpuMs: (c.user + c.system) / 1000,
    mainCpuMs: m0 !== null && m1 !== null ? m1 - m0 : null,
  };
}

/**
 * CPU ms the main thread alone has run (process.cpuUsage counts every thread), or null where the
 * OS does not say: Linux's per-thread schedstat, in ns. On a shared machine this tells how the
 * work splits between the main thread and the workers whatever the load.
 */
export function mainThreadCpuMs(): number | null {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/** rawVerifyRate, also telling the CPU µs one verification took (load-independent, unlike the rate). */
export function rawVerifyCpu(ms = 2000, backend: RawBackend = 'node'): { rate: number; cpuMicros: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rate = rawVerifyRate(ms, backend);
  const took = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { rate, cpuMicros: Math.round(((c.user + c.system) / ((rate * took) / 1000)) * 10) / 10 };
}

/** CPU µs spent per item (all threads): comparable even when the machine is busy with other work. */
export const cpuMicrosEach = (cpuMs: number, n: number): number => Math.round((cpuMs * 10_000) / n) / 10;

/** The machine, so a figure can be read in context. */
export function machine(): Record<string, unknown> {
  return { cores: os.availableParallelism(), load1: Math.round(os.loadavg()[0]! * 100) / 100, node: process.version };
}

const MiB = 1024 * 1024;

/** `mib` MiB of incompressible bytes written a MiB at a time, unique per MiB (nothing deduplicates). */
export async function makeFile(file: string, mib: number): Promise<void> {
  const block = nodeCrypto.randomBytes(MiB);
  const fh = await fs.promises.open(file, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      block.writeUInt32LE(i, 0);
      block.writeUInt32LE((i * 2654435761) >>> 0, MiB / 2);
      await fh.write(block, 0, MiB, i * MiB);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Peak RSS growth (MiB) over a phase, sampled every 50 ms from when sampling starts. */
export function rssSampler() {
  const start = process.memoryUsage().rss;
  let peak = start;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return {
    stop(): number {
      clearInterval(t);
      peak = Math.max(peak, process.memoryUsage().rss);
      return (peak - start) / MiB;
    },
  };
}

export const devNull = () => new Writable({ highWaterMark: MiB, write: (_c, _e, cb) => cb() });
