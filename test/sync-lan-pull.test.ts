// A busy LAN must cost little (issue 17): a node pulls a followed stream from LAN holders only
// when one announces a newer tip (or the slow safety net is due), from one holder, not all; and a
// follow goes on from holder to holder until one gives the stream. Real multicast in a private
// network namespace (test/fixtures/lan-pull-child.ts); pulls counted at the serving side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsAvailable, NETNS_SKIP_REASON, netnsChildResult } from './netns.js';

test('LAN holders: an idle round asks no one, a newer tip one holder, the safety net one; a post announced by three is pulled once; a follow skips holders that have nothing, and moves on from a busy one', async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const out = await netnsChildResult<{ ok: boolean; error?: string; result: Record<string, any> }>('lan-pull-child', { DRAYER_LAN_PULL_CHILD: '1' }, 120_000);
  assert.equal(out.ok, true, out.error);
  const o = out.result;
  t.diagnostic(JSON.stringify(o));
  assert.equal(o.heardW, true, 'the follower heard the three holders');
  assert.equal(o.followRecords, 4, 'the follow brought the stream');
  assert.equal(
    o.followPulls.reduce((a: number, b: number) => a + b, 0),
    1,
    `a follow asks one holder when it has everything announced: ${o.followPulls}`,
  );
  assert.equal(o.idlePulls, 0, 'three idle rounds with equal tips ask no holder');
  assert.equal(o.heardNewer, true);
  assert.equal(o.roundPulls, 1, 'a newer tip: one pull from one holder');
  assert.equal(o.roundGot, true, 'and it brought the new post');
  assert.equal(o.afterRoundPulls, 0, 'then nothing again');
  assert.equal(o.safetyPulls, 1, 'the safety net asks one holder');
  assert.equal(o.afterSafetyPulls, 0, 'and is not due again at once');
  assert.equal(o.hintGot, true, 'a post announced by three holders arrives');
  assert.equal(o.hintPulls, 1, 'pulled once, from one of them');
  assert.equal(o.heardV, true, `the follower heard every holder of V1, V2 and V3: ${o.heardVCount}`);
  assert.deepEqual(o.followV, [3, 3, 3], 'each follow among 17 holders with nothing brought the stream');
  assert.equal(o.followVGoodPulls, 3, 'one pull each from the holder that has it');
  assert.equal(o.heardX, true, 'the follower heard both holders of X');
  assert.equal(o.followX, 3, `a follow whose first holder is busy (Retry-After 30 s) got the stream from the other: ${o.followX}`);
  assert.ok(o.followXMs < 5000, `at once, not after the busy one's wait: ${o.followXMs} ms`);
  assert.equal(o.followXBusyAsked, 1, 'the busy holder was asked once, then left for the other');
  assert.equal(o.followXGoodPulls, 1);
});
