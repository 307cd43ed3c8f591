// Conversations across streams (issue 21): reply and reaction records, their index in the
// library, the node's thread and reactions, across two nodes synced over real HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Library } from '../app/node/library.js';
import { Stream } from '../app/store/store.js';
import { addPost, decodePost, POST_TYPE } from '../app/store/posts.js';
import { decodeLinks, decodeReaction, encodeLinkedPost, REACTION_TYPE, reactionKey, replyTo, setReaction } from '../app/store/talk.js';
import { keyName, parseKey } from '../app/core/keys.js';
import { tmpDir, utf8 } from './helpers.js';
import { b64, DROP_LIBRARY_SINCE_4, downgradeLibrary } from './library-helpers.js';
import { startNode, urlOf } from './nodes.js';

test('a reply is a post older readers read as {title, body}; hostile link values are no links', () => {
  const d = tmpDir();
  const a = Stream.create(path.join(d, 'a.stream'), { name: 'A' });
  const root = addPost(a, { title: 'Root', body: 'hello' });
  const r = a.get(POST_TYPE, root.key)!;
  const reply = replyTo(b64(a), r);
  assert.deepEqual(reply.root, { stream: b64(a), post: root.key });
  assert.equal(reply.hash, Buffer.from(r.hash).toString('hex'));
  const val = encodeLinkedPost({ title: '', body: 'answer' }, { reply });
  assert.deepEqual(decodePost(val), { title: '', body: 'answer' }); // what an older version shows
  assert.deepEqual(decodeLinks(val).reply, reply);
  // a reply to a reply keeps the thread's root
  const r2 = a.put(POST_TYPE, 'r2', val);
  assert.deepEqual(replyTo(b64(a), r2).root, reply.root);
  const bad = [
    '{"reply": {"stream": "x", "post": "k", "hash": "00"}}',
    `{"reply": {"stream": "${b64(a)}", "post": "", "hash": "${'0'.repeat(64)}"}}`,
    `{"reply": {"stream": "${b64(a)}", "post": "k", "hash": "${'0'.repeat(63)}"}}`,
    `{"reply": {"stream": "${b64(a)}", "post": "${'k'.repeat(5000)}", "hash": "${'0'.repeat(64)}"}}`,
    '{"reply": [1,2,3]}',
    'not json',
    '[{"reply": {}}]',
  ];
  for (const b of bad) assert.equal(decodeLinks(utf8(b)).reply, undefined, b);
  // a root that is not a post ref falls back to the post answered
  const noRoot = decodeLinks(utf8(`{"reply": {"stream": "${b64(a)}", "post": "k", "hash": "${'a'.repeat(64)}", "root": 7}}`)).reply!;
  assert.deepEqual(noRoot.root, { stream: b64(a), post: 'k' });
  // reactions: only the offered emoji, only under the key of the post they name, bounded
  const to = { stream: b64(a), post: root.key };
  const x = setReaction(a, to, '🎉')!;
  assert.equal(x.key, reactionKey(to));
  assert.deepEqual(decodeReaction(x.key, x.val), { ...to, emoji: '🎉' });
  assert.equal(decodeReaction('other/key', x.val), undefined);
  assert.equal(decodeReaction(x.key, utf8(JSON.stringify({ ...to, emoji: '💩' }))), undefined);
  assert.equal(decodeReaction(x.key, utf8(JSON.stringify({ ...to, emoji: '🎉', pad: 'x'.repeat(2000) }))), undefined);
  assert.throws(() => setReaction(a, to, 'nope'), /A reaction is one of/);
  setReaction(a, to, '👍');
  assert.equal(a.list(REACTION_TYPE).length, 1, 'reacting again replaces the reaction');
  setReaction(a, to, null);
  assert.equal(a.list(REACTION_TYPE).length, 0, 'removing deletes it');
  a.close();
});

test('the library indexes replies by root and reactions by post, and drops them with their records', () => {
  const d = tmpDir();
  const lib = Library.open(d);
  const a = Stream.create(path.join(d, 'a.stream'), { name: 'A' });
  lib.addStream({ publicKey: b64(a), file: 'a.stream', owned: true, name: 'A' });
  const root = a.get(POST_TYPE, addPost(a, { title: 'Root', body: 'r' }).key)!;
  const r1 = a.put(POST_TYPE, 'r1', encodeLinkedPost({ title: '', body: 'one' }, { reply: replyTo(b64(a), root) }));
  a.put(POST_TYPE, 'r2', encodeLinkedPost({ title: '', body: 'two' }, { reply: replyTo(b64(a), r1) }));
  // hostile: a reaction under another key, one with a bomb of a value
  a.put(REACTION_TYPE, 'x/y', utf8(JSON.stringify({ stream: b64(a), post: root.key, emoji: '👍' })));
  setReaction(a, { stream: b64(a), post: root.key }, '❤️');
  lib.indexStream(a);
  const t = lib.talk.thread(b64(a), root.key);
  assert.equal(t.root?.key, root.key);
  assert.deepEqual(t.replies.map((r) => r.key).sort(), ['r1', 'r2']);
  const ar = lib.talk.around([{ streamKey: b64(a), id: root.id, key: root.key }]);
  assert.deepEqual(
    ar.reactions.map((x) => x.emoji),
    ['❤️'],
  );
  assert.deepEqual(ar.counts, [{ to_pk: b64(a), to_key: root.key, n: 1 }]);
  // delete a reply and the reaction: both leave the index (as a mirror learns it: from the gaps)
  a.delete(POST_TYPE, 'r2');
  setReaction(a, { stream: b64(a), post: root.key }, null);
  lib.indexStream(a);
  assert.deepEqual(
    lib.talk.thread(b64(a), root.key).replies.map((r) => r.key),
    ['r1'],
  );
  assert.deepEqual(lib.talk.around([{ streamKey: b64(a), id: root.id, key: root.key }]).reactions, []);
  // an edit that drops the link leaves the thread too
  a.put(POST_TYPE, 'r1', encodeLinkedPost({ title: '', body: 'no longer a reply' }, {}));
  lib.indexStream(a);
  assert.deepEqual(lib.talk.thread(b64(a), root.key).replies, []);
  a.close();
  lib.close();
});

test('replies and reactions across two nodes: thread, nesting, counts, an edited original, deletes reaching the mirror', async () => {
  const a = await startNode();
  const b = await startNode();
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    const sb = await b.call('createStream', { name: 'Bo' });
    const root = await a.call('post', { publicKey: sa.publicKey, title: 'Lunch?', body: 'Who is in?' });
    await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    await a.call('follow', { key: sb.publicKey, url: urlOf(b) });
    const r1 = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'Me!', replyTo: { streamKey: sa.publicKey, key: root.key } });
    await assert.rejects(
      b.call('post', { publicKey: sb.publicKey, title: '', body: 'x', replyTo: { streamKey: sa.publicKey, key: 'nope' } }),
      /not on this computer/,
    );
    await a.call('syncNow', { publicKey: sb.publicKey });
    const r2 = await a.call('post', { publicKey: sa.publicKey, title: '', body: 'Great, 12:30', replyTo: { streamKey: sb.publicKey, key: r1.key } });
    const r3 = await a.call('post', { publicKey: sa.publicKey, title: '', body: 'Anyone else?', replyTo: { streamKey: sa.publicKey, key: root.key } });
    await a.call('react', { publicKey: sa.publicKey, streamKey: sb.publicKey, key: r1.key, emoji: '🎉' });
    const counts = await b.call('react', { publicKey: sb.publicKey, streamKey: sa.publicKey, key: root.key, emoji: '👍' });
    assert.deepEqual(counts, [{ emoji: '👍', count: 1, by: [{ streamKey: sb.publicKey, name: 'Bo' }] }]);
    await b.call('syncNow', { publicKey: sa.publicKey });
    await a.call('syncNow', { publicKey: sb.publicKey });

    for (const [who, n] of [
      ['a', a],
      ['b', b],
    ] as const) {
      // opened from any post of it, the thread is the same: root, then each top reply with what is under it
      for (const from of [root.key, r2.key]) {
        const owner = from === root.key ? sa.publicKey : sa.publicKey;
        const t = await n.call('thread', { streamKey: owner, key: from });
        assert.equal(t.root?.key, root.key, who);
        assert.deepEqual(
          t.replies.map((r) => `${r.depth}:${r.body}`),
          ['0:Me!', '1:Great, 12:30', '0:Anyone else?'],
          who,
        );
        assert.equal(t.replies[1]!.replyTo?.streamName, 'Bo');
        assert.deepEqual(
          t.root?.reactions?.map((x) => [x.emoji, x.count]),
          [['👍', 1]],
        );
        assert.equal(t.root?.replies, 2);
        assert.deepEqual(
          t.replies[0]!.reactions?.map((x) => x.by.map((y) => y.name)),
          [['Ada']],
        );
      }
      const tl = await n.call('timeline', {});
      const me = tl.find((t) => t.key === r1.key)!;
      assert.deepEqual(me.replyTo && [me.replyTo.streamName, me.replyTo.key, me.replyTo.changed], ['Ada', root.key, undefined], who);
    }
    // the phone page: each reply says what it answers (its own stream by name, another by its key's words)
    // (another stream shared by this server too is named and linked: talk-phone.test.ts)
    const html = await (await fetch(`${urlOf(a)}/${Buffer.from(sa.publicKey, 'base64').toString('base64url')}/`)).text();
    const page = html.replace(/<\/?(?:a|bdi)\b[^>]*>/g, '');
    assert.ok(page.includes('in reply to Ada'), 'a reply to the stream itself');
    assert.ok(page.includes(`in reply to ${keyName(parseKey(sb.publicKey))}`) || page.includes('in reply to Bo'), 'a reply to another stream');
    assert.equal(page.match(/in reply to/g)?.length, 2);
    // the original edited after the reply: the reply says so
    await a.call('editPost', { publicKey: sa.publicKey, key: root.key, title: 'Lunch?', body: 'Who is in? (at 12:30)' });
    await b.call('syncNow', { publicKey: sa.publicKey });
    assert.equal((await b.call('timeline', {})).find((t) => t.key === r1.key)!.replyTo?.changed, true);
    // deleting a reply, and taking a reaction back, reach the mirror's thread
    await a.call('deletePost', { publicKey: sa.publicKey, key: r3.key });
    await b.call('react', { publicKey: sb.publicKey, streamKey: sa.publicKey, key: root.key, emoji: null });
    await b.call('syncNow', { publicKey: sa.publicKey });
    await a.call('syncNow', { publicKey: sb.publicKey });
    for (const n of [a, b]) {
      const t = await n.call('thread', { streamKey: sa.publicKey, key: root.key });
      assert.deepEqual(
        t.replies.map((r) => r.body),
        ['Me!', 'Great, 12:30'],
      );
      assert.equal(t.root?.reactions, undefined);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a library.db of schema 4 is upgraded: replies, reactions and mentions its streams already hold are found', () => {
  const d = tmpDir();
  let lib = Library.open(d);
  const a = Stream.create(path.join(d, 'a.stream'), { name: 'A' });
  lib.addStream({ publicKey: b64(a), file: 'a.stream', owned: true, name: 'A' });
  const root = a.get(POST_TYPE, addPost(a, { title: 'Root', body: 'r' }).key)!;
  a.put(POST_TYPE, 'r1', encodeLinkedPost({ title: '', body: 'one' }, { reply: replyTo(b64(a), root) }));
  setReaction(a, { stream: b64(a), post: root.key }, '😮');
  const m = a.put(POST_TYPE, 'm', encodeLinkedPost({ title: '', body: `hi [@A](drayer:${Buffer.from(a.publicKey).toString('base64url')})` }, {}));
  lib.indexStream(a);
  lib.close();
  // back to schema 4, as the version before conversations left it: every post indexed, no replies table
  downgradeLibrary(d, DROP_LIBRARY_SINCE_4, 4);
  lib = Library.open(d);
  lib.indexStream(a); // what the node does for each stream at start
  assert.deepEqual(
    lib.talk.thread(b64(a), root.key).replies.map((r) => r.key),
    ['r1'],
  );
  assert.deepEqual(
    lib.talk.around([{ streamKey: b64(a), id: root.id, key: root.key }]).reactions.map((x) => x.emoji),
    ['😮'],
  );
  // and mentions (migration 6)
  assert.deepEqual(
    lib.talk.links([{ streamKey: b64(a), id: m.id }]).links.map((l) => [l.kind, l.to_pk]),
    [['mention', b64(a)]],
  );
  a.close();
  lib.close();
});
