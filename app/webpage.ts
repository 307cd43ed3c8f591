// The read-only HTML pages the LAN server generates: a stream's page for phones (name, about,
// posts newest first, files) when the stream has no index.html, and the list of shared streams.
// Everything from a stream is untrusted: every piece of it is HTML-escaped, and the pages run no script.
import type { PostView } from './posts.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A stream file path as a URL path: each segment percent-encoded, slashes kept. */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function when(us: number): string {
  const ms = Math.floor(us / 1000);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) return '';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const STYLE = `
:root { color-scheme: light dark; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 42rem; padding: 1rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; overflow-wrap: anywhere; }
header { border-bottom: 1px solid #8886; margin-bottom: 1rem; }
h1 { font-size: 1.6rem; margin: .2rem 0; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.key { font: 12px/1.3 ui-monospace, monospace; opacity: .7; word-break: break-all; }
.about { white-space: pre-wrap; }
article { border: 1px solid #8886; border-radius: .5rem; padding: .75rem; margin: .75rem 0; }
article h3 { margin: 0 0 .3rem; font-size: 1.1rem; }
article .body { white-space: pre-wrap; margin: 0; }
time, .meta { font-size: .85rem; opacity: .7; }
ul.files { list-style: none; padding: 0; }
ul.files li { padding: .35rem 0; border-bottom: 1px solid #8883; display: flex; justify-content: space-between; gap: 1rem; }
nav.pages { display: flex; justify-content: space-between; margin: 1rem 0; }
a { color: #2a6fdb; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export interface StreamPageInput {
  name: string;
  about: string;
  /** standard base64, shown */
  publicKey: string;
  /** the URL-safe key used in links */
  urlKey: string;
  posts: PostView[];
  /** 1-based */
  page: number;
  totalPosts: number;
  pageSize: number;
  files: { path: string; size: number; mime: string }[];
  /** files not listed (the list is capped) */
  moreFiles: number;
}

/** A stream without an index.html, as a phone sees it. */
export function streamPage(p: StreamPageInput): string {
  const base = `/${encodeURIComponent(p.urlKey)}/`;
  const title = p.name || 'Unnamed stream';
  const parts: string[] = [];
  parts.push(`<header><h1>${escapeHtml(title)}</h1><div class="key">${escapeHtml(p.publicKey)}</div>`);
  if (p.about) parts.push(`<p class="about">${escapeHtml(p.about)}</p>`);
  parts.push('</header>');

  parts.push(`<section><h2>Posts</h2>`);
  if (p.posts.length === 0) {
    parts.push(p.page > 1 ? '<p>No more posts.</p>' : '<p>No posts yet.</p>');
  }
  for (const post of p.posts) {
    parts.push('<article>');
    if (post.title) parts.push(`<h3>${escapeHtml(post.title)}</h3>`);
    parts.push(`<time>${escapeHtml(when(post.ts))}</time>`);
    if (post.body) parts.push(`<p class="body">${escapeHtml(post.body)}</p>`);
    parts.push('</article>');
  }
  const pages = Math.max(1, Math.ceil(p.totalPosts / p.pageSize));
  if (pages > 1) {
    const newer = p.page > 1 ? `<a href="${base}?page=${p.page - 1}">&larr; Newer</a>` : '<span></span>';
    const older = p.page < pages ? `<a href="${base}?page=${p.page + 1}">Older &rarr;</a>` : '<span></span>';
    parts.push(`<nav class="pages">${newer}<span class="meta">Page ${p.page} of ${pages}</span>${older}</nav>`);
  }
  parts.push('</section>');

  if (p.files.length > 0) {
    parts.push('<section><h2>Files</h2><ul class="files">');
    for (const f of p.files) {
      const href = `${base}webAccess/${encodePath(f.path)}`;
      parts.push(`<li><a href="${escapeHtml(href)}">${escapeHtml(f.path)}</a><span class="meta">${escapeHtml(size(f.size))}</span></li>`);
    }
    parts.push('</ul>');
    if (p.moreFiles > 0) parts.push(`<p class="meta">and ${p.moreFiles} more files.</p>`);
    parts.push('</section>');
  }
  return layout(title, parts.join('\n'));
}

/** The streams this node shares, for `/`. */
export function indexPage(streams: { name: string; publicKey: string; urlKey: string }[]): string {
  const items = streams.map(
    (s) => `<li><a href="/${escapeHtml(encodeURIComponent(s.urlKey))}/">${escapeHtml(s.name || 'Unnamed stream')}</a><div class="key">${escapeHtml(s.publicKey)}</div></li>`,
  );
  const body = `<header><h1>Drayer</h1><p class="meta">Streams shared by this node</p></header>
${streams.length ? `<ul class="files">${items.join('\n')}</ul>` : '<p>This node shares no streams.</p>'}`;
  return layout('Drayer streams', body);
}
