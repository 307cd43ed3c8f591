// A recording stand-in of the `electron` module, so main/index.ts and main/preload.ts run under
// plain Node where no Electron binary can be had (test/desktop-main.scenarios.ts resolves
// `electron` here through ./hooks.ts). It has only what main/ uses. Each class and object
// implements a Pick of Electron's own type (electron.d.ts), so a member the real API lacks, or
// one with another signature, fails to compile; main/ itself compiles against the real types.
//
// What it records: windows with their options, bounds and loaded pages (each load is answered by
// the app:// handler main/ registered, as Chromium would ask it), what was sent to each page,
// the application menu and tray menus (templates with their click functions), dialogs shown,
// notifications shown, URLs opened outside, protocol registrations, quits and exits. What it
// lets a test do, as the OS or the renderer would: emit app events (ready, second-instance,
// open-url, activate, before-quit), close/minimise/focus windows, answer dialogs, fire
// navigation events, and call main's IPC handlers as the preload's ipcRenderer does (arguments
// and answers structured-cloned, the sender frame the window's page).
//
// What it does not do: no Chromium, no rendering; contextBridge keeps the exposed object as is
// (Electron would proxy it). Emulated behaviour follows Electron's documentation where main/
// relies on it: protocol.handle only after ready and registerSchemesAsPrivileged only before,
// one ipcMain.handle per channel, app.quit emits before-quit (preventable) then closes windows,
// window-all-closed when the last one closes outside a quit, a destroyed window throws.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type {
  App,
  BaseWindow,
  BrowserWindow as EBrowserWindow,
  BrowserWindowConstructorOptions,
  ContextBridge,
  CustomScheme,
  Dialog,
  Display,
  HandlerDetails,
  IpcMain,
  IpcMainInvokeEvent,
  IpcRenderer,
  Menu as EMenu,
  MenuItemConstructorOptions,
  MessageBoxOptions,
  MessageBoxReturnValue,
  NativeImage,
  NativeTheme,
  Notification as ENotification,
  NotificationConstructorOptions,
  OpenDialogOptions,
  OpenDialogReturnValue,
  Protocol,
  Rectangle,
  SafeStorage,
  SaveDialogOptions,
  SaveDialogReturnValue,
  Screen,
  Session,
  Shell,
  Tray as ETray,
  WebContents,
  WindowOpenHandlerResponse,
} from 'electron';

/** Electron's Event: preventDefault and what it did. */
export class StandinEvent {
  defaultPrevented = false;
  constructor(extra: Record<string, unknown> = {}) {
    Object.assign(this, extra);
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

function destroyedError(what: string): Error {
  return new TypeError(`Object has been destroyed (${what})`);
}

// ---------- web contents and windows ----------

let nextId = 1;

export class StandinWebContents extends EventEmitter implements Pick<WebContents, 'id' | 'getURL' | 'send' | 'isDestroyed' | 'setWindowOpenHandler'> {
  readonly id = nextId++;
  url = '';
  private destroyed = false;
  /** every send, in order */
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: HandlerDetails) => WindowOpenHandlerResponse) | null = null;

  getURL(): string {
    return this.url;
  }

  send(channel: string, ...args: any[]): void {
    if (this.destroyed) throw destroyedError('webContents.send');
    const copy = structuredClone(args);
    this.sent.push({ channel, args: copy });
    if (ipcRenderer.webContents() === this) ipcRenderer.emit(channel, { sender: ipcRenderer }, ...copy);
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void {
    this.windowOpenHandler = handler;
  }

  /** Not Electron: the page asks to go to `url` (a link click); true when main let it. */
  navigate(url: string): boolean {
    const e = new StandinEvent({ url, isMainFrame: true });
    this.emit('will-navigate', e, url);
    if (!e.defaultPrevented) this.url = url;
    return !e.defaultPrevented;
  }

  /** Not Electron: window.open / target=_blank from the page. */
  open(url: string): WindowOpenHandlerResponse | null {
    return (
      this.windowOpenHandler?.({
        url,
        frameName: '',
        features: '',
        disposition: 'foreground-tab',
        referrer: { url: this.url, policy: 'no-referrer' },
        postBody: undefined,
      } as unknown as HandlerDetails) ?? null
    );
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('destroyed');
  }
}

export interface PageLoad {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

type WindowUsed =
  | 'maximize'
  | 'loadURL'
  | 'isDestroyed'
  | 'isMinimized'
  | 'isFullScreen'
  | 'isMaximized'
  | 'getNormalBounds'
  | 'getBounds'
  | 'setBounds'
  | 'restore'
  | 'show'
  | 'hide'
  | 'focus'
  | 'blur'
  | 'isVisible'
  | 'isFocused'
  | 'close'
  | 'minimize'
  | 'setFullScreen';

export class StandinBrowserWindow extends EventEmitter implements Pick<EBrowserWindow, WindowUsed> {
  readonly webContents = new StandinWebContents();
  /** every page the window loaded, with what the app:// handler answered */
  readonly loads: PageLoad[] = [];
  private bounds: Rectangle;
  private normal: Rectangle;
  private maximized = false;
  private minimized = false;
  private fullScreen = false;
  private visible: boolean;
  private focused = false;
  private destroyed = false;
  private shownOnce = false;

  constructor(readonly options: BrowserWindowConstructorOptions = {}) {
    super();
    this.bounds = { x: options.x ?? 0, y: options.y ?? 0, width: options.width ?? 800, height: options.height ?? 600 };
    this.normal = { ...this.bounds };
    this.visible = options.show !== false;
    state.windows.push(this);
    app.emit('web-contents-created', new StandinEvent(), this.webContents);
  }

  private alive(what: string): void {
    if (this.destroyed) throw destroyedError(`BrowserWindow.${what}`);
  }

  async loadURL(url: string): Promise<void> {
    this.alive('loadURL');
    this.webContents.url = url;
    const res = await protocol.fetch(url);
    this.loads.push({ url, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
    if (!this.shownOnce && !this.destroyed) {
      this.shownOnce = true;
      this.emit('ready-to-show', new StandinEvent());
    }
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    this.alive('isMinimized');
    return this.minimized;
  }
  isFullScreen(): boolean {
    this.alive('isFullScreen');
    return this.fullScreen;
  }
  isMaximized(): boolean {
    this.alive('isMaximized');
    return this.maximized;
  }
  isVisible(): boolean {
    this.alive('isVisible');
    return this.visible;
  }
  isFocused(): boolean {
    this.alive('isFocused');
    return this.focused;
  }
  getBounds(): Rectangle {
    this.alive('getBounds');
    return { ...this.bounds };
  }
  getNormalBounds(): Rectangle {
    this.alive('getNormalBounds');
    return { ...(this.maximized ? this.normal : this.bounds) };
  }
  setBounds(b: Partial<Rectangle>): void {
    this.alive('setBounds');
    const moved = (b.x !== undefined && b.x !== this.bounds.x) || (b.y !== undefined && b.y !== this.bounds.y);
    this.bounds = { ...this.bounds, ...b };
    if (!this.maximized) this.normal = { ...this.bounds };
    this.emit('resize', new StandinEvent());
    if (moved) this.emit('move', new StandinEvent());
  }
  maximize(): void {
    this.alive('maximize');
    this.maximized = true;
    this.bounds = { x: 0, y: 0, width: 1920, height: 1040 };
    this.emit('maximize', new StandinEvent());
  }
  minimize(): void {
    this.alive('minimize');
    this.minimized = true;
    this.focused = false;
    this.emit('minimize', new StandinEvent());
  }
  setFullScreen(flag: boolean): void {
    this.alive('setFullScreen');
    this.fullScreen = flag;
  }
  restore(): void {
    this.alive('restore');
    this.minimized = false;
    this.emit('restore', new StandinEvent());
  }
  show(): void {
    this.alive('show');
    this.visible = true;
    this.focus();
    this.emit('show', new StandinEvent());
  }
  hide(): void {
    this.alive('hide');
    this.visible = false;
    this.focused = false;
  }
  focus(): void {
    this.alive('focus');
    this.focused = true;
  }
  blur(): void {
    this.alive('blur');
    this.focused = false;
  }

  /** Closes as the user would: 'close' (preventable), then destroyed, 'closed', maybe window-all-closed. */
  close(): void {
    if (this.destroyed) return;
    const e = new StandinEvent();
    this.emit('close', e);
    if (e.defaultPrevented) return;
    this.destroyed = true;
    this.visible = false;
    this.webContents.destroy();
    this.emit('closed');
    state.windows.splice(state.windows.indexOf(this), 1);
    if (state.windows.length === 0 && !app.quitting) app.emit('window-all-closed');
  }
}

// ---------- app ----------

type AppUsed =
  | 'isPackaged'
  | 'getAppPath'
  | 'getPath'
  | 'requestSingleInstanceLock'
  | 'quit'
  | 'exit'
  | 'setAsDefaultProtocolClient'
  | 'whenReady'
  | 'isReady'
  | 'showAboutPanel';

export class StandinApp extends EventEmitter implements Pick<App, AppUsed> {
  isPackaged = false;
  appPath = process.cwd();
  paths: Record<string, string> = {};
  /** what requestSingleInstanceLock answers (false: another instance runs) */
  singleInstanceLock = true;
  readonly protocolClients: { protocol: string; path?: string; args?: string[] }[] = [];
  aboutShown = 0;
  quitCalls = 0;
  quitting = false;
  quitted = false;
  exitCode: number | null = null;
  private ready = false;
  private markReady!: () => void;
  private readyP!: Promise<void>;

  constructor() {
    super();
    this.reset();
  }

  reset(): void {
    this.removeAllListeners();
    Object.assign(this, {
      isPackaged: false,
      paths: {},
      singleInstanceLock: true,
      aboutShown: 0,
      quitCalls: 0,
      quitting: false,
      quitted: false,
      exitCode: null,
      ready: false,
    });
    this.protocolClients.length = 0;
    this.readyP = new Promise((r) => (this.markReady = r));
  }

  getAppPath(): string {
    return this.appPath;
  }
  getPath(name: string): string {
    const p = this.paths[name];
    if (!p) throw new Error(`Failed to get '${name}' path`);
    return p;
  }
  requestSingleInstanceLock(): boolean {
    return this.singleInstanceLock;
  }
  setAsDefaultProtocolClient(protocol: string, path?: string, args?: string[]): boolean {
    this.protocolClients.push({ protocol, path, args });
    return true;
  }
  whenReady(): Promise<void> {
    return this.readyP;
  }
  isReady(): boolean {
    return this.ready;
  }
  showAboutPanel(): void {
    this.aboutShown++;
  }

  /** Not Electron: the OS has started the app ('ready'). */
  emitReady(): void {
    this.ready = true;
    this.emit('ready', new StandinEvent(), {});
    this.markReady();
  }

  quit(): void {
    this.quitCalls++;
    const e = new StandinEvent();
    this.emit('before-quit', e);
    if (e.defaultPrevented) return;
    this.quitting = true;
    for (const w of [...state.windows]) w.close();
    if (state.windows.length > 0) {
      this.quitting = false; // a window refused to close: the quit is cancelled
      return;
    }
    const wq = new StandinEvent();
    this.emit('will-quit', wq);
    if (wq.defaultPrevented) return;
    this.quitted = true;
    this.emit('quit', new StandinEvent(), 0);
  }

  exit(exitCode = 0): void {
    // Electron exits at once, without events; here the test process goes on and looks.
    this.exitCode = exitCode;
  }
}

// ---------- dialogs, shell, theme, screen, storage ----------

type DialogCall =
  | { kind: 'error'; title: string; content: string }
  | { kind: 'message'; window: unknown; options: MessageBoxOptions }
  | { kind: 'open'; window: unknown; options: OpenDialogOptions }
  | { kind: 'save'; window: unknown; options: SaveDialogOptions };

export class StandinDialog implements Pick<Dialog, 'showErrorBox' | 'showMessageBox' | 'showOpenDialog' | 'showSaveDialog'> {
  readonly shown: DialogCall[] = [];
  /** answers the next dialogs give, in order; without one: the first button, or cancelled */
  readonly answers = { message: [] as MessageBoxReturnValue[], open: [] as OpenDialogReturnValue[], save: [] as SaveDialogReturnValue[] };

  reset(): void {
    this.shown.length = 0;
    this.answers.message.length = this.answers.open.length = this.answers.save.length = 0;
  }

  showErrorBox(title: string, content: string): void {
    this.shown.push({ kind: 'error', title, content });
  }
  async showMessageBox(a: BaseWindow | MessageBoxOptions, b?: MessageBoxOptions): Promise<MessageBoxReturnValue> {
    this.shown.push({ kind: 'message', window: b ? a : null, options: b ?? (a as MessageBoxOptions) });
    return this.answers.message.shift() ?? { response: 0, checkboxChecked: false };
  }
  async showOpenDialog(a: BaseWindow | OpenDialogOptions, b?: OpenDialogOptions): Promise<OpenDialogReturnValue> {
    this.shown.push({ kind: 'open', window: b ? a : null, options: b ?? (a as OpenDialogOptions) });
    return this.answers.open.shift() ?? { canceled: true, filePaths: [] };
  }
  async showSaveDialog(a: BaseWindow | SaveDialogOptions, b?: SaveDialogOptions): Promise<SaveDialogReturnValue> {
    this.shown.push({ kind: 'save', window: b ? a : null, options: b ?? (a as SaveDialogOptions) });
    return this.answers.save.shift() ?? { canceled: true, filePath: '' };
  }
}

export class StandinShell implements Pick<Shell, 'openExternal'> {
  readonly opened: string[] = [];
  async openExternal(url: string): Promise<void> {
    this.opened.push(url);
  }
}

export class StandinNativeTheme extends EventEmitter implements Pick<NativeTheme, 'themeSource' | 'shouldUseDarkColors'> {
  themeSource: 'system' | 'light' | 'dark' = 'system';
  get shouldUseDarkColors(): boolean {
    return this.themeSource === 'dark';
  }
}

function display(id: number, workArea: Rectangle): Display {
  const size = { width: workArea.width, height: workArea.height };
  return {
    id,
    label: `Display ${id}`,
    bounds: { ...workArea },
    workArea,
    size,
    workAreaSize: size,
    accelerometerSupport: 'unknown',
    colorDepth: 24,
    colorSpace: 'srgb',
    depthPerComponent: 8,
    detected: true,
    displayFrequency: 60,
    internal: false,
    maximumCursorSize: { width: 0, height: 0 },
    monochrome: false,
    nativeOrigin: { x: workArea.x, y: workArea.y },
    rotation: 0,
    scaleFactor: 1,
    touchSupport: 'unknown',
  };
}

export class StandinScreen extends EventEmitter implements Pick<Screen, 'getAllDisplays' | 'getPrimaryDisplay'> {
  /** the displays' work areas; the first is the primary */
  workAreas: Rectangle[] = [{ x: 0, y: 0, width: 1920, height: 1040 }];
  getAllDisplays(): Display[] {
    return this.workAreas.map((w, i) => display(i + 1, w));
  }
  getPrimaryDisplay(): Display {
    return display(1, this.workAreas[0]!);
  }
}

/** Sealing that can be told from plain text and undone: enough to see keys go through safeStorage. */
const SEALED = 'standin-sealed:';

export class StandinSafeStorage implements Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'> {
  available = true;
  backend: ReturnType<SafeStorage['getSelectedStorageBackend']> = 'gnome_libsecret';
  isEncryptionAvailable(): boolean {
    return this.available;
  }
  encryptString(plainText: string): Buffer {
    if (!this.available) throw new Error('Encryption is not available.');
    return Buffer.from(SEALED + Buffer.from(plainText, 'utf8').toString('base64'));
  }
  decryptString(encrypted: Buffer): string {
    const t = encrypted.toString();
    if (!t.startsWith(SEALED)) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    return Buffer.from(t.slice(SEALED.length), 'base64').toString('utf8');
  }
  getSelectedStorageBackend(): ReturnType<SafeStorage['getSelectedStorageBackend']> {
    return this.backend;
  }
}

type PermissionRequestHandler = Parameters<Session['setPermissionRequestHandler']>[0];
type PermissionCheckHandler = Parameters<Session['setPermissionCheckHandler']>[0];

export class StandinSession extends EventEmitter implements Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> {
  requestHandler: PermissionRequestHandler = null;
  checkHandler: PermissionCheckHandler = null;
  setPermissionRequestHandler(h: PermissionRequestHandler): void {
    this.requestHandler = h;
  }
  setPermissionCheckHandler(h: PermissionCheckHandler): void {
    this.checkHandler = h;
  }
}

// ---------- protocol ----------

export class StandinProtocol implements Pick<Protocol, 'registerSchemesAsPrivileged' | 'handle' | 'isProtocolHandled' | 'unhandle'> {
  readonly privileged: CustomScheme[] = [];
  readonly handlers = new Map<string, (request: Request) => Response | Promise<Response>>();

  registerSchemesAsPrivileged(customSchemes: CustomScheme[]): void {
    if (app.isReady()) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
    this.privileged.push(...customSchemes);
  }
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void {
    if (!app.isReady()) throw new Error('protocol.handle can only be used after the app is ready');
    if (this.handlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
    this.handlers.set(scheme, handler);
  }
  isProtocolHandled(scheme: string): boolean {
    return this.handlers.has(scheme);
  }
  unhandle(scheme: string): void {
    this.handlers.delete(scheme);
  }

  /** Not Electron: what a page's request for `url` gets (404 for a scheme nobody handles). */
  async fetch(url: string): Promise<Response> {
    const h = this.handlers.get(new URL(url).protocol.slice(0, -1));
    if (!h) return new Response('no handler', { status: 404 });
    return h(new Request(url));
  }
}

// ---------- menus, tray, images, notifications ----------

type MenuTemplate = Parameters<typeof EMenu.buildFromTemplate>[0];

/** A built menu: its template as given (items with their click functions). */
export class StandinMenu {
  static applicationMenu: StandinMenu | null = null;
  constructor(readonly items: MenuItemConstructorOptions[]) {}

  static buildFromTemplate(template: MenuTemplate): StandinMenu {
    return new StandinMenu(template as MenuItemConstructorOptions[]);
  }
  static setApplicationMenu(menu: StandinMenu | null): void {
    StandinMenu.applicationMenu = menu;
  }

  /** Not Electron: the item with this label, at any depth. */
  find(label: string): MenuItemConstructorOptions | undefined {
    const walk = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions | undefined => {
      for (const i of items) {
        if (i.label === label) return i;
        const inner = Array.isArray(i.submenu) ? walk(i.submenu as MenuItemConstructorOptions[]) : undefined;
        if (inner) return inner;
      }
      return undefined;
    };
    return walk(this.items);
  }

  /** Not Electron: a click on the item with this label (throws when there is none or it does nothing). */
  click(label: string): void {
    const item = this.find(label);
    if (!item?.click) throw new Error(`no menu item "${label}" with a click`);
    (item.click as (...a: unknown[]) => void)(item, state.windows[0] ?? null, { shiftKey: false });
  }
}

export class StandinImage implements Pick<NativeImage, 'isEmpty' | 'setTemplateImage' | 'isTemplateImage'> {
  private template = false;
  constructor(
    readonly path: string,
    private readonly empty: boolean,
  ) {}
  isEmpty(): boolean {
    return this.empty;
  }
  setTemplateImage(option: boolean): void {
    this.template = option;
  }
  isTemplateImage(): boolean {
    return this.template;
  }
}

export const nativeImage = {
  /** Empty, as Electron's is, when the file is not a PNG there. */
  createFromPath(path: string): StandinImage {
    let ok = false;
    try {
      ok = fs
        .readFileSync(path)
        .subarray(0, 8)
        .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    } catch {
      ok = false;
    }
    return new StandinImage(path, !ok);
  },
};

export class StandinTray extends EventEmitter implements Pick<ETray, 'setToolTip' | 'destroy' | 'isDestroyed'> {
  /** set to make the next `new Tray` throw (a desktop without a tray) */
  static failWith: Error | null = null;
  static readonly made: StandinTray[] = [];
  toolTip = '';
  menu: StandinMenu | null = null;
  private destroyed = false;

  constructor(readonly image: StandinImage | string) {
    super();
    if (StandinTray.failWith) throw StandinTray.failWith;
    StandinTray.made.push(this);
  }
  setToolTip(toolTip: string): void {
    this.toolTip = toolTip;
  }
  setContextMenu(menu: StandinMenu | null): void {
    this.menu = menu;
  }
  destroy(): void {
    this.destroyed = true;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export class StandinNotification extends EventEmitter implements Pick<ENotification, 'show' | 'close' | 'title' | 'body'> {
  static supported = true;
  static readonly shown: StandinNotification[] = [];
  title: string;
  body: string;

  static isSupported(): boolean {
    return StandinNotification.supported;
  }
  constructor(readonly options: NotificationConstructorOptions = {}) {
    super();
    this.title = options.title ?? '';
    this.body = options.body ?? '';
  }
  show(): void {
    StandinNotification.shown.push(this);
    this.emit('show', new StandinEvent());
  }
  close(): void {
    this.emit('close', new StandinEvent());
  }
  /** Not Electron: the user clicks the notice. */
  click(): void {
    this.emit('click', new StandinEvent());
  }
}

// ---------- IPC: main and the one renderer ----------

type InvokeListener = Parameters<IpcMain['handle']>[1];

export class StandinIpcMain extends EventEmitter implements Pick<IpcMain, 'handle' | 'removeHandler'> {
  readonly handlers = new Map<string, InvokeListener>();
  handle(channel: string, listener: InvokeListener): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
}

/** The frame a message comes from, as main sees it (Electron's WebFrameMain: url and parent). */
export interface StandinFrame {
  url: string;
  parent: unknown;
}

/**
 * The renderer of the newest open window, as its preload sees ipcRenderer. `frame` overrides the
 * sender frame (an iframe, another origin, or null once the frame is gone) to test main's checks.
 */
export class StandinIpcRenderer extends EventEmitter implements Pick<IpcRenderer, 'invoke' | 'send'> {
  frame: StandinFrame | null | undefined = undefined;

  webContents(): StandinWebContents | null {
    return state.windows.at(-1)?.webContents ?? null;
  }

  private event(): IpcMainInvokeEvent {
    const wc = this.webContents();
    if (!wc) throw new Error('no window: nothing renders');
    const senderFrame = this.frame === undefined ? { url: wc.getURL(), parent: null } : this.frame;
    // Only the fields main/ reads are real; the rest of Electron's event is not emulated.
    return { sender: wc, senderFrame, processId: 1, frameId: 1 } as unknown as IpcMainInvokeEvent;
  }

  async invoke(channel: string, ...args: any[]): Promise<any> {
    const h = ipcMain.handlers.get(channel);
    if (!h) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    return structuredClone(await h(this.event(), ...structuredClone(args)));
  }

  send(channel: string, ...args: any[]): void {
    ipcMain.emit(channel, this.event(), ...structuredClone(args));
  }
}

export class StandinContextBridge implements Pick<ContextBridge, 'exposeInMainWorld'> {
  /** what the page sees on `window` */
  readonly mainWorld: Record<string, unknown> = {};
  exposeInMainWorld(apiKey: string, api: any): void {
    if (apiKey in this.mainWorld) throw new Error(`Cannot bind an API on top of an existing property on the window object`);
    this.mainWorld[apiKey] = api;
  }
}

// ---------- the module's exports and the state behind them ----------

const state = { windows: [] as StandinBrowserWindow[] };

export const app = new StandinApp();
export const BrowserWindow = StandinBrowserWindow;
export const dialog = new StandinDialog();
export const ipcMain = new StandinIpcMain();
export const ipcRenderer = new StandinIpcRenderer();
export const contextBridge = new StandinContextBridge();
export const Menu = StandinMenu;
export const nativeTheme = new StandinNativeTheme();
export const Notification = StandinNotification;
export const powerMonitor = new EventEmitter();
export const protocol = new StandinProtocol();
export const safeStorage = new StandinSafeStorage();
export const screen = new StandinScreen();
export const session = { defaultSession: new StandinSession() };
export const shell = new StandinShell();
export const Tray = StandinTray;

/** Not Electron: the test's handle on everything above. */
export const standin = {
  get windows(): readonly StandinBrowserWindow[] {
    return state.windows;
  },
  /** A fresh Electron for the next run of main: nothing registered, nothing recorded. */
  reset(opts: { appPath: string; userData: string }): void {
    for (const w of state.windows) w.removeAllListeners();
    state.windows.length = 0;
    app.reset();
    app.appPath = opts.appPath;
    app.paths = { userData: opts.userData };
    dialog.reset();
    ipcMain.handlers.clear();
    ipcMain.removeAllListeners();
    ipcRenderer.removeAllListeners();
    ipcRenderer.frame = undefined;
    for (const k of Object.keys(contextBridge.mainWorld)) delete contextBridge.mainWorld[k];
    StandinMenu.applicationMenu = null;
    nativeTheme.themeSource = 'system';
    StandinNotification.supported = true;
    StandinNotification.shown.length = 0;
    powerMonitor.removeAllListeners();
    protocol.privileged.length = 0;
    protocol.handlers.clear();
    safeStorage.available = true;
    safeStorage.backend = 'gnome_libsecret';
    screen.workAreas = [{ x: 0, y: 0, width: 1920, height: 1040 }];
    session.defaultSession = new StandinSession();
    shell.opened.length = 0;
    StandinTray.failWith = null;
    StandinTray.made.length = 0;
  },
};
