#!/usr/bin/env node
// Bundles the `drayer` command (app/cli/cli.ts and what it imports, lazily loaded parts as
// chunks) into dist/bundle/, which bin/drayer.js runs: a node then starts from a handful of files
// instead of ~200 (app's ~105 modules and zod's ~95), and loading them was most of its start.
// Uses the pinned Vite (its rolldown). The native modules stay external, found in node_modules.
// Each module's `import.meta.url` is rewritten to where tsc put that module (dist/app/...), so the
// paths it makes from it still hold: worker scripts, the renderer's files, package.json.
// Runs after tsc (`npm run build`); source maps point at the .ts files.
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'bundle');
// Loaded from node_modules at run time: compiled addons (and what they load beside them).
const external = ['better-sqlite3', 'sodium-native'];

/** `import.meta.url` in a module of app/ becomes the URL of its tsc output, made relative to the chunk it lands in. */
const metaUrl = {
  name: 'drayer-meta-url',
  enforce: 'pre',
  transform(code, id) {
    if (!id.startsWith(path.join(root, 'app') + path.sep) || !code.includes('import.meta.url')) return null;
    const compiled = path.join(root, 'dist', path.relative(root, id)).replace(/\.ts$/, '.js');
    const rel = path.relative(outDir, compiled).split(path.sep).join('/');
    // Every chunk lands directly in outDir (chunkFileNames below), so one relative path fits.
    const expr = `new URL(${JSON.stringify(rel)}, import.meta.url).href`;
    return { code: code.replaceAll('import.meta.url', expr), map: null };
  },
};

await build({
  configFile: false,
  root,
  logLevel: 'warn',
  plugins: [metaUrl],
  ssr: { noExternal: true, external, target: 'node' },
  build: {
    ssr: true,
    outDir,
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    target: 'node20',
    reportCompressedSize: false,
    rollupOptions: {
      input: { cli: path.join(root, 'app', 'cli', 'cli.ts') },
      external: [...external, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', sourcemapExcludeSources: true },
    },
  },
});
