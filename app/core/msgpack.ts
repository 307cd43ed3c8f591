// The one msgpack decoder for bytes that come from outside the process: discovery packets, sync
// answers, and values written by a stream's author (drayer/info, primaryServers, file headers).
//
// @msgpack/msgpack allocates what a header declares before reading the items (`new Array(n)` for
// an array32 of 33 M items: 260 MB for 5 bytes), so a tiny hostile input can exhaust the heap.
// Here a cheap pre-scan walks the headers first, allocating nothing: every declared length must
// fit in the bytes left (an array of n items needs at least n bytes, a map of n entries 2n), and
// depth, item count and sizes must fit what the caller expects. Only then does the library decode,
// with the same limits as its own options (a second line of defence), so what it allocates is
// bounded by the input's size.
import { Decoder } from '@msgpack/msgpack';
import type { PrimaryServer } from './shapes.js';
import { DrayerError } from './errors.js';

export interface MsgpackLimits {
  /** what is decoded, for messages: "a discovery packet" */
  what: string;
  /** the whole input */
  maxBytes: number;
  /** containers nested (a map holding an array is depth 2) */
  maxDepth: number;
  /** array items plus map keys and values, in all */
  maxItems: number;
  maxArray: number;
  /** entries of one map */
  maxMap: number;
  /** a str decoded as text (map keys; all strs unless rawStrings) */
  maxStr: number;
  /** a bin (and a str taken as raw bytes under rawStrings) */
  maxBin: number;
  /** Drayer sends no extension types; a few bytes allow a timestamp from an unknown peer */
  maxExt: number;
  /** keep str values as bytes (original Drayer packs bytes as str; see record.ts fromWire) */
  rawStrings?: boolean;
}

const MiB = 1024 * 1024;
/** every sync answer is cut at the client's response limit (sync.ts) long before this */
const RESPONSE_BYTES = 64 * MiB;
/** a record value (record.ts LIMITS.valueBytes) */
const VALUE_BYTES = 8 * MiB;

/** Limits that fit each kind of input (DESIGN §4, §5). */
export const MSGPACK_LIMITS = {
  // "DRY1" ‖ node id ‖ map, ≤ 1200 bytes in all: announce map → s → [pk, mtip, name] is depth 3.
  discovery: {
    what: 'a discovery packet',
    maxBytes: 1200,
    maxDepth: 4,
    maxItems: 1200,
    maxArray: 600,
    maxMap: 32,
    maxStr: 64,
    maxBin: 1200,
    maxExt: 16,
    rawStrings: true,
  },
  // {node, seq, more, records: [wire record…], last, left}: depth 3. Values ride inside as bins
  // bounded only by the response (an oversized one is rejected per record, not per page), and are
  // views into the input, never copies. Items: 10 000 records of 11 fields, with room.
  changesPage: {
    what: 'a changes page',
    maxBytes: RESPONSE_BYTES,
    maxDepth: 4,
    maxItems: 400_000,
    maxArray: 10_000,
    maxMap: 64,
    maxStr: 256,
    maxBin: RESPONSE_BYTES,
    maxExt: 16,
    rawStrings: true,
  },
  // original Drayer: a list of wire records (about 100 a call; sync.ts refuses more than 10 000)
  newRecords: {
    what: 'a newRecords list',
    maxBytes: RESPONSE_BYTES,
    maxDepth: 3,
    maxItems: 400_000,
    maxArray: 10_000,
    maxMap: 64,
    maxStr: 256,
    maxBin: RESPONSE_BYTES,
    maxExt: 16,
    rawStrings: true,
  },
  // one record of an original Drayer's newRecords list, read as it arrives (msgpack-items.ts): a
  // map of 11 fields, its value at most VALUE_BYTES
  originalRecord: {
    what: 'a record in a newRecords list',
    maxBytes: VALUE_BYTES + 64 * 1024,
    maxDepth: 2,
    maxItems: 256,
    maxArray: 64,
    maxMap: 64,
    maxStr: 256,
    maxBin: VALUE_BYTES + 64 * 1024,
    maxExt: 16,
    rawStrings: true,
  },
  // an original Drayer's LAN packet after its magic: a flat map of 10 fields, its record's key
  // (text, at most record.ts LIMITS.keyBytes) the only long one
  originalPacket: {
    what: "an original Drayer's LAN packet",
    maxBytes: 4608,
    maxDepth: 1,
    maxItems: 64,
    maxArray: 16,
    maxMap: 16,
    maxStr: 64,
    maxBin: 4096,
    maxExt: 16,
    rawStrings: true,
  },
  /** GET /<pk>/tips: {node, id, mod, seq} */
  tips: {
    what: 'a tips answer',
    maxBytes: 4096,
    maxDepth: 2,
    maxItems: 256,
    maxArray: 64,
    maxMap: 64,
    maxStr: 256,
    maxBin: 4096,
    maxExt: 16,
    rawStrings: true,
  },
  // drayer/info {name, about, …}: written by the stream's author, so a signature proves nothing
  // about its shape. A little nesting is allowed for fields other implementations may add.
  info: {
    what: 'a drayer/info value',
    maxBytes: VALUE_BYTES,
    maxDepth: 4,
    maxItems: 4096,
    maxArray: 1024,
    maxMap: 256,
    maxStr: VALUE_BYTES,
    maxBin: VALUE_BYTES,
    maxExt: 16,
  },
  /** drayer/primaryServers: [{type, url}, …] (node.ts keeps 16) */
  primaryServers: {
    what: 'a drayer/primaryServers value',
    maxBytes: 64 * 1024,
    maxDepth: 3,
    maxItems: 4096,
    maxArray: 256,
    maxMap: 32,
    maxStr: 4096,
    maxBin: 4096,
    maxExt: 16,
  },
  // A file value's header {enc, time, mime, size, chunkSize, chunks: [32-byte hash…]}: a manifest
  // of a value's size lists at most VALUE_BYTES / 34 chunk hashes.
  fileHeader: {
    what: 'a file header',
    maxBytes: VALUE_BYTES,
    maxDepth: 3,
    maxItems: 300_000,
    maxArray: 250_000,
    maxMap: 64,
    maxStr: 4096,
    maxBin: VALUE_BYTES,
    maxExt: 16,
  },
} as const satisfies Record<string, MsgpackLimits>;

/** Bytes refused by decodeBounded. `reason` completes "<what> that …" or "<source> sent <what> that …". */
export class MsgpackError extends DrayerError {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super('INVALID_RECORD', `${what.charAt(0).toUpperCase()}${what.slice(1)} ${reason}.`);
  }
  /** "<source> sent a changes page that declares more items than it holds (…)." */
  sentBy(source: string): string {
    return `${source} sent ${this.what} that ${this.reason}.`;
  }
}

/**
 * Walk `b`'s headers without allocating, and throw a MsgpackError at the first thing that does
 * not fit `L`: a length beyond the bytes left, too deep, too many items, too long, truncated,
 * trailing bytes, or the never-used byte 0xc1. Linear in the input: every item costs a byte.
 */
export function prescan(b: Uint8Array, L: MsgpackLimits): void {
  const fail = (reason: string): never => {
    throw new MsgpackError(L.what, reason);
  };
  const n = b.length;
  if (n > L.maxBytes) fail(`is ${n} bytes, more than the ${L.maxBytes} allowed`);
  if (n === 0) fail('is not msgpack (it is empty)');
  // remaining[d]: values still to read in the open container at depth d (depth 0: the root value)
  const remaining = new Array<number>(L.maxDepth + 1).fill(0);
  remaining[0] = 1;
  let depth = 0;
  let items = 0;
  let pos = 0;
  const u8 = () => b[pos + 1]!;
  const u16 = () => (b[pos + 1]! << 8) | b[pos + 2]!;
  const u32 = () => ((b[pos + 1]! << 24) | (b[pos + 2]! << 16) | (b[pos + 3]! << 8) | b[pos + 4]!) >>> 0;
  const need = (k: number) => {
    if (n - pos < k) fail(`is not msgpack (cut short at byte ${pos})`);
  };
  /** a str/bin/ext body of `len` bytes after a header of `head` bytes */
  const body = (len: number, head: number, max: number, kind: string) => {
    // (the library checks this too before reading; most often the input was cut short)
    if (len > n - pos - head)
      fail(`is not msgpack (cut short: ${kind === 'ext' ? 'an' : 'a'} ${kind} of ${bytes(len)} with ${bytes(Math.max(0, n - pos - head))} left)`);
    if (len > max) fail(`holds ${kind === 'ext' ? 'an' : 'a'} ${kind} of ${bytes(len)}, more than the ${max} allowed`);
    pos += head + len;
  };
  const open = (count: number, head: number, isMap: boolean) => {
    const values = isMap ? 2 * count : count;
    pos += head;
    // each value takes at least a byte: a count beyond the bytes left is a lie, refused before anything is allocated
    if (values > n - pos) fail(`declares more items than it holds (${isMap ? 'a map of' : 'an array of'} ${count} with ${bytes(n - pos)} left)`);
    if (count > (isMap ? L.maxMap : L.maxArray))
      fail(`holds ${isMap ? 'a map' : 'an array'} of ${count} items, more than the ${isMap ? L.maxMap : L.maxArray} allowed`);
    if (values === 0) return;
    if (depth + 1 > L.maxDepth) fail(`nests deeper than ${L.maxDepth} levels`);
    items += values;
    if (items > L.maxItems) fail(`holds more than ${L.maxItems} items`);
    remaining[++depth] = values;
  };
  const strMax = L.rawStrings ? Math.max(L.maxStr, L.maxBin) : L.maxStr;
  for (;;) {
    while (depth > 0 && remaining[depth] === 0) depth--;
    if (remaining[depth] === 0) break; // the root value is complete
    remaining[depth]!--;
    need(1);
    const h = b[pos]!;
    if (h <= 0x7f || h >= 0xe0 || h === 0xc0 || h === 0xc2 || h === 0xc3) pos += 1;
    else if (h <= 0x8f) open(h & 0x0f, 1, true);
    else if (h <= 0x9f) open(h & 0x0f, 1, false);
    else if (h <= 0xbf) body(h & 0x1f, 1, strMax, 'string');
    else {
      switch (h) {
        case 0xcc:
        case 0xd0:
          need(2);
          pos += 2;
          break;
        case 0xcd:
        case 0xd1:
          need(3);
          pos += 3;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          need(5);
          pos += 5;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          need(9);
          pos += 9;
          break;
        case 0xd9:
          need(2);
          body(u8(), 2, strMax, 'string');
          break;
        case 0xda:
          need(3);
          body(u16(), 3, strMax, 'string');
          break;
        case 0xdb:
          need(5);
          body(u32(), 5, strMax, 'string');
          break;
        case 0xc4:
          need(2);
          body(u8(), 2, L.maxBin, 'bin');
          break;
        case 0xc5:
          need(3);
          body(u16(), 3, L.maxBin, 'bin');
          break;
        case 0xc6:
          need(5);
          body(u32(), 5, L.maxBin, 'bin');
          break;
        case 0xd4:
          body(1, 2, L.maxExt, 'ext');
          break;
        case 0xd5:
          body(2, 2, L.maxExt, 'ext');
          break;
        case 0xd6:
          body(4, 2, L.maxExt, 'ext');
          break;
        case 0xd7:
          body(8, 2, L.maxExt, 'ext');
          break;
        case 0xd8:
          body(16, 2, L.maxExt, 'ext');
          break;
        case 0xc7:
          need(2);
          body(u8(), 3, L.maxExt, 'ext');
          break;
        case 0xc8:
          need(3);
          body(u16(), 4, L.maxExt, 'ext');
          break;
        case 0xc9:
          need(5);
          body(u32(), 6, L.maxExt, 'ext');
          break;
        case 0xdc:
          need(3);
          open(u16(), 3, false);
          break;
        case 0xdd:
          need(5);
          open(u32(), 5, false);
          break;
        case 0xde:
          need(3);
          open(u16(), 3, true);
          break;
        case 0xdf:
          need(5);
          open(u32(), 5, true);
          break;
        default:
          fail(`is not msgpack (the never-used byte 0x${h.toString(16)} at byte ${pos})`); // 0xc1
      }
    }
  }
  if (pos !== n) fail(`is not msgpack (${bytes(n - pos)} after its end)`);
}

const bytes = (k: number) => `${k} byte${k === 1 ? '' : 's'}`;

const decoders = new WeakMap<MsgpackLimits, Decoder>();
const keyText = new TextDecoder('utf-8', { fatal: false });

/**
 * A map key: text or a number, or a bin taken as UTF-8 text (what we send the original Drayer has
 * bin keys: msgpack-bin.ts). The library refuses a str "__proto__" before this; a bin one is refused here.
 */
function binKey(key: unknown): string | number {
  if (typeof key === 'string' || typeof key === 'number') return key;
  const k = key instanceof Uint8Array ? keyText.decode(key) : null;
  if (k === null || k === '__proto__')
    throw new Error(k === null ? `The type of key must be string or number but ${typeof key}` : 'The key __proto__ is not allowed');
  return k;
}

function decoderFor(L: MsgpackLimits): Decoder {
  let d = decoders.get(L);
  if (!d) {
    d = new Decoder({
      useBigInt64: false,
      rawStrings: L.rawStrings ?? false,
      maxStrLength: L.maxStr,
      // under rawStrings the library applies the bin limit to str values
      maxBinLength: L.rawStrings ? Math.max(L.maxStr, L.maxBin) : L.maxBin,
      maxArrayLength: L.maxArray,
      maxMapLength: L.maxMap,
      maxExtLength: L.maxExt,
      mapKeyConverter: binKey,
    });
    decoders.set(L, d);
  }
  return d;
}

/**
 * Decode bytes from outside the process within `limits`, or throw a MsgpackError (a DrayerError)
 * saying what is wrong. Never allocates more than a small multiple of the input's size.
 */
export function decodeBounded(buf: Uint8Array, limits: MsgpackLimits): unknown {
  prescan(buf, limits);
  try {
    return decoderFor(limits).decode(buf);
  } catch (e) {
    // what the scan lets through and the library still refuses: a map key that is not a str or
    // int, "__proto__", a malformed timestamp extension
    throw new MsgpackError(limits.what, `is not usable msgpack (${(e as Error)?.message ?? String(e)})`);
  }
}

// ---------- values with a msgpack type, written by a stream's author ----------

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);

/** drayer/info as a map; name and about only when they are text. Throws MsgpackError otherwise. */
export function decodeInfo(val: Uint8Array): Record<string, unknown> {
  const v = decodeBounded(val, MSGPACK_LIMITS.info);
  if (!isMap(v)) throw new MsgpackError(MSGPACK_LIMITS.info.what, 'is not a map');
  const out = { ...v };
  if (out.name !== undefined && typeof out.name !== 'string') delete out.name;
  if (out.about !== undefined && typeof out.about !== 'string') delete out.about;
  return out;
}

/** Primary servers a reader takes from a stream's list (the writer refuses longer lists). */
export const MAX_PRIMARY_SERVERS = 16;

/** drayer/primaryServers: the http entries of its list, at most MAX_PRIMARY_SERVERS. Throws MsgpackError when it is no list. */
export function decodePrimaryServers(val: Uint8Array): PrimaryServer[] {
  const v = decodeBounded(val, MSGPACK_LIMITS.primaryServers);
  if (!Array.isArray(v)) throw new MsgpackError(MSGPACK_LIMITS.primaryServers.what, 'is not a list');
  return v.filter((x): x is PrimaryServer => isMap(x) && x.type === 'http' && typeof x.url === 'string').slice(0, MAX_PRIMARY_SERVERS);
}

/**
 * Why a record's value does not decode as its type requires, or null. For `verify`: a signature
 * proves who wrote a value, not that it is well-formed. Only Drayer's own `drayer` records are
 * checked: `file` is a type anyone may put any bytes under (files.ts reports a malformed file when read).
 */
export function valueProblem(type: string, key: string, val: Uint8Array | null): string | null {
  if (val === null) return null; // metadata-only copy: nothing to check yet
  try {
    if (type === 'drayer' && key === 'info') decodeInfo(val);
    else if (type === 'drayer' && key === 'primaryServers') decodePrimaryServers(val);
    else return null;
  } catch (e) {
    if (e instanceof MsgpackError) return `its value is not a valid ${e.what.replace(/^an? /, '')}: it ${e.reason}`;
    throw e;
  }
  return null;
}
