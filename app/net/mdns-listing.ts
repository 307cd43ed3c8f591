// What a node found over mDNS (mdns.ts) or typed in by address serves: its JSON listing at `/`
// (`Accept: application/json`: its id and name, and each stream's key, name and M-tip), fetched
// over HTTP and handed to discovery as if the node had announced it on our group (discovery.ts
// `heard`), so it is held within the same bounds (peers, streams per address, in all) and
// Nearby checks each stream's signed drayer/info as for any announcement (nearby.ts).
//
// What an answer can cost is bounded: one request at a time per server, a few overall, a queue
// of bounded length, a size and a time per answer, at most MAX_STREAMS streams read, a server
// asked again at most every `refreshMs` however often it is found, and one that fails waits
// (doubling up to a minute).
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { parseKey } from '../core/keys.js';
import type { AnnouncedStream } from './discovery-wire.js';
import { cleanName } from './discovery-wire.js';
import { MAX_PACKET } from './discovery-wire.js';
import { isMetadataHost } from './lan.js';

/** Streams read from one listing: what discovery keeps of one address (discovery-peers.ts). */
export const MAX_LISTED_STREAMS = 512;
const MAX_LISTING_BYTES = 256 * 1024;
const TIMEOUT_MS = 3000;
const MAX_SERVERS = 256;
const MAX_QUEUE = 64;
const CONCURRENT = 2;
const BACKOFF_MIN_MS = 2000;
const BACKOFF_MAX_MS = 60_000;
/** Sealed private-listing packets read from one listing (a sender's round: discovery-private.ts) */
const MAX_SEALED = 8;

export interface Listing {
  /** hex, 32 characters */
  nodeId: string;
  /** the node's name ('' when it gives none) */
  name: string;
  address: string;
  port: number;
  streams: AnnouncedStream[];
  /** its private listing, sealed packets as on the LAN (read by discovery-private.ts `hearSealed`) */
  sealed: Uint8Array[];
}

/** A node id for a server that names none (an older node): stable for its address and port. */
export function addressId(address: string, port: number): string {
  return createHash('sha256').update(`${address}:${port}`).digest('hex').slice(0, 32);
}

/**
 * GET http://address:port/ as JSON, within a size and a time; its listing, checked field by field.
 * `nodeId`: the id it was found by (mDNS); a listing naming another is refused. Throws what went wrong, for people.
 */
export async function fetchListing(address: string, port: number, nodeId?: string, timeoutMs = TIMEOUT_MS): Promise<Listing> {
  if (isMetadataHost(address)) throw new Error('that address is a cloud metadata service, never asked');
  const host = address.includes(':') ? `[${address}]` : address;
  const body = await getJson(`http://${host}:${port}/`, MAX_LISTING_BYTES, timeoutMs);
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('it answered, but not with a Drayer listing (not JSON): is this the port of a Drayer node?');
  }
  if (!isObj(doc) || !Array.isArray(doc.streams)) throw new Error('it answered, but not with a Drayer listing: is this the port of a Drayer node?');
  const node = isObj(doc.node) ? doc.node : {};
  const said = typeof node.id === 'string' && /^[0-9a-f]{32}$/i.test(node.id) ? node.id.toLowerCase() : undefined;
  if (nodeId && said && said !== nodeId) throw new Error('another node answers at that address');
  const streams: AnnouncedStream[] = [];
  for (const x of doc.streams.slice(0, MAX_LISTED_STREAMS)) {
    if (!isObj(x) || typeof x.publicKey !== 'string' || x.announce === false) continue;
    let publicKey: Uint8Array;
    try {
      publicKey = parseKey(x.publicKey);
    } catch {
      continue;
    }
    const mtip = typeof x.mtip === 'number' && Number.isSafeInteger(x.mtip) && x.mtip >= 0 ? x.mtip : 0;
    const name = cleanName(x.name);
    streams.push(name ? { publicKey, mtip, name } : { publicKey, mtip });
  }
  const sealed: Uint8Array[] = [];
  for (const x of Array.isArray(doc.sealed) ? doc.sealed.slice(0, MAX_SEALED) : []) {
    if (typeof x !== 'string' || x.length > Math.ceil(MAX_PACKET / 3) * 4) continue;
    sealed.push(new Uint8Array(Buffer.from(x, 'base64')));
  }
  return { nodeId: nodeId ?? said ?? addressId(address, port), name: cleanName(node.name), address, port, streams, sealed };
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** GET with no redirects, within a size and a time; the body of a 200 answer. */
function getJson(url: string, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { accept: 'application/json' } });
    let done = false;
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ECONNREFUSED' ? 'nothing listens at that port' : e.message));
    req.on('response', (res) => {
      if (res.statusCode !== 200) return fail(`it answered HTTP ${res.statusCode}`);
      if (Number(res.headers['content-length'] ?? 0) > maxBytes) return fail(`its listing is larger than ${maxBytes} bytes`);
      const parts: Buffer[] = [];
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
        if (n > maxBytes) return fail(`its listing is larger than ${maxBytes} bytes`);
        parts.push(d);
      });
      res.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(Buffer.concat(parts));
      });
      res.on('error', (e) => fail(e.message));
    });
  });
}

interface ServerState {
  nodeId?: string;
  /** when its listing was last asked for (ok or not), and how many failed in a row */
  at: number;
  failures: number;
  until: number;
  state: 'idle' | 'queued' | 'running';
  /** asked for again (forced) while its fetch ran: fetched once more when it ends */
  again?: boolean;
}

export interface ListingQueueOptions {
  onListing: (l: Listing) => void;
  onFailure?: (address: string, port: number, why: string) => void;
  /** a server's listing is asked for again at most this often, default 25 s */
  refreshMs?: number;
}

/** The listings of found nodes, fetched within the bounds above. */
export class ListingQueue {
  private readonly servers = new Map<string, ServerState>();
  private readonly queue: { key: string; address: string; port: number }[] = [];
  private running = 0;
  private stopped = false;

  constructor(private readonly opts: ListingQueueOptions) {}

  /** A node was found at address:port (again): fetch its listing unless that was done lately. */
  want(address: string, port: number, nodeId?: string, force = false): void {
    if (this.stopped) return;
    const key = `${address}|${port}`;
    const now = Date.now();
    let s = this.servers.get(key);
    if (!s) {
      if (this.servers.size >= MAX_SERVERS) this.forgetIdle();
      if (this.servers.size >= MAX_SERVERS) return;
      this.servers.set(key, (s = { at: 0, failures: 0, until: 0, state: 'idle' }));
    }
    if (nodeId) s.nodeId = nodeId;
    if (s.state === 'running' && force) s.again = true;
    if (s.state !== 'idle' || s.until > now || this.queue.length >= MAX_QUEUE) return;
    if (!force && now - s.at < (this.opts.refreshMs ?? 25_000)) return;
    s.state = 'queued';
    this.queue.push({ key, address, port });
    this.pump();
  }

  /** Forget a server (it said goodbye): found again, it is asked at once. */
  forget(address: string, port: number): void {
    const s = this.servers.get(`${address}|${port}`);
    if (s && s.state === 'idle') this.servers.delete(`${address}|${port}`);
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.servers.clear();
  }

  private forgetIdle(): void {
    const now = Date.now();
    for (const [k, s] of this.servers) if (s.state === 'idle' && s.until <= now) this.servers.delete(k);
  }

  private pump(): void {
    while (!this.stopped && this.running < CONCURRENT && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const s = this.servers.get(job.key);
      if (!s) continue;
      s.state = 'running';
      this.running++;
      void this.run(job.address, job.port, s).finally(() => {
        this.running--;
        s.state = 'idle';
        if (s.again) {
          s.again = false;
          this.want(job.address, job.port, s.nodeId, true);
        }
        this.pump();
      });
    }
  }

  private async run(address: string, port: number, s: ServerState): Promise<void> {
    s.at = Date.now();
    try {
      const l = await fetchListing(address, port, s.nodeId);
      if (this.stopped) return;
      s.failures = 0;
      s.until = 0;
      this.opts.onListing(l);
    } catch (err) {
      if (this.stopped) return;
      s.failures++;
      s.until = Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(s.failures - 1, 16));
      if (s.failures === 1) this.opts.onFailure?.(address, port, (err as Error).message);
    }
  }
}
