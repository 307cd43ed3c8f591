// A file as a stream holds it: records of type `file` keyed by a relative path (checked here), whose
// value keeps the original Drayer layout (u32le header length ‖ msgpack {enc, time, …} ‖ data),
// inline for small files, a manifest of chunk hashes for big ones; and the content type by extension.
import { encode } from '@msgpack/msgpack';
import * as zlib from 'node:zlib';
import { decodeBounded, MSGPACK_LIMITS, MsgpackError } from '../core/msgpack.js';
import { DrayerError } from '../core/errors.js';
import { LIMITS } from '../core/record.js';
import { pathCharProblem, visiblePath } from '../core/text.js';

export const FILE_TYPE = 'file';
/** Files up to this size are stored inline in their record; larger ones are chunked. */
export const SMALL_FILE_MAX = 1024 * 1024;
/**
 * In a stream compatible with the original Drayer, files up to this size are stored inline: the
 * original holds and serves only whole-file records (its webAccess: header ‖ data). What is left
 * of a record's greatest value is room for the header.
 */
export const COMPATIBLE_FILE_MAX = LIMITS.valueBytes - 64 * 1024;
/** The first Drayer that reads chunked files: what the original Drayer's reader is told to use. */
export const CHUNKED_FILES_SINCE = '0.1';

export interface FileHeader {
  enc: string;
  time: number;
  mime?: string;
  size?: number;
  chunkSize?: number;
  chunks?: Uint8Array[];
}

// ---------- mime types ----------

const MIME: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  json: 'application/json',
  txt: 'text/plain',
  md: 'text/markdown',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff: 'font/woff',
  woff2: 'font/woff2',
  pdf: 'application/pdf',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  zip: 'application/zip',
  wasm: 'application/wasm',
  xml: 'application/xml',
};
/** Already-compressed formats: gzip would only cost time. */
const INCOMPRESSIBLE = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'woff', 'woff2', 'mp4', 'webm', 'mp3', 'ogg', 'zip', 'gz', 'zst', 'xz', '7z']);

function extOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The content type for a path, by extension; application/octet-stream when unknown. */
export function mimeForPath(p: string): string {
  return MIME[extOf(p)] ?? 'application/octet-stream';
}

// ---------- paths ----------

/** A stream file path: relative, forward slashes, NFC, no empty, `.` or `..` segments. */
export function normalizeFilePath(p: string): string {
  const bad = (why: string) =>
    new DrayerError(
      'INVALID_ARGUMENT',
      `The file path ${JSON.stringify(p)} cannot be used: ${why}. Use a relative path with forward slashes, like "images/cat.png".`,
    );
  if (typeof p !== 'string') throw new DrayerError('INVALID_ARGUMENT', 'A file path must be text, like "images/cat.png".');
  const n = p.normalize('NFC');
  if (n === '') throw bad('it is empty');
  if (n.startsWith('/')) throw bad('it starts with a slash');
  if (n.includes('\\')) throw bad('it contains a backslash');
  if (/[\u0000-\u001f\u007f]/.test(n)) throw bad('it contains a control character');
  for (const seg of n.split('/')) {
    if (seg === '') throw bad('it has an empty segment (a doubled or trailing slash)');
    if (seg === '.' || seg === '..') throw bad(`it contains a "${seg}" segment`);
  }
  if (Buffer.byteLength(n) > LIMITS.keyBytes) throw bad(`it is longer than ${LIMITS.keyBytes} bytes`);
  return n;
}

/**
 * A path for a file being added: as normalizeFilePath, and refusing control, bidi and invisible
 * characters (text.ts), which would let the name pass for another. Files a followed stream
 * already holds keep their paths; they are shown with such characters written out (visiblePath).
 */
export function newFilePath(p: string): string {
  const why = typeof p === 'string' ? pathCharProblem(p) : null;
  if (why)
    throw new DrayerError('INVALID_ARGUMENT', `The file name "${visiblePath(p)}" cannot be added: ${why}. Rename the file without it, then add it again.`);
  return normalizeFilePath(p);
}

// ---------- the value layout ----------

function malformed(why: string): DrayerError {
  return new DrayerError('CORRUPT', `This file record's value is malformed (${why}); it cannot be read. Sync it again from the writer or re-add the file.`);
}

const utf8Decoder = new TextDecoder();

/** Split a file value into its header and body (no decompression). Throws CORRUPT when malformed. */
export function parseFileValue(val: Uint8Array): { header: FileHeader; body: Uint8Array } {
  if (val.length < 4) throw malformed('shorter than its 4-byte header length');
  const hl = new DataView(val.buffer, val.byteOffset, val.byteLength).getUint32(0, true);
  if (4 + hl > val.length) throw malformed('its header length runs past its end');
  let raw: unknown;
  try {
    raw = decodeBounded(val.subarray(4, 4 + hl), MSGPACK_LIMITS.fileHeader);
  } catch (e) {
    throw malformed(e instanceof MsgpackError ? `its header ${e.reason}` : 'its header is not msgpack');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) throw malformed('its header is not a map');
  const m = raw as Record<string, unknown>;
  // No enc: data as it is (what smallFileValue writes for it, see there). Older files say "binary".
  const enc = m.enc === undefined ? 'binary' : m.enc instanceof Uint8Array ? utf8Decoder.decode(m.enc) : m.enc;
  if (typeof enc !== 'string') throw malformed('its header enc is not text');
  const time = typeof m.time === 'bigint' ? Number(m.time) : (m.time ?? 0);
  if (typeof time !== 'number' || !Number.isFinite(time)) throw malformed('its header time is not a number');
  // µs, as the original writes; small private files added by Drayer's CLI before 0.1 wrote ms (a µs
  // time below 1e14 would be before 1973, a ms one after it): read those as the time they meant.
  const us = time >= 1e11 && time < 1e14 ? time * 1000 : time;
  const header: FileHeader = { enc, time: Math.round(us) };
  const mime = m.mime instanceof Uint8Array ? utf8Decoder.decode(m.mime) : m.mime;
  if (typeof mime === 'string' && mime) header.mime = mime;
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (m.size !== undefined) {
    if (!isCount(m.size)) throw malformed('its header size is not a count');
    header.size = m.size;
  }
  if (enc === 'chunks') {
    const { chunkSize, chunks } = m;
    if (!isCount(header.size)) throw malformed('a chunked file has no size');
    if (!isCount(chunkSize) || chunkSize === 0) throw malformed('a chunked file has no chunk size');
    if (!Array.isArray(chunks) || !chunks.every((c) => c instanceof Uint8Array && c.length === 32)) throw malformed('its chunk list is not 32-byte hashes');
    if (chunks.length !== Math.ceil(header.size / chunkSize)) throw malformed('its chunk list does not match its size');
    header.chunkSize = chunkSize;
    header.chunks = chunks as Uint8Array[];
  }
  return { header, body: val.subarray(4 + hl) };
}

/**
 * The body of a chunked file's manifest (its header holds the chunk list, which every Drayer reads;
 * the body is ignored): what the original Drayer, which serves a file record's body as the file,
 * shows in its place, saying what is missing and what reads it.
 */
export function chunkedNote(key: string, size: number): Uint8Array {
  const mib = (size / (1024 * 1024)).toFixed(1);
  return new TextEncoder().encode(
    `"${key}" (${size} bytes, ${mib} MiB) is not here: it is stored as chunks, which need Drayer >= ${CHUNKED_FILES_SINCE}; ` +
      `the original Drayer reads only whole files. Open this stream in Drayer ${CHUNKED_FILES_SINCE} or newer to get it, or ask its writer ` +
      `to turn on "compatible with the original Drayer", which writes files up to ${(COMPATIBLE_FILE_MAX / (1024 * 1024)).toFixed(1)} MiB whole.\n`,
  );
}

export function encodeFileValue(header: Record<string, unknown>, body?: Uint8Array): Uint8Array {
  const h = encode(header);
  const out = new Uint8Array(4 + h.length + (body?.length ?? 0));
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  if (body) out.set(body, 4 + h.length);
  return out;
}

/**
 * The small-file value for `data`: gzipped when that makes it smaller. Data kept as it is carries no
 * `enc`: the original Drayer's webAccess sends a header's enc as Content-Encoding, and "binary" is
 * no HTTP content coding (a browser or client may refuse the answer); without one it sends none.
 */
export function smallFileValue(key: string, data: Uint8Array, mime: string, time: number): Uint8Array {
  if (data.length > 32 && !INCOMPRESSIBLE.has(extOf(key))) {
    const gz = zlib.gzipSync(data);
    if (gz.length < data.length) return encodeFileValue({ enc: 'gzip', time, mime, size: data.length }, gz);
  }
  return encodeFileValue({ time, mime, size: data.length }, data);
}

/** The content bytes of a small file value; throws for chunked or unknown encodings. */
export function smallContent(header: FileHeader, body: Uint8Array): Buffer {
  if (header.enc === 'binary') return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (header.enc === 'gzip') {
    try {
      return zlib.gunzipSync(body);
    } catch {
      throw malformed('its gzip data is damaged');
    }
  }
  throw new DrayerError('CORRUPT', `This file is stored with an encoding Drayer does not know ("${header.enc}"); update Drayer to read it.`);
}
