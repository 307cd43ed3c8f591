// Reading a stream beyond one record: records of a type in pages, counts and tips, every record in
// id order, and the change feed a follower pulls (rows after a seq, filtered for partial copies).
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import type { DrayerRecord } from '../core/record.js';
import type { PartialFilter } from './chains.js';
import { lastSeqOf, META_COLS, rowToRecord, type Handle, type Row } from './schema.js';

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

/** Records of one type, newest first by `ts` (default) or by `id`, paged. */
export function list(h: Handle, type: string, opts: ListOptions = {}): DrayerRecord[] {
  const limit = Math.max(0, Math.min(opts.limit ?? 100, 10_000));
  const rows = opts.order === 'id' ? h.st.listId.all(h.chain, type, limit, opts.offset ?? 0) : h.st.listTs.all(type, limit, opts.offset ?? 0);
  return (rows as Row[]).map(rowToRecord);
}

export function count(h: Handle, type?: string): number {
  return (type === undefined ? h.st.count.get() : h.st.countType.get(type)) as number;
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
  const limit = Math.max(1, Math.min(opts.limit ?? 1000, 10_000));
  const minId = opts.minId ?? 0;
  const minMod = opts.minMod ?? 0;
  // The filters run in SQL over a bounded window of seqs, so a narrow partial mirror (latest N
  // of millions) crosses the feed in a few quick calls, and no call scans without bound.
  const window = Math.max(limit * 64, 65_536);
  const stmt = opts.metaOnly ? h.st.changesMeta : h.st.changes;
  // One read transaction: the page and lastSeq come from the same snapshot.
  return h.db.transaction((): ChangesPage => {
    const records: DrayerRecord[] = [];
    let seq = since;
    let bytes = 0;
    for (const row of stmt.iterate(since, since + window, minId, minMod, limit) as IterableIterator<Row>) {
      const size = row.val ? row.val.length : 0;
      // The byte cap ends the page before this row, so `seq` stays that of the last row included.
      if (opts.maxBytes !== undefined && records.length > 0 && bytes + size > opts.maxBytes) {
        return { records, seq, more: true };
      }
      seq = row.seq;
      bytes += size;
      records.push(rowToRecord(row));
    }
    const last = lastSeqOf(h);
    if (records.length >= limit) return { records, seq, more: seq < last };
    // Every row up to the window's end was seen (or filtered out); seqs are never reused, so
    // the cursor may jump there, or to the last seq issued.
    const end = Math.min(since + window, last);
    return { records, seq: Math.max(seq, end), more: end < last };
  })();
}
