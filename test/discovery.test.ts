// LAN discovery. The packet format is checked here directly; everything that touches the
// network runs in test/fixtures/discovery-child.ts inside a private network namespace
// (test/netns.ts), because multicast must never leave the machine. This process never
// opens a discovery socket.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decode } from '@msgpack/msgpack';
import { randomBytes } from '../app/core/crypto.js';
import { Discovery } from '../app/net/discovery.js';
import { PeerTable } from '../app/net/discovery-peers.js';
import { Listings, Ours } from '../app/net/discovery-listings.js';
import { LanTips } from '../app/net/discovery-trickle.js';
import { newDiscoveryStats } from '../app/net/discovery-types.js';
import { buildAnnouncePackets, cleanName, MAGIC, MAX_PACKET } from '../app/net/discovery-wire.js';
import { ANNOUNCED_PULLS, ANNOUNCED_PULLS_PER_ADDRESS } from '../app/node/scheduler.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'discovery-child.js');

// Both namespace runs start at once (each in its own namespace) to keep the file fast.
const runs = netnsAvailable()
  ? {
      main: runInNetns(process.execPath, ['--enable-source-maps', child], {
        env: { ...process.env, DRAYER_DISCOVERY_CHILD: 'main' },
        timeoutMs: 20_000,
      }),
      noroute: runInNetns(process.execPath, ['--enable-source-maps', child], {
        env: { ...process.env, DRAYER_DISCOVERY_CHILD: 'noroute' },
        timeoutMs: 15_000,
        multicastRoute: false,
      }),
      late: runInNetns(process.execPath, ['--enable-source-maps', child], {
        env: { ...process.env, DRAYER_DISCOVERY_CHILD: 'late' },
        timeoutMs: 30_000,
      }),
    }
  : null;

test('announces split into packets of at most 1200 bytes, every stream covered', () => {
  const nodeId = randomBytes(16);
  const streams = Array.from({ length: 120 }, (_, i) => ({ publicKey: randomBytes(32), mtip: 1_700_000_000_000_000 + i, name: `stream ${i} `.repeat(8) }));
  const { packets, covered } = buildAnnouncePackets(nodeId, { port: 8080, name: 'node', intervalMs: 30000, round: 7 }, streams);
  assert.equal(covered, 120);
  assert.ok(packets.length > 1);
  const seen: string[] = [];
  packets.forEach((p, i) => {
    assert.ok(p.length <= MAX_PACKET, `packet ${i} is ${p.length} bytes`);
    assert.deepEqual(p.subarray(0, 4), MAGIC);
    assert.deepEqual(p.subarray(4, 20), nodeId);
    const body = decode(p.subarray(20)) as { t: string; p: number; i: number; c: number; f: number; q: number; s: [Uint8Array, number, string?][] };
    assert.equal(body.t, 'a');
    assert.equal(body.p, 8080);
    assert.equal(body.i, i);
    assert.equal(body.c, packets.length);
    assert.equal(body.f, 1);
    assert.equal(body.q, 7);
    for (const [pk, , name] of body.s) {
      seen.push(Buffer.from(pk).toString('hex'));
      assert.ok(Buffer.byteLength(name!) <= 64);
    }
  });
  assert.deepEqual(
    seen,
    streams.map((s) => Buffer.from(s.publicKey).toString('hex')),
  );

  // beyond the part limit the packets cover a prefix and say they are not the full list
  const capped = buildAnnouncePackets(nodeId, { port: 8080, name: 'node', intervalMs: 30000, round: 8 }, streams, 2);
  assert.equal(capped.packets.length, 2);
  assert.ok(capped.covered < 120 && capped.covered > 0);
  assert.equal((decode(capped.packets[0].subarray(20)) as { f: number }).f, 0);

  // no streams: still one packet (the node itself is worth knowing)
  assert.equal(buildAnnouncePackets(nodeId, { port: 1, name: '', intervalMs: 1000, round: 0 }, []).packets.length, 1);
});

test("a peer's newer M-tips are no change of its holdings (Nearby rechecks none of its streams); new streams and names are", () => {
  const table = new PeerTable(16, 30_000);
  const [a, b] = [randomBytes(32), randomBytes(32)];
  const msg = (streams: { publicKey: Uint8Array; mtip: number; name?: string }[], name = 'laptop') => ({ t: 'a' as const, port: 8000, name, streams });
  const now = Date.now();
  assert.equal(table.announce(msg([{ publicKey: a, mtip: 1, name: 'A' }]), 'n1', '10.0.0.2', now).changed, true, 'a new peer');
  // a post: the same stream at a newer M-tip, again and again
  for (let m = 2; m < 6; m++) assert.equal(table.announce(msg([{ publicKey: a, mtip: m, name: 'A' }]), 'n1', '10.0.0.2', now + m).changed, false);
  assert.equal(table.peer('n1', '10.0.0.2', now + 10)!.streams[0]!.mtip, 5, 'the peer as it stands has the newest M-tip');
  assert.equal(table.announce(msg([{ publicKey: b, mtip: 1 }]), 'n1', '10.0.0.2', now + 20).changed, true, 'a stream more');
  assert.equal(table.announce(msg([{ publicKey: a, mtip: 6, name: 'A2' }]), 'n1', '10.0.0.2', now + 30).changed, true, 'a new name');
  assert.equal(table.announce(msg([{ publicKey: a, mtip: 6, name: 'A2' }], 'desk'), 'n1', '10.0.0.2', now + 40).changed, true, "the peer's name");
  assert.equal(table.peer('n2', '10.0.0.2', now), undefined);
});

test("Trickle: a mirror counts a whole interval's announcements, so the writer's, heard before its last periodic one, still spares it listing the stream", () => {
  const lan = new LanTips();
  const [mine, theirs] = [randomBytes(32), randomBytes(32)];
  const streams = [
    { publicKey: mine, mtip: 5, own: true },
    { publicKey: theirs, mtip: 7 },
  ];
  const counters = newDiscoveryStats();
  const sent: Uint8Array[] = [];
  const ours = new Ours({ httpPort: () => 8000, name: () => 'n', streams: () => streams }, () => {});
  const l = new Listings({ nodeId: randomBytes(16), intervalMs: 30_000, lan, counters, ours, send: (p) => sent.push(p) });
  l.send(true); // a full listing first (as at start)
  // its writer announced `theirs` at our M-tip a moment ago; then our periodic announcement goes out…
  lan.noteHeard(Buffer.from(theirs).toString('hex'), '10.0.0.9', 7, Date.now() - 50);
  l.send(false);
  assert.equal(counters.listedPeriodic, 0, 'the writer announced it this interval');
  // …and the next one, sooner than a whole interval later (periodic ones come every 3/4 to 1 interval)
  l.send(false);
  assert.equal(counters.listedPeriodic, 0, "the writer's announcement is within the last interval: still not listed");
  assert.equal(counters.suppressed, 2);
  assert.equal(sent.length, 3);
});

test("Trickle: when more mirrors than it remembers listed a stream, the writer's announcement of a new record still counts", () => {
  const lan = new LanTips();
  const theirs = randomBytes(32);
  const k = Buffer.from(theirs).toString('hex');
  const streams = [{ publicKey: theirs, mtip: 7 }];
  const counters = newDiscoveryStats();
  const ours = new Ours({ httpPort: () => 8000, name: () => 'n', streams: () => streams }, () => {});
  const l = new Listings({ nodeId: randomBytes(16), intervalMs: 30_000, lan, counters, ours, send: () => {} });
  l.send(true);
  // twelve mirrors listed it at the old M-tip (as all do while a LAN converges)…
  const now = Date.now();
  for (let i = 0; i < 12; i++) lan.noteHeard(k, `10.0.0.${10 + i}`, 6, now - 5000 + i);
  // …then its writer posts: a record packet at the new M-tip, which we pulled too
  lan.noteHeard(k, '10.0.0.2', 7, now - 100);
  assert.equal(lan.othersAt(k, 7, now - 30_000), 1, 'the writer is remembered');
  l.send(false);
  assert.equal(counters.listedPeriodic, 0, 'the writer announced our M-tip: we do not list it');
  assert.equal(counters.suppressed, 1);
  // a stale announcer does not push out a newer one
  for (let i = 0; i < 12; i++) lan.noteHeard(k, `10.0.1.${i}`, 5, now);
  assert.equal(lan.othersAt(k, 7, now - 30_000), 1, 'the writer is still remembered');
});

test('names are cut to 64 UTF-8 bytes without splitting characters, control characters removed', () => {
  assert.equal(cleanName('a\u0000b\nc'), 'ab c'); // controls go, a line break is a space (text.ts)
  const cut = cleanName('é'.repeat(40));
  assert.equal(cut, 'é'.repeat(32));
  assert.equal(cleanName('🙂'.repeat(20)), '🙂'.repeat(16));
  assert.equal(cleanName(new TextEncoder().encode('bytes')), 'bytes');
  assert.equal(cleanName(42), '');
});

test('a Discovery that was never started sends nothing and holds nothing', () => {
  assert.throws(() => new Discovery({ nodeId: randomBytes(8), httpPort: () => 1, name: () => '', streams: () => [] }), /16 bytes/);
  const d = new Discovery({ nodeId: randomBytes(16), httpPort: () => 1, name: () => '', streams: () => [] });
  d.announceNow();
  d.ask(randomBytes(32), 1);
  assert.deepEqual(d.peers(), []);
  assert.deepEqual(d.nearby(), []);
  assert.equal(d.stats().sent, 0);
});

function lastJson(stdout: string): { result: Record<string, any> } {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  assert.ok(line, `the child printed no result:\n${stdout}`);
  return JSON.parse(line);
}

function describe(r: { code: number | null; signal: string | null; stderr: string; timedOut: boolean }): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ', killed: did not exit on its own after stop()' : ''}\n${r.stderr}`;
}

test('discovery on a private network namespace: three nodes', { timeout: 30_000 }, async (t) => {
  if (!runs) {
    t.skip(NETNS_SKIP_REASON);
    return;
  }
  const run = await runs.main;
  // exiting with 0 on its own proves stop() released every handle
  assert.equal(run.code, 0, describe(run));
  const r = lastJson(run.stdout).result;
  const show = JSON.stringify(r, null, 1);

  await t.test('start announces introduce everyone; nobody lists itself', () => {
    assert.ok(r.initialDiscoveryMs !== null && r.initialDiscoveryMs < 1000, show);
    assert.equal(r.selfInPeers, false);
    assert.deepEqual(r.peerNames, ['B', 'C']);
    assert.deepEqual(r.peerPorts, [8002, 8003]);
    assert.equal(r.peerAddress, '127.0.0.1');
  });

  await t.test('announceNow after a change: peer and stream events within 1 s', () => {
    for (const k of ['peerB', 'peerC', 'streamB']) assert.ok(r.announce[k] !== null && r.announce[k] < 1000, `${k}: ${show}`);
    assert.deepEqual(r.nearby, { name: 'alpha', mtip: true, peers: ['A:8001'] });
  });

  await t.test('a signed record announcement reaches the others within 1 s, with its value when it fits, else without', () => {
    assert.ok(r.record.B !== null && r.record.B < 1000, show);
    assert.ok(r.record.C !== null && r.record.C < 1000, show);
    assert.ok(r.recordBig !== null && r.recordBig < 1000, show);
  });

  await t.test('forged record announcements emit nothing', () => {
    assert.deepEqual(r.forged.recordEvents, [0, 0, 0]);
    assert.deepEqual(r.forged.invalidDelta, [r.forged.sent, r.forged.sent, r.forged.sent]);
  });

  await t.test('garbage, wrong magic and oversized packets are dropped and counted', () => {
    const n = r.garbage.sent;
    assert.deepEqual(r.garbage.droppedDelta, [n, n, n]);
    assert.deepEqual(r.garbage.oversize, [1, 1, 1]);
    assert.deepEqual(r.garbage.peerEvents, [0, 0, 0]);
    assert.equal(r.garbage.evilKnown, false);
  });

  await t.test('ask: only the node with a newer M-tip answers', () => {
    assert.ok(r.ask.answerFromB !== null && r.ask.answerFromB < 1000, show);
    assert.ok(r.ask.askSeenByA !== null && r.ask.askSeenByB !== null, show);
    assert.equal(r.ask.answersFromA, 0);
    assert.equal(r.ask.answersToNewerAsk, 0);
  });

  await t.test('a silent peer expires after 3 missed announce intervals', () => {
    assert.ok(r.dSeen !== null, show);
    // D announced every 300 ms: gone after 3 x 300 ms + 500 ms slack, not before 900 ms
    assert.ok(r.dExpiredMs !== null && r.dExpiredMs >= 800 && r.dExpiredMs <= 2500, show);
  });

  await t.test('a node that stops says goodbye: dropped at once (not after its 3-minute expiry), with a peerLost event', () => {
    assert.ok(r.gSeen !== null, show);
    assert.ok(r.goodbyeMs !== null && r.goodbyeMs < 1000, show);
    assert.equal(r.goodbyeLostEvent, true, show);
  });

  await t.test('the peers map is bounded; the stalest peer is evicted', () => {
    assert.deepEqual(r.cap, { count: 3, hasNewest: true, hasOldest: false });
  });

  await t.test('a flood from one address is rate-limited (burst 20, 10/s)', () => {
    for (let i = 0; i < 3; i++) {
      assert.ok(r.flood.rateLimitedDelta[i] >= 250, show);
      assert.ok(r.flood.receivedDelta[i] <= 20 + Math.ceil(r.flood.ms / 100) + 1, show);
    }
  });

  await t.test('own packets are ignored', () => {
    for (const n of r.own.ownCounted) assert.ok(n >= 1, show);
    assert.equal(r.own.ownRecordEvents, 0);
    assert.deepEqual(r.own.ownPeerEvents, [0, 0, 0]);
    assert.deepEqual(r.warnings, []);
  });
});

test('discovery without a multicast route warns, keeps running, and recovers when the route appears', { timeout: 30_000 }, async (t) => {
  if (!runs) {
    t.skip(NETNS_SKIP_REASON);
    return;
  }
  const run = await runs.noroute;
  assert.equal(run.code, 0, describe(run));
  const r = lastJson(run.stdout).result;
  assert.equal(r.started, true);
  assert.deepEqual(r.threw, []);
  const codes = r.warnings.map((w: { code?: string }) => w.code);
  assert.ok(codes.includes('ENODEV') || codes.includes('ENETUNREACH') || codes.includes('EPERM'), JSON.stringify(r.warnings));
  assert.equal(r.before.peers, 0);
  assert.ok(r.recoveredMs !== null, `no recovery after the route appeared: ${JSON.stringify(r)}`);
});

// Issue 8: a node that started learned of the nodes already on the LAN only at their next
// periodic announcement (30 s); nothing was in "nearby" after 5 s.
test('a late starter sees an earlier node and its streams in nearby within 2 s', { timeout: 40_000 }, async (t) => {
  if (!runs) {
    t.skip(NETNS_SKIP_REASON);
    return;
  }
  const run = await runs.late;
  assert.equal(run.code, 0, describe(run));
  const r = lastJson(run.stdout).result;
  t.diagnostic(
    `late starter: node started in ${r.startedMs} ms; the earlier node's stream was in nearby ${r.nearbyMs} ms after the start call (${r.sinceStartedMs} ms after start resolved)`,
  );
  assert.ok(r.seen, `the earlier node never showed up in nearby: ${JSON.stringify(r)}`);
  assert.ok(r.nearbyMs <= 2000, JSON.stringify(r));
});

test('hellos: answered promptly, a flood of them answered at most about once a second; an address change asks again', { timeout: 60_000 }, async (t) => {
  if (!runs) {
    t.skip(NETNS_SKIP_REASON);
    return;
  }
  await runs.late; // the namespaces are independent; this only spares the 2 cores
  const run = await runInNetns(process.execPath, ['--enable-source-maps', child], {
    env: { ...process.env, DRAYER_DISCOVERY_CHILD: 'hello' },
    timeoutMs: 45_000,
  });
  assert.equal(run.code, 0, describe(run));
  const r = lastJson(run.stdout).result;
  const show = JSON.stringify(r, null, 1);

  await t.test('one hello: one announcement (one round), within about a second', () => {
    assert.ok(r.single.firstAnswerMs !== null && r.single.firstAnswerMs <= 1200, show);
    assert.equal(r.single.answerRounds, 1, show);
  });

  await t.test('a flood of hellos from 40 addresses: at most one answer per second', () => {
    // many were accepted (the receive limits did not hide them) ...
    assert.ok(r.flood.hellosAccepted >= 100, show);
    // ... yet answered at most once a second over the whole window (plus the first)
    assert.ok(r.flood.answerRounds >= 1, show);
    assert.ok(r.flood.answerRounds <= 1 + Math.ceil(r.flood.windowMs / 1000), show);
    assert.ok(r.flood.minGapMs === null || r.flood.minGapMs >= 900, show);
  });

  await t.test('a node whose addresses change says hello again', () => {
    assert.ok(r.networkChange.helloAfterChangeMs !== null && r.networkChange.helloAfterChangeMs <= 6000, show);
  });

  assert.deepEqual(r.warnings, [], show);
  t.diagnostic(
    `one hello answered after ${r.single.firstAnswerMs} ms; ${r.flood.sent} hellos in ${r.flood.floodMs} ms (${r.flood.hellosAccepted} accepted) were answered by ${r.flood.answerRounds} announcements (${r.flood.answerPackets} packets, closest ${r.flood.minGapMs} ms apart); hello ${r.networkChange.helloAfterChangeMs} ms after an address appeared`,
  );
});

// Issue 7: a 10 s flood injected 133 fake peers and 702 fake nearby streams, kept for up to 3 h,
// wrote them into library.db and forced pulls past the backoff. The child runs a real node and
// floods it from a separate sender process (its own HTTP server answers pulls with empty pages).
test('a discovery flood: bounded peers and streams, capped intervals, nothing unverified in library.db, few pulls', { timeout: 120_000 }, async (t) => {
  if (!runs) {
    t.skip(NETNS_SKIP_REASON);
    return;
  }
  await Promise.all([runs.main, runs.noroute, runs.late]); // alone: the CPU it costs is measured
  const run = await runInNetns(process.execPath, ['--enable-source-maps', '--expose-gc', child], {
    env: { ...process.env, DRAYER_DISCOVERY_CHILD: 'flood' },
    timeoutMs: 90_000,
  });
  assert.equal(run.code, 0, describe(run));
  const r = lastJson(run.stdout).result;
  const show = JSON.stringify(r, null, 1);
  // the window in which a token bucket refills: from the first packet until the pulls ended
  const window = (phase: { sender: { ms: number } }): number => (phase.sender.ms + 1000) / 1000;

  // the pulls announcements may start: app/node/scheduler.ts's token buckets (issue 17 raised them so
  // that a LAN where everyone posts at once is not held back), per address and in all
  const perAddress = ANNOUNCED_PULLS_PER_ADDRESS;
  const overall = ANNOUNCED_PULLS;
  await t.test(`from one address: at most 64 peers and 512 stream entries, ${perAddress.burst} + ${perAddress.perSecond} per s pulls`, () => {
    assert.ok(r.one.sender.sent >= r.seconds * r.rate * 0.9, show);
    assert.ok(r.one.peers <= 64, show);
    assert.ok(r.one.nearbyEntries <= 512, show);
    assert.ok(r.one.pulls <= perAddress.burst + Math.ceil(perAddress.perSecond * window(r.one)), show);
  });

  await t.test(`from 40 addresses: at most 256 peers and 4096 stream entries, ${overall.burst} + ${overall.perSecond} per s pulls`, () => {
    assert.ok(r.many.peers <= 256, show);
    assert.ok(r.many.nearbyEntries <= 4096, show);
    assert.ok(r.many.pulls <= overall.burst + Math.ceil(overall.perSecond * window(r.many)), show);
  });

  await t.test('a sync asked for then tries the author and at most 4 of the peers only heard of', () => {
    assert.ok(r.syncNowPulls >= 1 && r.syncNowPulls <= 5, show);
  });

  await t.test('library.db holds only the configured source and the peer that served verified records', () => {
    // the mirror is there only if the follower pulled from it (a short post comes in the packet itself)
    for (const k of ['peers', 'cursors'])
      assert.ok(r.library[k].includes('author') && r.library[k].every((p: string) => p === 'author' || p === 'mirror'), show);
    assert.ok(r.mirrorPullMs !== null, `a genuine announcement no longer reached the follower: ${show}`);
  });

  await t.test('an announced interval of 1 h is capped: seven minutes later nothing is left', () => {
    assert.deepEqual(r.later, { peers: 0, nearby: 0 }, show);
  });

  for (const [name, p] of [
    ['one address', r.one],
    ['40 addresses', r.many],
  ] as const) {
    t.diagnostic(
      `flood from ${name}: ${p.sender.sent} packets in ${p.sender.ms} ms cost the node ${p.cpuMs} ms CPU, RSS ${p.rssBeforeMB} -> max ${p.rssMaxMB} MB; ${p.peers} peers, ${p.nearbyEntries} stream entries, ${p.pulls} pulls held`,
    );
  }
  t.diagnostic(`a genuine mirror's announcement was pulled in ${r.mirrorPullMs} ms after the flood`);
});
