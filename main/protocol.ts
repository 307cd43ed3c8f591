// The app's pages: app://drayer/<path> maps to a file of the built renderer (dist/renderer), and
// every answer carries the headers computed here, the strict CSP first. The renderer is the same
// bundle the headless node's web UI serves; here it talks over IPC, so it needs no connection at
// all. Plain module: no electron import (tested under Node); index.ts hands it to protocol.handle.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { APP_HOST, APP_SCHEME } from './ipc.js';

/**
 * No inline script or style, no eval, no remote code, no plugins, no frames, not framed.
 * Images: the app's own, and data:/blob: URLs the UI makes from bytes it read through DrayerApi.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "object-src 'none'",
  "frame-src 'none'",
  "child-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** The headers of every app:// answer. */
export function appHeaders(file: string): Record<string, string> {
  return {
    'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-security-policy': APP_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(self), microphone=(), geolocation=(), usb=(), serial=(), hid=(), bluetooth=(), payment=()',
    'cache-control': 'no-store',
  };
}

/**
 * The file an app:// URL asks for, inside `root`; index.html for the page itself and for paths
 * that name no file (the UI routes by the URL hash); null for other hosts, or a way out of root.
 */
export function resolveAppFile(url: string, root: string, exists: (f: string) => boolean): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  rel = rel.replace(/^\/+/, '');
  const base = path.resolve(root);
  const file = path.resolve(base, rel || 'index.html');
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  if (rel && exists(file)) return file;
  // Asset-looking paths that are missing are missing; anything else is the page (a client route).
  if (rel && path.extname(rel) !== '' && path.extname(rel) !== '.html') return null;
  return path.join(base, 'index.html');
}

/** True when `file` is a file whose real path (symlinks followed) is inside root's real path. */
function fileInside(file: string, root: string): boolean {
  try {
    const base = fs.realpathSync(root);
    const real = fs.realpathSync(file);
    return (real === base || real.startsWith(base + path.sep)) && fs.statSync(real).isFile();
  } catch {
    return false;
  }
}

/**
 * The answer to an app:// request (index.ts hands this to protocol.handle): the file with
 * appHeaders, or 404. Never a file outside root, by ../, encoded or absolute paths, or a symlink.
 */
export async function answerAppRequest(url: string, root: string): Promise<Response> {
  const file = resolveAppFile(url, root, (f) => fileInside(f, root));
  if (!file || !fileInside(file, root)) return new Response('Not found.', { status: 404, headers: appHeaders('x.txt') });
  return new Response(await fs.promises.readFile(file), { headers: appHeaders(file) });
}
