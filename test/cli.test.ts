// The `drayer` command as a user runs it: real child processes on real files in temp dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parseKey, keyWords } from '../app/core/keys.js';
import { DrayerNode } from '../app/node/node.js';
import { tmpDir } from './helpers.js';

// dist/test/cli.test.js -> bin/drayer.js
const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));
const PKG = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));

interface Run {
  code: number | null;
  stdout: Buffer;
  out: string;
  err: string;
}

function drayer(cwd: string, args: string[], input?: Uint8Array): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, input, env: { ...process.env, DRAYER_DEBUG: '' }, maxBuffer: 64 * 1024 * 1024 });
  const run = { code: r.status, stdout: r.stdout, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
  // Whatever happens, a person never sees a stack trace.
  assert.doesNotMatch(run.err, /\n\s+at .+:\d+:\d+/, `stack trace on stderr for ${args.join(' ')}: ${run.err}`);
  return run;
}

function ok(cwd: string, args: string[], input?: Uint8Array): Run {
  const r = drayer(cwd, args, input);
  assert.equal(r.code, 0, `drayer ${args.join(' ')} failed: ${r.err}`);
  return r;
}

function fails(cwd: string, args: string[], code: number, message: RegExp): Run {
  const r = drayer(cwd, args);
  assert.equal(r.code, code, `drayer ${args.join(' ')} exited ${r.code}, expected ${code}: ${r.err}`);
  assert.match(r.err, message);
  assert.equal(r.err.trim().split('\n')[0]!.startsWith('drayer: '), true, r.err);
  return r;
}

function newStream(name = 'Alice'): { dir: string; file: string; key: string } {
  const dir = tmpDir('drayer-cli-');
  const key = ok(dir, ['create', 'a.stream', '--name', name]).out.trim();
  return { dir, file: 'a.stream', key };
}

test('create prints a public key that parses, and writes the secret key beside the stream', () => {
  const { dir, key } = newStream();
  assert.equal(parseKey(key).length, 32);
  assert.ok(fs.existsSync(path.join(dir, 'a.stream.privatekey')));
  fails(dir, ['create', 'a.stream'], 1, /already exists/);
  const nested = ok(dir, ['create', path.join('sub', 'dir', 'b.stream')]).out.trim();
  assert.equal(parseKey(nested).length, 32);
  assert.ok(fs.existsSync(path.join(dir, 'sub', 'dir', 'b.stream.privatekey')));
});

test('post, then ls --json shows it with its title; ls groups all types', () => {
  const { dir, file } = newStream();
  const key = ok(dir, ['post', file, '--title', 'Hello', '--body', 'First post']).out.trim();
  fs.writeFileSync(path.join(dir, 'body.txt'), 'From a file ✓');
  const key2 = ok(dir, ['post', file, '--title', 'Second', '--body-file', 'body.txt']).out.trim();
  ok(dir, ['put', file, 'note', 'n1', '--value', 'x']);

  const posts = JSON.parse(ok(dir, ['ls', file, '--type', 'post', '--json']).out);
  assert.deepEqual(
    posts.map((p: { key: string }) => p.key),
    [key2, key],
  ); // newest first
  assert.equal(posts[1].title, 'Hello');
  assert.equal(posts[0].type, 'post');
  assert.equal(typeof posts[0].id, 'number');

  const all = JSON.parse(ok(dir, ['ls', file, '--json']).out);
  assert.deepEqual(
    all.map((r: { type: string }) => r.type),
    ['drayer', 'note', 'post', 'post'],
  );

  const lines = ok(dir, ['ls', file]).out.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^drayer\s+info\s+1\s/);
  assert.match(lines[2]!, new RegExp(`^post\\s+${key2}\\s.*Second$`));
  assert.match(lines[3]!, /Hello$/);
});

test('put and get round-trip every byte value, from a file and from stdin', () => {
  const { dir, file } = newStream();
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  fs.writeFileSync(path.join(dir, 'all.bin'), bytes);
  ok(dir, ['put', file, 'blob', 'all', '--value-file', 'all.bin']);
  assert.deepEqual(ok(dir, ['get', file, 'blob', 'all']).stdout, bytes);

  const reversed = Buffer.from(bytes).reverse();
  ok(dir, ['put', file, 'blob', 'all', '--value-file', '-'], reversed);
  assert.deepEqual(ok(dir, ['get', file, 'blob', 'all']).stdout, reversed);

  ok(dir, ['put', file, 'text', 'ünï', '--value', 'héllo']);
  assert.equal(ok(dir, ['get', file, 'text', 'ünï']).out, 'héllo');
  fails(dir, ['get', file, 'blob', 'none'], 1, /no record blob\/none/);
});

test('rm deletes a record, and says so when there is none', () => {
  const { dir, file } = newStream();
  ok(dir, ['put', file, 'note', 'k', '--value', 'v']);
  ok(dir, ['rm', file, 'note', 'k']);
  fails(dir, ['get', file, 'note', 'k'], 1, /no record note\/k/);
  fails(dir, ['rm', file, 'note', 'k'], 1, /no record note\/k/);
  fails(dir, ['rm', file, 'drayer', 'info'], 1, /cannot be deleted/);
  assert.equal(ok(dir, ['verify', file]).code, 0);
});

test('info --json describes the stream in one JSON document', () => {
  const { dir, file, key } = newStream('Alice');
  ok(dir, ['post', file, '--title', 't', '--body', 'b']);
  const info = JSON.parse(ok(dir, ['info', file, '--json']).out);
  assert.equal(info.name, 'Alice');
  assert.equal(info.publicKey, key);
  assert.equal(info.fingerprint.split(' ').length, 24);
  assert.deepEqual(parseKey(info.link), parseKey(key));
  assert.equal(info.writable, true);
  assert.equal(info.mode, 'writable');
  assert.equal(info.records, 2);
  assert.deepEqual(info.types, { drayer: 1, post: 1 });
  assert.ok(info.lastSeq >= 2);
  assert.ok(info.fileSize > 0);
  const text = ok(dir, ['info', file]).out;
  assert.match(text, /Public key:\s+\S+/);
  assert.match(text, /writable/);
});

test('verify passes an intact stream and names the record whose value was tampered with', () => {
  const { dir, file } = newStream();
  const key = ok(dir, ['post', file, '--title', 'Target', '--body', 'original text']).out.trim();
  ok(dir, ['put', file, 'note', 'other', '--value', 'fine']);
  const good = ok(dir, ['verify', file]);
  assert.match(good.out, /intact/);
  assert.equal(JSON.parse(ok(dir, ['verify', file, '--json']).out).intact, true);

  const db = new Database(path.join(dir, file));
  const row = db.prepare("SELECT id, val FROM records WHERE type = 'post' AND key = ?").get(key) as { id: number; val: Buffer };
  row.val[3] = row.val[3]! ^ 0x01;
  db.prepare('UPDATE records SET val = ? WHERE id = ?').run(row.val, row.id);
  db.close();

  const bad = drayer(dir, ['verify', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.out, new RegExp(`record ${row.id} \\(post/${key}\\)`));
  assert.doesNotMatch(bad.out, /note\/other/);
  const json = drayer(dir, ['verify', file, '--json']);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.out);
  assert.equal(report.intact, false);
  assert.deepEqual(
    report.problems.map((p: { id: number }) => p.id),
    [row.id],
  );
});

test('export writes a keyless copy: a mirror that verifies and refuses writes', () => {
  const { dir, file, key } = newStream();
  ok(dir, ['post', file, '--title', 'Shared', '--body', 'hi']);
  ok(dir, ['export', file, 'copy.stream']);
  assert.ok(fs.existsSync(path.join(dir, 'copy.stream')));
  assert.ok(!fs.existsSync(path.join(dir, 'copy.stream.privatekey')));
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
  );

  const orig = JSON.parse(ok(dir, ['info', file, '--json']).out);
  const copy = JSON.parse(ok(dir, ['info', 'copy.stream', '--json']).out);
  assert.equal(copy.publicKey, key);
  assert.equal(copy.mode, 'mirror');
  assert.equal(copy.writable, false);
  assert.notEqual(copy.nodeId, orig.nodeId); // another database: followers must not reuse cursors
  assert.deepEqual(JSON.parse(ok(dir, ['ls', 'copy.stream', '--json']).out), JSON.parse(ok(dir, ['ls', file, '--json']).out));
  ok(dir, ['verify', 'copy.stream']);

  fails(dir, ['put', 'copy.stream', 'note', 'k', '--value', 'v'], 1, /mirror/);
  fails(dir, ['post', 'copy.stream', '--title', 't', '--body', 'b'], 1, /mirror/);
  fails(dir, ['export', file, 'copy.stream'], 1, /already exists/);
});

test('a missing stream file or input file is a clear sentence, and nothing is created', () => {
  const dir = tmpDir('drayer-cli-');
  fails(dir, ['info', 'missing.stream'], 1, /no stream file at missing\.stream/);
  fails(dir, ['put', 'missing.stream', 't', 'k', '--value', 'v'], 1, /no stream file/);
  assert.deepEqual(fs.readdirSync(dir), []);
  ok(dir, ['create', 'a.stream']);
  fails(dir, ['put', 'a.stream', 't', 'k', '--value-file', 'nope.bin'], 1, /nope\.bin: there is no such file/);
  fails(dir, ['post', 'a.stream', '--title', 't', '--body-file', 'nope.txt'], 1, /nope\.txt: there is no such file/);
});

test('a file that is not a stream is refused and left byte for byte as it was', () => {
  const dir = tmpDir('drayer-cli-');
  const junk = crypto.randomBytes(8192);
  const f = path.join(dir, 'x.stream');
  fs.writeFileSync(f, junk);
  for (const args of [
    ['info', 'x.stream'],
    ['ls', 'x.stream'],
    ['verify', 'x.stream'],
    ['put', 'x.stream', 't', 'k', '--value', 'v'],
    ['get', 'x.stream', 't', 'k'],
    ['export', 'x.stream', 'y.stream'],
  ]) {
    fails(dir, args, 1, /x\.stream is not a Drayer stream file/);
  }
  assert.deepEqual(fs.readFileSync(f), junk);
  assert.deepEqual(fs.readdirSync(dir), ['x.stream']);
});

test('wrong arguments exit 2 with the usage on stderr; help goes to stdout', () => {
  const { dir, file } = newStream();
  const none = drayer(dir, []);
  assert.equal(none.code, 2);
  assert.match(none.err, /Usage: drayer COMMAND/);
  assert.equal(none.out, '');
  fails(dir, ['frobnicate'], 2, /no command "frobnicate"/);
  fails(dir, ['--frob'], 2, /Unknown option/);
  fails(dir, ['put', file, 'onlytype'], 2, /Usage: drayer put FILE TYPE KEY/);
  fails(dir, ['put', file, 't', 'k'], 2, /exactly one of --value and --value-file/);
  fails(dir, ['put', file, 't', 'k', '--value', 'a', '--value-file', 'b'], 2, /exactly one/);
  fails(dir, ['post', file, '--body', 'b'], 2, /--title/);
  fails(dir, ['ls', file, '--nope'], 2, /Unknown option '--nope'/);
  fails(dir, ['ls', file, 'extra'], 2, /extra/);
  fails(dir, ['info'], 2, /Usage: drayer info FILE/);

  const help = ok(dir, ['help']);
  for (const c of ['create', 'info', 'servers', 'post', 'put', 'get', 'rm', 'ls', 'add', 'cat', 'verify', 'export', 'help'])
    assert.match(help.out, new RegExp(`^  ${c} `, 'm'));
  assert.equal(help.err, '');
  assert.match(ok(dir, ['--help']).out, /Commands:/);
  assert.match(ok(dir, ['put', '--help']).out, /^Usage: drayer put FILE TYPE KEY/);
  assert.match(ok(dir, ['help', 'verify']).out, /^Usage: drayer verify FILE/);
  assert.equal(ok(dir, ['--version']).out.trim(), PKG.version);
});

test('add a folder (index.html and a 3 MiB binary), cat each back byte for byte', async () => {
  const { dir, file } = newStream();
  const site = path.join(dir, 'site');
  fs.mkdirSync(path.join(site, 'img'), { recursive: true });
  const html = Buffer.from('<!doctype html><title>Hi</title><h1>Hello ✓</h1>\n');
  const big = crypto.randomBytes(3 * 1024 * 1024);
  fs.writeFileSync(path.join(site, 'index.html'), html);
  fs.writeFileSync(path.join(site, 'img', 'big.bin'), big);

  const added = JSON.parse(ok(dir, ['add', file, 'site', '--json']).out) as { added: string[]; updated: string[]; removed: string[]; unchanged: number };
  assert.equal(added.added.length, 2);
  const htmlPath = added.added.find((p) => p.endsWith('index.html'))!;
  const bigPath = added.added.find((p) => p.endsWith('big.bin'))!;
  assert.ok(htmlPath && bigPath, JSON.stringify(added));

  assert.deepEqual(ok(dir, ['cat', file, htmlPath]).stdout, html);
  const back = ok(dir, ['cat', file, bigPath]).stdout;
  assert.equal(back.length, big.length);
  assert.ok(back.equals(big));

  const listed = JSON.parse(ok(dir, ['ls', file, '--type', 'file', '--json']).out) as { key: string; fileSize: number; mime: string }[];
  assert.equal(listed.find((r) => r.key === bigPath)!.fileSize, big.length);
  assert.equal(listed.find((r) => r.key === htmlPath)!.mime, 'text/html');

  const again = ok(dir, ['add', file, 'site']).out;
  assert.match(again, /0 added, 0 updated, 0 removed, 2 unchanged/);
  ok(dir, ['verify', file]);
  fails(dir, ['cat', file, 'no/such.txt'], 1, /no file no\/such\.txt/);
  fails(dir, ['add', file, 'nowhere'], 1, /nowhere: there is no such file/);

  // A reader that stops early (like `| head`) is not an error.
  const child = spawn(process.execPath, [BIN, 'cat', file, bigPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(err, '');
  assert.equal(code, 0);
});

// ---------- interrupted adds leave nothing behind (issue 7) ----------

/** Random (incompressible) content with `marker` near the start of every MiB, so every chunk holds it. */
function markedContent(size: number, marker: string): Buffer {
  const data = crypto.randomBytes(size);
  // every 64 KiB: at offsets that shift against SQLite's pages, so some copies never straddle two
  for (let off = 0; off + 4096 < size; off += 64 * 1024) data.write(marker, off + 1000, 'latin1');
  return data;
}

/** Chunks in a stream file, read without opening it as a stream (which would collect). */
function chunksIn(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The bytes of a stream file and its WAL: what a copy of it would carry. */
function bytesOf(file: string): Buffer {
  return Buffer.concat([file, file + '-wal'].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

/**
 * Start `drayer add FILE SRC` and send `signal` once at least `minChunks` chunks are committed;
 * resolves with how it ended. Fails when the add finished before it could be interrupted.
 */
async function interruptedAdd(
  dir: string,
  file: string,
  src: string,
  signal: NodeJS.Signals,
  minChunks: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const child = spawn(process.execPath, [BIN, 'add', file, src], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DRAYER_DEBUG: '' } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, sig) => resolve({ code, signal: sig })),
  );
  let exited = false;
  void ended.then(() => (exited = true));
  const db = new Database(path.join(dir, file), { readonly: true });
  const count = db.prepare('SELECT count(*) FROM chunks').pluck();
  try {
    while (!exited && (count.get() as number) < minChunks) await new Promise((r) => setTimeout(r, 2));
  } finally {
    db.close();
  }
  assert.equal(exited, false, `the add ended before it could be interrupted: ${err}`);
  child.kill(signal);
  return { ...(await ended), err };
}

test('an add killed mid-way (SIGKILL): its chunks are collected at the next open, and export ships none of them', async () => {
  const { dir, file } = newStream();
  const keep = crypto.randomBytes(3 * 1024 * 1024);
  fs.writeFileSync(path.join(dir, 'keep.bin'), keep);
  ok(dir, ['add', file, 'keep.bin']);
  const kept = chunksIn(path.join(dir, file));
  assert.equal(kept, 3);
  const marker = `PRIVATE-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'secret.bin'), markedContent(96 * 1024 * 1024, marker));

  const end = await interruptedAdd(dir, file, 'secret.bin', 'SIGKILL', kept + 8);
  assert.equal(end.signal, 'SIGKILL');
  assert.ok(chunksIn(path.join(dir, file)) > kept + 4, 'the killed add left chunks behind');
  assert.ok(bytesOf(path.join(dir, file)).includes(marker), 'the killed add left its bytes behind');

  // The export (its first open since the kill) ships no chunk of the cancelled file.
  ok(dir, ['export', file, 'share.stream']);
  const shared = path.join(dir, 'share.stream');
  assert.equal(chunksIn(shared), kept);
  assert.equal(bytesOf(shared).includes(marker), false, 'the export holds bytes of the cancelled file');
  ok(dir, ['verify', 'share.stream']);

  // The stream itself was collected when opened.
  assert.equal(chunksIn(path.join(dir, file)), kept);
  assert.deepEqual(ok(dir, ['cat', file, 'keep.bin']).stdout, keep);
  assert.equal(JSON.parse(ok(dir, ['ls', file, '--type', 'file', '--json']).out).length, 1);
});

test('an add stopped with Ctrl-C (SIGINT) removes what it wrote before it exits', async () => {
  const { dir, file } = newStream();
  fs.writeFileSync(path.join(dir, 'keep.bin'), crypto.randomBytes(2 * 1024 * 1024 + 5));
  ok(dir, ['add', file, 'keep.bin']);
  const kept = chunksIn(path.join(dir, file));
  const marker = `PRIVATE-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'secret.bin'), markedContent(96 * 1024 * 1024, marker));

  const end = await interruptedAdd(dir, file, 'secret.bin', 'SIGINT', kept + 8);
  assert.equal(end.code, 130, `exit ${end.code} (${end.signal}): ${end.err}`);
  assert.match(end.err, /cancelled/i);
  assert.match(end.err, /secret\.bin/);
  assert.doesNotMatch(end.err, /\n\s+at .+:\d+:\d+/);
  // Without opening the stream again: the add cleaned up itself.
  assert.equal(chunksIn(path.join(dir, file)), kept);
  ok(dir, ['export', file, 'share.stream']);
  assert.equal(bytesOf(path.join(dir, 'share.stream')).includes(marker), false);
  ok(dir, ['verify', file]);
});

test('export never ships a chunk no file refers to, even one nothing has collected yet', () => {
  const { dir, file } = newStream();
  fs.writeFileSync(path.join(dir, 'keep.bin'), crypto.randomBytes(2 * 1024 * 1024));
  ok(dir, ['add', file, 'keep.bin']);
  const marker = `PRIVATE-${crypto.randomBytes(12).toString('hex')}`;
  const stray = markedContent(512 * 1024, marker);
  const db = new Database(path.join(dir, file));
  db.prepare('INSERT INTO chunks (hash, data) VALUES (?, ?)').run(crypto.createHash('sha256').update(stray).digest(), stray);
  db.close();
  ok(dir, ['export', file, 'share.stream']);
  const shared = path.join(dir, 'share.stream');
  assert.equal(fs.existsSync(shared + '-wal'), false);
  assert.equal(bytesOf(shared).includes(marker), false, 'the export holds an unreferenced chunk');
  assert.equal(chunksIn(shared), 2);
  ok(dir, ['verify', 'share.stream']);
  assert.equal(ok(dir, ['cat', 'share.stream', 'keep.bin']).stdout.length, 2 * 1024 * 1024);
});

test('a collection in another process does not harm an add in progress', async () => {
  const { dir, file } = newStream();
  const data = crypto.randomBytes(96 * 1024 * 1024);
  fs.writeFileSync(path.join(dir, 'big.bin'), data);
  const { Stream } = await import('../app/store/store.js');
  const { gcChunks, readFileBytes } = await import('../app/store/files.js');
  const child = spawn(process.execPath, [BIN, 'add', file, 'big.bin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  let exited = false;
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => ((exited = true), resolve(code))));
  const poll = new Database(path.join(dir, file), { readonly: true });
  const count = poll.prepare('SELECT count(*) FROM chunks').pluck();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // The add is stopped (SIGSTOP) at three points between its commits; each time this process
  // opens the stream and collects, as `drayer serve` or another command beside it would.
  const collected: number[] = [];
  try {
    for (const at of [8, 40, 72]) {
      while (!exited && (count.get() as number) < at) await sleep(2);
      for (let tries = 0; !exited && tries < 200; tries++) {
        child.kill('SIGSTOP');
        const s = Stream.open(path.join(dir, file));
        try {
          s.db.pragma('busy_timeout = 50');
          const held = count.get() as number;
          gcChunks(s);
          assert.equal(s.get('file', 'big.bin'), undefined, 'the add had not stored its file yet');
          collected.push(held);
          break;
        } catch (e) {
          if (!String((e as { code?: string }).code).startsWith('SQLITE_BUSY')) throw e;
        } finally {
          s.close();
          child.kill('SIGCONT');
        }
        await sleep(3); // stopped inside a commit: let it finish, stop it again
      }
    }
  } finally {
    poll.close();
    child.kill('SIGCONT');
  }
  assert.equal(await ended, 0, err);
  const s = Stream.open(path.join(dir, file));
  try {
    assert.ok((await readFileBytes(s, 'big.bin')).equals(data), 'the added file reads back whole');
  } finally {
    s.close();
  }
  assert.equal(collected.length, 3, `collections while the add was half done, at ${collected.join(', ')} chunks`);
  ok(dir, ['verify', file]);
  assert.equal(chunksIn(path.join(dir, file)), 96);
});

test('rm of a big file, and a sync that brings its deletion, leave none of its chunks behind', async () => {
  const { dir, file } = newStream();
  fs.writeFileSync(path.join(dir, 'big.bin'), crypto.randomBytes(3 * 1024 * 1024 + 5));
  ok(dir, ['add', file, 'big.bin']);
  assert.ok(chunksIn(path.join(dir, file)) >= 3);
  const pk = JSON.parse(ok(dir, ['info', file, '--json']).out).publicKey as string;

  // A mirror clones it over HTTP; the writer deletes the file with rm; the mirror syncs.
  const { LanServer } = await import('../app/net/server/server.js');
  const { Stream } = await import('../app/store/store.js');
  let served: import('../app/store/store.js').Stream | undefined;
  const lan = new LanServer({ resolve: () => served, shared: () => [] });
  const url = `http://127.0.0.1:${(await lan.listen()).port}`;
  const child = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: 'ignore' });
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`drayer ${args[0]} exited ${code}`))));
    });
  try {
    served = Stream.open(path.join(dir, file));
    await child(['clone', url, pk, 'm.stream']);
    assert.ok(chunksIn(path.join(dir, 'm.stream')) >= 3, 'the clone holds the big file');
    ok(dir, ['rm', file, 'file', 'big.bin']);
    assert.equal(chunksIn(path.join(dir, file)), 0, "rm left the file's chunks in the writer");
    await child(['sync', 'm.stream', url]);
    assert.equal(chunksIn(path.join(dir, 'm.stream')), 0, "the sync left the deleted file's chunks in the mirror");
  } finally {
    served?.close();
    await lan.close();
  }
});

/** `drayer` as a child that may run on (serve) or need this process to answer (clone): killed after `ms`, then code is null. */
function drayerAsync(cwd: string, args: string[], env: Record<string, string> = {}, ms = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, DRAYER_DEBUG: '', ...env } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      assert.doesNotMatch(err, /\n\s+at .+:\d+:\d+/, `stack trace on stderr for ${args.join(' ')}: ${err}`);
      resolve({ code, stdout, out: stdout.toString('utf8'), err });
    });
  });
}

test('servers sets, shows and clears the primary servers; info shows them; bad URLs and mirrors are refused', () => {
  const { dir, file } = newStream();
  const none = ok(dir, ['servers', file]);
  assert.equal(none.out, '');
  assert.match(none.err, /names no primary servers.*drayer servers a\.stream URL/);
  assert.deepEqual(JSON.parse(ok(dir, ['servers', file, '--json']).out), { file, primaryServers: [] });
  assert.match(ok(dir, ['info', file]).out, /^Servers: +\(none\)$/m);

  // set: URLs are normalised as sync addresses peers, duplicates dropped
  const set = ok(dir, ['servers', file, 'http://mirror.example:8089/', 'https://b.example/drayer', 'http://mirror.example:8089']);
  assert.equal(set.out, 'http://mirror.example:8089\nhttps://b.example/drayer\n');
  assert.match(set.err, /2 primary servers/);
  assert.equal(ok(dir, ['servers', file]).out, 'http://mirror.example:8089\nhttps://b.example/drayer\n');
  const expected = [
    { type: 'http', url: 'http://mirror.example:8089' },
    { type: 'http', url: 'https://b.example/drayer' },
  ];
  assert.deepEqual(JSON.parse(ok(dir, ['servers', file, '--json']).out).primaryServers, expected);
  assert.deepEqual(JSON.parse(ok(dir, ['info', file, '--json']).out).primaryServers, expected);
  assert.match(ok(dir, ['info', file]).out, /^Servers: +http:\/\/mirror\.example:8089, https:\/\/b\.example\/drayer$/m);
  ok(dir, ['verify', file]); // a signed record like any other

  // refused, and nothing changes
  fails(dir, ['servers', file, 'mirror.example'], 1, /"mirror\.example" is not a URL.*http:\/\/.*Nothing was changed/);
  fails(dir, ['servers', file, 'ftp://mirror.example'], 1, /"ftp:\/\/mirror\.example" is not an http:\/\/ or https:\/\/ URL.*Nothing was changed/);
  fails(dir, ['servers', file, 'localhost:8089'], 1, /"localhost:8089" is not a URL.*e\.g\. http:\/\/localhost:8089\. Nothing was changed/);
  fails(dir, ['servers', file, 'http://'], 1, /not a URL.*Nothing was changed/);
  fails(dir, ['servers', file, ...Array.from({ length: 17 }, (_, i) => `http://m${i}.example`)], 1, /at most 16.*Nothing was changed/);
  fails(dir, ['servers', file, 'http://a.example', '--clear'], 2, /--clear.*not both/);
  assert.deepEqual(JSON.parse(ok(dir, ['servers', file, '--json']).out).primaryServers, expected);

  // a mirror shows them but cannot set them: the author signs the list
  ok(dir, ['export', file, 'copy.stream']);
  assert.equal(ok(dir, ['servers', 'copy.stream']).out, 'http://mirror.example:8089\nhttps://b.example/drayer\n');
  fails(dir, ['servers', 'copy.stream', 'http://c.example'], 1, /copy\.stream is a mirror.*secret key/);

  const cleared = ok(dir, ['servers', file, '--clear']);
  assert.equal(cleared.out, '');
  assert.match(cleared.err, /no primary servers/);
  assert.deepEqual(JSON.parse(ok(dir, ['info', file, '--json']).out).primaryServers, []);
  assert.match(ok(dir, ['help', 'servers']).out, /^Usage: drayer servers FILE \[URL\.\.\.\]/);
});

test('help help, help --help and --help on help explain help', () => {
  const dir = tmpDir('drayer-cli-');
  for (const args of [
    ['help', 'help'],
    ['help', '--help'],
    ['help', '-h'],
  ]) {
    const r = ok(dir, args);
    assert.match(r.out, /^Usage: drayer help \[COMMAND\]/, args.join(' '));
    assert.equal(r.err, '');
  }
  assert.match(ok(dir, ['help', 'serve']).out, /^Usage: drayer serve /); // a network command loads for its help
  fails(dir, ['help', 'frobnicate'], 2, /no command "frobnicate"/);
  fails(dir, ['help', 'info', 'ls'], 2, /help takes at most 1 argument/);
});

test('--latest takes a positive whole number: -2, 0, 2.5 and x are each named as wrong, never "ambiguous"', () => {
  const dir = tmpDir('drayer-cli-');
  const key = 'A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=';
  for (const latest of [['--latest', '-2'], ['--latest=-2'], ['--latest', '0'], ['--latest', '2.5'], ['--latest', 'x'], ['--latest', '-0.5']]) {
    const value = latest.length === 2 ? latest[1]! : '-2';
    const r = fails(dir, ['clone', 'http://127.0.0.1:1', key, 'x.stream', ...latest], 2, /--latest needs a positive whole number/);
    assert.ok(r.err.includes(`not ${value}`), r.err);
    assert.doesNotMatch(r.err, /ambiguous/);
  }
  assert.deepEqual(fs.readdirSync(dir), []); // refused before anything was written
  // a value that starts with a dash and is no number: say what is missing and how to give such a value
  const { dir: d2, file } = newStream();
  const r = fails(d2, ['post', file, '--title', '--body', 'b'], 2, /--title is missing its value/);
  assert.match(r.err, /--title=--body/);
  assert.doesNotMatch(r.err, /ambiguous/);
  assert.equal(ok(d2, ['post', file, '--title=-draft-', '--body', 'b']).code, 0);
  assert.equal(ok(d2, ['post', file, '--title', '-5', '--body', 'b']).code, 0); // a negative number is a value
  fails(d2, ['ls', file, '--type'], 2, /--type is missing its value/);
});

test('clone takes the 32 key words separated by commas (or other punctuation), as people paste them', async () => {
  const home = tmpDir('drayer-cli-home-');
  const node = await DrayerNode.start({
    dataDir: path.join(tmpDir('drayer-cli-node-'), 'node'),
    host: '127.0.0.1',
    port: 0,
    discovery: false,
    autoSync: false,
  });
  try {
    const st = await node.call('createStream', { name: 'Worded' });
    await node.call('post', { publicKey: st.publicKey, title: 'hi', body: 'there' });
    const url = `http://127.0.0.1:${node.lanAddress()!.port}`;
    const words = keyWords(parseKey(st.publicKey)).split(' ');
    const dir = tmpDir('drayer-cli-');
    for (const [i, text] of [words.join(','), words.join(', '), `${words.join('; ')}.`].entries()) {
      const r = await drayerAsync(dir, ['clone', url, text, `w${i}.stream`, '--json'], { HOME: home });
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assert.equal(j.publicKey, st.publicKey);
      assert.equal(j.name, 'Worded');
    }
    const typo = await drayerAsync(dir, ['clone', url, words.map((w, i) => (i === 5 ? `${w}x` : w)).join(', '), 'typo.stream'], { HOME: home });
    assert.equal(typo.code, 1);
    assert.match(typo.err, new RegExp(`unknown PGP word "${words[5]}x" at position 6 of 32`));
  } finally {
    await node.stop();
  }
});

/** A port on 127.0.0.1 that another program holds until `close`. */
async function busyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((resolve) => srv.close(() => resolve())) };
}

test('serve --ui --ui-port BUSY: a clear sentence, exit 1, and no node is left running without its UI', { timeout: 120_000 }, async () => {
  const dir = tmpDir('drayer-cli-');
  const busy = await busyPort();
  try {
    const r = await drayerAsync(
      dir,
      ['serve', '--data', path.join(dir, 'node'), '--no-discovery', '--host', '127.0.0.1', '--port', '0', '--ui', '--ui-port', String(busy.port)],
      { HOME: dir },
      20_000,
    );
    assert.equal(r.code, 1, `serve still ran (code ${r.code}): ${r.err}`); // null: it was still running when killed
    assert.match(
      r.err,
      new RegExp(
        `^drayer: The web UI cannot listen on port ${busy.port}: another program is using it\\. Choose another port with --ui-port, or leave --ui-port out to use a free one\\.`,
      ),
    );
    assert.doesNotMatch(r.err, /unexpected error|EADDRINUSE/);
    assert.equal(r.out, ''); // it never said it was serving
    fails(dir, ['serve', '--ui', '--ui-port', 'x'], 2, /--ui-port needs a port number/);
  } finally {
    await busy.close();
  }
});

test(
  'serve --port BUSY and serve --host with an address not on this machine: clear sentences, exit 1, nothing left running',
  { timeout: 120_000 },
  async () => {
    const dir = tmpDir('drayer-cli-');
    const busy = await busyPort();
    try {
      const r = await drayerAsync(
        dir,
        ['serve', '--data', path.join(dir, 'node'), '--no-discovery', '--host', '127.0.0.1', '--port', String(busy.port)],
        { HOME: dir },
        20_000,
      );
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        new RegExp(`^drayer: The node cannot listen on port ${busy.port}: another program is using it\\. Choose another port with --port, or leave --port out`),
      );
      assert.equal(r.out, '');
    } finally {
      await busy.close();
    }
    // 10.99.99.99 is on no interface here (checked): binding fails locally, nothing is sent
    const local = Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address));
    assert.ok(!local.includes('10.99.99.99'), 'this test needs 10.99.99.99 to be no address of this machine');
    const r = await drayerAsync(
      dir,
      ['serve', '--data', path.join(dir, 'node2'), '--no-discovery', '--host', '10.99.99.99', '--port', '0', '--ui'],
      { HOME: dir },
      20_000,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /^drayer: The node cannot listen on 10\.99\.99\.99: it is not an address of this machine\. Give one of its addresses with --host .*, or 0\.0\.0\.0 for all of them\./,
    );
    assert.doesNotMatch(r.err, /unexpected error|EADDRNOTAVAIL/);
    assert.equal(r.out, '');
  },
);
