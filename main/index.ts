// Electron main process: a window onto the engine. Kept thin on purpose: the engine (app/) never
// imports electron, and every decision here that can be made without Electron is a plain module
// beside this one with its tests (ipc, protocol, navigation, window, menu, notify, links, cipher,
// shutdown). What is left is wiring: the Node in this process, one window on app://drayer/, IPC,
// menus, tray, notifications, drayer: links and a clean shutdown. This file itself runs in `npm test`
// against a recording stand-in of electron (test/desktop-main.scenarios.ts, test/electron-standin/).
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  nativeTheme,
  Notification,
  powerMonitor,
  protocol,
  safeStorage,
  screen,
  session,
  shell,
  Tray,
  type IpcMainEvent,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
  type WebContents,
} from 'electron';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PostView, Settings, StreamSummary, SyncMode } from '../app/node/api.js';
import { exportKeyFile, useKeyCipher } from '../app/store/keystore.js';
import { DrayerNode } from '../app/node/node.js';
import { KEY_SUFFIX } from '../app/store/store.js';
import { keyCipherFrom } from './cipher.js';
import { APP_SCHEME, APP_URL, CHANNELS, IpcRouter, type SenderFrame } from './ipc.js';
import { linkFromArgv, parseDrayerLink, streamOfPage, streamRoute, type DrayerLink } from './links.js';
import { appMenu, routeOf, syncModeAfter, trayMenu, trayStateOf, type Command, type MenuSpec, type ThemeChoice } from './menu.js';
import { allowPermission, decideNavigation, decideWindowOpen, type NavigationDecision } from './navigation.js';
import { NotificationPolicy, writtenHere } from './notify.js';
import { answerAppRequest } from './protocol.js';
import { Shutdown } from './shutdown.js';
import { parseWindowState, restoreWindowState, windowOptions, type WindowState } from './window.js';

const dev = !app.isPackaged;
const root = app.getAppPath();
const rendererDir = path.join(root, 'dist', 'renderer');
const preload = path.join(root, 'dist', 'main', 'preload.cjs');
const log = (m: string): void => console.log(`[drayer] ${m}`);

// Before ready: the app's scheme behaves like https (origin, secure context, fetch).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let node: DrayerNode | null = null;
let router: IpcRouter | null = null;
let win: BrowserWindow | null = null;
let tray: Tray | null = null;
let pendingLink: DrayerLink | null = linkFromArgv(process.argv);
let shutdownDone = false;
const shutdown = new Shutdown({ log, ipc: { close: () => router?.close() ?? Promise.resolve() }, node: { stop: () => node?.stop() ?? Promise.resolve() } });
const prefsFile = (): string => path.join(app.getPath('userData'), 'desktop.json');

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // A second launch (a drayer: link clicked while running) hands its argv here and quits.
  app.on('second-instance', (_e, argv) => {
    showWindow();
    const l = linkFromArgv(argv);
    if (l) void openLink(l);
  });
  app.on('open-url', (e, url) => {
    e.preventDefault();
    const l = parseDrayerLink(url);
    if (!l) return;
    if (node) void openLink(l);
    else pendingLink = l;
  });
  registerProtocolClient();
  app
    .whenReady()
    .then(start)
    .catch((e: unknown) => {
      dialog.showErrorBox('Drayer could not start', (e as Error)?.message ?? String(e));
      app.exit(1);
    });
}

function registerProtocolClient(): void {
  // A development run (`electron .`) registers itself with its script, a packaged app by itself.
  if (process.defaultApp && process.argv[1]) app.setAsDefaultProtocolClient('drayer', process.execPath, [path.resolve(process.argv[1])]);
  else app.setAsDefaultProtocolClient('drayer');
}

// ---------- start ----------

async function start(): Promise<void> {
  useKeyCipher(keyCipherFrom(safeStorage, process.platform));
  const prefs = readPrefs();
  nativeTheme.themeSource = prefs.theme;
  node = await DrayerNode.start({ dataDir: path.join(app.getPath('userData'), 'data'), log });
  router = new IpcRouter(node);
  secureSessions();
  serveAppPages();
  listenIpc();
  buildMenu();
  buildTray();
  watchForNotices(node);
  createWindow();
  if (pendingLink) void openLink(pendingLink);
  pendingLink = null;
}

function secureSessions(): void {
  const s = session.defaultSession;
  // our own window only: a page anywhere else (none should load) gets nothing
  const ours = (wc: Electron.WebContents | null) => !!wc && !!win && !win.isDestroyed() && wc === win.webContents;
  s.setPermissionRequestHandler((wc, permission, cb, details) => {
    const media = 'mediaTypes' in details ? (details.mediaTypes ?? []) : undefined;
    cb(ours(wc) && allowPermission(permission, details.requestingUrl ?? wc.getURL(), media));
  });
  s.setPermissionCheckHandler(
    (wc, permission, origin, details) => ours(wc) && allowPermission(permission, origin, details.mediaType ? [details.mediaType] : undefined),
  );
  s.on('will-download', (e) => e.preventDefault());
}

function serveAppPages(): void {
  protocol.handle(APP_SCHEME, (req) => answerAppRequest(req.url, rendererDir));
}

function frameOf(e: IpcMainEvent | IpcMainInvokeEvent): SenderFrame | null {
  const f = e.senderFrame;
  return f ? { url: f.url, top: f.parent === null } : null;
}

function listenIpc(): void {
  ipcMain.handle(CHANNELS.call, (e, method: unknown, arg: unknown) => router!.call(frameOf(e), method, arg));
  ipcMain.on(CHANNELS.subscribe, (e) => {
    const sender = e.sender;
    if (router!.subscribe(frameOf(e), sender)) sender.once('destroyed', () => router?.unsubscribe(sender.id));
  });
  ipcMain.on(CHANNELS.unsubscribe, (e) => router?.unsubscribe(e.sender.id));
}

// Every web contents, whatever made it: no webview, no navigation away, no new windows.
app.on('web-contents-created', (_e, contents: WebContents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.on('will-navigate', (e, url) => {
    const d = decideNavigation(url);
    if (d.action !== 'allow') {
      e.preventDefault();
      act(d);
    }
  });
  contents.on('will-frame-navigate', (e) => {
    if (!e.isMainFrame) e.preventDefault(); // the app has no frames; none may load anything
  });
  contents.on('will-redirect', (e, url) => {
    if (decideNavigation(url).action !== 'allow') e.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    act(decideWindowOpen(url));
    return { action: 'deny' };
  });
});

function act(d: NavigationDecision): void {
  if (d.action === 'external') void shell.openExternal(d.url);
  else if (d.action === 'drayer') {
    const l = parseDrayerLink(d.link);
    if (l) void openLink(l);
  }
}

// ---------- the window ----------

function createWindow(): void {
  const saved = parseWindowState(readText(windowStateFile()));
  const state = restoreWindowState(
    saved,
    screen.getAllDisplays().map((d) => d.workArea),
    screen.getPrimaryDisplay().workArea,
  );
  const icon = path.join(root, 'resources', 'icons', '512x512.png');
  win = new BrowserWindow(windowOptions(state, { preload, icon: fs.existsSync(icon) ? icon : undefined, dark: nativeTheme.shouldUseDarkColors }));
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win?.show());
  const save = debounce(() => saveWindowState(), 500);
  win.on('resize', save);
  win.on('move', save);
  win.on('close', () => saveWindowState());
  win.on('closed', () => (win = null));
  // Windows ends the session without before-quit: stop cleanly while the OS waits.
  win.on('session-end', () => void shutdown.run());
  void win.loadURL(APP_URL);
}

function windowStateFile(): string {
  return path.join(app.getPath('userData'), 'window-state.json');
}

function saveWindowState(): void {
  if (!win || win.isDestroyed() || win.isMinimized() || win.isFullScreen()) return;
  const state: WindowState = { bounds: win.isMaximized() ? win.getNormalBounds() : win.getBounds(), maximized: win.isMaximized() };
  try {
    fs.writeFileSync(windowStateFile(), JSON.stringify(state));
  } catch (e) {
    log(`saving the window's place: ${(e as Error).message}`);
  }
}

function showWindow(): BrowserWindow {
  if (!win) createWindow();
  if (win!.isMinimized()) win!.restore();
  win!.show();
  win!.focus();
  return win!;
}

/** Show a place of the UI: its routes are URL hashes (renderer/stores/ui.ts). */
function navigate(route: string): void {
  const w = showWindow();
  void w.loadURL(APP_URL + route);
}

// ---------- commands: menu, tray, links ----------

function buildMenu(): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(toElectron(appMenu({ platform: process.platform, theme: readPrefs().theme, dev }))));
}

function buildTray(): void {
  const dir = path.join(root, 'resources', 'tray');
  const mac = process.platform === 'darwin';
  const image = nativeImage.createFromPath(path.join(dir, mac ? 'trayTemplate.png' : 'tray.png'));
  if (image.isEmpty()) return;
  if (mac) image.setTemplateImage(true);
  try {
    tray = new Tray(image);
  } catch (e) {
    log(`no tray here: ${(e as Error).message}`);
    return;
  }
  tray.on('click', () => showWindow());
  void currentSyncMode().then(updateTray);
  // A change from the Settings screen (or the tray itself) moves the check marks.
  node?.subscribe((e) => {
    if (e.event === 'settingsChanged') updateTray(e.data.syncMode);
  });
}

async function currentSyncMode(): Promise<SyncMode> {
  const r = await node?.callEnvelope('getSettings', undefined);
  return r?.ok ? (r.value as Settings).syncMode : 'normal';
}

function updateTray(mode: SyncMode): void {
  if (!tray) return;
  tray.setToolTip(mode === 'paused' ? 'Drayer (sync paused)' : mode === 'lan' ? 'Drayer (LAN only)' : 'Drayer');
  tray.setContextMenu(Menu.buildFromTemplate(toElectron(trayMenu(trayStateOf(mode)))));
}

/** Pause Sync / LAN Only: the engine's setting, through the API like the Settings screen. */
async function setSyncMode(c: 'pauseSync' | 'lanOnly'): Promise<void> {
  const r = await node!.callEnvelope('setSettings', { syncMode: syncModeAfter(c, await currentSyncMode()) });
  if (!r.ok) throw new Error(r.error.message);
  // settingsChanged updates the tray and every window
}

function toElectron(items: MenuSpec[]): MenuItemConstructorOptions[] {
  return items.map((i) => ({
    label: i.label,
    role: i.role,
    type: i.type,
    accelerator: i.accelerator,
    registerAccelerator: i.registerAccelerator,
    checked: i.checked,
    enabled: i.enabled,
    submenu: i.submenu ? toElectron(i.submenu) : undefined,
    click: i.command ? () => void runCommand(i.command!).catch((e: unknown) => problem('Drayer', (e as Error)?.message ?? String(e))) : undefined,
  }));
}

async function runCommand(c: Command): Promise<void> {
  const route = routeOf(c);
  if (route) {
    navigate(route);
    router?.broadcast({ name: c });
    return;
  }
  switch (c) {
    case 'openWindow':
      showWindow();
      return;
    case 'quit':
      app.quit();
      return;
    case 'pauseSync':
    case 'lanOnly':
      return setSyncMode(c);
    case 'themeSystem':
    case 'themeLight':
    case 'themeDark': {
      const theme: ThemeChoice = c === 'themeLight' ? 'light' : c === 'themeDark' ? 'dark' : 'system';
      nativeTheme.themeSource = theme;
      writePrefs({ ...readPrefs(), theme });
      router?.broadcast({ name: 'theme', theme });
      buildMenu();
      return;
    }
    case 'addFiles':
      return addFiles();
    case 'openStreamFile':
      return openStreamFile();
    case 'exportStream':
      return exportStream();
    case 'exportKeys':
      return exportKeys();
    case 'about':
      app.showAboutPanel();
      return;
    case 'help':
      await dialog.showMessageBox(showWindow(), {
        type: 'info',
        title: 'Drayer Help',
        message: 'Drayer',
        detail: `Make a stream, post, and follow others by their key or a drayer: link; streams on the same network show under Nearby.\n\nYour streams are kept in ${node?.dataDir ?? 'the data folder'}.`,
      });
      return;
    default:
      router?.broadcast({ name: c });
  }
}

/** A drayer: link: show the stream when it is here, else follow it and then show it. */
async function openLink(l: DrayerLink): Promise<void> {
  if (!node) return void (pendingLink = l);
  const held = await node.callEnvelope('listStreams', undefined);
  if (held.ok && (held.value as StreamSummary[]).some((s) => s.publicKey === l.publicKey)) return navigate(streamRoute(l.publicKey));
  navigate(streamRoute(l.publicKey)); // the page says "not here" until the follow is done
  router?.broadcast({ name: 'follow', key: l.link });
  const r = await node.callEnvelope('follow', { key: l.link });
  if (r.ok) navigate(streamRoute(l.publicKey));
  else if (r.error.code !== 'EXISTS') problem('Could not follow that stream', r.error.message);
}

/** The stream the window shows, if it is one of yours; else says what to do. */
async function currentOwnStream(what: string): Promise<StreamSummary | null> {
  const pk = win ? streamOfPage(win.webContents.getURL()) : null;
  const list = await node!.callEnvelope('listStreams', undefined);
  const mine = list.ok ? (list.value as StreamSummary[]).filter((s) => s.owned) : [];
  const s = mine.find((x) => x.publicKey === pk) ?? (mine.length === 1 ? mine[0]! : null);
  if (!s) problem(what, 'Open one of your streams first, then try again.');
  return s;
}

async function addFiles(): Promise<void> {
  const s = await currentOwnStream('Add files');
  if (!s) return;
  const r = await dialog.showOpenDialog(showWindow(), { title: `Add files to ${s.name}`, properties: ['openFile', 'openDirectory', 'multiSelections'] });
  if (r.canceled || r.filePaths.length === 0) return;
  const done = await node!.callEnvelope('addFiles', { publicKey: s.publicKey, paths: r.filePaths });
  if (!done.ok) return problem('Adding files', done.error.message);
  navigate(`${streamRoute(s.publicKey)}/files`);
}

async function openStreamFile(): Promise<void> {
  const r = await dialog.showOpenDialog(showWindow(), {
    title: 'Open a stream file',
    properties: ['openFile'],
    filters: [{ name: 'Drayer streams', extensions: ['stream'] }],
  });
  if (r.canceled || !r.filePaths[0]) return;
  let done = await node!.callEnvelope('openStreamFile', { path: r.filePaths[0] });
  if (!done.ok && done.error.code === 'ORIGINAL_FILE') {
    // a file of the original Drayer: the offer (what importing does) before a copy is made
    const ask = await dialog.showMessageBox(showWindow(), {
      type: 'question',
      buttons: ['Import and Open', 'Cancel'],
      defaultId: 0,
      cancelId: 1,
      title: 'Open a stream file',
      message: 'Import this stream file of the original Drayer?',
      detail: done.error.message,
    });
    if (ask.response !== 0) return;
    done = await node!.callEnvelope('openStreamFile', { path: r.filePaths[0], importOriginal: true });
  }
  if (!done.ok)
    return problem(
      'Opening a stream file',
      done.error.code === 'UNKNOWN_METHOD' ? 'This version of the engine cannot open stream files from the app yet.' : done.error.message,
    );
  navigate(streamRoute((done.value as StreamSummary).publicKey));
}

async function exportStream(): Promise<void> {
  const pk = win ? streamOfPage(win.webContents.getURL()) : null;
  if (!pk) return problem('Export a stream', 'Open the stream to export first, then try again.');
  const r = await dialog.showSaveDialog(showWindow(), {
    title: 'Export a copy without the secret key',
    defaultPath: 'copy.stream',
    filters: [{ name: 'Drayer streams', extensions: ['stream'] }],
  });
  if (r.canceled || !r.filePath) return;
  const done = await node!.callEnvelope('exportStream', { publicKey: pk, path: r.filePath });
  if (!done.ok)
    return problem(
      'Export a stream',
      done.error.code === 'UNKNOWN_METHOD' ? 'This version of the engine cannot export streams from the app yet; use `drayer export`.' : done.error.message,
    );
}

/** The explicit export of secret keys (sealed with the OS keychain here) as plain key files. */
async function exportKeys(): Promise<void> {
  const list = await node!.callEnvelope('listStreams', undefined);
  const mine = list.ok ? (list.value as StreamSummary[]).filter((s) => s.owned) : [];
  if (mine.length === 0) return problem('Export secret keys', 'You have no stream of your own here.');
  const w = showWindow();
  const ok = await dialog.showMessageBox(w, {
    type: 'warning',
    buttons: ['Choose a Folder…', 'Cancel'],
    defaultId: 1,
    cancelId: 1,
    title: 'Export secret keys',
    message: `Export the secret keys of ${mine.length} stream${mine.length === 1 ? '' : 's'} as plain files?`,
    detail: 'Whoever has a key file can write to its stream. Keep them private: a USB stick in a drawer, not a shared folder.',
  });
  if (ok.response !== 0) return;
  const r = await dialog.showOpenDialog(w, { title: 'Export secret keys to', properties: ['openDirectory', 'createDirectory'] });
  if (r.canceled || !r.filePaths[0]) return;
  const out: string[] = [];
  for (const s of mine) {
    const file = path.isAbsolute(s.file) ? s.file : path.join(node!.dataDir, s.file);
    const dest = path.join(r.filePaths[0], path.basename(file) + KEY_SUFFIX);
    try {
      exportKeyFile(file + KEY_SUFFIX, dest);
      out.push(dest);
    } catch (e) {
      problem(`Exporting the key of ${s.name}`, (e as Error).message);
    }
  }
  if (out.length)
    await dialog.showMessageBox(w, { type: 'info', message: `Exported ${out.length} key file${out.length === 1 ? '' : 's'}.`, detail: out.join('\n') });
}

function problem(title: string, message: string): void {
  if (win) void dialog.showMessageBox(win, { type: 'error', title, message: title, detail: message });
  else dialog.showErrorBox(title, message);
}

// ---------- notifications ----------

function watchForNotices(n: DrayerNode): void {
  const policy = new NotificationPolicy();
  const arrived = new Set<string>();
  const streams = async (): Promise<StreamSummary[]> => {
    const r = await n.callEnvelope('listStreams', undefined);
    return r.ok ? (r.value as StreamSummary[]) : [];
  };
  const posts = async (publicKey: string): Promise<PostView[]> => {
    const r = await n.callEnvelope('listPosts', { publicKey, limit: 20 });
    return r.ok ? (r.value as PostView[]) : [];
  };
  // What is there at start is not news.
  void streams().then(async (list) => {
    for (const s of list) if (!writtenHere(s)) policy.baseline(s.publicKey, await posts(s.publicKey));
  });
  n.subscribe((e) => {
    if (e.event === 'recordsChanged' && !e.data.local && e.data.stored > 0) arrived.add(e.data.publicKey);
    // A pull's end, not each page: a first clone becomes the baseline, not a flood of notices.
    if (e.event !== 'syncProgress' || !e.data.done || !arrived.delete(e.data.publicKey)) return;
    const pk = e.data.publicKey;
    void (async () => {
      const settings = await n.callEnvelope('getSettings', undefined);
      const s = (await streams()).find((x) => x.publicKey === pk);
      if (!s) return policy.forget(pk);
      const notice = policy.decide(pk, await posts(pk), {
        enabled: settings.ok && (settings.value as { notifications?: unknown }).notifications === true,
        focused: !!win && win.isVisible() && win.isFocused(),
        owned: writtenHere(s),
        streamName: s.name,
      });
      if (!notice || !Notification.isSupported()) return;
      const shown = new Notification({ title: notice.title, body: notice.body });
      shown.on('click', () => {
        navigate(streamRoute(notice.publicKey));
        router?.broadcast({ name: 'openPost', publicKey: notice.publicKey, key: notice.postKey });
      });
      shown.show();
    })().catch((err: unknown) => log(`notifications: ${(err as Error)?.message ?? err}`));
  });
}

// ---------- shutdown ----------

app.on('window-all-closed', () => {
  // With a tray the app keeps syncing and notifying; the tray's Open brings the window back.
  if (process.platform !== 'darwin' && !tray) app.quit();
});
app.on('activate', () => {
  if (node) showWindow();
});
app.on('before-quit', (e) => {
  if (shutdownDone) return;
  e.preventDefault();
  void shutdown.run().then(() => {
    shutdownDone = true;
    app.quit();
  });
});
app
  .whenReady()
  .then(() => {
    // macOS and Linux (systemd logind) announce a shutdown or logout: hold it for a clean stop.
    // (the docs give the listener an event to delay with; the typings leave it out)
    const onShutdown = (e?: { preventDefault?: () => void }): void => {
      e?.preventDefault?.();
      void shutdown.run().then(() => {
        shutdownDone = true;
        app.quit();
      });
    };
    powerMonitor.on('shutdown', onShutdown as () => void);
  })
  .catch(() => {});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => void shutdown.run().then(() => app.exit(0)));
}

// ---------- small things ----------

interface Prefs {
  theme: ThemeChoice;
}

function readPrefs(): Prefs {
  try {
    const v = JSON.parse(readText(prefsFile()) ?? '{}') as Partial<Prefs>;
    return { theme: v.theme === 'light' || v.theme === 'dark' ? v.theme : 'system' };
  } catch {
    return { theme: 'system' };
  }
}

function writePrefs(p: Prefs): void {
  try {
    fs.writeFileSync(prefsFile(), JSON.stringify(p));
  } catch (e) {
    log(`saving preferences: ${(e as Error).message}`);
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function debounce(fn: () => void, ms: number): () => void {
  let t: NodeJS.Timeout | null = null;
  return () => {
    if (t) clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}
