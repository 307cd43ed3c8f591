// Unit tests of the follow journey's logic in the renderer: how progress reads (records, file
// parts, bytes, the bar's fraction), and the streams store's follows from Nearby (the address
// asked, partial scopes, the pending state, the name shown meanwhile), against a fake transport.
// Loaded from the TypeScript source through Vite's module loader, as ui-stores.test.ts does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';

const load = rendererModules();

test('progress: one model by bytes (record values and file chunks), what is left, never 100 % before done', async () => {
  const { describeProgress, formatBytes, peerLabel, speed, timeLeft } = await load('lib/progress.ts');
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.5 kB');
  assert.equal(formatBytes(48_000_000), '48 MB');
  assert.equal(formatBytes(123_456_789), '123 MB');
  assert.equal(formatBytes(2_000_000_000), '2 GB');

  let v = describeProgress({ records: 0, bytes: 0, done: false });
  assert.equal(v.fraction, null, 'no total yet: an indeterminate bar');
  assert.equal(v.line, '0 items');

  // The case of the issue: seven records in, a 50 MB file still to come. By records it was "100 %";
  // by bytes it has barely begun.
  v = describeProgress({ records: 7, recordsTotal: 7, bytes: 9000, size: 6000, sizeTotal: 50_006_000, done: false });
  assert.equal(v.percent, 0);
  assert.equal(v.amount, '6 kB of 50 MB');
  v = describeProgress({ records: 7, recordsTotal: 7, chunks: 12, chunksTotal: 48, bytes: 12_409_000, size: 12_406_000, sizeTotal: 50_006_000, done: false });
  assert.equal(v.percent, 24);
  assert.equal(v.line, '12.4 MB of 50 MB', 'no time left before the speed is known');
  // with a speed measured over the last seconds: what is left, in words
  const samples = [
    { at: 0, size: 4_406_000 },
    { at: 4000, size: 12_406_000 },
  ];
  assert.equal(speed(samples), 2_000_000);
  v = describeProgress({ records: 7, recordsTotal: 7, bytes: 0, size: 12_406_000, sizeTotal: 50_006_000, done: false }, samples);
  assert.equal(v.line, '12.4 MB of 50 MB · about 20 s left');
  // a busy peer: the pull says why nothing moves (the host, not the URL), instead of a time left
  v = describeProgress(
    {
      records: 7,
      recordsTotal: 7,
      bytes: 0,
      size: 12_406_000,
      sizeTotal: 50_006_000,
      done: false,
      waiting: 'http://10.0.0.2:4000 is busy; asking again in 20 s',
    },
    samples,
  );
  assert.equal(v.line, '12.4 MB of 50 MB · 10.0.0.2:4000 is busy; asking again in 20 s');
  assert.equal(describeProgress({ records: 7, bytes: 0, done: true, waiting: 'http://10.0.0.2:4000 is busy; asking again in 20 s' }).left, null);
  assert.equal(
    speed([
      { at: 0, size: 1 },
      { at: 500, size: 9 },
    ]),
    null,
    'half a second says nothing yet',
  );
  assert.equal(timeLeft(3), 'a few seconds left');
  assert.equal(timeLeft(42), 'about 40 s left');
  assert.equal(timeLeft(200), 'about 3 min left');
  assert.equal(timeLeft(2 * 3600 + 600), 'about 2 h 10 min left');

  // every byte in, the pull not ended yet (the last chunk being stored): 99, not 100
  v = describeProgress({ records: 7, recordsTotal: 7, bytes: 0, size: 50_006_000, sizeTotal: 50_006_000, done: false });
  assert.equal(v.percent, 99);
  assert.equal(describeProgress({ records: 7, recordsTotal: 7, bytes: 0, size: 50_006_000, sizeTotal: 50_006_000, done: true }).percent, 100);

  // records without values (a titles-only copy): counted instead
  v = describeProgress({ records: 1204, recordsTotal: 5000, bytes: 2_500_000, size: 0, sizeTotal: 0, done: false });
  assert.equal(v.amount, '1,204 of 5,000 items');
  assert.equal(v.percent, 24);
  // a total smaller than what arrived (the stream grew meanwhile) never shows "9 of 8"
  v = describeProgress({ records: 9, recordsTotal: 8, bytes: 0, done: false });
  assert.equal(v.amount, '9 of 9 items');
  assert.equal(v.percent, 99);
  assert.equal(describeProgress({ records: 0, recordsTotal: 0, bytes: 0, done: true }).percent, 100);
  // an original peer tells no total: an indeterminate bar with the bytes so far
  v = describeProgress({ records: 40, bytes: 0, size: 1_200_000, done: false });
  assert.deepEqual([v.fraction, v.amount], [null, '1.2 MB']);
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

test('sync store: a good sync clears an old failure (a failed Sync now too); a stop reads as stopped; the speed is measured per pull', async () => {
  const { setTransport } = await load('api/index.ts');
  const { useSync, syncView } = await load('stores/sync.ts');
  let fail = true;
  const calls: string[] = [];
  setTransport({
    async call(method: string) {
      calls.push(method);
      if (method === 'syncNow') {
        if (fail)
          return [
            {
              publicKey: 'PK',
              peer: 'http://10.0.0.2:80',
              records: 0,
              stored: 0,
              removed: 0,
              rejected: 0,
              bytes: 0,
              error: 'Cannot reach http://10.0.0.2:80/x/changes?since=0 (ECONNREFUSED): check the address and that the peer is running.',
            },
          ];
        return [{ publicKey: 'PK', peer: 'http://10.0.0.2:80', records: 1, stored: 1, removed: 0, rejected: 0, bytes: 100 }];
      }
      if (method === 'cancelSync') return true;
      throw new Error(`unexpected ${method}`);
    },
    subscribe: () => () => {},
    onConnection: () => () => {},
  });
  const st = () => useSync.getState();
  const ok0 = { at: Date.now() - 3600_000, peer: 'http://10.0.0.2:80' };
  // an hour ago it synced; now Sync now fails: the failure shows
  const out = await st().syncByHand('PK');
  assert.equal(out.ok, false);
  st().onProgress({
    publicKey: 'PK',
    peer: 'http://10.0.0.2:80',
    records: 0,
    bytes: 0,
    done: true,
    error: 'Cannot reach http://10.0.0.2:80 (ECONNREFUSED): check',
  });
  assert.equal(syncView(st(), 'PK', { lastOk: ok0 }).kind, 'failed');
  // the peer is back, and the next sync (the scheduler's, not a click) works: the failure is gone
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.2:80', records: 1, bytes: 10, done: false, size: 10, sizeTotal: 20 });
  assert.equal(syncView(st(), 'PK', { lastOk: ok0 }).kind, 'active');
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.2:80', records: 1, bytes: 10, done: true });
  const v = syncView(st(), 'PK', { lastOk: ok0, lastSync: { at: ok0.at + 10, peer: ok0.peer, records: 0, stored: 0, error: 'old' } });
  assert.equal(v.kind, 'ok');
  assert.ok(Date.now() - v.at < 5000, 'synced just now');
  assert.equal(st().manual.PK.failed, null);

  // speed samples: within one pull only
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.2:80', records: 1, bytes: 0, done: false, size: 100, sizeTotal: 1000 });
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.2:80', records: 1, bytes: 0, done: false, size: 300, sizeTotal: 1000 });
  assert.equal(st().progress.PK.samples.length, 2);
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.3:80', records: 1, bytes: 0, done: false, size: 50, sizeTotal: 1000 });
  assert.equal(st().progress.PK.samples.length, 1, 'another peer: measured afresh');

  // stopped by the user: stopped, until a sync works
  await st().cancel('PK');
  assert.ok(calls.includes('cancelSync'));
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.3:80', records: 0, bytes: 0, done: true, cancelled: true });
  assert.equal(syncView(st(), 'PK', { lastOk: ok0 }).kind, 'stopped');
  assert.equal(
    syncView({ progress: {}, lastOk: {}, manual: {} }, 'PK', { lastSync: { at: 5, peer: '', records: 0, stored: 0, cancelled: true } }).kind,
    'stopped',
    'from the node after a reload too',
  );
  fail = false;
  st().onProgress({ publicKey: 'PK', peer: 'http://10.0.0.3:80', records: 1, bytes: 0, done: true });
  assert.equal(syncView(st(), 'PK', { lastOk: ok0 }).kind, 'ok');
});

test('progress: a pull gone quiet tells no time left (its old speed says nothing)', async () => {
  const { describeProgress, STALL_MS } = await load('lib/progress.ts');
  const samples = [
    { at: 1000, size: 0 },
    { at: 5000, size: 8_000_000 },
  ];
  const p = { records: 7, recordsTotal: 7, bytes: 0, size: 8_000_000, sizeTotal: 50_000_000, done: false };
  assert.equal(describeProgress(p, samples, 6000).line, '8 MB of 50 MB · about 20 s left');
  assert.equal(describeProgress(p, samples, 5000 + STALL_MS + 1).line, '8 MB of 50 MB');
});
