// Unit tests of the renderer's logic (stores, routes, markdown, snippets, avatars), loaded from
// the TypeScript source through Vite's module loader, the same transform the bundle gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

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
const item = (streamKey: string, id: number, ts: number, title = `p${id}`): Item => ({
  streamKey,
  streamName: streamKey,
  key: `k${id}`,
  id,
  ts,
  mod: ts,
  title,
  body: '',
});

test('timeline merge: your own new posts show at once, others wait behind the pill', async () => {
  const { mergeHead, postId } = await load('stores/timeline.ts');
  const a1 = item('A', 1, 100);
  const b1 = item('B', 1, 90);
  let d = mergeHead({ posts: {}, ids: [], pending: [] }, [a1, b1], 40, true);
  assert.deepEqual(d.ids, [postId(a1), postId(b1)]);
  // a remote post arrives: held in pending, the shown list does not move
  const b2 = item('B', 2, 110);
  d = mergeHead(d, [b2, a1, b1], 40, false);
  assert.deepEqual(d.ids, [postId(a1), postId(b1)]);
  assert.deepEqual(d.pending, [postId(b2)]);
  // a local write shows everything, pending included, in the node's order
  const a2 = item('A', 2, 120);
  d = mergeHead(d, [a2, b2, a1, b1], 40, true);
  assert.deepEqual(d.ids, [postId(a2), postId(b2), postId(a1), postId(b1)]);
  assert.deepEqual(d.pending, []);
});

test('timeline refresh: posts from elsewhere are `arrived` (what notifications announce), in an empty timeline too; your writes are not', async () => {
  const { setTransport } = await load('api/index.ts');
  const { useTimeline, postId } = await load('stores/timeline.ts');
  let head: Item[] = [];
  setTransport({
    async call(method: string) {
      if (method === 'timeline') return head;
      throw new Error(`unexpected ${method}`);
    },
    subscribe: () => () => {},
    onConnection: () => () => {},
  });
  const t = () => useTimeline.getState();
  // before the first load, a refresh announces nothing (all of it would look new)
  head = [item('B', 1, 90)];
  await t().refreshHead(false);
  assert.deepEqual(t().arrived, []);
  head = [];
  await t().loadInitial();
  assert.deepEqual(t().ids, []);
  // an empty timeline shows a followed stream's first post at once, and it is news
  const b1 = item('B', 1, 90);
  head = [b1];
  await t().refreshHead(false);
  assert.deepEqual(t().ids, [postId(b1)]);
  assert.deepEqual(t().arrived, [postId(b1)]);
  // your own write: shown, not news (the same list as before)
  const before = t().arrived;
  const a1 = item('A', 1, 100);
  head = [a1, b1];
  await t().refreshHead(true);
  assert.equal(t().arrived, before);
  // a later one waits behind the pill and is news
  const b2 = item('B', 2, 110);
  head = [b2, a1, b1];
  await t().refreshHead(false);
  assert.deepEqual(t().pending, [postId(b2)]);
  assert.deepEqual(t().arrived, [postId(b2)]);
  // a refresh with nothing new leaves it alone
  const last = t().arrived;
  await t().refreshHead(false);
  assert.equal(t().arrived, last);
});

test('timeline merge: edits update in place, deletions inside the page leave, older pages stay', async () => {
  const { mergeHead, postId } = await load('stores/timeline.ts');
  const posts = [item('A', 4, 400), item('A', 3, 300), item('A', 2, 200), item('A', 1, 100)];
  let d = mergeHead({ posts: {}, ids: [], pending: [] }, posts, 40, true);
  // the first page (limit 2) holds 4 and 3; 3 was edited, so the page says so
  const edited = { ...posts[1]!, title: 'edited', mod: 350 };
  d = mergeHead(d, [posts[0]!, edited], 2, false);
  assert.equal(d.posts[postId(edited)].title, 'edited');
  assert.equal(d.ids.length, 4, 'posts older than a full page are not taken as deleted');
  // 4 is deleted: a page of limit 2 now holds 3 and 2
  d = mergeHead(d, [edited, posts[2]!], 2, false);
  assert.deepEqual(d.ids, [postId(edited), postId(posts[2]!), postId(posts[3]!)]);
  assert.equal(d.posts[postId(posts[0]!)], undefined);
  // a page that is not full holds everything: what it lacks is gone
  d = mergeHead(d, [edited], 40, false);
  assert.deepEqual(d.ids, [postId(edited)]);
});

test('timeline order ties break by stream key, then id, as the node orders them', async () => {
  const { compareItems } = await load('stores/timeline.ts');
  const list = [item('A', 1, 5), item('B', 1, 5), item('B', 2, 5), item('A', 9, 6)];
  list.sort(compareItems);
  assert.deepEqual(
    list.map((x) => `${x.streamKey}${x.id}`),
    ['A9', 'B2', 'B1', 'A1'],
  );
});

test('routes round-trip through the URL hash, keys with / + = included', async () => {
  const { parseHash, hashOf } = await load('stores/ui.ts');
  for (const r of [
    { name: 'home' },
    { name: 'stream', publicKey: 'ab/c+d=' },
    { name: 'search', query: 'två ord' },
    { name: 'settings' },
    { name: 'nearby' },
  ]) {
    assert.deepEqual(parseHash(hashOf(r)), r);
  }
  assert.deepEqual(parseHash('#/nonsense'), { name: 'home' });
  assert.deepEqual(parseHash(''), { name: 'home' });
});

test('markdown renders to elements without raw HTML, unsafe links or images from elsewhere', async () => {
  const { Markdown, safeHref } = await load('lib/markdown.tsx');
  const { createElement } = await import('react');
  const { renderToStaticMarkup } = await import('react-dom/server');
  const html: string = renderToStaticMarkup(
    createElement(Markdown, {
      source:
        '# Hi\n\n**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n[a](javascript:alert(1)) [b](https://ok.example/) ![pic](http://tracker.example/p.png)\n\n- [x] done',
    }),
  );
  assert.ok(!/<script|<img|onerror=|javascript:/i.test(html.replace(/&lt;[^&]*&gt;/g, '')), html);
  assert.match(html, /<strong>bold<\/strong>/);
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /<a href="https:\/\/ok.example\/" target="_blank" rel="noopener noreferrer nofollow">b<\/a>/);
  assert.match(html, /\[pic\]/);
  assert.match(html, /<h3 class="md-heading" dir="auto">Hi<\/h3>/);
  assert.equal(safeHref(' JavaScript:alert(1)'), null);
  assert.equal(safeHref('drayer:abc'), 'drayer:abc');
});

test('search snippets lose markdown syntax and the repeated title', async () => {
  const { cleanSnippet } = await load('screens/Search.tsx');
  assert.equal(cleanSnippet('Title — The *engine* has a **store** and [notes](https://x.example/)', 'Title'), 'The engine has a store and notes');
  assert.equal(cleanSnippet('…see 1. first - second', ''), '…see first second');
});

test('generated avatars: stable colour per key, initials from the name', async () => {
  const { avatarColor, initials } = await load('lib/avatar.ts');
  assert.equal(avatarColor('key-one'), avatarColor('key-one'));
  const colours = new Set(Array.from({ length: 50 }, (_, i) => avatarColor(`key-${i}`)));
  assert.ok(colours.size >= 8, 'keys spread over the palette');
  assert.equal(initials('Ada Lovelace'), 'AL');
  assert.equal(initials('  bo  '), 'B');
  assert.equal(initials('Émile Zola Jr'), 'ÉJ');
  assert.equal(initials(''), '?');
});

test('an error from the Electron preload (plain data across contextBridge) becomes an ApiError with its code', async () => {
  const { fromPreload } = await load('api/index.ts');
  const { ApiError } = await load('api/transport.ts');
  const { codeOf } = await load('stores/errors.ts');
  const t = fromPreload({
    call: async (method: string) => {
      if (method === 'status') return { ok: 1 };
      throw { name: 'ApiError', code: 'DISK_FULL', message: 'The disk is full, so nothing was saved.' };
    },
    subscribe: () => () => {},
    onConnection: () => () => {},
  });
  assert.deepEqual(await t.call('status', undefined), { ok: 1 });
  const e = await t.call('post', { publicKey: 'k', title: '', body: 'x' }).catch((x: unknown) => x);
  assert.ok(e instanceof ApiError);
  assert.equal(codeOf(e), 'DISK_FULL');
  assert.equal(e.message, 'The disk is full, so nothing was saved.');
});

test('settings: a change from elsewhere (the tray) that arrives while a save is answered is not undone by the older answer', async () => {
  const { setTransport } = await load('api/index.ts');
  const { useSettings } = await load('stores/settings.ts');
  const base = { name: 'n', discovery: true, serveFollowed: true, syncIntervalS: 60, notifications: false, syncMode: 'normal' };
  let answer!: () => void;
  setTransport({
    async call(method: string, arg: Record<string, unknown>) {
      if (method === 'setSettings') {
        await new Promise<void>((r) => (answer = r)); // the answer is held back
        return { ...base, ...arg };
      }
      if (method === 'status') return {};
      throw new Error(`unexpected ${method}`);
    },
    subscribe: () => () => {},
    onConnection: () => () => {},
  });
  const saving = useSettings.getState().update({ syncMode: 'lan' });
  await new Promise((r) => setTimeout(r, 0));
  useSettings.getState().applied({ ...base, syncMode: 'paused' }); // the tray pauses; its event comes first
  answer();
  await saving;
  assert.equal(useSettings.getState().node.syncMode, 'paused');
  // with nothing from elsewhere, a save's answer is what shows
  const again = useSettings.getState().update({ syncMode: 'normal' });
  await new Promise((r) => setTimeout(r, 0));
  answer();
  await again;
  assert.equal(useSettings.getState().node.syncMode, 'normal');
});

test('search asks one query at a time: those typed while one is answered wait, and only the newest of them is asked', async () => {
  const { setTransport } = await load('api/index.ts');
  const { useSearch } = await load('stores/search.ts');
  const asked: string[] = [];
  const answer: ((ok: boolean) => void)[] = [];
  setTransport({
    call(method: string, arg: { query: string }) {
      if (method !== 'search') throw new Error(`unexpected ${method}`);
      asked.push(arg.query);
      return new Promise((resolve, reject) =>
        answer.push((ok) => (ok ? resolve([{ ...item('A', asked.length, 1, arg.query), snippet: arg.query }]) : reject(new Error('the node stopped')))),
      );
    },
    subscribe: () => () => {},
    onConnection: () => () => {},
  });
  const s = () => useSearch.getState();
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const first = s().run('g');
  const superseded = s().run('ga');
  const newest = s().run('gar');
  await tick();
  assert.deepEqual(asked, ['g'], 'nothing more is asked while the first is answered');
  answer.shift()!(true);
  await first;
  await superseded;
  await tick();
  assert.deepEqual(asked, ['g', 'gar'], '"ga", replaced while it waited, is never asked');
  assert.equal(s().busy, true, 'the older answer is not shown');
  answer.shift()!(true);
  await newest;
  assert.deepEqual([s().query, s().results.map((r: Item) => r.title), s().busy], ['gar', ['gar'], false]);
  // a failed answer lets the next query go, and says what happened
  const failing = s().run('garden');
  const after = s().run('garde');
  await tick();
  answer.shift()!(false);
  await failing;
  await tick();
  assert.deepEqual(asked, ['g', 'gar', 'garden', 'garde']);
  answer.shift()!(true);
  await after;
  assert.deepEqual([s().query, s().error], ['garde', null]);
});
