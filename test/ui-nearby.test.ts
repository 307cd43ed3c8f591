// Journey 3 of the desktop UI (follow: Nearby, partial follows, key words, progress, errors,
// unfollow) with three real nodes that have discovery on and a real Chromium, all inside a
// private network namespace so the multicast never leaves it (DESIGN §7). The work happens in
// fixtures/ui-nearby-child.ts; this file reports each of its checks as a subtest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';
import { childChecks } from './netns-ui-child.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ui-nearby-child.js');

test(
  'follow journey on a LAN in a private namespace: nearby, one-click follow with progress, partial, words, errors, unfollow',
  { timeout: 300_000 },
  async (t) => {
    if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
    const out = await childChecks<{ timings: Record<string, number> }>(t, child, 10, 280_000);
    t.diagnostic(`timings: ${JSON.stringify(out.timings)}`);
    assert.ok(out.timings.nearbyVisibleMs! < 5000, `Nearby showed the other computer's stream in ${out.timings.nearbyVisibleMs} ms`);
  },
);
