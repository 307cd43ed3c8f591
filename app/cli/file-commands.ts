// The `drayer` commands on stored files: add (files and folders, with progress and a clean stop
// on Ctrl-C) and cat. Heavy modules load inside `run`, so `drayer help` starts instantly.
import * as fs from 'node:fs';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { fromOption, fsError, openOptions, withStream, withView } from './input.js';
import { humanSize, note, print, printJson, writeOut } from './output.js';
import { type Command, jsonOption } from './table.js';

export const addCommand: Command = {
  name: 'add',
  usage: 'add FILE PATH...',
  summary: 'add files and folders (a folder with index.html is a website)',
  options: jsonOption,
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
    // A private stream's files are sealed records (private-files.ts), big ones chunk by chunk.
    const ac0 = new AbortController();
    const stop0 = () => {
      note('Stopping: removing what this add had written...');
      ac0.abort();
    };
    process.once('SIGINT', stop0);
    let sealed: Awaited<ReturnType<typeof import('../store/private-files.js').addPrivatePaths>> | null;
    try {
      sealed = await withView(file!, async (v) =>
        v.private ? (await import('../store/private-files.js')).addPrivatePaths(v, paths, { signal: ac0.signal }) : null,
      );
    } finally {
      process.off('SIGINT', stop0);
    }
    if (sealed) {
      if (opts.json) return printJson(sealed);
      for (const p of sealed.added) print(`added    ${p}`);
      for (const p of sealed.updated) print(`updated  ${p}`);
      print(`${sealed.added.length} added, ${sealed.updated.length} updated, ${sealed.removed.length} removed, ${sealed.unchanged} unchanged (sealed).`);
      return;
    }
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
};

/**
 * `--range`: bytes START-END (inclusive, as HTTP's Range), START- (to the end) or -N (the last N),
 * given the file's size.
 */
export function parseByteRange(text: string, size: number): { start: number; end: number } {
  const m = /^(\d*)-(\d*)$/.exec(text.trim());
  const bad = () =>
    new DrayerError(
      'INVALID_ARGUMENT',
      `--range ${text} is not a byte range; write START-END (e.g. 0-99, inclusive), START- (to the end) or -N (the last N bytes).`,
    );
  if (!m || (m[1] === '' && m[2] === '')) throw bad();
  if (m[1] === '') {
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) throw bad();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) throw bad();
  return { start, end: Math.min(end, size - 1) };
}

async function pipeOut(src: NodeJS.ReadableStream & { destroy(): void }): Promise<void> {
  try {
    for await (const chunk of src) {
      if (!(await writeOut(chunk as Uint8Array))) break; // the reader went away (e.g. | head)
    }
  } finally {
    src.destroy();
  }
}

export const catCommand: Command = {
  name: 'cat',
  usage: 'cat FILE PATH [--range START-END] [--from URL]...',
  summary: "write a stored file's bytes (or a byte range of them) to stdout (a metadata-only copy fetches them from its sources)",
  options: { ...fromOption, range: { type: 'string' } },
  positionals: [2, 2],
  async run({ args: [file, p], opts }) {
    const { openFileStream, statFile } = await import('../store/files.js');
    const { metadataOnlyFile, openFileRange } = await import('../net/open.js');
    const rangeText = typeof opts.range === 'string' ? opts.range : undefined;
    await withView(file!, async (v) => {
      const s = v.stream;
      if (v.private) {
        const { openPrivateFile } = await import('../store/private-files.js');
        const whole = await openPrivateFile(v, p!, { start: 0, end: -1 });
        if (!whole) throw new DrayerError('NOT_FOUND', `There is no file ${p} in ${file}; list files with "drayer ls ${file} --type file".`);
        whole.body.destroy();
        const f = (await openPrivateFile(v, p!, rangeText === undefined ? {} : parseByteRange(rangeText, whole.size)))!;
        await pipeOut(f.body);
        return;
      }
      const held = statFile(s, p!);
      if (!held && !metadataOnlyFile(s, p!))
        throw new DrayerError('NOT_FOUND', `There is no file ${p} in ${file}; list files with "drayer ls ${file} --type file".`);
      // A metadata-only copy opens it from its sources (value, then chunks as they are written out).
      const range = rangeText === undefined ? {} : parseByteRange(rangeText, held?.size ?? Number.MAX_SAFE_INTEGER);
      const src =
        s.partial.metaOnly || !held
          ? await openFileRange(s, p!, range, await openOptions(s, file!, opts, `drayer cat FILE ${p}`))
          : openFileStream(s, p!, range);
      await pipeOut(src);
    });
  },
};
