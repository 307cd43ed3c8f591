// `drayer serve --data DIR` serves the stream files in DIR: those there at start, those the CLI
// creates or clones there while it runs, and lets go of those deleted; files it cannot serve are
// left byte for byte and reported once. Real `drayer` child processes, real HTTP on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope, StreamSummary, SyncReport, TimelineItem } from '../app/node/api.js';
import { DataDirWatcher } from '../app/node/datadir.js';
import { DrayerNode } from '../app/node/node.js';
import { addPost } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { httpApiClient } from '../app/node/webui.js';
import { tmpDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));

function drayer(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, DRAYER_DEBUG: '' }, encoding: 'utf8' });
  assert.equal(r.status, 0, `drayer ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** The same, without blocking this process: for a clone from a node running in this process. */
function drayerAsync(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DRAYER_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`drayer ${args.join(' ')} failed: ${err}`))));
  });
}

const urlKey = (pk: string): string => Buffer.from(pk, 'base64').toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Poll until `fn` returns something truthy; fail with `what` after `ms`. */
async function until<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(50);
  }
}

interface Served {
  lan: string;
  call<T>(method: string, arg?: unknown): Promise<T>;
  /** stderr lines so far */
  log(): string[];
  alive(): boolean;
  stop(): Promise<void>;
}

/** `drayer serve --data DIR` on 127.0.0.1 with the web UI, so its API can be asked. */
async function serve(dir: string): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--host', '127.0.0.1', '--port', '0', '--no-discovery', '--ui', '--json'], {
    env: { ...process.env, DRAYER_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  let exited = false;
  child.stderr!.on('data', (d) => (err += d));
  child.on('exit', () => (exited = true));
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.on('exit', (code) => reject(new Error(`drayer serve exited (${code}): ${err}`)));
  });
  const status = JSON.parse(first) as { lan: { port: number }; ui: string; token: string };
  const ui = new URL(status.ui);
  const client = httpApiClient(`http://127.0.0.1:${ui.port}`, status.token);
  return {
    lan: `http://127.0.0.1:${status.lan.port}`,
    async call<T>(method: string, arg?: unknown): Promise<T> {
      const env = (await client.call(method, arg)) as Envelope<T>;
      if (!env.ok) throw new Error(`${method}: ${env.error.code} ${env.error.message}`);
      return env.value;
    },
    log: () => err.split('\n').filter(Boolean),
    alive: () => !exited,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

async function rootPage(n: Served): Promise<string> {
  return (await fetch(`${n.lan}/`)).text();
}

async function titles(n: Served, pk?: string): Promise<string[]> {
  const items = await n.call<TimelineItem[]>('timeline', { limit: 1000 });
  return items
    .filter((t) => !pk || t.streamKey === pk)
    .map((t) => t.title)
    .sort();
}

test('a stream made with drayer create in DIR before start is served, on the timeline and searchable, and the CLI still writes it', async () => {
  const dir = tmpDir('drayer-adopt-');
  const file = path.join(dir, 'my.stream');
  const pk = drayer(['create', file, '--name', 'Mine']);
  drayer(['post', file, '--title', 'Hello from the CLI', '--body', 'an okapi walked in']);
  const site = tmpDir('drayer-site-');
  fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>Mine</title><p>My site</p>');
  drayer(['add', file, path.join(site, 'index.html')]);
  const n = await serve(dir);
  try {
    assert.match(await rootPage(n), /Mine/);
    assert.doesNotMatch(await rootPage(n), /shares no streams/);
    assert.equal(await status(`${n.lan}/${urlKey(pk)}/webAccess/`), 200);
    const page = await fetch(`${n.lan}/${urlKey(pk)}/webAccess/index.html`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /My site/);
    assert.equal(await status(`${n.lan}/${urlKey(pk)}/changes?since=0`), 200);
    const streams = await n.call<StreamSummary[]>('listStreams');
    assert.deepEqual(
      streams.map((s) => [s.publicKey, s.file, s.owned, s.name, s.posts]),
      [[pk, 'my.stream', true, 'Mine', 1]],
    );
    assert.deepEqual(await titles(n), ['Hello from the CLI']);
    const hits = await n.call<TimelineItem[]>('search', { query: 'okapi' });
    assert.deepEqual(
      hits.map((h) => h.streamKey),
      [pk],
    );

    // The CLI's local commands keep working on the file the node holds, and the node sees the writes.
    drayer(['post', file, '--title', 'Second, while serving', '--body', 'b']);
    await until('the CLI post is on the timeline', async () => (await titles(n)).includes('Second, while serving'));
    assert.match(drayer(['verify', file]), /intact/);
    // The node writes too: the stream stays one consistent file.
    await n.call('post', { publicKey: pk, title: 'Third, from the node', body: '' });
    assert.equal(JSON.parse(drayer(['ls', file, '--type', 'post', '--json'])).length, 3);
    assert.match(drayer(['verify', file]), /intact/);
    assert.equal(n.alive(), true);
  } finally {
    await n.stop();
  }
});

test('a stream created beside a running node is served within a second or two; deleting its file lets it go', async (t) => {
  const dir = tmpDir('drayer-adopt-');
  const n = await serve(dir);
  try {
    assert.match(await rootPage(n), /shares no streams/);
    const file = path.join(dir, 'late.stream');
    const pk = drayer(['create', file, '--name', 'Latecomer']);
    const created = Date.now();
    await until('the new stream is served', async () => (await status(`${n.lan}/${urlKey(pk)}/changes?since=0`)) === 200);
    const latency = Date.now() - created;
    t.diagnostic(`adopted ${latency} ms after drayer create exited`);
    console.log(`# adoption latency: ${latency} ms`);
    assert.match(await rootPage(n), /Latecomer/);
    drayer(['post', file, '--title', 'Late post', '--body', 'a quokka']);
    await until('the post is on the timeline', async () => (await titles(n, pk)).includes('Late post'));
    assert.equal((await n.call<TimelineItem[]>('search', { query: 'quokka' })).length, 1);

    // Unfollowed with its data kept, a stream stays let go although its file stays in DIR.
    const kept = path.join(dir, 'kept.stream');
    const keptPk = drayer(['create', kept, '--name', 'Kept']);
    await until('the kept stream is served', async () => (await n.call<StreamSummary[]>('listStreams')).some((s) => s.publicKey === keptPk));
    await n.call('unfollow', { publicKey: keptPk });
    await sleep(2600); // past a periodic rescan
    assert.deepEqual(
      (await n.call<StreamSummary[]>('listStreams')).map((s) => s.publicKey),
      [pk],
    );
    assert.ok(fs.existsSync(kept));

    fs.rmSync(file);
    const removed = Date.now();
    await until('the deleted stream is no longer served', async () => (await status(`${n.lan}/${urlKey(pk)}/changes?since=0`)) === 404);
    t.diagnostic(`let go ${Date.now() - removed} ms after the file was deleted`);
    assert.equal(await status(`${n.lan}/${urlKey(pk)}/webAccess/`), 404);
    assert.doesNotMatch(await rootPage(n), /Latecomer/);
    assert.deepEqual(await n.call<StreamSummary[]>('listStreams'), []);
    assert.deepEqual(await titles(n), []);
    assert.deepEqual(await n.call<TimelineItem[]>('search', { query: 'quokka' }), []);
    assert.ok(
      n.log().some((l) => l.includes('late.stream is gone')),
      n.log().join('\n'),
    );
    // What SQLite kept beside the deleted file went with it; the key file is the user's.
    await until('the WAL of the deleted file is removed', () => !fs.existsSync(file + '-wal') && !fs.existsSync(file + '-shm'));
    assert.ok(fs.existsSync(file + '.privatekey'));
    assert.equal(n.alive(), true);
  } finally {
    await n.stop();
  }
});

test('a stream file renamed beside the running node is served under its new name with every record', async () => {
  const dir = tmpDir('drayer-adopt-');
  const file = path.join(dir, 'old.stream');
  const pk = drayer(['create', file, '--name', 'Renamed']);
  const n = await serve(dir);
  try {
    // Written by the node, so the newest commits sit in the WAL the node has open at the old name.
    for (let i = 0; i < 5; i++) await n.call('post', { publicKey: pk, title: `p${i}`, body: '' });
    fs.renameSync(file + '.privatekey', path.join(dir, 'new.stream.privatekey'));
    fs.renameSync(file, path.join(dir, 'new.stream'));
    await until('the stream is served from new.stream', async () => (await n.call<StreamSummary[]>('listStreams')).find((s) => s.file === 'new.stream'));
    const [s] = await n.call<StreamSummary[]>('listStreams');
    assert.equal(s!.owned, true);
    assert.equal(s!.posts, 5);
    assert.deepEqual(await titles(n), ['p0', 'p1', 'p2', 'p3', 'p4']);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('old.stream')),
      [],
    );
    assert.match(drayer(['verify', path.join(dir, 'new.stream')]), /intact/);
  } finally {
    await n.stop();
  }
});

test('streams cloned into DIR are followed, synced from where they were cloned from, before start and while running', async () => {
  const source = await DrayerNode.start({ dataDir: tmpDir('drayer-source-'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const url = `http://127.0.0.1:${source.lanAddress()!.port}`;
  const dir = tmpDir('drayer-adopt-');
  let n: Served | undefined;
  try {
    const a = await source.call('createStream', { name: 'Cloned early' });
    await source.call('post', { publicKey: a.publicKey, title: 'early post', body: '' });
    const b = await source.call('createStream', { name: 'Cloned late' });
    await source.call('post', { publicKey: b.publicKey, title: 'late post', body: '' });

    await drayerAsync(['clone', url, a.publicKey, path.join(dir, 'early.stream')]);
    n = await serve(dir);
    const early = (await n.call<StreamSummary[]>('listStreams')).find((s) => s.publicKey === a.publicKey);
    assert.deepEqual([early?.file, early?.owned, early?.name, early?.sources], ['early.stream', false, 'Cloned early', [url]]);

    await drayerAsync(['clone', url, b.publicKey, path.join(dir, 'late.stream')]);
    const late = await until('the stream cloned while running is followed', async () =>
      (await n!.call<StreamSummary[]>('listStreams')).find((s) => s.publicKey === b.publicKey && s.name === 'Cloned late'),
    );
    assert.deepEqual([late.file, late.owned, late.sources], ['late.stream', false, [url]]);
    await until('its post is on the timeline', async () => (await titles(n!, b.publicKey)).includes('late post'));
    assert.equal(await status(`${n.lan}/${urlKey(b.publicKey)}/changes?since=0`), 200);

    // The node syncs them from the URL the clone recorded.
    await source.call('post', { publicKey: b.publicKey, title: 'newer post', body: '' });
    const reports = await n.call<SyncReport[]>('syncNow', { publicKey: b.publicKey });
    assert.deepEqual(
      reports.map((r) => [r.peer, r.error]),
      [[url, undefined]],
    );
    assert.deepEqual(await titles(n, b.publicKey), ['late post', 'newer post']);
    await assert.rejects(n.call('post', { publicKey: b.publicKey, title: 'x', body: '' }), /NOT_WRITABLE/);
  } finally {
    await n?.stop();
    await source.stop();
  }
});

test('owned or followed is decided by the key file beside the stream file', async () => {
  const dir = tmpDir('drayer-adopt-');
  const elsewhere = tmpDir('drayer-elsewhere-');
  const mine = drayer(['create', path.join(dir, 'mine.stream'), '--name', 'Mine']);
  const theirs = drayer(['create', path.join(elsewhere, 'theirs.stream'), '--name', 'Theirs']);
  drayer(['post', path.join(elsewhere, 'theirs.stream'), '--title', 'their post', '--body', '']);
  drayer(['export', path.join(elsewhere, 'theirs.stream'), path.join(dir, 'copy.stream')]); // no key file
  const n = await serve(dir);
  try {
    const byKey = new Map((await n.call<StreamSummary[]>('listStreams')).map((s) => [s.publicKey, s]));
    assert.equal(byKey.get(mine)?.owned, true);
    assert.equal(byKey.get(theirs)?.owned, false);
    assert.deepEqual(await titles(n, theirs), ['their post']);
    await n.call('post', { publicKey: mine, title: 'mine to write', body: '' });
    await assert.rejects(n.call('post', { publicKey: theirs, title: 'not mine', body: '' }), /NOT_WRITABLE/);
    // Its key file copied in afterwards (a file manager copies one file at a time) makes it writable.
    fs.copyFileSync(path.join(elsewhere, 'theirs.stream.privatekey'), path.join(dir, 'copy.stream.privatekey'));
    await until('the copy is owned', async () => (await n.call<StreamSummary[]>('listStreams')).find((s) => s.publicKey === theirs)?.owned);
    await n.call('post', { publicKey: theirs, title: 'mine now', body: '' });
    assert.deepEqual(await titles(n, theirs), ['mine now', 'their post']);
  } finally {
    await n.stop();
  }
});

test('a junk file, a damaged stream and a second copy of a held stream are left byte for byte, each reported once, and the node keeps serving', async () => {
  const dir = tmpDir('drayer-adopt-');
  const good = drayer(['create', path.join(dir, 'good.stream'), '--name', 'Good']);
  fs.writeFileSync(path.join(dir, 'junk.stream'), crypto.randomBytes(10_000));
  // A keyless copy of the held stream: sorted first, yet the copy with its key file is the one served.
  drayer(['export', path.join(dir, 'good.stream'), path.join(dir, 'a-copy.stream')]);
  // Two damaged copies of a stream of posts (made elsewhere): cut short, and overwritten in the middle.
  const elsewhere = tmpDir('drayer-elsewhere-');
  const other = Stream.create(path.join(elsewhere, 'other.stream'), { name: 'Other' });
  for (let i = 0; i < 40; i++) addPost(other, { title: `post ${i}`, body: 'x'.repeat(2000) });
  other.close();
  const bytes = fs.readFileSync(other.file);
  fs.writeFileSync(path.join(dir, 'cut.stream'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  const garbled = Buffer.from(bytes);
  crypto.randomFillSync(garbled, Math.floor(bytes.length * 0.3), Math.floor(bytes.length * 0.4));
  fs.writeFileSync(path.join(dir, 'garbled.stream'), garbled);
  // A mirror that will be given a key file that is not its own.
  const mirror = drayer(['create', path.join(elsewhere, 'mirror.stream'), '--name', 'Mirror']);
  drayer(['export', path.join(elsewhere, 'mirror.stream'), path.join(dir, 'mirror.stream')]);
  const bad = ['junk.stream', 'a-copy.stream', 'cut.stream', 'garbled.stream'];
  const before = new Map(bad.map((f) => [f, sha(path.join(dir, f))]));
  const n = await serve(dir);
  try {
    // One more junk file, and the wrong key, while it runs.
    fs.writeFileSync(path.join(dir, 'later.stream'), 'not a stream either');
    bad.push('later.stream');
    before.set('later.stream', sha(path.join(dir, 'later.stream')));
    fs.copyFileSync(path.join(dir, 'good.stream.privatekey'), path.join(dir, 'mirror.stream.privatekey'));
    before.set('mirror.stream.privatekey', sha(path.join(dir, 'mirror.stream.privatekey')));
    const linesAbout = (f: string) => n.log().filter((l) => l.startsWith(`Not serving ${f} `));
    const keyLines = () => n.log().filter((l) => l.startsWith('Serving mirror.stream as a mirror still'));
    await until('every bad file is reported', () => bad.every((f) => linesAbout(f).length > 0) && keyLines().length > 0);
    await sleep(4500); // two periodic rescans and more: still said once
    for (const f of bad) assert.equal(linesAbout(f).length, 1, `${f}:\n${n.log().join('\n')}`);
    assert.equal(keyLines().length, 1);
    assert.match(keyLines()[0]!, /belongs to another stream/);
    assert.equal(sha(path.join(dir, 'mirror.stream.privatekey')), before.get('mirror.stream.privatekey'));
    assert.match(linesAbout('junk.stream')[0]!, /not a Drayer stream file/);
    assert.match(linesAbout('a-copy.stream')[0]!, new RegExp(`already serves from good\\.stream`));
    assert.match(linesAbout('cut.stream')[0]!, /damaged/);
    assert.match(linesAbout('garbled.stream')[0]!, /damaged|not a Drayer stream/);
    for (const f of bad) assert.equal(sha(path.join(dir, f)), before.get(f), `${f} was changed`);
    // Not even a WAL beside them.
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => bad.some((b) => f.startsWith(b) && f !== b)),
      [],
    );

    const streams = await n.call<StreamSummary[]>('listStreams');
    assert.deepEqual(
      streams.map((s) => [s.publicKey, s.file, s.owned]).sort(),
      [
        [good, 'good.stream', true],
        [mirror, 'mirror.stream', false],
      ].sort(),
    );
    assert.equal(await status(`${n.lan}/${urlKey(good)}/changes?since=0`), 200);
    assert.equal(n.alive(), true);
  } finally {
    await n.stop();
  }
});

test('the periodic rescan does not look at every held file again when the only new names are files this node made', () => {
  const dir = tmpDir();
  let heldCalls = 0;
  const w = new DataDirWatcher(dir, {
    held: () => {
      heldCalls++;
      return [];
    },
    holderOf: () => undefined,
    ignored: () => new Set(),
    adopt: () => {},
    drop: () => {},
    takeKey: () => {},
    log: () => {},
  });
  w.scan();
  assert.equal(heldCalls, 1);
  // a follow: the node makes follow-x.stream, SQLite adds its WAL and shared memory, a read key goes beside it
  w.expect('follow-x.stream');
  for (const f of ['follow-x.stream', 'follow-x.stream-wal', 'follow-x.stream-shm', 'follow-x.stream.readkey']) fs.writeFileSync(path.join(dir, f), '');
  w.scan(true);
  assert.equal(heldCalls, 1, 'files this node made changed the names, and every held file was looked at again');
  // a file put there by someone else is news
  fs.writeFileSync(path.join(dir, 'copied.stream'), 'junk');
  w.scan(true);
  assert.equal(heldCalls, 2, 'a new file from elsewhere was not looked into');
  w.scan(true);
  assert.equal(heldCalls, 2);
  w.stop();
});
