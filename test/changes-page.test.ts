// The server writes changes pages itself (app/net/server/changes-page.ts) instead of through the
// generic encoder: every peer, the original Drayer included, must get the very same bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPair } from '../app/core/crypto.js';
import { decodeWire, encodeWire, signRecord, toWire, type DrayerRecord } from '../app/core/record.js';
import { encodeChangesPage, type ChangesPageFields } from '../app/net/server/changes-page.js';

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
