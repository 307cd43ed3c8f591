// A device replies, reacts and re-shares (DESIGN §9, issue 21), through running nodes on 127.0.0.1:
// B is a device of A's stream S (public) and of A's private stream P; T is a third stream (of node
// X). B's reply and reaction go into B's own chain of S (sealed in P), and A and a follower F see the
// reply in T's post's thread and the reaction counted, both attributed to the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { paired, startNode as start, urlOf } from './devices-helpers.js';
import { tmpDir } from './helpers.js';

test('a device replies to, reacts on and re-shares a post of a third stream, for a public and a private stream', async () => {
  const root = tmpDir('drayer-devices-talk-');
  const [a, b, x, f] = await Promise.all(['a', 'b', 'x', 'f'].map((d) => start(path.join(root, d))));
  try {
    const t = (await x.call('createStream', { name: 'Town news' })).publicKey;
    const news = await x.call('post', { publicKey: t, title: 'Bridge opens', body: 'on Friday' });
    const xUrl = await urlOf(x);
    for (const n of [a, b, f]) await n.call('follow', { key: t, url: xUrl });

    const s = await paired(a, b, 'Sam', false);
    const p = await paired(a, b, 'Sam private', true);
    const ref = { streamKey: t, key: news.key };

    // B writes as S and as P: a reply each, a reaction (S), a re-share (S)
    const reply = await b.call('post', { publicKey: s, title: '', body: 'See you there', replyTo: ref });
    const sealedReply = await b.call('post', { publicKey: p, title: '', body: 'Only for the circle', replyTo: ref });
    const counts = await b.call('react', { publicKey: s, ...ref, emoji: '👍' });
    assert.deepEqual(
      counts.map((c) => [c.emoji, c.count, c.by.map((w) => w.streamKey)]),
      [['👍', 1, [s]]],
    );
    await b.call('post', { publicKey: s, title: '', body: 'worth reading', reshare: ref });

    // A pulls its device's chains; F follows S (and holds the read link of P)
    await a.call('syncNow', { publicKey: s });
    await a.call('syncNow', { publicKey: p });
    const aUrl = await urlOf(a);
    await f.call('follow', { key: s, url: aUrl });
    await f.call('follow', { key: (await a.call('streamDetails', { publicKey: p })).readLink!, url: aUrl });
    for (const [who, n] of [
      ['A', a],
      ['F', f],
    ] as const) {
      const th = await n.call('thread', ref);
      const replies = th.replies.map((r) => [r.streamKey, r.body]).sort();
      assert.deepEqual(
        replies,
        [
          [p, 'Only for the circle'],
          [s, 'See you there'],
        ].sort(),
        `${who} sees both replies in the thread, as the streams`,
      );
      assert.ok(th.replies.some((r) => r.key === reply.key) && th.replies.some((r) => r.key === sealedReply.key));
      const root = th.root!;
      assert.deepEqual(
        (root.reactions ?? []).map((c) => [c.emoji, c.count, c.by.map((w) => w.streamKey)]),
        [['👍', 1, [s]]],
        `${who} counts B's reaction as the stream's`,
      );
      const shares = (await n.call('timeline', {})).filter((i) => i.streamKey === s && i.reshare);
      assert.equal(shares.length, 1, `${who} shows the re-share`);
    }

    // taking the reaction back, from the device
    assert.deepEqual(await b.call('react', { publicKey: s, ...ref, emoji: null }), []);
    await a.call('syncNow', { publicKey: s });
    assert.deepEqual((await a.call('thread', ref)).root!.reactions ?? [], []);
  } finally {
    await Promise.all([a, b, x, f].map((n) => n.stop()));
  }
});
