// Issue 21 in a real Chromium against three real headless nodes: replies found in a stream this
// node holds without following it are not mixed into the thread; "N more replies from people you
// don't follow" shows them, each marked, and hides them again. Light and dark, wide and narrow,
// with an Arabic name and a 200-character one; axe on the thread.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, uiSuite, VIEWS, type UiNode } from './ui-harness.js';

const ui = uiSuite();
let ada: UiNode;
let adaKey = '';
let rootKey = '';

before(async () => {
  const [a, bo, cy] = await Promise.all([ui.node('ada'), ui.node('bo'), ui.node('cy')]);
  ada = a;
  adaKey = (await ada.call('createStream', { name: 'Ada Lovelace' })).publicKey;
  const boKey = (await bo.call('createStream', { name: 'بو تشن' })).publicKey;
  const cyKey = (await cy.call('createStream', { name: `Cy ${'the very long name '.repeat(10).trim()}`.slice(0, 200) })).publicKey;
  rootKey = (await ada.call('post', { publicKey: adaKey, title: 'Picnic on Saturday?', body: 'Who brings what?' })).key;
  await Promise.all([bo.call('follow', { key: adaKey, url: ada.lanUrl }), cy.call('follow', { key: adaKey, url: ada.lanUrl })]);
  await bo.call('post', { publicKey: boKey, title: '', body: 'سأحضر الشاي', replyTo: { streamKey: adaKey, key: rootKey } });
  await cy.call('post', { publicKey: cyKey, title: '', body: 'I bring a cake, if that is fine.', replyTo: { streamKey: adaKey, key: rootKey } });
  await cy.call('post', { publicKey: cyKey, title: '', body: 'And lemonade.', replyTo: { streamKey: adaKey, key: rootKey } });
  await ada.call('follow', { key: boKey, url: bo.lanUrl });
  await ada.call('follow', { key: cyKey, url: cy.lanUrl, hold: true });
});

for (const v of VIEWS) {
  test(`replies from people you don't follow wait behind a button (${v.id})`, async () => {
    await ui.withApp(ada.url, v, async ({ page, problems }) => {
      await go(page, `#/post/${encodeURIComponent(adaKey)}/${encodeURIComponent(rootKey)}`);
      await page.getByRole('heading', { name: '1 reply' }).waitFor();
      const more = page.getByRole('button', { name: '2 more replies from people you don’t follow' });
      await more.waitFor();
      assert.equal(await page.getByText('I bring a cake').count(), 0, 'not mixed in');
      await shoot(page, `talk-strangers-hidden-${v.id}`);
      await more.click();
      await page.getByText('I bring a cake').waitFor();
      await page.getByRole('heading', { name: '3 replies' }).waitFor();
      assert.equal(await page.locator('.thread-stranger').count(), 2, 'each marked');
      assert.equal(await page.getByRole('button', { name: 'Hide replies from people you don’t follow' }).getAttribute('aria-expanded'), 'true');
      await page.locator('.thread-stranger').first().scrollIntoViewIfNeeded();
      await shoot(page, `talk-strangers-shown-${v.id}`);
      if (v.id === 'light-wide') {
        await assertAccessible(page, 'thread with replies from people you do not follow');
        // the sidebar lists the held stream apart from those followed
        const heldList = page.getByRole('list', { name: 'Held, not followed' });
        assert.match(await heldList.innerText(), /Cy the very long name/);
        assert.doesNotMatch(await page.getByRole('list', { name: 'Following' }).innerText(), /Cy the very/);
      }
      // Home shows none of the held stream's posts
      await go(page, '#/');
      await page.getByRole('article', { name: 'Picnic on Saturday?' }).waitFor();
      assert.equal(await page.getByText('And lemonade.').count(), 0);
      assert.deepEqual(problems.errors, []);
    });
  });
}
