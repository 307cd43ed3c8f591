// Sync and progress: the latest progress per stream from the node's events, kept for the
// sidebar's spinners, the right rail's bars and the stream page's "synced … ago" line.
import { create } from 'zustand';
import { transport } from '../api';
import type { DrayerEvents, SyncReport } from '../api/transport';

export type Progress = DrayerEvents['syncProgress'] & { at: number };

interface SyncState {
  /** the latest event per stream */
  progress: Record<string, Progress>;
  /** the last successful pull per stream: when and from where */
  lastOk: Record<string, { at: number; peer: string }>;
  onProgress(p: DrayerEvents['syncProgress']): void;
  /** pull one stream (or all) from every known source now */
  syncNow(publicKey?: string): Promise<SyncReport[]>;
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
}));

export const selectActive = (s: SyncState): Progress[] => Object.values(s.progress).filter((p) => !p.done);
