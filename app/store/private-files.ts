// Files in a private stream (DESIGN §8): a file up to SMALL_FILE_MAX is one sealed `file` record
// in the original value layout (header ‖ data, gzipped when smaller), path and all inside the seal;
// a bigger one is sealed chunk by chunk (private-bigfile.ts).
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { DrayerError } from '../core/errors.js';
import { bytesEqual } from '../core/crypto.js';
import { beginOp, endOp } from './chunks.js';
import { addSealedBig, loadSealedFile, openSealedStream } from './private-bigfile.js';
// through files.ts and store.ts, not the modules behind them: the bundle keeps those in their chunks (scripts/build-cli.mjs)
import { FILE_TYPE, mimeForPath, newFilePath, normalizeFilePath, parseFileValue, SMALL_FILE_MAX, smallContent, smallFileValue } from './files.js';
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
  // One chunk operation (chunks.ts) for the whole add: what a big file writes is pinned until its
  // record is stored; what a failure or a replaced big file leaves is collected when it ends.
  const op = beginOp(v.stream);
  let orphans = false;
  try {
    for (const f of byKey.values()) {
      const mime = mimeForPath(f.key);
      if (f.size > SMALL_FILE_MAX) {
        const before: boolean = orphans;
        orphans = true; // until its record is stored, what it wrote is unreferenced
        const r = await addSealedBig(v, f.key, { abs: f.abs }, mime, op, opts);
        orphans = before || r.orphans;
        if (r.outcome === 'unchanged') result.unchanged++;
        else result[r.outcome].push(f.key);
        continue;
      }
      const data = await fsp.readFile(f.abs);
      const old = v.get(FILE_TYPE, f.key);
      if (old?.val) {
        try {
          const { header, body } = parseFileValue(old.val);
          if (header.enc === 'sealed-chunks')
            orphans = true; // a big file becomes a small one
          else if (bytesEqual(smallContent(header, body), data)) {
            result.unchanged++;
            continue;
          }
        } catch {
          // an unreadable old value is replaced
        }
      }
      v.put(FILE_TYPE, f.key, smallFileValue(f.key, data, mime, Math.floor(nowMicros() / 1000)));
      (old ? result.updated : result.added).push(f.key);
    }
  } catch (e) {
    orphans = true;
    throw e;
  } finally {
    endOp(v.stream, op, orphans);
  }
  return result;
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
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? f.data.length - 1, f.data.length - 1);
  if (!Number.isSafeInteger(start) || start < 0)
    throw new DrayerError('INVALID_ARGUMENT', `The byte range ${start}-${range.end ?? ''} is not valid for "${p}" (${f.data.length} bytes).`);
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
