// The BitTorrent Mainline DHT, as the original Drayer used it (drayer.py: startBittorent,
// announceDHT): a stream is findable anywhere under an infohash derived from its public key,
// and its holders announce their HTTP port there. The DHT itself is bittorrent-dht's; this
// module bounds what strangers' answers can cost (peers kept per stream, lookup time, announce
// rate, backoff of unreachable peers) and keeps the routing table between runs.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import DHT from 'bittorrent-dht';
import { DrayerError } from '../core/errors.js';
import { dhtInfoHash, PUBLIC_BOOTSTRAP } from './dht-keys.js';

export { dhtInfoHash, parseBootstrap, PUBLIC_BOOTSTRAP } from './dht-keys.js';

/** The original's re-announce period (drayer.py: every ten minutes). */
export const ANNOUNCE_INTERVAL_MS = 10 * 60_000;
/** A stream is never announced more often than this (the original's rate limit: five minutes). */
export const MIN_ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** Peers kept per stream: one answer may name thousands, made up or not. */
export const MAX_PEERS_PER_STREAM = 32;
/** Streams whose peers are kept at once (the oldest forgotten first). */
const MAX_STREAMS_KEPT = 256;
/** How long one lookup may take before it answers with what it found. */
export const LOOKUP_TIMEOUT_MS = 15_000;
/** Lookups running at once; more wait their turn. */
const MAX_LOOKUPS = 4;
/** Announces started per second at most, however many streams are announced. */
const ANNOUNCES_PER_SECOND = 2;
/** Routing-table nodes saved between runs. */
const MAX_SAVED_NODES = 256;
/** A saved routing table larger than this is not ours: it is ignored. */
const MAX_STATE_BYTES = 256 * 1024;
/** Peers remembered as unreachable (backoff), the oldest forgotten first. */
const MAX_BACKOFFS = 1024;
/** A peer found answers for this long before it is asked for again. */
const PEER_TTL_MS = 30 * 60_000;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 60 * 60_000;

export interface DhtPeer {
  host: string;
  port: number;
}

export interface DhtNodeOptions {
  /** HOST:PORT of nodes to join through; PUBLIC_BOOTSTRAP when not given */
  bootstrap?: string[];
  /** UDP port of the DHT (0: any free one) */
  port?: number;
  /** address the DHT socket binds (default every IPv4 address) */
  bindHost?: string;
  /** where the routing table is kept between runs (none: not kept) */
  stateFile?: string;
  announceIntervalMs?: number;
  minAnnounceIntervalMs?: number;
  maxPeersPerStream?: number;
  lookupTimeoutMs?: number;
  /** one DHT query's timeout (bittorrent-dht's default: 2 s) */
  queryTimeoutMs?: number;
  log?: (msg: string) => void;
}

interface Announced {
  infoHash: Buffer;
  port: number;
  last: number;
}

interface Found {
  peers: Map<string, { peer: DhtPeer; seen: number }>;
}

/** What the DHT has cost so far, for tests and the bench. */
export interface DhtStats {
  /** answers that could not be decoded or made no sense (dropped) */
  warnings: number;
  /** peers offered beyond the per-stream cap (dropped) */
  peersDropped: number;
  announces: number;
  lookups: number;
}

export class DhtNode {
  readonly stats: DhtStats = { warnings: 0, peersDropped: 0, announces: 0, lookups: 0 };
  private readonly announced = new Map<string, Announced>();
  private readonly lastAnnounce = new Map<string, number>();
  private readonly queue: string[] = [];
  private readonly found = new Map<string, Found>();
  private readonly lookups = new Map<string, Promise<DhtPeer[]>>();
  private readonly backoff = new Map<string, { failures: number; until: number }>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private drainedAt = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  private constructor(
    private readonly dht: DHT,
    private readonly opts: DhtNodeOptions,
  ) {
    const log = opts.log ?? (() => {});
    dht.on('warning', () => this.stats.warnings++);
    dht.on('error', (e: Error) => log(`The DHT failed: ${e.message}`));
    dht.on('peer', (peer: DhtPeer, infoHash: Buffer) => this.onPeer(peer, infoHash));
    this.timers.push(setInterval(() => this.announceDue(), Math.min(this.interval, 60_000)));
    this.timers.push(setInterval(() => this.drain(), 1000 / ANNOUNCES_PER_SECOND));
    // Saved now and then too, so a crash keeps a recent table.
    if (opts.stateFile) this.timers.push(setInterval(() => this.saveState(), 10 * 60_000));
    for (const t of this.timers) t.unref();
  }

  /** Join the DHT: bind its UDP port, restore the saved routing table, bootstrap. */
  static async start(opts: DhtNodeOptions): Promise<DhtNode> {
    // Tests set DRAYER_DHT_NO_PUBLIC so that a forgotten bootstrap list fails loudly instead of reaching the internet.
    if (!opts.bootstrap && process.env.DRAYER_DHT_NO_PUBLIC)
      throw new DrayerError('INVALID_ARGUMENT', 'The public DHT routers are off here (DRAYER_DHT_NO_PUBLIC): give the DHT nodes to join (--dht-bootstrap).');
    const bootstrap = opts.bootstrap ?? PUBLIC_BOOTSTRAP;
    const dht = new DHT({
      bootstrap,
      host: false,
      timeout: opts.queryTimeoutMs,
      // the library's own stores of what others announce to us: bounded
      maxPeers: 10_000,
      maxTables: 1000,
      maxValues: 1000,
    });
    // Restored before the library's bootstrap (next tick), so a restart starts from the table it had.
    for (const node of loadState(opts.stateFile)) dht.addNode(node);
    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException): void => {
        dht.destroy();
        const why =
          e.code === 'EADDRINUSE'
            ? `UDP port ${opts.port} is taken by another program: choose another with --dht-port, or 0 for any free port.`
            : `${e.message}.`;
        reject(new DrayerError('IO', `Could not start the DHT: ${why}`, { cause: e }));
      };
      dht.once('error', fail);
      dht.listen(opts.port ?? 0, opts.bindHost ?? '0.0.0.0', () => {
        dht.removeListener('error', fail);
        resolve();
      });
    });
    return new DhtNode(dht, opts);
  }

  /** The UDP port the DHT listens on. */
  get port(): number {
    return this.dht.address().port;
  }

  /** Nodes in the routing table. */
  get nodeCount(): number {
    return this.dht.nodes.count();
  }

  private get minInterval(): number {
    return this.opts.minAnnounceIntervalMs ?? MIN_ANNOUNCE_INTERVAL_MS;
  }

  private get interval(): number {
    return Math.max(this.opts.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS, this.minInterval);
  }

  /**
   * Announce exactly these streams (each with the HTTP port that serves it) from now on: new ones
   * at once, unless one was announced less than the minimum interval ago; gone ones are no longer.
   */
  setAnnounced(streams: { publicKey: Uint8Array; port: number }[]): void {
    const want = new Map(streams.map((s) => [dhtInfoHash(s.publicKey).toString('hex'), s.port]));
    for (const [key, a] of [...this.announced]) {
      if (want.has(key)) continue;
      this.announced.delete(key);
      // kept, so that turning a stream off and on again does not announce it faster than the rate
      this.lastAnnounce.set(key, a.last);
      if (this.lastAnnounce.size > MAX_BACKOFFS) this.lastAnnounce.delete(this.lastAnnounce.keys().next().value!);
    }
    for (const [key, port] of want) {
      const had = this.announced.get(key);
      if (had && had.port === port) continue;
      const last = had?.last ?? this.lastAnnounce.get(key) ?? 0;
      this.announced.set(key, { infoHash: Buffer.from(key, 'hex'), port, last: Date.now() - last < this.minInterval ? last : 0 });
    }
    this.announceDue();
  }

  /** Infohashes announced, hex. */
  announcing(): string[] {
    return [...this.announced.keys()];
  }

  /** Queue every announced stream whose turn has come (at most once per minimum interval). */
  private announceDue(): void {
    const now = Date.now();
    for (const [key, a] of this.announced) {
      if (a.last !== 0 && now - a.last < this.interval) continue;
      if (!this.queue.includes(key)) this.queue.push(key);
    }
    this.drain();
  }

  /** Send queued announces, a few a second (a thousand streams do not burst a thousand lookups). */
  private drain(): void {
    const now = Date.now();
    const key = this.queue[0];
    if (!key || this.stopped) return;
    const a = this.announced.get(key);
    if (a && now - a.last < this.minInterval) {
      this.queue.shift(); // announced meanwhile
      return;
    }
    if (now - this.drainedAt < 1000 / ANNOUNCES_PER_SECOND) return;
    this.drainedAt = now;
    this.queue.shift();
    if (!a) return;
    a.last = now;
    this.stats.announces++;
    this.dht.announce(a.infoHash, a.port, (err) => {
      if (err && !this.stopped) this.opts.log?.(`DHT announce of ${key} reached no node yet (${err.message}); it is tried again later.`);
      // an announce that reached nobody (not joined yet) is retried soon rather than in ten minutes
      if (err) a.last = Math.min(a.last, Date.now() - this.interval + this.minInterval);
    });
  }

  /**
   * Ask the DHT who holds stream `publicKey`: resolves within the lookup timeout with at most
   * maxPeersPerStream peers (those found before, still fresh, included), unreachable ones last.
   */
  lookup(publicKey: Uint8Array, timeoutMs = this.opts.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS): Promise<DhtPeer[]> {
    const infoHash = dhtInfoHash(publicKey);
    const key = infoHash.toString('hex');
    const running = this.lookups.get(key);
    if (running) return running;
    this.keep(key);
    const p = this.turn(timeoutMs)
      .then(
        (left) =>
          new Promise<void>((resolve) => {
            if (this.stopped || left <= 0) return resolve();
            this.stats.lookups++;
            const timer = setTimeout(() => {
              abort();
              resolve();
            }, left);
            const abort = this.dht.lookup(infoHash, () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      )
      .finally(() => {
        this.lookups.delete(key);
        this.running--;
        this.waiting.shift()?.();
      })
      .then(() => this.peers(publicKey));
    this.lookups.set(key, p);
    return p;
  }

  /** Wait for a lookup slot; resolves with the time left of `timeoutMs`. */
  private turn(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    this.running++;
    if (this.running <= MAX_LOOKUPS) return Promise.resolve(timeoutMs);
    return new Promise((resolve) => this.waiting.push(() => resolve(timeoutMs - (Date.now() - t0))));
  }

  /** Peers found for a stream and still fresh, the ones not backing off first. */
  peers(publicKey: Uint8Array): DhtPeer[] {
    const f = this.found.get(dhtInfoHash(publicKey).toString('hex'));
    if (!f) return [];
    const now = Date.now();
    const out: DhtPeer[] = [];
    for (const [id, x] of f.peers) {
      if (now - x.seen > PEER_TTL_MS) f.peers.delete(id);
      else out.push(x.peer);
    }
    const waits = (p: DhtPeer): number => +((this.backoff.get(`${p.host}:${p.port}`)?.until ?? 0) > now);
    return out.sort((a, b) => waits(a) - waits(b));
  }

  /** Up to `max` peers of a stream that are not backing off, in random order. */
  usablePeers(publicKey: Uint8Array, max: number): DhtPeer[] {
    const now = Date.now();
    const list = this.peers(publicKey).filter((p) => (this.backoff.get(`${p.host}:${p.port}`)?.until ?? 0) <= now);
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list.slice(0, max);
  }

  /** A peer could not be reached or served nothing valid: not asked again for a growing while. */
  failed(peer: DhtPeer): void {
    const id = `${peer.host}:${peer.port}`;
    const failures = (this.backoff.get(id)?.failures ?? 0) + 1;
    this.backoff.delete(id);
    this.backoff.set(id, { failures, until: Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1)) });
    if (this.backoff.size > MAX_BACKOFFS) this.backoff.delete(this.backoff.keys().next().value!);
  }

  /** A peer served the stream: its backoff ends. */
  reached(peer: DhtPeer): void {
    this.backoff.delete(`${peer.host}:${peer.port}`);
  }

  private keep(key: string): Found {
    let f = this.found.get(key);
    if (f) {
      this.found.delete(key);
    } else f = { peers: new Map() };
    this.found.set(key, f);
    if (this.found.size > MAX_STREAMS_KEPT) this.found.delete(this.found.keys().next().value!);
    return f;
  }

  private onPeer(peer: DhtPeer, infoHash: Buffer): void {
    const f = this.found.get(infoHash.toString('hex'));
    // peers of streams nobody asked about, and nonsense, are not kept
    if (!f || net.isIPv4(peer.host) === false || !(peer.port > 0 && peer.port < 65536) || peer.host === '0.0.0.0') return;
    const id = `${peer.host}:${peer.port}`;
    const had = f.peers.get(id);
    if (had) {
      had.seen = Date.now();
      return;
    }
    if (f.peers.size >= (this.opts.maxPeersPerStream ?? MAX_PEERS_PER_STREAM)) {
      this.stats.peersDropped++;
      return;
    }
    f.peers.set(id, { peer: { host: peer.host, port: peer.port }, seen: Date.now() });
  }

  /** Write the routing table to the state file (atomically), if there is one. */
  saveState(): void {
    const file = this.opts.stateFile;
    if (!file || this.dht.destroyed) return;
    const nodes = this.dht.nodes
      .toArray()
      .slice(0, MAX_SAVED_NODES)
      .map((n) => ({ host: n.host, port: n.port, id: n.id ? Buffer.from(n.id).toString('hex') : undefined }));
    try {
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ nodes }) + '\n');
      fs.renameSync(tmp, file);
    } catch (e) {
      this.opts.log?.(`Could not save the DHT routing table to ${file}: ${(e as Error).message}. The next start joins afresh.`);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.saveState();
    await new Promise<void>((resolve) => this.dht.destroy(() => resolve()));
    for (const w of this.waiting.splice(0)) w();
  }
}

/** The saved routing table, checked entry by entry (a damaged file costs only a cold start). */
function loadState(file: string | undefined): { host: string; port: number; id: Buffer }[] {
  if (!file) return [];
  try {
    if (fs.statSync(file).size > MAX_STATE_BYTES) return [];
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes?: unknown };
    if (!Array.isArray(data.nodes)) return [];
    const out: { host: string; port: number; id: Buffer }[] = [];
    for (const n of data.nodes.slice(0, MAX_SAVED_NODES) as { host?: unknown; port?: unknown; id?: unknown }[]) {
      if (typeof n?.host !== 'string' || !net.isIPv4(n.host)) continue;
      if (typeof n.port !== 'number' || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535) continue;
      if (typeof n.id !== 'string' || !/^[0-9a-f]{40}$/.test(n.id)) continue;
      out.push({ host: n.host, port: n.port, id: Buffer.from(n.id, 'hex') });
    }
    return out;
  } catch {
    return [];
  }
}

/** Where a data directory keeps its DHT routing table. */
export function dhtStateFile(dataDir: string): string {
  return path.join(dataDir, 'dht-nodes.json');
}
