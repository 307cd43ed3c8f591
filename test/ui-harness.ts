// What the UI tests stand on: a real Chromium found without downloading anything, real headless
// nodes (`drayer serve --ui`, child processes on 127.0.0.1), and helpers that look at pages the
// way the tests need (console and CSP errors, axe, screenshots under test-results/ui/).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import type { Arg, Method, Ret } from '../app/node/api.js';
import { unwrap, type Envelope } from '../app/node/api.js';
import { tmpDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'drayer.js');
export const SHOTS = path.join(ROOT, 'test-results', 'ui');

export interface FoundBrowser {
  executablePath: string;
  source: string;
}

/**
 * A Chromium to drive, never downloaded: DRAYER_CHROMIUM when set (an explicit choice wins),
 * else the one inside the npm package @sparticuz/chromium (unpacked to the temp dir on first
 * use), else Debian's /usr/bin/chromium. null when there is none.
 */
export async function findChromium(): Promise<FoundBrowser | null> {
  const fromEnv = process.env.DRAYER_CHROMIUM;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`DRAYER_CHROMIUM=${fromEnv} does not exist`);
    return { executablePath: fromEnv, source: 'DRAYER_CHROMIUM' };
  }
  try {
    const mod = (await import('@sparticuz/chromium')) as unknown as { default: { executablePath(): Promise<string> } };
    const p = await mod.default.executablePath();
    if (p && fs.existsSync(p)) return { executablePath: p, source: '@sparticuz/chromium' };
  } catch {
    /* not installed or not for this platform: try the system's */
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (fs.existsSync(p)) return { executablePath: p, source: p };
  return null;
}

export async function launchBrowser(): Promise<Browser> {
  const found = await findChromium();
  assert.ok(found, 'No Chromium: install the npm dev dependencies (@sparticuz/chromium), Debian\'s chromium, or set DRAYER_CHROMIUM.');
  return chromium.launch({
    executablePath: found.executablePath,
    headless: true,
    // A fresh profile each launch (Playwright makes a temporary user data dir), nothing phoning home.
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-default-apps', '--disable-extensions', '--mute-audio', '--disable-dev-shm-usage',
      '--font-render-hinting=none',
    ],
  });
}

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
  stop(): Promise<void>;
}

/**
 * `drayer serve --ui` as a child process on 127.0.0.1, without discovery unless asked (only ever
 * inside a private network namespace: see test/netns.ts); resolves once it prints its URLs.
 */
export async function startUiNode(name: string, opts: { dataDir?: string; discovery?: boolean } = {}): Promise<UiNode> {
  const dataDir = opts.dataDir ?? path.join(tmpDir('drayer-ui-'), name);
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', ...(opts.discovery ? [] : ['--no-discovery']), '--ui', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DRAYER_DEBUG: '' },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
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

export async function openApp(browser: Browser, url: string, opts: { width?: number; height?: number; dark?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
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
  await page.goto(await withSignIn(url));
  return { context, page, problems };
}

export async function shoot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  // Let fonts, the theme and entry animations settle: screenshots are for people to judge.
  await page.evaluate('document.fonts.ready.then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))');
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** axe on the page as it is now: no serious or critical violations. */
export async function assertAccessible(page: Page, screen: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary ?? '').replace(/\s+/g, ' ')).join('\n    ')}`).join('\n');
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
  problems.errors.push(...mine.filter((e) => !/^Access to XMLHttpRequest at 'http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/webAccess\/[^']*' from origin 'null'/.test(e) && e !== 'Failed to load resource: net::ERR_FAILED'));
}

export const hostname = os.hostname();
