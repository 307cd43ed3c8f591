#!/usr/bin/env node
// `npm start`: open the desktop app. Electron's binary is found, and fetched the first time (with
// its progress shown), the way the electron package does it (scripts/electron-binary.js: it honours
// ELECTRON_OVERRIDE_DIST_PATH, ELECTRON_SKIP_BINARY_DOWNLOAD and Electron's mirror and cache
// settings). Only when no binary can be had (offline, skipped, failed) does it say why in one line
// and serve the same UI from a headless node on 127.0.0.1, opened in the default browser when
// there is a display to show it on (never in CI or tests; DRAYER_NO_BROWSER=1 turns it off).
// The browser gets a sign-in link with a one-time code, never the API token: other local users
// can read a program's arguments (/proc), so what xdg-open is given must be worth nothing later.
// DRAYER_OPENER=PROGRAM opens the link with PROGRAM instead; DRAYER_HEADLESS=1 skips Electron.
// Arguments are passed on: to the app (a drayer: link), or to `drayer serve --ui` (--data DIR…).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ensureElectron, ROOT as root } from './electron-binary.js';

/** A browser can be shown: a desktop session on Linux, always on macOS and Windows; never in CI or tests. */
function canOpenBrowser(env = process.env, platform = process.platform) {
  if (env.DRAYER_NO_BROWSER) return false;
  if (env.DRAYER_OPENER) return true; // an explicit choice
  if (env.CI || env.NODE_TEST_CONTEXT) return false;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

function openBrowser(url) {
  const [cmd, args] = process.env.DRAYER_OPENER
    ? [process.env.DRAYER_OPENER, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const p = spawn(cmd, args, { stdio: 'ignore', detached: true, windowsVerbatimArguments: process.platform === 'win32' });
    p.on('error', () => console.error(`Could not open a browser (${cmd}); open the URL above yourself.`));
    p.unref();
  } catch {
    /* the URL is printed anyway */
  }
}

const found = process.env.DRAYER_HEADLESS ? null : await ensureElectron();
const bin = found?.path ?? null;
const args = bin ? [root, ...process.argv.slice(2)] : [path.join(root, 'bin', 'drayer.js'), 'serve', '--ui', ...process.argv.slice(2)];
if (!bin)
  console.error(found ? `${found.reason}: serving the same UI from a headless node instead.` : 'DRAYER_HEADLESS is set: serving the UI from a headless node.');
// The app is Electron itself, never Node: a variable left over from elsewhere must not turn it into one.
const env = { ...process.env };
if (bin) delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(bin ?? process.execPath, args, { stdio: bin ? 'inherit' : ['inherit', 'pipe', 'inherit'], env });
if (!bin) {
  let opened = false;
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    buffered = (buffered + chunk.toString('utf8')).slice(-4096);
    // The printed link carries a one-time code (see app/node/webui.ts), not the token.
    const m = /Web UI: (http:\/\/127\.0\.0\.1:\d+\/\?code=[\w-]+)/.exec(buffered);
    if (m && !opened) {
      opened = true;
      if (canOpenBrowser()) openBrowser(m[1]);
    }
  });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
