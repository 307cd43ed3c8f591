// Search: the last query's results; a slower, older answer never replaces a newer one.
import { create } from 'zustand';
import { transport } from '../api';
import type { TimelineItem } from '../api/transport';
import { messageOf } from './errors';

interface SearchState {
  query: string;
  results: (TimelineItem & { snippet: string })[];
  busy: boolean;
  error: string | null;
  run(query: string): Promise<void>;
}

let seq = 0;
/**
 * The search being answered. One is asked at a time: a query typed meanwhile waits for it and is
 * asked only if no newer one came while it waited, so an answer nobody will see never delays the
 * one shown (the node answers one search at a time).
 */
let asking: Promise<unknown> | null = null;

export const useSearch = create<SearchState>()((set) => ({
  query: '',
  results: [],
  busy: false,
  error: null,
  async run(query) {
    const mine = ++seq;
    if (!query.trim()) return set({ query, results: [], busy: false, error: null });
    set({ busy: true });
    while (asking) {
      await asking;
      if (mine !== seq) return;
    }
    const call = transport().call('search', { query, limit: 50 });
    const settled = (asking = call.catch(() => {}));
    try {
      const results = await call;
      if (mine === seq) set({ query, results, busy: false, error: null });
    } catch (e) {
      if (mine === seq) set({ query, busy: false, error: messageOf(e) });
    } finally {
      if (asking === settled) asking = null;
    }
  },
}));
