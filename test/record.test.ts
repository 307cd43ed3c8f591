import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableBackends, blake2b256, cryptoBackend, keyPairFromSeed, setCryptoBackend, sign, verify } from '../app/core/crypto.js';
import { slabBytes } from '../app/core/slab.js';
import { decodeWire, encodeWire, fromWire, signingBytes, toWire, type DrayerRecord } from '../app/core/record.js';
import { hex, unhex } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// shared/ sits beside the repository; tests run from dist/test
const vectorFile = [
  path.join(here, '../../../shared/vectors/original-drayer-signatures.json'),
  path.join(here, '../../test/vectors/original-drayer-signatures.json'),
].find((f) => fs.existsSync(f))!;
const V = JSON.parse(fs.readFileSync(vectorFile, 'utf8'));

function vectorRecords(): (DrayerRecord & { signed: string })[] {
  return V.records.map((r: any) => ({
    id: r.id,
    type: r.type,
    key: r.key,
    val: unhex(r.val_hex),
    hash: unhex(r.hash_hex),
    ts: r.ts,
    mod: r.mod,
    prev: r.prev,
    prevch: r.prevch,
    sig: unhex(r.sig_hex),
    chain: unhex(V.public_key_hex),
    signed: r.signed_bytes_hex,
  }));
}

test('the public key derived from the fixed seed matches the original Drayer', () => {
  const kp = keyPairFromSeed(unhex(V.seed_hex));
  assert.equal(hex(kp.publicKey), V.public_key_hex);
  assert.equal(Buffer.from(kp.publicKey).toString('base64'), V.public_key_b64);
});

test('BLAKE2b-256 of each vector value matches libsodium generichash', () => {
  for (const r of vectorRecords()) assert.equal(hex(blake2b256(r.val!)), hex(r.hash));
  // the empty input, a well-known libsodium value
  assert.equal(hex(blake2b256(new Uint8Array(0))), '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
});

test('signing bytes and signatures match the original implementation byte for byte', () => {
  const kp = keyPairFromSeed(unhex(V.seed_hex));
  for (const r of vectorRecords()) {
    assert.equal(hex(signingBytes(r)), r.signed);
    assert.equal(hex(sign(signingBytes(r), kp)), hex(r.sig));
    assert.ok(verify(signingBytes(r), r.sig, kp.publicKey));
  }
});

test('libsodium, node crypto and tweetnacl give identical signatures and agree on verification', () => {
  const before = cryptoBackend();
  try {
    const kp = keyPairFromSeed(unhex(V.seed_hex));
    const msgs = [new Uint8Array(0), unhex('00ff'), new Uint8Array(1000).fill(7)];
    const sigs: Record<string, string[]> = {};
    const backends = availableBackends();
    // sodium-native ships prebuilt binaries for the platforms Drayer runs on; it must load here.
    assert.deepEqual(backends, ['sodium', 'node', 'tweetnacl']);
    for (const b of backends) {
      setCryptoBackend(b);
      const kp2 = keyPairFromSeed(kp.seed);
      assert.equal(hex(kp2.publicKey), hex(kp.publicKey));
      sigs[b] = msgs.map((m) => hex(sign(m, kp2)));
      // into a caller's buffer (a slab's view, slab.ts), every backend the same bytes
      const into = slabBytes(64);
      assert.equal(sign(msgs[1]!, kp2, into), into);
      assert.equal(hex(into), sigs[b]![1]);
      for (const m of msgs) {
        const s = sign(m, kp2);
        assert.ok(verify(m, s, kp2.publicKey));
        const bad = new Uint8Array(s);
        bad[0]! ^= 1;
        assert.ok(!verify(m, bad, kp2.publicKey));
      }
    }
    assert.deepEqual(sigs.node, sigs.tweetnacl);
    assert.deepEqual(sigs.sodium, sigs.tweetnacl);
  } finally {
    setCryptoBackend(before);
  }
});

test('wire form round-trips, and str-packed byte fields (msgpack-python 0.x) decode as bytes', () => {
  const [r] = vectorRecords();
  const back = fromWire(decodeWire(encodeWire(toWire(r!))), r!.chain);
  assert.equal(hex(signingBytes(back)), hex(signingBytes(r!)));
  assert.equal(hex(back.val!), hex(r!.val!));
  // Hand-built msgpack map where val/hash/sig/chain are *str* (0xd9/0xda) not bin.
  const strPacked = msgpackStrMap(r!);
  const old = fromWire(decodeWire(strPacked), r!.chain);
  assert.equal(hex(old.sig), hex(r!.sig));
  assert.equal(hex(old.hash), hex(r!.hash));
  assert.equal(old.type, r!.type);
  assert.equal(old.key, r!.key);
});

function msgpackStrMap(r: DrayerRecord): Uint8Array {
  const parts: number[] = [];
  const str = (b: Uint8Array) => {
    if (b.length < 32) parts.push(0xa0 | b.length);
    else if (b.length < 256) parts.push(0xd9, b.length);
    else parts.push(0xda, b.length >> 8, b.length & 255);
    parts.push(...b);
  };
  const int = (n: number) => {
    parts.push(0xcf);
    const v = BigInt(n);
    for (let i = 7; i >= 0; i--) parts.push(Number((v >> BigInt(i * 8)) & 255n));
  };
  const enc = new TextEncoder();
  parts.push(0x80 | 11);
  const fields: [string, () => void][] = [
    ['id', () => int(r.id)],
    ['type', () => str(enc.encode(r.type))],
    ['key', () => str(enc.encode(r.key))],
    ['val', () => str(r.val!)],
    ['hash', () => str(r.hash)],
    ['ts', () => int(r.ts)],
    ['mod', () => int(r.mod)],
    ['prev', () => int(r.prev)],
    ['prevch', () => int(r.prevch)],
    ['sig', () => str(r.sig)],
    ['chain', () => str(r.chain)],
  ];
  for (const [k, f] of fields) {
    str(enc.encode(k));
    f();
  }
  return new Uint8Array(parts);
}

test('BLAKE2b-256 (libsodium) matches hash-wasm, whole and streamed', async () => {
  const { createBLAKE2b } = await import('hash-wasm');
  const { blake2b256Hasher } = await import('../app/core/crypto.js');
  const ref = await createBLAKE2b(256);
  for (const n of [0, 1, 127, 128, 129, 65_536, 1_048_577]) {
    const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
    ref.init();
    ref.update(data);
    const want = hex(ref.digest('binary'));
    assert.equal(hex(blake2b256(data)), want, `${n} bytes`);
    const h = await blake2b256Hasher();
    for (let i = 0; i < n; i += 10_000) h.update(data.subarray(i, i + 10_000));
    assert.equal(hex(h.digest()), want, `${n} bytes streamed`);
  }
});

test('slab views are zeroed, 8-byte aligned, never overlap, and go on past a block', () => {
  const views = Array.from({ length: 600 }, (_, i) => slabBytes(i % 2 ? 64 : 32));
  const seen = new Map<ArrayBufferLike, [number, number][]>();
  for (const v of views) {
    assert.ok(v.every((b) => b === 0));
    assert.equal(v.byteOffset % 8, 0);
    const spans = seen.get(v.buffer) ?? [];
    for (const [a, b] of spans) assert.ok(v.byteOffset >= b || v.byteOffset + v.length <= a, 'two views share bytes');
    spans.push([v.byteOffset, v.byteOffset + v.length]);
    seen.set(v.buffer, spans);
    v.fill(0xff); // a later view must not see this
  }
  assert.ok(seen.size >= 4, `600 views of 32–64 bytes fill more than one 8 KiB block (${seen.size})`);
  assert.equal(slabBytes(10_000).length, 10_000);
});
