// Files a person picks or drops, with the paths they get in the stream: a file under its name, a
// folder's files under the folder's name and their relative paths (from a drag of a folder, or
// an <input webkitdirectory>). Dot-files are left out, as `drayer add` leaves them out.
import { safeName } from './files';

export interface PickedFile {
  path: string;
  file: File;
}

const MAX_FILES = 10_000;

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
