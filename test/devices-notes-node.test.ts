// A stream written on two computers is one identity (DESIGN §9, issues 19 and 21): owner A, device B,
// follower C with a stream of its own. C replies to a post B wrote and to one A wrote, and mentions
// the stream: "Mentions & replies" on B (and on A) holds all of it, and none of the stream's own posts.
// A device edits and deletes only its own chain's posts; the other's are refused with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { paired, startNode, urlOf } from './devices-helpers.js';
import { tmpDir } from './helpers.js';

test("replies to the owner's and to the device's posts, and a mention, are the device's mentions & replies too", async () => {
  const root = tmpDir('drayer-devices-notes-');
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((d) => startNode(path.join(root, d))));
  try {
    const s = await paired(a, b, 'Sam', false);
    const fromA = await a.call('post', { publicKey: s, title: 'From the desk', body: 'written by the owner' });
    await b.call('syncNow', { publicKey: s });
    const fromB = await b.call('post', { publicKey: s, title: 'From the laptop', body: 'written by the device' });
    // B answers A's post as the stream: not a note (it is the stream's own)
    await b.call('post', { publicKey: s, title: '', body: 'and a footnote', replyTo: { streamKey: s, key: fromA.key } });
    await a.call('syncNow', { publicKey: s });

    const t = (await c.call('createStream', { name: 'Cleo' })).publicKey;
    await c.call('follow', { key: s, url: await urlOf(a) });
    const toA = await c.call('post', { publicKey: t, title: '', body: 'Nice desk', replyTo: { streamKey: s, key: fromA.key } });
    const toB = await c.call('post', { publicKey: t, title: '', body: 'Nice laptop', replyTo: { streamKey: s, key: fromB.key } });
    const mention = await c.call('post', { publicKey: t, title: '', body: `Say hi to [Sam](drayer:${s})` });
    const cUrl = await urlOf(c);
    for (const n of [a, b]) await n.call('follow', { key: t, url: cUrl });

    for (const [who, n] of [
      ['B (the device)', b],
      ['A (the owner)', a],
    ] as const) {
      const notes = await n.call('talkNotes', {});
      assert.deepEqual(
        notes.map((x) => [x.streamKey, x.key, x.why]).sort(),
        [
          [t, mention.key, 'mention'],
          [t, toA.key, 'reply'],
          [t, toB.key, 'reply'],
        ].sort(),
        `${who}: both replies and the mention, nothing of the stream itself`,
      );
    }
  } finally {
    await Promise.all([a, b, c].map((n) => n.stop()));
  }
});

test("each computer edits and deletes its own chain's posts; the other's are refused, saying where", async () => {
  const root = tmpDir('drayer-devices-own-');
  const [a, b] = await Promise.all(['a', 'b'].map((d) => startNode(path.join(root, d))));
  try {
    const s = await paired(a, b, 'Sam', false);
    const fromA = await a.call('post', { publicKey: s, title: 'desk', body: 'by the owner' });
    const fromB = await b.call('post', { publicKey: s, title: 'laptop', body: 'by the device' });
    await a.call('syncNow', { publicKey: s });
    await b.call('syncNow', { publicKey: s });
    const within = (sum: { ownIds?: { first: number; last: number } }, id: number) => !!sum.ownIds && id >= sum.ownIds.first && id <= sum.ownIds.last;
    const summaryOf = async (n: typeof a) => (await n.call('listStreams', undefined)).find((x) => x.publicKey === s)!;
    const [sa, sb] = [await summaryOf(a), await summaryOf(b)];
    assert.deepEqual([within(sa, fromA.id), within(sa, fromB.id), within(sb, fromA.id), within(sb, fromB.id)], [true, false, false, true]);

    await assert.rejects(
      b.call('editPost', { publicKey: s, key: fromA.key, title: 'x', body: 'y' }),
      /written on another computer of this stream.*edit or delete it there/,
    );
    await assert.rejects(b.call('deletePost', { publicKey: s, key: fromA.key }), /written on another computer/);
    await assert.rejects(a.call('editPost', { publicKey: s, key: fromB.key, title: 'x', body: 'y' }), /written on one of this stream’s devices/);
    await assert.rejects(a.call('deletePost', { publicKey: s, key: fromB.key }), /only that computer can edit or delete it/);
    assert.equal((await b.call('editPost', { publicKey: s, key: fromB.key, title: 'laptop', body: 'edited' })).body, 'edited');
    assert.equal(await a.call('deletePost', { publicKey: s, key: fromA.key }), true);
    await a.call('syncNow', { publicKey: s });
    await b.call('syncNow', { publicKey: s });
    for (const n of [a, b]) {
      const posts = await n.call('listPosts', { publicKey: s });
      assert.deepEqual(
        posts.map((p) => [p.key, p.body]),
        [[fromB.key, 'edited']],
        'one post each time: no second copy made by a refused edit',
      );
    }
  } finally {
    await Promise.all([a, b].map((n) => n.stop()));
  }
});
