// Starting the engine's worker threads (verifiers, chunk writer, checkpointer) the same way.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker running `file` (a module beside this one). It inherits node's flags, less those that
 * only make sense for a main script (`node --input-type=module -e …`).
 */
export function startWorker(file: string, opts: Omit<WorkerOptions, 'execArgv'> = {}): Worker {
  const execArgv = process.execArgv.filter((a, i, all) => !a.startsWith('--input-type') && all[i - 1] !== '--input-type');
  return new Worker(unpacked(new URL(file, import.meta.url)), { ...opts, execArgv });
}

/**
 * In the packaged desktop app the engine sits inside Electron's app.asar, where a worker cannot
 * start a script; electron-builder.yml unpacks dist/app (and its dependencies) beside it, into
 * app.asar.unpacked, and the worker starts from there. Elsewhere the URL is left as it is.
 */
export function unpacked(url: URL): URL {
  if (url.protocol !== 'file:' || !/\/app\.asar\//.test(url.pathname)) return url;
  return new URL(url.href.replace(/\/app\.asar\//, '/app.asar.unpacked/'));
}
