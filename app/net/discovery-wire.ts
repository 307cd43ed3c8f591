// The LAN discovery wire protocol (DESIGN §5): how packets are framed and built, and a bounded
// decoder that turns bytes from the LAN into checked messages (or a reason to drop them).
//
// Every packet is  "DRY1" ‖ sender node id (16 bytes) ‖ msgpack map,  at most 1200 bytes.
// The node id sits in a fixed header so a node drops its own looped-back packets without
// decoding them. Packets without the magic, larger than the limit, malformed, or beyond a
// sender's rate are dropped and counted; nothing a packet says is ever written anywhere:
// record announcements are signature-checked (and their value, when they carry one, hash-checked).
//
// Messages (the map's `t`):
//   'a' announce  { p: http port, nm: name, v: announce interval (ms),
//                   s: [[pk(32), mtip, name?], ...], q: round, i: part, c: parts, f: 1 if the
//                   round's parts list every stream the node serves,
//                   h?: holdings digest (8 bytes): names the set of streams the node serves }
//                 A full listing (f=1) goes out at start, in answer to a hello, and whenever the
//                 served set (so `h`) changed. The periodic announcement in between is
//                 Trickle-like (RFC 6206): it always lists the streams the node writes, but a
//                 mirrored stream only when fewer than 2 others announced it at the same or a
//                 newer M-tip since the node's last periodic one; a node that hears a stream
//                 announced at an older M-tip than its own announces it soon. So each stream
//                 is listed about 2-3 times a period however many hold it: bytes linear in N.
//                 A receiver keeps what the last full listing said while the node announces the
//                 same `h`; a different `h` without the full listing (lost) makes it ask that
//                 node (a targeted hello). Older nodes ignore `h` and always list everything.
//   'q' ask       { k: pk(32), m: mod }   "anything newer than mod m for chain k?"
//   'r' record    { p: http port, r: wire record, with its value when the packet stays within
//                 1200 bytes (a short post), else without it (val nil) }. A follower applies a
//                 record with its value as it would from a pull (DESIGN §3's rules take any
//                 signed record, in any order, from anyone), so a short post needs no HTTP at
//                 all; one without its value makes it pull. Older nodes drop the value and pull.
//   'h' hello     {}   "who is there?": sent by a node that starts, rejoins the group, or whose
//                 LAN addresses changed, so it need not wait up to an announce interval for the
//                 others. Every node answers with its announcement, once for all the hellos heard
//                 within a second, after a random delay (so a LAN's nodes do not answer at once).
//                 Older nodes drop it as an unknown message; other fields are ignored.
//                 { n?: node id(16) }: only that node answers (with its full listing); older
//                 nodes answer it as any hello.
//   'b' goodbye   {}   the node leaves (best effort; see Discovery.stop).
//   'p' private   { p: http port, e: sealed items }: a private stream's announcements, readable only
//                 with its key (discovery-private-wire.ts); handed on undecoded.
import { bytesEqual } from '../core/crypto.js';
import { MSGPACK_LIMITS } from '../core/msgpack.js';
import { checkRecord, decodeWire, type DrayerRecord, encodeWire, fromWire } from '../core/record.js';
import { cleanName as cleanText } from '../core/text.js';

export const MULTICAST_GROUP = '224.7.130.8';
export const MULTICAST_PORT = 15723;
/** 4-byte magic, ASCII "DRY1": packets without it are not ours. */
export const MAGIC = new Uint8Array([0x44, 0x52, 0x59, 0x31]);
/** No packet larger than this is ever sent; larger ones are dropped on receipt. */
export const MAX_PACKET = 1200;
export const NODE_ID_BYTES = 16;
const HEADER = MAGIC.length + NODE_ID_BYTES;
/** Announce packets per round: 160-400 streams; beyond this, announces rotate through them. */
export const MAX_ANNOUNCE_PARTS = 16;

const NAME_BYTES = 64; // display and stream names are cut to this many UTF-8 bytes

export interface AnnouncedStream {
  publicKey: Uint8Array;
  /** the stream's M-tip mod (µs), so a receiver knows if it is behind */
  mtip: number;
  name?: string;
  /** this node writes the stream (never sent: a writer always lists its streams, see above) */
  own?: boolean;
}

/** Size of the holdings digest `h`. */
export const DIGEST_BYTES = 8;

const utf8 = new TextEncoder();
const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

/**
 * Names cleaned lately, raw → cleaned: a LAN's listings repeat the same few names (every holder of
 * a stream names it), and cleaning each entry of each listing heard was a third of reading them.
 * Bounded: emptied when full.
 */
const cleaned = new Map<string, string>();
const CLEANED_MAX = 2048;
const CLEANED_RAW_MAX = 256;

/** Cleaned as every shown name is (text.ts), cut to at most `maxBytes` of UTF-8 without splitting a character. */
export function cleanName(s: unknown, maxBytes = NAME_BYTES): string {
  const raw = typeof s === 'string' ? s : s instanceof Uint8Array ? utf8Lenient.decode(s) : '';
  if (maxBytes !== NAME_BYTES || raw.length > CLEANED_RAW_MAX) return cleanCut(raw, maxBytes);
  let out = cleaned.get(raw);
  if (out === undefined) {
    out = cleanCut(raw, maxBytes);
    if (cleaned.size >= CLEANED_MAX) cleaned.clear();
    cleaned.set(raw, out);
  }
  return out;
}

function cleanCut(raw: string, maxBytes: number): string {
  const str = cleanText(raw);
  if (utf8.encode(str).length <= maxBytes) return str;
  let out = '';
  let n = 0;
  for (const ch of str) {
    const b = utf8.encode(ch).length;
    if (n + b > maxBytes) break;
    out += ch;
    n += b;
  }
  return out;
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export const isUint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
export const isPort = (n: unknown): n is number => isUint(n) && n <= 65535;
export const isKey = (b: unknown): b is Uint8Array => b instanceof Uint8Array && b.length === 32;

// ---- encoding ----------------------------------------------------------------------------

/** A packet: the header (magic, sender) and the message. */
export function frame(nodeId: Uint8Array, body: Record<string, unknown>): Uint8Array {
  const payload = encodeWire(body);
  const out = new Uint8Array(HEADER + payload.length);
  out.set(MAGIC, 0);
  out.set(nodeId, MAGIC.length);
  out.set(payload, HEADER);
  return out;
}

function streamEntry(s: AnnouncedStream): unknown[] {
  const name = s.name ? cleanName(s.name) : '';
  return name ? [s.publicKey, s.mtip, name] : [s.publicKey, s.mtip];
}

/**
 * The announce packets for a list of streams: as many streams per packet as fit in MAX_PACKET,
 * at most `maxParts` packets (the caller rotates `streams` to cover the rest over time).
 */
export function buildAnnouncePackets(
  nodeId: Uint8Array,
  info: { port: number; name: string; intervalMs: number; round: number; partial?: boolean; digest?: Uint8Array },
  streams: AnnouncedStream[],
  maxParts = MAX_ANNOUNCE_PARTS,
): { packets: Uint8Array[]; covered: number } {
  const base = {
    t: 'a',
    p: info.port,
    nm: cleanName(info.name),
    v: info.intervalMs,
    q: info.round >>> 0,
    i: 0,
    c: 0xff,
    f: 0, // placeholders of the largest encoded size, fixed below
    ...(info.digest ? { h: info.digest } : {}),
  };
  const parts: unknown[][] = [];
  let current: unknown[] = [];
  const baseSize = frame(nodeId, { ...base, s: [] }).length + 3; // + array header growth
  let size = baseSize;
  let covered = 0;
  for (const s of streams) {
    const entry = streamEntry(s);
    const entrySize = encodeWire(entry).length;
    if (baseSize + entrySize > MAX_PACKET) {
      covered++;
      continue;
    } // cannot ever fit: skip it
    if (size + entrySize > MAX_PACKET) {
      parts.push(current);
      if (parts.length >= maxParts) {
        current = [];
        break;
      }
      current = [];
      size = baseSize;
    }
    current.push(entry);
    size += entrySize;
    covered++;
  }
  if (current.length > 0 || parts.length === 0) parts.push(current);
  // f=1 tells receivers these parts list every stream we serve (so they forget the others)
  const full = !info.partial && covered >= streams.length ? 1 : 0;
  const packets = parts.map((s, i) => frame(nodeId, { ...base, i, c: parts.length, f: full, s }));
  return { packets, covered };
}

// ---- decoding ----------------------------------------------------------------------------

/** Why a packet is dropped: the names of DiscoveryStats counters. */
export type DropReason = 'oversize' | 'invalid';

/**
 * The sender of a packet, from its fixed header (before anything is decoded), or why the packet
 * is not ours. The caller compares the sender with itself and rate-limits before decoding.
 */
export function readHeader(packet: Uint8Array): Uint8Array | DropReason {
  if (packet.length > MAX_PACKET) return 'oversize';
  if (packet.length <= HEADER || !bytesEqual(packet.subarray(0, MAGIC.length), MAGIC)) return 'invalid';
  return packet.subarray(MAGIC.length, HEADER);
}

export interface AnnounceMessage {
  t: 'a';
  port: number;
  /** cleaned display name ('' when none) */
  name: string;
  /** the announce interval the sender claims, if it gave a valid one (not yet capped) */
  intervalMs?: number;
  streams: AnnouncedStream[];
  /** set when the packet is part `i` of `c` of a full round `q` (flag f): it lists every stream */
  full?: { q: number; i: number; c: number };
  /** hex of the holdings digest `h`, when the sender gave one (newer nodes) */
  digest?: string;
}

export type DiscoveryMessage =
  | AnnounceMessage
  | { t: 'q'; publicKey: Uint8Array; mod: number }
  | { t: 'r'; port: number; record: DrayerRecord }
  | { t: 'h'; target?: string }
  | { t: 'b' }
  | { t: 'p'; body: Record<string, unknown> };

type Msg = Record<string, unknown>;

/**
 * The message of a packet whose header `readHeader` accepted, every field checked (bounded
 * msgpack, names cleaned and cut, a record's signature verified), or null when it is malformed or
 * of an unknown type.
 */
export function decodeMessage(packet: Uint8Array): DiscoveryMessage | null {
  let body: unknown;
  try {
    body = decodeWire(packet.subarray(HEADER), MSGPACK_LIMITS.discovery);
  } catch {
    return null;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Uint8Array) return null;
  const m = body as Msg;
  const t = typeof m.t === 'string' ? m.t : m.t instanceof Uint8Array ? utf8Lenient.decode(m.t) : '';
  if (t === 'a') return announce(m);
  if (t === 'q') return isKey(m.k) && isUint(m.m) ? { t, publicKey: new Uint8Array(m.k), mod: m.m } : null;
  if (t === 'r') return record(m);
  if (t === 'h') return m.n instanceof Uint8Array && m.n.length === NODE_ID_BYTES ? { t, target: hexOf(m.n) } : { t };
  if (t === 'b') return { t };
  if (t === 'p') return { t, body: m };
  return null;
}

function announce(m: Msg): AnnounceMessage | null {
  const port = m.p;
  const entries = m.s;
  if (!isPort(port) || !Array.isArray(entries)) return null;
  const streams: AnnouncedStream[] = [];
  for (const e of entries) {
    if (!Array.isArray(e) || e.length < 2 || !isKey(e[0]) || !isUint(e[1])) return null;
    const name = e.length > 2 && e[2] != null ? cleanName(e[2]) : '';
    streams.push(name ? { publicKey: new Uint8Array(e[0]), mtip: e[1], name } : { publicKey: new Uint8Array(e[0]), mtip: e[1] });
  }
  const out: AnnounceMessage = { t: 'a', port, name: cleanName(m.nm), streams };
  if (isUint(m.v)) out.intervalMs = m.v;
  const { q, i, c } = m;
  if (m.h instanceof Uint8Array && m.h.length === DIGEST_BYTES) out.digest = hexOf(m.h);
  if (m.f === 1 && isUint(q) && isUint(i) && isUint(c) && c >= 1 && c <= 64 && i < c) out.full = { q, i, c };
  return out;
}

function record(m: Msg): { t: 'r'; port: number; record: DrayerRecord } | null {
  if (!isPort(m.p) || m.p === 0 || m.r === null || typeof m.r !== 'object') return null;
  let r: DrayerRecord;
  try {
    r = fromWire(m.r, new Uint8Array(0)); // no chain in the packet: rejected below
  } catch {
    return null;
  }
  if (checkRecord(r, r.chain) !== null) return null; // the signature, and the value's hash when it has one
  return { t: 'r', port: m.p, record: r };
}
