// The receiving side of a stream: records from a peer verified, then stored under the chains'
// rules (chains.ts, DESIGN §3 rules 1–3) in one transaction, the gaps of each removing what they cover.
import { bytesEqual } from '../core/crypto.js';
import { isDrayerError } from '../core/errors.js';
import { checkRecord, checkShape, type DrayerRecord } from '../core/record.js';
import { fillsValue, inHeldIdGap, inHeldModGap, inPartialRange, staleReason, type PartialFilter } from './chains.js';
import type { Statement } from 'better-sqlite3';
import { GROUP_ROWS_PER_PUT, sqliteError, type Handle, type Row } from './schema.js';

export interface ApplyOptions {
  /** accept records without values (defaults to the stream's own metaOnly setting) */
  allowMetaOnly?: boolean;
  /** the caller already verified signatures and hashes (e.g. in worker threads) */
  verified?: boolean;
}

export interface Rejection {
  record: DrayerRecord;
  reason: string;
}

export interface ApplyResult {
  stored: DrayerRecord[];
  /** (id) of records removed because a stored record's gap covers them */
  removed: number[];
  rejected: Rejection[];
  /** records outside this mirror's partial range, ignored by design */
  skipped: number;
}

/**
 * Apply records from a peer to the stream of `h`, kept as `filter` says, in one transaction.
 * Every record is verified first (unless `verified`); nothing invalid is ever stored.
 */
export function applyRecords(h: Handle, filter: PartialFilter, records: DrayerRecord[], opts: ApplyOptions = {}): ApplyResult {
  const allowMetaOnly = opts.allowMetaOnly ?? filter.metaOnly ?? false;
  const result: ApplyResult = { stored: [], removed: [], rejected: [], skipped: 0 };
  const checked: DrayerRecord[] = [];
  for (const r of records) {
    const why = opts.verified ? (checkShape(r) ?? (bytesEqual(r.chain, h.publicKey) ? null : 'it belongs to another chain')) : checkRecord(r, h.publicKey);
    if (why) result.rejected.push({ record: r, reason: why });
    else if (r.val === null && !allowMetaOnly) result.rejected.push({ record: r, reason: 'it has no value and this copy keeps values' });
    else if (!inPartialRange(r, filter)) result.skipped++;
    else checked.push(filter.metaOnly && r.val ? { ...r, val: null } : r);
  }
  const run = h.db.transaction(() => {
    // Each stored record takes the next seq; its gaps then remove only older rows, so the
    // newest row always holds the last seq issued (see lastSeqOf).
    const top = heldTops(h);
    let seq = top.seq;
    const nextSeq = () => ++seq;
    for (const r of checked) {
      const why = applyOne(h, r, result, nextSeq, top);
      if (why) result.rejected.push({ record: r, reason: why });
    }
  });
  try {
    run.immediate();
  } catch (e) {
    throw isDrayerError(e) ? e : sqliteError(e, h.file);
  }
  h.checkpoints.wrote(Math.ceil((result.stored.length + result.removed.length) / GROUP_ROWS_PER_PUT));
  return result;
}

/**
 * Upper bounds of the largest id and mod held in the stream's chain, kept through a transaction
 * (raised by each record stored; removals only lower the true values). A record above both, the
 * usual case of a feed applied in order (a clone, a new post), has nothing held at its id and no
 * held record above it: its lookups are skipped, and so is each gap's delete when the gap starts
 * at or above what is held. Four statements of five, a third of a clone's time.
 */
interface Tops {
  id: number;
  mod: number;
  /** the last seq issued (lastSeqOf), read with the tips */
  seq: number;
}

function heldTops(h: Handle): Tops {
  const t = h.st.tips.get(h.chain, h.chain) as { id: number | null; mod: number | null; seq: number | null };
  return { id: t.id ?? 0, mod: t.mod ?? 0, seq: t.seq ?? 0 };
}

/** A plain INSERT for the fast path: nothing can conflict there, and OR REPLACE costs a fifth of an insert. */
const inserts = new WeakMap<Handle['db'], Statement>();
function insertOf(h: Handle): Statement {
  let st = inserts.get(h.db);
  if (!st) {
    st = h.db.prepare(`INSERT INTO records (seq, chain, id, type, key, val, hash, ts, mod, prev, prevch, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    inserts.set(h.db, st);
  }
  return st;
}

/** One record through rules 1–3; why it was refused, or null when stored. */
function applyOne(h: Handle, r: DrayerRecord, result: ApplyResult, nextSeq: () => number, top: Tops): string | null {
  const st = h.st;
  const chain = h.chain; // every record here is of the stream's own chain (checked above)
  if (r.id > top.id && r.mod > top.mod) {
    insertOf(h).run(nextSeq(), chain, r.id, r.type, r.key, r.val, r.hash, r.ts, r.mod, r.prev, r.prevch, r.sig);
    result.stored.push(r);
    if (r.prevch < top.mod) for (const id of st.gcMod.all(chain, r.prevch, r.mod, r.id) as number[]) result.removed.push(id);
    if (r.prev < top.id) for (const id of st.gcId.all(chain, r.prev, r.id) as number[]) result.removed.push(id);
    top.id = r.id;
    top.mod = r.mod;
    return null;
  }
  const old = st.byId.get(chain, r.id) as Row | undefined;
  if (old) {
    if (fillsValue(old, r)) {
      st.upsert.run(nextSeq(), chain, r.id, r.type, r.key, r.val, r.hash, r.ts, r.mod, r.prev, r.prevch, r.sig);
      result.stored.push(r);
      return null;
    }
    const stale = staleReason(old, r); // rule 1
    if (stale) return stale;
  }
  // Rule 2: the next held record above r in each chain is the only one whose gap can hold r.
  const inGap = inHeldModGap(r, st.nextModGap.get(chain, r.mod) as number | undefined) ?? inHeldIdGap(r, st.nextIdGap.get(chain, r.id) as number | undefined);
  if (inGap) return inGap;
  // Rule 3: store it, and drop every record its gaps cover (chains.ts covers(), in SQL). A
  // metadata-only patch of a record held with its value keeps the value (same hash, same bytes).
  const val = r.val ?? (old?.val && bytesEqual(old.hash, r.hash) ? old.val : null);
  st.upsert.run(nextSeq(), chain, r.id, r.type, r.key, val, r.hash, r.ts, r.mod, r.prev, r.prevch, r.sig);
  result.stored.push(r);
  for (const id of st.gcMod.all(chain, r.prevch, r.mod, r.id) as number[]) result.removed.push(id);
  for (const id of st.gcId.all(chain, r.prev, r.id) as number[]) result.removed.push(id);
  top.id = Math.max(top.id, r.id);
  top.mod = Math.max(top.mod, r.mod);
  return null;
}
