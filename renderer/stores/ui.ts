// UI state: the route (from the URL hash, so reloads and the back button work), the open dialog,
// toasts and the connection banner.
import { create } from 'zustand';
import type { TimelineItem } from '../api/transport';
import type { ConnectionState } from '../api/transport';

export type Route =
  | { name: 'home' }
  | { name: 'stream'; publicKey: string; tab?: StreamTab }
  | { name: 'post'; publicKey: string; key: string }
  | { name: 'search'; query: string }
  | { name: 'nearby' }
  | { name: 'talk' }
  | { name: 'settings' }
  | { name: 'welcome' };

/** A stream page's tabs besides Posts (the default, not written in the URL). */
export type StreamTab = 'files' | 'site';
const TABS: readonly string[] = ['files', 'site'] satisfies StreamTab[];

export type Dialog =
  | { kind: 'follow'; key?: string }
  | { kind: 'deletePost'; item: TimelineItem; then?: () => void }
  | { kind: 'unfollow'; publicKey: string }
  | { kind: 'editProfile'; publicKey: string }
  | { kind: 'newStream' }
  | { kind: 'share'; publicKey: string }
  | { kind: 'deleteFile'; publicKey: string; path: string }
  | { kind: 'filePreview'; publicKey: string; path: string }
  | { kind: 'keyBackup'; publicKey: string }
  | { kind: 'restore' }
  | { kind: 'openFile' }
  | { kind: 'exportStream'; publicKey: string }
  | { kind: 'verify'; publicKey: string }
  | { kind: 'keyVerify'; publicKey: string }
  | { kind: 'joinDevice' };

export interface Toast {
  id: number;
  text: string;
  tone: 'info' | 'error';
  /** one button in the toast (Undo) */
  action?: { label: string; run: () => void };
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [head, ...rest] = h.split('/');
  let tail: string;
  try {
    tail = decodeURIComponent(rest.join('/'));
  } catch {
    return { name: 'home' };
  }
  switch (head) {
    case 'stream': {
      // #/stream/<key>/files: a key is written encoded, so a last segment that is a tab's name is one
      const last = rest.length > 1 ? rest[rest.length - 1]! : '';
      if (TABS.includes(last)) {
        const pk = decodeURIComponent(rest.slice(0, -1).join('/'));
        return pk ? { name: 'stream', publicKey: pk, tab: last as StreamTab } : { name: 'home' };
      }
      return tail ? { name: 'stream', publicKey: tail } : { name: 'home' };
    }
    case 'post': {
      // #/post/<stream key>/<post key>, each encoded (a key's "/" is %2F)
      if (rest.length !== 2) return { name: 'home' };
      try {
        const [pk, key] = rest.map(decodeURIComponent) as [string, string];
        return pk && key ? { name: 'post', publicKey: pk, key } : { name: 'home' };
      } catch {
        return { name: 'home' };
      }
    }
    case 'search':
      return { name: 'search', query: tail };
    case 'nearby':
      return { name: 'nearby' };
    case 'talk':
      return { name: 'talk' };
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
      return `#/stream/${encodeURIComponent(r.publicKey)}${r.tab ? `/${r.tab}` : ''}`;
    case 'post':
      return `#/post/${encodeURIComponent(r.publicKey)}/${encodeURIComponent(r.key)}`;
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
  toast(text: string, tone?: Toast['tone'], action?: Toast['action']): void;
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
  toast(text, tone = 'info', action) {
    const id = nextToast++;
    set({ toasts: [...get().toasts, { id, text, tone, ...(action ? { action } : {}) }] });
    setTimeout(() => get().dismissToast(id), 5000);
  },
  dismissToast(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
  setConnection(connection) {
    set({ connection });
  },
}));
