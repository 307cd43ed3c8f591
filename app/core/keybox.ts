// A rotated read key for a private stream's devices (DESIGN §8, §9). The owner's rotation writes
// drayer/readkeys in clear: a list of anonymous sealed boxes (libsodium's crypto_box_seal), one per
// device still listed, each holding the new read key for the X25519 form of that device's Ed25519
// key. A blind mirror or a holder of the old read key opens none of them; no box names its device
// (a device tries each, at most MAX_SIBLINGS), so the record tells only how many devices there are,
// which drayer/siblings says in clear anyway.
import { createRequire } from 'node:module';
import { encode } from '@msgpack/msgpack';
import type { KeyPair } from './crypto.js';
import { DrayerError } from './errors.js';
import { decodeBounded, type MsgpackLimits } from './msgpack.js';
import { READ_KEY_BYTES } from './private.js';
import { MAX_SIBLINGS } from './siblings.js';

export const KEYBOX_TYPE = 'drayer';
export const KEYBOX_KEY = 'readkeys';

interface Sodium {
  crypto_box_SEALBYTES: number;
  crypto_box_seal(c: Uint8Array, m: Uint8Array, pk: Uint8Array): void;
  crypto_box_seal_open(m: Uint8Array, c: Uint8Array, pk: Uint8Array, sk: Uint8Array): boolean;
  crypto_sign_ed25519_pk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_sign_ed25519_sk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
}

const require = createRequire(import.meta.url);
let lib: Sodium | null = null;
function sodium(): Sodium {
  if (lib) return lib;
  try {
    return (lib = require('sodium-native') as Sodium);
  } catch (e) {
    throw new DrayerError('IO', "A rotated read key for this stream's devices needs libsodium (sodium-native), which does not load here.", { cause: e });
  }
}

const BOX_BYTES = READ_KEY_BYTES + 48; // crypto_box_SEALBYTES: an ephemeral public key and a MAC

const LIMITS: MsgpackLimits = {
  what: 'a drayer/readkeys value',
  maxBytes: 16 * 1024,
  maxDepth: 2,
  maxItems: MAX_SIBLINGS + 8,
  maxArray: MAX_SIBLINGS,
  maxMap: 4,
  maxStr: 64,
  maxBin: BOX_BYTES,
  maxExt: 0,
};

/** drayer/readkeys' value: the read key sealed to each of `devices` (Ed25519 public keys), in random order. */
export function keyBoxes(readKey: Uint8Array, devices: Uint8Array[]): Uint8Array {
  const s = sodium();
  const boxes = devices.slice(0, MAX_SIBLINGS).map((pk) => {
    const x = new Uint8Array(32);
    s.crypto_sign_ed25519_pk_to_curve25519(x, pk);
    const c = new Uint8Array(readKey.length + s.crypto_box_SEALBYTES);
    s.crypto_box_seal(c, readKey, x);
    return c;
  });
  // the list's order says nothing of the siblings list's
  for (let i = boxes.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [boxes[i], boxes[j]] = [boxes[j]!, boxes[i]!];
  }
  return encode({ v: 1, boxes });
}

/** The read key boxed for `device` in a drayer/readkeys value, or null (none for it, or a value that is not one). */
export function openKeyBox(val: Uint8Array, device: KeyPair): Uint8Array | null {
  let v: unknown;
  try {
    v = decodeBounded(val, LIMITS);
  } catch {
    return null;
  }
  const m = v as { v?: unknown; boxes?: unknown } | null;
  if (!m || typeof m !== 'object' || m.v !== 1 || !Array.isArray(m.boxes)) return null;
  const boxes: unknown[] = m.boxes;
  const s = sodium();
  const edPk = new Uint8Array(32);
  const edSk = new Uint8Array(64);
  s.crypto_sign_seed_keypair(edPk, edSk, device.seed);
  const xPk = new Uint8Array(32);
  const xSk = new Uint8Array(32);
  s.crypto_sign_ed25519_pk_to_curve25519(xPk, edPk);
  s.crypto_sign_ed25519_sk_to_curve25519(xSk, edSk);
  try {
    for (const b of boxes) {
      if (!(b instanceof Uint8Array) || b.length !== BOX_BYTES) continue;
      const m = new Uint8Array(READ_KEY_BYTES);
      if (s.crypto_box_seal_open(m, b, xPk, xSk)) return m;
    }
    return null;
  } finally {
    edSk.fill(0);
    xSk.fill(0);
  }
}
