// The server writes changes pages itself (app/net/server/changes-page.ts) instead of through the
// generic encoder: every peer, the original Drayer included, must get the very same bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPair } from '../app/core/crypto.js';
import { decodeWire, encodeWire, signRecord, toWire, type DrayerRecord } from '../app/core/record.js';
import { encodeChangesPage, encodePackedPage, type ChangesPageFields } from '../app/net/server/changes-page.js';
import { Stream } from '../app/store/store.js';
import { tmpDir } from './helpers.js';
import * as path from 'node:path';

const key = generateKeyPair();

/** Integers at every msgpack size boundary, both signs. */
const INTS = [
  0,
  1,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  0xffffffff,
  0x100000000,
  2 ** 40 + 7,
  Number.MAX_SAFE_INTEGER,
  -1,
  -0x20,
  -0x21,
  -0x80,
  -0x81,
  -0x8000,
  -0x8001,
  -0x80000000,
  -0x80000001,
  -(2 ** 40) - 3,
  Number.MIN_SAFE_INTEGER,
];
const TEXTS = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(127), 'é'.repeat(128), 'ي'.repeat(40000), 'post', '😀 emoji', 'مرحبا بالعالم'];
const SIZES = [0, 1, 255, 256, 65535, 65536, 70000];

function rec(i: number): DrayerRecord {
  const size = SIZES[i % SIZES.length]!;
  const val = i % 9 === 4 ? null : new Uint8Array(size).fill(i & 0xff);
  const r = signRecord(
    {
      id: i + 1,
      type: TEXTS[i % TEXTS.length]!,
      key: TEXTS[(i * 3 + 1) % TEXTS.length]!,
      val,
      hash: new Uint8Array(32).fill(i),
      ts: INTS[i % INTS.length]!,
      mod: Math.abs(INTS[(i + 5) % INTS.length]!) + 1,
      prev: i,
      prevch: Math.abs(INTS[(i + 7) % INTS.length]!),
      chain: key.publicKey,
    },
    key,
  );
  return r;
}

const generic = (p: ChangesPageFields, meta = false) =>
  encodeWire({
    node: p.node,
    seq: p.seq,
    more: p.more,
    last: p.last,
    records: p.records.map((r) => toWire(r, meta)),
    ...(p.left !== undefined ? { left: p.left } : {}),
  });

test('a changes page written directly is byte for byte what the generic encoder makes', () => {
  const records = Array.from({ length: 70 }, (_, i) => rec(i));
  for (const n of [0, 1, 15, 16, 70]) {
    for (const seq of [0, 5, 0x10000, 2 ** 35]) {
      const p: ChangesPageFields = { node: '0123456789abcdef0123456789abcdef', seq, more: n % 2 === 0, last: seq + n, records: records.slice(0, n) };
      assert.deepEqual(Buffer.from(encodeChangesPage(p)), Buffer.from(generic(p)), `${n} records, seq ${seq}`);
      const counted = { ...p, left: 12345 };
      assert.deepEqual(Buffer.from(encodeChangesPage(counted)), Buffer.from(generic(counted)), 'with left');
      assert.deepEqual(Buffer.from(encodeChangesPage(p, true)), Buffer.from(generic(p, true)), 'metadata only');
    }
  }
  // And it decodes back to the records (the client's own bounded decoder).
  const p = { node: 'n', seq: 1, more: false, last: 1, records: records.slice(0, 20) };
  const back = decodeWire(encodeChangesPage(p)) as { records: Record<string, unknown>[] };
  assert.equal(back.records.length, 20);
  const k = back.records[3]!.key; // str values stay bytes in a changes page (the original sends bytes as str)
  assert.equal(k instanceof Uint8Array ? Buffer.from(k).toString('utf8') : k, records[3]!.key);
});

test('pages the direct writer does not handle (a lone surrogate, an unsafe integer) still come out as the generic encoder makes them', () => {
  const odd = { ...rec(3), key: 'bad \ud800 half' };
  const p: ChangesPageFields = { node: 'n', seq: 1, more: false, last: 1, records: [rec(1), odd] };
  assert.deepEqual(Buffer.from(encodeChangesPage(p)), Buffer.from(generic(p)));
  const big = { ...rec(2), ts: 2 ** 60 };
  const q: ChangesPageFields = { node: 'n', seq: 1, more: false, last: 1, records: [big] };
  assert.deepEqual(Buffer.from(encodeChangesPage(q)), Buffer.from(generic(q)));
});

test('a page written from packed rows (one blob a row) is byte for byte the page of the same records', () => {
  const dir = tmpDir();
  const w = Stream.create(path.join(dir, 'w.stream'), { name: 'packed' });
  const type = (i: number) => TEXTS[(i * 7) % TEXTS.length]!.slice(0, 80) || 'post';
  const key = (i: number) => `${TEXTS[(i * 3 + 1) % TEXTS.length]!.slice(0, 100)}-${i}`;
  w.batch((b) => {
    for (let i = 0; i < 300; i++) b.put(type(i), key(i), new Uint8Array(SIZES[i % SIZES.length]!).fill(i & 0xff));
  });
  for (let i = 0; i < 300; i += 7) w.delete(type(i), key(i));
  // a metadata-only copy holds records without values (NULL), sent as nil
  const m = Stream.create(path.join(dir, 'm.stream'), { followKey: w.publicKey, metaOnly: true });
  m.apply(w.changesSince(0, { limit: 10_000 }).records);
  let pages = 0;
  for (const s of [w, m]) {
    for (const opts of [
      { limit: 1 },
      { limit: 16 },
      { limit: 1000 },
      { limit: 50, maxBytes: 100_000 },
      { limit: 1000, metaOnly: true },
      { limit: 40, minId: 120 },
    ]) {
      for (let since = 0; ;) {
        const packed = s.changesPacked(since, opts);
        const page = s.changesSince(since, opts);
        assert.ok(packed, 'every stored row packs');
        assert.equal(packed.seq, page.seq);
        assert.equal(packed.more, page.more);
        assert.equal(packed.rows.length, page.records.length);
        const head = { node: s.nodeId, seq: page.seq, more: page.more, last: s.lastSeq(), left: since };
        const meta = opts.metaOnly === true;
        assert.deepEqual(Buffer.from(encodePackedPage(head, packed.rows, meta)!), Buffer.from(encodeChangesPage({ ...head, records: page.records }, meta)));
        pages++;
        since = page.seq;
        if (!page.more) break;
      }
    }
  }
  assert.ok(pages > 400);
  // out of the direct writer's range: the caller encodes records instead
  const rows = w.changesPacked(0, { limit: 2 })!.rows;
  assert.equal(encodePackedPage({ node: 'n', seq: 2 ** 60, more: false, last: 1 }, rows), null);
  assert.equal(encodePackedPage({ node: 'bad \ud800', seq: 1, more: false, last: 1 }, rows), null);
  w.close();
  m.close();
});
