// The node's private announcements (issue 18; the protocol in app/net/discovery-private-wire.ts).
// A stream set to "announce privately" (StreamSettings.announcePrivately) is left out of every
// plain listing (multicast, the LAN server's index at `/` that mDNS listings read, Nearby of other
// computers) and announced sealed instead. A stream held here whose setting was never chosen
// becomes private once another computer is heard announcing it privately (also just before it is
// first listed after a follow): otherwise each follower would announce in the clear the key its
// writer keeps off the air.
import { formatKey, parseKey } from '../core/keys.js';
import type { Discovery } from '../net/discovery.js';
import { type PrivateHolder, PrivateLan } from '../net/discovery-private.js';
import type { AnnouncedStream } from '../net/discovery-wire.js';
import type { Stream } from '../store/store.js';
import { emit } from './events.js';
import { servedStream, sharedStreams, type NodeState } from './state.js';

const lans = new WeakMap<NodeState, PrivateLan>();

export function privateLanOf(n: NodeState): PrivateLan | undefined {
  return lans.get(n);
}

/** Whether stream `pk` (base64) is announced privately here: set so, or never set and heard announced privately by another computer (then set so). */
export function announcedPrivately(n: NodeState, pk: string): boolean {
  const e = n.library.getStream(pk);
  if (!e) return false;
  const v = e.settings.announcePrivately;
  if (typeof v === 'boolean') return v;
  const lan = lans.get(n);
  if (!lan?.heardPrivately(parseKey(pk))) return false;
  n.library.updateStream(pk, { settings: { ...e.settings, announcePrivately: true } });
  n.log(`stream ${pk} is announced privately on this LAN: announcing it privately here too`);
  emit(n, 'streamsChanged', {});
  return true;
}

/** Start private announcements beside discovery `d`; `tip` is a held stream's M-tip as the node announces it. */
export function startPrivate(n: NodeState, d: Discovery, tip: (pk: string, s: Stream) => number, intervalMs?: number): PrivateLan {
  const entry = (publicKey: Uint8Array): AnnouncedStream | undefined => {
    const pk = formatKey(publicKey);
    const s = n.streams.get(pk);
    if (!s || n.library.getStream(pk)?.settings.announce === false || !announcedPrivately(n, pk)) return undefined;
    return { publicKey: s.publicKey, mtip: tip(pk, s), own: s.writable };
  };
  const lan = new PrivateLan(d, n.nodeId, {
    streams: () => sharedStreams(n).flatMap((x) => entry(x.publicKey) ?? []),
    stream: (publicKey) => (servedStream(n, publicKey) ? entry(publicKey) : undefined),
    known: () => [...n.streams.values()].map((s) => s.publicKey),
    httpPort: () => n.lan?.port ?? 0,
    announceIntervalMs: intervalMs,
  });
  lans.set(n, lan);
  lan.start();
  return lan;
}

export function stopPrivate(n: NodeState): void {
  lans.get(n)?.stop();
  lans.delete(n);
}

/** The computers that announced stream `key` privately lately (sources.ts adds them to its LAN holders). */
export function privateHolders(n: NodeState, key: Uint8Array): PrivateHolder[] {
  return lans.get(n)?.holders(key) ?? [];
}
