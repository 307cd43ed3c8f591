// The node on the LAN: discovery started and stopped with its setting, what announcements heard
// set off (pulls, checks of the streams announced), and what Nearby shows of other computers.
import type { NearbyStream } from './api.js';
import { formatKey, streamName } from '../core/keys.js';
import type { DrayerRecord } from '../core/record.js';
import { Discovery, type Peer } from '../net/discovery.js';
import { NearbyVerifier, type VerifiedInfo } from '../net/nearby.js';
import { emit } from './events.js';
import { pullOnAnnouncement } from './scheduler.js';
import { settingsOf, sharedStreams, type NodeState } from './state.js';

export async function startDiscovery(n: NodeState): Promise<void> {
  const d = new Discovery({
    nodeId: n.nodeId,
    interface: n.opts.multicastInterface,
    httpPort: () => n.lan?.port ?? 0,
    name: () => settingsOf(n).name,
    streams: () =>
      sharedStreams(n)
        .filter((x) => n.library.getStream(formatKey(x.publicKey))?.settings.announce !== false)
        .map((x) => ({ publicKey: x.publicKey, mtip: n.streams.get(formatKey(x.publicKey))!.mtip(), name: x.name })),
  });
  // Nearby lists a stream once its node proved it serves it (nearby.ts); a change there is a peerFound
  const v = new NearbyVerifier({
    onChange: (address, port) => {
      for (const p of d.peers()) if (p.address === address && p.port === port) peerFound(n, p);
    },
  });
  d.on('warning', (w: unknown) => n.log(`discovery: ${String((w as Error)?.message ?? w)}`));
  d.on('peer', (p: Peer) => peerFound(n, p));
  d.on('peerLost', (p: Peer) => {
    if (!n.shownPeers.delete(`${p.address}/${p.nodeId}`)) return; // it never showed
    emit(n, 'peerLost', { nodeId: p.nodeId, address: p.address, port: p.port, name: p.name });
  });
  d.on('stream', (x: { publicKey: Uint8Array; mtip: number; address: string; port: number }) => {
    v.want(x.address, x.port, x.publicKey, x.mtip);
    pullOnAnnouncement(n, { publicKey: x.publicKey, address: x.address, port: x.port, mod: x.mtip });
  });
  d.on('record', (x: { record: DrayerRecord; address: string; port: number }) =>
    pullOnAnnouncement(n, { publicKey: x.record.chain, address: x.address, port: x.port, mod: x.record.mod }),
  );
  await d.start();
  n.discovery = d;
  n.nearbyInfo = v;
}

/** Discovery turned off in the settings: Nearby empties, and this node is no longer announced. */
export async function stopDiscovery(n: NodeState): Promise<void> {
  n.nearbyInfo?.stop();
  n.nearbyInfo = null;
  n.shownPeers.clear();
  await n.discovery?.stop();
  n.discovery = null;
}

/** A peer's streams that Nearby shows: those it proved it serves. */
function verifiedStreams(n: NodeState, p: { address: string; port: number; streams: { publicKey: Uint8Array }[] }): string[] {
  const v = n.nearbyInfo;
  return v ? p.streams.filter((s) => v.verified(p.address, p.port, s.publicKey)).map((s) => formatKey(s.publicKey)) : [];
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
  const v = n.nearbyInfo;
  if (!v) return out;
  const names = new Map((n.discovery?.peers() ?? []).map((p) => [`${p.address}/${p.nodeId}`, p.name]));
  for (const x of n.discovery?.nearby() ?? []) {
    const pk = formatKey(x.publicKey);
    let info: VerifiedInfo | undefined;
    const peers: NearbyStream['peers'] = [];
    for (const p of x.peers) {
      const proved = v.verified(p.address, p.port, x.publicKey);
      if (!proved) continue;
      if (!info || proved.mod > info.mod) info = proved; // the later info names the stream
      const name = names.get(`${p.address}/${p.nodeId}`);
      peers.push(name ? { address: p.address, port: p.port, name } : { address: p.address, port: p.port });
    }
    const held = n.streams.get(pk);
    if (info)
      out.push({ publicKey: pk, name: streamName(info.name, x.publicKey), following: !!held, ...(held?.writable ? { owned: true } : {}), peers, mtip: x.mtip });
  }
  return out;
}
