// Nearby where our multicast group is filtered (issue 18): the node is advertised and browsed on
// mDNS (net/mdns.ts) beside discovery, and computers added by address; what each one serves is
// fetched over HTTP (net/mdns-listing.ts) and handed to discovery (`heard`), so Nearby, the
// holders sync pulls from and every bound are those of discovery. A node discovery already
// hears on our group is not fetched: one node seen both ways is one peer.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as os from 'node:os';
import { DrayerError } from '../core/errors.js';
import type { Discovery } from '../net/discovery.js';
import { fetchListing, type Listing, ListingQueue } from '../net/mdns-listing.js';
import { MdnsPresence, type MdnsPeer } from '../net/mdns.js';
import { privateLanOf } from './presence-private.js';
import type { NodeState } from './state.js';

/** Computers added by address, refreshed like found ones, at most this many (the oldest goes). */
const MAX_ADDED = 16;
/** A listing is fetched again this often while its node is still found (discovery forgets a peer after 3 of its 30 s intervals). */
const REFRESH_MS = 25_000;

interface MdnsState {
  presence: MdnsPresence | null;
  queue: ListingQueue;
  /** peers (address/node id) whose listing came over HTTP, with when it was last handed over */
  viaHttp: Map<string, number>;
  /** computers added by address: `address|port` */
  added: Map<string, { address: string; port: number }>;
  timer: NodeJS.Timeout;
}

const states = new WeakMap<NodeState, MdnsState>();

/** Starts mDNS beside discovery `d` (unless the node was told not to) and the refresh of added computers. */
export async function startMdns(n: NodeState, d: Discovery): Promise<void> {
  await stopMdns(n);
  const viaHttp = new Map<string, number>();
  const queue = new ListingQueue({
    refreshMs: REFRESH_MS,
    onListing: (l: Listing) => handOver(n, d, viaHttp, l),
    onFailure: (address, port, why) => n.log(`nearby: the listing of ${address}:${port} could not be read: ${why}`),
  });
  const st: MdnsState = { presence: null, queue, viaHttp, added: new Map(), timer: setInterval(() => refreshAdded(st), REFRESH_MS) };
  st.timer.unref();
  states.set(n, st);
  if (n.opts.mdns === false) return;
  const p = new MdnsPresence({ nodeId: n.nodeId, httpPort: () => n.lan?.port ?? 0, interface: n.opts.multicastInterface, port: n.opts.mdnsPort });
  p.on('warning', (w: { message: string }) => n.log(`discovery: ${w.message}`));
  /** the listing revision each node last announced (a new one: read its listing now, not at the next refresh) */
  const revs = new Map<string, number>();
  p.on('found', (x: MdnsPeer) => {
    if (heardOnGroup(d, viaHttp, x)) return;
    const key = `${x.address}/${x.nodeId}`;
    const last = revs.get(key);
    if (last === undefined && revs.size >= 1024) revs.delete(revs.keys().next().value as string);
    if (x.rev !== undefined) revs.set(key, x.rev);
    queue.want(x.address, x.port, x.nodeId, last !== undefined && x.rev !== undefined && x.rev !== last);
  });
  p.on('lost', (x: MdnsPeer) => {
    queue.forget(x.address, x.port);
    if (viaHttp.delete(`${x.address}/${x.nodeId}`)) d.forget(x.nodeId, x.address);
  });
  st.presence = p;
  try {
    await p.start();
  } catch (err) {
    // mDNS is a help, never a reason for discovery (or the node) not to start
    n.log(`discovery: mDNS could not start: ${(err as Error).message}`);
  }
}

export async function stopMdns(n: NodeState): Promise<void> {
  const st = states.get(n);
  if (!st) return;
  states.delete(n);
  clearInterval(st.timer);
  st.queue.stop();
  await st.presence?.stop().catch(() => {});
}

/** This node's listing changed (a new record): say so on mDNS, so nodes that found us there read it again now. */
export function mdnsChanged(n: NodeState): void {
  states.get(n)?.presence?.changed();
}

/** The mDNS counters (tests, diagnostics); undefined when it does not run. */
export function mdnsStats(n: NodeState): ReturnType<MdnsPresence['stats']> | undefined {
  return states.get(n)?.presence?.stats();
}

/**
 * Nearby: add a computer by address (`host:port`, or a URL such as http://host:port/), for a
 * network that hides computers from one another. Its listing is read now (what went wrong is the
 * error) and then kept fresh like a found node's.
 */
export async function addNearby(n: NodeState, text: string): Promise<{ address: string; port: number; name: string; streams: number }> {
  const d = n.discovery;
  const st = states.get(n);
  if (!d || !st) throw new DrayerError('INVALID_ARGUMENT', 'Nearby is off: turn on "Find computers nearby" in Settings first.');
  const { host, port } = parseAddress(text);
  let address = host;
  if (!isIP(host)) {
    try {
      address = (await lookup(host, { family: 4 })).address;
    } catch {
      throw new DrayerError('UNREACHABLE', `No computer is called "${host}" on this network. Try its IP address, shown in Drayer's Settings on that computer.`);
    }
  }
  let l: Listing;
  try {
    l = await fetchListing(address, port);
  } catch (err) {
    throw new DrayerError(
      'UNREACHABLE',
      `Could not read what ${host}:${port} shares: ${(err as Error).message}. Check the address and port (Settings on that computer shows them) and that Drayer runs there.`,
    );
  }
  const key = `${address}|${port}`;
  st.added.delete(key);
  if (st.added.size >= MAX_ADDED) st.added.delete(st.added.keys().next().value as string);
  st.added.set(key, { address, port });
  handOver(n, d, st.viaHttp, l);
  return { address, port, name: l.name, streams: l.streams.length };
}

/** How other computers can add this one in Nearby: `address:port` for each LAN address its server answers on. */
export function ownAddresses(n: NodeState): string[] {
  const lan = n.lan;
  if (!lan) return [];
  if (lan.host !== '0.0.0.0' && lan.host !== '::') return [`${lan.host.includes(':') ? `[${lan.host}]` : lan.host}:${lan.port}`];
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(`${a.address}:${lan.port}`);
  return out.slice(0, 4);
}

/** `host:port`, `[v6]:port` or an http(s) URL; a clear error for anything else. */
export function parseAddress(text: unknown): { host: string; port: number } {
  const bad = (why: string): DrayerError =>
    new DrayerError('INVALID_ARGUMENT', `${why} Write the computer's address and Drayer port, for example 192.168.1.20:4657 or http://laptop.local:4657.`);
  if (typeof text !== 'string' || !text.trim()) throw bad('The address is empty.');
  const t = text.trim();
  if (t.length > 300) throw bad('That address is too long.');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t);
  let url: URL;
  try {
    url = new URL(scheme ? t : `http://${t}`);
  } catch {
    throw bad(`"${t.slice(0, 60)}" is not an address.`);
  }
  if (url.protocol !== 'http:') throw bad('Drayer nodes answer over plain http on the LAN.');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw bad('The address names no computer.');
  // URL leaves out http's default port 80: written or implied by a URL, it is the port
  if (!url.port && !scheme && !/:80(?:[/?#]|$)/.test(t)) throw bad('The port is missing.');
  return { host, port: Number(url.port || 80) };
}

/** Whether discovery heard this node on our group since its listing last came over HTTP (or ever). */
function heardOnGroup(d: Discovery, viaHttp: Map<string, number>, x: MdnsPeer): boolean {
  const key = `${x.address}/${x.nodeId}`;
  const p = d.peers().find((q) => q.nodeId === x.nodeId && q.address === x.address);
  if (!p) return false;
  const handed = viaHttp.get(key);
  return handed === undefined || p.lastSeen > handed;
}

function handOver(n: NodeState, d: Discovery, viaHttp: Map<string, number>, l: Listing): void {
  if (n.discovery !== d || Buffer.from(n.nodeId).toString('hex') === l.nodeId) return;
  const key = `${l.address}/${l.nodeId}`;
  viaHttp.delete(key);
  if (viaHttp.size >= 1024) viaHttp.delete(viaHttp.keys().next().value as string);
  d.heard(l.nodeId, l.address, l.port, l.name, l.streams);
  // the streams it announces privately: only those held here open, as on the LAN (so a follower by key finds them)
  if (l.sealed.length) privateLanOf(n)?.hearSealed(l.sealed, l.address, l.nodeId);
  viaHttp.set(key, Date.now());
}

function refreshAdded(st: MdnsState): void {
  for (const a of st.added.values()) st.queue.want(a.address, a.port);
}
