// Telling a stream file the original Python Drayer wrote (issue 20.2) from anything else: an SQLite
// file with the tables attr(key, value), holding its PublicKey, and record(id, type, key, value,
// hash, timestamp, modified, prev, prevchange, signature, chain). Read only; see original-file.ts.
import type Database from 'better-sqlite3';
import { DrayerError } from '../core/errors.js';

/** The original's record table, as drayer.py creates it (the columns the import reads). */
const RECORD_COLUMNS = ['id', 'type', 'key', 'value', 'hash', 'timestamp', 'modified', 'prev', 'prevchange', 'signature', 'chain'];

/** The stream an original Drayer file holds, and how many records; undefined when `db` is not one. Reads only. */
export function originalIdentity(db: Database.Database): { publicKey: Uint8Array; records: number } | undefined {
  try {
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type='table'").pluck().all() as string[]).map(String));
    if (!tables.has('attr') || !tables.has('record') || tables.has('meta')) return undefined;
    const cols = new Set((db.pragma('table_info(record)') as { name: string }[]).map((c) => c.name));
    if (!RECORD_COLUMNS.every((c) => cols.has(c))) return undefined;
    const pk = db.prepare("SELECT value FROM attr WHERE key='PublicKey'").pluck().get();
    if (typeof pk !== 'string') return undefined;
    const publicKey = new Uint8Array(Buffer.from(pk.trim(), 'base64'));
    if (publicKey.length !== 32) return undefined;
    const records = db.prepare('SELECT count(*) FROM record').pluck().get() as number;
    return { publicKey, records };
  } catch {
    return undefined; // unreadable: the caller says what it says of any other file
  }
}

/** What to say of an original Drayer file asked to be opened as a Drayer stream file. */
export function originalFileError(file: string, who: { publicKey: Uint8Array; records: number }): DrayerError {
  const key = Buffer.from(who.publicKey).toString('base64');
  return new DrayerError(
    'NOT_A_STREAM',
    `${file} is a stream file of the original Drayer (stream ${key}, ${who.records} record${who.records === 1 ? '' : 's'}), which Drayer does not open as it is. ` +
      `Import it into a Drayer file with "drayer import ${file} NEW.stream"; ${file} is left unchanged.`,
  );
}
