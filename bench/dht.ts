// bench dht: the Mainline DHT in a private network namespace (it starts itself again under
// `unshare -n`, test/netns.ts) with BENCH_DHT_NODES (20) DHT nodes that know only one another.
// Per round: a writer node makes a new stream findable (the announce), a follower node that knows
// only the key follows it (lookup, then clone); timed from the announce to the follower holding
// the first record, and a fresh lookup of an announced key on its own. The baseline, in the same
// run: the same follow given the writer's URL (no DHT at all).
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseKey } from '../app/core/keys.js';
import { DhtNode } from '../app/net/dht.js';
import { DrayerNode } from '../app/node/node.js';
import { netnsCommand, NETNS_SKIP_REASON, notIsolated } from '../test/netns.js';
import { removeDir, tempDir } from './common.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const INNER = 'DRAYER_BENCH_DHT_INNER';
const load1 = (): number => Math.round(os.loadavg()[0]! * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const envInt = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number`);
  return v;
};

async function runInside(): Promise<Record<string, unknown>> {
  const why = notIsolated();
  if (why) throw new Error(`bench dht refuses to join a DHT outside a private network namespace: ${why}`);
  const size = envInt('BENCH_DHT_NODES', 20);
  const rounds = envInt('BENCH_DHT_ROUNDS', 5);
  const loadStart = load1();
  const root = tempDir('drayer-bench-dht-');
  const swarm: DhtNode[] = [];
  const nodes: DrayerNode[] = [];
  try {
    const first = await DhtNode.start({ bindHost: '127.0.0.1', bootstrap: [] });
    swarm.push(first);
    const boot = `127.0.0.1:${first.port}`;
    for (let i = 1; i < size; i++) swarm.push(await DhtNode.start({ bindHost: '127.0.0.1', bootstrap: [boot] }));
    // let the swarm fill its tables (each joined through node 0)
    for (let t = 0; t < 100 && swarm.some((n) => n.nodeCount < Math.min(size - 1, 8)); t++) await sleep(100);
    const dht = (i: number) => ({ bootstrap: [`127.0.0.1:${swarm[i % size]!.port}`], bindHost: '127.0.0.1' });
    const start = (name: string, i: number) =>
      DrayerNode.start({ dataDir: path.join(root, name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false, dht: dht(i) });
    const writer = await start('writer', 1);
    nodes.push(writer);
    const firstRecord: number[] = [];
    const announceSeen: number[] = [];
    const follows: number[] = [];
    const byUrl: number[] = [];
    const lookups: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const s = await writer.call('createStream', { name: `Stream ${r}` });
      await writer.call('post', { publicKey: s.publicKey, title: `Post ${r}`, body: 'hello' });
      // the announce, then a follower that knows only the key
      const t0 = performance.now();
      await writer.call('setStreamSettings', { publicKey: s.publicKey, dht: true });
      const watcher = swarm[(r * 7 + 3) % size]!;
      const port = writer.lanAddress()!.port;
      while (!(await watcher.lookup(parseKey(s.publicKey), 5000)).some((p) => p.port === port)) await sleep(50);
      announceSeen.push(performance.now() - t0);
      const follower = await start(`follower-${r}`, r + 5);
      nodes.push(follower);
      const tf = performance.now();
      await follower.call('follow', { key: s.publicKey });
      const posts = await follower.call('listPosts', { publicKey: s.publicKey });
      if (posts.length !== 1) throw new Error(`round ${r}: the follower got ${posts.length} posts through the DHT`);
      follows.push(performance.now() - tf);
      firstRecord.push(performance.now() - t0);
      // a lookup on its own, from a node that has not asked for this key before
      const fresh = swarm[(r * 11 + 5) % size]!;
      const tl = performance.now();
      const found = await fresh.lookup(parseKey(s.publicKey));
      lookups.push(performance.now() - tl);
      if (!found.some((p) => p.port === port)) throw new Error(`round ${r}: a fresh lookup did not find the writer`);
      // baseline: the same follow by a node as fresh, given the writer's address (no DHT)
      const direct = await start(`direct-${r}`, r + 2);
      nodes.push(direct);
      const td = performance.now();
      await direct.call('follow', { key: s.publicKey, url: `http://127.0.0.1:${port}` });
      byUrl.push(performance.now() - td);
    }
    const ms = (x: number) => Math.round(x);
    const figures = {
      first_record_ms: ms(median(firstRecord)),
      announce_visible_ms: ms(median(announceSeen)),
      follow_by_key_ms: ms(median(follows)),
      lookup_ms: ms(median(lookups)),
      follow_by_url_ms: ms(median(byUrl)),
    };
    const table = [
      `DHT of ${size} nodes, ${rounds} rounds (medians)`,
      `  announce → follower's first record  ${figures.first_record_ms} ms`,
      `    announce visible to a lookup       ${figures.announce_visible_ms} ms`,
      `    follow by key alone (lookup+clone) ${figures.follow_by_key_ms} ms`,
      `  lookup, fresh node                   ${figures.lookup_ms} ms`,
      `  baseline: follow given the URL       ${figures.follow_by_url_ms} ms`,
    ].join('\n');
    console.log(table);
    return {
      bench: 'dht',
      cores: os.availableParallelism(),
      node: process.version,
      load_start: loadStart,
      load_end: load1(),
      dht_nodes: size,
      rounds,
      ...figures,
      follow_by_key_vs_url: Math.round((figures.follow_by_key_ms / figures.follow_by_url_ms) * 100) / 100,
      goals: { first_record_ms: '≤ 5000', lookup_ms: '≤ 2000' },
      goals_met: { first_record_ms: figures.first_record_ms <= 5000, lookup_ms: figures.lookup_ms <= 2000 },
    };
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await Promise.allSettled(swarm.map((n) => n.stop()));
    removeDir(root);
  }
}

/** Outside: the same bench again in a fresh private namespace; its lines shown, its result returned. */
async function runOutside(): Promise<Record<string, unknown>> {
  const cmd = netnsCommand(process.execPath, ['--enable-source-maps', path.join(here, 'run.js'), 'dht']);
  if (!cmd) throw new Error(`bench dht runs only in a private network namespace, and none can be made here: ${NETNS_SKIP_REASON}`);
  const child = spawn(cmd.file, cmd.args, { env: { ...process.env, [INNER]: '1', DRAYER_DHT_NO_PUBLIC: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const lines = out.trim().split('\n');
  const last = lines.pop() ?? '';
  if (lines.length) console.log(lines.join('\n'));
  if (code !== 0) throw new Error(`bench dht failed inside its namespace (exit ${code}): ${last}`);
  return JSON.parse(last) as Record<string, unknown>;
}

export function run(): Promise<Record<string, unknown>> {
  return process.env[INNER] === '1' ? runInside() : runOutside();
}
