// Private announcements on the LAN (issue 18): the keys, tags and sealed items of a stream set to
// "announce privately", and a bounded reader of the packets that carry them.
//
// Why: a plain announcement names the stream's public key, and the key is all anyone needs to read
// a public stream. A private stream's announcements (its listing entries, its new records, asks
// for it) go out as items that only a node knowing the key can read; anyone else learns only that
// a Drayer node is there (its node id, port and name stay in its plain packets).
//
//   tagKey  = BLAKE2b-256("drayer/private/tag\0"  ‖ pk)        sealKey = BLAKE2b-256("drayer/private/seal\0" ‖ pk)
//   epoch   = floor(unix seconds / 3600)                        tag     = BLAKE2b-256(tagKey ‖ u64le(epoch))[0..16]
//   itemKey = BLAKE2b-256(sealKey ‖ sender node id ‖ u64le(epoch))
//   item    = [tag(16), nonce(24), XSalsa20-Poly1305(itemKey, nonce, msgpack(body))]
//   body    = ['a', mtip]  a listing entry  |  ['r', wire record without chain]  |  ['q', mod]  an ask
//   packet  = "DRY1" ‖ sender ‖ msgpack { t: 'p', p: http port, e: [item, ...] }   (at most 16 items, 1200 bytes)
//
// BLAKE2b is not open to length extension, so a hash of a secret prefix is a PRF (the same bytes
// with libsodium or its fallbacks, which have no keyed BLAKE2b in common). Tags change every hour,
// so a listener without the key cannot link a stream's announcements across hours (within one
// hour it sees the same tag again, and how many private streams a node holds). The item key
// binds the sender and the hour: an item replayed under another node id or later does not open.
// A listener precomputes the tags of the streams it holds for the hours around now (clocks may be
// off by up to an hour) and finds an item's stream in one map lookup; an item with an unknown tag
// costs nothing more, and only a known tag costs one hash and one open. Old nodes drop 'p' as
// an unknown message.
import { createRequire } from 'node:module';
import type nacl from 'tweetnacl';
import { blake2b256, randomBytes } from '../core/crypto.js';
import { MSGPACK_LIMITS } from '../core/msgpack.js';
import { checkRecord, decodeWire, type DrayerRecord, encodeWire, fromWire, toWire } from '../core/record.js';
import { frame, isPort, isUint, MAX_PACKET } from './discovery-wire.js';

export const EPOCH_MS = 3_600_000;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 24;
const MAC_BYTES = 16;
/** Items per packet at most: a packet with more is dropped whole, unread. */
export const MAX_PRIVATE_ITEMS = 16;

const require = createRequire(import.meta.url);
interface SecretBox {
  crypto_secretbox_easy(c: Uint8Array, m: Uint8Array, n: Uint8Array, k: Uint8Array): void;
  crypto_secretbox_open_easy(m: Uint8Array, c: Uint8Array, n: Uint8Array, k: Uint8Array): boolean;
}
// libsodium where it loads; tweetnacl's secretbox gives the same bytes
const sodium: SecretBox | null = (() => {
  try {
    return require('sodium-native') as SecretBox;
  } catch {
    return null;
  }
})();
let naclLib: typeof nacl | null = null;
const tweetnacl = (): typeof nacl => (naclLib ??= require('tweetnacl') as typeof nacl);

function seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Uint8Array {
  if (!sodium) return tweetnacl().secretbox(plain, nonce, key);
  const out = new Uint8Array(plain.length + MAC_BYTES);
  sodium.crypto_secretbox_easy(out, plain, nonce, key);
  return out;
}

function open(key: Uint8Array, nonce: Uint8Array, box: Uint8Array): Uint8Array | null {
  if (box.length < MAC_BYTES) return null;
  if (!sodium) return tweetnacl().secretbox.open(box, nonce, key);
  const out = new Uint8Array(box.length - MAC_BYTES);
  return sodium.crypto_secretbox_open_easy(out, box, nonce, key) ? out : null;
}

const utf8 = new TextEncoder();
const TAG_CONTEXT = utf8.encode('drayer/private/tag\0');
const SEAL_CONTEXT = utf8.encode('drayer/private/seal\0');

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** What a stream's public key gives for private announcements (derive once per stream). */
export interface PrivateKeys {
  publicKey: Uint8Array;
  tagKey: Uint8Array;
  sealKey: Uint8Array;
}

export function privateKeys(publicKey: Uint8Array): PrivateKeys {
  return { publicKey, tagKey: blake2b256(concat(TAG_CONTEXT, publicKey)), sealKey: blake2b256(concat(SEAL_CONTEXT, publicKey)) };
}

export const epochOf = (ms: number): number => Math.floor(ms / EPOCH_MS);

export function tagOf(keys: PrivateKeys, epoch: number): Uint8Array {
  return blake2b256(concat(keys.tagKey, u64le(epoch))).subarray(0, TAG_BYTES);
}

function itemKey(keys: PrivateKeys, sender: Uint8Array, epoch: number): Uint8Array {
  return blake2b256(concat(keys.sealKey, sender, u64le(epoch)));
}

/** What one item says, once opened. */
export type PrivateBody = { k: 'a'; mtip: number } | { k: 'q'; mod: number } | { k: 'r'; record: DrayerRecord };

function bodyBytes(b: PrivateBody, withValue = true): Uint8Array {
  if (b.k === 'r') {
    const { chain: _chain, ...wire } = toWire(b.record, !withValue); // the tag names the chain
    return encodeWire(['r', wire]);
  }
  return encodeWire(b.k === 'a' ? ['a', b.mtip] : ['q', b.mod]);
}

/** One sealed item for `keys`' stream, from `sender`, in `epoch`. */
export function sealItem(keys: PrivateKeys, sender: Uint8Array, epoch: number, b: PrivateBody, withValue = true): Uint8Array[] {
  const nonce = randomBytes(NONCE_BYTES);
  return [tagOf(keys, epoch), nonce, seal(itemKey(keys, sender, epoch), nonce, bodyBytes(b, withValue))];
}

/**
 * Packets holding `items` (sealed items): as many per packet as fit in MAX_PACKET, at most
 * MAX_PRIVATE_ITEMS each. An item that cannot fit alone is left out.
 */
export function buildPrivatePackets(sender: Uint8Array, port: number, items: Uint8Array[][]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let current: Uint8Array[][] = [];
  const flush = () => {
    if (current.length > 0) out.push(frame(sender, { t: 'p', p: port, e: current }));
    current = [];
  };
  for (const item of items) {
    const next = [...current, item];
    if (next.length <= MAX_PRIVATE_ITEMS && frame(sender, { t: 'p', p: port, e: next }).length <= MAX_PACKET) {
      current = next;
      continue;
    }
    flush();
    if (frame(sender, { t: 'p', p: port, e: [item] }).length <= MAX_PACKET) current = [item];
  }
  flush();
  return out;
}

/** A private packet's items, unopened, checked for shape; null drops the whole packet. */
export interface PrivatePacket {
  port: number;
  items: { tag: Uint8Array; nonce: Uint8Array; box: Uint8Array }[];
}

/** The body of a 'p' message (discovery-wire decodeMessage hands it on undecoded). */
export function readPrivate(body: Record<string, unknown>): PrivatePacket | null {
  const { p, e } = body;
  if (!isPort(p) || !Array.isArray(e) || e.length === 0 || e.length > MAX_PRIVATE_ITEMS) return null;
  const items: PrivatePacket['items'] = [];
  for (const x of e) {
    if (!Array.isArray(x) || x.length !== 3) return null;
    const [tag, nonce, box] = x as unknown[];
    if (!(tag instanceof Uint8Array) || tag.length !== TAG_BYTES) return null;
    if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) return null;
    if (!(box instanceof Uint8Array) || box.length < MAC_BYTES + 2 || box.length > MAX_PACKET) return null;
    items.push({ tag, nonce, box });
  }
  return { port: p, items };
}

/**
 * Open one item whose tag matched `keys` in `epoch`: its body, every field checked (a record's
 * chain is the stream's, its signature verified, its value hash-checked), or null (a bad seal, a
 * bad body).
 */
export function openItem(keys: PrivateKeys, sender: Uint8Array, epoch: number, item: { nonce: Uint8Array; box: Uint8Array }): PrivateBody | null {
  const plain = open(itemKey(keys, sender, epoch), item.nonce, item.box);
  if (!plain) return null;
  let b: unknown;
  try {
    b = decodeWire(plain, MSGPACK_LIMITS.discovery);
  } catch {
    return null;
  }
  if (!Array.isArray(b) || b.length !== 2) return null;
  const kind = b[0] instanceof Uint8Array ? new TextDecoder().decode(b[0]) : b[0];
  if (kind === 'a') return isUint(b[1]) ? { k: 'a', mtip: b[1] } : null;
  if (kind === 'q') return isUint(b[1]) ? { k: 'q', mod: b[1] } : null;
  if (kind !== 'r' || b[1] === null || typeof b[1] !== 'object' || Array.isArray(b[1])) return null;
  let r: DrayerRecord;
  try {
    r = fromWire(b[1], keys.publicKey); // a chain in the body must be the tag's (checkRecord)
  } catch {
    return null;
  }
  return checkRecord(r, keys.publicKey) === null ? { k: 'r', record: r } : null;
}
