// Many followers cloning one stream from one node at once (issue 14.2): BENCH_FOLLOWERS (200)
// followers, each from its own loopback address (as if 200 machines), clone a BENCH_RECORDS
// (50,000) record stream from one LanServer with its default limits, in one pass each (one
// pull() call: its own retries and resumes included, nothing more). The server runs in a child
// process (clone.ts --serve-stream); the followers in BENCH_PROCS (4) child processes, each
// running its share of the clones at once with a verifier pool. On one small machine the
// followers' verifying competes with the server for the CPU (across a LAN it would not): the
// server then answers the excess 503 with Retry-After (server/admission.ts) and the followers
// wait their turn (counted: busy_waits). Every copy is checked against the
// writer (every record's id, mod, signature and value) and then deleted. Baseline in the same
// run: one clone alone, the same way. Prints how many finished, how long, and why the others did not.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Stream } from '../app/store/store.js';
import { pull, rejectionSummary } from '../app/net/sync.js';
import { preparedApplier, VerifierPool } from '../app/store/verifier.js';
import { buildWriter200, childServer } from './clone.js';
import { machine, removeDir, seconds, tempDir } from './common.js';

/** Every live record's signed fields and value, in one hash: two copies are equal only if this is. */
function digest(s: Stream): string {
  const h = crypto.createHash('sha256');
  const n = Buffer.alloc(16);
  for (const r of s.iterate()) {
    n.writeBigInt64LE(BigInt(r.id), 0);
    n.writeBigInt64LE(BigInt(r.mod), 8);
    h.update(n)
      .update(r.sig)
      .update(r.hash)
      .update(r.val ?? Buffer.alloc(0));
  }
  return h.digest('hex');
}

/** The loopback address follower i connects from (all of 127/8 is loopback on Linux). */
const addressOf = (i: number) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;

interface ChildResult {
  finished: number;
  /** ms each finished clone took, from the common start */
  ms: number[];
  /** and why the others did not, after how many records */
  failed: { i: number; ms: number; error: string; records: number }[];
  /** times a follower waited because the server said it was busy */
  waits: number;
}

/** In a child: clones i = from .. from+count-1 at once; prints one JSON line (ChildResult). */
async function followersChild(url: string, pkHex: string, want: string, dir: string, from: number, count: number): Promise<void> {
  const pool = new VerifierPool();
  const pk = new Uint8Array(Buffer.from(pkHex, 'hex'));
  const out: ChildResult = { finished: 0, ms: [], failed: [], waits: 0 };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const i = from + k;
      const file = path.join(dir, `f${i}.stream`);
      const f = Stream.create(file, { followKey: pk });
      try {
        const onProgress = (p: { waiting?: string }) => void (p.waiting && out.waits++);
        const res = await pull(f, url, { applier: preparedApplier(pool), localAddress: addressOf(i), onProgress });
        if (res.rejected > 0) throw new Error(`rejected ${res.rejected}: ${rejectionSummary(res.rejections)}`);
        const got = digest(f);
        if (got !== want) throw new Error(`the copy differs from the writer (${f.count()} records)`);
        out.finished++;
        out.ms.push(performance.now() - t0);
      } catch (e) {
        out.failed.push({ i, ms: performance.now() - t0, error: (e as Error).message, records: f.count() });
      } finally {
        f.close();
        for (const x of ['', '-wal', '-shm']) fs.rmSync(file + x, { force: true });
      }
    }),
  );
  await pool.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Run `count` clones from `from` in a child process. */
function childFollowers(url: string, pkHex: string, want: string, dir: string, from: number, count: number): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [script, '--followers', url, pkHex, want, dir, String(from), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
      } catch {
        reject(new Error(`followers child exited (${code}) without a result`));
      }
    });
  });
}

async function clones(
  url: string,
  pkHex: string,
  want: string,
  dir: string,
  followers: number,
  procs: number,
): Promise<{ wallMs: number; results: ChildResult }> {
  const t0 = performance.now();
  const per = Math.ceil(followers / procs);
  const parts = await Promise.all(
    Array.from({ length: procs }, (_, p) => [p * per, Math.min(per, followers - p * per)] as const)
      .filter(([, n]) => n > 0)
      .map(([from, n]) => childFollowers(url, pkHex, want, dir, from, n)),
  );
  const results: ChildResult = { finished: 0, ms: [], failed: [], waits: 0 };
  for (const r of parts) {
    results.finished += r.finished;
    results.waits += r.waits;
    results.ms.push(...r.ms);
    results.failed.push(...r.failed);
  }
  return { wallMs: performance.now() - t0, results };
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function run(): Promise<Record<string, unknown>> {
  const followers = Number(process.env.BENCH_FOLLOWERS ?? 200);
  const records = Number(process.env.BENCH_RECORDS ?? 50_000);
  const procs = Math.max(1, Math.min(followers, Number(process.env.BENCH_PROCS ?? 4)));
  if (followers > 250) throw new Error('BENCH_FOLLOWERS: at most 250 (one loopback address each, 127.0.0.2 and up)');
  const dir = tempDir('drayer-bench-clones-');
  try {
    const file = path.join(dir, 'writer.stream');
    const w = buildWriter200(file, records);
    w.db.pragma('wal_checkpoint(TRUNCATE)');
    const want = digest(w);
    const pkHex = Buffer.from(w.publicKey).toString('hex');
    const count = w.count();
    w.close();
    const server = await childServer('--serve-stream', file);
    try {
      const alone = await clones(server.url, pkHex, want, dir, 1, 1);
      if (alone.results.finished !== 1) throw new Error(`the baseline clone failed: ${alone.results.failed[0]?.error}`);
      const all = await clones(server.url, pkHex, want, dir, followers, procs);
      const errors = new Map<string, number>();
      for (const f of all.results.failed) {
        const why = f.error.replace(/https?:\/\/\S+/g, 'URL').slice(0, 160);
        errors.set(why, (errors.get(why) ?? 0) + 1);
      }
      return {
        bench: 'clones',
        records: count,
        followers,
        procs,
        finished: all.results.finished,
        failed: all.results.failed.length,
        all_done_s: seconds(all.wallMs),
        clone_s_median: seconds(quantile(all.results.ms, 0.5)),
        clone_s_p90: seconds(quantile(all.results.ms, 0.9)),
        busy_waits: all.results.waits,
        baseline_one_clone_s: seconds(alone.wallMs),
        ratio_all_to_one: Math.round((all.wallMs / alone.wallMs) * 10) / 10,
        failures: Object.fromEntries(errors),
        failed_with_nothing: all.results.failed.filter((f) => f.records === 0).length,
        machine: machine(),
      };
    } finally {
      await server.stop();
    }
  } finally {
    removeDir(dir);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, url, pkHex, want, dir, from, count] = process.argv.slice(2);
  if (mode === '--followers') await followersChild(url!, pkHex!, want!, dir!, Number(from), Number(count));
  else console.log(JSON.stringify(await run()));
}
