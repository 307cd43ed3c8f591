// Shared test helpers: real temporary directories, cleaned up after each test file, and the
// `drayer` command run as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Decoder } from '@msgpack/msgpack';

/** bin/drayer.js, what `npm install -g` puts on the PATH */
export const DRAYER_BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));

export interface CliRun {
  code: number | null;
  /** stdout as text, and as the bytes it was */
  out: string;
  stdout: Buffer;
  err: string;
}

/** The `drayer` command with `args`, run to its end (DRAYER_DEBUG off, as a person runs it). */
export function runDrayer(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [DRAYER_BIN, ...args], { cwd: opts.cwd, env: { ...process.env, DRAYER_DEBUG: '', ...opts.env } });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, out: stdout.toString('utf8'), stdout, err });
    });
  });
}

const STACK = /\n\s+at .+:\d+:\d+/;

/** `drayer args` in `cwd`, which must succeed and print no stack trace. */
export async function drayerOk(args: string[], cwd: string): Promise<CliRun> {
  const r = await runDrayer(args, { cwd });
  assert.equal(r.code, 0, `drayer ${args.join(' ')} failed: ${r.err}`);
  assert.doesNotMatch(r.err, STACK, 'no stack trace');
  return r;
}

/** `drayer args` in `cwd`, which must fail (with exit `code` when given) saying `why`, with no stack trace. */
export async function drayerFails(args: string[], cwd: string, why: RegExp, code?: number): Promise<CliRun> {
  const r = await runDrayer(args, { cwd });
  if (code === undefined) assert.notEqual(r.code, 0, `drayer ${args.join(' ')} should fail: ${r.out}`);
  else assert.equal(r.code, code, `drayer ${args.join(' ')}: ${r.out}${r.err}`);
  assert.match(r.err, why);
  assert.doesNotMatch(r.err, STACK, 'no stack trace');
  return r;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, removed when the test file ends. */
export function tmpDir(prefix = 'drayer-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms for up to `ms`: whether it came true. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** msgpack as msgpack-python 0.x packs it: every byte string (text or binary) as *str*. */
export function packOld(v: unknown, out: number[] = []): number[] {
  const bytes = (b: Uint8Array) => {
    const l = b.length;
    if (l < 32) out.push(0xa0 | l);
    else if (l < 256) out.push(0xd9, l);
    else if (l < 65536) out.push(0xda, l >> 8, l & 255);
    else out.push(0xdb, (l >>> 24) & 255, (l >> 16) & 255, (l >> 8) & 255, l & 255);
    for (const x of b) out.push(x);
  };
  if (typeof v === 'string') bytes(utf8(v));
  else if (v instanceof Uint8Array) bytes(v);
  else if (typeof v === 'number') {
    if (v >= 0 && v < 128) out.push(v);
    else {
      out.push(v < 0 ? 0xd3 : 0xcf);
      const b = BigInt.asUintN(64, BigInt(v));
      for (let i = 7; i >= 0; i--) out.push(Number((b >> BigInt(i * 8)) & 255n));
    }
  } else if (Array.isArray(v)) {
    const l = v.length;
    if (l < 16) out.push(0x90 | l);
    else out.push(0xdc, l >> 8, l & 255);
    for (const x of v) packOld(x, out);
  } else if (v && typeof v === 'object') {
    const e = Object.entries(v);
    out.push(0x80 | e.length);
    for (const [k, x] of e) {
      packOld(k, out);
      packOld(x, out);
    }
  } else throw new Error(`cannot pack ${String(v)}`);
  return out;
}

/**
 * An original-Drayer answer (newRecords) as the original reads it: every string there is a msgpack
 * bin (app/core/msgpack-bin.ts); map keys, and each record's type and key, are read back as text.
 */
export function decodeOriginalAnswer(buf: Uint8Array): Record<string, unknown>[] {
  const text = (b: unknown): unknown => (b instanceof Uint8Array ? Buffer.from(b).toString('utf8') : b);
  const d = new Decoder({ mapKeyConverter: (k: unknown) => text(k) as string | number });
  const list = d.decode(buf) as Record<string, unknown>[];
  return list.map((r) => ({ ...r, type: text(r.type), key: text(r.key) }));
}
