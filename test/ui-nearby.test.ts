// Journey 3 of the desktop UI (follow: Nearby, partial follows, key words, progress, errors,
// unfollow) with three real nodes that have discovery on and a real Chromium, all inside a
// private network namespace so the multicast never leaves it (DESIGN §7). The work happens in
// fixtures/ui-nearby-child.ts; this file reports each of its checks as a subtest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ui-nearby-child.js');

test(
  'follow journey on a LAN in a private namespace: nearby, one-click follow with progress, partial, words, errors, unfollow',
  { timeout: 300_000 },
  async (t) => {
    if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
    const r = await runInNetns(process.execPath, ['--enable-source-maps', child], { timeoutMs: 280_000 });
    const line =
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop() ?? '';
    let out: { ok: boolean; error?: string; checks: Record<string, string>; timings: Record<string, number> };
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
    t.diagnostic(`timings: ${JSON.stringify(out.timings)}`);
    assert.equal(out.error, undefined, out.error);
    assert.ok(Object.keys(out.checks).length >= 10, `every check ran: ${Object.keys(out.checks).join(', ')}`);
    assert.ok(out.timings.nearbyVisibleMs! < 5000, `Nearby showed the other computer's stream in ${out.timings.nearbyVisibleMs} ms`);
  },
);
