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
}

interface StreamsState {
  byKey: Record<string, StreamSummary>;
  /** in the node's order (by name) */
  keys: string[];
  loaded: boolean;
  error: string | null;
  details: Record<string, StreamDetails>;
  nearby: NearbyStream[];
  /** the newest posts of one stream, for its page */
  posts: Record<string, PostView[]>;
  load(): Promise<void>;
  loadPosts(publicKey: string): Promise<void>;
  loadNearby(): Promise<void>;
  loadDetails(publicKey: string): Promise<void>;
  create(name: string, about: string): Promise<StreamSummary>;
  setInfo(publicKey: string, name: string, about: string): Promise<void>;
  follow(req: FollowRequest): Promise<StreamSummary>;
  unfollow(publicKey: string, deleteData: boolean): Promise<void>;
}

export const useStreams = create<StreamsState>()((set, get) => ({
  byKey: {},
  keys: [],
  loaded: false,
  error: null,
  details: {},
  nearby: [],
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
  async create(name, about) {
    const s = await transport().call('createStream', { name, about });
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
  async unfollow(publicKey, deleteData) {
    await transport().call('unfollow', { publicKey, deleteData });
    const details = { ...get().details };
    delete details[publicKey];
    set({ details });
    await get().load();
  },
}));

export const selectMine = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter((x) => x.owned);
export const selectFollowed = (s: StreamsState): StreamSummary[] => s.keys.map((k) => s.byKey[k]!).filter((x) => !x.owned);
