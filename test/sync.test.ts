// The sync client (DESIGN §4) against real peers over HTTP on 127.0.0.1: a LanServer serving a
// real writer stream, followers in other files, a tiny original-Drayer node, and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type * as http from 'node:http';
import * as path from 'node:path';
import { randomBytes } from '../app/core/crypto.js';
import { addBytes, chunkCount, missingChunks, readFileBytes, statFile } from '../app/store/files.js';
import { DrayerNode } from '../app/node/node.js';
import type { DrayerRecord } from '../app/core/record.js';
import type { LanServer } from '../app/net/server/server.js';
import { Stream } from '../app/store/store.js';
import { peerId } from '../app/core/peer.js';
import { fetchMissingChunks, fetchValue, pull, PULL_RESUMES, remoteTips, streamCursors, type PullProgress } from '../app/net/sync.js';
import { applyParallel, verifyStreamParallel, VerifierPool } from '../app/store/verifier.js';
import { DRAYER_BIN, hex, packOld, runDrayer, tmpDir, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-sync-');
const { dir, writer, follower, listen } = bench;
let n = 0;

async function server(): Promise<{ srv: LanServer; base: string }> {
  const { srv, url } = await bench.lan();
  return { srv, base: url };
}

/** Every live record, every signed field: two copies are equal only if they hold the same signed records. */
function live(s: Stream, withValues = true): string[] {
  return [...s.iterate()]
    .map((r) => `${r.id}:${r.type}/${r.key}#${hex(r.hash)}@${r.mod}/${r.prev}/${r.prevch}/${hex(r.sig)}${withValues ? `=${r.val ? hex(r.val) : '-'}` : ''}`)
    .sort();
}

/** A busy history: new records, edits, deletes of middle records and of both tips. */
function churn(s: Stream, count: number, tag: string): void {
  s.batch((w) => {
    for (let i = 0; i < count; i++) w.put('note', `${tag}${i}`, utf8(`${tag} value ${i} `.repeat(1 + (i % 7))));
  });
  for (let i = 0; i < count; i += 5) s.put('note', `${tag}${i}`, utf8(`${tag} edited ${i}`));
  for (let i = 3; i < count; i += 11) s.delete('note', `${tag}${i}`);
  s.delete('note', `${tag}${count - 1}`); // the ID tip
  s.put('note', `${tag}0`, utf8('moved to the front'));
  s.delete('note', `${tag}0`); // the M tip
}

/** Forward a request to `target`, body and status as they are. */
async function forward(target: string, req: http.IncomingMessage): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(target + req.url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

test('a full clone equals the writer; incremental pulls converge after edits and deletes; an idle pull costs one small page', async () => {
  const { srv, base } = await server();
  const w = writer('busy');
  churn(w, 230, 'a');
  const f = follower(w);
  const progress: PullProgress[] = [];
  const r1 = await pull(f, base, { pageLimit: 40, onProgress: (p) => progress.push({ ...p }) });
  assert.equal(r1.protocol, 'changes');
  assert.equal(r1.peer, peerId(base + '/'));
  assert.equal(r1.rejected, 0, r1.rejections.map((x) => x.reason).join('; '));
  assert.equal(r1.nodeId, w.nodeId);
  assert.deepEqual(live(f), live(w));
  assert.ok(f.verify().intact);
  // progress: one event per page, records and bytes only grow, and the total is known
  assert.ok(progress.length >= Math.ceil(w.count() / 40), `${progress.length} progress events`);
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i]!.records >= progress[i - 1]!.records && progress[i]!.bytes > progress[i - 1]!.bytes && progress[i]!.seq > progress[i - 1]!.seq);
  }
  const lastP = progress.at(-1)!;
  assert.equal(lastP.seq, w.lastSeq());
  assert.equal(lastP.lastSeq, w.lastSeq());
  assert.equal(lastP.records, r1.records);
  assert.equal(lastP.bytes, r1.bytes);
  // the first page tells how many records are to come, so every event knows the total
  for (const p of progress) assert.equal(p.recordsTotal, r1.records);
  assert.equal(streamCursors(f).getCursor(peerId(base), '', w.nodeId), w.lastSeq());

  // the writer edits, deletes and adds; followers converge with one more pull each time
  for (let round = 0; round < 3; round++) {
    const before = w.lastSeq();
    churn(w, 30, `r${round}-`);
    w.put('note', `a${10 + round * 5}`, utf8(`edited in round ${round}`));
    w.delete('note', `a${21 + round * 11}`);
    const r = await pull(f, base, { pageLimit: 40 });
    assert.equal(r.rejected, 0, r.rejections.map((x) => x.reason).join('; '));
    assert.ok(r.records <= w.lastSeq() - before, 'only the changes travel');
    assert.deepEqual(live(f), live(w), `round ${round}`);
    assert.ok(f.verify().intact);
  }

  // nothing new: one request, one small page, nothing stored
  const reqs = srv.stats().requests;
  const idle = await pull(f, base, { pageLimit: 40 });
  assert.equal(srv.stats().requests - reqs, 1);
  assert.equal(idle.records, 0);
  assert.equal(idle.stored, 0);
  assert.ok(idle.bytes < 200, `${idle.bytes} bytes for an idle pull`);
});

test('a clone interrupted after its first page resumes where it stopped and redoes no page', async () => {
  const { base } = await server();
  const w = writer('resume');
  w.batch((b) => {
    for (let i = 0; i < 500; i++) b.put('note', `n${i}`, utf8(`value ${i}`));
  });
  const f = follower(w);
  const ctl = new AbortController();
  let firstPage = 0;
  await assert.rejects(
    pull(f, base, {
      pageLimit: 100,
      signal: ctl.signal,
      onProgress: (p) => {
        firstPage = p.records;
        ctl.abort();
      },
    }),
    /stopped/,
  );
  assert.equal(firstPage, 100);
  assert.equal(f.count(), 100);
  const r2 = await pull(f, base, { pageLimit: 100 });
  assert.equal(r2.records, w.count() - firstPage, 'no record travels twice');
  assert.deepEqual(live(f), live(w));

  // A peer that dies in the middle of its third page: the pull goes on from its cursor after a
  // moment (issue 14.2) and completes; no page before the break travels twice.
  const w2 = writer('dies');
  w2.batch((b) => {
    for (let i = 0; i < 400; i++) b.put('note', `n${i}`, utf8(`value ${i} `.repeat(20)));
  });
  let pages = 0;
  let breakFrom = 3;
  let breakTo = 3;
  const asked: string[] = [];
  const proxy = await listen(async (req, res) => {
    const up = await forward(base, req);
    if (req.url!.includes('/changes')) {
      asked.push(new URL(req.url!, 'http://x').searchParams.get('since')!);
      if (++pages >= breakFrom && pages <= breakTo) {
        res.writeHead(up.status, { 'content-type': up.type, 'content-length': up.body.length });
        res.write(up.body.subarray(0, up.body.length >> 1));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
    }
    res.writeHead(up.status, { 'content-type': up.type, 'content-length': up.body.length });
    res.end(up.body);
  });
  const f2 = follower(w2);
  const r3 = await pull(f2, proxy.url, { pageLimit: 100 });
  assert.equal(r3.records, w2.count());
  assert.deepEqual(live(f2), live(w2));
  assert.ok(f2.verify().intact);
  assert.equal(asked[3], asked[2], 'the broken page is asked again from the same cursor');
  assert.equal(new Set(asked).size, asked.length - 1, `only the broken page is asked twice: ${asked.join(' ')}`);

  // A peer that breaks off every page after the second: a few resumes in a row bring nothing, so
  // the pull ends with a clear error, keeping the two pages; the next pull (peer well) fetches the rest.
  const w3 = writer('dies-always');
  w3.batch((b) => {
    for (let i = 0; i < 400; i++) b.put('note', `n${i}`, utf8(`value ${i} `.repeat(20)));
  });
  pages = 0;
  breakTo = Infinity;
  asked.length = 0;
  const f3 = follower(w3);
  await assert.rejects(pull(f3, proxy.url, { pageLimit: 100 }), (e: Error) => e.message.includes(proxy.url) && /broke off its answer/.test(e.message));
  assert.equal(f3.count(), 200);
  assert.equal(asked.length, 3 + PULL_RESUMES.stalled, `pages asked: ${asked.join(' ')}`);
  breakFrom = Infinity;
  const r4 = await pull(f3, proxy.url, { pageLimit: 100 });
  assert.equal(r4.records, w3.count() - 200);
  assert.deepEqual(live(f3), live(w3));
});

test('a replaced peer database (another node id, other seqs) resets the cursor and the follower still converges', async () => {
  const w = writer('replaced');
  churn(w, 120, 'x');
  let current: Stream = w;
  const { url } = await bench.serve({ resolve: (pk) => (hex(pk) === hex(w.publicKey) ? current : undefined) });

  const f = follower(w);
  await pull(f, url, { pageLimit: 50 });
  assert.deepEqual(live(f), live(w));
  const oldCursor = streamCursors(f).getCursor(peerId(url), '', w.nodeId);
  assert.equal(oldCursor, w.lastSeq());

  // The peer's database is replaced by a compact copy made by pulling (fresh seqs, a new node id),
  // which then receives new edits: asked from the old cursor it would have nothing to say.
  const copy = Stream.create(path.join(dir, `copy-${n++}.stream`), { followKey: w.publicKey });
  bench.onClose(() => copy.close());
  copy.apply(w.changesSince(0, { limit: 10_000 }).records);
  const before = w.lastSeq();
  w.put('note', 'x1', utf8('edited after the copy'));
  w.delete('note', 'x2');
  w.put('note', 'fresh', utf8('new after the copy'));
  copy.apply(w.changesSince(before).records);
  assert.deepEqual(live(copy), live(w));
  assert.ok(copy.lastSeq() < oldCursor, `${copy.lastSeq()} < ${oldCursor}`);
  assert.notEqual(copy.nodeId, w.nodeId);
  current = copy;

  const r = await pull(f, url, { pageLimit: 50 });
  assert.equal(r.nodeId, copy.nodeId);
  assert.deepEqual(live(f), live(w));
  assert.equal(streamCursors(f).getCursor(peerId(url), '', copy.nodeId), copy.lastSeq());
  // and once more: now an idle pull from the new cursor
  const again = await pull(f, url, { pageLimit: 50 });
  assert.equal(again.records, 0);

  // `drayer export` semantics: the same bytes under a new node id → a full (harmless) re-read
  const exported = path.join(dir, `exported-${n++}.stream`);
  await w.db.backup(exported);
  const ex = Stream.open(exported);
  bench.onClose(() => ex.close());
  ex.setMeta('nodeId', hex(randomBytes(16)));
  current = ex;
  const r2 = await pull(f, url, { pageLimit: 50 });
  assert.equal(r2.nodeId, ex.nodeId);
  assert.equal(r2.stored, 0);
  assert.deepEqual(live(f), live(w));
});

test('a metadata-only follow holds no values; fetchValue fills one after checking it, and refuses a tampered one', async () => {
  const { base } = await server();
  const w = writer('meta');
  churn(w, 60, 'm');
  const f = follower(w, { metaOnly: true });
  const r = await pull(f, base, { pageLimit: 25 });
  assert.equal(r.rejected, 0, r.rejections.map((x) => x.reason).join('; '));
  assert.deepEqual(live(f, false), live(w, false));
  // no values but drayer/info's, fetched for the stream's name
  assert.ok([...f.iterate()].every((x) => x.val === null || (x.type === 'drayer' && x.key === 'info')));
  assert.equal(f.info().name, 'meta');
  const full = await pull(follower(w), base, { pageLimit: 25 });
  const valueBytes = [...w.iterate()].reduce((a, x) => a + x.val!.length, 0);
  assert.ok(r.bytes <= full.bytes - valueBytes, `values did not travel (${r.bytes} vs ${full.bytes})`);
  assert.equal(f.verify().metaOnly, f.count() - 1);

  const target = w.get('note', 'm7')!;
  const got = await fetchValue(f, base, target.id);
  assert.equal(hex(got), hex(target.val!));
  assert.equal(hex(f.getById(target.id)!.val!), hex(target.val!));
  assert.ok(f.verify().intact);

  // A peer that answers values with other bytes: refused, nothing stored.
  const evil = await listen((req, res) => {
    if (req.url!.includes('/value/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('not the signed value');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const other = w.get('note', 'm8')!;
  await assert.rejects(
    fetchValue(f, evil.url, other.id),
    (e: Error & { code?: string }) => e.code === 'INVALID_RECORD' && /does not match its signed hash/.test(e.message),
  );
  assert.equal(f.getById(other.id)!.val, null);
  // a later pull from the honest peer does not undo the filled value
  await pull(f, base);
  assert.equal(hex(f.getById(target.id)!.val!), hex(target.val!));
});

test('a latest-N follow picks its range from remoteTips and keeps exactly the newest N ids', async () => {
  const { base } = await server();
  const w = writer('latest');
  w.batch((b) => {
    for (let i = 0; i < 80; i++) b.put('note', `p${i}`, utf8(`post ${i}`));
  });
  const tips = await remoteTips(base, w.publicKey);
  assert.equal(tips.node, w.nodeId);
  assert.equal(tips.seq, w.lastSeq());
  assert.equal(tips.mod, w.mtip());
  const maxId = Math.max(...[...w.iterate()].map((x) => x.id));
  assert.equal(tips.id, maxId);
  const minId = tips.id - 10 + 1;
  const f = follower(w, { minId });
  const r = await pull(f, base, { pageLimit: 7 });
  assert.equal(r.rejected, 0);
  // the range, plus drayer/info: a partial copy still knows the stream's name
  const newest = (s: Stream) => live(s).filter((x) => Number(x.split(':')[0]) >= minId || x.includes(':drayer/info#'));
  assert.equal(f.count(), 10 + 1);
  assert.equal(f.info().name, 'latest');
  assert.deepEqual(live(f), newest(w));
  const rep = f.verify();
  assert.ok(rep.partial && rep.intact, JSON.stringify(rep.problems));

  // an old record edited (it keeps its old id) stays out; new ones come in
  w.put('note', 'p3', utf8('old, edited'));
  w.put('note', 'p80', utf8('new'));
  w.delete('note', 'p78');
  await pull(f, base, { pageLimit: 7 });
  assert.deepEqual(live(f), newest(w));
  assert.equal(f.get('note', 'p3'), undefined);
});

test('a "latest N" follow keeps a moving window of the newest N ids, and its own followers stay in step', async () => {
  const { base } = await server();
  const w = writer('window');
  w.batch((b) => {
    for (let i = 0; i < 40; i++) b.put('note', `p${i}`, utf8(`post ${i}`));
  });
  const N = 10;
  const window = (s: Stream, tip: number) => live(s).filter((x) => Number(x.split(':')[0]) > tip - N || x.includes(':drayer/info#'));
  const tipOf = (s: Stream) => Math.max(...[...s.iterate()].map((x) => x.id));
  const f = follower(w, { minId: (await remoteTips(base, w.publicKey)).id - N + 1, latest: N });
  await pull(f, base);
  assert.deepEqual(live(f), window(w, tipOf(w)));
  // A full mirror of the window mirror pulls through it with a cursor.
  const fBase = (await bench.serve({ resolve: (pk) => (hex(pk) === hex(f.publicKey) ? f : undefined) })).url;
  const g = follower(w);
  await pull(g, fBase);
  for (let round = 0; round < 3; round++) {
    const seqBefore = f.lastSeq();
    for (let i = 0; i < 7; i++) w.put('note', `r${round}-${i}`, utf8(`new ${round} ${i}`));
    w.put('note', `r${round}-0`, utf8('edited')); // an edit inside the window
    const r = await pull(f, base);
    assert.ok(r.removed >= 7, `round ${round}: old records left the window (${r.removed})`);
    assert.equal(f.count(), N + 1); // and drayer/info
    assert.equal(f.info().name, 'window');
    assert.deepEqual(live(f), window(w, tipOf(w)));
    assert.equal(f.partial.minId, tipOf(w) - N + 1);
    assert.ok(f.lastSeq() > seqBefore, 'the change feed only moves forward');
    assert.ok(f.verify().intact);
    // what the window mirror took in reaches its own follower (which keeps what it had)
    await pull(g, fBase);
    for (const rec of live(f)) assert.ok(live(g).includes(rec), `round ${round}: ${rec} reached the next mirror`);
  }
  // The row with the last seq can be the one that leaves the window: here an edit of the oldest
  // record in it arrives after a new record. The feed must still not go back (seqs never reused).
  const lone = follower(w, { minId: tipOf(w) - 1, latest: 2 });
  await pull(lone, base);
  const oldest = [...lone.iterate()].filter((x) => x.type !== 'drayer').sort((x, y) => x.id - y.id)[0]!;
  w.put('note', 'z1', utf8('z1'));
  w.put(oldest.type, oldest.key, utf8('edited, then out of the window'));
  const before = lone.lastSeq();
  const r = await pull(lone, base);
  assert.ok(r.stored >= 2 && r.removed >= 1, JSON.stringify(r)); // z1, the edit (and a neighbour's patch)
  assert.equal(lone.get(oldest.type, oldest.key), undefined);
  assert.equal(lone.count(), 2 + 1);
  assert.equal(lone.lastSeq(), before + r.stored, 'the newest remaining row took the last seq handed out');
  assert.ok(lone.verify().intact);
});

test('a big file is cloned chunk by chunk (at most 4 at once), verified, and reads back identical; a metadata-only mirror fetches chunks only when asked', async () => {
  const { base } = await server();
  const w = writer('files');
  const data = randomBytes(6 * 1024 * 1024 + 12345);
  await addBytes(w, 'big.bin', data);
  await addBytes(w, 'small.txt', utf8('small file'));
  assert.ok(statFile(w, 'big.bin')!.chunked);
  const wantChunks = chunkCount(w);
  assert.ok(wantChunks >= 3);

  const pool = new VerifierPool({ threads: 2 });
  bench.onClose(() => pool.close());
  // Through a proxy that holds each chunk a moment: chunks come several at a time, never more than 4.
  let inFlight = 0;
  let maxInFlight = 0;
  const proxy = await listen(async (req, res) => {
    const isChunk = req.url!.includes('/chunk/');
    if (isChunk) maxInFlight = Math.max(maxInFlight, ++inFlight);
    const up = await forward(base, req);
    if (isChunk) await new Promise((r) => setTimeout(r, 60));
    if (isChunk) inFlight--;
    res.writeHead(up.status, { 'content-type': up.type, 'content-length': up.body.length });
    res.end(up.body);
  });
  const f = follower(w);
  const progress: PullProgress[] = [];
  const r = await pull(f, proxy.url, { applier: (s, recs) => applyParallel(s, recs, pool), onProgress: (p) => progress.push({ ...p }) });
  assert.ok(maxInFlight > 1 && maxInFlight <= 4, `${maxInFlight} chunk requests at once`);
  // chunk progress: the whole told before the first chunk (0 done), then one event per chunk stored,
  // counting up to the total, bytes growing by the data; sizes weigh the file by its bytes
  const chunkEvents = progress.filter((p) => p.chunksTotal !== undefined);
  assert.equal(chunkEvents.length, wantChunks + 1);
  assert.deepEqual(
    chunkEvents.map((p) => p.chunks),
    Array.from({ length: wantChunks + 1 }, (_, i) => i),
  );
  assert.ok(chunkEvents.every((p) => p.sizeTotal! >= data.length && p.size <= p.sizeTotal!));
  assert.equal(chunkEvents.at(-1)!.size, chunkEvents.at(-1)!.sizeTotal);
  assert.ok(chunkEvents.every((p) => p.chunksTotal === wantChunks && p.recordsTotal === r.records));
  assert.ok(chunkEvents.at(-1)!.bytes >= data.length);
  assert.equal(r.chunks, wantChunks);
  assert.equal(chunkCount(f), wantChunks);
  assert.deepEqual(missingChunks(f, 'big.bin'), []);
  assert.ok(Buffer.from(data).equals(await readFileBytes(f, 'big.bin')));
  assert.deepEqual(live(f), live(w));
  // nothing missing: a second pull fetches no chunk
  assert.equal((await pull(f, base)).chunks, 0);

  const m = follower(w, { metaOnly: true });
  const rm = await pull(m, base);
  assert.equal(rm.chunks, 0);
  assert.equal(chunkCount(m), 0);
  // the one value a metadata-only copy fetches at once: drayer/info, for the stream's name
  assert.equal(rm.infoFilled, true);
  assert.equal(m.info().name, 'files');
  assert.deepEqual(
    [...m.iterate()].filter((r) => r.val !== null).map((r) => `${r.type}/${r.key}`),
    ['drayer/info'],
  );
  assert.equal((await pull(m, base)).infoFilled, undefined, 'fetched once');
  // opened lazily: the manifest (a value), then the chunks
  await fetchValue(m, base, m.get('file', 'big.bin')!.id);
  assert.equal(missingChunks(m, 'big.bin').length, wantChunks);
  assert.equal(await fetchMissingChunks(m, base, { paths: ['big.bin'] }), wantChunks);
  assert.ok(Buffer.from(data).equals(await readFileBytes(m, 'big.bin')));
});

// ---------- an original Drayer node (the Python reference), as it looks on the wire ----------

const oldWire = (r: DrayerRecord) => ({
  id: r.id,
  type: r.type,
  key: r.key,
  val: r.val!,
  hash: r.hash,
  ts: r.ts,
  mod: r.mod,
  prev: r.prev,
  prevch: r.prevch,
  sig: r.sig,
  chain: r.chain,
});

/** An original Drayer node: no /changes, only /<quote_plus(b64 pk)>/newRecords/<t>, ≤100 records a call. */
async function originalNode(s: Stream): Promise<{ url: string; calls: string[] }> {
  const calls: string[] = [];
  const key = encodeURIComponent(Buffer.from(s.publicKey).toString('base64')).replace(/%20/g, '+');
  const { url } = await listen((req, res) => {
    const m = /^\/([^/]+)\/newRecords\/(-?\d+)$/.exec(req.url ?? '');
    if (!m || m[1] !== key) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
      return;
    }
    calls.push(m[2]!);
    const ids = s.db.prepare('SELECT id FROM records WHERE mod > ? ORDER BY mod LIMIT 100').pluck().all(Number(m[2])) as number[];
    const body = Buffer.from(packOld(ids.map((id) => oldWire(s.getById(id)!))));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  return { url, calls };
}

test('an original Drayer peer (newRecords only, str-packed bytes) is followed through the fallback, page by page', async () => {
  const w = writer('original');
  w.batch((b) => {
    for (let i = 0; i < 260; i++) b.put('note', `o${i}`, utf8(`old-style ${i} `.repeat(1 + (i % 4))));
  });
  const orig = await originalNode(w);
  const f = follower(w);
  const r = await pull(f, orig.url);
  assert.equal(r.protocol, 'newRecords');
  assert.equal(r.rejected, 0, r.rejections.map((x) => x.reason).join('; '));
  assert.equal(r.records, 261);
  assert.ok(orig.calls.length >= 3, `${orig.calls.length} newRecords calls`);
  assert.deepEqual(live(f), live(w));
  assert.ok(f.verify().intact);

  // new records and edits (which take a new mod) arrive from the last mod held
  const calls = orig.calls.length;
  const held = f.mtip();
  w.put('note', 'o5', utf8('edited'));
  w.put('note', 'o300', utf8('new'));
  const r2 = await pull(f, orig.url);
  assert.equal(r2.protocol, 'newRecords');
  assert.equal(orig.calls[calls], String(held), 'asks from the newest mod it holds');
  assert.equal(r2.stored, 2);
  const ids = (s: Stream) => [...s.iterate()].map((x) => `${x.id}:${x.key}=${hex(x.hash)}@${x.mod}`).sort();
  assert.deepEqual(ids(f), ids(w));
});

// ---------- the CLI ----------

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runDrayer(args, { cwd: dir, env });

test('drayer clone and drayer sync (real processes) follow a stream served by a `drayer serve` child, which stops cleanly on SIGTERM', async () => {
  const data = path.join(tmpDir('drayer-sync-serve-'), 'node');
  const home = tmpDir('drayer-sync-home-');
  const node = await DrayerNode.start({ dataDir: data, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const st = await node.call('createStream', { name: 'Served' });
  for (let i = 0; i < 30; i++) await node.call('post', { publicKey: st.publicKey, title: `t${i}`, body: `body ${i}` });
  const file = (await node.call('streamDetails', { publicKey: st.publicKey })).file;
  await node.stop();

  const child = spawn(process.execPath, [DRAYER_BIN, 'serve', '--data', data, '--no-discovery', '--host', '127.0.0.1', '--port', '0', '--json'], {
    env: { ...process.env, HOME: home, DRAYER_DEBUG: '' },
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  bench.onClose(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  const info = JSON.parse(line);
  assert.equal(info.lan.host, '127.0.0.1');
  assert.equal(info.discovery, false);
  const url = `http://127.0.0.1:${info.lan.port}`;

  const mirror = path.join(dir, `cli-mirror-${n++}.stream`);
  const c = await run(['clone', url, st.publicKey, mirror, '--json'], { HOME: home });
  assert.equal(c.code, 0, c.err);
  const cj = JSON.parse(c.out);
  assert.equal(cj.publicKey, st.publicKey);
  assert.equal(cj.name, 'Served');
  assert.equal(cj.protocol, 'changes');
  assert.equal(cj.rejected, 0);
  assert.equal(cj.records, 31);

  const s = Stream.open(path.join(data, file), { readonly: true });
  const m = Stream.open(mirror, { readonly: true });
  assert.deepEqual(live(m), live(s));
  m.close();
  s.close();

  // Nothing new: sync reports zero; then the writer changes (another process: this one) and sync catches up.
  const idle = await run(['sync', mirror, '--json'], { HOME: home });
  assert.equal(idle.code, 0, idle.err);
  const ij = JSON.parse(idle.out);
  assert.equal(ij.results.length, 1);
  assert.equal(ij.results[0].peer, url);
  assert.equal(ij.results[0].records, 0);

  const ws = Stream.open(path.join(data, file));
  const victim = [...ws.iterate()].find((r) => r.type !== 'drayer')!;
  ws.delete(victim.type, victim.key);
  ws.put('note', 'cli', utf8('written beside the running node'));
  const sy = await run(['sync', mirror, '--json'], { HOME: home });
  assert.equal(sy.code, 0, sy.err);
  const sj = JSON.parse(sy.out);
  assert.ok(sj.results[0].stored >= 2, sy.out);
  const m2 = Stream.open(mirror, { readonly: true });
  assert.deepEqual(live(m2), live(ws));
  m2.close();
  ws.close();

  // A partial clone: the latest 5 records, metadata only.
  const part = path.join(dir, `cli-partial-${n++}.stream`);
  const pc = await run(['clone', url, st.publicKey, part, '--latest', '5', '--meta-only', '--json'], { HOME: home });
  assert.equal(pc.code, 0, pc.err);
  assert.equal(JSON.parse(pc.out).records, 5 + 1); // and drayer/info, which every copy keeps
  const p = Stream.open(part, { readonly: true });
  assert.equal(p.count(), 5 + 1);
  assert.ok(
    [...p.iterate()].every((x) => x.val === null || x.type === 'drayer'),
    'no values but the stream info',
  );
  assert.equal(p.info().name, 'Served');
  assert.deepEqual(p.partial, { minId: Math.max(...[...p.iterate()].map((x) => x.id)) - 4, minMod: 0, metaOnly: true });
  p.close();

  // An unreachable extra source: reported, exit 0 because one source worked.
  const dead = await run(['sync', mirror, url, 'http://127.0.0.1:1', '--json'], { HOME: home });
  assert.equal(dead.code, 0, dead.err);
  const dj = JSON.parse(dead.out);
  assert.match(dj.results[1].error, /Cannot reach http:\/\/127\.0\.0\.1:1/);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
});

test('an interrupted clone: verify calls it incomplete (not corrupt) and names sync, sync completes it, clone again points to sync', async () => {
  const { base } = await server();
  const w = writer('interrupted');
  churn(w, 400, 'c'); // edits and deletes: the feed's order is not the chains' order
  // Pages of 60 records; the fourth /changes request hangs (mode 'hang') until the clone is killed.
  let mode: 'hang' | 'fail' | 'ok' = 'hang';
  let pages = 0;
  let hung: (() => void) | undefined;
  const hangs = new Promise<void>((r) => (hung = r));
  const proxy = await listen(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname.endsWith('/changes')) {
      u.searchParams.set('limit', '60');
      if (mode !== 'ok' && ++pages > 3) {
        if (mode === 'hang') return hung!();
        res.writeHead(503);
        return res.end();
      }
    }
    const up = await forward(base, { url: u.pathname + u.search } as http.IncomingMessage);
    res.writeHead(up.status, { 'content-type': up.type, 'content-length': up.body.length });
    res.end(up.body);
  });
  const key = Buffer.from(w.publicKey).toString('base64');

  // Killed mid-way (SIGKILL while it waits for its fourth page).
  const mirror = path.join(dir, `interrupted-${n++}.stream`);
  const child = spawn(process.execPath, [DRAYER_BIN, 'clone', proxy.url, key, mirror], { cwd: dir, env: { ...process.env, DRAYER_DEBUG: '' } });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
  await hangs;
  // The fourth page was asked for ahead, while the third was being applied: wait for that one.
  const held = () => {
    const m = Stream.open(mirror, { readonly: true });
    try {
      return m.count();
    } finally {
      m.close();
    }
  };
  for (const t0 = Date.now(); held() < 180 && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.equal(held(), 180, 'three pages were stored');
  const v = await run(['verify', mirror]);
  assert.equal(v.code, 1, 'an incomplete copy is not reported intact');
  assert.match(v.out, /incomplete/i);
  assert.ok(v.out.includes(`drayer sync ${mirror}`), v.out);
  assert.doesNotMatch(v.out, /problem|broken|corrupt/i);
  const vj = JSON.parse((await run(['verify', mirror, '--json'])).out);
  assert.equal(vj.intact, false);
  assert.deepEqual(vj.problems, []);
  assert.ok(vj.incomplete.missing > 0, JSON.stringify(vj.incomplete));
  assert.deepEqual(vj.incomplete.unfinished, [proxy.url]);

  // Cloning onto it again is refused, pointing to sync; nothing is changed.
  const again = await run(['clone', proxy.url, key, mirror]);
  assert.equal(again.code, 1);
  assert.match(again.err, /already/);
  assert.ok(again.err.includes(`drayer sync ${mirror}`), again.err);

  // A sync that fails half way says what is kept; the next one completes the copy.
  mode = 'fail';
  pages = 0;
  const failed = await run(['sync', mirror]);
  assert.equal(failed.code, 1);
  assert.match(failed.err, /HTTP 503/);
  mode = 'ok';
  const done = await run(['sync', mirror, '--json']);
  assert.equal(done.code, 0, done.err);
  const m = Stream.open(mirror, { readonly: true });
  assert.deepEqual(live(m), live(w));
  m.close();
  const ok = await run(['verify', mirror, '--json']);
  assert.equal(ok.code, 0, ok.out);
  assert.equal(JSON.parse(ok.out).incomplete, undefined);

  // A clone that fails (here: after three pages) names sync as the way on.
  mode = 'fail';
  pages = 0;
  const half = path.join(dir, `half-${n++}.stream`);
  const h = await run(['clone', proxy.url, key, half]);
  assert.equal(h.code, 1);
  assert.ok(h.err.includes(`drayer sync ${half}`), h.err);
  assert.match((await run(['verify', half])).out, /incomplete/);
});

test('verify tells a mirror still syncing from a damaged one: missing records are incomplete, contradicting links and bad signatures are problems', async () => {
  const { base } = await server();
  const w = writer('links');
  churn(w, 120, 'v');
  const f = follower(w);
  const ctl = new AbortController();
  await assert.rejects(pull(f, base, { pageLimit: 30, signal: ctl.signal, onProgress: (p) => p.records >= 60 && ctl.abort() }), /stopped/);
  const rep = f.verify();
  assert.deepEqual(rep.problems, []);
  assert.equal(rep.intact, false);
  assert.ok(rep.incomplete && rep.incomplete.missing > 0 && rep.incomplete.unfinished.length === 1, JSON.stringify(rep.incomplete));
  const pool = new VerifierPool({ threads: 2 });
  bench.onClose(() => pool.close());
  assert.deepEqual(await verifyStreamParallel(f, pool), rep);

  // Complete it; then make a held record contradict another's signed gap (a validly signed patch
  // stored beside the record it skips: no sync ever does that), and tamper with a value.
  await pull(f, base, { pageLimit: 30 });
  assert.ok(f.verify().intact, JSON.stringify(f.verify()));
  const victim = [...w.iterate()].filter((r) => r.type === 'note').at(-3)!;
  const held = f.getById(victim.id)!;
  w.delete(victim.type, victim.key);
  const patched = [...w.iterate()].find((r) => r.prev < victim.id && r.id > victim.id)!;
  f.db
    .prepare('UPDATE records SET prev = ?, prevch = ?, mod = ?, sig = ? WHERE id = ?')
    .run(patched.prev, patched.prevch, patched.mod, Buffer.from(patched.sig), patched.id);
  const tampered = [...f.iterate()].find((r) => r.type === 'note' && r.id !== held.id && r.id !== patched.id)!;
  f.db.prepare('UPDATE records SET val = ? WHERE id = ?').run(Buffer.from('tampered'), tampered.id);
  const bad = f.verify();
  assert.equal(bad.intact, false);
  assert.equal(bad.incomplete, undefined, JSON.stringify(bad.incomplete));
  assert.ok(
    bad.problems.some((p) => p.id === patched.id && /ID chain broken/.test(p.what)),
    JSON.stringify(bad.problems),
  );
  assert.ok(
    bad.problems.some((p) => /does not match its hash/.test(p.what)),
    JSON.stringify(bad.problems),
  );
  assert.deepEqual(await verifyStreamParallel(f, pool), bad);
});

test('a peer redirecting in a loop is reported as a redirect loop', async () => {
  const loop = await listen((req, res) => {
    res.writeHead(302, { location: req.url });
    res.end();
  });
  const f = follower(writer('redirected'));
  await assert.rejects(pull(f, loop.url), (e: Error) => /redirect/i.test(e.message) && /loop/.test(e.message) && e.message.includes(loop.url));
  const r = await run(['clone', loop.url, Buffer.from(f.publicKey).toString('base64'), path.join(dir, `loop-${n++}.stream`)]);
  assert.equal(r.code, 1);
  assert.match(r.err, /redirect.*loop|loop.*redirect/i);
});
