// Group commit (Stream.putDurable, store/group-commit.ts): puts made together share a transaction,
// each promise resolves with its own record once it is on disk, a bad put is refused alone, and a
// process killed right after its acknowledgements has every acknowledged post.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDrayerError } from '../app/core/errors.js';
import { checkRecord } from '../app/core/record.js';
import { Stream } from '../app/store/store.js';
import { text, tmpDir, utf8 } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function live(s: Stream): string[] {
  return [...s.iterate()].map((r) => `${r.id}:${r.type}/${r.key}=${text(r.val)}@${r.mod}`).sort();
}

function mirrorOf(d: string, w: Stream): Stream {
  const m = Stream.create(path.join(d, 'mirror.stream'), { followKey: w.publicKey });
  let since = 0;
  for (;;) {
    const page = w.changesSince(since, { limit: 100 });
    const res = m.apply(page.records);
    assert.deepEqual(
      res.rejected.filter((x) => !/^(stale|already|deleted)/.test(x.reason)),
      [],
    );
    since = page.seq;
    if (!page.more) return m;
  }
}

/** Frames in the WAL now: a lone put writes about 5, a group shares them. */
function walFrames(s: Stream): number {
  return (s.db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
}

test('puts made together share one transaction; each resolves with its own record, and both chains stay perfect', async () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'w.stream'));
  try {
    for (let i = 0; i < 10; i++) s.put('post', `old${i}`, utf8(`old ${i}`));
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    // new posts, edits of held ones (the M tip among them), a key put twice, a no-op, all at once
    const puts: [string, string][] = [];
    for (let i = 0; i < 200; i++) puts.push([`new${i}`, `new ${i}`]);
    for (const i of [9, 3, 0]) puts.push([`old${i}`, `edited ${i}`]);
    puts.push(['new5', 'new 5, edited in the same group'], ['old4', 'old 4']);
    const records = await Promise.all(puts.map(([k, v]) => s.putDurable('post', k, utf8(v))));
    records.forEach((r, i) => {
      assert.equal(r.key, puts[i]![0]);
      // each record's own signature and hash, not another's (they are views of shared blocks: slab.ts)
      assert.equal(checkRecord(r, s.publicKey), null, `the record for put ${i}`);
      if (r.key !== 'new5') assert.equal(text(r.val), puts[i]![1], `the record for put ${i}`);
    });
    assert.ok(walFrames(s) < 100, `205 puts together wrote ${walFrames(s)} WAL frames; one at a time they write ~1,000`);
    assert.equal(text(s.get('post', 'new5')!.val), 'new 5, edited in the same group');
    assert.equal(text(s.get('post', 'old9')!.val), 'edited 9');
    assert.equal(s.count('post'), 210);
    assert.deepEqual(s.verify().problems, []);
    const m = mirrorOf(d, s);
    assert.deepEqual(live(m), live(s));
    assert.deepEqual(m.verify().problems, []);
    m.close();
  } finally {
    s.close();
  }
});

test('a bad put in a group is refused with a clear error and the others commit', async () => {
  const d = tmpDir();
  const s = Stream.create(path.join(d, 'w.stream'));
  try {
    // A real SQLite failure inside the group's transaction, for one record only.
    s.db.exec(`CREATE TEMP TRIGGER refuse_poison BEFORE INSERT ON records WHEN NEW.key = 'poison'
                 BEGIN SELECT RAISE(ABORT, 'the record poison is refused here'); END`);
    const keys = Array.from({ length: 30 }, (_, i) => (i === 12 ? 'poison' : `k${i}`));
    const settled = await Promise.allSettled([
      ...keys.map((k) => s.putDurable('post', k, utf8(`value of ${k}`))),
      s.putDurable('post', 'x'.repeat(5000), utf8('a key too long')),
      s.putDurable('post', 'fraction', utf8('v'), 1.5),
    ]);
    const [tooLong, fraction] = settled.slice(keys.length);
    assert.equal(tooLong!.status, 'rejected');
    assert.ok(isDrayerError((tooLong as PromiseRejectedResult).reason, 'INVALID_ARGUMENT'));
    assert.match(String((tooLong as PromiseRejectedResult).reason), /key may be at most 4096 bytes/);
    assert.ok(isDrayerError((fraction as PromiseRejectedResult).reason, 'INVALID_ARGUMENT'));
    assert.match(String((fraction as PromiseRejectedResult).reason), /ts is a whole number of microseconds/);
    keys.forEach((k, i) => {
      const r = settled[i]!;
      if (k === 'poison') {
        assert.equal(r.status, 'rejected');
        assert.match(String((r as PromiseRejectedResult).reason), /the record poison is refused here/);
        assert.equal(s.get('post', k), undefined);
      } else {
        assert.equal(r.status, 'fulfilled', `put ${k}: ${String((r as PromiseRejectedResult).reason)}`);
        const rec = (r as PromiseFulfilledResult<{ key: string; val: Uint8Array | null }>).value;
        assert.equal(rec.key, k);
        assert.equal(text(rec.val), `value of ${k}`);
        assert.equal(text(s.get('post', k)!.val), `value of ${k}`);
      }
    });
    // The refused put took no id: the ID chain has no hole where it would have been.
    assert.deepEqual(
      [...s.iterate()].map((r) => r.id),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.deepEqual(s.verify().problems, []);
    // The synchronous put refuses a fractional ts as clearly (it threw a RangeError before).
    assert.throws(() => s.put('post', 'y', utf8('v'), 2.5), /ts is a whole number of microseconds/);
  } finally {
    s.close();
  }
});

test('closing a stream commits the puts still queued: their promises resolve and the records are there', async () => {
  const d = tmpDir();
  const f = path.join(d, 'w.stream');
  const s = Stream.create(f);
  const pending = Array.from({ length: 50 }, (_, i) => s.putDurable('post', `k${i}`, utf8(`v${i}`)));
  s.close(); // before the group's turn of the event loop
  const records = await Promise.all(pending);
  assert.deepEqual(
    records.map((r) => r.key),
    pending.map((_, i) => `k${i}`),
  );
  await assert.rejects(s.putDurable('post', 'late', utf8('v')), /closed; nothing was written/);
  const t = Stream.open(f);
  try {
    assert.equal(t.count('post'), 50);
    assert.deepEqual(t.verify().problems, []);
  } finally {
    t.close();
  }
});

test('a process killed with SIGKILL right after acknowledging group-committed posts has every one of them', async () => {
  const d = tmpDir();
  const f = path.join(d, 'a.stream');
  Stream.create(f).close();
  const storeUrl = new URL('../app/store/store.js', import.meta.url).href;
  // 300 callers post again as soon as their last post is acknowledged; an acknowledgement is
  // printed only once putDurable resolved. The parent kills the child mid-stream.
  const script = `
    const { Stream } = await import(${JSON.stringify(storeUrl)});
    const s = Stream.open(${JSON.stringify(f)});
    let next = 0;
    const caller = async () => {
      for (;;) {
        const i = next++;
        await s.putDurable('post', 'k' + i, new TextEncoder().encode('value ' + i));
        process.stdout.write('ack ' + i + '\\n');
      }
    };
    for (let c = 0; c < 300; c++) caller();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: here });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`the writer exited by itself (${code})`)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if ((out.match(/ack /g) ?? []).length >= 1500 && child.exitCode === null) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
  const acked = [...out.matchAll(/ack (\d+)\n/g)].map((m) => Number(m[1]));
  assert.ok(acked.length >= 1500);
  const s = Stream.open(f);
  try {
    const missing = acked.filter((i) => text(s.get('post', `k${i}`)?.val) !== `value ${i}`);
    assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged posts are missing`);
    assert.deepEqual(s.verify().problems, []);
  } finally {
    s.close();
  }
});
