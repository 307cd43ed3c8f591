// The sync client (DESIGN §4): pull a stream's changes from a peer over HTTP, page by page,
// verify and apply them, and keep a cursor per (peer, stream) tied to the peer's store id so a
// replaced database restarts the feed. Falls back to the original Drayer's newRecords endpoint.
// Every response is bounded in size and time: a hostile peer can waste a request, nothing more.
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { ChunkStore } from '../store/chunk-writer.js';
import { FILE_TYPE, listFiles, missingChunks, parseFileValue } from '../store/files.js';
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { MSGPACK_LIMITS, MsgpackError, type MsgpackLimits } from '../core/msgpack.js';
import { refusedHost } from './lan.js';
import { decodeWire, DrayerRecord, fromWire } from '../core/record.js';
import { DRAYER_SYNC_HEADER } from './protocol.js';
import { peerId } from '../core/peer.js';
import type { ApplyResult, Stream } from '../store/store.js';
import type { Applier } from '../store/verifier.js';

export interface CursorStore {
  getCursor(peer: string, streamPk: string, nodeId: string): number;
  setCursor(peer: string, streamPk: string, nodeId: string, seq: number): void;
  /** the node id last seen for this peer and stream, so a first page can be checked */
  lastNodeId?(peer: string, streamPk: string): string | undefined;
  /** whether the peer was found to be an original Drayer node (newRecords only); kept beyond this process */
  original?(peer: string): boolean;
  setOriginal?(peer: string, yes: boolean): void;
}

/** Cursors kept in the stream file itself: one-shot CLI syncs resume without a library. */
export function streamCursors(s: Stream): CursorStore {
  const read = (peer: string): { node: string; seq: number } | undefined => {
    const v = s.meta(`cursor:${peer}`);
    if (typeof v !== 'string') return undefined;
    try {
      return JSON.parse(v);
    } catch {
      return undefined;
    }
  };
  return {
    getCursor: (peer, _pk, nodeId) => {
      const c = read(peer);
      return c && c.node === nodeId ? c.seq : 0;
    },
    setCursor: (peer, _pk, nodeId, seq) => s.setMeta(`cursor:${peer}`, JSON.stringify({ node: nodeId, seq })),
    lastNodeId: (peer) => read(peer)?.node,
    original: (peer) => s.meta(`original:${peer}`) === 1,
    setOriginal: (peer, yes) => {
      if (yes !== (s.meta(`original:${peer}`) === 1)) s.setMeta(`original:${peer}`, yes ? 1 : null);
    },
  };
}

/**
 * Peers found to be original Drayer nodes (they answered /changes with 404 or their error page,
 * and newRecords with records), so later pulls ask newRecords at once instead of drawing an error
 * first. Kept for this process (a node's memory, a CLI run) and bounded; the cursor store may keep
 * it longer (streamCursors: in the stream file). An answer with the Drayer-Sync header drops it.
 */
const originalPeers = new Set<string>();
const ORIGINAL_PEERS_MAX = 1024;

function isOriginal(peer: string, cursors: CursorStore): boolean {
  return originalPeers.has(peer) || cursors.original?.(peer) === true;
}

function rememberOriginal(peer: string, cursors: CursorStore, yes: boolean): void {
  originalPeers.delete(peer);
  if (yes) {
    originalPeers.add(peer);
    if (originalPeers.size > ORIGINAL_PEERS_MAX) originalPeers.delete(originalPeers.values().next().value!);
  }
  cursors.setOriginal?.(peer, yes);
}


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
function addRejections(list: RejectionCount[], reason: string, count: number, samples: string[]): void {
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
class ReplayGuard {
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
    const over = (this.waste > this.stored + this.slackRecords || this.wasteBytes > this.storedBytes + SYNC_LIMITS.slackBytes) &&
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


export function urlSafeKey(pk: Uint8Array): string {
  return Buffer.from(pk).toString('base64url');
}

/** A non-2xx answer: its status and what the client decides on (retry, fallback, what to say). */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
    /** Retry-After, in ms, when the answer gave one */
    readonly retryAfterMs?: number,
    /** the answer carries the Drayer-Sync header: a Drayer node answered, not an original one */
    readonly drayer = false,
    /** a Drayer node's own words for the failure (text/plain, made safe to print) */
    readonly text?: string,
  ) {
    super(`${url} answered HTTP ${status}${text ? ` ("${text}")` : ''}`);
  }
}

/** Retry-After as ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfter(v: string | null | undefined): number | undefined {
  const t = v?.trim();
  if (!t) return undefined;
  if (/^\d{1,9}$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Answers that mean "not now" are asked again: a LAN server answers 429 when this address has its
 * share (a few syncs from one machine) and 503 with Retry-After when its queue of sync answers is
 * full (server/admission.ts). Each wait is what the peer asks, clamped (a hostile or broken
 * Retry-After, huge or unreadable, cannot stall anyone: at most maxWaitMs, and at most a quarter
 * of the patience so a few tries always fit) and jittered upwards, so refused clients spread out.
 * A pull keeps asking for pullWaitMs without an answer in between (and never past its own time
 * budget); a single request (tips, a value opened on demand) for requestWaitMs. A 503 without
 * Retry-After (a proxy without its backend, maintenance) promises nothing soon and fails at once.
 */
export const BUSY_LIMITS = { pullWaitMs: 5 * 60_000, requestWaitMs: 10_000, maxWaitMs: 30_000, defaultWaitMs: 1000, minWaitMs: 100 } as const;

function retriable(e: unknown): e is HttpStatusError {
  return e instanceof HttpStatusError && (e.status === 429 || (e.status === 503 && e.retryAfterMs !== undefined));
}

/** How long one pull (or one request) keeps asking a busy peer: BUSY_LIMITS. */
export class Patience {
  /** since when every answer has been "busy" (undefined: the last one was not) */
  private since: number | undefined;
  private tries = 0;

  constructor(
    private readonly budgetMs: number,
    private readonly deadline = Number.POSITIVE_INFINITY,
    /** told of each wait, before it begins */
    readonly onWait?: (ms: number, e: HttpStatusError) => void,
  ) {}

  /** An answer came: the patience starts over. */
  answered(): void {
    this.since = undefined;
    this.tries = 0;
  }

  /** The ms to wait before asking again after the busy answer `e`, or the error that ends the asking. */
  next(e: HttpStatusError, url: string): number | DrayerError {
    const now = Date.now();
    this.since ??= now;
    this.tries++;
    const cap = Math.max(BUSY_LIMITS.minWaitMs, Math.min(BUSY_LIMITS.maxWaitMs, this.budgetMs / 4));
    const asked = Math.max(BUSY_LIMITS.minWaitMs, e.retryAfterMs ?? BUSY_LIMITS.defaultWaitMs);
    const wait = Math.round(Math.min(cap, asked) * (1 + Math.random() / 2));
    const over = now + wait - this.since > this.budgetMs;
    if (!over && now + wait <= this.deadline) return wait;
    const said = e.text ? `: "${e.text}"` : '';
    const asking = `asked ${this.tries} time${this.tries === 1 ? '' : 's'} over ${Math.round((now - this.since) / 1000)} s`;
    const end = over ? 'gave up waiting' : "the sync's time is up";
    const what = e.status === 429
      ? `${url} answered HTTP 429 (too many requests from this address${said}), ${asking}; ${end}. Other syncs from this machine to the same peer share its limit: let them finish, or try again later. What arrived is kept.`
      : `${url} is busy (HTTP ${e.status}${said}), ${asking}; ${end}. What arrived is kept: sync again in a few minutes and it goes on from there.`;
    return new DrayerError('IO', what, { cause: e });
  }
}

function sleep(ms: number, url: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stopped = () => new DrayerError('IO', `Sync with ${url} was stopped.`);
    if (signal?.aborted) return reject(stopped());
    const onAbort = () => {
      clearTimeout(timer);
      reject(stopped());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A GET that got no byte of answer because the connection broke under it (a kept-alive socket the
 * server closed as it was reused, a connection refused by a busy server's guard): asking again,
 * on a new connection, is safe and usually works (issue 14.2).
 */
class NoAnswerError extends DrayerError {
  readonly transient = true;
}

/**
 * A failure that may well pass: an answer broken off or not given in time, a peer too busy to
 * answer now. A pull that was making progress resumes from its cursor after one (PULL_RESUMES).
 */
class TransientError extends DrayerError {
  readonly transient = true;
}

function isTransient(e: unknown): boolean {
  return (e as { transient?: boolean } | undefined)?.transient === true;
}

/**
 * A pull whose page fails for a reason that may pass goes on from its cursor after a backoff
 * (doubling with each failure in a row, jittered): only once it has applied a page (a peer
 * that never answered is not waited for, so a dead or hostile one costs a single timeout), at
 * most `stalled` times in a row without a page applied in between, and at most `max` times in all.
 */
export const PULL_RESUMES = { max: 12, stalled: 3, baseMs: 500, maxMs: 8000 } as const;

/** A pull's resumes (PULL_RESUMES). */
class Resumes {
  private pages = 0;
  private inRow = 0;
  private count = 0;

  /** a page was applied */
  progress(): void {
    this.pages++;
    this.inRow = 0;
  }

  /** Whether the pull goes on after `e` (then after the wait), or ends with it. */
  async after(e: unknown, peer: string, signal?: AbortSignal): Promise<boolean> {
    if (!isTransient(e) || signal?.aborted || this.pages === 0) return false;
    if (this.count >= PULL_RESUMES.max || this.inRow >= PULL_RESUMES.stalled) return false;
    this.count++;
    await sleep(backoff(++this.inRow, PULL_RESUMES.baseMs, PULL_RESUMES.maxMs), peer, signal);
    return true;
  }
}

/** Reset connections are asked again this many times, after a backoff (doubling, with jitter). */
export const RESET_RETRIES = { tries: 4, baseMs: 150, maxMs: 3000 } as const;

/** The n-th backoff (n from 1): doubling from baseMs, capped, then somewhere between half and all of it. */
function backoff(n: number, baseMs: number, maxMs: number): number {
  const full = Math.min(maxMs, baseMs * 2 ** (n - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

/**
 * Run one GET (`attempt`), asking again after 429/503 as opts.busy (or a request's own Patience)
 * allows, and after a reset that brought no byte of answer as RESET_RETRIES allow (then on a
 * `fresh` connection); then a sentence saying so.
 */
async function withRetries<T>(url: string, opts: FetchOptions, attempt: (fresh: boolean) => Promise<T>): Promise<T> {
  const patience = opts.busy ?? new Patience(BUSY_LIMITS.requestWaitMs);
  let resets = 0;
  for (;;) {
    try {
      const got = await attempt(resets > 0);
      patience.answered();
      return got;
    } catch (e) {
      // 408: the server gave up waiting for this request (RFC 9110 lets the client repeat it).
      const again = e instanceof NoAnswerError || (e instanceof HttpStatusError && e.status === 408);
      if (again && resets < RESET_RETRIES.tries && !opts.signal?.aborted) {
        await sleep(backoff(++resets, RESET_RETRIES.baseMs, RESET_RETRIES.maxMs), url, opts.signal);
        continue;
      }
      if (!retriable(e)) throw e;
      const wait = patience.next(e, url);
      if (typeof wait !== 'number') throw wait;
      patience.onWait?.(wait, e);
      await sleep(wait, url, opts.signal);
    }
  }
}

/**
 * GET with a size cap and time limits: the answer must begin within timeoutMs, go on with no
 * silence of timeoutMs, and end within ANSWER_TIME_FACTOR × timeoutMs (a slow drip is cut).
 */
export async function fetchBounded(url: string, opts: FetchOptions): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const total = await fetchBody(url, opts, (part) => void parts.push(part));
  return parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts, total));
}

export interface FetchOptions {
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** told whether a 2xx answer carries the Drayer-Sync header */
  onDrayer?: (drayer: boolean) => void;
  /** sync is LAN only: every address asked (each redirect, each address a name resolves to) must be on the local network */
  lanOnly?: boolean;
  /** the pool of kept-alive connections for big bodies fetched several at once (chunks) */
  pool?: 'chunks';
  /** the local address to connect from */
  localAddress?: string;
  /** how long busy answers are waited out (a pull's, shared by its requests); default: one request's */
  busy?: Patience;
}

/** fetchBounded's work: each part of the body goes to `sink` as it arrives; answers the body's length. */
function fetchBody(url: string, opts: FetchOptions, sink: (part: Uint8Array) => void): Promise<number> {
  // A refused answer, or one that never began, has no body parts: the sink has seen nothing when it is asked again.
  return withRetries(url, opts, (fresh) => fetchBodyOnce(url, opts, sink, fresh));
}

/** The first line of a body, at most 200 characters, without control characters (it is printed). */
function sayable(body: Buffer): string | undefined {
  const text = body.subarray(0, 400).toString('utf8').split('\n')[0]!.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?').trim();
  return text ? (text.length > 200 ? `${text.slice(0, 200)}…` : text) : undefined;
}

/** What a server said with an error status, when it is a Drayer node's text/plain: at most a line. */
async function errorText(res: http.IncomingMessage, drayer: boolean): Promise<string | undefined> {
  try {
    if (!drayer || !/^text\/plain\b/i.test(res.headers['content-type'] ?? '')) return undefined;
    const parts: Buffer[] = [];
    let n = 0;
    for await (const part of res as AsyncIterable<Buffer>) {
      parts.push(part);
      if ((n += part.byteLength) >= 400) break;
    }
    return sayable(Buffer.concat(parts));
  } catch {
    return undefined; // the words are a courtesy; the status says what happened
  } finally {
    res.destroy();
  }
}

/**
 * Client connections kept alive are dropped after this long idle: below the 5 s most servers
 * keep them (Node's default, and this LAN server's keepAliveTimeout is longer still), so a
 * request is not sent down a socket the server is closing at that moment. Node's agent also
 * takes a second off any shorter timeout the server announces in its Keep-Alive header.
 */
const CLIENT_IDLE_MS = 4000;

const agents = new Map<string, http.Agent>();

/** The pool of kept-alive connections for a protocol, a sync mode (they never share sockets) and a kind of body. */
function agentFor(protocol: string, opts: FetchOptions): http.Agent {
  const key = `${protocol} ${opts.lanOnly ? 'lan' : 'any'} ${opts.pool ?? 'pages'}`;
  let a = agents.get(key);
  if (!a) {
    // Chunks: 8 sockets at most per peer (a pull fetches 4 at once). Pages: one pull uses two at
    // once (a page and the one read ahead); many pulls from one process may each use their own.
    const o: http.AgentOptions = { keepAlive: true, timeout: CLIENT_IDLE_MS, ...(opts.pool === 'chunks' ? { maxSockets: 8 } : {}) };
    a = protocol === 'https:' ? new https.Agent(o) : new http.Agent(o);
    agents.set(key, a);
  }
  return a;
}

/** Why `target` may not be asked (a metadata service; outside the LAN in LAN-only mode), or undefined. */
function refusedTarget(target: URL, lanOnly: boolean | undefined): string | undefined {
  const why = refusedHost(target.hostname, lanOnly === true);
  return why && `${target.hostname} is ${why}`;
}

/** An error the lookup below gives: the name resolved to an address this client must not contact. */
const REFUSED_ADDRESS = 'EDRAYER_REFUSED_ADDRESS';

/**
 * dns.lookup, then every address the name resolves to is checked like a literal one, so a name
 * cannot lead to a metadata service (or, LAN only, out of the LAN) on the connection itself.
 */
export function guardedLookup(
  lanOnly: boolean | undefined,
  resolve: (host: string, o: dns.LookupAllOptions, cb: (e: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => void = dns.lookup,
): net.LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addrs) => {
      if (err) return callback(err, '', 0);
      for (const a of addrs) {
        const why = refusedHost(a.address, lanOnly === true);
        if (why) {
          const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${a.address}, ${why}`);
          e.code = REFUSED_ADDRESS;
          return callback(e, '', 0);
        }
      }
      if (addrs.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addrs);
      else callback(null, addrs[0]!.address, addrs[0]!.family);
    });
  };
}

/** Errors of a connection that broke before any byte of answer: the request can be sent again. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** What a failed connection means to the caller: a reset (asked again), a refused address, or unreachable. */
function connectError(e: NodeJS.ErrnoException, url: string): DrayerError {
  if (e.code === REFUSED_ADDRESS) return new DrayerError('IO', `${url} was not contacted: ${e.message}.`, { cause: e });
  if (e.code && RESET_CODES.has(e.code)) return new NoAnswerError('IO', `${url} closed the connection without answering (${e.code}); try again later.`, { cause: e });
  return new DrayerError('IO', `Cannot reach ${url}${e.code ? ` (${e.code})` : ''}: check the address and that the peer is running.`, { cause: e });
}

/** One GET to `target` on a pooled connection (or a `fresh` one): its answer's head. */
function request(
  target: URL, opts: FetchOptions, signal: AbortSignal, fresh: boolean, url: string, stopped: (e?: unknown) => DrayerError,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.get(target, {
      agent: fresh ? false : agentFor(target.protocol, opts),
      headers: { accept: opts.pool === 'chunks' ? '*/*' : 'application/msgpack, */*' },
      signal,
      lookup: guardedLookup(opts.lanOnly),
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    }, resolve);
    req.on('error', (e: NodeJS.ErrnoException) => reject(signal.aborted ? stopped(e) : connectError(e, url)));
  });
}

const MAX_REDIRECTS = 10;

/**
 * GET `url`, following redirects here (a peer that redirects in a loop is told apart), each hop
 * checked like the first address: never a metadata service, and only the LAN when sync is LAN only.
 */
async function following(
  url: string, opts: FetchOptions, signal: AbortSignal, fresh: boolean, stopped: (e?: unknown) => DrayerError,
): Promise<http.IncomingMessage> {
  const seen = [url];
  let target = new URL(url);
  const first = refusedTarget(target, opts.lanOnly);
  if (first) throw new DrayerError('IO', `${url} was not contacted: ${first}.`);
  for (;;) {
    const res = await request(target, opts, signal, fresh, url, stopped);
    const status = res.statusCode ?? 0;
    const location = status >= 300 && status < 400 ? res.headers.location : undefined;
    if (location === undefined) return res;
    res.destroy();
    let next: URL;
    try {
      next = new URL(location, target);
    } catch {
      throw new DrayerError('IO', `${url} redirects to "${location.slice(0, 200)}", which is not an address; check the peer's address.`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new DrayerError('IO', `${url} redirects to a ${next.protocol} address; only http and https peers are supported.`);
    const refused = refusedTarget(next, opts.lanOnly);
    if (refused) throw new DrayerError('IO', `${url} redirects to ${next.origin}, which was not contacted: ${refused}.`);
    if (seen.includes(next.href)) {
      const hops = seen.length - seen.indexOf(next.href);
      throw new DrayerError('IO', `${url} redirects in a loop (${hops === 1 ? 'to itself' : `back to an address already asked, after ${hops} redirects`}); check the peer's address.`);
    }
    if (seen.length > MAX_REDIRECTS) throw new DrayerError('IO', `${url} redirected ${MAX_REDIRECTS} times without an answer; check the peer's address.`);
    seen.push(next.href);
    target = next;
  }
}

/**
 * A whole answer may take this many times timeoutMs. Not one limit for all of it: an answer that
 * begins late (a loaded peer) but then flows must not be cut for the wait before it (issue 14.2).
 */
export const ANSWER_TIME_FACTOR = 3;

/**
 * One try of a bounded GET, at most opts.maxBytes: its answer (redirects included) begins within
 * opts.timeoutMs, no part of it is more than that after the one before, and it ends within
 * ANSWER_TIME_FACTOR times that.
 */
async function fetchBodyOnce(url: string, opts: FetchOptions, sink: (part: Uint8Array) => void, fresh: boolean): Promise<number> {
  const timer = new AbortController();
  let late: 'silent' | 'stalled' | 'slow' | undefined;
  let total = 0;
  let begun = false;
  let ended = false;
  const started = Date.now();
  let moved = started;
  // A timer that fires late because this process was busy (many pulls decoding and applying at
  // once) runs before the I/O that waited behind it: the answer may be here, unread. So each
  // limit is judged again after that I/O (setImmediate runs once the loop has polled).
  const expire = (why: NonNullable<typeof late>) => {
    if (ended) return;
    late = why;
    timer.abort();
  };
  const onIdle = () => setImmediate(() => {
    const left = opts.timeoutMs - (Date.now() - moved);
    if (left > 0 && !ended) idle = setTimeout(onIdle, left);
    else expire(begun ? 'stalled' : 'silent');
  });
  let idle = setTimeout(onIdle, opts.timeoutMs);
  const whole = setTimeout(() => setImmediate(() => expire('slow')), opts.timeoutMs * ANSWER_TIME_FACTOR);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
  const stopped = (e?: unknown) => {
    if (!late) return new DrayerError('IO', `Sync with ${url} was stopped.`, { cause: e });
    const t = timeLimit(opts.timeoutMs);
    const why = late === 'silent' ? `${url} did not answer within ${t}; try again later.`
      : late === 'stalled' ? `${url} stopped sending: nothing more came within ${t}, after ${total} bytes of its answer; try again later.`
      : `${url} did not answer within ${timeLimit(opts.timeoutMs * ANSWER_TIME_FACTOR)}: only ${total} bytes came, too slowly; try again later.`;
    return new TransientError('IO', why, { cause: e });
  };
  try {
    if (signal.aborted) throw stopped();
    const res = await following(url, opts, signal, fresh, stopped);
    begun = true;
    moved = Date.now();
    total = await readAnswer(res, url, opts, signal, stopped, sink, (n) => {
      total = n;
      moved = Date.now();
    });
    return total;
  } finally {
    ended = true;
    clearTimeout(idle);
    clearTimeout(whole);
  }
}

/** The body of an answer that began: an error status becomes an HttpStatusError; `moved` is told of each part. */
async function readAnswer(
  res: http.IncomingMessage, url: string, opts: FetchOptions, signal: AbortSignal, stopped: (e?: unknown) => DrayerError,
  sink: (part: Uint8Array) => void, moved: (total: number) => void,
): Promise<number> {
  const status = res.statusCode ?? 0;
  const drayer = res.headers[DRAYER_SYNC_HEADER.toLowerCase()] !== undefined;
  if (status < 200 || status > 299) {
    const h = res.headers['retry-after'];
    // One that cannot be read still says "later": it is waited as one without a delay would be.
    const wait = h === undefined ? undefined : retryAfter(Array.isArray(h) ? h[0] : h) ?? BUSY_LIMITS.defaultWaitMs;
    throw new HttpStatusError(status, url, wait, drayer, await errorText(res, drayer));
  }
  opts.onDrayer?.(drayer);
  const declared = Number(res.headers['content-length'] ?? '-1');
  if (declared > opts.maxBytes) {
    res.destroy();
    throw new DrayerError('IO', `${url} sent ${declared} bytes, more than the ${opts.maxBytes} allowed.`);
  }
  let total = 0;
  try {
    for await (const part of res as AsyncIterable<Buffer>) {
      total += part.byteLength;
      if (total > opts.maxBytes) throw new DrayerError('IO', `${url} sent more than the ${opts.maxBytes} bytes allowed for one response.`);
      sink(part);
      moved(total);
    }
    if (!res.complete) throw new Error('the connection closed before the end of the answer');
  } catch (e) {
    res.destroy(); // a connection with half a body left is not reused
    if (isDrayerError(e)) throw e;
    if (signal.aborted) throw stopped(e);
    throw new TransientError('IO', `${url} broke off its answer after ${total} bytes; try again later.`, { cause: e });
  }
  return total;
}

/** The body of a chunk (or any big body fetched several at once): fetchBody on the chunk pool. */
function httpGetBody(url: string, opts: FetchOptions, sink: (part: Uint8Array) => void): Promise<number> {
  return fetchBody(url, { ...opts, pool: 'chunks' }, sink);
}

const timeLimit = (ms: number) => (ms < 10_000 ? `${ms / 1000} s` : `${Math.round(ms / 1000)} s`);
interface ChangesPageWire {
  node: string;
  seq: number;
  more: boolean;
  records: unknown[];
  last?: number;
  /** records after this page (asked with count=1) */
  left?: number;
}

/** A store id is 32 hex digits; anything much longer is not one (and would be saved with the cursor). */
const MAX_NODE_ID = 128;

/** The reason Stream.apply gives for a record held byte for byte already (store.ts applyOne). */
const ALREADY_HELD = /^already held/;

/** Reasons Stream.apply gives for records that verified but are not needed (store.ts applyOne). */
const VALID_BUT_NOT_NEEDED = /^(stale|already held|deleted|it has no value)/;

/** How many of the records applied were valid (stored, or verified but already superseded). */
function validCount(r: ApplyResult): number {
  return r.stored.length + r.skipped + r.rejected.filter((x) => VALID_BUT_NOT_NEEDED.test(x.reason)).length;
}

/** A peer's answer decoded within the limits of what it should be, or an IO error naming the peer. */
function decodeAnswer(buf: Uint8Array, url: string, limits: MsgpackLimits): unknown {
  try {
    return decodeWire(buf, limits);
  } catch (e) {
    throw new DrayerError('IO', e instanceof MsgpackError ? e.sentBy(url) : `${url} sent something that is not msgpack.`);
  }
}

function parseChangesPage(buf: Uint8Array, url: string): ChangesPageWire {
  const m = decodeAnswer(buf, url, MSGPACK_LIMITS.changesPage);
  const o = m as Record<string, unknown>;
  const node = o?.node instanceof Uint8Array ? Buffer.from(o.node).toString('utf8') : o?.node;
  if (!o || typeof o !== 'object' || typeof node !== 'string' || node.length > MAX_NODE_ID || !Number.isSafeInteger(o.seq) || typeof o.more !== 'boolean' || !Array.isArray(o.records)) {
    throw new DrayerError('IO', `${url} sent a malformed changes page.`);
  }
  const count = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  return { node, seq: o.seq as number, more: o.more, records: o.records, last: count(o.last), left: count(o.left) };
}

/** A changes page asked for (possibly ahead of need), fetched and decoded. */
interface PageRequest {
  since: number;
  limit: number;
  url: string;
  got: Promise<{ buf: Uint8Array; page: ChangesPageWire; recs: DrayerRecord[]; rejections: RejectionCount[] }>;
}

/** Decode a page's records; those that do not decode are counted in `rejections` (`where`: which page). */
function decodeRecords(items: unknown[], pk: Uint8Array, rejections: RejectionCount[], where: string): DrayerRecord[] {
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

/** Pull everything new for `stream` from the peer at `baseUrl`. Resumable: progress is saved per page. */
export async function pull(stream: Stream, baseUrl: string, opts: PullOptions = {}): Promise<PullResult> {
  const peer = peerId(baseUrl);
  await openWindow(stream, peer, opts); // a "latest N" window may first reach further back
  const pk = stream.publicKey;
  const pkText = Buffer.from(pk).toString('base64');
  const cursors = windowCursors(stream, opts.cursors ?? streamCursors(stream));
  const apply: Applier = opts.applier ?? ((s, recs) => s.apply(recs));
  const maxBytes = opts.maxResponseBytes ?? SYNC_LIMITS.maxResponseBytes;
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const deadline = Date.now() + (opts.maxDurationMs ?? SYNC_LIMITS.maxDurationMs);
  const filter = stream.partial;
  const result: PullResult = { peer, protocol: 'changes', records: 0, stored: 0, removed: 0, duplicates: 0, rejected: 0, rejections: [], bytes: 0, chunks: 0, chunkBytes: 0 };
  const account = (r: ApplyResult) => accountApplied(result, r);
  const { progress, busy } = watch(peer, opts, deadline);

  if (isOriginal(peer, cursors)) return pullNewRecords(stream, peer, opts, result, apply, { cursors, remembered: true });

  let limit = opts.pageLimit ?? SYNC_LIMITS.pageLimit;
  let node = cursors.lastNodeId?.(peer, pkText);
  let since = node ? cursors.getCursor(peer, pkText, node) : 0;
  let emptyPages = 0;
  let skippedPages = 0;
  let restarts = 0;
  const guard = new ReplayGuard(stream);
  // Set once a pull of several pages has stored something, cleared when it drains: an interrupted
  // one leaves it, and `verify` calls the copy incomplete rather than damaged. (A peer that stores
  // nothing here, hostile or idle, leaves no mark.)
  let unfinished = false;
  // One page of read-ahead: while a page is verified and applied, the next one is fetched and
  // decoded, so the network, the main thread and the verifier workers overlap. The cursor still
  // moves only after a page is applied; a read-ahead that is not used is aborted.
  const readAhead = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, readAhead.signal]) : readAhead.signal;
  let recordsTotal: number | undefined;
  // The byte-weighted progress (PullProgress.size): values received, and file data named so far.
  let valueBytes = 0;
  let fileBytes = 0;
  const sizeSoFar = (total: number | undefined) => ({
    size: valueBytes,
    sizeTotal: total === undefined ? undefined : Math.round(result.records ? (valueBytes * total) / result.records : 0) + fileBytes,
  });
  const request = (at: number, lim: number, count = false): PageRequest => {
    const q = new URLSearchParams({ since: String(at), limit: String(lim) });
    if (count) q.set('count', '1');
    if (filter.minId) q.set('minId', String(filter.minId));
    if (filter.minMod) q.set('minMod', String(filter.minMod));
    if (filter.metaOnly) q.set('meta', '1');
    const url = `${peer}/${urlSafeKey(pk)}/changes?${q}`;
    const got = fetchBounded(url, { maxBytes, timeoutMs, signal, lanOnly: opts.lanOnly, localAddress: opts.localAddress, busy }).then((buf) => {
      const page = parseChangesPage(buf, url);
      // Records are decoded here too (the costly part); their rejections are merged when the page is used.
      const rejections: RejectionCount[] = [];
      const recs = page.records.length <= lim ? decodeRecords(page.records, pk, rejections, `the page after seq ${at}`) : [];
      if (recs.length) apply.prepare?.(stream, recs);
      return { buf, page, recs, rejections };
    });
    got.catch(() => {}); // awaited below, or dropped with the read-ahead; never "unhandled"
    return { since: at, limit: lim, url, got };
  };
  let ahead: PageRequest | undefined;
  const resumes = new Resumes();
  try {
    for (let first = true; ; first = false) {
      if (Date.now() > deadline) throw new DrayerError('IO', `Sync with ${peer} took too long and was stopped; it resumes from here next time.`);
      const req = ahead && ahead.since === since && ahead.limit === limit ? ahead : request(since, limit, recordsTotal === undefined);
      ahead = undefined;
      let got: Awaited<PageRequest['got']>;
      try {
        got = await req.got;
      } catch (e) {
        // No /changes here: a 404, or the original Drayer's answer to a path it does not know (500,
        // without the Drayer-Sync header every Drayer node sends). Its protocol is asked instead.
        if (first && e instanceof HttpStatusError && !e.drayer && (e.status === 404 || e.status === 500)) {
          return await pullNewRecords(stream, peer, opts, result, apply, { cursors, changes: e });
        }
        if (first && e instanceof HttpStatusError && e.drayer && e.status === 404) {
          throw new DrayerError('NOT_FOUND', `${peer} does not share stream ${pkText}${e.text ? ` ("${e.text}")` : ''}; check the key, or ask whoever runs that node to share the stream.`);
        }
        if (isDrayerError(e) && /more than/.test(e.message) && limit > 1) {
          limit = Math.max(1, Math.floor(limit / 4)); // a page of big values: ask for fewer
          continue;
        }
        if (e instanceof HttpStatusError && e.drayer && e.status >= 500) {
          throw new DrayerError('IO', `${peer} is a Drayer node and failed while answering (HTTP ${e.status}${e.text ? `: "${e.text}"` : ''}); try again later, or ask whoever runs it to look at its log.`);
        }
        if (e instanceof HttpStatusError) throw new DrayerError('IO', e.message);
        // Broken off, not answered in time, too busy: go on from the cursor after a while.
        if (await resumes.after(e, peer, opts.signal)) continue;
        throw e;
      }
      const { buf, page } = got;
      result.bytes += buf.byteLength;
      if (page.node !== node) {
        // A different store answers (first contact, or the peer's database was replaced): start over.
        const restart = since !== 0;
        node = page.node;
        since = 0;
        if (restart) {
          if (++restarts > 1) throw new DrayerError('IO', `${peer} keeps changing its store id, which restarts the sync each time; stopped.`);
          continue;
        }
      }
      result.nodeId = page.node;
      if (page.records.length > limit) throw new DrayerError('IO', `${peer} sent more records than asked for; stopped.`);
      if (page.seq < since) throw new DrayerError('IO', `${peer} sent a page that goes backwards; stopped.`);
      // An honest page that says "more" always moves the cursor on: one that does not would loop forever.
      if (page.more && page.seq === since) throw new DrayerError('IO', `${peer} keeps sending pages whose position does not advance; stopped.`);
      if (page.more) ahead = request(page.seq, limit);
      const recs = got.recs;
      for (const x of got.rejections) addRejections(result.rejections, x.reason, x.count, x.samples);
      result.rejected += page.records.length - recs.length;
      result.records += recs.length;
      for (const r of recs) valueBytes += r.val?.byteLength ?? 0;
      // Peers that do not count (or lie) leave the total unknown or low; it is only ever a progress hint.
      if (recordsTotal === undefined && page.left !== undefined) {
        recordsTotal = result.records + page.left;
        guard.announce(page.records.length + page.left);
      }
      if (recordsTotal !== undefined && recordsTotal < result.records) recordsTotal = result.records;
      let valid = 0;
      let stored = 0;
      if (recs.length) {
        const applied = await apply(stream, recs);
        account(applied);
        valid = validCount(applied);
        stored = applied.stored.length;
        fileBytes += manifestBytes(applied.stored);
      }
      if (page.more && stored && !unfinished) {
        stream.markSync(peer, true);
        unfinished = true;
      }
      since = page.seq;
      cursors.setCursor(peer, pkText, page.node, since);
      resumes.progress();
      progress({ records: result.records, recordsTotal, bytes: result.bytes, seq: since, lastSeq: page.last, ...sizeSoFar(recordsTotal) });
      if (!page.more) {
        stream.markSync(peer, false);
        break;
      }
      const replaying = guard.page(page.records.length, stored, buf.byteLength);
      if (replaying) throw new DrayerError('IO', `${peer} ${replaying}${result.rejected ? ` Rejected: ${rejectionSummary(result.rejections)}.` : ''}`);
      // A page with no valid record (empty, or all forged) moves nothing forward: a few in a row are
      // allowed (filters of partial mirrors make some), an endless run is a broken or hostile peer.
      if (recs.length === 0) {
        // Nothing in this part of the feed passes the mirror's filters: the peer skipped ahead.
        // Honest, but a hostile peer could do it forever, so it is bounded too (and by time).
        if (++skippedPages > SYNC_LIMITS.maxSkippedPages) throw new DrayerError('IO', `${peer} keeps sending empty pages; stopped.`);
        continue;
      }
      emptyPages = valid ? 0 : emptyPages + 1;
      if (emptyPages > SYNC_LIMITS.maxEmptyPages) {
        throw new DrayerError('IO', recs.length ? `${peer} keeps sending pages with no valid record; stopped.` : `${peer} keeps sending empty pages; stopped.`);
      }
    }
  } finally {
    readAhead.abort();
  }
  leaveWindow(stream, result); // a "latest N" mirror's window moves on with the stream
  // A metadata-only copy still wants the stream's name: the one value it fetches at once.
  const info = filter.metaOnly ? stream.get('drayer', 'info') : undefined;
  if (info && !info.val) {
    try {
      await fetchValue(stream, peer, info.id, { timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly });
      result.infoFilled = true;
    } catch {
      // Not fatal: the name shows once a later sync gets it.
    }
  }
  if (opts.fetchChunks ?? !filter.metaOnly) {
    const atRecords = { records: result.records, recordsTotal: recordsTotal ?? result.records, seq: since };
    let chunkBytes = 0;
    result.chunks = await fetchMissingChunks(stream, peer, {
      ...opts,
      busy,
      onChunks: (done, total, bytes, totalBytes) => {
        chunkBytes = bytes;
        progress({ ...atRecords, bytes: result.bytes + bytes, chunks: done, chunksTotal: total, size: valueBytes + bytes, sizeTotal: valueBytes + totalBytes });
      },
    });
    result.chunkBytes = chunkBytes;
    result.bytes += chunkBytes;
  }
  return result;
}

/**
 * A pull's progress reports, and its patience with a busy peer: each wait is reported as progress
 * (the last counts, with `waiting` saying why nothing moves).
 */
function watch(peer: string, opts: PullOptions, deadline: number): { progress: (p: PullProgress) => void; busy: Patience } {
  let last: PullProgress = { records: 0, bytes: 0, seq: 0, size: 0 };
  const progress = (p: PullProgress) => {
    last = p;
    opts.onProgress?.(p);
  };
  const busy = new Patience(opts.busyWaitMs ?? BUSY_LIMITS.pullWaitMs, deadline, (ms, e) => {
    opts.onProgress?.({ ...last, waiting: `${peer} is busy${e.status === 429 ? ' (too many requests from this address)' : ''}; asking again in ${Math.ceil(ms / 1000)} s` });
  });
  return { progress, busy };
}

/** Add what a page's apply did to the pull's counts: records already held are duplicates, not rejections. */
function accountApplied(result: PullResult, r: ApplyResult): void {
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

/**
 * Before a "latest N" mirror pulls: if records were deleted inside its window, older ones belong
 * to it now, and only a peer can say which (ids of deleted records leave holes). The peer's
 * /tips?latest=N names where its N newest live records start; the window reaches down to there
 * (Stream.lowerWindow, which restarts every cursor so the pull brings those records), and after
 * the pull keepLatest trims it to N again. Peers behind this copy (lower tips), peers that cannot
 * tell and older peers that do not answer `start` change nothing: the window stays as it is. A
 * failing /tips is left to the pull itself to report.
 */
async function openWindow(stream: Stream, peer: string, opts: PullOptions): Promise<void> {
  const latest = stream.latest;
  if (!latest || (stream.partial.minId ?? 0) <= 1) return;
  let tips: Awaited<ReturnType<typeof remoteTips>>;
  try {
    tips = await remoteTips(peer, stream.publicKey, { latest, timeoutMs: Math.min(opts.timeoutMs ?? SYNC_LIMITS.timeoutMs, WINDOW_TIPS_TIMEOUT_MS), signal: opts.signal, lanOnly: opts.lanOnly });
  } catch {
    return;
  }
  const to = lowerWindowTo(stream, tips);
  if (to !== undefined) stream.lowerWindow(to);
}

/** Where a "latest N" copy's window must reach down to, given a peer's tips; undefined: it stays. */
export function lowerWindowTo(stream: Stream, tips: { id: number; mod: number; start?: number }): number | undefined {
  const minId = stream.partial.minId ?? 0;
  if (!stream.latest || minId <= 1 || stream.partial.minMod) return undefined;
  if (tips.start === undefined || tips.start >= minId) return undefined;
  // A peer that lacks records this copy holds has an older window: it would pull old records in.
  if (tips.id < stream.idTip() || tips.mod < stream.mtip()) return undefined;
  return Math.max(1, tips.start);
}

/** A slow /tips delays the pull by at most this much (it is one small answer). */
const WINDOW_TIPS_TIMEOUT_MS = 10_000;

/**
 * Cursors of a copy whose window was lowered are kept apart per window epoch (Stream.lowerWindow):
 * a cursor taken under a narrower filter skipped records that the copy now wants.
 */
export function windowCursors(stream: Stream, inner: CursorStore): CursorStore {
  const epoch = Number(stream.meta('windowEpoch') ?? 0);
  if (!epoch) return inner;
  const tag = `#w${epoch}`;
  return {
    getCursor: (peer, pk, node) => inner.getCursor(peer, pk, node + tag),
    setCursor: (peer, pk, node, seq) => inner.setCursor(peer, pk, node + tag, seq),
    lastNodeId: (peer, pk) => {
      const n = inner.lastNodeId?.(peer, pk);
      return n?.endsWith(tag) ? n.slice(0, -tag.length) : undefined; // another epoch's: start over
    },
  };
}

/** Move a "latest N" mirror's window on (Stream.keepLatest), and report what left it. */
function leaveWindow(stream: Stream, result: PullResult): void {
  const ids = stream.keepLatest();
  result.removed += ids.length;
  if (ids.length) result.leftWindow = ids;
}

/** quote_plus(base64(pk)), as the original Drayer builds its URLs. */
export function quotePlusKey(pk: Uint8Array): string {
  return encodeURIComponent(Buffer.from(pk).toString('base64')).replace(/%20/g, '+');
}

/**
 * Original Drayer peers: GET /<pk>/newRecords/<t> gives records with mod > t, oldest first, ~100 a
 * call. `how`: the peer was remembered as an original node, or its answer to /changes (`changes`).
 */
async function pullNewRecords(
  stream: Stream, peer: string, opts: PullOptions, result: PullResult, apply: Applier,
  how: { cursors: CursorStore; remembered?: boolean; changes?: HttpStatusError },
): Promise<PullResult> {
  result.protocol = 'newRecords';
  const pk = stream.publicKey;
  const maxBytes = opts.maxResponseBytes ?? SYNC_LIMITS.maxResponseBytes;
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const deadline = Date.now() + (opts.maxDurationMs ?? SYNC_LIMITS.maxDurationMs);
  const { progress, busy } = watch(peer, opts, deadline);
  let t = stream.mtip();
  // Each call must bring a newer mod, but its page may pad that with records that change nothing.
  const guard = new ReplayGuard(stream);
  let unfinished = false;
  let calls = 0;
  let valueBytes = 0; // an original peer tells no total: its progress counts without one
  const resumes = new Resumes();
  for (;;) {
    if (Date.now() > deadline) throw new DrayerError('IO', `Sync with ${peer} took too long and was stopped.`);
    const url = `${peer}/${quotePlusKey(pk)}/newRecords/${t}`;
    let buf: Uint8Array;
    let drayer = false;
    try {
      buf = await fetchBounded(url, { maxBytes, timeoutMs, signal: opts.signal, onDrayer: (d) => (drayer = d), lanOnly: opts.lanOnly, localAddress: opts.localAddress, busy });
    } catch (e) {
      if (e instanceof HttpStatusError) throw newRecordsFailed(peer, pk, e, how, calls === 0);
      if (await resumes.after(e, peer, opts.signal)) continue; // as in pull: from the newest mod applied
      throw e;
    }
    if (calls++ === 0 && drayer && how.remembered) {
      // The address is a Drayer node now: forget, and pull its changes feed instead.
      rememberOriginal(peer, how.cursors, false);
      return pull(stream, peer, opts);
    }
    result.bytes += buf.byteLength;
    const list = decodeAnswer(buf, url, MSGPACK_LIMITS.newRecords);
    if (!Array.isArray(list)) throw new DrayerError('IO', `${url} did not send a list of records.`);
    if (calls === 1 && !drayer && !how.remembered) rememberOriginal(peer, how.cursors, true);
    if (list.length > 10_000) throw new DrayerError('IO', `${peer} sent an oversized page; stopped.`);
    const decoded = decodeRecords(list, pk, result.rejections, `the page after mod ${t}`);
    const recs = decoded.filter((r) => r.mod > t);
    for (const r of decoded) if (r.mod <= t) tallyRejection(result.rejections, 'not newer than the records asked for', `record ${r.id}`);
    result.rejected += list.length - recs.length;
    if (recs.length === 0) break;
    result.records += recs.length;
    for (const x of recs) valueBytes += x.val?.byteLength ?? 0;
    const r = await apply(stream, recs);
    if (r.stored.length && !unfinished) {
      stream.markSync(peer, true);
      unfinished = true;
    }
    accountApplied(result, r);
    // The next call starts after this page's newest mod; a page in which no record verifies must
    // not move it (a forger could otherwise lead the follower on forever, or past honest records).
    if (validCount(r) === 0) throw new DrayerError('IO', `${peer} sent a page with no valid record (${r.rejected[0]?.reason ?? 'nothing usable'}); stopped.`);
    const last = Math.max(...recs.map((x) => x.mod));
    if (last <= t) break;
    t = last;
    resumes.progress();
    progress({ records: result.records, bytes: result.bytes, seq: t, size: valueBytes });
    // Original peers cannot filter, so a partial copy is sent records outside its range: honest, not waste.
    const replaying = guard.page(list.length, r.stored.length, buf.byteLength, r.skipped);
    if (replaying) throw new DrayerError('IO', `${peer} ${replaying}${result.rejected ? ` Rejected: ${rejectionSummary(result.rejections)}.` : ''}`);
  }
  stream.markSync(peer, false);
  leaveWindow(stream, result);
  return result;
}

/** What to say when newRecords answers an error status: `first`, to the pull's first call. */
function newRecordsFailed(peer: string, pk: Uint8Array, e: HttpStatusError, how: { remembered?: boolean; changes?: HttpStatusError }, first: boolean): DrayerError {
  const key = Buffer.from(pk).toString('base64');
  if (!first) return new DrayerError('IO', `${e.message} part way through the original Drayer protocol; what arrived is kept, and the next sync goes on from there.`);
  if (how.changes?.status === 404 && e.status === 404) return new DrayerError('NOT_FOUND', `${peer} does not serve stream ${key} (HTTP 404); check the key and the address.`);
  // An original node answers 500 both for a path it does not know and for a stream it does not hold.
  const asked = how.remembered
    ? `${peer}, an original Drayer node when last asked, answered HTTP ${e.status} for stream ${key}`
    : `${peer} answered HTTP ${how.changes!.status} to Drayer's sync request and HTTP ${e.status} to the original Drayer's (newRecords) for stream ${key}`;
  return new DrayerError(e.status === 404 ? 'NOT_FOUND' : 'IO', `${asked}: it does not hold this stream (check the key and the address) or it is failing (try again later).`);
}

/** Fetch and verify the value of one record held without it (metadata-only mirrors). */
export async function fetchValue(stream: Stream, baseUrl: string, id: number, opts: { timeoutMs?: number; signal?: AbortSignal; lanOnly?: boolean } = {}): Promise<Uint8Array> {
  const rec = stream.getById(id);
  if (!rec) throw new DrayerError('NOT_FOUND', `Record ${id} is not in this stream.`);
  if (rec.val) return rec.val;
  const url = `${peerId(baseUrl)}/${urlSafeKey(stream.publicKey)}/value/${id}`;
  const val = await fetchBounded(url, { maxBytes: 16 * 1024 * 1024, timeoutMs: opts.timeoutMs ?? SYNC_LIMITS.timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly });
  if (!bytesEqual(blake2b256(val), rec.hash)) throw new DrayerError('INVALID_RECORD', `${baseUrl} sent a value for record ${id} that does not match its signed hash; it was discarded.`);
  stream.fillValue(id, val);
  return val;
}

/** Bytes of big files named by these records' manifests (an estimate of the chunks still to come). */
function manifestBytes(recs: DrayerRecord[]): number {
  let n = 0;
  for (const r of recs) {
    if (r.type !== FILE_TYPE || !r.val) continue;
    try {
      const { header } = parseFileValue(r.val);
      if (header.enc === 'chunks') n += header.size ?? 0;
    } catch {
      // a malformed manifest adds nothing; reading the file says what is wrong with it
    }
  }
  return n;
}

/** Each chunk's size in a big file (by hash, hex), from its manifest: all chunkSize but the last. */
function chunkSizes(stream: Stream, p: string): Map<string, number> {
  const out = new Map<string, number>();
  const val = stream.get(FILE_TYPE, p)?.val;
  if (!val) return out;
  try {
    const { header } = parseFileValue(val);
    const cs = header.chunkSize ?? 0;
    (header.chunks ?? []).forEach((h, i) => out.set(Buffer.from(h).toString('hex'), Math.min(cs, (header.size ?? 0) - i * cs)));
  } catch {
    // no sizes: the progress total counts this file as it arrives
  }
  return out;
}

/** After records arrive, fetch chunks of big files that are not here yet (verified, resumable). */
export async function fetchMissingChunks(
  stream: Stream,
  peer: string,
  opts: PullOptions & { paths?: string[]; onChunks?: (done: number, total: number, bytes: number, totalBytes: number) => void; busy?: Patience } = {},
): Promise<number> {
  const busy = opts.busy ?? new Patience(opts.busyWaitMs ?? BUSY_LIMITS.pullWaitMs);
  const paths = opts.paths ?? listFiles(stream).filter((f) => f.chunked).map((f) => f.path);
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const queue: Uint8Array[] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  for (const p of paths) {
    const sizes = chunkSizes(stream, p);
    for (const h of missingChunks(stream, p)) {
      const k = Buffer.from(h).toString('hex');
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(h);
        totalBytes += sizes.get(k) ?? 0;
      }
    }
  }
  if (queue.length === 0) return 0;
  const total = queue.length;
  opts.onChunks?.(0, total, 0, totalBytes); // the whole is known before the first chunk arrives
  let fetched = 0;
  let bytes = 0;
  // A worker thread verifies each chunk against its hash and stores it (in transactions of about
  // a few MiB) while this thread keeps receiving; a bad chunk never costs the good ones their place.
  const store = ChunkStore.forStream(stream, { verify: true });
  const base = `${peerId(peer)}/${urlSafeKey(stream.publicKey)}/chunk/`;
  const worker = async () => {
    try {
      for (let h = queue.shift(); h; h = queue.shift()) {
        // The body lands in a buffer the writer gave back (no garbage per chunk), grown if a chunk is bigger.
        let buf = store.take();
        let len = 0;
        await httpGetBody(base + Buffer.from(h).toString('hex'), { maxBytes: 4 * 1024 * 1024, timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly, localAddress: opts.localAddress, busy }, (part) => {
          if (len + part.byteLength > buf.byteLength) {
            const bigger = new ArrayBuffer(Math.max(2 * buf.byteLength, len + part.byteLength));
            new Uint8Array(bigger).set(new Uint8Array(buf, 0, len));
            buf = bigger;
          }
          new Uint8Array(buf, len).set(part);
          len += part.byteLength;
        });
        await store.put(buf, len, h);
        fetched++;
        bytes += len;
        opts.onChunks?.(fetched, total, bytes, Math.max(totalBytes, bytes));
      }
    } catch (e) {
      queue.length = 0; // the first failure ends the fetch: the other workers take no new chunk
      throw e;
    }
  };
  try {
    const workers = await Promise.allSettled(Array.from({ length: Math.min(SYNC_LIMITS.chunkConcurrency, queue.length) }, worker));
    await store.close(); // what arrived is kept, even when a fetch failed
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (store.bad) throw store.bad;
    if (failed) throw failed.reason;
  } finally {
    await store.terminate();
  }
  return store.stored;
}

/**
 * The peer's tips for a stream (GET /<pk>/tips): what a "latest N" follow needs to pick its range.
 * With `latest`, a peer that can tell also answers `start`: the id of its N-th newest live record
 * (0: it has fewer). Older peers ignore the question and answer without it.
 */
export async function remoteTips(
  baseUrl: string, pk: Uint8Array, opts: { timeoutMs?: number; latest?: number; signal?: AbortSignal; lanOnly?: boolean } = {},
): Promise<{ node: string; id: number; mod: number; seq: number; start?: number }> {
  const url = `${peerId(baseUrl)}/${urlSafeKey(pk)}/tips${opts.latest ? `?latest=${opts.latest}` : ''}`;
  let buf: Uint8Array;
  try {
    buf = await fetchBounded(url, { maxBytes: 4096, timeoutMs: opts.timeoutMs ?? SYNC_LIMITS.timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly });
  } catch (e) {
    if (e instanceof HttpStatusError) throw new DrayerError('NOT_FOUND', `${peerId(baseUrl)} does not serve this stream (HTTP ${e.status}).`);
    throw e;
  }
  const m = decodeAnswer(buf, url, MSGPACK_LIMITS.tips) as Record<string, unknown> | null;
  if (!m || typeof m !== 'object') throw new DrayerError('IO', `${url} sent malformed tips.`);
  const node = m.node instanceof Uint8Array ? Buffer.from(m.node).toString('utf8') : m.node;
  if (typeof node !== 'string' || node.length > MAX_NODE_ID || !Number.isSafeInteger(m.id) || !Number.isSafeInteger(m.mod) || !Number.isSafeInteger(m.seq)) {
    throw new DrayerError('IO', `${url} sent malformed tips.`);
  }
  const id = m.id as number;
  // A start is an id the peer holds (or 0), so never above its ID tip; anything else is ignored.
  const start = opts.latest && Number.isSafeInteger(m.start) && (m.start as number) >= 0 && (m.start as number) <= id ? (m.start as number) : undefined;
  return { node, id, mod: m.mod as number, seq: m.seq as number, ...(start !== undefined ? { start } : {}) };
}

/**
 * Where a new "latest N" copy of a stream starts (its minId): where the peer says its N newest
 * live records start, or, from a peer that does not say, the ID tip less N (ids of deleted
 * records then count too; the first sync from a peer that tells corrects it).
 */
export async function latestWindowStart(baseUrl: string, pk: Uint8Array, latest: number): Promise<number> {
  const tips = await remoteTips(baseUrl, pk, { latest });
  return Math.max(1, tips.start ?? tips.id - latest + 1);
}
