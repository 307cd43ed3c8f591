// How post text shows outside its post: the excerpt the timeline keeps of a body, and the
// plain search terms and snippets of full-text search (nothing a person types is FTS5 syntax).

/** Characters of a post body kept in the timeline (the full body is only in the search index). */
export const EXCERPT_CHARS = 500;

/** Pictures a post shows from its own stream's files (`![alt](relative/path)`), as written. */
const STREAM_IMAGE = /!\[[^\]\n]{0,200}\]\((?![a-z][a-z0-9+.-]*:|\/)[^()\s]{1,300}\)/gi;
const EXCERPT_IMAGES = 4;

/**
 * Ends an excerpt that is not the whole body (then the timeline item says `cut`): a noncharacter,
 * never shown. A body that itself ends with one only costs a reader one needless "Show more".
 */
const CUT_MARK = '\uffff';
/** A first word longer than the excerpt is kept whole up to this many characters. */
const MAX_WORD = 2 * EXCERPT_CHARS;
/** A link as written: `[text](href "title")` or `![alt](path)`, within bounds. */
const LINK_AT = /^!?\[[^\]\n]{0,500}\]\([^()\s]{0,2000}(?:\s+"[^"\n]{0,200}")?\)/;

/** Where to end an excerpt of s: between words, before a paragraph when one is near, outside links and code. */
function cutPoint(s: string): number {
  let end = EXCERPT_CHARS;
  if (!/\s/.test(s[end] ?? ' ')) {
    const head = s.slice(0, end);
    const para = head.lastIndexOf('\n\n');
    const space = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\n'), head.lastIndexOf('\t'));
    if (para >= EXCERPT_CHARS * 0.6) end = para;
    else if (space > 0) end = space;
    else {
      const next = s.slice(0, MAX_WORD + 1).search(/\s/);
      end = next > 0 ? next : EXCERPT_CHARS;
    }
  }
  // A link (or picture) that would be cut is left out whole: never a live link to half a URL.
  for (let i = s.indexOf('[', Math.max(0, end - 3000)); i !== -1 && i < end; i = s.indexOf('[', i + 1)) {
    const start = i > 0 && s[i - 1] === '!' ? i - 1 : i;
    const m = LINK_AT.exec(s.slice(start, start + 2800));
    if (m && start + m[0].length > end) {
      end = start;
      break;
    }
  }
  // an inline code span left open shows its backtick: end before it
  const head = s.slice(0, end);
  if (((head.match(/`/g) ?? []).length & 1) === 1 && !/^ {0,3}```/m.test(head)) end = head.lastIndexOf('`');
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // never split a surrogate pair
  return end;
}

/** What the timeline keeps of a post body: the whole of it, or its start and its pictures, marked as cut. */
export function excerpt(s: string): string {
  if (s.length <= EXCERPT_CHARS) return s;
  const end = cutPoint(s);
  const cut = s.slice(0, end).trimEnd();
  // Pictures attached after the cut still show in the timeline (attachments sit at a post's end).
  const images = (s.slice(cut.length).match(STREAM_IMAGE) ?? []).slice(0, EXCERPT_IMAGES);
  // "…" where a paragraph is cut short; a cut between paragraphs ends as written
  const between = /^\s*\n\s*\n/.test(s.slice(end));
  return `${cut}${between ? '' : '…'}${images.length ? `\n\n${images.join('\n\n')}` : ''}${CUT_MARK}`;
}

/** A stored excerpt as shown: the text, and whether the post holds more. */
export function splitExcerpt(stored: string): { body: string; cut: boolean } {
  if (stored.endsWith(CUT_MARK)) return { body: stored.slice(0, -CUT_MARK.length), cut: true };
  // Rows indexed before excerpts were marked: cut at exactly EXCERPT_CHARS (one less before a
  // surrogate pair), pictures after "…". A whole post of that length only gets a needless "Show more".
  const old = stored.length === EXCERPT_CHARS || stored.length === EXCERPT_CHARS - 1 || OLD_CUT.test(stored);
  return { body: stored, cut: old };
}
const OLD_CUT = new RegExp(`^[\\s\\S]{${EXCERPT_CHARS - 1},${EXCERPT_CHARS}}…\\n\\n!\\[`);

/** Search terms from user text: words only, so nothing a person types is FTS5 syntax. */
export function searchTerms(query: string): string[] {
  return (String(query).match(/[\p{L}\p{N}\p{M}_]+/gu) ?? []).slice(0, 32);
}

/** A quoted FTS5 query: every term must match; the last one also as a prefix (search as you type). */
export function ftsQuery(terms: string[]): string {
  return terms.map((t, i) => `"${t.replace(/"/g, '""')}"${i === terms.length - 1 ? '*' : ''}`).join(' ');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A word's start, as the pattern below looks for it: what comes before is no letter, digit, mark or "_". */
const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;

/** Where the first word starting with a term begins, in any case (a pattern; kept for text whose casing changes its length). */
export function firstWordPattern(terms: string[]): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}\\p{M}_])(?:${terms.map(escapeRegExp).join('|')})`, 'iu');
}

/**
 * Where the first word starting with one of the terms begins in `text`, or -1: what
 * firstWordPattern finds, without making and compiling a case-blind Unicode pattern for every
 * query (its first runs cost search 2–4 ms a query, more than reading its rows).
 */
export function firstWordAt(text: string, terms: string[]): number {
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return text.search(firstWordPattern(terms)); // İ lowers to two characters
  let best = -1;
  for (const term of terms) {
    const t = term.toLowerCase();
    if (!t) continue;
    for (let i = lower.indexOf(t); i !== -1 && (best === -1 || i < best); i = lower.indexOf(t, i + 1)) {
      const low = i > 0 ? text.charCodeAt(i - 1) : 0;
      const before = i === 0 ? '' : low >= 0xdc00 && low <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text[i - 1]!;
      if (!before || !WORD_CHAR.test(before)) {
        best = i;
        break;
      }
    }
  }
  return best;
}

/** Plain text around the first word that starts with a search term, from the title or the excerpt. */
export function makeSnippet(title: string, body: string, terms: string[]): string {
  const text = body ? (title ? `${title} — ${body}` : body) : title;
  const at = firstWordAt(text, terms);
  const before = 40;
  const width = 160;
  let start = at <= before ? 0 : at - before;
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space !== -1 && space < at) start = space + 1;
  }
  let end = Math.min(text.length, start + width);
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > Math.max(at, start)) end = space;
  }
  return `${start > 0 ? '…' : ''}${text.slice(start, end).replace(/\s+/g, ' ').trim()}${end < text.length ? '…' : ''}`;
}
