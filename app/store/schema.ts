// The stream file's SQLite side, shared by the store's modules: the schema and its migrations,
// connection tuning, the identity check at open, rows as records, and the prepared statements.
import Database from 'better-sqlite3';
import { bytesEqual } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import type { DrayerRecord } from '../core/record.js';
import type { Checkpoints } from './checkpointer.js';
import type { MetaCache } from './meta-cache.js';
import { originalFileError, originalIdentity } from './original-identity.js';

export const FORMAT = 'drayer-stream';

/** Stream schema migrations, one change each, never edited after release. Index = version - 1. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
   CREATE TABLE records (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     chain BLOB NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,
     val BLOB, hash BLOB NOT NULL, ts INTEGER NOT NULL, mod INTEGER NOT NULL,
     prev INTEGER NOT NULL, prevch INTEGER NOT NULL, sig BLOB NOT NULL);
   CREATE UNIQUE INDEX records_chain_id ON records(chain, id);
   CREATE INDEX records_chain_mod ON records(chain, mod);
   CREATE INDEX records_type_key ON records(type, key);
   CREATE INDEX records_type_ts ON records(type, ts);
   CREATE TABLE chunks (hash BLOB PRIMARY KEY, data BLOB NOT NULL);`,
  // seq without AUTOINCREMENT: its sqlite_sequence row cost one more page written per commit
  // (~15% of a put). The writer and apply hand out seqs themselves (see nextSeq), so none is ever
  // reused. If the top row had been deleted, the newest row takes the sequence's last value.
  `CREATE TABLE records2 (
     seq INTEGER PRIMARY KEY,
     chain BLOB NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,
     val BLOB, hash BLOB NOT NULL, ts INTEGER NOT NULL, mod INTEGER NOT NULL,
     prev INTEGER NOT NULL, prevch INTEGER NOT NULL, sig BLOB NOT NULL);
   INSERT INTO records2 SELECT seq, chain, id, type, key, val, hash, ts, mod, prev, prevch, sig FROM records;
   UPDATE records2 SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'records')
     WHERE seq = (SELECT max(seq) FROM records2) AND seq < (SELECT seq FROM sqlite_sequence WHERE name = 'records');
   DROP TABLE records;
   DELETE FROM sqlite_sequence WHERE name = 'records';
   ALTER TABLE records2 RENAME TO records;
   CREATE UNIQUE INDEX records_chain_id ON records(chain, id);
   CREATE INDEX records_chain_mod ON records(chain, mod);
   CREATE INDEX records_type_key ON records(type, key);
   CREATE INDEX records_type_ts ON records(type, ts);`,
  // Chunk writes in progress (chunks.ts): an operation's row, and a pin per chunk it committed whose
  // manifest may not be stored yet. A stream from before held no record of them, so any chunk in
  // it may be a leftover: a row no process owns has its first open collect them once.
  `CREATE TABLE chunk_ops (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, place TEXT NOT NULL, started INTEGER NOT NULL, beat INTEGER NOT NULL);
   CREATE TABLE chunk_pins (op INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (op, hash)) WITHOUT ROWID;
   INSERT INTO chunk_ops (pid, place, started, beat) SELECT 0, '', 0, 0 WHERE EXISTS (SELECT 1 FROM chunks);`,
];

export type Row = {
  seq: number;
  chain: Buffer;
  id: number;
  type: string;
  key: string;
  val: Buffer | null;
  hash: Buffer;
  ts: number;
  mod: number;
  prev: number;
  prevch: number;
  sig: Buffer;
};

/** Every column but the value: metadata-only reads never touch value bytes. */
export const META_COLS = 'seq, chain, id, type, key, NULL AS val, hash, ts, mod, prev, prevch, sig';

export function rowToRecord(r: Row): DrayerRecord {
  return {
    id: r.id,
    type: r.type,
    key: r.key,
    val: r.val ? new Uint8Array(r.val.buffer, r.val.byteOffset, r.val.byteLength) : null,
    hash: new Uint8Array(r.hash.buffer, r.hash.byteOffset, r.hash.byteLength),
    ts: r.ts,
    mod: r.mod,
    prev: r.prev,
    prevch: r.prevch,
    sig: new Uint8Array(r.sig.buffer, r.sig.byteOffset, r.sig.byteLength),
    chain: new Uint8Array(r.chain.buffer, r.chain.byteOffset, r.chain.byteLength),
  };
}

export function sqliteError(e: unknown, file: string): DrayerError {
  const code = (e as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB') return new DrayerError('NOT_A_STREAM', `${file} is not a Drayer stream file (it is not an SQLite database).`, { cause: e });
  if (code.startsWith('SQLITE_CORRUPT'))
    return new DrayerError('CORRUPT', `${file} is damaged (SQLite reports corruption). Restore it from a backup or clone the stream again from a mirror.`, {
      cause: e,
    });
  if (code === 'SQLITE_FULL')
    return new DrayerError('IO', `The disk is full while writing ${file}; nothing was changed. Free some space and try again.`, { cause: e });
  if (code === 'SQLITE_CANTOPEN') return new DrayerError('IO', `Cannot open ${file}: ${(e as Error).message}.`, { cause: e });
  if (code === 'SQLITE_READONLY') return new DrayerError('IO', `${file} is read-only here; nothing was changed.`, { cause: e });
  return new DrayerError('IO', `${file}: ${(e as Error).message}`, { cause: e });
}

/**
 * WAL checkpoints run on a worker thread (checkpointer.ts), asked for every CHECKPOINT_ROWS rows
 * written (~one row = 6 pages: table and 4 indexes). The writer's own checkpoint after a commit
 * is only a backstop, at WAL_PAGES: a background checkpoint cannot finish a WAL that keeps
 * growing, and only a fully checkpointed WAL starts over from its beginning.
 * The WAL file keeps its size after a checkpoint: cutting it back and growing it again cost
 * ~25% of a put (ext4 frees and allocates the blocks each time). Closing a stream removes it.
 */
export const WAL_PAGES = 8000;
export const CHECKPOINT_ROWS = 256;
/**
 * Checkpoints are asked for by rows written (CHECKPOINT_ROWS), counted as a lone put writes them:
 * about 5 WAL pages a row. Rows committed together share their pages (a group of 256 puts, or a
 * page of 1,000 records applied, writes ~45 or ~130 pages, not 1,280 or 5,000), so this many of
 * them count as one.
 */
export const GROUP_ROWS_PER_PUT = 16;
export function tuneWal(db: Database.Database): void {
  db.pragma(`wal_autocheckpoint = ${WAL_PAGES}`);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`journal_size_limit = ${(WAL_PAGES + 200) * (pageSize + 24)}`);
}

/**
 * The bytes of an empty stream file, schema laid out (auto_vacuum and every migration), made once
 * per process in memory: a new stream file starts as a copy of them. Running the migrations for
 * each new file cost ~4 ms of CPU a stream, a third of a follow's, and a node that follows a LAN's
 * worth of streams at once spent seconds in them. The copy is the same file the migrations make
 * (tested), already in WAL mode: meta rows and the key come after, per stream.
 */
let emptyImage: Buffer | undefined;
export function emptyStreamImage(): Buffer {
  if (emptyImage) return emptyImage;
  const mem = new Database(':memory:');
  try {
    // only settable before the first table (chunks.ts reclaimSpace gives collected space back)
    mem.pragma('auto_vacuum = INCREMENTAL');
    mem.transaction(() => {
      for (const m of MIGRATIONS) mem.exec(m);
      mem.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
    const img = mem.serialize();
    // Bytes 18 and 19 (the file format's write and read versions) at 2 mark a WAL file: a copy
    // opens in WAL mode as it is. Switching it there per file made, wrote and removed a rollback
    // journal each time (kernel work, ~0.2 ms of CPU a new stream).
    img[18] = 2;
    img[19] = 2;
    emptyImage = img;
  } finally {
    mem.close();
  }
  return emptyImage;
}

/** The stream a database holds, checked to be a Drayer stream file this version can read. Reads only. */
export function readIdentity(db: Database.Database, file: string, expectedKey?: Uint8Array): { publicKey: Uint8Array; version: number } {
  let format: unknown;
  let pkText: unknown;
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").get();
    if (!hasMeta) {
      const original = originalIdentity(db);
      if (original) throw originalFileError(file, original);
      throw new DrayerError('NOT_A_STREAM', `${file} is an SQLite database but not a Drayer stream file.`);
    }
    format = (db.prepare("SELECT v FROM meta WHERE k='format'").get() as { v?: unknown } | undefined)?.v;
    pkText = (db.prepare("SELECT v FROM meta WHERE k='publicKey'").get() as { v?: unknown } | undefined)?.v;
  } catch (e) {
    throw isDrayerError(e) ? e : sqliteError(e, file);
  }
  if (format !== FORMAT || typeof pkText !== 'string') throw new DrayerError('NOT_A_STREAM', `${file} is an SQLite database but not a Drayer stream file.`);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length)
    throw new DrayerError('NOT_A_STREAM', `${file} was written by a newer Drayer (schema ${version}); update Drayer to open it.`);
  const publicKey = new Uint8Array(Buffer.from(pkText, 'base64'));
  if (publicKey.length !== 32) throw new DrayerError('CORRUPT', `${file} holds a malformed public key.`);
  if (expectedKey && !bytesEqual(expectedKey, publicKey)) {
    throw new DrayerError('KEY_MISMATCH', `${file} holds stream ${Buffer.from(publicKey).toString('base64')}, not the one asked for.`);
  }
  return { publicKey, version };
}

/**
 * Statements prepared on first use, each once: a node holds hundreds of streams open and most
 * of them only ever run a few of these (preparing all of them for 500 streams took seconds at
 * start-up, and their memory stays as long as the stream is open). The getters sit on one
 * prototype made once: defining ~40 of them on every new stream's object cost more than using it.
 */
const DB = Symbol('db');
function lazily<T extends Record<string, (db: Database.Database) => object>>(
  makers: T,
): (db: Database.Database) => { readonly [K in keyof T]: ReturnType<T[K]> } {
  const proto = {};
  for (const k of Object.keys(makers)) {
    Object.defineProperty(proto, k, {
      configurable: true,
      enumerable: true,
      get(this: { [DB]: Database.Database }) {
        const st = makers[k]!(this[DB]);
        Object.defineProperty(this, k, { value: st, enumerable: true });
        return st;
      },
    });
  }
  return (db) => Object.assign(Object.create(proto) as { readonly [K in keyof T]: ReturnType<T[K]> }, { [DB]: db });
}

// A partial copy's range always includes drayer/info, so it knows the stream's name.
const inRange = `((id >= ? AND mod >= ?) OR (type = 'drayer' AND key = 'info'))`;
/** The change feed's rows: (since, since + window, minId, minMod, limit). */
export const FEED_WINDOW = `WHERE seq > ? AND seq <= ? AND ${inRange} ORDER BY seq LIMIT ?`;

/** How many (type, key) pairs the heldOf statement takes: (place, type, key) rows, then the chain. */
export const HELD_BATCH = 64;
const HELD_ROWS = Array.from({ length: HELD_BATCH }, (_, i) => `(${i}, ?, ?)`).join(', ');

/** Every statement the store's modules run, prepared once per connection (on first use). */
const cols = 'chain, id, type, key, val, hash, ts, mod, prev, prevch, sig';
const window = FEED_WINDOW;
const statementsOf = lazily({
  byId: (db) => db.prepare(`SELECT * FROM records WHERE chain = ? AND id = ?`),
  // INDEXED BY: without it SQLite may walk records_chain_mod, scanning the whole chain per lookup.
  // Every row of (type, key) comes back, newest picked by rowByKey: no ORDER BY, whose sorter
  // cost more than the lookup itself (about 2 µs of every put).
  byKey: (db) => db.prepare(`SELECT * FROM records INDEXED BY records_type_key WHERE type = ? AND key = ? AND chain = ?`),
  // the same (type, key) in the devices' chains (devices.ts mergedByKey: every get, so every info())
  // Which of HELD_BATCH (type, key) pairs the chain holds, by their place: one call for a group's puts (Writer.surelyNew).
  heldOf: (db) =>
    db
      .prepare(
        `SELECT v.column1 FROM (VALUES ${HELD_ROWS}) AS v WHERE EXISTS (SELECT 1 FROM records INDEXED BY records_type_key WHERE type = v.column2 AND key = v.column3 AND chain = ?)`,
      )
      .pluck(),
  byKeyOther: (db) => db.prepare(`SELECT * FROM records INDEXED BY records_type_key WHERE type = ? AND key = ? AND chain != ?`),
  maxId: (db) => db.prepare(`SELECT max(id) AS v FROM records WHERE chain = ?`).pluck(),
  // One call for what a write starts from: the two tips and the last seq.
  tips: (db) =>
    db.prepare(
      `SELECT (SELECT max(id) FROM records WHERE chain = ?) AS id, (SELECT max(mod) FROM records WHERE chain = ?) AS mod, (SELECT max(seq) FROM records) AS seq`,
    ),
  maxMod: (db) => db.prepare(`SELECT max(mod) AS v FROM records WHERE chain = ?`).pluck(),
  idAfter: (db) => db.prepare(`SELECT * FROM records WHERE chain = ? AND id > ? ORDER BY id LIMIT 1`),
  modAfter: (db) => db.prepare(`SELECT * FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT 1`),
  nextIdGap: (db) => db.prepare(`SELECT prev FROM records WHERE chain = ? AND id > ? ORDER BY id LIMIT 1`).pluck(),
  nextModGap: (db) => db.prepare(`SELECT prevch FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT 1`).pluck(),
  upsert: (db) => db.prepare(`INSERT OR REPLACE INTO records (seq, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  // a new id (above every one held) replaces nothing: a plain insert skips REPLACE's conflict checks
  insert: (db) => db.prepare(`INSERT INTO records (seq, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  deleteId: (db) => db.prepare(`DELETE FROM records WHERE chain = ? AND id = ?`),
  gcMod: (db) => db.prepare(`DELETE FROM records WHERE chain = ? AND mod > ? AND mod < ? AND id != ? RETURNING id`).pluck(),
  gcId: (db) => db.prepare(`DELETE FROM records WHERE chain = ? AND id > ? AND id < ? RETURNING id`).pluck(),
  metaGet: (db) => db.prepare(`SELECT v FROM meta WHERE k = ?`).pluck(),
  metaSet: (db) => db.prepare(`INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`),
  changes: (db) => db.prepare(`SELECT * FROM records ${window}`),
  changesMeta: (db) => db.prepare(`SELECT ${META_COLS} FROM records ${window}`),
  lastSeq: (db) => db.prepare(`SELECT max(seq) FROM records`).pluck(),
  count: (db) => db.prepare(`SELECT count(*) FROM records`).pluck(),
  countType: (db) => db.prepare(`SELECT count(*) FROM records WHERE type = ?`).pluck(),
  // a latest-N window moving on (keepLatest): drayer/info stays, like in every partial copy
  windowDrop: (db) => db.prepare(`DELETE FROM records WHERE chain = ? AND id < ? AND NOT (type = 'drayer' AND key = 'info') RETURNING id`).pluck(),
  // the id of the (OFFSET+1)-th newest record a reader sees (drayer/info is kept beside every window, not in it)
  nthNewest: (db) =>
    db
      .prepare(
        `SELECT id FROM records INDEXED BY records_chain_id WHERE chain = ? AND NOT (type = 'drayer' AND key = 'info') ORDER BY id DESC LIMIT 1 OFFSET ?`,
      )
      .pluck(),
  topSeqSet: (db) => db.prepare(`UPDATE records SET seq = ? WHERE seq = (SELECT max(seq) FROM records)`),
  countAfter: (db) => db.prepare(`SELECT count(*) FROM records WHERE seq > ? AND ${inRange}`).pluck(),
  listTs: (db) => db.prepare(`SELECT * FROM records WHERE type = ? ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?`),
  // posts of both shapes (ours and the original Drayer's), newest first: each type's (type, ts) index, merged
  listTs2: (db) => db.prepare(`SELECT * FROM records WHERE type IN (?, ?) ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?`),
  // no (type, id) index: one index less on every write; this walks the chain's id index instead
  listId: (db) => db.prepare(`SELECT * FROM records INDEXED BY records_chain_id WHERE chain = ? AND type = ? ORDER BY id DESC LIMIT ? OFFSET ?`),
  types: (db) => db.prepare(`SELECT type, count(*) AS n FROM records GROUP BY type ORDER BY type`),
});

/** A stream connection's statements, each prepared when first used. */
export function prepareStatements(db: Database.Database) {
  return statementsOf(db);
}

export type Statements = ReturnType<typeof prepareStatements>;

/** What the store's modules share of one open stream: its file, connection, chain and statements. */
export interface Handle {
  readonly file: string;
  readonly db: Database.Database;
  readonly publicKey: Uint8Array;
  /** the stream's own chain, as SQLite binds it */
  readonly chain: Buffer;
  readonly st: Statements;
  /** its WAL checkpoints, run on the checkpointer thread (see tuneWal) */
  readonly checkpoints: Checkpoints;
  /** its meta attributes, read through a cache (meta-cache.ts): read and write them with metaOf and setMetaOf */
  readonly meta: MetaCache;
  /** this copy's own device chain (§9: devices.ts), which no siblings record takes from it: its writer stands on it */
  readonly ownDevice?: Buffer;
}

/**
 * The live row of (type, key) in the stream's own chain. A writer keeps one; a mirror between two
 * syncs may briefly hold an old version beside the new one, and the newest (by mod) is the record.
 */
export function rowByKey(h: Handle, type: string, key: string): Row | undefined {
  // Most lookups are of a new key (a new post): one get() answers them without building an array.
  const first = h.st.byKey.get(type, key, h.chain) as Row | undefined;
  if (!first) return undefined;
  const rows = h.st.byKey.all(type, key, h.chain) as Row[];
  let best = rows[0];
  for (let i = 1; i < rows.length; i++) if (rows[i]!.mod > best!.mod) best = rows[i];
  return best;
}

/** A meta attribute of the stream (undefined when unset). */
export function metaOf(h: Handle, k: string): unknown {
  return h.meta.read(k);
}

/** Set (null: remove) a meta attribute of the stream. */
export function setMetaOf(h: Handle, k: string, v: string | number | Buffer | null): void {
  h.meta.write(k, v);
}

/**
 * The newest seq this store has handed out. Seqs are never reused: every transaction that
 * removes rows ends by writing a row with a seq above all before it (nextSeq), so the top row
 * always holds the last seq issued.
 */
export function lastSeqOf(h: Handle): number {
  return (h.st.lastSeq.get() as number | null) ?? 0;
}

const txRunners = new WeakMap<Database.Database, Database.Transaction<(fn: () => unknown) => unknown>>();

/**
 * `fn` in one transaction (deferred, or immediate: a write that must not meet a lock upgrade), or a
 * savepoint inside one, through a wrapper made once per connection: db.transaction() builds four
 * functions and their properties on every call, tens of µs that a one-record pull paid twice.
 */
export function inTransaction<T>(db: Database.Database, fn: () => T, immediate = false): T {
  let run = txRunners.get(db);
  if (!run) {
    run = db.transaction((f: () => unknown) => f());
    txRunners.set(db, run);
  }
  return (immediate ? run.immediate(fn) : run(fn)) as T;
}
