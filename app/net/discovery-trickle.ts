// What the LAN announced lately, kept to decide what this node need not announce (DESIGN §5,
// discovery-wire.ts): Trickle-style suppression of periodic announcements (RFC 6206: a mirrored
// stream is left out when SUPPRESS_K others announced it at our M-tip or newer during our
// interval), the inconsistency that makes a node announce soon (a stream heard at an older M-tip
// than ours), and the newest M-tip the LAN announced per stream (a mirror does not re-announce a
// record the LAN already heard of). Everything here is bounded: packets are unauthenticated.
import { blake2b256 } from '../core/crypto.js';
import { type AnnouncedStream, DIGEST_BYTES, hexOf } from './discovery-wire.js';

/** A mirrored stream is left out of a periodic announcement when this many others announced it. */
export const SUPPRESS_K = 1;
/** Streams (and announcers of each) remembered for that count: only streams we serve, a few each. */
const HEARD_MAX_STREAMS = 4096;
const HEARD_MAX_PER_STREAM = 8;
/** The newest M-tip the LAN announced per stream is remembered this long, for this many streams. */
const TIP_MEMORY_MS = 10 * 60_000;
const TIPS_MAX = 4096;

/** The holdings digest of a set of streams: 8 bytes of BLAKE2b over the sorted keys. */
export function holdingsDigest(streams: AnnouncedStream[]): Uint8Array {
  return digestOfKeys(streams.map((s) => hexOf(s.publicKey)));
}

/** The same digest, of streams given by their hex keys (distinct). */
export function digestOfKeys(hexKeys: string[]): Uint8Array {
  return digestOfSortedKeys([...hexKeys].sort());
}

/** The same, of keys already sorted (PeerTable keeps each peer's held keys so). */
export function digestOfSortedKeys(sortedHexKeys: readonly string[]): Uint8Array {
  return blake2b256(Buffer.from(sortedHexKeys.join(''), 'hex')).subarray(0, DIGEST_BYTES);
}

export class LanTips {
  /** per stream we serve: who (by address) announced it this interval, at which M-tip, when */
  private readonly heard = new Map<string, Map<string, { mtip: number; at: number }>>();
  /** our streams and their M-tips as last listed (to compare announcements heard with, cheaply) */
  private served = new Map<string, number>();
  /** the newest M-tip the LAN announced per stream (signed records and announcements) */
  private readonly tips = new Map<string, { mod: number; at: number }>();

  /** Our streams, as just listed. */
  setServed(all: AnnouncedStream[]): void {
    this.served = new Map(all.map((s) => [hexOf(s.publicKey), s.mtip]));
  }

  /** We have a record of `k` up to `mod` (a write, a pull). */
  bumpServed(k: string, mod: number): void {
    const m = this.served.get(k);
    if (m !== undefined && mod > m) this.served.set(k, mod);
  }

  /** Our M-tip of `k`, if we serve it. */
  servedTip(k: string): number | undefined {
    return this.served.get(k);
  }

  /** `who` (an address) announced stream `k` (one we serve) at `mtip`. */
  noteHeard(k: string, who: string, mtip: number, now: number): void {
    if (!this.served.has(k)) return;
    let h = this.heard.get(k);
    if (!h) {
      if (this.heard.size >= HEARD_MAX_STREAMS) return;
      this.heard.set(k, (h = new Map()));
    }
    const old = h.get(who);
    if (!old && h.size >= HEARD_MAX_PER_STREAM) {
      // Full: the stalest announcer (oldest M-tip, then heard longest ago) makes room, so the
      // writer's announcement of a new record is never refused because mirrors filled the map
      // while all listed the stream at its old M-tip (they would then all list it again).
      let stalest: string | undefined;
      let s: { mtip: number; at: number } | undefined;
      for (const [w, x] of h) if (!s || x.mtip < s.mtip || (x.mtip === s.mtip && x.at < s.at)) [stalest, s] = [w, x];
      if (s!.mtip > mtip) return;
      h.delete(stalest!);
    }
    h.set(who, { mtip: Math.max(mtip, old?.mtip ?? 0), at: now });
  }

  /** How many others announced stream `k` at M-tip `mtip` or newer since `since`. */
  othersAt(k: string, mtip: number, since: number): number {
    let n = 0;
    for (const h of this.heard.get(k)?.values() ?? []) if (h.at >= since && h.mtip >= mtip) n++;
    return n;
  }

  /** Whether anyone announced stream `k` since `since`, at any M-tip. */
  heardSince(k: string, since: number): boolean {
    for (const h of this.heard.get(k)?.values() ?? []) if (h.at >= since) return true;
    return false;
  }

  /** Our periodic announcement went out: what was heard longer than `keepMs` ago is forgotten. */
  newInterval(now: number, keepMs: number): void {
    for (const [k, h] of this.heard) {
      for (const [who, x] of h) if (now - x.at > keepMs) h.delete(who);
      if (h.size === 0) this.heard.delete(k);
    }
  }

  /** The LAN announced stream `k` at M-tip `mod`. */
  noteTip(k: string, mod: number, now: number): void {
    const t = this.tips.get(k);
    if (t && t.mod >= mod) return;
    if (!t && this.tips.size >= TIPS_MAX) this.tips.delete(this.tips.keys().next().value!);
    this.tips.set(k, { mod, at: now });
  }

  /** Whether the LAN lately announced stream `k` at M-tip `mod` or newer. */
  announced(k: string, mod: number): boolean {
    const t = this.tips.get(k);
    return t !== undefined && t.mod >= mod;
  }

  sweep(now: number): void {
    for (const [k, t] of this.tips) if (now - t.at > TIP_MEMORY_MS) this.tips.delete(k);
  }
}

/** Peers asked for their full listing at once at most, and asks remembered. */
const FULL_ASKS_MAX = 64;
const FULL_ASKED_MAX = 1024;
/** Our asks go out at most this often (made-up node ids must not spend our send budget). */
const FULL_ASK_SPACING_MS = 1000;

/**
 * Targeted hellos: a peer announces holdings whose full listing we lack (lost, or dropped by a
 * rate limit), so we ask that peer alone, after a random delay in which another node's ask (we
 * hear it) makes ours needless; at most once per peer per `intervalMs`.
 */
export class FullAsks {
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly asked = new Map<string, number>();
  private lastSent = 0;

  constructor(private readonly intervalMs: number) {}

  /**
   * Ask `nodeId` after `delayMs` by `send`, if `stillWanted` then and nobody asked meanwhile (and
   * we asked nobody within a second: then the peer's next announcement brings the want back).
   */
  want(nodeId: string, now: number, delayMs: number, stillWanted: () => boolean, send: () => void): void {
    if (this.waiting.has(nodeId) || this.waiting.size >= FULL_ASKS_MAX || this.recentlyAsked(nodeId, now)) return;
    const t = setTimeout(() => {
      this.waiting.delete(nodeId);
      const at = Date.now();
      if (!stillWanted() || this.recentlyAsked(nodeId, at) || at - this.lastSent < FULL_ASK_SPACING_MS) return;
      this.heard(nodeId, at);
      this.lastSent = at;
      send();
    }, delayMs);
    t.unref();
    this.waiting.set(nodeId, t);
  }

  /** Somebody (we or another node) asked `nodeId` for its full listing. */
  heard(nodeId: string, now: number): void {
    if (this.asked.size >= FULL_ASKED_MAX) this.asked.clear();
    this.asked.set(nodeId, now);
  }

  sweep(now: number): void {
    for (const [k, at] of this.asked) if (now - at > this.intervalMs) this.asked.delete(k);
  }

  stop(): void {
    for (const t of this.waiting.values()) clearTimeout(t);
    this.waiting.clear();
  }

  private recentlyAsked(nodeId: string, now: number): boolean {
    const at = this.asked.get(nodeId);
    return at !== undefined && now - at < this.intervalMs;
  }
}
