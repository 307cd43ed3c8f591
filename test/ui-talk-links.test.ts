// Mentions, re-shares and "Mentions & replies" (issue 21), end to end in a real Chromium against
// three real headless nodes. Nur (an Arabic name) writes; Bo follows Nur, mentions her by typing
// `@` (the listbox, keyboard only) and re-shares her post with a comment; Cy follows only Bo: sees
// the mention as a link offering to follow, and the re-share with a one-click Follow of Nur, after
// which the post shows embedded. Nur's "Mentions & replies" lists the reply, the mention and the
// re-share, newest first, each opening its post; a mention arriving in the background notifies.
// Screenshots in light and dark, wide and narrow, with a 200-character stream name.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, recordNotifications, shoot, uiSuite, until, VIEWS, type UiNode, NAME_200, NAME_ARABIC } from './ui-harness.js';

const ui = uiSuite();
let nur: UiNode;
let bo: UiNode;
let cy: UiNode;
const NUR = NAME_ARABIC;
const BO = NAME_200;
let nurKey = '';
let boKey = '';
let postKey = '';

before(async () => {
  [nur, bo, cy] = await Promise.all([ui.node('nur'), ui.node('bo'), ui.node('cy')]);
  nurKey = (await nur.call('createStream', { name: NUR, about: 'شعر وقهوة' })).publicKey;
  boKey = (await bo.call('createStream', { name: BO })).publicKey;
  await cy.call('createStream', { name: 'Cy' });
  postKey = (await nur.call('post', { publicKey: nurKey, title: 'حديقة السطح', body: 'Rooftop garden: the first tomatoes are red. الطماطم الأولى حمراء!' }))
    .key;
  await bo.call('follow', { key: nurKey, url: nur.lanUrl });
  await nur.call('follow', { key: boKey, url: bo.lanUrl });
  await cy.call('follow', { key: boKey, url: bo.lanUrl });
});

const card = (page: import('playwright-core').Page, text: string) => page.getByRole('article').filter({ hasText: text }).first();

test('mention: type @, pick with the keyboard, post; the link opens the stream, or offers to follow it', async () => {
  await ui.withApp(bo.url, async ({ page, problems }) => {
    const box = page.getByPlaceholder("What's new?");
    await box.waitFor();
    await box.click();
    await box.pressSequentially('Tea with @نو');
    const list = page.getByRole('listbox', { name: 'Mention a stream' });
    await list.waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    const options = list.getByRole('option');
    assert.equal(await options.count(), 1);
    assert.match(await options.first().innerText(), /نور الهدى\s+Following/);
    await shoot(page, 'talk-mention-picker-light-wide');
    await assertAccessible(page, 'the @ list');
    // narrow and dark: the list fits under the text
    await page.setViewportSize({ width: 400, height: 860 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(page, 'talk-mention-picker-dark-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    // Escape closes the list and keeps the text; typing again opens it; Enter picks
    await box.press('Escape');
    await list.waitFor({ state: 'detached' });
    await box.pressSequentially('ر');
    await list.waitFor();
    assert.equal(await options.first().getAttribute('aria-selected'), 'true');
    await box.press('Enter');
    await list.waitFor({ state: 'detached' });
    const text = await box.inputValue();
    assert.equal(text, `Tea with [@${NUR}](drayer:${Buffer.from(nurKey, 'base64').toString('base64url')}) `);
    await box.pressSequentially('on the roof?');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    const mine = card(page, 'on the roof?');
    await mine.getByRole('link', { name: `@${NUR}` }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
  // Nur follows Bo: the link opens her own stream's page
  await nur.call('syncNow', { publicKey: boKey });
  await ui.withApp(nur.url, async ({ page, problems }) => {
    const link = card(page, 'on the roof?').getByRole('link', { name: `@${NUR}` });
    await link.waitFor();
    await link.click();
    await until(page, `location.hash.startsWith('#/stream/')`);
    assert.equal(decodeURIComponent(new URL(page.url()).hash.slice('#/stream/'.length)), nurKey);
    assert.deepEqual(problems.errors, []);
  });
  // Cy does not hold Nur's stream: the link offers to follow it, with its key filled in
  await cy.call('syncNow', { publicKey: boKey });
  await ui.withApp(cy.url, async ({ page, problems }) => {
    const link = card(page, 'on the roof?').getByRole('link', { name: `@${NUR}` });
    await link.waitFor();
    assert.equal(await link.getAttribute('title'), 'Not followed here: click to follow');
    await link.click();
    const dialog = page.getByRole('dialog', { name: 'Follow a stream' });
    await dialog.waitFor();
    assert.equal(await dialog.getByRole('textbox').first().inputValue(), nurKey);
    await page.keyboard.press('Escape');
    assert.deepEqual(problems.errors, []);
  });
});

test('re-share: Bo re-shares with a comment; Cy, following only Bo, sees it and follows Nur in one click', async () => {
  await ui.withApp(bo.url, async ({ page, problems }) => {
    const original = page.getByRole('article', { name: 'حديقة السطح' });
    await original.waitFor();
    await original.getByRole('button', { name: 'Re-share' }).click();
    const comment = original.getByPlaceholder('Add a comment (optional)…');
    await comment.fill('Look at these tomatoes 🍅');
    await original.getByRole('button', { name: 'Re-share', exact: true }).last().click();
    await page.getByText('Re-shared', { exact: true }).waitFor();
    const rs = card(page, 'Look at these tomatoes');
    await rs.locator('.reshare-embed').getByText('حديقة السطح').waitFor();
    assert.match(await rs.locator('.post-reshared').innerText(), /re-shared/);
    assert.deepEqual(problems.errors, []);
  });
  await cy.call('syncNow', { publicKey: boKey });
  for (const v of VIEWS) {
    await ui.withApp(cy.url, v, async ({ page, problems }) => {
      const rs = card(page, 'Look at these tomatoes');
      await rs.waitFor();
      const embed = rs.locator('.reshare-embed');
      await embed.waitFor();
      await rs.scrollIntoViewIfNeeded();
      await shoot(page, `talk-reshare-unfollowed-${v.id}`);
      if (v.id === 'light-wide') {
        // the stream is not held: a name from its key, and Follow
        assert.match(await rs.locator('.reshare-missing-text').innerText(), /a stream you do not follow yet/);
        await assertAccessible(page, 'a re-share of an unfollowed stream');
      }
      assert.deepEqual(problems.errors, []);
    });
  }
  await ui.withApp(cy.url, async ({ page, problems }) => {
    const rs = card(page, 'Look at these tomatoes');
    await rs.getByRole('button', { name: 'Follow' }).click();
    await page
      .getByText(/^Following /)
      .first()
      .waitFor({ timeout: 30_000 });
    // followed from where the re-share came from (Bo serves what it follows): the post shows embedded
    await rs.locator('.reshare-embed').getByText('حديقة السطح').waitFor({ timeout: 30_000 });
    await rs.getByRole('button', { name: 'Follow' }).waitFor({ state: 'detached' });
    await shoot(page, 'talk-reshare-followed-light-wide');
    assert.deepEqual(problems.errors, []);
  });
  const held = (await cy.call('listStreams', undefined)).map((s) => s.name);
  assert.ok(held.includes(NUR), `Cy follows Nur now: ${held.join(', ')}`);
});

for (const v of VIEWS) {
  test(`"Mentions & replies", ${v.id}: the reply, the re-share and the mention, newest first, each opening its post`, async () => {
    if (v.id === 'light-wide') {
      await bo.call('post', { publicKey: boKey, title: '', body: 'Save me a tomato!', replyTo: { streamKey: nurKey, key: postKey } });
      await nur.call('syncNow', { publicKey: boKey });
    }
    await ui.withApp(nur.url, v, async ({ page, problems }) => {
      if (v.width < 600) {
        await page.getByRole('article').first().waitFor();
        await go(page, '#/talk');
      } else await page.getByRole('link', { name: 'Mentions & replies' }).click();
      await page.getByRole('heading', { name: 'Mentions & replies' }).waitFor();
      const why = page.locator('.talk-note-why');
      await until(page, `document.querySelectorAll('.talk-note-why').length === 3`);
      const lines = (await why.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').replace(BO, 'BO').trim());
      assert.deepEqual(lines, ['BO replied to your post', 'BO re-shared your post', 'BO mentioned you']);
      await page.evaluate('window.scrollTo(0, 0)');
      await shoot(page, `talk-notes-${v.id}`);
      if (v.id === 'light-wide' || v.id === 'dark-narrow') await assertAccessible(page, `mentions and replies ${v.id}`);
      await why.nth(0).click();
      await page.locator('.thread-focused article').filter({ hasText: 'Save me a tomato!' }).waitFor();
      assert.deepEqual(problems.errors, []);
    });
  });
}

test('a mention of your stream, with the window in the background, is a notification "NAME mentioned you"', async () => {
  await nur.call('setSettings', { notifications: true });
  await ui.withApp(nur.url, async ({ page, context, problems }) => {
    await recordNotifications(context, nur.url);
    await page.reload();
    await page.getByRole('article').first().waitFor();
    const m = await bo.call('post', {
      publicKey: boKey,
      title: '',
      body: `Ask [@${NUR}](drayer:${Buffer.from(nurKey, 'base64').toString('base64url')}) about seeds.`,
    });
    await nur.call('syncNow', { publicKey: boKey });
    await until(page, 'window.__notifications.length > 0');
    const made = (await page.evaluate('window.__notifications.map((x) => x.title)')) as string[];
    assert.deepEqual(made, [`${BO} mentioned you`]);
    await page.evaluate('window.__notifications[0].n.onclick(new Event("click"))');
    await until(page, `location.hash.includes(${JSON.stringify(encodeURIComponent(m.key))})`);
    assert.deepEqual(problems.errors, []);
  });
});

test('a re-share of your post is a notification "NAME re-shared your post"; a reply and a mention arriving together are one, as any two posts are', async () => {
  await nur.call('setSettings', { notifications: true });
  await nur.call('syncNow', { publicKey: boKey }); // what Bo wrote before is not news
  await ui.withApp(nur.url, async ({ page, context, problems }) => {
    await recordNotifications(context, nur.url);
    await page.reload();
    await page.getByRole('article').first().waitFor();
    const rs = await bo.call('post', { publicKey: boKey, title: '', body: '', reshare: { streamKey: nurKey, key: postKey } });
    await nur.call('syncNow', { publicKey: boKey });
    await until(page, 'window.__notifications.length > 0');
    assert.deepEqual(await page.evaluate('window.__notifications.map((x) => x.title)'), [`${BO} re-shared your post`]);
    await page.evaluate('window.__notifications[0].n.onclick(new Event("click"))');
    await until(page, `location.hash.includes(${JSON.stringify(encodeURIComponent(rs.key))})`);
    // the same limit as any posts: what one sync brings is one notification
    await bo.call('post', { publicKey: boKey, title: '', body: 'Seeds from me too', replyTo: { streamKey: nurKey, key: postKey } });
    await bo.call('post', { publicKey: boKey, title: '', body: `And [@${NUR}](drayer:${Buffer.from(nurKey, 'base64').toString('base64url')}) again` });
    await nur.call('syncNow', { publicKey: boKey });
    await until(page, 'window.__notifications.length > 1');
    await page.waitForTimeout(1500);
    assert.deepEqual(await page.evaluate('window.__notifications.map((x) => x.title)'), [`${BO} re-shared your post`, '2 new posts']);
    assert.deepEqual(problems.errors, []);
  });
});
