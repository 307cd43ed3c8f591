// Re-shares of re-shares and the original's mentions (issue 21). A re-share without a comment passes
// on what it shares (a boost of a boost boosts the original); one with a comment is a post of its own,
// shown with what it re-shares as a link, never nested. Chains written by strangers are read within
// RESHARE_HOPS, whatever they hold: a re-share naming itself, a cycle across streams, 1,000 deep.
// And mentions in posts of the original Drayer's shape (publicSocialPost) are indexed like ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Library } from '../app/node/library.js';
import { RESHARE_HOPS } from '../app/node/library-talk.js';
import { Stream } from '../app/store/store.js';
import { addPost, ORIGINAL_POST_TYPE, POST_TYPE } from '../app/store/posts.js';
import { encodeLinkedPost } from '../app/store/talk.js';
import { mentionMarkdown } from '../app/core/mentions.js';
import { tmpDir } from './helpers.js';
import { startNodes, urlOf } from './nodes.js';

const pkOf = (s: Stream) => Buffer.from(s.publicKey).toString('base64');

function libraryWith(names: string[]) {
  const d = tmpDir();
  const lib = Library.open(d);
  const streams = names.map((name, i) => {
    const s = Stream.create(path.join(d, `${i}.stream`), { name });
    lib.addStream({ publicKey: pkOf(s), file: `${i}.stream`, owned: i === 0, name });
    return s;
  });
  const close = () => {
    streams.forEach((s) => s.close());
    lib.close();
  };
  return { lib, streams, close };
}

const reshare = (s: Stream, key: string, to: Stream, toKey: string, comment = '') =>
  s.put(POST_TYPE, key, encodeLinkedPost({ title: '', body: comment }, { reshare: { stream: pkOf(to), post: toKey } }));

test('hostile chains of re-shares are read within RESHARE_HOPS: naming itself, a cycle across streams, 1,000 deep', () => {
  const { lib, streams, close } = libraryWith(['Me', 'Ada', 'Bo', 'Deep']);
  const [, a, b, deep] = streams as [Stream, Stream, Stream, Stream];
  try {
    const original = addPost(a, { title: 'Original', body: 'text' });
    reshare(a, 'boost1', a, original.key);
    reshare(b, 'boost2', a, 'boost1'); // a boost of a boost
    reshare(b, 'quote', a, original.key, 'Look at this');
    reshare(a, 'boost-quote', b, 'quote');
    reshare(a, 'self', a, 'self'); // names itself
    reshare(a, 'x', b, 'y'); // a cycle across streams
    reshare(b, 'y', a, 'x');
    addPost(deep, { title: 'Bottom', body: '' }, { key: 'd0' });
    for (let i = 1; i <= 1000; i++) reshare(deep, `d${i}`, deep, `d${i - 1}`);
    for (const s of streams) lib.indexStream(s);

    const boost = lib.talk.resolveReshare(pkOf(b), 'boost2');
    assert.deepEqual(
      [boost.to_pk, boost.to_key, boost.row?.title, boost.inner],
      [pkOf(a), original.key, 'Original', undefined],
      'a boost of a boost shows the original',
    );
    const q = lib.talk.resolveReshare(pkOf(a), 'boost-quote');
    assert.deepEqual(
      [q.to_key, q.row?.body, q.inner],
      ['quote', 'Look at this', { to_pk: pkOf(a), to_key: original.key }],
      'a boost of a quote shows the quote, naming its post',
    );
    const self = lib.talk.resolveReshare(pkOf(a), 'self');
    assert.deepEqual([self.to_key, self.row?.key], ['self', 'self']);
    const cycle = lib.talk.resolveReshare(pkOf(a), 'x');
    assert.ok(['x', 'y'].includes(cycle.row!.key) && cycle.inner, 'a cycle ends at a post it holds');
    const t0 = performance.now();
    const far = lib.talk.resolveReshare(pkOf(deep), 'd1000');
    const ms = performance.now() - t0;
    assert.equal(far.row?.key, `d${1000 - RESHARE_HOPS}`, `followed ${RESHARE_HOPS} hops, then shown as it is`);
    assert.deepEqual(far.inner, { to_pk: pkOf(deep), to_key: `d${999 - RESHARE_HOPS}` });
    assert.ok(ms < 200, `a 1,000-deep chain read in ${ms.toFixed(1)} ms`);
    const two = lib.talk.resolveReshare(pkOf(deep), 'd2');
    assert.equal(two.row?.title, 'Bottom', 'a short chain reaches the post');
    // every post of the deep stream at once (a stream page): bounded work per post
    const ids = Array.from({ length: 1000 }, (_, i) => ({ streamKey: pkOf(deep), id: deep.get(POST_TYPE, `d${i + 1}`)!.id }));
    const t1 = performance.now();
    const { shared } = lib.talk.links(ids);
    console.log(
      `# 1,000-deep chain: one re-share read in ${ms.toFixed(1)} ms, all ${ids.length} posts' re-shares in ${(performance.now() - t1).toFixed(0)} ms`,
    );
    assert.equal(shared.size, 1000);
  } finally {
    close();
  }
});

test('re-shares older versions wrote as a boost of a boost (naming the in-between post) tell the original’s author, within RESHARE_HOPS', () => {
  const { lib, streams, close } = libraryWith(['Me', 'Ada', 'Bo', 'Deep']);
  const [me, a, b, deep] = streams as [Stream, Stream, Stream, Stream];
  try {
    const mine = addPost(me, { title: 'Mine', body: 'my post' });
    reshare(a, 'boost1', me, mine.key); // a boost of my post
    reshare(b, 'old-boost2', a, 'boost1'); // an older version's boost of that boost: it names Ada's boost, not my post
    reshare(b, 'spaces', a, 'boost1', ' \n\t '); // a blank comment is none
    reshare(a, 'quote', me, mine.key, 'Worth it');
    reshare(b, 'boost-of-quote', a, 'quote'); // re-shares Ada's quote: Ada's post, not mine
    reshare(a, 'x', b, 'y'); // a cycle of blank re-shares naming nothing of mine
    reshare(b, 'y', a, 'x');
    // a hostile chain 1,000 deep ending at my post
    reshare(deep, 'd0', me, mine.key);
    for (let i = 1; i <= 1000; i++) reshare(deep, `d${i}`, deep, `d${i - 1}`);
    // the others' streams are written here (the test's shortcut), so the library takes them as owned: they are not
    const index = (s: Stream) => {
      lib.indexStream(s);
      lib.db.prepare(`UPDATE streams SET owned = 0 WHERE pk != ?`).run(pkOf(me));
    };
    streams.forEach(index);
    const t0 = performance.now();
    const notes = lib.talk.notes(2000, Number.MAX_SAFE_INTEGER);
    const ms = performance.now() - t0;
    const keys = (pk: string) => notes.filter((n) => n.stream_pk === pk).map((n) => `${n.why} ${n.key}`);
    assert.deepEqual(keys(pkOf(a)).sort(), ['reshare boost1', 'reshare quote']);
    assert.deepEqual(keys(pkOf(b)).sort(), ['reshare old-boost2', 'reshare spaces'], 'the old boost of a boost tells me; a boost of a quote does not');
    const far = keys(pkOf(deep));
    assert.equal(far.length, RESHARE_HOPS + 1, `the deep chain counts ${RESHARE_HOPS} hops past the first re-share, then stops`);
    assert.deepEqual(far.sort(), Array.from({ length: RESHARE_HOPS + 1 }, (_, i) => `reshare d${i}`).sort());
    assert.ok(ms < 500, `notes read in ${ms.toFixed(1)} ms`);
    // the card shows the original, as for a re-share written naming it
    const shown = lib.talk.resolveReshare(pkOf(a), 'boost1');
    assert.deepEqual([shown.to_pk, shown.to_key, shown.row?.title], [pkOf(me), mine.key, 'Mine']);
    // the in-between boost deleted: the chain is broken there, and the old boost of it no longer counts
    a.delete(POST_TYPE, 'boost1');
    index(a);
    assert.deepEqual(
      lib.talk
        .notes(2000, Number.MAX_SAFE_INTEGER)
        .filter((n) => n.stream_pk === pkOf(b))
        .map((n) => n.key),
      [],
    );
  } finally {
    close();
  }
});

test('mentions in posts of the original Drayer’s shape are indexed like ours, and leave with an edit or delete', () => {
  const { lib, streams, close } = libraryWith(['Me', 'Orig']);
  const [me, o] = streams as [Stream, Stream];
  try {
    const text = `Hello ${mentionMarkdown('Me', pkOf(me))}, read this`;
    const kivy = o.put(ORIGINAL_POST_TYPE, '1600000000.25:Garden', new TextEncoder().encode(text)); // drake.py's key
    const plain = addPost(o, { title: 'Plain', body: `raw drayer:${pkOf(me)} too` }, { original: true });
    const none = addPost(o, { title: 'None', body: 'drayer: nothing here' }, { original: true });
    lib.indexStream(o);
    const of = (id: number) => lib.talk.links([{ streamKey: pkOf(o), id }]).links.map((l) => [l.kind, l.to_pk]);
    assert.deepEqual(of(kivy.id), [['mention', pkOf(me)]]);
    assert.deepEqual(of(plain.id), [['mention', pkOf(me)]]);
    assert.deepEqual(of(none.id), []);
    o.put(ORIGINAL_POST_TYPE, kivy.key, new TextEncoder().encode('no mention now'));
    o.delete(ORIGINAL_POST_TYPE, plain.key);
    lib.indexStream(o);
    assert.deepEqual(of(o.get(ORIGINAL_POST_TYPE, kivy.key)!.id), [], 'an edit without the mention takes it out');
    assert.deepEqual(of(plain.id), [], 'so does a delete');
  } finally {
    close();
  }
});

test('over HTTP: re-sharing a re-share names the original and tells its author; re-sharing a quote shows the quote with a link', async () => {
  const [a, b] = await startNodes(2);
  try {
    const ada = await a.call('createStream', { name: 'Ada' });
    const bo = await b.call('createStream', { name: 'Bo' });
    const cy = await b.call('createStream', { name: 'Cy' });
    const p1 = await a.call('post', { publicKey: ada.publicKey, title: 'Engines', body: 'The analytical engine.' });
    await b.call('follow', { key: ada.publicKey, url: urlOf(a) });
    await a.call('follow', { key: cy.publicKey, url: urlOf(b) });
    const boost = await b.call('post', { publicKey: bo.publicKey, title: '', body: '', reshare: { streamKey: ada.publicKey, key: p1.key } });
    const quote = await b.call('post', { publicKey: bo.publicKey, title: '', body: 'Worth it', reshare: { streamKey: ada.publicKey, key: p1.key } });
    const boost2 = await b.call('post', { publicKey: cy.publicKey, title: '', body: '', reshare: { streamKey: bo.publicKey, key: boost.key } });
    const ofQuote = await b.call('post', { publicKey: cy.publicKey, title: '', body: '', reshare: { streamKey: bo.publicKey, key: quote.key } });
    const tl = await b.call('timeline', {});
    const card = (k: string) => tl.find((t) => t.key === k)!;
    assert.deepEqual(
      [card(boost2.key).reshare?.streamKey, card(boost2.key).reshare?.key, card(boost2.key).reshare?.post?.title],
      [ada.publicKey, p1.key, 'Engines'],
    );
    const q = card(ofQuote.key).reshare!;
    assert.deepEqual([q.streamKey, q.key, q.post?.body], [bo.publicKey, quote.key, 'Worth it'], 'a quote is re-shared as itself');
    assert.deepEqual(q.post?.reshare, { streamKey: ada.publicKey, key: p1.key, streamName: 'Ada' }, 'its own re-share is a link, not embedded');
    // the record itself names the original (what any reader and Ada's notifications see)
    const raw = await b.call('getPost', { publicKey: cy.publicKey, key: boost2.key });
    assert.equal(raw?.body, '');
    // a stream in the original's shape mentions Ada: its post is a publicSocialPost, and Ada hears of it too
    const orig = await b.call('createStream', { name: 'Orig' });
    await b.call('setStreamSettings', { publicKey: orig.publicKey, compatible: true });
    const m = await b.call('post', { publicKey: orig.publicKey, title: 'Hi', body: `Hello ${mentionMarkdown('Ada', ada.publicKey)}` });
    await a.call('follow', { key: orig.publicKey, url: urlOf(b) });
    await a.call('syncNow', { publicKey: cy.publicKey });
    const notes = await a.call('talkNotes', {});
    assert.deepEqual(
      notes.map((n) => [n.why, n.key]),
      [
        ['mention', m.key],
        ['reshare', boost2.key],
      ],
      'Ada hears of the boost of a boost of her post (the re-share of the quote names Bo’s post), and of the original-shape mention',
    );
    assert.equal(m.key, 'Hi', 'written in the original’s shape: its key is its title');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
