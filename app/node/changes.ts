// After a stream changes (a write here, a pull, a write by another process such as the CLI):
// the library index, the UI (recordsChanged) and LAN followers (an announcement) learn of it.
import * as path from 'node:path';
import { formatKey } from '../core/keys.js';
import type { DrayerRecord } from '../core/record.js';
import { gcChunks } from '../store/files.js';
import type { Stream } from '../store/store.js';
import { emit } from './events.js';
import { servedStream, type NodeState } from './state.js';
import { mdnsChanged } from './presence-mdns.js';
import { announcedPrivately, privateLanOf } from './presence-private.js';

/** Everything a write changes reaches the index, the UI and the LAN. */
export function afterChange(n: NodeState, s: Stream, res: { stored: DrayerRecord[]; removed: number[] }, local: boolean): void {
  const pk = formatKey(s.publicKey);
  if (res.stored.length === 0 && res.removed.length === 0) return;
  n.library.noteApplied(s, res);
  // A mirror that lost or replaced a big file drops the chunks nothing refers to any more.
  if (!local && (res.removed.length > 0 || res.stored.some((r) => r.type === 'file'))) gcChunks(s);
  n.seenSeq.set(pk, s.lastSeq());
  n.sync.tips.delete(pk);
  // Only a changed info record can rename the stream: no decoding on every synced page.
  if (res.stored.some((r) => r.type === 'drayer' && r.key === 'info')) {
    const name = s.info().name;
    const e = n.library.getStream(pk);
    if (e && name && name !== e.name) n.library.updateStream(pk, { name: String(name) });
  }
  emit(n, 'recordsChanged', { publicKey: pk, stored: res.stored.length, removed: res.removed.length, local });
  announce(n, s, res.stored);
}

function announce(n: NodeState, s: Stream, stored: DrayerRecord[]): void {
  if (!n.discovery || !servedStream(n, s.publicKey)) return;
  const e = n.library.getStream(formatKey(s.publicKey));
  if (e?.settings.announce === false) return;
  // The newest record tells LAN followers there is something to pull (a mirror's only when the
  // LAN has not heard of it yet: discovery.ts announceRecord).
  const newest = stored.reduce<DrayerRecord | undefined>((a, r) => (!a || r.mod > a.mod ? r : a), undefined);
  if (!newest) return;
  // a private stream's goes sealed
  if (announcedPrivately(n, formatKey(s.publicKey))) privateLanOf(n)?.announceRecord(s.publicKey, newest, !s.writable);
  else n.discovery.announceRecord(s.publicKey, newest, !s.writable);
  // Where our group is filtered, followers learn of it over mDNS and read the listing again (a
  // private stream's M-tip is in its sealed part). The bump says only "something changed here",
  // which the sealed multicast record says as well.
  mdnsChanged(n);
}

/**
 * Streams whose seq one poll looks at. With more, they take turns: polling all 500 streams of a
 * big library twice a second kept the node's thread busy between everything else it did.
 */
const POLLED_PER_TICK = 50;
const pollTurn = new WeakMap<NodeState, number>();

/** A stream's file name when its file is in the data directory (watched), else null. */
const namesInDir = new WeakMap<Stream, string | null>();
function inDataDir(n: NodeState, s: Stream): string | null {
  let name = namesInDir.get(s);
  if (name === undefined) {
    const f = path.resolve(s.file);
    namesInDir.set(s, (name = path.dirname(f) === path.resolve(n.dataDir) ? path.basename(f) : null));
  }
  return name;
}

/** With the data directory watched, every stream is polled only every this many ticks; those written to, at once. */
const SWEEP_EVERY = 10;
const ticks = new WeakMap<NodeState, number>();

/**
 * Writes by other processes (the CLI beside `drayer serve`) are noticed by polling the seq: of the
 * streams whose files the data directory's watcher saw written to (and those kept elsewhere) at
 * every tick, of all of them every SWEEP_EVERY ticks (in case the filesystem reports nothing).
 * Polling all of them at every tick was most of an idle node's CPU.
 */
export function watchLocalChanges(n: NodeState): void {
  const held = [...n.streams];
  const written = n.dataDirWatcher?.takeWritten() ?? null;
  const tick = (ticks.get(n) ?? 0) + 1;
  ticks.set(n, tick);
  const polled: [string, Stream][] = [];
  if (written === null || tick % SWEEP_EVERY === 0) {
    const from = (pollTurn.get(n) ?? 0) % Math.max(1, held.length);
    const count = Math.min(held.length, POLLED_PER_TICK);
    pollTurn.set(n, from + count);
    for (let i = 0; i < count; i++) polled.push(held[(from + i) % held.length]!);
  } else if (written.size > 0 || held.length > 0) {
    for (const x of held) {
      const name = inDataDir(n, x[1]);
      if (name === null || written.has(name)) polled.push(x);
    }
  }
  for (const [pk, s] of polled) {
    try {
      const seq = s.lastSeq();
      if (seq === n.seenSeq.get(pk)) continue;
      n.seenSeq.set(pk, seq);
      n.sync.tips.delete(pk);
      const r = n.library.indexStream(s);
      emit(n, 'recordsChanged', { publicKey: pk, stored: r.indexed, removed: r.removed, local: true });
      const tip = s.changesSince(Math.max(0, seq - 1), { limit: 1, metaOnly: true }).records;
      announce(n, s, tip);
    } catch (err) {
      n.log(`watching ${pk}: ${(err as Error).message}`);
    }
  }
}

/** A local write of records the caller did not count (files, the avatar): those since seq `before` (10,000 at most) go out. */
export function afterWrite(n: NodeState, s: Stream, before: number): void {
  afterChange(n, s, { stored: s.changesSince(before, { metaOnly: true, limit: 10_000 }).records, removed: [] }, true);
}

/** Store a file the caller sent as bytes (or a finished upload), then index and announce it. */
export async function storeFile(
  n: NodeState,
  s: Stream,
  write: () => Promise<{ path: string; changed: boolean }>,
): Promise<{ path: string; changed: boolean }> {
  const before = s.lastSeq();
  const r = await write();
  if (r.changed) afterWrite(n, s, before);
  return r;
}
