// Home's first paint in a big library (issue 17, `bench library`): what the renderer does before
// the first post cards show is bounded. The sidebar's first render lists a window's worth of each
// stream list and the rest right after (a library of 500 streams laid out its whole list first);
// times are formatted by formatters made once (one per card cost milliseconds); the screens other
// than Home and the QR encoder load as separate chunks, and still open as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';
import { assertAccessible, shoot, uiSuite } from './ui-harness.js';

const load = rendererModules();
const ui = uiSuite();

function summary(i: number, owned: boolean) {
  const publicKey = Buffer.alloc(32, i + (owned ? 128 : 0)).toString('base64');
  return {
    publicKey,
    name: `${owned ? 'Mine' : 'Friend'} ${i}`,
    about: '',
    owned,
    file: `s${i}.stream`,
    records: 1,
    posts: 1,
    serve: true,
    announce: true,
    partial: { minId: 0, minMod: 0, metaOnly: false },
    sources: [],
  };
}

test('the sidebar’s first render lists the first streams of each list, not all 500', async () => {
  const { Sidebar, FIRST_RENDER_STREAMS } = await load('components/Sidebar.tsx');
  const { createElement } = await import('react');
  const { renderToStaticMarkup } = await import('react-dom/server');
  const mine = Array.from({ length: 40 }, (_, i) => summary(i, true));
  const followed = Array.from({ length: 500 }, (_, i) => summary(i, false));
  const nop = () => {};
  // Server rendering runs no effects: what it shows is the first render, before the rest is added.
  const html: string = renderToStaticMarkup(
    createElement(Sidebar, { route: { name: 'home' }, mine, followed, syncing: new Set(), nearbyCount: 0, onNavigate: nop, onFollow: nop, onNewStream: nop }),
  );
  const names = [...html.matchAll(/class="stream-item-name"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.equal(FIRST_RENDER_STREAMS >= 20, true, 'more than a window holds');
  assert.deepEqual(
    names.filter((n) => n!.startsWith('Mine')),
    mine.slice(0, FIRST_RENDER_STREAMS).map((s) => s.name),
  );
  assert.deepEqual(
    names.filter((n) => n!.startsWith('Friend')),
    followed.slice(0, FIRST_RENDER_STREAMS).map((s) => s.name),
  );
  assert.ok(names.includes('New stream') && names.includes('Follow a stream'), 'the add buttons stay');
});

test('times read as toLocaleString writes them, from formatters made once', async () => {
  const { absoluteTime, relativeTime } = await load('lib/time.ts');
  const now = Date.parse('2026-03-15T12:00:00Z');
  for (const ms of [now - 3 * 86_400_000, now - 20 * 86_400_000, Date.parse('2023-07-04T08:30:00Z'), Date.parse('2026-01-01T00:00:00Z')]) {
    const d = new Date(ms);
    assert.equal(absoluteTime(ms * 1000), d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
    const days = Math.round((now - ms) / 86_400_000);
    const want =
      days < 7
        ? d.toLocaleDateString(undefined, { weekday: 'short' })
        : d.toLocaleDateString(
            undefined,
            d.getFullYear() === new Date(now).getFullYear() ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' },
          );
    assert.equal(relativeTime(ms * 1000, now), want);
  }
  assert.equal(relativeTime((now - 5 * 60_000) * 1000, now), '5 min');
});

test('with 45 streams of your own, the sidebar lists them all after the first paint, and each screen still opens', async () => {
  const n = await ui.node('first-paint');
  for (let i = 1; i <= 45; i++) {
    const s = await n.call('createStream', { name: `Stream number ${String(i).padStart(2, '0')}`, about: '' });
    if (i === 1) await n.call('post', { publicKey: s.publicKey, title: 'Hello', body: 'Plain words, shown without the markdown lexer.' });
    if (i === 2) await n.call('post', { publicKey: s.publicKey, title: 'Formatted', body: 'Some **bold** text and a [link](https://example.org).' });
  }
  await ui.withApp(n.url, { width: 1280, height: 800 }, async ({ page }) => {
    const mine = page.getByRole('list', { name: 'My streams' }).locator('.stream-item-name');
    await page.getByRole('article', { name: 'Hello' }).waitFor();
    // all 45 and the "New stream" button, in order
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll(
          '[aria-labelledby="mine-label"] .stream-item-name',
        ).length === 46,
    );
    const names = await mine.allTextContents();
    assert.deepEqual(
      names.slice(0, 45),
      Array.from({ length: 45 }, (_, i) => `Stream number ${String(i + 1).padStart(2, '0')}`),
    );
    // the plain post as a paragraph, the formatted one with its markup
    assert.equal(await page.getByRole('article', { name: 'Hello' }).locator('.post-body p').textContent(), 'Plain words, shown without the markdown lexer.');
    assert.equal(await page.getByRole('article', { name: 'Formatted' }).locator('.post-body strong').textContent(), 'bold');
    assert.equal(await page.getByRole('article', { name: 'Formatted' }).locator('.post-body a').getAttribute('href'), 'https://example.org');
    await shoot(page, 'first-paint-45-streams');
    // A card's full date is made when a pointer comes to its time (not for the first paint), and shows then.
    const time = page.getByRole('article', { name: 'Hello' }).locator('.post-time-link time').first();
    assert.equal(await time.getAttribute('title'), null, 'no full date made before it is pointed at');
    await time.hover();
    await page.waitForFunction("!!document.querySelector('article .post-time-link time[title]')");
    const iso = await time.getAttribute('datetime');
    assert.equal(
      await time.getAttribute('title'),
      new Date(iso!).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/London' }),
    );
    // The screens in their own chunks open as they did.
    await page.getByRole('link', { name: 'Search' }).click();
    await page.locator('#search-input').waitFor();
    await page.locator('#search-input').fill('plain');
    await page.locator('.results li').first().waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Stream number 45' }).click();
    await page.getByRole('heading', { name: 'Stream number 45', level: 1 }).waitFor();
    // the QR code (its encoder loads with the first code shown) in the right rail's share card
    await page.getByRole('link', { name: 'Home' }).click();
    await page.locator('.share-card .qr img').first().waitFor();
    await assertAccessible(page, 'home with 45 streams');
  });
});
