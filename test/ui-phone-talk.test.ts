// The phone pages' conversation lines and text direction (issues 19 and 21), in a real Chromium
// against a real headless node: the private page (decrypted in the browser) says "in reply to NAME"
// and "re-shared from NAME" as the public page does, as text, under the same CSP; both pages lay a
// mostly Arabic post out right to left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import { keyName, parseKey } from '../app/core/keys.js';
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
