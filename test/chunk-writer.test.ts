import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake2b256 } from '../app/core/crypto.js';
import { ChunkStore } from '../app/store/chunk-writer.js';
import { getChunk } from '../app/store/files.js';
import { Stream } from '../app/store/store.js';
import { sleep, tmpDir } from './helpers.js';

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
