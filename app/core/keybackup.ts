// Key backup: a stream's secret key written as words a person can copy onto paper, and read back.
// The words are the standard PGP word list of the 32-byte Ed25519 seed (the key file holds the seed
// and the public key; the seed alone makes both), so they round-trip exactly. Restoring accepts
// the words with any separator, the original Drayer's all-even-list words, 64 hex digits, or the
// base64 text of a key file.
import { bytesEqual, keyPairFromSeed, type KeyPair } from './crypto.js';
import { DrayerError } from './errors.js';
import { fromPgpWords, splitWords, toPgpWords } from './pgpwords.js';

export const SECRET_WORDS = 32;

/** The 32 words of a key pair's seed, in order. */
export function secretWords(kp: KeyPair): string[] {
  return toPgpWords(kp.seed).split(' ');
}

function bad(why: string): DrayerError {
  return new DrayerError(
    'INVALID_ARGUMENT',
    `Those are not the words of a secret key: ${why}. A backup is ${SECRET_WORDS} words from the PGP word list, in order; check each against what you wrote down.`,
  );
}

/** The key pair written as words (or as a key file's text); throws INVALID_ARGUMENT saying what is wrong. */
export function parseSecret(text: string): KeyPair {
  if (typeof text !== 'string' || !text.trim()) throw bad('there are none');
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return keyPairFromSeed(new Uint8Array(Buffer.from(t, 'hex')));
  const words = splitWords(t);
  if (/^[A-Za-z0-9+/_-]{40,}=*$/.test(t)) {
    // the text of a key file: base64 of libsodium's 64-byte key, or of a 32-byte seed
    const raw = new Uint8Array(Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    if (raw.length === 64 || raw.length === 32) {
      const kp = keyPairFromSeed(raw.subarray(0, 32));
      if (raw.length === 64 && !bytesEqual(kp.publicKey, raw.subarray(32))) throw bad('that key file text is damaged (its halves do not match)');
      return kp;
    }
  }
  if (!words.every((w) => /^[A-Za-z]+$/.test(w))) throw bad('some of it is not words');
  let seed: Uint8Array;
  try {
    seed = fromPgpWords(t);
  } catch (e) {
    throw bad((e as Error).message.replace(/^Unknown PGP word/, 'there is no word'));
  }
  if (seed.length !== SECRET_WORDS) throw bad(`there are ${seed.length}, not ${SECRET_WORDS}`);
  return keyPairFromSeed(seed);
}
