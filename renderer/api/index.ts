// Picks the transport once at start: Electron's preload (when it exposes one) or the web UI's
// HTTP+SSE (signed in by the session cookie). Stores ask `transport()`; tests may `setTransport`.
import { httpTransport } from './http';
import { ApiError, type Transport } from './transport';

declare global {
  interface Window {
    /** exposed by the Electron preload through contextBridge */
    drayer?: Transport;
  }
}

let current: Transport | null = null;

/**
 * contextBridge passes errors as plain data ({ name, code, message }), not Error objects: rebuild the
 * ApiError the stores expect, so an Electron error keeps its code (DISK_FULL, NOT_FOUND, ...).
 */
export function fromPreload(t: Transport): Transport {
  return {
    call: (method, arg) =>
      t.call(method, arg).catch((e: unknown) => {
        const d = e as { code?: unknown; message?: unknown } | null;
        if (d && typeof d.code === 'string' && typeof d.message === 'string') throw new ApiError(d.code, d.message);
        throw e;
      }),
    subscribe: (listener) => t.subscribe(listener),
    onConnection: (listener) => t.onConnection(listener),
  };
}

export function transport(): Transport {
  if (!current) current = window.drayer ? fromPreload(window.drayer) : httpTransport('', { boot: true });
  return current;
}

export function setTransport(t: Transport): void {
  current = t;
}
