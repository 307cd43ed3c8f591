// The phone pages' conversation lines and text direction (issues 19 and 21), in a real Chromium
// against a real headless node: the private page (decrypted in the browser) says "in reply to NAME"
// and "re-shared from NAME" as the public page does, as text, under the same CSP; both pages lay a
// mostly Arabic post out right to left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import * as path from 'node:path';
import { keyName, parseKey } from '../app/core/keys.js';
import { DrayerNode } from '../app/node/node.js';
import type { NodeState } from '../app/node/state.js';
import { POST_TYPE } from '../app/store/posts.js';
import { encodeLinkedPost } from '../app/store/talk.js';
import { tmpDir } from './helpers.js';
import { shoot, uiSuite } from './ui-harness.js';

const ui = uiSuite();

const ARABIC_TITLE = 'ملاحظات الصباح';
const ARABIC_BODY = 'هذه تدوينة مكتوبة بالعربية في معظمها، with a few English words.';

/** Whether `selector`'s first match is laid out right to left (dir="auto" resolved by its text). */
async function isRtl(l: Locator): Promise<boolean> {
  // (the tests are type-checked without the DOM's types)
  const [dir, html] = await l.first().evaluate((e) => {
    const w = globalThis as unknown as { getComputedStyle(x: unknown): { direction: string } };
    return [w.getComputedStyle(e).direction, (e as unknown as { outerHTML: string }).outerHTML] as const;
  });
  assert.ok(dir === 'rtl' || dir === 'ltr', html);
  return dir === 'rtl';
}
const card = (page: Page, text: string) => page.getByRole('article').filter({ hasText: text });

test('the private phone page says "in reply to NAME" and "re-shared from NAME" as text, with the shared post, under its strict CSP', async () => {
  const n = await ui.node('phone-talk');
  const name = 'Sealed <img src=x onerror=alert(1)>';
  const s = await n.call('createStream', { name, about: '', private: true });
  const other = await n.call('createStream', { name: 'Elsewhere' });
  const first = await n.call('post', { publicKey: s.publicKey, title: 'Kettle', body: 'Boil **twice**' });
  const far = await n.call('post', { publicKey: other.publicKey, title: '', body: 'a public thought' });
  await n.call('post', { publicKey: s.publicKey, title: '', body: 'Answering myself', replyTo: { streamKey: s.publicKey, key: first.key } });
  await n.call('post', { publicKey: s.publicKey, title: '', body: 'Answering afar', replyTo: { streamKey: other.publicKey, key: far.key } });
  // a private stream re-shares only public posts (re-sharing its own would name them to everyone)
  await n.call('post', { publicKey: s.publicKey, title: '', body: 'Worth reading again', reshare: { streamKey: other.publicKey, key: far.key } });
  await n.call('post', { publicKey: s.publicKey, title: ARABIC_TITLE, body: ARABIC_BODY });
  const d = await n.call('streamDetails', { publicKey: s.publicKey });
  const address = `${d.localUrl}${d.readLink!.slice(d.readLink!.indexOf('#'))}`;

  const context = await ui.context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  const res = await page.goto(address);
  assert.match(res!.headers()['content-security-policy'] ?? '', /^default-src 'none'; script-src 'nonce-[^']+'; connect-src 'self';/);
  await page.getByText('5 posts · decrypted on this device', { exact: true }).waitFor();

  const line = async (text: string) => (await card(page, text).locator('p.meta.reply').textContent())?.trim();
  assert.equal(await line('Answering myself'), `↩ in reply to ${name}`, 'its own post: by its name, as text');
  assert.equal(await card(page, 'Answering myself').locator('p.meta.reply bdi').count(), 1, 'the name keeps its own direction');
  assert.equal(await line('Answering afar'), `↩ in reply to ${keyName(parseKey(other.publicKey))}`, "another stream: its key's words");
  assert.equal(await line('Worth reading again'), `↻ re-shared from ${keyName(parseKey(other.publicKey))}`);
  assert.equal(await card(page, 'Kettle').locator('strong').textContent(), 'twice', 'bodies still as markdown');
  assert.equal(await page.locator('img[src="x"], script:not([nonce])').count(), 0, 'nothing of the stream is markup');
  assert.equal(await card(page, 'Kettle').first().locator('p.meta.reply').count(), 0, 'a plain post has no such line');

  await card(page, ARABIC_BODY).first().scrollIntoViewIfNeeded();
  assert.ok(await isRtl(card(page, ARABIC_TITLE).locator('h3.title')), 'an Arabic title runs right to left');
  assert.ok(await isRtl(card(page, ARABIC_TITLE).locator('div.body')), 'an Arabic body runs right to left');
  assert.ok(!(await isRtl(card(page, 'Answering afar').locator('div.body'))), 'an English one left to right');
  await page.evaluate('window.scrollTo(0, 0)');
  await shoot(page, 'phone-private-talk-light-narrow');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shoot(page, 'phone-private-talk-dark-narrow');
  assert.deepEqual(errors, [], 'no script or CSP errors');
  await context.close();
});

test('the public phone page lays out a mostly Arabic post right to left, and an English one left to right', async () => {
  const n = await ui.node('phone-rtl');
  const s = await n.call('createStream', { name: 'مدونة — a blog', about: 'نبذة قصيرة' });
  await n.call('post', { publicKey: s.publicKey, title: 'An English title', body: 'Plain English words.' });
  await n.call('post', { publicKey: s.publicKey, title: ARABIC_TITLE, body: ARABIC_BODY });
  const d = await n.call('streamDetails', { publicKey: s.publicKey });
  const context = await ui.context({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(d.localUrl!);
  await page.getByText(ARABIC_BODY).waitFor();
  assert.ok(await isRtl(card(page, ARABIC_TITLE).locator('h3.title')), 'the Arabic title');
  assert.ok(await isRtl(card(page, ARABIC_TITLE).locator('div.body')), 'the Arabic body');
  assert.ok(await isRtl(page.locator('p.about')), 'the Arabic about');
  assert.ok(!(await isRtl(card(page, 'An English title').locator('div.body'))), 'the English body');
  await shoot(page, 'phone-public-rtl-light-wide');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shoot(page, 'phone-public-rtl-dark-wide');
  await context.close();
});

test('the public phone page shows a re-share of a re-share as the app’s card does: the original, a quote with what it re-shares named', async () => {
  // an in-process node, so the test can write what an older version wrote: a boost of a boost naming the boost
  const n = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'phone-chain'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const BO = `Bo Chen, ${'who writes about bicycles and gardens '.repeat(8)}`.slice(0, 200).trim();
  try {
    const ada = await n.call('createStream', { name: 'نور الهدى' });
    const bo = await n.call('createStream', { name: BO });
    const cy = await n.call('createStream', { name: 'Cy' });
    const o = await n.call('post', { publicKey: ada.publicKey, title: ARABIC_TITLE, body: 'Rooftop garden: the first tomatoes are red.' });
    const boost = await n.call('post', { publicKey: bo.publicKey, title: '', body: '', reshare: { streamKey: ada.publicKey, key: o.key } });
    const quote = await n.call('post', { publicKey: bo.publicKey, title: '', body: 'Worth it, **really**', reshare: { streamKey: ada.publicKey, key: o.key } });
    const streams = (n as unknown as { n: NodeState }).n.streams;
    const put = (key: string, comment: string, to: { stream: string; post: string }) =>
      streams.get(cy.publicKey)!.put(POST_TYPE, key, encodeLinkedPost({ title: '', body: comment }, { reshare: to }));
    put('old-boost', 'As an older version wrote it', { stream: bo.publicKey, post: boost.key }); // names Bo's boost
    put('old-plain', '', { stream: bo.publicKey, post: boost.key });
    put('of-quote', 'The quote', { stream: bo.publicKey, post: quote.key });
    put('x', '', { stream: cy.publicKey, post: 'y' }); // a cycle of blank re-shares
    put('y', '', { stream: cy.publicKey, post: 'x' });
    const url = `http://127.0.0.1:${n.lanAddress()!.port}/${Buffer.from(cy.publicKey, 'base64').toString('base64url')}/`;
    for (const v of [
      { id: 'light-narrow', width: 420, dark: false },
      { id: 'dark-narrow', width: 420, dark: true },
      { id: 'light-wide', width: 1280, dark: false },
    ]) {
      const context = await ui.context({ viewport: { width: v.width, height: 900 }, colorScheme: v.dark ? 'dark' : 'light' });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      const line = async (text: string) => (await card(page, text).locator('p.meta.reply').first().textContent())?.trim();
      for (const c of ['As an older version wrote it']) {
        assert.equal(await line(c), '↻ re-shared from نور الهدى', 'attributed to the original, not the boost in between');
        assert.equal(await card(page, c).locator('blockquote.shared h3').textContent(), ARABIC_TITLE, 'the original post, one level');
        assert.equal(await card(page, c).locator('blockquote.shared p.meta').count(), 0, 'nothing further named');
      }
      const plain = page.locator('article').filter({ has: page.locator('blockquote.shared', { hasText: 'Rooftop garden' }) });
      assert.equal(await plain.count(), 2, 'the blank old boost too');
      const q = card(page, 'The quote');
      assert.equal((await q.locator('p.meta.reply').first().textContent())?.trim(), `↻ re-shared from ${BO}`, 'a quote is re-shared as itself');
      assert.equal(await q.locator('blockquote.shared strong').textContent(), 'really');
      const inner = q.locator('blockquote.shared p.meta.reply');
      assert.equal((await inner.textContent())?.trim(), '↻ re-sharing a post of نور الهدى', 'what the quote re-shares, named');
      assert.match((await inner.locator('a').getAttribute('href')) ?? '', /#p-/, 'and linked to it on its page');
      assert.equal(await q.locator('blockquote blockquote').count(), 0, 'never nested');
      assert.equal(await page.locator('article').count(), 5, 'the cycle shows its two posts and stops');
      assert.equal(await page.locator('article').filter({ hasNotText: 'The quote' }).locator('blockquote p.meta').count(), 0, 'no empty box where it stopped');
      const cut = await q
        .locator('p.meta.reply')
        .first()
        .evaluate(
          (e: any, wide: boolean) => e.getBoundingClientRect().right <= (globalThis as any).innerWidth + 1 && (wide || e.scrollWidth > e.clientWidth),
          v.width > 1000,
        );
      assert.ok(cut, 'a 200-character name stays on screen, on one line');
      assert.equal(await q.locator('p.meta.reply a').first().getAttribute('title'), BO, 'cut to one line, whole on hover');
      await q.scrollIntoViewIfNeeded();
      await shoot(page, `phone-reshare-chain-${v.id}`);
      await inner.locator('a').click();
      await page.getByRole('heading', { name: ARABIC_TITLE }).first().waitFor();
      assert.deepEqual(errors, [], 'no script or CSP errors');
      await context.close();
    }
  } finally {
    await n.stop();
  }
});
