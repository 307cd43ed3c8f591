// Parallel record verification: a pool of worker threads checks Ed25519 signatures and value
// hashes (the expensive part of receiving records), while the main thread keeps the cheap,
// order-dependent work: shape checks, the gap rules (Stream.apply) and chain linkage. To verify a
// whole stream the workers read the file themselves: reading and packing rows on the main thread
// took a sixth of the CPU, which on a machine with as many cores as workers slowed them down.
import Database from 'better-sqlite3';
import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/threads.js';
import { bytesEqual } from '../core/crypto.js';
import { valueProblem } from '../core/msgpack.js';
import { checkRecord, checkShape, DrayerRecord, signingBytes } from '../core/record.js';
import { linkIsMissing, verifyReport, type ApplyOptions, type ApplyResult, type Problem, type Rejection, type Stream, type VerifyReport } from './store.js';
import { BATCH, CODE, WORKER_MARK, type FileWork, type Job, type JobAnswer } from './verify-worker.js';
import { modsOf, RangeJoiner, type IdRangeResult, type ModRangeResult, type Range, type RangeCheck } from './verify-range.js';

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

/** The snapshot a check reads: taken when the call starts, held until done(). */
interface Snapshot {
  db: Database.Database;
  /** a connection of our own, so other threads can be proven to read the same snapshot */
  own: boolean;
  /** Whether anything was committed to the file since the snapshot was taken (true when unsure). */
  changed(): boolean;
  done(): void;
}

/** A read-only connection of our own: one snapshot for the whole check, the stream's connection stays free. */
function openSnapshot(stream: Stream): Snapshot {
  let probe: Database.Database | null = null;
  let db: Database.Database | null = null;
  try {
    // data_version changes when another connection commits. Read before the snapshot is taken, an
    // unchanged value later proves no commit landed in between: readers that began meanwhile
    // (the workers) see this same snapshot.
    probe = new Database(stream.file, { readonly: true, fileMustExist: true });
    const version = () => probe!.pragma('data_version', { simple: true }) as number;
    const v0 = version();
    db = new Database(stream.file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN');
    db.prepare('SELECT max(seq) FROM records').get(); // WAL takes the snapshot at the first read, not at BEGIN
    const snap = db;
    const p = probe;
    return {
      db: snap,
      own: true,
      changed: () => version() !== v0,
      done: () => {
        p.close();
        if (snap.inTransaction) snap.exec('COMMIT');
        snap.close();
      },
    };
  } catch {
    probe?.close();
    db?.close();
    // e.g. a read-only directory without the WAL index: read through the stream's own connection
    return { db: stream.db, own: false, changed: () => true, done: () => {} };
  }
}

/** Most records per ID-order range a worker checks in one job: ~60 ms of work. */
const ID_RANGE = 1024;
/** Most records per mod-order range (no signatures: each costs a few µs). */
const MOD_RANGE = 16_384;
/**
 * Ranges shrink towards the end (to what is left over this many ranges per worker, down to
 * MIN_RANGE), so the workers finish together: the last range's time is time one worker waits.
 */
const RANGES_LEFT = 4;
const MIN_RANGE = 64;
/** Ranges per worker at once: the next one is queued while it checks this one. */
const DEPTH = 2;
/** Ranges checked ahead of the first one still running, at most: answers waiting to be joined stay few. */
const AHEAD = 64;

/** What a check adds up to, before verifyReport. */
interface Tally {
  records: number;
  metaOnly: number;
  missing: number;
  problems: Problem[];
  /** drayer/info is there (a stream without one is noted, not broken) */
  named: boolean;
}

/**
 * Stream.verify with the signatures and value hashes checked in the pool. Each worker opens the
 * file itself and checks ranges of it, the main thread only joins the ranges' answers (see
 * verify-range.ts); where the workers cannot read the very snapshot taken at the call (a file
 * with records of several chains, a commit landing while they opened it, a file they cannot
 * open), the main thread reads the rows and sends them to the pool instead.
 * Same report (and the same problems, in the same order) as Stream.verify.
 */
export async function verifyStreamParallel(stream: Stream, pool: VerifierPool, opts: VerifyParallelOptions = {}): Promise<VerifyReport> {
  const filter = stream.partial;
  const check = {
    streamKey: stream.publicKey,
    partial: Boolean(filter.minId || filter.minMod),
    mirror: !stream.writable,
    maxProblems: opts.maxProblems ?? 1000,
  };
  const snap = openSnapshot(stream);
  let tally: Tally;
  try {
    tally = (await verifyInWorkers(stream, pool, snap, check, opts)) ?? (await verifyOnMain(snap.db, pool, check));
  } finally {
    snap.done();
  }
  return verifyReport({ ...tally, partial: check.partial, unfinished: check.mirror ? stream.unfinishedSyncs() : [] });
}

export interface VerifyParallelOptions {
  maxProblems?: number;
  /**
   * For tests and benches: told which way the check goes, 'workers' (once every worker holds the
   * snapshot, before any range is read) or 'main: ' and why.
   */
  onPath?: (path: string) => void;
  /** For tests: records per range (small ones put many range boundaries in a small stream). */
  rangeSize?: number;
}

type Check = Omit<RangeCheck, 'chain'>;

/** The end of Stream.verify: a stream with no records, or without drayer/info. */
function finish(j: RangeJoiner, info: boolean, c: Check): Tally {
  if (j.records === 0) j.add({ id: 0, what: 'the stream holds no records (not even drayer/info): it has never been synced' });
  // No drayer/info is no damage (the original Drayer never wrote one): verifyReport notes it.
  return { records: j.records, metaOnly: j.metaOnly, missing: j.missing, problems: j.problems, named: info };
}

/** The workers read the file: null when they cannot read the snapshot the call took. */
async function verifyInWorkers(stream: Stream, pool: VerifierPool, snap: Snapshot, c: Check, opts: VerifyParallelOptions): Promise<Tally | null> {
  const no = (reason: string) => {
    opts.onPath?.(`main: ${reason}`);
    return null;
  };
  if (!snap.own) return no('the file cannot be opened again');
  const db = snap.db;
  // The ranges read one chain through its indexes; other chains' records (damage) need the main path.
  const lowest = db.prepare('SELECT chain FROM records ORDER BY chain LIMIT 1').pluck().get();
  const highest = db.prepare('SELECT chain FROM records ORDER BY chain DESC LIMIT 1').pluck().get();
  if (!Buffer.isBuffer(lowest) || !Buffer.isBuffer(highest)) return no('no records');
  if (!lowest.equals(highest)) return no('several chains');
  const chain = lowest;
  const session = await pool.openFile(stream.file);
  if (!session) return no('a worker cannot open the file');
  try {
    if (snap.changed()) return no('written to meanwhile');
    opts.onPath?.('workers');
    const rc: RangeCheck = { ...c, chain };
    const joiner = new RangeJoiner(c);
    const size = (most: number) => (left: number) => opts.rangeSize ?? Math.max(MIN_RANGE, Math.min(most, Math.ceil(left / (session.workers * RANGES_LEFT))));
    const idRanges = rangesOf(db, chain, 'id', size(ID_RANGE));
    await inRanges(session, idRanges, (w, range) => session.ids(w, rc, range), (r) => joiner.ids(r));
    // Where mods do not rise with ids (a stream with edits: an edit gives a record the newest mod),
    // the M chain needs a pass of its own, in mod order.
    const modRanges = () => rangesOf(db, chain, 'mod', size(MOD_RANGE));
    if (!joiner.idsDone()) await inRanges(session, modRanges(), (w, range) => session.mods(w, rc, range), (r) => joiner.mods(r));
    return finish(joiner, joiner.info && bytesEqual(chain, c.streamKey), c);
  } finally {
    await session.close();
  }
}

/**
 * One order's ranges, of size(records left) records each; bounds (and the count) come from the
 * snapshot's covering index, no row is read.
 */
function* rangesOf(db: Database.Database, chain: Buffer, order: 'id' | 'mod', size: (left: number) => number): Generator<Range> {
  const from = db.prepare(`SELECT ${order} FROM records WHERE chain = ? ORDER BY ${order} LIMIT 1 OFFSET ?`).pluck();
  const next = db.prepare(`SELECT ${order} FROM records WHERE chain = ? AND ${order} > ? ORDER BY ${order} LIMIT 1 OFFSET ?`).pluck();
  let left = db.prepare(`SELECT count(*) FROM records WHERE chain = ?`).pluck().get(chain) as number;
  let after: number | null = null;
  for (;;) {
    const n = size(left);
    const upTo: number | null = ((after === null ? from.get(chain, n - 1) : next.get(chain, after, n - 1)) as number | undefined) ?? null;
    yield { after, upTo }; // the last range is open: it ends where the chain does
    if (upTo === null) return;
    after = upTo;
    left -= n;
  }
}

/**
 * Check `ranges` in the session's workers, DEPTH at a time each (a worker that is done takes the
 * next range: a thread slowed by the machine's other work does less), and hand the answers to
 * `join` in range order. Fails with the first failure, after the ranges still out are answered.
 */
async function inRanges<R>(
  session: FileSession,
  ranges: Iterator<Range>,
  check: (worker: number, range: Range) => Promise<R>,
  join: (r: R) => void,
): Promise<void> {
  const answers = new Map<number, R>();
  let handedOut = 0;
  let joined = 0;
  let failed = false;
  let waiting: (() => void)[] = [];
  const wakeAll = () => {
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  };
  const lane = async (w: number) => {
    for (;;) {
      while (!failed && handedOut - joined >= AHEAD) await new Promise<void>((r) => waiting.push(r));
      if (failed) return;
      const next = ranges.next();
      if (next.done) return;
      const i = handedOut++;
      try {
        answers.set(i, await check(w, next.value));
      } catch (e) {
        failed = true;
        wakeAll();
        throw e;
      }
      for (let a = answers.get(joined); a !== undefined; a = answers.get(joined)) {
        answers.delete(joined++);
        join(a);
      }
      wakeAll();
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: session.workers * DEPTH }, (_, i) => lane(i % session.workers)));
  const failure = lanes.find((l) => l.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * The main thread reads the rows and sends them to the pool in batches, pipelined (a bounded
 * number in flight); the M chain is read in mod order from SQLite.
 */
async function verifyOnMain(db: Database.Database, pool: VerifierPool, c: Check): Promise<Tally> {
  const streamKey = c.streamKey;
  const joiner = new RangeJoiner(c);
  const add = (id: number, what: string) => joiner.add({ id, what });
  let lastId = 0;

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

  try {
    const rows = db.prepare('SELECT * FROM records ORDER BY chain, id').iterate() as IterableIterator<Row>;
    for (const row of rows) {
      const r = rowToRecord(row);
      if (packer.full(r.val?.length ?? 0)) await send();
      joiner.records++;
      if (r.val === null) joiner.metaOnly++;
      const i = packer.count;
      packer.add(r);
      cur.ids.push(r.id);
      cur.labels.push(`${r.type}/${r.key}`);
      const bad = valueProblem(r.type, r.key, r.val);
      if (bad) cur.values.set(i, bad);
      if (!c.partial && r.prev !== lastId) {
        if (linkIsMissing(r.prev, lastId, c.mirror)) joiner.missing++;
        else cur.linkage.set(i, `record ${r.id}: ID chain broken: prev is ${r.prev} but the record before it is ${lastId}`);
      }
      lastId = r.id;
    }
    if (packer.count > 0) await send();
    while (inflight.length > 0) await drainOne();
  } finally {
    // Wait for anything still out (after an error) so no answer lands after we return.
    await Promise.allSettled(inflight.map((s) => s.answer));
  }

  // The M chain as Stream.verify checks it: records by mod, ties in the order above (a stable sort).
  // SQLite sorts (spilling to disk when big), so memory stays bounded.
  const byMod = db.prepare('SELECT id, mod, prevch FROM records ORDER BY mod, chain, id').raw(true).iterate() as IterableIterator<[number, number, number]>;
  joiner.mods(modsOf(byMod, c));
  const info = db.prepare(`SELECT 1 FROM records WHERE chain = ? AND type = 'drayer' AND key = 'info' LIMIT 1`).get(Buffer.from(streamKey));
  return finish(joiner, Boolean(info), c);
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
