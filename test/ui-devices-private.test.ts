// A second computer joins a private stream as a device in a real Chromium against two headless
// nodes: the join dialog takes the stream's read link and says what it means, the device reads the
// owner's post at once, and once added it posts from Home; the owner reads that post. Screenshots
// of the dialog holding a read link in light and dark, wide and narrow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, uiSuite, VIEWS } from './ui-harness.js';

const ui = uiSuite();

test('join a private stream as a device by its read link, read it, post sealed from Home', async () => {
  const a = await ui.node('desk');
  const pk = (await a.call('createStream', { name: 'Família Lima', private: true })).publicKey;
  await a.call('post', { publicKey: pk, title: 'Dinner at eight', body: 'from the desktop' });
  const link = (await a.call('streamDetails', { publicKey: pk })).readLink!;
  const b = await ui.node('laptop');

  await ui.withApp(b.url, async (laptop) => {
    const p = laptop.page;
    const start = p.getByRole('button', { name: 'Write it from this computer too' });
    await start.scrollIntoViewIfNeeded();
    await start.click();
    const dialog = p.getByRole('dialog', { name: 'Use a stream of yours here too' });
    const field = dialog.getByLabel('Stream key or link');
    await dialog.getByText(/For a private stream, paste its read link/).waitFor();
    await field.fill(link);
    await dialog.getByText('A read link: this computer reads the private stream, and seals what it posts into it.').waitFor();
    await dialog.getByLabel('Address').fill(a.lanUrl.replace(/^http:\/\//, ''));
    await dialog.getByLabel('This computer’s name').fill('Laptop');
    for (const v of VIEWS) {
      await p.setViewportSize({ width: v.width === 400 ? 420 : v.width, height: v.height });
      await p.emulateMedia({ colorScheme: v.dark ? 'dark' : 'light' });
      await shoot(p, `devices-private-join-${v.id}`);
    }
    await assertAccessible(p, 'join dialog with a read link');
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.emulateMedia({ colorScheme: 'light' });
    await dialog.getByRole('button', { name: 'Use it here' }).click();
    await dialog.getByText('Waiting to be added…').waitFor();
    const code = (await dialog.locator('.share-url .mono').textContent())!;
    await a.call('addDevice', { publicKey: pk, device: code, name: 'Laptop' });
    await b.call('syncNow', { publicKey: pk }); // it hears it was added (else with its next round)
    await dialog.getByText('Added. What you post here now goes into Família Lima.').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Open the stream' }).click();
    // the owner's post, read here: the read key came with the link
    await p.getByRole('article').filter({ hasText: 'Dinner at eight' }).waitFor();
    await go(p, '#/');
    await p.getByLabel('Post', { exact: true }).fill('Bringing dessert');
    await p.getByRole('button', { name: 'Post', exact: true }).click();
    await p.getByRole('article').filter({ hasText: 'Bringing dessert' }).waitFor();
    await shoot(p, 'devices-private-home-light-wide');
    assert.deepEqual(laptop.problems.errors, []);
  });
  await a.call('syncNow', { publicKey: pk });
  assert.ok(
    (await a.call('timeline', {})).some((t) => t.body === 'Bringing dessert'),
    "the owner reads the device's sealed post",
  );
});
