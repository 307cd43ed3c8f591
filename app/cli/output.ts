// What `drayer` writes: lines and JSON for a terminal or a pipe (never a control character that
// moves the cursor), raw bytes with back-pressure, and sizes and times as people read them.
import { once } from 'node:events';
import { jsonSafe, terminalSafe } from '../core/text.js';

// Lines for a terminal: names in them are cleaned where they are made (text.ts cleanName); this
// also drops any control or bidi character that got through, so no output moves the cursor or
// retitles the window.
export function print(line = ''): void {
  process.stdout.write(terminalSafe(line) + '\n');
}

/** Exactly one JSON document on stdout (what `--json` promises). */
export function printJson(value: unknown): void {
  process.stdout.write(jsonSafe(JSON.stringify(value, null, 2)) + '\n');
}

export function note(line: string): void {
  process.stderr.write(terminalSafe(line) + '\n');
}

let stdoutClosed = false;
let guarded = false;

/** `drayer ls | head` closes our stdout early: that is the reader's choice, not an error. */
export function guardOutputs(): void {
  if (guarded) return;
  guarded = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (s === process.stdout) stdoutClosed = true;
      if (e.code !== 'EPIPE') process.exitCode = 1;
    });
  }
}

/** Write bytes to stdout respecting back-pressure; false once the reader has gone. */
export async function writeOut(chunk: Uint8Array): Promise<boolean> {
  if (stdoutClosed) return false;
  if (!process.stdout.write(chunk)) {
    // `once` rejects when 'error' fires first; the guard has already noted a closed reader.
    await once(process.stdout, 'drain').catch(() => undefined);
  }
  return !stdoutClosed;
}

export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** µs since the epoch as an ISO time, or the raw number when it is no date. */
export function timeOf(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return Number.isNaN(d.getTime()) ? String(us) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
