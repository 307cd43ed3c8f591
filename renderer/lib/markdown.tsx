// Markdown to React elements, never to an HTML string: marked only tokenizes, and every token
// becomes an element whose text React escapes. Raw HTML in a post shows as text; links open
// only for http(s), mailto and drayer: schemes; images come only from the post's own stream
// (a relative path, read through the node). Post bodies are untrusted (anyone's stream).
import { createContext, Fragment, useContext, useMemo, type ReactNode } from 'react';
import { Lexer, type Token, type Tokens } from 'marked';
import { streamFileRef } from './files';
import { StreamImage } from '../components/StreamImage';
import { MentionLink } from '../components/Mention';

/** The stream whose files a post's relative image paths name. */
const StreamContext = createContext<string | null>(null);
/** Pictures one post shows at most; the rest show as their alt text (a post cannot make the app read a thousand files). */
export const MAX_POST_IMAGES = 16;

function MdImage({ href, alt, token }: { href: string; alt: string; token: Token }) {
  const streamKey = useContext(StreamContext);
  const index = useContext(ImagesContext)?.get(token) ?? 0;
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
      // a link to a stream is a mention (issue 21): it opens the stream here, or offers to follow it
      if (/^drayer:/i.test(href) && !href.includes('#'))
        return (
          <MentionLink key={key} href={href}>
            {children}
          </MentionLink>
        );
      return (
        <a key={key} href={href} target="_blank" rel="noopener noreferrer nofollow" title={l.title ?? undefined}>
          {children}
        </a>
      );
    }
    case 'image': {
      const img = t as Tokens.Image;
      return <MdImage key={key} href={img.href} alt={img.text} token={img} />;
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
      return (
        <Tag key={key} className="md-heading" dir="auto">
          {inline(h.tokens, key)}
        </Tag>
      );
    }
    case 'paragraph':
      return (
        <p key={key} dir="auto">
          {inline((t as Tokens.Paragraph).tokens, key)}
        </p>
      );
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
      return (
        <blockquote key={key} dir="auto">
          {blocks((t as Tokens.Blockquote).tokens, key)}
        </blockquote>
      );
    case 'hr':
      return <hr key={key} />;
    case 'list': {
      const l = t as Tokens.List;
      const items = l.items.map((it, i) => (
        <li key={`${key}.${i}`} dir="auto">
          {it.task ? <input type="checkbox" checked={!!it.checked} readOnly disabled aria-label={it.checked ? 'done' : 'not done'} /> : null}
          {blocks(it.tokens, `${key}.${i}`)}
        </li>
      ));
      return l.ordered ? (
        <ol key={key} start={typeof l.start === 'number' && l.start !== 1 ? l.start : undefined}>
          {items}
        </ol>
      ) : (
        <ul key={key}>{items}</ul>
      );
    }
    case 'table': {
      const tb = t as Tokens.Table;
      return (
        <div key={key} className="md-table">
          <table>
            <thead>
              <tr>
                {tb.header.map((c, i) => (
                  <th key={i} dir="auto" style={{ textAlign: tb.align[i] ?? undefined }}>
                    {inline(c.tokens, `${key}.h${i}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {tb.rows.map((r, ri) => (
                <tr key={ri}>
                  {r.map((c, i) => (
                    <td key={i} dir="auto" style={{ textAlign: tb.align[i] ?? undefined }}>
                      {inline(c.tokens, `${key}.${ri}.${i}`)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case 'html':
      return (
        <p key={key} dir="auto">
          {(t as Tokens.HTML).text}
        </p>
      );
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
type ImageIndexes = WeakMap<Token, number>;
const ImagesContext = createContext<ImageIndexes | null>(null);

/**
 * How deep markdown may nest (blockquotes, lists, emphasis, links, together) and still be shown
 * as markdown. Beyond it the post shows as its text: marked's lexer and the element tree both
 * recurse once per level, and a 1.5 KB post of `>` overflowed the stack and blanked the app.
 */
export const MAX_MD_DEPTH = 20;

/**
 * A cheap look at the source before the lexer recurses into it: the deepest run of block
 * containers opening one line (`>`, `- `, `1. `) and of emphasis opened and not yet closed in a
 * paragraph. Either beyond the bound means text. Fenced code is skipped (it does not nest).
 */
export function sourceDepth(src: string): number {
  let max = 0;
  let fence: string | null = null;
  let open = 0;
  for (const line of src.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (f && f[1]!.startsWith(fence)) fence = null;
      continue;
    }
    if (f) {
      fence = f[1]!;
      continue;
    }
    if (line.trim() === '') {
      open = 0;
      continue;
    }
    // block containers at the start of the line
    let i = 0;
    let blocks = 0;
    for (;;) {
      while (line[i] === ' ' || line[i] === '\t') i++;
      const c = line[i];
      if (c === '>') {
        blocks++;
        i++;
        continue;
      }
      if ((c === '-' || c === '*' || c === '+') && (line[i + 1] === ' ' || line[i + 1] === '\t')) {
        blocks++;
        i += 2;
        continue;
      }
      const num = /^\d{1,9}[.)][ \t]/.exec(line.slice(i, i + 12));
      if (num) {
        blocks++;
        i += num[0].length;
        continue;
      }
      break;
    }
    // emphasis runs: one that only opens (a word follows, space or start before) adds its length
    const re = /[*_]+/g;
    re.lastIndex = i;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      const before = m.index === 0 ? ' ' : line[m.index - 1]!;
      const after = line[m.index + m[0].length] ?? ' ';
      const spaceBefore = /[\s\p{P}]/u.test(before);
      const spaceAfter = /[\s\p{P}]/u.test(after);
      if (spaceBefore && !spaceAfter) {
        open += m[0].length;
        if (open >> 1 > max) max = open >> 1;
      } else if (!spaceBefore && spaceAfter) open = Math.max(0, open - m[0].length);
    }
    max = Math.max(max, blocks);
  }
  return max;
}

/** The deepest nesting of a token tree, counted without recursion. */
export function tokenDepth(tokens: Token[]): number {
  let max = 0;
  const stack: [Token[] | undefined, number][] = [[tokens, 1]];
  while (stack.length) {
    const [ts, d] = stack.pop()!;
    if (!ts) continue;
    if (d > max) max = d;
    for (const t of ts) {
      const x = t as Token & { tokens?: Token[]; items?: { tokens: Token[] }[]; header?: { tokens: Token[] }[]; rows?: { tokens: Token[] }[][] };
      stack.push([x.tokens, d + 1]);
      for (const it of x.items ?? []) stack.push([it.tokens, d + 1]);
      for (const c of x.header ?? []) stack.push([c.tokens, d + 1]);
      for (const r of x.rows ?? []) for (const c of r) stack.push([c.tokens, d + 1]);
    }
  }
  return max;
}

/**
 * One line of words, sentence punctuation and non-ASCII marks, with nothing markdown reads as markup (no markers,
 * no line breaks, no link or entity, no www. autolink, not starting with a digit or a dash):
 * marked would make it one paragraph of this very text. Most posts are such prose, and a feed
 * shows it without the lexer, whose first runs (its regular expressions still cold) cost most of
 * Home's first paint.
 */
const PLAIN_PROSE = /^(?:[\p{L}\p{M}"'(]|(?![\x00-\x7f])[\p{P}\p{S}])(?:[\p{L}\p{M}\p{N} ,.;?!'"()-]|(?![\x00-\x7f])[\p{P}\p{S}])*$/u;

export function isPlainProse(src: string): boolean {
  return src.length <= 4096 && PLAIN_PROSE.test(src) && !/www\./i.test(src) && !/\s$/.test(src) && !/ {2}/.test(src);
}

/** The paragraph token marked makes of plain prose (what `block` reads of it). */
function plainParagraph(src: string): Token {
  return { type: 'paragraph', raw: src, text: src, tokens: [{ type: 'text', raw: src, text: src, escaped: false }] } as Token;
}

export type Prepared = { kind: 'markdown'; tokens: Token[]; images: ImageIndexes } | { kind: 'text'; text: string };

export function parseMarkdown(src: string): Token[] {
  return new Lexer({ gfm: true, breaks: true }).lex(src);
}

/**
 * A source ready to show: its tokens (with each picture's place), or the text as written when it
 * nests beyond MAX_MD_DEPTH (before or after lexing) or the lexer fails on it. Never throws.
 */
export function prepareMarkdown(src: string): Prepared {
  if (isPlainProse(src)) return { kind: 'markdown', tokens: [plainParagraph(src)], images: new WeakMap() };
  if (sourceDepth(src) > MAX_MD_DEPTH) return { kind: 'text', text: src };
  let tokens: Token[];
  try {
    tokens = parseMarkdown(src);
  } catch {
    return { kind: 'text', text: src };
  }
  // a level of list is three tokens deep (list, item, its text): the element tree must stay shallow
  if (tokenDepth(tokens) > 3 * MAX_MD_DEPTH) return { kind: 'text', text: src };
  const images: ImageIndexes = new WeakMap();
  let n = 0;
  walkTokens(tokens, (t) => {
    if (t.type === 'image') images.set(t, n++);
  });
  return { kind: 'markdown', tokens, images };
}

/** Parsed sources, most recently used last: cards of a windowed feed mount again as they scroll back. */
const prepared = new Map<string, Prepared>();
let preparedChars = 0;
const CACHE_CHARS = 4 * 1024 * 1024;

export function preparedMarkdown(src: string): Prepared {
  const hit = prepared.get(src);
  if (hit) {
    prepared.delete(src);
    prepared.set(src, hit);
    return hit;
  }
  const p = prepareMarkdown(src);
  if (src.length <= CACHE_CHARS / 8) {
    prepared.set(src, p);
    preparedChars += src.length;
    for (const k of prepared.keys()) {
      if (preparedChars <= CACHE_CHARS) break;
      prepared.delete(k);
      preparedChars -= k.length;
    }
  }
  return p;
}

export function Markdown({ source, className, streamKey }: { source: string; className?: string; streamKey?: string }) {
  const p = useMemo(() => preparedMarkdown(source), [source]);
  if (p.kind === 'text') {
    return (
      <div className={`${className ?? 'md'} md-plain`}>
        <p dir="auto" className="md-plain-text">
          {p.text}
        </p>
        <p className="md-plain-note">Shown as plain text: it nests too deeply to format.</p>
      </div>
    );
  }
  const body = (
    <ImagesContext.Provider value={p.images}>
      <div className={className ?? 'md'}>{blocks(p.tokens, 'm')}</div>
    </ImagesContext.Provider>
  );
  return streamKey ? <StreamContext.Provider value={streamKey}>{body}</StreamContext.Provider> : body;
}
