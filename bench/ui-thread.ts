// `bench ui`'s thread case (issue 21): a post with N replies opened from Home (in-app navigation to
// its page, until the renderer's `drayer:thread-painted` mark) and scrolled 20 screens (frame
// times). Measured for 10 replies (the baseline) and 1,000 in the same run. The replies are
// written straight into a stream file, each naming the root as a reply does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, CDPSession } from 'playwright-core';
import { DrayerNode } from '../app/node/node.js';
import { WebUi } from '../app/node/webui.js';
import { encodePost } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { encodeLinkedPost, replyTo } from '../app/store/talk.js';
import { removeDir, tempDir } from './common.js';

const RUNS = 5;

export type ScrollFigures = ReturnType<typeof scrollFigures>;
export interface ThreadFigures extends ScrollFigures {
  replies: number;
  openMs: number;
  openRunsMs: number[];
  scrollWork: Awaited<ReturnType<typeof rendererWork>>;
}

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
export const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Frame figures of a scroll (the first two frames follow the evaluate call itself). */
export function scrollFigures(sc: { deltas: number[]; moved: number; cards: number }) {
  const d = sc.deltas.slice(2);
  return {
    frames: d.length,
    frameP50Ms: round1(quantile(d, 0.5)),
    frameP95Ms: round1(quantile(d, 0.95)),
    frameMaxMs: round1(Math.max(...d)),
    scrolledPx: Math.round(sc.moved),
    domCards: sc.cards,
  };
}

/** A stream with a root post and `n` replies to it (of a usual length, a minute apart). */
function buildThread(dir: string, n: number): { publicKey: string; key: string } {
  const s = Stream.create(path.join(dir, 'thread.stream'), { name: 'Thread bench' });
  const pk = Buffer.from(s.publicKey).toString('base64');
  const t0 = Date.now() * 1000 - n * 60_000_000;
  const root = s.put('post', 'root', encodePost({ title: 'Where shall we meet?', body: 'Answer below, everyone.' }), t0);
  const to = replyTo(pk, root);
  s.batch((w) => {
    for (let i = 0; i < n; i++) {
      const body = `Reply ${i}: ${i % 3 ? 'the park by the river works for me.' : 'the café on the corner, it has room for all of us and good coffee, and it is dry if it rains.'}`;
      w.put('post', `r${String(i).padStart(5, '0')}`, encodeLinkedPost({ title: '', body }, { reply: to }), t0 + (i + 1) * 60_000_000);
    }
  });
  s.close();
  return { publicKey: pk, key: 'root' };
}

/** Layouts, style recalculations and script time (ms) the renderer has spent so far (CDP Performance). */
async function rendererWork(cdp: CDPSession) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = (name: string) => metrics.find((x) => x.name === name)?.value ?? 0;
  return {
    layouts: m('LayoutCount'),
    layoutMs: m('LayoutDuration') * 1000,
    styleRecalcs: m('RecalcStyleCount'),
    styleMs: m('RecalcStyleDuration') * 1000,
    scriptMs: m('ScriptDuration') * 1000,
    taskMs: m('TaskDuration') * 1000,
  };
}

export async function measureThread(browser: Browser, replies: number, scroll: string): Promise<ThreadFigures> {
  const dir = tempDir('drayer-bench-thread-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  const root = buildThread(data, replies);
  const node = await DrayerNode.start({ dataDir: data, host: null, discovery: false, autoSync: false });
  const ui = new WebUi(node);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  try {
    const t = await node.call('thread', { streamKey: root.publicKey, key: root.key });
    if (t.replies.length !== replies) throw new Error(`the thread holds ${t.replies.length} replies, not ${replies}`);
    await ui.listen();
    const page = await context.newPage();
    await page.goto(ui.signInUrl());
    await page.locator('article').first().waitFor({ timeout: 30_000 });
    const hash = `#/post/${encodeURIComponent(root.publicKey)}/${encodeURIComponent(root.key)}`;
    const opens: number[] = [];
    for (let run = 0; run <= RUNS; run++) {
      await page.evaluate(`location.hash = '#/'`);
      await page.locator('.thread').waitFor({ state: 'detached', timeout: 30_000 });
      await page.waitForTimeout(200);
      const start = (await page.evaluate(
        `performance.clearMarks('drayer:thread-painted'); location.hash = ${JSON.stringify(hash)}; performance.now()`,
      )) as number;
      let mark = 0;
      for (let i = 0; i < 1000 && !mark; i++) {
        mark = (await page.evaluate(`performance.getEntriesByName('drayer:thread-painted')[0]?.startTime ?? 0`)) as number;
        if (!mark) await page.waitForTimeout(5);
      }
      if (!mark) throw new Error('the thread never marked its first paint');
      if (run > 0) opens.push(mark - start); // run 0 warms the browser and the node
    }
    await page.locator('.thread-replies article').first().waitFor({ timeout: 30_000 });
    await page.mouse.move(640, 400);
    await page.waitForTimeout(300);
    // the renderer's own counters over the scroll: less bent by the machine's load than frame times
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const before = await rendererWork(cdp);
    const sc = (await page.evaluate(scroll)) as { deltas: number[]; moved: number; cards: number };
    const after = await rendererWork(cdp);
    const work = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, round1(v - before[k as keyof typeof before])])) as typeof after;
    return { replies, openMs: round1(quantile(opens, 0.5)), openRunsMs: opens.map(round1), ...scrollFigures(sc), scrollWork: work };
  } finally {
    await context.close();
    await ui.close();
    await node.stop();
    removeDir(dir);
  }
}
