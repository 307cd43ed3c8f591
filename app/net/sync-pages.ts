// What a pull receives and reports: its options, progress and result, changes pages decoded within
// bounds, what applying them did (counts, rejections tallied in bounds, the replay guard).
import * as fs from 'node:fs';
import { DrayerError } from '../core/errors.js';
import { MSGPACK_LIMITS, MsgpackError, type MsgpackLimits } from '../core/msgpack.js';
import { decodeWire, type DrayerRecord, fromWire } from '../core/record.js';
import type { ApplyResult, Stream } from '../store/store.js';
import type { Applier } from '../store/verifier.js';
import type { CursorStore } from './sync-cursors.js';
import { BUSY_LIMITS, Patience } from './sync-fetch.js';

export interface PullProgress {
  /** records received so far, and how many in all when the peer said (its `left` on the first page) */
  records: number;
  recordsTotal?: number;
  bytes: number;
  /** the peer's newest seq when known, for a progress bar */
  seq: number;
  lastSeq?: number;
  /** big files: chunks stored so far of those missing when the fetch began */
  chunks?: number;
  chunksTotal?: number;
  /**
   * What a progress bar follows, in bytes: the values of the records received plus the file
   * chunks stored. `sizeTotal` is the whole when it can be told: the records' share is
   * estimated from the peer's count (`left`) and the average value so far, and big files count
   * by their manifests' sizes as soon as those records arrive (exactly, once their chunks are asked).
   */
  size: number;
  sizeTotal?: number;
  /** set while the pull waits for a busy peer: "… is busy; asking again in N s" */
  waiting?: string;
}

export interface PullOptions {
  cursors?: CursorStore;
  /** verify+apply; defaults to stream.apply (single thread) */
  applier?: Applier;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
  pageLimit?: number;
  /** per response */
  maxResponseBytes?: number;
  /**
   * per request: the wait for an answer to begin, and for each next part of it; the whole answer
   * gets ANSWER_TIME_FACTOR times this
   */
  timeoutMs?: number;
  /** how long the pull keeps asking a peer that answers "busy" (429, 503 with Retry-After) before it gives up (BUSY_LIMITS) */
  busyWaitMs?: number;
  /** the whole pull */
  maxDurationMs?: number;
  /** fetch missing chunks of big files after the records (default: unless metaOnly) */
  fetchChunks?: boolean;
  /** sync is LAN only: no request (redirects and resolved names included) leaves the local network */
  lanOnly?: boolean;
  /** the local address to connect from (a host with several; the clones bench gives each follower its own) */
  localAddress?: string;
}

export interface PullResult {
  peer: string;
  protocol: 'changes' | 'newRecords';
  records: number;
  stored: number;
  removed: number;
  /** records this copy already held, byte for byte (another source's feed, a resent page): not rejections */
  duplicates: number;
  rejected: number;
  /** why records were refused: a count per reason with a few examples (bounded, see tallyRejection) */
  rejections: RejectionCount[];
  /** everything received: pages and file chunks */
  bytes: number;
  chunks: number;
  /** of `bytes`, the file data (chunks of big files) */
  chunkBytes: number;
  /** ids of records that left a "latest N" mirror's window after this pull */
  leftWindow?: number[];
  /** a metadata-only copy fetched the value of drayer/info (the stream's name) */
  infoFilled?: boolean;
  /** the peer served records, but none of them for the asked stream's key */
  nodeId?: string;
}

/** Records refused for one reason in a pull. */
export interface RejectionCount {
  reason: string;
  count: number;
  /** a few of the records refused for it, e.g. "record 17" */
  samples: string[];
}

/**
 * What a pull keeps of its rejections. A hostile peer can send millions of bad records (each page
 * is bounded, not their number), so only counts grow: at most `reasons` reasons (the rest are
 * counted together), each with at most `samples` examples.
 */
export const REJECTION_LIMITS = { reasons: 20, samples: 5, reasonChars: 200 } as const;
const OTHER_REASONS = 'other reasons';

/** Count one refused record in `list`, within REJECTION_LIMITS. */
export function tallyRejection(list: RejectionCount[], reason: string, sample: string): void {
  addRejections(list, reason, 1, [sample]);
}

/** Add `count` refusals for `reason` to `list` (another tally's entry, or one record's). */
export function addRejections(list: RejectionCount[], reason: string, count: number, samples: string[]): void {
  let why = reason.length > REJECTION_LIMITS.reasonChars ? `${reason.slice(0, REJECTION_LIMITS.reasonChars)}…` : reason;
  let entry = list.find((x) => x.reason === why);
  if (!entry && why !== OTHER_REASONS && list.length >= REJECTION_LIMITS.reasons - 1) {
    // The last place is kept for every further reason; its samples say which reason each was.
    samples = samples.map((x) => `${x}: ${why}`);
    why = OTHER_REASONS;
    entry = list.find((x) => x.reason === why);
  }
  if (!entry) list.push((entry = { reason: why, count: 0, samples: [] }));
  entry.count += count;
  for (const x of samples) if (entry.samples.length < REJECTION_LIMITS.samples) entry.samples.push(x);
}

/** The most frequent reasons in a few words: "3 × its signature is not valid …; 1 × stale: …". */
export function rejectionSummary(list: RejectionCount[], most = 3): string {
  const top = [...list].sort((a, b) => b.count - a.count).slice(0, most);
  const rest = list.length - top.length;
  return top.map((x) => `${x.count} × ${x.reason}`).join('; ') + (rest > 0 ? `; and ${rest} other reason${rest === 1 ? '' : 's'}` : '');
}

export const SYNC_LIMITS = {
  pageLimit: 1000,
  maxResponseBytes: 48 * 1024 * 1024,
  timeoutMs: 30_000,
  maxDurationMs: 30 * 60_000,
  maxEmptyPages: 20,
  maxSkippedPages: 10_000,
  chunkConcurrency: 4,
  /** records that change nothing here, tolerated beyond what the copy holds (ReplayGuard): this many of the peer's biggest pages */
  slackPages: 2,
  /** and bytes of them */
  slackBytes: 16 * 1024 * 1024,
} as const;

/**
 * A pull's budget for what changes nothing here. An honest feed sends each live record once, so
 * records this copy already holds, or no longer needs (stale, deleted, out of range), number at
 * most about what it held when the pull began, and weigh about what its file weighs. A peer
 * replaying valid records with `more: true` would otherwise hold a follower for its whole time
 * budget (a clone: 30 min). And past what the peer said it had (`left` on the first page, plus
 * slack for records written meanwhile), a page must bring something new.
 */
export class ReplayGuard {
  private received = 0;
  private stored = 0;
  private storedBytes = 0;
  private waste = 0;
  private wasteBytes = 0;
  private pages = 0;
  private announced: number | undefined;
  private heldBefore: { records: number; bytes: number } | undefined;
  /** slack, in records: a few of the biggest pages the peer has sent (one that sends small pages gets a small slack) */
  private slackRecords = 0;

  constructor(private readonly stream: Stream) {}

  /** The peer's own count: records on its first page plus those it said were left. */
  announce(records: number): void {
    this.announced ??= records;
  }

  /**
   * What the copy held before this pull, about: read once, and only when the waste comes near it,
   * as what it holds now less what this pull stored.
   */
  private held(): { records: number; bytes: number } {
    this.heldBefore ??= {
      records: Math.max(0, this.stream.count() - this.stored),
      bytes: Math.max(0, fileBytes(this.stream.file) - this.storedBytes),
    };
    return this.heldBefore;
  }

  /**
   * Count a page: `items` records in it, `stored` of them stored, `excused` more of no use but
   * honestly sent; answers why the pull must stop, or null.
   */
  page(items: number, stored: number, bytes: number, excused = 0): string | null {
    this.pages++;
    this.slackRecords = Math.max(this.slackRecords, SYNC_LIMITS.slackPages * items);
    this.received += items;
    this.stored += stored;
    const useful = items ? Math.round((bytes * (stored + excused)) / items) : 0;
    this.storedBytes += useful;
    this.waste += items - stored - excused;
    this.wasteBytes += bytes - useful;
    // (the first line spares reading what is held while the waste is below what this pull stored)
    const over =
      (this.waste > this.stored + this.slackRecords || this.wasteBytes > this.storedBytes + SYNC_LIMITS.slackBytes) &&
      (this.waste > this.held().records + this.stored + this.slackRecords || this.wasteBytes > this.held().bytes + this.storedBytes + SYNC_LIMITS.slackBytes);
    const kept = `the ${this.stored} new record${this.stored === 1 ? '' : 's'} it sent ${this.stored === 1 ? 'is' : 'are'} kept`;
    if (over) {
      return `kept sending records that bring nothing new here (${this.waste} of ${this.received}, ${sizeText(this.wasteBytes)}: already held, not needed or refused); stopped after ${this.pages} pages, ${kept}.`;
    }
    if (stored === 0 && this.announced !== undefined && this.received > this.announced + this.slackRecords) {
      return `kept sending records after the ${this.announced} it said it had, none of them new; stopped after ${this.pages} pages, ${kept}.`;
    }
    return null;
  }
}

/** A stream file's size on disk, its WAL included. */
function fileBytes(file: string): number {
  let n = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      n += fs.statSync(f).size;
    } catch {
      // no WAL (or the file is gone): nothing to add
    }
  }
  return n;
}

const sizeText = (n: number) => (n < 1024 * 1024 ? `${Math.ceil(n / 1024)} KiB` : `${(n / (1024 * 1024)).toFixed(1)} MiB`);

export interface ChangesPageWire {
  node: string;
  seq: number;
  more: boolean;
  records: unknown[];
  last?: number;
  /** records after this page (asked with count=1) */
  left?: number;
}

/** A store id is 32 hex digits; anything much longer is not one (and would be saved with the cursor). */
export const MAX_NODE_ID = 128;

/** The reason Stream.apply gives for a record held byte for byte already (store.ts applyOne). */
const ALREADY_HELD = /^already held/;

/** Reasons Stream.apply gives for records that verified but are not needed (store.ts applyOne). */
const VALID_BUT_NOT_NEEDED = /^(stale|already held|deleted|it has no value)/;

/** How many of the records applied were valid (stored, or verified but already superseded). */
export function validCount(r: ApplyResult): number {
  return r.stored.length + r.skipped + r.rejected.filter((x) => VALID_BUT_NOT_NEEDED.test(x.reason)).length;
}

/** A peer's answer decoded within the limits of what it should be, or an IO error naming the peer. */
export function decodeAnswer(buf: Uint8Array, url: string, limits: MsgpackLimits): unknown {
  try {
    return decodeWire(buf, limits);
  } catch (e) {
    throw new DrayerError('IO', e instanceof MsgpackError ? e.sentBy(url) : `${url} sent something that is not msgpack.`);
  }
}

export function parseChangesPage(buf: Uint8Array, url: string): ChangesPageWire {
  const m = decodeAnswer(buf, url, MSGPACK_LIMITS.changesPage);
  const o = m as Record<string, unknown>;
  const node = o?.node instanceof Uint8Array ? Buffer.from(o.node).toString('utf8') : o?.node;
  if (
    !o ||
    typeof o !== 'object' ||
    typeof node !== 'string' ||
    node.length > MAX_NODE_ID ||
    !Number.isSafeInteger(o.seq) ||
    typeof o.more !== 'boolean' ||
    !Array.isArray(o.records)
  ) {
    throw new DrayerError('IO', `${url} sent a malformed changes page.`);
  }
  const count = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  return { node, seq: o.seq as number, more: o.more, records: o.records, last: count(o.last), left: count(o.left) };
}

/** Decode a page's records; those that do not decode are counted in `rejections` (`where`: which page). */
export function decodeRecords(items: unknown[], pk: Uint8Array, rejections: RejectionCount[], where: string): DrayerRecord[] {
  const out: DrayerRecord[] = [];
  for (const [i, it] of items.entries()) {
    try {
      out.push(fromWire(it, pk));
    } catch (e) {
      tallyRejection(rejections, `undecodable record: ${(e as Error).message}`, `item ${i} of ${where}`);
    }
  }
  return out;
}

/**
 * A pull's progress reports, and its patience with a busy peer: each wait is reported as progress
 * (the last counts, with `waiting` saying why nothing moves).
 */
export function watch(peer: string, opts: PullOptions, deadline: number): { progress: (p: PullProgress) => void; busy: Patience } {
  let last: PullProgress = { records: 0, bytes: 0, seq: 0, size: 0 };
  const progress = (p: PullProgress) => {
    last = p;
    opts.onProgress?.(p);
  };
  const busy = new Patience(opts.busyWaitMs ?? BUSY_LIMITS.pullWaitMs, deadline, (ms, e) => {
    opts.onProgress?.({
      ...last,
      waiting: `${peer} is busy${e.status === 429 ? ' (too many requests from this address)' : ''}; asking again in ${Math.ceil(ms / 1000)} s`,
    });
  });
  return { progress, busy };
}

/** Add what a page's apply did to the pull's counts: records already held are duplicates, not rejections. */
export function accountApplied(result: PullResult, r: ApplyResult): void {
  result.stored += r.stored.length;
  result.removed += r.removed.length;
  for (const x of r.rejected) {
    if (ALREADY_HELD.test(x.reason)) {
      result.duplicates++;
      continue;
    }
    result.rejected++;
    tallyRejection(result.rejections, x.reason, `record ${x.record.id}`);
  }
}
