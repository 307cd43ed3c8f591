// Unit tests of the follow journey's logic in the renderer: how progress reads (records, file
// parts, bytes, the bar's fraction), and the streams store's follows from Nearby (the address
// asked, partial scopes, the pending state, the name shown meanwhile), against a fake transport.
// Loaded from the TypeScript source through Vite's module loader, as ui-stores.test.ts does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

test('progress: records with and without a total, file parts, bytes, and the bar', async () => {
  const { describeProgress, formatBytes, peerLabel } = await load('lib/progress.ts');
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.5 kB');
  assert.equal(formatBytes(48_000_000), '48 MB');
  assert.equal(formatBytes(123_456_789), '123 MB');
  assert.equal(formatBytes(2_000_000_000), '2 GB');

  let v = describeProgress({ records: 0, bytes: 0 });
  assert.equal(v.fraction, null, 'no total yet: an indeterminate bar');
  assert.equal(v.line, '0 records');

  v = describeProgress({ records: 1204, recordsTotal: 5000, bytes: 2_500_000 });
  assert.equal(v.line, '1,204 of 5,000 records · 2.5 MB');
  assert.equal(v.percent, 24);

  // file parts come after the records: the bar follows them
  v = describeProgress({ records: 8, recordsTotal: 8, chunks: 24, chunksTotal: 48, bytes: 25_000_000 });
  assert.equal(v.line, '8 of 8 records · 24 of 48 file parts · 25 MB');
  assert.equal(v.percent, 55);
  assert.equal(describeProgress({ records: 1, recordsTotal: 1, chunks: 1, chunksTotal: 1, bytes: 10 }).chunks, '1 of 1 file part');

  // a total smaller than what arrived (the stream grew meanwhile) never shows "9 of 8"
  v = describeProgress({ records: 9, recordsTotal: 8, bytes: 0 });
  assert.equal(v.records, '9 of 9 records');
  assert.equal(v.percent, 100);
  assert.equal(describeProgress({ records: 0, recordsTotal: 0, bytes: 0 }).percent, 100);

  assert.equal(peerLabel('http://192.168.1.20:15723'), '192.168.1.20:15723');
  assert.equal(peerLabel('http://[fe80::1]:80/'), '[fe80::1]:80');
  const { cleanSyncError } = await load('lib/progress.ts');
  assert.equal(
    cleanSyncError('Cannot reach http://127.0.0.1:9/tIHx_Z/changes?since=0&limit=1000&count=1: check the address and that the peer is running.'),
    'Cannot reach 127.0.0.1:9: check the address and that the peer is running.',
  );
  assert.equal(cleanSyncError('Cannot reach http://10.0.0.2:80 (ECONNREFUSED): check'), 'Cannot reach http://10.0.0.2:80 (ECONNREFUSED): check');
});

test('streams store: a follow from Nearby asks its computer, holds a pending state, and names it meanwhile', async () => {
  const { setTransport } = await load('api/index.ts');
  const { useStreams, displayName, nearbyUrl, scopeRequest } = await load('stores/streams.ts');
  const calls: { method: string; arg: any }[] = [];
  let release: (() => void) | null = null;
  const held: any[] = [];
  setTransport({
    async call(method: string, arg: any) {
      calls.push({ method, arg });
      if (method === 'follow') {
        await new Promise<void>((r) => (release = r));
        const s = { publicKey: 'PK', name: 'Ada', owned: false, records: 3, posts: 2 };
        held.push(s);
        return s;
      }
      if (method === 'listStreams') return held;
      if (method === 'nearby') return [];
      throw new Error(`unexpected ${method}`);
    },
    subscribe: () => () => {},
    onConnection: () => () => {},
  });

  assert.equal(nearbyUrl({ publicKey: 'PK', name: 'Ada', following: false, peers: [{ address: 'fe80::1', port: 80 }] }), 'http://[fe80::1]:80');
  assert.equal(nearbyUrl({ publicKey: 'PK', name: 'Ada', following: false, peers: [{ address: '10.0.0.2', port: 0 }] }), undefined);
  assert.deepEqual(scopeRequest({ kind: 'all' }), {});
  assert.deepEqual(scopeRequest({ kind: 'latest', n: 20 }), { latest: 20 });
  assert.deepEqual(scopeRequest({ kind: 'meta' }), { metaOnly: true });

  const n = { publicKey: 'PK', name: 'Ada Lovelace', following: false, peers: [{ address: '192.168.1.20', port: 15723, name: "Ada's laptop" }] };
  const job = useStreams.getState().followNearby(n, { kind: 'latest', n: 20 });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(calls.find((c) => c.method === 'follow')!.arg, { key: 'PK', url: 'http://192.168.1.20:15723', latest: 20 });
  assert.equal(useStreams.getState().pending.PK.name, 'Ada Lovelace');
  // while it clones the node knows it only by its key's words: the announced name is shown
  useStreams.setState({ byKey: { PK: { publicKey: 'PK', name: 'regain insurgent drumbeat atlantic' } } });
  assert.equal(displayName(useStreams.getState(), 'PK'), 'Ada Lovelace');
  // a second click while it runs does not follow twice
  await assert.rejects(useStreams.getState().followNearby(n));
  release!();
  const s = await job;
  assert.equal(s.name, 'Ada');
  assert.deepEqual(useStreams.getState().pending, {});
  assert.equal(displayName(useStreams.getState(), 'PK'), 'Ada');
  assert.equal(displayName(useStreams.getState(), 'other', 'New stream'), 'New stream');
  assert.equal(calls.filter((c) => c.method === 'follow').length, 1);
});
