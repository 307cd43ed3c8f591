// The layout of a private stream's sealed values (DESIGN §8), shared by the engine
// (core/private.ts, libsodium or tweetnacl) and the phone's private page (renderer/phone/private.ts,
// in a browser, tweetnacl): the read key's subkeys, a record's opaque key, a big file's chunk
// nonces, and the opening of nonce(24) ‖ secretbox(msgpack{type, key, val}). Browser-safe: no
// Node built-ins and no library here; each side passes its keyed BLAKE2b-256, its secretbox and
// its bounded msgpack decoder in.

export const NONCE_BYTES = 24;
export const MAC_BYTES = 16;
/** How many bytes sealing adds around msgpack{type, key, val}. */
export const SEAL_OVERHEAD = NONCE_BYTES + MAC_BYTES;
/** A big private file's random nonce prefix: 16 bytes, then the chunk index as u64le. */
export const FILE_PREFIX_BYTES = 16;

// Subkey contexts: each use of the read key gets its own key, so a later use (big files' chunks,
// a rotation's key id) can be added without weakening these.
const CONTEXT = {
  seal: 'drayer private v1 seal',
  key: 'drayer private v1 key',
  check: 'drayer private v1 check',
  file: 'drayer private v1 file',
} as const;

/** BLAKE2b-256 keyed with one key (the read key, or a subkey). */
export type KeyedHash = (data: Uint8Array) => Uint8Array;
/** XSalsa20-Poly1305 open (libsodium's crypto_secretbox_open_easy, tweetnacl's secretbox.open): null when it does not open. */
export type SecretboxOpen = (box: Uint8Array, nonce: Uint8Array, key: Uint8Array) => Uint8Array | null;

const utf8 = new TextEncoder();

/** The read key's subkeys, from its keyed hash: `keyKey` keys the opaque keys, `fileRoot` each big file's key. */
export function subkeys(derive: KeyedHash): { seal: Uint8Array; keyKey: Uint8Array; check: Uint8Array; fileRoot: Uint8Array } {
  return {
    seal: derive(utf8.encode(CONTEXT.seal)),
    keyKey: derive(utf8.encode(CONTEXT.key)),
    check: derive(utf8.encode(CONTEXT.check)).slice(0, 16),
    fileRoot: derive(utf8.encode(CONTEXT.file)),
  };
}

/** What a record's opaque key hashes: u32le(length of type) ‖ type ‖ key. */
export function opaqueKeyMessage(type: string, key: string): Uint8Array {
  const t = utf8.encode(type);
  const k = utf8.encode(key);
  const msg = new Uint8Array(4 + t.length + k.length);
  new DataView(msg.buffer).setUint32(0, t.length, true);
  msg.set(t, 4);
  msg.set(k, 4 + t.length);
  return msg;
}

/** Chunk `index`'s nonce in a big file sealed under `prefix`: prefix ‖ u64le(index). */
export function chunkNonce(prefix: Uint8Array, index: number): Uint8Array {
  const n = new Uint8Array(NONCE_BYTES);
  n.set(prefix.subarray(0, FILE_PREFIX_BYTES), 0);
  const dv = new DataView(n.buffer);
  dv.setUint32(FILE_PREFIX_BYTES, index >>> 0, true);
  dv.setUint32(FILE_PREFIX_BYTES + 4, Math.floor(index / 2 ** 32), true);
  return n;
}

export interface OpenedValue {
  type: string;
  key: string;
  val: Uint8Array;
}

/** Why a sealed value did not open; each side words it its own way. */
export type SealedProblem =
  { why: 'short' } | { why: 'altered' } | { why: 'undecodable'; error: unknown } | { why: 'shape' } | { why: 'other'; type: string; key: string };

/**
 * Open nonce(24) ‖ secretbox(msgpack{type, key, val}) with the seal subkey. `decode` is the side's
 * bounded msgpack decoder (it throws on what it does not take); `opaque`, when given with
 * `opaqueKey`, checks that what opens is the record the cleartext key names.
 */
export function openSealed(
  sealed: Uint8Array,
  sealKey: Uint8Array,
  open: SecretboxOpen,
  decode: (plain: Uint8Array) => unknown,
  check?: { opaqueKey: string; opaque: (type: string, key: string) => string },
): OpenedValue | SealedProblem {
  if (sealed.length < SEAL_OVERHEAD) return { why: 'short' };
  const plain = open(sealed.subarray(NONCE_BYTES), sealed.subarray(0, NONCE_BYTES), sealKey);
  if (!plain) return { why: 'altered' };
  let v: unknown;
  try {
    v = decode(plain);
  } catch (error) {
    return { why: 'undecodable', error };
  }
  const m = v as Record<string, unknown> | null;
  if (!m || typeof m !== 'object' || typeof m.type !== 'string' || typeof m.key !== 'string' || !(m.val instanceof Uint8Array)) return { why: 'shape' };
  if (check && check.opaque(m.type, m.key) !== check.opaqueKey) return { why: 'other', type: m.type, key: m.key };
  return { type: m.type, key: m.key, val: m.val };
}

export const isOpened = (r: OpenedValue | SealedProblem): r is OpenedValue => !('why' in r);
