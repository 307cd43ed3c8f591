// Writing a private stream from a node (DESIGN §8): through its reader (private-streams.ts), which
// seals. What goes on to the library and discovery afterwards is read back from the stream's change
// feed, so it is the stored, sealed records: an announcement carries a short record whole, and a
// plaintext one must never reach the LAN.
import * as path from 'node:path';
import type { StreamSummary } from './api.js';
import { DrayerError } from '../core/errors.js';
import { formatKey } from '../core/keys.js';
import { addPost, type PostView } from '../store/posts.js';
import { createPrivateStream, type StreamView } from '../store/private-view.js';
import type { Stream, StreamInfo } from '../store/store.js';
import { encode } from '@msgpack/msgpack';
import { afterChange } from './changes.js';
import { takeInOwned } from './follow.js';
import { type NodeState, uniqueFile } from './state.js';
import { summary } from './views.js';

/** Run a write through the reader, then hand on what it stored, as stored. */
export function sealedWrite<T>(n: NodeState, s: Stream, write: () => T, removed: number[] = []): T {
  const before = s.lastSeq();
  const out = write();
  afterChange(n, s, { stored: s.changesSince(before).records, removed }, true);
  return out;
}

export function privatePost(n: NodeState, s: Stream, v: StreamView, title: string, body: string): PostView {
  return sealedWrite(n, s, () => addPost(v, { title, body }));
}

/** setStreamInfo of a private stream: its sealed drayer/info (the library keeps the key's words as its name: what it announces is not to carry it). */
export function privateInfo(n: NodeState, s: Stream, v: StreamView, change: { name?: string; about?: string }): StreamSummary {
  const info: StreamInfo = {
    ...v.info(),
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.about !== undefined ? { about: change.about } : {}),
  };
  sealedWrite(n, s, () => v.put('drayer', 'info', encode(info)));
  return summary(n, formatKey(s.publicKey));
}

/** createStream with `private`: a new private stream of your own, its read key beside it. */
export async function createPrivate(n: NodeState, name: string, about?: string, announcePrivately?: boolean): Promise<StreamSummary> {
  if (typeof name !== 'string' || !name.trim()) throw new DrayerError('INVALID_ARGUMENT', 'A stream needs a name.');
  const file = uniqueFile(n, 'private');
  n.dataDirWatcher?.expect(file); // taken in below, not by a scan
  const { stream: s } = await createPrivateStream(path.join(n.dataDir, file), { name: name.trim(), about });
  // named '' in the library: what it names goes out in listings, and a private stream's name must not
  return takeInOwned(n, s, file, '', announcePrivately);
}
