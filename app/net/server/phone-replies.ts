// What a stream's phone page says of a reply (issue 21): "in reply to NAME", NAME being the
// answered stream's own name when this server holds it (else words of its key: a name from
// elsewhere is not the server's to vouch for), and a link to the answered post when this server
// shares it: its stream's page at the page that lists it, scrolled to it. A re-share says
// "re-shared from NAME" the same way, with the shared post's title and body where this server
// shares its stream (else only the key's words: the server vouches for nothing it does not hold).
import type { Statement } from 'better-sqlite3';
import type { DrayerRecord } from '../../core/record.js';
import { formatKey, keyName, parseKey, streamName } from '../../core/keys.js';
import { POST_TYPE, POST_TYPES, postView } from '../../store/posts.js';
import { decodeLinks, RESHARE_HOPS, type PostRef } from '../../store/talk.js';
import type { Stream } from '../../store/store.js';
import { isPrivateStream } from './private-page.js';

export interface InReplyTo {
  name: string;
  href?: string;
}

/** The id of a post's article on its stream's page (any key: base64url of its bytes). */
export const postAnchor = (key: string): string => `p-${Buffer.from(key).toString('base64url')}`;

const newer = new WeakMap<Stream, Statement>();
/** How many posts are listed before this one on its stream's page (newest first, as listTs2 orders). */
function rank(s: Stream, r: DrayerRecord): number {
  let st = newer.get(s);
  if (!st) newer.set(s, (st = s.db.prepare(`SELECT count(*) FROM records WHERE type IN (?, ?) AND (ts > ? OR (ts = ? AND id > ?))`).pluck()));
  return st.get(POST_TYPES[0], POST_TYPES[1], r.ts, r.ts, r.id) as number;
}

type Served = ((pk: Uint8Array) => Stream | undefined) | undefined;

interface Located extends InReplyTo {
  /** the post named, where this server shares its stream and holds it (its value may be absent on a metadata-only copy) */
  post?: DrayerRecord;
  /** its stream's files, for the post's pictures */
  filesBase?: string;
}

/** A post another post names (`to`), as `s`'s page shows it: the name of its stream and a link where this server shares it. */
function locate(s: Stream, to: PostRef, served: Served, perPage: number): Located {
  const pk = parseKey(to.stream);
  const own = to.stream === formatKey(s.publicKey);
  let target: Stream | undefined;
  try {
    target = own ? s : served?.(pk);
  } catch {
    target = undefined; // a stream the server cannot open now is one it does not share
  }
  if (!target || (!own && isPrivateStream(target))) return { name: keyName(pk) };
  const name = streamName(target.info().name, target.publicKey);
  const post = target.get(POST_TYPE, to.post);
  if (!post) return { name };
  const page = Math.floor(rank(target, post) / perPage) + 1;
  const base = own ? './' : `/${Buffer.from(target.publicKey).toString('base64url')}/`;
  const filesBase = `/${Buffer.from(target.publicKey).toString('base64url')}/webAccess/`;
  return { name, href: `${base}${page > 1 ? `?page=${page}` : ''}#${postAnchor(to.post)}`, post, filesBase };
}

/**
 * A post of `s` as its page shows what it answers (undefined: it answers nothing). `served`: the
 * streams this server shares; `perPage`: posts on a page.
 */
export function inReplyTo(s: Stream, r: DrayerRecord, served: Served, perPage: number): InReplyTo | undefined {
  const to = r.type === POST_TYPE ? decodeLinks(r.val).reply : undefined; // the original's posts answer nothing
  if (!to) return undefined;
  const { name, href } = locate(s, to, served, perPage);
  return href ? { name, href } : { name };
}

export interface Reshared extends InReplyTo {
  /** the shared post's title and body, where this server shares its stream and holds the post */
  title?: string;
  body?: string;
  filesBase?: string;
  /** what the shared post itself re-shares, when it is a re-share with a comment: named and linked, never shown again */
  inner?: InReplyTo;
}

const blank = (v: { title: string; body: string }) => v.title === '' && v.body.trim() === '';
const only = ({ name, href }: InReplyTo): InReplyTo => (href ? { name, href } : { name });

/**
 * What a re-share of `s` shares (undefined: it is no re-share): "re-shared from NAME" and the post,
 * as this server holds it, as the app's card shows it. A re-share without a comment passes on what it
 * shares (older versions wrote a boost of a boost naming the boost): followed through the streams this
 * server shares, at most RESHARE_HOPS, stopping at a cycle. A re-share with a comment is shown itself,
 * with what it re-shares named as a link.
 */
export function reshareOf(s: Stream, r: DrayerRecord, served: Served, perPage: number): Reshared | undefined {
  let to = r.type === POST_TYPE ? decodeLinks(r.val).reshare : undefined;
  if (!to) return undefined;
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    seen.add(`${to.stream}\n${to.post}`);
    const { post, ...at } = locate(s, to, served, perPage);
    if (!post?.val) return only(at);
    const v = postView(post);
    const next = decodeLinks(post.val).reshare;
    if (next && blank(v) && hop < RESHARE_HOPS && !seen.has(`${next.stream}\n${next.post}`)) {
      to = next;
      continue;
    }
    if (blank(v)) return only(at); // a cycle or a chain past RESHARE_HOPS: where it stopped, nothing of it (it says nothing)
    return { ...at, title: v.title, body: v.body, ...(next ? { inner: only(locate(s, next, served, perPage)) } : {}) };
  }
}
