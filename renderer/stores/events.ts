// Feeds the stores from the node's events. Bursts (a clone applies page after page) are folded
// into one refresh; after the event channel was lost and is back, everything is read again.
import { transport } from '../api';
import type { DrayerEvent } from '../api/transport';
import { useSettings } from './settings';
import { useStreams } from './streams';
import { useSync } from './sync';
import { useTalk } from './talk';
import { useTimeline } from './timeline';
import { useUi } from './ui';

/**
 * fn at once for the first call, then once more at the end of each `ms` that had calls: a post
 * arriving shows without waiting, and a clone's page after page still folds into a refresh per `ms`.
 */
function throttle(fn: () => void, ms: number): () => void {
  let t: ReturnType<typeof setTimeout> | null = null;
  let again = false;
  const tick = () => {
    if (!again) return void (t = null);
    again = false;
    fn();
    t = setTimeout(tick, ms);
  };
  return () => {
    if (t) return void (again = true);
    fn();
    t = setTimeout(tick, ms);
  };
}

function debounce(fn: () => void, ms: number): () => void {
  let t: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (t) clearTimeout(t);
    t = setTimeout(() => {
      t = null;
      fn();
    }, ms);
  };
}

export function reloadAll(): Promise<unknown> {
  return Promise.all([useStreams.getState().load(), useTimeline.getState().loadInitial(), useSettings.getState().load(), useStreams.getState().loadNearby()]);
}

export function connectEvents(): () => void {
  const t = transport();
  let remote = false;
  let local = false;
  const touched = new Set<string>();
  const refresh = throttle(() => {
    const wasLocal = local && !remote;
    local = remote = false;
    const pks = [...touched];
    touched.clear();
    useTalk.getState().bump(); // a reply or a reaction may be about a post of any stream
    // The post first: with hundreds of streams, their list (asked for and drawn again) would hold back its card.
    void useTimeline
      .getState()
      .refreshHead(wasLocal)
      .finally(() => {
        void useStreams.getState().load();
        const details = useStreams.getState().details;
        for (const pk of pks)
          if (details[pk])
            void useStreams
              .getState()
              .loadDetails(pk)
              .catch(() => {});
      });
  }, 150);
  const nearby = debounce(() => void useStreams.getState().loadNearby(), 300);

  const off = t.subscribe((e: DrayerEvent) => {
    switch (e.event) {
      case 'recordsChanged':
        if (e.data.local) local = true;
        else remote = true;
        touched.add(e.data.publicKey);
        refresh();
        break;
      case 'syncProgress':
        useSync.getState().onProgress(e.data);
        break;
      case 'streamsChanged':
        void useStreams.getState().load();
        nearby();
        break;
      case 'settingsChanged':
        useSettings.getState().applied(e.data);
        break;
      case 'peerFound':
      case 'peerLost':
        nearby();
        break;
    }
  });
  let wasLost = false;
  const offConn = t.onConnection((c) => {
    useUi.getState().setConnection(c);
    if (c !== 'open' && c !== 'connecting') wasLost = true;
    if (c === 'open' && wasLost) {
      wasLost = false;
      void reloadAll();
    }
  });
  return () => {
    off();
    offConn();
  };
}
