// The re-share dialog is the post composer (issue 21): typing `@` in a re-share's comment offers
// streams as in a post, and the mention posts as a link. Re-sharing a re-share: a boost of a boost
// shows the original post; a re-share of a comment-carrying re-share shows that comment with what it
// re-shares as a link, one level only. Real nodes over HTTP, real Chromium; four looks.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, shoot, uiSuite, VIEWS, type UiNode, NAME_200, NAME_ARABIC } from './ui-harness.js';

const ui = uiSuite();
let nur: UiNode;
let bo: UiNode;
const NUR = NAME_ARABIC;
const BO = NAME_200;
let nurKey = '';
let boKey = '';

before(async () => {
  [nur, bo] = await Promise.all([ui.node('nur'), ui.node('bo')]);
  nurKey = (await nur.call('createStream', { name: NUR })).publicKey;
  boKey = (await bo.call('createStream', { name: BO })).publicKey;
  await nur.call('post', { publicKey: nurKey, title: 'حديقة السطح', body: 'Rooftop garden: the first tomatoes are red.' });
  await bo.call('follow', { key: nurKey, url: nur.lanUrl });
});

const card = (page: import('playwright-core').Page, text: string) => page.getByRole('article').filter({ hasText: text }).first();

test('re-share comment: the post composer, with the @ list; the mention posts as a link', async () => {
  await ui.withApp(bo.url, async ({ page, problems }) => {
    const original = page.getByRole('article', { name: 'حديقة السطح' });
    await original.waitFor();
    await original.getByRole('button', { name: 'Re-share' }).click();
    const comment = original.getByRole('combobox', { name: 'Comment (optional)' });
    await comment.waitFor();
    assert.equal(await original.getByPlaceholder('Title (optional)').count(), 0, 'a comment has no title');
    await comment.pressSequentially('Look, @نو');
    const list = page.getByRole('listbox', { name: 'Mention a stream' });
    await list.waitFor();
    assert.match(await list.getByRole('option').first().innerText(), /نور الهدى\s+Following/);
    await shoot(page, 'reshare-compose-mention-light-wide');
    await assertAccessible(page, 'the @ list in a re-share comment');
    await comment.press('Enter');
    await list.waitFor({ state: 'detached' });
    await comment.pressSequentially('grew these');
    await original.getByRole('button', { name: 'Re-share', exact: true }).last().click();
    await page.getByText('Re-shared', { exact: true }).waitFor();
    const rs = card(page, 'grew these');
    await rs.getByRole('link', { name: `@${NUR}` }).waitFor();
    await rs.locator('.reshare-embed').getByText('حديقة السطح').waitFor();
    // an empty comment is allowed (a plain re-share), and Escape closes the composer
    await original.getByRole('button', { name: 'Re-share' }).first().click();
    await original.getByRole('combobox', { name: 'Comment (optional)' }).press('Escape');
    await original.getByRole('combobox', { name: 'Comment (optional)' }).waitFor({ state: 'detached' });
    assert.deepEqual(problems.errors, []);
  });
});

test('re-share of a re-share: a boost of a boost shows the original; a re-shared comment shows its post as a link', async () => {
  const tl = await bo.call('timeline', {});
  const post = tl.find((t) => t.title === 'حديقة السطح')!;
  const quote = tl.find((t) => t.body.includes('grew these'))!;
  const boost = await bo.call('post', { publicKey: boKey, title: '', body: '', reshare: { streamKey: nurKey, key: post.key } });
  await bo.call('post', { publicKey: boKey, title: '', body: 'Boost of a boost', reshare: { streamKey: boKey, key: boost.key } });
  await bo.call('post', { publicKey: boKey, title: '', body: 'Quote of a quote', reshare: { streamKey: boKey, key: quote.key } });
  for (const v of VIEWS) {
    await ui.withApp(bo.url, v, async ({ page, problems }) => {
      const bb = card(page, 'Boost of a boost');
      await bb.locator('.reshare-embed').getByText('حديقة السطح').waitFor();
      assert.equal(await bb.locator('.reshare-inner').count(), 0, 'the original itself, not the boost');
      const qq = card(page, 'Quote of a quote');
      const embed = qq.locator('.reshare-embed');
      await embed.getByText('grew these').waitFor();
      const inner = embed.getByRole('link', { name: `a post of ${NUR}` });
      await inner.waitFor();
      assert.equal(await embed.locator('.reshare-embed').count(), 0, 'never nested');
      await qq.scrollIntoViewIfNeeded();
      await shoot(page, `reshare-of-reshare-${v.id}`);
      if (v.id === 'light-wide') {
        await assertAccessible(page, 'a re-share of a re-share');
        await inner.click();
        await page.getByRole('article', { name: 'حديقة السطح' }).first().waitFor();
      }
      assert.deepEqual(problems.errors, []);
    });
  }
});

test('the composer’s "as NAME" with a 200-character name: shortened within its row, the whole name on hover and focus, at 420 and 1280 px, light and dark', async () => {
  const looks = [...VIEWS.filter((v) => v.width > 1000), ...VIEWS.filter((v) => v.width < 1000).map((v) => ({ ...v, width: 420 }))];
  for (const v of looks) {
    await ui.withApp(bo.url, v, async ({ page, problems }) => {
      const original = page.getByRole('article', { name: 'حديقة السطح' });
      await original.waitFor();
      for (const what of ['Re-share', 'Reply'] as const) {
        await original.getByRole('button', { name: what }).first().click();
        const form = original
          .locator('form')
          .filter({ has: page.locator('.post-reply-as') })
          .first();
        const as = form.locator('.post-reply-as');
        await as.waitFor();
        assert.equal(await as.getAttribute('title'), BO, 'the whole name on hover');
        // (evaluated in the page; the tests are type-checked without the DOM's types)
        const box = await form.locator('.editor-foot').evaluate((foot: any) => {
          const r = (e: any) => e.getBoundingClientRect();
          const f = r(foot);
          const name = foot.querySelector('.post-reply-as');
          const kids = [...foot.children].filter((e: any) => e.offsetParent !== null);
          return {
            cut: name.scrollWidth > name.clientWidth + 1,
            nameWidth: r(name).width,
            inside: kids.every((e: any) => r(e).left >= f.left - 1 && r(e).right <= f.right + 1),
            overflow: (globalThis as any).document.scrollingElement.scrollWidth - (globalThis as any).innerWidth, // the page never scrolls sideways
            ellipsis: (globalThis as any).getComputedStyle(name).textOverflow,
          };
        });
        assert.ok(box.cut && box.ellipsis === 'ellipsis', `${v.id} ${what}: the name is shortened with an ellipsis (${JSON.stringify(box)})`);
        assert.ok(box.inside && box.overflow <= 1, `${v.id} ${what}: every control of the row stays in it (${JSON.stringify(box)})`);
        assert.ok(box.nameWidth >= 48, `${v.id} ${what}: some of the name shows (${box.nameWidth} px)`);
        // keyboard focus (as hover) shows the whole name in a tooltip the name is described by
        const wrap = form.locator('.post-reply-as-wrap');
        await wrap.focus();
        const tip = form.getByRole('tooltip');
        await tip.waitFor({ state: 'visible' });
        const said = (await tip.textContent()) ?? '';
        assert.equal(said.replace(/\s+/g, ' ').trim(), `Posting as ${BO}`.replace(/\s+/g, ' '), await tip.evaluate((e: any) => e.outerHTML));
        const t = await tip.evaluate((e: any) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right, vw: (globalThis as any).innerWidth };
        });
        assert.ok(t.left >= 0 && t.right <= t.vw, `${v.id} ${what}: the tooltip stays on screen (${JSON.stringify(t)})`);
        await shoot(page, `composer-as-long-name-${what.toLowerCase()}-${v.id}-${v.width}`);
        await form.getByRole('button', { name: 'Cancel' }).click();
      }
      assert.deepEqual(problems.errors, []);
    });
  }
});
