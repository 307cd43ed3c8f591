// Nearby on a network that hides other computers (issue 18): what to try, and a computer added by
// its address, in a real Chromium against real nodes inside a private network namespace
// (fixtures/ui-nearby-add-child.ts). Each of the child's checks is a subtest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ui-nearby-add-child.js');

test('Nearby finds nobody: tips, add a computer by address (errors kept in words), then follow its stream', { timeout: 240_000 }, async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const r = await runInNetns(process.execPath, ['--enable-source-maps', child], { timeoutMs: 220_000 });
  const line =
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '';
  let out: { ok: boolean; error?: string; checks: Record<string, string> };
  try {
    out = JSON.parse(line);
  } catch {
    assert.fail(`the child printed no result (code ${r.code}, timed out ${r.timedOut}):\n${r.stdout}\n${r.stderr}`);
  }
  for (const [name, result] of Object.entries(out.checks)) {
    await t.test(name, () => {
      if (result !== 'ok') assert.fail(result);
    });
  }
  assert.equal(out.error, undefined, out.error);
  assert.ok(Object.keys(out.checks).length >= 7, `every check ran: ${Object.keys(out.checks).join(', ')}`);
});
