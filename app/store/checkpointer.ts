// WAL checkpoints off the writing thread. A checkpoint copies the WAL into the database and
// syncs both files to disk; run after a commit, as SQLite does by default, that sync stalls
// the writer (about 15 µs a put, amortised, on this project's test machine: a fifth of a put).
// Here one worker thread per process runs them instead, with its own short-lived connection, while
// writers go on appending. A writer still checkpoints itself if the WAL grows far past its
// usual size (a backstop: a checkpoint that runs while frames are being added never finishes
// the WAL, so only the writer can let it start over).
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/threads.js';

/** What a writer tells the worker: checkpoint `file`, then clear `pending[0]`. */
export interface CheckpointJob {
  file: string;
  pending: Int32Array;
}

let worker: Worker | null | undefined;

function theWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    worker = startWorker(new URL('./checkpointer-worker.js', import.meta.url));
    worker.unref(); // never keeps a process alive: an unfinished checkpoint is redone by the next one
    worker.on('error', () => (worker = null)); // from then on writers checkpoint themselves
  } catch {
    worker = null;
  }
  return worker;
}

/**
 * A writer's handle: `wrote(n)` after each commit of n rows (or bytes: any unit of work); every
 * `every` units it asks the worker for a checkpoint, never more than one at a time. Safe to call
 * from a tight synchronous loop: the pending flag lives in shared memory, so no event-loop turn
 * is needed.
 */
export class Checkpoints {
  private done = 0;
  private readonly pending = new Int32Array(new SharedArrayBuffer(4));

  /** `every`: units of work between checkpoints */
  constructor(
    private readonly file: string,
    private readonly every: number,
  ) {}

  wrote(n: number): void {
    this.done += n;
    if (this.done >= this.every) this.now();
  }

  /** Ask for a checkpoint now, unless one is under way. */
  now(): void {
    if (Atomics.load(this.pending, 0) !== 0) return;
    const w = theWorker();
    if (!w) return;
    this.done = 0;
    Atomics.store(this.pending, 0, 1);
    w.postMessage({ file: this.file, pending: this.pending } satisfies CheckpointJob);
  }

  /** Run `fn` once no checkpoint is under way (polled: the worker clears a flag in shared memory). */
  whenIdle(fn: () => void): void {
    if (Atomics.load(this.pending, 0) === 0) return fn();
    const t = setInterval(() => {
      if (Atomics.load(this.pending, 0) !== 0) return;
      clearInterval(t);
      fn();
    }, 20);
    t.unref();
  }

  /**
   * Wait (blocking, at most `ms`) for a checkpoint under way to end, so closing the stream
   * after it is the last connection: SQLite then checkpoints and removes the WAL itself.
   */
  settle(ms = 5000): void {
    if (Atomics.load(this.pending, 0) !== 0) Atomics.wait(this.pending, 0, 1, ms);
  }
}
