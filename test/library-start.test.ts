// A node starting on a big library (issue 17): the streams open after start, between requests,
// and what a person sees meanwhile must not be poorer for it. A stream not opened yet shows its
// about and avatar (kept in library.db beside its name); the first sync round waits for the
// opening instead of skipping the streams not opened yet (they waited a whole interval); and an
// upgrade of library.db, which can take a minute, says so. With a web UI, the opening waits until
// its first page has what it paints from (on two cores the browser needs them while it loads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { Library } from '../app/node/library.js';
import { syncRound } from '../app/node/scheduler.js';
import type { NodeState } from '../app/node/state.js';
import { LanServer } from '../app/net/server/server.js';
import { addPost } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { WebUi } from '../app/node/webui.js';
import { tmpDir } from './helpers.js';
import { DROP_LIBRARY_SINCE_2, downgradeLibrary } from './library-helpers.js';

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
).toString('base64');

const stateOf = (node: DrayerNode) => (node as unknown as { n: NodeState }).n;

test('a stream not opened yet is listed with its about and avatar, from library.db', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const opts = { dataDir, host: null, discovery: false, autoSync: false } as const;
  let node = await DrayerNode.start(opts);
  const N = 40;
  for (let i = 0; i < N; i++) {
    const s = await node.call('createStream', { name: `stream ${String(i).padStart(2, '0')}`, about: `about ${i}` });
    if (i % 2 === 0) await node.call('setAvatar', { publicKey: s.publicKey, data: PNG });
  }
  const before = await node.call('listStreams', undefined);
  await node.stop();

  node = await DrayerNode.start(opts);
  try {
    const n = stateOf(node);
    const list = await node.call('listStreams', undefined);
    const waiting = list.filter((s) => !n.streams.isOpen(s.publicKey));
    assert.ok(waiting.length > 0, 'some streams are listed before they are opened');
    for (const s of waiting) {
      const was = before.find((b) => b.publicKey === s.publicKey)!;
      assert.equal(s.about, was.about, `${s.name}: its about`);
      assert.equal(s.avatar, was.avatar, `${s.name}: its avatar`);
    }
    assert.ok(
      waiting.some((s) => s.avatar),
      'avatars among them',
    );
  } finally {
    await node.stop();
  }
});

test('the first sync round pulls the followed streams that were not opened yet when it began', async () => {
  // The followed stream, served from elsewhere.
  const w = Stream.create(path.join(tmpDir(), 'far.stream'), { name: 'zz far away' });
  addPost(w, { title: 'before', body: 'the first post' });
  const server = new LanServer({ host: '127.0.0.1', resolve: () => w, shared: () => [{ publicKey: w.publicKey, name: 'far' }] });
  const { port } = await server.listen();
  const dataDir = path.join(tmpDir(), 'data');
  const opts = { dataDir, host: null, discovery: false, autoSync: false } as const;
  let node = await DrayerNode.start(opts);
  let far = '';
  try {
    // Many streams of its own before it in the library's order: opening them all takes several slices.
    for (let i = 0; i < 60; i++) await node.call('createStream', { name: `mine ${String(i).padStart(2, '0')}` });
    far = (await node.call('follow', { key: Buffer.from(w.publicKey).toString('base64'), url: `http://127.0.0.1:${port}` })).publicKey;
    assert.deepEqual(
      (await node.call('timeline', { limit: 5 })).map((t) => t.title),
      ['before'],
    );
    await node.stop();
    addPost(w, { title: 'while it was off', body: 'a second post' });

    node = await DrayerNode.start(opts);
    const n = stateOf(node);
    assert.ok(!n.streams.isOpen(far), 'the followed stream is not opened yet as the round begins');
    await syncRound(n);
    assert.deepEqual(
      (await node.call('timeline', { limit: 5 })).map((t) => t.title),
      ['while it was off', 'before'],
    );
  } finally {
    await node.stop();
    await server.close();
    w.close();
  }
});

test('an upgrade of library.db says that it runs and how long it took; a new library says nothing', () => {
  const dir = tmpDir();
  const said: string[] = [];
  Library.open(dir, { log: (m) => said.push(m) }).close();
  assert.equal(said.length, 0, said.join(' | '));
  downgradeLibrary(dir, DROP_LIBRARY_SINCE_2, 2);
  Library.open(dir, { log: (m) => said.push(m) }).close();
  assert.equal(said.length, 2, said.join(' | '));
  assert.match(said[0]!, /Upgrading the library .*library\.db/);
  assert.match(said[1]!, /upgraded in \d+\.\d s/);
});

test('with a web UI, the streams open once its first page has what it paints from, not while it loads', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const opts = { dataDir, host: null, discovery: false, autoSync: false } as const;
  let node = await DrayerNode.start(opts);
  for (let i = 0; i < 5; i++) await node.call('createStream', { name: `stream ${i}` });
  await node.stop();

  // As `serve --ui` starts them: the node waits for the web UI's startedUp().
  let ui: WebUi | null = null;
  let uiStarted: (p: Promise<void>) => void = () => {};
  node = await DrayerNode.start({ ...opts, openStreamsAfter: new Promise<void>((resolve) => (uiStarted = (p) => void p.then(resolve))) });
  try {
    const n = stateOf(node);
    ui = new WebUi(node, {});
    const { token, port } = await ui.listen();
    uiStarted(ui.startedUp());
    let started = false;
    void ui.startedUp().then(() => (started = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(started, false, 'no page yet');
    assert.equal(n.streams.unopened().length, 5, 'no stream opened while no page has painted');
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/boot`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    await ui.startedUp();
    assert.ok(performance.now() - t0 >= 900, 'a second after the boot reply, the page has painted');
    for (let i = 0; i < 200 && n.streams.unopened().length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(n.streams.unopened().length, 0, 'then every stream opens');
  } finally {
    await ui?.close();
    await node.stop();
  }
});

test('with a web UI that no page visits, the streams open all the same, a few seconds after start', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const opts = { dataDir, host: null, discovery: false, autoSync: false } as const;
  let node = await DrayerNode.start(opts);
  for (let i = 0; i < 3; i++) await node.call('createStream', { name: `stream ${i}` });
  await node.stop();
  let ui: WebUi | null = null;
  let uiStarted: (p: Promise<void>) => void = () => {};
  node = await DrayerNode.start({ ...opts, openStreamsAfter: new Promise<void>((resolve) => (uiStarted = (p) => void p.then(resolve))) });
  try {
    const n = stateOf(node);
    ui = new WebUi(node, {});
    await ui.listen();
    uiStarted(ui.startedUp());
    assert.equal(n.streams.unopened().length, 3);
    for (let i = 0; i < 600 && n.streams.unopened().length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(n.streams.unopened().length, 0, 'opened without a page');
  } finally {
    await ui?.close();
    await node.stop();
  }
});

test('while the web UI is busy the opening of the streams gives way, a slice now and then, and goes on when it is not', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const opts = { dataDir, host: null, discovery: false, autoSync: false } as const;
  let node = await DrayerNode.start(opts);
  const count = 120;
  for (let i = 0; i < count; i++) await node.call('createStream', { name: `stream ${i}` });
  await node.stop();

  let busy = true;
  node = await DrayerNode.start({ ...opts, openStreamsAfter: Promise.resolve(), uiBusy: () => busy });
  try {
    const n = stateOf(node);
    const opened = () => count - n.streams.unopened().length;
    for (let i = 0; i < 500 && opened() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(opened() > 0, 'the first slice opens some');
    await new Promise((r) => setTimeout(r, 300));
    // A slice lasts 8 ms and, while the UI is busy, the next one waits up to 250 ms: all 120 never fit.
    assert.ok(opened() < count, `the opening gave way while the UI was busy (${opened()} of ${count} open)`);
    busy = false;
    for (let i = 0; i < 500 && opened() < count; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(opened(), count, 'then every stream opens');
  } finally {
    await node.stop();
  }

  // The web UI is busy while it answers and a little after (a search typed asks again within that).
  node = await DrayerNode.start(opts);
  const ui = new WebUi(node, {});
  try {
    const { token, port } = await ui.listen();
    assert.equal(ui.busy(), false, 'no call yet');
    const res = await fetch(`http://127.0.0.1:${port}/api/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200);
    assert.equal(ui.busy(), true, 'just answered');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(ui.busy(), false, 'quiet again');
  } finally {
    await ui.close();
    await node.stop();
  }
});
