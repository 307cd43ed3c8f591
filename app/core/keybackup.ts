// Key backup: a stream's secret key written as words a person can copy onto paper, and read back.
// The words are the standard PGP word list of the 32-byte Ed25519 seed (the key file holds the seed
// and the public key; the seed alone makes both), so they round-trip exactly. Restoring accepts
// the words with any separator, the original Drayer's all-even-list words, 64 hex digits, or the
// base64 text of a key file. A private stream's backup is 64 words: the seed's 32, then its read
// key's 32 (DESIGN §8), so the words alone restore both writing and reading.
import { bytesEqual, keyPairFromSeed, type KeyPair } from './crypto.js';
import { DrayerError } from './errors.js';
import { fromPgpWords, splitWords, toPgpWords } from './pgpwords.js';

export const SECRET_WORDS = 32;
/** A private stream's backup: the seed's words, then the read key's. */
export const PRIVATE_BACKUP_WORDS = 64;

/** The 32 words of a key pair's seed, in order; with a read key, its 32 words follow. */
export function secretWords(kp: KeyPair, readKey?: Uint8Array | null): string[] {
  const words = toPgpWords(kp.seed).split(' ');
  return readKey ? words.concat(toPgpWords(readKey).split(' ')) : words;
}

function bad(why: string): DrayerError {
  return new DrayerError(
    'INVALID_ARGUMENT',
    `Those are not the words of a secret key: ${why}. A backup is ${SECRET_WORDS} words from the PGP word list, in order; check each against what you wrote down.`,
  );
}

/** The key pair written as words (or as a key file's text); throws INVALID_ARGUMENT saying what is wrong. */
export function parseSecret(text: string): KeyPair {
  return parseBackup(text).keyPair;
}

/** The key pair and, from a private stream's 64 words, its read key (null otherwise). */
export function parseBackup(text: string): { keyPair: KeyPair; readKey: Uint8Array | null } {
  if (typeof text !== 'string' || !text.trim()) throw bad('there are none');
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return { keyPair: keyPairFromSeed(new Uint8Array(Buffer.from(t, 'hex'))), readKey: null };
  const words = splitWords(t);
  if (/^[A-Za-z0-9+/_-]{40,}=*$/.test(t)) {
    // the text of a key file: base64 of libsodium's 64-byte key, or of a 32-byte seed
    const raw = new Uint8Array(Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    if (raw.length === 64 || raw.length === 32) {
      const kp = keyPairFromSeed(raw.subarray(0, 32));
      if (raw.length === 64 && !bytesEqual(kp.publicKey, raw.subarray(32))) throw bad('that key file text is damaged (its halves do not match)');
      return { keyPair: kp, readKey: null };
    }
  }
  if (!words.every((w) => /^[A-Za-z]+$/.test(w))) throw bad('some of it is not words');
  let seed: Uint8Array;
  try {
    seed = fromPgpWords(t);
  } catch (e) {
    throw bad((e as Error).message.replace(/^Unknown PGP word/, 'there is no word'));
  }
  if (seed.length === PRIVATE_BACKUP_WORDS) return { keyPair: keyPairFromSeed(seed.subarray(0, SECRET_WORDS)), readKey: seed.slice(SECRET_WORDS) };
  if (seed.length !== SECRET_WORDS) throw bad(`there are ${seed.length}, not ${SECRET_WORDS} (or ${PRIVATE_BACKUP_WORDS} for a private stream)`);
  return { keyPair: keyPairFromSeed(seed), readKey: null };
}
