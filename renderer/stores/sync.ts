// Sync and progress: the latest progress per stream from the node's events, kept for the
// sidebar's spinners, the right rail's bars and the stream page's "synced … ago" line.
import { create } from 'zustand';
import { transport } from '../api';
import type { DrayerEvents, SyncReport } from '../api/transport';
import { formatCount } from '../lib/time';
import { messageOf } from './errors';

export type Progress = DrayerEvents['syncProgress'] & { at: number };

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
  if (reports.length > 0 && reports.every((r) => r.skipped)) return { ok: false, text: reports[0]!.skipped! }; // LAN only, and no source on the LAN
  const tried = reports.filter((r) => !r.skipped);
  const bad = tried.filter((r) => r.error);
  if (reports.length === 0) {
    return { ok: false, text: all ? 'There is nothing to sync from yet: follow a stream, or wait until a computer that has one is nearby.' : 'There is no address to sync from yet. Add one in the follow options, or wait until a computer that has this stream is nearby.' };
  }
  if (bad.length === tried.length) return { ok: false, text: `${plainSyncError(bad[0]!.error!)} Drayer tries again by itself.` };
  const stored = reports.reduce((n, r) => n + r.stored, 0);
  return { ok: true, text: stored ? `Synced: ${formatCount(stored)} ${stored === 1 ? 'change' : 'changes'}` : 'Up to date' };
}

interface SyncState {
  /** the latest event per stream */
  progress: Record<string, Progress>;
  /** the last successful pull per stream: when and from where */
  lastOk: Record<string, { at: number; peer: string }>;
  onProgress(p: DrayerEvents['syncProgress']): void;
  /** pull one stream (or all) from every known source now */
  syncNow(publicKey?: string): Promise<SyncReport[]>;
  /** a person's "sync now" (the button, Ctrl+R) per stream key, '' for all */
  manual: Record<string, ManualSync>;
  /** "sync now" as a person asks it: tracked in `manual`, its outcome in words */
  syncByHand(publicKey?: string): Promise<SyncOutcome>;
}

export const useSync = create<SyncState>()((set, get) => ({
  progress: {},
  lastOk: {},
  onProgress(p) {
    const at = Date.now();
    const lastOk = p.done && !p.error ? { ...get().lastOk, [p.publicKey]: { at, peer: p.peer } } : get().lastOk;
    set({ progress: { ...get().progress, [p.publicKey]: { ...p, at } }, lastOk });
  },
  syncNow(publicKey) {
    return transport().call('syncNow', { publicKey });
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
