// One node of `bench lan` (bench/lan.ts forks N of these inside one private network namespace):
// a real headless DrayerNode with its own data directory, its LAN server AND its discovery
// multicast on its own 127.0.0.K, one stream of its own. The parent drives it over IPC (post,
// follow, counters, stop) and hears from it when a followed stream's post arrives.
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import type { NodeState } from '../app/node/state.js';
import { notIsolated } from '../test/netns.js';

/** Why this process must not multicast, or null when it is in a private, loopback-only namespace. */
export { notIsolated };

/** Parent → child. */
export type ToChild =
  | { op: 'follow'; id: number; keys: string[] }
  | { op: 'post'; id: number; title: string }
  | { op: 'counters'; id: number }
  | { op: 'create'; id: number; name: string }
  | { op: 'followFresh'; id: number; key: string }
  | { op: 'profile'; id: number; dir: string; name: string | null }
  | { op: 'stop'; id: number };

/** What `counters` answers: totals since the node started. */
export interface Counters {
  /** CPU time of the whole process (main thread and workers), µs */
  cpuUs: number;
  /** HTTP requests this node's servers received */
  served: number;
  /** the same, by kind (the path's verb: changes, newestRecordsJSON, record, …) */
  servedBy: Record<string, number>;
  /** HTTP requests this node made */
  requested: number;
  rss: number;
  /** follow calls not answered yet */
  following: number;
  /** how long each follow call of the convergence took, ms */
  followMs: number[];
  /** the slowest follow calls, each as a timeline (what it waited for): see lan-child's `slow` */
  slowFollows: { ms: number; what: string }[];
  /** discovery's own counters (sent, received, dropped, rate limited, suppressed…) */
  discovery: Record<string, number>;
  /** streams whose M-tip as announced (the scheduler's cache) differs from the copy's */
  staleTips: number;
  /** events the node emitted, by name */
  events: Record<string, number>;
  /** pulls that failed, by message (addresses left out) */
  pullErrors: Record<string, number>;
}

/** Child → parent. */
export type FromChild =
  | { op: 'ready'; pk: string; port: number; startedMs: number }
  | { op: 'arrive'; pk: string; title: string; t: number; tReq?: number }
  | { op: 'reply'; id: number; value?: unknown; error?: string }
  | { op: 'failed'; error: string };

/** What only the node's state shows (the bench looks inside: nothing of it is API). */
function innerOf(node: DrayerNode): () => { discovery: Record<string, number>; staleTips: number } {
  const n = (node as unknown as { n: NodeState }).n;
  return () => {
    let staleTips = 0;
    for (const [pk, s] of n.streams) {
      const t = n.sync.tips.get(pk);
      if (t !== undefined && t !== s.mtip()) staleTips++;
    }
    return { discovery: { ...(n.discovery?.stats() ?? {}) } as Record<string, number>, staleTips };
  };
}

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

async function main(addr: string, dataDir: string): Promise<void> {
  const send = (m: FromChild): void => {
    if (process.connected) process.send!(m); // the parent may be gone (it was stopped): then nobody listens
  };
  // Counted where they happen (node:http's diagnostics channels): no change to the node's code.
  let served = 0;
  const servedBy: Record<string, number> = {};
  let requested = 0;
  let following = 0;
  dc.subscribe('http.server.request.start', (m) => {
    served++;
    // /<key>/<verb>/… (sync), /api/…, or another path
    const url = (m as { request?: { url?: string } }).request?.url ?? '';
    const kind = url.split('?')[0]!.split('/')[2] ?? 'other';
    servedBy[kind] = (servedBy[kind] ?? 0) + 1;
  });
  // when the last pull of each stream was asked for (/<key>/changes): an arrival's time splits into hearing of it and pulling it
  const pullAsked = new Map<string, number>();
  // A follow's timeline (its stream's requests: when asked, to whom, answered how and when), kept for the slowest few.
  const timelines = new Map<string, string[]>();
  const keyOfPath = (m: unknown): string | undefined => {
    const parts = ((m as { request?: { path?: string } }).request?.path ?? '').split('?')[0]!.split('/');
    return parts[2] === 'changes' && parts[1] ? parts[1] : undefined;
  };
  const since = new Map<string, number>(); // the follow's start, by key (base64url)
  const mark = (k: string | undefined, what: string): void => {
    const t0 = k === undefined ? undefined : since.get(k);
    if (t0 !== undefined) timelines.get(k!)?.push(`${Math.round(now() - t0)} ${what}`);
  };
  dc.subscribe('http.client.request.start', (m) => {
    requested++;
    const k = keyOfPath(m);
    if (k) pullAsked.set(k, now());
    const host = (m as { request?: { host?: string } }).request?.host ?? '?';
    mark(k, `ask ${host}`);
  });
  dc.subscribe('http.client.response.finish', (m) => {
    mark(keyOfPath(m), `answer ${(m as { response?: { statusCode?: number } }).response?.statusCode ?? '?'}`);
  });
  dc.subscribe('http.client.request.error', (m) => {
    mark(keyOfPath(m), `error ${String((m as { error?: Error }).error?.message ?? '').slice(0, 40)}`);
  });
  const slowFollows: { ms: number; what: string }[] = [];
  const t0 = now();
  const node = await DrayerNode.start({ dataDir, host: addr, port: 0, multicastInterface: addr, connectFrom: addr, log: () => {} });
  const inner = innerOf(node);
  // BENCH_LAN_NEARBY=1: each node's Nearby asked for once, as the app's window does at start
  // (then every stream heard is looked up by name; a headless node looks nothing up)
  if (process.env.BENCH_LAN_NEARBY === '1') await node.call('nearby', undefined);
  const mine = await node.call('createStream', { name: `node ${addr}` });
  await node.call('post', { publicKey: mine.publicKey, title: 'first', body: `the first post of ${addr}` });

  // The posts each followed stream showed so far: a recordsChanged from a pull reports the new ones.
  const seen = new Map<string, Set<string>>();
  const check = async (pk: string, t: number): Promise<void> => {
    if (pk === mine.publicKey) return;
    let posts;
    try {
      posts = await node.call('listPosts', { publicKey: pk, limit: 50 });
    } catch {
      return; // unfollowed meanwhile
    }
    let s = seen.get(pk);
    if (!s) seen.set(pk, (s = new Set()));
    for (const p of posts) {
      if (s.has(p.title)) continue;
      s.add(p.title);
      send({ op: 'arrive', pk, title: p.title, t, tReq: pullAsked.get(Buffer.from(pk, 'base64').toString('base64url')) });
    }
  };
  const pullErrors: Record<string, number> = {};
  const followMs: number[] = [];
  const events: Record<string, number> = {};
  node.subscribe((e) => {
    events[e.event] = (events[e.event] ?? 0) + 1;
    if (e.event === 'recordsChanged' && !e.data.local) void check(e.data.publicKey, now());
    if (e.event === 'syncProgress' && e.data.error) {
      const why = e.data.error
        .replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, 'ADDR')
        .replace(/\/[A-Za-z0-9_-]{43}\//g, '/KEY/')
        .slice(0, 120);
      pullErrors[why] = (pullErrors[why] ?? 0) + 1;
    }
  });

  const session = new inspector.Session();
  let profName = '';
  const post = (method: string): Promise<unknown> => new Promise((res, rej) => session.post(method, (e, r) => (e ? rej(e) : res(r))));
  const handle = async (m: ToChild): Promise<unknown> => {
    switch (m.op) {
      case 'follow':
        // One after another, as a person following each would; arrivals are reported as they land.
        for (const key of m.keys) {
          following++;
          const t = now();
          const k = Buffer.from(key, 'base64').toString('base64url');
          since.set(k, t);
          timelines.set(k, []);
          try {
            await node.call('follow', { key });
          } finally {
            following--;
            const ms = Math.round(now() - t);
            followMs.push(ms);
            const what = `${timelines.get(k)!.join(', ')}, done ${ms}`;
            since.delete(k);
            timelines.delete(k);
            slowFollows.push({ ms, what });
            slowFollows.sort((a, b) => b.ms - a.ms);
            slowFollows.length = Math.min(slowFollows.length, 3);
          }
          await check(key, now());
        }
        return null;
      case 'post': {
        const t = now();
        await node.call('post', { publicKey: mine.publicKey, title: m.title, body: `${m.title} from ${addr}` });
        return { t };
      }
      case 'counters': {
        const cpu = process.cpuUsage();
        const c: Counters = {
          cpuUs: cpu.user + cpu.system,
          served,
          servedBy: { ...servedBy },
          requested,
          rss: process.memoryUsage().rss,
          following,
          followMs: [...followMs],
          slowFollows: [...slowFollows],
          events: { ...events },
          ...inner(),
          pullErrors: { ...pullErrors },
        };
        return c;
      }
      case 'create': {
        // another stream of this node's, with one post: what the fresh follows ask for
        const x = await node.call('createStream', { name: m.name });
        await node.call('post', { publicKey: x.publicKey, title: 'extra', body: `${m.name} from ${addr}` });
        return { pk: x.publicKey };
      }
      case 'followFresh': {
        // A stream this node never held, followed by key alone: its sources are the announced holders.
        const t = now();
        const s = await node.call('follow', { key: m.key });
        const ms = now() - t;
        await check(m.key, now());
        return { posts: s.posts, ms };
      }
      case 'profile':
        // name: start profiling (written as NAME-ADDR.cpuprofile); null: stop and write
        if (m.name !== null) {
          profName = m.name;
          session.connect();
          await post('Profiler.enable');
          await post('Profiler.start');
        } else {
          const { profile } = (await post('Profiler.stop')) as { profile: unknown };
          fs.writeFileSync(path.join(m.dir, `${profName}-${addr}.cpuprofile`), JSON.stringify(profile));
          session.disconnect();
        }
        return null;
      case 'stop':
        await node.stop();
        return null;
    }
  };
  process.on('message', (m: ToChild) => {
    handle(m).then(
      (value) => {
        send({ op: 'reply', id: m.id, value });
        if (m.op === 'stop') setImmediate(() => process.exit(0));
      },
      (e: unknown) => send({ op: 'reply', id: m.id, error: String((e as Error)?.message ?? e) }),
    );
  });
  process.on('disconnect', () => void node.stop().finally(() => process.exit(0)));
  send({ op: 'ready', pk: mine.publicKey, port: node.lanAddress()!.port, startedMs: now() - t0 });
}

if (process.env.DRAYER_BENCH_LAN_CHILD === '1' && process.send) {
  const why = notIsolated();
  const [addr, dataDir] = process.argv.slice(2);
  if (why || !addr || !dataDir) {
    process.send({ op: 'failed', error: why ? `refusing to multicast outside a private network namespace: ${why}` : 'usage: lan-child ADDR DATADIR' });
    process.exit(3);
  }
  main(addr, dataDir).catch((e: unknown) => {
    process.send!({ op: 'failed', error: String((e as Error)?.stack ?? e) });
    process.exit(1);
  });
}
