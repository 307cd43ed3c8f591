// Rotating the read key of a private stream that has a device (DESIGN §8, §9), through running nodes
// on 127.0.0.1: owner A rotates; device B takes the new key from drayer/readkeys at its next sync and
// seals its own records again; reader C with the new link reads both chains; O, holding the old link,
// reads nothing new or edited; blind mirror D holds no record the old key opens. And B killed in the
// middle of its re-seal (a real `drayer serve`, SIGKILL) finishes it at its next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KEYBOX_KEY, keyBoxes, openKeyBox } from '../app/core/keybox.js';
import { generateKeyPair } from '../app/core/crypto.js';
import { parseReadLink, ReadKey } from '../app/core/private.js';
import { DrayerNode } from '../app/node/node.js';
import { oldKeysPathFor } from '../app/store/device-rekey.js';
import { readKeyPathFor } from '../app/store/private-view.js';
import { tmpDir } from './helpers.js';
import { openedBy } from './private-harness.js';
import { Stream } from '../app/store/store.js';
import { startUiNode } from './ui-harness.js';

const start = (dataDir: string) => DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
type Caller = Pick<DrayerNode, 'call'>;
const urlOf = async (x: Caller) => {
  const lan = (await x.call('status', undefined)).lan!;
  return `http://${lan.host}:${lan.port}`;
};
const titles = async (x: Caller) => (await x.call('timeline', {})).map((p) => p.title).filter((t) => t !== '');
const keyOf = async (link: string) => ReadKey.from(parseReadLink(link).readKey!);

const fileOf = async (x: Caller, dataDir: string, pk: string) => path.resolve(dataDir, (await x.call('streamDetails', { publicKey: pk })).file);

/** A's private stream with device B listed and a post from each; B's key. */
async function pairedPrivate(a: Caller, b: Caller, bName = 'laptop'): Promise<{ pk: string; link: string; device: Uint8Array }> {
  const pk = (await a.call('createStream', { name: 'Circle', private: true })).publicKey;
  await a.call('post', { publicKey: pk, title: 'a one', body: 'from the desktop' });
  const link = (await a.call('streamDetails', { publicKey: pk })).readLink!;
  const joined = await b.call('joinAsDevice', { key: link, url: await urlOf(a), name: bName });
  await a.call('addDevice', { publicKey: pk, device: joined.code });
  await b.call('syncNow', { publicKey: pk });
  await b.call('post', { publicKey: pk, title: 'b one', body: 'from the laptop' });
  await a.call('syncNow', { publicKey: pk });
  assert.deepEqual((await titles(a)).sort(), ['a one', 'b one']);
  return { pk, link, device: parseReadLink(joined.key).publicKey };
}

test('drayer/readkeys: only the device a box is sealed to opens it; hostile values open nothing', () => {
  const [d1, d2, other] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  const rk = new Uint8Array(32).fill(9);
  const v = keyBoxes(rk, [d1.publicKey, d2.publicKey]);
  assert.deepEqual(openKeyBox(v, d1), rk);
  assert.deepEqual(openKeyBox(v, d2), rk);
  assert.equal(openKeyBox(v, other), null);
  assert.ok(!Buffer.from(v).includes(Buffer.from(rk)), 'the key is not in clear');
  assert.ok(!Buffer.from(v).includes(Buffer.from(d1.publicKey)), 'no box names its device');
  assert.equal(KEYBOX_KEY, 'readkeys');
  for (const bad of [
    new Uint8Array(0),
    new Uint8Array(70_000),
    Buffer.from('c0', 'hex'),
    Buffer.from('dc ffff'.replace(' ', ''), 'hex'),
    v.subarray(0, v.length - 3),
  ])
    assert.equal(openKeyBox(bad, d1), null);
});

test('a rotation reaches the device: B re-seals its own chain at its next sync; C reads both chains, O nothing new, D holds no old ciphertext', async () => {
  const root = tmpDir('drayer-devices-rotate-');
  const dirs = { a: path.join(root, 'a'), b: path.join(root, 'b'), c: path.join(root, 'c'), o: path.join(root, 'o'), d: path.join(root, 'd') };
  const [a, b, c, o, d] = await Promise.all(Object.values(dirs).map(start));
  try {
    const { pk, link, device } = await pairedPrivate(a, b);
    const aUrl = await urlOf(a);
    await o.call('follow', { key: link, url: aUrl });
    assert.deepEqual((await titles(o)).sort(), ['a one', 'b one'], 'O reads with the old link before the rotation');
    const oldKey = await keyOf(link);
    // a device added and removed before the rotation: it gets no new key
    const gone = generateKeyPair();
    await a.call('addDevice', { publicKey: pk, device: Buffer.from(gone.publicKey).toString('base64'), name: 'old phone' });
    await a.call('removeDevice', { publicKey: pk, device: Buffer.from(gone.publicKey).toString('base64') });

    const r = await a.call('rotateReadKey', { publicKey: pk });
    const boxes = (() => {
      const s = Stream.open(
        path.resolve(
          dirs.a,
          fs.readdirSync(dirs.a).find((f) => f.endsWith('.stream'))!,
        ),
      );
      try {
        return s.get('drayer', KEYBOX_KEY)!.val!;
      } finally {
        s.close();
      }
    })();
    assert.equal(openKeyBox(boxes, gone), null, 'the removed device gets no new key');
    assert.match(r.devices ?? '', /each device re-seals its own posts the next time it syncs/);
    const newKey = await keyOf(r.readLink);
    await a.call('post', { publicKey: pk, title: 'a two new', body: 'after the rotation' });
    const a1 = (await a.call('listPosts', { publicKey: pk })).find((p) => p.title === 'a one')!;
    await a.call('editPost', { publicKey: pk, key: a1.key, title: 'a one edited', body: 'edited after' });

    // B takes the key at its next sync and re-seals its chain; then writes and edits under the new key
    const t0 = Date.now();
    await b.call('syncNow', { publicKey: pk });
    const took = Date.now() - t0;
    const bFile = await fileOf(b, dirs.b, pk);
    assert.deepEqual(parseReadLink((await b.call('streamDetails', { publicKey: pk })).readLink!).readKey, newKey.bytes, 'B holds the new key');
    assert.ok(!fs.existsSync(oldKeysPathFor(bFile)), 'no old key is kept once re-sealed');
    assert.deepEqual((await titles(b)).sort(), ['a one edited', 'a two new', 'b one']);
    const b1 = (await b.call('listPosts', { publicKey: pk })).find((p) => p.title === 'b one')!;
    await b.call('editPost', { publicKey: pk, key: b1.key, title: 'b one edited', body: 'edited on the laptop' });
    await b.call('post', { publicKey: pk, title: 'b two new', body: 'laptop after the rotation' });

    await a.call('syncNow', { publicKey: pk });
    const all = ['a one edited', 'a two new', 'b one edited', 'b two new'];
    assert.deepEqual((await titles(a)).sort(), all, 'A reads both chains');
    await c.call('follow', { key: r.readLink, url: aUrl });
    assert.deepEqual((await titles(c)).sort(), all, 'C, with the new link, reads both chains');
    await d.call('follow', { key: pk, url: aUrl });
    assert.deepEqual(await titles(d), []);
    assert.deepEqual((await d.call('verifyStream', { publicKey: pk })).problems, []);
    await o.call('syncNow', { publicKey: pk });
    const oSees = await titles(o);
    for (const t of all) assert.ok(!oSees.includes(t), `O, with the old link, does not read "${t}"`);

    const dFile = await fileOf(d, dirs.d, pk);
    const oFile = await fileOf(o, dirs.o, pk);
    await d.stop();
    await o.stop();
    const dOld = openedBy(dFile, oldKey);
    assert.equal(dOld.opens, 0, "no record of D's file opens with the old key");
    const dNew = openedBy(dFile, newKey);
    assert.ok(dNew.sealed >= 5 && dNew.opens === dNew.sealed, `every sealed record of D opens with the new key (${dNew.opens}/${dNew.sealed})`);
    assert.ok(openedBy(dFile, newKey, device).opens >= 2, "B's chain is among them");
    assert.equal(openedBy(oFile, oldKey).opens, 0, "O's copy holds nothing its old key opens");
    console.log(`B took the key and re-sealed within its sync in ${took} ms; D holds ${dNew.sealed} sealed records, 0 under the old key`);
  } finally {
    await Promise.all([a, b, c, o, d].map((x) => x.stop()));
  }
});

/** Loaded into B's process: it kills itself right after its new read key replaced the old one, before the re-seal. */
const PRELOAD = `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const rename = fs.renameSync;
fs.renameSync = (a, b) => { rename(a, b); if (String(b).endsWith('.readkey')) process.kill(process.pid, 'SIGKILL'); };
syncBuiltinESMExports();
`;

test('a device killed in the middle of its re-seal finishes it at its next start', async () => {
  const root = tmpDir('drayer-devices-rotate-crash-');
  const aDir = path.join(root, 'a');
  const bDir = path.join(root, 'b');
  fs.mkdirSync(bDir, { recursive: true });
  const preload = path.join(root, 'kill-preload.mjs');
  fs.writeFileSync(preload, PRELOAD);
  const a = await start(aDir);
  let b: DrayerNode | null = null;
  try {
    const child = await startUiNode('device', { dataDir: bDir, execArgv: ['--import', preload] });
    let pk: string, link: string, device: Uint8Array, bFile: string;
    try {
      ({ pk, link, device } = await pairedPrivate(a, child));
      for (let i = 0; i < 20; i++) await child.call('post', { publicKey: pk, title: `b post ${i}`, body: 'x'.repeat(i * 50) });
      await a.call('syncNow', { publicKey: pk });
      bFile = await fileOf(child, bDir, pk);
      await a.call('rotateReadKey', { publicKey: pk });
      await assert.rejects(child.call('syncNow', { publicKey: pk }), 'B dies taking the key');
    } finally {
      await child.stop();
    }
    const oldKey = await keyOf(link);
    const newKey = await keyOf((await a.call('streamDetails', { publicKey: pk })).readLink!);
    assert.ok(fs.existsSync(oldKeysPathFor(bFile)), 'killed with its old key kept aside');
    assert.deepEqual(fs.readFileSync(readKeyPathFor(bFile), 'utf8').trim(), Buffer.from(newKey.bytes).toString('base64'), 'the new key was in place');
    const before = openedBy(bFile, oldKey, device);
    assert.ok(before.sealed >= 21 && before.opens === before.sealed, "B's records are still the old key's");

    b = await start(bDir);
    const deadline = Date.now() + 30_000;
    while (fs.existsSync(oldKeysPathFor(bFile)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!fs.existsSync(oldKeysPathFor(bFile)), 'finished at start');
    assert.equal((await titles(b)).filter((t) => t.startsWith('b post')).length, 20, 'B reads its posts with the new key');
    await b.stop();
    b = null;
    const after = openedBy(bFile, newKey, device);
    assert.equal(after.opens, after.sealed, 'every record of B opens with the new key');
    assert.equal(openedBy(bFile, oldKey, device).opens, 0, 'none with the old key');
  } finally {
    await b?.stop();
    await a.stop();
  }
});
