// What LAN discovery has heard, held within bounds: the peers and the streams they announce.
//
// What a packet says is unauthenticated and node ids cost nothing to make up, so what other
// hosts can make a node hold is bounded per source address and in total (least recently heard
// evicted first), a peer is known by its address and node id together (so nobody can take over
// another's entry), and an announced interval counts only up to MAX_PEER_INTERVAL_MS. A peer
// (and each stream it listed) is forgotten after three of its intervals without a word.
import type { AnnouncedStream, AnnounceMessage } from './discovery-wire.js';
import { hexOf } from './discovery-wire.js';

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

export interface NearbyStream {
  publicKey: Uint8Array;
  name?: string;
  mtip: number;
  peers: { address: string; port: number; nodeId: string }[];
}

// One address may be a few nodes on one machine, not more. What they list together holds a
// full announce round (16 packets, at most ~420 streams); a node serving more rotates through
// them (see Discovery.sendAnnounce), so the least recently heard make room.
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
const EXPIRY_SLACK_MS = 500;

type StreamEntry = AnnouncedStream & { seen: number; q?: number };

interface PeerState {
  /** address and node id: the map key */
  key: string;
  nodeId: string;
  address: string;
  port: number;
  name: string;
  /** least recently heard first; `q` marks the full announce round the stream was listed in */
  streams: Map<string, StreamEntry>;
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

export class PeerTable {
  /** by address and node id, least recently heard first */
  private readonly peerMap = new Map<string, PeerState>();
  private readonly addresses = new Map<string, AddressState>();
  private streamCount = 0;

  /** `maxPeers`: peers kept at most; `defaultIntervalMs`: assumed for a peer that names none */
  constructor(
    private readonly maxPeers: number,
    private readonly defaultIntervalMs: number,
  ) {}

  /** Peers held, including ones past their time that the next sweep forgets. */
  get size(): number {
    return this.peerMap.size;
  }

  /**
   * Take in an announcement from `nodeId` at `address`. Returns the peer as it now stands when
   * something others would see changed (new peer, port, name, or streams), else null.
   */
  announce(m: AnnounceMessage, nodeId: string, address: string, now: number): Peer | null {
    const { port, name } = m;
    const interval = m.intervalMs !== undefined ? Math.min(MAX_PEER_INTERVAL_MS, Math.max(100, m.intervalMs)) : this.defaultIntervalMs;
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
    const full = m.full;
    for (const s of m.streams) {
      const k = hexOf(s.publicKey);
      const old = p.streams.get(k);
      if (!old || old.mtip !== s.mtip || old.name !== s.name) changed = true;
      this.putStream(p, k, { ...s, seen: now, q: full ? full.q : old?.q });
    }
    if (full) {
      const { q, c } = full;
      if (!p.round || p.round.q !== q || p.round.c !== c) p.round = { q, c, parts: new Set() };
      p.round.parts.add(full.i);
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
    return changed ? this.publicPeer(p, now) : null;
  }

  /** A peer says goodbye: forget it and its streams now. Returns it, if it was known. */
  goodbye(nodeId: string, address: string, now: number): Peer | null {
    const p = this.peerMap.get(`${address}/${nodeId}`);
    if (!p) return null;
    this.dropPeer(p);
    return this.publicPeer(p, now);
  }

  /** Forget peers and streams past their time; returns the peers forgotten. */
  sweep(now: number): Peer[] {
    const lost: Peer[] = [];
    for (const p of [...this.peerMap.values()]) {
      if (this.expired(p, now)) {
        this.dropPeer(p);
        lost.push(this.publicPeer(p, now));
      } else {
        for (const [k, s] of [...p.streams]) if (!this.streamFresh(p, s.seen, now)) this.dropStream(p, k);
      }
    }
    return lost;
  }

  peers(now: number): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peerMap.values()) if (!this.expired(p, now)) out.push(this.publicPeer(p, now));
    return out;
  }

  /** The streams heard of, each with the peers that announce it and the newest M-tip among them. */
  nearby(now: number): NearbyStream[] {
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
  private putStream(p: PeerState, k: string, entry: StreamEntry): void {
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
}

function stalest(peers: Iterable<PeerState>): PeerState {
  let out: PeerState | undefined;
  for (const p of peers) if (!out || p.lastSeen < out.lastSeen) out = p;
  return out!;
}
