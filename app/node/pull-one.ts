// One pull of a stream from one source (the scheduler decides which, and when): verified in the
// worker pool, applied, indexed and announced; its cursors kept in library.db only for a peer that
// proved itself; a failure backs the source off. Split from scheduler.ts.
import type { SyncReport } from './api.js';
import { type CursorStore, pull, type PullResult } from '../net/sync.js';
import { HttpStatusError } from '../net/sync-fetch.js';
import type { Applier } from '../store/verifier.js';
import { preparedApplier } from '../store/verifier.js';
import type { Stream } from '../store/store.js';
import { formatKey } from '../core/keys.js';
import { afterChange } from './changes.js';
import { emit } from './events.js';
import { sourceKind } from './sources.js';
import { remember, syncModeOf, type NodeState } from './state.js';

/** The abort reason of a stream let go of (releaseSyncs): its pulls stop and write nothing more. */
export const RELEASED = 'released';
export const released = (signal: AbortSignal): boolean => signal.aborted && signal.reason === RELEASED;

/** Verify in the worker pool (the next page while this one is applied), then index and announce. */
export function applierFor(n: NodeState): Applier {
  const pool = n.pool;
  if (!pool) {
    return (stream, recs) => {
      const r = stream.apply(recs);
      afterChange(n, stream, r, false);
      return r;
    };
  }
  const base = preparedApplier(pool);
  const applier: Applier = async (stream, recs) => {
    const r = await base(stream, recs);
    afterChange(n, stream, r, false);
    return r;
  };
  applier.prepare = base.prepare;
  return applier;
}

/** Whether a pull ended because its source kept answering busy (429, or 503 with Retry-After). */
function busyAnswer(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 4; x = (x as { cause?: unknown }).cause, depth++)
    if (x instanceof HttpStatusError && (x.status === 429 || x.status === 503)) return true;
  return false;
}

/**
 * One pull of a stream from one source, as a report; a failure backs the source off. `moveOn`: a busy
 * answer ends it at once (`busy`, no backoff: the source is there, only busy), as another source is next;
 * `busyWaitMs`: how long a busy source is waited for otherwise (a scheduled pull: 5 minutes).
 */
export async function pullFrom(
  n: NodeState,
  s: Stream,
  url: string,
  configured: boolean,
  force: boolean,
  signal: AbortSignal,
  moveOn = false,
  busyWaitMs?: number,
): Promise<SyncReport & { busy?: boolean }> {
  const pk = formatKey(s.publicKey);
  const via = sourceKind(n, s, url);
  const { peerState } = n.sync;
  const st = peerState.get(url) ?? { failures: 0, nextTry: 0 };
  // A peer heard of only on the LAN enters library.db once it has served a verified new
  // record: anyone can announce, and answer a pull with an empty page.
  const known = n.library.getPeer(url);
  let proven = configured || known !== undefined;
  const base = applierFor(n);
  const applier: Applier = async (stream, recs) => {
    const r = await base(stream, recs);
    if (r.stored.length > 0) proven = true;
    return r;
  };
  applier.prepare = base.prepare;
  try {
    const res: PullResult = await pull(s, url, {
      // a copy let go of meanwhile writes no cursor: it would be the next copy's (which holds none of it)
      cursors: cursorsFor(
        n,
        () => proven,
        () => n.streams.peek(pk) === s,
      ),
      lanOnly: syncModeOf(n) === 'lan',
      ...(moveOn ? { busyWaitMs: 0 } : busyWaitMs !== undefined ? { busyWaitMs } : {}),
      ...(n.opts.connectFrom ? { localAddress: n.opts.connectFrom } : {}),
      // Scheduled pulls get a time budget so one slow or hostile source cannot hold up the
      // others for long; the cursor keeps the work done, the next round resumes.
      maxDurationMs: force ? undefined : 5 * 60_000,
      applier,
      signal,
      onProgress: (p) =>
        emit(n, 'syncProgress', {
          publicKey: pk,
          peer: url,
          via,
          records: p.records,
          recordsTotal: p.recordsTotal,
          bytes: p.bytes,
          chunks: p.chunks,
          chunksTotal: p.chunksTotal,
          size: p.size,
          sizeTotal: p.sizeTotal,
          waiting: p.waiting,
          done: false,
        }),
    });
    if (res.infoFilled) afterChange(n, s, { stored: [s.get('drayer', 'info')!], removed: [] }, false); // the name arrived
    if (res.leftWindow) afterChange(n, s, { stored: [], removed: res.leftWindow }, false); // off the timeline too
    remember(peerState, url, { failures: 0, nextTry: 0 });
    // library.db hears of the peer when it is new there, recovers, or brought something: an empty pull writes nothing.
    if (proven && (!known || known.failures || known.nextTry || res.stored || res.removed))
      n.library.upsertPeer({ url, lastOk: Date.now(), lastSeen: Date.now(), failures: 0, nextTry: 0 });
    emit(n, 'syncProgress', { publicKey: pk, peer: url, via, records: res.records, bytes: res.bytes, done: true });
    return {
      publicKey: pk,
      peer: url,
      via,
      records: res.records,
      stored: res.stored,
      removed: res.removed,
      duplicates: res.duplicates,
      rejected: res.rejected,
      bytes: res.bytes,
    };
  } catch (err) {
    if (signal.aborted) {
      // Stopped by the user: what arrived is kept (cursors move per page, chunks are stored as
      // they come); no backoff, no other source, and no automatic sync until one by hand.
      if (!released(signal)) emit(n, 'syncProgress', { publicKey: pk, peer: url, via, records: 0, bytes: 0, done: true, cancelled: true });
      return { publicKey: pk, peer: url, via, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, cancelled: true };
    }
    if (moveOn && busyAnswer(err)) return { publicKey: pk, peer: url, via, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, busy: true };
    const failures = st.failures + 1;
    const backoff = Math.min(30 * 60_000, 5_000 * 2 ** Math.min(failures, 10));
    remember(peerState, url, { failures, nextTry: Date.now() + backoff });
    if (proven) n.library.upsertPeer({ url, failures, nextTry: Date.now() + backoff });
    const msg = (err as Error).message;
    emit(n, 'syncProgress', { publicKey: pk, peer: url, via, records: 0, bytes: 0, done: true, error: msg });
    return { publicKey: pk, peer: url, via, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, error: msg };
  }
}

/** Sync cursors in library.db once `proven()`; until then in memory (bounded). */
function cursorsFor(n: NodeState, proven: () => boolean, held: () => boolean): CursorStore {
  const lib = n.library;
  const loose = n.sync.looseCursors;
  const key = (peer: string, pk: string): string => `${peer} ${pk}`;
  return {
    getCursor: (peer, pk, node) => {
      const c = loose.get(key(peer, pk));
      return c ? (c.node === node ? c.seq : 0) : lib.getCursor(peer, pk, node);
    },
    lastNodeId: (peer, pk) => loose.get(key(peer, pk))?.node ?? lib.lastNodeId(peer, pk),
    setCursor: (peer, pk, node, seq) => {
      if (!held()) return;
      if (!proven()) return remember(loose, key(peer, pk), { node, seq });
      loose.delete(key(peer, pk));
      lib.setCursor(peer, pk, node, seq);
    },
  };
}
