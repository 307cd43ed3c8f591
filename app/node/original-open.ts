// "Open stream file" given a file the original Python Drayer wrote (issue 20.2): the app offers to
// import it (original-file.ts: a copy in the data folder, every record verified, byte for byte,
// its key file copied beside it) and then opens the copy. The original file is only read.
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { StreamSummary } from './api.js';
import { DrayerError } from '../core/errors.js';
import { formatKey } from '../core/keys.js';
import { cleanName } from '../core/text.js';
import { importOriginal } from '../store/original-file.js';
import { originalIdentity } from '../store/original-identity.js';
import { slug, uniqueFile, type NodeState } from './state.js';

/** The stream an original Drayer file holds, or undefined when `file` is not one. Reads only. */
export function originalFileAt(file: string): { publicKey: Uint8Array; records: number } | undefined {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    return originalIdentity(db);
  } finally {
    db.close();
  }
}

/** What the app offers for an original file: one sentence on what importing does. */
export function originalFileOffer(file: string, who: { records: number }): DrayerError {
  return new DrayerError(
    'ORIGINAL_FILE',
    `${path.basename(file)} is a stream file of the original Drayer (${who.records} record${who.records === 1 ? '' : 's'}). ` +
      `Importing it makes a Drayer copy in your Drayer folder and opens that; the original file is never changed, and its key file keeps working.`,
  );
}

/** Import the original file `full` into the data folder; `open` then takes the copy in as any stream file. */
export function importOriginalHere(
  n: NodeState,
  full: string,
  who: { publicKey: Uint8Array },
  open: (n: NodeState, file: string) => StreamSummary,
): StreamSummary {
  const pk = formatKey(who.publicKey);
  if (n.streams.has(pk)) {
    const e = n.library.getStream(pk);
    throw new DrayerError(
      'EXISTS',
      `This computer already holds that stream${e?.name ? ` ("${cleanName(e.name)}")` : ''}, in ${n.streams.get(pk)!.file}; nothing was imported.`,
    );
  }
  const name = uniqueFile(n, slug(path.basename(full).replace(/\.stream$/i, '')));
  n.dataDirWatcher?.expect(name); // taken in below, not by a scan
  const out = path.join(n.dataDir, name);
  const r = importOriginal(full, out);
  const refused = r.rejectedCount ? `; ${r.rejectedCount} record${r.rejectedCount === 1 ? '' : 's'} did not verify and were left out` : '';
  n.log(`Imported ${full} (a stream file of the original Drayer) into ${out}: ${r.records} records${refused}. ${full} is unchanged.`);
  return open(n, out);
}
