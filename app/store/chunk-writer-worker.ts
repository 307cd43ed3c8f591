// Worker side of ChunkStore (chunk-writer.ts): verifies chunks when asked, inserts them in
// transactions of about `txBytes`, and runs the WAL checkpoints its commits trigger, all off the
// main thread. Each commit gives its chunks' buffers back: the sender's backpressure waits for
// them, and fills them again.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { WriterConfig, WriterJob, WriterReply } from './chunk-writer.js';

const cfg = workerData as WriterConfig;
// Loaded only when this worker checks hashes: the crypto modules cost a worker ~7 MiB of memory.
const { chunkProblem } = cfg.verify ? await import('./chunk-writer.js') : { chunkProblem: undefined };
const port = parentPort!;
const send = (m: WriterReply) => port.postMessage(m, 'buffers' in m ? m.buffers : []);

let db: Database.Database | undefined;
let batch: { hash: Uint8Array; data: Uint8Array }[] = [];
let batchBytes = 0;
let write: (b: typeof batch) => void;

/** Close the connection before answering `done`, so the caller may close or remove the file at once. */
function finish(done: boolean): void {
  db?.close();
  if (done) send({ done: true });
  port.close(); // the thread ends once nothing else is pending
}

try {
  // The same durability as the stream's own connection (a process kill loses no commit), with
  // checkpoints spaced out while the bulk of data goes in (each one fsyncs).
  db = new Database(cfg.file, { fileMustExist: true, timeout: 60_000 });
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${cfg.cacheKiB}`);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  // Checkpoints every checkpointBytes are asked of the checkpointer thread (by ChunkStore, as
  // commits are reported); this connection's own, at twice that, is only the backstop.
  db.pragma(`wal_autocheckpoint = ${Math.ceil((2 * cfg.checkpointBytes) / pageSize)}`);
  db.pragma('journal_size_limit = 67108864'); // once checkpointed, a big WAL is cut back to 64 MiB
  const insert = db.prepare('INSERT OR IGNORE INTO chunks (hash, data) VALUES (?, ?)');
  // A chunk and its pin commit together: a collection sees both or neither. (A chunk already held
  // is pinned too: the file it belonged to may go before this one's manifest is stored.)
  const pin = cfg.op === undefined ? undefined : db.prepare('INSERT OR IGNORE INTO chunk_pins (op, hash) VALUES (?, ?)');
  write = db.transaction((b: typeof batch) => {
    for (const c of b) {
      insert.run(c.hash, c.data);
      pin?.run(cfg.op, c.hash);
    }
  });
} catch (e) {
  send({ fatal: (e as Error).message });
  finish(false);
}

function commit(): void {
  if (batch.length === 0) return;
  const b = batch;
  batch = [];
  batchBytes = 0;
  write(b);
  send({ buffers: b.map((c) => c.data.buffer as ArrayBuffer), stored: b.length });
}

port.on('message', (m: WriterJob) => {
  if (!db?.open) return;
  try {
    if ('end' in m) {
      commit();
      finish(true);
      return;
    }
    const data = new Uint8Array(m.buf, 0, m.len);
    const bad = chunkProblem ? chunkProblem(data, m.hash) : null;
    if (bad) {
      send({ buffers: [m.buf], stored: 0, bad: { code: bad.code, message: bad.message } });
      return;
    }
    batch.push({ hash: m.hash, data });
    // Counted as ChunkStore.put counts what it waits on: the buffers held, not the bytes in them.
    // By bytes, small chunks (files' tails) in 1 MiB buffers never made a commit, so no buffer
    // came back and put() waited for good once the buffers held passed its bound.
    batchBytes += m.buf.byteLength;
    if (batchBytes >= cfg.txBytes) commit();
  } catch (e) {
    send({ fatal: (e as Error).message });
    finish(false);
  }
});
