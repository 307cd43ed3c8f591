// The home timeline, Mastodon-style: posts in one normalized map, the shown order as a list of
// ids, and posts that arrived from elsewhere held in `pending` behind a "N new posts" pill so
// the list never jumps under the reader. Your own posts appear at once.
import { create } from 'zustand';
import { transport } from '../api';
import type { TimelineItem } from '../api/transport';
import { messageOf } from './errors';

export const PAGE = 40;

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

/**
 * Fold a fresh first page into what is shown. Known posts are updated in place (edits); posts
 * inside the page's range that it no longer holds were deleted; new ones are shown at once when
 * `showNew` (your own writes, an empty list), else they wait in `pending`.
 */
export function mergeHead(d: TimelineData, page: TimelineItem[], limit: number, showNew: boolean): TimelineData {
  const posts = { ...d.posts };
  const inPage = new Set(page.map(postId));
  const last = page.length >= limit ? page[page.length - 1] : undefined;
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
  if (showNew || ids.length === 0) ids = [...ids, ...pending, ...fresh];
  else pending = [...pending, ...fresh];
  if (showNew || d.ids.length === 0) pending = [];
  const byOrder = (a: PostId, b: PostId) => compareItems(posts[a]!, posts[b]!);
  return { posts, ids: ids.sort(byOrder), pending: pending.sort(byOrder) };
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
      const cur = get();
      const add = page.map(postId).filter((id) => !cur.posts[id]);
      set({
        posts: { ...cur.posts, ...Object.fromEntries(page.map((p) => [postId(p), p])) },
        ids: [...cur.ids, ...add],
        hasMore: page.length === PAGE,
        loadingMore: false,
      });
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
        const merged = mergeHead(before, page, limit, local);
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
    if (!d.pending.length) return;
    const ids = [...d.ids, ...d.pending].sort((a, b) => compareItems(d.posts[a]!, d.posts[b]!));
    set({ ids, pending: [] });
  },
  async post(publicKey, title, body) {
    await transport().call('post', { publicKey, title, body });
    await get().refreshHead(true);
  },
  async edit(item, title, body) {
    const v = await transport().call('editPost', { publicKey: item.streamKey, key: item.key, title, body });
    const id = postId(item);
    set({ posts: { ...get().posts, [id]: { ...item, ...v, body: v.body } } });
    await get().refreshHead(true);
  },
  async remove(item) {
    await transport().call('deletePost', { publicKey: item.streamKey, key: item.key });
    const id = postId(item);
    const posts = { ...get().posts };
    delete posts[id];
    set({ posts, ids: get().ids.filter((x) => x !== id), pending: get().pending.filter((x) => x !== id) });
  },
  async fullPost(item) {
    const p = await transport().call('getPost', { publicKey: item.streamKey, key: item.key });
    return p ? { title: p.title, body: p.body } : { title: item.title, body: item.body };
  },
}));
