// The read-only HTML pages the LAN server generates: a stream's page for phones (name, about,
// posts newest first, files) when the stream has no index.html, and the list of shared streams.
// Everything from a stream is untrusted: every piece of it is HTML-escaped, post bodies go through
// markdown-html.ts (a fixed set of tags), and the only script is the page's own (local times).
import { markdownToHtml } from './markdown-html.js';
import { encodePath, escapeHtml } from './html.js';
import type { PostView } from '../../store/posts.js';
import { cleanName, terminalSafe, visiblePath } from '../../core/text.js';
import { formatBytes } from '../../core/units.js';

function isoTime(us: number): string | null {
  const ms = Math.floor(us / 1000);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) return null;
  return new Date(ms).toISOString();
}

/** A record time: UTC in the page, the reader's own time zone once the page's script ran. */
function timeElement(us: number): string {
  const iso = isoTime(us);
  if (!iso) return '';
  return `<time datetime="${iso}">${escapeHtml(iso.slice(0, 16).replace('T', ' '))} UTC</time>`;
}

// The desktop app's generated avatars: initials on a colour from the key, the same everywhere.
const PALETTE = ['#3b5bdb', '#1971c2', '#0b7285', '#087f5b', '#237032', '#4a7a0a', '#a05a00', '#c2410c', '#c92a2a', '#a61e4d', '#862e9c', '#5f3dc4'];

function avatarColor(publicKey: string): string {
  let h = 2166136261;
  for (let i = 0; i < publicKey.length; i++) {
    h ^= publicKey.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]!][0] ?? '';
  const second = words.length > 1 ? ([...words[words.length - 1]!][0] ?? '') : '';
  return (first + second).toUpperCase();
}

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --surface: #fff; --border: #e3e6ea; --text: #15181d; --text-2: #5b6470; --accent: #3b5bdb; --code: #eef0f3; }
@media (prefers-color-scheme: dark) { :root { --bg: #16181c; --surface: #1e2127; --border: #30353d; --text: #e8eaed; --text-2: #9aa3ae; --accent: #7b93ff; --code: #272b33; } }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; overflow-wrap: anywhere; }
.wrap { max-width: 40rem; margin: 0 auto; padding: 16px 14px 40px; }
a { color: var(--accent); }
.profile { display: flex; flex-direction: column; align-items: center; text-align: center; gap: 6px; padding: 16px 8px 4px; }
.avatar.has-picture { overflow: hidden; background: var(--code); }
.avatar.has-picture img { width: 100%; height: 100%; object-fit: cover; display: block; }
.avatar { width: 88px; height: 88px; border-radius: 999px; object-fit: cover; display: inline-flex; align-items: center; justify-content: center; color: #fff; font-weight: 600; font-size: 34px; background: var(--code); }
h1 { font-size: 1.6rem; line-height: 1.2; margin: 6px 0 0; }
.about { white-space: pre-wrap; margin: 0; color: var(--text); max-width: 32rem; }
.meta, time { font-size: .85rem; color: var(--text-2); }
.key { font: 12px/1.4 ui-monospace, "SF Mono", Menlo, monospace; color: var(--text-2); word-break: break-all; }
h2.section { font-size: .8rem; letter-spacing: .06em; text-transform: uppercase; color: var(--text-2); margin: 24px 4px 8px; }
article, .files-card { background: var(--surface); border: 1px solid var(--border); border-radius: 14px; }
article { padding: 14px 16px; margin: 0 0 12px; }
article > header { display: flex; align-items: center; gap: 10px; margin-bottom: 6px; }
article > header .mini { width: 32px; height: 32px; font-size: 13px; }
article > header .who { display: flex; flex-direction: column; line-height: 1.25; min-width: 0; }
article > header .who b { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
article p.reply { margin: 8px 0 0; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; } /* a 200-character name: one line, cut */
.shared { border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px; margin: 10px 0 0; }
.shared h3.title { margin-top: 0; }
article h3.title { font-size: 1.12rem; line-height: 1.3; margin: 8px 0 4px; }
.body > * { margin: 0; }
.body > * + * { margin-top: .6em; }
.body h3, .body h4, .body h5, .body h6 { font-size: 1rem; line-height: 1.3; }
.body img { display: block; max-width: 100%; height: auto; border-radius: 10px; border: 1px solid var(--border); margin-top: .6em; }
.body blockquote { margin-left: 0; padding-left: 12px; border-left: 3px solid var(--border); color: var(--text-2); }
.body ul, .body ol { padding-left: 1.3em; }
.body code { font: .88em ui-monospace, "SF Mono", Menlo, monospace; background: var(--code); padding: 1px 5px; border-radius: 5px; }
.body pre { background: var(--code); padding: 10px 12px; border-radius: 10px; overflow-x: auto; }
.body pre code { background: none; padding: 0; }
.body hr { border: 0; border-top: 1px solid var(--border); }
.body .table { overflow-x: auto; }
.body table { border-collapse: collapse; font-size: .9rem; }
.body th, .body td { border: 1px solid var(--border); padding: 4px 8px; }
.al-center { text-align: center; } .al-right { text-align: right; }
.img-alt { color: var(--text-2); font-style: italic; }
.plain { white-space: pre-wrap; }
.empty { text-align: center; color: var(--text-2); padding: 32px 0; }
.lock { font-size: .85rem; color: var(--text-2); }
.notice { background: var(--surface); border: 1px solid var(--border); border-radius: 14px; padding: 14px 16px; text-align: center; }
button.more { display: block; margin: 16px auto; padding: 8px 16px; border-radius: 999px; background: var(--surface); border: 1px solid var(--border); color: var(--accent); font: inherit; font-weight: 600; }
ul.files { list-style: none; margin: 0; padding: 0; }
ul.files li { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; padding: 12px 16px; border-top: 1px solid var(--border); }
ul.files li:first-child { border-top: 0; }
ul.files a { text-decoration: none; font-weight: 500; min-width: 0; }
ul.files .meta { flex: none; }
nav.pages { display: flex; justify-content: space-between; align-items: center; margin: 16px 4px; }
nav.pages a { padding: 8px 14px; border-radius: 999px; background: var(--surface); border: 1px solid var(--border); text-decoration: none; font-weight: 600; }
footer { text-align: center; margin-top: 28px; }
`;

/** Dates in the reader's own time zone and language (the page's only script, allowed by its nonce). */
const LOCAL_TIMES = `(function () {
  var f = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  var ts = document.querySelectorAll('time[datetime]');
  for (var i = 0; i < ts.length; i++) {
    var d = new Date(ts[i].getAttribute('datetime'));
    if (!isNaN(d.getTime())) { ts[i].title = ts[i].textContent; ts[i].textContent = f.format(d); }
  }
})();`;

/** A page in the generated pages' look; `script`, with the nonce, is the src of its one script (else the local-times one). */
export function layout(title: string, body: string, nonce?: string, script?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<div class="wrap">
${body}
</div>
${nonce ? (script ? `<script nonce="${escapeHtml(nonce)}" src="${escapeHtml(script)}"></script>\n` : `<script nonce="${escapeHtml(nonce)}">${LOCAL_TIMES}</script>\n`) : ''}</body>
</html>
`;
}

/** The CSP of a generated stream page: no script but the page's own, by its nonce. */
export function streamPageCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** A re-share's "re-shared from NAME" (linked by `href`) and the shared post where the server holds it (phone-replies.ts). */
export interface ResharedView {
  name: string;
  href?: string;
  title?: string;
  body?: string;
  /** where the shared post's stream's files are served */
  filesBase?: string;
  /** what the shared post re-shares (it has a comment of its own): named, linked where served */
  inner?: { name: string; href?: string };
}

export interface StreamPageInput {
  name: string;
  about: string;
  /** standard base64, shown */
  publicKey: string;
  /** the URL-safe key used in links */
  urlKey: string;
  /** the avatar image among the stream's files, when it has one */
  avatar?: string;
  /** `inReplyTo`: a reply's "in reply to" (the name of the stream it answers, or that stream's key words), `inReplyToHref` the answered post where this server shares it; `anchor`: the article's id */
  posts: (PostView & { inReplyTo?: string; inReplyToHref?: string; anchor?: string; reshare?: ResharedView })[];
  /** 1-based */
  page: number;
  totalPosts: number;
  pageSize: number;
  files: { path: string; size: number; mime: string }[];
  /** files not listed (the list is capped) */
  moreFiles: number;
  /** allows the page's one script (local times); without it the page runs none */
  nonce?: string;
}

function postBody(body: string, filesBase: string): string {
  try {
    return markdownToHtml(body, { filesBase });
  } catch {
    // Markdown the lexer cannot take (say, nesting beyond its depth): the text as written.
    return `<p class="plain">${escapeHtml(body)}</p>`;
  }
}

/** A stream's name in a "re-shared from" line: its own direction kept, linked where the server shares the post. */
function talkName(at: { name: string; href?: string }): string {
  const who = `<bdi>${escapeHtml(cleanName(at.name))}</bdi>`;
  return at.href ? `<a href="${escapeHtml(at.href)}" title="${escapeHtml(cleanName(at.name))}">${who}</a>` : who;
}

/** A stream without an index.html, as a phone sees it. */
export function streamPage(p: StreamPageInput): string {
  const base = `/${encodeURIComponent(p.urlKey)}/`;
  const filesBase = `${base}webAccess/`;
  const title = cleanName(p.name) || 'Unnamed stream';
  const avatar = (cls: string) =>
    p.avatar
      ? `<img class="avatar ${cls}" src="${escapeHtml(filesBase + encodePath(p.avatar))}" alt="">`
      : `<span class="avatar ${cls}" style="background:${avatarColor(p.publicKey)}" aria-hidden="true">${escapeHtml(initials(title))}</span>`;
  const parts: string[] = [];
  parts.push(`<header class="profile">${avatar('big')}<h1 dir="auto">${escapeHtml(title)}</h1>`);
  if (p.about) parts.push(`<p class="about" dir="auto">${escapeHtml(terminalSafe(p.about))}</p>`);
  parts.push(
    `<p class="meta">${p.totalPosts === 1 ? '1 post' : `${p.totalPosts.toLocaleString('en-US')} posts`}${p.files.length ? ` · ${(p.files.length + p.moreFiles).toLocaleString('en-US')} files` : ''}</p>`,
  );
  parts.push('</header>');

  parts.push('<main>');
  parts.push('<h2 class="section">Posts</h2>');
  if (p.posts.length === 0) {
    parts.push(p.page > 1 ? '<p class="empty">No more posts.</p>' : '<p class="empty">No posts yet.</p>');
  }
  for (const post of p.posts) {
    parts.push(post.anchor ? `<article id="${escapeHtml(post.anchor)}">` : '<article>');
    parts.push(`<header>${avatar('mini')}<span class="who"><b><bdi>${escapeHtml(title)}</bdi></b>${timeElement(post.ts)}</span></header>`);
    if (post.inReplyTo) {
      const who = `<bdi>${escapeHtml(cleanName(post.inReplyTo))}</bdi>`; // an Arabic name keeps its own direction
      parts.push(`<p class="meta reply">&#8617; in reply to ${post.inReplyToHref ? `<a href="${escapeHtml(post.inReplyToHref)}">${who}</a>` : who}</p>`);
    }
    const rs = post.reshare;
    if (rs) parts.push(`<p class="meta reply">&#8635; re-shared from ${talkName(rs)}</p>`);
    // dir="auto": a mostly Arabic or Hebrew post is laid out right to left, whatever the page's direction
    if (post.title) parts.push(`<h3 class="title" dir="auto">${escapeHtml(post.title)}</h3>`);
    if (post.body) parts.push(`<div class="body" dir="auto">${postBody(post.body, filesBase)}</div>`);
    if (rs?.title || rs?.body || rs?.inner) {
      // the shared post as its own stream shows it: its pictures are that stream's files
      parts.push('<blockquote class="shared">');
      if (rs.title) parts.push(`<h3 class="title" dir="auto">${escapeHtml(rs.title)}</h3>`);
      if (rs.body) parts.push(`<div class="body" dir="auto">${postBody(rs.body, rs.filesBase ?? filesBase)}</div>`);
      if (rs.inner) parts.push(`<p class="meta reply">&#8635; re-sharing a post of ${talkName(rs.inner)}</p>`);
      parts.push('</blockquote>');
    }
    parts.push('</article>');
  }
  const pages = Math.max(1, Math.ceil(p.totalPosts / p.pageSize));
  if (pages > 1) {
    const newer = p.page > 1 ? `<a href="${base}?page=${p.page - 1}">&larr; Newer</a>` : '<span></span>';
    const older = p.page < pages ? `<a href="${base}?page=${p.page + 1}">Older &rarr;</a>` : '<span></span>';
    parts.push(`<nav class="pages">${newer}<span class="meta">Page ${p.page} of ${pages}</span>${older}</nav>`);
  }
  parts.push('</main>');

  if (p.files.length > 0) {
    parts.push('<section><h2 class="section">Files</h2><div class="files-card"><ul class="files">');
    for (const f of p.files) {
      const href = `${filesBase}${encodePath(f.path)}`;
      // a path with bidi or invisible characters shows them written out (‹U+202E›), not as what they fake
      parts.push(`<li><a href="${escapeHtml(href)}">${escapeHtml(visiblePath(f.path))}</a><span class="meta">${escapeHtml(formatBytes(f.size))}</span></li>`);
    }
    parts.push('</ul></div>');
    if (p.moreFiles > 0) parts.push(`<p class="meta">and ${p.moreFiles} more files.</p>`);
    parts.push('</section>');
  }
  parts.push(`<footer><p class="meta">Shared with Drayer</p><p class="key">${escapeHtml(p.publicKey)}</p></footer>`);
  return layout(title, parts.join('\n'), p.nonce);
}

/** The streams this node shares, for `/`. */
export function indexPage(streams: { name: string; publicKey: string; urlKey: string }[]): string {
  const items = streams.map(
    (s) =>
      `<li><a href="/${escapeHtml(encodeURIComponent(s.urlKey))}/">${escapeHtml(cleanName(s.name) || 'Unnamed stream')}</a><div class="key">${escapeHtml(s.publicKey)}</div></li>`,
  );
  const body = `<header class="profile"><h1>Drayer</h1><p class="meta">Streams shared by this node</p></header>
${streams.length ? `<div class="files-card"><ul class="files">${items.join('\n')}</ul></div>` : '<p class="empty">This node shares no streams.</p>'}`;
  return layout('Drayer streams', body);
}
