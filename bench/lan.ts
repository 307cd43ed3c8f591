// bench lan: a busy LAN (issue 17). N real headless nodes, each its own process (bench/lan-child.ts)
// with its own data directory and stream, its LAN server and its discovery multicast on its own
// 127.0.0.K (hosts on a LAN, as receivers see them), each following every other node's stream.
// Per N it measures convergence, one post → all followers, all nodes posting at once, an idle
// window (HTTP requests counted at the servers, CPU per node, multicast bytes heard by a passive
// socket) and fresh follows; then the fitted exponent of each figure over the sizes.
//
// It multicasts, so it runs only inside a private network namespace: run from outside, it runs
// itself again under `unshare -n` (test/netns.ts) and refuses when that cannot be done.
//
// BENCH_LAN_N="10,20,40" sizes; BENCH_LAN_IDLE_S=60 idle window; BENCH_LAN_ROUNDS=3 single posts;
// BENCH_LAN_NEARBY=1 nodes as the app (Nearby asked for, so names are looked up); BENCH_LAN_FOLLOWS=5 fresh follows per size; BENCH_LAN_CONVERGE_S: how long convergence is waited
// for (default the larger of 120 s and 6 s a node; a LAN that has not converged by then is reported
// with the share it reached, and the later phases run anyway).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { decode } from '@msgpack/msgpack';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MULTICAST_GROUP, MULTICAST_PORT } from '../app/net/discovery-wire.js';
import { netnsCommand, NETNS_SKIP_REASON } from '../test/netns.js';
import { removeDir, tempDir } from './common.js';
import { notIsolated, now, type Counters, type FromChild, type ToChild } from './lan-child.js';
import { exponents, goalsMet, median, round, table, type SizeFigures } from './lan-figures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const INNER = 'DRAYER_BENCH_LAN_INNER';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load1 = (): number => round(os.loadavg()[0]!, 2);
const say = (m: string): void => void process.stderr.write(`[bench lan] ${m}\n`);

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v} is not a whole number`);
  return n;
}

export function sizes(): number[] {
  const text = process.env.BENCH_LAN_N ?? '10,20,40';
  const ns = text.split(',').map((x) => Number(x.trim()));
  // 127.0.0.2 … 127.0.0.(N+1): at most 250 nodes
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 2 || n > 250)) {
    throw new Error(`BENCH_LAN_N="${text}": give sizes between 2 and 250, separated by commas (e.g. "10,20,40")`);
  }
  return ns;
}

/** A message to a node, before it is numbered. */
type Request = ToChild extends infer T ? (T extends ToChild ? Omit<T, 'id'> : never) : never;

/** A node process and its IPC. */
class Child {
  pk = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly exited: Promise<void>;

  constructor(
    readonly addr: string,
    readonly proc: ChildProcess,
    onArrive: (m: { pk: string; title: string; t: number; tReq?: number }, to: Child) => void,
  ) {
    proc.on('message', (m: FromChild) => {
      if (m.op === 'arrive') onArrive(m, this);
      else if (m.op === 'reply') {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error !== undefined) w?.reject(new Error(`${addr}: ${m.error}`));
        else w?.resolve(m.value);
      }
    });
    this.exited = new Promise((r) => proc.once('exit', () => r()));
    void this.exited.then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`the node on ${addr} exited`));
      this.waiting.clear();
    });
  }

  ask<T>(m: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ ...m, id });
    });
  }
}

/** Fork the nodes, each on 127.0.0.(K+2); resolves once every one has its stream and first post. */
async function startNodes(
  n: number,
  root: string,
  onArrive: (m: { pk: string; title: string; t: number; tReq?: number }, to: Child) => void,
): Promise<Child[]> {
  const script = path.join(here, 'lan-child.js');
  const children: Child[] = [];
  const ready: Promise<void>[] = [];
  for (let k = 0; k < n; k++) {
    const addr = `127.0.0.${k + 2}`;
    const proc = fork(script, [addr, path.join(root, `node${k}`)], {
      env: { ...process.env, DRAYER_BENCH_LAN_CHILD: '1' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const c = new Child(addr, proc, onArrive);
    children.push(c);
    ready.push(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the node on ${addr} did not start within 180 s`)), 180_000);
        proc.on('message', (m: FromChild) => {
          if (m.op === 'ready') {
            c.pk = m.pk;
            clearTimeout(timer);
            resolve();
          } else if (m.op === 'failed') {
            clearTimeout(timer);
            reject(new Error(`the node on ${addr} failed: ${m.error}`));
          }
        });
        proc.once('exit', (code) => reject(new Error(`the node on ${addr} exited (${code}) before it was ready`)));
      }),
    );
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    await stopNodes(children);
    throw e;
  }
  return children;
}

async function stopNodes(children: Child[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 15_000);
      await c.ask({ op: 'stop' }).catch(() => {});
      await c.exited;
      clearTimeout(t);
    }),
  );
}

/** Waits until `done()` or `ms` passed; true when done. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

/** Requests served by all nodes, by kind. */
function sumKinds(cs: Counters[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of cs) for (const [k, v] of Object.entries(c.servedBy)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** A socket that only listens to the discovery group (never sends): every node's multicast, counted. */
async function multicastCounter(): Promise<{
  bytes: number;
  packets: number;
  byKind: Map<string, number>;
  countByKind: Map<string, number>;
  close(): Promise<void>;
}> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  // bytes by message: a (announce, full listing 'a*'), r (record), h (hello), q (ask), b (goodbye)
  const byKind = new Map<string, number>();
  const countByKind = new Map<string, number>();
  const c = { bytes: 0, packets: 0, byKind, countByKind, close: () => new Promise<void>((r) => sock.close(() => r())) };
  sock.on('message', (msg) => {
    c.bytes += msg.length;
    c.packets++;
    let kind = '?';
    try {
      const m = decode(msg.subarray(20)) as { t?: string; f?: number };
      kind = `${m.t}${m.f === 1 ? '*' : ''}`;
    } catch {
      /* not ours */
    }
    byKind.set(kind, (byKind.get(kind) ?? 0) + msg.length);
    countByKind.set(kind, (countByKind.get(kind) ?? 0) + 1);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ port: MULTICAST_PORT, exclusive: false }, () => resolve());
  });
  sock.addMembership(MULTICAST_GROUP, '127.0.0.1');
  return c;
}

async function measureSize(n: number, idleS: number, rounds: number, followTries: number, convergeLimitS: number): Promise<SizeFigures> {
  const loadStart = load1();
  const root = tempDir('drayer-bench-lan-');
  // arrivals[pk][title] → follower address → time it landed
  const arrivals = new Map<string, Map<string, Map<string, number>>>();
  const arrived = (pk: string, title: string): Map<string, number> => {
    let byTitle = arrivals.get(pk);
    if (!byTitle) arrivals.set(pk, (byTitle = new Map()));
    let m = byTitle.get(title);
    if (!m) byTitle.set(title, (m = new Map()));
    return m;
  };
  // when each arrival's pull was asked for (the last /changes request of that stream before it landed)
  const asked = new Map<string, number>();
  const onArrive = (m: { pk: string; title: string; t: number; tReq?: number }, to: Child): void => {
    const at = arrived(m.pk, m.title);
    if (at.has(to.addr)) return;
    at.set(to.addr, m.t);
    if (m.tReq !== undefined) asked.set(`${m.pk} ${m.title} ${to.addr}`, m.tReq);
  };
  const mc = await multicastCounter();
  say(`N = ${n}: starting ${n} nodes (load ${loadStart})`);
  const nodes = await startNodes(n, root, onArrive);
  try {
    const count = (title: string): number => nodes.reduce((a, c) => a + (arrivals.get(c.pk)?.get(title)?.size ?? 0), 0);
    const want = n * (n - 1);

    // 1. Convergence: every node follows every other stream (by key alone: sources are the announced holders).
    // BENCH_LAN_PROF=DIR: each node's main thread is profiled over the convergence and over the burst
    // (DIR/converge-ADDR.cpuprofile, DIR/burst-ADDR.cpuprofile, DIR/idle-ADDR.cpuprofile; scripts/cpuprofile-top.mjs reads them)
    const profDir = process.env.BENCH_LAN_PROF;
    const profile = async (name: string | null): Promise<void> => {
      if (profDir) await Promise.all(nodes.map((c) => c.ask({ op: 'profile', dir: profDir, name })));
    };
    await profile('converge');
    let followsPendingAt30s = 0;
    const atStart = await Promise.all(nodes.map((x) => x.ask<Counters>({ op: 'counters' })));
    const cpu0 = atStart.reduce((a, c) => a + c.cpuUs, 0);
    const served0 = sumKinds(atStart);
    const mc0 = { bytes: new Map(mc.byKind), count: new Map(mc.countByKind) };
    const t0 = now();
    const follows = nodes.map((c) => c.ask({ op: 'follow', keys: nodes.filter((o) => o !== c).map((o) => o.pk) }));
    const convergeWait = convergeLimitS > 0 ? convergeLimitS * 1000 : Math.max(120_000, n * 6000);
    const converged = await until(() => count('first') >= want, convergeWait);
    let lastFirst = 0;
    for (const c of nodes) for (const t of arrivals.get(c.pk)?.get('first')?.values() ?? []) lastFirst = Math.max(lastFirst, t);
    const convergeS = converged ? round((lastFirst - t0) / 1000, 2) : null;
    const convergedShare = round(count('first') / want, 3);
    say(`N = ${n}: ${converged ? `converged in ${convergeS} s` : `not converged after ${convergeWait / 1000} s (${convergedShare})`}`);
    {
      // pulls that failed so far, all nodes, by message: what slowed the convergence (or stopped it)
      const errs: Record<string, number> = {};
      const fms: number[] = [];
      let cpu = -cpu0;
      const after = await Promise.all(nodes.map((x) => x.ask<Counters>({ op: 'counters' })));
      const servedKinds = Object.entries(sumKinds(after))
        .map(([k, v]) => [k, v - (served0[k] ?? 0)] as const)
        .filter(([, v]) => v > 0)
        .sort((a, b) => b[1] - a[1]);
      say(`N = ${n}: HTTP requests while converging, by kind: ${servedKinds.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
      for (const c of after) {
        for (const [k, v] of Object.entries(c.pullErrors)) errs[k] = (errs[k] ?? 0) + v;
        fms.push(...c.followMs);
        cpu += c.cpuUs;
      }
      say(`N = ${n}: CPU of all nodes while converging: ${round(cpu / 1e6, 1)} s (${round(cpu / 1000 / want, 1)} ms a follow)`);
      const kinds = [...mc.countByKind].map(
        ([k, v]) => `${k} ${v - (mc0.count.get(k) ?? 0)} (${round(((mc.byKind.get(k) ?? 0) - (mc0.bytes.get(k) ?? 0)) / 1024)} KiB)`,
      );
      say(`N = ${n}: multicast while converging, packets by message: ${kinds.join(', ')}`);
      const ds: Record<string, number> = {};
      for (let i = 0; i < after.length; i++)
        for (const [k, v] of Object.entries(after[i]!.discovery)) ds[k] = (ds[k] ?? 0) + v - (atStart[i]!.discovery[k] ?? 0);
      say(
        `N = ${n}: discovery while converging, all nodes: ${Object.entries(ds)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      fms.sort((a, b) => a - b);
      const q = (f: number): number => fms[Math.min(fms.length - 1, Math.floor(f * fms.length))] ?? NaN;
      say(`N = ${n}: ${fms.length} follow calls took median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms`);
      // the slowest follows, each as its timeline (ms from its start: requests of its stream and their answers)
      const slow = after
        .flatMap((c, i) => c.slowFollows.map((f) => ({ ...f, addr: nodes[i]!.addr })))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5);
      for (const f of slow) say(`N = ${n}: slow follow at ${f.addr}: ${f.what}`);
      const top = Object.entries(errs).sort((a, b) => b[1] - a[1]);
      if (top.length)
        say(
          `N = ${n}: failed pulls while converging: ${top
            .slice(0, 5)
            .map(([k, v]) => `${v}× ${k}`)
            .join('; ')}`,
        );
    }
    await profile(null);
    // The follow calls themselves: each answers once its first pull ends (they are not waited for longer).
    let followsLeft = nodes.length;
    for (const f of follows)
      void f.then(
        () => followsLeft--,
        (e: unknown) => (followsLeft--, say(`a follow failed: ${String(e)}`)),
      );
    if (!(await until(() => followsLeft === 0, 30_000))) {
      const pending = (await Promise.all(nodes.map((c) => c.ask<Counters>({ op: 'counters' })))).reduce((a, c) => a + c.following, 0);
      say(`N = ${n}: ${pending} follow calls had not answered ${round((now() - t0) / 1000)} s after they were made`);
      followsPendingAt30s = pending;
    }
    await sleep(2000);

    // 2. One post at a time → all N−1 followers.
    const single: number[] = [];
    const singleHeard: number[] = []; // post → its pull asked for
    let singleMissing = 0;
    for (let r = 0; r < rounds; r++) {
      const poster = nodes[(r * 7) % n]!;
      const title = `one-${r}`;
      const { t } = await poster.ask<{ t: number }>({ op: 'post', title });
      await until(() => (arrivals.get(poster.pk)?.get(title)?.size ?? 0) >= n - 1, 20_000);
      const at = arrivals.get(poster.pk)?.get(title) ?? new Map<string, number>();
      for (const [addr, v] of at) {
        single.push(v - t);
        const q = asked.get(`${poster.pk} ${title} ${addr}`);
        if (q !== undefined && q >= t) singleHeard.push(q - t);
      }
      singleMissing += n - 1 - at.size;
      await sleep(1000);
    }
    say(
      `N = ${n}: one post → followers, median ${round(median(single) ?? NaN)} ms (${singleHeard.length ? `its pull asked for after ${round(median(singleHeard)!)} ms, ${singleHeard.length} of ${single.length} pulled` : 'none pulled: applied from the packet'})`,
    );

    // 3. Every node posts at once.
    const snap = (): Promise<Counters[]> => Promise.all(nodes.map((c) => c.ask<Counters>({ op: 'counters' })));
    await profile('burst');
    const cpuBefore = await snap();
    const posted = await Promise.all(nodes.map((c) => c.ask<{ t: number }>({ op: 'post', title: 'burst' }).then((r) => ({ c, t: r.t }))));
    await until(() => count('burst') >= want, 60_000);
    const burst: number[] = [];
    for (const { c, t } of posted) for (const v of arrivals.get(c.pk)?.get('burst')?.values() ?? []) burst.push(v - t);
    const within = (ms: number): number => round(burst.filter((d) => d <= ms).length / want, 3);
    // the CPU all nodes spent on it (posting, announcing, serving and pulling), per delivery
    const cpuAfter = await snap();
    await profile(null);
    const burstCpuMs = cpuAfter.reduce((a, c, i) => a + (c.cpuUs - cpuBefore[i]!.cpuUs) / 1000, 0) / Math.max(1, burst.length);
    say(`N = ${n}: all at once, ${round(within(2000) * 100, 1)}% within 2 s; ${round(burstCpuMs, 2)} ms of CPU a delivery, all nodes`);

    // 4. Idle: nothing changes; what does the LAN cost? Measured once the LAN has caught up (every
    // first and burst post everywhere, or the convergence wait over): before that it is still syncing.
    await until(() => count('first') >= want && count('burst') >= want, convergeWait);
    const caughtUp = round((count('first') + count('burst')) / (2 * want), 3);
    await sleep(5000);
    const before = await snap();
    const mcBefore = { bytes: mc.bytes, packets: mc.packets, byKind: new Map(mc.byKind) };
    await profile('idle');
    const tIdle = now();
    await sleep(idleS * 1000);
    await profile(null);
    const after = await snap();
    {
      const ev: Record<string, number> = {};
      for (let i = 0; i < after.length; i++) for (const [k, v] of Object.entries(after[i]!.events)) ev[k] = (ev[k] ?? 0) + v - (before[i]!.events[k] ?? 0);
      say(
        `N = ${n}: events emitted while idle, all nodes: ${
          Object.entries(ev)
            .filter(([, v]) => v > 0)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }`,
      );
      const ds: Record<string, number> = {};
      for (let i = 0; i < after.length; i++)
        for (const [k, v] of Object.entries(after[i]!.discovery)) ds[k] = (ds[k] ?? 0) + v - (before[i]!.discovery[k] ?? 0);
      const stale = after.reduce((a, c) => a + c.staleTips, 0);
      say(
        `N = ${n}: discovery while idle, all nodes: ${Object.entries(ds)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}; stale M-tips at the end: ${stale}`,
      );
    }
    // what the idle window heard (the fresh follows below announce too)
    const mcIdle = { bytes: mc.bytes - mcBefore.bytes, packets: mc.packets - mcBefore.packets };
    const idleMs = now() - tIdle;
    const perMin = (x: number): number => (x * 60_000) / idleMs;
    const requests = after.reduce((a, c, i) => a + c.served - before[i]!.served, 0);
    const cpu = after.map((c, i) => perMin((c.cpuUs - before[i]!.cpuUs) / 1e6));
    const by: Record<string, number> = {};
    after.forEach((c, i) => {
      for (const [k, v] of Object.entries(c.servedBy)) by[k] = (by[k] ?? 0) + v - (before[i]!.servedBy[k] ?? 0);
    });
    const kinds = Object.entries(by)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${round(perMin(v))}`)
      .join(', ');
    say(`N = ${n}: idle ${round(idleMs / 1000)} s: ${round(perMin(requests))} requests a minute (${kinds || 'none'})`);
    const mcKinds = [...mc.byKind]
      .map(([k, v]) => [k, v - (mcBefore.byKind.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${round((v * 1000) / idleMs)}`)
      .join(', ');
    say(`N = ${n}: idle multicast B/s by message: ${mcKinds || 'none'}`);

    // 5. Fresh follows: a stream new on the LAN, held by all but its tester, then followed there by key alone.
    const followMs: number[] = [];
    let empty = 0;
    for (let k = 0; k < followTries; k++) {
      const owner = nodes[(k * 3) % n]!;
      const tester = nodes[(k * 3 + 1) % n]!;
      const title = 'extra';
      try {
        const { pk } = await owner.ask<{ pk: string }>({ op: 'create', name: `extra ${k}` });
        const holders = nodes.filter((c) => c !== owner && c !== tester);
        // the holders' follow calls are not waited for (one may hang): their copies' arrivals are
        for (const c of holders) c.ask({ op: 'follow', keys: [pk] }).catch((e: unknown) => say(`a follow failed: ${String(e)}`));
        await until(() => (arrivals.get(pk)?.get(title)?.size ?? 0) >= holders.length, 30_000);
        await sleep(1000); // the holders' announcements go out (each coalesced within 500 ms)
        const r = await Promise.race([
          tester.ask<{ posts: number; ms: number }>({ op: 'followFresh', key: pk }),
          sleep(60_000).then(() => Promise.reject(new Error(`${tester.addr}: the follow did not answer within 60 s`))),
        ]);
        if (r.posts === 0) empty++;
        followMs.push(r.ms);
      } catch (e) {
        // counted as empty: the follow did not bring the posts
        say(`a fresh follow failed: ${(e as Error).message}`);
        empty++;
      }
    }

    return {
      n,
      converge_s: convergeS,
      converged_share: convergedShare,
      follows_unanswered: followsPendingAt30s,
      one_post_median_ms: single.length ? round(median(single)!) : null,
      one_post_max_ms: single.length ? round(Math.max(...single)) : null,
      one_post_missing: singleMissing,
      burst_within_1s: within(1000),
      burst_within_2s: within(2000),
      burst_median_ms: burst.length ? round(median(burst)!) : null,
      burst_max_ms: burst.length ? round(Math.max(...burst)) : null,
      burst_missing: want - burst.length,
      burst_cpu_ms_per_delivery: round(burstCpuMs, 2),
      idle_window_s: round(idleMs / 1000, 1),
      idle_caught_up: caughtUp,
      idle_requests_per_min: round(perMin(requests)),
      idle_requests_per_min_per_follow: round(perMin(requests) / want, 3),
      idle_cpu_s_per_min: round(cpu.reduce((a, b) => a + b, 0) / n, 3),
      idle_cpu_s_per_min_max: round(Math.max(...cpu), 3),
      multicast_bytes_per_s: round((mcIdle.bytes * 1000) / idleMs),
      multicast_packets_per_s: round((mcIdle.packets * 1000) / idleMs, 2),
      multicast_bytes_total: mc.bytes,
      follow_tries: followTries,
      follow_empty_share: followTries ? round(empty / followTries, 3) : 0,
      follow_median_ms: followMs.length ? round(median(followMs)!) : null,
      requests_total: after.reduce((a, c) => a + c.served, 0),
      rss_mb_per_node: round(after.reduce((a, c) => a + c.rss, 0) / n / 2 ** 20),
      load_start: loadStart,
      load_end: load1(),
    };
  } finally {
    await stopNodes(nodes);
    await mc.close();
    removeDir(root);
  }
}

/** Inside the namespace: every size, the table on stdout, the JSON result returned. */
async function runInside(): Promise<Record<string, unknown>> {
  const why = notIsolated();
  if (why) throw new Error(`bench lan refuses to multicast outside a private network namespace: ${why}`);
  const ns = sizes();
  const idleS = envInt('BENCH_LAN_IDLE_S', 60);
  const rounds = Math.max(1, envInt('BENCH_LAN_ROUNDS', 3));
  const followTries = envInt('BENCH_LAN_FOLLOWS', 5);
  const loadStart = load1();
  const figures: SizeFigures[] = [];
  const convergeS = envInt('BENCH_LAN_CONVERGE_S', 0);
  for (const n of ns) figures.push(await measureSize(n, idleS, rounds, followTries, convergeS));
  const exps = exponents(figures);
  console.log(table(figures, exps));
  return {
    bench: 'lan',
    cores: os.availableParallelism(),
    nearby_asked: process.env.BENCH_LAN_NEARBY === '1',
    node: process.version,
    load_start: loadStart,
    load_end: load1(),
    idle_window_s: idleS,
    sizes: figures.map((f) => ({ ...f, goals_met: goalsMet(f) })),
    exponents: exps,
    goals: {
      converge_s: '≤ 15 at N = 40',
      one_post_median_ms: '≤ 200 at N = 40',
      burst_within_2s: '≥ 0.95',
      follow_empty_share: '0',
      exponents: 'idle requests ≤ 2 (per follow ≈ 0), idle CPU per node ≤ 1, multicast bytes ≤ 1',
    },
  };
}

/** Outside: the same bench again in a fresh private namespace; its lines shown as they come, its result returned. */
async function runOutside(): Promise<Record<string, unknown>> {
  sizes(); // a bad BENCH_LAN_N is reported before anything starts
  const cmd = netnsCommand(process.execPath, ['--enable-source-maps', path.join(here, 'run.js'), 'lan']);
  if (!cmd) throw new Error(`bench lan multicasts, so it runs only in a private network namespace, and none can be made here: ${NETNS_SKIP_REASON}`);
  const child = spawn(cmd.file, cmd.args, { env: { ...process.env, [INNER]: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  let last = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) {
      if (last) console.log(last);
      last = l;
    }
  });
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  if (pending) (last && console.log(last), (last = pending));
  if (code !== 0) throw new Error(`bench lan failed inside its namespace (exit ${code})`);
  return JSON.parse(last) as Record<string, unknown>;
}

export function run(): Promise<Record<string, unknown>> {
  return process.env[INNER] === '1' ? runInside() : runOutside();
}
