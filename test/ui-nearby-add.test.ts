// Nearby on a network that hides other computers (issue 18): what to try, and a computer added by
// its address, in a real Chromium against real nodes inside a private network namespace
// (fixtures/ui-nearby-add-child.ts). Each of the child's checks is a subtest.
import { test } from 'node:test';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';
import { childChecks } from './netns-ui-child.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ui-nearby-add-child.js');

test('Nearby finds nobody: tips, add a computer by address (errors kept in words), then follow its stream', { timeout: 240_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  await childChecks(t, child, 7);
});
