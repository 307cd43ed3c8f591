// What one client address may hold of the LAN server, and what all of them may hold together
// (issue 7): connections, requests in flight, and bytes of answers held in memory. Answers whose
// bytes stop moving are cut, and idle connections make room when connections run short, so
// clients that ask and never read, or connect and say nothing, cannot lock anyone else out.
// What an answer holds is what is still buffered in this process for it (issue 14.7), not what
// it reserved nor what the kernel took, and one address's share shrinks as more addresses hold
// something, so stalled readers from a few addresses cannot keep everyone else's big answers out.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ServerLimits } from './context.js';

/** Why a connection or a request was refused: the bound that refused it. */
export type Refusal = 'busy' | 'addressBusy' | 'memory' | 'addressMemory' | 'connections' | 'addressConnections';

export const REFUSALS: readonly Refusal[] = ['busy', 'addressBusy', 'memory', 'addressMemory', 'connections', 'addressConnections'];

/**
 * The unit a client is counted by: an IPv4 address, or an IPv6 /64 (one host commonly holds a
 * whole /64, so counting single IPv6 addresses would bound nothing).
 */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  const a = address.toLowerCase().split('%')[0]!;
  if (!a.includes(':')) return a;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/.test(a)) return a.slice(7);
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return (
    groups
      .slice(0, 4)
      .map((g) => (parseInt(g, 16) || 0).toString(16))
      .join(':') + '::/64'
  );
}

interface Peer {
  key: string;
  connections: number;
  active: number;
  /** the answers being sent to it, each with what it reserved */
  answers: Set<Answer>;
}

/** An answer let in: what it reserved, and where its bytes wait in this process. */
interface Answer {
  reserved: number;
  res?: ServerResponse;
  /** a body piped into the response (a file): its read-ahead is held too */
  body?: Readable;
}

/**
 * What an answer holds now: its reservation until its bytes are being sent, then what is still
 * buffered in this process (the response's and its socket's queue, a piped body's read-ahead;
 * bytes the kernel took are not), never more than it reserved.
 */
function heldBy(a: Answer): number {
  const res = a.res;
  if (!res || a.reserved === 0) return a.reserved;
  if (a.body ? !res.headersSent : !res.writableEnded) return a.reserved;
  return Math.min(a.reserved, res.writableLength + (a.body?.readableLength ?? 0));
}

interface Conn {
  sock: Socket;
  peer: Peer;
  /** requests on this connection being answered now (pipelining can make it more than one) */
  busy: number;
  /** since when no request on it has been answered (its connect, or its last answer's end) */
  idleSince: number;
  /** counted out already (evicted or cut): its 'close' must not count it out again */
  gone: boolean;
  /** how far its writes had got when last looked at, and when that last changed */
  mark: number;
  moved: number;
}

/** A request let in: what its answer holds, given back when the answer ends. */
export interface Admission {
  /** bytes this answer may still hold in memory */
  room(): number;
  /** count `bytes` more as held until the answer ends; the bound that refuses them, if one does */
  hold(bytes: number): Refusal | undefined;
  /** the body piped into the answer: once it flows, its read-ahead is counted instead of the reservation */
  track(body: Readable): void;
  /** the answer ended (sent or abandoned) */
  done(): void;
}

export class Guard {
  private readonly conns = new Map<Socket, Conn>();
  private readonly peers = new Map<string, Peer>();
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly refused = Object.fromEntries(REFUSALS.map((r) => [r, 0])) as Record<Refusal, number>;
  readonly closed = { stalled: 0, idle: 0 };
  /** on-demand fetches refused (fetchWait) */
  fetchesRefused = 0;
  private readonly fetchBuckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limits: ServerLimits) {}

  get connections(): number {
    return this.conns.size;
  }

  get activeRequests(): number {
    return this.active;
  }

  /** Bytes of answers held in this process now (see heldBy). */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.peers.values()) n += this.heldOf(p);
    return n;
  }

  private heldOf(p: Peer): number {
    let n = 0;
    for (const a of p.answers) n += heldBy(a);
    return n;
  }

  /**
   * What one address may hold now: its fixed share while it is alone, less as more addresses hold
   * something (the server's bound over their number, plus one so a newcomer finds room), never
   * below an eighth of the bound (one 8 MiB record's page still fits with the defaults).
   */
  private shareOf(peer: Peer): number {
    let holders = 1;
    for (const p of this.peers.values()) if (p !== peer && p.answers.size > 0 && this.heldOf(p) > 0) holders++;
    const all = this.limits.maxBufferedBytes;
    return Math.min(this.limits.maxBufferedBytesPerAddress, Math.max(Math.floor(all / 8), Math.floor(all / (holders + 1))));
  }

  /** Past this many connections, answers close their connection instead of keeping it alive. */
  get scarce(): boolean {
    return this.conns.size > this.limits.maxConnections * 0.75;
  }

  /** Watch for stalled answers (call once listening; `stop` ends it). */
  start(): void {
    if (this.timer) return;
    const every = Math.max(50, Math.min(1000, Math.floor(this.limits.stallTimeoutMs / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A new connection: refused (destroyed) when its address has its share of connections or the
   * server is full, unless an idle connection can make room for it: first one of its own
   * address, else the oldest idle one of the address holding the most.
   */
  connect(sock: Socket): boolean {
    const peer = this.peer(addressKey(sock.remoteAddress));
    if (peer.connections >= this.limits.maxConnectionsPerAddress && !this.evict((c) => c.peer === peer)) {
      return this.refuse(sock, peer, 'addressConnections');
    }
    if (this.conns.size >= this.limits.maxConnections && !this.evict(() => true)) {
      return this.refuse(sock, peer, 'connections');
    }
    const now = Date.now();
    const conn: Conn = { sock, peer, busy: 0, idleSince: now, gone: false, mark: 0, moved: now };
    this.conns.set(sock, conn);
    peer.connections++;
    sock.once('close', () => this.forget(conn));
    return true;
  }

  /**
   * A request on `sock`: let in, or refused by the bound it would break. The global bound is
   * checked last, and no address may fill it alone (its share is below it), so a refusal to
   * one address never becomes a refusal to everyone.
   */
  admit(sock: Socket, res?: ServerResponse): Admission | Refusal {
    const conn = this.conns.get(sock);
    const peer = conn?.peer ?? this.peer(addressKey(sock.remoteAddress));
    const why = peer.active >= this.limits.maxConcurrentPerAddress ? 'addressBusy' : this.active >= this.limits.maxConcurrent ? 'busy' : undefined;
    if (why) {
      this.refused[why]++;
      this.prune(peer);
      return why;
    }
    this.active++;
    peer.active++;
    if (conn) conn.busy++;
    const answer: Answer = { reserved: 0, res };
    peer.answers.add(answer);
    let ended = false;
    const room = () => Math.max(0, Math.min(this.shareOf(peer) - this.heldOf(peer), this.limits.maxBufferedBytes - this.heldBytes));
    return {
      room,
      hold: (bytes) => {
        if (ended || bytes <= 0) return undefined;
        const why =
          bytes > this.shareOf(peer) - this.heldOf(peer) ? 'addressMemory' : bytes > this.limits.maxBufferedBytes - this.heldBytes ? 'memory' : undefined;
        if (why) {
          this.refused[why]++;
          return why;
        }
        answer.reserved += bytes;
        return undefined;
      },
      track: (body) => {
        answer.body = body;
      },
      done: () => {
        if (ended) return;
        ended = true;
        this.active--;
        peer.active--;
        peer.answers.delete(answer);
        if (conn) {
          conn.busy--;
          // Its writes are judged from now on, not from before the answer began.
          conn.moved = conn.idleSince = Date.now();
        }
        this.prune(peer);
      },
    };
  }

  /**
   * A request asks this node to fetch what a metadata-only copy lacks (issue 14.5): each address
   * may make openFetchesPerMinute such fetches (in a burst, then at that rate), all of them four
   * times that, so strangers cannot use this node to make requests for them. Answers 0 when it
   * may, else the ms until it may.
   */
  fetchWait(sock: Socket, now = Date.now()): number {
    const per = this.limits.openFetchesPerMinute;
    const buckets = [
      [addressKey(sock.remoteAddress), per],
      ['*', 4 * per],
    ] as const;
    const state = buckets.map(([key, cap]) => {
      const b = this.fetchBuckets.get(key) ?? { tokens: cap, at: now };
      b.tokens = Math.min(cap, b.tokens + ((now - b.at) * cap) / 60_000);
      b.at = now;
      this.fetchBuckets.set(key, b);
      return { b, cap };
    });
    const short = state.find(({ b }) => b.tokens < 1);
    if (short) {
      this.fetchesRefused++;
      return Math.ceil(((1 - short.b.tokens) * 60_000) / short.cap);
    }
    for (const { b } of state) b.tokens -= 1;
    // Full buckets say nothing: dropped, so the map holds only addresses that fetched lately.
    if (this.fetchBuckets.size > 1024) for (const [k, b] of this.fetchBuckets) if (k !== '*' && b.tokens >= per - 1) this.fetchBuckets.delete(k);
    return 0;
  }

  /** Cut every connection whose pending writes have not moved for stallTimeoutMs. */
  sweep(now = Date.now()): void {
    for (const c of this.conns.values()) {
      const s = c.sock;
      // Bytes libuv still has to hand to the kernel; one big write shows its progress only here.
      const queued = (s as Socket & { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize ?? 0;
      const pending = queued > 0 || s.writableLength > 0;
      const mark = (s.bytesWritten ?? 0) - queued;
      if (!pending || mark !== c.mark) {
        c.mark = mark;
        c.moved = now;
      } else if (now - c.moved >= this.limits.stallTimeoutMs) {
        this.closed.stalled++;
        this.forget(c);
        s.destroy();
      }
    }
  }

  private peer(key: string): Peer {
    let p = this.peers.get(key);
    if (!p) {
      p = { key, connections: 0, active: 0, answers: new Set() };
      this.peers.set(key, p);
    }
    return p;
  }

  private prune(p: Peer): void {
    if (p.connections === 0 && p.active === 0 && p.answers.size === 0) this.peers.delete(p.key);
  }

  private refuse(sock: Socket, peer: Peer, why: Refusal): false {
    this.refused[why]++;
    this.prune(peer);
    sock.destroy();
    return false;
  }

  /**
   * Close the idle connection (no request being answered) that can best be spared, if any: one
   * of the address holding the most, so one client with a few is the last to lose one; of
   * those, the one idle longest.
   */
  private evict(eligible: (c: Conn) => boolean): boolean {
    let victim: Conn | undefined;
    for (const c of this.conns.values()) {
      if (c.busy > 0 || !eligible(c)) continue;
      if (!victim || c.peer.connections > victim.peer.connections || (c.peer.connections === victim.peer.connections && c.idleSince < victim.idleSince))
        victim = c;
    }
    if (!victim) return false;
    this.closed.idle++;
    this.forget(victim);
    victim.sock.destroy();
    return true;
  }

  private forget(c: Conn): void {
    if (c.gone) return;
    c.gone = true;
    this.conns.delete(c.sock);
    c.peer.connections--;
    this.prune(c.peer);
  }
}

/** The admission of each response being answered, so body helpers can count what they hold. */
export const admissions = new WeakMap<ServerResponse, Admission>();
