// Convergence of the two chains (DESIGN §3–§4), hammered with fast-check.
//
// A writer does random creates, edits and deletes (biased to hit the ID tip and the M tip, with
// long runs of deletes and atomic batches); several mirrors (full, minId, minMod, metadata-only,
// and one combining all three filters) pull random pages of each other's change feeds, each with
// its own cursor per source (cursor = page.seq, as real sync does), optionally asking the source
// to filter to the mirror's own range; old signed versions (everything the writer ever signed,
// including intermediate versions inside a batch) are replayed into random mirrors at random times.
// At the end every mirror drains a random other (possibly stale) mirror, then the writer, and must
// hold exactly the writer's live records restricted to its range (bit for bit: id, type, key, val,
// hash, ts, mod, prev, prevch, sig, chain; values null in metadata-only copies).
//
// On minMod mirrors (conclusion, checked here): a minMod mirror converges to exactly
//   { r live at the writer : r.mod >= minMod }   (with the writer's latest patch of each),
// i.e. by the record's *current* mod, not its creation time: an old record edited after minMod
// enters the range. This holds because every removal of a record from the M chain (edit, delete,
// tip move, ID-tip re-issue) is vouched for by a record with a larger mod — the M successor's patch
// or a re-issued tip — which is therefore in range too; the ID chain is not needed. It holds only if
// the mirror pulls every source with a filter no narrower than its own range (no filter, or
// minMod <= its own): a narrower filter advances the cursor past records it never sent. The same
// goes for minId (by id, using the ID chain) and for metadata-only mirrors (which may pull full or
// metadata-only feeds). A full mirror may pull a metadata-only feed: those records are rejected
// ("no value") and must come from elsewhere; that is allowed here and checked to be the only reason.
//
// The writer's chain upkeep is also checked against a TypeScript port of the Writer class of
// shared/model/chains.py: same live records, same ids, same prev, same order of mods, same
// prevch (up to that order), and the same set of records (re-)signed by each operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { type ChangesOptions, type PartialFilter, Stream } from '../app/store/store.js';
import type { DrayerRecord } from '../app/core/record.js';
import { lowerWindowTo, windowCursors, type CursorStore } from '../app/net/sync.js';
import { hex, tmpDir, utf8 } from './helpers.js';

// Hundreds of small stream files are created and closed here; on a disk each costs a few fsyncs
// (~50 ms on this VM), on tmpfs nothing. They are real SQLite files either way (tmpDir uses os.tmpdir()).
if (!process.env.TMPDIR && fs.existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

const RUNS = Number(process.env.DRAYER_FC_RUNS ?? 150);
const MODEL_RUNS = Number(process.env.DRAYER_FC_MODEL_RUNS ?? 100);
// Always an explicit seed, printed, so any failure (or a slow run) can be replayed with DRAYER_FC_SEED.
const SEED = process.env.DRAYER_FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DRAYER_FC_SEED);
console.log(`convergence tests: DRAYER_FC_SEED=${SEED}`);
const fcParams = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  includeErrorInReport: true,
  endOnFailure: process.env.DRAYER_FC_NO_SHRINK === '1', // for quick mutation checks
  // A failure found is still reported (partly shrunk) when time runs out; a slow machine just runs fewer cases.
  interruptAfterTimeLimit: 120_000,
  seed: SEED,
});

// ---------- helpers ----------

/** Every field of a record, values included ('-' for none): equality of these is bit-for-bit equality. */
function row(r: DrayerRecord): string {
  return [r.id, r.type, r.key, hex(r.hash), r.ts, r.mod, r.prev, r.prevch, hex(r.sig), hex(r.chain), r.val === null ? '-' : hex(r.val)].join('|');
}

function short(r: DrayerRecord): string {
  return `${r.id}:${r.type}/${r.key}@${r.mod}(prev ${r.prev}, prevch ${r.prevch})${r.val === null ? ' meta' : ''}`;
}

/** What a partial mirror keeps: its range, plus drayer/info always (store.ts inPartialRange). */
function inRange(r: DrayerRecord, f: PartialFilter): boolean {
  return (r.id >= (f.minId ?? 0) && r.mod >= (f.minMod ?? 0)) || (r.type === 'drayer' && r.key === 'info');
}

/** The writer's live records restricted to a mirror's range, as that mirror must hold them. */
function expected(w: Stream, f: PartialFilter): string[] {
  return [...w.iterate()]
    .filter((r) => inRange(r, f))
    .map((r) => row(f.metaOnly ? { ...r, val: null } : r))
    .sort();
}

function held(s: Stream): string[] {
  return [...s.iterate()].map(row).sort();
}

function assertSameSet(got: string[], want: string[], what: string): void {
  if (got.length === want.length && got.every((x, i) => x === want[i])) return;
  const g = new Set(got);
  const w = new Set(want);
  const brief = (x: string) => x.split('|').slice(0, 8).join('|');
  const extra = got.filter((x) => !w.has(x)).map(brief);
  const missing = want.filter((x) => !g.has(x)).map(brief);
  assert.fail(`${what}: ${got.length} held, ${want.length} expected\n  extra:   ${extra.join('\n           ')}\n  missing: ${missing.join('\n           ')}`);
}

/** Deterministic PRNG (xorshift32) for choices that need not shrink. */
function prng(seed: number) {
  let x = seed | 0 || 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)]!;
    },
    shuffle<T>(xs: readonly T[]): T[] {
      const a = [...xs];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    },
  };
}

// ---------- the writer's operations ----------

type Tip = 'id' | 'mod';
type WOp =
  | { t: 'create'; type: number; v: number }
  | { t: 'edit'; pick: number; v: number }
  | { t: 'editTip'; which: Tip; v: number }
  | { t: 'del'; pick: number }
  | { t: 'delTip'; which: Tip }
  | { t: 'delRun'; n: number; which: Tip | 'any'; pick: number };
type Op =
  | WOp
  | { t: 'batch'; ops: WOp[] }
  | { t: 'pull'; m: number; src: number; limit: number; filter: boolean }
  | { t: 'sync'; m: number; src: number }
  | { t: 'replay'; m: number; k: number; n: number };

const TYPES = ['post', 'file'];
const value = (v: number) => utf8(`v${v}`); // v is small, so some edits write the same value (no-ops)

const wopArb: fc.Arbitrary<WOp> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ t: fc.constant('create' as const), type: fc.nat({ max: 1 }), v: fc.nat({ max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('edit' as const), pick: fc.noBias(fc.nat()), v: fc.nat({ max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('editTip' as const), which: fc.constantFrom<Tip>('id', 'mod'), v: fc.nat({ max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), pick: fc.noBias(fc.nat()) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delTip' as const), which: fc.constantFrom<Tip>('id', 'mod') }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('delRun' as const),
      n: fc.integer({ min: 2, max: 6 }),
      which: fc.constantFrom<Tip | 'any'>('id', 'mod', 'any'),
      pick: fc.noBias(fc.nat()),
    }),
  },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: wopArb },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('batch' as const), ops: fc.array(wopArb, { minLength: 1, maxLength: 5 }) }) },
  {
    weight: 12,
    arbitrary: fc.record({ t: fc.constant('pull' as const), m: fc.nat(), src: fc.nat(), limit: fc.integer({ min: 1, max: 5 }), filter: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('sync' as const), m: fc.nat(), src: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replay' as const), m: fc.nat(), k: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }) },
);

interface WriterLike {
  put(type: string, key: string, value: Uint8Array): unknown;
  delete(type: string, key: string): boolean;
}

/** Run one writer op against the live set `lv` (read from `w`), through `out` (the stream or a batch). */
function runWOp(w: Stream, out: WriterLike, op: WOp, counter: { keys: number }): void {
  const lv = [...w.iterate()];
  const posts = lv.filter((r) => !(r.type === 'drayer' && r.key === 'info'));
  const idTip = () => [...w.iterate()].reduce((a, b) => (b.id > a.id ? b : a));
  const mTip = () => [...w.iterate()].reduce((a, b) => (b.mod > a.mod ? b : a));
  const tip = (which: Tip) => (which === 'id' ? idTip() : mTip());
  const edit = (r: DrayerRecord, v: number) => out.put(r.type, r.key, r.type === 'drayer' ? encode({ name: `stream ${v}` }) : value(v));
  const del = (r: DrayerRecord | undefined) => {
    if (!r || (r.type === 'drayer' && r.key === 'info')) return; // the info record is never deleted
    assert.equal(out.delete(r.type, r.key), true);
  };
  switch (op.t) {
    case 'create':
      out.put(TYPES[op.type]!, `k${++counter.keys}`, value(op.v));
      break;
    case 'edit':
      if (posts.length) edit(posts[op.pick % posts.length]!, op.v);
      break;
    case 'editTip':
      edit(tip(op.which), op.v);
      break;
    case 'del':
      if (posts.length) del(posts[op.pick % posts.length]);
      break;
    case 'delTip':
      del(tip(op.which));
      break;
    case 'delRun':
      for (let i = 0; i < op.n; i++) {
        const ps = [...w.iterate()].filter((r) => !(r.type === 'drayer' && r.key === 'info'));
        if (!ps.length) break;
        del(op.which === 'any' ? ps[(op.pick + i) % ps.length] : tip(op.which));
      }
      break;
  }
}

// ---------- the nodes ----------

interface Node {
  name: string;
  s: Stream;
  f: PartialFilter;
  cursors: Map<string, number>;
}

interface Counts {
  pulls: number;
  stored: number;
  removed: number;
  rejected: number;
  replays: number;
  replayStored: number;
  runs: number;
  writerOps: number;
  mirrorsChecked: number;
}
const counts: Counts = { pulls: 0, stored: 0, removed: 0, rejected: 0, replays: 0, replayStored: 0, runs: 0, writerOps: 0, mirrorsChecked: 0 };

const NORMAL = /^(stale|already held|deleted)/;

/** One page from `src`'s feed into `m`, as real sync does it. Returns whether the source has more. */
function pull(m: Node, src: Node, limit: number, filter: boolean): boolean {
  const since = m.cursors.get(src.name) ?? 0;
  const opts: ChangesOptions = { limit };
  if (filter) {
    if (m.f.minId) opts.minId = m.f.minId;
    if (m.f.minMod) opts.minMod = m.f.minMod;
    if (m.f.metaOnly) opts.metaOnly = true;
  }
  const page = src.s.changesSince(since, opts);
  assert.ok(page.seq >= since, 'the cursor never goes back');
  const res = m.s.apply(page.records);
  for (const x of res.rejected) {
    const ok = NORMAL.test(x.reason) || (x.record.val === null && !m.f.metaOnly && /no value/.test(x.reason));
    assert.ok(ok, `${m.name} <- ${src.name}: unexpected rejection of ${short(x.record)}: ${x.reason}`);
  }
  counts.pulls++;
  counts.stored += res.stored.length;
  counts.removed += res.removed.length;
  counts.rejected += res.rejected.length;
  m.cursors.set(src.name, page.seq);
  return page.more;
}

function drain(m: Node, src: Node, rnd: ReturnType<typeof prng>): void {
  let guard = 0;
  while (pull(m, src, 1 + rnd.int(7), rnd.next() < 0.5)) assert.ok(++guard < 100_000, 'drain never ends');
}

function checkMirror(m: Node, w: Stream, what: string): void {
  assertSameSet(held(m.s), expected(w, m.f), `${what}: ${m.name} ${JSON.stringify(m.f)}`);
  const v = m.s.verify();
  if (v.records > 0) assert.deepEqual(v.problems, [], `${what}: ${m.name} verify`);
  if (m.f.metaOnly) assert.equal(v.metaOnly, v.records, `${what}: ${m.name} keeps no values`);
  else assert.equal(v.metaOnly, 0, `${what}: ${m.name} has every value`);
  counts.mirrorsChecked++;
}

let runNo = 0;

/** A uniform fraction in [0, 1) (fast-check's own numbers lean to the edges; these must not). */
const fraction = fc.noBias(fc.integer({ min: 0, max: 9999 })).map((n) => n / 10_000);

/** minIdPick, minModAt (when, in the run), minModPick: fractions in [0, 1); seed drives the final phase. */
interface RunInput {
  ops: Op[];
  minIdPick: number;
  minModAt: number;
  minModPick: number;
  seed: number;
}

function convergenceRun(dir: string, input: RunInput): void {
  const run = ++runNo;
  counts.runs++;
  const rnd = prng(input.seed);
  const file = (n: string) => path.join(dir, `r${run}-${n}.stream`);
  const w = Stream.create(file('w'));
  const writer: Node = { name: 'writer', s: w, f: {}, cursors: new Map() };
  const mk = (name: string, f: PartialFilter): Node => ({ name, f, cursors: new Map(), s: Stream.create(file(name), { followKey: w.publicKey, ...f }) });
  // minId somewhere among the ids this history will issue (about one per writer op at most).
  const writerOps = input.ops.reduce((n, o) => n + (o.t === 'batch' ? o.ops.length : o.t === 'pull' || o.t === 'sync' || o.t === 'replay' ? 0 : 1), 0);
  const minId = 2 + Math.floor(input.minIdPick * Math.max(1, writerOps / 2));
  const nodes: Node[] = [mk('full1', {}), mk('full2', {}), mk('late', {}), mk('minId', { minId }), mk('meta', { metaOnly: true })];
  // Partial mirrors are picked twice as often: their convergence hangs on fewer records.
  const target = (i: number) => {
    const pool = [...nodes, ...nodes.filter((n) => n.f.minId || n.f.minMod)];
    return pool[i % pool.length]!;
  };
  const minModStep = Math.floor(input.minModAt * input.ops.length);
  const counter = { keys: 0 };
  const archive = new Map<string, DrayerRecord>(); // every version the writer ever signed, by signature
  let archived = 0;
  const archiveFeed = () => {
    for (;;) {
      const p = w.changesSince(archived, { limit: 1000 });
      for (const r of p.records) archive.set(hex(r.sig), r);
      archived = p.seq;
      if (!p.more) break;
    }
  };
  archiveFeed();
  const addMinMod = () => {
    const lv = [...w.iterate()].sort((a, b) => a.mod - b.mod);
    const minMod = lv[Math.floor(input.minModPick * lv.length)]!.mod;
    // minId and minMod together are refused by Stream.create: in their intersection a deleted
    // record can have both covering records out of range, so a replayed ghost could not be refuted.
    nodes.push(mk('minMod', { minMod }), mk('combo', { minMod, metaOnly: true }));
  };
  try {
    input.ops.forEach((op, step) => {
      if (step === minModStep) addMinMod();
      switch (op.t) {
        case 'pull': {
          const all = [writer, ...nodes];
          const m = target(op.m);
          const src = all[op.src % all.length]!;
          if (src !== m) pull(m, src, op.limit, op.filter);
          break;
        }
        case 'sync': {
          const all = [writer, ...nodes];
          const m = target(op.m);
          const src = all[op.src % all.length]!;
          if (src !== m) drain(m, src, rnd);
          break;
        }
        case 'replay': {
          const vs = [...archive.values()];
          const m = target(op.m);
          const batch = Array.from({ length: op.n }, (_, i) => vs[(op.k + i * 7) % vs.length]!);
          const res = m.s.apply(m.f.metaOnly ? batch.map((r) => ({ ...r, val: null })) : batch);
          for (const x of res.rejected) assert.match(x.reason, NORMAL, `replay into ${m.name}: ${short(x.record)}`);
          counts.replays += batch.length;
          counts.replayStored += res.stored.length;
          break;
        }
        case 'batch': {
          const written = w.batch((b) => {
            for (const o of op.ops) runWOp(w, b, o, counter);
          });
          for (const r of written) archive.set(hex(r.sig), r); // intermediate versions too
          counts.writerOps += op.ops.length;
          archiveFeed();
          break;
        }
        default:
          runWOp(w, w, op, counter);
          counts.writerOps++;
          archiveFeed();
      }
    });

    assert.deepEqual(w.verify().problems, [], 'the writer verifies intact');
    assertPerfectChains(w);

    // Final phase: each mirror (but `late`) drains a random other, possibly stale, mirror, then the writer.
    const late = nodes.find((n) => n.name === 'late')!;
    const finals = rnd.shuffle(nodes.filter((n) => n !== late));
    for (const m of finals) {
      drain(m, rnd.pick(nodes.filter((n) => n !== m)), rnd);
      drain(m, writer, rnd);
      checkMirror(m, w, 'after draining the writer');
    }
    for (const m of finals) checkMirror(m, w, 'at the end');

    // No ghost comes back: every version the writer ever signed, replayed now, changes nothing.
    for (const m of finals) {
      const before = m.s.lastSeq();
      const vs = rnd.shuffle([...archive.values()]).map((r) => (m.f.metaOnly ? { ...r, val: null } : r));
      const res = m.s.apply(vs);
      assert.deepEqual(res.stored.map(short), [], `replaying history into ${m.name} stores nothing`);
      assert.deepEqual(res.removed, [], `replaying history into ${m.name} removes nothing`);
      for (const x of res.rejected) assert.match(x.reason, NORMAL);
      assert.equal(res.stored.length + res.rejected.length + res.skipped, vs.length);
      assert.equal(m.s.lastSeq(), before, 'the change feed did not move');
      checkMirror(m, w, 'after replaying history');
    }

    // A stale mirror, and fresh ones of every kind, that pull only from up-to-date mirrors (not the writer).
    const fresh = [
      late,
      mk('fresh-full', {}),
      mk('fresh-minId', { minId }),
      mk('fresh-meta', { metaOnly: true }),
      mk('fresh-combo', nodes.find((n) => n.name === 'combo')!.f),
    ];
    for (const m of fresh) {
      // A source can serve m only if its range covers m's, and it has values if m keeps them.
      const covers = (s: Node) => (s.f.minId ?? 0) <= (m.f.minId ?? 0) && (s.f.minMod ?? 0) <= (m.f.minMod ?? 0) && (!s.f.metaOnly || !!m.f.metaOnly);
      const src = rnd.pick(finals.filter(covers));
      drain(m, src, rnd);
      checkMirror(m, w, `after draining up-to-date ${src.name}`);
    }
    for (const n of fresh) if (!nodes.includes(n)) n.s.close();
  } finally {
    for (const n of [writer, ...nodes]) n.s.close();
  }
}

/** Both chains perfect; the tips hold the largest id and mod ever issued (checked via the feed). */
function assertPerfectChains(w: Stream): void {
  const lv = [...w.iterate()];
  const byId = [...lv].sort((a, b) => a.id - b.id);
  const byMod = [...lv].sort((a, b) => a.mod - b.mod);
  byId.forEach((r, i) => {
    assert.equal(r.prev, i ? byId[i - 1]!.id : 0, `ID chain at ${short(r)}`);
    if (i) assert.ok(r.id > byId[i - 1]!.id);
  });
  byMod.forEach((r, i) => {
    assert.equal(r.prevch, i ? byMod[i - 1]!.mod : 0, `M chain at ${short(r)}`);
    if (i) assert.ok(r.mod > byMod[i - 1]!.mod, 'mods are unique');
  });
  const types = new Set(lv.map((r) => `${r.type}\u0000${r.key}`));
  assert.equal(types.size, lv.length, 'keys are unique per type');
  assert.ok(w.get('drayer', 'info'), 'drayer/info is live');
}

test(`convergence: random writer histories, random partial syncs among mirrors of every kind (fast-check, ${RUNS} runs)`, () => {
  const dir = tmpDir();
  const t0 = Date.now();
  fc.assert(
    fc.property(
      fc.record({
        ops: fc.array(opArb, { minLength: 5, maxLength: 150, size: 'medium' }),
        minIdPick: fraction,
        minModAt: fraction,
        minModPick: fraction,
        seed: fc.noShrink(fc.integer()),
      }),
      (input) => convergenceRun(dir, input),
    ),
    fcParams(RUNS),
  );
  console.log(`# convergence: ${JSON.stringify(counts)} in ${Date.now() - t0} ms`);
});

// ---------- "latest N" windows ----------
//
// A latest-N copy holds the N newest live records by id (drayer/info beside them). Deletes leave
// holes in the ids, so its window start moves down as well as up: before each pull it asks its
// source where the N newest start (Stream.windowStart, answered only by a copy that can vouch for
// it), reaches down there if needed (lowerWindowTo, Stream.lowerWindow: every cursor of the copy
// starts over, windowCursors), and after a pull that drained its source trims to N again
// (Stream.keepLatest). Here those steps run as sync.ts pull() runs them, without HTTP; pulls stop
// part way at random (a window is trimmed only after a drain, as in pull()). At the end each
// window copy drains a random other copy, then the writer, and must hold exactly the writer's N
// newest live records and drayer/info, bit for bit; fresh ones cloned from up-to-date copies too.

type LOp = WOp | { t: 'batch'; ops: WOp[] } | { t: 'sync'; m: number; src: number; limit: number; stopAfter: number };

const lopArb: fc.Arbitrary<LOp> = fc.oneof(
  { weight: 10, arbitrary: wopArb },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('batch' as const), ops: fc.array(wopArb, { minLength: 1, maxLength: 5 }) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('sync' as const),
      m: fc.nat(),
      src: fc.nat(),
      limit: fc.integer({ min: 1, max: 6 }),
      stopAfter: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
    }),
  },
);

interface LNode {
  name: string;
  s: Stream;
  /** the copy's cursors, as a CursorStore keeps them (the node id it was taken from, and the seq) */
  cursors: Map<string, { node: string; seq: number }>;
}

const lcounts = { runs: 0, syncs: 0, lowered: 0, trimmed: 0, stored: 0, removed: 0, interrupted: 0 };

function cursorStore(m: LNode): CursorStore {
  return {
    getCursor: (peer, _pk, node) => (m.cursors.get(peer)?.node === node ? m.cursors.get(peer)!.seq : 0),
    setCursor: (peer, _pk, node, seq) => void m.cursors.set(peer, { node, seq }),
    lastNodeId: (peer) => m.cursors.get(peer)?.node,
  };
}

/**
 * One pull of `src` into `m`, as sync.ts pull() does it (openWindow, pages with the copy's filter,
 * keepLatest after a drain). Answers whether it drained the source.
 */
function windowPull(m: LNode, src: LNode, limit: number, stopAfter: number): boolean {
  lcounts.syncs++;
  const latest = m.s.latest;
  if (latest && (m.s.partial.minId ?? 0) > 1) {
    const to = lowerWindowTo(m.s, { id: src.s.idTip(), mod: src.s.mtip(), start: src.s.windowStart(latest) });
    if (to !== undefined && m.s.lowerWindow(to)) lcounts.lowered++;
  }
  const cursors = windowCursors(m.s, cursorStore(m));
  const filter = m.s.partial;
  const last = cursors.lastNodeId!(src.name, '');
  let since = last === src.s.nodeId ? cursors.getCursor(src.name, '', last) : 0;
  for (let pages = 1; ; pages++) {
    const page = src.s.changesSince(since, { limit, minId: filter.minId, metaOnly: filter.metaOnly });
    const res = m.s.apply(page.records);
    for (const x of res.rejected) assert.match(x.reason, NORMAL, `${m.name} <- ${src.name}: ${short(x.record)}`);
    lcounts.stored += res.stored.length;
    lcounts.removed += res.removed.length;
    since = page.seq;
    cursors.setCursor(src.name, '', src.s.nodeId, since);
    if (!page.more) break;
    if (stopAfter && pages >= stopAfter) {
      lcounts.interrupted++;
      return false;
    }
  }
  const gone = m.s.keepLatest();
  if (gone.length) lcounts.trimmed++;
  return true;
}

/** The writer's N newest live records (drayer/info aside) and drayer/info, as a latest-N copy must hold them. */
function expectedWindow(w: Stream, latest: number, metaOnly: boolean): string[] {
  const isInfo = (r: DrayerRecord) => r.type === 'drayer' && r.key === 'info';
  const lv = [...w.iterate()];
  const top = lv
    .filter((r) => !isInfo(r))
    .sort((a, b) => b.id - a.id)
    .slice(0, latest);
  return [...top, ...lv.filter(isInfo)].map((r) => row(metaOnly ? { ...r, val: null } : r)).sort();
}

interface LatestInput {
  ops: LOp[];
  n: number;
  extra: number;
  seed: number;
}

function latestRun(dir: string, input: LatestInput): void {
  const run = ++runNo;
  lcounts.runs++;
  const rnd = prng(input.seed);
  const file = (x: string) => path.join(dir, `l${run}-${x}.stream`);
  const w = Stream.create(file('w'));
  const node = (name: string, s: Stream): LNode => ({ name, s, cursors: new Map() });
  const writer = node('writer', w);
  // A new window copy starts where its source says the N newest start, as clone does (sync.ts latestWindowStart).
  const windowCopy = (name: string, latest: number, metaOnly: boolean, from: LNode) =>
    node(name, Stream.create(file(name), { followKey: w.publicKey, latest, metaOnly, minId: Math.max(1, from.s.windowStart(latest) ?? 1) }));
  const full = node('full', Stream.create(file('full'), { followKey: w.publicKey }));
  const win = windowCopy('win', input.n, false, writer);
  const wide = windowCopy('wide', input.n + input.extra, false, writer);
  const winMeta = windowCopy('winMeta', input.n, true, writer);
  const nodes = [full, win, wide, winMeta];
  const windows = [win, wide, winMeta];
  const sources = (m: LNode) => [writer, ...nodes].filter((x) => x !== m && (m.s.partial.metaOnly || !x.s.partial.metaOnly));
  const counter = { keys: 0 };
  const archive = new Map<string, DrayerRecord>();
  let archived = 0;
  const archiveFeed = () => {
    for (let p = w.changesSince(archived, { limit: 1000 }); ; p = w.changesSince(archived, { limit: 1000 })) {
      for (const r of p.records) archive.set(hex(r.sig), r);
      archived = p.seq;
      if (!p.more) break;
    }
  };
  const check = (m: LNode, what: string) => {
    assertSameSet(
      held(m.s),
      expectedWindow(w, m.s.latest, m.s.partial.metaOnly ?? false),
      `${what}: ${m.name} (latest ${m.s.latest}, minId ${m.s.partial.minId})`,
    );
    assert.deepEqual(m.s.verify().problems, [], `${what}: ${m.name} verify`);
  };
  try {
    for (const op of input.ops) {
      if (op.t === 'sync') {
        const m = nodes[op.m % nodes.length]!;
        const from = sources(m);
        const src = from[op.src % from.length]!;
        // Whatever it pulled before, from whom, and however far: one drain of the writer makes a window exact.
        if (windowPull(m, src, op.limit, op.stopAfter) && src === writer && m.s.latest) check(m, 'after a sync with the writer');
      } else if (op.t === 'batch') {
        for (const r of w.batch((b) => op.ops.forEach((o) => runWOp(w, b, o, counter)))) archive.set(hex(r.sig), r);
        archiveFeed();
      } else {
        runWOp(w, w, op, counter);
        archiveFeed();
      }
    }
    // Every window copy drains a random other copy, then the writer.
    for (const m of rnd.shuffle(windows)) {
      windowPull(m, rnd.pick(sources(m)), 1 + rnd.int(6), 0);
      windowPull(m, writer, 1 + rnd.int(6), 0);
      check(m, 'after draining the writer');
    }
    windowPull(full, writer, 50, 0);
    for (const m of windows) check(m, 'at the end');
    // No ghost comes back: all the writer ever signed, replayed, changes nothing.
    for (const m of windows) {
      const res = m.s.apply(rnd.shuffle([...archive.values()]).map((r) => (m.s.partial.metaOnly ? { ...r, val: null } : r)));
      assert.deepEqual(res.stored.map(short), [], `replaying history into ${m.name}`);
      check(m, 'after replaying history');
    }
    // Fresh window copies cloned from up-to-date copies (a full mirror, a wider window) only.
    for (const from of [full, wide]) {
      for (const metaOnly of [false, true]) {
        const f = windowCopy(`fresh-${from.name}-${metaOnly}`, input.n, metaOnly, from);
        windowPull(f, from, 1 + rnd.int(6), 0);
        check(f, `cloned from ${from.name}`);
        f.s.close();
      }
    }
  } finally {
    for (const x of [writer, ...nodes]) x.s.close();
  }
}

test(`latest-N windows hold the N newest live records through random deletes, partial pulls and stale sources (fast-check, ${RUNS} runs)`, () => {
  const dir = tmpDir();
  const t0 = Date.now();
  fc.assert(
    fc.property(
      fc.record({
        ops: fc.array(lopArb, { minLength: 5, maxLength: 120, size: 'medium' }),
        n: fc.integer({ min: 1, max: 6 }),
        extra: fc.integer({ min: 0, max: 4 }),
        seed: fc.noShrink(fc.integer()),
      }),
      (input) => latestRun(dir, input),
    ),
    fcParams(RUNS),
  );
  console.log(`# latest windows: ${JSON.stringify(lcounts)} in ${Date.now() - t0} ms`);
  assert.ok(
    lcounts.lowered > 0 && lcounts.trimmed > 0 && lcounts.interrupted > 0,
    `the windows moved both ways, and pulls stopped part way: ${JSON.stringify(lcounts)}`,
  );
});

// ---------- the writer against the Python model (shared/model/chains.py, class Writer) ----------

interface MRec {
  id: number;
  key: string;
  val: string;
  mod: number;
  prev: number;
  prevch: number;
  dirty?: boolean;
}

/** A line-by-line port of chains.py's Writer (plus: an edit to the same value changes nothing, as in store.ts). */
class ModelWriter {
  live = new Map<number, MRec>();
  nextId = 1;
  nextMod = 1;
  byKey = new Map<string, number>();
  emitted = new Set<number>();
  constructor(infoVal: string) {
    this.put('drayer\u0000info', infoVal);
  }
  private tips(exclude: number[] = []): [number, number] {
    let i = 0;
    let m = 0;
    for (const r of this.live.values())
      if (!exclude.includes(r.id)) {
        i = Math.max(i, r.id);
        m = Math.max(m, r.mod);
      }
    return [i, m];
  }
  private relink(): void {
    const xs = [...this.live.values()].sort((a, b) => a.id - b.id);
    xs.forEach((b, i) => {
      const want = i ? xs[i - 1]!.id : 0;
      if (b.prev !== want) {
        b.prev = want;
        b.dirty = true;
      }
    });
    const ys = [...this.live.values()].sort((a, b) => a.mod - b.mod);
    ys.forEach((b, i) => {
      const want = i ? ys[i - 1]!.mod : 0;
      if (b.prevch !== want) {
        b.prevch = want;
        b.dirty = true;
      }
    });
    for (const r of this.live.values())
      if (r.dirty) {
        delete r.dirty;
        this.emitted.add(r.id);
      }
  }
  put(key: string, val: string): void {
    const id = this.byKey.get(key);
    if (id !== undefined) {
      const r = this.live.get(id)!;
      if (r.val === val) return;
      const [, mtip] = this.tips([r.id]);
      Object.assign(r, { val, mod: this.nextMod++, prevch: mtip });
      this.emitted.add(r.id);
      this.relink();
    } else {
      const [idtip, mtip] = this.tips();
      const r: MRec = { id: this.nextId++, key, val, mod: this.nextMod++, prev: idtip, prevch: mtip };
      this.live.set(r.id, r);
      this.byKey.set(key, r.id);
      this.emitted.add(r.id);
    }
  }
  delete(key: string): void {
    const rid = this.byKey.get(key)!;
    this.byKey.delete(key);
    const x = this.live.get(rid)!;
    this.live.delete(rid);
    const [idtip, mtip] = this.tips();
    if (x.mod > mtip || x.id > idtip) {
      let q: MRec;
      if (x.id > idtip) {
        const old = this.live.get(idtip)!;
        this.live.delete(idtip);
        this.byKey.delete(old.key);
        const [i2, m2] = this.tips();
        q = { id: this.nextId++, key: old.key, val: old.val, mod: this.nextMod++, prev: i2, prevch: m2 };
      } else {
        q = [...this.live.values()].find((r) => r.mod === mtip)!;
        const [, m2] = this.tips([q.id]);
        Object.assign(q, { mod: this.nextMod++, prevch: m2 });
      }
      this.live.set(q.id, q);
      this.byKey.set(q.key, q.id);
      this.emitted.add(q.id);
    }
    this.relink();
  }
}

test(`the writer's chain upkeep matches the Python model (fast-check, ${MODEL_RUNS} runs)`, () => {
  const dir = tmpDir();
  let ops = 0;
  let run = 0;
  const t0 = Date.now();
  fc.assert(
    fc.property(fc.array(wopArb, { minLength: 1, maxLength: 80, size: 'medium' }), (wops) => {
      const w = Stream.create(path.join(dir, `model${++run}.stream`));
      try {
        const k = (r: { type: string; key: string }) => `${r.type}\u0000${r.key}`;
        const model = new ModelWriter(hex(w.get('drayer', 'info')!.val!));
        const counter = { keys: 0 };
        let seq = w.lastSeq();
        let maxId = 1;
        let maxMod = w.get('drayer', 'info')!.mod;
        wops.forEach((op, step) => {
          // Apply the op to the real writer through a recorder, then the same put/delete calls to the model.
          const calls: [string, string, string?][] = [];
          runWOp(
            w,
            {
              put: (type, key, v) => {
                calls.push(['put', `${type}\u0000${key}`, hex(v)]);
                return w.put(type, key, v);
              },
              delete: (type, key) => {
                calls.push(['del', `${type}\u0000${key}`]);
                return w.delete(type, key);
              },
            },
            op,
            counter,
          );
          model.emitted.clear();
          for (const [c, key, v] of calls) c === 'put' ? model.put(key, v!) : model.delete(key);
          ops++;
          const at = `step ${step} (${JSON.stringify(op)})`;
          assertPerfectChains(w);
          const lv = [...w.iterate()];
          // Same records with the same ids, values and prev.
          const real = lv.map((r) => `${r.id} ${k(r)}=${hex(r.val!)} prev ${r.prev}`).sort();
          const want = [...model.live.values()].map((r) => `${r.id} ${r.key}=${r.val} prev ${r.prev}`).sort();
          assert.deepEqual(real, want, `${at}: live records`);
          // Same order of mods, and prevch pointing at the same record.
          const realOrder = [...lv].sort((a, b) => a.mod - b.mod).map((r) => r.id);
          const modelOrder = [...model.live.values()].sort((a, b) => a.mod - b.mod).map((r) => r.id);
          assert.deepEqual(realOrder, modelOrder, `${at}: M chain order`);
          const realModOf = new Map(lv.map((r) => [r.id, r.mod]));
          const modelIdOfMod = new Map([...model.live.values()].map((r) => [r.mod, r.id]));
          for (const r of model.live.values()) {
            const want = r.prevch === 0 ? 0 : realModOf.get(modelIdOfMod.get(r.prevch)!);
            assert.equal(w.getById(r.id)!.prevch, want, `${at}: prevch of ${r.id}`);
          }
          // The same records were (re-)signed by this operation: no more, no fewer.
          const page = w.changesSince(seq, { limit: 10_000 });
          seq = page.seq;
          // (A step may be several deletes: a record re-issued then deleted again in the same step shows in neither.)
          const emitted = [...model.emitted].filter((id) => model.live.has(id)).sort((a, b) => a - b);
          assert.deepEqual(
            page.records.map((r) => r.id).sort((a, b) => a - b),
            emitted,
            `${at}: records re-signed`,
          );
          // New ids and mods are above every one ever issued: the tips hold them.
          for (const r of page.records) {
            if (r.id > maxId) maxId = r.id;
            if (r.mod > maxMod) maxMod = r.mod;
          }
          assert.equal(Math.max(...lv.map((r) => r.id)), maxId, `${at}: the ID tip holds the largest id ever issued`);
          assert.equal(Math.max(...lv.map((r) => r.mod)), maxMod, `${at}: the M tip holds the largest mod ever issued`);
        });
        assert.deepEqual(w.verify().problems, []);
      } finally {
        w.close();
      }
    }),
    fcParams(MODEL_RUNS),
  );
  console.log(`# model: ${MODEL_RUNS} runs, ${ops} writer ops in ${Date.now() - t0} ms`);
});
