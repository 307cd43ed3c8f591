// A device of a private stream takes the owner's rotated read key (store/device-rekey.ts) after a
// pull brings the rotation, and at start when a re-seal was stopped part way. Then the node reads
// the stream with the new key, indexes it again and tells the LAN of its re-sealed records.
import { formatKey } from '../core/keys.js';
import { deviceKeyBeside } from '../store/devices.js';
import { rekeyPending, takeRotatedKey } from '../store/device-rekey.js';
import type { Stream } from '../store/store.js';
import { afterChange } from './changes.js';
import { emit } from './events.js';
import { forgetReader } from './private-streams.js';
import { describeStream, type NodeState } from './state.js';
import { forgetSummary } from './views.js';

const running = new WeakMap<Stream, Promise<void>>();

/** Take a rotated read key on this device copy of `s`, when there is one for it (one run at a time per stream). */
export function rekeyDevice(n: NodeState, s: Stream): Promise<void> {
  const had = running.get(s);
  if (had) return had;
  if (!s.db.open || !rekeyPending(s)) return Promise.resolve();
  const job = (async () => {
    const kp = deviceKeyBeside(s.file);
    if (!kp) return;
    const before = s.lastSeq();
    const r = await takeRotatedKey(s, kp);
    forgetReader(s);
    if (!r || !s.db.open) return;
    forgetSummary(s);
    n.library.indexStream(s, true);
    afterChange(n, s, { stored: s.changesSince(before).records, removed: r.removed }, true);
    emit(n, 'streamsChanged', {});
    n.log(
      `${describeStream(n.library.getStream(formatKey(s.publicKey))?.name ?? '', formatKey(s.publicKey))}: took the owner's new read key and sealed ${r.records} records of this device again.`,
    );
  })()
    .catch((e: unknown) => n.log(`Taking the new read key of ${formatKey(s.publicKey)} failed: ${(e as Error).message}`))
    .finally(() => running.delete(s));
  running.set(s, job);
  return job;
}

/** After a pull of stream `pk`: its rotated read key taken when this copy is a device of it. */
export function rekeyAfterPull(n: NodeState, pk: string): Promise<void> {
  const s = n.streams.get(pk);
  return s && !s.writable && s.devices().mine ? rekeyDevice(n, s) : Promise.resolve();
}
