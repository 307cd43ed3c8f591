// Folders and streams: adding a folder's files (walked safely: no symlink out of it, each folder
// once), making a stream mirror a folder, and what a folder update must send (folderDiff).
import type * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { isDrayerError, DrayerError } from '../core/errors.js';
import type { FolderDiff, FolderFile } from '../core/shapes.js';
import { DIGEST_PIECE, FOLDER_FILES_MAX, inFolder, isAppMedia } from '../core/site.js';
import { fsError, Ingest } from './file-add.js';
import { filePaths, openFileStream, statFile } from './file-read.js';
import { FILE_TYPE, mimeForPath, newFilePath, normalizeFilePath } from './file-value.js';
import type { Readable } from 'node:stream';
import type { Stream } from './store.js';

export interface ImportProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
}
export interface ImportResult {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
  /** present but not imported (unreadable, or a name that cannot be a stream path); never removed */
  skipped?: string[];
}

// ---------- folders ----------

interface Found {
  key: string;
  abs: string;
  size: number;
}

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
  s: Stream,
  found: Found[],
  removeUnder: string | null,
  onProgress: ((p: ImportProgress) => void) | undefined,
  skipped: string[],
  signal?: AbortSignal,
): Promise<ImportResult> {
  const result: ImportResult = { added: [], updated: [], removed: [], unchanged: 0, skipped };
  const ing = new Ingest(
    s,
    (key, o) => {
      if (o === 'added') result.added.push(key);
      else if (o === 'updated') result.updated.push(key);
      else result.unchanged++;
    },
    signal,
  );
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
      for (const k of filePaths(s)) {
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
  s: Stream,
  dir: string,
  opts: { prefix?: string; onProgress?: (p: ImportProgress) => void; includeDotfiles?: boolean; signal?: AbortSignal } = {},
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
export async function addPaths(
  s: Stream,
  fsPaths: string[],
  opts: { onProgress?: (p: ImportProgress) => void; signal?: AbortSignal } = {},
): Promise<ImportResult> {
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
async function contentDigest(side: FileSide, key: string): Promise<string> {
  const hash = side.recordHash(key);
  const cacheKey = hash ? Buffer.from(hash).toString('hex') : '';
  const hit = cacheKey ? digestCache.get(cacheKey) : undefined;
  if (hit) return hit;
  const outer = createHash('sha256');
  let piece = createHash('sha256');
  let inPiece = 0;
  for await (const part of await side.open(key)) {
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
/** What folderDiff reads of a stream's files: a public stream's as stored (the default), a private one's through its reader. */
export interface FileSide {
  stat(key: string): { size: number } | undefined | Promise<{ size: number } | undefined>;
  open(key: string): Readable | Promise<Readable>;
  /** the stored record's hash: a digest is kept by it */
  recordHash(key: string): Uint8Array | undefined;
  paths(): string[];
}

function publicSide(s: Stream): FileSide {
  return {
    stat: (key) => statFile(s, key),
    open: (key) => openFileStream(s, key),
    recordHash: (key) => s.get(FILE_TYPE, key)?.hash,
    paths: () => filePaths(s),
  };
}

export async function folderDiff(s: Stream, under: string, files: unknown, side: FileSide = publicSide(s)): Promise<FolderDiff> {
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: its secret key is not here, so it cannot be updated from a folder.`);
  const dir = under === '' ? '' : normalizeFilePath(under.replace(/\/+$/, ''));
  if (!Array.isArray(files)) throw new DrayerError('INVALID_ARGUMENT', 'A folder update lists its files: path, size and hash of each.');
  if (files.length > FOLDER_FILES_MAX)
    throw new DrayerError(
      'INVALID_ARGUMENT',
      `A folder update takes at most ${FOLDER_FILES_MAX} files; this folder has ${files.length}. Update a smaller folder.`,
    );
  const out: FolderDiff = { add: [], change: [], remove: [], unchanged: 0 };
  const seen = new Set<string>();
  for (const f of files as Partial<FolderFile>[]) {
    const key = normalizeFilePath(f?.path as string);
    if (!Number.isSafeInteger(f.size) || f.size! < 0) throw new DrayerError('INVALID_ARGUMENT', `The size of "${key}" must be a number of bytes.`);
    if (typeof f.hash !== 'string' || !/^[0-9a-f]{64}$/.test(f.hash))
      throw new DrayerError('INVALID_ARGUMENT', `The hash of "${key}" must be 64 hex digits (SHA-256 of its 1 MiB pieces' SHA-256s).`);
    if (!inFolder(key, dir)) throw new DrayerError('INVALID_ARGUMENT', `"${key}" is not in the folder "${dir}" being updated.`);
    if (seen.has(key)) throw new DrayerError('INVALID_ARGUMENT', `"${key}" is listed twice.`);
    seen.add(key);
    let held: { size: number } | undefined;
    try {
      held = await side.stat(key);
    } catch {
      held = undefined; // a damaged value is simply replaced
    }
    if (!held) out.add.push(key);
    else if (held.size !== f.size || (await contentDigest(side, key).catch(() => '')) !== f.hash) out.change.push(key);
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
  for (const k of side.paths()) {
    if (seen.has(k) || !inFolder(k, dir) || isAppMedia(k)) continue;
    const top = topOf(k);
    if (top === null || tops.has(top)) out.remove.push(k);
  }
  out.remove.sort();
  return out;
}
