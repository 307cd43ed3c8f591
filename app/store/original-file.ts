// Stream files the original Python Drayer wrote (issue 20.2): an SQLite file with two tables,
// attr(key, value) holding its PublicKey, and record(id, type, key, value, hash, timestamp,
// modified, prev, prevchange, signature, chain), its key file NAME.privatekey beside it (the same
// text as Drayer's). Drayer does not open them in place (its own schema, indexes and sync state
// would have to be written into them); `drayer import` copies every record, byte for byte and
// verified, into a new Drayer file, and the original file is only ever read.
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { originalIdentity } from './original-identity.js';
import type { DrayerRecord } from '../core/record.js';
import { keyPairBeside, keyPathFor } from './keystore.js';
import { Stream } from './store.js';

export interface ImportResult {
  file: string;
  publicKey: Uint8Array;
  /** records copied (verified, byte for byte) */
  records: number;
  /** records of the original file refused, and why (a few) */
  rejected: { id: number; reason: string }[];
  rejectedCount: number;
  /** records of other chains (drayer.py's sibling chains), which are not this stream's: left out */
  otherChains: number;
  /** the key file was copied beside the new file: it is writable */
  keyCopied: boolean;
}

interface OriginalRow {
  id: unknown;
  type: unknown;
  key: unknown;
  value: unknown;
  hash: unknown;
  timestamp: unknown;
  modified: unknown;
  prev: unknown;
  prevchange: unknown;
  signature: unknown;
  chain: unknown;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const bytes = (v: unknown): Uint8Array =>
  Buffer.isBuffer(v) ? new Uint8Array(v) : typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'utf8')) : new Uint8Array(0);
const int = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number.NaN);

/** Import `src`, an original Drayer file, into the new Drayer file `out` (and its key file, when `src` has one). */
export function importOriginal(src: string, out: string, opts: { batch?: number } = {}): ImportResult {
  if (!fs.existsSync(src)) throw new DrayerError('NOT_FOUND', `${src} does not exist.`);
  if (fs.existsSync(out)) throw new DrayerError('EXISTS', `${out} already exists; choose another file name (nothing was changed).`);
  let db: Database.Database;
  try {
    // read-only: the original file (and its journal, if the original is running) is never written
    db = new Database(src, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new DrayerError('NOT_A_STREAM', `${src} is not a stream file of the original Drayer (it cannot be read as an SQLite database).`, { cause: e });
  }
  try {
    db.defaultSafeIntegers(false);
    const who = originalIdentity(db);
    if (!who) throw new DrayerError('NOT_A_STREAM', `${src} is not a stream file of the original Drayer (no attr and record tables with its public key).`);
    const pk = who.publicKey;
    const kp = keyPairBeside(src, pk); // a key file that does not match the stream is refused, saying so
    const s = Stream.create(out, { followKey: pk });
    const result: ImportResult = { file: out, publicKey: pk, records: 0, rejected: [], rejectedCount: 0, otherChains: 0, keyCopied: false };
    let ok = false;
    try {
      const size = opts.batch ?? 1000;
      let batch: DrayerRecord[] = [];
      const flush = () => {
        const r = s.apply(batch);
        batch = [];
        result.records += r.stored.length + r.skipped;
        for (const x of r.rejected) {
          result.rejectedCount++;
          if (result.rejected.length < 5) result.rejected.push({ id: x.record.id, reason: x.reason });
        }
      };
      // oldest change first, as a follower receives them: each record verified as it is applied
      for (const row of db.prepare('SELECT * FROM record ORDER BY modified ASC').iterate() as IterableIterator<OriginalRow>) {
        const chain = bytes(row.chain);
        if (chain.length !== 0 && !Buffer.from(chain).equals(Buffer.from(pk))) {
          result.otherChains++;
          continue;
        }
        batch.push({
          id: int(row.id),
          type: text(row.type),
          key: text(row.key),
          val: row.value === null ? null : bytes(row.value),
          hash: bytes(row.hash),
          ts: int(row.timestamp),
          mod: int(row.modified),
          prev: int(row.prev),
          prevch: int(row.prevchange),
          sig: bytes(row.signature),
          chain: pk,
        });
        if (batch.length >= size) flush();
      }
      flush();
      if (kp) {
        // the key file itself, byte for byte (its text is Drayer's too), never over another one
        fs.copyFileSync(keyPathFor(src), keyPathFor(out), fs.constants.COPYFILE_EXCL);
        fs.chmodSync(keyPathFor(out), 0o600);
        result.keyCopied = true;
      }
      ok = true;
    } finally {
      s.close();
      if (!ok) for (const f of [out, `${out}-wal`, `${out}-shm`]) fs.rmSync(f, { force: true });
    }
    return result;
  } catch (e) {
    throw isDrayerError(e) ? e : new DrayerError('IO', `Could not import ${src}: ${(e as Error).message}`, { cause: e });
  } finally {
    db.close();
  }
}
