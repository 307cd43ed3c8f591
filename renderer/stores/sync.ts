// Sync and progress: the latest progress per stream from the node's events, kept for the
// sidebar's spinners, the right rail's bars and the stream page's "synced … ago" line; what a
// pull's speed is (for "about 20 s left"); Cancel; and the one sync state a stream is in, which
// clears an old failure as soon as a sync works.
import { create } from 'zustand';
import { transport } from '../api';
import type { DrayerEvents, LastSync, SourceKind, SyncReport } from '../api/transport';
import type { Sample } from '../lib/progress';
import { formatCount } from '../lib/time';
import { messageOf } from './errors';
import { useStreams } from './streams';

/** `samples`: the last few seconds of bytes done, for the speed. */
export type Progress = DrayerEvents['syncProgress'] & { at: number; samples?: Sample[] };

/** The last pull that worked: when, from where, and what kind of source that was. */
export type LastOk = { at: number; peer: string; via?: SourceKind };

/** Sources of one sync round are asked within this long of each other. */
export const ROUND_MS = 30_000;
/** How far back the speed looks. */
const SPEED_WINDOW_MS = 8_000;

/** What a "sync now" came to, in words for people: `ok` false when no source answered. */
export interface SyncOutcome {
  ok: boolean;
  text: string;
}

/** A person's "sync now" of one stream (or of all, under the key ''): running, or how it failed. */
export interface ManualSync {
  busy: boolean;
  failed: string | null;
}

/** A sync error for people: addresses as host:port, without the request's path and query. */
export const plainSyncError = (msg: string) => msg.replace(/https?:\/\/([^/\s]+)\/[^\s]*/g, '$1').replace(/\s*$/, '');

/** The outcome of a round of pulls, as the stream page and the Ctrl+R toast say it. */
export function syncOutcome(reports: SyncReport[], all = false): SyncOutcome {
  if (reports.some((r) => r.cancelled)) return { ok: true, text: 'Sync stopped: what arrived is kept' };
  if (reports.length > 0 && reports.every((r) => r.skipped)) return { ok: false, text: reports[0]!.skipped! }; // LAN only, and no source on the LAN
  const tried = reports.filter((r) => !r.skipped);
  const bad = tried.filter((r) => r.error);
  if (reports.length === 0) {
    return {
      ok: false,
      text: all
        ? 'There is nothing to sync from yet: follow a stream, or wait until a computer that has one is nearby.'
        : 'There is no address to sync from yet. Add one in the follow options, or wait until a computer that has this stream is nearby.',
    };
  }
  if (bad.length === tried.length) return { ok: false, text: `${plainSyncError(bad[0]!.error!)} Drayer tries again by itself.` };
  const stored = reports.reduce((n, r) => n + r.stored, 0);
  return { ok: true, text: stored ? `Synced: ${formatCount(stored)} ${stored === 1 ? 'change' : 'changes'}` : 'Up to date' };
}

interface SyncState {
  /** the latest event per stream */
  progress: Record<string, Progress>;
  /** the last successful pull per stream: when and from where */
  lastOk: Record<string, LastOk>;
  onProgress(p: DrayerEvents['syncProgress']): void;
  /** pull one stream (or all) from every known source now */
  syncNow(publicKey?: string): Promise<SyncReport[]>;
  /** a person's "sync now" (the button, Ctrl+R) per stream key, '' for all */
  manual: Record<string, ManualSync>;
  /** "sync now" as a person asks it: tracked in `manual`, its outcome in words */
  syncByHand(publicKey?: string): Promise<SyncOutcome>;
  /** stop the running pull of a stream (what arrived is kept; Sync now resumes it) */
  cancel(publicKey: string): Promise<void>;
}

export const useSync = create<SyncState>()((set, get) => ({
  progress: {},
  lastOk: {},
  onProgress(p) {
    const at = Date.now();
    const good = p.done && !p.error && !p.cancelled;
    const lastOk = good ? { ...get().lastOk, [p.publicKey]: { at, peer: p.peer, via: p.via } } : get().lastOk;
    // A sync that works clears an old failure, the one a person's Sync now left too.
    const manual =
      good && get().manual[p.publicKey]?.failed ? { ...get().manual, [p.publicKey]: { busy: !!get().manual[p.publicKey]?.busy, failed: null } } : get().manual;
    const prev = get().progress[p.publicKey];
    // The speed is measured within one pull: a new one (another peer, or after a done) starts over.
    const same = prev && !prev.done && prev.peer === p.peer && (prev.size ?? 0) <= (p.size ?? 0);
    const samples =
      p.done || p.size === undefined ? undefined : [...(same ? (prev.samples ?? []) : []), { at, size: p.size }].filter((x) => at - x.at <= SPEED_WINDOW_MS);
    // A stop keeps the amount the pull had reached, so the page can say what arrived.
    const reached = p.cancelled && prev && !prev.done ? { size: prev.size, sizeTotal: prev.sizeTotal } : {};
    set({ progress: { ...get().progress, [p.publicKey]: { ...reached, ...p, at, samples } }, lastOk, manual });
    // The stream's page shows the last sync from its details: read again when a pull ends.
    if (p.done && useStreams.getState().details[p.publicKey])
      void useStreams
        .getState()
        .loadDetails(p.publicKey)
        .catch(() => {});
  },
  syncNow(publicKey) {
    return transport().call('syncNow', { publicKey });
  },
  async cancel(publicKey) {
    try {
      await transport().call('cancelSync', { publicKey });
    } catch {
      // the pull ended meanwhile (or the stream is gone): nothing left to stop
    }
  },
  manual: {},
  async syncByHand(publicKey) {
    const k = publicKey ?? '';
    const mark = (m: ManualSync) => set({ manual: { ...get().manual, [k]: m } });
    mark({ busy: true, failed: null });
    let outcome: SyncOutcome;
    try {
      outcome = syncOutcome(await get().syncNow(publicKey), !publicKey);
    } catch (e) {
      outcome = { ok: false, text: messageOf(e) };
    }
    mark({ busy: false, failed: outcome.ok ? null : outcome.text });
    return outcome;
  },
}));

export const selectActive = (s: SyncState): Progress[] => Object.values(s.progress).filter((p) => !p.done);

/** The state of a stream's sync, in one word, for the page, the rail and the header's line. */
export type SyncView =
  | { kind: 'active'; p: Progress }
  /** the user stopped it: what arrived is kept, Sync now resumes */
  | { kind: 'stopped'; at: number }
  /** no source answered in the last round */
  | { kind: 'failed'; at: number; peer: string; error: string }
  | { kind: 'ok'; at: number; peer: string; via?: SourceKind }
  | { kind: 'never' };

/** `s`: what the node said last of the stream (its details), beside the live events. */
export function syncView(
  st: Pick<SyncState, 'progress' | 'lastOk' | 'manual'>,
  publicKey: string,
  s?: { lastSync?: LastSync | null; lastOk?: LastOk | null },
): SyncView {
  const p = st.progress[publicKey];
  if (p && !p.done) return { kind: 'active', p };
  const live = st.lastOk[publicKey];
  const ok = live && (!s?.lastOk || live.at >= s.lastOk.at) ? live : (s?.lastOk ?? undefined);
  const last = s?.lastSync ?? undefined;
  // The newest word wins: a live event, else the node's record of the last round.
  if (p?.cancelled && (!last || p.at >= last.at)) return { kind: 'stopped', at: p.at };
  if (last?.cancelled && (!p || last.at >= p.at) && (!ok || last.at >= ok.at)) return { kind: 'stopped', at: last.at };
  // A failure is the stream's state only when no source answered in that round: a round asks
  // its sources one after another, and one that is down beside one that works is no news.
  const failed = p?.error ? { at: p.at, peer: p.peer, error: p.error } : last?.error ? { at: last.at, peer: last.peer, error: last.error } : null;
  const hand = st.manual[publicKey]?.failed;
  if (failed && (!ok || failed.at - ok.at > ROUND_MS)) return { kind: 'failed', ...failed };
  // a Sync now that failed, until a sync works (in the node's words when they came, which name the address)
  if (hand) return failed && (!ok || failed.at >= ok.at) ? { kind: 'failed', ...failed } : { kind: 'failed', at: Date.now(), peer: '', error: hand };
  if (ok) return { kind: 'ok', at: ok.at, peer: ok.peer, via: ok.via };
  return { kind: 'never' };
}
