// The library's timeline and search index follow the stream files exactly (issue 13 item 1):
// one row per live post, through every edit, delete, tip move/re-issue (DESIGN §3), patch,
// file write and re-sync, for the writer's library and a follower's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { DrayerNode } from '../app/node/node.js';
import { Library } from '../app/node/library.js';
import { Stream } from '../app/store/store.js';
import type { DrayerRecord } from '../app/core/record.js';
import { addPost, decodePost, editPost, encodePost, POST_TYPE } from '../app/store/posts.js';
import { addBytes, deleteFile, FILE_TYPE } from '../app/store/files.js';
import { tmpDir } from './helpers.js';

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
).toString('base64');

async function startNode(name: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: path.join(tmpDir(), name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

function dupKeys(items: { streamKey: string; key: string }[]): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const t of items) {
    const k = `${t.streamKey}/${t.key}`;
    if (seen.has(k)) dups.push(k);
    seen.add(k);
  }
  return dups;
}

test('the journey of issue 13: avatar, post with a picture, edit, post, delete that one: each post once in timeline and search', async () => {
  const n = await startNode('journey');
  try {
    const s = await n.call('createStream', { name: 'Ada' });
    await n.call('setAvatar', { publicKey: s.publicKey, data: PNG });
    await n.call('putFile', { publicKey: s.publicKey, path: 'media/cat.png', data: PNG, mime: 'image/png' });
    const a = await n.call('post', { publicKey: s.publicKey, title: 'Cat', body: 'Look at my cat\n\n![cat](media/cat.png)' });
    await n.call('editPost', { publicKey: s.publicKey, key: a.key, title: 'Cat', body: 'Look at my lovely cat\n\n![cat](media/cat.png)' });
    const b = await n.call('post', { publicKey: s.publicKey, title: 'Second', body: 'Another cat' });
    assert.equal(await n.call('deletePost', { publicKey: s.publicKey, key: b.key }), true);
    const tl = await n.call('timeline', {});
    assert.deepEqual(dupKeys(tl), [], `timeline: ${JSON.stringify(tl.map((t) => [t.key, t.id]))}`);
    assert.deepEqual(
      tl.map((t) => t.key),
      [a.key],
    );
    const found = await n.call('search', { query: 'cat' });
    assert.deepEqual(
      found.map((t) => t.key),
      [a.key],
      `search: ${JSON.stringify(found.map((t) => [t.key, t.id]))}`,
    );
    assert.match(found[0]!.body, /lovely/);
  } finally {
    await n.stop();
  }
});

// ---------- the property: the index is the stream's live posts, always ----------

if (!process.env.TMPDIR && fs.existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm'; // many small SQLite files

const RUNS = Number(process.env.DRAYER_FC_RUNS ?? 60);
const SEED = process.env.DRAYER_FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DRAYER_FC_SEED);
console.log(`library-index tests: DRAYER_FC_SEED=${SEED}`);

const b64 = (s: Stream): string => Buffer.from(s.publicKey).toString('base64');

type Op =
  | { k: 'post' }
  | { k: 'edit'; pick: number }
  | { k: 'delete'; pick: number; tip: boolean }
  | { k: 'file'; size: number }
  | { k: 'deleteFile'; pick: number; tip: boolean }
  | { k: 'batch'; deletes: number; puts: number }
  | { k: 'sync'; pages: number; limit: number }
  | { k: 'resync' }
  | { k: 'replay'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Op>({ k: 'post' }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('edit' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('delete' as const), pick: fc.nat(), tip: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('file' as const), size: fc.integer({ min: 1, max: 2000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('deleteFile' as const), pick: fc.nat(), tip: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('batch' as const), deletes: fc.integer({ min: 0, max: 3 }), puts: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('sync' as const), pages: fc.integer({ min: 1, max: 4 }), limit: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'resync' }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('replay' as const), pick: fc.nat() }) },
);

/** The stream's live posts as the timeline must show them (bodies here stay under the excerpt length). */
function livePosts(s: Stream): string[] {
  return [...s.iterate()]
    .filter((r) => r.type === POST_TYPE)
    .map((r) => {
      const p = decodePost(r.val);
      return JSON.stringify([r.key, r.id, r.ts, r.mod, p.title, p.body]);
    })
    .sort();
}

/** Timeline rows and search results of one stream must be its live posts, one each, nothing else. */
function checkIndex(lib: Library, s: Stream, tokens: Map<string, string>, who: string): void {
  const pk = b64(s);
  const want = livePosts(s);
  const rows = lib.timeline({ limit: 1000, streams: [pk] });
  const got = rows.map((t) => JSON.stringify([t.key, t.id, t.ts, t.mod, t.title, t.body])).sort();
  assert.deepEqual(got, want, `${who}: timeline rows`);
  assert.equal(new Set(rows.map((t) => t.key)).size, rows.length, `${who}: one row per post key`);
  const liveKeys = [...s.iterate()]
    .filter((r) => r.type === POST_TYPE)
    .map((r) => `${r.key}#${r.id}`)
    .sort();
  assert.deepEqual(
    lib
      .search('common', { limit: 1000, streams: [pk] })
      .map((t) => `${t.key}#${t.id}`)
      .sort(),
    liveKeys,
    `${who}: search of a word in every post`,
  );
  // Every version's own word: found once while that version is live, never after.
  const liveBodies = new Map([...s.iterate()].filter((r) => r.type === POST_TYPE).map((r) => [r.key, decodePost(r.val).body]));
  for (const [token, key] of tokens) {
    const hits = lib.search(token, { streams: [pk] }).map((t) => t.key);
    const live = liveBodies.get(key)?.includes(token) ?? false;
    assert.deepEqual(hits, live ? [key] : [], `${who}: search "${token}" (${live ? 'live' : 'gone'})`);
  }
}

test('property: the timeline and search of the writer and a follower follow every edit, delete, move, patch, file and re-sync', async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.boolean(), async (ops, sloppy) => {
      runs++;
      const d = tmpDir();
      const wlib = Library.open(path.join(d, 'w'));
      const flib = Library.open(path.join(d, 'f'));
      const w = Stream.create(path.join(wlib.dataDir, 'w.stream'), { name: 'Writer' });
      wlib.addStream({ publicKey: b64(w), file: 'w.stream', owned: true, name: 'Writer' });
      const f = Stream.create(path.join(flib.dataDir, 'w.stream'), { followKey: w.publicKey });
      flib.addStream({ publicKey: b64(f), file: 'w.stream', owned: false });
      wlib.indexStream(w);
      flib.indexStream(f);
      const tokens = new Map<string, string>(); // word → post key
      const history: DrayerRecord[] = []; // everything the writer ever signed, for stale replays
      let n = 0;
      let cursor = 0;
      const body = (key: string) => {
        const token = `w${n++}x${SEED % 997}`;
        tokens.set(token, key);
        return `common ${token}`;
      };
      // As node.ts does after a local write: the feed since `before`, and the ids it knows it removed.
      // `sloppy` callers pass nothing at all: the index must not depend on being told.
      const wrote = (before: number, removed: number[]) => {
        const stored = w.changesSince(before, { limit: 10_000 }).records;
        history.push(...stored);
        wlib.noteApplied(w, sloppy ? { stored: [], removed: [] } : { stored, removed });
      };
      const pull = (pages: number, limit: number) => {
        for (let i = 0; i < pages; i++) {
          const page = w.changesSince(cursor, { limit });
          flib.noteApplied(f, f.apply(page.records));
          cursor = page.seq;
          if (!page.more) break;
        }
      };
      const posts = () => w.list(POST_TYPE, { order: 'id' });
      const files = () => w.list(FILE_TYPE, { order: 'id' });
      const pick = <T>(xs: T[], i: number, tip: boolean): T | undefined => (xs.length ? (tip ? xs[xs.length - 1] : xs[i % xs.length]) : undefined);
      try {
        for (const op of ops) {
          const before = w.lastSeq();
          switch (op.k) {
            case 'post': {
              const key = `k${n}`;
              addPost(w, { title: `T${n}`, body: body(key) }, { key });
              wrote(before, []);
              break;
            }
            case 'edit': {
              const p = pick(posts(), op.pick, false);
              if (!p) break;
              editPost(w, p.key, { title: `T${n} edited`, body: body(p.key) });
              wrote(before, []);
              break;
            }
            case 'delete': {
              const p = pick(posts(), op.pick, op.tip);
              if (!p) break;
              w.delete(POST_TYPE, p.key);
              wrote(before, [p.id]);
              break;
            }
            case 'file':
              await addBytes(w, `media/f${n++}.png`, new Uint8Array(op.size).fill(n % 251), { mime: 'image/png' });
              wrote(before, []);
              break;
            case 'deleteFile': {
              const x = pick(files(), op.pick, op.tip);
              if (!x) break;
              deleteFile(w, x.key);
              wrote(before, []);
              break;
            }
            case 'batch': {
              const live = posts();
              w.batch((b) => {
                for (let i = 0; i < op.deletes && i < live.length; i++) b.delete(POST_TYPE, live[live.length - 1 - i]!.key);
                for (let i = 0; i < op.puts; i++) {
                  const key = `k${n}`;
                  b.put(POST_TYPE, key, encodePost({ title: `B${n}`, body: body(key) }));
                }
              });
              wrote(before, []);
              break;
            }
            case 'sync':
              pull(op.pages, op.limit);
              checkIndex(flib, f, tokens, 'follower');
              break;
            case 'resync': // a new source, or a replaced peer database: everything again from 0
              cursor = 0;
              pull(3, 5);
              checkIndex(flib, f, tokens, 'follower after a re-sync');
              break;
            case 'replay': // an old version from a stale mirror
              if (history.length) {
                flib.noteApplied(f, f.apply([history[op.pick % history.length]!]));
                checkIndex(flib, f, tokens, 'follower after a stale record');
              }
              break;
          }
          checkIndex(wlib, w, tokens, `writer after ${op.k}`);
        }
        pull(10_000, 50);
        checkIndex(flib, f, tokens, 'follower drained');
        assert.deepEqual(livePosts(f), livePosts(w), "the follower holds the writer's posts");
      } finally {
        w.close();
        f.close();
        wlib.close();
        flib.close();
      }
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true, interruptAfterTimeLimit: 120_000 },
  );
  assert.ok(runs > 0);
});
