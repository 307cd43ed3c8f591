// Router port mapping (issue 18): while the node is in the DHT, ask the home router to forward its
// HTTP port (TCP) and the DHT's UDP port to this computer, so that the address it announces can be
// reached from the internet. UPnP IGD (portmap-upnp.ts) and NAT-PMP (portmap-pmp.ts) are asked at
// once; the first that maps wins. A gateway that answers NAT-PMP "unsupported version" is asked
// in PCP (portmap-pcp.ts), as RFC 6887 §9 has a PCP-only router answer. Leases are renewed at half their life and removed at stop. Every
// step has a time limit, so a router that does not answer costs a few seconds and leaves a plain
// state ("no router answered"), never an exception; a failed attempt is tried again later.
//
// Written here rather than with @achingbrain/nat-port-mapper 4.0.5: that library reads descriptions
// and SOAP answers whole with no size limit, speaks only IGD v2 (most home routers are v1), binds
// UDP 1900 on every interface, and brings 35 packages (libp2p's logger and multiaddr among them).
import type { MappedPort, PortMapStatus } from '../core/shapes.js';
import { pcpMap, pcpNonce } from './portmap-pcp.js';
import { pmpExternalAddress, pmpMap, PmpError, defaultGateways } from './portmap-pmp.js';
import { describeGateway, soapAction, ssdpSearch, UpnpError, UPNP_LIMITS, type IgdService } from './portmap-upnp.js';

export interface PortToMap {
  protocol: 'TCP' | 'UDP';
  port: number;
}

export type { MappedPort, PortMapStatus };

export interface PortMapperOptions {
  ports: PortToMap[];
  /** the label routers list the mapping under */
  description?: string;
  /** lease asked for, seconds (renewed at half of what is granted) */
  leaseS?: number;
  /** how long an SSDP search listens */
  searchMs?: number;
  /** NAT-PMP gateways to ask (default: the default routes') */
  pmpGateways?: string[];
  /** which protocols to ask (default all; tests pick one). PCP beside NAT-PMP is asked only when the gateway says NAT-PMP is not its version. */
  methods?: Via[];
  /** after a failure, try again this much later */
  retryMs?: number;
  log?: (msg: string) => void;
  /** called when a mapping is made, moved or lost (the DHT then announces the port the internet sees) */
  onChange?: () => void;
}

const DEFAULT_LEASE_S = 3600;
const DEFAULT_RETRY_MS = 5 * 60_000;
/** how long stop() waits for an attempt under way (one that finishes later removes what it mapped itself) */
const STOP_WAIT_MS = 4000;

type Via = 'UPnP' | 'NAT-PMP' | 'PCP';

interface Active {
  via: Via;
  router: string;
  ports: MappedPort[];
  /** remove one mapping (bounded time) */
  unmap: (p: MappedPort) => Promise<void>;
  /** map the ports again for another lease; the lease granted */
  renew: () => Promise<number>;
}

export class PortMapper {
  private state: PortMapStatus = { state: 'searching' };
  private active: Active | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;
  private renewals = 0;
  private readonly lease: number;

  constructor(private readonly opts: PortMapperOptions) {
    this.lease = opts.leaseS ?? DEFAULT_LEASE_S;
  }

  /** The port the internet reaches `port` at, while mapped. */
  externalPort(protocol: 'TCP' | 'UDP', port: number): number | undefined {
    return this.active?.ports.find((p) => p.protocol === protocol && p.port === port)?.externalPort;
  }

  status(): PortMapStatus {
    return this.state.state === 'mapped' ? { ...this.state, renewals: this.renewals } : this.state;
  }

  /** Start mapping in the background; status() tells how it goes. */
  start(): void {
    this.run(() => this.attempt());
  }

  /** Stop renewing and remove the mappings made (each removal bounded in time). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((r) => (wait = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(wait);
    const a = this.active;
    this.active = null;
    if (!a) return;
    await Promise.allSettled(a.ports.map((p) => a.unmap(p)));
    this.opts.log?.(`Removed the port mapping on the router at ${a.router}.`);
  }

  private run(step: () => Promise<void>): void {
    if (this.stopped) return;
    this.running = step()
      .catch((e: unknown) => this.opts.log?.(`Port mapping: ${(e as Error).message}`))
      .finally(() => (this.running = null));
  }

  private later(ms: number, step: () => Promise<void>): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(step), ms);
    this.timer.unref();
  }

  private portsText(): string {
    return this.opts.ports.map((p) => `${p.protocol} ${p.port}`).join(' and ');
  }

  /** Find a router, map the ports, and set the state; schedule the renewal or the next try. */
  private async attempt(): Promise<void> {
    const methods = this.opts.methods ?? ['UPnP', 'NAT-PMP', 'PCP'];
    const pmpGateways = methods.includes('NAT-PMP') || methods.includes('PCP') ? (this.opts.pmpGateways ?? defaultGateways()) : [];
    const [upnp, pmp] = await Promise.all([methods.includes('UPnP') ? this.findUpnp() : null, this.findPmp(pmpGateways, methods)]);
    if (this.stopped) return;
    let refusal: PortMapStatus | null = null;
    for (const found of [upnp, pmp]) {
      if (!found) continue;
      if ('error' in found) {
        refusal ??= { state: 'refused', via: found.via, router: found.router, message: found.error };
        continue;
      }
      const r = await this.mapWith(found.make());
      if (!('error' in r)) {
        if (this.stopped) return void (await Promise.allSettled(r.ports.map((p) => r.unmap(p)))); // stop() came meanwhile
        return this.mapped(r, found.externalAddress ?? r.externalAddress);
      }
      refusal ??= { state: 'refused', via: r.via, router: r.router, message: r.error };
    }
    const before = this.state;
    this.state = refusal ?? {
      state: 'no-router',
      message: `No router answered (UPnP or NAT-PMP): from the internet this computer is reachable only if the router forwards ${this.portsText()} to it.`,
    };
    // said once, not again at every try (every 5 minutes) while it stays so
    if (!('message' in before) || before.message !== this.state.message) this.opts.log?.(`Port mapping: ${this.state.message}`);
    this.later(this.opts.retryMs ?? DEFAULT_RETRY_MS, () => this.attempt());
  }

  private mapped(a: Active & { leaseS: number }, externalAddress: string | null): void {
    this.active = a;
    this.state = { state: 'mapped', via: a.via, router: a.router, externalAddress, ports: a.ports, leaseS: a.leaseS, renewals: this.renewals };
    const shown = a.ports.map((p) => `${p.protocol} ${externalAddress ?? '?'}:${p.externalPort} → ${p.port}`).join(', ');
    this.opts.log?.(`The router at ${a.router} forwards ${shown} (${a.via}, ${a.leaseS ? `lease ${a.leaseS} s` : 'permanent until stop'}).`);
    this.scheduleRenew(a.leaseS);
    this.opts.onChange?.();
  }

  private scheduleRenew(leaseS: number): void {
    // a permanent mapping (lease 0) is still refreshed now and then, in case the router restarted
    const ms = leaseS > 0 ? Math.max(1000, (leaseS * 1000) / 2) : DEFAULT_LEASE_S * 500;
    this.later(ms, async () => {
      const a = this.active;
      if (!a) return;
      try {
        const before = a.ports.map((p) => p.externalPort).join();
        const granted = await a.renew();
        this.renewals++;
        if (a.ports.map((p) => p.externalPort).join() !== before) this.opts.onChange?.();
        if (this.state.state === 'mapped') this.state = { ...this.state, leaseS: granted };
        this.scheduleRenew(granted);
      } catch (e) {
        this.active = null;
        this.state = { state: 'refused', via: a.via, router: a.router, message: `renewing the mapping failed: ${(e as Error).message}` };
        this.opts.log?.(`Port mapping: ${this.state.message}`);
        this.opts.onChange?.();
        // What is still mapped is removed now rather than left to forward to us until its lease ends
        // (each removal bounded in time), except a port the router says another computer took.
        const taken = e instanceof RenewError && isTaken(e.why) ? e.port : undefined;
        await Promise.allSettled(a.ports.filter((p) => p !== taken).map((p) => a.unmap(p)));
        this.later(this.opts.retryMs ?? DEFAULT_RETRY_MS, () => this.attempt());
      }
    });
  }

  private async findUpnp(): Promise<Found | null> {
    const locations = await ssdpSearch(this.opts.searchMs ?? UPNP_LIMITS.searchMs);
    let first: Found | null = null;
    for (const loc of locations) {
      try {
        const svc = await describeGateway(loc);
        const ext = await soapAction(svc, 'GetExternalIPAddress');
        const externalAddress = ext.fields('NewExternalIPAddress') || null;
        return { via: 'UPnP', router: svc.host, externalAddress, make: () => this.upnpMapper(svc, ext.localAddress) };
      } catch (e) {
        first ??= { via: 'UPnP', router: loc.hostname, error: (e as Error).message };
      }
    }
    return first;
  }

  private async findPmp(gateways: string[], methods: Via[]): Promise<Found | null> {
    const tries = await Promise.all(
      gateways.map(async (g): Promise<Found | null> => {
        // PCP alone: the mapping itself finds out whether the gateway speaks it
        if (!methods.includes('NAT-PMP')) return { via: 'PCP', router: g, externalAddress: null, make: () => this.pcpMapper(g) };
        try {
          const externalAddress = await pmpExternalAddress(g);
          return { via: 'NAT-PMP', router: g, externalAddress, make: () => this.pmpMapper(g) };
        } catch (e) {
          // a PCP-only gateway answers NAT-PMP with "unsupported version" (RFC 6887 §9)
          if (e instanceof PmpError && e.result === 1 && methods.includes('PCP'))
            return { via: 'PCP', router: g, externalAddress: null, make: () => this.pcpMapper(g) };
          return e instanceof PmpError ? { via: 'NAT-PMP', router: g, error: e.message } : null;
        }
      }),
    );
    return tries.find((t) => t && !('error' in t)) ?? tries.find((t) => t) ?? null;
  }

  /** Map every port through `m`; what was mapped, or why not (what was half mapped is removed). */
  private async mapWith(
    m: Mapper,
  ): Promise<(Active & { leaseS: number; externalAddress: string | null }) | { via: Active['via']; router: string; error: string; ports?: undefined }> {
    const ports: MappedPort[] = [];
    let leaseS = this.lease;
    let externalAddress: string | null = null;
    try {
      for (const p of this.opts.ports) {
        const r = await m.map(p, p.port);
        externalAddress ??= r.externalAddress ?? null;
        ports.push({ ...p, externalPort: r.externalPort });
        leaseS = Math.min(leaseS, r.leaseS);
      }
    } catch (e) {
      await Promise.allSettled(ports.map((p) => m.unmap(p)));
      return { via: m.via, router: m.router, error: (e as Error).message };
    }
    const renew = async () => {
      let granted = this.lease;
      for (const p of ports) {
        const r = await m.map(p, p.externalPort, true).catch((e: unknown) => {
          throw new RenewError(p, e);
        });
        if (r.externalPort !== p.externalPort) p.externalPort = r.externalPort; // a router may move it: show the new one
        granted = Math.min(granted, r.leaseS);
      }
      return granted;
    };
    return { via: m.via, router: m.router, ports, leaseS, externalAddress, unmap: (p) => m.unmap(p), renew };
  }

  private upnpMapper(svc: IgdService, localAddress: string): Mapper {
    const description = this.opts.description ?? 'Drayer';
    const args = (p: PortToMap, externalPort: number, lease: number): [string, string | number][] => [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', p.protocol],
      ['NewInternalPort', p.port],
      ['NewInternalClient', localAddress],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', description],
      ['NewLeaseDuration', lease],
    ];
    let lease = this.lease;
    /** Map at exactly externalPort; a router that keeps only permanent mappings (725) gets one (removed at stop all the same). */
    const add = async (p: PortToMap, externalPort: number) => {
      try {
        await soapAction(svc, 'AddPortMapping', args(p, externalPort, lease));
      } catch (e) {
        if (!(e instanceof UpnpError) || e.upnpCode !== 725 || lease === 0) throw e;
        lease = 0;
        await soapAction(svc, 'AddPortMapping', args(p, externalPort, 0));
      }
      return externalPort;
    };
    /** The port is another computer's on the router (718), or the router's own (729): take another. */
    const elsewhere = async (p: PortToMap, first: unknown): Promise<number> => {
      if (svc.serviceType.endsWith(':2')) {
        // IGD v2 picks a free port itself
        const r = await soapAction(svc, 'AddAnyPortMapping', args(p, p.port, lease || 3600)).catch(() => null);
        const reserved = Number(r?.fields('NewReservedPort'));
        if (Number.isInteger(reserved) && reserved > 0 && reserved < 65536) return reserved;
      }
      for (let i = 0; i < 3; i++) {
        try {
          return await add(p, 20_000 + Math.floor(Math.random() * 40_000));
        } catch (e) {
          if (!isTaken(e)) throw e;
        }
      }
      throw first;
    };
    return {
      via: 'UPnP',
      router: svc.host,
      map: async (p, externalPort, renewing) => {
        try {
          return { externalPort: await add(p, externalPort), leaseS: lease };
        } catch (e) {
          // on renewal the port taken meanwhile is a failure: the next attempt maps afresh
          if (renewing || !isTaken(e)) throw e;
          return { externalPort: await elsewhere(p, e), leaseS: lease };
        }
      },
      unmap: async (p) => {
        await soapAction(svc, 'DeletePortMapping', [
          ['NewRemoteHost', ''],
          ['NewExternalPort', p.externalPort],
          ['NewProtocol', p.protocol],
        ]);
      },
    };
  }

  /** PCP: each port's mapping is known to the gateway by a nonce, kept for its renewals and its removal. */
  private pcpMapper(gateway: string): Mapper {
    const nonces = new Map<string, Buffer>();
    const nonceOf = (p: PortToMap): Buffer => {
      const k = `${p.protocol}/${p.port}`;
      let n = nonces.get(k);
      if (!n) nonces.set(k, (n = pcpNonce()));
      return n;
    };
    return {
      via: 'PCP',
      router: gateway,
      map: async (p, externalPort) => {
        const r = await pcpMap(gateway, nonceOf(p), p.protocol, p.port, externalPort, this.lease);
        return { externalPort: r.externalPort, leaseS: r.lifetimeS, externalAddress: r.externalAddress };
      },
      unmap: async (p) => void (await pcpMap(gateway, nonceOf(p), p.protocol, p.port, p.externalPort, 0)),
    };
  }

  private pmpMapper(gateway: string): Mapper {
    return {
      via: 'NAT-PMP',
      router: gateway,
      map: async (p, externalPort) => {
        const r = await pmpMap(gateway, p.protocol, p.port, externalPort, this.lease);
        return { externalPort: r.externalPort, leaseS: r.lifetimeS };
      },
      unmap: async (p) => void (await pmpMap(gateway, p.protocol, p.port, 0, 0)),
    };
  }
}

/** A port's renewal failed (`why`: what the router said). */
class RenewError extends Error {
  constructor(
    readonly port: MappedPort,
    readonly why: unknown,
  ) {
    super((why as Error)?.message ?? String(why));
  }
}

function isTaken(e: unknown): boolean {
  return e instanceof UpnpError && (e.upnpCode === 718 || e.upnpCode === 729);
}

interface Mapper {
  via: Via;
  router: string;
  /** map p at externalPort (the router may give another; `renewing`: the same port again, or fail) */
  map: (p: PortToMap, externalPort: number, renewing?: boolean) => Promise<{ externalPort: number; leaseS: number; externalAddress?: string | null }>;
  unmap: (p: MappedPort) => Promise<void>;
}

type Found = { via: Via; router: string; externalAddress: string | null; make: () => Mapper } | { via: Via; router: string; error: string };
