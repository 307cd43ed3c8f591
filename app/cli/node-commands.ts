// The `drayer` commands of a running node: serve (the headless node, with its web UI on request)
// and ui-link (a new sign-in link for that web UI). Loaded by cli.ts only when asked for, so local
// commands start without the network stack; they register themselves as they load.
import * as os from 'node:os';
import * as path from 'node:path';
import { DrayerError } from '../core/errors.js';
import { note, print, printJson } from './output.js';
import { commands, registerCommand, UsageError } from './table.js';
import { DHT_OPTIONS, dhtOptions } from './dht-options.js';

/** Where `serve` and `ui-link` keep a node's streams and state when --data is not given. */
export function defaultDataDir(): string {
  return process.env.DRAYER_DATA || path.join(os.homedir(), '.drayer');
}

/** A port option: a number 0–65535 (0: any free port), or `dflt` when not given. */
function portOption(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || n > 65535) {
    throw new UsageError(`--${name} needs a port number (0–65535; 0 picks a free one), not ${String(v) || 'nothing'}.`, commands.get('serve'));
  }
  return n;
}

/** The machine's own IPv4 addresses, to offer when --host names none of them. */
function ownAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
}

/**
 * A failed listen as sentences: what happened and what to do. `who` is "The node" or "The web
 * UI"; `flag` the option that chooses the port. Errors that are not about listening pass through.
 */
function listenError(e: unknown, who: string, host: string, port: number, flag: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const stopped = 'Nothing was left running.';
  switch (code) {
    case 'EADDRINUSE':
      return new DrayerError(
        'IO',
        `${who} cannot listen on port ${port}: another program is using it. Choose another port with ${flag}, or leave ${flag} out to use a free one. ${stopped}`,
        { cause: e },
      );
    case 'EADDRNOTAVAIL':
      return new DrayerError(
        'IO',
        `${who} cannot listen on ${host}: it is not an address of this machine. Give one of its addresses with --host (${ownAddresses().join(', ') || '127.0.0.1'}), or 0.0.0.0 for all of them. ${stopped}`,
        { cause: e },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new DrayerError(
        'IO',
        `${who} cannot listen on ${host}: no address of this machine has that name. Give one of its addresses with --host (${ownAddresses().join(', ') || '127.0.0.1'}), or 0.0.0.0 for all of them. ${stopped}`,
        { cause: e },
      );
    case 'EACCES':
    case 'EPERM':
      return new DrayerError(
        'IO',
        `${who} is not allowed to listen on port ${port} here (ports below 1024 need administrator rights). Choose a port above 1023 with ${flag}. ${stopped}`,
        { cause: e },
      );
    default:
      return e;
  }
}

registerCommand({
  name: 'serve',
  usage:
    'serve [--data DIR] [--host H] [--port P] [--no-discovery] [--ui] [--ui-port P] [--dht [--dht-bootstrap HOST:PORT,…] [--dht-port N] [--dht-announce-all]] [--no-port-mapping] [--json]',
  summary: 'run a node: serve and sync the streams in DIR on the LAN until stopped',
  details:
    '--dht joins the BitTorrent Mainline DHT (through the public routers, or the nodes --dht-bootstrap names; UDP port --dht-port, any free one by default), ' +
    'announces there the streams set "findable on the internet" (every one served with --dht-announce-all) and looks up followed streams that have no other source. ' +
    'Without --dht, --dht-bootstrap and --dht-port say how to join when the setting "Reach beyond this network" is turned on. ' +
    "While in the DHT the node asks the router (UPnP IGD, NAT-PMP or PCP) to forward its HTTP port and the DHT's UDP port, and removes that at stop; --no-port-mapping does not ask.",
  options: {
    ...DHT_OPTIONS,
    'dht-announce-all': { type: 'boolean' },
    data: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'no-discovery': { type: 'boolean' },
    'no-port-mapping': { type: 'boolean' },
    ui: { type: 'boolean' },
    'ui-port': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: [0, 0],
  async run({ opts }) {
    const dataDir = path.resolve(typeof opts.data === 'string' ? opts.data : defaultDataDir());
    const host = typeof opts.host === 'string' ? opts.host : '0.0.0.0';
    const port = portOption(opts.port, 'port', 15723);
    // Without --dht, the bootstrap and port given are for when Settings turns the DHT on.
    const dhtGiven = dhtOptions(opts, 'serve', true);
    const dht =
      opts.dht === true
        ? { ...dhtGiven, announceAll: opts['dht-announce-all'] === true }
        : Object.keys(dhtGiven).length
          ? { ...dhtGiven, whenSet: true }
          : undefined;
    // Without --ui-port the web UI keeps the port of last time (data directory's webui.json).
    const uiPort = opts['ui-port'] === undefined ? undefined : portOption(opts['ui-port'], 'ui-port', 0);
    const { DrayerNode } = await import('../node/node.js');
    const log = (m: string) => note(m);
    // With the web UI, the library's streams open once its first page has painted and the API's schemas are in (WebUi.schemasLoaded).
    let uiStarted: (p: Promise<void>) => void = () => {};
    const openStreamsAfter = opts.ui ? new Promise<void>((resolve) => (uiStarted = (p) => void p.then(resolve, resolve))) : undefined;
    // …and give way while a person uses it (WebUi.busy).
    let uiBusy = () => false;
    const start = (p: number) =>
      DrayerNode.start({
        dataDir,
        host,
        port: p,
        discovery: opts['no-discovery'] === true ? false : undefined,
        dht,
        portMapping: opts['no-port-mapping'] === true ? false : undefined,
        log,
        openStreamsAfter,
        uiBusy: () => uiBusy(),
      });
    // A start that fails stops whatever it had started (DrayerNode.start), so nothing is left half-running.
    let node;
    try {
      node = await start(port);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.port !== undefined) throw listenError(e, 'The node', host, port, '--port');
      note(`Port ${port} is taken; using a free one.`);
      try {
        node = await start(0);
      } catch (e2) {
        throw listenError(e2, 'The node', host, 0, '--port');
      }
    }
    let ui: { url: string; token: string } | null = null;
    let webui: import('../node/webui.js').WebUi | null = null;
    if (opts.ui) {
      const { WebUi } = await import('../node/webui.js');
      const w = new WebUi(node, { port: uiPort, stateFile: path.join(dataDir, WEBUI_STATE) });
      webui = w;
      uiBusy = () => w.busy();
      try {
        ui = await webui.listen();
        uiStarted(webui.schemasLoaded());
      } catch (e) {
        // no node without the UI that was asked for: stop it, then say why
        await webui.close().catch(() => {});
        await node.stop().catch(() => {});
        throw listenError(e, 'The web UI', '127.0.0.1', uiPort ?? 0, '--ui-port');
      }
      if (webui.movedFrom)
        note(
          `The web UI's port of last time (${webui.movedFrom}) is taken, so it moved to ${new URL(ui.url).port}: open the new link below (a tab still open at the old address says so).`,
        );
    }
    const lan = node.lanAddress();
    const status = await node.call('status', undefined);
    // One line: a long-running process is read line by line by whatever started it.
    // `ui` signs one browser in once; `token` is for scripts (Authorization: Bearer), and is never printed elsewhere.
    if (opts.json)
      print(
        JSON.stringify({ dataDir, nodeId: status.nodeId, lan, discovery: status.discovery, dht: status.dht, ui: ui?.url ?? null, token: ui?.token ?? null }),
      );
    else {
      print(`Drayer node serving ${dataDir}`);
      if (lan) {
        // 0.0.0.0 is no address to give a phone: list the machine's LAN addresses instead.
        const hosts =
          lan.host === '0.0.0.0'
            ? Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address))
            : [lan.host];
        for (const h of hosts.length ? hosts : ['127.0.0.1']) print(`LAN: http://${h}:${lan.port}/`);
        print(`Discovery: ${status.discovery ? 'on' : 'off'}`);
        if (status.dht) print(`DHT: on, UDP port ${status.dht.port}, ${status.dht.announcing} stream(s) announced`);
      }
      if (ui) print(`Web UI: ${ui.url}  (works once, for two minutes; \`drayer ui-link\` makes a new one)`);
      print('Stop with Ctrl-C.');
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await webui?.close();
    await node.stop();
    if (!opts.json) note('Stopped cleanly.');
  },
});

/** Where `serve --ui` keeps its web UI's port and token, inside the data directory (0600). */
export const WEBUI_STATE = 'webui.json';

registerCommand({
  name: 'ui-link',
  usage: 'ui-link [--data DIR] [--json]',
  summary: "print a new link that signs a browser in to the running node's web UI (once, for two minutes)",
  options: { data: { type: 'string' }, json: { type: 'boolean' } },
  positionals: [0, 0],
  async run({ opts }) {
    const dataDir = path.resolve(typeof opts.data === 'string' ? opts.data : defaultDataDir());
    const { readWebUiState } = await import('../node/webui.js');
    const state = readWebUiState(path.join(dataDir, WEBUI_STATE));
    const start = `Start it with "drayer serve --ui${typeof opts.data === 'string' ? ` --data ${dataDir}` : ''}".`;
    if (!state) throw new DrayerError('NOT_FOUND', `No web UI has run for ${dataDir}. ${start}`);
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${state.port}/auth/link`, {
        method: 'POST',
        headers: { authorization: `Bearer ${state.token}` },
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new DrayerError('UNREACHABLE', `The web UI of ${dataDir} is not running (nothing answers on 127.0.0.1:${state.port}). ${start}`);
    }
    const body = (await res.json().catch(() => null)) as { url?: unknown } | null;
    if (!res.ok || typeof body?.url !== 'string') {
      throw new DrayerError(
        'UNREACHABLE',
        `Port ${state.port} did not answer as the web UI of ${dataDir} (HTTP ${res.status}): it may have moved. Restart "drayer serve --ui" for a new link.`,
      );
    }
    if (opts.json) return printJson({ ui: body.url });
    print(body.url);
  },
});
