// Private announcements on the LAN, running beside a Discovery (issue 18; the wire and the why in
// discovery-private-wire.ts). A stream set to "announce privately" is left out of the plain
// listings (the node's presence does that); here its listing entries, new records and asks go out
// sealed, on the same socket and within the same send rate, and the sealed items of streams held
// here are opened and handed to the node as the plain ones are: Discovery 'stream' and 'record'
// events, so a record announced privately is applied or pulled exactly as a plain one.
//
// Bounds: a packet holds at most 16 items (more: dropped unread); an unknown tag costs one map
// lookup; a known one one hash and one open (so at most 16 per packet, within Discovery's
// per-address packet rate); holders are kept only for streams held here, 64 per stream, expiring;
// the tags heard lately (to tell a stream being followed that its holders announce it privately,
// and who they are) 512 at most, with 4 small items each.
import { decodeMessage, hexOf, MAX_PACKET, readHeader, type AnnouncedStream } from './discovery-wire.js';
import { SUPPRESS_K } from './discovery-trickle.js';
import type { DrayerRecord } from '../core/record.js';
import { TokenBucket } from './rate.js';
import {
  buildPrivatePackets,
  epochOf,
  openItem,
  type PrivateKeys,
  privateKeys,
  readPrivate,
  sealItem,
  tagOf,
  MAX_PRIVATE_ITEMS,
} from './discovery-private-wire.js';
import type { Discovery, HelloEvent, Peer, RecordEvent, StreamEvent } from './discovery.js';

export interface PrivateOptions {
  /** the private streams this node serves, with their M-tips (announced sealed, never plain) */
  streams: () => AnnouncedStream[];
  /** one of them, when served privately */
  stream: (publicKey: Uint8Array) => AnnouncedStream | undefined;
  /** the keys of every stream held here: their sealed items are read */
  known: () => Iterable<Uint8Array>;
  httpPort: () => number;
  /** as Discovery's (default 30 s): the periodic private listing, and how long a holder is kept */
  announceIntervalMs?: number;
}

export interface PrivateStats {
  /** private packets sent, and items in them */
  sent: number;
  items: number;
  /** items opened (a stream held here), items with a tag not ours (skipped unopened), items whose seal or body failed */
  opened: number;
  unknown: number;
  badSeal: number;
  /** packets dropped unread: wrong shape, too many items, not the listing node's own */
  invalid: number;
  /** mirrored entries left out of periodic listings: others announced them at our M-tip (Trickle) */
  suppressed: number;
}

export interface PrivateHolder {
  address: string;
  port: number;
  nodeId: string;
  mtip: number;
}

const KNOWN_REFRESH_MS = 2000;
const HEARD_TAGS_MAX = 512;
/** only items of a listing's size are kept for a later follow (a record's would hold up to a packet each) */
const HEARD_BOX_MAX = 64;
const HOLDERS_PER_STREAM = 64;
const HELLO_ANSWER_MIN_MS = 100;
const HELLO_ANSWER_MAX_MS = 600;
const SPACING_MS = 1000;
/** listing packets per round at most; with more streams, rounds rotate through them */
const LIST_PACKETS = 8;

interface Heard {
  sender: Uint8Array;
  nodeId: string;
  address: string;
  port: number;
  nonce: Uint8Array;
  box: Uint8Array;
}
/** items kept per tag heard */
const HEARD_PER_TAG = 4;

interface Known {
  keys: PrivateKeys;
  /** hex tags for epochs e-1, e, e+1 */
  tags: string[];
}

export class PrivateLan {
  private readonly intervalMs: number;
  private readonly nodeId: Uint8Array;
  private running = false;
  private readonly known = new Map<string, Known>();
  /** tag (hex) → stream and epoch, for the streams held here */
  private readonly byTag = new Map<string, { k: Known; epoch: number }>();
  private knownEpoch = -1;
  private knownAt = 0;
  /** tags heard lately (hex), each with the last few items under it (a stream followed after it was heard learns its holders from them) */
  private readonly heardTags = new Map<string, Heard[]>();
  /** per stream: its holders, when each was last heard, and when last heard on the LAN itself (what Trickle counts) */
  private readonly holdersOf = new Map<string, Map<string, PrivateHolder & { at: number; lanAt: number }>>();
  private readonly answered = new Map<string, number>();
  private readonly newTags = new TokenBucket({ burst: 64, perSecond: 32 }, Date.now());
  private timer: NodeJS.Timeout | null = null;
  private soonTimer: NodeJS.Timeout | null = null;
  private lastList = 0;
  private readonly rotate = { lan: 0, http: 0 };
  private httpListing: { at: number; packets: Uint8Array[] } | null = null;
  private readonly counters: PrivateStats = { sent: 0, items: 0, opened: 0, unknown: 0, badSeal: 0, invalid: 0, suppressed: 0 };
  private readonly onPrivate = (x: { body: Record<string, unknown>; sender: Uint8Array; nodeId: string; address: string }) => this.receive(x);
  private readonly onHello = (_: HelloEvent) => this.listSoon(HELLO_ANSWER_MIN_MS + Math.random() * (HELLO_ANSWER_MAX_MS - HELLO_ANSWER_MIN_MS));
  private readonly onLost = (p: Peer) => {
    for (const [k, m] of this.holdersOf) {
      m.delete(`${p.address}/${p.nodeId}`);
      if (m.size === 0) this.holdersOf.delete(k);
    }
  };

  constructor(
    private readonly d: Discovery,
    nodeId: Uint8Array,
    private readonly opts: PrivateOptions,
  ) {
    this.nodeId = new Uint8Array(nodeId);
    this.intervalMs = Math.max(100, opts.announceIntervalMs ?? 30_000);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.d.on('private', this.onPrivate);
    this.d.on('hello', this.onHello);
    this.d.on('peerLost', this.onLost);
    this.listSoon(0);
  }

  stop(): void {
    this.running = false;
    this.d.off('private', this.onPrivate);
    this.d.off('hello', this.onHello);
    this.d.off('peerLost', this.onLost);
    for (const t of [this.timer, this.soonTimer]) if (t) clearTimeout(t);
    this.timer = this.soonTimer = null;
  }

  stats(): PrivateStats {
    return { ...this.counters };
  }

  /** The private streams served changed (a setting, a follow): list them soon (at most once a second). */
  listSoon(delayMs = 0): void {
    if (!this.running || this.soonTimer) return;
    const wait = Math.max(delayMs, this.lastList + SPACING_MS - Date.now());
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      this.list();
    }, wait);
    this.soonTimer.unref();
  }

  /** Tell LAN followers of a new record of a private stream, sealed (with its value when it fits). A mirror only when nothing on the LAN announced that M-tip. */
  announceRecord(publicKey: Uint8Array, record: DrayerRecord, mirror = false): void {
    if (!this.running) return;
    const k = hexOf(publicKey);
    if (mirror && [...(this.holdersOf.get(k)?.values() ?? [])].some((h) => h.mtip >= record.mod)) return;
    const keys = this.keysOf(publicKey);
    const epoch = epochOf(Date.now());
    const port = this.opts.httpPort();
    for (const withValue of record.val !== null ? [true, false] : [false]) {
      const packets = buildPrivatePackets(this.nodeId, port, [sealItem(keys, this.nodeId, epoch, { k: 'r', record }, withValue)]);
      if (packets.length === 1) return this.send(packets, 1);
    }
    // too big to announce even without its value (a long key): the new M-tip instead
    this.send(buildPrivatePackets(this.nodeId, port, [sealItem(keys, this.nodeId, epoch, { k: 'a', mtip: record.mod })]), 1);
  }

  /** Ask the LAN, sealed, for anything newer than `mod` of a stream held here. */
  ask(publicKey: Uint8Array, mod: number): void {
    if (!this.running) return;
    this.send(buildPrivatePackets(this.nodeId, this.opts.httpPort(), [sealItem(this.keysOf(publicKey), this.nodeId, epochOf(Date.now()), { k: 'q', mod })]), 1);
  }

  /** The computers that announced a stream privately lately, each with the M-tip it announced. */
  holders(publicKey: Uint8Array): PrivateHolder[] {
    const m = this.holdersOf.get(hexOf(publicKey));
    if (!m) return [];
    const now = Date.now();
    const out: PrivateHolder[] = [];
    for (const [key, h] of m) {
      if (now - h.at > this.holderTtl()) m.delete(key);
      else out.push({ address: h.address, port: h.port, nodeId: h.nodeId, mtip: h.mtip });
    }
    return out;
  }

  /** Whether another node announced this stream privately lately (heard before it was followed here, too). */
  heardPrivately(publicKey: Uint8Array): boolean {
    if (this.heardTags.size === 0) return false;
    const keys = this.keysOf(publicKey);
    const e = epochOf(Date.now());
    return [e - 1, e, e + 1].some((x) => this.heardTags.has(hexOf(tagOf(keys, x))));
  }

  // ---- sending ---------------------------------------------------------------------------

  private holderTtl(): number {
    return Math.max(3 * this.intervalMs, 90_000);
  }

  private keysOf(publicKey: Uint8Array): PrivateKeys {
    return this.known.get(hexOf(publicKey))?.keys ?? privateKeys(new Uint8Array(publicKey));
  }

  private send(packets: Uint8Array[], items: number): void {
    for (const p of packets) if (p.length <= MAX_PACKET) this.d.sendPacket(p);
    this.counters.sent += packets.length;
    this.counters.items += items;
  }

  /**
   * Every private stream served, sealed (rotating through them when they do not fit in a round),
   * then again in an interval. A mirrored stream that SUPPRESS_K others announced privately at our
   * M-tip or newer over the last interval is left out (Trickle, as discovery-listings.ts does for
   * plain ones): each stream then goes out a few times a period however many computers hold it.
   */
  private list(): void {
    if (!this.running) return;
    const now = Date.now();
    const since = Math.min(this.lastList || now, now - this.intervalMs);
    this.lastList = now;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.list(), this.intervalMs * (0.75 + Math.random() * 0.25));
    this.timer.unref();
    const all = this.opts.streams();
    const streams = all.filter((s) => s.own || this.othersAt(hexOf(s.publicKey), s.mtip, since) < SUPPRESS_K);
    this.counters.suppressed += all.length - streams.length;
    const packets = this.seal(streams, 'lan');
    this.send(packets.packets, packets.items);
  }

  /** Computers other than this one that announced stream `k` privately at `mtip` or newer since `since`. */
  private othersAt(k: string, mtip: number, since: number): number {
    let n = 0;
    for (const h of this.holdersOf.get(k)?.values() ?? []) if (h.lanAt >= since && h.mtip >= mtip) n++;
    return n;
  }

  /** Entries of `streams` sealed into at most LIST_PACKETS packets, rotating (per audience) through more. */
  private seal(streams: AnnouncedStream[], who: 'lan' | 'http'): { packets: Uint8Array[]; items: number } {
    if (streams.length === 0) return { packets: [], items: 0 };
    const per = LIST_PACKETS * MAX_PRIVATE_ITEMS;
    const rotate = this.rotate[who];
    const start = streams.length > per ? rotate % streams.length : 0;
    const chosen = [...streams.slice(start), ...streams.slice(0, start)].slice(0, per);
    this.rotate[who] = rotate + chosen.length;
    const epoch = epochOf(Date.now());
    const items = chosen.map((s) => sealItem(this.keysOf(s.publicKey), this.nodeId, epoch, { k: 'a', mtip: s.mtip }));
    return { packets: buildPrivatePackets(this.nodeId, this.opts.httpPort(), items).slice(0, LIST_PACKETS), items: items.length };
  }

  /**
   * The private listing as the LAN hears it, for the LAN server's JSON listing at `/`: a node that
   * found this one over mDNS (where our group is filtered) reads it there (hearSealed). It tells a
   * reader exactly what the multicast packets tell anyone on the LAN: nothing without a key.
   * Sealed at most once a second, however often it is asked for.
   */
  sealedListing(): Uint8Array[] {
    if (!this.running) return [];
    const now = Date.now();
    if (!this.httpListing || now - this.httpListing.at >= SPACING_MS) this.httpListing = { at: now, packets: this.seal(this.opts.streams(), 'http').packets };
    return this.httpListing.packets;
  }

  /**
   * Sealed packets a found node's HTTP listing carried (mdns-listing.ts): read as if heard from it
   * on the LAN, so a stream held here is found there as over multicast. Only packets under the
   * node's own id (an item opens only under its sender's id) and at most a round's worth.
   */
  hearSealed(packets: Uint8Array[], address: string, nodeId: string): void {
    for (const p of packets.slice(0, LIST_PACKETS)) {
      const sender = readHeader(p);
      const m = typeof sender === 'string' || hexOf(sender) !== nodeId ? null : decodeMessage(p);
      if (!m || m.t !== 'p' || typeof sender === 'string') {
        this.counters.invalid++;
        continue;
      }
      this.receive({ body: m.body, sender, nodeId, address }, true);
    }
  }

  // ---- receiving -------------------------------------------------------------------------

  /** The tags of the streams held here, for the hours around now: rebuilt when the hour turns, and read again every few seconds. */
  private refreshKnown(now: number): void {
    const epoch = epochOf(now);
    if (epoch === this.knownEpoch && now - this.knownAt < KNOWN_REFRESH_MS) return;
    const seen = new Set<string>();
    for (const pk of this.opts.known()) {
      const k = hexOf(pk);
      seen.add(k);
      if (!this.known.has(k) || epoch !== this.knownEpoch) this.known.set(k, { keys: this.known.get(k)?.keys ?? privateKeys(new Uint8Array(pk)), tags: [] });
    }
    for (const k of this.known.keys()) if (!seen.has(k)) this.known.delete(k);
    this.byTag.clear();
    for (const k of this.known.values()) {
      if (k.tags.length === 0) k.tags = [epoch - 1, epoch, epoch + 1].map((e) => hexOf(tagOf(k.keys, e)));
      k.tags.forEach((t, i) => this.byTag.set(t, { k, epoch: epoch - 1 + i }));
    }
    this.knownEpoch = epoch;
    this.knownAt = now;
  }

  /** `http`: read from a node's HTTP listing, not heard on the LAN (it then does not count for Trickle: nobody else heard it) */
  private receive(x: { body: Record<string, unknown>; sender: Uint8Array; nodeId: string; address: string }, http = false): void {
    if (!this.running) return;
    const pkt = readPrivate(x.body);
    if (!pkt) {
      this.counters.invalid++;
      return;
    }
    const now = Date.now();
    this.refreshKnown(now);
    for (const item of pkt.items) {
      const tag = hexOf(item.tag);
      const hit = this.byTag.get(tag);
      if (!hit) {
        this.counters.unknown++;
        // a LAN has few private streams: new tags beyond a rate (made-up ones) are not kept
        if (!this.heardTags.has(tag) && !this.newTags.take(now)) continue;
        // copies, small ones only: a view would keep the whole packet
        const keep = item.box.length <= HEARD_BOX_MAX;
        this.remember(
          tag,
          keep ? { sender: x.sender.slice(), nodeId: x.nodeId, address: x.address, port: pkt.port, nonce: item.nonce.slice(), box: item.box.slice() } : null,
        );
        continue;
      }
      if (!this.heardTags.has(tag)) this.remember(tag, null); // held here: opened now, its items need not be kept
      const body = openItem(hit.k.keys, x.sender, hit.epoch, item);
      if (!body) {
        this.counters.badSeal++;
        continue;
      }
      this.counters.opened++;
      const publicKey = hit.k.keys.publicKey;
      if (body.k === 'q') {
        this.answerAsk(publicKey, body.mod, now);
        continue;
      }
      const mtip = body.k === 'a' ? body.mtip : body.record.mod;
      this.noteHolder(publicKey, { address: x.address, port: pkt.port, nodeId: x.nodeId, mtip }, now, !http);
      if (body.k === 'a') {
        const ev: StreamEvent = { publicKey, mtip, address: x.address, port: pkt.port, nodeId: x.nodeId };
        this.d.emit('stream', ev);
      } else {
        const ev: RecordEvent = { record: body.record, address: x.address, port: pkt.port, nodeId: x.nodeId };
        this.d.emit('record', ev);
      }
    }
  }

  /** An item whose tag is not of a stream held here, kept (bounded) in case the stream is followed soon. */
  private remember(tag: string, h: Heard | null): void {
    let list = this.heardTags.get(tag);
    if (list) this.heardTags.delete(tag);
    else if (this.heardTags.size >= HEARD_TAGS_MAX) this.heardTags.delete(this.heardTags.keys().next().value as string);
    list = (list ?? []).filter((x) => !h || !(x.address === h.address && x.nodeId === h.nodeId));
    if (h) {
      if (list.length >= HEARD_PER_TAG) list.shift();
      list.push(h);
    }
    this.heardTags.set(tag, list);
  }

  /**
   * A stream just taken in (a follow by key): the holders heard announcing it privately before
   * it was held here, from the items kept, so the follow can ask them at once.
   */
  learn(publicKey: Uint8Array): number {
    const keys = this.keysOf(publicKey);
    const now = Date.now();
    const e = epochOf(now);
    let found = 0;
    for (const epoch of [e - 1, e, e + 1]) {
      for (const h of this.heardTags.get(hexOf(tagOf(keys, epoch))) ?? []) {
        const body = openItem(keys, h.sender, epoch, h);
        if (!body || body.k === 'q') continue;
        this.noteHolder(keys.publicKey, { address: h.address, port: h.port, nodeId: h.nodeId, mtip: body.k === 'a' ? body.mtip : body.record.mod }, now, false);
        found++;
      }
    }
    this.knownAt = 0; // read the streams held again at the next packet
    return found;
  }

  /** Every stream's private holders (for a sync round's one pass over the LAN's holders). */
  allHolders(): Map<string, PrivateHolder[]> {
    const out = new Map<string, PrivateHolder[]>();
    for (const k of [...this.holdersOf.keys()]) {
      const list = this.holders(Buffer.from(k, 'hex'));
      if (list.length > 0) out.set(k, list);
    }
    return out;
  }

  private noteHolder(publicKey: Uint8Array, h: PrivateHolder, now: number, onLan: boolean): void {
    const k = hexOf(publicKey);
    let m = this.holdersOf.get(k);
    if (!m) this.holdersOf.set(k, (m = new Map()));
    const key = `${h.address}/${h.nodeId}`;
    const old = m.get(key);
    m.delete(key);
    if (m.size >= HOLDERS_PER_STREAM) m.delete(m.keys().next().value as string);
    m.set(key, { ...h, mtip: Math.max(h.mtip, old?.mtip ?? 0), at: now, lanAt: onLan ? now : (old?.lanAt ?? 0) });
  }

  /** A sealed ask for a stream we serve privately: announce ours when newer (once a second per stream). */
  private answerAsk(publicKey: Uint8Array, mod: number, now: number): void {
    const mine = this.opts.stream(publicKey);
    if (!mine || mine.mtip <= mod) return;
    const k = hexOf(publicKey);
    if (now - (this.answered.get(k) ?? 0) < SPACING_MS) return;
    if (this.answered.size >= 1024) this.answered.clear();
    this.answered.set(k, now);
    this.send(
      buildPrivatePackets(this.nodeId, this.opts.httpPort(), [sealItem(this.keysOf(publicKey), this.nodeId, epochOf(now), { k: 'a', mtip: mine.mtip })]),
      1,
    );
  }
}
