// Where a stream is pulled from: the sources its user gave, the primary servers its author
// named, and computers heard of on the LAN, each with the M-tip it announces for the stream
// (a few unproven ones at a time, as anyone can claim to be one).
import { peerId } from '../core/peer.js';
import { formatKey, parseKey } from '../core/keys.js';
import type { Stream } from '../store/store.js';
import type { SourceKind } from './api.js';
import { privateHolders, privateLanOf } from './presence-private.js';
import { givenSources, type NodeState } from './state.js';

/** Sources a sync round takes from peers only heard of on the LAN (see sourcesFor). */
export const MAX_HEARD_SOURCES = 4;

/** The sources the user gave and the stream's author named (its primary servers). */
export function configuredSources(n: NodeState, s: Stream): Set<string> {
  const urls = new Set<string>();
  for (const u of givenSources(n.library.getStream(formatKey(s.publicKey)), s)) {
    try {
      urls.add(peerId(u));
    } catch {
      /* a bad URL recorded in the file is skipped */
    }
  }
  for (const p of s.primaryServers()) {
    try {
      urls.add(peerId(p.url));
    } catch {
      /* a bad URL in the record is skipped */
    }
  }
  if (n.lan) {
    urls.delete(`http://127.0.0.1:${n.lan.port}`);
    urls.delete(`http://localhost:${n.lan.port}`);
  }
  return urls;
}

/** A computer on the LAN that announces a stream, as a source to pull it from. */
export interface Holder {
  url: string;
  address: string;
  port: number;
  /** the M-tip it announced for the stream */
  mtip: number;
  /** it served a verified new record before (it has a row in library.db) */
  proven: boolean;
  /** Nearby checked that it serves the stream (its signed drayer/info) */
  verified: boolean;
}

export const urlOf = (address: string, port: number): string => `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

/**
 * The holders of every stream heard on the LAN (by stream key), best first: proven, then
 * verified, then the newest announced tip; equals in random order, so that followers spread
 * over the holders instead of all asking the same one. One pass over what discovery heard.
 */
export function lanHolders(n: NodeState): Map<string, Holder[]> {
  const out = new Map<string, Holder[]>();
  const d = n.discovery;
  if (!d) return out;
  const self = Buffer.from(n.nodeId).toString('hex');
  const proven = new Map<string, boolean>();
  for (const p of d.peers()) {
    if (p.nodeId === self || p.port === 0) continue;
    const url = urlOf(p.address, p.port);
    let known = proven.get(url);
    if (known === undefined) proven.set(url, (known = n.library.getPeer(url) !== undefined));
    for (const x of p.streams) {
      const pk = formatKey(x.publicKey);
      let list = out.get(pk);
      if (!list) out.set(pk, (list = []));
      const verified = n.nearbyInfo?.verified(p.address, p.port, x.publicKey) !== undefined;
      list.push({ url, address: p.address, port: p.port, mtip: x.mtip, proven: known, verified });
    }
  }
  // streams announced privately (presence-private.ts): their holders are heard apart
  for (const [hex, hs] of privateLanOf(n)?.allHolders() ?? []) {
    const pk = formatKey(Buffer.from(hex, 'hex'));
    let list = out.get(pk);
    if (!list) out.set(pk, (list = []));
    for (const h of hs) {
      if (h.nodeId === self || h.port === 0) continue;
      const url = urlOf(h.address, h.port);
      list.push({ url, address: h.address, port: h.port, mtip: h.mtip, proven: n.library.getPeer(url) !== undefined, verified: false });
    }
  }
  for (const list of out.values()) rankHolders(list);
  return out;
}

/** The holders of one stream, best first (see lanHolders). */
export function holdersOf(n: NodeState, pk: string): Holder[] {
  const d = n.discovery;
  if (!d) return [];
  const self = Buffer.from(n.nodeId).toString('hex');
  const key = parseKey(pk);
  const list: Holder[] = [];
  for (const h of [...d.holders(key), ...privateHolders(n, key)]) {
    if (h.nodeId === self || h.port === 0) continue;
    const url = urlOf(h.address, h.port);
    const verified = n.nearbyInfo?.verified(h.address, h.port, key) !== undefined;
    list.push({ url, address: h.address, port: h.port, mtip: h.mtip, proven: n.library.getPeer(url) !== undefined, verified });
  }
  return rankHolders(list);
}

/** Best first, in place: proven, verified, newest tip, then at random. */
export function rankHolders(list: Holder[]): Holder[] {
  const order = new Map(list.map((h) => [h, Math.random()]));
  return list.sort((a, b) => +b.proven - +a.proven || +b.verified - +a.verified || b.mtip - a.mtip || order.get(a)! - order.get(b)!);
}

/** Every source of a stream, for a pull asked for by hand (Sync now, restore): see DESIGN §sync. */
export function sourcesFor(n: NodeState, s: Stream, extra?: string): string[] {
  const pk = formatKey(s.publicKey);
  const urls = new Set<string>();
  if (extra) urls.add(peerId(extra));
  for (const u of configuredSources(n, s)) urls.add(u);
  // Peers only heard of on the LAN have not served anything yet and may be made up by the
  // hundred: a few, picked at random so made-up ones cannot crowd out an honest one.
  const heard: string[] = [];
  for (const h of holdersOf(n, pk)) {
    if (h.proven) urls.add(h.url);
    else heard.push(h.url);
  }
  for (let i = 0; i < heard.length && i < MAX_HEARD_SOURCES; i++) {
    const j = i + Math.floor(Math.random() * (heard.length - i));
    [heard[i], heard[j]] = [heard[j]!, heard[i]!];
    urls.add(heard[i]!);
  }
  if (n.lan) {
    urls.delete(`http://127.0.0.1:${n.lan.port}`);
    urls.delete(`http://localhost:${n.lan.port}`);
  }
  return [...urls];
}

/**
 * What kind of source `url` is for stream `s`, as its page says where records came from: a primary
 * server its author named, then an address the user gave, a computer heard on the LAN, one found on
 * the DHT; an address asked by hand and heard of nowhere is one given.
 */
export function sourceKind(n: NodeState, s: Stream, url: string): SourceKind {
  const id = (u: string) => {
    try {
      return peerId(u);
    } catch {
      return u;
    }
  };
  const u = id(url);
  if (s.primaryServers().some((p) => id(p.url) === u)) return 'primary';
  if (givenSources(n.library.getStream(formatKey(s.publicKey)), s).some((g) => id(g) === u)) return 'given';
  if (holdersOf(n, formatKey(s.publicKey)).some((h) => h.url === u)) return 'lan';
  if (n.dht?.node.peers(s.publicKey).some((p) => urlOf(p.host, p.port) === u)) return 'dht';
  return 'given';
}

/** The LAN address of a computer that announces stream `pk` (verified and newest first), if one does. */
export function nearbySource(n: NodeState, pk: string): string | undefined {
  const list = holdersOf(n, pk).filter((h) => h.mtip > 0);
  // a verified holder first here (the answer sets the window of a partial copy), then the newest tip
  return (list.find((h) => h.verified) ?? list[0])?.url;
}
