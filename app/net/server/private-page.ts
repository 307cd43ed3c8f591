// The phone view of a private stream (DESIGN §8): the server sends a page with no stream content
// and one script (renderer/phone/private.ts, built into dist/phone/private.js) that takes the read
// key from the address's fragment, which a browser never sends, fetches the sealed records as they
// are stored (`sealed`, the ciphertext any mirror serves), and decrypts them in the browser. The
// server never sees the read key and has no plaintext to give: it answers only what it stores.
import type { Statement } from 'better-sqlite3';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../../core/crypto.js';
import { formatKey } from '../../core/keys.js';
import { MARKER_KEY, MARKER_TYPE, SEALED_TYPE } from '../../core/private.js';
import type { Stream } from '../../store/store.js';
import type { RouteContext } from './context.js';
import { escapeHtml } from './html.js';
import { HttpError, parseUint, sendBody } from './http.js';
import { layout } from './webpage.js';

/** Records per `sealed` answer, and value bytes (one record is always sent): a phone's page reads a few at a time. */
export const SEALED_PAGE_RECORDS = 50;
export const SEALED_PAGE_BYTES = 2 * 1024 * 1024;

/** True when the stream's cleartext marker says it is private. */
export function isPrivateStream(s: Stream): boolean {
  return s.get(MARKER_TYPE, MARKER_KEY) !== undefined;
}

/**
 * The page's CSP: its one script by nonce, fetches to this server only, nothing framed. Pictures
 * also from blob: (this page only): the sealed files its script opened. A blob: URL is made by this
 * page's own script from bytes it holds, and names no place to send anything; the script makes them
 * only for raster pictures (no SVG), shown in <img>, where nothing runs.
 */
export function privatePageCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** GET /<pk>/ of a private stream: the shell the script fills in. */
export function privatePage(ctx: RouteContext): void {
  const nonce = Buffer.from(randomBytes(16)).toString('base64');
  const key = formatKey(ctx.stream.publicKey);
  const body = `<header class="profile"><span class="avatar big" id="avatar" aria-hidden="true"></span><h1 id="name">A private stream</h1>
<p class="about" id="about"></p><p class="meta" id="status">Opening with the key in this page’s address…</p></header>
<main id="posts" aria-live="polite"></main>
<noscript><p class="notice">This stream is private: this page decrypts it in your browser with the key in its address. Turn on JavaScript to read it.</p></noscript>
<footer><p class="meta">Shared with Drayer · private: decrypted on this device</p><p class="key" id="key">${escapeHtml(key)}</p></footer>`;
  const html = layout('A private stream', body, nonce, 'private.js');
  sendBody(ctx.req, ctx.res, 200, 'text/html; charset=utf-8', html, {
    'Content-Security-Policy': privatePageCsp(nonce),
    'Cache-Control': 'no-cache',
    'Referrer-Policy': 'no-referrer',
  });
}

let script: Buffer | null = null;

/** GET /<pk>/private.js: the page's script (the same for every stream; it holds no key). */
export function privateScript(ctx: RouteContext): void {
  if (!isPrivateStream(ctx.stream)) throw new HttpError(404, 'There is nothing at this address.');
  if (!script) {
    try {
      script = fs.readFileSync(fileURLToPath(new URL('../../../phone/private.js', import.meta.url)));
    } catch {
      throw new HttpError(500, 'The private page’s script is not built on this node (dist/phone/private.js); run "npm run build".');
    }
  }
  sendBody(ctx.req, ctx.res, 200, 'text/javascript; charset=utf-8', script, { 'Cache-Control': 'no-cache' });
}

interface SealedRow {
  key: string;
  ts: number;
  id: number;
  val: Buffer;
}

const pageQueries = new WeakMap<Stream, { page: Statement; one: Statement }>();

function queries(s: Stream) {
  let q = pageQueries.get(s);
  if (!q) {
    q = {
      page: s.db.prepare(
        `SELECT key, ts, id, val FROM records WHERE type = '${SEALED_TYPE}' AND val IS NOT NULL AND (ts < ? OR (ts = ? AND id < ?)) ORDER BY ts DESC, id DESC LIMIT ?`,
      ),
      one: s.db.prepare(`SELECT key, ts, id, val FROM records WHERE type = '${SEALED_TYPE}' AND key = ? AND val IS NOT NULL ORDER BY mod DESC LIMIT 1`),
    };
    pageQueries.set(s, q);
  }
  return q;
}

/**
 * GET /<pk>/sealed[?before=TS.ID | ?key=OPAQUE] → JSON {marker, records: [[key, ts, base64 value]], next}:
 * the stored sealed records, newest first (or the one under an opaque key), as any mirror holds
 * them. Only for private streams; bounded by SEALED_PAGE_RECORDS and SEALED_PAGE_BYTES.
 */
export function sealedRecords(ctx: RouteContext): void {
  const s = ctx.stream;
  if (ctx.args.length !== 0) throw new HttpError(404, 'There is nothing at this address.');
  const marker = s.get(MARKER_TYPE, MARKER_KEY);
  if (!marker) throw new HttpError(404, 'This stream is not private: its page is at its address without "sealed".');
  const q = queries(s);
  let rows: SealedRow[];
  const key = ctx.query.get('key');
  if (key !== null) {
    if (!/^[A-Za-z0-9_-]{43}$/.test(key)) throw new HttpError(400, 'A sealed record is named by 43 characters of URL-safe base64.');
    rows = q.one.all(key) as SealedRow[];
  } else {
    const before = ctx.query.get('before');
    let ts = Number.MAX_SAFE_INTEGER;
    let id = Number.MAX_SAFE_INTEGER;
    if (before !== null) {
      const m = /^(\d{1,16})\.(\d{1,16})$/.exec(before);
      if (!m) throw new HttpError(400, 'before= takes the "next" value of the previous answer (TS.ID).');
      ts = parseUint(m[1]!, 'The time in before=');
      id = parseUint(m[2]!, 'The id in before=');
    }
    rows = q.page.all(ts, ts, id, SEALED_PAGE_RECORDS + 1) as SealedRow[];
  }
  const out: [string, number, string][] = [];
  let bytes = 0;
  let next: string | null = null;
  for (const r of rows) {
    if (out.length === SEALED_PAGE_RECORDS || (out.length > 0 && bytes + r.val.length > SEALED_PAGE_BYTES)) {
      const last = rows[out.length - 1]!;
      next = `${last.ts}.${last.id}`;
      break;
    }
    out.push([r.key, r.ts, r.val.toString('base64')]);
    bytes += r.val.length;
  }
  const body = JSON.stringify({ marker: marker.val ? Buffer.from(marker.val).toString('base64') : null, records: out, next });
  sendBody(ctx.req, ctx.res, 200, 'application/json; charset=utf-8', body, { 'Cache-Control': 'no-store' });
}
