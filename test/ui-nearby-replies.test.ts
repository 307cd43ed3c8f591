// Issue 21 in a real Chromium: a reply in a stream seen nearby but not held, and "Keep a copy"
// beside "Follow" on the thread, the stream page and Nearby; real nodes inside a private network
// namespace (fixtures/ui-nearby-replies-child.ts). Each of the child's checks is a subtest.
import { test } from 'node:test';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';
import { childChecks } from './netns-ui-child.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ui-nearby-replies-child.js');

test('replies seen nearby and Keep a copy: thread, stream page, Nearby, in four looks', { timeout: 240_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  await childChecks(t, child, 12);
});
