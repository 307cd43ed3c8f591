import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { keyPathFor, Stream } from '../app/store/store.js';
import type { DrayerRecord } from '../app/core/record.js';
import { text, tmpDir, utf8 } from './helpers.js';

function live(s: Stream): string[] {
  return [...s.iterate()].map((r) => `${r.id}:${r.type}/${r.key}=${text(r.val)}@${r.mod}`).sort();
}

function pullAll(to: Stream, from: Stream, since = 0, limit = 1000): number {
  for (;;) {
    const page = from.changesSince(since, { limit });
    const res = to.apply(page.records);
    assert.deepEqual(
      res.rejected.filter((x) => !x.reason.startsWith('stale') && !x.reason.startsWith('already') && !x.reason.startsWith('deleted')),
      [],
    );
    since = page.seq;
    if (!page.more) return since;
  }
}

test('a new stream holds drayer/info and verifies intact', () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'a.stream'), { name: 'Alice' });
  assert.equal(s.info().name, 'Alice');
  assert.equal(s.count(), 1);
  assert.deepEqual(s.verify().problems, []);
  s.close();
});

test('a new stream file, copied from the empty schema made once, is the file the migrations make', async () => {
  const { default: Database } = await import('better-sqlite3');
  const { MIGRATIONS } = await import('../app/store/schema.js');
  const d = tmpDir();
  // what creating a stream did before the copy: a fresh file, auto_vacuum, every migration
  const ref = new Database(path.join(d, 'ref.sqlite'));
  ref.pragma('auto_vacuum = INCREMENTAL');
  for (const m of MIGRATIONS) ref.exec(m);
  ref.pragma(`user_version = ${MIGRATIONS.length}`);
  const schema = (db: InstanceType<typeof Database>) => db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name').all();
  const owned = Stream.create(path.join(d, 'mine.stream'), { name: 'Mine' });
  const mirror = Stream.create(path.join(d, 'copy.stream'), { followKey: owned.publicKey, minId: 5 });
  for (const s of [owned, mirror]) {
    assert.deepEqual(schema(s.db), schema(ref));
    for (const p of ['user_version', 'auto_vacuum', 'page_size', 'journal_mode'])
      assert.equal(s.db.pragma(p, { simple: true }), p === 'journal_mode' ? 'wal' : ref.pragma(p, { simple: true }), p);
    assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
  }
  // each file its own: its key, its node id, its filter
  assert.notEqual(owned.meta('nodeId'), mirror.meta('nodeId'));
  assert.equal(mirror.partial.minId, 5);
  assert.equal(owned.partial.minId, 0);
  assert.deepEqual(owned.verify().problems, []);
  ref.close();
  owned.close();
  mirror.close();
  // reopened, both are what they were
  const again = Stream.open(path.join(d, 'mine.stream'));
  assert.equal(again.info().name, 'Mine');
  assert.ok(again.writable);
  again.close();
  // a file that is there is never touched (nor its key file made)
  const taken = path.join(d, 'taken.stream');
  fs.writeFileSync(taken, 'not mine');
  assert.throws(() => Stream.create(taken, { name: 'x' }), /already exists/);
  assert.equal(fs.readFileSync(taken, 'utf8'), 'not mine');
  assert.equal(fs.existsSync(keyPathFor(taken)), false);
});

test('puts, edits and deletes (including of both tips) keep both chains perfect', () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'a.stream'));
  for (let i = 0; i < 10; i++) s.put('post', `k${i}`, utf8(`v${i}`));
  s.put('post', 'k3', utf8('edited'));
  assert.equal(text(s.get('post', 'k3')!.val), 'edited');
  s.delete('post', 'k9'); // ID tip
  s.delete('post', 'k3'); // M tip
  s.delete('post', 'k5'); // middle
  s.put('post', 'k0', utf8('e0'));
  s.delete('post', 'k0'); // M tip, not ID tip
  assert.deepEqual(s.verify().problems, []);
  assert.equal(s.count('post'), 6);
  assert.equal(s.get('post', 'k9'), undefined);
  assert.throws(() => s.delete('drayer', 'info'), /cannot be deleted/);
  s.close();
});

test('a mirror that synced from a stale mirror first converges to the writer', () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const stale = Stream.create(path.join(d, 'stale.stream'), { followKey: w.publicKey });
  const m = Stream.create(path.join(d, 'm.stream'), { followKey: w.publicKey });
  for (let i = 0; i < 20; i++) w.put('post', `k${i}`, utf8(`v${i}`));
  pullAll(stale, w);
  for (const k of [19, 0, 7, 8, 12]) w.delete('post', `k${k}`);
  w.put('post', 'k3', utf8('x'));
  w.put('post', 'k18', utf8('y'));
  w.delete('post', 'k18');
  pullAll(m, stale);
  pullAll(m, w);
  assert.deepEqual(live(m), live(w));
  assert.deepEqual(m.verify().problems, []);
});

/** Deterministic PRNG so failures name a seed. */
function rng(seed: number) {
  let x = seed * 2654435761 + 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

test('random writer histories converge on every mirror (model trial, 60 seeds)', () => {
  const d = tmpDir();
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = rng(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const w = Stream.create(path.join(d, `w${seed}.stream`));
    const ms = [0, 1, 2, 3].map((i) => Stream.create(path.join(d, `m${seed}-${i}.stream`), { followKey: w.publicKey }));
    const cursors = new Map<string, number>();
    const pull = (m: Stream, src: Stream, upto?: number) => {
      const name = `${m.file}<${src.file}`;
      const page = src.changesSince(cursors.get(name) ?? 0, { limit: upto ?? 1000 });
      const res = m.apply(page.records);
      for (const x of res.rejected) assert.match(x.reason, /^(stale|already|deleted)/, `seed ${seed}`);
      cursors.set(name, page.seq);
      return page.more;
    };
    let keys = 0;
    const steps = 20 + Math.floor(rnd() * 100);
    for (let step = 0; step < steps; step++) {
      const ks = [...w.iterate()].filter((r) => r.type === 'post').map((r) => r.key);
      const op = rnd();
      if (op < 0.45 || ks.length === 0) w.put('post', `k${++keys}`, utf8(`v${step}`));
      else if (op < 0.7) w.put('post', pick(ks), utf8(`e${step}`));
      else w.delete('post', pick(ks));
      for (let j = Math.floor(rnd() * 4); j > 0; j--) {
        const m = pick(ms);
        const src = pick([w, ...ms]);
        if (src !== m) pull(m, src, 1 + Math.floor(rnd() * 5));
      }
    }
    assert.deepEqual(w.verify().problems, [], `seed ${seed}: writer chains`);
    for (const m of ms) {
      const other = pick(ms.filter((x) => x !== m));
      while (pull(m, other));
      while (pull(m, w));
      assert.deepEqual(live(m), live(w), `seed ${seed}: mirror ${m.file}`);
    }
    for (const s of [w, ...ms]) s.close();
  }
});

test('forged, tampered and foreign records are rejected and nothing is lost', () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const evil = Stream.create(path.join(d, 'evil.stream'));
  const m = Stream.create(path.join(d, 'm.stream'), { followKey: w.publicKey });
  w.put('post', 'a', utf8('A'));
  pullAll(m, w);
  const before = live(m);
  const r = w.get('post', 'a')!;
  const tampered: DrayerRecord = { ...r, val: utf8('B') };
  const resigned: DrayerRecord = { ...evil.put('post', 'a', utf8('B')), chain: w.publicKey };
  const foreign = evil.get('post', 'a')!;
  const res = m.apply([tampered, resigned, foreign]);
  assert.equal(res.stored.length, 0);
  assert.equal(res.rejected.length, 3);
  assert.match(res.rejected[0]!.reason, /hash/);
  assert.match(res.rejected[1]!.reason, /signature/);
  assert.match(res.rejected[2]!.reason, /another chain/);
  assert.deepEqual(live(m), before);
});

test('a metadata-only patch of a record held with its value keeps the value', () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const m = Stream.create(path.join(d, 'm.stream'), { followKey: w.publicKey });
  for (const k of ['a', 'b', 'c']) w.put('post', k, utf8(k.toUpperCase()));
  pullAll(m, w);
  const since = w.lastSeq();
  w.delete('post', 'b'); // patches c (same mod, wider gap)
  const res = m.apply(w.changesSince(since, { metaOnly: true }).records, { allowMetaOnly: true });
  assert.ok(res.stored.length > 0);
  assert.equal(m.get('post', 'b'), undefined);
  assert.equal(text(m.get('post', 'c')!.val), 'C');
  assert.equal(m.get('post', 'c')!.prevch, w.get('post', 'c')!.prevch);
});

test('lists page newest first by ts or by id; the secret key file is private', async () => {
  const fs = await import('node:fs');
  const d = tmpDir();
  const f = path.join(d, 'a.stream');
  const s = Stream.create(f);
  assert.equal(fs.statSync(f + '.privatekey').mode & 0o777, 0o600);
  // ts order differs from creation order on purpose
  const ts = [50, 10, 40, 20, 30];
  ts.forEach((t, i) => s.put('post', `k${i}`, utf8(`v${i}`), t));
  assert.deepEqual(
    s.list('post').map((r) => r.ts),
    [50, 40, 30, 20, 10],
  );
  assert.deepEqual(
    s.list('post', { order: 'id' }).map((r) => r.key),
    ['k4', 'k3', 'k2', 'k1', 'k0'],
  );
  assert.deepEqual(
    s.list('post', { limit: 2, offset: 2 }).map((r) => r.ts),
    [30, 20],
  );
  assert.equal(s.count('post'), 5);
  assert.equal(s.count(), 6);
  s.put('post', 'k1', utf8('edited')); // an edit keeps its ts
  assert.equal(s.get('post', 'k1')!.ts, 10);
  s.close();
});

/** Every row's seq, by record id. */
function seqs(s: Stream): Map<number, number> {
  return new Map((s.db.prepare('SELECT id, seq FROM records').all() as { id: number; seq: number }[]).map((r) => [r.id, r.seq]));
}

test('seqs are never reused, even when the newest row is the one deleted', () => {
  const d = tmpDir();
  const w = Stream.create(path.join(d, 'w.stream'));
  const m = Stream.create(path.join(d, 'm.stream'), { followKey: w.publicKey });
  for (const k of ['a', 'b', 'c']) w.put('post', k, utf8(k));
  pullAll(m, w);
  // c holds the top seq and is the ID tip: deleting it re-issues b.
  let top = w.lastSeq();
  assert.equal(Math.max(...seqs(w).values()), top);
  w.delete('post', 'c');
  assert.ok(w.lastSeq() > top, 'the re-issued tip took a new seq');
  const page = w.changesSince(top);
  assert.deepEqual(
    page.records.map((r) => r.key),
    ['b'],
    'a follower at the old top seq still sees the change',
  );
  // b (edited) holds the top seq and is the M tip but not the ID tip.
  w.put('post', 'd', utf8('d'));
  w.put('post', 'b', utf8('b2'));
  top = w.lastSeq();
  w.delete('post', 'b');
  assert.ok(w.lastSeq() > top);
  assert.ok(w.changesSince(top).records.length > 0);
  // The mirror's gaps delete its newest rows; what it stores still comes after them.
  const mTop = m.lastSeq();
  pullAll(m, w);
  assert.ok(m.lastSeq() > mTop);
  assert.deepEqual(live(m), live(w));
  // A batch that creates and deletes the same record ends with seqs above all it removed.
  top = w.lastSeq();
  w.batch((b) => {
    b.put('post', 'e', utf8('e'));
    b.delete('post', 'e');
  });
  assert.ok(w.lastSeq() > top);
  assert.deepEqual(w.verify().problems, []);
  w.close();
  m.close();
});

test('a schema 1 stream (seq AUTOINCREMENT) is upgraded without losing its last seq', async () => {
  const { default: Database } = await import('better-sqlite3');
  const d = tmpDir();
  const f = path.join(d, 'old.stream');
  const w = Stream.create(f);
  for (const k of ['a', 'b', 'c']) w.put('post', k, utf8(k));
  const before = live(w);
  const rows = seqs(w);
  w.close();
  // Rebuild it as schema 1 wrote it, with the sequence ahead of the rows (its top row deleted).
  const db = new Database(f);
  db.exec(`CREATE TABLE r1 (seq INTEGER PRIMARY KEY AUTOINCREMENT, chain BLOB NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,
             val BLOB, hash BLOB NOT NULL, ts INTEGER NOT NULL, mod INTEGER NOT NULL, prev INTEGER NOT NULL, prevch INTEGER NOT NULL, sig BLOB NOT NULL);
           INSERT INTO r1 SELECT * FROM records; DROP TABLE records; ALTER TABLE r1 RENAME TO records;
           CREATE UNIQUE INDEX records_chain_id ON records(chain, id); CREATE INDEX records_chain_mod ON records(chain, mod);
           CREATE INDEX records_type_key ON records(type, key); CREATE INDEX records_type_ts ON records(type, ts);
           UPDATE sqlite_sequence SET seq = 100 WHERE name = 'records'; DROP TABLE chunk_pins; DROP TABLE chunk_ops; PRAGMA user_version = 1;`);
  assert.equal((db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").get() as { seq: number }).seq, 100);
  db.close();
  const s = Stream.open(f);
  assert.equal(s.db.pragma('user_version', { simple: true }), 3);
  assert.deepEqual(live(s), before);
  assert.equal(s.lastSeq(), 100, 'the newest row took the last seq handed out');
  const after = seqs(s);
  for (const [id, seq] of rows) if (seq < Math.max(...rows.values())) assert.equal(after.get(id), seq, 'other rows keep their seqs');
  s.put('post', 'd', utf8('d'));
  assert.equal(s.lastSeq(), 101);
  assert.deepEqual(s.verify().problems, []);
  assert.match(String((s.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'records'").get() as { sql: string }).sql), /seq INTEGER PRIMARY KEY,/);
  s.close();
});

test('WAL checkpoints run in the background while a writer keeps writing', async () => {
  const fs = await import('node:fs');
  const d = tmpDir();
  const f = path.join(d, 'busy.stream');
  const s = Stream.create(f);
  const size0 = fs.statSync(f).size;
  // ~1000 rows: fewer WAL pages than the writer's own backstop checkpoint, so only the
  // background checkpointer can have moved them into the database file.
  for (let i = 0; i < 1000; i++) s.put('post', `k${i}`, utf8(`value ${i}`));
  const deadline = Date.now() + 10_000;
  while (fs.statSync(f).size <= size0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(fs.statSync(f).size > size0, 'the database file grew: pages were checkpointed into it');
  assert.equal(s.count('post'), 1000);
  s.close();
  assert.equal(fs.existsSync(f + '-wal'), false, 'closing the stream removes its WAL');
  const again = Stream.open(f);
  assert.equal(again.count('post'), 1000);
  assert.deepEqual(again.verify().problems, []);
  again.close();
});

test('setPrimaryServers writes only lists followers can read: normalised, no duplicates, at most 16, within the decoder limits', () => {
  const s = Stream.create(path.join(tmpDir(), 'p.stream'), { name: 'p' });
  try {
    const { servers } = s.setPrimaryServers(['http://a.example:1/', ' https://b.example/x/ ', 'http://a.example:1']);
    assert.deepEqual(servers, [
      { type: 'http', url: 'http://a.example:1' },
      { type: 'http', url: 'https://b.example/x' },
    ]);
    assert.deepEqual(s.primaryServers(), servers);
    assert.equal(s.primaryServersProblem(), null);
    const before = s.lastSeq();
    const long = (n: number) => `http://h${n}.example/${'p'.repeat(4096 - 'http://hN.example/'.length - (n > 9 ? 1 : 0))}`;
    assert.equal(long(3).length, 4096);
    assert.throws(() => s.setPrimaryServers([long(1) + 'x']), /at most 4096 characters.*Nothing was changed/);
    // 16 URLs of 4096 characters: each within limits, together more than a reader decodes
    assert.throws(
      () => s.setPrimaryServers(Array.from({ length: 16 }, (_, i) => long(i))),
      /Followers could not read that list.*fewer or shorter URLs\. Nothing was changed/,
    );
    assert.throws(() => s.setPrimaryServers(Array.from({ length: 17 }, (_, i) => `http://m${i}.example`)), /at most 16 primary servers.*17 were given/);
    assert.equal(s.lastSeq(), before); // nothing was written
    assert.deepEqual(s.setPrimaryServers([]).servers, []);
    assert.deepEqual(s.primaryServers(), []);
  } finally {
    s.close();
  }
});
