// Files in a private stream (DESIGN §8), as far as this version goes: a file up to SMALL_FILE_MAX
// is one sealed `file` record in the original value layout (header ‖ data, gzipped when smaller),
// path and all inside the seal. Big private files (each chunk sealed on its own) are a later step:
// adding one is refused, never stored as clear chunks.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DrayerError } from '../core/errors.js';
import { bytesEqual } from '../core/crypto.js';
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

function tooBig(f: Found): DrayerError {
  return new DrayerError(
    'INVALID_ARGUMENT',
    `${f.abs} is ${f.size} bytes; a private stream holds files up to ${SMALL_FILE_MAX / 1024 / 1024} MiB in this version (big private files, sealed chunk by chunk, come later). Nothing was added.`,
  );
}

/** Add files (under their base name) and folders (their contents, keyed relative to the folder), sealed. */
export async function addPrivatePaths(v: StreamView, fsPaths: string[]): Promise<PrivateAddResult> {
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
  // every size is checked before anything is written: an add is all or nothing
  for (const f of byKey.values()) if (f.size > SMALL_FILE_MAX) throw tooBig(f);
  const result: PrivateAddResult = { added: [], updated: [], removed: [], unchanged: 0 };
  for (const f of byKey.values()) {
    const data = await fsp.readFile(f.abs);
    if (data.length > SMALL_FILE_MAX) throw tooBig({ ...f, size: data.length });
    const old = v.get(FILE_TYPE, f.key);
    if (old?.val) {
      try {
        const { header, body } = parseFileValue(old.val);
        if (bytesEqual(smallContent(header, body), data)) {
          result.unchanged++;
          continue;
        }
      } catch {
        // an unreadable old value is replaced
      }
    }
    v.put(FILE_TYPE, f.key, smallFileValue(f.key, data, mimeForPath(f.key), Math.floor(nowMicros() / 1000)));
    (old ? result.updated : result.added).push(f.key);
  }
  return result;
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
