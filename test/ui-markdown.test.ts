// How a post's markdown is prepared for the screen: nesting is bounded before the lexer and the
// element tree recurse (a followed stream's `>` x 1500 once blanked the app), text blocks read in
// their own direction, and the excerpt the library keeps is cut where nothing breaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';
import { excerpt, EXCERPT_CHARS, splitExcerpt } from '../app/node/timeline-text.js';

const load = rendererModules();

const HOSTILE: Record<string, string> = {
  quotes: '>'.repeat(1500) + ' x',
  quotesSpaced: '> '.repeat(3000) + 'x',
  fileQuotes: '>'.repeat(2500) + ' x',
  lists: '- '.repeat(1500) + 'x',
  ordered: '1. '.repeat(1500) + 'x',
  emphasis: '*'.repeat(3000) + 'x' + '*'.repeat(3000),
  strong: '**'.repeat(1500) + 'x' + '**'.repeat(1500),
  spacedEmphasis: '*a '.repeat(3000) + 'x' + ' a*'.repeat(3000),
  quoteLines: Array.from({ length: 400 }, (_, i) => '>'.repeat(i + 1) + ' x').join('\n'),
  indentedLists: Array.from({ length: 200 }, (_, i) => '  '.repeat(i) + '- a').join('\n'),
};

test('markdown nested beyond the bound is shown as its text, and rendering it does not overflow the stack', async () => {
  const { Markdown, prepareMarkdown, sourceDepth, MAX_MD_DEPTH } = await load('lib/markdown.tsx');
  const { createElement } = await import('react');
  const { renderToStaticMarkup } = await import('react-dom/server');
  for (const [name, src] of Object.entries(HOSTILE)) {
    const t0 = performance.now();
    const p = prepareMarkdown(src);
    assert.equal(p.kind, 'text', `${name}: shown as text`);
    const html: string = renderToStaticMarkup(createElement(Markdown, { source: src, streamKey: 'K' }));
    assert.ok(html.includes('md-plain-text'), name);
    assert.ok(!html.includes('<blockquote') && !html.includes('<ul') && !html.includes('<em'), `${name}: no nested elements`);
    assert.ok(performance.now() - t0 < 3000, `${name}: bounded time (${Math.round(performance.now() - t0)} ms)`);
  }
  // what people write stays markdown: moderate nesting, snake_case, stars in arithmetic, code
  const fine = [
    '> quoted\n>> twice\n>>> thrice',
    '- a\n  - b\n    - c\n      - d',
    'snake_case_name and 2 * 3 * 4 and **bold** _em_',
    '```\n' + '>'.repeat(500) + '\n```',
    '> '.repeat(MAX_MD_DEPTH) + 'deep but allowed',
  ];
  for (const src of fine) assert.equal(prepareMarkdown(src).kind, 'markdown', src.slice(0, 40));
  assert.equal(prepareMarkdown('> '.repeat(MAX_MD_DEPTH + 1) + 'x').kind, 'text');
  assert.equal(sourceDepth('```\n' + '>'.repeat(500) + '\n```'), 0, 'fenced code does not nest');
});

test('every text block reads in its own direction (dir=auto)', async () => {
  const { Markdown } = await load('lib/markdown.tsx');
  const { createElement } = await import('react');
  const { renderToStaticMarkup } = await import('react-dom/server');
  const html: string = renderToStaticMarkup(createElement(Markdown, { source: '# عنوان\n\nمرحبا بالعالم\n\n- שלום\n\n> quote' }));
  for (const tag of ['h3', 'p', 'li', 'blockquote']) assert.match(html, new RegExp(`<${tag}[^>]* dir="auto"`), tag);
});

test('the timeline excerpt is cut between words, never inside a link, and says it was cut', () => {
  const words = 'lorem ipsum dolor sit amet '.repeat(40);
  const cut = splitExcerpt(excerpt(words));
  assert.equal(cut.cut, true);
  assert.ok(cut.body.length <= EXCERPT_CHARS + 1);
  assert.match(cut.body, /(lorem|ipsum|dolor|sit|amet)…$/, 'ends on a whole word');
  // a link across the cut: the excerpt stops before it, so no live link to half a URL
  const link = `${'word '.repeat(90)}see [the long document](https://example.org/${'x'.repeat(200)}) after`;
  const l = splitExcerpt(excerpt(link));
  assert.equal(l.cut, true);
  assert.ok(!l.body.includes('[the long'), l.body.slice(-60));
  const bare = `${'word '.repeat(95)}https://example.org/${'y'.repeat(100)} after ${'z '.repeat(100)}`;
  assert.ok(!/https:\/\/example\.org\/y*…$/.test(splitExcerpt(excerpt(bare)).body), 'a bare URL is never cut');
  // pictures after the cut still show; a short post is whole and not marked
  const pics = splitExcerpt(excerpt(`${words}\n\n![a](media/a.png)`));
  assert.ok(pics.cut && pics.body.endsWith('![a](media/a.png)'));
  assert.deepEqual(splitExcerpt(excerpt('short and whole')), { body: 'short and whole', cut: false });
  // rows a library indexed before excerpts were marked: cut at exactly EXCERPT_CHARS
  assert.equal(splitExcerpt('x'.repeat(EXCERPT_CHARS)).cut, true);
  assert.equal(splitExcerpt(`${'x'.repeat(EXCERPT_CHARS)}…\n\n![a](media/a.png)`).cut, true);
  assert.equal(splitExcerpt('x'.repeat(EXCERPT_CHARS - 10)).cut, false);
  // one word longer than the excerpt: kept whole up to a bound, never split mid-word below it
  const long = splitExcerpt(excerpt('a'.repeat(700) + ' tail ' + 'b '.repeat(400)));
  assert.ok(long.cut && long.body.startsWith('a'.repeat(700)));
});

test('plain prose skips the lexer and shows exactly what marked makes of it; anything markdown could read goes to marked', async () => {
  const { isPlainProse, parseMarkdown, prepareMarkdown, Markdown } = await load('lib/markdown.tsx');
  const { createElement } = await import('react');
  const { renderToStaticMarkup } = await import('react-dom/server');
  const fc = await import('fast-check');
  // what marked makes of a source, reduced to what the card shows
  const shape = (tokens: { type: string; text?: string; tokens?: unknown[] }[]): unknown =>
    tokens.map((t) => ({ type: t.type, text: t.text, tokens: t.tokens ? shape(t.tokens as never) : undefined }));
  const plain = [
    'Garden river morning coffee.',
    'Is it raining? Yes, a little (since noon); bring the bread!',
    '“Quoted” and ‘single’ words, a dash - and an ellipsis…',
    'مرحبا بالعالم، هذا منشور عربي.',
    'Straße café naïve, zoë 2024 and x-ray.',
    '😀 ¿Qué tal? «Bien» — 5 € and 3 °C.',
  ];
  for (const src of plain) {
    assert.equal(isPlainProse(src), true, src);
    const p = prepareMarkdown(src);
    assert.equal(p.kind, 'markdown');
    assert.deepEqual(shape(p.tokens), shape(parseMarkdown(src)), src);
    assert.equal(renderToStaticMarkup(createElement(Markdown, { source: src })), `<div class="md"><p dir="auto">${src}</p></div>`.replace('&', '&amp;'));
  }
  const markdown = [
    '- a list',
    '1. ordered',
    '# heading',
    '> quote',
    'a *star*',
    'snake_case',
    'a [link](http://x)',
    'see www.example.com now',
    'mail me@example.com',
    'http://example.com',
    'line one\nline two',
    'text\n===',
    'a `code` span',
    'a &amp; b',
    '    indented code',
    'two trailing spaces  ',
    '<b>html</b>',
    'a\u00a0non-breaking space',
    'cost $5 + tax = more',
    'a ~~strike~~',
    'col | col',
    '',
  ];
  for (const src of markdown) assert.equal(isPlainProse(src), false, JSON.stringify(src));
  // Any source the fast path takes, marked reads as that same one paragraph.
  const prose = [...'abz AZ09 ,.;?!\'"()-éا…“”‘’،w', '😀'];
  const markup = [...'\n*_#>[]:/@&<$~|`\\=+^{}%\u00a0\u2028\t'];
  let taken = 0;
  const char = fc.oneof({ arbitrary: fc.constantFrom(...prose), weight: 30 }, { arbitrary: fc.constantFrom(...markup), weight: 1 });
  fc.assert(
    fc.property(fc.array(char, { maxLength: 40 }), (chars) => {
      const src = chars.join('');
      if (!isPlainProse(src)) return true;
      taken++;
      assert.deepEqual(shape(prepareMarkdown(src).tokens as never), shape(parseMarkdown(src)), JSON.stringify(src));
      return true;
    }),
    { numRuns: 3000 },
  );
  assert.ok(taken > 500, `the fast path was tried (${taken} sources)`);
});
