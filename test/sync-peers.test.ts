// The sync client against the peers a new user meets (issue 8): original Drayer nodes (their
// error page for paths they do not know, streams without drayer/info), Drayer nodes that fail or
// are busy (429/503 with Retry-After), sources that hold what a copy already has, big files, and
// clones that receive nothing. Real HTTP on 127.0.0.1, real `drayer` processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { blake2b256, generateKeyPair, randomBytes, type KeyPair } from '../app/core/crypto.js';
import { addBytes, chunkCount, readFileBytes } from '../app/store/files.js';
import { formatKey, keyName } from '../app/core/keys.js';
import { signRecord, type DrayerRecord } from '../app/core/record.js';
import { keyPathFor, NO_NAME_NOTE, Stream, writeKeyFile } from '../app/store/store.js';
import { fetchMissingChunks, pull } from '../app/net/sync.js';
import { VerifierPool, verifyStreamParallel } from '../app/store/verifier.js';
import { DRAYER_BIN, hex, packOld, runDrayer, tmpDir, utf8 } from './helpers.js';
import { lanBench, type Served } from './lan-harness.js';

const bench = lanBench('drayer-peers-');
const { dir, writer } = bench;
let n = 0;

const follower = (pk: Uint8Array): Stream => bench.follower(pk);

/** A LAN server for the streams writer() made (each call: another server, another peer URL). */
async function lanServer(opts: { resolve?: (pk: Uint8Array) => Stream | undefined } = {}): Promise<Served> {
  return bench.serve(opts);
}

async function listen(handler: http.RequestListener): Promise<{ url: string; hits: string[] }> {
  return bench.listen(handler);
}

/** Forward a request to `target` as it is, status, type and body. */
async function forward(target: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const up = await fetch(target + req.url);
  const body = Buffer.from(await up.arrayBuffer());
  res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? '', 'content-length': body.length });
  res.end(body);
}

function live(s: Stream): string[] {
  return [...s.iterate()]
    .map((r) => `${r.id}:${r.type}/${r.key}#${hex(r.hash)}@${r.mod}/${r.prev}/${r.prevch}/${hex(r.sig)}=${r.val ? hex(r.val) : '-'}`)
    .sort();
}

const run = (args: string[], cwd = dir) => runDrayer(args, { cwd });

const show = (r: { code: number | null; out: string; err: string }) => `exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`;

// ---------- an original Drayer node, as the Python code answers ----------

/**
 * A stream as the original Drayer writes it: records appended in order, no drayer/info record.
 * `records` holds what its node serves; `add` appends more.
 */
class OriginalStream {
  readonly kp: KeyPair = generateKeyPair();
  readonly records: DrayerRecord[] = [];
  private mod = 1_700_000_000_000_000;

  constructor(count: number) {
    this.add(count);
  }

  get publicKey(): Uint8Array {
    return this.kp.publicKey;
  }

  add(count: number): void {
    for (let i = 0; i < count; i++) {
      const last = this.records.at(-1);
      const id = (last?.id ?? 0) + 1;
      const val = utf8(`an old-style post ${id} `.repeat(1 + (id % 5)));
      this.mod += 1000;
      this.records.push(
        signRecord(
          {
            id,
            type: 'publicSocialPost',
            key: `post-${id}`,
            val,
            hash: blake2b256(val),
            ts: this.mod - 1,
            mod: this.mod,
            prev: last?.id ?? 0,
            prevch: last?.mod ?? 0,
            chain: this.kp.publicKey,
          },
          this.kp,
        ),
      );
    }
  }
}

/** CherryPy's answer to anything that raises, such as an unknown path (`getattr(self, op)`) or stream (KeyError). */
function cherryPy500(res: http.ServerResponse, what: string): void {
  const body = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></meta><title>500 Internal Server Error</title></head>
<body><h2>500 Internal Server Error</h2><p>The server encountered an unexpected condition which prevented it from fulfilling the request.</p>
<pre id="traceback">Traceback (most recent call last):\n  ...\n${what}</pre>
<div id="powered_by"><span>Powered by <a href="http://www.cherrypy.org">CherryPy 18.8.0</a></span></div></body></html>\n`;
  res.writeHead(500, { 'Content-Type': 'text/html;charset=utf-8', Server: 'CherryPy/18.8.0', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * An original Drayer node (drayer.py's DrayerWebServer): /<quote_plus(b64 pk)>/newRecords/<t>
 * gives the records with mod > t, oldest first (100 here); any other path, or a stream it does not
 * hold, is a 500 error page.
 */
async function originalNode(s: OriginalStream): Promise<{ url: string; hits: string[] }> {
  const key = encodeURIComponent(Buffer.from(s.publicKey).toString('base64')).replace(/%20/g, '+');
  return listen((req, res) => {
    const [, pk, op, t] = /^\/([^/]+)\/([^/?]+)\/?([^?]*)/.exec(req.url ?? '') ?? [];
    if (op !== 'newRecords') return cherryPy500(res, `AttributeError: 'DrayerWebServer' object has no attribute '${op}'`);
    if (pk !== key) return cherryPy500(res, "KeyError: b'...'");
    const list = s.records.filter((r) => r.mod > Number(t)).slice(0, 100);
    const body = Buffer.from(
      packOld(
        list.map((r) => ({
          hash: r.hash,
          type: r.type,
          key: r.key,
          val: r.val!,
          id: r.id,
          sig: r.sig,
          prev: r.prev,
          prevch: r.prevch,
          ts: r.ts,
          mod: r.mod,
          chain: r.chain,
        })),
      ),
    );
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
  });
}

const changesHits = (hits: string[]) => hits.filter((u) => /\/changes\?/.test(u)).length;

test('an original node (500 error page for /changes) is cloned and synced through newRecords, remembered per peer; its stream, with no name record, verifies intact and shows by words of its key', async () => {
  const o = new OriginalStream(150);
  const orig = await originalNode(o);
  const key = formatKey(o.publicKey);
  const named = keyName(o.publicKey);

  const file = path.join(dir, `orig-${n++}.stream`);
  const c = await run(['clone', orig.url, key, file, '--json']);
  assert.equal(c.code, 0, show(c));
  const cj = JSON.parse(c.out);
  assert.equal(cj.protocol, 'newRecords');
  assert.equal(cj.records, 150);
  assert.equal(cj.stored, 150);
  assert.equal(cj.rejected, 0, c.out);
  assert.equal(cj.name, named);
  assert.equal(cj.nameFromKey, true);
  assert.equal(changesHits(orig.hits), 1, 'one /changes request, answered with the error page');

  // the words as a person reads them
  const text = await run(['clone', orig.url, key, path.join(dir, `orig-text-${n++}.stream`)]);
  assert.equal(text.code, 0, show(text));
  assert.ok(text.out.startsWith(`Cloned "${named}" (it has no name record: named from its key) into `), show(text));
  assert.match(text.out, /\(original Drayer protocol\)/);

  // verify: intact, the missing name record a note
  const v = await run(['verify', file]);
  assert.equal(v.code, 0, show(v));
  assert.match(v.out, /: intact, 150 records verified\./);
  assert.ok(v.out.includes(`Note: ${NO_NAME_NOTE}.`), show(v));
  const vj = JSON.parse((await run(['verify', file, '--json'])).out);
  assert.equal(vj.intact, true);
  assert.deepEqual(vj.problems, []);
  assert.deepEqual(vj.notes, [NO_NAME_NOTE]);
  assert.equal(vj.incomplete, undefined);
  const m = Stream.open(file, { readonly: true });
  const pool = new VerifierPool({ threads: 1 });
  assert.deepEqual(await verifyStreamParallel(m, pool), m.verify(), 'both verify paths agree');
  await pool.close();
  m.close();

  const i = await run(['info', file]);
  assert.equal(i.code, 0, show(i));
  assert.ok(i.out.includes(`Name:         ${named} (made from the key: it has no name record)`), show(i));
  assert.equal(JSON.parse((await run(['info', file, '--json'])).out).name, named);

  // sync: newRecords at once (remembered in the file beside the cursor), new records arrive
  o.add(7);
  const before = changesHits(orig.hits);
  const sy = await run(['sync', file, '--json']);
  assert.equal(sy.code, 0, show(sy));
  const r = JSON.parse(sy.out).results[0];
  assert.equal(r.protocol, 'newRecords');
  assert.equal(r.stored, 7);
  assert.equal(changesHits(orig.hits), before, 'no /changes request once the peer is known to be an original node');
  const after = Stream.open(file, { readonly: true });
  assert.equal(after.count(), 157);
  assert.ok(after.verify().intact);
  after.close();

  // an original node without the stream: a sentence naming both answers
  const other = formatKey(generateKeyPair().publicKey);
  const miss = await run(['clone', orig.url, other, path.join(dir, `miss-${n++}.stream`)]);
  assert.equal(miss.code, 1, show(miss));
  assert.match(
    miss.err,
    /answered HTTP 500 to Drayer's sync request and HTTP 500 to the original Drayer's \(newRecords\).*does not hold this stream \(check the key and the address\) or it is failing/,
    show(miss),
  );
});

test('a node follows an original node: a name from the key in its API and pages, newRecords remembered in memory', async () => {
  const o = new OriginalStream(40);
  const orig = await originalNode(o);
  const key = formatKey(o.publicKey);
  const node = await bench.node(tmpDir('drayer-peers-node-'));
  const f = await node.call('follow', { key, url: orig.url });
  assert.equal(f.records, 40);
  assert.equal(f.name, keyName(o.publicKey));
  assert.equal((await node.call('listStreams', undefined as never))[0]!.name, keyName(o.publicKey));
  const lan = node.lanAddress()!;
  const index = (await (await fetch(`http://127.0.0.1:${lan.port}/`, { headers: { accept: 'application/json' } })).json()) as { streams: { name: string }[] };
  assert.deepEqual(
    index.streams.map((x: { name: string }) => x.name),
    [keyName(o.publicKey)],
  );
  const page = await (await fetch(`http://127.0.0.1:${lan.port}/${Buffer.from(o.publicKey).toString('base64url')}/`)).text();
  assert.ok(page.includes(keyName(o.publicKey)), 'the phone page shows the name too');

  o.add(3);
  const before = changesHits(orig.hits);
  const [rep] = await node.call('syncNow', { publicKey: key });
  assert.equal(rep!.error, undefined, JSON.stringify(rep));
  assert.equal(rep!.stored, 3);
  assert.equal(changesHits(orig.hits), before, 'the node remembers the peer is an original node');
});

test('a stream without drayer/info verifies intact in its writer too (an original stream with its key beside it)', async () => {
  const o = new OriginalStream(12);
  const file = path.join(dir, `own-original-${n++}.stream`);
  const m = Stream.create(file, { followKey: o.publicKey });
  assert.equal(m.apply(o.records).stored.length, 12);
  m.close();
  writeKeyFile(keyPathFor(file), o.kp);
  const s = Stream.open(file);
  bench.onClose(() => s.close());
  assert.equal(s.writable, true);
  const report = s.verify();
  assert.equal(report.intact, true, JSON.stringify(report));
  assert.deepEqual(report.notes, [NO_NAME_NOTE]);
  const pool = new VerifierPool({ threads: 1 });
  assert.deepEqual(await verifyStreamParallel(s, pool), report);
  await pool.close();
});

test('a Drayer node failing on /changes is reported as failing, not taken for an original node; one not sharing the stream is a 404 at once', async () => {
  const w = writer('failing');
  // the same node answers newRecords well: falling back would hide the failure
  const fire = {
    value: () => {
      throw new Error('disk on fire');
    },
  };
  // (the server reads pages packed, and as records when a row does not pack: both fail)
  const broken = Object.create(w, { changesSince: fire, changesPacked: fire }) as Stream;
  const logged: string[] = [];
  const { url, srv } = await bench.serve({ resolve: (pk) => (hex(pk) === hex(w.publicKey) ? broken : undefined), log: (m) => logged.push(m) });
  const f = follower(w.publicKey);
  await assert.rejects(pull(f, url), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'IO');
    assert.match(
      e.message,
      /is a Drayer node and failed while answering \(HTTP 500: "Something went wrong on this node while answering; try again later\."\); try again later, or ask whoever runs it to look at its log\./,
    );
    return true;
  });
  assert.equal(srv.stats().requests, 1, 'no fallback request');
  assert.match(logged.join('\n'), /disk on fire/);
  assert.equal(f.count(), 0);

  // a Drayer node without the stream
  const { url: other, srv: otherSrv } = await lanServer({ resolve: () => undefined });
  await assert.rejects(
    pull(f, other),
    (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /does not share stream .*This node does not share that stream/.test(e.message),
  );
  assert.equal(otherSrv.stats().requests, 1);

  // the CLI says the same
  const c = await run(['clone', url, formatKey(w.publicKey), path.join(dir, `failing-${n++}.stream`)]);
  assert.equal(c.code, 1, show(c));
  assert.match(c.err, /is a Drayer node and failed while answering \(HTTP 500/, show(c));
});

// ---------- 429 and 503 with Retry-After ----------

test('429 and 503 with Retry-After are asked again after the delay: the pages and chunks of a clone all arrive', async () => {
  const { url: base } = await lanServer();
  const w = writer('busy');
  w.batch((b) => {
    for (let i = 0; i < 120; i++) b.put('note', `n${i}`, utf8(`busy ${i}`));
  });
  const data = randomBytes(3 * 1024 * 1024 + 11);
  await addBytes(w, 'big.bin', data);
  // The first /changes request and the first of each chunk are refused, as a LAN server refuses
  // an address over its share (429) or when busy (503).
  const refused = new Set<string>();
  let refusals = 0;
  const front = await listen((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const kind = u.pathname.includes('/changes') ? 'changes' : u.pathname;
    if (!refused.has(kind)) {
      refused.add(kind);
      refusals++;
      const status = kind === 'changes' || refusals % 2 ? 429 : 503;
      res.writeHead(status, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8', 'Drayer-Sync': 'changes' });
      res.end(
        status === 429
          ? 'This node is already answering as much as it does for one address; try again in a moment.\n'
          : 'This node is busy; try again in a moment.\n',
      );
      return;
    }
    void forward(base, req, res);
  });
  const f = follower(w.publicKey);
  const t0 = Date.now();
  const r = await pull(f, front.url, { pageLimit: 50 });
  const took = Date.now() - t0;
  assert.deepEqual(live(f), live(w));
  assert.ok(Buffer.from(data).equals(await readFileBytes(f, 'big.bin')));
  assert.equal(r.chunks, chunkCount(w));
  assert.ok(refusals >= 1 + chunkCount(w), `${refusals} refusals`);
  assert.ok(took >= 1000, `waited for Retry-After (${took} ms)`);
});

test("the LAN server's own 429 (this address over its share) is waited out: the pull gets its page once the share frees", async () => {
  const w = writer('share');
  w.put('note', 'hello', utf8('hello'));
  const big = writer('share-big');
  await addBytes(big, 'big.bin', new Uint8Array(16 * 1024 * 1024).fill(7));
  // One request in flight per address: a client that asks for a big file and stops reading holds it.
  const { port, srv } = await bench.serve({ limits: { maxConcurrent: 2, maxConcurrentPerAddress: 1 } });
  const hog = await new Promise<net.Socket>((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' }, () => {
      sock.on('error', () => undefined);
      sock.write(`GET /${Buffer.from(big.publicKey).toString('base64url')}/webAccess/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
      sock.pause();
      resolve(sock);
    });
    sock.once('error', reject);
  });
  bench.onClose(() => void hog.destroy());
  for (const t0 = Date.now(); srv.stats().active < 1 && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 10));
  assert.equal(srv.stats().active, 1);
  const f = follower(w.publicKey);
  const pulling = pull(f, `http://127.0.0.1:${port}`);
  for (const t0 = Date.now(); srv.stats().refused.addressBusy < 1 && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 10));
  assert.equal(srv.stats().refused.addressBusy, 1, 'the first request was refused with 429');
  hog.destroy();
  const r = await pulling;
  assert.equal(r.stored, 2);
  assert.deepEqual(live(f), live(w));
});

test("a peer answering 429 forever fails within the pull's patience with a clear sentence, for pages and for chunks", async () => {
  const { url: base } = await lanServer();
  const w = writer('refusing');
  await addBytes(w, 'big.bin', randomBytes(2 * 1024 * 1024 + 1));
  const hold = follower(w.publicKey);
  await pull(hold, base, { fetchChunks: false });
  const refuse = (res: http.ServerResponse, after = '1') => {
    res.writeHead(429, { 'Retry-After': after, 'Content-Type': 'text/plain; charset=utf-8', 'Drayer-Sync': 'changes' });
    res.end('This node is already answering as much as it does for one address; try again in a moment.\n');
  };
  const always = await listen((_req, res) => refuse(res));
  const chunksRefused = await listen((req, res) => (req.url!.includes('/chunk/') ? refuse(res) : void forward(base, req, res)));
  // (each wait is at most a quarter of the patience: a few tries fit in it)
  const busyWaitMs = 4000;
  const t0 = Date.now();
  const [pages, chunks] = await Promise.allSettled([
    pull(follower(w.publicKey), always.url, { busyWaitMs }),
    fetchMissingChunks(hold, chunksRefused.url, { busyWaitMs }),
  ]);
  const took = Date.now() - t0;
  assert.ok(took < busyWaitMs + 3000, `${took} ms`);
  for (const [what, got] of [
    ['pages', pages],
    ['chunks', chunks],
  ] as const) {
    assert.equal(got.status, 'rejected', what);
    const e = (got as PromiseRejectedResult).reason as Error & { code?: string };
    assert.equal(e.code, 'IO', what);
    assert.match(
      e.message,
      /answered HTTP 429 \(too many requests from this address: "This node is already answering as much as it does for one address; try again in a moment\."\), asked \d+ times over \d+ s; gave up waiting\. Other syncs from this machine to the same peer share its limit: let them finish, or try again later\. What arrived is kept\./,
      what,
    );
  }
  assert.ok(always.hits.length >= 3 && always.hits.length <= 5, `${always.hits.length} tries`);
  assert.equal(chunkCount(hold), 0);

  // a Retry-After longer than the patience is clamped: asked again within it, then given up
  const later = await listen((_req, res) => refuse(res, '3600'));
  const t1 = Date.now();
  await assert.rejects(pull(follower(w.publicKey), later.url, { busyWaitMs: 2000 }), /answered HTTP 429 .*asked \d+ times over \d+ s; gave up waiting/);
  assert.ok(Date.now() - t1 < 2500, `${Date.now() - t1} ms`);
  assert.ok(later.hits.length >= 2, `${later.hits.length} tries`);
});

// ---------- what sync and clone report ----------

test('records already held are counted as such by sync, not as rejections', async () => {
  const w = writer('counted');
  w.batch((b) => {
    for (let i = 0; i < 10; i++) b.put('note', `n${i}`, utf8(`counted ${i}`));
  });
  const { url: first } = await lanServer();
  const { url: second } = await lanServer(); // another peer serving the same stream
  const file = path.join(dir, `counted-${n++}.stream`);
  const c = await run(['clone', first, formatKey(w.publicKey), file]);
  assert.equal(c.code, 0, show(c));

  // a second source holds nothing new: all 11 are duplicates
  const s = await run(['sync', file, second]);
  assert.equal(s.code, 0, show(s));
  assert.match(s.out, /^11 records from \S+, 0 stored, 11 already held, [\d.]+ KiB received$/m, show(s));
  assert.doesNotMatch(s.out, /rejected/);
  const sj = JSON.parse((await run(['sync', file, second, '--json'])).out).results[0];
  assert.equal(sj.records, 0, 'the cursor moved on: nothing is sent twice');
  const m = Stream.open(file, { readonly: true });
  const f = follower(w.publicKey);
  await pull(f, first);
  const r = await pull(f, second);
  assert.equal(r.duplicates, 11);
  assert.equal(r.rejected, 0);
  assert.deepEqual(r.rejections, []);
  m.close();
});

test('a clone of a big file counts its file data in what it received', async () => {
  const { url: first } = await lanServer();
  const big = writer('big');
  const size = 3 * 1024 * 1024 + 5;
  await addBytes(big, 'big.bin', randomBytes(size));
  const bf = path.join(dir, `big-${n++}.stream`);
  const bc = await run(['clone', first, formatKey(big.publicKey), bf, '--json']);
  assert.equal(bc.code, 0, show(bc));
  const bj = JSON.parse(bc.out);
  assert.equal(bj.chunkBytes, size);
  assert.ok(bj.bytes > size && bj.bytes < size + 64 * 1024, `${bj.bytes} bytes`);
  const bt = await run(['clone', first, formatKey(big.publicKey), path.join(dir, `big-text-${n++}.stream`)]);
  assert.equal(bt.code, 0, show(bt));
  assert.match(bt.out, /, 4 file chunks \(3\.0 MiB\), 3\.0 MiB received\.$/m, show(bt));
});

/** A port with nothing listening on it. */
function closedPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('a clone from a URL where nothing listens leaves nothing behind (no file, no folder it made); the retry with the right URL works', async () => {
  const w = writer('retry');
  const key = formatKey(w.publicKey);
  const { url } = await lanServer();
  const closed = await closedPort();
  const where = tmpDir('drayer-peers-clone-');
  for (const file of ['x.stream', path.join('new', 'folder', 'x.stream')]) {
    const c = await run(['clone', `http://127.0.0.1:${closed}`, key, file], where);
    assert.equal(c.code, 1, show(c));
    assert.ok(c.err.includes(`check the address and that the peer is running. Nothing was received, so ${file} was not created.`), show(c));
    assert.deepEqual(fs.readdirSync(where), [], 'nothing left: no file, no folder');
    const ok = await run(['clone', url, key, file], where);
    assert.equal(ok.code, 0, show(ok));
    const m = Stream.open(path.join(where, file), { readonly: true });
    assert.deepEqual(live(m), live(w));
    m.close();
    fs.rmSync(path.join(where, file.split(path.sep)[0]!), { recursive: true });
    for (const x of ['-wal', '-shm']) fs.rmSync(path.join(where, file + x), { force: true });
  }
});

test('a clone answered with no record, or stopped by Ctrl-C before anything arrived, leaves nothing behind either', async () => {
  const w = writer('retry2');
  const key = formatKey(w.publicKey);
  const { url } = await lanServer();
  const where = tmpDir('drayer-peers-clone-');
  const file = path.join('new', 'folder', 'x.stream');

  // a peer that answers, but with no record of the stream
  const empty = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/msgpack' });
    res.end(Buffer.from([0x84, 0xa4, ...utf8('node'), 0xa1, 0x78, 0xa3, ...utf8('seq'), 0, 0xa4, ...utf8('more'), 0xc2, 0xa7, ...utf8('records'), 0x90]));
  });
  const e = await run(['clone', empty.url, key, file], where);
  assert.equal(e.code, 1, show(e));
  assert.match(e.err, /sent no records of stream .*check the key and the address\. Nothing was received, so new\/folder\/x\.stream was not created\./, show(e));
  assert.deepEqual(fs.readdirSync(where), []);

  // stopped by Ctrl-C while the peer says nothing
  const silent = await listen(() => {});
  const p = spawn(process.execPath, [DRAYER_BIN, 'clone', silent.url, key, file], { cwd: where, env: { ...process.env, DRAYER_DEBUG: '' } });
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  for (const t0 = Date.now(); silent.hits.length === 0 && Date.now() - t0 < 10_000;) await new Promise((r) => setTimeout(r, 20));
  assert.ok(fs.existsSync(path.join(where, file)), 'the clone had begun');
  p.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.deepEqual(fs.readdirSync(where), []);

  // the retry with the right URL: no "already exists"
  const ok = await run(['clone', url, key, file], where);
  assert.equal(ok.code, 0, show(ok));
  const m = Stream.open(path.join(where, file), { readonly: true });
  assert.deepEqual(live(m), live(w));
  m.close();
});
