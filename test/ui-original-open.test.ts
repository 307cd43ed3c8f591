// Issue 20.2 in the app: "Open stream file" given a file the original Drayer wrote offers to import
// it (saying what happens: a copy is made, the original never changed, its key file keeps working),
// then opens the copy. Through the API and in real Chromium, with the committed fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertAccessible, shoot, uiSuite, VIEWS } from './ui-harness.js';
import { tmpDir } from './helpers.js';

const ui = uiSuite();
const FIXTURE = fileURLToPath(new URL('../../test/fixtures/original/small.stream', import.meta.url));
const FIXTURE_KEY = 'qNgGxeu1hjKHDsmzE4W2+EQIoAbIkUgdAXZU+Ji+Rmc=';
const OFFER =
  /^old\.stream is a stream file of the original Drayer \(\d+ records\)\. Importing it makes a Drayer copy in your Drayer folder and opens that; the original file is never changed, and its key file keeps working\.$/;

/** The fixture and its key file copied to a folder of their own (`name`), and the hashes of both. */
function originalCopy(name = 'old.stream'): { file: string; sums: () => string[] } {
  const dir = tmpDir('drayer-orig-open-');
  const file = path.join(dir, name);
  fs.copyFileSync(FIXTURE, file);
  fs.copyFileSync(`${FIXTURE}.privatekey`, `${file}.privatekey`);
  const sums = () =>
    [file, `${file}.privatekey`].map((f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex')).concat(fs.readdirSync(dir).sort().join(','));
  return { file, sums };
}

test('openStreamFile on an original Drayer file: refused with the offer; with importOriginal a verified copy opens, writable with its key', async () => {
  const { file, sums } = originalCopy();
  const before = sums();
  const n = await ui.node('original-api');
  const offer = await n.call('openStreamFile', { path: file }).then(
    () => assert.fail('an original file is not opened as it is'),
    (e: { code?: string; message: string }) => e,
  );
  assert.equal(offer.code, 'ORIGINAL_FILE');
  assert.match(offer.message, OFFER);
  assert.deepEqual(await n.call('listStreams', undefined), [], 'nothing was taken in');

  const s = await n.call('openStreamFile', { path: file, importOriginal: true });
  assert.equal(s.publicKey, FIXTURE_KEY);
  assert.equal(s.owned, true, 'its key file was copied beside the copy: yours to write');
  assert.equal(s.posts, 12);
  const details = await n.call('streamDetails', { publicKey: s.publicKey });
  assert.equal(path.dirname(details.path), n.dataDir, 'the copy is in the data folder');
  assert.equal(path.basename(details.path), 'old.stream');
  assert.equal((await n.call('getPost', { publicKey: s.publicKey, key: 'Post 3' }))?.body, 'Post 3, edited.');
  const written = await n.call('post', { publicKey: s.publicKey, title: 'After the import', body: 'signed with the original key' });
  assert.equal((await n.call('verifyStream', { publicKey: s.publicKey })).intact, true);
  assert.ok((await n.call('listPosts', { publicKey: s.publicKey })).some((p) => p.key === written.key));
  assert.deepEqual(sums(), before, 'the original file, its key file and its folder are as they were');
  assert.match(n.output(), /Imported .*old\.stream \(a stream file of the original Drayer\) into .*: \d+ records\./);

  // asked again: the stream is here already, nothing is imported twice
  await assert.rejects(n.call('openStreamFile', { path: file, importOriginal: true }), /already holds that stream.*nothing was imported/);
  assert.equal(fs.readdirSync(n.dataDir).filter((f) => f.endsWith('.stream')).length, 1);
  // importOriginal on a Drayer file changes nothing: it opens as any stream file would
  await assert.rejects(n.call('openStreamFile', { path: details.path, importOriginal: true }), /already open here/);
});

test('the app: Open a stream file offers the import of an original file, says what it does, and opens the copy', async () => {
  const { file, sums } = originalCopy();
  const before = sums();
  const n = await ui.node('original-ui');
  const offerShown = async (page: import('playwright-core').Page) => {
    await page.getByRole('button', { name: 'Open a stream file' }).click();
    await page.getByLabel('Path of the stream file').fill(file);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const status = page.getByRole('status', { name: 'An original Drayer file' });
    await status.waitFor();
    assert.match((await status.textContent())!.trim(), OFFER);
    assert.equal(await page.getByRole('alert').count(), 0, 'an offer, not an error');
  };
  for (const v of VIEWS) {
    await ui.withApp(n.url, { width: v.width, height: v.height, dark: v.dark }, async ({ page }) => {
      await offerShown(page);
      await shoot(page, `original-open-offer-${v.id}`);
      if (v.id === 'light-wide') await assertAccessible(page, 'the import offer');
    });
  }
  await ui.withApp(n.url, async ({ page, problems }) => {
    await offerShown(page);
    // a new path takes the offer back: it was for that file
    const field = page.getByLabel('Path of the stream file');
    await field.fill(`${file}x`);
    await page.getByRole('button', { name: 'Open', exact: true }).waitFor();
    await field.fill(file);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('button', { name: 'Import and open' }).click();
    await page.getByRole('article').filter({ hasText: 'Post 3, edited.' }).waitFor();
    assert.match(await page.evaluate('location.hash'), new RegExp(encodeURIComponent(FIXTURE_KEY).replace(/[+]/g, '\\+').slice(0, 12)));
    await shoot(page, 'original-open-imported');
    assert.deepEqual(
      problems.errors.filter((e) => !/Failed to load resource/.test(e)),
      [],
    );
  });
  const list = await n.call('listStreams', undefined);
  assert.deepEqual(
    list.map((s) => [s.publicKey, s.owned, s.posts]),
    [[FIXTURE_KEY, true, 12]],
  );
  assert.deepEqual(sums(), before, 'the original file is never changed');
});
