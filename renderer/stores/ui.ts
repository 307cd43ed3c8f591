// UI state: the route (from the URL hash, so reloads and the back button work), the open dialog,
// toasts and the connection banner.
import { create } from 'zustand';
import type { TimelineItem } from '../api/transport';
import type { ConnectionState } from '../api/transport';

export type Route =
  | { name: 'home' }
  | { name: 'stream'; publicKey: string }
  | { name: 'search'; query: string }
  | { name: 'nearby' }
  | { name: 'settings' }
  | { name: 'welcome' };

export type Dialog =
  | { kind: 'follow'; key?: string }
  | { kind: 'deletePost'; item: TimelineItem }
  | { kind: 'unfollow'; publicKey: string }
  | { kind: 'editProfile'; publicKey: string }
  | { kind: 'newStream' }
  | { kind: 'keyBackup'; publicKey: string }
  | { kind: 'restore' }
  | { kind: 'openFile' }
  | { kind: 'exportStream'; publicKey: string }
  | { kind: 'verify'; publicKey: string };

export interface Toast {
  id: number;
  text: string;
  tone: 'info' | 'error';
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [head, ...rest] = h.split('/');
  const tail = decodeURIComponent(rest.join('/'));
  switch (head) {
    case 'stream':
      return tail ? { name: 'stream', publicKey: tail } : { name: 'home' };
    case 'search':
      return { name: 'search', query: tail };
    case 'nearby':
      return { name: 'nearby' };
    case 'settings':
      return { name: 'settings' };
    case 'welcome':
      return { name: 'welcome' };
    default:
      return { name: 'home' };
  }
}

export function hashOf(r: Route): string {
  switch (r.name) {
    case 'stream':
      return `#/stream/${encodeURIComponent(r.publicKey)}`;
    case 'search':
      return r.query ? `#/search/${encodeURIComponent(r.query)}` : '#/search';
    case 'home':
      return '#/';
    default:
      return `#/${r.name}`;
  }
}

interface UiState {
  route: Route;
  dialog: Dialog | null;
  toasts: Toast[];
  connection: ConnectionState;
  navigate(r: Route, opts?: { replace?: boolean }): void;
  syncFromLocation(): void;
  openDialog(d: Dialog): void;
  closeDialog(): void;
  toast(text: string, tone?: Toast['tone']): void;
  dismissToast(id: number): void;
  setConnection(c: ConnectionState): void;
}

let nextToast = 1;

export const useUi = create<UiState>()((set, get) => ({
  route: parseHash(typeof location === 'undefined' ? '' : location.hash),
  dialog: null,
  toasts: [],
  connection: 'connecting',
  navigate(r, opts) {
    const h = hashOf(r);
    if (location.hash !== h) {
      if (opts?.replace) history.replaceState(null, '', h);
      else history.pushState(null, '', h);
    }
    set({ route: r });
  },
  syncFromLocation() {
    set({ route: parseHash(location.hash) });
  },
  openDialog(dialog) {
    set({ dialog });
  },
  closeDialog() {
    set({ dialog: null });
  },
  toast(text, tone = 'info') {
    const id = nextToast++;
    set({ toasts: [...get().toasts, { id, text, tone }] });
    setTimeout(() => get().dismissToast(id), 5000);
  },
  dismissToast(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
  setConnection(connection) {
    set({ connection });
  },
}));
