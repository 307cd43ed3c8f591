// Writes test/vectors/private-sealed.json once: private-stream records sealed the way a browser
// does it (tweetnacl's secretbox, hash-wasm's keyed BLAKE2b, @msgpack/msgpack), written here
// independently of app/core/private.ts, so the test proves libsodium opens the browser's bytes.
// Run: node scripts/private-vectors.mjs (the fixture is checked in; run again only on purpose).
import { encode } from '@msgpack/msgpack';
import { createBLAKE2b } from 'hash-wasm';
import * as fs from 'node:fs';
import nacl from 'tweetnacl';

const readKey = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
const keyed = async (key, msg) => (await createBLAKE2b(256, key)).update(msg).digest('binary');
const utf8 = (s) => new TextEncoder().encode(s);
const b64 = (b) => Buffer.from(b).toString('base64');

const sealKey = await keyed(readKey, utf8('drayer private v1 seal'));
const keyKey = await keyed(readKey, utf8('drayer private v1 key'));
const check = (await keyed(readKey, utf8('drayer private v1 check'))).slice(0, 16);

const records = [
  ['post', 'mxd8lr83-650fa1a7e7db', utf8(JSON.stringify({ title: 'سلام، هذا سر', body: 'A body *in markdown*, sealed.' }))],
  ['drayer', 'info', encode({ name: 'Secret Garden', about: 'only for readers' })],
  ['file', 'photos/2026/cat.txt', utf8('not a cat')],
  ['empty', '', new Uint8Array(0)],
];
const out = { readKey: b64(readKey), check: b64(check), records: [] };
for (const [i, [type, key, val]] of records.entries()) {
  const t = utf8(type);
  const k = utf8(key);
  const msg = new Uint8Array(4 + t.length + k.length);
  new DataView(msg.buffer).setUint32(0, t.length, true);
  msg.set(t, 4);
  msg.set(k, 4 + t.length);
  const opaqueKey = Buffer.from(await keyed(keyKey, msg)).toString('base64url');
  const nonce = Uint8Array.from({ length: 24 }, (_, j) => (i * 31 + j) & 0xff);
  const box = nacl.secretbox(encode({ type, key, val }), nonce, sealKey);
  out.records.push({ type, key, val: b64(val), opaqueKey, sealed: b64(Buffer.concat([nonce, box])) });
}
fs.writeFileSync(new URL('../test/vectors/private-sealed.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
