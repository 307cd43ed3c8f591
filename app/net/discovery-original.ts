// The original Drayer on our LAN (issue 20.5): its packets heard, and ours it can read
// (discovery-original-wire.ts). Discovery (discovery.ts) hands it the packets with the original's
// magic, after its rate limits, and tells it of each new record it announces.
//
// Heard: an original's `record` packet is a holder's M-tip (so a follower pulls from it at once,
// not at its next round) and, when its signature verifies, a record announcement; the original
// shows in Nearby as a peer holding what it announced (discovery.ts). Its `getRecordsSince` is
// answered when we serve the stream at a newer M-tip.
//
// Sent: an original pulls a stream it follows when a `record` packet names a newer mod, and
// otherwise only every 2 hours. It says which streams it follows only in its own packets (both
// kinds, at each write and at its sync), so a stream heard of from an original, at some address,
// within the last FOLLOWER_TTL_MS, gets a `record` packet with each new record we announce.
import { blake2b256 } from '../core/crypto.js';
import type { DrayerRecord } from '../core/record.js';
import { type AnnouncedStream, type AnnounceMessage, hexOf } from './discovery-wire.js';
import { decodeOriginal, encodeOriginalRecord, encodeOriginalTip, type OriginalRecordMessage } from './discovery-original-wire.js';
import { MAX_PEER_INTERVAL_MS, type PeerTable } from './discovery-peers.js';
import type { OriginalStats, RecordEvent, StreamEvent } from './discovery-types.js';

/** What Nearby calls an original node (it sends no name). */
export const ORIGINAL_PEER_NAME = 'original Drayer';

/** The original syncs every stream it holds every 2 h (its fullSyncInterval): two of those, and some. */
export const FOLLOWER_TTL_MS = 5 * 3600_000;
/** Streams and addresses per stream remembered as followed by originals (the oldest go first). */
const MAX_FOLLOWED = 4096;
const MAX_FOLLOWERS = 8;
/** An ask (per stream) is answered at most this often, however many originals ask. */
const ANSWER_SPACING_MS = 1000;

export interface OriginalLanHost {
  nodeId: Uint8Array;
  /** our HTTP port, and a stream we announce with its M-tip (none when not served, not announced, or announced privately) */
  ours: { port(): number; stream(publicKey: Uint8Array): AnnouncedStream | undefined };
  /** what discovery heard: an original is a peer as ours are */
  table: PeerTable;
  send(packet: Uint8Array): void;
  emit(event: string, x: RecordEvent | StreamEvent): void;
  /** what an original holds changed (Nearby hears of it) */
  changed(nodeId: string, address: string, now: number): void;
}

/** A stable node id (hex) for an original at address:port: it sends none. */
export function originalNodeId(address: string, port: number): string {
  return hexOf(blake2b256(new TextEncoder().encode(`original Drayer ${address} ${port}`)).subarray(0, 16));
}

export class OriginalLan {
  /** stream (hex) → original's address → when last heard of it */
  private readonly followed = new Map<string, Map<string, number>>();
  private readonly answered = new Map<string, number>();

  constructor(
    private readonly host: OriginalLanHost,
    private readonly counters: OriginalStats,
  ) {}

  /** A packet with the original's magic, within the rate limits: what the caller counts it as. */
  packet(msg: Uint8Array, address: string, now: number): 'ok' | 'own' | 'invalid' {
    const m = decodeOriginal(msg);
    if (m === 'ours') return 'own'; // ours or another node's of ours: they announce in our own packets too
    if (!m) return 'invalid';
    this.follows(m.chain, address, now);
    if (m.t === 'record') this.heard(m, address, now);
    else {
      this.counters.originalAsks++;
      this.answer(m.chain, m.mod, now);
    }
    return 'ok';
  }

  /**
   * An original's `record` packet: the original shows as a peer holding the stream at that M-tip
   * (kept as long as a peer announcing at the longest interval believed); a verified record is
   * announced as ours are (the node pulls it: it comes without its value), and the M-tip as a holder's.
   */
  private heard(m: OriginalRecordMessage, address: string, now: number): void {
    this.counters.originalRecords++;
    const nodeId = originalNodeId(address, m.port);
    const a: AnnounceMessage = {
      t: 'a',
      port: m.port,
      name: ORIGINAL_PEER_NAME,
      intervalMs: MAX_PEER_INTERVAL_MS,
      streams: [{ publicKey: m.chain, mtip: m.mod }],
    };
    if (this.host.table.announce(a, nodeId, address, now).changed) this.host.changed(nodeId, address, now);
    if (m.record) {
      this.counters.originalVerified++;
      this.host.emit('record', { record: m.record, address, port: m.port, nodeId } satisfies RecordEvent);
    }
    this.host.emit('stream', { publicKey: m.chain, mtip: m.mod, address, port: m.port, nodeId } satisfies StreamEvent);
  }

  /** A new record of a stream we announce: originals that follow it hear of it as from its writer. */
  recordMade(streamKey: Uint8Array, record: DrayerRecord, now = Date.now()): void {
    const at = this.followed.get(hexOf(streamKey));
    if (!at || ![...at.values()].some((t) => now - t < FOLLOWER_TTL_MS)) return;
    const port = this.host.ours.port();
    const packet = port > 0 ? encodeOriginalRecord(record, port, this.host.nodeId) : null;
    if (!packet) return;
    this.counters.originalSent++;
    this.host.send(packet);
  }

  /** Whether an original was heard of `streamKey` lately (tests, status). */
  followedByOriginal(streamKey: Uint8Array, now = Date.now()): boolean {
    const at = this.followed.get(hexOf(streamKey));
    return !!at && [...at.values()].some((t) => now - t < FOLLOWER_TTL_MS);
  }

  sweep(now: number): void {
    for (const [k, at] of this.followed) {
      for (const [a, t] of at) if (now - t >= FOLLOWER_TTL_MS) at.delete(a);
      if (at.size === 0) this.followed.delete(k);
    }
    for (const [k, t] of this.answered) if (now - t >= ANSWER_SPACING_MS) this.answered.delete(k);
  }

  private follows(chain: Uint8Array, address: string, now: number): void {
    const k = hexOf(chain);
    let at = this.followed.get(k);
    if (at)
      this.followed.delete(k); // to the end: most recently heard last
    else {
      if (this.followed.size >= MAX_FOLLOWED) this.followed.delete(this.followed.keys().next().value as string);
      at = new Map();
    }
    this.followed.set(k, at);
    at.delete(address);
    if (at.size >= MAX_FOLLOWERS) at.delete(at.keys().next().value as string);
    at.set(address, now);
  }

  /** "Anything newer than `mod`?": our M-tip, when newer, in the one packet the original reads (chain, mod, port). */
  private answer(chain: Uint8Array, mod: number, now: number): void {
    const mine = this.host.ours.stream(chain);
    const port = this.host.ours.port();
    if (!mine || mine.mtip <= mod || port === 0) return;
    const k = hexOf(chain);
    const last = this.answered.get(k);
    if (last !== undefined && now - last < ANSWER_SPACING_MS) return;
    if (this.answered.size >= 1024) this.answered.clear();
    this.answered.set(k, now);
    const packet = encodeOriginalTip(chain, mine.mtip, port, this.host.nodeId);
    this.counters.originalAnswers++;
    this.host.send(packet);
  }
}
