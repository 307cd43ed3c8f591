// The renderer's one door to the engine: the DrayerApi plus the state of its event channel.
// HTTP+SSE (the headless node's web UI) implements it today, Electron IPC will tomorrow; the
// stores receive one at start and never learn which.
import type { DrayerApi } from '../../app/node/api';

/**
 * lost: reconnecting; gone: not answering for a while, or another program has the address now
 * (the node may have restarted on another port); signedOut: the node answers, this page is not signed in.
 */
export type ConnectionState = 'connecting' | 'open' | 'lost' | 'gone' | 'signedOut';

export interface Transport extends DrayerApi {
  /** Called with the event channel's state now and on every change; after 'lost' → 'open', events may have been missed. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

export type {
  Arg,
  DrayerEvent,
  DrayerEvents,
  LastSync,
  Method,
  NearbyStream,
  NodeStatus,
  PostView,
  ReactionCount,
  Ret,
  Settings,
  StreamDetails,
  StreamSummary,
  SourceKind,
  SyncReport,
  TalkNote,
  Thread,
  TimelineItem,
} from '../../app/node/api';
export { ApiError } from '../../app/node/api';
