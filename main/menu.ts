// The native menu and the tray menu as data: labels, accelerators and the command each item sends.
// index.ts turns them into Electron menus; commands reach the page as `command` events (ipc.ts)
// and, where the UI has a route for them, as a navigation. The shortcuts the UI itself handles
// (renderer/App.tsx: Ctrl/Cmd+K search, +, settings, +N new post) are shown in the menu but not
// registered with it, so the key reaches the page and does exactly what it does in a browser.
// Plain module (tested under Node).
import type { SyncMode } from '../app/node/api.js';

export type Command =
  | 'newPost'
  | 'addFiles'
  | 'openStreamFile'
  | 'exportStream'
  | 'exportKeys'
  | 'search'
  | 'settings'
  | 'home'
  | 'nearby'
  | 'themeSystem'
  | 'themeLight'
  | 'themeDark'
  | 'openWindow'
  | 'pauseSync'
  | 'lanOnly'
  | 'quit'
  | 'help'
  | 'about';

export type Role =
  | 'about'
  | 'services'
  | 'hide'
  | 'hideOthers'
  | 'unhide'
  | 'quit'
  | 'close'
  | 'undo'
  | 'redo'
  | 'cut'
  | 'copy'
  | 'paste'
  | 'pasteAndMatchStyle'
  | 'delete'
  | 'selectAll'
  | 'reload'
  | 'forceReload'
  | 'toggleDevTools'
  | 'resetZoom'
  | 'zoomIn'
  | 'zoomOut'
  | 'togglefullscreen'
  | 'minimize'
  | 'zoom'
  | 'front'
  | 'window';

export interface MenuSpec {
  label?: string;
  command?: Command;
  role?: Role;
  type?: 'normal' | 'separator' | 'submenu' | 'checkbox' | 'radio';
  accelerator?: string;
  /** false: shown only; the page handles the key itself */
  registerAccelerator?: boolean;
  checked?: boolean;
  enabled?: boolean;
  submenu?: MenuSpec[];
}

/** Shortcuts the page handles itself (renderer/App.tsx); the menu shows them. */
export const UI_SHORTCUTS = {
  search: 'CmdOrCtrl+K',
  settings: 'CmdOrCtrl+,',
  newPost: 'CmdOrCtrl+N',
} as const;

export type ThemeChoice = 'system' | 'light' | 'dark';

export interface MenuState {
  platform: NodeJS.Platform;
  theme: ThemeChoice;
  /** developer tools and reload only in a development run */
  dev: boolean;
}

const sep: MenuSpec = { type: 'separator' };

export function appMenu(s: MenuState): MenuSpec[] {
  const mac = s.platform === 'darwin';
  const file: MenuSpec = {
    label: '&File',
    submenu: [
      { label: 'New Post', command: 'newPost', accelerator: UI_SHORTCUTS.newPost, registerAccelerator: false },
      { label: 'Add Files…', command: 'addFiles', accelerator: 'CmdOrCtrl+Shift+A' },
      sep,
      { label: 'Open Stream File…', command: 'openStreamFile', accelerator: 'CmdOrCtrl+O' },
      sep,
      { label: 'Export Stream…', command: 'exportStream', accelerator: 'CmdOrCtrl+Shift+E' },
      { label: 'Export Secret Keys…', command: 'exportKeys' },
      ...(mac ? [] : [sep, { label: 'Settings', command: 'settings', accelerator: UI_SHORTCUTS.settings, registerAccelerator: false } as MenuSpec]),
      sep,
      mac ? { role: 'close' } : { label: 'Quit Drayer', command: 'quit', accelerator: 'Ctrl+Q' },
    ],
  };
  const edit: MenuSpec = {
    label: '&Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      sep,
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      ...(mac ? [{ role: 'pasteAndMatchStyle' } as MenuSpec] : []),
      { role: 'delete' },
      { role: 'selectAll' },
      sep,
      { label: 'Search', command: 'search', accelerator: UI_SHORTCUTS.search, registerAccelerator: false },
    ],
  };
  const theme = (label: string, command: Command, value: ThemeChoice): MenuSpec => ({ label, command, type: 'radio', checked: s.theme === value });
  const view: MenuSpec = {
    label: '&View',
    submenu: [
      { label: 'Home', command: 'home', accelerator: 'CmdOrCtrl+1' },
      { label: 'Nearby', command: 'nearby', accelerator: 'CmdOrCtrl+2' },
      sep,
      {
        label: 'Theme',
        type: 'submenu',
        submenu: [theme('System', 'themeSystem', 'system'), theme('Light', 'themeLight', 'light'), theme('Dark', 'themeDark', 'dark')],
      },
      sep,
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      sep,
      { role: 'togglefullscreen' },
      ...(s.dev ? [sep, { role: 'reload' } as MenuSpec, { role: 'toggleDevTools' } as MenuSpec] : []),
    ],
  };
  const help: MenuSpec = {
    label: '&Help',
    submenu: [{ label: 'Drayer Help', command: 'help' }, ...(mac ? [] : [{ label: 'About Drayer', command: 'about' } as MenuSpec])],
  };
  const macApp: MenuSpec = {
    label: 'Drayer',
    submenu: [
      { role: 'about' },
      sep,
      { label: 'Settings…', command: 'settings', accelerator: UI_SHORTCUTS.settings, registerAccelerator: false },
      sep,
      { role: 'services' },
      sep,
      { role: 'hide' },
      { role: 'hideOthers' },
      { role: 'unhide' },
      sep,
      { role: 'quit' },
    ],
  };
  const windowMenu: MenuSpec = { role: 'window', submenu: [{ role: 'minimize' }, { role: 'zoom' }, sep, { role: 'front' }] };
  return mac ? [macApp, file, edit, view, windowMenu, help] : [file, edit, view, help];
}

export interface TrayState {
  paused: boolean;
  lanOnly: boolean;
  /** whether the engine offers the sync modes (setSyncMode) */
  syncModes: boolean;
}

/** The tray's check marks for the engine's sync mode. */
export function trayStateOf(mode: SyncMode): TrayState {
  return { paused: mode === 'paused', lanOnly: mode === 'lan', syncModes: true };
}

/**
 * The sync mode after a click on Pause Sync or LAN Only: an item that is on turns back to
 * normal; one that is off turns its mode on (so pausing while LAN only pauses everything).
 */
export function syncModeAfter(c: 'pauseSync' | 'lanOnly', mode: SyncMode): SyncMode {
  const own: SyncMode = c === 'pauseSync' ? 'paused' : 'lan';
  return mode === own ? 'normal' : own;
}

export function trayMenu(s: TrayState): MenuSpec[] {
  const why = s.syncModes ? '' : ' (not in this version)';
  return [
    { label: 'Open Drayer', command: 'openWindow' },
    sep,
    { label: `Pause Sync${why}`, command: 'pauseSync', type: 'checkbox', checked: s.paused, enabled: s.syncModes },
    { label: `LAN Only${why}`, command: 'lanOnly', type: 'checkbox', checked: s.lanOnly, enabled: s.syncModes },
    sep,
    { label: 'Quit Drayer', command: 'quit' },
  ];
}

/** Every command anywhere in a menu, in order. */
export function commandsOf(items: MenuSpec[]): Command[] {
  return items.flatMap((i) => [...(i.command ? [i.command] : []), ...commandsOf(i.submenu ?? [])]);
}

/** The app route (URL hash) a command shows, when it is a place in the UI. */
export function routeOf(c: Command): string | null {
  switch (c) {
    case 'newPost':
    case 'home':
      return '#/';
    case 'search':
      return '#/search';
    case 'settings':
      return '#/settings';
    case 'nearby':
      return '#/nearby';
    default:
      return null;
  }
}
