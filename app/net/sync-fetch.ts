// The sync client's HTTP (DESIGN §4): one bounded GET (size, silence, whole time, redirects and
// addresses checked), asked again after a reset with no answer, waited out while a peer says it
// is busy (429/503 with Retry-After), and the errors that say which of these happened.
import * as dns from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { refusedHost } from './lan.js';
import { DRAYER_SYNC_HEADER } from './protocol.js';

export function urlSafeKey(pk: Uint8Array): string {
  return Buffer.from(pk).toString('base64url');
}

/** A non-2xx answer: its status and what the client decides on (retry, fallback, what to say). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
    /** Retry-After, in ms, when the answer gave one */
    readonly retryAfterMs?: number,
    /** the answer carries the Drayer-Sync header: a Drayer node answered, not an original one */
    readonly drayer = false,
    /** a Drayer node's own words for the failure (text/plain, made safe to print) */
    readonly text?: string,
  ) {
    super(`${url} answered HTTP ${status}${text ? ` ("${text}")` : ''}`);
  }
}

/** Retry-After as ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfter(v: string | null | undefined): number | undefined {
  const t = v?.trim();
  if (!t) return undefined;
  if (/^\d{1,9}$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Answers that mean "not now" are asked again: a LAN server answers 429 when this address has its
 * share (a few syncs from one machine) and 503 with Retry-After when its queue of sync answers is
 * full (server/admission.ts). Each wait is what the peer asks, clamped (a hostile or broken
 * Retry-After, huge or unreadable, cannot stall anyone: at most maxWaitMs, and at most a quarter
 * of the patience so a few tries always fit) and jittered upwards, so refused clients spread out.
 * A pull keeps asking for pullWaitMs without an answer in between (and never past its own time
 * budget); a single request (tips, a value opened on demand) for requestWaitMs. A 503 without
 * Retry-After (a proxy without its backend, maintenance) promises nothing soon and fails at once.
 */
export const BUSY_LIMITS = { pullWaitMs: 5 * 60_000, requestWaitMs: 10_000, maxWaitMs: 30_000, defaultWaitMs: 1000, minWaitMs: 100 } as const;

function retriable(e: unknown): e is HttpStatusError {
  return e instanceof HttpStatusError && (e.status === 429 || (e.status === 503 && e.retryAfterMs !== undefined));
}

/** How long one pull (or one request) keeps asking a busy peer: BUSY_LIMITS. */
export class Patience {
  /** since when every answer has been "busy" (undefined: the last one was not) */
  private since: number | undefined;
  private tries = 0;

  constructor(
    private readonly budgetMs: number,
    private readonly deadline = Number.POSITIVE_INFINITY,
    /** told of each wait, before it begins */
    readonly onWait?: (ms: number, e: HttpStatusError) => void,
  ) {}

  /** An answer came: the patience starts over. */
  answered(): void {
    this.since = undefined;
    this.tries = 0;
  }

  /** The ms to wait before asking again after the busy answer `e`, or the error that ends the asking. */
  next(e: HttpStatusError, url: string): number | DrayerError {
    const now = Date.now();
    this.since ??= now;
    this.tries++;
    const cap = Math.max(BUSY_LIMITS.minWaitMs, Math.min(BUSY_LIMITS.maxWaitMs, this.budgetMs / 4));
    const asked = Math.max(BUSY_LIMITS.minWaitMs, e.retryAfterMs ?? BUSY_LIMITS.defaultWaitMs);
    const wait = Math.round(Math.min(cap, asked) * (1 + Math.random() / 2));
    const over = now + wait - this.since > this.budgetMs;
    if (!over && now + wait <= this.deadline) return wait;
    const said = e.text ? `: "${e.text}"` : '';
    const asking = `asked ${this.tries} time${this.tries === 1 ? '' : 's'} over ${Math.round((now - this.since) / 1000)} s`;
    const end = over ? 'gave up waiting' : "the sync's time is up";
    const what =
      e.status === 429
        ? `${url} answered HTTP 429 (too many requests from this address${said}), ${asking}; ${end}. Other syncs from this machine to the same peer share its limit: let them finish, or try again later. What arrived is kept.`
        : `${url} is busy (HTTP ${e.status}${said}), ${asking}; ${end}. What arrived is kept: sync again in a few minutes and it goes on from there.`;
    return new DrayerError('IO', what, { cause: e });
  }
}

function sleep(ms: number, url: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stopped = () => new DrayerError('IO', `Sync with ${url} was stopped.`);
    if (signal?.aborted) return reject(stopped());
    const onAbort = () => {
      clearTimeout(timer);
      reject(stopped());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A GET that got no byte of answer because the connection broke under it (a kept-alive socket the
 * server closed as it was reused, a connection refused by a busy server's guard): asking again,
 * on a new connection, is safe and usually works (issue 14.2).
 */
class NoAnswerError extends DrayerError {
  readonly transient = true;
}

/**
 * A failure that may well pass: an answer broken off or not given in time, a peer too busy to
 * answer now. A pull that was making progress resumes from its cursor after one (PULL_RESUMES).
 */
export class TransientError extends DrayerError {
  readonly transient = true;
}

export function isTransient(e: unknown): boolean {
  return (e as { transient?: boolean } | undefined)?.transient === true;
}

/**
 * A pull whose page fails for a reason that may pass goes on from its cursor after a backoff
 * (doubling with each failure in a row, jittered): only once it has applied a page (a peer
 * that never answered is not waited for, so a dead or hostile one costs a single timeout), at
 * most `stalled` times in a row without a page applied in between, and at most `max` times in all.
 */
export const PULL_RESUMES = { max: 12, stalled: 3, baseMs: 500, maxMs: 8000 } as const;

/** A pull's resumes (PULL_RESUMES). */
export class Resumes {
  private pages = 0;
  private inRow = 0;
  private count = 0;

  /** a page was applied */
  progress(): void {
    this.pages++;
    this.inRow = 0;
  }

  /** Whether the pull goes on after `e` (then after the wait), or ends with it. */
  async after(e: unknown, peer: string, signal?: AbortSignal): Promise<boolean> {
    if (!isTransient(e) || signal?.aborted || this.pages === 0) return false;
    if (this.count >= PULL_RESUMES.max || this.inRow >= PULL_RESUMES.stalled) return false;
    this.count++;
    await sleep(backoff(++this.inRow, PULL_RESUMES.baseMs, PULL_RESUMES.maxMs), peer, signal);
    return true;
  }
}

/** Reset connections are asked again this many times, after a backoff (doubling, with jitter). */
export const RESET_RETRIES = { tries: 4, baseMs: 150, maxMs: 3000 } as const;

/** The n-th backoff (n from 1): doubling from baseMs, capped, then somewhere between half and all of it. */
function backoff(n: number, baseMs: number, maxMs: number): number {
  const full = Math.min(maxMs, baseMs * 2 ** (n - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

/**
 * Run one GET (`attempt`), asking again after 429/503 as opts.busy (or a request's own Patience)
 * allows, and after a reset that brought no byte of answer as RESET_RETRIES allow (then on a
 * `fresh` connection); then a sentence saying so.
 */
async function withRetries<T>(url: string, opts: FetchOptions, attempt: (fresh: boolean) => Promise<T>): Promise<T> {
  const patience = opts.busy ?? new Patience(BUSY_LIMITS.requestWaitMs);
  let resets = 0;
  for (;;) {
    try {
      const got = await attempt(resets > 0);
      patience.answered();
      return got;
    } catch (e) {
      // 408: the server gave up waiting for this request (RFC 9110 lets the client repeat it).
      const again = e instanceof NoAnswerError || (e instanceof HttpStatusError && e.status === 408);
      if (again && resets < RESET_RETRIES.tries && !opts.signal?.aborted) {
        await sleep(backoff(++resets, RESET_RETRIES.baseMs, RESET_RETRIES.maxMs), url, opts.signal);
        continue;
      }
      if (!retriable(e)) throw e;
      const wait = patience.next(e, url);
      if (typeof wait !== 'number') throw wait;
      patience.onWait?.(wait, e);
      await sleep(wait, url, opts.signal);
    }
  }
}

/**
 * GET with a size cap and time limits: the answer must begin within timeoutMs, go on with no
 * silence of timeoutMs, and end within ANSWER_TIME_FACTOR × timeoutMs (a slow drip is cut).
 */
export async function fetchBounded(url: string, opts: FetchOptions): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const total = await fetchBody(url, opts, (part) => void parts.push(part));
  return parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts, total));
}

export interface FetchOptions {
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** told whether a 2xx answer carries the Drayer-Sync header */
  onDrayer?: (drayer: boolean) => void;
  /** sync is LAN only: every address asked (each redirect, each address a name resolves to) must be on the local network */
  lanOnly?: boolean;
  /** the pool of kept-alive connections for big bodies fetched several at once (chunks) */
  pool?: 'chunks';
  /** the local address to connect from */
  localAddress?: string;
  /** how long busy answers are waited out (a pull's, shared by its requests); default: one request's */
  busy?: Patience;
  /** how long the answer may take to begin (default timeoutMs): an original Drayer prepares its whole answer first */
  beginMs?: number;
  /** how long the whole answer may take (default ANSWER_TIME_FACTOR × timeoutMs; Infinity: as long as it keeps sending) */
  wholeMs?: number;
  /** told every WAITING_REPORT_MS, with the ms waited so far, while the answer has not begun */
  onWaiting?: (ms: number) => void;
}

/** How often a wait for an answer to begin is reported (FetchOptions.onWaiting). */
export const WAITING_REPORT_MS = 1000;

/**
 * Each part of the body goes to `sink` as it arrives; answers the body's length. A sink that answers
 * a promise holds the body back until it settles (that time is not silence from the peer).
 */
type Sink = (part: Uint8Array) => void | Promise<void>;

/** fetchBounded's work, and a streamed GET's (fetchStreamed). */
function fetchBody(url: string, opts: FetchOptions, sink: Sink): Promise<number> {
  // A refused answer, or one that never began, has no body parts: the sink has seen nothing when it is asked again.
  return withRetries(url, opts, (fresh) => fetchBodyOnce(url, opts, sink, fresh));
}

/** The first line of a body, at most 200 characters, without control characters (it is printed). */
function sayable(body: Buffer): string | undefined {
  const text = body
    .subarray(0, 400)
    .toString('utf8')
    .split('\n')[0]!
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?')
    .trim();
  return text ? (text.length > 200 ? `${text.slice(0, 200)}…` : text) : undefined;
}

/** What a server said with an error status, when it is a Drayer node's text/plain: at most a line. */
async function errorText(res: http.IncomingMessage, drayer: boolean): Promise<string | undefined> {
  try {
    if (!drayer || !/^text\/plain\b/i.test(res.headers['content-type'] ?? '')) return undefined;
    const parts: Buffer[] = [];
    let n = 0;
    for await (const part of res as AsyncIterable<Buffer>) {
      parts.push(part);
      if ((n += part.byteLength) >= 400) break;
    }
    return sayable(Buffer.concat(parts));
  } catch {
    return undefined; // the words are a courtesy; the status says what happened
  } finally {
    res.destroy();
  }
}

/**
 * Client connections kept alive are dropped after this long idle: below the 5 s most servers
 * keep them (Node's default, and this LAN server's keepAliveTimeout is longer still), so a
 * request is not sent down a socket the server is closing at that moment. Node's agent also
 * takes a second off any shorter timeout the server announces in its Keep-Alive header.
 */
export const CLIENT_IDLE_MS = 4000;

/** Kept-alive connections for pages (and other small answers) per peer and local address. */
export const PAGE_SOCKETS = 16;

const agents = new Map<string, http.Agent>();

/** The pool of kept-alive connections for a protocol, a sync mode (they never share sockets) and a kind of body. */
function agentFor(protocol: string, opts: FetchOptions): http.Agent {
  const key = `${protocol} ${opts.lanOnly ? 'lan' : 'any'} ${opts.pool ?? 'pages'}`;
  let a = agents.get(key);
  if (!a) {
    // Chunks: 8 sockets at most per peer (a pull fetches 4 at once). Pages: one pull uses two at
    // once (a page and the one read ahead); the pulls of one process share at most PAGE_SOCKETS
    // per peer, what a LAN server answers at once for one address: more would only draw its 429s
    // (and many followers starting at once would open a connection each). The rest wait their turn here.
    const o: http.AgentOptions = { keepAlive: true, timeout: CLIENT_IDLE_MS, maxSockets: opts.pool === 'chunks' ? 8 : PAGE_SOCKETS };
    a = protocol === 'https:' ? new https.Agent(o) : new http.Agent(o);
    agents.set(key, a);
  }
  return a;
}

/** Why `target` may not be asked (a metadata service; outside the LAN in LAN-only mode), or undefined. */
function refusedTarget(target: URL, lanOnly: boolean | undefined): string | undefined {
  const why = refusedHost(target.hostname, lanOnly === true);
  return why && `${target.hostname} is ${why}`;
}

/** An error the lookup below gives: the name resolved to an address this client must not contact. */
const REFUSED_ADDRESS = 'EDRAYER_REFUSED_ADDRESS';

/**
 * dns.lookup, then every address the name resolves to is checked like a literal one, so a name
 * cannot lead to a metadata service (or, LAN only, out of the LAN) on the connection itself.
 */
export function guardedLookup(
  lanOnly: boolean | undefined,
  resolve: (host: string, o: dns.LookupAllOptions, cb: (e: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => void = dns.lookup,
): net.LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addrs) => {
      if (err) return callback(err, '', 0);
      for (const a of addrs) {
        const why = refusedHost(a.address, lanOnly === true);
        if (why) {
          const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${a.address}, ${why}`);
          e.code = REFUSED_ADDRESS;
          return callback(e, '', 0);
        }
      }
      if (addrs.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addrs);
      else callback(null, addrs[0]!.address, addrs[0]!.family);
    });
  };
}

/** Errors of a connection that broke before any byte of answer: the request can be sent again. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** What a failed connection means to the caller: a reset (asked again), a refused address, or unreachable. */
function connectError(e: NodeJS.ErrnoException, url: string): DrayerError {
  if (e.code === REFUSED_ADDRESS) return new DrayerError('IO', `${url} was not contacted: ${e.message}.`, { cause: e });
  if (e.code && RESET_CODES.has(e.code))
    return new NoAnswerError('IO', `${url} closed the connection without answering (${e.code}); try again later.`, { cause: e });
  return new DrayerError('IO', `Cannot reach ${url}${e.code ? ` (${e.code})` : ''}: check the address and that the peer is running.`, { cause: e });
}

/** One GET to `target` on a pooled connection (or a `fresh` one): its answer's head. */
function request(
  target: URL,
  opts: FetchOptions,
  signal: AbortSignal,
  fresh: boolean,
  url: string,
  stopped: (e?: unknown) => DrayerError,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.get(
      target,
      {
        agent: fresh ? false : agentFor(target.protocol, opts),
        headers: { accept: opts.pool === 'chunks' ? '*/*' : 'application/msgpack, */*' },
        signal,
        lookup: guardedLookup(opts.lanOnly),
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      resolve,
    );
    req.on('error', (e: NodeJS.ErrnoException) => reject(signal.aborted ? stopped(e) : connectError(e, url)));
  });
}

const MAX_REDIRECTS = 10;

/**
 * GET `url`, following redirects here (a peer that redirects in a loop is told apart), each hop
 * checked like the first address: never a metadata service, and only the LAN when sync is LAN only.
 */
async function following(
  url: string,
  opts: FetchOptions,
  signal: AbortSignal,
  fresh: boolean,
  stopped: (e?: unknown) => DrayerError,
): Promise<http.IncomingMessage> {
  const seen = [url];
  let target = new URL(url);
  const first = refusedTarget(target, opts.lanOnly);
  if (first) throw new DrayerError('IO', `${url} was not contacted: ${first}.`);
  for (;;) {
    const res = await request(target, opts, signal, fresh, url, stopped);
    const status = res.statusCode ?? 0;
    const location = status >= 300 && status < 400 ? res.headers.location : undefined;
    if (location === undefined) return res;
    res.destroy();
    let next: URL;
    try {
      next = new URL(location, target);
    } catch {
      throw new DrayerError('IO', `${url} redirects to "${location.slice(0, 200)}", which is not an address; check the peer's address.`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new DrayerError('IO', `${url} redirects to a ${next.protocol} address; only http and https peers are supported.`);
    const refused = refusedTarget(next, opts.lanOnly);
    if (refused) throw new DrayerError('IO', `${url} redirects to ${next.origin}, which was not contacted: ${refused}.`);
    if (seen.includes(next.href)) {
      const hops = seen.length - seen.indexOf(next.href);
      throw new DrayerError(
        'IO',
        `${url} redirects in a loop (${hops === 1 ? 'to itself' : `back to an address already asked, after ${hops} redirects`}); check the peer's address.`,
      );
    }
    if (seen.length > MAX_REDIRECTS) throw new DrayerError('IO', `${url} redirected ${MAX_REDIRECTS} times without an answer; check the peer's address.`);
    seen.push(next.href);
    target = next;
  }
}

/**
 * A whole answer may take this many times timeoutMs. Not one limit for all of it: an answer that
 * begins late (a loaded peer) but then flows must not be cut for the wait before it (issue 14.2).
 */
export const ANSWER_TIME_FACTOR = 3;

/**
 * One try of a bounded GET, at most opts.maxBytes: its answer (redirects included) begins within
 * opts.timeoutMs, no part of it is more than that after the one before, and it ends within
 * ANSWER_TIME_FACTOR times that.
 */
async function fetchBodyOnce(url: string, opts: FetchOptions, sink: Sink, fresh: boolean): Promise<number> {
  const timer = new AbortController();
  let late: 'silent' | 'stalled' | 'slow' | undefined;
  let total = 0;
  let begun = false;
  let ended = false;
  const started = Date.now();
  let moved = started;
  // A timer that fires late because this process was busy (many pulls decoding and applying at
  // once) runs before the I/O that waited behind it: the answer may be here, unread. So each
  // limit is judged again after that I/O (setImmediate runs once the loop has polled).
  const expire = (why: NonNullable<typeof late>) => {
    if (ended) return;
    late = why;
    timer.abort();
  };
  const beginMs = opts.beginMs ?? opts.timeoutMs;
  let holding = false; // the sink is at work: the peer is not silent, this side is not reading
  const onIdle = () =>
    setImmediate(() => {
      const left = holding ? opts.timeoutMs : (begun ? opts.timeoutMs : beginMs) - (Date.now() - moved);
      if (left > 0 && !ended) idle = setTimeout(onIdle, left);
      else expire(begun ? 'stalled' : 'silent');
    });
  let idle = setTimeout(onIdle, Math.min(beginMs, 2 ** 31 - 1));
  const wholeMs = opts.wholeMs ?? opts.timeoutMs * ANSWER_TIME_FACTOR;
  const whole = wholeMs < 2 ** 31 ? setTimeout(() => setImmediate(() => expire('slow')), wholeMs) : undefined;
  const waiting = opts.onWaiting && setInterval(() => !begun && !ended && opts.onWaiting!(Date.now() - started), WAITING_REPORT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
  const stopped = (e?: unknown) => {
    if (!late) return new DrayerError('IO', `Sync with ${url} was stopped.`, { cause: e });
    const t = timeLimit(opts.timeoutMs);
    const why =
      late === 'silent'
        ? `${url} did not answer within ${timeLimit(beginMs)}; try again later.`
        : late === 'stalled'
          ? `${url} stopped sending: nothing more came within ${t}, after ${total} bytes of its answer; try again later.`
          : `${url} did not answer within ${timeLimit(wholeMs)}: only ${total} bytes came, too slowly; try again later.`;
    return new TransientError('IO', why, { cause: e });
  };
  try {
    if (signal.aborted) throw stopped();
    const res = await following(url, opts, signal, fresh, stopped);
    begun = true;
    moved = Date.now();
    if (beginMs !== opts.timeoutMs) {
      // from here, silence is measured by timeoutMs
      clearTimeout(idle);
      idle = setTimeout(onIdle, opts.timeoutMs);
    }
    total = await readAnswer(res, url, opts, signal, stopped, sink, (n, hold = false) => {
      total = n;
      moved = Date.now();
      holding = hold;
    });
    return total;
  } finally {
    ended = true;
    clearTimeout(idle);
    clearTimeout(whole);
    clearInterval(waiting);
  }
}

/** The body of an answer that began: an error status becomes an HttpStatusError; `moved` is told of each part. */
async function readAnswer(
  res: http.IncomingMessage,
  url: string,
  opts: FetchOptions,
  signal: AbortSignal,
  stopped: (e?: unknown) => DrayerError,
  sink: Sink,
  moved: (total: number, holding?: boolean) => void,
): Promise<number> {
  const status = res.statusCode ?? 0;
  const drayer = res.headers[DRAYER_SYNC_HEADER.toLowerCase()] !== undefined;
  if (status < 200 || status > 299) {
    const h = res.headers['retry-after'];
    // One that cannot be read still says "later": it is waited as one without a delay would be.
    const wait = h === undefined ? undefined : (retryAfter(Array.isArray(h) ? h[0] : h) ?? BUSY_LIMITS.defaultWaitMs);
    throw new HttpStatusError(status, url, wait, drayer, await errorText(res, drayer));
  }
  opts.onDrayer?.(drayer);
  const declared = Number(res.headers['content-length'] ?? '-1');
  if (declared > opts.maxBytes) {
    res.destroy();
    throw new DrayerError('IO', `${url} sent ${declared} bytes, more than the ${opts.maxBytes} allowed.`);
  }
  let total = 0;
  try {
    // Events, not `for await`: its async iterator cost about a tenth of a millisecond a request,
    // as much as the rest of a one-record pull's client side on loopback.
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      let working: Promise<void> | undefined;
      const ended = (): void => {
        if (working) return void working.then(ended);
        if (settled) return;
        settled = true;
        if (res.complete) resolve();
        else reject(new Error('the connection closed before the end of the answer'));
      };
      res.on('data', (part: Buffer) => {
        if (settled) return;
        total += part.byteLength;
        if (total > opts.maxBytes) return fail(new DrayerError('IO', `${url} sent more than the ${opts.maxBytes} bytes allowed for one response.`));
        let held: void | Promise<void>;
        try {
          held = sink(part);
        } catch (e) {
          return fail(e);
        }
        moved(total);
        if (!held) return;
        // The sink works on this part (verifies and stores records): no more until it is done, and
        // the answer is not settled before (a retry must not overlap it).
        res.pause();
        moved(total, true);
        working = held.then(
          () => {
            working = undefined;
            moved(total);
            if (!settled) res.resume();
          },
          (e) => {
            working = undefined;
            fail(e);
          },
        );
      });
      res.once('end', ended);
      res.once('close', ended);
      res.once('error', (e) => (working ? void working.then(() => fail(e)) : fail(e)));
    });
  } catch (e) {
    res.destroy(); // a connection with half a body left is not reused
    if (isDrayerError(e)) throw e;
    if (signal.aborted) throw stopped(e);
    throw new TransientError('IO', `${url} broke off its answer after ${total} bytes; try again later.`, { cause: e });
  }
  return total;
}

/** A GET whose body goes to `sink` part by part, as it arrives (an original Drayer's newRecords answer). */
export function fetchStreamed(url: string, opts: FetchOptions, sink: Sink): Promise<number> {
  return fetchBody(url, opts, sink);
}

/** The body of a chunk (or any big body fetched several at once): fetchBody on the chunk pool. */
export function httpGetBody(url: string, opts: FetchOptions, sink: (part: Uint8Array) => void): Promise<number> {
  return fetchBody(url, { ...opts, pool: 'chunks' }, sink);
}

export const timeLimit = (ms: number) => (ms < 10_000 ? `${ms / 1000} s` : `${Math.round(ms / 1000)} s`);
