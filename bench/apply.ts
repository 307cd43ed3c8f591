// A fresh mirror applies the writer's whole change feed (100k records) in pages of 1000 through
// applyParallel, against the raw single-core Ed25519 verify rate measured in the same run.
// Then a second fresh mirror does the same pipelined, as a sync client can: the next page is read
// and verified in the pool while the current one is applied (pool.verify + applyVerified).
import * as path from 'node:path';
import { Stream } from '../app/store/store.js';
import { applyParallel, applyVerified, VerifierPool } from '../app/store/verifier.js';
import { bracketed, buildWriter, cpuMicrosEach, machine, perSecond, ratio, rawVerifyRate, removeDir, seconds, tempDir } from './common.js';

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_RECORDS ?? 100_000);
  const pageSize = 1000;
  const dir = tempDir();
  const pool = new VerifierPool();
  try {
    const w = buildWriter(dir, n);
    const m = Stream.create(path.join(dir, 'mirror.stream'), { followKey: w.publicKey });
    await pool.verify(w.changesSince(0, { limit: 256 }).records, w.publicKey); // warm the workers

    let readMs = 0;
    let records = 0;
    const seq = await bracketed(rawVerifyRate, 2000, async () => {
      let since = 0;
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
    });
    if (m.count() !== w.count()) throw new Error(`mirror holds ${m.count()} records, writer ${w.count()}`);
    m.close();

    const m2 = Stream.create(path.join(dir, 'mirror2.stream'), { followKey: w.publicKey });
    const pipe = await bracketed(rawVerifyRate, 2000, async () => {
      let page = w.changesSince(0, { limit: pageSize });
      let reasons = pool.verify(page.records, w.publicKey);
      for (;;) {
        const next = page.more ? w.changesSince(page.seq, { limit: pageSize }) : null;
        const nextReasons = next ? pool.verify(next.records, w.publicKey) : null;
        const res = applyVerified(m2, page.records, await reasons);
        if (res.rejected.length > 0) throw new Error(`rejected: ${res.rejected[0]!.reason}`);
        if (!next) break;
        page = next;
        reasons = nextReasons!;
      }
    });
    if (m2.count() !== w.count()) throw new Error(`pipelined mirror holds ${m2.count()} records, writer ${w.count()}`);
    m2.close();
    w.close();

    const rate = perSecond(records, seq.ms);
    const pipeRate = perSecond(records, pipe.ms);
    const rawSodium = rawVerifyRate(1000, 'sodium');
    return {
      bench: 'apply',
      records,
      page: pageSize,
      threads: pool.threads,
      records_per_s: rate,
      raw_verify_per_s: seq.raw,
      ratio_to_raw_verify: ratio(rate, seq.raw),
      cpu_us_per_record: cpuMicrosEach(seq.cpuMs, records),
      raw_cpu_us_per_verify: Math.round(1e7 / seq.raw) / 10,
      seconds: seconds(seq.ms),
      feed_read_s: seconds(readMs),
      pipelined_records_per_s: pipeRate,
      pipelined_raw_verify_per_s: pipe.raw,
      pipelined_ratio_to_raw_verify: ratio(pipeRate, pipe.raw),
      raw_sodium_verify_per_s: rawSodium,
      pipelined_ratio_to_raw_sodium: ratio(pipeRate, rawSodium),
      ...machine(),
    };
  } finally {
    await pool.close();
    removeDir(dir);
  }
}
