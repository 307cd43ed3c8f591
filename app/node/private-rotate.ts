// The API's rotateReadKey (DESIGN §8): the stream's read key rotated (store/private-rotate.ts),
// then the node's reader of it made again and what changed handed to the library and the LAN.
import { DrayerError } from '../core/errors.js';
import { readLink } from '../core/private.js';
import { openView } from '../store/private-view.js';
import { devicesNote, rotateReadKey } from '../store/private-rotate.js';
import type { DrayerRecord } from '../core/record.js';
import type { Stream } from '../store/store.js';
import { afterChange } from './changes.js';
import { forgetReader, readerOf } from './private-streams.js';
import type { NodeState } from './state.js';

export async function rotateAccess(n: NodeState, s: Stream): Promise<{ readLink: string; records: number; files: number; devices?: string }> {
  if (!readerOf(s)) throw new DrayerError('NOT_WRITABLE', 'This stream has no read key here to rotate (it is public, or a blind mirror of a private stream).');
  const before = s.lastSeq();
  let r: Awaited<ReturnType<typeof rotateReadKey>>;
  try {
    r = await rotateReadKey(await openView(s));
  } finally {
    forgetReader(s); // the key beside the file changed (or, on failure, may have)
  }
  const stored: DrayerRecord[] = [];
  for (let since = before; ;) {
    const page = s.changesSince(since, { limit: 10_000 });
    stored.push(...page.records);
    if (!page.more) break;
    since = page.seq;
  }
  afterChange(n, s, { stored, removed: r.removed }, true);
  return {
    readLink: readLink(s.publicKey, r.readKey.bytes),
    records: r.records,
    files: r.files,
    ...(r.deviceRecords ? { devices: devicesNote(r.deviceRecords) } : {}),
  };
}
