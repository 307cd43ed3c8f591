// LAN discovery (DESIGN §5): UDP multicast on 224.7.130.8:15723 (the original Drayer's).
//
// Every packet is  "DRY1" ‖ sender node id (16 bytes) ‖ msgpack map,  at most 1200 bytes.
// The node id sits in a fixed header so a node drops its own looped-back packets without
// decoding them. Packets without the magic, larger than the limit, malformed, or beyond a
// sender's rate are dropped and counted; nothing a packet says is ever written anywhere:
// record announcements are signature-checked and can only make the node pull.
//
// What a packet says is unauthenticated and node ids cost nothing to make up, so what other
// hosts can make a node hold is bounded per source address and in total (least recently heard
// evicted first), a peer is known by its address and node id together (so nobody can take over
// another's entry), and an announced interval counts only up to MAX_PEER_INTERVAL_MS.
//
// Messages (the map's `t`):
//   'a' announce  { p: http port, nm: name, v: announce interval (ms),
//                   s: [[pk(32), mtip, name?], ...], q: round, i: part, c: parts, f: 1 if the
//                   round's parts list every stream the node serves }
//   'q' ask       { k: pk(32), m: mod }   "anything newer than mod m for chain k?"
//   'r' record    { p: http port, r: wire record without its value (val nil) }
//   'h' hello     {}   "who is there?": sent by a node that starts, rejoins the group, or whose
//                 LAN addresses changed, so it need not wait up to an announce interval for the
//                 others. Every node answers with its announcement, once for all the hellos heard
//                 within a second, after a random delay (so a LAN's nodes do not answer at once).
//                 Older nodes drop it as an unknown message; other fields are ignored.
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { bytesEqual } from '../core/crypto.js';
import { MSGPACK_LIMITS } from '../core/msgpack.js';
import { checkRecord, decodeWire, DrayerRecord, encodeWire, fromWire, toWire } from '../core/record.js';
import { cleanName as cleanText } from '../core/text.js';

export const MULTICAST_GROUP = '224.7.130.8';
export const MULTICAST_PORT = 15723;
/** 4-byte magic, ASCII "DRY1": packets without it are not ours. */
export const MAGIC = new Uint8Array([0x44, 0x52, 0x59, 0x31]);
/** No packet larger than this is ever sent; larger ones are dropped on receipt. */
export const MAX_PACKET = 1200;
export const NODE_ID_BYTES = 16;
const HEADER = MAGIC.length + NODE_ID_BYTES;

export interface AnnouncedStream {
  publicKey: Uint8Array;
  /** the stream's M-tip mod (µs), so a receiver knows if it is behind */
  mtip: number;
  name?: string;
}

export interface Peer {
  /** hex */
  nodeId: string;
  address: string;
  port: number;
  name: string;
  streams: AnnouncedStream[];
  /** ms since epoch */
  lastSeen: number;
}

export interface RateLimit {
  burst: number;
  perSecond: number;
}

export interface DiscoveryOptions {
  /** 16 random bytes identifying this node (stable across restarts) */
  nodeId: Uint8Array;
  httpPort: () => number;
  name: () => string;
  streams: () => AnnouncedStream[];
  group?: string;
  port?: number;
  /** periodic announce interval, default 30 s (jittered down by up to 25%) */
  announceIntervalMs?: number;
  /** bind/multicast interface address; default: all */
  interface?: string;
  /** receive limit per sender address, default burst 20, 10 packets/s */
  rateLimit?: RateLimit;
  /** known peers kept at most (least recently heard evicted), default 256 */
  maxPeers?: number;
}

export interface StreamEvent {
  publicKey: Uint8Array;
  mtip: number;
  name?: string;
  address: string;
  port: number;
  nodeId: string;
}

export interface RecordEvent {
  record: DrayerRecord;
  address: string;
  port: number;
  nodeId: string;
}

export interface HelloEvent {
  address: string;
  nodeId: string;
}

export interface AskEvent {
  publicKey: Uint8Array;
  mod: number;
  address: string;
  nodeId: string;
}

export interface NearbyStream {
  publicKey: Uint8Array;
  name?: string;
  mtip: number;
  peers: { address: string; port: number; nodeId: string }[];
}

export interface DiscoveryStats {
  /** packets sent (the kernel took them) */
  sent: number;
  /** packets from other nodes accepted for processing */
  received: number;
  /** packets discarded (sum of the reasons below) */
  dropped: number;
  rateLimited: number;
  oversize: number;
  /** wrong magic, undecodable, wrong shape, or a record whose signature does not verify */
  invalid: number;
  /** our own packets looped back (ignored, not counted as dropped) */
  own: number;
  /** packets we did not send because they would exceed MAX_PACKET or our own send rate */
  unsent: number;
  /** send or socket errors */
  errors: number;
}

const NAME_BYTES = 64; // display and stream names are cut to this many UTF-8 bytes
// One address may be a few nodes on one machine, not more. What they list together holds a
// full announce round (16 packets, at most ~420 streams); a node serving more rotates through
// them (see sendAnnounce), so the least recently heard make room.
const MAX_PEERS_PER_ADDRESS = 8;
const MAX_STREAMS_PER_ADDRESS = 512;
/** Stream entries (stream, peer) kept over all peers: a few hundred bytes each. */
const MAX_STREAMS = 4096;
/**
 * The longest announce interval believed. A peer is forgotten after 3 missed intervals, so a
 * claimed hour would keep it (and what it listed) for 3 h; 2 min, four times our default,
 * leaves room for quieter nodes and forgets a silent one within about 6 minutes.
 */
export const MAX_PEER_INTERVAL_MS = 120_000;
const MAX_ANNOUNCE_PARTS = 16; // 160-400 streams; beyond this, announces rotate through them
const MIN_ANNOUNCE_SPACING_MS = 500; // announceNow() coalesces within this window
const ASK_ANSWER_SPACING_MS = 1000; // per stream
// Hellos cost the asker one small packet and every node an announcement: answers are at most
// one a second however many hellos arrive (hellos are unauthenticated and cost nothing to send).
const HELLO_ANSWER_SPACING_MS = 1000;
// The answer waits a random part of this window: 100 ms alone, wider on a crowded LAN so the
// answers (and the asker's receive buffer and rate limits) are spread, at most 1 s.
const HELLO_JITTER_MIN_MS = 100;
const HELLO_JITTER_PER_PEER_MS = 10;
const HELLO_JITTER_MAX_MS = 1000;
/** Our own hellos: at most one a second; one unanswered hello (lost, say on Wi-Fi) is repeated once. */
const HELLO_SPACING_MS = 1000;
/** How often the LAN addresses are compared (os.networkInterfaces(): one getifaddrs call). */
const NETWORK_CHECK_MS = 3000;
const RATE_BUCKETS_MAX = 1024;
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 60_000;
const WARN_REPEAT_MS = 60_000;
const EXPIRY_SLACK_MS = 500;

const utf8 = new TextEncoder();
const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

/** Cleaned as every shown name is (text.ts), cut to at most `maxBytes` of UTF-8 without splitting a character. */
export function cleanName(s: unknown, maxBytes = NAME_BYTES): string {
  const str = cleanText(typeof s === 'string' ? s : s instanceof Uint8Array ? utf8Lenient.decode(s) : '');
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

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function frame(nodeId: Uint8Array, body: Record<string, unknown>): Uint8Array {
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
  info: { port: number; name: string; intervalMs: number; round: number; partial?: boolean },
  streams: AnnouncedStream[],
  maxParts = MAX_ANNOUNCE_PARTS,
): { packets: Uint8Array[]; covered: number } {
  const base = {
    t: 'a', p: info.port, nm: cleanName(info.name), v: info.intervalMs, q: info.round >>> 0,
    i: 0, c: 0xff, f: 0, // placeholders of the largest encoded size, fixed below
  };
  const parts: unknown[][] = [];
  let current: unknown[] = [];
  const baseSize = frame(nodeId, { ...base, s: [] }).length + 3; // + array header growth
  let size = baseSize;
  let covered = 0;
  for (const s of streams) {
    const entry = streamEntry(s);
    const entrySize = encodeWire(entry).length;
    if (baseSize + entrySize > MAX_PACKET) { covered++; continue; } // cannot ever fit: skip it
    if (size + entrySize > MAX_PACKET) {
      parts.push(current);
      if (parts.length >= maxParts) { current = []; break; }
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

export class TokenBucket {
  tokens: number;
  last: number;
  constructor(readonly limit: RateLimit, now: number) {
    this.tokens = limit.burst;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface PeerState {
  /** address and node id: the map key */
  key: string;
  nodeId: string;
  address: string;
  port: number;
  name: string;
  /** least recently heard first; `q` marks the full announce round the stream was listed in */
  streams: Map<string, AnnouncedStream & { seen: number; q?: number }>;
  lastSeen: number;
  intervalMs: number;
  /** parts received of the current full announce round */
  round?: { q: number; c: number; parts: Set<number> };
}

/** What the peers heard from one address hold, to bound it. */
interface AddressState {
  peers: Set<PeerState>;
  streams: number;
}

type Msg = Record<string, unknown>;

const isUint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isPort = (n: unknown): n is number => isUint(n) && n <= 65535;
const isKey = (b: unknown): b is Uint8Array => b instanceof Uint8Array && b.length === 32;

export class Discovery extends EventEmitter {
  private readonly opts: DiscoveryOptions;
  private readonly nodeId: Uint8Array;
  private readonly group: string;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly limit: RateLimit;
  private readonly maxPeers: number;

  private socket: dgram.Socket | null = null;
  private running = false;
  private joined = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private announceTimer: NodeJS.Timeout | null = null;
  private coalesceTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private networkTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private helloRetryTimer: NodeJS.Timeout | null = null;
  private helloAnswerTimer: NodeJS.Timeout | null = null;
  private lastAnnounce = 0;
  private lastHello = 0;
  /** when the last hello arrived */
  private helloHeard = 0;
  private lastHelloAnswer = 0;
  /** last accepted announcement from anyone (an answered hello needs no repeat) */
  private lastHeard = 0;
  private networkKey = '';
  private round = 0;
  private rotate = 0;

  /** by address and node id, least recently heard first */
  private readonly peerMap = new Map<string, PeerState>();
  private readonly addresses = new Map<string, AddressState>();
  private streamCount = 0;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly globalBucket: TokenBucket;
  private readonly sendBucket: TokenBucket;
  private readonly answered = new Map<string, { at: number; mtip: number }>();
  private readonly warned = new Map<string, number>();
  private readonly counters: DiscoveryStats = {
    sent: 0, received: 0, dropped: 0, rateLimited: 0, oversize: 0, invalid: 0, own: 0, unsent: 0, errors: 0,
  };

  constructor(opts: DiscoveryOptions) {
    super();
    if (!(opts.nodeId instanceof Uint8Array) || opts.nodeId.length !== NODE_ID_BYTES) {
      throw new TypeError(`a discovery node id is ${NODE_ID_BYTES} bytes`);
    }
    this.opts = opts;
    this.nodeId = new Uint8Array(opts.nodeId);
    this.group = opts.group ?? MULTICAST_GROUP;
    this.port = opts.port ?? MULTICAST_PORT;
    this.intervalMs = Math.max(100, opts.announceIntervalMs ?? 30_000);
    this.limit = opts.rateLimit ?? { burst: 20, perSecond: 10 };
    this.maxPeers = Math.max(1, opts.maxPeers ?? 256);
    const now = Date.now();
    this.globalBucket = new TokenBucket({ burst: this.limit.burst * 10, perSecond: this.limit.perSecond * 10 }, now);
    // never send faster than a receiver accepts from one address
    this.sendBucket = new TokenBucket(this.limit, now);
  }

  /** Opens the socket and announces. Resolves even when the network refuses (see 'warning'). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.networkKey = networkKey() ?? '';
    await this.open();
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(this.intervalMs, 10_000));
    this.sweepTimer.unref();
    this.networkTimer = setInterval(() => this.checkNetwork(), NETWORK_CHECK_MS);
    this.networkTimer.unref();
    this.announceNow();
    this.helloNow();
  }

  /** Closes the socket and clears every timer: nothing keeps the process alive afterwards. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of [this.retryTimer, this.announceTimer, this.coalesceTimer, this.helloTimer, this.helloRetryTimer, this.helloAnswerTimer]) {
      if (t) clearTimeout(t);
    }
    for (const t of [this.sweepTimer, this.networkTimer]) if (t) clearInterval(t);
    this.retryTimer = this.announceTimer = this.coalesceTimer = this.sweepTimer = this.networkTimer = null;
    this.helloTimer = this.helloRetryTimer = this.helloAnswerTimer = null;
    await this.sayGoodbye();
    await this.closeSocket();
  }

  /** Announce our streams now (rate limited: calls within 500 ms are coalesced into one). */
  announceNow(): void {
    if (!this.running) return;
    const wait = this.lastAnnounce + MIN_ANNOUNCE_SPACING_MS - Date.now();
    if (wait > 0) {
      if (!this.coalesceTimer) {
        this.coalesceTimer = setTimeout(() => {
          this.coalesceTimer = null;
          this.announceNow();
        }, wait);
        this.coalesceTimer.unref();
      }
      return;
    }
    this.lastAnnounce = Date.now();
    this.sendAnnounce();
    this.schedulePeriodic();
  }

  /**
   * Ask the LAN who is there (a 'h' packet): every node answers with its announcement, so a
   * node that starts or changes networks fills "nearby" within a second instead of an announce
   * interval. At most one a second (later calls are coalesced); if nobody announced anything
   * within a second of it, it is repeated once.
   */
  private helloNow(retry = false): void {
    if (!this.running) return;
    const wait = this.lastHello + HELLO_SPACING_MS - Date.now();
    if (wait > 0) {
      if (!this.helloTimer) {
        this.helloTimer = setTimeout(() => {
          this.helloTimer = null;
          this.helloNow(retry);
        }, wait);
        this.helloTimer.unref();
      }
      return;
    }
    this.lastHello = Date.now();
    this.send(frame(this.nodeId, { t: 'h' }));
    if (retry || this.helloRetryTimer) return;
    const sentAt = this.lastHello;
    this.helloRetryTimer = setTimeout(() => {
      this.helloRetryTimer = null;
      if (this.lastHeard < sentAt) this.helloNow(true);
    }, HELLO_SPACING_MS);
    this.helloRetryTimer.unref();
  }

  /**
   * New or changed LAN addresses (another network, a cable plugged in, Wi-Fi back): join the
   * group on the new ones, announce, and ask who is there, as at start.
   */
  private checkNetwork(): void {
    if (!this.running) return;
    const key = networkKey();
    if (key === null || key === this.networkKey) return;
    this.networkKey = key;
    if (!this.socket) return; // the open retry announces and says hello once it succeeds
    this.join(true);
    if (!this.joined) return; // likewise the join retry
    this.announceNow();
    this.helloNow();
  }

  /** Tell LAN followers about a new record (metadata only) so they pull within a second. */
  announceRecord(streamKey: Uint8Array, record: DrayerRecord): void {
    if (!this.running) return;
    if (!bytesEqual(record.chain, streamKey)) {
      this.warn('chain', 'not announcing a record of another chain (sibling chains are not supported)');
      return;
    }
    const packet = frame(this.nodeId, { t: 'r', p: this.safePort(), r: toWire(record, true) });
    if (packet.length > MAX_PACKET) {
      // too big to announce (a long key): announce the stream's new M-tip instead
      this.counters.unsent++;
      const s = this.safeStreams().find((x) => bytesEqual(x.publicKey, streamKey));
      this.announceStreams([{ publicKey: streamKey, mtip: Math.max(record.mod, s?.mtip ?? 0), name: s?.name }], false);
      return;
    }
    this.send(packet);
  }

  /** Ask the LAN: "anything newer than `mod` for chain `streamKey`?" Nodes that have it announce it. */
  ask(streamKey: Uint8Array, mod: number): void {
    if (!this.running) return;
    if (!isKey(streamKey) || !isUint(mod)) throw new TypeError('ask needs a 32-byte stream key and a non-negative integer mod');
    this.send(frame(this.nodeId, { t: 'q', k: streamKey, m: mod }));
  }

  peers(): Peer[] {
    const now = Date.now();
    const out: Peer[] = [];
    for (const p of this.peerMap.values()) if (!this.expired(p, now)) out.push(this.publicPeer(p, now));
    return out;
  }

  nearby(): NearbyStream[] {
    const now = Date.now();
    const by = new Map<string, NearbyStream>();
    for (const p of this.peerMap.values()) {
      if (this.expired(p, now)) continue;
      for (const [k, s] of p.streams) {
        if (!this.streamFresh(p, s.seen, now)) continue;
        let n = by.get(k);
        if (!n) by.set(k, (n = { publicKey: s.publicKey, mtip: s.mtip, peers: [] }));
        if (s.name && !n.name) n.name = s.name;
        n.mtip = Math.max(n.mtip, s.mtip);
        n.peers.push({ address: p.address, port: p.port, nodeId: p.nodeId });
      }
    }
    return [...by.values()];
  }

  stats(): DiscoveryStats {
    return { ...this.counters };
  }

  // ---- socket ----------------------------------------------------------------------------

  private async open(): Promise<void> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = sock;
    sock.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    const ok = await new Promise<boolean>((resolve) => {
      const onError = (err: Error): void => {
        this.warn('bind', `cannot open the discovery socket on port ${this.port}: ${err.message}`, err);
        resolve(false);
      };
      sock.once('error', onError);
      sock.once('close', () => resolve(false)); // stop() during bind
      // Bound to all addresses: a socket bound to one unicast address does not receive multicast.
      sock.bind({ port: this.port, exclusive: false }, () => {
        sock.off('error', onError);
        resolve(true);
      });
    });
    if (!ok || !this.running || this.socket !== sock) {
      if (this.socket === sock) this.socket = null;
      await closeQuietly(sock);
      this.scheduleRetry();
      return;
    }
    sock.on('error', (err) => {
      this.counters.errors++;
      this.warn('socket', `discovery socket error: ${err.message}`, err);
    });
    try {
      sock.setMulticastTTL(1); // never routed off the local link
      sock.setMulticastLoopback(true); // several nodes on one machine hear each other
      if (this.opts.interface) sock.setMulticastInterface(this.opts.interface);
    } catch (err) {
      this.warn('sockopt', `cannot configure multicast: ${(err as Error).message}`, err);
    }
    this.join();
  }

  /** Join the group on the default interface and every LAN address; `again` after a network change. */
  private join(again = false): void {
    const sock = this.socket;
    if (!sock || (this.joined && !again)) return;
    const ifaces = this.opts.interface ? [this.opts.interface] : [undefined, ...lanAddresses()];
    let any = false;
    let lastErr: Error | null = null;
    for (const iface of ifaces) {
      try {
        sock.addMembership(this.group, iface);
        any = true;
      } catch (err) {
        // EADDRINUSE: already joined through the default interface
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') any = true;
        else lastErr = err as Error;
      }
    }
    this.joined = any;
    if (any) this.retryMs = RETRY_MIN_MS;
    else {
      this.counters.errors++;
      this.warn('join', `cannot join multicast group ${this.group} (no multicast route?): ${lastErr?.message ?? 'unknown error'}; retrying`, lastErr);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.running) return;
      // back on the network: as at start, announce and ask who is there
      if (!this.socket) {
        void this.open().then(() => {
          this.announceNow();
          this.helloNow();
        });
      } else {
        this.join();
        if (this.joined) {
          this.announceNow();
          this.helloNow();
        }
      }
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * A 'b' packet: this node leaves, so others drop it from Nearby at once instead of after its
   * announcements stop (minutes). Best effort, waited for at most 200 ms. Anyone could send one
   * in another node's name; the worst it does is hide that node until its next announcement.
   */
  private sayGoodbye(): Promise<void> {
    const sock = this.socket;
    if (!sock || !this.joined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 200);
      try {
        sock.send(frame(this.nodeId, { t: 'b' }), this.port, this.group, (err) => {
          if (!err) this.counters.sent++;
          clearTimeout(t);
          resolve();
        });
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }

  private async closeSocket(): Promise<void> {
    const sock = this.socket;
    this.socket = null;
    this.joined = false;
    if (sock) await closeQuietly(sock);
  }

  private send(packet: Uint8Array): void {
    const sock = this.socket;
    if (!sock || !this.running) return;
    if (packet.length > MAX_PACKET || !this.sendBucket.take(Date.now())) {
      this.counters.unsent++;
      return;
    }
    try {
      sock.send(packet, this.port, this.group, (err) => {
        if (!err) this.counters.sent++;
        else {
          this.counters.errors++;
          this.warn(`send:${(err as NodeJS.ErrnoException).code ?? ''}`, `cannot send discovery packet: ${err.message}`, err);
          if (!this.joined) this.scheduleRetry();
          else this.checkNetwork(); // the network may have changed since the last check
        }
      });
    } catch (err) {
      this.counters.errors++;
      this.warn('send', `cannot send discovery packet: ${(err as Error).message}`, err);
    }
  }

  /** A 'warning' event (never 'error': discovery trouble must not crash the node), de-duplicated. */
  private warn(key: string, message: string, cause?: unknown): void {
    const now = Date.now();
    const last = this.warned.get(key);
    if (last !== undefined && now - last < WARN_REPEAT_MS) return;
    if (this.warned.size > 64) this.warned.clear();
    this.warned.set(key, now);
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    this.emit('warning', { message, code });
  }

  // ---- sending ---------------------------------------------------------------------------

  private schedulePeriodic(): void {
    if (this.announceTimer) clearTimeout(this.announceTimer);
    if (!this.running) return;
    const delay = this.intervalMs * (0.75 + Math.random() * 0.25); // jittered, never late
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null;
      if (!this.joined) this.join();
      this.announceNow();
    }, delay);
    this.announceTimer.unref();
  }

  private safePort(): number {
    try {
      const p = this.opts.httpPort();
      return isPort(p) ? p : 0;
    } catch {
      return 0;
    }
  }

  private safeName(): string {
    try {
      return cleanName(this.opts.name());
    } catch {
      return '';
    }
  }

  private safeStreams(): AnnouncedStream[] {
    try {
      return this.opts.streams().filter((s) => isKey(s.publicKey) && isUint(s.mtip));
    } catch (err) {
      this.warn('streams', `cannot list streams to announce: ${(err as Error).message}`, err);
      return [];
    }
  }

  private sendAnnounce(): void {
    const all = this.safeStreams();
    let list = all;
    if (this.rotate > 0 && this.rotate < all.length) list = [...all.slice(this.rotate), ...all.slice(0, this.rotate)];
    const covered = this.announceStreams(list, true);
    this.rotate = covered >= all.length ? 0 : (this.rotate + covered) % all.length;
  }

  /** Returns how many of `streams` the packets covered. */
  private announceStreams(streams: AnnouncedStream[], periodic: boolean): number {
    this.round = (this.round + 1) >>> 0;
    // a partial answer (to an ask, for a long record) must not read as "all my streams"
    const { packets, covered } = buildAnnouncePackets(
      this.nodeId,
      { port: this.safePort(), name: this.safeName(), intervalMs: this.intervalMs, round: this.round, partial: !periodic },
      streams,
      periodic ? MAX_ANNOUNCE_PARTS : 1,
    );
    for (const p of packets) this.send(p);
    return covered;
  }

  // ---- receiving -------------------------------------------------------------------------

  private drop(reason: 'rateLimited' | 'oversize' | 'invalid'): void {
    this.counters.dropped++;
    this.counters[reason]++;
  }

  private onPacket(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      this.handlePacket(msg, rinfo.address);
    } catch (err) {
      // a bug or an unforeseen packet shape must never take the node down
      this.drop('invalid');
      this.warn('handler', `discovery packet handling failed: ${(err as Error).message}`, err);
    }
  }

  private handlePacket(msg: Buffer, address: string): void {
    if (!this.running) return;
    if (msg.length > MAX_PACKET) return this.drop('oversize');
    if (msg.length <= HEADER || !bytesEqual(msg.subarray(0, MAGIC.length), MAGIC)) return this.drop('invalid');
    const sender = msg.subarray(MAGIC.length, HEADER);
    if (bytesEqual(sender, this.nodeId)) {
      this.counters.own++;
      return;
    }
    const now = Date.now();
    if (!this.bucketFor(address, now).take(now) || !this.globalBucket.take(now)) return this.drop('rateLimited');
    let body: unknown;
    try {
      body = decodeWire(msg.subarray(HEADER), MSGPACK_LIMITS.discovery);
    } catch {
      return this.drop('invalid');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Uint8Array) return this.drop('invalid');
    const m = body as Msg;
    const t = typeof m.t === 'string' ? m.t : m.t instanceof Uint8Array ? utf8Lenient.decode(m.t) : '';
    const nodeId = hexOf(sender);
    let ok = false;
    if (t === 'a') ok = this.onAnnounce(m, nodeId, address, now);
    else if (t === 'q') ok = this.onAsk(m, nodeId, address, now);
    else if (t === 'r') ok = this.onRecord(m, nodeId, address);
    else if (t === 'h') ok = this.onHello(nodeId, address, now);
    else if (t === 'b') ok = this.onGoodbye(nodeId, address, now);
    if (!ok) return this.drop('invalid');
    this.counters.received++;
  }

  private bucketFor(address: string, now: number): TokenBucket {
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= RATE_BUCKETS_MAX) {
        // evict the oldest-created bucket (buckets refill within 2 s, so little is lost)
        this.buckets.delete(this.buckets.keys().next().value as string);
      }
      b = new TokenBucket(this.limit, now);
      this.buckets.set(address, b);
    }
    return b;
  }

  private onAnnounce(m: Msg, nodeId: string, address: string, now: number): boolean {
    const port = m.p;
    const entries = m.s;
    if (!isPort(port) || !Array.isArray(entries)) return false;
    const parsed: AnnouncedStream[] = [];
    for (const e of entries) {
      if (!Array.isArray(e) || e.length < 2 || !isKey(e[0]) || !isUint(e[1])) return false;
      const name = e.length > 2 && e[2] != null ? cleanName(e[2]) : '';
      parsed.push(name ? { publicKey: new Uint8Array(e[0]), mtip: e[1], name } : { publicKey: new Uint8Array(e[0]), mtip: e[1] });
    }
    const name = cleanName(m.nm);
    const interval = isUint(m.v) ? Math.min(MAX_PEER_INTERVAL_MS, Math.max(100, m.v)) : this.intervalMs;

    const key = `${address}/${nodeId}`;
    let p = this.peerMap.get(key);
    let changed = false;
    if (!p) {
      p = { key, nodeId, address, port, name, streams: new Map(), lastSeen: now, intervalMs: interval };
      this.addPeer(p);
      changed = true;
    } else {
      if (p.port !== port || p.name !== name) changed = true;
      p.port = port;
      p.name = name;
      p.lastSeen = now;
      p.intervalMs = interval;
      // keep the map ordered by last sighting so eviction takes the stalest peer
      this.peerMap.delete(key);
      this.peerMap.set(key, p);
    }

    // a complete round (every part, flag f) lists all the peer's streams: forget the others
    const full = m.f === 1 && isUint(m.q) && isUint(m.i) && isUint(m.c) && m.c >= 1 && m.c <= 64 && m.i < m.c;
    for (const s of parsed) {
      const k = hexOf(s.publicKey);
      const old = p.streams.get(k);
      if (!old || old.mtip !== s.mtip || old.name !== s.name) changed = true;
      this.putStream(p, k, { ...s, seen: now, q: full ? (m.q as number) : old?.q });
    }
    if (full) {
      const q = m.q as number;
      const c = m.c as number;
      if (!p.round || p.round.q !== q || p.round.c !== c) p.round = { q, c, parts: new Set() };
      p.round.parts.add(m.i as number);
      if (p.round.parts.size === p.round.c) {
        for (const [k, s] of [...p.streams]) {
          if (s.q !== q) {
            this.dropStream(p, k);
            changed = true;
          }
        }
        p.round = undefined;
      }
    }

    this.lastHeard = now;
    if (changed) this.emit('peer', this.publicPeer(p, now));
    for (const s of parsed) {
      const ev: StreamEvent = { publicKey: s.publicKey, mtip: s.mtip, address, port, nodeId };
      if (s.name) ev.name = s.name;
      this.emit('stream', ev);
    }
    return true;
  }

  private onAsk(m: Msg, nodeId: string, address: string, now: number): boolean {
    if (!isKey(m.k) || !isUint(m.m)) return false;
    const publicKey = new Uint8Array(m.k);
    const mod = m.m;
    const ev: AskEvent = { publicKey, mod, address, nodeId };
    this.emit('ask', ev);
    const mine = this.safeStreams().find((s) => bytesEqual(s.publicKey, publicKey));
    if (mine && mine.mtip > mod) {
      const k = hexOf(publicKey);
      const last = this.answered.get(k);
      // our multicast answer reached every asker: do not repeat it within a second
      if (!last || now - last.at >= ASK_ANSWER_SPACING_MS || last.mtip < mine.mtip) {
        if (this.answered.size >= 1024) this.answered.clear();
        this.answered.set(k, { at: now, mtip: mine.mtip });
        this.announceStreams([mine], false);
      }
    }
    return true;
  }

  /**
   * Someone asks who is there: answer with our announcement, after a random delay, and at most
   * once a second however many ask; every hello heard before the answer goes shares it.
   */
  private onHello(nodeId: string, address: string, now: number): boolean {
    const ev: HelloEvent = { address, nodeId };
    this.emit('hello', ev);
    this.helloHeard = now;
    if (this.helloAnswerTimer) return true; // the pending answer answers this one too
    const window = Math.min(HELLO_JITTER_MAX_MS, HELLO_JITTER_MIN_MS + HELLO_JITTER_PER_PEER_MS * this.peerMap.size);
    const delay = Math.max(0, this.lastHelloAnswer + HELLO_ANSWER_SPACING_MS - now) + Math.random() * window;
    this.helloAnswerTimer = setTimeout(() => {
      this.helloAnswerTimer = null;
      if (!this.running) return;
      // an announcement that went out after the last hello arrived (a change, the periodic one) answered it
      if (this.lastAnnounce > this.helloHeard) return;
      this.lastHelloAnswer = this.lastAnnounce = Date.now();
      this.sendAnnounce();
      this.schedulePeriodic();
    }, delay);
    this.helloAnswerTimer.unref();
    return true;
  }

  /** A node leaves: forget it and its streams now. */
  private onGoodbye(nodeId: string, address: string, now: number): boolean {
    const p = this.peerMap.get(`${address}/${nodeId}`);
    if (p) {
      this.dropPeer(p);
      this.emit('peerLost', this.publicPeer(p, now));
    }
    return true;
  }

  private onRecord(m: Msg, nodeId: string, address: string): boolean {
    if (!isPort(m.p) || m.p === 0 || m.r === null || typeof m.r !== 'object') return false;
    let record: DrayerRecord;
    try {
      record = fromWire(m.r, new Uint8Array(0)); // no chain in the packet: rejected below
    } catch {
      return false;
    }
    if (checkRecord(record, record.chain) !== null) return false;
    record.val = null; // it can only trigger a pull
    const ev: RecordEvent = { record, address, port: m.p, nodeId };
    this.emit('record', ev);
    return true;
  }

  // ---- state -----------------------------------------------------------------------------

  private expired(p: PeerState, now: number): boolean {
    return now - p.lastSeen > 3 * p.intervalMs + EXPIRY_SLACK_MS;
  }

  private streamFresh(p: PeerState, seen: number, now: number): boolean {
    return now - seen <= 3 * p.intervalMs + EXPIRY_SLACK_MS;
  }

  private publicPeer(p: PeerState, now: number): Peer {
    const streams: AnnouncedStream[] = [];
    for (const s of p.streams.values()) {
      if (!this.streamFresh(p, s.seen, now)) continue;
      streams.push(s.name ? { publicKey: s.publicKey, mtip: s.mtip, name: s.name } : { publicKey: s.publicKey, mtip: s.mtip });
    }
    return { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name, streams, lastSeen: p.lastSeen };
  }

  /** A new peer, making room for it: first among its address's peers, then among all. */
  private addPeer(p: PeerState): void {
    const mine = this.addresses.get(p.address);
    if (mine && mine.peers.size >= MAX_PEERS_PER_ADDRESS) this.dropPeer(stalest(mine.peers));
    if (this.peerMap.size >= this.maxPeers) this.dropPeer(this.peerMap.values().next().value!);
    let a = this.addresses.get(p.address);
    if (!a) this.addresses.set(p.address, (a = { peers: new Set(), streams: 0 }));
    a.peers.add(p);
    this.peerMap.set(p.key, p);
  }

  private dropPeer(p: PeerState): void {
    this.peerMap.delete(p.key);
    this.streamCount -= p.streams.size;
    const a = this.addresses.get(p.address);
    if (!a) return;
    a.peers.delete(p);
    a.streams -= p.streams.size;
    if (a.peers.size === 0) this.addresses.delete(p.address);
  }

  /** Add or refresh a stream entry; a new one first makes room within its address, then overall. */
  private putStream(p: PeerState, k: string, entry: AnnouncedStream & { seen: number; q?: number }): void {
    if (p.streams.delete(k)) {
      p.streams.set(k, entry); // to the end: most recently heard
      return;
    }
    const a = this.addresses.get(p.address)!;
    if (a.streams >= MAX_STREAMS_PER_ADDRESS) {
      // the least recently heard entry among this address's peers (each peer's first is its oldest)
      let victim: PeerState | undefined;
      let oldest = Infinity;
      for (const q of a.peers) {
        const first = q.streams.values().next();
        if (!first.done && first.value.seen < oldest) {
          oldest = first.value.seen;
          victim = q;
        }
      }
      if (victim) this.dropStream(victim, victim.streams.keys().next().value!);
    }
    if (this.streamCount >= MAX_STREAMS) {
      // the oldest entry of the least recently heard peer that has any
      for (const q of this.peerMap.values()) {
        if (q.streams.size === 0) continue;
        this.dropStream(q, q.streams.keys().next().value!);
        break;
      }
    }
    p.streams.set(k, entry);
    this.streamCount++;
    a.streams++;
  }

  private dropStream(p: PeerState, k: string): void {
    if (!p.streams.delete(k)) return;
    this.streamCount--;
    const a = this.addresses.get(p.address);
    if (a) a.streams--;
  }

  private sweep(): void {
    const now = Date.now();
    for (const p of [...this.peerMap.values()]) {
      if (this.expired(p, now)) {
        this.dropPeer(p);
        this.emit('peerLost', this.publicPeer(p, now));
      } else {
        for (const [k, s] of [...p.streams]) if (!this.streamFresh(p, s.seen, now)) this.dropStream(p, k);
      }
    }
    for (const [k, a] of this.answered) if (now - a.at > ASK_ANSWER_SPACING_MS) this.answered.delete(k);
    for (const [addr, b] of this.buckets) {
      if (now - b.last > 60_000) this.buckets.delete(addr);
    }
  }
}

function stalest(peers: Iterable<PeerState>): PeerState {
  let out: PeerState | undefined;
  for (const p of peers) if (!out || p.lastSeen < out.lastSeen) out = p;
  return out!;
}

/** IPv4 addresses of this machine's non-loopback interfaces (to join the group on each). */
function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

/** The machine's LAN addresses by interface, to notice a network change; null if unreadable. */
function networkKey(): string | null {
  try {
    const out: string[] = [];
    for (const [name, list] of Object.entries(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(`${name}=${a.address}`);
    }
    return out.sort().join(',');
  } catch {
    return null; // some sandboxes refuse getifaddrs: no change detection, nothing else lost
  }
}

function closeQuietly(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
