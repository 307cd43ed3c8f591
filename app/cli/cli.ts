// The headless `drayer` command. Commands are rows of a table ({name, usage, run}) so other
// files can add theirs (network commands: see EXTENSION_MODULES). Heavy modules (SQLite, crypto,
// files) load inside `run`, so `drayer help` and `--version` start instantly.
// Exit codes: 0 done, 1 failed (a sentence on stderr says why), 2 misused (usage on stderr).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { fingerprint, formatKey, keyLink, keyWords, streamName } from '../core/keys.js';
import { cleanName, jsonSafe, terminalSafe } from '../core/text.js';
import type { Stream } from '../store/store.js';

// ---------- the command table ----------

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type Options = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  /** positional arguments after the command name */
  args: string[];
  opts: Options;
}

export interface Command {
  name: string;
  /** what follows `drayer` in the usage line, e.g. `create FILE [--name N]` */
  usage: string;
  /** one line for the command list */
  summary: string;
  /** more for `drayer help NAME`, when the summary is not enough */
  details?: string;
  options?: Record<string, OptionSpec>;
  /** how many positional arguments it takes: [min, max] (max may be Infinity) */
  positionals?: [number, number];
  /** returns the exit code (default 0); throw DrayerError to fail, UsageError for misuse */
  run(ctx: CommandContext): Promise<number | void> | number | void;
}

export const commands = new Map<string, Command>();

/** Add (or replace) a command. Files in EXTENSION_MODULES call this when they load. */
export function registerCommand(cmd: Command): void {
  commands.set(cmd.name, cmd);
}

/**
 * Modules (relative to this file) that register more commands when imported, e.g. the network
 * commands `serve`, `clone`, `sync`. They load only when a command is not built in or for
 * `help`, and a module that does not exist (yet) is skipped. They may import from this file:
 * the import happens after this module has finished loading, so there is no cycle.
 */
export const EXTENSION_MODULES: string[] = ['./cli-net.js'];

let extensionsLoaded = false;

async function loadExtensions(): Promise<void> {
  if (extensionsLoaded) return;
  extensionsLoaded = true;
  for (const spec of EXTENSION_MODULES) {
    const url = new URL(spec, import.meta.url);
    try {
      await import(url.href);
    } catch (e) {
      // Only "this very module is absent" is expected; a broken extension must surface.
      const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(fileURLToPath(url));
      if (!missing) throw e;
    }
  }
}

/** Misuse of the command line: reported with the usage and exit code 2. */
export class UsageError extends Error {
  readonly command?: Command;
  constructor(message: string, command?: Command) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

// ---------- output ----------

// Lines for a terminal: names in them are cleaned where they are made (text.ts cleanName); this
// also drops any control or bidi character that got through, so no output moves the cursor or
// retitles the window.
export function print(line = ''): void {
  process.stdout.write(terminalSafe(line) + '\n');
}

/** Exactly one JSON document on stdout (what `--json` promises). */
export function printJson(value: unknown): void {
  process.stdout.write(jsonSafe(JSON.stringify(value, null, 2)) + '\n');
}

export function note(line: string): void {
  process.stderr.write(terminalSafe(line) + '\n');
}

let stdoutClosed = false;
let guarded = false;

/** `drayer ls | head` closes our stdout early: that is the reader's choice, not an error. */
function guardOutputs(): void {
  if (guarded) return;
  guarded = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (s === process.stdout) stdoutClosed = true;
      if (e.code !== 'EPIPE') process.exitCode = 1;
    });
  }
}

/** Write bytes to stdout respecting back-pressure; false once the reader has gone. */
async function writeOut(chunk: Uint8Array): Promise<boolean> {
  if (stdoutClosed) return false;
  if (!process.stdout.write(chunk)) {
    // `once` rejects when 'error' fires first; the guard has already noted a closed reader.
    await once(process.stdout, 'drain').catch(() => undefined);
  }
  return !stdoutClosed;
}

export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** µs since the epoch as an ISO time, or the raw number when it is no date. */
function timeOf(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return Number.isNaN(d.getTime()) ? String(us) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------- helpers for commands ----------

function str(opts: Options, name: string): string | undefined {
  const v = opts[name];
  return typeof v === 'string' ? v : undefined;
}

/** Exactly one of two options (e.g. --value or --value-file). */
function oneOf(opts: Options, a: string, b: string, cmd: string): [string, string] {
  const va = str(opts, a);
  const vb = str(opts, b);
  if ((va === undefined) === (vb === undefined)) throw new UsageError(`${cmd} needs exactly one of --${a} and --${b}.`, commands.get(cmd));
  return va !== undefined ? [a, va] : [b, vb!];
}

/** Read an input file the user named (`-` is stdin), with a clear sentence when it is not there. */
export function readInput(file: string): Buffer {
  if (file === '-') return fs.readFileSync(0);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'read');
  }
}

function fsError(e: unknown, file: string, doing: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new DrayerError('NOT_FOUND', `Cannot ${doing} ${file}: there is no such file; check the path.`, { cause: e });
  if (code === 'EISDIR') return new DrayerError('INVALID_ARGUMENT', `Cannot ${doing} ${file}: it is a folder, not a file.`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new DrayerError('IO', `Cannot ${doing} ${file}: permission denied.`, { cause: e });
  return e as Error;
}

/** Open a stream file the user named, with sentences that say what to do when it is not one. */
export async function openStream(file: string): Promise<Stream> {
  const { Stream } = await import('../store/store.js');
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new DrayerError('NOT_FOUND', `There is no stream file at ${file}; check the path, or create one with "drayer create ${file}".`);
  }
  if (st.isDirectory()) throw new DrayerError('NOT_A_STREAM', `${file} is a folder, not a stream file.`);
  try {
    return Stream.open(file);
  } catch (e) {
    // A stream on read-only media can still be read.
    if (isDrayerError(e, 'IO')) return Stream.open(file, { readonly: true });
    throw e;
  }
}

async function withStream<T>(file: string, fn: (s: Stream) => Promise<T> | T): Promise<T> {
  const s = await openStream(file);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

function fileSize(file: string): number {
  let n = 0;
  for (const f of [file, file + '-wal']) {
    try {
      n += fs.statSync(f).size;
    } catch {
      // no WAL: the stream is fully checkpointed
    }
  }
  return n;
}

// ---------- the built-in commands ----------

const json = { json: { type: 'boolean' } } as const;

registerCommand({
  name: 'create',
  usage: 'create FILE [--name N] [--about A]',
  summary: 'create a new stream (prints its public key)',
  options: { name: { type: 'string' }, about: { type: 'string' } },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const { Stream } = await import('../store/store.js');
    const s = Stream.create(file!, { name: str(opts, 'name'), about: str(opts, 'about') });
    try {
      print(formatKey(s.publicKey));
      note(`Created ${file}. Its secret key is in ${file}.privatekey: back it up and keep it private, since whoever has it can write to this stream.`);
    } finally {
      s.close();
    }
  },
});

registerCommand({
  name: 'info',
  usage: 'info FILE [--json]',
  summary: 'show a stream: name, public key, fingerprint, primary servers, records, size',
  options: json,
  positionals: [1, 1],
  run: ({ args: [file], opts }) =>
    withStream(file!, (s) => {
      const meta = s.info();
      const infoProblem = s.infoProblem();
      // the author signed an info that is no map: say so once, show the rest
      if (infoProblem) note(`drayer: ${file}: drayer/info: ${infoProblem}. The stream shows without a name; "drayer verify ${file}" lists every such problem.`);
      const serversProblem = s.primaryServersProblem();
      if (serversProblem) note(`drayer: ${file}: drayer/primaryServers: ${serversProblem}. The stream shows without primary servers; "drayer verify ${file}" lists every such problem.`);
      const types: Record<string, number> = {};
      for (const t of s.types()) types[t.type] = t.n;
      const info = {
        file: file!,
        name: streamName(meta.name, s.publicKey),
        // no name in drayer/info (none, or the original Drayer's streams, which never have one): made from the key
        nameFromKey: cleanName(meta.name) === '',
        about: typeof meta.about === 'string' ? meta.about : '',
        publicKey: formatKey(s.publicKey),
        fingerprint: fingerprint(s.publicKey),
        words: keyWords(s.publicKey),
        link: keyLink(s.publicKey),
        writable: s.writable,
        mode: s.writable ? 'writable' : 'mirror',
        records: s.count(),
        types,
        lastSeq: s.lastSeq(),
        fileSize: fileSize(file!),
        nodeId: s.nodeId,
        partial: s.partial,
        primaryServers: s.primaryServers(),
      };
      if (opts.json) return printJson(info);
      const byType = Object.entries(types).map(([t, n]) => `${t} ${n}`).join(', ');
      const p = info.partial;
      const partial = [p.minId ? `ids from ${p.minId}` : '', p.minMod ? `changes from ${timeOf(p.minMod)}` : '', p.metaOnly ? 'no values' : '']
        .filter(Boolean)
        .join(', ');
      const why = infoProblem ? 'its name record is unreadable' : s.get('drayer', 'info') ? 'its name record gives no name' : 'it has no name record';
      print(`Name:         ${info.name}${info.nameFromKey ? ` (made from the key: ${why})` : ''}`);
      // the author's text, lines and all: each line indented under the label, so none reads as another field
      if (info.about) print(`About:        ${terminalSafe(info.about).split(/\r\n|\r|\n/).join('\n              ')}`);
      print(`Public key:   ${info.publicKey}`);
      print(`Fingerprint:  ${info.fingerprint}`);
      print(`Key as words: ${info.words}`);
      print(`Link:         ${info.link}`);
      print(`Mode:         ${s.writable ? `writable (secret key in ${file}.privatekey)` : 'mirror (read-only: no secret key here)'}`);
      print(`Servers:      ${info.primaryServers.map((x) => x.url).join(', ') || (serversProblem ? '(unreadable)' : '(none)')}`);
      if (partial) print(`Partial copy: ${partial}`);
      print(`Records:      ${info.records}${byType ? ` (${byType})` : ''}`);
      print(`Last seq:     ${info.lastSeq}`);
      print(`File size:    ${humanSize(info.fileSize)}`);
    }),
});

registerCommand({
  name: 'servers',
  usage: 'servers FILE [URL...] [--clear] [--json]',
  summary: "show or set a stream's primary servers (URLs replace the list)",
  details:
    'Primary servers are always-on peers (mirrors) that the author names in the stream itself, in a\n' +
    'signed record: a follower syncs from them when it knows no other source. Without URLs, this\n' +
    'lists them, one a line. With URLs (http:// or https://, at most 16), they replace the list;\n' +
    '--clear empties it. Only the writer, who holds FILE.privatekey, can set them.',
  options: { clear: { type: 'boolean' }, ...json },
  positionals: [1, Infinity],
  run: ({ args: [file, ...urls], opts }) =>
    withStream(file!, (s) => {
      const setting = urls.length > 0 || opts.clear === true;
      if (urls.length > 0 && opts.clear) throw new UsageError('Give URLs to replace the list, or --clear to empty it, not both.', commands.get('servers'));
      let servers;
      if (setting) {
        if (!s.writable) {
          throw new DrayerError('NOT_WRITABLE', `${file} is a mirror: its secret key (${file}.privatekey) is not here, and only the stream's writer can set its primary servers. Nothing was changed.`);
        }
        servers = s.setPrimaryServers(urls).servers;
        note(servers.length
          ? `${file} now names ${servers.length} primary server${servers.length === 1 ? '' : 's'}: followers sync from ${servers.length === 1 ? 'it' : 'them'} when they know no other source.`
          : `${file} now names no primary servers.`);
      } else {
        const problem = s.primaryServersProblem();
        if (problem) note(`drayer: ${file}: drayer/primaryServers: ${problem}. Set them anew with "drayer servers ${file} URL...".`);
        servers = s.primaryServers();
        if (!servers.length && !problem && !opts.json) note(`${file} names no primary servers; set them with "drayer servers ${file} URL...".`);
      }
      if (opts.json) return printJson({ file: file!, primaryServers: servers });
      for (const x of servers) print(x.url);
    }),
});

registerCommand({
  name: 'post',
  usage: 'post FILE --title T (--body B | --body-file F)',
  summary: 'add a post (prints its key)',
  options: { title: { type: 'string' }, body: { type: 'string' }, 'body-file': { type: 'string' } },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const title = str(opts, 'title');
    if (title === undefined) throw new UsageError('post needs --title.', commands.get('post'));
    const [which, v] = oneOf(opts, 'body', 'body-file', 'post');
    const body = which === 'body' ? v : readInput(v).toString('utf8');
    const { addPost } = await import('../store/posts.js');
    await withStream(file!, (s) => print(addPost(s, { title, body }).key));
  },
});

registerCommand({
  name: 'put',
  usage: 'put FILE TYPE KEY (--value S | --value-file F)',
  summary: 'create or replace a record (F may be - for stdin)',
  options: { value: { type: 'string' }, 'value-file': { type: 'string' } },
  positionals: [3, 3],
  async run({ args: [file, type, key], opts }) {
    const [which, v] = oneOf(opts, 'value', 'value-file', 'put');
    const value = which === 'value' ? Buffer.from(v, 'utf8') : readInput(v);
    await withStream(file!, (s) => {
      const r = s.put(type!, key!, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      note(`Stored ${type}/${key} (record ${r.id}, ${humanSize(value.length)}).`);
    });
  },
});

function missingRecord(file: string, type: string, key: string): DrayerError {
  return new DrayerError('NOT_FOUND', `There is no record ${type}/${key} in ${file}; list them with "drayer ls ${file} --type ${type}".`);
}

/** --from: where a metadata-only copy fetches what is opened, before the sources the file names. */
const fromOption = { from: { type: 'string', multiple: true } } as const;

/** How get and cat open what a metadata-only copy holds without its value. */
async function openOptions(s: Stream, file: string, opts: Options, retry: string): Promise<import('../net/open.js').OpenOptions> {
  const { streamSources } = await import('../net/open.js');
  const sources = [...(Array.isArray(opts.from) ? opts.from : []), ...streamSources(s)];
  const how = `${retry.replace('FILE', file)} --from http://HOST:PORT`;
  return {
    sources,
    advice: sources.length ? `Try again when one of them is running, or name a peer that holds this stream with its values: ${how}` : `Name a peer that holds this stream with its values: ${how}`,
  };
}

registerCommand({
  name: 'get',
  usage: 'get FILE TYPE KEY [--from URL]...',
  summary: "write a record's value (raw bytes) to stdout (a metadata-only copy fetches it from its sources)",
  options: fromOption,
  positionals: [3, 3],
  run: ({ args: [file, type, key], opts }) =>
    withStream(file!, async (s) => {
      const r = s.get(type!, key!);
      if (!r) throw missingRecord(file!, type!, key!);
      let val = r.val;
      if (!val) {
        const { openValue } = await import('../net/open.js');
        val = await openValue(s, r, await openOptions(s, file!, opts, `drayer get FILE ${type} ${key}`));
      }
      await writeOut(val);
    }),
});

registerCommand({
  name: 'rm',
  usage: 'rm FILE TYPE KEY',
  summary: 'delete a record',
  positionals: [3, 3],
  run: async ({ args: [file, type, key] }) => {
    // A file's chunks are rows apart from its record: collect them too, or a deleted big file stays in the stream.
    const files = type === 'file' ? await import('../store/files.js') : undefined;
    return withStream(file!, (s) => {
      if (!s.delete(type!, key!)) throw missingRecord(file!, type!, key!);
      files?.gcChunks(s);
      note(`Deleted ${type}/${key}.`);
    });
  },
});

interface ListRow {
  type: string;
  key: string;
  id: number;
  ts: number;
  mod: number;
  time: string;
  /** value bytes, null in a metadata-only copy */
  size: number | null;
  hash: string;
  title?: string;
  /** for `file` records: the file's own size and type (the value is only its header) */
  fileSize?: number;
  mime?: string;
}

registerCommand({
  name: 'ls',
  usage: 'ls FILE [--type T] [--json]',
  summary: 'list records by type, newest first (posts show their title)',
  options: { type: { type: 'string' }, ...json },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const { POST_TYPE, decodePost } = await import('../store/posts.js');
    await withStream(file!, async (s) => {
      const only = str(opts, 'type');
      const types = only !== undefined ? [only] : s.types().map((t) => t.type);
      const files = types.includes('file') ? await import('../store/files.js') : undefined;
      const rows: ListRow[] = [];
      for (const type of types) {
        const page = 10_000;
        for (let offset = 0; ; offset += page) {
          const batch = s.list(type, { order: 'ts', limit: page, offset });
          for (const r of batch) {
            const row: ListRow = {
              type: r.type, key: r.key, id: r.id, ts: r.ts, mod: r.mod, time: timeOf(r.ts),
              size: r.val ? r.val.length : null, hash: Buffer.from(r.hash).toString('hex'),
            };
            if (type === POST_TYPE) row.title = decodePost(r.val).title;
            if (type === files?.FILE_TYPE && r.val) {
              const st = files.statFile(s, r.key);
              if (st) Object.assign(row, { fileSize: st.size, mime: st.mime });
            }
            rows.push(row);
          }
          if (batch.length < page) break;
        }
      }
      if (opts.json) return printJson(rows);
      const cells = rows.map((r) => [r.type, r.key, String(r.id), r.time, r.size === null ? '(no value)' : humanSize(r.fileSize ?? r.size)]);
      const widths = [0, 1, 2, 3, 4].map((i) => Math.max(0, ...cells.map((c) => c[i]!.length)));
      rows.forEach((r, n) => {
        const line = cells[n]!.map((c, i) => (i === 2 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
        print(r.title !== undefined ? `${line}  ${r.title}` : line.trimEnd());
      });
      if (!rows.length && only !== undefined) note(`No records of type ${only} in ${file}.`);
    });
  },
});

registerCommand({
  name: 'add',
  usage: 'add FILE PATH...',
  summary: 'add files and folders (a folder with index.html is a website)',
  options: json,
  positionals: [2, Infinity],
  async run({ args: [file, ...paths], opts }) {
    for (const p of paths) {
      try {
        fs.statSync(p);
      } catch (e) {
        throw fsError(e, p, 'add');
      }
    }
    const { addPaths } = await import('../store/files.js');
    const tty = process.stderr.isTTY === true;
    let last = 0;
    // Ctrl-C (or a TERM) stops the add and removes what it half wrote before exiting; a second one
    // stops at once (the default), and the next open of the stream collects what is left.
    const ac = new AbortController();
    let stoppedBy: NodeJS.Signals | undefined;
    const stop = (sig: NodeJS.Signals) => {
      stoppedBy = sig;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (tty && last) process.stderr.write('\r\x1b[K');
      note('Stopping: removing what this add had written (press Ctrl-C again to stop at once)...');
      ac.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    let result: Awaited<ReturnType<typeof addPaths>>;
    try {
      result = await withStream(file!, (s) =>
        addPaths(s, paths, {
          signal: ac.signal,
          onProgress: tty
            ? (p) => {
                const now = Date.now();
                if (stoppedBy || (now - last < 100 && p.files < p.filesTotal)) return; // ~10 redraws a second is plenty
                last = now;
                process.stderr.write(`\rAdding: ${p.files}/${p.filesTotal} files, ${humanSize(p.bytes)} of ${humanSize(p.bytesTotal)}\x1b[K`);
              }
            : undefined,
        }),
      );
    } catch (e) {
      if (!stoppedBy || !isDrayerError(e, 'CANCELLED')) throw e;
      note(`drayer: ${e.message}`);
      return stoppedBy === 'SIGINT' ? 130 : 143; // as a shell reports a process ended by the signal
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (tty && last && !stoppedBy) process.stderr.write('\r\x1b[K');
    }
    if (opts.json) return printJson(result);
    for (const p of result.added) print(`added    ${p}`);
    for (const p of result.updated) print(`updated  ${p}`);
    for (const p of result.removed) print(`removed  ${p}`);
    print(`${result.added.length} added, ${result.updated.length} updated, ${result.removed.length} removed, ${result.unchanged} unchanged.`);
  },
});

registerCommand({
  name: 'cat',
  usage: 'cat FILE PATH [--from URL]...',
  summary: "write a stored file's bytes to stdout (a metadata-only copy fetches them from its sources)",
  options: fromOption,
  positionals: [2, 2],
  async run({ args: [file, p], opts }) {
    const { openFileStream, statFile } = await import('../store/files.js');
    const { metadataOnlyFile, openFileRange } = await import('../net/open.js');
    await withStream(file!, async (s) => {
      const held = statFile(s, p!);
      if (!held && !metadataOnlyFile(s, p!)) throw new DrayerError('NOT_FOUND', `There is no file ${p} in ${file}; list files with "drayer ls ${file} --type file".`);
      // A metadata-only copy opens it from its sources (value, then chunks as they are written out).
      const src = s.partial.metaOnly || !held ? await openFileRange(s, p!, {}, await openOptions(s, file!, opts, `drayer cat FILE ${p}`)) : openFileStream(s, p!);
      try {
        for await (const chunk of src) {
          if (!(await writeOut(chunk as Uint8Array))) break; // the reader went away (e.g. | head)
        }
      } finally {
        src.destroy();
      }
    });
  },
});

/** verify's words for a mirror that is still being synced: what is here verifies, the rest is to come. */
function incompleteText(file: string, records: number, inc: { missing: number; unfinished: string[] }, damaged: boolean): string {
  const why = [
    inc.missing ? `${inc.missing} chain link${inc.missing === 1 ? ' points' : 's point'} to records not fetched yet` : '',
    inc.unfinished.length ? `the last sync from ${inc.unfinished.join(', ')} did not finish` : '',
  ].filter(Boolean).join(', and ');
  const head = damaged ? `It is also incomplete` : `${file}: incomplete: the ${records} records here verify, but this copy is still being synced`;
  return `${head} (${why}). Run "drayer sync ${file}" to fetch the rest.`;
}

registerCommand({
  name: 'verify',
  usage: 'verify FILE [--json]',
  summary: 'check every signature, value and chain link (exit 0 only when intact)',
  options: json,
  positionals: [1, 1],
  run: ({ args: [file], opts }) =>
    withStream(file!, (s) => {
      let report;
      try {
        report = s.verify();
      } catch (e) {
        // Damage below the records (SQLite pages) is a verify result, not a crash.
        const code = String((e as { code?: unknown }).code ?? '');
        if (!code.startsWith('SQLITE_')) throw e;
        report = { intact: false, records: 0, metaOnly: 0, partial: false, problems: [{ id: 0, what: `the database itself is damaged (${(e as Error).message})` }] };
      }
      if (opts.json) printJson({ file, ...report });
      else if (report.intact) {
        const extra = [report.metaOnly ? `${report.metaOnly} without values` : '', report.partial ? 'a partial copy' : ''].filter(Boolean).join(', ');
        print(`${file}: intact, ${report.records} records verified${extra ? ` (${extra})` : ''}.`);
      } else {
        if (report.problems.length) {
          print(`${file}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} found:`);
          for (const p of report.problems) print(`  ${p.what}`);
        }
        if (report.incomplete) print(incompleteText(file, report.records, report.incomplete, report.problems.length > 0));
      }
      if (!opts.json) for (const n of ('notes' in report ? report.notes : undefined) ?? []) print(`Note: ${n}.`);
      return report.intact ? 0 : 1;
    }),
});

registerCommand({
  name: 'export',
  usage: 'export FILE OUT',
  summary: 'write a copy without the secret key (a mirror to share)',
  positionals: [2, 2],
  async run({ args: [file, out] }) {
    const { exportStream } = await import('../store/export.js');
    if (fs.existsSync(out!)) throw new DrayerError('EXISTS', `${out} already exists; choose another name (nothing was written).`);
    let records = 0;
    await withStream(file!, (s) => {
      records = exportStream(s, out!).records;
    });
    print(`Exported ${file} to ${out}: ${records} records, without the secret key (a read-only copy to share).`);
  },
});

// ---------- help and dispatch ----------

function version(): string {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function usageText(): string {
  // help last, after the commands that extensions add
  const listed = [...commands.values()].sort((a, b) => Number(a.name === 'help') - Number(b.name === 'help'));
  const rows: [string, string][] = listed.map((c) => [c.usage, c.summary]);
  rows.push(['--version', 'show the version']);
  // Long usages get their summary on the next line so the list stays readable in 80 columns.
  const width = Math.min(48, Math.max(...rows.map(([u]) => u.length)));
  const lines = rows.map(([u, sum]) => (u.length <= width ? `  ${u.padEnd(width)}  ${sum}` : `  ${u}\n  ${''.padEnd(width)}  ${sum}`));
  return [
    'drayer: signed, mutable streams',
    '',
    'Usage: drayer COMMAND [ARGS]',
    '',
    'Commands:',
    ...lines,
    '',
    'FILE is a stream file (NAME.stream); its secret key, where present, is FILE.privatekey.',
    'Set DRAYER_DEBUG=1 to see stack traces of unexpected errors.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return `Usage: drayer ${c.usage}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.${c.details ? `\n\n${c.details}` : ''}`;
}

// A command like any other, so `drayer help help` and `drayer help --help` answer too.
registerCommand({
  name: 'help',
  usage: 'help [COMMAND]',
  summary: "show this text, or how to use one command",
  positionals: [0, 1],
  async run({ args: [topic] }) {
    if (topic === undefined) {
      await loadExtensions();
      print(usageText());
      return;
    }
    const c = await findCommand(topic);
    if (!c) throw new UsageError(`There is no command "${topic}".`);
    print(commandHelp(c));
  },
});

/**
 * `--latest -2` is a number given wrongly, not a forgotten value, but parseArgs refuses any value
 * that starts with a dash as ambiguous. Joined as `--latest=-2`, it reaches the command, which
 * says what is wrong with it. Other dashed values stay apart (`--title --body x` lacks a title).
 */
function joinNegativeNumbers(args: string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return out.concat(args.slice(i));
    const next = args[i + 1];
    if (a.startsWith('--') && options[a.slice(2)]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs explains well but speaks to programmers: one sentence a person can act on. */
function parseArgsProblem(e: unknown, args: string[]): string {
  const message = String((e as Error).message);
  const ambiguous = /^Option '(-[^' ]+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    // the value given starts with a dash: likely the value was forgotten and this is the next option
    const opt = ambiguous[1]!;
    const next = args[args.indexOf(opt) + 1] ?? '';
    return `${opt} is missing its value: the next argument, ${next}, starts with a dash. If that is the value, write ${opt}=${next}.`;
  }
  const missing = /^Option '(-[^' ]+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `${missing[1]} is missing its value; give it after a space or an = sign.`;
  return message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '.');
}

async function findCommand(name: string): Promise<Command | undefined> {
  if (!commands.has(name)) await loadExtensions();
  return commands.get(name);
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    await loadExtensions();
    note(usageText());
    return 2;
  }
  if (first === '--version' || first === '-V') {
    print(version());
    return 0;
  }
  if (first.startsWith('-') && first !== '--help' && first !== '-h') throw new UsageError(`Unknown option ${first}; a command comes first, e.g. "drayer info FILE".`);
  const cmd = await findCommand(first === '--help' || first === '-h' ? 'help' : first);
  if (!cmd) throw new UsageError(`There is no command "${first}".`);

  const dashdash = rest.indexOf('--');
  const flags = dashdash === -1 ? rest : rest.slice(0, dashdash);
  if (flags.includes('--help') || flags.includes('-h')) {
    print(commandHelp(cmd));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(rest, cmd.options ?? {}), options: cmd.options ?? {}, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseArgsProblem(e, rest), cmd);
  }
  const [min, max] = cmd.positionals ?? [0, Infinity];
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`${cmd.name} needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}, got ${n}.`, cmd);
  if (n > max) throw new UsageError(`${cmd.name} takes ${max === min ? '' : 'at most '}${max} argument${max === 1 ? '' : 's'}, got ${n}: ${parsed.positionals.slice(max).join(' ')} is extra.`, cmd);
  const code = await cmd.run({ args: parsed.positionals, opts: parsed.values as Options });
  return typeof code === 'number' ? code : 0;
}

/** One sentence on stderr per failure; the stack only with DRAYER_DEBUG=1. */
function report(e: unknown): number {
  const debug = process.env.DRAYER_DEBUG === '1';
  if (e instanceof UsageError) {
    note(`drayer: ${e.message}`);
    note(e.command ? `Usage: drayer ${e.command.usage}` : 'Run "drayer help" to see the commands.');
    return 2;
  }
  if (debug && e instanceof Error) note(e.stack ?? String(e));
  if (isDrayerError(e)) {
    note(`drayer: ${e.message}`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException & { code?: string };
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code && err.path) {
    note(`drayer: ${fsError(e, err.path, 'use').message}`);
  } else if (code === 'ENOSPC') {
    note('drayer: the disk is full; free some space and try again.');
  } else if (code.startsWith('SQLITE_')) {
    note(`drayer: the stream database failed (${err.message}); run "drayer verify FILE", and restore from a backup or a mirror if it is damaged.`);
  } else {
    note(`drayer: unexpected error: ${err?.message ?? String(e)}${debug ? '' : ' (set DRAYER_DEBUG=1 for details)'}`);
  }
  return 1;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  guardOutputs();
  try {
    return await dispatch(argv);
  } catch (e) {
    return report(e);
  }
}
