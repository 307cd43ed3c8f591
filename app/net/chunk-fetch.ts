// Big-file chunks fetched over a kept-alive connection whose socket reads land straight in the
// chunk's buffer (net.Socket `onread`): no buffer allocated per read (garbage that, collected
// late, grew a 1 GiB clone's RSS by 40-60 MiB), no copy, no HTTP stream machinery per read.
// Only the plain case goes this way: http:, an answer 200 with a Content-Length within the
// limit. Anything else (a busy peer, a redirect, an error status, chunked encoding, a head that
// is too big, a connection that fails before answering) is handed back to the general client
// (sync-fetch.ts), which retries, waits and explains. The body is hashed as it lands, so its hash
// is known the moment the last byte is in; the caller stores it only if that hash is the one its
// signed manifest names.
import * as net from 'node:net';
import type { IHasher } from 'hash-wasm';
import { DrayerError } from '../core/errors.js';
import { refusedHost } from './lan.js';
import { ANSWER_TIME_FACTOR, guardedLookup, timeLimit, TransientError } from './sync-fetch.js';

/** An answer's status line and headers must fit in this (Node's own HTTP limit is the same). */
const HEAD_MAX = 16 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

export interface ChunkGetOptions {
  timeoutMs: number;
  /** a longer body is not read here (the general client refuses it, saying so) */
  maxBytes: number;
  signal?: AbortSignal;
  lanOnly?: boolean;
  localAddress?: string;
}

/** What `get` brought: the body in `buf` (the one given, or a bigger one) and its BLAKE2b-256, or a hand-back to the general client. */
export type ChunkGot = { buf: ArrayBuffer; len: number; hash: Uint8Array } | 'fallback';

/** What the head of an answer says, when it is the plain case; undefined otherwise. */
export function plainHead(head: string, maxBytes: number): { length: number; close: boolean } | undefined {
  const lines = head.split('\r\n');
  if (!/^HTTP\/1\.[01] 200 /.test(lines[0] + ' ')) return undefined;
  let length: number | undefined;
  let close = lines[0]!.startsWith('HTTP/1.0');
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) return undefined;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'content-length') {
      if (length !== undefined || !/^\d{1,15}$/.test(value)) return undefined;
      length = Number(value);
    } else if (name === 'transfer-encoding') {
      return undefined;
    } else if (name === 'connection') {
      close = /\bclose\b/i.test(value);
    }
  }
  if (length === undefined || length > maxBytes) return undefined;
  return { length, close };
}

type Pending = { resolve: (g: ChunkGot | 'retry') => void; reject: (e: unknown) => void };

/** One kept-alive connection to a peer, one chunk at a time. `close()` it when done. */
export class ChunkConnection {
  private sock: net.Socket | undefined;
  private readonly head = Buffer.allocUnsafe(HEAD_MAX);
  private headLen = 0;
  private state: 'idle' | 'head' | 'body' = 'idle';
  private body = new Uint8Array(0);
  private got = 0;
  private want = 0;
  private reuse = false;
  private pending: Pending | undefined;
  private url = '';
  private lastMoved = 0;
  private requests = 0;

  private constructor(
    private readonly target: URL,
    private readonly opts: ChunkGetOptions,
    /** BLAKE2b-256 of the body as it lands (hash-wasm: 1.6x libsodium's speed on 1 MiB here) */
    private readonly hasher: IHasher,
  ) {}

  /** A connection to `peer` (a base URL), or undefined when chunks from it go through the general client. */
  static async to(peer: string, opts: ChunkGetOptions): Promise<ChunkConnection | undefined> {
    let u: URL;
    try {
      u = new URL(peer);
    } catch {
      return undefined;
    }
    if (u.protocol !== 'http:' || u.username || u.password) return undefined;
    // hash-wasm loads with the first big-file fetch, not with every node's start-up
    const { createBLAKE2b } = await import('hash-wasm');
    return new ChunkConnection(u, opts, await createBLAKE2b(256));
  }

  /** GET `path` (from the server's root) into `buf`. Throws only once an answer began (or the sync was stopped). */
  async get(path: string, buf: ArrayBuffer): Promise<ChunkGot> {
    if (this.opts.signal?.aborted) throw this.stopped();
    const host = this.target.hostname.replace(/^\[|\]$/g, '');
    if (refusedHost(host, this.opts.lanOnly === true)) return 'fallback'; // the general client says why
    this.url = this.target.origin + path;
    // A kept-alive connection the peer closed meanwhile fails before any byte: asked again on a new one.
    for (;;) {
      const fresh = !this.sock || this.sock.destroyed || !this.reuse;
      if (fresh) this.connect(host);
      const got = await this.once(path, buf);
      if (got !== 'retry') return got;
      if (fresh) return 'fallback';
    }
  }

  /** End the connection. */
  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }

  private connect(host: string): void {
    this.sock?.destroy();
    this.state = 'idle';
    const mine = () => this.sock === sock;
    const sock: net.Socket = net.connect({
      host,
      port: Number(this.target.port || 80),
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      lookup: guardedLookup(this.opts.lanOnly),
      noDelay: true,
      onread: { buffer: () => this.nextBuffer(), callback: (n: number) => (mine() && this.onRead(n), true) },
    });
    // Events of a connection already replaced are no news.
    sock.on('error', () => mine() && this.broken());
    sock.on('close', () => mine() && this.broken());
    sock.on('end', () => mine() && this.broken());
    this.sock = sock;
    this.reuse = true;
  }

  /** One request on the current connection: the answer, 'retry' (no byte came back), or 'fallback'. */
  private once(path: string, buf: ArrayBuffer): Promise<ChunkGot | 'retry'> {
    const sock = this.sock!;
    this.state = 'head';
    this.headLen = 0;
    this.body = new Uint8Array(buf);
    this.got = 0;
    this.want = 0;
    this.requests++;
    const t = this.opts.timeoutMs;
    const started = Date.now();
    this.lastMoved = started;
    return new Promise<ChunkGot | 'retry'>((resolve, reject) => {
      let settled = false;
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.pending = undefined;
        clearTimeout(idle);
        clearTimeout(whole);
        this.opts.signal?.removeEventListener('abort', onAbort);
        f();
      };
      const fail = (e: unknown) => done(() => (this.close(), reject(e)));
      const onAbort = () => fail(this.stopped());
      // Judged after the I/O that waited behind a late timer (as sync-fetch does): the answer may be here, unread.
      const onIdle = () =>
        setImmediate(() => {
          const left = t - (Date.now() - this.lastMoved);
          if (settled) return;
          if (left > 0) idle = setTimeout(onIdle, left);
          else fail(this.late(this.state === 'body' ? 'stalled' : 'silent'));
        });
      let idle = setTimeout(onIdle, t);
      const whole = setTimeout(() => setImmediate(() => settled || fail(this.late('slow'))), t * ANSWER_TIME_FACTOR);
      this.opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending = { resolve: (g) => done(() => resolve(g)), reject: fail };
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${this.target.host}\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n`);
    });
  }

  /**
   * The connection broke: mid-body that is the peer's failure; before any byte of answer, the
   * request is asked again (on a new connection, once); after part of a head, the general client asks.
   */
  private broken(): void {
    this.reuse = false;
    const p = this.pending;
    if (!p) return;
    const state = this.state;
    this.state = 'idle';
    this.close();
    if (state === 'body') p.reject(new TransientError('IO', `${this.url} broke off its answer after ${this.got} bytes; try again later.`));
    else p.resolve(this.headLen === 0 ? 'retry' : 'fallback');
  }

  /**
   * Where the next socket read lands: the chunk's buffer once the body began, else the head buffer.
   * Node asks for it right after the read before, not when the next bytes come: between answers
   * (idle) that is the start of the head buffer, where `once` will parse the next head from.
   */
  private nextBuffer(): Uint8Array {
    if (this.state === 'body') return new Uint8Array(this.body.buffer, this.got, this.want - this.got);
    if (this.state === 'idle') return this.head;
    return this.head.subarray(this.headLen < HEAD_MAX ? this.headLen : 0);
  }

  private onRead(n: number): void {
    this.lastMoved = Date.now();
    if (this.state === 'body') {
      this.hasher.update(new Uint8Array(this.body.buffer, this.got, n));
      this.got += n;
      if (this.got === this.want) this.finish();
      return;
    }
    if (this.state === 'idle') {
      // Bytes nobody asked for: this connection is not trusted with another request.
      this.close();
      return;
    }
    const from = Math.max(0, this.headLen - 3);
    this.headLen += n;
    const end = this.head.subarray(0, this.headLen).indexOf(CRLF2, from);
    if (end < 0) {
      if (this.headLen >= HEAD_MAX) this.handBack();
      return;
    }
    const plain = plainHead(this.head.toString('latin1', 0, end), this.opts.maxBytes);
    if (!plain) return this.handBack();
    const extra = this.headLen - (end + 4);
    if (extra > plain.length) return this.handBack(); // more than it declared: not the plain case
    if (plain.close) this.reuse = false;
    if (plain.length > this.body.byteLength) this.body = new Uint8Array(new ArrayBuffer(plain.length));
    this.body.set(this.head.subarray(end + 4, this.headLen));
    this.hasher.init();
    this.hasher.update(this.head.subarray(end + 4, this.headLen));
    this.got = extra;
    this.want = plain.length;
    this.state = 'body';
    if (this.got === this.want) this.finish();
  }

  /** Not the plain case: the connection goes and the general client asks again. */
  private handBack(): void {
    const p = this.pending;
    this.state = 'idle';
    this.close();
    p?.resolve('fallback');
  }

  private finish(): void {
    const p = this.pending;
    this.state = 'idle';
    if (!this.reuse) this.close();
    p?.resolve({ buf: this.body.buffer as ArrayBuffer, len: this.want, hash: this.hasher.digest('binary') });
  }

  private stopped(): DrayerError {
    return new DrayerError('IO', `Sync with ${this.url || this.target.origin} was stopped.`);
  }

  private late(why: 'silent' | 'stalled' | 'slow'): DrayerError {
    const t = this.opts.timeoutMs;
    const msg =
      why === 'silent'
        ? `${this.url} did not answer within ${timeLimit(t)}; try again later.`
        : why === 'stalled'
          ? `${this.url} stopped sending: nothing more came within ${timeLimit(t)}, after ${this.got} bytes of its answer; try again later.`
          : `${this.url} did not answer within ${timeLimit(t * ANSWER_TIME_FACTOR)}: only ${this.got} bytes came, too slowly; try again later.`;
    return new TransientError('IO', msg);
  }
}
