// Private streams in a running node (DESIGN §8): where a stream's read key sits beside its file,
// the node reads it as its reader does. The timeline and search index the opened posts (they stay
// in this computer's library.db, which nothing serves), and a stream's posts read through its view.
// What the node says of a stream to others (discovery, its listing, the LAN server) never comes
// from here: those keep the stored, sealed records, so names stay the key's words there too.
import { DrayerError } from '../core/errors.js';
import { readLink, SEAL_OVERHEAD, SEALED_TYPE } from '../core/private.js';
import { toPgpWords } from '../core/pgpwords.js';
import { POST_TYPE, POST_TYPES } from '../store/posts.js';
import { REACTION_TYPE } from '../store/talk.js';
import { isPrivate, readKeyBesideSync, settleRotationSync, StreamView } from '../store/private-view.js';
import type { Stream } from '../store/store.js';

/** A change-feed row (library-schema.ts FeedRow; not imported, so the two modules make no circle). */
interface FeedRow {
  id: number;
  prev: number;
  type: string;
  key: string;
  ts: number;
  mod: number;
  val: Buffer | null;
}

const readers = new WeakMap<Stream, StreamView | null>();

/**
 * The stream's view with its read key, or null: a public stream, a blind mirror, or a read key this
 * process cannot use (sealed by the app's keychain, or one that does not open this stream).
 */
export function readerOf(s: Stream): StreamView | null {
  let v = readers.get(s);
  if (v === undefined) {
    try {
      settleRotationSync(s); // a rotation stopped after it committed (the node was killed): its new key put in place
      const rk = readKeyBesideSync(s.file);
      v = rk ? new StreamView(s, rk) : null;
    } catch {
      v = null; // a wrong or damaged read key reads nothing; `drayer info FILE` says why
    }
    readers.set(s, v);
  }
  return v;
}

/**
 * Where this copy would write a private stream it cannot read (a device that joined by the stream's
 * key alone): why nothing can be written, and what to do. A copy that writes nothing anyway (a
 * mirror) gets the store's own answer.
 */
export function requireReadKey(s: Stream): void {
  if (readerOf(s) || !isPrivate(s) || (!s.writable && !s.devices().mine)) return;
  throw new DrayerError(
    'NOT_WRITABLE',
    "This is a private stream and its read key is not on this computer, so what you write here could not be sealed; nothing was written. On a computer that reads it, copy the stream's read link (Share read access), add it here (Add the read link on the stream's page, or Follow), then post again.",
  );
}

/** Read the read key beside the file again (one was put there, or taken away). */
export function forgetReader(s: Stream): void {
  readers.delete(s);
}

/** A sealed record's share of its value: what a sealed post may add to the timeline's value limit. */
export const SEALED_ROW_EXTRA = SEAL_OVERHEAD + 4096 + 256 + 32;

/** A change-feed row as the timeline indexes it: a private stream's sealed row opened, else as it is. */
export function openFeedRow(v: StreamView, r: FeedRow): FeedRow {
  if (r.type !== SEALED_TYPE || !r.val) return r;
  try {
    const o = v.readKey!.open(r.val, r.key);
    return {
      ...r,
      type: o.type,
      key: o.key,
      val: o.type === POST_TYPE || o.type === REACTION_TYPE ? Buffer.from(o.val.buffer, o.val.byteOffset, o.val.byteLength) : null,
    };
  } catch {
    return r; // one that does not open is not a post the timeline can show
  }
}

/** The stream's live posts as its reader counts them (a blind copy holds none it can show): how many, and their ids as a JSON list. */
export function livePosts(s: Stream): { count: number; ids(): string } {
  const v = readerOf(s);
  if (v) {
    const posts = v.ofType(POST_TYPE);
    return { count: posts.length, ids: () => JSON.stringify(posts.map((r) => r.id)) };
  }
  return {
    count: s.count(POST_TYPES),
    ids: () =>
      s.db
        .prepare(`SELECT json_group_array(id) FROM records WHERE type IN (?, ?)`)
        .pluck()
        .get(...POST_TYPES) as string,
  };
}

/**
 * How the app names a private stream: the sealed drayer/info's name and about, opened where the
 * read key is here (the API answers this computer's own UI only; the library, and so what goes
 * out in listings and announcements, keeps the key's words). Null for a public stream.
 */
export function privateLook(s: Stream): { private: 'reader' | 'sealed'; name?: string; about?: string; avatar?: string } | null {
  const v = readerOf(s);
  if (v) {
    const info = v.info();
    return {
      private: 'reader',
      ...(typeof info.name === 'string' ? { name: info.name } : {}),
      ...(typeof info.about === 'string' ? { about: info.about } : {}),
      ...(typeof info.avatar === 'string' ? { avatar: info.avatar } : {}),
    };
  }
  return isPrivate(s) ? { private: 'sealed' } : null;
}

/** The read link as 64 words to read aloud or copy by hand: the stream key's 32, then the read key's 32 (follow takes them back). */
export function readWords(publicKey: Uint8Array, readKey: Uint8Array): string[] {
  const both = new Uint8Array(64);
  both.set(publicKey, 0);
  both.set(readKey, 32);
  return toPgpWords(both).split(' ');
}

/** What a stream page says of a private stream: read here or sealed, and the read link to share where the read key is here. */
export function privacyOf(s: Stream): { private?: 'reader' | 'sealed'; readLink?: string; readWords?: string[] } {
  const v = readerOf(s);
  if (v) return { private: 'reader', readLink: readLink(s.publicKey, v.readKey!.bytes), readWords: readWords(s.publicKey, v.readKey!.bytes) };
  return isPrivate(s) ? { private: 'sealed' } : {};
}
