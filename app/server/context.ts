// What every per-stream route handler gets: the request, the response, the stream it names,
// the query, and the server's limits.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Stream } from '../store.js';

export interface ServerLimits {
  /** longer request targets get 414 */
  maxUrlBytes: number;
  /** records per changes page */
  maxPageRecords: number;
  /** value bytes per changes (and newRecords) page; one record is always sent */
  maxPageBytes: number;
  /** requests in flight; more get 503 */
  maxConcurrent: number;
  /** idle socket and whole-request-receive timeout */
  requestTimeoutMs: number;
  /** time allowed to send the request headers (slowloris) */
  headersTimeoutMs: number;
  /** records per original-Drayer newRecords answer */
  newRecordsLimit: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxUrlBytes: 2048,
  maxPageRecords: 1000,
  maxPageBytes: 16 * 1024 * 1024,
  maxConcurrent: 64,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  newRecordsLimit: 100,
};

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  stream: Stream;
  /** the key as it appeared in the URL (still percent-encoded), for relative redirects */
  keyRaw: string;
  /** what follows the key, split on '/', still percent-encoded */
  args: string[];
  query: URLSearchParams;
  limits: ServerLimits;
  /** describe a failure the client cannot be told about (the answer had already begun) */
  log: (message: string) => void;
}
