// The desktop UI's speed with a small and a huge library, measured in Chromium through Playwright
// in one run: time from navigation to the first paint of the timeline (the renderer's
// `drayer:timeline-painted` mark, against the navigation's start), and the frame times
// (requestAnimationFrame deltas) while scrolling the timeline 20 screens. The library is built
// fast: posts written straight into a stream file in a temp data dir, taken in at the node's start.
// Also a thread of 1,000 replies against one of 10 (ui-thread.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { WebUi, defaultStaticDir } from '../app/node/webui.js';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../test/chromium.js';
import { buildWriter, machine, ratio, removeDir, tempDir } from './common.js';
import { measureThread, quantile, round1, scrollFigures, type ScrollFigures } from './ui-thread.js';

const RUNS = 5;
const SCREENS = 20;

interface Figures extends ScrollFigures {
  posts: number;
  firstPaintMs: number;
  firstPaintRunsMs: number[];
}

/** In the page: scroll SCREENS screens a step per frame and keep every frame's delta. */
const SCROLL = `new Promise((resolve) => {
  const step = Math.round(innerHeight / 10), goal = ${SCREENS} * innerHeight;
  const deltas = []; let last = 0, moved = 0, stuck = 0;
  const frame = (t) => {
    if (last) deltas.push(t - last);
    last = t;
    const before = scrollY;
    scrollBy(0, step);
    moved += scrollY - before;
    // at the end of what is loaded, wait for the next page; at the end of the library, stop
    stuck = scrollY === before ? stuck + 1 : 0;
    if (moved >= goal || stuck > 30 || deltas.length > 2000) return resolve({ deltas, moved, cards: document.querySelectorAll('article').length });
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})`;

async function measure(browser: Browser, posts: number): Promise<Figures> {
  const dir = tempDir('drayer-bench-ui-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  buildWriter(data, posts).close();
  const node = await DrayerNode.start({ dataDir: data, host: null, discovery: false, autoSync: false });
  const ui = new WebUi(node);
  try {
    const [s] = await node.call('listStreams', undefined);
    if (!s || s.posts !== posts) throw new Error(`the library holds ${s?.posts} posts, not ${posts}`);
    await ui.listen();
    const paints: number[] = [];
    let scroll: { deltas: number[]; moved: number; cards: number } | null = null;
    for (let run = 0; run <= RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
      try {
        const page = await context.newPage();
        await page.goto(ui.signInUrl()); // each sign-in code works once
        await page.locator('article').first().waitFor({ timeout: 30_000 });
        let mark = 0;
        for (let i = 0; i < 200 && !mark; i++) {
          mark = (await page.evaluate(`performance.getEntriesByName('drayer:timeline-painted')[0]?.startTime ?? 0`)) as number;
          if (!mark) await page.waitForTimeout(10);
        }
        if (!mark) throw new Error('the timeline never marked its first paint');
        if (run > 0) paints.push(mark); // run 0 warms the browser and the node
        if (run === RUNS) {
          await page.mouse.move(640, 400);
          await page.waitForTimeout(300);
          scroll = (await page.evaluate(SCROLL)) as { deltas: number[]; moved: number; cards: number };
        }
      } finally {
        await context.close();
      }
    }
    return { posts, firstPaintMs: round1(quantile(paints, 0.5)), firstPaintRunsMs: paints.map(round1), ...scrollFigures(scroll!) };
  } finally {
    await ui.close();
    await node.stop();
    removeDir(dir);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const index = path.join(defaultStaticDir(), 'index.html');
  if (!fs.existsSync(index)) throw new Error(`The renderer is not built (${index} is missing): run "npm run build" first.`);
  const browser = await launchBrowser();
  try {
    // issue 21: a thread of 1,000 replies against one of 10, opened from Home and scrolled
    const threadSmall = await measureThread(browser, 10, SCROLL);
    const threadBig = await measureThread(browser, 1000, SCROLL);
    const thread = {
      baseline: threadSmall,
      big: threadBig,
      goals: { openMs: 300, frameP95Ms: 20, met: threadBig.openMs <= 300 && threadBig.frameP95Ms <= 20 },
    };
    if (process.env.BENCH_UI === 'thread') return { bench: 'ui', thread, machine: machine() }; // the thread case alone
    const small = await measure(browser, 100);
    const big = await measure(browser, Number(process.env.BENCH_POSTS ?? 100_000));
    return {
      bench: 'ui',
      small,
      big,
      thread,
      firstPaintRatio: ratio(big.firstPaintMs, small.firstPaintMs),
      goals: {
        firstPaintMs: 500,
        firstPaintRatio: 1.2,
        frameP95Ms: 20,
        met:
          Math.max(small.firstPaintMs, big.firstPaintMs) <= 500 &&
          big.firstPaintMs <= 1.2 * small.firstPaintMs &&
          Math.max(small.frameP95Ms, big.frameP95Ms) <= 20,
      },
      machine: machine(),
    };
  } finally {
    await browser.close();
  }
}
