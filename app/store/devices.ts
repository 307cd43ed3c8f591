// Several devices, one stream (DESIGN §9), on the store's side: a device's key file beside its copy,
// the owner's list of devices (drayer/siblings), and reads that merge every chain of the stream.
import * as fs from 'node:fs';
import { encode } from '@msgpack/msgpack';
import type { KeyPair } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { MARKER_KEY, MARKER_TYPE } from '../core/private.js';
import * as path from 'node:path';
import {
  DEVICE_KEY,
  decodeSiblings,
  encodeSiblings,
  ID_RANGE,
  idRangeOf,
  SIBLINGS_KEY,
  SIBLINGS_TYPE,
  windowsOf,
  withDevice,
  withoutDevice,
  type Sibling,
} from '../core/siblings.js';
import { readKeyFile } from './keystore.js';
import { metaOf, rowByKey, sqliteError, type Handle, type Row } from './schema.js';
import { nowMicros, Writer, type DeviceChain } from './writer.js';
import { heldWindows } from './apply.js';

/** A device's own key pair sits beside its copy of the stream, in a file of its own (the stream's key file is the owner's). */
export const DEVICE_KEY_SUFFIX = '.devicekey';
export const devicePathFor = (file: string): string => file + DEVICE_KEY_SUFFIX;

/** The device key pair beside `file`, or null; one that is not this stream's device yet still writes (its records wait for the owner's list). */
export function deviceKeyBeside(file: string): KeyPair | null {
  const f = devicePathFor(file);
  if (!fs.existsSync(f)) return null;
  try {
    return readKeyFile(f);
  } catch (e) {
    if (isDrayerError(e, 'NOT_WRITABLE')) return null; // sealed by the desktop app, read where it has no keychain
    throw e;
  }
}

/**
 * The writer of a device's own chain: its range of ids, its key file, and the start of its window
 * when this copy knows it. The chain's first record, drayer/device (its name), is never deleted:
 * the last of its records could not be deleted otherwise.
 */
export function deviceWriterOf(h: Handle, kp: KeyPair): Writer {
  const k = Buffer.from(kp.publicKey).toString('base64');
  const chain: DeviceChain = { firstId: idRangeOf(kp.publicKey).first, keyFile: devicePathFor(h.file), modFloor: () => heldWindows(h).get(k)?.from ?? 0 };
  const w = new Writer({ ...h, chain: Buffer.from(kp.publicKey) }, chain);
  if (!w.has('drayer', DEVICE_KEY)) {
    // a private stream's device anchor stays in clear (a blind mirror carries the chain), so it names nothing
    const name = rowByKey(h, MARKER_TYPE, MARKER_KEY) ? undefined : String(metaOf(h, 'deviceName') ?? path.basename(h.file).replace(/\.stream$/, ''));
    w.put(kp, 'drayer', DEVICE_KEY, encode(name ? { name } : {}));
  }
  return w;
}

/** A device writes only while its copy shows it listed and not removed: what it wrote otherwise no other copy would take. */
export function requireListed(h: Handle, pk: Uint8Array): void {
  const w = heldWindows(h).get(Buffer.from(pk).toString('base64'));
  if (w && w.to === 0) return;
  const key = Buffer.from(pk).toString('base64');
  throw new DrayerError(
    'NOT_WRITABLE',
    w
      ? `This device (${key}) was removed from the stream; nothing was written. Its earlier records stay.`
      : `This device (${key}) is not listed by the stream yet; nothing was written. On a device holding the stream's key run drayer device add STREAM_FILE ${key}, then sync this copy.`,
  );
}

/** The owner's list with `pk` added from now on (siblings.ts withDevice), encoded. */
export function listWith(h: Handle, pk: Uint8Array, name?: string): Uint8Array {
  return encodeSiblings(withDevice(siblingsHeld(h), pk, nowMicros(), name));
}

/** The owner's list with `pk`'s window ended at the newest record of its chain held here, encoded, and that end. */
export function listWithout(h: Handle, pk: Uint8Array): { val: Uint8Array; to: number } {
  const list = withoutDevice(siblingsHeld(h), pk, nowMicros(), chainTip(h, pk));
  return { val: encodeSiblings(list), to: windowsOf(list).get(Buffer.from(pk).toString('base64'))!.to };
}

/** The devices the owner lists (drayer/siblings of the owner's chain), [] when none or unreadable. */
export function siblingsHeld(h: Handle): Sibling[] {
  const row = rowByKey(h, SIBLINGS_TYPE, SIBLINGS_KEY);
  if (!row?.val) return [];
  try {
    return decodeSiblings(row.val);
  } catch {
    return [];
  }
}

/** The newest mod held of one device's chain (0: none held). */
export function chainTip(h: Handle, pk: Uint8Array): number {
  return (h.st.maxMod.get(Buffer.from(pk)) as number | null) ?? 0;
}

/** After the owner's own removal of a device: the records of its chain past its window leave here too (apply.ts does it for copies). */
export function dropAfter(h: Handle, pk: Uint8Array, to: number): number[] {
  try {
    return h.db.prepare('DELETE FROM records WHERE chain = ? AND mod > ? RETURNING id').pluck().all(Buffer.from(pk), to) as number[];
  } catch (e) {
    throw sqliteError(e, h.file);
  }
}

/**
 * The record (type, key) as readers see it across chains: in each chain its newest version (by
 * mod), and of the chains the newer `ts` (§9: two devices may both hold a record of that name);
 * on a tie the owner's chain.
 */
export function mergedByKey(h: Handle, type: string, key: string): Row | undefined {
  const own = rowByKey(h, type, key);
  const rows = h.st.byKeyOther.all(type, key, h.chain) as Row[];
  let best = own;
  for (const r of rows) {
    if (!best || r.ts > best.ts || (r.ts === best.ts && !best.chain.equals(h.chain) && r.mod > best.mod)) best = r;
  }
  return best;
}

/** A record by id in any chain: ids of a device's chain lie in its own range (siblings.ts idRangeOf). */
export function byIdAnyChain(h: Handle, id: number): Row | undefined {
  const own = h.st.byId.get(h.chain, id) as Row | undefined;
  if (own || id < ID_RANGE) return own;
  for (const s of siblingsHeld(h)) {
    const r = idRangeOf(s.pubkey);
    if (id >= r.first && id <= r.last) return h.st.byId.get(Buffer.from(s.pubkey), id) as Row | undefined;
  }
  return undefined;
}
