// Nearby shows only streams whose node proved it serves them (issue 14.10). The verifier alone
// against fake HTTP servers on 127.0.0.1; the whole node against hostile announcers with real
// multicast in a private network namespace (test/fixtures/nearby-child.ts).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../app/core/crypto.js';
import { NearbyVerifier } from '../app/net/nearby.js';
import { DrayerNode } from '../app/node/node.js';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';
import { childJson } from './netns-ui-child.js';
import { sleep, tmpDir, until } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'nearby-child.js');

test("the verifier: a real node's signed info is shown by its name; silence, 404s and junk are not, and cost few requests", async () => {
  const node = await DrayerNode.start({ dataDir: tmpDir(), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  // a server that answers everything slowly with junk, counting requests
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const junk = http.createServer((_req, res) => {
    requests++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' }).end('[["info", 1]]');
    }, 50);
  });
  await new Promise<void>((r) => junk.listen(0, '127.0.0.1', () => r()));
  const junkPort = (junk.address() as { port: number }).port;
  const changes: string[] = [];
  const v = new NearbyVerifier({ onChange: (a, p) => changes.push(`${a}:${p}`) });
  try {
    const s = await node.call('createStream', { name: 'Alice\x1b]0;x\x07\nFAKE' });
    await node.call('post', { publicKey: s.publicKey, title: 't', body: 'b' });
    const port = node.lanAddress()!.port;
    const pk = new Uint8Array(Buffer.from(s.publicKey, 'base64'));

    // 300 made-up streams at the junk server: at most 2 lookups at a time there, few in all
    const fakes = Array.from({ length: 300 }, () => randomBytes(32));
    for (const f of fakes) v.want('127.0.0.1', junkPort, f, 1);
    v.want('127.0.0.1', port, pk, 1);
    assert.ok(await until(() => v.verified('127.0.0.1', port, pk) !== undefined, 3000), 'the real stream was verified');
    assert.deepEqual(v.verified('127.0.0.1', port, pk)!.name, 'Alice]0;x FAKE', 'named by its signed info, cleaned');
    assert.ok(changes.includes(`127.0.0.1:${port}`));
    await sleep(1500);
    for (const f of fakes) v.want('127.0.0.1', junkPort, f, 2); // announced again
    await sleep(500);
    assert.ok(fakes.every((f) => v.verified('127.0.0.1', junkPort, f) === undefined));
    assert.ok(maxInFlight <= 2, `at most 2 requests at a time to one address, saw ${maxInFlight}`);
    // the first two lookups fail (the record is not msgpack), then the address waits 4 s
    assert.ok(requests <= 6, `${requests} requests for 300 made-up streams`);
    // nothing listens: refused, never shown; a non-LAN or metadata address is never asked
    const closed = randomBytes(32);
    v.want('127.0.0.1', 1, closed, 1);
    v.want('8.8.8.8', 80, closed, 1);
    v.want('169.254.169.254', 80, closed, 1);
    await sleep(300);
    assert.equal(v.verified('127.0.0.1', 1, closed), undefined);
    const st = v.stats();
    assert.ok(st.lookups <= 5, JSON.stringify(st)); // the real one, 2-3 junk, the closed port
    // the real stream's key at the junk server: not shown there (a lookup of it fails)
    v.want('127.0.0.1', junkPort, pk, 1);
    assert.equal(v.verified('127.0.0.1', junkPort, pk), undefined);
  } finally {
    v.stop();
    junk.closeAllConnections();
    await new Promise<void>((r) => junk.close(() => r()));
    await node.stop();
  }
});

test('the verifier: a private stream is proved by its signed marker, named by nothing, and said to be private', async () => {
  const node = await DrayerNode.start({ dataDir: tmpDir(), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const v = new NearbyVerifier();
  try {
    const s = await node.call('createStream', { name: 'Secret society', private: true });
    const pub = await node.call('createStream', { name: 'Open letters' });
    const port = node.lanAddress()!.port;
    const pk = new Uint8Array(Buffer.from(s.publicKey, 'base64'));
    const ppk = new Uint8Array(Buffer.from(pub.publicKey, 'base64'));
    v.want('127.0.0.1', port, pk, 1);
    v.want('127.0.0.1', port, ppk, 1);
    assert.ok(await until(() => v.verified('127.0.0.1', port, pk) !== undefined && v.verified('127.0.0.1', port, ppk) !== undefined, 3000));
    const info = v.verified('127.0.0.1', port, pk)!;
    assert.equal(info.private, true);
    assert.equal(info.name, '', 'its name is sealed');
    assert.equal(v.verified('127.0.0.1', port, ppk)!.private, undefined, 'a public stream is not said private');
  } finally {
    v.stop();
    await node.stop();
  }
});

/** Runs a scenario of fixtures/nearby-child.ts in a private namespace: its observations, and them as text for messages. */
async function childResult(t: TestContext, scenario: '1' | 'recheck'): Promise<{ r: any; show: string }> {
  const r = (await childJson<{ result: any }>(child, { env: { ...process.env, DRAYER_NEARBY_CHILD: scenario }, timeoutMs: 45_000 })).result;
  const show = JSON.stringify(r, null, 1);
  t.diagnostic(show);
  return { r, show };
}

test("Nearby on a LAN with hostile announcers: only the real node's stream, by its verified name, within a second", { timeout: 60_000 }, async (t) => {
  if (!netnsAvailable()) {
    t.skip(NETNS_SKIP_REASON);
    return;
  }
  const { r, show } = await childResult(t, '1');
  assert.ok(
    r.sent.every((n: number) => n >= 50),
    show,
  );
  assert.ok(r.heard >= 4, `discovery heard the announcers and the real node: ${show}`);
  assert.equal(r.shownOther, 0, `made-up streams showed in Nearby: ${show}`);
  assert.equal(r.eventedOther, 0, `made-up streams were listed in peerFound: ${show}`);
  assert.ok(r.realMs !== null && r.realMs <= 1500, show);
  assert.deepEqual(r.real, { name: 'Real \u2615 stream', peers: ['R'] }, show);
  assert.deepEqual(r.names, ['Real \u2615 stream'], show);
  // 10 s of announcements: a few lookups each (2 requests per lookup), not one per stream
  // (the real node asks them too: two nodes, each at most 4 lookups in 10 s)
  assert.ok(r.requests.forged <= 20 && r.requests.unsigned <= 20, show);
  assert.ok(r.requests.forged >= 2 && r.requests.unsigned >= 2, `the fake servers were asked at all: ${show}`);
  assert.ok(r.goneMs !== null && r.goneMs <= 1500, show);
});

test(
  "a stream's posts cost no lookups at computers that do not follow it (none before Nearby is asked for); a new name is looked up at once",
  { timeout: 60_000 },
  async (t) => {
    if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
    const { r, show } = await childResult(t, 'recheck');
    // before: every stream heard was looked up at once, whether or not anyone ever looked at Nearby
    assert.equal(r.unaskedLookups, 0, `a node nobody asked for Nearby looked a stream up: ${show}`);
    // before: every change in a peer's listing checked all it lists and emitted peerFound, for nobody
    assert.equal(r.unaskedPeerEvents, 0, `a node nobody asked for Nearby told of a peer's changes: ${show}`);
    assert.ok(r.askedPeerEvents >= 1, `once Nearby was asked for, a peer's changes were not told: ${show}`);
    assert.ok(r.firstMs !== null && r.firstLookups >= 1, `Nearby never showed the stream: ${show}`);
    assert.ok(r.announced >= 20, `the stream was not announced again (nothing was tested): ${show}`);
    // before: every announcement at a newer M-tip, 200 ms after the last lookup, looked it up again
    assert.equal(r.postLookups, 0, `posts made a computer that does not follow the stream look it up again: ${show}`);
    assert.ok(r.renameMs !== null && r.renameMs <= 2000, `the new name did not show: ${show}`);
    assert.ok(r.renameLookups >= 1 && r.renameLookups <= 2, show);
  },
);

test('lookups waiting their turn are dropped when the stream is no longer wanted (followed meanwhile): no requests', async () => {
  let requests = 0;
  const srv = http.createServer((_req, res) => {
    requests++;
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const held = new Set<string>();
  const v = new NearbyVerifier({ stillWanted: (pk) => !held.has(Buffer.from(pk).toString('hex')), limits: { perSecond: 1, burst: 1 } });
  try {
    const keys = Array.from({ length: 10 }, () => randomBytes(32));
    for (const k of keys) v.want('127.0.0.1', port, k, 1);
    // all but the first wait for tokens (1 a second); then every stream is followed here
    for (const k of keys) held.add(Buffer.from(k).toString('hex'));
    await sleep(2500);
    assert.ok(requests <= 1, `${requests} requests for streams followed while their lookups waited`);
    assert.ok(v.stats().lookups <= 1, JSON.stringify(v.stats()));
  } finally {
    v.stop();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
