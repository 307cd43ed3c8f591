// The private phone page's pictures (renderer/phone/sealed-files.ts) from hostile file values: the
// bytes come from a stream's writer, opened in the browser. Only a raster picture of a small
// file, within its bounds, becomes a Blob; a gzip bomb, an SVG, a chunked or malformed value is no
// picture (the page keeps the alt text). Loaded from source through Vite's module loader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { encodeFileValue, smallFileValue } from '../app/store/file-value.js';
import { makePng } from './pictures.js';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

test('a sealed small file becomes a picture only when it is a raster picture within bounds', async () => {
  const { pictureOf } = await load('phone/sealed-files.ts');
  const png = makePng(40, 30, [0, 0, 0], [255, 255, 255]);
  const bytes = async (b: Blob | null) => (b ? Buffer.from(await b.arrayBuffer()) : null);

  const plain = await pictureOf('a.png', smallFileValue('a.png', png, 'image/png', 1));
  assert.equal(plain?.type, 'image/png');
  assert.deepEqual(await bytes(plain), png);
  const gz = await pictureOf('a.png', encodeFileValue({ enc: 'gzip', time: 1, mime: 'image/png', size: png.length }, zlib.gzipSync(png)));
  assert.deepEqual(await bytes(gz), png, 'gzipped: opened');
  const noMime = await pictureOf('photo.JPG', encodeFileValue({ time: 1 }, png));
  assert.equal(noMime?.type, 'image/jpeg', 'no mime: by its extension');

  // hostile values: none is a picture, none throws
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const t0 = Date.now();
  assert.equal(await pictureOf('a.png', encodeFileValue({ enc: 'gzip', time: 1, mime: 'image/png' }, bomb)), null, 'a gzip bomb stops at 1 MiB');
  assert.ok(Date.now() - t0 < 5000, 'and soon');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  assert.equal(await pictureOf('a.svg', smallFileValue('a.svg', svg, 'image/svg+xml', 1)), null, 'an SVG is a document, not a picture');
  assert.equal(await pictureOf('a.png', encodeFileValue({ time: 1, mime: 'text/html' }, png)), null, 'another type');
  assert.equal(await pictureOf('a.png', encodeFileValue({ enc: 'chunks', time: 1, mime: 'image/png' }, png)), null, 'chunked');
  assert.equal(await pictureOf('a.png', encodeFileValue({ enc: 'gzip', time: 1, mime: 'image/png' }, Buffer.from('not gzip at all'))), null, 'broken gzip');
  assert.equal(await pictureOf('a.png', encodeFileValue({ time: 1, mime: 'image/png' }, Buffer.alloc(1024 * 1024 + 1))), null, 'over 1 MiB');
  const long = Buffer.alloc(12);
  long.writeUInt32LE(1_000_000, 0);
  assert.equal(await pictureOf('a.png', long), null, 'a header length past the end');
  assert.equal(await pictureOf('a.png', new Uint8Array([1, 0])), null, 'too short');
  const notMap = Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from([0x90]), png]);
  assert.equal(await pictureOf('a.png', notMap), null, 'a header that is not a map');
  const deep = Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from([0x81, 0xa1, 0x61, 0x91, 0x01]), png]);
  assert.equal(await pictureOf('a.png', deep), null, 'a header with a list (no file header has one)');
});

test('a big sealed picture: its manifest and chunk list are bounded, and every chunk must open at its length', async () => {
  const { sealedBig, bigManifest, bigPictureOf, MAX_BIG } = await load('phone/sealed-files.ts');
  const hash = new Uint8Array(32);
  const outer = encodeFileValue({ enc: 'chunks', sealed: 1, size: 10, chunkSize: 6, chunks: [hash, hash], time: 0 }, Buffer.from('SEALED'));
  assert.deepEqual(Buffer.from(sealedBig(outer).sealed), Buffer.from('SEALED'));
  assert.equal(
    sealedBig(encodeFileValue({ enc: 'chunks', size: 10, chunkSize: 6, chunks: [hash, hash], time: 0 })),
    null,
    'a public big file is not a sealed one',
  );
  const many = encodeFileValue({ enc: 'chunks', sealed: 1, chunks: Array.from({ length: 5000 }, () => hash), time: 0 }, Buffer.from('x'));
  assert.equal(sealedBig(many), null, 'a chunk list beyond MAX_BIG is refused while decoding');
  const prefix = new Uint8Array(16);
  const m = (o: Record<string, unknown>) =>
    bigManifest(encodeFileValue({ enc: 'sealed-chunks', time: 0, mime: 'image/png', size: 10, chunkSize: 6, prefix, ...o }));
  assert.equal(m({})?.size, 10);
  assert.equal(m({ mime: 'image/svg+xml' }), null, 'no SVG');
  assert.equal(m({ size: MAX_BIG + 1 }), null, 'too big for this page');
  assert.equal(m({ chunkSize: 0 }), null);
  assert.equal(m({ prefix: new Uint8Array(15) }), null);
  const man = m({})!;
  const ok = await bigPictureOf(man, [hash, hash], async (i: number) => new Uint8Array(i === 0 ? 6 : 4).fill(i + 1));
  assert.deepEqual([...new Uint8Array(await ok.arrayBuffer())], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
  assert.equal(await bigPictureOf(man, [hash], async () => new Uint8Array(6)), null, 'a chunk list not matching the size');
  assert.equal(await bigPictureOf(man, [hash, hash], async () => new Uint8Array(6)), null, 'a last chunk of the wrong length');
  assert.equal(await bigPictureOf(man, [hash, hash], async () => null), null, 'a chunk that does not open');
});
