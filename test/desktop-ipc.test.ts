// The desktop app's IPC (main/ipc.ts, main/preload.ts, main/shutdown.ts) against a real Node in a
// temporary directory: calls cross as envelopes, only the app's own top frame is answered, events
// reach subscribed pages, and a shutdown waits for calls under way before the node stops.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { DrayerEvent, StreamSummary } from '../app/node/api.js';
import { METHODS } from '../app/node/api.js';
import { SAMPLES } from './api-samples.js';
import { DrayerNode } from '../app/node/node.js';
import { APP_URL, CHANNELS, IpcRouter, isAppFrame, type EventSink } from '../main/ipc.js';
import { Shutdown } from '../main/shutdown.js';
import { tmpDir } from './helpers.js';

let node: DrayerNode;
before(async () => {
  node = await DrayerNode.start({ dataDir: tmpDir(), host: null, autoSync: false, discovery: false });
});
after(async () => node.stop());

const app = { url: `${APP_URL}index.html#/`, top: true };

function sink(id: number): EventSink & { got: unknown[][]; destroyed: boolean } {
  const s = { id, got: [] as unknown[][], destroyed: false, send: (...a: unknown[]) => void s.got.push(a), isDestroyed: () => s.destroyed };
  return s;
}

test('only the app page in the top frame is trusted', () => {
  assert.equal(isAppFrame(app), true);
  assert.equal(isAppFrame({ url: 'app://drayer/', top: true }), true);
  for (const f of [
    { url: 'app://drayer/index.html', top: false }, // an iframe inside the app
    { url: 'app://evil/index.html', top: true },
    { url: 'app://drayer.evil/', top: true },
    { url: 'app://user@drayer/', top: true },
    { url: 'http://127.0.0.1:8080/', top: true },
    { url: 'https://drayer/', top: true },
    { url: 'file:///index.html', top: true },
    { url: 'about:blank', top: true },
    { url: 'not a url', top: true },
  ])
    assert.equal(isAppFrame(f), false, f.url);
  assert.equal(isAppFrame(null), false);
  assert.equal(isAppFrame(undefined), false);
});

test('a call from the app crosses as an envelope with the value; engine errors as data with their code', async () => {
  const router = new IpcRouter(node);
  const made = await router.call(app, 'createStream', { name: 'Desk' });
  assert.equal(made.ok, true);
  const pk = (made as { value: StreamSummary }).value.publicKey;
  const list = await router.call(app, 'listStreams', undefined);
  assert.ok(list.ok && (list.value as StreamSummary[]).some((s) => s.publicKey === pk));
  const bad = await router.call(app, 'streamDetails', { publicKey: 'not a key' });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'INVALID_ARGUMENT');
  const empty = await router.call(app, 'createStream', { name: '' });
  assert.equal(!empty.ok && empty.error.code, 'INVALID_ARGUMENT');
});

test('every DrayerApi method is routed; unknown methods and odd method values are refused before the engine', async () => {
  let called = 0;
  const router = new IpcRouter({ callEnvelope: async (m) => (called++, { ok: true, value: m }), subscribe: () => () => {} });
  for (const m of METHODS) assert.deepEqual(await router.call(app, m, SAMPLES[m] ?? {}), { ok: true, value: m });
  const n = called;
  for (const m of ['constructor', '__proto__', 'stop', 'callEnvelope', 'toString', '', 42, null, { method: 'status' }]) {
    const r = await router.call(app, m, {});
    assert.equal(!r.ok && r.error.code, 'UNKNOWN_METHOD', String(m));
  }
  assert.equal(called, n, 'the engine never saw them');
});

test('calls and subscriptions from anything but the app page are refused, and the engine never sees them', async () => {
  let called = 0;
  let subscribed = 0;
  const router = new IpcRouter({ callEnvelope: async () => (called++, { ok: true, value: 1 }), subscribe: () => (subscribed++, () => {}) });
  const frame = { url: 'https://example.com/', top: true };
  const r = await router.call(frame, 'listStreams', undefined);
  assert.equal(!r.ok && r.error.code, 'UNAUTHORIZED');
  assert.equal(await router.call({ url: 'app://drayer/', top: false }, 'status', undefined).then((x) => x.ok), false);
  assert.equal(router.subscribe(frame, sink(1)), false);
  assert.equal(router.subscribe(null, sink(2)), false);
  assert.equal(called, 0);
  assert.equal(subscribed, 0);
});

test('an engine that throws still answers an envelope', async () => {
  const router = new IpcRouter({
    callEnvelope: async () => {
      throw new Error('boom');
    },
    subscribe: () => () => {},
  });
  const r = await router.call(app, 'status', undefined);
  assert.equal(!r.ok && r.error.code, 'INTERNAL');
  assert.match(!r.ok ? r.error.message : '', /boom/);
});

test('events reach a subscribed page on drayer:event until it is gone; commands go the same way', async () => {
  const router = new IpcRouter(node);
  const page = sink(7);
  assert.equal(router.subscribe(app, page), true);
  assert.equal(router.subscribe(app, page), true, 'subscribing twice is one subscription');
  assert.equal(router.subscribers, 1);
  await router.call(app, 'createStream', { name: 'Events' });
  const events = page.got.filter((a) => a[0] === CHANNELS.event).map((a) => a[1] as DrayerEvent);
  assert.ok(events.some((e) => e.event === 'streamsChanged'));
  router.broadcast({ name: 'newPost' });
  assert.deepEqual(page.got.at(-1), [CHANNELS.event, { event: 'command', data: { name: 'newPost' } }]);
  page.destroyed = true;
  const before = page.got.length;
  await router.call(app, 'createStream', { name: 'After' });
  assert.equal(page.got.length, before);
  assert.equal(router.subscribers, 0, 'a destroyed page is dropped');
});

test('shutdown: calls under way are answered before the node stops, later calls are refused', async () => {
  const order: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const router = new IpcRouter({
    callEnvelope: async (m) => {
      order.push(`start ${m}`);
      await slow;
      order.push(`end ${m}`);
      return { ok: true, value: m };
    },
    subscribe: () => () => {},
  });
  const inFlight = router.call(app, 'post', SAMPLES.post);
  const sd = new Shutdown({ ipc: router, node: { stop: async () => void order.push('node stopped') } });
  const done = sd.run();
  assert.equal(sd.run(), done, 'one shutdown, whoever asks');
  const late = await router.call(app, 'post', SAMPLES.post);
  assert.equal(!late.ok && late.error.code, 'SHUTTING_DOWN');
  setTimeout(release, 50);
  assert.deepEqual(await inFlight, { ok: true, value: 'post' });
  await done;
  assert.deepEqual(order, ['start post', 'end post', 'node stopped']);
});

test('shutdown never rejects: a failing step is logged and the next one still runs', async () => {
  const logged: string[] = [];
  let stopped = false;
  const sd = new Shutdown({
    ipc: {
      close: async () => {
        throw new Error('IPC broke');
      },
    },
    node: {
      stop: async () => {
        stopped = true;
        throw new Error('disk gone');
      },
    },
    log: (m) => logged.push(m),
  });
  assert.equal(sd.started, false);
  await sd.run();
  assert.equal(sd.started, true);
  assert.equal(stopped, true, 'the node is stopped even when closing IPC failed');
  assert.deepEqual(logged, ['closing IPC: IPC broke', 'stopping the node: disk gone']);
});

test('the node stops cleanly after a shutdown with a write answered: the post is in the file', async () => {
  const dir = tmpDir();
  const n = await DrayerNode.start({ dataDir: dir, host: null, autoSync: false, discovery: false });
  const router = new IpcRouter(n);
  const s = await router.call(app, 'createStream', { name: 'Kept' });
  const pk = (s as { value: StreamSummary }).value.publicKey;
  const posted = router.call(app, 'post', { publicKey: pk, title: 'Last words', body: 'before quitting' });
  await new Shutdown({ ipc: router, node: n }).run();
  assert.equal((await posted).ok, true);
  const again = await DrayerNode.start({ dataDir: dir, host: null, autoSync: false, discovery: false });
  try {
    const posts = await again.call('listPosts', { publicKey: pk });
    assert.deepEqual(
      posts.map((p) => p.title),
      ['Last words'],
    );
  } finally {
    await again.stop();
  }
});

test('the bundled preload is one file needing only electron, and exposes exactly the Transport as window.drayer', async () => {
  const file = fileURLToPath(new URL('../main/preload.cjs', import.meta.url));
  const code = fs.readFileSync(file, 'utf8');
  const required: string[] = [];
  const exposed: Record<string, unknown> = {};
  const sent: unknown[][] = [];
  const handlers = new Map<string, (...a: unknown[]) => void>();
  let answer: unknown = { ok: true, value: 'pong' };
  const electron = {
    contextBridge: { exposeInMainWorld: (k: string, v: unknown) => void (exposed[k] = v) },
    ipcRenderer: {
      on: (ch: string, fn: (...a: unknown[]) => void) => void handlers.set(ch, fn),
      send: (...a: unknown[]) => void sent.push(a),
      invoke: async (...a: unknown[]) => (sent.push(a), answer),
    },
  };
  const sandbox = { require: (m: string) => (required.push(m), m === 'electron' ? electron : undefined), module: { exports: {} }, exports: {} };
  vm.runInNewContext(code, sandbox, { filename: path.basename(file) });
  assert.deepEqual([...new Set(required)], ['electron']);
  assert.deepEqual(Object.keys(exposed), ['drayer']);
  const api = exposed.drayer as Record<string, (...a: unknown[]) => unknown>;
  assert.deepEqual(Object.keys(api).sort(), ['call', 'onConnection', 'subscribe']);
  for (const v of Object.values(api)) assert.equal(typeof v, 'function');
  assert.ok(!JSON.stringify(Object.keys(api)).includes('ipcRenderer'));

  assert.equal(await api.call!('status', undefined), 'pong');
  assert.deepEqual(sent.at(-1), [CHANNELS.call, 'status', undefined]);
  answer = { ok: false, error: { code: 'NOT_FOUND', message: 'No such stream.' } };
  await assert.rejects(
    async () => api.call!('streamDetails', {}),
    (e: { code?: string; message?: string }) => e.code === 'NOT_FOUND' && e.message === 'No such stream.',
  );

  const got: unknown[] = [];
  const off = api.subscribe!((e: unknown) => got.push(e)) as () => void;
  api.subscribe!(() => {});
  assert.equal(sent.filter((a) => a[0] === CHANNELS.subscribe).length, 1, 'one subscription per page');
  handlers.get(CHANNELS.event)!({}, { event: 'streamsChanged', data: {} });
  off();
  handlers.get(CHANNELS.event)!({}, { event: 'streamsChanged', data: {} });
  assert.equal(got.length, 1);
  const states: string[] = [];
  api.onConnection!((s: string) => states.push(s));
  assert.deepEqual(states, ['open']);
});

test('app/ and the plain main/ modules never load electron; only index.js and the preload do', () => {
  const distMain = fileURLToPath(new URL('../main/', import.meta.url));
  for (const f of fs.readdirSync(distMain).filter((x) => x.endsWith('.js'))) {
    const code = fs.readFileSync(path.join(distMain, f), 'utf8');
    const loads = /from ['"]electron['"]|require\(['"]electron['"]\)/.test(code);
    assert.equal(loads, f === 'index.js' || f === 'preload.js', f);
  }
  const distApp = fileURLToPath(new URL('../app/', import.meta.url));
  for (const f of fs.readdirSync(distApp).filter((x) => x.endsWith('.js'))) {
    assert.ok(!/from ['"]electron['"]|require\(['"]electron['"]\)/.test(fs.readFileSync(path.join(distApp, f), 'utf8')), f);
  }
});
