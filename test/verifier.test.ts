import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { NO_NAME_NOTE, Stream } from '../app/store/store.js';
import { checkRecord, type DrayerRecord, signRecord } from '../app/core/record.js';
import { blake2b256, generateKeyPair } from '../app/core/crypto.js';
import { applyParallel, INLINE_BELOW, verifyStreamParallel, VerifierPool, type VerifyParallelOptions } from '../app/store/verifier.js';
import { text, tmpDir, utf8 } from './helpers.js';
import { rng } from './rng.js';

const pools: VerifierPool[] = [];
after(async () => {
  for (const p of pools) await p.close();
});
function pool(threads?: number): VerifierPool {
  const p = new VerifierPool(threads === undefined ? {} : { threads });
  pools.push(p);
  return p;
}

function live(s: Stream): string[] {
  return [...s.iterate()].map((r) => `${r.id}:${r.type}/${r.key}=${text(r.val)}@${r.mod}/${r.prev}/${r.prevch}`).sort();
}

/** A writer with n posts (some edited and deleted), and a mix of good and bad copies of its records. */
function fixture(n: number) {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const rnd = rng(n);
  w.batch((b) => {
    for (let i = 0; i < n; i++) b.put('post', `k${i}`, utf8(`value ${i} `.repeat(1 + (i % 7))));
  });
  const good = [...w.iterate()];
  const other = generateKeyPair();
  const mixed: DrayerRecord[] = [];
  const kinds: string[] = [];
  for (const r of good) {
    const x = rnd();
    if (x < 0.5) {
      mixed.push(r);
      kinds.push('good');
    } else if (x < 0.6) {
      mixed.push({ ...r, val: null });
      kinds.push('meta-only');
    } else if (x < 0.67) {
      mixed.push({ ...r, val: utf8('tampered') });
      kinds.push('tampered value');
    } else if (x < 0.72) {
      const val = utf8('tampered, hash fixed');
      mixed.push({ ...r, val, hash: blake2b256(val) });
      kinds.push('tampered value and hash');
    } else if (x < 0.77) {
      mixed.push({ ...r, ts: r.ts + 1 });
      kinds.push('altered field');
    } else if (x < 0.82) {
      mixed.push({ ...r, key: r.key + 'x', val: null });
      kinds.push('altered key, meta-only');
    } else if (x < 0.87) {
      mixed.push(signRecord({ ...r, chain: r.chain }, other)); // signed by someone else
      kinds.push('forged');
    } else if (x < 0.9) {
      mixed.push({ ...signRecord(r, other), chain: other.publicKey });
      kinds.push('foreign chain');
    } else if (x < 0.93) {
      mixed.push({ ...r, sig: r.sig.subarray(0, 10) });
      kinds.push('short signature');
    } else if (x < 0.95) {
      mixed.push({ ...r, prev: r.id });
      kinds.push('bad shape');
    } else {
      const sig = new Uint8Array(r.sig);
      sig[5]! ^= 1;
      mixed.push({ ...r, sig });
      kinds.push('flipped signature bit');
    }
  }
  return { d, w, good, mixed, kinds };
}

test('pool answers exactly what checkRecord answers, inline and in workers, on any thread count', async () => {
  const { w, mixed, kinds } = fixture(700);
  const expected = mixed.map((r) => checkRecord(r, w.publicKey));
  // every kind of record is there, and the bad ones are caught
  for (const k of new Set(kinds)) assert.ok(kinds.includes(k));
  assert.ok(expected.some((x) => x === null) && expected.some((x) => x?.includes('hash')) && expected.some((x) => x?.includes('signature')));
  assert.equal(expected.filter((x, i) => x === null && kinds[i] !== 'good' && kinds[i] !== 'meta-only').length, 0);
  for (const threads of [1, 2, 3]) {
    const p = pool(threads);
    assert.deepEqual(await p.verify(mixed, w.publicKey), expected, `threads=${threads}`);
    const small = mixed.slice(0, INLINE_BELOW - 1);
    assert.deepEqual(await p.verify(small, w.publicKey), expected.slice(0, small.length));
    assert.deepEqual(await p.verify([], w.publicKey), []);
  }
  // concurrent calls on one pool do not mix their answers
  const p = pool();
  const parts = [mixed.slice(0, 300), mixed.slice(300, 450), mixed.slice(450)];
  const got = await Promise.all(parts.map((x) => p.verify(x, w.publicKey)));
  assert.deepEqual(got.flat(), expected);
  // records the input shares buffers with (SQLite rows, subarrays) are not disturbed by transfer
  const again = await p.verify(mixed, w.publicKey);
  assert.deepEqual(again, expected);
  assert.deepEqual(
    mixed.map((r) => checkRecord(r, w.publicKey)),
    expected,
  );
  w.close();
});

test('a value bigger than a batch is checked too', async () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const big = new Uint8Array(5 * 1024 * 1024).fill(9);
  w.batch((b) => {
    for (let i = 0; i < 70; i++) b.put('file', `f${i}`, i < 3 ? big : utf8(`small ${i}`));
  });
  const recs = [...w.iterate()];
  const bad = { ...recs[2]!, val: new Uint8Array(big).fill(8, 100, 101) };
  const input = [...recs, bad];
  assert.deepEqual(
    await pool(2).verify(input, w.publicKey),
    input.map((r) => checkRecord(r, w.publicKey)),
  );
  w.close();
});

test('applyParallel converges like apply, page by page, with the same results', async () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const a = Stream.create(path.join(d, 'a.stream'), { followKey: w.publicKey });
  const b = Stream.create(path.join(d, 'b.stream'), { followKey: w.publicKey });
  const p = pool(2);
  const rnd = rng(7);
  const evil = generateKeyPair();
  let seqA = 0;
  let seqB = 0;
  for (let round = 0; round < 6; round++) {
    w.batch((x) => {
      for (let i = 0; i < 120; i++) {
        const k = `k${Math.floor(rnd() * 150)}`;
        if (rnd() < 0.3) x.delete('post', k);
        else x.put('post', k, utf8(`r${round} ${i}`));
      }
    });
    for (let i = 0; i < 10; i++) w.put('post', `k${Math.floor(rnd() * 150)}`, utf8(`single ${round} ${i}`));
    if (round % 2) w.delete('post', `k${Math.floor(rnd() * 150)}`);
    // pages of varying size, with some bad records mixed in, pulled by both mirrors
    const limit = 40 + Math.floor(rnd() * 200);
    for (;;) {
      const page = w.changesSince(seqA, { limit });
      assert.deepEqual(w.changesSince(seqB, { limit }), page);
      const bad = page.records.slice(0, 5).map((r) => ({ ...signRecord(r, evil), chain: r.chain }));
      const input = [...bad, ...page.records];
      const ra = a.apply(input);
      const rb = await applyParallel(b, input, p);
      assert.deepEqual(rb.stored, ra.stored);
      assert.deepEqual(rb.removed, ra.removed);
      assert.equal(rb.skipped, ra.skipped);
      const reasons = (r: typeof ra) => r.rejected.map((x) => `${x.record.id}@${x.record.mod}:${x.reason}`).sort();
      assert.deepEqual(reasons(rb), reasons(ra));
      seqA = seqB = page.seq;
      if (!page.more) break;
    }
    assert.deepEqual(live(b), live(a));
    assert.deepEqual(live(b), live(w));
  }
  assert.deepEqual(b.verify().problems, []);
  assert.deepEqual((await verifyStreamParallel(b, p)).problems, []);
  for (const s of [w, a, b]) s.close();
});

test('applyParallel to a metadata-only mirror', async () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const m = Stream.create(path.join(d, 'm.stream'), { followKey: w.publicKey, metaOnly: true });
  const v = Stream.create(path.join(d, 'v.stream'), { followKey: w.publicKey });
  w.batch((x) => {
    for (let i = 0; i < 200; i++) x.put('post', `k${i}`, utf8(`v${i}`));
  });
  const page = w.changesSince(0, { limit: 1000, metaOnly: true });
  const p = pool(2);
  const rm = await applyParallel(m, page.records, p);
  assert.equal(rm.stored.length, 201);
  assert.equal(rm.rejected.length, 0);
  // a mirror that keeps values refuses metadata-only copies, as apply does
  const rv = await applyParallel(v, page.records, p);
  assert.equal(rv.stored.length, 0);
  assert.equal(rv.rejected.length, 201);
  assert.match(rv.rejected[0]!.reason, /no value/);
  const report = await verifyStreamParallel(m, p);
  assert.deepEqual(report, m.verify());
  assert.equal(report.metaOnly, 201);
  for (const s of [w, m, v]) s.close();
});

test('verifyStreamParallel reports what Stream.verify reports, on intact and damaged streams', async () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  w.batch((x) => {
    for (let i = 0; i < 2000; i++) x.put('post', `k${i}`, utf8(`value ${i}`));
  });
  w.delete('post', 'k10');
  const p = pool(2);
  const intact = await verifyStreamParallel(w, p);
  assert.deepEqual(intact, w.verify());
  assert.equal(intact.intact, true);
  assert.equal(intact.records, 2000);

  // Damage it behind the store's back, in every way verify can see.
  const db = w.db;
  db.prepare(`UPDATE records SET val = ? WHERE id = 5`).run(Buffer.from('tampered'));
  db.prepare(`UPDATE records SET ts = ts + 1 WHERE id = 700`).run();
  db.prepare(`UPDATE records SET sig = randomblob(64) WHERE id = 1500`).run();
  db.prepare(`UPDATE records SET sig = x'00' WHERE id = 1600`).run(); // bad shape
  db.prepare(`UPDATE records SET val = NULL WHERE id = 1700`).run(); // metadata-only is fine
  db.prepare(`DELETE FROM records WHERE id IN (1200, 1201, 1202)`).run(); // both chains broken
  db.prepare(`UPDATE records SET prev = 1300 WHERE id = 1400`).run();
  db.prepare(`UPDATE records SET mod = (SELECT mod FROM records WHERE id = 1800) WHERE id = 1799`).run();
  const expected = w.verify();
  assert.equal(expected.intact, false);
  assert.ok(expected.problems.length >= 8, JSON.stringify(expected.problems));
  assert.deepEqual(await verifyStreamParallel(w, p), expected);
  for (const threads of [1, 3]) assert.deepEqual(await verifyStreamParallel(w, pool(threads)), expected);
  assert.deepEqual(await verifyStreamParallel(w, p, { maxProblems: 3 }), w.verify({ maxProblems: 3 }));

  // the stream stays usable while (and after) the check reads its own snapshot; a write before
  // the workers took theirs sends the check the main thread's way, still on the call's snapshot
  const paths: string[] = [];
  const check = verifyStreamParallel(w, p, { onPath: (x) => paths.push(x) });
  w.put('post', 'during', utf8('x'));
  assert.deepEqual(await check, expected);
  assert.deepEqual(paths, ['main: written to meanwhile']);
  db.prepare(`DELETE FROM records WHERE type = 'drayer'`).run();
  assert.deepEqual(await verifyStreamParallel(w, p), w.verify());
  // no name record is a note, not damage (the original never wrote one); what deleting it broke is damage
  assert.deepEqual(w.verify().notes, [NO_NAME_NOTE]);
  assert.match(JSON.stringify(w.verify().problems), /ID chain broken/);
  db.prepare(`DELETE FROM records`).run();
  assert.deepEqual(await verifyStreamParallel(w, p), w.verify());
  w.close();
});

test('close ends the workers, fails waiting calls, and refuses new ones', async () => {
  const { w, good } = fixture(400);
  const p = new VerifierPool({ threads: 2 });
  assert.equal(p.threads, 2);
  assert.deepEqual(
    await p.verify(good, w.publicKey),
    good.map(() => null),
  );
  const waiting = assert.rejects(p.verify(good, w.publicKey), /closed/);
  await p.close();
  await waiting;
  await assert.rejects(() => p.verify(good, w.publicKey), /closed/);
  await p.close(); // twice is fine
  // a pool that was never used closes too, and one that is idle does not keep the process alive
  await new VerifierPool().close();
  const idle = pool(2);
  await idle.verify(good, w.publicKey);
  assert.throws(() => new VerifierPool({ threads: 0 }), RangeError);
  w.close();
});

test('an idle pool that was never closed does not keep a process alive', async () => {
  const verifier = new URL('../app/store/verifier.js', import.meta.url).href;
  const record = new URL('../app/core/record.js', import.meta.url).href;
  const crypto = new URL('../app/core/crypto.js', import.meta.url).href;
  const script = `
    const { VerifierPool } = await import(${JSON.stringify(verifier)});
    const { signRecord } = await import(${JSON.stringify(record)});
    const { generateKeyPair, blake2b256 } = await import(${JSON.stringify(crypto)});
    const kp = generateKeyPair();
    const val = new Uint8Array([1, 2, 3]);
    const recs = Array.from({ length: 200 }, (_, i) => signRecord({ id: i + 1, type: 'post', key: 'k' + i, val, hash: blake2b256(val),
      ts: 1, mod: i + 1, prev: i, prevch: i, chain: kp.publicKey }, kp));
    const out = await new VerifierPool({ threads: 2 }).verify(recs, kp.publicKey);
    console.log(out.filter((x) => x === null).length);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
  assert.equal(stdout.trim(), '200');
});

/** verifyStreamParallel at several range sizes (1: every link is where two ranges meet), each time Stream.verify's report. */
async function sameAsVerify(s: Stream, p: VerifierPool, path: RegExp, opts: VerifyParallelOptions = {}) {
  const expected = s.verify(opts);
  for (const rangeSize of [1, 2, 3, 7, 64, undefined]) {
    const paths: string[] = [];
    const got = await verifyStreamParallel(s, p, { ...opts, rangeSize, onPath: (x) => paths.push(x) });
    assert.deepEqual(got, expected, `rangeSize ${rangeSize}`);
    assert.match(paths.join(' '), path, `rangeSize ${rangeSize}`);
  }
  return expected;
}

/** A writer whose chains have gaps: edits and deletes among n posts. */
function churned(file: string, n: number, seed = 3): Stream {
  const w = Stream.create(file);
  const rnd = rng(seed);
  w.batch((b) => {
    for (let i = 0; i < n; i++) b.put('post', `k${i}`, utf8(`value ${i}`));
  });
  for (let i = 0; i < n / 4; i++) {
    const k = `k${Math.floor(rnd() * n)}`;
    if (rnd() < 0.3) w.delete('post', k);
    else w.put('post', k, utf8(`edited ${i}`));
  }
  return w;
}

test('workers that read the file report what Stream.verify reports: tampered values, bad signatures, broken chains, odd column types', async () => {
  const d = tmpDir();
  const w = churned(path.join(d, 'w.stream'), 300);
  w.put('drayer', 'primaryServers', utf8('not msgpack')); // a value problem, signed by the writer
  const p = pool(2);
  const intact = await sameAsVerify(w, p, /^workers$/);
  assert.equal(intact.problems.length, 1, JSON.stringify(intact.problems));
  const ids = (w.db.prepare('SELECT id FROM records ORDER BY id').pluck().all() as number[]).filter((id) => id > 1);
  const at = (i: number) => ids[i]!;
  const db = w.db;
  db.prepare(`UPDATE records SET val = ? WHERE id = ?`).run(Buffer.from('tampered'), at(3));
  db.prepare(`UPDATE records SET ts = ts + 1 WHERE id = ?`).run(at(40));
  db.prepare(`UPDATE records SET sig = randomblob(64) WHERE id = ?`).run(at(41)); // two in a row: a range's first record and its link
  db.prepare(`UPDATE records SET sig = x'00' WHERE id = ?`).run(at(60));
  db.prepare(`UPDATE records SET val = NULL WHERE id = ?`).run(at(61));
  db.prepare(`UPDATE records SET hash = 'not a blob' WHERE id = ?`).run(at(70));
  db.prepare(`UPDATE records SET type = CAST(type AS BLOB) WHERE id = ?`).run(at(71));
  db.prepare(`UPDATE records SET val = CAST(val AS TEXT) WHERE id = ?`).run(at(72));
  db.prepare(`UPDATE records SET val = x'' WHERE id = ?`).run(at(73)); // empty, not null
  db.prepare(`DELETE FROM records WHERE id IN (?, ?)`).run(at(100), at(101)); // both chains broken
  db.prepare(`UPDATE records SET prev = ? WHERE id = ?`).run(at(120), at(130)); // pointing back, at a held record
  const damaged = await sameAsVerify(w, p, /^workers$/);
  assert.ok(damaged.problems.length >= 10, JSON.stringify(damaged.problems));
  assert.equal(damaged.intact, false);
  for (const maxProblems of [1, 3]) await sameAsVerify(w, p, /^workers$/, { maxProblems });

  // mods that no longer rise with ids: the M chain gets a pass of its own, in mod order
  db.prepare(`UPDATE records SET mod = (SELECT mod FROM records WHERE id = ?) WHERE id = ?`).run(at(151), at(150));
  const a = db.prepare('SELECT mod FROM records WHERE id = ?').pluck();
  const [m1, m2] = [a.get(at(170)), a.get(at(200))];
  db.prepare(`UPDATE records SET mod = ? WHERE id = ?`).run(m2, at(170));
  db.prepare(`UPDATE records SET mod = ? WHERE id = ?`).run(m1, at(200));
  const moved = await sameAsVerify(w, p, /^workers$/);
  assert.match(JSON.stringify(moved.problems), /not unique/);
  assert.match(JSON.stringify(moved.problems), /M chain broken/);
  // the drayer/info record gone: a note (streams of the original Drayer have none), not a problem
  db.prepare(`DELETE FROM records WHERE type = 'drayer' AND key = 'info'`).run();
  const unnamed = await sameAsVerify(w, p, /^workers$/);
  assert.match(JSON.stringify(unnamed.notes), /no name record/);
  assert.doesNotMatch(JSON.stringify(unnamed.problems), /drayer\/info/);
  w.close();
});

test('workers that read the file report what Stream.verify reports on mirrors: incomplete, metadata-only, partial', async () => {
  const d = tmpDir();
  const w = churned(path.join(d, 'w.stream'), 400, 11);
  const p = pool(2);
  const follow = (name: string, opts: Parameters<typeof Stream.create>[1] = {}) => Stream.create(path.join(d, name), { followKey: w.publicKey, ...opts });
  const all = w.changesSince(0, { limit: 10_000 }).records;

  // a mirror still syncing: links to records not fetched yet, a peer whose pull stopped
  const half = follow('half.stream');
  half.apply(w.changesSince(0, { limit: 150 }).records);
  half.markSync('http://peer.example', true);
  const incomplete = await sameAsVerify(half, p, /^workers$/);
  assert.ok(incomplete.incomplete && incomplete.incomplete.missing > 0, JSON.stringify(incomplete));
  assert.deepEqual(incomplete.problems, []);
  // ... and damaged too
  half.db.prepare(`UPDATE records SET val = ? WHERE id = (SELECT max(id) FROM records)`).run(Buffer.from('tampered'));
  const both = await sameAsVerify(half, p, /^workers$/);
  assert.ok(both.incomplete && both.problems.length === 1, JSON.stringify(both));

  const meta = follow('meta.stream', { metaOnly: true });
  meta.apply(w.changesSince(0, { limit: 10_000, metaOnly: true }).records);
  assert.equal((await sameAsVerify(meta, p, /^workers$/)).metaOnly, all.length);

  const full = follow('full.stream');
  full.apply(all);
  assert.equal((await sameAsVerify(full, p, /^workers$/)).intact, true);

  const latest = follow('latest.stream', { latest: 40 });
  latest.apply(all);
  latest.keepLatest();
  const partial = await sameAsVerify(latest, p, /^workers$/);
  assert.equal(partial.partial, true);
  assert.ok(partial.records < 60, JSON.stringify(partial));

  const recent = follow('recent.stream', { minMod: all[Math.floor(all.length / 2)]!.mod });
  recent.apply(all);
  assert.equal((await sameAsVerify(recent, p, /^workers$/)).partial, true);
  for (const s of [w, half, meta, full, latest, recent]) s.close();
});

test('records of another chain, or none at all: the main thread reads them, with the same report', async () => {
  const d = tmpDir();
  const w = churned(path.join(d, 'w.stream'), 100);
  const p = pool(2);
  const other = generateKeyPair();
  const r = w.getById(5)!;
  const foreign = signRecord({ ...r, chain: other.publicKey }, other);
  w.db
    .prepare(
      `INSERT INTO records (seq, chain, id, type, key, val, hash, ts, mod, prev, prevch, sig) VALUES ((SELECT max(seq) + 1 FROM records), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      Buffer.from(foreign.chain),
      foreign.id,
      foreign.type,
      foreign.key,
      Buffer.from(foreign.val!),
      Buffer.from(foreign.hash),
      foreign.ts,
      foreign.mod,
      foreign.prev,
      foreign.prevch,
      Buffer.from(foreign.sig),
    );
  assert.match(JSON.stringify((await sameAsVerify(w, p, /^main: several chains$/)).problems), /another chain/);
  w.db.prepare('DELETE FROM records').run();
  await sameAsVerify(w, p, /^main: no records$/);
  w.close();
});

test('workers keep the snapshot taken at the call while this process writes the stream', async () => {
  const d = tmpDir();
  const w = churned(path.join(d, 'w.stream'), 3000);
  const p = pool(2);
  const expected = w.verify();
  let timer: NodeJS.Timeout | undefined;
  const write = () => {
    w.put('post', `k${Math.floor(Math.random() * 3000)}`, utf8('edited while checked'));
    w.delete('post', `k${Math.floor(Math.random() * 3000)}`);
    w.put('post', `new${Math.random()}`, utf8('new'));
  };
  const paths: string[] = [];
  const got = await verifyStreamParallel(w, p, {
    rangeSize: 50,
    onPath: (x) => {
      paths.push(x);
      // the workers hold their snapshot now: write at once and on and on while they read
      write();
      timer = setInterval(write, 5);
    },
  });
  clearInterval(timer);
  assert.deepEqual(paths, ['workers']);
  assert.deepEqual(got, expected);
  assert.notDeepEqual(w.verify(), expected);
  assert.deepEqual(await verifyStreamParallel(w, p), w.verify());
  w.close();
});

test('workers read one consistent snapshot while another process writes the stream', async () => {
  const d = tmpDir();
  const file = path.join(d, 'w.stream');
  churned(file, 1500).close();
  const store = new URL('../app/store/store.js', import.meta.url).href;
  const script = `
    const { Stream } = await import(${JSON.stringify(store)});
    const s = Stream.open(${JSON.stringify(file)});
    let i = 0;
    for (;;) {
      // edits, deletes (gaps that re-sign records) and new records, in bursts
      s.batch((b) => {
        for (let j = 0; j < 20; j++) {
          const k = 'k' + Math.floor(Math.random() * 1500);
          if (j % 4 === 0) b.delete('post', k); else b.put('post', k, new TextEncoder().encode('w' + i));
        }
        b.put('post', 'n' + i, new TextEncoder().encode('new'));
      });
      if (i++ === 0) console.log('writing');
      await new Promise((r) => setTimeout(r, 15));
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the writer exited (${code})`)));
    });
    const w = Stream.open(file, { readonly: true });
    const p = pool(2);
    const paths: string[] = [];
    const counts = new Set<number>();
    for (let i = 0; i < 40 && (paths.filter((x) => x === 'workers').length < 4 || i < 8); i++) {
      const r = await verifyStreamParallel(w, p, { rangeSize: 5, onPath: (x) => paths.push(x) });
      assert.deepEqual(r.problems, [], `${paths.at(-1)}: ${JSON.stringify(r.problems.slice(0, 3))}`);
      assert.equal(r.intact, true);
      counts.add(r.records);
    }
    assert.ok(paths.includes('workers'), paths.join());
    assert.ok(counts.size > 1, 'the writer kept writing');
    w.close();
  } finally {
    child.kill();
  }
});

test('the pool keeps checking records sent to it while its workers read a file, and a check ends when the pool closes', async () => {
  const { w, mixed } = fixture(600);
  const p = pool(2);
  const expected = mixed.map((r) => checkRecord(r, w.publicKey));
  const [report, ...answers] = await Promise.all([
    verifyStreamParallel(w, p, { rangeSize: 16 }),
    p.verify(mixed, w.publicKey),
    p.verify(mixed.slice(100, 400), w.publicKey),
  ]);
  assert.deepEqual(report, w.verify());
  assert.deepEqual(answers, [expected, expected.slice(100, 400)]);

  const closing = new VerifierPool({ threads: 2 });
  const check = verifyStreamParallel(w, closing, { rangeSize: 4, onPath: () => void closing.close() });
  await assert.rejects(check, /closed/);
  w.close();
});
