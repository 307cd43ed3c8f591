// The record: its fields, the exact bytes its signature covers (the original Drayer layout),
// and its msgpack wire form (shared with original Drayer nodes).
import { encode } from '@msgpack/msgpack';
import { blake2b256, bytesEqual, type KeyPair, sign, verify } from './crypto.js';
import { DrayerError } from './errors.js';
import { slabBytes } from './slab.js';
import { decodeBounded, MSGPACK_LIMITS, type MsgpackLimits } from './msgpack.js';

export interface DrayerRecord {
  /** creation order, unique per chain */
  id: number;
  type: string;
  key: string;
  /** null in a metadata-only copy: the signature covers `hash`, so the value can come later */
  val: Uint8Array | null;
  hash: Uint8Array;
  /** application time, µs */
  ts: number;
  /** modification time, µs; unique per chain */
  mod: number;
  /** id of the previous live record in the ID chain (0 for the first) */
  prev: number;
  /** mod of the previous live record in the M chain (0 for the first) */
  prevch: number;
  sig: Uint8Array;
  /** the key that signed it: the stream's public key unless a sibling chain */
  chain: Uint8Array;
}

export type UnsignedRecord = Omit<DrayerRecord, 'sig'>;

export const LIMITS = {
  typeBytes: 256,
  keyBytes: 4096,
  /** values larger than this travel as chunked files (files.ts) */
  valueBytes: 8 * 1024 * 1024,
} as const;

const typeHashCache = new Map<string, Uint8Array>();
const utf8 = new TextEncoder();

function typeHash(type: string): Uint8Array {
  let h = typeHashCache.get(type);
  if (!h) {
    h = blake2b256(utf8.encode(type));
    if (typeHashCache.size > 256) typeHashCache.clear();
    typeHashCache.set(type, h);
  }
  return h;
}

function writeI64(view: DataView, off: number, n: number): void {
  if (Number.isSafeInteger(n) && n >= 0) {
    view.setUint32(off, n % 0x100000000, true);
    view.setUint32(off + 4, Math.floor(n / 0x100000000), true);
  } else {
    view.setBigInt64(off, BigInt(n), true);
  }
}

/**
 * The bytes a record's signature covers:
 * u64le(id) ‖ i64le(ts) ‖ i64le(mod) ‖ i64le(prev) ‖ i64le(prevch) ‖ H(key) ‖ hash ‖ H(type).
 */
export function signingBytes(r: UnsignedRecord): Uint8Array {
  const out = new Uint8Array(136);
  return writeSigningBytes(r, out, new DataView(out.buffer));
}

/** signingBytes written into `out` at `at` (`view` over all of out's buffer), e.g. straight into a batch for the verifier pool. */
export function writeSigningBytes(r: UnsignedRecord, out: Uint8Array, view: DataView, at = 0): Uint8Array {
  writeI64(view, at, r.id);
  writeI64(view, at + 8, r.ts);
  writeI64(view, at + 16, r.mod);
  writeI64(view, at + 24, r.prev);
  writeI64(view, at + 32, r.prevch);
  // a UTF-16 unit is 3 UTF-8 bytes at most: a key that surely fits is encoded into keyBytes
  const key = r.key.length * 3 <= keyBytes.length ? keyBytes.subarray(0, utf8.encodeInto(r.key, keyBytes).written) : utf8.encode(r.key);
  blake2b256(key, out.subarray(at + 40, at + 72));
  out.set(r.hash, at + 72);
  out.set(typeHash(r.type), at + 104);
  return at === 0 && out.length === 136 ? out : out.subarray(at, at + 136);
}

// checkRecord's working buffers: verification is synchronous, so one set serves every call, and
// checking a record allocates nothing off the heap (malloc and its sweeping were ~6% of verify).
const checkBytes = new Uint8Array(136);
const checkView = new DataView(checkBytes.buffer);
const keyBytes = new Uint8Array(LIMITS.keyBytes);
const valueHash = new Uint8Array(32);

// signRecord's: signing is synchronous too. A fresh 136-byte array lives off the V8 heap, and
// allocating and sweeping one a post cost more than the rest of building the record.
const signBytes = new Uint8Array(136);
const signView = new DataView(signBytes.buffer);

export function signRecord(r: UnsignedRecord, key: KeyPair): DrayerRecord {
  const sig = sign(writeSigningBytes(r, signBytes, signView), key, slabBytes(64));
  // Field by field, not a spread: every record gets one shape, and nothing else the input carried.
  return { id: r.id, type: r.type, key: r.key, val: r.val, hash: r.hash, ts: r.ts, mod: r.mod, prev: r.prev, prevch: r.prevch, sig, chain: r.chain };
}

/**
 * Why a record is unacceptable, or null when its signature (and value hash, if present) hold.
 * With `anyChain`, a record of another chain is checked against its own chain's key: whether that
 * chain is a device of the stream at the record's mod is the store's to say (apply.ts, siblings.ts).
 */
export function checkRecord(r: DrayerRecord, streamKey: Uint8Array, anyChain = false): string | null {
  const shape = checkShape(r);
  if (shape) return shape;
  if (!anyChain && !bytesEqual(r.chain, streamKey)) return 'it belongs to another chain (sibling chains are not supported)';
  if (r.val && !bytesEqual(blake2b256(r.val, valueHash), r.hash)) return 'its value does not match its hash (tampered)';
  if (!verify(writeSigningBytes(r, checkBytes, checkView), r.sig, r.chain)) return 'its signature is not valid for this stream (forged or altered)';
  return null;
}

/** Longer than `max` bytes in UTF-8? A UTF-16 unit takes 3 bytes at most, so most strings need no encoding (verify checks every record). */
const utf8Over = (s: string, max: number): boolean => s.length * 3 > max && utf8.encode(s).length > max;

const isUint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Structural checks shared by every path that accepts records from outside. */
export function checkShape(r: DrayerRecord): string | null {
  if (!isUint(r.id) || r.id < 1) return 'its id is not a positive integer';
  if (!Number.isSafeInteger(r.ts)) return 'its ts is not an integer';
  if (!isUint(r.mod) || r.mod < 1) return 'its mod is not a positive integer';
  if (!isUint(r.prev) || r.prev >= r.id) return 'its prev does not point below its id';
  if (!isUint(r.prevch) || r.prevch >= r.mod) return 'its prevch does not point below its mod';
  if (typeof r.type !== 'string' || utf8Over(r.type, LIMITS.typeBytes)) return 'its type is missing or too long';
  if (typeof r.key !== 'string' || utf8Over(r.key, LIMITS.keyBytes)) return 'its key is missing or too long';
  if (!(r.hash instanceof Uint8Array) || r.hash.length !== 32) return 'its hash is not 32 bytes';
  if (!(r.sig instanceof Uint8Array) || r.sig.length !== 64) return 'its signature is not 64 bytes';
  if (!(r.chain instanceof Uint8Array) || r.chain.length !== 32) return 'its chain is not a 32-byte key';
  if (r.val !== null && (!(r.val instanceof Uint8Array) || r.val.length > LIMITS.valueBytes)) return 'its value is not bytes or is too large';
  return null;
}

/** The wire map, with exactly the original Drayer keys. `val` is nil in a metadata-only copy. */
export function toWire(r: DrayerRecord, metaOnly = false): Record<string, unknown> {
  return {
    id: r.id,
    type: r.type,
    key: r.key,
    val: metaOnly ? null : r.val,
    hash: r.hash,
    ts: r.ts,
    mod: r.mod,
    prev: r.prev,
    prevch: r.prevch,
    sig: r.sig,
    chain: r.chain,
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function asBytes(v: unknown, field: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return utf8.encode(v); // only reachable without rawStrings
  throw new DrayerError('INVALID_RECORD', `record field ${field} is not bytes`);
}

function asText(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) {
    try {
      return strictUtf8.decode(v);
    } catch {
      throw new DrayerError('INVALID_RECORD', `record field ${field} is not valid UTF-8`);
    }
  }
  throw new DrayerError('INVALID_RECORD', `record field ${field} is not text`);
}

function asInt(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new DrayerError('INVALID_RECORD', `record field ${field} is not an integer in range`);
}

function mapGet(m: unknown, k: string): unknown {
  if (m instanceof Map) {
    for (const [mk, mv] of m) if ((mk instanceof Uint8Array ? strictUtf8.decode(mk) : mk) === k) return mv;
    return undefined;
  }
  return (m as Record<string, unknown>)[k];
}

/**
 * Read a wire map. Original Drayer nodes (msgpack-python 0.x) pack byte strings as msgpack
 * *str*, so binary fields accept both str and bin, and text fields accept bytes.
 * An empty or missing chain means the stream's own key.
 */
export function fromWire(m: unknown, streamKey: Uint8Array): DrayerRecord {
  if (m === null || typeof m !== 'object') throw new DrayerError('INVALID_RECORD', 'a record is not a map');
  const val = mapGet(m, 'val');
  const chainRaw = mapGet(m, 'chain');
  const chain = chainRaw == null ? streamKey : asBytes(chainRaw, 'chain');
  const r: DrayerRecord = {
    id: asInt(mapGet(m, 'id'), 'id'),
    type: asText(mapGet(m, 'type'), 'type'),
    key: asText(mapGet(m, 'key'), 'key'),
    val: val == null ? null : asBytes(val, 'val'),
    hash: asBytes(mapGet(m, 'hash'), 'hash'),
    ts: asInt(mapGet(m, 'ts') ?? 0, 'ts'),
    mod: asInt(mapGet(m, 'mod'), 'mod'),
    prev: asInt(mapGet(m, 'prev'), 'prev'),
    prevch: asInt(mapGet(m, 'prevch'), 'prevch'),
    sig: asBytes(mapGet(m, 'sig'), 'sig'),
    chain: chain.length === 0 ? streamKey : chain,
  };
  return r;
}

/**
 * Wire bytes from a peer, decoded within `limits` (msgpack.ts; the default fits the largest wire
 * message, a changes page). Throws a MsgpackError on anything out of bounds or malformed.
 */
export function decodeWire(buf: Uint8Array, limits: MsgpackLimits = MSGPACK_LIMITS.changesPage): unknown {
  return decodeBounded(buf, limits);
}

export function encodeWire(value: unknown): Uint8Array {
  return encode(value, { ignoreUndefined: true });
}
