// Partial copies keep their promises (issue 8, §6): a "latest N" copy holds the N newest *live*
// records however the writer deletes, and a metadata-only copy fetches a value when it is opened
// (CLI get/cat, the API, a node's web access), verified against the signed hash, and keeps it.
// Real CLI child processes, real HTTP on 127.0.0.1, real nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { blake2b256, randomBytes } from '../app/core/crypto.js';
import { addBytes, chunkCount } from '../app/store/files.js';
import { DrayerNode } from '../app/node/node.js';
import { addPost, POST_TYPE } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { pull } from '../app/net/sync.js';
import { hex, runDrayer, text, tmpDir, utf8, type CliRun } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-partial-');
const { dir, writer, follower, listen } = bench;
let n = 0;

/** A LAN server for the streams in `streams` (by hex key). */
async function serve(streams: Map<string, Stream>): Promise<string> {
  return (await bench.serve({ resolve: (pk) => streams.get(hex(pk)) })).url;
}

async function server(): Promise<string> {
  return (await bench.lan()).url;
}

/** Forward a request to `to` (a proxy in front of a real server). */
async function forward(to: string, url: string): Promise<{ status: number; type: string; body: Buffer }> {
  const r = await fetch(to + url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
}

async function run(args: string[]): Promise<CliRun> {
  const r = await runDrayer(args, { cwd: dir });
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+/, `stack trace on stderr for ${args.join(' ')}: ${r.err}`);
  return r;
}

const key = (s: Stream) => Buffer.from(s.publicKey).toString('base64');

/** The titles of the writer's `count` newest live posts (by id), newest first. */
function newestTitles(w: Stream, count: number): string[] {
  return [...w.iterate()]
    .filter((r) => r.type === POST_TYPE)
    .sort((a, b) => b.id - a.id)
    .slice(0, count)
    .map((r) => JSON.parse(text(r.val)).title);
}

/** The titles of the posts a copy holds, newest first by id (values or not: metadata carries the key). */
function heldKeys(s: Stream): string[] {
  return [...s.iterate()]
    .filter((r) => r.type === POST_TYPE)
    .sort((a, b) => b.id - a.id)
    .map((r) => r.key);
}

function newestKeys(w: Stream, count: number): string[] {
  return [...w.iterate()]
    .filter((r) => r.type === POST_TYPE)
    .sort((a, b) => b.id - a.id)
    .slice(0, count)
    .map((r) => r.key);
}

// ---------- latest N: the N newest live records ----------

test('clone --latest 3 after the writer deleted its newest post holds 3 posts; sync keeps 3 as the writer deletes inside the window (real CLI)', async () => {
  const url = await server();
  const w = writer('window');
  for (let i = 1; i <= 8; i++) addPost(w, { title: `p${i}`, body: `body ${i}` }, { key: `k${i}` });
  w.delete(POST_TYPE, 'k8'); // the ID tip: k7 is re-issued with the next id
  const file = `latest-${n++}.stream`;
  const c = await run(['clone', url, key(w), file, '--latest', '3', '--json']);
  assert.equal(c.code, 0, c.err);
  const titles = async () => {
    const r = await run(['ls', file, '--type', 'post', '--json']);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { id: number; title: string }[]).sort((a, b) => b.id - a.id).map((x) => x.title);
  };
  assert.deepEqual(await titles(), newestTitles(w, 3));
  assert.deepEqual(await titles(), ['p7', 'p6', 'p5']);

  // An existing latest-3 mirror: a post inside its window goes, then the newest again.
  w.delete(POST_TYPE, 'k6');
  let s = await run(['sync', file, '--json']);
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(await titles(), ['p7', 'p5', 'p4']);
  w.delete(POST_TYPE, 'k7');
  w.delete(POST_TYPE, 'k5');
  s = await run(['sync', file]);
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(await titles(), newestTitles(w, 3));
  assert.deepEqual(await titles(), ['p4', 'p3', 'p2']);
  // and it still moves on as the stream grows
  addPost(w, { title: 'p9', body: 'new' }, { key: 'k9' });
  s = await run(['sync', file]);
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(await titles(), ['p9', 'p4', 'p3']);
  const v = await run(['verify', file]);
  assert.equal(v.code, 0, v.out + v.err);
  const info = JSON.parse((await run(['info', file, '--json'])).out);
  assert.equal(info.records, 3 + 1, 'the window and drayer/info');
  assert.equal(info.name, 'window');
});

test('a latest-N window holds the N newest live records after deletes anywhere, through mirrors, old peers and stale ones', async () => {
  const url = await server();
  const w = writer('churn');
  w.batch((b) => {
    for (let i = 0; i < 60; i++) b.put(POST_TYPE, `c${i}`, utf8(JSON.stringify({ title: `c${i}`, body: '' })));
  });
  const N = 5;
  const f = follower(w, { minId: 1, latest: N });
  const check = (s: Stream, what: string) => {
    assert.deepEqual(heldKeys(s), newestKeys(w, N), what);
    assert.ok(s.get('drayer', 'info'), `${what}: drayer/info is kept`);
    assert.equal(s.count(), N + 1, what);
    assert.ok(s.verify().intact, `${what}: ${JSON.stringify(s.verify())}`);
  };
  await pull(f, url);
  check(f, 'first pull');
  const epoch = f.meta('windowEpoch');
  await pull(f, url);
  assert.equal(f.meta('windowEpoch'), epoch, 'nothing deleted: the cursors are kept');

  // A full mirror in between, and a latest-N copy that follows only it.
  const mirror = follower(w);
  await pull(mirror, url);
  const mUrl = await serve(new Map([[hex(w.publicKey), mirror]]));
  const g = follower(w, { minId: 1, latest: N });
  await pull(g, mUrl);
  check(g, 'through a mirror');

  const rounds: [string, () => void][] = [
    ['the ID tip', () => w.delete(POST_TYPE, newestKeys(w, 1)[0]!)],
    ['the middle of the window', () => w.delete(POST_TYPE, newestKeys(w, 3)[2]!)],
    ['the whole window', () => newestKeys(w, N).forEach((k) => w.delete(POST_TYPE, k))],
    [
      'an edit of an old record, and a delete',
      () => {
        w.put(POST_TYPE, 'c2', utf8('{"title":"c2 edited","body":""}'));
        w.delete(POST_TYPE, newestKeys(w, 2)[1]!);
      },
    ],
    [
      'new records and the ID tip',
      () => {
        w.put(POST_TYPE, 'new1', utf8('{}'));
        w.put(POST_TYPE, 'new2', utf8('{}'));
        w.delete(POST_TYPE, 'new2');
      },
    ],
  ];
  for (const [what, change] of rounds) {
    change();
    await pull(f, url);
    check(f, `after deleting ${what}`);
    await pull(mirror, url);
    await pull(g, mUrl);
    check(g, `after deleting ${what}, through the mirror`);
  }

  // A stale peer (behind this copy) does not pull old records into the window, nor restart the cursors.
  const stale = follower(w);
  const staleUrl = await serve(new Map([[hex(w.publicKey), stale]]));
  await pull(stale, url);
  newestKeys(w, 2).forEach((k) => w.delete(POST_TYPE, k));
  await pull(f, url);
  check(f, 'before the stale peer');
  const before = f.meta('windowEpoch');
  await pull(f, staleUrl);
  assert.equal(f.meta('windowEpoch'), before, 'a stale peer changes nothing');
  await pull(f, url);
  check(f, 'after the stale peer');

  // An older Drayer peer (its /tips has no `start`): the window works as before it, never worse.
  const old = await listen(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    u.searchParams.delete('latest');
    const up = await forward(url, u.pathname + u.search);
    res.writeHead(up.status, { 'content-type': up.type, 'content-length': up.body.length });
    res.end(up.body);
  });
  const h = follower(w, { minId: w.idTip() - N + 1, latest: N });
  w.put(POST_TYPE, 'tail', utf8('{}'));
  await pull(h, old.url);
  assert.ok(heldKeys(h).length <= N && heldKeys(h).every((k) => newestKeys(w, N).includes(k)), 'only records of the window');
  await pull(h, url);
  check(h, 'then a peer that tells');
});

test('a node following the latest N keeps N posts as the writer deletes them (API and timeline)', async () => {
  const a = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'a'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const b = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'b'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  try {
    const st = await a.call('createStream', { name: 'Deleting' });
    const keys: string[] = [];
    for (let i = 0; i < 10; i++) keys.push((await a.call('post', { publicKey: st.publicKey, title: `p${i}`, body: '' })).key);
    await a.call('deletePost', { publicKey: st.publicKey, key: keys.pop()! });
    const f = await b.call('follow', { key: st.publicKey, url: `http://127.0.0.1:${a.lanAddress()!.port}`, latest: 4 });
    assert.equal(f.posts, 4);
    const titles = async () => (await b.call('listPosts', { publicKey: st.publicKey, limit: 100 })).map((p) => p.title).sort();
    assert.deepEqual(await titles(), ['p5', 'p6', 'p7', 'p8']);
    await a.call('deletePost', { publicKey: st.publicKey, key: keys[6]! });
    await a.call('deletePost', { publicKey: st.publicKey, key: keys.pop()! });
    await b.call('syncNow', { publicKey: st.publicKey });
    assert.deepEqual(await titles(), ['p3', 'p4', 'p5', 'p7']);
    const tl = (await b.call('timeline', { limit: 100 }))
      .filter((t) => t.streamKey === st.publicKey)
      .map((t) => t.title)
      .sort();
    assert.deepEqual(tl, ['p3', 'p4', 'p5', 'p7']);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

// ---------- metadata only: fetched when opened ----------

/** A writer with posts, a small site and a big (chunked) file. */
async function siteWriter(name: string): Promise<{ w: Stream; big: Uint8Array }> {
  const w = writer(name);
  addPost(w, { title: 'Hello', body: 'the first post' }, { key: 'hello' });
  addPost(w, { title: 'Again', body: 'the second post' }, { key: 'again' });
  await addBytes(w, 'index.html', utf8('<h1>It works</h1>'));
  await addBytes(w, 'about.html', utf8('<p>about</p>'));
  const big = randomBytes(2 * 1024 * 1024 + 4321);
  await addBytes(w, 'big.bin', big);
  return { w, big };
}

test('a metadata-only clone opens values with get and cat: fetched from its source, verified, kept (real CLI)', async () => {
  const url = await server();
  const { w, big } = await siteWriter('metacli');
  // Its source is a proxy that can be stopped, or made to send forged values.
  let mode: 'ok' | 'forge' = 'ok';
  const proxy = await listen(async (req, res) => {
    if (mode === 'forge' && /\/(value|chunk)\//.test(req.url!)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('forged');
      return;
    }
    const up = await forward(url, req.url!);
    res.writeHead(up.status, { 'content-type': up.type, 'content-length': up.body.length });
    res.end(up.body);
  });
  const file = `meta-${n++}.stream`;
  const c = await run(['clone', proxy.url, key(w), file, '--meta-only']);
  assert.equal(c.code, 0, c.err);
  const ls = await run(['ls', file, '--type', 'file']);
  assert.match(ls.out, /index\.html/);

  const g = await run(['get', file, POST_TYPE, 'hello']);
  assert.equal(g.code, 0, g.err);
  assert.deepEqual(JSON.parse(g.out), { title: 'Hello', body: 'the first post' });
  const cat = await run(['cat', file, 'index.html']);
  assert.equal(cat.code, 0, cat.err);
  assert.equal(cat.out, '<h1>It works</h1>');
  const bigCat = await run(['cat', file, 'big.bin']);
  assert.equal(bigCat.code, 0, bigCat.err);
  assert.ok(bigCat.stdout.equals(Buffer.from(big)), `big.bin read back (${bigCat.stdout.length} bytes)`);

  // Kept: the values and chunks are in the file now, checked by verify; other values are not.
  const m = Stream.open(path.join(dir, file), { readonly: true });
  assert.equal(text(m.get(POST_TYPE, 'hello')!.val), JSON.stringify({ title: 'Hello', body: 'the first post' }));
  assert.ok(m.get('file', 'index.html')!.val);
  assert.equal(m.get(POST_TYPE, 'again')!.val, null);
  assert.equal(chunkCount(m), 3);
  m.close();
  assert.equal((await run(['verify', file])).code, 0);

  // A source that sends other bytes: refused by the signed hash, nothing kept, and said so.
  mode = 'forge';
  const forged = await run(['get', file, POST_TYPE, 'again']);
  assert.equal(forged.code, 1);
  assert.match(forged.err, /^drayer: Could not fetch the value of post\/again/);
  assert.match(forged.err, /does not match its signed hash/);
  const forgedFile = await run(['cat', file, 'about.html']);
  assert.equal(forgedFile.code, 1);
  assert.match(forgedFile.err, /does not match its signed hash/);

  // Its source gone: says which source failed how, and what to do (--from another peer).
  await proxy.close();
  const dead = await run(['get', file, POST_TYPE, 'again']);
  assert.equal(dead.code, 1);
  assert.ok(dead.err.includes(proxy.url), dead.err);
  assert.match(dead.err, /cannot be reached/);
  assert.match(dead.err, /--from http:\/\/HOST:PORT/);
  const from = await run(['get', file, POST_TYPE, 'again', '--from', url]);
  assert.equal(from.code, 0, from.err);
  assert.equal(JSON.parse(from.out).title, 'Again');
  const fromCat = await run(['cat', file, 'about.html', '--from', url]);
  assert.equal(fromCat.code, 0, fromCat.err);
  assert.equal(fromCat.out, '<p>about</p>');
});

test('opening is bounded: a source that never answers costs a timeout, not a hang', async () => {
  const url = await server();
  const { w } = await siteWriter('bounded');
  const m = follower(w, { metaOnly: true });
  await pull(m, url);
  const held: http.ServerResponse[] = [];
  const hang = await listen((_req, res) => void held.push(res)); // headers never come
  const { openValue, OpenError } = await import('../app/net/open.js');
  const t0 = Date.now();
  await assert.rejects(openValue(m, m.get(POST_TYPE, 'hello')!, { sources: [hang.url], timeoutMs: 300, deadlineMs: 600 }), (e: unknown) => {
    assert.ok(e instanceof OpenError && e.timedOut, String(e));
    assert.match((e as Error).message, /did not answer within/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3000, `gave up after ${Date.now() - t0} ms`);
  // The deadline holds across sources: the next one is not tried once it has passed.
  const t1 = Date.now();
  await assert.rejects(openValue(m, m.get(POST_TYPE, 'hello')!, { sources: [hang.url, `${hang.url}/b`, url], timeoutMs: 400, deadlineMs: 500 }));
  assert.ok(Date.now() - t1 < 3000);
  // A later source that answers is used.
  const v = await openValue(m, m.get(POST_TYPE, 'hello')!, { sources: [hang.url, url], timeoutMs: 300, deadlineMs: 5000 });
  assert.equal(JSON.parse(text(v)).title, 'Hello');
  // A page of posts costs one timeout per dead source, not one per post.
  for (let i = 0; i < 12; i++) addPost(w, { title: `more ${i}`, body: '' }, { key: `more${i}` });
  await pull(m, url);
  const { openValues } = await import('../app/net/open.js');
  const page = m.list(POST_TYPE, { limit: 100 }).filter((r) => r.val === null);
  assert.equal(page.length, 13);
  const t2 = Date.now();
  const failed = await openValues(m, page, { sources: [hang.url], timeoutMs: 300 });
  assert.equal(failed.size, 13);
  assert.ok(Date.now() - t2 < 1500, `a page with a dead source took ${Date.now() - t2} ms`);
  assert.ok([...failed.values()].filter((x) => /not asked again/.test(x)).length >= 13 - 4, [...failed.values()].join('\n'));
  const t3 = Date.now();
  assert.equal((await openValues(m, page, { sources: [hang.url, url], timeoutMs: 300 })).size, 0);
  assert.ok(Date.now() - t3 < 3000);
  assert.ok(
    m.list(POST_TYPE, { limit: 100 }).every((r) => r.val !== null),
    'all kept',
  );
});

test('a node following metadata-only serves webAccess/index.html and big files, and shows titles and bodies; without a source it says so (502/504)', async () => {
  const a = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'a'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const b = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'b'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  let aStopped = false;
  try {
    const st = await a.call('createStream', { name: 'Site' });
    const site = tmpDir('drayer-site-');
    fs.writeFileSync(path.join(site, 'index.html'), '<h1>Hello from the site</h1>');
    fs.writeFileSync(path.join(site, 'later.html'), '<p>later</p>');
    const big = randomBytes(3 * 1024 * 1024 + 99);
    fs.writeFileSync(path.join(site, 'big.bin'), big);
    const video = randomBytes(4 * 1024 * 1024 + 7);
    fs.writeFileSync(path.join(site, 'video.bin'), video);
    await a.call('addFiles', { publicKey: st.publicKey, paths: [site] });
    await a.call('post', { publicKey: st.publicKey, title: 'First', body: 'a body' });
    await a.call('post', { publicKey: st.publicKey, title: 'Second', body: 'another body' });
    const f = await b.call('follow', { key: st.publicKey, url: `http://127.0.0.1:${a.lanAddress()!.port}`, metaOnly: true });
    assert.equal(f.partial.metaOnly, true);
    const web = `http://127.0.0.1:${b.lanAddress()!.port}/${Buffer.from(st.publicKey, 'base64').toString('base64url')}`;

    const index = await fetch(`${web}/webAccess/index.html`);
    assert.equal(index.status, 200);
    assert.equal(await index.text(), '<h1>Hello from the site</h1>');
    assert.match(index.headers.get('content-type')!, /^text\/html/);
    const home = await fetch(`${web}/`, { redirect: 'manual' });
    assert.equal(home.status, 302, 'the stream has a site');
    const bigRes = await fetch(`${web}/webAccess/big.bin`);
    assert.equal(bigRes.status, 200);
    assert.ok(Buffer.from(await bigRes.arrayBuffer()).equals(Buffer.from(big)));
    const part = await fetch(`${web}/webAccess/big.bin`, { headers: { range: 'bytes=1048570-1048580' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(Buffer.from(big.subarray(1048570, 1048581))));
    // Seeking into a file never opened: only the chunks of the range are fetched.
    const MiB = 1024 * 1024;
    const seek = await fetch(`${web}/webAccess/video.bin`, { headers: { range: `bytes=${2 * MiB + 5}-${3 * MiB + 10}` } });
    assert.equal(seek.status, 206);
    assert.ok(Buffer.from(await seek.arrayBuffer()).equals(Buffer.from(video.subarray(2 * MiB + 5, 3 * MiB + 11))));
    const held = async (i: number) => (await fetch(`${web}/chunk/${hex(blake2b256(video.subarray(i * MiB, (i + 1) * MiB)))}`)).status;
    assert.deepEqual([await held(0), await held(1), await held(2), await held(3), await held(4)], [404, 404, 200, 200, 404]);

    const posts = (await b.call('listPosts', { publicKey: st.publicKey })).map((p) => `${p.title}|${p.body}`).sort();
    assert.deepEqual(posts, ['First|a body', 'Second|another body']);
    const tl = (await b.call('timeline', {}))
      .filter((t) => t.streamKey === st.publicKey)
      .map((t) => `${t.title}|${t.body}`)
      .sort();
    assert.deepEqual(tl, ['First|a body', 'Second|another body']);
    const hits = await b.call('search', { query: 'another' });
    assert.equal(hits.length, 1, 'opened posts are searchable');

    // The writer posts once more and goes away: what was not opened yet cannot be fetched.
    const third = await a.call('post', { publicKey: st.publicKey, title: 'Third', body: 'too late' });
    await b.call('syncNow', { publicKey: st.publicKey });
    await a.stop();
    aStopped = true;
    const gone = await fetch(`${web}/webAccess/later.html`);
    assert.equal(gone.status, 502);
    assert.match(await gone.text(), /metadata.*sources/);
    const again = await fetch(`${web}/webAccess/index.html`);
    assert.equal(again.status, 200, 'what was opened is kept');
    const listed = await b.call('listPosts', { publicKey: st.publicKey });
    const t3 = listed.find((p) => p.key === third.key)!;
    assert.equal(t3.title, '');
    assert.match(t3.unavailable ?? '', /Could not fetch .*cannot be reached/);
    assert.equal(listed.filter((p) => p.unavailable).length, 1);
    await assert.rejects(b.call('getPost', { publicKey: st.publicKey, key: third.key }), /Could not fetch the value of post\//);
    assert.equal((await b.call('getPost', { publicKey: st.publicKey, key: listed.find((p) => p.title === 'First')!.key }))?.body, 'a body');
    assert.equal(await b.call('getPost', { publicKey: st.publicKey, key: 'no such post' }), null);
  } finally {
    await Promise.all([aStopped ? undefined : a.stop(), b.stop()]);
  }
});

test('web access of a metadata-only copy whose sources do not answer in time is a 504, within the request time', async () => {
  const url = await server();
  const { w } = await siteWriter('slow');
  const m = follower(w, { metaOnly: true });
  await pull(m, url);
  const held: http.ServerResponse[] = [];
  const hang = await listen((_req, res) => void held.push(res));
  const { port } = await bench.serve({
    resolve: (pk) => (hex(pk) === hex(m.publicKey) ? m : undefined),
    opener: () => ({ sources: [hang.url] }),
    limits: { requestTimeoutMs: 1500 },
  });
  const t0 = Date.now();
  const r = await fetch(`http://127.0.0.1:${port}/${Buffer.from(m.publicKey).toString('base64url')}/webAccess/index.html`);
  assert.equal(r.status, 504);
  assert.match(await r.text(), /did not answer in time/);
  assert.ok(Date.now() - t0 < 1500, `answered after ${Date.now() - t0} ms`);
});

test('the page a phone gets for a metadata-only copy without index.html shows the posts, fetched as it is opened', async () => {
  const url = await server();
  const w = writer('posts only');
  addPost(w, { title: 'Shown on the phone', body: 'fetched when the page was asked for' });
  const m = follower(w, { metaOnly: true });
  await pull(m, url);
  const { port } = await bench.serve({ resolve: (pk) => (hex(pk) === hex(m.publicKey) ? m : undefined), opener: () => ({ sources: [url] }) });
  const page = await fetch(`http://127.0.0.1:${port}/${Buffer.from(m.publicKey).toString('base64url')}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /Shown on the phone/);
  assert.match(html, /fetched when the page was asked for/);
});
