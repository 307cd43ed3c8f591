// Big-file chunks stored by a worker thread with its own SQLite connection to the stream file, so
// the inserts, their commits and the WAL checkpoints (fsyncs) run on the second core while this
// thread keeps reading from the network or the disk. Chunk buffers are transferred, not copied,
// and given back for reuse; a bounded queue (backpressure) keeps memory flat however fast they arrive.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/threads.js';
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError, type ErrorCode } from '../core/errors.js';
import { LIMITS } from '../core/record.js';
import type Database from 'better-sqlite3';
import type { Checkpoints } from './checkpointer.js';

/** What a chunk writer needs of a stream (a Stream is one): its file, connection and checkpoints. */
export interface ChunkTarget {
  readonly file: string;
  readonly db: Database.Database;
  /** the connection's own wal_autocheckpoint, restored when the last writer is done */
  readonly walPages: number;
  readonly checkpoints: Checkpoints;
}

/** Why a chunk may not be stored under `expectedHash`, or null when it may. */
export function chunkProblem(data: Uint8Array, expectedHash: Uint8Array): DrayerError | null {
  if (data.length > LIMITS.valueBytes)
    return new DrayerError('INVALID_RECORD', `A chunk of ${data.length} bytes is larger than any Drayer writes; it was not stored.`);
  if (!bytesEqual(blake2b256(data), expectedHash)) return chunkMismatch(expectedHash);
  return null;
}

/** The error for a chunk whose bytes do not hash to `expectedHash`. */
export function chunkMismatch(expectedHash: Uint8Array): DrayerError {
  return new DrayerError(
    'INVALID_RECORD',
    `The chunk received for ${Buffer.from(expectedHash).toString('hex')} does not match its hash, so it was not stored; fetch it again from another peer.`,
  );
}

/** What the worker is started with. */
export interface WriterConfig {
  file: string;
  /** check each chunk against its hash in the worker (chunks from peers); else the hash is trusted */
  verify: boolean;
  /** bytes per write transaction */
  txBytes: number;
  /** WAL checkpoint interval in bytes while writing */
  checkpointBytes: number;
  /** the chunk operation (chunks.ts) each chunk is pinned to, in the transaction that stores it */
  op?: number;
  /** the connection's page cache, KiB: a write buffer here, nothing is read back */
  cacheKiB: number;
}

/** This thread → worker: a chunk's buffer (transferred) and its length, or the end. */
export type WriterJob = { buf: ArrayBuffer; len: number; hash: Uint8Array } | { end: true };

/**
 * Worker → this thread. `buffers`: those no longer needed (their chunks stored or refused), given
 * back for reuse; `fatal`: the worker stopped.
 */
export type WriterReply = { buffers: ArrayBuffer[]; stored: number; bad?: { code: ErrorCode; message: string } } | { fatal: string } | { done: true };

/** Big files are cut in chunks of this size; `take` hands out (and reuses) buffers of it. */
export const CHUNK_SIZE = 1024 * 1024;
/** Chunks are stored in transactions of about this many bytes (one commit each, not one per chunk). */
const TX_BYTES = 4 * CHUNK_SIZE;
/**
 * Chunks from peers: smaller transactions, so fewer chunk buffers wait (a 1 GiB clone's memory
 * growth stays within 32 MiB: 2 MiB queued, the chunks in flight, the worker and its connection).
 */
const FETCH_TX_BYTES = 2 * CHUNK_SIZE;
/**
 * The chunk writer's page cache, KiB, beyond one transaction's pages. better-sqlite3's default is
 * 16 MiB a connection, all of it filled by a big transfer (chunk pages are written once, never
 * read back). A cache smaller than a transaction spills dirty pages into the WAL before the
 * commit and evicts the B-tree and pointer-map pages each chunk needs, which were then read back
 * from the WAL: 28 reads and 27 extra writes a MiB, 10-20% of the writer's CPU. So the cache
 * holds one transaction and this much besides.
 */
const WRITER_CACHE_SLACK_KIB = 1024;
/**
 * While chunks are stored, the WAL is checkpointed about every this many bytes. A checkpoint
 * writes every byte a second time (WAL, then the database) and syncs both, which on a disk-bound
 * machine halves a big transfer's speed. So a file of up to this size goes into the WAL at the
 * speed of the page cache, durable against a crash of the process as any commit, and is moved into
 * the database by one background checkpoint after it is complete. The cost: the WAL may hold
 * this much more disk space for a while.
 */
const BULK_CHECKPOINT_BYTES = 1024 * 1024 * 1024;

const bulkWriters = new WeakMap<ChunkTarget, { n: number; normal: number }>();

/**
 * Checkpoint less often on the stream's own connection too while chunks go in, so its small commits
 * meanwhile do not checkpoint the chunk writer's WAL; nested and concurrent writers share one setting.
 */
function holdCheckpoints(s: ChunkTarget): void {
  const b = bulkWriters.get(s);
  if (b) {
    b.n++;
    return;
  }
  // The stream's own setting (tuneWal), even if an earlier hold's raised one is still in force.
  const normal = s.walPages;
  const pageSize = s.db.pragma('page_size', { simple: true }) as number;
  bulkWriters.set(s, { n: 1, normal });
  if (normal > 0) s.db.pragma(`wal_autocheckpoint = ${Math.max(normal, Math.ceil(BULK_CHECKPOINT_BYTES / pageSize))}`);
}

/**
 * The last writer done: the stream's own setting comes back once the background checkpoint of
 * what went in has ended. Back at once, the next small commit would checkpoint the whole big
 * WAL itself, on this thread, for seconds.
 */
function releaseCheckpoints(s: ChunkTarget): void {
  const b = bulkWriters.get(s);
  if (!b || --b.n > 0) return;
  bulkWriters.delete(s);
  s.checkpoints.whenIdle(() => {
    if (s.db.open && !bulkWriters.has(s)) s.db.pragma(`wal_autocheckpoint = ${b.normal}`);
  });
}

export class ChunkStore {
  /** chunks stored (new or already held) */
  stored = 0;
  /** the first chunk refused (its hash did not match); the others are still stored */
  bad: DrayerError | undefined;
  private readonly worker: Worker;
  private queued = 0;
  /** buffers given back by the worker, to fill again: no garbage per chunk on either thread */
  private free: ArrayBuffer[] = [];
  private waiters: (() => void)[] = [];
  private failure: DrayerError | undefined;
  private readonly ended: Promise<void>;
  /** bytes handed over but not yet stored: one transaction being written and one filling */
  private readonly maxQueued: number;

  private released = false;
  /** bytes the worker committed since this writer last asked for a checkpoint */
  private sinceCheckpoint = 0;
  private readonly checkpointBytes: number;

  /**
   * A writer for `s`; `verify`: check each chunk against its hash (chunks from peers); `op`: pin
   * each chunk to this chunk operation, so no collection takes it before its manifest is stored.
   * Always `terminate()` it.
   */
  static forStream(s: ChunkTarget, opts: { verify: boolean; op?: number; fetching?: boolean }): ChunkStore {
    holdCheckpoints(s);
    try {
      const txBytes = opts.fetching ? FETCH_TX_BYTES : TX_BYTES;
      return new ChunkStore(s, {
        verify: opts.verify,
        txBytes,
        checkpointBytes: BULK_CHECKPOINT_BYTES,
        op: opts.op,
        cacheKiB: txBytes / 1024 + WRITER_CACHE_SLACK_KIB,
      });
    } catch (e) {
      releaseCheckpoints(s);
      throw e;
    }
  }

  private constructor(
    private readonly stream: ChunkTarget,
    opts: Omit<WriterConfig, 'file'>,
  ) {
    const file = stream.file;
    this.maxQueued = 2 * opts.txBytes;
    this.checkpointBytes = opts.checkpointBytes;
    this.worker = startWorker(new URL('./chunk-writer-worker.js', import.meta.url), { workerData: { file, ...opts } satisfies WriterConfig });
    this.ended = new Promise((resolve) => {
      let done = false;
      this.worker.on('message', (m: WriterReply) => {
        if ('done' in m) {
          done = true;
          return resolve();
        }
        if ('fatal' in m) return this.fail(m.fatal);
        for (const b of m.buffers) {
          this.queued -= b.byteLength;
          this.sinceCheckpoint += b.byteLength;
          if (b.byteLength === CHUNK_SIZE) this.free.push(b);
        }
        this.stored += m.stored;
        // The stream's own checkpoint handle: one request at a time per file, and what close() waits for.
        if (this.sinceCheckpoint >= this.checkpointBytes) {
          this.sinceCheckpoint = 0;
          this.stream.checkpoints.now();
        }
        if (m.bad) this.bad ??= new DrayerError(m.bad.code, m.bad.message);
        this.wake();
      });
      this.worker.on('error', (e) => this.fail(e.message));
      this.worker.on('exit', () => {
        if (!done) this.fail('the chunk writer stopped');
        resolve();
      });
    });
  }

  /** A CHUNK_SIZE buffer to fill and `put`: one the writer gave back, or a new one. */
  take(): ArrayBuffer {
    return this.free.pop() ?? new ArrayBuffer(CHUNK_SIZE);
  }

  /**
   * Hand over a chunk, the first `len` bytes of `buf`: the buffer is transferred (unusable here
   * afterwards). Waits while the queue is full; throws once the writer failed or refused a chunk.
   */
  async put(buf: ArrayBuffer, len: number, hash: Uint8Array): Promise<void> {
    this.check();
    this.queued += buf.byteLength;
    this.worker.postMessage({ buf, len, hash } satisfies WriterJob, [buf]);
    while (this.queued > this.maxQueued && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    this.check();
  }

  /** Store what is queued, then end the worker. Throws if the writer failed (refused chunks do not throw: see `bad`). */
  async close(): Promise<void> {
    if (!this.failure) this.worker.postMessage({ end: true } satisfies WriterJob);
    await this.ended;
    this.stream.checkpoints.now(); // move what went into the WAL into the database, in the background
    if (this.failure) throw this.failure;
  }

  /** A chunk refused before it was handed over (its hash did not match): the first one is `bad`; answers it. */
  refuse(e: DrayerError): DrayerError {
    this.bad ??= e;
    return e;
  }

  /** End the worker at once (after a failure); what it committed stays. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    if (!this.released) {
      this.released = true;
      releaseCheckpoints(this.stream);
    }
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.bad) throw this.bad;
  }

  private fail(why: string): void {
    this.failure ??= new DrayerError(
      'IO',
      `Could not store file data in ${this.stream.file}: ${why}. What was stored before is kept; check free disk space and try again.`,
    );
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
