// Home's timeline in a real Chromium against real nodes (issue 13 items 1, 2 and 12): after the
// journey that once listed a post twice, following a stream and live posts, edits and deletes
// from a second node keep Home newest first with one card per post; new posts appear at once at
// the top and wait behind the pill only when the reader has scrolled away; followed streams with
// posts not seen carry an unread dot in the sidebar, kept across a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { assertAccessible, shoot, uiSuite } from './ui-harness.js';

const ui = uiSuite();

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
).toString('base64');

/** The cards on Home as a person reads them, top to bottom: accessible name and time. */
async function cards(page: Page): Promise<{ name: string; time: number }[]> {
  // runs in the page (this file is compiled without the DOM's types)
  type El = { getAttribute(n: string): string | null; querySelector(s: string): { dateTime?: string } | null };
  type Doc = { getElementById(id: string): { textContent: string | null } | null };
  return page
    .getByRole('feed', { name: 'Posts' })
    .getByRole('article')
    .evaluateAll((els: El[]) =>
      els.map((el) => {
        const doc = (globalThis as unknown as { document: Doc }).document;
        const by = el.getAttribute('aria-labelledby');
        const name = (by ? doc.getElementById(by)?.textContent : el.getAttribute('aria-label')) ?? '';
        return { name: name.trim(), time: Date.parse(el.querySelector('time')?.dateTime ?? '') };
      }),
    );
}

/** Newest first, one card per post: what Home must show at every moment. */
async function assertOrdered(page: Page, when: string): Promise<string[]> {
  const list = await cards(page);
  const names = list.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, `${when}: one card per post: ${names.join(' | ')}`);
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1]!.time >= list[i]!.time, `${when}: newest first: ${names.join(' | ')}`);
  return names;
}

const article = (page: Page, title: string) => page.getByRole('feed', { name: 'Posts' }).getByRole('article', { name: title, exact: true });

test('Home through the journey of issue 13: one card per post, newest first, live posts, edits and deletes; the pill only away from the top', async () => {
  const a = await ui.node('tl-writer');
  const sa = await a.call('createStream', { name: 'Ada', about: '' });
  const b = await ui.node('tl-reader');
  const sb = await b.call('createStream', { name: 'Bo', about: '' });
  // The journey of item 1 on B: avatar, a post with a picture, edited, another post, deleted.
  await b.call('setAvatar', { publicKey: sb.publicKey, data: PNG });
  for (let i = 1; i <= 8; i++)
    await b.call('post', { publicKey: sb.publicKey, title: `Bo note ${i}`, body: `Filler so the page scrolls.\n\n${'A line of text. '.repeat(12)}` });
  await b.call('putFile', { publicKey: sb.publicKey, path: 'media/cat.png', data: PNG, mime: 'image/png' });
  const cat = await b.call('post', { publicKey: sb.publicKey, title: 'Cat', body: 'My cat.\n\n![cat](media/cat.png)' });
  await b.call('editPost', { publicKey: sb.publicKey, key: cat.key, title: 'Cat', body: 'My lovely cat.\n\n![cat](media/cat.png)' });
  const other = await b.call('post', { publicKey: sb.publicKey, title: 'Gone soon', body: 'Deleted next.' });
  await b.call('deletePost', { publicKey: sb.publicKey, key: other.key });
  const keys = (await b.call('timeline', {})).map((t) => t.key);
  assert.equal(new Set(keys).size, keys.length, 'the API lists each post once');
  await a.call('post', { publicKey: sa.publicKey, title: 'Ada earlier', body: 'Before the follow.' });

  await ui.withApp(b.url, async ({ page, problems }) => {
    await article(page, 'Cat').waitFor();
    await page.reload(); // the journey's "reload"
    await article(page, 'Cat').waitFor();
    assert.deepEqual((await assertOrdered(page, 'after the reload')).slice(0, 2), ['Cat', 'Bo note 8']);

    // Scrolled away from the top, a follow's posts wait behind the pill.
    await page.evaluate('window.scrollTo(0, 600)');
    await page.waitForFunction('window.scrollY >= 500');
    await b.call('follow', { key: sa.publicKey, url: a.lanUrl });
    const pill = page.getByRole('button', { name: /new posts?$/ });
    await pill.waitFor();
    assert.equal(await article(page, 'Ada earlier').count(), 0, 'held behind the pill');
    await a.call('post', { publicKey: sa.publicKey, title: 'Ada live 1', body: 'Posted after the follow.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await page.getByRole('button', { name: '2 new posts' }).waitFor();
    await shoot(page, 'home-pill-scrolled-light-wide');
    await page.getByRole('button', { name: '2 new posts' }).click();
    await page.waitForFunction('window.scrollY === 0');
    await article(page, 'Ada live 1').waitFor();
    await pill.waitFor({ state: 'detached' });
    const names = await assertOrdered(page, 'after the pill');
    const nodeOrder = (await b.call('timeline', {})).map((t) => t.title);
    assert.deepEqual(names, nodeOrder.slice(0, names.length), "the cards in the node's order");
    assert.equal(names[0], 'Ada live 1', 'the newest on top');
    assert.ok(names.includes('Ada earlier'));

    // At the top, live posts just appear: no pill.
    await a.call('post', { publicKey: sa.publicKey, title: 'Ada live 2', body: 'Seen at once.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await article(page, 'Ada live 2').waitFor();
    assert.equal(await pill.count(), 0, 'no pill at the top');
    assert.equal((await assertOrdered(page, 'a live post at the top'))[0], 'Ada live 2');

    // An edit updates its card in place; a delete of the ID tip re-issues its neighbour (a move).
    const tl = await a.call('timeline', {});
    const earlier = tl.find((t) => t.title === 'Ada earlier')!;
    const live2 = tl.find((t) => t.title === 'Ada live 2')!;
    await a.call('editPost', { publicKey: sa.publicKey, key: earlier.key, title: 'Ada earlier, edited', body: 'Edited.' });
    await a.call('deletePost', { publicKey: sa.publicKey, key: live2.key });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await article(page, 'Ada earlier, edited').waitFor();
    await article(page, 'Ada live 2').waitFor({ state: 'detached' });
    const after = await assertOrdered(page, 'after an edit and a delete');
    assert.equal(after[0], 'Ada live 1');
    assert.equal(after.filter((n) => n.startsWith('Ada earlier')).length, 1);
    assert.equal(after.filter((n) => n === 'Ada live 1').length, 1, 'the re-issued post shows once');

    // Away from the top once more: one new post, the pill, then it leads the list.
    await page.evaluate('window.scrollTo(0, 600)');
    await page.waitForFunction('window.scrollY >= 500');
    await a.call('post', { publicKey: sa.publicKey, title: 'Ada live 3', body: 'Behind the pill.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await page.getByRole('button', { name: '1 new post' }).click();
    await article(page, 'Ada live 3').waitFor();
    assert.equal((await assertOrdered(page, 'after the second pill'))[0], 'Ada live 3');
    // the node agrees: each post once
    const final = (await b.call('timeline', {})).map((t) => `${t.streamKey}/${t.key}`);
    assert.equal(new Set(final).size, final.length);
    await assertAccessible(page, 'home with live posts');
    assert.deepEqual(problems.errors, []);
  });
});

test('unread dots: a followed stream with posts not seen is marked in the sidebar, across a reload, until its page or the post is viewed', async () => {
  const a = await ui.node('dot-writer');
  const sa = await a.call('createStream', { name: 'Ada', about: '' });
  await a.call('post', { publicKey: sa.publicKey, title: 'First', body: 'Hello.' });
  const b = await ui.node('dot-reader');
  await b.call('createStream', { name: 'Bo', about: '' });
  await b.call('follow', { key: sa.publicKey, url: a.lanUrl });

  await ui.withApp(b.url, async ({ page, problems }) => {
    const sidebar = page.getByRole('navigation', { name: 'Main' });
    const ada = sidebar.getByRole('link', { name: /^Ada/ });
    const unread = sidebar.getByRole('link', { name: /^Ada\b.*new posts$/ });
    // On Home at the top the post is in view: seen, no dot.
    await article(page, 'First').waitFor();
    await ada.waitFor();
    await page.waitForTimeout(300);
    assert.equal(await unread.count(), 0, 'a post in view is seen');

    // Elsewhere (Settings), a new post from Ada marks her stream.
    await sidebar.getByRole('link', { name: 'Settings' }).click();
    await a.call('post', { publicKey: sa.publicKey, title: 'Second', body: 'While you were away.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await unread.waitFor();
    await shoot(page, 'sidebar-unread-light-wide');
    // kept across a reload
    await page.reload();
    await unread.waitFor();
    // opening the stream's page clears it, and that too is kept
    await ada.click();
    await page.getByRole('heading', { name: 'Ada', level: 2 }).waitFor();
    await unread.waitFor({ state: 'detached' });
    await sidebar.getByRole('link', { name: 'Settings' }).click();
    await page.reload();
    await ada.waitFor();
    await page.waitForTimeout(300);
    assert.equal(await unread.count(), 0, 'seen stays seen after a reload');

    // Another post while away; going Home shows it at the top (in view): the dot clears.
    await a.call('post', { publicKey: sa.publicKey, title: 'Third', body: 'Read on Home.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await unread.waitFor();
    await sidebar.getByRole('link', { name: 'Home' }).click();
    await article(page, 'Third').waitFor();
    await unread.waitFor({ state: 'detached' });

    // A post read on its own page (its permalink) is seen too.
    await sidebar.getByRole('link', { name: 'Settings' }).click();
    const fifth = await a.call('post', { publicKey: sa.publicKey, title: 'Fifth', body: 'Read on its own page.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await unread.waitFor();
    await page.evaluate(
      (h) => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = h;
      },
      `#/post/${encodeURIComponent(sa.publicKey)}/${encodeURIComponent(fifth.key)}`,
    );
    await page.getByText('Read on its own page.').waitFor();
    await unread.waitFor({ state: 'detached' });
    assert.deepEqual(problems.errors, []);
  });
  // narrow and dark: the dot sits on the avatar
  await ui.withApp(b.url + '#/settings', { width: 800, height: 700, dark: true }, async ({ page }) => {
    await a.call('post', { publicKey: sa.publicKey, title: 'Fourth', body: 'Narrow.' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /^Ada\b.*new posts$/ })
      .waitFor();
    await shoot(page, 'sidebar-unread-dark-narrow');
    await assertAccessible(page, 'sidebar with an unread dot');
  });
});
