// The `drayer` commands that pull a stream from a peer once: clone (a new mirror file) and sync
// (an existing one), with progress on a terminal. Loaded by cli.ts only when asked for, so local
// commands start without the network stack; they register themselves as they load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { formatKey, streamName } from '../core/keys.js';
import type { PullProgress, PullResult } from '../net/sync.js';
import type { Stream } from '../store/store.js';
import { openStream } from './input.js';
import { humanSize, note, print, printJson } from './output.js';
import { commands, registerCommand, UsageError } from './table.js';
import { DHT_OPTIONS, dhtOptions } from './dht-options.js';

function progressPrinter(json: boolean): { update(p: PullProgress): void; done(): void } {
  const tty = process.stderr.isTTY && !json;
  let last = 0;
  let waiting: string | undefined;
  return {
    update(p) {
      // A busy peer can keep a pull waiting for minutes: say so once per wait, on a terminal or not.
      if (p.waiting && p.waiting !== waiting && !json) {
        if (tty && last) process.stderr.write('\n');
        note(p.waiting);
        last = 0;
      }
      waiting = p.waiting;
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      const pct = (n: number, of: number) => ` (${Math.min(100, Math.round((n / Math.max(1, of)) * 100))}%)`;
      const recs = p.recordsTotal !== undefined ? `${p.records} of ${p.recordsTotal} records` : `${p.records} records`;
      const chunks = p.chunksTotal ? `, ${p.chunks} of ${p.chunksTotal} file chunks${pct(p.chunks ?? 0, p.chunksTotal)}` : '';
      const seq = !p.chunksTotal && p.lastSeq ? pct(p.seq, p.lastSeq) : '';
      process.stderr.write(`\r${recs}, ${humanSize(p.bytes)}${seq}${chunks}   `);
    },
    done() {
      if (tty && last) process.stderr.write('\n');
    },
  };
}

async function pullWithPool(s: Stream, url: string, json: boolean): Promise<PullResult> {
  const { pull } = await import('../net/sync.js');
  const { VerifierPool, preparedApplier } = await import('../store/verifier.js');
  const pool = new VerifierPool();
  const progress = progressPrinter(json);
  try {
    return await pull(s, url, { applier: preparedApplier(pool), onProgress: (p) => progress.update(p) });
  } finally {
    progress.done();
    await pool.close();
  }
}

function reportPull(r: PullResult, summary: (list: PullResult['rejections']) => string): string {
  const parts = [`${r.records} records from ${r.peer}`, `${r.stored} stored`];
  if (r.removed) parts.push(`${r.removed} removed`);
  if (r.duplicates) parts.push(`${r.duplicates} already held`);
  if (r.rejected) parts.push(`${r.rejected} rejected (${summary(r.rejections)})`);
  if (r.chunks) parts.push(`${r.chunks} file chunks (${humanSize(r.chunkBytes)})`);
  parts.push(`${humanSize(r.bytes)} received`);
  if (r.protocol === 'newRecords') parts.push('(original Drayer protocol)');
  return parts.join(', ');
}

function positiveInt(v: unknown, name: string, cmd: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\+?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${name} needs a positive whole number, like --${name} 10, not ${String(v) || 'nothing'}.`, commands.get(cmd));
  }
  return n;
}

registerCommand({
  name: 'clone',
  usage: 'clone URL PUBKEY FILE [--latest N] [--meta-only] [--json]  |  clone --dht [--dht-bootstrap HOST:PORT,…] [URL] PUBKEY FILE',
  summary: 'follow a stream: copy it from a peer into a new mirror file',
  details:
    "PUBKEY may be a private stream's read link (drayer:KEY#r=READKEY): its read key is then checked and kept in FILE.readkey, " +
    'so the copy reads the stream; a private stream cloned by its key alone is a blind mirror (it syncs and serves, sealed). ' +
    '--dht finds the computers that announce the stream on the BitTorrent Mainline DHT (through the public routers, or the nodes --dht-bootstrap names) ' +
    'and clones from them, one after another until one gives it (after URL, when one is given).',
  options: { latest: { type: 'string' }, 'meta-only': { type: 'boolean' }, json: { type: 'boolean' }, ...DHT_OPTIONS },
  positionals: [2, 3],
  async run({ args, opts }) {
    const dht = dhtOptions(opts, 'clone');
    if (args.length === 2 && opts.dht !== true)
      throw new UsageError('clone needs URL PUBKEY FILE, or --dht PUBKEY FILE to find the stream on the DHT.', commands.get('clone'));
    const [url, keyText, file] = (args.length === 2 ? [undefined, ...args] : args) as [string | undefined, string, string];
    const { parseReadLink, ReadKey } = await import('../store/private-view.js');
    const link = parseReadLink(keyText);
    const pk = link.publicKey;
    const readKey = link.readKey ? await ReadKey.from(link.readKey) : null;
    const latest = positiveInt(opts.latest, 'latest', 'clone');
    const { latestWindowStart, rejectionSummary } = await import('../net/sync.js');
    const { peerId } = await import('../core/peer.js');
    if (fs.existsSync(file)) throw new DrayerError('EXISTS', await alreadyThere(file, pk));
    // Where to clone from: the URL given, then (with --dht) the computers that announce the stream there.
    const peers = url ? [peerId(url)] : [];
    if (opts.dht === true) for (const p of await dhtPeers(pk, dht, opts.json === true)) if (!peers.includes(p)) peers.push(p);
    if (!peers.length)
      throw new DrayerError(
        'NOT_FOUND',
        `No computer announces stream ${formatKey(pk)} on the DHT. Check the key; its holder must run with the DHT on (drayer serve --dht) and the stream findable. ${file} was not created.`,
      );
    let peer = peers[0]!;
    let minId = 0;
    if (latest !== undefined) minId = await latestWindowStart(peer, pk, latest);
    const { Stream } = await import('../store/store.js');
    // The folders the clone makes too, so that one that receives nothing leaves nothing behind.
    const made = missingDirs(path.dirname(path.resolve(file)));
    const s = Stream.create(file, { followKey: pk, minId, latest, metaOnly: opts['meta-only'] === true });
    const removeAll = () => {
      s.close();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
      for (const d of made) {
        try {
          fs.rmdirSync(d); // only while empty: anything else put there meanwhile stays
        } catch {
          break;
        }
      }
    };
    const received = () => {
      try {
        return s.count();
      } catch {
        return 0;
      }
    };
    // Stopped by Ctrl-C (a peer that never answers) before anything arrived: nothing is left either.
    const onSignal = (sig: NodeJS.Signals) => {
      if (received() === 0) removeAll();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let r: PullResult | undefined;
      try {
        // One after another until one gives records (only a DHT lookup offers several).
        for (const [i, p] of peers.entries()) {
          peer = p;
          s.setMeta('sources', JSON.stringify([peer]));
          try {
            r = await pullWithPool(s, peer, opts.json === true);
          } catch (e) {
            if (i === peers.length - 1 || received() > 0) throw e;
            if (!opts.json) note(`${peer}: ${sentence((e as Error).message)} Trying the next computer.`);
            continue;
          }
          if (received() > 0 || i === peers.length - 1) break;
        }
      } catch (e) {
        const n = received();
        if (n === 0) {
          // Nothing arrived: no empty copy is left behind, so the same clone can simply be run again.
          removeAll();
          if (!isDrayerError(e)) throw e;
          throw new DrayerError(e.code, `${sentence(e.message)} Nothing was received, so ${file} was not created.`, { cause: e });
        }
        if (!isDrayerError(e)) throw e;
        // What arrived is verified and kept; the cursor in the file lets sync go on from there.
        throw new DrayerError(e.code, `${sentence(e.message)} ${file} is kept with the ${n} records received: "drayer sync ${file}" continues the clone.`, {
          cause: e,
        });
      }
      if (!r || received() === 0) {
        removeAll();
        throw new DrayerError(
          'NOT_FOUND',
          `${peer} sent no records of stream ${formatKey(pk)}; check the key and the address. Nothing was received, so ${file} was not created.`,
        );
      }
      const { checkReadKeyFor, isPrivate, openView, SEALED_NOTE, writeReadKeyFile } = await import('../store/private-view.js');
      if (readKey) {
        let checked;
        try {
          checked = checkReadKeyFor(s, readKey, `The read link does not open stream ${formatKey(pk)}`);
        } catch (e) {
          // a wrong key kept beside the copy would fail every read later: say so now, keep nothing
          removeAll();
          if (isDrayerError(e)) throw new DrayerError(e.code, `${e.message} ${file} was not created.`, { cause: e });
          throw e;
        }
        if (checked === 'public') note(`Stream ${formatKey(pk)} is public: the read key in the link is not needed, and was not kept.`);
        else writeReadKeyFile(file, readKey);
      }
      const view = await openView(s);
      const own = view.info().name;
      const name = streamName(own, pk);
      if (view.access === 'sealed' && isPrivate(s) && !opts.json)
        note(
          `${formatKey(pk)} is a private stream and the key given holds no read key, so ${file} is a blind mirror (${SEALED_NOTE}): it syncs, verifies and serves the stream without reading it. Clone with the read link (drayer:…#r=…) to read it.`,
        );
      const infoProblem = s.infoProblem();
      if (infoProblem)
        note(`drayer: ${file}: drayer/info: ${infoProblem}. The stream shows by a name made from its key; "drayer verify ${file}" lists every such problem.`);
      // Streams made by the original Drayer have no name record: they show by words of their key.
      const fromKey = name !== own;
      const access = view.access === 'reader' ? 'private' : view.access;
      if (opts.json) printJson({ file, publicKey: formatKey(pk), ...r, name, nameFromKey: fromKey, access });
      else
        print(
          `Cloned "${name}"${view.access === 'sealed' ? ' (private, sealed: named from its key)' : fromKey && !infoProblem ? ' (it has no name record: named from its key)' : ''} into ${file}: ${reportPull(r, rejectionSummary)}.`,
        );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      s.close();
    }
  },
});

/** The HTTP servers that announce stream `pk` on the DHT (joined for this lookup only, bounded by its timeout). */
async function dhtPeers(pk: Uint8Array, o: { bootstrap?: string[]; port?: number }, json: boolean): Promise<string[]> {
  const { DhtNode } = await import('../net/dht.js');
  const dht = await DhtNode.start({ bootstrap: o.bootstrap, port: o.port });
  try {
    if (!json) note(`Looking up ${formatKey(pk)} on the DHT…`);
    // wait for the bootstrap to answer before the lookup (a lookup from an empty table asks only the routers)
    for (let i = 0; i < 20 && dht.nodeCount === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const found = await dht.lookup(pk);
    if (!json) note(`The DHT named ${found.length} computer(s) holding it.`);
    return found.slice(0, 8).map((p) => `http://${p.host}:${p.port}`);
  } finally {
    await dht.stop();
  }
}

/** A message as a sentence: ending with a full stop. */
const sentence = (m: string) => (/[.!?]$/.test(m) ? m : `${m}.`);

/** The folders above `dir` (itself included) that do not exist yet, deepest first. */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) {
    out.push(d);
    if (path.dirname(d) === d) break;
  }
  return out;
}

/** Why clone will not write to `file`, and what to do instead: a copy of the same stream is synced, not cloned again. */
async function alreadyThere(file: string, pk: Uint8Array): Promise<string> {
  const { Stream } = await import('../store/store.js');
  let held: Uint8Array | undefined;
  let unfinished = false;
  try {
    const s = Stream.open(file, { readonly: true });
    held = s.publicKey;
    unfinished = s.unfinishedSyncs().length > 0;
    s.close();
  } catch {
    // not a stream file (or unreadable): say only that it exists
  }
  if (held && Buffer.from(held).equals(pk)) {
    return `${file} already holds a copy of this stream${unfinished ? ' (its last sync did not finish)' : ''}; bring it up to date with "drayer sync ${file}" (nothing was changed).`;
  }
  if (held) return `${file} already holds another stream (${formatKey(held)}); choose another file name (nothing was changed).`;
  return `${file} already exists; choose another file name (nothing was changed).`;
}

/** A pull that removed or replaced records may have orphaned big files' chunks (a running node collects its own). */
async function collectReplacedChunks(s: Stream, r: PullResult): Promise<void> {
  if (r.removed === 0 && r.stored === 0) return;
  const { gcChunks } = await import('../store/files.js');
  gcChunks(s);
}

registerCommand({
  name: 'sync',
  usage: 'sync FILE [URL...] [--json]',
  summary: "pull a mirror's new records (from URLs, else where it was cloned from and its primary servers)",
  options: { json: { type: 'boolean' } },
  positionals: [1, Infinity],
  async run({ args, opts }) {
    const [file, ...given] = args as [string, ...string[]];
    const { rejectionSummary } = await import('../net/sync.js');
    const s = await openStream(file);
    try {
      const urls = given.length ? given : (await import('../net/open.js')).streamSources(s);
      if (urls.length === 0) throw new DrayerError('INVALID_ARGUMENT', `${file} knows no peer to sync from; give a URL: drayer sync ${file} http://HOST:PORT`);
      const results: (PullResult | { peer: string; error: string })[] = [];
      let failures = 0;
      for (const url of urls) {
        try {
          const r = await pullWithPool(s, url, opts.json === true);
          results.push(r);
          await collectReplacedChunks(s, r);
          if (!opts.json) print(reportPull(r, rejectionSummary));
        } catch (e) {
          failures++;
          results.push({ peer: url, error: (e as Error).message });
          if (!opts.json) note(`${url}: ${(e as Error).message}`);
        }
      }
      // a device of a private stream takes the owner's rotated read key and seals its own records again
      const kp = !s.writable && s.devices().mine ? (await import('../store/devices.js')).deviceKeyBeside(s.file) : null;
      const rekeyed = kp ? await (await import('../store/device-rekey.js')).takeRotatedKey(s, kp) : null;
      if (rekeyed && !opts.json)
        note(`Took the owner's new read key: ${rekeyed.records} ${rekeyed.records === 1 ? 'record' : 'records'} of this device sealed again under it.`);
      if (opts.json) printJson({ file, results, ...(rekeyed ? { resealed: rekeyed.records } : {}) });
      return failures === urls.length ? 1 : 0;
    } finally {
      s.close();
    }
  },
});
