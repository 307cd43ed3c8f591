// DrayerApi methods of the key backup, stream file and stream page journeys (issue 9: 1, 6, 7, 8),
// called in-process like ui-api.test.ts: secret key words and restore, open a stream file,
// export, verify, the last sync, the notifications setting, and a full disk said plainly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { WebUi } from '../app/node/webui.js';
import { fromPgpWords } from '../app/core/pgpwords.js';
import { parseSecret } from '../app/core/keybackup.js';
import { readKeyFile, Stream } from '../app/store/store.js';
import { tmpDir } from './helpers.js';

async function startNode(name: string, dataDir = path.join(tmpDir(), name)): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}
const lanUrl = (n: DrayerNode) => `http://127.0.0.1:${n.lanAddress()!.port}`;
async function envError(n: DrayerNode, method: string, arg: unknown): Promise<{ code: string; message: string }> {
  const env = await n.callEnvelope(method, arg);
  assert.equal(env.ok, false, `${method} should fail`);
  return (env as { ok: false; error: { code: string; message: string } }).error;
}

test('keyBackup: 32 words of the secret seed that round-trip exactly, in any separator; none for a mirror', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const s = await a.call('createStream', { name: 'Ada' });
    const backup = await a.call('keyBackup', { publicKey: s.publicKey });
    assert.equal(backup.words.length, 32);
    assert.equal(backup.name, 'Ada');
    const kp = readKeyFile(path.join(a.dataDir, s.file + '.privatekey'));
    assert.deepEqual(fromPgpWords(backup.words.join(' ')), kp.seed);
    for (const sep of [' ', '\n', ', ', '-']) assert.equal(Buffer.from(parseSecret(backup.words.join(sep)).publicKey).toString('base64'), s.publicKey);
    assert.equal(Buffer.from(parseSecret(backup.words.join(' ').toUpperCase()).publicKey).toString('base64'), s.publicKey);
    // the key file's own text is accepted too
    assert.equal(Buffer.from(parseSecret(fs.readFileSync(path.join(a.dataDir, s.file + '.privatekey'), 'utf8')).publicKey).toString('base64'), s.publicKey);

    const check = await a.call('checkWords', { words: backup.words.join(' ') });
    assert.deepEqual([check.publicKey, check.held, check.name], [s.publicKey, 'owned', 'Ada']);
    assert.equal((await b.call('checkWords', { words: backup.words.join(' ') })).held, 'new');

    await b.call('follow', { key: s.publicKey, url: lanUrl(a) });
    assert.equal((await b.call('checkWords', { words: backup.words.join(' ') })).held, 'mirror');
    assert.equal((await envError(b, 'keyBackup', { publicKey: s.publicKey })).code, 'NOT_WRITABLE');

    const wrong = [...backup.words];
    wrong[4] = 'notaword';
    const e = await envError(a, 'checkWords', { words: wrong.join(' ') });
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, /notaword.*position 5/);
    assert.match((await envError(a, 'checkWords', { words: backup.words.slice(0, 31).join(' ') })).message, /there are 31, not 32/);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('restoreStream: fetched whole from another node, writable here, and its new posts are accepted by followers', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  const c = await startNode('c');
  try {
    const s = await a.call('createStream', { name: 'Ada', about: 'the first install' });
    for (let i = 0; i < 5; i++) await a.call('post', { publicKey: s.publicKey, title: `Post ${i}`, body: `body ${i}` });
    const { words } = await a.call('keyBackup', { publicKey: s.publicKey });
    await c.call('follow', { key: s.publicKey, url: lanUrl(a) });

    // a wrong address: a clear error, nothing left behind
    const before = fs.readdirSync(b.dataDir).sort();
    const e = await envError(b, 'restoreStream', { words: words.join(' '), url: 'http://127.0.0.1:1' });
    assert.equal(e.code, 'UNREACHABLE');
    assert.match(e.message, /Cannot reach/);
    assert.deepEqual(fs.readdirSync(b.dataDir).sort(), before);
    assert.equal((await b.call('listStreams', undefined)).length, 0);
    assert.equal((await envError(b, 'restoreStream', { words: words.join(' ') })).code, 'NOT_FOUND', 'no address and no one nearby');

    const r = await b.call('restoreStream', { words: words.join('  '), url: lanUrl(a) });
    assert.equal(r.publicKey, s.publicKey);
    assert.equal(r.owned, true);
    assert.equal(r.name, 'Ada');
    assert.equal(r.posts, 5);
    assert.equal((await envError(b, 'restoreStream', { words: words.join(' ') })).code, 'EXISTS');

    const p = await b.call('post', { publicKey: s.publicKey, title: 'From the restored install', body: 'still me' });
    const v = await b.call('verifyStream', { publicKey: s.publicKey });
    assert.equal(v.intact, true);
    // C follows the stream from A; the post written on B verifies there too
    await c.call('setStreamSettings', { publicKey: s.publicKey, sources: [lanUrl(b)] });
    const reports = await c.call('syncNow', { publicKey: s.publicKey });
    assert.ok(
      reports.every((x) => !x.error),
      JSON.stringify(reports),
    );
    const got = await c.call('getPost', { publicKey: s.publicKey, key: p.key });
    assert.equal(got?.title, 'From the restored install');
    assert.equal((await c.call('verifyStream', { publicKey: s.publicKey })).intact, true);
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('restoreStream: a stream followed here becomes yours; a partial copy is refused', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const s = await a.call('createStream', { name: 'Bo' });
    await a.call('post', { publicKey: s.publicKey, title: 'one', body: '' });
    const { words } = await a.call('keyBackup', { publicKey: s.publicKey });
    const t = await a.call('createStream', { name: 'Partial' });
    const tw = (await a.call('keyBackup', { publicKey: t.publicKey })).words;
    await b.call('follow', { key: s.publicKey, url: lanUrl(a) });
    await b.call('follow', { key: t.publicKey, url: lanUrl(a), metaOnly: true });
    assert.equal((await b.call('streamDetails', { publicKey: s.publicKey })).owned, false);
    const r = await b.call('restoreStream', { words: words.join(' ') });
    assert.equal(r.owned, true);
    const file = (await b.call('streamDetails', { publicKey: s.publicKey })).path;
    assert.ok(fs.existsSync(file + '.privatekey'));
    await b.call('post', { publicKey: s.publicKey, title: 'two', body: '' });
    assert.match((await envError(b, 'restoreStream', { words: tw.join(' ') })).message, /partial/);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('openStreamFile: writable beside its key, a mirror without; clear errors for a missing, foreign, damaged or duplicate file', async () => {
  const a = await startNode('a');
  const elsewhere = tmpDir();
  try {
    const own = Stream.create(path.join(elsewhere, 'mine.stream'), { name: 'Mine on a stick' });
    own.put('post', 'p1', new TextEncoder().encode(JSON.stringify({ title: 'hello', body: '' })));
    const ownKey = Buffer.from(own.publicKey).toString('base64');
    own.close();
    const other = Stream.create(path.join(elsewhere, 'theirs.stream'), { name: 'Theirs' });
    const otherKey = Buffer.from(other.publicKey).toString('base64');
    other.close();
    fs.rmSync(path.join(elsewhere, 'theirs.stream.privatekey'));

    const w = await a.call('openStreamFile', { path: path.join(elsewhere, 'mine.stream') });
    assert.deepEqual([w.publicKey, w.owned, w.name], [ownKey, true, 'Mine on a stick']);
    await a.call('post', { publicKey: ownKey, title: 'written here', body: '' });
    const m = await a.call('openStreamFile', { path: path.join(elsewhere, 'theirs.stream') });
    assert.deepEqual([m.publicKey, m.owned], [otherKey, false]);
    assert.equal((await a.call('listStreams', undefined)).length, 2);

    const dup = await envError(a, 'openStreamFile', { path: path.join(elsewhere, 'mine.stream') });
    assert.equal(dup.code, 'EXISTS');
    fs.copyFileSync(path.join(elsewhere, 'theirs.stream'), path.join(elsewhere, 'copy.stream'));
    assert.match((await envError(a, 'openStreamFile', { path: path.join(elsewhere, 'copy.stream') })).message, /already holds that stream/);

    assert.equal((await envError(a, 'openStreamFile', { path: path.join(elsewhere, 'nope.stream') })).code, 'NOT_FOUND');
    assert.equal((await envError(a, 'openStreamFile', { path: elsewhere })).code, 'NOT_A_STREAM');
    fs.writeFileSync(path.join(elsewhere, 'notes.txt'), 'just some text, not a database at all '.repeat(40));
    const nas = await envError(a, 'openStreamFile', { path: path.join(elsewhere, 'notes.txt') });
    assert.equal(nas.code, 'NOT_A_STREAM');
    assert.match(nas.message, /not a Drayer stream file/);
    // a stream file with its pages overwritten in the middle
    const bad = Stream.create(path.join(elsewhere, 'bad.stream'), { name: 'Bad' });
    bad.batch((wr) => {
      for (let i = 0; i < 300; i++) wr.put('post', `p${i}`, new TextEncoder().encode('x'.repeat(300)));
    });
    bad.close();
    const size = fs.statSync(path.join(elsewhere, 'bad.stream')).size;
    const fd = fs.openSync(path.join(elsewhere, 'bad.stream'), 'r+');
    fs.writeSync(fd, Buffer.alloc(size - 8192, 0x5a), 0, size - 8192, 4096);
    fs.closeSync(fd);
    const corrupt = await envError(a, 'openStreamFile', { path: path.join(elsewhere, 'bad.stream') });
    assert.ok(['CORRUPT', 'NOT_A_STREAM'].includes(corrupt.code), JSON.stringify(corrupt));
    assert.match(corrupt.message, /damaged|not a Drayer/);
    assert.equal((await a.call('listStreams', undefined)).length, 2, 'nothing was taken in');
  } finally {
    await a.stop();
  }
  // at the next start it is there again, from where it was
  const again = await startNode('a', a.dataDir);
  try {
    const list = await again.call('listStreams', undefined);
    assert.equal(list.length, 2);
    assert.equal(list.find((x) => x.name === 'Mine on a stick')?.posts, 2);
  } finally {
    await again.stop();
  }
});

test('exportStream writes a keyless copy that verifies; into a folder by name; never over a file; a download from the web UI', async () => {
  const a = await startNode('a');
  const out = tmpDir();
  const ui = new WebUi(a, { staticDir: tmpDir() });
  try {
    const s = await a.call('createStream', { name: 'Exported' });
    for (let i = 0; i < 3; i++) await a.call('post', { publicKey: s.publicKey, title: `t${i}`, body: 'b' });
    const r = await a.call('exportStream', { publicKey: s.publicKey, path: path.join(out, 'copy.stream') });
    assert.equal(r.path, path.join(out, 'copy.stream'));
    assert.equal(r.records, 4);
    assert.ok(!fs.existsSync(r.path + '.privatekey'));
    const copy = Stream.open(r.path);
    try {
      assert.equal(copy.writable, false);
      assert.equal(copy.verify().intact, true);
    } finally {
      copy.close();
    }
    const again = await envError(a, 'exportStream', { publicKey: s.publicKey, path: r.path });
    assert.equal(again.code, 'EXISTS');
    const intoDir = await a.call('exportStream', { publicKey: s.publicKey, path: out });
    assert.equal(intoDir.path, path.join(out, s.file));
    assert.equal((await envError(a, 'exportStream', { publicKey: s.publicKey, path: path.join(out, 'no', 'such', 'x.stream') })).code, 'NOT_FOUND');

    const { port, token } = await ui.listen();
    // The download is an ordinary link: the browser's session cookie signs it, never a token in the URL.
    const signedIn = { headers: { cookie: `drayer_${port}=${token}` } };
    const q = `publicKey=${encodeURIComponent(s.publicKey)}`;
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/export?${q}`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/export?${q}&token=${token}`)).status, 401);
    const res = await fetch(`http://127.0.0.1:${port}/api/export?${q}`, signedIn);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="Exported\.stream"/);
    const file = path.join(out, 'downloaded.stream');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const dl = Stream.open(file);
    try {
      assert.equal(dl.verify().intact, true);
      assert.equal(dl.count(), 4);
    } finally {
      dl.close();
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/export?publicKey=AAAA`, signedIn)).status, 400);
  } finally {
    await ui.close();
    await a.stop();
  }
});

test('verifyStream reports intact, incomplete (a sync that stopped) and damage; streamDetails has the last sync', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const s = await a.call('createStream', { name: 'Ada' });
    await a.call('post', { publicKey: s.publicKey, title: 'x', body: 'y' });
    const v = await a.call('verifyStream', { publicKey: s.publicKey });
    assert.deepEqual([v.intact, v.records, v.problems.length, v.incomplete], [true, 2, 0, undefined]);

    await b.call('follow', { key: s.publicKey, url: lanUrl(a) });
    let d = await b.call('streamDetails', { publicKey: s.publicKey });
    assert.equal(d.lastSync?.peer, lanUrl(a));
    assert.equal(d.lastSync?.error, undefined);
    assert.equal(d.lastSync?.records, 2);
    assert.ok(Math.abs(d.lastSync!.at - Date.now()) < 10_000);
    assert.equal(d.lastOk?.peer, lanUrl(a));
    assert.equal(d.incomplete, false);
    // the peer goes away: the last attempt says why, the last success stays
    await a.stop();
    await b.call('syncNow', { publicKey: s.publicKey });
    d = await b.call('streamDetails', { publicKey: s.publicKey });
    assert.match(d.lastSync?.error ?? '', /Cannot reach/);
    assert.equal(d.lastOk?.peer, lanUrl(a));

    // a pull that stopped part way: incomplete, not damaged
    const e = await b.call('streamDetails', { publicKey: s.publicKey });
    const held = Stream.open(e.path);
    held.markSync('http://10.0.0.9:1', true);
    held.close();
    const inc = await b.call('verifyStream', { publicKey: s.publicKey });
    assert.equal(inc.intact, false);
    assert.deepEqual(inc.problems, []);
    assert.deepEqual(inc.incomplete?.unfinished, ['http://10.0.0.9:1']);
    assert.equal((await b.call('streamDetails', { publicKey: s.publicKey })).incomplete, true);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('settings: notifications are stored, and only true or false', async () => {
  const a = await startNode('a');
  try {
    assert.equal((await a.call('getSettings', undefined)).notifications, false);
    assert.equal((await a.call('setSettings', { notifications: true })).notifications, true);
    assert.equal((await a.call('getSettings', undefined)).notifications, true);
    assert.equal((await envError(a, 'setSettings', { notifications: 'yes' })).code, 'INVALID_ARGUMENT');
  } finally {
    await a.stop();
  }
});

test(
  'a full disk is said plainly (DISK_FULL, what to do), and nothing is half written',
  { skip: process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs' : false },
  async () => {
    const mnt = tmpDir('drayer-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    let n: DrayerNode | null = null;
    try {
      n = await startNode('full', path.join(mnt, 'data'));
      const s = await n.call('createStream', { name: 'Full' });
      await n.call('post', { publicKey: s.publicKey, title: 'before', body: 'fits' });
      // fill what is left
      const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
      try {
        const chunk = Buffer.alloc(64 * 1024, 1);
        for (;;) fs.writeSync(fd, chunk);
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      const big = 'a long post that will not fit '.repeat(2000);
      const e = await envError(n, 'post', { publicKey: s.publicKey, title: 'after', body: big });
      assert.equal(e.code, 'DISK_FULL', JSON.stringify(e));
      assert.match(e.message, /disk is full.*Free some space/);
      fs.rmSync(path.join(mnt, 'filler'));
      const p = await n.call('post', { publicKey: s.publicKey, title: 'after', body: big });
      assert.equal(p.title, 'after');
      assert.equal((await n.call('verifyStream', { publicKey: s.publicKey })).intact, true);
    } finally {
      await n?.stop();
      execFileSync('umount', [mnt]);
    }
  },
);
