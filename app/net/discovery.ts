// LAN discovery (DESIGN §5): UDP multicast on 224.7.130.8:15723 (the original Drayer's). This
// file runs it: the socket and group membership, when to announce, ask and say hello, and which
// packets to take in (rate limits), as events for the node. What goes on the wire is in
// discovery-wire.ts, what our announcements list in discovery-listings.ts; what is heard is held,
// within bounds, in discovery-peers.ts.
import type * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { bytesEqual } from '../core/crypto.js';
import { type DrayerRecord, toWire } from '../core/record.js';
import { type NearbyStream, type Peer, PeerTable } from './discovery-peers.js';
import { GroupSocket, networkKey } from './discovery-socket.js';
import {
  type AskEvent,
  type DiscoveryOptions,
  type DiscoveryStats,
  type HelloEvent,
  newDiscoveryStats,
  type PeerChangedEvent,
  type RecordEvent,
  type StreamEvent,
} from './discovery-types.js';
import { FullAsks, LanTips } from './discovery-trickle.js';
import { Listings, Ours } from './discovery-listings.js';
import {
  MIN_ANNOUNCE_SPACING_MS,
  ANNOUNCE_SPACING_PER_PEER_MS,
  MAX_ANNOUNCE_SPACING_MS,
  ASK_ANSWER_SPACING_MS,
  HELLO_ANSWER_SPACING_MS,
  HELLO_JITTER_MIN_MS,
  HELLO_JITTER_PER_PEER_MS,
  HELLO_JITTER_MAX_MS,
  HELLO_SPACING_MS,
  NETWORK_CHECK_MS,
  RATE_BUCKETS_MAX,
  WARN_REPEAT_MS,
  NEWER_DELAY_MIN_MS,
  NEWER_DELAY_MAX_MS,
  NEWER_SPACING_MS,
  FULL_ASK_DELAY_MIN_MS,
  FULL_ASK_DELAY_MAX_MS,
} from './discovery-timing.js';
import {
  type AnnouncedStream,
  type AnnounceMessage,
  decodeMessage,
  frame,
  hexOf,
  isKey,
  isUint,
  MAX_ANNOUNCE_PARTS,
  MAX_PACKET,
  MULTICAST_GROUP,
  MULTICAST_PORT,
  NODE_ID_BYTES,
  readHeader,
} from './discovery-wire.js';
import { type RateLimit, TokenBucket } from './rate.js';
import { isOriginalPacket, MAX_ORIGINAL_PACKET } from './discovery-original-wire.js';
import { OriginalLan } from './discovery-original.js';

// What callers of Discovery use, from the files it is made of.
export type { AnnouncedStream, NearbyStream, Peer, RateLimit };
export type { AskEvent, DiscoveryOptions, DiscoveryStats, HelloEvent, PeerChangedEvent, RecordEvent, StreamEvent } from './discovery-types.js';
export { TokenBucket };

export class Discovery extends EventEmitter {
  private readonly opts: DiscoveryOptions;
  private readonly nodeId: Uint8Array;
  private readonly intervalMs: number;
  private readonly limit: RateLimit;

  private readonly sock: GroupSocket;
  private running = false;
  private announceTimer: NodeJS.Timeout | null = null;
  private coalesceTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private networkTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private helloRetryTimer: NodeJS.Timeout | null = null;
  private helloAnswerTimer: NodeJS.Timeout | null = null;
  private lastAnnounce = 0;
  /** rounds of the listings learned over HTTP (heard) */
  private heardRound = 0;
  private lastHello = 0;
  /** when the last hello arrived */
  private helloHeard = 0;
  private lastHelloAnswer = 0;
  /** last accepted announcement from anyone (an answered hello needs no repeat) */
  private lastHeard = 0;
  private networkKey = '';
  private deltaWanted = false;
  private fullWanted = false;
  private readonly lan = new LanTips();
  /** what our announcements list, and when (discovery-listings.ts) */
  private readonly listings: Listings;
  /** what the node says of itself, asked safely */
  private readonly ours: Ours;
  /** streams heard at an older M-tip than ours, to announce soon, with when we noticed */
  private readonly newer = new Map<string, number>();
  private newerTimer: NodeJS.Timeout | null = null;
  private lastNewer = 0;
  private readonly fullAsks: FullAsks;

  private readonly table: PeerTable;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly globalBucket: TokenBucket;
  private readonly globalLimit: RateLimit;
  private readonly sendBucket: TokenBucket;
  private readonly answered = new Map<string, { at: number; mtip: number }>();
  private readonly warned = new Map<string, number>();
  private readonly counters: DiscoveryStats = newDiscoveryStats();
  private readonly original: OriginalLan; // the original Drayer's packets

  constructor(opts: DiscoveryOptions) {
    super();
    if (!(opts.nodeId instanceof Uint8Array) || opts.nodeId.length !== NODE_ID_BYTES) {
      throw new TypeError(`a discovery node id is ${NODE_ID_BYTES} bytes`);
    }
    this.opts = opts;
    this.nodeId = new Uint8Array(opts.nodeId);
    this.sock = new GroupSocket(
      { group: opts.group ?? MULTICAST_GROUP, port: opts.port ?? MULTICAST_PORT, interface: opts.interface },
      {
        packet: (msg, rinfo) => this.onPacket(msg, rinfo),
        // back on the network: as at start, announce and ask who is there
        back: () => {
          this.announceNow();
          this.helloNow();
        },
        sendFailed: () => this.checkNetwork(),
        warn: (key, message, cause) => this.warn(key, message, cause),
        counters: this.counters,
      },
    );
    this.intervalMs = Math.max(100, opts.announceIntervalMs ?? 30_000);
    this.fullAsks = new FullAsks(this.intervalMs);
    this.ours = new Ours(opts, (key, message, cause) => this.warn(key, message, cause));
    this.listings = new Listings({
      nodeId: this.nodeId,
      intervalMs: this.intervalMs,
      lan: this.lan,
      counters: this.counters,
      ours: this.ours,
      send: (p) => this.send(p),
    });
    this.limit = opts.rateLimit ?? { burst: 20, perSecond: 10 };
    this.table = new PeerTable(Math.max(1, opts.maxPeers ?? 256), this.intervalMs);
    const now = Date.now();
    // the rate from all addresses together grows with the peers heard (a LAN of 40 nodes that all
    // follow each other sends more than 10 nodes' worth), up to 4× (peers are bounded, and made-up
    // ones cost their sender the same packets)
    this.globalLimit = { burst: this.limit.burst * 10, perSecond: this.limit.perSecond * 10 };
    this.globalBucket = new TokenBucket(this.globalLimit, now);
    // never send faster than a receiver accepts from one address
    this.sendBucket = new TokenBucket(this.limit, now);
    const host = { nodeId: this.nodeId, ours: this.ours, table: this.table, send: (p: Uint8Array) => this.send(p, MAX_ORIGINAL_PACKET) };
    this.original = new OriginalLan({ ...host, emit: (e, x) => this.emit(e, x), changed: (id, a, at) => this.peerChanged(id, a, at) }, this.counters);
  }

  /** Opens the socket and announces. Resolves even when the network refuses (see 'warning'). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.networkKey = networkKey() ?? '';
    await this.sock.open();
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
    for (const t of [this.announceTimer, this.coalesceTimer, this.helloTimer, this.helloRetryTimer, this.helloAnswerTimer, this.newerTimer]) {
      if (t) clearTimeout(t);
    }
    this.fullAsks.stop();
    this.newerTimer = null;
    for (const t of [this.sweepTimer, this.networkTimer]) if (t) clearInterval(t);
    this.announceTimer = this.coalesceTimer = this.sweepTimer = this.networkTimer = null;
    this.helloTimer = this.helloRetryTimer = this.helloAnswerTimer = null;
    this.sock.stopRetrying();
    await this.sayGoodbye();
    await this.sock.close();
  }

  /** A 'b' packet: we leave, so others drop us from Nearby at once, not minutes later (a forged one hides a node until it next announces). */
  private sayGoodbye(): Promise<void> {
    return this.sock.sendLast(frame(this.nodeId, { t: 'b' }));
  }

  /**
   * Announce every stream we serve now, a full listing (rate limited: calls within 500 ms, more
   * with many peers, are coalesced into one). `periodic`: the timer's announcement, which leaves out what others
   * announced (unless our holdings changed since our last full listing).
   */
  announceNow(periodic = false): void {
    if (!this.running) return;
    if (!periodic) this.fullWanted = true;
    const spacing = Math.min(MAX_ANNOUNCE_SPACING_MS, Math.max(MIN_ANNOUNCE_SPACING_MS, ANNOUNCE_SPACING_PER_PEER_MS * this.table.size));
    const wait = this.lastAnnounce + spacing - Date.now();
    if (wait > 0) {
      if (!this.coalesceTimer) {
        this.coalesceTimer = setTimeout(() => {
          this.coalesceTimer = null;
          this.announceNow(!this.fullWanted);
        }, wait);
        this.coalesceTimer.unref();
      }
      return;
    }
    this.lastAnnounce = Date.now();
    const full = this.fullWanted;
    const delta = this.deltaWanted;
    this.fullWanted = this.deltaWanted = false;
    this.listings.send(full, delta);
    this.schedulePeriodic();
  }

  /**
   * Our holdings changed (a stream followed, made or found): when streams were only added since
   * our last listing, announce those alone with the new holdings digest (a receiver holding our
   * last listing checks the digest over it and them, and asks for a full listing when it does not
   * match); otherwise a full listing. When all N nodes of a LAN follow one another, full listings
   * after each follow cost every node N² stream entries to read; deltas cost it N.
   */
  holdingsChanged(): void {
    if (!this.running) return;
    this.deltaWanted = true;
    this.announceNow(true);
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

  /** New or changed LAN addresses (another network, a cable, Wi-Fi back): join the group on them, announce, and ask who is there. */
  private checkNetwork(): void {
    if (!this.running) return;
    const key = networkKey();
    if (key === null || key === this.networkKey) return;
    this.networkKey = key;
    if (!this.sock.rejoin()) return; // the open or join retry announces and says hello once it succeeds
    this.announceNow();
    this.helloNow();
  }

  /**
   * Tell LAN followers about a new record (with its value when the packet has room for it) so they
   * apply it at once, or pull. The stream's writer always does; a `mirror` that applied it only when
   * nothing on the LAN announced that M-tip yet (it came from outside: a server, a phone), so a
   * post costs the LAN one packet and one signature check per node, not one per mirror.
   */
  announceRecord(streamKey: Uint8Array, record: DrayerRecord, mirror = false): void {
    if (!this.running) return;
    if (!bytesEqual(record.chain, streamKey)) {
      this.warn('chain', 'not announcing a record of another chain (sibling chains are not supported)');
      return;
    }
    const k = hexOf(streamKey);
    this.lan.bumpServed(k, record.mod);
    if (mirror && this.lan.announced(k, record.mod)) {
      this.counters.recordsSuppressed++;
      return;
    }
    this.lan.noteTip(k, record.mod, Date.now());
    this.original.recordMade(streamKey, record);
    // with its value when it fits (followers then need no pull), else without it
    let packet = frame(this.nodeId, { t: 'r', p: this.ours.port(), r: toWire(record, record.val === null) });
    if (packet.length > MAX_PACKET && record.val !== null) packet = frame(this.nodeId, { t: 'r', p: this.ours.port(), r: toWire(record, true) });
    if (packet.length > MAX_PACKET) {
      // too big to announce (a long key): announce the stream's new M-tip instead
      this.counters.unsent++;
      const s = this.ours.stream(streamKey);
      this.listings.streams([{ publicKey: streamKey, mtip: Math.max(record.mod, s?.mtip ?? 0), name: s?.name }], false, this.listings.fullDigest);
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

  /**
   * A node's listing learned over HTTP (found over mDNS, or at an address typed in:
   * mdns-listing.ts), held like a full announcement from it, within the same bounds. No Trickle
   * bookkeeping: nothing about it went out on our group.
   */
  heard(nodeId: string, address: string, port: number, name: string, streams: AnnouncedStream[]): void {
    if (!this.running) return;
    this.heardRound = (this.heardRound + 1) >>> 0;
    const m: AnnounceMessage = { t: 'a', port, name, intervalMs: this.intervalMs, streams, full: { q: this.heardRound, i: 0, c: 1 } };
    const now = Date.now();
    if (this.table.announce(m, nodeId, address, now).changed) this.peerChanged(nodeId, address, now);
    for (const s of streams) this.emit('stream', { publicKey: s.publicKey, mtip: s.mtip, address, port, nodeId, ...(s.name ? { name: s.name } : {}) });
  }

  /** A node said goodbye another way (mDNS): as a 'b' packet. */
  forget(nodeId: string, address: string): void {
    if (this.running) this.onGoodbye(nodeId, address, Date.now());
  }

  /** The peers heard from lately. */
  peers(): Peer[] {
    return this.table.peers(Date.now());
  }

  /** How many peers are held (some may be past their time). */
  get peerCount(): number {
    return this.table.size;
  }

  /** One peer heard from lately, as it now stands. */
  peer(nodeId: string, address: string): Peer | undefined {
    return this.table.peer(nodeId, address, Date.now());
  }

  /** The peers that announce one stream, each with the M-tip it announced. */
  holders(publicKey: Uint8Array): { address: string; port: number; nodeId: string; mtip: number }[] {
    return this.table.holders(hexOf(publicKey), Date.now());
  }

  /** The streams nearby peers announce, each with the peers that have it. */
  nearby(): NearbyStream[] {
    return this.table.nearby(Date.now());
  }

  stats(): DiscoveryStats {
    return { ...this.counters };
  }

  /** A packet built elsewhere (private announcements, discovery-private.ts), within our send rate. */
  sendPacket(packet: Uint8Array): void {
    this.send(packet);
  }

  private send(packet: Uint8Array, max = MAX_PACKET): void {
    if (!this.sock.isOpen || !this.running) return;
    if (packet.length > max || !this.sendBucket.take(Date.now())) {
      this.counters.unsent++;
      return;
    }
    this.sock.send(packet);
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
      this.sock.join(); // if not joined yet
      this.announceNow(true);
    }, delay);
    this.announceTimer.unref();
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
    const sender = isOriginalPacket(msg) ? null : readHeader(msg); // the original Drayer's has no sender
    if (typeof sender === 'string') return this.drop(sender);
    if (sender && bytesEqual(sender, this.nodeId)) {
      this.counters.own++;
      return;
    }
    const now = Date.now();
    const scale = Math.min(4, Math.max(1, this.table.size / 20));
    this.globalLimit.perSecond = this.limit.perSecond * 10 * scale;
    this.globalLimit.burst = this.limit.burst * 10 * scale;
    if (!this.bucketFor(address, now).take(now) || !this.globalBucket.take(now)) return this.drop('rateLimited');
    const o = sender ? null : this.original.packet(msg, address, now);
    if (o || !sender) return o === 'invalid' ? this.drop(o) : void (o === 'own' ? this.counters.own++ : this.counters.received++);
    const m = decodeMessage(msg);
    if (!m) return this.drop('invalid');
    const nodeId = hexOf(sender);
    if (m.t === 'a') this.onAnnounce(m, nodeId, address, now);
    else if (m.t === 'q') this.onAsk(m.publicKey, m.mod, nodeId, address, now);
    else if (m.t === 'r') this.onRecord(m.record, m.port, nodeId, address);
    else if (m.t === 'h') this.onHello(nodeId, address, now, m.target);
    else if (m.t === 'p')
      this.emit('private', { body: m.body, sender, nodeId, address }); // discovery-private.ts
    else this.onGoodbye(nodeId, address, now);
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

  private onAnnounce(m: AnnounceMessage, nodeId: string, address: string, now: number): void {
    const { changed, wantFull } = this.table.announce(m, nodeId, address, now);
    this.lastHeard = now;
    if (changed) this.peerChanged(nodeId, address, now);
    if (wantFull) this.askFull(nodeId, address, now);
    for (const s of m.streams) {
      const k = hexOf(s.publicKey);
      this.lan.noteTip(k, s.mtip, now);
      this.lan.noteHeard(k, address, s.mtip, now); // by address: made-up node ids of one host count once
      const mine = this.lan.servedTip(k);
      if (mine !== undefined && s.mtip < mine && !this.newer.has(k)) this.announceNewer(k, now);
    }
    for (const s of m.streams) {
      const ev: StreamEvent = { publicKey: s.publicKey, mtip: s.mtip, address, port: m.port, nodeId };
      if (s.name) ev.name = s.name;
      this.emit('stream', ev);
    }
  }

  private peerChanged(nodeId: string, address: string, now: number): void {
    const ev: PeerChangedEvent = { nodeId, address };
    this.emit('peerChanged', ev);
    // the peer as it stands lists all its streams: built only for whoever asks for it so
    if (this.listenerCount('peer') > 0) this.emit('peer', this.table.peer(nodeId, address, now));
  }

  /** Someone asks for news of a stream: if ours is newer, announce it (at most once a second). */
  private onAsk(publicKey: Uint8Array, mod: number, nodeId: string, address: string, now: number): void {
    const ev: AskEvent = { publicKey, mod, address, nodeId };
    this.emit('ask', ev);
    const mine = this.ours.stream(publicKey);
    if (mine && mine.mtip > mod) {
      const k = hexOf(publicKey);
      const last = this.answered.get(k);
      // our multicast answer reached every asker: do not repeat it within a second
      if (!last || now - last.at >= ASK_ANSWER_SPACING_MS || last.mtip < mine.mtip) {
        if (this.answered.size >= 1024) this.answered.clear();
        this.answered.set(k, { at: now, mtip: mine.mtip });
        this.counters.listedAsk++;
        this.listings.streams([mine], false, this.listings.fullDigest);
      }
    }
  }

  /** A stream we serve heard at an older M-tip than ours (Trickle's inconsistency): announce ours soon, unless another does first. */
  private announceNewer(k: string, now: number): void {
    this.newer.set(k, now);
    if (this.newerTimer) return;
    // at most one a second: an old M-tip announced again and again must not make us talk as often
    const wait = Math.max(0, this.lastNewer + NEWER_SPACING_MS - now);
    const delay = wait + NEWER_DELAY_MIN_MS + Math.random() * (NEWER_DELAY_MAX_MS - NEWER_DELAY_MIN_MS);
    this.newerTimer = setTimeout(() => {
      this.lastNewer = Date.now();
      this.newerTimer = null;
      if (!this.running) return;
      const list: AnnouncedStream[] = [];
      const streams = new Map(this.ours.streams().map((s) => [hexOf(s.publicKey), s]));
      for (const [key, since] of this.newer) {
        const s = streams.get(key);
        if (s && this.lan.othersAt(key, s.mtip, since) === 0) list.push(s);
      }
      this.newer.clear();
      this.counters.listedNewer += list.length;
      if (list.length > 0) this.listings.streams(list, false, this.listings.fullDigest, MAX_ANNOUNCE_PARTS);
    }, delay);
    this.newerTimer.unref();
  }

  /** A peer announces holdings whose full listing we lack: ask it alone (FullAsks), once our own hello was answered. */
  private askFull(nodeId: string, address: string, now: number): void {
    const answers = Math.max(0, this.lastHello + HELLO_SPACING_MS + HELLO_JITTER_MAX_MS - now);
    const delay = answers + FULL_ASK_DELAY_MIN_MS + Math.random() * (FULL_ASK_DELAY_MAX_MS - FULL_ASK_DELAY_MIN_MS);
    this.fullAsks.want(
      nodeId,
      now,
      delay,
      () => this.running && this.table.wantsFull(nodeId, address),
      () => this.send(frame(this.nodeId, { t: 'h', n: Buffer.from(nodeId, 'hex') })),
    );
  }

  /**
   * Someone asks who is there: answer with our full listing, after a random delay, and at most
   * once a second however many ask; every hello heard before the answer goes shares it. A
   * hello for another node (`target`) is that node's to answer: it only tells us the ask is made.
   */
  private onHello(nodeId: string, address: string, now: number, target?: string): void {
    if (target !== undefined && target !== hexOf(this.nodeId)) return this.fullAsks.heard(target, now);
    const ev: HelloEvent = { address, nodeId };
    this.emit('hello', ev);
    this.helloHeard = now;
    if (this.helloAnswerTimer) return; // the pending answer answers this one too
    const window = Math.min(HELLO_JITTER_MAX_MS, HELLO_JITTER_MIN_MS + HELLO_JITTER_PER_PEER_MS * this.table.size);
    const delay = Math.max(0, this.lastHelloAnswer + HELLO_ANSWER_SPACING_MS - now) + Math.random() * window;
    this.helloAnswerTimer = setTimeout(() => {
      this.helloAnswerTimer = null;
      if (!this.running) return;
      // a full listing that went out after the last hello arrived (a change, say) answered it
      if (this.listings.lastFull > this.helloHeard) return;
      this.lastHelloAnswer = this.lastAnnounce = Date.now();
      this.listings.send(true);
      this.schedulePeriodic();
    }, delay);
    this.helloAnswerTimer.unref();
  }

  /** A node leaves: forget it and its streams now. */
  private onGoodbye(nodeId: string, address: string, now: number): void {
    const p = this.table.goodbye(nodeId, address, now);
    if (p) this.emit('peerLost', p);
  }

  /** A record announced (signature checked; its value, when it came with one, hash-checked): the node may apply it or pull. */
  private onRecord(record: DrayerRecord, port: number, nodeId: string, address: string): void {
    const k = hexOf(record.chain);
    this.lan.noteTip(k, record.mod, Date.now());
    this.lan.noteHeard(k, address, record.mod, Date.now()); // its writer announced that M-tip: it counts for Trickle
    const ev: RecordEvent = { record, address, port, nodeId };
    this.emit('record', ev);
  }

  /** Forget what went silent, and the answer and rate records no longer needed. */
  private sweep(): void {
    const now = Date.now();
    for (const p of this.table.sweep(now)) this.emit('peerLost', p);
    for (const [k, a] of this.answered) if (now - a.at > ASK_ANSWER_SPACING_MS) this.answered.delete(k);
    this.lan.sweep(now);
    this.original.sweep(now);
    this.fullAsks.sweep(now);
    for (const [addr, b] of this.buckets) {
      if (now - b.last > 60_000) this.buckets.delete(addr);
    }
  }
}
