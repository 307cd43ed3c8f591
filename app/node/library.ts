// The library database (DESIGN §2): one small SQLite file, `library.db`, beside the stream files
// of a data directory. It lists the streams followed and owned, keeps settings, peers and sync
// cursors, and a timeline with a full-text index across all streams. Everything but the settings
// (global and per stream) and the peer list can be rebuilt from the stream files: see rebuild().
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerError } from '../core/errors.js';
import { decodePostOf, isPostType, POST_TYPES } from '../store/posts.js';
import type { DrayerRecord } from '../core/record.js';
import { inTransaction } from '../store/schema.js';
import { Stream } from '../store/store.js';
import { TalkIndex } from './library-talk.js';
import { excerpt, ftsQuery, makeSnippet, searchTerms, splitExcerpt } from './timeline-text.js';
import {
  checkPublicKey,
  clampLimit,
  feedStatement,
  filledPostRows,
  LibrarySettings,
  livePosts,
  type FeedRow,
  LIBRARY_FILE,
  MIGRATIONS,
  parseSettings,
  type PeerEntry,
  type RebuildReport,
  sqliteError,
  type StreamEntry,
  type StreamRow,
  type StreamSettings,
  STREAM_SUFFIX,
  type TimelineEntry,
  type TimelineRow,
  frozenEntry,
  gapFloor,
  toEntry,
  toTimeline,
} from './library-schema.js';

/** Post values larger than this are indexed as empty posts (the writer never makes them; a rogue one could). */
const MAX_POST_VAL = 1024 * 1024;
/** Flush indexed rows to the library every so many rows or bytes, so memory stays bounded. */
const [FLUSH_ROWS, FLUSH_BYTES] = [2000, 16 * 1024 * 1024];
/** A change of at most this many records is indexed in one transaction (noteApplied). */
const SMALL_CHANGE = 64;
/** Search ranks at most this many matches, the newest indexed (see search()). */
export const RANKED = 1000;

export class Library {
  readonly dataDir: string;
  readonly db: Database.Database;
  private readonly file: string;
  private readonly st: ReturnType<Library['prepare']>;
  private readonly listCache = new Map<string, Database.Statement>();
  /** getStream's answers (null: not in the library), until the stream list is written */
  private readonly entries = new Map<string, StreamEntry | null>();
  private readonly settings: LibrarySettings;
  /** replies and reactions (library-talk.ts) */
  readonly talk: TalkIndex;

  private constructor(dataDir: string, file: string, db: Database.Database) {
    this.dataDir = dataDir;
    this.file = file;
    this.db = db;
    this.st = this.prepare();
    this.settings = new LibrarySettings(db);
    this.talk = new TalkIndex(db);
  }

  /** Open the library of a data directory, creating the directory and library.db if missing. */
  static open(dataDir: string, opts: { log?: (m: string) => void } = {}): Library {
    const dir = path.resolve(dataDir);
    const file = path.join(dir, LIBRARY_FILE);
    let db: Database.Database;
    try {
      fs.mkdirSync(dir, { recursive: true });
      db = new Database(file);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('E')) {
        throw new DrayerError('IO', `Cannot create the data directory ${dir}: ${(e as Error).message}. Choose a writable place.`, { cause: e });
      }
      throw sqliteError(e, file);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // 16 MiB of pages, not 2: search as you type reads the same index pages letter after letter (fewer reads from the OS).
      db.pragma('cache_size = -16384');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > MIGRATIONS.length) {
        throw new DrayerError('NOT_A_STREAM', `${file} was written by a newer Drayer (library schema ${version}); update Drayer to use this data directory.`);
      }
      if (version < MIGRATIONS.length) {
        // An upgrade re-reads the timeline (schema 2 re-indexes every post): said, as it can take a minute.
        const t0 = performance.now();
        if (version > 0) opts.log?.(`Upgrading the library ${file} to this version of Drayer (once; a big library takes a minute)…`);
        db.transaction(() => {
          for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
          db.pragma(`user_version = ${MIGRATIONS.length}`);
        }).immediate();
        if (version > 0) opts.log?.(`The library was upgraded in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
      }
      return new Library(dir, file, db);
    } catch (e) {
      db.close();
      throw sqliteError(e, file);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private prepare() {
    const db = this.db;
    return {
      streamGet: db.prepare(`SELECT * FROM streams WHERE pk = ?`),
      streamByFile: db.prepare(`SELECT * FROM streams WHERE file = ?`),
      streamList: db.prepare(`SELECT * FROM streams ORDER BY name COLLATE NOCASE, pk`),
      streamInsert: db.prepare(`INSERT INTO streams (pk, file, owned, name, added, settings) VALUES (?, ?, ?, ?, ?, ?)`),
      streamUpdate: db.prepare(`UPDATE streams SET name = ?, settings = ? WHERE pk = ?`),
      streamRefresh: db.prepare(
        `UPDATE streams SET name = ?, owned = ?, about = ?, avatar = ? WHERE pk = ? AND (name != ? OR owned != ? OR about != ? OR avatar != ?)`,
      ),
      streamUpsert: db.prepare(`INSERT INTO streams (pk, file, owned, name, added, settings) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (pk) DO UPDATE SET file = excluded.file, owned = excluded.owned, name = excluded.name`),
      streamDelete: db.prepare(`DELETE FROM streams WHERE pk = ?`),
      cursorGet: db.prepare(`SELECT node_id, seq FROM cursors WHERE peer = ? AND stream_pk = ?`),
      cursorSet: db.prepare(`INSERT OR REPLACE INTO cursors (peer, node_id, stream_pk, seq, updated) VALUES (?, ?, ?, ?, ?)`),
      cursorsDropStream: db.prepare(`DELETE FROM cursors WHERE stream_pk = ?`),
      peerUpsert: db.prepare(`INSERT INTO peers (url, last_seen, last_ok, failures, next_try)
        VALUES (@url, coalesce(@lastSeen, 0), coalesce(@lastOk, 0), coalesce(@failures, 0), coalesce(@nextTry, 0))
        ON CONFLICT (url) DO UPDATE SET last_seen = coalesce(@lastSeen, last_seen), last_ok = coalesce(@lastOk, last_ok),
          failures = coalesce(@failures, failures), next_try = coalesce(@nextTry, next_try)`),
      peerList: db.prepare(`SELECT url, last_seen AS lastSeen, last_ok AS lastOk, failures, next_try AS nextTry FROM peers ORDER BY url`),
      peerGet: db.prepare(`SELECT url, last_seen AS lastSeen, last_ok AS lastOk, failures, next_try AS nextTry FROM peers WHERE url = ?`),
      peerDelete: db.prepare(`DELETE FROM peers WHERE url = ?`),
      stateGet: db.prepare(`SELECT node_id AS nodeId, seq FROM index_state WHERE stream_pk = ?`),
      stateSet: db.prepare(`INSERT OR REPLACE INTO index_state (stream_pk, node_id, seq) VALUES (?, ?, ?)`),
      stateDrop: db.prepare(`DELETE FROM index_state WHERE stream_pk = ?`),
      postUpsert: db
        .prepare(
          `INSERT INTO timeline (stream_pk, id, key, ts, mod, title, body) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (stream_pk, id) DO UPDATE SET key = excluded.key, ts = excluded.ts, mod = excluded.mod, title = excluded.title, body = excluded.body
        WHERE timeline.mod != excluded.mod OR timeline.ts != excluded.ts OR timeline.key != excluded.key
          OR timeline.title != excluded.title OR timeline.body != excluded.body
        RETURNING rid`,
        )
        .pluck(),
      ftsPut: db.prepare(`INSERT OR REPLACE INTO timeline_fts (rowid, title, body) VALUES (?, ?, ?)`),
      postDelete: db.prepare(`DELETE FROM timeline WHERE stream_pk = ? AND id = ?`),
      postsDropGap: db.prepare(`DELETE FROM timeline WHERE stream_pk = ? AND id > ? AND id < ?`),
      postsDropStream: db.prepare(`DELETE FROM timeline WHERE stream_pk = ?`),
      postsCount: db.prepare(`SELECT coalesce((SELECT n FROM stream_posts WHERE stream_pk = ?), 0)`).pluck(),
      postsCountAll: db.prepare(`SELECT coalesce(sum(n), 0) FROM stream_posts`).pluck(),
      postsKeepOnly: db.prepare(`DELETE FROM timeline WHERE stream_pk = ? AND id NOT IN (SELECT value FROM json_each(?))`),
    };
  }

  /** A transaction that writes the stream list: the entries kept parsed are forgotten (committed or not). */
  private streamsTx<T>(fn: () => T): T {
    this.entries.clear();
    try {
      return this.tx(fn);
    } finally {
      this.entries.clear();
    }
  }

  private tx<T>(fn: () => T): T {
    try {
      return inTransaction(this.db, fn, true);
    } catch (e) {
      throw sqliteError(e, this.file);
    }
  }

  // ---------- streams ----------

  /** The stored file name: relative to the data directory when it lies inside it. */
  private relFile(file: string): string {
    if (typeof file !== 'string' || file === '') throw new DrayerError('INVALID_ARGUMENT', 'A stream entry needs the name of its stream file.');
    if (!path.isAbsolute(file)) return path.normalize(file);
    const rel = path.relative(this.dataDir, file);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.normalize(file);
  }

  /** The absolute path of a stream entry's file. */
  pathOf(entry: Pick<StreamEntry, 'file'>): string {
    return path.resolve(this.dataDir, entry.file);
  }

  addStream(e: { publicKey: string; file: string; owned: boolean; name?: string; settings?: StreamSettings }): StreamEntry {
    checkPublicKey(e.publicKey);
    const file = this.relFile(e.file);
    return this.streamsTx(() => {
      if (this.st.streamGet.get(e.publicKey)) {
        throw new DrayerError('EXISTS', `Stream ${e.publicKey} is already in the library; nothing was changed.`);
      }
      const other = this.st.streamByFile.get(file) as StreamRow | undefined;
      if (other) throw new DrayerError('EXISTS', `The file ${file} already belongs to stream ${other.pk} in the library; choose another file name.`);
      this.st.streamInsert.run(e.publicKey, file, e.owned ? 1 : 0, e.name ?? '', Date.now(), JSON.stringify(e.settings ?? {}));
      return toEntry(this.st.streamGet.get(e.publicKey) as StreamRow);
    });
  }

  /** Forget a stream: its entry, timeline rows and cursors. The stream file itself is left alone. */
  removeStream(publicKey: string): void {
    this.streamsTx(() => {
      this.st.postsDropStream.run(publicKey);
      this.talk.dropStream(publicKey);
      this.st.stateDrop.run(publicKey);
      this.st.cursorsDropStream.run(publicKey);
      this.st.streamDelete.run(publicKey);
    });
  }

  getStream(publicKey: string): StreamEntry | undefined {
    // Asked for every announcement sent and every request served (settings decide what is
    // served): kept parsed until a write to the stream list, which forgets them all.
    const hit = this.entries.get(publicKey);
    if (hit !== undefined) return hit ?? undefined;
    const r = this.st.streamGet.get(publicKey) as StreamRow | undefined;
    const e = r ? frozenEntry(r) : undefined;
    if (this.entries.size >= 4096) this.entries.clear();
    this.entries.set(publicKey, e ?? null);
    return e;
  }

  /** Posts of a stream in the timeline. */
  postCount(publicKey: string): number {
    return this.st.postsCount.get(publicKey) as number;
  }

  listStreams(): StreamEntry[] {
    return (this.st.streamList.all() as StreamRow[]).map(toEntry);
  }

  /**
   * Rename, and merge settings shallowly (a key set to undefined is removed). The name is
   * replaced again by the stream's own drayer/info name whenever indexing finds one.
   */
  updateStream(publicKey: string, patch: { name?: string; settings?: StreamSettings }): StreamEntry {
    return this.streamsTx(() => {
      const r = this.st.streamGet.get(publicKey) as StreamRow | undefined;
      if (!r) throw new DrayerError('NOT_FOUND', `Stream ${publicKey} is not in the library; add it first.`);
      const name = patch.name ?? r.name;
      const settings = patch.settings ? { ...parseSettings(r.settings), ...patch.settings } : parseSettings(r.settings);
      this.st.streamUpdate.run(name, JSON.stringify(settings), publicKey);
      return toEntry(this.st.streamGet.get(publicKey) as StreamRow);
    });
  }

  private requireEntry(s: Stream): string {
    const pk = Buffer.from(s.publicKey).toString('base64');
    if (!this.st.streamGet.get(pk)) {
      throw new DrayerError('NOT_FOUND', `Stream ${pk} (${s.file}) is not in the library; add it with addStream before indexing it.`);
    }
    return pk;
  }

  /** Keep the entry's name, about and avatar (from drayer/info) and owned flag in step with the stream file. */
  private refreshEntry(pk: string, s: Stream, fallbackName: string): void {
    const info = s.info();
    const name = typeof info.name === 'string' && info.name.trim() !== '' ? info.name : fallbackName;
    const about = typeof info.about === 'string' ? info.about : '';
    const avatar = typeof info.avatar === 'string' ? info.avatar : '';
    const owned = s.writable ? 1 : 0;
    if (this.st.streamRefresh.run(name, owned, about, avatar, pk, name, owned, about, avatar).changes > 0) this.entries.delete(pk);
  }

  // ---------- settings ----------

  getSetting<T>(key: string, fallback: T): T {
    return this.settings.get(key, fallback);
  }

  /** Store a JSON-serialisable value; undefined removes the setting (back to the default). */
  setSetting(key: string, value: unknown): void {
    this.settings.set(key, value);
  }

  // ---------- peers and cursors ----------

  /** The seq to pull from, or 0 when none is held or it was taken from another database (node id). */
  getCursor(peer: string, streamPk: string, nodeId: string): number {
    const r = this.st.cursorGet.get(peer, streamPk) as { node_id: string; seq: number } | undefined;
    return r && r.node_id === nodeId ? r.seq : 0;
  }

  /** The peer's store id the cursor was taken from: pull() needs it to ask from the cursor at all. */
  lastNodeId(peer: string, streamPk: string): string | undefined {
    return (this.st.cursorGet.get(peer, streamPk) as { node_id: string } | undefined)?.node_id;
  }

  /** The peer served verified records of the stream before (a cursor past 0 is kept only for a peer that proved itself). */
  servedBefore(peer: string, streamPk: string): boolean {
    return ((this.st.cursorGet.get(peer, streamPk) as { seq: number } | undefined)?.seq ?? 0) > 0;
  }

  setCursor(peer: string, streamPk: string, nodeId: string, seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new DrayerError('INVALID_ARGUMENT', `A sync cursor is a non-negative integer, not ${seq}.`);
    const held = this.st.cursorGet.get(peer, streamPk) as { node_id: string; seq: number } | undefined;
    if (held && held.node_id === nodeId && held.seq === seq) return; // a pull that moved nothing writes nothing
    this.st.cursorSet.run(peer, nodeId, streamPk, seq, Date.now());
  }

  /** Insert a peer or update the fields given (times in ms since the epoch). */
  upsertPeer(p: { url: string; lastSeen?: number; lastOk?: number; failures?: number; nextTry?: number }): void {
    if (typeof p.url !== 'string' || p.url === '') throw new DrayerError('INVALID_ARGUMENT', 'A peer needs a URL or host.');
    this.st.peerUpsert.run({ url: p.url, lastSeen: p.lastSeen ?? null, lastOk: p.lastOk ?? null, failures: p.failures ?? null, nextTry: p.nextTry ?? null });
  }

  getPeer(url: string): PeerEntry | undefined {
    return this.st.peerGet.get(url) as PeerEntry | undefined;
  }

  listPeers(): PeerEntry[] {
    return this.st.peerList.all() as PeerEntry[];
  }

  removePeer(url: string): void {
    this.st.peerDelete.run(url);
  }

  // ---------- timeline indexing ----------

  /**
   * Index change-feed rows in one transaction: upsert posts (the search index is touched only for
   * rows that actually changed), and drop the rows inside each record's ID gap. A signed gap
   * (prev, id) says no live record has an id strictly between them, ever (ids only grow, DESIGN
   * §3), so this is exact: it is how a delete, and the old id of a re-issued ID tip, leave the
   * timeline although neither leaves a row in the feed. Returns the timeline rows dropped.
   */
  private writeRows(pk: string, rows: FeedRow[]): number {
    let dropped = 0;
    for (const r of rows) {
      if (r.id - gapFloor(r) > 1) dropped += this.st.postsDropGap.run(pk, gapFloor(r), r.id).changes;
      this.talk.row(pk, r); // its ID gap too
      if (!isPostType(r.type)) continue;
      const p = decodePostOf(r.type, r.key, r.val && r.val.length <= MAX_POST_VAL ? r.val : null);
      const rid = this.st.postUpsert.get(pk, r.id, r.key, r.ts, r.mod, p.title, excerpt(p.body)) as number | undefined;
      if (rid !== undefined) this.st.ftsPut.run(rid, p.title, p.body);
    }
    return dropped;
  }

  /**
   * Drop timeline rows of posts no longer live in the stream: a safety net under the gaps above
   * (and what catches up after a stream file was replaced). Counting first keeps the common case
   * (nothing deleted) at two index counts; the difference itself is one SQL statement.
   */
  private reconcile(pk: string, s: Stream): number {
    const live = livePosts(s);
    const indexed = this.st.postsCount.get(pk) as number;
    if (live.count === indexed) return 0;
    const ids = live.ids();
    return this.tx(() => this.st.postsKeepOnly.run(pk, ids).changes);
  }

  /**
   * Bring the stream's timeline rows up to date from its change feed, then drop deleted posts.
   * Incremental: starts from the seq indexed last time, unless the stream file was replaced
   * (another node id, or a lower last seq), in which case the stream is re-indexed from scratch.
   * Every record in the feed is read (posts with their values): any record's ID gap may cover a post.
   * `fromStart`: from scratch anyway (a read key put beside a private stream opens posts indexed sealed).
   */
  indexStream(stream: Stream, fromStart = false): { indexed: number; removed: number } {
    const pk = this.requireEntry(stream);
    const nodeId = stream.nodeId;
    const last = stream.lastSeq();
    const state = this.st.stateGet.get(pk) as { nodeId: string; seq: number } | undefined;
    // From scratch, rows still held are upserted (unchanged ones cost no search-index work) and
    // whatever is no longer live is dropped by reconcile() below.
    let since = !fromStart && state && state.nodeId === nodeId && state.seq <= last ? state.seq : 0;
    let indexed = 0;
    let removed = 0;
    if (since < last) {
      // Stream the feed row by row (only post values are read) and write in bounded batches.
      const feed = feedStatement(stream);
      let batch: FeedRow[] = [];
      let bytes = 0;
      const flush = () => {
        const rows = batch;
        batch = [];
        bytes = 0;
        removed += this.tx(() => this.writeRows(pk, rows));
      };
      for (const r of feed.iterate(POST_TYPES, MAX_POST_VAL, since, last)) {
        batch.push(r);
        if (isPostType(r.type)) indexed++;
        bytes += r.val?.length ?? 0;
        if (batch.length >= FLUSH_ROWS || bytes >= FLUSH_BYTES) flush();
      }
      flush();
      since = last;
    }
    // Nothing new in the feed since it was indexed (a node starting, a poll): the index already
    // matches the stream, so neither the counts of reconcile() nor a write are needed (at start
    // they cost a second for 500 streams). The entry still follows a key file put beside it.
    if (!fromStart && state && state.nodeId === nodeId && state.seq === last) {
      this.refreshEntry(pk, stream, (this.st.streamGet.get(pk) as StreamRow).name);
      return { indexed, removed };
    }
    removed += this.reconcile(pk, stream);
    this.tx(() => {
      this.talk.reconcile(pk, stream);
      this.st.stateSet.run(pk, nodeId, since);
      this.refreshEntry(pk, stream, (this.st.streamGet.get(pk) as StreamRow).name);
    });
    return { indexed, removed };
  }

  /**
   * After Stream.apply, or local writes (`stored`: the records written, `removed`: ids the caller
   * knows are gone). Records a store removes leave nothing in its change feed, so those ids are
   * dropped here (unless the stream holds them again: an id may be removed and stored again within
   * one apply); everything written since the last indexing is then read from the feed, so the
   * index cannot drift from the stream whatever the caller passed (issue 13: a re-issued ID tip
   * once left its old id in the timeline and search until a restart).
   */
  noteApplied(stream: Stream, result: { stored: DrayerRecord[]; removed: number[] }): void {
    const pk = this.requireEntry(stream);
    const gone = result.removed.filter((id) => !isPostType(stream.getById(id)?.type ?? ''));
    const work = () => {
      for (const id of gone) this.st.postDelete.run(pk, id);
      this.talk.drop(pk, gone);
      this.indexStream(stream);
    };
    // A few records (a post, a follow's first page): one commit for all of it, not three or four
    // (their transactions below become savepoints). A big page keeps its bounded batches.
    if (result.stored.length + gone.length <= SMALL_CHANGE) this.tx(work);
    else work();
  }

  /**
   * A metadata-only copy fetched the values of posts it held without them (open.ts): their titles
   * and bodies reach the timeline and search. The change feed did not move, so neither does the
   * indexed seq.
   */
  notePostValues(stream: Stream, records: DrayerRecord[]): void {
    const pk = this.requireEntry(stream);
    const rows = filledPostRows(stream, records); // a private stream's sealed ones opened, where its read key is here
    if (rows.length) this.tx(() => this.writeRows(pk, rows));
  }

  // ---------- reading the timeline ----------

  private cached(sql: string): Database.Statement {
    let st = this.listCache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.listCache.set(sql, st);
    }
    return st;
  }

  /** Posts across streams, newest first; pass the last entry's (ts, streamKey, id) as `before` for the next page. */
  timeline(opts: { limit?: number; before?: { ts: number; streamKey: string; id: number }; streams?: string[] } = {}): TimelineEntry[] {
    const limit = clampLimit(opts.limit, 50, 1000);
    if (limit === 0 || (opts.streams && opts.streams.length === 0)) return [];
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.before) {
      where.push('(t.ts, t.stream_pk, t.id) < (?, ?, ?)');
      params.push(opts.before.ts, opts.before.streamKey, opts.before.id);
    }
    if (opts.streams) {
      where.push('t.stream_pk IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(opts.streams));
    }
    const sql = `SELECT t.stream_pk, coalesce(s.name, '') AS stream_name, t.key, t.id, t.ts, t.mod, t.title, t.body
      FROM timeline t LEFT JOIN streams s ON s.pk = t.stream_pk
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY t.ts DESC, t.stream_pk DESC, t.id DESC LIMIT ?`;
    return (this.cached(sql).all(...params, limit) as TimelineRow[]).map(toTimeline);
  }

  /**
   * Full-text search over titles and bodies, best match first (newest first when a word is one
   * letter, or the last two). The query is taken as plain words (never FTS syntax): all must match, the last one
   * also as a prefix. `snippet` is plain text.
   */
  search(query: string, opts: { limit?: number; streams?: string[] } = {}): (TimelineEntry & { snippet: string })[] {
    const limit = clampLimit(opts.limit, 50, 1000);
    const terms = searchTerms(query);
    if (limit === 0 || terms.length === 0 || (opts.streams && opts.streams.length === 0)) return [];
    const params: unknown[] = [ftsQuery(terms)];
    let filter = '';
    if (opts.streams) {
      filter = 'AND rowid IN (SELECT rid FROM timeline WHERE stream_pk IN (SELECT value FROM json_each(?)))';
      params.push(JSON.stringify(opts.streams));
    }
    // Ranking every match costs as much as there are matches: the best of the RANKED newest (newest indexed, walked for next to nothing) are shown.
    // bm25 first counts every post each word is in: a word of one letter, or a last one (still typed) of two, starts most
    // words of a big library (tens of ms) and says little of what is meant, so it is not weighed: the matches come newest first.
    const letters = (t: string) => [...t.replace(/\p{M}/gu, '')].length;
    const weigh = !terms.some((t) => letters(t) <= 1) && letters(terms[terms.length - 1]!) >= 3;
    // Only the matches' times go through the sort; the few shown are read whole after it (1,000 excerpts in it: 80 ms, not 44, cold).
    const sql = `SELECT t.stream_pk, coalesce(s.name, '') AS stream_name, t.key, t.id, t.ts, t.mod, t.title, t.body
      FROM (SELECT f.rowid AS rid, o.ts AS ts${weigh ? ', f.rank AS rank' : ''}
        FROM (SELECT rowid${weigh ? ', rank' : ''} FROM timeline_fts WHERE timeline_fts MATCH ? ${filter} ORDER BY rowid DESC LIMIT ${RANKED}) f JOIN timeline o INDEXED BY timeline_rid_ts ON o.rid = f.rowid
        ORDER BY ${weigh ? 'f.rank, ' : ''}o.ts DESC, f.rowid DESC LIMIT ?) top
      JOIN timeline t ON t.rid = top.rid LEFT JOIN streams s ON s.pk = t.stream_pk
      ORDER BY ${weigh ? 'top.rank, ' : ''}top.ts DESC, top.rid DESC`;
    let rows: TimelineRow[];
    try {
      rows = this.cached(sql).all(...params, limit) as TimelineRow[];
    } catch (e) {
      throw sqliteError(e, this.file);
    }
    return rows.map((r) => ({ ...toTimeline(r), snippet: makeSnippet(r.title, splitExcerpt(r.body).body, terms) }));
  }

  // ---------- rebuilding ----------

  /**
   * Re-create everything rebuildable from the stream files: the stream list (from the *.stream
   * files in the data directory and the files of known entries) and the timeline. Settings, each
   * surviving stream's settings and added time, and the peer list are kept; sync cursors are
   * dropped (a restored stream file may be older than its cursor), so the next sync starts over.
   * Unreadable files are reported in `skipped`; an entry whose file still exists is kept.
   */
  rebuild(): RebuildReport {
    const old = new Map((this.st.streamList.all() as StreamRow[]).map((r) => [r.pk, r]));
    const candidates = new Set<string>();
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dataDir);
    } catch (e) {
      throw new DrayerError('IO', `Cannot read the data directory ${this.dataDir}: ${(e as Error).message}.`, { cause: e });
    }
    for (const n of names.sort()) if (n.endsWith(STREAM_SUFFIX)) candidates.add(path.join(this.dataDir, n));
    for (const r of old.values()) {
      const p = this.pathOf(r);
      if (fs.existsSync(p)) candidates.add(p);
    }
    const skipped: RebuildReport['skipped'] = [];
    const found = new Map<string, { file: string; owned: boolean }>();
    const keepUnreadable = new Set<string>();
    for (const p of candidates) {
      const rel = this.relFile(p);
      let s: Stream | undefined;
      try {
        if (!fs.statSync(p).isFile()) continue;
        s = Stream.open(p, { readonly: true });
        const pk = Buffer.from(s.publicKey).toString('base64');
        const prior = found.get(pk);
        // Two copies of one stream: prefer the owned one, then the one the library already knew.
        if (prior) {
          const better = (s.writable && !prior.owned) || (s.writable === prior.owned && old.get(pk)?.file === rel);
          const loser = better ? prior.file : rel;
          skipped.push({ file: loser, reason: `it holds the same stream (${pk}) as ${better ? rel : prior.file}` });
          if (!better) continue;
        }
        found.set(pk, { file: rel, owned: s.writable });
      } catch (e) {
        skipped.push({ file: rel, reason: (e as Error).message });
        for (const r of old.values()) if (r.file === rel) keepUnreadable.add(r.pk);
      } finally {
        s?.close();
      }
    }
    this.streamsTx(() => {
      this.db.exec(`DELETE FROM timeline; DELETE FROM reactions; DELETE FROM index_state; DELETE FROM cursors;`);
      for (const r of old.values()) if (!found.has(r.pk) && !keepUnreadable.has(r.pk)) this.st.streamDelete.run(r.pk);
      // Free file names first, so two entries can swap files without a UNIQUE clash.
      for (const [pk, f] of found) {
        const holder = this.st.streamByFile.get(f.file) as StreamRow | undefined;
        if (holder && holder.pk !== pk) this.st.streamDelete.run(holder.pk);
      }
      for (const [pk, f] of found) {
        const prev = old.get(pk);
        this.st.streamUpsert.run(pk, f.file, f.owned ? 1 : 0, prev?.name ?? '', prev?.added ?? Date.now(), prev?.settings ?? '{}');
      }
    });
    let streams = 0;
    for (const f of found.values()) {
      let s: Stream | undefined;
      try {
        s = Stream.open(this.pathOf(f), { readonly: true });
        this.indexStream(s);
        streams++;
      } catch (e) {
        skipped.push({ file: f.file, reason: (e as Error).message });
      } finally {
        s?.close();
      }
    }
    return { streams, posts: this.st.postsCountAll.get() as number, skipped };
  }
}
