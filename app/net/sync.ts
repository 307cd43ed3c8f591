// The sync client (DESIGN §4): pull a stream's changes from a peer over HTTP, page by page,
// verify and apply them, and keep a cursor per (peer, stream) tied to the peer's store id so a
// replaced database restarts the feed. Falls back to the original Drayer's newRecords endpoint.
// Every response is bounded in size and time: a hostile peer can waste a request, nothing more.
// This file is the pull loop; its parts: sync-fetch (HTTP), sync-pages (pages, progress, result),
// sync-cursors, sync-files (values, chunks, tips, windows), sync-original (newRecords).
import { DrayerError, isDrayerError } from '../core/errors.js';
import { peerId } from '../core/peer.js';
import type { DrayerRecord } from '../core/record.js';
import type { ApplyResult, Stream } from '../store/store.js';
import type { Applier } from '../store/verifier.js';
import { isOriginal, streamCursors, windowCursors } from './sync-cursors.js';
import { fetchBounded, HttpStatusError, Resumes, urlSafeKey } from './sync-fetch.js';
import { fetchMissingChunks, fetchValue, leaveWindow, manifestBytes, openWindow } from './sync-files.js';
import { pullNewRecords } from './sync-original.js';
import { decodePlainChangesPage } from './changes-decode.js';
import {
  accountApplied,
  addRejections,
  decodeRecords,
  parseChangesPage,
  rejectionSummary,
  ReplayGuard,
  SYNC_LIMITS,
  validCount,
  watch,
  type ChangesPageWire,
  type PullOptions,
  type PullResult,
  type RejectionCount,
} from './sync-pages.js';

export { streamCursors, windowCursors, type CursorStore } from './sync-cursors.js';
export {
  ANSWER_TIME_FACTOR,
  BUSY_LIMITS,
  fetchBounded,
  guardedLookup,
  Patience,
  PULL_RESUMES,
  RESET_RETRIES,
  urlSafeKey,
  type FetchOptions,
} from './sync-fetch.js';
export { fetchMissingChunks, fetchValue, latestWindowStart, lowerWindowTo, remoteTips } from './sync-files.js';
export { quotePlusKey } from './sync-original.js';
export {
  REJECTION_LIMITS,
  rejectionSummary,
  SYNC_LIMITS,
  tallyRejection,
  type PullOptions,
  type PullProgress,
  type PullResult,
  type RejectionCount,
} from './sync-pages.js';

/** A changes page asked for (possibly ahead of need), fetched and decoded. */
interface PageRequest {
  since: number;
  limit: number;
  url: string;
  got: Promise<{ buf: Uint8Array; page: ChangesPageWire; recs: DrayerRecord[]; rejections: RejectionCount[] }>;
}

/** Pull everything new for `stream` from the peer at `baseUrl`. Resumable: progress is saved per page. */
export async function pull(stream: Stream, baseUrl: string, opts: PullOptions = {}): Promise<PullResult> {
  const peer = peerId(baseUrl);
  await openWindow(stream, peer, opts); // a "latest N" window may first reach further back
  const pk = stream.publicKey;
  const pkText = Buffer.from(pk).toString('base64');
  const cursors = windowCursors(stream, opts.cursors ?? streamCursors(stream));
  const apply: Applier = opts.applier ?? ((s, recs) => s.apply(recs));
  const maxBytes = opts.maxResponseBytes ?? SYNC_LIMITS.maxResponseBytes;
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const deadline = Date.now() + (opts.maxDurationMs ?? SYNC_LIMITS.maxDurationMs);
  const filter = stream.partial;
  const result: PullResult = {
    peer,
    protocol: 'changes',
    records: 0,
    stored: 0,
    removed: 0,
    duplicates: 0,
    rejected: 0,
    rejections: [],
    bytes: 0,
    chunks: 0,
    chunkBytes: 0,
  };
  const account = (r: ApplyResult) => accountApplied(result, r);
  const { progress, busy } = watch(peer, opts, deadline);

  if (isOriginal(peer, cursors)) return pullNewRecords(stream, peer, opts, result, apply, { cursors, remembered: true, pull });

  let limit = opts.pageLimit ?? SYNC_LIMITS.pageLimit;
  let node = cursors.lastNodeId?.(peer, pkText);
  let since = node ? cursors.getCursor(peer, pkText, node) : 0;
  let emptyPages = 0;
  let skippedPages = 0;
  let restarts = 0;
  const guard = new ReplayGuard(stream);
  // Set once a pull of several pages has stored something, cleared when it drains: an interrupted
  // one leaves it, and `verify` calls the copy incomplete rather than damaged. (A peer that stores
  // nothing here, hostile or idle, leaves no mark.)
  let unfinished = false;
  // One page of read-ahead: while a page is verified and applied, the next one is fetched and
  // decoded, so the network, the main thread and the verifier workers overlap. The cursor still
  // moves only after a page is applied; a read-ahead that is not used is aborted.
  // The read-ahead's own signal, made with the first page read ahead: a pull of one page (the
  // incremental case) makes none, nor the DOMException an abort() builds.
  let readAhead: { ctl: AbortController; signal: AbortSignal } | undefined;
  const aheadSignal = () => {
    if (!readAhead) {
      const ctl = new AbortController();
      readAhead = { ctl, signal: opts.signal ? AbortSignal.any([opts.signal, ctl.signal]) : ctl.signal };
    }
    return readAhead.signal;
  };
  let recordsTotal: number | undefined;
  // The byte-weighted progress (PullProgress.size): values received, and file data named so far.
  let valueBytes = 0;
  let fileBytes = 0;
  const sizeSoFar = (total: number | undefined) => ({
    size: valueBytes,
    sizeTotal: total === undefined ? undefined : Math.round(result.records ? (valueBytes * total) / result.records : 0) + fileBytes,
  });
  const request = (at: number, lim: number, count = false, early = false): PageRequest => {
    const q = new URLSearchParams({ since: String(at), limit: String(lim) });
    if (count) q.set('count', '1');
    if (filter.minId) q.set('minId', String(filter.minId));
    if (filter.minMod) q.set('minMod', String(filter.minMod));
    if (filter.metaOnly) q.set('meta', '1');
    const url = `${peer}/${urlSafeKey(pk)}/changes?${q}`;
    const signal = early ? aheadSignal() : opts.signal;
    const got = fetchBounded(url, { maxBytes, timeoutMs, signal, lanOnly: opts.lanOnly, localAddress: opts.localAddress, busy }).then((buf) => {
      // Records are decoded here too (the costly part); their rejections are merged when the page is used.
      // A page as Drayer servers write it is read in one pass; anything else by the general decoder.
      const rejections: RejectionCount[] = [];
      const plain = decodePlainChangesPage(buf, pk, lim);
      const page = plain?.page ?? parseChangesPage(buf, url);
      const recs = plain?.recs ?? (page.records.length <= lim ? decodeRecords(page.records, pk, rejections, `the page after seq ${at}`) : []);
      if (recs.length) apply.prepare?.(stream, recs);
      return { buf, page, recs, rejections };
    });
    got.catch(() => {}); // awaited below, or dropped with the read-ahead; never "unhandled"
    return { since: at, limit: lim, url, got };
  };
  let ahead: PageRequest | undefined;
  const resumes = new Resumes();
  try {
    for (let first = true; ; first = false) {
      if (Date.now() > deadline) throw new DrayerError('IO', `Sync with ${peer} took too long and was stopped; it resumes from here next time.`);
      const req = ahead && ahead.since === since && ahead.limit === limit ? ahead : request(since, limit, recordsTotal === undefined);
      ahead = undefined;
      let got: Awaited<PageRequest['got']>;
      try {
        got = await req.got;
      } catch (e) {
        // No /changes here: a 404, or the original Drayer's answer to a path it does not know (500,
        // without the Drayer-Sync header every Drayer node sends). Its protocol is asked instead.
        if (first && e instanceof HttpStatusError && !e.drayer && (e.status === 404 || e.status === 500)) {
          return await pullNewRecords(stream, peer, opts, result, apply, { cursors, changes: e, pull });
        }
        if (first && e instanceof HttpStatusError && e.drayer && e.status === 404) {
          throw new DrayerError(
            'NOT_FOUND',
            `${peer} does not share stream ${pkText}${e.text ? ` ("${e.text}")` : ''}; check the key, or ask whoever runs that node to share the stream.`,
          );
        }
        if (isDrayerError(e) && /more than/.test(e.message) && limit > 1) {
          limit = Math.max(1, Math.floor(limit / 4)); // a page of big values: ask for fewer
          continue;
        }
        if (e instanceof HttpStatusError && e.drayer && e.status >= 500) {
          throw new DrayerError(
            'IO',
            `${peer} is a Drayer node and failed while answering (HTTP ${e.status}${e.text ? `: "${e.text}"` : ''}); try again later, or ask whoever runs it to look at its log.`,
          );
        }
        if (e instanceof HttpStatusError) throw new DrayerError('IO', e.message);
        // Broken off, not answered in time, too busy: go on from the cursor after a while.
        if (await resumes.after(e, peer, opts.signal)) continue;
        throw e;
      }
      const { buf, page } = got;
      result.bytes += buf.byteLength;
      if (page.node !== node) {
        // A different store answers (first contact, or the peer's database was replaced): start over.
        const restart = since !== 0;
        node = page.node;
        since = 0;
        if (restart) {
          if (++restarts > 1) throw new DrayerError('IO', `${peer} keeps changing its store id, which restarts the sync each time; stopped.`);
          continue;
        }
      }
      result.nodeId = page.node;
      if (page.records.length > limit) throw new DrayerError('IO', `${peer} sent more records than asked for; stopped.`);
      if (page.seq < since) throw new DrayerError('IO', `${peer} sent a page that goes backwards; stopped.`);
      // An honest page that says "more" always moves the cursor on: one that does not would loop forever.
      if (page.more && page.seq === since) throw new DrayerError('IO', `${peer} keeps sending pages whose position does not advance; stopped.`);
      if (page.more) ahead = request(page.seq, limit, false, true);
      const recs = got.recs;
      for (const x of got.rejections) addRejections(result.rejections, x.reason, x.count, x.samples);
      result.rejected += page.records.length - recs.length;
      result.records += recs.length;
      for (const r of recs) valueBytes += r.val?.byteLength ?? 0;
      // Peers that do not count (or lie) leave the total unknown or low; it is only ever a progress hint.
      if (recordsTotal === undefined && page.left !== undefined) {
        recordsTotal = result.records + page.left;
        guard.announce(page.records.length + page.left);
      }
      if (recordsTotal !== undefined && recordsTotal < result.records) recordsTotal = result.records;
      let valid = 0;
      let stored = 0;
      if (recs.length) {
        const applied = await apply(stream, recs);
        account(applied);
        valid = validCount(applied);
        stored = applied.stored.length;
        fileBytes += manifestBytes(applied.stored);
      }
      if (page.more && stored && !unfinished) {
        stream.markSync(peer, true);
        unfinished = true;
      }
      since = page.seq;
      cursors.setCursor(peer, pkText, page.node, since);
      resumes.progress();
      progress({ records: result.records, recordsTotal, bytes: result.bytes, seq: since, lastSeq: page.last, ...sizeSoFar(recordsTotal) });
      if (!page.more) {
        stream.markSync(peer, false);
        break;
      }
      const replaying = guard.page(page.records.length, stored, buf.byteLength);
      if (replaying) throw new DrayerError('IO', `${peer} ${replaying}${result.rejected ? ` Rejected: ${rejectionSummary(result.rejections)}.` : ''}`);
      // A page with no valid record (empty, or all forged) moves nothing forward: a few in a row are
      // allowed (filters of partial mirrors make some), an endless run is a broken or hostile peer.
      if (recs.length === 0) {
        // Nothing in this part of the feed passes the mirror's filters: the peer skipped ahead.
        // Honest, but a hostile peer could do it forever, so it is bounded too (and by time).
        if (++skippedPages > SYNC_LIMITS.maxSkippedPages) throw new DrayerError('IO', `${peer} keeps sending empty pages; stopped.`);
        continue;
      }
      emptyPages = valid ? 0 : emptyPages + 1;
      if (emptyPages > SYNC_LIMITS.maxEmptyPages) {
        throw new DrayerError('IO', recs.length ? `${peer} keeps sending pages with no valid record; stopped.` : `${peer} keeps sending empty pages; stopped.`);
      }
    }
  } finally {
    readAhead?.ctl.abort(); // a page read ahead and not used (or dropped) stops here
  }
  leaveWindow(stream, result); // a "latest N" mirror's window moves on with the stream
  // A metadata-only copy still wants the stream's name: the one value it fetches at once.
  const info = filter.metaOnly ? stream.get('drayer', 'info') : undefined;
  if (info && !info.val) {
    try {
      await fetchValue(stream, peer, info.id, { timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly, localAddress: opts.localAddress, busy });
      result.infoFilled = true;
    } catch {
      // Not fatal: the name shows once a later sync gets it.
    }
  }
  if (opts.fetchChunks ?? !filter.metaOnly) {
    const atRecords = { records: result.records, recordsTotal: recordsTotal ?? result.records, seq: since };
    let chunkBytes = 0;
    result.chunks = await fetchMissingChunks(stream, peer, {
      ...opts,
      busy,
      onChunks: (done, total, bytes, totalBytes) => {
        chunkBytes = bytes;
        progress({ ...atRecords, bytes: result.bytes + bytes, chunks: done, chunksTotal: total, size: valueBytes + bytes, sizeTotal: valueBytes + totalBytes });
      },
    });
    result.chunkBytes = chunkBytes;
    result.bytes += chunkBytes;
  }
  return result;
}
