// Private streams through the `drayer` command and real nodes (DESIGN §8): a private stream is
// made, served by a node, cloned blind and with its read link, edited and deleted, synced again.
// A blind mirror's file and every HTTP answer of the serving nodes must hold none of its
// plaintext in any encoding; a public stream made the same way is the control that shows the
// search finds what is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { blake2b256 } from '../app/core/crypto.js';
import { parseKey } from '../app/core/keys.js';
import { readLink, SEALED_TYPE } from '../app/core/private.js';
import { Stream } from '../app/store/store.js';
import { drayerFails, drayerOk as ok, tmpDir } from './helpers.js';
import { fileBytes, forms, recordingProxy, servingNode } from './private-harness.js';

const fails = (args: string[], cwd: string, code: number, why: RegExp) => drayerFails(args, cwd, why, code);

// What a reader may see and nobody else: titles, bodies, file names, file contents, name, about.
const SECRET = {
  name: 'SECRETNAME-2b8e Garden',
  about: 'SECRETABOUT-c4d9 for readers',
  title: 'SECRETTITLE-7f3a',
  arabic: 'عنوان سري جدا للقراء',
  body: 'SECRETBODY-91c2 *markdown*',
  edited: 'SECRETEDITED-4e61 after the edit',
  fileName: 'SECRETFILENAME-55d1.png',
  folder: 'SECRETFOLDER-a0c3',
  content: 'SECRETCONTENT-e0b7 inside a file',
};
const NEEDLES = Object.values(SECRET);

/** The needles found in `hay` (in any of their forms), by name. */
function found(hay: Buffer): string[] {
  return NEEDLES.filter((n) => forms(n).some((f) => hay.includes(f)));
}

async function get(url: string): Promise<void> {
  const r = await fetch(url);
  await r.arrayBuffer();
}

/** Make a stream with the secret content (private or not) in `dir`; its key, link and the posts' keys. */
async function makeStream(dir: string, file: string, priv: boolean): Promise<{ pk: string; link: string; posts: string[] }> {
  const made = await ok(['create', file, '--name', SECRET.name, '--about', SECRET.about, ...(priv ? ['--private'] : [])], dir);
  const [pk, link] = made.out.trim().split('\n');
  const posts = [
    (await ok(['post', file, '--title', SECRET.title, '--body', SECRET.body], dir)).out.trim(),
    (await ok(['post', file, '--title', SECRET.arabic, '--body', `${SECRET.body} ${'x'.repeat(100_000)}`], dir)).out.trim(),
    (await ok(['post', file, '--title', 'to be deleted', '--body', SECRET.body], dir)).out.trim(),
  ];
  const site = path.join(dir, `${path.basename(file)}-site`, SECRET.folder, 'sub');
  fs.mkdirSync(site, { recursive: true });
  fs.writeFileSync(path.join(site, SECRET.fileName), SECRET.content);
  await ok(['add', file, path.dirname(path.dirname(site))], dir);
  return { pk: pk!, link: link ?? '', posts };
}

/** The stored records of a stream file, as comparable rows (a blind mirror and a reader hold the same). */
function rawRows(file: string): string[] {
  const s = Stream.open(file, { readonly: true });
  try {
    return [...s.iterate()].map((r) => `${r.id} ${r.mod} ${r.prev} ${r.prevch} ${r.type} ${r.key} ${Buffer.from(r.hash).toString('hex')}`);
  } finally {
    s.close();
  }
}

test('a private stream: blind mirrors carry it without a byte of plaintext, readers read it, all converge after edits and deletes', async () => {
  const dir = tmpDir('drayer-private-');
  const dataA = path.join(dir, 'a');
  const file = path.join(dataA, 'secret.stream');
  fs.mkdirSync(dataA);
  const { pk, link, posts } = await makeStream(dir, file, true);
  assert.equal(link, readLink(parseKey(pk), new Uint8Array(Buffer.from(fs.readFileSync(`${file}.readkey`, 'utf8').trim(), 'base64'))));
  for (const f of [`${file}.privatekey`, `${file}.readkey`]) assert.equal(fs.statSync(f).mode & 0o777, 0o600, `${f} is 0600`);
  assert.equal((await ok(['link', file], dir)).out.trim(), link);

  // the writer reads its own stream
  const ls = JSON.parse((await ok(['ls', file, '--json'], dir)).out) as { type: string; key: string; title?: string }[];
  assert.deepEqual(
    ls
      .filter((r) => r.type === 'post')
      .map((r) => r.title)
      .sort(),
    [SECRET.title, SECRET.arabic, 'to be deleted'].sort(),
  );
  assert.ok(ls.some((r) => r.type === 'file' && r.key === `${SECRET.folder}/sub/${SECRET.fileName}`));
  assert.match((await ok(['info', file], dir)).out, new RegExp(`Name: +${SECRET.name}[^]*About: +${SECRET.about}[^]*Private: +yes, readable here`));

  const a = await servingNode(dataA, pk);
  const proxyA = await recordingProxy(a.url);
  const dataB = path.join(dir, 'b');
  let b: Awaited<ReturnType<typeof servingNode>> | undefined;
  let proxyB: Awaited<ReturnType<typeof recordingProxy>> | undefined;
  try {
    // a blind mirror, cloned by the key alone, into a second node's data directory
    fs.mkdirSync(dataB);
    const blind = path.join(dataB, 'blind.stream');
    const cb = await ok(['clone', proxyA.url, pk, blind], dir);
    assert.match(cb.err, /private stream .* blind mirror \(sealed: no read key\)/);
    assert.match(cb.out, /Cloned "[a-z ]+" \(private, sealed: named from its key\)/);
    // a reader, cloned with the read link
    const reader = path.join(dir, 'reader.stream');
    await ok(['clone', proxyA.url, link, reader], dir);
    assert.equal(fs.statSync(`${reader}.readkey`).mode & 0o777, 0o600);
    assert.equal((await ok(['link', reader], dir)).out.trim(), link, 'the reader holds the read key');
    assert.equal((await ok(['link', blind], dir)).out.trim(), link.replace(/#.*/, ''), 'the blind mirror does not');

    // the blind mirror: lists sealed records, says so when asked to read, verifies intact, serves
    const bl = await ok(['ls', blind], dir);
    assert.match(bl.out, /sealed .* sealed: no read key/);
    await fails(['get', blind, 'post', posts[0]!], dir, 1, /post\/.* is sealed: no read key: the stream is private and this copy is a blind mirror/);
    await fails(['cat', blind, `${SECRET.folder}/sub/${SECRET.fileName}`], dir, 1, /sealed: no read key/);
    assert.match((await ok(['verify', blind], dir)).out, /intact, \d+ records verified[^]*Note: a private stream, sealed here/);
    assert.match((await ok(['info', blind], dir)).out, /Private: +yes, sealed: no read key/);

    // the reader reads what the writer wrote, files too
    const rl = JSON.parse((await ok(['ls', reader, '--json'], dir)).out) as { type: string; key: string; title?: string }[];
    assert.deepEqual(rl, JSON.parse((await ok(['ls', file, '--json'], dir)).out));
    assert.equal(JSON.parse((await ok(['get', reader, 'post', posts[0]!], dir)).out).title, SECRET.title);
    assert.equal((await ok(['cat', reader, `${SECRET.folder}/sub/${SECRET.fileName}`], dir)).out, SECRET.content);
    assert.match((await ok(['verify', reader], dir)).out, /intact[^]*every sealed record was opened with the read key/);

    // the writer edits one post and deletes another: the keyed key replaces, nothing is left behind
    const sealedBefore = rawRows(file).filter((r) => r.includes(` ${SEALED_TYPE} `)).length;
    await ok(['put', file, 'post', posts[0]!, '--value', JSON.stringify({ title: SECRET.edited, body: SECRET.edited })], dir);
    await ok(['rm', file, 'post', posts[2]!], dir);
    assert.equal(rawRows(file).filter((r) => r.includes(` ${SEALED_TYPE} `)).length, sealedBefore - 1, 'an edit replaces its record');

    // the blind mirror's node serves it; a second reader clones through the blind mirror
    b = await servingNode(dataB, pk);
    proxyB = await recordingProxy(b.url);
    await ok(['sync', blind, proxyA.url], dir);
    const reader2 = path.join(dir, 'reader2.stream');
    await ok(['clone', proxyB.url, link, reader2], dir);
    await ok(['sync', reader, proxyA.url], dir);
    const writerRows = rawRows(file);
    assert.deepEqual(rawRows(blind), writerRows, 'the blind mirror converged with the writer');
    assert.deepEqual(rawRows(reader), writerRows, 'the reader converged with the writer');
    assert.deepEqual(rawRows(reader2), writerRows, 'the reader through the blind mirror converged with the writer');
    for (const r of [reader, reader2]) {
      const titles = (JSON.parse((await ok(['ls', r, '--type', 'post', '--json'], dir)).out) as { title: string }[]).map((x) => x.title).sort();
      assert.deepEqual(titles, [SECRET.edited, SECRET.arabic].sort(), `${r} reads the edit and not the deleted post`);
    }

    // every other answer either node gives about the stream
    const key = encodeURIComponent(pk);
    for (const base of [proxyA.url, proxyB.url]) {
      for (const p of [
        '/',
        `/${key}/`,
        `/${key}/changes?since=0`,
        `/${key}/tips`,
        `/${key}/newRecords/0`,
        `/${key}/newestRecordsJSON/${SEALED_TYPE}`,
        `/${key}/listRecordsJSON/${SEALED_TYPE}`,
        `/${key}/newestRecordsJSON/post`,
        `/${key}/webAccess/`,
        `/${key}/webAccess/index.html`,
        `/${key}/webAccess/${SECRET.folder}/sub/${SECRET.fileName}`,
        ...Array.from({ length: 12 }, (_, i) => `/${key}/record/${i + 1}`),
        ...Array.from({ length: 12 }, (_, i) => `/${key}/value/${i + 1}`),
      ])
        await get(base + p);
    }
    assert.ok(proxyA.answers.length >= 35 && proxyB.answers.length >= 35, `answers recorded: ${proxyA.answers.length}, ${proxyB.answers.length}`);
    for (const [i, ans] of [...proxyA.answers, ...proxyB.answers].entries()) assert.deepEqual(found(ans), [], `HTTP answer ${i} holds plaintext`);
    assert.deepEqual(found(fileBytes(blind)), [], "the blind mirror's file holds plaintext");
    assert.deepEqual(
      found(Buffer.concat(fs.readdirSync(dataB).map((f) => fileBytes(path.join(dataB, f))))),
      [],
      "the blind node's data directory holds plaintext",
    );
    // the readers' files are ciphertext too: only the read key opens them
    assert.deepEqual(found(fileBytes(reader)), []);
  } finally {
    await proxyA.close();
    await proxyB?.close();
    await a.node.stop();
    await b?.node.stop();
  }
});

test('the control: the same search finds the plaintext of a public stream made the same way, in its file and its answers', async () => {
  const dir = tmpDir('drayer-private-control-');
  const data = path.join(dir, 'a');
  fs.mkdirSync(data);
  const file = path.join(data, 'public.stream');
  const { pk } = await makeStream(dir, file, false);
  const expected = NEEDLES.filter((n) => n !== SECRET.edited).sort();
  assert.deepEqual(found(fileBytes(file)).sort(), expected);
  const a = await servingNode(data, pk);
  try {
    const r = await fetch(`${a.url}/${encodeURIComponent(pk)}/changes?since=0`);
    assert.deepEqual(found(Buffer.from(await r.arrayBuffer())).sort(), expected);
  } finally {
    await a.node.stop();
  }
});

test('a wrong read key is a clear error and keeps nothing; tampering is caught by the signature (everyone) and the AEAD (readers)', async () => {
  const dir = tmpDir('drayer-private-wrong-');
  const data = path.join(dir, 'a');
  fs.mkdirSync(data);
  const file = path.join(data, 'secret.stream');
  const made = await ok(['create', file, '--private', '--name', SECRET.name], dir);
  const [pk, link] = made.out.trim().split('\n') as [string, string];
  const post = (await ok(['post', file, '--title', SECRET.title, '--body', SECRET.body], dir)).out.trim();
  const other = (await ok(['create', path.join(dir, 'other.stream'), '--private'], dir)).out.trim().split('\n')[1]!;
  const wrongLink = `${link.replace(/#.*/, '')}${other.slice(other.indexOf('#'))}`;
  const a = await servingNode(data, pk);
  try {
    const wrong = path.join(dir, 'wrong.stream');
    await fails(['clone', a.url, wrongLink, wrong], dir, 1, /The read link does not open stream .*: that read key is not this stream's .* was not created\./);
    assert.ok(!fs.existsSync(wrong) && !fs.existsSync(`${wrong}.readkey`), 'nothing kept');
    await fails(['clone', a.url, link.slice(0, -3), wrong], dir, 1, /The read key in that link .* may have been cut/);

    // a reader whose read key file was swapped for another stream's: every read says so
    const reader = path.join(dir, 'reader.stream');
    await ok(['clone', a.url, link, reader], dir);
    const good = fs.readFileSync(`${reader}.readkey`);
    fs.rmSync(`${reader}.readkey`);
    fs.copyFileSync(path.join(dir, 'other.stream.readkey'), `${reader}.readkey`);
    for (const args of [
      ['ls', reader],
      ['get', reader, 'post', post],
      ['info', reader],
    ])
      await fails(args, dir, 1, /cannot be read with the read key in .*reader\.stream\.readkey: that read key is not this stream's/);
    fs.rmSync(`${reader}.readkey`);
    fs.writeFileSync(`${reader}.readkey`, good, { mode: 0o600 });

    // a mirror altered the ciphertext and its hash: the signature no longer holds, for everyone
    const blind = path.join(dir, 'blind.stream');
    await ok(['clone', a.url, pk, blind], dir);
    const db = new Database(blind);
    const row = db.prepare('SELECT id, val FROM records WHERE type = ? ORDER BY id DESC LIMIT 1').get(SEALED_TYPE) as { id: number; val: Buffer };
    const bad = Buffer.from(row.val);
    bad[bad.length - 1]! ^= 1;
    db.prepare('UPDATE records SET val = ?, hash = ? WHERE id = ?').run(bad, Buffer.from(blake2b256(bad)), row.id);
    db.close();
    assert.match(
      (await fails(['verify', blind], dir, 1, /^$/)).out,
      new RegExp(`record ${row.id} \\(sealed/.*\\): its signature is not valid for this stream`),
    );

    // the writer itself signed a sealed value that does not open: the signature holds, the AEAD refuses it
    const w = Stream.open(file);
    const sealed = w.list(SEALED_TYPE, { limit: 100 }).find((r) => r.id === row.id)!;
    const garbled = new Uint8Array(sealed.val!);
    garbled[30]! ^= 0x80;
    w.put(SEALED_TYPE, sealed.key, garbled);
    w.close();
    await ok(['sync', reader, a.url], dir);
    await fails(['get', reader, 'post', post], dir, 1, /does not open: its ciphertext does not open with the read key .* Nothing of it is shown/);
    assert.match((await fails(['verify', reader], dir, 1, /^$/)).out, /problem[^]*does not open/);
    assert.match((await ok(['ls', reader], dir)).out, /sealed .* damaged: does not open with the read key/, 'the listing shows the rest');
    const fresh = path.join(dir, 'fresh-blind.stream');
    await ok(['clone', a.url, pk, fresh], dir);
    assert.match((await ok(['verify', fresh], dir)).out, /intact/, 'a blind mirror cannot tell, and carries it: only readers can');
  } finally {
    await a.node.stop();
  }
});

test('a private stream refuses what it cannot seal: a write without the read key', async () => {
  const dir = tmpDir('drayer-private-refuse-');
  const file = path.join(dir, 'p.stream');
  await ok(['create', file, '--private'], dir);
  fs.renameSync(`${file}.readkey`, path.join(dir, 'kept.readkey'));
  await fails(
    ['post', file, '--title', 't', '--body', 'b'],
    dir,
    1,
    /is private and its read key .* is not here, so nothing can be sealed for it.*nothing was written/,
  );
});
