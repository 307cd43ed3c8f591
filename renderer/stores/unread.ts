// Unread marks for followed streams: a stream is unread while it holds a post newer than the
// newest of its posts the reader has had in view (on Home, or by opening the stream's page).
// The last-seen times (µs, per stream key) live in this browser's localStorage, so they survive a
// reload; they are per app origin (the web UI on another port starts afresh) and never leave it.
import { create } from 'zustand';
import type { TimelineItem } from '../api/transport';

const STORAGE_KEY = 'drayer.lastSeen';
/** Entries kept: more than anyone follows; the oldest-seen go first. */
const MAX_ENTRIES = 2000;

function read(): Record<string, number> {
  try {
    const v = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
  } catch {
    return {};
  }
}

function write(seen: Record<string, number>): void {
  try {
    let entries = Object.entries(seen);
    if (entries.length > MAX_ENTRIES) entries = entries.sort((a, b) => b[1] - a[1]).slice(0, MAX_ENTRIES);
    localStorage.setItem(STORAGE_KEY, JSON.stringify(Object.fromEntries(entries)));
  } catch {
    /* storage off or full: the marks last until the window closes */
  }
}

interface UnreadState {
  /** per stream key: the newest post time (µs) the reader has seen */
  lastSeen: Record<string, number>;
  /** the reader saw posts of a stream up to this time */
  markSeen(streamKey: string, ts: number): void;
}

export const useUnread = create<UnreadState>()((set, get) => ({
  lastSeen: typeof localStorage === 'undefined' ? {} : read(),
  markSeen(streamKey, ts) {
    if (!(ts > (get().lastSeen[streamKey] ?? 0))) return;
    const lastSeen = { ...get().lastSeen, [streamKey]: ts };
    set({ lastSeen });
    write(lastSeen);
  },
}));

/** The newest post time per stream among the posts given. */
export function newestByStream(posts: Iterable<Pick<TimelineItem, 'streamKey' | 'ts'>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of posts) if (!(p.ts <= (out[p.streamKey] ?? -Infinity))) out[p.streamKey] = p.ts;
  return out;
}

/** Streams (of those given) with a post newer than what was seen of them. */
export function unreadStreams(keys: string[], newest: Record<string, number>, lastSeen: Record<string, number>): Set<string> {
  return new Set(keys.filter((k) => newest[k] !== undefined && newest[k]! > (lastSeen[k] ?? 0)));
}
