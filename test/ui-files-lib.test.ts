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
  for (const bad of ['https://x/a.png', '//x/a.png', '/etc/passwd', '../a.png', 'a/../../b', 'a/%2e%2e/b', 'a%2Fb', 'data:image/png;base64,xx', 'javascript:alert(1)', 'a.png?x', '%ZZ']) {
    assert.equal(streamFileRef(bad), null, bad);
  }
  assert.equal(safeName('a/b\\c'), 'a-b-c');
  assert.equal(safeName('..'), 'file');
});

test('a stream page\'s tab lives in the route: files and site round-trip, posts is the default', async () => {
  const { parseHash, hashOf } = await load('stores/ui.ts');
  for (const r of [{ name: 'stream', publicKey: 'ab/c+d=', tab: 'files' }, { name: 'stream', publicKey: 'ab/c+d=', tab: 'site' }, { name: 'stream', publicKey: 'ab/c+d=' }]) {
    assert.deepEqual(parseHash(hashOf(r)), r);
  }
  assert.equal(hashOf({ name: 'stream', publicKey: 'k', tab: 'files' }), '#/stream/k/files');
  assert.deepEqual(parseHash('#/stream/%ZZ'), { name: 'home' });
});

test('picked files keep folder paths and leave dot-files out', async () => {
  const { fromFileList } = await load('lib/drop.ts');
  const f = (name: string, rel = '') => Object.assign(new Blob(['x']), { name, webkitRelativePath: rel, lastModified: 0 });
  const picked = fromFileList([f('a.txt'), f('b.txt', 'album/sub/b.txt'), f('.DS_Store', 'album/.DS_Store'), f('c.txt', 'album/.git/c.txt')]);
  assert.deepEqual(picked.map((x: { path: string }) => x.path), ['a.txt', 'album/sub/b.txt']);
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
