// The LAN HTTP server (DESIGN §5): public and read-only. It serves mirrors their changes,
// records, values and chunks, answers the original Drayer's endpoints in their original shapes,
// and serves phones a stream's website. Every request is bounded (URL size, page sizes, count in
// flight, time), no path leaves its stream, and errors never show internals. What one client
// address may hold (connections, requests, bytes waiting for it) is bounded below what all may,
// stalled answers are cut, and idle connections make room, so no one client can lock others out.
// Sync answers wait their turn in a bounded queue; past it a client is told 503 and when to come
// back (admission.ts), so a crowd of followers is answered, never left waiting unseen.
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseKey } from '../../core/keys.js';
import type { OpenOptions } from '../open.js';
import type { Stream } from '../../store/store.js';
import { DEFAULT_LIMITS, type RouteContext, type ServerLimits } from './context.js';
import { SyncQueue } from './admission.js';
import { addressKey, admissions, Guard, REFUSALS, type Refusal } from './guard.js';
import { HttpError, refusal, reserve, room, sendText } from './http.js';
import * as sync from './sync-routes.js';
import * as web from './web-routes.js';
import * as priv from './private-page.js';
import { replies, type RepliesSource } from './reply-routes.js';

export { DEFAULT_LIMITS, type ServerLimits } from './context.js';
export { addressKey } from './guard.js';

export interface SharedStream {
  publicKey: Uint8Array;
  name: string;
  mtip?: number;
  announce?: boolean;
}

export interface ServerOptions {
  /** default 127.0.0.1; the node passes its LAN address */
  host?: string;
  /** default 0: any free port */
  port?: number;
  /** the stream with this key if this node shares it; anything else is a 404 */
  resolve(pk: Uint8Array): Stream | undefined;
  /** a shared stream that lists this key as one of its devices (§9): an original node asks newRecords of a sibling chain by its key */
  resolveDevice?(pk: Uint8Array): Stream | undefined;
  /** the streams listed at `/` (the JSON listing adds each one's M-tip and whether it is announced on the LAN) */
  shared(): SharedStream[];
  /** this node's id (hex) and name, for the JSON listing at `/` (how a node found over mDNS is known) */
  about?(): { id: string; name: string };
  /** the node's private listing, sealed as on the LAN (discovery-private.ts), for the JSON listing at `/` */
  sealed?(): Uint8Array[];
  limits?: Partial<ServerLimits>;
  /** where failures are described (never sent to clients) */
  log?: (message: string) => void;
  /**
   * How a metadata-only copy opens what a request asks for: the stream's sources (and who to tell
   * of each value filled in). Without it, such files are not found here.
   */
  opener?(s: Stream): Pick<OpenOptions, 'sources' | 'onValue'>;
  /** the signed replies to a post found in the public streams served here (GET /replies, reply-routes.ts) */
  replies?: RepliesSource;
}

export interface ServerStats {
  /** requests received (including rejected ones) */
  requests: number;
  /** requests being answered now */
  active: number;
  /** requests refused (503, or 429 for an address over its share) by any bound below */
  rejected: number;
  /** connections open now */
  connections: number;
  /** bytes of answers held in memory now (bodies over 64 KiB, file streams' read-ahead) */
  buffered: number;
  /**
   * What was refused, by bound: requests (busy: maxConcurrent, addressBusy: its per-address share,
   * memory/addressMemory: the buffered-bytes bounds) and connections (connections,
   * addressConnections: nothing idle could make room).
   */
  refused: Record<Refusal, number>;
  /** connections this server closed: answers that stalled, idle ones closed to make room */
  closed: { stalled: number; idle: number };
  /** requests refused (429) because their address, or everyone, made enough on-demand fetches lately */
  fetchesRefused: number;
  /**
   * Sync answers (admission.ts): waiting their turn now, answered from the queue, refused with
   * 503 because the queue was full or its wait too long (`busy`) or the event loop lagged
   * (`lagging`), dropped because the client left before its turn (`abandoned`), and let in past
   * the bound because their address was among those refused earliest (`firstRefusedFirst`).
   */
  sync: { waiting: number; answered: number; busy: number; lagging: number; abandoned: number; firstRefusedFirst: number };
}

/** A route answers at once, or (fetching what a metadata-only copy lacks) by a promise. */
type Route = (ctx: RouteContext) => void | Promise<void>;

/** Per-stream endpoints by the path segment after the key. */
const ROUTES: Record<string, Route> = {
  changes: sync.changes,
  tips: sync.tips,
  record: sync.record,
  value: sync.value,
  chunk: sync.chunk,
  newRecords: sync.newRecords,
  newestRecordsJSON: sync.newestRecordsJSON,
  listRecordsJSON: sync.listRecordsJSON,
  webAccess: web.webAccess,
  sealed: priv.sealedRecords,
  'private.js': priv.privateScript,
};

/**
 * Routes a follower asks again after a 503 with Retry-After (sync.ts): their answers wait their
 * turn in the sync queue. The phone pages and the original Drayer's JSON listings are answered at once.
 */
const QUEUED = new Set(['changes', 'tips', 'record', 'value', 'chunk', 'newRecords']);

/** Standard base64 holds '/', so a raw key can span path segments: 44 characters at most, 43 with no padding. */
const MAX_RAW_KEY_CHARS = 64;
/** Percent-encoded keys, hex or PGP words still fit in one segment this long. */
const MAX_KEY_SEGMENT = 512;

function tryKey(text: string): Uint8Array | undefined {
  try {
    return parseKey(text);
  } catch {
    return undefined;
  }
}

/**
 * Find the stream key at the start of the path: first the first segment alone (URL-safe or
 * percent-encoded base64, as quote_plus makes it); failing that, the first segments joined back
 * with '/' (standard base64 written raw into the path).
 */
export function splitKey(segs: string[]): { pk: Uint8Array; keyRaw: string; rest: string[] } | undefined {
  const first = segs[0] ?? '';
  if (first.length > 0 && first.length <= MAX_KEY_SEGMENT) {
    const pk = tryKey(first);
    if (pk) return { pk, keyRaw: first, rest: segs.slice(1) };
  }
  let joined = first;
  for (let n = 2; n <= segs.length; n++) {
    joined += '/' + segs[n - 1];
    if (joined.length > MAX_RAW_KEY_CHARS) break;
    if (!/^[A-Za-z0-9+/=]+$/.test(joined)) continue;
    const pk = tryKey(joined);
    if (pk) return { pk, keyRaw: joined, rest: segs.slice(n) };
  }
  return undefined;
}

export class LanServer {
  private readonly opts: ServerOptions;
  private readonly limits: ServerLimits;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly guard: Guard;
  private readonly queue: SyncQueue;
  private requests = 0;
  private bound: { host: string; port: number } | null = null;

  constructor(opts: ServerOptions) {
    this.opts = opts;
    const limits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
    for (const [k, v] of Object.entries(limits)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`Server limit ${k} must be a positive number.`);
    }
    // Node refuses a headers timeout longer than the request timeout.
    limits.headersTimeoutMs = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
    // No address may fill a global bound alone: its share stays below it.
    limits.maxConcurrentPerAddress = Math.min(limits.maxConcurrentPerAddress, Math.max(1, limits.maxConcurrent - 1));
    limits.maxConnectionsPerAddress = Math.min(limits.maxConnectionsPerAddress, Math.max(1, limits.maxConnections - 1));
    limits.maxBufferedBytesPerAddress = Math.min(limits.maxBufferedBytesPerAddress, limits.maxBufferedBytes);
    this.limits = limits;
    this.guard = new Guard(limits);
    this.queue = new SyncQueue(limits);
    this.server = http.createServer(
      {
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: limits.headersTimeoutMs,
        // Longer than the 4 s a client of ours keeps an idle connection (sync.ts CLIENT_IDLE_MS),
        // so a request is not sent down a socket this server is closing at that moment (issue
        // 14.2); no longer than the headers timeout, which a kept-alive connection waits under.
        keepAliveTimeout: Math.min(8000, limits.headersTimeoutMs, limits.requestTimeoutMs),
        // How often Node checks the two timeouts above; its default (30 s) would let slow clients linger.
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => this.onRequest(req, res),
    );
    // An idle socket (a client that stops reading a response, or says nothing) is closed.
    this.server.timeout = limits.requestTimeoutMs;
    this.server.maxHeadersCount = 100;
    this.server.maxRequestsPerSocket = 10_000;
    // The guard enforces maxConnections (closing idle connections to make room); Node's own
    // check, which only drops the newcomer, is a backstop above it.
    this.server.maxConnections = limits.maxConnections * 2;
    this.server.on('connection', (sock: Socket) => {
      if (!this.guard.connect(sock)) return;
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, sock: Socket) => {
      // Malformed requests and header timeouts: a short answer when the socket still takes one.
      if (!sock.writable || (sock as Socket & { _httpMessage?: unknown })._httpMessage) {
        sock.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text = status === 431 ? 'Request headers too large' : status === 408 ? 'Request timed out' : 'Bad request';
      sock.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\nConnection: close\r\n\r\n${text}\n`);
    });
  }

  get port(): number {
    return this.bound?.port ?? 0;
  }

  stats(): ServerStats {
    const g = this.guard;
    const r = g.refused;
    return {
      requests: this.requests,
      active: g.activeRequests,
      rejected: r.busy + r.addressBusy + r.memory + r.addressMemory,
      connections: g.connections,
      buffered: g.heldBytes,
      refused: Object.fromEntries(REFUSALS.map((k) => [k, r[k]])) as Record<Refusal, number>,
      closed: { ...g.closed },
      fetchesRefused: g.fetchesRefused,
      sync: {
        waiting: this.queue.waiting,
        answered: this.queue.counts.answered,
        busy: this.queue.counts.refused,
        lagging: this.queue.counts.lagging,
        abandoned: this.queue.counts.abandoned,
        firstRefusedFirst: this.queue.counts.firstRefusedFirst,
      },
    };
  }

  listen(): Promise<{ host: string; port: number }> {
    const host = this.opts.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.opts.port ?? 0, host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        this.bound = { host, port: a.port };
        this.guard.start();
        this.queue.start();
        resolve({ ...this.bound });
      });
    });
  }

  /** Stop listening and cut every open connection (downloads in progress included). */
  close(): Promise<void> {
    this.guard.stop();
    this.queue.stop();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        for (const s of this.sockets) s.destroy();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
    });
  }

  private log(message: string): void {
    try {
      this.opts.log?.(message);
    } catch {
      // a failing logger must not take the server down
    }
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    // Bodies are never read: a request that has one gets its answer and the connection closes.
    // So does any answer while connections are scarce, rather than idling in keep-alive.
    if ((req.headers['content-length'] && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] || this.guard.scarce) {
      res.setHeader('Connection', 'close');
    }
    const admitted = this.guard.admit(req.socket, res);
    if (typeof admitted === 'string') {
      const e = refusal(admitted);
      res.setHeader('Connection', 'close');
      sendText(req, res, e.status, e.message, e.headers);
      return;
    }
    admissions.set(res, admitted);
    // 'finish' comes once the last byte is with the kernel, so what the answer held is free.
    res.once('close', admitted.done);
    res.once('finish', admitted.done);
    this.answer(req, res, () => this.route(req, res));
  }

  /** Run a handler; whatever it throws, now or later, becomes the answer (fail). */
  private answer(req: http.IncomingMessage, res: http.ServerResponse, handler: () => void | Promise<void>): void {
    try {
      const later = handler();
      later?.catch((e) => this.fail(req, res, e));
    } catch (e) {
      this.fail(req, res, e);
    }
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
    if (res.destroyed && !res.headersSent) return; // the client left while the answer was being fetched
    if (res.headersSent) {
      this.log(`server: ${req.method} ${safeUrl(req.url)} failed after its answer began: ${describe(e)}`);
      res.destroy();
      return;
    }
    // Drop what a handler prepared for its answer, but keep a decision to close the connection.
    for (const h of res.getHeaderNames()) if (h !== 'connection') res.removeHeader(h);
    if (e instanceof HttpError) {
      sendText(req, res, e.status, e.message, e.headers);
      return;
    }
    this.log(`server: ${req.method} ${safeUrl(req.url)} failed: ${describe(e)}`);
    sendText(req, res, 500, 'Something went wrong on this node while answering; try again later.');
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void> {
    const method = req.method ?? '';
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Connection', 'close');
      throw new HttpError(405, 'This server is read-only: it answers only GET and HEAD.', { Allow: 'GET, HEAD' });
    }
    const url = req.url ?? '';
    if (Buffer.byteLength(url, 'latin1') > this.limits.maxUrlBytes) {
      throw new HttpError(414, `The address is longer than this node accepts (${this.limits.maxUrlBytes} bytes).`);
    }
    if (!url.startsWith('/')) throw new HttpError(400, 'The request target must be a path starting with "/".');
    const qAt = url.indexOf('?');
    const rawPath = qAt < 0 ? url : url.slice(0, qAt);
    const query = new URLSearchParams(qAt < 0 ? '' : url.slice(qAt + 1));

    if (rawPath === '/') {
      web.rootIndex(req, res, this.opts.shared(), this.opts.about?.(), this.opts.sealed?.());
      return;
    }
    if (rawPath === '/replies') return replies(req, res, query, this.opts.replies);
    const found = splitKey(rawPath.slice(1).split('/'));
    if (!found) throw new HttpError(404, 'There is nothing at this address. Stream addresses start with the stream key.');
    const { rest, keyRaw } = found;
    let stream = this.opts.resolve(found.pk);
    let chain: Uint8Array | undefined;
    if (!stream && rest[0] === 'newRecords') {
      stream = this.opts.resolveDevice?.(found.pk);
      chain = found.pk;
    }
    if (!stream) throw new HttpError(404, 'This node does not share that stream.');
    if (rest.length === 0) {
      // /<pk> → /<pk>/ so the page's relative links resolve under the stream.
      web.redirect(req, res, 301, `./${keyRaw.slice(keyRaw.lastIndexOf('/') + 1)}/`);
      return;
    }
    const ctx: RouteContext = {
      req,
      res,
      stream,
      keyRaw,
      args: rest.slice(1),
      ...(chain ? { chain } : {}),
      query,
      limits: this.limits,
      log: (m) => this.log(m),
      room: () => room(res),
      served: (pk) => this.opts.resolve(pk),
      reserve: (bytes) => reserve(res, bytes),
      opener:
        this.opts.opener &&
        (() => {
          const wait = this.guard.fetchWait(req.socket);
          if (wait > 0) {
            throw new HttpError(
              429,
              'This node keeps only the metadata of this stream and has fetched as many contents as it does for one address in a minute; try again in a moment.',
              { 'Retry-After': String(Math.ceil(wait / 1000)) },
            );
          }
          return this.opts.opener!(stream);
        }),
    };
    const op = rest[0]!;
    if (op === '' && rest.length === 1) return web.home(ctx);
    const handler = Object.hasOwn(ROUTES, op) ? ROUTES[op] : undefined;
    if (!handler) throw new HttpError(404, 'There is nothing at this address.');
    if (!QUEUED.has(op)) return handler(ctx);
    const busy = this.queue.submit(res, () => this.answer(req, res, () => handler(ctx)), addressKey(req.socket.remoteAddress));
    if (busy) {
      // Said at once, on a connection kept open for the next try: cheaper than any wait.
      const why = busy.why === 'lag' ? 'is overloaded' : `is busy answering other syncs (${busy.waiting} waiting)`;
      throw new HttpError(503, `This node ${why}; try again in ${busy.retryAfterS} s.`, { 'Retry-After': String(busy.retryAfterS) });
    }
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

function safeUrl(url: string | undefined): string {
  const u = url ?? '';
  return u.length > 200 ? u.slice(0, 200) + '…' : u;
}
