// What the UI tests stand on: a real Chromium found without downloading anything, real headless
// nodes (`drayer serve --ui`, child processes on 127.0.0.1), and helpers that look at pages the
// way the tests need (console and CSP errors, axe, screenshots under test-results/ui/). A test
// file calls uiSuite() once: it owns the browser and the nodes for the file, closes every page's
// context even when a test fails, and bounds the waits that have no timeout of their own.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import type { Arg, Method, Ret } from '../app/node/api.js';
import { unwrap, type Envelope } from '../app/node/api.js';
import { DRAYER_BIN, tmpDir } from './helpers.js';
import { launchBrowser } from './chromium.js';

export { findChromium, launchBrowser, type FoundBrowser } from './chromium.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = DRAYER_BIN;
export const SHOTS = path.join(ROOT, 'test-results', 'ui');

export interface UiNode {
  dataDir: string;
  /** the web UI's address, with no credential in it: openApp signs each new browser context in */
  url: string;
  /** the API token (`Authorization: Bearer`), as `serve --ui --json` prints it */
  token: string;
  /** a fresh one-time sign-in link (what `drayer ui-link` prints) */
  signInUrl(): Promise<string>;
  /** the LAN server's URL (127.0.0.1 here), what a follower pulls from */
  lanUrl: string;
  call<M extends Method>(method: M, arg: Arg<M>): Promise<Ret<M>>;
  /** everything the node printed so far (stdout and stderr): its log */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `drayer serve --ui` as a child process on 127.0.0.1, without discovery unless asked (only ever
 * inside a private network namespace: see test/netns.ts); resolves once it prints its URLs.
 */
export async function startUiNode(
  name: string,
  opts: { dataDir?: string; discovery?: boolean; args?: string[]; execArgv?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<UiNode> {
  const dataDir = opts.dataDir ?? path.join(tmpDir('drayer-ui-'), name);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(opts.execArgv ?? []),
      BIN,
      'serve',
      '--data',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...(opts.discovery ? [] : ['--no-discovery']),
      '--ui',
      '--json',
      ...(opts.args ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DRAYER_DEBUG: '', ...opts.env },
    },
  );
  let stderr = '';
  let printed = '';
  child.stderr!.on('data', (d) => ((stderr += d), (printed += d)));
  child.stdout!.on('data', (d) => (printed += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`drayer serve did not start in 20 s: ${stderr}`)), 20_000);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`drayer serve exited with ${code}: ${stderr}`));
    });
  });
  const info = JSON.parse(line) as { ui: string; token: string; lan: { host: string; port: number } };
  const ui = new URL(info.ui);
  const token = info.token;
  tokens.set(ui.origin, token);
  return {
    dataDir,
    url: `${ui.origin}/`,
    token,
    signInUrl: () => signInLink(ui.origin, token),
    lanUrl: `http://127.0.0.1:${info.lan.port}`,
    output: () => printed,
    async call(method, arg) {
      const res = await fetch(`${ui.origin}/api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(arg ?? {}),
      });
      return unwrap((await res.json()) as Envelope<never>);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** API tokens of the nodes started here, by web UI origin: openApp signs a context in with them. */
const tokens = new Map<string, string>();

/** A one-time sign-in link from the node's `/auth/link` (the same as `drayer ui-link`). */
export async function signInLink(origin: string, token: string): Promise<string> {
  const res = await fetch(`${origin}/auth/link`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `sign-in link: HTTP ${res.status}`);
  return ((await res.json()) as { url: string }).url;
}

/**
 * The URL to open a fresh context at: for a node started here, the same address with a new
 * one-time code (the node answers it with the session cookie and the address without the code,
 * as a person's browser gets it from `npm start`). Other URLs pass unchanged.
 */
async function withSignIn(url: string): Promise<string> {
  const u = new URL(url);
  const token = tokens.get(u.origin);
  if (!token || u.searchParams.has('code')) return url;
  u.searchParams.set('code', new URL(await signInLink(u.origin, token)).searchParams.get('code')!);
  return u.href;
}

export interface PageProblems {
  /** console errors, page errors and CSP reports seen so far */
  errors: string[];
}

export async function openApp(
  browser: Browser,
  url: string,
  opts: { width?: number; height?: number; dark?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.dark ? 'dark' : 'light',
    reducedMotion: 'reduce',
    locale: 'en-GB',
    timezoneId: 'Europe/London',
  });
  const page = await context.newPage();
  const problems: PageProblems = { errors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(m.text());
  });
  page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(15_000);
  try {
    await page.goto(await withSignIn(url));
  } catch (e) {
    await context.close().catch(() => undefined);
    throw e;
  }
  return { context, page, problems };
}

export async function shoot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  // Let fonts, the theme and entry animations settle: screenshots are for people to judge. A
  // loaded machine may take long; after 10 s the picture is taken as it is.
  await within(
    page.evaluate('document.fonts.ready.then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))'),
    10_000,
    'fonts and two frames',
  ).catch(() => undefined);
  await capture(page, { path: file, fullPage: false });
  return file;
}

/**
 * A screenshot of a page or an element. Headless Chromium now and then answers "Unable to capture
 * screenshot" while it has no frame to give (a loaded machine, right after a navigation): asked
 * again after a frame's time, it gives one. Any other error, or the third such answer, throws.
 */
export async function capture(target: Page | Locator, opts: Parameters<Page['screenshot']>[0] = {}): Promise<Buffer> {
  for (let tries = 1; ; tries++) {
    try {
      return await target.screenshot(opts);
    } catch (e) {
      if (tries >= 3 || !/Unable to capture screenshot/.test(String((e as Error).message))) throw e;
      await new Promise((r) => setTimeout(r, 250 * tries));
    }
  }
}

/** axe on the page as it is now: no serious or critical violations. */
export async function assertAccessible(page: Page, screen: string): Promise<void> {
  const r = await within(new AxeBuilder({ page }).analyze(), 90_000, `axe on ${screen}`);
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = bad
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' ') + ' — ' + (n.failureSummary ?? '').replace(/\s+/g, ' '))
          .join('\n    ')}`,
    )
    .join('\n');
  assert.equal(bad.length, 0, `${screen}: accessibility violations\n${text}`);
}

/**
 * axe on a page that frames a stream's site (the Site tab's preview): axe reads every frame's
 * stylesheets by XHR, which the sandboxed site (an opaque origin) may not do, so Chromium logs a
 * CORS refusal, as it should. Those lines, and only those, are dropped from `problems`.
 */
export async function assertAccessibleWithFrames(page: Page, problems: PageProblems, screen: string): Promise<void> {
  const n = problems.errors.length;
  await assertAccessible(page, screen);
  await page.waitForTimeout(300);
  const mine = problems.errors.splice(n);
  problems.errors.push(
    ...mine.filter(
      (e) =>
        !/^Access to XMLHttpRequest at 'http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/webAccess\/[^']*' from origin 'null'/.test(e) &&
        e !== 'Failed to load resource: net::ERR_FAILED',
    ),
  );
}

/**
 * Record every Notification the app makes, with the window put in the background (notifications
 * are for then), from the page's next load: `window.__notifications` lists `{ title, body, n }`.
 * Grants the notification permission to `url`'s origin.
 */
export async function recordNotifications(context: BrowserContext, url: string): Promise<void> {
  await context.grantPermissions(['notifications'], { origin: new URL(url).origin });
  await context.addInitScript(`(() => {
    const Real = window.Notification;
    const made = [];
    window.__notifications = made;
    function Recorded(title, options) {
      const n = new Real(title, options);
      made.push({ title, body: options && options.body, n });
      return n;
    }
    Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
    Recorded.requestPermission = (...a) => Real.requestPermission(...a);
    Recorded.prototype = Real.prototype;
    window.Notification = Recorded;
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => 'hidden', configurable: true });
    Document.prototype.hasFocus = () => false;
  })()`);
}

export const hostname = os.hostname();

/** `p`, or a clear error once `ms` have passed (page.evaluate and close() have no timeout of their own). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A stream name of 200 characters (what a layout must shorten without losing a button), and an Arabic one. */
export const NAME_200 = `Bo Chen, ${'who writes about bicycles and gardens and very long names '.repeat(4)}`.slice(0, 200).trim();
export const NAME_ARABIC = 'نور الهدى';

/** The four looks every screen is checked in: light and dark, wide and narrow. */
export const VIEWS = [
  { id: 'light-wide', dark: false, width: 1280, height: 800 },
  { id: 'dark-wide', dark: true, width: 1280, height: 800 },
  { id: 'light-narrow', dark: false, width: 400, height: 860 },
  { id: 'dark-narrow', dark: true, width: 400, height: 860 },
] as const;
export type View = (typeof VIEWS)[number];

/** Until a switch shows `want` (the node answered), or fail after 10 s. */
export async function switchBecomes(sw: Locator, want: boolean): Promise<void> {
  const t0 = Date.now();
  while ((await sw.isChecked()) !== want) {
    if (Date.now() - t0 > 10_000) assert.fail(`the switch stayed ${!want}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Move the app to a route, as a link would. */
export async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

/** Wait until an expression is true in the page (waitForFunction evaluates strings, which the CSP forbids). */
export async function until(page: Page, expr: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await within(page.evaluate(expr), ms, `waiting for ${expr}`))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expr}`);
    await page.waitForTimeout(50);
  }
}

/**
 * The natural width of the first picture `selector` finds once it has loaded, 0 if it failed, -1
 * if it has not loaded in 10 s. A collapsed post clips what lies below its fold, and a lazy
 * picture there never loads (its decode() would wait forever): the post is opened first.
 */
export async function imageLoaded(page: Page, selector: string): Promise<number> {
  const img = page.locator(selector).first();
  await img.waitFor();
  const more = page.getByRole('article').filter({ has: img }).getByRole('button', { name: 'Show more' });
  if (await more.count()) await more.first().click();
  await img.scrollIntoViewIfNeeded();

  return img.evaluate((el: any) =>
    Promise.race([
      el.decode().then(
        () => el.naturalWidth as number,
        () => 0,
      ),
      new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000)),
    ]),
  );
}

export interface App {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}

export interface OpenOptions {
  width?: number;
  height?: number;
  dark?: boolean;
}

export interface UiSuite {
  /** the file's Chromium (launched by the suite's before hook) */
  readonly browser: Browser;
  /** a headless node (startUiNode) that is stopped when the file ends */
  node(name: string, opts?: { dataDir?: string; discovery?: boolean; args?: string[] }): Promise<UiNode>;
  /** the app at `url` in a fresh signed-in context; closed when the file ends if not before */
  open(url: string, opts?: OpenOptions): Promise<App>;
  /** a bare context (no sign-in, no console capture), closed when the file ends if not before */
  context(opts?: BrowserContextOptions): Promise<BrowserContext>;
  /** the app at `url` for `fn`, its context closed afterwards however `fn` ends */
  withApp<T>(url: string, fn: (app: App) => Promise<T>): Promise<T>;
  withApp<T>(url: string, opts: OpenOptions, fn: (app: App) => Promise<T>): Promise<T>;
}

/**
 * The browser and node lifecycle of one UI test file: registers the before hook that launches
 * Chromium and the after hook that stops every node and context it made and closes the browser,
 * each wait bounded so a stuck child cannot hold the run.
 */
export function uiSuite(): UiSuite {
  let browser: Browser | undefined;
  const nodes: UiNode[] = [];
  const contexts = new Set<BrowserContext>();
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await within(Promise.allSettled([...contexts].map((c) => c.close())), 15_000, 'closing pages').catch(() => undefined);
    await within(Promise.allSettled(nodes.map((n) => n.stop())), 30_000, 'stopping nodes').catch(() => undefined);
    await within(browser?.close() ?? Promise.resolve(), 15_000, 'closing Chromium').catch(() => undefined);
  });
  const need = (): Browser => {
    assert.ok(browser, 'the browser starts in the before hook: use the suite inside a test or hook');
    return browser;
  };
  const track = (c: BrowserContext): BrowserContext => {
    contexts.add(c);
    c.once('close', () => contexts.delete(c));
    return c;
  };
  const open = async (url: string, opts: OpenOptions = {}): Promise<App> => {
    const app = await openApp(need(), url, opts);
    track(app.context);
    return app;
  };
  return {
    get browser() {
      return need();
    },
    async node(name, opts = {}) {
      const n = await startUiNode(name, opts);
      nodes.push(n);
      return n;
    },
    open,
    async context(opts = {}) {
      return track(await need().newContext(opts));
    },
    async withApp<T>(url: string, a: OpenOptions | ((app: App) => Promise<T>), b?: (app: App) => Promise<T>): Promise<T> {
      const [opts, fn] = typeof a === 'function' ? [{}, a] : [a, b!];
      const app = await open(url, opts);
      try {
        return await fn(app);
      } catch (e) {
        // what the page showed when it failed, for the person reading the report
        const file = path.join(SHOTS, 'failed', `${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await within(app.page.screenshot({ path: file }), 10_000, 'a screenshot of the failure').then(
          () => console.error(`# the page at the failure: ${file}`),
          () => undefined,
        );
        throw e;
      } finally {
        await within(app.context.close(), 15_000, 'closing the page').catch(() => undefined);
      }
    },
  };
}
