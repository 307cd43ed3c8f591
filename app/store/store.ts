// One stream in one SQLite file, as the rest of Drayer sees it: the Stream class opens, creates and
// closes it, reads its records and attributes, and hands writes, received records, syncing state
// and verification to the modules beside it (writer.ts, apply.ts, sync-state.ts, feed.ts, verify.ts).
import { peerId } from '../core/peer.js';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateKeyPair, type KeyPair, randomBytes } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import type { DrayerRecord } from '../core/record.js';
import { encode } from '@msgpack/msgpack';
import { decodeInfo, decodePrimaryServers, MAX_PRIMARY_SERVERS, MSGPACK_LIMITS, valueProblem } from '../core/msgpack.js';
import type { PrimaryServer } from '../core/shapes.js';
import type { PartialFilter } from './chains.js';
import { Checkpoints } from './checkpointer.js';
import { MetaCache } from './meta-cache.js';
import { collectLeftovers } from './chunks.js';
import { isSealedKeyFile, keyPairBeside, keyPathFor, SEALED_ELSEWHERE, writeKeyFile } from './keystore.js';
import { applyRecords, type ApplyOptions, type ApplyResult } from './apply.js';
import * as feed from './feed.js';
import {
  CHECKPOINT_ROWS,
  emptyStreamImage,
  FORMAT,
  lastSeqOf,
  metaOf,
  MIGRATIONS,
  prepareStatements,
  readIdentity,
  rowToRecord,
  setMetaOf,
  sqliteError,
  tuneWal,
  WAL_PAGES,
  type Handle,
} from './schema.js';
import * as sync from './sync-state.js';
import * as devices from './devices.js';
import { probeFile } from './probe.js';
import { SIBLINGS_KEY, SIBLINGS_TYPE, type Sibling } from '../core/siblings.js';
import { verifyStream, type VerifyReport } from './verify.js';
import { nowMicros, Writer, type BatchWriter } from './writer.js';
import { chunkReader } from './chunk-reader.js';

// What other layers import from here, wherever in app/store it now lives.
export { FORMAT } from './schema.js';
export { linkIsMissing, type PartialFilter } from './chains.js';
export type { ApplyOptions, ApplyResult, Rejection } from './apply.js';
export { PACKED_HEAD, type ChangesOptions, type ChangesPage, type ListOptions, type PackedPage, type PackedRow } from './feed.js';
export { NO_NAME_NOTE, verifyReport, type Problem, type VerifyReport } from './verify.js';
export { nowMicros } from './writer.js';
// Key files are read and written by keystore.ts (plain or sealed by the desktop app's keychain).
export { KEY_SUFFIX, keyPathFor, readKeyFile, writeKeyFile } from './keystore.js';

/** The key of the `drayer` record that lists a stream's primary servers. */
export const PRIMARY_SERVERS_KEY = 'primaryServers';

export interface StreamInfo {
  name?: string;
  about?: string;
  [k: string]: unknown;
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
  /** writes the new stream's first records in place of a plain drayer/info (a private stream seals it: private-view.ts) */
  writeInfo?: (s: Stream, info: StreamInfo) => void;
}

/** fsync one file, when it exists. */
function syncFile(f: string): void {
  let fd: number;
  try {
    fd = fs.openSync(f, 'r+');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class Stream {
  readonly file: string;
  readonly publicKey: Uint8Array;
  readonly db: Database.Database;
  private keyPair: KeyPair | null;
  /** this copy's own device key (§9: devices.ts), when it is a device of someone's stream */
  private readonly deviceKp: KeyPair | null;
  private deviceWriter: Writer | null = null;
  private readonly chain: Buffer;
  /** what the modules beside this one work on */
  private readonly h: Handle;
  private readonly writer: Writer;
  /** this stream's WAL checkpoints, run on the checkpointer thread (see tuneWal) */
  readonly checkpoints: Checkpoints;
  /** the connection's own wal_autocheckpoint (tuneWal), for whoever raises it for a while */
  readonly walPages: number;

  private constructor(file: string, db: Database.Database, publicKey: Uint8Array, keyPair: KeyPair | null) {
    this.file = file;
    this.db = db;
    this.publicKey = publicKey;
    this.keyPair = keyPair;
    this.chain = Buffer.from(publicKey);
    this.checkpoints = new Checkpoints(file, CHECKPOINT_ROWS);
    this.walPages = db.readonly ? 0 : WAL_PAGES;
    const st = prepareStatements(db);
    const meta = new MetaCache(
      db,
      path.resolve(file),
      () => st.metaGet,
      () => st.metaSet,
    );
    this.deviceKp = keyPair ? null : devices.deviceKeyBeside(file);
    const ownDevice = this.deviceKp ? Buffer.from(this.deviceKp.publicKey) : undefined;
    this.h = { file, db, publicKey, chain: this.chain, st, checkpoints: this.checkpoints, meta, ...(ownDevice ? { ownDevice } : {}) };
    this.writer = new Writer(this.h);
  }

  // ---------- opening and creating ----------

  /** Create a new stream file (and its secret key file beside it), or a mirror with `followKey`. */
  static create(file: string, opts: CreateOptions = {}): Stream {
    if (fs.existsSync(file)) throw new DrayerError('EXISTS', `${file} already exists; choose another file name (nothing was changed).`);
    const following = opts.followKey !== undefined;
    const kp = following ? null : (opts.keyPair ?? generateKeyPair());
    const publicKey = following ? new Uint8Array(opts.followKey!) : kp!.publicKey;
    if (publicKey.length !== 32) throw new DrayerError('INVALID_ARGUMENT', 'A stream key is 32 bytes.');
    // Each filter is safe alone: the chain it cuts (ID or M) still vouches for every gap in range.
    // Together, a deleted record may have both its covering records out of range, and a replayed
    // old copy could not be refuted, so a mirror keeps one range at most.
    if (opts.minId && opts.minMod)
      throw new DrayerError('INVALID_ARGUMENT', 'A partial copy keeps either the latest records by id (minId) or by change time (minMod), not both.');
    const keyFile = keyPathFor(file);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    if (kp) {
      if (fs.existsSync(keyFile)) throw new DrayerError('EXISTS', `${keyFile} already exists; refusing to overwrite a secret key.`);
      writeKeyFile(keyFile, kp);
    }
    // the empty schema, copied ('wx': never over a file that appeared meanwhile; that one is not ours to remove)
    try {
      fs.writeFileSync(file, emptyStreamImage(), { flag: 'wx' });
    } catch (e) {
      if (kp) fs.rmSync(keyFile, { force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new DrayerError('EXISTS', `${file} already exists; choose another file name (nothing was changed).`);
      fs.rmSync(file, { force: true }); // a part written (a full disk)
      if (code === 'ENOSPC') throw new DrayerError('IO', `The disk is full; ${file} was not made. Free some space and try again.`, { cause: e });
      throw new DrayerError('IO', `Cannot make ${file}: ${(e as Error).message}`, { cause: e });
    }
    let db: Database.Database | undefined;
    try {
      // The copy is in WAL mode already (emptyStreamImage). Its meta rows go in with no disk syncs
      // (at NORMAL, making the WAL syncs it and the directory; each sync cost ~10 ms, ~35 ms a new
      // stream: a LAN node following 40 streams spent seconds in them); an owned stream is synced once, below.
      db = new Database(file);
      db.pragma('synchronous = OFF');
      tuneWal(db);
      db.transaction(() => {
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
      db.pragma('synchronous = NORMAL');
      const s = new Stream(file, db, publicKey, kp);
      if (kp) {
        const info: StreamInfo = { name: opts.name ?? path.basename(file).replace(/\.stream$/, '') };
        if (opts.about) info.about = opts.about;
        if (opts.writeInfo) opts.writeInfo(s, info);
        else s.put('drayer', 'info', encode(info));
        // the author's new stream is on disk when create returns (a mirror's is rebuilt by a pull)
        for (const f of [file, `${file}-wal`]) syncFile(f);
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
    return probeFile(file);
  }

  close(): void {
    this.h.meta.forget();
    if (!this.db.open) return;
    this.writer.drain(); // queued durable puts are committed, not dropped
    this.deviceWriter?.drain();
    this.checkpoints.settle();
    chunkReader.forget(this.file); // this connection must be the last, to checkpoint and remove the WAL
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

  // ---------- attributes ----------

  meta(k: string): unknown {
    return metaOf(this.h, k);
  }

  setMeta(k: string, v: string | number | Buffer | null): void {
    setMetaOf(this.h, k, v);
  }

  /** Peers whose last pull into this copy began but did not reach the end of their feed. */
  unfinishedSyncs(): string[] {
    return sync.unfinishedSyncs(this.h);
  }

  /** Note that a pull from `peer` has begun (true) or has drained the peer's feed (false). */
  markSync(peer: string, unfinished: boolean): void {
    sync.markSync(this.h, peer, unfinished);
  }

  /** This store's id: a follower keys its cursor on it, so a replaced database restarts the sync. */
  get nodeId(): string {
    return String(this.meta('nodeId'));
  }

  get partial(): PartialFilter {
    return sync.partialOf(this.h);
  }

  /** Where this copy was cloned or followed from (the `sources` attribute): peers to sync it from. */
  recordedSources(): string[] {
    return sync.recordedSources(this.h);
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
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
        throw refuse(`"${u}" is not a URL: a primary server's URL starts with http:// or https://, e.g. http://${text || '192.168.1.5:15723'}.`);
      if (!/^https?:/i.test(text))
        throw refuse(
          `"${u}" is not an http:// or https:// URL: primary servers are Drayer nodes or mirrors that answer over HTTP, e.g. http://192.168.1.5:15723.`,
        );
      try {
        url = peerId(String(u).trim());
      } catch (e) {
        throw refuse(`${(e as Error).message.replace(/:$/, '')}.`);
      }
      if (url.length > MSGPACK_LIMITS.primaryServers.maxStr)
        throw refuse(`A primary server's URL has at most ${MSGPACK_LIMITS.primaryServers.maxStr} characters; ${url.slice(0, 40)}… has ${url.length}.`);
      if (!clean.includes(url)) clean.push(url);
    }
    if (clean.length > MAX_PRIMARY_SERVERS)
      throw refuse(`A stream names at most ${MAX_PRIMARY_SERVERS} primary servers (followers read no more); ${clean.length} were given.`);
    const servers = clean.map((url) => ({ type: 'http' as const, url }));
    const val = encode(servers);
    const problem = valueProblem('drayer', PRIMARY_SERVERS_KEY, val);
    if (problem) throw refuse(`Followers could not read that list of primary servers (${problem}); give fewer or shorter URLs.`);
    return { record: this.put('drayer', PRIMARY_SERVERS_KEY, val), servers };
  }

  // ---------- reads ----------

  /** The record (type, key) across the stream's chains: of two devices' versions, the newer ts (devices.ts). */
  get(type: string, key: string): DrayerRecord | undefined {
    const row = devices.mergedByKey(this.h, type, key);
    return row ? rowToRecord(row) : undefined;
  }

  getById(id: number): DrayerRecord | undefined {
    const row = devices.byIdAnyChain(this.h, id);
    return row ? rowToRecord(row) : undefined;
  }

  /** The devices the owner lists in drayer/siblings (§9), and this copy's own device key (null unless made by drayer device init). */
  devices(): { list: Sibling[]; mine: Uint8Array | null } {
    return { list: devices.siblingsHeld(this.h), mine: this.deviceKp?.publicKey ?? null };
  }

  /** The owner lists a device (its key from drayer device init) from now on; re-adding a removed one opens a new window. */
  addDevice(pk: Uint8Array, name?: string): DrayerRecord {
    return this.put(SIBLINGS_TYPE, SIBLINGS_KEY, devices.listWith(this.h, pk, name));
  }

  /** The owner ends a device's window at the newest record of it held here: later ones are refused everywhere, earlier ones stay. */
  removeDevice(pk: Uint8Array): DrayerRecord {
    this.requireKey();
    const { val, to } = devices.listWithout(this.h, pk);
    const r = this.put(SIBLINGS_TYPE, SIBLINGS_KEY, val);
    devices.dropAfter(this.h, pk, to);
    return r;
  }

  /** Records of one type (or two, by `ts`), newest first by `ts` (default) or by `id`, paged. */
  list(type: string | readonly [string, string], opts: feed.ListOptions = {}): DrayerRecord[] {
    return feed.list(this.h, type, opts);
  }

  count(type?: string | readonly string[]): number {
    return feed.count(this.h, type);
  }

  types(): { type: string; n: number }[] {
    return feed.types(this.h);
  }

  /** The ID-chain tip: the largest id held for the stream's own chain (0 when empty). */
  idTip(): number {
    return feed.idTip(this.h);
  }

  /** The M-chain tip: the largest mod held for the stream's own chain (0 when empty). */
  mtip(): number {
    return feed.mtip(this.h);
  }

  /** Fill in the value of a record held as metadata only, after checking it against the signed hash (feed.ts). */
  fillValue(id: number, val: Uint8Array): boolean {
    return feed.fillValue(this.h, id, val);
  }

  /** A "latest N" mirror's window moves up to its N newest records; the ids removed (sync-state.ts). */
  keepLatest(): number[] {
    return sync.keepLatest(this.h);
  }

  /** N of a "latest N" mirror (0 for any other copy). */
  get latest(): number {
    return sync.latestOf(this.h);
  }

  /** Where a window of the `n` newest live records starts in this copy, if it can vouch for it (sync-state.ts). */
  windowStart(n: number): number | undefined {
    return sync.windowStart(this.h, n, this.writable);
  }

  /** Move a "latest N" window's start down to `minId`; whether it moved (sync-state.ts). */
  lowerWindow(minId: number): boolean {
    return sync.lowerWindow(this.h, minId);
  }

  /** How many rows of the change feed come after `seq` and pass the filters: a follower's "records to go". */
  countChangesAfter(seq: number, opts: PartialFilter = {}): number {
    return feed.countChangesAfter(this.h, seq, opts);
  }

  /** The newest seq this store has handed out (never reused; see schema.ts lastSeqOf). */
  lastSeq(): number {
    return lastSeqOf(this.h);
  }

  /** Iterate all live records in id order without loading them all at once. */
  iterate(opts: { withValues?: boolean } = {}): Generator<DrayerRecord> {
    return feed.iterate(this.h, opts);
  }

  /**
   * The change feed: rows inserted or replaced after `since`, in seq order.
   * Filters make partial mirrors; rows filtered out still advance the returned seq.
   */
  changesSince(since: number, opts: feed.ChangesOptions = {}): feed.ChangesPage {
    return feed.changesSince(this.h, since, opts);
  }

  /** changesSince's page as packed rows, for a server writing its answer (null: use changesSince; feed.ts). */
  changesPacked(since: number, opts: feed.ChangesOptions = {}): feed.PackedPage | null {
    return feed.changesPacked(this.h, since, opts);
  }

  // ---------- the writer ----------

  /** The key and writer a write here uses: the owner's, or this device's own chain (§9). */
  private writerFor(): { kp: KeyPair; w: Writer } {
    if (this.keyPair || !this.deviceKp) return { kp: this.requireKey(), w: this.writer };
    devices.requireListed(this.h, this.deviceKp.publicKey);
    this.deviceWriter ??= devices.deviceWriterOf(this.h, this.deviceKp);
    return { kp: this.deviceKp, w: this.deviceWriter };
  }

  private requireKey(): KeyPair {
    if (!this.keyPair) {
      const keyFile = keyPathFor(this.file);
      if (isSealedKeyFile(keyFile)) throw new DrayerError('NOT_WRITABLE', `The secret key of ${this.file} (${keyFile}) ${SEALED_ELSEWHERE}`);
      throw new DrayerError('NOT_WRITABLE', `${this.file} is a mirror: its secret key (${keyPathFor(this.file)}) is not here, so it cannot be written.`);
    }
    return this.keyPair;
  }

  /** Create or edit the record (type, key). Atomic and durable against a process crash when it returns. */
  put(type: string, key: string, value: Uint8Array, ts?: number): DrayerRecord {
    const { kp, w } = this.writerFor();
    return w.put(kp, type, key, value, ts) ?? this.get(type, key)!;
  }

  /**
   * put(), with a group commit: puts made together (in one turn of the event loop, or while the
   * disk syncs the last group) share one transaction, and the promise resolves once this one is
   * on disk, safe from a power loss and not only from a crash (group-commit.ts). Many puts in
   * flight at once cost far less each than put() one by one; one alone waits for a disk sync.
   */
  putDurable(type: string, key: string, value: Uint8Array, ts?: number): Promise<DrayerRecord> {
    if (!this.db.open) return Promise.reject(new DrayerError('IO', `${this.file} is closed; nothing was written.`));
    let kw: { kp: KeyPair; w: Writer };
    try {
      kw = this.writerFor();
    } catch (e) {
      return Promise.reject(e);
    }
    return kw.w.putDurable({ kp: kw.kp, type, key, value, ts });
  }

  /** Delete the record (type, key); false when there is none. Leaves no trace but patched neighbours. */
  delete(type: string, key: string): boolean {
    const { kp, w } = this.writerFor();
    return w.delete(kp, type, key);
  }

  /** Many writes in one transaction (imports). Each op is applied in order; the batch is atomic. */
  batch(fn: (w: BatchWriter) => void): DrayerRecord[] {
    const { kp, w } = this.writerFor();
    return w.batch(kp, fn);
  }

  // ---------- the receiving side ----------

  /**
   * Apply records from a peer (DESIGN §3 rules 1–3) in one transaction.
   * Every record is verified first (unless `verified`); nothing invalid is ever stored.
   */
  apply(records: DrayerRecord[], opts: ApplyOptions = {}): ApplyResult {
    return applyRecords(this.h, this.partial, records, opts);
  }

  // ---------- verification ----------

  /** Check every signature, every value hash, and both chains' linkage; report each problem. */
  verify(opts: { maxProblems?: number } = {}): VerifyReport {
    const filter = this.partial;
    const mirror = !this.writable;
    return verifyStream(this.h, {
      partial: Boolean(filter.minId || filter.minMod),
      mirror,
      maxProblems: opts.maxProblems ?? 1000,
      unfinished: mirror ? this.unfinishedSyncs() : [],
    });
  }
}
