#!/usr/bin/env node
// Bundles the private stream page's script (renderer/phone/private.ts: tweetnacl, BLAKE2b, msgpack
// and marked's lexer) into ONE classic script, dist/phone/private.js, which the LAN server sends to
// phones (app/net/server/private-page.ts) under its page's nonce. Uses the pinned Vite (a library build).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  build: {
    outDir: path.join(root, 'dist', 'phone'),
    emptyOutDir: true,
    minify: true,
    sourcemap: false,
    target: 'es2020',
    lib: { entry: path.join(root, 'renderer', 'phone', 'private.ts'), formats: ['iife'], name: 'drayerPrivatePage', fileName: () => 'private.js' },
  },
});
