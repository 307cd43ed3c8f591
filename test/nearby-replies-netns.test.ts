// Issue 21: a thread opened here asks the computers nearby for replies in streams this node does
// not hold. Real nodes found over real multicast in a private network namespace
// (fixtures/nearby-replies-child.ts), beside five hostile servers that Nearby knows too.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';
import { childJson } from './netns-ui-child.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'nearby-replies-child.js');

test(
  "a thread's replies in streams seen nearby: the real node's, verified and marked; hostile ones give nothing and stall nothing",
  { timeout: 90_000 },
  async (t) => {
    if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
    const out = await childJson<{ ok: boolean; error?: string; result: any }>(child, {
      env: { ...process.env, DRAYER_NEARBY_REPLIES_CHILD: '1' },
      timeoutMs: 60_000,
    });
    assert.equal(out.ok, true, out.error);
    const r = out.result;
    const show = JSON.stringify(r, null, 1);
    t.diagnostic(show);
    assert.deepEqual(
      r.replies.map((x: { key: string; depth: number; streamKey: string; unfollowed: boolean; nearby: boolean }) => [
        x.key,
        x.depth,
        x.streamKey,
        x.unfollowed,
        x.nearby,
      ]),
      [
        [r.expected.r1, 0, r.expected.sb, true, true],
        [r.expected.r2, 1, r.expected.sb, true, true],
      ],
      show,
    );
    assert.ok(!show.includes('secret yes'), 'a private stream’s reply was answered');
    assert.equal(r.replies[0].streamName, 'Bo — جار', 'named by its signed info, as Nearby names it');
    // the silent server is cut at 2 s; the others answer at once
    assert.ok(r.askMs <= 3000, `asking took ${r.askMs} ms: ${show}`);
    assert.ok(r.cachedMs <= 100 && r.againSame, `asked again at once: ${show}`);
    for (const [name, n] of Object.entries(r.asked)) assert.equal(n, 1, `${name} asked ${n} times (the answer is cached)`);
    assert.equal(r.afterHold, 0, 'a stream held now is the thread’s own, not asked for');
    assert.deepEqual(r.threadAfterHold, [
      [r.expected.r1, true],
      [r.expected.r2, true],
    ]);
  },
);
