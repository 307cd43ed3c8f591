// DrayerApi over the headless node's web UI: POST /api/<method> with the token as a bearer,
// events from one shared EventSource on /api/events (the token in its query: EventSource sends
// no headers). Failures come back as ApiError with a code, never as a raw network exception.
import { ApiError, unwrap, type Envelope, type EventName } from '../../app/api';
import type { ConnectionState, DrayerEvent, Transport } from './transport';

/** Every event the node sends; SSE needs each name to listen for it. */
const EVENT_NAMES = ['recordsChanged', 'syncProgress', 'peerFound', 'peerLost', 'streamsChanged', 'settingsChanged'] as const satisfies readonly EventName[];

export function httpTransport(token: string, base = ''): Transport {
  const listeners = new Set<(e: DrayerEvent) => void>();
  const connListeners = new Set<(s: ConnectionState) => void>();
  let source: EventSource | null = null;
  let state: ConnectionState = 'connecting';

  const setState = (s: ConnectionState) => {
    if (s === state) return;
    state = s;
    for (const l of connListeners) l(s);
  };

  const open = () => {
    if (source) return;
    source = new EventSource(`${base}/api/events?token=${encodeURIComponent(token)}`);
    source.onopen = () => setState('open');
    // EventSource retries by itself; until it is back, the UI says the live updates paused.
    source.onerror = () => setState('lost');
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (m) => {
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
      let res: Response;
      try {
        res = await fetch(`${base}/api/${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(arg ?? {}),
        });
      } catch {
        throw new ApiError('UNREACHABLE', 'Drayer is not answering. Check that the node is still running, then try again.');
      }
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
