// The desktop shell's plain modules (main/): the window's options and remembered place, the
// app:// pages and their CSP, where links may go, drayer: links from the OS, the menus, the key
// cipher from safeStorage, and which new posts become notifications.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { PostView } from '../app/node/api.js';
import { keyLink } from '../app/core/keys.js';
import { keyCipherFrom } from '../main/cipher.js';
import { linkFromArgv, parseDrayerLink, streamOfPage, streamRoute } from '../main/links.js';
import { appMenu, commandsOf, routeOf, syncModeAfter, trayMenu, trayStateOf, UI_SHORTCUTS, type MenuSpec } from '../main/menu.js';
import { allowPermission, decideNavigation, decideWindowOpen } from '../main/navigation.js';
import { excerpt, NotificationPolicy } from '../main/notify.js';
import { APP_CSP, appHeaders, resolveAppFile } from '../main/protocol.js';
import { MIN_SIZE, parseWindowState, restoreWindowState, windowOptions } from '../main/window.js';
import { tmpDir } from './helpers.js';

// ---------- window ----------

const primary = { x: 0, y: 0, width: 1920, height: 1050 };
const right = { x: 1920, y: 0, width: 2560, height: 1400 };

test('window options carry every item of the security checklist', () => {
  const o = windowOptions(restoreWindowState(null, [primary], primary), { preload: '/x/preload.cjs', dark: false });
  const w = o.webPreferences!;
  assert.equal(w.contextIsolation, true);
  assert.equal(w.sandbox, true);
  assert.equal(w.nodeIntegration, false);
  assert.equal(w.nodeIntegrationInWorker, false);
  assert.equal(w.nodeIntegrationInSubFrames, false);
  assert.equal(w.webviewTag, false);
  assert.equal(w.webSecurity, true);
  assert.equal(w.allowRunningInsecureContent, false);
  assert.equal(w.experimentalFeatures, false);
  assert.equal(w.navigateOnDragDrop, false);
  assert.equal(w.preload, '/x/preload.cjs');
  assert.equal(o.show, false, 'shown when ready, no white flash');
});

test('a remembered window opens where it was, on a display that is still there', () => {
  const saved = { bounds: { x: 2100, y: 100, width: 1300, height: 900 }, maximized: true };
  assert.deepEqual(restoreWindowState(saved, [primary, right], primary), saved);
  const text = JSON.stringify(saved);
  assert.deepEqual(parseWindowState(text), saved);
});

test('a window last seen on an unplugged display opens centred on the primary one', () => {
  const saved = { bounds: { x: 2100, y: 100, width: 1300, height: 900 }, maximized: false };
  const r = restoreWindowState(saved, [primary], primary);
  assert.deepEqual(r.bounds, { x: 410, y: 145, width: 1100, height: 760 });
});

test('a window off the top or mostly off screen is brought back, and never bigger than its display', () => {
  const small = { x: 0, y: 0, width: 1280, height: 720 };
  const high = restoreWindowState({ bounds: { x: 100, y: -500, width: 800, height: 600 }, maximized: false }, [small], small);
  assert.ok(high.bounds.y >= 0, 'its title bar can be grabbed');
  const huge = restoreWindowState({ bounds: { x: 10, y: 10, width: 5000, height: 4000 }, maximized: false }, [small], small);
  assert.ok(huge.bounds.width <= 1280 && huge.bounds.height <= 720);
  const edge = restoreWindowState({ bounds: { x: 1250, y: 10, width: 800, height: 600 }, maximized: false }, [small], small);
  assert.ok(edge.bounds.x + 120 <= 1280, 'enough of it is on screen to grab');
  const tiny = restoreWindowState({ bounds: { x: 10, y: 10, width: 50, height: 50 }, maximized: false }, [small], small);
  assert.ok(tiny.bounds.width >= MIN_SIZE.width && tiny.bounds.height >= MIN_SIZE.height);
});

test('a damaged window-state file is ignored', () => {
  for (const t of [null, '', '{', '[]', '{"bounds":{"x":"1"}}', '{"bounds":{"x":1,"y":2,"width":null,"height":4}}', 'null']) {
    assert.equal(parseWindowState(t), null, String(t));
  }
});

// ---------- app pages and CSP ----------

test('the CSP allows no inline script or style, no eval, no remote code, no frames or plugins', () => {
  const d = Object.fromEntries(
    APP_CSP.split(';')
      .map((x) => x.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  assert.deepEqual(d['default-src'], ["'self'"]);
  assert.deepEqual(d['script-src'], ["'self'"]);
  assert.deepEqual(d['style-src'], ["'self'"]);
  assert.deepEqual(d['object-src'], ["'none'"]);
  assert.deepEqual(d['frame-src'], ["'none'"]);
  assert.deepEqual(d['frame-ancestors'], ["'none'"]);
  assert.deepEqual(d['base-uri'], ["'none'"]);
  assert.deepEqual(d['connect-src'], ["'self'"]);
  assert.ok(!/unsafe-|http:|https:|\*|wasm-unsafe|nonce-|sha256-/.test(APP_CSP));
  const h = appHeaders('/r/index.html');
  assert.equal(h['content-security-policy'], APP_CSP);
  assert.equal(h['content-type'], 'text/html; charset=utf-8');
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(appHeaders('/r/assets/a.js')['content-security-policy'], APP_CSP, 'every answer carries it');
  assert.equal(appHeaders('/r/assets/a.js')['content-type'], 'text/javascript; charset=utf-8');
});

test('the built page has no inline script or style, so the CSP leaves it whole', () => {
  const html = fs.readFileSync(new URL('../renderer/index.html', import.meta.url), 'utf8');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1]!, /\bsrc=/, 'scripts come from files');
    assert.equal(m[2]!.trim(), '');
  }
  assert.ok(!/<style\b|\sstyle=|\son[a-z]+=/i.test(html));
});

test('app:// paths map into the renderer folder only; client routes get the page', () => {
  const root = tmpDir();
  fs.mkdirSync(path.join(root, 'assets'));
  for (const f of ['index.html', 'assets/a.js']) fs.writeFileSync(path.join(root, f), 'x');
  const exists = (f: string) => fs.existsSync(f) && fs.statSync(f).isFile();
  const r = (u: string) => resolveAppFile(u, root, exists);
  assert.equal(r('app://drayer/'), path.join(root, 'index.html'));
  assert.equal(r('app://drayer/index.html#/stream/x'), path.join(root, 'index.html'));
  assert.equal(r('app://drayer/assets/a.js'), path.join(root, 'assets', 'a.js'));
  assert.equal(r('app://drayer/settings'), path.join(root, 'index.html'));
  assert.equal(r('app://drayer/assets/missing.js'), null);
  for (const bad of [
    'app://drayer/../secret.js',
    'app://drayer/%2e%2e/%2e%2e/etc/passwd',
    'app://drayer/..%2fsecret.js',
    'app://drayer/%00.js',
    'app://other/index.html',
    'file:///etc/passwd',
    'app://drayer/%E0%A4%A',
  ]) {
    const got = r(bad);
    assert.ok(got === null || got === path.join(root, 'index.html'), `${bad} -> ${got}`);
  }
});

// ---------- navigation, windows, permissions ----------

test('the window never navigates away: web and mail links go to the system browser, drayer: links to the app', () => {
  assert.deepEqual(decideNavigation('app://drayer/index.html#/settings'), { action: 'allow' });
  assert.deepEqual(decideNavigation('https://example.com/a?b#c'), { action: 'external', url: 'https://example.com/a?b#c' });
  assert.deepEqual(decideNavigation('http://192.168.1.5:8080/x/'), { action: 'external', url: 'http://192.168.1.5:8080/x/' });
  assert.deepEqual(decideNavigation('mailto:a@example.com'), { action: 'external', url: 'mailto:a@example.com' });
  assert.equal(decideNavigation('drayer:abc').action, 'drayer');
  for (const u of [
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'app://evil/',
    'chrome://settings',
    'smb://host/share',
    'ms-msdt:/id',
    'https://user:pw@example.com/',
    'nonsense',
  ]) {
    assert.equal(decideNavigation(u).action, 'deny', u);
  }
});

test('no new window is ever opened: http(s) links open outside, everything else is refused', () => {
  assert.deepEqual(decideWindowOpen('https://example.com/'), { action: 'external', url: 'https://example.com/' });
  assert.equal(decideWindowOpen('app://drayer/index.html').action, 'deny', 'not even the app itself in a second window');
  assert.equal(decideWindowOpen('about:blank').action, 'deny');
  assert.equal(decideWindowOpen('file:///tmp/x.html').action, 'deny');
});

test('permissions are denied, but for clipboard writes and the camera (video only) from the app page', () => {
  assert.equal(allowPermission('clipboard-sanitized-write', 'app://drayer/index.html'), true);
  assert.equal(allowPermission('clipboard-sanitized-write', 'https://example.com/'), false);
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fullscreen', 'pointerLock', 'hid', 'serial', 'usb']) {
    assert.equal(allowPermission(p, 'app://drayer/'), false, p);
  }
  assert.equal(allowPermission('clipboard-sanitized-write', undefined), false);
  // the camera, video only, for scanning QR codes: from the app's page, never the microphone, never elsewhere
  assert.equal(allowPermission('media', 'app://drayer/index.html', ['video']), true);
  for (const types of [['audio'], ['video', 'audio'], [], ['unknown']]) assert.equal(allowPermission('media', 'app://drayer/', types), false, types.join());
  assert.equal(allowPermission('media', 'https://example.com/', ['video']), false);
  assert.equal(allowPermission('media', 'app://evil/', ['video']), false);
  assert.match(appHeaders('index.html')['permissions-policy'] ?? '', /camera=\(self\), microphone=\(\)/);
});

// ---------- drayer: links ----------

const pk = new Uint8Array(32).map((_, i) => i * 7 + 1);
const pkText = Buffer.from(pk).toString('base64');

test('drayer: links from argv (Windows, Linux) and open-url (macOS) name a stream', () => {
  const link = keyLink(pk);
  assert.deepEqual(parseDrayerLink(link), { publicKey: pkText, link });
  assert.equal(parseDrayerLink(`drayer://${Buffer.from(pk).toString('base64url')}/`)?.publicKey, pkText);
  assert.equal(parseDrayerLink(`DRAYER:${Buffer.from(pk).toString('base64url')}`)?.publicKey, pkText);
  assert.equal(linkFromArgv(['/usr/bin/drayer', '--no-sandbox', '--allow-file-access-from-files', link])?.publicKey, pkText);
  assert.equal(linkFromArgv(['C:\\Program Files\\Drayer\\Drayer.exe', '.', link])?.link, link);
  assert.equal(linkFromArgv(['/usr/bin/drayer']), null);
  assert.equal(linkFromArgv(['/usr/bin/drayer', `--x=${link}`]), null, 'a flag is not a link');
  for (const bad of ['drayer:', 'drayer:nope', 'https://example.com/', `drayer:${'A'.repeat(5000)}`, 42, null])
    assert.equal(parseDrayerLink(bad), null, String(bad).slice(0, 20));
});

test('the page says which stream it shows; a stream route round-trips', () => {
  assert.equal(streamOfPage(`app://drayer/index.html${streamRoute(pkText)}`), pkText);
  assert.equal(streamOfPage(`app://drayer/${streamRoute(pkText)}/files`), pkText);
  assert.equal(streamOfPage('app://drayer/#/settings'), null);
  assert.equal(streamOfPage('app://drayer/#/stream/garbage'), null);
  assert.equal(streamOfPage('app://drayer/'), null);
});

// ---------- menus ----------

function find(items: MenuSpec[], label: string): MenuSpec | undefined {
  for (const i of items) {
    if (i.label?.replace('&', '') === label) return i;
    const f = find(i.submenu ?? [], label);
    if (f) return f;
  }
  return undefined;
}

function accelerators(items: MenuSpec[]): string[] {
  return items.flatMap((i) => [...(i.accelerator ? [i.accelerator] : []), ...accelerators(i.submenu ?? [])]);
}

for (const platform of ['linux', 'win32', 'darwin'] as const) {
  test(`the ${platform} menu: File, View (theme, zoom), Help, with the UI's own shortcuts left to the page`, () => {
    const m = appMenu({ platform, theme: 'dark', dev: false });
    const top = m.map((i) => i.label?.replace('&', '') ?? i.role);
    assert.deepEqual(top, platform === 'darwin' ? ['Drayer', 'File', 'Edit', 'View', 'window', 'Help'] : ['File', 'Edit', 'View', 'Help']);
    const file = commandsOf(m.find((i) => i.label === '&File')!.submenu!);
    for (const c of ['newPost', 'addFiles', 'openStreamFile', 'exportStream', 'exportKeys'] as const) assert.ok(file.includes(c), c);
    assert.equal(find(m, 'New Post')!.accelerator, UI_SHORTCUTS.newPost);
    assert.equal(find(m, 'Search')!.accelerator, UI_SHORTCUTS.search);
    assert.deepEqual([UI_SHORTCUTS.search, UI_SHORTCUTS.settings, UI_SHORTCUTS.newPost], ['CmdOrCtrl+K', 'CmdOrCtrl+,', 'CmdOrCtrl+N']);
    for (const label of ['New Post', 'Search', platform === 'darwin' ? 'Settings…' : 'Settings']) {
      assert.equal(find(m, label)!.registerAccelerator, false, `${label}: the page handles its key`);
    }
    const view = m.find((i) => i.label === '&View')!.submenu!;
    assert.deepEqual(
      view.filter((i) => i.role?.startsWith('zoom') || i.role === 'resetZoom').map((i) => i.role),
      ['resetZoom', 'zoomIn', 'zoomOut'],
    );
    const theme = find(view, 'Theme')!.submenu!;
    assert.deepEqual(
      theme.map((i) => [i.label, i.type, i.checked]),
      [
        ['System', 'radio', false],
        ['Light', 'radio', false],
        ['Dark', 'radio', true],
      ],
    );
    const accels = accelerators(m);
    assert.equal(new Set(accels).size, accels.length, `no shortcut twice: ${accels.join(' ')}`);
    assert.ok(!JSON.stringify(m).includes('toggleDevTools'), 'no developer tools in a release');
    assert.ok(find(m, 'Help') || m.some((i) => i.label === '&Help'));
  });
}

test('menu commands that are places in the UI navigate to its routes', () => {
  assert.equal(routeOf('search'), '#/search');
  assert.equal(routeOf('settings'), '#/settings');
  assert.equal(routeOf('newPost'), '#/');
  assert.equal(routeOf('exportKeys'), null);
});

test("the tray: open, pause sync, LAN only, quit; the check marks follow the engine's sync mode", () => {
  const item = (t: MenuSpec[], c: string) => t.find((i) => i.command === c)!;
  const paused = trayMenu(trayStateOf('paused'));
  assert.deepEqual(commandsOf(paused), ['openWindow', 'pauseSync', 'lanOnly', 'quit']);
  assert.deepEqual([item(paused, 'pauseSync').checked, item(paused, 'lanOnly').checked], [true, false]);
  for (const c of ['pauseSync', 'lanOnly']) {
    assert.equal(item(paused, c).enabled, true);
    assert.equal(item(paused, c).type, 'checkbox');
    assert.ok(!item(paused, c).label!.includes('not in this version'));
  }
  const lan = trayMenu(trayStateOf('lan'));
  assert.deepEqual([item(lan, 'pauseSync').checked, item(lan, 'lanOnly').checked], [false, true]);
  const normal = trayMenu(trayStateOf('normal'));
  assert.deepEqual([item(normal, 'pauseSync').checked, item(normal, 'lanOnly').checked], [false, false]);
  // an engine without the modes: shown, disabled, saying why
  const off = trayMenu({ paused: false, lanOnly: false, syncModes: false });
  assert.equal(item(off, 'lanOnly').enabled, false);
  assert.match(item(off, 'lanOnly').label!, /not in this version/);
});

test('tray clicks: an item that is on turns sync back to normal, one that is off turns its mode on', () => {
  assert.equal(syncModeAfter('pauseSync', 'normal'), 'paused');
  assert.equal(syncModeAfter('pauseSync', 'paused'), 'normal');
  assert.equal(syncModeAfter('pauseSync', 'lan'), 'paused');
  assert.equal(syncModeAfter('lanOnly', 'normal'), 'lan');
  assert.equal(syncModeAfter('lanOnly', 'lan'), 'normal');
  assert.equal(syncModeAfter('lanOnly', 'paused'), 'lan');
});

// ---------- the key cipher ----------

test("safeStorage seals keys only where it really encrypts (not Linux's basic_text fallback)", () => {
  const fake = (available: boolean, backend?: string) => ({
    isEncryptionAvailable: () => available,
    encryptString: (s: string) => Buffer.from(s),
    decryptString: (b: Buffer) => b.toString(),
    ...(backend ? { getSelectedStorageBackend: () => backend } : {}),
  });
  assert.equal(keyCipherFrom(fake(true, 'gnome_libsecret'), 'linux').isEncryptionAvailable(), true);
  assert.equal(keyCipherFrom(fake(true, 'kwallet5'), 'linux').isEncryptionAvailable(), true);
  assert.equal(keyCipherFrom(fake(true, 'basic_text'), 'linux').isEncryptionAvailable(), false);
  assert.equal(keyCipherFrom(fake(true, 'unknown'), 'linux').isEncryptionAvailable(), false);
  assert.equal(keyCipherFrom(fake(false), 'darwin').isEncryptionAvailable(), false);
  assert.equal(keyCipherFrom(fake(true), 'win32').isEncryptionAvailable(), true);
});

// ---------- notifications ----------

const post = (key: string, ts: number, title = '', body = 'text'): PostView => ({ key, id: ts, ts, mod: ts, title, body });
const followed = { enabled: true, focused: false, owned: false, streamName: 'Ana' };

test('what a stream holds at start or after its first clone is not news; a new post then is', () => {
  const p = new NotificationPolicy(() => 0);
  assert.equal(p.decide('A', [post('a', 1), post('b', 2)], followed), null, 'first sight sets the baseline');
  const n = p.decide('A', [post('c', 3, 'Hello'), post('b', 2), post('a', 1)], followed);
  assert.deepEqual(n, { publicKey: 'A', postKey: 'c', title: 'Ana', body: 'Hello', count: 1 });
  assert.equal(p.decide('A', [post('c', 3, 'Hello')], followed), null, 'the same post is told once');
  const q = new NotificationPolicy(() => 0);
  q.baseline('B', [post('x', 5)]);
  assert.equal(q.decide('B', [post('y', 6)], followed)?.postKey, 'y');
});

test('no notices for your own streams, with the setting off, or with the window in front', () => {
  for (const ctx of [
    { ...followed, owned: true },
    { ...followed, enabled: false },
    { ...followed, focused: true },
  ]) {
    const p = new NotificationPolicy(() => 0);
    p.baseline('A', []);
    assert.equal(p.decide('A', [post('n', 9)], ctx), null, JSON.stringify(ctx));
    assert.equal(p.decide('A', [post('n', 9)], followed), null, 'and it is not told later either');
  }
});

test('a stream forgotten (unfollowed) is at first sight again when followed anew: its clone is not news', () => {
  let now = 0;
  const p = new NotificationPolicy(() => now);
  p.baseline('A', [post('a', 1)]);
  assert.equal(p.decide('A', [post('b', 2)], followed)?.postKey, 'b');
  p.forget('A');
  now = 120_000;
  assert.equal(p.decide('A', [post('c', 3), post('b', 2)], followed), null, 'the new first clone sets the baseline');
  assert.equal(p.decide('A', [post('d', 4)], followed)?.postKey, 'd');
});

test('edits of old posts are not news (posts are new by their creation time)', () => {
  const p = new NotificationPolicy(() => 0);
  p.baseline('A', [post('a', 10)]);
  assert.equal(p.decide('A', [{ ...post('a', 10), mod: 99, title: 'edited' }], followed), null);
});

test('rate limits: one notice per stream a minute (the rest folded in), a few a minute in all', () => {
  let now = 0;
  const p = new NotificationPolicy(() => now);
  for (const s of ['A', 'B', 'C', 'D', 'E']) p.baseline(s, []);
  assert.equal(p.decide('A', [post('1', 1)], followed)?.count, 1);
  now = 1_000;
  assert.equal(p.decide('A', [post('2', 2)], followed), null, 'too soon for this stream');
  now = 2_000;
  assert.equal(p.decide('A', [post('3', 3)], followed), null);
  now = 61_000;
  const folded = p.decide('A', [post('4', 4, 'Four')], followed)!;
  assert.equal(folded.count, 3);
  assert.equal(folded.postKey, null, 'several posts open the stream');
  assert.match(folded.body, /^3 new posts\. Latest: Four$/);
  // the global budget: a burst of 3, then one per 20 s
  now = 200_000;
  const told = ['B', 'C', 'D', 'E'].map((s) => p.decide(s, [post('n', 10)], followed));
  assert.equal(told.filter(Boolean).length, 3);
  now = 225_000;
  assert.equal(p.decide('E', [post('m', 11)], followed)?.count, 2, 'the held-back post is told with the next');
});

test('a notice shows the title, else a line of the body without markdown, cut short', () => {
  assert.equal(excerpt({ title: 'Title', body: 'x' }), 'Title');
  assert.equal(excerpt({ title: '', body: '## Hi **there** ![pic](media/a.png) [link](https://x.y)' }), 'Hi there link');
  assert.equal(excerpt({ title: '', body: 'a'.repeat(500) }).length, 140);
  assert.equal(excerpt({ title: ' ', body: '' }), 'New post');
});

// ---------- packaging ----------

test('workers start from app.asar.unpacked in the packaged app, and from where they are elsewhere', async () => {
  const { unpacked } = await import('../app/core/threads.js');
  const packed = new URL('file:///opt/Drayer/resources/app.asar/dist/app/verify-worker.js');
  assert.equal(unpacked(packed).href, 'file:///opt/Drayer/resources/app.asar.unpacked/dist/app/verify-worker.js');
  const win = new URL('file:///C:/Program%20Files/Drayer/resources/app.asar/dist/app/checkpointer-worker.js');
  assert.equal(unpacked(win).href, 'file:///C:/Program%20Files/Drayer/resources/app.asar.unpacked/dist/app/checkpointer-worker.js');
  const dev = new URL('file:///home/me/drayer/dist/app/verify-worker.js');
  assert.equal(unpacked(dev), dev);
});

test('electron-builder.yml: the four installers, the drayer: protocol, icons, unpacked workers and native addons', () => {
  const root = new URL('../../', import.meta.url);
  const yml = fs.readFileSync(new URL('electron-builder.yml', root), 'utf8');
  assert.match(yml, /^appId: org\.drayer\.app$/m);
  assert.match(yml, /^productName: Drayer$/m);
  assert.match(yml, /target: \[AppImage, deb\]/);
  assert.match(yml, /^mac:\n(?:  .*\n)*  target: dmg$/m);
  assert.match(yml, /^win:\n(?:  .*\n)*  target: nsis$/m);
  assert.match(yml, /schemes: \[drayer\]/);
  assert.match(yml, /mimeTypes: \[x-scheme-handler\/drayer\]/);
  for (const p of ['dist/app/**', 'node_modules/better-sqlite3/**', 'node_modules/sodium-native/**', 'node_modules/require-addon/**'])
    assert.ok(yml.includes(`  - ${p}\n`), p);
  assert.match(yml, /^npmRebuild: true$/m);
  for (const icon of [...yml.matchAll(/icon: (\S+)/g)].map((m) => m[1]!)) assert.ok(fs.existsSync(new URL(icon, root)), icon);
});

test('the icons are real: PNGs 16 to 1024 px of their stated size, an .ico and an .icns', () => {
  const res = new URL('../../resources/', import.meta.url);
  for (const s of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
    const png = fs.readFileSync(new URL(`icons/${s}x${s}.png`, res));
    assert.equal(png.readUInt32BE(16), s);
    assert.equal(png.readUInt32BE(20), s);
    assert.ok(png.length > 200, 'not an empty image');
  }
  const ico = fs.readFileSync(new URL('icon.ico', res));
  assert.equal(ico.readUInt16LE(2), 1);
  assert.ok(ico.readUInt16LE(4) >= 5, 'several sizes');
  assert.equal(fs.readFileSync(new URL('icon.icns', res)).subarray(0, 4).toString('latin1'), 'icns');
  for (const t of ['tray.png', 'tray@2x.png', 'trayTemplate.png', 'trayTemplate@2x.png']) assert.ok(fs.existsSync(new URL(`tray/${t}`, res)), t);
});
