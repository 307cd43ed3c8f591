// Files and pictures of a private stream in the app (issue 19, DESIGN §8), in a real Chromium against
// real headless nodes: the owner adds files with the chooser (sealed by the node), a reader on another
// computer sees them listed, the post's picture and the avatar, and opens a text file; a blind copy's
// Files tab says "sealed: no read key" instead of an empty list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertAccessible, go, imageLoaded, shoot, uiSuite } from './ui-harness.js';
import { makePng } from './pictures.js';

const ui = uiSuite();

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

test("a private stream's files and pictures: added sealed in the app, listed and shown for a reader, sealed for a blind copy", async () => {
  const owner = await ui.node('owner');
  const { publicKey: pk } = await owner.call('createStream', { name: 'حديقة الليل — Night garden', private: true });
  await owner.call('setAvatar', { publicKey: pk, data: b64(makePng(128, 128, [20, 30, 90], [200, 120, 40])) });
  await owner.call('putFile', { publicKey: pk, path: 'media/moon.png', data: b64(makePng(480, 300, [10, 20, 60], [230, 210, 140])), mime: 'image/png' });
  await owner.call('post', { publicKey: pk, title: 'The moon tonight', body: 'Through the fig tree.\n\n![Moon](media/moon.png)' });

  // the owner adds files with the chooser: a text, a long-named one and one bigger than a chunk
  const longName = `${'a-very-long-file-name-'.repeat(9)}.txt`.slice(0, 200);
  await ui.withApp(`${owner.url}#/stream/${encodeURIComponent(pk)}/files`, { width: 1280, height: 800 }, async ({ page, problems }) => {
    const main = page.getByRole('main');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), main.getByRole('button', { name: 'Add files' }).click()]);
    await chooser.setFiles([
      { name: 'seeds.txt', mimeType: 'text/plain', buffer: Buffer.from('Fig, quince, pomegranate: sow in March.') },
      { name: longName, mimeType: 'text/plain', buffer: Buffer.from('long') },
      { name: 'recording.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1_500_000, 7) },
    ]);
    await page.getByText('Added 3 files').waitFor({ timeout: 30_000 });
    const list = page.getByRole('list', { name: /^Files of/ });
    await list.locator('[data-path="recording.bin"]').waitFor();
    assert.ok((await imageLoaded(page, 'nav img.avatar-image')) > 0, "the owner's avatar shows");
    await shoot(page, 'private-files-owner-light-wide');
    await assertAccessible(page, 'private files, owner');
    assert.deepEqual(problems.errors, []);
  });
  const d = await owner.call('streamDetails', { publicKey: pk });
  assert.deepEqual(d.files.map((f) => f.path).sort(), [d.avatar!, longName, 'media/moon.png', 'recording.bin', 'seeds.txt'].sort());
  const file = path.join(owner.dataDir, d.file);
  const stored = Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
  for (const word of ['pomegranate', 'seeds.txt', 'moon.png', 'recording.bin']) assert.ok(!stored.includes(word), `"${word}" is sealed in the stream file`);

  // a reader: the post's picture, the avatar, the files, a text opened
  const reader = await ui.node('reader');
  await reader.call('follow', { key: d.readLink!, url: owner.lanUrl });
  for (const v of [
    { width: 1280, height: 800, dark: false, id: 'light-wide' },
    { width: 420, height: 860, dark: true, id: 'dark-narrow' },
  ]) {
    await ui.withApp(reader.url, v, async ({ page, problems }) => {
      await go(page, `#/stream/${encodeURIComponent(pk)}`);
      await page.getByRole('article').filter({ hasText: 'The moon tonight' }).waitFor();
      assert.equal(await imageLoaded(page, 'article img[alt="Moon"]'), 480, "the post's picture shows");
      assert.equal(await imageLoaded(page, '.profile img.avatar-image'), 128, 'the avatar shows');
      await shoot(page, `private-files-reader-post-${v.id}`);
      await page.getByRole('tab', { name: /^Files/ }).click();
      const list = page.getByRole('list', { name: /^Files of/ });
      await list.locator('[data-path="seeds.txt"]').waitFor();
      await list.locator(`[data-path="${longName}"]`).waitFor();
      assert.equal(await list.getByRole('link', { name: /in the browser/ }).count(), 0, 'no link to the LAN server, which serves no plaintext of it');
      await shoot(page, `private-files-reader-${v.id}`);
      await assertAccessible(page, `private files, reader ${v.id}`);
      await list.getByRole('button', { name: 'seeds.txt', exact: true }).click();
      const preview = page.getByRole('dialog', { name: 'seeds.txt' });
      await preview.getByText('Fig, quince, pomegranate: sow in March.').waitFor();
      await shoot(page, `private-files-reader-preview-${v.id}`);
      await page.keyboard.press('Escape');
      assert.deepEqual(problems.errors, []);
    });
  }

  // a blind copy: the Files tab says why it shows none
  const blind = await ui.node('blind');
  await blind.call('follow', { key: pk, url: owner.lanUrl });
  for (const v of [
    { width: 1280, height: 800, dark: true, id: 'dark-wide' },
    { width: 420, height: 860, dark: false, id: 'light-narrow' },
  ]) {
    await ui.withApp(`${blind.url}#/stream/${encodeURIComponent(pk)}/files`, v, async ({ page, problems }) => {
      await page.getByRole('heading', { name: 'Files sealed: no read key' }).waitFor();
      await page.getByText('Ask its owner for the read link (or its 64 words) to see them.').waitFor();
      assert.equal(await page.getByRole('list', { name: /^Files of/ }).count(), 0);
      await shoot(page, `private-files-sealed-${v.id}`);
      await assertAccessible(page, `private files, sealed ${v.id}`);
      assert.deepEqual(problems.errors, []);
    });
  }
});
