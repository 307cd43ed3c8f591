import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake2b256, bytesEqual, randomBytes } from '../app/core/crypto.js';
import { ChunkStore } from '../app/store/chunk-writer.js';
import { addBytes, chunkCount, getChunk, missingChunks, readFileBytes } from '../app/store/files.js';
import { Stream } from '../app/store/store.js';
import { fetchMissingChunks, pull } from '../app/net/sync.js';
import { sleep, tmpDir } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-chunk-writer-');

const MiB = 1024 * 1024;

/** This process's read syscalls and bytes read so far (Linux), or null where /proc/self/io is missing. */
function reads(): { calls: number; bytes: number } | null {
  try {
    const t = fs.readFileSync('/proc/self/io', 'utf8');
    const n = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(t)![1]);
    return { calls: n('syscr'), bytes: n('rchar') };
  } catch {
    return null;
  }
}

test(
  'chunks from a peer are written once: the chunk writer reads nothing back from the WAL while storing them',
  { skip: reads() === null && 'no /proc/self/io' },
  async () => {
    const s = Stream.create(path.join(tmpDir(), 'cw.stream'));
    const store = ChunkStore.forStream(s, { verify: false, fetching: true });
    const hashes: Uint8Array[] = [];
    const put = async (i: number) => {
      const buf = store.take();
      const u = new Uint8Array(buf);
      u.fill(i & 255);
      new DataView(buf).setUint32(0, i);
      const h = blake2b256(u);
      hashes.push(h);
      await store.put(buf, buf.byteLength, h);
    };
    try {
      // The worker and its connection start (module and schema reads) before counting.
      await put(0);
      await sleep(300);
      const before = reads()!;
      const n = 48;
      for (let i = 1; i <= n; i++) await put(i);
      await store.close();
      const after = reads()!;
      // A page cache smaller than a transaction spilled pages and read the B-tree back: ~15-28
      // reads and ~0.1 MiB read a MiB stored (700+ reads, 5 MiB here).
      const calls = after.calls - before.calls;
      const bytes = after.bytes - before.bytes;
      assert.ok(calls < n * 2, `${calls} read calls while storing ${n} MiB`);
      assert.ok(bytes < n * MiB * 0.01, `${(bytes / MiB).toFixed(2)} MiB read while storing ${n} MiB`);
      assert.equal(store.stored, n + 1);
      for (const i of [0, 17, n]) assert.ok(Buffer.from(blake2b256(getChunk(s, hashes[i]!)!)).equals(Buffer.from(hashes[i]!)), `chunk ${i} reads back`);
    } finally {
      await store.terminate();
      s.close();
    }
  },
);

test('a follower killed (SIGKILL) in the middle of a big file keeps a sound stream and every chunk it kept is right; the next fetch brings only the rest', async () => {
  const w = bench.writer('killed');
  const data = randomBytes(48 * MiB + 5);
  await addBytes(w, 'big.bin', data);
  const { url } = await bench.lan();
  const file = path.join(bench.dir, 'killed-follower.stream');
  const f0 = Stream.create(file, { followKey: w.publicKey });
  await pull(f0, url, { fetchChunks: false });
  const all = missingChunks(f0, 'big.bin');
  const total = all.length;
  f0.close();
  // The child reports each chunk handed to its writer; it is killed with a third of them reported.
  const dist = (m: string) => JSON.stringify(new URL(`../app/${m}`, import.meta.url).href);
  const script = `
    const { Stream } = await import(${dist('store/store.js')});
    const { fetchMissingChunks } = await import(${dist('net/sync.js')});
    const s = Stream.open(${JSON.stringify(file)});
    await fetchMissingChunks(s, ${JSON.stringify(url)}, { onChunks: (done) => process.stdout.write('got ' + done + '\\n') });
    process.stdout.write('finished\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if ((out.match(/got /g) ?? []).length >= total / 3 && child.exitCode === null) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
  await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.on('exit', r) : r(null)));
  assert.ok(!out.includes('finished'), 'killed before the file was complete');
  const reported = (out.match(/got /g) ?? []).length;
  const f = Stream.open(file);
  try {
    assert.deepEqual(f.verify().problems, []);
    const kept = chunkCount(f);
    assert.ok(kept < total, `${kept} of ${total} chunks kept`);
    // At most what was being written and queued is lost (a 2 MiB transaction, 4 MiB queued, a chunk
    // per fetch worker): the rest was committed before the kill.
    assert.ok(kept >= reported - 10, `${kept} chunks kept of ${reported} handed over`);
    for (const h of all) {
      const c = getChunk(f, h);
      if (c) assert.ok(bytesEqual(blake2b256(c), h), 'a kept chunk matches its hash');
    }
    assert.equal(await fetchMissingChunks(f, url), total - kept, 'only the missing chunks are fetched');
    assert.ok(bytesEqual(await readFileBytes(f, 'big.bin'), data), 'the file reads back whole and identical');
  } finally {
    f.close();
  }
});
