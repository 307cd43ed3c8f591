// A metadata-only copy of a private stream whose read key is here (DESIGN §2, §8), through running
// nodes on 127.0.0.1: which records are posts only their sealed values say, so the copy fetches the
// newest ones' values as a page is read, and its posts reach the timeline, the stream's page and
// search in plaintext. A metadata-only blind mirror shows none, and a source gone costs no hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrayerNode } from '../app/node/node.js';
import * as path from 'node:path';
import { tmpDir } from './helpers.js';

const start = (dataDir: string) => DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });

test("a metadata-only copy of a private stream read here shows its posts on the timeline, the stream's page and search", async () => {
  const root = tmpDir('drayer-private-metaonly-');
  const [a, c, d] = await Promise.all(['a', 'c', 'd'].map((x) => start(path.join(root, x))));
  let aUp = true;
  try {
    const pk = (await a.call('createStream', { name: 'Notes', private: true })).publicKey;
    for (const i of [1, 2, 3]) await a.call('post', { publicKey: pk, title: `sealed note ${i}`, body: `quokka body ${i}` });
    await a.call('putFile', { publicKey: pk, path: 'big.bin', data: Buffer.alloc(300_000, 9).toString('base64') });
    const link = (await a.call('streamDetails', { publicKey: pk })).readLink!;
    const lan = (await a.call('status', undefined)).lan!;
    const aUrl = `http://${lan.host}:${lan.port}`;

    await c.call('follow', { key: link, url: aUrl, metaOnly: true });
    const details = await c.call('streamDetails', { publicKey: pk });
    assert.equal(details.partial.metaOnly, true);
    const tl = await c.call('timeline', {});
    assert.deepEqual(
      tl.map((t) => [t.title, t.body]),
      [
        ['sealed note 3', 'quokka body 3'],
        ['sealed note 2', 'quokka body 2'],
        ['sealed note 1', 'quokka body 1'],
      ],
    );
    assert.deepEqual(
      (await c.call('listPosts', { publicKey: pk })).map((p) => p.title),
      ['sealed note 3', 'sealed note 2', 'sealed note 1'],
    );
    assert.deepEqual((await c.call('search', { query: 'quokka' })).map((t) => t.title).sort(), ['sealed note 1', 'sealed note 2', 'sealed note 3']);
    // a paged timeline: the second page is filled too
    const first = await c.call('timeline', { limit: 2 });
    const last = first[first.length - 1]!;
    assert.deepEqual(
      (await c.call('timeline', { limit: 2, before: { ts: last.ts, streamKey: last.streamKey, id: last.id } })).map((t) => t.title),
      ['sealed note 1'],
    );

    // A metadata-only blind mirror shows nothing and fetches nothing it could not read.
    await d.call('follow', { key: pk, url: aUrl, metaOnly: true });
    assert.deepEqual(await d.call('timeline', {}), []);

    // A new post while the source is gone: the timeline answers at once with what is held, and shows it once the source is back.
    await a.call('post', { publicKey: pk, title: 'sealed note 4', body: 'later' });
    await c.call('syncNow', { publicKey: pk });
    await a.stop();
    aUp = false;
    const t0 = Date.now();
    const held = await c.call('timeline', {});
    assert.deepEqual(
      held.map((t) => t.title),
      ['sealed note 3', 'sealed note 2', 'sealed note 1'],
    );
    assert.ok(Date.now() - t0 < 15_000, `the timeline answered in ${Date.now() - t0} ms with its source gone`);
  } finally {
    await Promise.all([...(aUp ? [a] : []), c, d].map((x) => x.stop()));
  }
});
