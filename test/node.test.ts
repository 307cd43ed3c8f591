import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { WebUi, httpApiClient } from '../app/node/webui.js';
import type { DrayerEvent } from '../app/node/api.js';
import { tmpDir } from './helpers.js';

async function startNode(name: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: path.join(tmpDir(), name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

function urlOf(n: DrayerNode): string {
  const lan = n.lanAddress()!;
  return `http://127.0.0.1:${lan.port}`;
}

async function postsOf(n: DrayerNode, pk: string): Promise<string[]> {
  return (await n.call('listPosts', { publicKey: pk })).map((p) => `${p.title}|${p.body}`).sort();
}

test('a follower converges through a mirror after edits and deletes at the writer', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  const c = await startNode('c');
  try {
    const s = await a.call('createStream', { name: 'Alice' });
    const p1 = await a.call('post', { publicKey: s.publicKey, title: 'one', body: 'first' });
    const p2 = await a.call('post', { publicKey: s.publicKey, title: 'two', body: 'second' });
    await a.call('post', { publicKey: s.publicKey, title: 'three', body: 'third' });

    const followed = await b.call('follow', { key: s.publicKey, url: urlOf(a) });
    assert.equal(followed.name, 'Alice');
    assert.equal(followed.owned, false);
    assert.deepEqual(await postsOf(b, s.publicKey), await postsOf(a, s.publicKey));

    // C knows only B (a mirror), never A.
    await c.call('follow', { key: s.publicKey, url: urlOf(b) });
    assert.deepEqual(await postsOf(c, s.publicKey), await postsOf(a, s.publicKey));

    await a.call('editPost', { publicKey: s.publicKey, key: p1.key, title: 'one', body: 'edited' });
    await a.call('deletePost', { publicKey: s.publicKey, key: p2.key });
    await b.call('syncNow', { publicKey: s.publicKey });
    await c.call('syncNow', { publicKey: s.publicKey });
    const want = await postsOf(a, s.publicKey);
    assert.deepEqual(want, ['one|edited', 'three|third']);
    assert.deepEqual(await postsOf(b, s.publicKey), want);
    assert.deepEqual(await postsOf(c, s.publicKey), want);

    // the follower's timeline and search reflect the stream
    const tl = await c.call('timeline', {});
    assert.deepEqual(tl.map((t) => t.title).sort(), ['one', 'three']);
    const hits = await c.call('search', { query: 'edited' });
    assert.equal(hits.length, 1);
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('a partial follow holds exactly the latest N posts', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const s = await a.call('createStream', { name: 'Many' });
    for (let i = 0; i < 30; i++) await a.call('post', { publicKey: s.publicKey, title: `p${i}`, body: '' });
    const f = await b.call('follow', { key: s.publicKey, url: urlOf(a), latest: 10 });
    assert.equal(f.records, 10 + 1); // the newest ten, and drayer/info: the copy knows the name
    assert.equal(f.name, 'Many');
    const titles = (await b.call('listPosts', { publicKey: s.publicKey, limit: 100 })).map((p) => p.title);
    assert.deepEqual(titles.sort(), Array.from({ length: 10 }, (_, i) => `p${20 + i}`).sort());
    // the window moves on as the stream grows, and the timeline with it
    for (let i = 30; i < 35; i++) await a.call('post', { publicKey: s.publicKey, title: `p${i}`, body: '' });
    await b.call('syncNow', { publicKey: s.publicKey });
    const newest = Array.from({ length: 10 }, (_, i) => `p${25 + i}`).sort();
    assert.deepEqual((await b.call('listPosts', { publicKey: s.publicKey, limit: 100 })).map((p) => p.title).sort(), newest);
    assert.deepEqual(
      (await b.call('timeline', { limit: 100 }))
        .filter((t) => t.streamKey === s.publicKey)
        .map((t) => t.title)
        .sort(),
      newest,
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('errors cross the API as envelopes with codes, never as stack traces', async () => {
  const a = await startNode('a');
  try {
    const env = await a.callEnvelope('post', { publicKey: 'not a key', title: 't', body: 'b' });
    assert.equal(env.ok, false);
    if (!env.ok) {
      assert.equal(env.error.code, 'INVALID_ARGUMENT');
      assert.doesNotMatch(env.error.message, /\n\s+at /);
    }
    const unknown = await a.callEnvelope('dropTables', {});
    assert.equal(unknown.ok, false);
    if (!unknown.ok) assert.equal(unknown.error.code, 'UNKNOWN_METHOD');
  } finally {
    await a.stop();
  }
});

test('the web UI transport needs its token, forwards calls and streams events', async () => {
  const a = await startNode('a');
  const ui = new WebUi(a);
  const { port } = await ui.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    const denied = await fetch(`${base}/api/listStreams`, { method: 'POST', body: '{}' });
    assert.equal(denied.status, 401);
    const wrong = await fetch(`${base}/api/listStreams`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);

    const events: DrayerEvent[] = [];
    const ctl = new AbortController();
    const es = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${ui.token}` }, signal: ctl.signal });
    const reader = es.body!.getReader();
    const reading = (async () => {
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += new TextDecoder().decode(value);
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) } as DrayerEvent);
        }
      }
    })();

    const client = httpApiClient(base, ui.token);
    const created = await client.call('createStream', { name: 'Web' });
    assert.equal(created.ok, true);
    const pk = (created as { value: { publicKey: string } }).value.publicKey;
    const posted = await client.call('post', { publicKey: pk, title: 'hi', body: 'there' });
    assert.equal(posted.ok, true);
    const bad = await client.call('post', { publicKey: pk });
    assert.equal(bad.ok, false);
    for (let i = 0; i < 50 && !events.some((e) => e.event === 'recordsChanged'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(events.some((e) => e.event === 'recordsChanged' && e.data.publicKey === pk));
    ctl.abort();
    await reading;
  } finally {
    await ui.close();
    await a.stop();
  }
});

test('a follower syncs from the primary servers named in the stream itself', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const s = await a.call('createStream', { name: 'Primary' });
    const servers = await a.call('setPrimaryServers', { publicKey: s.publicKey, servers: [{ type: 'http', url: `${urlOf(a)}/` }] });
    assert.deepEqual(servers, [{ type: 'http', url: urlOf(a) }]);
    await b.call('follow', { key: s.publicKey, url: urlOf(a) });
    // forget the URL the follow used: only the primaryServers record is left to find A
    const summary = await b.call('setStreamSettings', { publicKey: s.publicKey, sources: [] });
    assert.deepEqual(summary.sources, []);
    await a.call('post', { publicKey: s.publicKey, title: 'via primary', body: '' });
    const reports = await b.call('syncNow', { publicKey: s.publicKey });
    assert.deepEqual(
      reports.map((r) => [r.peer, r.error]),
      [[urlOf(a), undefined]],
    );
    assert.deepEqual(await postsOf(b, s.publicKey), ['via primary|']);
    const details = await b.call('streamDetails', { publicKey: s.publicKey });
    assert.deepEqual(details.primaryServers, [{ type: 'http', url: urlOf(a) }]);
    assert.equal(details.owned, false);
    assert.ok(details.fingerprint.split(' ').length === 24);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a stream can be kept private: not served, and a followed stream not re-shared when turned off', async () => {
  const a = await startNode('a');
  const b = await startNode('b');
  try {
    const s = await a.call('createStream', { name: 'Shy' });
    const pkUrl = Buffer.from(s.publicKey, 'base64').toString('base64url');
    assert.equal((await fetch(`${urlOf(a)}/${pkUrl}/changes?since=0`)).status, 200);
    await a.call('setStreamSettings', { publicKey: s.publicKey, serve: false });
    assert.equal((await fetch(`${urlOf(a)}/${pkUrl}/changes?since=0`)).status, 404);
    await a.call('setStreamSettings', { publicKey: s.publicKey, serve: true });
    await b.call('follow', { key: s.publicKey, url: urlOf(a) });
    assert.equal((await fetch(`${urlOf(b)}/${pkUrl}/changes?since=0`)).status, 200);
    await b.call('setSettings', { serveFollowed: false });
    assert.equal((await fetch(`${urlOf(b)}/${pkUrl}/changes?since=0`)).status, 404);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
