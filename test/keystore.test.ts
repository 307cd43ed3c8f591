// Secret keys at rest (app/store/keystore.ts): sealed by the cipher the desktop app passes in (here a
// real AES-256-GCM cipher with a test key, standing in for Electron's safeStorage), plain 0600
// files without one, plain files migrated on a stream's first write, and the CLI's view of a
// sealed key: read-only, saying the app holds it, until an explicit export.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, test } from 'node:test';
import { exportKeyFile, isSealedKeyFile, readKeyFile, SEALED_HEADER, useKeyCipher, type KeyCipher } from '../app/store/keystore.js';
import { formatKey } from '../app/core/keys.js';
import { keyPathFor, Stream } from '../app/store/store.js';
import { tmpDir, utf8 } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));

/** AES-256-GCM under `key`: the shape of safeStorage, with real authenticated encryption. */
function aesCipher(key = randomBytes(32), available = true): KeyCipher & { calls: number } {
  const c = {
    calls: 0,
    isEncryptionAvailable: () => available,
    encryptString(plain: string): Buffer {
      c.calls++;
      const iv = randomBytes(12);
      const e = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([e.update(plain, 'utf8'), e.final()]);
      return Buffer.concat([iv, e.getAuthTag(), body]);
    },
    decryptString(sealed: Buffer): string {
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8');
    },
  };
  return c;
}

afterEach(() => useKeyCipher(null));

const mode = (f: string): number => fs.statSync(f).mode & 0o777;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, DRAYER_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('without a cipher a new stream keeps its key as a plain 0600 file, as the original did', () => {
  const file = path.join(tmpDir(), 'a.stream');
  const s = Stream.create(file, { name: 'a' });
  s.close();
  const text = fs.readFileSync(keyPathFor(file), 'utf8');
  assert.match(text, /^[A-Za-z0-9+/]{86}==\n$/);
  if (process.platform !== 'win32') assert.equal(mode(keyPathFor(file)), 0o600);
  assert.equal(isSealedKeyFile(keyPathFor(file)), false);
});

test('with a cipher a new key is sealed: the file holds no key bytes, is 0600, and opens writable again', () => {
  const cipher = aesCipher();
  useKeyCipher(cipher);
  const file = path.join(tmpDir(), 'b.stream');
  const s = Stream.create(file, { name: 'b' });
  const pk = formatKey(s.publicKey);
  s.close();
  const text = fs.readFileSync(keyPathFor(file), 'utf8');
  assert.ok(text.startsWith(SEALED_HEADER + '\n'));
  if (process.platform !== 'win32') assert.equal(mode(keyPathFor(file)), 0o600);
  const kp = readKeyFile(keyPathFor(file));
  assert.equal(formatKey(kp.publicKey), pk);
  // neither the seed nor the libsodium key appears in the file, in any usual encoding
  for (const enc of ['base64', 'hex', 'base64url'] as const) assert.ok(!text.includes(Buffer.from(kp.seed).toString(enc).slice(0, 20)));
  const again = Stream.open(file);
  assert.equal(again.writable, true);
  again.put('post', 'x', utf8('hello'));
  again.close();
});

test('a sealed key without the cipher (the CLI) opens read-only and says the app holds it; an export makes it usable', () => {
  useKeyCipher(aesCipher());
  const dir = tmpDir();
  const file = path.join(dir, 'c.stream');
  const s = Stream.create(file, { name: 'c' });
  s.put('post', 'p1', utf8('first'));
  s.close();

  // another process: the CLI, with no cipher
  const info = cli(['ls', file]);
  assert.equal(info.code, 0, info.err);
  const post = cli(['post', file, '--title', 'x', '--body', 'y']);
  assert.notEqual(post.code, 0);
  assert.match(post.err, /encrypted by the Drayer desktop app/);
  assert.match(post.err, /Export/);

  useKeyCipher(null);
  const ro = Stream.open(file);
  assert.equal(ro.writable, false);
  assert.throws(
    () => ro.put('post', 'p2', utf8('no')),
    (e: Error & { code?: string }) => e.code === 'NOT_WRITABLE' && /desktop app/.test(e.message),
  );
  ro.close();
  assert.throws(() => readKeyFile(keyPathFor(file)), /desktop app/);

  // the explicit export, done by the app (which has the cipher)
  useKeyCipher(aesCipher(Buffer.alloc(32, 9))); // a different keychain cannot open it either
  assert.throws(() => exportKeyFile(keyPathFor(file), path.join(dir, 'x.privatekey')), /could not be decrypted/);
  useKeyCipher(null);
});

test('the explicit export writes a plain 0600 copy the CLI writes with, and never overwrites', () => {
  const cipher = aesCipher();
  useKeyCipher(cipher);
  const dir = tmpDir();
  const file = path.join(dir, 'd.stream');
  Stream.create(file, { name: 'd' }).close();
  const out = path.join(dir, 'export', 'd.stream.privatekey');
  exportKeyFile(keyPathFor(file), out);
  assert.ok(!isSealedKeyFile(out));
  if (process.platform !== 'win32') assert.equal(mode(out), 0o600);
  assert.throws(
    () => exportKeyFile(keyPathFor(file), out),
    (e: Error & { code?: string }) => e.code === 'EXISTS',
  );
  useKeyCipher(null);
  assert.deepEqual(readKeyFile(out).publicKey, Stream.open(file).publicKey);

  // put beside a copy of the stream, the exported key writes from the CLI
  const copy = path.join(dir, 'copy', 'd.stream');
  fs.mkdirSync(path.dirname(copy));
  fs.copyFileSync(file, copy);
  fs.copyFileSync(out, keyPathFor(copy));
  const r = cli(['post', copy, '--title', 'From the CLI', '--body', 'works']);
  assert.equal(r.code, 0, r.err);
});

test("a plain key file keeps working with the cipher, and is sealed on its stream's first write, not on open", () => {
  const dir = tmpDir();
  const file = path.join(dir, 'e.stream');
  const s = Stream.create(file, { name: 'e' });
  const pk = s.publicKey;
  s.close();
  const plain = fs.readFileSync(keyPathFor(file), 'utf8');

  const cipher = aesCipher();
  useKeyCipher(cipher);
  const opened = Stream.open(file);
  assert.equal(opened.writable, true);
  assert.equal(fs.readFileSync(keyPathFor(file), 'utf8'), plain, 'opening changes nothing');
  opened.put('post', 'k', utf8('first write'));
  assert.ok(isSealedKeyFile(keyPathFor(file)), 'sealed after the first write');
  if (process.platform !== 'win32') assert.equal(mode(keyPathFor(file)), 0o600);
  const calls = cipher.calls;
  opened.put('post', 'k2', utf8('second write'));
  assert.equal(cipher.calls, calls, 'sealed once, not on every write');
  opened.close();
  assert.deepEqual(readKeyFile(keyPathFor(file)).publicKey, pk);
  const again = Stream.open(file);
  assert.equal(again.writable, true);
  assert.equal(again.verify().problems.length, 0);
  again.close();
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file left',
  );
});

test('where the OS offers no encryption keys stay plain, and a keychain that garbles keys never replaces a plain file', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'f.stream');
  useKeyCipher(aesCipher(randomBytes(32), false));
  const s = Stream.create(file, { name: 'f' });
  s.put('post', 'a', utf8('a'));
  assert.ok(!isSealedKeyFile(keyPathFor(file)));
  s.close();

  // encrypts with one key, decrypts with another: the round-trip check keeps the plain file
  const enc = aesCipher();
  const dec = aesCipher();
  useKeyCipher({ isEncryptionAvailable: () => true, encryptString: (t) => enc.encryptString(t), decryptString: (b) => dec.decryptString(b) });
  const plain = fs.readFileSync(keyPathFor(file), 'utf8');
  const w = Stream.open(file);
  w.put('post', 'b', utf8('still written'));
  w.close();
  assert.equal(fs.readFileSync(keyPathFor(file), 'utf8'), plain);
  assert.throws(() => Stream.create(path.join(dir, 'g.stream'), { name: 'g' }), /unchanged/);
  assert.ok(!fs.existsSync(path.join(dir, 'g.stream')));
});
