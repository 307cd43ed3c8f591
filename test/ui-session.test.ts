// The web UI's session in a real Chromium against real headless nodes (issue 14 item 3, issue 13
// item 14): the sign-in code leaves the address bar and is not in the page's reach; a node
// restarted on the same data directory keeps its port and the open tab carries on; when the port
// is taken the node moves, and the stale tab says to open the new link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { assertAccessible, shoot, uiSuite } from './ui-harness.js';
import { tmpDir } from './helpers.js';

const ui = uiSuite();

test('the tab signs in once, keeps going across a restart on the same port, and says to open the new link when the node moved', async () => {
  const dataDir = path.join(tmpDir('drayer-ui-'), 'session');
  const first = await ui.node('session', { dataDir });
  await first.call('createStream', { name: 'Kept', about: '' });
  await ui.withApp(first.url, async ({ page, context, problems }) => {
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    // The code has left the address bar and the history entry; the cookie is out of the page's reach.
    assert.equal(new URL(page.url()).search, '');
    assert.equal(await page.evaluate('location.href.includes("code=")'), false);
    assert.equal(await page.evaluate('document.cookie'), '');
    const cookies = await context.cookies(first.url.replace(/\/$/, '/api/'));
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');
    assert.equal(cookies[0]!.value, first.token);
    // An export link (a plain download) carries no credential either.
    const exportHref = await page.evaluate(
      `fetch('/api/listStreams', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status)`,
    );
    assert.equal(exportHref, 200, 'the cookie signs same-origin calls');

    // Restarted on the same data directory: the same address, and the open tab carries on.
    await first.stop();
    await page
      .getByRole('status')
      .filter({ hasText: /Live updates paused|not answering/ })
      .waitFor();
    const second = await ui.node('session', { dataDir });
    assert.equal(second.url, first.url, 'the web UI keeps its port');
    await page
      .getByRole('status')
      .filter({ hasText: /Live updates paused|not answering/ })
      .waitFor({ state: 'detached', timeout: 20_000 });
    await second.call('post', { publicKey: (await second.call('listStreams', undefined))[0]!.publicKey, title: '', body: 'After the restart' });
    await page.getByRole('article').filter({ hasText: 'After the restart' }).waitFor({ timeout: 20_000 });

    // Restarted while another program has the port: it moves, and the stale tab says what to do.
    await second.stop();
    const port = Number(new URL(first.url).port);
    const squatter = http.createServer((_q, r) => r.writeHead(404, { 'content-type': 'text/plain' }).end('something else'));
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    try {
      const third = await ui.node('session', { dataDir });
      assert.notEqual(third.url, first.url);
      const banner = page.getByRole('status').filter({ hasText: 'Drayer is not answering at this address' });
      await banner.waitFor({ timeout: 30_000 });
      assert.match(await banner.innerText(), /open the link it printed/);
      await shoot(page, 'session-moved-light');
      await assertAccessible(page, 'stale tab');
      // The new link works in a new tab.
      await ui.withApp(third.url, { dark: true, width: 480 }, async (moved) => {
        await moved.page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
        await moved.page.getByRole('article').filter({ hasText: 'After the restart' }).waitFor();
        assert.deepEqual(
          moved.problems.errors.filter((e) => !/Failed to load resource/.test(e)),
          [],
        );
      });
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    // The console saw the connection drop (the browser logs failed event-stream loads): nothing else.
    assert.deepEqual(
      problems.errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(e)),
      [],
    );
  });
});

test('a tab without a session (a bookmark in another browser) says how to sign in', async () => {
  const n = await ui.node('signed-out', { dataDir: path.join(tmpDir('drayer-ui-'), 'out') });
  const context = await ui.context({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  try {
    const page = await context.newPage();
    await page.goto(n.url); // no code: not signed in
    await page.getByRole('heading', { name: 'This tab is not signed in' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'Open the link that "drayer serve --ui" printed' }).waitFor();
    await assertAccessible(page, 'signed out');
    await shoot(page, 'session-signed-out-light');
    // A used link says so, and what to do.
    const link = await n.signInUrl();
    const once = await ui.context();
    await (await once.newPage()).goto(link);
    await once.close();
    const res = await page.goto(link);
    assert.equal(res?.status(), 401);
    await page.getByRole('heading', { name: 'This sign-in link no longer works' }).waitFor();
    await page.getByText('drayer ui-link').waitFor();
    await shoot(page, 'session-link-used');
  } finally {
    await context.close();
  }
});
