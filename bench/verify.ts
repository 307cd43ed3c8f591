// Verifying a 100k-record stream: Stream.verify (one thread) and verifyStreamParallel (a worker
// per core), against the raw single-core Ed25519 verify rate measured in the same run.
import { VerifierPool, verifyStreamParallel } from '../app/verifier.js';
import { buildWriter, machine, perSecond, ratio, rawVerifyRate, removeDir, seconds, tempDir } from './common.js';

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_RECORDS ?? 100_000);
  const dir = tempDir();
  const pool = new VerifierPool();
  try {
    const s = buildWriter(dir, n);
    const records = s.count();
    // warm the pool (worker start-up is not what is measured)
    await pool.verify(s.changesSince(0, { limit: 256 }).records, s.publicKey);

    let t0 = performance.now();
    const single = s.verify();
    const singleMs = performance.now() - t0;
    if (!single.intact || single.records !== records) throw new Error(`Stream.verify: ${JSON.stringify(single.problems.slice(0, 3))}`);

    t0 = performance.now();
    const par = await verifyStreamParallel(s, pool);
    const parMs = performance.now() - t0;
    if (!par.intact || par.records !== records) throw new Error(`verifyStreamParallel: ${JSON.stringify(par.problems.slice(0, 3))}`);
    s.close();

    const raw = rawVerifyRate(2000);
    const singleRate = perSecond(records, singleMs);
    const parRate = perSecond(records, parMs);
    return {
      bench: 'verify', records, threads: pool.threads,
      single_per_s: singleRate, parallel_per_s: parRate, raw_verify_per_s: raw,
      single_ratio_to_raw: ratio(singleRate, raw), parallel_ratio_to_raw: ratio(parRate, raw), speedup: ratio(parRate, singleRate),
      single_s: seconds(singleMs), parallel_s: seconds(parMs), ...machine(),
    };
  } finally {
    await pool.close();
    removeDir(dir);
  }
}
