// Posts as a reader meets them, end to end in a real Chromium against real nodes: a followed
// stream's hostile posts (nesting that once blanked the app, a 100 KB post, Arabic) leave the app
// working; long posts collapse with "Show more" and are never cut inside a word or a link; every
// post has its own page; pictures open large; Delete can be undone for 5 s; the editor shows a
// post's pictures as thumbnails; long stream names never push the Post button out of its card.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { assertAccessible, go, shoot, uiSuite, VIEWS } from './ui-harness.js';

const ui = uiSuite();

function makePng(w: number, h: number): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      png.data[i] = Math.round((255 * x) / w);
      png.data[i + 1] = 140;
      png.data[i + 2] = Math.round((255 * y) / h);
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

const ARABIC = 'مرحبا بكم في دفتر الحديقة. الطماطم نضجت أخيرا، والريحان بجانبها يبعد الحشرات.';
const LONG_URL = `https://example.org/a/very/long/path/${'segment/'.repeat(30)}end.html`;
/** about 100 KB: paragraphs of words, a link across the timeline's excerpt limit, and a last line to find */
const BIG = [
  'word '.repeat(88) + `see [the whole document](${LONG_URL}) for more.`,
  ...Array.from({ length: 1000 }, (_, i) => `Paragraph ${i}: the quick brown fox jumps over the lazy dog, again and again.`),
  'THE LAST LINE OF THE BIG POST',
].join('\n\n');

const HOSTILE = [
  { title: 'Deep quotes', body: '>'.repeat(1500) + ' x' },
  { title: 'Deep lists', body: '- '.repeat(1500) + 'x' },
  { title: 'Deep emphasis', body: '*'.repeat(3000) + 'x' + '*'.repeat(3000) },
  { title: 'Nested emphasis', body: '*a '.repeat(3000) + 'x' + ' a*'.repeat(3000) },
  { title: 'The big one', body: BIG },
  { title: 'حديقة', body: ARABIC },
];

test('a followed stream posting hostile bodies leaves the app working; long posts collapse; unfollow from the sidebar', async () => {
  const a = await ui.node('mallory');
  const b = await ui.node('reader');
  const m = await a.call('createStream', { name: 'Mallory', about: 'Posts what breaks things' });
  await a.call('post', { publicKey: m.publicKey, title: 'Before', body: 'An ordinary post, written first.' });
  for (const p of HOSTILE) await a.call('post', { publicKey: m.publicKey, ...p });
  await a.call('post', { publicKey: m.publicKey, title: 'After', body: 'An ordinary post, written last.' });
  await b.call('createStream', { name: 'Bo' });
  await b.call('follow', { key: m.publicKey, url: a.lanUrl });

  await ui.withApp(b.url, async ({ page, problems }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    const feed = page.getByRole('feed', { name: 'Posts' });
    await feed.getByRole('article', { name: 'After' }).waitFor();
    await feed.getByRole('article', { name: 'Deep quotes' }).waitFor();
    // the hostile bodies show as their text; nothing nested thousands deep
    assert.ok((await feed.getByText('Shown as plain text: it nests too deeply to format.').count()) >= 1);
    assert.equal(
      await page
        .locator(
          'blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote blockquote',
        )
        .count(),
      0,
    );
    // Arabic reads right to left
    const arabic = feed.getByRole('article', { name: 'حديقة' }).locator('p', { hasText: 'مرحبا' });
    assert.equal(await arabic.getAttribute('dir'), 'auto');
    assert.equal(
      await arabic.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { direction: string } }).getComputedStyle(el).direction),
      'rtl',
    );

    // the big post on Home: its start, cut between words and before the link, and "Show more"
    const big = feed.getByRole('article', { name: 'The big one' });
    await big.scrollIntoViewIfNeeded();
    for (const href of await big
      .locator('a')
      .evaluateAll((els) => els.map((e) => (e as unknown as { getAttribute(n: string): string | null }).getAttribute('href')))) {
      assert.ok(href === LONG_URL || href?.startsWith('#/post/'), `no link to a cut URL: ${href}`);
    }
    assert.equal(await big.getByText('THE LAST LINE OF THE BIG POST').count(), 0, 'Home holds the excerpt');
    await big.getByRole('button', { name: 'Show more' }).click();
    await big.getByText('THE LAST LINE OF THE BIG POST').waitFor({ state: 'attached' });
    assert.equal(await big.locator('a', { hasText: 'the whole document' }).getAttribute('href'), LONG_URL);
    assert.ok((await big.boundingBox())!.height > 3000, 'opened whole');
    await big.getByRole('button', { name: 'Show less' }).click();
    assert.ok((await big.boundingBox())!.height < 700, 'collapsed again');
    await go(page, '#/');
    await page.evaluate('window.scrollTo(0, 0)');
    await shoot(page, 'posts-hostile-home-light-wide');

    // the stream page holds whole posts: the big one is collapsed there too, not a 47,000 px card
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Mallory' }).click();
    const posts = page.getByRole('feed', { name: 'Posts of Mallory' });
    await posts.getByRole('article', { name: 'Before' }).waitFor();
    const bigHere = posts.getByRole('article', { name: 'The big one' });
    const h = (await bigHere.boundingBox())!.height;
    assert.ok(h < 700, `collapsed on the stream page (${h} px)`);
    await bigHere.getByRole('button', { name: 'Show more' }).click();
    assert.ok((await bigHere.boundingBox())!.height > 3000);
    await bigHere.getByRole('button', { name: 'Show less' }).click();
    await posts.getByRole('article', { name: 'Deep lists' }).waitFor();

    // other screens still work
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Search', level: 1 }).waitFor();

    // Unfollow from the sidebar's ⋯
    const item = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Mallory' });
    await item.hover();
    await page.getByRole('button', { name: 'Actions for Mallory' }).click();
    await page.getByRole('menuitem', { name: 'Unfollow…' }).waitFor();
    await shoot(page, 'posts-sidebar-menu-light-wide');
    await page.getByRole('menuitem', { name: 'Unfollow…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unfollow Mallory?' });
    await dialog.getByRole('button', { name: 'Unfollow' }).click();
    await item.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    assert.equal(
      (await b.call('listStreams', undefined)).some((s) => s.publicKey === m.publicKey),
      false,
    );
    assert.equal(await page.getByText('This post could not be shown').count(), 0);
    assert.deepEqual(problems.errors, []);
  });
});

test('every post has its own page: the whole post, who wrote it, from the time and the ⋯ menu; axe and screenshots', async () => {
  const a = await ui.node('permalink');
  const s = await a.call('createStream', { name: 'Ada Lovelace', about: '' });
  const pic = 'media/engine.png';
  await a.call('putFile', { publicKey: s.publicKey, path: pic, data: makePng(900, 600).toString('base64') });
  const long = Array.from({ length: 40 }, (_, i) => `Line ${i + 1} of the notes on the engine, with enough words to wrap.`).join('\n\n');
  const p = await a.call('post', { publicKey: s.publicKey, title: 'Notes on the engine', body: `${long}\n\n![The Analytical Engine, a drawing](${pic})` });
  await a.call('post', { publicKey: s.publicKey, title: 'ملاحظة', body: `${ARABIC}\n\n${ARABIC}` });

  for (const v of VIEWS) {
    await ui.withApp(a.url, v, async ({ page, problems }) => {
      const card = page.getByRole('article', { name: 'Notes on the engine' });
      await card.waitFor();
      await card.getByRole('button', { name: 'Show more' }).waitFor();
      await shoot(page, `posts-home-long-rtl-${v.id}`);
      // the time opens the post's own page
      await card.locator('a.post-time-link').click();
      await page.getByRole('heading', { name: 'Post', level: 1 }).waitFor();
      assert.match((await page.evaluate('location.hash')) as string, /^#\/post\//);
      const whole = page.getByRole('article', { name: 'Notes on the engine' });
      await whole.getByText('Line 40 of the notes').waitFor();
      assert.equal(await whole.getByRole('button', { name: 'Show more' }).count(), 0, 'never collapsed on its own page');
      await whole.getByRole('button', { name: 'Ada Lovelace', exact: true }).waitFor();
      await whole.locator('time').waitFor();
      const open = whole.getByRole('button', { name: 'Open image: The Analytical Engine, a drawing' });
      await open.waitFor();
      const box = (await open.boundingBox())!;
      assert.ok(box.height <= 481, `pictures are capped in a post (${box.height} px)`);
      await shoot(page, `posts-permalink-${v.id}`);
      await assertAccessible(page, `post page ${v.id}`);
      // the lightbox: large, the alt text under it, Esc closes and gives focus back
      await open.click();
      const lightbox = page.getByRole('dialog', { name: 'Picture: The Analytical Engine, a drawing' });
      await lightbox.getByText('The Analytical Engine, a drawing').waitFor();
      const large = (await lightbox.locator('img').boundingBox())!;
      assert.ok(large.width > box.width, 'larger than in the post');
      await shoot(page, `posts-lightbox-${v.id}`);
      await assertAccessible(page, `lightbox ${v.id}`);
      await page.keyboard.press('Escape');
      await lightbox.waitFor({ state: 'detached' });
      assert.equal(
        await open.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement),
        true,
        'focus returns to the picture',
      );
      // back, then the ⋯ menu's Open post and Copy link
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
      const rtl = page.getByRole('article', { name: 'ملاحظة' });
      await rtl.getByRole('button', { name: 'Post actions' }).click();
      await page.getByRole('menuitem', { name: 'Copy link' }).click();
      await page.getByText('Link copied').waitFor();
      await rtl.getByRole('button', { name: 'Post actions' }).click();
      await page.getByRole('menuitem', { name: 'Open post' }).click();
      await page.getByRole('heading', { name: 'Post', level: 1 }).waitFor();
      await page.getByRole('article', { name: 'ملاحظة' }).waitFor();
      // a post that is not here says so
      await go(page, `#/post/${encodeURIComponent(s.publicKey)}/no-such-post`);
      await page.getByRole('heading', { name: 'This post is not here' }).waitFor();
      await go(page, `#/post/${encodeURIComponent(s.publicKey)}/${encodeURIComponent(p.key)}`);
      await page.getByRole('article', { name: 'Notes on the engine' }).waitFor();
      assert.deepEqual(problems.errors, []);
    });
  }
});

test('Delete can be undone for 5 s: nothing is written until then', async () => {
  const a = await ui.node('undo');
  const s = await a.call('createStream', { name: 'Bo' });
  await a.call('post', { publicKey: s.publicKey, title: 'Keep me', body: 'Deleted by mistake.' });
  await a.call('post', { publicKey: s.publicKey, title: 'Drop me', body: 'Deleted on purpose.' });
  await ui.withApp(a.url, async ({ page, problems }) => {
    const del = async (title: string) => {
      const card = page.getByRole('article', { name: title });
      await card.getByRole('button', { name: 'Post actions' }).click();
      await page.getByRole('menuitem', { name: 'Delete…' }).click();
      await page.getByRole('dialog', { name: 'Delete this post?' }).getByRole('button', { name: 'Delete' }).click();
      await card.waitFor({ state: 'detached' });
    };
    await del('Keep me');
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByRole('article', { name: 'Keep me' }).waitFor();
    await new Promise((r) => setTimeout(r, 6000));
    assert.deepEqual(
      (await a.call('listPosts', { publicKey: s.publicKey })).map((p) => p.title).sort(),
      ['Drop me', 'Keep me'],
      'an undone delete is never written',
    );
    await page.getByRole('article', { name: 'Keep me' }).waitFor();

    await del('Drop me');
    assert.equal((await a.call('listPosts', { publicKey: s.publicKey })).length, 2, 'not yet: Undo is still offered');
    const t0 = Date.now();
    while ((await a.call('listPosts', { publicKey: s.publicKey })).length !== 1) {
      assert.ok(Date.now() - t0 < 10_000, 'the delete is written after 5 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(Date.now() - t0 > 3500, 'not before the 5 s');
    assert.equal(await page.getByRole('article', { name: 'Drop me' }).count(), 0);
    assert.deepEqual(problems.errors, []);
  });
});

test("the editor shows a post's pictures as thumbnails with Remove, and stores markdown", async () => {
  const a = await ui.node('thumbs');
  const s = await a.call('createStream', { name: 'Cy' });
  await a.call('putFile', { publicKey: s.publicKey, path: 'media/one.png', data: makePng(300, 200).toString('base64') });
  await a.call('putFile', { publicKey: s.publicKey, path: 'media/two.png', data: makePng(200, 300).toString('base64') });
  await a.call('post', { publicKey: s.publicKey, title: 'Two pictures', body: 'The pond in spring.\n\n![One](media/one.png)\n\n![Two](media/two.png)' });
  await ui.withApp(a.url, async ({ page, problems }) => {
    const card = page.getByRole('article', { name: 'Two pictures' });
    await card.getByRole('button', { name: 'Post actions' }).click();
    await page.getByRole('menuitem', { name: 'Edit' }).click();
    const body = card.getByLabel('Post', { exact: true });
    assert.equal(await body.inputValue(), 'The pond in spring.', 'no raw markdown of the pictures');
    const thumbs = card.getByRole('list', { name: 'Pictures to post' });
    await thumbs.getByRole('img', { name: 'One' }).waitFor();
    await thumbs.getByRole('img', { name: 'Two' }).waitFor();
    await shoot(page, 'posts-editor-thumbnails-light-wide');
    await thumbs.getByRole('button', { name: 'Remove One' }).click();
    await body.fill('The pond in late spring.');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.locator('form.editor').waitFor({ state: 'detached' });
    const [p] = await a.call('listPosts', { publicKey: s.publicKey });
    assert.equal(p!.body, 'The pond in late spring.\n\n![Two](media/two.png)');
    assert.deepEqual(problems.errors, []);
  });
});

test("long stream names: the composer's picker is cut with its name in a tooltip, Post stays in its card at 480 px", async () => {
  const a = await ui.node('names');
  const long = `${'Ein sehr langer Name für einen Strom '.repeat(5)}`.trim().slice(0, 200);
  await a.call('createStream', { name: long });
  await a.call('createStream', { name: `${long} (zwei)`.slice(0, 200) });
  for (const width of [480, 1280]) {
    await ui.withApp(a.url, { width, height: 800 }, async ({ page, problems }) => {
      const composer = page.getByRole('region', { name: 'New post' });
      const picker = composer.getByLabel('Post to');
      await picker.waitFor();
      assert.ok(((await picker.getAttribute('title')) ?? '').includes(long), 'the whole name in the tooltip');
      const card = (await composer.boundingBox())!;
      const post = (await composer.getByRole('button', { name: 'Post', exact: true }).boundingBox())!;
      const sel = (await picker.boundingBox())!;
      assert.ok(post.x + post.width <= card.x + card.width + 0.5, `Post inside its card at ${width} px (${post.x + post.width} > ${card.x + card.width})`);
      assert.ok(sel.x + sel.width <= post.x, 'the picker ends before Post');
      assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'no sideways scrolling');
      await shoot(page, `posts-long-names-${width}`);
      assert.deepEqual(problems.errors, []);
    });
  }
});

test('one post that cannot be drawn shows a note in its place; the other posts and the app stay', async () => {
  const a = await ui.node('broken-card');
  const s = await a.call('createStream', { name: 'Di' });
  await a.call('post', { publicKey: s.publicKey, title: 'Fine before', body: 'Drawn as usual.' });
  await a.call('post', { publicKey: s.publicKey, title: 'Explodes when drawn', body: 'x' });
  await a.call('post', { publicKey: s.publicKey, title: 'Fine after', body: 'Drawn as usual.' });
  await ui.withApp(a.url, async ({ page, problems }) => {
    // A fault no input reaches today, made by the test: the DOM refuses this one title.
    await page.addInitScript(`{
      const d = Object.getOwnPropertyDescriptor(Node.prototype, 'textContent');
      Object.defineProperty(Node.prototype, 'textContent', { configurable: true, get: d.get,
        set(v) { if (v === 'Explodes when drawn') throw new Error('boom: this post cannot be drawn'); d.set.call(this, v); } });
    }`);
    await page.reload();
    const feed = page.getByRole('feed', { name: 'Posts' });
    await feed.getByRole('article', { name: 'Fine after' }).waitFor();
    await feed.getByRole('article', { name: 'Fine before' }).waitFor();
    await feed.getByText('This post could not be shown.').waitFor();
    assert.equal(await feed.getByRole('article').count(), 3);
    // the rest of the app works: the composer posts, another screen opens
    await page.getByLabel('Post', { exact: true }).fill('Still posting');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await feed.getByRole('article').filter({ hasText: 'Still posting' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Appearance' }).waitFor();
    assert.deepEqual(
      problems.errors.filter((e) => !/boom: this post cannot be drawn|above error occurred/i.test(e)),
      [],
    );
  });
});
