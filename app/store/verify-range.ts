// Stream.verify cut into ranges that threads check on their own and the main thread joins.
// A worker opens the stream file read-only and checks one range of one chain, in ID order
// (signatures, value hashes, value problems, the ID links inside the range) or in mod order (the
// M links and unique mods inside it). It answers only counts, problems, and the range's first and
// last links, so joining costs the main thread nothing per record. Stream.verify (verify.ts) stays
// the reference: test/verifier.test.ts proves the joined report is identical, problem for problem.
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { checkRecord, type DrayerRecord } from '../core/record.js';
import { valueProblem } from '../core/msgpack.js';
import { idChainBroken, linkIsMissing, mChainBroken, modNotUnique } from './chains.js';
import type { Problem } from './verify.js';

/** What every range of one check shares. */
export interface RangeCheck {
  /** the stream's key: what signatures are checked against */
  streamKey: Uint8Array;
  /** the one chain the file holds (the ranges read it through its indexes) */
  chain: Uint8Array;
  /** a partial copy: no chain links are checked */
  partial: boolean;
  mirror: boolean;
  maxProblems: number;
}

/** A range of one order: rows with after < key <= upTo (null: unbounded on that side). */
export interface Range {
  after: number | null;
  upTo: number | null;
}

/**
 * One ID-order range, checked. The first record's ID link is left to whoever joins the ranges.
 * Where mods rise with ids (a stream never edited, only added to), ID order is mod order too, so
 * the M chain is checked on the way (the `m…` fields) and no mod-order pass is needed.
 */
export interface IdRangeResult {
  records: number;
  metaOnly: number;
  missing: number;
  /** in Stream.verify's order, at most maxProblems */
  problems: Problem[];
  /** how many of `problems` are the first record's own (0 or 1): its link problem goes after them */
  firstOwn: number;
  firstId: number;
  firstPrev: number;
  lastId: number;
  /** holds the drayer/info record */
  info: boolean;
  /** every mod is a number above the one before it (in ID order); if not, the m… fields are partial */
  modsRise: boolean;
  firstMod: number;
  firstPrevch: number;
  lastMod: number;
  /** M-chain links to records not held, and M-chain problems, but the first record's */
  mMissing: number;
  mProblems: Problem[];
}

/** One mod-order range, checked; the first record's M link and uniqueness are left to the joiner. */
export interface ModRangeResult {
  records: number;
  missing: number;
  problems: Problem[];
  firstId: number;
  firstMod: number;
  firstPrevch: number;
  lastMod: number;
}

/**
 * A row's bytes as one blob, hash ‖ sig, then 0x01 ‖ val unless val is null: one buffer made for
 * them, not three (each costs a malloc; a row's buffers were the better part of reading it).
 * Null where a column is not of its usual type and size: the row is read again as it is.
 */
const PACKED = `CASE WHEN typeof(hash) = 'blob' AND length(hash) = 32 AND typeof(sig) = 'blob' AND length(sig) = 64 AND typeof(val) IN ('blob', 'null')
  THEN CAST(hash || sig || CASE WHEN val IS NULL THEN x'' ELSE x'01' || val END AS BLOB) END`;

const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

type Sqlite = typeof Database;
let sqlite: Sqlite | null = null;

/** A read-only connection holding one read transaction (one snapshot) until close(). */
export class RangeReader {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string) {
    // Loaded here, not at import: VerifierPool's workers that only check records sent to them never need it.
    sqlite ??= createRequire(import.meta.url)('better-sqlite3') as Sqlite;
    this.db = new sqlite(file, { readonly: true, fileMustExist: true });
    try {
      this.db.pragma('busy_timeout = 5000');
      this.db.exec('BEGIN');
      // WAL takes the snapshot at the first read, not at BEGIN
      this.db.prepare('SELECT max(seq) FROM records').get();
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  close(): void {
    if (!this.db.open) return;
    if (this.db.inTransaction) this.db.exec('COMMIT');
    this.db.close();
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql).raw(true);
      this.statements.set(sql, st);
    }
    return st;
  }

  private rows(columns: string, order: 'id' | 'mod', chain: Uint8Array, range: Range): IterableIterator<unknown[]> {
    const sql = `SELECT ${columns} FROM records WHERE chain = ?${range.after !== null ? ` AND ${order} > ?` : ''}${range.upTo !== null ? ` AND ${order} <= ?` : ''} ORDER BY ${order === 'id' ? 'id' : 'mod, id'}`;
    const st = this.statement(sql);
    const args: unknown[] = [Buffer.from(chain.buffer, chain.byteOffset, chain.byteLength)];
    if (range.after !== null) args.push(range.after);
    if (range.upTo !== null) args.push(range.upTo);
    return st.iterate(...args) as IterableIterator<unknown[]>;
  }

  /** Stream.verify's first loop over one range of the chain in ID order. */
  ids(c: RangeCheck, range: Range): IdRangeResult {
    const out: IdRangeResult = {
      records: 0,
      metaOnly: 0,
      missing: 0,
      problems: [],
      firstOwn: 0,
      firstId: 0,
      firstPrev: 0,
      lastId: 0,
      info: false,
      modsRise: true,
      firstMod: 0,
      firstPrevch: 0,
      lastMod: 0,
      mMissing: 0,
      mProblems: [],
    };
    const add = (id: number, what: string) => {
      if (out.problems.length < c.maxProblems) out.problems.push({ id, what });
    };
    const chain = c.chain;
    let lastId = 0;
    let lastMod = 0;
    for (const a of this.rows(`id, type, key, ts, mod, prev, prevch, ${PACKED}, seq`, 'id', chain, range)) {
      // as schema.ts rowToRecord builds it, so every check sees the same values
      const p = a[7] as Buffer | null;
      const odd = p ? null : (this.statement('SELECT val, hash, sig FROM records WHERE seq = ?').get(a[8]) as [Buffer | null, Buffer, Buffer]);
      const r: DrayerRecord = {
        id: a[0] as number,
        type: a[1] as string,
        key: a[2] as string,
        val: p ? (p.length > 96 ? new Uint8Array(p.buffer, p.byteOffset + 97, p.length - 97) : null) : odd![0] ? view(odd![0]) : null,
        hash: p ? new Uint8Array(p.buffer, p.byteOffset, 32) : view(odd![1]),
        ts: a[3] as number,
        mod: a[4] as number,
        prev: a[5] as number,
        prevch: a[6] as number,
        sig: p ? new Uint8Array(p.buffer, p.byteOffset + 32, 64) : view(odd![2]),
        chain,
      };
      const first = out.records === 0;
      out.records++;
      if (r.val === null) out.metaOnly++;
      if (r.type === 'drayer' && r.key === 'info') out.info = true;
      const why = checkRecord(r, c.streamKey) ?? valueProblem(r.type, r.key, r.val);
      if (why) add(r.id, `record ${r.id} (${r.type}/${r.key}): ${why}`);
      if (first) {
        out.firstOwn = out.problems.length;
        out.firstId = r.id;
        out.firstPrev = r.prev;
        out.firstMod = r.mod;
        out.firstPrevch = r.prevch;
      } else if (!c.partial && r.prev !== lastId) {
        if (linkIsMissing(r.prev, lastId, c.mirror)) out.missing++;
        else add(r.id, idChainBroken(r.id, r.prev, lastId));
      }
      lastId = r.id;
      if (out.modsRise) {
        if (typeof r.mod !== 'number' || (!first && !(r.mod > lastMod))) out.modsRise = false;
        else if (!first && !c.partial && r.prevch !== lastMod) {
          if (linkIsMissing(r.prevch, lastMod, c.mirror)) out.mMissing++;
          else if (out.mProblems.length < c.maxProblems) out.mProblems.push({ id: r.id, what: mChainBroken(r.id, r.prevch, lastMod) });
        }
        lastMod = r.mod;
      }
    }
    out.lastId = lastId;
    out.lastMod = lastMod;
    return out;
  }

  /** Stream.verify's second loop (records by mod) over one range of mods. */
  mods(c: RangeCheck, range: Range): ModRangeResult {
    return modsOf(this.rows('id, mod, prevch', 'mod', c.chain, range) as IterableIterator<[number, number, number]>, c);
  }
}

/** The M-chain checks over rows [id, mod, prevch] in mod order (ties in ID order), but the first's. */
export function modsOf(rows: Iterable<[number, number, number]>, c: Pick<RangeCheck, 'partial' | 'mirror' | 'maxProblems'>): ModRangeResult {
  const out: ModRangeResult = { records: 0, missing: 0, problems: [], firstId: 0, firstMod: 0, firstPrevch: 0, lastMod: 0 };
  const add = (id: number, what: string) => {
    if (out.problems.length < c.maxProblems) out.problems.push({ id, what });
  };
  let lastMod = 0;
  for (const [id, mod, prevch] of rows) {
    if (out.records++ === 0) {
      out.firstId = id;
      out.firstMod = mod;
      out.firstPrevch = prevch;
    } else {
      if (!c.partial && prevch !== lastMod) {
        if (linkIsMissing(prevch, lastMod, c.mirror)) out.missing++;
        else add(id, mChainBroken(id, prevch, lastMod));
      }
      if (mod === lastMod) add(id, modNotUnique(id, mod));
    }
    lastMod = mod;
  }
  out.lastMod = lastMod;
  return out;
}

/**
 * Joins checked ranges, each pass in order (all ID ranges, then all mod ranges), into
 * Stream.verify's counts and problem list: it checks the links where one range meets the next.
 */
export class RangeJoiner {
  records = 0;
  metaOnly = 0;
  missing = 0;
  info = false;
  readonly problems: Problem[] = [];
  private lastId = 0;
  private lastMod = 0;
  /** the M chain as checked along the ID ranges, while mods rise with ids */
  private modsRise = true;
  private mMissing = 0;
  private readonly mProblems: Problem[] = [];
  private readonly c: Pick<RangeCheck, 'partial' | 'mirror' | 'maxProblems'>;

  constructor(c: Pick<RangeCheck, 'partial' | 'mirror' | 'maxProblems'>) {
    this.c = c;
  }

  add(p: Problem): void {
    if (this.problems.length < this.c.maxProblems) this.problems.push(p);
  }

  ids(r: IdRangeResult): void {
    this.records += r.records;
    this.metaOnly += r.metaOnly;
    this.missing += r.missing;
    if (r.info) this.info = true;
    if (r.records === 0) return;
    for (const p of r.problems.slice(0, r.firstOwn)) this.add(p);
    if (!this.c.partial && r.firstPrev !== this.lastId) {
      if (linkIsMissing(r.firstPrev, this.lastId, this.c.mirror)) this.missing++;
      else this.add({ id: r.firstId, what: idChainBroken(r.firstId, r.firstPrev, this.lastId) });
    }
    for (const p of r.problems.slice(r.firstOwn)) this.add(p);
    this.lastId = r.lastId;
    if (!this.modsRise) return;
    if (!r.modsRise || !(r.firstMod > this.lastMod)) {
      this.modsRise = false;
      return;
    }
    if (!this.c.partial && r.firstPrevch !== this.lastMod) {
      if (linkIsMissing(r.firstPrevch, this.lastMod, this.c.mirror)) this.mMissing++;
      else this.mProblems.push({ id: r.firstId, what: mChainBroken(r.firstId, r.firstPrevch, this.lastMod) });
    }
    this.mMissing += r.mMissing;
    for (const p of r.mProblems) if (this.mProblems.length < this.c.maxProblems) this.mProblems.push(p);
    this.lastMod = r.lastMod;
  }

  /**
   * After the last ID range: true when mods rose with ids all along, and the M chain is checked
   * (its problems follow the ID pass's, as in Stream.verify); false when the mod ranges must be
   * checked (mods()), in order.
   */
  idsDone(): boolean {
    if (!this.modsRise) {
      this.lastMod = 0;
      return false;
    }
    this.missing += this.mMissing;
    for (const p of this.mProblems) this.add(p);
    return true;
  }

  mods(r: ModRangeResult): void {
    this.missing += r.missing;
    if (r.records === 0) return;
    const id = r.firstId;
    if (!this.c.partial && r.firstPrevch !== this.lastMod) {
      if (linkIsMissing(r.firstPrevch, this.lastMod, this.c.mirror)) this.missing++;
      else this.add({ id, what: mChainBroken(id, r.firstPrevch, this.lastMod) });
    }
    if (r.firstMod === this.lastMod) this.add({ id, what: modNotUnique(id, r.firstMod) });
    for (const p of r.problems) this.add(p);
    this.lastMod = r.lastMod;
  }
}
