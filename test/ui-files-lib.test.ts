// Unit tests of the renderer's file helpers (sizes, kinds, attachment paths, image references,
// the stream tab in the route), loaded from source through Vite's module loader like ui-stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

test('file helpers: sizes, kinds and labels; only raster images are shown from blobs', async () => {
  const { formatSize, fileKind, typeLabel, inlineImageType } = await load('lib/files.ts');
  assert.equal(formatSize(999), '999 B');
  assert.equal(formatSize(1500), '1.5 kB');
  assert.equal(formatSize(77_200), '77.2 kB');
  assert.equal(formatSize(3_400_000_000), '3.4 GB');
  assert.equal(fileKind({ path: 'a.png', mime: 'image/png' }), 'image');
  assert.equal(fileKind({ path: 'a.svg', mime: 'image/svg+xml' }), 'other', 'an SVG never becomes a blob: URL of the app');
  assert.equal(fileKind({ path: 'index.html', mime: 'text/html' }), 'html');
  assert.equal(fileKind({ path: 'notes.md', mime: 'text/markdown' }), 'markdown');
  assert.equal(fileKind({ path: 'data.json', mime: 'application/json' }), 'text');
  assert.equal(inlineImageType('IMAGE/JPEG; x=1'), 'image/jpeg');
  assert.equal(inlineImageType('text/html'), null);
  assert.equal(typeLabel({ path: 'a/b.PNG', mime: 'image/png' }), 'PNG image');
  assert.equal(typeLabel({ path: 'index.html', mime: 'text/html' }), 'Web page');
});

test('attachments go under media/ with a safe name; image references resolve only to stream paths', async () => {
  const { attachmentPath, imageMarkdown, streamFileRef, safeName } = await load('lib/files.ts');
  const p = attachmentPath('Garden View (1).PNG', 1_700_000_000_000, 0.5);
  assert.match(p, /^media\/[0-9a-z]+-garden-view-1\.png$/);
  assert.equal(imageMarkdown('Garden View.png', 'media/a b.png'), '![Garden View](media/a%20b.png)');
  assert.equal(imageMarkdown('x]y.png', 'media/x.png'), '![x y](media/x.png)');
  assert.equal(streamFileRef('media/a%20b.png'), 'media/a b.png');
  assert.equal(streamFileRef('./media/a.png'), 'media/a.png');
  for (const bad of [
    'https://x/a.png',
    '//x/a.png',
    '/etc/passwd',
    '../a.png',
    'a/../../b',
    'a/%2e%2e/b',
    'a%2Fb',
    'data:image/png;base64,xx',
    'javascript:alert(1)',
    'a.png?x',
    '%ZZ',
  ]) {
    assert.equal(streamFileRef(bad), null, bad);
  }
  assert.equal(safeName('a/b\\c'), 'a-b-c');
  assert.equal(safeName('..'), 'file');
});

test("a stream page's tab lives in the route: files and site round-trip, posts is the default", async () => {
  const { parseHash, hashOf } = await load('stores/ui.ts');
  for (const r of [
    { name: 'stream', publicKey: 'ab/c+d=', tab: 'files' },
    { name: 'stream', publicKey: 'ab/c+d=', tab: 'site' },
    { name: 'stream', publicKey: 'ab/c+d=' },
  ]) {
    assert.deepEqual(parseHash(hashOf(r)), r);
  }
  assert.equal(hashOf({ name: 'stream', publicKey: 'k', tab: 'files' }), '#/stream/k/files');
  assert.deepEqual(parseHash('#/stream/%ZZ'), { name: 'home' });
});

test('picked files keep folder paths and leave dot-files out', async () => {
  const { fromFileList } = await load('lib/drop.ts');
  const f = (name: string, rel = '') => Object.assign(new Blob(['x']), { name, webkitRelativePath: rel, lastModified: 0 });
  const picked = fromFileList([f('a.txt'), f('b.txt', 'album/sub/b.txt'), f('.DS_Store', 'album/.DS_Store'), f('c.txt', 'album/.git/c.txt')]);
  assert.deepEqual(
    picked.map((x: { path: string }) => x.path),
    ['a.txt', 'album/sub/b.txt'],
  );
});

test('a post shows pictures of its own stream only, at most 16 of them', async () => {
  const { Markdown, MAX_POST_IMAGES } = await load('lib/markdown.tsx');
  const { createElement } = await import('react');
  const { renderToStaticMarkup } = await import('react-dom/server');
  const many = Array.from({ length: 20 }, (_, i) => `![p${i}](media/p${i}.png)`).join('\n\n');
  const html: string = renderToStaticMarkup(createElement(Markdown, { source: `${many}\n\n![far](https://x.example/a.png)`, streamKey: 'K' }));
  assert.equal(MAX_POST_IMAGES, 16);
  assert.equal((html.match(/md-image-loading/g) ?? []).length, 16, html.slice(0, 300));
  assert.ok(html.includes('[p16]') && html.includes('[far]'));
  assert.ok(!html.includes('x.example'));
  // without a stream to read from, a picture is its alt text
  assert.ok(!renderToStaticMarkup(createElement(Markdown, { source: '![a](media/a.png)' })).includes('md-image-loading'));
});

test("folder websites: which folder is the site, its files re-keyed; the browser's digest is the node's", async () => {
  const { folderChoice, asSite, fileDigest } = await load('lib/drop.ts');
  const { isAppMedia } = await import('../app/core/site.js');
  const f = (path: string, data = path) => ({ path, file: new Blob([data]) });
  const site = [f('mysite/index.html'), f('mysite/css/a.css'), f('mysite/css/vendor/r.css')];
  assert.deepEqual(folderChoice(site), { kind: 'site', folder: 'mysite', root: '' });
  assert.deepEqual(
    asSite(site, 'mysite', '').map((x: { path: string }) => x.path),
    ['index.html', 'css/a.css', 'css/vendor/r.css'],
    'nested folders keep their relative paths',
  );
  const project = [f('project/README.md'), f('project/public/index.html'), f('project/public/blog/index.html'), f('project/src/x.js')];
  assert.deepEqual(folderChoice(project), { kind: 'ask', folder: 'project', roots: ['public'] });
  assert.deepEqual(
    asSite(project, 'project', 'public').map((x: { path: string }) => x.path),
    ['index.html', 'blog/index.html'],
  );
  assert.deepEqual(folderChoice([f('album/a.png'), f('album/b/c.txt')]), { kind: 'plain' }, 'no index.html: a folder of files');
  assert.deepEqual(folderChoice([f('index.html'), f('style.css')]), { kind: 'plain' }, 'loose files are added as they are');
  assert.deepEqual(folderChoice([f('a/index.html'), f('b/index.html')]), { kind: 'plain' }, 'two folders dropped at once');
  assert.ok(isAppMedia('media/avatar-mabc.png') && !isAppMedia('media/logo.png'));

  // WebCrypto in pieces (the browser) and node:crypto over the stream (the node) agree, across pieces
  const { DrayerNode } = await import('../app/node/node.js');
  const { tmpDir } = await import('./helpers.js');
  const n = await DrayerNode.start({ dataDir: tmpDir(), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  try {
    const { publicKey } = await n.call('createStream', { name: 'Digest' });
    const big = Buffer.alloc(2 * 1024 * 1024 + 17, 7);
    big.write('different start');
    const { uploadId, chunkBytes } = await n.call('uploadBegin', { publicKey, path: 'big.bin', size: big.length });
    for (let off = 0; off < big.length; off += chunkBytes)
      await n.call('uploadChunk', { uploadId, offset: off, data: big.subarray(off, off + chunkBytes).toString('base64') });
    await n.call('uploadFinish', { uploadId });
    await n.call('putFile', { publicKey, path: 'empty.txt', data: '' });
    const files = [
      { path: 'big.bin', size: big.length, hash: await fileDigest(new Blob([big])) },
      { path: 'empty.txt', size: 0, hash: await fileDigest(new Blob([])) },
    ];
    assert.deepEqual(await n.call('folderDiff', { publicKey, under: '', files }), { add: [], change: [], remove: [], unchanged: 2 });
  } finally {
    await n.stop();
  }
});

test('a phone is offered LAN addresses only; a folder update reads like a sentence', async () => {
  const { phoneUrls, folderReport, userFiles } = await load('lib/files.ts');
  assert.deepEqual(
    phoneUrls(['http://127.0.0.1:5/k/', 'http://192.168.1.20:5/k/', 'http://[::1]:5/k/', 'http://localhost:5/k/', 'http://10.0.0.2:5/k/', 'nonsense']),
    ['http://192.168.1.20:5/k/', 'http://10.0.0.2:5/k/'],
  );
  assert.deepEqual(phoneUrls(['http://127.0.0.1:5/k/']), [], 'loopback only: no address a phone can reach');
  assert.equal(folderReport({ added: 0, changed: 3, removed: 1, unchanged: 40 }), '3 changed, 1 removed, 40 unchanged');
  assert.equal(folderReport({ added: 2, changed: 0, removed: 0, unchanged: 0 }), '2 added');
  assert.equal(folderReport({ added: 0, changed: 0, removed: 0, unchanged: 0 }), '0 unchanged');
  const files = [{ path: 'index.html' }, { path: 'media/avatar-mabc12.webp' }, { path: 'media/mjx3k2a9z1-cake.png' }, { path: 'media/logo.png' }];
  assert.deepEqual(
    userFiles(files).map((x: { path: string }) => x.path),
    ['index.html', 'media/logo.png'],
  );
  assert.equal(userFiles(files, true).length, 4);
});
