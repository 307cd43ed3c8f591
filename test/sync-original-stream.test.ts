// Big original Drayer streams (issue 20.1): drayer.py answers newRecords/<t> with EVERY record since
// t in one msgpack list, built whole before its first byte (minutes for ten thousand). These "original"
// nodes answer the same way over real HTTP on 127.0.0.1, slowly, in trickles, or breaking off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import * as path from 'node:path';
import { blake2b256, generateKeyPair, type KeyPair } from '../app/core/crypto.js';
import { ArrayItemSplitter } from '../app/core/msgpack-items.js';
import { encodeWire, signRecord, type DrayerRecord } from '../app/core/record.js';
import { Stream } from '../app/store/store.js';
import { pull, type PullProgress } from '../app/net/sync.js';
import { runDrayer, sleep, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-orig-stream-');

/** A stream as the original Drayer writes it: publicSocialPost records, no drayer/info. */
function originalRecords(count: number, kp: KeyPair = generateKeyPair(), valueBytes = 40): { kp: KeyPair; records: DrayerRecord[] } {
  const records: DrayerRecord[] = [];
  let mod = 1_700_000_000_000_000;
  for (let id = 1; id <= count; id++) {
    const val = utf8(`old post ${id} `.padEnd(valueBytes, '.'));
    mod += 1000;
    records.push(
      signRecord(
        {
          id,
          type: 'publicSocialPost',
          key: `post ${id}`,
          val,
          hash: blake2b256(val),
          ts: mod - 1,
          mod,
          prev: id - 1,
          prevch: id === 1 ? 0 : mod - 1000,
          chain: kp.publicKey,
        },
        kp,
      ),
    );
  }
  return { kp, records };
}

/** The list drayer.py packs: every record with mod > t, as maps of its field names. */
function answerFor(records: DrayerRecord[], t: number): Buffer {
  const list = records
    .filter((r) => r.mod > t)
    .map((r) => ({
      hash: r.hash,
      type: r.type,
      key: r.key,
      val: r.val,
      id: r.id,
      sig: r.sig,
      prev: r.prev,
      prevch: r.prevch,
      ts: r.ts,
      mod: r.mod,
      chain: r.chain,
    }));
  return Buffer.from(encodeWire(list));
}

/** CherryPy's 500 page, which the original gives for any path it does not know (/changes, /tips). */
function cherryPy500(res: http.ServerResponse): void {
  res.writeHead(500, { 'Content-Type': 'text/html;charset=utf-8', Server: 'CherryPy/18.8.0' });
  res.end('<html><body><h2>500 Internal Server Error</h2></body></html>');
}

type Answer = (body: Buffer, res: http.ServerResponse, call: number) => void | Promise<void>;

/** An original node for `records`; `answer` writes each newRecords body (default: at once). calls: the t of each. */
async function originalNode(pk: Uint8Array, records: DrayerRecord[], answer: Answer = (b, res) => void res.end(b)) {
  const key = encodeURIComponent(Buffer.from(pk).toString('base64')).replace(/%20/g, '+');
  const calls: number[] = [];
  const srv = await bench.listen((req, res) => {
    const m = /^\/([^/]+)\/newRecords\/(\d+)$/.exec(req.url ?? '');
    if (!m || m[1] !== key) return cherryPy500(res);
    calls.push(Number(m[2]));
    const body = answerFor(records, Number(m[2]));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    void answer(body, res, calls.length);
  });
  return { url: srv.url, calls };
}

const ids = (s: Stream) => [...s.iterate()].map((r) => `${r.id}@${r.mod}`).sort();

test('an answer of 11,000 records in one list is read as it arrives: applied in bounded batches before it ends, all verified', async () => {
  const { kp, records } = originalRecords(11_000);
  let applied = 0;
  let ended = false;
  let appliedBeforeEnd = 0;
  const orig = await originalNode(kp.publicKey, records, async (body, res) => {
    // half the list, then wait (up to 10 s) until the follower has stored some: only a reader that
    // applies as records arrive gets past this before the answer ends
    const half = Math.floor(body.length / 2);
    res.write(body.subarray(0, half));
    for (let i = 0; i < 500 && applied === 0; i++) await sleep(20);
    appliedBeforeEnd = applied;
    res.end(body.subarray(half));
    ended = true;
  });
  const f = bench.follower(kp.publicKey);
  const batches: number[] = [];
  const totals = new Set<number | undefined>();
  const r = await pull(f, orig.url, {
    timeoutMs: 5000,
    applier: (s, recs) => {
      batches.push(recs.length);
      if (!ended) applied += recs.length;
      return s.apply(recs);
    },
    onProgress: (p) => totals.add(p.recordsTotal),
  });
  assert.equal(r.protocol, 'newRecords');
  assert.equal(r.rejected, 0, r.rejections.map((x) => x.reason).join('; '));
  assert.equal(r.stored, 11_000);
  assert.ok(appliedBeforeEnd > 0, 'records were stored while the answer was still coming');
  assert.ok(Math.max(...batches) <= 500, `batches of at most 500 records: ${Math.max(...batches)}`);
  assert.ok(totals.has(11_000), `progress knew the list's length: ${[...totals].join(',')}`);
  assert.deepEqual(orig.calls, [0, records.at(-1)!.mod], 'one answer, then one asking for anything newer');
  assert.equal(ids(f).length, 11_000);
  assert.ok(f.verify().intact, JSON.stringify(f.verify()).slice(0, 600));
});

test('an original that prepares for longer than the timeout is waited for, and said to be preparing; silence mid-answer is not', async () => {
  const { kp, records } = originalRecords(300);
  // 3.5 s before the first byte, with a 1 s timeout: an original at work, not a dead peer
  const slow = await originalNode(kp.publicKey, records, async (body, res, call) => {
    if (call === 1) await sleep(3500);
    res.end(body);
  });
  const f = bench.follower(kp.publicKey);
  const said: string[] = [];
  const r = await pull(f, slow.url, { timeoutMs: 1000, onProgress: (p: PullProgress) => p.waiting && said.push(p.waiting) });
  assert.equal(r.stored, 300);
  assert.ok(
    said.some((w) => /the original Drayer at http:\/\/127\.0\.0\.1:\d+ is still preparing all its records/.test(w)),
    said.join('\n') || 'nothing said while it prepared',
  );

  // a trickle: a part every 300 ms for about 4.5 s, longer than 3 × the timeout in all, never silent for 1 s
  const trickle = await originalNode(kp.publicKey, records, async (body, res) => {
    const step = Math.ceil(body.length / 15);
    for (let at = 0; at < body.length; at += step) {
      res.write(body.subarray(at, at + step));
      await sleep(300);
    }
    res.end();
  });
  const f2 = bench.follower(kp.publicKey);
  const r2 = await pull(f2, trickle.url, { timeoutMs: 1000 });
  assert.equal(r2.stored, 300);

  // silent for longer than the timeout once begun: stopped, saying so (no record came whole: nothing to resume from)
  const stalls = await originalNode(kp.publicKey, records, async (body, res) => {
    res.write(body.subarray(0, 100));
    await sleep(2500);
    res.end(body.subarray(100));
  });
  const f3 = bench.follower(kp.publicKey);
  await assert.rejects(pull(f3, stalls.url, { timeoutMs: 1000 }), /stopped sending: nothing more came within 1 s/);
});

test('an answer that breaks off mid-list: the records read whole are kept, and the pull goes on from the last mod applied', async () => {
  const { kp, records } = originalRecords(2000);
  const orig = await originalNode(kp.publicKey, records, (body, res, call) => {
    if (call > 1) return void res.end(body);
    res.write(body.subarray(0, Math.floor(body.length * 0.6)));
    setTimeout(() => res.socket?.destroy(), 100); // the connection drops mid-record
  });
  const f = bench.follower(kp.publicKey);
  const r = await pull(f, orig.url, { timeoutMs: 5000 });
  assert.equal(r.stored, 2000);
  assert.equal(orig.calls[0], 0);
  const resumedAt = orig.calls[1]!;
  const stored = records.findIndex((x) => x.mod === resumedAt);
  assert.ok(stored > 1000 && stored < 1300, `went on after record ${stored + 1} (about 60% of 2000 arrived whole)`);
  assert.equal(r.duplicates, 0, 'nothing was asked twice');
  assert.equal(ids(f).length, 2000);
  assert.ok(f.verify().intact, JSON.stringify(f.verify()).slice(0, 600));
});

test('a list item bigger than a record can be is refused before it is held whole; a list cut short says so', () => {
  const split = new ArrayItemSplitter('a newRecords list', 1000, 2);
  // array16 of 3, then a bin32 declaring 4 GB
  assert.throws(() => split.push(new Uint8Array([0xdc, 0, 3, 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2])), /an item of more than 1000 bytes/);
  const ok = new ArrayItemSplitter('a newRecords list', 1000, 2);
  const body = Buffer.from(encodeWire([{ a: 1 }, { b: utf8('x'.repeat(300)) }, 7]));
  const items: Uint8Array[] = [];
  for (const b of body.subarray(0, body.length - 1)) items.push(...ok.push(new Uint8Array([b])));
  assert.equal(items.length, 2);
  assert.throws(() => ok.end(), /cut short: 1 of its 3 items did not arrive/);
  assert.throws(() => new ArrayItemSplitter('a newRecords list', 1000, 2).push(Buffer.from(encodeWire({ a: 1 }))), /is not a list/);
});

test('drayer clone --latest N and --meta-only from an original node: what it offers is fetched, what was asked is kept', async () => {
  const { kp, records } = originalRecords(120);
  const orig = await originalNode(kp.publicKey, records);
  const key = Buffer.from(kp.publicKey).toString('base64');
  const latest = path.join(bench.dir, 'latest.stream');
  const a = await runDrayer(['clone', orig.url, key, latest, '--latest', '5']);
  assert.equal(a.code, 0, a.err);
  const s = Stream.open(latest, { readonly: true });
  try {
    assert.deepEqual(
      [...s.iterate()].map((r) => r.id).sort((x, y) => x - y),
      [116, 117, 118, 119, 120],
    );
    assert.ok(s.verify().intact);
  } finally {
    s.close();
  }
  const meta = path.join(bench.dir, 'meta.stream');
  const b = await runDrayer(['clone', orig.url, key, meta, '--meta-only']);
  assert.equal(b.code, 0, b.err);
  const m = Stream.open(meta, { readonly: true });
  try {
    const all = [...m.iterate()];
    assert.equal(all.length, 120);
    assert.ok(all.every((r) => r.val === null));
  } finally {
    m.close();
  }
});
