// Home's timeline store under live arrivals, edits, moves and deletes in random orders (issue 13
// item 2: an old post on top, one post shown three times). The store runs as the renderer runs it
// (loaded through Vite), against a model of the node's timeline behind a fake transport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

const RUNS = Number(process.env.DRAYER_FC_RUNS ?? 150);
const SEED = process.env.DRAYER_FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DRAYER_FC_SEED);
console.log(`ui-timeline-store tests: DRAYER_FC_SEED=${SEED}`);

interface Item {
  streamKey: string;
  streamName: string;
  key: string;
  id: number;
  ts: number;
  mod: number;
  title: string;
  body: string;
}

type Op =
  | { k: 'arrive'; stream: number; age: number }
  | { k: 'localPost' }
  | { k: 'remoteEdit'; pick: number }
  | { k: 'remoteMove'; pick: number }
  | { k: 'remoteDelete'; pick: number }
  | { k: 'dupRow'; pick: number }
  | { k: 'refresh'; local: boolean }
  | { k: 'burst' }
  | { k: 'edit'; pick: number }
  | { k: 'remove'; pick: number }
  | { k: 'pill' }
  | { k: 'scroll'; atTop: boolean }
  | { k: 'more' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('arrive' as const), stream: fc.integer({ min: 0, max: 2 }), age: fc.integer({ min: 0, max: 3600 }) }) },
  { weight: 2, arbitrary: fc.constant<Op>({ k: 'localPost' }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('remoteEdit' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('remoteMove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('remoteDelete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dupRow' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('refresh' as const), local: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'burst' }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edit' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant<Op>({ k: 'pill' }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('scroll' as const), atTop: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'more' }) },
);

test('property: Home shows each post once, newest first, whatever the order of arrivals, edits, moves and deletes', async () => {
  const { setTransport } = await load('api/index.ts');
  const { useTimeline, postId, compareItems, PAGE } = await load('stores/timeline.ts');
  const t = () => useTimeline.getState();
  const NOW = 1_800_000_000_000_000;
  const SEC = 1_000_000;

  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 80 }), async (ops, start) => {
      // the node: live posts by stream/key; `extra` rows are a stale second row of a post (the library bug of item 1)
      const live = new Map<string, Item>();
      const extra: Item[] = [];
      const ids = new Map<string, number>();
      let clock = NOW;
      let n = 0;
      const nextId = (s: string) => {
        const v = (ids.get(s) ?? 0) + 1;
        ids.set(s, v);
        return v;
      };
      const make = (s: string, ts: number): Item => {
        const key = `k${n++}`;
        return { streamKey: s, streamName: s, key, id: nextId(s), ts, mod: (clock += 1000), title: `post ${key}`, body: '' };
      };
      const put = (p: Item) => live.set(`${p.streamKey}/${p.key}`, p);
      const rows = () => [...live.values(), ...extra].sort(compareItems);
      const pickLive = (i: number) => {
        const all = [...live.values()];
        return all.length ? all[i % all.length] : undefined;
      };
      for (let i = 0; i < start; i++) put(make(['A', 'B', 'C'][i % 3]!, NOW - (start - i) * 60 * SEC));
      setTransport({
        async call(
          method: string,
          arg: { limit?: number; before?: { ts: number; streamKey: string; id: number }; publicKey?: string; key?: string; title?: string; body?: string },
        ) {
          await Promise.resolve();
          if (method === 'timeline') {
            const b = arg.before;
            const all = rows().filter((p) => !b || compareItems(p, { ...p, ts: b.ts, streamKey: b.streamKey, id: b.id }) > 0);
            return all.slice(0, arg.limit ?? PAGE);
          }
          const k = `${arg.publicKey}/${arg.key}`;
          if (method === 'editPost') {
            const p = live.get(k);
            if (!p) throw new Error('no such post');
            const v = { ...p, title: arg.title!, body: arg.body!, mod: (clock += 1000) };
            put(v);
            const { streamKey: _s, streamName: _n, ...view } = v;
            return view;
          }
          if (method === 'deletePost') return live.delete(k);
          if (method === 'post') {
            const p = make('ME', (clock += SEC));
            put(p);
            return p;
          }
          throw new Error(`unexpected ${method}`);
        },
        subscribe: () => () => {},
        onConnection: () => () => {},
      });
      useTimeline.setState({ posts: {}, ids: [], pending: [], status: 'idle', arrived: [], atTop: false, hasMore: false });
      await t().loadInitial();
      const check = (after: string) => {
        const { ids: shown, pending, posts } = t();
        const all = [...shown, ...pending];
        assert.equal(new Set(all).size, all.length, `${after}: each post once (shown ${shown.join(' ')} | pending ${pending.join(' ')})`);
        for (const id of all) assert.ok(posts[id], `${after}: ${id} is held`);
        for (const list of [shown, pending]) {
          for (let i = 1; i < list.length; i++)
            assert.ok(compareItems(posts[list[i - 1]!], posts[list[i]!]) < 0, `${after}: newest first (${list[i - 1]} before ${list[i]})`);
        }
        if (t().atTop) assert.deepEqual(pending, [], `${after}: at the top nothing waits behind the pill`);
      };
      for (const op of ops) {
        switch (op.k) {
          case 'arrive':
            put(make(['A', 'B', 'C'][op.stream]!, (clock += SEC) - op.age * SEC));
            break;
          case 'localPost':
            await t().post('ME', 't', 'b');
            break;
          case 'remoteEdit': {
            const p = pickLive(op.pick);
            if (p) put({ ...p, title: `${p.title}+`, mod: (clock += 1000) });
            break;
          }
          case 'remoteMove': {
            // a re-issue (DESIGN §3): same post, new id and mod
            const p = pickLive(op.pick);
            if (p) put({ ...p, id: nextId(p.streamKey), mod: (clock += 1000) });
            break;
          }
          case 'remoteDelete': {
            const p = pickLive(op.pick);
            if (p) live.delete(`${p.streamKey}/${p.key}`);
            break;
          }
          case 'dupRow': {
            const p = pickLive(op.pick);
            if (p) extra.push({ ...p, id: p.id + 1000, mod: p.mod - 1 });
            break;
          }
          case 'refresh':
            await t().refreshHead(op.local);
            break;
          case 'burst': // events arriving while a refresh is under way
            await Promise.all([t().refreshHead(false), t().refreshHead(false), t().refreshHead(true)]);
            break;
          case 'edit': {
            const id = t().ids[op.pick % Math.max(1, t().ids.length)];
            if (id && live.has(id)) await t().edit(t().posts[id], 'edited', 'body');
            break;
          }
          case 'remove': {
            const id = t().ids[op.pick % Math.max(1, t().ids.length)];
            if (id) await t().remove(t().posts[id]);
            break;
          }
          case 'pill':
            t().showPending();
            break;
          case 'scroll':
            t().setAtTop(op.atTop);
            assert.equal(t().atTop, op.atTop, 'the store knows where the reader is');
            break;
          case 'more':
            useTimeline.setState({ hasMore: true });
            await t().loadMore();
            break;
        }
        check(`after ${op.k}`);
      }
      // A refresh of your own write shows the node's first page exactly: one card per post, newest first.
      extra.length = 0;
      const limit = Math.max(PAGE, Math.min(200, t().ids.length + t().pending.length)); // what the store asks for
      await t().refreshHead(true);
      check('final');
      const page = rows().slice(0, limit);
      assert.deepEqual(t().ids.slice(0, page.length), page.map(postId), "the list starts with the node's newest posts, in order");
      for (const p of page) assert.deepEqual(t().posts[postId(p)], p, 'each card shows the latest version');
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true, interruptAfterTimeLimit: 120_000 },
  );
});

test('timeline merge: a page listing one post twice (two rows of one key) yields one card, the later version', async () => {
  const { mergeHead, postId } = await load('stores/timeline.ts');
  const a = { streamKey: 'A', streamName: 'A', key: 'k', id: 4, ts: 100, mod: 10, title: 'old', body: '' };
  const a2 = { ...a, id: 6, mod: 20, title: 'new' };
  const b = { ...a, key: 'j', id: 5, ts: 90 };
  const d = mergeHead({ posts: {}, ids: [], pending: [] }, [a, a2, b], 40, true);
  assert.deepEqual(d.ids, [postId(a), postId(b)]);
  assert.equal(d.posts[postId(a)].title, 'new');
});
