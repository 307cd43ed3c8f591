// Issue 21's bug: taking a reaction back showed a false "edited" on a post. Deleting the record at
// a stream's ID tip re-issues the one before it with a new id and mod (writer.ts, DESIGN §3), so a
// post's mod moves although nobody edited it. "Edited" is now when the post's value changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DrayerNode } from '../app/node/node.js';
import { startNode, urlOf } from './nodes.js';

test('a reaction taken back re-signs the post before it, which shows as edited on no node; a real edit does', async () => {
  const a = await startNode();
  const b = await startNode();
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    const p = await a.call('post', { publicKey: sa.publicKey, title: 'Hello', body: 'first' });
    await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    await sleep(1100); // past the second a mod may lag its ts
    await a.call('react', { publicKey: sa.publicKey, streamKey: sa.publicKey, key: p.key, emoji: '🎉' });
    await a.call('react', { publicKey: sa.publicKey, streamKey: sa.publicKey, key: p.key, emoji: null });
    await b.call('syncNow', { publicKey: sa.publicKey });
    const views = async (n: DrayerNode) => [
      (await n.call('timeline', {})).find((t) => t.key === p.key)!,
      (await n.call('listPosts', { publicKey: sa.publicKey })).find((t) => t.key === p.key)!,
      (await n.call('getPost', { publicKey: sa.publicKey, key: p.key }))!,
      (await n.call('thread', { streamKey: sa.publicKey, key: p.key })).root!,
    ];
    for (const [who, n] of [
      ['a', a],
      ['b', b],
    ] as const) {
      for (const v of await views(n)) {
        assert.ok(v.mod > v.ts + 1_000_000, `${who}: the post was re-signed (the trap: its mod moved)`);
        assert.equal(v.id > p.id, true, `${who}: re-issued with a new id`);
        assert.equal(v.edited, undefined, `${who}: not edited`);
        assert.equal(v.reactions, undefined);
      }
    }
    // an edit is one, on both nodes, and stays one when the post is re-signed again
    const e = await a.call('editPost', { publicKey: sa.publicKey, key: p.key, title: 'Hello', body: 'second' });
    assert.ok(e.edited && e.edited >= e.ts + 1_000_000, 'the edit answers with its time');
    await a.call('react', { publicKey: sa.publicKey, streamKey: sa.publicKey, key: p.key, emoji: '👍' });
    await a.call('react', { publicKey: sa.publicKey, streamKey: sa.publicKey, key: p.key, emoji: null });
    await b.call('syncNow', { publicKey: sa.publicKey });
    for (const v of await views(a)) assert.equal(v.edited, e.edited, 'edited when the value changed, not when re-signed');
    // b never held the edit's own version (it arrived re-signed): edited, as of the version it got
    for (const v of await views(b)) assert.ok(v.edited && v.edited >= e.edited! && v.body.startsWith('second'), 'edited on the mirror');
    // a post first seen already modified (a stream copied whole) keeps the old reading: edited
    const c = await startNode();
    try {
      await c.call('follow', { key: sa.publicKey, url: urlOf(a) });
      const v = (await c.call('getPost', { publicKey: sa.publicKey, key: p.key }))!;
      assert.equal(v.body, 'second');
      assert.ok(v.edited && v.edited > v.ts);
    } finally {
      await c.stop();
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
