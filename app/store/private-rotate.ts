// Rotating a private stream's read key (DESIGN §8, revocation): every live sealed record of the
// stream's own chain is opened with the old key, sealed under a new one (big files chunk by chunk)
// and written again, signed anew, while its old ciphertext is deleted, all in one transaction. A
// mirror that syncs afterwards receives the new records and, by the gap rules, drops the old ones
// (and their chunks); a holder of the old key opens nothing written from now on.
//
// The new key is written beside the stream as NAME.stream.readkey.new before the transaction and
// renamed over the old one after it: a crash in between leaves both, and readKeyBeside
// (private-view.ts) takes whichever the stream's marker names.
import * as fs from 'node:fs';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { bytesEqual } from '../core/crypto.js';
import { MARKER_KEY, MARKER_TYPE, ReadKey, SEALED_TYPE, staysClear } from '../core/private.js';
import type { DrayerRecord } from '../core/record.js';
import type { BatchWriter } from './writer.js';
import { beginOp, endOp } from './chunks.js';
import { FILE_TYPE } from './file-value.js';
import { KEYBOX_KEY, KEYBOX_TYPE, keyBoxes } from '../core/keybox.js';
import { writeSecretText } from './keystore.js';
import { loadSealedFile, sealBig, sealedFileSource } from './private-bigfile.js';
import { readKeyPathFor, StreamView } from './private-view.js';

/** What a rotation means, in one sentence (the CLI and the app say it before doing it). */
export const ROTATE_MEANING =
  'Rotating the read key seals every record of this stream again under a new key: whoever holds the current read link keeps what they already have but reads nothing new or edited from now on, so send the new read link to everyone who should keep reading.';

/** The pending new key during a rotation. */
export function pendingKeyPath(file: string): string {
  return `${readKeyPathFor(file)}.new`;
}

export interface RotateResult {
  readKey: ReadKey;
  /** records sealed again (big files among them) */
  records: number;
  files: number;
  /** ids of the records whose old ciphertext was deleted */
  removed: number[];
  /** records of the stream's other devices' chains, left sealed under the old key (devicesNote says why) */
  deviceRecords: number;
}

/**
 * What happens to the records the stream's other devices wrote: each is signed by its device's own
 * key, which is not on this computer, so the rotation hands each listed device the new read key
 * (drayer/readkeys, sealed to its key) and the device seals its own records again (device-rekey.ts).
 */
export function devicesNote(n: number): string {
  return `${n} ${n === 1 ? 'record' : 'records'} written by this stream's other devices ${n === 1 ? 'is' : 'are'} still sealed under the old read key: each device re-seals its own posts the next time it syncs, and the new read link opens them from then on.`;
}

/** A sealed record and what it seals. */
export interface OpenedRecord {
  r: DrayerRecord;
  o: DrayerRecord;
  /** the view whose key opened it (a device may hold records of several old keys) */
  from: StreamView;
}

/** The big files among `opened` sealed again under `next`, chunk by chunk, pinned to `op` until it commits: their new values. */
export async function resealFiles(opened: OpenedRecord[], next: StreamView, op: number): Promise<Map<DrayerRecord, Uint8Array>> {
  const values = new Map<DrayerRecord, Uint8Array>();
  for (const { r, o, from } of opened) {
    if (o.type !== FILE_TYPE) continue;
    const f = await loadSealedFile(from, o.key);
    if (!f) continue;
    const b = await sealBig(next, o.key, sealedFileSource(from, f), f.manifest.mime, op, { time: f.manifest.time });
    values.set(r, b.value);
  }
  return values;
}

/** In a batch: each of `opened` deleted and written again sealed under `rk` (big files with their new values). */
export function writeResealed(w: BatchWriter, rk: ReadKey, opened: OpenedRecord[], values: Map<DrayerRecord, Uint8Array>): void {
  for (const { r, o } of opened) {
    // the clear ones stay as they are; a sealed record holds none of them (the writer refuses that)
    if (staysClear(o.type, o.key)) continue;
    w.delete(SEALED_TYPE, r.key);
    w.put(SEALED_TYPE, rk.opaqueKey(o.type, o.key), values.get(r) ?? rk.seal(o.type, o.key, o.val!), r.ts);
  }
}

/**
 * Rotate `v`'s read key. Needs the secret key and the read key here, and every sealed record (and
 * every chunk of every big file) of the stream's own chain opening with it: anything else is a
 * clear error and changes nothing.
 */
export async function rotateReadKey(v: StreamView): Promise<RotateResult> {
  const s = v.stream;
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', `${s.file} is a mirror: only the stream's writer can rotate its read key.`);
  if (v.access !== 'reader' || !v.readKey)
    throw new DrayerError(
      'NOT_WRITABLE',
      v.access === 'public'
        ? `${s.file} is a public stream: it has no read key to rotate.`
        : `${s.file} is private and its read key is not here; restore it (from the read link or the backup words) before rotating it.`,
    );
  const pending = pendingKeyPath(s.file);
  if (fs.existsSync(pending)) fs.rmSync(pending); // a rotation that failed before its transaction: nothing uses it
  const own = (r: DrayerRecord) => bytesEqual(r.chain, s.publicKey);
  const sealed = [...s.iterate()].filter((r) => own(r) && r.type === SEALED_TYPE);
  const missing = sealed.filter((r) => !r.val);
  if (missing.length)
    throw new DrayerError(
      'NOT_FOUND',
      `${missing.length} sealed records of ${s.file} are held without their values, so they cannot be sealed again; sync the stream fully, then rotate. Nothing was changed.`,
    );
  const opened = sealed.map((r): OpenedRecord => {
    try {
      return { r, o: v.open(r), from: v };
    } catch (e) {
      if (!isDrayerError(e, 'CORRUPT')) throw e;
      throw new DrayerError(
        'CORRUPT',
        `Record ${r.id} of ${s.file} does not open with its read key, so it cannot be sealed again: ${e.message} Delete it or write it again, then rotate. Nothing was changed.`,
      );
    }
  });
  const rk = await ReadKey.generate();
  const next = new StreamView(s, rk, { unchecked: true });
  const op = beginOp(s);
  let committed = false;
  try {
    // big files first, chunk by chunk (outside the transaction, pinned to `op` until it commits)
    const values = await resealFiles(opened, next, op);
    const devices = s.devices().list.filter((d) => d.to === 0);
    writeSecretText(pending, Buffer.from(rk.bytes).toString('base64') + '\n');
    s.batch((w) => {
      writeResealed(w, rk, opened, values);
      w.put(MARKER_TYPE, MARKER_KEY, rk.markerValue());
      // each device still listed gets the new key sealed to its own key; a removed one gets none
      if (devices.length)
        w.put(
          KEYBOX_TYPE,
          KEYBOX_KEY,
          keyBoxes(
            rk.bytes,
            devices.map((d) => d.pubkey),
          ),
        );
      else if (s.get(KEYBOX_TYPE, KEYBOX_KEY)) w.delete(KEYBOX_TYPE, KEYBOX_KEY);
    });
    committed = true;
    fs.renameSync(pending, readKeyPathFor(s.file));
    const deviceRecords = [...s.iterate({ withValues: false })].filter((r) => !own(r) && r.type === SEALED_TYPE).length;
    return { readKey: rk, records: opened.length, files: values.size, removed: opened.map(({ r }) => r.id), deviceRecords };
  } finally {
    if (!committed) fs.rmSync(pending, { force: true });
    endOp(s, op, true); // the old big files' chunks (or, on failure, the new ones) go
  }
}
