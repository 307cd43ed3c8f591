// Unfollow a stream while its pull is under way, then follow it again (issue 17 notes): the new
// follow starts its own pull instead of joining the old one, and nothing of the old pull (its
// cursor, its "stopped" state) lands on the new copy. Real node, real LanServer, and a plain HTTP
// server that never answers, on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKey } from '../app/core/keys.js';
import { utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-refollow-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('unfollow during the follow’s pull, then follow again: the second follow brings the posts, and later posts still sync', async () => {
  const w = bench.writer('refollowed');
  for (let i = 0; i < 5; i++) w.put('post', `p${i}`, utf8(JSON.stringify({ title: `p${i}`, body: 'b' })));
  const good = await bench.lan();
  // a source that takes the request and never answers: the first follow's pull hangs on it
  const stuck = await bench.listen(() => {});
  const node = await bench.node();
  const key = formatKey(w.publicKey);
  const first = node.call('follow', { key, url: stuck.url }).then(
    () => 'answered',
    (e: Error) => `failed: ${e.message}`,
  );
  while (stuck.hits.length === 0) await sleep(20);
  await node.call('unfollow', { publicKey: key, deleteData: true });
  const second = await Promise.race([node.call('follow', { key, url: good.url }), sleep(15_000).then(() => null)]);
  assert.ok(second, 'the second follow answered (it did not wait for the first one’s pull)');
  assert.equal(second.posts, 5, 'with the posts');
  assert.match(await first, /answered|failed/);
  // nothing of the first pull stopped the new copy: a later post syncs as usual
  w.put('post', 'later', utf8(JSON.stringify({ title: 'later', body: 'b' })));
  await node.call('syncNow', { publicKey: key });
  const posts = await node.call('listPosts', { publicKey: key, limit: 10 });
  assert.ok(posts.some((p) => p.title === 'later'));
  const st = await node.call('streamDetails', { publicKey: key });
  assert.ok(st.lastSync && !st.lastSync.cancelled && !st.lastSync.error, JSON.stringify(st.lastSync));
});
