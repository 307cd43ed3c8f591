// The `drayer` commands on records: post, put, get, rm and ls. Heavy modules (SQLite, crypto)
// load inside `run`, so `drayer help` starts instantly.
import { DrayerError } from '../core/errors.js';
import { fromOption, openOptions, readInput, withView } from './input.js';
import { humanSize, note, print, printJson, timeOf, writeOut } from './output.js';
import { type Command, commands, jsonOption, oneOf, str, UsageError } from './table.js';

export const postCommand: Command = {
  name: 'post',
  usage: 'post FILE --title T (--body B | --body-file F)',
  summary: 'add a post (prints its key)',
  details:
    'In a stream set compatible with the original Drayer ("drayer compatible FILE on"), the post is\n' +
    "written in the original's shape: a publicSocialPost record keyed by its title.",
  options: { title: { type: 'string' }, body: { type: 'string' }, 'body-file': { type: 'string' } },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const title = str(opts, 'title');
    if (title === undefined) throw new UsageError('post needs --title.', commands.get('post'));
    const [which, v] = oneOf(opts, 'body', 'body-file', 'post');
    const body = which === 'body' ? v : readInput(v).toString('utf8');
    const { addPost, isCompatible } = await import('../store/posts.js');
    await withView(file!, (v) => print(addPost(v, { title, body }, { original: !v.private && isCompatible(v.stream) }).key));
  },
};

export const putCommand: Command = {
  name: 'put',
  usage: 'put FILE TYPE KEY (--value S | --value-file F)',
  summary: 'create or replace a record (F may be - for stdin)',
  options: { value: { type: 'string' }, 'value-file': { type: 'string' } },
  positionals: [3, 3],
  async run({ args: [file, type, key], opts }) {
    const [which, v] = oneOf(opts, 'value', 'value-file', 'put');
    const value = which === 'value' ? Buffer.from(v, 'utf8') : readInput(v);
    await withView(file!, (v) => {
      const r = v.put(type!, key!, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      note(`Stored ${type}/${key} (record ${r.id}, ${humanSize(value.length)}${v.private ? ', sealed' : ''}).`);
    });
  },
};

function missingRecord(file: string, type: string, key: string): DrayerError {
  return new DrayerError('NOT_FOUND', `There is no record ${type}/${key} in ${file}; list them with "drayer ls ${file} --type ${type}".`);
}

export const getCommand: Command = {
  name: 'get',
  usage: 'get FILE TYPE KEY [--from URL]...',
  summary: "write a record's value (raw bytes) to stdout (a metadata-only copy fetches it from its sources)",
  options: fromOption,
  positionals: [3, 3],
  run: ({ args: [file, type, key], opts }) =>
    withView(file!, async (v) => {
      const s = v.stream;
      // the stored record (sealed in a private stream), so a metadata-only copy fetches what its peers hold
      const r = v.locate(type!, key!);
      if (!r) throw missingRecord(file!, type!, key!);
      let val = r.val;
      if (!val) {
        const { openValue } = await import('../net/open.js');
        val = await openValue(s, r, await openOptions(s, file!, opts, `drayer get FILE ${type} ${key}`));
      }
      await writeOut(v.open({ ...r, val }).val!);
    }),
};

export const rmCommand: Command = {
  name: 'rm',
  usage: 'rm FILE TYPE KEY',
  summary: 'delete a record',
  positionals: [3, 3],
  run: async ({ args: [file, type, key] }) => {
    // A file's chunks are rows apart from its record: collect them too, or a deleted big file stays in the stream.
    const files = type === 'file' ? await import('../store/files.js') : undefined;
    return withView(file!, (v) => {
      if (!v.delete(type!, key!)) throw missingRecord(file!, type!, key!);
      files?.gcChunks(v.stream);
      note(`Deleted ${type}/${key}.`);
    });
  },
};

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
  /** a private stream's record where this copy holds no read key: its type and key are opaque */
  sealed?: true;
}

export const lsCommand: Command = {
  name: 'ls',
  usage: 'ls FILE [--type T] [--json]',
  summary: 'list records by type, newest first (posts show their title)',
  options: { type: { type: 'string' }, ...jsonOption },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const { isPostType, decodePostOf } = await import('../store/posts.js');
    const { SEALED_NOTE, SEALED_TYPE } = await import('../store/private-view.js');
    await withView(file!, async (v) => {
      const s = v.stream;
      const only = str(opts, 'type');
      const types = only !== undefined ? [only] : v.types().map((t) => t.type);
      const files = types.includes('file') ? await import('../store/files.js') : undefined;
      const rows: ListRow[] = [];
      for (const type of types) {
        const page = 10_000;
        for (let offset = 0; ; offset += page) {
          const batch = v.list(type, { order: 'ts', limit: page, offset });
          for (const r of batch) {
            const row: ListRow = {
              type: r.type,
              key: r.key,
              id: r.id,
              ts: r.ts,
              mod: r.mod,
              time: timeOf(r.ts),
              size: r.val ? r.val.length : null,
              hash: Buffer.from(r.hash).toString('hex'),
            };
            if (isPostType(type)) row.title = decodePostOf(r.type, r.key, r.val).title;
            if (type === SEALED_TYPE && v.access === 'sealed') Object.assign(row, { sealed: true, title: SEALED_NOTE });
            // where the read key is held, a record still sealed is one that does not open ("drayer get" says why)
            else if (type === SEALED_TYPE && v.access === 'reader') Object.assign(row, { sealed: true, title: 'damaged: does not open with the read key' });
            if (type === files?.FILE_TYPE && r.val) {
              // a private stream's file is one sealed record: its header is in the opened value
              const st = v.private ? privateFileStat(files.parseFileValue, r.val) : files.statFile(s, r.key);
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
};

/** A private file's size and type from its opened value (undefined when unreadable). */
function privateFileStat(
  parse: (val: Uint8Array) => { header: { size?: number; mime?: string }; body: Uint8Array },
  val: Uint8Array,
): { size: number; mime?: string } | undefined {
  try {
    const { header, body } = parse(val);
    return { size: header.size ?? body.length, mime: header.mime };
  } catch {
    return undefined;
  }
}
