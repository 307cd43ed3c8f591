// A stream as its reader sees it (DESIGN §8). A private stream's file holds sealed records only
// (core/private.ts); its read key sits beside it in NAME.stream.readkey with the secret key's
// protection (keystore.ts: sealed by the app's keychain, else 0600). A StreamView gives the
// commands one door for both kinds of stream: a public stream's records pass straight through;
// a private one's are sealed on the way in and opened on the way out where the read key is held,
// and where it is not (a blind mirror) reading says "sealed: no read key". The Stream itself
// never opens anything, so what it serves to peers stays ciphertext whoever holds the key.
import { encode } from '@msgpack/msgpack';
import * as fs from 'node:fs';
import { DrayerError } from '../core/errors.js';
import { decodeInfo } from '../core/msgpack.js';
import { MARKER_KEY, MARKER_TYPE, READ_KEY_BYTES, ReadKey, SEAL_OVERHEAD, SEALED_TYPE, sealedBox, staysClear, wrongReadKey } from '../core/private.js';
import { beginOp, endOp } from './chunks.js';
import { LIMITS, type DrayerRecord } from '../core/record.js';
import { isSealedKeyFile, readSecretText, writeSecretText } from './keystore.js';
import type { ListOptions } from './feed.js';
import { Stream, type CreateOptions, type StreamInfo } from './store.js';

// What the commands need of core/private.ts, from here: one module they load for private streams keeps the bundle's chunks few.
export { parseReadLink, ReadKey, readLink, SEALED_TYPE } from '../core/private.js';

/** A private stream's read key file: beside it, NAME.stream.readkey. */
export const READ_KEY_SUFFIX = '.readkey';

export function readKeyPathFor(file: string): string {
  return file + READ_KEY_SUFFIX;
}

/** What reading says where the read key is not held. */
export const SEALED_NOTE = 'sealed: no read key';

/** The read key beside a stream file, or null when there is none (or it is sealed by an app this process is not). */
export async function readKeyBeside(file: string): Promise<ReadKey | null> {
  const bytes = readKeyBytesBeside(file);
  return bytes ? ReadKey.from(bytes) : null;
}

/** readKeyBeside at once, where libsodium loads (ReadKey.fromSync); null also where it does not. */
export function readKeyBesideSync(file: string): ReadKey | null {
  const bytes = readKeyBytesBeside(file);
  return bytes ? ReadKey.fromSync(bytes) : null;
}

function readKeyBytesBeside(file: string): Uint8Array | null {
  const keyFile = readKeyPathFor(file);
  if (!fs.existsSync(keyFile)) return null;
  let text: string;
  try {
    text = readSecretText(keyFile).text;
  } catch (e) {
    // the desktop app sealed it with this computer's keychain: said plainly, not taken for a blind mirror
    if ((e as { code?: unknown }).code === 'NOT_WRITABLE' && isSealedKeyFile(keyFile))
      throw new DrayerError(
        'NOT_WRITABLE',
        `The read key file ${keyFile} is encrypted by the Drayer desktop app (with this computer's keychain), so only the app can read this stream. To read it here, clone it with its read link (drayer:…#r=…).`,
        { cause: e },
      );
    throw e;
  }
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length !== READ_KEY_BYTES)
    throw new DrayerError(
      'CORRUPT',
      `The read key file ${keyFile} is damaged (expected base64 of ${READ_KEY_BYTES} bytes). Restore it from the stream's read link or backup words.`,
    );
  return new Uint8Array(bytes);
}

/** Keep `rk` beside `file` (refuses to overwrite a read key file). */
export function writeReadKeyFile(file: string, rk: ReadKey): void {
  const keyFile = readKeyPathFor(file);
  if (fs.existsSync(keyFile)) throw new DrayerError('EXISTS', `${keyFile} already exists; refusing to overwrite a read key (nothing was changed).`);
  writeSecretText(keyFile, Buffer.from(rk.bytes).toString('base64') + '\n');
}

/** True when the stream is private: its marker record is here, or a read key is kept beside it. */
export function isPrivate(s: Stream): boolean {
  return s.get(MARKER_TYPE, MARKER_KEY) !== undefined || fs.existsSync(readKeyPathFor(s.file));
}

/**
 * Create a private stream: its secret key and read key beside it, the marker record, then its
 * drayer/info sealed (never written in clear, so no plaintext page is ever in the file).
 */
export async function createPrivateStream(
  file: string,
  opts: Omit<CreateOptions, 'writeInfo' | 'followKey'> = {},
): Promise<{ stream: Stream; readKey: ReadKey }> {
  if (fs.existsSync(readKeyPathFor(file)))
    throw new DrayerError('EXISTS', `${readKeyPathFor(file)} already exists; refusing to overwrite a read key (nothing was changed).`);
  const rk = await ReadKey.generate();
  let wrote = false;
  try {
    const stream = Stream.create(file, {
      ...opts,
      writeInfo: (s, info) => {
        writeReadKeyFile(file, rk);
        wrote = true;
        s.put(MARKER_TYPE, MARKER_KEY, rk.markerValue());
        s.put(SEALED_TYPE, rk.opaqueKey('drayer', 'info'), rk.seal('drayer', 'info', encode(info)));
      },
    });
    return { stream, readKey: rk };
  } catch (e) {
    if (wrote) fs.rmSync(readKeyPathFor(file), { force: true });
    throw e;
  }
}

export type Access = 'public' | 'reader' | 'sealed';

/** One record type and how many live records it has, as a reader counts them. */
export interface TypeCount {
  type: string;
  n: number;
}

/**
 * A rotation (private-rotate.ts) that stopped between its transaction and putting its new key in
 * place left NAME.stream.readkey.new: when the marker names that key, it is put in place now. One
 * that stopped before its transaction committed changed nothing (the old key still opens every
 * record); its pending key is left for the next rotation to remove, since a rotation running now in
 * another process may be about to commit with it.
 */
export async function settleRotation(s: Stream): Promise<void> {
  const bytes = pendingKey(s);
  if (!bytes) return;
  let rk: ReadKey;
  try {
    rk = await ReadKey.from(bytes);
  } catch {
    return;
  }
  settleWith(s, rk);
}

/** settleRotation at once, where libsodium is loaded (a running node's reader: node/private-streams.ts). */
export function settleRotationSync(s: Stream): void {
  const bytes = pendingKey(s);
  if (!bytes) return;
  let rk: ReadKey | null;
  try {
    rk = ReadKey.fromSync(bytes);
  } catch {
    return;
  }
  if (rk) settleWith(s, rk);
}

function pendingKey(s: Stream): Uint8Array | null {
  const pending = `${readKeyPathFor(s.file)}.new`;
  if (!fs.existsSync(pending) || !s.get(MARKER_TYPE, MARKER_KEY)?.val) return null;
  try {
    const bytes = Buffer.from(readSecretText(pending).text.trim(), 'base64');
    return bytes.length === READ_KEY_BYTES ? new Uint8Array(bytes) : null;
  } catch {
    return null;
  }
}

function settleWith(s: Stream, rk: ReadKey): void {
  try {
    rk.checkMarker(s.get(MARKER_TYPE, MARKER_KEY)!.val!, '');
  } catch {
    return; // not the key the marker names: the rotation never committed
  }
  fs.renameSync(`${readKeyPathFor(s.file)}.new`, readKeyPathFor(s.file));
}

/** The view of `s` this process can have: opened with the read key beside it, when there is one. */
export async function openView(s: Stream): Promise<StreamView> {
  await settleRotation(s);
  const rk = await readKeyBeside(s.file);
  return new StreamView(s, rk);
}

export class StreamView {
  readonly stream: Stream;
  readonly readKey: ReadKey | null;
  readonly access: Access;
  /** every opened record of a private stream, made once per view and kept until the stream changes */
  private opened: DrayerRecord[] | null = null;
  private openedSeq = -1;

  /** `unchecked`: the marker is not checked (a rotation seals under the new key before the marker names it). */
  constructor(s: Stream, rk: ReadKey | null, opts: { unchecked?: boolean } = {}) {
    this.stream = s;
    this.readKey = rk;
    this.access = rk ? 'reader' : isPrivate(s) ? 'sealed' : 'public';
    if (rk && !opts.unchecked) {
      const marker = s.get(MARKER_TYPE, MARKER_KEY);
      // no marker yet (a copy still syncing): each record's AEAD still refuses a wrong key
      if (marker?.val) rk.checkMarker(marker.val, `${s.file} cannot be read with the read key in ${readKeyPathFor(s.file)}`);
    }
  }

  get private(): boolean {
    return this.access !== 'public';
  }

  private sealedError(what: string): DrayerError {
    return new DrayerError(
      'SEALED',
      `${what} in ${this.stream.file} is ${SEALED_NOTE}: the stream is private and this copy is a blind mirror (it syncs and serves the stream without reading it). Clone it with the stream's read link (drayer:…#r=…) to read it.`,
    );
  }

  /**
   * The plaintext of a sealed record: its type, key and value opened, its id, times, links and
   * signature as stored (so `hash` is the sealed value's). A record in clear passes unchanged; a
   * record without its value (metadata-only copy) keeps val null.
   */
  open(r: DrayerRecord): DrayerRecord {
    if (r.type !== SEALED_TYPE || this.access === 'public') return r;
    if (!this.readKey) throw this.sealedError(`Record ${r.id}`);
    if (!r.val) return { ...r, val: null };
    try {
      const o = this.readKey.open(r.val, r.key);
      return { ...r, type: o.type, key: o.key, val: o.val };
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'CORRUPT') throw e;
      throw new DrayerError(
        'CORRUPT',
        `Record ${r.id} of ${this.stream.file} does not open: ${(e as Error).message}. Nothing of it is shown; sync the stream again from its writer, or ask the writer to write it again.`,
      );
    }
  }

  /** The stored record (sealed in a private stream) that holds (type, key), or undefined. */
  locate(type: string, key: string): DrayerRecord | undefined {
    if (this.access === 'public' || staysClear(type, key)) return this.stream.get(type, key);
    if (!this.readKey) throw this.sealedError(`${type}/${key}`);
    return this.stream.get(SEALED_TYPE, this.readKey.opaqueKey(type, key));
  }

  get(type: string, key: string): DrayerRecord | undefined {
    const r = this.locate(type, key);
    return r ? this.open(r) : undefined;
  }

  put(type: string, key: string, value: Uint8Array, ts?: number): DrayerRecord {
    if (this.access === 'public' || staysClear(type, key)) return this.stream.put(type, key, value, ts);
    if (!this.readKey)
      throw new DrayerError(
        'NOT_WRITABLE',
        `${this.stream.file} is private and its read key (${readKeyPathFor(this.stream.file)}) is not here, so nothing can be sealed for it. Restore the read key from the stream's read link or backup words; nothing was written.`,
      );
    if (value.length + SEAL_OVERHEAD + type.length * 3 + key.length * 3 + 32 > LIMITS.valueBytes)
      throw new DrayerError(
        'INVALID_ARGUMENT',
        `A record of a private stream holds at most about ${LIMITS.valueBytes / 1024 / 1024} MiB; nothing was written.`,
      );
    this.opened = null;
    return this.open(this.stream.put(SEALED_TYPE, this.readKey.opaqueKey(type, key), this.readKey.seal(type, key, value), ts));
  }

  delete(type: string, key: string): boolean {
    // as the writer refuses for a public stream: the sealed name record keeps the stream non-empty; the marker keeps it private
    if (this.private && type === 'drayer' && (key === 'info' || key === MARKER_KEY))
      throw new DrayerError('PROTECTED', `The drayer/${key} record of a private stream cannot be deleted${key === 'info' ? '; edit it instead' : ''}.`);
    const r = this.locate(type, key);
    if (!r) return false;
    this.opened = null;
    // a big private file: its chunks go with it (registered first, as deleteFile does for public ones)
    if (!r.val || sealedBox(r.val) === r.val) return this.stream.delete(r.type, r.key);
    const op = beginOp(this.stream);
    let gone = false;
    try {
      gone = this.stream.delete(r.type, r.key);
    } finally {
      endOp(this.stream, op, gone);
    }
    return gone;
  }

  /** Open the records again on the next read: values a metadata-only copy fetched fill records in place, without a new seq. */
  valuesFilled(): void {
    this.opened = null;
  }

  /**
   * Every live record, opened (a private stream's are all opened once: their types are sealed too).
   * One that does not open stays as it is stored, of type `sealed`, so a listing still shows the rest.
   */
  private all(): DrayerRecord[] {
    const seq = this.stream.lastSeq();
    if (this.opened && this.openedSeq === seq) return this.opened;
    this.openedSeq = seq;
    const out: DrayerRecord[] = [];
    for (const r of this.stream.iterate()) {
      try {
        out.push(this.open(r));
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'CORRUPT') throw e;
        out.push(r);
      }
    }
    return (this.opened = out);
  }

  /** Records of one type (or two), newest first by `ts` (default) or by `id`, paged, as Stream.list. */
  list(type: string | readonly [string, string], opts: ListOptions = {}): DrayerRecord[] {
    if (this.access === 'public') return this.stream.list(type, opts);
    if (!this.readKey) {
      if (type === SEALED_TYPE) return this.stream.list(type, opts);
      return this.stream.list(type, opts).filter((r) => staysClear(r.type, r.key));
    }
    const by = opts.order === 'id' ? (r: DrayerRecord) => r.id : (r: DrayerRecord) => r.ts;
    const rows = this.all()
      .filter((r) => (typeof type === 'string' ? r.type === type : type.includes(r.type)))
      .sort((a, b) => by(b) - by(a) || b.id - a.id);
    const offset = opts.offset ?? 0;
    return rows.slice(offset, offset + Math.max(0, Math.min(opts.limit ?? 100, 10_000)));
  }

  /** The live records of one type, every one (list() pages), as a reader sees them. */
  ofType(type: string): DrayerRecord[] {
    if (this.access !== 'reader') return this.access === 'public' ? [...this.stream.iterate()].filter((r) => r.type === type) : [];
    return this.all().filter((r) => r.type === type);
  }

  /** The record types and their counts, as a reader sees them (a blind mirror: `sealed` and the clear ones). */
  types(): TypeCount[] {
    if (this.access !== 'reader') return this.stream.types();
    const n = new Map<string, number>();
    for (const r of this.all()) n.set(r.type, (n.get(r.type) ?? 0) + 1);
    return [...n].map(([type, count]) => ({ type, n: count })).sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }

  /** drayer/info decoded ({} where sealed or malformed), as Stream.info. */
  info(): StreamInfo {
    if (this.access === 'public') return this.stream.info();
    if (this.access === 'sealed') return {};
    const r = this.get('drayer', 'info');
    if (!r?.val) return {};
    try {
      return decodeInfo(r.val) as StreamInfo;
    } catch {
      return {};
    }
  }
}

/** Check that `rk` opens the stream `s` holds (its marker), before keeping it beside the file. */
export function checkReadKeyFor(s: Stream, rk: ReadKey, what: string): 'checked' | 'public' | 'unchecked' {
  const marker = s.get(MARKER_TYPE, MARKER_KEY);
  if (!marker) {
    // no marker (a partial copy may lack it): the key must open a sealed record, when there is one
    const sealed = s.list(SEALED_TYPE, { limit: 1 })[0];
    if (!sealed) return 'public';
    if (!sealed.val) return 'unchecked';
    try {
      rk.open(sealed.val, sealed.key);
    } catch {
      throw wrongReadKey(what);
    }
    return 'checked';
  }
  if (!marker.val) return 'unchecked';
  rk.checkMarker(marker.val, what);
  return 'checked';
}
