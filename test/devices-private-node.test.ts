// A device of a private stream (DESIGN §8, §9), through running nodes on 127.0.0.1: B joins A's
// private stream by its read link, so it reads it and its posts are sealed; A and a reader C read
// B's post, a blind mirror D carries it without learning it, and a device without the read key is
// told why it cannot post and how to fix it (the read link given afterwards).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { tmpDir } from './helpers.js';

const start = (dataDir: string) => DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
const urlOf = async (x: DrayerNode) => {
  const lan = (await x.call('status', undefined)).lan!;
  return `http://${lan.host}:${lan.port}`;
};
const titles = async (x: DrayerNode) => (await x.call('timeline', {})).map((p) => p.title).filter((t) => t !== '');
const code = (e: unknown) => (e as { code?: string }).code;
/** Every file of a node's data directory whose bytes hold `text` (as UTF-8, UTF-16, base64 or hex). */
const holding = (dir: string, text: string): string[] => {
  const needles = [
    Buffer.from(text),
    Buffer.from(text, 'utf16le'),
    Buffer.from(Buffer.from(text).toString('base64').slice(0, 16)),
    Buffer.from(Buffer.from(text).toString('hex')),
  ];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => path.join(f.parentPath, f.name))
    .filter((f) => {
      const b = fs.readFileSync(f);
      return needles.some((n) => b.includes(n));
    });
};

test('a device of a private stream reads it and posts sealed; owner and reader read its post, a blind mirror does not', async () => {
  const root = tmpDir('drayer-devices-private-');
  const dirs = { a: path.join(root, 'a'), b: path.join(root, 'b'), c: path.join(root, 'c'), d: path.join(root, 'd'), e: path.join(root, 'e') };
  const [a, b, c, d, e] = await Promise.all(Object.values(dirs).map(start));
  try {
    const pk = (await a.call('createStream', { name: 'Family', private: true })).publicKey;
    await a.call('post', { publicKey: pk, title: 'desk note', body: 'from the desktop' });
    const link = (await a.call('streamDetails', { publicKey: pk })).readLink!;
    assert.match(link, /#r=/);
    const aUrl = await urlOf(a);

    // B joins by the read link: it reads the stream at once, and waits to be added.
    const joined = await b.call('joinAsDevice', { key: link, url: aUrl, name: 'laptop' });
    assert.equal(joined.stream.publicKey, pk);
    assert.equal(joined.stream.device, 'waiting');
    assert.deepEqual(await titles(b), ['desk note']);
    await a.call('addDevice', { publicKey: pk, device: joined.code });
    await b.call('syncNow', { publicKey: pk });
    const secret = 'laptop secret Zanzibar 7731';
    await b.call('post', { publicKey: pk, title: secret, body: 'sealed by the device' });
    assert.deepEqual(await titles(b), [secret, 'desk note']);

    // A pulls its device's chain; C (a reader) and D (a blind mirror) follow A.
    await a.call('syncNow', { publicKey: pk });
    assert.deepEqual(await titles(a), [secret, 'desk note']);
    await c.call('follow', { key: link, url: aUrl });
    assert.deepEqual(await titles(c), [secret, 'desk note']);
    const post = (await c.call('listPosts', { publicKey: pk })).find((p) => p.title === secret)!;
    assert.equal(post.body, 'sealed by the device');
    await d.call('follow', { key: pk, url: aUrl });
    assert.deepEqual(await titles(d), [], 'a blind mirror shows no post');
    assert.equal(
      (await d.call('streamDetails', { publicKey: pk })).lastSeq,
      (await a.call('streamDetails', { publicKey: pk })).lastSeq,
      'it carries every record',
    );
    assert.deepEqual(holding(dirs.d, 'Zanzibar'), [], "the device's post is nowhere in the blind mirror's files");
    assert.ok(holding(dirs.c, 'Zanzibar').length > 0, 'the search itself finds the text where it is (the reader indexes it)');
    assert.deepEqual(
      holding(dirs.a, 'Zanzibar').filter((f) => f.endsWith('.stream')),
      [],
      'the stream file itself holds it sealed only',
    );
    assert.deepEqual((await d.call('verifyStream', { publicKey: pk })).problems, []);

    // A read link that is cut or for another key: a clear error, and E holds no copy after it.
    const wrong = link.replace(/#r=.*/, '#r=' + Buffer.alloc(32, 7).toString('base64url'));
    for (const bad of [link.slice(0, -5), wrong, link + 'x'.repeat(3000)])
      await assert.rejects(e.call('joinAsDevice', { key: bad, url: aUrl }), (err) => /read key|read link|link/i.test(String(err)), bad.slice(-12));
    await assert.rejects(e.call('joinAsDevice', { key: wrong, url: aUrl }), /does not open this stream.*Nothing was followed/);
    assert.deepEqual(await e.call('listStreams', undefined), []);
    assert.deepEqual(
      fs.readdirSync(dirs.e).filter((f) => f.includes('.stream')),
      [],
      'a join undone leaves neither a copy nor a device key behind',
    );

    // E joins by the key alone: it is added, but without the read key it is told it cannot post, and what to do.
    const blind = await e.call('joinAsDevice', { key: pk, url: aUrl });
    await a.call('addDevice', { publicKey: pk, device: blind.code });
    await e.call('syncNow', { publicKey: pk });
    await assert.rejects(
      e.call('post', { publicKey: pk, title: 'blind post', body: 'x' }),
      (err) => code(err) === 'NOT_WRITABLE' && /read key/.test(String(err)) && /read link/.test(String(err)),
    );
    // given the read link afterwards, it reads and posts
    await e.call('follow', { key: link });
    assert.deepEqual(await titles(e), [secret, 'desk note']);
    await e.call('post', { publicKey: pk, title: 'tablet note', body: 'later' });
    await a.call('syncNow', { publicKey: pk });
    assert.deepEqual(await titles(a), ['tablet note', secret, 'desk note']);
  } finally {
    await Promise.all([a, b, c, d, e].map((x) => x.stop()));
  }
});
