// The node on the LAN: discovery started and stopped with its setting, what announcements heard
// set off (pulls, checks of the streams announced), and what Nearby shows of other computers.
import type { NearbyStream } from './api.js';
import { formatKey, streamName } from '../core/keys.js';
import type { DrayerRecord } from '../core/record.js';
import { Discovery, type Peer, type PeerChangedEvent } from '../net/discovery.js';
import { NearbyVerifier, type VerifiedInfo } from '../net/nearby.js';
import { emit } from './events.js';
import { startMdns, stopMdns } from './presence-mdns.js';
import { announcedPrivately, startPrivate, stopPrivate } from './presence-private.js';
import { pullOnAnnouncement, recordAnnounced, tipOf } from './scheduler.js';
import { urlOf } from './sources.js';
import { servedStream, settingsOf, sharedStreams, type NodeState } from './state.js';

/** Streams held here whose holders Nearby was asked to look up (none had served them to this node), per node. */
const heldAskedOf = new WeakMap<NodeState, Set<string>>();
function heldAskedBy(n: NodeState): Set<string> {
  let s = heldAskedOf.get(n);
  if (!s) heldAskedOf.set(n, (s = new Set()));
  return s;
}

/**
 * Nodes whose Nearby somebody asked for (the app's window, the web UI, the API). Looking a
 * stream's name up costs its holder two requests and this node a signature check; a node nobody
 * asked (a headless always-on mirror) makes none, and the first ask looks up all it heard.
 */
const nearbyAsked = new WeakSet<NodeState>();

/**
 * How long changes to a peer's listing are gathered before Nearby hears of them: a second, and
 * longer on a crowded LAN (each telling costs a check of every stream the peer lists, and when
 * N nodes follow one another every peer changes every few hundred ms), at most 3 s.
 */
const PEER_CHANGE_MS = 1000;
const PEER_CHANGE_PER_PEER_MS = 25;
const PEER_CHANGE_MAX_MS = 3000;

export async function startDiscovery(n: NodeState): Promise<void> {
  const heldAsked = heldAskedBy(n);
  /** per stream not held here, the holder whose announcement was looked up last */
  const askedHolder = new Map<string, { address: string; port: number }>();
  // a writer always lists its streams; mirrors leave theirs out when others announce them
  const announced = (x: { publicKey: Uint8Array; name: string }) => {
    const pk = formatKey(x.publicKey);
    if (n.library.getStream(pk)?.settings.announce === false || announcedPrivately(n, pk)) return undefined; // private ones go sealed (presence-private.ts)
    const s = n.streams.get(pk)!;
    return { publicKey: x.publicKey, mtip: tipOf(n, pk, s), name: x.name, own: s.writable };
  };
  const d = new Discovery({
    nodeId: n.nodeId,
    interface: n.opts.multicastInterface,
    httpPort: () => n.lan?.port ?? 0,
    name: () => settingsOf(n).name,
    streams: () => sharedStreams(n).flatMap((x) => announced(x) ?? []),
    stream: (pk) => {
      const s = servedStream(n, pk);
      return s ? announced({ publicKey: s.publicKey, name: streamName(n.library.getStream(formatKey(pk))?.name, s.publicKey) }) : undefined;
    },
  });
  // Nearby lists a stream once its node proved it serves it (nearby.ts); a change there is a peerFound
  const v = new NearbyVerifier({
    limits: n.opts.nearbyLimits,
    // a stream followed while its lookup waited needs none (see the 'stream' handler)
    stillWanted: (pk) => !n.streams.has(formatKey(pk)) || heldAsked.has(formatKey(pk)),
    onChange: (address, port) => {
      for (const p of d.peers()) if (p.address === address && p.port === port) peerFound(n, p);
    },
  });
  d.on('warning', (w: unknown) => n.log(`discovery: ${String((w as Error)?.message ?? w)}`));
  // A peer's listing changes with every stream it follows: Nearby hears of it at most once a second
  // (each telling costs a check of every stream it lists).
  const changed = new Map<string, PeerChangedEvent>();
  let flush: NodeJS.Timeout | null = null;
  d.on('peerChanged', (p: PeerChangedEvent) => {
    // Nobody has shown Nearby here (a headless always-on mirror): nobody hears of it. While 40 such
    // nodes followed one another, these checks were 8% of their CPU. The first ask lists all as it stands.
    if (!nearbyAsked.has(n)) return;
    changed.set(`${p.address}/${p.nodeId}`, p);
    flush ??= setTimeout(
      () => {
        flush = null;
        const ps = [...changed.values()];
        changed.clear();
        if (n.discovery !== d) return;
        for (const q of ps) {
          const peer = d.peer(q.nodeId, q.address);
          if (peer) peerFound(n, peer);
        }
      },
      Math.min(PEER_CHANGE_MAX_MS, PEER_CHANGE_MS + PEER_CHANGE_PER_PEER_MS * d.peerCount),
    );
    flush.unref();
  });
  d.on('peerLost', (p: Peer) => {
    changed.delete(`${p.address}/${p.nodeId}`);
    if (!n.shownPeers.delete(`${p.address}/${p.nodeId}`)) return; // it never showed
    emit(n, 'peerLost', { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name });
  });
  d.on('stream', (x: { publicKey: Uint8Array; mtip: number; address: string; port: number }) => {
    // a stream held here needs no lookup: its name is in our own copy, and pulls prove its holders
    const pk = formatKey(x.publicKey);
    if (n.streams.has(pk)) return pullOnAnnouncement(n, { publicKey: x.publicKey, address: x.address, port: x.port, mod: x.mtip });
    // Another stream: one holder at a time proves it (the one asked last, while its lookup waits or
    // stands); every holder is looked up when Nearby is shown (nearbyStreams). On a LAN where
    // everyone holds everything, asking each holder of each stream cost every node N² lookups.
    if (!nearbyAsked.has(n)) return;
    const last = askedHolder.get(pk);
    if (last && !(last.address === x.address && last.port === x.port) && v.pendingOrOk(last.address, last.port, x.publicKey)) return;
    if (askedHolder.size >= 4096) askedHolder.clear();
    askedHolder.set(pk, { address: x.address, port: x.port });
    // A first lookup, not a recheck: a newer M-tip is almost always a post, not a new name, and
    // rechecking on each cost every computer not following a stream two requests per post it
    // made (N² on a LAN where streams post). Names are rechecked when Nearby is shown
    // (nearbyStreams) and when a new drayer/info record is announced (below).
    v.want(x.address, x.port, x.publicKey, 0);
  });
  d.on('record', (x: { record: DrayerRecord; address: string; port: number }) => {
    const r = x.record;
    if (r.type === 'drayer' && r.key === 'info' && nearbyAsked.has(n) && !n.streams.has(formatKey(r.chain))) v.want(x.address, x.port, r.chain, r.mod);
    recordAnnounced(n, x);
  });
  await d.start();
  n.discovery = d;
  startPrivate(n, d, (pk, s) => tipOf(n, pk, s));
  n.nearbyInfo = v;
  await startMdns(n, d);
}

/** What the LAN server's JSON listing at `/` says of each stream served (read by nodes that found this one over mDNS). */
export function servedListing(n: NodeState): { publicKey: Uint8Array; name: string; mtip: number; announce: boolean }[] {
  // a stream announced privately is not listed for strangers: a follower knows its key already
  return sharedStreams(n).flatMap((x) => {
    const pk = formatKey(x.publicKey);
    if (announcedPrivately(n, pk)) return [];
    const s = n.streams.get(pk);
    return { ...x, mtip: s ? tipOf(n, pk, s) : 0, announce: n.library.getStream(pk)?.settings.announce !== false };
  });
}

/** Discovery turned off in the settings: Nearby empties, and this node is no longer announced. */
export async function stopDiscovery(n: NodeState): Promise<void> {
  await stopMdns(n);
  n.nearbyInfo?.stop();
  n.nearbyInfo = null;
  n.shownPeers.clear();
  stopPrivate(n);
  await n.discovery?.stop();
  n.discovery = null;
}

/**
 * Whether a computer proved it serves a stream: its signed drayer/info checked (nearby.ts), or,
 * for a stream held here, verified records of it served to us before (a sync cursor past 0).
 */
function proved(n: NodeState, address: string, port: number, pk: Uint8Array, held: boolean, pkText?: string): VerifiedInfo | true | undefined {
  const info = n.nearbyInfo?.verified(address, port, pk);
  if (info) return info;
  return held && servedBefore(n, urlOf(address, port), pkText ?? formatKey(pk)) ? true : undefined;
}

/**
 * library.servedBefore, remembered: every full listing heard asks it of each stream listed. A yes
 * stays yes (until the stream is let go of); a no is asked again after a few seconds.
 */
const served = new WeakMap<NodeState, Map<string, number>>();
const SERVED_NO_MS = 30_000;
function servedBefore(n: NodeState, url: string, pk: string): boolean {
  let m = served.get(n);
  if (!m) served.set(n, (m = new Map()));
  const key = `${url} ${pk}`;
  const until = m.get(key);
  if (until !== undefined && (until === Infinity || until > Date.now())) return until === Infinity && n.streams.has(pk);
  const yes = n.library.servedBefore(url, pk);
  if (m.size >= 8192) m.clear();
  m.set(key, yes ? Infinity : Date.now() + SERVED_NO_MS);
  return yes;
}

/** A peer's streams that Nearby shows: those it proved it serves. */
function verifiedStreams(n: NodeState, p: { address: string; port: number; streams: { publicKey: Uint8Array }[] }): string[] {
  if (!n.nearbyInfo) return [];
  const out: string[] = [];
  for (const s of p.streams) {
    const pk = formatKey(s.publicKey);
    if (proved(n, p.address, p.port, s.publicKey, n.streams.has(pk), pk)) out.push(pk);
  }
  return out;
}

/** peerFound for a peer with streams to show (or that had some): made-up announcements stay silent. */
function peerFound(n: NodeState, p: Peer): void {
  const key = `${p.address}/${p.nodeId}`;
  const streams = verifiedStreams(n, p);
  if (streams.length === 0 && !n.shownPeers.has(key)) return;
  if (streams.length > 0) {
    if (n.shownPeers.size >= 1024) n.shownPeers.clear(); // only decides whether an emptied list is announced
    n.shownPeers.add(key);
  } else n.shownPeers.delete(key);
  emit(n, 'peerFound', { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name, streams });
}

/** nearby: only streams whose node answered with their signed drayer/info, named by it (not by the packet). */
export function nearbyStreams(n: NodeState): NearbyStream[] {
  const out: NearbyStream[] = [];
  nearbyAsked.add(n); // from now on, announcements heard are looked up as they come
  const v = n.nearbyInfo;
  if (!v) return out;
  const names = new Map((n.discovery?.peers() ?? []).map((p) => [`${p.address}/${p.nodeId}`, p.name]));
  for (const x of n.discovery?.nearby() ?? []) {
    const pk = formatKey(x.publicKey);
    const entry = n.library.getStream(pk);
    let info: VerifiedInfo | undefined;
    let shown = false;
    const peers: NearbyStream['peers'] = [];
    // one holder is rechecked when the stream moved on since its proof (its name may have changed)
    const recheck = entry ? undefined : (x.peers.find((p) => v.verified(p.address, p.port, x.publicKey)) ?? x.peers[0]);
    for (const p of x.peers) {
      // a holder heard only from its full listing (Trickle leaves it out of later announcements)
      // is looked up here, once: a proof is kept while it announces the stream (rechecked at most
      // every 30 s, see `recheck`)
      if (!entry) v.want(p.address, p.port, x.publicKey, p === recheck ? x.mtip : 0);
      const proof = proved(n, p.address, p.port, x.publicKey, !!entry);
      if (!proof) continue;
      shown = true;
      if (proof !== true && (!info || proof.mod > info.mod)) info = proof; // the later info names the stream
      const name = names.get(`${p.address}/${p.nodeId}`);
      peers.push(name ? { address: p.address, port: p.port, name } : { address: p.address, port: p.port });
    }
    if (!shown && entry) {
      // held here, but no holder served it to us yet: look its holders up (once each, kept while announced)
      const heldAsked = heldAskedBy(n);
      if (heldAsked.size >= 4096) heldAsked.clear();
      heldAsked.add(pk);
      for (const p of x.peers) v.want(p.address, p.port, x.publicKey, 0);
      continue;
    }
    if (!shown) continue;
    // a stream held here is named by our own copy, as everywhere else in the app
    const name = entry ? streamName(entry.name, x.publicKey) : streamName(info?.name ?? '', x.publicKey);
    out.push({
      publicKey: pk,
      name,
      following: !!entry,
      ...(entry?.owned ? { owned: true } : {}),
      ...(info?.private ? { private: true } : {}),
      peers,
      mtip: x.mtip,
    });
  }
  return out;
}
