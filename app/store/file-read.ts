// Reading the files a stream holds: one file's metadata, the listing, and the content, small files
// at once and big ones a chunk at a time (a byte range of them too), in constant memory.
import type { Statement } from 'better-sqlite3';
import type * as fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { getChunk, hasChunk, hkey } from './chunks.js';
import { FILE_TYPE, mimeForPath, normalizeFilePath, parseFileValue, smallContent, type FileHeader } from './file-value.js';
import type { Stream } from './store.js';

export interface FileEntry {
  path: string;
  size: number;
  mime: string;
  time: number;
  chunked: boolean;
  enc: string;
  id: number;
  mod: number;
}

const HEAD_BYTES = 4096;
const stmtCache = new WeakMap<Stream, { fileHead: Statement; fileHeads: Statement; fileKeys: Statement; sealed: Statement }>();

function stmts(s: Stream) {
  let st = stmtCache.get(s);
  if (!st) {
    const db = s.db;
    // Only the head of each value is copied out: listing a site must not load every file's bytes.
    const head = `SELECT id, key, mod, length(val) AS len, substr(val, 1, ${HEAD_BYTES}) AS head, substr(val, -4) AS tail FROM records`;
    st = {
      fileHead: db.prepare(`${head} WHERE chain = ? AND type = '${FILE_TYPE}' AND key = ? AND val IS NOT NULL ORDER BY mod DESC LIMIT 1`),
      fileHeads: db.prepare(`${head} WHERE chain = ? AND type = '${FILE_TYPE}' AND val IS NOT NULL ORDER BY key`),
      fileKeys: db.prepare(`SELECT key FROM records WHERE chain = ? AND type = '${FILE_TYPE}'`).pluck(),
      // Prepared once: every pull ends by asking it, and preparing it cost a one-record pull ~130 µs.
      sealed: db.prepare(`SELECT val FROM records WHERE type = 'sealed' AND val IS NOT NULL AND instr(val, X'6368756e6b73') > 0`).pluck(),
    };
    stmtCache.set(s, st);
  }
  return st;
}

/** The paths of every file the stream holds (with its value or not), in no order. */
export function filePaths(s: Stream): string[] {
  return stmts(s).fileKeys.all(Buffer.from(s.publicKey)) as string[];
}

interface Loaded {
  key: string;
  id: number;
  mod: number;
  header: FileHeader;
  body: Uint8Array;
  size: number;
  len: number;
}

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
    path: l.key,
    size: l.size,
    mime: l.header.mime ?? mimeForPath(l.key),
    time: l.header.time,
    chunked: l.header.enc === 'chunks',
    enc: l.header.enc,
    id: l.id,
    mod: l.mod,
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
  if (!r.val)
    throw new DrayerError(
      'NOT_FOUND',
      `Only the metadata of file "${key}" is held here (a metadata-only copy); open it with drayer cat or the node's web access, which fetch it from the stream's sources.`,
    );
  const { header, body } = parseFileValue(r.val);
  const size = header.size ?? (header.enc === 'chunks' ? 0 : smallContent(header, body).length);
  return { key, id: r.id, mod: r.mod, header, body, size, len: r.val.length };
}

function missingChunkError(key: string, hash: Uint8Array, index: number): DrayerError {
  return new DrayerError(
    'NOT_FOUND',
    `Chunk ${index} (${Buffer.from(hash).toString('hex')}) of file "${key}" is not here yet; sync the stream from a mirror that holds it, then try again.`,
  );
}

/**
 * The file's content bytes from `start` to `end` (inclusive), clamped to the file.
 * Big files stream one chunk at a time; a chunk that is not held fails with NOT_FOUND
 * (thrown at once when it is already known to be missing).
 */
export function openFileStream(s: Stream, p: string, range: { start?: number; end?: number } = {}): Readable {
  const f = loadFull(s, p);
  const { start, end } = byteRange(f.key, f.size, range);
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
  return chunkRange({
    size: f.size,
    chunkSize: f.header.chunkSize!,
    start,
    end,
    held: (i) => hasChunk(s, chunks[i]!),
    missing: (i) => missingChunkError(f.key, chunks[i]!, i),
    open: (i) => {
      const data = getChunk(s, chunks[i]!);
      if (!data) throw missingChunkError(f.key, chunks[i]!, i);
      if (data.length !== Math.min(f.header.chunkSize!, f.size - i * f.header.chunkSize!))
        throw new DrayerError('CORRUPT', `Chunk ${i} of file "${f.key}" has the wrong length; the stream file is damaged. Run drayer verify.`);
      return data;
    },
  });
}

/** A file's content stored as chunks of `chunkSize` bytes (the last one shorter), as chunkRange reads it. */
export interface ChunkedContent {
  size: number;
  chunkSize: number;
  /** the range, inclusive, already clamped and checked */
  start: number;
  end: number;
  held(i: number): boolean;
  missing(i: number): DrayerError;
  /** chunk i's content bytes, of its full length (throws when it is not held or does not check) */
  open(i: number): Uint8Array;
}

/**
 * The bytes from `start` to `end` of chunked content, one chunk opened at a time: only the chunks
 * the range touches are read (public chunks as stored, private ones opened: private-bigfile.ts). A
 * chunk already known to be missing fails at once; one that goes missing meanwhile fails the stream.
 */
export function chunkRange(c: ChunkedContent): Readable {
  const { size, chunkSize: cs, start, end } = c;
  const first = Math.floor(start / cs);
  const last = start <= end ? Math.floor(end / cs) : first - 1;
  for (let i = first; i <= last; i++) if (!c.held(i)) throw c.missing(i);
  let i = first;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      try {
        if (i > last) {
          this.push(null);
          return;
        }
        const data = c.open(i);
        const off = i * cs;
        const from = Math.max(0, start - off);
        const to = Math.min(data.length, size - off, end - off + 1);
        i++;
        this.push(from === 0 && to === data.length ? data : Buffer.from(data.buffer, data.byteOffset + from, to - from));
      } catch (e) {
        this.destroy(e as Error);
      }
    },
  });
}

/** Start and end (inclusive) of a byte range of a file of `size` bytes, clamped; a range that cannot be is INVALID_ARGUMENT. */
export function byteRange(key: string, size: number, range: { start?: number; end?: number }): { start: number; end: number } {
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? size - 1, size - 1);
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(end + 1) || end + 1 < 0) {
    throw new DrayerError('INVALID_ARGUMENT', `The byte range ${start}-${range.end ?? ''} is not valid for "${key}" (${size} bytes).`);
  }
  return { start, end };
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

/**
 * The clear chunk lists of a private stream's big files (sealed records whose value keeps the file
 * layout: core/private.ts sealedBox): what a mirror fetches and keeps, with or without the read key.
 */
export function sealedChunkLists(s: Stream): FileHeader[] {
  const out: FileHeader[] = [];
  const vals = stmts(s).sealed.all() as Buffer[];
  for (const val of vals) {
    try {
      const { header } = parseFileValue(val);
      if (header.enc === 'chunks') out.push(header);
    } catch {
      // a plain sealed record (its random nonce is no header length)
    }
  }
  return out;
}

/** The chunks of a big file this copy lacks, in file order, each once. Small files lack none. */
export function missingChunks(s: Stream, p: string): Uint8Array[] {
  const f = loadFull(s, p);
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const h of f.header.chunks ?? []) {
    const k = hkey(h);
    if (seen.has(k)) continue;
    seen.add(k);
    if (!hasChunk(s, h)) out.push(h);
  }
  return out;
}

/** Fill `buf` from `pos` (reads can come back short); fewer bytes only at the end of the file. */
export async function readFull(fh: fsp.FileHandle, buf: Buffer, pos: number): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await fh.read(buf, n, buf.length - n, pos + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}
