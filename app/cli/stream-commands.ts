// The `drayer` commands about a whole stream file: create, info, servers, verify, export and import.
// Heavy modules (SQLite, crypto) load inside `run`, so `drayer help` starts instantly.
import * as fs from 'node:fs';
import { DrayerError } from '../core/errors.js';
import { fingerprint, formatKey, keyLink, keyWords, streamName } from '../core/keys.js';
import { cleanName, terminalSafe } from '../core/text.js';
import type { StreamView } from '../store/private-view.js';
import type { VerifyReport } from '../store/store.js';
import { withStream, withView } from './input.js';
import { humanSize, note, print, printJson, timeOf } from './output.js';
import { type Command, commands, jsonOption, str, UsageError } from './table.js';

/** The stream file's bytes on disk, its write-ahead log included. */
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

export const createCommand: Command = {
  name: 'create',
  usage: 'create FILE [--name N] [--about A] [--private | --compatible]',
  summary: 'create a new stream (prints its public key; a private one, its read link too)',
  details:
    'A --private stream is sealed: only holders of its read key read it, and mirrors without it carry,\n' +
    'verify and serve it as ciphertext. The read key is kept in FILE.readkey; the read link\n' +
    '(drayer:KEY#r=READKEY, printed on the second line) gives it to the people who may read.\n' +
    '--compatible: its posts are written so the original Drayer\'s apps read them (see "drayer help compatible").',
  options: { name: { type: 'string' }, about: { type: 'string' }, private: { type: 'boolean' }, compatible: { type: 'boolean' } },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const { Stream } = await import('../store/store.js');
    const create = { name: str(opts, 'name'), about: str(opts, 'about') };
    if (opts.private === true && opts.compatible === true)
      throw new UsageError(
        'A private stream cannot be compatible with the original Drayer, which reads only clear posts: give one of the two.',
        commands.get('create'),
      );
    if (opts.private === true) {
      const { createPrivateStream, readLink } = await import('../store/private-view.js');
      const { stream, readKey } = await createPrivateStream(file!, create);
      try {
        print(formatKey(stream.publicKey));
        print(readLink(stream.publicKey, readKey.bytes));
        note(
          `Created the private stream ${file}. Its secret key is in ${file}.privatekey and its read key in ${file}.readkey: back both up. ` +
            'Whoever has the read link above can read the stream; give it only to them.',
        );
      } finally {
        stream.close();
      }
      return;
    }
    const s = Stream.create(file!, create);
    try {
      if (opts.compatible === true) s.setMeta((await import('../store/posts.js')).COMPATIBLE_META, 1);
      print(formatKey(s.publicKey));
      note(`Created ${file}. Its secret key is in ${file}.privatekey: back it up and keep it private, since whoever has it can write to this stream.`);
    } finally {
      s.close();
    }
  },
};

export const linkCommand: Command = {
  name: 'link',
  usage: 'link FILE',
  summary: "print the stream's link (a private stream's read link where this copy holds the read key)",
  positionals: [1, 1],
  run: ({ args: [file] }) =>
    withView(file!, async (v) => {
      const { readLink } = await import('../store/private-view.js');
      const s = v.stream;
      print(v.readKey ? readLink(s.publicKey, v.readKey.bytes) : keyLink(s.publicKey));
      if (v.access === 'sealed') note(`${file} is private and this copy has no read key (a blind mirror): the link lets others mirror it, not read it.`);
    }),
};

export const wordsCommand: Command = {
  name: 'words',
  usage: 'words FILE [--json]',
  summary: "print the stream's key backup words: 32, or 64 for a private stream (its read key follows the secret key)",
  positionals: [1, 1],
  options: jsonOption,
  run: ({ args: [file], opts }) =>
    withView(file!, async (v) => {
      const kp = v.stream.keyPairForBackup();
      if (!kp) throw new DrayerError('NOT_WRITABLE', `${file} is a copy of someone else's stream: its secret key is not here, so there is nothing to back up.`);
      const { secretWords } = await import('../core/keybackup.js');
      const words = secretWords(kp, v.readKey?.bytes);
      if (opts.json) return printJson({ publicKey: formatKey(v.stream.publicKey), words });
      for (let i = 0; i < words.length; i += 8) print(words.slice(i, i + 8).join(' '));
      note(
        `${words.length} words: whoever has them can write ${words.length === 64 ? 'and read ' : ''}this stream. Write them down and keep them safe; restore them with the app's "Restore from backup words".`,
      );
    }),
};

export const infoCommand: Command = {
  name: 'info',
  usage: 'info FILE [--json]',
  summary: 'show a stream: name, public key, fingerprint, primary servers, records, size',
  options: jsonOption,
  positionals: [1, 1],
  run: ({ args: [file], opts }) =>
    withView(file!, (v) => {
      const s = v.stream;
      const meta = v.info();
      const infoProblem = s.infoProblem();
      // the author signed an info that is no map: say so once, show the rest
      if (infoProblem) note(`drayer: ${file}: drayer/info: ${infoProblem}. The stream shows without a name; "drayer verify ${file}" lists every such problem.`);
      const serversProblem = s.primaryServersProblem();
      if (serversProblem)
        note(
          `drayer: ${file}: drayer/primaryServers: ${serversProblem}. The stream shows without primary servers; "drayer verify ${file}" lists every such problem.`,
        );
      const types: Record<string, number> = {};
      for (const t of v.types()) types[t.type] = t.n;
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
        /** public, private (this copy reads it), or sealed (private, and this copy has no read key: a blind mirror) */
        access: v.access === 'reader' ? 'private' : v.access,
        records: s.count(),
        types,
        lastSeq: s.lastSeq(),
        fileSize: fileSize(file!),
        nodeId: s.nodeId,
        partial: s.partial,
        primaryServers: s.primaryServers(),
      };
      if (opts.json) return printJson(info);
      const byType = Object.entries(types)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ');
      const p = info.partial;
      const partial = [p.minId ? `ids from ${p.minId}` : '', p.minMod ? `changes from ${timeOf(p.minMod)}` : '', p.metaOnly ? 'no values' : '']
        .filter(Boolean)
        .join(', ');
      const why =
        v.access === 'sealed'
          ? 'its name record is sealed: no read key'
          : infoProblem
            ? 'its name record is unreadable'
            : v.get('drayer', 'info')
              ? 'its name record gives no name'
              : 'it has no name record';
      print(`Name:         ${info.name}${info.nameFromKey ? ` (made from the key: ${why})` : ''}`);
      // the author's text, lines and all: each line indented under the label, so none reads as another field
      if (info.about)
        print(
          `About:        ${terminalSafe(info.about)
            .split(/\r\n|\r|\n/)
            .join('\n              ')}`,
        );
      print(`Public key:   ${info.publicKey}`);
      print(`Fingerprint:  ${info.fingerprint}`);
      print(`Key as words: ${info.words}`);
      print(`Link:         ${info.link}`);
      print(`Mode:         ${s.writable ? `writable (secret key in ${file}.privatekey)` : 'mirror (read-only: no secret key here)'}`);
      if (v.private)
        print(
          `Private:      ${v.readKey ? `yes, readable here (read key in ${file}.readkey; "drayer link ${file}" prints the read link)` : 'yes, sealed: no read key (a blind mirror: it syncs and serves the stream without reading it)'}`,
        );
      print(`Servers:      ${info.primaryServers.map((x) => x.url).join(', ') || (serversProblem ? '(unreadable)' : '(none)')}`);
      if (partial) print(`Partial copy: ${partial}`);
      print(`Records:      ${info.records}${byType ? ` (${byType})` : ''}`);
      print(`Last seq:     ${info.lastSeq}`);
      print(`File size:    ${humanSize(info.fileSize)}`);
    }),
};

export const serversCommand: Command = {
  name: 'servers',
  usage: 'servers FILE [URL...] [--clear] [--json]',
  summary: "show or set a stream's primary servers (URLs replace the list)",
  details:
    'Primary servers are always-on peers (mirrors) that the author names in the stream itself, in a\n' +
    'signed record: a follower syncs from them when it knows no other source. Without URLs, this\n' +
    'lists them, one a line. With URLs (http:// or https://, at most 16), they replace the list;\n' +
    '--clear empties it. Only the writer, who holds FILE.privatekey, can set them.',
  options: { clear: { type: 'boolean' }, ...jsonOption },
  positionals: [1, Infinity],
  run: ({ args: [file, ...urls], opts }) =>
    withStream(file!, (s) => {
      const setting = urls.length > 0 || opts.clear === true;
      if (urls.length > 0 && opts.clear) throw new UsageError('Give URLs to replace the list, or --clear to empty it, not both.', commands.get('servers'));
      let servers;
      if (setting) {
        if (!s.writable) {
          throw new DrayerError(
            'NOT_WRITABLE',
            `${file} is a mirror: its secret key (${file}.privatekey) is not here, and only the stream's writer can set its primary servers. Nothing was changed.`,
          );
        }
        servers = s.setPrimaryServers(urls).servers;
        note(
          servers.length
            ? `${file} now names ${servers.length} primary server${servers.length === 1 ? '' : 's'}: followers sync from ${servers.length === 1 ? 'it' : 'them'} when they know no other source.`
            : `${file} now names no primary servers.`,
        );
      } else {
        const problem = s.primaryServersProblem();
        if (problem) note(`drayer: ${file}: drayer/primaryServers: ${problem}. Set them anew with "drayer servers ${file} URL...".`);
        servers = s.primaryServers();
        if (!servers.length && !problem && !opts.json) note(`${file} names no primary servers; set them with "drayer servers ${file} URL...".`);
      }
      if (opts.json) return printJson({ file: file!, primaryServers: servers });
      for (const x of servers) print(x.url);
    }),
};

export const compatibleCommand: Command = {
  name: 'compatible',
  usage: 'compatible FILE [on | off]',
  summary: "show or set whether new posts are written so the original Drayer's apps read them",
  details:
    "On, a new post is a publicSocialPost record: its key is its title (the body's first line when it\n" +
    'has none, with " (2)" added when another post has it), its value the text. An edit keeps that shape;\n' +
    'a changed title moves the post to the new key. Posts written before keep their shape. Off: new\n' +
    'posts are Drayer posts (JSON), which the original carries but its apps do not show.',
  positionals: [1, 2],
  run: ({ args: [file, to] }) =>
    withStream(file!, async (s) => {
      const { COMPATIBLE_META, isCompatible } = await import('../store/posts.js');
      if (to !== undefined) {
        if (to !== 'on' && to !== 'off') throw new UsageError(`Say "on" or "off", not "${to}".`, commands.get('compatible'));
        if (!s.writable)
          throw new DrayerError(
            'NOT_WRITABLE',
            `${file} is a mirror: its secret key (${file}.privatekey) is not here, and only its writer posts to it. Nothing was changed.`,
          );
        const { isPrivate } = await import('../store/private-view.js');
        if (to === 'on' && isPrivate(s))
          throw new DrayerError(
            'INVALID_ARGUMENT',
            `${file} is a private stream: its posts are sealed, and the original Drayer reads only clear ones. Nothing was changed.`,
          );
        s.setMeta(COMPATIBLE_META, to === 'on' ? 1 : null);
      }
      print(isCompatible(s) ? "on: new posts are written in the original Drayer's shape" : 'off: new posts are Drayer posts');
    }),
};

/** verify's words for a mirror that is still being synced: what is here verifies, the rest is to come. */
function incompleteText(file: string, records: number, inc: { missing: number; unfinished: string[] }, damaged: boolean): string {
  const why = [
    inc.missing ? `${inc.missing} chain link${inc.missing === 1 ? ' points' : 's point'} to records not fetched yet` : '',
    inc.unfinished.length ? `the last sync from ${inc.unfinished.join(', ')} did not finish` : '',
  ]
    .filter(Boolean)
    .join(', and ');
  const head = damaged ? `It is also incomplete` : `${file}: incomplete: the ${records} records here verify, but this copy is still being synced`;
  return `${head} (${why}). Run "drayer sync ${file}" to fetch the rest.`;
}

/**
 * A private stream's part of verify: its name record is sealed, not missing; where the read key is
 * held, every sealed record must open (its AEAD holds and it is the record its key names).
 */
async function verifySealed(v: StreamView, report: VerifyReport): Promise<VerifyReport> {
  const { NO_NAME_NOTE } = await import('../store/store.js');
  const { SEALED_TYPE } = await import('../store/private-view.js');
  const notes = (report.notes ?? []).filter((n) => n !== NO_NAME_NOTE);
  notes.push(
    v.readKey
      ? 'a private stream: every sealed record was opened with the read key too'
      : 'a private stream, sealed here (no read key): signatures, hashes and links are checked, not what the records say',
  );
  const problems = [...report.problems];
  if (v.readKey) {
    for (const r of v.stream.iterate()) {
      if (r.type !== SEALED_TYPE || !r.val) continue;
      try {
        v.open(r);
      } catch (e) {
        problems.push({ id: r.id, what: `record ${r.id} (${SEALED_TYPE}/${r.key}): ${(e as Error).message}` });
      }
    }
  }
  return { ...report, problems, intact: report.intact && problems.length === report.problems.length, notes };
}

export const verifyCommand: Command = {
  name: 'verify',
  usage: 'verify FILE [--json]',
  summary: 'check every signature, value and chain link (exit 0 only when intact)',
  options: jsonOption,
  positionals: [1, 1],
  run: ({ args: [file], opts }) =>
    withView(file!, async (v) => {
      const s = v.stream;
      let report;
      try {
        report = s.verify();
        if (v.private) report = await verifySealed(v, report);
      } catch (e) {
        // Damage below the records (SQLite pages) is a verify result, not a crash.
        const code = String((e as { code?: unknown }).code ?? '');
        if (!code.startsWith('SQLITE_')) throw e;
        report = {
          intact: false,
          records: 0,
          metaOnly: 0,
          partial: false,
          problems: [{ id: 0, what: `the database itself is damaged (${(e as Error).message})` }],
        };
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
};

export const exportCommand: Command = {
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
};

export const importCommand: Command = {
  name: 'import',
  usage: 'import ORIGINAL.stream OUT.stream [--json]',
  summary: 'copy a stream file of the original Drayer into a new Drayer file (every record verified; the original is not changed)',
  options: jsonOption,
  positionals: [2, 2],
  async run({ args: [src, out], opts }) {
    const { importOriginal } = await import('../store/original-file.js');
    const r = importOriginal(src!, out!);
    if (opts.json) {
      printJson({ ...r, publicKey: formatKey(r.publicKey) });
      return r.rejectedCount ? 1 : 0;
    }
    print(`Imported ${src} into ${out}: ${r.records} records, each verified, byte for byte (stream ${formatKey(r.publicKey)}).`);
    if (r.keyCopied) note(`Its secret key was copied to ${out}.privatekey: you can write to the stream from ${out} (keep the key private).`);
    if (r.otherChains) note(`${r.otherChains} records of other chains (the original's sibling chains) were not this stream's and were left out.`);
    if (r.rejectedCount) {
      print(`${r.rejectedCount} records did not verify and were not imported, for example:`);
      for (const x of r.rejected) print(`  record ${x.id}: ${x.reason}`);
    }
    note(`${src} was not changed.`);
    return r.rejectedCount ? 1 : 0;
  },
};
