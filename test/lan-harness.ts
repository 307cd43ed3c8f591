// The in-process LAN set-up of the sync tests, in one place: stream files in one temporary
// folder, a real LanServer on 127.0.0.1 serving them, plain node:http servers for scripted or
// hostile peers, and in-process nodes. A test file calls lanBench() once; everything made through
// it is closed when the file ends, in the reverse order it was made, even when a test fails.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after } from 'node:test';
import { DrayerNode } from '../app/node/node.js';
import type { NodeOptions } from '../app/node/state.js';
import { LanServer, type ServerOptions } from '../app/net/server/server.js';
import { Stream, type CreateOptions } from '../app/store/store.js';
import { hex, tmpDir } from './helpers.js';

export interface Served {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  srv: LanServer;
}

export interface Listening {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  /** the URL of every request received, in order */
  hits: string[];
  server: http.Server;
  /** stop it now (it is closed at the end of the file anyway; a second close does nothing) */
  close(): Promise<void>;
}

export interface LanBench {
  /** the folder the streams are made in */
  dir: string;
  /** the streams writer() made, by hex public key: what serve() and lan() answer for */
  served: Map<string, Stream>;
  /** run `f` when the file ends (before what was made earlier is closed) */
  onClose(f: () => Promise<void> | void): void;
  /** a new writable stream `name` (file `name-N.stream`), served, closed at the end */
  writer(name: string, opts?: CreateOptions): Stream;
  /** a new mirror of `of` (file `follow-N.stream`), closed at the end */
  follower(of: Stream | Uint8Array, opts?: Omit<CreateOptions, 'followKey'>): Stream;
  /** a new LanServer on 127.0.0.1 (by default for `served`): each call another peer URL */
  serve(opts?: Partial<ServerOptions>): Promise<Served>;
  /** one LanServer for `served`, started on the first call */
  lan(): Promise<Served>;
  /** a plain HTTP server on 127.0.0.1 answering with `handler` (hit: this request's number, from 1) */
  listen(handler: (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void): Promise<Listening>;
  /** an in-process node on 127.0.0.1, without discovery or automatic sync unless asked */
  node(dataDir?: string, opts?: Partial<NodeOptions>): Promise<DrayerNode>;
}

export function lanBench(prefix = 'drayer-lan-'): LanBench {
  const dir = tmpDir(prefix);
  const served = new Map<string, Stream>();
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });
  let n = 0;
  let shared: Promise<Served> | undefined;
  const bench: LanBench = {
    dir,
    served,
    onClose: (f) => void cleanup.push(f),
    writer(name, opts = {}) {
      const s = Stream.create(path.join(dir, `${name}-${n++}.stream`), { name, ...opts });
      served.set(hex(s.publicKey), s);
      cleanup.push(() => s.close());
      return s;
    },
    follower(of, opts = {}) {
      const followKey = of instanceof Stream ? of.publicKey : of;
      const s = Stream.create(path.join(dir, `follow-${n++}.stream`), { followKey, ...opts });
      cleanup.push(() => s.close());
      return s;
    },
    async serve(opts = {}) {
      const srv = new LanServer({ resolve: (pk) => served.get(hex(pk)), shared: () => [], ...opts });
      const { port } = await srv.listen();
      cleanup.push(() => srv.close());
      return { url: `http://127.0.0.1:${port}`, port, srv };
    },
    async lan() {
      shared ??= bench.serve();
      return shared;
    },
    async listen(handler) {
      const hits: string[] = [];
      const srv = http.createServer((req, res) => {
        hits.push(req.url ?? '');
        res.on('error', () => {}); // a peer that hangs up mid-answer is what some tests do
        handler(req, res, hits.length);
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      let closed: Promise<void> | undefined;
      const close = () =>
        (closed ??= new Promise<void>((r) => {
          srv.closeAllConnections();
          srv.close(() => r());
        }));
      cleanup.push(close);
      const port = (srv.address() as AddressInfo).port;
      return { url: `http://127.0.0.1:${port}`, port, hits, server: srv, close };
    },
    async node(dataDir = tmpDir(`${prefix}node-`), opts = {}) {
      const node = await DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false, ...opts });
      cleanup.push(() => node.stop());
      return node;
    },
  };
  return bench;
}
