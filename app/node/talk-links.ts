// Mentions and re-shares from the node (issue 21): writing a re-share, what a post card shows of
// them (the post shared, as held here; the streams mentioned), and "Mentions & replies": what
// other streams wrote about yours. The records are app/store/talk.ts's, indexed by library-talk.ts.
import { heldOnly } from './hold.js';
import type { PostView, TalkNote, TimelineItem } from './api.js';
import { DrayerError } from '../core/errors.js';
import { formatKey, parseKey, streamName } from '../core/keys.js';
import { newPostKey, POST_TYPE, postView } from '../store/posts.js';
import { isPrivate } from '../store/private-view.js';
import { encodeLinkedPost } from '../store/talk.js';
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
  const value = encodeLinkedPost({ title, body }, { reshare: { stream: formatKey(ps.publicKey), post: shared.key } });
  const reader = readerOf(s);
  if (reader) return sealedWrite(n, s, () => postView(reader.put(POST_TYPE, newPostKey(), value)));
  const r = await s.putDurable(POST_TYPE, newPostKey(), value);
  if (s.db.open) afterChange(n, s, { stored: [r], removed: [] }, true);
  return postView(r);
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
  const embedded = new Map([...shared].map(([k, row]) => [k, named([toTimeline(row)], n)[0]!]));
  return posts.map((p) => {
    const e = per.get(at(p.streamKey, p.id));
    if (!e) return p;
    const r = e.reshare;
    const post = r && embedded.get(at(r.to_pk, r.to_key));
    return {
      ...p,
      ...(e.mentions.length ? { mentions: e.mentions } : {}),
      ...(r
        ? {
            reshare: {
              streamKey: r.to_pk,
              key: r.to_key,
              streamName: post?.streamName || n.library.getStream(r.to_pk)?.name || streamName('', parseKey(r.to_pk)),
              ...(post ? { post } : {}),
            },
          }
        : {}),
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
  const rows = n.library.talk.notes(limit, before);
  const only = heldOnly(n);
  return named(rows.map(toTimeline), n).map((t, i) => ({ ...t, why: rows[i]!.why, ...(only.has(t.streamKey) ? { unfollowed: true as const } : {}) }));
}
