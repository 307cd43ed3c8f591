// Which announced streams Nearby shows (issue 14.10). A discovery packet is unauthenticated and
// costs nothing to send: one host can announce hundreds of made-up streams under any names. So a
// stream shows only once the node that announced it answered over HTTP, at the announced address
// and port, with that stream's drayer/info record signed by the stream's key; the name shown is
// the one in that record, never the packet's.
//
// The lookup is two GETs the LAN server has always answered (no new endpoint, so older nodes
// qualify): /<pk>/newestRecordsJSON/drayer (the ids of the stream's `drayer` records; drayer/info
// is not always id 1: deleting the newest record re-issues the one before it) and /<pk>/record/<id>.
//
// A proof is kept while its holder keeps announcing the stream (it is asked again only when the
// stream announces a newer M-tip, which may carry a new name): an idle LAN asks nothing, however
// many computers hold a stream. What announcements can make a node do is bounded: answers are
// cached per (address, port, stream) (failures for a while), lookups run at most a few per address and a few overall,
// wait in bounded queues, start at a bounded rate, and a server (address and port) that fails
// is not asked again for a while (doubling up to a minute; announcements of it meanwhile are
// dropped, so it holds no place in the queues); answers are read up to a size and a time.
import * as http from 'node:http';
import { MARKER_KEY } from '../core/private.js';
import { DrayerError } from '../core/errors.js';
import { isLanHost } from './lan.js';
import { decodeBounded, decodeInfo, type MsgpackLimits } from '../core/msgpack.js';
import { checkRecord, fromWire } from '../core/record.js';
import { TokenBucket } from './rate.js';
import { cleanName } from '../core/text.js';

export interface NearbyLimits {
  /** a verified answer is believed this long (while its holder announces the stream, it is not asked again before) */
  ttlMs: number;
  /** asked again sooner when the stream announces a newer M-tip (it may have a new name), at most this often */
  recheckMs: number;
  /** a failed lookup is not repeated for this long */
  failTtlMs: number;
  /** (address, port, stream) answers kept, least recently wanted dropped first */
  maxEntries: number;
  /** lookups in flight at once to one address, and overall */
  perAddress: number;
  overall: number;
  /** lookups waiting, per server (address and port) and overall (more are dropped: the next announcement asks again) */
  queuePerServer: number;
  queueTotal: number;
  /** lookups started: burst and per second, overall */
  burst: number;
  perSecond: number;
  /** a server whose lookup failed waits this long before its next, doubling up to backoffMaxMs */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** each request, from connecting to the last byte */
  timeoutMs: number;
  /** the largest answers read (a list of `drayer` records; the info record with its value) */
  maxListBytes: number;
  maxRecordBytes: number;
}

export const NEARBY_LIMITS: NearbyLimits = {
  ttlMs: 24 * 3600_000,
  recheckMs: 30_000,
  failTtlMs: 30_000,
  maxEntries: 8192,
  perAddress: 2,
  overall: 8,
  queuePerServer: 32,
  queueTotal: 256,
  burst: 32,
  perSecond: 16,
  backoffMinMs: 2000,
  backoffMaxMs: 60_000,
  timeoutMs: 3000,
  maxListBytes: 64 * 1024,
  maxRecordBytes: 256 * 1024,
};

/** A wire record with its value: {id, type, key, val, hash, ts, mod, prev, prevch, sig, chain}. */
const RECORD_LIMITS: MsgpackLimits = {
  what: "a drayer/info record, or an original Drayer node's newest record",
  maxBytes: NEARBY_LIMITS.maxRecordBytes,
  maxDepth: 2,
  maxItems: 64,
  maxArray: 16,
  maxMap: 32,
  maxStr: 4096,
  maxBin: NEARBY_LIMITS.maxRecordBytes,
  maxExt: 16,
  rawStrings: true,
};

/** What a verified drayer/info says. */
export interface VerifiedInfo {
  /** cleaned (text.ts); '' when the info gives none */
  name: string;
  /** the info record's mod: of two answers, the later one names the stream */
  mod: number;
  /** a private stream (its signed drayer/private marker, DESIGN §8): its info is sealed, and a follow without its read link reads nothing */
  private?: true;
}

interface Entry {
  state: 'queued' | 'running' | 'ok' | 'bad';
  /** the last verified info, kept (and shown) while it is asked again */
  info?: VerifiedInfo;
  /** when it was last answered (ok or bad) */
  at: number;
  /** the announced M-tip when it was last asked */
  mtip: number;
}

interface Job {
  key: string;
  address: string;
  port: number;
  pk: Uint8Array;
}

/** One server: an address and port that announced streams. */
interface ServerState {
  address: string;
  queue: Job[];
  failures: number;
  until: number;
}

export interface NearbyStats {
  lookups: number;
  requests: number;
  verified: number;
  failed: number;
  /** lookups not queued: the queues were full */
  dropped: number;
}

export interface NearbyOptions {
  limits?: Partial<NearbyLimits>;
  /** a stream's verified state at (address, port) changed: shown, renamed, or no longer shown */
  onChange?: (address: string, port: number, pk: Uint8Array) => void;
  /** whether a lookup waiting its turn is still worth its requests when its turn comes (the stream may have been followed meanwhile) */
  stillWanted?: (pk: Uint8Array) => boolean;
  /** a failed lookup, for the log (once per address per backoff) */
  onFailure?: (address: string, port: number, why: string) => void;
}

/** Addresses never asked, whatever announces them: cloud metadata services. */
const NEVER = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

/** Servers whose backoff is remembered (the queues bound those with lookups waiting). */
const MAX_SERVERS = 1024;

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class NearbyVerifier {
  private readonly limits: NearbyLimits;
  private readonly entries = new Map<string, Entry>();
  private readonly servers = new Map<string, ServerState>();
  /** lookups in flight per address */
  private readonly inFlight = new Map<string, number>();
  private readonly bucket: TokenBucket;
  private queued = 0;
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly requests = new Set<http.ClientRequest>();
  private readonly counters: NearbyStats = { lookups: 0, requests: 0, verified: 0, failed: 0, dropped: 0 };

  constructor(private readonly opts: NearbyOptions = {}) {
    this.limits = { ...NEARBY_LIMITS, ...opts.limits };
    this.bucket = new TokenBucket({ burst: this.limits.burst, perSecond: this.limits.perSecond }, Date.now());
  }

  /** An announcement: `pk` is served at address:port, with M-tip `mtip`. Looks it up unless known. */
  want(address: string, port: number, pk: Uint8Array, mtip: number): void {
    if (this.stopped || !Number.isInteger(port) || port <= 0 || port > 65535 || pk.length !== 32) return;
    // a spoofed source could name any host: only the LAN is asked, never a metadata service
    if (!isLanHost(address) || NEVER.has(address.toLowerCase())) return;
    const key = `${address}|${port}|${hexOf(pk)}`;
    const now = Date.now();
    const e = this.entries.get(key);
    if (e) {
      this.touch(key, e);
      if (e.state === 'queued' || e.state === 'running') return;
      if (e.state === 'bad' && now - e.at < this.limits.failTtlMs) return;
      if (e.state === 'ok' && now - e.at < this.limits.ttlMs && !(mtip > e.mtip && now - e.at >= this.limits.recheckMs)) return;
    }
    const sk = `${address}|${port}`;
    let a = this.servers.get(sk);
    if (!a) {
      if (this.servers.size >= MAX_SERVERS) this.forgetIdleServers(now);
      a = { address, queue: [], failures: 0, until: 0 };
      this.servers.set(sk, a);
    }
    if (a.until > now || a.queue.length >= this.limits.queuePerServer || this.queued >= this.limits.queueTotal) {
      this.counters.dropped++;
      return;
    }
    const entry: Entry = { state: 'queued', info: e?.state === 'ok' ? e.info : undefined, at: e?.at ?? 0, mtip: Math.max(mtip, e?.mtip ?? 0) };
    this.entries.set(key, entry);
    this.touch(key, entry);
    a.queue.push({ key, address, port, pk: new Uint8Array(pk) });
    this.queued++;
    this.pump();
  }

  /** Whether a lookup of `pk` at address:port is waiting, running, or answered yes. */
  pendingOrOk(address: string, port: number, pk: Uint8Array): boolean {
    const s = this.entries.get(`${address}|${port}|${hexOf(pk)}`)?.state;
    return s === 'queued' || s === 'running' || s === 'ok';
  }

  /** The verified info of `pk` at address:port, or undefined when it is not (or no longer) shown. */
  verified(address: string, port: number, pk: Uint8Array): VerifiedInfo | undefined {
    const e = this.entries.get(`${address}|${port}|${hexOf(pk)}`);
    if (!e?.info) return undefined;
    if (e.state === 'queued' || e.state === 'running') return e.info; // until the recheck answers (bounded by its timeout)
    // an old one expires
    return Date.now() - e.at <= this.limits.ttlMs + this.limits.timeoutMs * 2 + 1000 ? e.info : undefined;
  }

  /** Servers with nothing waiting, their backoff over (or, when that frees too little, any with nothing waiting). */
  private forgetIdleServers(now: number): void {
    for (const [k, a] of this.servers) if (a.queue.length === 0 && a.until <= now) this.servers.delete(k);
    for (const [k, a] of this.servers) {
      if (this.servers.size < MAX_SERVERS / 2) return;
      if (a.queue.length === 0) this.servers.delete(k);
    }
  }

  stats(): NearbyStats {
    return { ...this.counters };
  }

  /** Ends every lookup and forgets every answer. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const r of this.requests) r.destroy();
    this.requests.clear();
    this.entries.clear();
    this.servers.clear();
    this.queued = 0;
  }

  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size <= this.limits.maxEntries) return;
    // the least recently wanted answers go; lookups waiting or running stay (the queues bound them)
    for (const [k, old] of this.entries) {
      if (old.state === 'queued' || old.state === 'running') continue;
      this.entries.delete(k);
      if (this.entries.size <= this.limits.maxEntries) return;
    }
  }

  /** Start what may start: per address and overall in flight, the address's backoff, the start rate. */
  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    let wake = Infinity;
    let started = true;
    while (started && this.running < this.limits.overall && this.queued > 0) {
      started = false;
      for (const a of this.servers.values()) {
        if (this.running >= this.limits.overall) break;
        if (a.queue.length === 0 || (this.inFlight.get(a.address) ?? 0) >= this.limits.perAddress) continue;
        if (!this.bucket.take(now)) {
          wake = Math.min(wake, now + Math.ceil(1000 / this.limits.perSecond));
          started = false;
          break;
        }
        const job = a.queue.shift()!;
        this.queued--;
        this.inFlight.set(a.address, (this.inFlight.get(a.address) ?? 0) + 1);
        this.running++;
        started = true;
        void this.run(job, a).finally(() => {
          const n = (this.inFlight.get(a.address) ?? 1) - 1;
          if (n > 0) this.inFlight.set(a.address, n);
          else this.inFlight.delete(a.address);
          this.running--;
          this.pump();
        });
      }
    }
    if (wake !== Infinity && !this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.pump();
        },
        Math.max(10, wake - now),
      );
      this.timer.unref();
    }
  }

  private async run(job: Job, a: ServerState): Promise<void> {
    const e = this.entries.get(job.key);
    if (!e || this.stopped) return;
    if (this.opts.stillWanted && !this.opts.stillWanted(job.pk)) {
      this.entries.delete(job.key); // asked again if it is announced once more and wanted then
      return;
    }
    e.state = 'running';
    this.counters.lookups++;
    const before = e.info;
    try {
      const info = await this.lookup(job);
      if (this.stopped) return;
      e.state = 'ok';
      e.info = info;
      e.at = Date.now();
      a.failures = 0;
      a.until = 0;
      this.counters.verified++;
      if (!before || before.name !== info.name) this.opts.onChange?.(job.address, job.port, job.pk);
    } catch (err) {
      if (this.stopped) return;
      e.state = 'bad';
      e.info = undefined;
      e.at = Date.now();
      a.failures++;
      a.until = Date.now() + Math.min(this.limits.backoffMaxMs, this.limits.backoffMinMs * 2 ** Math.min(a.failures - 1, 16));
      this.counters.failed++;
      // what waits for it is dropped: its announcements ask again once the wait is over
      for (const j of a.queue.splice(0)) {
        this.queued--;
        this.entries.delete(j.key);
      }
      if (a.failures === 1) this.opts.onFailure?.(job.address, job.port, (err as Error).message);
      if (before) this.opts.onChange?.(job.address, job.port, job.pk);
    }
  }

  /**
   * The stream's drayer/info at the peer, signed by the stream's key; failing that (an original
   * Drayer's stream has none, and an original node answers neither request), the stream's newest
   * record from an original node. Throws why not.
   */
  private async lookup(job: Job): Promise<VerifiedInfo> {
    const host = job.address.includes(':') ? `[${job.address}]` : job.address;
    try {
      return await this.info(job, `http://${host}:${job.port}/${Buffer.from(job.pk).toString('base64url')}`);
    } catch (err) {
      // no drayer/info listed, or a 500 (how an original node answers a key written as base64url):
      // an original node may prove the stream another way (a 404 is ours: it does not serve the stream)
      if (!(err instanceof DrayerError) || !(err.code === 'NOT_FOUND' || err.message === 'it answered 500')) throw err;
      return await this.originalTip(job, `http://${host}:${job.port}`).catch(() => Promise.reject(err));
    }
  }

  /**
   * An original Drayer node's proof: its `crdr/<t>` answers the record the M-chain links after t
   * (one record, with its value), so for the largest t the stream's newest, signed by the stream's
   * key. Such streams have no name: they show by the words of their key.
   */
  private async originalTip(job: Job, base: string): Promise<VerifiedInfo> {
    const key = encodeURIComponent(Buffer.from(job.pk).toString('base64')); // as its quote_plus makes it
    const body = await this.get(`${base}/${key}/crdr/9223372036854775807`, this.limits.maxRecordBytes);
    const r = fromWire(decodeBounded(body, RECORD_LIMITS), job.pk);
    const why = checkRecord(r, job.pk);
    if (why) throw new DrayerError('INVALID_RECORD', `its newest record is not the stream's: ${why}`);
    return { name: '', mod: r.mod };
  }

  /** The stream's drayer/info at `base` (the stream's URL), signed by the stream's key. */
  private async info(job: Job, base: string): Promise<VerifiedInfo> {
    const list = await this.get(`${base}/newestRecordsJSON/drayer`, this.limits.maxListBytes);
    let rows: unknown;
    try {
      rows = JSON.parse(list.toString('utf8'));
    } catch {
      throw new DrayerError('INVALID_RECORD', 'its list of drayer records is not JSON');
    }
    const rowOf = (key: string) =>
      Array.isArray(rows) ? rows.find((r): r is [string, number] => Array.isArray(r) && r[0] === key && Number.isSafeInteger(r[1]) && r[1] > 0) : undefined;
    // a private stream's drayer/info is sealed: its clear, signed marker proves the stream instead
    const row = rowOf('info') ?? rowOf(MARKER_KEY);
    if (!row) throw new DrayerError('NOT_FOUND', 'it lists no drayer/info record for the stream');
    const body = await this.get(`${base}/record/${row[1]}`, this.limits.maxRecordBytes);
    const r = fromWire(decodeBounded(body, RECORD_LIMITS), job.pk);
    if (r.type !== 'drayer' || r.key !== row[0] || r.id !== row[1])
      throw new DrayerError('INVALID_RECORD', `it answered another record than the stream's drayer/${row[0]}`);
    if (r.val === null) throw new DrayerError('INVALID_RECORD', `its drayer/${row[0]} came without its value`);
    const why = checkRecord(r, job.pk);
    if (why) throw new DrayerError('INVALID_RECORD', `its drayer/${row[0]} is not the stream's: ${why}`);
    if (r.key === MARKER_KEY) return { name: '', mod: r.mod, private: true };
    let name = '';
    try {
      name = cleanName(decodeInfo(r.val).name);
    } catch {
      // signed by the author but unreadable: the stream is genuine, shown by words of its key
    }
    return { name, mod: r.mod };
  }

  /** GET with no redirects, within a size and a time; the body of a 200 answer. */
  private get(url: string, maxBytes: number): Promise<Buffer> {
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false, headers: { accept: '*/*' } });
      this.requests.add(req);
      const fail = (why: string): void => {
        req.destroy();
        reject(new DrayerError('IO', why));
      };
      const timer = setTimeout(() => fail(`no answer within ${this.limits.timeoutMs} ms`), this.limits.timeoutMs);
      req.on('error', (e) => fail(e.message));
      req.on('close', () => {
        clearTimeout(timer);
        this.requests.delete(req);
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) return fail(`it answered ${res.statusCode}`);
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) return fail(`its answer is larger than ${maxBytes} bytes`);
        const parts: Buffer[] = [];
        let n = 0;
        res.on('data', (d: Buffer) => {
          n += d.length;
          if (n > maxBytes) return fail(`its answer is larger than ${maxBytes} bytes`);
          parts.push(d);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(parts));
        });
        res.on('error', (e) => fail(e.message));
      });
    });
  }
}
