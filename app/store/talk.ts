// Conversations across streams (issue 21): replies, reactions and re-shares are ordinary signed
// records of their author's stream that name another stream's post. The shapes (README, Records):
//  * a reply is a `post` whose JSON value also holds
//      "reply": {"stream": <base64 key>, "post": <post key>, "hash": <hex BLAKE2b-256 of the value answered>,
//                "root": {"stream": <base64 key>, "post": <post key>}}
//    (older versions and the original Drayer read {title, body} and ignore the rest);
//  * a re-share is a `post` whose value holds "reshare": {"stream", "post"}, its body the comment;
//  * a reaction is a record of type `reaction`, key `<stream>/<post>` of the post reacted to (so one per
//    reacting stream and post: reacting again replaces it, removing deletes it), value JSON
//    {"stream", "post", "emoji"}.
// Everything here reads values written by strangers: bounded, and anything malformed is ignored.
import { DrayerError } from '../core/errors.js';
import { REACTIONS } from '../core/shapes.js';
import type { DrayerRecord } from '../core/record.js';
import { encodePost, type Post, POST_TYPE, type PostStore } from './posts.js';

export const REACTION_TYPE = 'reaction';
export { REACTIONS };
/** A value larger than this is not read for links (a reaction is ~100 bytes; a post's links sit in its first bytes). */
/** Re-shares without a comment followed to the post they pass on, at most (DESIGN: bounded reads of strangers' chains). */
export const RESHARE_HOPS = 8;
export const MAX_TALK_VAL = 256 * 1024 + 1024;
const MAX_KEY = 4096;

/** A post of another (or the same) stream. */
export interface PostRef {
  stream: string;
  post: string;
}

export interface ReplyRef extends PostRef {
  /** hex of the record hash (BLAKE2b-256 of the value) answered: an edit of it after the reply shows as such */
  hash: string;
  root: PostRef;
}

/** What a post's value says beyond {title, body}. */
export interface PostLinks {
  reply?: ReplyRef;
  reshare?: PostRef;
}

const B64_KEY = /^[A-Za-z0-9+/]{43}=$/;
const HEX_HASH = /^[0-9a-f]{64}$/;

function ref(v: unknown): PostRef | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { stream, post } = v as Record<string, unknown>;
  if (typeof stream !== 'string' || !B64_KEY.test(stream)) return undefined;
  if (typeof post !== 'string' || post === '' || post.length > MAX_KEY) return undefined;
  return { stream, post };
}

function parse(val: Uint8Array | null): Record<string, unknown> | undefined {
  if (!val || val.length > MAX_TALK_VAL) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(val));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The links of a post's value; a malformed one is no link (the post still shows as a post). */
export function decodeLinks(val: Uint8Array | null): PostLinks {
  const v = parse(val);
  if (!v) return {};
  const out: PostLinks = {};
  const r = v.reply as Record<string, unknown> | undefined;
  const to = ref(r);
  if (to && typeof r?.hash === 'string' && HEX_HASH.test(r.hash)) {
    const root = ref(r.root) ?? to;
    out.reply = { ...to, hash: r.hash, root };
  }
  const rs = ref(v.reshare);
  if (rs) out.reshare = rs;
  return out;
}

/** A post value with its links (the same {title, body} every reader knows, plus the links). */
export function encodeLinkedPost(p: Post, links: PostLinks): Uint8Array {
  const base = encodePost(p); // checks title and body as every post
  if (!links.reply && !links.reshare) return base;
  const v: Record<string, unknown> = { title: p.title, body: p.body };
  if (links.reply) v.reply = links.reply;
  if (links.reshare) v.reshare = links.reshare;
  return new TextEncoder().encode(JSON.stringify(v));
}

/** The reply to `parent` (a record of stream `stream`), continuing the parent's thread or starting one at it. */
export function replyTo(stream: string, parent: DrayerRecord): ReplyRef {
  if (parent.type !== POST_TYPE) throw new DrayerError('INVALID_ARGUMENT', 'Only a post can be answered.');
  const up = decodeLinks(parent.val).reply;
  return { stream, post: parent.key, hash: Buffer.from(parent.hash).toString('hex'), root: up ? up.root : { stream, post: parent.key } };
}

export const reactionKey = (to: PostRef): string => `${to.stream}/${to.post}`;

export interface Reaction extends PostRef {
  emoji: string;
}

/** A reaction record's value; undefined when malformed, too big, not one of REACTIONS, or not matching its key. */
export function decodeReaction(key: string, val: Uint8Array | null): Reaction | undefined {
  const v = parse(val && val.length <= 1024 ? val : null);
  const to = ref(v);
  if (!to || reactionKey(to) !== key) return undefined;
  const emoji = v?.emoji;
  if (typeof emoji !== 'string' || !(REACTIONS as readonly string[]).includes(emoji)) return undefined;
  return { ...to, emoji };
}

/** React to a post (replacing this stream's reaction to it), or take the reaction back (emoji null). */
export function setReaction(s: PostStore & Pick<import('./store.js').Stream, 'delete'>, to: PostRef, emoji: string | null): DrayerRecord | null {
  const key = reactionKey(to);
  if (emoji === null) {
    s.delete(REACTION_TYPE, key);
    return null;
  }
  if (!(REACTIONS as readonly string[]).includes(emoji)) throw new DrayerError('INVALID_ARGUMENT', `A reaction is one of ${REACTIONS.join(' ')}.`);
  if (!ref(to)) throw new DrayerError('INVALID_ARGUMENT', 'A reaction names a post: its stream key (base64) and its post key.');
  return s.put(REACTION_TYPE, key, new TextEncoder().encode(JSON.stringify({ stream: to.stream, post: to.post, emoji })));
}
