// Settings: the node's (name, discovery, sharing, sync interval) and this window's theme, which
// lives in localStorage and follows the system unless set to light or dark.
import { create } from 'zustand';
import { transport } from '../api';
import type { NodeStatus, Settings } from '../api/transport';
import { messageOf } from './errors';

export type ThemePref = 'system' | 'light' | 'dark';

const THEME_KEY = 'drayer.theme';
/** counts loads and saves, so a load that started before a save does not undo it on screen */
let changes = 0;

function readTheme(): ThemePref {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

const darkQuery = (): MediaQueryList | null => (typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null);

export function applyTheme(pref: ThemePref): void {
  const dark = pref === 'dark' || (pref === 'system' && !!darkQuery()?.matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
}

interface SettingsState {
  theme: ThemePref;
  node: Settings | null;
  status: NodeStatus | null;
  error: string | null;
  setTheme(t: ThemePref): void;
  load(): Promise<void>;
  update(patch: Partial<Settings>): Promise<void>;
  /** settings changed elsewhere (the tray, another window): the node's event carries them */
  applied(node: Settings): void;
}

export const useSettings = create<SettingsState>()((set) => ({
  theme: readTheme(),
  node: null,
  status: null,
  error: null,
  setTheme(theme) {
    try {
      if (theme === 'system') localStorage.removeItem(THEME_KEY);
      else localStorage.setItem(THEME_KEY, theme);
    } catch {
      /* not kept across reloads */
    }
    applyTheme(theme);
    set({ theme });
  },
  async load() {
    const at = ++changes;
    try {
      const [node, status] = await Promise.all([transport().call('getSettings', undefined), transport().call('status', undefined)]);
      if (at !== changes) return; // a change was saved meanwhile: its answer is newer
      set({ node, status, error: null });
    } catch (e) {
      set({ error: messageOf(e) });
    }
  },
  async update(patch) {
    const at = ++changes;
    const node = await transport().call('setSettings', patch);
    const status = await transport().call('status', undefined);
    // A change from elsewhere (the tray) whose event came in meanwhile is newer than this answer:
    // keep it, or the screen would show the mode it had before.
    set(at === changes ? { node, status, error: null } : { status, error: null });
  },
  applied(node) {
    changes++; // a load under way is older
    set({ node });
  },
}));

/** Follow the system's light/dark switch while the preference is "system". */
export function watchSystemTheme(): () => void {
  const q = darkQuery();
  if (!q) return () => {};
  const on = () => applyTheme(useSettings.getState().theme);
  q.addEventListener('change', on);
  return () => q.removeEventListener('change', on);
}
