// The client reads a Drayer server's changes pages in one pass (app/net/changes-decode.ts), and
// leaves every other page to the general, bounded decoder. For any bytes at all, the one-pass
// reader either steps aside (null) or gives exactly what the general decoder gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { generateKeyPair } from '../app/core/crypto.js';
import { signRecord, toWire, type DrayerRecord } from '../app/core/record.js';
import { decodePlainChangesPage } from '../app/net/changes-decode.js';
import { encodeChangesPage } from '../app/net/server/changes-page.js';
import { decodeRecords, parseChangesPage, type RejectionCount } from '../app/net/sync-pages.js';

const kp = generateKeyPair();
const pk = kp.publicKey;
const TEXTS = ['post', 'a', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(100), '😀 emoji', 'مرحبا', 'drayer', 'info', ''];

function rec(i: number): DrayerRecord {
  const size = [0, 1, 200, 255, 256, 70000][i % 6]!;
  return signRecord(
    {
      id: i + 1,
      type: TEXTS[i % 9]!,
      key: `${TEXTS[(i * 3 + 1) % TEXTS.length]!}${i}`,
      val: i % 7 === 3 ? null : new Uint8Array(size).fill(i & 0xff),
      hash: new Uint8Array(32).fill(i),
      ts: [0, -1, -200, 2 ** 40, -(2 ** 50), 1796611505205000][i % 6]!,
      mod: i * 1000 + 1,
      prev: i,
      prevch: i * 1000,
      chain: pk,
    },
    kp,
  );
}

const bytesOf = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);
const plainRecord = (r: DrayerRecord) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, bytesOf(v)]));

/** What the general decoder makes of `buf`: the page and its records, or the error. */
function general(buf: Uint8Array, lim: number) {
  try {
    const page = parseChangesPage(buf, 'http://peer');
    const rejections: RejectionCount[] = [];
    const recs = page.records.length <= lim ? decodeRecords(page.records, pk, rejections, 'the page') : null;
    return { page: { node: page.node, seq: page.seq, more: page.more, last: page.last, left: page.left, n: page.records.length }, recs, rejections };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The one-pass reader steps aside, or agrees with the general decoder exactly. */
function agrees(buf: Uint8Array, lim = 1000): boolean {
  const fast = decodePlainChangesPage(buf, pk, lim);
  if (fast === null) return false;
  const g = general(buf, lim);
  assert.ok(!('error' in g), `the general decoder refuses what the one-pass reader took: ${'error' in g ? g.error : ''}`);
  assert.equal(g.rejections.length, 0, 'the general decoder rejected records the one-pass reader took');
  const { page } = fast;
  assert.deepEqual({ node: page.node, seq: page.seq, more: page.more, last: page.last, left: page.left, n: page.records.length }, g.page);
  assert.deepEqual(fast.recs.map(plainRecord), g.recs!.map(plainRecord));
  return true;
}

test('pages a Drayer server writes are read in one pass, to the very records the general decoder reads', () => {
  const records = Array.from({ length: 60 }, (_, i) => rec(i));
  for (const n of [0, 1, 15, 16, 60]) {
    for (const left of [undefined, 0, 70_000]) {
      const p = {
        node: '0123456789abcdef0123456789abcdef',
        seq: 2 ** 33 + n,
        more: n > 1,
        last: 2 ** 34,
        records: records.slice(0, n),
        ...(left === undefined ? {} : { left }),
      };
      assert.ok(agrees(encodeChangesPage(p)), `${n} records, left ${left}`);
      assert.ok(agrees(encodeChangesPage(p, true)), `${n} records, metadata only`);
    }
  }
  // the same records in another key order, with the chain left out or empty (fromWire: the stream's key)
  const wire = records.slice(0, 10).map((r, i) => {
    const m: Record<string, unknown> = { ...toWire(r) };
    if (i % 3 === 0) m.chain = new Uint8Array(0);
    if (i % 3 === 1) m.chain = null;
    return Object.fromEntries(Object.entries(m).reverse());
  });
  assert.ok(agrees(encode({ records: wire, more: false, seq: 9, node: 'n' })));
});

test('any other page is left to the general decoder', () => {
  const base = { node: 'n', seq: 5, more: true, last: 9 };
  const r = toWire(rec(4)) as Record<string, unknown>;
  const others: [string, unknown][] = [
    ['an extra key in a record', { ...base, records: [{ ...r, extra: 1 }] }],
    ['a key missing from a record', { ...base, records: [{ ...r, ts: undefined }] }],
    ['an id that is a float', { ...base, records: [{ ...r, id: 1.5 }] }],
    ['an id beyond the safe range', { ...base, records: [{ ...r, id: 2n ** 60n }] }],
    ['a key that is not UTF-8', { ...base, records: [{ ...r, key: Uint8Array.from([0xff, 0xfe]) }] }],
    ['a node id that is not ASCII', { ...base, node: '\ufeffn', records: [] }],
    ['no records', { ...base }],
    ['records that are not a list', { ...base, records: { a: 1 } }],
    ['an extra key in the page', { ...base, records: [], what: 1 }],
    ['a negative count', { ...base, records: [], left: -1 }],
    ['more records than asked', { ...base, records: Array.from({ length: 3 }, () => r) }],
  ];
  for (const [what, page] of others) {
    const buf = encode(page, { ignoreUndefined: true, useBigInt64: true });
    assert.equal(decodePlainChangesPage(buf, pk, 2), null, what);
  }
  const good = encodeChangesPage({ ...base, records: [rec(1), rec(2)] });
  assert.equal(decodePlainChangesPage(Buffer.concat([good, Buffer.from([0])]), pk, 10), null, 'a trailing byte');
  for (let cut = 0; cut < good.length; cut++) assert.equal(decodePlainChangesPage(good.subarray(0, cut), pk, 10), null, `cut at ${cut}`);
});

test('bytes changed at random: the one-pass reader steps aside or agrees with the general decoder', () => {
  const good = encodeChangesPage({ node: 'abc', seq: 300, more: true, last: 900, left: 4, records: Array.from({ length: 6 }, (_, i) => rec(i * 5 + 2)) });
  let seed = 17;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  let taken = 0;
  for (let t = 0; t < 3000; t++) {
    const b = Buffer.from(good);
    for (let k = 1 + rnd(3); k > 0; k--) b[rnd(b.length)] = rnd(4) === 0 ? [0xc0, 0xcb, 0xd3, 0xdb, 0xde, 0x7f][rnd(6)]! : rnd(256);
    if (agrees(b)) taken++;
  }
  assert.ok(taken > 100, `most pages changed only inside a value or hash are still read in one pass (${taken})`);
});
