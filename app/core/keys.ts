// Showing and reading stream public keys. People copy keys out of URLs, chat messages and
// terminals, or read them aloud, so parsing accepts every form a key is likely to arrive in
// and always yields exactly 32 bytes (or says which forms it accepts).
import { DrayerError } from './errors.js';
import { fromPgpWords, splitWords, toPgpWords } from './pgpwords.js';
import { cleanName } from './text.js';

export const KEY_BYTES = 32;
/** The original Drayer showed the words of pk[:24]; we keep that length for display. */
export const FINGERPRINT_BYTES = 24;
export const LINK_SCHEME = 'drayer:';

const ACCEPTED =
  'A stream key is 32 bytes written as base64 (standard or URL-safe, padding optional, percent-encoding allowed), ' +
  `a ${LINK_SCHEME} link, 64 hex digits, or the 32 PGP words of the whole key (separated by spaces, commas or other punctuation).`;

/** Characters some written form of a base64 key may hold (a quote_plus space, percent-encoding). */
const BASE64_FORMS = /^[A-Za-z0-9+/=_\- %]*$/;

/** Standard base64 with padding: the form the original Drayer shows and the stream file stores. */
export function formatKey(pk: Uint8Array): string {
  return Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('base64');
}

/** Words for reading a key aloud (standard alternating PGP word list) of its first 24 bytes. */
export function fingerprint(pk: Uint8Array): string {
  return toPgpWords(pk.subarray(0, FINGERPRINT_BYTES));
}

/** The whole key as 32 PGP words: unlike the 24-word fingerprint, it parses back (parseKey). */
export function keyWords(pk: Uint8Array): string {
  return toPgpWords(pk);
}

/** How many of the fingerprint's words make a name for a stream that has none (keyName). */
const NAME_WORDS = 4;

/**
 * A name made from a key, for a stream without a name of its own (streams made by the original
 * Drayer have no drayer/info record): the first words of its fingerprint, so the CLI, the node's
 * API and its pages all show the same words, and they match what `info` shows as the fingerprint.
 */
export function keyName(pk: Uint8Array): string {
  return toPgpWords(pk.subarray(0, NAME_WORDS));
}

/** A stream's name to show: its drayer/info name when it has one (cleaned: text.ts), else keyName. */
export function streamName(name: unknown, pk: Uint8Array): string {
  const clean = cleanName(name);
  return clean !== '' ? clean : keyName(pk);
}

/** A link that survives URLs and chat apps unescaped: `drayer:` + URL-safe base64, no padding. */
export function keyLink(pk: Uint8Array): string {
  return LINK_SCHEME + Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('base64url');
}

function invalid(why: string): DrayerError {
  return new DrayerError('INVALID_ARGUMENT', `That is not a stream key (${why}). ${ACCEPTED}`);
}

function fromBase64(s: string): Uint8Array {
  // URL-safe alphabet and missing padding are normalised to standard base64 first.
  let b = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(b)) throw invalid('it has characters that are not base64');
  if (b.length % 4 === 1) throw invalid('its base64 length is impossible');
  b += '='.repeat((4 - (b.length % 4)) % 4);
  const bytes = new Uint8Array(Buffer.from(b, 'base64'));
  if (bytes.length !== KEY_BYTES) throw invalid(`it decodes to ${bytes.length} bytes`);
  // Buffer ignores stray low bits in the last character; a canonical check catches typos there.
  if (Buffer.from(bytes).toString('base64') !== b) throw invalid('its last base64 character is not one a key can end with');
  return bytes;
}

/** Parse a public key from any accepted form; throws DrayerError INVALID_ARGUMENT otherwise. */
export function parseKey(text: string): Uint8Array {
  if (typeof text !== 'string') throw invalid('it is not text');
  let s = text.trim();
  if (!s) throw invalid('it is empty');

  if (s.toLowerCase().startsWith(LINK_SCHEME)) {
    s = s
      .slice(LINK_SCHEME.length)
      .replace(/^\/\//, '')
      .replace(/[/?#].*$/, '');
  }

  // Words: several alphabetic tokens between spaces or punctuation (see splitWords). A base64 key
  // is one token, or, split at its '+', '/', '-' or '_', tokens with digits or no PGP words, so
  // it falls through to the base64 path below.
  const tokens = splitWords(s);
  if (tokens.length > 1 && tokens.every((t) => /^[A-Za-z]+$/.test(t))) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = fromPgpWords(s);
    } catch (e) {
      // Clearly meant as words (32 of them, or punctuation no base64 form holds, like commas):
      // naming the misspelt word helps, "not base64" would not.
      if (tokens.length === KEY_BYTES || !BASE64_FORMS.test(s)) throw invalid(`${(e as Error).message.replace(/^Unknown/, 'unknown')}; check its spelling`);
    }
    if (bytes) {
      if (bytes.length === KEY_BYTES) return bytes;
      if (bytes.length === FINGERPRINT_BYTES) {
        throw invalid('those are the 24 words of a fingerprint, which identify a key but are too short to be one; ask for the full key');
      }
      throw invalid(`it is ${bytes.length} PGP words, not ${KEY_BYTES}`);
    }
  }

  if (/^[0-9a-fA-F]{64}$/.test(s)) return new Uint8Array(Buffer.from(s, 'hex'));

  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      throw invalid('its percent-encoding is broken');
    }
  }
  // quote_plus/unquote_plus round trips turn '+' into ' '; base64 has no spaces otherwise.
  try {
    return fromBase64(s.replace(/ /g, '+'));
  } catch (e) {
    // A '+' at either end became a space that trimming removed: retry keeping edge spaces.
    const edges = text.replace(/^[\t\r\n]+|[\t\r\n]+$/g, '');
    if (edges !== text.trim() && !edges.includes('%') && /^[A-Za-z0-9+/ =_-]+$/.test(edges)) {
      try {
        return fromBase64(edges.replace(/ /g, '+'));
      } catch {
        // report the first, more likely reason
      }
    }
    throw e;
  }
}

/** True when `text` parses as a key (for UIs deciding how to treat pasted text). */
export function isKey(text: string): boolean {
  try {
    parseKey(text);
    return true;
  } catch {
    return false;
  }
}
