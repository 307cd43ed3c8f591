// Verifying a 100k-record stream: Stream.verify (one thread) and verifyStreamParallel (a worker
// per core), against the raw single-core Ed25519 verify rate measured in the same run.
import { cryptoBackend } from '../app/core/crypto.js';
import { VerifierPool, verifyStreamParallel } from '../app/store/verifier.js';
import * as path from 'node:path';
import { Stream } from '../app/store/store.js';
import {
  bracketed,
  buildWriter,
  cpuMicrosEach,
  machine,
  perSecond,
  postValue,
  ratio,
  rawVerifyCpu,
  rawVerifyRate,
  rawVerifyRateThreads,
  removeDir,
  seconds,
  tempDir,
} from './common.js';

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_RECORDS ?? 100_000);
  const dir = tempDir();
  const pool = new VerifierPool();
  try {
    const s = buildWriter(dir, n);
    const records = s.count();
    // warm the pool (worker start-up is not what is measured), for files too: the workers load SQLite when they first read one
    await pool.verify(s.changesSince(0, { limit: 256 }).records, s.publicKey);
    const small = Stream.create(path.join(dir, 'small.stream'));
    small.put('post', 'p', postValue(0));
    await verifyStreamParallel(small, pool);
    small.close();

    const one = await bracketed(rawVerifyRate, 2000, () => s.verify());
    const single = one.value;
    if (!single.intact || single.records !== records) throw new Error(`Stream.verify: ${JSON.stringify(single.problems.slice(0, 3))}`);

    // The limit: libsodium's single-core rate (bracketing this phase too) times the worker threads.
    const sodiumCpu: number[] = [];
    const sodium = (ms: number) => {
      const r = rawVerifyCpu(ms, 'sodium');
      sodiumCpu.push(r.cpuMicros);
      return r.rate;
    };
    let way = '';
    const threadsBefore = await rawVerifyRateThreads(1000, pool.threads, 'sodium');
    const all = await bracketed(rawVerifyRate, 2000, () => verifyStreamParallel(s, pool, { onPath: (p) => (way = p) }), sodium);
    const threadsAfter = await rawVerifyRateThreads(1000, pool.threads, 'sodium');
    const rawThreads = Math.round((threadsBefore + threadsAfter) / 2);
    const par = all.value;
    if (!par.intact || par.records !== records) throw new Error(`verifyStreamParallel: ${JSON.stringify(par.problems.slice(0, 3))}`);
    s.close();

    const singleRate = perSecond(records, one.ms);
    const parRate = perSecond(records, all.ms);
    const raw = Math.round((one.raw + all.raw) / 2);
    const rawSodium = all.rawAlso!;
    const sodiumCpuEach = sodiumCpu.reduce((a, b) => a + b, 0) / sodiumCpu.length;
    const cpuEach = cpuMicrosEach(all.cpuMs, records);
    const mainEach = all.mainCpuMs === null ? null : cpuMicrosEach(all.mainCpuMs, records);
    return {
      bench: 'verify',
      records,
      threads: pool.threads,
      single_per_s: singleRate,
      parallel_per_s: parRate,
      raw_verify_per_s: raw,
      single_ratio_to_raw: ratio(singleRate, one.raw),
      parallel_ratio_to_raw: ratio(parRate, all.raw),
      speedup: ratio(parRate, singleRate),
      cpu_us_per_record_single: cpuMicrosEach(one.cpuMs, records),
      cpu_us_per_record_parallel: cpuEach,
      raw_cpu_us_per_verify: Math.round(1e7 / raw) / 10,
      raw_sodium_verify_per_s: rawSodium,
      parallel_ratio_to_raw_sodium: ratio(parRate, rawSodium),
      verifier: cryptoBackend(),
      // the goal (issue 8 §5): parallel rate / (libsodium single-core rate × threads)
      ratio_to_limit: ratio(parRate, rawSodium * pool.threads),
      // the same from CPU time, which the machine's other load does not change: what one raw
      // verification costs over what a record costs all threads (the main thread competes with the workers)
      raw_sodium_cpu_us_per_verify: Math.round(sodiumCpuEach * 10) / 10,
      cpu_ratio_to_limit: ratio(sodiumCpuEach, cpuEach),
      // how the parallel phase's CPU splits: the main thread's share, the rest is the workers'
      main_cpu_us_per_record_parallel: mainEach,
      worker_cpu_us_per_record_parallel: mainEach === null ? null : Math.round((cpuEach - mainEach) * 10) / 10,
      main_cpu_share_parallel: all.mainCpuMs === null ? null : ratio(all.mainCpuMs, all.cpuMs),
      parallel_path: way,
      // libsodium verifying on as many threads at once, bracketing the phase: the limit as the machine's load allows it now
      raw_sodium_threads_per_s: rawThreads,
      ratio_to_threads_raw: ratio(parRate, rawThreads),
      raw_around_single: one.raw,
      raw_around_parallel: all.raw,
      single_s: seconds(one.ms),
      parallel_s: seconds(all.ms),
      ...machine(),
    };
  } finally {
    await pool.close();
    removeDir(dir);
  }
}
