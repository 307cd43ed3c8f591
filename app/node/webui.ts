// The headless node's web UI transport: DrayerApi over HTTP (POST /api/<method>) and events
// over Server-Sent Events (GET /api/events), on 127.0.0.1 only. The credential is a random token
// in an `Authorization: Bearer` header (scripts) or an HttpOnly SameSite=Strict cookie (the
// browser, signed in by a one-time code), never in a URL; other sites and host names are refused.
// It forwards envelopes and knows nothing of the methods; the UI's static files come from
// dist/renderer when built.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual } from 'node:crypto';
import type { DrayerEvent, Envelope, Method } from './api.js';
import { METHODS } from './api.js';
import { BOOT_CALLS, bootKey, type BootReply } from './boot-calls.js';
import { randomBytes } from '../core/crypto.js';

export interface ApiHost {
  callEnvelope(method: string, arg: unknown): Promise<Envelope<unknown>>;
  subscribe(listener: (e: DrayerEvent) => void): () => void;
}

export interface WebUiOptions {
  /** listen here and nowhere else; without it, the port in stateFile (when free), else any free one */
  port?: number;
  token?: string;
  /** folder of the built renderer (index.html etc.) */
  staticDir?: string;
  /** a file (0600) that keeps the port and the API token across restarts: the data directory's webui.json */
  stateFile?: string;
  /** how long a sign-in code works (default two minutes) */
  codeTtlMs?: number;
}

const MAX_BODY = 1024 * 1024;
/** After the first boot reply, the page paints: what can wait waits this long (ms). */
const STARTUP_QUIET_MS = 1000;
/** …and never longer than this after listen (ms), when no page comes. */
const STARTUP_MAX_MS = 3000;
/** A UI that asked this recently is busy (WebUi.busy): more than the page's pause while a search is typed (200 ms). */
const BUSY_AFTER_MS = 300;
/** UI files up to this size are kept in memory once read; bigger ones (source maps) stream. */
const MAX_CACHED_FILE = 1024 * 1024;

// The argument schemas load zod (about a hundred modules): once the first page has painted (see
// startedUp), so neither the node's start-up nor the page's waits for them; a call before waits.
let schemas: Promise<typeof import('./api-schema.js')> | null = null;
const apiSchemas = () => (schemas ??= import('./api-schema.js'));
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export function defaultStaticDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../renderer');
}

/** What a web UI keeps across restarts of the same data directory. */
interface WebUiState {
  port: number;
  token: string;
}

/** Sign-in codes outstanding at most: each `signInUrl` makes one; the oldest are dropped first. */
const MAX_CODES = 16;
const CODE_TTL_MS = 2 * 60_000;
/** The browser keeps its session cookie this long (s): a bookmark keeps working, a restart too. */
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

export class WebUi {
  /** the API token: an `Authorization: Bearer` credential for scripts; never put in a URL */
  readonly token: string;
  private server: http.Server | null = null;
  private port = 0;
  /** the port used last time, when it was taken this time and the UI moved */
  movedFrom: number | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();
  /** API calls being answered, and when the last one ended (see busy) */
  private calls = 0;
  private lastCallEnd = 0;
  private readonly streams = new Set<http.ServerResponse>();
  /** one-time sign-in codes → when they stop working (ms) */
  private readonly codes = new Map<string, number>();
  private readonly saved: Partial<WebUiState>;
  /** events told of since listen that change what GET /api/boot answers (see hello in events()) */
  private changes = 0;
  private offChanges: (() => void) | null = null;
  /** the UI's files as served (fileBody), by path: the renderer's build, a few hundred KiB */
  private readonly files = new Map<string, { mtimeMs: number; size: number; body: Buffer }>();

  constructor(
    private readonly api: ApiHost,
    private readonly opts: WebUiOptions = {},
  ) {
    this.saved = opts.stateFile ? readState(opts.stateFile) : {};
    this.token = opts.token ?? this.saved.token ?? Buffer.from(randomBytes(32)).toString('base64url');
  }

  /**
   * Always binds 127.0.0.1: the web UI can write, so it is never on the LAN. The URL it answers
   * signs a browser in once (a one-time code, see signInUrl); the token itself is never in it.
   */
  async listen(): Promise<{ url: string; port: number; token: string }> {
    const server = http.createServer(
      (req, res) =>
        void this.handle(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('Internal error.');
        }),
    );
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    const bind = (port: number) =>
      new Promise<void>((resolve, reject) => {
        const fail = (e: Error) => reject(e);
        server.once('error', fail);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', fail);
          resolve();
        });
      });
    const remembered = this.opts.port === undefined && validPort(this.saved.port) ? this.saved.port! : null;
    try {
      await bind(this.opts.port ?? remembered ?? 0);
    } catch (e) {
      // The port of last time is taken: a free one, and open tabs at the old address say to open the new link.
      if (remembered === null || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      this.movedFrom = remembered;
      await bind(0);
    }
    this.server = server;
    this.port = (server.address() as import('node:net').AddressInfo).port;
    this.offChanges = this.api.subscribe((e) => {
      if (e.event !== 'syncProgress') this.changes++;
    });
    if (this.opts.stateFile) writeState(this.opts.stateFile, { port: this.port, token: this.token });
    const waited = setTimeout(() => this.settle(), STARTUP_MAX_MS).unref();
    void this.startedUp().then(() => {
      clearTimeout(waited);
      void apiSchemas().catch(() => {}); // a failure surfaces on the first call
    });
    return { url: this.signInUrl(), port: this.port, token: this.token };
  }

  private settle = (): void => {};
  private readonly settled = new Promise<void>((resolve) => (this.settle = resolve));

  /**
   * Resolves once the first page has what it paints from (STARTUP_QUIET_MS after the first boot
   * reply, or STARTUP_MAX_MS after listen when no page comes): work that can wait (the API's
   * argument schemas, the node's opening of its streams) waits for it, and leaves the machine's
   * cores to the browser while it loads the page.
   */
  startedUp(): Promise<void> {
    return this.settled;
  }

  /**
   * startedUp, then the API's schemas loaded (or failed to): what the node's opening of its
   * streams waits for, so the first call after start waits for the schemas alone, not for them
   * loading between slices of that opening (the first search after start took 150 ms so).
   */
  schemasLoaded(): Promise<void> {
    return this.settled.then(apiSchemas).then(
      () => {},
      () => {},
    );
  }

  /** The address of the UI with nothing secret in it. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * A URL that signs one browser in: its code works once, for two minutes, and is exchanged for
   * an HttpOnly cookie, so what a browser is opened with (and what argv shows) is worth nothing later.
   */
  signInUrl(): string {
    const now = Date.now();
    for (const [c, until] of this.codes) if (until <= now) this.codes.delete(c);
    while (this.codes.size >= MAX_CODES) this.codes.delete(this.codes.keys().next().value!);
    const code = Buffer.from(randomBytes(24)).toString('base64url');
    this.codes.set(code, now + (this.opts.codeTtlMs ?? CODE_TTL_MS));
    return `${this.origin}/?code=${code}`;
  }

  async close(): Promise<void> {
    this.offChanges?.();
    this.offChanges = null;
    for (const r of this.streams) r.end();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private get cookieName(): string {
    // Cookies do not tell ports apart: a name per port keeps two nodes' sessions apart.
    return `drayer_${this.port}`;
  }

  /** Only our own Host: a page elsewhere cannot reach us through DNS rebinding. */
  private hostAllowed(req: http.IncomingMessage): boolean {
    const host = (req.headers.host ?? '').toLowerCase();
    return ['127.0.0.1', 'localhost', '[::1]'].some((h) => host === `${h}:${this.port}`);
  }

  /**
   * A browser says where a request comes from (Origin, Sec-Fetch-Site): anything but this very
   * origin is refused, so no other site (nor another port on this computer) can call the API.
   * Clients that send neither (scripts with the token) are judged by their credential alone.
   */
  private crossSite(req: http.IncomingMessage): string | null {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a request from another site (Sec-Fetch-Site: ${String(site).slice(0, 40)})`;
    const origin = req.headers.origin;
    if (origin !== undefined && !['127.0.0.1', 'localhost', '[::1]'].some((h) => origin.toLowerCase() === `http://${h}:${this.port}`)) {
      return `a request from another origin (${origin.slice(0, 100)})`;
    }
    return null;
  }

  /** The token from `Authorization: Bearer` or the session cookie; never from the URL. */
  private authorized(req: http.IncomingMessage): boolean {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = bearer ?? cookie(req.headers.cookie, this.cookieName) ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (!this.hostAllowed(req)) return void text(res, 421, `This is Drayer's web UI; open it at ${this.origin}/ (other host names are refused).`);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', this.origin);
    } catch {
      return void text(res, 400, 'The address is not one Drayer can read.');
    }
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/auth/')) {
      const foreign = this.crossSite(req);
      if (foreign)
        return void json(res, 403, { ok: false, error: { code: 'UNAUTHORIZED', message: `Drayer refused ${foreign}: only its own page may call it.` } });
      if (!this.authorized(req)) return void json(res, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: UNAUTHORIZED } });
      if (url.pathname === '/auth/link' && req.method === 'POST') return void json(res, 200, { url: this.signInUrl() });
      if (url.pathname === '/api/events' && req.method === 'GET') return this.events(req, res);
      if (url.pathname === '/api/boot' && req.method === 'GET') return this.boot(res);
      if (url.pathname === '/api/export' && req.method === 'GET') return this.download(url, res);
      const method = url.pathname.slice('/api/'.length);
      if (req.method !== 'POST') return void json(res, 405, { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'Use POST for API calls.' } });
      // JSON only: a form or text/plain POST (what another page can send without asking) is refused.
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json')
        return void json(res, 415, {
          ok: false,
          error: { code: 'INVALID_ARGUMENT', message: 'API calls send their argument as JSON (Content-Type: application/json).' },
        });
      const t0 = performance.now();
      this.calls++;
      try {
        return await this.answer(req, res, method, t0);
      } finally {
        this.calls--;
        this.lastCallEnd = performance.now();
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return void text(res, 405, 'Method not allowed.');
    if (url.searchParams.has('code')) return this.signIn(req, url, res);
    return this.serveStatic(url, res);
  }

  /**
   * Whether a person is using the UI now: a call is being answered, or one ended less than
   * BUSY_AFTER_MS ago (the page asks again within that while a search is typed).
   */
  busy(): boolean {
    return this.calls > 0 || performance.now() - this.lastCallEnd < BUSY_AFTER_MS;
  }

  /** POST /api/<method>: its JSON argument checked, then the node's answer. */
  private async answer(req: http.IncomingMessage, res: http.ServerResponse, method: string, t0: number): Promise<void> {
    let arg: unknown;
    try {
      const body = await readBody(req);
      arg = body.length ? JSON.parse(body.toString('utf8')) : undefined;
    } catch (e) {
      return void json(res, 400, { ok: false, error: { code: 'INVALID_ARGUMENT', message: `The request body is not JSON: ${(e as Error).message}` } });
    }
    const t1 = performance.now();
    const checked = METHODS.includes(method as Method) ? (await apiSchemas()).checkArg(method, arg) : { ok: true as const, value: arg };
    const t2 = performance.now();
    const reply = checked.ok ? await this.api.callEnvelope(method, checked.value) : checked;
    // The node's part of the round trip (devtools show it; the library bench sets it beside the whole):
    // reading the request, checking its argument, answering it.
    const t3 = performance.now();
    const ms = (a: number, b: number) => (b - a).toFixed(1);
    res.setHeader('server-timing', `node;dur=${ms(t0, t3)}, read;dur=${ms(t0, t1)}, check;dur=${ms(t1, t2)}, call;dur=${ms(t2, t3)}`);
    return void json(res, 200, reply);
  }

  /** `/?code=…`: a good code once → the session cookie, and the same address without the code. */
  private signIn(req: http.IncomingMessage, url: URL, res: http.ServerResponse): void {
    const code = url.searchParams.get('code') ?? '';
    const until = this.codes.get(code);
    const fresh = until !== undefined && until > Date.now();
    this.codes.delete(code);
    url.searchParams.delete('code');
    const clean = url.pathname + (url.search || '');
    if (fresh) {
      res.setHeader('set-cookie', `${this.cookieName}=${this.token}; Path=/api; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_S}`);
    } else if (!this.authorized(req)) {
      res.writeHead(401, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      });
      return void res.end(EXPIRED_PAGE);
    }
    // 303 and no-store: the code leaves the address bar at once and is not kept in any cache.
    res.writeHead(303, { location: clean, 'cache-control': 'no-store' });
    res.end();
  }

  /**
   * The reads Home paints from (boot-calls.ts), answered as POST /api/<method> answers each, and the
   * count of changes told of until then: the page compares it with the `hello` of its event channel.
   */
  private async boot(res: http.ServerResponse): Promise<void> {
    const reply: BootReply = { changes: this.changes, results: {} };
    for (const c of BOOT_CALLS) reply.results[bootKey(c.method, c.arg)] = await this.api.callEnvelope(c.method, c.arg);
    json(res, 200, reply);
    setTimeout(() => this.settle(), STARTUP_QUIET_MS).unref();
  }

  private events(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    // What a page read from GET /api/boot is current only if no change came between: this count says.
    res.write(`event: hello\ndata: ${JSON.stringify({ changes: this.changes })}\n\n`);
    this.streams.add(res);
    const off = this.api.subscribe((e) => res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`));
    const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
    req.on('close', () => {
      off();
      clearInterval(ping);
      this.streams.delete(res);
    });
  }

  /** A keyless copy of a stream as a download (exportStream into a temporary folder, sent, removed). */
  private async download(url: URL, res: http.ServerResponse): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drayer-export-'));
    try {
      const env = await this.api.callEnvelope('exportStream', { publicKey: url.searchParams.get('publicKey') ?? '', path: dir });
      if (!env.ok) return void json(res, env.error.code === 'NOT_FOUND' ? 404 : 400, env);
      const file = (env.value as { path: string }).path;
      const name = path.basename(file).replace(/[^\w.-]+/g, '_') || 'stream.stream';
      res.writeHead(200, {
        'content-type': 'application/vnd.drayer.stream',
        'content-length': fs.statSync(file).size,
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
      });
      await new Promise<void>((resolve) => {
        const src = fs.createReadStream(file);
        src.on('error', () => resolve(void res.destroy()));
        res.on('close', () => resolve());
        src.pipe(res);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private serveStatic(url: URL, res: http.ServerResponse): void {
    const dir = this.opts.staticDir ?? defaultStaticDir();
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    } catch {
      return void text(res, 400, 'The address has broken percent-encoding (a % not followed by two hex digits).');
    }
    const file = path.resolve(dir, rel);
    if (!file.startsWith(path.resolve(dir) + path.sep)) return void text(res, 404, 'Not found.');
    let target = file;
    if (!fs.existsSync(target) || fs.statSync(target).isDirectory()) target = path.join(dir, 'index.html');
    if (!fs.existsSync(target)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(FALLBACK_PAGE);
    }
    const isIndex = target === path.join(dir, 'index.html');
    res.writeHead(200, {
      'content-type': MIME[path.extname(target)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      // Strict: no inline script or style, no plugins, not framed; stream content can never run here.
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-src http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    });
    const body = this.fileBody(target, isIndex);
    if (body) return void res.end(body);
    fs.createReadStream(target).pipe(res);
  }

  /**
   * A file of the UI from memory (read once per version of it: its size and time), so the page's
   * scripts go out in one write each while the node is busiest; null for a big one (a source map),
   * which streams. index.html gets a preload of GET /api/boot at the end of its head: the browser
   * asks for Home's data right after the scripts and styles, and the node reads it while they load
   * (same-origin, so the session cookie goes with it; the page's fetch of it takes this reply).
   */
  private fileBody(file: string, isIndex: boolean): Buffer | null {
    const st = fs.statSync(file);
    if (st.size > MAX_CACHED_FILE) return null;
    const c = this.files.get(file);
    if (c && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.body;
    let body = fs.readFileSync(file);
    if (isIndex) {
      const html = body.toString('utf8');
      const at = html.search(/<\/head>/i);
      const link = '  <link rel="preload" href="/api/boot" as="fetch" crossorigin>\n  ';
      body = Buffer.from(at < 0 ? html : html.slice(0, at) + link + html.slice(at));
    }
    this.files.set(file, { mtimeMs: st.mtimeMs, size: st.size, body });
    return body;
  }
}

const UNAUTHORIZED =
  'This browser is not signed in to Drayer. Open the link that "drayer serve --ui" printed (it works once), or get a new one with "drayer ui-link".';

const FALLBACK_PAGE = `<!doctype html><meta charset="utf-8"><title>Drayer</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto">
<h1>Drayer</h1><p>This node is running. The desktop UI has not been built into <code>dist/renderer</code> yet;
the API is at <code>POST /api/&lt;method&gt;</code> with the token as <code>Authorization: Bearer</code>.</p></body>`;

const EXPIRED_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Drayer: sign-in link no longer works</title>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color-scheme:light dark">
<h1 style="font-size:1.4rem">This sign-in link no longer works</h1>
<p>It was used already, or is older than two minutes: a link from <code>drayer serve --ui</code> signs in one browser once, so that a copy of it is worth nothing later.</p>
<p>For a new link, run <code>drayer ui-link</code> (with the same <code>--data</code> folder as the node), or restart <code>drayer serve --ui</code>.</p></body></html>`;

function validPort(p: unknown): boolean {
  return typeof p === 'number' && Number.isInteger(p) && p > 0 && p <= 65535;
}

/** The state of last time; anything unreadable counts as none (a new token, any port). */
function readState(file: string): Partial<WebUiState> {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<WebUiState>;
    return {
      port: validPort(v.port) ? v.port : undefined,
      token: typeof v.token === 'string' && /^[\w-]{32,128}$/.test(v.token) ? v.token : undefined,
    };
  } catch {
    return {};
  }
}

/** Written whole (a temporary file renamed over it), readable by this user only: it holds the token. */
function writeState(file: string, state: WebUiState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(state) + '\n', { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
    // Not fatal: the UI works, it just may not keep its port or token next time.
  }
}

/** Read where this node's web UI is and its token (for `drayer ui-link`); null when there is none. */
export function readWebUiState(file: string): WebUiState | null {
  const s = readState(file);
  return s.port && s.token ? { port: s.port, token: s.token } : null;
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': b.length, 'cache-control': 'no-store' });
  res.end(b);
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/** Client side of this transport, for a UI running in a browser or in tests. */
export function httpApiClient(baseUrl: string, token: string) {
  return {
    async call(method: string, arg?: unknown): Promise<Envelope<unknown>> {
      const res = await fetch(`${baseUrl}/api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(arg ?? {}),
      });
      return (await res.json()) as Envelope<unknown>;
    },
  };
}
