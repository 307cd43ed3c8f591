// Sync bookkeeping: the last pull of each stream and the last one that worked, kept in its
// library entry for its page, and whether the user stopped it (then automatic sync leaves it be).
import type { LastSync, SourceKind, SyncReport } from './api.js';
import { remember, type NodeState } from './state.js';

const KINDS: readonly unknown[] = ['primary', 'given', 'lan', 'dht'] satisfies SourceKind[];
/** `{via}` when v is a source kind (entries written before there was one have none). */
const viaOf = (v: unknown): { via?: SourceKind } => (KINDS.includes(v) ? { via: v as SourceKind } : {});

export function asLastSync(v: unknown): LastSync | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.at !== 'number' || typeof o.peer !== 'string') return null;
  return {
    at: o.at,
    peer: o.peer,
    ...viaOf(o.via),
    records: Number(o.records) || 0,
    stored: Number(o.stored) || 0,
    ...(typeof o.error === 'string' ? { error: o.error } : {}),
    ...(o.cancelled === true ? { cancelled: true } : {}),
  };
}

export type LastOk = { at: number; peer: string; via?: SourceKind };

export function asLastOk(v: unknown): LastOk | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  return typeof o.at === 'number' && typeof o.peer === 'string' ? { at: o.at, peer: o.peer, ...viaOf(o.via) } : null;
}

const okOf = (l: LastSync): LastOk => ({ at: l.at, peer: l.peer, ...(l.via ? { via: l.via } : {}) });

/** A stream whose last pull the user stopped: automatic sync leaves it alone until a sync by hand. */
export function heldBack(n: NodeState, pk: string): boolean {
  return asLastSync(n.library.getStream(pk)?.settings.lastSync)?.cancelled === true;
}

/**
 * A round of pulls as the stream's state: stopped by the user, else synced when any source
 * answered (a dead mirror beside a live source is no news, and an old error is cleared), else
 * the first failure. A round that asked no one (every source backing off) changes nothing.
 */
export function noteRound(n: NodeState, pk: string, reports: SyncReport[]): void {
  const at = Date.now();
  const tried = reports.filter((r) => !r.skipped);
  const stopped = tried.find((r) => r.cancelled);
  const good = tried.filter((r) => !r.error && !r.cancelled);
  const sum = (k: 'records' | 'stored') => good.reduce((x, r) => x + r[k], 0);
  const from = (r: SyncReport) => ({ peer: r.peer, ...viaOf(r.via) });
  if (stopped) noteSync(n, pk, { at, ...from(stopped), records: sum('records'), stored: sum('stored'), cancelled: true });
  else if (good.length) noteSync(n, pk, { at, ...from(good[good.length - 1]!), records: sum('records'), stored: sum('stored') });
  else if (tried[0]) noteSync(n, pk, { at, ...from(tried[0]), records: 0, stored: 0, error: tried[0].error });
}

/**
 * The last pull of a stream, and the last that worked, kept in its library entry for its page.
 * A pull that brought nothing new while the entry already says "synced" (or repeats the failure it
 * already names) is kept in memory only: an idle LAN's pulls write nothing to library.db.
 */
export function noteSync(n: NodeState, pk: string, last: LastSync): void {
  try {
    const e = n.library.getStream(pk);
    if (!e) return;
    const prev = asLastSync(e.settings.lastSync);
    const quiet =
      prev !== null &&
      !prev.cancelled &&
      !last.cancelled &&
      last.stored === 0 &&
      (last.error ? prev.error === last.error && prev.peer === last.peer : !prev.error);
    if (quiet) return remember(n.sync.quietSyncs, pk, last);
    n.sync.quietSyncs.delete(pk);
    n.library.updateStream(pk, { settings: last.error || last.cancelled ? { lastSync: last } : { lastSync: last, lastOk: okOf(last) } });
  } catch (e) {
    n.log(`noting the last sync of ${pk}: ${(e as Error).message}`);
  }
}

/** The last pull of a stream and the last that worked, as its page shows them: the entry's, or a later one kept in memory. */
export function lastSyncOf(n: NodeState, pk: string, settings: Record<string, unknown>): { lastSync: LastSync | null; lastOk: LastOk | null } {
  const stored = asLastSync(settings.lastSync);
  const storedOk = asLastOk(settings.lastOk);
  const q = n.sync.quietSyncs.get(pk);
  if (!q || (stored && stored.at > q.at)) return { lastSync: stored, lastOk: storedOk };
  return { lastSync: q, lastOk: q.error ? storedOk : okOf(q) };
}
