// Bench runner: `npm run bench -- NAME` runs one bench and prints its result as one JSON line,
// last. With no name it lists the benches.
import { pathToFileURL } from 'node:url';

const BENCHES: Record<string, () => Promise<{ run(): Promise<Record<string, unknown>> }>> = {
  append: () => import('./append.js'),
  verify: () => import('./verify.js'),
  apply: () => import('./apply.js'),
  file: () => import('./file.js'),
  clone: () => import('./clone.js'),
  clones: () => import('./clones.js'),
  incremental: () => import('./incremental.js'),
  bigfile: () => import('./bigfile.js'),
  ui: () => import('./ui.js'),
  library: () => import('./library.js'),
  lan: () => import('./lan.js'),
  dht: () => import('./dht.js'),
  peertable: () => import('./peertable.js'),
};

export async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (!name || !(name in BENCHES)) {
    if (name) console.error(`unknown bench: ${name}`);
    console.log(`usage: npm run bench -- NAME\nbenches: ${Object.keys(BENCHES).join(', ')}`);
    return name ? 2 : 0;
  }
  const mod = await BENCHES[name]!();
  const result = await mod.run();
  console.log(JSON.stringify(result));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
