// The Node: everything a running Drayer has. It owns the streams in a data directory, the
// library database, the LAN server, discovery and the sync scheduler, and implements DrayerApi.
import type { Applier } from '../store/verifier.js';
import { peerId } from '../core/peer.js';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encode } from '@msgpack/msgpack';
import type { Arg, DrayerApi, DrayerEvent, DrayerEvents, DrayerRequests, Envelope, EventName, LastSync, Method, NearbyStream, PrimaryServer, Ret, Settings, StreamDetails, StreamSummary, SyncMode, SyncReport, VerifyReportView } from './api.js';
import { AVATAR_MAX, METHODS, PUT_FILE_MAX, READ_FILE_MAX, SYNC_MODES } from './api.js';
import { SYNC_INTERVAL_MAX_S, SYNC_INTERVAL_MIN_S } from './api-schema.js';
import { isLanHost, isLanUrl } from '../net/lan.js';
import { randomBytes } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { fingerprint, formatKey, keyLink, parseKey, streamName } from '../core/keys.js';
import { Library, StreamEntry } from './library.js';
import { addPost, editPost, listPosts, POST_TYPE, postView } from '../store/posts.js';
import type { DrayerRecord } from '../core/record.js';
import { keyPathFor, Stream, writeKeyFile } from '../store/store.js';
import { parseSecret, secretWords } from '../core/keybackup.js';
import { exportStream } from '../store/export.js';
import { CursorStore, latestWindowStart, pull, PullResult, remoteTips } from '../net/sync.js';
import { LanServer } from '../net/server/server.js';
import { Discovery, Peer, RateLimit, TokenBucket } from '../net/discovery.js';
import { NearbyVerifier, type VerifiedInfo } from '../net/nearby.js';
import { openValue, openValues, type OpenOptions } from '../net/open.js';
import { preparedApplier, verifyStreamParallel, VerifierPool } from '../store/verifier.js';
import { addBytes, addFile, addPaths, deleteFile, deleteFiles, folderDiff, gcChunks, listFiles, normalizeFilePath, openFileStream, statFile } from '../store/files.js';
import { decodeBase64, uploadMime, uploadTime, Uploads, UPLOAD_CHUNK_BYTES } from './uploads.js';
import { DataDirWatcher, StreamProbe } from './datadir.js';
import { cleanName, terminalSafe } from '../core/text.js';

export const DEFAULT_SETTINGS: Settings = { name: os.hostname(), discovery: true, serveFollowed: true, syncIntervalS: 60, notifications: false, syncMode: 'normal' };

export interface NodeOptions {
  dataDir: string;
  /** LAN server address; null = no LAN server */
  host?: string | null;
  port?: number;
  /** override the discovery setting for this run */
  discovery?: boolean;
  /** run the automatic sync scheduler (default true) */
  autoSync?: boolean;
  log?: (msg: string) => void;
}

interface PeerState {
  failures: number;
  nextTry: number;
}

const MAX_PULLS = 4;
/**
 * Pulls that LAN announcements start. An announcement is a hint anyone can send (any M-tip can
 * be claimed, any genuine record replayed, and ports cost nothing, so every packet can name a
 * new URL): it never skips a peer's backoff, and starts pulls at a bounded rate, per source
 * address and in total. The scheduled sync catches up on whatever is not pulled at once.
 */
const ANNOUNCED_PULLS_PER_ADDRESS: RateLimit = { burst: 4, perSecond: 0.5 };
const ANNOUNCED_PULLS: RateLimit = { burst: 16, perSecond: 2 };
/** Sources a sync round takes from peers only heard of on the LAN (see sourcesFor). */
const MAX_HEARD_SOURCES = 4;
/** Entries kept in memory per peer URL or address (backoff, cursors, pull budgets), oldest dropped. */
const MAX_PEER_STATES = 1024;
/** A post whose text a metadata-only copy could not fetch is not asked for again on every read for this long. */
const OPEN_RETRY_MS = 30_000;

interface PullHint {
  publicKey: Uint8Array;
  address: string;
  port: number;
  mod: number;
}

/** Set a key of a bounded map as the newest, dropping the oldest beyond MAX_PEER_STATES. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PEER_STATES) map.delete(map.keys().next().value!);
}
/** Library setting: stream files in the data directory unfollowed with their data kept, not to be taken in again. */
const RELEASED_FILES = 'releasedFiles';

/** Timeline entries carry cleaned names (text.ts); those of streams without a name record (the original Drayer's), words of their key. */
function named<T extends { streamKey: string; streamName: string }>(entries: T[]): T[] {
  return entries.map((e) => ({ ...e, streamName: streamName(e.streamName, parseKey(e.streamKey)) }));
}

function slug(name: string): string {
  const s = name.normalize('NFKD').replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return s || 'stream';
}

export class DrayerNode implements DrayerApi {
  readonly dataDir: string;
  readonly library: Library;
  readonly nodeId: Uint8Array;
  private readonly streams = new Map<string, Stream>();
  private readonly events = new EventEmitter();
  private readonly peerState = new Map<string, PeerState>();
  /** cursors of peers that have not served a verified record yet: kept out of library.db */
  private readonly looseCursors = new Map<string, { node: string; seq: number }>();
  /** streams with an announcement-started pull running → the latest hint heard meanwhile */
  private readonly announcedPulls = new Map<string, PullHint | null>();
  private readonly pullBuckets = new Map<string, TokenBucket>();
  private readonly pullBucket = new TokenBucket(ANNOUNCED_PULLS, Date.now());
  private readonly syncing = new Map<string, Promise<SyncReport[]>>();
  /** the latest progress of each running pull, for windows that subscribe meanwhile */
  private readonly liveProgress = new Map<string, DrayerEvents['syncProgress']>();
  /** the running (or waiting) pull of each stream, to stop it (cancelSync) */
  private readonly cancels = new Map<string, AbortController>();
  private readonly seenSeq = new Map<string, number>();
  /** posts whose text could not be fetched lately (see OPEN_RETRY_MS), by stream, id and hash */
  private readonly openFailures = new Map<string, { until: number; why: string }>();
  private timers: NodeJS.Timeout[] = [];
  private server: LanServer | null = null;
  private discovery: Discovery | null = null;
  /** what Nearby shows: announced streams whose node answered with their signed drayer/info */
  private nearbyInfo: NearbyVerifier | null = null;
  /** peers a peerFound listed verified streams of (so the event that empties their list goes out too) */
  private readonly shownPeers = new Set<string>();
  private dataDirWatcher: DataDirWatcher | null = null;
  /** streams let go of (their file went away), until their syncs end and they are closed */
  private readonly closing = new Map<string, Promise<void>>();
  private pool: VerifierPool | null = null;
  private lan: { host: string; port: number } | null = null;
  private stopped = false;
  private activePulls = 0;
  private readonly pullWaiters: (() => void)[] = [];
  private readonly log: (msg: string) => void;
  private readonly uploads: Uploads;

  private constructor(readonly opts: NodeOptions) {
    this.dataDir = path.resolve(opts.dataDir);
    this.library = Library.open(this.dataDir);
    this.uploads = new Uploads(this.dataDir);
    // Every log line goes out terminal-safe (names in it are cleaned where they are put in).
    const sink = opts.log;
    this.log = sink ? (m) => sink(terminalSafe(m)) : () => {};
    let id = this.library.getSetting<string>('nodeId', '');
    if (!/^[0-9a-f]{32}$/.test(id)) {
      id = Buffer.from(randomBytes(16)).toString('hex');
      this.library.setSetting('nodeId', id);
    }
    this.nodeId = new Uint8Array(Buffer.from(id, 'hex'));
    this.events.setMaxListeners(100);
  }

  /** Open the data directory and start the LAN server, discovery and the scheduler. */
  static async start(opts: NodeOptions): Promise<DrayerNode> {
    const node = new DrayerNode(opts);
    try {
      await node.boot();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private async boot(): Promise<void> {
    this.openKnownStreams();
    // Stream files put in the data directory (by the CLI, a clone, a copy) are served too.
    this.dataDirWatcher = new DataDirWatcher(this.dataDir, {
      held: () => [...this.streams].map(([publicKey, s]) => ({ publicKey, file: s.file, writable: s.writable })),
      holderOf: (pk) => (this.closing.has(pk) ? 'closing' : this.library.getStream(pk)?.file),
      ignored: () => new Set([...this.library.listStreams().map((e) => e.file), ...this.releasedFiles()]),
      adopt: (file, probe) => this.adoptFile(file, probe),
      drop: (pk, why) => this.dropStream(pk, why),
      takeKey: (pk) => this.takeKey(pk),
      log: (m) => this.log(m),
    });
    this.dataDirWatcher.scan();
    this.dataDirWatcher.start();
    this.pool = new VerifierPool();
    if (this.opts.host !== null) {
      this.server = new LanServer({
        host: this.opts.host ?? '0.0.0.0',
        port: this.opts.port ?? 0,
        resolve: (pk) => this.servedStream(pk),
        shared: () => this.sharedStreams(),
        log: (m: string) => this.log(m),
        opener: (s) => this.openOptions(s, true),
      });
      this.lan = await this.server.listen();
    }
    if (this.settings().discovery && this.opts.discovery !== false && this.lan) await this.startDiscovery();
    // Writes by other processes (the CLI beside `drayer serve`) are noticed by polling the seq.
    this.timers.push(setInterval(() => this.watchLocalChanges(), 500));
    if (this.opts.autoSync !== false) this.scheduleSync();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t), clearTimeout(t);
    this.timers = [];
    this.dataDirWatcher?.stop();
    await Promise.allSettled([...this.syncing.values()]);
    await Promise.allSettled([...this.closing.values()]);
    this.nearbyInfo?.stop();
    await this.discovery?.stop().catch(() => {});
    await this.server?.close().catch(() => {});
    await this.pool?.close().catch(() => {});
    await this.uploads.close().catch(() => {});
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    this.library.close();
  }

  // ---------- streams ----------

  private openKnownStreams(): void {
    for (const e of this.library.listStreams()) {
      const file = this.library.pathOf(e);
      // Deleted while the node was not running (a missing folder is more likely an unmounted disk).
      if (!fs.existsSync(file) && fs.existsSync(path.dirname(file))) {
        this.library.removeStream(e.publicKey);
        this.log(`${e.file} is gone: stopped serving ${describeStream(e.name, e.publicKey)} and took its posts off the timeline. Put the file back to serve it again.`);
        continue;
      }
      try {
        const s = Stream.open(file, { expectedKey: parseKey(e.publicKey) });
        this.streams.set(e.publicKey, s);
        this.seenSeq.set(e.publicKey, s.lastSeq());
        this.library.indexStream(s);
      } catch (err) {
        this.log(`cannot open ${e.file}: ${(err as Error).message}`);
      }
    }
  }

  /** Serve a stream file found in the data directory, indexed like one created here. */
  private adoptFile(file: string, probe: StreamProbe): void {
    const pk = formatKey(probe.publicKey);
    const full = path.join(this.dataDir, file);
    const s = Stream.open(full, { expectedKey: probe.publicKey });
    try {
      this.library.addStream({ publicKey: pk, file, owned: s.writable, name: String(s.info().name ?? '') });
      try {
        this.library.indexStream(s);
      } catch (e) {
        this.library.removeStream(pk);
        const code = String((e as { code?: unknown }).code ?? '');
        if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
          throw new DrayerError('CORRUPT', `${full} is damaged (${(e as Error).message}). Restore it from a backup or clone the stream again from a mirror.`, { cause: e });
        }
        throw e;
      }
    } catch (e) {
      s.close();
      throw e;
    }
    this.streams.set(pk, s);
    this.seenSeq.set(pk, s.lastSeq());
    const sources = this.givenSources(this.library.getStream(pk), s);
    const what = s.writable ? 'your own stream (its key file is beside it)' : `a mirror (no key file beside it)${sources.length ? `, synced from ${sources.join(', ')}` : ''}`;
    this.log(`Serving ${file}, found in the data directory: ${describeStream(String(s.info().name ?? ''), pk)}, ${what}.`);
    this.emit('streamsChanged', {});
    this.discovery?.announceNow();
  }

  /** Stop serving a stream whose file went away; it is closed once its syncs under way end. */
  private dropStream(pk: string, why: 'gone' | 'replaced'): void {
    const s = this.streams.get(pk);
    if (!s) return;
    const e = this.library.getStream(pk);
    this.streams.delete(pk);
    this.seenSeq.delete(pk);
    this.library.removeStream(pk);
    const running = [...this.syncing].filter(([key]) => key.startsWith(`${pk} `)).map(([, job]) => job);
    const closed = Promise.allSettled(running).then(() => {
      try {
        s.closeAfterMove();
      } catch (err) {
        this.log(`Closing ${s.file}: ${(err as Error).message}`);
      }
      this.closing.delete(pk);
      this.dataDirWatcher?.soon(); // it may be back under another name
    });
    this.closing.set(pk, closed);
    const file = e?.file ?? s.file;
    const who = describeStream(e?.name ?? '', pk);
    this.log(why === 'gone'
      ? `${file} is gone: stopped serving ${who} and took its posts off the timeline. Put the file back to serve it again.`
      : `${file} was replaced by another file: stopped serving ${who}; the file now at that name is looked at on its own.`);
    this.emit('streamsChanged', {});
    this.discovery?.announceNow();
  }

  /** A mirror whose key file was put beside it becomes your own stream, as it would at the next start. */
  private takeKey(pk: string): void {
    const s = this.streams.get(pk);
    if (!s?.takeKeyBeside()) return;
    this.library.indexStream(s); // records it as owned
    const e = this.library.getStream(pk);
    this.log(`${e?.file ?? s.file} has its key file beside it now: ${describeStream(e?.name ?? '', pk)} is your own stream, writable here.`);
    this.emit('streamsChanged', {});
  }

  private releasedFiles(): string[] {
    const list = this.library.getSetting<unknown>(RELEASED_FILES, []);
    if (!Array.isArray(list)) return [];
    const kept = list.filter((f): f is string => typeof f === 'string' && fs.existsSync(path.join(this.dataDir, f)));
    if (kept.length !== list.length) this.library.setSetting(RELEASED_FILES, kept.length ? kept : undefined); // deleted since
    return kept;
  }

  /** Where to sync a followed stream from as the user set it, else as its file records it (clone, follow). */
  private givenSources(e: StreamEntry | undefined, s: Stream): string[] {
    const set = e?.settings.sources;
    return Array.isArray(set) ? set.filter((x): x is string => typeof x === 'string') : s.recordedSources();
  }

  private stream(publicKey: string): Stream {
    const pk = formatKey(parseKey(publicKey));
    const s = this.streams.get(pk);
    if (!s) throw new DrayerError('NOT_FOUND', `This node does not hold stream ${pk}; follow it first.`);
    return s;
  }

  private entry(pk: string): StreamEntry {
    const e = this.library.getStream(pk);
    if (!e) throw new DrayerError('NOT_FOUND', `This node does not hold stream ${pk}.`);
    return e;
  }

  private settings(): Settings {
    const stored = this.library.getSetting<Partial<Settings>>('settings', {});
    // Known fields only: whatever else an older version stored is dropped at the next save.
    const s = { ...DEFAULT_SETTINGS, ...Object.fromEntries(Object.keys(DEFAULT_SETTINGS).filter((k) => Object.hasOwn(stored, k)).map((k) => [k, stored[k as keyof Settings]])) } as Settings;
    return SYNC_MODES.includes(s.syncMode) ? s : { ...s, syncMode: 'normal' };
  }

  private syncMode(): SyncMode {
    return this.settings().syncMode;
  }

  /** Sync is paused: say so, and what to do (`what`: what could not be done). */
  private pausedError(what: string): DrayerError {
    return new DrayerError('SYNC_PAUSED', `Sync is paused, so ${what}. Turn sync back on (Settings → Sync, or Pause Sync in the tray menu), then try again.`);
  }

  /** Why the LAN-only mode skips a source, or undefined when it may be pulled from. */
  private lanSkip(url: string): string | undefined {
    if (this.syncMode() !== 'lan' || isLanUrl(url)) return undefined;
    return `Sync is LAN only, and ${url} is not on the local network, so it was not contacted. Switch sync back to Normal (Settings → Sync, or LAN Only in the tray menu) to sync from it.`;
  }

  private servedStream(pk: Uint8Array): Stream | undefined {
    const key = formatKey(pk);
    const s = this.streams.get(key);
    if (!s) return undefined;
    const e = this.library.getStream(key);
    if (!e || e.settings.serve === false) return undefined;
    if (!e.owned && !this.settings().serveFollowed && e.settings.serve !== true) return undefined;
    return s;
  }

  private sharedStreams(): { publicKey: Uint8Array; name: string }[] {
    const out: { publicKey: Uint8Array; name: string }[] = [];
    for (const [pk, s] of this.streams) if (this.servedStream(s.publicKey)) out.push({ publicKey: parseKey(pk), name: streamName(this.library.getStream(pk)?.name, s.publicKey) });
    return out;
  }

  private uniqueFile(base: string): string {
    for (let i = 0; ; i++) {
      const f = `${base}${i ? `-${i}` : ''}.stream`;
      if (!fs.existsSync(path.join(this.dataDir, f)) && !fs.existsSync(path.join(this.dataDir, f + '.privatekey'))) return f;
    }
  }

  private summary(pk: string): StreamSummary {
    const s = this.stream(pk);
    const e = this.entry(pk);
    const info = s.info();
    const partial = s.partial;
    return {
      publicKey: pk,
      // a stream without a name record (the original Drayer's) shows by words of its key
      name: streamName(info.name ?? e.name, s.publicKey),
      about: String(info.about ?? ''),
      owned: s.writable,
      file: e.file,
      records: s.count(),
      posts: s.count(POST_TYPE),
      serve: this.servedStream(s.publicKey) !== undefined,
      announce: e.settings.announce !== false,
      partial: { minId: partial.minId ?? 0, minMod: partial.minMod ?? 0, metaOnly: partial.metaOnly ?? false, ...(s.latest ? { latest: s.latest } : {}) },
      sources: this.givenSources(e, s),
      ...(avatarPath(info.avatar) ? { avatar: avatarPath(info.avatar) } : {}),
    };
  }

  /** The stream's page on this computer, through the LAN server (null when it does not serve it). */
  localWebUrl(pk: Uint8Array): string | null {
    if (!this.lan || !this.servedStream(pk)) return null;
    const h = this.lan.host === '0.0.0.0' || this.lan.host === '::' || this.lan.host === '' ? '127.0.0.1' : this.lan.host;
    return `http://${h.includes(':') ? `[${h}]` : h}:${this.lan.port}/${Buffer.from(pk).toString('base64url')}/`;
  }

  /** Store a file the caller sent as bytes (or a finished upload), then index and announce it. */
  private async storeFile(s: Stream, write: () => Promise<{ path: string; changed: boolean }>): Promise<{ path: string; changed: boolean }> {
    const before = s.lastSeq();
    const r = await write();
    if (r.changed) this.afterChange(s, { stored: s.changesSince(before, { metaOnly: true, limit: 10_000 }).records, removed: [] }, true);
    return r;
  }

  private writable(publicKey: string): Stream {
    const s = this.stream(publicKey);
    if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${cleanName(this.library.getStream(formatKey(s.publicKey))?.name) || 'This stream'} is someone else's stream: only its author can change it.`);
    return s;
  }

  primaryServers(s: Stream): PrimaryServer[] {
    return s.primaryServers();
  }

  /** Everything a write changes reaches the index, the UI and the LAN. */
  private afterChange(s: Stream, res: { stored: DrayerRecord[]; removed: number[] }, local: boolean): void {
    const pk = formatKey(s.publicKey);
    if (res.stored.length === 0 && res.removed.length === 0) return;
    this.library.noteApplied(s, res);
    // A mirror that lost or replaced a big file drops the chunks nothing refers to any more.
    if (!local && (res.removed.length > 0 || res.stored.some((r) => r.type === 'file'))) gcChunks(s);
    this.seenSeq.set(pk, s.lastSeq());
    // Only a changed info record can rename the stream: no decoding on every synced page.
    if (res.stored.some((r) => r.type === 'drayer' && r.key === 'info')) {
      const name = s.info().name;
      const e = this.library.getStream(pk);
      if (e && name && name !== e.name) this.library.updateStream(pk, { name: String(name) });
    }
    this.emit('recordsChanged', { publicKey: pk, stored: res.stored.length, removed: res.removed.length, local });
    this.announce(s, res.stored);
  }

  private announce(s: Stream, stored: DrayerRecord[]): void {
    if (!this.discovery || !this.servedStream(s.publicKey)) return;
    const e = this.library.getStream(formatKey(s.publicKey));
    if (e?.settings.announce === false) return;
    // The newest record tells LAN followers there is something to pull.
    const newest = stored.reduce<DrayerRecord | undefined>((a, r) => (!a || r.mod > a.mod ? r : a), undefined);
    if (newest) this.discovery.announceRecord(s.publicKey, newest);
  }

  private watchLocalChanges(): void {
    for (const [pk, s] of this.streams) {
      try {
        const seq = s.lastSeq();
        if (seq === this.seenSeq.get(pk)) continue;
        this.seenSeq.set(pk, seq);
        const r = this.library.indexStream(s);
        this.emit('recordsChanged', { publicKey: pk, stored: r.indexed, removed: r.removed, local: true });
        const tip = s.changesSince(Math.max(0, seq - 1), { limit: 1, metaOnly: true }).records;
        this.announce(s, tip);
      } catch (err) {
        this.log(`watching ${pk}: ${(err as Error).message}`);
      }
    }
  }

  // ---------- opening a metadata-only copy ----------

  /**
   * Where a metadata-only copy fetches what is opened (the sources sync uses), and what it tells
   * the index. For a `stranger` (a request to the LAN server) only the copy's own sources: those
   * its user gave and its author named, never peers merely heard of on the LAN (issue 14.5).
   */
  private openOptions(s: Stream, stranger = false): OpenOptions {
    const mode = this.syncMode();
    const self = this.lan ? [`http://127.0.0.1:${this.lan.port}`, `http://localhost:${this.lan.port}`] : [];
    const own = [...this.configuredSources(s)].filter((u) => !self.includes(u));
    // Fetching a post's text is a pull too: none while paused, only nearby ones when LAN only.
    const sources = mode === 'paused' ? [] : (stranger ? own : this.sourcesFor(s)).filter((u) => mode !== 'lan' || isLanUrl(u));
    return {
      sources,
      lanOnly: mode === 'lan',
      onValue: (r) => this.library.notePostValues(s, [r]),
      advice: mode === 'paused'
        ? 'Sync is paused: turn it back on (Settings → Sync, or Pause Sync in the tray menu) to fetch it.'
        : `${mode === 'lan' ? 'Sync is LAN only, so only sources on the local network are asked. ' : ''}Try again when one of them is reachable, or add a peer that holds this stream with its values to its sources.`,
    };
  }

  /**
   * Posts being read: a metadata-only copy fetches the text of those it holds without it. Answers
   * why each one it could not fetch was not; such a post is not asked for again for a while.
   */
  private async readPosts(s: Stream, recs: DrayerRecord[]): Promise<Map<number, string>> {
    const failed = new Map<number, string>();
    if (!s.partial.metaOnly) return failed;
    const pk = formatKey(s.publicKey);
    const key = (r: DrayerRecord) => `${pk} ${r.id} ${Buffer.from(r.hash).toString('hex')}`;
    const todo: DrayerRecord[] = [];
    for (const r of recs) {
      if (r.val) continue;
      const f = this.openFailures.get(key(r));
      if (f && f.until > Date.now()) failed.set(r.id, f.why);
      else todo.push(r);
    }
    if (todo.length === 0) return failed;
    const now = await openValues(s, todo, this.openOptions(s));
    for (const r of todo) {
      const why = now.get(r.id);
      if (why === undefined) continue;
      failed.set(r.id, why);
      remember(this.openFailures, key(r), { until: Date.now() + OPEN_RETRY_MS, why });
    }
    return failed;
  }

  // ---------- sync ----------

  /** The sources the user gave and the stream's author named (its primary servers). */
  private configuredSources(s: Stream): Set<string> {
    const urls = new Set<string>();
    for (const u of this.givenSources(this.library.getStream(formatKey(s.publicKey)), s)) {
      try {
        urls.add(peerId(u));
      } catch {
        /* a bad URL recorded in the file is skipped */
      }
    }
    for (const p of this.primaryServers(s)) {
      try {
        urls.add(peerId(p.url));
      } catch {
        /* a bad URL in the record is skipped */
      }
    }
    return urls;
  }

  private sourcesFor(s: Stream, extra?: string): string[] {
    const pk = formatKey(s.publicKey);
    const urls = new Set<string>();
    if (extra) urls.add(peerId(extra));
    for (const u of this.configuredSources(s)) urls.add(u);
    const heard: string[] = [];
    for (const n of this.discovery?.nearby() ?? []) {
      if (formatKey(n.publicKey) !== pk) continue;
      for (const p of n.peers) {
        if (p.nodeId === Buffer.from(this.nodeId).toString('hex') || p.port === 0) continue;
        const url = `http://${p.address.includes(':') ? `[${p.address}]` : p.address}:${p.port}`;
        if (this.library.getPeer(url)) urls.add(url);
        else heard.push(url);
      }
    }
    // Peers only heard of on the LAN have not served anything yet and may be made up by the
    // hundred: a few a round, picked at random so made-up ones cannot crowd out an honest one.
    for (let i = 0; i < heard.length && i < MAX_HEARD_SOURCES; i++) {
      const j = i + Math.floor(Math.random() * (heard.length - i));
      [heard[i], heard[j]] = [heard[j]!, heard[i]!];
      urls.add(heard[i]!);
    }
    if (this.lan) {
      urls.delete(`http://127.0.0.1:${this.lan.port}`);
      urls.delete(`http://localhost:${this.lan.port}`);
    }
    return [...urls];
  }

  /** The LAN address of a computer that announces stream `pk`, if one does. */
  private nearbySource(pk: string): string | undefined {
    const self = Buffer.from(this.nodeId).toString('hex');
    for (const n of this.discovery?.nearby() ?? []) {
      if (formatKey(n.publicKey) !== pk) continue;
      const usable = n.peers.filter((x) => x.nodeId !== self && x.port > 0);
      // one that proved it serves the stream first (nearby.ts), else any that announced it
      const p = usable.find((x) => this.nearbyInfo?.verified(x.address, x.port, n.publicKey)) ?? usable[0];
      if (p) return `http://${p.address.includes(':') ? `[${p.address}]` : p.address}:${p.port}`;
    }
    return undefined;
  }

  /** Pull one stream from every known source (or just `only`); failures back off per peer. */
  syncStream(pk: string, only?: string, force = false): Promise<SyncReport[]> {
    const key = `${pk} ${only ?? '*'}`;
    const running = this.syncing.get(key);
    if (running) return running;
    // One pull of a stream at a time: two would fetch the same chunks twice, and the first to end
    // would say "synced" while the other still brings the rest. A pull not asked for by hand joins
    // the running one; one asked for by hand (a follow, Sync now) waits for it, then runs.
    const other = [...this.syncing].find(([k]) => k.startsWith(`${pk} `))?.[1];
    if (other && !force) return other;
    const job = (other ? other.catch(() => []).then(() => this.runSync(pk, only, force)) : this.runSync(pk, only, force))
      .finally(() => this.syncing.delete(key));
    this.syncing.set(key, job);
    return job;
  }

  /** A stream whose last pull the user stopped: automatic sync leaves it alone until a sync by hand. */
  private held(pk: string): boolean {
    return asLastSync(this.library.getStream(pk)?.settings.lastSync)?.cancelled === true;
  }

  /** Verify in the worker pool (the next page while this one is applied), then index and announce. */
  private applier(): Applier {
    const pool = this.pool;
    if (!pool) {
      return (stream, recs) => {
        const r = stream.apply(recs);
        this.afterChange(stream, r, false);
        return r;
      };
    }
    const base = preparedApplier(pool);
    const applier: Applier = async (stream, recs) => {
      const r = await base(stream, recs);
      this.afterChange(stream, r, false);
      return r;
    };
    applier.prepare = base.prepare;
    return applier;
  }

  /** At most MAX_PULLS pulls run at once; the rest wait their turn. */
  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.activePulls >= MAX_PULLS) await new Promise<void>((r) => this.pullWaiters.push(r));
    this.activePulls++;
    try {
      return await fn();
    } finally {
      this.activePulls--;
      this.pullWaiters.shift()?.();
    }
  }

  private async runSync(pk: string, only: string | undefined, force: boolean): Promise<SyncReport[]> {
    const stop = new AbortController();
    this.cancels.set(pk, stop);
    try {
      return await this.slot(async () => {
        if (!stop.signal.aborted) return this.runSyncNow(pk, only, force, stop.signal);
        this.noteSync(pk, { at: Date.now(), peer: only ?? '', records: 0, stored: 0, cancelled: true }); // stopped while waiting its turn
        return [];
      });
    } finally {
      if (this.cancels.get(pk) === stop) this.cancels.delete(pk);
    }
  }

  private async runSyncNow(pk: string, only: string | undefined, force: boolean, signal: AbortSignal): Promise<SyncReport[]> {
    const s = this.stream(pk);
    if (s.writable && !only) return [];
    if (!force && this.held(pk)) return [];
    // The mode is read as the pull starts (a pull waiting for its slot may find sync paused).
    if (this.syncMode() === 'paused') {
      if (force) throw this.pausedError('nothing was fetched');
      return [];
    }
    const reports: SyncReport[] = [];
    const configured = this.configuredSources(s);
    for (const url of only ? [peerId(only)] : this.sourcesFor(s)) {
      if (this.stopped) break;
      const skipped = this.lanSkip(url);
      if (skipped) {
        reports.push({ publicKey: pk, peer: url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, skipped });
        continue;
      }
      const st = this.peerState.get(url) ?? { failures: 0, nextTry: 0 };
      if (!force && st.nextTry > Date.now()) continue;
      // A peer heard of only on the LAN enters library.db once it has served a verified new
      // record: anyone can announce, and answer a pull with an empty page.
      let proven = configured.has(url) || this.library.getPeer(url) !== undefined;
      const base = this.applier();
      const applier: Applier = async (stream, recs) => {
        const r = await base(stream, recs);
        if (r.stored.length > 0) proven = true;
        return r;
      };
      applier.prepare = base.prepare;
      try {
        const res: PullResult = await pull(s, url, {
          cursors: this.cursorsFor(() => proven),
          lanOnly: this.syncMode() === 'lan',
          // Scheduled pulls get a time budget so one slow or hostile source cannot hold up the
          // others for long; the cursor keeps the work done, the next round resumes.
          maxDurationMs: force ? undefined : 5 * 60_000,
          applier,
          signal,
          onProgress: (p) => this.emit('syncProgress', {
            publicKey: pk, peer: url, records: p.records, recordsTotal: p.recordsTotal, bytes: p.bytes, chunks: p.chunks, chunksTotal: p.chunksTotal,
            size: p.size, sizeTotal: p.sizeTotal, done: false,
          }),
        });
        if (res.infoFilled) this.afterChange(s, { stored: [s.get('drayer', 'info')!], removed: [] }, false); // the name arrived
        if (res.leftWindow) this.afterChange(s, { stored: [], removed: res.leftWindow }, false); // off the timeline too
        remember(this.peerState, url, { failures: 0, nextTry: 0 });
        if (proven) this.library.upsertPeer({ url, lastOk: Date.now(), lastSeen: Date.now(), failures: 0, nextTry: 0 });
        this.emit('syncProgress', { publicKey: pk, peer: url, records: res.records, bytes: res.bytes, done: true });
        reports.push({ publicKey: pk, peer: url, records: res.records, stored: res.stored, removed: res.removed, duplicates: res.duplicates, rejected: res.rejected, bytes: res.bytes });
      } catch (err) {
        if (signal.aborted) {
          // Stopped by the user: what arrived is kept (cursors move per page, chunks are stored as
          // they come); no backoff, no other source, and no automatic sync until one by hand.
          this.emit('syncProgress', { publicKey: pk, peer: url, records: 0, bytes: 0, done: true, cancelled: true });
          reports.push({ publicKey: pk, peer: url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, cancelled: true });
          break;
        }
        const failures = st.failures + 1;
        const backoff = Math.min(30 * 60_000, 5_000 * 2 ** Math.min(failures, 10));
        remember(this.peerState, url, { failures, nextTry: Date.now() + backoff });
        if (proven) this.library.upsertPeer({ url, failures, nextTry: Date.now() + backoff });
        const msg = (err as Error).message;
        this.emit('syncProgress', { publicKey: pk, peer: url, records: 0, bytes: 0, done: true, error: msg });
        reports.push({ publicKey: pk, peer: url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, error: msg });
      }
    }
    this.noteRound(pk, reports);
    return reports;
  }

  /**
   * A round of pulls as the stream's state: stopped by the user, else synced when any source
   * answered (a dead mirror beside a live source is no news, and an old error is cleared), else
   * the first failure. A round that asked no one (every source backing off) changes nothing.
   */
  private noteRound(pk: string, reports: SyncReport[]): void {
    const at = Date.now();
    const tried = reports.filter((r) => !r.skipped);
    const stopped = tried.find((r) => r.cancelled);
    const good = tried.filter((r) => !r.error && !r.cancelled);
    const sum = (k: 'records' | 'stored') => good.reduce((n, r) => n + r[k], 0);
    if (stopped) this.noteSync(pk, { at, peer: stopped.peer, records: sum('records'), stored: sum('stored'), cancelled: true });
    else if (good.length) this.noteSync(pk, { at, peer: good[good.length - 1]!.peer, records: sum('records'), stored: sum('stored') });
    else if (tried[0]) this.noteSync(pk, { at, peer: tried[0].peer, records: 0, stored: 0, error: tried[0].error });
  }

  /** The last pull of a stream, and the last that worked, kept in its library entry for its page. */
  private noteSync(pk: string, last: LastSync): void {
    try {
      if (!this.library.getStream(pk)) return;
      this.library.updateStream(pk, { settings: last.error || last.cancelled ? { lastSync: last } : { lastSync: last, lastOk: { at: last.at, peer: last.peer } } });
    } catch (e) {
      this.log(`noting the last sync of ${pk}: ${(e as Error).message}`);
    }
  }

  /** Sync cursors in library.db once `proven()`; until then in memory (bounded). */
  private cursorsFor(proven: () => boolean): CursorStore {
    const lib = this.library;
    const loose = this.looseCursors;
    const key = (peer: string, pk: string): string => `${peer} ${pk}`;
    return {
      getCursor: (peer, pk, node) => {
        const c = loose.get(key(peer, pk));
        return c ? (c.node === node ? c.seq : 0) : lib.getCursor(peer, pk, node);
      },
      lastNodeId: (peer, pk) => loose.get(key(peer, pk))?.node ?? lib.lastNodeId(peer, pk),
      setCursor: (peer, pk, node, seq) => {
        if (!proven()) return remember(loose, key(peer, pk), { node, seq });
        loose.delete(key(peer, pk));
        lib.setCursor(peer, pk, node, seq);
      },
    };
  }

  /** An announcement says a followed stream has something newer at a peer: maybe pull (see ANNOUNCED_PULLS). */
  private pullOnAnnouncement(hint: PullHint): void {
    const pk = formatKey(hint.publicKey);
    const s = this.streams.get(pk);
    if (this.stopped || !s || s.writable || hint.mod <= s.mtip()) return;
    const mode = this.syncMode();
    if (mode === 'paused' || (mode === 'lan' && !isLanHost(hint.address))) return;
    if (!Number.isInteger(hint.port) || hint.port <= 0 || hint.port > 65535) return;
    if (this.announcedPulls.has(pk)) {
      // one at a time per stream; the latest hint is tried when it ends
      this.announcedPulls.set(pk, hint);
      return;
    }
    const url = peerId(`http://${hint.address.includes(':') ? `[${hint.address}]` : hint.address}:${hint.port}`);
    const now = Date.now();
    if ((this.peerState.get(url)?.nextTry ?? 0) > now) return;
    let bucket = this.pullBuckets.get(hint.address);
    if (!bucket) remember(this.pullBuckets, hint.address, (bucket = new TokenBucket(ANNOUNCED_PULLS_PER_ADDRESS, now)));
    if (!bucket.take(now) || !this.pullBucket.take(now)) return;
    this.announcedPulls.set(pk, null);
    void this.syncStream(pk, url)
      .catch(() => {})
      .finally(() => {
        const next = this.announcedPulls.get(pk);
        this.announcedPulls.delete(pk);
        if (next) this.pullOnAnnouncement(next);
      });
  }

  private scheduleSync(): void {
    let timer: NodeJS.Timeout;
    const tick = async () => {
      this.timers = this.timers.filter((t) => t !== timer); // one sync timer at a time, not one more per round
      if (this.stopped) return;
      // Paused: no pulls this round; the timer keeps going, so sync resumes by itself.
      if (this.syncMode() !== 'paused') for (const [pk, s] of this.streams) if (!s.writable) await this.syncStream(pk).catch(() => {});
      // Clamped: a setting stored before it was bounded must not overflow setTimeout into a 1 ms loop.
      const s = this.settings().syncIntervalS;
      const every = Number.isFinite(s) ? Math.min(Math.max(s, SYNC_INTERVAL_MIN_S), SYNC_INTERVAL_MAX_S) : DEFAULT_SETTINGS.syncIntervalS;
      if (!this.stopped) this.timers.push((timer = setTimeout(tick, every * 1000)));
    };
    this.timers.push((timer = setTimeout(tick, 1000)));
  }

  private async startDiscovery(): Promise<void> {
    const d = new Discovery({
      nodeId: this.nodeId,
      httpPort: () => this.lan?.port ?? 0,
      name: () => this.settings().name,
      streams: () =>
        this.sharedStreams()
          .filter((x) => this.library.getStream(formatKey(x.publicKey))?.settings.announce !== false)
          .map((x) => ({ publicKey: x.publicKey, mtip: this.streams.get(formatKey(x.publicKey))!.mtip(), name: x.name })),
    });
    // Nearby lists a stream once its node proved it serves it (nearby.ts); a change there is a peerFound
    const v = new NearbyVerifier({
      onChange: (address, port) => {
        for (const p of d.peers()) if (p.address === address && p.port === port) this.peerFound(p);
      },
    });
    d.on('warning', (w: unknown) => this.log(`discovery: ${String((w as Error)?.message ?? w)}`));
    d.on('peer', (p: Peer) => this.peerFound(p));
    d.on('peerLost', (p: Peer) => {
      if (!this.shownPeers.delete(`${p.address}/${p.nodeId}`)) return; // it never showed
      this.emit('peerLost', { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name });
    });
    d.on('stream', (x: { publicKey: Uint8Array; mtip: number; address: string; port: number }) => {
      v.want(x.address, x.port, x.publicKey, x.mtip);
      this.pullOnAnnouncement({ publicKey: x.publicKey, address: x.address, port: x.port, mod: x.mtip });
    });
    d.on('record', (x: { record: DrayerRecord; address: string; port: number }) =>
      this.pullOnAnnouncement({ publicKey: x.record.chain, address: x.address, port: x.port, mod: x.record.mod }));
    await d.start();
    this.discovery = d;
    this.nearbyInfo = v;
  }

  /** A peer's streams that Nearby shows: those it proved it serves. */
  private verifiedStreams(p: { address: string; port: number; streams: { publicKey: Uint8Array }[] }): string[] {
    const v = this.nearbyInfo;
    return v ? p.streams.filter((s) => v.verified(p.address, p.port, s.publicKey)).map((s) => formatKey(s.publicKey)) : [];
  }

  /** peerFound for a peer with streams to show (or that had some): made-up announcements stay silent. */
  private peerFound(p: Peer): void {
    const key = `${p.address}/${p.nodeId}`;
    const streams = this.verifiedStreams(p);
    if (streams.length === 0 && !this.shownPeers.has(key)) return;
    if (streams.length > 0) {
      if (this.shownPeers.size >= 1024) this.shownPeers.clear(); // only decides whether an emptied list is announced
      this.shownPeers.add(key);
    } else this.shownPeers.delete(key);
    this.emit('peerFound', { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name, streams });
  }

  // ---------- DrayerApi ----------

  private emit<E extends EventName>(event: E, data: DrayerEvents[E]): void {
    if (event === 'syncProgress') {
      const p = data as DrayerEvents['syncProgress'];
      if (p.done) this.liveProgress.delete(p.publicKey);
      else this.liveProgress.set(p.publicKey, p);
    }
    this.events.emit('event', { event, data } as DrayerEvent);
  }

  subscribe(listener: (e: DrayerEvent) => void): () => void {
    this.events.on('event', listener);
    // A window opened mid-pull learns of it now, not at its next event (a held-up file may send none for a while).
    for (const data of this.liveProgress.values()) listener({ event: 'syncProgress', data });
    return () => this.events.off('event', listener);
  }

  async call<M extends Method>(method: M, arg: Arg<M>): Promise<Ret<M>> {
    if (!METHODS.includes(method)) throw new DrayerError('INVALID_ARGUMENT', `Unknown request ${String(method)}.`);
    const h = this.handlers[method] as (a: Arg<M>) => Ret<M> | Promise<Ret<M>>;
    return h((arg ?? {}) as Arg<M>);
  }

  /** `call` as data: what every transport sends across. */
  async callEnvelope(method: string, arg: unknown): Promise<Envelope<unknown>> {
    if (!METHODS.includes(method as Method)) return { ok: false, error: { code: 'UNKNOWN_METHOD', message: `Unknown request ${method}.` } };
    try {
      return { ok: true, value: await this.call(method as Method, arg as never) };
    } catch (e) {
      if (isDiskFull(e)) {
        return { ok: false, error: { code: 'DISK_FULL', message: `The disk is full, so nothing was saved. Free some space on the disk that holds ${this.dataDir}, then try again.` } };
      }
      if (isDrayerError(e)) return { ok: false, error: { code: e.code, message: e.message } };
      this.log(`${method} failed: ${(e as Error)?.stack ?? e}`);
      return { ok: false, error: { code: 'INTERNAL', message: `${method} failed unexpectedly: ${(e as Error)?.message ?? e}` } };
    }
  }

  lanAddress(): { host: string; port: number } | null {
    return this.lan;
  }

  /** URLs a phone on the LAN can open for a stream. */
  webUrls(pk: Uint8Array): string[] {
    if (!this.lan) return [];
    const hosts: string[] = [];
    if (this.lan.host === '0.0.0.0' || this.lan.host === '::') {
      for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) hosts.push(a.address);
      }
      if (hosts.length === 0) hosts.push('127.0.0.1');
    } else hosts.push(this.lan.host);
    return hosts.map((h) => `http://${h}:${this.lan!.port}/${Buffer.from(pk).toString('base64url')}/`);
  }

  private readonly handlers: { [M in Method]: (a: DrayerRequests[M][0]) => DrayerRequests[M][1] | Promise<DrayerRequests[M][1]> } = {
    status: () => ({
      dataDir: this.dataDir,
      nodeId: Buffer.from(this.nodeId).toString('hex'),
      lan: this.lan,
      discovery: this.discovery !== null,
      peers: this.discovery?.peers().length ?? 0,
    }),
    listStreams: () => this.library.listStreams().filter((e) => this.streams.has(e.publicKey)).map((e) => this.summary(e.publicKey)),
    createStream: ({ name, about }) => {
      if (typeof name !== 'string' || !name.trim()) throw new DrayerError('INVALID_ARGUMENT', 'A stream needs a name.');
      const file = this.uniqueFile(slug(name));
      const s = Stream.create(path.join(this.dataDir, file), { name: name.trim(), about });
      const pk = formatKey(s.publicKey);
      this.streams.set(pk, s);
      this.library.addStream({ publicKey: pk, file, owned: true, name: name.trim() });
      this.library.indexStream(s);
      this.seenSeq.set(pk, s.lastSeq());
      this.emit('streamsChanged', {});
      this.discovery?.announceNow();
      return this.summary(pk);
    },
    streamDetails: ({ publicKey }) => {
      const s = this.stream(publicKey);
      const sum = this.summary(formatKey(s.publicKey));
      const files = listFiles(s);
      return {
        ...sum,
        fingerprint: fingerprint(s.publicKey),
        link: keyLink(s.publicKey),
        webUrls: this.webUrls(s.publicKey),
        localUrl: this.localWebUrl(s.publicKey),
        primaryServers: this.primaryServers(s),
        files: files.map((f) => ({ path: f.path, size: f.size, mime: f.mime, time: f.time })),
        bytes: files.reduce((n, f) => n + f.size, 0) + valueBytes(s),
        lastSeq: s.lastSeq(),
        nodeId: s.nodeId,
        path: s.file,
        lastSync: asLastSync(this.entry(sum.publicKey).settings.lastSync),
        lastOk: asLastOk(this.entry(sum.publicKey).settings.lastOk),
        incomplete: !s.writable && s.unfinishedSyncs().length > 0,
      } satisfies StreamDetails;
    },
    setStreamInfo: ({ publicKey, name, about }) => {
      const s = this.stream(publicKey);
      const info = { ...s.info(), ...(name !== undefined ? { name } : {}), ...(about !== undefined ? { about } : {}) };
      const r = s.put('drayer', 'info', encode(info));
      this.afterChange(s, { stored: [r], removed: [] }, true);
      if (name) this.library.updateStream(formatKey(s.publicKey), { name });
      return this.summary(formatKey(s.publicKey));
    },
    post: ({ publicKey, title, body }) => {
      const s = this.stream(publicKey);
      const p = addPost(s, { title, body });
      this.afterChange(s, { stored: [s.get(POST_TYPE, p.key)!], removed: [] }, true);
      return p;
    },
    editPost: ({ publicKey, key, title, body }) => {
      const s = this.stream(publicKey);
      const before = s.lastSeq();
      const p = editPost(s, key, { title, body });
      this.afterChange(s, { stored: s.changesSince(before).records, removed: [] }, true);
      return p;
    },
    deletePost: ({ publicKey, key }) => {
      const s = this.stream(publicKey);
      const old = s.get(POST_TYPE, key);
      const before = s.lastSeq();
      const ok = s.delete(POST_TYPE, key);
      if (ok) this.afterChange(s, { stored: s.changesSince(before).records, removed: old ? [old.id] : [] }, true);
      return ok;
    },
    listPosts: async ({ publicKey, limit, offset }) => {
      const s = this.stream(publicKey);
      if (!s.partial.metaOnly) return listPosts(s, { limit, offset });
      const recs = s.list(POST_TYPE, { order: 'ts', limit, offset });
      const failed = await this.readPosts(s, recs);
      return recs.map((r) => {
        const why = failed.get(r.id);
        return why !== undefined ? { ...postView(r), unavailable: why } : postView(r.val ? r : s.getById(r.id) ?? r);
      });
    },
    getPost: async ({ publicKey, key }) => {
      const s = this.stream(publicKey);
      const r = s.get(POST_TYPE, String(key));
      if (!r) return null;
      // A metadata-only copy fetches it now; when it cannot, the error says why and what to do.
      return postView(r.val ? r : { ...r, val: await openValue(s, r, this.openOptions(s)) });
    },
    follow: async ({ key, url, latest, metaOnly }) => {
      const { pk, source } = parseFollowTarget(key);
      const pkText = formatKey(pk);
      // Without an address, a partial follow asks a computer nearby that announces the stream.
      const from = url ?? source ?? (latest !== undefined ? this.nearbySource(pkText) : undefined);
      if (this.streams.has(pkText)) throw new DrayerError('EXISTS', `You already hold this stream (${cleanName(this.library.getStream(pkText)?.name) || pkText}).`);
      if (this.syncMode() === 'paused') throw this.pausedError('a stream cannot be followed now (following fetches it)');
      if (from && this.lanSkip(peerId(from))) throw new DrayerError('LAN_ONLY', this.lanSkip(peerId(from))!.replace('so it was not contacted', 'so the stream was not followed'));
      let minId = 0;
      if (latest !== undefined) {
        if (!Number.isSafeInteger(latest) || latest < 1) throw new DrayerError('INVALID_ARGUMENT', '--latest needs a positive whole number.');
        if (!from) throw new DrayerError('INVALID_ARGUMENT', 'To keep only the latest records, Drayer must ask a computer that has the stream how far it goes: give its address, or follow it from Nearby.');
        minId = await latestWindowStart(from, pk, latest);
      }
      const file = this.uniqueFile(`follow-${Buffer.from(pk).toString('base64url').slice(0, 10)}`);
      const s = Stream.create(path.join(this.dataDir, file), { followKey: pk, minId, metaOnly, latest });
      // Recorded in the file too, as `drayer clone` does, so the file alone says where to sync it from.
      if (from) s.setMeta('sources', JSON.stringify([peerId(from)]));
      this.streams.set(pkText, s);
      this.library.addStream({ publicKey: pkText, file, owned: false, name: '', settings: from ? { sources: [peerId(from)] } : {} });
      this.seenSeq.set(pkText, s.lastSeq());
      this.emit('streamsChanged', {});
      await this.syncStream(pkText, undefined, true);
      this.discovery?.announceNow(); // a copy more on the LAN: Nearby on other computers learns it now, not in 30 s
      return this.summary(pkText);
    },
    unfollow: ({ publicKey, deleteData }) => {
      const s = this.stream(publicKey);
      if (s.writable && deleteData) throw new DrayerError('PROTECTED', 'This is your own stream; its files are not deleted from here. Remove them by hand if you really mean it.');
      const pk = formatKey(s.publicKey);
      const e = this.entry(pk);
      s.close();
      this.streams.delete(pk);
      this.library.removeStream(pk);
      if (deleteData) for (const f of ['', '-wal', '-shm']) fs.rmSync(path.join(this.dataDir, e.file + f), { force: true });
      // A file kept in the data directory would be taken in again at once: remember it was let go.
      else if (!path.isAbsolute(e.file)) this.library.setSetting(RELEASED_FILES, [...new Set([...this.releasedFiles(), e.file])]);
      this.emit('streamsChanged', {});
      this.discovery?.announceNow();
    },
    syncNow: async ({ publicKey }) => {
      if (this.syncMode() === 'paused') throw this.pausedError('nothing was synced');
      // One stream by hand resumes it when the user had stopped it; "all" leaves stopped ones stopped.
      const keys = publicKey ? [formatKey(this.stream(publicKey).publicKey)] : [...this.streams.keys()].filter((pk) => !this.held(pk));
      const out: SyncReport[] = [];
      for (const pk of keys) out.push(...(await this.syncStream(pk, undefined, true)));
      return out;
    },
    cancelSync: ({ publicKey }) => {
      const pk = formatKey(this.stream(publicKey).publicKey);
      const stop = this.cancels.get(pk);
      if (!stop || stop.signal.aborted) return false;
      stop.abort();
      return true;
    },
    addFiles: async ({ publicKey, paths }) => {
      const s = this.stream(publicKey);
      const before = s.lastSeq();
      const r = await addPaths(s, paths);
      this.afterChange(s, { stored: s.changesSince(before, { metaOnly: true, limit: 10_000 }).records, removed: [] }, true);
      return r;
    },
    deleteFile: async ({ publicKey, path: p }) => {
      const s = this.stream(publicKey);
      const before = s.lastSeq();
      const ok = deleteFile(s, p);
      if (ok) this.afterChange(s, { stored: s.changesSince(before, { metaOnly: true }).records, removed: [] }, true);
      return ok;
    },
    deleteFiles: ({ publicKey, paths, folder }) => {
      const s = this.writable(publicKey);
      const before = s.lastSeq();
      const removed = deleteFiles(s, { paths, folder });
      if (removed.length > 0) this.afterChange(s, { stored: s.changesSince(before, { metaOnly: true, limit: 10_000 }).records, removed: [] }, true);
      return { removed };
    },
    folderDiff: ({ publicKey, under, files }) => folderDiff(this.writable(publicKey), typeof under === 'string' ? under : '', files),
    putFile: ({ publicKey, path: p, data, mime, time }) => {
      const s = this.writable(publicKey);
      const key = normalizeFilePath(p);
      const bytes = decodeBase64(data, PUT_FILE_MAX, 'A file sent in one request');
      return this.storeFile(s, () => addBytes(s, key, bytes, { mime: uploadMime(key, mime), time: uploadTime(time) }));
    },
    uploadBegin: async ({ publicKey, path: p, size, mime, time }) => {
      const s = this.writable(publicKey);
      const u = await this.uploads.begin({ publicKey: formatKey(s.publicKey), path: p, size, mime, time });
      return { uploadId: u.id, chunkBytes: UPLOAD_CHUNK_BYTES };
    },
    uploadChunk: ({ uploadId, offset, data }) => this.uploads.chunk(uploadId, offset, data),
    uploadFinish: ({ uploadId }) =>
      this.uploads.finish(uploadId, (u) => {
        const s = this.writable(u.publicKey);
        return this.storeFile(s, () => addFile(s, u.path, u.file, { mime: u.mime }));
      }),
    uploadCancel: ({ uploadId }) => this.uploads.cancel(uploadId),
    readFile: async ({ publicKey, path: p, offset, length }) => {
      const s = this.stream(publicKey);
      const key = normalizeFilePath(p);
      const f = statFile(s, key);
      if (!f) throw new DrayerError('NOT_FOUND', `There is no file "${key}" in this stream (or only its metadata is on this computer).`);
      const from = offset ?? 0;
      if (!Number.isSafeInteger(from) || from < 0 || from > f.size) throw new DrayerError('INVALID_ARGUMENT', `The offset must be from 0 to ${f.size}, the size of "${key}".`);
      if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new DrayerError('INVALID_ARGUMENT', 'The length is a number of bytes.');
      const n = Math.min(length ?? READ_FILE_MAX, READ_FILE_MAX, f.size - from);
      const parts: Buffer[] = [];
      if (n > 0) {
        try {
          for await (const part of openFileStream(s, key, { start: from, end: from + n - 1 })) parts.push(part as Buffer);
        } catch (e) {
          if (isDrayerError(e, 'NOT_FOUND')) throw new DrayerError('NOT_FOUND', `Part of "${key}" is not on this computer yet; it arrives when the stream syncs.`);
          throw e;
        }
      }
      return { path: key, mime: f.mime, size: f.size, offset: from, data: Buffer.concat(parts).toString('base64') };
    },
    setAvatar: async ({ publicKey, data }) => {
      const s = this.writable(publicKey);
      const pk = formatKey(s.publicKey);
      const info = s.info();
      const old = avatarPath(info.avatar);
      const before = s.lastSeq();
      let next: string | undefined;
      if (data !== null && data !== undefined) {
        const bytes = decodeBase64(data, AVATAR_MAX, 'The avatar image');
        const kind = imageKind(bytes);
        if (!kind) throw new DrayerError('INVALID_ARGUMENT', 'The avatar must be a PNG, JPEG, GIF or WebP image.');
        next = `media/avatar-${Date.now().toString(36)}.${kind.ext}`;
        await addBytes(s, next, bytes, { mime: kind.mime });
      }
      const { avatar: _old, ...rest } = info as Record<string, unknown>;
      s.put('drayer', 'info', encode(next ? { ...rest, avatar: next } : rest));
      if (old && old !== next && old.startsWith('media/avatar-')) deleteFile(s, old);
      this.afterChange(s, { stored: s.changesSince(before, { metaOnly: true, limit: 10_000 }).records, removed: [] }, true);
      return this.summary(pk);
    },
    timeline: async ({ limit, before }) => {
      const items = this.library.timeline({ limit, before });
      // Posts of metadata-only copies are fetched as they are shown, then read again from the index.
      const unread = new Map<string, DrayerRecord[]>();
      const metaOnly = new Map<string, boolean>();
      for (const t of items) {
        const s = this.streams.get(t.streamKey);
        if (s && !metaOnly.has(t.streamKey)) metaOnly.set(t.streamKey, s.partial.metaOnly === true);
        const r = s && metaOnly.get(t.streamKey) ? s.getById(t.id) : undefined;
        if (r && r.val === null && r.type === POST_TYPE) unread.set(t.streamKey, [...(unread.get(t.streamKey) ?? []), r]);
      }
      if (unread.size === 0) return named(items);
      const failed = new Map<string, string>();
      await Promise.all([...unread].map(async ([pk, recs]) => {
        for (const [id, why] of await this.readPosts(this.streams.get(pk)!, recs)) failed.set(`${pk} ${id}`, why);
      }));
      return named(this.library.timeline({ limit, before })).map((t) => {
        const why = failed.get(`${t.streamKey} ${t.id}`);
        return why !== undefined ? { ...t, unavailable: why } : t;
      });
    },
    search: ({ query, limit }) => named(this.library.search(query, { limit })),
    nearby: () => {
      // Only streams whose node answered with their signed drayer/info, named by it (not by the packet).
      const out: NearbyStream[] = [];
      const v = this.nearbyInfo;
      if (!v) return out;
      const names = new Map((this.discovery?.peers() ?? []).map((p) => [`${p.address}/${p.nodeId}`, p.name]));
      for (const n of this.discovery?.nearby() ?? []) {
        const pk = formatKey(n.publicKey);
        let info: VerifiedInfo | undefined;
        const peers: NearbyStream['peers'] = [];
        for (const p of n.peers) {
          const proved = v.verified(p.address, p.port, n.publicKey);
          if (!proved) continue;
          if (!info || proved.mod > info.mod) info = proved; // the later info names the stream
          const name = names.get(`${p.address}/${p.nodeId}`);
          peers.push(name ? { address: p.address, port: p.port, name } : { address: p.address, port: p.port });
        }
        const held = this.streams.get(pk);
        if (info) out.push({ publicKey: pk, name: streamName(info.name, n.publicKey), following: !!held, ...(held?.writable ? { owned: true } : {}), peers, mtip: n.mtip });
      }
      return out;
    },
    setPrimaryServers: ({ publicKey, servers }) => {
      const s = this.stream(publicKey);
      // the store checks and writes the list, so the CLI's `drayer servers` writes the same
      const { record, servers: clean } = s.setPrimaryServers((servers ?? []).map((x) => x.url));
      this.afterChange(s, { stored: [record], removed: [] }, true);
      return clean;
    },
    setStreamSettings: ({ publicKey, serve, announce, sources }) => {
      const pk = formatKey(this.stream(publicKey).publicKey);
      const e = this.entry(pk);
      const settings = { ...e.settings };
      if (serve !== undefined) settings.serve = serve;
      if (announce !== undefined) settings.announce = announce;
      if (sources !== undefined) settings.sources = sources.map(peerId);
      this.library.updateStream(pk, { settings });
      this.discovery?.announceNow();
      return this.summary(pk);
    },
    getSettings: () => this.settings(),
    setSettings: async (patch) => {
      const next = { ...this.settings(), ...Object.fromEntries(Object.entries(patch ?? {}).filter(([k]) => Object.hasOwn(DEFAULT_SETTINGS, k))) } as Settings;
      if (typeof next.name !== 'string' || typeof next.discovery !== 'boolean' || typeof next.serveFollowed !== 'boolean' || typeof next.notifications !== 'boolean') {
        throw new DrayerError('INVALID_ARGUMENT', 'Settings: name is text, discovery, serveFollowed and notifications are true or false.');
      }
      if (!Number.isFinite(next.syncIntervalS) || next.syncIntervalS < SYNC_INTERVAL_MIN_S || next.syncIntervalS > SYNC_INTERVAL_MAX_S) {
        throw new DrayerError('INVALID_ARGUMENT', `The sync interval is from ${SYNC_INTERVAL_MIN_S} seconds to ${SYNC_INTERVAL_MAX_S / 86400} days (${SYNC_INTERVAL_MAX_S} seconds).`);
      }
      if (!SYNC_MODES.includes(next.syncMode)) throw new DrayerError('INVALID_ARGUMENT', `The sync mode is one of ${SYNC_MODES.join(', ')}.`);
      const before = this.settings();
      this.library.setSetting('settings', next);
      if (!next.discovery && this.discovery) {
        this.nearbyInfo?.stop();
        this.nearbyInfo = null;
        this.shownPeers.clear();
        await this.discovery.stop();
        this.discovery = null;
      } else if (next.discovery && !this.discovery && this.lan && this.opts.discovery !== false) {
        await this.startDiscovery();
      } else if (patch.name !== undefined) {
        this.discovery?.announceNow(); // Nearby on other computers shows the new name now
      }
      if (next.syncMode !== before.syncMode) this.log(`Sync mode: ${next.syncMode}.`);
      this.emit('settingsChanged', next);
      return next;
    },
    keyBackup: ({ publicKey }) => {
      const s = this.stream(publicKey);
      const kp = s.keyPairForBackup();
      if (!kp) throw new DrayerError('NOT_WRITABLE', 'This stream is a copy of someone else\'s: its secret key is not on this computer, so there is nothing to back up here.');
      return { publicKey: formatKey(s.publicKey), name: cleanName(s.info().name), words: secretWords(kp) };
    },
    checkWords: ({ words }) => {
      const kp = parseSecret(words);
      const pk = formatKey(kp.publicKey);
      const s = this.streams.get(pk);
      return { publicKey: pk, fingerprint: fingerprint(kp.publicKey), held: s ? (s.writable ? 'owned' : 'mirror') : 'new', name: s ? cleanName(s.info().name) : '' };
    },
    restoreStream: ({ words, url }) => this.restore(words, url),
    openStreamFile: ({ path: p }) => this.openFile(p),
    exportStream: ({ publicKey, path: p }) => {
      const s = this.stream(publicKey);
      if (typeof p !== 'string' || !p.trim()) throw new DrayerError('INVALID_ARGUMENT', 'Say where to write the copy: a file name, or a folder.');
      let out = path.resolve(expandHome(p.trim()));
      if (fs.statSync(out, { throwIfNoEntry: false })?.isDirectory()) out = path.join(out, path.basename(s.file));
      const r = exportStream(s, out);
      return { path: out, ...r };
    },
    verifyStream: async ({ publicKey }) => {
      const s = this.stream(publicKey);
      let report: VerifyReportView;
      try {
        report = this.pool ? await verifyStreamParallel(s, this.pool) : s.verify();
      } catch (e) {
        // Damage below the records (SQLite pages) is a verify result, not a crash.
        const code = String((e as { code?: unknown }).code ?? '');
        if (!code.startsWith('SQLITE_')) throw e;
        report = { intact: false, records: 0, metaOnly: 0, partial: false, problems: [{ id: 0, what: `the stream file itself is damaged (${(e as Error).message})` }] };
      }
      return report;
    },
  };

  /** restoreStream: the key goes beside a copy held here, or beside a fresh copy fetched whole first. */
  private async restore(words: string, url?: string): Promise<StreamSummary> {
    const kp = parseSecret(words);
    const pk = formatKey(kp.publicKey);
    const held = this.streams.get(pk);
    if (held?.writable) throw new DrayerError('EXISTS', `"${cleanName(held.info().name) || pk}" is already yours on this computer; nothing to restore.`);
    if ((url || !held) && this.syncMode() === 'paused') throw this.pausedError('the stream cannot be fetched to restore it');
    if (held) {
      const p = held.partial;
      if (p.minId || p.minMod || p.metaOnly) {
        throw new DrayerError('INVALID_ARGUMENT', 'The copy here is partial (latest records or titles only), and a stream you write to must be whole. Unfollow it (deleting the copy), then restore again.');
      }
      if (url) await this.syncStream(pk, url, true);
      this.giveKey(held, kp);
      return this.summary(pk);
    }
    if (url !== undefined) peerId(url); // a bad address is said before anything is made
    if (url !== undefined && this.lanSkip(peerId(url))) throw new DrayerError('LAN_ONLY', this.lanSkip(peerId(url))!.replace('so it was not contacted', 'so the stream was not fetched to restore it'));
    const file = this.uniqueFile(`restored-${Buffer.from(kp.publicKey).toString('base64url').slice(0, 10)}`);
    const full = path.join(this.dataDir, file);
    const s = Stream.create(full, { followKey: kp.publicKey });
    if (url) s.setMeta('sources', JSON.stringify([peerId(url)]));
    this.streams.set(pk, s);
    this.library.addStream({ publicKey: pk, file, owned: false, name: '', settings: url ? { sources: [peerId(url)] } : {} });
    this.seenSeq.set(pk, s.lastSeq());
    const undo = () => {
      this.streams.delete(pk);
      this.seenSeq.delete(pk);
      this.library.removeStream(pk);
      s.close();
      for (const f of ['', '-wal', '-shm']) fs.rmSync(full + f, { force: true });
      this.emit('streamsChanged', {});
    };
    let reports: SyncReport[];
    try {
      reports = await this.syncStream(pk, undefined, true);
    } catch (e) {
      undo();
      throw e;
    }
    // A stream is never empty (its drayer/info record): without it, nothing of it was found, and
    // writing to an empty copy would sign records that clash with the ones already out there.
    if (!s.get('drayer', 'info')) {
      undo();
      if (reports.length > 0 && reports.every((r) => r.skipped)) throw new DrayerError('LAN_ONLY', 'Sync is LAN only, and no computer on the local network has this stream. Switch sync back to Normal (Settings → Sync, or LAN Only in the tray menu) to fetch it from its sources, then try again.');
      const failed = reports.find((r) => r.error);
      if (failed) throw new DrayerError('UNREACHABLE', `Could not fetch the stream to restore: ${failed.error} Nothing was changed; check the address and try again.`);
      if (reports.length === 0) throw new DrayerError('NOT_FOUND', 'No computer nearby has this stream, and no address was given. Give the address of a computer or mirror that holds it (its owner\'s, or any follower\'s), then try again.');
      throw new DrayerError('NOT_FOUND', `${reports.map((r) => r.peer).join(', ')} does not hold this stream. Check the words (a wrong word gives another stream), or give another address.`);
    }
    if (s.unfinishedSyncs().length > 0) {
      undo();
      throw new DrayerError('UNREACHABLE', 'The stream could only be fetched in part, and a stream you write to must be whole. Nothing was changed; try again.');
    }
    this.giveKey(s, kp);
    return this.summary(pk);
  }

  private giveKey(s: Stream, kp: import('../core/crypto.js').KeyPair): void {
    const keyFile = keyPathFor(s.file);
    if (!fs.existsSync(keyFile)) writeKeyFile(keyFile, kp);
    if (!s.takeKeyBeside()) throw new DrayerError('IO', `The secret key could not be put beside ${s.file}.`);
    this.library.indexStream(s); // records it as owned
    const pk = formatKey(s.publicKey);
    this.log(`${this.library.getStream(pk)?.file ?? s.file}: restored from its backup words, your own stream now.`);
    this.emit('streamsChanged', {});
    this.discovery?.announceNow();
  }

  /** openStreamFile: a stream file anywhere on this machine, served where it is. */
  private openFile(given: string): StreamSummary {
    if (typeof given !== 'string' || !given.trim()) throw new DrayerError('INVALID_ARGUMENT', 'Give the path of a stream file (NAME.stream).');
    const full = path.resolve(expandHome(given.trim()));
    const st = fs.statSync(full, { throwIfNoEntry: false });
    if (!st) throw new DrayerError('NOT_FOUND', `There is no file at ${full}; check the path.`);
    if (st.isDirectory()) throw new DrayerError('NOT_A_STREAM', `${full} is a folder, not a stream file; give the path of a NAME.stream file inside it.`);
    const probe = Stream.probe(full);
    const pk = formatKey(probe.publicKey);
    const held = this.streams.get(pk);
    if (held) {
      const e = this.library.getStream(pk);
      const same = path.resolve(held.file) === full;
      throw new DrayerError('EXISTS', same
        ? `${full} is already open here${e?.name ? ` ("${cleanName(e.name)}")` : ''}.`
        : `This computer already holds that stream${e?.name ? ` ("${cleanName(e.name)}")` : ''}, in ${held.file}. Open one copy at a time.`);
    }
    const s = Stream.open(full, { expectedKey: probe.publicKey });
    try {
      this.library.addStream({ publicKey: pk, file: full, owned: s.writable, name: String(s.info().name ?? '') });
      try {
        this.library.indexStream(s);
      } catch (e) {
        this.library.removeStream(pk);
        throw e;
      }
    } catch (e) {
      s.close();
      throw e;
    }
    const rel = this.library.getStream(pk)!.file;
    if (this.releasedFiles().includes(rel)) this.library.setSetting(RELEASED_FILES, this.releasedFiles().filter((f) => f !== rel));
    this.streams.set(pk, s);
    this.seenSeq.set(pk, s.lastSeq());
    this.log(`Opened ${full}: ${describeStream(String(s.info().name ?? ''), pk)}, ${s.writable ? 'your own stream (its key file is beside it)' : 'a read-only mirror (no key file beside it)'}.`);
    this.emit('streamsChanged', {});
    this.discovery?.announceNow();
    return this.summary(pk);
  }
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** No room on the disk, however it surfaced (SQLite, the file system, a sentence of ours). */
function isDiskFull(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? '');
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'DISK_FULL') return true;
  const cause = (e as { cause?: unknown })?.cause;
  return cause !== undefined && cause !== e && isDiskFull(cause);
}

function asLastSync(v: unknown): LastSync | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.at !== 'number' || typeof o.peer !== 'string') return null;
  return {
    at: o.at, peer: o.peer, records: Number(o.records) || 0, stored: Number(o.stored) || 0,
    ...(typeof o.error === 'string' ? { error: o.error } : {}), ...(o.cancelled === true ? { cancelled: true } : {}),
  };
}

function asLastOk(v: unknown): { at: number; peer: string } | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  return typeof o.at === 'number' && typeof o.peer === 'string' ? { at: o.at, peer: o.peer } : null;
}

/** `avatar` of drayer/info when it names a possible file path (it is the author's word, not checked further). */
function avatarPath(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  try {
    return normalizeFilePath(v);
  } catch {
    return undefined;
  }
}

/** The image type by its first bytes (the name or a browser's word is not trusted for an avatar). */
export function imageKind(b: Uint8Array): { mime: string; ext: string } | null {
  const at = (i: number, ...xs: number[]) => xs.every((x, j) => b[i + j] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { mime: 'image/png', ext: 'png' };
  if (at(0, 0xff, 0xd8, 0xff)) return { mime: 'image/jpeg', ext: 'jpg' };
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return { mime: 'image/gif', ext: 'gif' };
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return { mime: 'image/webp', ext: 'webp' };
  return null;
}

/** A follow target: a key in any form, a drayer: link, or a web URL of a stream (/<pk>/...). */
export function parseFollowTarget(text: string): { pk: Uint8Array; source?: string } {
  const t = text.trim();
  if (/^https?:\/\//i.test(t)) {
    let u: URL;
    try {
      u = new URL(t);
    } catch {
      throw new DrayerError('INVALID_ARGUMENT', `${t.slice(0, 200)} is not a URL; a stream's web address looks like http://host:port/<key>/`);
    }
    const seg = u.pathname.split('/').filter(Boolean)[0];
    if (!seg) throw new DrayerError('INVALID_ARGUMENT', `${t} does not name a stream; a stream's web address looks like http://host:port/<key>/`);
    let key: string;
    try {
      key = decodeURIComponent(seg);
    } catch {
      throw new DrayerError('INVALID_ARGUMENT', `${t} has broken percent-encoding (a % not followed by two hex digits); copy the stream's address again.`);
    }
    return { pk: parseKey(key), source: `${u.protocol}//${u.host}` };
  }
  return { pk: parseKey(t) };
}

/** A stream in a log line: its name when known, and its key. */
function describeStream(name: string, pk: string): string {
  const n = cleanName(name);
  return n ? `"${n}" (${pk})` : `stream ${pk}`;
}

/** Bytes of every live value but files' (theirs count by content size, chunks included): posts, the profile. */
function valueBytes(s: Stream): number {
  return Number(s.db.prepare(`SELECT coalesce(sum(length(val)), 0) FROM records WHERE type != 'file'`).pluck().get()) || 0;
}
