// Issue 9's key and stream-file journeys in a real Chromium against real headless nodes: key
// backup with its check and a restore on another node, opening stream files, the stream page's
// sync status, servers, verify and export, settings, errors as states, the windowed timeline, and
// axe plus screenshots of the new screens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { Stream } from '../app/store/store.js';
import { encodePost } from '../app/store/posts.js';
import { assertAccessible, shoot, recordNotifications, uiSuite, until, VIEWS, type UiNode } from './ui-harness.js';
import { tmpDir } from './helpers.js';

const ui = uiSuite();

/** The words of the backup grid, in order. */
async function gridWords(page: Page): Promise<string[]> {
  const grid = page.getByRole('list', { name: 'Secret key words, in order' });
  await grid.waitFor();
  return grid.locator('.word-w').allTextContents();
}

/** Answer the check step with the words asked for (wrong ones first when `wrongFirst`). */
async function passCheck(page: Page, words: string[], wrongFirst = false): Promise<void> {
  await page.getByRole('button', { name: 'I wrote them down' }).click();
  const fields = page.getByRole('form', { name: 'Check your backup' }).getByRole('textbox');
  await fields.first().waitFor();
  const labels = await page.getByRole('form', { name: 'Check your backup' }).locator('.field-label').allTextContents();
  const asked = labels.map((l) => Number(l.replace('Word ', '')) - 1);
  assert.equal(asked.length, 3);
  if (wrongFirst) {
    for (let i = 0; i < 3; i++) await fields.nth(i).fill(i === 1 ? 'wrongword' : words[asked[i]!]!);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByText(`That is not word ${asked[1]! + 1}.`).waitFor();
    assert.equal(await fields.nth(0).inputValue(), words[asked[0]!], 'what was typed stays');
  }
  for (let i = 0; i < 3; i++) await fields.nth(i).fill(` ${words[asked[i]!]!.toUpperCase()} `);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.getByText('Your key is backed up').waitFor();
}

test('key backup at first run with its check, then "restore from words" on another node: it posts, and followers accept it', async () => {
  const a = await ui.node('ada');
  const b = await ui.node('bo');
  const c = await ui.node('cy');
  let words: string[] = [];
  let pk = '';
  await ui.withApp(a.url, async ({ page, problems }) => {
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.getByRole('heading', { name: 'Back up your key' }).waitFor();
    words = await gridWords(page);
    assert.equal(words.length, 32);
    pk = (await a.call('listStreams', undefined))[0]!.publicKey;
    assert.deepEqual(words, (await a.call('keyBackup', { publicKey: pk })).words);
    await shoot(page, 'first-run-backup-light-wide');
    await assertAccessible(page, 'first run key backup');
    await passCheck(page, words, true);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.getByLabel('Post', { exact: true }).fill('Written on the first computer');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await page.getByRole('article').filter({ hasText: 'Written on the first computer' }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
  await c.call('follow', { key: pk, url: a.lanUrl });

  await ui.withApp(b.url, async (second) => {
    const p2 = second.page;
    await p2.getByRole('button', { name: 'Restore from backup words' }).click();
    const box = p2.getByLabel('Backup words');
    // a wrong word: said plainly, and nothing typed is lost
    const bad = [...words];
    bad[9] = 'wordy';
    await box.fill(bad.join(' '));
    await p2.getByLabel('Fetch it from').fill(a.lanUrl);
    await p2.getByRole('button', { name: 'Restore', exact: true }).click();
    await p2
      .getByRole('alert')
      .filter({ hasText: /"wordy" at position 10/ })
      .waitFor();
    assert.equal(await box.inputValue(), bad.join(' '));
    await box.fill(words.join('\n'));
    await p2.getByText('A stream with the fingerprint').waitFor();
    await p2.getByRole('button', { name: 'Restore', exact: true }).click();
    await p2.getByRole('heading', { name: 'Ada Lovelace', level: 2 }).waitFor();
    await p2.getByRole('button', { name: 'Edit profile' }).waitFor(); // yours
    await p2.getByRole('article').filter({ hasText: 'Written on the first computer' }).waitFor();
    await p2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    await p2.getByLabel('Post', { exact: true }).fill('Written on the second computer');
    await p2.getByRole('button', { name: 'Post', exact: true }).click();
    await p2.getByRole('article').filter({ hasText: 'Written on the second computer' }).waitFor();
    assert.deepEqual(second.problems.errors, []);
  });
  // C, a follower of the stream from A, takes the post B signed
  await c.call('setStreamSettings', { publicKey: pk, sources: [b.lanUrl] });
  const reports = await c.call('syncNow', { publicKey: pk });
  assert.ok(
    reports.every((r) => !r.error),
    JSON.stringify(reports),
  );
  const titles = (await c.call('listPosts', { publicKey: pk })).map((p) => p.body);
  assert.ok(titles.includes('Written on the second computer'), titles.join(' | '));
  assert.equal((await c.call('verifyStream', { publicKey: pk })).intact, true);
});

test('open a stream file: a damaged one says so and keeps the path; with its key it is yours, without it a mirror', async () => {
  const dir = tmpDir();
  const own = Stream.create(path.join(dir, 'notes.stream'), { name: 'Notes on a stick' });
  own.put('post', 'p1', encodePost({ title: 'From the stick', body: 'hello' }));
  own.close();
  const theirs = Stream.create(path.join(dir, 'theirs.stream'), { name: 'Somebody else' });
  theirs.close();
  fs.rmSync(path.join(dir, 'theirs.stream.privatekey'));
  fs.writeFileSync(path.join(dir, 'broken.stream'), 'SQLite format 3\0'.padEnd(8192, '\u0007'));
  const n = await ui.node('opener');
  await ui.withApp(n.url, async ({ page, problems }) => {
    await page.getByRole('button', { name: 'Open a stream file' }).click();
    const field = page.getByLabel('Path of the stream file');
    await field.fill(path.join(dir, 'broken.stream'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /broken\.stream is (damaged|not a Drayer stream file|an SQLite database but not)/ })
      .waitFor();
    assert.equal(await field.inputValue(), path.join(dir, 'broken.stream'));
    await field.fill(path.join(dir, 'nothing-here.stream'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'There is no file at' }).waitFor();
    await field.fill(path.join(dir, 'notes.stream'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('heading', { name: 'Notes on a stick', level: 2 }).waitFor();
    await page.getByRole('button', { name: 'Edit profile' }).waitFor();
    await page.getByRole('article').filter({ hasText: 'From the stick' }).waitFor();

    await page.evaluate('location.hash = "#/settings"');
    await page.getByRole('button', { name: 'Open a file' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open a stream file' });
    await dialog.getByLabel('Path of the stream file').fill(path.join(dir, 'notes.stream'));
    await dialog.getByRole('button', { name: 'Open', exact: true }).click();
    await dialog.getByRole('alert').filter({ hasText: 'already open here' }).waitFor();
    await dialog.getByLabel('Path of the stream file').fill(path.join(dir, 'theirs.stream'));
    await dialog.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('heading', { name: 'Somebody else', level: 2 }).waitFor();
    await page.getByRole('button', { name: 'Following' }).waitFor(); // a mirror
    const list = await n.call('listStreams', undefined);
    assert.deepEqual(list.map((s) => [s.name, s.owned]).sort(), [
      ['Notes on a stick', true],
      ['Somebody else', false],
    ]);
    assert.deepEqual(
      problems.errors.filter((e) => !/Failed to load resource/.test(e)),
      [],
    );
  });
});

test('stream page: sync status, verify (intact, incomplete, sync to finish), export and its download, primary servers, a peer gone', async () => {
  const a = await ui.node('writer');
  const b = await ui.node('reader');
  const s = await a.call('createStream', { name: 'Ada', about: 'Writes from A' });
  for (let i = 0; i < 3; i++) await a.call('post', { publicKey: s.publicKey, title: `Note ${i}`, body: 'text' });
  await b.call('follow', { key: s.publicKey, url: a.lanUrl });
  const out = tmpDir();

  // the writer's own page: the servers editor validates inline
  await ui.withApp(a.url, async (own) => {
    const page = own.page;
    await page.evaluate(`location.hash = ${JSON.stringify(`#/stream/${encodeURIComponent(s.publicKey)}`)}`);
    await page.getByText('Your stream · 3 posts').waitFor();
    await page.getByText('Stream file, servers and key').click();
    const url = page.getByLabel('Server address');
    await url.fill('not an address');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'That is not an address' }).waitFor();
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    await url.fill('ftp://mirror.example.org');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Only http and https' }).waitFor();
    await url.fill('https://mirror.example.org');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('list', { name: 'Primary servers' }).getByText('https://mirror.example.org').waitFor();
    assert.equal(await url.inputValue(), '');
    assert.deepEqual(
      (await a.call('streamDetails', { publicKey: s.publicKey })).primaryServers.map((p) => p.url),
      ['https://mirror.example.org'],
    );
    await url.fill('https://mirror.example.org/');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'in the list already' }).waitFor();
    await url.fill('http://127.0.0.1:9');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('list', { name: 'Primary servers' }).getByText('http://127.0.0.1:9').waitFor();
    await shoot(page, 'stream-tools-own-light-wide');
    await page.getByRole('button', { name: 'Remove https://mirror.example.org' }).click();
    await page.getByRole('list', { name: 'Primary servers' }).getByText('https://mirror.example.org').waitFor({ state: 'detached' });
    assert.deepEqual(
      (await a.call('streamDetails', { publicKey: s.publicKey })).primaryServers.map((p) => p.url),
      ['http://127.0.0.1:9'],
    );
    assert.deepEqual(own.problems.errors, []);
  });

  await ui.withApp(b.url, async ({ page, problems }) => {
    await page.evaluate(`location.hash = ${JSON.stringify(`#/stream/${encodeURIComponent(s.publicKey)}`)}`);
    const host = a.lanUrl.replace('http://', '');
    const line = page.getByText(/^Synced (just now|\d+ min ago) from the address you gave · \d+ posts?( · [^·]+)*$/);
    await line.waitFor();
    assert.equal(await line.getAttribute('title'), `Last synced from ${host}`, 'where from is there on hover');
    await a.call('post', { publicKey: s.publicKey, title: 'Fresh', body: 'new on A' });
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page
      .getByText(/^(Synced: \d+ changes?|Up to date)$/)
      .first()
      .waitFor();
    await page.getByRole('article').filter({ hasText: 'Fresh' }).waitFor();

    await page.getByText('Stream file, servers').click();
    await page.getByRole('button', { name: 'Verify' }).click();
    let dialog = page.getByRole('dialog', { name: 'Verify Ada' });
    await dialog.getByRole('heading', { name: 'Intact' }).waitFor();
    await dialog.getByText(/Every signature, value and link checks out \(\d+ posts?/).waitFor();
    await shoot(page, 'verify-intact-light-wide');
    await assertAccessible(page, 'verify dialog');
    await page.keyboard.press('Escape');

    // a pull that stopped part way: incomplete, with "Sync to finish"
    const file = (await b.call('streamDetails', { publicKey: s.publicKey })).path;
    const held = Stream.open(file);
    held.markSync(a.lanUrl, true);
    held.close();
    await page.getByRole('button', { name: 'Verify' }).click();
    dialog = page.getByRole('dialog', { name: 'Verify Ada' });
    await dialog.getByRole('heading', { name: 'Incomplete' }).waitFor();
    await shoot(page, 'verify-incomplete-light-wide');
    await dialog.getByRole('button', { name: 'Sync to finish' }).click();
    await dialog.getByRole('heading', { name: 'Intact' }).waitFor();
    await page.keyboard.press('Escape');

    // export: to a path on the node's machine, and as a download
    await page.getByRole('button', { name: 'Export' }).click();
    dialog = page.getByRole('dialog', { name: 'Export a copy' });
    await dialog.getByRole('textbox').fill(path.join(out, 'ada-copy.stream'));
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText(/Saved a copy \(\d+(\.\d)? kB\) to/).waitFor();
    await dialog.getByRole('textbox').fill(path.join(out, 'ada-copy.stream'));
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
    await shoot(page, 'export-light-wide');
    await assertAccessible(page, 'export dialog');
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('link', { name: 'Download the stream file' }).click()]);
    const dl = path.join(out, 'downloaded.stream');
    await download.saveAs(dl);
    for (const f of [path.join(out, 'ada-copy.stream'), dl]) {
      assert.ok(!fs.existsSync(f + '.privatekey'));
      const copy = Stream.open(f);
      try {
        assert.equal(copy.writable, false);
        assert.equal(copy.verify().intact, true);
        assert.equal(copy.count(), (await b.call('streamDetails', { publicKey: s.publicKey })).records);
      } finally {
        copy.close();
      }
    }
    await page.keyboard.press('Escape');

    // the peer goes away: the failure is a state with what to do, and a retry
    await a.stop();
    await page.getByRole('button', { name: 'Sync now' }).click();
    // in plain words, the node's own behind Details (issue 13)
    const banner = page.getByRole('alert').filter({ hasText: 'Could not reach the computer at' });
    await banner.waitFor();
    await banner.getByText('Check that it is on, awake and on this network with Drayer open, then try again.', { exact: false }).waitFor();
    await banner.getByRole('button', { name: 'Try again' }).waitFor();
    await banner.getByText('Details').click();
    await banner.getByText(/Cannot reach .*check the address and that the peer is running/).waitFor();
    await shoot(page, 'stream-peer-gone-light-wide');
    await assertAccessible(page, 'stream page with a sync error');
    assert.deepEqual(problems.errors, []);
  });
});

test('settings: notifications and sync interval are stored; key backup, restore and open are there too', async () => {
  const n = await ui.node('settings');
  const s = await n.call('createStream', { name: 'Cy' });
  await ui.withApp(n.url, async ({ page, context, problems }) => {
    await context.grantPermissions(['notifications']);
    await page.evaluate('location.hash = "#/settings"');
    const toggle = page.getByRole('switch', { name: 'New posts' });
    assert.equal(await toggle.isChecked(), false);
    await toggle.click();
    for (let i = 0; i < 50 && !(await toggle.isChecked()); i++) await page.waitForTimeout(100);
    assert.equal(await toggle.isChecked(), true);
    assert.equal((await n.call('getSettings', undefined)).notifications, true);
    await page.getByLabel('Check for new posts').selectOption('300');
    for (let i = 0; i < 50 && (await n.call('getSettings', undefined)).syncIntervalS !== 300; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await n.call('getSettings', undefined)).syncIntervalS, 300);
    // the sync mode: chosen here, set by the tray (another API caller) too, shown in the sidebar
    const modes = page.getByRole('radiogroup', { name: 'Sync' });
    await modes.getByRole('radio', { name: 'LAN only' }).click();
    for (let i = 0; i < 50 && (await n.call('getSettings', undefined)).syncMode !== 'lan'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await n.call('getSettings', undefined)).syncMode, 'lan');
    const sidebar = page.getByRole('navigation', { name: 'Main' });
    await sidebar.getByRole('status').filter({ hasText: 'LAN only' }).waitFor();
    await n.call('setSettings', { syncMode: 'paused' }); // as the tray does
    await sidebar.getByRole('status').filter({ hasText: 'Sync paused' }).waitFor();
    assert.equal(await modes.getByRole('radio', { name: 'Paused' }).getAttribute('aria-checked'), 'true');
    await page.getByText('Others nearby can still fetch your streams from you').waitFor();
    await modes.getByRole('radio', { name: 'Normal' }).click();
    await sidebar.getByRole('status').waitFor({ state: 'detached' });
    assert.equal((await n.call('getSettings', undefined)).syncMode, 'normal');
    await page.reload();
    assert.equal(await page.getByRole('switch', { name: 'New posts' }).isChecked(), true);

    await page.getByRole('button', { name: 'Back up the key of Cy' }).click();
    const dialog = page.getByRole('dialog', { name: 'Back up your key' });
    const words = await gridWords(page);
    assert.deepEqual(words, (await n.call('keyBackup', { publicKey: s.publicKey })).words);
    await passCheck(page, words);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Restore from words' }).click();
    const restore = page.getByRole('dialog', { name: 'Restore from backup words' });
    await restore.getByLabel('Backup words').fill(words.join(' '));
    await restore.getByText('already yours on this computer').waitFor();
    assert.equal(await restore.getByRole('button', { name: 'Restore', exact: true }).isDisabled(), true);
    assert.deepEqual(problems.errors, []);
  });
});

/** A reader node that does not pull by itself during a test: its interval set long before its scheduler starts. */
async function quietReader(name: string): Promise<UiNode> {
  const first = await ui.node(name);
  await first.call('setSettings', { syncIntervalS: 3600 });
  await first.stop();
  const n = await ui.node(name, { dataDir: first.dataDir });
  await new Promise((r) => setTimeout(r, 2_000)); // its first round (a second after start) is behind it
  return n;
}

test("Ctrl+R syncs now: on a followed stream's page that stream, elsewhere every stream, with a toast; the page does not reload", async () => {
  const a = await ui.node('ctrlr-writer');
  const s = await a.call('createStream', { name: 'Ada', about: 'Writes from A' });
  await a.call('post', { publicKey: s.publicKey, title: 'Before', body: 'Already there.' });
  const b = await quietReader('ctrlr-reader');
  await b.call('follow', { key: s.publicKey, url: a.lanUrl });
  assert.equal((await b.call('listPosts', { publicKey: s.publicKey })).length, 1);
  await ui.withApp(`${b.url}#/stream/${encodeURIComponent(s.publicKey)}`, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Ada', level: 2 }).waitFor();
    const feed = page.getByRole('feed', { name: 'Posts of Ada' });
    await feed.getByRole('article').filter({ hasText: 'Before' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sync now' }).getAttribute('aria-keyshortcuts'), 'Control+R');
    await page.evaluate('window.__notReloaded = true');

    await a.call('post', { publicKey: s.publicKey, title: 'Pulled by Ctrl+R', body: 'Without waiting for the schedule.' });
    await page.waitForTimeout(2_000);
    assert.equal((await b.call('listPosts', { publicKey: s.publicKey })).length, 1, 'the reader does not pull by itself');
    await page.keyboard.press('Control+r');
    await feed.getByRole('article').filter({ hasText: 'Pulled by Ctrl+R' }).waitFor({ timeout: 10_000 });
    await page
      .getByRole('status')
      .getByText(/^Synced: \d+ changes?$/)
      .waitFor();
    assert.equal(await page.evaluate('window.__notReloaded === true'), true, 'Ctrl+R did not reload the page');
    assert.equal((await b.call('listPosts', { publicKey: s.publicKey })).length, 2);

    // elsewhere (Home), Ctrl+R pulls every stream
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    const pill = page.getByRole('button', { name: /new posts?$/ });
    if (await pill.count()) await pill.click(); // what the stream page's sync brought
    await page.getByRole('article').filter({ hasText: 'Pulled by Ctrl+R' }).waitFor();
    await pill.waitFor({ state: 'detached' });
    await a.call('post', { publicKey: s.publicKey, title: 'Pulled from Home', body: 'Every stream.' });
    await page.waitForTimeout(1_000);
    assert.equal((await b.call('listPosts', { publicKey: s.publicKey })).length, 2);
    await page.keyboard.press('Control+r');
    await page.getByRole('article').filter({ hasText: 'Pulled from Home' }).waitFor({ timeout: 10_000 }); // at the top: shown at once
    assert.equal((await b.call('listPosts', { publicKey: s.publicKey })).length, 3);
    assert.equal(await page.evaluate('window.__notReloaded === true'), true);

    // a source gone: the toast says so
    await a.stop();
    await page.keyboard.press('Control+r');
    await page.locator('.toast-error').filter({ hasText: 'Drayer tries again by itself' }).waitFor({ timeout: 20_000 });
    assert.deepEqual(
      problems.errors.filter((e) => !/Failed to load resource/.test(e)),
      [],
    );
  });
});

test('notifications: a new post in a followed stream, with the window in the background, shows one; clicking it opens the stream', async () => {
  const a = await ui.node('notify-writer');
  const s = await a.call('createStream', { name: 'Ada', about: 'Writes from A' });
  await a.call('post', { publicKey: s.publicKey, title: 'Before', body: 'Already there.' });
  const b = await quietReader('notify-reader');
  await b.call('createStream', { name: 'Bo' });
  await b.call('follow', { key: s.publicKey, url: a.lanUrl });
  await b.call('setSettings', { notifications: true });
  await ui.withApp(b.url, async ({ page, context, problems }) => {
    await recordNotifications(context, b.url);
    await page.reload();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.getByRole('article').filter({ hasText: 'Before' }).waitFor();
    // (headless Chromium says "denied" here while the Permissions API says granted: the app trusts the latter)
    assert.equal(await page.evaluate(`navigator.permissions.query({ name: 'notifications' }).then((s) => s.state)`), 'granted');
    assert.equal(await page.evaluate('window.__notifications.length'), 0);

    await a.call('post', { publicKey: s.publicKey, title: 'Ring the bell', body: 'A post to notify about.' });
    const reports = await b.call('syncNow', { publicKey: s.publicKey });
    assert.ok(
      reports.some((r) => r.stored > 0),
      JSON.stringify(reports),
    );
    await until(page, 'window.__notifications.length > 0');
    const made = (await page.evaluate('window.__notifications.map((x) => ({ title: x.title, body: x.body }))')) as { title: string; body: string }[];
    assert.equal(made.length, 1, JSON.stringify(made));
    assert.ok(`${made[0]!.title} ${made[0]!.body}`.includes('Ring the bell'), JSON.stringify(made));
    assert.ok(`${made[0]!.title} ${made[0]!.body}`.includes('Ada'), JSON.stringify(made));

    // your own posts never notify
    const [mine] = (await b.call('listStreams', undefined)).filter((x) => x.owned);
    await b.call('post', { publicKey: mine!.publicKey, title: 'My own', body: 'no bell' });
    await page.getByRole('article').filter({ hasText: 'My own' }).waitFor();
    assert.equal(await page.evaluate('window.__notifications.length'), 1);

    // clicking it opens the stream's page
    await page.evaluate('window.__notifications[0].n.onclick(new Event("click"))');
    await page.getByRole('heading', { name: 'Ada', level: 2 }).waitFor();
    assert.match(page.url(), new RegExp(`#/stream/${encodeURIComponent(s.publicKey).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    await page.getByRole('feed', { name: 'Posts of Ada' }).getByRole('article').filter({ hasText: 'Ring the bell' }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
});

test(
  'a full disk: the composer says what happened and what to do, and keeps the post',
  { skip: process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs' : false },
  async () => {
    const mnt = tmpDir('drayer-ui-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    let n: UiNode | null = null;
    try {
      n = await ui.node('full', { dataDir: path.join(mnt, 'data') });
      await n.call('createStream', { name: 'Full disk' });
      await ui.withApp(n.url, async ({ page, problems }) => {
        await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
        const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
        try {
          for (;;) fs.writeSync(fd, Buffer.alloc(64 * 1024, 1));
        } catch {
          /* full */
        } finally {
          fs.closeSync(fd);
        }
        const body = 'A long thought that needs room. '.repeat(600);
        await page.getByLabel('Title (optional)').fill('Will not fit');
        await page.getByLabel('Post', { exact: true }).fill(body);
        await page.getByRole('button', { name: 'Post', exact: true }).click();
        await page.getByRole('alert').filter({ hasText: 'The disk is full, so nothing was saved. Free some space' }).waitFor();
        assert.equal(await page.getByLabel('Post', { exact: true }).inputValue(), body, 'nothing typed is lost');
        assert.equal(await page.getByLabel('Title (optional)').inputValue(), 'Will not fit');
        await shoot(page, 'disk-full-light-wide');
        fs.rmSync(path.join(mnt, 'filler'));
        await page.getByRole('button', { name: 'Post', exact: true }).click();
        await page.getByRole('article').filter({ hasText: 'Will not fit' }).waitFor();
        assert.deepEqual(problems.errors, []);
      });
    } finally {
      await n?.stop();
      execFileSync('umount', [mnt]);
    }
  },
);

test('the timeline is windowed: a few cards in the DOM of 400 posts, paging as it scrolls, J/K move between posts', async () => {
  const dir = tmpDir();
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const s = Stream.create(path.join(dataDir, 'many.stream'), { name: 'Many' });
  s.batch((w) => {
    for (let i = 0; i < 400; i++)
      w.put(
        'post',
        `p${String(i).padStart(4, '0')}`,
        encodePost({ title: `Post ${i}`, body: i % 3 ? 'short' : 'A longer body.\n\n'.repeat((i % 7) + 1) }),
        1_700_000_000_000_000 + i * 1_000_000,
      );
  });
  s.close();
  const n = await ui.node('many', { dataDir });
  await ui.withApp(n.url, async ({ page, problems }) => {
    await page.getByRole('article').filter({ hasText: 'Post 399' }).waitFor();
    const inDom = await page.getByRole('article').count();
    assert.ok(inDom > 3 && inDom < 30, `${inDom} cards in the DOM`);
    const older = page.getByRole('article').filter({ hasText: /Post ([0-9]|[1-9][0-9]|[12][0-9][0-9])(?![0-9])/ });
    await page.mouse.move(640, 400);
    for (let i = 0; i < 100 && (await older.count()) === 0; i++) {
      await page.mouse.wheel(0, 1500);
      await page.waitForTimeout(50);
    }
    await older.first().waitFor();
    assert.ok((await page.getByRole('article').count()) < 40);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await until(page, 'document.activeElement?.tagName === "ARTICLE" && document.activeElement.textContent.includes("Post 398")');
    await page.keyboard.press('k');
    await until(page, 'document.activeElement?.tagName === "ARTICLE" && document.activeElement.textContent.includes("Post 399")');
    const outline = (await page.evaluate(
      '[getComputedStyle(document.activeElement).outlineStyle, document.activeElement.outerHTML.slice(0, 100)]',
    )) as string[];
    assert.equal(outline[0], 'solid', outline[1]);
    assert.deepEqual(problems.errors, []);
  });
});

test('the new screens: accessible, light and dark, wide and narrow, with screenshots', async () => {
  const a = await ui.node('shots-a');
  const b = await ui.node('shots-b');
  const fresh = await ui.node('shots-fresh');
  const s = await a.call('createStream', { name: 'Ada Lovelace', about: 'Notes on engines, numbers and the poetry of science.' });
  await a.call('post', { publicKey: s.publicKey, title: 'On the Analytical Engine', body: 'The engine *weaves algebraic patterns*.' });
  await a.call('setPrimaryServers', { publicKey: s.publicKey, servers: [{ type: 'http', url: 'https://mirror.example.org' }] });
  await b.call('createStream', { name: 'Bo Chen' });
  await b.call('follow', { key: s.publicKey, url: a.lanUrl });
  for (const v of VIEWS) {
    // the key backup step of the first run
    await ui.withApp(fresh.url, v, async (first) => {
      await first.page.getByRole('button', { name: 'Restore from backup words' }).click();
      await first.page.getByLabel('Backup words').waitFor();
      await shoot(first.page, `restore-${v.id}`);
      await assertAccessible(first.page, `restore ${v.id}`);
    });
    await ui.withApp(a.url, v, async ({ page, problems }) => {
      await page.evaluate(`location.hash = ${JSON.stringify(`#/stream/${encodeURIComponent(s.publicKey)}`)}`);
      await page.getByRole('heading', { name: 'Ada Lovelace', level: 2 }).waitFor();
      await page.getByText('Stream file, servers and key').click();
      await page.getByRole('list', { name: 'Primary servers' }).waitFor();
      await shoot(page, `stream-tools-${v.id}`);
      await assertAccessible(page, `stream tools ${v.id}`);
      await page.getByRole('button', { name: 'Back up key' }).click();
      await gridWords(page);
      await shoot(page, `key-backup-${v.id}`);
      await assertAccessible(page, `key backup ${v.id}`);
      await page.getByRole('button', { name: 'I wrote them down' }).click();
      await page.getByRole('form', { name: 'Check your backup' }).waitFor();
      await shoot(page, `key-check-${v.id}`);
      await assertAccessible(page, `key check ${v.id}`);
      await page.keyboard.press('Escape');
      await page.evaluate('location.hash = "#/settings"');
      await page.getByRole('heading', { name: 'Streams and keys' }).waitFor();
      await page.getByRole('heading', { name: 'Notifications' }).scrollIntoViewIfNeeded();
      await shoot(page, `settings-keys-${v.id}`);
      await assertAccessible(page, `settings ${v.id}`);
      assert.deepEqual(problems.errors, []);
    });
    await ui.withApp(b.url, v, async (follower) => {
      await follower.page.evaluate(`location.hash = ${JSON.stringify(`#/stream/${encodeURIComponent(s.publicKey)}`)}`);
      await follower.page.getByText(/^Synced .* · \d+ posts?/).waitFor();
      await shoot(follower.page, `stream-follower-${v.id}`);
      await assertAccessible(follower.page, `followed stream ${v.id}`);
      await follower.page.getByText('Stream file, servers').click();
      await follower.page.getByRole('button', { name: 'Verify' }).click();
      await follower.page.getByRole('dialog').getByRole('heading', { name: 'Intact' }).waitFor();
      await shoot(follower.page, `verify-${v.id}`);
    });
  }
});
