import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { EVEN_WORDS, ODD_WORDS, fromPgpWords, toPgpWords } from '../app/core/pgpwords.js';

const KEY_HEX = '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8';
// Encoding produced by the original Drayer (even list at every position).
const LEGACY_WORDS =
  'acme ratchet ahead slingshot upset spyglass assume skydive belfast guidance ' +
  'swelter beaming transit dragnet slowdown prowler freedom tonic stockman ' +
  'chairlift puppy reindeer ancient eyetooth';

test('word lists have 256 unique lowercase entries and do not overlap', () => {
  assert.equal(EVEN_WORDS.length, 256);
  assert.equal(ODD_WORDS.length, 256);
  assert.equal(new Set(EVEN_WORDS).size, 256);
  assert.equal(new Set(ODD_WORDS).size, 256);
  const even = new Set(EVEN_WORDS);
  for (const word of ODD_WORDS) {
    assert.ok(!even.has(word), `"${word}" appears in both lists`);
  }
  for (const word of [...EVEN_WORDS, ...ODD_WORDS]) {
    assert.match(word, /^[a-z]+$/);
  }
});

test('known endpoints of the standard lists', () => {
  assert.equal(EVEN_WORDS[0x00], 'aardvark');
  assert.equal(ODD_WORDS[0x00], 'adroitness');
  assert.equal(EVEN_WORDS[0xff], 'zulu');
  assert.equal(ODD_WORDS[0xff], 'yucatan');
  assert.equal(toPgpWords(Uint8Array.of(0x00, 0x00, 0xff, 0xff)), 'aardvark adroitness zulu yucatan');
});

test('legacy even-only encoding decodes to the first 24 key bytes', () => {
  const expected = Uint8Array.from(Buffer.from(KEY_HEX, 'hex').subarray(0, 24));
  assert.deepEqual(fromPgpWords(LEGACY_WORDS), expected);
});

test('standard encoding round-trips random bytes', () => {
  for (const length of [0, 1, 2, 7, 32, 100]) {
    const bytes = new Uint8Array(randomBytes(length));
    const text = toPgpWords(bytes);
    assert.equal(text.split(' ').filter((w) => w).length, length);
    assert.deepEqual(fromPgpWords(text), bytes);
  }
  const all = Uint8Array.from({ length: 512 }, (_, i) => i >> 1);
  assert.deepEqual(fromPgpWords(toPgpWords(all)), all);
});

test('mixed case and hyphen-separated input parses', () => {
  assert.deepEqual(fromPgpWords('Aardvark-ADROITNESS  zulu\n-YucaTan'), Uint8Array.of(0x00, 0x00, 0xff, 0xff));
  assert.deepEqual(fromPgpWords('  ACME-Ratchet\tahead '), Uint8Array.of(0x03, 0xa1, 0x07));
});

test('unknown word throws a message naming the word and position', () => {
  assert.throws(
    () => fromPgpWords('aardvark adroitness flibbertigibbet'),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /flibbertigibbet/);
      assert.match(err.message, /position 3/);
      return true;
    },
  );
  // An odd-list word at an even position is not accepted either.
  assert.throws(() => fromPgpWords('adroitness'), /Unknown PGP word "adroitness" at position 1/);
});

test('commas, semicolons, periods, plus signs and other punctuation separate words too', () => {
  const bytes = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
  for (const text of [
    'aardvark,adroitness,zulu,yucatan',
    'aardvark, adroitness, zulu, yucatan.',
    'aardvark; adroitness; zulu; yucatan',
    'aardvark. Adroitness. Zulu. Yucatan.',
    'aardvark+adroitness+zulu+yucatan', // a URL query's quote_plus
    'aardvark_adroitness/zulu|yucatan',
    '"aardvark", "adroitness", "zulu", "yucatan"',
  ]) {
    assert.deepEqual(fromPgpWords(text), bytes, text);
  }
  assert.throws(() => fromPgpWords('aardvark, adroitness, zulux'), /Unknown PGP word "zulux" at position 3 of 3/);
});
