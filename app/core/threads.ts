// Starting the engine's worker threads (verifiers, chunk writer, checkpointer) the same way.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker running `file` (its caller names it with `new URL('./x.js', import.meta.url)`, so the
 * path is the caller's own neighbour wherever the layers put it). It inherits node's flags, less
 * those that only make sense for a main script (`node --input-type=module -e …`).
 */
export function startWorker(file: URL, opts: Omit<WorkerOptions, 'execArgv'> = {}): Worker {
  const execArgv = process.execArgv.filter((a, i, all) => !a.startsWith('--input-type') && all[i - 1] !== '--input-type');
  return new Worker(unpacked(file), { ...opts, execArgv });
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
