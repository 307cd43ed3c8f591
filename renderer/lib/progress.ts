// What a sync's progress says, in words and as a fraction: records first (the pull pages through
// them), then the chunks of big files. Shared by the stream page, the right rail, the follow
// dialog and Nearby so that each says the same thing the same way.
import type { DrayerEvents } from '../../app/api';
import { formatCount } from './time';

type P = Pick<DrayerEvents['syncProgress'], 'records' | 'recordsTotal' | 'chunks' | 'chunksTotal' | 'bytes'>;

export interface ProgressView {
  /** 0..1, or null while no total is known (an indeterminate bar) */
  fraction: number | null;
  /** whole percent, or null */
  percent: number | null;
  /** "120 of 500 records" */
  records: string;
  /** "3 of 12 file parts", or null before any big file */
  chunks: string | null;
  /** "1.2 MB", or null before any byte */
  bytes: string | null;
  /** every part above, joined: "120 of 500 records · 3 of 12 file parts · 1.2 MB" */
  line: string;
}

/** Sizes read the same in the app and on the phone page: app/units.ts says how. */
export { formatBytes } from '../../app/units';
import { formatBytes } from '../../app/units';

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

export function describeProgress(p: P): ProgressView {
  const recordsTotal = p.recordsTotal !== undefined ? Math.max(p.recordsTotal, p.records) : undefined;
  const records = recordsTotal !== undefined
    ? `${formatCount(p.records)} of ${formatCount(recordsTotal)} ${plural(recordsTotal, 'record', 'records')}`
    : `${formatCount(p.records)} ${plural(p.records, 'record', 'records')}`;
  const chunks = p.chunksTotal ? `${formatCount(Math.min(p.chunks ?? 0, p.chunksTotal))} of ${formatCount(p.chunksTotal)} file ${plural(p.chunksTotal, 'part', 'parts')}` : null;
  const bytes = p.bytes > 0 ? formatBytes(p.bytes) : null;
  let fraction: number | null = null;
  // Big files come after the records: while their chunks arrive, the bar follows them (records
  // are the first tenth, chunks the rest), else it follows the records.
  if (p.chunksTotal) fraction = 0.1 + 0.9 * Math.min(1, (p.chunks ?? 0) / p.chunksTotal);
  else if (recordsTotal) fraction = Math.min(1, p.records / recordsTotal);
  else if (recordsTotal === 0) fraction = 1;
  return {
    fraction,
    percent: fraction === null ? null : Math.floor(fraction * 100),
    records,
    chunks,
    bytes,
    line: [records, chunks, bytes].filter(Boolean).join(' · '),
  };
}

/** A peer URL as a person reads it: the host and port, no scheme. */
export function peerLabel(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** A sync error as a person reads it: a peer's request URL cut to its host ("Cannot reach 10.0.0.2:80: …"). */
export function cleanSyncError(message: string): string {
  return message.replace(/https?:\/\/([^/\s]+)\/[^\s]*?(?=:\s|\s|$)/g, '$1');
}
