// NodeOptions.multicastInterface: a node on its own 127.0.0.K sends its discovery multicast from
// that address, so nodes on one machine see one another as distinct LAN hosts (bench/lan.ts relies
// on it). Real multicast, so it runs in a private network namespace (test/fixtures/lan-address-child.ts).
// NodeOptions.connectFrom: its pulls and the values a metadata-only copy fetches come from that address
// too (no multicast: follows by address).
import assert from 'node:assert/strict';
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DrayerNode } from '../app/node/node.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lan-address-child.js');

test(
  'two nodes on 127.0.0.2 and 127.0.0.3 see each other at those addresses, and a follow by key pulls from there',
  { skip: netnsAvailable() ? false : NETNS_SKIP_REASON },
  async () => {
    const run = await runInNetns(process.execPath, ['--enable-source-maps', child], {
      env: { ...process.env, DRAYER_LAN_ADDRESS_CHILD: '1' },
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, `child failed: ${run.stderr}`);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      aLan: { host: string; port: number };
      bLan: { host: string; port: number };
      aSees: string[];
      bSees: string[];
      followedPosts: number;
    };
    assert.equal(r.aLan.host, '127.0.0.2');
    assert.equal(r.bLan.host, '127.0.0.3');
    assert.deepEqual(r.aSees, [`127.0.0.3:${r.bLan.port}`], 'A sees B at 127.0.0.3 (not at 127.0.0.1, the namespace route source)');
    assert.deepEqual(r.bSees, [`127.0.0.2:${r.aLan.port}`], 'B sees A at 127.0.0.2');
    assert.equal(r.followedPosts, 1, 'B followed A by key alone and got its post from 127.0.0.2');
  },
);

/** Nodes on their own 127.0.0.K, in a fresh folder, and the addresses requests to them came from (whose path has `part`), in order. */
function addressedNodes(part: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'drayer-connectfrom-'));
  const from: string[] = [];
  const seen = (m: unknown): void => {
    const req = (m as { request?: http.IncomingMessage }).request;
    if (req?.url?.includes(part)) from.push(req.socket.remoteAddress ?? '?');
  };
  dc.subscribe('http.server.request.start', seen);
  const nodes: DrayerNode[] = [];
  return {
    from,
    start: async (addr: string, connectFrom?: string): Promise<DrayerNode> => {
      const n = await DrayerNode.start({
        dataDir: path.join(root, `${addr}-${connectFrom ?? ''}`),
        host: addr,
        port: 0,
        discovery: false,
        autoSync: false,
        connectFrom,
      });
      nodes.push(n);
      return n;
    },
    close: async (): Promise<void> => {
      dc.unsubscribe('http.server.request.start', seen);
      await Promise.all(nodes.map((n) => n.stop()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

test('NodeOptions.connectFrom: a node on 127.0.0.3 pulls from that address, not 127.0.0.1 (one address to every server, as bench lan had it)', async () => {
  // who each request for changes to A's server came from (its socket's remote address), in the order they came
  const { from, start, close } = addressedNodes('/changes');
  try {
    const a = await start('127.0.0.2');
    const b = await start('127.0.0.3', '127.0.0.3');
    const c = await start('127.0.0.4');
    const sa = await a.call('createStream', { name: 'A' });
    const url = `http://127.0.0.2:${a.lanAddress()!.port}`;
    assert.equal((await b.call('follow', { key: sa.publicKey, url })).posts, 0);
    assert.deepEqual(from, ['127.0.0.3'], 'B pulled from its own address');
    await c.call('follow', { key: sa.publicKey, url });
    assert.notEqual(from[1], '127.0.0.4', 'without the option the system picks the source (127.0.0.1 on Linux)');
  } finally {
    await close();
  }
});

test('NodeOptions.connectFrom: a metadata-only copy fetches values from that address too (its name in the pull, its posts when read)', async () => {
  const { from, start, close } = addressedNodes('/value/');
  try {
    const a = await start('127.0.0.2');
    const b = await start('127.0.0.3', '127.0.0.3');
    const sa = await a.call('createStream', { name: 'Ada on .2' });
    await a.call('post', { publicKey: sa.publicKey, title: 'One', body: 'first' });
    await a.call('post', { publicKey: sa.publicKey, title: 'Two', body: 'second' });
    const url = `http://127.0.0.2:${a.lanAddress()!.port}`;
    const followed = await b.call('follow', { key: sa.publicKey, url, metaOnly: true });
    assert.equal(followed.name, 'Ada on .2', 'the name came with the pull (fetchValue)');
    assert.deepEqual(from, ['127.0.0.3'], 'the name was fetched from B’s own address');
    const posts = await b.call('listPosts', { publicKey: sa.publicKey });
    assert.deepEqual(posts.map((p) => p.body).sort(), ['first', 'second'], 'the posts’ text was fetched when read');
    assert.ok(from.length >= 2, `values fetched: ${from.join(', ')}`);
    assert.deepEqual(new Set(from), new Set(['127.0.0.3']), 'every value came to B’s address');
  } finally {
    await close();
  }
});
