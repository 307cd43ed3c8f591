// Private streams (DESIGN §8): a record's {type, key, val} sealed under the stream's 32-byte read
// key, so that mirrors carry, verify and serve records they cannot read. Nothing in the signature
// layout changes: a sealed record is an ordinary record whose type is a constant, whose key is an
// opaque keyed hash of (type, key), and whose value is nonce(24) ‖ secretbox(msgpack{type, key, val}).
//
// Every primitive has a browser twin giving the same bytes, so a phone page can read a stream with
// the key from its URL fragment: XSalsa20-Poly1305 is libsodium's crypto_secretbox_easy or
// tweetnacl's secretbox, and subkeys are keyed BLAKE2b-256 (libsodium's crypto_generichash with a
// key, or hash-wasm's createBLAKE2b(256, key)) of a context string. libsodium's crypto_kdf would
// need BLAKE2b's salt and personal parameters, which no small browser library exposes.
import { encode } from '@msgpack/msgpack';
import * as nodeCrypto from 'node:crypto';
import { createRequire } from 'node:module';
import type nacl from 'tweetnacl';
import { bytesEqual } from './crypto.js';
import { DrayerError } from './errors.js';
import { keyLink, LINK_SCHEME, parseKey } from './keys.js';
import { decodeBounded, MSGPACK_LIMITS, MsgpackError, type MsgpackLimits } from './msgpack.js';
import {
  chunkNonce,
  FILE_PREFIX_BYTES,
  isOpened,
  type KeyedHash,
  MAC_BYTES,
  NONCE_BYTES,
  opaqueKeyMessage,
  type OpenedValue,
  openSealed,
  SEAL_OVERHEAD,
  type SecretboxOpen,
  subkeys,
} from './sealed-open.js';

export const READ_KEY_BYTES = 32;
/** The cleartext type of every sealed record: a blind mirror learns no type. */
export const SEALED_TYPE = 'sealed';
/** The cleartext marker record (`drayer/private`) that says a stream is private, and checks a read key. */
export const MARKER_TYPE = 'drayer';
export const MARKER_KEY = 'private';
export { FILE_PREFIX_BYTES, MAC_BYTES, NONCE_BYTES, SEAL_OVERHEAD, type OpenedValue } from './sealed-open.js';

/**
 * Records a private stream keeps in clear: what carrying the stream needs, so a blind mirror can
 * still use it (where to sync from, which sibling chains count, that it is private). The rest,
 * `drayer/info` included, is sealed.
 */
// drayer/device anchors a device's chain (§9); in a private stream it holds no name. drayer/readkeys
// hands a rotated read key to each device, sealed to its own key (keybox.ts).
const CLEAR = new Set(['drayer/private', 'drayer/primaryServers', 'drayer/siblings', 'drayer/device', 'drayer/readkeys']);

export function staysClear(type: string, key: string): boolean {
  return CLEAR.has(`${type}/${key}`);
}

interface Sodium {
  crypto_generichash(out: Uint8Array, data: Uint8Array, key?: Uint8Array): void;
  crypto_secretbox_easy(c: Uint8Array, m: Uint8Array, n: Uint8Array, k: Uint8Array): void;
  crypto_secretbox_open_easy(m: Uint8Array, c: Uint8Array, n: Uint8Array, k: Uint8Array): boolean;
}

const require = createRequire(import.meta.url);
const sodium: Sodium | null = (() => {
  try {
    const s = require('sodium-native') as Sodium;
    return typeof s.crypto_secretbox_easy === 'function' ? s : null;
  } catch {
    return null; // tweetnacl and hash-wasm give the same bytes
  }
})();
let naclLib: typeof nacl | null = null;
const tweetnacl = (): typeof nacl => (naclLib ??= require('tweetnacl') as typeof nacl);

export type PrivateBackend = 'sodium' | 'browser';
let backend: PrivateBackend = sodium ? 'sodium' : 'browser';

/** For tests: seal and open with libsodium, or with tweetnacl + hash-wasm (the browser's bytes). */
export function setPrivateBackend(b: PrivateBackend): void {
  if (b === 'sodium' && !sodium) throw new Error('libsodium (sodium-native) is not available here');
  backend = b;
}

/** libsodium's keyed BLAKE2b-256, made at once. */
function sodiumKeyed(key: Uint8Array): KeyedHash {
  const k = new Uint8Array(key);
  return (data) => {
    const out = new Uint8Array(32);
    sodium!.crypto_generichash(out, data, k);
    return out;
  };
}

/** BLAKE2b-256 keyed with `key`, as a synchronous function (hash-wasm needs its instance made first). */
async function keyedBlake2b(key: Uint8Array): Promise<KeyedHash> {
  if (backend === 'sodium') return sodiumKeyed(key);
  const h = await (await import('hash-wasm')).createBLAKE2b(256, key);
  return (data) => h.init().update(data).digest('binary');
}

/** The backend's secretbox open: libsodium where it loads, tweetnacl (the browser's) otherwise. */
function secretboxOpen(): SecretboxOpen {
  if (backend !== 'sodium') return (box, nonce, key) => tweetnacl().secretbox.open(box, nonce, key);
  return (box, nonce, key) => {
    const plain = new Uint8Array(box.length - MAC_BYTES);
    return sodium!.crypto_secretbox_open_easy(plain, box, nonce, key) ? plain : null;
  };
}

/** Errors that say which read key is wrong and what to do. */
export function wrongReadKey(what: string): DrayerError {
  return new DrayerError(
    'KEY_MISMATCH',
    `${what}: that read key is not this stream's (a mistyped or cut link, another stream's key, or a key the owner has since changed). Ask the owner for the stream's read link again.`,
  );
}

function ownKey(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== READ_KEY_BYTES)
    throw new DrayerError('INVALID_ARGUMENT', `A read key is ${READ_KEY_BYTES} bytes; this one is ${bytes?.length ?? 0}. Copy the whole read link again.`);
  return new Uint8Array(bytes);
}

/** A read key with its subkeys: seals and opens the records of one private stream. */
export class ReadKey {
  /** the 32 bytes a read link carries */
  readonly bytes: Uint8Array;
  /** 16 bytes the marker record holds, so a wrong key is told apart from altered ciphertext */
  readonly check: Uint8Array;
  private readonly sealKey: Uint8Array;
  private readonly keyHash: KeyedHash;
  /** the subkey each big file's own key is derived from (with the file's random prefix) */
  private readonly fileRoot: Uint8Array;

  private constructor(bytes: Uint8Array, check: Uint8Array, sealKey: Uint8Array, keyHash: KeyedHash, fileRoot: Uint8Array) {
    this.bytes = bytes;
    this.check = check;
    this.sealKey = sealKey;
    this.keyHash = keyHash;
    this.fileRoot = fileRoot;
  }

  static async from(bytes: Uint8Array): Promise<ReadKey> {
    const own = ownKey(bytes);
    const k = subkeys(await keyedBlake2b(own));
    return new ReadKey(own, k.check, k.seal, await keyedBlake2b(k.keyKey), k.fileRoot);
  }

  /**
   * The cipher of one big file's chunks (DESIGN §8): key = keyed BLAKE2b-256 of the file's random
   * 16-byte prefix under the read key's file subkey; chunk i's nonce = prefix ‖ u64le(i). A fresh
   * prefix per stored version means no (key, nonce) pair ever seals two plaintexts.
   */
  async fileCipher(prefix: Uint8Array): Promise<FileCipher> {
    if (!(prefix instanceof Uint8Array) || prefix.length !== FILE_PREFIX_BYTES)
      throw new DrayerError('CORRUPT', `a big file's prefix is ${FILE_PREFIX_BYTES} bytes`);
    return new FileCipher((await keyedBlake2b(this.fileRoot))(prefix), prefix);
  }

  /** As from(), at once: where libsodium loads (a running node opens a stream's reader synchronously); null elsewhere. */
  static fromSync(bytes: Uint8Array): ReadKey | null {
    if (backend !== 'sodium') return null;
    const own = ownKey(bytes);
    const k = subkeys(sodiumKeyed(own));
    return new ReadKey(own, k.check, k.seal, sodiumKeyed(k.keyKey), k.fileRoot);
  }

  /** A fresh random read key. */
  static generate(): Promise<ReadKey> {
    return ReadKey.from(new Uint8Array(nodeCrypto.randomBytes(READ_KEY_BYTES)));
  }

  /**
   * The cleartext key of the sealed record for (type, key): base64url of a keyed BLAKE2b-256 of
   * u32le(length of type) ‖ type ‖ key, so the writer finds "the record for post X" again and a
   * mirror learns nothing from it.
   */
  opaqueKey(type: string, key: string): string {
    return Buffer.from(this.keyHash(opaqueKeyMessage(type, key))).toString('base64url');
  }

  /** nonce(24) ‖ secretbox(msgpack{type, key, val}) with a random nonce (XSalsa20's 24 bytes make that safe). */
  seal(type: string, key: string, val: Uint8Array): Uint8Array {
    const plain = encode({ type, key, val });
    const nonce = new Uint8Array(nodeCrypto.randomBytes(NONCE_BYTES));
    const out = new Uint8Array(NONCE_BYTES + MAC_BYTES + plain.length);
    out.set(nonce, 0);
    if (backend === 'sodium') sodium!.crypto_secretbox_easy(out.subarray(NONCE_BYTES), plain, nonce, this.sealKey);
    else out.set(tweetnacl().secretbox(plain, nonce, this.sealKey), NONCE_BYTES);
    return out;
  }

  /**
   * Open a sealed value. `opaqueKey`, when given, is the record's cleartext key: what opens must be
   * the record that key names, so a writer's mix-up is caught, never shown as another record.
   * Throws CORRUPT when the ciphertext does not open (altered, or another key: see checkMarker).
   */
  open(stored: Uint8Array, opaqueKey?: string): OpenedValue {
    const sealed = sealedBox(stored);
    const check = opaqueKey === undefined ? undefined : { opaqueKey, opaque: (t: string, k: string) => this.opaqueKey(t, k) };
    const r = openSealed(sealed, this.sealKey, secretboxOpen(), (plain) => decodeBounded(plain, SEALED_LIMITS), check);
    if (isOpened(r)) return r;
    switch (r.why) {
      case 'short':
        throw new DrayerError('CORRUPT', `it is ${sealed.length} bytes, too short to be sealed (at least ${SEAL_OVERHEAD})`);
      case 'altered':
        throw new DrayerError('CORRUPT', 'its ciphertext does not open with the read key (it was altered, or the key is not this stream’s)');
      case 'undecodable':
        if (r.error instanceof MsgpackError) throw new DrayerError('CORRUPT', `what it seals is not a record (${r.error.reason})`);
        throw r.error;
      case 'shape':
        throw new DrayerError('CORRUPT', 'what it seals is not a record of {type, key, val}');
      case 'other':
        throw new DrayerError('CORRUPT', `what it seals (${r.type}/${r.key}) is not the record its key names`);
    }
  }

  /** The marker record's value: {v: 1, cipher, check}; it says the stream is private and checks a read key. */
  markerValue(): Uint8Array {
    return encode({ v: 1, cipher: 'xsalsa20poly1305', check: this.check });
  }

  /** Throws KEY_MISMATCH when this key is not the one the marker record names (`what` begins the sentence). */
  checkMarker(markerVal: Uint8Array, what: string): void {
    const m = parseMarker(markerVal);
    if (!bytesEqual(m.check, this.check)) throw wrongReadKey(what);
  }
}

/** Seals and opens the chunks of one big private file: each alone, so any byte range reads without the rest. */
export class FileCipher {
  constructor(
    private readonly key: Uint8Array,
    readonly prefix: Uint8Array,
  ) {}

  private nonce(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0) throw new DrayerError('INVALID_ARGUMENT', `chunk index ${index} is not a count`);
    return chunkNonce(this.prefix, index);
  }

  /** Seal chunk `index` into `out` (plain.length + MAC_BYTES bytes of it); returns that length. */
  sealChunk(index: number, plain: Uint8Array, out: Uint8Array): number {
    const len = plain.length + MAC_BYTES;
    if (out.length < len) throw new RangeError('the output buffer is too small for the sealed chunk');
    const nonce = this.nonce(index);
    if (backend === 'sodium') sodium!.crypto_secretbox_easy(out.subarray(0, len), plain, nonce, this.key);
    else out.set(tweetnacl().secretbox(plain, nonce, this.key), 0);
    return len;
  }

  /** Open chunk `index`; throws CORRUPT when it was altered, swapped with another chunk or file, or moved. */
  openChunk(index: number, sealed: Uint8Array): Uint8Array {
    if (sealed.length < MAC_BYTES) throw new DrayerError('CORRUPT', `chunk ${index} is too short to be sealed`);
    const nonce = this.nonce(index);
    const plain = secretboxOpen()(sealed, nonce, this.key);
    if (!plain) throw new DrayerError('CORRUPT', `chunk ${index} does not open with the read key (it was altered, or is not this file's chunk ${index})`);
    return plain;
  }
}

/**
 * A big private file's stored value keeps the file value layout in clear, so that a blind mirror
 * can fetch, keep and serve its chunks like any big file's: u32le(header length) ‖
 * msgpack{enc: 'chunks', sealed: 1, size, chunkSize, chunks: [hashes of the sealed chunks], time: 0}
 * ‖ the sealed record (nonce ‖ secretbox(msgpack{type, key, val})). The clear part tells a mirror
 * only the sealed chunks' count and sizes, which it learns from the chunks anyway.
 * This returns the sealed part of such a value, and any other value as it is.
 */
export function sealedBox(val: Uint8Array): Uint8Array {
  if (val.length < 8) return val;
  const hl = new DataView(val.buffer, val.byteOffset, val.byteLength).getUint32(0, true);
  // A plain sealed value starts with a random nonce: its first four bytes are almost never a length that fits.
  if (hl < 8 || 4 + hl + SEAL_OVERHEAD > val.length) return val;
  const first = val[4]!;
  if (!((first >= 0x80 && first <= 0x8f) || first === 0xde)) return val; // not a msgpack map
  let m: unknown;
  try {
    m = decodeBounded(val.subarray(4, 4 + hl), MSGPACK_LIMITS.fileHeader);
  } catch {
    return val;
  }
  const h = m as Record<string, unknown> | null;
  const enc = h && typeof h === 'object' ? (h.enc instanceof Uint8Array ? Buffer.from(h.enc).toString('latin1') : h.enc) : undefined;
  return enc === 'chunks' && h!.sealed === 1 ? val.subarray(4 + hl) : val;
}

// What a sealed value holds: one map of three fields (a little room for fields added later).
const SEALED_LIMITS: MsgpackLimits = {
  what: 'a sealed record',
  maxBytes: 8 * 1024 * 1024,
  maxDepth: 1,
  maxItems: 32,
  maxArray: 0,
  maxMap: 8,
  maxStr: 4096,
  maxBin: 8 * 1024 * 1024,
  maxExt: 0,
};

const MARKER_LIMITS: MsgpackLimits = { ...SEALED_LIMITS, what: 'a drayer/private marker', maxBytes: 4096, maxBin: 256 };

/** The marker's fields; throws CORRUPT when it is not one this version reads. */
export function parseMarker(val: Uint8Array): { v: number; check: Uint8Array } {
  let m: unknown;
  try {
    m = decodeBounded(val, MARKER_LIMITS);
  } catch (e) {
    if (e instanceof MsgpackError) throw new DrayerError('CORRUPT', `The stream's drayer/private marker is not readable (${e.reason}).`);
    throw e;
  }
  const r = m as { v?: unknown; check?: unknown } | null;
  if (!r || typeof r !== 'object' || typeof r.v !== 'number' || !(r.check instanceof Uint8Array))
    throw new DrayerError('CORRUPT', "The stream's drayer/private marker is not readable (it lacks its version or key check).");
  if (r.v !== 1) throw new DrayerError('CORRUPT', `This stream is private in a newer way (version ${r.v}); update Drayer to read it.`);
  return { v: r.v, check: r.check };
}

// ---------- the read link ----------

/** `drayer:<pk>#r=<read key>`, both in URL-safe base64: the fragment never reaches a server. */
export function readLink(publicKey: Uint8Array, readKey: Uint8Array): string {
  return `${keyLink(publicKey)}#r=${Buffer.from(readKey).toString('base64url')}`;
}

/**
 * A stream key and, when the text is a read link, its read key. Accepts every form parseKey does;
 * a `#r=` that is not a 32-byte key is an error (a cut link), never quietly a public follow.
 */
export function parseReadLink(text: string): { publicKey: Uint8Array; readKey: Uint8Array | null } {
  const s = typeof text === 'string' ? text.trim() : '';
  const hash = s.toLowerCase().startsWith(LINK_SCHEME) ? s.indexOf('#') : -1;
  const publicKey = parseKey(hash === -1 ? s : s.slice(0, hash));
  if (hash === -1) return { publicKey, readKey: null };
  const params = new URLSearchParams(s.slice(hash + 1));
  const r = params.get('r');
  if (r === null) return { publicKey, readKey: null };
  const bytes = /^[A-Za-z0-9_-]{43}=?$/.test(r) ? new Uint8Array(Buffer.from(r.replace(/=$/, ''), 'base64url')) : null;
  if (!bytes || bytes.length !== READ_KEY_BYTES || Buffer.from(bytes).toString('base64url') !== r.replace(/=$/, ''))
    throw new DrayerError(
      'INVALID_ARGUMENT',
      `The read key in that link (after #r=) is not ${READ_KEY_BYTES} bytes of URL-safe base64 (43 characters); it may have been cut. Copy the whole link again.`,
    );
  return { publicKey, readKey: bytes };
}
