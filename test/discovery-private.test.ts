// Private announcements (issue 18): the sealed items and what a node does with hostile ones.
// The packets go through the real wire decoder (discovery-wire.ts) into a PrivateLan whose
// Discovery is a stand-in that records what it is asked to send.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { generateKeyPair, randomBytes } from '../app/core/crypto.js';
import { signRecord, type DrayerRecord } from '../app/core/record.js';
import type { Discovery } from '../app/net/discovery.js';
import { PrivateLan } from '../app/net/discovery-private.js';
import {
  buildPrivatePackets,
  EPOCH_MS,
  epochOf,
  MAX_PRIVATE_ITEMS,
  openItem,
  privateKeys,
  sealItem,
  tagOf,
  TAG_BYTES,
} from '../app/net/discovery-private-wire.js';
import { decodeMessage, frame, hexOf, MAX_PACKET, readHeader } from '../app/net/discovery-wire.js';
import { blake2b256 } from '../app/core/crypto.js';

const utf8 = new TextEncoder();

function record(kp = generateKeyPair(), text = 'a short post', mod = 1_000_000): DrayerRecord {
  const val = utf8.encode(text);
  return signRecord({ id: 2, type: 'publicSocialPost', key: 'p1', val, hash: blake2b256(val), ts: 1, mod, prev: 1, prevch: 1, chain: kp.publicKey }, kp);
}

/** A PrivateLan beside a stand-in Discovery; `deliver` hands it a packet as Discovery would. */
function lan(known: Uint8Array[], served: { publicKey: Uint8Array; mtip: number; own?: boolean }[] = [], announceIntervalMs?: number) {
  const d = new EventEmitter() as EventEmitter & { sent: Uint8Array[]; sendPacket(p: Uint8Array): void };
  d.sent = [];
  d.sendPacket = (p) => d.sent.push(p);
  const events: { kind: string; ev: any }[] = [];
  d.on('stream', (ev) => events.push({ kind: 'stream', ev }));
  d.on('record', (ev) => events.push({ kind: 'record', ev }));
  const p = new PrivateLan(d as unknown as Discovery, randomBytes(16), {
    streams: () => served,
    stream: (pk) => served.find((s) => hexOf(s.publicKey) === hexOf(pk)),
    known: () => known,
    httpPort: () => 4321,
    announceIntervalMs,
  });
  p.start();
  const deliver = (packet: Uint8Array, address = '127.0.0.9') => {
    const sender = readHeader(packet);
    assert.ok(typeof sender !== 'string');
    const m = decodeMessage(packet);
    if (!m) return 'dropped by the wire decoder';
    assert.equal(m.t, 'p');
    d.emit('private', { body: (m as { body: Record<string, unknown> }).body, sender, nodeId: hexOf(sender), address });
    return 'delivered';
  };
  return { p, d, events, deliver };
}

test('tags: 16 bytes, one per stream and hour; an item opens only with its key, its sender and its hour', () => {
  const a = privateKeys(generateKeyPair().publicKey);
  const b = privateKeys(generateKeyPair().publicKey);
  const e = epochOf(Date.now());
  assert.equal(tagOf(a, e).length, TAG_BYTES);
  assert.notEqual(hexOf(tagOf(a, e)), hexOf(tagOf(a, e + 1)), 'the tag changes every hour');
  assert.notEqual(hexOf(tagOf(a, e)), hexOf(tagOf(b, e)));
  assert.equal(hexOf(tagOf(a, e)), hexOf(tagOf(privateKeys(a.publicKey), e)), 'and is the same for everyone who knows the key');
  assert.equal(epochOf(EPOCH_MS * 5 + 1), 5);
  const sender = randomBytes(16);
  const [, nonce, box] = sealItem(a, sender, e, { k: 'a', mtip: 77 });
  assert.deepEqual(openItem(a, sender, e, { nonce: nonce!, box: box! }), { k: 'a', mtip: 77 });
  assert.equal(openItem(b, sender, e, { nonce: nonce!, box: box! }), null, 'another key');
  assert.equal(openItem(a, randomBytes(16), e, { nonce: nonce!, box: box! }), null, 'replayed by another node');
  assert.equal(openItem(a, sender, e + 1, { nonce: nonce!, box: box! }), null, 'replayed an hour later');
  const flipped = new Uint8Array(box!);
  flipped[5]! ^= 1;
  assert.equal(openItem(a, sender, e, { nonce: nonce!, box: flipped }), null, 'altered');
});

test('a record sealed: with its value when it fits, whole and verified on opening; a record of another chain or a bad signature does not open', () => {
  const kp = generateKeyPair();
  const keys = privateKeys(kp.publicKey);
  const sender = randomBytes(16);
  const e = epochOf(Date.now());
  const r = record(kp);
  const [packet] = buildPrivatePackets(sender, 80, [sealItem(keys, sender, e, { k: 'r', record: r })]);
  assert.ok(packet && packet.length <= MAX_PACKET);
  const m = decodeMessage(packet) as { t: 'p'; body: { e: Uint8Array[][] } };
  const [, nonce, box] = m.body.e[0]!;
  const opened = openItem(keys, sender, e, { nonce: nonce!, box: box! });
  assert.equal(opened?.k, 'r');
  assert.deepEqual((opened as { record: DrayerRecord }).record.val, r.val);
  // signed by another key but sealed with this stream's: refused
  const other = record(generateKeyPair());
  const [, n2, b2] = sealItem(keys, sender, e, { k: 'r', record: other });
  assert.equal(openItem(keys, sender, e, { nonce: n2!, box: b2! }), null);
  const forged = { ...r, val: utf8.encode('changed') };
  const [, n3, b3] = sealItem(keys, sender, e, { k: 'r', record: forged });
  assert.equal(openItem(keys, sender, e, { nonce: n3!, box: b3! }), null);
  // many items: packets within the size and item bounds
  const many = Array.from({ length: 40 }, () => sealItem(keys, sender, e, { k: 'a', mtip: 1 }));
  const packets = buildPrivatePackets(sender, 80, many);
  assert.ok(packets.length >= 3 && packets.every((p) => p.length <= MAX_PACKET));
  assert.equal(
    packets.reduce((n, p) => n + (decodeMessage(p) as unknown as { body: { e: unknown[] } }).body.e.length, 0),
    40,
  );
});

test('hostile private packets are dropped cheaply: unknown tags unopened, too many items unread, bad seals and replays counted; good ones still heard', () => {
  const kp = generateKeyPair();
  const keys = privateKeys(kp.publicKey);
  const { p, events, deliver, d } = lan([kp.publicKey]);
  const sender = randomBytes(16);
  const e = epochOf(Date.now());
  const garbageItem = () => [randomBytes(TAG_BYTES), randomBytes(24), randomBytes(18)];
  try {
    // garbage tags: looked up, never opened
    const flood = Array.from({ length: 2000 }, () => frame(randomBytes(16), { t: 'p', p: 80, e: Array.from({ length: MAX_PRIVATE_ITEMS }, garbageItem) }));
    const t0 = performance.now();
    for (const packet of flood) deliver(packet);
    const garbageMs = performance.now() - t0;
    let s = p.stats();
    assert.equal(s.unknown, 2000 * MAX_PRIVATE_ITEMS);
    assert.equal(s.opened + s.badSeal + s.invalid, 0);
    assert.ok((p as unknown as { heardTags: Map<string, unknown> }).heardTags.size <= 1024, 'the tags kept are bounded');
    // too many items, wrong sizes, wrong shapes: the packet is dropped unread
    deliver(frame(sender, { t: 'p', p: 80, e: Array.from({ length: MAX_PRIVATE_ITEMS + 1 }, garbageItem) }));
    deliver(frame(sender, { t: 'p', p: 80, e: [[randomBytes(8), randomBytes(24), randomBytes(40)]] }));
    deliver(frame(sender, { t: 'p', p: 80, e: [[tagOf(keys, e), randomBytes(12), randomBytes(40)]] }));
    deliver(frame(sender, { t: 'p', p: 99999, e: [garbageItem()] }));
    deliver(frame(sender, { t: 'p', p: 80, e: 'x' }));
    deliver(frame(sender, { t: 'p', p: 80, e: [] }));
    s = p.stats();
    assert.equal(s.invalid, 6);
    assert.equal(s.unknown, 2000 * MAX_PRIVATE_ITEMS, 'nothing of them was looked at');
    // our stream's tag with a bad seal; a good item replayed under another node id; one from three hours ago
    deliver(frame(sender, { t: 'p', p: 80, e: [[tagOf(keys, e), randomBytes(24), randomBytes(60)]] }));
    const good = sealItem(keys, sender, e, { k: 'r', record: record(kp) });
    deliver(frame(randomBytes(16), { t: 'p', p: 80, e: [good] }));
    deliver(frame(sender, { t: 'p', p: 80, e: [sealItem(keys, sender, e - 3, { k: 'a', mtip: 5 })] }));
    s = p.stats();
    assert.equal(s.badSeal, 2);
    assert.equal(s.unknown, 2000 * MAX_PRIVATE_ITEMS + 1, 'an old hour is not ours any more');
    assert.equal(events.length, 0, 'nothing was handed on');
    // the genuine ones: a record and a listing entry are handed on as plain ones are
    deliver(frame(sender, { t: 'p', p: 80, e: [good] }));
    deliver(frame(sender, { t: 'p', p: 8080, e: [sealItem(keys, sender, e, { k: 'a', mtip: 2_000_000 })] }), '127.0.0.7');
    assert.deepEqual(
      events.map((x) => x.kind),
      ['record', 'stream'],
    );
    assert.equal(events[0]!.ev.port, 80);
    assert.deepEqual(events[1]!.ev.publicKey, kp.publicKey);
    assert.deepEqual(
      p.holders(kp.publicKey).map((h) => `${h.address}:${h.port} ${h.mtip}`),
      ['127.0.0.9:80 1000000', '127.0.0.7:8080 2000000'],
    );
    assert.equal(d.sent.length, 0, 'nothing made this node talk');
    // an old node reads nothing of it: 'p' is no message it knows (decodeMessage hands it on only as a body)
    console.log(`# 2000 packets of ${MAX_PRIVATE_ITEMS} unknown tags: ${garbageMs.toFixed(0)} ms`);
  } finally {
    p.stop();
  }
});

test('a sealed ask for a stream served privately is answered sealed, once a second; a follow learns holders heard before', () => {
  const kp = generateKeyPair();
  const keys = privateKeys(kp.publicKey);
  const { p, d, deliver } = lan([kp.publicKey], [{ publicKey: kp.publicKey, mtip: 500 }]);
  const asker = randomBytes(16);
  const e = epochOf(Date.now());
  try {
    d.sent.length = 0;
    deliver(frame(asker, { t: 'p', p: 80, e: [sealItem(keys, asker, e, { k: 'q', mod: 100 })] }));
    deliver(frame(asker, { t: 'p', p: 80, e: [sealItem(keys, asker, e, { k: 'q', mod: 100 })] }));
    deliver(frame(asker, { t: 'p', p: 80, e: [sealItem(keys, asker, e, { k: 'q', mod: 900 })] }));
    assert.equal(d.sent.length, 1, 'one answer, and none for an ask as new as ours');
    const m = decodeMessage(d.sent[0]!) as unknown as { body: { p: number; e: Uint8Array[][] } };
    const sender = readHeader(d.sent[0]!) as Uint8Array;
    assert.equal(m.body.p, 4321);
    assert.deepEqual(openItem(keys, sender, e, { nonce: m.body.e[0]![1]!, box: m.body.e[0]![2]! }), { k: 'a', mtip: 500 });
  } finally {
    p.stop();
  }
  // a node that does not hold the stream keeps the item; following it finds the holder
  const later = lan([]);
  try {
    const holder = randomBytes(16);
    later.deliver(frame(holder, { t: 'p', p: 8080, e: [sealItem(keys, holder, e, { k: 'a', mtip: 42 })] }), '127.0.0.5');
    assert.equal(later.p.holders(kp.publicKey).length, 0);
    assert.equal(later.p.heardPrivately(kp.publicKey), true);
    assert.equal(later.p.heardPrivately(generateKeyPair().publicKey), false);
    assert.equal(later.p.learn(kp.publicKey), 1);
    assert.deepEqual(later.p.holders(kp.publicKey), [{ address: '127.0.0.5', port: 8080, nodeId: hexOf(holder), mtip: 42 }]);
  } finally {
    later.p.stop();
  }
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('Trickle for private entries: a mirror leaves out a stream another computer announced privately at its M-tip or newer; a writer, or a mirror ahead of what it heard, never does', async () => {
  const e = () => epochOf(Date.now());
  // three streams: heard at our M-tip, heard only at an older one, and one we write (heard too)
  const [same, older, mine] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  const served = [
    { publicKey: same.publicKey, mtip: 500 },
    { publicKey: older.publicKey, mtip: 500 },
    { publicKey: mine.publicKey, mtip: 500, own: true },
  ];
  const { p, d, deliver } = lan([same.publicKey, older.publicKey, mine.publicKey], served, 100);
  const other = randomBytes(16);
  const heard = (kp: { publicKey: Uint8Array }, mtip: number) => sealItem(privateKeys(kp.publicKey), other, e(), { k: 'a', mtip });
  /** the streams this node listed in the packets it sent, by which of the three */
  const listed = () => {
    const out: string[] = [];
    for (const packet of d.sent) {
      const sender = readHeader(packet) as Uint8Array;
      for (const [, nonce, box] of (decodeMessage(packet) as unknown as { body: { e: Uint8Array[][] } }).body.e)
        for (const [name, kp] of [
          ['same', same],
          ['older', older],
          ['mine', mine],
        ] as const)
          if (openItem(privateKeys(kp.publicKey), sender, e(), { nonce: nonce!, box: box! })) out.push(name);
    }
    return out;
  };
  try {
    await sleep(30); // the first listing, before anything was heard
    assert.deepEqual(listed().sort(), ['mine', 'older', 'same']);
    d.sent.length = 0;
    // another computer announces all three every 20 ms for 10 intervals (a writer announces each interval)
    for (let i = 0; i < 50; i++) {
      deliver(frame(other, { t: 'p', p: 80, e: [heard(same, 500), heard(older, 400), heard(mine, 900)] }), '127.0.0.6');
      await sleep(20);
    }
    const counts = listed().reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
    assert.equal(counts.get('same') ?? 0, 0, `a mirrored stream the LAN announced at our M-tip is not re-listed: ${[...counts]}`);
    assert.ok((counts.get('older') ?? 0) >= 5, `heard only at an older M-tip: still listed each interval: ${[...counts]}`);
    assert.ok((counts.get('mine') ?? 0) >= 5, `a stream this node writes is always listed: ${[...counts]}`);
    assert.ok(p.stats().suppressed >= 5, JSON.stringify(p.stats()));
    // the announcer goes quiet: within an interval or two the mirror lists the stream again
    d.sent.length = 0;
    await sleep(350);
    assert.ok(listed().includes('same'), 'nobody else announces it: the mirror does');
  } finally {
    p.stop();
  }
});

test('the sealed private listing over HTTP: a node knowing the key reads it as if heard on the LAN; only the listing node’s own packets, a round at most; strangers learn nothing', () => {
  const kp = generateKeyPair();
  const server = lan([kp.publicKey], [{ publicKey: kp.publicKey, mtip: 777 }]);
  const reader = lan([kp.publicKey]);
  const stranger = lan([]);
  try {
    const packets = server.p.sealedListing();
    assert.equal(packets.length, 1);
    assert.strictEqual(server.p.sealedListing(), server.p.sealedListing(), 'sealed at most once a second');
    const id = hexOf(readHeader(packets[0]!) as Uint8Array);
    for (const text of [hexOf(kp.publicKey), Buffer.from(kp.publicKey).toString('base64'), Buffer.from(kp.publicKey).toString('base64url')])
      assert.ok(!Buffer.from(packets[0]!).toString('latin1').includes(text) && !Buffer.from(packets[0]!).includes(Buffer.from(kp.publicKey)));
    // under another node's id (a replay by someone else's listing), junk, or too many: not read
    reader.p.hearSealed(packets, '127.0.0.8', 'ab'.repeat(16));
    reader.p.hearSealed([randomBytes(40), new Uint8Array(MAX_PACKET + 1)], '127.0.0.8', id);
    assert.equal(reader.events.length, 0);
    assert.equal(reader.p.stats().invalid, 3);
    reader.p.hearSealed(
      Array.from({ length: 100 }, () => packets[0]!),
      '127.0.0.8',
      id,
    );
    assert.equal(reader.p.stats().opened, 8, 'at most a round (8 packets) of one listing is read');
    assert.deepEqual(reader.events[0]!.ev, { publicKey: kp.publicKey, mtip: 777, address: '127.0.0.8', port: 4321, nodeId: id });
    assert.deepEqual(reader.p.holders(kp.publicKey), [{ address: '127.0.0.8', port: 4321, nodeId: id, mtip: 777 }]);
    // a stranger opens nothing, but a follow by key afterwards finds the holder
    stranger.p.hearSealed(packets, '127.0.0.8', id);
    assert.equal(stranger.events.length, 0);
    assert.equal(stranger.p.stats().opened, 0);
    assert.equal(stranger.p.learn(kp.publicKey), 1);
    assert.equal(stranger.p.holders(kp.publicKey)[0]?.address, '127.0.0.8');
    assert.deepEqual(lan([]).p.sealedListing(), [], 'no private streams: nothing');
  } finally {
    for (const x of [server, reader, stranger]) x.p.stop();
  }
});
