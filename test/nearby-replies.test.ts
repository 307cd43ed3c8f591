// Issue 21: replies from streams seen nearby but not held. A node's LAN server answers the signed
// replies to a post in the public streams it shares (never a private stream's); an asker keeps
// only records that verify and answer that post, whatever a hostile server sends. Real nodes over
// HTTP on 127.0.0.1; the node asking its Nearby is in nearby-replies-netns.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../app/core/crypto.js';
import { formatKey } from '../app/core/keys.js';
import { encodeWire, toWire } from '../app/core/record.js';
import { askReplies, MAX_NEARBY_REPLIES, verifiedReplies } from '../app/net/replies-wire.js';
import { decodeWire } from '../app/core/record.js';
import { startNodes, urlOf } from './nodes.js';
import { replyValue, signedPost, startHostile } from './nearby-replies-hostile.js';

test("a node's LAN server answers the signed replies to a post in the public streams it shares, never a private stream's", async () => {
  const [a, b] = await startNodes(2);
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    const root = await a.call('post', { publicKey: sa.publicKey, title: 'Picnic', body: 'Saturday?' });
    await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    const sb = await b.call('createStream', { name: 'Bo' });
    const pb = await b.call('createStream', { name: 'Bo (private)', private: true });
    const r1 = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'Yes!', replyTo: { streamKey: sa.publicKey, key: root.key } });
    const r2 = await b.call('post', { publicKey: sb.publicKey, title: '', body: 'and cake', replyTo: { streamKey: sb.publicKey, key: r1.key } });
    await b.call('post', { publicKey: pb.publicKey, title: '', body: 'secret yes', replyTo: { streamKey: sa.publicKey, key: root.key } });
    await b.call('post', { publicKey: sb.publicKey, title: 'Other', body: 'not a reply' });

    const to = { stream: sa.publicKey, post: root.key };
    const res = await fetch(`${urlOf(b)}/replies?stream=${encodeURIComponent(sa.publicKey)}&post=${encodeURIComponent(root.key)}`);
    assert.equal(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const raw = decodeWire(bytes) as unknown[];
    assert.equal(raw.length, 2, 'the two replies in Bo; the private reply is not there');
    assert.ok(!Buffer.from(bytes).includes(Buffer.from('secret yes')));
    const found = verifiedReplies(bytes, to);
    assert.deepEqual(
      found.map((f) => [f.publicKey, f.record.key]).sort(),
      [
        [sb.publicKey, r1.key],
        [sb.publicKey, r2.key],
      ].sort(),
    );
    // asked by the reply in the middle: its answer
    const mid = verifiedReplies(
      new Uint8Array(await (await fetch(`${urlOf(b)}/replies?stream=${encodeURIComponent(sb.publicKey)}&post=${encodeURIComponent(r1.key)}`)).arrayBuffer()),
      { stream: sb.publicKey, post: r1.key },
    );
    assert.deepEqual(
      mid.map((f) => f.record.key),
      [r2.key],
    );
    // a node that does not serve the followed stream still answers from those it serves
    for (const q of [
      '',
      '?stream=nope&post=x',
      `?stream=${encodeURIComponent(sa.publicKey)}`,
      `?stream=${encodeURIComponent(sa.publicKey)}&post=${'x'.repeat(5000)}`,
    ]) {
      const bad = await fetch(`${urlOf(b)}/replies${q}`);
      assert.ok(bad.status === 400 || bad.status === 414, `${q}: ${bad.status}`);
    }
    await b.call('setStreamSettings', { publicKey: sb.publicKey, serve: false });
    assert.deepEqual(
      verifiedReplies(
        new Uint8Array(
          await (await fetch(`${urlOf(b)}/replies?stream=${encodeURIComponent(sa.publicKey)}&post=${encodeURIComponent(root.key)}`)).arrayBuffer(),
        ),
        to,
      ),
      [],
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('hostile answers to /replies (garbage, forged, other threads, tampered, 10,000 records, endless, silent) give nothing, within the time bound', async () => {
  const to = { stream: formatKey(generateKeyPair().publicKey), post: 'root' };
  const servers = await startHostile(to);
  try {
    for (const s of servers) {
      const t0 = Date.now();
      const got = await askReplies({ address: '127.0.0.1', port: s.port }, to, 1500);
      const ms = Date.now() - t0;
      assert.deepEqual(got, [], `${s.name} polluted the thread`);
      assert.ok(ms <= 2500, `${s.name} took ${ms} ms`);
      assert.equal(s.asked(), 1, s.name);
    }
    // nothing listening
    assert.deepEqual(await askReplies({ address: '127.0.0.1', port: 1 }, to, 1500), []);
    // a cloud metadata address is never asked
    assert.deepEqual(await askReplies({ address: '169.254.169.254', port: 80 }, to, 1500), []);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('an answer with more records than the bound keeps at most 64, each checked; good records beside bad ones are kept', () => {
  const kp = generateKeyPair();
  const liar = generateKeyPair();
  const to = { stream: formatKey(generateKeyPair().publicKey), post: 'root' };
  const good = Array.from({ length: 200 }, (_, i) => [kp.publicKey, toWire(signedPost(kp, i + 1, replyValue(to, `r${i}`)))]);
  const kept = verifiedReplies(encodeWire(good), to);
  assert.equal(kept.length, MAX_NEARBY_REPLIES);
  const mixed = encodeWire([
    [kp.publicKey, toWire(signedPost(liar, 1, replyValue(to, 'forged')))],
    good[0],
    [kp.publicKey, toWire(signedPost(kp, 9, { title: 'plain', body: 'no reply' }))],
  ]);
  assert.deepEqual(
    verifiedReplies(mixed, to).map((f) => f.record.key),
    ['k1'],
  );
});
