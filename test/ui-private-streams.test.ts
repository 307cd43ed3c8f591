// Private streams in the app (issue 19, DESIGN §8), in a real Chromium against real headless nodes:
// made private at first run and from the New stream dialog, a lock wherever one is named, a blind
// copy saying "sealed: no read key" instead of empty cards, Share read access (QR, read link, 64
// words), a follow by the read link and by its words (a blind copy given the link reads at once),
// and the backup's 64 words, which restore the read key with the secret key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertAccessible, go, imageLoaded, shoot, uiSuite } from './ui-harness.js';
import { PNG } from 'pngjs';
import { makePng } from './pictures.js';

const ui = uiSuite();

/** A picture that does not compress (random pixels): w×h×3 bytes or so as a PNG. */
function noisyPng(w: number, h: number): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i & 3) === 3 ? 255 : (Math.random() * 256) | 0;
  return PNG.sync.write(png);
}

const ARABIC = 'دفتر سري — ملاحظات لا يقرؤها إلا من يملك الرابط';
const LONG = `${'A private notebook whose name runs on and on '.repeat(5)}`.slice(0, 200);

/** The lock of a private stream (components/Lock.tsx), by its accessible name. */
const lockOf = (page: Page, sealed = false) => page.getByRole('img', { name: sealed ? 'Private, sealed: no read key here' : /^Private: only people/ });

async function followInDialog(page: Page, key: string, address: string): Promise<void> {
  await page.getByRole('button', { name: 'Follow a stream' }).filter({ visible: true }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
  await dialog.getByLabel('Key or link').fill(key);
  await dialog.getByText(/A read link: this private stream will be readable here/).waitFor();
  await dialog.getByLabel('Address').fill(address);
  await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
  await dialog.waitFor({ state: 'detached', timeout: 30_000 });
}

test('a private stream made at first run: the lock, its 64 backup words, and restoring them restores the read key', async () => {
  const a = await ui.node('first');
  let words: string[] = [];
  await ui.withApp(a.url, { width: 1280, height: 800 }, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Make your stream' }).waitFor();
    await page.getByLabel('Name').fill(ARABIC);
    const sw = page.getByRole('switch', { name: 'Private stream' });
    assert.equal(await sw.isChecked(), false, 'public unless asked');
    await sw.click();
    await page.getByText('only people you give its read link to can read them').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add a picture' }).isVisible(), true, 'a private stream has a picture too (sealed like its files)');
    await shoot(page, 'private-first-run-light-wide');
    await assertAccessible(page, 'first run, private');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.getByRole('heading', { name: 'Back up your key' }).waitFor();
    await page.getByText('These 64 words are the secret key and the read key of').waitFor();
    words = await page.getByRole('list', { name: 'Secret key words, in order' }).locator('.word-w').allTextContents();
    assert.equal(words.length, 64);
    await shoot(page, 'private-backup-64-light-wide');
    assert.deepEqual(problems.errors, []);
  });
  const [s] = await a.call('listStreams', undefined);
  assert.equal(s?.private, 'reader');
  assert.equal(s?.name, ARABIC, 'the app names it by its sealed name where the read key is here');
  assert.deepEqual(words, (await a.call('keyBackup', { publicKey: s!.publicKey })).words);
  await a.call('post', { publicKey: s!.publicKey, title: 'سطر أول', body: 'نص لا يقرؤه إلا أصحاب المفتاح' });

  // the 64 words on another computer: the stream is theirs to write, and to read
  const b = await ui.node('restored');
  const r = await b.call('restoreStream', { words: words.join(' '), url: a.lanUrl });
  assert.equal(r.owned, true);
  assert.equal(r.private, 'reader', 'the read key came back with the words');
  const posts = await b.call('listPosts', { publicKey: r.publicKey });
  assert.deepEqual(
    posts.map((p) => p.title),
    ['سطر أول'],
  );
});

test('New stream → private; locks; Share read access; a blind copy says sealed; the read link and its 64 words make readers', async () => {
  const owner = await ui.node('owner');
  await owner.call('createStream', { name: 'Public one' });
  const blind = await ui.node('blind');
  const byWords = await ui.node('words');
  let pk = '';
  let readLink = '';
  let readWords: string[] = [];

  await ui.withApp(owner.url, { width: 1280, height: 800 }, async ({ page, problems }) => {
    await page.getByRole('button', { name: 'New stream' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'New stream' });
    await dialog.getByLabel('Name').fill(LONG); // the field keeps 80 characters; the 200 come through the API below
    await dialog.getByRole('switch', { name: 'Private stream' }).click();
    await shoot(page, 'private-new-dialog-light-wide');
    await assertAccessible(page, 'new stream dialog, private');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    const made = (await owner.call('listStreams', undefined)).find((x) => x.private);
    assert.ok(made, 'made private');
    pk = made.publicKey;
    assert.equal(made.name, LONG.slice(0, 80).trim());
    await owner.call('setStreamInfo', { publicKey: pk, name: LONG });
    // the stream page: a lock in its header, what private means, and Share read access
    await page.getByText('Private: only people with its read link can read it.').waitFor();
    assert.equal(
      await page
        .locator('.page-head-title')
        .getByRole('img', { name: /^Private/ })
        .count(),
      1,
    );
    await owner.call('post', {
      publicKey: pk,
      title: 'Only for readers',
      body: `مرحبا — **bold** and a [link](https://example.org)\n\n${'long '.repeat(400)}`,
    });
    await page.getByRole('article').filter({ hasText: 'Only for readers' }).waitFor();
    // the sidebar names it with a lock; the public one has none
    const side = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await side.getByRole('img', { name: /^Private/ }).count(), 1, 'one lock in the sidebar: the private stream');
    await shoot(page, 'private-stream-page-light-wide');

    await page.getByRole('button', { name: 'Share read access' }).click();
    const share = page.getByRole('dialog', { name: /^Share read access to/ });
    await share.getByRole('tab', { name: 'Another computer' }).click();
    readLink = (await owner.call('streamDetails', { publicKey: pk })).readLink!;
    assert.match(readLink, /^drayer:[\w-]{43}#r=[\w-]{43}$/);
    await share.getByText(readLink).waitFor();
    await share.getByRole('button', { name: 'Copy read link' }).waitFor();
    await share.getByText('The read link as 64 words').click();
    readWords = await share.getByRole('list', { name: 'Read link words, in order' }).locator('.word-w').allTextContents();
    assert.equal(readWords.length, 64);
    await shoot(page, 'private-share-read-light-wide');
    await assertAccessible(page, 'share read access');
    // the phone's address carries the read key in its fragment (never sent to a server)
    await share.getByRole('tab', { name: 'Phone' }).click();
    const phoneUrl = await share.locator('.share-url .mono').textContent();
    assert.ok(phoneUrl?.endsWith(readLink.slice(readLink.indexOf('#'))), `the phone's address ends with #r=…: ${phoneUrl}`);
    await page.keyboard.press('Escape');

    // Home: the post reads like any other, with the lock by its stream's name
    await go(page, '#/');
    const card = page.getByRole('article').filter({ hasText: 'Only for readers' });
    await card.waitFor();
    assert.equal(await card.getByRole('img', { name: /^Private/ }).count(), 1, 'a lock on the card');
    await card.getByText('bold').waitFor();
    assert.deepEqual(problems.errors, []);
  });

  // a copy by the key alone is blind: its page says so plainly, and the read link makes it a reader
  await blind.call('follow', { key: pk, url: owner.lanUrl });
  for (const v of [
    { width: 1280, height: 800, dark: true, id: 'dark-wide' },
    { width: 390, height: 844, dark: false, id: 'light-narrow' },
    { width: 820, height: 800, dark: false, id: 'light-medium' }, // the sidebar as avatars: the lock on the avatar's corner
  ]) {
    await ui.withApp(blind.url, v, async ({ page, problems }) => {
      await go(page, `#/stream/${encodeURIComponent(pk)}`);
      await page.getByRole('heading', { name: 'Sealed: no read key', exact: true }).waitFor();
      await page.getByText('This computer carries and shares it encrypted, and cannot read it.').waitFor();
      assert.equal(await page.getByRole('article').count(), 0, 'no empty cards');
      assert.ok((await lockOf(page, true).count()) >= 1, 'a sealed lock');
      await shoot(page, `private-sealed-${v.id}`);
      await assertAccessible(page, `sealed copy ${v.id}`);
      assert.deepEqual(problems.errors, []);
    });
  }
  await ui.withApp(blind.url, { width: 1280, height: 800 }, async ({ page, problems }) => {
    await go(page, `#/stream/${encodeURIComponent(pk)}`);
    await page.getByRole('button', { name: 'Add the read link' }).click();
    const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
    await dialog.getByLabel('Key or link').fill(readLink);
    await dialog.getByText(/A read link: this private stream will be readable here/).waitFor();
    await shoot(page, 'private-follow-read-link-light-wide');
    await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByRole('article').filter({ hasText: 'Only for readers' }).waitFor();
    assert.equal((await blind.call('streamDetails', { publicKey: pk })).private, 'reader');
    assert.deepEqual(problems.errors, []);
  });

  // the 64 words, typed into the follow dialog of a third computer
  await byWords.call('createStream', { name: 'Reader' });
  await ui.withApp(byWords.url, { width: 400, height: 860, dark: true }, async ({ page, problems }) => {
    await followInDialog(page, readWords.join(' '), owner.lanUrl);
    await page.getByRole('article').filter({ hasText: 'Only for readers' }).waitFor();
    await page.getByRole('heading', { name: LONG, level: 2 }).waitFor();
    await shoot(page, 'private-reader-dark-narrow');
    await assertAccessible(page, 'private stream read by a follower');
    assert.deepEqual(problems.errors, []);
  });
  // a wrong read key: said plainly, and nothing is followed
  const other = await ui.node('other');
  const wrong = readLink.replace(/#r=./, (m) => (m.endsWith('A') ? '#r=B' : '#r=A'));
  await assert.rejects(other.call('follow', { key: wrong, url: owner.lanUrl }), /read key is not this stream's/);
  assert.equal((await other.call('listStreams', undefined)).length, 0);
});

test("a phone opens a private stream's page from its QR address and reads a post, decrypted in the browser; the server never sees the key nor sends plaintext", async () => {
  const owner = await ui.node('phone-owner');
  const name = 'مذكرات الهاتف — phone diary';
  const s = await owner.call('createStream', { name, about: 'Read on a phone, sealed for everyone else', private: true });
  const title = 'عنوان سري: the secret title';
  const secret = 'Nobody but the key holder reads this sentence';
  // its picture and a post's picture are sealed files: the page opens them in the browser
  const avatar = makePng(96, 96, [200, 60, 40], [250, 200, 60]);
  const sketch = makePng(320, 200, [30, 90, 200], [120, 220, 160]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phone-pictures-'));
  const photo = noisyPng(700, 600); // ~1.6 MB: a big file, sealed chunk by chunk
  fs.writeFileSync(path.join(dir, 'secret-sketch.png'), sketch);
  fs.writeFileSync(path.join(dir, 'big-photo.png'), photo);
  await owner.call('setAvatar', { publicKey: s.publicKey, data: avatar.toString('base64') });
  await owner.call('addFiles', { publicKey: s.publicKey, paths: [path.join(dir, 'secret-sketch.png'), path.join(dir, 'big-photo.png')] });
  await owner.call('post', { publicKey: s.publicKey, title: 'An older note', body: 'the first post' });
  await owner.call('post', {
    publicKey: s.publicKey,
    title,
    body: `${secret}, with **bold**, a [link](https://example.org) and <script>alert(1)</script>.\n\n- one\n- two\n\n![a sketch](secret-sketch.png)\n\n![a big photo](big-photo.png)`,
  });
  const d = await owner.call('streamDetails', { publicKey: s.publicKey });
  const fragment = d.readLink!.slice(d.readLink!.indexOf('#'));
  const readKey = fragment.slice('#r='.length);
  const address = `${d.localUrl}${fragment}`; // what Share's QR holds, with this computer's address

  // everything the server answers the phone, and every address it is asked for
  const answers: { url: string; body: Buffer; headers: Record<string, string> }[] = [];
  const context = await ui.context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'light' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => {
    answers.push({ url: r.url(), body: Buffer.alloc(0), headers: r.headers() });
    const a = answers[answers.length - 1]!;
    void r.body().then(
      (b) => (a.body = b),
      () => undefined,
    );
  });
  await page.goto(address);
  const card = page.getByRole('article').filter({ hasText: secret });
  await card.waitFor();
  await card.getByText('bold').waitFor();
  assert.equal(await card.locator('script').count(), 0, 'raw HTML shows as text');
  await card.getByText('<script>alert(1)</script>').waitFor();
  assert.equal(await card.getByRole('link', { name: 'link' }).getAttribute('href'), 'https://example.org');
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await page.getByText('Read on a phone, sealed for everyone else').waitFor();
  await page.getByText('2 posts · decrypted on this device', { exact: true }).waitFor(); // a big file's record opens too: none "did not open"
  assert.match((await page.getByRole('article').first().textContent()) ?? '', /the secret title/, 'newest first');
  // the pictures, decrypted here and shown from blob: URLs
  assert.equal(await imageLoaded(page, 'article img[alt="a sketch"]'), 320, "the post's picture decodes");
  assert.match((await card.locator('img[alt="a sketch"]').getAttribute('src')) ?? '', /^blob:/);
  assert.equal(await imageLoaded(page, '#avatar img'), 96, "the stream's picture decodes");
  assert.ok(photo.length > 1024 * 1024);
  assert.equal(await imageLoaded(page, 'article img[alt="a big photo"]'), 700, 'a big picture: its chunks fetched and opened one by one');
  assert.ok(
    answers.some((a) => /\/chunk\/[0-9a-f]{64}$/.test(a.url)),
    'its sealed chunks came by hash',
  );
  assert.equal(await card.locator('.avatar img').count(), 1, 'the cards show it too');
  await page.evaluate('window.scrollTo(0, 0)');
  await shoot(page, 'private-phone-light-narrow');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shoot(page, 'private-phone-dark-narrow');
  await page.waitForTimeout(200); // the last bodies
  assert.deepEqual(errors, [], 'no script or CSP errors');

  // the page is under the strict CSP: its one script by nonce, fetches to its own server only
  const html = answers.find((a) => a.url === d.localUrl)!;
  assert.match(html.headers['content-security-policy']!, /^default-src 'none'; script-src 'nonce-[^']+'; connect-src 'self';/);
  assert.match(html.headers['content-security-policy']!, /img-src 'self' data: blob:;/, 'pictures from blob: on this page only');
  assert.ok(!html.headers['content-security-policy']!.includes('unsafe-eval') && !html.headers['content-security-policy']!.includes('wasm'));
  assert.ok(
    answers.some((a) => /\/sealed\b/.test(a.url)),
    'the posts came as sealed records',
  );
  // neither the key nor any plaintext in what the server sent or was asked, nor in its log
  const readKeyForms = [readKey, Buffer.from(readKey, 'base64url').toString('base64'), Buffer.from(readKey, 'base64url').toString('hex')];
  const plain = [secret, title, name, 'An older note', 'Read on a phone', 'secret-sketch'];
  for (const a of answers) {
    assert.ok(!a.url.includes('#'), `the fragment never left the browser: ${a.url}`);
    const text = a.body.toString('latin1') + a.body.toString('utf8') + a.url;
    for (const x of [...readKeyForms, ...plain]) {
      assert.ok(!text.includes(x) && !text.includes(Buffer.from(x).toString('base64')), `${a.url} holds "${x}"`);
    }
    // (the blob: answers are the browser's own, from what it decrypted)
    if (!a.url.startsWith('blob:'))
      for (const png of [avatar, sketch, photo]) assert.ok(!a.body.includes(png.subarray(40, 200)), `${a.url} holds a picture's bytes`);
  }
  for (const x of [...readKeyForms, ...plain]) assert.ok(!owner.output().includes(x), `the node's log holds "${x}"`);

  // without the key (the address cut before #) the page says what it needs, and shows nothing
  await page.goto(d.localUrl!);
  await page.getByText(/This stream is private. Its page needs the read key in its address/).waitFor();
  assert.equal(await page.getByRole('article').count(), 0);
  // a wrong key: said plainly, never garbage
  await page.goto(`${d.localUrl}#r=${readKey.startsWith('A') ? 'B' : 'A'}${readKey.slice(1)}`);
  await page.getByText(/The key in this address is not this stream’s/).waitFor();
  assert.equal(await page.getByRole('article').count(), 0);
  await context.close();
});
