// Worker side of checkpointer.ts: one PASSIVE checkpoint per job (it never blocks a writer or
// a reader), on a connection opened for the job and closed after it, so a stream closed
// meanwhile is not held open.
import Database from 'better-sqlite3';
import { parentPort } from 'node:worker_threads';
import type { CheckpointJob } from './checkpointer.js';

parentPort!.on('message', (job: CheckpointJob) => {
  let db: Database.Database | undefined;
  try {
    db = new Database(job.file, { fileMustExist: true, timeout: 0 });
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Gone, locked or not a WAL database: the writer's own backstop checkpoint covers it.
  } finally {
    try {
      db?.close();
    } catch {
      /* closing a connection that could not checkpoint: nothing to keep */
    }
    Atomics.store(job.pending, 0, 0);
    Atomics.notify(job.pending, 0);
  }
});
