// Libraries for the tests of library.db: streams of its own added to it, and a library.db taken
// back to an older schema as that Drayer left it (to test its upgrade).
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { Library } from '../app/node/library.js';
import { Stream } from '../app/store/store.js';

/** What library migrations 5–8 added (conversations, post versions, talk links, search's time index): dropped to make a library.db of schema 4 or older. */
export const DROP_LIBRARY_SINCE_4 =
  'DROP INDEX timeline_rid_ts; DROP TRIGGER timeline_replies_delete; DROP TABLE replies; DROP TABLE reactions; DROP TABLE post_versions; DROP TRIGGER timeline_talk_links_delete; DROP TABLE talk_links;';
/** And what migrations 3 and 4 added (post counts, a stream's about and avatar): a library.db of schema 2. */
export const DROP_LIBRARY_SINCE_2 =
  'DROP TRIGGER timeline_count_insert; DROP TRIGGER timeline_count_delete; DROP TABLE stream_posts; ALTER TABLE streams DROP COLUMN about; ALTER TABLE streams DROP COLUMN avatar; ' +
  DROP_LIBRARY_SINCE_4;

/** A stream's key as the library names it. */
export const b64 = (s: Stream): string => Buffer.from(s.publicKey).toString('base64');

/** A stream created in the data dir and added to the library as owned. */
export function ownedStream(lib: Library, name: string): Stream {
  const s = Stream.create(path.join(lib.dataDir, `${name}.stream`), { name });
  lib.addStream({ publicKey: b64(s), file: `${name}.stream`, owned: true, name });
  return s;
}

/** The library.db in `dir` (closed) as schema `version` left it: `sql` undoes what came after. */
export function downgradeLibrary(dir: string, sql: string, version: number): void {
  const db = new Database(path.join(dir, 'library.db'));
  try {
    db.exec(sql);
    db.pragma(`user_version = ${version}`);
  } finally {
    db.close();
  }
}
