// Worker side of the chunk reader (chunk-reader.ts): one read-only connection per stream file,
// each chunk copied into the slot it was asked for. The Buffer better-sqlite3 makes of it dies at
// once, here, where its memory is reused by the next read instead of faulting in anew.
import Database from 'better-sqlite3';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { parentPort } from 'node:worker_threads';
import type { ReaderJob, ReaderReply } from './chunk-reader.js';

const port = parentPort!;
/**
 * The 1 MiB Buffer better-sqlite3 makes of each chunk is garbage once copied into its slot, but
 * this thread allocates too little else for V8 to collect it soon: dozens piled up, went back to
 * the system together and the next ones faulted in page by page (about 200 page faults a MiB,
 * most of the reader's time). A young-generation collection after each chunk frees it at once,
 * so the next read reuses the same memory (40-60 faults a MiB). `gc` is taken from a context made
 * while the flag is on, and the flag goes off again (flags are process-wide).
 */
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as (opts: { type: 'minor' }) => void;
v8.setFlagsFromString('--no-expose-gc');
/** Connections by file; a stream file served is open on the main thread too, so its WAL is current. */
const open = new Map<string, Database.Statement>();
/** Chunk pages are read once per answer: a small page cache, not better-sqlite3's 16 MiB a connection. */
const CACHE_KIB = 256;
/** Connections kept at most; the oldest closes first (a node serves chunks of a few streams at a time). */
const MAX_OPEN = 16;

function statement(file: string): Database.Statement {
  let st = open.get(file);
  if (st) {
    open.delete(file); // most recent last
    open.set(file, st);
    return st;
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma(`cache_size = -${CACHE_KIB}`);
  st = db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck();
  open.set(file, st);
  if (open.size > MAX_OPEN) close(open.keys().next().value!);
  return st;
}

function close(file: string): void {
  const st = open.get(file);
  open.delete(file);
  st?.database.close();
}

port.on('message', (m: ReaderJob) => {
  if ('forget' in m) {
    close(m.forget);
    Atomics.store(m.done, 0, 1);
    Atomics.notify(m.done, 0);
    return;
  }
  let reply: ReaderReply;
  try {
    const data = statement(m.file).get(m.hash) as Buffer | undefined;
    if (!data) reply = { id: m.id, missing: true };
    else if (data.length <= m.buf.byteLength) {
      new Uint8Array(m.buf).set(data);
      reply = { id: m.id, len: data.length };
      collect({ type: 'minor' });
    } else {
      // Larger than a slot (not one Drayer writes): its own copy, transferred.
      const big = new ArrayBuffer(data.length);
      new Uint8Array(big).set(data);
      return port.postMessage({ id: m.id, big } satisfies ReaderReply, [big]);
    }
  } catch (e) {
    close(m.file); // a file moved or damaged: opened afresh next time
    reply = { id: m.id, error: (e as Error).message };
  }
  port.postMessage(reply);
});
