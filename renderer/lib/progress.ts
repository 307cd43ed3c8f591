// What a sync's progress says, in words and as a fraction. One model, weighted by bytes: the
// values of the records and the chunks of big files count by their size (the node's `size` and
// `sizeTotal`), so a stream of seven records and one 50 MB file is not "100 %" once the seven
// records are in. Shared by the stream page, the right rail, the follow dialog and Nearby so
// that each says the same thing the same way.
import type { DrayerEvents } from '../../app/node/api';
import { formatCount } from './time';

type P = Pick<DrayerEvents['syncProgress'], 'records' | 'recordsTotal' | 'chunks' | 'chunksTotal' | 'bytes' | 'size' | 'sizeTotal' | 'done' | 'waiting'>;

/** A point of a pull's progress in time, for its speed (bytes done at `at`, ms). */
export interface Sample {
  at: number;
  size: number;
}

export interface ProgressView {
  /** 0..1, or null while no total is known (an indeterminate bar) */
  fraction: number | null;
  /** whole percent, or null; never 100 before the pull is done */
  percent: number | null;
  /** what arrived of what comes: "12.4 MB of 50 MB", else "120 of 500 items" (people count posts and files, never records) */
  amount: string;
  /** "about 20 s left", or why nothing moves ("10.0.0.2:80 is busy; asking again in 20 s"), or null while the speed is not known */
  left: string | null;
  /** amount and left, joined: "12.4 MB of 50 MB · about 20 s left" */
  line: string;
}

/** Sizes read the same in the app and on the phone page: app/core/units.ts says how. */
export { formatBytes } from '../../app/core/units';
import { formatBytes } from '../../app/core/units';

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/** Bytes per second over the last samples (at least a second of them), or null. */
export function speed(samples: readonly Sample[]): number | null {
  if (samples.length < 2) return null;
  const a = samples[0]!;
  const b = samples[samples.length - 1]!;
  const ms = b.at - a.at;
  if (ms < 1000 || b.size <= a.size) return null;
  return ((b.size - a.size) * 1000) / ms;
}

/** "about 20 s left" for `seconds`, rounded the way people say it. */
export function timeLeft(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 5) return 'a few seconds left';
  if (seconds < 60) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s left`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min left`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return `about ${h} h${m ? ` ${m} min` : ''} left`;
}

/** A pull that sent nothing for this long has no "time left" to tell (the other computer went quiet). */
export const STALL_MS = 5000;

/** `now`: to tell a pull gone quiet (nothing since STALL_MS), whose old speed says nothing. */
export function describeProgress(p: P, samples: readonly Sample[] = [], now?: number): ProgressView {
  const recordsTotal = p.recordsTotal !== undefined ? Math.max(p.recordsTotal, p.records) : undefined;
  const size = p.size ?? 0;
  const sizeTotal = p.sizeTotal !== undefined && p.sizeTotal > 0 ? Math.max(p.sizeTotal, size) : undefined;
  let fraction: number | null = null;
  let amount: string;
  if (sizeTotal !== undefined) {
    fraction = size / sizeTotal;
    amount = `${formatBytes(size)} of ${formatBytes(sizeTotal)}`;
  } else if (recordsTotal !== undefined) {
    // records without values (a titles-only copy) or an empty stream: count them instead
    fraction = recordsTotal === 0 ? 1 : p.records / recordsTotal;
    amount = `${formatCount(p.records)} of ${formatCount(recordsTotal)} ${plural(recordsTotal, 'item', 'items')}`;
  } else {
    amount = size > 0 ? formatBytes(size) : `${formatCount(p.records)} ${plural(p.records, 'item', 'items')}`;
  }
  let percent = fraction === null ? null : Math.floor(fraction * 100);
  // "100 %" says done: while the pull still runs (a last chunk being stored, the done event on its way) it is 99.
  if (percent !== null && percent >= 100 && !p.done) percent = 99;
  if (fraction !== null && !p.done) fraction = Math.min(fraction, 0.99);
  const quiet = now !== undefined && samples.length > 0 && now - samples[samples.length - 1]!.at > STALL_MS;
  const rate = sizeTotal !== undefined && !quiet ? speed(samples) : null;
  // A busy peer: the pull waits its turn, and says so instead of a time left it cannot know.
  const waiting = p.waiting && !p.done ? p.waiting.replace(/https?:\/\/([^/\s]+)\/?/g, '$1') : null;
  const left = waiting ?? (rate && sizeTotal !== undefined && !p.done ? timeLeft((sizeTotal - size) / rate) || null : null);
  return { fraction, percent, amount, left, line: left ? `${amount} · ${left}` : amount };
}

/** A peer URL as a person reads it: the host and port, no scheme. */
export function peerLabel(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** A sync error as a person reads it: a peer's request URL cut to its host ("Cannot reach 10.0.0.2:80: …"). */
export function cleanSyncError(message: string): string {
  return message.replace(/https?:\/\/([^/\s]+)\/[^\s]*?(?=:\s|\s|$)/g, '$1');
}
