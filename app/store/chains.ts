// The two chains' rules (DESIGN §3; shared/model/chains.py is their executable model) as pure
// functions over records, no SQLite: the links a writer gives, what a received record replaces,
// what it is refused for, what its gaps remove, and how verify reads a link that does not meet the
// record before it. apply.ts and writer.ts run them over the records table (in SQL where a gap
// covers many rows), verify.ts and verify-range.ts check them; receive() runs them over a Map.

/** A record's place in both chains: its id and mod, and where the gaps before them begin. */
export interface Links {
  id: number;
  mod: number;
  /** the id of the record before it in the ID chain (0 for the first): no live id lies between */
  prev: number;
  /** the mod of the record before it in the M chain (0 for the first): no live mod lies between */
  prevch: number;
}

// ---------- gaps ----------

/** Whether `id` lies strictly inside r's ID gap (prev, id), where r says no live record is. */
export function inIdGap(r: Links, id: number): boolean {
  return r.prev < id && id < r.id;
}

/** Whether `mod` lies strictly inside r's M gap (prevch, mod), where r says no live record is. */
export function inModGap(r: Links, mod: number): boolean {
  return r.prevch < mod && mod < r.mod;
}

/** Rule 3: whether `holder`'s gaps say that `other` (another record) was deleted or moved. */
export function covers(holder: Links, other: Links): boolean {
  return other.id !== holder.id && (inModGap(holder, other.mod) || inIdGap(holder, other.id));
}

// ---------- the writer ----------

/** The mod a write takes: above every one issued (a gap once signed stays true), and the clock's when later. */
export function nextMod(mTip: number, nowMicros: number): number {
  return Math.max(nowMicros, mTip + 1);
}

/**
 * An edited record moves to the front of the M chain: its new gap starts at the M tip, or, when it
 * was the tip itself, where its old gap started (the tip leaves its place).
 */
export function editedPrevch(old: Links, mTip: number): number {
  return old.mod === mTip ? old.prevch : mTip;
}

// ---------- the receiving side ----------

/** What rule 1 compares of a record and the version of it held. */
export interface Version extends Links {
  hash: Uint8Array;
  sig: Uint8Array;
  val: Uint8Array | null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The very record held without its value (metadata only), now with it: its value is filled in, nothing else changes. */
export function fillsValue(held: Version, r: Version): boolean {
  return held.mod === r.mod && held.val === null && r.val !== null && sameBytes(held.sig, r.sig);
}

/**
 * Rule 1: why `r` may not replace the version of the same (chain, id) held, or null when it may
 * (rules 2 and 3 decide then). Never back to an older version; of two same-mod patches the one
 * with the wider gaps is kept.
 */
export function staleReason(held: Version, r: Version): string | null {
  if (held.mod > r.mod) return 'stale: a newer version of this record is held';
  if (held.mod === r.mod && (held.prevch < r.prevch || (held.prevch === r.prevch && held.prev <= r.prev))) {
    return sameBytes(held.sig, r.sig) ? 'already held' : 'stale: a patch with gaps at least as wide is held';
  }
  return null;
}

export const IN_M_GAP = 'deleted: it lies inside the M gap of a newer record';
export const IN_ID_GAP = 'deleted: it lies inside the ID gap of a newer record';

/**
 * Rule 2 in the M chain: `r` was deleted or moved after a held record was signed when its mod lies
 * in that record's gap. Held gaps hold no held record, so only the next held record above r.mod can
 * cover it: `nextGapStart` is that one's prevch (undefined when none is held above).
 */
export function inHeldModGap(r: Links, nextGapStart: number | undefined): string | null {
  return nextGapStart !== undefined && nextGapStart < r.mod ? IN_M_GAP : null;
}

/** Rule 2 in the ID chain, as inHeldModGap: `nextGapStart` is the prev of the next held record above r.id. */
export function inHeldIdGap(r: Links, nextGapStart: number | undefined): string | null {
  return nextGapStart !== undefined && nextGapStart < r.id ? IN_ID_GAP : null;
}

/**
 * Rules 1–3 over records held in a Map by id, for one chain: the reference the store's SQL follows
 * (test/chains.test.ts runs both side by side). Returns why `r` is refused, or the ids its gaps removed.
 */
export function receive<R extends Version>(held: Map<number, R>, r: R): { refused: string } | { removed: number[] } {
  const old = held.get(r.id);
  if (old) {
    if (fillsValue(old, r)) {
      held.set(r.id, r);
      return { removed: [] };
    }
    const stale = staleReason(old, r);
    if (stale) return { refused: stale };
  }
  let nextByMod: R | undefined;
  let nextById: R | undefined;
  for (const L of held.values()) {
    if (L.mod > r.mod && (!nextByMod || L.mod < nextByMod.mod)) nextByMod = L;
    if (L.id > r.id && (!nextById || L.id < nextById.id)) nextById = L;
  }
  const inGap = inHeldModGap(r, nextByMod?.prevch) ?? inHeldIdGap(r, nextById?.prev);
  if (inGap) return { refused: inGap };
  // A metadata-only patch of a record held with its value keeps the value (same hash, same bytes).
  held.set(r.id, r.val === null && old?.val && sameBytes(old.hash, r.hash) ? { ...r, val: old.val } : r);
  const removed: number[] = [];
  for (const L of held.values()) if (covers(r, L)) removed.push(L.id);
  for (const id of removed) held.delete(id);
  return { removed };
}

// ---------- partial copies ----------

/** Filters of a partial mirror: only records in range are kept; metaOnly keeps no values. */
export interface PartialFilter {
  minId?: number;
  minMod?: number;
  metaOnly?: boolean;
}

/**
 * Whether a partial copy with `filter` keeps `r`: its id and mod are in range, or it is
 * drayer/info (always kept, so every copy knows the stream's name). That is safe: info is never
 * deleted, so no valid record's gap covers its current version, and rule 1 orders its versions.
 * Each filter is safe alone: the chain it cuts (ID or M) still vouches for every gap in range.
 */
export function inPartialRange(r: { id: number; mod: number; type: string; key: string }, filter: PartialFilter): boolean {
  return (r.id >= (filter.minId ?? 0) && r.mod >= (filter.minMod ?? 0)) || (r.type === 'drayer' && r.key === 'info');
}

// ---------- verifying ----------

/**
 * How verify reads one chain link that does not meet the record held before it (`before`):
 * in a mirror, a link pointing above it names a record not fetched yet (a sync that stopped part
 * way). A link pointing below it contradicts a held record, which no sync ever leaves (rule 2
 * refuses a record inside a held gap, rule 3 removes them), and a writer misses nothing: damage.
 */
export function linkIsMissing(points: number, before: number, mirror: boolean): boolean {
  return mirror && points > before;
}

/** verify's words for an ID link that contradicts the record held before it. */
export function idChainBroken(id: number, prev: number, before: number): string {
  return `record ${id}: ID chain broken: prev is ${prev} but the record before it is ${before}`;
}

/** verify's words for an M link that contradicts the record held before it by mod. */
export function mChainBroken(id: number, prevch: number, before: number): string {
  return `record ${id}: M chain broken: prevch is ${prevch} but the record before it by mod has mod ${before}`;
}

/** verify's words for two live records with one mod. */
export function modNotUnique(id: number, mod: number): string {
  return `record ${id}: mod ${mod} is not unique`;
}
