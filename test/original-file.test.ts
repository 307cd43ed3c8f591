// Stream files the original Python Drayer wrote (issue 20.2). test/fixtures/original/small.stream
// was made by the real original (test/original/original.py fixture): 12 publicSocialPost records
// (Arabic text in each), one of them edited, two msgpack `obj` items; its key file beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Stream } from '../app/store/store.js';
import { DrayerNode } from '../app/node/node.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';
import { runDrayer, tmpDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/original/small.stream', import.meta.url));
const KEY = 'qNgGxeu1hjKHDsmzE4W2+EQIoAbIkUgdAXZU+Ji+Rmc=';

/** A copy of the fixture (and its key file, 0600 as the original leaves it) in a new folder. */
function copyFixture(): { dir: string; file: string } {
  const dir = tmpDir('drayer-original-file-');
  const file = path.join(dir, 'old.stream');
  fs.copyFileSync(FIXTURE, file);
  fs.copyFileSync(`${FIXTURE}.privatekey`, `${file}.privatekey`);
  fs.chmodSync(`${file}.privatekey`, 0o600);
  return { dir, file };
}

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

interface Row {
  id: number;
  type: string;
  key: string;
  value: Buffer | null;
  hash: Buffer;
  timestamp: number;
  modified: number;
  prev: number;
  prevchange: number;
  signature: Buffer;
}

function originalRows(file: string): Row[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM record ORDER BY id').all() as Row[];
  } finally {
    db.close();
  }
}

test('drayer info, ls and verify on an original Drayer file say what it is and how to import it, and change nothing', async () => {
  const { dir, file } = copyFixture();
  const before = sha(file);
  for (const cmd of [
    ['info', file],
    ['ls', file],
    ['verify', file],
  ]) {
    const r = await runDrayer(cmd, { cwd: dir });
    assert.equal(r.code, 1, `${cmd[0]}: ${r.err}`);
    assert.match(r.err, new RegExp(`is a stream file of the original Drayer \\(stream ${KEY.replace(/[+/]/g, '\\$&')}, 14 records\\)`), r.err);
    assert.match(r.err, /Import it into a Drayer file with "drayer import .*old\.stream NEW\.stream"; .* is left unchanged\./, r.err);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.equal(sha(file), before);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['old.stream', 'old.stream.privatekey']);
});

test('drayer import copies every record byte for byte, verified; its key file keeps working; the original is untouched', async () => {
  const { dir, file } = copyFixture();
  const before = sha(file);
  const out = path.join(dir, 'new.stream');
  const r = await runDrayer(['import', file, out], { cwd: dir });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`14 records, each verified, byte for byte \\(stream ${KEY.replace(/[+/]/g, '\\$&')}\\)`));
  assert.match(r.err, /secret key was copied to .*new\.stream\.privatekey/);
  assert.equal(sha(file), before, 'the original file is not changed');
  assert.ok(!fs.existsSync(`${file}-wal`) && !fs.existsSync(`${file}-journal`));
  assert.deepEqual(fs.readFileSync(`${out}.privatekey`), fs.readFileSync(`${file}.privatekey`), 'the key file, byte for byte');
  assert.equal(fs.statSync(`${out}.privatekey`).mode & 0o777, 0o600);

  const s = Stream.open(out, { readonly: true });
  try {
    const rows = originalRows(file);
    assert.equal(rows.length, 14);
    for (const o of rows) {
      const x = s.getById(o.id)!;
      assert.ok(x, `record ${o.id}`);
      assert.deepEqual(
        [x.type, x.key, Buffer.from(x.val!), Buffer.from(x.hash), x.ts, x.mod, x.prev, x.prevch, Buffer.from(x.sig)],
        [o.type, o.key, o.value, o.hash, o.timestamp, o.modified, o.prev, o.prevchange, o.signature],
        `record ${o.id} is byte-identical`,
      );
    }
    assert.match(Buffer.from(s.getById(1)!.val!).toString('utf8'), /مرحبا$/);
    assert.equal(Buffer.from(s.getById(3)!.val!).toString('utf8'), 'Post 3, edited.');
    assert.ok(s.verify().intact);
    assert.ok(s.writable, 'writable with the key beside it');
  } finally {
    s.close();
  }
  const post = await runDrayer(['post', out, '--title', 'After the import', '--body', 'written with the original key'], { cwd: dir });
  assert.equal(post.code, 0, post.err);
  const v = await runDrayer(['verify', out], { cwd: dir });
  assert.equal(v.code, 0, v.out + v.err);
  assert.match(v.out, /intact, 15 records verified/);

  // again into the same file: refused, nothing changed
  const again = await runDrayer(['import', file, out], { cwd: dir });
  assert.equal(again.code, 1);
  assert.match(again.err, /already exists; choose another file name/);
  // a Drayer file is not an original one
  const drayerFile = await runDrayer(['import', out, path.join(dir, 'x.stream')], { cwd: dir });
  assert.equal(drayerFile.code, 1);
  assert.match(drayerFile.err, /is not a stream file of the original Drayer/);
  assert.ok(!fs.existsSync(path.join(dir, 'x.stream')));
  assert.equal(sha(file), before);
});

test('an original file with a tampered record: that record is refused and named, the rest imported', async () => {
  const { dir, file } = copyFixture();
  const db = new Database(file);
  db.prepare("UPDATE record SET key = 'Post 5, forged' WHERE id = 5").run();
  db.close();
  const out = path.join(dir, 'new.stream');
  const r = await runDrayer(['import', file, out], { cwd: dir });
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.out, /1 records did not verify and were not imported/);
  assert.match(r.out, /record 5: /);
  const s = Stream.open(out, { readonly: true });
  try {
    assert.equal(s.getById(5), undefined);
    assert.equal([...s.iterate()].length, 13);
  } finally {
    s.close();
  }
});

const SRC = process.env.DRAYER_ORIGINAL_SRC;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const HELPER = fileURLToPath(new URL('../../test/original/original.py', import.meta.url));
const skipReal = !SRC ? 'DRAYER_ORIGINAL_SRC is not set (a checkout of the original Python Drayer)' : !netnsAvailable() ? NETNS_SKIP_REASON : false;

test(
  'a stream file the real original writes now is opened by the node (imported on asking) and stays writable with its key',
  { skip: skipReal, timeout: 180_000 },
  async () => {
    const dir = tmpDir('drayer-original-open-real-');
    const file = path.join(dir, 'fresh.stream');
    const r = await runInNetns(PYTHON, [HELPER, 'make', file, '40'], { timeoutMs: 150_000, env: { ...process.env, DRAYER_ORIGINAL_SRC: SRC! } });
    assert.match(r.stdout, /made 40 records/, r.stderr);
    const before = [sha(file), sha(`${file}.privatekey`)];
    const n = await DrayerNode.start({ dataDir: tmpDir('drayer-original-open-node-'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
    try {
      await assert.rejects(n.call('openStreamFile', { path: file }), (e: { code?: string }) => e.code === 'ORIGINAL_FILE');
      const s = await n.call('openStreamFile', { path: file, importOriginal: true });
      assert.equal(s.posts, 40);
      assert.equal(s.owned, true);
      assert.equal((await n.call('getPost', { publicKey: s.publicKey, key: 'Post 40' }))?.body, 'An original post, number 40.');
      await n.call('post', { publicKey: s.publicKey, title: 'Next', body: 'after the original' });
      assert.equal((await n.call('verifyStream', { publicKey: s.publicKey })).intact, true);
    } finally {
      await n.stop();
    }
    assert.deepEqual([sha(file), sha(`${file}.privatekey`)], before, 'the original file and its key file are unchanged');
  },
);
