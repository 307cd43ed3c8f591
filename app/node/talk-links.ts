// Mentions and re-shares from the node (issue 21): writing a re-share, what a post card shows of
// them (the post shared, as held here; the streams mentioned), and "Mentions & replies": what
// other streams wrote about yours. The records are app/store/talk.ts's, indexed by library-talk.ts.
import { devicesHere } from './device-state.js';
import { heldOnly } from './hold.js';
import type { PostView, TalkNote, TimelineItem } from './api.js';
import { DrayerError } from '../core/errors.js';
import { formatKey, parseKey, streamName } from '../core/keys.js';
import { decodePost, newPostKey, POST_TYPE, postView } from '../store/posts.js';
import { isPrivate } from '../store/private-view.js';
import { decodeLinks, encodeLinkedPost, type PostRef } from '../store/talk.js';
import type { DrayerRecord } from '../core/record.js';
import { RESHARE_HOPS } from './library-talk.js';
import { afterChange } from './changes.js';
import { toTimeline } from './library-schema.js';
import { readerOf, requireReadKey } from './private-streams.js';
import { sealedWrite } from './private-writes.js';
import { named } from './reading.js';
import { postableOf, streamOf, type NodeState } from './state.js';

/** A post re-sharing another (held here, in the clear), with an optional comment. */
export async function postReshare(n: NodeState, publicKey: string, title: string, body: string, to: { streamKey: string; key: string }): Promise<PostView> {
  const s = postableOf(n, publicKey);
  requireReadKey(s);
  const ps = streamOf(n, to.streamKey);
  const shared = (readerOf(ps) ?? ps).get(POST_TYPE, String(to.key));
  if (!shared)
    throw new DrayerError('NOT_FOUND', 'The post you re-share is not on this computer (it was deleted, or has not arrived yet); nothing was written.');
  // a re-share names the post it shares: a private stream's post would be named to everyone
  if (isPrivate(ps))
    throw new DrayerError('INVALID_ARGUMENT', 'That post is in a private stream: re-sharing it would name it to everyone. Reply to it instead.');
  const value = encodeLinkedPost({ title, body }, { reshare: passedOn(n, { stream: formatKey(ps.publicKey), post: shared.key }, shared) });
  const reader = readerOf(s);
  if (reader) return sealedWrite(n, s, () => postView(reader.put(POST_TYPE, newPostKey(), value)));
  const r = await s.putDurable(POST_TYPE, newPostKey(), value);
  if (s.db.open) afterChange(n, s, { stored: [r], removed: [] }, true);
  return postView(r);
}

/**
 * What re-sharing `rec` (at `at`) names: a re-share without a comment passes on the post it shares
 * (a boost of a boost boosts the original, and its author is the one told), followed while held and
 * public, at most RESHARE_HOPS; a re-share with a comment is a post of its own and is named itself.
 */
function passedOn(n: NodeState, at: PostRef, rec: DrayerRecord): PostRef {
  for (let hop = 0; hop < RESHARE_HOPS; hop++) {
    const inner = decodeLinks(rec.val).reshare;
    const p = decodePost(rec.val);
    if (!inner || p.title !== '' || p.body.trim() !== '') return at;
    at = inner; // named in the clear by the re-share already
    const s = n.streams.get(inner.stream);
    const next = s && !isPrivate(s) ? s.get(POST_TYPE, inner.post) : undefined;
    if (!next) return at;
    rec = next;
  }
  return at;
}

/** Posts with the streams they mention and the post they re-share (embedded when held here). */
export function withTalkLinks<T extends { streamKey: string; id: number }>(n: NodeState, posts: T[]): (T & Pick<TimelineItem, 'reshare' | 'mentions'>)[] {
  const { links, shared } = n.library.talk.links(posts);
  if (links.length === 0) return posts;
  const at = (pk: string, x: string | number) => `${pk}\n${x}`;
  const per = new Map<string, { mentions: string[]; reshare?: { to_pk: string; to_key: string } }>();
  for (const l of links) {
    const k = at(l.stream_pk, l.id);
    const e = per.get(k) ?? { mentions: [] };
    per.set(k, e);
    if (l.kind === 'reshare') e.reshare = l;
    else e.mentions.push(l.to_pk);
  }
  const nameOf = (pk: string) => n.library.getStream(pk)?.name || streamName('', parseKey(pk));
  const shown = new Map<string, NonNullable<TimelineItem['reshare']>>();
  for (const [k, sp] of shared) {
    const post = sp.row && named([toTimeline(sp.row)], n)[0]!;
    const inner = sp.inner && { streamKey: sp.inner.to_pk, key: sp.inner.to_key, streamName: nameOf(sp.inner.to_pk) };
    shown.set(k, {
      streamKey: sp.to_pk,
      key: sp.to_key,
      streamName: post?.streamName || nameOf(sp.to_pk),
      ...(post ? { post: inner ? { ...post, reshare: inner } : post } : {}),
    });
  }
  return posts.map((p) => {
    const e = per.get(at(p.streamKey, p.id));
    if (!e) return p;
    const r = e.reshare;
    return {
      ...p,
      ...(e.mentions.length ? { mentions: e.mentions } : {}),
      ...(r ? { reshare: shown.get(at(r.to_pk, r.to_key))! } : {}),
    };
  });
}

/**
 * "Mentions & replies": newest first, each with why it is there. A stream held without being
 * followed (hold.ts) is in it too, marked `unfollowed`: you chose to keep it, and what it says to
 * you is what you would want to find; it never notifies (notifications come from Home's new posts,
 * which leave held streams out), as the issue asks notifications from streams you follow.
 */
export function talkNotes(n: NodeState, limit = 50, before = Number.MAX_SAFE_INTEGER): TalkNote[] {
  const rows = n.library.talk.notes(limit, before, devicesHere(n));
  const only = heldOnly(n);
  return named(rows.map(toTimeline), n).map((t, i) => ({ ...t, why: rows[i]!.why, ...(only.has(t.streamKey) ? { unfollowed: true as const } : {}) }));
}
