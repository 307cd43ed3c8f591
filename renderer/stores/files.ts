// Files of streams: uploads from the browser (small files in one call, big ones in ordered
// chunks), images read through the node into blob: URLs (cached, bounded), text previews,
// deletes, attachments and avatars. Only this store talks to the transport about files.
import { create } from 'zustand';
import { transport } from '../api';
import { PUT_FILE_MAX, type FolderDiff } from '../../app/node/api';
import { attachmentPath, imageMarkdown, inlineImageType } from '../lib/files';
import { fileDigest, type PickedFile } from '../lib/drop';
import { messageOf } from './errors';
import { useStreams } from './streams';

/** Images bigger than this are not read for an inline preview. */
export const IMAGE_PREVIEW_MAX = 24 * 1024 * 1024;
/** Text previews read at most this much. */
export const TEXT_PREVIEW_MAX = 256 * 1024;
/** Blob URLs kept at once, and their bytes; beyond either the least recently asked for is revoked. */
const IMAGE_CACHE = 300;
const IMAGE_CACHE_BYTES = 256 * 1024 * 1024;

export interface ImageState {
  url: string | null;
  error: string | null;
}

export interface UploadProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  current: string;
  /** comparing with what the stream holds (hashing), before anything is sent */
  comparing?: boolean;
}

/** A folder compared with the stream: its files as they will be stored, and what differs. */
export interface FolderPlan {
  /** the stream folder it stands for ('' for the top: a site) */
  under: string;
  files: PickedFile[];
  diff: FolderDiff;
}

export interface FolderResult {
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  failed: { path: string; message: string }[];
}

export interface UploadResult {
  stored: string[];
  failed: { path: string; message: string }[];
}

interface FilesState {
  images: Record<string, ImageState>;
  uploads: Record<string, UploadProgress | undefined>;
  loadImage(publicKey: string, path: string): Promise<void>;
  readText(publicKey: string, path: string): Promise<{ text: string; truncated: boolean }>;
  upload(publicKey: string, files: PickedFile[]): Promise<UploadResult>;
  remove(publicKey: string, path: string): Promise<void>;
  /** remove a folder whole; resolves to how many files went */
  removeFolder(publicKey: string, folder: string): Promise<number>;
  /** hash the picked files and ask the node which differ from what the stream holds (nothing is sent yet) */
  compareFolder(publicKey: string, files: PickedFile[], under: string): Promise<FolderPlan>;
  /** send only the new and changed files of a plan; with `remove`, delete the files that left the folder */
  applyFolder(publicKey: string, plan: FolderPlan, opts: { remove: boolean }): Promise<FolderResult>;
  /** upload images into media/ and give the markdown that shows each */
  attach(publicKey: string, files: File[]): Promise<string[]>;
  setAvatar(publicKey: string, file: File | null): Promise<void>;
}

export const imageKey = (publicKey: string, path: string) => `${publicKey}\n${path}`;

export function blobToBase64(b: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => {
      const s = String(r.result);
      resolve(s.slice(s.indexOf(',') + 1));
    };
    r.onerror = () => reject(r.error ?? new Error('The file could not be read.'));
    r.readAsDataURL(b);
  });
}

function base64ToBytes(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

class TooBig extends Error {}

/** Up to `max` bytes of a file from its start; `whole` refuses a file bigger than that (TooBig). */
async function readBytes(
  publicKey: string,
  path: string,
  max: number,
  whole = false,
): Promise<{ parts: Uint8Array<ArrayBuffer>[]; size: number; mime: string }> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  let size = 0;
  let mime = '';
  do {
    const r = await transport().call('readFile', { publicKey, path, offset, length: max - offset });
    size = r.size;
    mime = r.mime;
    if (whole && size > max) throw new TooBig();
    const b = base64ToBytes(r.data);
    if (b.length === 0) break;
    parts.push(b);
    offset += b.length;
  } while (offset < Math.min(size, max));
  return { parts, size, mime };
}

/** One file up: a single call when small, else begin / chunks in order / finish. */
async function uploadOne(publicKey: string, f: PickedFile, onBytes: (n: number) => void): Promise<void> {
  const t = transport();
  const time = f.file.lastModified > 0 ? f.file.lastModified * 1000 : undefined;
  if (f.file.size <= PUT_FILE_MAX) {
    await t.call('putFile', { publicKey, path: f.path, data: await blobToBase64(f.file), mime: f.file.type || undefined, time });
    onBytes(f.file.size);
    return;
  }
  const { uploadId, chunkBytes } = await t.call('uploadBegin', { publicKey, path: f.path, size: f.file.size, mime: f.file.type || undefined, time });
  try {
    for (let off = 0; off < f.file.size; off += chunkBytes) {
      const part = f.file.slice(off, off + chunkBytes);
      await t.call('uploadChunk', { uploadId, offset: off, data: await blobToBase64(part) });
      onBytes(Math.min(f.file.size, off + chunkBytes));
    }
    await t.call('uploadFinish', { uploadId });
  } catch (e) {
    void t.call('uploadCancel', { uploadId }).catch(() => {});
    throw e;
  }
}

/** An avatar the size it is shown at most (256 px square, centre crop), so streams stay small. */
async function avatarBlob(file: File): Promise<Blob> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new Error('That file is not an image this app can read. Choose a PNG, JPEG, GIF or WebP picture.');
  }
  const side = Math.min(256, bmp.width, bmp.height);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = side;
  const ctx = canvas.getContext('2d')!;
  const crop = Math.min(bmp.width, bmp.height);
  ctx.drawImage(bmp, (bmp.width - crop) / 2, (bmp.height - crop) / 2, crop, crop, 0, 0, side, side);
  bmp.close();
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/webp', 0.9));
  return blob ?? (await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png')))!;
}

const lru: string[] = [];
const sizes = new Map<string, number>();
let cachedBytes = 0;

export const useFiles = create<FilesState>()((set, get) => ({
  images: {},
  uploads: {},
  async loadImage(publicKey, path) {
    const key = imageKey(publicKey, path);
    const i = lru.indexOf(key);
    if (i >= 0) lru.splice(i, 1);
    lru.push(key);
    if (get().images[key]) return;
    set({ images: { ...get().images, [key]: { url: null, error: null } } });
    let state: ImageState;
    try {
      const { parts, mime } = await readBytes(publicKey, path, IMAGE_PREVIEW_MAX, true);
      const type = inlineImageType(mime);
      const blob = type ? new Blob(parts, { type }) : null;
      state = blob ? { url: URL.createObjectURL(blob), error: null } : { url: null, error: 'not an image' };
      if (blob) {
        sizes.set(key, blob.size);
        cachedBytes += blob.size;
      }
    } catch (e) {
      state = { url: null, error: e instanceof TooBig ? 'too big to preview' : messageOf(e) };
    }
    const images = { ...get().images, [key]: state };
    while (lru.length > IMAGE_CACHE || (cachedBytes > IMAGE_CACHE_BYTES && lru.length > 1)) {
      const old = lru[0] === key ? lru.splice(1, 1)[0]! : lru.shift()!;
      const u = images[old]?.url;
      if (u) URL.revokeObjectURL(u);
      cachedBytes -= sizes.get(old) ?? 0;
      sizes.delete(old);
      delete images[old];
    }
    set({ images });
  },
  async readText(publicKey, path) {
    const { parts, size } = await readBytes(publicKey, path, TEXT_PREVIEW_MAX);
    const text = new TextDecoder('utf-8', { fatal: false }).decode(await new Blob(parts).arrayBuffer());
    return { text, truncated: size > TEXT_PREVIEW_MAX };
  },
  async upload(publicKey, files) {
    const progress: UploadProgress = { files: 0, filesTotal: files.length, bytes: 0, bytesTotal: files.reduce((n, f) => n + f.file.size, 0), current: '' };
    const publish = () => set({ uploads: { ...get().uploads, [publicKey]: { ...progress } } });
    const result: UploadResult = { stored: [], failed: [] };
    try {
      for (const f of files) {
        progress.current = f.path;
        publish();
        const base = progress.bytes;
        try {
          await uploadOne(publicKey, f, (n) => {
            progress.bytes = base + n;
            publish();
          });
          result.stored.push(f.path);
        } catch (e) {
          result.failed.push({ path: f.path, message: messageOf(e) });
          // A full disk or a stream that cannot be written fails the same way for every file.
          if (/disk is full|NOT_WRITABLE|someone else's/i.test(messageOf(e))) break;
        }
        progress.files++;
        progress.bytes = base + f.file.size;
        publish();
      }
    } finally {
      const uploads = { ...get().uploads };
      delete uploads[publicKey];
      set({ uploads });
      await useStreams
        .getState()
        .loadDetails(publicKey)
        .catch(() => {});
    }
    return result;
  },
  async remove(publicKey, path) {
    await transport().call('deleteFile', { publicKey, path });
    await useStreams.getState().loadDetails(publicKey);
  },
  async removeFolder(publicKey, folder) {
    const { removed } = await transport().call('deleteFiles', { publicKey, folder });
    await useStreams.getState().loadDetails(publicKey);
    return removed.length;
  },
  async compareFolder(publicKey, files, under) {
    const progress: UploadProgress = {
      files: 0,
      filesTotal: files.length,
      bytes: 0,
      bytesTotal: files.reduce((n, f) => n + f.file.size, 0),
      current: '',
      comparing: true,
    };
    const publish = () => set({ uploads: { ...get().uploads, [publicKey]: { ...progress } } });
    try {
      const entries = [];
      for (const f of files) {
        progress.current = f.path;
        publish();
        entries.push({ path: f.path, size: f.file.size, hash: await fileDigest(f.file) });
        progress.files++;
        progress.bytes += f.file.size;
      }
      const diff = await transport().call('folderDiff', { publicKey, under, files: entries });
      return { under, files, diff };
    } finally {
      const uploads = { ...get().uploads };
      delete uploads[publicKey];
      set({ uploads });
    }
  },
  async applyFolder(publicKey, plan, { remove }) {
    const send = new Set([...plan.diff.add, ...plan.diff.change]);
    const r =
      send.size > 0
        ? await get().upload(
            publicKey,
            plan.files.filter((f) => send.has(f.path)),
          )
        : { stored: [], failed: [] };
    const stored = new Set(r.stored);
    let removed = 0;
    if (remove && plan.diff.remove.length > 0 && r.failed.length === 0) {
      // only once everything new is in: a failed update never leaves the site with pages missing
      removed = (await transport().call('deleteFiles', { publicKey, paths: plan.diff.remove })).removed.length;
      await useStreams
        .getState()
        .loadDetails(publicKey)
        .catch(() => {});
    }
    return {
      added: plan.diff.add.filter((p) => stored.has(p)).length,
      changed: plan.diff.change.filter((p) => stored.has(p)).length,
      removed,
      unchanged: plan.diff.unchanged,
      failed: r.failed,
    };
  },
  async attach(publicKey, files) {
    const out: string[] = [];
    for (const file of files) {
      if (!inlineImageType(file.type)) throw new Error(`${file.name} is not a picture this app shows (PNG, JPEG, GIF, WebP or AVIF).`);
      const path = attachmentPath(file.name);
      await uploadOne(publicKey, { path, file }, () => {});
      out.push(imageMarkdown(file.name, path));
    }
    return out;
  },
  async setAvatar(publicKey, file) {
    const data = file ? await blobToBase64(await avatarBlob(file)) : null;
    await transport().call('setAvatar', { publicKey, data });
    await Promise.all([
      useStreams.getState().load(),
      useStreams
        .getState()
        .loadDetails(publicKey)
        .catch(() => {}),
    ]);
  },
}));

/** The editor's `attach` for posts of one stream (the composer and the in-place editor): pictures become files of the stream. */
export function attachTo(publicKey: string): (files: File[]) => Promise<string[]> {
  return (files) => useFiles.getState().attach(publicKey, files);
}
