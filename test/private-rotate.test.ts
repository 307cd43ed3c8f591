// Rotating a private stream's read key (DESIGN §8): every live record sealed again and signed
// anew; a mirror that syncs afterwards holds only the new ciphertext (records and big files'
// chunks); a reader with the old key reads nothing new or edited; the new read link reads all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseReadLink, ReadKey, SEALED_TYPE } from '../app/core/private.js';
import type { DrayerNode } from '../app/node/node.js';
import { sealedChunkLists } from '../app/store/files.js';
import { Stream } from '../app/store/store.js';
import { drayerFails as fails, drayerOk as ok, tmpDir } from './helpers.js';
import { servingNode } from './private-harness.js';

/** Rows of a stream file as comparable text, the sealed values, and the chunk hashes it holds. */
function held(file: string): { rows: string[]; sealed: { key: string; val: Uint8Array }[]; chunks: Set<string>; listed: Set<string> } {
  const s = Stream.open(file, { readonly: true });
  try {
    const recs = [...s.iterate()];
    return {
      rows: recs.map((r) => `${r.id} ${r.mod} ${r.prev} ${r.prevch} ${r.type} ${r.key} ${Buffer.from(r.hash).toString('hex')}`),
      sealed: recs.filter((r) => r.type === SEALED_TYPE && r.val).map((r) => ({ key: r.key, val: r.val! })),
      chunks: new Set((s.db.prepare('SELECT hash FROM chunks').pluck().all() as Buffer[]).map((h) => h.toString('hex'))),
      listed: new Set(sealedChunkLists(s).flatMap((h) => h.chunks!.map((c) => Buffer.from(c).toString('hex')))),
    };
  } finally {
    s.close();
  }
}

/** How many of the sealed values open with `rk`. */
function opening(rk: ReadKey, sealed: { key: string; val: Uint8Array }[]): number {
  let n = 0;
  for (const r of sealed) {
    try {
      rk.open(r.val, r.key);
      n++;
    } catch {
      // does not open with this key
    }
  }
  return n;
}

test('drayer rotate: a mirror synced afterwards holds only the new ciphertext; the old read key reads nothing new or edited', async () => {
  const dir = tmpDir('drayer-private-rotate-');
  const dataA = path.join(dir, 'a');
  const dataB = path.join(dir, 'b');
  fs.mkdirSync(dataA);
  fs.mkdirSync(dataB);
  const file = path.join(dataA, 'secret.stream');
  const [pk, oldLink] = (await ok(['create', file, '--private', '--name', 'Before rotation'], dir)).out.trim().split('\n') as [string, string];
  const p1 = (await ok(['post', file, '--title', 'first post', '--body', 'one'], dir)).out.trim();
  await ok(['post', file, '--title', 'second post', '--body', 'two'], dir);
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const big = Buffer.alloc(2.5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) >>> 8;
  fs.writeFileSync(path.join(src, 'big.bin'), big);
  fs.writeFileSync(path.join(src, 'note.txt'), 'a small private file');
  await ok(['add', file, path.join(src, 'big.bin'), path.join(src, 'note.txt')], dir);
  const oldKey = await ReadKey.from(parseReadLink(oldLink).readKey!);

  const a = await servingNode(dataA, pk);
  try {
    const blind = path.join(dataB, 'blind.stream');
    await ok(['clone', a.url, pk, blind], dir);
    const oldReader = path.join(dir, 'old-reader.stream');
    await ok(['clone', a.url, oldLink, oldReader], dir);
    const before = held(blind);
    assert.equal(opening(oldKey, before.sealed), before.sealed.length, 'before: every sealed record opens with the old key');

    // without --yes (and no terminal to ask at) it says what rotating means and changes nothing
    const no = await fails(
      ['rotate', file],
      dir,
      /Rotating the read key seals every record .* reads nothing new or edited .*\n.*Nothing was changed\. To rotate, run "drayer rotate .* --yes"/,
    );
    assert.equal(no.out, '');
    assert.equal((await ok(['link', file], dir)).out.trim(), oldLink);

    const oldKeyFile = fs.readFileSync(`${file}.readkey`);
    const rotated = await ok(['rotate', file, '--yes'], dir);
    assert.match(rotated.err, /Rotating the read key seals every record/);
    assert.match(rotated.err, /Rotated: \d+ records sealed again \(1 big files among them\)/);
    const newLink = rotated.out.trim();
    assert.notEqual(newLink, oldLink);
    assert.equal(parseReadLink(newLink).publicKey.join(), parseReadLink(oldLink).publicKey.join());
    assert.equal((await ok(['link', file], dir)).out.trim(), newLink, 'the new read key is kept beside the stream');
    assert.ok(!fs.existsSync(`${file}.readkey.new`));
    const newKey = await ReadKey.from(parseReadLink(newLink).readKey!);
    // a rotation stopped between its transaction and putting its key in place: the next open puts the new key in place
    fs.renameSync(`${file}.readkey`, `${file}.readkey.new`);
    fs.writeFileSync(`${file}.readkey`, oldKeyFile, { mode: 0o600 });
    assert.equal((await ok(['link', file], dir)).out.trim(), newLink, 'the key the marker names is taken');
    assert.ok(!fs.existsSync(`${file}.readkey.new`));

    // the writer reads all of it, as before
    const titles = async (f: string) =>
      (JSON.parse((await ok(['ls', f, '--type', 'post', '--json'], dir)).out) as { title: string }[]).map((x) => x.title).sort();
    assert.deepEqual(await titles(file), ['first post', 'second post']);
    assert.ok((await ok(['cat', file, 'big.bin'], dir)).stdout.equals(big));
    assert.equal((await ok(['cat', file, 'note.txt'], dir)).out, 'a small private file');
    assert.match((await ok(['info', file], dir)).out, /Name: +Before rotation/);

    // something new and something edited after the rotation
    await ok(['put', file, 'post', p1, '--value', JSON.stringify({ title: 'edited after rotation', body: 'new words' })], dir);
    await ok(['post', file, '--title', 'posted after rotation', '--body', 'three'], dir);

    // a mirror that syncs now holds only the new ciphertext: every record opens with the new key, none with the old; old chunks gone
    await ok(['sync', blind, a.url], dir);
    const writer = held(file);
    const after = held(blind);
    assert.deepEqual(after.rows, writer.rows, 'the blind mirror converged with the writer');
    assert.ok(after.sealed.length >= 5);
    assert.equal(opening(newKey, after.sealed), after.sealed.length, 'every sealed record opens with the new key');
    assert.equal(opening(oldKey, after.sealed), 0, 'none opens with the old key');
    assert.deepEqual([...after.chunks].sort(), [...after.listed].sort(), 'the mirror holds exactly the chunks the new big file names');
    for (const c of before.chunks) assert.ok(!after.chunks.has(c), 'no old sealed chunk is left');
    assert.equal(after.chunks.size, 3);

    // the old reader syncs: its old key opens nothing it now holds, and reading says the key changed
    await ok(['sync', oldReader, a.url], dir);
    const stale = held(oldReader);
    assert.deepEqual(stale.rows, writer.rows);
    assert.equal(opening(oldKey, stale.sealed), 0, 'the old key opens nothing new or edited (nor anything left)');
    await fails(['ls', oldReader], dir, /that read key is not this stream's .* a key the owner has since changed/);
    await fails(['cat', oldReader, 'big.bin'], dir, /that read key is not this stream's/);

    // the new read link reads everything, the edit and the new post too
    const newReader = path.join(dir, 'new-reader.stream');
    await ok(['clone', a.url, newLink, newReader], dir);
    assert.deepEqual(await titles(newReader), ['edited after rotation', 'posted after rotation', 'second post']);
    assert.ok((await ok(['cat', newReader, 'big.bin', '--range', '1048570-1048600'], dir)).stdout.equals(big.subarray(1048570, 1048601)));
    assert.match((await ok(['verify', newReader], dir)).out, /intact/);
  } finally {
    await a.node.stop();
  }
  // a public stream has nothing to rotate
  const pub = path.join(dir, 'public.stream');
  await ok(['create', pub], dir);
  await fails(['rotate', pub, '--yes'], dir, /is a public stream: it has no read key to rotate/);
});

test('the API rotates a private stream of the node: the new read link in its details, its posts still read, a follower with the old link reads nothing new', async () => {
  const root = tmpDir('drayer-private-rotate-api-');
  const a = (await servingNode(path.join(root, 'a'))).node;
  const b = (await servingNode(path.join(root, 'b'))).node;
  try {
    const pk = (await a.call('createStream', { name: 'Rotating circle', private: true })).publicKey;
    const p1 = await a.call('post', { publicKey: pk, title: 'kept title', body: 'kept body' });
    const oldLink = (await a.call('streamDetails', { publicKey: pk })).readLink!;
    const url = `http://127.0.0.1:${a.lanAddress()!.port}`;
    await b.call('follow', { key: oldLink, url });
    const titles = async (n: DrayerNode) =>
      (await n.call('timeline', {}))
        .filter((t) => t.streamKey === pk)
        .map((t) => t.title)
        .sort();
    assert.deepEqual(await titles(b), ['kept title']);

    const r = await a.call('rotateReadKey', { publicKey: pk });
    assert.notEqual(r.readLink, oldLink);
    assert.equal((await a.call('streamDetails', { publicKey: pk })).readLink, r.readLink);
    assert.deepEqual(await titles(a), ['kept title'], "the writer's timeline reads the re-sealed post");
    await a.call('editPost', { publicKey: pk, key: p1.key, title: 'edited after rotation', body: 'x' });
    await a.call('post', { publicKey: pk, title: 'new after rotation', body: 'y' });
    assert.deepEqual(await titles(a), ['edited after rotation', 'new after rotation']);

    await b.call('syncNow', { publicKey: pk });
    const seen = await titles(b);
    assert.ok(!seen.includes('edited after rotation') && !seen.includes('new after rotation'), `the old link's follower reads nothing new: ${seen}`);
    await assert.rejects(a.call('rotateReadKey', { publicKey: (await a.call('createStream', { name: 'plain' })).publicKey }), /no read key here to rotate/);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
