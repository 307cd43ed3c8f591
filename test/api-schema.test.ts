// Every DrayerApi argument is checked against its schema where calls come in from outside the
// process (issue 14 item 6): table-driven over all methods, through real HTTP (the web UI) and
// the Electron IPC router, against a real node. And a huge sync interval no longer becomes a
// 1 ms loop: the interval is clamped where the timer is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Method } from '../app/node/api.js';
import { SAMPLES } from './api-samples.js';
import { METHODS } from '../app/node/api.js';
import { API_SCHEMAS, checkArg, SYNC_INTERVAL_MAX_S } from '../app/node/api-schema.js';
import { DrayerNode } from '../app/node/node.js';
import { WebUi } from '../app/node/webui.js';
import { IpcRouter } from '../main/ipc.js';
import { tmpDir } from './helpers.js';

/** Every (path, value) of a sample's leaves, to spoil one at a time. */
function leaves(v: unknown, at: (string | number)[] = []): { at: (string | number)[]; value: unknown }[] {
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, Array.isArray(v) ? Number(k) : k]));
  return [{ at, value: v }];
}

function setAt(v: unknown, at: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let o = copy;
  for (const k of at.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[at[at.length - 1]!] = value;
  return copy;
}

/** The bad variants of every method's argument: an unknown field anywhere, each text too long, each number too big, each field of the wrong type. */
function badArgs(method: Method): { what: string; arg: unknown; field: string }[] {
  const sample = SAMPLES[method];
  const out: { what: string; arg: unknown; field: string }[] = [{ what: 'unknown key', arg: { ...(sample as object), zzUnknown: 1 }, field: 'zzUnknown' }];
  for (const { at, value } of leaves(sample)) {
    const field = at.join('.');
    if (typeof value === 'string') out.push({ what: `oversize ${at.join('.')}`, arg: setAt(sample, at, 'x'.repeat(3_000_000)), field });
    if (typeof value === 'number') {
      out.push({ what: `huge ${at.join('.')}`, arg: setAt(sample, at, 2 ** 64), field });
      out.push({ what: `negative ${at.join('.')}`, arg: setAt(sample, at, -1), field });
    }
    if (typeof value !== 'object') out.push({ what: `wrong type ${at.join('.')}`, arg: setAt(sample, at, { nested: true }), field });
  }
  for (const [k, v] of Object.entries(sample as object)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      out.push({ what: `unknown key in ${k}`, arg: setAt(sample, [k], { ...v, zzUnknown: 1 }), field: 'zzUnknown' });
  }
  return out;
}

test('the schema table covers every method that has a schema; a method without one gets the bounded fallback', () => {
  for (const m of Object.keys(API_SCHEMAS)) assert.ok(m in SAMPLES, `${m} has a schema but no sample here`);
  // a method a later change adds before its schema: plain JSON, bounded
  let deep: unknown = 1;
  for (let i = 0; i < 20; i++) deep = { d: deep };
  const r = checkArg('someNewMethod', deep);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error.message : '', /nested deeper/);
  assert.equal(checkArg('someNewMethod', { a: [1, 'x', null] }).ok, true);
});

test('every method: a good argument passes; unknown keys, oversize strings, huge or negative numbers and wrong types are refused, naming the field', () => {
  let refused = 0;
  for (const method of METHODS.filter((m) => m in SAMPLES)) {
    const good = checkArg(method, SAMPLES[method]);
    assert.equal(good.ok, true, `${method}: ${JSON.stringify(good)}`);
    for (const { what, arg, field } of badArgs(method)) {
      const r = checkArg(method, arg);
      assert.equal(r.ok, false, `${method}: ${what} was accepted`);
      if (r.ok) continue;
      assert.equal(r.error.code, 'INVALID_ARGUMENT');
      assert.ok(r.error.message.startsWith(`${method} was refused: `), r.error.message);
      assert.ok(r.error.message.includes(field), `${method} ${what}: the message names ${field}: ${r.error.message}`);
      assert.ok(r.error.message.length < 600, `${method} ${what}: a short message`);
      refused++;
    }
  }
  assert.ok(refused > 150, `${refused} bad arguments tried`);
  // The cases of the issue, with what is allowed.
  const slow = checkArg('setSettings', { syncIntervalS: 2_147_484 });
  assert.match(!slow.ok ? slow.error.message : '', /"syncIntervalS" is too big \(at most 604,800\)/);
  const named = checkArg('setSettings', { name: 'n'.repeat(500_000) });
  assert.match(!named.ok ? named.error.message : '', /"name" is too long \(at most 200 characters\)/);
  const unknown = checkArg('setSettings', { evil: 1 });
  assert.match(
    !unknown.ok ? unknown.error.message : '',
    /no field "evil" \(allowed: name, discovery, serveFollowed, syncIntervalS, notifications, syncMode, dht, portMapping\)/,
  );
  // Methods that take nothing: {} (HTTP), undefined (IPC) and null are the same; anything else is not.
  for (const a of [{}, undefined, null]) assert.deepEqual(checkArg('status', a), { ok: true, value: undefined });
  assert.equal(checkArg('status', 'x').ok, false);
});

function post(port: number, method: string, token: string, body: string): Promise<{ ok: boolean; error?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/${method}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(JSON.parse(b)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('both transports refuse bad arguments before the engine sees them (real HTTP, the IPC router)', async () => {
  const node = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'n'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const ui = new WebUi(node, { staticDir: tmpDir() });
  const ipc = new IpcRouter(node, () => true);
  try {
    const { port, token } = await ui.listen();
    const before = await node.call('getSettings', undefined);
    for (const method of METHODS.filter((m) => m in SAMPLES)) {
      // HTTP bodies are at most 1 MiB: the oversize cases go through IPC only.
      for (const { what, arg } of badArgs(method)) {
        const viaIpc = await ipc.call({ url: 'app://drayer/', top: true }, method, arg);
        assert.equal(viaIpc.ok, false, `IPC ${method}: ${what}`);
        assert.equal(!viaIpc.ok && viaIpc.error.code, 'INVALID_ARGUMENT', `IPC ${method}: ${what}: ${JSON.stringify(viaIpc)}`);
        const body = JSON.stringify(arg);
        if (body.length > 1024 * 1024) continue;
        const viaHttp = await post(port, method, token, body);
        assert.equal(viaHttp.ok, false, `HTTP ${method}: ${what}`);
        assert.equal(viaHttp.error?.code, 'INVALID_ARGUMENT', `HTTP ${method}: ${what}: ${JSON.stringify(viaHttp)}`);
      }
    }
    // Nothing of it was stored: the settings are as they were, no stream was made.
    assert.deepEqual(await node.call('getSettings', undefined), before);
    assert.deepEqual(await node.call('listStreams', undefined), []);
    // And good calls still go through both.
    const made = await post(port, 'createStream', token, JSON.stringify({ name: 'Fine' }));
    assert.equal(made.ok, true);
    const set = await ipc.call({ url: 'app://drayer/', top: true }, 'setSettings', { syncIntervalS: 3600 });
    assert.equal(set.ok, true);
  } finally {
    await ipc.close();
    await ui.close();
    await node.stop();
  }
});

test('a huge stored sync interval is clamped where the timer is set: no 1 ms loop, no growing timer list', async () => {
  const dir = path.join(tmpDir(), 'b');
  // A source that counts what it is asked.
  let hits = 0;
  const source = http.createServer((_q, r) => {
    hits++;
    r.writeHead(404).end();
  });
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', () => r()));
  const sourceUrl = `http://127.0.0.1:${(source.address() as import('node:net').AddressInfo).port}`;
  const writer = await DrayerNode.start({ dataDir: path.join(tmpDir(), 'a'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  try {
    const s = await writer.call('createStream', { name: 'Src' });
    await writer.call('post', { publicKey: s.publicKey, title: 't', body: 'b' });
    const setup = await DrayerNode.start({ dataDir: dir, host: null, discovery: false, autoSync: false });
    await setup.call('follow', { key: s.publicKey, url: `http://127.0.0.1:${writer.lanAddress()!.port}` });
    await setup.call('setStreamSettings', { publicKey: s.publicKey, sources: [sourceUrl] });
    // The engine refuses it now, so store it as an older version did.
    await assert.rejects(setup.call('setSettings', { syncIntervalS: 3_000_000 }), /sync interval is from 5 seconds to 7 days/);
    (setup as unknown as { library: { setSetting(k: string, v: unknown): void } }).library.setSetting('settings', {
      syncIntervalS: 3_000_000,
      evil: 'x'.repeat(1000),
    });
    assert.equal(SYNC_INTERVAL_MAX_S < 2 ** 31 / 1000, true);
    await setup.stop();
  } finally {
    await writer.stop();
  }
  const node = await DrayerNode.start({ dataDir: dir, host: null, discovery: false });
  try {
    assert.equal('evil' in (await node.call('getSettings', undefined)), false, 'unknown stored fields are not settings');
    // The first round runs after 1 s; the next would be 3,000,000 s later (clamped to a week), never 1 ms.
    await new Promise((r) => setTimeout(r, 3500));
    const timers = (node as unknown as { timers: unknown[] }).timers.length;
    assert.ok(hits >= 1, 'the first round asked the source');
    assert.ok(hits <= 6, `${hits} requests to the source in 3.5 s`);
    assert.ok(timers <= 3, `${timers} timers held`);
  } finally {
    await node.stop();
    await new Promise((r) => source.close(r));
  }
});
