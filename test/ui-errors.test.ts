// Errors speak to a person (issue 13, item 8): every error the Follow dialog, Nearby's Follow and
// a stream page's sync can show, produced by a real node (real keys, real HTTP on 127.0.0.1,
// real refusals), then put into words by the renderer's stores/errors.ts: one short sentence,
// the one thing to do, the field it is about, and the node's own words kept for "Details".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DrayerNode } from '../app/node/node.js';
import { fingerprint, parseKey } from '../app/core/keys.js';
import { tmpDir } from './helpers.js';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

async function startNode(name: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: path.join(tmpDir(), name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}
const lanUrl = (n: DrayerNode) => `http://127.0.0.1:${n.lanAddress()!.port}`;

/** A tiny HTTP server answering every request with `status`, `body` and `headers`. */
async function answering(status: number, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer((_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

test('the Follow dialog and Nearby: every follow error in one plain sentence with the one thing to do, the detail kept', async () => {
  const { explainFollowError } = await load('stores/errors.ts');
  const a = await startNode('a');
  const b = await startNode('b');
  const other = await startNode('other');
  try {
    const s = await a.call('createStream', { name: 'Ada' });
    const mine = await b.call('createStream', { name: 'Bo' });
    const explain = async (arg: Record<string, unknown>) => {
      const env = await b.callEnvelope('follow', arg);
      assert.equal(env.ok, false, `refused: ${JSON.stringify(arg)}`);
      const { code, message } = (env as { error: { code: string; message: string } }).error;
      const x = explainFollowError(code, message);
      // never the CLI's grammar in the sentence; always the node's words behind Details
      assert.doesNotMatch(`${x.text} ${x.advice}`, /base64|decodes to|bytes|HTTP \d|ECONN|msgpack/, `${x.text} ${x.advice}`);
      assert.ok(x.text.length < 90 && x.advice.length < 120, `short: ${x.text} / ${x.advice}`);
      assert.equal(x.detail, message.replace(/https?:\/\/([^/\s]+)\/[^\s]*?(?=:\s|\s|$|\))/g, '$1').trim());
      return { ...x, code, message };
    };

    // the key
    let x = await explain({ key: 'x9$#@!not-a-key' });
    assert.match(x.message, /base64|not a stream key/, 'the node words it for the CLI');
    assert.deepEqual([x.text, x.advice, x.field], ['That is not a stream key.', 'Copy the key again, whole: it is under Share on the other computer.', 'key']);
    x = await explain({ key: 'AAAA' });
    assert.match(x.message, /decodes to 3 bytes/);
    assert.equal(x.text, 'That is not a stream key.');
    x = await explain({ key: s.publicKey.slice(0, -2) });
    assert.equal(x.field, 'key');
    x = await explain({ key: fingerprint(parseKey(s.publicKey)) });
    assert.deepEqual([x.text, x.field], ['Those are the fingerprint words, not the key.', 'key']);
    x = await explain({
      key: Array(32)
        .fill('aardvark')
        .join(' ')
        .replace(/aardvark$/, 'aardvarx'),
    });
    assert.deepEqual([x.text, x.advice], ['One of the words is not in the word list.', 'Check the spelling of each word.']);
    x = await explain({ key: '   ' });
    assert.equal(x.text, 'There is no key yet.');
    x = await explain({ key: 'http://127.0.0.1:1/' });
    assert.deepEqual([x.text, x.field], ['That web address does not point to a stream.', 'key']);
    x = await explain({ key: 'http://[::1' });
    assert.equal(x.code, 'INVALID_ARGUMENT', "a malformed link is the key's fault, not an internal error");
    assert.equal(x.field, 'key');

    // the address: never "Copy the key again"
    for (const url of ['not an address', 'ftp://127.0.0.1/']) {
      x = await explain({ key: s.publicKey, url });
      assert.deepEqual([x.text, x.field], ['That address is not one Drayer can use.', 'address'], url);
      assert.doesNotMatch(x.advice, /key/);
    }
    x = await explain({ key: s.publicKey, latest: 5 });
    assert.deepEqual([x.text, x.field], ['To keep only the latest posts, Drayer needs an address.', 'address']);
    x = await explain({ key: s.publicKey, url: 'http://127.0.0.1:9', latest: 5 });
    assert.deepEqual([x.text, x.retry], ['Could not reach the computer at 127.0.0.1:9.', true]);
    x = await explain({ key: s.publicKey, url: lanUrl(other), latest: 5 });
    assert.equal(x.text, 'The computer at 127.0.0.1:' + other.lanAddress()!.port + ' does not have this stream.');

    // the node's state
    x = await explain({ key: mine.publicKey });
    assert.deepEqual([x.text, x.exists], ['You have this stream already.', true]);
    await b.call('setSettings', { syncMode: 'lan' });
    x = await explain({ key: s.publicKey, url: 'http://203.0.113.7:15723' });
    assert.deepEqual([x.code, x.field], ['LAN_ONLY', 'address']);
    assert.match(x.text, /outside this network/);
    await b.call('setSettings', { syncMode: 'paused' });
    x = await explain({ key: s.publicKey, url: lanUrl(a) });
    assert.deepEqual(
      [x.code, x.text, x.advice],
      ['SYNC_PAUSED', 'Sync is paused, so nothing can be fetched now.', 'Turn sync back on in Settings, then follow again.'],
    );
    await b.call('setSettings', { syncMode: 'normal' });
    x = { ...explainFollowError('INTERNAL', 'follow failed unexpectedly: boom'), code: '', message: '' };
    assert.equal(x.text, 'Something went wrong while following.');
    assert.equal(x.detail, 'follow failed unexpectedly: boom');
  } finally {
    await Promise.all([a.stop(), b.stop(), other.stop()]);
  }
});

test("a stream page's sync: every failure of a first sync in plain words (unreachable, not shared, failing, hostile, busy)", async () => {
  const { explainSyncError } = await load('stores/errors.ts');
  const a = await startNode('a');
  const b = await startNode('b');
  const other = await startNode('other');
  const failing = await answering(500, 'database is locked', { 'drayer-sync': 'changes', 'content-type': 'text/plain' });
  const garbage = await answering(200, Buffer.from([0xc1, 0xc1, 0xc1]), { 'drayer-sync': 'changes', 'content-type': 'application/msgpack' });
  const busy = await answering(429, 'slow down', { 'retry-after': '60' });
  try {
    const s = await a.call('createStream', { name: 'Ada' });
    // Each follow is taken (the stream is held), and its first sync fails: the error it keeps.
    const failure = async (url: string) => {
      const env = await b.callEnvelope('follow', { key: s.publicKey, url });
      assert.equal(env.ok, true);
      const d = await b.call('streamDetails', { publicKey: s.publicKey });
      await b.call('unfollow', { publicKey: s.publicKey, deleteData: true });
      assert.ok(d.lastSync?.error, `a failure from ${url}`);
      const x = explainSyncError(d.lastSync!.error!);
      assert.doesNotMatch(`${x.text} ${x.advice}`, /HTTP \d|ECONN|msgpack|changes\?/, `${x.text} ${x.advice}`);
      assert.ok(x.detail.includes(url.replace('http://', '')), 'Details keep the words and the address');
      return x;
    };
    let x = await failure('http://127.0.0.1:9');
    assert.deepEqual(
      [x.text, x.advice, x.retry],
      ['Could not reach the computer at 127.0.0.1:9.', 'Check that it is on, awake and on this network with Drayer open, then try again.', true],
    );
    x = await failure(lanUrl(other));
    assert.equal(x.text, `The computer at ${lanUrl(other).slice(7)} does not have this stream.`);
    x = await failure(failing.url);
    assert.equal(x.text, `The computer at ${failing.url.slice(7)} had a problem answering.`);
    assert.match(x.detail, /database is locked/);
    x = await failure(garbage.url);
    assert.equal(x.text, `The computer at ${garbage.url.slice(7)} sent data Drayer cannot use, so the sync stopped.`);
    x = await failure(busy.url);
    assert.equal(x.text, `The computer at ${busy.url.slice(7)} is busy right now.`);

    // words the node uses that a test on this machine cannot provoke quickly
    assert.equal(
      explainSyncError('http://10.0.0.2:80/x/changes?since=0 did not answer within 30 s.').text,
      'The computer at 10.0.0.2:80 did not answer in time.',
    );
    assert.equal(
      explainSyncError('Cannot reach http://nas.local:80/x/changes?since=0 (ENOTFOUND): check the address and that the peer is running.').text,
      'No computer answers to the name nas.local:80.',
    );
    assert.equal(
      explainSyncError('Sync with http://10.0.0.2:80 took too long and was stopped; it resumes from here next time.').text,
      'This sync took too long and was paused.',
    );
    assert.equal(
      explainSyncError('http://10.0.0.2:80/x/chunk/ab broke off its answer after 1000 bytes; try again later.').text,
      'The connection to 10.0.0.2:80 broke off.',
    );
    assert.match(
      explainSyncError('Sync is LAN only, and http://203.0.113.7:80 is not on the local network, so it was not contacted. Switch…').text,
      /not on this network/,
    );
    assert.equal(
      explainSyncError('Sync is paused, so nothing was synced. Turn sync back on (Settings → Sync), then try again.').text,
      'Sync is paused, so nothing was fetched.',
    );
    assert.equal(explainSyncError('something new').text, 'The sync did not work.');
  } finally {
    await Promise.all([a.stop(), b.stop(), other.stop(), failing.close(), garbage.close(), busy.close()]);
  }
});
