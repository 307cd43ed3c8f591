// Files in streams (DESIGN §4): records of type `file` keyed by relative path. Small files keep
// the original Drayer value layout (u32le header length ‖ msgpack {enc, time, …} ‖ data); big
// files hold a manifest of 1 MiB content-addressed chunks kept in the stream file's `chunks`
// table, written and read in constant memory, deduplicated, verified, and garbage-collected.
import { encode } from '@msgpack/msgpack';
import { decodeBounded, MSGPACK_LIMITS, MsgpackError } from '../core/msgpack.js';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Statement } from 'better-sqlite3';
import { CHUNK_SIZE, ChunkStore, chunkProblem } from './chunk-writer.js';
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { LIMITS } from '../core/record.js';
import { pathCharProblem, visiblePath } from '../core/text.js';
import type { Stream } from './store.js';
import type { FolderDiff, FolderFile } from '../core/shapes.js';
import { DIGEST_PIECE, FOLDER_FILES_MAX, inFolder, isAppMedia } from '../core/site.js';

export const FILE_TYPE = 'file';
/** Files up to this size are stored inline in their record; larger ones are chunked. */
export const SMALL_FILE_MAX = 1024 * 1024;
export { CHUNK_SIZE };
/** Small files queued for one Stream.batch are flushed at this many bytes (bounds memory). */
const BATCH_FLUSH_BYTES = 32 * 1024 * 1024;
const BATCH_FLUSH_FILES = 2000;

export interface FileEntry { path: string; size: number; mime: string; time: number; chunked: boolean; enc: string; id: number; mod: number }
export interface ImportProgress { files: number; filesTotal: number; bytes: number; bytesTotal: number }
export interface ImportResult {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
  /** present but not imported (unreadable, or a name that cannot be a stream path); never removed */
  skipped?: string[];
}
export interface FileHeader { enc: string; time: number; mime?: string; size?: number; chunkSize?: number; chunks?: Uint8Array[] }

// ---------- mime types ----------

const MIME: Record<string, string> = {
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript',
  json: 'application/json', txt: 'text/plain', md: 'text/markdown', svg: 'image/svg+xml',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  ico: 'image/x-icon', woff: 'font/woff', woff2: 'font/woff2', pdf: 'application/pdf',
  mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg',
  zip: 'application/zip', wasm: 'application/wasm', xml: 'application/xml',
};
/** Already-compressed formats: gzip would only cost time. */
const INCOMPRESSIBLE = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'woff', 'woff2', 'mp4', 'webm', 'mp3', 'ogg', 'zip', 'gz', 'zst', 'xz', '7z']);

function extOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The content type for a path, by extension; application/octet-stream when unknown. */
export function mimeForPath(p: string): string {
  return MIME[extOf(p)] ?? 'application/octet-stream';
}

// ---------- paths ----------

/** A stream file path: relative, forward slashes, NFC, no empty, `.` or `..` segments. */
export function normalizeFilePath(p: string): string {
  const bad = (why: string) =>
    new DrayerError('INVALID_ARGUMENT', `The file path ${JSON.stringify(p)} cannot be used: ${why}. Use a relative path with forward slashes, like "images/cat.png".`);
  if (typeof p !== 'string') throw new DrayerError('INVALID_ARGUMENT', 'A file path must be text, like "images/cat.png".');
  const n = p.normalize('NFC');
  if (n === '') throw bad('it is empty');
  if (n.startsWith('/')) throw bad('it starts with a slash');
  if (n.includes('\\')) throw bad('it contains a backslash');
  if (/[\u0000-\u001f\u007f]/.test(n)) throw bad('it contains a control character');
  for (const seg of n.split('/')) {
    if (seg === '') throw bad('it has an empty segment (a doubled or trailing slash)');
    if (seg === '.' || seg === '..') throw bad(`it contains a "${seg}" segment`);
  }
  if (Buffer.byteLength(n) > LIMITS.keyBytes) throw bad(`it is longer than ${LIMITS.keyBytes} bytes`);
  return n;
}

/**
 * A path for a file being added: as normalizeFilePath, and refusing control, bidi and invisible
 * characters (text.ts), which would let the name pass for another. Files a followed stream
 * already holds keep their paths; they are shown with such characters written out (visiblePath).
 */
export function newFilePath(p: string): string {
  const why = typeof p === 'string' ? pathCharProblem(p) : null;
  if (why) throw new DrayerError('INVALID_ARGUMENT', `The file name "${visiblePath(p)}" cannot be added: ${why}. Rename the file without it, then add it again.`);
  return normalizeFilePath(p);
}

// ---------- the value layout ----------

function malformed(why: string): DrayerError {
  return new DrayerError('CORRUPT', `This file record's value is malformed (${why}); it cannot be read. Sync it again from the writer or re-add the file.`);
}

const utf8Decoder = new TextDecoder();

/** Split a file value into its header and body (no decompression). Throws CORRUPT when malformed. */
export function parseFileValue(val: Uint8Array): { header: FileHeader; body: Uint8Array } {
  if (val.length < 4) throw malformed('shorter than its 4-byte header length');
  const hl = new DataView(val.buffer, val.byteOffset, val.byteLength).getUint32(0, true);
  if (4 + hl > val.length) throw malformed('its header length runs past its end');
  let raw: unknown;
  try {
    raw = decodeBounded(val.subarray(4, 4 + hl), MSGPACK_LIMITS.fileHeader);
  } catch (e) {
    throw malformed(e instanceof MsgpackError ? `its header ${e.reason}` : 'its header is not msgpack');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) throw malformed('its header is not a map');
  const m = raw as Record<string, unknown>;
  const enc = m.enc instanceof Uint8Array ? utf8Decoder.decode(m.enc) : m.enc;
  if (typeof enc !== 'string') throw malformed('its header has no enc');
  const time = typeof m.time === 'bigint' ? Number(m.time) : m.time ?? 0;
  if (typeof time !== 'number' || !Number.isFinite(time)) throw malformed('its header time is not a number');
  const header: FileHeader = { enc, time: Math.round(time) };
  const mime = m.mime instanceof Uint8Array ? utf8Decoder.decode(m.mime) : m.mime;
  if (typeof mime === 'string' && mime) header.mime = mime;
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (m.size !== undefined) {
    if (!isCount(m.size)) throw malformed('its header size is not a count');
    header.size = m.size;
  }
  if (enc === 'chunks') {
    const { chunkSize, chunks } = m;
    if (!isCount(header.size)) throw malformed('a chunked file has no size');
    if (!isCount(chunkSize) || chunkSize === 0) throw malformed('a chunked file has no chunk size');
    if (!Array.isArray(chunks) || !chunks.every((c) => c instanceof Uint8Array && c.length === 32)) throw malformed('its chunk list is not 32-byte hashes');
    if (chunks.length !== Math.ceil(header.size / chunkSize)) throw malformed('its chunk list does not match its size');
    header.chunkSize = chunkSize;
    header.chunks = chunks as Uint8Array[];
  }
  return { header, body: val.subarray(4 + hl) };
}

function encodeFileValue(header: Record<string, unknown>, body?: Uint8Array): Uint8Array {
  const h = encode(header);
  const out = new Uint8Array(4 + h.length + (body?.length ?? 0));
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  if (body) out.set(body, 4 + h.length);
  return out;
}

/** The small-file value for `data`: gzipped when that makes it smaller. */
function smallFileValue(key: string, data: Uint8Array, mime: string, time: number): Uint8Array {
  let enc = 'binary';
  let body = data;
  if (data.length > 32 && !INCOMPRESSIBLE.has(extOf(key))) {
    const gz = zlib.gzipSync(data);
    if (gz.length < data.length) {
      enc = 'gzip';
      body = gz;
    }
  }
  return encodeFileValue({ enc, time, mime, size: data.length }, body);
}

/** The content bytes of a small file value; throws for chunked or unknown encodings. */
function smallContent(header: FileHeader, body: Uint8Array): Buffer {
  if (header.enc === 'binary') return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (header.enc === 'gzip') {
    try {
      return zlib.gunzipSync(body);
    } catch {
      throw malformed('its gzip data is damaged');
    }
  }
  throw new DrayerError('CORRUPT', `This file is stored with an encoding Drayer does not know ("${header.enc}"); update Drayer to read it.`);
}

// ---------- per-stream SQL ----------

interface Stmts {
  ops: Statement;
  insertOp: Statement;
  beatOp: Statement;
  dropOp: Statement;
  dropPins: Statement;
  pinned: Statement;
  insertChunk: Statement;
  chunkData: Statement;
  hasChunk: Statement;
  chunkHashes: Statement;
  deleteChunk: Statement;
  chunkCount: Statement;
  anyChunk: Statement;
  fileHead: Statement;
  fileHeads: Statement;
  fileKeys: Statement;
  manifests: Statement;
}

const HEAD_BYTES = 4096;
const stmtCache = new WeakMap<Stream, Stmts>();

function stmts(s: Stream): Stmts {
  let st = stmtCache.get(s);
  if (!st) {
    const db = s.db;
    // Only the head of each value is copied out: listing a site must not load every file's bytes.
    const head = `SELECT id, key, mod, length(val) AS len, substr(val, 1, ${HEAD_BYTES}) AS head, substr(val, -4) AS tail FROM records`;
    st = {
      ops: db.prepare('SELECT id, pid, place, beat FROM chunk_ops'),
      insertOp: db.prepare('INSERT INTO chunk_ops (pid, place, started, beat) VALUES (?, ?, ?, ?)'),
      beatOp: db.prepare('UPDATE chunk_ops SET beat = ? WHERE id = ?'),
      dropOp: db.prepare('DELETE FROM chunk_ops WHERE id = ?'),
      dropPins: db.prepare('DELETE FROM chunk_pins WHERE op = ?'),
      pinned: db.prepare('SELECT hash FROM chunk_pins').pluck(),
      insertChunk: db.prepare('INSERT OR IGNORE INTO chunks (hash, data) VALUES (?, ?)'),
      chunkData: db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck(),
      hasChunk: db.prepare('SELECT 1 FROM chunks WHERE hash = ?').pluck(),
      chunkHashes: db.prepare('SELECT hash FROM chunks').pluck(),
      deleteChunk: db.prepare('DELETE FROM chunks WHERE hash = ?'),
      chunkCount: db.prepare('SELECT count(*) FROM chunks').pluck(),
      anyChunk: db.prepare('SELECT 1 FROM chunks LIMIT 1').pluck(),
      fileHead: db.prepare(`${head} WHERE chain = ? AND type = '${FILE_TYPE}' AND key = ? AND val IS NOT NULL ORDER BY mod DESC LIMIT 1`),
      fileHeads: db.prepare(`${head} WHERE chain = ? AND type = '${FILE_TYPE}' AND val IS NOT NULL ORDER BY key`),
      fileKeys: db.prepare(`SELECT key FROM records WHERE chain = ? AND type = '${FILE_TYPE}'`).pluck(),
      // Pre-filter in SQL on the bytes of "chunks" so small files are never copied out to be parsed.
      manifests: db.prepare(`SELECT val FROM records WHERE type = '${FILE_TYPE}' AND val IS NOT NULL AND instr(val, X'6368756e6b73') > 0`).pluck(),
    };
    stmtCache.set(s, st);
  }
  return st;
}

const hkey = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');

// ---------- chunk operations in progress, and what they leave ----------
//
// Every operation that writes chunks or may orphan them (an add, a replace or delete of a big file)
// first registers a row in `chunk_ops`; its chunk writer pins each chunk in `chunk_pins` in the very
// transaction that commits it; when the operation ends, its row and pins go and, if it failed or
// was cancelled or replaced a big file, unreferenced chunks are collected in the same transaction.
// So a collection anywhere (another process included: the CLI beside `drayer serve`) never takes a
// chunk whose manifest is not stored yet, and a row whose process is gone marks leftovers of a
// killed add, which the next open collects.

/** A row whose process cannot be checked from here is stale once it has not beaten for this long. */
const OP_LEASE_MS = 10 * 60_000;
const OP_BEAT_MS = 60_000;

let here: string | undefined;
/**
 * Where pids mean the same process: this machine, this boot, this pid namespace (containers share
 * files, not pids). Hashed: a stream file copied elsewhere carries no host name.
 */
function place(): string {
  if (here === undefined) {
    const read = (f: string, link = false) => {
      try {
        return link ? fs.readlinkSync(f) : fs.readFileSync(f, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const where = [os.hostname(), read('/proc/sys/kernel/random/boot_id'), read('/proc/self/ns/pid', true)].join('|');
    here = Buffer.from(blake2b256(Buffer.from(where))).toString('hex').slice(0, 32);
  }
  return here;
}

function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false; // kill(0) would signal our own group
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

type OpRow = { id: number; pid: number; place: string; beat: number };

/**
 * Whether an operation's process is gone. Here, by its pid (at once after a kill; a reused pid only
 * keeps leftovers longer, never loses a chunk); elsewhere, when it stopped beating.
 */
function opStale(op: OpRow, now: number): boolean {
  return op.place === place() ? !pidAlive(op.pid) : now - op.beat > OP_LEASE_MS;
}

/** Operations of this process, beaten while they run (only a process elsewhere needs the beat). */
const running = new Map<Stream, Set<number>>();
let beater: ReturnType<typeof setInterval> | undefined;

function beginOp(s: Stream): number {
  const now = Date.now();
  const id = Number(stmts(s).insertOp.run(process.pid, place(), now, now).lastInsertRowid);
  let ids = running.get(s);
  if (!ids) running.set(s, (ids = new Set()));
  ids.add(id);
  beater ??= setInterval(beat, OP_BEAT_MS).unref();
  return id;
}

function beat(): void {
  const now = Date.now();
  for (const [s, ids] of running) {
    if (!s.db.open) {
      running.delete(s);
      continue;
    }
    try {
      for (const id of ids) stmts(s).beatOp.run(now, id);
    } catch {
      // busy: the next beat, well inside the lease
    }
  }
}

/** End an operation: its row and pins go; with `collect`, unreferenced chunks too (the same transaction). */
function endOp(s: Stream, id: number, collect: boolean): void {
  const ids = running.get(s);
  ids?.delete(id);
  if (ids?.size === 0) running.delete(s);
  if (running.size === 0 && beater) {
    clearInterval(beater);
    beater = undefined;
  }
  if (collect) {
    collectChunks(s, { ending: id });
    return;
  }
  const st = stmts(s);
  s.db.transaction(() => {
    st.dropPins.run(id);
    st.dropOp.run(id);
  }).immediate();
}

// ---------- chunks ----------

/** A chunk by its hash, or undefined when this copy does not hold it (yet). */
export function getChunk(s: Stream, hash: Uint8Array): Buffer | undefined {
  return (stmts(s).chunkData.get(hash) as Buffer | undefined) ?? undefined;
}

/** Store a chunk received from a peer after checking it is the one asked for. */
export function putChunk(s: Stream, data: Uint8Array, expectedHash: Uint8Array): void {
  if (!(expectedHash instanceof Uint8Array) || expectedHash.length !== 32) throw new DrayerError('INVALID_ARGUMENT', 'A chunk hash is 32 bytes.');
  const bad = chunkProblem(data, expectedHash);
  if (bad) throw bad;
  stmts(s).insertChunk.run(expectedHash, data);
}

export function chunkCount(s: Stream): number {
  return stmts(s).chunkCount.get() as number;
}

/**
 * Delete every chunk no live `file` manifest refers to, nor an operation in progress has pinned
 * (rows of operations whose process is gone are dropped first). Returns how many were deleted.
 * Reads only manifests, pins and the chunk index, never chunk data.
 */
export function gcChunks(s: Stream): number {
  if (stmts(s).anyChunk.get() === undefined) return 0; // most streams hold no big file: one probe, no manifest reads
  return collectChunks(s, {});
}

/**
 * `ending`: this operation's row and pins go in the same transaction. `unpinned`: every operation's
 * (a copy being exported: nothing there is in progress).
 */
function collectChunks(s: Stream, opts: { ending?: number; unpinned?: boolean }): number {
  const st = stmts(s);
  // One immediate transaction: no other connection can store a manifest or pin a chunk between scan and delete.
  const deleted = s.db.transaction(() => {
    const now = Date.now();
    for (const op of st.ops.all() as OpRow[]) {
      if (op.id === opts.ending || opts.unpinned || opStale(op, now)) {
        st.dropPins.run(op.id);
        st.dropOp.run(op.id);
      }
    }
    const live = new Set<string>();
    for (const h of st.pinned.iterate() as IterableIterator<Buffer>) live.add(hkey(h));
    for (const val of st.manifests.iterate() as IterableIterator<Buffer>) {
      let header: FileHeader;
      try {
        header = parseFileValue(val).header;
      } catch {
        continue; // an unreadable manifest cannot be served whatever we keep
      }
      for (const h of header.chunks ?? []) live.add(hkey(h));
    }
    const dead: Buffer[] = [];
    for (const h of st.chunkHashes.iterate() as IterableIterator<Buffer>) if (!live.has(hkey(h))) dead.push(h);
    for (const h of dead) st.deleteChunk.run(h);
    return dead.length;
  }).immediate();
  if (deleted > 0) reclaimSpace(s);
  return deleted;
}

/**
 * Giving space back costs about 3-8 ms per MiB (SQLite moves or unlinks each free page), so it
 * runs in slices, each its own short write transaction, for at most this long per collection.
 */
const RECLAIM_SLICE_BYTES = 16 * 1024 * 1024;
const RECLAIM_BUDGET_MS = 500;

/**
 * Give the space of deleted chunks back to the disk, within a time budget. Streams created since
 * chunks are collected use incremental auto-vacuum: free pages at the end (a cancelled add's,
 * usually) are cut off, others filled by moving pages from the end. What the budget leaves, and
 * every free page of an older stream (switching one would rewrite the whole file), is reused by
 * the next writes; `drayer export` writes a compact copy either way.
 */
function reclaimSpace(s: Stream): void {
  if (s.db.pragma('auto_vacuum', { simple: true }) !== 2) return;
  const slice = Math.ceil(RECLAIM_SLICE_BYTES / (s.db.pragma('page_size', { simple: true }) as number));
  const until = Date.now() + RECLAIM_BUDGET_MS;
  try {
    while ((s.db.pragma('freelist_count', { simple: true }) as number) > 0 && Date.now() < until) s.db.pragma(`incremental_vacuum(${slice})`);
  } catch (e) {
    if (!(e as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw e; // another writer: a later collection goes on
  }
}

/**
 * At open: collect what killed or crashed operations left, when some did. Nothing to do costs one
 * query of a table of a few rows; a busy stream (another process writing) is left for a later open.
 */
export function collectLeftovers(s: Stream): number {
  const now = Date.now();
  try {
    // Prepared alone: this file's other statements are not needed at most opens.
    const ops = s.db.prepare('SELECT id, pid, place, beat FROM chunk_ops').all() as OpRow[];
    if (!ops.some((op) => opStale(op, now))) return 0;
    return gcChunks(s);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) return 0;
    throw e;
  }
}

/**
 * Drop every chunk no manifest refers to, pins or not, and leave no trace of them in the file:
 * for a copy that leaves this machine (`drayer export`), which must not carry a byte of a file
 * whose add was cancelled or is still running. Returns how many were dropped.
 */
export function dropUnreferencedChunks(s: Stream): number {
  s.db.pragma('secure_delete = ON'); // rows of operations in progress go too, their bytes zeroed
  const n = collectChunks(s, { unpinned: true });
  if (n > 0) s.db.exec('VACUUM'); // the whole pages of dropped chunks go, not only their bytes
  return n;
}

/**
 * Writes chunks content-addressed through a ChunkStore worker (which inserts, pins to `op` and
 * checkpoints on the other core) and collects the ordered hash list.
 */
class ChunkWriter {
  readonly hashes: Uint8Array[] = [];
  size = 0;
  private readonly store: ChunkStore;

  constructor(s: Stream, op: number) {
    this.store = ChunkStore.forStream(s, { verify: false, op });
  }

  /** A CHUNK_SIZE buffer to fill and `add` (reused once the writer is done with it). */
  take(): Buffer {
    return Buffer.from(this.store.take());
  }

  /** Adds the first `len` bytes of a buffer from `take`, handing it over; waits while the writer's queue is full. */
  async add(buf: Buffer, len: number): Promise<void> {
    const hash = blake2b256(buf.subarray(0, len));
    this.hashes.push(hash);
    this.size += len;
    await this.store.put(buf.buffer as ArrayBuffer, len, hash);
  }

  /** Wait until every chunk is committed. */
  async flush(): Promise<void> {
    await this.store.close();
  }

  /** Call once the manifest is stored (or the write failed): what the worker committed stays, pinned until the operation ends. */
  async release(): Promise<void> {
    await this.store.terminate();
  }
}

async function readFull(fh: fsp.FileHandle, buf: Buffer, pos: number): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await fh.read(buf, n, buf.length - n, pos + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}

/** The whole file when it is at most SMALL_FILE_MAX bytes (reading one byte more to see growth), else null. */
async function readSmall(fh: fsp.FileHandle, expected: number): Promise<Uint8Array | null> {
  const buf = Buffer.allocUnsafe(expected + 1);
  const n = await readFull(fh, buf, 0);
  if (n <= expected) return buf.subarray(0, n);
  const big = Buffer.allocUnsafe(SMALL_FILE_MAX + 1);
  const m = await readFull(fh, big, 0);
  return m <= SMALL_FILE_MAX ? big.subarray(0, m) : null;
}

/** Chunk a file from disk in constant memory: reads the next piece while this one is hashed and handed over. */
async function chunkFile(w: ChunkWriter, fh: fsp.FileHandle, check: () => void, onBytes?: (n: number) => void): Promise<void> {
  const read = async (pos: number) => {
    const buf = w.take();
    return { buf, n: await readFull(fh, buf, pos) };
  };
  let pos = 0;
  let cur = await read(pos);
  while (cur.n > 0) {
    pos += cur.n;
    const ahead = cur.n === CHUNK_SIZE ? read(pos) : undefined;
    try {
      check();
      await w.add(cur.buf, cur.n);
    } catch (e) {
      await ahead?.catch(() => undefined);
      throw e;
    }
    onBytes?.(pos);
    if (!ahead) break;
    cur = await ahead;
  }
  check();
  await w.flush();
}

// ---------- reading ----------

interface Loaded { key: string; id: number; mod: number; header: FileHeader; body: Uint8Array; size: number; len: number }

type HeadRow = { id: number; key: string; mod: number; len: number; head: Buffer; tail: Buffer };

/** Parse a row's header from its head bytes, fetching the whole value only for large manifests. */
function loadRow(s: Stream, row: HeadRow): Loaded {
  let val: Uint8Array = row.head;
  if (row.head.length >= 4 && 4 + row.head.readUInt32LE(0) > row.head.length && row.len > row.head.length) {
    val = s.get(FILE_TYPE, row.key)?.val ?? row.head;
  }
  const { header, body } = parseFileValue(val);
  let size = header.size;
  if (size === undefined) {
    // Original Drayer headers carry no size: binary is the body; gzip's trailer holds the length.
    const bodyLen = row.len - (val.length - body.length);
    size = header.enc === 'gzip' && row.tail.length === 4 && bodyLen >= 18 ? row.tail.readUInt32LE(0) : bodyLen;
  }
  return { key: row.key, id: row.id, mod: row.mod, header, body, size, len: row.len };
}

function headRow(s: Stream, key: string): HeadRow | undefined {
  return stmts(s).fileHead.get(Buffer.from(s.publicKey), key) as HeadRow | undefined;
}

function entryOf(l: Loaded): FileEntry {
  return {
    path: l.key, size: l.size, mime: l.header.mime ?? mimeForPath(l.key), time: l.header.time,
    chunked: l.header.enc === 'chunks', enc: l.header.enc, id: l.id, mod: l.mod,
  };
}

/** The file's metadata, or undefined when there is no such file (or only its metadata is held). */
export function statFile(s: Stream, p: string): FileEntry | undefined {
  const row = headRow(s, normalizeFilePath(p));
  return row ? entryOf(loadRow(s, row)) : undefined;
}

/** Every file held with its value, sorted by path. Unreadable values are left out. */
export function listFiles(s: Stream): FileEntry[] {
  const out: FileEntry[] = [];
  // all() rather than iterate(): loadRow may query again, which an open iterator forbids.
  for (const row of stmts(s).fileHeads.all(Buffer.from(s.publicKey)) as HeadRow[]) {
    try {
      out.push(entryOf(loadRow(s, row)));
    } catch (e) {
      if (!isDrayerError(e, 'CORRUPT')) throw e;
    }
  }
  return out;
}

/** Load a file's full value (small files and manifests). */
function loadFull(s: Stream, p: string): Loaded {
  const key = normalizeFilePath(p);
  const r = s.get(FILE_TYPE, key);
  if (!r) throw new DrayerError('NOT_FOUND', `There is no file "${key}" in this stream.`);
  if (!r.val) throw new DrayerError('NOT_FOUND', `Only the metadata of file "${key}" is held here (a metadata-only copy); open it with drayer cat or the node's web access, which fetch it from the stream's sources.`);
  const { header, body } = parseFileValue(r.val);
  const size = header.size ?? (header.enc === 'chunks' ? 0 : smallContent(header, body).length);
  return { key, id: r.id, mod: r.mod, header, body, size, len: r.val.length };
}

function missingChunkError(key: string, hash: Uint8Array, index: number): DrayerError {
  return new DrayerError('NOT_FOUND', `Chunk ${index} (${Buffer.from(hash).toString('hex')}) of file "${key}" is not here yet; sync the stream from a mirror that holds it, then try again.`);
}

/**
 * The file's content bytes from `start` to `end` (inclusive), clamped to the file.
 * Big files stream one chunk at a time; a chunk that is not held fails with NOT_FOUND
 * (thrown at once when it is already known to be missing).
 */
export function openFileStream(s: Stream, p: string, range: { start?: number; end?: number } = {}): Readable {
  const f = loadFull(s, p);
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? f.size - 1, f.size - 1);
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(end + 1) || end + 1 < 0) {
    throw new DrayerError('INVALID_ARGUMENT', `The byte range ${start}-${range.end ?? ''} is not valid for "${f.key}" (${f.size} bytes).`);
  }
  if (f.header.enc !== 'chunks') {
    const content = smallContent(f.header, f.body);
    let done = false;
    return new Readable({
      read() {
        if (!done && start <= end) this.push(content.subarray(start, end + 1));
        done = true;
        this.push(null);
      },
    });
  }
  const chunks = f.header.chunks!;
  const cs = f.header.chunkSize!;
  const st = stmts(s);
  const first = Math.floor(start / cs);
  const last = start <= end ? Math.floor(end / cs) : first - 1;
  for (let i = first; i <= last; i++) if (!st.hasChunk.get(chunks[i]!)) throw missingChunkError(f.key, chunks[i]!, i);
  let i = first;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      try {
        if (i > last) {
          this.push(null);
          return;
        }
        const data = st.chunkData.get(chunks[i]!) as Buffer | undefined;
        if (!data) throw missingChunkError(f.key, chunks[i]!, i);
        const expected = Math.min(cs, f.size - i * cs);
        if (data.length !== expected) throw new DrayerError('CORRUPT', `Chunk ${i} of file "${f.key}" has the wrong length; the stream file is damaged. Run drayer verify.`);
        const off = i * cs;
        const from = Math.max(0, start - off);
        const to = Math.min(expected, end - off + 1);
        i++;
        this.push(from === 0 && to === data.length ? data : data.subarray(from, to));
      } catch (e) {
        this.destroy(e as Error);
      }
    },
  });
}

const READ_ALL_MAX = 256 * 1024 * 1024;

/** The whole content in memory: for small files (refuses files over 256 MiB; stream those). */
export async function readFileBytes(s: Stream, p: string): Promise<Buffer> {
  const f = loadFull(s, p);
  if (f.header.enc !== 'chunks') return smallContent(f.header, f.body);
  if (f.size > READ_ALL_MAX) throw new DrayerError('INVALID_ARGUMENT', `"${f.key}" is ${f.size} bytes, too big to read at once; stream it instead.`);
  const parts: Buffer[] = [];
  for await (const part of openFileStream(s, p)) parts.push(part as Buffer);
  return Buffer.concat(parts, f.size);
}

/** A small file's stored bytes as they are (gzip stays gzip), e.g. to send with Content-Encoding. */
export function rawFileBody(s: Stream, p: string): { enc: 'gzip' | 'binary'; data: Buffer } | undefined {
  const key = normalizeFilePath(p);
  const val = s.get(FILE_TYPE, key)?.val;
  if (!val) return undefined;
  const { header, body } = parseFileValue(val);
  if (header.enc !== 'gzip' && header.enc !== 'binary') return undefined;
  return { enc: header.enc, data: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
}

/** The chunks of a big file this copy lacks, in file order, each once. Small files lack none. */
export function missingChunks(s: Stream, p: string): Uint8Array[] {
  const f = loadFull(s, p);
  const st = stmts(s);
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const h of f.header.chunks ?? []) {
    const k = hkey(h);
    if (seen.has(k)) continue;
    seen.add(k);
    if (!st.hasChunk.get(h)) out.push(h);
  }
  return out;
}

// ---------- writing ----------

type Outcome = 'added' | 'updated' | 'unchanged';

function cancelledError(key: string): DrayerError {
  return new DrayerError('CANCELLED', `Adding ${key} was cancelled: it was not added, and what had been written of it is removed. Files added before it are kept; run the same add again to finish.`);
}

/**
 * State shared by the files of one operation: small values wait here for one Stream.batch; its
 * chunk operation (see beginOp) is registered before the first chunk is written or orphaned.
 */
class Ingest {
  private pending: { key: string; val: Uint8Array; outcome: Outcome }[] = [];
  private pendingBytes = 0;
  /** chunks may now be orphans: a big file was replaced or removed, or one's writing failed */
  orphans = false;
  private op: number | undefined;
  constructor(readonly s: Stream, private readonly done: (key: string, o: Outcome) => void, private readonly signal?: AbortSignal) {
    if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: its secret key is not here, so files cannot be added to it.`);
  }

  /** Throws CANCELLED once the caller's signal fired (`key`: the file being added). */
  check(key: string): void {
    if (this.signal?.aborted) throw cancelledError(key);
  }

  /** This operation's row, registered before anything that could leave chunks behind. */
  private opId(): number {
    return (this.op ??= beginOp(this.s));
  }

  /** A chunk writer, and after it the outcome: its chunks become orphans unless the manifest is stored. */
  private async chunked(key: string, write: (w: ChunkWriter) => Promise<void>, mime: string, time: number): Promise<Outcome> {
    const w = new ChunkWriter(this.s, this.opId());
    let stored = false;
    try {
      await write(w);
      this.check(key);
      const o = this.manifest(key, w, mime, time);
      stored = true;
      return o;
    } finally {
      if (!stored) this.orphans = true;
      await w.release();
    }
  }

  private old(key: string): { header: FileHeader; body: Uint8Array } | null | undefined {
    const val = this.s.get(FILE_TYPE, key)?.val;
    if (val === undefined) return undefined;
    try {
      return val ? parseFileValue(val) : null;
    } catch {
      return null;
    }
  }

  /** Small content: compared with what is stored, queued only when it differs. */
  small(key: string, data: Uint8Array, mime: string, time: number): Outcome {
    const old = this.old(key);
    if (old) {
      if ((old.header.mime ?? mimeForPath(key)) === mime && (old.header.enc === 'binary' || old.header.enc === 'gzip')) {
        try {
          if (bytesEqual(smallContent(old.header, old.body), data)) return this.finish(key, 'unchanged');
        } catch {
          // a damaged old value is simply replaced
        }
      }
      if (old.header.enc === 'chunks') {
        this.opId();
        this.orphans = true;
      }
    }
    const val = smallFileValue(key, data, mime, time);
    const outcome: Outcome = old === undefined ? 'added' : 'updated';
    this.pending.push({ key, val, outcome });
    this.pendingBytes += val.length;
    if (this.pendingBytes >= BATCH_FLUSH_BYTES || this.pending.length >= BATCH_FLUSH_FILES) this.flush();
    return outcome;
  }

  /** A chunked file whose chunks are written: store its manifest unless nothing changed. */
  manifest(key: string, w: ChunkWriter, mime: string, time: number): Outcome {
    const old = this.old(key);
    if (old?.header.enc === 'chunks') {
      const h = old.header;
      const same = h.size === w.size && h.chunkSize === CHUNK_SIZE && (h.mime ?? mimeForPath(key)) === mime &&
        h.chunks!.length === w.hashes.length && h.chunks!.every((c, i) => bytesEqual(c, w.hashes[i]!));
      if (same) return this.finish(key, 'unchanged');
      this.opId();
      this.orphans = true;
    }
    const header = { enc: 'chunks', time, mime, size: w.size, chunkSize: CHUNK_SIZE, chunks: w.hashes };
    const val = encodeFileValue(header);
    if (val.length > LIMITS.valueBytes) {
      throw new DrayerError('INVALID_ARGUMENT', `"${key}" is too big for one Drayer file (at most about ${Math.floor(LIMITS.valueBytes / 34 / 1024)} GiB); split it.`);
    }
    this.flush(); // keep record order the same as file order
    this.s.put(FILE_TYPE, key, val);
    return this.finish(key, old === undefined ? 'added' : 'updated');
  }

  /** Chunk in-memory content (addBytes of more than 1 MiB); the caller's bytes are copied, never taken over. */
  async bytesChunked(key: string, data: Uint8Array, mime: string, time: number): Promise<Outcome> {
    return this.chunked(key, async (w) => {
      for (let off = 0; off < data.length; off += CHUNK_SIZE) {
        this.check(key);
        const part = data.subarray(off, off + CHUNK_SIZE);
        const buf = w.take();
        buf.set(part);
        await w.add(buf, part.length);
      }
      await w.flush();
    }, mime, time);
  }

  /** A file on disk: small ones are read whole; big ones stream through a ChunkWriter. */
  async file(key: string, abs: string, mime: string, onBytes?: (n: number) => void): Promise<Outcome> {
    this.check(key);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(abs, 'r');
    } catch (e) {
      throw fsError(e, abs);
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new DrayerError('INVALID_ARGUMENT', `${abs} is a folder; add folders with importFolder (drayer add works with both).`);
      if (!st.isFile()) throw new DrayerError('INVALID_ARGUMENT', `${abs} is not a regular file, so it cannot be added.`);
      const time = Math.floor(st.mtimeMs * 1000);
      if (st.size <= SMALL_FILE_MAX) {
        const data = await readSmall(fh, st.size);
        if (data) {
          const o = this.small(key, data, mime, time);
          onBytes?.(data.length);
          return o;
        }
        // it grew past the small limit since stat: take the chunked path
      }
      return await this.chunked(key, (w) => chunkFile(w, fh, () => this.check(key), onBytes), mime, time);
    } catch (e) {
      throw isDrayerError(e) ? e : fsError(e, abs);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  remove(keys: string[]): void {
    if (keys.length === 0) return;
    this.flush();
    for (const k of keys) if (this.old(k)?.header.enc === 'chunks') this.orphans = true;
    if (this.orphans) this.opId();
    this.s.batch((w) => {
      for (const k of keys) w.delete(FILE_TYPE, k);
    });
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.s.batch((w) => {
      for (const p of batch) w.put(FILE_TYPE, p.key, p.val);
    });
    for (const p of batch) this.done(p.key, p.outcome);
  }

  /** Flush, end the chunk operation and collect orphaned chunks: the end of every write operation, failed ones too. */
  end(): void {
    try {
      this.flush();
    } finally {
      const op = this.op;
      this.op = undefined;
      if (op !== undefined) endOp(this.s, op, this.orphans);
      this.orphans = false;
    }
  }

  /** Run one write operation: it ends (and cleans up) whether `fn` succeeds or fails; the first error is the one thrown. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await fn();
    } catch (e) {
      try {
        this.end();
      } catch {
        // already failing
      }
      throw e;
    }
    this.end();
    return out;
  }

  private finish(key: string, o: Outcome): Outcome {
    this.done(key, o);
    return o;
  }
}

function fsError(e: unknown, abs: string): DrayerError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return new DrayerError('NOT_FOUND', `${abs} does not exist.`, { cause: e });
  if (code === 'EISDIR') return new DrayerError('INVALID_ARGUMENT', `${abs} is a folder; add folders with importFolder (drayer add works with both).`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new DrayerError('IO', `${abs} cannot be read (permission denied); check its permissions and try again.`, { cause: e });
  return new DrayerError('IO', `Could not read ${abs}: ${(e as Error).message}.`, { cause: e });
}

/** Add or replace the file `relPath` with the content of the file at `source` on disk. */
export async function addFile(s: Stream, relPath: string, source: string, opts: { mime?: string; signal?: AbortSignal } = {}): Promise<{ path: string; changed: boolean }> {
  const key = newFilePath(relPath);
  let outcome: Outcome = 'unchanged';
  const ing = new Ingest(s, (_k, o) => (outcome = o), opts.signal);
  await ing.run(() => ing.file(key, source, opts.mime ?? mimeForPath(key)));
  return { path: key, changed: outcome !== 'unchanged' };
}

/** Add or replace the file `relPath` with `data` (time: mtime in µs, default now). */
export async function addBytes(s: Stream, relPath: string, data: Uint8Array, opts: { mime?: string; time?: number; signal?: AbortSignal } = {}): Promise<{ path: string; changed: boolean }> {
  const key = newFilePath(relPath);
  const mime = opts.mime ?? mimeForPath(key);
  const time = Math.round(opts.time ?? Date.now() * 1000);
  let outcome: Outcome = 'unchanged';
  const ing = new Ingest(s, (_k, o) => (outcome = o), opts.signal);
  await ing.run(async () => {
    ing.check(key);
    if (data.length <= SMALL_FILE_MAX) ing.small(key, data, mime, time);
    else await ing.bytesChunked(key, data, mime, time);
  });
  return { path: key, changed: outcome !== 'unchanged' };
}

/** Delete a file; its chunks go unless another file shares them. False when there was none. */
export function deleteFile(s: Stream, p: string): boolean {
  const key = normalizeFilePath(p);
  const val = s.get(FILE_TYPE, key)?.val;
  let chunked = false;
  try {
    chunked = val ? parseFileValue(val).header.enc === 'chunks' : false;
  } catch {
    chunked = true; // unknown: let gc decide
  }
  if (!chunked) return s.delete(FILE_TYPE, key);
  // Registered first, so a crash between the delete and the collection leaves it to the next open.
  const op = beginOp(s);
  let gone = false;
  try {
    gone = s.delete(FILE_TYPE, key);
  } finally {
    endOp(s, op, gone);
  }
  return gone;
}

// ---------- folders ----------

interface Found { key: string; abs: string; size: number }

function insideRoot(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * The files under `dir` keyed by their path relative to it (plus `prefix`). Dot-names are skipped
 * unless asked for; symlinks are followed only when they stay inside the folder (each folder once).
 */
async function walk(dir: string, prefix: string, includeDotfiles: boolean, skipped: string[]): Promise<Found[]> {
  let root: string;
  try {
    root = await fsp.realpath(dir);
    if (!(await fsp.stat(root)).isDirectory()) throw new DrayerError('INVALID_ARGUMENT', `${dir} is not a folder.`);
  } catch (e) {
    throw isDrayerError(e) ? e : fsError(e, dir);
  }
  const out: Found[] = [];
  const visited = new Set<string>([root]);
  const stack: { abs: string; rel: string }[] = [{ abs: root, rel: prefix }];
  while (stack.length > 0) {
    const { abs, rel } = stack.pop()!;
    let names: fs.Dirent[];
    try {
      names = await fsp.readdir(abs, { withFileTypes: true });
    } catch {
      if (rel) skipped.push(rel);
      continue;
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: { abs: string; rel: string }[] = [];
    for (const d of names) {
      if (!includeDotfiles && d.name.startsWith('.')) continue;
      const childAbs = path.join(abs, d.name);
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      let real = childAbs;
      if (d.isSymbolicLink()) {
        try {
          real = await fsp.realpath(childAbs);
        } catch {
          continue; // a broken link points nowhere
        }
        if (!insideRoot(real, root)) continue; // never publish what lies outside the folder
        const st = await fsp.stat(real).catch(() => undefined);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir) {
        if (visited.has(real)) continue; // a link back up would loop forever
        visited.add(real);
        subdirs.push({ abs: real, rel: childRel });
      } else if (isFile) {
        let key: string;
        try {
          key = newFilePath(childRel);
        } catch {
          skipped.push(childRel);
          continue;
        }
        const st = await fsp.stat(real).catch(() => undefined);
        if (!st) {
          skipped.push(key);
          continue;
        }
        out.push({ key, abs: real, size: st.size });
      }
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!); // sorted, depth-first
  }
  return out;
}

async function ingestAll(
  s: Stream, found: Found[], removeUnder: string | null, onProgress: ((p: ImportProgress) => void) | undefined, skipped: string[], signal?: AbortSignal,
): Promise<ImportResult> {
  const result: ImportResult = { added: [], updated: [], removed: [], unchanged: 0, skipped };
  const ing = new Ingest(s, (key, o) => {
    if (o === 'added') result.added.push(key);
    else if (o === 'updated') result.updated.push(key);
    else result.unchanged++;
  }, signal);
  const progress: ImportProgress = { files: 0, filesTotal: found.length, bytes: 0, bytesTotal: found.reduce((n, f) => n + f.size, 0) };
  onProgress?.({ ...progress });
  const seen = new Set<string>(skipped);
  // Even after a failure, what was read so far is stored (and what was not, removed); the first error is the one reported.
  await ing.run(async () => {
    for (const f of found) {
      seen.add(f.key);
      const base = progress.bytes;
      try {
        await ing.file(f.key, f.abs, mimeForPath(f.key), (n) => {
          progress.bytes = base + n;
          if (n < f.size) onProgress?.({ ...progress });
        });
      } catch (e) {
        // One unreadable file does not stop a folder; it is reported and kept as it was.
        if (!isDrayerError(e) || !(e.code === 'IO' || e.code === 'NOT_FOUND' || e.code === 'INVALID_ARGUMENT')) throw e;
        skipped.push(f.key);
      }
      progress.files++;
      progress.bytes = base + f.size;
      onProgress?.({ ...progress });
    }
    if (removeUnder !== null) {
      const gone: string[] = [];
      for (const k of stmts(s).fileKeys.all(Buffer.from(s.publicKey)) as string[]) {
        if (!seen.has(k) && (removeUnder === '' || k.startsWith(removeUnder + '/'))) gone.push(k);
      }
      gone.sort();
      ing.remove(gone);
      result.removed.push(...gone);
    }
  });
  return result;
}

/**
 * Make the stream's files mirror `dir`: add new files, update changed ones (by content, not
 * mtime), and remove files no longer there (only under `prefix` when one is given).
 */
export async function importFolder(
  s: Stream, dir: string, opts: { prefix?: string; onProgress?: (p: ImportProgress) => void; includeDotfiles?: boolean; signal?: AbortSignal } = {},
): Promise<ImportResult> {
  const prefix = opts.prefix ? newFilePath(opts.prefix.replace(/\/+$/, '')) : '';
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: its secret key is not here, so files cannot be added to it.`);
  const skipped: string[] = [];
  const found = await walk(dir, prefix, opts.includeDotfiles ?? false, skipped);
  return ingestAll(s, found, prefix, opts.onProgress, skipped, opts.signal);
}

/**
 * Add files (under their base name) and folders (their contents, keyed relative to the folder).
 * Adding never removes: files already in the stream but absent here stay.
 */
export async function addPaths(s: Stream, fsPaths: string[], opts: { onProgress?: (p: ImportProgress) => void; signal?: AbortSignal } = {}): Promise<ImportResult> {
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: its secret key is not here, so files cannot be added to it.`);
  const byKey = new Map<string, Found>(); // a later path wins over an earlier one with the same key
  const skipped: string[] = [];
  for (const p of fsPaths) {
    let st: fs.Stats;
    try {
      st = await fsp.stat(p);
    } catch (e) {
      throw fsError(e, p);
    }
    if (st.isDirectory()) {
      for (const f of await walk(p, '', false, skipped)) byKey.set(f.key, f);
    } else if (st.isFile()) {
      const key = newFilePath(path.basename(p));
      byKey.set(key, { key, abs: p, size: st.size });
    } else {
      throw new DrayerError('INVALID_ARGUMENT', `${p} is neither a file nor a folder, so it cannot be added.`);
    }
  }
  return ingestAll(s, [...byKey.values()], null, opts.onProgress, skipped, opts.signal);
}

// ---------- folder updates ----------


/** Digests by record hash: a file unchanged since the last update is not read again. */
const digestCache = new Map<string, string>();
const DIGEST_CACHE_MAX = 20_000;

/**
 * The content digest both sides compare (app/core/site.ts): SHA-256 of the SHA-256s of each 1 MiB
 * piece, so a browser hashes a big file in constant memory with WebCrypto and so does this side.
 */
async function contentDigest(s: Stream, key: string): Promise<string> {
  const rec = s.get(FILE_TYPE, key);
  const cacheKey = rec ? Buffer.from(rec.hash).toString('hex') : '';
  const hit = cacheKey ? digestCache.get(cacheKey) : undefined;
  if (hit) return hit;
  const outer = createHash('sha256');
  let piece = createHash('sha256');
  let inPiece = 0;
  for await (const part of openFileStream(s, key)) {
    let b = part as Buffer;
    while (b.length > 0) {
      const n = Math.min(b.length, DIGEST_PIECE - inPiece);
      piece.update(b.subarray(0, n));
      inPiece += n;
      b = b.subarray(n);
      if (inPiece === DIGEST_PIECE) {
        outer.update(piece.digest());
        piece = createHash('sha256');
        inPiece = 0;
      }
    }
  }
  if (inPiece > 0) outer.update(piece.digest());
  const d = outer.digest('hex');
  if (cacheKey) {
    if (digestCache.size >= DIGEST_CACHE_MAX) digestCache.delete(digestCache.keys().next().value!);
    digestCache.set(cacheKey, d);
  }
  return d;
}

/**
 * What a folder update must send: files the stream lacks (add) or holds with other content
 * (change, by size then digest; a new mtime alone changes nothing), and the stream's files in
 * folder `under` ('' for all) that the folder no longer has (remove): at its top, or in a subfolder
 * it still has; never the app's own media, nor a folder it does not have at all.
 * Reads only; the caller sends what is asked and then deletes `remove` (deleteFiles).
 */
export async function folderDiff(s: Stream, under: string, files: unknown): Promise<FolderDiff> {
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: its secret key is not here, so it cannot be updated from a folder.`);
  const dir = under === '' ? '' : normalizeFilePath(under.replace(/\/+$/, ''));
  if (!Array.isArray(files)) throw new DrayerError('INVALID_ARGUMENT', 'A folder update lists its files: path, size and hash of each.');
  if (files.length > FOLDER_FILES_MAX) throw new DrayerError('INVALID_ARGUMENT', `A folder update takes at most ${FOLDER_FILES_MAX} files; this folder has ${files.length}. Update a smaller folder.`);
  const out: FolderDiff = { add: [], change: [], remove: [], unchanged: 0 };
  const seen = new Set<string>();
  for (const f of files as Partial<FolderFile>[]) {
    const key = normalizeFilePath(f?.path as string);
    if (!Number.isSafeInteger(f.size) || f.size! < 0) throw new DrayerError('INVALID_ARGUMENT', `The size of "${key}" must be a number of bytes.`);
    if (typeof f.hash !== 'string' || !/^[0-9a-f]{64}$/.test(f.hash)) throw new DrayerError('INVALID_ARGUMENT', `The hash of "${key}" must be 64 hex digits (SHA-256 of its 1 MiB pieces' SHA-256s).`);
    if (!inFolder(key, dir)) throw new DrayerError('INVALID_ARGUMENT', `"${key}" is not in the folder "${dir}" being updated.`);
    if (seen.has(key)) throw new DrayerError('INVALID_ARGUMENT', `"${key}" is listed twice.`);
    seen.add(key);
    let held: FileEntry | undefined;
    try {
      held = statFile(s, key);
    } catch {
      held = undefined; // a damaged value is simply replaced
    }
    if (!held) out.add.push(key);
    else if (held.size !== f.size || (await contentDigest(s, key).catch(() => '')) !== f.hash) out.change.push(key);
    else out.unchanged++;
  }
  // Folders the picked folder does not have at all are kept: they sit beside the site (added on
  // their own), they did not leave it. Files at its top and in its folders that left are removed.
  const topOf = (k: string) => {
    const rel = dir ? k.slice(dir.length + 1) : k;
    const slash = rel.indexOf('/');
    return slash < 0 ? null : rel.slice(0, slash);
  };
  const tops = new Set([...seen].map(topOf));
  for (const k of stmts(s).fileKeys.all(Buffer.from(s.publicKey)) as string[]) {
    if (seen.has(k) || !inFolder(k, dir) || isAppMedia(k)) continue;
    const top = topOf(k);
    if (top === null || tops.has(top)) out.remove.push(k);
  }
  out.remove.sort();
  return out;
}

/**
 * Delete several files in one go (their chunks collected once): the listed `paths`, or every file
 * in `folder`. Returns the paths deleted; files already gone are skipped.
 */
export function deleteFiles(s: Stream, what: { paths?: unknown; folder?: unknown }): string[] {
  let keys: string[];
  if (what.folder !== undefined) {
    if (typeof what.folder !== 'string' || what.folder.replace(/\/+$/, '') === '') throw new DrayerError('INVALID_ARGUMENT', 'Name the folder to remove, like "css".');
    const dir = normalizeFilePath(what.folder.replace(/\/+$/, ''));
    keys = (stmts(s).fileKeys.all(Buffer.from(s.publicKey)) as string[]).filter((k) => inFolder(k, dir));
  } else {
    if (!Array.isArray(what.paths)) throw new DrayerError('INVALID_ARGUMENT', 'Give the paths of the files to delete, or a folder.');
    if (what.paths.length > FOLDER_FILES_MAX) throw new DrayerError('INVALID_ARGUMENT', `At most ${FOLDER_FILES_MAX} files can be deleted at once.`);
    const held = new Set(stmts(s).fileKeys.all(Buffer.from(s.publicKey)) as string[]);
    keys = [...new Set(what.paths.map((p) => normalizeFilePath(p as string)))].filter((k) => held.has(k));
  }
  keys.sort();
  if (keys.length === 0) return [];
  const ing = new Ingest(s, () => {});
  try {
    ing.remove(keys);
  } finally {
    ing.end();
  }
  return keys;
}
