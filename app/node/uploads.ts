// Files sent to the node as bytes (a browser has no paths to give): small ones in one request,
// big ones in bounded chunks written in order to a temporary file in the data directory, then
// added like any file from disk. Every request is bounded (bytes per call, sessions at once,
// idle time); the transport stays thin because each chunk is just another DrayerApi call.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PUT_FILE_MAX } from './api.js';
import { randomBytes } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';
import { mimeForPath, newFilePath } from '../store/files.js';

/** Decoded bytes one call may carry (its base64 stays well under the web UI's 1 MiB body bound). */
export const UPLOAD_CHUNK_BYTES = PUT_FILE_MAX;
/** Upload sessions open at once; the oldest idle one is dropped to make room. */
export const MAX_UPLOADS = 16;
/** A session nobody wrote to for this long is dropped with its temporary file. */
export const UPLOAD_IDLE_MS = 10 * 60_000;
/** The largest file one upload may announce. */
export const MAX_UPLOAD_BYTES = 64 * 1024 ** 3;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 of at most `max` decoded bytes (what a browser's FileReader or btoa gives). */
export function decodeBase64(data: unknown, max: number, what = 'The data'): Buffer {
  if (typeof data !== 'string') throw new DrayerError('INVALID_ARGUMENT', `${what} must be base64 text.`);
  const tooBig = () =>
    new DrayerError(
      'INVALID_ARGUMENT',
      `${what} may be at most ${Math.round(max / 1024)} KiB per request; send bigger files in chunks (uploadBegin, uploadChunk, uploadFinish).`,
    );
  if (data.length > Math.ceil(max / 3) * 4) throw tooBig();
  if (data.length % 4 !== 0 || !BASE64.test(data)) throw new DrayerError('INVALID_ARGUMENT', `${what} is not valid base64.`);
  const b = Buffer.from(data, 'base64');
  if (b.length > max) throw tooBig();
  return b;
}

/**
 * The content type a browser reports is kept only when the name says nothing and it looks like a
 * type; a file's extension decides otherwise (it is what the LAN server would guess anyway).
 */
export function uploadMime(key: string, given: unknown): string {
  const byName = mimeForPath(key);
  if (byName !== 'application/octet-stream') return byName;
  return typeof given === 'string' && /^[a-z0-9][\w.+-]*\/[\w.+-]+$/i.test(given) && given.length <= 100 ? given.toLowerCase() : byName;
}

/** A time in µs given by the caller (a file's lastModified), or now. */
export function uploadTime(us: unknown): number {
  return typeof us === 'number' && Number.isSafeInteger(us) && us > 0 ? us : Date.now() * 1000;
}

export interface UploadSession {
  id: string;
  publicKey: string;
  path: string;
  size: number;
  mime: string;
  time: number;
  received: number;
  file: string;
  fh: fsp.FileHandle;
  touched: number;
  /** a chunk is being written: calls on one session run one at a time */
  busy: boolean;
}

export class Uploads {
  private readonly sessions = new Map<string, UploadSession>();
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, '.uploads');
    // What a previous run left behind (a crash mid-upload) is of no use now.
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async begin(a: { publicKey: string; path: string; size: number; mime?: string; time?: number }): Promise<UploadSession> {
    const key = newFilePath(a.path); // refused before any byte is sent
    if (!Number.isSafeInteger(a.size) || a.size < 0 || a.size > MAX_UPLOAD_BYTES) {
      throw new DrayerError('INVALID_ARGUMENT', `An upload declares its size in bytes, at most ${MAX_UPLOAD_BYTES / 1024 ** 3} GiB.`);
    }
    await this.expire();
    if (this.sessions.size >= MAX_UPLOADS) {
      const oldest = [...this.sessions.values()].filter((s) => !s.busy).sort((x, y) => x.touched - y.touched)[0];
      if (!oldest) throw new DrayerError('IO', 'Too many uploads are running at once; wait for one to finish and try again.');
      await this.drop(oldest.id);
    }
    await fsp.mkdir(this.dir, { recursive: true });
    const id = Buffer.from(randomBytes(16)).toString('hex');
    const file = path.join(this.dir, id);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'wx', 0o600);
    } catch (e) {
      throw ioError(e);
    }
    const s: UploadSession = {
      id,
      publicKey: a.publicKey,
      path: key,
      size: a.size,
      mime: uploadMime(key, a.mime),
      time: uploadTime(a.time),
      received: 0,
      file,
      fh,
      touched: Date.now(),
      busy: false,
    };
    this.sessions.set(id, s);
    return s;
  }

  private get(id: unknown): UploadSession {
    const s = typeof id === 'string' ? this.sessions.get(id) : undefined;
    if (!s) throw new DrayerError('NOT_FOUND', 'This upload is not running any more (it finished, was cancelled, or sat idle too long); start it again.');
    if (s.busy) throw new DrayerError('INVALID_ARGUMENT', "Send an upload's chunks one after the other, each after the previous one was answered.");
    return s;
  }

  /** Append the next chunk; `offset` must be what was received so far (chunks in order, a resent one refused). */
  async chunk(id: unknown, offset: unknown, data: unknown): Promise<{ received: number }> {
    const s = this.get(id);
    if (offset !== s.received) throw new DrayerError('INVALID_ARGUMENT', `This upload expects the chunk at byte ${s.received}, not ${String(offset)}.`);
    const bytes = decodeBase64(data, UPLOAD_CHUNK_BYTES, 'A chunk');
    if (s.received + bytes.length > s.size)
      throw new DrayerError('INVALID_ARGUMENT', `The chunks add up to more than the ${s.size} bytes this upload announced.`);
    s.busy = true;
    try {
      await s.fh.write(bytes, 0, bytes.length, s.received);
      s.received += bytes.length;
      s.touched = Date.now();
    } catch (e) {
      await this.drop(s.id);
      throw ioError(e);
    } finally {
      s.busy = false;
    }
    return { received: s.received };
  }

  /** Hand the complete temporary file to `add`, then remove it whatever happens. */
  async finish<T>(id: unknown, add: (s: UploadSession) => Promise<T>): Promise<T> {
    const s = this.get(id);
    if (s.received !== s.size)
      throw new DrayerError('INVALID_ARGUMENT', `This upload has ${s.received} of its ${s.size} bytes; send the rest before finishing it.`);
    s.busy = true;
    try {
      await s.fh.close();
      const t = s.time / 1e6;
      await fsp.utimes(s.file, t, t).catch(() => {});
      return await add(s);
    } finally {
      this.sessions.delete(s.id);
      await fsp.rm(s.file, { force: true }).catch(() => {});
    }
  }

  async cancel(id: unknown): Promise<boolean> {
    if (typeof id !== 'string' || !this.sessions.has(id)) return false;
    await this.drop(id);
    return true;
  }

  async close(): Promise<void> {
    for (const id of [...this.sessions.keys()]) await this.drop(id);
    await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) if (!s.busy && now - s.touched > UPLOAD_IDLE_MS) await this.drop(s.id);
  }

  private async drop(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    await s.fh.close().catch(() => {});
    await fsp.rm(s.file, { force: true }).catch(() => {});
  }

  /** Open sessions (tests). */
  get size(): number {
    return this.sessions.size;
  }
}

function ioError(e: unknown): DrayerError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOSPC') return new DrayerError('IO', 'The disk is full: free some space, then add the file again.', { cause: e });
  return new DrayerError('IO', `The file could not be received: ${(e as Error).message}.`, { cause: e });
}
