// Adding files to a stream and deleting them: small files batched into few transactions, big ones
// chunked from disk or memory in constant memory through a ChunkStore worker, each operation
// registered with chunks.ts so a failure, a cancel or a kill leaves no chunk behind for long.
import * as fsp from 'node:fs/promises';
import { CHUNK_SIZE, ChunkStore } from './chunk-writer.js';
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { LIMITS } from '../core/record.js';
import { FOLDER_FILES_MAX, inFolder } from '../core/site.js';
import { beginOp, endOp } from './chunks.js';
import { filePaths, readFull } from './file-read.js';
import { isCompatible } from './posts.js';
import {
  chunkedNote,
  COMPATIBLE_FILE_MAX,
  encodeFileValue,
  FILE_TYPE,
  mimeForPath,
  newFilePath,
  normalizeFilePath,
  parseFileValue,
  SMALL_FILE_MAX,
  smallContent,
  smallFileValue,
  type FileHeader,
} from './file-value.js';
import type { Stream } from './store.js';

/** Small files queued for one Stream.batch are flushed at this many bytes (bounds memory). */
const BATCH_FLUSH_BYTES = 32 * 1024 * 1024;
const BATCH_FLUSH_FILES = 2000;

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

/** The whole file when it is at most `max` bytes (reading one byte more to see growth), else null. */
async function readSmall(fh: fsp.FileHandle, expected: number, max: number): Promise<Uint8Array | null> {
  const buf = Buffer.allocUnsafe(expected + 1);
  const n = await readFull(fh, buf, 0);
  if (n <= expected) return buf.subarray(0, n);
  const big = Buffer.allocUnsafe(max + 1);
  const m = await readFull(fh, big, 0);
  return m <= max ? big.subarray(0, m) : null;
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

// ---------- writing ----------

export type Outcome = 'added' | 'updated' | 'unchanged';

function cancelledError(key: string): DrayerError {
  return new DrayerError(
    'CANCELLED',
    `Adding ${key} was cancelled: it was not added, and what had been written of it is removed. Files added before it are kept; run the same add again to finish.`,
  );
}

/**
 * State shared by the files of one operation: small values wait here for one Stream.batch; its
 * chunk operation (see beginOp) is registered before the first chunk is written or orphaned.
 */
export class Ingest {
  private pending: { key: string; val: Uint8Array; outcome: Outcome }[] = [];
  private pendingBytes = 0;
  /** chunks may now be orphans: a big file was replaced or removed, or one's writing failed */
  orphans = false;
  private op: number | undefined;
  /** files up to this size are one record: larger in a stream compatible with the original Drayer, which reads no chunks */
  private readonly inlineMax: number;
  constructor(
    readonly s: Stream,
    private readonly done: (key: string, o: Outcome) => void,
    private readonly signal?: AbortSignal,
  ) {
    if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: its secret key is not here, so files cannot be added to it.`);
    this.inlineMax = isCompatible(s) ? COMPATIBLE_FILE_MAX : SMALL_FILE_MAX;
  }

  /** the size up to which a file is stored in one record (the original Drayer's layout) */
  get inlineLimit(): number {
    return this.inlineMax;
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
      const same =
        h.size === w.size &&
        h.chunkSize === CHUNK_SIZE &&
        (h.mime ?? mimeForPath(key)) === mime &&
        h.chunks!.length === w.hashes.length &&
        h.chunks!.every((c, i) => bytesEqual(c, w.hashes[i]!));
      if (same) return this.finish(key, 'unchanged');
      this.opId();
      this.orphans = true;
    }
    const header = { enc: 'chunks', time, mime, size: w.size, chunkSize: CHUNK_SIZE, chunks: w.hashes };
    const val = encodeFileValue(header, chunkedNote(key, w.size));
    if (val.length > LIMITS.valueBytes) {
      throw new DrayerError(
        'INVALID_ARGUMENT',
        `"${key}" is too big for one Drayer file (at most about ${Math.floor(LIMITS.valueBytes / 34 / 1024)} GiB); split it.`,
      );
    }
    this.flush(); // keep record order the same as file order
    this.s.put(FILE_TYPE, key, val);
    return this.finish(key, old === undefined ? 'added' : 'updated');
  }

  /** Chunk in-memory content (addBytes of more than 1 MiB); the caller's bytes are copied, never taken over. */
  async bytesChunked(key: string, data: Uint8Array, mime: string, time: number): Promise<Outcome> {
    return this.chunked(
      key,
      async (w) => {
        for (let off = 0; off < data.length; off += CHUNK_SIZE) {
          this.check(key);
          const part = data.subarray(off, off + CHUNK_SIZE);
          const buf = w.take();
          buf.set(part);
          await w.add(buf, part.length);
        }
        await w.flush();
      },
      mime,
      time,
    );
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
      if (st.size <= this.inlineMax) {
        const data = await readSmall(fh, st.size, this.inlineMax);
        if (data) {
          const o = this.small(key, data, mime, time);
          onBytes?.(data.length);
          return o;
        }
        // it grew past the inline limit since stat: take the chunked path
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

export function fsError(e: unknown, abs: string): DrayerError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return new DrayerError('NOT_FOUND', `${abs} does not exist.`, { cause: e });
  if (code === 'EISDIR')
    return new DrayerError('INVALID_ARGUMENT', `${abs} is a folder; add folders with importFolder (drayer add works with both).`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM')
    return new DrayerError('IO', `${abs} cannot be read (permission denied); check its permissions and try again.`, { cause: e });
  return new DrayerError('IO', `Could not read ${abs}: ${(e as Error).message}.`, { cause: e });
}

/** Add or replace the file `relPath` with the content of the file at `source` on disk. */
export async function addFile(
  s: Stream,
  relPath: string,
  source: string,
  opts: { mime?: string; signal?: AbortSignal } = {},
): Promise<{ path: string; changed: boolean }> {
  const key = newFilePath(relPath);
  let outcome: Outcome = 'unchanged';
  const ing = new Ingest(s, (_k, o) => (outcome = o), opts.signal);
  await ing.run(() => ing.file(key, source, opts.mime ?? mimeForPath(key)));
  return { path: key, changed: outcome !== 'unchanged' };
}

/** Add or replace the file `relPath` with `data` (time: mtime in µs, default now). */
export async function addBytes(
  s: Stream,
  relPath: string,
  data: Uint8Array,
  opts: { mime?: string; time?: number; signal?: AbortSignal } = {},
): Promise<{ path: string; changed: boolean }> {
  const key = newFilePath(relPath);
  const mime = opts.mime ?? mimeForPath(key);
  const time = Math.round(opts.time ?? Date.now() * 1000);
  let outcome: Outcome = 'unchanged';
  const ing = new Ingest(s, (_k, o) => (outcome = o), opts.signal);
  await ing.run(async () => {
    ing.check(key);
    if (data.length <= ing.inlineLimit) ing.small(key, data, mime, time);
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

/**
 * Delete several files in one go (their chunks collected once): the listed `paths`, or every file
 * in `folder`. Returns the paths deleted; files already gone are skipped.
 */
export function deleteFiles(s: Stream, what: { paths?: unknown; folder?: unknown }): string[] {
  const keys = filesToDelete(filePaths(s), what);
  if (keys.length === 0) return [];
  const ing = new Ingest(s, () => {});
  try {
    ing.remove(keys);
  } finally {
    ing.end();
  }
  return keys;
}

/** Which of the `held` files a delete of `what` (listed paths, or a folder) removes, sorted; held ones only. */
export function filesToDelete(held: string[], what: { paths?: unknown; folder?: unknown }): string[] {
  let keys: string[];
  if (what.folder !== undefined) {
    if (typeof what.folder !== 'string' || what.folder.replace(/\/+$/, '') === '')
      throw new DrayerError('INVALID_ARGUMENT', 'Name the folder to remove, like "css".');
    const dir = normalizeFilePath(what.folder.replace(/\/+$/, ''));
    keys = held.filter((k) => inFolder(k, dir));
  } else {
    if (!Array.isArray(what.paths)) throw new DrayerError('INVALID_ARGUMENT', 'Give the paths of the files to delete, or a folder.');
    if (what.paths.length > FOLDER_FILES_MAX) throw new DrayerError('INVALID_ARGUMENT', `At most ${FOLDER_FILES_MAX} files can be deleted at once.`);
    const has = new Set(held);
    keys = [...new Set(what.paths.map((p) => normalizeFilePath(p as string)))].filter((k) => has.has(k));
  }
  return keys.sort();
}
