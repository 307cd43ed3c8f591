// `drayer hold KEY` / `drayer unhold KEY` (issue 21): keep and share a copy of someone's stream
// without following it (its posts stay out of Home; its replies show in threads behind "N more
// replies from people you don't follow"), and stop keeping it. They act on a data folder: through
// its running node's web UI when one answers (so the node changes at once), else on the folder
// itself with a node of their own that stops when done.
import * as path from 'node:path';
import type { Arg, Method, Ret } from '../node/api.js';
import { DrayerError } from '../core/errors.js';
import { defaultDataDir, WEBUI_STATE } from './node-commands.js';
import { note, print, printJson } from './output.js';
import { registerCommand } from './table.js';

/** One call on the data folder's node: the running one's web UI when it answers, else a node of our own. */
async function onNode<M extends Method>(dataDir: string, method: M, arg: Arg<M>): Promise<Ret<M>> {
  const { readWebUiState } = await import('../node/webui.js');
  const state = readWebUiState(path.join(dataDir, WEBUI_STATE));
  if (state) {
    let res: Response | undefined;
    try {
      res = await fetch(`http://127.0.0.1:${state.port}/api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${state.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(arg ?? null),
        signal: AbortSignal.timeout(120_000),
      });
    } catch {
      res = undefined; // no node runs there now: the folder itself is changed below
    }
    if (res) {
      const body = (await res.json().catch(() => null)) as { ok?: boolean; value?: Ret<M>; error?: { code: string; message: string } } | null;
      if (body?.ok) return body.value as Ret<M>;
      if (body?.error) throw new DrayerError(body.error.code as never, body.error.message);
    }
  }
  const { DrayerNode } = await import('../node/node.js');
  const node = await DrayerNode.start({ dataDir, host: null, discovery: false, autoSync: false, dht: undefined, portMapping: false, log: (m) => note(m) });
  try {
    return await node.call(method, arg);
  } finally {
    await node.stop();
  }
}

const dataOf = (opts: Record<string, unknown>) => path.resolve(typeof opts.data === 'string' ? opts.data : defaultDataDir());

registerCommand({
  name: 'hold',
  usage: 'hold KEY [--url URL] [--data DIR] [--json]',
  summary: "keep and share a copy of someone's stream without following it (its posts stay out of Home)",
  details:
    'KEY is the stream key or a drayer: link; URL a computer that serves it (else its sources, the LAN and, when on, the DHT are asked). ' +
    'Its replies to posts you read show in their threads, marked as from a stream you do not follow. Following it later (in the app) keeps the copy. ' +
    'With a node running for DIR with its web UI (drayer serve --ui), the change goes through it.',
  options: { url: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' } },
  positionals: [1, 1],
  async run({ args: [key], opts }) {
    const s = await onNode(dataOf(opts), 'follow', { key: key!, hold: true, ...(typeof opts.url === 'string' ? { url: opts.url } : {}) });
    if (opts.json) return printJson(s);
    print(`Keeping a copy of ${s.name || s.publicKey} (${s.records} records), not followed: its posts stay out of Home.`);
  },
});

registerCommand({
  name: 'unhold',
  usage: 'unhold KEY [--data DIR]',
  summary: 'stop keeping a stream held without following it, and remove its copy',
  options: { data: { type: 'string' } },
  positionals: [1, 1],
  async run({ args: [key], opts }) {
    const dataDir = dataOf(opts);
    const { formatKey, parseKey } = await import('../core/keys.js');
    let pk: string;
    try {
      pk = formatKey(parseKey(key!.replace(/^drayer:/, '').split('#')[0]!));
    } catch {
      throw new DrayerError('INVALID_ARGUMENT', `"${key}" is not a stream key or a drayer: link.`);
    }
    const held = (await onNode(dataDir, 'listStreams', undefined)).find((s) => s.publicKey === pk);
    if (!held) throw new DrayerError('NOT_FOUND', `No copy of that stream is kept in ${dataDir}.`);
    if (!held.hold)
      throw new DrayerError(
        'INVALID_ARGUMENT',
        `${held.name || pk} is ${held.owned ? 'yours' : 'followed, not only held'}; unhold removes only streams kept with "drayer hold". Unfollow it in the app.`,
      );
    await onNode(dataDir, 'unfollow', { publicKey: pk, deleteData: true });
    print(`No longer keeping ${held.name || pk}; its copy was removed.`);
  },
});
