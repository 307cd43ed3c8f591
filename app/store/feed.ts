// Reading a stream beyond one record: records of a type in pages, counts and tips, every record in
// id order, and the change feed a follower pulls (rows after a seq, filtered for partial copies).
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import type { DrayerRecord } from '../core/record.js';
import type { PartialFilter } from './chains.js';
import type { Statement } from 'better-sqlite3';
import { PACKED_HEAD, type PackedPage, type PackedRow } from './packed.js';
import { tipPage } from './tip-cache.js';
import { FEED_WINDOW, inTransaction, lastSeqOf, META_COLS, rowToRecord, type Handle, type Row } from './schema.js';

export interface ListOptions {
  order?: 'ts' | 'id';
  limit?: number;
  offset?: number;
}

export interface ChangesOptions extends PartialFilter {
  limit?: number;
  /** stop before the page's values exceed this many bytes (one record is always included) */
  maxBytes?: number;
}

export interface ChangesPage {
  records: DrayerRecord[];
  /** the seq of the last row examined; pass it back as `since` */
  seq: number;
  more: boolean;
}

/**
 * Records of one type (or of two: posts in both shapes, by `ts` only), newest first by `ts`
 * (default) or by `id`, paged.
 */
export function list(h: Handle, type: string | readonly [string, string], opts: ListOptions = {}): DrayerRecord[] {
  const limit = Math.max(0, Math.min(opts.limit ?? 100, 10_000));
  const offset = opts.offset ?? 0;
  if (typeof type !== 'string') {
    if (opts.order === 'id') throw new DrayerError('INVALID_ARGUMENT', 'Records of two types are listed by time only.');
    return (h.st.listTs2.all(type[0], type[1], limit, offset) as Row[]).map(rowToRecord);
  }
  const rows = opts.order === 'id' ? h.st.listId.all(h.chain, type, limit, offset) : h.st.listTs.all(type, limit, offset);
  return (rows as Row[]).map(rowToRecord);
}

export function count(h: Handle, type?: string | readonly string[]): number {
  if (type === undefined) return h.st.count.get() as number;
  if (typeof type === 'string') return h.st.countType.get(type) as number;
  return type.reduce((n, t) => n + (h.st.countType.get(t) as number), 0);
}

export function types(h: Handle): { type: string; n: number }[] {
  return h.st.types.all() as { type: string; n: number }[];
}

/** The ID-chain tip: the largest id held for the stream's own chain (0 when empty). */
export function idTip(h: Handle): number {
  return (h.st.maxId.get(h.chain) as number | null) ?? 0;
}

/** The M-chain tip: the largest mod held for the stream's own chain (0 when empty). */
export function mtip(h: Handle): number {
  return (h.st.maxMod.get(h.chain) as number | null) ?? 0;
}

/**
 * Fill in the value of a record held as metadata only, after checking it against the signed
 * hash. The record itself does not change, so it keeps its seq.
 */
export function fillValue(h: Handle, id: number, val: Uint8Array): boolean {
  const row = h.st.byId.get(h.chain, id) as Row | undefined;
  if (!row) return false;
  if (!bytesEqual(blake2b256(val), row.hash))
    throw new DrayerError('INVALID_RECORD', `The value offered for record ${id} does not match its signed hash; it was not stored.`);
  if (row.val) return false;
  h.db.prepare('UPDATE records SET val = ? WHERE chain = ? AND id = ? AND val IS NULL').run(val, h.chain, id);
  return true;
}

/** How many rows of the change feed come after `seq` and pass the filters: a follower's "records to go". */
export function countChangesAfter(h: Handle, seq: number, opts: PartialFilter = {}): number {
  return h.st.countAfter.get(seq, opts.minId ?? 0, opts.minMod ?? 0) as number;
}

/** Iterate all live records in id order without loading them all at once. */
export function* iterate(h: Handle, opts: { withValues?: boolean } = {}): Generator<DrayerRecord> {
  const cols = opts.withValues === false ? META_COLS : '*';
  for (const row of h.db.prepare(`SELECT ${cols} FROM records ORDER BY chain, id`).iterate() as IterableIterator<Row>) {
    yield rowToRecord(row);
  }
}

/**
 * The change feed: rows inserted or replaced after `since`, in seq order.
 * Filters make partial mirrors; rows filtered out still advance the returned seq.
 */
export function changesSince(h: Handle, since: number, opts: ChangesOptions = {}): ChangesPage {
  const stmt = opts.metaOnly ? h.st.changesMeta : h.st.changes;
  const page = feedPage(h, stmt, since, opts, (row: Row) => (row.val ? row.val.length : 0));
  return { records: page.rows.map(rowToRecord), seq: page.seq, more: page.more };
}

// The packed row's form (one blob a row) is in packed.ts, shared with tip-cache.ts.
export { PACKED_HEAD, type PackedPage, type PackedRow } from './packed.js';

// One Buffer a row instead of four (hash, sig, chain, val), and no record object: reading a row
// this way costs about half as much, and a server clone's page is mostly this read.
const packedStatements = new WeakMap<Handle['db'], { full: Statement; meta: Statement } | null>();
function packedOf(h: Handle): { full: Statement; meta: Statement } | null {
  let st = packedStatements.get(h.db);
  if (st === undefined) {
    // CAST(text AS BLOB) is the stored bytes, UTF-8 only in a UTF-8 database (every stream file is one;
    // another would be someone else's file): elsewhere the plain rows are read.
    const utf8 = h.db.pragma('encoding', { simple: true }) === 'UTF-8';
    // (|| makes text of blobs: the outer CAST makes it a blob again, the same bytes)
    const blob = (val: string) =>
      `CASE WHEN length(hash) = 32 AND length(sig) = 64 AND length(chain) = 32 THEN CAST(hash || sig || chain || CAST(type AS BLOB) || CAST(key AS BLOB)${val} AS BLOB) END`;
    const cols = (meta: boolean) =>
      `seq, id, ts, mod, prev, prevch, ${blob(meta ? '' : " || ifnull(val, x'')")}, length(CAST(type AS BLOB)), length(CAST(key AS BLOB)), ${meta ? '0' : 'val IS NOT NULL'}`;
    const make = (meta: boolean) => h.db.prepare(`SELECT ${cols(meta)} FROM records ${FEED_WINDOW}`).raw(true);
    st = utf8 ? { full: make(false), meta: make(true) } : null;
    packedStatements.set(h.db, st);
  }
  return st;
}

/**
 * changesSince as packed rows, for a server to write straight into its answer (changes-page.ts).
 * Null when a row does not fit the packed form (a hash, signature or chain of another length, a
 * database not in UTF-8): the caller reads changesSince instead, which sends them as they are.
 */
export function changesPacked(h: Handle, since: number, opts: ChangesOptions = {}): PackedPage | null {
  const st = packedOf(h);
  if (!st) return null;
  const tip = tipPage(h, since, opts); // right after this connection's own write: no read
  if (tip) return tip;
  const page = feedPage(h, opts.metaOnly ? st.meta : st.full, since, opts, (r: PackedRow) =>
    (r[6] as Buffer | null) === null ? 0 : r[9] ? r[6].length - PACKED_HEAD - r[7] - r[8] : 0,
  );
  for (const r of page.rows) if ((r[6] as Buffer | null) === null) return null;
  return page;
}

/**
 * One page of the change feed, of rows as `stmt` reads them (`size`: a row's value bytes, for
 * the byte cap). The filters run in SQL over a bounded window of seqs, so a narrow partial
 * mirror (latest N of millions) crosses the feed in a few quick calls, and no call scans
 * without bound.
 */
function feedPage<T extends { seq: number } | PackedRow>(
  h: Handle,
  stmt: Statement,
  since: number,
  opts: ChangesOptions,
  size: (row: T) => number,
): { rows: T[]; seq: number; more: boolean } {
  const limit = Math.max(1, Math.min(opts.limit ?? 1000, 10_000));
  const minId = opts.minId ?? 0;
  const minMod = opts.minMod ?? 0;
  const window = Math.max(limit * 64, 65_536);
  const seqOf = (row: T): number => (Array.isArray(row) ? row[0] : (row as { seq: number }).seq);
  // One read transaction: the page and lastSeq come from the same snapshot.
  return inTransaction(h.db, () => {
    const rows: T[] = [];
    let seq = since;
    let bytes = 0;
    for (const row of stmt.iterate(since, since + window, minId, minMod, limit) as IterableIterator<T>) {
      const n = size(row);
      // The byte cap ends the page before this row, so `seq` stays that of the last row included.
      if (opts.maxBytes !== undefined && rows.length > 0 && bytes + n > opts.maxBytes) {
        return { rows, seq, more: true };
      }
      seq = seqOf(row);
      bytes += n;
      rows.push(row);
    }
    const last = lastSeqOf(h);
    if (rows.length >= limit) return { rows, seq, more: seq < last };
    // Every row up to the window's end was seen (or filtered out); seqs are never reused, so
    // the cursor may jump there, or to the last seq issued.
    const end = Math.min(since + window, last);
    return { rows, seq: Math.max(seq, end), more: end < last };
  });
}
