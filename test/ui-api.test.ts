// DrayerApi methods added for the desktop UI, called in-process like the rest of node.test.ts,
// and the web UI page's own security headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerNode } from '../app/node/node.js';
import { WebUi } from '../app/node/webui.js';
import { tmpDir } from './helpers.js';

async function startNode(name: string): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: path.join(tmpDir(), name), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

test('getPost returns a post whole, beyond the timeline excerpt, and null for a key it lacks', async () => {
  const n = await startNode('a');
  try {
    const s = await n.call('createStream', { name: 'Long' });
    const body = 'word '.repeat(400); // 2,000 characters: the timeline keeps 500
    const p = await n.call('post', { publicKey: s.publicKey, title: 'Essay', body });
    const [item] = await n.call('timeline', {});
    assert.ok(item!.body.length < body.length, 'the timeline holds an excerpt');
    const whole = await n.call('getPost', { publicKey: s.publicKey, key: p.key });
    assert.equal(whole?.body, body);
    assert.equal(whole?.title, 'Essay');
    assert.equal(whole?.key, p.key);
    assert.equal(await n.call('getPost', { publicKey: s.publicKey, key: 'no-such-post' }), null);
    const env = await n.callEnvelope('getPost', { publicKey: 'AAAA', key: p.key });
    assert.equal(env.ok, false);
  } finally {
    await n.stop();
  }
});

test('the web UI page is served under a strict CSP: no inline script or style, not framed', async () => {
  const n = await startNode('b');
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
  const ui = new WebUi(n, { staticDir: dir });
  try {
    const { port } = await ui.listen();
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k!, v]),
    );
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('style-src'), ["'self'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.ok(!csp.includes('unsafe'), csp);
  } finally {
    await ui.close();
    await n.stop();
  }
});
