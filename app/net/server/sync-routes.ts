// The machine endpoints: what mirrors pull (changes, tips, records, values, chunks) and the
// original Drayer's endpoints in their original shapes (newRecords, newestRecordsJSON, listRecordsJSON).
import type { Statement } from 'better-sqlite3';
import { chunkToServe } from '../../store/files.js';
import { encodeWire, toWire, type DrayerRecord } from '../../core/record.js';
import { encodeBin } from '../../core/msgpack-bin.js';
import { encodeChangesPage, encodePackedPage } from './changes-page.js';
import type { Stream } from '../../store/store.js';
import type { RouteContext } from './context.js';
import { NEW_RECORDS, streamNewRecords } from './new-records.js';
import { inTransaction } from '../../store/schema.js';
import {
  boolParam,
  clip,
  etagMatches,
  HttpError,
  ifRangeHolds,
  parseInt64,
  parseRange,
  parseUint,
  sendBody,
  setHeaders,
  uintParam,
  UNCOUNTED_BODY,
} from './http.js';

const MSGPACK = 'application/msgpack';
/** The original Drayer answered its msgpack endpoints as octet-stream. */
const ORIGINAL_MSGPACK = 'application/octet-stream';
/** The original's JSON listings return at most this many entries. */
const JSON_LIST_LIMIT = 250;

interface Queries {
  count: Statement;
  countUpTo: Statement;
  countFrom: Statement;
  maxId: Statement;
  idsAfterMod: Statement;
  newestByType: Statement;
  recentByType: Statement;
}

const queries = new WeakMap<Stream, Queries>();

/** Read-only queries the Stream class has no method for, prepared once per stream connection. */
function q(s: Stream): Queries {
  let x = queries.get(s);
  if (!x) {
    const db = s.db;
    x = {
      count: db.prepare('SELECT count(*) FROM records').pluck(),
      countUpTo: db.prepare('SELECT count(*) FROM records WHERE seq <= ?').pluck(),
      countFrom: db.prepare('SELECT count(*) FROM records WHERE seq > ?').pluck(),
      maxId: db.prepare('SELECT max(id) FROM records WHERE chain = ?').pluck(),
      idsAfterMod: db.prepare('SELECT id FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT ?').pluck(),
      newestByType: db.prepare('SELECT key, id FROM records WHERE chain = ? AND type = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?').raw(),
      recentByType: db.prepare('SELECT key, mod FROM records WHERE chain = ? AND type = ? AND mod > ? AND mod < ? ORDER BY mod DESC LIMIT ?').raw(),
    };
    queries.set(s, x);
  }
  return x;
}

const chain = (s: Stream) => Buffer.from(s.publicKey);

/**
 * Records after `seq` a copy with these filters gets (a pull's progress total). The filtered count
 * reads every row after `seq` (2–3 µs each: a tenth of what a clone's server spends per record).
 * Without filters no column is read: in the first half of the feed (a clone's first page, where
 * the question is asked) all rows less those up to `seq`, the count of all coming from the
 * smallest index; further on, the rows after `seq`.
 */
function countAfter(s: Stream, seq: number, minId: number | undefined, minMod: number | undefined): number {
  if (minId || minMod) return s.countChangesAfter(seq, { minId, minMod });
  const x = q(s);
  return inTransaction(s.db, () => (seq <= s.lastSeq() / 2 ? (x.count.get() as number) - (x.countUpTo.get(seq) as number) : (x.countFrom.get(seq) as number)));
}

function noArgs(ctx: RouteContext): void {
  if (ctx.args.length !== 0) throw new HttpError(404, 'There is nothing at this address.');
}

function oneArg(ctx: RouteContext, what: string): string {
  if (ctx.args.length !== 1 || ctx.args[0] === '') throw new HttpError(404, `This address needs ${what} after it.`);
  return ctx.args[0]!;
}

/**
 * GET /<pk>/changes?since=S&limit=N[&minId=&minMod=&meta=1][&count=1] → msgpack {node, seq, more,
 * last, records[, left]}; `left`, asked for on a pull's first page only (it scans the rest of the
 * feed), is how many records come after this page: the follower's progress total.
 */
export function changes(ctx: RouteContext): void {
  noArgs(ctx);
  const { query, stream: s, limits } = ctx;
  const since = uintParam(query, 'since') ?? 0;
  const asked = uintParam(query, 'limit');
  const limit = Math.max(1, Math.min(asked ?? limits.maxPageRecords, limits.maxPageRecords));
  const minId = uintParam(query, 'minId');
  const minMod = uintParam(query, 'minMod');
  const meta = boolParam(query, 'meta');
  const count = boolParam(query, 'count');
  for (let n = limit; ;) {
    // The page is cut to what this answer may hold in memory (slow readers' pages wait there);
    // the byte cap ends a page before the row that would overflow it, so `seq` is that of the
    // last row included and the follower's next page starts right after it: nothing is skipped.
    const room = ctx.room();
    const opts = { limit: n, minId, minMod, metaOnly: meta, maxBytes: Math.min(limits.maxPageBytes, room) };
    const head = (p: { seq: number; more: boolean; last?: number }) => ({
      node: s.nodeId,
      seq: p.seq,
      more: p.more,
      last: p.last ?? s.lastSeq(),
      ...(count ? { left: p.more ? countAfter(s, p.seq, minId, minMod) : 0 } : {}),
    });
    // Rows packed by the store are written straight into the answer; records the packed form does
    // not carry (see changesPacked, encodePackedPage) go the general way, the same bytes either way.
    const packed = s.changesPacked(since, opts);
    let body = packed && encodePackedPage(head(packed), packed.rows, meta);
    let sent = packed?.rows.length ?? 0;
    if (!body) {
      const page = s.changesSince(since, opts);
      body = encodeChangesPage({ ...head(page), records: page.records }, meta);
      sent = page.records.length;
    }
    // Keys and signatures count too: a page over its room is asked again shorter. A single
    // record that does not fit is refused (429/503) by sendBody, and asked for again later.
    if (body.length > UNCOUNTED_BODY && body.length > room && sent > 1) {
      n = Math.ceil(sent / 2);
      continue;
    }
    sendBody(ctx.req, ctx.res, 200, MSGPACK, body, { 'Cache-Control': 'no-store' });
    return;
  }
}

/**
 * GET /<pk>/tips[?latest=N] → msgpack {node, id, mod, seq[, start]}: what a "latest N" follow needs
 * to choose minId. `start` is the id of the N-th newest live record (0: there are fewer), given
 * only when this copy can vouch for it (Stream.windowStart).
 */
export function tips(ctx: RouteContext): void {
  noArgs(ctx);
  const s = ctx.stream;
  const latest = uintParam(ctx.query, 'latest');
  const start = latest ? s.windowStart(latest) : undefined;
  const body = encodeWire({
    node: s.nodeId,
    id: (q(s).maxId.get(chain(s)) as number | null) ?? 0,
    mod: s.mtip(),
    seq: s.lastSeq(),
    ...(start !== undefined ? { start } : {}),
  });
  sendBody(ctx.req, ctx.res, 200, MSGPACK, body, { 'Cache-Control': 'no-store' });
}

function recordById(ctx: RouteContext): DrayerRecord {
  const id = parseUint(oneArg(ctx, 'a record id'), 'A record id');
  const r = ctx.stream.getById(id);
  if (!r) throw new HttpError(404, `This stream has no record ${id}.`);
  return r;
}

/** GET /<pk>/record/<id>[?meta=1] → the msgpack wire record. */
export function record(ctx: RouteContext): void {
  const meta = boolParam(ctx.query, 'meta');
  const r = recordById(ctx);
  sendBody(ctx.req, ctx.res, 200, MSGPACK, encodeWire(toWire(r, meta)), { 'Cache-Control': 'no-store' });
}

/** GET /<pk>/value/<id> → the record's value bytes (its hash is the ETag). */
export function value(ctx: RouteContext): void {
  const r = recordById(ctx);
  if (!r.val) throw new HttpError(404, `Only the metadata of record ${r.id} is held on this node, not its value.`);
  sendBytes(ctx, r.val, `"${Buffer.from(r.hash).toString('hex')}"`, 'no-cache');
}

/**
 * GET /<pk>/chunk/<hex hash> → chunk bytes; content-addressed, so cached for good. Read off the
 * event loop into a reused buffer (chunk-reader.ts), given back once the answer is sent or abandoned.
 */
export async function chunk(ctx: RouteContext): Promise<void> {
  const hex = oneArg(ctx, 'a chunk hash');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new HttpError(400, `A chunk is named by its 64-hex-digit hash, not "${clip(hex)}".`);
  const got = await chunkToServe(ctx.stream, new Uint8Array(Buffer.from(hex, 'hex')));
  if (!got) throw new HttpError(404, 'This node does not hold that chunk.');
  const { res } = ctx;
  if (res.destroyed) return got.release(); // the client left while it was read
  res.once('close', got.release); // sent, or the connection is gone: no byte of the buffer is read after either
  try {
    sendBytes(ctx, got.data, `"${hex.toLowerCase()}"`, 'public, max-age=31536000, immutable');
  } catch (e) {
    got.release();
    throw e;
  }
}

/** An in-memory body with ETag/304 and single-range support. */
function sendBytes(ctx: RouteContext, data: Uint8Array, etag: string, cacheControl: string): void {
  const { req, res } = ctx;
  const headers = { ETag: etag, 'Cache-Control': cacheControl, 'Accept-Ranges': 'bytes' };
  if (etagMatches(req.headers['if-none-match'], [etag])) {
    setHeaders(res, headers);
    res.statusCode = 304;
    res.end();
    return;
  }
  const range = ifRangeHolds(req.headers['if-range'], etag) ? parseRange(req.headers.range, data.length) : undefined;
  if (range === 'unsatisfiable') {
    throw new HttpError(416, 'The requested range is outside the data.', { 'Content-Range': `bytes */${data.length}` });
  }
  if (range) {
    sendBody(req, res, 206, 'application/octet-stream', data.subarray(range.start, range.end + 1), {
      ...headers,
      'Content-Range': `bytes ${range.start}-${range.end}/${data.length}`,
    });
    return;
  }
  sendBody(req, res, 200, 'application/octet-stream', data, headers);
}

/**
 * GET /<pk>/newRecords/<t> (original Drayer): a msgpack list of wire records with mod > t, oldest
 * first, at most newRecordsLimit of them and newRecordsBytes in all, streamed (new-records.ts); the
 * caller repeats with the last mod it got, so a shorter answer loses nothing. While several such
 * answers are streaming, a small page from memory (at most maxPageBytes of values).
 */
export function newRecords(ctx: RouteContext): void {
  const t = parseInt64(oneArg(ctx, 'a time (µs)'), 'The time');
  const s = ctx.stream;
  // a device's chain when the URL named it (§9): the original asks each sibling chain by its own key
  const asked = ctx.chain ? Buffer.from(ctx.chain) : chain(s);
  if (streamNewRecords(ctx, s, asked, t, ctx.limits.newRecordsLimit, ctx.limits.newRecordsBytes)) return;
  for (let limit = Math.min(ctx.limits.newRecordsLimit, NEW_RECORDS.smallPage); ;) {
    // As for changes: the list is cut to what this answer may hold in memory.
    const room = ctx.room();
    const maxBytes = Math.min(ctx.limits.maxPageBytes, room);
    const list = inTransaction(s.db, () => {
      const out: Record<string, unknown>[] = [];
      let bytes = 0;
      for (const id of q(s).idsAfterMod.all(asked, t, limit) as number[]) {
        const r = s.getById(id);
        if (!r) continue;
        const n = r.val?.length ?? 0;
        if (out.length > 0 && bytes + n > maxBytes) break;
        bytes += n;
        out.push(toWire(r));
      }
      return out;
    });
    const body = encodeBin(list); // every string a bin, as the original reads it (msgpack-bin.ts)
    if (body.length > UNCOUNTED_BODY && body.length > room && list.length > 1) {
      limit = Math.ceil(list.length / 2);
      continue;
    }
    sendBody(ctx.req, ctx.res, 200, ORIGINAL_MSGPACK, body, { 'Cache-Control': 'no-store' });
    return;
  }
}

function typeArg(ctx: RouteContext): string {
  if (ctx.args.length === 0 || ctx.args.every((a) => a === '')) throw new HttpError(404, 'This address needs a record type after it.');
  try {
    return decodeURIComponent(ctx.args.join('/'));
  } catch {
    throw new HttpError(400, 'The record type in the address has broken percent-encoding.');
  }
}

function bound(ctx: RouteContext, name: string, dflt: number): number {
  const v = ctx.query.get(name);
  return v === null ? dflt : parseInt64(v, `The query parameter "${name}"`);
}

/**
 * GET /<pk>/newestRecordsJSON/<type>[?after=&before=] (original Drayer, as documented): up to
 * 250 records of the type, most recently created first, as JSON [[key, id], …]; after/before
 * bound the ids (exclusive).
 */
export function newestRecordsJSON(ctx: RouteContext): void {
  const type = typeArg(ctx);
  const after = bound(ctx, 'after', 0);
  const before = bound(ctx, 'before', Number.MAX_SAFE_INTEGER);
  const rows = q(ctx.stream).newestByType.all(chain(ctx.stream), type, after, before, JSON_LIST_LIMIT) as [string, number][];
  sendBody(ctx.req, ctx.res, 200, 'application/json; charset=utf-8', JSON.stringify(rows), { 'Cache-Control': 'no-store' });
}

/**
 * GET /<pk>/listRecordsJSON/<type>[?after=&before=] (original Drayer, as documented): up to 250
 * records of the type, most recently modified first, as JSON [[key, mod µs], …]; after/before
 * bound the modification times (exclusive, µs).
 */
export function listRecordsJSON(ctx: RouteContext): void {
  const type = typeArg(ctx);
  const after = bound(ctx, 'after', 0);
  const before = bound(ctx, 'before', Number.MAX_SAFE_INTEGER);
  const rows = q(ctx.stream).recentByType.all(chain(ctx.stream), type, after, before, JSON_LIST_LIMIT) as [string, number][];
  sendBody(ctx.req, ctx.res, 200, 'application/json; charset=utf-8', JSON.stringify(rows), { 'Cache-Control': 'no-store' });
}
