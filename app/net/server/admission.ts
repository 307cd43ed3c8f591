// Admission control for the sync routes (issue 14.2): their answers are built one after another
// from a bounded queue, and a request that would wait too long is answered at once with 503 and a
// Retry-After that grows with the queue, instead of waiting unseen in the kernel while the event
// loop builds pages for everyone before it (200 followers' first pages took over 30 s that way).
// Only routes whose clients ask again after a 503 come here, never the web UI's own API. Who has
// been refused longest goes first: beyond the bound, spare places go to the addresses refused
// earliest (else a follower that happens to come back at busy moments can starve while others
// with a page in hand take every free place: 4 of 200 in the clones bench).
import type { ServerResponse } from 'node:http';

export interface AdmissionLimits {
  /** sync answers waiting their turn; more get 503 */
  maxSyncQueue: number;
  /** the wait a newcomer may be given (estimated from the queue and the recent pace); longer gets 503 */
  maxSyncWaitMs: number;
  /** past this event-loop lag (the process barely gets the CPU, or something blocks it), sync requests get 503 */
  maxLagMs: number;
}

/** Why a sync request was not let in, and when to ask again (whole seconds, as Retry-After says it). */
export interface Busy {
  why: 'queue' | 'lag';
  retryAfterS: number;
  /** answers waiting now */
  waiting: number;
}

interface Item {
  res: ServerResponse;
  work: () => void;
}

/** Work done in one turn of the event loop before incoming requests are read again. */
const SLICE_MS = 20;
/**
 * Turns of the event loop given to I/O between slices. libuv accepts one new connection per turn:
 * with one slice per turn, a server building pages would take in one follower per page built, and
 * the rest would wait in the kernel's backlog, unseen and unanswered (issue 14.2). An idle turn
 * costs microseconds.
 */
const SPARE_TURNS = 16;
/** How often the lag is measured. */
const PROBE_MS = 200;
/** Addresses refused and not let in since, remembered at most this many and this long. */
const REFUSED_MAX = 4096;
const REFUSED_FORGET_MS = 10 * 60_000;
/** A client is never told to wait longer than this (it clamps what it is told, too). */
const MAX_RETRY_AFTER_S = 60;

export class SyncQueue {
  private items: (Item | undefined)[] = [];
  private head = 0;
  private scheduled = false;
  private spare = 0;
  /** wall time between answers while some wait (smoothed): the pace a newcomer's wait is estimated by */
  private paceMs = 5;
  private lastDone = 0;
  private lag = 0;
  private probe: NodeJS.Timeout | undefined;
  /** address → when it was first refused without being let in since; in that order (oldest first) */
  private readonly refusedSince = new Map<string, number>();
  readonly counts = { answered: 0, refused: 0, lagging: 0, abandoned: 0, firstRefusedFirst: 0 };

  constructor(private readonly limits: AdmissionLimits) {}

  get waiting(): number {
    return this.items.length - this.head;
  }

  /** The recent event-loop lag, ms. */
  get lagMs(): number {
    return this.lag;
  }

  /** Measure the lag while the server listens (`stop` ends it). */
  start(): void {
    if (this.probe) return;
    let expected = performance.now() + PROBE_MS;
    this.probe = setInterval(() => {
      const now = performance.now();
      // The latest late tick counts in full; an old one fades, so one slow moment passes quickly.
      this.lag = Math.max(0, now - expected, this.lag / 2);
      expected = now + PROBE_MS;
      // Addresses that stopped asking (gave up, went away) are forgotten.
      const old = Date.now() - REFUSED_FORGET_MS;
      for (const [who, at] of this.refusedSince) {
        if (at > old) break;
        this.refusedSince.delete(who);
      }
    }, PROBE_MS);
    this.probe.unref();
  }

  stop(): void {
    clearInterval(this.probe);
    this.probe = undefined;
    this.items = [];
    this.head = 0;
  }

  /**
   * Run `work` (which answers `res`, asked from address `who`) in turn, or say why not: the queue
   * is full, the wait it would have is past maxSyncWaitMs, or the event loop lags badly. Up to
   * twice the bound, an address refused before goes in when it is among the earliest refused.
   * The work runs later, never now.
   */
  submit(res: ServerResponse, work: () => void, who: string): Busy | undefined {
    if (this.lag > this.limits.maxLagMs) {
      this.counts.lagging++;
      // the pace too took the block in (answers paused by it), so the queue's part is bounded as a newcomer's wait is
      const queued = Math.min(this.waiting * this.paceMs, this.limits.maxSyncWaitMs);
      return { why: 'lag', retryAfterS: jittered(lagFadeMs(this.lag, this.limits.maxLagMs) + queued), waiting: this.waiting };
    }
    const wait = (this.waiting + 1) * this.paceMs;
    if (this.waiting >= this.limits.maxSyncQueue || wait > this.limits.maxSyncWaitMs) {
      const spare = Math.min(this.limits.maxSyncQueue, Math.floor(this.limits.maxSyncWaitMs / this.paceMs)) * 2 - this.waiting;
      if (!(spare > 0 && this.rank(who) < spare)) {
        this.counts.refused++;
        if (!this.refusedSince.has(who)) {
          if (this.refusedSince.size >= REFUSED_MAX) this.refusedSince.delete(this.refusedSince.keys().next().value!);
          this.refusedSince.set(who, Date.now());
        }
        return { why: 'queue', retryAfterS: jittered(Math.max(wait, this.waiting * this.paceMs)), waiting: this.waiting };
      }
      this.counts.firstRefusedFirst++;
    }
    this.refusedSince.delete(who);
    if (this.waiting === 0) this.lastDone = performance.now(); // the pace counts from when it began to wait
    this.items.push({ res, work });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
    return undefined;
  }

  /** A turn of the loop for I/O (new connections, requests) before the next slice. */
  private readonly turn = (): void => {
    if (--this.spare > 0) setImmediate(this.turn);
    else this.drain();
  };

  /** Where `who` stands among the addresses refused and not let in since (0: refused earliest); Infinity if it is not. */
  private rank(who: string): number {
    if (!this.refusedSince.has(who)) return Number.POSITIVE_INFINITY;
    let i = 0;
    for (const k of this.refusedSince.keys()) {
      if (k === who) return i;
      i++;
    }
    return i;
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const until = performance.now() + SLICE_MS;
    while (this.waiting > 0) {
      const it = this.items[this.head]!;
      this.items[this.head++] = undefined;
      // A client that left (timed out, cancelled) costs nothing more.
      if (it.res.destroyed) {
        this.counts.abandoned++;
        continue;
      }
      it.work();
      this.counts.answered++;
      const now = performance.now();
      // Includes the reading of requests between slices and any time the process did not get the CPU.
      this.paceMs = 0.9 * this.paceMs + 0.1 * Math.max(0.1, now - this.lastDone);
      this.lastDone = now;
      if (now >= until) break;
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.waiting > 0) {
      this.scheduled = true;
      this.spare = SPARE_TURNS;
      setImmediate(this.turn);
    } else {
      this.items = [];
      this.head = 0;
    }
  };
}

/**
 * How long a measured lag keeps sync shut once the loop keeps time again. The lag is the past: a
 * tick `lagMs` late says the loop was blocked that long, and it runs again by the time a request is
 * read. Telling clients to wait the lag itself (60 s after a 60-s block) kept them away long after
 * it passed; what keeps them out is the measure, which halves every probe until it is under the
 * limit (a second or two for any lag). A lasting overload makes every probe late again, and the
 * clients coming back meanwhile get cheap 503s.
 */
export function lagFadeMs(lagMs: number, maxLagMs: number): number {
  if (!(lagMs > maxLagMs)) return 0;
  return PROBE_MS * (Math.ceil(Math.log2(lagMs / Math.max(1, maxLagMs))) + 1); // one probe spare: timers run late
}

/**
 * Whole seconds to ask again after, for an expected wait of `ms`: somewhere between half and one
 * and a half times it, so the clients refused together do not all come back together.
 */
function jittered(ms: number): number {
  return Math.max(1, Math.min(MAX_RETRY_AFTER_S, Math.round((ms / 1000) * (0.5 + Math.random()))));
}
