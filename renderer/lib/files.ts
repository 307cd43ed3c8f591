// Pure helpers for a stream's files: sizes for people, what kind of preview a file gets, the
// paths attachments take, and a post's image references as stream paths. File names and types
// come from streams (untrusted): they only ever become text, never markup or a navigable blob.
import { hasHiddenChars } from '../../app/core/text';
import { isAppMedia } from '../../app/core/site';

import { formatBytes } from '../../app/core/units';

/** A file's size, the one way sizes are written everywhere (app/core/units.ts). */
export const formatSize = formatBytes;

/**
 * Raster image types shown inline from a blob: URL. SVG is not among them: a blob: URL lives in
 * the app's origin, and an SVG document opened from one could run script there.
 */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);

export function inlineImageType(mime: string): string | null {
  const m = mime.toLowerCase().split(';')[0]!.trim();
  return INLINE_IMAGES.has(m) ? m : null;
}

export type FileKind = 'image' | 'text' | 'markdown' | 'html' | 'other';

export function fileKind(f: { path: string; mime: string }): FileKind {
  // a name with bidi or control characters may pass for another: no preview, only the download (as the node serves it)
  if (hasHiddenChars(f.path)) return 'other';
  const m = f.mime.toLowerCase();
  if (inlineImageType(m)) return 'image';
  if (m.startsWith('text/html')) return 'html';
  if (m.startsWith('text/markdown') || /\.(md|markdown)$/i.test(f.path)) return 'markdown';
  if (m.startsWith('text/') || m === 'application/json' || m === 'application/xml' || /\.(txt|csv|log|json|ya?ml|toml|ini|xml)$/i.test(f.path)) return 'text';
  return 'other';
}

/** A short label of a type: "PNG image", "HTML", "Text"... */
export function typeLabel(f: { path: string; mime: string }): string {
  const m = f.mime.toLowerCase();
  const ext = /\.([a-z0-9]{1,8})$/i.exec(f.path)?.[1]?.toUpperCase();
  if (hasHiddenChars(f.path)) return ext ? `${ext} file` : 'File';
  if (m.startsWith('image/')) return `${ext ?? 'Image'} image`;
  if (m.startsWith('text/html')) return 'Web page';
  if (m.startsWith('video/')) return `${ext ?? ''} video`.trim();
  if (m.startsWith('audio/')) return `${ext ?? ''} audio`.trim();
  if (m === 'application/pdf') return 'PDF';
  if (fileKind(f) === 'markdown') return 'Markdown';
  if (m.startsWith('text/')) return ext ? `${ext} text` : 'Text';
  return ext ? `${ext} file` : 'File';
}

/** A stream path as a URL path: each segment percent-encoded, slashes kept. */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** The same rule as the node's (app/net/server/markdown-html.ts): a relative path among the stream's files, or null. */
export function streamFileRef(href: string): string | null {
  let h = href.trim();
  if (h === '' || /^[a-z][a-z0-9+.-]*:/i.test(h) || h.startsWith('/') || h.startsWith('\\') || h.includes('?') || h.includes('#')) return null;
  h = h.replace(/^(\.\/)+/, '');
  let segs: string[];
  try {
    segs = h.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
  if (segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('/') || /[\u0000-\u001f\u007f]/.test(s))) return null;
  return segs.join('/').normalize('NFC');
}

/** A file name made safe as one path segment of a stream (no slashes, controls or dot-only names). */
export function safeName(name: string): string {
  const n = name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f/\\]+/g, '-')
    .trim();
  return n === '' || /^\.+$/.test(n) ? 'file' : n;
}

/** Where an attached image goes: media/<time>-<name>, unique enough without asking the node. */
export function attachmentPath(fileName: string, now = Date.now(), rand = Math.random()): string {
  const base =
    safeName(fileName)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/-+\./g, '.')
      .replace(/^-+|-+$/g, '')
      .slice(-60) || 'image';
  return `media/${now.toString(36)}${Math.floor(rand * 1296)
    .toString(36)
    .padStart(2, '0')}-${base}`;
}

/** The markdown that shows an attachment in a post. */
export function imageMarkdown(alt: string, path: string): string {
  const cleanAlt =
    alt
      .replace(/\.[a-z0-9]{1,5}$/i, '')
      .replace(/[[\]\\\n\r]/g, ' ')
      .trim() || 'image';
  return `![${cleanAlt}](${encodePath(path)})`;
}

/** The person's files: without the app's own media (avatars, post pictures), which stay in the stream. */
export function userFiles<T extends { path: string }>(files: readonly T[], withMedia = false): T[] {
  return withMedia ? [...files] : files.filter((f) => !isAppMedia(f.path));
}

/** A stream's web addresses a phone can open: loopback ones (this computer only) left out. */
export function phoneUrls(webUrls: readonly string[]): string[] {
  return webUrls.filter((u) => {
    try {
      const h = new URL(u).hostname.replace(/^\[|\]$/g, '');
      return !(h === 'localhost' || h === '::1' || /^127\./.test(h) || h === '0.0.0.0');
    } catch {
      return false;
    }
  });
}

/** "3 changed, 1 removed, 40 unchanged": the parts that are not zero (new files count as added). */
export function folderReport(r: { added: number; changed: number; removed: number; unchanged: number }): string {
  const parts: string[] = [];
  if (r.added) parts.push(`${r.added.toLocaleString('en')} added`);
  if (r.changed) parts.push(`${r.changed.toLocaleString('en')} changed`);
  if (r.removed) parts.push(`${r.removed.toLocaleString('en')} removed`);
  if (r.unchanged || parts.length === 0) parts.push(`${r.unchanged.toLocaleString('en')} unchanged`);
  return parts.join(', ');
}
