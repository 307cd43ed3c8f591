// Property (issue 21): random replies, edits, deletes and reactions across three streams, each
// written on its own computer and mirrored by the other two, synced page by page in random order
// (from the writer or from another mirror), converge: every library ends with the same threads
// and reactions, and they are exactly what the writers' live records say. A deleted reply leaves
// every mirror's thread; a reaction taken back leaves every count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { Library } from '../app/node/library.js';
import { Stream } from '../app/store/store.js';
import { decodePost, POST_TYPE } from '../app/store/posts.js';
import { decodeLinks, decodeReaction, encodeLinkedPost, REACTION_TYPE, REACTIONS, replyTo, setReaction } from '../app/store/talk.js';
import { tmpDir } from './helpers.js';

if (!process.env.TMPDIR && fs.existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
const RUNS = Number(process.env.DRAYER_FC_RUNS ?? 60);
const SEED = process.env.DRAYER_FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DRAYER_FC_SEED);
console.log(`talk convergence: DRAYER_FC_SEED=${SEED}`);

const N = 3;
type Op =
  | { k: 'post'; who: number }
  | { k: 'reply'; who: number; pick: number }
  | { k: 'edit'; who: number; pick: number; unlink: boolean }
  | { k: 'delete'; who: number; pick: number }
  | { k: 'react'; who: number; pick: number; emoji: number }
  | { k: 'sync'; to: number; from: number; stream: number; pages: number; limit: number };

const who = fc.integer({ min: 0, max: N - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('post' as const), who }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('reply' as const), who, pick: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edit' as const), who, pick: fc.nat(50), unlink: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), who, pick: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('react' as const), who, pick: fc.nat(50), emoji: fc.integer({ min: -1, max: REACTIONS.length - 1 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('sync' as const),
      to: who,
      from: who,
      stream: who,
      pages: fc.integer({ min: 1, max: 3 }),
      limit: fc.integer({ min: 1, max: 6 }),
    }),
  },
);

const b64 = (s: Stream) => Buffer.from(s.publicKey).toString('base64');

/** What a library says of every thread and every post's reactions, in a comparable form. */
function talkOf(lib: Library, roots: { pk: string; key: string }[]): string[] {
  const out: string[] = [];
  for (const r of roots) {
    const t = lib.talk.thread(r.pk, r.key);
    for (const x of t.replies)
      out.push(`thread ${r.pk.slice(0, 4)}/${r.key}: ${x.stream_pk.slice(0, 4)}/${x.key} → ${x.to_pk.slice(0, 4)}/${x.to_key} ${x.body}`);
    const around = lib.talk.around([{ streamKey: r.pk, id: -1, key: r.key }]);
    for (const x of around.reactions) out.push(`react ${r.pk.slice(0, 4)}/${r.key}: ${x.stream_pk.slice(0, 4)} ${x.emoji}`);
    for (const c of around.counts) out.push(`answered ${r.pk.slice(0, 4)}/${r.key}: ${c.n}`);
  }
  return out.sort();
}

/** The same, from the writers' live records: the truth every library must reach. */
function truth(writers: Stream[], roots: { pk: string; key: string }[]): string[] {
  const out: string[] = [];
  const isRoot = (pk: string, key: string) => roots.some((r) => r.pk === pk && r.key === key);
  const answered = new Map<string, number>();
  for (const w of writers) {
    for (const r of w.list(POST_TYPE)) {
      const l = decodeLinks(r.val).reply;
      if (l && isRoot(l.stream, l.post)) answered.set(`${l.stream.slice(0, 4)}/${l.post}`, (answered.get(`${l.stream.slice(0, 4)}/${l.post}`) ?? 0) + 1);
      if (l && isRoot(l.root.stream, l.root.post))
        out.push(
          `thread ${l.root.stream.slice(0, 4)}/${l.root.post}: ${b64(w).slice(0, 4)}/${r.key} → ${l.stream.slice(0, 4)}/${l.post} ${decodePost(r.val).body}`,
        );
    }
    for (const r of w.list(REACTION_TYPE)) {
      const x = decodeReaction(r.key, r.val)!;
      if (isRoot(x.stream, x.post)) out.push(`react ${x.stream.slice(0, 4)}/${x.post}: ${b64(w).slice(0, 4)} ${x.emoji}`);
    }
  }
  for (const [k, c] of answered) out.push(`answered ${k}: ${c}`);
  return out.sort();
}

test('property: replies, edits, deletes and reactions across three streams synced in random order converge to the same threads everywhere', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
      const d = tmpDir();
      const libs: Library[] = [];
      // copies[node][stream]: node i writes stream i and mirrors the others
      const copies: Stream[][] = [];
      try {
        const writers: Stream[] = [];
        for (let i = 0; i < N; i++) {
          libs.push(Library.open(path.join(d, `n${i}`)));
          writers.push(Stream.create(path.join(d, `n${i}`, `s${i}.stream`), { name: `S${i}` }));
        }
        for (let i = 0; i < N; i++) {
          copies.push(writers.map((w, j) => (j === i ? w : Stream.create(path.join(d, `n${i}`, `s${j}.stream`), { followKey: w.publicKey }))));
          copies[i]!.forEach((s, j) => {
            libs[i]!.addStream({ publicKey: b64(s), file: `s${j}.stream`, owned: i === j });
            libs[i]!.indexStream(s);
          });
        }
        const cursors = new Map<string, number>();
        let n = 0;
        const wrote = (i: number, before: number, removed: number[]) => {
          const w = writers[i]!;
          libs[i]!.noteApplied(w, { stored: w.changesSince(before, { limit: 100_000 }).records, removed });
        };
        const pull = (to: number, from: number, s: number, pages: number, limit: number) => {
          if (to === s || to === from) return; // a writer does not pull its own stream
          const src = copies[from]![s]!;
          const dst = copies[to]![s]!;
          const ck = `${to} ${from} ${s}`;
          for (let p = 0; p < pages; p++) {
            const page = src.changesSince(cursors.get(ck) ?? 0, { limit });
            libs[to]!.noteApplied(dst, dst.apply(page.records));
            cursors.set(ck, page.seq);
            if (!page.more) break;
          }
        };
        // posts node i can see (its own and its mirrors'), to answer or react to
        const visible = (i: number) => copies[i]!.flatMap((s) => s.list(POST_TYPE, { order: 'id' }).map((r) => ({ pk: b64(s), r })));
        const roots: { pk: string; key: string }[] = [];
        for (const op of ops) {
          if (op.k === 'sync') {
            pull(op.to, op.from, op.stream, op.pages, op.limit);
            continue;
          }
          const w = writers[op.who]!;
          const before = w.lastSeq();
          if (op.k === 'post') {
            const key = `p${n++}`;
            w.put(POST_TYPE, key, encodeLinkedPost({ title: 'root', body: `root ${key}` }, {}));
            roots.push({ pk: b64(w), key });
            wrote(op.who, before, []);
          } else if (op.k === 'reply') {
            const all = visible(op.who);
            if (!all.length) continue;
            const parent = all[op.pick % all.length]!;
            const key = `r${n++}`;
            w.put(POST_TYPE, key, encodeLinkedPost({ title: '', body: `reply ${key}` }, { reply: replyTo(parent.pk, parent.r) }));
            wrote(op.who, before, []);
          } else if (op.k === 'edit') {
            const own = w.list(POST_TYPE, { order: 'id' });
            if (!own.length) continue;
            const r = own[op.pick % own.length]!;
            const links = decodeLinks(r.val);
            w.put(POST_TYPE, r.key, encodeLinkedPost({ title: '', body: `edited ${n++}` }, op.unlink ? {} : links));
            wrote(op.who, before, []);
          } else if (op.k === 'delete') {
            const own = [...w.list(POST_TYPE, { order: 'id' }), ...w.list(REACTION_TYPE, { order: 'id' })];
            if (!own.length) continue;
            const r = own[op.pick % own.length]!;
            w.delete(r.type, r.key);
            wrote(op.who, before, [r.id]);
          } else if (op.k === 'react') {
            const all = visible(op.who);
            if (!all.length) continue;
            const t = all[op.pick % all.length]!;
            const old = w.get(REACTION_TYPE, `${t.pk}/${t.r.key}`);
            setReaction(w, { stream: t.pk, post: t.r.key }, op.emoji < 0 ? null : REACTIONS[op.emoji]!);
            wrote(op.who, before, op.emoji < 0 && old ? [old.id] : []);
          }
        }
        // in the end every node pulls every stream: first from a random mirror, then from its writer
        for (let to = 0; to < N; to++)
          for (let s = 0; s < N; s++) {
            pull(to, (to + 1 + s) % N, s, 1_000, 50);
            pull(to, s, s, 1_000, 50);
          }
        const want = truth(writers, roots);
        for (let i = 0; i < N; i++) assert.deepEqual(talkOf(libs[i]!, roots), want, `node ${i}`);
        // and a library rebuilt from the stream files says the same
        libs[0]!.rebuild();
        assert.deepEqual(talkOf(libs[0]!, roots), want, 'node 0 rebuilt');
      } finally {
        for (const row of copies) for (const s of row) s.close();
        for (const l of libs) l.close();
        fs.rmSync(d, { recursive: true, force: true });
      }
    }),
    {
      numRuns: RUNS,
      seed: SEED,
      interruptAfterTimeLimit: 120_000,
      // a reaction taken back, and a reply deleted, after a mirror held them
      examples: [
        [
          [
            { k: 'post', who: 0 },
            { k: 'sync', to: 1, from: 0, stream: 0, pages: 3, limit: 6 },
            { k: 'sync', to: 2, from: 1, stream: 0, pages: 3, limit: 6 },
            { k: 'react', who: 1, pick: 0, emoji: 0 },
            { k: 'reply', who: 2, pick: 0 },
            { k: 'sync', to: 0, from: 1, stream: 1, pages: 3, limit: 6 },
            { k: 'sync', to: 0, from: 2, stream: 2, pages: 3, limit: 6 },
            { k: 'react', who: 1, pick: 0, emoji: -1 },
            { k: 'delete', who: 2, pick: 0 },
          ],
        ],
      ],
    },
  );
});
