// 100k posts appended one at a time (Stream.put: each its own committed transaction), against
// the raw Ed25519 sign rates (node:crypto, the baseline, and libsodium) measured in the same run.
import * as path from 'node:path';
import { cryptoBackend } from '../app/core/crypto.js';
import { Stream } from '../app/store/store.js';
import { bracketed, cpuMicrosEach, machine, perSecond, postValue, ratio, rawSignRate, removeDir, seconds, tempDir } from './common.js';

export async function run(): Promise<Record<string, unknown>> {
  const posts = Number(process.env.BENCH_POSTS ?? 100_000);
  const dir = tempDir();
  try {
    const s = Stream.create(path.join(dir, 'append.stream'), { name: 'append bench' });
    const values = Array.from({ length: 1024 }, (_, i) => postValue(i));
    const {
      ms,
      raw: rawSign,
      cpuMs,
    } = await bracketed(rawSignRate, 2000, () => {
      for (let i = 0; i < posts; i++) s.put('post', `p${String(i).padStart(7, '0')}`, values[i & 1023]!);
    });
    if (s.count('post') !== posts) throw new Error(`expected ${posts} posts, found ${s.count('post')}`);
    s.close();
    const postsPerS = perSecond(posts, ms);
    const rawSodium = rawSignRate(1000, 'sodium');
    return {
      bench: 'append',
      posts,
      posts_per_s: postsPerS,
      raw_sign_per_s: rawSign,
      ratio_to_raw_sign: ratio(postsPerS, rawSign),
      raw_sodium_sign_per_s: rawSodium,
      ratio_to_raw_sodium_sign: ratio(postsPerS, rawSodium),
      signer: cryptoBackend(),
      cpu_us_per_post: cpuMicrosEach(cpuMs, posts),
      raw_cpu_us_per_sign: Math.round(1e7 / rawSign) / 10,
      seconds: seconds(ms),
      ...machine(),
    };
  } finally {
    removeDir(dir);
  }
}
