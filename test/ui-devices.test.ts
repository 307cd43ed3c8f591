// One stream on two computers (DESIGN §9) in a real Chromium against two real headless nodes: the
// new computer joins as a device from the first run and shows its pairing code (QR, text, words),
// the owner pastes it under Devices, the new computer says it was added and posts, and the post
// shows on the owner's Home; then the owner removes it after a confirmation. Screenshots and axe
// of the Devices card and the pairing dialog in light and dark, wide and narrow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertAccessible, go, shoot, uiSuite, VIEWS } from './ui-harness.js';

const ui = uiSuite();

test('pair a second computer by its code, post from it, see the post on the owner; remove it', async () => {
  const first = await ui.node('desk');
  const pk = (await first.call('createStream', { name: 'Ana Lima' })).publicKey;
  await first.call('post', { publicKey: pk, title: 'From the desktop', body: 'one' });
  // the owner pulls its devices' chains each round: short rounds from the start (the interval is read as each round ends)
  await first.call('setSettings', { syncIntervalS: 5 });
  await first.stop();
  const a = await ui.node('desk', { dataDir: first.dataDir });
  const b = await ui.node('laptop');

  await ui.withApp(b.url, async (laptop) => {
    const p = laptop.page;
    const start = p.getByRole('button', { name: 'Write it from this computer too' });
    await start.scrollIntoViewIfNeeded();
    await shoot(p, 'devices-first-run-light-wide');
    await start.click();
    const dialog = p.getByRole('dialog', { name: 'Use a stream of yours here too' });
    // a wrong key says so, in the dialog
    await dialog.getByLabel('Stream key or link').fill('not a key');
    await dialog.getByRole('button', { name: 'Use it here' }).click();
    await dialog.getByRole('alert').waitFor();
    await dialog.getByLabel('Stream key or link').fill(pk);
    await dialog.getByLabel('Address').fill(a.lanUrl.replace(/^http:\/\//, ''));
    await dialog.getByLabel('This computer’s name').fill('Laptop');
    await dialog.getByRole('button', { name: 'Use it here' }).click();
    await dialog.getByText('Waiting to be added…').waitFor();
    await dialog.getByRole('img', { name: 'Pairing code of this computer' }).waitFor();
    const code = (await dialog.locator('.share-url .mono').textContent())!;
    assert.match(code, /^drayer-device:/);
    for (const v of VIEWS.filter((x) => x.id.endsWith('wide'))) {
      await p.emulateMedia({ colorScheme: v.dark ? 'dark' : 'light' });
      await shoot(p, `devices-pairing-${v.id}`);
    }
    await p.setViewportSize({ width: 420, height: 860 });
    for (const dark of [false, true]) {
      await p.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
      await shoot(p, `devices-pairing-${dark ? 'dark' : 'light'}-narrow`);
    }
    await assertAccessible(p, 'pairing dialog');
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.emulateMedia({ colorScheme: 'light' });

    // The owner pastes the code under Devices on its stream page.
    await ui.withApp(a.url, async (desk) => {
      const q = desk.page;
      await go(q, `#/stream/${encodeURIComponent(pk)}`);
      const card = q.getByRole('region', { name: 'Devices' });
      await card.getByText('Write this stream from your other computers too').waitFor();
      await card.getByRole('button', { name: 'Add a device' }).click();
      await card.getByLabel('Pairing code or words').fill('drayer-device:broken');
      await card.getByRole('button', { name: 'Add device' }).click();
      await card.getByText(/That pairing code holds no device key/).waitFor();
      await card.getByLabel('Pairing code or words').fill(code);
      await card.getByLabel('Name').fill('Laptop');
      await card.getByRole('button', { name: 'Add device' }).click();
      await card.getByRole('list', { name: 'Devices of this stream' }).getByText('Laptop').waitFor();
      assert.deepEqual(desk.problems.errors, []);
    });

    // The laptop hears it was added, and posts from Home.
    await dialog.getByText('Added. What you post here now goes into Ana Lima.').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Open the stream' }).click();
    await p.getByRole('region', { name: 'Devices' }).getByText('This computer is a device of Ana Lima').waitFor();
    await go(p, '#/');
    await p.getByLabel('Post', { exact: true }).fill('Written on the laptop');
    await p.getByRole('button', { name: 'Post', exact: true }).click();
    await p.getByRole('article').filter({ hasText: 'Written on the laptop' }).waitFor();
    assert.deepEqual(laptop.problems.errors, []);
  });

  // On the owner's Home, the laptop's post arrives with the stream's next round.
  await ui.withApp(a.url, async (desk) => {
    const q = desk.page;
    await q.getByRole('article').filter({ hasText: 'Written on the laptop' }).waitFor({ timeout: 30_000 });
    await q.getByRole('article').filter({ hasText: 'From the desktop' }).waitFor();
    // a second device with a long right-to-left name, to see the list hold it
    await a.call('addDevice', { publicKey: pk, device: randomBytes(32).toString('base64'), name: 'حاسوب المكتب في البيت '.repeat(9).trim() });
    // Remove, after one sentence saying what it means.
    await go(q, `#/stream/${encodeURIComponent(pk)}`);
    const card = q.getByRole('region', { name: 'Devices' });
    await card.getByRole('button', { name: 'Remove Laptop' }).click();
    await card.getByText('Posts Laptop wrote until now stay; anything it writes from now on is refused by every copy of this stream.').waitFor();
    for (const v of VIEWS) {
      await q.setViewportSize({ width: v.width === 400 ? 420 : v.width, height: v.height });
      await q.emulateMedia({ colorScheme: v.dark ? 'dark' : 'light' });
      await card.scrollIntoViewIfNeeded();
      await shoot(q, `devices-card-${v.id}`);
    }
    await assertAccessible(q, 'devices card');
    await card.getByRole('button', { name: 'Remove device' }).click();
    await card.getByText('Removed: its earlier posts stay').waitFor();
    assert.deepEqual(desk.problems.errors, []);
  });
  const devices = await a.call('listDevices', { publicKey: pk });
  assert.ok(devices.devices.find((d) => d.name === 'Laptop')!.removed);
  assert.ok(
    (await a.call('timeline', {})).some((t) => t.body === 'Written on the laptop'),
    'its earlier post stays',
  );
});
