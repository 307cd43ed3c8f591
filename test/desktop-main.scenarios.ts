// main/index.ts itself, run under plain Node against the recording stand-in of `electron`
// (test/electron-standin/), with a real Node (app/node.ts) on a temporary data directory and the
// real preload (main/preload.ts, as compiled) as the stand-in renderer's window.drayer. Not a
// *.test.ts file: test/desktop-main.test.ts runs it in a child process inside a private network
// namespace (the app's Node listens on all addresses and multicasts, as it does for a user) with
// V8 coverage on, and checks that every line of main/ ran. It can also run alone:
//   unshare -rn node --enable-source-maps --test dist/test/desktop-main.scenarios.js
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { register } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, test } from 'node:test';
import type { DrayerEvent, ImportSummary, NodeStatus, PostView, Settings, StreamDetails, StreamSummary } from '../app/node/api.js';
import { SEALED_HEADER } from '../app/store/keystore.js';
import { DrayerNode } from '../app/node/node.js';
import { APP_URL, CHANNELS } from '../main/ipc.js';
import { APP_CSP } from '../main/protocol.js';
import { tmpDir } from './helpers.js';
import {
  app,
  contextBridge,
  dialog,
  ipcRenderer,
  Menu,
  nativeTheme,
  Notification,
  powerMonitor,
  protocol,
  screen,
  session,
  shell,
  standin,
  StandinEvent,
  Tray,
  type StandinBrowserWindow,
} from './electron-standin/index.js';

// Before main/ is imported (dynamically, below): `electron` is the stand-in from here on.
register('./electron-standin/hooks.js', import.meta.url);
process.setMaxListeners(100); // every run of main adds its SIGINT/SIGTERM handlers

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RENDERER = path.join(ROOT, 'dist', 'renderer');

interface Transport {
  call(method: string, arg?: unknown): Promise<any>;
  subscribe(listener: (e: DrayerEvent | { event: 'command'; data: { name: string; [k: string]: unknown } }) => void): () => void;
}

interface Run {
  userData: string;
  /** the preload's window.drayer */
  drayer: Transport;
  /** events and commands the page got */
  events: { event: string; data: any }[];
  win: () => StandinBrowserWindow;
}

let runs = 0;
const live: Run[] = [];

async function until<T>(f: () => T | Promise<T>, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts main as Electron would: a fresh stand-in, main imported, 'ready', the window's page and preload. */
async function launch(opts: { userData?: string; appPath?: string; argv?: string[]; setup?: () => void; ready?: boolean } = {}): Promise<Run> {
  const userData = opts.userData ?? tmpDir('drayer-desktop-');
  standin.reset({ appPath: opts.appPath ?? ROOT, userData });
  opts.setup?.();
  const argv = process.argv;
  process.argv = [process.execPath, ROOT, ...(opts.argv ?? [])];
  const n = ++runs;
  try {
    await import(`../main/index.js?run=${n}`);
  } finally {
    process.argv = argv;
  }
  const run: Run = { userData, drayer: null as unknown as Transport, events: [], win: () => standin.windows.at(-1)! };
  if (opts.ready === false) return run;
  app.emitReady();
  await until(() => standin.windows[0]?.loads.length, 'the window to load its page');
  await import(`../main/preload.js?run=${n}`);
  run.drayer = contextBridge.mainWorld.drayer as Transport;
  run.drayer.subscribe((e) => run.events.push(e));
  live.push(run);
  return run;
}

async function quit(): Promise<void> {
  if (!app.quitted) app.quit();
  await until(() => app.quitted, 'the app to quit');
}

// Each test's app quits when the test ends, failed or not: an assertion failing mid-test would
// otherwise leave its Node serving, and this process (the coverage run's child) would wait out its
// 5-minute timeout instead of failing at once. One that exited (a failed start, SIGTERM) has no quit to wait for.
afterEach(async () => {
  if (!app.quitted && app.exitCode === null) await quit();
});

function pageRoute(run: Run): string {
  return run.win().webContents.getURL().slice(APP_URL.length);
}

function labels(items: { label?: string; type?: string }[]): (string | undefined)[] {
  return items.filter((i) => i.type !== 'separator').map((i) => i.label);
}

async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
}

test('main starts as in Electron: app:// privileged before ready, one secure window whose page comes from dist/renderer under the CSP', async () => {
  const r = await launch();
  assert.deepEqual(protocol.privileged, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  assert.deepEqual(app.protocolClients, [{ protocol: 'drayer', path: undefined, args: undefined }]);
  assert.equal(standin.windows.length, 1);
  const w = r.win();
  const wp = w.options.webPreferences!;
  assert.equal(wp.contextIsolation, true);
  assert.equal(wp.sandbox, true);
  assert.equal(wp.nodeIntegration, false);
  assert.equal(wp.preload, path.join(ROOT, 'dist', 'main', 'preload.cjs'));
  assert.ok(fs.existsSync(wp.preload!), 'the bundled preload is where the window looks for it');
  assert.ok(fs.existsSync(w.options.icon as string), 'the window icon');
  const page = w.loads[0]!;
  assert.equal(page.url, APP_URL);
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-security-policy'], APP_CSP);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.body, fs.readFileSync(path.join(RENDERER, 'index.html'), 'utf8'));
  assert.equal(w.isVisible(), true, 'shown once ready-to-show');
  assert.equal(nativeTheme.themeSource, 'system');

  // The session: no permission but clipboard writes and the camera (video alone, to scan a QR code)
  // from the app's page in our own window; no downloads.
  const s = session.defaultSession;
  const asked = (permission: string, url: string, details: object = {}, wc: unknown = w.webContents): Promise<boolean> =>
    new Promise((res) => s.requestHandler!(wc as never, permission as never, res, { requestingUrl: url, ...details } as never));
  assert.equal(await asked('clipboard-sanitized-write', APP_URL), true);
  assert.equal(await asked('clipboard-sanitized-write', 'https://example.com/'), false);
  assert.equal(await asked('media', APP_URL), false, 'media naming nothing');
  assert.equal(await asked('media', APP_URL, { mediaTypes: ['video'] }), true, 'the camera for the QR scanner');
  assert.equal(await asked('media', APP_URL, { mediaTypes: ['video', 'audio'] }), false, 'never the microphone');
  assert.equal(await asked('media', 'https://example.com/', { mediaTypes: ['video'] }), false);
  assert.equal(await asked('clipboard-sanitized-write', APP_URL, {}, {}), false, 'another web contents than our window');
  assert.equal(s.checkHandler!(w.webContents as never, 'clipboard-sanitized-write', 'app://drayer', {} as never), true);
  assert.equal(s.checkHandler!(w.webContents as never, 'media', 'app://drayer', { mediaType: 'video' } as never), true);
  assert.equal(s.checkHandler!(w.webContents as never, 'geolocation', 'app://drayer', {} as never), false);
  assert.equal(s.checkHandler!(null, 'clipboard-sanitized-write', 'app://drayer', {} as never), false, 'no web contents: nothing');
  const dl = new StandinEvent();
  s.emit('will-download', dl, {}, w.webContents);
  assert.equal(dl.defaultPrevented, true);

  // Keys are sealed with safeStorage (the stand-in's), as on a desktop with a keychain.
  const mine: StreamSummary = await r.drayer.call('createStream', { name: 'Sealed' });
  const keyFile = path.join(r.userData, 'data', `${mine.file}.privatekey`);
  assert.ok(fs.readFileSync(path.isAbsolute(mine.file) ? `${mine.file}.privatekey` : keyFile, 'utf8').startsWith(SEALED_HEADER));
  await quit();
});

test('the app:// handler answers dist/renderer files with the CSP and refuses every way out', async () => {
  // An app folder of its own (a copy of dist/renderer), so the links planted below never sit in the build.
  const appPath = tmpDir('drayer-app-');
  const RENDERER = path.join(appPath, 'dist', 'renderer');
  fs.cpSync(path.join(ROOT, 'dist', 'renderer'), RENDERER, { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'dist', 'main'), path.join(appPath, 'dist', 'main'));
  const r = await launch({ appPath });
  assert.equal(r.win().loads[0]!.status, 200);
  const asset = fs.readdirSync(path.join(RENDERER, 'assets')).find((f) => f.endsWith('.js'))!;
  const js = await protocol.fetch(`${APP_URL}assets/${asset}`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(js.headers.get('content-security-policy'), APP_CSP);
  assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await js.text(), fs.readFileSync(path.join(RENDERER, 'assets', asset), 'utf8'));
  const index = fs.readFileSync(path.join(RENDERER, 'index.html'), 'utf8');
  for (const route of ['#/settings', 'stream/abc', 'index.html']) {
    const res = await protocol.fetch(APP_URL + route);
    assert.equal(res.status, 200, route);
    assert.equal(await res.text(), index, route);
  }

  // Files outside dist/renderer to aim at (beside it, above it, elsewhere), and links to one from inside.
  const outside = tmpDir('drayer-outside-');
  fs.writeFileSync(path.join(outside, 'secret.js'), 'the secret');
  fs.writeFileSync(path.join(appPath, 'dist', 'secret.js'), 'the secret');
  fs.writeFileSync(path.join(appPath, 'secret.js'), 'the secret');
  fs.symlinkSync(path.join(outside, 'secret.js'), path.join(RENDERER, 'linked.js'));
  fs.symlinkSync(outside, path.join(RENDERER, 'linked'));
  const ways = [
    'app://drayer/../secret.js', // the URL parser drops it: /secret.js, not there
    'app://drayer/%2e%2e/secret.js',
    'app://drayer/%2e%2e/%2e%2e/secret.js',
    'app://drayer/..%2fsecret.js',
    'app://drayer/assets/..%2f..%2f..%2fsecret.js',
    'app://drayer/..%5csecret.js',
    `app://drayer/${encodeURIComponent(path.join(outside, 'secret.js'))}`,
    `app://drayer/${path.join(outside, 'secret.js')}`,
    `app://drayer/${encodeURIComponent(path.join(ROOT, 'package.json'))}`,
    'app://drayer/linked.js',
    'app://drayer/linked/secret.js',
    'app://drayer/%00.js',
    'app://drayer/%E0%A4%A.js',
    'app://drayer/assets/missing.js',
    'app://elsewhere/index.html',
  ];
  for (const u of ways) {
    const res = await protocol.fetch(u);
    const body = await res.text();
    assert.equal(res.status, 404, u);
    assert.equal(res.headers.get('content-security-policy'), APP_CSP, u);
    assert.ok(!body.includes('the secret') && !body.includes('"name": "drayer"'), u);
  }
  // An absolute path that names no file is a client route: the page, never the file.
  const abs = await protocol.fetch('app://drayer//etc/passwd');
  assert.equal(await abs.text(), index);
  await quit();
});

test('an IPC envelope from the stand-in renderer reaches the real Node and back; events come back on webContents.send', async () => {
  const r = await launch();
  const w = r.win();
  const made: StreamSummary = await r.drayer.call('createStream', { name: 'Desk' });
  const post: PostView = await r.drayer.call('post', { publicKey: made.publicKey, title: 'Hello', body: 'From the stand-in renderer.' });
  assert.equal(post.title, 'Hello');
  const back: PostView[] = await r.drayer.call('listPosts', { publicKey: made.publicKey });
  assert.deepEqual(
    back.map((p) => p.title),
    ['Hello'],
  );
  await until(() => r.events.some((e) => e.event === 'recordsChanged' && e.data.publicKey === made.publicKey), 'recordsChanged at the page');
  assert.ok(w.webContents.sent.some((s) => s.channel === CHANNELS.event && (s.args[0] as DrayerEvent).event === 'recordsChanged'));
  await assert.rejects(r.drayer.call('noSuchMethod', {}), (e: { code?: string }) => e.code === 'UNKNOWN_METHOD');
  // One page listener's failure is not the others'; IPC is always connected.
  const states: string[] = [];
  (r.drayer as Transport & { onConnection(l: (s: string) => void): () => void }).onConnection((st) => states.push(st))();
  assert.deepEqual(states, ['open']);
  const off = r.drayer.subscribe(() => {
    throw new Error('a broken listener');
  });
  const seen = r.events.length;
  await r.drayer.call('post', { publicKey: made.publicKey, title: 'Still heard', body: '' });
  await until(() => r.events.length > seen, 'events past a broken listener');
  off();
  await assert.rejects(r.drayer.call('post', { publicKey: 'x' }), (e: { code?: string }) => e.code === 'INVALID_ARGUMENT');

  // Main answers only the app's own top frame: an iframe, another page, or a frame gone get nothing.
  for (const frame of [{ url: APP_URL, parent: {} }, { url: 'https://example.com/', parent: null }, null]) {
    ipcRenderer.frame = frame;
    const env = await ipcRenderer.invoke(CHANNELS.call, 'listStreams', undefined);
    assert.equal(env.ok, false);
    assert.equal(env.error.code, 'UNAUTHORIZED');
    const before = w.webContents.listenerCount('destroyed');
    ipcRenderer.send(CHANNELS.subscribe);
    assert.equal(w.webContents.listenerCount('destroyed'), before, 'no subscription for it');
  }
  ipcRenderer.frame = undefined;

  // Unsubscribed, the page gets nothing more; subscribed again, it does.
  ipcRenderer.send(CHANNELS.unsubscribe);
  let n = w.webContents.sent.length;
  await r.drayer.call('post', { publicKey: made.publicKey, title: 'Unheard', body: '' });
  await new Promise((res) => setTimeout(res, 700));
  assert.equal(w.webContents.sent.length, n);
  ipcRenderer.send(CHANNELS.subscribe);
  await r.drayer.call('post', { publicKey: made.publicKey, title: 'Heard', body: '' });
  await until(() => w.webContents.sent.length > n, 'events after subscribing again');

  // A page that is gone is dropped: closing the window (the tray keeps the app) ends its events.
  w.close();
  assert.equal(app.quitCalls, 0, 'with a tray, closing the window does not quit');
  n = w.webContents.sent.length;
  Tray.made[0]!.menu!.click('Open Drayer');
  const w2 = r.win();
  assert.notEqual(w2, w);
  await until(() => w2.loads.length, 'the new window to load');
  const again: StreamSummary[] = await ipcRenderer.invoke(CHANNELS.call, 'listStreams', undefined).then((e) => e.value);
  assert.ok(again.some((s) => s.publicKey === made.publicKey));
  await r.drayer.call('post', { publicKey: made.publicKey, title: 'After', body: '' });
  await new Promise((res) => setTimeout(res, 700));
  assert.equal(w.webContents.sent.length, n, 'nothing sent to the closed page');
  await quit();
});

test('the menu holds every item README names, with its shortcut, and each click does what it says', async () => {
  const r = await launch();
  const menu = () => Menu.applicationMenu!;
  assert.deepEqual(labels(menu().items), ['&File', '&Edit', '&View', '&Help']);
  const expect: [string, string | undefined][] = [
    ['New Post', 'CmdOrCtrl+N'],
    ['Add Files…', 'CmdOrCtrl+Shift+A'],
    ['Open Stream File…', 'CmdOrCtrl+O'],
    ['Export Stream…', 'CmdOrCtrl+Shift+E'],
    ['Export Secret Keys…', undefined],
    ['Settings', 'CmdOrCtrl+,'],
    ['Quit Drayer', 'Ctrl+Q'],
    ['Search', 'CmdOrCtrl+K'],
    ['Home', 'CmdOrCtrl+1'],
    ['Nearby', 'CmdOrCtrl+2'],
    ['Theme', undefined],
    ['System', undefined],
    ['Light', undefined],
    ['Dark', undefined],
    ['Drayer Help', undefined],
    ['About Drayer', undefined],
  ];
  for (const [label, acc] of expect) {
    const item = menu().find(label);
    assert.ok(item, label);
    assert.equal(item.accelerator, acc, label);
  }
  // The UI's own shortcuts are shown, not taken: the key reaches the page.
  for (const label of ['New Post', 'Settings', 'Search']) assert.equal(menu().find(label)!.registerAccelerator, false, label);
  const roles = JSON.stringify(menu().items);
  for (const role of ['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen', 'reload', 'toggleDevTools']) {
    assert.ok(roles.includes(`"role":"${role}"`), role);
  }

  // Places in the UI: the window goes there and the page is told.
  for (const [label, route, name] of [
    ['New Post', '#/', 'newPost'],
    ['Search', '#/search', 'search'],
    ['Settings', '#/settings', 'settings'],
    ['Nearby', '#/nearby', 'nearby'],
    ['Home', '#/', 'home'],
  ] as const) {
    const loads = r.win().loads.length;
    menu().click(label);
    await until(() => r.win().loads.length > loads, `${label} to load`);
    assert.equal(pageRoute(r), route, label);
    await until(() => r.events.some((e) => e.event === 'command' && e.data.name === name), `the ${name} command at the page`);
  }

  // Theme: the native theme, kept for the next start, told to the page, checked in the menu.
  menu().click('Dark');
  assert.equal(nativeTheme.themeSource, 'dark');
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(r.userData, 'desktop.json'), 'utf8')), { theme: 'dark' });
  await until(() => r.events.some((e) => e.event === 'command' && e.data.name === 'theme' && e.data.theme === 'dark'), 'the theme at the page');
  assert.equal(menu().find('Dark')!.checked, true);
  assert.equal(menu().find('System')!.checked, false);
  menu().click('Light');
  assert.equal(nativeTheme.themeSource, 'light');
  menu().click('System');
  assert.equal(nativeTheme.themeSource, 'system');
  menu().click('Dark');

  menu().click('About Drayer');
  assert.equal(app.aboutShown, 1);
  menu().click('Drayer Help');
  const help = await until(() => dialog.shown.find((d) => d.kind === 'message' && d.options.title === 'Drayer Help'), 'the help');
  assert.ok(help.kind === 'message' && help.options.detail!.includes(path.join(r.userData, 'data')));

  // File → Add Files… needs one of your streams; then the chosen files are added and shown.
  dialog.shown.length = 0;
  menu().click('Add Files…');
  const no = await until(() => dialog.shown.find((d) => d.kind === 'message'), 'a problem said');
  assert.ok(no.kind === 'message' && no.options.title === 'Add files' && /Open one of your streams first/.test(no.options.detail!));
  const mine: StreamSummary = await r.drayer.call('createStream', { name: 'Mine' });
  const files = tmpDir('drayer-files-');
  fs.writeFileSync(path.join(files, 'notes.txt'), 'notes');
  dialog.answers.open.push({ canceled: true, filePaths: [] });
  menu().click('Add Files…');
  await until(() => dialog.shown.some((d) => d.kind === 'open'), 'the open dialog');
  dialog.answers.open.push({ canceled: false, filePaths: [path.join(files, 'notes.txt')] });
  menu().click('Add Files…');
  await until(() => pageRoute(r) === `#/stream/${encodeURIComponent(mine.publicKey)}/files`, 'the files page');
  const details: StreamDetails = await r.drayer.call('streamDetails', { publicKey: mine.publicKey });
  assert.deepEqual(
    details.files.map((f) => f.path),
    ['notes.txt'],
  );

  // File → Export Stream… exports the stream the window shows, without its secret key.
  const out = tmpDir('drayer-export-');
  dialog.answers.save.push({ canceled: false, filePath: path.join(out, 'copy.stream') });
  menu().click('Export Stream…');
  await until(() => fs.existsSync(path.join(out, 'copy.stream')), 'the exported stream');
  assert.ok(!fs.existsSync(path.join(out, 'copy.stream.privatekey')));

  // File → Open Stream File… opens a stream file from elsewhere and shows it.
  const elsewhere = await DrayerNode.start({ dataDir: tmpDir(), host: null, discovery: false, autoSync: false });
  const theirs = await elsewhere.call('createStream', { name: 'From a stick' });
  await elsewhere.call('post', { publicKey: theirs.publicKey, title: 'On the stick', body: '' });
  await elsewhere.stop();
  const stick = tmpDir('drayer-stick-');
  fs.copyFileSync(path.isAbsolute(theirs.file) ? theirs.file : path.join(elsewhere.dataDir, theirs.file), path.join(stick, 'theirs.stream'));
  dialog.answers.open.push({ canceled: false, filePaths: [path.join(stick, 'theirs.stream')] });
  menu().click('Open Stream File…');
  await until(() => pageRoute(r) === `#/stream/${encodeURIComponent(theirs.publicKey)}`, 'the opened stream');
  const opened: PostView[] = await r.drayer.call('listPosts', { publicKey: theirs.publicKey });
  assert.deepEqual(
    opened.map((p) => p.title),
    ['On the stick'],
  );

  // Export Stream… on a page that shows no stream says what to do.
  menu().click('Home');
  await until(() => pageRoute(r) === '#/', 'home');
  dialog.shown.length = 0;
  menu().click('Export Stream…');
  const noStream = await until(() => dialog.shown.find((d) => d.kind === 'message'), 'a problem said');
  assert.ok(noStream.kind === 'message' && /Open the stream to export first/.test(noStream.options.detail!));

  // File → Export Secret Keys…: after a warning, plain key files in the chosen folder (the kept ones stay sealed).
  const keys = tmpDir('drayer-keys-');
  dialog.answers.message.push({ response: 1, checkboxChecked: false }); // Cancel
  menu().click('Export Secret Keys…');
  await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(fs.readdirSync(keys), []);
  dialog.shown.length = 0;
  dialog.answers.message.push({ response: 0, checkboxChecked: false });
  dialog.answers.open.push({ canceled: false, filePaths: [keys] });
  menu().click('Export Secret Keys…');
  const told = await until(() => dialog.shown.find((d) => d.kind === 'message' && /^Exported/.test(d.options.message)), 'the export told');
  assert.ok(told.kind === 'message' && told.options.message === 'Exported 1 key file.');
  const [keyFile] = fs.readdirSync(keys);
  assert.ok(keyFile!.endsWith('.privatekey'));
  assert.ok(!fs.readFileSync(path.join(keys, keyFile!), 'utf8').startsWith('drayer-sealed-key/'), 'the export is plain');
  const kept = path.isAbsolute(mine.file) ? mine.file : path.join(r.userData, 'data', mine.file);
  assert.ok(fs.readFileSync(`${kept}.privatekey`, 'utf8').startsWith(SEALED_HEADER), 'the kept key stays sealed');
  // Again into the same folder: a secret key is never overwritten, and the dialog says so.
  dialog.shown.length = 0;
  dialog.answers.message.push({ response: 0, checkboxChecked: false });
  dialog.answers.open.push({ canceled: false, filePaths: [keys] });
  menu().click('Export Secret Keys…');
  const refused = await until(() => dialog.shown.find((d) => d.kind === 'message' && d.options.type === 'error'), 'the refusal');
  assert.ok(refused.kind === 'message' && refused.options.title === 'Exporting the key of Mine' && /already exists/.test(refused.options.detail!));
  await new Promise((res) => setTimeout(res, 100));
  assert.ok(!dialog.shown.some((d) => d.kind === 'message' && /^Exported/.test(d.options.message)));
  await quit();

  // The theme is there at the next start.
  const again = await launch({ userData: r.userData });
  assert.equal(nativeTheme.themeSource, 'dark');
  assert.equal(Menu.applicationMenu!.find('Dark')!.checked, true);
  assert.equal(again.win().options.backgroundColor, '#0e1116');
  await quit();
});

test('the tray: Open, Pause Sync, LAN Only and Quit; Pause Sync changes the setting the API shows', async () => {
  const r = await launch();
  const tray = Tray.made[0]!;
  assert.ok(tray.image && typeof tray.image !== 'string' && tray.image.path.endsWith(path.join('resources', 'tray', 'tray.png')));
  await until(() => tray.menu, 'the tray menu');
  assert.deepEqual(labels(tray.menu!.items), ['Open Drayer', 'Pause Sync', 'LAN Only', 'Quit Drayer']);
  assert.equal(tray.toolTip, 'Drayer');
  const settings = (): Promise<Settings> => r.drayer.call('getSettings');

  tray.menu!.click('Pause Sync');
  await until(async () => (await settings()).syncMode === 'paused', 'sync paused');
  await until(() => tray.toolTip === 'Drayer (sync paused)', 'the tray to say so');
  assert.equal(tray.menu!.find('Pause Sync')!.checked, true);
  assert.equal(tray.menu!.find('LAN Only')!.checked, false);
  await until(() => r.events.some((e) => e.event === 'settingsChanged' && e.data.syncMode === 'paused'), 'the page told');

  tray.menu!.click('LAN Only');
  await until(async () => (await settings()).syncMode === 'lan', 'LAN only');
  await until(() => tray.toolTip === 'Drayer (LAN only)', 'the tray to say so');
  assert.equal(tray.menu!.find('LAN Only')!.checked, true);
  tray.menu!.click('LAN Only');
  await until(async () => (await settings()).syncMode === 'normal', 'back to normal');
  await until(() => tray.toolTip === 'Drayer', 'the tray back to normal');

  // A change from the Settings screen moves the check marks too.
  await r.drayer.call('setSettings', { syncMode: 'paused' });
  await until(() => tray.menu!.find('Pause Sync')!.checked, 'the check mark from Settings');

  // Clicking the tray, or Open Drayer, brings the window back.
  const w = r.win();
  w.minimize();
  tray.emit('click');
  assert.equal(w.isMinimized(), false);
  assert.equal(w.isFocused(), true);
  w.hide();
  tray.menu!.click('Open Drayer');
  assert.equal(w.isVisible(), true);

  // With no window, a menu command's problem is an error box.
  w.close();
  assert.equal(standin.windows.length, 0);
  Menu.applicationMenu!.click('Export Stream…');
  const box = await until(() => dialog.shown.find((d) => d.kind === 'error'), 'the error box');
  assert.ok(box.kind === 'error' && box.title === 'Export a stream' && /Open the stream to export first/.test(box.content));

  // Quit Drayer quits (the shutdown test checks what that does).
  tray.menu!.click('Quit Drayer');
  await until(() => app.quitted, 'the quit');
});

test('a drayer: link reaches the running app: at launch, from a second instance, by open-url (macOS), and from the page', async () => {
  const peers = await DrayerNode.start({ dataDir: tmpDir(), host: null, discovery: false, autoSync: false });
  const made: StreamSummary[] = [];
  for (const name of ['At launch', 'Second instance', 'Open URL', 'From the page', 'Before ready']) made.push(await peers.call('createStream', { name }));
  const links: string[] = [];
  for (const m of made) links.push(((await peers.call('streamDetails', { publicKey: m.publicKey })) as StreamDetails).link);
  await peers.stop();
  const link = async (i: number): Promise<string> => links[i]!;
  const held = async (r: Run, i: number): Promise<boolean> =>
    ((await r.drayer.call('listStreams')) as StreamSummary[]).some((s) => s.publicKey === made[i]!.publicKey);
  const route = (i: number): string => `#/stream/${encodeURIComponent(made[i]!.publicKey)}`;

  const r = await launch({ argv: ['--some-flag', await link(0)] });
  await until(() => held(r, 0), 'the launch link followed');
  await until(() => pageRoute(r) === route(0), 'its page');

  // A second launch hands its argv over (and quits itself): the window comes to the front, on the stream.
  r.win().minimize();
  app.emit('second-instance', new StandinEvent(), [process.execPath, '--flag', await link(1)], '/', {});
  assert.equal(r.win().isMinimized(), false);
  await until(() => held(r, 1), 'the second instance link followed');
  await until(() => pageRoute(r) === route(1), 'its page');
  // A stream already here is just shown.
  app.emit('second-instance', new StandinEvent(), [process.execPath, await link(0)], '/', {});
  await until(() => pageRoute(r) === route(0), 'the held stream shown');
  // No link: the window comes to the front, nothing else.
  r.win().blur();
  const loads = r.win().loads.length;
  app.emit('second-instance', new StandinEvent(), [process.execPath], '/', {});
  assert.equal(r.win().isFocused(), true);
  assert.equal(r.win().loads.length, loads);

  // macOS: open-url.
  const e = new StandinEvent();
  app.emit('open-url', e, await link(2));
  assert.equal(e.defaultPrevented, true);
  await until(() => held(r, 2), 'the open-url link followed');
  app.emit('open-url', new StandinEvent(), 'https://example.com/');
  app.emit('open-url', new StandinEvent(), 'drayer:not-a-key');

  // A drayer: link clicked in the page is the app's, not a navigation.
  assert.equal(r.win().webContents.navigate(await link(3)), false);
  await until(() => held(r, 3), 'the page link followed');
  await quit();

  // open-url before the app is ready (macOS starts the app with it): kept until the Node runs.
  const early = await launch({ ready: false });
  app.emit('open-url', new StandinEvent(), await link(4));
  app.emitReady();
  await until(() => standin.windows[0]?.loads.length, 'the window');
  await import(`../main/preload.js?run=${runs}-early`);
  early.drayer = contextBridge.mainWorld.drayer as Transport;
  await until(() => held(early, 4), 'the early link followed');
  await quit();
});

test('the window never navigates away or opens another; web links go to the system browser', async () => {
  const r = await launch();
  const wc = r.win().webContents;
  assert.equal(wc.navigate(`${APP_URL}#/settings`), true);
  assert.equal(wc.navigate('https://example.com/page'), false);
  assert.deepEqual(shell.opened, ['https://example.com/page']);
  assert.equal(wc.navigate('file:///etc/passwd'), false);
  assert.deepEqual(wc.open('https://example.org/'), { action: 'deny' });
  assert.deepEqual(wc.open('javascript:alert(1)'), { action: 'deny' });
  assert.deepEqual(shell.opened, ['https://example.com/page', 'https://example.org/']);
  const frame = new StandinEvent({ isMainFrame: false });
  wc.emit('will-frame-navigate', frame);
  assert.equal(frame.defaultPrevented, true);
  const top = new StandinEvent({ isMainFrame: true });
  wc.emit('will-frame-navigate', top);
  assert.equal(top.defaultPrevented, false);
  const redirect = new StandinEvent();
  wc.emit('will-redirect', redirect, 'https://example.com/');
  assert.equal(redirect.defaultPrevented, true);
  const inside = new StandinEvent();
  wc.emit('will-redirect', inside, `${APP_URL}index.html`);
  assert.equal(inside.defaultPrevented, false);
  const webview = new StandinEvent();
  wc.emit('will-attach-webview', webview, {}, {});
  assert.equal(webview.defaultPrevented, true);
  await quit();
});

test('the window opens where it was left, on a display that is still there, maximised if it was', async () => {
  const r = await launch();
  const w = r.win();
  w.setBounds({ x: 200, y: 100, width: 1000, height: 700 });
  await until(() => fs.existsSync(path.join(r.userData, 'window-state.json')), 'the place saved after a move');
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(r.userData, 'window-state.json'), 'utf8')), {
    bounds: { x: 200, y: 100, width: 1000, height: 700 },
    maximized: false,
  });
  await quit();
  const again = await launch({ userData: r.userData });
  assert.deepEqual([again.win().options.x, again.win().options.y, again.win().options.width, again.win().options.height], [200, 100, 1000, 700]);
  again.win().maximize();
  await quit();
  assert.equal(JSON.parse(fs.readFileSync(path.join(r.userData, 'window-state.json'), 'utf8')).maximized, true);
  // The display it was on is gone: centred on the one there is, maximised as it was.
  const third = await launch({ userData: r.userData, setup: () => void (screen.workAreas = [{ x: 3000, y: 0, width: 1280, height: 800 }]) });
  assert.equal(third.win().isMaximized(), true);
  assert.equal(third.win().options.x, 3000 + (1280 - 1100) / 2);
  // A minimised window keeps the place it had.
  third.win().minimize();
  third.win().emit('close', new StandinEvent());
  assert.equal(JSON.parse(fs.readFileSync(path.join(r.userData, 'window-state.json'), 'utf8')).maximized, true);
  await quit();
});

test('damaged or unwritable preferences and window place are ignored, and the log says why', async () => {
  const userData = tmpDir('drayer-desktop-');
  fs.writeFileSync(path.join(userData, 'desktop.json'), '{"theme": "dark"'); // cut short
  fs.mkdirSync(path.join(userData, 'window-state.json')); // not a file
  const said: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void said.push(a.join(' '));
  try {
    const r = await launch({ userData });
    assert.equal(nativeTheme.themeSource, 'system');
    assert.equal(r.win().options.width, 1100, 'the default size');
    r.win().emit('close', new StandinEvent());
    assert.ok(
      said.some((m) => m.startsWith("[drayer] saving the window's place:")),
      said.join('\n'),
    );
    fs.rmSync(path.join(userData, 'desktop.json'));
    fs.mkdirSync(path.join(userData, 'desktop.json'));
    Menu.applicationMenu!.click('Dark');
    assert.equal(nativeTheme.themeSource, 'dark', 'the theme still changes');
    assert.ok(
      said.some((m) => m.startsWith('[drayer] saving preferences:')),
      said.join('\n'),
    );
    await quit();
  } finally {
    console.log = log;
  }
});

test('shutdown: calls in flight are answered, then the Node closes; what they wrote is there when reopened', async () => {
  const r = await launch();
  const mine: StreamSummary = await r.drayer.call('createStream', { name: 'Journal' });
  const status: NodeStatus = await r.drayer.call('status');
  assert.ok(status.lan, 'the app serves the LAN');
  // A slow call (a big file is hashed and written in chunks) and a quick one, both under way at the quit.
  const big = path.join(tmpDir(), 'big.bin');
  fs.writeFileSync(big, crypto.randomBytes(24 * 1024 * 1024));
  const slow = r.drayer.call('addFiles', { publicKey: mine.publicKey, paths: [big] });
  const body = 'A long last post. '.repeat(6000);
  const quick = r.drayer.call('post', { publicKey: mine.publicKey, title: 'Last words', body });
  Menu.applicationMenu!.click('Quit Drayer'); // File → Quit Drayer, while both are being written
  assert.equal(app.quitted, false, 'the quit waits for the shutdown');
  await assert.rejects(r.drayer.call('listStreams'), (e: { code?: string }) => e.code === 'SHUTTING_DOWN');
  assert.deepEqual(((await slow) as ImportSummary).added, ['big.bin']);
  assert.equal(((await quick) as PostView).title, 'Last words');
  await until(() => app.quitted, 'the quit after the shutdown');
  assert.equal(app.quitCalls, 2, 'quit, held for the shutdown, then quit again');
  assert.equal(standin.windows.length, 0);
  assert.equal(await portClosed(status.lan!.port), true, 'the Node stopped: its LAN server is closed');
  const reopened = await DrayerNode.start({ dataDir: path.join(r.userData, 'data'), host: null, discovery: false, autoSync: false });
  try {
    const posts = await reopened.call('listPosts', { publicKey: mine.publicKey });
    assert.deepEqual(
      posts.map((p) => [p.title, p.body.length]),
      [['Last words', body.length]],
    );
    const details = await reopened.call('streamDetails', { publicKey: mine.publicKey });
    assert.deepEqual(
      details.files.map((f) => [f.path, f.size]),
      [['big.bin', 24 * 1024 * 1024]],
    );
  } finally {
    await reopened.stop();
  }
});

test('the OS ending the session, SIGTERM, or a system shutdown stop the Node cleanly', async () => {
  // Windows ends the session on the window.
  let r = await launch();
  let port = ((await r.drayer.call('status')) as NodeStatus).lan!.port;
  r.win().emit('session-end', new StandinEvent());
  await until(() => portClosed(port), 'the Node stopped at session end');
  await quit();

  // SIGTERM (this run's handler: the newest one).
  r = await launch();
  port = ((await r.drayer.call('status')) as NodeStatus).lan!.port;
  app.exitCode = null;
  (process.listeners('SIGTERM').at(-1) as () => void)();
  await until(() => app.exitCode === 0, 'exit(0) after the shutdown');
  assert.equal(await portClosed(port), true);

  // macOS / logind announce a shutdown: held for a clean stop, then quit.
  r = await launch();
  port = ((await r.drayer.call('status')) as NodeStatus).lan!.port;
  const e = new StandinEvent();
  powerMonitor.emit('shutdown', e);
  assert.equal(e.defaultPrevented, true);
  await until(() => app.quitted, 'the quit after the shutdown');
  assert.equal(await portClosed(port), true);
});

test('without a tray, closing the last window quits; macOS activate brings a window back', async () => {
  const r = await launch({ setup: () => void (Tray.failWith = new Error('no status area')) });
  assert.equal(Tray.made.length, 0);
  app.emit('activate', new StandinEvent(), true);
  assert.equal(standin.windows.length, 1);
  r.win().close();
  await until(() => app.quitted, 'the quit after the last window');

  // An app folder without the tray and window icons (a stripped package): no tray, no icon.
  const bare = tmpDir('drayer-bare-');
  fs.symlinkSync(path.join(ROOT, 'dist'), path.join(bare, 'dist'));
  const b = await launch({ appPath: bare });
  assert.equal(Tray.made.length, 0);
  assert.equal(b.win().options.icon, undefined);
  assert.equal(b.win().loads[0]!.status, 200);
  b.win().close();
  assert.equal(standin.windows.length, 0);
  await until(() => app.quitted, 'the quit');
});

test('a development run registers drayer: with its script; a second instance quits at once; a failed start says why', async () => {
  Object.defineProperty(process, 'defaultApp', { value: true, configurable: true });
  try {
    await launch();
    assert.deepEqual(app.protocolClients, [{ protocol: 'drayer', path: process.execPath, args: [path.resolve(ROOT)] }]);
    await quit();
  } finally {
    delete (process as { defaultApp?: boolean }).defaultApp;
  }

  await launch({ ready: false, setup: () => void (app.singleInstanceLock = false) });
  assert.equal(app.quitCalls, 1);
  assert.equal(app.listenerCount('second-instance'), 0);
  app.emitReady();
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(standin.windows.length, 0, 'the second instance opens nothing');

  const file = path.join(tmpDir(), 'a-file');
  fs.writeFileSync(file, '');
  await launch({ userData: path.join(file, 'under-a-file'), ready: false });
  app.emitReady();
  const said = await until(() => dialog.shown.find((d) => d.kind === 'error'), 'the error box');
  assert.ok(said.kind === 'error' && said.title === 'Drayer could not start' && said.content.length > 0);
  assert.equal(app.exitCode, 1);
});

test('a new post in a followed stream, with the window in the background, becomes a notification that opens it', async () => {
  const other = await DrayerNode.start({ dataDir: tmpDir(), host: '127.0.0.1', discovery: false, autoSync: false });
  try {
    const theirs = await other.call('createStream', { name: 'Neighbour' });
    await other.call('post', { publicKey: theirs.publicKey, title: 'Old news', body: '' });
    const url = `http://127.0.0.1:${other.lanAddress()!.port}`;
    const r = await launch();
    await r.drayer.call('setSettings', { notifications: true });
    await r.drayer.call('follow', { key: theirs.publicKey, url });
    await r.drayer.call('syncNow', { publicKey: theirs.publicKey });
    await until(() => r.events.some((e) => e.event === 'syncProgress' && e.data.done && e.data.publicKey === theirs.publicKey), 'the first clone');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(Notification.shown.length, 0, 'a first clone is not news');

    r.win().blur(); // another app is in front
    await other.call('post', { publicKey: theirs.publicKey, title: 'Fresh news', body: 'Just in.' });
    await r.drayer.call('syncNow', { publicKey: theirs.publicKey });
    const notice = await until(() => Notification.shown[0], 'the notification');
    assert.equal(notice.title, 'Neighbour');
    assert.equal(notice.body, 'Fresh news');
    const fresh = ((await r.drayer.call('listPosts', { publicKey: theirs.publicKey })) as PostView[]).find((p) => p.title === 'Fresh news')!;
    notice.click();
    await until(() => pageRoute(r) === `#/stream/${encodeURIComponent(theirs.publicKey)}`, 'the stream opened');
    await until(() => r.events.some((e) => e.event === 'command' && e.data.name === 'openPost' && e.data.key === fresh.key), 'the post opened');
    assert.equal(r.win().isFocused(), true);
    await quit();
  } finally {
    await other.stop();
  }
});
