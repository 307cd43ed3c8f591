// Renderer modules for unit tests under Node, loaded from the TypeScript source through Vite's
// module loader (the same transform the bundle gets). Call once at a test file's top level.
import { after, before } from 'node:test';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

const RENDERER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../renderer');

/** A loader of renderer modules, typed loosely: the renderer has its own (DOM, bundler) tsconfig. */
export function rendererModules(): (p: string) => Promise<any> {
  let vite: ViteDevServer | undefined;
  before(async () => {
    vite = await createServer({
      configFile: path.join(RENDERER, 'vite.config.ts'),
      server: { middlewareMode: true, hmr: false, watch: null },
      appType: 'custom',
      logLevel: 'error',
    });
  });
  after(async () => {
    await vite?.close();
  });
  return (p) => vite!.ssrLoadModule(path.join(RENDERER, p));
}
