// What this node's announcements list (DESIGN §5, discovery-wire.ts): a full listing with its
// holdings digest, a delta of streams added since (with the new digest), or the periodic one that
// leaves out what others announced lately (Trickle, discovery-trickle.ts); and when each last went
// out. Discovery decides when to announce; this decides what.
import { bytesEqual } from '../core/crypto.js';
import type { DiscoveryOptions, DiscoveryStats } from './discovery-types.js';
import { holdingsDigest, type LanTips, SUPPRESS_K } from './discovery-trickle.js';
import { type AnnouncedStream, buildAnnouncePackets, cleanName, hexOf, isKey, isPort, isUint, MAX_ANNOUNCE_PARTS } from './discovery-wire.js';

/**
 * What the node tells discovery of itself (its port, name, streams), asked so that a throwing
 * or malformed answer never breaks discovery: it says so ('warning') and announces less.
 */
export class Ours {
  constructor(
    private readonly opts: Pick<DiscoveryOptions, 'httpPort' | 'name' | 'streams' | 'stream'>,
    private readonly warn: (key: string, message: string, cause?: unknown) => void,
  ) {}

  port(): number {
    try {
      const p = this.opts.httpPort();
      return isPort(p) ? p : 0;
    } catch {
      return 0;
    }
  }

  name(): string {
    try {
      return cleanName(this.opts.name());
    } catch {
      return '';
    }
  }

  stream(publicKey: Uint8Array): AnnouncedStream | undefined {
    if (!this.opts.stream) return this.streams().find((s) => bytesEqual(s.publicKey, publicKey));
    try {
      const s = this.opts.stream(publicKey);
      return s && isKey(s.publicKey) && isUint(s.mtip) ? s : undefined;
    } catch (err) {
      this.warn('streams', `cannot list streams to announce: ${(err as Error).message}`, err);
      return undefined;
    }
  }

  streams(): AnnouncedStream[] {
    try {
      return this.opts.streams().filter((s) => isKey(s.publicKey) && isUint(s.mtip));
    } catch (err) {
      this.warn('streams', `cannot list streams to announce: ${(err as Error).message}`, err);
      return [];
    }
  }
}

/** What a Listings sends with, and what it lists. */
export interface ListingsHost {
  nodeId: Uint8Array;
  intervalMs: number;
  lan: LanTips;
  counters: DiscoveryStats;
  ours: Ours;
  send(packet: Uint8Array): void;
}

export class Listings {
  /** when our last full listing went out (what answers a hello), and the holdings digest it named */
  lastFull = 0;
  fullDigest?: Uint8Array;
  /** the streams (hex) our holdings digest names, when our listings so far named them all: a delta adds to them */
  private listed?: Set<string>;
  /** when our last periodic announcement went out: the Trickle interval counts from it */
  private lastPeriodic = 0;
  private round = 0;
  private rotate = 0;

  constructor(private readonly host: ListingsHost) {}

  /**
   * Our announcement: a full listing (`full`, or when our holdings changed since the last one),
   * else the periodic one, which leaves out each mirrored stream that at least SUPPRESS_K others
   * announced at our M-tip or newer since our last periodic one (Trickle): each stream then goes
   * out a few times a period however many nodes hold it. A stream we write always goes out.
   */
  send(full: boolean, delta = false): void {
    const now = Date.now();
    const all = this.host.ours.streams();
    this.host.lan.setServed(all);
    const digest = holdingsDigest(all);
    if (!full && delta && this.sendDelta(all, digest)) return;
    if (!full) {
      // What was heard over a whole interval counts, not only since our last periodic one (as
      // short as 3/4 of it): a writer announces its stream at least once an interval, so its
      // announcement is always in the window, and mirrors whose window missed it no longer list
      // the stream (at N = 40, ~2 mirrored entries a packet).
      const since = Math.min(this.lastPeriodic, now - this.host.intervalMs);
      this.lastPeriodic = now;
      const list = all.filter((s) => s.own || this.host.lan.othersAt(hexOf(s.publicKey), s.mtip, since) < SUPPRESS_K);
      this.host.lan.newInterval(now, this.host.intervalMs);
      if (this.fullDigest && bytesEqual(digest, this.fullDigest)) {
        this.host.counters.suppressed += all.length - list.length;
        for (const s of list) {
          if (s.own) continue;
          this.host.counters.listedPeriodic++;
          if (this.host.lan.heardSince(hexOf(s.publicKey), since)) this.host.counters.periodicOlder++;
          else this.host.counters.periodicUnheard++;
        }
        this.streams(list, false, digest, MAX_ANNOUNCE_PARTS);
        return;
      } // else our holdings changed since our last full listing: a full one
    }
    let list = all;
    if (this.rotate > 0 && this.rotate < all.length) list = [...all.slice(this.rotate), ...all.slice(0, this.rotate)];
    // the digest only when one round lists every stream: a receiver can then hold the listing
    this.host.counters.listedFull += all.length;
    let covered = this.streams(list, true, digest, MAX_ANNOUNCE_PARTS, true);
    this.fullDigest = covered < all.length ? undefined : digest;
    this.listed = covered < all.length ? undefined : new Set(all.map((s) => hexOf(s.publicKey)));
    if (covered < all.length) covered = this.streams(list, true, undefined, MAX_ANNOUNCE_PARTS);
    this.lastFull = now;
    this.rotate = covered >= all.length ? 0 : (this.rotate + covered) % all.length;
  }

  /** The streams added since our last listing, with the new digest, in one packet; false when that cannot be (see holdingsChanged). */
  private sendDelta(all: AnnouncedStream[], digest: Uint8Array): boolean {
    const listed = this.listed;
    if (!listed || !this.fullDigest || bytesEqual(digest, this.fullDigest)) return false;
    const keys = all.map((s) => hexOf(s.publicKey));
    const added = all.filter((_, i) => !listed.has(keys[i]!));
    if (added.length === 0 || all.length - added.length !== listed.size) return false; // some went: a full listing says which
    if (this.streams(added, false, digest, 1, true) < added.length) return false;
    this.host.counters.listedDelta += added.length;
    this.fullDigest = digest;
    this.listed = new Set(keys);
    return true;
  }

  /**
   * Sends `streams` in at most `maxParts` packets; returns how many of them the packets covered.
   * `full`: the listing names every stream we serve (flag f). `dryIfShort`: send nothing unless
   * every stream fits (the caller then sends without the digest).
   */
  streams(streams: AnnouncedStream[], full: boolean, digest?: Uint8Array, maxParts = 1, dryIfShort = false): number {
    this.round = (this.round + 1) >>> 0;
    // a partial answer (to an ask, for a long record, a periodic one) must not read as "all my streams"
    const { packets, covered } = buildAnnouncePackets(
      this.host.nodeId,
      { port: this.host.ours.port(), name: this.host.ours.name(), intervalMs: this.host.intervalMs, round: this.round, partial: !full, digest },
      streams,
      maxParts,
    );
    if (dryIfShort && covered < streams.length) return covered;
    for (const p of packets) this.host.send(p);
    return covered;
  }
}
