// Several devices through running nodes (DESIGN §9), each node serving HTTP on 127.0.0.1: B joins
// A's stream as a device, A adds B by B's pairing code, B posts into its own chain, and A and a
// follower C show B's post in their timelines; after A removes B, B's later post is refused by both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { keyWords, parseKey } from '../app/core/keys.js';
import { DrayerNode } from '../app/node/node.js';
import { pairingCode, parsePairing } from '../app/node/devices.js';
import { tmpDir } from './helpers.js';

const start = (dataDir: string) => DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
const urlOf = async (x: DrayerNode) => {
  const lan = (await x.call('status', undefined)).lan!;
  return `http://${lan.host}:${lan.port}`;
};
const titles = async (x: DrayerNode) => (await x.call('timeline', {})).map((p) => p.title);
const code = (e: unknown) => (e as { code?: string }).code;

test('a device joins, is added by its pairing code, posts; the owner and a follower see it; once removed, its later posts are refused', async () => {
  const root = tmpDir('drayer-devices-node-');
  const a = await start(path.join(root, 'a'));
  const b = await start(path.join(root, 'b'));
  const c = await start(path.join(root, 'c'));
  try {
    const pk = (await a.call('createStream', { name: 'Ana' })).publicKey;
    await a.call('post', { publicKey: pk, title: 'from the desktop', body: 'one' });
    const [aUrl, bUrl] = [await urlOf(a), await urlOf(b)];

    // B: an empty copy with a key of its own, fetched from A; it cannot post before A adds it.
    const joined = await b.call('joinAsDevice', { key: pk, url: aUrl, name: 'laptop' });
    assert.equal(joined.stream.publicKey, pk);
    assert.equal(joined.stream.device, 'waiting');
    assert.equal(joined.stream.owned, false);
    assert.equal(joined.words.join(' '), keyWords(parseKey(joined.key)));
    assert.deepEqual(parsePairing(joined.code).urls, [bUrl], 'the code says where the device is');
    assert.deepEqual(await titles(b), ['from the desktop'], 'the device fetched the stream as it joined');
    await assert.rejects(b.call('post', { publicKey: pk, title: 'too early', body: 'x' }), (e) => code(e) === 'NOT_WRITABLE' && /not listed/.test(String(e)));
    const waiting = await b.call('listDevices', { publicKey: pk });
    assert.equal(waiting.mine?.state, 'waiting');
    await assert.rejects(b.call('joinAsDevice', { key: pk }), (e) => code(e) === 'EXISTS' && /unfollow it here first/.test(String(e)));

    // Hostile or wrong codes: clear errors, nothing listed.
    const other = (await c.call('createStream', { name: 'Other' })).publicKey;
    for (const [bad, why] of [
      ['drayer-device:', /no device key/],
      ['drayer-device:%%%?stream=x', /no device key|broken/],
      [`drayer-device:${'A'.repeat(43)}?stream=${Buffer.from(parseKey(other)).toString('base64url')}`, /another stream/],
      ['drayer-device:' + 'x'.repeat(4000), /no device key/],
      ['hello there', /not a device's pairing code/],
      [pk, /stream's own key/],
    ] as const) {
      await assert.rejects(a.call('addDevice', { publicKey: pk, device: bad }), (e) => code(e) === 'INVALID_ARGUMENT' && why.test(String(e)), bad.slice(0, 40));
    }
    assert.deepEqual((await a.call('listDevices', { publicKey: pk })).devices, []);
    // a code's addresses are bounded and must be http URLs
    const many = pairingCode(parseKey(joined.key), parseKey(pk), []) + '&at=ftp://x&at=1.2.3.4:5' + '&at=5.6.7.8:9'.repeat(10);
    assert.deepEqual(parsePairing(many).urls, ['http://1.2.3.4:5', 'http://5.6.7.8:9']);
    await assert.rejects(b.call('addDevice', { publicKey: pk, device: joined.code }), (e) => code(e) === 'NOT_WRITABLE');

    // A adds B by its code: listed with its name, and B's address becomes a source of the stream.
    const added = await a.call('addDevice', { publicKey: pk, device: joined.code, name: 'laptop' });
    assert.deepEqual(
      added.devices.map((d) => [d.key, d.name, d.removed]),
      [[joined.key, 'laptop', undefined]],
    );
    assert.ok((await a.call('streamDetails', { publicKey: pk })).sources.includes(bUrl));

    // B learns it is added by syncing, then posts into its own chain.
    await b.call('syncNow', { publicKey: pk });
    assert.equal((await b.call('listDevices', { publicKey: pk })).mine?.state, 'listed');
    assert.equal((await b.call('listStreams', undefined)).find((s) => s.publicKey === pk)?.device, 'listed');
    await b.call('post', { publicKey: pk, title: 'from the laptop', body: 'two' });
    assert.deepEqual(await titles(b), ['from the laptop', 'from the desktop']);

    // The owner's node pulls its device's chain; a follower of A gets both through A.
    await a.call('syncNow', { publicKey: pk });
    assert.deepEqual(await titles(a), ['from the laptop', 'from the desktop']);
    await c.call('follow', { key: pk, url: aUrl });
    assert.deepEqual(
      (await titles(c)).filter((t) => t !== ''),
      ['from the laptop', 'from the desktop'],
    );
    assert.equal((await c.call('listDevices', { publicKey: pk })).devices.length, 1);
    assert.deepEqual((await a.call('verifyStream', { publicKey: pk })).problems, []);

    // A removes B. B has not heard yet and posts again: A and C refuse it, even fetched from B itself.
    const removed = await a.call('removeDevice', { publicKey: pk, device: joined.key });
    assert.ok(removed.devices[0]!.removed! > 0);
    assert.ok(!(await a.call('streamDetails', { publicKey: pk })).sources.includes(bUrl), "the removed device's address is no source any more");
    await b.call('post', { publicKey: pk, title: 'after removal', body: 'three' });
    await a.call('syncNow', { publicKey: pk }).catch(() => []);
    await c.call('setStreamSettings', { publicKey: pk, sources: [aUrl, bUrl] });
    await c.call('syncNow', { publicKey: pk });
    for (const x of [a, c])
      assert.deepEqual(
        (await titles(x)).filter((t) => t !== ''),
        ['from the laptop', 'from the desktop'],
      );
    assert.ok((await c.call('listDevices', { publicKey: pk })).devices[0]!.removed);
    // B hears of its removal and says so when asked to post
    await b.call('syncNow', { publicKey: pk });
    assert.equal((await b.call('listDevices', { publicKey: pk })).mine?.state, 'removed');
    await assert.rejects(b.call('post', { publicKey: pk, title: 'again', body: 'x' }), (e) => code(e) === 'NOT_WRITABLE' && /removed/.test(String(e)));
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});
