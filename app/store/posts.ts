// Social posts: type `post`, value UTF-8 JSON {title, body}. JSON (not msgpack) so a stream's
// web page and the original Drayer's JSON endpoints can show posts without a decoder. The original
// Drayer's apps write `publicSocialPost` (key = title, value = the text): shown as posts too, and
// written in that shape by a stream set "compatible with the original Drayer" (see README, Posts).
import { randomBytes } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import type { DrayerRecord } from '../core/record.js';
import type { Stream } from './store.js';

export const POST_TYPE = 'post';
/** The original Drayer's post: key = title (its Kivy app: `<unix time>:<title>`), value = raw UTF-8 text. */
export const ORIGINAL_POST_TYPE = 'publicSocialPost';
/** Both shapes, as Stream.list and count take them. */
export const POST_TYPES = [POST_TYPE, ORIGINAL_POST_TYPE] as const;
/** The stream file's attribute that says its posts are written in the original's shape. */
export const COMPATIBLE_META = 'originalCompatible';

export function isPostType(type: string): boolean {
  return type === POST_TYPE || type === ORIGINAL_POST_TYPE;
}

/** What posts need of a stream: a Stream, or a private stream's StreamView (private-view.ts), which seals and opens. */
export type PostStore = Pick<Stream, 'put' | 'get' | 'list' | 'delete'>;

export interface Post {
  title: string;
  body: string;
}

export interface PostView extends Post {
  key: string;
  id: number;
  /** µs */
  ts: number;
  /** µs */
  mod: number;
}

export const LIMITS = { titleChars: 500, bodyBytes: 256 * 1024 } as const;

export function encodePost(p: Post): Uint8Array {
  if (typeof p.title !== 'string' || typeof p.body !== 'string') throw new DrayerError('INVALID_ARGUMENT', 'A post needs a title and a body (text).');
  if (p.title.length > LIMITS.titleChars) throw new DrayerError('INVALID_ARGUMENT', `A post title may be at most ${LIMITS.titleChars} characters.`);
  const bytes = new TextEncoder().encode(JSON.stringify({ title: p.title, body: p.body }));
  if (bytes.length > LIMITS.bodyBytes)
    throw new DrayerError('INVALID_ARGUMENT', `A post may be at most ${LIMITS.bodyBytes / 1024} KiB; add large content as a file.`);
  return bytes;
}

/** Decode a post value leniently: anything unreadable shows as an empty post, never throws. */
export function decodePost(val: Uint8Array | null): Post {
  if (!val) return { title: '', body: '' };
  try {
    const v = JSON.parse(new TextDecoder().decode(val));
    return { title: typeof v?.title === 'string' ? v.title : '', body: typeof v?.body === 'string' ? v.body : '' };
  } catch {
    return { title: '', body: new TextDecoder().decode(val) };
  }
}

// drake.py keys its posts `<time.time()>:<title>`; qdrake.py keys them by the title alone.
const DRAKE_KEY = /^\d{9,}(?:\.\d+)?:/;

/** An original post: its title from the key, its body the value as text (never throws). */
export function decodeOriginalPost(key: string, val: Uint8Array | null): Post {
  const m = DRAKE_KEY.exec(key);
  return { title: m ? key.slice(m[0].length) : key, body: val ? new TextDecoder().decode(val) : '' };
}

/** A post record of either shape, decoded leniently. */
export function decodePostOf(type: string, key: string, val: Uint8Array | null): Post {
  return type === ORIGINAL_POST_TYPE ? decodeOriginalPost(key, val) : decodePost(val);
}

export function postView(r: DrayerRecord): PostView {
  return { ...decodePostOf(r.type, r.key, r.val), key: r.key, id: r.id, ts: r.ts, mod: r.mod };
}

/** The body of a post written in the original's shape: its text, within the same limits as ours. */
export function encodeOriginalPost(p: Post): Uint8Array {
  encodePost(p); // the same checks, the same errors
  return new TextEncoder().encode(p.body);
}

/**
 * The key of a new original-shape post: its title, as the original's apps read it. Its key is also
 * its identity there, so a post never takes the key of another live one (it would replace it): an
 * empty title takes the body's first line, a taken one gets " (2)", " (3)"… `except`: the post's own
 * key (an edit). `reserved`: keys being written right now.
 */
export function originalPostKey(s: Pick<Stream, 'get'>, p: Post, except?: string, reserved?: ReadonlySet<string>): string {
  const firstLine = p.body.trim().split('\n', 1)[0]!.trim();
  const cut = (t: string) => (t.length > 80 ? `${t.slice(0, 80).replace(/\s+\S*$/, '')}…` : t);
  let base = p.title.trim() || cut(firstLine) || 'Untitled';
  if (DRAKE_KEY.test(base)) base = ` ${base}`; // would read back as a time and a title
  const free = (k: string) => k === except || (!s.get(ORIGINAL_POST_TYPE, k) && !reserved?.has(k));
  if (free(base)) return base;
  for (let n = 2; ; n++) if (free(`${base} (${n})`)) return `${base} (${n})`;
}

/** The live post with this key, of either shape. */
export function findPost(s: Pick<Stream, 'get'>, key: string): DrayerRecord | undefined {
  return s.get(POST_TYPE, key) ?? s.get(ORIGINAL_POST_TYPE, key);
}

/** Whether new posts in this stream are written in the original's shape (its file's attribute). */
export function isCompatible(s: Pick<Stream, 'meta'>): boolean {
  return s.meta(COMPATIBLE_META) === 1;
}

/** A new post key: time-ordered and unique without coordination. */
export function newPostKey(): string {
  return `${Date.now().toString(36)}-${Buffer.from(randomBytes(6)).toString('hex')}`;
}

export function addPost(s: PostStore, p: Post, opts: { key?: string; ts?: number; original?: boolean } = {}): PostView {
  if (opts.original) return postView(s.put(ORIGINAL_POST_TYPE, opts.key ?? originalPostKey(s, p), encodeOriginalPost(p), opts.ts));
  return postView(s.put(POST_TYPE, opts.key ?? newPostKey(), encodePost(p), opts.ts));
}

/**
 * Edit a post in the shape it has. An original-shape post whose title changes changes its key (its
 * title there): it is written anew under the new key, with its old time, and the old one deleted.
 */
export function editPost(s: PostStore, key: string, p: Post): PostView {
  const old = findPost(s, key);
  if (!old) throw new DrayerError('NOT_FOUND', `There is no post with key ${key} in this stream.`);
  if (old.type === POST_TYPE) return postView(s.put(POST_TYPE, key, encodePost(p)));
  const val = encodeOriginalPost(p);
  const same = decodeOriginalPost(key, null).title === p.title;
  const next = same ? key : originalPostKey(s, p, key);
  if (next === key) return postView(s.put(ORIGINAL_POST_TYPE, key, val));
  const view = postView(s.put(ORIGINAL_POST_TYPE, next, val, old.ts));
  s.delete(ORIGINAL_POST_TYPE, key);
  return view;
}

/** Delete the post with this key, of either shape; false when there is none. */
export function deletePost(s: PostStore, key: string): boolean {
  const r = findPost(s, key);
  return r ? s.delete(r.type, key) : false;
}

export function listPosts(s: PostStore, opts: { limit?: number; offset?: number } = {}): PostView[] {
  return s.list(POST_TYPES, { order: 'ts', ...opts }).map(postView);
}
