// Streams: the ones this node holds (yours and followed), their details when a page asks, and
// the actions that create, follow and unfollow them.
import { create } from 'zustand';
import { transport } from '../api';
import type { NearbyStream, PostView, StreamDetails, StreamSummary } from '../api/transport';
import { messageOf } from './errors';

export interface FollowRequest {
  key: string;
  url?: string;
  latest?: number;
  metaOnly?: boolean;
  /** keep and share a copy without following it (its posts stay out of Home) */
  hold?: boolean;
}

/** How much of a stream to keep: everything, the latest N records (posts and files), or titles only (metadata). */
export type FollowScope = { kind: 'all' } | { kind: 'latest'; n: number } | { kind: 'meta' };

/** A follow from Nearby, from the click until its first sync is done. */
export interface PendingFollow {
  publicKey: string;
  /** the name Nearby showed, until the stream's own arrives */
  name: string;
  scope: FollowScope;
}

/** The address to pull a stream seen nearby from: its first computer's LAN server. */
export function nearbyUrl(n: NearbyStream): string | undefined {
  const p = n.peers.find((x) => x.port > 0);
  if (!p) return undefined;
  return `http://${p.address.includes(':') ? `[${p.address}]` : p.address}:${p.port}`;
}

export function scopeRequest(scope: FollowScope): Pick<FollowRequest, 'latest' | 'metaOnly'> {
  return scope.kind === 'latest' ? { latest: scope.n } : scope.kind === 'meta' ? { metaOnly: true } : {};
}

export interface StreamsState {
  byKey: Record<string, StreamSummary>;
  /** in the node's order (by name) */
  keys: string[];
  loaded: boolean;
  error: string | null;
  details: Record<string, StreamDetails>;
  nearby: NearbyStream[];
  /** follows started from Nearby and not finished, by key */
  pending: Record<string, PendingFollow>;
  /** the newest posts of one stream, for its page */
  posts: Record<string, PostView[]>;
  load(): Promise<void>;
  loadPosts(publicKey: string): Promise<void>;
  loadNearby(): Promise<void>;
  loadDetails(publicKey: string): Promise<void>;
  /** `sealed`: a private stream (DESIGN §8), read only by holders of its read link */
  create(name: string, about: string, announcePrivately?: boolean, sealed?: boolean): Promise<StreamSummary>;
  setInfo(publicKey: string, name: string, about: string): Promise<void>;
  follow(req: FollowRequest): Promise<StreamSummary>;
  /** one click in Nearby: follow from the computer that announced it */
  followNearby(n: NearbyStream, scope?: FollowScope, hold?: boolean): Promise<StreamSummary>;
  /** where to sync a followed stream from (replaces the addresses the user gave) */
  setSources(publicKey: string, urls: string[]): Promise<void>;
  /** "Findable on the internet": announced on the DHT while the node's DHT is on */
  setFindable(publicKey: string, on: boolean): Promise<void>;
  /** "Announce privately": announced on the LAN only sealed, for computers that know the key */
  setAnnouncePrivately(publicKey: string, on: boolean): Promise<void>;
  setCompatible(publicKey: string, on: boolean): Promise<void>;
  unfollow(publicKey: string, deleteData: boolean): Promise<void>;
}

export const useStreams = create<StreamsState>()((set, get) => ({
  byKey: {},
  keys: [],
  loaded: false,
  error: null,
  details: {},
  nearby: [],
  pending: {},
  posts: {},
  async loadPosts(publicKey) {
    const list = await transport().call('listPosts', { publicKey, limit: 100 });
    set({ posts: { ...get().posts, [publicKey]: list } });
  },
  async loadNearby() {
    try {
      set({ nearby: await transport().call('nearby', undefined) });
    } catch {
      /* the list stays as it was; the next event or visit asks again */
    }
  },
  async load() {
    try {
      const list = await transport().call('listStreams', undefined);
      set({ byKey: Object.fromEntries(list.map((s) => [s.publicKey, s])), keys: list.map((s) => s.publicKey), loaded: true, error: null });
    } catch (e) {
      set({ loaded: true, error: messageOf(e) });
    }
  },
  async loadDetails(publicKey) {
    const d = await transport().call('streamDetails', { publicKey });
    set({ details: { ...get().details, [publicKey]: d }, byKey: { ...get().byKey, [publicKey]: d } });
  },
  async create(name, about, announcePrivately, sealed) {
    const s = await transport().call('createStream', {
      name,
      about,
      ...(announcePrivately ? { announcePrivately } : {}),
      ...(sealed ? { private: true } : {}),
    });
    await get().load();
    return s;
  },
  async setInfo(publicKey, name, about) {
    await transport().call('setStreamInfo', { publicKey, name, about });
    await Promise.all([get().load(), get().loadDetails(publicKey)]);
  },
  async follow(req) {
    const s = await transport().call('follow', req);
    await get().load();
    return s;
  },
  async followNearby(n, scope = { kind: 'all' }, hold = false) {
    const pk = n.publicKey;
    if (get().pending[pk]) throw new Error('already following');
    set({ pending: { ...get().pending, [pk]: { publicKey: pk, name: n.name, scope } } });
    try {
      const s = await get().follow({ key: pk, url: nearbyUrl(n), ...scopeRequest(scope), ...(hold ? { hold } : {}) });
      void get().loadNearby();
      return s;
    } finally {
      const pending = { ...get().pending };
      delete pending[pk];
      set({ pending });
    }
  },
  async setSources(publicKey, urls) {
    await transport().call('setStreamSettings', { publicKey, sources: urls });
    await get().load();
  },
  async setFindable(publicKey, on) {
    await transport().call('setStreamSettings', { publicKey, dht: on });
    await Promise.all([get().load(), get().loadDetails(publicKey)]);
  },
  async setAnnouncePrivately(publicKey, on) {
    await transport().call('setStreamSettings', { publicKey, announcePrivately: on });
    await Promise.all([get().load(), get().loadDetails(publicKey)]);
  },
  async setCompatible(publicKey, on) {
    await transport().call('setStreamSettings', { publicKey, compatible: on });
    await get().loadDetails(publicKey);
  },
  async unfollow(publicKey, deleteData) {
    await transport().call('unfollow', { publicKey, deleteData });
    const details = { ...get().details };
    delete details[publicKey];
    const posts = { ...get().posts };
    delete posts[publicKey];
    set({ details, posts });
    await Promise.all([get().load(), get().loadNearby()]);
  },
}));

export const selectMine = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter((x) => x.owned);
/** Streams this computer posts to: yours, and those it is an added device of (DESIGN §9). */
export const selectWritable = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter((x) => x.owned || x.device === 'listed');
export const selectFollowed = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter((x) => !x.owned);
/** Written from here: yours, and those this computer joined as a device (waiting to be added, or added): the sidebar's My streams. */
export const isMineHere = (x: StreamSummary): boolean => x.owned || x.device === 'listed' || x.device === 'waiting';
/**
 * A post this computer may edit and delete: in a stream written here, in its own chain (DESIGN §9:
 * another chain's post is edited or deleted on the computer that wrote it; the node refuses it here).
 */
export function ownPost(x: StreamSummary | undefined, id: number): boolean {
  if (!x || !(x.owned || x.device === 'listed')) return false;
  return !x.ownIds || (id >= x.ownIds.first && id <= x.ownIds.last);
}
export const selectMineHere = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter(isMineHere);
export const selectFollowedHere = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter((x) => !isMineHere(x));
/** The stream a reply or reaction is written as: your first own stream, else the first one this computer is an added device of. */
export const selectPoster = (s: StreamsState): StreamSummary | undefined => selectMine(s)[0] ?? selectWritable(s)[0];

/** The name to show for a stream: its own, else the one Nearby announced, else a placeholder. */
export function displayName(st: Pick<StreamsState, 'byKey' | 'pending' | 'nearby'>, publicKey: string, fallback = 'New stream'): string {
  // while a follow from Nearby clones, the node names the stream by its key's words: the announced name reads better
  return st.pending[publicKey]?.name || st.byKey[publicKey]?.name || st.nearby.find((n) => n.publicKey === publicKey)?.name || fallback;
}
