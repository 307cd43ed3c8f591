// The multicast socket under LAN discovery: bound to the group's port, joined on every LAN
// address, reopened and rejoined with backoff while the network refuses (no route, no address,
// a port in use). It only moves bytes; what to send and what to make of a packet is discovery.ts's.
import * as dgram from 'node:dgram';
import * as os from 'node:os';

const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 60_000;

export interface GroupSocketOptions {
  group: string;
  port: number;
  /**
   * The local address multicast leaves from (IP_MULTICAST_IF: it becomes the packets' source
   * address, which receivers take as this node's) and the group is joined on; default: all.
   * The socket stays bound to all addresses: one bound to a unicast address receives no multicast.
   */
  interface?: string;
}

/** What the socket tells its owner. */
export interface GroupSocketHooks {
  packet(msg: Buffer, rinfo: dgram.RemoteInfo): void;
  /** a retry has opened the socket or joined the group: back on the network */
  back(): void;
  /** a send failed while joined: the network may have changed */
  sendFailed(): void;
  /** trouble worth a (de-duplicated) warning; `key` names the kind */
  warn(key: string, message: string, cause?: unknown): void;
  /** the owner's counters of packets sent and of send or socket errors */
  counters: { sent: number; errors: number };
}

export class GroupSocket {
  private socket: dgram.Socket | null = null;
  /** between open() and close(): retries are wanted */
  private active = false;
  private joinedGroup = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: GroupSocketOptions,
    private readonly hooks: GroupSocketHooks,
  ) {}

  /** Whether the socket is bound (it may not have joined the group yet). */
  get isOpen(): boolean {
    return this.socket !== null;
  }

  get joined(): boolean {
    return this.joinedGroup;
  }

  /** Bind and join. Resolves even when the network refuses: it warns and retries. */
  async open(): Promise<void> {
    this.active = true;
    await this.bind();
  }

  private async bind(): Promise<void> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = sock;
    sock.on('message', (msg, rinfo) => this.hooks.packet(msg, rinfo));
    const ok = await new Promise<boolean>((resolve) => {
      const onError = (err: Error): void => {
        this.hooks.warn('bind', `cannot open the discovery socket on port ${this.opts.port}: ${err.message}`, err);
        resolve(false);
      };
      sock.once('error', onError);
      sock.once('close', () => resolve(false)); // close() during bind
      // Bound to all addresses: a socket bound to one unicast address does not receive multicast.
      sock.bind({ port: this.opts.port, exclusive: false }, () => {
        sock.off('error', onError);
        resolve(true);
      });
    });
    if (!ok || !this.active || this.socket !== sock) {
      if (this.socket === sock) this.socket = null;
      await closeQuietly(sock);
      this.scheduleRetry();
      return;
    }
    sock.on('error', (err) => {
      this.hooks.counters.errors++;
      this.hooks.warn('socket', `discovery socket error: ${err.message}`, err);
    });
    try {
      sock.setMulticastTTL(1); // never routed off the local link
      sock.setMulticastLoopback(true); // several nodes on one machine hear each other
      if (this.opts.interface) sock.setMulticastInterface(this.opts.interface);
    } catch (err) {
      this.hooks.warn('sockopt', `cannot configure multicast: ${(err as Error).message}`, err);
    }
    this.join();
  }

  /** Join the group on the default interface and every LAN address; `again` after a network change. */
  join(again = false): void {
    const sock = this.socket;
    if (!sock || (this.joinedGroup && !again)) return;
    const ifaces = this.opts.interface ? [this.opts.interface] : [undefined, ...lanAddresses()];
    let any = false;
    let lastErr: Error | null = null;
    for (const iface of ifaces) {
      try {
        sock.addMembership(this.opts.group, iface);
        any = true;
      } catch (err) {
        // EADDRINUSE: already joined through the default interface
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') any = true;
        else lastErr = err as Error;
      }
    }
    this.joinedGroup = any;
    if (any) this.retryMs = RETRY_MIN_MS;
    else {
      this.hooks.counters.errors++;
      this.hooks.warn(
        'join',
        `cannot join multicast group ${this.opts.group} (no multicast route?): ${lastErr?.message ?? 'unknown error'}; retrying`,
        lastErr,
      );
      this.scheduleRetry();
    }
  }

  /**
   * After a network change: join the group on the new addresses. False when there is no socket
   * or no membership yet (the pending retry then reports `back` once it succeeds).
   */
  rejoin(): boolean {
    if (!this.socket) return false;
    this.join(true);
    return this.joinedGroup;
  }

  private scheduleRetry(): void {
    if (!this.active || this.retryTimer) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.active) return;
      if (!this.socket) {
        void this.bind().then(() => this.hooks.back());
      } else {
        this.join();
        if (this.joinedGroup) this.hooks.back();
      }
    }, delay);
    this.retryTimer.unref();
  }

  /** Send one packet to the group (the caller has checked its size and rate). */
  send(packet: Uint8Array): void {
    const sock = this.socket;
    if (!sock) return;
    try {
      sock.send(packet, this.opts.port, this.opts.group, (err) => {
        if (!err) this.hooks.counters.sent++;
        else {
          this.hooks.counters.errors++;
          this.hooks.warn(`send:${(err as NodeJS.ErrnoException).code ?? ''}`, `cannot send discovery packet: ${err.message}`, err);
          if (!this.joinedGroup) this.scheduleRetry();
          else this.hooks.sendFailed();
        }
      });
    } catch (err) {
      this.hooks.counters.errors++;
      this.hooks.warn('send', `cannot send discovery packet: ${(err as Error).message}`, err);
    }
  }

  /** No more reopening or rejoining: the owner is stopping. */
  stopRetrying(): void {
    this.active = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Close the socket (and stop retrying): nothing keeps the process alive afterwards. */
  async close(): Promise<void> {
    this.stopRetrying();
    const sock = this.socket;
    this.socket = null;
    this.joinedGroup = false;
    if (sock) await closeQuietly(sock);
  }

  /** A last packet before closing, if the group was joined: best effort, waited for at most 200 ms. */
  sendLast(packet: Uint8Array): Promise<void> {
    const sock = this.socket;
    if (!sock || !this.joinedGroup) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 200);
      try {
        sock.send(packet, this.opts.port, this.opts.group, (err) => {
          if (!err) this.hooks.counters.sent++;
          clearTimeout(t);
          resolve();
        });
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }
}

/** IPv4 addresses of this machine's non-loopback interfaces (to join the group on each). */
function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

/** The machine's LAN addresses by interface, to notice a network change; null if unreadable. */
export function networkKey(): string | null {
  try {
    const out: string[] = [];
    for (const [name, list] of Object.entries(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(`${name}=${a.address}`);
    }
    return out.sort().join(',');
  } catch {
    return null; // some sandboxes refuse getifaddrs: no change detection, nothing else lost
  }
}

function closeQuietly(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
