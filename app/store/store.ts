// One stream in one SQLite file: its records, its attributes, the change feed, and (where the
// secret key is present) the writer. The writer keeps both chains perfect (DESIGN §3); the
// receiving side (`apply`) enforces the three gap rules so every mirror converges.
import { peerId } from '../core/peer.js';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake2b256, bytesEqual, generateKeyPair, KeyPair, randomBytes } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { checkRecord, checkShape, DrayerRecord, LIMITS, signRecord, UnsignedRecord } from '../core/record.js';
import { encode } from '@msgpack/msgpack';
import { decodeInfo, decodePrimaryServers, MAX_PRIMARY_SERVERS, MSGPACK_LIMITS, valueProblem } from '../core/msgpack.js';
import type { PrimaryServer } from '../core/shapes.js';
// URLs are checked and written as sync addresses peers; sync.ts needs this module only as a type.
import { Checkpoints } from './checkpointer.js';
import { isSealedKeyFile, readKeyFileDetail, sealKeyFile, SEALED_ELSEWHERE, writeKeyFile } from './keystore.js';
import { linkIsMissing } from './verify-range.js';
import { collectLeftovers } from './files.js';

export const FORMAT = 'drayer-stream';
export const KEY_SUFFIX = '.privatekey';

/** Stream schema migrations, one change each, never edited after release. Index = version - 1. */
const MIGRATIONS: string[] = [
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
  // Chunk writes in progress (files.ts): an operation's row, and a pin per chunk it committed whose
  // manifest may not be stored yet. A stream from before held no record of them, so any chunk in
  // it may be a leftover: a row no process owns has its first open collect them once.
  `CREATE TABLE chunk_ops (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, place TEXT NOT NULL, started INTEGER NOT NULL, beat INTEGER NOT NULL);
   CREATE TABLE chunk_pins (op INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (op, hash)) WITHOUT ROWID;
   INSERT INTO chunk_ops (pid, place, started, beat) SELECT 0, '', 0, 0 WHERE EXISTS (SELECT 1 FROM chunks);`,
];

/** The key of the `drayer` record that lists a stream's primary servers. */
export const PRIMARY_SERVERS_KEY = 'primaryServers';

export interface StreamInfo {
  name?: string;
  about?: string;
  [k: string]: unknown;
}

/** Filters of a partial mirror: only records in range are kept; metaOnly keeps no values. */
export interface PartialFilter {
  minId?: number;
  minMod?: number;
  metaOnly?: boolean;
}

export interface ChangesOptions extends PartialFilter {
  limit?: number;
  /** stop before the page's values exceed this many bytes (one record is always included) */
  maxBytes?: number;
}

export interface ChangesPage {
  records: DrayerRecord[];
  /** the seq of the last row examined; pass it back as `since` */
  seq: number;
  more: boolean;
}

export interface ApplyOptions {
  /** accept records without values (defaults to the stream's own metaOnly setting) */
  allowMetaOnly?: boolean;
  /** the caller already verified signatures and hashes (e.g. in worker threads) */
  verified?: boolean;
}

export interface Rejection {
  record: DrayerRecord;
  reason: string;
}

export interface ApplyResult {
  stored: DrayerRecord[];
  /** (id) of records removed because a stored record's gap covers them */
  removed: number[];
  rejected: Rejection[];
  /** records outside this mirror's partial range, ignored by design */
  skipped: number;
}

export interface ListOptions {
  order?: 'ts' | 'id';
  limit?: number;
  offset?: number;
}

export interface Problem {
  id: number;
  what: string;
}

export interface VerifyReport {
  /** no problem, and not incomplete */
  intact: boolean;
  records: number;
  metaOnly: number;
  /** damage: bad signatures or values, links that contradict held records, a writer's missing records */
  problems: Problem[];
  /** worth saying, not damage: e.g. a stream with no name record (streams made by the original Drayer) */
  notes?: string[];
  partial: boolean;
  /**
   * A mirror still being synced, not a damaged one: `missing` chain links point to records not
   * fetched yet, and `unfinished` names the peers whose last pull stopped before the end. A sync
   * completes it.
   */
  incomplete?: { missing: number; unfinished: string[] };
}

/** Meta key: the peers whose pull into this copy began and did not drain (Stream.markSync). */
const UNFINISHED_SYNCS = 'unfinishedSyncs';
/** Most peers it remembers (pulls can be triggered by any address on the LAN). */
const MAX_UNFINISHED = 16;

export { linkIsMissing };

/** The end of a verify report, shared with verifyStreamParallel. */
export function verifyReport(parts: { records: number; metaOnly: number; problems: Problem[]; partial: boolean; missing: number; unfinished: string[]; named: boolean }): VerifyReport {
  const { missing, unfinished, named, ...rest } = parts;
  const incomplete = missing > 0 || unfinished.length > 0 ? { missing, unfinished } : undefined;
  // No drayer/info is no damage: the original Drayer never wrote one, and every signature and link still holds.
  const notes = !named && parts.records > 0 ? [NO_NAME_NOTE] : [];
  return { intact: parts.problems.length === 0 && !incomplete, ...rest, ...(incomplete ? { incomplete } : {}), ...(notes.length ? { notes } : {}) };
}

/** verify's note for a stream without drayer/info. */
export const NO_NAME_NOTE = 'no name record (drayer/info), as in streams made by the original Drayer: it is shown by a name made from its key';

type Row = {
  seq: number; chain: Buffer; id: number; type: string; key: string; val: Buffer | null; hash: Buffer;
  ts: number; mod: number; prev: number; prevch: number; sig: Buffer;
};

/** Every column but the value: metadata-only reads never touch value bytes. */
const META_COLS = 'seq, chain, id, type, key, NULL AS val, hash, ts, mod, prev, prevch, sig';

function rowToRecord(r: Row): DrayerRecord {
  return {
    id: r.id, type: r.type, key: r.key, val: r.val ? new Uint8Array(r.val.buffer, r.val.byteOffset, r.val.byteLength) : null,
    hash: new Uint8Array(r.hash.buffer, r.hash.byteOffset, r.hash.byteLength), ts: r.ts, mod: r.mod, prev: r.prev, prevch: r.prevch,
    sig: new Uint8Array(r.sig.buffer, r.sig.byteOffset, r.sig.byteLength),
    chain: new Uint8Array(r.chain.buffer, r.chain.byteOffset, r.chain.byteLength),
  };
}

export function nowMicros(): number {
  return Date.now() * 1000;
}

export function keyPathFor(file: string): string {
  return file + KEY_SUFFIX;
}

// Key files are read and written by keystore.ts (plain or sealed by the desktop app's keychain).
export { readKeyFile, writeKeyFile } from './keystore.js';

function sqliteError(e: unknown, file: string): DrayerError {
  const code = (e as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB') return new DrayerError('NOT_A_STREAM', `${file} is not a Drayer stream file (it is not an SQLite database).`, { cause: e });
  if (code.startsWith('SQLITE_CORRUPT')) return new DrayerError('CORRUPT', `${file} is damaged (SQLite reports corruption). Restore it from a backup or clone the stream again from a mirror.`, { cause: e });
  if (code === 'SQLITE_FULL') return new DrayerError('IO', `The disk is full while writing ${file}; nothing was changed. Free some space and try again.`, { cause: e });
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
const WAL_PAGES = 8000;
const CHECKPOINT_ROWS = 256;
function tuneWal(db: Database.Database): void {
  db.pragma(`wal_autocheckpoint = ${WAL_PAGES}`);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`journal_size_limit = ${(WAL_PAGES + 200) * (pageSize + 24)}`);
}

/** The stream a database holds, checked to be a Drayer stream file this version can read. Reads only. */
function readIdentity(db: Database.Database, file: string, expectedKey?: Uint8Array): { publicKey: Uint8Array; version: number } {
  let format: unknown;
  let pkText: unknown;
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").get();
    if (!hasMeta) throw new DrayerError('NOT_A_STREAM', `${file} is an SQLite database but not a Drayer stream file.`);
    format = (db.prepare("SELECT v FROM meta WHERE k='format'").get() as { v?: unknown } | undefined)?.v;
    pkText = (db.prepare("SELECT v FROM meta WHERE k='publicKey'").get() as { v?: unknown } | undefined)?.v;
  } catch (e) {
    throw isDrayerError(e) ? e : sqliteError(e, file);
  }
  if (format !== FORMAT || typeof pkText !== 'string') throw new DrayerError('NOT_A_STREAM', `${file} is an SQLite database but not a Drayer stream file.`);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw new DrayerError('NOT_A_STREAM', `${file} was written by a newer Drayer (schema ${version}); update Drayer to open it.`);
  const publicKey = new Uint8Array(Buffer.from(pkText, 'base64'));
  if (publicKey.length !== 32) throw new DrayerError('CORRUPT', `${file} holds a malformed public key.`);
  if (expectedKey && !bytesEqual(expectedKey, publicKey)) {
    throw new DrayerError('KEY_MISMATCH', `${file} holds stream ${Buffer.from(publicKey).toString('base64')}, not the one asked for.`);
  }
  return { publicKey, version };
}

/** The secret key beside a stream file, or null when there is none (a mirror). */
function keyPairBeside(file: string, publicKey: Uint8Array): KeyPair | null {
  const keyFile = keyPathFor(file);
  if (!fs.existsSync(keyFile)) return null;
  let kp: KeyPair;
  try {
    kp = readKeyFileDetail(keyFile).keyPair;
  } catch (e) {
    // A key sealed by the desktop app, in a process without its keychain (the CLI): read-only here.
    if (isDrayerError(e, 'NOT_WRITABLE') && isSealedKeyFile(keyFile)) return null;
    throw e;
  }
  if (!bytesEqual(kp.publicKey, publicKey)) {
    throw new DrayerError('KEY_MISMATCH', `The secret key in ${keyFile} belongs to another stream; nothing was changed. Move it away or restore the right one.`);
  }
  return kp;
}

export interface OpenOptions {
  /** refuse the file unless it holds this stream */
  expectedKey?: Uint8Array;
  readonly?: boolean;
}

export interface CreateOptions extends PartialFilter {
  name?: string;
  about?: string;
  /** use this key pair instead of a fresh one (tests, imports) */
  keyPair?: KeyPair;
  /** create a mirror of someone else's stream: no secret key, no info record yet */
  followKey?: Uint8Array;
  /** a "latest N" mirror: minId follows the N-th newest live record as the stream changes (see keepLatest) */
  latest?: number;
}

/** The writer's working set during one operation: records to re-sign, by id. */
interface WriteCtx {
  /** the tips when the operation began */
  idTip: number;
  mTip: number;
  nextId: number;
  nextMod: number;
  /** the seq for the next row written: above every seq ever handed out */
  nextSeq: number;
  dirty: Map<number, UnsignedRecord>;
}

export class Stream {
  readonly file: string;
  readonly publicKey: Uint8Array;
  readonly db: Database.Database;
  private keyPair: KeyPair | null;
  private readonly chain: Buffer;
  private readonly st: ReturnType<Stream['prepare']>;
  /** this stream's WAL checkpoints, run on the checkpointer thread (see tuneWal) */
  readonly checkpoints: Checkpoints;
  /** the connection's own wal_autocheckpoint (tuneWal), for whoever raises it for a while */
  readonly walPages: number;
  private readonly writeRun: Database.Transaction<(fn: (ctx: WriteCtx, kp: KeyPair) => unknown, kp: KeyPair) => { result: unknown; written: DrayerRecord[] }>;

  private constructor(file: string, db: Database.Database, publicKey: Uint8Array, keyPair: KeyPair | null) {
    this.file = file;
    this.db = db;
    this.publicKey = publicKey;
    this.keyPair = keyPair;
    this.chain = Buffer.from(publicKey);
    this.st = this.prepare();
    this.checkpoints = new Checkpoints(file, CHECKPOINT_ROWS);
    this.walPages = db.readonly ? 0 : WAL_PAGES;
    // Made once: better-sqlite3 transaction wrappers are not free to build on every write.
    this.writeRun = db.transaction((fn: (ctx: WriteCtx, kp: KeyPair) => unknown, kp: KeyPair) => {
      const ctx = this.beginWrite();
      const result = fn(ctx, kp);
      return { result, written: this.finishWrite(ctx, kp) };
    });
  }

  // ---------- opening and creating ----------

  /** Create a new stream file (and its secret key file beside it), or a mirror with `followKey`. */
  static create(file: string, opts: CreateOptions = {}): Stream {
    if (fs.existsSync(file)) throw new DrayerError('EXISTS', `${file} already exists; choose another file name (nothing was changed).`);
    const following = opts.followKey !== undefined;
    const kp = following ? null : opts.keyPair ?? generateKeyPair();
    const publicKey = following ? new Uint8Array(opts.followKey!) : kp!.publicKey;
    if (publicKey.length !== 32) throw new DrayerError('INVALID_ARGUMENT', 'A stream key is 32 bytes.');
    // Each filter is safe alone: the chain it cuts (ID or M) still vouches for every gap in range.
    // Together, a deleted record may have both its covering records out of range, and a replayed
    // old copy could not be refuted, so a mirror keeps one range at most.
    if (opts.minId && opts.minMod) throw new DrayerError('INVALID_ARGUMENT', 'A partial copy keeps either the latest records by id (minId) or by change time (minMod), not both.');
    const keyFile = keyPathFor(file);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    if (kp) {
      if (fs.existsSync(keyFile)) throw new DrayerError('EXISTS', `${keyFile} already exists; refusing to overwrite a secret key.`);
      writeKeyFile(keyFile, kp);
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      // Space of collected chunks goes back to the disk (files.ts reclaimSpace); only settable before the first table.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      tuneWal(db);
      db.transaction(() => {
        for (const m of MIGRATIONS) db!.exec(m);
        db!.pragma(`user_version = ${MIGRATIONS.length}`);
        const put = db!.prepare('INSERT INTO meta (k, v) VALUES (?, ?)');
        put.run('format', FORMAT);
        put.run('publicKey', Buffer.from(publicKey).toString('base64'));
        put.run('nodeId', Buffer.from(randomBytes(16)).toString('hex'));
        put.run('created', nowMicros());
        if (opts.minId) put.run('minId', opts.minId);
        if (opts.minMod) put.run('minMod', opts.minMod);
        if (opts.metaOnly) put.run('metaOnly', 1);
        if (opts.latest) put.run('latest', opts.latest);
      })();
      const s = new Stream(file, db, publicKey, kp);
      if (kp) {
        const info: StreamInfo = { name: opts.name ?? path.basename(file).replace(/\.stream$/, '') };
        if (opts.about) info.about = opts.about;
        s.put('drayer', 'info', encode(info));
      }
      return s;
    } catch (e) {
      db?.close();
      for (const f of [file, file + '-wal', file + '-shm']) fs.rmSync(f, { force: true });
      if (kp) fs.rmSync(keyFile, { force: true });
      throw isDrayerError(e) ? e : sqliteError(e, file);
    }
  }

  /** Open an existing stream file; writable when its secret key file is beside it. Changes nothing on refusal. */
  static open(file: string, opts: OpenOptions = {}): Stream {
    if (!fs.existsSync(file)) throw new DrayerError('NOT_FOUND', `${file} does not exist.`);
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: true, readonly: opts.readonly ?? false });
    } catch (e) {
      throw sqliteError(e, file);
    }
    try {
      // Check it is ours before anything could write to it (a WAL switch would).
      const { publicKey, version } = readIdentity(db, file, opts.expectedKey);
      const kp = keyPairBeside(file, publicKey);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        tuneWal(db);
        if (version < MIGRATIONS.length) {
          db.transaction(() => {
            for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
            db.pragma(`user_version = ${MIGRATIONS.length}`);
          })();
        }
      }
      db.pragma('busy_timeout = 5000');
      const stream = new Stream(file, db, publicKey, kp);
      // What a killed or crashed add left is collected here; nothing to do costs one tiny query.
      if (!opts.readonly) {
        try {
          collectLeftovers(stream);
        } catch (e) {
          throw isDrayerError(e) ? e : sqliteError(e, file);
        }
      }
      return stream;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /**
   * What a stream file holds, read without writing anything, for a node deciding whether to take
   * it in: its public key, and whether its secret key is beside it. The pages of its records and
   * attributes are checked too, so a damaged file is refused here rather than half served.
   * Throws as open() does.
   */
  static probe(file: string): { publicKey: Uint8Array; writable: boolean } {
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
          throw new DrayerError('CORRUPT', `${file} is damaged (SQLite reports: ${rows[0]?.quick_check ?? 'no answer'}). Restore it from a backup or clone the stream again from a mirror.`);
        }
      }
      return { publicKey, writable: keyPairBeside(file, publicKey) !== null };
    } catch (e) {
      throw isDrayerError(e) ? e : sqliteError(e, file);
    } finally {
      db.close();
    }
  }

  close(): void {
    if (!this.db.open) return;
    this.checkpoints.settle();
    this.db.close();
  }

  /**
   * Close a stream whose file was deleted or renamed while open. SQLite does not checkpoint a
   * moved database when it closes, so the newest commits would stay behind in the WAL at the old
   * name, lost to the renamed file: copy them in first, then remove the emptied companions. When
   * another file now sits at the old name, the companions there may be its own: only close.
   */
  closeAfterMove(): void {
    if (!this.db.open) return;
    const vacated = !fs.existsSync(this.file);
    if (vacated && !this.db.readonly) {
      try {
        this.db.pragma('busy_timeout = 200'); // a reader elsewhere must not stall the node for long
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // A deleted file takes its WAL with it; a renamed one keeps what was checkpointed before.
      }
    }
    this.close();
    if (!vacated || fs.existsSync(this.file)) return;
    const wal = fs.statSync(this.file + '-wal', { throwIfNoEntry: false });
    if (wal && wal.size > 0) return; // not checkpointed: keep it for whoever can still use it
    for (const f of [this.file + '-wal', this.file + '-shm']) fs.rmSync(f, { force: true });
  }

  get writable(): boolean {
    return this.keyPair !== null;
  }

  /** The key pair, for a backup of it as words (keybackup.ts); null in a mirror. */
  keyPairForBackup(): KeyPair | null {
    return this.keyPair;
  }

  /** Become writable when the secret key file has been put beside the file since it was opened; true if so. */
  takeKeyBeside(): boolean {
    if (this.keyPair || this.db.readonly) return false;
    this.keyPair = keyPairBeside(this.file, this.publicKey);
    return this.keyPair !== null;
  }

  private prepare() {
    const db = this.db;
    const cols = 'chain, id, type, key, val, hash, ts, mod, prev, prevch, sig';
    // A partial copy's range always includes drayer/info, so it knows the stream's name.
    const inRange = `((id >= ? AND mod >= ?) OR (type = 'drayer' AND key = 'info'))`;
    const window = `WHERE seq > ? AND seq <= ? AND ${inRange} ORDER BY seq LIMIT ?`;
    return {
      byId: db.prepare(`SELECT * FROM records WHERE chain = ? AND id = ?`),
      // INDEXED BY: without it SQLite walks records_chain_mod (to skip the sort), scanning the whole chain per lookup.
      byKey: db.prepare(`SELECT * FROM records INDEXED BY records_type_key WHERE chain = ? AND type = ? AND key = ? ORDER BY mod DESC LIMIT 1`),
      maxId: db.prepare(`SELECT max(id) AS v FROM records WHERE chain = ?`).pluck(),
      // One call for what a write starts from: the two tips and the last seq.
      tips: db.prepare(`SELECT (SELECT max(id) FROM records WHERE chain = ?) AS id, (SELECT max(mod) FROM records WHERE chain = ?) AS mod, (SELECT max(seq) FROM records) AS seq`),
      maxMod: db.prepare(`SELECT max(mod) AS v FROM records WHERE chain = ?`).pluck(),
      idAfter: db.prepare(`SELECT * FROM records WHERE chain = ? AND id > ? ORDER BY id LIMIT 1`),
      modAfter: db.prepare(`SELECT * FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT 1`),
      nextIdGap: db.prepare(`SELECT prev FROM records WHERE chain = ? AND id > ? ORDER BY id LIMIT 1`).pluck(),
      nextModGap: db.prepare(`SELECT prevch FROM records WHERE chain = ? AND mod > ? ORDER BY mod LIMIT 1`).pluck(),
      upsert: db.prepare(`INSERT OR REPLACE INTO records (seq, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      deleteId: db.prepare(`DELETE FROM records WHERE chain = ? AND id = ?`),
      gcMod: db.prepare(`DELETE FROM records WHERE chain = ? AND mod > ? AND mod < ? AND id != ? RETURNING id`).pluck(),
      gcId: db.prepare(`DELETE FROM records WHERE chain = ? AND id > ? AND id < ? RETURNING id`).pluck(),
      metaGet: db.prepare(`SELECT v FROM meta WHERE k = ?`).pluck(),
      metaSet: db.prepare(`INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`),
      changes: db.prepare(`SELECT * FROM records ${window}`),
      changesMeta: db.prepare(`SELECT ${META_COLS} FROM records ${window}`),
      lastSeq: db.prepare(`SELECT max(seq) FROM records`).pluck(),
      count: db.prepare(`SELECT count(*) FROM records`).pluck(),
      countType: db.prepare(`SELECT count(*) FROM records WHERE type = ?`).pluck(),
      // a latest-N window moving on (keepLatest): drayer/info stays, like in every partial copy
      windowDrop: db.prepare(`DELETE FROM records WHERE chain = ? AND id < ? AND NOT (type = 'drayer' AND key = 'info') RETURNING id`).pluck(),
      // the id of the (OFFSET+1)-th newest record a reader sees (drayer/info is kept beside every window, not in it)
      nthNewest: db.prepare(`SELECT id FROM records INDEXED BY records_chain_id WHERE chain = ? AND NOT (type = 'drayer' AND key = 'info') ORDER BY id DESC LIMIT 1 OFFSET ?`).pluck(),
      topSeqSet: db.prepare(`UPDATE records SET seq = ? WHERE seq = (SELECT max(seq) FROM records)`),
      countAfter: db.prepare(`SELECT count(*) FROM records WHERE seq > ? AND ${inRange}`).pluck(),
      listTs: db.prepare(`SELECT * FROM records WHERE type = ? ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?`),
      // no (type, id) index: one index less on every write; this walks the chain's id index instead
      listId: db.prepare(`SELECT * FROM records INDEXED BY records_chain_id WHERE chain = ? AND type = ? ORDER BY id DESC LIMIT ? OFFSET ?`),
      types: db.prepare(`SELECT type, count(*) AS n FROM records GROUP BY type ORDER BY type`),
    };
  }

  // ---------- attributes ----------

  meta(k: string): unknown {
    return this.st.metaGet.get(k);
  }

  setMeta(k: string, v: string | number | Buffer | null): void {
    this.st.metaSet.run(k, v);
  }

  /** Peers whose last pull into this copy began but did not reach the end of their feed. */
  unfinishedSyncs(): string[] {
    try {
      const v = JSON.parse(String(this.meta(UNFINISHED_SYNCS) ?? '[]'));
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  }

  /** Note that a pull from `peer` has begun (true) or has drained the peer's feed (false). */
  markSync(peer: string, unfinished: boolean): void {
    const list = this.unfinishedSyncs();
    const rest = list.filter((x) => x !== peer);
    if (unfinished) this.setMeta(UNFINISHED_SYNCS, JSON.stringify([...rest, peer].slice(-MAX_UNFINISHED)));
    else if (rest.length !== list.length) this.setMeta(UNFINISHED_SYNCS, rest.length ? JSON.stringify(rest) : null);
  }

  /** This store's id: a follower keys its cursor on it, so a replaced database restarts the sync. */
  get nodeId(): string {
    return String(this.meta('nodeId'));
  }

  get partial(): PartialFilter {
    const minId = Number(this.meta('minId') ?? 0);
    const minMod = Number(this.meta('minMod') ?? 0);
    const metaOnly = Number(this.meta('metaOnly') ?? 0) === 1;
    return { minId, minMod, metaOnly };
  }

  /** Where this copy was cloned or followed from (the `sources` attribute): peers to sync it from. */
  recordedSources(): string[] {
    try {
      const v = JSON.parse(String(this.meta('sources') ?? '[]'));
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 16) : [];
    } catch {
      return [];
    }
  }

  /** The decoded `drayer/info` record, or {} before the first sync or when it is malformed (see infoProblem). */
  info(): StreamInfo {
    const r = this.get('drayer', 'info');
    if (!r?.val) return {};
    try {
      return decodeInfo(r.val) as StreamInfo;
    } catch {
      return {}; // the author signed something unusable: the stream shows without a name
    }
  }

  /** Why the `drayer/info` value does not decode as a map, or null (also when there is none yet). */
  infoProblem(): string | null {
    const r = this.get('drayer', 'info');
    return r ? valueProblem(r.type, r.key, r.val) : null;
  }

  /**
   * The author's primary servers (`drayer/primaryServers`): always-on peers followers sync from.
   * [] when there are none, or when the value is malformed (see primaryServersProblem).
   */
  primaryServers(): PrimaryServer[] {
    const r = this.get('drayer', PRIMARY_SERVERS_KEY);
    if (!r?.val) return [];
    try {
      return decodePrimaryServers(r.val);
    } catch {
      return []; // the author signed something unusable: no primary servers (verify reports it)
    }
  }

  /** Why the `drayer/primaryServers` value cannot be read, or null (also when there is none). */
  primaryServersProblem(): string | null {
    const r = this.get('drayer', PRIMARY_SERVERS_KEY);
    return r ? valueProblem(r.type, r.key, r.val) : null;
  }

  /**
   * Sign a new list of primary servers, replacing the old one ([] empties it). Each URL is
   * written as sync addresses its peers (peerId: http or https, no trailing slash), duplicates
   * once. A list readers would cut short or fail to read is refused, and nothing is written.
   */
  setPrimaryServers(urls: string[]): { record: DrayerRecord; servers: PrimaryServer[] } {
    const refuse = (why: string) => new DrayerError('INVALID_ARGUMENT', `${why} Nothing was changed.`);
    const clean: string[] = [];
    for (const u of urls) {
      let url: string;
      const text = String(u).trim();
      // "localhost:8089" would read as a URL of scheme "localhost:": say what is missing instead.
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw refuse(`"${u}" is not a URL: a primary server's URL starts with http:// or https://, e.g. http://${text || '192.168.1.5:15723'}.`);
      if (!/^https?:/i.test(text)) throw refuse(`"${u}" is not an http:// or https:// URL: primary servers are Drayer nodes or mirrors that answer over HTTP, e.g. http://192.168.1.5:15723.`);
      try {
        url = peerId(String(u).trim());
      } catch (e) {
        throw refuse(`${(e as Error).message.replace(/:$/, '')}.`);
      }
      if (url.length > MSGPACK_LIMITS.primaryServers.maxStr) throw refuse(`A primary server's URL has at most ${MSGPACK_LIMITS.primaryServers.maxStr} characters; ${url.slice(0, 40)}… has ${url.length}.`);
      if (!clean.includes(url)) clean.push(url);
    }
    if (clean.length > MAX_PRIMARY_SERVERS) throw refuse(`A stream names at most ${MAX_PRIMARY_SERVERS} primary servers (followers read no more); ${clean.length} were given.`);
    const servers = clean.map((url) => ({ type: 'http' as const, url }));
    const val = encode(servers);
    const problem = valueProblem('drayer', PRIMARY_SERVERS_KEY, val);
    if (problem) throw refuse(`Followers could not read that list of primary servers (${problem}); give fewer or shorter URLs.`);
    return { record: this.put('drayer', PRIMARY_SERVERS_KEY, val), servers };
  }

  // ---------- reads ----------

  get(type: string, key: string): DrayerRecord | undefined {
    const row = this.st.byKey.get(this.chain, type, key) as Row | undefined;
    return row ? rowToRecord(row) : undefined;
  }

  getById(id: number): DrayerRecord | undefined {
    const row = this.st.byId.get(this.chain, id) as Row | undefined;
    return row ? rowToRecord(row) : undefined;
  }

  /** Records of one type, newest first by `ts` (default) or by `id`, paged. */
  list(type: string, opts: ListOptions = {}): DrayerRecord[] {
    const limit = Math.max(0, Math.min(opts.limit ?? 100, 10_000));
    const stmt = opts.order === 'id' ? this.st.listId : this.st.listTs;
    const rows = opts.order === 'id' ? stmt.all(this.chain, type, limit, opts.offset ?? 0) : stmt.all(type, limit, opts.offset ?? 0);
    return (rows as Row[]).map(rowToRecord);
  }

  count(type?: string): number {
    return (type === undefined ? this.st.count.get() : this.st.countType.get(type)) as number;
  }

  types(): { type: string; n: number }[] {
    return this.st.types.all() as { type: string; n: number }[];
  }

  /** The ID-chain tip: the largest id held for the stream's own chain (0 when empty). */
  idTip(): number {
    return (this.st.maxId.get(this.chain) as number | null) ?? 0;
  }

  /** The M-chain tip: the largest mod held for the stream's own chain (0 when empty). */
  mtip(): number {
    return (this.st.maxMod.get(this.chain) as number | null) ?? 0;
  }

  /**
   * Fill in the value of a record held as metadata only, after checking it against the signed
   * hash. The record itself does not change, so it keeps its seq.
   */
  fillValue(id: number, val: Uint8Array): boolean {
    const r = this.getById(id);
    if (!r) return false;
    if (!bytesEqual(blake2b256(val), r.hash)) throw new DrayerError('INVALID_RECORD', `The value offered for record ${id} does not match its signed hash; it was not stored.`);
    if (r.val) return false;
    this.db.prepare('UPDATE records SET val = ? WHERE chain = ? AND id = ? AND val IS NULL').run(val, this.chain, id);
    return true;
  }

  /**
   * A "latest N" mirror keeps the N newest live records (by id, drayer/info aside: it is kept
   * beside the window, as in every partial copy). Ids of deleted records leave holes, so the window
   * starts at the id of the N-th newest record held, not at the ID tip less N. This moves it up as
   * the stream grows: records that fall below it are removed (arriving now, they would be skipped).
   * It never moves down here; lowerWindow does that, on a peer's word (sync.ts openWindow).
   * Seqs stay above all handed out: if the row holding the last seq goes, the newest remaining row
   * takes that seq. Returns the ids of the records removed.
   */
  keepLatest(): number[] {
    const latest = this.latest;
    if (!latest) return [];
    const removed = this.db.transaction((): number[] => {
      const minId = this.st.nthNewest.get(this.chain, latest - 1) as number | undefined;
      if (minId === undefined || minId <= (this.partial.minId ?? 0)) return []; // fewer than N held: keep them all
      const top = this.lastSeq();
      this.st.metaSet.run('minId', minId);
      const ids = this.st.windowDrop.all(this.chain, minId) as number[];
      if (this.lastSeq() < top) this.st.topSeqSet.run(top);
      return ids;
    }).immediate();
    this.checkpoints.wrote(removed.length);
    return removed;
  }

  /** N of a "latest N" mirror (0 for any other copy). */
  get latest(): number {
    const n = Number(this.meta('latest') ?? 0);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  /**
   * Where a window of the `n` newest live records starts in this copy, as far as it can vouch for
   * it: the id of its n-th newest record (drayer/info aside), or 0 when the stream has fewer (the
   * window is the whole stream). Undefined when this copy cannot tell: it keeps only records
   * changed lately (minMod), or keeps a window and holds fewer than n, or a pull into it has not
   * finished (it may lack records it is about to get).
   */
  windowStart(n: number): number | undefined {
    if (!Number.isSafeInteger(n) || n < 1) return undefined;
    const { minId, minMod } = this.partial;
    if (minMod || (!this.writable && this.unfinishedSyncs().length > 0)) return undefined;
    const id = this.st.nthNewest.get(this.chain, n - 1) as number | undefined;
    if (id !== undefined) return id;
    return minId && minId > 1 ? undefined : 0;
  }

  /**
   * Move a "latest N" window's start down to `minId` (records were deleted inside it, so older
   * ones belong to it now). Those were skipped by every pull so far, so every sync cursor of this
   * copy must start over: they are keyed on `windowEpoch` (sync.ts windowCursors), bumped here.
   * Answers whether the window moved.
   */
  lowerWindow(minId: number): boolean {
    if (!Number.isSafeInteger(minId) || minId < 1) throw new DrayerError('INVALID_ARGUMENT', `A window start is an id from 1, not ${minId}.`);
    return this.db.transaction((): boolean => {
      const { minId: now = 0, minMod } = this.partial;
      if (minMod || now <= minId) return false;
      this.st.metaSet.run('minId', minId);
      this.st.metaSet.run('windowEpoch', Number(this.meta('windowEpoch') ?? 0) + 1);
      return true;
    }).immediate();
  }

  /** How many rows of the change feed come after `seq` and pass the filters: a follower's "records to go". */
  countChangesAfter(seq: number, opts: PartialFilter = {}): number {
    return this.st.countAfter.get(seq, opts.minId ?? 0, opts.minMod ?? 0) as number;
  }

  /**
   * The newest seq this store has handed out. Seqs are never reused: every transaction that
   * removes rows ends by writing a row with a seq above all before it (nextSeq), so the top row
   * always holds the last seq issued.
   */
  lastSeq(): number {
    return (this.st.lastSeq.get() as number | null) ?? 0;
  }

  /** Iterate all live records in id order without loading them all at once. */
  *iterate(opts: { withValues?: boolean } = {}): Generator<DrayerRecord> {
    const cols = opts.withValues === false ? META_COLS : '*';
    for (const row of this.db.prepare(`SELECT ${cols} FROM records ORDER BY chain, id`).iterate() as IterableIterator<Row>) {
      yield rowToRecord(row);
    }
  }

  /**
   * The change feed: rows inserted or replaced after `since`, in seq order.
   * Filters make partial mirrors; rows filtered out still advance the returned seq.
   */
  changesSince(since: number, opts: ChangesOptions = {}): ChangesPage {
    const limit = Math.max(1, Math.min(opts.limit ?? 1000, 10_000));
    const minId = opts.minId ?? 0;
    const minMod = opts.minMod ?? 0;
    // The filters run in SQL over a bounded window of seqs, so a narrow partial mirror (latest N
    // of millions) crosses the feed in a few quick calls, and no call scans without bound.
    const window = Math.max(limit * 64, 65_536);
    const stmt = opts.metaOnly ? this.st.changesMeta : this.st.changes;
    // One read transaction: the page and lastSeq come from the same snapshot.
    return this.db.transaction((): ChangesPage => {
      const records: DrayerRecord[] = [];
      let seq = since;
      let bytes = 0;
      for (const row of stmt.iterate(since, since + window, minId, minMod, limit) as IterableIterator<Row>) {
        const size = row.val ? row.val.length : 0;
        // The byte cap ends the page before this row, so `seq` stays that of the last row included.
        if (opts.maxBytes !== undefined && records.length > 0 && bytes + size > opts.maxBytes) {
          return { records, seq, more: true };
        }
        seq = row.seq;
        bytes += size;
        records.push(rowToRecord(row));
      }
      const last = this.lastSeq();
      if (records.length >= limit) return { records, seq, more: seq < last };
      // Every row up to the window's end was seen (or filtered out); seqs are never reused, so
      // the cursor may jump there, or to the last seq issued.
      const end = Math.min(since + window, last);
      return { records, seq: Math.max(seq, end), more: end < last };
    })();
  }


  // ---------- the writer ----------

  private requireKey(): KeyPair {
    if (!this.keyPair) {
      const keyFile = keyPathFor(this.file);
      if (isSealedKeyFile(keyFile)) throw new DrayerError('NOT_WRITABLE', `The secret key of ${this.file} (${keyFile}) ${SEALED_ELSEWHERE}`);
      throw new DrayerError('NOT_WRITABLE', `${this.file} is a mirror: its secret key (${keyPathFor(this.file)}) is not here, so it cannot be written.`);
    }
    return this.keyPair;
  }

  private keySealChecked = false;

  /** After the first write here, a plain key file is sealed where the process has a keychain (keystore.ts). */
  private sealKeyOnce(kp: KeyPair): void {
    if (this.keySealChecked) return;
    this.keySealChecked = true;
    try {
      sealKeyFile(keyPathFor(this.file), kp);
    } catch {
      // the plain file stays, and keeps working; the next open tries again
    }
  }

  private beginWrite(): WriteCtx {
    const t = this.st.tips.get(this.chain, this.chain) as { id: number | null; mod: number | null; seq: number | null };
    const idTip = t.id ?? 0;
    const mTip = t.mod ?? 0;
    // Seqs are taken from the last one at the start: rows this operation deletes cannot lend theirs.
    return { idTip, mTip, nextId: idTip + 1, nextMod: Math.max(nowMicros(), mTip + 1), nextSeq: (t.seq ?? 0) + 1, dirty: new Map() };
  }

  /** The current state of a live record: the pending version if this operation touched it. */
  private current(ctx: WriteCtx, row: Row | undefined): UnsignedRecord | undefined {
    if (!row) return undefined;
    return ctx.dirty.get(row.id) ?? rowToRecord(row);
  }

  private finishWrite(ctx: WriteCtx, kp: KeyPair): DrayerRecord[] {
    const out: DrayerRecord[] = [];
    for (const r of ctx.dirty.values()) {
      const s = signRecord(r, kp);
      this.st.upsert.run(ctx.nextSeq++, this.chain, s.id, s.type, s.key, s.val, s.hash, s.ts, s.mod, s.prev, s.prevch, s.sig);
      out.push(s);
    }
    return out;
  }

  /** Take a record out of the M chain: the record after it is patched to skip it. */
  private unlinkM(ctx: WriteCtx, r: UnsignedRecord): void {
    const succ = this.current(ctx, this.st.modAfter.get(this.chain, r.mod) as Row | undefined);
    if (succ && succ.id !== r.id) ctx.dirty.set(succ.id, { ...succ, prevch: r.prevch });
  }

  /** Take a record out of the ID chain: the record after it is patched to skip it. */
  private unlinkId(ctx: WriteCtx, r: UnsignedRecord): void {
    const succ = this.current(ctx, this.st.idAfter.get(this.chain, r.id) as Row | undefined);
    if (succ && succ.id !== r.id) ctx.dirty.set(succ.id, { ...succ, prev: r.prev });
  }

  private putIn(ctx: WriteCtx, type: string, key: string, value: Uint8Array, ts?: number): void {
    checkText(type, key);
    if (value.length > LIMITS.valueBytes) {
      throw new DrayerError('INVALID_ARGUMENT', `A value may be at most ${LIMITS.valueBytes} bytes; store large data as a file (drayer add).`);
    }
    const hash = blake2b256(value);
    const old = this.current(ctx, this.st.byKey.get(this.chain, type, key) as Row | undefined);
    if (!old) {
      // A new record goes on both tips; nothing else changed yet in this operation.
      const r: UnsignedRecord = {
        id: ctx.nextId++, type, key, val: value, hash, ts: ts ?? nowMicros(), mod: ctx.nextMod++, prev: ctx.idTip, prevch: ctx.mTip, chain: this.chain,
      };
      ctx.dirty.set(r.id, r);
      return;
    }
    if (bytesEqual(old.hash, hash) && (ts === undefined || ts === old.ts)) return; // nothing changes
    // An edit moves the record to the front of the M chain; its old place is patched over.
    this.unlinkM(ctx, old);
    const prevch = old.mod === ctx.mTip ? old.prevch : ctx.mTip;
    ctx.dirty.set(old.id, { ...old, val: value, hash, ts: ts ?? old.ts, mod: ctx.nextMod++, prevch });
  }

  private deleteIn(ctx: WriteCtx, type: string, key: string): boolean {
    if (type === 'drayer' && key === 'info') {
      throw new DrayerError('PROTECTED', 'The drayer/info record keeps a stream non-empty and cannot be deleted; edit it instead.');
    }
    const x = this.current(ctx, this.st.byKey.get(this.chain, type, key) as Row | undefined);
    if (!x) return false;
    const { idTip, mTip } = ctx;
    this.st.deleteId.run(this.chain, x.id);
    ctx.dirty.delete(x.id);
    this.unlinkId(ctx, x);
    this.unlinkM(ctx, x);
    if (x.id === idTip) {
      // The new ID tip is re-issued with the next id (and mod) so a fresh signature covers the gap.
      const q = this.current(ctx, this.st.byId.get(this.chain, x.prev) as Row | undefined);
      if (!q) throw new DrayerError('CORRUPT', `${this.file}: the ID chain is broken at record ${x.id} (no record ${x.prev}). Run drayer verify.`);
      this.st.deleteId.run(this.chain, q.id);
      ctx.dirty.delete(q.id);
      this.unlinkM(ctx, q); // q has no ID successor: it is the ID tip now
      const prev = (this.st.maxId.get(this.chain) as number | null) ?? 0;
      const prevch = this.maxModExcept(ctx, q.id);
      const r: UnsignedRecord = { ...q, id: ctx.nextId++, mod: ctx.nextMod++, prev, prevch };
      ctx.dirty.set(r.id, r);
    } else if (x.mod === mTip) {
      // The new M tip moves to the front (next mod) so a fresh signature covers the gap.
      const q = this.current(ctx, this.st.modAfter.get(this.chain, x.prevch - 1) as Row | undefined);
      if (!q || q.mod !== x.prevch) throw new DrayerError('CORRUPT', `${this.file}: the M chain is broken at record ${x.id}. Run drayer verify.`);
      ctx.dirty.set(q.id, { ...q, mod: ctx.nextMod++ });
    }
    return true;
  }

  /** Max mod among live records other than `id`, seeing pending changes (mods only change for `id`). */
  private maxModExcept(ctx: WriteCtx, id: number): number {
    const m = (this.st.maxMod.get(this.chain) as number | null) ?? 0;
    let best = m;
    for (const r of ctx.dirty.values()) if (r.id !== id && r.mod > best) best = r.mod;
    return best;
  }

  private writeTx<T>(fn: (ctx: WriteCtx, kp: KeyPair) => T): { result: T; written: DrayerRecord[] } {
    const kp = this.requireKey();
    try {
      const out = this.writeRun.immediate(fn, kp) as { result: T; written: DrayerRecord[] };
      this.checkpoints.wrote(out.written.length);
      this.sealKeyOnce(kp);
      return out;
    } catch (e) {
      throw isDrayerError(e) ? e : sqliteError(e, this.file);
    }
  }

  /** Create or edit the record (type, key). Atomic and durable against a process crash when it returns. */
  put(type: string, key: string, value: Uint8Array, ts?: number): DrayerRecord {
    const { written } = this.writeTx((ctx) => this.putIn(ctx, type, key, value, ts));
    return written.find((r) => r.type === type && r.key === key) ?? this.get(type, key)!;
  }

  /** Delete the record (type, key); false when there is none. Leaves no trace but patched neighbours. */
  delete(type: string, key: string): boolean {
    return this.writeTx((ctx) => this.deleteIn(ctx, type, key)).result;
  }

  /** Many writes in one transaction (imports). Each op is applied in order; the batch is atomic. */
  batch(fn: (w: { put(type: string, key: string, value: Uint8Array, ts?: number): void; delete(type: string, key: string): boolean }) => void): DrayerRecord[] {
    const kp = this.requireKey();
    const written: DrayerRecord[] = [];
    const run = this.db.transaction(() => {
      // Each op flushes its own re-signed records so the next op's queries see them.
      const step = <T>(op: (ctx: WriteCtx) => T): T => {
        const ctx = this.beginWrite();
        const out = op(ctx);
        written.push(...this.finishWrite(ctx, kp));
        return out;
      };
      fn({
        put: (type, key, value, ts) => step((ctx) => this.putIn(ctx, type, key, value, ts)),
        delete: (type, key) => step((ctx) => this.deleteIn(ctx, type, key)),
      });
    });
    try {
      run.immediate();
    } catch (e) {
      throw isDrayerError(e) ? e : sqliteError(e, this.file);
    }
    this.checkpoints.wrote(written.length);
    this.sealKeyOnce(kp);
    return written;
  }

  // ---------- the receiving side ----------

  /**
   * Apply records from a peer (DESIGN §3 rules 1–3) in one transaction.
   * Every record is verified first (unless `verified`); nothing invalid is ever stored.
   */
  apply(records: DrayerRecord[], opts: ApplyOptions = {}): ApplyResult {
    const filter = this.partial;
    const allowMetaOnly = opts.allowMetaOnly ?? filter.metaOnly ?? false;
    const result: ApplyResult = { stored: [], removed: [], rejected: [], skipped: 0 };
    const checked: DrayerRecord[] = [];
    for (const r of records) {
      const why = opts.verified ? checkShape(r) ?? (bytesEqual(r.chain, this.publicKey) ? null : 'it belongs to another chain') : checkRecord(r, this.publicKey);
      if (why) result.rejected.push({ record: r, reason: why });
      else if (r.val === null && !allowMetaOnly) result.rejected.push({ record: r, reason: 'it has no value and this copy keeps values' });
      else if (!inPartialRange(r, filter)) result.skipped++;
      else checked.push(filter.metaOnly && r.val ? { ...r, val: null } : r);
    }
    const run = this.db.transaction(() => {
      // Each stored record takes the next seq; its gaps then remove only older rows, so the
      // newest row always holds the last seq issued (see lastSeq).
      let seq = this.lastSeq();
      const nextSeq = () => ++seq;
      for (const r of checked) {
        const why = this.applyOne(r, result, nextSeq);
        if (why) result.rejected.push({ record: r, reason: why });
      }
    });
    try {
      run.immediate();
    } catch (e) {
      throw isDrayerError(e) ? e : sqliteError(e, this.file);
    }
    this.checkpoints.wrote(result.stored.length + result.removed.length);
    return result;
  }

  private applyOne(r: DrayerRecord, result: ApplyResult, nextSeq: () => number): string | null {
    const chain = Buffer.from(r.chain);
    const old = this.st.byId.get(chain, r.id) as Row | undefined;
    if (old) {
      // Rule 1: never go back to an older version; of two same-mod patches keep the wider gaps.
      if (old.mod > r.mod) return 'stale: a newer version of this record is held';
      if (old.mod === r.mod) {
        const sameSig = bytesEqual(old.sig, r.sig);
        if (sameSig && old.val === null && r.val !== null) {
          // Same signed record, now with its value: fill it in.
          this.st.upsert.run(nextSeq(), chain, r.id, r.type, r.key, r.val, r.hash, r.ts, r.mod, r.prev, r.prevch, r.sig);
          result.stored.push(r);
          return null;
        }
        if (old.prevch < r.prevch || (old.prevch === r.prevch && old.prev <= r.prev)) {
          return sameSig ? 'already held' : 'stale: a patch with gaps at least as wide is held';
        }
      }
    }
    // Rule 2: a record inside a held record's gap was deleted or moved after that one was signed.
    const mGapStart = this.st.nextModGap.get(chain, r.mod) as number | undefined;
    if (mGapStart !== undefined && mGapStart < r.mod) return 'deleted: it lies inside the M gap of a newer record';
    const idGapStart = this.st.nextIdGap.get(chain, r.id) as number | undefined;
    if (idGapStart !== undefined && idGapStart < r.id) return 'deleted: it lies inside the ID gap of a newer record';
    // Rule 3: store it, and drop everything its gaps say is gone. A metadata-only patch of a
    // record held with its value keeps the value (same hash, same bytes).
    const val = r.val ?? (old?.val && bytesEqual(old.hash, r.hash) ? old.val : null);
    this.st.upsert.run(nextSeq(), chain, r.id, r.type, r.key, val, r.hash, r.ts, r.mod, r.prev, r.prevch, r.sig);
    result.stored.push(r);
    for (const id of this.st.gcMod.all(chain, r.prevch, r.mod, r.id) as number[]) result.removed.push(id);
    for (const id of this.st.gcId.all(chain, r.prev, r.id) as number[]) result.removed.push(id);
    return null;
  }

  // ---------- verification ----------

  /** Check every signature, every value hash, and both chains' linkage; report each problem. */
  verify(opts: { maxProblems?: number } = {}): VerifyReport {
    const maxProblems = opts.maxProblems ?? 1000;
    const problems: Problem[] = [];
    const add = (id: number, what: string) => {
      if (problems.length < maxProblems) problems.push({ id, what });
    };
    const filter = this.partial;
    const partial = Boolean(filter.minId || filter.minMod);
    const mirror = !this.writable;
    let missing = 0;
    let records = 0;
    let metaOnly = 0;
    let lastId = 0;
    const mods: [number, number, number][] = []; // [mod, prevch, id]
    for (const row of this.db.prepare('SELECT * FROM records ORDER BY chain, id').iterate() as IterableIterator<Row>) {
      records++;
      const r = rowToRecord(row);
      if (r.val === null) metaOnly++;
      // a signature says who wrote a value, not that it decodes as its type requires
      const why = checkRecord(r, this.publicKey) ?? valueProblem(r.type, r.key, r.val);
      if (why) add(r.id, `record ${r.id} (${r.type}/${r.key}): ${why}`);
      if (!partial && r.prev !== lastId) {
        if (linkIsMissing(r.prev, lastId, mirror)) missing++;
        else add(r.id, `record ${r.id}: ID chain broken: prev is ${r.prev} but the record before it is ${lastId}`);
      }
      lastId = r.id;
      mods.push([r.mod, r.prevch, r.id]);
    }
    mods.sort((a, b) => a[0] - b[0]);
    let lastMod = 0;
    for (const [mod, prevch, id] of mods) {
      if (!partial && prevch !== lastMod) {
        if (linkIsMissing(prevch, lastMod, mirror)) missing++;
        else add(id, `record ${id}: M chain broken: prevch is ${prevch} but the record before it by mod has mod ${lastMod}`);
      }
      if (mod === lastMod) add(id, `record ${id}: mod ${mod} is not unique`);
      lastMod = mod;
    }
    if (records === 0) add(0, 'the stream holds no records (not even drayer/info): it has never been synced');
    const named = this.get('drayer', 'info') !== undefined;
    return verifyReport({ records, metaOnly, problems, partial, missing, unfinished: mirror ? this.unfinishedSyncs() : [], named });
  }
}

/**
 * Whether a partial copy with `filter` keeps `r`: its id and mod are in range, or it is
 * drayer/info (always kept, so every copy knows the stream's name). That is safe: info is never
 * deleted, so no valid record's gap covers its current version, and rule 1 orders its versions.
 */
function inPartialRange(r: { id: number; mod: number; type: string; key: string }, filter: PartialFilter): boolean {
  return (r.id >= (filter.minId ?? 0) && r.mod >= (filter.minMod ?? 0)) || (r.type === 'drayer' && r.key === 'info');
}

function checkText(type: string, key: string): void {
  if (!type || Buffer.byteLength(type) > LIMITS.typeBytes) throw new DrayerError('INVALID_ARGUMENT', `A record type must be 1–${LIMITS.typeBytes} bytes.`);
  if (Buffer.byteLength(key) > LIMITS.keyBytes) throw new DrayerError('INVALID_ARGUMENT', `A record key may be at most ${LIMITS.keyBytes} bytes.`);
}

