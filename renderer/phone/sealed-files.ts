// A private stream's pictures on the phone page (DESIGN §8): a small file is one sealed `file`
// record (u32le header length ‖ msgpack{enc, mime, size, …} ‖ data, gzipped when smaller), fetched
// by its opaque key from GET sealed, opened here and shown from a blob: URL, so the server never
// sees the key nor sends a picture's plaintext. A big (chunked) file is not opened on this page:
// its picture keeps its alt text. Everything decoded is bounded; anything odd is no picture.
import { decode } from '@msgpack/msgpack';
// raster pictures only, as in the app: an SVG is a document, and nothing of a stream's runs here
import { inlineImageType } from '../lib/files';

/** What a small file holds at most (SMALL_FILE_MAX), decompressed. */
const MAX_FILE = 1024 * 1024;
const HEADER_LIMITS = { maxStrLength: 256, maxBinLength: 256, maxArrayLength: 0, maxMapLength: 16, maxExtLength: 0 };
const BY_EXT: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif' };

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
  if (val.length < 4) return null;
  const hl = new DataView(val.buffer, val.byteOffset, val.byteLength).getUint32(0, true);
  if (4 + hl > val.length) return null;
  let h: Record<string, unknown>;
  try {
    const m = decode(val.subarray(4, 4 + hl), HEADER_LIMITS);
    if (!m || typeof m !== 'object' || Array.isArray(m) || m instanceof Uint8Array) return null;
    h = m as Record<string, unknown>;
  } catch {
    return null;
  }
  const text = (v: unknown) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v);
  const enc = text(h.enc) ?? 'binary';
  const mime = inlineImageType(String(text(h.mime) ?? BY_EXT[path.slice(path.lastIndexOf('.') + 1).toLowerCase()] ?? ''));
  if (!mime) return null;
  const body = val.subarray(4 + hl);
  let data: Uint8Array | null;
  if (enc === 'binary') data = body.length <= MAX_FILE ? body : null;
  else if (enc === 'gzip') data = await gunzip(body).catch(() => null);
  else return null; // chunks, or an encoding this page does not know
  return data ? new Blob([data as Uint8Array<ArrayBuffer>], { type: mime }) : null;
}

/** Fetches and opens a file once per page: `load` gives the opened value of the sealed file record at a path (null: none). */
export function pictureCache(load: (path: string) => Promise<Uint8Array | null>): (path: string) => Promise<string | null> {
  const seen = new Map<string, Promise<string | null>>();
  return (path) => {
    let p = seen.get(path);
    if (!p) {
      p = load(path)
        .then((val) => (val ? pictureOf(path, val) : null))
        .then((blob) => (blob ? URL.createObjectURL(blob) : null))
        .catch(() => null);
      seen.set(path, p);
    }
    return p;
  };
}
