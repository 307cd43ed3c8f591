// Pulling from original Drayer nodes, which serve no changes feed: their newRecords endpoint, page
// by newest mod, with the same bounds as a changes pull, and what to say when it fails.
import { DrayerError } from '../core/errors.js';
import { MSGPACK_LIMITS } from '../core/msgpack.js';
import type { Stream } from '../store/store.js';
import type { Applier } from '../store/verifier.js';
import { rememberOriginal, type CursorStore } from './sync-cursors.js';
import { fetchBounded, HttpStatusError, Resumes } from './sync-fetch.js';
import { leaveWindow } from './sync-files.js';
import {
  accountApplied,
  decodeAnswer,
  decodeRecords,
  rejectionSummary,
  ReplayGuard,
  SYNC_LIMITS,
  tallyRejection,
  validCount,
  watch,
  type PullOptions,
  type PullResult,
} from './sync-pages.js';

/** quote_plus(base64(pk)), as the original Drayer builds its URLs. */
export function quotePlusKey(pk: Uint8Array): string {
  return encodeURIComponent(Buffer.from(pk).toString('base64')).replace(/%20/g, '+');
}

/**
 * Original Drayer peers: GET /<pk>/newRecords/<t> gives records with mod > t, oldest first, ~100 a
 * call. `how`: the peer was remembered as an original node, or its answer to /changes (`changes`);
 * `how.pull` pulls its changes feed instead, should a remembered peer turn out to be a Drayer node.
 */
export async function pullNewRecords(
  stream: Stream,
  peer: string,
  opts: PullOptions,
  result: PullResult,
  apply: Applier,
  how: {
    cursors: CursorStore;
    remembered?: boolean;
    changes?: HttpStatusError;
    pull: (stream: Stream, peer: string, opts: PullOptions) => Promise<PullResult>;
  },
): Promise<PullResult> {
  result.protocol = 'newRecords';
  const pk = stream.publicKey;
  const maxBytes = opts.maxResponseBytes ?? SYNC_LIMITS.maxResponseBytes;
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const deadline = Date.now() + (opts.maxDurationMs ?? SYNC_LIMITS.maxDurationMs);
  const { progress, busy } = watch(peer, opts, deadline);
  let t = stream.mtip();
  // Each call must bring a newer mod, but its page may pad that with records that change nothing.
  const guard = new ReplayGuard(stream);
  let unfinished = false;
  let calls = 0;
  let valueBytes = 0; // an original peer tells no total: its progress counts without one
  const resumes = new Resumes();
  for (;;) {
    if (Date.now() > deadline) throw new DrayerError('IO', `Sync with ${peer} took too long and was stopped.`);
    const url = `${peer}/${quotePlusKey(pk)}/newRecords/${t}`;
    let buf: Uint8Array;
    let drayer = false;
    try {
      buf = await fetchBounded(url, {
        maxBytes,
        timeoutMs,
        signal: opts.signal,
        onDrayer: (d) => (drayer = d),
        lanOnly: opts.lanOnly,
        localAddress: opts.localAddress,
        busy,
      });
    } catch (e) {
      if (e instanceof HttpStatusError) throw newRecordsFailed(peer, pk, e, how, calls === 0);
      if (await resumes.after(e, peer, opts.signal)) continue; // as in pull: from the newest mod applied
      throw e;
    }
    if (calls++ === 0 && drayer && how.remembered) {
      // The address is a Drayer node now: forget, and pull its changes feed instead.
      rememberOriginal(peer, how.cursors, false);
      return how.pull(stream, peer, opts);
    }
    result.bytes += buf.byteLength;
    const list = decodeAnswer(buf, url, MSGPACK_LIMITS.newRecords);
    if (!Array.isArray(list)) throw new DrayerError('IO', `${url} did not send a list of records.`);
    if (calls === 1 && !drayer && !how.remembered) rememberOriginal(peer, how.cursors, true);
    if (list.length > 10_000) throw new DrayerError('IO', `${peer} sent an oversized page; stopped.`);
    const decoded = decodeRecords(list, pk, result.rejections, `the page after mod ${t}`);
    const recs = decoded.filter((r) => r.mod > t);
    for (const r of decoded) if (r.mod <= t) tallyRejection(result.rejections, 'not newer than the records asked for', `record ${r.id}`);
    result.rejected += list.length - recs.length;
    if (recs.length === 0) break;
    result.records += recs.length;
    for (const x of recs) valueBytes += x.val?.byteLength ?? 0;
    const r = await apply(stream, recs);
    if (r.stored.length && !unfinished) {
      stream.markSync(peer, true);
      unfinished = true;
    }
    accountApplied(result, r);
    // The next call starts after this page's newest mod; a page in which no record verifies must
    // not move it (a forger could otherwise lead the follower on forever, or past honest records).
    if (validCount(r) === 0) throw new DrayerError('IO', `${peer} sent a page with no valid record (${r.rejected[0]?.reason ?? 'nothing usable'}); stopped.`);
    const last = Math.max(...recs.map((x) => x.mod));
    if (last <= t) break;
    t = last;
    resumes.progress();
    progress({ records: result.records, bytes: result.bytes, seq: t, size: valueBytes });
    // Original peers cannot filter, so a partial copy is sent records outside its range: honest, not waste.
    const replaying = guard.page(list.length, r.stored.length, buf.byteLength, r.skipped);
    if (replaying) throw new DrayerError('IO', `${peer} ${replaying}${result.rejected ? ` Rejected: ${rejectionSummary(result.rejections)}.` : ''}`);
  }
  stream.markSync(peer, false);
  leaveWindow(stream, result);
  return result;
}

/** What to say when newRecords answers an error status: `first`, to the pull's first call. */
function newRecordsFailed(
  peer: string,
  pk: Uint8Array,
  e: HttpStatusError,
  how: { remembered?: boolean; changes?: HttpStatusError },
  first: boolean,
): DrayerError {
  const key = Buffer.from(pk).toString('base64');
  if (!first)
    return new DrayerError('IO', `${e.message} part way through the original Drayer protocol; what arrived is kept, and the next sync goes on from there.`);
  if (how.changes?.status === 404 && e.status === 404)
    return new DrayerError('NOT_FOUND', `${peer} does not serve stream ${key} (HTTP 404); check the key and the address.`);
  // An original node answers 500 both for a path it does not know and for a stream it does not hold.
  const asked = how.remembered
    ? `${peer}, an original Drayer node when last asked, answered HTTP ${e.status} for stream ${key}`
    : `${peer} answered HTTP ${how.changes!.status} to Drayer's sync request and HTTP ${e.status} to the original Drayer's (newRecords) for stream ${key}`;
  return new DrayerError(
    e.status === 404 ? 'NOT_FOUND' : 'IO',
    `${asked}: it does not hold this stream (check the key and the address) or it is failing (try again later).`,
  );
}
