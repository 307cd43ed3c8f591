// The node's events (DrayerEvents) going out to its subscribers, and the progress of running
// pulls kept so that a window subscribing mid-pull learns of them at once.
import type { DrayerEvent, DrayerEvents, EventName } from './api.js';
import type { NodeState } from './state.js';

export function emit<E extends EventName>(n: NodeState, event: E, data: DrayerEvents[E]): void {
  if (event === 'syncProgress') {
    const p = data as DrayerEvents['syncProgress'];
    if (p.done) n.liveProgress.delete(p.publicKey);
    else n.liveProgress.set(p.publicKey, p);
  }
  n.events.emit('event', { event, data } as DrayerEvent);
}

export function subscribe(n: NodeState, listener: (e: DrayerEvent) => void): () => void {
  n.events.on('event', listener);
  // A window opened mid-pull learns of it now, not at its next event (a held-up file may send none for a while).
  for (const data of n.liveProgress.values()) listener({ event: 'syncProgress', data });
  return () => n.events.off('event', listener);
}
