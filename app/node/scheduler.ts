// The sync scheduler: when to pull what from whom. A round every syncIntervalS, pulls that LAN
// announcements start (rate-limited), one pull per stream at a time and a few at once in all,
// backoff per failing peer, and cursors kept in library.db only for peers that proved themselves.
import type { SyncReport } from './api.js';
import { SYNC_INTERVAL_MAX_S, SYNC_INTERVAL_MIN_S } from './api-schema.js';
import { peerId } from '../core/peer.js';
import { formatKey } from '../core/keys.js';
import { isLanHost } from '../net/lan.js';
import { type CursorStore, pull, type PullResult } from '../net/sync.js';
import { type RateLimit, TokenBucket } from '../net/discovery.js';
import type { Applier } from '../store/verifier.js';
import { preparedApplier } from '../store/verifier.js';
import { afterChange } from './changes.js';
import { emit } from './events.js';
import { configuredSources, sourcesFor } from './sources.js';
import { heldBack, noteRound, noteSync } from './sync-report.js';
import { DEFAULT_SETTINGS, lanSkip, pausedError, remember, settingsOf, streamOf, syncModeOf, type NodeState, type PullHint, type SyncState } from './state.js';

const MAX_PULLS = 4;
/**
 * Pulls that LAN announcements start. An announcement is a hint anyone can send (any M-tip can
 * be claimed, any genuine record replayed, and ports cost nothing, so every packet can name a
 * new URL): it never skips a peer's backoff, and starts pulls at a bounded rate, per source
 * address and in total. The scheduled sync catches up on whatever is not pulled at once.
 */
const ANNOUNCED_PULLS_PER_ADDRESS: RateLimit = { burst: 4, perSecond: 0.5 };
const ANNOUNCED_PULLS: RateLimit = { burst: 16, perSecond: 2 };

/** Empty books for a node starting. */
export function newSyncState(): SyncState {
  return {
    peerState: new Map(),
    looseCursors: new Map(),
    announcedPulls: new Map(),
    pullBuckets: new Map(),
    pullBucket: new TokenBucket(ANNOUNCED_PULLS, Date.now()),
    syncing: new Map(),
    cancels: new Map(),
    activePulls: 0,
    pullWaiters: [],
  };
}

/** Pull one stream from every known source (or just `only`); failures back off per peer. */
export function syncStream(n: NodeState, pk: string, only?: string, force = false): Promise<SyncReport[]> {
  const { syncing } = n.sync;
  const key = `${pk} ${only ?? '*'}`;
  const running = syncing.get(key);
  if (running) return running;
  // One pull of a stream at a time: two would fetch the same chunks twice, and the first to end
  // would say "synced" while the other still brings the rest. A pull not asked for by hand joins
  // the running one; one asked for by hand (a follow, Sync now) waits for it, then runs.
  const other = [...syncing].find(([k]) => k.startsWith(`${pk} `))?.[1];
  if (other && !force) return other;
  const job = (other ? other.catch(() => []).then(() => runSync(n, pk, only, force)) : runSync(n, pk, only, force)).finally(() => syncing.delete(key));
  syncing.set(key, job);
  return job;
}

/** Stop the running (or waiting) pull of a stream; false when there is none. */
export function cancelSync(n: NodeState, pk: string): boolean {
  const stop = n.sync.cancels.get(pk);
  if (!stop || stop.signal.aborted) return false;
  stop.abort();
  return true;
}

/** Verify in the worker pool (the next page while this one is applied), then index and announce. */
function applierFor(n: NodeState): Applier {
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

/** At most MAX_PULLS pulls run at once; the rest wait their turn. */
async function slot<T>(st: SyncState, fn: () => Promise<T>): Promise<T> {
  while (st.activePulls >= MAX_PULLS) await new Promise<void>((r) => st.pullWaiters.push(r));
  st.activePulls++;
  try {
    return await fn();
  } finally {
    st.activePulls--;
    st.pullWaiters.shift()?.();
  }
}

async function runSync(n: NodeState, pk: string, only: string | undefined, force: boolean): Promise<SyncReport[]> {
  const stop = new AbortController();
  n.sync.cancels.set(pk, stop);
  try {
    return await slot(n.sync, async () => {
      if (!stop.signal.aborted) return runSyncNow(n, pk, only, force, stop.signal);
      noteSync(n, pk, { at: Date.now(), peer: only ?? '', records: 0, stored: 0, cancelled: true }); // stopped while waiting its turn
      return [];
    });
  } finally {
    if (n.sync.cancels.get(pk) === stop) n.sync.cancels.delete(pk);
  }
}

async function runSyncNow(n: NodeState, pk: string, only: string | undefined, force: boolean, signal: AbortSignal): Promise<SyncReport[]> {
  const s = streamOf(n, pk);
  if (s.writable && !only) return [];
  if (!force && heldBack(n, pk)) return [];
  // The mode is read as the pull starts (a pull waiting for its slot may find sync paused).
  if (syncModeOf(n) === 'paused') {
    if (force) throw pausedError('nothing was fetched');
    return [];
  }
  const { peerState } = n.sync;
  const reports: SyncReport[] = [];
  const configured = configuredSources(n, s);
  for (const url of only ? [peerId(only)] : sourcesFor(n, s)) {
    if (n.stopped) break;
    const skipped = lanSkip(n, url);
    if (skipped) {
      reports.push({ publicKey: pk, peer: url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, skipped });
      continue;
    }
    const st = peerState.get(url) ?? { failures: 0, nextTry: 0 };
    if (!force && st.nextTry > Date.now()) continue;
    // A peer heard of only on the LAN enters library.db once it has served a verified new
    // record: anyone can announce, and answer a pull with an empty page.
    let proven = configured.has(url) || n.library.getPeer(url) !== undefined;
    const base = applierFor(n);
    const applier: Applier = async (stream, recs) => {
      const r = await base(stream, recs);
      if (r.stored.length > 0) proven = true;
      return r;
    };
    applier.prepare = base.prepare;
    try {
      const res: PullResult = await pull(s, url, {
        cursors: cursorsFor(n, () => proven),
        lanOnly: syncModeOf(n) === 'lan',
        // Scheduled pulls get a time budget so one slow or hostile source cannot hold up the
        // others for long; the cursor keeps the work done, the next round resumes.
        maxDurationMs: force ? undefined : 5 * 60_000,
        applier,
        signal,
        onProgress: (p) =>
          emit(n, 'syncProgress', {
            publicKey: pk,
            peer: url,
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
      if (proven) n.library.upsertPeer({ url, lastOk: Date.now(), lastSeen: Date.now(), failures: 0, nextTry: 0 });
      emit(n, 'syncProgress', { publicKey: pk, peer: url, records: res.records, bytes: res.bytes, done: true });
      reports.push({
        publicKey: pk,
        peer: url,
        records: res.records,
        stored: res.stored,
        removed: res.removed,
        duplicates: res.duplicates,
        rejected: res.rejected,
        bytes: res.bytes,
      });
    } catch (err) {
      if (signal.aborted) {
        // Stopped by the user: what arrived is kept (cursors move per page, chunks are stored as
        // they come); no backoff, no other source, and no automatic sync until one by hand.
        emit(n, 'syncProgress', { publicKey: pk, peer: url, records: 0, bytes: 0, done: true, cancelled: true });
        reports.push({ publicKey: pk, peer: url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, cancelled: true });
        break;
      }
      const failures = st.failures + 1;
      const backoff = Math.min(30 * 60_000, 5_000 * 2 ** Math.min(failures, 10));
      remember(peerState, url, { failures, nextTry: Date.now() + backoff });
      if (proven) n.library.upsertPeer({ url, failures, nextTry: Date.now() + backoff });
      const msg = (err as Error).message;
      emit(n, 'syncProgress', { publicKey: pk, peer: url, records: 0, bytes: 0, done: true, error: msg });
      reports.push({ publicKey: pk, peer: url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, error: msg });
    }
  }
  noteRound(n, pk, reports);
  return reports;
}

/** Sync cursors in library.db once `proven()`; until then in memory (bounded). */
function cursorsFor(n: NodeState, proven: () => boolean): CursorStore {
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
      if (!proven()) return remember(loose, key(peer, pk), { node, seq });
      loose.delete(key(peer, pk));
      lib.setCursor(peer, pk, node, seq);
    },
  };
}

/** An announcement says a followed stream has something newer at a peer: maybe pull (see ANNOUNCED_PULLS). */
export function pullOnAnnouncement(n: NodeState, hint: PullHint): void {
  const { announcedPulls, pullBuckets, pullBucket, peerState } = n.sync;
  const pk = formatKey(hint.publicKey);
  const s = n.streams.get(pk);
  if (n.stopped || !s || s.writable || hint.mod <= s.mtip()) return;
  const mode = syncModeOf(n);
  if (mode === 'paused' || (mode === 'lan' && !isLanHost(hint.address))) return;
  if (!Number.isInteger(hint.port) || hint.port <= 0 || hint.port > 65535) return;
  if (announcedPulls.has(pk)) {
    // one at a time per stream; the latest hint is tried when it ends
    announcedPulls.set(pk, hint);
    return;
  }
  const url = peerId(`http://${hint.address.includes(':') ? `[${hint.address}]` : hint.address}:${hint.port}`);
  const now = Date.now();
  if ((peerState.get(url)?.nextTry ?? 0) > now) return;
  let bucket = pullBuckets.get(hint.address);
  if (!bucket) remember(pullBuckets, hint.address, (bucket = new TokenBucket(ANNOUNCED_PULLS_PER_ADDRESS, now)));
  if (!bucket.take(now) || !pullBucket.take(now)) return;
  announcedPulls.set(pk, null);
  void syncStream(n, pk, url)
    .catch(() => {})
    .finally(() => {
      const next = announcedPulls.get(pk);
      announcedPulls.delete(pk);
      if (next) pullOnAnnouncement(n, next);
    });
}

/** Every syncIntervalS (from a second after the start), a round of pulls of every followed stream. */
export function scheduleSync(n: NodeState): void {
  let timer: NodeJS.Timeout;
  const round = async () => {
    // Paused: no pulls this round; the timer keeps going, so sync resumes by itself.
    if (syncModeOf(n) !== 'paused') for (const [pk, s] of n.streams) if (!s.writable) await syncStream(n, pk).catch(() => {});
  };
  const tick = () => {
    n.timers = n.timers.filter((t) => t !== timer); // one sync timer at a time, not one more per round
    if (n.stopped) return;
    // Each pull reports its own failure; whatever else goes wrong in a round, the next one is still set.
    void round()
      .catch(() => {})
      .finally(() => {
        if (n.stopped) return;
        // Clamped: a setting stored before it was bounded must not overflow setTimeout into a 1 ms loop.
        const s = settingsOf(n).syncIntervalS;
        const every = Number.isFinite(s) ? Math.min(Math.max(s, SYNC_INTERVAL_MIN_S), SYNC_INTERVAL_MAX_S) : DEFAULT_SETTINGS.syncIntervalS;
        n.timers.push((timer = setTimeout(tick, every * 1000)));
      });
  };
  n.timers.push((timer = setTimeout(tick, 1000)));
}
