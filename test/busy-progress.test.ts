// A peer that first answers "busy": the app's progress event and `drayer clone` both say so (a wait
// can last minutes; silence would look like a hang), then the pull finishes with everything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Stream } from '../app/store/store.js';
import { lanBench } from './lan-harness.js';

const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));
const h = lanBench('drayer-busy-progress-');

/** A writable stream of 20 posts served by the real LAN server, behind a front that refuses the first two requests as busy. */
async function busyPeer(): Promise<{ w: Stream; url: string }> {
  const w = h.writer('Busy');
  w.batch((b) => {
    for (let i = 0; i < 20; i++) b.put('post', `p${i}`, new TextEncoder().encode(JSON.stringify({ title: `t${i}`, body: 'b' })));
  });
  const { port } = await h.serve();
  const front = await h.listen((req, res, hit) => {
    if (hit <= 2) {
      res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8', 'Drayer-Sync': 'changes' });
      return void res.end('This node is busy answering other syncs (60 waiting); try again in 1 s.\n');
    }
    const up = http.request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  return { w, url: front.url };
}

test("a follow from a busy peer: the node's progress events say it is busy and when it asks again", async () => {
  const { w, url } = await busyPeer();
  const node = await h.node();
  const waits: string[] = [];
  node.subscribe((e) => {
    if (e.event === 'syncProgress' && e.data.waiting) waits.push(e.data.waiting);
  });
  const s = await node.call('follow', { key: Buffer.from(w.publicKey).toString('hex'), url });
  assert.equal(s.records, 21, 'info and 20 posts');
  assert.ok(waits.length >= 1, 'no progress event said the peer was busy');
  assert.match(waits[0]!, /is busy; asking again in \d+ s$/);
});

test('clone from a busy peer: "is busy; asking again in N s" on stderr, then every record arrives', async () => {
  const { w, url } = await busyPeer();
  const out = path.join(h.dir, 'busy-clone.stream');
  const run = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const c = spawn(process.execPath, [BIN, 'clone', url, Buffer.from(w.publicKey).toString('hex'), out], { env: { ...process.env, DRAYER_DEBUG: '' } });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, err }));
  });
  assert.equal(run.code, 0, run.err);
  assert.match(run.err, new RegExp(`${url.replace(/\./g, '\\.')} is busy; asking again in \\d+ s`));
  const s = Stream.open(out);
  try {
    assert.equal(s.count('post'), 20);
  } finally {
    s.close();
  }
});
