// The library's index of conversations (issue 21): which posts answer which (thread lookup by
// root), and each stream's reactions (by the post reacted to). Rebuilt from the stream files like
// the timeline: library.ts hands it every feed row it indexes and every id it drops. A reply's
// row goes with its timeline row (a trigger, migration 5); reactions are dropped here by id, by
// ID gap and, as a safety net, by a count of the stream's live reactions.
import type Database from 'better-sqlite3';
import type { Stream } from '../store/store.js';
import { decodePostOf, isPostType, ORIGINAL_POST_TYPE, POST_TYPE } from '../store/posts.js';
import { decodeLinks, decodeReaction, REACTION_TYPE, RESHARE_HOPS } from '../store/talk.js';
import { mentionedKeys } from '../core/mentions.js';
import { readerOf } from './private-streams.js';
import { gapFloor, type FeedRow, type TimelineRow } from './library-schema.js';

/** Replies a thread lists at most (its newest are kept past this; a thread of thousands stays one query). */
export const THREAD_MAX = 5000;
/** µs a post's mod may pass its ts and still be the post as first written (ts and mod are taken apart). */
export const EDIT_SLACK = 1_000_000;
/** Names listed per emoji of a post (the count counts all). */
const WHO_MAX = 20;

export type ThreadRow = TimelineRow & { to_pk: string; to_key: string; to_hash: string };
export interface ReplyLink {
  stream_pk: string;
  id: number;
  to_pk: string;
  to_key: string;
  to_hash: string;
  to_name: string | null;
}
export interface TalkLinkRow {
  stream_pk: string;
  id: number;
  kind: 'mention' | 'reshare';
  to_pk: string;
  to_key: string;
}
/** A re-share as shown: the post it ends at (`row` when held here) and, for a re-share with a comment, what that one re-shares. */
export interface SharedPost {
  to_pk: string;
  to_key: string;
  row?: TimelineRow;
  inner?: { to_pk: string; to_key: string };
}
type ReshareStep = { row?: TimelineRow; next?: { to_pk: string; to_key: string } };
export { RESHARE_HOPS };
export type NoteRow = TimelineRow & { why: 'reply' | 'mention' | 'reshare' };
const MENTION = new TextEncoder().encode('drayer:');
/** What SQLite's trim takes off a blank comment (space, tab, LF, CR), as String.trim() does for the ones written. */
const BLANK = `char(32, 9, 10, 13)`;
/** A stream (`o`) that is yours here: owned, or in the notes query's @mine (written here as a device). */
const YOURS = `(o.owned = 1 OR o.pk IN (SELECT value FROM json_each(@mine)))`;

export interface ReactionRow {
  to_pk: string;
  to_key: string;
  emoji: string;
  stream_pk: string;
  name: string | null;
}

export class TalkIndex {
  private readonly st;

  constructor(db: Database.Database) {
    this.st = {
      linkPut: db.prepare(`INSERT OR REPLACE INTO replies (stream_pk, id, to_pk, to_key, to_hash, root_pk, root_key) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      linkDrop: db.prepare(`DELETE FROM replies WHERE stream_pk = ? AND id = ?`),
      reactPut: db.prepare(`INSERT OR REPLACE INTO reactions (stream_pk, id, to_pk, to_key, emoji, ts) VALUES (?, ?, ?, ?, ?, ?)`),
      // a key is unique among a stream's live records: another id for the same post is an older version
      reactSameKey: db.prepare(`DELETE FROM reactions WHERE stream_pk = ? AND to_pk = ? AND to_key = ? AND id != ?`),
      reactDrop: db.prepare(`DELETE FROM reactions WHERE stream_pk = ? AND id = ?`),
      reactDropGap: db.prepare(`DELETE FROM reactions WHERE stream_pk = ? AND id > ? AND id < ?`),
      reactDropStream: db.prepare(`DELETE FROM reactions WHERE stream_pk = ?`),
      versionGet: db.prepare(`SELECT hash, edited FROM post_versions WHERE stream_pk = ? AND key = ?`),
      versionPut: db.prepare(`INSERT OR REPLACE INTO post_versions (stream_pk, key, hash, edited) VALUES (?, ?, ?, ?)`),
      versionsDropStream: db.prepare(`DELETE FROM post_versions WHERE stream_pk = ?`),
      versions: db.prepare(
        `SELECT stream_pk, key, edited FROM post_versions
         WHERE (stream_pk, key) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
      ),
      reactCount: db.prepare(`SELECT count(*) FROM reactions WHERE stream_pk = ?`).pluck(),
      reactKeepOnly: db.prepare(`DELETE FROM reactions WHERE stream_pk = ? AND id NOT IN (SELECT value FROM json_each(?))`),
      thread: db.prepare(
        `SELECT t.stream_pk, coalesce(s.name, '') AS stream_name, t.key, t.id, t.ts, t.mod, t.title, t.body, r.to_pk, r.to_key, r.to_hash
         FROM replies r JOIN timeline t ON t.stream_pk = r.stream_pk AND t.id = r.id LEFT JOIN streams s ON s.pk = t.stream_pk
         WHERE r.root_pk = ? AND r.root_key = ? ORDER BY t.ts DESC, t.stream_pk, t.id LIMIT ${THREAD_MAX}`,
      ),
      post: db.prepare(
        `SELECT t.stream_pk, coalesce(s.name, '') AS stream_name, t.key, t.id, t.ts, t.mod, t.title, t.body
         FROM timeline t LEFT JOIN streams s ON s.pk = t.stream_pk WHERE t.stream_pk = ? AND t.key = ?`,
      ),
      links: db.prepare(
        `SELECT r.stream_pk, r.id, r.to_pk, r.to_key, r.to_hash, s.name AS to_name FROM replies r LEFT JOIN streams s ON s.pk = r.to_pk
         WHERE (r.stream_pk, r.id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
      ),
      replyCounts: db.prepare(
        `SELECT to_pk, to_key, count(*) AS n FROM replies
         WHERE (to_pk, to_key) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)) GROUP BY to_pk, to_key`,
      ),
      talkDrop: db.prepare(`DELETE FROM talk_links WHERE stream_pk = ? AND id = ?`),
      talkPut: db.prepare(`INSERT OR IGNORE INTO talk_links (stream_pk, id, kind, to_pk, to_key) VALUES (?, ?, ?, ?, ?)`),
      reshareOf: db.prepare(`SELECT to_pk, to_key FROM talk_links WHERE stream_pk = ? AND id = ? AND kind = 'reshare'`),
      talkLinks: db.prepare(
        `SELECT stream_pk, id, kind, to_pk, to_key FROM talk_links
         WHERE (stream_pk, id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
      ),
      // what others wrote about your streams: replies to your posts, mentions, re-shares (a post that is several counts once);
      // yours: owned, or written here as a device (@mine, a JSON list of keys: one identity, DESIGN §9)
      // a re-share without a comment of a re-share of yours re-shares yours (what older versions wrote
      // for a boost of a boost, which the current one writes naming the original): followed back from
      // yours, at most RESHARE_HOPS (a cycle or a 1,000-deep chain of strangers' stops there)
      notes: db.prepare(
        `WITH RECURSIVE passed (stream_pk, id, n) AS (
           SELECT l.stream_pk, l.id, 0 FROM talk_links l JOIN streams o ON o.pk = l.to_pk AND ${YOURS} WHERE l.kind = 'reshare'
           UNION SELECT l.stream_pk, l.id, p.n + 1 FROM passed p
             JOIN timeline b ON b.stream_pk = p.stream_pk AND b.id = p.id AND b.title = '' AND trim(b.body, ${BLANK}) = ''
             JOIN talk_links l ON l.to_pk = b.stream_pk AND l.kind = 'reshare' AND l.to_key = b.key
           WHERE p.n < ${RESHARE_HOPS})
         SELECT t.stream_pk, coalesce(s.name, '') AS stream_name, t.key, t.id, t.ts, t.mod, t.title, t.body, max(w.why) AS why
         FROM (SELECT r.stream_pk, r.id, 'reply' AS why FROM replies r JOIN streams o ON o.pk = r.to_pk AND ${YOURS}
               UNION ALL SELECT l.stream_pk, l.id, l.kind FROM talk_links l JOIN streams o ON o.pk = l.to_pk AND ${YOURS} WHERE l.kind = 'mention'
               UNION ALL SELECT stream_pk, id, 'reshare' FROM passed) w
         JOIN timeline t ON t.stream_pk = w.stream_pk AND t.id = w.id LEFT JOIN streams s ON s.pk = t.stream_pk
         WHERE coalesce(s.owned, 0) = 0 AND t.stream_pk NOT IN (SELECT value FROM json_each(@mine)) AND t.ts < @before
         GROUP BY t.stream_pk, t.id ORDER BY t.ts DESC, t.stream_pk, t.id LIMIT @limit`,
      ),
      reactions: db.prepare(
        `SELECT x.to_pk, x.to_key, x.emoji, x.stream_pk, s.name FROM reactions x LEFT JOIN streams s ON s.pk = x.stream_pk
         WHERE (x.to_pk, x.to_key) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)) ORDER BY x.ts`,
      ),
    };
  }

  /** A feed row being indexed (its value read when it is a post or a reaction, library-schema.ts feedStatement). */
  row(pk: string, r: FeedRow): void {
    if (r.id - gapFloor(r) > 1) this.st.reactDropGap.run(pk, gapFloor(r), r.id); // the record's signed ID gap: nothing lives in it
    if (isPostType(r.type) && r.hash) this.version(pk, r, r.hash);
    if (r.type === POST_TYPE) {
      const links = decodeLinks(r.val);
      const reply = links.reply;
      if (reply) this.st.linkPut.run(pk, r.id, reply.stream, reply.post, reply.hash, reply.root.stream, reply.root.post);
      else this.st.linkDrop.run(pk, r.id);
      this.talkRow(pk, r, links.reshare);
    } else if (r.type === ORIGINAL_POST_TYPE) {
      this.talkRow(pk, r, undefined); // the original's post: its mentions count the same (it has no re-shares)
    } else if (r.type === REACTION_TYPE) {
      const x = decodeReaction(r.key, r.val);
      if (!x) {
        this.st.reactDrop.run(pk, r.id); // a malformed (or no longer readable) reaction counts nowhere
        return;
      }
      this.st.reactSameKey.run(pk, x.stream, x.post, r.id);
      this.st.reactPut.run(pk, r.id, x.stream, x.post, x.emoji, r.mod);
    }
  }

  /**
   * When the post's content last changed. Its mod is no witness: deleting the record after it (a
   * reaction taken back, a newer post deleted) re-issues it with a new id and mod but the same value
   * (writer.ts). Its hash is: another hash for the same key is an edit. A post first seen already
   * modified (a stream copied whole) is taken as edited when its mod is a second past its ts.
   */
  private version(pk: string, r: FeedRow, hash: Uint8Array): void {
    const old = this.st.versionGet.get(pk, r.key) as { hash: Buffer; edited: number } | undefined;
    if (old && Buffer.compare(old.hash, hash) === 0) return;
    this.st.versionPut.run(pk, r.key, hash, old || r.mod > r.ts + EDIT_SLACK ? r.mod : 0);
  }

  /** A post's mentions and re-share, of either shape (the body is parsed only when its value holds a drayer: link). */
  private talkRow(pk: string, r: FeedRow, reshare: { stream: string; post: string } | undefined): void {
    this.st.talkDrop.run(pk, r.id);
    if (reshare) this.st.talkPut.run(pk, r.id, 'reshare', reshare.stream, reshare.post);
    if (!r.val || Buffer.from(r.val.buffer, r.val.byteOffset, r.val.byteLength).indexOf(MENTION) < 0) return;
    let body: string;
    try {
      body = decodePostOf(r.type, r.key, r.val).body;
    } catch {
      return; // not a post's shape: no mentions
    }
    for (const to of mentionedKeys(body)) this.st.talkPut.run(pk, r.id, 'mention', to, '');
  }

  /** Replies to, mentions of and re-shares of what the owned streams (and `devices`, streams written here as a device) wrote, by the others, newest first. */
  notes(limit: number, before: number, devices: readonly string[] = []): NoteRow[] {
    return this.st.notes.all({ mine: JSON.stringify(devices), before, limit }) as NoteRow[];
  }

  /** The mentions and re-shares of these posts, and what each re-share shows (resolveReshare), by the post it names. */
  links(posts: { streamKey: string; id: number }[]): { links: TalkLinkRow[]; shared: Map<string, SharedPost> } {
    const shared = new Map<string, SharedPost>();
    if (posts.length === 0) return { links: [], shared };
    const links = this.st.talkLinks.all(JSON.stringify(posts.map((p) => [p.streamKey, p.id]))) as TalkLinkRow[];
    const steps = new Map<string, ReshareStep>(); // chains of a page overlap: each post read once
    for (const l of links) {
      const k = `${l.to_pk}\n${l.to_key}`;
      if (l.kind === 'reshare' && !shared.has(k)) shared.set(k, this.resolveReshare(l.to_pk, l.to_key, steps));
    }
    return { links, shared };
  }

  /**
   * What a re-share of (pk, key) shows. A re-share without a comment passes on what it shares, as a
   * boost of a boost boosts the original: followed while held, at most RESHARE_HOPS, stopping at a
   * cycle (a hostile chain costs a few lookups, never a loop). A re-share with a comment is a post of
   * its own: it is what is shown, and what it re-shares is named (`inner`), never embedded again.
   */
  resolveReshare(pk: string, key: string, steps = new Map<string, ReshareStep>()): SharedPost {
    let at = { to_pk: pk, to_key: key };
    let last: SharedPost | undefined; // the last post read, with what it re-shares
    const seen = new Set<string>();
    for (let hop = 0; hop <= RESHARE_HOPS && !seen.has(`${at.to_pk}\n${at.to_key}`); hop++) {
      const k = `${at.to_pk}\n${at.to_key}`;
      seen.add(k);
      let step = steps.get(k);
      if (!step) {
        const r = this.st.post.get(at.to_pk, at.to_key) as TimelineRow | undefined;
        step = { row: r, next: r && (this.st.reshareOf.get(at.to_pk, r.id) as ReshareStep['next']) };
        steps.set(k, step);
      }
      const { row, next } = step;
      if (!row) return at;
      if (!next) return { ...at, row };
      last = { ...at, row, inner: next };
      if (row.title !== '' || row.body.trim() !== '') return last;
      at = next;
    }
    return last!; // a cycle, or a chain longer than RESHARE_HOPS: the last post read, as it is
  }

  /** Records gone from the stream (a store removes them without a feed row). */
  drop(pk: string, ids: number[]): void {
    for (const id of ids) this.st.reactDrop.run(pk, id);
  }

  dropStream(pk: string): void {
    this.st.reactDropStream.run(pk);
    this.st.versionsDropStream.run(pk);
  }

  /** Reactions no longer live in the stream leave (as library.ts reconcile() does for posts). */
  reconcile(pk: string, s: Stream): number {
    const v = readerOf(s);
    const live = v ? v.ofType(REACTION_TYPE).map((r) => r.id) : (s.db.prepare(`SELECT id FROM records WHERE type = ?`).pluck().all(REACTION_TYPE) as number[]);
    if ((this.st.reactCount.get(pk) as number) <= live.length) return 0;
    return this.st.reactKeepOnly.run(pk, JSON.stringify(live)).changes;
  }

  /** The root's timeline row (null when not held) and the newest THREAD_MAX replies naming it as root. */
  thread(rootPk: string, rootKey: string): { root: TimelineRow | null; replies: ThreadRow[] } {
    return { root: (this.st.post.get(rootPk, rootKey) as TimelineRow | undefined) ?? null, replies: this.st.thread.all(rootPk, rootKey) as ThreadRow[] };
  }

  /** What the UI shows around posts: what each answers, how many answer it, its reactions. */
  around(posts: { streamKey: string; id: number; key: string }[]): {
    links: ReplyLink[];
    counts: { to_pk: string; to_key: string; n: number }[];
    reactions: ReactionRow[];
    versions: { stream_pk: string; key: string; edited: number }[];
  } {
    if (posts.length === 0) return { links: [], counts: [], reactions: [], versions: [] };
    const ids = JSON.stringify(posts.map((p) => [p.streamKey, p.id]));
    const keys = JSON.stringify(posts.map((p) => [p.streamKey, p.key]));
    return {
      links: this.st.links.all(ids) as ReplyLink[],
      counts: this.st.replyCounts.all(keys) as { to_pk: string; to_key: string; n: number }[],
      reactions: this.st.reactions.all(keys) as ReactionRow[],
      versions: this.st.versions.all(keys) as { stream_pk: string; key: string; edited: number }[],
    };
  }
}

export { WHO_MAX };
