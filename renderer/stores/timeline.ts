// The home timeline, Mastodon-style: posts in one normalized map, the shown order as a list of
// ids, and posts that arrived from elsewhere held in `pending` behind a "N new posts" pill so
// the list never jumps under the reader. Your own posts appear at once.
import { create } from 'zustand';
import { transport } from '../api';
import type { TimelineItem } from '../api/transport';
import { messageOf } from './errors';
import { BOOT_TIMELINE_LIMIT } from '../../app/node/boot-calls';

/** The first page is the one the node answers with the page's HTML (GET /api/boot). */
export const PAGE = BOOT_TIMELINE_LIMIT;

export type PostId = string;
export const postId = (p: { streamKey: string; key: string }): PostId => `${p.streamKey}/${p.key}`;

/** The node's order: ts, then stream key, then id, all descending. Negative when a comes first. */
export function compareItems(a: TimelineItem, b: TimelineItem): number {
  if (a.ts !== b.ts) return b.ts - a.ts;
  if (a.streamKey !== b.streamKey) return a.streamKey < b.streamKey ? 1 : -1;
  return b.id - a.id;
}

export interface TimelineData {
  posts: Record<PostId, TimelineItem>;
  ids: PostId[];
  pending: PostId[];
}

/** Of two versions of one post, the later: the higher mod (an edit or a move), then the higher id (a re-issue). */
function later(a: TimelineItem | undefined, b: TimelineItem): boolean {
  return !a || b.mod > a.mod || (b.mod === a.mod && b.id > a.id);
}

/**
 * The invariants every change ends with (issue 13: one post three times, an old post on top):
 * each post once, in `ids` or in `pending` (not both), only posts that are held, both lists newest
 * first. Every merge below goes through here, so no order of arrivals, edits and deletes breaks it.
 */
export function normalize(d: TimelineData): TimelineData {
  const seen = new Set<PostId>();
  const keep = (list: PostId[]) => list.filter((id) => d.posts[id] !== undefined && !seen.has(id) && (seen.add(id), true));
  const byOrder = (a: PostId, b: PostId) => compareItems(d.posts[a]!, d.posts[b]!);
  const ids = keep(d.ids).sort(byOrder);
  const pending = keep(d.pending).sort(byOrder);
  return { posts: d.posts, ids, pending };
}

/** A page as the node sent it, one entry per post: a post the node lists twice keeps its later version. */
function uniquePage(page: TimelineItem[]): TimelineItem[] {
  const by = new Map<PostId, TimelineItem>();
  for (const p of page) if (later(by.get(postId(p)), p)) by.set(postId(p), p);
  return [...by.values()];
}

/**
 * Fold a fresh first page into what is shown. Known posts are updated in place (edits); posts
 * inside the page's range that it no longer holds were deleted; new ones are shown at once when
 * `showNew` (your own writes, a reader at the top, an empty list), else they wait in `pending`.
 */
export function mergeHead(d: TimelineData, rawPage: TimelineItem[], limit: number, showNew: boolean): TimelineData {
  const page = uniquePage(rawPage);
  const posts = { ...d.posts };
  const inPage = new Set(page.map(postId));
  const last = rawPage.length >= limit ? [...page].sort(compareItems)[page.length - 1] : undefined;
  const covered = (id: PostId) => {
    const p = posts[id];
    return p !== undefined && (!last || compareItems(p, last) <= 0);
  };
  const gone = new Set([...d.ids, ...d.pending].filter((id) => covered(id) && !inPage.has(id)));
  for (const id of gone) delete posts[id];
  const known = new Set([...d.ids, ...d.pending]);
  const fresh: PostId[] = [];
  for (const p of page) {
    const id = postId(p);
    posts[id] = p;
    if (!known.has(id)) fresh.push(id);
  }
  let ids = d.ids.filter((id) => !gone.has(id));
  let pending = d.pending.filter((id) => !gone.has(id));
  if (showNew || ids.length === 0) {
    ids = [...ids, ...pending, ...fresh];
    pending = [];
  } else pending = [...pending, ...fresh];
  return normalize({ posts, ids, pending });
}

/** An older page (scrolling down): posts not held yet go to the end, in order. */
export function appendPage(d: TimelineData, page: TimelineItem[]): TimelineData {
  const posts = { ...d.posts };
  const add: PostId[] = [];
  for (const p of uniquePage(page)) {
    const id = postId(p);
    if (posts[id] === undefined) add.push(id);
    if (later(posts[id], p)) posts[id] = p;
  }
  return normalize({ posts, ids: [...d.ids, ...add], pending: d.pending });
}

/** Your edit, shown before the node's next page says so (only if the post is still held). */
export function applyEdit(d: TimelineData, item: TimelineItem): TimelineData {
  const id = postId(item);
  if (d.posts[id] === undefined) return d;
  return normalize({ ...d, posts: { ...d.posts, [id]: item } });
}

/** A deleted post leaves at once, from the list and the pill. */
export function applyDelete(d: TimelineData, id: PostId): TimelineData {
  if (d.posts[id] === undefined) return d;
  const posts = { ...d.posts };
  delete posts[id];
  return normalize({ posts, ids: d.ids, pending: d.pending });
}

/** The pill clicked (or the reader back at the top): what waited joins the list, in order. */
export function revealPending(d: TimelineData): TimelineData {
  if (!d.pending.length) return d;
  return normalize({ posts: d.posts, ids: [...d.ids, ...d.pending], pending: [] });
}

interface TimelineState extends TimelineData {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  /**
   * Posts the last refresh brought from elsewhere (not your writes), shown at once or held behind
   * the pill: what notifications announce. Set only when there is news, so a change means news.
   */
  arrived: PostId[];
  /**
   * The reader is at the top of Home (Timeline reports it): new posts then just appear; away from
   * it they wait behind the "N new posts" pill, so the list never moves under the reader.
   */
  atTop: boolean;
  setAtTop(atTop: boolean): void;
  loadInitial(): Promise<void>;
  loadMore(): Promise<void>;
  /** Re-read the first page after a change; `local` writes (ours) show at once. */
  refreshHead(local: boolean): Promise<void>;
  showPending(): void;
  post(publicKey: string, title: string, body: string): Promise<void>;
  edit(item: TimelineItem, title: string, body: string): Promise<void>;
  remove(item: TimelineItem): Promise<void>;
  fullPost(item: TimelineItem): Promise<{ title: string; body: string }>;
}

let refreshing: Promise<void> | null = null;
let again: { local: boolean } | null = null;

export const useTimeline = create<TimelineState>()((set, get) => ({
  posts: {},
  ids: [],
  pending: [],
  status: 'idle',
  error: null,
  hasMore: false,
  loadingMore: false,
  arrived: [],
  atTop: false,
  setAtTop(atTop) {
    if (atTop === get().atTop) return;
    set(atTop ? { ...revealPending(get()), atTop } : { atTop });
  },
  async loadInitial() {
    set({ status: get().ids.length ? 'ready' : 'loading', error: null });
    try {
      const page = await transport().call('timeline', { limit: PAGE });
      set({ ...mergeHead({ posts: {}, ids: [], pending: [] }, page, PAGE, true), status: 'ready', hasMore: page.length === PAGE });
    } catch (e) {
      set({ status: 'error', error: messageOf(e) });
    }
  },
  async loadMore() {
    const { ids, posts, loadingMore, hasMore } = get();
    if (loadingMore || !hasMore || ids.length === 0) return;
    const last = posts[ids[ids.length - 1]!]!;
    set({ loadingMore: true });
    try {
      const page = await transport().call('timeline', { limit: PAGE, before: { ts: last.ts, streamKey: last.streamKey, id: last.id } });
      set({ ...appendPage(get(), page), hasMore: page.length === PAGE, loadingMore: false });
    } catch (e) {
      set({ loadingMore: false, error: messageOf(e) });
    }
  },
  async refreshHead(local) {
    if (refreshing) {
      again = { local: local || (again?.local ?? false) };
      return refreshing;
    }
    refreshing = (async () => {
      try {
        const limit = Math.max(PAGE, Math.min(200, get().ids.length + get().pending.length));
        const page = await transport().call('timeline', { limit });
        const before = get();
        const known = new Set([...before.ids, ...before.pending]);
        const merged = mergeHead(before, page, limit, local || before.atTop);
        // Before the first load there is nothing to compare with: all of it would look new.
        const arrived = local || before.status !== 'ready' ? [] : [...merged.ids, ...merged.pending].filter((id) => !known.has(id));
        set({ ...merged, status: 'ready', error: null, ...(arrived.length ? { arrived } : {}) });
      } catch (e) {
        set({ error: messageOf(e) });
      } finally {
        refreshing = null;
      }
      const next = again;
      again = null;
      if (next) await get().refreshHead(next.local);
    })();
    return refreshing;
  },
  showPending() {
    const d = get();
    if (d.pending.length) set(revealPending(d));
  },
  async post(publicKey, title, body) {
    await transport().call('post', { publicKey, title, body });
    await get().refreshHead(true);
  },
  async edit(item, title, body) {
    const v = await transport().call('editPost', { publicKey: item.streamKey, key: item.key, title, body });
    set(applyEdit(get(), { ...item, ...v }));
    await get().refreshHead(true);
  },
  async remove(item) {
    await transport().call('deletePost', { publicKey: item.streamKey, key: item.key });
    set(applyDelete(get(), postId(item)));
  },
  async fullPost(item) {
    const p = await transport().call('getPost', { publicKey: item.streamKey, key: item.key });
    return p ? { title: p.title, body: p.body } : { title: item.title, body: item.body };
  },
}));
