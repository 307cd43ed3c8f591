#!/usr/bin/env node
// Renders the app icon (resources/icon.svg) into every file the installers need: PNGs from 16 to
// 1024 px (Linux, and the window icon), icon.ico (Windows), icon.icns (macOS), and the tray icons.
// The outputs are committed; run this again after changing the SVG: `node scripts/render-icons.mjs`.
// Small sizes drop the margin and shadow and the quill's vein, so they stay crisp at 16 px.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import png2icons from 'png2icons';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const res = path.join(root, 'resources');
const svg = fs.readFileSync(path.join(res, 'icon.svg'), 'utf8');

/** The icon for `size` px: full art from 64 px up; below, edge to edge without shadow (and without the vein under 32). */
function artFor(size) {
  if (size >= 64) return svg;
  let s = svg.replace('viewBox="0 0 1024 1024"', 'viewBox="64 64 896 896"').replace(' filter="url(#shadow)"', '');
  if (size < 32) s = s.replace(/\s*<path d="M376 648[^>]*\/>/, '');
  return s;
}

function render(art, size) {
  return new Resvg(art, { fitTo: { mode: 'width', value: size }, font: { loadSystemFonts: false } }).render().asPng();
}

/** A Windows .ico holding PNG images (Vista and later read them), each size rendered on its own. */
function ico(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, png }, i) => {
    const e = 6 + 16 * i;
    header.writeUInt8(size >= 256 ? 0 : size, e);
    header.writeUInt8(size >= 256 ? 0 : size, e + 1);
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(png.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...images.map((x) => x.png)]);
}

const sizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const pngs = new Map(sizes.map((s) => [s, render(artFor(s), s)]));
fs.mkdirSync(path.join(res, 'icons'), { recursive: true });
for (const [s, png] of pngs) fs.writeFileSync(path.join(res, 'icons', `${s}x${s}.png`), png);
fs.writeFileSync(path.join(res, 'icon.png'), pngs.get(1024));
fs.writeFileSync(path.join(res, 'icon.ico'), ico([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, png: pngs.get(size) }))));
const icns = png2icons.createICNS(pngs.get(1024), png2icons.BICUBIC2, 0);
if (!icns) throw new Error('png2icons could not make icon.icns');
fs.writeFileSync(path.join(res, 'icon.icns'), icns);

// Tray: the coloured small icon (Windows, Linux), and a macOS template image (black quill on
// transparent; the menu bar tints it for light and dark).
const tray = path.join(res, 'tray');
fs.mkdirSync(tray, { recursive: true });
fs.writeFileSync(path.join(tray, 'tray.png'), render(artFor(16), 16));
fs.writeFileSync(path.join(tray, 'tray@2x.png'), render(artFor(32), 32));
const template = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="180 200 660 660">
  <path d="M292 732 C 300 520 500 300 776 248 C 724 520 520 716 292 732 Z" fill="#000"/>
  <path d="M330 688 L 240 828" fill="none" stroke="#000" stroke-width="64" stroke-linecap="round"/>
</svg>`;
fs.writeFileSync(path.join(tray, 'trayTemplate.png'), render(template, 16));
fs.writeFileSync(path.join(tray, 'trayTemplate@2x.png'), render(template, 32));
console.log(`Wrote ${sizes.length} PNGs, icon.ico, icon.icns and the tray icons under resources/.`);
