// The bounded msgpack decoder (app/core/msgpack.ts): every decode of outside bytes goes through it.
// What Drayer and original Drayer nodes send decodes exactly as the library decodes it; hostile
// headers (declared lengths beyond the input, too deep, too many items) are refused before the
// library allocates anything; and fast-check throws random, structured, truncated and
// length-lying input at every decoder under a memory and time bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { generateKeyPair, randomBytes } from '../app/core/crypto.js';
import { buildAnnouncePackets, MAGIC } from '../app/net/discovery-wire.js';
import { isDrayerError } from '../app/core/errors.js';
import { addBytes, parseFileValue } from '../app/store/files.js';
import { decodeBounded, decodeInfo, decodePrimaryServers, MSGPACK_LIMITS, MsgpackError, type MsgpackLimits, valueProblem } from '../app/core/msgpack.js';
import { decodeWire, encodeWire, fromWire, toWire } from '../app/core/record.js';
import { Stream } from '../app/store/store.js';
import { arrayBomb, ARRAY32_33M } from './bombs.js';
import { tmpDir, utf8 } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const MB = 1024 * 1024;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const profiles = Object.entries(MSGPACK_LIMITS) as [string, MsgpackLimits][];

/** Decoding as `L` throws a MsgpackError whose reason matches `why`. */
function refused(buf: Uint8Array, L: MsgpackLimits, why: RegExp): void {
  assert.throws(
    () => decodeBounded(buf, L),
    (e: unknown) => {
      assert.ok(e instanceof MsgpackError, String(e));
      assert.ok(isDrayerError(e));
      assert.match(e.reason, why);
      assert.match(e.message, new RegExp(`^${L.what.replace(/^a/, 'A').replace(/[/]/g, '\\/')} `));
      return true;
    },
  );
}

test('what Drayer sends decodes exactly as the library decodes it', async () => {
  const kp = generateKeyPair();
  const s = Stream.create(path.join(tmpDir(), 'w.stream'), { name: 'Wire' });
  s.put('post', 'p1', utf8('{"title":"t","body":"b"}'));
  s.put('note', 'big', randomBytes(100_000));
  await addBytes(s, 'a/b.txt', utf8('hello file'));
  await addBytes(s, 'big.bin', randomBytes(3 * 1024 * 1024)); // chunked: a manifest header
  const page = { node: s.nodeId, seq: 9, more: true, records: s.changesSince(0).records.map((r) => toWire(r)), last: 9, left: 0 };
  const asLib = (b: Uint8Array, raw = true) => decode(b, { rawStrings: raw, useBigInt64: false });
  const pageBytes = encodeWire(page);
  assert.deepEqual(decodeBounded(pageBytes, MSGPACK_LIMITS.changesPage), asLib(pageBytes));
  const list = encodeWire(page.records);
  assert.deepEqual(decodeBounded(list, MSGPACK_LIMITS.newRecords), asLib(list));
  const tips = encodeWire({ node: s.nodeId, id: 5, mod: Date.now() * 1000, seq: 9 });
  assert.deepEqual(decodeBounded(tips, MSGPACK_LIMITS.tips), asLib(tips));
  for (const r of page.records) assert.deepEqual(fromWire(decodeWire(encodeWire(r)), s.publicKey).sig, (r as { sig: Uint8Array }).sig);
  // announce packets of many streams, a query, a record announcement
  const streams = Array.from({ length: 60 }, (_, i) => ({ publicKey: randomBytes(32), mtip: 1_700_000_000_000_000 + i, name: `stream ${i} `.repeat(6) }));
  const { packets } = buildAnnouncePackets(randomBytes(16), { port: 8080, name: 'n'.repeat(64), intervalMs: 30_000, round: 1 }, streams);
  const bodies = [
    ...packets.map((p) => p.subarray(20)),
    encodeWire({ t: 'q', k: kp.publicKey, m: 5 }),
    encodeWire({ t: 'r', p: 8080, r: toWire(s.get('post', 'p1')!, true) }),
  ];
  for (const b of bodies) assert.deepEqual(decodeBounded(b, MSGPACK_LIMITS.discovery), asLib(b));
  // values written by an author
  const info = encode({ name: 'Wire', about: 'x'.repeat(5000), avatar: randomBytes(2000), more: { nested: [1, 2, { a: 'b' }] } });
  assert.deepEqual(decodeInfo(info), asLib(info, false));
  const servers = encode([
    { type: 'http', url: 'http://a:1' },
    { type: 'other', url: 'x' },
    { type: 'http', url: 'http://b:2' },
  ]);
  assert.deepEqual(decodePrimaryServers(servers), [
    { type: 'http', url: 'http://a:1' },
    { type: 'http', url: 'http://b:2' },
  ]);
  for (const f of ['a/b.txt', 'big.bin']) {
    const { header } = parseFileValue(s.get('file', f)!.val!);
    assert.equal(header.enc, f === 'big.bin' ? 'chunks' : header.enc);
    assert.equal(typeof header.enc, 'string');
  }
  assert.equal(s.verify().intact, true);
  s.close();
});

test('the 300-byte bombs, and every header that declares more than the input holds, are refused before any allocation', () => {
  const heap0 = heapAfterGc();
  for (const [, L] of profiles) {
    const bomb = arrayBomb(60);
    refused(bomb.subarray(0, Math.min(bomb.length, L.maxBytes)), L, /^declares more items than it holds \(an array of 33554432 with \d+ bytes left\)$/);
    refused(Uint8Array.from(ARRAY32_33M), L, /^declares more items than it holds \(an array of 33554432 with 0 bytes left\)$/);
    refused(Uint8Array.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0]), L, /declares more items than it holds \(a map of 4294967295 with 1 byte left\)/);
    refused(Uint8Array.from([0xdc, 0x00, 0x03, 0x01, 0x02]), L, /declares more items than it holds \(an array of 3 with 2 bytes left\)/);
    refused(Uint8Array.from([0x81, 0xa1, 0x6b, 0xdd, 0x7f, 0xff, 0xff, 0xff]), L, /declares more items than it holds/); // inside a map
    refused(Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), L, /is not msgpack \(cut short: a string of 4294967295 bytes with 1 byte left\)/);
    refused(Uint8Array.from([0xc6, 0xff, 0xff, 0xff, 0xff, 0x61]), L, /is not msgpack \(cut short: a bin of 4294967295 bytes with 1 byte left\)/);
    refused(Uint8Array.from([0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61]), L, /is not msgpack \(cut short: an ext of 4294967295 bytes with 1 byte left\)/);
    refused(Uint8Array.from([0xc1]), L, /is not msgpack \(the never-used byte 0xc1 at byte 0\)/);
    refused(Uint8Array.from([0xce, 0x01]), L, /is not msgpack \(cut short at byte 0\)/);
    refused(Uint8Array.from([0x01, 0x02]), L, /is not msgpack \(1 byte after its end\)/);
    refused(new Uint8Array(0), L, /is not msgpack \(it is empty\)/);
    // nesting: one level past the profile's depth
    const deep = new Uint8Array(L.maxDepth + 2).fill(0x91);
    deep[deep.length - 1] = 0x01;
    refused(deep, L, new RegExp(`nests deeper than ${L.maxDepth} levels`));
    assert.doesNotThrow(() => decodeBounded(deep.subarray(1), L));
    // too long for the profile (yet within the input)
    refused(
      encode(new Array(L.maxArray + 1).fill(0)),
      { ...L, maxBytes: Infinity },
      new RegExp(`holds an array of ${L.maxArray + 1} items, more than the ${L.maxArray} allowed`),
    );
  }
  // the input itself too big, and too many items in all
  refused(new Uint8Array(1201), MSGPACK_LIMITS.discovery, /is 1201 bytes, more than the 1200 allowed/);
  refused(
    encode([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]),
    { ...MSGPACK_LIMITS.discovery, maxItems: 10 },
    /holds more than 10 items/,
  );
  refused(encode({ name: 'x'.repeat(65) }), { ...MSGPACK_LIMITS.discovery, rawStrings: false }, /holds a string of 65 bytes, more than the 64 allowed/);
  // what the library still refuses comes out as a MsgpackError too
  refused(Uint8Array.from([0x81, 0x91, 0x01, 0x02]), MSGPACK_LIMITS.info, /is not usable msgpack \(The type of key must be string or number/); // a map keyed by an array
  assert.ok(heapAfterGc() - heap0 < 8 * MB, 'the refusals allocated nothing big');
});

test('20 000 packets of one array32 header cost bounded CPU and no memory (the 25-byte flood)', () => {
  const packet = Buffer.concat([MAGIC, randomBytes(16), Buffer.from(ARRAY32_33M)]);
  assert.equal(packet.length, 25);
  const heap0 = heapAfterGc();
  const t = process.cpuUsage();
  let refusedCount = 0;
  for (let i = 0; i < 20_000; i++) {
    try {
      decodeWire(packet.subarray(20), MSGPACK_LIMITS.discovery);
    } catch (e) {
      if (e instanceof MsgpackError) refusedCount++;
    }
  }
  const ms = cpuMs(t);
  const grown = heapAfterGc() - heap0;
  // Unbounded, one such packet cost ~30-150 ms of CPU and 260 MB: 20 000 took minutes.
  assert.equal(refusedCount, 20_000);
  assert.ok(ms < 1000, `${ms} ms of CPU for 20 000 packets`);
  assert.ok(grown < 4 * MB, `${grown} bytes of heap kept`);
  // and the 320-byte packet
  const big = Buffer.concat([MAGIC, randomBytes(16), arrayBomb(60)]);
  assert.equal(big.length, 320);
  assert.throws(() => decodeWire(big.subarray(20), MSGPACK_LIMITS.discovery), /declares more items than it holds/);
});

test('author-signed values: what does not decode as its type requires is a problem, never a crash', () => {
  const bomb = arrayBomb(60);
  assert.match(valueProblem('drayer', 'info', bomb)!, /^its value is not a valid drayer\/info value: it declares more items than it holds/);
  assert.match(valueProblem('drayer', 'info', encode([1]))!, /it is not a map$/);
  assert.match(valueProblem('drayer', 'primaryServers', encode({ a: 1 }))!, /not a valid drayer\/primaryServers value: it is not a list$/);
  assert.match(valueProblem('drayer', 'primaryServers', bomb)!, /not a valid drayer\/primaryServers value: it declares more items than it holds/);
  assert.equal(valueProblem('drayer', 'info', null), null); // metadata-only: nothing to check
  assert.equal(valueProblem('post', 'p', bomb), null); // untyped values are any bytes
  assert.equal(valueProblem('drayer', 'other', bomb), null);
  assert.equal(valueProblem('file', 'x', bomb), null); // any bytes may be put as a file: reading one says it is malformed
  assert.throws(
    () => parseFileValue(Buffer.concat([Uint8Array.from([bomb.length, 1, 0, 0]), bomb, new Uint8Array(256)])),
    (e: unknown) => {
      assert.ok(isDrayerError(e, 'CORRUPT'));
      assert.match((e as Error).message, /its header declares more items than it holds/);
      return true;
    },
  );
});

// ---------- fuzz ----------

/** msgpack values as Drayer and its peers produce them (and then some). */
const valueArb = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }),
  ),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('map')),
  array: fc.array(tie('node'), { maxLength: 6 }),
  map: fc.dictionary(
    fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'),
    tie('node'),
    { maxKeys: 6 },
  ),
})).node;

const lyingHeaders = [
  [0xdd, 0xff, 0xff, 0xff, 0xff],
  [0xdd, 0x02, 0x00, 0x00, 0x00],
  [0xdc, 0xff, 0xff],
  [0xdf, 0xff, 0xff, 0xff, 0xff],
  [0xde, 0xff, 0xff],
  [0xdb, 0xff, 0xff, 0xff, 0xff],
  [0xc6, 0x7f, 0xff, 0xff, 0xff],
  [0xc9, 0xff, 0xff, 0xff, 0xff, 0x05],
  [0xda, 0xff, 0xff],
  [0x9f],
  [0x8f],
].map((h) => Uint8Array.from(h));

/** Bytes from outside: random, structured, truncated, and structured with lying headers spliced in. */
const inputArb = fc.oneof(
  fc.uint8Array({ maxLength: 1500 }),
  valueArb.map((v) => encode(v)),
  fc.tuple(valueArb, fc.nat()).map(([v, k]) => {
    const b = encode(v);
    return b.subarray(0, k % (b.length + 1));
  }),
  fc.tuple(valueArb, fc.nat(), fc.array(fc.constantFrom(...lyingHeaders), { minLength: 1, maxLength: 60 })).map(([v, k, hs]) => {
    const b = encode(v);
    const at = k % (b.length + 1);
    return Buffer.concat([b.subarray(0, at), ...hs, b.subarray(at)]);
  }),
  fc.array(fc.constantFrom(...lyingHeaders), { minLength: 1, maxLength: 80 }).map((hs) => Buffer.concat(hs)),
);

/** Every decoder of outside bytes, as its callers use it: each returns, or throws a DrayerError. */
const decoders: [string, (b: Uint8Array) => unknown][] = [
  ...profiles.map(([name, L]) => [`decodeBounded ${name}`, (b: Uint8Array) => decodeBounded(b, L)] as [string, (b: Uint8Array) => unknown]),
  [
    'discovery packet body, then its record',
    (b) => {
      const m = decodeWire(b, MSGPACK_LIMITS.discovery) as { r?: unknown };
      if (m && typeof m === 'object' && 'r' in m) fromWire(m.r, new Uint8Array(32));
    },
  ],
  [
    'changes page, then its records',
    (b) => {
      const m = decodeWire(b, MSGPACK_LIMITS.changesPage) as { records?: unknown };
      if (m && Array.isArray(m.records)) for (const r of m.records) fromWire(r, new Uint8Array(32));
    },
  ],
  [
    'newRecords list, then its records',
    (b) => {
      const m = decodeWire(b, MSGPACK_LIMITS.newRecords);
      if (Array.isArray(m)) for (const r of m) fromWire(r, new Uint8Array(32));
    },
  ],
  ['drayer/info', decodeInfo],
  ['drayer/primaryServers', decodePrimaryServers],
  ['file value', (b) => parseFileValue(Buffer.concat([Uint8Array.from([b.length & 0xff, b.length >> 8, 0, 0]), b]))],
  ['file value, raw', parseFileValue],
  ['valueProblem', (b) => void ['info', 'primaryServers'].map((k) => valueProblem('drayer', k, b)).concat(valueProblem('file', 'f', b))],
];

/** Arrays in the result hold no more items than the input has bytes (what the library allocated). */
function itemsOf(v: unknown, depth = 0): number {
  if (depth > 32) throw new Error('deeper than any profile allows');
  if (Array.isArray(v)) return v.length + v.reduce((n: number, x) => n + itemsOf(x, depth + 1), 0);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) return Object.values(v).reduce((n: number, x) => n + 1 + itemsOf(x, depth + 1), 0);
  return 0;
}

test('fuzz: every decoder of outside bytes returns or refuses with a DrayerError, in bounded memory and time (fast-check)', () => {
  const heap0 = heapAfterGc();
  let peak = 0;
  let runs = 0;
  const t0 = performance.now();
  fc.assert(
    fc.property(inputArb, (input) => {
      runs++;
      for (const [name, fn] of decoders) {
        let out: unknown;
        try {
          out = fn(input);
        } catch (e) {
          assert.ok(isDrayerError(e), `${name} threw ${String(e)}`);
          continue;
        }
        // a few fields of the decoder's own (a file header's defaults: an empty header is data as it is) are no allocation the input drove
        assert.ok(itemsOf(out) <= input.length + 8, `${name} made more items than the input has bytes`);
      }
      if (runs % 50 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heap0);
    }),
    { numRuns: 1500, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
  );
  const ms = performance.now() - t0;
  const kept = heapAfterGc() - heap0;
  // a single bomb decoded unbounded is 260 MB; the whole run stays far below one
  assert.ok(peak < 96 * MB, `heap peaked ${Math.round(peak / MB)} MB above the start`);
  assert.ok(kept < 16 * MB, `${Math.round(kept / MB)} MB kept after the run`);
  assert.ok(ms < 60_000, `${Math.round(ms)} ms for ${runs} runs`);
});

test("fuzz: valid msgpack within a profile's limits decodes exactly as the library decodes it (fast-check)", () => {
  const L: MsgpackLimits = { ...MSGPACK_LIMITS.info, maxDepth: 16, maxMap: 64, maxArray: 64 };
  fc.assert(
    fc.property(valueArb, (v) => {
      const b = encode(v);
      assert.deepEqual(decodeBounded(b, L), decode(b));
      const raw = { ...MSGPACK_LIMITS.changesPage, maxDepth: 16 };
      assert.deepEqual(decodeBounded(b, raw), decode(b, { rawStrings: true }));
    }),
    { numRuns: 1000 },
  );
});
