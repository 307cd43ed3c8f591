// The main window: its options (the security settings all in one place) and its remembered size
// and position, checked against the displays there are now, so a window last seen on a monitor
// since unplugged opens where it can be seen. Plain module: electron only as types (tested under Node).
import type { BrowserWindowConstructorOptions } from 'electron';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  bounds: Rect;
  maximized: boolean;
}

export const DEFAULT_SIZE = { width: 1100, height: 760 };
export const MIN_SIZE = { width: 720, height: 520 };
/** How much of a window must be on a display to count as visible: enough to grab its title bar. */
const VISIBLE = { width: 120, height: 40 };

function isRect(r: unknown): r is Rect {
  const o = r as Record<string, unknown> | null;
  return !!o && ['x', 'y', 'width', 'height'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k] as number));
}

/** The saved state, or null when the file's text is not one. */
export function parseWindowState(text: string | null | undefined): WindowState | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as { bounds?: unknown; maximized?: unknown };
    if (!isRect(v.bounds)) return null;
    return { bounds: v.bounds, maximized: v.maximized === true };
  } catch {
    return null;
  }
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x),
    height: Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y),
  };
}

/**
 * Where to open the window: the saved bounds when their top strip is on a display now (the size
 * cut to that display's work area), else the default size centred on the primary display.
 */
export function restoreWindowState(saved: WindowState | null, workAreas: Rect[], primary: Rect): WindowState {
  if (saved) {
    const b = saved.bounds;
    const top = { x: b.x, y: b.y, width: b.width, height: Math.min(b.height, VISIBLE.height) };
    const area = workAreas.find((a) => {
      const o = overlap(top, a);
      return o.width >= Math.min(VISIBLE.width, b.width) && o.height >= Math.min(VISIBLE.height, b.height) - 1 && b.y >= a.y;
    });
    if (area) {
      const width = Math.max(MIN_SIZE.width, Math.min(Math.round(b.width), area.width));
      const height = Math.max(MIN_SIZE.height, Math.min(Math.round(b.height), area.height));
      const x = Math.round(Math.min(Math.max(b.x, area.x - width + VISIBLE.width), area.x + area.width - VISIBLE.width));
      const y = Math.round(Math.min(Math.max(b.y, area.y), area.y + area.height - VISIBLE.height));
      return { bounds: { x, y, width, height }, maximized: saved.maximized };
    }
  }
  const width = Math.min(DEFAULT_SIZE.width, primary.width);
  const height = Math.min(DEFAULT_SIZE.height, primary.height);
  return {
    bounds: { x: Math.round(primary.x + (primary.width - width) / 2), y: Math.round(primary.y + (primary.height - height) / 2), width, height },
    maximized: saved?.maximized ?? false,
  };
}

/** Electron's own security checklist, as the window's options. */
export function windowOptions(state: WindowState, opts: { preload: string; icon?: string; dark: boolean }): BrowserWindowConstructorOptions {
  return {
    ...state.bounds,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    title: 'Drayer',
    show: false,
    icon: opts.icon,
    backgroundColor: opts.dark ? '#0e1116' : '#ffffff',
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      enableBlinkFeatures: undefined,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: true,
    },
  };
}
