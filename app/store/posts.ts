// Social posts: type `post`, value UTF-8 JSON {title, body}. JSON (not msgpack) so a stream's
// web page and the original Drayer's JSON endpoints can show posts without a decoder.
import { randomBytes } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import type { DrayerRecord } from '../core/record.js';
import type { Stream } from './store.js';

export const POST_TYPE = 'post';

/** What posts need of a stream: a Stream, or a private stream's StreamView (private-view.ts), which seals and opens. */
export type PostStore = Pick<Stream, 'put' | 'get' | 'list'>;

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

export function postView(r: DrayerRecord): PostView {
  return { ...decodePost(r.val), key: r.key, id: r.id, ts: r.ts, mod: r.mod };
}

/** A new post key: time-ordered and unique without coordination. */
export function newPostKey(): string {
  return `${Date.now().toString(36)}-${Buffer.from(randomBytes(6)).toString('hex')}`;
}

export function addPost(s: PostStore, p: Post, opts: { key?: string; ts?: number } = {}): PostView {
  return postView(s.put(POST_TYPE, opts.key ?? newPostKey(), encodePost(p), opts.ts));
}

export function editPost(s: PostStore, key: string, p: Post): PostView {
  if (!s.get(POST_TYPE, key)) throw new DrayerError('NOT_FOUND', `There is no post with key ${key} in this stream.`);
  return postView(s.put(POST_TYPE, key, encodePost(p)));
}

export function listPosts(s: PostStore, opts: { limit?: number; offset?: number } = {}): PostView[] {
  return s.list(POST_TYPE, { order: 'ts', ...opts }).map(postView);
}
