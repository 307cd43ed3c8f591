// Module loader hooks (node:module register): `electron` resolves to the stand-in beside this
// file, for main/ run under plain Node (test/desktop-main.scenarios.ts). Nothing else changes.
const STANDIN = new URL('./index.js', import.meta.url).href;

type Resolve = (specifier: string, context: unknown) => Promise<{ url: string; shortCircuit?: boolean }>;

export async function resolve(specifier: string, context: unknown, next: Resolve): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'electron') return { url: STANDIN, shortCircuit: true };
  return next(specifier, context);
}
