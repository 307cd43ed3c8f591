// A node killed in the middle of rotating a private stream's read key (DESIGN §8), as a real child
// process (`drayer serve`, SIGKILL): killed after the rotation committed but before its new key was
// put in place, the node started again finishes it (every record opens with the new key only); killed
// before it committed, nothing changed (the old key opens every record, the chunks the rotation had
// sealed are collected) and the next rotation works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseReadLink, ReadKey } from '../app/core/private.js';
import { DrayerNode } from '../app/node/node.js';
import { chunkCount } from '../app/store/files.js';
import { addPost } from '../app/store/posts.js';
import { addPrivatePaths } from '../app/store/private-files.js';
import { createPrivateStream, openView, readKeyPathFor } from '../app/store/private-view.js';
import { Stream } from '../app/store/store.js';
import { tmpDir } from './helpers.js';
import { openedBy } from './private-harness.js';
import { startUiNode } from './ui-harness.js';

/** Loaded into the child before Drayer: it kills itself at one step of the rotation (its key file's link or rename). */
const PRELOAD = `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const at = process.env.DRAYER_TEST_KILL_AT;
const pending = (p) => String(p).endsWith('.readkey.new');
if (at === 'link') {
  const link = fs.linkSync;
  fs.linkSync = (a, b) => { link(a, b); if (pending(b)) process.kill(process.pid, 'SIGKILL'); };
}
if (at === 'rename') {
  const rename = fs.renameSync;
  fs.renameSync = (a, b) => { if (pending(a)) process.kill(process.pid, 'SIGKILL'); return rename(a, b); };
}
syncBuiltinESMExports();
`;

const BIG = 2 * 1024 * 1024 + 999;

async function privateStreamIn(dataDir: string): Promise<{ file: string; pk: string; oldKey: ReadKey }> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'circle.stream');
  const { stream, readKey } = await createPrivateStream(file, { name: 'Inner circle' });
  const v = await openView(stream);
  for (let i = 0; i < 30; i++) addPost(v, { title: `post ${i}`, body: `body ${i}` });
  const src = path.join(dataDir, '..', 'big.bin');
  fs.writeFileSync(src, Buffer.alloc(BIG, 5));
  await addPrivatePaths(v, [src]);
  const pk = Buffer.from(stream.publicKey).toString('base64url');
  stream.close();
  return { file, pk, oldKey: readKey };
}

async function killedRotating(root: string, at: 'link' | 'rename', dataDir: string): Promise<void> {
  const preload = path.join(root, 'kill-preload.mjs');
  fs.writeFileSync(preload, PRELOAD);
  const child = await startUiNode('rotating', { dataDir, execArgv: ['--import', preload], env: { DRAYER_TEST_KILL_AT: at } });
  const streams = await child.call('listStreams', undefined);
  assert.equal(streams.length, 1);
  await assert.rejects(child.call('rotateReadKey', { publicKey: streams[0]!.publicKey }), 'the node dies before it answers');
  await child.stop();
}

async function startNode(dataDir: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

test('a node killed after its rotation committed finishes it on start: every record opens with the new key only', async () => {
  const root = tmpDir('drayer-rotate-crash-');
  const dataDir = path.join(root, 'data');
  const { file, pk, oldKey } = await privateStreamIn(dataDir);
  await killedRotating(root, 'rename', dataDir);
  assert.ok(fs.existsSync(`${readKeyPathFor(file)}.new`), 'killed with the new key still pending');

  const n = await startNode(dataDir);
  let newKey: ReadKey;
  try {
    const d = await n.call('streamDetails', { publicKey: pk });
    assert.equal(d.private, 'reader', 'read after the restart, not taken for a blind copy');
    newKey = await ReadKey.from(parseReadLink(d.readLink!).readKey!);
    assert.notDeepEqual(newKey.bytes, oldKey.bytes, 'the rotated key is in place');
    assert.equal((await n.call('listPosts', { publicKey: pk, limit: 100 })).length, 30);
    assert.equal((await n.call('readFile', { publicKey: pk, path: 'big.bin', offset: BIG - 10 })).data, Buffer.alloc(10, 5).toString('base64'));
  } finally {
    await n.stop();
  }
  assert.ok(!fs.existsSync(`${readKeyPathFor(file)}.new`));
  const withNew = openedBy(file, newKey);
  assert.equal(withNew.opens, withNew.sealed, 'the new key opens every record');
  assert.equal(openedBy(file, oldKey).opens, 0, 'the old key opens none');
});

test('a node killed before its rotation committed changed nothing: the old key reads everything, the sealed chunks are collected, and it rotates again', async () => {
  const root = tmpDir('drayer-rotate-crash-');
  const dataDir = path.join(root, 'data');
  const { file, pk, oldKey } = await privateStreamIn(dataDir);
  const chunksBefore = (() => {
    const s = Stream.open(file);
    try {
      return chunkCount(s);
    } finally {
      s.close();
    }
  })();
  await killedRotating(root, 'link', dataDir);

  const n = await startNode(dataDir);
  try {
    const d = await n.call('streamDetails', { publicKey: pk });
    assert.deepEqual(parseReadLink(d.readLink!).readKey, oldKey.bytes, 'the old key is still the key');
    assert.equal((await n.call('listPosts', { publicKey: pk, limit: 100 })).length, 30);
    // and the next rotation goes through
    const r = await n.call('rotateReadKey', { publicKey: pk });
    assert.equal(r.records >= 31, true);
    const newKey = await ReadKey.from(parseReadLink(r.readLink).readKey!);
    await n.stop();
    const withNew = openedBy(file, newKey);
    assert.equal(withNew.opens, withNew.sealed);
    assert.equal(openedBy(file, oldKey).opens, 0);
  } finally {
    await n.stop();
  }
  const s = Stream.open(file);
  try {
    assert.equal(chunkCount(s), chunksBefore, 'no chunk of the killed rotation is left');
  } finally {
    s.close();
  }
});
