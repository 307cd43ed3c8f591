// Rotate access on a private stream (issue 19, DESIGN §8), in a real Chromium against real headless
// nodes: the share dialog says in one sentence what rotating means before doing it; after it, the
// dialog shows the new read link, a reader with the old link reads nothing new, the new link does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { go, shoot, uiSuite, assertAccessible } from './ui-harness.js';

const ui = uiSuite();

test('Rotate access: one sentence first, then a new read link; the old link reads nothing new, the new one does', async () => {
  const owner = await ui.node('rotate-owner');
  const s = await owner.call('createStream', { name: 'Sealed notes', private: true });
  await owner.call('post', { publicKey: s.publicKey, title: 'Before the rotation', body: 'old key' });
  const oldLink = (await owner.call('streamDetails', { publicKey: s.publicKey })).readLink!;
  const reader = await ui.node('rotate-reader');
  await reader.call('follow', { key: oldLink, url: owner.lanUrl });
  for (const look of [
    { id: 'light-wide', dark: false, width: 1280, height: 800 },
    { id: 'dark-narrow', dark: true, width: 400, height: 860 },
  ]) {
    await ui.withApp(owner.url, { width: look.width, height: look.height, dark: look.dark }, async ({ page, problems }) => {
      await go(page, `#/stream/${encodeURIComponent(s.publicKey)}`);
      await page.getByRole('button', { name: 'Share read access' }).first().click();
      const share = page.getByRole('dialog', { name: /^Share read access to/ });
      await share.getByRole('tab', { name: 'Another computer' }).click();
      const before = (await owner.call('streamDetails', { publicKey: s.publicKey })).readLink!;
      await share.getByText(before).waitFor();
      await share.getByRole('button', { name: 'Rotate access…' }).click();
      // what it means, before anything is done
      await share.getByText(/reads nothing new or edited/).waitFor();
      await share.getByRole('button', { name: 'Keep the current key' }).scrollIntoViewIfNeeded();
      await shoot(page, `private-rotate-confirm-${look.id}`);
      await assertAccessible(page, `rotate access ${look.id}`);
      assert.equal((await owner.call('streamDetails', { publicKey: s.publicKey })).readLink, before, 'nothing rotated before the confirmation');
      await share.getByRole('button', { name: 'Rotate access', exact: true }).click();
      await share.getByRole('button', { name: 'Rotate access…' }).waitFor({ timeout: 30_000 });
      const after = (await owner.call('streamDetails', { publicKey: s.publicKey })).readLink!;
      assert.notEqual(after, before, 'a new read link');
      await share.getByText(after).waitFor();
      await shoot(page, `private-rotate-done-${look.id}`);
      assert.deepEqual(problems.errors, []);
    });
  }
  // a post after the rotation: the reader holding the old link syncs it but cannot open it; the new link can
  await owner.call('post', { publicKey: s.publicKey, title: 'After the rotation', body: 'new key' });
  await reader.call('syncNow', { publicKey: s.publicKey }).catch(() => undefined);
  const oldView = await reader.call('listPosts', { publicKey: s.publicKey, limit: 50 }).catch((e: Error) => e);
  const titles = Array.isArray(oldView) ? oldView.map((p) => p.title) : [];
  assert.ok(!titles.includes('After the rotation'), `the old read link read a post made after the rotation: ${JSON.stringify(titles)}`);
  const newLink = (await owner.call('streamDetails', { publicKey: s.publicKey })).readLink!;
  const fresh = await ui.node('rotate-new-reader');
  await fresh.call('follow', { key: newLink, url: owner.lanUrl });
  const newTitles = (await fresh.call('listPosts', { publicKey: s.publicKey, limit: 50 })).map((p) => p.title);
  assert.ok(newTitles.includes('After the rotation') && newTitles.includes('Before the rotation'), JSON.stringify(newTitles));
});
