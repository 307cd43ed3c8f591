// Text from outside (stream names in signed drayer/info, node names in discovery packets, file
// paths in a followed stream) reaches terminals, log files, the web UI and the phone page. A
// signature proves who wrote a name, not that it is harmless: ESC/OSC sequences retitle or
// repaint a terminal, a newline forges a log line, and a bidi control makes "\u202Egpj.exe" read
// as "exe.jpg". This is the one place that decides which characters those are and what becomes
// of them. No Node imports: the renderer uses it too.
//
// Kept on purpose: U+200D ZERO WIDTH JOINER (emoji sequences: 👩‍💻) and U+200C ZERO WIDTH
// NON-JOINER (Persian and Indic spelling need it); both only change how neighbours join.

/** C0 controls, DEL, C1 controls: what terminals act on (ESC, OSC, CSI, BEL, CR, LF...). */
const CONTROL = '\\u0000-\\u001f\\u007f-\\u009f';
/**
 * Bidi controls (embeddings, overrides, isolates, marks, the Arabic letter mark), line and
 * paragraph separators, and invisible characters that only make two names look alike
 * (zero width space, word joiner and invisible operators, byte order mark).
 */
const FORMAT = '\\u061c\\u200b\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff';

const UNSAFE = new RegExp(`[${CONTROL}${FORMAT}]`);
const UNSAFE_ALL = new RegExp(`[${CONTROL}${FORMAT}]`, 'g');
/** Terminal-unsafe but for tab and newline, which a multi-line message keeps. */
const TERMINAL_ALL = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${FORMAT}]`, 'g');
const JSON_UNSAFE_ALL = new RegExp(`[\\u007f-\\u009f${FORMAT}]`, 'g');
// a lone surrogate half is no character: it shows as U+FFFD wherever it goes
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

const NAMES: Record<number, string> = {
  0x1b: 'ESCAPE',
  0x0a: 'LINE FEED',
  0x0d: 'CARRIAGE RETURN',
  0x09: 'TAB',
  0x07: 'BELL',
  0x7f: 'DELETE',
  0x061c: 'ARABIC LETTER MARK',
  0x200b: 'ZERO WIDTH SPACE',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
};

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** "U+202E RIGHT-TO-LEFT OVERRIDE", "U+0001 (a control character)". */
export function describeChar(c: number): string {
  const name =
    NAMES[c] ?? (c <= 0x9f ? '(a control character)' : c >= 0xd800 && c <= 0xdfff ? '(half of a broken character)' : '(an invisible formatting character)');
  return `${codePoint(c)} ${name}`;
}

/**
 * A name to show or log on one line: line breaks and tabs become spaces, other controls, bidi
 * controls and invisible characters go, runs of spaces shrink to one, ends are trimmed; `maxChars` (in
 * characters, not UTF-16 units) cuts what is left. Anything not text is ''.
 */
export function cleanName(s: unknown, maxChars = 0): string {
  if (typeof s !== 'string') return '';
  let out = s
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, ' ')
    .replace(UNSAFE_ALL, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (maxChars > 0 && out.length > maxChars) {
    const chars = [...out];
    if (chars.length > maxChars) out = chars.slice(0, maxChars).join('').trimEnd();
  }
  return out;
}

/**
 * Text for a terminal or a log (several lines allowed): every control but tab and newline goes,
 * bidi controls and invisible characters too. A message made of cleaned names can then neither
 * move the cursor nor retitle the window.
 */
export function terminalSafe(s: string): string {
  return s.replace(LONE_SURROGATE, '\ufffd').replace(TERMINAL_ALL, '');
}

/**
 * JSON text for a terminal: JSON.stringify escapes C0 controls but not DEL, C1 controls or bidi
 * controls; these are written as \uXXXX escapes too, so the document means the same.
 */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A file path as it may be shown: each control, bidi or invisible character written out as
 * ‹U+202E›, so "\u202Egpj.exe" shows as "‹U+202E›gpj.exe", what it really is. The path itself
 * (an identifier) is unchanged wherever it is used to read the file.
 */
export function visiblePath(p: string): string {
  if (!hasHiddenChars(p)) return p;
  return p.replace(LONE_SURROGATE, (c) => `\u2039${codePoint(c.charCodeAt(0))}\u203a`).replace(UNSAFE_ALL, (c) => `\u2039${codePoint(c.charCodeAt(0))}\u203a`);
}

/** Whether `p` holds anything visiblePath would write out. */
export function hasHiddenChars(p: string): boolean {
  return UNSAFE.test(p) || HAS_LONE_SURROGATE.test(p);
}

/**
 * Why a new file path cannot be used, naming the first offending character and its position
 * (1-based, in characters), or null. Paths are refused rather than cleaned: a cleaned path would
 * be another file than the one the writer named.
 */
export function pathCharProblem(p: string): string | null {
  let i = 0;
  for (const ch of p) {
    i++;
    const c = ch.codePointAt(0)!;
    if (UNSAFE.test(ch) || (c >= 0xd800 && c <= 0xdfff)) {
      const bidi = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(ch);
      return `character ${i} is ${describeChar(c)}, ${bidi ? 'which reorders how the name reads (so a name can pass for another, like "exe.jpg" for a program)' : c <= 0x9f ? 'which a terminal or a log would act on' : 'which cannot be seen'}`;
    }
  }
  return null;
}
