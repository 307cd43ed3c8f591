// DrayerApi over the headless node's web UI: POST /api/<method> as JSON, events from one shared
// EventSource on /api/events. The credential is the HttpOnly session cookie the sign-in link set
// (same-origin requests carry it; this page never sees it), never a token in a URL. Failures come
// back as ApiError with a code, never as a raw network exception.
import { ApiError, unwrap, type Envelope, type EventName } from '../../app/node/api';
import { bootKey, type BootReply } from '../../app/node/boot-calls';
import type { ConnectionState, DrayerEvent, Transport } from './transport';

/** Every event the node sends; SSE needs each name to listen for it. */
const EVENT_NAMES = ['recordsChanged', 'syncProgress', 'peerFound', 'peerLost', 'streamsChanged', 'settingsChanged'] as const satisfies readonly EventName[];

/** Reconnecting longer than this: say the node may have moved (restarted on another port). */
const GONE_AFTER_MS = 10_000;
/** How often a closed event channel (the address answered, but not as Drayer) is tried again. */
const RETRY_MS = 5_000;

/**
 * GET /api/boot, which the page's HTML preloads (webui.ts): Home's first reads in one reply, asked
 * for while the scripts loaded. null when there is none (an older node, an error): the calls go out.
 */
function fetchBoot(base: string): Promise<BootReply | null> {
  return fetch(`${base}/api/boot`)
    .then((r) => (r.ok ? (r.json() as Promise<BootReply>) : null))
    .then((b) => (b && typeof b.changes === 'number' && b.results && typeof b.results === 'object' ? b : null))
    .catch(() => null);
}

export function httpTransport(base = '', opts: { boot?: boolean } = {}): Transport {
  // Each boot answer serves one call, made before the event channel said hello; the rest go out as always.
  let left: Map<string, unknown> | null = null;
  let bootChanges: number | null = null;
  let booted = false;
  const boot = opts.boot
    ? fetchBoot(base).then((b) => {
        booted = true;
        if (b) {
          bootChanges = b.changes;
          left = new Map(Object.entries(b.results));
        }
      })
    : null;
  const listeners = new Set<(e: DrayerEvent) => void>();
  const connListeners = new Set<(s: ConnectionState) => void>();
  let source: EventSource | null = null;
  let state: ConnectionState = 'connecting';
  let goneTimer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const setState = (s: ConnectionState) => {
    if (s === state) return;
    state = s;
    for (const l of connListeners) l(s);
  };

  /** Why the event channel closed: not signed in (401), or not Drayer (anything else) here any more. */
  const diagnose = async () => {
    try {
      const res = await fetch(`${base}/api/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      setState(res.status === 401 ? 'signedOut' : res.ok ? 'lost' : 'gone');
    } catch {
      setState('gone');
    }
  };

  const open = () => {
    if (source) return;
    const es = new EventSource(`${base}/api/events`);
    source = es;
    es.onopen = () => {
      clearTimeout(goneTimer);
      goneTimer = undefined;
      // With the boot reply read, 'open' waits for the hello that says whether it is still current.
      if (!boot) setState('open');
    };
    // The node's count of changes told of so far: one that differs from the boot reply's means a
    // change came between that reply and this channel, so the page reads all again, as after a lost channel.
    es.addEventListener('hello', (m) => {
      if (!boot) return; // without a boot reply, onopen said 'open' already
      void boot.then(() => {
        let changes: unknown;
        try {
          changes = (JSON.parse((m as MessageEvent<string>).data) as { changes?: unknown }).changes;
        } catch {
          changes = null;
        }
        // From here on, events keep the page current: what is left of the boot reply would only grow old.
        left = null;
        if (bootChanges !== null && changes !== bootChanges && state === 'connecting') setState('lost');
        bootChanges = null;
        setState('open');
      });
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        // The address answered, but not with events (signed out, or another program has the port now):
        // EventSource gives up here, so try again now and then, and say what is wrong meanwhile.
        source = null;
        clearTimeout(goneTimer);
        goneTimer = undefined;
        void diagnose();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(open, RETRY_MS);
        return;
      }
      // EventSource retries by itself; until it is back, the UI says the live updates paused.
      if (state !== 'gone' && state !== 'signedOut') setState('lost');
      goneTimer ??= setTimeout(() => {
        goneTimer = undefined;
        if (state !== 'open') setState('gone');
      }, GONE_AFTER_MS);
    };
    for (const name of EVENT_NAMES) {
      es.addEventListener(name, (m) => {
        let data: unknown;
        try {
          data = JSON.parse((m as MessageEvent<string>).data);
        } catch {
          return;
        }
        const e = { event: name, data } as DrayerEvent;
        for (const l of listeners) l(e);
      });
    }
  };

  return {
    async call(method, arg) {
      if (boot) {
        if (!booted) await boot;
        const k = bootKey(method, arg);
        const env = left?.get(k);
        if (env) {
          left!.delete(k);
          return unwrap(env as Envelope<never>);
        }
      }
      let res: Response;
      try {
        res = await fetch(`${base}/api/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(arg ?? {}),
        });
      } catch {
        throw new ApiError('UNREACHABLE', 'Drayer is not answering. Check that the node is still running, then try again.');
      }
      if (res.status === 401) setState('signedOut');
      let env: Envelope<never>;
      try {
        env = (await res.json()) as Envelope<never>;
      } catch {
        throw new ApiError('INTERNAL', `Drayer answered ${res.status} without a readable reply.`);
      }
      return unwrap(env);
    },
    subscribe(listener) {
      listeners.add(listener);
      open();
      return () => listeners.delete(listener);
    },
    onConnection(listener) {
      connListeners.add(listener);
      listener(state);
      open();
      return () => connListeners.delete(listener);
    },
  };
}
