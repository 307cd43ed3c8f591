// The rows a connection's own last write added, kept as the packed rows a changes page is written
// from (feed.ts changesPacked), so a server answering "what came after seq S" right after its own
// put (a follower in sync pulling the new post) reads nothing: the first row read after a write
// costs 70–180 µs on this VM, and any page read at least 45 (its read transaction and statement),
// more than the rest of the server's answer. A write's rows are exactly the rows above the seq it
// started from (it hands out the seqs above all held; rows it removes lie below), so the page for
// any `since` from there on is known without a read. It is used only while nothing else has
// changed the file since: this connection's SQLite change counter (total_changes()) and PRAGMA
// data_version (which moves with every commit of any other connection, in this process or
// another) must be what they were right after that write. Any other write, delete, apply,
// rotation or window change, here or elsewhere, moves one of them, and the page is read as before.
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { DrayerRecord } from '../core/record.js';
import { PACKED_HEAD, type PackedPage, type PackedRow } from './packed.js';
import type { Handle } from './schema.js';

/** What a page asks for (feed.ts ChangesOptions). */
export interface PageAsked {
  limit?: number;
  maxBytes?: number;
  minId?: number;
  minMod?: number;
  metaOnly?: boolean;
}

/** A write whose rows take more than this is not kept (one post is a few hundred bytes). */
export const TIP_CACHE_MAX_BYTES = 256 * 1024;

interface Tip {
  /** the last seq before the write: rows (from, from + rows.length] are these */
  from: number;
  rows: PackedRow[];
  changes: unknown;
  version: unknown;
}

interface Probe {
  changes: Statement;
  version: Statement;
}

const tips = new WeakMap<Database.Database, Tip>();
const probes = new WeakMap<Database.Database, Probe>();

function probe(db: Database.Database): Probe {
  let p = probes.get(db);
  if (!p) {
    // (neither reads a table: total_changes() opens no read transaction, data_version reads a header)
    p = { changes: db.prepare('SELECT total_changes()').pluck(), version: db.prepare('PRAGMA data_version').pluck() };
    probes.set(db, p);
  }
  return p;
}

/** In a u-mode pattern a surrogate pair is one code point: this finds only lone halves (UTF-8 cannot carry them). */
const LONE_SURROGATE = /\p{Cs}/u;
const EMPTY = Buffer.alloc(0);

/**
 * A write through `h` has committed `written`, seqs from + 1, from + 2, … in that order (the
 * writer's finishWrite, one put or a group's puts one after another). Call right after the
 * commit; inside an outer transaction nothing is kept.
 */
export function rememberWrite(h: Handle, from: number, written: readonly DrayerRecord[]): void {
  tips.delete(h.db);
  // Nothing written (a delete of the newest record) may lower the last seq: such a write is not kept.
  if (h.db.inTransaction || written.length === 0) return;
  const rows: PackedRow[] = [];
  const ids = new Set<number>();
  let bytes = 0;
  for (let i = 0; i < written.length; i++) {
    const r = written[i]!;
    // A record written twice (a group's later put edited it) left its first row's seq empty.
    if (ids.has(r.id)) return;
    ids.add(r.id);
    // What the packed statement would not read as a packed row is not kept either.
    if (r.hash.length !== 32 || r.sig.length !== 64 || r.chain.length !== 32 || LONE_SURROGATE.test(r.type) || LONE_SURROGATE.test(r.key)) return;
    const type = Buffer.from(r.type, 'utf8');
    const key = Buffer.from(r.key, 'utf8');
    const b = Buffer.concat([r.hash, r.sig, r.chain, type, key, r.val ?? EMPTY]);
    bytes += b.length;
    if (bytes > TIP_CACHE_MAX_BYTES) return;
    rows.push([from + 1 + i, r.id, r.ts, r.mod, r.prev, r.prevch, b, type.length, key.length, r.val ? 1 : 0]);
  }
  const p = probe(h.db);
  tips.set(h.db, { from, rows, changes: p.changes.get(), version: p.version.get() });
}

/**
 * The page changesPacked would read, from the last write's rows, with the last seq (what
 * lastSeq() would say); null when they cannot answer it (filters, a `since` before that write,
 * anything changed since): read the page.
 */
export function tipPage(h: Handle, since: number, opts: PageAsked): (PackedPage & { last: number }) | null {
  const t = tips.get(h.db);
  if (!t || since < t.from || opts.minId || opts.minMod || opts.metaOnly || h.db.inTransaction) return null;
  const last = t.from + t.rows.length;
  if (since > last) return null;
  const p = probe(h.db);
  if (p.changes.get() !== t.changes || p.version.get() !== t.version) {
    tips.delete(h.db);
    return null;
  }
  // As feedPage pages: at most `limit` rows, the byte cap ending a page before the row that would
  // overflow it (one row always goes); the rows here are far fewer than its window, so a page
  // that is not cut short ends at the last seq.
  const limit = Math.max(1, Math.min(opts.limit ?? 1000, 10_000));
  const rows: PackedRow[] = [];
  let seq = since;
  let bytes = 0;
  for (let i = since - t.from; i < t.rows.length; i++) {
    const r = t.rows[i]!;
    const n = r[9] ? r[6].length - PACKED_HEAD - r[7] - r[8] : 0; // its value's bytes
    if (opts.maxBytes !== undefined && rows.length > 0 && bytes + n > opts.maxBytes) return { rows, seq, more: true, last };
    seq = r[0];
    bytes += n;
    rows.push(r);
    if (rows.length >= limit) return { rows, seq, more: seq < last, last };
  }
  return { rows, seq: last, more: false, last };
}
