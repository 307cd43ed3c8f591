// What LAN discovery (discovery.ts) is given and hands on: its options, its events, its counters.
import type { DrayerRecord } from '../core/record.js';
import type { AnnouncedStream } from './discovery-wire.js';
import type { RateLimit } from './rate.js';

export interface DiscoveryOptions {
  /** 16 random bytes identifying this node (stable across restarts) */
  nodeId: Uint8Array;
  httpPort: () => number;
  name: () => string;
  streams: () => AnnouncedStream[];
  /** one stream of `streams()`, when served (an ask names one: listing them all per ask cost O(streams) per packet) */
  stream?: (publicKey: Uint8Array) => AnnouncedStream | undefined;
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

/** A peer's holdings, port or name changed ('peer' carries the whole peer, for listeners that want it). */
export interface PeerChangedEvent {
  nodeId: string;
  address: string;
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

export interface OriginalStats {
  /** original packets taken in, by kind */
  originalRecords: number;
  originalAsks: number;
  /** of the record packets, those whose signature verified */
  originalVerified: number;
  /** packets sent for originals: with a new record, and answering an ask */
  originalSent: number;
  originalAnswers: number;
}

export const newOriginalStats = (): OriginalStats => ({ originalRecords: 0, originalAsks: 0, originalVerified: 0, originalSent: 0, originalAnswers: 0 });

/** With the original Drayer's packets heard and sent (discovery-original.ts). */
export interface DiscoveryStats extends OriginalStats {
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
  /** stream entries left out of periodic announcements because others announced them (Trickle) */
  suppressed: number;
  /** record announcements not sent: a mirror's, of a record the LAN already announced */
  recordsSuppressed: number;
  /** stream entries we announced, by why: mirrored ones in periodic announcements, full listings, deltas, answers to an older M-tip heard, answers to asks */
  listedPeriodic: number;
  listedFull: number;
  listedDelta: number;
  listedNewer: number;
  listedAsk: number;
  /** mirrored entries of periodic announcements, by why nobody suppressed them: none heard over the interval, or only at an older M-tip */
  periodicUnheard: number;
  periodicOlder: number;
}

/** Counters at zero, as a new Discovery starts. */
export function newDiscoveryStats(): DiscoveryStats {
  return {
    sent: 0,
    received: 0,
    dropped: 0,
    rateLimited: 0,
    oversize: 0,
    invalid: 0,
    own: 0,
    unsent: 0,
    errors: 0,
    suppressed: 0,
    recordsSuppressed: 0,
    listedPeriodic: 0,
    listedFull: 0,
    listedDelta: 0,
    listedNewer: 0,
    listedAsk: 0,
    periodicUnheard: 0,
    periodicOlder: 0,
    ...newOriginalStats(),
  };
}
