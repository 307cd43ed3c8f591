// The clone's pipeline and its connections (issue 17): the next page in flight and checked in the
// worker pool while this one is applied, stopped midway and resumed from the cursor with nothing
// lost or sent twice; kept-alive connections reused from pull to pull of one peer, closed when
// idle, and bounded per peer however many pulls run at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Stream } from '../app/store/store.js';
import { CLIENT_IDLE_MS, PAGE_SOCKETS } from '../app/net/sync-fetch.js';
import { pull } from '../app/net/sync.js';
import { preparedApplier, VerifierPool } from '../app/store/verifier.js';
import type { LanServer } from '../app/net/server/server.js';
import { hex, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-pipeline-');
const live = (s: Stream) => [...s.iterate()].map((r) => `${r.id}:${r.mod}:${hex(r.sig)}:${r.val ? hex(r.val) : '-'}`).sort();

function writer(name: string, records: number): Stream {
  const s = bench.writer(name);
  s.batch((b) => {
    for (let i = 0; i < records; i++) b.put('note', `n${i}`, utf8(`value ${i} `.repeat(8)));
  });
  return s;
}

/** Connections the server accepted, in all and at most at once. */
function connections(srv: LanServer): { total: () => number; open: () => number; peak: () => number } {
  let total = 0;
  let open = 0;
  let peak = 0;
  (srv as unknown as { server: http.Server }).server.on('connection', (s: Socket) => {
    total++;
    peak = Math.max(peak, ++open);
    s.once('close', () => open--);
  });
  return { total: () => total, open: () => open, peak: () => peak };
}

test('a pipelined clone (pages read ahead, checked in the pool) stopped midway resumes from its cursor: nothing lost, no record sent twice', async () => {
  const w = writer('pipeline', 1200);
  const { url } = await bench.serve();
  const pool = new VerifierPool({ threads: 2 });
  try {
    const f = bench.follower(w);
    const ctl = new AbortController();
    let stoppedAt = 0;
    await assert.rejects(
      pull(f, url, {
        pageLimit: 100,
        applier: preparedApplier(pool),
        signal: ctl.signal,
        // After the third page is applied the fourth is already asked for (and being checked).
        onProgress: (p) => {
          if (p.records >= 300 && !stoppedAt) {
            stoppedAt = p.records;
            ctl.abort();
          }
        },
      }),
      /stopped/,
    );
    assert.equal(stoppedAt, 300);
    // The page read ahead may have been checked and applied before the stop reached it (on a quiet
    // machine it often is): what was applied is kept, whole pages, and the cursor says how far.
    const kept = f.count();
    assert.ok(kept === 300 || kept === 400, `what was applied before the stop is kept, whole pages: ${kept}`);
    const rest = await pull(f, url, { pageLimit: 100, applier: preparedApplier(pool) });
    assert.equal(rest.records, w.count() - kept, 'the resumed pull starts at the cursor: no record travels twice');
    assert.equal(rest.rejected, 0);
    assert.equal(rest.duplicates, 0);
    assert.deepEqual(live(f), live(w));
    assert.ok(f.verify().intact);
  } finally {
    await pool.close();
  }
});

test('pulls of one peer reuse a kept-alive connection, which the client closes once idle', async () => {
  const w = writer('keepalive', 50);
  const { url, srv } = await bench.serve();
  const conns = connections(srv);
  const f = bench.follower(w);
  await pull(f, url);
  for (let i = 0; i < 5; i++) {
    w.put('note', `more${i}`, utf8(`more ${i}`));
    const r = await pull(f, url);
    assert.equal(r.stored, 1);
  }
  assert.equal(conns.total(), 1, 'six pulls, one connection');
  // The client drops it after CLIENT_IDLE_MS; the server would wait twice as long (its keepAliveTimeout).
  await new Promise((r) => setTimeout(r, CLIENT_IDLE_MS + 1500));
  assert.equal(conns.open(), 0, 'the idle connection was closed');
  w.put('note', 'after', utf8('after'));
  assert.equal((await pull(f, url)).stored, 1);
  assert.equal(conns.total(), 2, 'a new connection after the idle one closed');
});

test(`many pulls from one process to one peer at once share at most ${PAGE_SOCKETS} connections, and all complete`, async () => {
  const w = writer('crowd', 300);
  const { url, srv } = await bench.serve();
  const conns = connections(srv);
  const fs = Array.from({ length: 40 }, () => bench.follower(w));
  const results = await Promise.all(fs.map((f) => pull(f, url, { pageLimit: 50 })));
  for (const [i, r] of results.entries()) assert.equal(r.records, w.count(), `pull ${i}`);
  assert.ok(conns.peak() <= PAGE_SOCKETS, `${conns.peak()} connections at once`);
  assert.ok(conns.total() <= PAGE_SOCKETS, `${conns.total()} connections in all: they were reused`);
  assert.equal(srv.stats().refused.addressBusy, 0, 'never over its share at the server');
});
