// A stream this computer writes as a device (DESIGN §9) in a real Chromium against two real headless
// nodes: it is listed under My streams with "on this computer as a device", not under Following; its
// page has the composer, and a post from there shows on the page. Screenshots in light and dark,
// wide and narrow (a 200-character Arabic name among the followed streams), and axe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, uiSuite, VIEWS } from './ui-harness.js';

const ui = uiSuite();

test('a device stream is under My streams with its hint, and its page has the composer', async () => {
  const a = await ui.node('desk');
  const b = await ui.node('laptop');
  const pk = (await a.call('createStream', { name: 'Ana Lima' })).publicKey;
  await a.call('post', { publicKey: pk, title: 'From the desktop', body: 'one' });
  const other = (await a.call('createStream', { name: 'مدونة السفر والطبخ '.repeat(11).trim().slice(0, 200) })).publicKey;
  const joined = await b.call('joinAsDevice', { key: pk, url: a.lanUrl, name: 'Laptop' });
  await a.call('addDevice', { publicKey: pk, device: joined.code });
  await b.call('syncNow', { publicKey: pk });
  await b.call('follow', { key: other, url: a.lanUrl });

  await ui.withApp(b.url, async (laptop) => {
    const p = laptop.page;
    const mine = p.getByRole('list', { name: 'My streams' });
    const row = mine.getByRole('link', { name: /Ana Lima/ });
    await row.waitFor();
    await row.getByText('on this computer as a device').waitFor();
    assert.equal(await p.getByRole('list', { name: 'Following' }).getByText('Ana Lima').count(), 0, 'not under Following');
    await p
      .getByRole('list', { name: 'Following' })
      .getByText(/مدونة السفر/)
      .waitFor();

    await go(p, `#/stream/${encodeURIComponent(pk)}`);
    const composer = p.getByRole('region', { name: 'New post' });
    await composer.waitFor();
    await composer.getByLabel('Post', { exact: true }).fill('Written on the stream page of the laptop');
    await composer.getByRole('button', { name: 'Post', exact: true }).click();
    await p.getByRole('feed').getByRole('article').filter({ hasText: 'Written on the stream page of the laptop' }).waitFor();
    for (const v of VIEWS) {
      await p.setViewportSize({ width: v.width === 400 ? 420 : v.width, height: v.height });
      await p.emulateMedia({ colorScheme: v.dark ? 'dark' : 'light' });
      await p.evaluate('window.scrollTo(0, 0)');
      await shoot(p, `devices-mine-${v.id}`);
    }
    await p.setViewportSize({ width: 1280, height: 800 });
    await assertAccessible(p, 'a device stream page');
    assert.deepEqual(laptop.problems.errors, []);
  });
  assert.ok((await a.call('listPosts', { publicKey: pk })).length >= 1);
});
