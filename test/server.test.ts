// The LAN server over real HTTP on 127.0.0.1 with real stream files: the sync endpoints, the
// original Drayer endpoints, the phone view, and writes by another process seen at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { blake2b256, bytesEqual, keyPairFromSeed, randomBytes } from '../app/core/crypto.js';
import { addBytes, parseFileValue } from '../app/store/files.js';
import { addPost } from '../app/store/posts.js';
import { checkRecord, decodeWire, fromWire, type DrayerRecord } from '../app/core/record.js';
import { LanServer, type ServerOptions } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import { hex, text, tmpDir, utf8 } from './helpers.js';

const dir = tmpDir('drayer-server-');
const streams = new Map<string, Stream>();
const servers: LanServer[] = [];

/** A key pair whose standard base64 holds '/' and '+' (not first), to exercise every URL form. */
function awkwardKeyPair() {
  for (;;) {
    const kp = keyPairFromSeed(randomBytes(32));
    const b = Buffer.from(kp.publicKey).toString('base64');
    if (b.slice(1).includes('/') && b.includes('+')) return kp;
  }
}

function makeStream(name: string, opts: Parameters<typeof Stream.create>[1] = {}): Stream {
  const s = Stream.create(path.join(dir, `${name}.stream`), { name, ...opts });
  streams.set(hex(s.publicKey), s);
  return s;
}

async function startServer(extra: Partial<ServerOptions> = {}): Promise<string> {
  const srv = new LanServer({
    resolve: (pk) => streams.get(hex(pk)),
    shared: () => [...streams.values()].filter((s) => s.writable).map((s) => ({ publicKey: s.publicKey, name: String(s.info().name ?? '') })),
    ...extra,
  });
  servers.push(srv);
  const { host, port } = await srv.listen();
  assert.equal(host, '127.0.0.1');
  assert.equal(srv.port, port);
  return `http://127.0.0.1:${port}`;
}

const urlKey = (s: Stream) => Buffer.from(s.publicKey).toString('base64url');
const b64 = (s: Stream) => Buffer.from(s.publicKey).toString('base64');
const quotePlus = (s: Stream) => encodeURIComponent(b64(s)).replace(/%20/g, '+');

/** A raw GET that shows bytes as sent (no decompression, no redirects). */
function raw(
  base: string,
  p: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function getMsgpack(url: string): Promise<any> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${res.status} ${await res.clone().text()}`);
  assert.equal(res.headers.get('content-type'), 'application/msgpack');
  return decodeWire(new Uint8Array(await res.arrayBuffer()));
}

const str = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v);

function live(s: Stream): string[] {
  return [...s.iterate()].map((r) => `${r.id}:${r.type}/${r.key}=${hex(r.hash)}@${r.mod}/${r.prev}/${r.prevch}:${r.val ? hex(r.val) : '-'}`).sort();
}

/** Pull every change page into a fresh mirror; returns the mirror and the pages seen. */
async function mirrorVia(base: string, s: Stream, query: string, mirrorOpts: { metaOnly?: boolean } = {}): Promise<{ mirror: Stream; pages: number }> {
  const mirror = Stream.create(path.join(dir, `mirror-${hex(randomBytes(4))}.stream`), { followKey: s.publicKey, ...mirrorOpts });
  let since = 0;
  let pages = 0;
  for (;;) {
    const page = await getMsgpack(`${base}/${urlKey(s)}/changes?since=${since}&${query}`);
    pages++;
    assert.equal(str(page.node), s.nodeId);
    assert.ok(page.seq >= since);
    const recs = (page.records as unknown[]).map((m) => fromWire(m, s.publicKey));
    const res = mirror.apply(recs);
    assert.deepEqual(
      res.rejected.filter((x) => !/^(stale|already|deleted)/.test(x.reason)),
      [],
    );
    since = page.seq;
    if (!page.more) break;
    assert.ok(pages < 10_000);
  }
  return { mirror, pages };
}

let A: Stream; // the busy stream: posts, edits, deletes, files
let base: string;

before(async () => {
  A = makeStream('alice', { keyPair: awkwardKeyPair(), about: 'Alice & <friends>' });
  for (let i = 0; i < 40; i++) A.put('note', `n${i}`, utf8(`value ${i} `.repeat(i + 1)));
  for (let i = 0; i < 40; i += 3) A.put('note', `n${i}`, utf8(`edited ${i}`));
  for (const i of [39, 5, 17, 22]) A.delete('note', `n${i}`);
  A.put('note', 'n0', utf8('edited again'));
  base = await startServer();
});

after(async () => {
  for (const s of servers) await s.close();
  for (const s of streams.values()) s.close();
});

test('paging /changes until more=false reproduces the whole stream in a mirror', async () => {
  const { mirror, pages } = await mirrorVia(base, A, 'limit=7');
  assert.ok(pages > 3, `only ${pages} pages`);
  assert.deepEqual(live(mirror), live(A));
  assert.deepEqual(mirror.verify().problems, []);
  mirror.close();
  // count=1: `left` is what comes after the page, with the filters applied; absent unless asked
  const first = await getMsgpack(`${base}/${urlKey(A)}/changes?since=0&limit=7&count=1`);
  assert.equal(first.records.length + first.left, A.count());
  const minId = 30;
  const partial = await getMsgpack(`${base}/${urlKey(A)}/changes?since=0&limit=2&minId=${minId}&count=1`);
  const inRange = [...A.iterate()].filter((r) => r.id >= minId || (r.type === 'drayer' && r.key === 'info')).length;
  assert.equal(partial.records.length + partial.left, inRange);
  assert.equal((await getMsgpack(`${base}/${urlKey(A)}/changes?since=0&limit=7`)).left, undefined);
});

test('a page is cut before its values exceed maxPageBytes, and the cut skips nothing', async () => {
  const B = makeStream('bigvalues');
  for (let i = 0; i < 30; i++) B.put('blob', `b${i}`, new Uint8Array(700 + i).fill(i));
  const small = await startServer({ limits: { maxPageBytes: 2000 } });
  const first = await getMsgpack(`${small}/${urlKey(B)}/changes?since=0&limit=1000`);
  assert.equal(first.more, true);
  const total = (first.records as any[]).reduce((n, r) => n + (r.val?.length ?? 0), 0);
  assert.ok(total <= 2000 && first.records.length >= 1, `page of ${first.records.length} records, ${total} bytes`);
  const { mirror, pages } = await mirrorVia(small, B, 'limit=1000');
  assert.ok(pages >= 10);
  assert.deepEqual(live(mirror), live(B));
  mirror.close();
  // One value larger than the cap still travels, alone.
  B.put('blob', 'huge', new Uint8Array(5000).fill(7));
  const page = await getMsgpack(`${small}/${urlKey(B)}/changes?since=${B.lastSeq() - 1}`);
  assert.equal(page.records.length, 1);
  assert.equal(page.records[0].val.length, 5000);
});

test('minId, minMod and meta=1 filter the change feed', async () => {
  const all = [...A.iterate()];
  const minId = 20;
  const byId = await mirrorVia(base, A, `limit=5&minId=${minId}`, {});
  const isInfo = (r: { type: unknown; key: unknown }) => str(r.type) === 'drayer' && str(r.key) === 'info';
  // the range, and drayer/info always (every copy knows the stream's name)
  const held = [...byId.mirror.iterate()];
  assert.ok(held.length > 1 && held.every((r) => r.id >= minId || isInfo(r)));
  assert.equal(held.filter(isInfo).length, 1);
  byId.mirror.close();

  const mods = all.map((r) => r.mod).sort((a, b) => a - b);
  const minMod = mods[Math.floor(mods.length / 2)]!;
  const page = await getMsgpack(`${base}/${urlKey(A)}/changes?since=0&minMod=${minMod}`);
  assert.ok(page.records.length > 0);
  assert.ok((page.records as any[]).every((r) => r.mod >= minMod || isInfo(r)));
  assert.equal(page.records.length, all.filter((r) => r.mod >= minMod || isInfo(r)).length);

  const meta = await mirrorVia(base, A, 'limit=9&meta=1', { metaOnly: true });
  const recs = [...meta.mirror.iterate()];
  assert.equal(recs.length, all.length);
  assert.ok(recs.every((r) => r.val === null));
  meta.mirror.close();
  const metaPage = await getMsgpack(`${base}/${urlKey(A)}/changes?meta=1`);
  assert.ok((metaPage.records as any[]).every((r) => r.val === null && r.hash.length === 32));
});

test('/tips gives the node, the id and mod tips and the last seq', async () => {
  const t = await getMsgpack(`${base}/${urlKey(A)}/tips`);
  assert.equal(str(t.node), A.nodeId);
  assert.equal(t.id, Math.max(...[...A.iterate()].map((r) => r.id)));
  assert.equal(t.mod, A.mtip());
  assert.equal(t.seq, A.lastSeq());
});

test("the stream key works URL-safe, raw standard base64 (with slashes), percent-encoded and quote_plus'd", async () => {
  const forms = [urlKey(A), b64(A), quotePlus(A), quotePlus(A).replace(/%2B/g, '%20'), b64(A).replace(/=$/, '')];
  assert.ok(b64(A).includes('/'));
  for (const k of forms) {
    const r = await raw(base, `/${k}/tips`);
    assert.equal(r.status, 200, `form ${k}: ${r.body}`);
    assert.equal(str((decodeWire(r.body) as any).node), A.nodeId);
  }
});

test('record/<id>, value/<id> and chunk/<hash> serve a record, its value and a file chunk', async () => {
  const r = A.get('note', 'n3')!;
  const m = await getMsgpack(`${base}/${urlKey(A)}/record/${r.id}`);
  const got = fromWire(m, A.publicKey);
  assert.equal(checkRecord(got, A.publicKey), null);
  assert.deepEqual(got, r);
  const metaOnly = await getMsgpack(`${base}/${urlKey(A)}/record/${r.id}?meta=1`);
  assert.equal(metaOnly.val, null);

  const v = await fetch(`${base}/${urlKey(A)}/value/${r.id}`);
  assert.equal(v.status, 200);
  assert.ok(bytesEqual(new Uint8Array(await v.arrayBuffer()), r.val!));
  const etag = v.headers.get('etag')!;
  assert.equal(etag, `"${hex(r.hash)}"`);
  assert.equal(v.headers.get('content-type'), 'application/octet-stream');
  assert.match(v.headers.get('content-security-policy')!, /^sandbox/);
  assert.equal((await fetch(`${base}/${urlKey(A)}/value/${r.id}`, { headers: { 'If-None-Match': etag } })).status, 304);
  assert.equal((await fetch(`${base}/${urlKey(A)}/record/999999`)).status, 404);
  assert.equal((await fetch(`${base}/${urlKey(A)}/value/999999`)).status, 404);

  const C = makeStream('chunky');
  const big = new Uint8Array(2_500_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 255;
  await addBytes(C, 'video/big.bin', big);
  const chunks = parseFileValue(C.get('file', 'video/big.bin')!.val!).header.chunks!;
  assert.equal(chunks.length, 3);
  const c1 = await fetch(`${base}/${urlKey(C)}/chunk/${hex(chunks[1]!)}`);
  assert.equal(c1.status, 200);
  assert.match(c1.headers.get('cache-control')!, /immutable/);
  const data = new Uint8Array(await c1.arrayBuffer());
  assert.ok(bytesEqual(blake2b256(data), chunks[1]!));
  assert.ok(bytesEqual(data, big.subarray(1024 * 1024, 2 * 1024 * 1024)));
  const part = await fetch(`${base}/${urlKey(C)}/chunk/${hex(chunks[1]!)}`, { headers: { Range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${1024 * 1024}`);
  assert.ok(bytesEqual(new Uint8Array(await part.arrayBuffer()), data.subarray(10, 20)));
  assert.equal((await fetch(`${base}/${urlKey(C)}/chunk/${'ab'.repeat(32)}`)).status, 404);

  // Ranges across chunk boundaries of the file itself.
  const f = await fetch(`${base}/${urlKey(C)}/webAccess/video/big.bin`, { headers: { Range: 'bytes=1048570-2097160' } });
  assert.equal(f.status, 206);
  assert.equal(f.headers.get('content-range'), `bytes 1048570-2097160/${big.length}`);
  assert.ok(bytesEqual(new Uint8Array(await f.arrayBuffer()), big.subarray(1048570, 2097161)));
  const whole = await fetch(`${base}/${urlKey(C)}/webAccess/video/big.bin`);
  assert.equal(whole.headers.get('content-length'), String(big.length));
  assert.ok(bytesEqual(new Uint8Array(await whole.arrayBuffer()), big));
});

test("newRecords/<t> answers the original Drayer shape for a quote_plus'd key, oldest first, bounded", async () => {
  const srv = await startServer({ limits: { newRecordsLimit: 10 } });
  const mirror = Stream.create(path.join(dir, 'orig-mirror.stream'), { followKey: A.publicKey });
  let t = 0;
  let calls = 0;
  for (;;) {
    const r = await raw(srv, `/${quotePlus(A)}/newRecords/${t}`);
    assert.equal(r.status, 200);
    calls++;
    const list = decodeWire(r.body) as unknown[];
    assert.ok(Array.isArray(list));
    assert.ok(list.length <= 10);
    if (list.length === 0) break;
    const recs: DrayerRecord[] = list.map((m) => {
      assert.deepEqual(Object.keys(m as object).sort(), ['chain', 'hash', 'id', 'key', 'mod', 'prev', 'prevch', 'sig', 'ts', 'type', 'val']);
      return fromWire(m, A.publicKey);
    });
    for (const x of recs) {
      assert.ok(x.mod > t);
      assert.equal(checkRecord(x, A.publicKey), null);
    }
    assert.deepEqual(
      recs.map((x) => x.mod),
      [...recs.map((x) => x.mod)].sort((a, b) => a - b),
    );
    mirror.apply(recs);
    t = recs[recs.length - 1]!.mod;
  }
  assert.ok(calls > 3);
  assert.deepEqual(live(mirror), live(A));
  mirror.close();
});

test('newestRecordsJSON and listRecordsJSON list [key, id] by id and [key, mod] by mod, newest first', async () => {
  const notes = [...A.iterate()].filter((r) => r.type === 'note');
  const newest = (await (await fetch(`${base}/${urlKey(A)}/newestRecordsJSON/note`)).json()) as [string, number][];
  assert.deepEqual(
    newest,
    [...notes].sort((a, b) => b.id - a.id).map((r) => [r.key, r.id]),
  );
  const recent = (await (await fetch(`${base}/${urlKey(A)}/listRecordsJSON/note`)).json()) as [string, number][];
  assert.deepEqual(
    recent,
    [...notes].sort((a, b) => b.mod - a.mod).map((r) => [r.key, r.mod]),
  );
  const ids = notes.map((r) => r.id).sort((a, b) => a - b);
  const bounded = (await (await fetch(`${base}/${urlKey(A)}/newestRecordsJSON/note?after=${ids[2]}&before=${ids[6]}`)).json()) as [string, number][];
  assert.deepEqual(
    bounded.map((x) => x[1]),
    [ids[5], ids[4], ids[3]],
  );
  const res = await fetch(`${base}/${quotePlus(A)}/listRecordsJSON/nothing-of-this-type`);
  assert.match(res.headers.get('content-type')!, /^application\/json/);
  assert.deepEqual(await res.json(), []);
});

test('the phone view serves index.html and nested files with types, CSP, Range, stored gzip and ETags', async () => {
  const W = makeStream('website');
  const indexHtml = `<!doctype html><title>Hi</title><link rel="stylesheet" href="css/site.css"><p>${'Hello phone. '.repeat(50)}</p>`;
  await addBytes(W, 'index.html', utf8(indexHtml));
  await addBytes(W, 'css/site.css', utf8('body { color: red; }\n'.repeat(20)));
  await addBytes(W, 'docs/index.html', utf8('<p>docs</p>'));
  const bin = randomBytes(5000);
  await addBytes(W, 'data.bin', bin);
  await addBytes(W, 'Sp ace/ü.txt', utf8('unicode path'));

  // /<pk>/ leads to webAccess/ so the page's relative links resolve; fetch follows it.
  const home = await fetch(`${base}/${urlKey(W)}/`);
  assert.equal(home.status, 200);
  assert.ok(home.url.endsWith('/webAccess/'));
  assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = home.headers.get('content-security-policy')!;
  assert.match(csp, /sandbox allow-scripts/);
  assert.doesNotMatch(csp, /allow-same-origin/);
  assert.equal(home.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await home.text(), indexHtml);
  const noSlash = await raw(base, `/${urlKey(W)}`);
  assert.equal(noSlash.status, 301);

  const css = await fetch(`${base}/${urlKey(W)}/webAccess/css/site.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  const docs = await fetch(`${base}/${urlKey(W)}/webAccess/docs/`);
  assert.equal(await docs.text(), '<p>docs</p>');
  const docsNoSlash = await raw(base, `/${urlKey(W)}/webAccess/docs`);
  assert.equal(docsNoSlash.status, 301);
  assert.equal(docsNoSlash.headers.location, 'docs/');
  const uni = await fetch(`${base}/${urlKey(W)}/webAccess/${encodeURIComponent('Sp ace')}/${encodeURIComponent('ü.txt')}`);
  assert.equal(await uni.text(), 'unicode path');
  assert.equal((await fetch(`${base}/${urlKey(W)}/webAccess/missing.html`)).status, 404);

  // Range
  const r = await raw(base, `/${urlKey(W)}/webAccess/data.bin`, { Range: 'bytes=100-199' });
  assert.equal(r.status, 206);
  assert.equal(r.headers['content-range'], 'bytes 100-199/5000');
  assert.ok(bytesEqual(r.body, bin.subarray(100, 200)));
  const suffix = await raw(base, `/${urlKey(W)}/webAccess/data.bin`, { Range: 'bytes=-10' });
  assert.equal(suffix.status, 206);
  assert.ok(bytesEqual(suffix.body, bin.subarray(4990)));
  const open = await raw(base, `/${urlKey(W)}/webAccess/data.bin`, { Range: 'bytes=4990-' });
  assert.ok(bytesEqual(open.body, bin.subarray(4990)));
  const beyond = await raw(base, `/${urlKey(W)}/webAccess/data.bin`, { Range: 'bytes=6000-' });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], 'bytes */5000');
  // A range on a gzip-stored file is of its plain content.
  const gzRange = await raw(base, `/${urlKey(W)}/webAccess/index.html`, { Range: 'bytes=0-14', 'Accept-Encoding': 'gzip' });
  assert.equal(gzRange.status, 206);
  assert.equal(gzRange.headers['content-encoding'], undefined);
  assert.equal(gzRange.body.toString(), indexHtml.slice(0, 15));

  // Stored gzip goes out as stored to clients that take gzip, decompressed to others.
  const gz = await raw(base, `/${urlKey(W)}/webAccess/index.html`, { 'Accept-Encoding': 'gzip, deflate' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.ok(gz.body.length < indexHtml.length);
  assert.equal(zlib.gunzipSync(gz.body).toString(), indexHtml);
  const plain = await raw(base, `/${urlKey(W)}/webAccess/index.html`);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), indexHtml);
  const refused = await raw(base, `/${urlKey(W)}/webAccess/index.html`, { 'Accept-Encoding': 'gzip;q=0' });
  assert.equal(refused.headers['content-encoding'], undefined);

  // ETag from the record hash, 304 on If-None-Match, new ETag after an edit.
  const etag = plain.headers.etag!;
  assert.equal(etag, `"${hex(W.get('file', 'index.html')!.hash)}"`);
  const again = await raw(base, `/${urlKey(W)}/webAccess/index.html`, { 'If-None-Match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const gzAgain = await raw(base, `/${urlKey(W)}/webAccess/index.html`, { 'If-None-Match': gz.headers.etag!, 'Accept-Encoding': 'gzip' });
  assert.equal(gzAgain.status, 304);
  await addBytes(W, 'index.html', utf8('<p>new</p>'));
  const changed = await raw(base, `/${urlKey(W)}/webAccess/index.html`, { 'If-None-Match': etag });
  assert.equal(changed.status, 200);
  assert.equal(changed.body.toString(), '<p>new</p>');

  const head = await raw(base, `/${urlKey(W)}/webAccess/data.bin`, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '5000');
  assert.equal(head.body.length, 0);
});

test('a stream without index.html gets a generated, escaped, paged page of its posts and files', async () => {
  const P = makeStream('poster', { about: 'I write <b>bold</b> things & more' });
  P.put(
    'drayer',
    'info',
    new Uint8Array(Buffer.from((await import('@msgpack/msgpack')).encode({ name: 'Bob "the" <Builder>', about: 'I write <b>bold</b> things & more' }))),
  );
  for (let i = 0; i < 25; i++) addPost(P, { title: `Post number ${i}`, body: `body ${i}` }, { ts: 1_700_000_000_000_000 + i * 1_000_000 });
  addPost(P, { title: '<script>alert(1)</script>', body: 'a <img src=x onerror=alert(1)> & "quotes"' }, { ts: 1_800_000_000_000_000 });
  await addBytes(P, 'pics/cat <1>.png', randomBytes(100));

  const res = await fetch(`${base}/${urlKey(P)}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /<meta name="viewport"/);
  assert.ok(html.includes('Bob &quot;the&quot; &lt;Builder&gt;'));
  assert.ok(html.includes('I write &lt;b&gt;bold&lt;/b&gt; things &amp; more'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  // the page's one script is its own (local times), allowed by a nonce in its CSP; none from the stream
  const scripts = html.match(/<script[^>]*>/g) ?? [];
  assert.equal(scripts.length, 1);
  const nonce = /^<script nonce="([^"]+)">$/.exec(scripts[0]!)?.[1];
  assert.ok(nonce && res.headers.get('content-security-policy')!.includes(`script-src 'nonce-${nonce}'`));
  assert.ok(!html.includes('<img src=x'));
  assert.ok(html.includes('Post number 24'));
  assert.ok(!html.includes('Post number 0<'));
  // newest first
  assert.ok(html.indexOf('&lt;script&gt;') < html.indexOf('Post number 24'));
  assert.ok(html.indexOf('Post number 24') < html.indexOf('Post number 23'));
  assert.ok(html.includes(`href="/${urlKey(P)}/webAccess/pics/cat%20%3C1%3E.png"`));
  assert.ok(html.includes('cat &lt;1&gt;.png'));
  assert.ok(html.includes('?page=2'));

  const p2 = await (await fetch(`${base}/${urlKey(P)}/?page=2`)).text();
  assert.ok(p2.includes('Post number 0<'));
  assert.ok(!p2.includes('Post number 24'));
  assert.equal((await fetch(`${base}/${urlKey(P)}/?page=zero`)).status, 400);
  // The same page at webAccess/ (no index.html there either).
  assert.ok((await (await fetch(`${base}/${urlKey(P)}/webAccess/`)).text()).includes('Post number 24'));
  const file = await fetch(`${base}/${urlKey(P)}/webAccess/pics/cat%20%3C1%3E.png`);
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-type'), 'image/png');
});

test('/ lists the shared streams as HTML, or JSON when asked', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await res.text();
  assert.ok(html.includes(`href="/${urlKey(A)}/"`));
  assert.ok(html.includes('alice'));
  const json = (await (await fetch(`${base}/`, { headers: { Accept: 'application/json' } })).json()) as {
    streams: { publicKey: string; name: string; url: string }[];
  };
  const a = json.streams.find((x) => x.publicKey === b64(A));
  assert.ok(a);
  assert.equal(a.name, 'alice');
  assert.equal(a.url, `/${urlKey(A)}/`);
});

test('a write by another process shows in the next /changes at once', async () => {
  const W = makeStream('shared-file');
  const before = await getMsgpack(`${base}/${urlKey(W)}/changes?since=0`);
  assert.equal(before.more, false);
  const storeUrl = new URL('../app/store/store.js', import.meta.url).href;
  const script = `
    const { Stream } = await import(${JSON.stringify(storeUrl)});
    const s = Stream.open(${JSON.stringify(W.file)});
    s.put('note', 'from-child', new TextEncoder().encode('written by pid ' + process.pid));
    s.close();
  `;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
  const after = await getMsgpack(`${base}/${urlKey(W)}/changes?since=${before.seq}`);
  assert.equal(after.records.length, 1);
  const r = fromWire(after.records[0], W.publicKey);
  assert.equal(r.key, 'from-child');
  assert.match(text(r.val), /^written by pid \d+$/);
  assert.equal(checkRecord(r, W.publicKey), null);
  assert.ok(after.seq > before.seq);
  const v = await fetch(`${base}/${urlKey(W)}/value/${r.id}`);
  assert.match(await v.text(), /^written by pid/);
});
