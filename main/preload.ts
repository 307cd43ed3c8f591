// The preload: exposes exactly the renderer's Transport (DrayerApi's call + subscribe, and the
// event channel's state) as `window.drayer` through contextBridge, never ipcRenderer itself.
// Bundled into one CommonJS file (scripts/build-bundle.mjs preload) because sandboxed preloads cannot
// load modules. Errors cross contextBridge as data ({ name, code, message }): Error objects keep
// only their message there.
import { contextBridge, ipcRenderer } from 'electron';
import type { DrayerEvent, Envelope } from '../app/node/api.js';

const CALL = 'drayer:call';
const SUBSCRIBE = 'drayer:subscribe';
const EVENT = 'drayer:event';

const listeners = new Set<(e: DrayerEvent) => void>();
let subscribed = false;
ipcRenderer.on(EVENT, (_e, ev: DrayerEvent) => {
  for (const l of [...listeners]) {
    try {
      l(ev);
    } catch {
      /* one listener's failure is not the others' */
    }
  }
});

contextBridge.exposeInMainWorld('drayer', {
  async call(method: string, arg: unknown): Promise<unknown> {
    const env = (await ipcRenderer.invoke(CALL, String(method), arg)) as Envelope<unknown>;
    if (env.ok) return env.value;
    throw { name: 'ApiError', code: env.error.code, message: env.error.message };
  },
  subscribe(listener: (e: DrayerEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('subscribe takes a function');
    listeners.add(listener);
    if (!subscribed) {
      subscribed = true;
      ipcRenderer.send(SUBSCRIBE);
    }
    return () => void listeners.delete(listener);
  },
  // IPC to the main process does not drop like an HTTP event stream: always open.
  onConnection(listener: (state: 'open') => void): () => void {
    listener('open');
    return () => {};
  },
});
