// The sync scheduler: when to pull what from whom. A round every syncIntervalS pulls a stream
// from a LAN holder only when one announces a newer M-tip (a slow safety net aside), and from one
// configured source; announcements queue hints per stream (pulled as the rate allows, never
// dropped for it); one pull per stream at a time and a few at once in all; backoff per failing
// peer; cursors kept in library.db only for peers that proved themselves, and written only when
// they move.
import type { SyncReport } from './api.js';
import { pullsAnything } from './device-state.js';
import { SYNC_INTERVAL_MAX_S, SYNC_INTERVAL_MIN_S } from './api.js';
import { peerId } from '../core/peer.js';
import { formatKey } from '../core/keys.js';
import { isLanHost } from '../net/lan.js';
import { type RateLimit, TokenBucket } from '../net/rate.js';
import type { Stream } from '../store/store.js';
import { afterChange } from './changes.js';
import { rekeyAfterPull } from './device-rekey.js';
import { openWaiting } from './holdings.js';
import { configuredSources, type Holder, holdersOf, lanHolders, MAX_HEARD_SOURCES, sourcesFor, urlOf } from './sources.js';
import { pullFrom, RELEASED, released } from './pull-one.js';
import { heldBack, noteRound, noteSync } from './sync-report.js';
import { dhtPulled, dhtSources, lookupOnDht } from './dht-presence.js';
import { bytesEqual } from '../core/crypto.js';
import type { DrayerRecord } from '../core/record.js';
import { DEFAULT_SETTINGS, lanSkip, pausedError, remember, settingsOf, streamOf, syncModeOf, type NodeState, type PullHint, type SyncState } from './state.js';

/** Pulls running at once; more wait their turn (when every node posts at once, ~N pulls queue here). */
const MAX_PULLS = 6;
/**
 * Pulls that LAN announcements start. An announcement is a hint anyone can send (any M-tip can
 * be claimed, any genuine record replayed, and ports cost nothing, so every packet can name a
 * new URL): it never skips a peer's backoff, and starts pulls at a bounded rate, per source
 * address and in total. Hints wait (newest per stream and address) until tokens come back:
 * the burst lets every stream of a busy LAN be pulled at once when all post together, the
 * rate bounds what a host announcing made-up tips costs.
 */
export const ANNOUNCED_PULLS_PER_ADDRESS: RateLimit = { burst: 32, perSecond: 2 };
export const ANNOUNCED_PULLS: RateLimit = { burst: 64, perSecond: 16 };
/** Addresses whose hints a stream keeps waiting at once (the lowest tip makes room). */
const MAX_HINT_ADDRESSES = 8;
/**
 * The safety net: a stream is pulled from one LAN holder this often (jittered ±25%) even when no
 * announcement says it changed (a lost packet, a holder that does not announce). A holder's tip
 * pulled without reaching it is not pulled again for it within this time either.
 */
export const SAFETY_CHECK_MS = 10 * 60_000;
/** A follow tries holders one after another until one gives the stream: at most this many, starting within this time. */
const FOLLOW_TRIES = 8;
const FOLLOW_BUDGET_MS = 30_000;

/** Empty books for a node starting. */
export function newSyncState(): SyncState {
  return {
    peerState: new Map(),
    looseCursors: new Map(),
    hints: new Map(),
    hintTimer: null,
    pullBuckets: new Map(),
    pullBucket: new TokenBucket(ANNOUNCED_PULLS, Date.now()),
    tipsPulled: new Map(),
    tips: new Map(),
    nextCheck: new Map(),
    rotation: new Map(),
    quietSyncs: new Map(),
    syncing: new Map(),
    cancels: new Map(),
    activePulls: 0,
    pullWaiters: [],
  };
}

/** One source to try; `tip`: the M-tip it announced (skipped once ours is as new). */
interface Try {
  url: string;
  tip?: number;
}

/**
 * Sources in order, and when to stop: 'all' tries every one (Sync now), 'one' stops at the first
 * that answers (a round), 'tip' at the first that leaves the copy with records, as new as the tip
 * that source announced (a follow).
 */
interface Group {
  tries: Try[];
  until: 'all' | 'one' | 'tip';
  /** LAN holders: a pull without error counts for the safety net and remembers the tip pulled */
  lan?: boolean;
  /** a round's configured sources: the next round starts with the next one */
  rotate?: boolean;
  /** DHT peers: asked only when no source before them answered this time */
  fallback?: boolean;
}

/** What a pull of a stream asks: every source (by hand), a scheduled round's plan, or a follow's. */
export type PullKind = 'all' | 'round' | 'follow';

/** Pull one stream: from `only`, or as `kind` says; failures back off per peer. */
export function syncStream(n: NodeState, pk: string, only?: string, force = false, kind: PullKind = force ? 'all' : 'round'): Promise<SyncReport[]> {
  const { syncing } = n.sync;
  const key = `${pk} ${only ?? '*'}`;
  const running = syncing.get(key);
  if (running) return running;
  // One pull of a stream at a time: two would fetch the same chunks twice, and the first to end
  // would say "synced" while the other still brings the rest. A pull not asked for by hand joins
  // the running one; one asked for by hand (a follow, Sync now) waits for it, then runs.
  const other = [...syncing].find(([k]) => k.startsWith(`${pk} `))?.[1];
  if (other && !force) return other;
  // a device of a private stream takes the owner's rotated read key as soon as a pull brings it
  const run = () => runSync(n, pk, only, force, kind).then(async (r) => (await rekeyAfterPull(n, pk), r));
  const job: Promise<SyncReport[]> = (other ? other.catch(() => []).then(run) : run()).finally(() => {
    if (syncing.get(key) === job) syncing.delete(key); // not a later pull's (the stream let go of and taken again)
    if (n.sync.hints.has(pk)) drainSoon(n); // hints that waited for this pull
  });
  syncing.set(key, job);
  return job;
}

/**
 * A stream let go of (unfollowed, its file gone): its pulls stop, writing nothing more (no
 * cursor, no sync state: those would be the next copy's), and a follow of it again starts its own.
 */
export function releaseSyncs(n: NodeState, pk: string): void {
  n.sync.cancels.get(pk)?.abort(RELEASED);
  n.sync.cancels.delete(pk);
  for (const k of [...n.sync.syncing.keys()]) if (k.startsWith(`${pk} `)) n.sync.syncing.delete(k);
  n.sync.hints.delete(pk);
  n.sync.tips.delete(pk);
}

/** Stop the running (or waiting) pull of a stream; false when there is none. */
export function cancelSync(n: NodeState, pk: string): boolean {
  const stop = n.sync.cancels.get(pk);
  if (!stop || stop.signal.aborted) return false;
  stop.abort();
  return true;
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

async function runSync(n: NodeState, pk: string, only: string | undefined, force: boolean, kind: PullKind): Promise<SyncReport[]> {
  const stop = new AbortController();
  n.sync.cancels.set(pk, stop);
  try {
    return await slot(n.sync, async () => {
      if (!stop.signal.aborted) return runSyncNow(n, pk, only, force, kind, stop.signal);
      if (!released(stop.signal)) noteSync(n, pk, { at: Date.now(), peer: only ?? '', records: 0, stored: 0, cancelled: true }); // stopped while waiting its turn
      return [];
    });
  } finally {
    if (n.sync.cancels.get(pk) === stop) n.sync.cancels.delete(pk);
  }
}

/** A held stream's M-tip, read once per change (SyncState.tips). */
export function tipOf(n: NodeState, pk: string, s: Stream): number {
  let t = n.sync.tips.get(pk);
  if (t === undefined) remember(n.sync.tips, pk, (t = s.mtip()));
  return t;
}

/** The tip `url` announced for `pk` was pulled lately without error: not again for that tip. */
function tipPulled(n: NodeState, url: string, pk: string, tip: number, now = Date.now()): boolean {
  const t = n.sync.tipsPulled.get(`${url} ${pk}`);
  return t !== undefined && t.until > now && t.mod >= tip;
}

/** After a LAN holder answered: the safety net waits its time again, and its tip counts as pulled. */
function notePulled(n: NodeState, url: string, pk: string, tip: number | undefined): void {
  const now = Date.now();
  remember(n.sync.nextCheck, pk, now + SAFETY_CHECK_MS * (0.75 + Math.random() / 2));
  if (tip !== undefined) remember(n.sync.tipsPulled, `${url} ${pk}`, { mod: tip, until: now + SAFETY_CHECK_MS });
}

/** Whether the safety net is due for a stream; the first time, a random moment within its period (nodes started together spread). */
function checkDue(n: NodeState, pk: string, now: number): boolean {
  let at = n.sync.nextCheck.get(pk);
  if (at === undefined) remember(n.sync.nextCheck, pk, (at = now + SAFETY_CHECK_MS * Math.random()));
  return at <= now;
}

/** Holders to try, at most MAX_HEARD_SOURCES of them unproven (anyone can announce). */
function capUnproven(list: Holder[]): Holder[] {
  let unproven = 0;
  return list.filter((h) => h.proven || unproven++ < MAX_HEARD_SOURCES);
}

/**
 * A scheduled round's pulls of a stream: one configured source (the user's or the author's; a
 * different one first each round, the next on failure), unless it announces itself on the LAN;
 * and one LAN holder (the next on failure) only when one announces a newer tip than ours, or when
 * the safety net is due. An idle LAN costs no pull at all.
 */
function roundPlan(n: NodeState, s: Stream, holders: Holder[], now: number): Group[] {
  const pk = formatKey(s.publicKey);
  const heard = new Set(holders.map((h) => h.url));
  const groups: Group[] = [];
  const polled = [...configuredSources(n, s)].filter((u) => !heard.has(u));
  if (polled.length) {
    const start = (n.sync.rotation.get(pk) ?? 0) % polled.length;
    groups.push({ tries: [...polled.slice(start), ...polled.slice(0, start)].map((url) => ({ url })), until: 'one', rotate: true });
  }
  const mine = s.mtip();
  const newer = capUnproven(holders.filter((h) => h.mtip > mine && !tipPulled(n, h.url, pk, h.mtip, now)));
  if (newer.length) groups.push({ tries: newer.map((h) => ({ url: h.url, tip: h.mtip })), until: 'one', lan: true });
  // due, or a pull of this copy broke off part way (its tip may already be the newest): one holder anyway
  else if (holders.some((h) => h.mtip > 0) && (checkDue(n, pk, now) || s.unfinishedSyncs().length > 0))
    groups.push({ tries: capUnproven(holders.filter((h) => h.mtip > 0)).map((h) => ({ url: h.url })), until: 'one', lan: true });
  // then a few peers found on the DHT, when none of the above answered
  const dht = dhtSources(n, pk).filter((u) => !heard.has(u) && !polled.includes(u));
  if (dht.length) groups.push({ tries: dht.map((url) => ({ url })), until: 'one', fallback: true });
  return groups;
}

/**
 * A follow: the address given (or recorded), then the holders heard (best first), one after
 * another until one gives records, as new as the tip it announced (one that announced more than it
 * gave, or nothing, makes way for the next). A holder with a newer tip left untried is the next round's.
 */
function followPlan(n: NodeState, s: Stream): Group[] {
  const holders = holdersOf(n, formatKey(s.publicKey)).filter((h) => h.mtip > 0);
  const given = [...configuredSources(n, s)];
  const lan = holders.filter((h) => !given.includes(h.url)).map((h) => ({ url: h.url, tip: h.mtip }));
  const dht = dhtSources(n, formatKey(s.publicKey)).filter((u) => !given.includes(u) && !lan.some((h) => h.url === u));
  const tries = [...given.map((url) => ({ url })), ...lan, ...dht.map((url) => ({ url }))];
  return [{ tries: tries.slice(0, Math.max(FOLLOW_TRIES, given.length)), until: 'tip', lan: true }];
}

function planOf(n: NodeState, s: Stream, only: string | undefined, kind: PullKind): Group[] {
  if (only) return [{ tries: [{ url: peerId(only) }], until: 'all' }];
  if (kind === 'follow') return followPlan(n, s);
  if (kind === 'round') return roundPlan(n, s, holdersOf(n, formatKey(s.publicKey)), Date.now());
  const all = sourcesFor(n, s);
  return [{ tries: [...all, ...dhtSources(n, formatKey(s.publicKey)).filter((u) => !all.includes(u))].map((url) => ({ url })), until: 'all' }];
}

async function runSyncNow(n: NodeState, pk: string, only: string | undefined, force: boolean, kind: PullKind, signal: AbortSignal): Promise<SyncReport[]> {
  const s = streamOf(n, pk);
  if (!pullsAnything(s) && !only) return [];
  if (!force && heldBack(n, pk)) return [];
  // The mode is read as the pull starts (a pull waiting for its slot may find sync paused).
  if (syncModeOf(n) === 'paused') {
    if (force) throw pausedError('nothing was fetched');
    return [];
  }
  const reports: SyncReport[] = [];
  const configured = configuredSources(n, s);
  const started = Date.now();
  let stopped = false;
  let answered = false;
  for (const g of planOf(n, s, only, kind)) {
    if (g.fallback && answered) break;
    if (g.rotate) remember(n.sync.rotation, pk, (n.sync.rotation.get(pk) ?? 0) + 1);
    // A follow moves on from a busy holder (429/503) to the next at once, and asks it again, patiently, after the
    // others: waiting out one holder's Retry-After (seconds, on a LAN where everyone follows at once) while
    // others hold the stream made the slowest follows.
    const queue: (Try & { patient?: boolean })[] = [...g.tries];
    for (let i = 0; i < queue.length; i++) {
      const t = queue[i]!;
      if (n.stopped || stopped) break;
      if (t.tip !== undefined && g.until !== 'tip' && s.mtip() >= t.tip) break; // another source brought it meanwhile
      if (g.until === 'tip' && Date.now() - started > FOLLOW_BUDGET_MS) break;
      const skipped = lanSkip(n, t.url);
      if (skipped) {
        reports.push({ publicKey: pk, peer: t.url, records: 0, stored: 0, removed: 0, rejected: 0, bytes: 0, skipped });
        continue;
      }
      const st = n.sync.peerState.get(t.url) ?? { failures: 0, nextTry: 0 };
      if (!force && st.nextTry > Date.now()) continue;
      const moveOn = g.until === 'tip' && !t.patient && i < queue.length - 1;
      // A follow waits for a busy holder at most its own budget, not a scheduled pull's 5 minutes:
      // someone is looking at it; the rounds after it retry.
      const r = await pullFrom(n, s, t.url, configured.has(t.url), force, signal, moveOn, g.until === 'tip' ? FOLLOW_BUDGET_MS : undefined);
      if (r.busy) {
        queue.push({ ...t, patient: true });
        continue;
      }
      reports.push(r);
      dhtPulled(n, t.url, !r.error);
      if (r.cancelled) stopped = true;
      if (r.error || r.cancelled) continue;
      answered = true;
      if (g.lan) notePulled(n, t.url, pk, t.tip);
      if (g.until === 'one') break;
      if (g.until === 'tip' && s.mtip() > 0 && s.mtip() >= (t.tip ?? 0)) break;
    }
  }
  if (!released(signal)) noteRound(n, pk, reports);
  return reports;
}

/**
 * An announcement says a followed stream has something newer at a peer: queue it (the newest
 * hint per stream and address, a few addresses per stream, so the queue is bounded by the
 * streams followed) and pull as the rate limits allow (drainHints).
 */
export function pullOnAnnouncement(n: NodeState, hint: PullHint): void {
  const pk = formatKey(hint.publicKey);
  const s = n.streams.get(pk);
  if (n.stopped || !s || !pullsAnything(s) || (hint.mod <= tipOf(n, pk, s) && !hint.patch)) return;
  const mode = syncModeOf(n);
  if (mode === 'paused' || (mode === 'lan' && !isLanHost(hint.address))) return;
  if (!Number.isInteger(hint.port) || hint.port <= 0 || hint.port > 65535) return;
  if (!hint.patch && tipPulled(n, urlOf(hint.address, hint.port), pk, hint.mod)) return;
  const { hints } = n.sync;
  let waiting = hints.get(pk);
  if (!waiting) hints.set(pk, (waiting = new Map()));
  const old = waiting.get(hint.address);
  if (old && old.mod >= hint.mod && (old.patch || !hint.patch)) return;
  waiting.delete(hint.address); // to the end: the order hints were heard in breaks ties
  if (waiting.size >= MAX_HINT_ADDRESSES) {
    const lowest = [...waiting].reduce((a, b) => (b[1].mod < a[1].mod ? b : a));
    if (lowest[1].mod >= hint.mod) return;
    waiting.delete(lowest[0]);
  }
  waiting.set(hint.address, { ...hint, publicKey: s.publicKey });
  drainHints(n);
}

/**
 * A record announced on the LAN (its signature checked by discovery). One that carries its value
 * (a short post) is applied here at once, as a pull would apply it: DESIGN §3's rules take any
 * signed record, in any order, from anyone, so the packet is as good a source as a page, and a
 * post reaches every follower with no HTTP round trip. One without its value, or a file (its
 * chunks come with a pull), makes this node pull from its announcer: when its tip is newer, or
 * when it is a version of a record below the tip that this copy does not hold (the patches an
 * edit or a delete leaves move no M-tip, yet must reach followers).
 */
export function recordAnnounced(n: NodeState, x: { record: DrayerRecord; address: string; port: number }): void {
  const r = x.record;
  const pk = formatKey(r.chain);
  const s = n.streams.get(pk);
  if (n.stopped || !s || !pullsAnything(s)) return;
  const mode = syncModeOf(n);
  if (mode === 'paused' || (mode === 'lan' && !isLanHost(x.address)) || heldBack(n, pk)) return;
  const held = s.getById(r.id);
  if (held && (held.mod > r.mod || (held.mod === r.mod && bytesEqual(held.sig, r.sig)))) return; // as new or newer here
  const tip = s.mtip();
  if (r.val !== null && r.type !== 'file') {
    try {
      const res = s.apply([r], { verified: true });
      if (res.stored.length === 0 && res.removed.length === 0) return; // refused by the rules (stale, deleted since), or outside a partial copy's window
      afterChange(n, s, res, false);
      noteSync(n, pk, { at: Date.now(), peer: urlOf(x.address, x.port), records: 1, stored: res.stored.length });
      // The next record after this copy's M-tip, new: that is all there is. Otherwise a pull follows:
      // records this copy missed before it (a lost packet, a computer that was off), or the records
      // an edit or a delete re-signed beside it (patches, which announce nothing of their own).
      if (!held && res.removed.length === 0 && r.prevch === tip) return;
    } catch (e) {
      n.log(`a record announced by ${x.address} could not be applied (${(e as Error).message}); pulling it instead`);
    }
  }
  pullOnAnnouncement(n, { publicKey: r.chain, address: x.address, port: x.port, mod: r.mod, patch: r.mod <= s.mtip() });
}

/** Drain the hints on the next turn (after the pull that ends now has let go of its stream). */
function drainSoon(n: NodeState): void {
  setImmediate(() => drainHints(n));
}

/** Tokens a bucket holds now (refilled to `now`), without taking one. */
function tokens(b: TokenBucket, now: number): number {
  return Math.min(b.limit.burst, b.tokens + ((now - b.last) / 1000) * b.limit.perSecond);
}

/** Start a pull for every stream with a hint that may go now; wake again when tokens are back for the rest. */
export function drainHints(n: NodeState): void {
  const { hints, pullBuckets, pullBucket, peerState, syncing } = n.sync;
  if (n.stopped) return;
  const mode = syncModeOf(n);
  const now = Date.now();
  let wake = Infinity;
  const busy = new Set([...syncing.keys()].map((k) => k.slice(0, k.indexOf(' '))));
  for (const [pk, waiting] of hints) {
    const s = n.streams.get(pk);
    if (!s || !pullsAnything(s) || mode === 'paused') {
      hints.delete(pk);
      continue;
    }
    if (busy.has(pk)) continue; // when that pull ends, this runs again
    const mine = tipOf(n, pk, s);
    const candidates: { h: PullHint; url: string; proven: boolean }[] = [];
    for (const [address, h] of waiting) {
      const url = urlOf(h.address, h.port);
      // old news, a peer backing off (hints never skip it; the round asks again), or a tip already pulled
      if ((!h.patch && (h.mod <= mine || tipPulled(n, url, pk, h.mod, now))) || (peerState.get(url)?.nextTry ?? 0) > now) waiting.delete(address);
      else candidates.push({ h, url, proven: n.library.getPeer(url) !== undefined });
    }
    if (waiting.size === 0) {
      hints.delete(pk);
      continue;
    }
    candidates.sort((a, b) => +b.proven - +a.proven || b.h.mod - a.h.mod); // stable: heard first among equals
    for (const c of candidates) {
      let bucket = pullBuckets.get(c.h.address);
      if (!bucket) remember(pullBuckets, c.h.address, (bucket = new TokenBucket(ANNOUNCED_PULLS_PER_ADDRESS, now)));
      const mineLeft = tokens(bucket, now);
      const allLeft = tokens(pullBucket, now);
      if (mineLeft < 1 || allLeft < 1) {
        const need = Math.max(mineLeft < 1 ? (1 - mineLeft) / bucket.limit.perSecond : 0, allLeft < 1 ? (1 - allLeft) / pullBucket.limit.perSecond : 0);
        wake = Math.min(wake, now + need * 1000);
        continue;
      }
      bucket.take(now);
      pullBucket.take(now);
      waiting.delete(c.h.address);
      const { url, h } = c;
      void syncStream(n, pk, url).then(
        (reports) => {
          if (!h.patch && reports.length > 0 && reports.every((r) => !r.error && !r.cancelled && !r.skipped)) notePulled(n, url, pk, h.mod);
        },
        () => {},
      );
      break;
    }
  }
  if (wake !== Infinity && hints.size > 0) {
    const st = n.sync;
    if (st.hintTimer) clearTimeout(st.hintTimer);
    st.hintTimer = setTimeout(
      () => {
        st.hintTimer = null;
        drainHints(n);
      },
      Math.max(20, wake - now),
    );
    st.hintTimer.unref();
  }
}

/** Every syncIntervalS (from a second after the start), a round over every followed stream (roundPlan). */
export function scheduleSync(n: NodeState): void {
  let timer: NodeJS.Timeout;
  const tick = () => {
    n.timers = n.timers.filter((t) => t !== timer); // one sync timer at a time, not one more per round
    if (n.stopped) return;
    // Each pull reports its own failure; whatever else goes wrong in a round, the next one is still set.
    void syncRound(n)
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

/** One scheduled round: each followed stream whose plan has something to ask, one after another. */
export async function syncRound(n: NodeState): Promise<void> {
  // Paused: no pulls this round; the timer keeps going, so sync resumes by itself.
  if (syncModeOf(n) === 'paused') return;
  // Just after start, the library's streams are still being opened: the round covers them all
  // (iterating the held streams sees only those opened, and the rest would wait a whole interval).
  if (n.streams.unopened().length) await openWaiting(n);
  if (n.stopped) return;
  const holders = lanHolders(n); // what discovery heard, read once a round
  for (const [pk, s] of n.streams) {
    if (!pullsAnything(s) || n.stopped) continue;
    // found for the next round (a lookup may take seconds; the round does not wait for it)
    if (n.dht) void lookupOnDht(n, pk).catch(() => {});
    if (roundPlan(n, s, holders.get(pk) ?? [], Date.now()).length === 0) continue; // nothing to ask: no pull at all
    await syncStream(n, pk).catch(() => {});
  }
}
