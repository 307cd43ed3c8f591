// The tools of one stream and of your keys: key backup words, restore from words, open a stream
// file, export, verify, primary servers. Results are per stream so a page shows the latest.
import { create } from 'zustand';
import { transport } from '../api';
import type { KeyBackup, PrimaryServer, StreamSummary, VerifyReportView, WordsCheck } from '../../app/node/api';
import { useStreams } from './streams';
import { useTimeline } from './timeline';

/** Positions (0-based) of `n` different words to ask for, in order. */
export function pickPositions(total: number, n: number, rand: () => number = Math.random): number[] {
  const all = Array.from({ length: total }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, n).sort((a, b) => a - b);
}

/** Whether what was typed for each asked position is the word there (case and spaces ignored). */
export function checkAnswers(words: string[], asked: number[], answers: string[]): boolean[] {
  return asked.map((pos, i) => (answers[i] ?? '').trim().toLowerCase() === words[pos]);
}

/** An http(s) address as a primary server, or the reason it is not one (shown beside the field). */
export function serverProblem(url: string, existing: string[]): string | null {
  const t = url.trim();
  if (!t) return 'Type an address, like https://mirror.example.org';
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return 'That is not an address. It looks like https://mirror.example.org or http://192.168.1.20:15723';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `Only http and https addresses work, not ${u.protocol.replace(/:$/, '')}.`;
  if (!u.hostname) return 'The address needs a host name.';
  const norm = (x: string) => x.replace(/\/+$/, '').toLowerCase();
  if (existing.some((e) => norm(e) === norm(t))) return 'That server is in the list already.';
  return null;
}

interface ToolsState {
  verify: Record<string, { running: boolean; report?: VerifyReportView; error?: string; at?: number }>;
  keyBackup(publicKey: string): Promise<KeyBackup>;
  checkWords(words: string): Promise<WordsCheck>;
  restore(words: string, url?: string): Promise<StreamSummary>;
  /** importOriginal: a file of the original Drayer is imported (a copy) and the copy opened */
  openFile(path: string, importOriginal?: boolean): Promise<StreamSummary>;
  exportTo(publicKey: string, path: string): Promise<{ path: string; records: number; bytes: number }>;
  runVerify(publicKey: string): Promise<void>;
  setServers(publicKey: string, urls: string[]): Promise<PrimaryServer[]>;
}

async function afterNewStream(): Promise<void> {
  await Promise.all([useStreams.getState().load(), useTimeline.getState().refreshHead(true)]);
}

export const useStreamTools = create<ToolsState>()((set, get) => ({
  verify: {},
  keyBackup: (publicKey) => transport().call('keyBackup', { publicKey }),
  checkWords: (words) => transport().call('checkWords', { words }),
  async restore(words, url) {
    const s = await transport().call('restoreStream', { words, url: url?.trim() || undefined });
    await afterNewStream();
    return s;
  },
  async openFile(path, importOriginal) {
    const s = await transport().call('openStreamFile', importOriginal ? { path, importOriginal } : { path });
    await afterNewStream();
    return s;
  },
  exportTo: (publicKey, path) => transport().call('exportStream', { publicKey, path }),
  async runVerify(publicKey) {
    set({ verify: { ...get().verify, [publicKey]: { running: true } } });
    try {
      const report = await transport().call('verifyStream', { publicKey });
      set({ verify: { ...get().verify, [publicKey]: { running: false, report, at: Date.now() } } });
    } catch (e) {
      set({ verify: { ...get().verify, [publicKey]: { running: false, error: (e as Error).message } } });
    }
  },
  async setServers(publicKey, urls) {
    const r = await transport().call('setPrimaryServers', { publicKey, servers: urls.map((url) => ({ type: 'http' as const, url })) });
    await useStreams.getState().loadDetails(publicKey);
    return r;
  },
}));

/** The web UI's download link of a keyless copy (the session cookie signs it, as it does every API call). */
export function exportDownloadUrl(publicKey: string): string | null {
  if (window.drayer) return null; // Electron saves through a native dialog instead
  return `/api/export?publicKey=${encodeURIComponent(publicKey)}`;
}
