// Issue 21 walked as a newcomer would, with the inputs that break layouts: an Arabic name with an
// avatar set before the post was edited, a 200-character name, a 100 KB reply. Reply from a stream
// page and from a permalink (Home's card is ui-talk.test.ts); the thread with the long reply folded
// and the edited root; Mentions & replies; in light and dark, 1280 and 420 px wide.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { assertAccessible, go, NAME_200 as BO, NAME_ARABIC as NUR, shoot, uiSuite, VIEWS, type UiNode } from './ui-harness.js';

const ui = uiSuite();
let nur: UiNode;
let bo: UiNode;
let nurKey = '';
let boKey = '';
let rootKey = '';
const LOOKS = VIEWS.map((v) => (v.width < 1000 ? { ...v, width: 420 } : v));
// a 1×1 PNG, green
const AVATAR = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

before(async () => {
  [nur, bo] = await Promise.all([ui.node('nur'), ui.node('bo')]);
  nurKey = (await nur.call('createStream', { name: NUR, about: 'حديقة على السطح' })).publicKey;
  boKey = (await bo.call('createStream', { name: BO })).publicKey;
  rootKey = (await nur.call('post', { publicKey: nurKey, title: 'حديقة السطح', body: 'Rooftop garden: the first tomatoes.' })).key;
  await nur.call('setAvatar', { publicKey: nurKey, data: AVATAR });
  // edited after the avatar was set, a while after posting (a copy that never held the first version tells an edit by
  // its time, more than a second after the post's): the card keeps the picture and says "edited"
  await new Promise((r) => setTimeout(r, 1200));
  await nur.call('editPost', { publicKey: nurKey, key: rootKey, title: 'حديقة السطح', body: 'Rooftop garden: the first tomatoes are **red**.' });
  await bo.call('follow', { key: nurKey, url: nur.lanUrl });
  await nur.call('follow', { key: boKey, url: bo.lanUrl });
  const long = Array.from({ length: 1700 }, (_, i) => `Line ${i}: the soil, the water and the sun, in that order.`).join('\n\n');
  assert.ok(long.length > 100_000);
  await bo.call('post', { publicKey: boKey, title: '', body: long, replyTo: { streamKey: nurKey, key: rootKey } });
});

const root = (page: Page) => page.getByRole('article', { name: 'حديقة السطح' }).first();

async function replyHere(page: Page, text: string): Promise<void> {
  const card = root(page);
  await card.waitFor();
  await card.getByRole('button', { name: 'Reply' }).first().click();
  const box = card.getByPlaceholder(`Reply to ${NUR}…`);
  await box.fill(text);
  await card.getByRole('button', { name: 'Reply', exact: true }).last().click();
  await page.getByText('Reply posted').waitFor();
}

test('reply from a stream page and from a permalink: both land in the thread', async () => {
  await ui.withApp(bo.url, async ({ page, problems }) => {
    await go(page, `#/stream/${encodeURIComponent(nurKey)}`);
    await replyHere(page, 'From the stream page: سأحضر الشتلات');
    await go(page, `#/post/${encodeURIComponent(nurKey)}/${encodeURIComponent(rootKey)}`);
    await page.getByRole('heading', { name: '2 replies' }).waitFor();
    await replyHere(page, 'From the permalink: and the watering can');
    await page.getByRole('heading', { name: '3 replies' }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
  const t = await bo.call('thread', { streamKey: nurKey, key: rootKey });
  assert.equal(t.replies.length, 3);
  assert.ok(t.replies.some((r) => r.body.startsWith('From the stream page')) && t.replies.some((r) => r.body.startsWith('From the permalink')));
});

for (const v of LOOKS) {
  test(`the thread with a 100 KB reply, an edited root with its avatar and a 200-character name, ${v.id} ${v.width}`, async () => {
    await ui.withApp(bo.url, v, async ({ page, problems }) => {
      await go(page, `#/post/${encodeURIComponent(nurKey)}/${encodeURIComponent(rootKey)}`);
      const card = root(page);
      await card.waitFor();
      await card.locator('img.avatar-image').first().waitFor();
      assert.equal(await card.locator('.post-edited').innerText(), 'edited');
      assert.equal(await card.locator('strong').innerText(), 'red', 'the edit shows');
      const long = page.getByRole('article').filter({ hasText: 'Line 0: the soil' });
      await long.waitFor();
      const h = await long.evaluate((e: any) => e.getBoundingClientRect().height);
      assert.ok(h < 900, `the 100 KB reply is folded (${h} px)`);
      await long.getByRole('button', { name: 'Show more' }).waitFor();
      const sideways = await page.evaluate('document.scrollingElement.scrollWidth - innerWidth');
      assert.ok((sideways as number) <= 0, `nothing scrolls sideways (${String(sideways)} px)`);
      await page.evaluate('window.scrollTo(0, 0)');
      await shoot(page, `talk-walk-thread-${v.id}-${v.width}`);
      await long.scrollIntoViewIfNeeded();
      await shoot(page, `talk-walk-long-reply-${v.id}-${v.width}`);
      if (v.id === 'light-wide') await assertAccessible(page, 'a thread with a 100 KB reply');
      assert.deepEqual(problems.errors, []);
    });
    // the writer's side: Mentions & replies lists the three replies under a 200-character name
    await nur.call('syncNow', { publicKey: boKey });
    await ui.withApp(nur.url, v, async ({ page, problems }) => {
      await go(page, '#/talk');
      await page.getByRole('heading', { name: 'Mentions & replies' }).waitFor();
      await page.getByText('From the permalink').first().waitFor();
      const sideways = await page.evaluate('document.scrollingElement.scrollWidth - innerWidth');
      assert.ok((sideways as number) <= 0, `nothing scrolls sideways (${String(sideways)} px)`);
      await shoot(page, `talk-walk-mentions-${v.id}-${v.width}`);
      assert.deepEqual(problems.errors, []);
    });
  });
}
