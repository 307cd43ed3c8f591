// A private stream on a LAN with discovery on (DESIGN §8), inside a private network namespace so
// multicast never leaves the machine: no discovery packet of either node holds its plaintext,
// while the same capture finds a public stream's short post, which announcements carry whole.
// The work happens in fixtures/private-lan-child.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsAvailable, NETNS_SKIP_REASON, netnsChildResult } from './netns.js';

test("a private stream's posts, edits and name never ride in a discovery packet; a public one's short post does", async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const run = await netnsChildResult<{
    ok: boolean;
    error?: string;
    result: { packets: number; secretsFound: string[]; publicFound: string[]; bTitles: string[] };
  }>('private-lan-child', { DRAYER_PRIVATE_LAN_CHILD: '1' }, 60_000);
  assert.equal(run.ok, true, run.error);
  const out = run.result;
  assert.ok(out.packets > 5, `packets captured: ${out.packets}`);
  assert.deepEqual(out.publicFound, ['OPEN-TITLE', 'OPEN-BODY'], 'the capture sees what announcements carry (the control)');
  assert.deepEqual(out.secretsFound, [], 'no secret in any packet');
  assert.deepEqual(out.bTitles, ['OPEN-TITLE', 'QUOKKA-EDIT'], 'the reader got the posts');
});
