// GET /<pk>/newRecords/<t> for an original Drayer following one of our streams. It pulls once per
// two hours (drayer.py's fullSyncInterval) and takes whatever one answer holds, reading up to 100 MB
// (`r.raw.read(100*1000*1000)`) before it decodes: a page of 100 records made it take days to catch
// up. So the answer holds as many records as fit well under that, and is streamed: its records are
// read in small batches from a snapshot of the stream file (a read transaction on a connection of
// its own, so the count in the list's header and the records after it agree while the stream is
// written meanwhile), encoded and sent as the client reads; memory holds one batch.
import Database from 'better-sqlite3';
import { Readable, pipeline } from 'node:stream';
import { toWire } from '../../core/record.js';
import { encodeBin } from '../../core/msgpack-bin.js';
import { rowToRecord, type Row } from '../../store/schema.js';
import type { Stream } from '../../store/store.js';
import type { RouteContext } from './context.js';
import { setHeaders, trackBody } from './http.js';

export const NEW_RECORDS = {
  /**
   * An upper bound of the bytes a record adds to the answer beyond its type, key and value: the
   * map's 11 keys as bins (61 bytes), hash, signature and chain with their headers (134), six integers
   * (54) and three headers of type, key and value (15), rounded up.
   */
  recordOverhead: 288,
  /** the answer's batches: what the server holds of one answer at a time */
  batchBytes: 1024 * 1024,
  batchRecords: 256,
  /** answers streamed at once; more are answered as before, one small page each (newRecordsPage) */
  maxStreaming: 4,
  /** the small page's records */
  smallPage: 100,
} as const;

let streaming = 0;

/** How many records after `t` the answer takes: at most `maxRecords` and, by their upper bounds, `maxBytes` (one record at least). */
function measure(db: Database.Database, chain: Buffer, t: number, maxRecords: number, maxBytes: number): number {
  const sizes = db
    .prepare(
      `SELECT ${NEW_RECORDS.recordOverhead} + length(CAST(type AS BLOB)) + length(CAST(key AS BLOB)) + coalesce(length(val), 0) FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT ?`,
    )
    .pluck();
  let n = 0;
  let bytes = 0;
  for (const size of sizes.iterate(chain, t, maxRecords) as IterableIterator<number>) {
    if (n > 0 && bytes + size > maxBytes) break;
    bytes += size;
    n++;
  }
  return n;
}

/** A msgpack array header for n items. */
function arrayHeader(n: number): Buffer {
  if (n < 16) return Buffer.from([0x90 | n]);
  if (n < 0x10000) return Buffer.from([0xdc, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

/** The list's bytes, batch by batch, read in the snapshot `db` holds. */
function* body(db: Database.Database, chain: Buffer, t: number, count: number): Generator<Buffer> {
  yield arrayHeader(count);
  const page = db.prepare('SELECT * FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT ?');
  let sent = 0;
  let after = t;
  while (sent < count) {
    const rows = page.all(chain, after, Math.min(NEW_RECORDS.batchRecords, count - sent)) as Row[];
    // the snapshot holds what measure() counted: fewer rows is a broken file, and a short list the client must not take
    if (rows.length === 0) throw new Error(`the stream file gave ${sent} of the ${count} records counted`);
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (const row of rows) {
      const b = encodeBin(toWire(rowToRecord(row))); // every string a bin, as the original reads it (msgpack-bin.ts)
      parts.push(b);
      bytes += b.length;
      sent++;
      after = row.mod;
      if (bytes >= NEW_RECORDS.batchBytes) break;
    }
    yield Buffer.concat(parts);
  }
}

/**
 * Stream the answer to newRecords/<t>: up to `maxRecords` records after t, oldest first, and no more
 * than `maxBytes` in all. False when as many answers are streaming already: the caller answers with
 * a small page instead.
 */
export function streamNewRecords(ctx: RouteContext, s: Stream, chain: Buffer, t: number, maxRecords: number, maxBytes: number): boolean {
  // nothing new (the original's usual poll) is the small page's empty list; this also asks the stream's own connection first
  if (streaming >= NEW_RECORDS.maxStreaming || t >= s.mtip()) return false;
  const db = new Database(s.file, { readonly: true, fileMustExist: true });
  streaming++;
  let released = false;
  // the snapshot and the connection, given back once: when the answer is sent, fails or is abandoned
  const release = () => {
    if (released) return;
    released = true;
    streaming--;
    try {
      if (db.inTransaction) db.prepare('COMMIT').run();
    } finally {
      db.close();
    }
  };
  let count: number;
  try {
    db.prepare('BEGIN').run();
    count = measure(db, chain, t, maxRecords, maxBytes);
  } catch (e) {
    release();
    throw e;
  }
  const { req, res } = ctx;
  setHeaders(res, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' });
  res.statusCode = 200;
  if (req.method === 'HEAD') {
    release();
    res.end();
    return true;
  }
  const out = Readable.from(body(db, chain, t, count), { objectMode: false });
  // On any failure mid-body the socket is destroyed: the client sees a short list, which it cannot decode, never a wrong one.
  trackBody(res, out);
  pipeline(out, res, (e) => {
    release();
    if (e && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') ctx.log(`server: sending newRecords failed midway: ${e.message}`);
  });
  return true;
}
