// A private stream held by a node (DESIGN §8), through the DrayerApi in-process: its key backup is
// 64 words (the read key follows the secret key), a restore from them on another node brings the
// read key back beside the copy, and nothing the node is asked to write lands in it as plaintext.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseBackup } from '../app/core/keybackup.js';
import { formatKey } from '../app/core/keys.js';
import { parseReadLink, ReadKey, readLink } from '../app/core/private.js';
import { DrayerNode } from '../app/node/node.js';
import { addPost, editPost, listPosts } from '../app/store/posts.js';
import { createPrivateStream, openView, readKeyPathFor } from '../app/store/private-view.js';
import { Stream } from '../app/store/store.js';
import { SEALED_HEADER, useKeyCipher, type KeyCipher } from '../app/store/keystore.js';
import { readerOf } from '../app/node/private-streams.js';
import { runDrayer, tmpDir } from './helpers.js';

async function startNode(dataDir: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

test('a private stream never takes a record in clear from a writer that forgot to seal it', async () => {
  const dir = tmpDir('drayer-private-writer-');
  const { stream: s, readKey } = await createPrivateStream(path.join(dir, 'p.stream'), { name: 'Hidden' });
  try {
    for (const [type, key] of [
      ['post', 'x'],
      ['file', 'a.txt'],
      ['drayer', 'info'],
    ] as const) {
      assert.throws(
        () => s.put(type, key, new TextEncoder().encode('plain')),
        (e: Error & { code?: string }) => e.code === 'NOT_WRITABLE' && /is a private stream: .* was not; nothing was written/.test(e.message),
      );
      await assert.rejects(s.putDurable(type, key, new Uint8Array(1)), /is a private stream/);
    }
    // what carrying it needs stays in clear
    s.setPrimaryServers(['http://192.168.1.5:15723']);
    assert.equal(s.primaryServers()[0]!.url, 'http://192.168.1.5:15723');
    // through the view, the same writes are sealed
    const v = await openView(s);
    assert.deepEqual(v.readKey?.bytes, readKey.bytes);
    addPost(v, { title: 'sealed title', body: 'b' });
    assert.deepEqual(
      listPosts(v).map((p) => p.title),
      ['sealed title'],
    );
    assert.equal(s.list('post').length, 0, 'no post in clear');
    assert.throws(
      () => v.delete('drayer', 'info'),
      (e: Error & { code?: string }) => e.code === 'PROTECTED',
    );
    assert.throws(
      () => v.delete('drayer', 'private'),
      (e: Error & { code?: string }) => e.code === 'PROTECTED',
    );
    assert.equal(v.info().name, 'Hidden');
  } finally {
    s.close();
  }
});

test("a private stream's backup words carry its read key, and a restore from them on another node reads it", async () => {
  const root = tmpDir('drayer-private-node-');
  const dataA = path.join(root, 'a');
  fs.mkdirSync(dataA);
  const { stream, readKey } = await createPrivateStream(path.join(dataA, 'mine.stream'), { name: 'Private diary', about: 'only me' });
  const pk = formatKey(stream.publicKey);
  addPost(await openView(stream), { title: 'Dear diary', body: 'a secret' });
  stream.close();
  const a = await startNode(dataA);
  const b = await startNode(path.join(root, 'b'));
  try {
    assert.ok((await a.call('listStreams', undefined)).some((x) => x.publicKey === pk));
    const backup = await a.call('keyBackup', { publicKey: pk });
    assert.equal(backup.words.length, 64);
    assert.equal(backup.name, 'Private diary');
    assert.deepEqual(parseBackup(backup.words.join(' ')).readKey, readKey.bytes);

    // the node seals what it is asked to post
    assert.equal((await a.call('post', { publicKey: pk, title: 'Written by the node', body: 'sealed too' })).title, 'Written by the node');

    const restored = await b.call('restoreStream', { words: backup.words.join(' '), url: `http://127.0.0.1:${a.lanAddress()!.port}` });
    assert.equal(restored.publicKey, pk);
    const file = path.join(b.dataDir, restored.file);
    assert.ok(fs.existsSync(readKeyPathFor(file)), 'the read key is beside the restored copy');
    assert.equal(fs.statSync(readKeyPathFor(file)).mode & 0o777, 0o600);
    await b.stop();
    const copy = Stream.open(file);
    try {
      const v = await openView(copy);
      assert.equal(v.access, 'reader');
      assert.ok(copy.writable);
      assert.deepEqual(
        listPosts(v)
          .map((p) => p.title)
          .sort(),
        ['Dear diary', 'Written by the node'],
      );
      assert.equal(v.info().name, 'Private diary');
    } finally {
      copy.close();
    }

    // the secret key's 32 words alone restore writing, not reading: no read key is made up
    const c = await startNode(path.join(root, 'c'));
    try {
      const r = await c.call('restoreStream', { words: backup.words.slice(0, 32).join(' '), url: `http://127.0.0.1:${a.lanAddress()!.port}` });
      assert.ok(!fs.existsSync(readKeyPathFor(path.join(c.dataDir, r.file))));
    } finally {
      await c.stop();
    }
  } finally {
    await a.stop();
    await b.stop().catch(() => undefined);
  }
});

test('a node follows a private stream by its read link: its timeline, search and stream page read it, and follow edits and deletes; by key alone it shows nothing', async () => {
  const root = tmpDir('drayer-private-follow-');
  const dataA = path.join(root, 'a');
  fs.mkdirSync(dataA);
  const file = path.join(dataA, 'mine.stream');
  const { stream, readKey } = await createPrivateStream(file, { name: 'Private diary' });
  const pk = formatKey(stream.publicKey);
  const v = await openView(stream);
  const first = addPost(v, { title: 'Dear diary', body: 'a quokka secret' });
  const second = addPost(v, { title: 'Second page', body: 'to be deleted' });
  stream.close();
  const link = readLink(parseReadLink(pk).publicKey, readKey.bytes);
  const a = await startNode(dataA);
  const b = await startNode(path.join(root, 'b'));
  const c = await startNode(path.join(root, 'c'));
  const url = `http://127.0.0.1:${a.lanAddress()!.port}`;
  try {
    // a wrong read key: said, and nothing is followed
    const other = await ReadKey.generate();
    const wrong = await b.callEnvelope('follow', { key: readLink(parseReadLink(pk).publicKey, other.bytes), url });
    assert.equal(wrong.ok, false);
    assert.match(
      (wrong as { ok: false; error: { message: string } }).error.message,
      /The read link does not open this stream: that read key is not this stream's.*Nothing was followed\./,
    );
    assert.ok(!(await b.call('listStreams', undefined)).some((x) => x.publicKey === pk));
    assert.deepEqual(
      fs.readdirSync(b.dataDir).filter((f) => f.includes('.stream')),
      [],
      'no copy and no read key left behind',
    );

    const followed = await b.call('follow', { key: link, url });
    assert.ok(fs.existsSync(readKeyPathFor(path.join(b.dataDir, followed.file))));
    assert.equal(followed.posts, 2);
    const titles = async (n: DrayerNode) => (await n.call('timeline', {})).filter((t) => t.streamKey === pk).map((t) => t.title);
    assert.deepEqual((await titles(b)).sort(), ['Dear diary', 'Second page']);
    assert.deepEqual(
      (await b.call('search', { query: 'quokka' })).map((t) => t.title),
      ['Dear diary'],
    );
    assert.equal((await b.call('getPost', { publicKey: pk, key: first.key }))?.body, 'a quokka secret');
    assert.deepEqual((await b.call('listPosts', { publicKey: pk })).map((p) => p.title).sort(), ['Dear diary', 'Second page']);

    // by its key alone: a blind mirror, nothing to show
    await c.call('follow', { key: pk, url });
    assert.deepEqual(await titles(c), []);
    assert.deepEqual(await c.call('listPosts', { publicKey: pk }), []);

    // the writer edits one post and deletes the other; the reader follows both
    const w = Stream.open(file);
    const wv = await openView(w);
    editPost(wv, first.key, { title: 'Dear diary, edited', body: 'still secret' });
    assert.ok(wv.delete('post', second.key));
    w.close();
    await b.call('syncNow', { publicKey: pk });
    assert.deepEqual(await titles(b), ['Dear diary, edited']);
    assert.equal(await b.call('getPost', { publicKey: pk, key: second.key }), null);

    // what the reader's node says of the stream to others holds no plaintext
    const listing = await (await fetch(`http://127.0.0.1:${b.lanAddress()!.port}/`)).text();
    assert.ok(listing.length > 0);
    assert.doesNotMatch(listing, /diary|quokka|secret/i);
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('the API makes a private stream: posts, edits, deletes and its name are sealed in its file, the timeline reads them, and its read link lets another node read it', async () => {
  const root = tmpDir('drayer-private-api-');
  const a = await startNode(path.join(root, 'a'));
  const b = await startNode(path.join(root, 'b'));
  try {
    const made = await a.call('createStream', { name: 'Zanzibar circle', about: 'marmalade club', private: true });
    const pk = made.publicKey;
    // the API answers this computer's own UI: it names the stream by its opened name; the library, and so
    // what the node lists and announces to others, keeps the key's words
    assert.equal(made.name, 'Zanzibar circle');
    const listing = await (await fetch(`http://127.0.0.1:${a.lanAddress()!.port}/`, { headers: { accept: 'application/json' } })).text();
    assert.ok(listing.includes(pk) && !listing.includes('Zanzibar'), `the node's list of streams holds the key and not the name: ${listing}`);
    const p1 = await a.call('post', { publicKey: pk, title: 'Ocelot meeting', body: 'pistachio agenda' });
    const p2 = await a.call('post', { publicKey: pk, title: 'Gone soon', body: 'x' });
    await a.call('editPost', { publicKey: pk, key: p1.key, title: 'Ocelot meeting moved', body: 'pistachio agenda, later' });
    assert.equal(await a.call('deletePost', { publicKey: pk, key: p2.key }), true);
    await a.call('setStreamInfo', { publicKey: pk, about: 'marmalade club, renamed' });
    const titles = async (n: DrayerNode) => (await n.call('timeline', {})).filter((t) => t.streamKey === pk).map((t) => t.title);
    assert.deepEqual(await titles(a), ['Ocelot meeting moved']);

    const d = await a.call('streamDetails', { publicKey: pk });
    assert.equal(d.private, 'reader');
    assert.ok(d.readLink?.startsWith(`${d.link}#r=`));
    const file = path.join(a.dataDir, d.file);
    const bytes = Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    for (const word of ['Zanzibar', 'marmalade', 'Ocelot', 'pistachio', 'Gone soon']) assert.ok(!bytes.includes(word), `${word} is not in the stream file`);

    const url = `http://127.0.0.1:${a.lanAddress()!.port}`;
    await b.call('follow', { key: d.readLink!, url });
    assert.deepEqual(await titles(b), ['Ocelot meeting moved']);
    assert.equal((await b.call('streamDetails', { publicKey: pk })).private, 'reader');
    // a file from the app is sealed (private-files-node.test.ts has the rest)
    await a.call('putFile', { publicKey: pk, path: 'a.txt', data: Buffer.from('hello').toString('base64') });
    assert.deepEqual(
      (await a.call('streamDetails', { publicKey: pk })).files.map((f) => f.path),
      ['a.txt'],
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("with the app's keychain the read key is sealed like the secret key; without it, the file says the app holds it", async () => {
  const key = randomBytes(32);
  const cipher: KeyCipher = {
    isEncryptionAvailable: () => true,
    encryptString(plain) {
      const iv = randomBytes(12);
      const e = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([e.update(plain, 'utf8'), e.final()]);
      return Buffer.concat([iv, e.getAuthTag(), body]);
    },
    decryptString(sealed) {
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8');
    },
  };
  const file = path.join(tmpDir('drayer-private-sealed-'), 'p.stream');
  useKeyCipher(cipher);
  try {
    const { stream, readKey } = await createPrivateStream(file, { name: 'Keychained' });
    const text = fs.readFileSync(readKeyPathFor(file), 'utf8');
    assert.ok(text.startsWith(SEALED_HEADER), 'sealed by the keychain');
    assert.ok(!text.includes(Buffer.from(readKey.bytes).toString('base64')), 'no read key bytes in the file');
    assert.equal(fs.statSync(readKeyPathFor(file)).mode & 0o777, 0o600);
    assert.equal((await openView(stream)).info().name, 'Keychained');
    useKeyCipher(null);
    await assert.rejects(openView(stream), /read key file .* is encrypted by the Drayer desktop app .* clone it with its read link/);
    assert.equal(readerOf(stream), null, 'a node without the keychain reads nothing, and does not fail');
    stream.close();
  } finally {
    useKeyCipher(null);
  }
});

test('drayer words FILE prints the key backup: 64 words for a private stream (its read key follows), 32 for a public one', async () => {
  const dir = tmpDir('drayer-words-');
  const made = await runDrayer(['create', path.join(dir, 'p.stream'), '--private'], { cwd: dir });
  assert.equal(made.code, 0, made.err);
  const link = made.out.trim().split('\n')[1]!;
  const run = await runDrayer(['words', path.join(dir, 'p.stream'), '--json'], { cwd: dir });
  assert.equal(run.code, 0, run.err);
  const { words } = JSON.parse(run.out) as { words: string[] };
  assert.equal(words.length, 64);
  assert.deepEqual(parseBackup(words.join(' ')).readKey, parseReadLink(link).readKey);
  const text = await runDrayer(['words', path.join(dir, 'p.stream')], { cwd: dir });
  assert.equal(text.out.trim().split('\n').length, 8, 'eight lines of eight words');
  assert.match(text.err, /64 words: whoever has them can write and read this stream/);
  await runDrayer(['create', path.join(dir, 'pub.stream')], { cwd: dir });
  assert.equal((JSON.parse((await runDrayer(['words', path.join(dir, 'pub.stream'), '--json'])).out) as { words: string[] }).words.length, 32);
});
