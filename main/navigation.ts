// What the window may open. The app's page never navigates away: links to the web (and mail) go
// to the system browser, drayer: links are handled by the app, anything else is refused. New
// windows are never opened. Plain module (tested under Node); index.ts applies it in
// will-navigate, will-frame-navigate and setWindowOpenHandler.
import { APP_HOST, APP_SCHEME } from './ipc.js';

export type NavigationDecision = { action: 'allow' } | { action: 'external'; url: string } | { action: 'drayer'; link: string } | { action: 'deny' };

const EXTERNAL = new Set(['http:', 'https:', 'mailto:']);

/** A navigation of the app's window (`will-navigate`): only within the app's own pages. */
export function decideNavigation(url: string): NavigationDecision {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { action: 'deny' };
  }
  if (u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST) return { action: 'allow' };
  return elsewhere(u);
}

/** A new window (`setWindowOpenHandler`, target=_blank links): always denied, the link maybe opened outside. */
export function decideWindowOpen(url: string): Exclude<NavigationDecision, { action: 'allow' }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { action: 'deny' };
  }
  return elsewhere(u);
}

function elsewhere(u: URL): Exclude<NavigationDecision, { action: 'allow' }> {
  if (u.protocol === 'drayer:') return { action: 'drayer', link: u.href };
  if (!EXTERNAL.has(u.protocol)) return { action: 'deny' };
  // no credentials in links handed to the browser, nothing that is not a real host
  if (u.username || u.password) return { action: 'deny' };
  if (u.protocol !== 'mailto:' && !u.hostname) return { action: 'deny' };
  return { action: 'external', url: u.href };
}

/**
 * Permissions the page may have, from the app's own page only: copying to the clipboard (the UI's
 * copy buttons) and the camera, video alone, to scan a QR code (pairing a device, following a
 * stream). `mediaTypes`: what a media request asks for (Electron's details.mediaTypes, or the
 * check handler's one mediaType); a request for the microphone, or for nothing named, is refused.
 */
export function allowPermission(permission: string, requestingUrl: string | undefined, mediaTypes?: readonly string[]): boolean {
  if (permission !== 'clipboard-sanitized-write' && permission !== 'media') return false;
  if (permission === 'media' && !(mediaTypes && mediaTypes.length > 0 && mediaTypes.every((t) => t === 'video'))) return false;
  try {
    const u = new URL(requestingUrl ?? '');
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}
