// What a pull fetches besides changes pages: a value a metadata-only copy lacks, the chunks of big
// files, a peer's tips, and the window a "latest N" copy keeps.
import { blake2b256, bytesEqual } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import { MSGPACK_LIMITS } from '../core/msgpack.js';
import { peerId } from '../core/peer.js';
import type { DrayerRecord } from '../core/record.js';
import { chunkMismatch, ChunkStore } from '../store/chunk-writer.js';
import { ChunkConnection } from './chunk-fetch.js';
import { FILE_TYPE, hasChunk, listFiles, missingChunks, parseFileValue, sealedChunkLists } from '../store/files.js';
import type { Stream } from '../store/store.js';
import { BUSY_LIMITS, fetchBounded, httpGetBody, HttpStatusError, Patience, urlSafeKey, type FetchOptions } from './sync-fetch.js';
import { decodeAnswer, MAX_NODE_ID, SYNC_LIMITS, type PullOptions, type PullResult } from './sync-pages.js';

/**
 * Before a "latest N" mirror pulls: if records were deleted inside its window, older ones belong
 * to it now, and only a peer can say which (ids of deleted records leave holes). The peer's
 * /tips?latest=N names where its N newest live records start; the window reaches down to there
 * (Stream.lowerWindow, which restarts every cursor so the pull brings those records), and after
 * the pull keepLatest trims it to N again. Peers behind this copy (lower tips), peers that cannot
 * tell and older peers that do not answer `start` change nothing: the window stays as it is. A
 * failing /tips is left to the pull itself to report.
 */
export async function openWindow(stream: Stream, peer: string, opts: PullOptions): Promise<void> {
  const latest = stream.latest;
  if (!latest || (stream.partial.minId ?? 0) <= 1) return;
  let tips: Awaited<ReturnType<typeof remoteTips>>;
  try {
    tips = await remoteTips(peer, stream.publicKey, {
      latest,
      timeoutMs: Math.min(opts.timeoutMs ?? SYNC_LIMITS.timeoutMs, WINDOW_TIPS_TIMEOUT_MS),
      signal: opts.signal,
      lanOnly: opts.lanOnly,
    });
  } catch {
    return;
  }
  const to = lowerWindowTo(stream, tips);
  if (to !== undefined) stream.lowerWindow(to);
}

/** Where a "latest N" copy's window must reach down to, given a peer's tips; undefined: it stays. */
export function lowerWindowTo(stream: Stream, tips: { id: number; mod: number; start?: number }): number | undefined {
  const minId = stream.partial.minId ?? 0;
  if (!stream.latest || minId <= 1 || stream.partial.minMod) return undefined;
  if (tips.start === undefined || tips.start >= minId) return undefined;
  // A peer that lacks records this copy holds has an older window: it would pull old records in.
  if (tips.id < stream.idTip() || tips.mod < stream.mtip()) return undefined;
  return Math.max(1, tips.start);
}

/** A slow /tips delays the pull by at most this much (it is one small answer). */
const WINDOW_TIPS_TIMEOUT_MS = 10_000;

/** Move a "latest N" mirror's window on (Stream.keepLatest), and report what left it. */
export function leaveWindow(stream: Stream, result: PullResult): void {
  const ids = stream.keepLatest();
  result.removed += ids.length;
  if (ids.length) result.leftWindow = ids;
}

/** Fetch and verify the value of one record held without it (metadata-only mirrors). */
export async function fetchValue(
  stream: Stream,
  baseUrl: string,
  id: number,
  opts: { timeoutMs?: number } & Pick<FetchOptions, 'signal' | 'lanOnly' | 'localAddress' | 'busy'> = {},
): Promise<Uint8Array> {
  const rec = stream.getById(id);
  if (!rec) throw new DrayerError('NOT_FOUND', `Record ${id} is not in this stream.`);
  if (rec.val) return rec.val;
  const url = `${peerId(baseUrl)}/${urlSafeKey(stream.publicKey)}/value/${id}`;
  const val = await fetchBounded(url, {
    maxBytes: 16 * 1024 * 1024,
    timeoutMs: opts.timeoutMs ?? SYNC_LIMITS.timeoutMs,
    signal: opts.signal,
    lanOnly: opts.lanOnly,
    localAddress: opts.localAddress,
    busy: opts.busy,
  });
  if (!bytesEqual(blake2b256(val), rec.hash))
    throw new DrayerError('INVALID_RECORD', `${baseUrl} sent a value for record ${id} that does not match its signed hash; it was discarded.`);
  stream.fillValue(id, val);
  return val;
}

/** Bytes of big files named by these records' manifests (an estimate of the chunks still to come). */
export function manifestBytes(recs: DrayerRecord[]): number {
  let n = 0;
  for (const r of recs) {
    // `sealed`: a private stream's big file keeps the file layout in clear around its sealed part
    if ((r.type !== FILE_TYPE && r.type !== 'sealed') || !r.val) continue;
    try {
      const { header } = parseFileValue(r.val);
      if (header.enc === 'chunks') n += header.size ?? 0;
    } catch {
      // a malformed manifest adds nothing; reading the file says what is wrong with it
    }
  }
  return n;
}

/** Each chunk's size in a big file (by hash, hex), from its manifest: all chunkSize but the last. */
function chunkSizes(stream: Stream, p: string): Map<string, number> {
  const out = new Map<string, number>();
  const val = stream.get(FILE_TYPE, p)?.val;
  if (!val) return out;
  try {
    const { header } = parseFileValue(val);
    const cs = header.chunkSize ?? 0;
    (header.chunks ?? []).forEach((h, i) => out.set(Buffer.from(h).toString('hex'), Math.min(cs, (header.size ?? 0) - i * cs)));
  } catch {
    // no sizes: the progress total counts this file as it arrives
  }
  return out;
}

/** After records arrive, fetch chunks of big files that are not here yet (verified, resumable). */
/** A chunk answer longer than this is refused (Drayer writes 1 MiB chunks; the value limit is far above). */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/** One chunk through the general client into `buf` (grown, and told to `grown`, if the chunk is bigger); its length. */
async function getChunk(url: string, buf: ArrayBuffer, opts: FetchOptions, grown: (b: ArrayBuffer) => void): Promise<number> {
  let len = 0;
  await httpGetBody(url, opts, (part) => {
    if (len + part.byteLength > buf.byteLength) {
      const bigger = new ArrayBuffer(Math.max(2 * buf.byteLength, len + part.byteLength));
      new Uint8Array(bigger).set(new Uint8Array(buf, 0, len));
      buf = bigger;
      grown(buf);
    }
    new Uint8Array(buf, len).set(part);
    len += part.byteLength;
  });
  return len;
}

export async function fetchMissingChunks(
  stream: Stream,
  peer: string,
  opts: PullOptions & { paths?: string[]; onChunks?: (done: number, total: number, bytes: number, totalBytes: number) => void; busy?: Patience } = {},
): Promise<number> {
  const busy = opts.busy ?? new Patience(opts.busyWaitMs ?? BUSY_LIMITS.pullWaitMs);
  const paths =
    opts.paths ??
    listFiles(stream)
      .filter((f) => f.chunked)
      .map((f) => f.path);
  const timeoutMs = opts.timeoutMs ?? SYNC_LIMITS.timeoutMs;
  const queue: Uint8Array[] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  for (const p of paths) {
    const sizes = chunkSizes(stream, p);
    for (const h of missingChunks(stream, p)) {
      const k = Buffer.from(h).toString('hex');
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(h);
        totalBytes += sizes.get(k) ?? 0;
      }
    }
  }
  // A private stream's big files: their chunk lists are in clear, so a blind mirror fetches them too.
  if (!opts.paths) {
    for (const header of sealedChunkLists(stream)) {
      const cs = header.chunkSize ?? 0;
      (header.chunks ?? []).forEach((h, i) => {
        const k = Buffer.from(h).toString('hex');
        if (seen.has(k)) return;
        seen.add(k);
        if (hasChunk(stream, h)) return;
        queue.push(h);
        totalBytes += Math.min(cs, (header.size ?? 0) - i * cs);
      });
    }
  }
  if (queue.length === 0) return 0;
  const total = queue.length;
  opts.onChunks?.(0, total, 0, totalBytes); // the whole is known before the first chunk arrives
  let fetched = 0;
  let bytes = 0;
  // Each chunk is hashed here as it arrives; a worker thread stores the verified ones (in
  // transactions of a few MiB) while this thread keeps receiving.
  const store = ChunkStore.forStream(stream, { verify: false, fetching: true });
  const base = `${peerId(peer)}/${urlSafeKey(stream.publicKey)}/chunk/`;
  const get = { maxBytes: MAX_CHUNK_BYTES, timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly, localAddress: opts.localAddress };
  const worker = async () => {
    // Each worker its own kept-alive connection, its reads landing in the chunk's buffer (chunk-fetch.ts).
    const conn = await ChunkConnection.to(peerId(peer), get);
    const path = new URL(base).pathname;
    try {
      for (let h = queue.shift(); h; h = queue.shift()) {
        const hex = Buffer.from(h).toString('hex');
        let buf = store.take();
        let len: number;
        let hash: Uint8Array;
        const got = conn ? await conn.get(path + hex, buf) : 'fallback';
        if (got !== 'fallback') ({ buf, len, hash } = got);
        else {
          // Not the plain case (or no fast connection): the general client, which retries, waits and explains.
          len = await getChunk(base + hex, buf, { ...get, busy }, (b) => (buf = b));
          hash = blake2b256(new Uint8Array(buf, 0, len));
        }
        // Only the chunk its signed manifest names is stored; a wrong one costs the others nothing.
        if (!bytesEqual(hash, h)) throw store.refuse(chunkMismatch(h));
        await store.put(buf, len, h);
        fetched++;
        bytes += len;
        opts.onChunks?.(fetched, total, bytes, Math.max(totalBytes, bytes));
      }
    } catch (e) {
      queue.length = 0; // the first failure ends the fetch: the other workers take no new chunk
      throw e;
    } finally {
      conn?.close();
    }
  };
  try {
    const workers = await Promise.allSettled(Array.from({ length: Math.min(SYNC_LIMITS.chunkConcurrency, queue.length) }, worker));
    await store.close(); // what arrived is kept, even when a fetch failed
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (store.bad) throw store.bad;
    if (failed) throw failed.reason;
  } finally {
    await store.terminate();
  }
  return store.stored;
}

/**
 * The peer's tips for a stream (GET /<pk>/tips): what a "latest N" follow needs to pick its range.
 * With `latest`, a peer that can tell also answers `start`: the id of its N-th newest live record
 * (0: it has fewer). Older peers ignore the question and answer without it.
 */
export async function remoteTips(
  baseUrl: string,
  pk: Uint8Array,
  opts: { timeoutMs?: number; latest?: number; signal?: AbortSignal; lanOnly?: boolean } = {},
): Promise<{ node: string; id: number; mod: number; seq: number; start?: number }> {
  const url = `${peerId(baseUrl)}/${urlSafeKey(pk)}/tips${opts.latest ? `?latest=${opts.latest}` : ''}`;
  let buf: Uint8Array;
  try {
    buf = await fetchBounded(url, { maxBytes: 4096, timeoutMs: opts.timeoutMs ?? SYNC_LIMITS.timeoutMs, signal: opts.signal, lanOnly: opts.lanOnly });
  } catch (e) {
    if (e instanceof HttpStatusError) throw new DrayerError('NOT_FOUND', `${peerId(baseUrl)} does not serve this stream (HTTP ${e.status}).`, { cause: e });
    throw e;
  }
  const m = decodeAnswer(buf, url, MSGPACK_LIMITS.tips) as Record<string, unknown> | null;
  if (!m || typeof m !== 'object') throw new DrayerError('IO', `${url} sent malformed tips.`);
  const node = m.node instanceof Uint8Array ? Buffer.from(m.node).toString('utf8') : m.node;
  if (typeof node !== 'string' || node.length > MAX_NODE_ID || !Number.isSafeInteger(m.id) || !Number.isSafeInteger(m.mod) || !Number.isSafeInteger(m.seq)) {
    throw new DrayerError('IO', `${url} sent malformed tips.`);
  }
  const id = m.id as number;
  // A start is an id the peer holds (or 0), so never above its ID tip; anything else is ignored.
  const start = opts.latest && Number.isSafeInteger(m.start) && (m.start as number) >= 0 && (m.start as number) <= id ? (m.start as number) : undefined;
  return { node, id, mod: m.mod as number, seq: m.seq as number, ...(start !== undefined ? { start } : {}) };
}

/**
 * Where a new "latest N" copy of a stream starts (its minId): where the peer says its N newest
 * live records start, or, from a peer that does not say, the ID tip less N (ids of deleted
 * records then count too; the first sync from a peer that tells corrects it).
 */
export async function latestWindowStart(baseUrl: string, pk: Uint8Array, latest: number): Promise<number> {
  let tips: Awaited<ReturnType<typeof remoteTips>>;
  try {
    tips = await remoteTips(baseUrl, pk, { latest });
  } catch (e) {
    // An original Drayer node has no /tips (its 500 error page, without the Drayer-Sync header):
    // the copy takes what it offers, all of it, and keeps the newest N (keepLatest) once it is in.
    const c = (e as Error).cause;
    if (c instanceof HttpStatusError && !c.drayer && (c.status === 500 || c.status === 404)) return 1;
    throw e;
  }
  return Math.max(1, tips.start ?? tips.id - latest + 1);
}
