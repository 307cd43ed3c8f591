// Pairing and following by camera QR (issue 19), in a real Chromium whose camera is a Y4M video of
// a QR code made here (Chromium's fake capture device plays the file), against real headless
// nodes: the owner adds a device by scanning the new device's pairing code; another computer
// follows a private stream by scanning its read link; a QR of random text, or of the wrong kind,
// gets a message saying what it is not and what to do; the camera stops once a code is taken or
// the scanner is closed; a refused camera is said plainly. Screenshots light/dark, wide/narrow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import QRCode from 'qrcode';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser } from './chromium.js';
import { tmpDir } from './helpers.js';
import { go, openApp, shoot, uiSuite, within, type App } from './ui-harness.js';

const ui = uiSuite();

/** A two-frame 640×480 Y4M video (4:2:0) of `text`'s QR code, black on white with its quiet zone: what the fake camera shows. */
function qrVideo(text: string): string {
  const W = 640;
  const H = 480;
  const m = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  const px = Math.floor(400 / (m.size + 8));
  const x0 = Math.floor((W - m.size * px) / 2);
  const y0 = Math.floor((H - m.size * px) / 2);
  const y = Buffer.alloc(W * H, 235);
  for (let r = 0; r < m.size; r++)
    for (let c = 0; c < m.size; c++)
      if (m.get(r, c)) for (let dy = 0; dy < px; dy++) y.fill(16, (y0 + r * px + dy) * W + x0 + c * px, (y0 + r * px + dy) * W + x0 + (c + 1) * px);
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma]);
  const file = path.join(tmpDir('qr-video-'), 'camera.y4m');
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`), frame, frame]));
  return file;
}

/** A Chromium whose camera shows `text`'s QR code (closed when `fn` ends). */
async function withCamera<T>(text: string, fn: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchBrowser([
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${qrVideo(text)}`,
  ]);
  try {
    return await fn(browser);
  } finally {
    await within(browser.close(), 15_000, 'closing Chromium').catch(() => undefined);
  }
}

/** The app, its camera streams recorded so the test can see that each was stopped. */
async function openWithCamera(browser: Browser, url: string, opts: { width?: number; dark?: boolean } = {}): Promise<App> {
  const app = await openApp(browser, url, opts);
  await app.page.evaluate(`(() => {
    const md = navigator.mediaDevices;
    const real = md.getUserMedia.bind(md);
    window.__streams = [];
    md.getUserMedia = async (c) => { const s = await real(c); window.__streams.push(s); return s; };
    // frames taken from the camera for decoding (a video drawn onto a canvas)
    window.__frames = 0;
    const draw = CanvasRenderingContext2D.prototype.drawImage;
    CanvasRenderingContext2D.prototype.drawImage = function (src, ...rest) { if (src instanceof HTMLVideoElement) window.__frames++; return draw.call(this, src, ...rest); };
  })()`);
  return app;
}

/** How many camera streams were opened, and how many of their tracks still run. */
async function cameras(page: Page): Promise<{ opened: number; live: number }> {
  return (await page.evaluate(
    `({ opened: window.__streams.length, live: window.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length })`,
  )) as { opened: number; live: number };
}

/** The Follow dialog, its scanner started. */
async function scanInFollow(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Follow a stream' }).filter({ visible: true }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
  await dialog.getByRole('button', { name: 'Scan QR code' }).click();
  return dialog;
}

/** Follow from the dialog, then wait for a post of the stream (`seen`) on its page. */
async function followAndSee(page: Page, dialog: Locator, seen: string): Promise<void> {
  await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
  await dialog.waitFor({ state: 'detached', timeout: 30_000 });
  await page.getByRole('article').filter({ hasText: seen }).waitFor({ timeout: 30_000 });
}

test('the owner adds a device by scanning its pairing code with the camera; the camera stops once it is read', async () => {
  const a = await ui.node('qr-desk');
  const b = await ui.node('qr-laptop');
  const pk = (await a.call('createStream', { name: 'Ana Lima' })).publicKey;
  const joined = await b.call('joinAsDevice', { key: pk, url: a.lanUrl, name: 'Laptop' });
  assert.match(joined.code, /^drayer-device:/);
  await withCamera(joined.code, async (browser) => {
    const { page, problems, context } = await openWithCamera(browser, a.url);
    await go(page, `#/stream/${encodeURIComponent(pk)}`);
    const card = page.getByRole('region', { name: 'Devices' });
    await card.getByRole('button', { name: 'Add a device' }).click();
    await card.getByRole('button', { name: 'Scan QR code' }).click();
    const field = card.getByLabel('Pairing code or words');
    for (let i = 0; i < 200 && !(await field.inputValue()); i++) await page.waitForTimeout(100);
    assert.equal(await field.inputValue(), joined.code, 'the scanned code, whole, in the field');
    assert.equal(await card.getByLabel('Camera preview').count(), 0, 'the preview closes');
    assert.deepEqual(await cameras(page), { opened: 1, live: 0 }, 'and the camera is stopped');
    await card.getByLabel('Name').fill('Laptop');
    await card.getByRole('button', { name: 'Add device' }).click();
    await card.getByRole('list', { name: 'Devices of this stream' }).getByText('Laptop').waitFor();
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
  // the device hears it was added
  for (let i = 0; i < 60; i++) {
    const v = await b.call('listDevices', { publicKey: pk });
    if (v.mine?.state === 'listed') break;
    await b.call('syncNow', { publicKey: pk }).catch(() => undefined);
    if (i === 59) assert.fail(`the device was not listed: ${JSON.stringify(v.mine)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
});

test("another computer follows a private stream by scanning its read link's QR; a device's dialog refuses that code, saying what it is", async () => {
  const owner = await ui.node('qr-owner');
  const reader = await ui.node('qr-reader');
  const s = await owner.call('createStream', { name: 'Scanned diary', about: '', private: true });
  await owner.call('post', { publicKey: s.publicKey, title: 'Sealed note', body: 'read after a scan' });
  const link = (await owner.call('streamDetails', { publicKey: s.publicKey })).readLink!;
  assert.match(link, /#r=/);
  const mine = (await reader.call('createStream', { name: 'Reader' })).publicKey;
  await withCamera(link, async (browser) => {
    const { page, problems, context } = await openWithCamera(browser, reader.url);
    // the wrong dialog first: a stream's link is no pairing code
    await go(page, `#/stream/${encodeURIComponent(mine)}`);
    const card = page.getByRole('region', { name: 'Devices' });
    await card.getByRole('button', { name: 'Add a device' }).click();
    await card.getByRole('button', { name: 'Scan QR code' }).click();
    await card
      .getByRole('alert')
      .getByText(/This QR code is a stream’s link, not a device’s pairing code: follow it with Follow a stream/)
      .waitFor({ timeout: 20_000 });
    assert.equal(await card.getByLabel('Pairing code or words').inputValue(), '', 'nothing put in the field');
    await page.waitForTimeout(300); // the preview's frame
    await shoot(page, 'qr-scan-device-wrong-kind-light-wide');
    await card.getByRole('button', { name: 'Stop scanning' }).click();
    assert.deepEqual(await cameras(page), { opened: 1, live: 0 }, 'closing the scanner stops the camera');

    const dialog = await scanInFollow(page);
    await dialog.getByText(/A read link: this private stream will be readable here/).waitFor({ timeout: 20_000 });
    assert.equal(await dialog.getByLabel('Key or link').inputValue(), link);
    assert.deepEqual(await cameras(page), { opened: 2, live: 0 });
    await dialog.getByLabel('Address').fill(owner.lanUrl);
    await followAndSee(page, dialog, 'read after a scan');
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
});

test("following by scanning a stream's phone address (Share's QR for phones) fills in its key and where to fetch it", async () => {
  const owner = await ui.node('qr-phone-owner');
  const follower = await ui.node('qr-phone-follower');
  const s = await owner.call('createStream', { name: 'Shop window' });
  await owner.call('post', { publicKey: s.publicKey, title: '', body: 'open on Sundays' });
  await follower.call('createStream', { name: 'Me' });
  const phone = `${owner.lanUrl}/${Buffer.from(s.publicKey, 'base64').toString('base64url')}/`;
  await withCamera(phone, async (browser) => {
    const { page, problems, context } = await openWithCamera(browser, follower.url, { width: 420 });
    const dialog = await scanInFollow(page);
    const key = dialog.getByLabel('Key or link');
    for (let i = 0; i < 200 && !(await key.inputValue()); i++) await page.waitForTimeout(100);
    assert.equal(await key.inputValue(), `drayer:${Buffer.from(s.publicKey, 'base64').toString('base64url')}`);
    assert.equal(await dialog.getByLabel('Address').inputValue(), new URL(owner.lanUrl).host);
    await followAndSee(page, dialog, 'open on Sundays');
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
});

test('a QR code of random text gets a message saying it is not a Drayer code and what to scan; a refused camera is said plainly', async () => {
  const n = await ui.node('qr-random');
  await n.call('createStream', { name: 'Mine' }); // past the first run
  const random = `${'x7Q!'.repeat(10)} شفرة <b>not</b> ‮txt`;
  await withCamera(random, async (browser) => {
    for (const v of [
      { id: 'light-wide', width: 1280, dark: false },
      { id: 'dark-wide', width: 1280, dark: true },
      { id: 'light-narrow', width: 420, dark: false },
      { id: 'dark-narrow', width: 420, dark: true },
    ]) {
      const { page, problems, context } = await openWithCamera(browser, n.url, v);
      const dialog = await scanInFollow(page);
      const alert = dialog.getByRole('alert');
      await alert.getByText(/^This QR code is not a Drayer code: it holds “x7Q!x7Q!/).waitFor({ timeout: 20_000 });
      const said = (await alert.textContent()) ?? '';
      assert.ok(said.includes('Scan the QR code under Share on the stream’s page'), said);
      assert.ok(!said.includes('\u202e') && said.includes('…'), 'the text is cut short and its direction controls are gone');
      assert.equal(await dialog.locator('b').count(), 0, 'and nothing of it is markup');
      assert.equal(await dialog.getByLabel('Key or link').inputValue(), '');
      assert.equal((await cameras(page)).live, 1, 'it keeps looking for a Drayer code');
      const f0 = (await page.evaluate('window.__frames')) as number;
      await page.waitForTimeout(2000);
      const rate = ((await page.evaluate('window.__frames')) as number) - f0;
      assert.ok(rate >= 2 && rate <= 17, `${rate} frames decoded in 2 s: at most 8 a second`);
      await page.waitForTimeout(300); // the preview's frame
      await shoot(page, `qr-scan-not-drayer-${v.id}`);
      // the dialog closed with the scanner open: the camera stops
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.deepEqual(await cameras(page), { opened: 1, live: 0 }, 'closing the dialog stops the camera');
      assert.deepEqual(problems.errors, []);
      await context.close();
    }
  });
  // a camera the browser refuses (a fake one, no consent given), and no camera at all: each said plainly, with what to do
  const refused = await launchBrowser(['--use-fake-device-for-media-stream']);
  try {
    const { page, context } = await openApp(refused, n.url);
    // the browser's own setting, as a person's "Block" leaves it (Chromium's DevTools protocol)
    const cdp = await context.newCDPSession(page);
    const { targetInfo } = await cdp.send('Target.getTargetInfo');
    const browserCdp = await refused.newBrowserCDPSession();
    await browserCdp.send('Browser.setPermission', {
      permission: { name: 'camera' },
      setting: 'denied',
      origin: new URL(n.url).origin,
      browserContextId: targetInfo.browserContextId,
    });
    const dialog = await scanInFollow(page);
    await dialog
      .getByRole('alert')
      .getByText('Drayer may not use the camera: permission was refused. Allow the camera for Drayer')
      .waitFor({ timeout: 20_000 });
    assert.equal(await dialog.getByLabel('Camera preview').count(), 0);
    await shoot(page, 'qr-scan-refused-light-wide');
    await context.close();
  } finally {
    await within(refused.close(), 15_000, 'closing Chromium').catch(() => undefined);
  }
  await ui.withApp(n.url, async ({ page }) => {
    const dialog = await scanInFollow(page);
    await dialog
      .getByRole('alert')
      .getByText(/This computer has no camera Drayer can use|permission was refused/)
      .waitFor({ timeout: 20_000 });
    await dialog.getByRole('button', { name: 'Close scanner' }).click();
    await dialog.getByRole('button', { name: 'Scan QR code' }).waitFor();
  });
});
