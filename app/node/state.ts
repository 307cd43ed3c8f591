// What a running Node's parts share (the streams held, the library, the LAN server, discovery,
// the scheduler's books), and the small look-ups every part of the node makes on it.
import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DrayerEvents, LastSync, Settings, SyncMode, SyncReport } from './api.js';
import { SYNC_MODES } from './api.js';
import { isLanUrl } from '../net/lan.js';
import { DrayerError } from '../core/errors.js';
import { formatKey, parseKey, streamName } from '../core/keys.js';
import { cleanName } from '../core/text.js';
import type { Library } from './library.js';
import type { StreamEntry } from './library-schema.js';
import type { Stream } from '../store/store.js';
import type { LanServer } from '../net/server/server.js';
import type { Discovery } from '../net/discovery.js';
import type { DhtNode } from '../net/dht.js';
import type { PortMapper, PortMapperOptions } from '../net/portmap.js';
import type { TokenBucket } from '../net/rate.js';
import type { NearbyLimits, NearbyVerifier } from '../net/nearby.js';
import type { VerifierPool } from '../store/verifier.js';
import type { Uploads } from './uploads.js';
import type { DataDirWatcher } from './datadir.js';
import type { HeldStreams } from './held-streams.js';

export const DEFAULT_SETTINGS: Settings = {
  name: os.hostname(),
  discovery: true,
  serveFollowed: true,
  syncIntervalS: 60,
  notifications: false,
  syncMode: 'normal',
  dht: false,
  portMapping: true,
};

export interface NodeOptions {
  dataDir: string;
  /** LAN server address; null = no LAN server */
  host?: string | null;
  port?: number;
  /** override the discovery setting for this run */
  discovery?: boolean;
  /**
   * The local address discovery sends its multicast from and joins the group on (default: every
   * LAN address). Several nodes on one machine, each on its own 127.0.0.K, then look to one
   * another like hosts on a LAN (bench/lan.ts).
   */
  multicastInterface?: string;
  /**
   * The local address pulls connect from (default: the one the system picks). Nodes on one machine
   * each on its own 127.0.0.K otherwise all reach one another from 127.0.0.1, one address to
   * every server's per-address bounds, as no LAN of hosts would (bench/lan.ts).
   */
  connectFrom?: string;
  /** advertise and browse on mDNS beside discovery (default true; presence-mdns.ts), and on which port (tests) */
  mdns?: boolean;
  mdnsPort?: number;
  /**
   * The Mainline DHT for this run: options turn it on whatever the setting says (`drayer serve --dht`),
   * false keeps it off; undefined follows the node's setting (Settings.dht) with the public routers.
   */
  dht?: DhtRunOptions | false;
  /**
   * Router port mapping while in the DHT (default on; `serve --no-port-mapping` gives false); an object
   * tunes it (tests: which gateways, lease length).
   */
  portMapping?: false | Omit<PortMapperOptions, 'ports' | 'log'>;
  /** run the automatic sync scheduler (default true) */
  autoSync?: boolean;
  /** the library's streams open once this settles (the web UI's first page served), not at once */
  openStreamsAfter?: Promise<unknown>;
  /** Nearby's lookup limits, for tests (default NEARBY_LIMITS) */
  nearbyLimits?: Partial<NearbyLimits>;
  /** whether a person is using the UI right now (its requests coming): the opening of the streams then gives way */
  uiBusy?: () => boolean;
  log?: (msg: string) => void;
}

export interface DhtRunOptions {
  /** HOST:PORT of the nodes to join through (default: the public routers) */
  bootstrap?: string[];
  /** its UDP port (default: any free one) */
  port?: number;
  /** the address its socket binds (default every IPv4 address) */
  bindHost?: string;
  /** announce every stream served, not only those set findable (an always-on mirror) */
  announceAll?: boolean;
  /** join only while the node's setting (Settings.dht) is on: these options then say only how */
  whenSet?: boolean;
}

/** The node in the Mainline DHT (dht-presence.ts). */
export interface DhtPresence {
  readonly node: DhtNode;
  readonly announceAll: boolean;
  /** when each followed stream was last looked up, so that rounds do not look it up every time */
  readonly lookedUp: Map<string, number>;
  /** brings the announced set up to date now and then */
  readonly timer: NodeJS.Timeout;
  /** the router asked to forward the HTTP and DHT ports (null: turned off, or the server listens on loopback only) */
  portMap: PortMapper | null;
}

export interface PeerState {
  failures: number;
  nextTry: number;
}

/** An announcement heard on the LAN: a stream has a record as new as `mod` at address:port. */
export interface PullHint {
  publicKey: Uint8Array;
  address: string;
  port: number;
  mod: number;
  /** a record this copy holds another version of, or lacks, below its M-tip (an edit's or a delete's patch): pulled although no newer tip is announced */
  patch?: boolean;
}

/** The scheduler's books (scheduler.ts): who is backing off, what is running, what waits its turn. */
export interface SyncState {
  readonly peerState: Map<string, PeerState>;
  /** cursors of peers that have not served a verified record yet: kept out of library.db */
  readonly looseCursors: Map<string, { node: string; seq: number }>;
  /** announcement hints waiting to be pulled: by followed stream, the newest hint per source address */
  readonly hints: Map<string, Map<string, PullHint>>;
  hintTimer: NodeJS.Timeout | null;
  readonly pullBuckets: Map<string, TokenBucket>;
  readonly pullBucket: TokenBucket;
  /** `url pk` → the tip a holder announced when it was last pulled without error, and until when that counts */
  readonly tipsPulled: Map<string, { mod: number; until: number }>;
  /**
   * Each held stream's M-tip as last read: every announcement heard is compared with it (a full
   * listing names every stream its node serves). Forgotten whenever the stream changes (changes.ts);
   * a write by another process is seen within a poll, and until then a hint at worst pulls for nothing.
   */
  readonly tips: Map<string, number>;
  /** when each followed stream is next due a pull from a LAN holder even with no newer tip (the safety net) */
  readonly nextCheck: Map<string, number>;
  /** which configured source of each stream the next round starts with */
  readonly rotation: Map<string, number>;
  /** the last pull of each stream when it changed nothing, kept in memory only (an empty pull writes nothing) */
  readonly quietSyncs: Map<string, LastSync>;
  readonly syncing: Map<string, Promise<SyncReport[]>>;
  /** the running (or waiting) pull of each stream, to stop it (cancelSync) */
  readonly cancels: Map<string, AbortController>;
  activePulls: number;
  readonly pullWaiters: (() => void)[];
}

export interface NodeState {
  readonly opts: NodeOptions;
  readonly dataDir: string;
  readonly library: Library;
  readonly nodeId: Uint8Array;
  readonly log: (msg: string) => void;
  readonly uploads: Uploads;
  /** opened when first asked for, or soon after start (held-streams.ts) */
  readonly streams: HeldStreams;
  readonly seenSeq: Map<string, number>;
  /** streams let go of (their file went away), until their syncs end and they are closed */
  readonly closing: Map<string, Promise<void>>;
  readonly events: EventEmitter;
  /** the latest progress of each running pull, for windows that subscribe meanwhile */
  readonly liveProgress: Map<string, DrayerEvents['syncProgress']>;
  /** posts whose text could not be fetched lately (see OPEN_RETRY_MS), by stream, id and hash */
  readonly openFailures: Map<string, { until: number; why: string }>;
  /** peers a peerFound listed verified streams of (so the event that empties their list goes out too) */
  readonly shownPeers: Set<string>;
  readonly sync: SyncState;
  timers: NodeJS.Timeout[];
  server: LanServer | null;
  discovery: Discovery | null;
  /** the Mainline DHT, while joined (dht-presence.ts) */
  dht: DhtPresence | null;
  /** what Nearby shows: announced streams whose node answered with their signed drayer/info */
  nearbyInfo: NearbyVerifier | null;
  dataDirWatcher: DataDirWatcher | null;
  pool: VerifierPool | null;
  lan: { host: string; port: number } | null;
  stopped: boolean;
}

/** Entries kept in memory per peer URL or address (backoff, cursors, pull budgets), oldest dropped. */
const MAX_PEER_STATES = 1024;

/** Set a key of a bounded map as the newest, dropping the oldest beyond MAX_PEER_STATES. */
export function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PEER_STATES) map.delete(map.keys().next().value!);
}

/** Library setting: stream files in the data directory unfollowed with their data kept, not to be taken in again. */
export const RELEASED_FILES = 'releasedFiles';

export function releasedFiles(n: NodeState): string[] {
  const list = n.library.getSetting<unknown>(RELEASED_FILES, []);
  if (!Array.isArray(list)) return [];
  const kept = list.filter((f): f is string => typeof f === 'string' && fs.existsSync(path.join(n.dataDir, f)));
  if (kept.length !== list.length) n.library.setSetting(RELEASED_FILES, kept.length ? kept : undefined); // deleted since
  return kept;
}

/** Where to sync a followed stream from as the user set it, else as its file records it (clone, follow). */
export function givenSources(e: StreamEntry | undefined, s: Stream): string[] {
  const set = e?.settings.sources;
  return Array.isArray(set) ? set.filter((x): x is string => typeof x === 'string') : s.recordedSources();
}

export function streamOf(n: NodeState, publicKey: string): Stream {
  const pk = formatKey(parseKey(publicKey));
  const s = n.streams.get(pk);
  if (!s) throw new DrayerError('NOT_FOUND', `This node does not hold stream ${pk}; follow it first.`);
  return s;
}

export function entryOf(n: NodeState, pk: string): StreamEntry {
  const e = n.library.getStream(pk);
  if (!e) throw new DrayerError('NOT_FOUND', `This node does not hold stream ${pk}.`);
  return e;
}

export function writableOf(n: NodeState, publicKey: string): Stream {
  const s = streamOf(n, publicKey);
  if (!s.writable)
    throw new DrayerError(
      'NOT_WRITABLE',
      `${cleanName(n.library.getStream(formatKey(s.publicKey))?.name) || 'This stream'} is someone else's stream: only its author can change it.`,
    );
  return s;
}

/**
 * A stream this computer writes posts, replies and reactions into: the owner's copy, or a device's
 * (its own chain, §9; the store says when it is not listed yet or was removed).
 */
export function postableOf(n: NodeState, publicKey: string): Stream {
  const s = streamOf(n, publicKey);
  return s.writable || s.devices().mine ? s : writableOf(n, publicKey);
}

/** settingsOf's answer per stored settings object (the library keeps one until they change) */
const settingsMade = new WeakMap<object, Settings>();
const NONE_STORED = Object.freeze({});

export function settingsOf(n: NodeState): Settings {
  const stored = n.library.getSetting<Partial<Settings>>('settings', NONE_STORED);
  let made = settingsMade.get(stored);
  if (!made) settingsMade.set(stored, (made = Object.freeze(makeSettings(stored))));
  return made;
}

function makeSettings(stored: Partial<Settings>): Settings {
  // Known fields only: whatever else an older version stored is dropped at the next save.
  const s = {
    ...DEFAULT_SETTINGS,
    ...Object.fromEntries(
      Object.keys(DEFAULT_SETTINGS)
        .filter((k) => Object.hasOwn(stored, k))
        .map((k) => [k, stored[k as keyof Settings]]),
    ),
  } as Settings;
  return SYNC_MODES.includes(s.syncMode) ? s : { ...s, syncMode: 'normal' };
}

export function syncModeOf(n: NodeState): SyncMode {
  return settingsOf(n).syncMode;
}

/** Sync is paused: say so, and what to do (`what`: what could not be done). */
export function pausedError(what: string): DrayerError {
  return new DrayerError('SYNC_PAUSED', `Sync is paused, so ${what}. Turn sync back on (Settings → Sync, or Pause Sync in the tray menu), then try again.`);
}

/** Why the LAN-only mode skips a source, or undefined when it may be pulled from. */
export function lanSkip(n: NodeState, url: string): string | undefined {
  if (syncModeOf(n) !== 'lan' || isLanUrl(url)) return undefined;
  return `Sync is LAN only, and ${url} is not on the local network, so it was not contacted. Switch sync back to Normal (Settings → Sync, or LAN Only in the tray menu) to sync from it.`;
}

export function servedStream(n: NodeState, pk: Uint8Array): Stream | undefined {
  const key = formatKey(pk);
  const s = n.streams.get(key);
  return s && servedEntry(n, key) ? s : undefined;
}

/** The library entry of a stream held here (key `pk`) when this node serves it. */
function servedEntry(n: NodeState, pk: string, serveFollowed?: boolean): StreamEntry | undefined {
  const e = n.library.getStream(pk);
  if (!e || e.settings.serve === false) return undefined;
  if (!e.owned && e.settings.serve !== true && !(serveFollowed ?? settingsOf(n).serveFollowed)) return undefined;
  return e;
}

export function sharedStreams(n: NodeState): { publicKey: Uint8Array; name: string }[] {
  const out: { publicKey: Uint8Array; name: string }[] = [];
  const serveFollowed = settingsOf(n).serveFollowed;
  for (const [pk, s] of n.streams) {
    const e = servedEntry(n, pk, serveFollowed);
    if (e) out.push({ publicKey: s.publicKey, name: streamName(e.name, s.publicKey) });
  }
  return out;
}

/** A file name made of a stream's name (or any text): word characters, at most 40. */
export function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s || 'stream';
}

export function uniqueFile(n: NodeState, base: string): string {
  for (let i = 0; ; i++) {
    const f = `${base}${i ? `-${i}` : ''}.stream`;
    if (!fs.existsSync(path.join(n.dataDir, f)) && !fs.existsSync(path.join(n.dataDir, f + '.privatekey'))) return f;
  }
}

/** A stream in a log line: its name when known, and its key. */
export function describeStream(name: string, pk: string): string {
  const clean = cleanName(name);
  return clean ? `"${clean}" (${pk})` : `stream ${pk}`;
}

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}
