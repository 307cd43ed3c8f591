// The original Drayer's LAN packets (the Python reference, EternityForest/drayer), on our group and
// port (DESIGN §5): magic ab c1 61 29, then a msgpack map; no sender id, no size limit of its own.
//
//   record           { mtype, chain(32), id, key, hash(32), sig(64), prev, prevch, mod, httpport }
//                    sent by its writer at every write and, for each stream it holds, at its sync
//                    (every 2 h): "my tip of `chain` is `mod`, pull it from my HTTP port". It has
//                    no `type` and no `ts`, which the signature covers, so it is checked as the
//                    original writes its records (ts = mod) for the types it writes; one that does
//                    not verify so (a delete re-issues a record with its old ts) is still a
//                    holder's M-tip, as an unsigned `a` listing entry of ours is.
//   getRecordsSince  { mtype, chain(32), time }  sent at its sync of each stream it holds: "anything
//                    newer than `time`?"; a holder answers with a `record` packet.
//
// It reads packets with `d[b"mtype"]`: with msgpack-python ≥ 1.0 (Debian's), str keys come out as
// text and that lookup fails (so two originals there do not hear each other), while bin keys come
// out as bytes under both 0.x and 1.x. So the packets we send have bin keys and bin values where it
// compares bytes, plus a `node` field (our node id) by which our nodes skip them (they hear the
// same news in our own packets).
import { verify } from '../core/crypto.js';
import { decodeBounded, MSGPACK_LIMITS } from '../core/msgpack.js';
import { encodeBin } from '../core/msgpack-bin.js';
import { checkShape, type DrayerRecord, LIMITS, writeSigningBytes } from '../core/record.js';
import { isKey, isPort, isUint, NODE_ID_BYTES } from './discovery-wire.js';

/** "\xab\xc1a)": the original's PLAINTEXT_DRAYERUDP. */
export const ORIGINAL_MAGIC = new Uint8Array([0xab, 0xc1, 0x61, 0x29]);
/** Larger packets are dropped unread (the original puts a record's key, ≤ 4096 bytes here, in each). */
export const MAX_ORIGINAL_PACKET = MSGPACK_LIMITS.originalPacket.maxBytes + ORIGINAL_MAGIC.length;

/**
 * Record types an announcement is checked against, most likely first: what the original and its
 * apps write (obj, file, drayer, publicSocialPost) and our post. Each is one signature check.
 */
export const ORIGINAL_TYPES = ['publicSocialPost', 'obj', 'file', 'drayer', 'post'] as const;

export interface OriginalRecordMessage {
  t: 'record';
  chain: Uint8Array;
  mod: number;
  /** the announcer's HTTP port */
  port: number;
  /** the record announced (without its value), when its signature verified as the original writes; null otherwise */
  record: DrayerRecord | null;
}

export interface OriginalAskMessage {
  t: 'ask';
  chain: Uint8Array;
  mod: number;
}

export type OriginalMessage = OriginalRecordMessage | OriginalAskMessage;

export const isOriginalPacket = (packet: Uint8Array): boolean =>
  packet.length >= ORIGINAL_MAGIC.length &&
  packet[0] === ORIGINAL_MAGIC[0] &&
  packet[1] === ORIGINAL_MAGIC[1] &&
  packet[2] === ORIGINAL_MAGIC[2] &&
  packet[3] === ORIGINAL_MAGIC[3];

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const text = (v: unknown): string | null => {
  if (typeof v === 'string') return v;
  if (!(v instanceof Uint8Array)) return null;
  try {
    return strictUtf8.decode(v);
  } catch {
    return null;
  }
};

/**
 * The message of an original Drayer packet (magic included), every field checked; 'ours' for one a
 * node of ours sent (it has a `node` field); null when it is too large, malformed, or of a kind we do not read.
 */
export function decodeOriginal(packet: Uint8Array): OriginalMessage | 'ours' | null {
  if (packet.length > MAX_ORIGINAL_PACKET || !isOriginalPacket(packet)) return null;
  let body: unknown;
  try {
    body = decodeBounded(packet.subarray(ORIGINAL_MAGIC.length), MSGPACK_LIMITS.originalPacket);
  } catch {
    return null;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Uint8Array) return null;
  const m = body as Record<string, unknown>;
  if (m.node !== undefined) return 'ours'; // see above
  const kind = text(m.mtype);
  const chain = m.chain;
  if (!isKey(chain)) return null;
  if (kind === 'getRecordsSince') return isUint(m.time) ? { t: 'ask', chain: new Uint8Array(chain), mod: m.time } : null;
  if (kind !== 'record') return null;
  const { id, prev, prevch, mod, hash, sig, httpport } = m;
  const key = text(m.key);
  if (!isUint(mod) || mod < 1 || !isPort(httpport) || httpport === 0) return null;
  if (!isUint(id) || !isUint(prev) || !isUint(prevch) || key === null || !(hash instanceof Uint8Array) || !(sig instanceof Uint8Array)) return null;
  const out: OriginalRecordMessage = { t: 'record', chain: new Uint8Array(chain), mod, port: httpport, record: null };
  const base = { id, key, val: null, hash: new Uint8Array(hash), ts: mod, mod, prev, prevch, sig: new Uint8Array(sig), chain: out.chain };
  if (checkShape({ ...base, type: 'obj' }) !== null) return out;
  const bytes = new Uint8Array(136);
  const view = new DataView(bytes.buffer);
  for (const type of ORIGINAL_TYPES) {
    const r: DrayerRecord = { ...base, type };
    if (verify(writeSigningBytes(r, bytes, view), r.sig, r.chain)) {
      out.record = r;
      break;
    }
  }
  return out;
}

// ---- encoding (bin keys: see above) -------------------------------------------------------

function withMagic(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(ORIGINAL_MAGIC.length + body.length);
  out.set(ORIGINAL_MAGIC, 0);
  out.set(body, ORIGINAL_MAGIC.length);
  return out;
}

/**
 * The `record` packet an original reads (it pulls `chain` from our HTTP port when `mod` is newer
 * than its copy), from node `nodeId`; null when the record cannot be sent so (a key too long).
 */
export function encodeOriginalRecord(r: DrayerRecord, httpPort: number, nodeId: Uint8Array): Uint8Array | null {
  const key = utf8.encode(r.key);
  if (key.length > LIMITS.keyBytes || nodeId.length !== NODE_ID_BYTES || r.mod < 0 || r.prev < 0 || r.prevch < 0) return null;
  const { hash, id, sig, prev, prevch, mod, chain } = r;
  return withMagic(encodeBin({ mtype: 'record', hash, key, id, sig, prev, prevch, mod, httpport: httpPort, chain, node: nodeId }));
}

/** An answer to an ask: a `record` packet of only what the original reads of one (mtype, chain, mod, httpport). */
export function encodeOriginalTip(chain: Uint8Array, mod: number, httpPort: number, nodeId: Uint8Array): Uint8Array {
  return withMagic(encodeBin({ mtype: 'record', mod, httpport: httpPort, chain, node: nodeId }));
}
