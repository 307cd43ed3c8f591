// Several devices, one stream (DESIGN §9) in the store: a device's chain counts only inside the
// window the owner's drayer/siblings record gives it; removing a device refuses its later records
// everywhere and keeps its earlier ones; reads merge the chains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { blake2b256, generateKeyPair } from '../app/core/crypto.js';
import { decodeSiblings, idRangeOf } from '../app/core/siblings.js';
import { signRecord } from '../app/core/record.js';
import { Stream, writeKeyFile } from '../app/store/store.js';
import { devicePathFor } from '../app/store/devices.js';
import { NOT_A_DEVICE } from '../app/store/apply.js';
import { tmpDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

/** A device's copy of `owner`'s stream: an empty mirror with a device key pair beside it (what drayer device init makes). */
function deviceCopy(dir: string, name: string, owner: Stream): Stream {
  const file = path.join(dir, `${name}.stream`);
  Stream.create(file, { followKey: owner.publicKey }).close();
  writeKeyFile(devicePathFor(file), generateKeyPair());
  return Stream.open(file);
}

/** Everything `src` holds, applied to `dst` (a full pull from the start). */
function pull(dst: Stream, src: Stream) {
  return dst.apply(src.changesSince(0, { limit: 100_000 }).records);
}

const view = (s: Stream) =>
  [...s.iterate({ withValues: true })]
    .map((r) => `${Buffer.from(r.chain).toString('base64').slice(0, 6)}/${r.id}/${r.type}/${r.key}/${r.mod}`)
    .sort()
    .join('\n');

test('a device posts into its own chain once the owner lists it; every copy shows one merged stream', () => {
  const dir = tmpDir();
  const owner = Stream.create(path.join(dir, 'owner.stream'), { name: 'me' });
  const laptop = deviceCopy(dir, 'laptop', owner);
  const follower = Stream.create(path.join(dir, 'follower.stream'), { followKey: owner.publicKey });
  const pk = laptop.devices().mine!;
  assert.ok(pk && pk.length === 32);
  owner.put('post', 'a', text('from the owner'));
  pull(laptop, owner);

  // Not listed yet: the device writes nothing (no other copy would take it), and says what to do.
  assert.throws(() => laptop.put('post', 'early', text('before pairing')), /not listed by the stream yet.*drayer device add/);

  owner.addDevice(pk, 'laptop');
  assert.deepEqual(
    decodeSiblings(owner.get('drayer', 'siblings')!.val!).map((s) => [Buffer.from(s.pubkey).toString('base64'), s.to, s.name]),
    [[Buffer.from(pk).toString('base64'), 0, 'laptop']],
  );
  // the original's shape: a msgpack list of maps {pubkey, timestamp, from, to}
  const raw = decode(owner.get('drayer', 'siblings')!.val!) as Record<string, unknown>[];
  assert.deepEqual(Object.keys(raw[0]!).slice(0, 4), ['pubkey', 'timestamp', 'from', 'to']);

  pull(laptop, owner);
  const p = laptop.put('post', 'b', text('from the laptop'));
  assert.equal(p.id >= idRangeOf(pk).first, true, 'a device numbers its records in its own range');
  assert.ok(Buffer.from(p.chain).equals(Buffer.from(pk)), "the post is in the laptop's chain");
  const r = pull(owner, laptop);
  assert.ok(
    r.stored.some((x) => x.key === 'b'),
    JSON.stringify(r.rejected.map((x) => x.reason)),
  );
  assert.equal(owner.get('post', 'early'), undefined, 'a record from before its window stays refused');
  pull(follower, owner);
  for (const s of [owner, laptop, follower]) {
    assert.deepEqual(
      s.list('post').map((x) => x.key),
      ['b', 'a'],
      `${s.file} merges both chains, newest first`,
    );
    assert.equal(Buffer.from(s.get('post', 'b')!.val!).toString(), 'from the laptop');
    assert.equal(s.getById(p.id)?.key, 'b');
  }
  assert.deepEqual(owner.verify().problems, []);
  assert.deepEqual(follower.verify().problems, []);

  // The laptop edits and deletes its own records; the changes travel like the owner's.
  laptop.put('post', 'b', text('edited on the laptop'));
  laptop.put('post', 'c', text('third'));
  laptop.delete('post', 'c');
  pull(follower, laptop);
  pull(owner, follower);
  assert.equal(Buffer.from(owner.get('post', 'b')!.val!).toString(), 'edited on the laptop');
  assert.equal(owner.get('post', 'c'), undefined);
  assert.equal(view(owner), view(follower));
  for (const s of [owner, laptop, follower]) s.close();
});

test('a removed device: its later records are refused by every copy, its earlier ones stay', () => {
  const dir = tmpDir();
  const owner = Stream.create(path.join(dir, 'owner.stream'), { name: 'me' });
  const phone = deviceCopy(dir, 'phone', owner);
  const mirror = Stream.create(path.join(dir, 'mirror.stream'), { followKey: owner.publicKey });
  const pk = phone.devices().mine!;
  owner.addDevice(pk, 'phone');
  pull(phone, owner);
  phone.put('post', 'kept', text('made while listed'));
  pull(owner, phone);
  // The phone races its removal: it posts, a mirror takes it, the owner (who has not seen it) removes the phone.
  phone.put('post', 'late', text('after the owner last saw the phone'));
  pull(mirror, phone);
  assert.ok(mirror.get('post', 'late'), 'the mirror took it while the phone was listed');
  owner.removeDevice(pk);
  assert.notEqual(decodeSiblings(owner.get('drayer', 'siblings')!.val!)[0]!.to, 0);
  const res = pull(mirror, owner);
  assert.ok(res.siblingsChanged);
  assert.equal(mirror.get('post', 'late'), undefined, 'the mirror drops what the removal no longer admits');
  assert.ok(mirror.get('post', 'kept'), 'earlier records stay');
  // The phone has not synced its removal: it still writes, and every other copy refuses it.
  phone.put('post', 'after', text('after removal'));
  const again = pull(mirror, phone);
  assert.ok(again.rejected.some((x) => x.record.key === 'after' && x.reason === NOT_A_DEVICE));
  pull(owner, phone);
  assert.equal(owner.get('post', 'after'), undefined);
  assert.equal(owner.get('post', 'late'), undefined);
  assert.ok(owner.get('post', 'kept'));
  assert.equal(view(owner), view(mirror));
  assert.deepEqual(mirror.verify().problems, []);
  for (const s of [owner, phone, mirror]) s.close();
});

test('a device record with an id outside its range, or signed by an unlisted key, is refused', () => {
  const dir = tmpDir();
  const owner = Stream.create(path.join(dir, 'owner.stream'), { name: 'me' });
  const dev = generateKeyPair();
  owner.addDevice(dev.publicKey);
  const base = { type: 'post', key: 'x', val: text('v'), ts: 1, prev: 0, prevch: 0, chain: dev.publicKey };
  const good = signRecord({ ...base, id: idRangeOf(dev.publicKey).first, hash: blake2b256(base.val), mod: Date.now() * 1000 + 5e6 }, dev);
  const outside = signRecord({ ...base, id: 1, hash: blake2b256(base.val), mod: Date.now() * 1000 + 6e6 }, dev);
  const stranger = generateKeyPair();
  const unlisted = signRecord(
    { ...base, chain: stranger.publicKey, id: idRangeOf(stranger.publicKey).first, hash: blake2b256(base.val), mod: Date.now() * 1000 + 7e6 },
    stranger,
  );
  const forged = { ...good, chain: stranger.publicKey };
  const r = owner.apply([outside, unlisted, forged]);
  assert.equal(r.stored.length, 0);
  const why = (x: unknown) => r.rejected.find((j) => j.record === x)?.reason;
  assert.match(why(outside)!, /outside its device's range/);
  assert.equal(why(unlisted), NOT_A_DEVICE);
  assert.match(why(forged)!, /signature/);
  assert.equal(owner.apply([good]).stored.length, 1);
  owner.close();
});

test('a device that has synced its removal writes nothing, and says so', () => {
  const dir = tmpDir();
  const owner = Stream.create(path.join(dir, 'owner.stream'), { name: 'me' });
  const tab = deviceCopy(dir, 'tab', owner);
  owner.addDevice(tab.devices().mine!);
  pull(tab, owner);
  tab.put('post', 'x', text('while listed'));
  owner.removeDevice(tab.devices().mine!);
  pull(tab, owner);
  assert.throws(() => tab.put('post', 'y', text('after')), /was removed from the stream; nothing was written/);
  assert.ok(tab.get('post', 'x'), 'its own copy keeps what it wrote');
  owner.close();
  tab.close();
});
