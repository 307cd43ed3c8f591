// Home's first reads come with the page (issue 17, start-up of a big library): the web UI's HTML
// preloads GET /api/boot, which answers the calls Home paints from (app/node/boot-calls.ts) as the
// API answers each; the page takes them from there instead of five POSTs after its scripts ran.
// A change between that reply and the page's event channel is caught by the channel's hello, and
// the page then reads everything again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_CALLS, bootKey, type BootReply } from '../app/node/boot-calls.js';
import { signInLink, shoot, uiSuite } from './ui-harness.js';

const ui = uiSuite();

async function boot(origin: string, token: string): Promise<BootReply> {
  const res = await fetch(`${origin}/api/boot`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return (await res.json()) as BootReply;
}

/** The first `hello` of the event channel: the node's count of changes told of so far. */
async function hello(origin: string, token: string): Promise<number> {
  const ac = new AbortController();
  const res = await fetch(`${origin}/api/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const m = /event: hello\ndata: (.*)\n/.exec(text);
      if (m) return (JSON.parse(m[1]!) as { changes: number }).changes;
      const { value, done } = await reader.read();
      if (done) throw new Error(`the event channel closed before its hello: ${text}`);
      text += Buffer.from(value).toString('utf8');
    }
  } finally {
    ac.abort();
  }
}

test('GET /api/boot answers each boot call as the API does, only to the signed-in, and the HTML preloads it', async () => {
  const n = await ui.node('boot-api');
  const origin = new URL(n.url).origin;
  const mine = await n.call('createStream', { name: 'Boot test', about: 'What Home shows first' });
  for (let i = 0; i < 3; i++) await n.call('post', { publicKey: mine.publicKey, title: `Post ${i}`, body: `Body <script>alert(${i})</script>` });

  const b = await boot(origin, n.token);
  assert.deepEqual(Object.keys(b.results).sort(), BOOT_CALLS.map((c) => bootKey(c.method, c.arg)).sort());
  for (const c of BOOT_CALLS) {
    const viaApi = await fetch(`${origin}/api/${c.method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${n.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(c.arg ?? {}),
    }).then((r) => r.json() as Promise<unknown>);
    const got = b.results[bootKey(c.method, c.arg)] as { ok: boolean; value: unknown };
    assert.equal(got.ok, true, `${c.method} answered`);
    assert.deepEqual(got, viaApi, `${c.method}: the boot reply is what the API answers`);
  }
  const timeline = (b.results[bootKey('timeline', BOOT_CALLS.find((c) => c.method === 'timeline')!.arg)] as { value: { title: string }[] }).value;
  assert.deepEqual(
    timeline.map((p) => p.title),
    ['Post 2', 'Post 1', 'Post 0'],
  );

  // Not signed in, or from another site: refused, as every API call is.
  assert.equal((await fetch(`${origin}/api/boot`)).status, 401);
  assert.equal((await fetch(`${origin}/api/boot`, { headers: { authorization: `Bearer ${n.token}`, 'sec-fetch-site': 'cross-site' } })).status, 403);

  const html = await fetch(n.url).then((r) => r.text());
  const preload = html.indexOf('<link rel="preload" href="/api/boot" as="fetch" crossorigin>');
  assert.ok(preload > html.indexOf('<script') && preload < html.indexOf('</head>'), 'the preload is in the head, after the scripts');
  assert.equal(html.match(/api\/boot/g)!.length, 1);

  // The channel's hello counts the changes the node told of: the same as the boot reply's until one comes.
  assert.equal(await hello(origin, n.token), b.changes);
  await n.call('post', { publicKey: mine.publicKey, title: 'After the boot', body: '' });
  const after = await hello(origin, n.token);
  assert.ok(after > b.changes, `a post counts as a change (${b.changes} → ${after})`);
  assert.equal((await boot(origin, n.token)).changes, after);
});

test('the page paints Home from the boot reply: no API call before the first post cards, one GET of it', async () => {
  const n = await ui.node('boot-page');
  const mine = await n.call('createStream', { name: 'Morning notes', about: '' });
  await n.call('post', { publicKey: mine.publicKey, title: 'First light', body: 'Coffee and the river.' });
  const context = await ui.context({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) seen.push(`${r.method()} ${u.pathname}`);
  });
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  await page.goto(await n.signInUrl());
  await page.locator('article', { hasText: 'First light' }).waitFor();
  const before = [...seen];
  const booted = new Set(BOOT_CALLS.map((c) => `POST /api/${c.method}`));
  assert.deepEqual(
    before.filter((r) => r === 'GET /api/boot' || booted.has(r)),
    ['GET /api/boot'],
    `before Home painted the page asked for none of the boot calls, only for the boot reply: ${before.join(', ')}`,
  );
  await page
    .getByRole('link', { name: /Morning notes/ })
    .first()
    .waitFor();
  // The event channel said hello with the same count: nothing was read again.
  await page.waitForTimeout(500);
  assert.deepEqual(seen.filter((r) => booted.has(r) || r === 'GET /api/boot').length, 1, `nothing read again: ${seen.join(', ')}`);
  assert.deepEqual(errors, []);
  await shoot(page, 'boot-home');
});

test('a change between the boot reply and the event channel is not lost: the page reads again', async () => {
  const n = await ui.node('boot-stale');
  const origin = new URL(n.url).origin;
  const mine = await n.call('createStream', { name: 'Evening notes', about: '' });
  await n.call('post', { publicKey: mine.publicKey, title: 'Before the page', body: '' });
  const context = await ui.context({ viewport: { width: 1280, height: 800 } });
  // The boot reply as the node gave it, then a post, then that (now old) reply to the page.
  let served = 0;
  await context.route(`${origin}/api/boot`, async (route) => {
    const res = await route.fetch();
    const body = await res.text();
    if (served++ === 0) await n.call('post', { publicKey: mine.publicKey, title: 'Written while the page loaded', body: '' });
    await route.fulfill({ response: res, body });
  });
  const page = await context.newPage();
  await page.goto(await signInLink(origin, n.token));
  await page.locator('article', { hasText: 'Written while the page loaded' }).waitFor({ timeout: 10_000 });
  await page.locator('article', { hasText: 'Before the page' }).waitFor();
  assert.ok(served >= 1, 'the page read the boot reply');
  // and no banner about the event channel stays
  await page.waitForTimeout(300);
  assert.equal(await page.locator('text=Live updates paused').count(), 0);
});
