// Streams held without being followed (issue 21): `follow` with `hold` keeps and serves a copy (a
// mirror kept for others, a stream of someone in a conversation) whose posts stay out of Home.
// Replies found in such streams show in a thread only behind "N more replies from people you
// don't follow", never silently mixed in with those of the people you follow.
import type { NodeState } from './state.js';

/** Keys of the streams held here only (not yours, not followed). */
export function heldOnly(n: NodeState): Set<string> {
  return new Set(
    n.library
      .listStreams()
      .filter((e) => !e.owned && e.settings.hold === true)
      .map((e) => e.publicKey),
  );
}

/** What Home lists: every stream but those held only (undefined: all of them, the common case). */
export function homeStreams(n: NodeState): string[] | undefined {
  const only = heldOnly(n);
  if (only.size === 0) return undefined;
  return n.library
    .listStreams()
    .map((e) => e.publicKey)
    .filter((pk) => !only.has(pk));
}
