// Markdown to React elements, never to an HTML string: marked only tokenizes, and every token
// becomes an element whose text React escapes. Raw HTML in a post shows as text; links open
// only for http(s), mailto and drayer: schemes; images come only from the post's own stream
// (a relative path, read through the node). Post bodies are untrusted (anyone's stream).
import { createContext, Fragment, useContext, type ReactNode } from 'react';
import { Lexer, type Token, type Tokens } from 'marked';
import { streamFileRef } from './files';
import { StreamImage } from '../components/StreamImage';

/** The stream whose files a post's relative image paths name. */
const StreamContext = createContext<string | null>(null);
/** Pictures one post shows at most; the rest show as their alt text (a post cannot make the app read a thousand files). */
export const MAX_POST_IMAGES = 16;

function MdImage({ href, alt, index }: { href: string; alt: string; index: number }) {
  const streamKey = useContext(StreamContext);
  const path = streamKey && index < MAX_POST_IMAGES ? streamFileRef(href) : null;
  if (!streamKey || !path) return <span className="md-image-alt">{alt ? `[${alt}]` : '[image]'}</span>;
  return <StreamImage publicKey={streamKey} path={path} alt={alt} />;
}

const SAFE_LINK = /^(https?:|mailto:|drayer:)/i;

export function safeHref(href: string): string | null {
  const h = href.trim();
  return SAFE_LINK.test(h) ? h : null;
}

function inline(tokens: Token[] | undefined, keyBase: string): ReactNode[] {
  return (tokens ?? []).map((t, i) => inlineToken(t, `${keyBase}.${i}`));
}

function inlineToken(t: Token, key: string): ReactNode {
  switch (t.type) {
    case 'strong':
      return <strong key={key}>{inline((t as Tokens.Strong).tokens, key)}</strong>;
    case 'em':
      return <em key={key}>{inline((t as Tokens.Em).tokens, key)}</em>;
    case 'del':
      return <del key={key}>{inline((t as Tokens.Del).tokens, key)}</del>;
    case 'codespan':
      return <code key={key}>{(t as Tokens.Codespan).text}</code>;
    case 'br':
      return <br key={key} />;
    case 'link': {
      const l = t as Tokens.Link;
      const href = safeHref(l.href);
      const children = inline(l.tokens, key);
      if (!href) return <Fragment key={key}>{children}</Fragment>;
      return (
        <a key={key} href={href} target="_blank" rel="noopener noreferrer nofollow" title={l.title ?? undefined}>
          {children}
        </a>
      );
    }
    case 'image': {
      const img = t as Tokens.Image;
      return <MdImage key={key} href={img.href} alt={img.text} index={imageIndex(img)} />;
    }
    case 'text': {
      const tx = t as Tokens.Text;
      if (tx.tokens && tx.tokens.length) return <Fragment key={key}>{inline(tx.tokens, key)}</Fragment>;
      return <Fragment key={key}>{decodeEntities(tx.text)}</Fragment>;
    }
    case 'escape':
      return <Fragment key={key}>{(t as Tokens.Escape).text}</Fragment>;
    case 'html':
      // Shown as the text it is: a post cannot add elements, let alone scripts.
      return <Fragment key={key}>{(t as Tokens.HTML).text}</Fragment>;
    default:
      return <Fragment key={key}>{'raw' in t ? String(t.raw) : ''}</Fragment>;
  }
}

function block(t: Token, key: string): ReactNode {
  switch (t.type) {
    case 'space':
      return null;
    case 'heading': {
      const h = t as Tokens.Heading;
      // Post headings sit under the post's own title: h3 and smaller.
      const level = Math.min(6, h.depth + 2);
      const Tag = `h${level}` as 'h3';
      return <Tag key={key} className="md-heading">{inline(h.tokens, key)}</Tag>;
    }
    case 'paragraph':
      return <p key={key}>{inline((t as Tokens.Paragraph).tokens, key)}</p>;
    case 'text': {
      const tx = t as Tokens.Text;
      return <Fragment key={key}>{tx.tokens ? inline(tx.tokens, key) : decodeEntities(tx.text)}</Fragment>;
    }
    case 'code':
      return (
        <pre key={key}>
          <code>{(t as Tokens.Code).text}</code>
        </pre>
      );
    case 'blockquote':
      return <blockquote key={key}>{blocks((t as Tokens.Blockquote).tokens, key)}</blockquote>;
    case 'hr':
      return <hr key={key} />;
    case 'list': {
      const l = t as Tokens.List;
      const items = l.items.map((it, i) => (
        <li key={`${key}.${i}`}>
          {it.task ? <input type="checkbox" checked={!!it.checked} readOnly disabled aria-label={it.checked ? 'done' : 'not done'} /> : null}
          {blocks(it.tokens, `${key}.${i}`)}
        </li>
      ));
      return l.ordered ? <ol key={key} start={typeof l.start === 'number' && l.start !== 1 ? l.start : undefined}>{items}</ol> : <ul key={key}>{items}</ul>;
    }
    case 'table': {
      const tb = t as Tokens.Table;
      return (
        <div key={key} className="md-table">
          <table>
            <thead>
              <tr>{tb.header.map((c, i) => <th key={i} style={{ textAlign: tb.align[i] ?? undefined }}>{inline(c.tokens, `${key}.h${i}`)}</th>)}</tr>
            </thead>
            <tbody>
              {tb.rows.map((r, ri) => (
                <tr key={ri}>{r.map((c, i) => <td key={i} style={{ textAlign: tb.align[i] ?? undefined }}>{inline(c.tokens, `${key}.${ri}.${i}`)}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case 'html':
      return <p key={key}>{(t as Tokens.HTML).text}</p>;
    default:
      return inlineToken(t, key);
  }
}

function blocks(tokens: Token[], keyBase: string): ReactNode[] {
  return tokens.map((t, i) => block(t, `${keyBase}.${i}`));
}

/** Text keeps the source's entity references (&amp; etc.), which markdown means as characters; code keeps them as typed. */
function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? _);
}

function walkTokens(tokens: Token[] | undefined, fn: (t: Token) => void): void {
  for (const t of tokens ?? []) {
    fn(t);
    const x = t as Token & { tokens?: Token[]; items?: { tokens: Token[] }[]; header?: { tokens: Token[] }[]; rows?: { tokens: Token[] }[][] };
    walkTokens(x.tokens, fn);
    for (const it of x.items ?? []) walkTokens(it.tokens, fn);
    for (const c of x.header ?? []) walkTokens(c.tokens, fn);
    for (const r of x.rows ?? []) for (const c of r) walkTokens(c.tokens, fn);
  }
}

/** Each image token's place among the document's images, numbered as parsed. */
const imageIndexes = new WeakMap<Token, number>();
function imageIndex(t: Token): number {
  return imageIndexes.get(t) ?? 0;
}

export function parseMarkdown(src: string): Token[] {
  return new Lexer({ gfm: true, breaks: true }).lex(src);
}

export function Markdown({ source, className, streamKey }: { source: string; className?: string; streamKey?: string }) {
  const tokens = parseMarkdown(source);
  let n = 0;
  walkTokens(tokens, (t) => {
    if (t.type === 'image') imageIndexes.set(t, n++);
  });
  const body = <div className={className ?? 'md'}>{blocks(tokens, 'm')}</div>;
  return streamKey ? <StreamContext.Provider value={streamKey}>{body}</StreamContext.Provider> : body;
}
