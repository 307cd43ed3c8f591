// Export: a copy of a stream without its secret key (a read-only mirror to share), written as one
// consistent snapshot. Used by `drayer export` and the DrayerApi's exportStream.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import { dropUnreferencedChunks } from './chunks.js';
import { keyPathFor, Stream } from './store.js';

function fsError(e: unknown, file: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new DrayerError('NOT_FOUND', `Cannot write ${file}: its folder does not exist.`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new DrayerError('IO', `Cannot write ${file}: permission denied.`, { cause: e });
  if (code === 'ENOSPC')
    return new DrayerError('IO', `The disk is full while writing ${file}; nothing was written. Free some space and try again.`, { cause: e });
  return e as Error;
}

/** Write a keyless copy of `s` at `out` (never overwriting anything); returns its record count. */
export function exportStream(s: Stream, out: string): { records: number; bytes: number } {
  if (fs.existsSync(out)) throw new DrayerError('EXISTS', `${out} already exists; choose another name (nothing was written).`);
  // A key file already beside OUT would make the copy writable, the opposite of an export.
  if (fs.existsSync(keyPathFor(out)))
    throw new DrayerError('EXISTS', `${keyPathFor(out)} exists, so a copy at ${out} would not be keyless; choose another name.`);
  const dir = path.dirname(out);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new DrayerError('NOT_FOUND', `The folder ${dir} does not exist; create it first or choose another place for ${path.basename(out)}.`);
  const tmp = path.join(dir, `.${path.basename(out)}.${process.pid}.${Buffer.from(randomBytes(4)).toString('hex')}.tmp`);
  const cleanup = () => {
    for (const f of [tmp, tmp + '-wal', tmp + '-shm']) fs.rmSync(f, { force: true });
  };
  let records = 0;
  try {
    // VACUUM INTO, not a page copy: free pages (which may hold bytes of deleted or cancelled
    // files) stay behind, and the copy is one consistent snapshot however busy the stream is.
    try {
      s.db.prepare('VACUUM INTO ?').run(tmp);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_FULL')
        throw new DrayerError('IO', `The disk is full while writing ${out}; nothing was written. Free some space and try again.`, { cause: e });
      if (code === 'SQLITE_CANTOPEN')
        throw new DrayerError('IO', `Cannot write ${out}: ${(e as Error).message}; check that its folder is writable.`, { cause: e });
      throw fsError(e, out);
    }
    // The copy is another database: a new node id makes followers restart their cursors.
    const copy = Stream.open(tmp);
    try {
      copy.setMeta('nodeId', Buffer.from(randomBytes(16)).toString('hex'));
      // Only chunks a file refers to leave this machine: not those of an add still running
      // (or killed where nothing collected yet), which may be a private file never meant to go.
      dropUnreferencedChunks(copy);
      records = copy.count();
    } finally {
      copy.close();
    }
    try {
      fs.linkSync(tmp, out); // fails if OUT appeared meanwhile: never overwrite
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new DrayerError('EXISTS', `${out} already exists; choose another name (nothing was written).`);
      // Filesystems without hard links (FAT on USB sticks): rename after one more check.
      if (fs.existsSync(out)) throw new DrayerError('EXISTS', `${out} already exists; choose another name (nothing was written).`);
      try {
        fs.renameSync(tmp, out);
      } catch (e2) {
        throw fsError(e2, out);
      }
    }
  } finally {
    cleanup();
  }
  return { records, bytes: fs.statSync(out).size };
}
