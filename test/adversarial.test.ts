// Hostile input to a mirror's apply() (DESIGN §2–§3): tampered values and fields, forgeries,
// records of other chains, malformed shapes, stale versions, records inside known gaps, replays
// from stale mirrors, metadata-only copies, duplicates. Each test builds an honest writer and a
// mirror that drained it, feeds the hostile input, and asserts exactly: nothing stored, nothing
// removed, every record rejected (or, where the design says so, accepted), the mirror's records and
// change feed unchanged, and after a normal drain the mirror still equals the writer bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { type ApplyOptions, type ApplyResult, type PartialFilter, Stream } from '../app/store/store.js';
import { type DrayerRecord, signRecord, type UnsignedRecord } from '../app/core/record.js';
import { blake2b256, generateKeyPair, type KeyPair } from '../app/core/crypto.js';
import { hex, tmpDir, utf8 } from './helpers.js';

// Many small stream files: tmpfs where there is one (they are real SQLite files either way).
if (!process.env.TMPDIR && fs.existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

const dir = tmpDir();
let fileNo = 0;
const newFile = (name: string) => path.join(dir, `${++fileNo}-${name}.stream`);

function row(r: DrayerRecord): string {
  return [r.id, r.type, r.key, hex(r.hash), r.ts, r.mod, r.prev, r.prevch, hex(r.sig), hex(r.chain), r.val === null ? '-' : hex(r.val)].join('|');
}
const held = (s: Stream) => [...s.iterate()].map(row).sort();
function expected(w: Stream, f: PartialFilter = {}): string[] {
  return (
    [...w.iterate()]
      // a partial copy keeps its range and drayer/info, always
      .filter((r) => (r.id >= (f.minId ?? 0) && r.mod >= (f.minMod ?? 0)) || (r.type === 'drayer' && r.key === 'info'))
      .map((r) => row(f.metaOnly ? { ...r, val: null } : r))
      .sort()
  );
}

interface Mirror {
  s: Stream;
  f: PartialFilter;
  cursor: number;
}

function mirrorOf(w: Stream, f: PartialFilter = {}): Mirror {
  return { s: Stream.create(newFile('m'), { followKey: w.publicKey, ...f }), f, cursor: 0 };
}

/** A normal sync: drain the writer's feed from the mirror's cursor, in small pages; only benign rejections. */
function drain(m: Mirror, w: Stream): void {
  for (;;) {
    const page = w.changesSince(m.cursor, { limit: 3, minId: m.f.minId, minMod: m.f.minMod, metaOnly: m.f.metaOnly });
    const res = m.s.apply(page.records);
    for (const x of res.rejected) assert.match(x.reason, /^(stale|already held|deleted)/);
    m.cursor = page.seq;
    if (!page.more) return;
  }
}

function assertConverged(m: Mirror, w: Stream): void {
  assert.deepEqual(held(m.s), expected(w, m.f));
  const v = m.s.verify();
  if (v.records) assert.deepEqual(v.problems, []);
}

let hostileTotal = 0;

/** Feed hostile records: every one rejected with a reason matching `why`; nothing stored, removed or re-sequenced. */
function expectRejected(m: Mirror, recs: DrayerRecord[], why: RegExp, opts?: ApplyOptions): ApplyResult {
  const before = held(m.s);
  const seq = m.s.lastSeq();
  let res!: ApplyResult;
  assert.doesNotThrow(() => {
    res = m.s.apply(recs, opts);
  });
  assert.deepEqual(res.stored, [], 'nothing stored');
  assert.deepEqual(res.removed, [], 'nothing removed');
  assert.equal(res.skipped, 0);
  assert.equal(res.rejected.length, recs.length, 'every record rejected');
  res.rejected.forEach((x, i) => {
    assert.equal(hex(x.record.sig ?? new Uint8Array(0)), hex(recs[i]!.sig ?? new Uint8Array(0)), 'rejections come in order');
    assert.match(x.reason, why, `record ${i}`);
  });
  assert.deepEqual(held(m.s), before, 'the mirror holds what it held');
  assert.equal(m.s.lastSeq(), seq, 'the change feed did not move');
  hostileTotal += recs.length;
  return res;
}

interface Honest {
  kp: KeyPair;
  w: Stream;
  m: Mirror;
  /** every version the writer ever signed, by signature */
  history: Map<string, DrayerRecord>;
  /** writer versions before the edits and deletes */
  early: Map<string, DrayerRecord>;
}

/** A writer with edits and deletes of both tips behind it, and a full mirror that drained it. */
function honest(): Honest {
  const kp = generateKeyPair();
  const w = Stream.create(newFile('w'), { keyPair: kp });
  const history = new Map<string, DrayerRecord>();
  let seen = 0;
  const record = () => {
    const p = w.changesSince(seen, { limit: 10_000 });
    for (const r of p.records) history.set(hex(r.sig), r);
    seen = p.seq;
  };
  for (let i = 0; i < 12; i++) w.put('post', `k${i}`, utf8(`v${i}`));
  record();
  const early = new Map([...w.iterate()].map((r) => [r.key, r]));
  w.put('post', 'k3', utf8('e3'));
  record(); // an edit: k3 leaves its place in the M chain
  w.delete('post', 'k7');
  record(); // in the middle of both chains
  w.delete('post', 'k11');
  record(); // the ID tip: k10 is re-issued with a new id (and mod)
  w.put('post', 'k5', utf8('e5'));
  record();
  w.delete('post', 'k5');
  record(); // the M tip: k10 moves to the front again
  w.put('post', 'k12', utf8('v12'));
  record();
  assert.deepEqual(w.verify().problems, []);
  const m = mirrorOf(w);
  drain(m, w);
  assertConverged(m, w);
  return { kp, w, m, history, early };
}

const honestRecord = (h: Honest, key: string) => h.w.get('post', key)!;

/** Re-sign with the stream's own key: proves a check does not rely on the signature failing. */
function resign(r: DrayerRecord, kp: KeyPair): DrayerRecord {
  const { sig: _sig, ...u } = r;
  return signRecord(u as UnsignedRecord, kp);
}

test('tampered values and fields with the original signature are rejected', () => {
  const h = honest();
  const r = honestRecord(h, 'k4');
  const m8 = honestRecord(h, 'k8');
  expectRejected(
    h.m,
    [
      { ...r, val: utf8('evil') },
      { ...r, val: new Uint8Array(0) },
    ],
    /does not match its hash/,
  );
  const evilVal = utf8('evil');
  const tampered: DrayerRecord[] = [
    { ...r, val: evilVal, hash: blake2b256(evilVal) }, // value and hash swapped together
    { ...r, ts: r.ts + 1 },
    { ...r, mod: r.mod + 1 },
    { ...r, mod: r.mod + 1_000_000_000 }, // a far-future mod would stick forever
    { ...r, id: r.id + 100 },
    { ...r, prev: r.prev - 1 },
    { ...r, prev: 0, prevch: 0 }, // widened gaps would wipe the mirror
    { ...m8, prev: 0 },
    { ...m8, prevch: m8.prevch - 1 },
    { ...r, key: r.key + 'x' },
    { ...r, key: 'k8' },
    { ...r, type: 'file' },
    { ...r, sig: r.sig.map((b, i) => (i === 0 ? b ^ 1 : b)) },
    { ...r, sig: m8.sig },
  ];
  expectRejected(h.m, tampered, /signature is not valid/);
  // Metadata-only copies: a tampered hash cannot hide behind a missing value.
  const meta = mirrorOf(h.w, { metaOnly: true });
  drain(meta, h.w);
  assertConverged(meta, h.w);
  expectRejected(
    meta,
    [
      { ...r, val: null, hash: blake2b256(utf8('x')) },
      { ...r, val: null, mod: r.mod + 5 },
    ],
    /signature is not valid/,
  );
  drain(h.m, h.w);
  assertConverged(h.m, h.w);
  drain(meta, h.w);
  assertConverged(meta, h.w);
});

test('forgeries: signed by another key claiming the stream, or records of another chain', () => {
  const h = honest();
  const evil = generateKeyPair();
  const r = honestRecord(h, 'k4');
  const tip = [...h.w.iterate()].reduce((a, b) => (b.mod > a.mod ? b : a));
  const forge = (u: Partial<DrayerRecord>) => {
    const { sig: _s, ...base } = { ...r, ...u };
    return signRecord(base as UnsignedRecord, evil);
  };
  const v = utf8('forged');
  const claimed: DrayerRecord[] = [
    forge({}), // the same record re-signed by another key
    forge({ val: v, hash: blake2b256(v) }), // a forged edit
    forge({ mod: tip.mod + 1, prevch: 0, prev: 0 }), // a forged newer version whose gaps cover everything
    forge({ id: 1000, mod: tip.mod + 10, prev: 0, prevch: 0, key: 'new' }), // a forged new record
  ];
  expectRejected(h.m, claimed, /signature is not valid/);
  // Validly signed by another key, with that key as chain: another chain, not ours.
  const foreign = claimed.map((x) => ({ ...x, chain: evil.publicKey }));
  expectRejected(h.m, foreign, /another chain/);
  // A whole other stream's honest records.
  const other = Stream.create(newFile('other'));
  other.put('post', 'k4', utf8('hello'));
  expectRejected(h.m, [...other.iterate()], /another chain/);
  // Even with `verified` (signatures checked elsewhere), another chain is refused.
  expectRejected(h.m, [...other.iterate()], /another chain/, { verified: true });
  other.close();
  drain(h.m, h.w);
  assertConverged(h.m, h.w);
});

test('malformed records are rejected without throwing, even when validly signed by the stream key', () => {
  const h = honest();
  const r = honestRecord(h, 'k4');
  const bad = (u: Record<string, unknown>) => ({ ...r, ...u }) as unknown as DrayerRecord;
  const signedBad = (u: Partial<DrayerRecord>) => resign({ ...r, ...u }, h.kp);
  expectRejected(
    h.m,
    [bad({ sig: r.sig.subarray(0, 63) }), bad({ sig: new Uint8Array(0) }), bad({ sig: new Uint8Array(65) }), bad({ sig: 'x'.repeat(64) })],
    /signature is not 64 bytes/,
  );
  expectRejected(
    h.m,
    [bad({ hash: r.hash.subarray(0, 31) }), bad({ hash: new Uint8Array(33) }), bad({ hash: Array.from(r.hash) }), bad({ hash: null })],
    /hash is not 32 bytes/,
  );
  expectRejected(h.m, [bad({ chain: r.chain.subarray(0, 31) }), bad({ chain: new Uint8Array(0) }), bad({ chain: undefined })], /chain is not a 32-byte key/);
  expectRejected(
    h.m,
    [signedBad({ id: 0 }), bad({ id: -1 }), bad({ id: 1.5 }), bad({ id: NaN }), bad({ id: Infinity }), bad({ id: 2 ** 53 }), bad({ id: '5' }), bad({ id: 5n })],
    /id is not a positive integer/,
  );
  expectRejected(
    h.m,
    [
      signedBad({ mod: -r.mod, prevch: 0 }),
      bad({ mod: 0, prevch: 0 }),
      bad({ mod: r.mod + 0.5 }),
      bad({ mod: 2 ** 53 }),
      bad({ mod: NaN }),
      bad({ mod: BigInt(r.mod) }),
    ],
    /mod is not a positive integer/,
  );
  expectRejected(h.m, [bad({ ts: 1.5 }), bad({ ts: NaN }), bad({ ts: 2 ** 60 }), bad({ ts: undefined })], /ts is not an integer/);
  expectRejected(
    h.m,
    [signedBad({ prev: r.id }), signedBad({ prev: r.id + 1 }), signedBad({ prev: -1 }), bad({ prev: 0.5 })],
    /prev does not point below its id/,
  );
  expectRejected(
    h.m,
    [signedBad({ prevch: r.mod }), signedBad({ prevch: r.mod + 1 }), signedBad({ prevch: -1 }), bad({ prevch: 2 ** 53 })],
    /prevch does not point below its mod/,
  );
  expectRejected(h.m, [bad({ type: 7 }), bad({ type: null }), signedBad({ type: 't'.repeat(257) })], /type is missing or too long/);
  expectRejected(h.m, [bad({ key: undefined }), signedBad({ key: 'k'.repeat(4097) })], /key is missing or too long/);
  expectRejected(h.m, [bad({ val: 'v4' }), bad({ val: [1, 2] })], /value is not bytes/);
  drain(h.m, h.w);
  assertConverged(h.m, h.w);
});

test('stale versions, older patches and records inside known gaps are rejected (rules 1 and 2)', () => {
  const h = honest();
  const { w, m, early } = h;
  const now = (k: string) => w.get('post', k)!;
  // Rule 1: an older signed version of an edited record, replayed after the new one.
  assert.notEqual(now('k3').mod, early.get('k3')!.mod);
  expectRejected(m, [early.get('k3')!], /^stale: a newer version/);
  // Rule 1: an older patch (same mod, narrower gap) of a record patched since.
  const k8 = now('k8');
  const olderPatch = early.get('k8')!;
  assert.equal(olderPatch.mod, k8.mod);
  assert.ok(olderPatch.prev > k8.prev, 'k8 was patched over the deleted k7');
  expectRejected(m, [olderPatch], /^stale: a patch with gaps at least as wide/);
  // Rule 2: deleted records, each inside the gap of a record the mirror holds.
  const deleted = ['k7', 'k11', 'k5'].map((k) => early.get(k)!);
  const k10old = early.get('k10')!; // re-issued under a new id when k11, the ID tip, was deleted
  assert.notEqual(now('k10').id, k10old.id);
  expectRejected(m, [...deleted, k10old], /^deleted: it lies inside the (M|ID) gap/);
  // Every version ever signed that is not current: all rejected, in any order.
  const current = new Set([...w.iterate()].map((r) => hex(r.sig)));
  const ghosts = [...h.history.values()].filter((r) => !current.has(hex(r.sig)));
  assert.ok(ghosts.length >= 10);
  expectRejected(m, ghosts.reverse(), /^(stale|deleted)/);
  drain(m, w);
  assertConverged(m, w);
});

test('partial mirrors reject deleted records with only the evidence they keep', () => {
  // minMod: the deleted record's ID successor is out of range; only the M chain vouches.
  {
    const w = Stream.create(newFile('w'));
    for (const k of ['A', 'B', 'C']) w.put('post', k, utf8(k));
    const minMod = w.get('post', 'C')!.mod;
    const m = mirrorOf(w, { minMod });
    const a2 = w.put('post', 'A', utf8('A2')); // A moves to the front of the M chain: in range
    drain(m, w);
    assert.ok(m.s.get('post', 'A'));
    w.delete('post', 'A'); // the M tip: C moves to the front; B (out of range) is patched
    drain(m, w);
    assertConverged(m, w);
    assert.equal(m.s.get('post', 'A'), undefined);
    expectRejected(m, [a2], /^deleted: it lies inside the M gap/);
    w.close();
  }
  // minId: the deleted record's M successor is out of range; only the ID chain vouches.
  {
    const w = Stream.create(newFile('w'));
    for (const k of ['A', 'B', 'C']) w.put('post', k, utf8(k)); // ids 2, 3, 4
    w.put('post', 'A', utf8('A2')); // M order: B C A
    w.put('post', 'D', utf8('D')); // id 5; M order: B C A D
    const m = mirrorOf(w, { minId: 3 });
    drain(m, w);
    const c = w.get('post', 'C')!;
    w.delete('post', 'C'); // A (id 2, out of range) gets the M patch; D gets the ID patch
    drain(m, w);
    assertConverged(m, w);
    expectRejected(m, [c], /^deleted: it lies inside the ID gap/);
    w.close();
  }
  // minMod: an M-tip delete whose ID successor is out of range must still reach the mirror
  // (the writer moves the new M tip to the front; without that the mirror would keep A forever).
  {
    const w = Stream.create(newFile('w'));
    for (const k of ['A', 'B', 'C']) w.put('post', k, utf8(k));
    const minMod = w.get('post', 'C')!.mod;
    w.put('post', 'A', utf8('A2')); // M tip, ID successor B has mod < minMod
    const m = mirrorOf(w, { minMod });
    drain(m, w);
    w.delete('post', 'A');
    drain(m, w);
    assertConverged(m, w);
    w.close();
  }
});

test('a stale mirror replayed after the writer’s newer state changes nothing', () => {
  const kp = generateKeyPair();
  const w = Stream.create(newFile('w'), { keyPair: kp });
  for (let i = 0; i < 15; i++) w.put('post', `k${i}`, utf8(`v${i}`));
  const stale = mirrorOf(w);
  drain(stale, w);
  for (const k of [14, 0, 6, 7]) w.delete('post', `k${k}`);
  for (const k of [3, 9, 13]) w.put('post', `k${k}`, utf8('edited'));
  w.delete('post', 'k13'); // the M tip
  w.put('post', 'k15', utf8('new'));
  const m = mirrorOf(w);
  drain(m, w);
  assertConverged(m, w);
  const current = new Set([...w.iterate()].map((r) => hex(r.sig)));
  const staleRecs = [...stale.s.iterate()];
  const ghosts = staleRecs.filter((r) => !current.has(hex(r.sig)));
  assert.ok(ghosts.length >= 8, `${ghosts.length} stale records`);
  expectRejected(m, ghosts, /^(stale|deleted)/);
  // Through the stale mirror's own feed, in pages, exactly as sync would: identical ones are 'already held'.
  const before = held(m.s);
  const page = stale.s.changesSince(0, { limit: 10_000 });
  const res = m.s.apply(page.records);
  assert.deepEqual(res.stored, []);
  assert.deepEqual(res.removed, []);
  assert.equal(res.rejected.filter((x) => x.reason === 'already held').length, staleRecs.length - ghosts.length);
  assert.deepEqual(held(m.s), before);
  // And the stale mirror itself catches up with the writer.
  drain(stale, w);
  assertConverged(stale, w);
});

test('metadata-only copies: refused by a full mirror, kept by a metadata-only one, filled in later', () => {
  const h = honest();
  const { w } = h;
  const metaRecs = [...w.iterate()].map((r) => ({ ...r, val: null }));
  // A full mirror refuses records without values.
  const full = mirrorOf(w);
  expectRejected(full, metaRecs, /no value and this copy keeps values/);
  assert.equal(full.s.count(), 0);
  // A metadata-only mirror accepts them, and strips values from full records.
  const meta = mirrorOf(w, { metaOnly: true });
  let res = meta.s.apply(metaRecs);
  assert.equal(res.stored.length, metaRecs.length);
  assertConverged(meta, w);
  const k4 = w.get('post', 'k4')!;
  expectRejected(meta, [k4], /^already held/); // the value is not kept, and it is the same record
  assert.equal(meta.s.get('post', 'k4')!.val, null);
  // A full copy that accepted metadata first (allowMetaOnly) takes the values later, checked by hash.
  const lazy = mirrorOf(w);
  res = lazy.s.apply(metaRecs, { allowMetaOnly: true });
  assert.equal(res.stored.length, metaRecs.length);
  assert.equal(lazy.s.verify().metaOnly, metaRecs.length);
  expectRejected(lazy, [{ ...k4, val: utf8('not it') }], /does not match its hash/);
  const seq = lazy.s.lastSeq();
  res = lazy.s.apply([k4]);
  assert.deepEqual(
    res.stored.map((r) => r.id),
    [k4.id],
    'filled',
  );
  assert.deepEqual(res.removed, []);
  assert.ok(lazy.s.lastSeq() > seq, 'the fill is a change in the feed');
  assert.deepEqual(lazy.s.get('post', 'k4'), k4);
  expectRejected(lazy, [k4], /^already held/); // idempotent
  expectRejected(lazy, [{ ...k4, val: null }], /^already held/, { allowMetaOnly: true }); // the value is not dropped again
  assert.deepEqual(lazy.s.get('post', 'k4'), k4);
  res = lazy.s.apply([...w.iterate()]);
  assert.equal(res.stored.length, metaRecs.length - 1);
  assertConverged(lazy, w);
  assert.equal(lazy.s.verify().metaOnly, 0);
});

test('duplicates are idempotent: nothing stored, the feed does not move', () => {
  const h = honest();
  const all = [...h.w.iterate()];
  expectRejected(h.m, all, /^already held$/);
  expectRejected(h.m, [...all, ...all].reverse(), /^already held$/);
  // The same new record twice in one call: stored once.
  const r = h.w.put('post', 'dup', utf8('x'));
  const res = h.m.s.apply([r, r, r]);
  assert.deepEqual(
    res.stored.map((x) => x.key),
    ['dup'],
  );
  assert.deepEqual(
    res.rejected.map((x) => x.reason),
    ['already held', 'already held'],
  );
  drain(h.m, h.w);
  assertConverged(h.m, h.w);
});

// ---------- property: hostile copies mixed into a random sync ----------

const mutations: [string, (r: DrayerRecord, evil: KeyPair) => DrayerRecord][] = [
  ['val', (r) => ({ ...r, val: utf8(`x${r.id}`) })],
  [
    'val+hash',
    (r) => {
      const v = utf8(`y${r.mod}`);
      return { ...r, val: v, hash: blake2b256(v) };
    },
  ],
  ['ts', (r) => ({ ...r, ts: r.ts + 1 })],
  ['mod', (r) => ({ ...r, mod: r.mod + 1 })],
  ['prev', (r) => ({ ...r, prev: r.prev ? r.prev - 1 : r.id + 1 })],
  ['prevch', (r) => ({ ...r, prevch: r.prevch ? 0 : r.mod })],
  ['key', (r) => ({ ...r, key: r.key + '!' })],
  ['type', (r) => ({ ...r, type: r.type + '!' })],
  ['sig', (r) => ({ ...r, sig: r.sig.map((b, i) => (i === 63 ? b ^ 0x80 : b)) })],
  ['resigned', (r, evil) => resign({ ...r, prev: 0, prevch: 0 }, evil)],
  ['foreign', (r, evil) => ({ ...resign(r, evil), chain: evil.publicKey })],
];

test('property: hostile copies mixed into random syncs are never accepted, and nothing is lost (fast-check)', () => {
  const evil = generateKeyPair();
  let runs = 0;
  let hostile = 0;
  const t0 = Date.now();
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: fc.record({ t: fc.constant('put' as const), k: fc.nat({ max: 12 }), v: fc.nat({ max: 3 }) }) },
          { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), k: fc.nat({ max: 12 }) }) },
          { weight: 3, arbitrary: fc.record({ t: fc.constant('pull' as const), limit: fc.integer({ min: 1, max: 4 }) }) },
          { weight: 3, arbitrary: fc.record({ t: fc.constant('attack' as const), which: fc.nat(), how: fc.nat({ max: mutations.length - 1 }) }) },
        ),
        { minLength: 5, maxLength: 60, size: 'medium' },
      ),
      fc.constantFrom<PartialFilter>({}, { metaOnly: true }, { minId: 4 }),
      (ops, f) => {
        runs++;
        const w = Stream.create(newFile('w'));
        const m = mirrorOf(w, f);
        const seen: DrayerRecord[] = [];
        try {
          for (const op of ops) {
            if (op.t === 'put') w.put('post', `k${op.k}`, utf8(`v${op.v}`));
            else if (op.t === 'del') w.delete('post', `k${op.k}`);
            else if (op.t === 'pull') {
              const page = w.changesSince(m.cursor, { limit: op.limit });
              seen.push(...page.records);
              const res = m.s.apply(page.records);
              for (const x of res.rejected) assert.match(x.reason, /^(stale|already held|deleted)/);
              m.cursor = page.seq;
            } else if (seen.length) {
              const [name, mutate] = mutations[op.how]!;
              if (f.metaOnly && name === 'val') continue; // without its value it is the honest record
              const bad = mutate(seen[op.which % seen.length]!, evil);
              const before = held(m.s);
              const res = m.s.apply([f.metaOnly ? { ...bad, val: null } : bad]);
              hostile++;
              assert.equal(res.rejected.length, 1, `${name} copy rejected`);
              assert.match(res.rejected[0]!.reason, /hash|signature|another chain|prev/, name);
              assert.deepEqual(held(m.s), before);
            }
          }
          drain(m, w);
          assertConverged(m, w);
        } finally {
          w.close();
          m.s.close();
        }
      },
    ),
    { numRuns: Number(process.env.DRAYER_FC_RUNS ?? 300), includeErrorInReport: true },
  );
  console.log(`# adversarial property: ${runs} runs, ${hostile} hostile records, ${hostileTotal} in the example tests, ${Date.now() - t0} ms`);
});
