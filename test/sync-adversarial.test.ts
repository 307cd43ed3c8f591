// Listening peers (real node:http servers on 127.0.0.1) against the sync client: forged, tampered,
// foreign and stale records, huge, endless and dripping answers, pages that never end, garbage.
// The follower must store nothing bad, stay bounded in memory and time, and keep syncing with
// honest peers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { blake2b256, generateKeyPair, randomBytes } from '../app/core/crypto.js';
import { addBytes, chunkCount, readFileBytes } from '../app/store/files.js';
import type { DrayerNode } from '../app/node/node.js';
import { encodeWire, signRecord, toWire, type DrayerRecord } from '../app/core/record.js';
import { type Stream } from '../app/store/store.js';
import { fetchMissingChunks, pull, rejectionSummary, remoteTips } from '../app/net/sync.js';
import { hex, tmpDir, utf8 } from './helpers.js';
import { lanBench, type Listening } from './lan-harness.js';

const bench = lanBench('drayer-sync-adv-');

function writer(name: string, count = 20): Stream {
  const s = bench.writer(name);
  s.batch((w) => {
    for (let i = 0; i < count; i++) w.put('note', `n${i}`, utf8(`${name} ${i}`));
  });
  return s;
}

const follower = (of: Stream): Stream => bench.follower(of);

async function honest(): Promise<string> {
  return (await bench.lan()).url;
}

/** A peer that answers with `handler`; `hits` are the requests it received, by path. */
const hostile = bench.listen;

function sendPage(res: http.ServerResponse, page: unknown): void {
  const body = Buffer.from(encodeWire(page));
  res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': body.length });
  res.end(body);
}

function live(s: Stream): string[] {
  return [...s.iterate()]
    .map((r) => `${r.id}:${r.type}/${r.key}#${hex(r.hash)}@${r.mod}/${r.prev}/${r.prevch}/${hex(r.sig)}=${r.val ? hex(r.val) : '-'}`)
    .sort();
}

/** A writer, and a follower that already holds its honest records. */
async function scene(name: string): Promise<{ w: Stream; f: Stream; before: string[] }> {
  const w = writer(name);
  const f = follower(w);
  await pull(f, await honest());
  assert.deepEqual(live(f), live(w));
  return { w, f, before: live(f) };
}

test('forged, tampered, foreign, stale, resurrected and undecodable records are rejected and counted; nothing is stored', async () => {
  const w = writer('victim');
  const stale = w.get('note', 'n5')!;
  w.put('note', 'n5', utf8('edited'));
  const deleted = w.get('note', 'n9')!;
  w.delete('note', 'n9');
  const f = follower(w);
  await pull(f, await honest());
  const before = live(f);

  const fresh = w.put('note', 'fresh', utf8('a real new record the follower has not seen'));
  const { sig: _sig, ...unsigned } = fresh;
  const evilVal = utf8('evil');
  const attacker = generateKeyPair();
  const other = writer('other');
  const bad: [DrayerRecord | unknown, RegExp][] = [
    [signRecord({ ...unsigned, val: evilVal, hash: blake2b256(evilVal) }, attacker), /signature is not valid/], // forged: another key
    [{ ...fresh, val: evilVal }, /does not match its hash/], // tampered value
    [{ ...fresh, ts: fresh.ts + 1 }, /signature is not valid/], // altered field
    [other.get('note', 'n1')!, /another chain/], // another stream's record
    [{ ...other.get('note', 'n1')!, chain: new Uint8Array(0) }, /signature is not valid/], // …passed off as ours
    [stale, /stale/], // an old version
    [deleted, /deleted/], // a deleted record brought back
    [{ ...fresh, sig: new Uint8Array(10) }, /64 bytes/],
  ];
  const junk = [42, 'text', { id: 'x' }, null];
  const evil = await hostile((_req, res) => {
    sendPage(res, { node: 'evil', seq: 7, more: false, last: 7, records: [...bad.map(([r]) => toWire(r as DrayerRecord)), ...junk] });
  });
  const r = await pull(f, evil.url);
  assert.equal(r.records, bad.length);
  assert.equal(r.rejected, bad.length + junk.length);
  assert.equal(r.stored, 0);
  assert.equal(r.removed, 0);
  assert.deepEqual(live(f), before, 'nothing stored, nothing removed');
  assert.ok(f.verify().intact);
  for (const [, why] of bad)
    assert.ok(
      r.rejections.some((x) => why.test(x.reason)),
      `a rejection matching ${why}: ${rejectionSummary(r.rejections, 20)}`,
    );
  assert.equal(
    r.rejections.filter((x) => /undecodable/.test(x.reason)).reduce((n, x) => n + x.count, 0),
    junk.length,
  );

  // the honest peer still brings the real record
  const ok = await pull(f, await honest());
  assert.equal(ok.rejected, 0);
  assert.deepEqual(live(f), live(w));
});

test('a peer serving another stream under our key gets everything rejected', async () => {
  const { w, f, before } = await scene('wrong-stream');
  const other = writer('impostor', 30);
  const { url } = await bench.serve({ resolve: () => other });
  const r = await pull(f, url);
  assert.equal(r.stored, 0);
  assert.equal(r.rejected, other.count());
  assert.ok(
    r.rejections.every((x) => /another chain/.test(x.reason)),
    rejectionSummary(r.rejections),
  );
  assert.deepEqual(live(f), before);
  assert.equal(f.count(), w.count());
});

test('a huge answer is cut at maxResponseBytes: declared or streamed, memory stays bounded', async () => {
  const { f, before } = await scene('huge');
  const cap = 2 * 1024 * 1024;

  const declared = await hostile((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': String(50 * cap) });
    res.write(Buffer.alloc(1024));
  });
  await assert.rejects(pull(f, declared.url, { maxResponseBytes: cap, timeoutMs: 5000 }), /more than the 2097152 allowed/);
  assert.ok(declared.hits.length <= 8, `${declared.hits.length} requests`);

  // No length given: bytes keep coming as fast as the client reads them, forever.
  const written: number[] = [];
  const piece = Buffer.alloc(64 * 1024, 0xc1);
  const endless = await hostile((_req, res, hit) => {
    written[hit - 1] = 0;
    res.writeHead(200, { 'content-type': 'application/msgpack' });
    const pump = () => {
      while (!res.destroyed && res.write(piece)) written[hit - 1]! += piece.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  const rss = process.memoryUsage().rss;
  const t0 = Date.now();
  await assert.rejects(pull(f, endless.url, { maxResponseBytes: cap, timeoutMs: 10_000 }), /more than the 2097152 bytes allowed/);
  assert.ok(Date.now() - t0 < 10_000);
  assert.ok(endless.hits.length <= 8, `${endless.hits.length} requests`);
  // Each answer was abandoned soon after the cap (socket buffers hold a little more).
  for (const w of written) assert.ok(w < cap + 16 * 1024 * 1024, `${w} bytes written before the client stopped reading`);
  const grown = process.memoryUsage().rss - rss;
  assert.ok(grown < 128 * 1024 * 1024, `rss grew by ${grown} bytes`);
  assert.deepEqual(live(f), before);
});

test('slow drip, silence and endless slow streams are cut by timeoutMs; a pull that goes on too long is stopped', async () => {
  const { f, before } = await scene('slow');
  const timers: NodeJS.Timeout[] = [];
  bench.onClose(() => timers.forEach((t) => clearInterval(t)));

  const drip = await hostile((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/msgpack' });
    const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(Buffer.from([0xc0]))), 200);
    timers.push(t);
  });
  const silent = await hostile(() => {
    /* never answers */
  });
  const trickle = await hostile((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/msgpack' });
    const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(Buffer.alloc(1024, 0x90))), 5);
    timers.push(t);
  });
  for (const peer of [drip, silent, trickle]) {
    const t0 = Date.now();
    await assert.rejects(pull(f, peer.url, { timeoutMs: 600 }), (e: Error) => {
      assert.match(e.message, /did not answer within/);
      assert.ok(e.message.includes(peer.url));
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 500 && took < 3000, `cut after ${took} ms`);
  }

  // Quick pages, each with a valid (already held) record and a new seq, that never end: bounded by
  // maxDurationMs, and (sooner) by what the follower holds (the replay test below).
  const held = toWire(f.get('note', 'n1')!);
  const forever = await hostile((_req, res, hit) => sendPage(res, { node: 'forever', seq: hit, more: true, records: [held] }));
  const t0 = Date.now();
  await assert.rejects(pull(f, forever.url, { maxDurationMs: 700 }), /took too long|kept sending records/);
  assert.ok(Date.now() - t0 < 3000);
  assert.deepEqual(live(f), before);
});

test('pages that never end (empty, not advancing, all forged, switching store ids) stop with an error', async () => {
  const { w, f, before } = await scene('endless');
  const opts = { maxDurationMs: 8000, timeoutMs: 2000 };
  const expectStop = async (h: Listening, message: RegExp, maxHits: number) => {
    const t0 = Date.now();
    await assert.rejects(pull(f, h.url, opts), message);
    assert.ok(Date.now() - t0 < 4000, `stopped after ${Date.now() - t0} ms`);
    assert.ok(h.hits.length <= maxHits, `${h.hits.length} requests`);
    assert.deepEqual(live(f), before);
  };

  // empty pages whose seq advances, with more: true: an honest server does this while a partial
  // mirror's filters skip most of a long feed, so it is only cut by the pull's time budget
  {
    const h = await hostile((_req, res, hit) => sendPage(res, { node: 'empty', seq: hit, more: true, records: [] }));
    const t0 = Date.now();
    await assert.rejects(pull(f, h.url, { ...opts, maxDurationMs: 1000 }), /took too long|empty pages/);
    assert.ok(Date.now() - t0 < 4000, `stopped after ${Date.now() - t0} ms`);
    assert.deepEqual(live(f), before);
  }

  // the same non-empty page again and again: the seq does not advance
  const held = toWire(f.get('note', 'n2')!);
  await expectStop(await hostile((_req, res) => sendPage(res, { node: 'stuck', seq: 5, more: true, records: [held] })), /does not advance|backwards/, 3);

  // a first page with more: true and seq 0
  await expectStop(await hostile((_req, res) => sendPage(res, { node: 'zero', seq: 0, more: true, records: [] })), /does not advance|empty pages/, 30);

  // pages full of forged records, seq advancing: nothing valid ever comes
  const attacker = generateKeyPair();
  const forged = (i: number) => {
    const v = utf8(`forged ${i}`);
    return toWire(
      signRecord(
        { id: 1000 + i, type: 'note', key: `f${i}`, val: v, hash: blake2b256(v), ts: 1, mod: w.mtip() + 1000 + i, prev: 1, prevch: 1, chain: w.publicKey },
        attacker,
      ),
    );
  };
  await expectStop(
    await hostile((_req, res, hit) =>
      sendPage(res, { node: 'forger', seq: hit, more: true, records: Array.from({ length: 50 }, (_, i) => forged(hit * 50 + i)) }),
    ),
    /no valid record|empty pages|kept sending records/,
    30,
  );

  // a store id that changes on every page makes the cursor restart forever
  await expectStop(await hostile((_req, res, hit) => sendPage(res, { node: `node-${hit}`, seq: hit, more: true, records: [held] })), /store id|node id/, 5);

  // an original-protocol peer (no /changes) whose newRecords pages of forged records never end
  await expectStop(
    await hostile((req, res, hit) => {
      if (!req.url!.includes('/newRecords/')) {
        res.writeHead(404);
        res.end();
        return;
      }
      const body = Buffer.from(encodeWire(Array.from({ length: 100 }, (_, i) => forged(hit * 100 + i))));
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    }),
    /no valid record|do not verify/,
    5,
  );
  assert.ok(f.verify().intact);
});

test('garbage and wrong shapes fail with a clear error and store nothing', async () => {
  const { f, before } = await scene('garbage');
  const cases: [string, (res: http.ServerResponse) => void, RegExp][] = [
    ['not msgpack', (res) => res.end(Buffer.from([0xc1, 0xc1, 0xc1])), /not msgpack/],
    ['html', (res) => res.end('<html><body>hello</body></html>'), /not msgpack|malformed/],
    ['truncated msgpack', (res) => res.end(Buffer.from(encodeWire({ node: 'x', seq: 1, more: false, records: [] })).subarray(0, 10)), /not msgpack/],
    ['a number', (res) => sendPage(res, 42), /malformed/],
    ['records not a list', (res) => sendPage(res, { node: 'x', seq: 1, more: false, records: { a: 1 } }), /malformed/],
    ['seq not a number', (res) => sendPage(res, { node: 'x', seq: '9', more: false, records: [] }), /malformed/],
    ['no node id', (res) => sendPage(res, { seq: 9, more: false, records: [] }), /malformed/],
    ['a node id of a megabyte', (res) => sendPage(res, { node: 'n'.repeat(1 << 20), seq: 9, more: false, records: [] }), /malformed|node id|store id/],
    ['seq going backwards', (res) => sendPage(res, { node: 'x', seq: -5, more: false, records: [] }), /backwards|malformed/],
    [
      'more records than asked',
      (res) => sendPage(res, { node: 'x', seq: 9, more: false, records: Array.from({ length: 6 }, () => toWire(f.get('note', 'n1')!)) }),
      /more records than asked/,
    ],
    [
      'HTTP 500',
      (res) => {
        res.statusCode = 500;
        res.end('oops');
      },
      /HTTP 500/,
    ],
  ];
  for (const [what, answer, message] of cases) {
    const h = await hostile((_req, res) => answer(res));
    await assert.rejects(pull(f, h.url, { pageLimit: 5, timeoutMs: 3000 }), (e: Error & { code?: string }) => {
      assert.match(e.message, message, what);
      assert.equal(e.code, 'IO', what);
      assert.doesNotMatch(e.message, /\n\s+at /);
      return true;
    });
    assert.deepEqual(live(f), before, what);
  }

  // the original protocol's answer in the wrong shape
  const notList = await hostile((req, res) => {
    if (req.url!.includes('/changes')) {
      res.writeHead(404);
      res.end();
    } else sendPage(res, { records: [] });
  });
  await assert.rejects(pull(f, notList.url), /did not send a list/);

  // malformed tips
  for (const body of [Buffer.from([0xc1]), Buffer.from(encodeWire(null)), Buffer.from(encodeWire({ node: 'x', id: 'one' }))]) {
    const t = await hostile((_req, res) => res.end(body));
    await assert.rejects(remoteTips(t.url, f.publicKey), (e: Error & { code?: string }) => e.code === 'IO' && /tips|msgpack/.test(e.message));
  }
  assert.deepEqual(live(f), before);
});

test('tampered chunks are refused and the honest peer completes the file', async () => {
  const base = await honest();
  const w = writer('chunks', 2);
  const data = randomBytes(2 * 1024 * 1024 + 7);
  await addBytes(w, 'big.bin', data);
  const f = follower(w);
  // records are forwarded honestly; chunks are swapped for other bytes
  const evil = await hostile(async (req, res) => {
    if (req.url!.includes('/chunk/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(1024 * 1024, 7));
      return;
    }
    const up = await fetch(base + req.url);
    const body = Buffer.from(await up.arrayBuffer());
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? '' });
    res.end(body);
  });
  await assert.rejects(pull(f, evil.url), (e: Error & { code?: string }) => e.code === 'INVALID_RECORD' && /does not match its hash/.test(e.message));
  assert.equal(chunkCount(f), 0);
  assert.ok(f.get('file', 'big.bin'), 'the (valid) records were kept');
  assert.equal(await fetchMissingChunks(f, base), chunkCount(w));
  assert.ok(Buffer.from(data).equals(await readFileBytes(f, 'big.bin')));
});

test('a node with a hostile and an honest source reports the failure and converges through the honest one', async () => {
  const base = await honest();
  const w = writer('node-victim', 40);
  const evil = await hostile((req, res) => {
    // garbage for the changes feed, and a 404 nobody should fall back on
    if (req.url!.includes('/changes')) res.end(Buffer.from([0xc1, 0xc1]));
    else {
      res.writeHead(404);
      res.end();
    }
  });
  const node = await bench.node(tmpDir('drayer-sync-adv-node-'));
  const pk = Buffer.from(w.publicKey).toString('base64');
  // first follow from the honest peer, then set both sources (hostile first)
  await node.call('follow', { key: pk, url: base });
  await node.call('setStreamSettings', { publicKey: pk, sources: [evil.url, base] });
  w.put('note', 'later', utf8('after the follow'));
  w.delete('note', 'n3');
  const reports = await node.call('syncNow', { publicKey: pk });
  const bad = reports.find((r) => r.peer === evil.url);
  const good = reports.find((r) => r.peer === base);
  assert.ok(bad?.error && /not msgpack/.test(bad.error), JSON.stringify(reports));
  assert.ok(good && !good.error, JSON.stringify(reports));
  assert.ok(good.stored >= 2);
  assert.equal(good.rejected, 0);
  const titles = (await node.call('streamDetails', { publicKey: pk })).records;
  assert.equal(titles, w.count());

  // and again: the hostile peer fails again, the honest one has nothing new (its cursor held)
  const again = await node.call('syncNow', { publicKey: pk });
  assert.ok(again.find((r) => r.peer === evil.url)?.error);
  const g2 = again.find((r) => r.peer === base)!;
  assert.equal(g2.error, undefined);
  assert.equal(g2.records, 0, 'the cursor kept in the library is used');
});

test('hostile chunk answers (endless, oversized, dripping, cut off, refused) fail cleanly and store nothing', async () => {
  const base = await honest();
  const w = writer('chunk-abuse', 1);
  await addBytes(w, 'big.bin', randomBytes(2 * 1024 * 1024 + 1));
  const f = follower(w);
  await pull(f, base, { fetchChunks: false });
  const cases: [string, (res: http.ServerResponse) => void, RegExp][] = [
    [
      'endless',
      (res) => {
        res.writeHead(200);
        const block = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (!res.destroyed && res.write(block));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      },
      /more than the \d+ bytes allowed/,
    ],
    [
      'declared too big',
      (res) => {
        res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
        res.write(Buffer.alloc(1024));
      },
      /sent 67108864 bytes, more than/,
    ],
    [
      'drip',
      (res) => {
        res.writeHead(200);
        const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), 50);
      },
      /did not answer within/,
    ],
    [
      'cut off',
      (res) => {
        res.writeHead(200, { 'content-length': String(1024 * 1024) });
        res.write(Buffer.alloc(1000), () => res.destroy());
      },
      /broke off its answer after/,
    ],
    [
      'refused',
      (res) => {
        res.writeHead(403);
        res.end('no');
      },
      /HTTP 403/,
    ],
  ];
  for (const [name, answer, want] of cases) {
    const evil = await hostile((req, res) => (req.url!.includes('/chunk/') ? answer(res) : res.end()));
    const t0 = Date.now();
    await assert.rejects(fetchMissingChunks(f, evil.url, { timeoutMs: 1500 }), (e: Error) => want.test(e.message), name);
    assert.ok(Date.now() - t0 < 10_000, `${name}: bounded in time`);
    assert.equal(chunkCount(f), 0, `${name}: nothing stored`);
  }
  // and the honest peer still completes the file
  assert.equal(await fetchMissingChunks(f, base), chunkCount(w));
});

/** A peer serving `w`'s real signed records `per` a page, round and round, always with `more: true`. */
async function replayer(w: Stream, per: number, left: (total: number) => number): Promise<Listening & { sent: () => number }> {
  const all = [...w.iterate()].map((r) => toWire(r));
  let sent = 0;
  const h = await hostile((req, res, hit) => {
    const first = new URL(req.url!, 'http://x').searchParams.get('count') === '1';
    const records = Array.from({ length: per }, (_, i) => all[((hit - 1) * per + i) % all.length]);
    const body = Buffer.from(encodeWire({ node: 'replay', seq: hit * 1000, more: true, last: 1e9, records, ...(first ? { left: left(all.length) } : {}) }));
    sent += body.length;
    res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': body.length });
    res.end(body);
  });
  return { ...h, sent: () => sent };
}

test('a peer replaying valid records forever is stopped after about what it said it had, and what was new is kept', async () => {
  const w = writer('replayed', 0);
  w.batch((b) => {
    for (let i = 0; i < 200; i++) b.put('note', `n${i}`, randomBytes(2048));
  });
  const per = 20;
  const slack = 2 * per; // records: two pages beyond what the peer announced or this copy holds
  const bound = Math.ceil((w.count() + slack) / per) + 2; // pages
  const pageBytes = 22 * 2300; // about what one page of these records weighs

  // A clone: the peer tells the truth about its size (count=1), then replays what it already sent.
  const fresh = follower(w);
  const honestLeft = await replayer(w, per, (total) => total - per);
  const t0 = Date.now();
  await assert.rejects(pull(fresh, honestLeft.url, { pageLimit: per, maxDurationMs: 8000 }), (e: Error) => {
    assert.match(e.message, /kept sending records/);
    assert.ok(e.message.includes(honestLeft.url), e.message);
    return true;
  });
  assert.ok(honestLeft.hits.length <= bound, `${honestLeft.hits.length} pages, at most ${bound} expected`);
  assert.ok(honestLeft.sent() <= bound * pageBytes, `${honestLeft.sent()} bytes`);
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  assert.deepEqual(live(fresh), live(w), 'every record it sent before replaying is kept');

  // A copy that holds it all already, from a peer that says a billion are left: bounded by what is held.
  const held = follower(w);
  await pull(held, await honest());
  const liar = await replayer(w, per, () => 1e9);
  await assert.rejects(pull(held, liar.url, { pageLimit: per, maxDurationMs: 8000 }), /kept sending records/);
  assert.ok(liar.hits.length <= bound, `${liar.hits.length} pages, at most ${bound} expected`);
  assert.deepEqual(live(held), live(w));

  // A node's pull triggered by discovery (forced: no time budget of its own) stops the same way.
  const node = await bench.node(tmpDir('drayer-sync-adv-replay-'));
  const pk = Buffer.from(w.publicKey).toString('base64');
  await node.call('follow', { key: pk, url: await honest() });
  const again = await replayer(w, per, () => 1e9);
  const reports = await Promise.race([
    node.syncStream(pk, again.url, true),
    new Promise<'still pulling'>((r) => setTimeout(() => r('still pulling'), 10_000).unref()),
  ]);
  assert.notEqual(reports, 'still pulling', `${again.hits.length} pages and counting`);
  const report = (reports as Awaited<ReturnType<DrayerNode['syncStream']>>)[0]!;
  assert.match(report.error ?? '', /kept sending records/);
  assert.ok(again.hits.length <= bound, `${again.hits.length} pages, at most ${bound} expected`);
});

test('rejections are counted per reason with a few samples, however many pages of forgeries a peer sends', async () => {
  const w = writer('tallied', 999);
  const f = follower(w);
  const attacker = generateKeyPair();
  const good = [...w.iterate()].map((r) => toWire(r));
  const base = good[1] as Record<string, unknown>;
  // More kinds of bad record than reasons kept: every field wrong in its own way, forged, tampered.
  const kinds: unknown[] = [
    null,
    42,
    'text',
    ...['id', 'type', 'key', 'val', 'hash', 'mod', 'prev', 'prevch', 'sig', 'chain'].map((k) => ({
      ...base,
      [k]: k === 'val' || k === 'hash' || k === 'sig' || k === 'chain' ? 7 : [],
    })),
    { ...base, type: new Uint8Array([0xff, 0xfe]) },
    { ...base, key: new Uint8Array([0xc3, 0x28]) },
    { ...base, ts: [] },
    { ...base, type: '' },
    { ...base, id: 0 },
    { ...base, mod: 0 },
    { ...base, prev: 1e6 },
    { ...base, prevch: (base.mod as number) + 1 },
    { ...base, hash: new Uint8Array(5) },
    { ...base, sig: new Uint8Array(5) },
    { ...base, val: utf8('tampered') },
    toWire(signRecord({ ...w.get('note', 'n1')!, val: utf8('forged'), hash: blake2b256(utf8('forged')) }, attacker)),
  ];
  const per = 20;
  const junk = 20; // per page: no more than it stores, what a pull tolerates of records that bring nothing
  const pages = Math.ceil(good.length / per);
  const h = await hostile((_req, res, hit) => {
    const records = [...good.slice((hit - 1) * per, hit * per), ...Array.from({ length: junk }, (_, i) => kinds[(hit + i) % kinds.length])];
    sendPage(res, { node: 'tally', seq: hit, more: hit < pages, last: pages, records });
  });
  const r = await pull(f, h.url);
  assert.equal(h.hits.length, pages);
  assert.deepEqual(live(f), live(w), 'the good records all arrived');
  assert.equal(r.rejected, pages * junk);
  const counts = r.rejections;
  assert.ok(Array.isArray(counts) && counts.length <= 20, `${counts.length} reasons kept`);
  assert.equal(
    counts.reduce((n, x) => n + x.count, 0),
    r.rejected,
    'every rejection is counted once',
  );
  for (const x of counts) assert.ok(x.samples.length <= 5 && x.count >= x.samples.length, JSON.stringify(x));
  assert.ok(
    counts.some((x) => /other reasons/.test(x.reason)),
    'reasons beyond the kept ones are counted together',
  );
  // the kinds seen most are counted exactly: each kind came pages * junk / kinds.length times, give or take one per page
  const sig = counts.find((x) => /signature is not valid/.test(x.reason));
  assert.ok(sig && sig.count >= pages * Math.floor(junk / kinds.length), JSON.stringify(sig));
  assert.ok(JSON.stringify(counts).length < 8 * 1024, `${JSON.stringify(counts).length} bytes of rejections`);
});
