// Journeys of files, sharing and pictures, end to end in a real Chromium against real headless
// nodes: files added with the chooser and by drop (folders keep their paths), listed, opened and
// deleted, a Site tab once there is an index.html; the Share dialog's QR codes decoded from a
// screenshot and opened on an emulated phone; avatars and pictures attached to posts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devices, type Page } from 'playwright-core';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { assertAccessible, assertAccessibleWithFrames, capture, go, imageLoaded, shoot, SHOTS, uiSuite, VIEWS, within } from './ui-harness.js';
import { tmpDir } from './helpers.js';
import { makePng } from './pictures.js';

const ui = uiSuite();

// jsqr is CommonJS: its module.exports is the function
const jsQR = jsQRModule as unknown as (typeof jsQRModule)['default'];

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');

/** Decode the QR code shown by an <img>, from a screenshot of it (what a phone's camera sees). */
async function decodeQr(page: Page, selector: string): Promise<string> {
  const shot = await capture(page.locator(selector));
  const png = PNG.sync.read(shot);
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  assert.ok(code, 'the QR code decodes');
  return code.data;
}

test('files: add with the chooser and by drop (folders keep their paths), list, open, delete; a Site tab once index.html is there', async () => {
  const a = await ui.node('files');
  const s = await a.call('createStream', { name: 'Ada Lovelace', about: 'Notes and drawings' });
  await ui.withApp(`${a.url}#/stream/${encodeURIComponent(s.publicKey)}/files`, async ({ page, context, problems }) => {
    const main = page.getByRole('main');
    await main.getByRole('heading', { name: 'Drop files here' }).waitFor();
    assert.equal(await page.getByRole('tab', { name: /^Site/ }).count(), 0, 'no Site tab without index.html');
    await assertAccessible(page, 'files tab, empty');

    // the chooser: two files
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), main.getByRole('button', { name: 'Add files' }).click()]);
    assert.ok(chooser.isMultiple());
    await chooser.setFiles([
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Engine notes\nline two <b>not bold</b>') },
      { name: 'drawing.png', mimeType: 'image/png', buffer: makePng(320, 200, [59, 91, 219], [112, 72, 232]) },
    ]);
    const list = page.getByRole('list', { name: 'Files of Ada Lovelace' });
    await list.getByRole('button', { name: 'notes.txt', exact: true }).waitFor();
    await list.getByRole('button', { name: 'drawing.png', exact: true }).waitFor();
    await page.getByText('Added 2 files').waitFor();

    // a folder through the chooser keeps its relative paths
    const dir = path.join(tmpDir('drayer-album-'), 'album');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a.md'), '# Album\n\nSome **markdown**.');
    fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), 'deep');
    fs.writeFileSync(path.join(dir, '.hidden'), 'left out');
    const [folderChooser] = await Promise.all([page.waitForEvent('filechooser'), main.getByRole('button', { name: 'Add folder' }).click()]);
    await folderChooser.setFiles(dir);
    await list.locator('[data-path="album/sub/b.txt"]').waitFor();
    await list.locator('[data-path="album/a.md"]').waitFor();

    // a drop of files onto the page (a DataTransfer as a drag from the desktop would carry)
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['<!doctype html><title>Ada</title><h1>Ada’s site</h1>'], 'index.html', { type: 'text/html' }));
      dt.items.add(new File(['body { color: navy }'], 'style.css', { type: 'text/css' }));
      document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
      document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      window.__dt = dt;
    })()`);
    await page.getByText('Drop to add to Ada Lovelace').waitFor();
    await shoot(page, 'files-drop-light-wide');
    await page.evaluate(`document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: window.__dt, bubbles: true, cancelable: true }))`);
    await list.locator('[data-path="index.html"]').waitFor();
    await list.locator('[data-path="style.css"]').waitFor();
    await page.getByText('Drop to add to Ada Lovelace').waitFor({ state: 'detached' });

    const d = await a.call('streamDetails', { publicKey: s.publicKey });
    assert.deepEqual(d.files.map((f) => f.path).sort(), ['album/a.md', 'album/sub/b.txt', 'drawing.png', 'index.html', 'notes.txt', 'style.css']);
    assert.equal(d.files.find((f) => f.path === 'drawing.png')?.mime, 'image/png');
    assert.ok(d.localUrl);
    // the list says name, type, size and date
    const row = list.locator('[data-path="notes.txt"]');
    assert.match((await row.textContent()) ?? '', /TXT text.*\d+ B.*now/);
    assert.ok((await imageLoaded(page, '[data-path="drawing.png"] img')) === 320, 'images get a thumbnail');
    await shoot(page, 'files-light-wide');
    await assertAccessible(page, 'files tab');

    // open: text in a preview, as text
    await list.getByRole('button', { name: 'notes.txt', exact: true }).click();
    let dialog = page.getByRole('dialog', { name: 'notes.txt' });
    await dialog.locator('pre', { hasText: 'line two <b>not bold</b>' }).waitFor();
    assert.equal(await dialog.locator('b').count(), 0);
    await assertAccessible(page, 'file preview');
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'detached' });
    // markdown rendered, images large
    await list.getByRole('button', { name: 'album/a.md', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'a.md' });
    await dialog.locator('strong', { hasText: 'markdown' }).waitFor();
    await page.keyboard.press('Escape');
    await list.getByRole('button', { name: 'drawing.png', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'drawing.png' });
    assert.equal(await imageLoaded(page, '.preview-image img'), 320);
    await shoot(page, 'file-preview-light-wide');
    // "open in browser" goes through the node's own server, sandboxed
    const openHref = await dialog.getByRole('link', { name: 'Open in browser' }).getAttribute('href');
    assert.equal(openHref, `${d.localUrl}webAccess/drawing.png`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const htmlHref = await list.getByRole('link', { name: 'Open index.html in the browser' }).getAttribute('href');
    const res = await fetch(htmlHref!);
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);

    // delete, confirmed
    await list.getByRole('button', { name: 'Delete notes.txt' }).click();
    dialog = page.getByRole('dialog', { name: 'Delete this file?' });
    await dialog.getByText('notes.txt').waitFor();
    await assertAccessible(page, 'delete file dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.ok(!(await a.call('streamDetails', { publicKey: s.publicKey })).files.some((f) => f.path === 'notes.txt'));

    // the Site tab: the site opens at the node's address
    const siteTab = page.getByRole('tab', { name: /^Site/ });
    await siteTab.click();
    const openSite = page.getByRole('link', { name: 'Open site' });
    assert.equal(await openSite.getAttribute('href'), d.localUrl);
    assert.equal(await page.getByRole('link', { name: 'Website' }).getAttribute('href'), d.localUrl, 'the profile links the site');
    await shoot(page, 'site-light-wide');
    await assertAccessibleWithFrames(page, problems, 'site tab');
    const [popup] = await Promise.all([context.waitForEvent('page'), openSite.click()]);
    await popup.getByRole('heading', { name: 'Ada’s site' }).waitFor();
    await popup.close();
    // the tab is in the address: a reload comes back to it
    assert.match(page.url(), /\/site$/);
    await page.reload();
    await page.getByRole('link', { name: 'Open site' }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
});

test("share: the QR codes decode to the stream's web address and key link; a phone sees the site, or the posts with markdown, avatar and pictures", async () => {
  const a = await ui.node('share');
  const cafe = await a.call('createStream', { name: 'Cafe Lumen', about: 'Coffee, cake & the odd concert.' });
  await a.call('setAvatar', { publicKey: cafe.publicKey, data: b64(makePng(128, 128, [201, 42, 42], [255, 180, 0])) });
  await a.call('putFile', { publicKey: cafe.publicKey, path: 'media/cake.png', data: b64(makePng(600, 400, [250, 220, 180], [160, 90, 40])) });
  await a.call('post', {
    publicKey: cafe.publicKey,
    title: 'Today',
    body: 'We have **lemon cake** and *espresso*.\n\n![the cake](media/cake.png)\n\n<script>window.__pwned = 1</script>',
  });
  const site = await a.call('createStream', { name: 'Ada site' });
  await a.call('putFile', {
    publicKey: site.publicKey,
    path: 'index.html',
    data: b64('<!doctype html><meta name="viewport" content="width=device-width"><title>Ada</title><h1>Welcome to Ada’s site</h1>'),
  });
  const cafeDetails = await a.call('streamDetails', { publicKey: cafe.publicKey });

  await ui.withApp(`${a.url}#/stream/${encodeURIComponent(cafe.publicKey)}`, async ({ page, problems }) => {
    const phone = await ui.browser.newContext({ ...devices['Pixel 7'], timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    try {
      await page.getByRole('heading', { name: 'Cafe Lumen', level: 2 }).waitFor();
      await page.getByRole('main').getByRole('button', { name: 'Share', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Share Cafe Lumen' });
      // these nodes listen on 127.0.0.1 only: the dialog says a phone cannot reach it, not "scan with a phone"
      await dialog.getByText('Only this computer can open this address: it has no network address a phone can reach.', { exact: false }).waitFor();
      assert.equal(await dialog.getByText('Scan with a phone on the same Wi-Fi.').count(), 0);
      await dialog.locator('.qr img').waitFor();
      await dialog.getByText(cafeDetails.webUrls[0]!).waitFor();
      await dialog.getByRole('button', { name: 'Copy address' }).waitFor();
      await shoot(page, 'share-phone-light-wide');
      await assertAccessible(page, 'share dialog, phone');
      const url = await decodeQr(page, '.dialog .qr img');
      assert.equal(url, cafeDetails.webUrls[0]);

      await dialog.getByRole('tab', { name: 'Another computer' }).click();
      await dialog.getByText(cafeDetails.link).waitFor();
      assert.equal(await decodeQr(page, '.dialog .qr img'), cafeDetails.link);
      assert.match(cafeDetails.link, /^drayer:/);
      await shoot(page, 'share-computer-light-wide');
      await assertAccessible(page, 'share dialog, computer');
      await page.keyboard.press('Escape');

      // the phone opens the decoded address: the generated page of a stream without index.html
      const mobile = await phone.newPage();
      const phoneErrors: string[] = [];
      mobile.on('console', (m) => m.type() === 'error' && phoneErrors.push(m.text()));
      mobile.on('pageerror', (e) => phoneErrors.push(e.message));
      await mobile.goto(url);
      await mobile.getByRole('heading', { name: 'Cafe Lumen', level: 1 }).waitFor();
      assert.equal(await mobile.locator('strong').first().textContent(), 'lemon cake');
      assert.equal(await mobile.locator('em').first().textContent(), 'espresso');
      assert.equal(await imageLoaded(mobile, 'img.avatar.big'), 128, 'the avatar shows');
      assert.equal(await imageLoaded(mobile, 'img[alt="the cake"]'), 600, 'the post picture shows');
      await mobile.getByText('<script>window.__pwned = 1</script>').waitFor();
      assert.equal(await mobile.evaluate('window.__pwned'), undefined);
      // dates in the reader's time zone (Tokyo here), formatted by the page's own script
      const iso = (await mobile.locator('article time').first().getAttribute('datetime'))!;
      const tokyo = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
      const shown = (await mobile.locator('article time').first().textContent())!;
      assert.ok(shown.includes(tokyo) && !shown.includes('UTC'), `${shown} shows ${tokyo}`);
      // it fits a phone: nothing wider than the screen
      assert.equal(await mobile.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true);
      fsShot(await capture(mobile, { fullPage: true }), 'phone-stream-page');
      assert.deepEqual(phoneErrors, []);

      // a stream with an index.html: its Share QR takes the phone to the site itself
      await go(page, `#/stream/${encodeURIComponent(site.publicKey)}`);
      await page.getByRole('heading', { name: 'Ada site', level: 2 }).waitFor();
      await page.getByRole('main').getByRole('button', { name: 'Share', exact: true }).click();
      await page.getByRole('dialog', { name: 'Share Ada site' }).locator('.qr img').waitFor();
      const siteUrl = await decodeQr(page, '.dialog .qr img');
      await mobile.goto(siteUrl);
      await mobile.getByRole('heading', { name: 'Welcome to Ada’s site' }).waitFor();
      fsShot(await capture(mobile), 'phone-site');
      assert.deepEqual(problems.errors, []);
    } finally {
      await within(phone.close(), 15_000, 'closing the phone').catch(() => undefined);
    }
  });
});

function fsShot(buf: Buffer, name: string): void {
  fs.mkdirSync(SHOTS, { recursive: true });
  fs.writeFileSync(path.join(SHOTS, `${name}.png`), buf);
}

test('pictures: an avatar chosen at first run and changed in Edit profile; a picture attached to a post (and another while editing it), stored in the stream and shown', async () => {
  const a = await ui.node('pictures');
  await ui.withApp(a.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Make your stream' }).waitFor();
    await page.getByLabel('Name').fill('Bo Chen');
    const [avatarChooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Add a picture' }).click()]);
    await avatarChooser.setFiles({ name: 'me.png', mimeType: 'image/png', buffer: makePng(400, 300, [11, 114, 133], [8, 127, 91]) });
    await page.getByRole('button', { name: 'Change picture' }).waitFor();
    await shoot(page, 'first-run-avatar-light-wide');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.getByRole('button', { name: 'Skip for now' }).click(); // the key backup step
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    const [mine] = await a.call('listStreams', undefined);
    assert.match(mine!.avatar ?? '', /^media\/avatar-.+\.(webp|png)$/);
    // the avatar shows in the sidebar and the composer, cropped square and made small
    assert.equal(await imageLoaded(page, 'nav img.avatar-image'), 256);
    assert.equal(await imageLoaded(page, '.composer img.avatar-image'), 256);

    // attach a picture to a post
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Attach pictures' }).click()]);
    await chooser.setFiles({ name: 'Garden View.png', mimeType: 'image/png', buffer: makePng(640, 420, [43, 138, 62], [250, 240, 200]) });
    await page.getByRole('list', { name: 'Pictures to post' }).getByRole('img', { name: 'Garden View.png' }).waitFor();
    await page.getByLabel('Post', { exact: true }).fill('The garden, **finally** green.');
    await shoot(page, 'composer-attachment-light-wide');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    const card = page.getByRole('article').filter({ hasText: 'finally' });
    await card.waitFor();
    assert.equal(await imageLoaded(page, 'article .md-image img'), 640, 'the picture shows in the timeline, read through the node');
    assert.equal(await card.locator('img[alt="Garden View"]').count(), 1);
    assert.equal(await page.getByRole('list', { name: 'Pictures to post' }).count(), 0, 'the composer empties');
    const [post] = await a.call('listPosts', { publicKey: mine!.publicKey });
    const ref = /!\[Garden View\]\((media\/[^)]+\.png)\)/.exec(post!.body)?.[1];
    assert.ok(ref, post!.body);
    const details = await a.call('streamDetails', { publicKey: mine!.publicKey });
    assert.ok(
      details.files.some((f) => f.path === ref && f.mime === 'image/png'),
      'the picture is a file of the stream',
    );
    await shoot(page, 'home-picture-light-wide');
    await assertAccessible(page, 'home with a picture');
    // clicking it opens it large, with its alt text; Esc closes
    await card.getByRole('button', { name: 'Open image: Garden View' }).click();
    await page.getByRole('dialog', { name: 'Picture: Garden View' }).locator('img[alt="Garden View"]').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Picture: Garden View' }).waitFor({ state: 'detached' });

    // editing the post attaches pictures too (the composer's attach, in the in-place editor)
    await card.getByRole('button', { name: 'Post actions' }).click();
    await page.getByRole('menuitem', { name: 'Edit' }).click();
    const editForm = card.locator('form.editor');
    const [editChooser] = await Promise.all([page.waitForEvent('filechooser'), editForm.getByRole('button', { name: 'Attach pictures' }).click()]);
    await editChooser.setFiles({ name: 'Pond.png', mimeType: 'image/png', buffer: makePng(500, 260, [30, 90, 200], [200, 230, 250]) });
    await editForm.getByRole('list', { name: 'Pictures to post' }).getByRole('img', { name: 'Pond.png' }).waitFor();
    await editForm.getByRole('button', { name: 'Save' }).click();
    await editForm.waitFor({ state: 'detached' });
    await card.locator('img[alt="Pond"]').waitFor();
    assert.equal(await imageLoaded(page, 'article .md-image img[alt="Pond"]'), 500, 'the new picture shows in the card, read through the node');
    assert.equal(await card.locator('img[alt="Garden View"]').count(), 1, 'the first picture stays');
    const [edited] = await a.call('listPosts', { publicKey: mine!.publicKey });
    assert.equal(edited!.key, post!.key, 'the same post, edited');
    assert.ok(edited!.body.startsWith(post!.body), edited!.body);
    const pondRef = /!\[Pond\]\((media\/[^)]+\.png)\)/.exec(edited!.body)?.[1];
    assert.ok(pondRef, edited!.body);
    const detailsAfterEdit = await a.call('streamDetails', { publicKey: mine!.publicKey });
    assert.ok(
      detailsAfterEdit.files.some((f) => f.path === pondRef && f.mime === 'image/png'),
      "the edit's picture is a file of the stream",
    );

    // Edit profile: a new picture replaces the old one
    await go(page, `#/stream/${encodeURIComponent(mine!.publicKey)}`);
    await page.getByRole('button', { name: 'Edit profile' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit profile' });
    assert.equal(await imageLoaded(page, '.dialog img.avatar-image'), 256);
    const [again] = await Promise.all([page.waitForEvent('filechooser'), dialog.getByRole('button', { name: 'Change picture' }).click()]);
    await again.setFiles({ name: 'new.png', mimeType: 'image/png', buffer: makePng(200, 200, [134, 46, 156], [59, 91, 219]) });
    await assertAccessible(page, 'edit profile with a picture');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const [after] = await a.call('listStreams', undefined);
    assert.ok(after!.avatar && after!.avatar !== mine!.avatar, 'a new avatar file');
    assert.equal(await imageLoaded(page, '.profile img.avatar-image'), 200);
    assert.deepEqual(problems.errors, []);
  });
});

test('files, site and share screens, light and dark, wide and narrow: accessible, screenshots taken', async () => {
  const a = await ui.node('screens');
  const s = await a.call('createStream', { name: 'Ada Lovelace', about: 'Notes on engines, numbers and the poetry of science.' });
  await a.call('setAvatar', { publicKey: s.publicKey, data: b64(makePng(160, 160, [59, 91, 219], [112, 72, 232])) });
  const files: [string, string | Buffer][] = [
    ['index.html', '<!doctype html><h1>Ada</h1>'],
    ['notes/engine.md', '# The Engine\n\nIt weaves **algebraic patterns**.'],
    ['notes/bernoulli.txt', 'B0 = 1, B1 = -1/2, B2 = 1/6'],
    ['drawings/loom.png', makePng(300, 200, [11, 114, 133], [250, 240, 200])],
    ['drawings/mill.png', makePng(300, 200, [160, 90, 40], [250, 220, 180])],
    ['letters/to-babbage.pdf', Buffer.from('%PDF-1.4 not really')],
  ];
  for (const [p, data] of files) await a.call('putFile', { publicKey: s.publicKey, path: p, data: b64(data) });
  await a.call('post', { publicKey: s.publicKey, title: 'The loom', body: 'How the Jacquard loom inspired the *engine*:\n\n![the loom](drawings/loom.png)' });
  for (const v of VIEWS) {
    await ui.withApp(`${a.url}#/stream/${encodeURIComponent(s.publicKey)}/files`, v, async ({ page, problems }) => {
      await page.locator('[data-path="drawings/loom.png"] img').waitFor();
      const toTabs = 'window.scrollTo({ top: document.querySelector(".tabs").getBoundingClientRect().top + window.scrollY - 64 })';
      await page.evaluate(toTabs);
      await shoot(page, `files-${v.id}`);
      await assertAccessible(page, `files ${v.id}`);
      await page.getByRole('tab', { name: /^Site/ }).click();
      await page.getByRole('link', { name: 'Open site' }).waitFor();
      await shoot(page, `site-${v.id}`);
      await assertAccessible(page, `site ${v.id}`);
      await page.getByRole('tab', { name: /^Posts/ }).click();
      await page.locator('article .md-image img').waitFor();
      await page.evaluate(toTabs);
      await shoot(page, `stream-picture-${v.id}`);
      await page.getByRole('main').getByRole('button', { name: 'Share', exact: true }).click();
      await page.locator('.dialog .qr img').waitFor();
      await shoot(page, `share-${v.id}`);
      await assertAccessible(page, `share ${v.id}`);
      await page.keyboard.press('Escape');
      assert.deepEqual(problems.errors, []);
    });
  }
});
