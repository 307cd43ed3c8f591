// A Chromium journey run as a child inside a private network namespace (where multicast is
// safe): named checks, each kept going after a failure with a screenshot, one JSON line at the
// end; and the parent side, each check a subtest. (ui-nearby-child and ui-nearby-add-child predate it.)
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { runInNetns } from './netns.js';
import { shoot, type UiNode } from './ui-harness.js';

export interface ChildRun {
  checks: Record<string, string>;
  nodes: UiNode[];
  browser?: Browser;
  check(name: string, page: Page | null, fn: () => Promise<void>): Promise<void>;
}

/** Run `main` with its checks; print the result and exit (within `ms`). */
export function runChild(main: (run: ChildRun) => Promise<void>, ms = 200_000): void {
  const run: ChildRun = {
    checks: {},
    nodes: [],
    async check(name, page, fn) {
      try {
        await fn();
        run.checks[name] = 'ok';
      } catch (e) {
        run.checks[name] = (e as Error).stack ?? String(e);
        if (page) await shoot(page, `failed-${name.replace(/\W+/g, '-')}`).catch(() => {});
      }
    },
  };
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ ok: false, error: 'the child ran out of time', checks: run.checks }));
    process.exit(1);
  }, ms);
  main(run)
    .then(
      () => ({ ok: Object.values(run.checks).every((v) => v === 'ok') }),
      (e) => ({ ok: false, error: (e as Error).stack ?? String(e) }),
    )
    .then(async (r) => {
      await run.browser?.close().catch(() => {});
      await Promise.allSettled(run.nodes.map((n) => n.stop()));
      clearTimeout(timer);
      console.log(JSON.stringify({ ...r, checks: run.checks }));
      process.exit(0);
    });
}

/** Run a child script in a private namespace: the last JSON line it printed, parsed (fails the test when there is none). */
export async function childJson<T>(child: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<T> {
  const r = await runInNetns(process.execPath, ['--enable-source-maps', child], opts);
  const line =
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    return assert.fail(`the child printed no result (code ${r.code}, timed out ${r.timedOut}):\n${r.stdout}\n${r.stderr}`);
  }
}

type ChildOut = { ok: boolean; error?: string; checks: Record<string, string> };

/** The parent: run the child in a namespace, each of its checks a subtest; at least `min` checks ran. Its whole output. */
export async function childChecks<T extends object = object>(t: TestContext, child: string, min: number, timeoutMs = 220_000): Promise<ChildOut & T> {
  const out = await childJson<ChildOut & T>(child, { timeoutMs });
  for (const [name, result] of Object.entries(out.checks)) {
    await t.test(name, () => {
      if (result !== 'ok') assert.fail(result);
    });
  }
  assert.equal(out.error, undefined, out.error);
  assert.ok(Object.keys(out.checks).length >= min, `every check ran: ${Object.keys(out.checks).join(', ')}`);
  return out;
}
