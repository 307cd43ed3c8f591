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

export const useSearch = create<SearchState>()((set) => ({
  query: '',
  results: [],
  busy: false,
  error: null,
  async run(query) {
    const mine = ++seq;
    if (!query.trim()) return set({ query, results: [], busy: false, error: null });
    set({ busy: true });
    try {
      const results = await transport().call('search', { query, limit: 50 });
      if (mine === seq) set({ query, results, busy: false, error: null });
    } catch (e) {
      if (mine === seq) set({ query, busy: false, error: messageOf(e) });
    }
  },
}));
