// The headless web UI's door (issue 14 items 3, 4, 9; issue 13 item 14): real nodes, real HTTP
// on 127.0.0.1, raw requests shaped the way a hostile page, another local user or a script sends
// them. The credential never rides in a URL, other sites and host names are refused, a sign-in
// code works once and not for long, and the UI keeps its port across restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DrayerNode } from '../app/node/node.js';
import { WebUi } from '../app/node/webui.js';
import { tmpDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'drayer.js');

async function startNode(dir = path.join(tmpDir(), 'n')): Promise<DrayerNode> {
  return DrayerNode.start({ dataDir: dir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
}

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request exactly as given (Host, Origin, Sec-Fetch-Site, Cookie included): fetch would rewrite some. */
function raw(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: { host: `127.0.0.1:${port}`, ...opts.headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    // A stream answer (events) never ends by itself: headers are enough.
    req.on('response', (res) => {
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve({ status: res.statusCode!, headers: res.headers, body: '' });
        req.destroy();
      }
    });
    req.end(opts.body);
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };

async function withUi(
  fn: (ui: WebUi, port: number, token: string, node: DrayerNode, url: string) => Promise<void>,
  opts: ConstructorParameters<typeof WebUi>[1] = {},
): Promise<void> {
  const node = await startNode();
  const ui = new WebUi(node, { staticDir: tmpDir(), ...opts });
  try {
    const { port, token, url } = await ui.listen();
    await fn(ui, port, token, node, url);
  } finally {
    await ui.close();
    await node.stop();
  }
}

test('the token is never taken from the query string (calls, events, downloads)', async () => {
  await withUi(async (_ui, port, token) => {
    const call = await raw(port, { method: 'POST', path: `/api/listStreams?token=${token}`, headers: JSON_TYPE, body: '{}' });
    assert.equal(call.status, 401);
    assert.equal(JSON.parse(call.body).error.code, 'UNAUTHORIZED');
    assert.equal((await raw(port, { path: `/api/events?token=${token}` })).status, 401);
    assert.equal((await raw(port, { path: `/api/export?publicKey=x&token=${token}` })).status, 401);
    // The same calls with the credential in a header or the session cookie work.
    assert.equal(
      (await raw(port, { method: 'POST', path: '/api/listStreams', headers: { ...JSON_TYPE, authorization: `Bearer ${token}` }, body: '{}' })).status,
      200,
    );
    assert.equal((await raw(port, { path: '/api/events', headers: { cookie: `other=1; drayer_${port}=${token}` } })).status, 200);
  });
});

test('a cross-site POST is refused and writes nothing, whatever credential it carries', async () => {
  await withUi(async (_ui, port, token, node) => {
    const s = await node.call('createStream', { name: 'Target' });
    const body = JSON.stringify({ publicKey: s.publicKey, title: 'forged', body: 'by evil.example' });
    const attempts: Record<string, string>[] = [
      // what a form on evil.example sends: text/plain, its Origin, the token in the URL it was given
      { origin: 'http://evil.example', 'content-type': 'text/plain' },
      { origin: 'http://evil.example', 'content-type': 'text/plain', cookie: `drayer_${port}=${token}` },
      { origin: 'http://evil.example', 'content-type': 'application/json', cookie: `drayer_${port}=${token}` },
      { origin: 'null', 'content-type': 'application/json', cookie: `drayer_${port}=${token}` },
      // another port on this computer is another origin (cookies do not tell ports apart)
      { origin: 'http://127.0.0.1:1', 'content-type': 'application/json', cookie: `drayer_${port}=${token}` },
      { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json', cookie: `drayer_${port}=${token}` },
      { 'sec-fetch-site': 'same-site', 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ];
    for (const headers of attempts) {
      const r = await raw(port, { method: 'POST', path: `/api/post?token=${token}`, headers, body });
      assert.equal(r.status, 403, `${JSON.stringify(headers)} → ${r.status} ${r.body}`);
      assert.match(JSON.parse(r.body).error.message, /only its own page may call it/);
    }
    // Signed in but not JSON (a simple request any page can send): refused too.
    const plain = await raw(port, { method: 'POST', path: '/api/post', headers: { 'content-type': 'text/plain', cookie: `drayer_${port}=${token}` }, body });
    assert.equal(plain.status, 415);
    assert.equal((await raw(port, { path: '/api/events', headers: { 'sec-fetch-site': 'cross-site', cookie: `drayer_${port}=${token}` } })).status, 403);
    assert.deepEqual(await node.call('listPosts', { publicKey: s.publicKey }), []);
    // Its own page (same origin, JSON, the cookie) may.
    const own = await raw(port, {
      method: 'POST',
      path: '/api/post',
      body,
      headers: { ...JSON_TYPE, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin', cookie: `drayer_${port}=${token}` },
    });
    assert.equal(own.status, 200, own.body);
    assert.equal((await node.call('listPosts', { publicKey: s.publicKey })).length, 1);
  });
});

test('a Host other than 127.0.0.1, localhost or [::1] with our port is refused (DNS rebinding)', async () => {
  await withUi(async (_ui, port, token) => {
    const auth = { ...JSON_TYPE, authorization: `Bearer ${token}` };
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', `127.0.0.2:${port}`, `localhost.evil.example:${port}`]) {
      const r = await raw(port, { method: 'POST', path: '/api/listStreams', headers: { ...auth, host }, body: '{}' });
      assert.equal(r.status, 421, `Host: ${host}`);
      assert.equal((await raw(port, { path: '/', headers: { host } })).status, 421, `Host: ${host} (page)`);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      assert.equal((await raw(port, { method: 'POST', path: '/api/listStreams', headers: { ...auth, host }, body: '{}' })).status, 200, `Host: ${host}`);
    }
  });
});

test('the sign-in code works once, expires, and sets a HttpOnly SameSite=Strict cookie for /api only', async () => {
  await withUi(async (ui, port, token, _node, url) => {
    assert.ok(!url.includes(token), 'the sign-in link must not hold the token');
    const u = new URL(url);
    assert.equal(u.pathname, '/');
    const code = u.searchParams.get('code')!;
    assert.ok(code && code.length >= 32);
    const first = await raw(port, { path: `/?code=${code}` });
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, '/', 'the code leaves the address bar');
    const setCookie = first.headers['set-cookie']![0]!;
    const attrs = setCookie.split(';').map((p) => p.trim());
    assert.equal(attrs[0], `drayer_${port}=${token}`);
    assert.ok(attrs.includes('HttpOnly'), setCookie);
    assert.ok(attrs.includes('SameSite=Strict'), setCookie);
    assert.ok(attrs.includes('Path=/api'), setCookie);
    const cookie = attrs[0]!;
    assert.equal((await raw(port, { method: 'POST', path: '/api/status', headers: { ...JSON_TYPE, cookie }, body: '{}' })).status, 200);

    // Once only: the same code again signs nobody in.
    const again = await raw(port, { path: `/?code=${code}` });
    assert.equal(again.status, 401);
    assert.equal(again.headers['set-cookie'], undefined);
    assert.match(again.body, /drayer ui-link/);
    // A browser already signed in that opens a used link just goes on, without the code.
    const signedIn = await raw(port, { path: `/?code=${code}&x=1`, headers: { cookie: `drayer_${port}=${token}` } });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.location, '/?x=1');
    // Made up, or empty: nothing.
    assert.equal((await raw(port, { path: '/?code=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).status, 401);
    assert.equal((await raw(port, { path: '/?code=' })).status, 401);
    // A new link from /auth/link (what `drayer ui-link` asks for) needs the credential.
    assert.equal((await raw(port, { method: 'POST', path: '/auth/link' })).status, 401);
    const fresh = await raw(port, { method: 'POST', path: '/auth/link', headers: { authorization: `Bearer ${token}` } });
    assert.equal(fresh.status, 200);
    assert.equal((await raw(port, { path: new URL(JSON.parse(fresh.body).url).pathname + new URL(JSON.parse(fresh.body).url).search })).status, 303);
    void ui;
  });
  // Expired: a code unused for longer than its lifetime.
  await withUi(
    async (ui, port) => {
      const late = new URL(ui.signInUrl());
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await raw(port, { path: late.pathname + late.search })).status, 401);
    },
    { codeTtlMs: 200 },
  );
});

test('GET /% and other broken percent-encoding answer 400, not 500 (web UI and LAN server)', async () => {
  await withUi(async (_ui, port, _token, node) => {
    for (const p of ['/%', '/%zz', '/assets/%E0%A4%A', '/a%']) {
      const r = await raw(port, { path: p });
      assert.equal(r.status, 400, `${p}: ${r.status} ${r.body}`);
      assert.match(r.body, /percent-encoding/);
    }
    const lan = node.lanAddress()!;
    const s = await node.call('createStream', { name: 'Lan' });
    const key = encodeURIComponent(s.publicKey);
    for (const p of ['/%', `/${key}/%`, `/${key}/webAccess/%`, `/${key}/key/%`]) {
      const r = await raw(lan.port, { path: p });
      assert.ok(r.status === 400 || r.status === 404, `LAN ${p}: ${r.status} ${r.body}`);
    }
  });
});

test('the web UI keeps its port and token across restarts; when the port is taken it moves and says so', async () => {
  const dir = tmpDir();
  const stateFile = path.join(dir, 'webui.json');
  const node = await startNode(path.join(dir, 'node'));
  try {
    const one = new WebUi(node, { staticDir: dir, stateFile });
    const first = await one.listen();
    await one.close();
    assert.equal(fs.statSync(stateFile).mode & 0o777, 0o600, 'the state file holds the token: this user only');
    const two = new WebUi(node, { staticDir: dir, stateFile });
    const second = await two.listen();
    assert.equal(second.port, first.port);
    assert.equal(second.token, first.token, 'an open tab (its cookie) and scripts keep working');
    assert.equal(two.movedFrom, null);
    await two.close();

    // Something else has the port now: a free one, remembered for next time.
    const squatter = http.createServer((_q, r) => r.end('not drayer'));
    await new Promise<void>((r) => squatter.listen(first.port, '127.0.0.1', () => r()));
    try {
      const three = new WebUi(node, { staticDir: dir, stateFile });
      const third = await three.listen();
      assert.notEqual(third.port, first.port);
      assert.equal(three.movedFrom, first.port);
      await three.close();
      assert.equal(JSON.parse(fs.readFileSync(stateFile, 'utf8')).port, third.port);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    // An explicit port is that port or an error, never another.
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const pinned = new WebUi(node, { staticDir: dir, stateFile, port: (busy.address() as import('node:net').AddressInfo).port });
      await assert.rejects(pinned.listen(), /EADDRINUSE/);
      await pinned.close();
    } finally {
      await new Promise((r) => busy.close(r));
    }
  } finally {
    await node.stop();
  }
});

/** `drayer serve ... --ui` (args appended) as a child; resolves with its first stdout line. */
async function serve(args: string[]): Promise<{ line: string; stop(waitFor?: RegExp): Promise<{ stdout: string; stderr: string }> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--no-discovery', '--ui', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DRAYER_DEBUG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child.once('exit', (c) => reject(new Error(`serve exited ${c}: ${stderr}`)));
  });
  return {
    line,
    /** waitFor: stop only once stdout shows it (the plain output prints its lines one at a time), at most 20 s */
    async stop(waitFor?: RegExp) {
      for (const end = Date.now() + 20_000; waitFor && !waitFor.test(stdout) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGTERM');
      await exited;
      return { stdout, stderr };
    },
  };
}

test('serve --ui --json prints the link to open (ui) and the API token (token); the plain output never shows the token', async () => {
  const data = path.join(tmpDir(), 'node');
  const a = await serve(['--data', data, '--json']);
  const info = JSON.parse(a.line) as { ui: string; token: string };
  await a.stop();
  const ui = new URL(info.ui);
  assert.ok(ui.searchParams.get('code'), info.ui);
  assert.ok(!info.ui.includes(info.token));
  assert.match(info.token, /^[\w-]{32,}$/);

  // Restarted on the same data directory: the same port and token (scripts and open tabs keep working).
  const b = await serve(['--data', data, '--json']);
  const again = JSON.parse(b.line) as { ui: string; token: string };
  try {
    assert.equal(new URL(again.ui).port, ui.port);
    assert.equal(again.token, info.token);
    const res = await fetch(`${ui.origin}/api/listStreams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${again.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200);
    // `drayer ui-link` asks the running node for a fresh link.
    const link = spawn(process.execPath, [BIN, 'ui-link', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    link.stdout.on('data', (d) => (out += d));
    assert.equal(await new Promise((r) => link.once('exit', r)), 0);
    const fresh = new URL(out.trim());
    assert.equal(fresh.origin, ui.origin);
    assert.ok(fresh.searchParams.get('code') && !out.includes(info.token));
    assert.equal((await raw(Number(ui.port), { path: `/?code=${fresh.searchParams.get('code')}` })).status, 303);
  } finally {
    await b.stop();
  }

  const c = await serve(['--data', data]);
  const { stdout, stderr } = await c.stop(/Web UI: /);
  assert.match(stdout, /Web UI: http:\/\/127\.0\.0\.1:\d+\/\?code=/);
  assert.ok(!stdout.includes(info.token) && !stderr.includes(info.token), 'the token stays out of the output (service journals)');
});

test("npm start opens the browser on a one-time link: the opener's argv never holds the token", async () => {
  const dir = tmpDir();
  const data = path.join(dir, 'node');
  const argvFile = path.join(dir, 'argv.json');
  // A stand-in for xdg-open: records the arguments it was started with, as /proc would show them.
  const opener = path.join(dir, 'opener.mjs');
  fs.writeFileSync(
    opener,
    `#!${process.execPath}\nimport * as fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)));\n`,
    { mode: 0o755 },
  );
  const env: NodeJS.ProcessEnv = { ...process.env, DRAYER_OPENER: opener, DRAYER_HEADLESS: '1', DRAYER_DEBUG: '' };
  delete env.DRAYER_NO_BROWSER;
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js'), '--data', data, '--host', '127.0.0.1', '--port', '0', '--no-discovery'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    // Read once the opener has written it whole.
    let argv: string[] | null = null;
    for (let i = 0; i < 200 && !argv; i++) {
      try {
        argv = JSON.parse(fs.readFileSync(argvFile, 'utf8')) as string[];
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(argv, `the opener never ran; output: ${stdout}`);
    const token = (JSON.parse(fs.readFileSync(path.join(data, 'webui.json'), 'utf8')) as { token: string }).token;
    assert.equal(argv.length, 1);
    assert.ok(!argv[0]!.includes(token), `the opener was given the token: ${argv[0]}`);
    assert.ok(!stdout.includes(token));
    const link = new URL(argv[0]!);
    assert.equal(link.hostname, '127.0.0.1');
    const port = Number(link.port);
    // What the browser does with it: signed in once; the same link later is worth nothing.
    const first = await raw(port, { path: `${link.pathname}${link.search}` });
    assert.equal(first.status, 303);
    assert.match(String(first.headers['set-cookie']), /HttpOnly/);
    assert.equal((await raw(port, { path: `${link.pathname}${link.search}` })).status, 401);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
