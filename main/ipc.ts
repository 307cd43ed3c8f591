// The IPC transport's main side: DrayerApi over Electron IPC, as thin as the web UI's HTTP+SSE.
// `drayer:call` (invoke) forwards (method, arg) and answers an envelope; `drayer:subscribe` starts
// the events of one renderer on `drayer:event`. Every message is checked to come from the app's
// own page (the top frame of app://drayer/), never from a frame or page elsewhere, and every
// argument is checked against its method's schema (app/node/api-schema.ts) before the engine sees it.
// Plain module: no electron import (tested under Node).
import type { DrayerEvent, Envelope } from '../app/node/api.js';
import { METHODS } from '../app/node/api.js';
import { checkArg } from '../app/node/api-schema.js';

export const CHANNELS = {
  call: 'drayer:call',
  subscribe: 'drayer:subscribe',
  unsubscribe: 'drayer:unsubscribe',
  event: 'drayer:event',
} as const;

/** The app's pages are served from here (see protocol.ts). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'drayer';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/`;

/** What the router needs of the engine: the web UI's ApiHost. */
export interface ApiHost {
  callEnvelope(method: string, arg: unknown): Promise<Envelope<unknown>>;
  subscribe(listener: (e: DrayerEvent) => void): () => void;
}

/** The frame a message came from (Electron's event.senderFrame, null once it is gone). */
export interface SenderFrame {
  url: string;
  /** true for the top frame (senderFrame.parent === null) */
  top: boolean;
}

/** The web contents to send events to (Electron's event.sender). */
export interface EventSink {
  id: number;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/** A message from outside DrayerApi: commands from the menu, tray and notifications. */
export interface CommandEvent {
  event: 'command';
  data: { name: string; [k: string]: unknown };
}

export type IpcEnvelope = Envelope<unknown> | { ok: false; error: { code: 'UNAUTHORIZED' | 'SHUTTING_DOWN'; message: string } };

/** True only for the app's own page in the top frame: app://drayer/… (no iframe, no other origin). */
export function isAppFrame(frame: SenderFrame | null | undefined): boolean {
  if (!frame || !frame.top) return false;
  let u: URL;
  try {
    u = new URL(frame.url);
  } catch {
    return false;
  }
  return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '' && u.port === '';
}

export class IpcRouter {
  private readonly subs = new Map<number, { sink: EventSink; off: () => void }>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly api: ApiHost,
    private readonly trusted: (f: SenderFrame | null | undefined) => boolean = isAppFrame,
  ) {}

  /** `drayer:call`: an envelope always, never a thrown error. */
  call(frame: SenderFrame | null | undefined, method: unknown, arg: unknown): Promise<IpcEnvelope> {
    if (!this.trusted(frame)) return Promise.resolve({ ok: false, error: { code: 'UNAUTHORIZED', message: 'Drayer answers only its own window.' } });
    if (this.closed) return Promise.resolve({ ok: false, error: { code: 'SHUTTING_DOWN', message: 'Drayer is closing; nothing was changed.' } });
    if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) {
      return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_METHOD', message: `Unknown request ${String(method).slice(0, 80)}.` } });
    }
    // The same argument schemas as the web UI's HTTP: a bad argument never reaches the engine.
    const checked = checkArg(method, arg);
    if (!checked.ok) return Promise.resolve(checked);
    const job = this.api.callEnvelope(method, checked.value).catch((e: unknown): IpcEnvelope => ({
      ok: false,
      error: { code: 'INTERNAL', message: `${method} failed unexpectedly: ${(e as Error)?.message ?? e}` },
    }));
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
    return job;
  }

  /** `drayer:subscribe`: the sender gets every event until it unsubscribes or is destroyed; false when refused. */
  subscribe(frame: SenderFrame | null | undefined, sink: EventSink): boolean {
    if (!this.trusted(frame) || this.closed) return false;
    if (this.subs.has(sink.id)) return true;
    const off = this.api.subscribe((e) => this.send(sink, e));
    this.subs.set(sink.id, { sink, off });
    return true;
  }

  unsubscribe(sinkId: number): void {
    this.subs.get(sinkId)?.off();
    this.subs.delete(sinkId);
  }

  /** A command (menu, tray, notification, drayer: link) to every subscribed page. */
  broadcast(command: CommandEvent['data']): void {
    for (const { sink } of [...this.subs.values()]) this.send(sink, { event: 'command', data: command });
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** Refuse new calls, drop subscriptions, and wait for the calls already answered-to-be (clean shutdown). */
  async close(timeoutMs = 15_000): Promise<void> {
    this.closed = true;
    for (const id of [...this.subs.keys()]) this.unsubscribe(id);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private send(sink: EventSink, e: DrayerEvent | CommandEvent): void {
    if (sink.isDestroyed()) return this.unsubscribe(sink.id);
    try {
      sink.send(CHANNELS.event, e);
    } catch {
      this.unsubscribe(sink.id);
    }
  }
}
