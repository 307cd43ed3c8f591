#!/usr/bin/env node
// Bundles one entry into ONE self-contained file with the pinned Vite (a library build):
//   preload: the Electron preload (main/preload.ts) → dist/main/preload.cjs. A sandboxed preload cannot
//            load other modules (only `electron` itself), so nothing may be left to require.
//   phone:   the private stream page's script (renderer/phone/private.ts: tweetnacl, BLAKE2b, msgpack and
//            marked's lexer) → dist/phone/private.js, a classic script the LAN server sends to phones
//            (app/net/server/private-page.ts) under its page's nonce.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundles = {
  preload: {
    outDir: 'dist/main',
    emptyOutDir: false,
    minify: false,
    target: 'chrome120',
    lib: { entry: 'main/preload.ts', formats: ['cjs'], fileName: () => 'preload.cjs' },
    rollupOptions: { external: ['electron'] },
  },
  phone: {
    outDir: 'dist/phone',
    emptyOutDir: true,
    minify: true,
    target: 'es2020',
    lib: { entry: 'renderer/phone/private.ts', formats: ['iife'], name: 'drayerPrivatePage', fileName: () => 'private.js' },
  },
};
const which = process.argv[2];
const b = bundles[which];
if (!b) {
  console.error(`build-bundle: say which bundle to build: ${Object.keys(bundles).join(' or ')}`);
  process.exit(2);
}
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  build: { ...b, outDir: path.join(root, b.outDir), sourcemap: false, lib: { ...b.lib, entry: path.join(root, b.lib.entry) } },
});
