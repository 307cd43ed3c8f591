// "Reach beyond this network" (Settings) and "Findable on the internet" (a stream's tools) in the
// desktop UI: a real Chromium against a real headless node. The node is given a bootstrap node on
// 127.0.0.1 where nothing listens (`--dht-bootstrap` without `--dht`: used when the setting turns
// the DHT on), and DRAYER_DHT_NO_PUBLIC, so turning it on here never reaches the public routers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, switchBecomes, uiSuite } from './ui-harness.js';

process.env.DRAYER_DHT_NO_PUBLIC = '1';
const ui = uiSuite();

test('Settings turns the DHT on and off; a stream is made findable from its page', async () => {
  const node = await ui.node('dht', { args: ['--dht-bootstrap', '127.0.0.1:9'] });
  const s = await node.call('createStream', { name: 'Field notes' });
  await node.call('post', { publicKey: s.publicKey, title: 'Hello', body: 'from far away' });

  await ui.withApp(node.url, { width: 1280, height: 800 }, async ({ page, problems }) => {
    await go(page, '#/settings');
    const reach = page.getByRole('switch', { name: 'Reach beyond this network' });
    await reach.waitFor();
    assert.equal(await reach.isChecked(), false, 'off by default');
    // one sentence on what it exposes, beside each switch
    await page.getByText("anyone there can see this computer's address beside the streams you make findable", { exact: false }).waitFor();
    await reach.scrollIntoViewIfNeeded();
    await reach.click();
    await switchBecomes(page.locator('#dht'), true);
    const st = (await node.call('status', undefined)) as { dht: { port: number } | null };
    assert.ok(st.dht && st.dht.port > 0, 'the node joined');
    // with it, the router switch (on by default); off is saved and the line under it says the router is not asked
    const ask = page.getByRole('switch', { name: 'Ask the router to open a port' });
    assert.equal(await ask.isChecked(), true, 'on by default');
    await shoot(page, 'dht-settings-light-wide');
    await assertAccessible(page, 'settings with the DHT');
    await ask.click();
    await switchBecomes(page.locator('#port-mapping'), false);
    assert.equal((await node.call('getSettings', undefined)).portMapping, false);
    await page.locator('#reach-status').filter({ hasText: 'This computer does not ask the router to open a port' }).waitFor();
    await ask.click();
    await switchBecomes(page.locator('#port-mapping'), true);
    assert.equal((await node.call('getSettings', undefined)).portMapping, true);

    await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
    await page.getByText('Stream file, servers and key').click();
    const findable = page.getByRole('switch', { name: 'Findable on the internet' });
    await findable.waitFor();
    assert.equal(await findable.isChecked(), false, 'off by default');
    assert.match(
      (await page.locator('#stream-findable-hint').textContent()) ?? '',
      /Anyone who has this stream's key can find this computer's address in the public BitTorrent DHT/,
    );
    await findable.click();
    await switchBecomes(page.locator('#stream-findable'), true);
    const list = (await node.call('listStreams', undefined)) as { publicKey: string; dht: boolean }[];
    assert.equal(list.find((x) => x.publicKey === s.publicKey)?.dht, true);
    await page.locator('#stream-findable').scrollIntoViewIfNeeded();
    await shoot(page, 'dht-stream-findable-light-wide');
    assert.deepEqual(problems.errors, []);
  });

  await ui.withApp(node.url, { width: 390, height: 844, dark: true }, async ({ page, problems }) => {
    await go(page, '#/settings');
    const reach = page.getByRole('switch', { name: 'Reach beyond this network' });
    await reach.scrollIntoViewIfNeeded();
    assert.equal(await reach.isChecked(), true, 'kept');
    await shoot(page, 'dht-settings-dark-narrow');
    await reach.click();
    await switchBecomes(page.locator('#dht'), false);
    await page.getByRole('switch', { name: 'Ask the router to open a port' }).waitFor({ state: 'detached' }); // only beside the DHT
    assert.equal(((await node.call('status', undefined)) as { dht: unknown }).dht, null, 'the node left the DHT');

    await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
    await page.getByText('Stream file, servers and key').click();
    await page.locator('#stream-findable').scrollIntoViewIfNeeded();
    // with the DHT off, the row says the setting waits for it
    await page.getByText('It takes effect while "Reach beyond this network" is on in Settings.').waitFor();
    await shoot(page, 'dht-stream-findable-dark-narrow');
    assert.deepEqual(problems.errors, []);
  });
});

test('a stream found on the DHT says on its page where its posts came from, light and dark, wide and narrow', async () => {
  // a bootstrap node on 127.0.0.1 that both nodes join through: they know nothing else
  const { DhtNode } = await import('../app/net/dht.js');
  const { parseKey } = await import('../app/core/keys.js');
  const boot = await DhtNode.start({ bindHost: '127.0.0.1', bootstrap: [], queryTimeoutMs: 500 });
  try {
    const via = ['--dht', '--dht-bootstrap', `127.0.0.1:${boot.port}`];
    const a = await ui.node('dht-a', { args: via });
    const b = await ui.node('dht-b', { args: via });
    const s = await a.call('createStream', { name: 'Far field notes' });
    await a.call('post', { publicKey: s.publicKey, title: 'From the ridge', body: 'Wind from the west all day.' });
    await a.call('setStreamSettings', { publicKey: s.publicKey, dht: true });
    const t0 = Date.now();
    while (!(await boot.lookup(parseKey(s.publicKey), 2000)).length) {
      if (Date.now() - t0 > 20_000) assert.fail('A never announced its stream');
      await new Promise((r) => setTimeout(r, 200));
    }
    await b.call('follow', { key: s.publicKey }); // by key alone: found on the DHT
    for (const v of [
      { id: 'light-wide', width: 1280, height: 800, dark: false },
      { id: 'dark-narrow', width: 390, height: 844, dark: true },
    ]) {
      await ui.withApp(b.url, v, async ({ page, problems }) => {
        await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
        const line = page.getByText(/^Synced (just now|\d+ min ago) from a computer found on the internet · 1 post( · [^·]+)*$/);
        await line.waitFor();
        assert.equal(await line.getAttribute('title'), `Last synced from ${a.lanUrl.replace('http://', '')}`, 'the address is on hover');
        await shoot(page, `dht-stream-source-${v.id}`);
        assert.deepEqual(problems.errors, []);
      });
    }
  } finally {
    await boot.stop();
  }
});
