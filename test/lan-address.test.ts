// NodeOptions.multicastInterface: a node on its own 127.0.0.K sends its discovery multicast from
// that address, so nodes on one machine see one another as distinct LAN hosts (bench/lan.ts relies
// on it). Real multicast, so it runs in a private network namespace (test/fixtures/lan-address-child.ts).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
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
