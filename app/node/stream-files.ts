// A stream's files as the API handlers use them, one door for both kinds of stream (DESIGN §8):
// a public stream's as stored, a private one's through its reader (store/private-files.ts), sealed
// on the way in and opened on the way out. A private stream held without its read key (a blind
// mirror) has no files to show or change here: its file records are sealed like the rest.
import type { Readable } from 'node:stream';
import { encode } from '@msgpack/msgpack';
import { DrayerError } from '../core/errors.js';
import {
  addBytes,
  addFile,
  deleteFile,
  filePaths,
  filesToDelete,
  FILE_TYPE,
  listFiles,
  mimeForPath,
  normalizeFilePath,
  openFileStream,
  parseFileValue,
  smallContent,
  statFile,
  type FileSide,
} from '../store/files.js';
import { isPrivate, type StreamView } from '../store/private-view.js';
import type { Stream, StreamInfo } from '../store/store.js';
import { readerOf } from './private-streams.js';

export interface StreamFiles extends FileSide {
  /** a private stream held without its read key: nothing of its files can be read or written here */
  sealed: boolean;
  stat(key: string): Promise<{ size: number; mime: string } | undefined>;
  paths(): string[];
  open(key: string, range?: { start?: number; end?: number }): Promise<Readable>;
  list(): { path: string; size: number; mime: string; time: number }[];
  add(relPath: string, src: { abs: string } | { data: Uint8Array }, opts: { mime?: string; time?: number }): Promise<{ path: string; changed: boolean }>;
  remove(key: string): boolean;
  info(): StreamInfo;
  putInfo(info: StreamInfo): void;
}

function sealedError(s: Stream): DrayerError {
  return new DrayerError(
    'SEALED',
    `The files of ${s.file} are sealed: no read key. This copy is a blind mirror of a private stream (it syncs and serves it without reading it); follow it with its read link (drayer:…#r=…) to read them.`,
  );
}

function publicFiles(s: Stream): StreamFiles {
  return {
    sealed: false,
    stat: async (key) => statFile(s, key),
    open: async (key, range) => openFileStream(s, key, range),
    recordHash: (key) => s.get(FILE_TYPE, normalizeFilePath(key))?.hash,
    paths: () => filePaths(s),
    list: () => listFiles(s).map((f) => ({ path: f.path, size: f.size, mime: f.mime, time: f.time })),
    add: (relPath, src, opts) => ('abs' in src ? addFile(s, relPath, src.abs, opts) : addBytes(s, relPath, src.data, opts)),
    remove: (key) => deleteFile(s, key),
    info: () => s.info(),
    putInfo: (info) => void s.put('drayer', 'info', encode(info)),
  };
}

/** A private stream's files as a reader lists them (listFiles for public ones), sorted by path; unreadable ones left out. */
function listPrivate(v: StreamView): { path: string; size: number; mime: string; time: number }[] {
  const out: { path: string; size: number; mime: string; time: number }[] = [];
  for (const r of v.ofType(FILE_TYPE)) {
    if (!r.val) continue;
    try {
      const { header, body } = parseFileValue(r.val);
      const size = header.size ?? smallContent(header, body).length;
      out.push({ path: r.key, size, mime: header.mime ?? mimeForPath(r.key), time: header.time });
    } catch {
      // a damaged value: not listed, as listFiles does
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// store/private-files.ts loads when a private stream's file is read or written, not at start (test/cli-bundle.test.ts)
const sealing = () => import('../store/private-files.js');

function privateFiles(v: StreamView): StreamFiles {
  const opened = async (key: string, range?: { start?: number; end?: number }) => (await sealing()).openPrivateFile(v, normalizeFilePath(key), range);
  return {
    sealed: false,
    stat: async (key) => {
      const f = await opened(key, { start: 0, end: -1 });
      f?.body.destroy();
      return f && { size: f.size, mime: f.mime };
    },
    open: async (key, range) => {
      const f = await opened(key, range);
      if (!f) throw new DrayerError('NOT_FOUND', `There is no file "${normalizeFilePath(key)}" in this stream.`);
      return f.body;
    },
    recordHash: (key) => v.locate(FILE_TYPE, normalizeFilePath(key))?.hash,
    paths: () => v.ofType(FILE_TYPE).map((r) => r.key),
    list: () => listPrivate(v),
    add: async (relPath, src, opts) => (await sealing()).addPrivateFile(v, relPath, src, opts),
    remove: (key) => v.delete(FILE_TYPE, normalizeFilePath(key)),
    info: () => v.info(),
    putInfo: (info) => void v.put('drayer', 'info', encode(info)),
  };
}

function blindFiles(s: Stream): StreamFiles {
  const refuse = (): never => {
    throw sealedError(s);
  };
  return {
    sealed: true,
    stat: async () => refuse(),
    open: async () => refuse(),
    recordHash: () => undefined,
    paths: () => [],
    list: () => [],
    add: async () => refuse(),
    remove: () => refuse(),
    info: () => ({}),
    putInfo: () => refuse(),
  };
}

/** The files of `s` as this computer can use them. */
export function filesOf(s: Stream): StreamFiles {
  const v = readerOf(s);
  if (v) return privateFiles(v);
  return isPrivate(s) ? blindFiles(s) : publicFiles(s);
}

/** Delete several files of a private stream (deleteFiles for public ones): the listed paths, or a folder. Returns those deleted. */
export function deleteSealedFiles(files: StreamFiles, what: { paths?: unknown; folder?: unknown }): string[] {
  return filesToDelete(files.paths(), what).filter((k) => files.remove(k));
}
