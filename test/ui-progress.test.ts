// Honest progress and errors in a real Chromium against real nodes (issue 13, items 6–8): a
// follow with a big file shows its progress once per screen, by bytes, with Cancel; Cancel keeps
// what arrived and Resume finishes it; "Synced" only when every chunk is in; a peer that comes
// back clears the old error; the Follow dialog's errors are plain sentences with Details.
// The file travels through a small HTTP relay on 127.0.0.1 that can hold chunk answers back (a
// slow Wi-Fi on demand), so the screens can be looked at while the file is arriving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { assertAccessible, shoot, uiSuite, VIEWS } from './ui-harness.js';

const ui = uiSuite();

/** A relay to `target` on 127.0.0.1: passes everything, except that chunk answers past `allow` wait for release(). */
async function relay(target: string, port = 0) {
  const held: (() => void)[] = [];
  const state = { allow: Infinity, chunks: 0 };
  const srv = http.createServer((req, res) => {
    const go = () => {
      const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (req.url?.includes('/chunk/') && state.chunks++ >= state.allow) held.push(go);
    else go();
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    state,
    port: (srv.address() as AddressInfo).port,
    release() {
      state.allow = Infinity;
      for (const go of held.splice(0)) go();
    },
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Progress bars visible on the page now. */
const visibleBars = (page: Page) => page.locator('[role=progressbar]').filter({ visible: true }).count();

test(
  'a follow with a big file: progress once per screen, by bytes, Cancel keeps what arrived, Resume finishes, then "Synced"',
  { timeout: 240_000 },
  async () => {
    const [a, b] = await Promise.all([ui.node('a'), ui.node('b')]);
    const films = await a.call('createStream', { name: 'Film Club', about: 'Short films, shared on the LAN.' });
    for (let i = 1; i <= 5; i++) await a.call('post', { publicKey: films.publicKey, title: `Screening ${i}`, body: `Notes for screening ${i}.` });
    const size = 24 * 1024 * 1024;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drayer-progress-')), 'reel.mp4');
    fs.writeFileSync(file, crypto.randomBytes(size));
    await a.call('addFiles', { publicKey: films.publicKey, paths: [file] });
    await b.call('createStream', { name: 'Bo' });
    let r = await relay(a.lanUrl);
    r.state.allow = 6; // six of 24 chunks pass, the rest wait: the file is "still arriving"
    try {
      await ui.withApp(b.url, async ({ page, problems }) => {
        // Never "Synced" beside a running pull on the stream page.
        await page.evaluate(`(() => {
        window.__syncedWhileFetching = [];
        new MutationObserver(() => {
          const line = document.querySelector('.profile-sync')?.textContent ?? '';
          if (/Synced/.test(line) && document.querySelector('.follow-state .sync-progress')) window.__syncedWhileFetching.push(line);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      })()`);
        await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
        await page.getByRole('button', { name: 'Follow a stream' }).first().click();
        const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
        await dialog.getByLabel('Key or link').fill(films.publicKey);
        await dialog.getByLabel('Address').fill(`127.0.0.1:${r.port}`); // as Share writes it: no http://
        await dialog.getByRole('button', { name: 'Follow', exact: true }).click();

        // The dialog shows it (and only it): bytes of the whole, and Cancel.
        await dialog.getByText(/MB of 25(\.\d)? MB/).waitFor({ timeout: 30_000 });
        await dialog.getByRole('button', { name: 'Cancel fetching Film Club' }).waitFor();
        assert.equal(await visibleBars(page), 1, 'one progress bar on the screen');
        const pct = Number(await dialog.getByRole('progressbar').getAttribute('aria-valuenow'));
        assert.ok(pct < 50, `the seven records are in, the file is not: ${pct}% (by records it said 100 %)`);
        await shoot(page, 'progress-dialog-light-wide');

        // Put away, the rail carries it on Home: still once.
        await dialog.getByRole('button', { name: 'Continue in background' }).click();
        const rail = page.locator('aside.rail');
        await rail.getByText(/MB of 25(\.\d)? MB/).waitFor();
        await rail.getByRole('button', { name: 'Cancel syncing Film Club' }).waitFor();
        assert.equal(await visibleBars(page), 1, 'one bar on Home (the rail)');
        await shoot(page, 'progress-home-light-wide');

        // On its page, the card shows it; the header says a word, the rail leaves it out.
        await page.getByRole('navigation', { name: 'Main' }).getByText('Film Club').click();
        await page.getByRole('heading', { name: 'Film Club', level: 2 }).waitFor();
        const card = page.getByRole('region', { name: 'Sync progress' });
        await card.getByText(/MB of 25(\.\d)? MB/).waitFor();
        await card.getByRole('button', { name: 'Cancel fetching Film Club' }).waitFor();
        assert.equal(await visibleBars(page), 1, 'one bar on the stream page');
        assert.doesNotMatch((await page.locator('.profile-sync').textContent()) ?? '', /Synced/);
        await shoot(page, 'progress-stream-light-wide');
        await assertAccessible(page, 'stream page while its file arrives');
        for (const v of VIEWS.filter((x) => x.id !== 'light-wide')) {
          await ui.withApp(`${b.url}#/stream/${encodeURIComponent(films.publicKey)}`, v, async (o) => {
            await o.page
              .getByRole('region', { name: 'Sync progress' })
              .getByText(/MB of 25(\.\d)? MB/)
              .waitFor();
            assert.equal(await visibleBars(o.page), 1, `one bar (${v.id})`);
            await shoot(o.page, `progress-stream-${v.id}`);
          });
        }

        // Cancel: stops, keeps what arrived, says so, offers Resume.
        await card.getByRole('button', { name: 'Cancel fetching Film Club' }).click();
        const stopped = page.getByRole('region', { name: 'Sync stopped' });
        await stopped.getByText('You stopped fetching Film Club').waitFor();
        await stopped.getByText(/What arrived is kept: [\d.]+ MB of 25(\.\d)? MB, 5 posts to read\./).waitFor();
        await page
          .locator('.profile-sync')
          .getByText(/Sync stopped/)
          .waitFor();
        assert.equal(await visibleBars(page), 0);
        r.release();
        const kept = await b.call('streamDetails', { publicKey: films.publicKey });
        assert.equal(kept.posts, 5, 'the posts that arrived are kept');
        assert.equal(kept.lastSync?.cancelled, true);
        assert.equal(kept.lastOk, null, 'not synced: the file is not all here');
        await shoot(page, 'progress-stopped-light-wide');
        await assertAccessible(page, 'stream page, sync stopped');

        // Resume finishes it; then, and only then, "Synced".
        await stopped.getByRole('button', { name: 'Resume' }).click();
        await page
          .locator('.profile-sync')
          .getByText(/Synced just now/)
          .waitFor({ timeout: 60_000 });
        const last = await b.call('readFile', { publicKey: films.publicKey, path: 'reel.mp4', offset: size - 16 });
        assert.equal(Buffer.from(last.data, 'base64').length, 16, 'every chunk is here when it says Synced');
        assert.deepEqual(await page.evaluate('window.__syncedWhileFetching'), [], '"Synced" never showed beside a running pull');

        // The peer goes away: the sync fails, in plain words with Details.
        await r.close();
        await page.getByRole('button', { name: 'Sync now' }).click();
        const problem = page.getByRole('region', { name: 'Sync problem' });
        await problem.getByText(`Could not reach the computer at 127.0.0.1:${r.port}.`).waitFor({ timeout: 30_000 });
        await problem.getByText('Details').click();
        await problem.getByText(/Cannot reach 127\.0\.0\.1:\d+/).waitFor();
        await shoot(page, 'progress-peer-gone-light-wide');
        await assertAccessible(page, 'stream page, peer gone');
        // It comes back, and the next sync (the node's own, not this button) clears the error.
        r = await relay(a.lanUrl, r.port);
        await a.call('post', { publicKey: films.publicKey, title: 'Screening 6', body: 'Back again.' });
        await b.call('syncNow', { publicKey: films.publicKey });
        await problem.waitFor({ state: 'detached', timeout: 15_000 });
        await page
          .locator('.profile-sync')
          .getByText(/Synced just now/)
          .waitFor();
        await page.getByRole('feed').getByRole('article').filter({ hasText: 'Screening 6' }).waitFor();
        assert.deepEqual(
          problems.errors.filter((e) => !/Failed to load resource/.test(e)),
          [],
        );
      });
    } finally {
      await r.close().catch(() => {});
    }
  },
);

test('the Follow dialog: a garbage key and a bad address each get one plain sentence, the right field marked, Details kept', { timeout: 120_000 }, async () => {
  const b = await ui.node('dialog');
  await b.call('createStream', { name: 'Bo' });
  const some = Buffer.from(crypto.randomBytes(32)).toString('base64');
  for (const v of VIEWS.filter((x) => x.id === 'light-wide' || x.id === 'dark-narrow')) {
    await ui.withApp(b.url, v, async ({ page, problems }) => {
      await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
      await page
        .getByRole('button', { name: /^Follow( a stream)?$/ })
        .filter({ visible: true })
        .first()
        .click();
      const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
      const key = dialog.getByLabel('Key or link');
      const address = dialog.getByLabel('Address');

      await key.fill('x9$#@!not-a-key');
      await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
      const alert = dialog.getByRole('alert');
      await alert.getByText('That is not a stream key.').waitFor();
      await alert.getByText('Copy the key again, whole: it is under Share on the other computer.').waitFor();
      assert.equal(await key.getAttribute('aria-invalid'), 'true');
      assert.equal(await address.getAttribute('aria-invalid'), null);
      assert.equal(await alert.getByText(/base64/).isVisible(), false, 'the CLI grammar is behind Details');
      await alert.getByText('Details').click();
      await alert.getByText(/not base64/).waitFor();
      assert.equal(await key.inputValue(), 'x9$#@!not-a-key', 'what was typed stays');
      await shoot(page, `follow-error-key-${v.id}`);
      await assertAccessible(page, `follow dialog, bad key (${v.id})`);
      // typing clears it
      await key.fill(some);
      await alert.waitFor({ state: 'detached' });

      await address.fill('ftp://192.168.1.20');
      await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
      await alert.getByText('That address is not one Drayer can use.').waitFor();
      assert.equal(await alert.getByText(/key/i).count(), 0, 'a bad address is not "Copy the key again"');
      assert.equal(await address.getAttribute('aria-invalid'), 'true');
      assert.equal(await key.getAttribute('aria-invalid'), null);
      await shoot(page, `follow-error-address-${v.id}`);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.deepEqual(problems.errors, []);
    });
  }
});
