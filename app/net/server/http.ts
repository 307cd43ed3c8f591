// Small HTTP helpers for the LAN server: plain-text errors, byte bodies with the security
// headers every answer carries (big ones counted as held in memory), query-number parsing,
// Range, ETag and Accept-Encoding.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { admissions, type Refusal } from './guard.js';
import { DRAYER_SYNC_HEADER } from '../protocol.js';

/** An answer the request earned (bad input, not found...): its message is safe to show. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Stream content runs in a sandbox without allow-same-origin: an opaque origin, so pages of one
 * stream cannot read another stream (or this node's answers) through same-origin requests, and
 * get no cookies or storage shared with anything else served here. Framed only by pages of this
 * computer: the web UI's Site tab previews the site (from another port, so not 'self').
 */
export const CONTENT_CSP =
  'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads; ' +
  "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; connect-src 'self'; " +
  "base-uri 'self'; form-action 'self'; frame-ancestors 'self' http://127.0.0.1:* http://localhost:*";

/** Pages this node generates run no script at all. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Every answer carries these: no sniffing a msgpack body or a value into HTML, no referrer
 * leaking keys, and a sandbox for anything rendered anyway (pages and files set their own CSP).
 */
export const BASE_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "sandbox; default-src 'none'",
  [DRAYER_SYNC_HEADER]: 'changes',
};

export function setHeaders(res: ServerResponse, headers: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(BASE_HEADERS)) res.setHeader(k, v);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
}

/** The answer to a request a bound refused: 429 when the client's address has its share, else 503. */
export function refusal(why: Refusal): HttpError {
  return why.startsWith('address')
    ? new HttpError(429, 'This node is already answering as much as it does for one address; try again in a moment.', { 'Retry-After': '1' })
    : new HttpError(503, 'This node is busy; try again in a moment.', { 'Retry-After': '1' });
}

/** Bodies up to this size are not counted as held: the bound on requests in flight bounds them. */
export const UNCOUNTED_BODY = 64 * 1024;

/** Bytes this answer may still hold in memory (unbounded outside a LanServer). */
export function room(res: ServerResponse): number {
  return admissions.get(res)?.room() ?? Number.POSITIVE_INFINITY;
}

/** Count bytes this answer holds in memory until it ends (429/503 when they do not fit). */
export function reserve(res: ServerResponse, bytes: number): void {
  const why = admissions.get(res)?.hold(bytes);
  if (why) throw refusal(why);
}

/** A body piped into this answer: what it holds is then measured, its read-ahead included (guard.ts heldBy). */
export function trackBody(res: ServerResponse, body: import('node:stream').Readable): void {
  admissions.get(res)?.track(body);
}

/** Send a whole body (omitted for HEAD, Content-Length kept); a big one counts as held until sent. */
export function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: Uint8Array | string,
  headers: Record<string, string | number> = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (req.method !== 'HEAD' && buf.length > UNCOUNTED_BODY) reserve(res, buf.length);
  setHeaders(res, { 'Content-Type': type, 'Content-Length': buf.length, ...headers });
  res.statusCode = status;
  if (req.method === 'HEAD') res.end();
  else res.end(buf);
}

export function sendText(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string | number> = {}): void {
  sendBody(req, res, status, 'text/plain; charset=utf-8', message.endsWith('\n') ? message : message + '\n', { 'Cache-Control': 'no-store', ...headers });
}

/** A non-negative integer query parameter; `undefined` when absent; 400 when malformed. */
export function uintParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return parseUint(v, `The query parameter "${name}"`);
}

export function parseUint(v: string, what: string): number {
  if (!/^[0-9]{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new HttpError(400, `${what} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, not "${clip(v)}".`);
  }
  return Number(v);
}

/** A possibly negative integer (the original Drayer's int(t)). */
export function parseInt64(v: string, what: string): number {
  if (!/^-?[0-9]{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new HttpError(400, `${what} must be a whole number, not "${clip(v)}".`);
  }
  return Number(v);
}

export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '0' || v === 'false') return false;
  if (v === '' || v === '1' || v === 'true') return true;
  throw new HttpError(400, `The query parameter "${name}" must be 1 or 0, not "${clip(v)}".`);
}

/** Echo at most a little of what the client sent (never the whole oversized thing). */
export function clip(s: string): string {
  const t = s.length > 40 ? s.slice(0, 40) + '…' : s;
  return t.replace(/[^\x20-\x7e]/g, '?');
}

export type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * One `bytes=` range of a body of `size` bytes. Multiple ranges and anything unparsable are
 * ignored (the whole body is sent, which RFC 9110 allows); a range past the end is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): Range {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) return undefined;
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end + 1)) return undefined;
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid: ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** If-None-Match against our ETag (weak comparison, as RFC 9110 asks for it). */
export function etagMatches(header: string | undefined, etags: string[]): boolean {
  if (!header) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  const wanted = new Set(etags.map(bare));
  return header.split(',').some((t) => t.trim() === '*' || wanted.has(bare(t)));
}

/** Whether If-Range (when present) still names this representation; a date never matches ours. */
export function ifRangeHolds(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return true;
  return typeof header === 'string' && header.trim() === etag;
}

export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (!q || Number(q.slice(2)) > 0) return true;
  }
  return false;
}
