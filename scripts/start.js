#!/usr/bin/env node
// `npm start`: open the desktop app where an Electron binary exists; otherwise say so and serve
// the same UI from a headless node on 127.0.0.1 (its URL, with the access token, is printed).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');

function electronBinary() {
  // Read electron's path.txt ourselves: requiring the package would try to download the binary.
  const pathFile = path.join(electronDir, 'path.txt');
  if (!fs.existsSync(pathFile)) return null;
  const bin = path.join(electronDir, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
  return fs.existsSync(bin) ? bin : null;
}

const bin = electronBinary();
const args = bin ? [root, ...process.argv.slice(2)] : [path.join(root, 'bin', 'drayer.js'), 'serve', '--ui', ...process.argv.slice(2)];
if (!bin) {
  console.error('No Electron binary here (get one with `npx install-electron`, which needs internet access).');
  console.error('Starting a headless node with the same UI instead; open the URL below in a browser.');
}
const child = spawn(bin ?? process.execPath, args, { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
