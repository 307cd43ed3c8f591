// What LAN discovery has heard, held within bounds: the peers and the streams they announce.
//
// What a packet says is unauthenticated and node ids cost nothing to make up, so what other
// hosts can make a node hold is bounded per source address and in total; when the total is
// reached, room is made at the address holding the most (its least recently heard first), so
// a host making up thousands of node ids only churns its own share and never pushes out the
// peers of other addresses. A peer is known by its address and node id together (so nobody can
// take over another's entry), and an announced interval counts only up to MAX_PEER_INTERVAL_MS.
// A peer is forgotten after three of its intervals without a word; a stream it listed too,
// unless its last full listing named it and the peer still announces that listing's holdings
// digest (its periodic announcements leave out streams others announce: discovery-wire.ts).
import type { AnnouncedStream, AnnounceMessage } from './discovery-wire.js';
import { hexOf } from './discovery-wire.js';
import { digestOfSortedKeys } from './discovery-trickle.js';

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

// One address may be several nodes on one machine (or behind one NAT), up to this many; more
// than that from one address is a host making node ids up. What they list together holds a
// full announce round (16 packets, at most ~420 streams); a node serving more rotates through
// them (see Discovery.sendAnnounce), so the least recently heard make room.
export const MAX_PEERS_PER_ADDRESS = 64;
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

/** `held`: named by the peer's last complete full listing (kept while its digest stands) */
type StreamEntry = AnnouncedStream & { seen: number; q?: number; held?: boolean };

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
  /** the holdings digest of the last complete full listing, and the one last announced */
  fullDigest?: string;
  liveDigest?: string;
  /** a digest its streams did not add up to (checked once) */
  failedDigest?: string;
  /**
   * The keys of its `held` entries, sorted: kept so that checking a delta's digest costs a merge,
   * not a sort of every key the peer holds (at N = 40 every node checks ~1,560 deltas while the
   * LAN converges). Undefined when stale: rebuilt on the next check.
   */
  heldSorted?: string[];
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
   * Take in an announcement from `nodeId` at `address`. `changed`: something others would see
   * changed (a new peer, its port or name, streams it holds or their names; not their M-tips).
   * `wantFull`: the peer announces holdings this table has no full listing of (it was lost).
   */
  announce(m: AnnounceMessage, nodeId: string, address: string, now: number): { changed: boolean; wantFull: boolean } {
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
      // a newer M-tip is not a change of what the peer holds: Nearby (a 'peer' event costs a
      // check of every stream the peer lists) hears of it when it next lists, not at every post
      if (!old || old.name !== s.name) changed = true;
      // one shape for every entry (a spread of the decoded object costs more than the rest of this)
      this.putStream(p, k, { publicKey: s.publicKey, mtip: s.mtip, name: s.name, seen: now, q: full ? full.q : old?.q, held: old?.held });
    }
    p.liveDigest = m.digest;
    if (full) {
      const { q, c } = full;
      if (!p.round || p.round.q !== q || p.round.c !== c) p.round = { q, c, parts: new Set() };
      p.round.parts.add(full.i);
      if (p.round.parts.size === p.round.c) {
        for (const [k, s] of [...p.streams]) {
          if (s.q !== q) {
            this.dropStream(p, k);
            changed = true;
          } else s.held = true;
        }
        p.round = undefined;
        p.heldSorted = undefined;
        p.fullDigest = m.digest;
      }
    }
    // Streams added since its last listing, with its new digest (Discovery.holdingsChanged): taken
    // as its holdings when the digest over what its listing named and these matches.
    if (!full && m.digest !== undefined && p.fullDigest !== undefined && m.digest !== p.fullDigest && m.digest !== p.failedDigest && m.streams.length > 0) {
      const held = (p.heldSorted ??= heldKeys(p));
      const added: string[] = [];
      const entries: StreamEntry[] = [];
      let present = true;
      for (const s of m.streams) {
        const k = hexOf(s.publicKey);
        const e = p.streams.get(k);
        if (!e) present = false;
        else entries.push(e);
        if (!e?.held) added.push(k);
      }
      const keys = present ? mergeSorted(held, added) : undefined;
      if (keys && hexOf(digestOfSortedKeys(keys)) === m.digest) {
        for (const e of entries) e.held = true;
        p.heldSorted = keys;
        p.fullDigest = m.digest;
      } else p.failedDigest = m.digest;
    }
    const wantFull = !full && m.digest !== undefined && m.digest !== p.fullDigest;
    return { changed, wantFull };
  }

  /** One peer as it now stands, if it is held. */
  peer(nodeId: string, address: string, now: number): Peer | undefined {
    const p = this.peerMap.get(`${address}/${nodeId}`);
    return p && !this.expired(p, now) ? this.publicPeer(p, now) : undefined;
  }

  /** Whether a full listing from this peer is needed (see announce's `wantFull`) still. */
  wantsFull(nodeId: string, address: string): boolean {
    const p = this.peerMap.get(`${address}/${nodeId}`);
    return !!p && p.liveDigest !== undefined && p.liveDigest !== p.fullDigest;
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
        for (const [k, s] of [...p.streams]) if (!this.streamFresh(p, s, now)) this.dropStream(p, k);
      }
    }
    return lost;
  }

  peers(now: number): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peerMap.values()) if (!this.expired(p, now)) out.push(this.publicPeer(p, now));
    return out;
  }

  /** The peers that announce one stream (hex key), with the M-tip each announced. */
  holders(k: string, now: number): { address: string; port: number; nodeId: string; mtip: number }[] {
    const out: { address: string; port: number; nodeId: string; mtip: number }[] = [];
    for (const p of this.peerMap.values()) {
      const s = p.streams.get(k);
      if (s && !this.expired(p, now) && this.streamFresh(p, s, now)) out.push({ address: p.address, port: p.port, nodeId: p.nodeId, mtip: s.mtip });
    }
    return out;
  }

  /** The streams heard of, each with the peers that announce it and the newest M-tip among them. */
  nearby(now: number): NearbyStream[] {
    const by = new Map<string, NearbyStream>();
    for (const p of this.peerMap.values()) {
      if (this.expired(p, now)) continue;
      for (const [k, s] of p.streams) {
        if (!this.streamFresh(p, s, now)) continue;
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

  /** Heard lately, or named by the peer's full listing whose holdings it still announces. */
  private streamFresh(p: PeerState, s: StreamEntry, now: number): boolean {
    if (s.held && p.fullDigest !== undefined && p.liveDigest === p.fullDigest) return true;
    return now - s.seen <= 3 * p.intervalMs + EXPIRY_SLACK_MS;
  }

  private publicPeer(p: PeerState, now: number): Peer {
    const streams: AnnouncedStream[] = [];
    for (const s of p.streams.values()) {
      if (!this.streamFresh(p, s, now)) continue;
      streams.push(s.name ? { publicKey: s.publicKey, mtip: s.mtip, name: s.name } : { publicKey: s.publicKey, mtip: s.mtip });
    }
    return { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name, streams, lastSeen: p.lastSeen };
  }

  /** The address holding the most peers (or stream entries): where room is made when all is full. */
  private largest(by: 'peers' | 'streams'): AddressState | undefined {
    let out: AddressState | undefined;
    for (const a of this.addresses.values()) {
      const n = by === 'peers' ? a.peers.size : a.streams;
      if (!out || n > (by === 'peers' ? out.peers.size : out.streams)) out = a;
    }
    return out;
  }

  /** A new peer, making room for it: first among its address's peers, then at the fullest address. */
  private addPeer(p: PeerState): void {
    const mine = this.addresses.get(p.address);
    if (mine && mine.peers.size >= MAX_PEERS_PER_ADDRESS) this.dropPeer(stalest(mine.peers));
    if (this.peerMap.size >= this.maxPeers) {
      const a = this.largest('peers');
      if (a) this.dropPeer(stalest(a.peers));
    }
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
    if (a.streams >= MAX_STREAMS_PER_ADDRESS) this.dropOldestStream(a);
    if (this.streamCount >= MAX_STREAMS) {
      const fullest = this.largest('streams');
      if (fullest) this.dropOldestStream(fullest);
    }
    p.streams.set(k, entry);
    this.streamCount++;
    a.streams++;
  }

  /** The least recently heard entry among an address's peers (each peer's first is its oldest). */
  private dropOldestStream(a: AddressState): void {
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

  private dropStream(p: PeerState, k: string): void {
    const s = p.streams.get(k);
    if (!s) return;
    p.streams.delete(k);
    if (s.held) p.heldSorted = undefined;
    this.streamCount--;
    const a = this.addresses.get(p.address);
    if (a) a.streams--;
  }
}

/** The keys of a peer's `held` entries, sorted as the digest wants them. */
function heldKeys(p: PeerState): string[] {
  const out: string[] = [];
  for (const [k, s] of p.streams) if (s.held) out.push(k);
  return out.sort();
}

/** `sorted` with `more` (keys not in it, maybe repeated) put in, in order; a new array. */
export function mergeSorted(sorted: readonly string[], more: readonly string[]): string[] {
  const out = sorted.slice();
  for (const k of more) {
    // binary search: a delta adds a key or a few to a peer's tens or hundreds
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (out[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    if (out[lo] !== k) out.splice(lo, 0, k);
  }
  return out;
}

function stalest(peers: Iterable<PeerState>): PeerState {
  let out: PeerState | undefined;
  for (const p of peers) if (!out || p.lastSeen < out.lastSeen) out = p;
  return out!;
}
