// Issue 17, "a busy LAN must cost little": discovery's multicast grows linearly with the nodes
// (not N²), one post is one record packet on the LAN (not one per mirror), more than 8 nodes
// behind one address all show, and a host making up node ids by the thousand pushes out no
// honest peer. Everything that multicasts runs in test/fixtures/lan-scale-child.ts inside a
// private network namespace (test/netns.ts); figures are counted on the wire, not timed.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'lan-scale-child.js');

async function run(scenario: string, timeoutMs: number): Promise<Record<string, any>> {
  const r = await runInNetns(process.execPath, ['--enable-source-maps', child], { env: { ...process.env, DRAYER_LAN_SCALE_CHILD: scenario }, timeoutMs });
  assert.equal(r.code, 0, `exit ${r.code}${r.timedOut ? ' (killed)' : ''}\n${r.stderr}`);
  const line = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  assert.ok(line, r.stdout);
  return JSON.parse(line).result;
}

test('idle announcements grow linearly with the nodes; Nearby still knows every holder; a newcomer learns them at once', { timeout: 120_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const r = await run('idle', 100_000);
  const show = JSON.stringify(r, null, 1);
  t.diagnostic(show);
  const [small, big] = r.runs as Record<string, any>[];
  for (const x of [small!, big!]) {
    assert.ok(x.settledMs !== null, `the nodes never all saw each other: ${show}`);
    // every node writes one stream and mirrors the N-1 others: N² entries if all listed all
    assert.ok(x.entriesPerInterval <= 4 * x.n, `${x.entriesPerInterval} stream entries an interval for ${x.n} nodes (N² = ${x.n * x.n}): ${show}`);
    assert.ok(x.announcePacketsPerInterval <= 2 * x.n, show);
    assert.equal(x.streamsSeen, x.n, show);
    assert.equal(x.holdersSeen, x.n - 1, `Nearby lost holders of a stream that others announce: ${show}`);
    assert.ok(x.newcomerMs !== null && x.newcomerMs <= 3000, `a newcomer did not learn every holder within 3 s: ${show}`);
    // all post at once: one record packet each, and the intervals after stay linear too
    assert.equal(x.afterPosts.recordPackets, x.n, show);
    assert.ok(x.afterPosts.entriesPerInterval <= 4 * x.n, `after the posts: ${x.afterPosts.entriesPerInterval} entries an interval for ${x.n} nodes: ${show}`);
  }
  // doubling the nodes about doubles the bytes (N² would make it four times)
  const exponent = Math.log(big!.bytesPerInterval / small!.bytesPerInterval) / Math.log(big!.n / small!.n);
  t.diagnostic(
    `multicast bytes an interval: ${small!.bytesPerInterval} B for ${small!.n} nodes, ${big!.bytesPerInterval} B for ${big!.n}: exponent ${exponent.toFixed(2)}`,
  );
  assert.ok(exponent < 1.5, `bytes grow as N^${exponent.toFixed(2)}: ${show}`);
});

test('one post is one record packet on the LAN, whether the writer is on it or a mirror brought it from outside', { timeout: 90_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const r = await run('records', 80_000);
  const show = JSON.stringify(r, null, 1);
  t.diagnostic(show);
  assert.equal(r.onLan.mirrorsWithPost, 4, show);
  assert.equal(r.onLan.recordPackets, 1, `mirrors re-announced the writer's post: ${show}`);
  assert.equal(r.offLan.mirrorsWithPost, 4, show);
  assert.equal(r.offLan.recordPackets, 1, `the mirror that brought it should announce it, the others not: ${show}`);
});

test('fourteen nodes behind one address all show; a flood of made-up node ids from eight addresses pushes none out', { timeout: 90_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const r = await run('crowd', 80_000);
  const show = JSON.stringify(r, null, 1);
  t.diagnostic(show);
  assert.ok(r.allSeenMs !== null, `not every honest node showed: ${show}`);
  assert.equal(r.behindOneAddress, 14, show);
  assert.equal(r.nearbyStreams, r.honest, show);
  assert.ok(r.flood.sent >= 3000, show);
  assert.equal(r.flood.minHonestPresent, r.honest, `an honest peer was pushed out during the flood: ${show}`);
  assert.equal(r.flood.nearbyHonestStreams, r.honest, show);
  assert.ok(r.flood.maxPeers <= 256 && r.flood.peersAfter <= 256, show);
  assert.ok(r.flood.mostFromOneHostileAddress <= 64, show);
  assert.ok(r.flood.peersAfter > r.honest + 100, `the flood did not reach the table (nothing was tested): ${show}`);
});

test("Trickle's repairs: a lost full listing is asked of its node alone; an older M-tip heard is answered within a second", { timeout: 60_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const r = await run('repair', 50_000);
  const show = JSON.stringify(r, null, 1);
  t.diagnostic(show);
  assert.ok(r.seenMs !== null, show);
  assert.ok(r.lostListing.askedMs !== null, `the receiver never asked for the listing it lacks: ${show}`);
  assert.equal(r.lostListing.targetedHellos, 1, show);
  assert.ok(r.lostListing.fullListingMs !== null && r.lostListing.fullListingMs <= 3000, show);
  assert.equal(r.lostListing.othersAnswered, 0, `a targeted hello was answered by another node: ${show}`);
  assert.equal(r.lostListing.stillHoldsTwo, true, show);
  assert.ok(r.olderTip.announcedMs !== null && r.olderTip.announcedMs <= 1500, `an older M-tip heard was not answered soon: ${show}`);
  assert.equal(r.olderTip.packets, 1, show);
  assert.equal(r.olderTip.afterSameTip, 0, show);
});

test(
  'a stream followed goes out alone with the new holdings digest and is taken in without a full listing; one let go of sends a full listing',
  { timeout: 60_000 },
  async (t) => {
    if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
    const r = await run('delta', 50_000);
    const show = JSON.stringify(r, null, 1);
    t.diagnostic(show);
    assert.ok(r.seenMs !== null, show);
    assert.ok(r.added.heldMs !== null, `the receiver never learned the stream added: ${show}`);
    // one packet naming the new stream alone (a full listing of all three before)
    assert.deepEqual(
      r.added.packets.map((p: { full: boolean; keys: number }) => [p.full, p.keys]),
      [[false, 1]],
      `a holdings change went out as more than the stream added: ${show}`,
    );
    assert.equal(r.added.fullAsks, 0, `the receiver asked for a full listing although the digest matched: ${show}`);
    assert.equal(r.added.stillHolds, true, show);
    assert.ok(r.removed.goneMs !== null, `the stream let go of still shows: ${show}`);
    assert.ok(
      r.removed.packets.some((p: { full: boolean; keys: number }) => p.full && p.keys === 2),
      `a stream let go of should send a full listing: ${show}`,
    );
    assert.equal(r.removed.stillHolds, true, show);
  },
);
