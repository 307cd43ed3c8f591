// The node beyond its LAN: the Mainline DHT (app/net/dht.ts) joined while the node-wide setting
// (Settings.dht, "Reach beyond this network") or `drayer serve --dht` says so; it announces the
// streams set findable (StreamSummary.dht, "Findable on the internet"; every served one with
// --dht-announce-all) with the LAN server's port, and looks up followed streams that have no
// other source. DHT peers come last among a stream's sources (sources.ts), a few per round.
import * as os from 'node:os';
import { parseKey } from '../core/keys.js';
import type { PortMapper } from '../net/portmap.js';
import { servedStream, settingsOf, syncModeOf, type NodeState } from './state.js';

/** DHT peers a round (or a follow) tries at most per stream. */
export const MAX_DHT_SOURCES = 3;
/** A followed stream is looked up again at most this often (unless it has no peer at all). */
const LOOKUP_EVERY_MS = 10 * 60_000;
/** A stream with no DHT peer yet is looked up again at most this often. */
const RETRY_LOOKUP_MS = 60_000;
/** How often the set of announced streams is brought up to date (the DHT module rate-limits the announces). */
const REFRESH_MS = 30_000;

/** Whether this run should be in the DHT. */
export function dhtWanted(n: NodeState): boolean {
  if (n.opts.dht === false || n.opts.host === null) return false;
  return (n.opts.dht !== undefined && !n.opts.dht.whenSet) || settingsOf(n).dht;
}

/** Join the DHT (if wanted and not joined), announce what is findable, and keep it so. */
export async function startDht(n: NodeState): Promise<void> {
  if (n.dht || !dhtWanted(n) || !n.lan) return;
  const run = n.opts.dht || {};
  // loaded when first turned on: a node without the DHT never loads bittorrent-dht
  const { DhtNode, dhtStateFile } = await import('../net/dht.js');
  const node = await DhtNode.start({
    bootstrap: run.bootstrap,
    port: run.port,
    bindHost: run.bindHost,
    stateFile: dhtStateFile(n.dataDir),
    log: n.log,
  });
  if (n.stopped) return void (await node.stop());
  const timer = setInterval(() => announceToDht(n), REFRESH_MS);
  timer.unref();
  const portMap = await startPortMapping(n, node.port);
  n.dht = { node, announceAll: run.announceAll === true, lookedUp: new Map(), timer, portMap };
  n.log(`Joined the Mainline DHT on UDP port ${node.port}.`);
  announceToDht(n);
}

/**
 * Ask the router to forward the LAN server's port (TCP) and the DHT's (UDP), so that the address
 * announced is reachable from the internet. Not when turned off, nor when the server listens on
 * loopback only (nothing outside could reach it). It runs in the background: status() says how it goes.
 */
async function startPortMapping(n: NodeState, dhtPort: number): Promise<PortMapper | null> {
  const o = n.opts.portMapping;
  if (o === false || !settingsOf(n).portMapping || !n.lan || /^(127\.|::1$|localhost$)/.test(n.lan.host)) return null;
  const { PortMapper } = await import('../net/portmap.js');
  const m = new PortMapper({
    ...o,
    ports: [
      { protocol: 'TCP', port: n.lan.port },
      { protocol: 'UDP', port: dhtPort },
    ],
    log: n.log,
    onChange: () => announceToDht(n),
  });
  m.start();
  return m;
}

/** The port-mapping setting changed: while in the DHT, ask the router now, or take back what it forwards. */
export async function setPortMapping(n: NodeState): Promise<void> {
  const d = n.dht;
  if (!d) return;
  if (settingsOf(n).portMapping && !d.portMap) {
    const m = await startPortMapping(n, d.node.port);
    if (n.dht === d && !d.portMap) d.portMap = m;
    else await m?.stop(); // left the DHT (or asked twice) meanwhile
  } else if (!settingsOf(n).portMapping && d.portMap) {
    const m = d.portMap;
    d.portMap = null;
    await m.stop();
  }
  announceToDht(n); // the port the internet sees may have changed
}

/** Leave the DHT (the setting turned off, or the node stopping); the routing table is saved. */
export async function stopDht(n: NodeState): Promise<void> {
  const d = n.dht;
  n.dht = null;
  if (d) clearInterval(d.timer);
  // the mappings go first (each removal bounded in time): the router forwards nothing to a closed port
  await d?.portMap?.stop();
  await d?.node.stop();
}

/** Announce exactly the streams that should be findable now (served, and set findable or all). */
export function announceToDht(n: NodeState): void {
  const d = n.dht;
  if (!d || !n.lan) return;
  const out: { publicKey: Uint8Array; port: number }[] = [];
  // the port the internet sees when the router forwards one (it may give another than ours)
  const port = d.portMap?.externalPort('TCP', n.lan.port) ?? n.lan.port;
  for (const e of n.library.listStreams()) {
    if (!d.announceAll && e.settings.dht !== true) continue;
    const key = parseKey(e.publicKey);
    if (servedStream(n, key)) out.push({ publicKey: key, port });
  }
  d.node.setAnnounced(out);
}

/** This node's own LAN server, as a DHT peer would name it (its announce comes back in lookups). */
function isSelf(n: NodeState, host: string, port: number): boolean {
  const pm = n.dht?.portMap?.status();
  if (pm?.state === 'mapped' && host === pm.externalAddress && pm.ports.some((p) => p.protocol === 'TCP' && p.externalPort === port)) return true; // through the router
  if (!n.lan || port !== n.lan.port) return false;
  if (host.startsWith('127.')) return true;
  return Object.values(os.networkInterfaces()).some((l) => (l ?? []).some((a) => a.address === host));
}

/** URLs of a few DHT peers of a stream to pull from: not this node, not backing off, in random order. */
export function dhtSources(n: NodeState, pk: string, max = MAX_DHT_SOURCES): string[] {
  const d = n.dht;
  if (!d || syncModeOf(n) === 'lan') return [];
  const now = Date.now();
  const out: string[] = [];
  for (const p of d.node.usablePeers(parseKey(pk), 4 * max)) {
    if (isSelf(n, p.host, p.port)) continue;
    const url = `http://${p.host}:${p.port}`;
    if ((n.sync.peerState.get(url)?.nextTry ?? 0) > now) continue; // unreachable lately: backing off
    out.push(url);
    if (out.length >= max) break;
  }
  return out;
}

/**
 * Look a followed stream up on the DHT when it is due (bounded by the DHT's lookup timeout);
 * `force` for a follow by key alone, which has nothing else to go on.
 */
export async function lookupOnDht(n: NodeState, pk: string, force = false): Promise<void> {
  const d = n.dht;
  if (!d || syncModeOf(n) === 'lan') return;
  const now = Date.now();
  const last = d.lookedUp.get(pk) ?? 0;
  const wait = dhtSources(n, pk).length ? LOOKUP_EVERY_MS : RETRY_LOOKUP_MS;
  if (!force && now - last < wait) return;
  d.lookedUp.delete(pk);
  d.lookedUp.set(pk, now);
  if (d.lookedUp.size > 1024) d.lookedUp.delete(d.lookedUp.keys().next().value!);
  await d.node.lookup(parseKey(pk));
}

/** A DHT peer's pull failed or worked: the DHT module's own backoff follows (which peers it offers first). */
export function dhtPulled(n: NodeState, url: string, ok: boolean): void {
  const d = n.dht;
  if (!d) return;
  const m = /^http:\/\/(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(url);
  if (!m) return;
  const peer = { host: m[1]!, port: Number(m[2]) };
  if (ok) d.node.reached(peer);
  else d.node.failed(peer);
}
