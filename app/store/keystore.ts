// Secret key files at rest. A stream's key sits beside it in NAME.stream.privatekey, always 0600:
// plain (base64 of libsodium's 64-byte key, as the original Drayer kept it), or, where the process
// was given a cipher (the desktop app hands in Electron's safeStorage, backed by the OS keychain),
// sealed: a header line naming the format, then base64 of the cipher's output. The file name stays
// the same so everything that looks for "a key beside the stream" keeps working; the header is
// what tells a process without the cipher (the CLI, `drayer serve`) that the key exists but is not
// its to read: only an explicit export from the app writes a plain copy. Plain key files keep
// working everywhere and are sealed the first time the app writes to their stream (sealKeyFile).
// Plain Node: the cipher is an interface, never an import of electron.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bytesEqual, keyPairFromSeed, libsodiumSecretKey, type KeyPair } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';

/** What the desktop app passes in: the shape of Electron's safeStorage. */
export interface KeyCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/** First line of a sealed key file. */
export const SEALED_HEADER = 'drayer-sealed-key/1 safeStorage';

/** Said wherever a sealed key is met without the cipher that reads it. */
export const SEALED_ELSEWHERE =
  "is encrypted by the Drayer desktop app (with this computer's keychain), so only the app can use it. " +
  'Export it from the app (File → Export Secret Keys…) to write to this stream from here.';

let cipher: KeyCipher | null = null;

/** Give this process a cipher for key files (the desktop app, once at start); null takes it away. */
export function useKeyCipher(c: KeyCipher | null): void {
  cipher = c;
}

/** The cipher when it can encrypt now, else null (keys are then written plain, 0600). */
function sealer(): KeyCipher | null {
  try {
    return cipher && cipher.isEncryptionAvailable() ? cipher : null;
  } catch {
    return null;
  }
}

/** True when the cipher given to this process can seal keys now. */
export function sealingAvailable(): boolean {
  return sealer() !== null;
}

function damaged(file: string, why: string): DrayerError {
  return new DrayerError('CORRUPT', `The secret key file ${file} is damaged (${why}). Restore it from a backup.`);
}

/** The key pair from a plain key file's text: base64 of libsodium's 64-byte key, or of a 32-byte seed. */
export function keyPairFromText(text: string, file: string): KeyPair {
  const raw = Buffer.from(text.trim(), 'base64');
  if (raw.length !== 64 && raw.length !== 32) throw damaged(file, 'expected base64 of a 64-byte key');
  const kp = keyPairFromSeed(raw.subarray(0, 32));
  if (raw.length === 64 && !bytesEqual(kp.publicKey, raw.subarray(32))) throw damaged(file, 'its halves do not match');
  return kp;
}

/** A plain key file's text: what the original Drayer wrote, and what an export writes. */
export function plainKeyText(kp: KeyPair): string {
  return Buffer.from(libsodiumSecretKey(kp)).toString('base64') + '\n';
}

function sealedText(c: KeyCipher, kp: KeyPair): string {
  return sealedPlain(c, plainKeyText(kp).trim());
}

/** `plain` sealed with the cipher, as a sealed key file's text. */
function sealedPlain(c: KeyCipher, plain: string): string {
  const sealed = c.encryptString(plain);
  // Never trust a seal that does not open again: a key that cannot be read back is a stream lost.
  let back: string | null = null;
  try {
    back = c.decryptString(sealed);
  } catch {
    /* said below */
  }
  if (back !== plain)
    throw new DrayerError('IO', 'The keychain did not give the secret key back unchanged, so it was not sealed with it; nothing was written.');
  return `${SEALED_HEADER}\n${Buffer.from(sealed).toString('base64')}\n`;
}

export function isSealedKeyText(text: string): boolean {
  return text.startsWith('drayer-sealed-key/');
}

/** True when `file` is a sealed key file (false when it is plain or absent). */
export function isSealedKeyFile(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(32);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return isSealedKeyText(head.subarray(0, n).toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

export interface KeyFileRead {
  keyPair: KeyPair;
  sealed: boolean;
}

/** Read a key file, plain or sealed; a sealed one without this process's cipher throws NOT_WRITABLE saying so. */
export function readKeyFileDetail(file: string): KeyFileRead {
  const { text, sealed } = readSecretText(file);
  return { keyPair: keyPairFromText(text, file), sealed };
}

/** The text of a secret file (a key file, a read key file), unsealed when it was sealed; NOT_WRITABLE as readKeyFileDetail. */
export function readSecretText(file: string): { text: string; sealed: boolean } {
  const text = fs.readFileSync(file, 'utf8');
  if (!isSealedKeyText(text)) return { text, sealed: false };
  const [header, body = ''] = text.split('\n');
  if (header !== SEALED_HEADER)
    throw new DrayerError('NOT_WRITABLE', `The secret key file ${file} was sealed by a newer Drayer (${header}); update Drayer to use it.`);
  if (!cipher) throw new DrayerError('NOT_WRITABLE', `The secret key file ${file} ${SEALED_ELSEWHERE}`);
  let plain: string;
  try {
    plain = cipher.decryptString(Buffer.from(body.trim(), 'base64'));
  } catch (e) {
    throw new DrayerError(
      'NOT_WRITABLE',
      `The secret key file ${file} could not be decrypted with this computer's keychain (${(e as Error).message}). It was sealed by Drayer for another user or computer; restore the key from its backup words.`,
      { cause: e },
    );
  }
  return { text: plain, sealed: true };
}

export function readKeyFile(file: string): KeyPair {
  return readKeyFileDetail(file).keyPair;
}

/** Write `text` to `file` 0600 through a temporary file: created only if absent, or put in its place (replace). */
function writeSecretFile(file: string, text: string, replace: boolean): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (replace) fs.renameSync(tmp, file);
    else fs.linkSync(tmp, file); // fails if it exists: never overwrite a secret key
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  try {
    const dir = fs.openSync(path.dirname(path.resolve(file)), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch {
    /* directories cannot be opened for fsync on Windows */
  }
}

/** A new secret file holding `plain` (refuses to overwrite one), with a key file's protection: sealed when the cipher can, else plain, 0600. */
export function writeSecretText(file: string, plain: string): void {
  const c = sealer();
  writeSecretFile(file, c ? sealedPlain(c, plain.trim()) : plain, false);
}

/** writeSecretText over what `file` holds, atomically (a device taking a rotated read key: device-rekey.ts). */
export function replaceSecretText(file: string, plain: string): void {
  const c = sealer();
  writeSecretFile(file, c ? sealedPlain(c, plain.trim()) : plain, true);
}

/** A new key file (refuses to overwrite one): sealed when the cipher can, else plain. */
export function writeKeyFile(file: string, kp: KeyPair): void {
  const c = sealer();
  writeSecretFile(file, c ? sealedText(c, kp) : plainKeyText(kp), false);
}

/**
 * Seal a plain key file in place when the cipher can (the migration the app does on a stream's
 * first write); true when it did. The file must still hold `kp`: a key put there meanwhile is left alone.
 */
export function sealKeyFile(file: string, kp: KeyPair): boolean {
  const c = sealer();
  if (!c || !fs.existsSync(file) || isSealedKeyFile(file)) return false;
  const now = keyPairFromText(fs.readFileSync(file, 'utf8'), file);
  if (!bytesEqual(now.publicKey, kp.publicKey)) return false;
  writeSecretFile(file, sealedText(c, kp), true);
  return true;
}

/** The explicit export: a plain copy of a key file (sealed or not) at `dest`, 0600, never overwriting. */
export function exportKeyFile(file: string, dest: string): void {
  const kp = readKeyFile(file);
  if (fs.existsSync(dest)) throw new DrayerError('EXISTS', `${dest} already exists; refusing to overwrite a secret key.`);
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  writeSecretFile(dest, plainKeyText(kp), false);
}

/** A stream's key file name: beside it, NAME.stream.privatekey. */
export const KEY_SUFFIX = '.privatekey';

export function keyPathFor(file: string): string {
  return file + KEY_SUFFIX;
}

/** The secret key beside a stream file, or null when there is none (a mirror). */
export function keyPairBeside(file: string, publicKey: Uint8Array): KeyPair | null {
  const keyFile = keyPathFor(file);
  if (!fs.existsSync(keyFile)) return null;
  let kp: KeyPair;
  try {
    kp = readKeyFileDetail(keyFile).keyPair;
  } catch (e) {
    // A key sealed by the desktop app, in a process without its keychain (the CLI): read-only here.
    if (isDrayerError(e, 'NOT_WRITABLE') && isSealedKeyFile(keyFile)) return null;
    throw e;
  }
  if (!bytesEqual(kp.publicKey, publicKey)) {
    throw new DrayerError(
      'KEY_MISMATCH',
      `The secret key in ${keyFile} belongs to another stream; nothing was changed. Move it away or restore the right one.`,
    );
  }
  return kp;
}
