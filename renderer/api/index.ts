// Picks the transport once at start: Electron's preload (when it exposes one) or the web UI's
// HTTP+SSE with the token from the page URL. Stores ask `transport()`; tests may `setTransport`.
import { httpTransport } from './http';
import type { Transport } from './transport';

declare global {
  interface Window {
    /** exposed by the Electron preload through contextBridge */
    drayer?: Transport;
  }
}

let current: Transport | null = null;

function tokenFromPage(): string {
  const fromUrl = new URLSearchParams(window.location.search).get('token');
  if (fromUrl) {
    try {
      sessionStorage.setItem('drayer.token', fromUrl);
    } catch {
      /* storage off: the URL keeps it */
    }
    return fromUrl;
  }
  try {
    return sessionStorage.getItem('drayer.token') ?? '';
  } catch {
    return '';
  }
}

export function transport(): Transport {
  if (!current) current = window.drayer ?? httpTransport(tokenFromPage());
  return current;
}

export function setTransport(t: Transport): void {
  current = t;
}
