// The dependency rules (.dependency-cruiser.cjs) bite: a tiny tree with one of each forbidden import
// (a circle made of type-only imports, an upward import between layers, electron under app/, a
// renderer or shell import past its limits, a Node built-in in a core module the browser shares)
// is cruised with the real config, and exactly those are reported: none missed, and none of the
// allowed imports beside them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const FILES: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  // upward: core imports store
  'app/core/bytes.ts': `import { open } from '../store/stream.js';\nexport const bytes = open;\n`,
  // a circle of type-only imports (erased at build time, still a design circle)
  'app/store/stream.ts': `import type { Ring } from './ring.js';\nexport function open(r?: Ring): void {}\n`,
  'app/store/ring.ts': `import type { open } from './stream.js';\nexport type Ring = typeof open;\n`,
  // allowed: store imports core; upward: the engine imports the renderer
  'app/store/export.ts': `import { bytes } from '../core/bytes.js';\nimport { view } from '../../renderer/view';\nexport const e = [bytes, view];\n`,
  // upward: net imports node, and net imports its own server (net/server sits above net)
  'app/net/peer.ts': `import { run } from '../node/run.js';\nimport { route } from './server/route.js';\nexport const peer = [run, route];\n`,
  // allowed: the server imports net, store and core
  'app/net/server/route.ts': `import { open } from '../../store/stream.js';\nimport { bytes } from '../../core/bytes.js';\nexport const route = [open, bytes];\n`,
  'app/net/lan.ts': `import { bytes } from '../core/bytes.js';\nexport const lan = bytes;\n`,
  // electron under app/, and node imports cli (node importing net is allowed)
  'app/node/run.ts': `import { app } from 'electron';\nimport { cmd } from '../cli/cmd.js';\nimport { lan } from '../net/lan.js';\nexport const run = [app, cmd, lan];\n`,
  'app/node/api.ts': `export interface Api { ping(): Promise<void> }\n`,
  // allowed: cli imports everything below it
  'app/cli/cmd.ts': `import type { Api } from '../node/api.js';\nimport { route } from '../net/server/route.js';\nexport const cmd = (a: Api) => [a, route];\n`,
  // the shell: node, store and core are allowed, net is not; electron is fine here
  'main/shell.ts': `import { app } from 'electron';\nimport { run } from '../app/node/run.js';\nimport { open } from '../app/store/stream.js';\nimport { peer } from '../app/net/peer.js';\nexport const shell = [app, run, open, peer];\n`,
  // the renderer: API types and the pure shared core modules only
  'renderer/view.ts': `import type { Api } from '../app/node/api';\nimport { text } from '../app/core/text';\nimport { sealed } from '../app/core/sealed-open';\nimport { open } from '../app/store/stream';\nexport const view = [text, sealed, open] as unknown as Api;\n`,
  'app/core/text.ts': `export const text = 1;\n`,
  // a core module the browser shares (the phone page opens sealed values with it) must not use Node; renderer/view.ts imports it (allowed)
  'app/core/sealed-open.ts': `import { randomBytes } from 'node:crypto';\nexport const sealed = randomBytes;\n`,
  // tests may import anything
  'test/any.test.ts': `import { cmd } from '../app/cli/cmd.js';\nimport { view } from '../renderer/view';\nexport const t = [cmd, view];\n`,
};

const EXPECTED = [
  'app-imports-outside app/store/export.ts -> renderer/view.ts',
  'browser-core-no-node app/core/sealed-open.ts -> crypto',
  'core-imports-up app/core/bytes.ts -> app/store/stream.ts',
  'main-imports main/shell.ts -> app/net/peer.ts',
  'net-imports-up app/net/peer.ts -> app/net/server/route.ts',
  'net-imports-up app/net/peer.ts -> app/node/run.ts',
  'no-circular app/store/ring.ts <-> app/store/stream.ts',
  'no-electron-in-app app/node/run.ts -> node_modules/electron/index.js',
  'node-imports-up app/node/run.ts -> app/cli/cmd.ts',
  'renderer-imports renderer/view.ts -> app/store/stream.ts',
];

function depcruise(cwd: string): Promise<{ code: number; out: string; err: string }> {
  const bin = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  // JSON output exits 0 whatever it finds (the `err` output that `npm run lint` uses exits non-zero).
  const args = [bin, '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json', 'app', 'main', 'renderer', 'test'];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 64 << 20 }, (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }));
  });
}

test('dependency rules: every forbidden import in a small tree is reported, and nothing allowed is', { timeout: 120_000 }, async () => {
  const dir = tmpDir('drayer-lint-');
  for (const [name, body] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), body);
  }
  // An installed `electron` package, so that the import resolves as it does in the project.
  fs.mkdirSync(path.join(dir, 'node_modules', 'electron'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'electron', 'package.json'), JSON.stringify({ name: 'electron', main: 'index.js' }));
  fs.writeFileSync(path.join(dir, 'node_modules', 'electron', 'index.js'), 'module.exports = {};\n');
  try {
    const r = await depcruise(dir);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    // A circle is one finding, reported from whichever of its modules the cruise met first.
    const got = [
      ...new Set(
        result.summary.violations.map((v) =>
          v.rule.name === 'no-circular' ? `no-circular ${[v.from, v.to].sort().join(' <-> ')}` : `${v.rule.name} ${v.from} -> ${v.to}`,
        ),
      ),
    ].sort();
    assert.deepEqual(got, EXPECTED, r.err);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
