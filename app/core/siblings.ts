// Sibling chains (DESIGN §9): the owner's drayer/siblings record, in the original Drayer's shape (a
// msgpack list of {pubkey, timestamp, from, to}), read into windows of time in which each device's
// chain counts as part of the stream. model/siblings.py is the executable model of these rules.
import { encode } from '@msgpack/msgpack';
import { DrayerError } from './errors.js';
import { decodeBounded, MsgpackError, type MsgpackLimits } from './msgpack.js';

export const SIBLINGS_TYPE = 'drayer';
export const SIBLINGS_KEY = 'siblings';
/** The first record of a device's chain, never deleted: without it the last record of a chain could not be deleted (no signed gap would cover it). */
export const DEVICE_KEY = 'device';

/** Most devices one stream lists (a list beyond it is cut: readers keep the first ones). */
export const MAX_SIBLINGS = 64;

const LIMITS: MsgpackLimits = {
  what: 'a drayer/siblings value',
  maxBytes: 64 * 1024,
  maxDepth: 3,
  maxItems: 8192,
  maxArray: 1024,
  maxMap: 16,
  maxStr: 4096,
  maxBin: 4096,
  maxExt: 16,
};

/** One device as the owner listed it. Times are µs, like every ts and mod; from/to 0 = open. */
export interface Sibling {
  pubkey: Uint8Array;
  /** when this entry was written; of two entries for one key the later wins (as in the original) */
  timestamp: number;
  from: number;
  to: number;
  /** a label for people ("laptop"); the original has none, and ignores it */
  name?: string;
}

/** Which records of a device's chain count: those with from <= mod <= to (to 0: no end yet). */
export interface Window {
  from: number;
  to: number;
}

const keyOf = (pk: Uint8Array): string => Buffer.from(pk).toString('base64');

const asInt = (v: unknown): number | null =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;

function field(m: unknown, k: string): unknown {
  if (m instanceof Map) return m.get(k);
  return m && typeof m === 'object' ? (m as Record<string, unknown>)[k] : undefined;
}

/** The entries of a drayer/siblings value; entries that are not well formed are skipped. Throws MsgpackError when it is no list. */
export function decodeSiblings(val: Uint8Array): Sibling[] {
  const v = decodeBounded(val, LIMITS);
  if (!Array.isArray(v)) throw new MsgpackError(LIMITS.what, 'is not a list');
  const out: Sibling[] = [];
  for (const e of v) {
    let pk = field(e, 'pubkey');
    if (typeof pk === 'string') pk = new Uint8Array(Buffer.from(pk, 'latin1')); // msgpack-python 0.x packs bytes as str
    const timestamp = asInt(field(e, 'timestamp'));
    const from = asInt(field(e, 'from'));
    const to = asInt(field(e, 'to'));
    if (!(pk instanceof Uint8Array) || pk.length !== 32 || timestamp === null || from === null || to === null) continue;
    const name = field(e, 'name');
    out.push({ pubkey: new Uint8Array(pk), timestamp, from, to, ...(typeof name === 'string' ? { name: name.slice(0, 200) } : {}) });
    if (out.length >= MAX_SIBLINGS) break;
  }
  return out;
}

export function encodeSiblings(list: Sibling[]): Uint8Array {
  return encode(list.map((s) => ({ pubkey: s.pubkey, timestamp: s.timestamp, from: s.from, to: s.to, ...(s.name ? { name: s.name } : {}) })));
}

/** Each listed key's window, the latest entry of each key winning. */
export function windowsOf(list: Sibling[]): Map<string, Window> {
  const latest = new Map<string, Sibling>();
  for (const s of list) {
    const k = keyOf(s.pubkey);
    const had = latest.get(k);
    if (!had || s.timestamp >= had.timestamp) latest.set(k, s);
  }
  return new Map([...latest].map(([k, s]) => [k, { from: s.from, to: s.to }]));
}

/** Whether a record of chain `chain` with modification time `mod` counts under `windows`. */
export function admits(windows: Map<string, Window>, chain: Uint8Array, mod: number): boolean {
  const w = windows.get(keyOf(chain));
  return w !== undefined && w.from <= mod && (w.to === 0 || mod <= w.to);
}

/**
 * Each device's chain numbers its records in a range of its own, so an id names one record in the
 * whole stream (the library's timeline, getById and the API key records by (stream, id)): the
 * owner's chain keeps ids below 2^36, a device's start at (1 + its key's first two bytes) × 2^36,
 * leaving each 68 billion records. Two devices of one stream may not share a range (device add refuses).
 */
export const ID_RANGE = 2 ** 36;
export function idRangeOf(pk: Uint8Array): { first: number; last: number } {
  const first = (1 + ((pk[0]! << 8) | pk[1]!)) * ID_RANGE;
  return { first, last: first + ID_RANGE - 1 };
}

/** Why a device's record is refused by its id, or null. */
export function idOutsideRange(chain: Uint8Array, id: number): string | null {
  const { first, last } = idRangeOf(chain);
  return id < first || id > last ? `its id ${id} lies outside its device's range (${first}–${last})` : null;
}

/** The list after adding (or re-adding) `pubkey` from `now` on. */
export function withDevice(list: Sibling[], pubkey: Uint8Array, now: number, name?: string): Sibling[] {
  if (pubkey.length !== 32) throw new DrayerError('INVALID_ARGUMENT', 'A device key is 32 bytes.');
  const k = keyOf(pubkey);
  const clash = list.find((s) => keyOf(s.pubkey) !== k && idRangeOf(s.pubkey).first === idRangeOf(pubkey).first);
  if (clash)
    throw new DrayerError(
      'INVALID_ARGUMENT',
      `That device key shares its record numbers with device ${keyOf(clash.pubkey)} (one in 65,536 keys does); run drayer device init again on the new device for a fresh key. Nothing was changed.`,
    );
  const others = list.filter((s) => keyOf(s.pubkey) !== k);
  if (others.length >= MAX_SIBLINGS) throw new DrayerError('INVALID_ARGUMENT', `A stream lists at most ${MAX_SIBLINGS} devices. Nothing was changed.`);
  return [...others, { pubkey, timestamp: now, from: now, to: 0, ...(name ? { name } : {}) }];
}

/**
 * The list after removing `pubkey`: its window ends at `to`, the newest mod of its chain this copy
 * holds, not the clock's now, so whoever keeps the removed device cannot add records the owner had
 * not seen (model/siblings.py, variant 'tip'). Its earlier records stay.
 */
export function withoutDevice(list: Sibling[], pubkey: Uint8Array, now: number, heldTip: number): Sibling[] {
  const k = keyOf(pubkey);
  const had = list.find((s) => keyOf(s.pubkey) === k);
  if (!had) throw new DrayerError('NOT_FOUND', `${k} is not a device of this stream (drayer device ls lists them). Nothing was changed.`);
  if (had.to !== 0) throw new DrayerError('INVALID_ARGUMENT', `${k} was removed already. Nothing was changed.`);
  // to must not be 0 (open): a device whose chain this copy never saw keeps only what lies at its start
  const to = Math.max(heldTip, had.from, 1);
  return list.map((s) => (keyOf(s.pubkey) === k ? { ...s, timestamp: Math.max(now, s.timestamp + 1), to } : s));
}
