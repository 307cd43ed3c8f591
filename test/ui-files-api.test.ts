// DrayerApi methods for files sent as bytes (a browser has no paths), reading them back, the
// avatar, and the phone page's markdown: called in-process like the rest of ui-api.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { PUT_FILE_MAX, READ_FILE_MAX } from '../app/node/api.js';
import { markdownToHtml, streamFileRef } from '../app/net/server/markdown-html.js';
import { randomBytes } from '../app/core/crypto.js';
import { tmpDir } from './helpers.js';

async function startNode(name: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: path.join(tmpDir(), name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
// The smallest valid PNG: 1x1, one grey pixel.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');

async function readAll(n: DrayerNode, publicKey: string, p: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const r = await n.call('readFile', { publicKey, path: p, offset });
    const b = Buffer.from(r.data, 'base64');
    parts.push(b);
    offset += b.length;
    if (offset >= r.size || b.length === 0) break;
  }
  return Buffer.concat(parts);
}

test('putFile stores bytes under a path, readFile gives them back; the name decides the type', async () => {
  const n = await startNode('put');
  try {
    const s = await n.call('createStream', { name: 'Files' });
    const events: string[] = [];
    const off = n.subscribe((e) => events.push(e.event));
    const r = await n.call('putFile', {
      publicKey: s.publicKey,
      path: 'notes/hello.txt',
      data: b64('Hello, phone'),
      mime: 'application/x-evil',
      time: 1_700_000_000_000_000,
    });
    assert.deepEqual(r, { path: 'notes/hello.txt', changed: true });
    assert.deepEqual(await n.call('putFile', { publicKey: s.publicKey, path: 'notes/hello.txt', data: b64('Hello, phone') }), {
      path: 'notes/hello.txt',
      changed: false,
    });
    off();
    assert.ok(events.includes('recordsChanged'), 'a stored file is announced to the UI');
    const d = await n.call('streamDetails', { publicKey: s.publicKey });
    const f = d.files.find((x) => x.path === 'notes/hello.txt');
    assert.equal(f?.mime, 'text/plain');
    assert.equal(f?.size, 12);
    assert.equal(f?.time, 1_700_000_000_000_000);
    // an unknown extension keeps a browser's type when it looks like one
    await n.call('putFile', { publicKey: s.publicKey, path: 'data.xyz', data: b64('x'), mime: 'application/vnd.test+json' });
    assert.equal((await n.call('streamDetails', { publicKey: s.publicKey })).files.find((x) => x.path === 'data.xyz')?.mime, 'application/vnd.test+json');
    await n.call('putFile', { publicKey: s.publicKey, path: 'other.xyz', data: b64('x'), mime: 'text/html"><script>' });
    assert.equal((await n.call('streamDetails', { publicKey: s.publicKey })).files.find((x) => x.path === 'other.xyz')?.mime, 'application/octet-stream');

    const back = await n.call('readFile', { publicKey: s.publicKey, path: 'notes/hello.txt' });
    assert.equal(Buffer.from(back.data, 'base64').toString(), 'Hello, phone');
    assert.equal(back.mime, 'text/plain');
    const part = await n.call('readFile', { publicKey: s.publicKey, path: 'notes/hello.txt', offset: 7, length: 3 });
    assert.equal(Buffer.from(part.data, 'base64').toString(), 'pho');

    // bounds and bad input are errors with sentences
    const tooBig = await n.callEnvelope('putFile', { publicKey: s.publicKey, path: 'big.bin', data: b64(new Uint8Array(PUT_FILE_MAX + 3)) });
    assert.equal(tooBig.ok, false);
    assert.match(!tooBig.ok ? tooBig.error.message : '', /chunks/);
    for (const bad of [{ data: 'not base64!' }, { data: 'QUJD=' }, { data: 42 }, { path: '../up.txt', data: 'QUJD' }, { path: '/abs.txt', data: 'QUJD' }]) {
      const env = await n.callEnvelope('putFile', { publicKey: s.publicKey, path: 'ok.txt', ...bad });
      assert.equal(env.ok, false, JSON.stringify(bad));
      assert.equal(!env.ok && env.error.code, 'INVALID_ARGUMENT');
    }
    const missing = await n.callEnvelope('readFile', { publicKey: s.publicKey, path: 'nope.txt' });
    assert.equal(!missing.ok && missing.error.code, 'NOT_FOUND');
    assert.equal((await n.callEnvelope('readFile', { publicKey: s.publicKey, path: 'notes/hello.txt', offset: 99 })).ok, false);

    assert.equal(await n.call('deleteFile', { publicKey: s.publicKey, path: 'notes/hello.txt' }), true);
    assert.equal((await n.callEnvelope('readFile', { publicKey: s.publicKey, path: 'notes/hello.txt' })).ok, false);
  } finally {
    await n.stop();
  }
});

test('a big file goes up in ordered, bounded chunks and reads back in bounded parts', async () => {
  const n = await startNode('upload');
  try {
    const s = await n.call('createStream', { name: 'Big' });
    const content = Buffer.from(randomBytes(3 * 1024 * 1024 + 12345));
    const { uploadId, chunkBytes } = await n.call('uploadBegin', {
      publicKey: s.publicKey,
      path: 'video/clip.mp4',
      size: content.length,
      time: 1_650_000_000_000_000,
    });
    assert.equal(chunkBytes, PUT_FILE_MAX);
    // out of order, too big, past the announced size: refused, the session goes on
    assert.equal((await n.callEnvelope('uploadChunk', { uploadId, offset: chunkBytes, data: b64(content.subarray(0, 10)) })).ok, false);
    assert.equal((await n.callEnvelope('uploadChunk', { uploadId, offset: 0, data: b64(content.subarray(0, chunkBytes + 1)) })).ok, false);
    assert.equal((await n.callEnvelope('uploadFinish', { uploadId })).ok, false, 'finishing before every byte arrived is refused');
    for (let off = 0; off < content.length; off += chunkBytes) {
      const r = await n.call('uploadChunk', { uploadId, offset: off, data: b64(content.subarray(off, off + chunkBytes)) });
      assert.equal(r.received, Math.min(content.length, off + chunkBytes));
    }
    assert.deepEqual(await n.call('uploadFinish', { uploadId }), { path: 'video/clip.mp4', changed: true });
    assert.equal(fs.readdirSync(path.join(n.dataDir, '.uploads')).length, 0, 'the temporary file is gone');
    assert.equal((await n.callEnvelope('uploadChunk', { uploadId, offset: 0, data: '' })).ok, false, 'a finished upload takes nothing more');
    const f = (await n.call('streamDetails', { publicKey: s.publicKey })).files.find((x) => x.path === 'video/clip.mp4')!;
    assert.equal(f.size, content.length);
    assert.equal(f.mime, 'video/mp4');
    assert.equal(f.time, 1_650_000_000_000_000);
    const first = await n.call('readFile', { publicKey: s.publicKey, path: 'video/clip.mp4' });
    assert.equal(Buffer.from(first.data, 'base64').length, READ_FILE_MAX, 'one read is bounded');
    assert.ok((await readAll(n, s.publicKey, 'video/clip.mp4')).equals(content));

    // a cancelled upload leaves nothing behind
    const c = await n.call('uploadBegin', { publicKey: s.publicKey, path: 'gone.bin', size: 10 });
    await n.call('uploadChunk', { uploadId: c.uploadId, offset: 0, data: b64('12345') });
    assert.equal(await n.call('uploadCancel', { uploadId: c.uploadId }), true);
    assert.equal(fs.readdirSync(path.join(n.dataDir, '.uploads')).length, 0);
    assert.equal(
      (await n.call('streamDetails', { publicKey: s.publicKey })).files.some((x) => x.path === 'gone.bin'),
      false,
    );
    // an empty file is a file too
    const e = await n.call('uploadBegin', { publicKey: s.publicKey, path: 'empty.txt', size: 0 });
    assert.deepEqual(await n.call('uploadFinish', { uploadId: e.uploadId }), { path: 'empty.txt', changed: true });
    assert.equal((await n.callEnvelope('uploadBegin', { publicKey: s.publicKey, path: 'x', size: -1 })).ok, false);
  } finally {
    await n.stop();
  }
});

test('files can be added only to your own streams', async () => {
  const a = await startNode('writer');
  const b = await startNode('follower');
  try {
    const s = await a.call('createStream', { name: 'Ada' });
    await a.call('putFile', { publicKey: s.publicKey, path: 'a.txt', data: b64('from A') });
    await b.call('follow', { key: s.publicKey, url: `http://127.0.0.1:${a.lanAddress()!.port}` });
    // the follower reads the file through the API (what the UI shows), but cannot write
    assert.equal(Buffer.from((await b.call('readFile', { publicKey: s.publicKey, path: 'a.txt' })).data, 'base64').toString(), 'from A');
    for (const [m, arg] of [
      ['putFile', { publicKey: s.publicKey, path: 'b.txt', data: b64('x') }],
      ['uploadBegin', { publicKey: s.publicKey, path: 'b.txt', size: 1 }],
      ['setAvatar', { publicKey: s.publicKey, data: b64(PNG) }],
    ] as const) {
      const env = await b.callEnvelope(m, arg);
      assert.equal(!env.ok && env.error.code, 'NOT_WRITABLE', m);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('setAvatar stores the image as a file named in drayer/info; replacing it drops the old one', async () => {
  const n = await startNode('avatar');
  try {
    const s = await n.call('createStream', { name: 'Pic', about: 'kept' });
    const withAvatar = await n.call('setAvatar', { publicKey: s.publicKey, data: b64(PNG) });
    assert.match(withAvatar.avatar ?? '', /^media\/avatar-[0-9a-z]+\.png$/);
    assert.equal(withAvatar.about, 'kept', 'the rest of the profile stays');
    assert.equal(withAvatar.name, 'Pic');
    const first = withAvatar.avatar!;
    const read = await n.call('readFile', { publicKey: s.publicKey, path: first });
    assert.equal(read.mime, 'image/png');
    assert.ok(Buffer.from(read.data, 'base64').equals(PNG));
    await new Promise((r) => setTimeout(r, 5));
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20)]);
    const second = (await n.call('setAvatar', { publicKey: s.publicKey, data: b64(jpeg) })).avatar!;
    assert.match(second, /\.jpg$/);
    const files = (await n.call('streamDetails', { publicKey: s.publicKey })).files.map((f) => f.path);
    assert.ok(files.includes(second));
    assert.ok(!files.includes(first), 'the replaced avatar is deleted');
    const html = await n.callEnvelope('setAvatar', { publicKey: s.publicKey, data: b64('<svg onload=alert(1)>') });
    assert.equal(!html.ok && html.error.code, 'INVALID_ARGUMENT');
    const none = await n.call('setAvatar', { publicKey: s.publicKey, data: null });
    assert.equal(none.avatar, undefined);
    assert.equal(none.about, 'kept');
    assert.ok(!(await n.call('streamDetails', { publicKey: s.publicKey })).files.some((f) => f.path === second));
  } finally {
    await n.stop();
  }
});

test('the phone page renders markdown safely, with the avatar, post images and local times', async () => {
  const n = await startNode('phone');
  try {
    const s = await n.call('createStream', { name: 'Cafe <Lumen>', about: 'Coffee & cake' });
    await n.call('setAvatar', { publicKey: s.publicKey, data: b64(PNG) });
    await n.call('putFile', { publicKey: s.publicKey, path: 'media/cake 1.png', data: b64(PNG) });
    await n.call('post', {
      publicKey: s.publicKey,
      title: 'Today',
      body: 'We have **lemon cake** and *espresso*.\n\n![the cake](media/cake%201.png)\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [menu](https://example.org/menu)\n\n![remote](https://tracker.example/p.png)',
    });
    const d = await n.call('streamDetails', { publicKey: s.publicKey });
    assert.ok(d.localUrl, 'the stream has a page on this computer');
    assert.deepEqual(d.webUrls, [d.localUrl], 'on 127.0.0.1 the web URL is the local one');
    const res = await fetch(d.localUrl!);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy')!;
    const html = await res.text();
    assert.ok(html.includes('<strong>lemon cake</strong>'));
    assert.ok(html.includes('<em>espresso</em>'));
    const key = new URL(d.localUrl!).pathname;
    assert.ok(html.includes(`<img src="${key}webAccess/media/cake%201.png" alt="the cake"`), 'post images come from the stream');
    assert.ok(html.includes(`<img class="avatar big" src="${key}webAccess/${d.avatar}"`), 'the avatar shows');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!html.includes('javascript:'));
    assert.ok(html.includes('<a href="https://example.org/menu" rel="noopener noreferrer nofollow">menu</a>'));
    assert.ok(!html.includes('tracker.example/p.png"'), 'no image from elsewhere');
    assert.ok(html.includes('Cafe &lt;Lumen&gt;'));
    assert.match(html, /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">/);
    const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1];
    assert.ok(nonce && csp.includes(`script-src 'nonce-${nonce}'`), csp);
    assert.match(csp, /default-src 'none'/);
    assert.notEqual(/<script nonce="([^"]+)">/.exec(await (await fetch(d.localUrl!)).text())?.[1], nonce, 'a fresh nonce per page');

    // a site: the stream's page is its index.html
    await n.call('putFile', { publicKey: s.publicKey, path: 'index.html', data: b64('<h1>Cafe site</h1>') });
    const site = await fetch(d.localUrl!);
    assert.equal(site.url, `${d.localUrl}webAccess/`);
    assert.equal(await site.text(), '<h1>Cafe site</h1>');
  } finally {
    await n.stop();
  }
});

test('markdownToHtml builds only known tags and escapes every text and attribute', () => {
  const o = { filesBase: '/K/webAccess/' };
  const cases: [string, (h: string) => void][] = [
    ['**b** _i_ ~~d~~ `c<d>`', (h) => assert.equal(h, '<p><strong>b</strong> <em>i</em> <del>d</del> <code>c&lt;d&gt;</code></p>')],
    ['<img src=x onerror=alert(1)>', (h) => assert.ok(!h.includes('<img') && h.includes('&lt;img'))],
    ['[a](javascript:alert(1)) [b](data:text/html,x) [c](vbscript:x)', (h) => assert.ok(!/href/.test(h), h)],
    ['![x" onerror="alert(1)](a.png)', (h) => assert.ok(h.includes('alt="x&quot; onerror=&quot;alert(1)"'), h)],
    ['![x](../../etc/passwd) ![y](/abs.png) ![z](//host/p.png) ![w](a.png?x=1)', (h) => assert.ok(!h.includes('<img'), h)],
    ['![ok](./pics/a%20b.png)', (h) => assert.ok(h.includes('<img src="/K/webAccess/pics/a%20b.png" alt="ok"'), h)],
    [
      '# Head\n\n> quote\n\n- one\n- two\n\n1. x',
      (h) => assert.equal(h, '<h3>Head</h3><blockquote><p>quote</p></blockquote><ul><li>one</li><li>two</li></ul><ol><li>x</li></ol>'),
    ],
    ['```\n<script>\n```', (h) => assert.equal(h, '<pre><code>&lt;script&gt;</code></pre>')],
    ['Tom &amp; Jerry <b>x</b>', (h) => assert.equal(h, '<p>Tom &amp; Jerry &lt;b&gt;x&lt;/b&gt;</p>')],
    ['| a | b |\n|---|--:|\n| <i>1</i> | 2 |', (h) => assert.ok(h.includes('<td>&lt;i&gt;1&lt;/i&gt;</td>') && h.includes('class="al-right"'), h)],
  ];
  for (const [src, check] of cases) check(markdownToHtml(src, o));
  assert.equal(streamFileRef('media/a.png'), 'media/a.png');
  assert.equal(streamFileRef('https://x/a.png'), null);
  assert.equal(streamFileRef('a/%2e%2e/b'), null);
});

test('a long post keeps its pictures in the timeline excerpt', async () => {
  const n = await startNode('excerpt');
  try {
    const s = await n.call('createStream', { name: 'Long' });
    const body = `${'word '.repeat(200)}\n\n![one](media/a.png)\n\n![two](media/b%20c.png)\n\n![far](https://x.example/p.png)`;
    await n.call('post', { publicKey: s.publicKey, title: 'Essay', body });
    const [item] = await n.call('timeline', {});
    assert.ok(item!.body.length < body.length);
    assert.ok(item!.body.endsWith('…\n\n![one](media/a.png)\n\n![two](media/b%20c.png)'), item!.body.slice(-80));
  } finally {
    await n.stop();
  }
});
