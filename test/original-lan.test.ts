// The original Drayer's LAN packets (issue 20.5): what the real original multicast (committed bytes,
// test/fixtures/original/lan-packets.json) decoded and verified; hostile packets with its magic
// dropped without a crash, a stall or a big allocation; the packets we send for it, built as it
// reads them (bin keys: see discovery-original-wire.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encode } from '@msgpack/msgpack';
import { blake2b256, generateKeyPair } from '../app/core/crypto.js';
import { decodeBounded, MSGPACK_LIMITS } from '../app/core/msgpack.js';
import { signRecord } from '../app/core/record.js';

import {
  decodeOriginal,
  encodeOriginalRecord,
  encodeOriginalTip,
  MAX_ORIGINAL_PACKET,
  ORIGINAL_MAGIC,
  type OriginalMessage,
  type OriginalRecordMessage,
} from '../app/net/discovery-original-wire.js';
import { OriginalLan, FOLLOWER_TTL_MS, ORIGINAL_PEER_NAME } from '../app/net/discovery-original.js';
import { newOriginalStats } from '../app/net/discovery-types.js';
import { PeerTable } from '../app/net/discovery-peers.js';
import { arrayBomb } from './bombs.js';
import { hex, unhex, utf8 } from './helpers.js';

const fixture = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../test/fixtures/original/lan-packets.json', import.meta.url)), 'utf8')) as {
  chain: string;
  record: string;
  recordType: string;
  recordMod: number;
  recordId: number;
  httpport: number;
  getRecordsSince: string;
};

const withMagic = (body: Uint8Array | number[]): Uint8Array => new Uint8Array([...ORIGINAL_MAGIC, ...body]);

test("the real original's record announcement decodes and verifies as the record it wrote", () => {
  const m = decodeOriginal(unhex(fixture.record)) as OriginalMessage;
  assert.ok(m && m.t === 'record');
  assert.equal(hex(m.chain), fixture.chain);
  assert.equal(m.mod, fixture.recordMod);
  assert.equal(m.port, fixture.httpport);
  assert.ok(m.record, 'its signature verifies with ts = mod and the type it wrote');
  assert.equal(m.record.type, fixture.recordType);
  assert.equal(m.record.id, fixture.recordId);
  assert.equal(m.record.key, 'Post 2');
  assert.equal(m.record.val, null);
  const ask = decodeOriginal(unhex(fixture.getRecordsSince)) as OriginalMessage;
  assert.deepEqual(ask && { ...ask, chain: hex(ask.chain) }, { t: 'ask', chain: fixture.chain, mod: fixture.recordMod });
});

test('an altered record announcement is a holder M-tip, never a verified record', () => {
  const bytes = unhex(fixture.record);
  const sigAt = Buffer.from(bytes).indexOf(Buffer.from('a3736967c440', 'hex')) + 6; // "sig": bin8(64)
  bytes[sigAt] = bytes[sigAt]! ^ 1;
  const m = decodeOriginal(bytes) as OriginalRecordMessage;
  assert.equal(m.t, 'record');
  assert.equal(m.record, null);
  assert.equal(m.mod, fixture.recordMod);
});

test('hostile packets with the original magic are dropped, quickly and without a throw', () => {
  const chain = new Uint8Array(32).fill(7);
  const good = { mtype: 'record', chain, mod: 5, id: 1, prev: 0, prevch: 0, key: 'k', hash: new Uint8Array(32), sig: new Uint8Array(64), httpport: 80 };
  const hostile: [string, Uint8Array][] = [
    ['magic alone', withMagic([])],
    ['garbage', withMagic(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff))],
    ['an array32 bomb nested 60 deep', withMagic(arrayBomb(60))],
    ['a map32 declaring 4 G entries', withMagic([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61])],
    ['a bin32 declaring 4 GB', withMagic([0x81, 0xa3, 0x6b, 0x65, 0x79, 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])],
    ['a str32 declaring 4 GB', withMagic([0x81, 0xa3, 0x6b, 0x65, 0x79, 0xdb, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])],
    ['nesting', withMagic(encode({ mtype: 'record', chain: { a: { b: { c: [[[[1]]]] } } } }))],
    ['a map of 20 fields', withMagic(encode(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i]))))],
    ['larger than any packet it sends', withMagic(encode({ ...good, key: 'x'.repeat(MAX_ORIGINAL_PACKET) }))],
    ['a 31-byte chain', withMagic(encode({ ...good, chain: chain.subarray(1) }))],
    ['a negative mod', withMagic(encode({ ...good, mod: -5 }))],
    ['a mod as text', withMagic(encode({ ...good, mod: '5' }))],
    ['a port out of range', withMagic(encode({ ...good, httpport: 70000 }))],
    ['port 0', withMagic(encode({ ...good, httpport: 0 }))],
    ['a key that is not UTF-8', withMagic(encode({ ...good, key: new Uint8Array([0xff, 0xfe]) }))],
    ['an unknown kind', withMagic(encode({ ...good, mtype: 'rm -rf' }))],
    ['an ask without a time', withMagic(encode({ mtype: 'getRecordsSince', chain }))],
    ['a list, not a map', withMagic(encode([1, 2, 3]))],
    ['a __proto__ key', withMagic([0x81, 0xa9, ...utf8('__proto__'), 0x01])],
    ['a __proto__ key as a bin', withMagic([0x81, 0xc4, 9, ...utf8('__proto__'), 0x81, 0xa1, 0x61, 0x01])],
  ];
  const heapBefore = process.memoryUsage().heapUsed;
  for (const [what, p] of hostile) {
    let out: unknown;
    assert.doesNotThrow(() => (out = decodeOriginal(p)), what);
    assert.equal(out, null, what);
  }
  // a flood of them costs nothing lasting
  for (let i = 0; i < 2000; i++) for (const [, p] of hostile) decodeOriginal(p);
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024);
  // the well-formed one (unsigned: a holder's M-tip only) still decodes
  const m = decodeOriginal(withMagic(encode(good))) as OriginalRecordMessage;
  assert.equal(m.t, 'record');
  assert.equal(m.record, null);
});

test('the record packet we send has bin keys and what the original reads, and our nodes skip it', () => {
  const kp = generateKeyPair();
  const val = utf8('hello');
  const r = signRecord(
    {
      id: 3,
      type: 'post',
      key: 'p/1',
      val,
      hash: blake2b256(val),
      ts: 1_700_000_000_000_000,
      mod: 1_700_000_000_000_001,
      prev: 2,
      prevch: 1_600_000_000_000_000,
      chain: kp.publicKey,
    },
    kp,
  );
  const node = new Uint8Array(16).fill(9);
  const p = encodeOriginalRecord(r, 33125, node)!;
  assert.deepEqual([...p.subarray(0, 4)], [...ORIGINAL_MAGIC]);
  // every key is a bin (0xc4): msgpack-python ≥ 1.0 returns those as bytes, as `d[b"mtype"]` needs
  const body = p.subarray(4);
  assert.equal(body[0]! & 0xf0, 0x80);
  assert.equal(body[1], 0xc4);
  const m = decodeBounded(body, MSGPACK_LIMITS.originalPacket) as Record<string, unknown>;
  assert.deepEqual(Object.keys(m).sort(), ['chain', 'hash', 'httpport', 'id', 'key', 'mod', 'mtype', 'node', 'prev', 'prevch', 'sig'].sort());
  assert.deepEqual([m.mod, m.id, m.httpport, m.prev, m.prevch], [r.mod, r.id, 33125, r.prev, r.prevch]);
  assert.equal(hex(m.chain as Uint8Array), hex(r.chain));
  assert.equal(new TextDecoder().decode(m.mtype as Uint8Array), 'record');
  assert.equal(decodeOriginal(p), 'ours', 'our own nodes skip it (they hear our own packets)');
  assert.equal(decodeOriginal(encodeOriginalTip(r.chain, 9, 80, node)), 'ours');
  assert.ok(p.length <= MAX_ORIGINAL_PACKET);
});

test('originals heard of a stream get our new records; asks are answered when ours is newer, at most once a second', () => {
  const chain = unhex(fixture.chain);
  const sent: Uint8Array[] = [];
  const events: string[] = [];
  const changed: string[] = [];
  const table = new PeerTable(64, 30_000);
  const stats = newOriginalStats();
  let mtip = fixture.recordMod + 10;
  const o = new OriginalLan(
    {
      nodeId: new Uint8Array(16).fill(1),
      ours: { port: () => 4000, stream: (pk) => (hex(pk) === fixture.chain ? { publicKey: pk, mtip } : undefined) },
      table,
      send: (p) => sent.push(p),
      emit: (e) => events.push(e),
      changed: (id) => changed.push(id),
    },
    stats,
  );
  const kp = generateKeyPair();
  const val = utf8('x');
  const mine = signRecord({ id: 1, type: 'post', key: 'k', val, hash: blake2b256(val), ts: 5, mod: 6, prev: 0, prevch: 0, chain: kp.publicKey }, kp);
  const t0 = 1_000_000;
  // nobody heard of: no packet
  o.recordMade(chain, { ...mine, chain }, t0);
  assert.equal(sent.length, 0);
  // its record announcement: a peer holding the stream, a verified record and a holder's M-tip
  assert.equal(o.packet(unhex(fixture.record), '10.0.0.5', t0), 'ok');
  assert.deepEqual(events, ['record', 'stream']);
  assert.equal(changed.length, 1);
  const peer = table.peer(changed[0]!, '10.0.0.5', t0)!;
  assert.equal(peer.name, ORIGINAL_PEER_NAME);
  assert.equal(peer.port, fixture.httpport);
  assert.equal(hex(peer.streams[0]!.publicKey), fixture.chain);
  // so our new records of that stream go to it
  o.recordMade(chain, { ...mine, chain }, t0 + 1);
  assert.equal(sent.length, 1);
  assert.equal(hex((decodeBounded(sent[0]!.subarray(4), MSGPACK_LIMITS.originalPacket) as { chain: Uint8Array }).chain), fixture.chain);
  // its ask, our tip newer: answered once, not again within a second
  assert.equal(o.packet(unhex(fixture.getRecordsSince), '10.0.0.5', t0 + 2), 'ok');
  assert.equal(o.packet(unhex(fixture.getRecordsSince), '10.0.0.6', t0 + 3), 'ok');
  assert.equal(sent.length, 2);
  const answer = decodeBounded(sent[1]!.subarray(4), MSGPACK_LIMITS.originalPacket) as { mod: number; httpport: number };
  assert.deepEqual([answer.mod, answer.httpport], [mtip, 4000]);
  // ours no newer: no answer
  mtip = fixture.recordMod;
  assert.equal(o.packet(unhex(fixture.getRecordsSince), '10.0.0.5', t0 + 5000), 'ok');
  assert.equal(sent.length, 2);
  assert.deepEqual([stats.originalRecords, stats.originalVerified, stats.originalAsks, stats.originalSent, stats.originalAnswers], [1, 1, 3, 1, 1]);
  // hours later, with nothing heard from it, it is no longer sent to
  const later = t0 + 5000 + FOLLOWER_TTL_MS;
  assert.equal(o.followedByOriginal(chain, later - 1), true);
  o.sweep(later);
  o.recordMade(chain, { ...mine, chain }, later);
  assert.equal(sent.length, 2);
  assert.equal(o.followedByOriginal(chain, later), false);
});
