// Markdown to HTML for the pages the LAN server generates (a phone reading a stream's posts).
// Post bodies are untrusted: `marked` only tokenizes, and this walks the tokens building a fixed
// set of tags itself. Every piece of text and every attribute is escaped; raw HTML in a post is
// shown as the text it is; links keep only http(s) and mailto; images come only from the
// stream's own files (a relative path), so a post cannot make the phone fetch from elsewhere.
import { Lexer, type Token, type Tokens } from 'marked';
import { normalizeFilePath } from '../../store/files.js';
import { encodePath, escapeHtml } from './html.js';

const SAFE_LINK = /^(https?:|mailto:)/i;

/** A post's image reference as a path among the stream's files, or null (absolute, remote, odd). */
export function streamFileRef(href: string): string | null {
  let h = href.trim();
  if (h === '' || /^[a-z][a-z0-9+.-]*:/i.test(h) || h.startsWith('/') || h.startsWith('\\') || h.includes('?') || h.includes('#')) return null;
  h = h.replace(/^(\.\/)+/, '');
  try {
    const segs = h.split('/').map((seg) => decodeURIComponent(seg));
    if (segs.some((seg) => seg.includes('/'))) return null; // an encoded slash is not a folder
    return normalizeFilePath(segs.join('/'));
  } catch {
    return null;
  }
}

/** Text keeps the source's entity references (&amp; etc.), which markdown means as characters; code keeps them as typed. */
function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? m);
}

export interface MarkdownHtmlOptions {
  /** where the stream's files are served, ending in "/" (e.g. "/<key>/webAccess/") */
  filesBase: string;
  /** heading levels start here (a post's own title is above them) */
  headingBase?: number;
}

class Renderer {
  constructor(private readonly o: MarkdownHtmlOptions) {}

  inline(tokens: Token[] | undefined): string {
    return (tokens ?? []).map((t) => this.inlineToken(t)).join('');
  }

  private inlineToken(t: Token): string {
    switch (t.type) {
      case 'strong':
        return `<strong>${this.inline((t as Tokens.Strong).tokens)}</strong>`;
      case 'em':
        return `<em>${this.inline((t as Tokens.Em).tokens)}</em>`;
      case 'del':
        return `<del>${this.inline((t as Tokens.Del).tokens)}</del>`;
      case 'codespan':
        return `<code>${escapeHtml((t as Tokens.Codespan).text)}</code>`;
      case 'br':
        return '<br>';
      case 'link': {
        const l = t as Tokens.Link;
        const inner = this.inline(l.tokens);
        const href = l.href.trim();
        if (!SAFE_LINK.test(href)) return inner;
        return `<a href="${escapeHtml(href)}" rel="noopener noreferrer nofollow">${inner}</a>`;
      }
      case 'image': {
        const img = t as Tokens.Image;
        const file = streamFileRef(img.href);
        if (!file) return `<span class="img-alt">[${escapeHtml(img.text || 'image')}]</span>`;
        const src = this.o.filesBase + encodePath(file);
        return `<img src="${escapeHtml(src)}" alt="${escapeHtml(img.text)}" loading="lazy" decoding="async">`;
      }
      case 'text': {
        const tx = t as Tokens.Text;
        return tx.tokens && tx.tokens.length ? this.inline(tx.tokens) : escapeHtml(decodeEntities(tx.text));
      }
      case 'escape':
        return escapeHtml((t as Tokens.Escape).text);
      case 'html':
        return escapeHtml((t as Tokens.HTML).text);
      default:
        return escapeHtml('raw' in t ? String(t.raw) : '');
    }
  }

  block(t: Token): string {
    switch (t.type) {
      case 'space':
        return '';
      case 'heading': {
        const h = t as Tokens.Heading;
        const level = Math.min(6, h.depth + (this.o.headingBase ?? 3) - 1);
        return `<h${level}>${this.inline(h.tokens)}</h${level}>`;
      }
      case 'paragraph':
        return `<p>${this.inline((t as Tokens.Paragraph).tokens)}</p>`;
      case 'text': {
        const tx = t as Tokens.Text;
        return tx.tokens ? this.inline(tx.tokens) : escapeHtml(decodeEntities(tx.text));
      }
      case 'code':
        return `<pre><code>${escapeHtml((t as Tokens.Code).text)}</code></pre>`;
      case 'blockquote':
        return `<blockquote>${this.blocks((t as Tokens.Blockquote).tokens)}</blockquote>`;
      case 'hr':
        return '<hr>';
      case 'list': {
        const l = t as Tokens.List;
        const items = l.items
          .map((it) => `<li>${it.task ? `<input type="checkbox" disabled${it.checked ? ' checked' : ''}> ` : ''}${this.blocks(it.tokens)}</li>`)
          .join('');
        if (!l.ordered) return `<ul>${items}</ul>`;
        const start = typeof l.start === 'number' && Number.isSafeInteger(l.start) && l.start !== 1 ? ` start="${l.start}"` : '';
        return `<ol${start}>${items}</ol>`;
      }
      case 'table': {
        const tb = t as Tokens.Table;
        const align = (i: number) => {
          const a = tb.align[i];
          return a === 'left' || a === 'right' || a === 'center' ? ` class="al-${a}"` : '';
        };
        const head = tb.header.map((c, i) => `<th${align(i)}>${this.inline(c.tokens)}</th>`).join('');
        const rows = tb.rows.map((r) => `<tr>${r.map((c, i) => `<td${align(i)}>${this.inline(c.tokens)}</td>`).join('')}</tr>`).join('');
        return `<div class="table"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
      }
      case 'html':
        return `<p>${escapeHtml((t as Tokens.HTML).text)}</p>`;
      default:
        return this.inlineToken(t);
    }
  }

  blocks(tokens: Token[]): string {
    return tokens.map((t) => this.block(t)).join('');
  }
}

/** A post body as safe HTML (see the top of this file). */
export function markdownToHtml(src: string, opts: MarkdownHtmlOptions): string {
  const tokens = new Lexer({ gfm: true, breaks: true }).lex(src);
  return new Renderer(opts).blocks(tokens);
}
