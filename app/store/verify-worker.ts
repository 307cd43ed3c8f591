// Worker side of VerifierPool (verifier-pool.ts): checks value hashes and Ed25519 signatures of a
// packed batch and answers one status byte per record; or, for verifyStreamParallel, opens the
// stream file itself and checks ranges of it (verify-range.ts). Importing crypto.js initialises hash-wasm
// (top-level await) in this thread before the first message is handled; messages that arrive
// meanwhile wait in the port's queue. The main thread imports this module too, for the batch
// layout; it only listens for jobs when started by VerifierPool.
import { parentPort, workerData } from 'node:worker_threads';
import { blake2b256, verify } from '../core/crypto.js';
import { RangeReader, type IdRangeResult, type ModRangeResult, type Range, type RangeCheck } from './verify-range.js';

/**
 * One batch travels as a single transferred ArrayBuffer:
 * [signing bytes, 136 per record][signatures, 64 per record][stream key, 32][value lengths, i32 per
 * record: -1 no value (metadata-only), -2 skip (already rejected)][values, concatenated].
 * The value hash is inside the signing bytes (offset 72), so it is not sent twice.
 */
export const BATCH = {
  SIGNED: 136,
  HASH_AT: 72,
  NO_VALUE: -1,
  SKIP: -2,
  layout(n: number) {
    const sigs = n * 136;
    const pk = sigs + n * 64;
    const lens = pk + 32; // a multiple of 4: Int32Array can view it
    const vals = lens + n * 4;
    return { sigs, pk, lens, vals };
  },
} as const;

/** Status byte per record, answered by the worker. */
export const CODE = { ok: 0, badHash: 1, badSig: 2, skipped: 3 } as const;

export interface Job {
  job: number;
  n: number;
  buf: ArrayBuffer;
}

/**
 * Jobs on a stream file: `open` takes a read snapshot (kept by the worker under `session` until
 * `close`), `ids` and `mods` check one range of it.
 */
export type FileWork = { kind: 'open'; file: string } | { kind: 'ids' | 'mods'; check: RangeCheck; range: Range } | { kind: 'close' };
export type FileJob = { job: number; session: number } & FileWork;

export interface JobAnswer {
  job: number;
  codes?: Uint8Array;
  result?: IdRangeResult | ModRangeResult | true;
  error?: string;
}

/** workerData marker VerifierPool starts its workers with. */
export const WORKER_MARK = 'drayer-verify-worker';

function sameHash(a: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== buf[off + i]) return false;
  return true;
}

export function verifyBatch(n: number, buf: ArrayBuffer): Uint8Array {
  const u8 = new Uint8Array(buf);
  const layout = BATCH.layout(n);
  const lens = new Int32Array(buf, layout.lens, n);
  const pk = u8.subarray(layout.pk, layout.pk + 32);
  const codes = new Uint8Array(n);
  let off = layout.vals;
  for (let i = 0; i < n; i++) {
    const len = lens[i]!;
    if (len === BATCH.SKIP) {
      codes[i] = CODE.skipped;
      continue;
    }
    const sb = i * BATCH.SIGNED;
    if (len >= 0) {
      const val = u8.subarray(off, off + len);
      off += len;
      if (!sameHash(blake2b256(val), u8, sb + BATCH.HASH_AT)) {
        codes[i] = CODE.badHash;
        continue;
      }
    }
    const sig = layout.sigs + i * 64;
    codes[i] = verify(u8.subarray(sb, sb + BATCH.SIGNED), u8.subarray(sig, sig + 64), pk) ? CODE.ok : CODE.badSig;
  }
  return codes;
}

const readers = new Map<number, RangeReader>();

function fileJob(m: FileJob): IdRangeResult | ModRangeResult | true {
  if (m.kind === 'open') {
    readers.set(m.session, new RangeReader(m.file));
    return true;
  }
  const reader = readers.get(m.session);
  if (m.kind === 'close') {
    readers.delete(m.session);
    reader?.close();
    return true;
  }
  if (!reader) throw new Error(`no open stream file for session ${m.session}`);
  return m.kind === 'ids' ? reader.ids(m.check, m.range) : reader.mods(m.check, m.range);
}

const port = parentPort;
if (port && workerData === WORKER_MARK)
  port.on('message', (m: Job | FileJob) => {
    try {
      if ('kind' in m) {
        port.postMessage({ job: m.job, result: fileJob(m) } satisfies JobAnswer);
        return;
      }
      const codes = verifyBatch(m.n, m.buf);
      port.postMessage({ job: m.job, codes } satisfies JobAnswer, [codes.buffer as ArrayBuffer]);
    } catch (e) {
      port.postMessage({ job: m.job, error: String((e as Error)?.stack ?? e) } satisfies JobAnswer);
    }
  });
