// Files in a private stream (DESIGN §8): a file up to SMALL_FILE_MAX is one sealed `file` record
// in the original value layout (header ‖ data, gzipped when smaller), path and all inside the seal;
// a bigger one is sealed chunk by chunk (private-bigfile.ts).
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { DrayerError } from '../core/errors.js';
import { bytesEqual } from '../core/crypto.js';
import { beginOp, endOp } from './chunks.js';
import { addSealedBig, loadSealedFile, openSealedStream, SEALED_CHUNKS_ENC, type Outcome } from './private-bigfile.js';
// through files.ts and store.ts, not the modules behind them: the bundle keeps those in their chunks (scripts/build-cli.mjs)
import { byteRange, FILE_TYPE, mimeForPath, newFilePath, normalizeFilePath, parseFileValue, SMALL_FILE_MAX, smallContent, smallFileValue } from './files.js';
import { nowMicros } from './store.js';
import type { StreamView } from './private-view.js';

export interface PrivateAddResult {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
}

interface Found {
  key: string;
  abs: string;
  size: number;
}

/** Files under `dir`, keyed relative to it (dotfiles and links left out, as a folder add does). */
async function walk(dir: string, prefix: string, out: Found[]): Promise<void> {
  for (const e of (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const abs = path.join(dir, e.name);
    const key = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) await walk(abs, key, out);
    else if (e.isFile()) out.push({ key: newFilePath(key), abs, size: (await fsp.stat(abs)).size });
  }
}

/** Add files (under their base name) and folders (their contents, keyed relative to the folder), sealed. */
export async function addPrivatePaths(v: StreamView, fsPaths: string[], opts: { signal?: AbortSignal } = {}): Promise<PrivateAddResult> {
  if (!v.stream.writable) throw new DrayerError('NOT_WRITABLE', `${v.stream.file} is a mirror: its secret key is not here, so files cannot be added to it.`);
  const byKey = new Map<string, Found>();
  for (const p of fsPaths) {
    const st = await fsp.stat(p);
    if (st.isDirectory()) {
      const found: Found[] = [];
      await walk(p, '', found);
      for (const f of found) byKey.set(f.key, f);
    } else if (st.isFile()) {
      const key = newFilePath(path.basename(p));
      byKey.set(key, { key, abs: p, size: st.size });
    } else throw new DrayerError('INVALID_ARGUMENT', `${p} is neither a file nor a folder, so it cannot be added.`);
  }
  const result: PrivateAddResult = { added: [], updated: [], removed: [], unchanged: 0 };
  await withFileOp(v, async (op, left) => {
    for (const f of byKey.values()) {
      const o = await addOne(v, f.key, { abs: f.abs, size: f.size }, mimeForPath(f.key), op, left, opts);
      if (o === 'unchanged') result.unchanged++;
      else result[o].push(f.key);
    }
  });
  return result;
}

/** Whether an operation's chunks may be orphans when it ends (set while a big file is unstored, or one was replaced). */
interface Left {
  orphans: boolean;
}

/**
 * One chunk operation (chunks.ts) around `work`: what a big file writes is pinned until its record
 * is stored; what a failure or a replaced big file leaves is collected when it ends.
 */
async function withFileOp<T>(v: StreamView, work: (op: number, left: Left) => Promise<T>): Promise<T> {
  const op = beginOp(v.stream);
  const left: Left = { orphans: false };
  try {
    return await work(op, left);
  } catch (e) {
    left.orphans = true;
    throw e;
  } finally {
    endOp(v.stream, op, left.orphans);
  }
}

/** Seal and store one file as `key`: small ones as one record, bigger ones chunk by chunk. */
async function addOne(
  v: StreamView,
  key: string,
  src: { abs: string; size: number } | { data: Uint8Array },
  mime: string,
  op: number,
  left: Left,
  opts: { signal?: AbortSignal; time?: number } = {},
): Promise<Outcome> {
  const size = 'data' in src ? src.data.length : src.size;
  if (size > SMALL_FILE_MAX) {
    const before = left.orphans;
    left.orphans = true; // until its record is stored, what it wrote is unreferenced
    const r = await addSealedBig(v, key, 'data' in src ? { data: src.data } : { abs: src.abs }, mime, op, opts);
    left.orphans = before || r.orphans;
    return r.outcome;
  }
  const data = 'data' in src ? src.data : await fsp.readFile(src.abs);
  const old = v.get(FILE_TYPE, key);
  if (old?.val) {
    try {
      const { header, body } = parseFileValue(old.val);
      if (header.enc === SEALED_CHUNKS_ENC)
        left.orphans = true; // a big file becomes a small one
      else if (header.mime === mime && bytesEqual(smallContent(header, body), data)) return 'unchanged';
    } catch {
      // an unreadable old value is replaced
    }
  }
  // µs, as public files: a file's own modification time, else now
  const time = opts.time ?? ('abs' in src ? Math.floor((await fsp.stat(src.abs)).mtimeMs * 1000) : nowMicros());
  v.put(FILE_TYPE, key, smallFileValue(key, data, mime, time));
  return old ? 'updated' : 'added';
}

/** Add or replace one file of a private stream, sealed, from bytes or a file on disk (an upload). */
export async function addPrivateFile(
  v: StreamView,
  relPath: string,
  src: { abs: string } | { data: Uint8Array },
  opts: { mime?: string; time?: number; signal?: AbortSignal } = {},
): Promise<{ path: string; changed: boolean }> {
  if (!v.stream.writable) throw new DrayerError('NOT_WRITABLE', `${v.stream.file} is a mirror: its secret key is not here, so files cannot be added to it.`);
  const key = newFilePath(relPath);
  const from = 'abs' in src ? { abs: src.abs, size: (await fsp.stat(src.abs)).size } : src;
  const o = await withFileOp(v, (op, left) => addOne(v, key, from, opts.mime ?? mimeForPath(key), op, left, opts));
  return { path: key, changed: o !== 'unchanged' };
}

/**
 * A private stream's file as a stream of its bytes from `start` to `end` (inclusive, clamped), with
 * its size and type; undefined when there is no such file. A big one opens only the chunks the
 * range touches.
 */
export async function openPrivateFile(
  v: StreamView,
  p: string,
  range: { start?: number; end?: number } = {},
): Promise<{ body: Readable; size: number; mime: string } | undefined> {
  const big = await loadSealedFile(v, p);
  if (big) return { body: openSealedStream(v, big, range), size: big.manifest.size, mime: big.manifest.mime };
  if (big === undefined) return undefined;
  const f = readPrivateFile(v, p)!;
  const { start, end } = byteRange(normalizeFilePath(p), f.data.length, range);
  return { body: Readable.from(start <= end ? [f.data.subarray(start, end + 1)] : []), size: f.data.length, mime: f.mime };
}

/** A private stream's file, whole; undefined when there is no such file. */
export function readPrivateFile(v: StreamView, p: string): { data: Buffer; mime: string } | undefined {
  const key = normalizeFilePath(p);
  const r = v.get(FILE_TYPE, key);
  if (!r) return undefined;
  if (!r.val)
    throw new DrayerError(
      'NOT_FOUND',
      `${v.stream.file} holds ${key} without its value (a metadata-only copy); private files are read from full copies in this version.`,
    );
  const { header, body } = parseFileValue(r.val);
  return { data: smallContent(header, body), mime: header.mime ?? mimeForPath(key) };
}
