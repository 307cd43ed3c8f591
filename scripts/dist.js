#!/usr/bin/env node
// `npm run dist [-- ARGS]` (after `npm run build`): the installers for this OS with electron-builder
// (pinned, fetched by npx) and electron-builder.yml. Its Electron is the one `npm start` and the
// end-to-end tests use, found or fetched by scripts/electron-binary.js and handed over as
// electronDist, so nothing downloads a second copy. ARGS go to electron-builder (`--dir` builds
// the unpacked app only, `--publish never` is what the release workflow uses).
// electron-builder rebuilds the native addons inside node_modules for Electron's ABI (npmRebuild);
// afterwards better-sqlite3 is rebuilt for this Node again, or `npm test` and `drayer` could not
// load it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureElectron, ROOT } from './electron-binary.js';

const BUILDER = 'electron-builder@26.17.0';

const found = await ensureElectron();
if (!found.path) {
  console.error(`${found.reason}. Installers need Electron: run this on a machine with internet access (and without ELECTRON_SKIP_BINARY_DOWNLOAD).`);
  process.exit(1);
}

/** npx and npm as npm itself runs them (npm_execpath is npm-cli.js), else from PATH. */
function npmTool(name) {
  const cli = process.env.npm_execpath ? path.join(path.dirname(process.env.npm_execpath), `${name}-cli.js`) : null;
  if (cli && fs.existsSync(cli)) return { cmd: process.execPath, pre: [cli], shell: false };
  return { cmd: name, pre: [], shell: process.platform === 'win32' }; // .cmd files need a shell on Windows
}

function run(name, args) {
  const t = npmTool(name);
  const quoted = t.shell ? args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)) : args;
  const r = spawnSync(t.cmd, [...t.pre, ...quoted], { cwd: ROOT, stdio: 'inherit', shell: t.shell });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

// electron-builder.yml is read as the default config; -c.KEY=VALUE is merged over it.
const status = run('npx', ['--yes', BUILDER, `-c.electronDist=${found.distDir}`, ...process.argv.slice(2)]);
const rebuilt = run('npm', ['rebuild', 'better-sqlite3']);
if (rebuilt !== 0) console.error('Rebuilding better-sqlite3 for this Node failed: run `npm rebuild better-sqlite3` before `npm test`.');
process.exit(status);
