// Three real `drayer serve` processes on one LAN, inside a private network namespace so
// multicast never leaves the machine (DESIGN §7). The work happens in fixtures/lan-child.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsAvailable, NETNS_SKIP_REASON, netnsChildResult } from './netns.js';

test('three nodes on a LAN: multicast-driven sync, a mirror in the path, convergence, phone view', async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const out = await netnsChildResult<Record<string, any>>('lan-child', { DRAYER_LAN_CHILD: '1' }, 90_000);
  assert.equal(out.ok, true, out.error);
  assert.deepEqual(out.bFollowed, ['one|first']);
  assert.ok(out.multicastLatencyMs < 1000, `a post reached B in ${out.multicastLatencyMs} ms (goal < 1000)`);
  assert.deepEqual(out.cFollowed, ['one|first', 'two|second']);
  assert.deepEqual(out.want, ['one|edited']);
  assert.deepEqual(out.cAfter, out.want);
  assert.equal(out.siteStatus, 200);
  assert.match(out.siteType, /text\/html/);
  assert.match(out.siteBody, /Hello from Alice/);
  assert.equal(out.generatedStatus, 200);
  assert.match(out.generatedBody, /Bob says &lt;hi&gt;/);
  assert.match(out.mirrorSite, /Hello from Alice/);
  assert.deepEqual(out.exitCodes, [0, 0, 0]);
  t.diagnostic(`multicast post-to-follower latency: ${out.multicastLatencyMs} ms`);
});
