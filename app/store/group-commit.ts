// Group commit: writes that arrive together share one SQLite transaction, and each caller's
// promise resolves only once its commit is on disk.
//
// What "on disk" means here: the stream runs journal_mode=WAL, synchronous=NORMAL, so a commit
// writes its WAL frames without syncing them (it survives the process, not yet a power loss).
// After its transaction, a group waits for an fdatasync of the -wal file, run on libuv's thread
// pool: that is what synchronous=FULL would do inside the commit, but without stopping the event
// loop for the disk (3–10 ms here), and one sync covers every group committed before it began.
// What a checkpoint moves out of the WAL is safe too: under NORMAL, SQLite syncs the WAL before a
// checkpoint and the database after it, before the WAL is reused. So an acknowledged write is
// either in a synced WAL or in a synced database file.
import * as fs from 'node:fs';
import { DrayerError } from '../core/errors.js';

/** One caller's op, from its submit to its answer: `out` is set once the op is committed. */
interface Waiting<Op, Out> {
  op: Op;
  out: Out | undefined;
  resolve(out: Out): void;
  reject(e: unknown): void;
}

/** The most ops one transaction takes: ~12 ms of work, so the event loop is never held long. */
export const MAX_GROUP = 256;

export class GroupCommit<Op, Out> {
  private queue: Waiting<Op, Out>[] = [];
  private scheduled = false;
  /** committed, waiting for the next WAL sync */
  private unsynced: Waiting<Op, Out>[] = [];
  /** the groups the sync under way covers */
  private syncing: Waiting<Op, Out>[] | null = null;
  private fd: number | null = null;
  private closeFdAfterSync = false;

  /**
   * `commit` runs ops in one transaction and gives each its result or its own error (a failure
   * of one op must not fail the others: see Writer.putGroup); it throws only when none committed.
   */
  constructor(
    private readonly file: string,
    private readonly commit: (ops: Op[]) => (Out | Error)[],
  ) {}

  /** Queue `op` for the next group; resolves once it is committed and synced. */
  submit(op: Op): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ op, out: undefined, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: callers of this turn and I/O that just arrived join the group.
        setImmediate(() => this.flush());
      }
    });
  }

  /** How many ops wait for a commit or a sync. */
  get pending(): number {
    return this.queue.length + this.unsynced.length + (this.syncing?.length ?? 0);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    this.commitSome();
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    this.startSync();
  }

  /** Commit the next group (at most MAX_GROUP ops); its callers wait for the next sync. */
  private commitSome(): void {
    const group = this.queue.splice(0, MAX_GROUP);
    let results: (Out | Error)[];
    try {
      results = this.commit(group.map((q) => q.op));
    } catch (e) {
      for (const q of group) q.reject(e);
      return;
    }
    for (let i = 0; i < group.length; i++) {
      const q = group[i]!;
      const r = results[i]!;
      if (r instanceof Error) q.reject(r);
      else {
        q.out = r;
        this.unsynced.push(q);
      }
    }
  }

  /** One fdatasync at a time, covering every commit made before it began. */
  private startSync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    let fd: number;
    try {
      fd = this.walFd();
    } catch (e) {
      this.settle(this.unsynced.splice(0), e);
      return;
    }
    const covered = (this.syncing = this.unsynced);
    this.unsynced = [];
    fs.fdatasync(fd, (err) => {
      // drain() may have synced and settled these already (this.syncing is then null)
      if (this.syncing === covered) {
        this.syncing = null;
        this.settle(covered, err);
      }
      if (this.closeFdAfterSync) this.closeFd();
      else this.startSync();
    });
  }

  private settle(batch: Waiting<Op, Out>[], err: unknown): void {
    if (!err) {
      for (const w of batch) w.resolve(w.out!);
      return;
    }
    const e = new DrayerError(
      'IO',
      `${this.file}: the disk did not confirm the write (${(err as Error).message}). It is stored, but may not survive a power loss; check the disk.`,
      { cause: err },
    );
    for (const w of batch) w.reject(e);
  }

  /**
   * The -wal file, opened once. Read-write: Windows flushes only handles that may write. While a
   * connection is open SQLite never removes its WAL, but if it was unlinked anyway, the one at the
   * path now is the one to sync.
   */
  private walFd(): number {
    if (this.fd !== null && fs.fstatSync(this.fd).nlink > 0) return this.fd;
    this.closeFd();
    this.fd = fs.openSync(this.file + '-wal', 'r+');
    return this.fd;
  }

  private closeFd(): void {
    this.closeFdAfterSync = false;
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already gone: nothing to release */
    }
    this.fd = null;
  }

  /**
   * Commit and sync everything queued now, synchronously (before the stream closes). Callers'
   * promises settle as they would have; the fd closes once a sync still under way has ended.
   */
  drain(): void {
    while (this.queue.length > 0) this.commitSome();
    const batch = [...(this.syncing ?? []), ...this.unsynced];
    this.unsynced = [];
    const inFlight = this.syncing !== null;
    this.syncing = null;
    if (batch.length > 0) {
      let err: unknown = null;
      try {
        fs.fdatasyncSync(this.walFd());
      } catch (e) {
        err = e;
      }
      this.settle(batch, err);
    }
    if (inFlight) this.closeFdAfterSync = true;
    else this.closeFd();
  }
}
