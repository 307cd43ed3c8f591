// A private stream's pictures on the phone page (DESIGN §8): a small file is one sealed `file`
// record (u32le header length ‖ msgpack{enc, mime, size, …} ‖ data, gzipped when smaller), fetched
// by its opaque key from GET sealed, opened here and shown from a blob: URL, so the server never
// sees the key nor sends a picture's plaintext. A big file (private-bigfile.ts: a clear header
// listing its sealed chunks' hashes, then the sealed manifest) up to MAX_BIG is read chunk by chunk
// from GET chunk/<hash>, each opened on its own. Everything decoded is bounded; anything odd is no
// picture (the page keeps the alt text).
import { decode } from '@msgpack/msgpack';
// raster pictures only, as in the app: an SVG is a document, and nothing of a stream's runs here
import { inlineImageType } from '../lib/files';

/** What a small file holds at most (SMALL_FILE_MAX), decompressed. */
const MAX_FILE = 1024 * 1024;
const HEADER_LIMITS = { maxStrLength: 256, maxBinLength: 256, maxArrayLength: 0, maxMapLength: 16, maxExtLength: 0 };
const BY_EXT: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif' };

/** A big picture read here at most: its chunks are held in memory until the Blob is made. */
export const MAX_BIG = 16 * 1024 * 1024;
/** Plaintext bytes per sealed chunk at most (a chunk is 1 MiB sealed). */
const MAX_CHUNK = 1024 * 1024;

/** A file value's header and body, or null when malformed. */
function split(val: Uint8Array, limits: typeof HEADER_LIMITS): { h: Record<string, unknown>; body: Uint8Array } | null {
  if (val.length < 4) return null;
  const hl = new DataView(val.buffer, val.byteOffset, val.byteLength).getUint32(0, true);
  if (4 + hl > val.length) return null;
  try {
    const m = decode(val.subarray(4, 4 + hl), limits);
    if (!m || typeof m !== 'object' || Array.isArray(m) || m instanceof Uint8Array) return null;
    return { h: m as Record<string, unknown>, body: val.subarray(4 + hl) };
  } catch {
    return null;
  }
}

const text = (v: unknown) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A stored value that is a big private file's: the sealed chunks' hashes (clear) and the sealed record; else null. */
export function sealedBig(val: Uint8Array): { chunks: Uint8Array[]; sealed: Uint8Array } | null {
  const v = split(val, { ...HEADER_LIMITS, maxArrayLength: MAX_BIG / MAX_CHUNK + 1, maxBinLength: 32 });
  const chunks = v?.h.chunks;
  if (!v || text(v.h.enc) !== 'chunks' || v.h.sealed !== 1 || !Array.isArray(chunks)) return null;
  if (!chunks.every((c) => c instanceof Uint8Array && c.length === 32)) return null;
  return { chunks: chunks as Uint8Array[], sealed: v.body };
}

/** What a big file's sealed manifest says, or null when it is not one (or one too big for this page). */
export function bigManifest(val: Uint8Array): { mime: string; size: number; chunkSize: number; prefix: Uint8Array } | null {
  const v = split(val, HEADER_LIMITS);
  if (!v || text(v.h.enc) !== 'sealed-chunks') return null;
  const { size, chunkSize, prefix } = v.h;
  const mime = inlineImageType(String(text(v.h.mime) ?? ''));
  if (!mime || !isCount(size) || size > MAX_BIG || !isCount(chunkSize) || chunkSize === 0 || chunkSize > MAX_CHUNK) return null;
  if (!(prefix instanceof Uint8Array) || prefix.length !== 16) return null;
  return { mime, size, chunkSize, prefix };
}

/**
 * A big picture from its manifest and chunk hashes; `chunk(i, hash)` fetches and opens chunk i
 * (null: missing, or it did not open). One chunk at a time; every length checked.
 */
export async function bigPictureOf(
  m: { mime: string; size: number; chunkSize: number },
  hashes: Uint8Array[],
  chunk: (i: number, hash: Uint8Array) => Promise<Uint8Array | null>,
): Promise<Blob | null> {
  if (hashes.length !== Math.ceil(m.size / m.chunkSize)) return null;
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < hashes.length; i++) {
    const plain = await chunk(i, hashes[i]!);
    if (!plain || plain.length !== Math.min(m.chunkSize, m.size - i * m.chunkSize)) return null;
    parts.push(plain as Uint8Array<ArrayBuffer>);
  }
  return new Blob(parts, { type: m.mime });
}

async function gunzip(data: Uint8Array): Promise<Uint8Array | null> {
  const reader = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > MAX_FILE) {
      await reader.cancel(); // a gzip bomb stops here
      return null;
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A small file value's picture as a Blob, or null (not a picture, chunked, malformed, too big). */
export async function pictureOf(path: string, val: Uint8Array): Promise<Blob | null> {
  const v = split(val, HEADER_LIMITS);
  if (!v) return null;
  const enc = text(v.h.enc) ?? 'binary';
  const mime = inlineImageType(String(text(v.h.mime) ?? BY_EXT[path.slice(path.lastIndexOf('.') + 1).toLowerCase()] ?? ''));
  if (!mime) return null;
  let data: Uint8Array | null;
  if (enc === 'binary') data = v.body.length <= MAX_FILE ? v.body : null;
  else if (enc === 'gzip') data = await gunzip(v.body).catch(() => null);
  else return null; // chunks, or an encoding this page does not know
  return data ? new Blob([data as Uint8Array<ArrayBuffer>], { type: mime }) : null;
}

/** Fetches and opens a file once per page: `load` gives its picture (null: none, or not one). */
export function pictureCache(load: (path: string) => Promise<Blob | null>): (path: string) => Promise<string | null> {
  const seen = new Map<string, Promise<string | null>>();
  return (path) => {
    let p = seen.get(path);
    if (!p) {
      p = load(path)
        .then((blob) => (blob ? URL.createObjectURL(blob) : null))
        .catch(() => null);
      seen.set(path, p);
    }
    return p;
  };
}
