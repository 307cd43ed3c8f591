// Issue 21: replies from streams this node holds without following them (follow with `hold`)
// are found for a thread but marked, so the UI shows them behind a button, never mixed in; they
// stay out of Home; following the stream afterwards makes them ordinary replies. Three real nodes
// over HTTP on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNodes, urlOf } from './nodes.js';

test('replies from a stream held but not followed are marked in the thread and kept out of Home until it is followed', async () => {
  const [a, b, c] = await startNodes(3);
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    const sb = await b.call('createStream', { name: 'Bo' });
    const sc = await c.call('createStream', { name: 'Cy' });
    const root = await a.call('post', { publicKey: sa.publicKey, title: 'Picnic', body: 'Saturday?' });
    await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    await c.call('follow', { key: sa.publicKey, url: urlOf(a) });
    const rb = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'Yes!', replyTo: { streamKey: sa.publicKey, key: root.key } });
    const rc = await c.call('post', { publicKey: sc.publicKey, title: '', body: 'I bring cake', replyTo: { streamKey: sa.publicKey, key: root.key } });
    await c.call('post', { publicKey: sc.publicKey, title: 'Other', body: 'not a reply' });
    await a.call('follow', { key: sb.publicKey, url: urlOf(b) });
    const held = await a.call('follow', { key: sc.publicKey, url: urlOf(c), hold: true });
    assert.equal(held.hold, true);
    assert.equal((await a.call('listStreams', undefined)).find((s) => s.publicKey === sc.publicKey)?.hold, true);

    let t = await a.call('thread', { streamKey: sa.publicKey, key: root.key });
    assert.deepEqual(
      t.replies.map((r) => [r.key, r.unfollowed ?? false]),
      [
        [rb.key, false],
        [rc.key, true],
      ],
    );
    assert.equal(t.root?.replies, 2, 'the count on the card counts every reply held');
    let home = await a.call('timeline', {});
    assert.deepEqual(home.map((x) => x.streamName).sort(), ['Ada', 'Bo'], 'nothing of the held stream in Home');
    // a reply opened from the held stream still finds its thread
    t = await a.call('thread', { streamKey: sc.publicKey, key: rc.key });
    assert.equal(t.root?.key, root.key);

    // followed now: its replies are like any other, its posts in Home
    const now = await a.call('follow', { key: sc.publicKey });
    assert.equal(now.hold, undefined);
    t = await a.call('thread', { streamKey: sa.publicKey, key: root.key });
    assert.deepEqual(
      t.replies.map((r) => r.unfollowed ?? false),
      [false, false],
    );
    home = await a.call('timeline', {});
    assert.equal(home.filter((x) => x.streamName === 'Cy').length, 2);
    await assert.rejects(a.call('follow', { key: sc.publicKey }), /already hold/);
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('a held stream’s reply to your post is in Mentions & replies, marked; it stays out of Home (so it never notifies) until followed', async () => {
  const [a, b] = await startNodes(2);
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    const sb = await b.call('createStream', { name: 'Bo' });
    const root = await a.call('post', { publicKey: sa.publicKey, title: 'Picnic', body: 'Saturday?' });
    await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    const rb = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'Yes!', replyTo: { streamKey: sa.publicKey, key: root.key } });
    await a.call('follow', { key: sb.publicKey, url: urlOf(b), hold: true });
    let notes = await a.call('talkNotes', {});
    assert.deepEqual(
      notes.map((x) => [x.key, x.why, x.unfollowed ?? false]),
      [[rb.key, 'reply', true]],
    );
    // the app notifies of posts arriving in Home (renderer/stores/notify.ts): a held stream's never do
    assert.ok(!(await a.call('timeline', {})).some((x) => x.streamKey === sb.publicKey));
    await a.call('follow', { key: sb.publicKey });
    notes = await a.call('talkNotes', {});
    assert.equal(notes[0]!.unfollowed, undefined);
    assert.ok((await a.call('timeline', {})).some((x) => x.key === rb.key));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
