// The headless node's web UI transport: DrayerApi over HTTP (POST /api/<method>) and events
// over Server-Sent Events (GET /api/events), on 127.0.0.1 only, guarded by a random token.
// It forwards envelopes and knows nothing of the methods; the UI's static files come from
// dist/renderer when built.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual } from 'node:crypto';
import type { DrayerEvent, Envelope } from './api.js';
import { randomBytes } from './crypto.js';

export interface ApiHost {
  callEnvelope(method: string, arg: unknown): Promise<Envelope<unknown>>;
  subscribe(listener: (e: DrayerEvent) => void): () => void;
}

export interface WebUiOptions {
  port?: number;
  token?: string;
  /** folder of the built renderer (index.html etc.) */
  staticDir?: string;
}

const MAX_BODY = 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon', '.woff2': 'font/woff2',
};

export function defaultStaticDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../renderer');
}

export class WebUi {
  readonly token: string;
  private server: http.Server | null = null;
  private port = 0;
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly streams = new Set<http.ServerResponse>();

  constructor(private readonly api: ApiHost, private readonly opts: WebUiOptions = {}) {
    this.token = opts.token ?? Buffer.from(randomBytes(24)).toString('base64url');
  }

  /** Always binds 127.0.0.1: the web UI can write, so it is never on the LAN. */
  async listen(): Promise<{ url: string; port: number }> {
    const server = http.createServer((req, res) => void this.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error.');
    }));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as import('node:net').AddressInfo).port;
    return { url: `http://127.0.0.1:${this.port}/?token=${this.token}`, port: this.port };
  }

  async close(): Promise<void> {
    for (const r of this.streams) r.end();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private authorized(req: http.IncomingMessage, url: URL): boolean {
    // Only loopback Host names: a page elsewhere cannot reach us through DNS rebinding.
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) return false;
    const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '') || url.searchParams.get('token') || '';
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (url.pathname.startsWith('/api/')) {
      if (!this.authorized(req, url)) return void json(res, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: 'Open the URL with the token that `drayer serve --ui` printed.' } });
      if (url.pathname === '/api/events' && req.method === 'GET') return this.events(req, res);
      if (url.pathname === '/api/export' && req.method === 'GET') return this.download(url, res);
      const method = url.pathname.slice('/api/'.length);
      if (req.method !== 'POST') return void json(res, 405, { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'Use POST for API calls.' } });
      let arg: unknown;
      try {
        const body = await readBody(req);
        arg = body.length ? JSON.parse(body.toString('utf8')) : undefined;
      } catch (e) {
        return void json(res, 400, { ok: false, error: { code: 'INVALID_ARGUMENT', message: `The request body is not JSON: ${(e as Error).message}` } });
      }
      return void json(res, 200, await this.api.callEnvelope(method, arg));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return void text(res, 405, 'Method not allowed.');
    return this.serveStatic(url, res);
  }

  private events(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
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
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(dir, rel);
    if (!file.startsWith(path.resolve(dir) + path.sep)) return void text(res, 404, 'Not found.');
    let target = file;
    if (!fs.existsSync(target) || fs.statSync(target).isDirectory()) target = path.join(dir, 'index.html');
    if (!fs.existsSync(target)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(FALLBACK_PAGE);
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(target)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      // Strict: no inline script or style, no plugins, not framed; stream content can never run here.
      'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-src http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    });
    fs.createReadStream(target).pipe(res);
  }
}

const FALLBACK_PAGE = `<!doctype html><meta charset="utf-8"><title>Drayer</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto">
<h1>Drayer</h1><p>This node is running. The desktop UI has not been built into <code>dist/renderer</code> yet;
the API is at <code>POST /api/&lt;method&gt;</code> with this page's token.</p></body>`;

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
