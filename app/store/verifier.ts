// Receiving records with their signatures checked in a VerifierPool (verifier-pool.ts) while the
// main thread keeps the cheap, order-dependent work: shape checks and the gap rules (Stream.apply).
// Also the one place other layers import the pool and the parallel stream check from.
import type { DrayerRecord } from '../core/record.js';
import type { ApplyOptions, ApplyResult, Rejection } from './apply.js';
import type { Stream } from './store.js';
import type { VerifierPool } from './verifier-pool.js';

export { INLINE_BELOW, VerifierPool, type FileSession, type VerifierPoolOptions } from './verifier-pool.js';
export { verifyStreamParallel, type VerifyParallelOptions } from './verify-parallel.js';

/** What applies a pulled page to a stream: Stream.apply, or a verifier pool's (preparedApplier). */
export interface Applier {
  (stream: Stream, records: DrayerRecord[]): Promise<ApplyResult> | ApplyResult;
  /**
   * Optional: called with a page's records as soon as they are decoded, possibly while the page
   * before is still being applied, so work that does not depend on the store (checking signatures)
   * can start early. The same array is given to the applier afterwards, unless the pull stops first.
   */
  prepare?(stream: Stream, records: DrayerRecord[]): void;
}

/**
 * Stream.apply with the signatures checked in the pool: verify, then apply the valid records
 * in one transaction. Rejections from verification come first in `rejected`, in input order.
 */
export async function applyParallel(
  stream: Stream,
  records: DrayerRecord[],
  pool: VerifierPool,
  opts: Omit<ApplyOptions, 'verified'> = {},
): Promise<ApplyResult> {
  return applyVerified(stream, records, await pool.verify(records, stream.publicKey, true), opts);
}

/**
 * The second half of applyParallel, for callers that pipeline: `reasons` is what pool.verify
 * answered for exactly these records (e.g. started while the previous page was being applied).
 */
export function applyVerified(stream: Stream, records: DrayerRecord[], reasons: (string | null)[], opts: Omit<ApplyOptions, 'verified'> = {}): ApplyResult {
  if (reasons.length !== records.length) throw new RangeError('applyVerified: one reason per record is needed');
  const ok: DrayerRecord[] = [];
  const rejected: Rejection[] = [];
  for (let i = 0; i < records.length; i++) {
    const why = reasons[i];
    if (why) rejected.push({ record: records[i]!, reason: why });
    else ok.push(records[i]!);
  }
  const result = stream.apply(ok, { ...opts, verified: true });
  if (rejected.length > 0) result.rejected = [...rejected, ...result.rejected];
  return result;
}

/**
 * applyParallel, with each page's signatures sent to the pool as soon as pull has decoded the page
 * (Applier.prepare): the workers check the next page while the main thread applies this one.
 */
export function preparedApplier(pool: VerifierPool): Applier {
  const started = new WeakMap<DrayerRecord[], Promise<(string | null)[]>>();
  const applier: Applier = async (s, records) => {
    const early = started.get(records);
    started.delete(records);
    return applyVerified(s, records, await (early ?? pool.verify(records, s.publicKey, true)));
  };
  applier.prepare = (s, records) => {
    const p = pool.verify(records, s.publicKey, true);
    p.catch(() => {}); // awaited by the applier, or dropped if the pull stops first
    started.set(records, p);
  };
  return applier;
}
