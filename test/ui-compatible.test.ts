// "Compatible with the original Drayer" (issue 20.3) on a stream's page: a real Chromium against a
// real headless node. The switch sets the stream's posts to the original's shape; a post made then
// is a publicSocialPost keyed by its title.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, uiSuite } from './ui-harness.js';

const ui = uiSuite();

test('a stream is made compatible with the original Drayer from its page; its next post is keyed by its title', async () => {
  const node = await ui.node('compat');
  const s = await node.call('createStream', { name: 'Old friends' });
  await ui.withApp(node.url, { width: 1280, height: 800 }, async ({ page, problems }) => {
    await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
    await page.getByText('Stream file, servers and key').click();
    const sw = page.getByRole('switch', { name: 'Compatible with the original Drayer' });
    await sw.waitFor();
    assert.equal(await sw.isChecked(), false, 'off by default');
    await sw.click();
    for (let t0 = Date.now(); !(await sw.isChecked());) {
      if (Date.now() - t0 > 10_000) assert.fail('the switch stayed off');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(((await node.call('streamDetails', { publicKey: s.publicKey })) as { compatible?: boolean }).compatible, true);
    const p = (await node.call('post', { publicKey: s.publicKey, title: 'For the old app', body: 'plain text' })) as { key: string };
    assert.equal(p.key, 'For the old app');
    await sw.scrollIntoViewIfNeeded();
    await shoot(page, 'compatible-stream-light-wide');
    await assertAccessible(page, 'stream tools with the compatible switch');
    assert.deepEqual(problems.errors, []);
  });
  await ui.withApp(node.url, { width: 390, height: 844, dark: true }, async ({ page, problems }) => {
    await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
    await page.getByText('Stream file, servers and key').click();
    const sw = page.getByRole('switch', { name: 'Compatible with the original Drayer' });
    await sw.scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 200); // above the narrow window's bottom bar
    assert.equal(await sw.isChecked(), true, 'kept');
    await shoot(page, 'compatible-stream-dark-narrow');
    assert.deepEqual(problems.errors, []);
  });
});
