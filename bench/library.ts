// `bench library`: a node that follows STREAMS streams holding POSTS posts in all (500 and
// 1,000,000 by default; BENCH_LIBRARY_STREAMS / BENCH_LIBRARY_POSTS for a small one), run as a
// real `drayer serve --ui` child process on a fresh copy of a cached data directory
// (library-data.ts), its web UI driven in Chromium. Figures, each beside its goal:
//  * startMs: from spawning the node process to Home's first post cards painted (the renderer's
//    `drayer:timeline-painted` mark, read as wall-clock time), the browser already running;
//    readyMs is the part until the node printed its UI link (open, index check, listen).
//  * search: the API's search (HTTP POST /api/search, as the UI calls it) for each prefix of
//    several queries typed letter by letter, median and p95 of the round trips; searchNode: the
//    node's own part of each (its Server-Timing header; slow ones are logged with its parts:
//    reading the request, checking its argument, answering); searchUi: the
//    same in the page, from typing the query to its results painted, less the UI's 200 ms pause.
//  * newPost: a post written at a LanServer that the live stream follows, then `syncNow` asked
//    of the node (what a LAN announcement starts), until its card is painted on the open Home.
//  * rss: the node process's resident memory after start-up and after the queries (VmRSS).
// Baseline in the same run: the same figures on a node holding ONE stream of 1,000 posts.
// BENCH_LIBRARY_PROF=DIR writes the node's CPU profile (node --cpu-prof) there.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { LanServer } from '../app/net/server/server.js';
import { encodePost } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { defaultStaticDir } from '../app/node/webui.js';
import { launchBrowser } from '../test/chromium.js';
import { removeDir, tempDir } from './common.js';
import { buildLibrary, copyLibrary, type LibrarySize } from './library-data.js';

const GOALS = { startMs: 1000, searchP95Ms: 50, newPostMs: 100, rssMiB: 300 };
/** What a person types, a letter at a time: common words, rare ones, two words, nothing found. */
const QUERIES = ['garden', 'weather river', 'morning coffee', 'festival', 'kalomi', 'people write', 'bicycle', 'zzyzx'];
const NEW_POSTS = 10;

const round1 = (x: number): number => Math.round(x * 10) / 10;
function stats(xs: number[]): { median: number; p95: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { median: round1(at(0.5)), p95: round1(at(0.95)), max: round1(s[s.length - 1] ?? 0), n: s.length };
}
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

/** Every prefix of each query, as the search box holds it while it is typed. */
function typed(): string[] {
  const out: string[] = [];
  for (const q of QUERIES) for (let i = 1; i <= q.length; i++) if (q[i - 1] !== ' ') out.push(q.slice(0, i));
  return out;
}

interface Child {
  proc: ChildProcess;
  ui: string;
  token: string;
  readyMs: number;
  spawnedAt: number;
  stop(): Promise<void>;
}

/** `drayer serve --ui --json` on `data`, resolved when it prints its link. */
function startNode(data: string, prof?: string): Promise<Child> {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/drayer.js');
  const args = [
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    bin,
    'serve',
    '--data',
    data,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--no-discovery',
    '--ui',
    '--json',
  ];
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      proc.stdout!.off('data', onData);
      const j = JSON.parse(out.slice(0, nl)) as { ui: string; token: string };
      const stop = () =>
        new Promise<void>((done) => {
          if (proc.exitCode !== null) return done();
          proc.once('exit', () => done());
          proc.kill('SIGTERM');
          setTimeout(() => proc.kill('SIGKILL'), 60_000).unref();
        });
      resolve({ proc, ui: j.ui, token: j.token, readyMs: performance.now() - t0, spawnedAt, stop });
    };
    proc.stdout!.on('data', onData);
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`the node exited (${code}) before it was ready: ${err}`)));
  });
}

/** The node's own part of the last API call (its Server-Timing), ms. */
let lastNodeMs = 0;
let lastTiming = '';

async function api<T>(c: Child, method: string, arg: unknown): Promise<T> {
  const origin = new URL(c.ui).origin;
  const res = await fetch(`${origin}/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(arg ?? {}),
  });
  const env = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  lastTiming = res.headers.get('server-timing') ?? '';
  lastNodeMs = Number(/node;dur=([\d.]+)/.exec(lastTiming)?.[1] ?? NaN);
  if (!env.ok) throw new Error(`${method}: ${env.error?.message}`);
  return env.value as T;
}

function rssMiB(pid: number): { rss: number; peak: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: round1(kb('VmRSS') / 1024), peak: round1(kb('VmHWM') / 1024) };
}

/** Wall-clock time (ms since the epoch) of the page's first timeline paint. */
async function paintedAt(page: Page): Promise<number> {
  await page.locator('article').first().waitFor({ timeout: 120_000 });
  for (let i = 0; i < 500; i++) {
    const at = (await page.evaluate(
      `(() => { const m = performance.getEntriesByName('drayer:timeline-painted')[0]; return m ? performance.timeOrigin + m.startTime : 0; })()`,
    )) as number;
    if (at) return at;
    await page.waitForTimeout(10);
  }
  throw new Error('the timeline never marked its first paint');
}

/** In the page: resolve with the wall-clock time of the first frame after a card with `title` shows at the top of Home. */
const WATCH = (title: string) => `new Promise((resolve) => {
  const has = () => [...document.querySelectorAll('article')].slice(0, 5).some((a) => a.textContent.includes(${JSON.stringify(title)}));
  const done = () => requestAnimationFrame(() => resolve(performance.timeOrigin + performance.now()));
  if (has()) return done();
  const o = new MutationObserver(() => { if (has()) { o.disconnect(); done(); } });
  o.observe(document.body, { childList: true, subtree: true, characterData: true });
  setTimeout(() => { o.disconnect(); resolve(0); }, 30000);
})`;

async function searchUi(page: Page, queries: string[]): Promise<number[]> {
  await page.evaluate(`location.hash = '#/search'`);
  const input = page.locator('#search-input');
  await input.waitFor();
  const out: number[] = [];
  for (const q of queries) {
    await input.fill('');
    await page.waitForTimeout(250);
    // Typed at once; the UI waits 200 ms after the last key, then asks, then paints the answer.
    const ms = (await page.evaluate(`new Promise((resolve) => {
      const input = document.querySelector('#search-input');
      const t0 = performance.now();
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
      setter.call(input, ${JSON.stringify(q)});
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const shown = () => decodeURIComponent(location.hash).includes(${JSON.stringify(q)}) && (document.querySelector('.results li') || document.querySelector('.empty'));
      const o = new MutationObserver(() => { if (shown()) { o.disconnect(); requestAnimationFrame(() => resolve(performance.now() - t0 - 200)); } });
      o.observe(document.body, { childList: true, subtree: true, characterData: true });
      setTimeout(() => { o.disconnect(); resolve(-1); }, 10000);
    })`)) as number;
    if (ms >= 0) out.push(ms);
  }
  await page.evaluate(`location.hash = '#/'`);
  return out;
}

interface Figures {
  streams: number;
  posts: number;
  readyMs: number;
  startMs: number;
  rssAfterStartMiB: number;
  search: ReturnType<typeof stats>;
  /** the node's own part of each search (its Server-Timing): the rest of a round trip is waiting */
  searchNode: ReturnType<typeof stats>;
  searchUi: ReturnType<typeof stats>;
  newPost: ReturnType<typeof stats>;
  rssAfterQueriesMiB: number;
  rssPeakMiB: number;
}

/** One node on a fresh copy of the built library: every figure, measured now. */
async function measure(browser: Browser, size: LibrarySize, prof: string | undefined, log: (m: string) => void): Promise<Figures> {
  const built = buildLibrary(size, log);
  if (built.built) log(`built ${size.posts} posts in ${size.streams} streams in ${Math.round(built.buildMs / 1000)} s (cached in ${built.dir})`);
  const work = tempDir('drayer-bench-library-');
  let child: Child | null = null;
  let server: LanServer | null = null;
  let writer: Stream | null = null;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  try {
    const { data, writer: wfile } = copyLibrary(built, work);
    writer = Stream.open(wfile);
    const w = writer;
    server = new LanServer({ host: '127.0.0.1', resolve: () => w, shared: () => [{ publicKey: w.publicKey, name: 'live' }] });
    const { port } = await server.listen();
    const page = await context.newPage();
    child = await startNode(data, prof);
    await page.goto(child.ui);
    const startMs = (await paintedAt(page)) - child.spawnedAt;
    const rssStart = rssMiB(child.proc.pid!);

    const searchMs: number[] = [];
    const searchNodeMs: number[] = [];
    const slow: string[] = [];
    for (const q of typed()) {
      const t0 = performance.now();
      await api(child, 'search', { query: q, limit: 50 });
      const ms = performance.now() - t0;
      searchMs.push(ms);
      searchNodeMs.push(lastNodeMs);
      if (ms > GOALS.searchP95Ms) slow.push(`${q}: ${Math.round(ms)} ms (${lastTiming.replace(/;dur=/g, ' ')})`);
    }
    if (slow.length) log(`slow searches (${size.streams} streams): ${slow.join('; ')}`);

    // The live stream now follows the LanServer; new posts there reach the open Home by sync.
    await api(child, 'setStreamSettings', { publicKey: built.livePk, sources: [`http://127.0.0.1:${port}`] });
    await api(child, 'syncNow', { publicKey: built.livePk });
    await page.waitForTimeout(500);
    const newMs: number[] = [];
    for (let i = 0; i < NEW_POSTS; i++) {
      const title = `Fresh news number ${i} ${Date.now()}`;
      const seen = page.evaluate(WATCH(title)) as Promise<number>;
      await page.waitForTimeout(50); // the observer is in place
      w.put('post', `fresh-${Date.now()}-${i}`, encodePost({ title, body: 'Just arrived.' }));
      const t0 = Date.now();
      const synced = api(child, 'syncNow', { publicKey: built.livePk });
      const at = await seen;
      await synced;
      if (!at) throw new Error(`the post "${title}" never showed on Home`);
      newMs.push(at - t0);
      await page.waitForTimeout(300);
    }
    const uiMs = await searchUi(page, QUERIES);
    const rssEnd = rssMiB(child.proc.pid!);
    return {
      streams: size.streams,
      posts: size.posts,
      readyMs: round1(child.readyMs),
      startMs: round1(startMs),
      rssAfterStartMiB: rssStart.rss,
      search: stats(searchMs),
      searchNode: stats(searchNodeMs),
      searchUi: stats(uiMs),
      newPost: stats(newMs),
      rssAfterQueriesMiB: rssEnd.rss,
      rssPeakMiB: rssEnd.peak,
    };
  } finally {
    await context.close();
    await child?.stop();
    await server?.close();
    writer?.close();
    removeDir(work);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const index = path.join(defaultStaticDir(), 'index.html');
  if (!fs.existsSync(index)) throw new Error(`The renderer is not built (${index} is missing): run "npm run build" first.`);
  const size = { streams: Number(process.env.BENCH_LIBRARY_STREAMS ?? 500), posts: Number(process.env.BENCH_LIBRARY_POSTS ?? 1_000_000) };
  if (!(size.streams >= 1 && size.posts >= size.streams)) throw new Error('BENCH_LIBRARY_STREAMS must be ≥ 1 and BENCH_LIBRARY_POSTS at least as many.');
  const prof = process.env.BENCH_LIBRARY_PROF ? path.resolve(process.env.BENCH_LIBRARY_PROF) : undefined;
  const log = (m: string) => console.error(m);
  const loadStart = load();
  const browser = await launchBrowser();
  try {
    const baseline = await measure(browser, { streams: 1, posts: 1000 }, undefined, log);
    const big = await measure(browser, size, prof, log);
    const met = {
      startMs: big.startMs <= GOALS.startMs,
      searchP95Ms: big.search.p95 <= GOALS.searchP95Ms,
      newPostMs: big.newPost.median <= GOALS.newPostMs,
      rssMiB: Math.max(big.rssAfterStartMiB, big.rssAfterQueriesMiB) <= GOALS.rssMiB,
    };
    return {
      bench: 'library',
      big,
      baseline,
      ratios: {
        start: round1(big.startMs / baseline.startMs),
        searchMedian: round1(big.search.median / baseline.search.median),
        newPostMedian: round1(big.newPost.median / baseline.newPost.median),
        rss: round1(big.rssAfterQueriesMiB / baseline.rssAfterQueriesMiB),
      },
      goals: { ...GOALS, met, allMet: Object.values(met).every(Boolean) },
      loadStart,
      loadEnd: load(),
      machine: { cores: os.availableParallelism(), node: process.version },
    };
  } finally {
    await browser.close();
  }
}
