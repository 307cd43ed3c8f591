// Three real `drayer serve` processes on one LAN, inside a private network namespace so
// multicast never leaves the machine (DESIGN §7). The work happens in fixtures/lan-child.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lan-child.js');

test('three nodes on a LAN: multicast-driven sync, a mirror in the path, convergence, phone view', async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const r = await runInNetns(process.execPath, ['--enable-source-maps', child], {
    env: { ...process.env, DRAYER_LAN_CHILD: '1' },
    timeoutMs: 90_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let out: Record<string, any>;
  try {
    out = JSON.parse(line);
  } catch {
    assert.fail(`child printed no result (code ${r.code}, timed out ${r.timedOut}):\n${r.stdout}\n${r.stderr}`);
  }
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
