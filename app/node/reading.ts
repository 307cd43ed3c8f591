// Reading posts (a stream's, the timeline): a metadata-only copy fetches the text it holds
// without as posts are shown, from its sources, and says why of those it could not fetch.
import { homeStreams } from './hold.js';
import { privateLook, readerOf } from './private-streams.js';
import type { PostView, TimelineItem } from './api.js';
import { isLanUrl } from '../net/lan.js';
import { formatKey, parseKey, streamName } from '../core/keys.js';
import type { DrayerRecord } from '../core/record.js';
import { findPost, isPostType, listPosts, POST_TYPES, postView } from '../store/posts.js';
import type { Stream } from '../store/store.js';
import { SEALED_TYPE } from '../core/private.js';
import { openValue, openValues, type OpenOptions } from '../net/open.js';
import { configuredSources, sourcesFor } from './sources.js';
import { remember, streamOf, syncModeOf, type NodeState } from './state.js';

/** A post whose text a metadata-only copy could not fetch is not asked for again on every read for this long. */
const OPEN_RETRY_MS = 30_000;

/**
 * Timeline entries carry cleaned names (text.ts); those of streams without a name record (the
 * original Drayer's), words of their key. A private stream's name is sealed (the library holds ''):
 * where its read key is here, its opened name, as its page shows it.
 */
export function named<T extends { streamKey: string; streamName: string }>(entries: T[], n?: NodeState): T[] {
  const opened = new Map<string, string | undefined>();
  const nameOf = (e: T): unknown => {
    if (e.streamName !== '' || !n) return e.streamName;
    if (!opened.has(e.streamKey)) {
      const s = n.streams.peek(e.streamKey);
      opened.set(e.streamKey, s ? privateLook(s)?.name : undefined);
    }
    return opened.get(e.streamKey) ?? '';
  };
  return entries.map((e) => ({ ...e, streamName: streamName(nameOf(e), parseKey(e.streamKey)) }));
}

/**
 * Where a metadata-only copy fetches what is opened (the sources sync uses), and what it tells
 * the index. For a `stranger` (a request to the LAN server) only the copy's own sources: those
 * its user gave and its author named, never peers merely heard of on the LAN (issue 14.5).
 */
export function openOptions(n: NodeState, s: Stream, stranger = false): OpenOptions {
  const mode = syncModeOf(n);
  const self = n.lan ? [`http://127.0.0.1:${n.lan.port}`, `http://localhost:${n.lan.port}`] : [];
  const own = [...configuredSources(n, s)].filter((u) => !self.includes(u));
  // Fetching a post's text is a pull too: none while paused, only nearby ones when LAN only.
  const sources = mode === 'paused' ? [] : (stranger ? own : sourcesFor(n, s)).filter((u) => mode !== 'lan' || isLanUrl(u));
  return {
    sources,
    lanOnly: mode === 'lan',
    localAddress: n.opts.connectFrom,
    onValue: (r) => n.library.notePostValues(s, [r]),
    advice:
      mode === 'paused'
        ? 'Sync is paused: turn it back on (Settings → Sync, or Pause Sync in the tray menu) to fetch it.'
        : `${mode === 'lan' ? 'Sync is LAN only, so only sources on the local network are asked. ' : ''}Try again when one of them is reachable, or add a peer that holds this stream with its values to its sources.`,
  };
}

/**
 * Posts being read: a metadata-only copy fetches the text of those it holds without it. Answers
 * why each one it could not fetch was not; such a post is not asked for again for a while.
 */
async function readPosts(n: NodeState, s: Stream, recs: DrayerRecord[]): Promise<Map<number, string>> {
  const failed = new Map<number, string>();
  if (!s.partial.metaOnly) return failed;
  const pk = formatKey(s.publicKey);
  const key = (r: DrayerRecord) => `${pk} ${r.id} ${Buffer.from(r.hash).toString('hex')}`;
  const todo: DrayerRecord[] = [];
  for (const r of recs) {
    if (r.val) continue;
    const f = n.openFailures.get(key(r));
    if (f && f.until > Date.now()) failed.set(r.id, f.why);
    else todo.push(r);
  }
  if (todo.length === 0) return failed;
  const now = await openValues(s, todo, openOptions(n, s));
  for (const r of todo) {
    const why = now.get(r.id);
    if (why === undefined) continue;
    failed.set(r.id, why);
    remember(n.openFailures, key(r), { until: Date.now() + OPEN_RETRY_MS, why });
  }
  return failed;
}

/**
 * A metadata-only copy of a private stream read here: which of its records are posts only their
 * sealed values say, so before a page is read the values of the newest `count` sealed records
 * (older than `beforeTs`) are fetched; the timeline indexes the posts among them as they arrive
 * (notePostValues). Bounded by the page, and one that could not be fetched waits (readPosts).
 */
async function fillSealed(n: NodeState, s: Stream, count: number, beforeTs?: number): Promise<void> {
  if (!s.partial.metaOnly || !readerOf(s) || count <= 0) return;
  const ids = s.db
    .prepare(`SELECT id FROM records WHERE type = ? AND val IS NULL ${beforeTs !== undefined ? 'AND ts < ?' : ''} ORDER BY ts DESC LIMIT ?`)
    .pluck()
    .all(SEALED_TYPE, ...(beforeTs !== undefined ? [beforeTs] : []), Math.min(count, 1000)) as number[];
  const recs = ids.map((id) => s.getById(id)).filter((r): r is DrayerRecord => r?.val === null);
  if (recs.length === 0) return;
  const failed = await readPosts(n, s, recs);
  if (failed.size < recs.length) readerOf(s)?.valuesFilled();
}

/** listPosts: a stream's posts, newest first. */
export async function streamPosts(n: NodeState, publicKey: string, limit?: number, offset?: number): Promise<PostView[]> {
  const s = streamOf(n, publicKey);
  const reader = readerOf(s); // a private stream whose read key is here: its posts opened
  if (reader) await fillSealed(n, s, (offset ?? 0) + (limit ?? 50));
  if (reader) return listPosts(reader, { limit, offset });
  if (!s.partial.metaOnly) return listPosts(s, { limit, offset });
  const recs = s.list(POST_TYPES, { order: 'ts', limit, offset });
  const failed = await readPosts(n, s, recs);
  return recs.map((r) => {
    const why = failed.get(r.id);
    return why !== undefined ? { ...postView(r), unavailable: why } : postView(r.val ? r : (s.getById(r.id) ?? r));
  });
}

/** getPost: one post, or null. */
export async function streamPost(n: NodeState, publicKey: string, key: string): Promise<PostView | null> {
  const s = streamOf(n, publicKey);
  const reader = readerOf(s);
  const r = findPost(reader ?? s, String(key));
  if (!r) return null;
  if (reader && !r.val) return { ...postView(r), unavailable: 'this copy holds only the metadata of this private post' };
  // A metadata-only copy fetches it now; when it cannot, the error says why and what to do.
  return postView(r.val ? r : { ...r, val: await openValue(s, r, openOptions(n, s)) });
}

/** timeline: posts across streams, newest first. */
export async function timeline(n: NodeState, limit?: number, before?: { ts: number; streamKey: string; id: number }): Promise<TimelineItem[]> {
  const streams = homeStreams(n); // not those held only (hold.ts)
  await Promise.all(
    (streams ?? n.library.listStreams().map((e) => e.publicKey)).map((pk) => {
      const s = n.streams.peek(pk); // one not opened yet shows what the index holds
      return s ? fillSealed(n, s, limit ?? 50, before?.ts) : Promise.resolve();
    }),
  );
  const items = n.library.timeline({ limit, before, streams });
  // Posts of metadata-only copies are fetched as they are shown, then read again from the index.
  const unread = new Map<string, DrayerRecord[]>();
  const metaOnly = new Map<string, boolean>();
  for (const t of items) {
    const s = n.streams.peek(t.streamKey); // one not opened yet shows what the index holds
    if (s && !metaOnly.has(t.streamKey)) metaOnly.set(t.streamKey, s.partial.metaOnly === true);
    const r = s && metaOnly.get(t.streamKey) ? s.getById(t.id) : undefined;
    if (r && r.val === null && isPostType(r.type)) unread.set(t.streamKey, [...(unread.get(t.streamKey) ?? []), r]);
  }
  if (unread.size === 0) return named(items, n);
  const failed = new Map<string, string>();
  await Promise.all(
    [...unread].map(async ([pk, recs]) => {
      for (const [id, why] of await readPosts(n, n.streams.get(pk)!, recs)) failed.set(`${pk} ${id}`, why);
    }),
  );
  return named(n.library.timeline({ limit, before, streams }), n).map((t) => {
    const why = failed.get(`${t.streamKey} ${t.id}`);
    return why !== undefined ? { ...t, unavailable: why } : t;
  });
}
