// Files a person picks or drops, with the paths they get in the stream: a file under its name, a
// folder's files under the folder's name and their relative paths (from a drag of a folder, or
// an <input webkitdirectory>). Dot-files are left out, as `drayer add` leaves them out. A folder
// holding a website gives its files to the top of the stream (folderChoice, asSite), and each file
// is hashed the way the node compares files (fileDigest), so only changed ones are sent.
import { DIGEST_PIECE, FOLDER_FILES_MAX, hex, siteRoots } from '../../app/core/site';
import { safeName } from './files';

export interface PickedFile {
  path: string;
  file: File;
}

const MAX_FILES = FOLDER_FILES_MAX;

function keep(path: string): boolean {
  return !path.split('/').some((seg) => seg.startsWith('.'));
}

function clean(path: string): string {
  return path.split('/').filter(Boolean).map(safeName).join('/');
}

/** From an <input type=file> (with or without webkitdirectory). */
export function fromFileList(list: FileList | File[]): PickedFile[] {
  const out: PickedFile[] = [];
  for (const file of Array.from(list)) {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    const path = clean(rel);
    if (path && keep(path)) out.push({ path, file });
  }
  return out;
}

function entryFile(e: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => e.file(resolve, reject));
}

function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0 || all.length > MAX_FILES) return resolve(all);
        all.push(...batch);
        next();
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  if (out.length >= MAX_FILES || entry.name.startsWith('.')) return;
  const path = prefix ? `${prefix}/${safeName(entry.name)}` : safeName(entry.name);
  if (entry.isFile) out.push({ path, file: await entryFile(entry as FileSystemFileEntry) });
  else if (entry.isDirectory) for (const child of await readAll(entry as FileSystemDirectoryEntry)) await walk(child, path, out);
}

/** From a drop: folders walked (where the browser gives entries), plain files otherwise. */
export async function fromDataTransfer(dt: DataTransfer): Promise<PickedFile[]> {
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  if (entries.length === 0 && loose.length === 0) loose.push(...Array.from(dt.files ?? []));
  const out: PickedFile[] = [];
  for (const e of entries) await walk(e, '', out);
  out.push(...fromFileList(loose));
  return out;
}

/** Does this drag carry files (not text or a link)? */
export function hasFiles(dt: DataTransfer | null): boolean {
  return !!dt && Array.from(dt.types ?? []).includes('Files');
}

/**
 * What a pick is, for a website: `site` when it is one folder with index.html at its top (its
 * files become the site's, keyed relative to it), `ask` when index.html lies only deeper (which
 * folder is the site? the person says, once), `plain` otherwise (files keep the folder's name).
 */
export type FolderChoice = { kind: 'plain' } | { kind: 'site'; folder: string; root: string } | { kind: 'ask'; folder: string; roots: string[] };

export function folderChoice(picked: PickedFile[]): FolderChoice {
  const first = picked[0]?.path ?? '';
  const slash = first.indexOf('/');
  if (slash <= 0) return { kind: 'plain' };
  const folder = first.slice(0, slash);
  if (!picked.every((f) => f.path.startsWith(`${folder}/`))) return { kind: 'plain' };
  const roots = siteRoots(picked.map((f) => f.path.slice(folder.length + 1)));
  if (roots.length === 0) return { kind: 'plain' };
  if (roots[0] === '') return { kind: 'site', folder, root: '' };
  return { kind: 'ask', folder, roots };
}

/** The files of `folder`/`root` keyed relative to it: a site's files at the top of the stream. */
export function asSite(picked: PickedFile[], folder: string, root: string): PickedFile[] {
  const from = root ? `${folder}/${root}/` : `${folder}/`;
  return picked.filter((f) => f.path.startsWith(from)).map((f) => ({ path: f.path.slice(from.length), file: f.file }));
}

/**
 * The content digest the node compares files by (app/core/site.ts): SHA-256 of the SHA-256s of each
 * 1 MiB piece, read a piece at a time (WebCrypto: the app's pages are secure contexts).
 */
export async function fileDigest(file: Blob): Promise<string> {
  if (!globalThis.crypto?.subtle) throw new Error('This browser cannot compare files here (no WebCrypto); open Drayer from its own address.');
  const sums = new Uint8Array(Math.ceil(file.size / DIGEST_PIECE) * 32);
  for (let i = 0, off = 0; off < file.size; i++, off += DIGEST_PIECE) {
    sums.set(new Uint8Array(await crypto.subtle.digest('SHA-256', await file.slice(off, off + DIGEST_PIECE).arrayBuffer())), i * 32);
  }
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', sums)));
}
