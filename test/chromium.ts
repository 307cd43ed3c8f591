// The Chromium the UI tests and the UI bench drive, never downloaded. Apart from ui-harness.ts so a
// bench can use it without loading node:test.
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import { chromium, type Browser } from 'playwright-core';

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

/** `extraArgs`: more Chromium switches (a fake camera, say). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const found = await findChromium();
  assert.ok(found, "No Chromium: install the npm dev dependencies (@sparticuz/chromium), Debian's chromium, or set DRAYER_CHROMIUM.");
  return chromium.launch({
    executablePath: found.executablePath,
    headless: true,
    // A fresh profile each launch (Playwright makes a temporary user data dir), nothing phoning home.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-default-apps',
      '--disable-extensions',
      '--mute-audio',
      '--disable-dev-shm-usage',
      '--font-render-hinting=none',
      ...extraArgs,
    ],
  });
}
