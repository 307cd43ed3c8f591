// The Node: a running Drayer. It opens a data directory's streams and library, starts the LAN
// server, discovery and the sync scheduler, stops them again, and answers DrayerApi calls; the
// parts it wires together live beside it (methods.ts lists what each request does).
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { Arg, DrayerApi, DrayerEvent, Envelope, Method, PrimaryServer, Ret, SyncReport } from './api.js';
import { METHODS } from './api.js';
import { randomBytes } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { terminalSafe } from '../core/text.js';
import type { DiscoveryStats } from '../net/discovery.js';
import { LanServer } from '../net/server/server.js';
import { servedReplies } from './nearby-replies.js';
import type { Stream } from '../store/store.js';
import { VerifierPool } from '../store/verifier.js';
import { watchLocalChanges } from './changes.js';
import { subscribe } from './events.js';
import { HeldStreams } from './held-streams.js';
import { openKnownStreams, openWaiting, watchDataDir } from './holdings.js';
import { Library } from './library.js';
import { apiMethods, type Handlers } from './methods.js';
import { servedListing, startDiscovery } from './presence.js';
import { privateLanOf, stopPrivate } from './presence-private.js';
import { mdnsStats, stopMdns } from './presence-mdns.js';
import { startDht, stopDht } from './dht-presence.js';
import { openOptions } from './reading.js';
import { newSyncState, pullOnAnnouncement, scheduleSync, syncStream } from './scheduler.js';
import { servedStream, settingsOf, type NodeOptions, type NodeState, type PullHint } from './state.js';
import { Uploads } from './uploads.js';
import { localWebUrl, webUrls } from './views.js';

export class DrayerNode implements DrayerApi {
  readonly dataDir: string;
  readonly library: Library;
  readonly nodeId: Uint8Array;
  private readonly n: NodeState;
  private readonly handlers: Handlers;

  private constructor(readonly opts: NodeOptions) {
    this.dataDir = path.resolve(opts.dataDir);
    // Every log line goes out terminal-safe (names in it are cleaned where they are put in).
    const sink = opts.log;
    const log = sink ? (m: string) => sink(terminalSafe(m)) : () => {};
    this.library = Library.open(this.dataDir, { log });
    let id = this.library.getSetting<string>('nodeId', '');
    if (!/^[0-9a-f]{32}$/.test(id)) {
      id = Buffer.from(randomBytes(16)).toString('hex');
      this.library.setSetting('nodeId', id);
    }
    this.nodeId = new Uint8Array(Buffer.from(id, 'hex'));
    const events = new EventEmitter();
    events.setMaxListeners(100);
    this.n = {
      opts,
      dataDir: this.dataDir,
      library: this.library,
      nodeId: this.nodeId,
      log,
      events,
      uploads: new Uploads(this.dataDir),
      streams: new HeldStreams(),
      seenSeq: new Map(),
      closing: new Map(),
      liveProgress: new Map(),
      openFailures: new Map(),
      shownPeers: new Set(),
      sync: newSyncState(),
      timers: [],
      server: null,
      discovery: null,
      dht: null,
      nearbyInfo: null,
      dataDirWatcher: null,
      pool: null,
      lan: null,
      stopped: false,
    };
    this.handlers = apiMethods(this.n);
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
    const n = this.n;
    openKnownStreams(n);
    watchDataDir(n);
    n.pool = new VerifierPool();
    if (n.opts.host !== null) {
      n.server = new LanServer({
        host: n.opts.host ?? '0.0.0.0',
        port: n.opts.port ?? 0,
        resolve: (pk) => servedStream(n, pk),
        // a stream that lists this key as a device (§9; asked only by original nodes, per sibling chain)
        resolveDevice: (pk) => {
          const k = Buffer.from(pk);
          for (const s of n.streams.values()) if (s.devices().list.some((d) => k.equals(d.pubkey))) return servedStream(n, s.publicKey);
          return undefined;
        },
        shared: () => servedListing(n),
        about: () => ({ id: Buffer.from(n.nodeId).toString('hex'), name: settingsOf(n).name }),
        sealed: () => privateLanOf(n)?.sealedListing() ?? [],
        log: (m: string) => n.log(m),
        opener: (s) => openOptions(n, s, true),
        replies: (to) => servedReplies(n, to),
      });
      n.lan = await n.server.listen();
    }
    if (settingsOf(n).discovery && n.opts.discovery !== false && n.lan) await startDiscovery(n);
    try {
      await startDht(n);
    } catch (e) {
      if (n.opts.dht) throw e; // asked for on the command line: no node without it
      n.log(`${(e as Error).message} The node runs on without it; turn "Reach beyond this network" off and on in Settings to try again.`);
    }
    // Writes by other processes (the CLI beside `drayer serve`) are noticed by polling the seq.
    n.timers.push(setInterval(() => watchLocalChanges(n), 500));
    if (n.opts.autoSync !== false) scheduleSync(n);
    // The library's streams open now, between requests: Home is served from library.db meanwhile.
    void openWaiting(n).catch((e: unknown) => n.log(`Opening the streams failed: ${(e as Error).message}`));
  }

  async stop(): Promise<void> {
    const n = this.n;
    if (n.stopped) return;
    n.stopped = true;
    for (const t of n.timers) (clearInterval(t), clearTimeout(t));
    n.timers = [];
    n.dataDirWatcher?.stop();
    await Promise.allSettled([...n.sync.syncing.values()]);
    await Promise.allSettled([...n.closing.values()]);
    n.nearbyInfo?.stop();
    await stopMdns(n);
    stopPrivate(n);
    await n.discovery?.stop().catch(() => {});
    await stopDht(n).catch(() => {});
    await n.server?.close().catch(() => {});
    await n.pool?.close().catch(() => {});
    await n.uploads.close().catch(() => {});
    for (const s of n.streams.values()) s.close();
    n.streams.clear();
    this.library.close();
  }

  subscribe(listener: (e: DrayerEvent) => void): () => void {
    return subscribe(this.n, listener);
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
        return {
          ok: false,
          error: {
            code: 'DISK_FULL',
            message: `The disk is full, so nothing was saved. Free some space on the disk that holds ${this.dataDir}, then try again.`,
          },
        };
      }
      if (isDrayerError(e)) return { ok: false, error: { code: e.code, message: e.message } };
      this.n.log(`${method} failed: ${(e as Error)?.stack ?? e}`);
      return { ok: false, error: { code: 'INTERNAL', message: `${method} failed unexpectedly: ${(e as Error)?.message ?? e}` } };
    }
  }

  lanAddress(): { host: string; port: number } | null {
    return this.n.lan;
  }

  /** URLs a phone on the LAN can open for a stream. */
  webUrls(pk: Uint8Array): string[] {
    return webUrls(this.n, pk);
  }

  /** The stream's page on this computer, through the LAN server (null when it does not serve it). */
  localWebUrl(pk: Uint8Array): string | null {
    return localWebUrl(this.n, pk);
  }

  primaryServers(s: Stream): PrimaryServer[] {
    return s.primaryServers();
  }

  /** Pull one stream from every known source (or just `only`); failures back off per peer. */
  syncStream(pk: string, only?: string, force = false): Promise<SyncReport[]> {
    return syncStream(this.n, pk, only, force);
  }

  // Tests reach these through a cast (the timer count, Nearby's checks, an announcement heard).
  private get timers(): NodeJS.Timeout[] {
    return this.n.timers;
  }

  private get nearbyInfo(): NodeState['nearbyInfo'] {
    return this.n.nearbyInfo;
  }

  private get lanPresence(): { discovery?: DiscoveryStats; mdns?: ReturnType<typeof mdnsStats> } {
    return { discovery: this.n.discovery?.stats(), mdns: mdnsStats(this.n) };
  }

  private pullOnAnnouncement(hint: PullHint): void {
    pullOnAnnouncement(this.n, hint);
  }
}

/** No room on the disk, however it surfaced (SQLite, the file system, a sentence of ours). */
function isDiskFull(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? '');
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'DISK_FULL') return true;
  const cause = (e as { cause?: unknown })?.cause;
  return cause !== undefined && cause !== e && isDiskFull(cause);
}
