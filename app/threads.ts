// Starting the engine's worker threads (verifiers, chunk writer, checkpointer) the same way.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker running `file` (a module beside this one). It inherits node's flags, less those that
 * only make sense for a main script (`node --input-type=module -e …`).
 */
export function startWorker(file: string, opts: Omit<WorkerOptions, 'execArgv'> = {}): Worker {
  const execArgv = process.execArgv.filter((a, i, all) => !a.startsWith('--input-type') && all[i - 1] !== '--input-type');
  return new Worker(new URL(file, import.meta.url), { ...opts, execArgv });
}
