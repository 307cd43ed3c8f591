// Partial copies keep their promises (issue 8, §6): a "latest N" copy holds the N newest *live*
// records however the writer deletes, and a metadata-only copy fetches a value when it is opened
// (CLI get/cat, the API, a node's web access), verified against the signed hash, and keeps it.
// Real CLI child processes, real HTTP on 127.0.0.1, real nodes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../app/crypto.js';
import { addBytes, chunkCount } from '../app/files.js';
import { DrayerNode } from '../app/node.js';
import { addPost, POST_TYPE } from '../app/posts.js';
import { LanServer } from '../app/server.js';
import { Stream } from '../app/store.js';
import { pull } from '../app/sync.js';
import { hex, text, tmpDir, utf8 } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));
const dir = tmpDir('drayer-partial-');
const served = new Map<string, Stream>();
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

let n = 0;
function writer(name: string): Stream {
  const s = Stream.create(path.join(dir, `${name}-${n++}.stream`), { name });
  served.set(hex(s.publicKey), s);
  cleanup.push(() => s.close());
  return s;
}

function follower(of: Stream, opts: { metaOnly?: boolean; minId?: number; latest?: number } = {}): Stream {
  const s = Stream.create(path.join(dir, `follow-${n++}.stream`), { followKey: of.publicKey, ...opts });
  cleanup.push(() => s.close());
  return s;
}

/** A LAN server for the streams in `streams` (by hex key). */
async function serve(streams: Map<string, Stream>): Promise<string> {
  const lan = new LanServer({ resolve: (pk) => streams.get(hex(pk)), shared: () => [] });
  const { port } = await lan.listen();
  cleanup.push(() => lan.close());
  return `http://127.0.0.1:${port}`;
}

let base = '';
async function server(): Promise<string> {
  if (!base) base = await serve(served);
  return base;
}

async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  let closed = false;
  const close = () => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  };
  cleanup.push(close);
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close };
}

/** Forward a request to `to` (a proxy in front of a real server). */
async function forward(to: string, url: string): Promise<{ status: number; type: string; body: Buffer }> {
  const r = await fetch(to + url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
}

function run(args: string[]): Promise<{ code: number | null; out: string; err: string; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, DRAYER_DEBUG: '' } });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const stdout = Buffer.concat(out);
      assert.doesNotMatch(err, /\n\s+at .+:\d+:\d+/, `stack trace on stderr for ${args.join(' ')}: ${err}`);
      resolve({ code, out: stdout.toString('utf8'), err, stdout });
    });
  });
}

const key = (s: Stream) => Buffer.from(s.publicKey).toString('base64');

/** The titles of the writer's `count` newest live posts (by id), newest first. */
function newestTitles(w: Stream, count: number): string[] {
  return [...w.iterate()].filter((r) => r.type === POST_TYPE).sort((a, b) => b.id - a.id).slice(0, count).map((r) => JSON.parse(text(r.val)).title);
}

/** The titles of the posts a copy holds, newest first by id (values or not: metadata carries the key). */
function heldKeys(s: Stream): string[] {
  return [...s.iterate()].filter((r) => r.type === POST_TYPE).sort((a, b) => b.id - a.id).map((r) => r.key);
}

function newestKeys(w: Stream, count: number): string[] {
  return [...w.iterate()].filter((r) => r.type === POST_TYPE).sort((a, b) => b.id - a.id).slice(0, count).map((r) => r.key);
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
    ['an edit of an old record, and a delete', () => { w.put(POST_TYPE, 'c2', utf8('{"title":"c2 edited","body":""}')); w.delete(POST_TYPE, newestKeys(w, 2)[1]!); }],
    ['new records and the ID tip', () => { w.put(POST_TYPE, 'new1', utf8('{}')); w.put(POST_TYPE, 'new2', utf8('{}')); w.delete(POST_TYPE, 'new2'); }],
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
    const tl = (await b.call('timeline', { limit: 100 })).filter((t) => t.streamKey === st.publicKey).map((t) => t.title).sort();
    assert.deepEqual(tl, ['p3', 'p4', 'p5', 'p7']);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
