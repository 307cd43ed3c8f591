// Parallel record verification: a pool of worker threads checks Ed25519 signatures and value
// hashes (the expensive part of receiving records), while the main thread keeps the cheap,
// order-dependent work: shape checks, the gap rules (Stream.apply) and chain linkage.
import Database from 'better-sqlite3';
import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from './threads.js';
import { bytesEqual } from './crypto.js';
import { valueProblem } from './msgpack.js';
import { checkRecord, checkShape, DrayerRecord, signingBytes } from './record.js';
import { linkIsMissing, verifyReport, type ApplyOptions, type ApplyResult, type Problem, type Rejection, type Stream, type VerifyReport } from './store.js';
import type { Applier } from './sync.js';
import { BATCH, CODE, JobAnswer, WORKER_MARK } from './verify-worker.js';

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

/** Packs records into one transferable buffer (layout: BATCH in verify-worker.ts). */
class Packer {
  private readonly streamKey: Uint8Array;
  private signed: (Uint8Array | null)[] = [];
  private sigs: (Uint8Array | null)[] = [];
  private vals: (Uint8Array | null)[] = [];
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
    if (why) {
      this.signed.push(null);
      this.sigs.push(null);
      this.vals.push(null);
      return;
    }
    this.signed.push(signingBytes(r));
    this.sigs.push(r.sig);
    this.vals.push(r.val);
    if (r.val) this.valueBytes += r.val.length;
  }

  /** The batch buffer; the packer is empty again afterwards. */
  take(): { n: number; buf: ArrayBuffer; pre: (string | null)[] } {
    const n = this.count;
    const layout = BATCH.layout(n);
    const buf = new ArrayBuffer(layout.vals + this.valueBytes);
    const u8 = new Uint8Array(buf);
    const lens = new Int32Array(buf, layout.lens, n);
    u8.set(this.streamKey, layout.pk);
    let off = layout.vals;
    for (let i = 0; i < n; i++) {
      const sb = this.signed[i];
      if (!sb) {
        lens[i] = BATCH.SKIP;
        continue;
      }
      u8.set(sb, i * BATCH.SIGNED);
      u8.set(this.sigs[i]!, layout.sigs + i * 64);
      const v = this.vals[i];
      if (v) {
        u8.set(v, off);
        off += v.length;
        lens[i] = v.length;
      } else {
        lens[i] = BATCH.NO_VALUE;
      }
    }
    const pre = this.pre;
    this.signed = [];
    this.sigs = [];
    this.vals = [];
    this.pre = [];
    this.valueBytes = 0;
    return { n, buf, pre };
  }
}

function reasonsOf(pre: (string | null)[], codes: Uint8Array): (string | null)[] {
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
  resolve(codes: Uint8Array): void;
  reject(e: Error): void;
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
  private closed = false;

  constructor(opts: VerifierPoolOptions = {}) {
    const t = opts.threads ?? os.availableParallelism();
    if (!Number.isInteger(t) || t < 1) throw new RangeError(`VerifierPool needs at least one thread, got ${t}`);
    this.threads = t;
  }

  /** Per record: why it is unacceptable, or null; the same answers as checkRecord. */
  async verify(records: DrayerRecord[], streamKey: Uint8Array): Promise<(string | null)[]> {
    this.assertOpen();
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
    while (this.slots.length < this.threads) this.slots.push(this.spawn());
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.load < slot.load) slot = s;
    const job = this.nextJob++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(job, { slot, n, resolve, reject });
      if (slot.jobs.size === 0) slot.worker.ref();
      slot.jobs.add(job);
      slot.load += n;
      slot.worker.postMessage({ job, n, buf }, [buf]);
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
    const worker = startWorker('./verify-worker.js', { workerData: WORKER_MARK });
    const slot: Slot = { worker, load: 0, jobs: new Set() };
    worker.unref();
    worker.on('message', (m: JobAnswer) => {
      const p = this.pending.get(m.job);
      if (!p) return;
      this.settle(m.job, p);
      if (m.codes) p.resolve(m.codes);
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
  return applyVerified(stream, records, await pool.verify(records, stream.publicKey), opts);
}

/**
 * The second half of applyParallel, for callers that pipeline: `reasons` is what pool.verify
 * answered for exactly these records (e.g. started while the previous page was being applied).
 */
export function applyVerified(
  stream: Stream,
  records: DrayerRecord[],
  reasons: (string | null)[],
  opts: Omit<ApplyOptions, 'verified'> = {},
): ApplyResult {
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

type Row = {
  seq: number; chain: Buffer; id: number; type: string; key: string; val: Buffer | null; hash: Buffer;
  ts: number; mod: number; prev: number; prevch: number; sig: Buffer;
};

const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function rowToRecord(r: Row): DrayerRecord {
  return {
    id: r.id, type: r.type, key: r.key, val: r.val ? view(r.val) : null, hash: view(r.hash),
    ts: r.ts, mod: r.mod, prev: r.prev, prevch: r.prevch, sig: view(r.sig), chain: view(r.chain),
  };
}

/** A read-only connection of our own: one snapshot for the whole check, the stream's connection stays free. */
function openSnapshot(stream: Stream): { db: Database.Database; done(): void } {
  try {
    const db = new Database(stream.file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN');
    return {
      db,
      done: () => {
        if (db.inTransaction) db.exec('COMMIT');
        db.close();
      },
    };
  } catch {
    // e.g. a read-only directory without the WAL index: read through the stream's own connection
    return { db: stream.db, done: () => {} };
  }
}

/**
 * Stream.verify with the signatures and value hashes checked in the pool, pipelined: rows are read
 * and sent in batches while earlier batches are being checked, with a bounded number in flight.
 * Same report (and the same problems, in the same order) as Stream.verify.
 */
export async function verifyStreamParallel(stream: Stream, pool: VerifierPool, opts: { maxProblems?: number } = {}): Promise<VerifyReport> {
  const maxProblems = opts.maxProblems ?? 1000;
  const problems: Problem[] = [];
  const add = (id: number, what: string) => {
    if (problems.length < maxProblems) problems.push({ id, what });
  };
  const filter = stream.partial;
  const partial = Boolean(filter.minId || filter.minMod);
  const mirror = !stream.writable;
  let missing = 0;
  let named = false;
  const streamKey = stream.publicKey;
  let records = 0;
  let metaOnly = 0;
  let lastId = 0;
  let mods = new Float64Array(1 << 14);
  let prevchs = new Float64Array(1 << 14);
  let ids = new Float64Array(1 << 14);

  // One batch in flight: what its problems need once its answer is back.
  interface Sent {
    answer: Promise<Uint8Array> | null;
    pre: (string | null)[];
    ids: number[];
    labels: string[];
    /** values that do not decode as their type requires, by index in the batch */
    values: Map<number, string>;
    /** ID chain problems, by index in the batch */
    linkage: Map<number, string>;
  }
  const inflight: Sent[] = [];
  const maxInflight = pool.threads * 2;
  let cur: Omit<Sent, 'answer' | 'pre'> = { ids: [], labels: [], values: new Map(), linkage: new Map() };
  const packer = new Packer(streamKey);

  const report = (s: Sent, codes: Uint8Array | null) => {
    const reasons = codes ? reasonsOf(s.pre, codes) : s.pre;
    for (let i = 0; i < s.ids.length; i++) {
      const why = reasons[i] ?? s.values.get(i); // as Stream.verify: the record's own problem first
      if (why) add(s.ids[i]!, `record ${s.ids[i]} (${s.labels[i]}): ${why}`);
      const link = s.linkage.get(i);
      if (link) add(s.ids[i]!, link);
    }
  };
  const drainOne = async () => {
    const s = inflight.shift()!;
    report(s, s.answer ? await s.answer : null);
  };
  const send = async () => {
    const { n, buf, pre } = packer.take();
    const answer = pre.every((p) => p !== null) ? null : pool.submit(n, buf);
    answer?.catch(() => {}); // awaited in order below; this keeps a failure from being "unhandled" meanwhile
    inflight.push({ answer, pre, ...cur });
    cur = { ids: [], labels: [], values: new Map(), linkage: new Map() };
    while (inflight.length >= maxInflight) await drainOne();
  };

  const snap = openSnapshot(stream);
  try {
    const rows = snap.db.prepare('SELECT * FROM records ORDER BY chain, id').iterate() as IterableIterator<Row>;
    for (const row of rows) {
      const r = rowToRecord(row);
      if (packer.full(r.val?.length ?? 0)) await send();
      if (records === mods.length) {
        const grow = (a: Float64Array) => {
          const b = new Float64Array(a.length * 2);
          b.set(a);
          return b;
        };
        mods = grow(mods);
        prevchs = grow(prevchs);
        ids = grow(ids);
      }
      mods[records] = r.mod;
      prevchs[records] = r.prevch;
      ids[records] = r.id;
      records++;
      if (r.val === null) metaOnly++;
      const i = packer.count;
      packer.add(r);
      cur.ids.push(r.id);
      cur.labels.push(`${r.type}/${r.key}`);
      const bad = valueProblem(r.type, r.key, r.val);
      if (bad) cur.values.set(i, bad);
      if (!partial && r.prev !== lastId) {
        if (linkIsMissing(r.prev, lastId, mirror)) missing++;
        else cur.linkage.set(i, `record ${r.id}: ID chain broken: prev is ${r.prev} but the record before it is ${lastId}`);
      }
      lastId = r.id;
    }
    if (packer.count > 0) await send();
    while (inflight.length > 0) await drainOne();

    // The M chain, as Stream.verify checks it (a stable sort by mod).
    const order = Array.from({ length: records }, (_, i) => i);
    order.sort((a, b) => mods[a]! - mods[b]!);
    let lastMod = 0;
    for (const i of order) {
      const mod = mods[i]!;
      const id = ids[i]!;
      if (!partial && prevchs[i] !== lastMod) {
        if (linkIsMissing(prevchs[i]!, lastMod, mirror)) missing++;
        else add(id, `record ${id}: M chain broken: prevch is ${prevchs[i]} but the record before it by mod has mod ${lastMod}`);
      }
      if (mod === lastMod) add(id, `record ${id}: mod ${mod} is not unique`);
      lastMod = mod;
    }
    if (records === 0) add(0, 'the stream holds no records (not even drayer/info): it has never been synced');
    named = snap.db.prepare(`SELECT 1 FROM records WHERE chain = ? AND type = 'drayer' AND key = 'info' LIMIT 1`).get(Buffer.from(streamKey)) !== undefined;
  } finally {
    // Wait for anything still out (after an error) so no answer lands after we return.
    await Promise.allSettled(inflight.map((s) => s.answer));
    snap.done();
  }
  return verifyReport({ records, metaOnly, problems, partial, missing, unfinished: mirror ? stream.unfinishedSyncs() : [], named });
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
    return applyVerified(s, records, await (early ?? pool.verify(records, s.publicKey)));
  };
  applier.prepare = (s, records) => {
    const p = pool.verify(records, s.publicKey);
    p.catch(() => {}); // awaited by the applier, or dropped if the pull stops first
    started.set(records, p);
  };
  return applier;
}
