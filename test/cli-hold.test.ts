// Issue 21: `drayer hold KEY` keeps and shares a copy of someone's stream without following it,
// `drayer unhold KEY` removes it; on a data folder directly, or through its running node's web UI
// (the node changes at once). Real nodes over HTTP on 127.0.0.1 and the built `drayer` command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { WebUi } from '../app/node/webui.js';
import { drayerFails, drayerOk, tmpDir } from './helpers.js';

const urlOf = (n: DrayerNode) => `http://127.0.0.1:${n.lanAddress()!.port}`;
const start = (dataDir: string) => DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });

test('drayer hold keeps a copy out of Home, drayer unhold removes it; a followed stream is refused', async () => {
  const a = await start(path.join(tmpDir(), 'a'));
  const dir = path.join(tmpDir(), 'b');
  try {
    const sa = await a.call('createStream', { name: 'Ada' });
    await a.call('post', { publicKey: sa.publicKey, title: 'One', body: 'first' });
    const held = await drayerOk(['hold', sa.publicKey, '--url', urlOf(a), '--data', dir], tmpDir());
    assert.match(held.out, /Keeping a copy of Ada \(\d+ records\), not followed/);
    let b = await start(dir);
    try {
      assert.equal((await b.call('listStreams', undefined)).find((s) => s.publicKey === sa.publicKey)?.hold, true);
      assert.equal((await b.call('timeline', {})).length, 0, 'nothing of it in Home');
    } finally {
      await b.stop();
    }
    await drayerFails(['hold', sa.publicKey, '--data', dir], tmpDir(), /already hold/);
    await drayerOk(['unhold', sa.publicKey, '--data', dir], tmpDir());
    b = await start(dir);
    try {
      assert.equal((await b.call('listStreams', undefined)).length, 0);
      // followed (not only held): unhold says what to do instead
      await b.call('follow', { key: sa.publicKey, url: urlOf(a) });
    } finally {
      await b.stop();
    }
    await drayerFails(['unhold', sa.publicKey, '--data', dir], tmpDir(), /followed, not only held/);
    await drayerFails(['unhold', 'not-a-key', '--data', dir], tmpDir(), /not a stream key/);
  } finally {
    await a.stop();
  }
});

test('with a node running for the folder (web UI), drayer hold goes through it and the node holds the stream at once', async () => {
  const a = await start(path.join(tmpDir(), 'a'));
  const dir = path.join(tmpDir(), 'b');
  const b = await start(dir);
  const ui = new WebUi(b, { stateFile: path.join(dir, 'webui.json') });
  try {
    await ui.listen();
    const sa = await a.call('createStream', { name: 'Ada' });
    await drayerOk(['hold', sa.publicKey, '--url', urlOf(a), '--data', dir], tmpDir());
    assert.equal((await b.call('listStreams', undefined)).find((s) => s.publicKey === sa.publicKey)?.hold, true);
    await drayerOk(['unhold', sa.publicKey, '--data', dir], tmpDir());
    assert.equal((await b.call('listStreams', undefined)).length, 0);
  } finally {
    await ui.close();
    await Promise.all([a.stop(), b.stop()]);
  }
});
