// Conversations from the node (issue 21): writing a reply and a reaction, reading a thread, and
// what the UI shows around a post (what it answers, its replies, its reactions). The records are
// app/store/talk.ts's; the index is the library's (library-talk.ts).
import type { PostView, ReactionCount, Thread, TimelineItem } from './api.js';
import { DrayerError } from '../core/errors.js';
import { formatKey, parseKey, streamName } from '../core/keys.js';
import { newPostKey, POST_TYPE, postView } from '../store/posts.js';
import { isPrivate } from '../store/private-view.js';
import type { Stream } from '../store/store.js';
import { decodeLinks, encodeLinkedPost, type PostRef, REACTION_TYPE, reactionKey, REACTIONS, replyTo, setReaction } from '../store/talk.js';
import { afterChange } from './changes.js';
import { heldOnly } from './hold.js';
import { toTimeline } from './library-schema.js';
import { EDIT_SLACK, WHO_MAX } from './library-talk.js';
import { readerOf, requireReadKey } from './private-streams.js';
import { sealedWrite } from './private-writes.js';
import { withTalkLinks } from './talk-links.js';
import { named } from './reading.js';
import { postableOf, streamOf, type NodeState } from './state.js';

/** The post answered or reacted to, as this computer holds it (a private stream's opened). */
function heldPost(n: NodeState, to: { streamKey: string; key: string }, what: string) {
  const ps = streamOf(n, to.streamKey);
  const r = (readerOf(ps) ?? ps).get(POST_TYPE, String(to.key));
  if (!r) throw new DrayerError('NOT_FOUND', `The post you ${what} is not on this computer (it was deleted, or has not arrived yet); nothing was written.`);
  return { stream: ps, record: r, pk: formatKey(ps.publicKey) };
}

/** A post that answers another (`post` with replyTo). */
export async function postReply(n: NodeState, publicKey: string, title: string, body: string, to: { streamKey: string; key: string }): Promise<PostView> {
  const s = postableOf(n, publicKey);
  requireReadKey(s);
  const parent = heldPost(n, to, 'answer');
  const reader = readerOf(s);
  // A reply in the clear names the post it answers: a private stream's post is answered only from a private stream.
  if (!reader && isPrivate(parent.stream))
    throw new DrayerError('INVALID_ARGUMENT', 'That post is in a private stream: answer it from a private stream, so the reply stays among its readers.');
  const value = encodeLinkedPost({ title, body }, { reply: replyTo(parent.pk, parent.record) });
  if (reader) return sealedWrite(n, s, () => postView(reader.put(POST_TYPE, newPostKey(), value)));
  const r = await s.putDurable(POST_TYPE, newPostKey(), value);
  if (s.db.open) afterChange(n, s, { stored: [r], removed: [] }, true);
  return postView(r);
}

/** React to a post as one of your streams (replacing its reaction), or take the reaction back. */
export function react(n: NodeState, a: { publicKey: string; streamKey: string; key: string; emoji: string | null }): ReactionCount[] {
  const s = postableOf(n, a.publicKey);
  requireReadKey(s);
  const to: PostRef = { stream: formatKey(parseKey(a.streamKey)), post: String(a.key) };
  const store = readerOf(s) ?? s;
  const old = store.get(REACTION_TYPE, reactionKey(to));
  if (a.emoji !== null) {
    const parent = heldPost(n, { streamKey: to.stream, key: to.post }, 'react to');
    if (!readerOf(s) && isPrivate(parent.stream))
      throw new DrayerError('INVALID_ARGUMENT', 'That post is in a private stream: a reaction in the clear would name it. React from a private stream.');
  }
  if (a.emoji !== null || old) {
    const write = () => setReaction(store, to, a.emoji);
    if (readerOf(s)) sealedWrite(n, s, write, a.emoji === null && old ? [old.id] : []);
    else {
      const before = s.lastSeq();
      write();
      afterChange(n, s, { stored: s.changesSince(before).records, removed: a.emoji === null && old ? [old.id] : [] }, true);
    }
  }
  return around(n, [{ streamKey: to.stream, key: to.post, id: -1 }])[0]!.reactions ?? [];
}

/** Posts with what answers them, what they answer and their reactions. */
export function around<T extends { streamKey: string; key: string; id: number }>(
  n: NodeState,
  posts: T[],
): (T & Pick<TimelineItem, 'replyTo' | 'replies' | 'reactions' | 'edited' | 'reshare' | 'mentions'>)[] {
  const { links, counts, reactions, versions } = n.library.talk.around(posts);
  const at = (pk: string, x: string | number) => `${pk}\n${x}`;
  const editedAt = new Map(versions.map((v) => [at(v.stream_pk, v.key), v.edited]));
  // a post indexed before the library kept versions (migration 6): its mod is all there is
  const editedOf = (p: T & { ts?: number; mod?: number }) =>
    editedAt.get(at(p.streamKey, p.key)) ?? (p.mod !== undefined && p.ts !== undefined && p.mod > p.ts + EDIT_SLACK ? p.mod : 0);
  const link = new Map(links.map((l) => [at(l.stream_pk, l.id), l]));
  // each post answered read once (a thread of 1,000 replies to its root read it 1,000 times: 300 ms)
  const edits = new Map<string, boolean>();
  const changedOnce = (l: (typeof links)[number]) => {
    const k = `${at(l.to_pk, l.to_key)}\n${l.to_hash}`;
    if (!edits.has(k)) edits.set(k, changed(n, l));
    return edits.get(k)!;
  };
  const count = new Map(counts.map((c) => [at(c.to_pk, c.to_key), c.n]));
  const reacts = new Map<string, Map<string, ReactionCount>>();
  for (const x of reactions) {
    const k = at(x.to_pk, x.to_key);
    const per = reacts.get(k) ?? new Map<string, ReactionCount>();
    reacts.set(k, per);
    const c = per.get(x.emoji) ?? { emoji: x.emoji, count: 0, by: [] };
    per.set(x.emoji, c);
    c.count++;
    if (c.by.length < WHO_MAX) c.by.push({ streamKey: x.stream_pk, name: streamName(x.name, parseKey(x.stream_pk)) });
  }
  return withTalkLinks(n, posts).map((p) => {
    const l = link.get(at(p.streamKey, p.id));
    const per = reacts.get(at(p.streamKey, p.key));
    const replies = count.get(at(p.streamKey, p.key));
    const edited = editedOf(p);
    return {
      ...p,
      ...(edited ? { edited } : {}),
      ...(l
        ? { replyTo: { streamKey: l.to_pk, key: l.to_key, streamName: streamName(l.to_name, parseKey(l.to_pk)), ...(changedOnce(l) ? { changed: true } : {}) } }
        : {}),
      ...(replies ? { replies } : {}),
      ...(per ? { reactions: REACTIONS.flatMap((e) => (per.has(e) ? [per.get(e)!] : [])) } : {}),
    };
  });
}

/** The post answered is held here and was edited after the reply (its value's hash is another). */
function changed(n: NodeState, l: { to_pk: string; to_key: string; to_hash: string }): boolean {
  const s: Stream | undefined = n.streams.peek(l.to_pk);
  if (!s) return false;
  const r = (readerOf(s) ?? s).get(POST_TYPE, l.to_key);
  return !!r && Buffer.from(r.hash).toString('hex') !== l.to_hash;
}

/** The root of a post's thread: the post's own `root` when this computer holds it as a reply, else the post itself. */
export function rootOf(n: NodeState, pk: string, key: string): PostRef {
  const s = n.streams.get(pk);
  const own = s ? (readerOf(s) ?? s).get(POST_TYPE, key) : undefined;
  return (own && decodeLinks(own.val).reply?.root) || { stream: pk, post: key };
}

/**
 * The thread of a post: its root (the post's own `root`, or itself) and every reply held, by time,
 * nested one level as Mastodon does: replies to the root, each followed by everything under it.
 */
export function thread(n: NodeState, streamKey: string, key: string): Thread {
  const rootRef = rootOf(n, formatKey(parseKey(streamKey)), String(key));
  const { root, replies } = n.library.talk.thread(rootRef.stream, rootRef.post);
  const rows = [...replies].reverse(); // oldest first
  const at = (p: string, k: string) => `${p}\n${k}`;
  const parentOf = new Map(rows.map((r) => [at(r.stream_pk, r.key), at(r.to_pk, r.to_key)]));
  const rootAt = at(rootRef.stream, rootRef.post);
  // the top-level reply each reply sits under (a reply whose parent is not held is top-level itself)
  const topOf = (k: string): string => {
    for (let i = 0, cur = k; i < 64; i++) {
      const up = parentOf.get(cur);
      if (up === undefined || up === rootAt || !parentOf.has(up)) return cur;
      cur = up;
    }
    return k;
  };
  const under = new Map<string, typeof rows>();
  const tops: typeof rows = [];
  for (const r of rows) {
    const k = at(r.stream_pk, r.key);
    const top = topOf(k);
    if (top === k) tops.push(r);
    else {
      const list = under.get(top) ?? [];
      list.push(r);
      under.set(top, list);
    }
  }
  const ordered = tops.flatMap((t) => [{ r: t, depth: 0 as const }, ...(under.get(at(t.stream_pk, t.key)) ?? []).map((r) => ({ r, depth: 1 as const }))]);
  const items = around(n, named(ordered.map((o) => toTimeline(o.r))));
  const only = heldOnly(n);
  return {
    root: root ? around(n, named([toTimeline(root)]))[0]! : null,
    rootRef: { streamKey: rootRef.stream, key: rootRef.post },
    replies: items.map((t, i) => ({ ...t, depth: ordered[i]!.depth, ...(only.has(t.streamKey) ? { unfollowed: true } : {}) })),
  };
}
