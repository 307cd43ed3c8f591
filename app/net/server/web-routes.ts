// The phone view: a stream's files as a small website (/<pk>/webAccess/<path>), with content
// types, Range, stored-gzip passthrough, ETags and a sandboxing CSP; a generated page for streams
// without an index.html; and `/`, the list of streams this node shares.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Statement } from 'better-sqlite3';
import { CHUNK_SIZE, FILE_TYPE, listFiles, normalizeFilePath, openFileStream, rawFileBody, statFile, type FileEntry } from '../../store/files.js';
import { metadataOnlyFile, OPEN_LIMITS, openFile, OpenError, openFileRange, openValues, rangeIsMissing, type OpenOptions } from '../open.js';
import { isDrayerError } from '../../core/errors.js';
import { formatKey, streamName } from '../../core/keys.js';
import { POST_TYPES, postView } from '../../store/posts.js';
import { inReplyTo, postAnchor, reshareOf } from './phone-replies.js';
import type { Stream } from '../../store/store.js';
import { indexPage, streamPage, streamPageCsp } from './webpage.js';
import { randomBytes } from '../../core/crypto.js';
import { hasHiddenChars, visiblePath } from '../../core/text.js';
import type { RouteContext } from './context.js';
import { isPrivateStream, privatePage } from './private-page.js';
import {
  acceptsGzip,
  CONTENT_CSP,
  etagMatches,
  HttpError,
  ifRangeHolds,
  PAGE_CSP,
  parseRange,
  parseUint,
  sendBody,
  setHeaders,
  trackBody,
  UNCOUNTED_BODY,
} from './http.js';

const POSTS_PER_PAGE = 20;
const MAX_PAGE_NUMBER = 100_000;
const FILES_LISTED = 500;

const hashQueries = new WeakMap<Stream, Statement>();

/** The file record's hash (its ETag) without loading its value. */
function fileHash(s: Stream, key: string): string | undefined {
  let st = hashQueries.get(s);
  if (!st) {
    // INDEXED BY: otherwise SQLite walks the whole chain by mod to skip a sort of at most a few rows.
    st = s.db
      .prepare(
        `SELECT hash FROM records INDEXED BY records_type_key WHERE chain = ? AND type = '${FILE_TYPE}' AND key = ? AND val IS NOT NULL ORDER BY mod DESC LIMIT 1`,
      )
      .pluck();
    hashQueries.set(s, st);
  }
  const h = st.get(Buffer.from(s.publicKey), key) as Buffer | undefined;
  return h ? h.toString('hex') : undefined;
}

/**
 * The request path after webAccess/ as a stream file key: percent-escapes decoded exactly once,
 * `.`/`..` segments, NUL and backslashes refused (400), a trailing slash meaning its index.html.
 * It is only ever a record key, never a filesystem path, so nothing can escape the stream anyway.
 */
export function filePathOf(args: string[]): { key: string; dirIndex: boolean } {
  let p: string;
  try {
    p = decodeURIComponent(args.join('/'));
  } catch {
    throw new HttpError(400, 'The file path in the address has broken percent-encoding.');
  }
  if (p.includes('\0') || p.includes('\\')) throw new HttpError(400, 'A file path may not contain NUL characters or backslashes.');
  if (p.split('/').some((seg) => seg === '..' || seg === '.')) throw new HttpError(400, 'A file path may not contain "." or ".." segments.');
  const dirIndex = p === '' || p.endsWith('/');
  if (dirIndex) p += 'index.html';
  try {
    return { key: normalizeFilePath(p), dirIndex };
  } catch {
    throw new HttpError(404, 'There is no such file in this stream.');
  }
}

/** Whether the stream has the file: with its value, or (where it can be fetched) its metadata only. */
function hasFile(ctx: RouteContext, key: string): boolean {
  return statFile(ctx.stream, key) !== undefined || (ctx.opener !== undefined && metadataOnlyFile(ctx.stream, key) !== undefined);
}

/**
 * How this request opens what a metadata-only copy lacks: within half the request timeout (the
 * socket's idle limit while nothing is sent yet), so the client is told "no source answered"
 * rather than cut off. Not stopped when the client leaves: what arrives is kept for the next one.
 */
function openOptions(ctx: RouteContext): OpenOptions {
  const deadlineMs = Math.max(1, Math.min(OPEN_LIMITS.deadlineMs, Math.floor(ctx.limits.requestTimeoutMs / 2)));
  return { ...ctx.opener!(), deadlineMs, timeoutMs: Math.min(OPEN_LIMITS.timeoutMs, deadlineMs) };
}

/** A fetch for a metadata-only copy failed: 504 when every source ran out of time, else 502 (details in the log). */
function openFailed(ctx: RouteContext, e: unknown): never {
  if (isDrayerError(e, 'CORRUPT')) throw new HttpError(500, 'This file is damaged on this node.'); // its author signed a malformed value
  if (!(e instanceof OpenError)) throw e;
  ctx.log(`server: ${e.message}`);
  throw new HttpError(
    e.timedOut ? 504 : 502,
    e.timedOut
      ? 'This node keeps only the metadata of this stream and fetches contents when asked, but its sources did not answer in time. Try again in a moment.'
      : 'This node keeps only the metadata of this stream and fetches contents when asked, but none of its sources sent this. Try again later.',
  );
}

/** GET /<pk>/ — the stream's site: its index.html (via webAccess/, so relative links work) or a generated page. */
export function home(ctx: RouteContext): void | Promise<void> {
  // a private stream's page decrypts in the browser: the server has no plaintext to put in it
  if (isPrivateStream(ctx.stream)) return privatePage(ctx);
  if (hasFile(ctx, 'index.html')) {
    redirect(ctx.req, ctx.res, 302, 'webAccess/');
    return;
  }
  return generatedPage(ctx);
}

/** GET /<pk>/webAccess/<path> */
export function webAccess(ctx: RouteContext): void | Promise<void> {
  if (ctx.args.length === 0) {
    redirect(ctx.req, ctx.res, 301, 'webAccess/');
    return;
  }
  const { key, dirIndex } = filePathOf(ctx.args);
  let f: FileEntry | undefined;
  try {
    f = statFile(ctx.stream, key);
  } catch (e) {
    if (isDrayerError(e, 'CORRUPT')) throw new HttpError(500, 'This file is damaged on this node.');
    throw e;
  }
  if (!f) {
    // Held without its value (a metadata-only copy): fetched from the stream's sources, then served.
    if (ctx.opener && metadataOnlyFile(ctx.stream, key)) {
      return openFile(ctx.stream, key, openOptions(ctx)).then(
        (opened) => {
          if (!opened) throw new HttpError(404, 'There is no such file in this stream.');
          return serveFile(ctx, opened);
        },
        (e) => openFailed(ctx, e),
      );
    }
    if (dirIndex && key === 'index.html') return generatedPage(ctx);
    // A folder named without its trailing slash: send the browser to the folder so relative links work.
    if (!dirIndex && hasFile(ctx, `${key}/index.html`)) {
      redirect(ctx.req, ctx.res, 301, `${encodeURIComponent(key.slice(key.lastIndexOf('/') + 1))}/`);
      return;
    }
    throw new HttpError(404, 'There is no such file in this stream.');
  }
  return serveFile(ctx, f);
}

function contentType(mime: string): string {
  return /^text\//i.test(mime) && !/charset=/i.test(mime) ? `${mime}; charset=utf-8` : mime;
}

function serveFile(ctx: RouteContext, f: FileEntry): void | Promise<void> {
  const { req, res, stream: s } = ctx;
  const hash = fileHash(s, f.path);
  if (!hash) throw new HttpError(404, 'There is no such file in this stream.');
  const etag = `"${hash}"`;
  const gzEtag = `"${hash}-gzip"`;
  const storedGzip = f.enc === 'gzip';
  const wantGzip = storedGzip && acceptsGzip(req.headers['accept-encoding']);
  const headers: Record<string, string> = {
    'Content-Type': contentType(f.mime),
    'Content-Security-Policy': CONTENT_CSP,
    'Cache-Control': 'no-cache',
    'Accept-Ranges': 'bytes',
  };
  if (storedGzip) headers.Vary = 'Accept-Encoding';
  if (hasHiddenChars(f.path)) {
    // A name with bidi or control characters may pass for another ("exe.jpg"): never shown as
    // its declared type, only saved, under the name with those characters written out.
    const shown = visiblePath(f.path.slice(f.path.lastIndexOf('/') + 1));
    headers['Content-Type'] = 'application/octet-stream';
    headers['Content-Disposition'] = `attachment; filename="${shown.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(shown)}`;
  }

  if (etagMatches(req.headers['if-none-match'], [etag, gzEtag])) {
    setHeaders(res, { ...headers, ETag: wantGzip ? gzEtag : etag });
    res.statusCode = 304;
    res.end();
    return;
  }
  const range = ifRangeHolds(req.headers['if-range'], etag) ? parseRange(req.headers.range, f.size) : undefined;
  if (range === 'unsatisfiable') {
    throw new HttpError(416, 'The requested range is outside the file.', { 'Content-Range': `bytes */${f.size}`, ETag: etag });
  }
  // Stored gzip goes out as stored when the client takes it (ranges are of the plain content).
  if (!range && wantGzip) {
    const raw = rawFileBody(s, f.path);
    if (raw?.enc === 'gzip') {
      sendBody(req, res, 200, headers['Content-Type']!, raw.data, { ...headers, 'Content-Encoding': 'gzip', ETag: gzEtag });
      return;
    }
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : f.size - 1;
  const length = Math.max(0, end - start + 1);
  // What the answer holds while the client reads: a small file whole, a big one's chunk on its
  // way out and the next (a chunk is read whole, past the stream's high-water mark).
  const held = f.chunked ? Math.min(length, 2 * CHUNK_SIZE) : length;
  if (req.method !== 'HEAD' && held > UNCOUNTED_BODY) ctx.reserve(held);
  const send = (body: Readable | undefined): void =>
    sendFile(ctx, f, body, { ...headers, ETag: etag, 'Content-Length': length }, range ? `bytes ${start}-${end}/${f.size}` : undefined);
  // Chunks a metadata-only copy lacks: fetched before the answer begins (the first of them) and
  // while it is sent (the rest), so a dead source is a 502/504, not a cut-off body.
  if (req.method !== 'HEAD' && ctx.opener && f.chunked && s.partial.metaOnly && rangeIsMissing(s, f, start, end)) {
    return openFileRange(s, f.path, { start, end }, openOptions(ctx)).then(send, (e) => openFailed(ctx, e));
  }
  let body;
  try {
    body = req.method === 'HEAD' ? undefined : openFileStream(s, f.path, { start, end });
  } catch (e) {
    if (isDrayerError(e, 'NOT_FOUND')) throw new HttpError(404, 'Part of this file is not on this node yet; try again after it has synced.');
    if (isDrayerError(e, 'CORRUPT')) throw new HttpError(500, 'This file is damaged on this node.');
    throw e;
  }
  send(body);
}

function sendFile(
  ctx: RouteContext,
  f: FileEntry,
  body: Readable | undefined,
  headers: Record<string, string | number>,
  contentRange: string | undefined,
): void {
  const { res } = ctx;
  setHeaders(res, headers);
  if (contentRange) res.setHeader('Content-Range', contentRange);
  res.statusCode = contentRange ? 206 : 200;
  if (!body) {
    res.end();
    return;
  }
  // On any failure mid-body the socket is destroyed: the client sees a short body, never a wrong one.
  trackBody(res, body);
  pipeline(body, res, (e) => {
    if (e && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') ctx.log(`server: sending file "${f.path}" failed midway: ${e.message}`);
  });
}

function generatedPage(ctx: RouteContext): void | Promise<void> {
  const { stream: s, query } = ctx;
  const pageText = query.get('page');
  const page = pageText === null ? 1 : parseUint(pageText, 'The page number');
  if (page < 1 || page > MAX_PAGE_NUMBER) throw new HttpError(400, `The page number must be from 1 to ${MAX_PAGE_NUMBER}.`);
  // A metadata-only copy fetches the posts on the page first; any it cannot get show empty.
  const unread = ctx.opener
    ? s.list(POST_TYPES, { order: 'ts', limit: POSTS_PER_PAGE, offset: (page - 1) * POSTS_PER_PAGE }).filter((r) => r.val === null)
    : [];
  if (unread.length) return openValues(s, unread, openOptions(ctx)).then(() => sendPage(ctx, page));
  sendPage(ctx, page);
}

function sendPage(ctx: RouteContext, page: number): void {
  const s = ctx.stream;
  const info = s.info();
  const files = listFiles(s);
  const avatar = avatarFile(s, info.avatar);
  const nonce = Buffer.from(randomBytes(16)).toString('base64');
  const name = streamName(info.name, s.publicKey);
  const pk = formatKey(s.publicKey);
  // a reply says what it answers and a re-share what it shares, linked where this server shares it (phone-replies.ts)
  const posts = s.list(POST_TYPES, { order: 'ts', limit: POSTS_PER_PAGE, offset: (page - 1) * POSTS_PER_PAGE }).map((r) => {
    const to = inReplyTo(s, r, ctx.served, POSTS_PER_PAGE);
    const reshare = reshareOf(s, r, ctx.served, POSTS_PER_PAGE);
    return {
      ...postView(r),
      anchor: postAnchor(r.key),
      ...(to ? { inReplyTo: to.name, ...(to.href ? { inReplyToHref: to.href } : {}) } : {}),
      ...(reshare ? { reshare } : {}),
    };
  });
  const html = streamPage({
    name,
    about: typeof info.about === 'string' ? info.about : '',
    publicKey: pk,
    urlKey: Buffer.from(s.publicKey).toString('base64url'),
    posts,
    page,
    totalPosts: s.count(POST_TYPES),
    pageSize: POSTS_PER_PAGE,
    files: files.slice(0, FILES_LISTED),
    moreFiles: Math.max(0, files.length - FILES_LISTED),
    ...(avatar ? { avatar } : {}),
    nonce,
  });
  sendBody(ctx.req, ctx.res, 200, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': streamPageCsp(nonce), 'Cache-Control': 'no-cache' });
}

/** drayer/info's avatar when it names an image file the stream holds. */
function avatarFile(s: Stream, v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const f = statFile(s, v);
    return f && /^image\/(png|jpeg|gif|webp|avif)$/i.test(f.mime) ? f.path : undefined;
  } catch {
    return undefined;
  }
}

/** GET / — the shared streams, as HTML or (Accept: application/json) JSON. */
export function rootIndex(
  req: IncomingMessage,
  res: ServerResponse,
  shared: { publicKey: Uint8Array; name: string; mtip?: number; announce?: boolean }[],
  about?: { id: string; name: string },
  sealed: Uint8Array[] = [],
): void {
  const streams = shared.map((x) => ({
    name: x.name,
    publicKey: formatKey(x.publicKey),
    urlKey: Buffer.from(x.publicKey).toString('base64url'),
    mtip: x.mtip,
    announce: x.announce,
  }));
  const headers = { 'Cache-Control': 'no-cache', Vary: 'Accept' };
  if (/\bapplication\/json\b/i.test(req.headers.accept ?? '')) {
    // `node` and each `mtip`: what a node that found this one over mDNS lists in Nearby (mdns-listing.ts);
    // `sealed`: the private listing packets, which only a node knowing a stream's key can read
    const body = {
      ...(about ? { node: about } : {}),
      streams: streams.map((x) => ({
        publicKey: x.publicKey,
        name: x.name,
        url: `/${x.urlKey}/`,
        ...(x.mtip !== undefined ? { mtip: x.mtip } : {}),
        ...(x.announce === false ? { announce: false } : {}),
      })),
      ...(sealed.length ? { sealed: sealed.map((p) => Buffer.from(p).toString('base64')) } : {}),
    };
    sendBody(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(body), headers);
    return;
  }
  sendBody(req, res, 200, 'text/html; charset=utf-8', indexPage(streams), { ...headers, 'Content-Security-Policy': PAGE_CSP });
}

/** A redirect to a relative location (the key keeps the form the client used). */
export function redirect(req: IncomingMessage, res: ServerResponse, status: number, location: string): void {
  sendBody(req, res, status, 'text/plain; charset=utf-8', `See ${location}\n`, { Location: location, 'Cache-Control': 'no-cache' });
}
