// Big files of a private stream (DESIGN §8): each chunk sealed on its own (core/private.ts
// FileCipher), stored and served content-addressed by the hash of its ciphertext like any chunk.
// The record is one sealed record whose value keeps the file layout in clear around its sealed
// part (core/private.ts sealedBox): a blind mirror reads the list of sealed chunks and nothing
// else. Inside the seal: {enc: 'sealed-chunks', time, mime, size, chunkSize, prefix}.
//
// Identical plaintext in two files (or two versions of one file) seals to different chunks: the
// prefix is fresh for every stored version, as §8 asks, so a mirror cannot tell that two files
// share content, and no key and nonce ever seal two plaintexts. The price: no deduplication
// across private files. A re-add of a file whose size, modification time and type are the stored
// ones is unchanged without reading it (a content digest cost as much as sealing, profiled).
import * as nodeCrypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { blake2b256 } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { decodeBounded, MSGPACK_LIMITS } from '../core/msgpack.js';
import { FILE_PREFIX_BYTES, MAC_BYTES, SEALED_TYPE, type FileCipher } from '../core/private.js';
import { LIMITS } from '../core/record.js';
import { CHUNK_SIZE, ChunkStore } from './chunk-writer.js';
import { getChunk, hasChunk } from './chunks.js';
import { encodeFileValue, FILE_TYPE, normalizeFilePath, parseFileValue } from './file-value.js';
import { byteRange, chunkRange, readFull } from './file-read.js';
import type { StreamView } from './private-view.js';

/** Plaintext bytes per chunk: a sealed chunk is exactly CHUNK_SIZE, like a public one. */
export const SEALED_CHUNK_PLAIN = CHUNK_SIZE - MAC_BYTES;
/** The sealed manifest's encoding: no reader of public files takes it for content. */
export const SEALED_CHUNKS_ENC = 'sealed-chunks';

export type Outcome = 'added' | 'updated' | 'unchanged';

/** What a big private file's sealed manifest says. */
interface Manifest {
  time: number;
  mime: string;
  size: number;
  chunkSize: number;
  prefix: Uint8Array;
}

function corrupt(key: string, why: string): DrayerError {
  return new DrayerError('CORRUPT', `The private file "${key}" cannot be read: ${why}. Sync it again from the writer, or ask the writer to add it again.`);
}

/** The sealed manifest of an opened value, or null when the value is not a big private file. */
function parseManifest(key: string, val: Uint8Array): Manifest | null {
  if (val.length < 4) return null;
  const hl = new DataView(val.buffer, val.byteOffset, val.byteLength).getUint32(0, true);
  if (4 + hl > val.length) return null;
  let m: Record<string, unknown>;
  try {
    m = decodeBounded(val.subarray(4, 4 + hl), MSGPACK_LIMITS.fileHeader) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!m || typeof m !== 'object' || m.enc !== SEALED_CHUNKS_ENC) return null;
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!count(m.size) || !count(m.chunkSize) || m.chunkSize === 0 || m.chunkSize > SEALED_CHUNK_PLAIN || !count(m.time))
    throw corrupt(key, 'its sealed manifest has no valid size, chunk size or time');
  if (!(m.prefix instanceof Uint8Array) || m.prefix.length !== FILE_PREFIX_BYTES) throw corrupt(key, 'its sealed manifest has no valid prefix');
  return {
    time: m.time,
    mime: typeof m.mime === 'string' ? m.mime : 'application/octet-stream',
    size: m.size,
    chunkSize: m.chunkSize,
    prefix: m.prefix,
  };
}

/** A big private file as a reader holds it. */
export interface SealedFile {
  key: string;
  manifest: Manifest;
  /** hashes of the sealed chunks, in order */
  chunks: Uint8Array[];
  cipher: FileCipher;
}

/**
 * The big private file at `p`: undefined when there is none, null when the file there is a small
 * one (one sealed record: private-files.ts reads it). Throws SEALED without the read key.
 */
export async function loadSealedFile(v: StreamView, p: string): Promise<SealedFile | null | undefined> {
  const key = normalizeFilePath(p);
  const r = v.locate(FILE_TYPE, key);
  if (!r) return undefined;
  if (!r.val)
    throw new DrayerError('NOT_FOUND', `${v.stream.file} holds ${key} without its value (a metadata-only copy); private files are read from full copies.`);
  const opened = v.open(r);
  const manifest = opened.val ? parseManifest(key, opened.val) : null;
  if (!manifest) return null;
  const outer = parseFileValue(r.val).header; // sealedBox found a chunk layout, so this parses
  const chunks = outer.chunks ?? [];
  if (chunks.length !== Math.ceil(manifest.size / manifest.chunkSize))
    throw corrupt(key, `its chunk list (${chunks.length}) does not match its size (${manifest.size} bytes)`);
  return { key, manifest, chunks, cipher: await v.readKey!.fileCipher(manifest.prefix) };
}

/** The file's metadata, as statFile gives for public files. */
export function sealedFileSize(f: SealedFile): number {
  return f.manifest.size;
}

/**
 * The plaintext from `start` to `end` (inclusive, clamped), one chunk opened at a time: only the
 * chunks the range touches are read and opened. A chunk not held is NOT_FOUND; one that does not
 * open (altered, swapped, moved) is CORRUPT, and nothing of it is given.
 */
export function openSealedStream(v: StreamView, f: SealedFile, range: { start?: number; end?: number } = {}): Readable {
  const { size, chunkSize: cs } = f.manifest;
  const { start, end } = byteRange(f.key, size, range);
  const missing = (i: number) =>
    new DrayerError('NOT_FOUND', `Chunk ${i} of file "${f.key}" is not here yet; sync the stream from a mirror that holds it, then try again.`);
  return chunkRange({
    size,
    chunkSize: cs,
    start,
    end,
    held: (i) => hasChunk(v.stream, f.chunks[i]!),
    missing,
    open: (i) => openChunkOf(v, f, i, missing),
  });
}

/** Chunk i of `f` opened, of the length its manifest says; `missing` names what is not held. */
function openChunkOf(v: StreamView, f: SealedFile, i: number, missing: (i: number) => DrayerError): Uint8Array {
  const data = getChunk(v.stream, f.chunks[i]!);
  if (!data) throw missing(i);
  let plain: Uint8Array;
  try {
    plain = f.cipher.openChunk(i, data);
  } catch (e) {
    throw isDrayerError(e, 'CORRUPT') ? corrupt(f.key, e.message) : e;
  }
  const { size, chunkSize: cs } = f.manifest;
  if (plain.length !== Math.min(cs, size - i * cs)) throw corrupt(f.key, `chunk ${i} has the wrong length`);
  return plain;
}

/** Where a big private file's bytes come from: a file on disk, bytes in memory, or a reader (`read` fills `buf` from `pos`, returning what it filled). */
export type SealedSource = { abs: string } | { data: Uint8Array } | { read: (buf: Buffer, pos: number) => Promise<Uint8Array> };

/** When the file was changed (µs), a cancel signal, and progress in bytes. */
export interface SealOptions {
  time?: number;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

/** A big file sealed and its chunks stored: the record's value, not stored yet. */
export interface SealedBig {
  /** the stored value: the clear chunk list around the sealed manifest */
  value: Uint8Array;
  size: number;
}

/**
 * Seal a big file's chunks under `v`'s read key and store them (pinned to `op`, the chunk
 * operation of chunks.ts: the caller ends it, collecting when the value is not stored). Reads,
 * seals, hashes and hands over one chunk while the next is read; the chunk worker stores them on
 * the other core. Memory: two plaintext chunks and the writer's bounded queue.
 */
export async function sealBig(v: StreamView, key: string, src: SealedSource, mime: string, op: number, opts: SealOptions = {}): Promise<SealedBig> {
  const s = v.stream;
  const rk = v.readKey;
  if (!rk) throw new DrayerError('NOT_WRITABLE', `${s.file} is private and its read key is not here, so nothing can be sealed for it; nothing was written.`);
  const check = () => {
    if (opts.signal?.aborted) throw new DrayerError('CANCELLED', `Adding ${key} was cancelled: it was not added, and what had been written of it is removed.`);
  };
  let fh: fsp.FileHandle | undefined;
  let time = opts.time ?? Date.now() * 1000;
  if ('abs' in src) {
    fh = await fsp.open(src.abs, 'r');
    if (opts.time === undefined) time = Math.floor((await fh.stat()).mtimeMs * 1000);
  }
  const prefix = new Uint8Array(nodeCrypto.randomBytes(FILE_PREFIX_BYTES));
  const cipher = await rk.fileCipher(prefix);
  const store = ChunkStore.forStream(s, { verify: false, op });
  const hashes: Uint8Array[] = [];
  let size = 0;
  let sealedBytes = 0;
  try {
    // two plaintext buffers: the next piece is read while this one is sealed
    const bufs = [Buffer.allocUnsafe(SEALED_CHUNK_PLAIN), Buffer.allocUnsafe(SEALED_CHUNK_PLAIN)];
    const read = async (buf: Buffer, pos: number): Promise<Uint8Array> => {
      if (fh) return buf.subarray(0, await readFull(fh, buf, pos));
      if ('read' in src) return src.read(buf, pos);
      return (src as { data: Uint8Array }).data.subarray(pos, pos + SEALED_CHUNK_PLAIN);
    };
    let which = 0;
    let cur = await read(bufs[0]!, 0);
    for (let i = 0; cur.length > 0; i++) {
      check();
      const pos = size + cur.length;
      const ahead = cur.length === SEALED_CHUNK_PLAIN ? read(bufs[1 - which]!, pos) : undefined;
      try {
        const out = Buffer.from(store.take());
        const len = cipher.sealChunk(i, cur, out);
        const hash = blake2b256(out.subarray(0, len));
        hashes.push(hash);
        size = pos;
        sealedBytes += len;
        await store.put(out.buffer as ArrayBuffer, len, hash);
      } catch (e) {
        await ahead?.catch(() => undefined);
        throw e;
      }
      opts.onBytes?.(size);
      if (!ahead) break;
      cur = await ahead;
      which = 1 - which;
    }
    check();
    await store.close();
    check();
    const inner = encodeFileValue({ enc: SEALED_CHUNKS_ENC, time, mime, size, chunkSize: SEALED_CHUNK_PLAIN, prefix });
    const value = encodeFileValue(
      { enc: 'chunks', sealed: 1, time: 0, size: sealedBytes, chunkSize: CHUNK_SIZE, chunks: hashes },
      rk.seal(FILE_TYPE, key, inner),
    );
    if (value.length > LIMITS.valueBytes)
      throw new DrayerError(
        'INVALID_ARGUMENT',
        `"${key}" is too big for one Drayer file (at most about ${Math.floor(LIMITS.valueBytes / 34 / 1024)} GiB); split it.`,
      );
    return { value, size };
  } finally {
    await store.terminate();
    await fh?.close().catch(() => undefined);
  }
}

/** The manifest of the big private file stored as `key`, or null (none, a small one, or one that does not open). */
function oldManifest(v: StreamView, key: string): { manifest: Manifest | null; exists: boolean } {
  const old = v.locate(FILE_TYPE, key);
  if (!old?.val) return { manifest: null, exists: old !== undefined };
  try {
    const o = v.open(old);
    return { manifest: o.val ? parseManifest(key, o.val) : null, exists: true };
  } catch {
    return { manifest: null, exists: true }; // an old value that does not open is simply replaced
  }
}

/**
 * Seal and store a big file as `key` (see sealBig). Returns the outcome and whether chunks may now
 * be orphans (the caller ends its operation with a collection then).
 */
export async function addSealedBig(
  v: StreamView,
  key: string,
  src: SealedSource,
  mime: string,
  op: number,
  opts: SealOptions = {},
): Promise<{ outcome: Outcome; orphans: boolean }> {
  const old = oldManifest(v, key);
  // unchanged: a file of the stored size, time and type (read nothing, seal nothing)
  if ('abs' in src && old.manifest && old.manifest.mime === mime) {
    const st = await fsp.stat(src.abs);
    if (old.manifest.size === st.size && old.manifest.time === (opts.time ?? Math.floor(st.mtimeMs * 1000))) return { outcome: 'unchanged', orphans: false };
  }
  const b = await sealBig(v, key, src, mime, op, opts);
  v.stream.put(SEALED_TYPE, v.readKey!.opaqueKey(FILE_TYPE, key), b.value);
  return { outcome: old.exists ? 'updated' : 'added', orphans: old.manifest !== null };
}

/** A SealedSource reading `f`'s plaintext (a rotation re-seals it): one opened chunk kept at a time. */
export function sealedFileSource(v: StreamView, f: SealedFile): SealedSource {
  const { size, chunkSize: cs } = f.manifest;
  let at = -1;
  let plain: Uint8Array = new Uint8Array(0);
  const chunk = (i: number): Uint8Array => {
    if (i !== at) {
      plain = openChunkOf(
        v,
        f,
        i,
        (j) =>
          new DrayerError(
            'NOT_FOUND',
            `Chunk ${j} of file "${f.key}" is not here, so it cannot be sealed again; sync the stream until it holds every chunk, then try again.`,
          ),
      );
      at = i;
    }
    return plain;
  };
  return {
    read: async (buf, pos) => {
      let n = 0;
      while (n < buf.length && pos + n < size) {
        const i = Math.floor((pos + n) / cs);
        const p = chunk(i);
        const off = pos + n - i * cs;
        const take = Math.min(p.length - off, buf.length - n);
        if (take <= 0) throw corrupt(f.key, `chunk ${i} is shorter than its manifest says`);
        buf.set(p.subarray(off, off + take), n);
        n += take;
      }
      return buf.subarray(0, n);
    },
  };
}
