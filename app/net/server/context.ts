// What every per-stream route handler gets: the request, the response, the stream it names,
// the query, the server's limits, and what its answer may hold in memory.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenOptions } from '../open.js';
import type { Stream } from '../../store/store.js';

export interface ServerLimits {
  /** longer request targets get 414 */
  maxUrlBytes: number;
  /** records per changes page */
  maxPageRecords: number;
  /** value bytes per changes (and newRecords) page; one record is always sent */
  maxPageBytes: number;
  /** requests in flight; more get 503 */
  maxConcurrent: number;
  /** requests in flight from one address (IPv4, or IPv6 /64); more get 429. Kept below maxConcurrent */
  maxConcurrentPerAddress: number;
  /** open connections; past this an idle one is closed to make room, or the new one is refused */
  maxConnections: number;
  /** open connections from one address; past this its own idle one makes room, or the new one is refused */
  maxConnectionsPerAddress: number;
  /** bytes of answers held in memory (waiting for slow readers) for all clients; past this, 503 */
  maxBufferedBytes: number;
  /** the same for one address; past this pages come shorter, then 429. Keep it above one record (8 MiB value) */
  maxBufferedBytesPerAddress: number;
  /** an answer whose bytes have not moved for this long is cut (the client stopped reading) */
  stallTimeoutMs: number;
  /** idle socket and whole-request-receive timeout */
  requestTimeoutMs: number;
  /** time allowed to send the request headers (slowloris) */
  headersTimeoutMs: number;
  /** records per original-Drayer newRecords answer (new-records.ts) */
  newRecordsLimit: number;
  /** bytes per newRecords answer, at most: the original reads 100 MB of an answer, and no more */
  newRecordsBytes: number;
  /** fetches a metadata-only copy makes per minute for what one address opens (four times this for all); more get 429 */
  openFetchesPerMinute: number;
  /** sync answers (changes, newRecords, tips, values, chunks) waiting their turn; more get 503 with Retry-After (admission.ts) */
  maxSyncQueue: number;
  /** the longest a sync request is let wait its turn (estimated from the recent pace); longer gets 503 */
  maxSyncWaitMs: number;
  /** past this event-loop lag, sync requests get 503 with Retry-After */
  maxLagMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: ServerLimits = {
  maxUrlBytes: 2048,
  maxPageRecords: 1000,
  maxPageBytes: 16 * MiB,
  maxConcurrent: 64,
  // A browser opens at most 6 connections to a host and a pull runs at most 5 requests at once
  // (4 chunk fetches and a page); a quarter of maxConcurrent, so it takes 4 addresses to fill it.
  maxConcurrentPerAddress: 16,
  // Well under the usual 1024 open-file limit, with room for the stream files.
  maxConnections: 512,
  // Browsers' 6 plus a pull's 8 kept-alive chunk sockets and fetch's pool, with room for a few
  // apps on one device; 16 addresses are needed to fill maxConnections.
  maxConnectionsPerAddress: 32,
  // Four addresses' worth: what a burst of slow readers can cost this node, instead of a page each.
  maxBufferedBytes: 96 * MiB,
  // One full changes page (16 MiB of values and their records) and a few chunks in flight.
  maxBufferedBytesPerAddress: 24 * MiB,
  // Longer than a Wi-Fi hiccup or a retransmission backoff; a download cut here resumes by Range.
  stallTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // An original following us pulls every 2 h and takes one answer each time: as much as it reads.
  newRecordsLimit: 100_000,
  newRecordsBytes: 90_000_000,
  // A page of a site with its pictures, a few times a minute; a generated page of posts is one.
  openFetchesPerMinute: 60,
  // Below maxConcurrent, so a busy node says "later" with a wait that fits its queue (and keeps the
  // connection) before the guard's flat refusal; a third of a client's 30 s wait for an answer.
  maxSyncQueue: 48,
  maxSyncWaitMs: 10_000,
  maxLagMs: 3000,
};

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  stream: Stream;
  /** the key as it appeared in the URL (still percent-encoded), for relative redirects */
  keyRaw: string;
  /** what follows the key, split on '/', still percent-encoded */
  args: string[];
  /** the URL named a device's chain of `stream` (§9), not the stream: newRecords answers that chain */
  chain?: Uint8Array;
  query: URLSearchParams;
  limits: ServerLimits;
  /** describe a failure the client cannot be told about (the answer had already begun) */
  log: (message: string) => void;
  /** bytes this answer may still hold in memory (what is left of its address's and the server's share) */
  room(): number;
  /** count bytes this answer holds in memory until it ends; throws 429/503 when they do not fit */
  reserve(bytes: number): void;
  /** the streams this server shares, by key (undefined: not shared here) */
  served?: (pk: Uint8Array) => Stream | undefined;
  /** where a metadata-only copy fetches what this request opens (absent: it cannot) */
  opener?: () => Pick<OpenOptions, 'sources' | 'onValue'>;
}
