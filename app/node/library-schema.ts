// The library database's shape: its tables and their migrations, the rows as the rest of the
// node sees them (stream entries, peers, timeline entries), and its errors in plain words.
import type Database from 'better-sqlite3';
import type { TimelineItem } from './api.js';
import type { Stream } from '../store/store.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { splitExcerpt } from './timeline-text.js';
import { SEALED_TYPE } from '../core/private.js';
import { REACTION_TYPE } from '../store/talk.js';
import { isPostType } from '../store/posts.js';
import type { DrayerRecord } from '../core/record.js';
import { openFeedRow, readerOf, SEALED_ROW_EXTRA } from './private-streams.js';
import { ID_RANGE } from '../core/siblings.js';

/**
 * Where a record's signed ID gap starts: after `prev`, but never below its own chain's range (a
 * device's chain has ids of its own, siblings.ts idRangeOf), so a device's first record, whose gap
 * reaches down from its range, drops nothing of the owner's chain.
 */
export function gapFloor(r: { id: number; prev: number }): number {
  return r.id >= ID_RANGE ? Math.max(r.prev, Math.floor(r.id / ID_RANGE) * ID_RANGE - 1) : r.prev;
}

// what library.ts counts a stream's posts with (a private stream's opened where its read key is here)
export { livePosts } from './private-streams.js';

export const LIBRARY_FILE = 'library.db';
export const STREAM_SUFFIX = '.stream';

/** Library schema migrations, one change each, never edited after release. Index = version - 1. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE streams (
     pk TEXT PRIMARY KEY,
     file TEXT NOT NULL UNIQUE,
     owned INTEGER NOT NULL,
     name TEXT NOT NULL DEFAULT '',
     added INTEGER NOT NULL,
     settings TEXT NOT NULL DEFAULT '{}');
   CREATE TABLE settings (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE peers (
     url TEXT PRIMARY KEY,
     last_seen INTEGER NOT NULL DEFAULT 0,
     last_ok INTEGER NOT NULL DEFAULT 0,
     failures INTEGER NOT NULL DEFAULT 0,
     next_try INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
   CREATE TABLE cursors (
     peer TEXT NOT NULL, node_id TEXT NOT NULL, stream_pk TEXT NOT NULL,
     seq INTEGER NOT NULL, updated INTEGER NOT NULL,
     PRIMARY KEY (peer, stream_pk)) WITHOUT ROWID;
   CREATE INDEX cursors_stream ON cursors (stream_pk);
   CREATE TABLE index_state (stream_pk TEXT PRIMARY KEY, node_id TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
   -- rid is explicit so VACUUM cannot renumber the rows the search index points at.
   CREATE TABLE timeline (
     rid INTEGER PRIMARY KEY,
     stream_pk TEXT NOT NULL, id INTEGER NOT NULL, key TEXT NOT NULL,
     ts INTEGER NOT NULL, mod INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
     UNIQUE (stream_pk, id));
   CREATE INDEX timeline_ts ON timeline (ts, stream_pk, id);
   CREATE INDEX timeline_stream_ts ON timeline (stream_pk, ts, id);
   -- Contentless: it indexes the whole body while the timeline keeps only an excerpt.
   CREATE VIRTUAL TABLE timeline_fts USING fts5 (title, body, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
   CREATE TRIGGER timeline_fts_delete AFTER DELETE ON timeline BEGIN
     DELETE FROM timeline_fts WHERE rowid = old.rid;
   END;`,
  // 2: the search index gets prefix indexes (1–3 characters), so search as you type does not
  // merge the lists of every word that starts with "g" (seconds in a library of a million posts).
  // FTS5 cannot add them to a table, so it is made again: whole bodies are indexed from the
  // timeline itself; rows holding only the start of a long post (cut: ending with U+FFFF, or
  // 499+ characters as before cuts were marked) are dropped with their stream's index state, so
  // the next indexing reads those posts whole from the stream file again. Nothing is lost.
  `DROP TRIGGER timeline_fts_delete;
   DROP TABLE timeline_fts;
   DELETE FROM index_state WHERE stream_pk IN (SELECT DISTINCT stream_pk FROM timeline WHERE substr(body, -1) = char(65535) OR length(body) >= 499);
   DELETE FROM timeline WHERE substr(body, -1) = char(65535) OR length(body) >= 499;
   CREATE VIRTUAL TABLE timeline_fts USING fts5 (title, body, content='', contentless_delete=1, prefix='1 2 3', tokenize='unicode61 remove_diacritics 2');
   INSERT INTO timeline_fts (rowid, title, body) SELECT rid, title, body FROM timeline;
   CREATE TRIGGER timeline_fts_delete AFTER DELETE ON timeline BEGIN
     DELETE FROM timeline_fts WHERE rowid = old.rid;
   END;`,
  // 3: each stream's number of posts, kept by triggers: the stream list (asked for before Home
  // paints) read a count of every stream's rows, which is the whole timeline in a big library.
  // The upsert on timeline fires the insert trigger only when it inserts.
  `CREATE TABLE stream_posts (stream_pk TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO stream_posts (stream_pk, n) SELECT stream_pk, count(*) FROM timeline GROUP BY stream_pk;
   CREATE TRIGGER timeline_count_insert AFTER INSERT ON timeline BEGIN
     INSERT INTO stream_posts (stream_pk, n) VALUES (new.stream_pk, 1) ON CONFLICT (stream_pk) DO UPDATE SET n = n + 1;
   END;
   CREATE TRIGGER timeline_count_delete AFTER DELETE ON timeline BEGIN
     UPDATE stream_posts SET n = n - 1 WHERE stream_pk = old.stream_pk;
   END;`,
  // 4: each stream's about and avatar beside its name, so one not opened yet (just after start) shows them.
  `ALTER TABLE streams ADD COLUMN about TEXT NOT NULL DEFAULT '';
   ALTER TABLE streams ADD COLUMN avatar TEXT NOT NULL DEFAULT '';`,
  // 5: conversations (issue 21, library-talk.ts): what each reply answers and its thread's root, and
  // every stream's reactions. A reply's row leaves with its timeline row. Every stream is read again
  // once (its index state dropped), so replies and reactions already held are found.
  `CREATE TABLE replies (
     stream_pk TEXT NOT NULL, id INTEGER NOT NULL,
     to_pk TEXT NOT NULL, to_key TEXT NOT NULL, to_hash TEXT NOT NULL, root_pk TEXT NOT NULL, root_key TEXT NOT NULL,
     PRIMARY KEY (stream_pk, id)) WITHOUT ROWID;
   CREATE INDEX replies_root ON replies (root_pk, root_key);
   CREATE INDEX replies_to ON replies (to_pk, to_key);
   CREATE TRIGGER timeline_replies_delete AFTER DELETE ON timeline BEGIN
     DELETE FROM replies WHERE stream_pk = old.stream_pk AND id = old.id;
   END;
   CREATE TABLE reactions (
     stream_pk TEXT NOT NULL, id INTEGER NOT NULL, to_pk TEXT NOT NULL, to_key TEXT NOT NULL, emoji TEXT NOT NULL, ts INTEGER NOT NULL,
     PRIMARY KEY (stream_pk, id)) WITHOUT ROWID;
   CREATE INDEX reactions_to ON reactions (to_pk, to_key);
   DELETE FROM index_state;`,
  // 6: when each post's content last changed (library-talk.ts): a record's mod also moves when a
  // delete beside it re-signs it (a reaction taken back re-issues the ID tip, DESIGN §3), which is
  // no edit. Kept by the record hash per (stream, key), so it outlives the row's id.
  `CREATE TABLE post_versions (
     stream_pk TEXT NOT NULL, key TEXT NOT NULL, hash BLOB NOT NULL, edited INTEGER NOT NULL,
     PRIMARY KEY (stream_pk, key)) WITHOUT ROWID;`,
  // 7: mentions and re-shares (issue 21, library-talk.ts): the streams a post mentions and the post it
  // re-shares, for "Mentions & replies" and notifications. They leave with their timeline row; every
  // stream is read again once, so those already held are found.
  `CREATE TABLE talk_links (
     stream_pk TEXT NOT NULL, id INTEGER NOT NULL, kind TEXT NOT NULL, to_pk TEXT NOT NULL, to_key TEXT NOT NULL DEFAULT '',
     PRIMARY KEY (stream_pk, id, kind, to_pk)) WITHOUT ROWID;
   CREATE INDEX talk_links_to ON talk_links (to_pk, kind);
   CREATE TRIGGER timeline_talk_links_delete AFTER DELETE ON timeline BEGIN
     DELETE FROM talk_links WHERE stream_pk = old.stream_pk AND id = old.id;
   END;
   DELETE FROM index_state;`,
  // 8: each post's time beside its row number (issue 17): search reads the times of its newest
  // 1,000 matches from this small index (~200 entries a page, so the newest matches of a word
  // share a few pages) instead of from the rows with their titles and excerpts (~10 a page).
  `CREATE INDEX timeline_rid_ts ON timeline (rid, ts);`,
  // 9: mentions in posts of the original's shape (publicSocialPost) are indexed too (library-talk.ts):
  // every stream is read again once, so those already held are found (the timeline keeps no type).
  `DELETE FROM index_state;`,
];

export interface StreamSettings {
  /** served to the LAN and to mirrors */
  serve?: boolean;
  /** announced by multicast discovery */
  announce?: boolean;
  /** announced only sealed (presence-private.ts); unset: private once another computer is heard announcing it privately */
  announcePrivately?: boolean;
  [k: string]: unknown;
}

export interface StreamEntry {
  /** base64 of the 32-byte public key */
  publicKey: string;
  /** the stream file, relative to the data directory (absolute when it lives elsewhere) */
  file: string;
  /** the secret key is present: the stream is writable here */
  owned: boolean;
  /** display name, from the stream's drayer/info record once it is known */
  name: string;
  /** when it was added to the library, ms since the epoch */
  added: number;
  /** from drayer/info, as name (empty until the stream was indexed once) */
  about?: string;
  /** from drayer/info: the path of its avatar image among its files, unchecked ('' for none) */
  avatar?: string;
  settings: StreamSettings;
}

/** A post in the timeline (µs times; `body` is the first EXCERPT_CHARS characters): the API's own shape. */
export type TimelineEntry = TimelineItem;

export interface PeerEntry {
  url: string;
  /** ms since the epoch; 0 = never */
  lastSeen: number;
  lastOk: number;
  /** consecutive failures */
  failures: number;
  /** do not try before this time (ms) */
  nextTry: number;
}

export interface RebuildReport {
  streams: number;
  posts: number;
  /** stream files that could not be read, with the reason; their entries were kept if they had one */
  skipped: { file: string; reason: string }[];
}

export type StreamRow = { pk: string; file: string; owned: number; name: string; added: number; settings: string; about?: string; avatar?: string };
export type TimelineRow = { stream_pk: string; stream_name: string; key: string; id: number; ts: number; mod: number; title: string; body: string };
export type FeedRow = { id: number; prev: number; type: string; key: string; ts: number; mod: number; hash?: Uint8Array; val: Buffer | null };

export function clampLimit(n: number | undefined, dflt: number, max: number): number {
  if (n === undefined || !Number.isFinite(n)) return dflt;
  return Math.max(0, Math.min(Math.floor(n), max));
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function parseSettings(text: string): StreamSettings {
  const v = parseJson(text);
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as StreamSettings) : {};
}

/** An entry kept and shared by every caller (Library.getStream): none may change it. */
export function frozenEntry(r: StreamRow): StreamEntry {
  const e = toEntry(r);
  Object.freeze(e.settings);
  return Object.freeze(e);
}

export function toEntry(r: StreamRow): StreamEntry {
  return {
    publicKey: r.pk,
    file: r.file,
    owned: r.owned === 1,
    name: r.name,
    added: r.added,
    settings: parseSettings(r.settings),
    about: r.about ?? '',
    avatar: r.avatar ?? '',
  };
}

export function toTimeline(r: TimelineRow): TimelineEntry {
  const { body, cut } = splitExcerpt(r.body);
  return { streamKey: r.stream_pk, streamName: r.stream_name, key: r.key, id: r.id, ts: r.ts, mod: r.mod, title: r.title, body, ...(cut ? { cut } : {}) };
}

export function checkPublicKey(pk: string): void {
  const raw = typeof pk === 'string' ? Buffer.from(pk, 'base64') : Buffer.alloc(0);
  if (raw.length !== 32 || raw.toString('base64') !== pk) {
    throw new DrayerError('INVALID_ARGUMENT', `"${String(pk).slice(0, 60)}" is not a stream public key (base64 of 32 bytes).`);
  }
}

export function sqliteError(e: unknown, file: string): DrayerError {
  if (isDrayerError(e)) return e;
  const code = (e as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new DrayerError(
      'CORRUPT',
      `The library database ${file} is damaged. Quit Drayer, move that file away and start again: the library is rebuilt from the stream files (settings return to their defaults).`,
      { cause: e },
    );
  }
  if (code === 'SQLITE_FULL')
    return new DrayerError('IO', `The disk is full while writing ${file}; nothing was changed. Free some space and try again.`, { cause: e });
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN')
    return new DrayerError('IO', `Cannot write ${file} (${(e as Error).message}); check that the data directory is writable.`, { cause: e });
  return new DrayerError('IO', `${file}: ${(e as Error).message}`, { cause: e });
}

/** A parsed JSON value, frozen all the way down (a cached setting is shared by every caller). */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Each stream's change-feed read, prepared once (it ran for every change indexed). */
const feeds = new WeakMap<Stream, Database.Statement>();
/** The feed's rows from `since` to `last`, with values of `types` (and reactions) up to `maxVal` bytes; a private stream's opened where its read key is here (private-streams.ts). */
export function feedStatement(stream: Stream): {
  iterate(types: readonly [string, string], maxVal: number, since: number, last: number): IterableIterator<FeedRow>;
} {
  let st = feeds.get(stream);
  if (!st)
    feeds.set(
      stream,
      (st = stream.db.prepare(
        `SELECT id, prev, type, key, ts, mod, hash, CASE WHEN type IN (?, ?, '${REACTION_TYPE}') AND length(val) <= ? THEN val END AS val FROM records WHERE seq > ? AND seq <= ? ORDER BY seq`,
      )),
    );
  const feed = st;
  return {
    *iterate(types, maxVal, since, last) {
      const v = readerOf(stream);
      if (!v) return yield* feed.iterate(types[0], types[1], maxVal, since, last) as IterableIterator<FeedRow>;
      for (const r of feed.iterate(SEALED_TYPE, SEALED_TYPE, maxVal + SEALED_ROW_EXTRA, since, last) as IterableIterator<FeedRow>) yield openFeedRow(v, r);
    },
  };
}

/** Records whose values a metadata-only copy just fetched, as the timeline indexes them: the posts among them, sealed ones opened where the read key is here. */
export function filledPostRows(stream: Stream, records: DrayerRecord[]): FeedRow[] {
  const v = readerOf(stream);
  return records
    .filter((r) => r.val)
    .map((r): FeedRow => {
      const { id, prev, type, key, ts, mod, hash } = r;
      const row = { id, prev, type, key, ts, mod, hash, val: Buffer.from(r.val!.buffer, r.val!.byteOffset, r.val!.byteLength) };
      return v ? openFeedRow(v, row) : row;
    })
    .filter((r) => isPostType(r.type) && r.val);
}

/**
 * The node's settings in library.db, each parsed once and kept (frozen: callers copy to change
 * one). Only this process writes library.db; settings were read and parsed for every stream the
 * node listed and every record it announced.
 */
export class LibrarySettings {
  private readonly cache = new Map<string, unknown>();
  private readonly st;

  constructor(db: Database.Database) {
    this.st = {
      get: db.prepare(`SELECT v FROM settings WHERE k = ?`).pluck(),
      set: db.prepare(`INSERT OR REPLACE INTO settings (k, v) VALUES (?, ?)`),
      delete: db.prepare(`DELETE FROM settings WHERE k = ?`),
    };
  }

  get<T>(key: string, fallback: T): T {
    let v = this.cache.get(key);
    if (!this.cache.has(key)) {
      const text = this.st.get.get(key) as string | undefined;
      v = text === undefined ? undefined : deepFreeze(parseJson(text));
      this.cache.set(key, v);
    }
    return v === undefined ? fallback : (v as T);
  }

  set(key: string, value: unknown): void {
    this.cache.delete(key);
    if (value === undefined) {
      this.st.delete.run(key);
      return;
    }
    const text = JSON.stringify(value);
    if (text === undefined) throw new DrayerError('INVALID_ARGUMENT', `The setting ${key} must be a JSON value (not a function or symbol).`);
    this.st.set.run(key, text);
  }
}
