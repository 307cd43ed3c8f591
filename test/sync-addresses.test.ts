// Requests that must stay where they belong (issue 14.5): no address a stream, a peer or a
// redirect names leads to a cloud metadata service, in any sync mode; LAN only checks every
// redirect hop and every address a name resolves to; a metadata-only copy fetches for strangers
// only at a bounded rate. Nothing here leaves 127.0.0.1: refused addresses are never contacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { addBytes } from '../app/store/files.js';
import { isMetadataHost, refusedHost } from '../app/net/lan.js';
import { DrayerNode } from '../app/node/node.js';
import { type Stream } from '../app/store/store.js';
import { guardedLookup, pull } from '../app/net/sync.js';
import { hex, utf8 } from './helpers.js';
import { lanBench } from './lan-harness.js';

const bench = lanBench('drayer-addresses-');
const { dir } = bench;

function writer(): Stream {
  const s = bench.writer('addresses');
  s.put('note', 'a', utf8('hello'));
  return s;
}
function follower(of: Stream, metaOnly = false): Stream {
  return bench.follower(of, { metaOnly });
}

async function lan(): Promise<string> {
  return (await bench.lan()).url;
}

async function listen(handler: http.RequestListener): Promise<string> {
  return (await bench.listen(handler)).url;
}

test('cloud metadata addresses and names, in every spelling, are refused; link-local and private LAN addresses are not', () => {
  for (const h of [
    '169.254.169.254',
    '[::ffff:169.254.169.254]',
    '::ffff:a9fe:a9fe',
    '[fd00:ec2::254]',
    'fd00:ec2:0:0:0:0:0:254',
    '100.100.100.200',
    '169.254.170.2',
    '192.0.0.192',
    '168.63.129.16',
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
    'metadata',
    'instance-data',
    new URL('http://2852039166/').hostname,
    new URL('http://0xa9.0376.169.254/').hostname,
  ]) {
    assert.equal(isMetadataHost(h), true, h);
    assert.match(refusedHost(h, false) ?? '', /metadata/, h);
    assert.match(refusedHost(h, true) ?? '', /metadata/, h);
  }
  for (const h of ['169.254.1.2', '192.168.1.5', '10.0.0.1', 'fe80::1', '127.0.0.1', 'example.org', 'metadata.example.org']) {
    assert.equal(isMetadataHost(h), false, h);
  }
  assert.equal(refusedHost('169.254.1.2', true), undefined);
  assert.match(refusedHost('203.0.113.5', true) ?? '', /not on the local network/);
  assert.equal(refusedHost('203.0.113.5', false), undefined);
});

test('a name is checked by the addresses it resolves to: a metadata address always, a public one when LAN only', async () => {
  const resolveTo =
    (...addresses: string[]) =>
    (_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
      cb(
        null,
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
  const ask = (lanOnly: boolean, ...addresses: string[]) =>
    new Promise<string>((resolve) => {
      guardedLookup(lanOnly, resolveTo(...addresses))('mirror.example', { all: true }, (e, a) => resolve(e ? `refused: ${e.message}` : JSON.stringify(a)));
    });
  assert.match(await ask(false, '169.254.169.254'), /refused: mirror\.example resolves to 169\.254\.169\.254, a cloud metadata service/);
  assert.match(await ask(false, '192.168.1.9', 'fd00:ec2::254'), /refused: .*fd00:ec2::254/, 'any bad address refuses the name');
  assert.match(await ask(true, '203.0.113.8'), /refused: .*not on the local network/);
  assert.match(await ask(true, '192.168.1.9'), /192\.168\.1\.9/);
  assert.match(await ask(false, '203.0.113.8'), /203\.0\.113\.8/);
});

test('a pull never contacts a metadata address given as a peer, nor follows a redirect there; LAN only refuses a redirect out of the LAN but follows one within it', async () => {
  const w = writer();
  const up = await lan();
  for (const bad of ['http://169.254.169.254', 'http://[fd00:ec2::254]:80', 'http://metadata.google.internal', 'http://2852039166/']) {
    await assert.rejects(pull(follower(w), bad), (e: Error) => /was not contacted: .*cloud metadata service/.test(e.message), bad);
  }
  const toMetadata = await listen((_req, res) => {
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' });
    res.end();
  });
  await assert.rejects(
    pull(follower(w), toMetadata),
    (e: Error) => e.message.includes(toMetadata) && /redirects to http:\/\/169\.254\.169\.254, which was not contacted.*metadata/.test(e.message),
  );
  await assert.rejects(pull(follower(w), toMetadata, { lanOnly: true }), /redirects to http:\/\/169\.254\.169\.254, which was not contacted.*metadata/);

  const toInternet = await listen((_req, res) => {
    res.writeHead(307, { location: 'http://203.0.113.9:1/elsewhere' });
    res.end();
  });
  await assert.rejects(
    pull(follower(w), toInternet, { lanOnly: true }),
    /redirects to http:\/\/203\.0\.113\.9:1, which was not contacted: .*not on the local network, and sync is LAN only/,
  );

  const withinLan = await listen((req, res) => {
    res.writeHead(307, { location: `${up}${req.url}` });
    res.end();
  });
  const f = follower(w);
  const r = await pull(f, withinLan, { lanOnly: true });
  assert.equal(r.records, w.count());
  // and a name is resolved and its address checked: localhost is loopback, so LAN
  const g = follower(w);
  assert.equal((await pull(g, up.replace('127.0.0.1', 'localhost'), { lanOnly: true })).records, w.count());
});

test('a primary server at a metadata address is never fetched by followers, in normal and LAN-only mode', async () => {
  const a = await DrayerNode.start({ dataDir: path.join(dir, 'node-a'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const b = await DrayerNode.start({ dataDir: path.join(dir, 'node-b'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  try {
    const s = await a.call('createStream', { name: 'Alice' });
    const url = `http://127.0.0.1:${a.lanAddress()!.port}`;
    await a.call('setPrimaryServers', {
      publicKey: s.publicKey,
      servers: [
        { type: 'http', url: 'http://169.254.169.254/latest' },
        { type: 'http', url: 'http://metadata.google.internal' },
      ],
    });
    await b.call('follow', { key: s.publicKey, url });
    for (const mode of ['normal', 'lan'] as const) {
      await b.call('setSettings', { syncMode: mode });
      const reports = await b.call('syncNow', { publicKey: s.publicKey });
      assert.ok(
        reports.some((x) => x.peer === url && !x.error),
        JSON.stringify(reports),
      );
      for (const peer of ['http://169.254.169.254/latest', 'http://metadata.google.internal']) {
        const r = reports.find((x) => x.peer === peer);
        assert.ok(r, `${mode}: ${JSON.stringify(reports)}`);
        // (LAN only skips a name outside the LAN before asking anything: never contacted either)
        assert.match(
          r.error ?? r.skipped ?? '',
          mode === 'lan' && !peer.includes('169.254') ? /not contacted/ : /was not contacted: .*cloud metadata service/,
          `${mode}: ${JSON.stringify(r)}`,
        );
      }
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a metadata-only copy fetches what strangers open at a bounded rate per address', async () => {
  const up = await lan();
  const w = writer();
  for (let i = 0; i < 6; i++) await addBytes(w, `f${i}.txt`, utf8(`file ${i}`));
  const m = follower(w, true);
  await pull(m, up);
  let asked = 0;
  const { port, srv } = await bench.serve({
    resolve: (pk) => (hex(pk) === hex(m.publicKey) ? m : undefined),
    opener: () => {
      asked++;
      return { sources: [up] };
    },
    limits: { openFetchesPerMinute: 3 },
  });
  const get = (file: string, from: string) =>
    new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
      http
        .get(
          { host: '127.0.0.1', port, path: `/${Buffer.from(m.publicKey).toString('base64url')}/webAccess/${file}`, localAddress: from, agent: false },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
          },
        )
        .on('error', reject);
    });
  for (let i = 0; i < 3; i++) assert.equal((await get(`f${i}.txt`, '127.0.0.2')).status, 200);
  const refused = await get('f3.txt', '127.0.0.2');
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.retryAfter) >= 1, JSON.stringify(refused));
  assert.match(refused.body, /try again in a moment/);
  // what was fetched is kept: opening it again fetches nothing
  assert.equal((await get('f0.txt', '127.0.0.2')).status, 200);
  // another address has its own share
  assert.equal((await get('f4.txt', '127.0.0.3')).status, 200);
  assert.equal(srv.stats().fetchesRefused, 1);
  assert.equal(asked, 4);
});
