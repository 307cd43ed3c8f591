// Pulling from original Drayer nodes, which serve no changes feed: their newRecords endpoint, read
// as a stream of records, and what to say when it fails.
import { DrayerError } from '../core/errors.js';
import { decodeBounded, MSGPACK_LIMITS, MsgpackError } from '../core/msgpack.js';
import { ArrayItemSplitter } from '../core/msgpack-items.js';
import type { DrayerRecord } from '../core/record.js';
import type { Stream } from '../store/store.js';
import type { Applier } from '../store/verifier.js';
import { rememberOriginal, type CursorStore } from './sync-cursors.js';
import { fetchStreamed, HttpStatusError, isTransient, Resumes, TransientError } from './sync-fetch.js';
import { leaveWindow } from './sync-files.js';
import {
  accountApplied,
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
 * What an original Drayer's answer may cost: the records are verified and stored in batches of at
 * most this many records or bytes of values, so memory holds one batch (and one record being read).
 */
export const ORIGINAL_LIMITS = { batchRecords: 500, batchBytes: 8 * 1024 * 1024, firstReportMs: 3000 } as const;

/** Thrown from inside an answer to stop reading it: the remembered original is a Drayer node now. */
class NowDrayer extends DrayerError {
  constructor() {
    super('IO', 'a Drayer node answered');
  }
}

/**
 * Original Drayer peers: GET /<pk>/newRecords/<t> gives every record with mod > t, oldest first, in
 * one msgpack list (drayer.py builds all of it before the first byte: minutes for ten thousand). So
 * the answer may take the pull's whole time to begin (reported as "still preparing"), then must
 * keep flowing (no silence of timeoutMs, no limit on the whole); it is read as it arrives, record
 * by record, and applied in batches; a break goes on from the newest mod applied. Its size is
 * bounded by opts.maxResponseBytes only when the caller sets it. `how`: the peer was remembered as
 * an original node, or its answer to /changes (`changes`); `how.pull` pulls its changes feed
 * instead, should a remembered peer turn out to be a Drayer node.
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
  const maxBytes = opts.maxResponseBytes ?? Number.MAX_SAFE_INTEGER;
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const deadline = Date.now() + (opts.maxDurationMs ?? SYNC_LIMITS.maxDurationMs);
  const { progress, busy } = watch(peer, opts, deadline);
  let t = stream.mtip();
  // Each answer must bring a newer mod, but it may pad that with records that change nothing.
  const guard = new ReplayGuard(stream);
  let unfinished = false;
  let calls = 0;
  let valueBytes = 0; // an original peer tells no total before its list begins: progress counts without one
  const resumes = new Resumes();
  for (;;) {
    if (Date.now() > deadline) throw new DrayerError('IO', `Sync with ${peer} took too long and was stopped; it resumes from here next time.`);
    const asked = t;
    const url = `${peer}/${quotePlusKey(pk)}/newRecords/${asked}`;
    const items = new ArrayItemSplitter(MSGPACK_LIMITS.newRecords.what, MSGPACK_LIMITS.originalRecord.maxBytes, MSGPACK_LIMITS.originalRecord.maxDepth);
    let drayer = false;
    let got = 0; // records this answer brought
    let batch: DrayerRecord[] = [];
    let batchBytes = 0;
    const first = calls++ === 0;
    const before = result.records;
    const answerTotal = () => (items.declared === undefined ? undefined : before + items.declared);
    /** Verify and store a batch; the next answer starts after its newest mod. */
    const flush = async () => {
      const recs = batch;
      batch = [];
      batchBytes = 0;
      if (recs.length === 0) return;
      result.records += recs.length;
      const r = await apply(stream, recs);
      if (r.stored.length && !unfinished) {
        stream.markSync(peer, true);
        unfinished = true;
      }
      accountApplied(result, r);
      // A batch in which no record verifies must not move the cursor (a forger could otherwise
      // lead the follower on forever, or past honest records).
      if (validCount(r) === 0) throw new DrayerError('IO', `${peer} sent a page with no valid record (${r.rejected[0]?.reason ?? 'nothing usable'}); stopped.`);
      t = Math.max(t, ...recs.map((x) => x.mod));
      resumes.progress();
      progress({ records: result.records, recordsTotal: answerTotal(), bytes: result.bytes, seq: t, size: valueBytes });
      // Original peers cannot filter, so a partial copy is sent records outside its range: honest, not waste.
      const replaying = guard.page(
        recs.length,
        r.stored.length,
        recs.reduce((n, x) => n + (x.val?.byteLength ?? 0), 0),
        r.skipped,
      );
      if (replaying) throw new DrayerError('IO', `${peer} ${replaying}${result.rejected ? ` Rejected: ${rejectionSummary(result.rejections)}.` : ''}`);
    };
    const take = (bytes: Uint8Array, i: number) => {
      let m: unknown;
      try {
        m = decodeBounded(bytes, MSGPACK_LIMITS.originalRecord);
      } catch (e) {
        throw new DrayerError('IO', e instanceof MsgpackError ? e.sentBy(url) : `${url} sent something that is not msgpack.`);
      }
      const [r] = decodeRecords([m], pk, result.rejections, `the answer after mod ${asked} (item ${i})`);
      if (!r) return void result.rejected++;
      if (r.mod <= asked) {
        tallyRejection(result.rejections, 'not newer than the records asked for', `record ${r.id}`);
        return void result.rejected++;
      }
      batch.push(r);
      batchBytes += bytes.byteLength;
      valueBytes += r.val?.byteLength ?? 0;
    };
    const waited = (ms: number) => {
      if (ms < ORIGINAL_LIMITS.firstReportMs) return;
      const since = asked ? `the records after mod ${asked}` : 'all its records';
      const so = ms < 60_000 ? `${Math.round(ms / 5000) * 5} s` : `${Math.round(ms / 60_000)} min`;
      progress({
        records: result.records,
        bytes: result.bytes,
        seq: t,
        size: valueBytes,
        waiting: `the original Drayer at ${peer} is still preparing ${since} (it sends them all at once, after ${so} so far)`,
      });
    };
    try {
      await fetchStreamed(
        url,
        {
          maxBytes,
          timeoutMs,
          beginMs: Math.max(timeoutMs, deadline - Date.now()),
          wholeMs: Number.POSITIVE_INFINITY,
          onWaiting: waited,
          signal: opts.signal,
          onDrayer: (d) => (drayer = d),
          lanOnly: opts.lanOnly,
          localAddress: opts.localAddress,
          busy,
        },
        async (part) => {
          if (first && drayer && how.remembered) throw new NowDrayer();
          result.bytes += part.byteLength;
          for (const bytes of items.push(part)) {
            take(bytes, got++);
            if (batch.length >= ORIGINAL_LIMITS.batchRecords || batchBytes >= ORIGINAL_LIMITS.batchBytes) await flush();
          }
          if (first && items.declared !== undefined && !drayer && !how.remembered) rememberOriginal(peer, how.cursors, true);
        },
      );
      try {
        items.end();
      } catch (e) {
        // a list cut short at a record's end: what came is applied, and the next answer goes on from it
        if (!(e instanceof MsgpackError) || items.declared === undefined) throw e;
        await flush();
        throw new TransientError('IO', e.sentBy(url));
      }
      await flush();
    } catch (e) {
      if (e instanceof NowDrayer) {
        // The address is a Drayer node now: forget, and pull its changes feed instead.
        rememberOriginal(peer, how.cursors, false);
        return how.pull(stream, peer, opts);
      }
      if (e instanceof HttpStatusError) throw newRecordsFailed(peer, pk, e, how, first);
      if (e instanceof MsgpackError) throw new DrayerError('IO', e.reason === 'is not a list' ? `${url} did not send a list of records.` : e.sentBy(url));
      // The records read whole before a break are kept: the next answer goes on after them.
      if (isTransient(e) && batch.length) await flush();
      // As in pull: from the newest mod applied (the records of the batch that broke are asked again).
      if (await resumes.after(e, peer, opts.signal)) continue;
      throw e;
    }
    if (got === 0 || t <= asked) break;
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
