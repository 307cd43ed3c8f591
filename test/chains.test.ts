// The chains' rules as pure functions (app/store/chains.ts): each rule on hand-made records, and
// receive() over a Map answering exactly as Stream.apply over SQLite does, record for record, for
// every version a writer ever signed delivered in a random order (stale ones, patches, deleted ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DrayerRecord } from '../app/core/record.js';
import {
  covers,
  editedPrevch,
  fillsValue,
  IN_ID_GAP,
  IN_M_GAP,
  inHeldIdGap,
  inHeldModGap,
  inIdGap,
  inModGap,
  inPartialRange,
  linkIsMissing,
  nextMod,
  receive,
  staleReason,
  type Version,
} from '../app/store/chains.js';
import { Stream } from '../app/store/store.js';
import { tmpDir, utf8 } from './helpers.js';
import { rng } from './rng.js';

const sig = (b: number) => new Uint8Array(64).fill(b);
const hash = (b: number) => new Uint8Array(32).fill(b);
const v = (id: number, mod: number, prev: number, prevch: number, opts: { sig?: number; val?: Uint8Array | null; hash?: number } = {}): Version => ({
  id,
  mod,
  prev,
  prevch,
  sig: sig(opts.sig ?? 1),
  hash: hash(opts.hash ?? 1),
  val: opts.val === undefined ? utf8('x') : opts.val,
});

test('gaps: strictly between the link and the record, and a record never covers itself', () => {
  const r = v(5, 50, 2, 20);
  assert.ok(inIdGap(r, 3) && inIdGap(r, 4) && !inIdGap(r, 2) && !inIdGap(r, 5));
  assert.ok(inModGap(r, 21) && !inModGap(r, 20) && !inModGap(r, 50));
  assert.ok(covers(r, v(3, 60, 0, 0)), 'inside the ID gap');
  assert.ok(covers(r, v(9, 30, 0, 0)), 'inside the M gap');
  assert.ok(!covers(r, v(9, 60, 0, 0)));
  assert.ok(!covers(r, v(5, 30, 0, 0)), 'the same record (an older version) is rule 1’s business');
});

test('rule 1: newer mods win, of same-mod patches the wider gaps, and a held record gets its value', () => {
  assert.equal(staleReason(v(5, 50, 2, 20), v(5, 40, 2, 20, { sig: 2 })), 'stale: a newer version of this record is held');
  assert.equal(staleReason(v(5, 50, 2, 20), v(5, 60, 2, 20, { sig: 2 })), null);
  assert.equal(staleReason(v(5, 50, 2, 20), v(5, 50, 2, 20)), 'already held');
  assert.equal(staleReason(v(5, 50, 2, 10), v(5, 50, 2, 20, { sig: 2 })), 'stale: a patch with gaps at least as wide is held');
  assert.equal(staleReason(v(5, 50, 2, 20), v(5, 50, 2, 10, { sig: 2 })), null, 'a wider M gap replaces');
  assert.equal(staleReason(v(5, 50, 3, 20), v(5, 50, 1, 20, { sig: 2 })), null, 'a wider ID gap replaces');
  assert.ok(fillsValue(v(5, 50, 2, 20, { val: null }), v(5, 50, 2, 20)));
  assert.ok(!fillsValue(v(5, 50, 2, 20, { val: null }), v(5, 50, 2, 20, { sig: 2 })), 'another signature is another record');
  assert.ok(!fillsValue(v(5, 50, 2, 20), v(5, 50, 2, 20)), 'nothing to fill');
});

test('rule 2: a record inside the gap of the next held record is refused; the writer links and verify reads links', () => {
  assert.equal(inHeldModGap(v(5, 30, 2, 20), 10), IN_M_GAP);
  assert.equal(inHeldModGap(v(5, 30, 2, 20), 30), null);
  assert.equal(inHeldModGap(v(5, 30, 2, 20), undefined), null);
  assert.equal(inHeldIdGap(v(5, 30, 2, 20), 4), IN_ID_GAP);
  assert.equal(inHeldIdGap(v(5, 30, 2, 20), 5), null);
  assert.equal(nextMod(100, 50), 101);
  assert.equal(nextMod(100, 500), 500);
  assert.equal(editedPrevch(v(5, 50, 2, 20), 50), 20, 'the tip keeps its old gap start');
  assert.equal(editedPrevch(v(5, 50, 2, 20), 70), 70);
  assert.ok(linkIsMissing(9, 4, true) && !linkIsMissing(9, 4, false) && !linkIsMissing(2, 4, true));
  assert.ok(inPartialRange({ id: 1, mod: 1, type: 'drayer', key: 'info' }, { minId: 5 }));
  assert.ok(!inPartialRange({ id: 1, mod: 1, type: 'post', key: 'a' }, { minId: 5 }));
});

const links = (r: DrayerRecord) => `${r.id}:${r.mod}:${r.prev}:${r.prevch}`;

test('receive() over a Map decides as Stream.apply does, for every signed version in random order', () => {
  const dir = tmpDir();
  try {
    for (let seed = 1; seed <= 6; seed++) {
      const rand = rng(seed);
      const w = Stream.create(path.join(dir, `w${seed}.stream`));
      const m = Stream.create(path.join(dir, `m${seed}.stream`), { followKey: w.publicKey });
      const signed: DrayerRecord[] = [...w.iterate()];
      let keys = 0;
      for (let step = 0; step < 60; step++) {
        const live = w.list('post', { limit: 1000 }).map((r) => r.key);
        const op = rand();
        const before = w.lastSeq();
        if (op < 0.45 || live.length === 0) w.put('post', `k${++keys}`, utf8(`v${step}`));
        else if (op < 0.7) w.put('post', live[Math.floor(rand() * live.length)]!, utf8(`e${step}`));
        else w.delete('post', live[Math.floor(rand() * live.length)]!);
        signed.push(...w.changesSince(before).records); // with the patches and re-issued tips it signed
      }
      // Every version ever signed, shuffled: stale ones, superseded patches, deleted records.
      for (let i = signed.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [signed[i], signed[j]] = [signed[j]!, signed[i]!];
      }
      const held = new Map<number, DrayerRecord>();
      let refusals = 0;
      for (const r of signed) {
        const got = m.apply([r]);
        const want = receive(held, r);
        if ('refused' in want) {
          refusals++;
          assert.deepEqual(
            got.rejected.map((x) => x.reason),
            [want.refused],
            `seed ${seed}: record ${links(r)}`,
          );
        } else {
          assert.equal(got.rejected.length, 0, `seed ${seed}: record ${links(r)} refused by the store: ${got.rejected[0]?.reason}`);
          assert.deepEqual(
            [...got.removed].sort((a, b) => a - b),
            [...want.removed].sort((a, b) => a - b),
            `seed ${seed}: removed by ${links(r)}`,
          );
        }
      }
      assert.ok(refusals > 0, 'the shuffle delivered stale or deleted records');
      const inStore = [...m.iterate()].map(links);
      const inMap = [...held.values()].sort((a, b) => a.id - b.id).map(links);
      assert.deepEqual(inMap, inStore, `seed ${seed}`);
      // Having seen every version, both hold exactly the writer's live records.
      assert.deepEqual(inStore, [...w.iterate()].map(links), `seed ${seed}: converged`);
      // The same versions in pages of several records, as a pull applies them: one transaction
      // each, where apply keeps the held tips in memory from record to record (its fast path
      // for records above everything held) while earlier ones in the page store and remove rows.
      const m2 = Stream.create(path.join(dir, `m2-${seed}.stream`), { followKey: w.publicKey });
      const m2Held = new Map<number, DrayerRecord>();
      for (let i = 0; i < signed.length;) {
        const page = signed.slice(i, (i += 1 + Math.floor(rand() * 12)));
        const got = m2.apply(page);
        const refusedWant: string[] = [];
        for (const r of page) {
          const want = receive(m2Held, r);
          if ('refused' in want) refusedWant.push(want.refused);
        }
        assert.deepEqual(
          got.rejected.map((x) => x.reason),
          refusedWant,
          `seed ${seed}: a page of ${page.length}`,
        );
      }
      assert.deepEqual([...m2.iterate()].map(links), inStore, `seed ${seed}: paged`);
      // And in order, every version as the writer signed it, in pages (a clone): all on the fast path.
      const m3 = Stream.create(path.join(dir, `m3-${seed}.stream`), { followKey: w.publicKey });
      for (let since = 0; ;) {
        const page = w.changesSince(since, { limit: 7 });
        assert.equal(m3.apply(page.records).rejected.length, 0);
        since = page.seq;
        if (!page.more) break;
      }
      assert.deepEqual([...m3.iterate()].map(links), inStore, `seed ${seed}: cloned in order`);
      m2.close();
      m3.close();
      w.close();
      m.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
