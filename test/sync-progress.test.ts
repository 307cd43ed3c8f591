// Honest progress and errors (issue 13, items 6 and 7), end to end between real nodes over real
// HTTP on 127.0.0.1: a clone's progress is weighted by bytes (a stream of a few records and one
// 8 MB file is not "100 %" when its records are in), one pull of a stream runs at a time (so
// "synced" comes once, after the last chunk), Cancel keeps what arrived and a sync by hand
// resumes from there, and an old failure clears on the next good round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DrayerEvents } from '../app/node/api.js';
import { randomBytes } from '../app/core/crypto.js';
import { DrayerNode } from '../app/node/node.js';
import { tmpDir } from './helpers.js';

async function startNode(name: string, dataDir = path.join(tmpDir(), name), port = 0): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir, host: '127.0.0.1', port, discovery: false, autoSync: false });
}
const lanUrl = (n: DrayerNode) => `http://127.0.0.1:${n.lanAddress()!.port}`;
type Ev = DrayerEvents['syncProgress'];

/** A stream on `a` with a few posts and one big file of `size` random bytes. */
async function bigStream(a: DrayerNode, size: number): Promise<{ pk: string; content: Buffer }> {
  const s = await a.call('createStream', { name: 'Films' });
  for (let i = 0; i < 5; i++) await a.call('post', { publicKey: s.publicKey, title: `Post ${i}`, body: 'x'.repeat(200) });
  const content = Buffer.from(randomBytes(size));
  const file = path.join(tmpDir(), 'film.mp4');
  fs.writeFileSync(file, content);
  await a.call('addFiles', { publicKey: s.publicKey, paths: [file] });
  return { pk: s.publicKey, content };
}

async function readWhole(n: DrayerNode, pk: string, p: string, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; off < size;) {
    const r = await n.call('readFile', { publicKey: pk, path: p, offset: off });
    const b = Buffer.from(r.data, 'base64');
    parts.push(b);
    off += b.length;
  }
  return Buffer.concat(parts);
}

test('a clone reports progress by bytes: the big file counts from the start, "done" comes once, after its last chunk', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const size = 8 * 1024 * 1024 + 4321;
    const { pk, content } = await bigStream(a, size);
    const events: Ev[] = [];
    b.subscribe((e) => {
      if (e.event === 'syncProgress' && e.data.publicKey === pk) {
        events.push(e.data);
        // An announcement-started pull (another source, same stream) meanwhile joins this one
        // instead of running beside it: two would fetch the file twice and one would say "done" early.
        if (events.length === 1) void b.syncStream(pk, lanUrl(a));
      }
    });
    await b.call('follow', { key: pk, url: lanUrl(a) });

    const running = events.filter((e) => !e.done);
    const done = events.filter((e) => e.done);
    assert.equal(done.length, 1, `one pull, one end: ${JSON.stringify(done)}`);
    assert.equal(done[0]!.error, undefined);
    assert.equal(events[events.length - 1]!.done, true, 'the end comes after every progress event');
    assert.ok(running.length >= 3, `progress as it goes: ${running.length} events`);
    // The first event already knows the file: its manifest came with the records.
    const first = running[0]!;
    assert.equal(first.records, first.recordsTotal, 'all records arrive on the first page');
    assert.ok(first.sizeTotal! >= size, `the total counts the file from the start: ${first.sizeTotal}`);
    assert.ok(first.size! < first.sizeTotal! / 100, `and the records alone are a small share of it: ${first.size} of ${first.sizeTotal}`);
    for (const e of running) {
      assert.ok(e.sizeTotal !== undefined && e.size! <= e.sizeTotal, `never more done than in all: ${e.size} of ${e.sizeTotal}`);
    }
    // sizes only grow, and the last chunk brings the bar to the whole
    for (let i = 1; i < running.length; i++) assert.ok(running[i]!.size! >= running[i - 1]!.size!, 'size never goes back');
    const last = running[running.length - 1]!;
    assert.equal(last.chunks, last.chunksTotal);
    assert.equal(last.size, last.sizeTotal);
    assert.ok(Math.abs(last.sizeTotal! - (size + first.size!)) < 64 * 1024, `the total is the file plus the records' values: ${last.sizeTotal}`);
    assert.deepEqual(await readWhole(b, pk, 'film.mp4', size), content);
    const d = await b.call('streamDetails', { publicKey: pk });
    assert.equal(d.lastSync?.error, undefined);
    assert.equal(d.lastSync?.cancelled, undefined);
    assert.equal(d.lastOk?.peer, lanUrl(a));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('Cancel stops a clone and keeps what arrived; nothing syncs it by itself; Sync now resumes with only what is missing', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const size = 8 * 1024 * 1024;
    const { pk, content } = await bigStream(a, size);
    const events: Ev[] = [];
    let asked: Promise<boolean> | undefined;
    b.subscribe((e) => {
      if (e.event !== 'syncProgress' || e.data.publicKey !== pk) return;
      events.push(e.data);
      if (!asked && (e.data.chunks ?? 0) >= 1) asked = b.call('cancelSync', { publicKey: pk });
    });
    const s = await b.call('follow', { key: pk, url: lanUrl(a) });
    assert.equal(await asked, true, 'a pull was running to cancel');
    assert.equal(s.records, 7, 'the records that arrived are kept (info, five posts, the file)');
    const end = events[events.length - 1]!;
    assert.deepEqual([end.done, end.cancelled, end.error], [true, true, undefined]);
    const chunksTotal = events.find((e) => e.chunksTotal)!.chunksTotal!;
    const got = Math.max(...events.map((e) => e.chunks ?? 0));
    assert.ok(got >= 1 && got < chunksTotal, `part of the file arrived: ${got} of ${chunksTotal}`);
    let d = await b.call('streamDetails', { publicKey: pk });
    assert.equal(d.lastSync?.cancelled, true);
    assert.equal(d.lastSync?.error, undefined);
    assert.equal(d.lastOk, null, 'not "synced": the file is not all here');
    assert.equal(await b.call('cancelSync', { publicKey: pk }), false, 'nothing runs now');

    // Stopped by the user: "sync all" (and the scheduler) leave it alone.
    assert.deepEqual(
      (await b.call('syncNow', {})).filter((r) => r.publicKey === pk),
      [],
    );
    // Sync now of the stream itself resumes, fetching only the chunks that are missing.
    events.length = 0;
    const reports = await b.call('syncNow', { publicKey: pk });
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.error, undefined);
    const resumed = events.find((e) => e.chunksTotal)!;
    assert.ok(resumed.chunksTotal! <= chunksTotal - 1, `resumed with the missing chunks only: ${resumed.chunksTotal} of ${chunksTotal}`);
    assert.deepEqual(await readWhole(b, pk, 'film.mp4', size), content);
    d = await b.call('streamDetails', { publicKey: pk });
    assert.equal(d.lastSync?.cancelled, undefined);
    assert.equal(d.lastOk?.peer, lanUrl(a));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('an old failure clears on the next good round, and a dead mirror beside a live source is no failure', async () => {
  const aDir = path.join(tmpDir(), 'a');
  let a = await startNode('a', aDir);
  const b = await startNode('b');
  try {
    const port = a.lanAddress()!.port;
    const s = await a.call('createStream', { name: 'Ada' });
    await a.call('post', { publicKey: s.publicKey, title: 'one', body: '1' });
    await b.call('follow', { key: s.publicKey, url: lanUrl(a) });
    // the source goes away: the round fails, and says why
    await a.stop();
    await b.call('syncNow', { publicKey: s.publicKey });
    let d = await b.call('streamDetails', { publicKey: s.publicKey });
    assert.match(d.lastSync?.error ?? '', /Cannot reach .*ECONNREFUSED/);
    // it comes back: the next good round clears the failure
    a = await startNode('a', aDir, port);
    await a.call('post', { publicKey: s.publicKey, title: 'two', body: '2' });
    // a second source that is down, asked after the live one in the same round
    await b.call('setStreamSettings', { publicKey: s.publicKey, sources: [lanUrl(a), 'http://127.0.0.1:9'] });
    const reports = await b.call('syncNow', { publicKey: s.publicKey });
    assert.deepEqual(
      reports.map((r) => !!r.error),
      [false, true],
    );
    d = await b.call('streamDetails', { publicKey: s.publicKey });
    assert.equal(d.lastSync?.error, undefined, `the round worked: ${d.lastSync?.error}`);
    assert.equal(d.lastSync?.peer, lanUrl(a));
    assert.equal(d.lastSync?.stored, 1);
    assert.ok(Date.now() - d.lastOk!.at < 10_000);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
