// Crypto primitives for Drayer: Ed25519 detached signatures and libsodium-compatible BLAKE2b-256.
// Ed25519 runs on libsodium (sodium-native: about twice node:crypto's rate for both sign and
// verify, and the library the original Drayer used), then node:crypto, then tweetnacl, whichever
// loads first; all three give identical bytes (a test proves it).
import * as nodeCrypto from 'node:crypto';
import { createRequire } from 'node:module';
import type nacl from 'tweetnacl';

const require = createRequire(import.meta.url);
// The fallbacks load only when used: every process (the node's start-up too) pays for them otherwise.
let naclLib: typeof nacl | null = null;
const tweetnacl = (): typeof nacl => (naclLib ??= require('tweetnacl') as typeof nacl);

interface Sodium {
  crypto_generichash(out: Uint8Array, data: Uint8Array): void;
  crypto_generichash_init(state: Uint8Array, key: Uint8Array | null, outLen: number): void;
  crypto_generichash_update(state: Uint8Array, data: Uint8Array): void;
  crypto_generichash_final(state: Uint8Array, out: Uint8Array): void;
  crypto_generichash_STATEBYTES: number;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
}

// A native addon: absent or unloadable (another platform, a stripped package) means the fallback.
const sodium: Sodium | null = (() => {
  try {
    const s = require('sodium-native') as Sodium;
    const pk = new Uint8Array(32),
      sk = new Uint8Array(64),
      sig = new Uint8Array(64);
    s.crypto_sign_seed_keypair(pk, sk, new Uint8Array(32));
    s.crypto_sign_detached(sig, sk, sk);
    return s.crypto_sign_verify_detached(sig, sk, pk) ? s : null;
  } catch {
    return null;
  }
})();

// BLAKE2b-256 is libsodium's crypto_generichash where sodium-native loads (it hashes the caller's
// buffer in place; hash-wasm first copies it into wasm memory), else hash-wasm.
// hash-wasm's hasher is created asynchronously once; after that every call is synchronous.
const blake = sodium ? null : await (await import('hash-wasm')).createBLAKE2b(256);

/** BLAKE2b with a 32-byte digest, unkeyed: libsodium's crypto_generichash default. Written into `out` when given. */
export function blake2b256(data: Uint8Array, out?: Uint8Array): Uint8Array {
  if (sodium) {
    const o = out ?? new Uint8Array(32);
    sodium.crypto_generichash(o, data);
    return o;
  }
  blake!.init();
  blake!.update(data);
  const d = blake!.digest('binary');
  if (!out) return d;
  out.set(d);
  return out;
}

/** Streaming BLAKE2b-256 for data that does not fit in memory at once. */
export async function blake2b256Hasher(): Promise<{ update(d: Uint8Array): void; digest(): Uint8Array }> {
  if (sodium) {
    const s = sodium;
    const state = new Uint8Array(s.crypto_generichash_STATEBYTES);
    s.crypto_generichash_init(state, null, 32);
    return {
      update: (d) => s.crypto_generichash_update(state, d),
      digest: () => {
        const out = new Uint8Array(32);
        s.crypto_generichash_final(state, out);
        return out;
      },
    };
  }
  const h = await (await import('hash-wasm')).createBLAKE2b(256);
  h.init();
  return { update: (d) => void h.update(d), digest: () => h.digest('binary') };
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** A stream's secret: the 32-byte seed and the public key derived from it. */
export interface KeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

export type Backend = 'sodium' | 'node' | 'tweetnacl';

function nodeEd25519Works(): boolean {
  try {
    const priv = nodeCrypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.alloc(32)]), format: 'der', type: 'pkcs8' });
    const sig = nodeCrypto.sign(null, Buffer.from('probe'), priv);
    return sig.length === 64;
  } catch {
    return false;
  }
}

let backend: Backend = sodium ? 'sodium' : nodeEd25519Works() ? 'node' : 'tweetnacl';

/** Which Ed25519 implementation is in use (sodium ~2x node, node ~80x tweetnacl). */
export function cryptoBackend(): Backend {
  return backend;
}

/** The implementations that work here, fastest first. */
export function availableBackends(): Backend[] {
  return [...(sodium ? ['sodium' as const] : []), ...(nodeEd25519Works() ? ['node' as const] : []), 'tweetnacl'];
}

/** For tests and benches: force one implementation to prove they give identical bytes. */
export function setCryptoBackend(b: Backend): void {
  if (!availableBackends().includes(b)) throw new Error(`Ed25519 backend ${b} is not available here`);
  backend = b;
}

const sodiumSecretKeys = new WeakMap<Uint8Array, Uint8Array>();

function sodiumSecretKey(key: KeyPair): Uint8Array {
  let sk = sodiumSecretKeys.get(key.seed);
  if (!sk) {
    sk = libsodiumSecretKey(key);
    sodiumSecretKeys.set(key.seed, sk);
  }
  return sk;
}

const privCache = new WeakMap<Uint8Array, nodeCrypto.KeyObject>();
const pubCache = new Map<string, nodeCrypto.KeyObject>();

function nodePrivateKey(seed: Uint8Array): nodeCrypto.KeyObject {
  let k = privCache.get(seed);
  if (!k) {
    k = nodeCrypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
    privCache.set(seed, k);
  }
  return k;
}

function nodePublicKey(pk: Uint8Array): nodeCrypto.KeyObject {
  const id = Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('latin1');
  let k = pubCache.get(id);
  if (!k) {
    k = nodeCrypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, pk]), format: 'der', type: 'spki' });
    if (pubCache.size > 1000) pubCache.clear();
    pubCache.set(id, k);
  }
  return k;
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const s = new Uint8Array(seed);
  if (backend === 'sodium') {
    const pk = new Uint8Array(32);
    sodium!.crypto_sign_seed_keypair(pk, new Uint8Array(64), s);
    return { seed: s, publicKey: pk };
  }
  if (backend === 'node') {
    const pub = nodeCrypto.createPublicKey(nodePrivateKey(s)).export({ format: 'der', type: 'spki' });
    return { seed: s, publicKey: new Uint8Array(pub.subarray(pub.length - 32)) };
  }
  return { seed: s, publicKey: tweetnacl().sign.keyPair.fromSeed(s).publicKey };
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(nodeCrypto.randomBytes(32));
}

/** The 64-byte Ed25519 signature of `message`, written into `out` when given (e.g. slabBytes(64): slab.ts). */
export function sign(message: Uint8Array, key: KeyPair, out?: Uint8Array): Uint8Array {
  if (backend === 'sodium') {
    const sig = out ?? new Uint8Array(64);
    sodium!.crypto_sign_detached(sig, message, sodiumSecretKey(key));
    return sig;
  }
  const sig =
    backend === 'node' ? new Uint8Array(nodeCrypto.sign(null, message, nodePrivateKey(key.seed))) : tweetnacl().sign.detached(message, libsodiumSecretKey(key));
  if (!out) return sig;
  out.set(sig);
  return out;
}

export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  if (backend === 'sodium') return sodium!.crypto_sign_verify_detached(signature, message, publicKey);
  if (backend === 'node') {
    try {
      return nodeCrypto.verify(null, message, nodePublicKey(publicKey), signature);
    } catch {
      return false; // a malformed public key is simply not a valid signer
    }
  }
  return tweetnacl().sign.detached.verify(message, signature, publicKey);
}

/** libsodium's 64-byte secret key layout (seed ‖ public key), as the original Drayer stored it. */
export function libsodiumSecretKey(key: KeyPair): Uint8Array {
  const out = new Uint8Array(64);
  out.set(key.seed, 0);
  out.set(key.publicKey, 32);
  return out;
}

export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeCrypto.randomBytes(n));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
