// Every main screen of the desktop UI, light and dark, wide and narrow: no serious or critical
// accessibility violations (axe), visible keyboard focus, and a screenshot of each under
// test-results/ui/ for people to look at.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, uiSuite, VIEWS, type UiNode } from './ui-harness.js';

const ui = uiSuite();
let writer: UiNode;
let reader: UiNode;
let fresh: UiNode;
let adaKey = '';
const MIN = 60_000_000; // µs

before(async () => {
  [writer, reader, fresh] = await Promise.all([ui.node('ada'), ui.node('bo'), ui.node('fresh')]);
  const ada = await writer.call('createStream', { name: 'Ada Lovelace', about: 'Notes on engines, numbers and the poetry of science.' });
  adaKey = ada.publicKey;
  await writer.call('post', {
    publicKey: adaKey,
    title: 'On the Analytical Engine',
    body: 'The engine *weaves algebraic patterns* just as the Jacquard loom weaves flowers and leaves.\n\nThree things it needs:\n\n1. a **store** for numbers\n2. a **mill** to work on them\n3. cards to say what to do',
  });
  await writer.call('post', {
    publicKey: adaKey,
    title: '',
    body: 'Quick note: Bernoulli numbers by machine are entirely possible. Draft of note G is [here](https://example.org/note-g).',
  });
  const bo = await reader.call('createStream', { name: 'Bo Chen', about: 'Gardening, bikes, the odd photo.' });
  await reader.call('post', {
    publicKey: bo.publicKey,
    title: 'Garden log, week 12',
    body: 'The tomatoes are finally in. Basil next to them keeps the bugs off, or so they say.\n\n> Plant when the soil is warm, not when the calendar says so.',
  });
  await reader.call('follow', { key: adaKey, url: writer.lanUrl });
  void MIN;
});

for (const v of VIEWS) {
  test(`main screens, ${v.id}: accessible, and screenshots taken`, async () => {
    await ui.withApp(reader.url, v, async ({ page, problems }) => {
      assert.equal(await page.evaluate('document.documentElement.dataset.theme'), v.dark ? 'dark' : 'light', 'the system theme is followed');

      await page.getByRole('article').filter({ hasText: 'On the Analytical Engine' }).waitFor();
      await page.getByRole('article').filter({ hasText: 'Garden log' }).waitFor();
      await shoot(page, `home-${v.id}`);
      await assertAccessible(page, `home ${v.id}`);

      await go(page, `#/stream/${encodeURIComponent(adaKey)}`);
      await page.getByRole('heading', { name: 'Ada Lovelace', level: 2 }).waitFor();
      await page.getByText(/^Synced (just now|\d+ min ago)( from [^·]+)? · 2 posts/).waitFor();
      await shoot(page, `stream-${v.id}`);
      await assertAccessible(page, `stream page ${v.id}`);

      await go(page, '#/search/engine');
      await page
        .locator('mark', { hasText: /engine/i })
        .first()
        .waitFor();
      await shoot(page, `search-${v.id}`);
      await assertAccessible(page, `search ${v.id}`);

      await go(page, '#/nearby');
      await page.getByRole('heading', { name: 'Nearby', level: 1 }).waitFor();
      await page.getByText('No one nearby yet').waitFor();
      await assertAccessible(page, `nearby ${v.id}`);

      await go(page, '#/settings');
      await page.getByRole('heading', { name: 'Appearance' }).waitFor();
      await page.getByLabel('Name on the network').waitFor();
      await shoot(page, `settings-${v.id}`);
      await assertAccessible(page, `settings ${v.id}`);

      await go(page, '#/');
      await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
      await page
        .getByRole('button', { name: /^Follow/ })
        .first()
        .click();
      const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
      await dialog.waitFor();
      await dialog.getByLabel('Key or link').fill('not a key');
      await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
      await dialog.getByRole('alert').waitFor();
      assert.equal(await dialog.getByLabel('Key or link').inputValue(), 'not a key', 'what was typed stays after an error');
      await shoot(page, `follow-error-${v.id}`);
      await assertAccessible(page, `follow dialog ${v.id}`);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      // The bad key's error surfaced in the dialog, not as a console error.
      assert.deepEqual(problems.errors, []);
    });
  });
}

test('first run screen, light and dark, wide and narrow', async () => {
  for (const v of VIEWS) {
    await ui.withApp(fresh.url, v, async ({ page }) => {
      await page.getByRole('heading', { name: 'Make your stream' }).waitFor();
      await shoot(page, `first-run-${v.id}`);
      await assertAccessible(page, `first run ${v.id}`);
    });
  }
});

test('keyboard: focus is visible, every nav item is reachable, the theme can be set to dark', async () => {
  await ui.withApp(reader.url, async ({ page }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    const first = await page.evaluate('document.activeElement.textContent');
    assert.equal(first, 'Skip to content');
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      const [text, outline] = (await page.evaluate(
        '[document.activeElement.textContent.trim(), getComputedStyle(document.activeElement).outlineStyle + " " + getComputedStyle(document.activeElement).outlineWidth]',
      )) as [string, string];
      seen.push(text);
      const tag = (await page.evaluate('document.activeElement.outerHTML.slice(0, 120)')) as string;
      assert.match(outline, /^solid [23]px$/, `focus on "${text}" (${tag}) is visible: ${outline}`);
    }
    for (const label of ['Home', 'Search', 'Nearby']) assert.ok(seen.includes(label), `${label} reachable by Tab: ${seen.join(' | ')}`);

    // Ctrl+, opens settings; the theme radio sets dark and it sticks across a reload
    await page.keyboard.press('Control+,');
    await page.getByRole('heading', { name: 'Appearance' }).waitFor();
    await page.getByRole('radio', { name: 'Dark' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
    await page.reload();
    await page.getByRole('heading', { name: 'Appearance' }).waitFor();
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
    assert.equal(await page.getByRole('radio', { name: 'Dark' }).getAttribute('aria-checked'), 'true');
  });
});
