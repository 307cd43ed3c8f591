import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrayerError } from '../app/core/errors.js';
import { fingerprint, formatKey, isKey, keyLink, parseKey } from '../app/core/keys.js';
import { EVEN_WORDS, fromPgpWords, toPgpWords } from '../app/core/pgpwords.js';
import { hex, unhex } from './helpers.js';

// The key of shared/vectors/original-drayer-signatures.json (seed 00..1f).
const B64 = 'A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=';
const HEX = '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8';
const ORIGINAL_FINGERPRINT =
  'acme ratchet ahead slingshot upset spyglass assume skydive belfast guidance swelter beaming transit dragnet slowdown prowler freedom tonic stockman chairlift puppy reindeer ancient eyetooth';
const pk = unhex(HEX);

function rejects(text: string, pattern?: RegExp): void {
  assert.throws(
    () => parseKey(text),
    (e: unknown) => {
      assert.ok(e instanceof DrayerError, `not a DrayerError for ${JSON.stringify(text)}`);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, /base64/); // names the accepted forms
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
    `accepted ${JSON.stringify(text)}`,
  );
}

test('formatKey shows standard base64 and keyLink a drayer: link', () => {
  assert.equal(formatKey(pk), B64);
  assert.equal(keyLink(pk), 'drayer:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg');
});

test('fingerprint is the standard PGP words of the first 24 bytes; the original words parse to the same bytes', () => {
  const fp = fingerprint(pk);
  assert.equal(fp.split(' ').length, 24);
  assert.equal(hex(fromPgpWords(fp)), HEX.slice(0, 48));
  assert.equal(hex(fromPgpWords(ORIGINAL_FINGERPRINT)), HEX.slice(0, 48));
  assert.notEqual(fp, ORIGINAL_FINGERPRINT); // the original's even-only words were a bug, not a format
});

test('every accepted form of the vector key parses back to the same 32 bytes', () => {
  const words = toPgpWords(pk);
  const evenOnly = [...pk].map((b) => EVEN_WORDS[b]).join(' ');
  const forms = [
    B64,
    `  ${B64}\n`,
    'A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg', // url-safe, no padding
    'A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=',
    'A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg', // standard, no padding
    'A6EHv%2FPOEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg%3D', // quote_plus, as original nodes send it
    'A6EHv%2fPOEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg%3d',
    keyLink(pk),
    `drayer://${keyLink(pk).slice('drayer:'.length)}`,
    'DRAYER:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg',
    HEX,
    HEX.toUpperCase(),
    words,
    words.toUpperCase(),
    words.replace(/ /g, '-'),
    `\n ${words.replace(/ /g, '\n')} `,
    evenOnly, // what the original Drayer would show for the whole key
  ];
  for (const f of forms) {
    assert.equal(hex(parseKey(f)), HEX, `form ${JSON.stringify(f)}`);
    assert.ok(isKey(f));
  }
});

test('a key with + survives quote_plus and a + that became a space', () => {
  const plusKey = new Uint8Array(32).fill(0xf8); // base64 "+Pj4..."
  const b64 = formatKey(plusKey);
  assert.ok(b64.includes('+'));
  const quoted = encodeURIComponent(b64); // + -> %2B, = -> %3D
  assert.equal(hex(parseKey(quoted)), hex(plusKey));
  assert.equal(hex(parseKey(b64.replace(/\+/g, ' '))), hex(plusKey));
  assert.equal(hex(parseKey(Buffer.from(plusKey).toString('base64url'))), hex(plusKey));
});

test('the 32 words parse whatever reasonable separator joins them: commas, semicolons, periods, plus signs', () => {
  const words = toPgpWords(pk).split(' ');
  for (const sep of [',', ', ', ' , ', ',\n', ';', '; ', '.', '. ', '+', '_', '/', ' | ', ' - ', ', -']) {
    assert.equal(hex(parseKey(words.join(sep))), HEX, `separator ${JSON.stringify(sep)}`);
  }
  assert.equal(hex(parseKey(`${words.join(', ')}.`)), HEX); // a sentence's full stop
  assert.equal(hex(parseKey(words.map((w) => `"${w}"`).join(', '))), HEX); // pasted as a list of strings
  assert.equal(hex(parseKey(words.map((w) => w.toUpperCase()).join(','))), HEX);
});

test('words with a misspelt or missing word say which, not "not base64"', () => {
  const words = toPgpWords(pk).split(' ');
  rejects(words.join(', ').replace('upset', 'upsett'), /unknown PGP word "upsett" at position \d+ of 32/);
  rejects(words.slice(0, 31).join(', '), /31 PGP words, not 32/);
  rejects(words.slice(0, 20).join(',').replace('upset', 'upsett'), /unknown PGP word "upsett"/); // and too few: the typo first
  rejects(fingerprint(pk).split(' ').join(', '), /fingerprint/);
  for (const text of [words.join(', ').replace('upset', 'upsett'), words.slice(0, 31).join(', ')]) {
    assert.throws(
      () => parseKey(text),
      (e: Error) => !/not base64/.test(e.message),
    );
  }
});

test('garbage and near misses are rejected with the accepted forms named', () => {
  rejects('');
  rejects('   ');
  rejects('hello');
  rejects('not a key at all');
  rejects(B64.slice(0, -2), /bytes|length/); // truncated
  rejects(B64.replace('=', '') + 'AAAAA', /36 bytes/);
  rejects(Buffer.alloc(24).toString('base64'), /24 bytes/);
  rejects('A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbh=', /last base64 character/); // stray low bits
  rejects('A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMb!=', /not base64/);
  rejects('A6EHv%ZZPOEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg', /percent/);
  rejects(HEX.slice(2));
  rejects(fingerprint(pk), /fingerprint/);
  rejects(toPgpWords(pk).split(' ').slice(0, 31).join(' '), /31 PGP words/);
  rejects(toPgpWords(pk).replace('upset', 'upsetx'), /upsetx/);
  rejects('drayer:');
});

test('the key as 32 words parses back to the key; the 24-word fingerprint is its prefix', async () => {
  const { keyWords, fingerprint, parseKey } = await import('../app/core/keys.js');
  const pk = new Uint8Array(Buffer.from('03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8', 'hex'));
  assert.deepEqual(parseKey(keyWords(pk)), pk);
  assert.ok(keyWords(pk).startsWith(fingerprint(pk) + ' '));
});
