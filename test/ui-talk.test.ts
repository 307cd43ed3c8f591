// Conversations across streams (issue 21), end to end in a real Chromium against two real
// headless nodes: reply from a Home card ("Replying to NAME" on the reply's card), the thread
// view (root, replies by time, nested one level, the opened reply marked), and reactions (pick,
// count, yours pressed, who reacted on hover and focus, take it back), in light and dark, wide
// and narrow, with axe on the thread.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, go, shoot, recordNotifications, uiSuite, until, VIEWS, type UiNode } from './ui-harness.js';

const ui = uiSuite();
let ada: UiNode;
let bo: UiNode;
let adaKey = '';
let boKey = '';
let rootKey = '';

before(async () => {
  [ada, bo] = await Promise.all([ui.node('ada'), ui.node('bo')]);
  adaKey = (await ada.call('createStream', { name: 'Ada Lovelace', about: 'Engines and numbers.' })).publicKey;
  boKey = (await bo.call('createStream', { name: 'Bo Chen', about: 'Gardens and bikes.' })).publicKey;
  rootKey = (
    await ada.call('post', {
      publicKey: adaKey,
      title: 'Picnic on Saturday?',
      body: 'The forecast says sun. Who brings what? I can do **bread** and cheese.',
    })
  ).key;
  await bo.call('follow', { key: adaKey, url: ada.lanUrl });
  await ada.call('follow', { key: boKey, url: bo.lanUrl });
});

test('reply from a Home card: the reply shows "Replying to", the writer gets it in the thread', async () => {
  await ui.withApp(bo.url, async ({ page, problems }) => {
    const card = page.getByRole('article', { name: 'Picnic on Saturday?' });
    await card.waitFor();
    await card.getByRole('button', { name: 'Reply' }).click();
    const box = card.getByPlaceholder('Reply to Ada Lovelace…');
    await box.waitFor();
    await box.fill('I bring strawberries 🍓 and a blanket. سأحضر الشاي أيضاً');
    await shoot(page, 'talk-reply-editor-light-wide');
    await card.getByRole('button', { name: 'Reply', exact: true }).last().click();
    await page.getByText('Reply posted').waitFor();
    const reply = page.getByRole('article', { name: 'Post by Bo Chen' }).filter({ hasText: 'strawberries' });
    await reply.waitFor();
    assert.match(await reply.locator('.post-replying').innerText(), /Replying to\s+Ada Lovelace/);
    // the original counts it, and its link opens the thread
    await card.getByRole('link', { name: '1 reply' }).waitFor();
    await card.getByRole('link', { name: '1 reply' }).click();
    await page.getByRole('heading', { name: '1 reply' }).waitFor();
    assert.deepEqual(problems.errors, []);
  });
  // the writer's node pulls Bo's stream: the reply is in its thread
  await ada.call('syncNow', { publicKey: boKey });
  const t = await ada.call('thread', { streamKey: adaKey, key: rootKey });
  assert.deepEqual(
    t.replies.map((r) => [r.streamName, r.depth]),
    [['Bo Chen', 0]],
  );
});

test('react: pick, count, yours pressed, who reacted on hover and on focus, take it back', async () => {
  // Ada likes her own post too (another stream's reaction Bo's node learns by sync)
  await ada.call('react', { publicKey: adaKey, streamKey: adaKey, key: rootKey, emoji: '🎉' });
  await bo.call('syncNow', { publicKey: adaKey });
  await ui.withApp(bo.url, async ({ page, problems }) => {
    const card = page.getByRole('article', { name: 'Picnic on Saturday?' });
    await card.waitFor();
    const party = card.getByRole('button', { name: /^Celebrate: / });
    await party.waitFor();
    assert.equal(await party.getAttribute('aria-pressed'), 'false');
    assert.match((await party.getAttribute('aria-label'))!, /^Celebrate: 1 \(Ada Lovelace\)$/);
    await card.getByRole('button', { name: 'React' }).click();
    await card.getByRole('group', { name: 'Reactions' }).waitFor();
    await shoot(page, 'talk-picker-light-wide');
    await card.getByRole('group', { name: 'Reactions' }).getByRole('button', { name: 'Celebrate' }).click();
    await until(page, `document.querySelector('.reaction-mine .reaction-count')?.textContent === '2'`);
    assert.equal(await party.getAttribute('aria-pressed'), 'true');
    // who reacted: on focus (keyboard) and on hover, both names
    await party.focus();
    const tip = card.getByRole('tooltip').filter({ hasText: 'Ada Lovelace' });
    await tip.waitFor({ state: 'visible' });
    assert.equal(await tip.innerText(), 'Ada Lovelace, Bo Chen');
    await shoot(page, 'talk-react-light-wide');
    // another emoji replaces yours: one reaction per stream and post
    await card.getByRole('button', { name: 'Change your reaction' }).click();
    await card.getByRole('group', { name: 'Reactions' }).getByRole('button', { name: 'Love' }).click();
    await card.getByRole('button', { name: /^Love: 1 \(Bo Chen\)$/ }).waitFor();
    await card.getByRole('button', { name: /^Celebrate: 1 \(Ada Lovelace\)$/ }).waitFor();
    // the same emoji again takes it back
    await card.getByRole('button', { name: /^Love: / }).click();
    await card.getByRole('button', { name: /^Love: / }).waitFor({ state: 'detached' });
    assert.deepEqual(problems.errors, []);
  });
  const bos = await bo.call('thread', { streamKey: adaKey, key: rootKey });
  assert.deepEqual(
    bos.root?.reactions?.map((r) => [r.emoji, r.count]),
    [['🎉', 1]],
  );
});

for (const v of VIEWS) {
  test(`the thread view, ${v.id}: root, replies by time, one level of nesting, the opened reply marked`, async () => {
    // once: Ada answers Bo's reply, and Bo answers Ada's root again later
    const before = await bo.call('thread', { streamKey: adaKey, key: rootKey });
    if (before.replies.length < 3) {
      await ada.call('syncNow', { publicKey: boKey });
      const first = (await ada.call('thread', { streamKey: adaKey, key: rootKey })).replies[0]!;
      await ada.call('post', {
        publicKey: adaKey,
        title: '',
        body: 'Perfect, strawberries it is. I will bring a knife.',
        replyTo: { streamKey: boKey, key: first.key },
      });
      await bo.call('syncNow', { publicKey: adaKey });
      await bo.call('post', {
        publicKey: boKey,
        title: '',
        body: 'Also: should we meet at the north gate at noon?',
        replyTo: { streamKey: adaKey, key: rootKey },
      });
      await bo.call('react', { publicKey: boKey, streamKey: adaKey, key: rootKey, emoji: '👍' });
    }
    const t = await bo.call('thread', { streamKey: adaKey, key: rootKey });
    assert.deepEqual(
      t.replies.map((r) => `${r.depth} ${r.streamName}`),
      ['0 Bo Chen', '1 Ada Lovelace', '0 Bo Chen'],
    );
    const nested = t.replies[1]!;
    await ui.withApp(bo.url, v, async ({ page, problems }) => {
      // opened from the nested reply: its thread's root on top, the reply marked where it sits
      await go(page, `#/post/${encodeURIComponent(adaKey)}/${encodeURIComponent(nested.key)}`);
      await page.getByRole('heading', { name: '3 replies' }).waitFor();
      await page.getByRole('article', { name: 'Picnic on Saturday?' }).waitFor();
      const focused = page.locator('.thread-focused article');
      assert.match(await focused.innerText(), /Perfect, strawberries/);
      assert.equal(await page.locator('.thread-nested .thread-focused').count(), 1, 'the answer to a reply is nested');
      assert.match(await focused.locator('.post-replying').innerText(), /Replying to\s+Bo Chen/);
      // the replies in time order
      const texts = await page.locator('.thread-item article').allInnerTexts();
      assert.deepEqual(
        texts.map((x) => (x.includes('strawberries 🍓') ? 'bo1' : x.includes('knife') ? 'ada' : x.includes('north gate') ? 'bo2' : '?')),
        ['bo1', 'ada', 'bo2'],
      );
      // the root's reactions and its add button share a line, whatever the width (they wrap together)
      const root = page.getByRole('article', { name: 'Picnic on Saturday?' });
      const pill = await root.locator('.reaction').last().boundingBox();
      const add = await root.locator('.reaction-add').boundingBox();
      assert.ok(
        pill && add && Math.abs(pill.y + pill.height / 2 - (add.y + add.height / 2)) < 4,
        `add reaction beside the reactions (${JSON.stringify({ pill, add })})`,
      );
      await page.evaluate('window.scrollTo(0, 0)');
      await shoot(page, `talk-thread-${v.id}`);
      await assertAccessible(page, `thread ${v.id}`);
      assert.deepEqual(problems.errors, []);
    });
  });
}

test('a reply to your post, with the window in the background, is a notification "NAME replied to you" that opens the thread', async () => {
  await ada.call('setSettings', { notifications: true });
  await ada.call('syncNow', { publicKey: boKey }); // what Bo wrote before is not news: only the reply below arrives
  await ui.withApp(ada.url, async ({ page, context, problems }) => {
    await recordNotifications(context, ada.url);
    await page.reload();
    await page.getByRole('article', { name: 'Picnic on Saturday?' }).waitFor();
    const reply = await bo.call('post', { publicKey: boKey, title: '', body: 'Count me in for the cake.', replyTo: { streamKey: adaKey, key: rootKey } });
    await ada.call('syncNow', { publicKey: boKey });
    await until(page, 'window.__notifications.length > 0');
    const made = (await page.evaluate('window.__notifications.map((x) => ({ title: x.title, body: x.body }))')) as { title: string; body: string }[];
    assert.deepEqual(made, [{ title: 'Bo Chen replied to you', body: 'Count me in for the cake.' }]);
    await page.evaluate('window.__notifications[0].n.onclick(new Event("click"))');
    await page.locator('.thread-focused article').filter({ hasText: 'Count me in for the cake.' }).waitFor();
    assert.ok(page.url().includes(encodeURIComponent(reply.key)));
    assert.deepEqual(problems.errors, []);
  });
});
