#!/usr/bin/env node
// Bundles the Electron preload (main/preload.ts) into ONE CommonJS file, dist/main/preload.cjs:
// a sandboxed preload cannot load other modules (only `electron` itself), so nothing may be left
// to require. Uses the pinned Vite (a library build); `electron` stays external.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  build: {
    outDir: path.join(root, 'dist', 'main'),
    emptyOutDir: false,
    minify: false,
    sourcemap: false,
    target: 'chrome120',
    lib: { entry: path.join(root, 'main', 'preload.ts'), formats: ['cjs'], fileName: () => 'preload.cjs' },
    rollupOptions: { external: ['electron'] },
  },
});
