// The chunks of big files in a stream file's `chunks` table: stored, read, and collected. An
// operation that writes chunks or may orphan them registers itself first (chunk_ops), pins what
// it commits, and collects what it leaves when it ends; what a killed one left goes at the next
// open (collectLeftovers). Works on the connection alone, so the Stream can call it as it opens.
import type Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { blake2b256 } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import { chunkProblem } from './chunk-writer.js';
import { inTransaction } from './schema.js';
import { FILE_TYPE, parseFileValue, type FileHeader } from './file-value.js';

/** What this module needs of a stream: its connection (a Stream is one). */
export interface ChunkTable {
  readonly db: Database.Database;
}

interface Stmts {
  ops: Database.Statement;
  insertOp: Database.Statement;
  beatOp: Database.Statement;
  dropOp: Database.Statement;
  dropPins: Database.Statement;
  pinned: Database.Statement;
  insertChunk: Database.Statement;
  chunkData: Database.Statement;
  hasChunk: Database.Statement;
  chunkHashes: Database.Statement;
  deleteChunk: Database.Statement;
  chunkCount: Database.Statement;
  anyChunk: Database.Statement;
  manifests: Database.Statement;
}

const stmtCache = new WeakMap<ChunkTable, Stmts>();

function stmts(s: ChunkTable): Stmts {
  let st = stmtCache.get(s);
  if (!st) {
    const db = s.db;
    st = {
      ops: db.prepare('SELECT id, pid, place, beat FROM chunk_ops'),
      insertOp: db.prepare('INSERT INTO chunk_ops (pid, place, started, beat) VALUES (?, ?, ?, ?)'),
      beatOp: db.prepare('UPDATE chunk_ops SET beat = ? WHERE id = ?'),
      dropOp: db.prepare('DELETE FROM chunk_ops WHERE id = ?'),
      dropPins: db.prepare('DELETE FROM chunk_pins WHERE op = ?'),
      pinned: db.prepare('SELECT hash FROM chunk_pins').pluck(),
      insertChunk: db.prepare('INSERT OR IGNORE INTO chunks (hash, data) VALUES (?, ?)'),
      chunkData: db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck(),
      hasChunk: db.prepare('SELECT 1 FROM chunks WHERE hash = ?').pluck(),
      chunkHashes: db.prepare('SELECT hash FROM chunks').pluck(),
      deleteChunk: db.prepare('DELETE FROM chunks WHERE hash = ?'),
      chunkCount: db.prepare('SELECT count(*) FROM chunks').pluck(),
      anyChunk: db.prepare('SELECT 1 FROM chunks LIMIT 1').pluck(),
      // Pre-filter in SQL on the bytes of "chunks" so small files are never copied out to be parsed.
      // `sealed`: a big file of a private stream keeps its chunk list in clear (core/private.ts sealedBox), so a blind mirror keeps its chunks too.
      manifests: db.prepare(`SELECT val FROM records WHERE type IN ('${FILE_TYPE}', 'sealed') AND val IS NOT NULL AND instr(val, X'6368756e6b73') > 0`).pluck(),
    };
    stmtCache.set(s, st);
  }
  return st;
}

/** A chunk hash as a Set key. */
export const hkey = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');

// ---------- chunk operations in progress, and what they leave ----------
//
// Every operation that writes chunks or may orphan them (an add, a replace or delete of a big file)
// first registers a row in `chunk_ops`; its chunk writer pins each chunk in `chunk_pins` in the very
// transaction that commits it; when the operation ends, its row and pins go and, if it failed or
// was cancelled or replaced a big file, unreferenced chunks are collected in the same transaction.
// So a collection anywhere (another process included: the CLI beside `drayer serve`) never takes a
// chunk whose manifest is not stored yet, and a row whose process is gone marks leftovers of a
// killed add, which the next open collects.

/** A row whose process cannot be checked from here is stale once it has not beaten for this long. */
const OP_LEASE_MS = 10 * 60_000;
const OP_BEAT_MS = 60_000;

let here: string | undefined;
/**
 * Where pids mean the same process: this machine, this boot, this pid namespace (containers share
 * files, not pids). Hashed: a stream file copied elsewhere carries no host name.
 */
function place(): string {
  if (here === undefined) {
    const read = (f: string, link = false) => {
      try {
        return link ? fs.readlinkSync(f) : fs.readFileSync(f, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const where = [os.hostname(), read('/proc/sys/kernel/random/boot_id'), read('/proc/self/ns/pid', true)].join('|');
    here = Buffer.from(blake2b256(Buffer.from(where)))
      .toString('hex')
      .slice(0, 32);
  }
  return here;
}

function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false; // kill(0) would signal our own group
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

type OpRow = { id: number; pid: number; place: string; beat: number };

/**
 * Whether an operation's process is gone. Here, by its pid (at once after a kill; a reused pid only
 * keeps leftovers longer, never loses a chunk); elsewhere, when it stopped beating.
 */
function opStale(op: OpRow, now: number): boolean {
  return op.place === place() ? !pidAlive(op.pid) : now - op.beat > OP_LEASE_MS;
}

/** Operations of this process, beaten while they run (only a process elsewhere needs the beat). */
const running = new Map<ChunkTable, Set<number>>();
let beater: ReturnType<typeof setInterval> | undefined;

export function beginOp(s: ChunkTable): number {
  const now = Date.now();
  const id = Number(stmts(s).insertOp.run(process.pid, place(), now, now).lastInsertRowid);
  let ids = running.get(s);
  if (!ids) running.set(s, (ids = new Set()));
  ids.add(id);
  beater ??= setInterval(beat, OP_BEAT_MS).unref();
  return id;
}

function beat(): void {
  const now = Date.now();
  for (const [s, ids] of running) {
    if (!s.db.open) {
      running.delete(s);
      continue;
    }
    try {
      for (const id of ids) stmts(s).beatOp.run(now, id);
    } catch {
      // busy: the next beat, well inside the lease
    }
  }
}

/** End an operation: its row and pins go; with `collect`, unreferenced chunks too (the same transaction). */
export function endOp(s: ChunkTable, id: number, collect: boolean): void {
  const ids = running.get(s);
  ids?.delete(id);
  if (ids?.size === 0) running.delete(s);
  if (running.size === 0 && beater) {
    clearInterval(beater);
    beater = undefined;
  }
  if (collect) {
    collectChunks(s, { ending: id });
    return;
  }
  const st = stmts(s);
  inTransaction(
    s.db,
    () => {
      st.dropPins.run(id);
      st.dropOp.run(id);
    },
    true,
  );
}

// ---------- chunks ----------

/** A chunk by its hash, or undefined when this copy does not hold it (yet). */
export function getChunk(s: ChunkTable, hash: Uint8Array): Buffer | undefined {
  return (stmts(s).chunkData.get(hash) as Buffer | undefined) ?? undefined;
}

/** Store a chunk received from a peer after checking it is the one asked for. */
export function putChunk(s: ChunkTable, data: Uint8Array, expectedHash: Uint8Array): void {
  if (!(expectedHash instanceof Uint8Array) || expectedHash.length !== 32) throw new DrayerError('INVALID_ARGUMENT', 'A chunk hash is 32 bytes.');
  const bad = chunkProblem(data, expectedHash);
  if (bad) throw bad;
  stmts(s).insertChunk.run(expectedHash, data);
}

export function chunkCount(s: ChunkTable): number {
  return stmts(s).chunkCount.get() as number;
}

/**
 * Delete every chunk no live `file` manifest refers to, nor an operation in progress has pinned
 * (rows of operations whose process is gone are dropped first). Returns how many were deleted.
 * Reads only manifests, pins and the chunk index, never chunk data.
 */
export function gcChunks(s: ChunkTable): number {
  if (stmts(s).anyChunk.get() === undefined) return 0; // most streams hold no big file: one probe, no manifest reads
  return collectChunks(s, {});
}

/**
 * `ending`: this operation's row and pins go in the same transaction. `unpinned`: every operation's
 * (a copy being exported: nothing there is in progress).
 */
function collectChunks(s: ChunkTable, opts: { ending?: number; unpinned?: boolean }): number {
  const st = stmts(s);
  // One immediate transaction: no other connection can store a manifest or pin a chunk between scan and delete.
  const deleted = s.db
    .transaction(() => {
      const now = Date.now();
      for (const op of st.ops.all() as OpRow[]) {
        if (op.id === opts.ending || opts.unpinned || opStale(op, now)) {
          st.dropPins.run(op.id);
          st.dropOp.run(op.id);
        }
      }
      const live = new Set<string>();
      for (const h of st.pinned.iterate() as IterableIterator<Buffer>) live.add(hkey(h));
      for (const val of st.manifests.iterate() as IterableIterator<Buffer>) {
        let header: FileHeader;
        try {
          header = parseFileValue(val).header;
        } catch {
          continue; // an unreadable manifest cannot be served whatever we keep
        }
        for (const h of header.chunks ?? []) live.add(hkey(h));
      }
      const dead: Buffer[] = [];
      for (const h of st.chunkHashes.iterate() as IterableIterator<Buffer>) if (!live.has(hkey(h))) dead.push(h);
      for (const h of dead) st.deleteChunk.run(h);
      return dead.length;
    })
    .immediate();
  if (deleted > 0) reclaimSpace(s);
  return deleted;
}

/**
 * Giving space back costs about 3-8 ms per MiB (SQLite moves or unlinks each free page), so it
 * runs in slices, each its own short write transaction, for at most this long per collection.
 */
const RECLAIM_SLICE_BYTES = 16 * 1024 * 1024;
const RECLAIM_BUDGET_MS = 500;

/**
 * Give the space of deleted chunks back to the disk, within a time budget. Streams created since
 * chunks are collected use incremental auto-vacuum: free pages at the end (a cancelled add's,
 * usually) are cut off, others filled by moving pages from the end. What the budget leaves, and
 * every free page of an older stream (switching one would rewrite the whole file), is reused by
 * the next writes; `drayer export` writes a compact copy either way.
 */
function reclaimSpace(s: ChunkTable): void {
  if (s.db.pragma('auto_vacuum', { simple: true }) !== 2) return;
  const slice = Math.ceil(RECLAIM_SLICE_BYTES / (s.db.pragma('page_size', { simple: true }) as number));
  const until = Date.now() + RECLAIM_BUDGET_MS;
  try {
    while ((s.db.pragma('freelist_count', { simple: true }) as number) > 0 && Date.now() < until) s.db.pragma(`incremental_vacuum(${slice})`);
  } catch (e) {
    if (!(e as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw e; // another writer: a later collection goes on
  }
}

/**
 * At open: collect what killed or crashed operations left, when some did. Nothing to do costs one
 * query of a table of a few rows; a busy stream (another process writing) is left for a later open.
 */
export function collectLeftovers(s: ChunkTable): number {
  const now = Date.now();
  try {
    // Prepared alone: this file's other statements are not needed at most opens.
    const ops = s.db.prepare('SELECT id, pid, place, beat FROM chunk_ops').all() as OpRow[];
    if (!ops.some((op) => opStale(op, now))) return 0;
    return gcChunks(s);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) return 0;
    throw e;
  }
}

/**
 * Drop every chunk no manifest refers to, pins or not, and leave no trace of them in the file:
 * for a copy that leaves this machine (`drayer export`), which must not carry a byte of a file
 * whose add was cancelled or is still running. Returns how many were dropped.
 */
export function dropUnreferencedChunks(s: ChunkTable): number {
  s.db.pragma('secure_delete = ON'); // rows of operations in progress go too, their bytes zeroed
  const n = collectChunks(s, { unpinned: true });
  if (n > 0) s.db.exec('VACUUM'); // the whole pages of dropped chunks go, not only their bytes
  return n;
}

/** Whether this copy holds the chunk. */
export function hasChunk(s: ChunkTable, hash: Uint8Array): boolean {
  return stmts(s).hasChunk.get(hash) !== undefined;
}
