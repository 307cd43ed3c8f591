// What `drayer` commands open from what the user names: input files, stream files, and the
// sources a metadata-only copy fetches from, each failing with a sentence that says what to do.
import * as fs from 'node:fs';
import { DrayerError, isDrayerError } from '../core/errors.js';
import type { OpenOptions } from '../net/open.js';
import type { StreamView } from '../store/private-view.js';
import type { Stream } from '../store/store.js';
import type { Options } from './table.js';

/** Read an input file the user named (`-` is stdin), with a clear sentence when it is not there. */
export function readInput(file: string): Buffer {
  if (file === '-') return fs.readFileSync(0);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'read');
  }
}

/** A file system error as a sentence about `file`; other errors pass through. */
export function fsError(e: unknown, file: string, doing: string): Error {
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

/** Run `fn` on the stream file `file`, closing it afterwards. */
export async function withStream<T>(file: string, fn: (s: Stream) => Promise<T> | T): Promise<T> {
  const s = await openStream(file);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** Run `fn` on the stream file's view (private-view.ts: a private stream sealed and opened with the read key beside it), closing it afterwards. */
export async function withView<T>(file: string, fn: (v: StreamView) => Promise<T> | T): Promise<T> {
  const { openView } = await import('../store/private-view.js');
  return withStream(file, async (s) => fn(await openView(s)));
}

/** --from: where a metadata-only copy fetches what is opened, before the sources the file names. */
export const fromOption = { from: { type: 'string', multiple: true } } as const;

/** How get and cat open what a metadata-only copy holds without its value. */
export async function openOptions(s: Stream, file: string, opts: Options, retry: string): Promise<OpenOptions> {
  const { streamSources } = await import('../net/open.js');
  const sources = [...(Array.isArray(opts.from) ? opts.from : []), ...streamSources(s)];
  const how = `${retry.replace('FILE', file)} --from http://HOST:PORT`;
  return {
    sources,
    advice: sources.length
      ? `Try again when one of them is running, or name a peer that holds this stream with its values: ${how}`
      : `Name a peer that holds this stream with its values: ${how}`,
  };
}
