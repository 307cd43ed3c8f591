// Nearby where our multicast group is filtered (issue 18): mDNS / DNS-SD beside it, listings over
// HTTP, computers added by address. The nodes run in a private network namespace whose nftables
// rule drops our group (test/fixtures/mdns-child.ts); the address parsing runs here.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAddress } from '../app/node/presence-mdns.js';
import { netnsFixtureResult } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'mdns-child.js');

const inNetns = (t: { skip(why: string): void }, file: string) => netnsFixtureResult(t, file, { DRAYER_MDNS_CHILD: '1' });

test('an address typed into Nearby: host:port, [v6]:port or a URL; anything else is a clear error', () => {
  assert.deepEqual(parseAddress('192.168.1.20:4657'), { host: '192.168.1.20', port: 4657 });
  assert.deepEqual(parseAddress(' http://laptop.local:4657/some/page '), { host: 'laptop.local', port: 4657 });
  assert.deepEqual(parseAddress('[fe80::1]:80'), { host: 'fe80::1', port: 80 });
  assert.throws(() => parseAddress('192.168.1.20'), /port is missing.*for example 192\.168\.1\.20:4657/);
  assert.throws(() => parseAddress(''), /empty/);
  assert.throws(() => parseAddress('ftp://x:21'), /plain http/);
  assert.deepEqual(parseAddress('http://nas.local/'), { host: 'nas.local', port: 80 });
  assert.throws(() => parseAddress('a b c'), /not an address/);
  assert.throws(() => parseAddress('x'.repeat(400)), /too long/);
});

test(
  'our group dropped by nftables: two nodes find each other over mDNS within 3 s, one follows the other from Nearby; hostile mDNS costs bounded work',
  { timeout: 120_000 },
  async (t) => {
    const r = await inNetns(t, child);
    if (!r) return;
    const show = JSON.stringify(r, null, 1);
    t.diagnostic(show);
    // nothing came through our group: what was found, was found over mDNS
    assert.equal(r.statsA.discovery.received, 0, show);
    assert.equal(r.statsB.discovery.received, 0, show);
    assert.ok(r.bSeesA && r.bSeesA.ms <= 3000, `B lists A's stream within 3 s of starting: ${show}`);
    assert.ok(r.aSeesB && r.aSeesB.ms <= 3000, `A lists B's stream within 3 s of B starting: ${show}`);
    assert.equal(r.bSeesA.name, 'Alice \u062f\u0631\u0627\u064a\u0631 notes', show);
    assert.equal(r.bSeesA.peers, 1, `A is one peer, not one per way it was found: ${show}`);
    assert.deepEqual(r.followed, ['Hello'], show);
    assert.ok(r.newPostMs !== null && r.newPostMs <= 5000, `a new post reached the follower within 5 s, not at a refresh: ${show}`);
    // the flood: made-up nodes and junk are rate limited, never shown; the API stays prompt
    assert.ok(r.flood.sent >= 1000, show);
    assert.ok(r.statsA.mdns.rateLimited > 0, show);
    assert.ok(r.statsA.mdns.found < 200, `made-up nodes taken in are bounded by the rate limit: ${show}`);
    assert.ok(r.flood.maxApiMs < 1000, show);
    assert.deepEqual(r.afterFlood.shown, ['Bob'], `only the real node's stream shows: ${show}`);
    assert.ok(r.flood.listingRequests >= 1 && r.flood.listingRequests <= 2, `the hostile listing was read once by each node: ${show}`);
    assert.ok(r.flood.otherRequests <= 8, `its 512 streams kept cost a few failed checks, not one each: ${show}`);
    assert.ok(r.afterFlood.evilStreams <= 512, `what one address lists is bounded: ${show}`);
    // Nearby by address, on a node that takes part in no multicast at all
    assert.match(r.badAddress, /not an address/);
    assert.match(r.noPort, /port is missing/);
    assert.match(r.refused, /Could not read what 127\.0\.0\.1:1 shares: nothing listens at that port/);
    assert.equal(r.added.streams, 1, show);
    assert.equal(r.cSeesA, 'Alice \u062f\u0631\u0627\u064a\u0631 notes', show);
    assert.ok(r.goneMs !== null && r.goneMs <= 1500, `A's goodbye took it out of B's Nearby: ${show}`);
  },
);

test(
  'our group dropped: a stream announced privately is found by a follower that knows only its key, through the sealed listing at /; strangers see nothing of it',
  { timeout: 120_000 },
  async (t) => {
    const r = await inNetns(t, path.join(here, 'fixtures', 'mdns-private-child.js'));
    if (!r) return;
    const show = JSON.stringify(r, null, 1);
    t.diagnostic(show);
    assert.equal(r.receivedA, 0, `nothing came through our group: ${show}`);
    assert.equal(r.receivedB, 0, show);
    assert.ok(r.listingReadMs !== null, show);
    assert.deepEqual(r.listingLeaks, [], `the listing names neither the private key nor its name: ${show}`);
    assert.equal(r.sealedPackets, 1, show);
    assert.deepEqual(r.followed, ['Hidden hello'], show);
    assert.ok(r.followMs <= 3000, `followed by key and synced at once, not at a refresh: ${show}`);
    assert.ok(r.newPostMs !== null && r.newPostMs <= 5000, `a new private post reached the follower within 5 s: ${show}`);
    assert.deepEqual(r.strangerSees, ['Open notes'], `a stranger's Nearby shows the public stream only: ${show}`);
  },
);
