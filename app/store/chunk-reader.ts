// Chunks read for serving on a worker thread, into a few reused shared buffers ("slots"). Read
// on the event loop, each 1 MiB chunk cost a LAN server about 3 ms of its only thread: SQLite's
// copy of the overflow pages, then better-sqlite3's into a new 1 MiB Buffer whose fresh pages
// faulted in one by one and went back to the system when collected (150-260 page faults a MiB
// here). The worker reads with its own connection and copies each chunk into a slot whose pages
// stay mapped; the event loop only sends from it. Memory is bounded by the slots: when all are
// in use (slow readers hold theirs until their answer is sent), a chunk is read as before.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/threads.js';
import { CHUNK_SIZE } from './chunk-writer.js';
import { getChunk, type ChunkTable } from './chunks.js';

/** Chunks in flight at once; Drayer writes 1 MiB chunks, so each slot holds one. */
const SLOTS = 8;
/** The worker ends (and its connections close) after this long without a read. */
const IDLE_MS = 30_000;
/** A closing stream waits at most this long for the worker to let go of its file (it reads one chunk at a time: milliseconds). */
const FORGET_WAIT_MS = 2000;

/** This thread → worker. */
export type ReaderJob = { id: number; file: string; hash: Uint8Array; slot: number; buf: SharedArrayBuffer } | { forget: string; done: Int32Array };
/** Worker → this thread: the chunk's length in its slot; `big`, a chunk larger than a slot; `missing`; or why it failed. */
export type ReaderReply = { id: number; len: number } | { id: number; big: ArrayBuffer } | { id: number; missing: true } | { id: number; error: string };

/** A chunk read into a slot: `data` is valid until `release()`, which must be called once the answer is sent. */
export interface ReadChunk {
  data: Buffer;
  release(): void;
}

type Waiting = { resolve: (r: ReadChunk | undefined) => void; reject: (e: Error) => void; slot: number };

class Reader {
  private worker: Worker | undefined;
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly free: number[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  /** files the worker may hold a connection to */
  private readonly opened = new Set<string>();
  private idle: ReturnType<typeof setTimeout> | undefined;

  /**
   * The chunk `hash` of the stream file `file`, read on the worker into a free slot; undefined
   * when the file does not hold it. Returns null when no slot is free (the caller reads it itself).
   */
  read(file: string, hash: Uint8Array): Promise<ReadChunk | undefined> | null {
    const slot = this.take();
    if (slot === undefined) return null;
    const w = this.start();
    this.opened.add(file);
    const id = this.nextId++;
    return new Promise<ReadChunk | undefined>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot });
      w.postMessage({ id, file, hash, slot, buf: this.slots[slot]! } satisfies ReaderJob);
    });
  }

  /**
   * Close the worker's connection to `file`, and wait for it (at most FORGET_WAIT_MS): its stream
   * is closing, and only the last connection to go checkpoints and removes the WAL.
   */
  forget(file: string): void {
    if (!this.opened.delete(file) || !this.worker) return;
    const done = new Int32Array(new SharedArrayBuffer(4));
    this.worker.postMessage({ forget: file, done } satisfies ReaderJob);
    Atomics.wait(done, 0, 0, FORGET_WAIT_MS);
  }

  private take(): number | undefined {
    if (this.free.length > 0) return this.free.pop();
    if (this.slots.length >= SLOTS) return undefined;
    this.slots.push(new SharedArrayBuffer(CHUNK_SIZE));
    return this.slots.length - 1;
  }

  private give(slot: number): void {
    this.free.push(slot);
  }

  private start(): Worker {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.worker) return this.worker;
    const w = startWorker(new URL('./chunk-reader-worker.js', import.meta.url));
    w.unref(); // an idle reader never keeps the process alive
    w.on('message', (m: ReaderReply) => this.reply(m));
    const gone = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.opened.clear();
      for (const [id, p] of this.waiting) {
        this.waiting.delete(id);
        this.give(p.slot);
        p.reject(new Error(`the chunk reader stopped: ${why}`));
      }
    };
    w.on('error', (e) => gone(e.message));
    w.on('exit', () => gone('it exited'));
    this.worker = w;
    return w;
  }

  private reply(m: ReaderReply): void {
    const p = this.waiting.get(m.id);
    if (!p) return;
    this.waiting.delete(m.id);
    if (this.waiting.size === 0) this.idleSoon();
    if ('len' in m) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.give(p.slot);
      };
      return p.resolve({ data: Buffer.from(this.slots[p.slot]!, 0, m.len), release });
    }
    this.give(p.slot);
    if ('big' in m) return p.resolve({ data: Buffer.from(m.big), release: () => {} });
    if ('missing' in m) return p.resolve(undefined);
    p.reject(new Error(m.error));
  }

  private idleSoon(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      const w = this.worker;
      if (!w || this.waiting.size > 0) return;
      this.worker = undefined;
      this.opened.clear();
      void w.terminate();
    }, IDLE_MS);
    this.idle.unref();
  }

  /** Slots handed out and not given back (tests: every answer releases its slot). */
  get inUse(): number {
    return this.slots.length - this.free.length;
  }

  /** Whether the worker runs (tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** End the worker now (tests). */
  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.opened.clear();
    if (this.idle) clearTimeout(this.idle);
    await w?.terminate();
  }
}

/** One reader for the process: its slots are the bound on chunk memory for all streams served. */
export const chunkReader = new Reader();

/**
 * A chunk of `s` for an answer, read on the worker when a slot is free, else here as before (so
 * slow readers holding every slot slow no one down); undefined when `s` does not hold it.
 * Call `release()` once the answer is sent or abandoned.
 */
export async function chunkToServe(s: ChunkTable & { readonly file: string }, hash: Uint8Array): Promise<ReadChunk | undefined> {
  const here = (): ReadChunk | undefined => {
    const data = getChunk(s, hash);
    return data && { data, release: () => {} };
  };
  const later = chunkReader.read(s.file, hash);
  if (!later) return here();
  try {
    return await later;
  } catch {
    return here(); // the worker failed (the file moved, a read-only place without its -shm): the stream's own connection says why, if it cannot either
  }
}
