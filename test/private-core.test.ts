// Sealing private records (DESIGN §8): the browser's bytes (tweetnacl + hash-wasm, made once by
// scripts/private-vectors.mjs) open with libsodium, libsodium's open with tweetnacl, and anything
// else (another key, a flipped bit, a record moved under another key) is a clear error, never garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decode, encode } from '@msgpack/msgpack';
import nacl from 'tweetnacl';
import { createBLAKE2b } from 'hash-wasm';
import { generateKeyPair } from '../app/core/crypto.js';
import { parseBackup, parseSecret, secretWords } from '../app/core/keybackup.js';
import { keyLink } from '../app/core/keys.js';
import { parseMarker, parseReadLink, ReadKey, readLink, SEAL_OVERHEAD, setPrivateBackend, type PrivateBackend } from '../app/core/private.js';

interface Vectors {
  readKey: string;
  check: string;
  records: { type: string; key: string; val: string; opaqueKey: string; sealed: string }[];
}
const V: Vectors = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../test/vectors/private-sealed.json', import.meta.url)), 'utf8'));
const b = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

async function withBackend<T>(which: PrivateBackend, fn: () => Promise<T>): Promise<T> {
  setPrivateBackend(which);
  try {
    return await fn();
  } finally {
    setPrivateBackend('sodium');
  }
}

for (const which of ['sodium', 'browser'] as const) {
  test(`${which}: the browser's sealed records open, with their keys and the marker's check`, () =>
    withBackend(which, async () => {
      const rk = await ReadKey.from(b(V.readKey));
      assert.deepEqual(rk.check, b(V.check));
      for (const r of V.records) {
        assert.equal(rk.opaqueKey(r.type, r.key), r.opaqueKey, `${r.type}/${r.key}`);
        const o = rk.open(b(r.sealed), r.opaqueKey);
        assert.equal(o.type, r.type);
        assert.equal(o.key, r.key);
        assert.deepEqual(Buffer.from(o.val), Buffer.from(b(r.val)));
      }
    }));
}

test("libsodium's sealed bytes open with tweetnacl and hash-wasm alone (the phone page's path)", async () => {
  const rk = await ReadKey.from(b(V.readKey));
  const sealKey = (await createBLAKE2b(256, b(V.readKey))).update(new TextEncoder().encode('drayer private v1 seal')).digest('binary');
  for (const r of V.records) {
    const sealed = rk.seal(r.type, r.key, b(r.val));
    assert.equal(sealed.length, SEAL_OVERHEAD + encode({ type: r.type, key: r.key, val: b(r.val) }).length);
    const plain = nacl.secretbox.open(sealed.subarray(24), sealed.subarray(0, 24), sealKey);
    assert.ok(plain, 'tweetnacl opens it');
    const m = decode(plain) as { type: string; key: string; val: Uint8Array };
    assert.deepEqual([m.type, m.key, Buffer.from(m.val)], [r.type, r.key, Buffer.from(b(r.val))]);
    // a fresh nonce each time: the same record sealed twice gives other bytes
    assert.notDeepEqual(Buffer.from(rk.seal(r.type, r.key, b(r.val))), Buffer.from(sealed));
  }
});

test('a wrong read key is a clear error, never garbage', async () => {
  const right = await ReadKey.from(b(V.readKey));
  const wrong = await ReadKey.generate();
  const marker = right.markerValue();
  assert.deepEqual(parseMarker(marker).check, right.check);
  assert.doesNotThrow(() => right.checkMarker(marker, 'x'));
  assert.throws(
    () => wrong.checkMarker(marker, 'stream.stream cannot be read'),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'KEY_MISMATCH');
      assert.match(e.message, /^stream\.stream cannot be read: that read key is not this stream's .*Ask the owner for the stream's read link again\.$/);
      return true;
    },
  );
  for (const r of V.records) {
    assert.throws(
      () => wrong.open(b(r.sealed), r.opaqueKey),
      (e: Error & { code?: string }) => e.code === 'CORRUPT' && /does not open with the read key/.test(e.message),
    );
  }
});

test('altered ciphertext, a cut value, or a record under another key is refused', async () => {
  const rk = await ReadKey.from(b(V.readKey));
  const [post, info] = V.records;
  for (let i = 0; i < b(post!.sealed).length; i += 7) {
    const t = b(post!.sealed);
    t[i]! ^= 0x01;
    assert.throws(() => rk.open(t, post!.opaqueKey), /does not open with the read key/, `bit flipped at ${i}`);
  }
  assert.throws(() => rk.open(b(post!.sealed).subarray(0, 39)), /too short to be sealed/);
  // the writer's sealed info put under the post's key: what opens is not what the key names
  assert.throws(() => rk.open(b(info!.sealed), post!.opaqueKey), /\(drayer\/info\) is not the record its key names/);
});

test('a sealed value whose plaintext is not a {type, key, val} map is CORRUPT', async () => {
  const rk = await ReadKey.from(b(V.readKey));
  const sealKey = (await createBLAKE2b(256, b(V.readKey))).update(new TextEncoder().encode('drayer private v1 seal')).digest('binary');
  const nonce = new Uint8Array(24);
  for (const plain of [
    new Uint8Array([0x93, 1, 2, 3]),
    new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]),
    new Uint8Array([0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 1]),
  ]) {
    const sealed = new Uint8Array([...nonce, ...nacl.secretbox(plain, nonce, sealKey)]);
    assert.throws(
      () => rk.open(sealed),
      (e: Error & { code?: string }) => e.code === 'CORRUPT' && /what it seals is not a record/.test(e.message),
    );
  }
});

test('the read link carries the read key in its fragment; a cut one is refused', async () => {
  const kp = generateKeyPair();
  const rk = await ReadKey.generate();
  const link = readLink(kp.publicKey, rk.bytes);
  assert.ok(link.startsWith(keyLink(kp.publicKey) + '#r='));
  const back = parseReadLink(link);
  assert.deepEqual(back.publicKey, kp.publicKey);
  assert.deepEqual(back.readKey, rk.bytes);
  assert.deepEqual(parseReadLink(`  ${link}\n`).readKey, rk.bytes);
  assert.equal(parseReadLink(keyLink(kp.publicKey)).readKey, null);
  assert.equal(parseReadLink(Buffer.from(kp.publicKey).toString('base64')).readKey, null);
  for (const cut of [link.slice(0, -1), link.slice(0, -10), link + 'A', `${keyLink(kp.publicKey)}#r=`, link.replace(/#r=./, '#r=*')]) {
    assert.throws(
      () => parseReadLink(cut),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /read key in that link .* may have been cut/.test(e.message),
      cut,
    );
  }
  await assert.rejects(ReadKey.from(new Uint8Array(31)), /A read key is 32 bytes; this one is 31/);
});

test("a private stream's backup is 64 words: the secret key's, then the read key's", async () => {
  const kp = generateKeyPair();
  const rk = await ReadKey.generate();
  const words = secretWords(kp, rk.bytes);
  assert.equal(words.length, 64);
  assert.deepEqual(words.slice(0, 32), secretWords(kp));
  const back = parseBackup(words.join(' '));
  assert.deepEqual(back.keyPair.publicKey, kp.publicKey);
  assert.deepEqual(back.readKey, rk.bytes);
  assert.deepEqual(parseSecret(words.join(', ')).publicKey, kp.publicKey);
  assert.equal(parseBackup(secretWords(kp).join(' ')).readKey, null);
  assert.throws(() => parseBackup(words.slice(0, 50).join(' ')), /there are 50, not 32 \(or 64 for a private stream\)/);
});
