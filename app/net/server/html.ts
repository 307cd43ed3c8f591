// The two escapes every generated page needs, apart so the page and its markdown share them.
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A stream file path as a URL path: each segment percent-encoded, slashes kept. */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}
