// The sync modes (Settings.syncMode): paused pulls nothing (scheduler, announcements, syncNow)
// while the LAN server keeps serving; LAN only pulls from local addresses and skips the rest
// without contacting them; back to normal, pulls resume. Peers are real HTTP servers on
// 127.0.0.1, behind a proxy that counts the requests made to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DrayerNode } from '../app/node/node.js';
import { ApiError, type DrayerEvent, type Settings } from '../app/node/api.js';
import { isDrayerError } from '../app/core/errors.js';
import { isLanHost, isLanUrl } from '../app/net/lan.js';
import { parseKey } from '../app/core/keys.js';
import { tmpDir } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startNode(dir: string, autoSync = false): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: dir, host: '127.0.0.1', port: 0, discovery: false, autoSync });
}

/** A counting proxy in front of a node's LAN server. */
async function countingProxy(target: DrayerNode): Promise<{ url: string; port: number; count: () => number; reset: () => void; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    const p = http.request({ host: '127.0.0.1', port: target.lanAddress()!.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    p.on('error', () => res.destroy());
    req.pipe(p);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    count: () => n,
    reset: () => void (n = 0),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function isCode(code: string) {
  return (e: unknown) => (isDrayerError(e) || e instanceof ApiError) && (e as { code: string }).code === code;
}

/** What discovery does when a peer announces a newer record of a stream. */
function announce(n: DrayerNode, publicKey: string, address: string, port: number): void {
  (n as unknown as { pullOnAnnouncement(h: object): void }).pullOnAnnouncement({ publicKey: parseKey(publicKey), address, port, mod: Number.MAX_SAFE_INTEGER });
}

async function titles(n: DrayerNode, pk: string): Promise<string[]> {
  return (await n.call('listPosts', { publicKey: pk })).map((p) => p.title).sort();
}

test('LAN addresses: loopback, private, CGNAT, unique-local and link-local, *.local; nothing else', () => {
  for (const h of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.20',
    '100.64.0.1',
    '100.127.255.254',
    '169.254.3.4',
    '::1',
    '[::1]',
    'fd12:3456::1',
    'fc00::1',
    'fe80::1',
    'fe80::1%eth0',
    '[fe80::abcd]',
    '::ffff:192.168.0.5',
    'localhost',
    'box.local',
    'Box.LOCAL.',
  ]) {
    assert.equal(isLanHost(h), true, h);
  }
  for (const h of [
    '203.0.113.5',
    '8.8.8.8',
    '172.32.0.1',
    '172.15.0.1',
    '100.128.0.1',
    '192.169.0.1',
    '2001:db8::1',
    '::ffff:8.8.8.8',
    '::',
    '0.0.0.0',
    'example.com',
    'mybox',
    'local',
    '.local',
    'localhost.example.com',
    'evil.local.example.com',
    '',
  ]) {
    assert.equal(isLanHost(h), false, h);
  }
  assert.equal(isLanUrl('http://192.168.1.20:15723'), true);
  assert.equal(isLanUrl('http://[fe80::1]:80'), true);
  assert.equal(isLanUrl('https://mirror.example.org'), false);
  assert.equal(isLanUrl('not a url'), false);
});

test('paused: no pull on syncNow, the schedule or an announcement; others still pull from us; it persists; back to normal pulls resume', async () => {
  const a = await startNode(path.join(tmpDir(), 'a'));
  const proxy = await countingProxy(a);
  const bDir = path.join(tmpDir(), 'b');
  let b = await startNode(bDir);
  let c: DrayerNode | null = null;
  try {
    const s = await a.call('createStream', { name: 'Alice' });
    await a.call('post', { publicKey: s.publicKey, title: 'one', body: '1' });
    await b.call('follow', { key: s.publicKey, url: proxy.url });
    assert.ok(proxy.count() > 0, 'the follow pulled through the proxy');
    assert.deepEqual(await titles(b, s.publicKey), ['one']);
    assert.equal((await b.call('getSettings', undefined)).syncMode, 'normal');

    const events: DrayerEvent[] = [];
    b.subscribe((e) => events.push(e));
    const set = await b.call('setSettings', { syncMode: 'paused', syncIntervalS: 5 });
    assert.equal(set.syncMode, 'paused');
    const changed = events.filter((e) => e.event === 'settingsChanged');
    assert.equal(changed.length, 1);
    assert.equal((changed[0]!.data as Settings).syncMode, 'paused');
    await assert.rejects(b.call('setSettings', { syncMode: 'sometimes' as never }), isCode('INVALID_ARGUMENT'));

    // The setting persists: a restart with the scheduler on finds sync paused.
    await b.stop();
    b = await startNode(bDir, true);
    assert.equal((await b.call('getSettings', undefined)).syncMode, 'paused');
    proxy.reset();
    await a.call('post', { publicKey: s.publicKey, title: 'two', body: '2' });
    await sleep(2500); // the scheduler's first round is 1 s after the start
    await assert.rejects(
      b.call('syncNow', { publicKey: s.publicKey }),
      (e: unknown) => isCode('SYNC_PAUSED')(e) && /paused/i.test((e as Error).message) && /Settings/.test((e as Error).message),
    );
    await assert.rejects(b.call('syncNow', {}), isCode('SYNC_PAUSED'));
    const env = await b.callEnvelope('syncNow', {});
    assert.equal(env.ok, false);
    if (!env.ok) assert.equal(env.error.code, 'SYNC_PAUSED');
    // an announcement from the peer would start a pull; paused, it does not
    announce(b, s.publicKey, '127.0.0.1', proxy.port);
    await sleep(300);
    assert.equal(proxy.count(), 0, 'no request reached the peer while paused');
    assert.deepEqual(await titles(b, s.publicKey), ['one']);
    // following needs a pull: refused, nothing made
    const other = await a.call('createStream', { name: 'Other' });
    await assert.rejects(b.call('follow', { key: other.publicKey, url: proxy.url }), isCode('SYNC_PAUSED'));
    assert.equal((await b.call('listStreams', undefined)).length, 1);
    assert.equal(proxy.count(), 0);

    // B's LAN server keeps serving: a third node pulls the stream from B while B is paused.
    c = await startNode(path.join(tmpDir(), 'c'));
    await c.call('follow', { key: s.publicKey, url: `http://127.0.0.1:${b.lanAddress()!.port}` });
    assert.deepEqual(await titles(c, s.publicKey), ['one']);

    // Back to normal: the scheduler (every 5 s) pulls again by itself.
    await b.call('setSettings', { syncMode: 'normal' });
    for (let i = 0; i < 100 && (await titles(b, s.publicKey)).length < 2; i++) await sleep(100);
    assert.deepEqual(await titles(b, s.publicKey), ['one', 'two']);
    assert.ok(proxy.count() > 0);
    // and syncNow works again
    await a.call('post', { publicKey: s.publicKey, title: 'three', body: '3' });
    const reports = await b.call('syncNow', { publicKey: s.publicKey });
    assert.ok(
      reports.some((r) => r.peer === proxy.url && !r.error && r.stored > 0),
      JSON.stringify(reports),
    );
  } finally {
    await Promise.all([a.stop(), b.stop(), c?.stop()]);
    await proxy.close();
  }
});

test('LAN only: a source on 127.0.0.1 is pulled; public sources and primary servers are skipped, never contacted, and said so in the report', async () => {
  const a = await startNode(path.join(tmpDir(), 'a'));
  const proxy = await countingProxy(a);
  const b = await startNode(path.join(tmpDir(), 'b'));
  try {
    const s = await a.call('createStream', { name: 'Alice' });
    await a.call('post', { publicKey: s.publicKey, title: 'one', body: '1' });
    await b.call('follow', { key: s.publicKey, url: proxy.url });
    assert.equal((await b.call('setSettings', { syncMode: 'lan' })).syncMode, 'lan');

    // The author names a public primary server; the follower is given a public source too (TEST-NET addresses).
    await a.call('setPrimaryServers', { publicKey: s.publicKey, servers: [{ type: 'http', url: 'http://203.0.113.6:1' }] });
    await a.call('post', { publicKey: s.publicKey, title: 'two', body: '2' });
    await b.call('setStreamSettings', { publicKey: s.publicKey, sources: [proxy.url, 'http://203.0.113.5:1'] });
    proxy.reset();
    let reports = await b.call('syncNow', { publicKey: s.publicKey });
    const local = reports.find((r) => r.peer === proxy.url)!;
    assert.ok(local && !local.error && !local.skipped && local.stored > 0, JSON.stringify(reports));
    assert.ok(proxy.count() > 0);
    assert.deepEqual(await titles(b, s.publicKey), ['one', 'two']);
    const pub = reports.find((r) => r.peer === 'http://203.0.113.5:1')!;
    assert.ok(pub, JSON.stringify(reports));
    assert.equal(pub.error, undefined, 'not tried, so no error');
    assert.match(pub.skipped ?? '', /LAN only.*203\.0\.113\.5.*not on the local network/);
    assert.equal(pub.records + pub.bytes, 0);

    // the primary server arrived with the pull: the next round skips it as well
    reports = await b.call('syncNow', { publicKey: s.publicKey });
    assert.ok(reports.find((r) => r.peer === 'http://203.0.113.6:1')?.skipped, JSON.stringify(reports));
    assert.deepEqual(
      reports.filter((r) => !r.skipped).map((r) => r.peer),
      [proxy.url],
    );
    // a skipped source is not a failed one: the stream page's last sync is the LAN pull
    const d = await b.call('streamDetails', { publicKey: s.publicKey });
    assert.equal(d.lastSync?.peer, proxy.url);
    assert.equal(d.lastSync?.error, undefined);

    // an announcement from a public address starts nothing; from the LAN it pulls
    await a.call('post', { publicKey: s.publicKey, title: 'three', body: '3' });
    proxy.reset();
    announce(b, s.publicKey, '203.0.113.7', 1);
    await sleep(300);
    assert.deepEqual(await titles(b, s.publicKey), ['one', 'two']);
    announce(b, s.publicKey, '127.0.0.1', proxy.port);
    for (let i = 0; i < 50 && (await titles(b, s.publicKey)).length < 3; i++) await sleep(100);
    assert.deepEqual(await titles(b, s.publicKey), ['one', 'three', 'two']);

    // following from a public address is refused while LAN only, nothing made
    const other = await a.call('createStream', { name: 'Other' });
    await assert.rejects(b.call('follow', { key: other.publicKey, url: 'http://203.0.113.5:1' }), isCode('LAN_ONLY'));
    assert.equal((await b.call('listStreams', undefined)).length, 1);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await proxy.close();
  }
});
