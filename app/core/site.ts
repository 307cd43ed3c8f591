// Websites from folders, the rules both sides share (pure: the engine and the renderer import it):
// which folder of a picked one is the site's root, which files the app made itself (avatars and
// post pictures under media/), and the content digest a folder update compares files by.

/** Files one folder update compares at most (also the most a picked folder may hold). */
export const FOLDER_FILES_MAX = 10_000;

/** The digest is over pieces of this size, so both sides hash a big file in constant memory. */
export const DIGEST_PIECE = 1024 * 1024;

/**
 * Avatars (`media/avatar-<time>.<ext>`) and post pictures (`media/<time><rand>-<name>`) are the
 * app's own files: not the person's Files, never removed by a folder update. A site's own
 * `media/photo.jpg` does not match (the time is 9 to 12 base-36 digits before a dash).
 */
const APP_MEDIA = /^media\/(?:avatar-[0-9a-z]+\.[a-z0-9]+|[0-9a-z]{9,12}-[^/]+)$/;

export function isAppMedia(path: string): boolean {
  return APP_MEDIA.test(path);
}

/**
 * The folders that could be a site's root, given the paths of one picked folder (relative to it):
 * `['']` when index.html is at its top; else the shallowest folders that hold an index.html and lie
 * in no other candidate (a site's own sub-pages, like blog/index.html, are not roots); [] for none.
 */
export function siteRoots(paths: readonly string[]): string[] {
  if (paths.includes('index.html')) return [''];
  const dirs = paths.filter((p) => p.endsWith('/index.html')).map((p) => p.slice(0, -'/index.html'.length));
  dirs.sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
  const roots: string[] = [];
  for (const d of dirs) if (!roots.some((r) => d.startsWith(`${r}/`))) roots.push(d);
  return roots;
}

/** Whether `path` lies in folder `dir` ('' is the top, holding everything). */
export function inFolder(path: string, dir: string): boolean {
  return dir === '' || path.startsWith(`${dir}/`);
}

/** Hex of bytes (the digest travels as 64 hex characters). */
export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
