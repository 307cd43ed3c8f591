// bench peertable: the unit cost of LAN discovery's peer table (app/net/discovery-peers.ts) in
// one process, where `bench lan` is too noisy to see it. BENCH_LAN_N (40) nodes each own a stream
// and follow all the others in the same order (as `bench lan` does); every follow sends a delta
// (the stream added, with the new holdings digest: Listings.sendDelta), and every node's table
// takes in every other node's packets, decoded from the real wire format. Timed: the tables alone.
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { holdingsDigest } from '../app/net/discovery-trickle.js';
import { type AnnouncedStream, type AnnounceMessage, buildAnnouncePackets, decodeMessage, hexOf } from '../app/net/discovery-wire.js';
import { PeerTable } from '../app/net/discovery-peers.js';

interface Sent {
  from: number;
  m: AnnounceMessage;
}

function packetsOf(nodeId: Uint8Array, streams: AnnouncedStream[], full: boolean, round: number): AnnounceMessage[] {
  const { packets } = buildAnnouncePackets(
    nodeId,
    { port: 9000, name: 'n', intervalMs: 30_000, round, partial: !full, digest: holdingsDigest(streams) },
    streams,
    full ? 16 : 1,
  );
  return packets.map((p) => decodeMessage(p) as AnnounceMessage);
}

/** What the N nodes send over the convergence, in order. */
function record(n: number): { ids: string[]; sent: Sent[] } {
  const nodeIds = Array.from({ length: n }, () => randomBytes(8));
  const own = Array.from({ length: n }, () => ({ publicKey: new Uint8Array(randomBytes(32)), mtip: 1, own: true }));
  const held: AnnouncedStream[][] = own.map((s) => [s]);
  const sent: Sent[] = [];
  let round = 0;
  for (let i = 0; i < n; i++) for (const m of packetsOf(nodeIds[i]!, held[i]!, true, ++round)) sent.push({ from: i, m });
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const s = { publicKey: own[k]!.publicKey, mtip: 1 };
      held[i]!.push(s);
      const m = packetsOf(nodeIds[i]!, [s], false, ++round)[0]!;
      m.digest = hexOf(holdingsDigest(held[i]!));
      sent.push({ from: i, m });
    }
  }
  return { ids: nodeIds.map((b) => hexOf(b)), sent };
}

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_LAN_N ?? 40);
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const { ids, sent } = record(n);
  const times: number[] = [];
  let wantFull = 0;
  for (let r = 0; r < reps; r++) {
    const tables = Array.from({ length: n }, () => new PeerTable(512, 30_000));
    const t0 = process.cpuUsage();
    const now = Date.now();
    for (const { from, m } of sent) {
      for (let j = 0; j < n; j++) if (j !== from && tables[j]!.announce(m, ids[from]!, `127.0.0.${from + 2}`, now).wantFull) wantFull++;
    }
    const d = process.cpuUsage(t0);
    times.push((d.user + d.system) / 1000);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const taken = sent.length * (n - 1);
  return {
    n,
    packets: sent.length,
    announcementsTaken: taken,
    wantFull,
    cpuMsAllNodes: median,
    usPerAnnouncement: Math.round((median * 1000 * 100) / taken) / 100,
    msPerNode: Math.round((median / n) * 100) / 100,
    load: os.loadavg()[0],
  };
}
