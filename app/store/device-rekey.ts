// A device of a private stream taking the owner's rotated read key (DESIGN §8, §9). The owner's
// rotation re-seals its own chain only (a device's records are signed by the device's key) and
// leaves, in drayer/readkeys, the new key sealed to each listed device (core/keybox.ts). A device
// that syncs and finds the marker naming a key it does not hold opens its box, keeps the key as it
// keeps the old one, and seals its own live records again under it, in one transaction.
//
// Crash-safe like the owner's rotation: the keys it held are kept first in NAME.stream.readkey.old,
// then the new key replaces NAME.stream.readkey, then the transaction re-seals, then .old goes. A
// device stopped anywhere in between finds .old at its next start and finishes.
import * as fs from 'node:fs';
import type { KeyPair } from '../core/crypto.js';
import { isDrayerError } from '../core/errors.js';
import { KEYBOX_KEY, KEYBOX_TYPE, openKeyBox } from '../core/keybox.js';
import { MARKER_KEY, MARKER_TYPE, READ_KEY_BYTES, ReadKey, SEALED_TYPE } from '../core/private.js';
import { beginOp, endOp } from './chunks.js';
import { readSecretText, replaceSecretText, writeSecretText } from './keystore.js';
import { resealFiles, writeResealed, type OpenedRecord } from './private-rotate.js';
import { readKeyBeside, readKeyPathFor, StreamView } from './private-view.js';
import type { Stream } from './store.js';

/** The read keys a device held before taking a rotated one, until its records are sealed again. */
export const oldKeysPathFor = (file: string): string => `${readKeyPathFor(file)}.old`;
/** Old keys kept at most (a device away through several rotations needs only the one it sealed with). */
const MAX_OLD_KEYS = 16;

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function oldKeys(file: string): Uint8Array[] {
  const f = oldKeysPathFor(file);
  if (!fs.existsSync(f)) return [];
  try {
    return readSecretText(f)
      .text.split(/\s+/)
      .map((t) => new Uint8Array(Buffer.from(t, 'base64')))
      .filter((b) => b.length === READ_KEY_BYTES);
  } catch {
    return [];
  }
}

/** A clear record of the owner's own chain (a device's chain could hold one of that name too). */
function ownersValue(s: Stream, type: string, key: string): Uint8Array | null {
  const v = s.db.prepare('SELECT val FROM records WHERE chain = ? AND type = ? AND key = ?').pluck().get(Buffer.from(s.publicKey), type, key);
  return v instanceof Uint8Array ? v : null;
}

const fits = (rk: ReadKey, marker: Uint8Array): boolean => {
  try {
    rk.checkMarker(marker, '');
    return true;
  } catch {
    return false;
  }
};

/** Whether this device copy has a rotated key to take, or a re-seal to finish (cheap: no record is opened). */
export function rekeyPending(s: Stream): boolean {
  if (s.writable || !s.devices().mine) return false;
  if (fs.existsSync(oldKeysPathFor(s.file))) return true;
  const marker = ownersValue(s, MARKER_TYPE, MARKER_KEY);
  if (!marker || !fs.existsSync(readKeyPathFor(s.file))) return false;
  let rk: ReadKey | null;
  try {
    rk = ReadKey.fromSync(new Uint8Array(Buffer.from(readSecretText(readKeyPathFor(s.file)).text.trim(), 'base64')));
  } catch {
    return false; // damaged, or sealed by the app's keychain: nothing a device can do with it
  }
  return !rk || !fits(rk, marker); // without libsodium loaded at once, takeRotatedKey decides
}

export interface RekeyResult {
  /** records of this device's chain sealed again */
  records: number;
  /** ids of their old ciphertext, deleted */
  removed: number[];
}

/**
 * Take the rotated read key boxed for `device` and seal this device's live records again under
 * it; null when there is nothing to do (the key held is the marker's and nothing is pending, no
 * box opens for this device: removed, or joined without the read key).
 */
export async function takeRotatedKey(s: Stream, device: KeyPair): Promise<RekeyResult | null> {
  const marker = ownersValue(s, MARKER_TYPE, MARKER_KEY);
  if (!marker) return null;
  const oldFile = oldKeysPathFor(s.file);
  let cur: ReadKey | null = null;
  try {
    cur = await readKeyBeside(s.file);
  } catch {
    cur = null;
  }
  let next: ReadKey;
  if (cur && fits(cur, marker)) {
    if (!fs.existsSync(oldFile)) return null;
    next = cur;
  } else {
    // only a device that read the stream takes a new key: one that joined by its key alone stays blind
    if (!cur && !fs.existsSync(oldFile)) return null;
    const box = ownersValue(s, KEYBOX_TYPE, KEYBOX_KEY);
    const bytes = box ? openKeyBox(box, device) : null;
    if (!bytes) return null;
    next = await ReadKey.from(bytes);
    if (!fits(next, marker)) return null; // a box of an older rotation than the marker's (still syncing)
    const keep = [...oldKeys(s.file), ...(cur ? [cur.bytes] : [])].slice(-MAX_OLD_KEYS).map(b64).join('\n') + '\n';
    if (fs.existsSync(oldFile)) replaceSecretText(oldFile, keep);
    else writeSecretText(oldFile, keep);
    replaceSecretText(readKeyPathFor(s.file), b64(next.bytes) + '\n');
  }
  const olds = await Promise.all(oldKeys(s.file).map((b) => ReadKey.from(b)));
  const views = olds.map((rk) => new StreamView(s, rk, { unchecked: true }));
  const nextView = new StreamView(s, next, { unchecked: true });
  const chain = Buffer.from(device.publicKey);
  const opened: OpenedRecord[] = [];
  for (const r of s.iterate()) {
    if (r.type !== SEALED_TYPE || !r.val || !chain.equals(Buffer.from(r.chain))) continue;
    try {
      next.open(r.val, r.key);
      continue; // sealed under the new key already
    } catch {
      /* an old key's */
    }
    for (const v of views) {
      try {
        opened.push({ r, o: v.open(r), from: v });
        break;
      } catch {
        /* another old key's; one no key opens stays as it is */
      }
    }
  }
  const op = beginOp(s);
  try {
    const values = await resealFiles(opened, nextView, op);
    if (opened.length) s.batch((w) => writeResealed(w, next, opened, values));
  } catch (e) {
    // removed meanwhile: it writes nothing any more, so there is nothing left to re-seal
    if (!isDrayerError(e, 'NOT_WRITABLE')) throw e;
    opened.length = 0;
  } finally {
    endOp(s, op, true); // the old big files' chunks (or, on failure, the new ones) go
  }
  fs.rmSync(oldFile, { force: true });
  return { records: opened.length, removed: opened.map(({ r }) => r.id) };
}
