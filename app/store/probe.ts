// Stream.probe: what a stream file holds, read without writing anything (store.ts).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { keyPairBeside } from './keystore.js';
import { readIdentity, sqliteError } from './schema.js';

export function probeFile(file: string): { publicKey: Uint8Array; writable: boolean } {
  if (!fs.existsSync(file)) throw new DrayerError('NOT_FOUND', `${file} does not exist.`);
  // A read-write connection that only reads leaves the file and its folder as they were: the
  // last connection to close removes the -wal and -shm it made, which a read-only one cannot.
  // Where a WAL or journal is already there (another process writing, or a crash), only a
  // read-only connection is sure not to copy it into the file when it closes.
  const readonly = fs.existsSync(file + '-wal') || fs.existsSync(file + '-journal');
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, readonly, timeout: 100 });
  } catch (e) {
    throw sqliteError(e, file);
  }
  try {
    const { publicKey } = readIdentity(db, file);
    for (const table of ['meta', 'records']) {
      const rows = db.pragma(`quick_check(${table})`) as { quick_check: string }[];
      if (rows.length !== 1 || rows[0]!.quick_check !== 'ok') {
        throw new DrayerError(
          'CORRUPT',
          `${file} is damaged (SQLite reports: ${rows[0]?.quick_check ?? 'no answer'}). Restore it from a backup or clone the stream again from a mirror.`,
        );
      }
    }
    return { publicKey, writable: keyPairBeside(file, publicKey) !== null };
  } catch (e) {
    throw isDrayerError(e) ? e : sqliteError(e, file);
  } finally {
    db.close();
  }
}
