// Calmer screens (issue 13, items 10, 11 and 14), end to end in a real Chromium against real
// headless nodes: a stream's header says one status line in posts, files and size and no key;
// the key and its words live behind "Key & verify", whose compare flow says Match or Does not
// match; the rail's Share card (QR, Copy link, Open Share) follows the stream in view, and Share
// is one click from Home; dialogs start on their first field; an error goes when the input
// changes; the first paint, before any script, is the app shell.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import * as path from 'node:path';
import { assertAccessible, capture, go, shoot, SHOTS, uiSuite, VIEWS, type UiNode } from './ui-harness.js';

const jsQR = jsQRModule as unknown as typeof jsQRModule.default;
const ui = uiSuite();
let writer: UiNode;
let reader: UiNode;
let adaKey = '';
let boKey = '';
// a real 1×1 PNG, for the avatar (under media/, so not one of the user's files)
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

before(async () => {
  [writer, reader] = await Promise.all([ui.node('ada'), ui.node('bo')]);
  const ada = await writer.call('createStream', { name: 'Ada Lovelace', about: 'Notes on engines, numbers and the poetry of science.' });
  adaKey = ada.publicKey;
  await writer.call('setAvatar', { publicKey: adaKey, data: PIXEL });
  await writer.call('post', {
    publicKey: adaKey,
    title: 'On the Analytical Engine',
    body: 'The engine *weaves algebraic patterns* just as the Jacquard loom weaves flowers and leaves.',
  });
  await writer.call('post', { publicKey: adaKey, title: '', body: 'Quick note: Bernoulli numbers by machine are entirely possible.' });
  await writer.call('putFile', { publicKey: adaKey, path: 'notes/note-g.txt', data: Buffer.from('Note G: '.repeat(300)).toString('base64') });
  const bo = await reader.call('createStream', { name: 'Bo Chen', about: 'Gardening, bikes, the odd photo.' });
  boKey = bo.publicKey;
  await reader.call('post', { publicKey: boKey, title: 'Garden log, week 12', body: 'The tomatoes are finally in.' });
  await reader.call('follow', { key: adaKey, url: writer.lanUrl });
});

// taller than the usual views: the stream header and the rail's Share card both in the picture
const VARIANTS = VIEWS.map((v) => ({ ...v, height: 860 }));

async function isFocused(l: Locator): Promise<boolean> {
  return l.evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement);
}

test('the API counts a stream in posts, files and bytes (its files under media/ are the avatar and pictures)', async () => {
  const d = await reader.call('streamDetails', { publicKey: adaKey });
  assert.equal(d.posts, 2);
  assert.deepEqual(d.files.map((f) => f.path).sort(), [d.avatar, 'notes/note-g.txt'].sort());
  assert.ok(d.avatar?.startsWith('media/'));
  const fileBytes = d.files.reduce((n, f) => n + f.size, 0);
  // the files' content, plus the posts' and the profile's values: more than the files, not by much
  assert.ok(d.bytes > fileBytes && d.bytes < fileBytes + 2_000, `bytes ${d.bytes} vs files ${fileBytes}`);
});

for (const v of VARIANTS) {
  test(`stream header and Key & verify, ${v.id}: one status line, no key until asked, words compared`, async () => {
    await ui.withApp(reader.url, v, async ({ page, problems }) => {
      await go(page, `#/stream/${encodeURIComponent(adaKey)}`);
      const profile = page.getByRole('region', { name: 'Profile' });
      await profile.getByRole('heading', { name: 'Ada Lovelace', level: 2 }).waitFor();
      // one line: when, posts, the user's files (the avatar is not one), the size; never records
      const line = profile.getByText(/^Synced (just now|\d+ min ago)( from [^·]+)? · 2 posts · 1 file · \d+(\.\d)? kB$/);
      // (the line fills in as the details arrive: slow on a loaded machine)
      await line.waitFor({ timeout: 30_000 });
      const text = await page.locator('#main').innerText();
      assert.ok(!/records?\b/i.test(text), `no "records" on the stream page:\n${text}`);
      assert.ok(!text.includes('Fingerprint') && !text.includes(adaKey), 'the key and its words are not on the page');
      assert.equal(await page.getByRole('tab', { name: /^Files/ }).innerText(), 'Files1', "the Files tab counts the user's files only");
      for (const name of ['Share', 'More for Ada Lovelace']) await profile.getByRole('button', { name, exact: true }).waitFor();
      await profile.getByRole('button', { name: /^Following/ }).waitFor();
      await shoot(page, `calm-stream-${v.id}`);
      await assertAccessible(page, `stream header ${v.id}`);

      // Key & verify: behind ⋯
      await profile.getByRole('button', { name: 'More for Ada Lovelace' }).click();
      await page.getByRole('menuitem', { name: 'Key & verify' }).click();
      const dialog = page.getByRole('dialog', { name: 'Key & verify' });
      await dialog.waitFor();
      const d = await reader.call('streamDetails', { publicKey: adaKey });
      const words = d.fingerprint.split(' ');
      assert.equal(words.length, 24);
      const grid = dialog.getByRole('list');
      // first(): a random key's 24 words may hold the same word twice
      await grid.getByText(words[0]!, { exact: true }).first().waitFor();
      assert.equal(await grid.getByRole('listitem').count(), 24);
      await dialog.getByText(adaKey, { exact: true }).waitFor();
      await dialog.getByRole('button', { name: 'Copy words' }).waitFor();
      await dialog.getByRole('button', { name: 'Copy key' }).waitFor();
      const input = dialog.getByLabel('Compare with their words');
      assert.ok(await isFocused(input), 'the dialog starts on its field');
      await shoot(page, `calm-key-verify-${v.id}`);
      await assertAccessible(page, `Key & verify ${v.id}`);

      // the first few, typed: so far so good
      await input.fill(words.slice(0, 5).join(' '));
      await dialog.getByRole('status').getByText('5 of 24 words match so far.').waitFor();
      // all of them, as someone would paste them (commas, capitals, new lines)
      await input.fill(words.map((w, i) => (i % 2 ? w.toUpperCase() : w)).join(',\n'));
      await dialog.getByRole('status').getByText('Match', { exact: true }).waitFor();
      await shoot(page, `calm-key-match-${v.id}`);
      // one word wrong: said, and the place marked
      const wrong = [...words];
      wrong[6] = wrong[6] === 'aardvark' ? 'absurd' : 'aardvark';
      await input.fill(wrong.join(' '));
      await dialog.getByRole('status').getByText('Does not match', { exact: true }).waitFor();
      const bad = grid.getByRole('listitem').nth(6);
      assert.match((await bad.getAttribute('class')) ?? '', /kv-differ/);
      assert.match(await bad.innerText(), new RegExp(`${words[6]}\\s+${wrong[6]}`));
      assert.equal(await grid.locator('.kv-differ').count(), 1);
      await shoot(page, `calm-key-mismatch-${v.id}`);
      await assertAccessible(page, `Key & verify, mismatch ${v.id}`);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });

      // your own stream's header: the same line, without a sync
      await go(page, `#/stream/${encodeURIComponent(boKey)}`);
      await page
        .getByRole('region', { name: 'Profile' })
        .getByText(/^Your stream · 1 post · \d+ B$/)
        .waitFor();
      assert.deepEqual(problems.errors, []);
    });
  });
}

async function qrOf(img: Locator): Promise<string | null> {
  const src = (await img.getAttribute('src'))!;
  const png = PNG.sync.read(Buffer.from(src.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

for (const v of VARIANTS.filter((x) => x.width > 1200)) {
  test(`the rail's Share card, ${v.id}: the stream in view, Copy link and Open Share; no bare key`, async () => {
    await ui.withApp(reader.url, v, async ({ page, context, problems }) => {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(reader.url).origin });
      const rail = page.getByRole('complementary');
      const card = rail.getByRole('region', { name: 'Share' });
      // Home: your main stream
      await card.getByText('Bo Chen').waitFor();
      assert.equal(await rail.getByText('Your key').count(), 0);
      assert.ok(!(await rail.innerText()).includes(boKey), 'no base64 key in the rail');
      const bo = await reader.call('streamDetails', { publicKey: boKey });
      const qr = card.getByRole('button', { name: 'Open Share for Bo Chen' }).locator('img');
      await qr.waitFor();
      assert.equal(await qrOf(qr), bo.webUrls[0], 'the thumbnail is the address a phone opens');
      await page.getByRole('article').filter({ hasText: 'Garden log' }).waitFor();
      await shoot(page, `calm-home-share-${v.id}`);
      await assertAccessible(page, `Home with the Share card ${v.id}`);

      await card.getByRole('button', { name: 'Copy link' }).click();
      await card.getByText('Copied').waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), bo.link);

      await card.getByRole('button', { name: 'Open Share', exact: true }).click();
      const share = page.getByRole('dialog', { name: 'Share Bo Chen' });
      await share.waitFor();
      await page.keyboard.press('Escape');
      await share.waitFor({ state: 'detached' });

      // a followed stream in view: its card
      await go(page, `#/stream/${encodeURIComponent(adaKey)}`);
      await card.getByText('Ada Lovelace').waitFor();
      const ada = await reader.call('streamDetails', { publicKey: adaKey });
      await card.getByRole('button', { name: 'Copy link' }).click();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), ada.link);
      await card.getByRole('button', { name: 'Open Share for Ada Lovelace' }).click();
      await page.getByRole('dialog', { name: 'Share Ada Lovelace' }).waitFor();
      await page.keyboard.press('Escape');
      assert.deepEqual(problems.errors, []);
    });
  });
}

test('Share is one click from Home, also where the rail is hidden', async () => {
  for (const width of [1280, 900, 400]) {
    await ui.withApp(reader.url, { width }, async ({ page }) => {
      await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
      assert.equal(await page.getByRole('complementary').isVisible(), width >= 1200);
      await page.getByRole('main').getByRole('button', { name: 'Share Bo Chen' }).click();
      await page
        .getByRole('dialog', { name: 'Share Bo Chen' })
        .getByRole('img', { name: /^QR code of http/ })
        .waitFor();
    });
  }
});

test('every dialog starts on its first field (or Cancel), and an error goes when the input changes', async () => {
  await ui.withApp(reader.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    const focused = async (dialogName: string, field: (d: Locator) => Locator) => {
      const d = page.getByRole('dialog', { name: dialogName });
      await d.waitFor();
      const f = field(d);
      await f.waitFor();
      // focus lands once the dialog is shown
      for (let i = 0; i < 20 && !(await isFocused(f)); i++) await page.waitForTimeout(50);
      assert.ok(await isFocused(f), `${dialogName}: focus on its first field, not ${await page.evaluate('document.activeElement?.outerHTML.slice(0, 120)')}`);
      return d;
    };
    const close = async (d: Locator) => {
      await page.keyboard.press('Escape');
      await d.waitFor({ state: 'detached' });
    };

    // Follow: a bad key's error goes as soon as the key changes
    await page
      .getByRole('button', { name: /^Follow/ })
      .first()
      .click();
    let d = await focused('Follow a stream', (x) => x.getByLabel('Key or link'));
    await page.keyboard.type('not a key');
    await d.getByRole('button', { name: 'Follow', exact: true }).click();
    await d.getByRole('alert').waitFor();
    await d.getByLabel('Key or link').press('End');
    await page.keyboard.type('!');
    await d.getByRole('alert').waitFor({ state: 'detached' });
    await close(d);

    await page
      .getByRole('button', { name: /New stream/ })
      .first()
      .click();
    d = await focused('New stream', (x) => x.getByLabel('Name'));
    await close(d);

    await go(page, '#/settings');
    await page.getByRole('button', { name: 'Restore from words' }).click();
    d = await focused('Restore from backup words', (x) => x.getByLabel('Backup words'));
    await close(d);

    // Open a file (a useSubmit form): the failure shows, and goes when the path changes
    await page.getByRole('button', { name: 'Open a file' }).click();
    d = await focused('Open a stream file', (x) => x.getByLabel('Path of the stream file'));
    await page.keyboard.type('/nowhere/at/all.stream');
    await d.getByRole('button', { name: 'Open', exact: true }).click();
    await d.getByRole('alert').waitFor();
    await d.getByLabel('Path of the stream file').press('End');
    await page.keyboard.press('Backspace');
    await d.getByRole('alert').waitFor({ state: 'detached' });
    assert.equal(await d.getByLabel('Path of the stream file').inputValue(), '/nowhere/at/all.strea', 'what was typed stays');
    await close(d);

    await go(page, `#/stream/${encodeURIComponent(boKey)}`);
    await page.getByRole('button', { name: 'Edit profile' }).click();
    d = await focused('Edit profile', (x) => x.getByLabel('Name'));
    await close(d);
    await page.getByRole('button', { name: 'More for Bo Chen' }).click();
    await page.getByRole('menuitem', { name: 'Export a copy' }).click();
    d = await focused('Export a copy', (x) => x.getByRole('textbox'));
    await close(d);
    await page.getByRole('button', { name: 'More for Bo Chen' }).click();
    await page.getByRole('menuitem', { name: 'Key & verify' }).click();
    d = await focused('Key & verify', (x) => x.getByLabel('Compare with their words'));
    await close(d);
    // a confirmation without fields starts on Cancel, never on the dangerous button
    await page
      .getByRole('feed')
      .getByRole('button', { name: /More|Post actions/ })
      .first()
      .click();
    await page.getByRole('menuitem', { name: /^Delete/ }).click();
    d = await focused('Delete this post?', (x) => x.getByRole('button', { name: 'Cancel' }));
    await close(d);

    await go(page, `#/stream/${encodeURIComponent(adaKey)}`);
    await page.getByRole('button', { name: /^Following/ }).click();
    d = await focused('Unfollow Ada Lovelace?', (x) => x.getByRole('radio', { name: /Keep the copy/ }));
    await d.getByText(/^Its 2 posts stay on this computer/).waitFor();
    await close(d);
    assert.deepEqual(problems.errors, []);
  });
});

test('the first paint, before any script, is the app shell with skeletons', async () => {
  const html = await (await fetch(reader.url)).text();
  assert.match(html, /class="shell boot-shell"/);
  assert.match(html, /Loading Drayer…/);
  assert.ok(!/<style|style="/.test(html), 'no inline style: the CSP allows only the stylesheet');
  for (const dark of [false, true]) {
    const context = await ui.context({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 }, colorScheme: dark ? 'dark' : 'light' });
    try {
      const page = await context.newPage();
      await page.goto(reader.url);
      await page.getByRole('navigation', { name: 'Main' }).getByText('Drayer').waitFor();
      assert.equal(await page.locator('.skeleton').count(), 3);
      assert.ok(await page.locator('.skeleton').first().isVisible());
      // the stylesheet applies (the system's theme too), not a blank white page
      const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
      assert.equal(bg, dark ? 'rgb(22, 24, 28)' : 'rgb(246, 247, 249)');
      // (shoot() waits on fonts through a script: not here)
      await capture(page, { path: path.join(SHOTS, `calm-first-paint-${dark ? 'dark' : 'light'}-wide.png`) });
    } finally {
      await context.close();
    }
  }
});
