// Discovery over mDNS / DNS-SD (issue 18): many Wi-Fi networks drop custom multicast groups such
// as ours (224.7.130.8) but let mDNS (224.0.0.251:5353) through, since printers and phones need
// it. A node advertises itself as `<node id>._drayer._tcp.local` (SRV: its HTTP port, TXT:
// `id=<node id>`) and browses for the others; what a found node serves is then learned over HTTP
// (mdns-listing.ts), never from the packet. Only that a node is there travels on mDNS.
//
// Packets come from anyone on the LAN: each is at most a UDP datagram (dns-packet decodes it in
// time linear in its size and refuses pointer loops), answers are taken from a rate-limited set
// of senders (per address and overall) and only the first records of a packet are read. The
// address a node is found at is the packet's source, as for our own group, never an A record
// (which could name any host).
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import makeMdns from 'multicast-dns';
import type { Answer, Question, StringAnswer, SrvAnswer, TxtAnswer } from 'dns-packet';
import { type RateLimit, TokenBucket } from './rate.js';

export const MDNS_SERVICE = '_drayer._tcp.local';
const SERVICES = '_services._dns-sd._udp.local';
/** How long others may keep our records (RFC 6762 suggests 120 s for SRV/TXT); a goodbye sets 0. */
const RECORD_TTL_S = 120;
/** Records read from one packet; ours carries 5. */
const MAX_RECORDS = 32;
const MAX_QUESTIONS = 16;
const RATE_BUCKETS_MAX = 1024;
/** Our own multicast answers: at most one a second (RFC 6762 §6), after a short random delay. */
const ANSWER_SPACING_MS = 1000;
const ANSWER_DELAY_MIN_MS = 20;
const ANSWER_DELAY_MAX_MS = 120;
/** Browsing asks at start, after 1 s and 3 s (a lost packet), then every `refreshMs`. */
const FIRST_QUERIES_MS = [0, 1000, 3000];

export interface MdnsPeer {
  /** hex, from the TXT record */
  nodeId: string;
  /** the packet's source address */
  address: string;
  /** from the SRV record */
  port: number;
  /** the revision of its listing (TXT `r=`): it changes when the node has new records */
  rev?: number;
}

export interface MdnsOptions {
  /** 16 bytes, the node id discovery announces too */
  nodeId: Uint8Array;
  httpPort: () => number;
  /** the local address to send from and join on (default: every interface) */
  interface?: string;
  /** the mDNS port (5353; tests may use another) */
  port?: number;
  /** browse queries after the first ones, default 20 s */
  refreshMs?: number;
  /** packets taken per sender address, default burst 10, 5 a second */
  rateLimit?: RateLimit;
}

export interface MdnsStats {
  received: number;
  rateLimited: number;
  /** not DNS, or not a well-formed answer of ours */
  invalid: number;
  answered: number;
  found: number;
}

/**
 * Events: 'found' (MdnsPeer) each time a node answers or announces itself, 'lost' (MdnsPeer) when it
 * says goodbye (TTL 0), 'warning' ({message}).
 */
export class MdnsPresence extends EventEmitter {
  private readonly id: string;
  private readonly instance: string;
  private readonly host: string;
  private readonly limit: RateLimit;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly global: TokenBucket;
  private mdns: makeMdns.MulticastDNS | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private answerTimer: NodeJS.Timeout | null = null;
  private lastAnswer = 0;
  /** our listing's revision, in the TXT record */
  private rev = 0;
  private readonly warned = new Map<string, number>();
  private readonly counters: MdnsStats = { received: 0, rateLimited: 0, invalid: 0, answered: 0, found: 0 };

  constructor(private readonly opts: MdnsOptions) {
    super();
    this.id = Buffer.from(opts.nodeId).toString('hex');
    this.instance = `${this.id}.${MDNS_SERVICE}`;
    this.host = `drayer-${this.id}.local`;
    this.limit = opts.rateLimit ?? { burst: 10, perSecond: 5 };
    this.global = new TokenBucket({ burst: this.limit.burst * 20, perSecond: this.limit.perSecond * 20 }, Date.now());
  }

  /** Joins the mDNS group, announces this node and asks who else is there. Never throws: trouble is a 'warning'. */
  start(): Promise<void> {
    if (this.mdns) return Promise.resolve();
    const m = makeMdns({ port: this.opts.port ?? 5353, interface: this.opts.interface, reuseAddr: true });
    this.mdns = m;
    m.on('warning', (e: NodeJS.ErrnoException) => {
      // a packet that does not decode is someone else's junk: counted, never logged (a flood would fill the log)
      if (e.syscall === undefined) this.counters.invalid++;
      else this.warn(`mDNS: ${e.message}`);
    });
    m.on('error', (e: Error) => this.warn(`mDNS is not available (${e.message}); Nearby relies on the Drayer group alone`));
    m.on('response', (p, rinfo) => this.guard(() => this.onResponse(p.answers ?? [], p.additionals ?? [], rinfo.address)));
    m.on('query', (p, rinfo) => this.guard(() => this.onQuery(p.questions ?? [], rinfo.address)));
    return new Promise((resolve) => {
      m.once('ready', () => {
        // twice a second apart (RFC 6762 §8.3), then the queries that fill Nearby
        this.announce();
        this.later(1000, () => this.announce());
        for (const at of FIRST_QUERIES_MS) this.later(at, () => this.browse());
        this.refresh(FIRST_QUERIES_MS.at(-1)!);
        resolve();
      });
      m.once('error', () => resolve());
    });
  }

  /** Says goodbye (our records with TTL 0) and leaves the group. */
  async stop(): Promise<void> {
    const m = this.mdns;
    if (!m) return;
    this.mdns = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = null;
    await new Promise<void>((r) => m.respond({ answers: this.records(0) }, () => r()));
    await new Promise<void>((r) => m.destroy(() => r()));
  }

  stats(): MdnsStats {
    return { ...this.counters };
  }

  /** Our listing changed (a new record): announce the new revision (at most once a second, coalesced). */
  changed(): void {
    this.rev = (this.rev + 1) >>> 0;
    this.answerSoon();
  }

  /** Asks the LAN for Drayer nodes now (the answers arrive as 'found'). */
  browse(): void {
    this.mdns?.query({ questions: [{ name: MDNS_SERVICE, type: 'PTR' }] });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.mdns) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Asks again every `refreshMs`: the answers keep found nodes in Nearby (and bring back lost ones). */
  private refresh(after: number): void {
    this.later(after + Math.max(1000, this.opts.refreshMs ?? 20_000), () => {
      this.browse();
      this.refresh(0);
    });
  }

  /** A 'warning' event, each message at most once a minute. */
  private warn(message: string): void {
    const now = Date.now();
    const last = this.warned.get(message);
    if (last !== undefined && now - last < 60_000) return;
    if (this.warned.size >= 64) this.warned.clear();
    this.warned.set(message, now);
    this.emit('warning', { message });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // an unforeseen packet shape must never take the node down
      this.counters.invalid++;
      this.warn(`mDNS packet handling failed: ${(err as Error).message}`);
    }
  }

  /** A sender within its share (and everyone together within theirs). */
  private admit(address: string): boolean {
    const now = Date.now();
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= RATE_BUCKETS_MAX) this.buckets.delete(this.buckets.keys().next().value as string);
      this.buckets.set(address, (b = new TokenBucket(this.limit, now)));
    }
    if (b.take(now) && this.global.take(now)) return true;
    this.counters.rateLimited++;
    return false;
  }

  private records(ttl = RECORD_TTL_S): Answer[] {
    const port = this.opts.httpPort();
    const out: Answer[] = [
      { name: MDNS_SERVICE, type: 'PTR', ttl, data: this.instance },
      { name: this.instance, type: 'SRV', ttl, flush: true, data: { port, target: this.host, priority: 0, weight: 0 } },
      { name: this.instance, type: 'TXT', ttl, flush: true, data: [`id=${this.id}`, 'v=1', `r=${this.rev}`] },
    ];
    for (const a of localAddresses(this.opts.interface)) out.push({ name: this.host, type: 'A', ttl, flush: true, data: a });
    return out;
  }

  private announce(): void {
    if (!this.mdns || !(this.opts.httpPort() > 0)) return;
    this.mdns.respond({ answers: this.records() });
  }

  private onQuery(questions: Question[], address: string): void {
    if (!this.admit(address)) return;
    this.counters.received++;
    const asked = questions.slice(0, MAX_QUESTIONS).some((q) => {
      const name = lower(q.name);
      const type = q.type as string; // dns-packet names type 255 'ANY', which its types leave out
      return ((name === MDNS_SERVICE || name === SERVICES) && (type === 'PTR' || type === 'ANY')) || name === this.instance;
    });
    if (asked) this.answerSoon();
  }

  /** One multicast answer serves every query heard before it goes: at most one a second, however many ask. */
  private answerSoon(): void {
    if (this.answerTimer || !this.mdns) return;
    const wait = Math.max(0, this.lastAnswer + ANSWER_SPACING_MS - Date.now());
    this.answerTimer = setTimeout(
      () => {
        this.answerTimer = null;
        if (!this.mdns) return;
        this.lastAnswer = Date.now();
        this.counters.answered++;
        this.announce();
      },
      wait + ANSWER_DELAY_MIN_MS + Math.random() * (ANSWER_DELAY_MAX_MS - ANSWER_DELAY_MIN_MS),
    );
    this.answerTimer.unref();
  }

  private onResponse(answers: Answer[], additionals: Answer[], address: string): void {
    const records = [...answers.slice(0, MAX_RECORDS), ...additionals.slice(0, MAX_RECORDS)].slice(0, MAX_RECORDS);
    // only packets that speak of our service cost anything (printers and phones answer all the time)
    const ptrs = records.filter((r): r is StringAnswer => r.type === 'PTR' && lower(r.name) === MDNS_SERVICE && typeof r.data === 'string');
    if (ptrs.length === 0) return;
    if (!this.admit(address)) return;
    this.counters.received++;
    for (const ptr of ptrs.slice(0, 4)) {
      const instance = lower(ptr.data);
      const srv = records.find((r): r is SrvAnswer => r.type === 'SRV' && lower(r.name) === instance);
      const txt = records.find((r): r is TxtAnswer => r.type === 'TXT' && lower(r.name) === instance);
      const { nodeId, rev } = txt ? txtOf(txt.data) : {};
      const port = srv?.data?.port;
      if (!nodeId || typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) {
        this.counters.invalid++;
        continue;
      }
      if (nodeId === this.id) continue; // our own, looped back
      const peer: MdnsPeer = rev === undefined ? { nodeId, address, port } : { nodeId, address, port, rev };
      if (ptr.ttl === 0 || srv?.ttl === 0) this.emit('lost', peer);
      else {
        this.counters.found++;
        this.emit('found', peer);
      }
    }
  }
}

const lower = (s: string): string => s.toLowerCase().replace(/\.$/, '');

/** `id=<32 hex>` and `r=<revision>` from a TXT record's strings. */
function txtOf(data: TxtAnswer['data']): { nodeId?: string; rev?: number } {
  const out: { nodeId?: string; rev?: number } = {};
  const parts = Array.isArray(data) ? data : [data];
  for (const p of parts.slice(0, 16)) {
    const s = typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('latin1') : '';
    const id = /^id=([0-9a-f]{32})$/i.exec(s);
    if (id) out.nodeId = id[1]!.toLowerCase();
    const r = /^r=(\d{1,10})$/.exec(s);
    if (r) out.rev = Number(r[1]);
  }
  return out;
}

/** The IPv4 addresses to name in our A records: the LAN's, or loopback when there is none (a test namespace). */
function localAddresses(only?: string): string[] {
  if (only) return [only];
  const all = Object.values(os.networkInterfaces()).flatMap((l) => l ?? []);
  const v4 = all.filter((a) => a.family === 'IPv4');
  const lan = v4.filter((a) => !a.internal).map((a) => a.address);
  return (lan.length ? lan : v4.map((a) => a.address)).slice(0, 4);
}
