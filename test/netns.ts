// Run a command inside a fresh, private network namespace whose only interface is loopback,
// with multicast routed to it: the only safe place to exercise LAN discovery (DESIGN §7).
// Multicast sent there can never leave the machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Shell setup run inside the new namespace before the command (set -e: no command on failure).
 * `src 127.0.0.1` makes multicast leave from 127.0.0.1 (without it the source is 0.0.0.0),
 * so a peer's announced address is one a follower can actually pull from.
 */
export const NETNS_SETUP = 'set -e; ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo src 127.0.0.1';
/** The same namespace with loopback up but no multicast route (to test the failure paths). */
export const NETNS_SETUP_NO_ROUTE = 'set -e; ip link set lo up';

export interface NetnsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** true when the command ran past timeoutMs and was killed */
  timedOut: boolean;
}

export interface NetnsOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** kill the command (SIGKILL) after this long; default 30 s */
  timeoutMs?: number;
  /** default true; false leaves the namespace without a route for 224.0.0.0/4 */
  multicastRoute?: boolean;
}

let unshareArgs: string[] | null | undefined;

/**
 * How to unshare here: root uses `unshare -n`; anyone else tries a user namespace
 * (`unshare -rn`, root inside it only). null when neither works.
 */
function unshareFlags(): string[] | null {
  if (unshareArgs !== undefined) return unshareArgs;
  unshareArgs = null;
  const candidates = process.getuid?.() === 0 ? [['-n'], ['-rn']] : [['-rn']];
  for (const flags of candidates) {
    const r = spawnSync('unshare', [...flags, 'sh', '-c', `${NETNS_SETUP}; exit 0`], { stdio: 'ignore', timeout: 10_000 });
    if (r.status === 0) {
      unshareArgs = flags;
      break;
    }
  }
  return unshareArgs;
}

/** Whether a private network namespace with multicast on loopback can be created here. */
export function netnsAvailable(): boolean {
  return unshareFlags() !== null;
}

/** Why netnsAvailable() is false, for skip messages. */
export const NETNS_SKIP_REASON =
  'needs a private network namespace: run as root (unshare -n) or enable unprivileged user namespaces (unshare -rn), with iproute2 installed';

/**
 * The command line that runs `command args` in a fresh private namespace (set up as runInNetns does),
 * for a caller that wants to spawn it itself (bench/lan.ts streams its output); null when unavailable.
 */
export function netnsCommand(command: string, args: string[], multicastRoute = true): { file: string; args: string[] } | null {
  const flags = unshareFlags();
  if (!flags) return null;
  const setup = multicastRoute ? NETNS_SETUP : NETNS_SETUP_NO_ROUTE;
  return { file: 'unshare', args: [...flags, 'sh', '-c', `${setup}; exec "$@"`, 'sh', command, ...args] };
}

export function runInNetns(command: string, args: string[], opts: NetnsOptions = {}): Promise<NetnsResult> {
  const cmd = netnsCommand(command, args, opts.multicastRoute !== false);
  if (!cmd) return Promise.reject(new Error(NETNS_SKIP_REASON));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * The fixture test/fixtures/`name`.js run by Node in a fresh private namespace, with `env` added
 * to this process's, and the JSON it printed on its last line; fails with all it printed when
 * that is not JSON (it crashed, or was killed after `timeoutMs`).
 */
export async function netnsChildResult<T>(name: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<T> {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', `${name}.js`);
  const r = await runInNetns(process.execPath, ['--enable-source-maps', child], { env: { ...process.env, ...env }, timeoutMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    assert.fail(`child printed no result (code ${r.code}, timed out ${r.timedOut}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Why this process is NOT in a private loopback-only namespace (null when it is): children that multicast refuse to run otherwise. */
export function notIsolated(): string | null {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal) return `interface ${name} (${a.address}) is not loopback`;
  }
  try {
    if (fs.readlinkSync('/proc/self/ns/net') === fs.readlinkSync('/proc/1/ns/net')) return 'same network namespace as pid 1';
  } catch {
    // unreadable without privileges (user namespace): the interface check above stands
  }
  return null;
}

/**
 * Runs a child fixture in a fresh private namespace (`env` tells it to run): the `result` of the
 * last JSON line it printed, or null after `t.skip` (no namespace here, or the child said why not).
 */
export async function netnsFixtureResult(
  t: { skip(why: string): void },
  file: string,
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<Record<string, any> | null> {
  if (!netnsAvailable()) {
    t.skip(NETNS_SKIP_REASON);
    return null;
  }
  const run = await runInNetns(process.execPath, ['--enable-source-maps', file], { env: { ...process.env, ...env }, timeoutMs });
  if (run.code !== 0) throw new Error(`exit ${run.code}${run.timedOut ? ' (killed)' : ''}\n${run.stderr}`);
  const line = run.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`the child printed no result:\n${run.stdout}`);
  const r = JSON.parse(line).result;
  if (r?.skip) {
    t.skip(r.skip);
    return null;
  }
  return r;
}

/**
 * The main of a child fixture that multicasts, run when the test asked for it (`envVar` set): only
 * inside a private namespace (else it says why and exits 2). Prints one JSON line, `{ ok: true,
 * result }` or `{ ok: false, error }` (exit 1), and then must exit on its own: a handle left open
 * (a node or socket not stopped) is named and fails it (exit 3).
 */
export async function isolatedChild(name: string, envVar: string, scenario: () => Promise<unknown>): Promise<void> {
  if (!process.env[envVar]) return;
  const why = notIsolated();
  if (why) {
    console.error(`${name}: refusing to send multicast outside a private network namespace: ${why}`);
    process.exitCode = 2;
    return;
  }
  try {
    console.log(JSON.stringify({ ok: true, result: await scenario() }));
  } catch (e) {
    const error = (e as Error).stack ?? String(e);
    console.error(error);
    console.log(JSON.stringify({ ok: false, error }));
    process.exitCode = 1;
  }
  setTimeout(() => {
    console.error(`${name}: still alive after stop(): ${JSON.stringify(process.getActiveResourcesInfo())}`);
    process.exit(3);
  }, 3000).unref();
}
