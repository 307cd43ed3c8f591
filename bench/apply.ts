// A fresh mirror applies the writer's whole change feed (100k records) in pages of 1000 through
// applyParallel, against the raw single-core Ed25519 verify rate measured in the same run.
import * as path from 'node:path';
import { Stream } from '../app/store.js';
import { applyParallel, VerifierPool } from '../app/verifier.js';
import { buildWriter, machine, perSecond, ratio, rawVerifyRate, removeDir, seconds, tempDir } from './common.js';

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_RECORDS ?? 100_000);
  const pageSize = 1000;
  const dir = tempDir();
  const pool = new VerifierPool();
  try {
    const w = buildWriter(dir, n);
    const m = Stream.create(path.join(dir, 'mirror.stream'), { followKey: w.publicKey });
    await pool.verify(w.changesSince(0, { limit: 256 }).records, w.publicKey); // warm the workers

    let since = 0;
    let records = 0;
    let readMs = 0;
    const t0 = performance.now();
    for (;;) {
      const r0 = performance.now();
      const page = w.changesSince(since, { limit: pageSize });
      readMs += performance.now() - r0;
      const res = await applyParallel(m, page.records, pool);
      if (res.rejected.length > 0) throw new Error(`rejected: ${res.rejected[0]!.reason}`);
      records += page.records.length;
      since = page.seq;
      if (!page.more) break;
    }
    const ms = performance.now() - t0;
    if (m.count() !== w.count()) throw new Error(`mirror holds ${m.count()} records, writer ${w.count()}`);
    w.close();
    m.close();

    const raw = rawVerifyRate(2000);
    const rate = perSecond(records, ms);
    return {
      bench: 'apply', records, page: pageSize, threads: pool.threads,
      records_per_s: rate, raw_verify_per_s: raw, ratio_to_raw_verify: ratio(rate, raw),
      seconds: seconds(ms), feed_read_s: seconds(readMs), ...machine(),
    };
  } finally {
    await pool.close();
    removeDir(dir);
  }
}
