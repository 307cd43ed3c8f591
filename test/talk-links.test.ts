// Mentions and re-shares (issue 21): what counts as a mention (hostile text included), the
// re-share record as older readers see it, and across three nodes synced over real HTTP: cards
// carrying the post re-shared (embedded when held, a name and key when not), the streams a post
// mentions, and "Mentions & replies" (talkNotes): others' replies, mentions and re-shares of
// yours, newest first, leaving when deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Library } from '../app/node/library.js';
import { Stream } from '../app/store/store.js';
import { addPost, decodePost, POST_TYPE } from '../app/store/posts.js';
import { decodeLinks, encodeLinkedPost } from '../app/store/talk.js';
import { MAX_MENTIONS, mentionedKeys, mentionKey, mentionMarkdown } from '../app/core/mentions.js';
import { keyName, parseKey } from '../app/core/keys.js';
import { tmpDir } from './helpers.js';
import { startNodes, urlOf } from './nodes.js';

const key = (i: number) => Buffer.alloc(32, i).toString('base64');
const url64 = (k: string) => Buffer.from(k, 'base64').toString('base64url');

test('a mention is a drayer: link to a stream key; read links, broken keys and floods are not', () => {
  const k = key(7);
  assert.equal(mentionMarkdown('Ada [the] Lovelace', k), `[@Ada  the  Lovelace](drayer:${url64(k)})`);
  assert.deepEqual(mentionedKeys(`hi ${mentionMarkdown('Ada', k)} and again drayer:${url64(k)}`), [k]);
  assert.equal(mentionKey(`drayer:${url64(k)}`), k);
  assert.equal(mentionKey(`drayer:${k}`), k, 'standard base64 with padding');
  assert.equal(mentionKey('drayer:abc'), null);
  const bad = [
    `drayer:${url64(k)}#r=${url64(key(9))}`, // a private stream's read link shares access, it mentions nobody
    `drayer:${url64(k).slice(0, 42)}B`, // stray bits in the last character: no 32-byte key ends so
    `drayer:${url64(k)}x`, // 44 characters
    `drayer:${url64(k).slice(1)}`, // 42
    'drayer:' + '\u0000'.repeat(43),
  ];
  for (const b of bad) assert.deepEqual(mentionedKeys(`see ${b} there`), [], b);
  const flood = Array.from({ length: 200 }, (_, i) => `drayer:${url64(key(i))}`).join(' ');
  assert.equal(mentionedKeys(flood).length, MAX_MENTIONS);
  const far = `${'x'.repeat(70 * 1024)} drayer:${url64(k)}`;
  assert.deepEqual(mentionedKeys(far), [], 'only the first 64 KiB is searched');
});

test('a re-share is a post older readers read as {title, body}: its body the comment', () => {
  const d = tmpDir();
  const lib = Library.open(d);
  const a = Stream.create(path.join(d, 'a.stream'), { name: 'A' });
  const pk = Buffer.from(a.publicKey).toString('base64');
  lib.addStream({ publicKey: pk, file: 'a.stream', owned: false, name: 'A' });
  const shared = addPost(a, { title: 'Original', body: 'text' });
  const val = encodeLinkedPost({ title: '', body: 'Worth reading' }, { reshare: { stream: pk, post: shared.key } });
  assert.deepEqual(decodePost(val), { title: '', body: 'Worth reading' });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(val)), { title: '', body: 'Worth reading', reshare: { stream: pk, post: shared.key } });
  assert.deepEqual(decodeLinks(val).reshare, { stream: pk, post: shared.key });
  const r = a.put(POST_TYPE, 'rs', val);
  const m = a.put(POST_TYPE, 'm', encodeLinkedPost({ title: '', body: `hello ${mentionMarkdown('K', key(3))}` }, {}));
  lib.indexStream(a);
  const { links, shared: held } = lib.talk.links([
    { streamKey: pk, id: r.id },
    { streamKey: pk, id: m.id },
  ]);
  assert.deepEqual(links.map((l) => [l.kind, l.to_pk]).sort(), [
    ['mention', key(3)],
    ['reshare', pk],
  ]);
  assert.equal(held.get(`${pk}\n${shared.key}`)?.row?.title, 'Original');
  // an edit without the link, and a delete, take them out
  a.put(POST_TYPE, 'm', encodeLinkedPost({ title: '', body: 'no mention now' }, {}));
  a.delete(POST_TYPE, 'rs');
  lib.indexStream(a);
  const after = lib.talk.links([{ streamKey: pk, id: a.get(POST_TYPE, 'm')!.id }]);
  assert.deepEqual(after.links, []);
  a.close();
  lib.close();
});

test('across three nodes: re-shares embed the post when held, mentions are listed, "Mentions & replies" lists others’ talk of yours', async () => {
  const [a, b, c] = await startNodes(3);
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    const sb = await b.call('createStream', { name: 'Bo' });
    const sc = await c.call('createStream', { name: 'Cy' });
    const p1 = await a.call('post', { publicKey: sa.publicKey, title: 'Engines', body: 'The analytical engine weaves algebra.' });
    await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    await a.call('follow', { key: sb.publicKey, url: urlOf(b) });
    await c.call('follow', { key: sb.publicKey, url: urlOf(b) }); // Cy follows Bo only
    // Ada writes about herself: none of that is news to her
    await a.call('post', { publicKey: sa.publicKey, title: '', body: `me: ${mentionMarkdown('Ada', sa.publicKey)}` });
    const mention = await b.call('post', { publicKey: sb.publicKey, title: '', body: `Read ${mentionMarkdown('Ada', sa.publicKey)} today` });
    const reply = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'Lovely.', replyTo: { streamKey: sa.publicKey, key: p1.key } });
    const reshare = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'Look at this', reshare: { streamKey: sa.publicKey, key: p1.key } });
    await assert.rejects(
      b.call('post', { publicKey: sb.publicKey, title: '', body: '', reshare: { streamKey: sa.publicKey, key: 'nope' } }),
      /not on this computer/,
    );
    // Bo's own card: the post re-shared, whole, as Bo holds it
    const mine = (await b.call('timeline', {})).find((t) => t.key === reshare.key)!;
    assert.equal(mine.reshare?.streamName, 'Ada');
    assert.equal(mine.reshare?.post?.title, 'Engines');
    assert.deepEqual((await b.call('timeline', {})).find((t) => t.key === mention.key)!.mentions, [sa.publicKey]);

    await a.call('syncNow', { publicKey: sb.publicKey });
    await c.call('syncNow', { publicKey: sb.publicKey });
    const notes = await a.call('talkNotes', {});
    assert.deepEqual(
      notes.map((x) => [x.why, x.key, x.streamName]),
      [
        ['reshare', reshare.key, 'Bo'],
        ['reply', reply.key, 'Bo'],
        ['mention', mention.key, 'Bo'],
      ],
    );
    assert.equal(notes[0]!.reshare?.post?.key, p1.key, 'the notes carry what the cards show');
    assert.equal(notes[1]!.replyTo?.key, p1.key);
    assert.deepEqual(
      (await a.call('talkNotes', { limit: 1, before: notes[0]!.ts })).map((x) => x.key),
      [reply.key],
      'paged by time',
    );
    assert.deepEqual(await b.call('talkNotes', {}), [], 'Bo was mentioned by nobody');
    // Cy does not hold Ada's stream: the re-share names it (by its key's words) and carries no post
    const seen = (await c.call('timeline', {})).find((t) => t.key === reshare.key)!;
    assert.deepEqual(seen.reshare, { streamKey: sa.publicKey, key: p1.key, streamName: keyName(parseKey(sa.publicKey)) });
    assert.equal(seen.body, 'Look at this');
    void sc;
    // deleting the mention reaches Ada's list
    await b.call('deletePost', { publicKey: sb.publicKey, key: mention.key });
    await a.call('syncNow', { publicKey: sb.publicKey });
    assert.deepEqual(
      (await a.call('talkNotes', {})).map((x) => x.why),
      ['reshare', 'reply'],
    );
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});
