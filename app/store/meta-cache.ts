// A stream's meta attributes read through a cache. A pull reads a dozen of them (its cursor, the
// window and filters of the copy, the syncs in progress) and a server one or two per answer, each
// an SQLite statement of 7–10 µs: about a sixth of what a one-record pull costs its client.
// A value read stays good while no other connection commits (PRAGMA data_version, asked at most
// once per turn of the event loop: nothing outside this thread can be seen to change in between
// anyway) and this process writes none through another of its connections (every write goes
// through write(), which drops the attribute from the cache of every connection to the same file
// here). Inside a transaction nothing is cached: it may still roll back.
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';

let turn = 0;
let ticking = false;

/** A number that changes from one turn of the event loop to the next (once anything asks for it). */
function currentTurn(): number {
  if (!ticking) {
    ticking = true;
    setImmediate(() => {
      ticking = false;
      turn++;
    });
  }
  return turn;
}

/** The caches open in this thread, by file: a write through one connection clears them all. */
const byFile = new Map<string, Set<MetaCache>>();

export class MetaCache {
  private readonly values = new Map<string, unknown>();
  private version: unknown = undefined;
  private checkedIn = -1;
  private dataVersion: Statement | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly get: () => Statement,
    private readonly set: () => Statement,
  ) {
    let open = byFile.get(file);
    if (!open) byFile.set(file, (open = new Set()));
    open.add(this);
  }

  /** The attribute `k` (undefined when unset). */
  read(k: string): unknown {
    if (this.db.inTransaction) return this.get().get(k);
    const now = currentTurn();
    if (this.checkedIn !== now) {
      this.checkedIn = now;
      const v = (this.dataVersion ??= this.db.prepare('PRAGMA data_version').pluck()).get();
      if (v !== this.version) {
        this.version = v;
        this.values.clear();
      }
    }
    if (this.values.has(k)) return this.values.get(k);
    const v = this.get().get(k);
    // (a Buffer is the caller's to change: it is read again each time)
    if (v === undefined || v === null || typeof v !== 'object') this.values.set(k, v);
    return v;
  }

  /** Set (null: remove) the attribute `k`. */
  write(k: string, v: string | number | Buffer | null): void {
    this.set().run(k, v);
    for (const c of byFile.get(this.file) ?? []) c.values.delete(k);
  }

  /** The connection is closing. */
  forget(): void {
    const open = byFile.get(this.file);
    open?.delete(this);
    if (open?.size === 0) byFile.delete(this.file);
  }
}
