// The writer of a stream (where its secret key is present): puts, edits and deletes that keep both
// chains perfect (DESIGN §3: successors patched to skip what left, tips re-issued), each operation
// signed and written in one transaction.
import type Database from 'better-sqlite3';
import { blake2b256, bytesEqual, type KeyPair } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { MARKER_KEY, MARKER_TYPE, SEALED_TYPE, staysClear } from '../core/private.js';
import { LIMITS, signRecord, type DrayerRecord, type UnsignedRecord } from '../core/record.js';
import { DEVICE_KEY } from '../core/siblings.js';
import { slabBytes } from '../core/slab.js';
import { editedPrevch, nextMod } from './chains.js';
import { keyPathFor, sealKeyFile } from './keystore.js';
import { GroupCommit } from './group-commit.js';
import { rememberWrite } from './tip-cache.js';
import { GROUP_ROWS_PER_PUT, HELD_BATCH, rowByKey, rowToRecord, sqliteError, type Handle, type Row } from './schema.js';

/** Below this many puts a group looks each key up by itself (one batched lookup costs about as much as 16 single ones). */
const MIN_BATCHED_LOOKUP = 16;

export function nowMicros(): number {
  return Date.now() * 1000;
}

/** The writer's working set during one operation: records to re-sign, by id. */
interface WriteCtx {
  /** the tips when the operation began */
  idTip: number;
  mTip: number;
  nextId: number;
  nextMod: number;
  /** the seq for the next row written: above every seq ever handed out */
  nextSeq: number;
  dirty: Map<number, UnsignedRecord>;
}

/** Where a write starts: the two tips and the last seq handed out. */
interface Tips {
  id: number;
  mod: number;
  seq: number;
}

/** One put of a group commit (Writer.putGroup). */
export interface GroupPut {
  kp: KeyPair;
  type: string;
  key: string;
  value: Uint8Array;
  ts?: number;
}

/** A device's own chain (DESIGN §9): written by the device's key into the owner's stream file. */
export interface DeviceChain {
  /** the first id of the device's range (siblings.ts idRangeOf) */
  firstId: number;
  keyFile: string;
  /** the start of the device's window where this copy knows it (0 otherwise): a clock behind the owner's must not write records no one admits */
  modFloor(): number;
}

/** What Stream.batch hands its callback. */
export interface BatchWriter {
  put(type: string, key: string, value: Uint8Array, ts?: number): void;
  delete(type: string, key: string): boolean;
}

export class Writer {
  private readonly h: Handle;
  private readonly run: Database.Transaction<
    (fn: (ctx: WriteCtx, kp: KeyPair) => unknown, kp: KeyPair) => { result: unknown; written: DrayerRecord[]; from: number }
  >;
  private readonly runGroup: Database.Transaction<(ops: GroupPut[], out: (DrayerRecord | undefined)[]) => void>;
  private keySealChecked = false;
  /** the stream is private (its drayer/private marker is here): only sealed records and the clear few may be written */
  private sealedOnly: boolean | undefined;
  private group: GroupCommit<GroupPut, DrayerRecord> | null = null;
  /** the rows the last group transaction wrote, for tip-cache.ts once it commits */
  private groupWrote: { from: number; written: DrayerRecord[] } | undefined;

  /** Where a device's chain is written (§9): its first id, its key file, and the lowest mod its window admits. */
  private readonly device: DeviceChain | undefined;

  constructor(h: Handle, device?: DeviceChain) {
    this.h = h;
    this.device = device;
    // Made once: better-sqlite3 transaction wrappers are not free to build on every write.
    this.run = h.db.transaction((fn: (ctx: WriteCtx, kp: KeyPair) => unknown, kp: KeyPair) => {
      const ctx = this.beginWrite();
      const result = fn(ctx, kp);
      const from = ctx.nextSeq - 1;
      return { result, written: this.finishWrite(ctx, kp), from };
    });
    this.runGroup = h.db.transaction((ops: GroupPut[], out: (DrayerRecord | undefined)[]) => {
      // Puts only add or move records to the tips, so each one's tips follow from what the one
      // before wrote: one query for the group instead of one a put.
      const tips = this.readTips();
      const all: DrayerRecord[] = [];
      this.groupWrote = { from: tips.seq, written: all };
      const fresh = ops.length >= MIN_BATCHED_LOOKUP ? this.surelyNew(ops) : undefined;
      for (let i = 0; i < ops.length; i++) out.push(this.appendNew(tips, ops[i]!, fresh?.[i] === 1, all) ?? this.putMoving(tips, ops[i]!, all));
    });
  }

  /** Whether this writer's chain holds (type, key). */
  has(type: string, key: string): boolean {
    return rowByKey(this.h, type, key) !== undefined;
  }

  /** Create or edit the record (type, key). Atomic and durable against a process crash when it returns. */
  put(kp: KeyPair, type: string, key: string, value: Uint8Array, ts?: number): DrayerRecord | undefined {
    const { written } = this.writeTx(kp, (ctx) => this.putIn(ctx, type, key, value, ts));
    return written.find((r) => r.type === type && r.key === key);
  }

  /** Delete the record (type, key); false when there is none. Leaves no trace but patched neighbours. */
  delete(kp: KeyPair, type: string, key: string): boolean {
    return this.writeTx(kp, (ctx) => this.deleteIn(ctx, type, key)).result;
  }

  /**
   * Create or edit the record (type, key) with a group commit: puts made together share one
   * transaction, and the promise resolves once this one's commit is on disk (group-commit.ts).
   * Bad arguments are refused at once, before anything joins a group.
   */
  putDurable(op: GroupPut): Promise<DrayerRecord> {
    try {
      checkPut(op.type, op.key, op.value, op.ts);
    } catch (e) {
      return Promise.reject(e);
    }
    this.group ??= new GroupCommit(this.h.file, (ops) => this.putGroup(ops));
    return this.group.submit(op);
  }

  /** Commit and sync the puts still queued (before the stream closes). */
  drain(): void {
    this.group?.drain();
  }

  /**
   * Independent puts in one transaction, each as put() would do it, in order: the record of each,
   * or why it failed. When one put fails, the transaction is rolled back and run again without
   * it, so a bad put cannot take the others with it. A failure that is not one put's (a busy
   * lock, a full disk, a failed commit) fails them all.
   */
  putGroup(ops: GroupPut[]): (DrayerRecord | Error)[] {
    const results: (DrayerRecord | Error)[] = new Array<DrayerRecord | Error>(ops.length);
    let live = ops.map((_, i) => i);
    while (live.length > 0) {
      const out: (DrayerRecord | undefined)[] = [];
      const group = live.map((i) => ops[i]!);
      try {
        this.runGroup.immediate(group, out);
      } catch (e) {
        const err = isDrayerError(e) ? e : sqliteError(e, this.h.file);
        // `out` holds one entry per put done: the one after them threw.
        const bad = out.length < group.length && isOnePutsFault(e) ? live[out.length]! : undefined;
        if (bad === undefined) {
          for (const i of live) results[i] = err;
          return results;
        }
        results[bad] = err;
        live = live.filter((i) => i !== bad);
        continue;
      }
      if (this.groupWrote) rememberWrite(this.h, this.groupWrote.from, this.groupWrote.written);
      this.groupWrote = undefined;
      this.h.checkpoints.wrote(Math.ceil(group.length / GROUP_ROWS_PER_PUT));
      this.sealKeyOnce(group[0]!.kp);
      live.forEach((i, k) => (results[i] = out[k] ?? this.record(ops[i]!.type, ops[i]!.key)));
      break;
    }
    return results;
  }

  private record(type: string, key: string): DrayerRecord {
    return rowToRecord(rowByKey(this.h, type, key)!);
  }

  /** Many writes in one transaction (imports). Each op is applied in order; the batch is atomic. */
  batch(kp: KeyPair, fn: (w: BatchWriter) => void): DrayerRecord[] {
    const written: DrayerRecord[] = [];
    const run = this.h.db.transaction(() => {
      // Each op flushes its own re-signed records so the next op's queries see them.
      const step = <T>(op: (ctx: WriteCtx) => T): T => {
        const ctx = this.beginWrite();
        const out = op(ctx);
        written.push(...this.finishWrite(ctx, kp));
        return out;
      };
      fn({
        put: (type, key, value, ts) => step((ctx) => this.putIn(ctx, type, key, value, ts)),
        delete: (type, key) => step((ctx) => this.deleteIn(ctx, type, key)),
      });
    });
    try {
      run.immediate();
    } catch (e) {
      throw isDrayerError(e) ? e : sqliteError(e, this.h.file);
    }
    this.h.checkpoints.wrote(written.length);
    this.sealKeyOnce(kp);
    return written;
  }

  private writeTx<T>(kp: KeyPair, fn: (ctx: WriteCtx, kp: KeyPair) => T): { result: T; written: DrayerRecord[] } {
    try {
      const out = this.run.immediate(fn, kp) as { result: T; written: DrayerRecord[]; from: number };
      rememberWrite(this.h, out.from, out.written); // a server's next page comes from these rows (tip-cache.ts)
      this.h.checkpoints.wrote(out.written.length);
      this.sealKeyOnce(kp);
      return out;
    } catch (e) {
      throw isDrayerError(e) ? e : sqliteError(e, this.h.file);
    }
  }

  /** After the first write here, a plain key file is sealed where the process has a keychain (keystore.ts). */
  private sealKeyOnce(kp: KeyPair): void {
    if (this.keySealChecked) return;
    this.keySealChecked = true;
    try {
      sealKeyFile(this.device?.keyFile ?? keyPathFor(this.h.file), kp);
    } catch {
      // the plain file stays, and keeps working; the next open tries again
    }
  }

  /** Where a write starts, read from the stream. */
  private readTips(): Tips {
    const t = this.h.st.tips.get(this.h.chain, this.h.chain) as { id: number | null; mod: number | null; seq: number | null };
    return { id: t.id ?? 0, mod: t.mod ?? 0, seq: t.seq ?? 0 };
  }

  /**
   * A group's put of a key the stream does not hold (most of them): the record goes on both tips
   * and is written at once, without the working set an edit needs (putIn, finishWrite); `tips`
   * move past it. Undefined, having written nothing, when the key is held: an edit (putMoving).
   * The op's arguments were checked when it was submitted (putDurable). `fresh`: surelyNew said
   * the key is not held, so it is not looked up again.
   */
  private appendNew(tips: Tips, op: GroupPut, fresh: boolean, all: DrayerRecord[]): DrayerRecord | undefined {
    this.guardPrivate(op.type, op.key);
    if (!fresh && rowByKey(this.h, op.type, op.key)) return undefined;
    const now = nowMicros();
    const floor = this.device ? Math.max(this.device.modFloor(), 0) : 0;
    const r = signRecord(
      {
        id: Math.max(tips.id + 1, this.device?.firstId ?? 0),
        type: op.type,
        key: op.key,
        val: op.value,
        hash: blake2b256(op.value, slabBytes(32)),
        ts: op.ts ?? now,
        mod: nextMod(Math.max(tips.mod, floor), now),
        prev: tips.id,
        prevch: tips.mod,
        chain: this.h.chain,
      },
      op.kp,
    );
    this.h.st.insert.run(++tips.seq, this.h.chain, r.id, r.type, r.key, r.val, r.hash, r.ts, r.mod, r.prev, r.prevch, r.sig);
    tips.id = r.id;
    tips.mod = r.mod;
    all.push(r);
    return r;
  }

  /**
   * Which of a group's puts surely write a key the stream does not hold (1), looked up HELD_BATCH
   * at a time: one statement instead of one a put, about 1 µs of every post. A key put twice in
   * the group is held by its second put (the first writes it), so that one is not marked.
   */
  private surelyNew(ops: GroupPut[]): Uint8Array {
    const fresh = new Uint8Array(ops.length);
    const seen = new Set<string>();
    for (let i = 0; i < ops.length; i++) {
      const { type, key } = ops[i]!;
      const id = `${type.length}:${type}${key}`;
      if (!seen.has(id)) {
        seen.add(id);
        fresh[i] = 1;
      }
    }
    const args: unknown[] = new Array<unknown>(2 * HELD_BATCH + 1);
    args[2 * HELD_BATCH] = this.h.chain;
    for (let start = 0; start < ops.length; start += HELD_BATCH) {
      for (let i = 0; i < HELD_BATCH; i++) {
        const op = ops[start + i];
        // past the group's end: a NULL pair, equal to nothing
        args[2 * i] = op?.type ?? null;
        args[2 * i + 1] = op?.key ?? null;
      }
      for (const i of this.h.st.heldOf.all(...args) as number[]) fresh[start + i] = 0;
    }
    return fresh;
  }

  /** A group's put that edits a held record, as put() does it; `tips` move past what it wrote. */
  private putMoving(tips: Tips, op: GroupPut, all: DrayerRecord[]): DrayerRecord | undefined {
    const ctx = this.beginWrite(tips);
    this.putIn(ctx, op.type, op.key, op.value, op.ts);
    let mine: DrayerRecord | undefined;
    for (const r of this.finishWrite(ctx, op.kp)) {
      all.push(r);
      if (r.id > tips.id) tips.id = r.id;
      if (r.mod > tips.mod) tips.mod = r.mod;
      if (r.type === op.type && r.key === op.key) mine = r;
    }
    tips.seq = ctx.nextSeq - 1;
    return mine;
  }

  /** `tips`: where the write before it in this transaction left them, when known (putGroup). */
  private beginWrite(tips?: Tips): WriteCtx {
    const t = tips ?? this.readTips();
    const idTip = t.id;
    const mTip = t.mod;
    // Seqs are taken from the last one at the start: rows this operation deletes cannot lend theirs.
    const floor = this.device ? Math.max(this.device.modFloor(), 0) : 0;
    return {
      idTip,
      mTip,
      nextId: Math.max(idTip + 1, this.device?.firstId ?? 0),
      nextMod: nextMod(Math.max(mTip, floor), nowMicros()),
      nextSeq: t.seq + 1,
      dirty: new Map(),
    };
  }

  /** The current state of a live record: the pending version if this operation touched it. */
  private current(ctx: WriteCtx, row: Row | undefined): UnsignedRecord | undefined {
    if (!row) return undefined;
    return ctx.dirty.get(row.id) ?? rowToRecord(row);
  }

  private finishWrite(ctx: WriteCtx, kp: KeyPair): DrayerRecord[] {
    const out: DrayerRecord[] = [];
    for (const r of ctx.dirty.values()) {
      const s = signRecord(r, kp);
      // An id above the tip is new (deleted rows are gone): nothing to replace.
      const stmt = s.id > ctx.idTip ? this.h.st.insert : this.h.st.upsert;
      stmt.run(ctx.nextSeq++, this.h.chain, s.id, s.type, s.key, s.val, s.hash, s.ts, s.mod, s.prev, s.prevch, s.sig);
      out.push(s);
    }
    return out;
  }

  /** Take a record out of the M chain: the record after it is patched to skip it. */
  private unlinkM(ctx: WriteCtx, r: UnsignedRecord): void {
    const succ = this.current(ctx, this.h.st.modAfter.get(this.h.chain, r.mod) as Row | undefined);
    if (succ && succ.id !== r.id) ctx.dirty.set(succ.id, { ...succ, prevch: r.prevch });
  }

  /** Take a record out of the ID chain: the record after it is patched to skip it. */
  private unlinkId(ctx: WriteCtx, r: UnsignedRecord): void {
    const succ = this.current(ctx, this.h.st.idAfter.get(this.h.chain, r.id) as Row | undefined);
    if (succ && succ.id !== r.id) ctx.dirty.set(succ.id, { ...succ, prev: r.prev });
  }

  /** The last guard of a private stream (DESIGN §8): a caller that forgot to seal (private-view.ts) never writes plaintext. */
  private guardPrivate(type: string, key: string): void {
    // (the marker is in the owner's chain: a device's chain of a private stream is sealed too)
    this.sealedOnly ??= rowByKey(this.device ? { ...this.h, chain: Buffer.from(this.h.publicKey) } : this.h, MARKER_TYPE, MARKER_KEY) !== undefined;
    if (this.sealedOnly && type !== SEALED_TYPE && !staysClear(type, key))
      throw new DrayerError(
        'NOT_WRITABLE',
        `${this.h.file} is a private stream: its records are sealed with its read key, and ${type}/${key} was not; nothing was written. This version seals posts, the stream's name and about, and (from the drayer command) files up to 1 MiB.`,
      );
    if (type === MARKER_TYPE && key === MARKER_KEY) this.sealedOnly = true;
  }

  private putIn(ctx: WriteCtx, type: string, key: string, value: Uint8Array, ts?: number): void {
    checkPut(type, key, value, ts);
    this.guardPrivate(type, key);
    const hash = blake2b256(value, slabBytes(32));
    const old = this.current(ctx, rowByKey(this.h, type, key));
    if (!old) {
      // A new record goes on both tips; nothing else changed yet in this operation.
      const r: UnsignedRecord = {
        id: ctx.nextId++,
        type,
        key,
        val: value,
        hash,
        ts: ts ?? nowMicros(),
        mod: ctx.nextMod++,
        prev: ctx.idTip,
        prevch: ctx.mTip,
        chain: this.h.chain,
      };
      ctx.dirty.set(r.id, r);
      return;
    }
    if (bytesEqual(old.hash, hash) && (ts === undefined || ts === old.ts)) return; // nothing changes
    // An edit moves the record to the front of the M chain; its old place is patched over.
    this.unlinkM(ctx, old);
    ctx.dirty.set(old.id, { ...old, val: value, hash, ts: ts ?? old.ts, mod: ctx.nextMod++, prevch: editedPrevch(old, ctx.mTip) });
  }

  private deleteIn(ctx: WriteCtx, type: string, key: string): boolean {
    if (type === 'drayer' && key === 'info') {
      throw new DrayerError('PROTECTED', 'The drayer/info record keeps a stream non-empty and cannot be deleted; edit it instead.');
    }
    if (this.device && type === 'drayer' && key === DEVICE_KEY) {
      throw new DrayerError('PROTECTED', "The drayer/device record keeps this device's chain non-empty and cannot be deleted; edit it instead.");
    }
    const { st, chain, file } = this.h;
    const x = this.current(ctx, rowByKey(this.h, type, key));
    if (!x) return false;
    const { idTip, mTip } = ctx;
    st.deleteId.run(chain, x.id);
    ctx.dirty.delete(x.id);
    this.unlinkId(ctx, x);
    this.unlinkM(ctx, x);
    if (x.id === idTip) {
      // The new ID tip is re-issued with the next id (and mod) so a fresh signature covers the gap.
      const q = this.current(ctx, st.byId.get(chain, x.prev) as Row | undefined);
      if (!q) throw new DrayerError('CORRUPT', `${file}: the ID chain is broken at record ${x.id} (no record ${x.prev}). Run drayer verify.`);
      st.deleteId.run(chain, q.id);
      ctx.dirty.delete(q.id);
      this.unlinkM(ctx, q); // q has no ID successor: it is the ID tip now
      const prev = (st.maxId.get(chain) as number | null) ?? 0;
      const prevch = this.maxModExcept(ctx, q.id);
      const r: UnsignedRecord = { ...q, id: ctx.nextId++, mod: ctx.nextMod++, prev, prevch };
      ctx.dirty.set(r.id, r);
    } else if (x.mod === mTip) {
      // The new M tip moves to the front (next mod) so a fresh signature covers the gap.
      const q = this.current(ctx, st.modAfter.get(chain, x.prevch - 1) as Row | undefined);
      if (!q || q.mod !== x.prevch) throw new DrayerError('CORRUPT', `${file}: the M chain is broken at record ${x.id}. Run drayer verify.`);
      ctx.dirty.set(q.id, { ...q, mod: ctx.nextMod++ });
    }
    return true;
  }

  /** Max mod among live records other than `id`, seeing pending changes (mods only change for `id`). */
  private maxModExcept(ctx: WriteCtx, id: number): number {
    const m = (this.h.st.maxMod.get(this.h.chain) as number | null) ?? 0;
    let best = m;
    for (const r of ctx.dirty.values()) if (r.id !== id && r.mod > best) best = r.mod;
    return best;
  }
}

/** Whether an error thrown during a put is that put's own (bad input, a constraint), not the store's. */
function isOnePutsFault(e: unknown): boolean {
  if (isDrayerError(e)) return (e as DrayerError).code === 'INVALID_ARGUMENT';
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return code.startsWith('SQLITE_CONSTRAINT');
  return true;
}

function checkPut(type: string, key: string, value: Uint8Array, ts: number | undefined): void {
  checkText(type, key);
  if (!(value instanceof Uint8Array)) throw new DrayerError('INVALID_ARGUMENT', 'A record value must be bytes.');
  if (value.length > LIMITS.valueBytes) {
    throw new DrayerError('INVALID_ARGUMENT', `A value may be at most ${LIMITS.valueBytes} bytes; store large data as a file (drayer add).`);
  }
  if (ts !== undefined && !Number.isSafeInteger(ts)) throw new DrayerError('INVALID_ARGUMENT', `A record's ts is a whole number of microseconds, not ${ts}.`);
}

function checkText(type: string, key: string): void {
  if (typeof type !== 'string' || typeof key !== 'string') throw new DrayerError('INVALID_ARGUMENT', 'A record type and key must be text.');
  if (!type || Buffer.byteLength(type) > LIMITS.typeBytes) throw new DrayerError('INVALID_ARGUMENT', `A record type must be 1–${LIMITS.typeBytes} bytes.`);
  if (Buffer.byteLength(key) > LIMITS.keyBytes) throw new DrayerError('INVALID_ARGUMENT', `A record key may be at most ${LIMITS.keyBytes} bytes.`);
}
