// Where a stream is pulled from: the sources its user gave, the primary servers its author
// named, and computers heard of on the LAN (a few at a time, as anyone can claim to be one).
import { peerId } from '../core/peer.js';
import { formatKey } from '../core/keys.js';
import type { Stream } from '../store/store.js';
import { givenSources, type NodeState } from './state.js';

/** Sources a sync round takes from peers only heard of on the LAN (see sourcesFor). */
const MAX_HEARD_SOURCES = 4;

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
  return urls;
}

export function sourcesFor(n: NodeState, s: Stream, extra?: string): string[] {
  const pk = formatKey(s.publicKey);
  const urls = new Set<string>();
  if (extra) urls.add(peerId(extra));
  for (const u of configuredSources(n, s)) urls.add(u);
  const heard: string[] = [];
  for (const x of n.discovery?.nearby() ?? []) {
    if (formatKey(x.publicKey) !== pk) continue;
    for (const p of x.peers) {
      if (p.nodeId === Buffer.from(n.nodeId).toString('hex') || p.port === 0) continue;
      const url = `http://${p.address.includes(':') ? `[${p.address}]` : p.address}:${p.port}`;
      if (n.library.getPeer(url)) urls.add(url);
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
  if (n.lan) {
    urls.delete(`http://127.0.0.1:${n.lan.port}`);
    urls.delete(`http://localhost:${n.lan.port}`);
  }
  return [...urls];
}

/** The LAN address of a computer that announces stream `pk`, if one does. */
export function nearbySource(n: NodeState, pk: string): string | undefined {
  const self = Buffer.from(n.nodeId).toString('hex');
  for (const x of n.discovery?.nearby() ?? []) {
    if (formatKey(x.publicKey) !== pk) continue;
    const usable = x.peers.filter((p) => p.nodeId !== self && p.port > 0);
    // one that proved it serves the stream first (nearby.ts), else any that announced it
    const p = usable.find((y) => n.nearbyInfo?.verified(y.address, y.port, x.publicKey)) ?? usable[0];
    if (p) return `http://${p.address.includes(':') ? `[${p.address}]` : p.address}:${p.port}`;
  }
  return undefined;
}
