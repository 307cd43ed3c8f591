// The desktop UI's journeys, end to end: a real Chromium drives the renderer served by real
// headless nodes (`drayer serve --ui` on 127.0.0.1), and every check reads what a person sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, shoot, uiSuite } from './ui-harness.js';

const ui = uiSuite();

test('first run: a person makes their stream and lands on Home', async () => {
  const a = await ui.node('first-run');
  await ui.withApp(a.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Make your stream' }).waitFor();
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('About').fill('Notes on the Analytical Engine');
    await page.getByRole('button', { name: 'Create stream' }).click();
    // the key backup step can be skipped (ui-keys.test.ts goes through it)
    await page.getByRole('heading', { name: 'Back up your key' }).waitFor();
    await page.getByRole('button', { name: 'Skip for now' }).click();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByText('Ada Lovelace').waitFor();
    const streams = await a.call('listStreams', undefined);
    assert.equal(streams.length, 1);
    assert.equal(streams[0]!.name, 'Ada Lovelace');
    assert.equal(streams[0]!.about, 'Notes on the Analytical Engine');
    assert.equal(streams[0]!.owned, true);
    // the composer posts to the new stream at once
    await page.getByLabel('Post', { exact: true }).fill('Hello, world');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await page.getByRole('article').filter({ hasText: 'Hello, world' }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
});

test('post, edit and delete: each shows in the timeline and reaches the stream', async () => {
  const a = await ui.node('posting');
  const s = await a.call('createStream', { name: 'Bo', about: '' });
  await ui.withApp(a.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.getByLabel('Title (optional)').fill('Garden log');
    await page.getByLabel('Post', { exact: true }).fill('The **tomatoes** are in.\n\n- basil\n- mint');
    await page.getByLabel('Post', { exact: true }).press('Control+Enter');
    await page.getByRole('article').filter({ hasText: 'Garden log' }).waitFor();
    const [created] = await a.call('listPosts', { publicKey: s.publicKey });
    const card = page.locator(`article[data-post-key="${created!.key}"]`);
    assert.equal(await card.locator('strong').textContent(), 'tomatoes');
    assert.equal(await card.locator('li').count(), 2);
    assert.equal(await page.getByLabel('Title (optional)').inputValue(), '', 'the composer empties after posting');
    let posts = await a.call('listPosts', { publicKey: s.publicKey });
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.title, 'Garden log');
    assert.equal(posts[0]!.body, 'The **tomatoes** are in.\n\n- basil\n- mint');

    // edit in place
    await card.getByRole('button', { name: 'Post actions' }).click();
    await page.getByRole('menuitem', { name: 'Edit' }).click();
    const body = card.getByLabel('Post', { exact: true });
    await body.fill('The tomatoes are *ripe*.');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.locator('em', { hasText: 'ripe' }).waitFor();
    posts = await a.call('listPosts', { publicKey: s.publicKey });
    assert.equal(posts[0]!.body, 'The tomatoes are *ripe*.');

    // delete, confirmed
    await card.getByRole('button', { name: 'Post actions' }).click();
    await page.getByRole('menuitem', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this post?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await card.waitFor({ state: 'detached' });
    await page.getByText('Nothing here yet').waitFor();
    assert.equal((await a.call('listPosts', { publicKey: s.publicKey })).length, 0);
    assert.deepEqual(problems.errors, []);
  });
});

test('a hostile post renders as text: no element, script or link it asks for', async () => {
  const a = await ui.node('hostile');
  const s = await a.call('createStream', { name: 'Mallory' });
  const hostile = [
    '<img src=x onerror="window.__pwned = 1">',
    '<script>window.__pwned = 2</script>',
    '[click me](javascript:window.__pwned=3) and [fine](https://example.org/)',
    '<iframe src="https://example.org"></iframe>',
    'Code keeps what was typed: `a &amp; <b>`',
  ].join('\n\n');
  await a.call('post', { publicKey: s.publicKey, title: '<b>title</b>', body: hostile });
  await ui.withApp(a.url, async ({ page, problems }) => {
    const card = page.getByRole('article').first();
    await card.waitFor();
    assert.equal(await card.locator('img, script, iframe, b').count(), 0);
    assert.equal(await card.locator('a[href^="javascript"]').count(), 0);
    assert.equal(await card.locator('a[href="https://example.org/"]').getAttribute('rel'), 'noopener noreferrer nofollow');
    await card.getByText('<img src=x onerror="window.__pwned = 1">').waitFor();
    await card.getByText('<b>title</b>').waitFor();
    assert.equal(await card.locator('code').textContent(), 'a &amp; <b>');
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.deepEqual(problems.errors, []);
  });
});

test('a post on another node arrives live, at once on top for a reader at the top of Home', async () => {
  const a = await ui.node('writer');
  const sa = await a.call('createStream', { name: 'Ada', about: 'Writes from node A' });
  await a.call('post', { publicKey: sa.publicKey, title: 'Earlier', body: 'Already there before the follow.' });
  // B checks its sources every 5 s: set before it starts its scheduler, by a first run.
  const b0 = await ui.node('reader');
  await b0.call('setSettings', { syncIntervalS: 5 });
  await b0.stop();
  const b = await ui.node('reader', { dataDir: b0.dataDir });
  await b.call('createStream', { name: 'Bo' });

  await ui.withApp(b.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Follow a stream' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
    await dialog.getByLabel('Key or link').fill(sa.publicKey);
    await dialog.getByLabel('Address').fill(a.lanUrl);
    await dialog.getByRole('button', { name: 'Follow', exact: true }).click();
    // the stream page of what we followed
    await page.getByRole('heading', { name: 'Ada', level: 2 }).waitFor();
    await page.getByText('Writes from node A').waitFor();
    await page.getByRole('article').filter({ hasText: 'Earlier' }).waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    await page.getByRole('article').filter({ hasText: 'Earlier' }).waitFor();

    await a.call('post', { publicKey: sa.publicKey, title: 'Live from A', body: 'Posted after the follow.' });
    // at the top of Home it just appears, on top; the pill is for a reader scrolled away (ui-timeline.test.ts)
    const first = page.getByRole('article').first();
    await first.filter({ hasText: 'Live from A' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('button', { name: /new posts?$/ }).count(), 0);
    await shoot(page, 'home-live-post-light-wide');
    assert.deepEqual(problems.errors, []);
  });
});

test('search finds posts across streams, with the matching words highlighted and stream content kept as text', async () => {
  const a = await ui.node('search');
  const mine = await a.call('createStream', { name: 'Ada' });
  const other = await a.call('createStream', { name: 'Bo' });
  await a.call('post', { publicKey: mine.publicKey, title: 'Garden', body: 'The tomatoes are ripe.' });
  await a.call('post', { publicKey: other.publicKey, title: 'Market', body: 'Cheap <b>tomatoes</b> today <img src=x onerror="window.__pwned=1">' });
  await a.call('post', { publicKey: other.publicKey, title: 'Weather', body: 'Rain all week.' });
  await ui.withApp(a.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.keyboard.press('Control+k');
    await page.getByLabel('Search posts').fill('tomato');
    const results = page.getByRole('list', { name: 'Results' }).getByRole('listitem');
    await results.nth(1).waitFor();
    assert.equal(await results.count(), 2, 'both posts that say tomatoes, from both streams, and not the weather');
    const names = (await results.locator('.result-name').allTextContents()).sort();
    assert.deepEqual(names, ['Ada', 'Bo']);
    // the matched word (a prefix of it, as typed) is highlighted in each snippet
    const marks = await page.locator('.results mark').allTextContents();
    assert.ok(marks.length >= 2 && marks.every((m) => m.toLowerCase() === 'tomatoes'), marks.join(','));
    // the hostile markup stays text: no element it asks for
    assert.equal(await page.locator('.results b, .results img[src="x"]').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    // a result opens its stream
    await results.filter({ hasText: 'Market' }).getByRole('button').click();
    await page.getByRole('heading', { name: 'Bo', level: 2 }).waitFor();
    await assertAccessible(page, 'stream page from search');
    assert.deepEqual(problems.errors, []);
  });
});
