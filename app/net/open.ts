// Opening what a metadata-only copy holds without its value (DESIGN §2: the signature covers the
// value's hash, so a value fetched later is checked against it). A post's value, a file's value
// and, for big files, its chunks are fetched when opened from the stream's sources, verified, and
// kept. Every fetch is bounded: per request (time, and bytes: at most what the record or manifest
// says), and in all (a deadline across the sources tried), so a hostile or dead source costs a
// timeout, never a hang; a failure names each source tried and what it did.
import { peerId } from '../core/peer.js';
import { Readable } from 'node:stream';
import type { Statement } from 'better-sqlite3';
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { FILE_TYPE, getChunk, normalizeFilePath, openFileStream, parseFileValue, putChunk, statFile, type FileEntry } from '../store/files.js';
import { LIMITS, type DrayerRecord } from '../core/record.js';
import type { Stream } from '../store/store.js';
import { fetchBounded, urlSafeKey } from './sync.js';

export const OPEN_LIMITS = {
  /** one request to one source */
  timeoutMs: 10_000,
  /** opening one thing, every source tried (a big file's later chunks each get timeoutMs) */
  deadlineMs: 30_000,
  /** sources tried, at most */
  maxSources: 8,
  /** values fetched at once when a page of posts is opened */
  concurrency: 4,
} as const;

export interface OpenOptions {
  /** peer base URLs that may hold the values (a copy with values, or its writer) */
  sources: string[];
  timeoutMs?: number;
  deadlineMs?: number;
  signal?: AbortSignal;
  /** told of each value filled in (the node indexes posts with it) */
  onValue?: (r: DrayerRecord) => void;
  /** what to do when no source sends it, appended to the error (e.g. the CLI's --from) */
  advice?: string;
  /**
   * Sources that could not be reached or did not answer for an earlier item of the same batch
   * (openValues), and whether they ran out of time: not asked again, so a dead source costs one
   * timeout per page, not one per post.
   */
  down?: Map<string, boolean>;
  /** sync is LAN only: no fetch (redirects and resolved names included) leaves the local network */
  lanOnly?: boolean;
  /** the local address to connect from (NodeOptions.connectFrom), as the node's pulls do */
  localAddress?: string;
}

/** Why opening failed: every source tried, and whether they all ran out of time (a 504, not a 502). */
export class OpenError extends DrayerError {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super('IO', message);
    this.name = 'OpenError';
  }
}

/** The URLs a stream file itself names: where it was cloned from (meta `sources`) and its primary servers. */
export function streamSources(s: Stream): string[] {
  return [...new Set([...s.recordedSources(), ...s.primaryServers().map((p) => p.url)])];
}

/** Each source once, normalised, at most maxSources; bad URLs are dropped. */
function cleanSources(urls: string[]): string[] {
  const out = new Set<string>();
  for (const u of urls) {
    try {
      out.add(peerId(u));
    } catch {
      /* not a URL: skipped */
    }
    if (out.size >= OPEN_LIMITS.maxSources) break;
  }
  return [...out];
}

interface Tried {
  source: string;
  why: string;
  timedOut: boolean;
}

/**
 * Ask each source in turn for `path` (under /<pk>/) until one sends bytes that `accept` takes
 * (it verifies them and answers null, or says why not). Bounded by the options' deadline.
 */
async function fromSources(
  s: Stream,
  path: string,
  maxBytes: number,
  what: string,
  opts: OpenOptions,
  accept: (b: Uint8Array) => string | null,
  deadline: number,
): Promise<Uint8Array> {
  const sources = cleanSources(opts.sources);
  const tried: Tried[] = [];
  const perRequest = opts.timeoutMs ?? OPEN_LIMITS.timeoutMs;
  for (const src of sources) {
    const down = opts.down?.get(src);
    if (down !== undefined) {
      tried.push({ source: src, why: 'not asked again: it failed for another item just before', timedOut: down });
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      tried.push({ source: src, why: 'not tried: time ran out', timedOut: true });
      break;
    }
    if (opts.signal?.aborted) throw new DrayerError('IO', `Opening ${what} was stopped.`);
    const timeoutMs = Math.min(perRequest, left);
    const t0 = Date.now();
    try {
      const got = await fetchBounded(`${src}/${urlSafeKey(s.publicKey)}/${path}`, {
        maxBytes,
        timeoutMs,
        signal: opts.signal,
        lanOnly: opts.lanOnly,
        localAddress: opts.localAddress,
      });
      const bad = accept(got);
      if (!bad) return got;
      tried.push({ source: src, why: bad, timedOut: false });
    } catch (e) {
      if (opts.signal?.aborted) throw new DrayerError('IO', `Opening ${what} was stopped.`);
      const why = reason(e, `${src}/${urlSafeKey(s.publicKey)}/${path}`);
      const timedOut = Date.now() - t0 >= timeoutMs - 50;
      if (timedOut || why.startsWith('cannot be reached')) opts.down?.set(src, timedOut);
      tried.push({ source: src, why, timedOut });
    }
  }
  const timedOut = tried.length > 0 && tried.every((t) => t.timedOut);
  const said = tried.length
    ? `no source sent it: ${tried.map((t) => `${t.source} ${t.why}`).join('; ')}.`
    : 'this copy knows no source to fetch it from (it was not cloned or followed from a URL, and the stream names no primary server).';
  throw new OpenError(
    `Could not fetch ${what}, which this metadata-only copy holds without its contents: ${said}${opts.advice ? ` ${opts.advice}` : ''}`,
    timedOut,
  );
}

/** What a source did, in a few words (the sync client's sentences name the whole URL). */
function reason(e: unknown, url: string): string {
  const m = String((e as Error)?.message ?? e);
  if (/answered HTTP 404\b/.test(m)) return 'does not hold it (HTTP 404)';
  const status = /answered HTTP (\d+)/.exec(m);
  if (status) return `answered HTTP ${status[1]}`;
  const reach = /^Cannot reach \S+( \([^)]*\))?:/.exec(m);
  if (reach) return `cannot be reached${reach[1] ?? ''}`;
  return m
    .split(url)
    .join('it')
    .replace(/^it /, '')
    .replace(/[.;]\s*$/, '');
}

/** Fetches in flight per stream, so a page opened twice at once asks each source once. */
const inflight = new WeakMap<Stream, Map<string, Promise<unknown>>>();

function once<T>(s: Stream, key: string, run: () => Promise<T>): Promise<T> {
  let m = inflight.get(s);
  if (!m) inflight.set(s, (m = new Map()));
  const running = m.get(key) as Promise<T> | undefined;
  if (running) return running;
  const p = run().finally(() => m!.delete(key));
  m.set(key, p);
  return p;
}

const describe = (r: DrayerRecord) => (r.type === FILE_TYPE ? `file "${r.key}"` : `${r.type}/${r.key} (record ${r.id})`);

/**
 * The value of `r`, fetched from the sources when this copy holds the record without it: checked
 * against the signed hash, kept in the stream, and handed to `onValue`.
 */
export async function openValue(s: Stream, r: DrayerRecord, opts: OpenOptions): Promise<Uint8Array> {
  if (r.val) return r.val;
  const hash = Buffer.from(r.hash).toString('hex');
  return once(s, `v${r.id}:${hash}`, async () => {
    const held = s.getById(r.id);
    if (held?.val && bytesEqual(held.hash, r.hash)) return held.val; // filled meanwhile
    const deadline = Date.now() + (opts.deadlineMs ?? OPEN_LIMITS.deadlineMs);
    const val = await fromSources(
      s,
      `value/${r.id}`,
      LIMITS.valueBytes,
      `the value of ${describe(r)}`,
      opts,
      (v) => (bytesEqual(blake2b256(v), r.hash) ? null : 'sent a value that does not match its signed hash (a changed or forged copy)'),
      deadline,
    );
    try {
      s.fillValue(r.id, val);
    } catch (e) {
      // The record changed here meanwhile (a sync brought a newer version): the value is still the
      // one asked for. A copy on read-only media reads it without keeping it.
      if (!isDrayerError(e, 'INVALID_RECORD') && !s.db.readonly) throw e;
    }
    const now = s.getById(r.id);
    if (now?.val) opts.onValue?.(now);
    return val;
  });
}

/** A chunk of a big file (`len` bytes, as its manifest says), from this copy or fetched, verified, and kept. */
async function openChunk(s: Stream, file: string, index: number, hash: Uint8Array, len: number, opts: OpenOptions, deadline: number): Promise<Buffer> {
  const have = getChunk(s, hash);
  if (have) return have;
  const hex = Buffer.from(hash).toString('hex');
  return once(s, `c${hex}`, async () => {
    const data = await fromSources(
      s,
      `chunk/${hex}`,
      len,
      `chunk ${index} of file "${file}"`,
      opts,
      (d) => {
        if (d.length !== len) return `sent ${d.length} bytes for a chunk of ${len}`;
        return bytesEqual(blake2b256(d), hash) ? null : 'sent a chunk that does not match its hash';
      },
      deadline,
    );
    if (!s.db.readonly) putChunk(s, data, hash);
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  });
}

/** The file record for `p` this copy holds without its value, if that is what it holds. */
export function metadataOnlyFile(s: Stream, p: string): DrayerRecord | undefined {
  let key: string;
  try {
    key = normalizeFilePath(p);
  } catch {
    return undefined;
  }
  const r = s.get(FILE_TYPE, key);
  return r && r.val === null ? r : undefined;
}

/** The file `p` with its value here (fetched if only its metadata was), or undefined when there is no such file. */
export async function openFile(s: Stream, p: string, opts: OpenOptions): Promise<FileEntry | undefined> {
  const r = metadataOnlyFile(s, p);
  if (r) await openValue(s, r, opts);
  return statFile(s, p);
}

const hasChunkQueries = new WeakMap<Stream, Statement>();

/** Whether this copy holds the chunk, without reading it. */
function hasChunk(s: Stream, hash: Uint8Array): boolean {
  let st = hasChunkQueries.get(s);
  if (!st) hasChunkQueries.set(s, (st = s.db.prepare('SELECT 1 FROM chunks WHERE hash = ?').pluck()));
  return st.get(hash) !== undefined;
}

/** Whether any chunk of the file's bytes start..end (inclusive) is not in this copy. */
export function rangeIsMissing(s: Stream, f: FileEntry, start: number, end: number): boolean {
  if (!f.chunked || end < start) return false;
  const m = manifest(s, f);
  for (let i = Math.floor(start / m.cs); i <= Math.floor(end / m.cs) && i < m.chunks.length; i++) if (!hasChunk(s, m.chunks[i]!)) return true;
  return false;
}

function manifest(s: Stream, f: FileEntry): { chunks: Uint8Array[]; cs: number; size: number } {
  const val = s.get(FILE_TYPE, f.path)?.val;
  if (!val) throw new DrayerError('NOT_FOUND', `Only the metadata of file "${f.path}" is held here.`);
  const { header } = parseFileValue(val);
  return { chunks: header.chunks ?? [], cs: header.chunkSize ?? 1, size: header.size ?? 0 };
}

/**
 * The bytes start..end (inclusive, clamped) of file `p`, fetching its value and any chunk this copy
 * lacks. What is fetched before this answers (the value and the first chunk) is bounded by the
 * deadline, so a caller can still say "no source answered" before sending anything; later chunks
 * come as the reader takes them, one fetched ahead, each within the per-request timeout.
 */
export async function openFileRange(s: Stream, p: string, range: { start?: number; end?: number }, opts: OpenOptions): Promise<Readable> {
  const f = await openFile(s, p, opts);
  if (!f) throw new DrayerError('NOT_FOUND', `There is no file "${p}" in this stream.`);
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? f.size - 1, f.size - 1);
  if (!rangeIsMissing(s, f, start, end)) return openFileStream(s, f.path, { start, end });
  const m = manifest(s, f);
  const deadline = Date.now() + (opts.deadlineMs ?? OPEN_LIMITS.deadlineMs);
  const lenOf = (i: number) => Math.min(m.cs, m.size - i * m.cs);
  const chunk = (i: number, by: number) => openChunk(s, f.path, i, m.chunks[i]!, lenOf(i), opts, by);
  const first = Math.floor(start / m.cs);
  const last = Math.floor(end / m.cs);
  const firstData = await chunk(first, deadline);
  async function* body(): AsyncGenerator<Buffer> {
    let cur: Promise<Buffer> = Promise.resolve(firstData);
    for (let i = first; i <= last; i++) {
      const ahead = i < last ? chunk(i + 1, Date.now() + (opts.timeoutMs ?? OPEN_LIMITS.timeoutMs) * OPEN_LIMITS.maxSources) : undefined;
      ahead?.catch(() => {}); // awaited next round, or dropped if the reader went away
      const data = await cur;
      if (data.length !== lenOf(i))
        throw new DrayerError('CORRUPT', `Chunk ${i} of file "${f!.path}" has the wrong length; the stream file is damaged. Run drayer verify.`);
      const off = i * m.cs;
      const from = Math.max(0, start - off);
      const to = Math.min(data.length, end - off + 1);
      yield from === 0 && to === data.length ? data : data.subarray(from, to);
      if (ahead) cur = ahead;
    }
  }
  return Readable.from(body(), { objectMode: false });
}

/**
 * Fill the values of the records given (posts on a page being read) that this copy holds without
 * them, a few at a time. Answers why each one that could not be fetched was not.
 */
export async function openValues(s: Stream, recs: DrayerRecord[], opts: OpenOptions): Promise<Map<number, string>> {
  const failed = new Map<number, string>();
  const queue = recs.filter((r) => r.val === null);
  const deadline = Date.now() + (opts.deadlineMs ?? OPEN_LIMITS.deadlineMs);
  opts = { ...opts, down: opts.down ?? new Map() };
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      try {
        await openValue(s, r, { ...opts, deadlineMs: Math.max(0, deadline - Date.now()) });
      } catch (e) {
        failed.set(r.id, (e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_LIMITS.concurrency, queue.length) }, worker));
  return failed;
}
