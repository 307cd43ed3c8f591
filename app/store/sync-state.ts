// What a copy of a stream remembers about its syncing, in its meta table: the peers whose pull into
// it has not drained, where it was cloned from, its partial range, and a "latest N" window moving on.
import { DrayerError } from '../core/errors.js';
import type { PartialFilter } from './chains.js';
import { inTransaction, lastSeqOf, metaOf, setMetaOf, type Handle } from './schema.js';

/** Meta key: the peers whose pull into this copy began and did not drain (Stream.markSync). */
const UNFINISHED_SYNCS = 'unfinishedSyncs';
/** Most peers it remembers (pulls can be triggered by any address on the LAN). */
const MAX_UNFINISHED = 16;

function stringList(v: unknown, most = Infinity): string[] {
  try {
    const list = JSON.parse(String(v ?? '[]'));
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string').slice(0, most) : [];
  } catch {
    return [];
  }
}

/** Peers whose last pull into this copy began but did not reach the end of their feed. */
export function unfinishedSyncs(h: Handle): string[] {
  return stringList(metaOf(h, UNFINISHED_SYNCS));
}

/** Note that a pull from `peer` has begun (true) or has drained the peer's feed (false). */
export function markSync(h: Handle, peer: string, unfinished: boolean): void {
  const list = unfinishedSyncs(h);
  const rest = list.filter((x) => x !== peer);
  if (unfinished) setMetaOf(h, UNFINISHED_SYNCS, JSON.stringify([...rest, peer].slice(-MAX_UNFINISHED)));
  else if (rest.length !== list.length) setMetaOf(h, UNFINISHED_SYNCS, rest.length ? JSON.stringify(rest) : null);
}

/** Where this copy was cloned or followed from (the `sources` attribute): peers to sync it from. */
export function recordedSources(h: Handle): string[] {
  return stringList(metaOf(h, 'sources'), 16);
}

/** The filters this copy keeps records by (a full copy: none). */
export function partialOf(h: Handle): PartialFilter {
  const minId = Number(metaOf(h, 'minId') ?? 0);
  const minMod = Number(metaOf(h, 'minMod') ?? 0);
  const metaOnly = Number(metaOf(h, 'metaOnly') ?? 0) === 1;
  return { minId, minMod, metaOnly };
}

/** N of a "latest N" mirror (0 for any other copy). */
export function latestOf(h: Handle): number {
  const n = Number(metaOf(h, 'latest') ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * A "latest N" mirror keeps the N newest live records (by id, drayer/info aside: it is kept
 * beside the window, as in every partial copy). Ids of deleted records leave holes, so the window
 * starts at the id of the N-th newest record held, not at the ID tip less N. This moves it up as
 * the stream grows: records that fall below it are removed (arriving now, they would be skipped).
 * It never moves down here; lowerWindow does that, on a peer's word (sync.ts openWindow).
 * Seqs stay above all handed out: if the row holding the last seq goes, the newest remaining row
 * takes that seq. Returns the ids of the records removed.
 */
export function keepLatest(h: Handle): number[] {
  const latest = latestOf(h);
  if (!latest) return [];
  const removed = inTransaction(
    h.db,
    (): number[] => {
      const minId = h.st.nthNewest.get(h.chain, latest - 1) as number | undefined;
      if (minId === undefined || minId <= (partialOf(h).minId ?? 0)) return []; // fewer than N held: keep them all
      const top = lastSeqOf(h);
      setMetaOf(h, 'minId', minId);
      const ids = h.st.windowDrop.all(h.chain, minId) as number[];
      if (lastSeqOf(h) < top) h.st.topSeqSet.run(top);
      return ids;
    },
    true,
  );
  h.checkpoints.wrote(removed.length);
  return removed;
}

/**
 * Where a window of the `n` newest live records starts in this copy, as far as it can vouch for
 * it: the id of its n-th newest record (drayer/info aside), or 0 when the stream has fewer (the
 * window is the whole stream). Undefined when this copy cannot tell: it keeps only records
 * changed lately (minMod), or keeps a window and holds fewer than n, or a pull into it has not
 * finished (it may lack records it is about to get).
 */
export function windowStart(h: Handle, n: number, writable: boolean): number | undefined {
  if (!Number.isSafeInteger(n) || n < 1) return undefined;
  const { minId, minMod } = partialOf(h);
  if (minMod || (!writable && unfinishedSyncs(h).length > 0)) return undefined;
  const id = h.st.nthNewest.get(h.chain, n - 1) as number | undefined;
  if (id !== undefined) return id;
  return minId && minId > 1 ? undefined : 0;
}

/**
 * Move a "latest N" window's start down to `minId` (records were deleted inside it, so older
 * ones belong to it now). Those were skipped by every pull so far, so every sync cursor of this
 * copy must start over: they are keyed on `windowEpoch` (sync.ts windowCursors), bumped here.
 * Answers whether the window moved.
 */
export function lowerWindow(h: Handle, minId: number): boolean {
  if (!Number.isSafeInteger(minId) || minId < 1) throw new DrayerError('INVALID_ARGUMENT', `A window start is an id from 1, not ${minId}.`);
  return inTransaction(
    h.db,
    (): boolean => {
      const { minId: now = 0, minMod } = partialOf(h);
      if (minMod || now <= minId) return false;
      setMetaOf(h, 'minId', minId);
      setMetaOf(h, 'windowEpoch', Number(metaOf(h, 'windowEpoch') ?? 0) + 1);
      return true;
    },
    true,
  );
}
