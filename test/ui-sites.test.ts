// Websites from folders, end to end in a real Chromium against a real headless node (issue 13,
// items 4, 5 and part of 10): a folder whose index.html lies deeper asks which folder is the
// site; a folder with index.html at its top becomes the site (nested css/ kept); the Site tab
// previews it in a sandboxed frame and says plainly that no phone can reach 127.0.0.1; "Update
// from folder" sends only what changed and removes what left, after saying so; a folder is
// removed whole; the app's own media (avatar, post pictures) stay out of Files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { assertAccessible, assertAccessibleWithFrames, shoot, uiSuite, VIEWS } from './ui-harness.js';
import { tmpDir } from './helpers.js';

const ui = uiSuite();

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');

function write(root: string, files: Record<string, string>): void {
  for (const [p, d] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), d);
  }
}

async function pickFolder(page: Page, button: string, dir: string): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('main').getByRole('button', { name: button }).click()]);
  await chooser.setFiles(dir);
}

/** Screenshots of a tab start at the tabs: the stream header above them is another screen's subject. */
async function shootTab(page: Page, name: string): Promise<void> {
  await page.evaluate(`document.querySelector('[role=tablist]').scrollIntoView({ block: 'start' })`);
  await shoot(page, name);
}

const INDEX = (v: string) => `<!doctype html><html lang="en"><meta charset="utf-8"><title>Ada</title><link rel="stylesheet" href="css/site.css">
<h1>Ada’s engine, ${v}</h1><p class="lead">Notes on the Analytical Engine.</p><p><a href="about.html">About</a></p>`;

test('a folder website: which folder, the Site tab previews it, update from the folder, remove a folder; post pictures are not Files', async () => {
  const a = await ui.node('sites');
  const s = await a.call('createStream', { name: 'Ada Lovelace', about: 'Notes and drawings' });
  const pk = s.publicKey;
  // the app's own media: an avatar and a post's picture
  await a.call('setAvatar', { publicKey: pk, data: b64(PNG) });
  await a.call('putFile', { publicKey: pk, path: 'media/mjx3k2a9z1-cake.png', data: b64(PNG) });
  await a.call('post', { publicKey: pk, title: 'Cake', body: '![cake](media/mjx3k2a9z1-cake.png)' });

  const root = tmpDir('drayer-sites-');
  const site = path.join(root, 'mysite');
  write(site, {
    'index.html': INDEX('version one'),
    'css/site.css': 'h1 { color: rgb(0, 0, 128); font-family: serif } .lead { font-size: 20px }',
    'css/vendor/reset.css': '* { box-sizing: border-box }',
    'about.html': '<!doctype html><title>About</title><h1>About Ada</h1>',
  });
  const project = path.join(root, 'project');
  write(project, { 'README.md': '# Project', 'public/index.html': '<h1>Public</h1>', 'public/blog/index.html': '<h1>Blog</h1>', 'src/app.js': 'x' });

  const url = `${a.url}#/stream/${encodeURIComponent(pk)}/files`;
  await ui.withApp(url, async ({ page, problems }) => {
    const main = page.getByRole('main');
    // the avatar and the post picture are in the stream, not among the person's Files
    await main.getByRole('heading', { name: 'Drop files here' }).waitFor();
    const toggle = main.getByLabel(/Show post pictures \(2\)/);
    await toggle.check();
    const list = page.getByRole('list', { name: 'Files of Ada Lovelace' });
    await list.locator('[data-path="media/mjx3k2a9z1-cake.png"]').waitFor();
    await toggle.uncheck();
    await main.getByRole('heading', { name: 'Drop files here' }).waitFor();
    assert.equal(await page.getByRole('tab', { name: /^Files/ }).textContent(), 'Files0');

    // a folder whose index.html lies deeper: the person is asked once
    await pickFolder(page, 'Add folder', project);
    let dialog = page.getByRole('dialog', { name: 'Which folder is the website?' });
    await dialog.getByRole('button', { name: /Publish project\/public\/ as the website/ }).waitFor();
    await assertAccessible(page, 'site root dialog');
    await shoot(page, 'site-root-question-light-wide');
    await dialog.getByRole('button', { name: /Add project as a folder of files/ }).click();
    await list.locator('[data-path="project/public/blog/index.html"]').waitFor();
    await list.locator('[data-folder="project"]').waitFor();
    assert.equal(await page.getByRole('tab', { name: /^Site/ }).count(), 0, 'files under project/ make no site');

    // a folder with index.html at its top becomes the site; nested folders keep their paths
    await pickFolder(page, 'Add folder', site);
    await page.getByText('Added 4 files').waitFor();
    await list.locator('[data-path="css/vendor/reset.css"]').waitFor();
    let files = (await a.call('streamDetails', { publicKey: pk })).files.map((f) => f.path).sort();
    assert.deepEqual(
      files.filter((p) => !p.startsWith('media/') && !p.startsWith('project/')),
      ['about.html', 'css/site.css', 'css/vendor/reset.css', 'index.html'],
    );
    assert.equal(await page.getByRole('tab', { name: /^Files/ }).textContent(), 'Files8', 'post pictures not counted');
    await assertAccessible(page, 'files tab with folders');
    await shootTab(page, 'files-folders-light-wide');

    // the Site tab previews the site as the node serves it, styles and all
    await page.getByRole('tab', { name: /^Site/ }).click();
    const frame = page.frameLocator('iframe[title="Preview of Ada Lovelace’s website"]');
    const h1 = frame.getByRole('heading', { name: 'Ada’s engine, version one' });
    await h1.waitFor();

    assert.equal(
      await h1.evaluate((e: any) => e.ownerDocument.defaultView.getComputedStyle(e).color as string),
      'rgb(0, 0, 128)',
      "the site's nested css/ loads in the preview",
    );
    // a phone cannot open 127.0.0.1: said plainly, no loopback address offered
    await main.getByText(/No phone can reach this computer right now/).waitFor();
    assert.equal(await main.locator('.site-urls').count(), 0, 'no loopback address offered to a phone');
    await assertAccessibleWithFrames(page, problems, 'site tab');
    await shootTab(page, 'site-light-wide');

    // update from the same folder: one page changed, one gone, the css untouched
    const before = (await a.call('streamDetails', { publicKey: pk })).files.find((f) => f.path === 'css/site.css')!;
    fs.writeFileSync(path.join(site, 'index.html'), INDEX('version two'));
    fs.rmSync(path.join(site, 'about.html'));
    fs.utimesSync(path.join(site, 'css', 'site.css'), new Date(), new Date(Date.now() + 60_000)); // a new mtime alone sends nothing
    await pickFolder(page, 'Update from folder', site);
    dialog = page.getByRole('dialog', { name: 'Update the website?' });
    await dialog.getByText('about.html').waitFor();
    await dialog.getByText(/1 changed, 1 removed, 2 unchanged/).waitFor();
    await assertAccessibleWithFrames(page, problems, 'update confirmation');
    await shoot(page, 'site-update-confirm-light-wide');
    await dialog.getByRole('button', { name: 'Update' }).click();
    await page.getByText('Site updated: 1 changed, 1 removed, 2 unchanged').waitFor();
    await frame.getByRole('heading', { name: 'Ada’s engine, version two' }).waitFor();
    const d = await a.call('streamDetails', { publicKey: pk });
    assert.equal(d.files.find((f) => f.path === 'css/site.css')!.time, before.time, 'an unchanged file did not travel');
    assert.ok(!d.files.some((f) => f.path === 'about.html'));
    assert.ok(d.files.some((f) => f.path === 'media/mjx3k2a9z1-cake.png') && d.files.some((f) => f.path === d.avatar), "the app's media stay");
    // the same folder again: nothing to do, nothing asked
    await pickFolder(page, 'Update from folder', site);
    await page.getByText('The site is up to date: 3 unchanged').waitFor();

    // remove a folder whole, after a confirmation
    await page.getByRole('tab', { name: /^Files/ }).click();
    await list.getByRole('button', { name: 'Remove folder project' }).click();
    dialog = page.getByRole('dialog', { name: 'Remove this folder?' });
    await dialog.getByText('Its 4 files').waitFor();
    await assertAccessible(page, 'remove folder dialog');
    await dialog.getByRole('button', { name: 'Remove folder' }).click();
    await list.locator('[data-folder="project"]').waitFor({ state: 'detached' });
    await page.getByText('Removed project (4 files)').waitFor();
    files = (await a.call('streamDetails', { publicKey: pk })).files.map((f) => f.path);
    assert.ok(!files.some((p) => p.startsWith('project/')));
    assert.ok(files.includes('css/vendor/reset.css'));
    assert.deepEqual(problems.errors, []);
  });

  // how it looks: Files and Site, light and dark, wide and narrow
  for (const v of VIEWS) {
    // narrow here is 420 px wide
    await ui.withApp(url, { ...v, width: v.width > 600 ? v.width : 420 }, async (o) => {
      await o.page.getByRole('list', { name: 'Files of Ada Lovelace' }).locator('[data-path="index.html"]').waitFor();
      await shootTab(o.page, `files-folders-${v.id}`);
      await o.page.getByRole('tab', { name: /^Site/ }).click();
      await o.page
        .frameLocator('iframe[title^="Preview of"]')
        .getByRole('heading', { name: /version two/ })
        .waitFor();
      await shootTab(o.page, `site-${v.id}`);
      assert.deepEqual(o.problems.errors, []);
    });
  }
});
