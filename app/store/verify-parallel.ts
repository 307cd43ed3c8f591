// Stream.verify with the signatures and value hashes checked in a VerifierPool: each worker opens
// the stream file itself and checks ranges of it (verify-range.ts), so the main thread only joins
// their answers; where the workers cannot read the snapshot the call took, the main thread reads
// the rows and sends them to the pool. Same report, problem for problem, as Stream.verify.
import Database from 'better-sqlite3';
import { bytesEqual } from '../core/crypto.js';
import { valueProblem } from '../core/msgpack.js';
import { idChainBroken, linkIsMissing } from './chains.js';
import { rowToRecord, type Row } from './schema.js';
import type { Stream } from './store.js';
import { verifyReport, type Problem, type VerifyReport } from './verify.js';
import { ID_RANGE, MOD_RANGE, Packer, reasonsOf, type FileSession, type VerifierPool } from './verifier-pool.js';
import { modsOf, RangeJoiner, type Range, type RangeCheck } from './verify-range.js';

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
  // Devices' chains (§9) each have their own links and windows: Stream.verify checks them, on this thread.
  if (stream.db.prepare('SELECT 1 FROM records WHERE chain != ? LIMIT 1').get(Buffer.from(stream.publicKey))) {
    opts.onPath?.('main: several chains');
    return stream.verify({ maxProblems: opts.maxProblems });
  }
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
function finish(j: RangeJoiner, info: boolean): Tally {
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
    await inRanges(
      session,
      idRanges,
      (w, range) => session.ids(w, rc, range),
      (r) => joiner.ids(r),
    );
    // Where mods do not rise with ids (a stream with edits: an edit gives a record the newest mod),
    // the M chain needs a pass of its own, in mod order.
    const modRanges = () => rangesOf(db, chain, 'mod', size(MOD_RANGE));
    if (!joiner.idsDone())
      await inRanges(
        session,
        modRanges(),
        (w, range) => session.mods(w, rc, range),
        (r) => joiner.mods(r),
      );
    return finish(joiner, joiner.info && bytesEqual(chain, c.streamKey));
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
        else cur.linkage.set(i, idChainBroken(r.id, r.prev, lastId));
      }
      lastId = r.id;
    }
    if (packer.count > 0) await send();
    while (inflight.length > 0) await drainOne();
  } finally {
    // Wait for anything still out (after an error) so no answer lands after we return.
    await Promise.allSettled(inflight.flatMap((s) => (s.answer ? [s.answer] : [])));
  }

  // The M chain as Stream.verify checks it: records by mod, ties in the order above (a stable sort).
  // SQLite sorts (spilling to disk when big), so memory stays bounded.
  const byMod = db.prepare('SELECT id, mod, prevch FROM records ORDER BY mod, chain, id').raw(true).iterate() as IterableIterator<[number, number, number]>;
  joiner.mods(modsOf(byMod, c));
  const info = db.prepare(`SELECT 1 FROM records WHERE chain = ? AND type = 'drayer' AND key = 'info' LIMIT 1`).get(Buffer.from(streamKey));
  return finish(joiner, Boolean(info));
}
