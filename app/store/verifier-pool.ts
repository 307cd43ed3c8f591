// A pool of worker threads that check Ed25519 signatures and value hashes (the expensive part of
// receiving records), packed many records to a message; and, for verify-parallel.ts, file sessions
// in which every worker holds the same snapshot of a stream file and checks ranges of it.
import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/threads.js';
import { bytesEqual } from '../core/crypto.js';
import { checkRecord, checkShape, type DrayerRecord, writeSigningBytes } from '../core/record.js';
import { BATCH, CODE, WORKER_MARK, type FileWork, type Job, type JobAnswer } from './verify-worker.js';
import type { IdRangeResult, ModRangeResult, Range, RangeCheck } from './verify-range.js';

// The reasons checkRecord gives (record.ts); test/verifier.test.ts proves they stay identical.
const REASON = {
  chain: 'it belongs to another chain (sibling chains are not supported)',
  badHash: 'its value does not match its hash (tampered)',
  badSig: 'its signature is not valid for this stream (forged or altered)',
} as const;

/** Below this many records a call is verified inline: a round trip to a worker costs more. */
export const INLINE_BELOW = 64;
/** Most records in one message to a worker. */
const MAX_BATCH = 512;
/** Most value bytes in one message (a single larger value still travels alone). */
const MAX_BATCH_VALUE_BYTES = 8 * 1024 * 1024;

/** Most records per ID-order range a worker checks in one job: ~60 ms of work. */
export const ID_RANGE = 1024;
/** Most records per mod-order range (no signatures: each costs a few µs). */
export const MOD_RANGE = 16_384;

/** Packs records into one transferable buffer (layout: BATCH in verify-worker.ts). */
export class Packer {
  private readonly streamKey: Uint8Array;
  /** the records to pack, null where one was refused here already */
  private recs: (DrayerRecord | null)[] = [];
  /** reasons found on this thread (shape, chain), before any signature check */
  pre: (string | null)[] = [];
  valueBytes = 0;

  constructor(streamKey: Uint8Array) {
    this.streamKey = streamKey;
  }

  get count(): number {
    return this.pre.length;
  }

  /** Would adding a value of this size overflow the batch? */
  full(nextValueBytes = 0): boolean {
    return this.count >= MAX_BATCH || (this.count > 0 && this.valueBytes + nextValueBytes > MAX_BATCH_VALUE_BYTES);
  }

  add(r: DrayerRecord): void {
    const why = checkShape(r) ?? (bytesEqual(r.chain, this.streamKey) ? null : REASON.chain);
    this.pre.push(why);
    this.recs.push(why ? null : r);
    if (!why && r.val) this.valueBytes += r.val.length;
  }

  /** The batch buffer; the packer is empty again afterwards. */
  take(): { n: number; buf: ArrayBuffer; pre: (string | null)[] } {
    const n = this.count;
    const layout = BATCH.layout(n);
    const buf = new ArrayBuffer(layout.vals + this.valueBytes);
    const u8 = new Uint8Array(buf);
    const view = new DataView(buf);
    const lens = new Int32Array(buf, layout.lens, n);
    u8.set(this.streamKey, layout.pk);
    let off = layout.vals;
    for (let i = 0; i < n; i++) {
      const r = this.recs[i];
      if (!r) {
        lens[i] = BATCH.SKIP;
        continue;
      }
      // Written in place: no 136-byte array per record for the collector (a clone packs every record).
      writeSigningBytes(r, u8, view, i * BATCH.SIGNED);
      u8.set(r.sig, layout.sigs + i * 64);
      const v = r.val;
      if (v) {
        u8.set(v, off);
        off += v.length;
        lens[i] = v.length;
      } else {
        lens[i] = BATCH.NO_VALUE;
      }
    }
    const pre = this.pre;
    this.recs = [];
    this.pre = [];
    this.valueBytes = 0;
    return { n, buf, pre };
  }
}

export function reasonsOf(pre: (string | null)[], codes: Uint8Array): (string | null)[] {
  return pre.map((p, i) => p ?? (codes[i] === CODE.badHash ? REASON.badHash : codes[i] === CODE.badSig ? REASON.badSig : null));
}

interface Slot {
  worker: Worker;
  /** records sent and not yet answered */
  load: number;
  jobs: Set<number>;
}

interface Pending {
  slot: Slot;
  n: number;
  resolve(answer: NonNullable<JobAnswer['codes'] | JobAnswer['result']>): void;
  reject(e: Error): void;
}

/** The workers of one verifyStreamParallel, each holding the same snapshot of the stream file. */
export interface FileSession {
  readonly workers: number;
  /** Check one range in worker `w` (0 ≤ w < workers). */
  ids(w: number, check: RangeCheck, range: Range): Promise<IdRangeResult>;
  mods(w: number, check: RangeCheck, range: Range): Promise<ModRangeResult>;
  /** End the workers' read transactions (after any range still running). */
  close(): Promise<void>;
}

export interface VerifierPoolOptions {
  /** worker threads; default os.availableParallelism() */
  threads?: number;
}

/**
 * Worker threads that verify records' signatures and value hashes. Workers start on first use
 * and hold the process open only while they have work; close() ends them.
 */
export class VerifierPool {
  readonly threads: number;
  private slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextJob = 1;
  private nextSession = 1;
  private closed = false;

  constructor(opts: VerifierPoolOptions = {}) {
    const t = opts.threads ?? os.availableParallelism();
    if (!Number.isInteger(t) || t < 1) throw new RangeError(`VerifierPool needs at least one thread, got ${t}`);
    this.threads = t;
  }

  /** Per record: why it is unacceptable, or null; the same answers as checkRecord (with `anyChain`, as checkRecord's). */
  async verify(records: DrayerRecord[], streamKey: Uint8Array, anyChain = false): Promise<(string | null)[]> {
    this.assertOpen();
    // Records of a device's chain (§9, few) are checked here against their own chain's key; a
    // worker's batch carries one key. Whether the chain counts is the store's to say (apply.ts).
    if (anyChain && records.some((r) => r.chain instanceof Uint8Array && !bytesEqual(r.chain, streamKey))) {
      const own = records.filter((r) => !(r.chain instanceof Uint8Array) || bytesEqual(r.chain, streamKey));
      const ownReasons = await this.verify(own, streamKey);
      let i = 0;
      return records.map((r) => (own[i] === r ? ownReasons[i++]! : checkRecord(r, streamKey, true)));
    }
    if (records.length < INLINE_BELOW) return records.map((r) => checkRecord(r, streamKey));
    // Enough batches to keep every worker busy, few enough to keep messages cheap.
    const per = Math.min(MAX_BATCH, Math.max(INLINE_BELOW, Math.ceil(records.length / (this.threads * 2))));
    const packer = new Packer(streamKey);
    const parts: Promise<(string | null)[]>[] = [];
    const flush = () => {
      const { n, buf, pre } = packer.take();
      parts.push(this.submit(n, buf).then((codes) => reasonsOf(pre, codes)));
    };
    for (const r of records) {
      if (packer.count >= per || packer.full(r?.val?.length ?? 0)) flush();
      packer.add(r);
    }
    if (packer.count > 0) flush();
    return (await Promise.all(parts)).flat();
  }

  /** Send one packed batch; resolves with one CODE per record. */
  submit(n: number, buf: ArrayBuffer): Promise<Uint8Array> {
    this.assertOpen();
    this.fill();
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.load < slot.load) slot = s;
    return this.send(slot, n, { n, buf }, [buf]) as Promise<Uint8Array>;
  }

  /**
   * Every worker opens `file` read-only and takes a snapshot of it (verifyStreamParallel); null
   * when one of them cannot (e.g. a read-only directory without the WAL index).
   */
  async openFile(file: string): Promise<FileSession | null> {
    this.assertOpen();
    this.fill();
    const slots = [...this.slots];
    const session = this.nextSession++;
    const job = (slot: Slot, n: number, m: FileWork) => this.send(slot, n, { ...m, session });
    const opened = await Promise.allSettled(slots.map((slot) => job(slot, 1, { kind: 'open', file })));
    // (after close() of the pool, or a worker's death, there is nothing left to close: its thread is gone)
    const close = () => Promise.allSettled(slots.map(async (slot, i) => opened[i]!.status === 'fulfilled' && job(slot, 1, { kind: 'close' }))).then(() => {});
    if (opened.some((o) => o.status === 'rejected')) {
      await close();
      return null;
    }
    return {
      workers: slots.length,
      ids: (w, check, range) => job(slots[w]!, ID_RANGE, { kind: 'ids', check, range }) as Promise<IdRangeResult>,
      mods: (w, check, range) => job(slots[w]!, MOD_RANGE / 8, { kind: 'mods', check, range }) as Promise<ModRangeResult>,
      close,
    };
  }

  /** Start the workers not running yet. */
  private fill(): void {
    while (this.slots.length < this.threads) this.slots.push(this.spawn());
  }

  /** One job to one worker; `n` is its weight for balancing (records). Resolves with the answer. */
  private send(slot: Slot, n: number, m: Omit<Job, 'job'> | (FileWork & { session: number }), transfer: ArrayBuffer[] = []): Promise<unknown> {
    this.assertOpen();
    // a worker that died is gone from slots and would never answer
    if (!this.slots.includes(slot)) return Promise.reject(new Error('a verifier worker exited'));
    const job = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(job, { slot, n, resolve, reject });
      if (slot.jobs.size === 0) slot.worker.ref();
      slot.jobs.add(job);
      slot.load += n;
      slot.worker.postMessage({ ...m, job }, transfer);
    });
  }

  /** End the workers; calls still waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    this.failAll(slots, new Error('the verifier pool was closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the verifier pool is closed');
  }

  private spawn(): Slot {
    const worker = startWorker(new URL('./verify-worker.js', import.meta.url), { workerData: WORKER_MARK });
    const slot: Slot = { worker, load: 0, jobs: new Set() };
    worker.unref();
    worker.on('message', (m: JobAnswer) => {
      const p = this.pending.get(m.job);
      if (!p) return;
      this.settle(m.job, p);
      const answer = m.codes ?? m.result;
      if (answer) p.resolve(answer);
      else p.reject(new Error(`a verifier worker failed: ${m.error}`));
    });
    const lost = (e: Error) => {
      // A dead worker fails its own jobs; the next submit starts a fresh one in its place.
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      this.failAll([slot], e);
      void worker.terminate();
    };
    worker.on('error', (e) => lost(e));
    worker.on('exit', (code) => lost(new Error(`a verifier worker exited (code ${code})`)));
    return slot;
  }

  private settle(job: number, p: Pending): void {
    this.pending.delete(job);
    p.slot.jobs.delete(job);
    p.slot.load -= p.n;
    if (p.slot.jobs.size === 0) p.slot.worker.unref();
  }

  private failAll(slots: Slot[], e: Error): void {
    for (const s of slots) {
      for (const job of [...s.jobs]) {
        const p = this.pending.get(job);
        if (!p) continue;
        this.settle(job, p);
        p.reject(e);
      }
    }
  }
}
