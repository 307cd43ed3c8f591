// "Announce privately" on a stream's page (issue 18): a real Chromium against a real headless
// node. The switch sets the stream's setting, and the node's public list of streams (its LAN
// server's `/`, what mDNS listings read) leaves the stream out at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, switchBecomes, uiSuite } from './ui-harness.js';

const ui = uiSuite();

test("a stream is set to announce privately from its page, and leaves the node's public list", async () => {
  const node = await ui.node('private');
  const name = 'دفتر الملاحظات الخاصة — a diary kept off the air by its writer, with a name long enough to wrap on a phone screen';
  const s = await node.call('createStream', { name });
  await node.call('post', { publicKey: s.publicKey, title: 'First', body: 'only for those who have the key' });
  const listed = async () => {
    const res = await fetch(`${node.lanUrl}/`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { streams: { publicKey: string }[] };
    return body.streams.some((x) => x.publicKey === s.publicKey);
  };
  assert.equal(await listed(), true, 'listed while announced plainly');

  await ui.withApp(node.url, { width: 1280, height: 800 }, async ({ page, problems }) => {
    await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
    await page.getByText('Stream file, servers and key').click();
    const sw = page.getByRole('switch', { name: 'Announce privately' });
    await sw.waitFor();
    assert.equal(await sw.isChecked(), false, 'off by default');
    await sw.scrollIntoViewIfNeeded();
    await sw.click();
    await switchBecomes(page.locator('#stream-private'), true);
    const list = await node.call('listStreams', undefined);
    assert.equal(list.find((x) => x.publicKey === s.publicKey)?.announcePrivately, true);
    assert.equal(await listed(), false, "left out of the node's public list");
    await shoot(page, 'private-stream-light-wide');
    await assertAccessible(page, 'stream tools with Announce privately');
    assert.deepEqual(problems.errors, []);
  });

  await ui.withApp(node.url, { width: 390, height: 844, dark: true }, async ({ page, problems }) => {
    await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
    await page.getByText('Stream file, servers and key').click();
    const sw = page.locator('#stream-private');
    await sw.scrollIntoViewIfNeeded();
    assert.equal(await sw.isChecked(), true, 'kept');
    await shoot(page, 'private-stream-dark-narrow');
    await sw.click();
    await switchBecomes(sw, false);
    assert.equal(await listed(), true, 'listed again once turned off');
    await shoot(page, 'private-stream-dark-narrow-off');
    assert.deepEqual(problems.errors, []);
  });
});

test('a new stream can be made private from the start', async () => {
  const node = await ui.node('private-new');
  // it follows one stream and has none of its own: on a phone (no sidebar), Home offers to make one
  const other = await ui.node('private-other');
  const theirs = await other.call('createStream', { name: 'Neighbour' });
  await node.call('follow', { key: theirs.publicKey, url: other.lanUrl });
  for (const [opts, shot] of [
    [{ width: 390, height: 844 }, 'private-new-stream-light-narrow'],
    [{ width: 1280, height: 800, dark: true }, 'private-new-stream-dark-wide'],
  ] as const) {
    await ui.withApp(node.url, opts, async ({ page, problems }) => {
      await go(page, '#/');
      await page
        .getByRole('button', { name: /New stream|Make your stream/ })
        .filter({ visible: true })
        .first()
        .click(); // on a phone, Home's "Make your stream" (the sidebar is folded away)
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.getByLabel('Name').fill(`Kept quiet ${opts.width}`);
      const sw = dialog.getByRole('switch', { name: 'Announce privately' });
      assert.equal(await sw.isChecked(), false, 'off by default');
      await sw.click();
      await shoot(page, shot);
      await assertAccessible(page, 'new stream dialog');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.waitFor({ state: 'detached' });
      const made = (await node.call('listStreams', undefined)).find((x) => x.name === `Kept quiet ${opts.width}`);
      assert.equal(made?.announcePrivately, true, 'made private');
      assert.deepEqual(problems.errors, []);
    });
  }
});

test('the first-run screen can make the first stream private from the start', async () => {
  for (const v of [
    { id: 'light-wide', width: 1280, height: 800, dark: false },
    { id: 'dark-narrow', width: 390, height: 844, dark: true },
  ]) {
    const node = await ui.node(`private-first-${v.id}`);
    await ui.withApp(node.url, v, async ({ page, problems }) => {
      await page.getByRole('heading', { name: 'Make your stream' }).waitFor();
      await page.getByLabel('Name').fill('Quiet notes');
      const sw = page.getByRole('switch', { name: 'Announce privately' });
      assert.equal(await sw.isChecked(), false, 'off by default');
      await sw.click();
      await shoot(page, `private-first-run-${v.id}`);
      if (v.id === 'light-wide') await assertAccessible(page, 'first run with Announce privately');
      await page.getByRole('button', { name: 'Create stream' }).click();
      await page.getByRole('heading', { name: 'Back up your key' }).waitFor();
      const [made] = await node.call('listStreams', undefined);
      assert.equal(made?.name, 'Quiet notes');
      assert.equal(made?.announcePrivately, true, 'made private from its first record on');
      const res = await fetch(`${node.lanUrl}/`, { headers: { accept: 'application/json' } });
      const body = (await res.json()) as { streams: { publicKey: string }[] };
      assert.equal(
        body.streams.some((x) => x.publicKey === made?.publicKey),
        false,
        "not in the node's public list",
      );
      assert.deepEqual(problems.errors, []);
    });
  }
});
