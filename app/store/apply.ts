// The receiving side of a stream: records from a peer verified, then stored under the chains'
// rules (chains.ts, DESIGN §3 rules 1–3) in one transaction, the gaps of each removing what they cover.
import { bytesEqual } from '../core/crypto.js';
import { isDrayerError } from '../core/errors.js';
import { checkRecord, checkShape, type DrayerRecord } from '../core/record.js';
import { admits, decodeSiblings, idOutsideRange, SIBLINGS_KEY, SIBLINGS_TYPE, windowsOf, type Window } from '../core/siblings.js';
import { fillsValue, inHeldIdGap, inHeldModGap, inPartialRange, staleReason, type PartialFilter } from './chains.js';
import type { Statement } from 'better-sqlite3';
import { GROUP_ROWS_PER_PUT, inTransaction, metaOf, rowByKey, setMetaOf, sqliteError, type Handle, type Row } from './schema.js';

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
  /**
   * A new drayer/siblings record was stored (§9): records of devices it no longer admits were
   * removed, and a follower should ask its sources again from the start, for records refused under
   * the old list and for those a removed record had covered (model/siblings.py: 'noreset').
   */
  siblingsChanged?: boolean;
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
    // A device's record is checked against its own chain's key here; whether its chain counts is decided below (§9).
    const why = opts.verified ? checkShape(r) : checkRecord(r, h.publicKey, true);
    if (why) result.rejected.push({ record: r, reason: why });
    else if (r.val === null && !allowMetaOnly) result.rejected.push({ record: r, reason: 'it has no value and this copy keeps values' });
    // another chain's record is refused first when no device window admits it (below), partial or not
    else if (bytesEqual(r.chain, h.publicKey) && !inPartialRange(r, filter)) result.skipped++;
    else checked.push(filter.metaOnly && r.val ? { ...r, val: null } : r);
  }
  const run = () => {
    // Each stored record takes the next seq; its gaps then remove only older rows, so the
    // newest row always holds the last seq issued (see lastSeqOf).
    const tops = new Map<string, Tops>();
    let seq = heldTops(h, h.chain).seq;
    const nextSeq = () => ++seq;
    let windows: Map<string, Window> | null = null;
    for (const r of checked) {
      const own = bytesEqual(r.chain, h.publicKey);
      let why: string | null = null;
      if (!own) {
        windows ??= heldWindows(h);
        why = admits(windows, r.chain, r.mod) ? idOutsideRange(r.chain, r.id) : NOT_A_DEVICE;
        if (!why && !inPartialRange(r, filter)) {
          result.skipped++;
          continue;
        }
      }
      const chain = own ? h.chain : Buffer.from(r.chain);
      const ck = own ? '' : chain.toString('base64');
      let top = tops.get(ck);
      if (!top) tops.set(ck, (top = heldTops(h, chain)));
      why ??= applyOne(h, r, result, nextSeq, top, chain);
      if (why) result.rejected.push({ record: r, reason: why });
      else if (own) {
        windows = null; // the siblings record may have moved, or been removed by a gap
        if (r.type === SIBLINGS_TYPE && r.key === SIBLINGS_KEY) {
          purgeOutside(h, heldWindows(h), result);
          tops.clear();
          result.siblingsChanged = true;
          // Every sync cursor starts over (they are keyed on it: sync-cursors.ts windowCursors), for
          // records refused under the old list and those a dropped record had covered.
          setMetaOf(h, 'windowEpoch', Number(metaOf(h, 'windowEpoch') ?? 0) + 1);
        }
      }
    }
  };
  try {
    inTransaction(h.db, run, true);
  } catch (e) {
    throw isDrayerError(e) ? e : sqliteError(e, h.file);
  }
  h.checkpoints.wrote(Math.ceil((result.stored.length + result.removed.length) / GROUP_ROWS_PER_PUT));
  return result;
}

export const NOT_A_DEVICE = 'it belongs to another chain, not a device of this stream at its mod time (not listed in drayer/siblings, or removed before it)';

/** The windows of the devices listed by the owner's drayer/siblings record held here (none when it is missing, valueless or unreadable). */
export function heldWindows(h: Handle): Map<string, Window> {
  const row = rowByKey(h, SIBLINGS_TYPE, SIBLINGS_KEY);
  if (!row?.val) return new Map();
  try {
    return windowsOf(decodeSiblings(row.val));
  } catch {
    return new Map(); // the owner signed something unusable: no device counts (verify reports it)
  }
}

/**
 * A new siblings record: records of devices it no longer admits (a removed device's after its
 * window, an unlisted device's all) leave. Their ids go into `removed`.
 */
function purgeOutside(h: Handle, windows: Map<string, Window>, result: ApplyResult): void {
  const chains = h.db.prepare('SELECT DISTINCT chain FROM records WHERE chain != ?').pluck().all(h.chain) as Buffer[];
  for (const chain of chains) {
    if (h.ownDevice?.equals(chain)) continue; // this device's own records stay in its own copy (its writer stands on them)
    const w = windows.get(chain.toString('base64'));
    const ids = (
      w
        ? h.db.prepare('DELETE FROM records WHERE chain = ? AND (mod < ? OR (? > 0 AND mod > ?)) RETURNING id').pluck().all(chain, w.from, w.to, w.to)
        : h.db.prepare('DELETE FROM records WHERE chain = ? RETURNING id').pluck().all(chain)
    ) as number[];
    for (const id of ids) result.removed.push(id);
  }
}

/**
 * Upper bounds of the largest id and mod held in one chain, kept through a transaction
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

function heldTops(h: Handle, chain: Buffer): Tops {
  const t = h.st.tips.get(chain, chain) as { id: number | null; mod: number | null; seq: number | null };
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
function applyOne(h: Handle, r: DrayerRecord, result: ApplyResult, nextSeq: () => number, top: Tops, chain: Buffer): string | null {
  const st = h.st;
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
