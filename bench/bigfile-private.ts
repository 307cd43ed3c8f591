// The private side of `bench bigfile` (issue 19): the same file added to a private stream (each
// chunk sealed on its own) and cloned from it, in the same run as the public add and clone, so the
// ratios compare like with like. A private clone fetches sealed chunks; the first one is checked
// byte for byte through the read key (outside its timing).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadKey } from '../app/core/private.js';
import { pull, rejectionSummary } from '../app/net/sync.js';
import { hasChunk, sealedChunkLists } from '../app/store/files.js';
import { addPrivatePaths } from '../app/store/private-files.js';
import { openPrivateFile } from '../app/store/private-files.js';
import { createPrivateStream, StreamView } from '../app/store/private-view.js';
import { Stream } from '../app/store/store.js';
import { applyParallel, type VerifierPool } from '../app/store/verifier.js';

type Sampler = () => { stop(): number };

async function sha256(readable: Readable): Promise<string> {
  const h = createHash('sha256');
  await pipeline(readable, new Writable({ write: (c, _e, cb) => (h.update(c), cb()) }));
  return h.digest('hex');
}

/** Make a private stream `name` in `dir` and add `src` to it as big.bin: seconds and RSS growth of the add. */
export async function addPrivate(
  dir: string,
  src: string,
  rssSampler: Sampler,
  name = 'private.stream',
): Promise<{ file: string; pk: Uint8Array; rk: ReadKey; s: number; rss: number }> {
  const { stream: w, readKey: rk } = await createPrivateStream(path.join(dir, name), { name: 'bigfile bench (private)' });
  try {
    global.gc?.();
    const rss = rssSampler();
    const t = performance.now();
    const r = await addPrivatePaths(new StreamView(w, rk), [src]);
    w.db.pragma('wal_checkpoint(TRUNCATE)');
    const s = (performance.now() - t) / 1000;
    const grow = rss.stop();
    if (r.added.length !== 1) throw new Error('the private add stored nothing');
    return { file: w.file, pk: w.publicKey, rk, s, rss: grow };
  } finally {
    w.close();
  }
}

/** Clone the private stream from `url` (its sealed chunks, as any mirror does); given `check`, compare the plaintext with it. */
export async function clonePrivateOnce(
  dir: string,
  pk: Uint8Array,
  url: string,
  pool: VerifierPool,
  rk: ReadKey,
  rssSampler: Sampler,
  check: string | null,
): Promise<{ s: number; rss: number; chunks: number }> {
  const f = Stream.create(path.join(dir, 'private-follower.stream'), { followKey: pk });
  try {
    global.gc?.();
    const rss = rssSampler();
    const t = performance.now();
    const res = await pull(f, url, { applier: (s, r) => applyParallel(s, r, pool) });
    const s = (performance.now() - t) / 1000;
    const grow = rss.stop();
    if (res.rejected) throw new Error(`private clone rejected: ${rejectionSummary(res.rejections)}`);
    const lists = sealedChunkLists(f);
    if (lists.length !== 1 || !lists[0]!.chunks!.every((h) => hasChunk(f, h))) throw new Error('the private clone lacks chunks');
    if (check) {
      const opened = await openPrivateFile(new StreamView(f, rk), 'big.bin');
      if (!opened) throw new Error('the private clone has no big.bin');
      const [a, b] = await Promise.all([sha256(fs.createReadStream(check, { highWaterMark: 1024 * 1024 })), sha256(opened.body)]);
      if (a !== b) throw new Error('the private clone differs from the source');
    }
    return { s, rss: grow, chunks: res.chunks };
  } finally {
    await new Promise<void>((r) => f.checkpoints.whenIdle(r));
    f.close();
    for (const x of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, 'private-follower.stream' + x), { force: true });
  }
}
