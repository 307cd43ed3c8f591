// LAN push both ways with the real original Drayer (issue 20.5): its source at $DRAYER_ORIGINAL_SRC
// (a checkout of EternityForest/drayer; Debian's python3-libnacl, -cherrypy3, -msgpack, -requests),
// run ONLY in a private network namespace (importing it binds UDP 15723 and multicasts). The work is
// in fixtures/original-lan-child.ts. Skipped, saying why, where the source or a namespace is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsAvailable, NETNS_SKIP_REASON, netnsChildResult } from './netns.js';

const SRC = process.env.DRAYER_ORIGINAL_SRC;
const skip = !SRC ? 'DRAYER_ORIGINAL_SRC is not set (a checkout of the original Python Drayer)' : !netnsAvailable() ? NETNS_SKIP_REASON : false;

test('the real original on our LAN: its post reaches our follower at once, ours reaches it, it shows in Nearby', { skip, timeout: 180_000 }, async (t) => {
  const out = await netnsChildResult<Record<string, any>>('original-lan-child', { DRAYER_ORIGINAL_LAN_CHILD: '1' }, 150_000);
  t.diagnostic(`an original's post reached our follower in ${out.originalPostMs} ms; ours reached an original in ${out.ourPostMs} ms`);
  assert.equal(out.ok, true, out.error);
  assert.equal(out.followRecords, 3);
  // without a scheduled round (autoSync off), only the original's record packet can make F pull
  assert.equal(out.originalPostReached, true, JSON.stringify(out.fStats));
  assert.ok(out.originalPostMs < 3000, `an original's post reached our follower in ${out.originalPostMs} ms (goal: a couple of seconds)`);
  assert.ok(out.fStats.originalVerified >= 1, 'its record announcement verified');
  // Nearby: G (following nothing) shows the stream, proved by the original node and named by its key
  assert.equal(out.nearbyAtG, true);
  assert.equal(out.nearbyName, out.nearbyKeyName);
  assert.deepEqual(out.nearbyPeers, [{ address: '127.0.0.1', port: 33125, name: 'original Drayer' }]);
  assert.deepEqual(out.nearbyAtF, [{ address: '127.0.0.1', port: 33125, name: 'original Drayer' }]);
  // ours to an original following our stream (it polls only every 2 h: only our packet makes it pull)
  assert.equal(out.heardOriginalFollow, true);
  assert.equal(out.ourPostReached, true, `${JSON.stringify(out.fStatsAfter)}\n${out.originalLogs}`);
  assert.ok(out.ourPostMs < 3000, `our post reached the original in ${out.ourPostMs} ms`);
  assert.ok(out.fStatsAfter.originalSent >= 1);
});
