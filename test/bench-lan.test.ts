// `bench lan` (bench/lan.ts): a smoke run with 3 nodes and a short idle window, in its private
// network namespace, checking that it runs and that its figures are sane. No timing assertions:
// speed is what the bench prints, not what a test on a shared machine can hold.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fittedExponent } from '../bench/lan-figures.js';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';

const runJs = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'run.js');

function bench(env: Record<string, string>, timeoutMs = 300_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runJs, 'lan'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

test('the fitted exponent is the slope of log figure over log N', () => {
  assert.equal(fittedExponent([10, 20, 40].map((n) => ({ n, y: 3 * n * n }))), 2);
  assert.equal(fittedExponent([10, 20, 40].map((n) => ({ n, y: 7 }))), 0);
  assert.equal(fittedExponent([{ n: 10, y: 5 }]), null, 'one size: nothing to fit');
  assert.equal(fittedExponent([10, 20].map((n) => ({ n, y: 0 }))), null, 'zeros have no logarithm');
});

test('bench lan refuses to multicast outside a private namespace, and says why', async () => {
  // told it is inside one when it is not: it checks for itself before starting any node
  const r = await bench({ DRAYER_BENCH_LAN_INNER: '1', BENCH_LAN_N: '3' }, 60_000);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /refuses to multicast outside a private network namespace/);
  const bad = await bench({ BENCH_LAN_N: '1,x' }, 60_000);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /BENCH_LAN_N="1,x": give sizes between 2 and 250/);
});

test('bench lan runs 3 nodes in a namespace and prints sane figures, the JSON line last', { skip: netnsAvailable() ? false : NETNS_SKIP_REASON }, async () => {
  const r = await bench({ BENCH_LAN_N: '3', BENCH_LAN_IDLE_S: '3', BENCH_LAN_ROUNDS: '1', BENCH_LAN_FOLLOWS: '2' });
  assert.equal(r.code, 0, `bench failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.match(r.stdout, /\| figure +\| N = 3 +\| goal/, 'the readable table');
  assert.match(r.stdout, /fitted exponent/);
  const out = JSON.parse(lines.at(-1)!) as { bench: string; load_start: number; load_end: number; sizes: Record<string, number>[] };
  assert.equal(out.bench, 'lan');
  assert.ok(out.load_start >= 0 && out.load_end >= 0);
  assert.equal(out.sizes.length, 1);
  const s = out.sizes[0]!;
  assert.equal(s.n, 3);
  assert.equal(s.converged_share, 1, 'every node got every first post');
  assert.ok(s.converge_s! > 0);
  assert.equal(s.one_post_missing, 0, 'the single post reached both followers');
  assert.ok(s.one_post_median_ms! > 0 && s.one_post_max_ms! >= s.one_post_median_ms!);
  assert.equal(s.burst_missing, 0, 'every post of the burst reached every follower');
  assert.ok(s.burst_within_1s! <= s.burst_within_2s! && s.burst_within_2s! <= 1);
  assert.ok(s.requests_total! >= 6, `the servers counted the pulls (${s.requests_total})`);
  assert.equal(s.idle_caught_up, 1, 'the idle window began once every post was everywhere');
  assert.ok(s.idle_requests_per_min! >= 0);
  assert.ok(s.idle_cpu_s_per_min! > 0 && s.idle_cpu_s_per_min! <= s.idle_cpu_s_per_min_max! && s.idle_cpu_s_per_min_max! < 60);
  assert.ok(s.multicast_bytes_total! > 0 && s.multicast_bytes_per_s! >= 0, 'the passive socket heard the nodes');
  assert.ok(s.burst_cpu_ms_per_delivery! > 0);
  assert.equal(s.follow_tries, 2);
  assert.ok(s.follow_empty_share! >= 0 && s.follow_empty_share! <= 1);
  assert.ok(s.rss_mb_per_node! > 10);
});
