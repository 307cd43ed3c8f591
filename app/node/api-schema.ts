// The shape of every DrayerApi argument, checked where a call crosses into the engine from
// outside the process (the web UI's HTTP, Electron's IPC): types, sizes, ranges and no unknown
// fields, so a bad argument is refused with the field and what is allowed, before anything runs.
// What an argument means (does the stream exist, is the name blank) stays with the engine.
// The schemas are checked against DrayerRequests at compile time (see `Mismatch` below).
import { z } from 'zod';
import type { Arg, Method } from './api.js';
import { AVATAR_MAX, PUT_FILE_MAX, SYNC_INTERVAL_MAX_S, SYNC_INTERVAL_MIN_S } from './api.js';
import { LIMITS as POST_LIMITS } from '../store/posts.js';

export { SYNC_INTERVAL_MAX_S, SYNC_INTERVAL_MIN_S };

const base64Chars = (bytes: number) => Math.ceil(bytes / 3) * 4;

// Keys come in many forms (base64, hex, PGP words, links), so bounded generously.
const publicKey = z.string().max(1024);
const keyOrLink = z.string().max(4096);
const url = z.string().max(2048);
/** a path among a stream's files (record keys are at most 4096 bytes) */
const filePath = z.string().max(4096);
/** a path on the node's machine */
const localPath = z.string().max(4096);
const postKey = z.string().max(4096);
const mime = z.string().max(255);
/** µs since the epoch */
const time = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const limit = (max: number) => z.number().int().min(0).max(max);
const streamName = z.string().max(300);
const about = z.string().max(5000);
const uploadId = z.string().max(256);
const words = z.string().max(4096);

/** Methods that take nothing: the web UI sends {}, IPC undefined; the engine gets undefined. */
const none = z.union([z.undefined(), z.null(), z.strictObject({})]).transform((): void => undefined);

export const API_SCHEMAS = {
  status: none,
  listStreams: none,
  createStream: z.strictObject({ name: streamName, about: about.optional(), announcePrivately: z.boolean().optional(), private: z.boolean().optional() }),
  streamDetails: z.strictObject({ publicKey }),
  rotateReadKey: z.strictObject({ publicKey }),
  setStreamInfo: z.strictObject({ publicKey, name: streamName.optional(), about: about.optional() }),
  post: z.strictObject({
    publicKey,
    title: z.string().max(POST_LIMITS.titleChars),
    body: z.string().max(POST_LIMITS.bodyBytes),
    replyTo: z.strictObject({ streamKey: publicKey, key: postKey }).optional(),
    reshare: z.strictObject({ streamKey: publicKey, key: postKey }).optional(),
  }),
  react: z.strictObject({ publicKey, streamKey: publicKey, key: postKey, emoji: z.string().max(32).nullable() }),
  thread: z.strictObject({ streamKey: publicKey, key: postKey }),
  nearbyReplies: z.strictObject({ streamKey: publicKey, key: postKey }),
  talkNotes: z.strictObject({ limit: z.number().int().min(1).max(200).optional(), before: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }),
  editPost: z.strictObject({ publicKey, key: postKey, title: z.string().max(POST_LIMITS.titleChars), body: z.string().max(POST_LIMITS.bodyBytes) }),
  deletePost: z.strictObject({ publicKey, key: postKey }),
  listPosts: z.strictObject({ publicKey, limit: limit(100_000).optional(), offset: count.optional() }),
  getPost: z.strictObject({ publicKey, key: postKey }),
  follow: z.strictObject({ key: keyOrLink, url: url.optional(), latest: count.optional(), metaOnly: z.boolean().optional(), hold: z.boolean().optional() }),
  unfollow: z.strictObject({ publicKey, deleteData: z.boolean().optional() }),
  syncNow: z.strictObject({ publicKey: publicKey.optional() }),
  cancelSync: z.strictObject({ publicKey }),
  addFiles: z.strictObject({ publicKey, paths: z.array(localPath).max(10_000) }),
  deleteFile: z.strictObject({ publicKey, path: filePath }),
  deleteFiles: z.strictObject({ publicKey, paths: z.array(filePath).max(10_000).optional(), folder: filePath.optional() }),
  folderDiff: z.strictObject({
    publicKey,
    under: filePath,
    // a hash is the hex of a digest (app/core/site.ts); 10,000 files is the folder update's own bound
    files: z.array(z.strictObject({ path: filePath, size: count, hash: z.string().max(128) })).max(10_000),
  }),
  putFile: z.strictObject({ publicKey, path: filePath, data: z.string().max(base64Chars(PUT_FILE_MAX) + 4), mime: mime.optional(), time: time.optional() }),
  uploadBegin: z.strictObject({ publicKey, path: filePath, size: count, mime: mime.optional(), time: time.optional() }),
  uploadChunk: z.strictObject({ uploadId, offset: count, data: z.string().max(base64Chars(PUT_FILE_MAX) + 4) }),
  uploadFinish: z.strictObject({ uploadId }),
  uploadCancel: z.strictObject({ uploadId }),
  readFile: z.strictObject({ publicKey, path: filePath, offset: count.optional(), length: count.optional() }),
  setAvatar: z.strictObject({
    publicKey,
    data: z
      .string()
      .max(base64Chars(AVATAR_MAX) + 4)
      .nullable(),
  }),
  timeline: z.strictObject({
    limit: limit(1000).optional(),
    before: z.strictObject({ ts: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), streamKey: publicKey, id: count }).optional(),
  }),
  search: z.strictObject({ query: z.string().max(1000), limit: limit(1000).optional() }),
  nearby: none,
  addNearby: z.strictObject({ address: z.string().max(300) }),
  setPrimaryServers: z.strictObject({ publicKey, servers: z.array(z.strictObject({ type: z.literal('http'), url })).max(64) }),
  setStreamSettings: z.strictObject({
    publicKey,
    serve: z.boolean().optional(),
    announce: z.boolean().optional(),
    announcePrivately: z.boolean().optional(),
    dht: z.boolean().optional(),
    sources: z.array(url).max(64).optional(),
    compatible: z.boolean().optional(),
  }),
  getSettings: none,
  setSettings: z.strictObject({
    name: z.string().max(200).optional(),
    discovery: z.boolean().optional(),
    serveFollowed: z.boolean().optional(),
    syncIntervalS: z.number().min(SYNC_INTERVAL_MIN_S).max(SYNC_INTERVAL_MAX_S).optional(),
    notifications: z.boolean().optional(),
    syncMode: z.enum(['normal', 'paused', 'lan']).optional(),
    dht: z.boolean().optional(),
    portMapping: z.boolean().optional(),
  }),
  keyBackup: z.strictObject({ publicKey }),
  checkWords: z.strictObject({ words }),
  restoreStream: z.strictObject({ words, url: url.optional() }),
  openStreamFile: z.strictObject({ path: localPath, importOriginal: z.boolean().optional() }),
  exportStream: z.strictObject({ publicKey, path: localPath }),
  verifyStream: z.strictObject({ publicKey }),
  listDevices: z.strictObject({ publicKey }),
  addDevice: z.strictObject({ publicKey, device: keyOrLink, name: z.string().max(200).optional() }),
  removeDevice: z.strictObject({ publicKey, device: keyOrLink }),
  joinAsDevice: z.strictObject({ key: keyOrLink, url: url.optional(), name: z.string().max(200).optional() }),
} satisfies Partial<Record<Method, z.ZodType>>;

// Compile-time: each schema takes exactly the fields DrayerRequests names, of the same types
// (a field added to a method's argument without its schema fails the build here).
type Schemas = typeof API_SCHEMAS;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<M extends Method & keyof Schemas> = [Arg<M>] extends [void]
  ? [z.output<Schemas[M]>] extends [void]
    ? true
    : false
  : [
        Same<keyof Arg<M>, keyof z.input<Schemas[M]>>,
        [Arg<M>] extends [z.input<Schemas[M]>] ? true : false,
        [z.output<Schemas[M]>] extends [Arg<M>] ? true : false,
      ] extends [true, true, true]
    ? true
    : false;
type Mismatch = { [M in Method & keyof Schemas]: Fits<M> extends true ? never : M }[Method & keyof Schemas];
const schemasMatchTheApi: [Mismatch] extends [never] ? true : { schemaDisagreesWithDrayerRequests: Mismatch } = true as const;
void schemasMatchTheApi;

/** For a method without a schema yet: plain JSON data, bounded in depth, count and size. */
const FALLBACK = { depth: 8, nodes: 10_000, stringChars: 2 * 1024 * 1024 } as const;

export type Checked = { ok: true; value: unknown } | { ok: false; error: { code: 'INVALID_ARGUMENT'; message: string } };

/**
 * Check a call's argument before the engine sees it: the parsed value (void methods get
 * undefined), or an INVALID_ARGUMENT error naming the field and what it may be. Unknown methods
 * pass through (the engine answers UNKNOWN_METHOD).
 */
export function checkArg(method: string, arg: unknown): Checked {
  const schema = Object.hasOwn(API_SCHEMAS, method) ? (API_SCHEMAS as Record<string, z.ZodType>)[method] : undefined;
  if (!schema) {
    const problem = fallbackProblem(arg);
    return problem ? refuse(method, problem) : { ok: true, value: arg };
  }
  const r = schema.safeParse(arg);
  if (r.success) return { ok: true, value: r.data };
  return refuse(
    method,
    r.error.issues
      .slice(0, 3)
      .map((i) => describeIssue(i, schema, arg))
      .join('; '),
  );
}

function refuse(method: string, what: string): Checked {
  return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `${method} was refused: ${what}. Nothing was changed.` } };
}

function describeIssue(i: z.core.$ZodIssue, schema: z.ZodType, arg: unknown): string {
  const at = i.path.length ? i.path.map(String).join('.') : '';
  const field = at ? `"${at}"` : 'the argument';
  switch (i.code) {
    case 'unrecognized_keys':
      return `${at ? `${field} has` : 'it has'} no field${i.keys.length === 1 ? '' : 's'} ${i.keys
        .slice(0, 5)
        .map((k) => `"${k.slice(0, 40)}"`)
        .join(', ')} (allowed: ${allowedKeys(schema, i.path).join(', ') || 'none'})`;
    case 'too_big':
      return `${field} is too ${i.origin === 'string' ? 'long' : i.origin === 'array' ? 'long' : 'big'} (at most ${fmt(i.maximum)}${i.origin === 'string' ? ' characters' : i.origin === 'array' ? ' items' : ''})`;
    case 'too_small':
      return `${field} is too ${i.origin === 'string' || i.origin === 'array' ? 'short' : 'small'} (at least ${fmt(i.minimum)}${i.origin === 'string' ? ' characters' : i.origin === 'array' ? ' items' : ''})`;
    case 'invalid_type': {
      const v = valueAt(arg, i.path);
      return v === undefined && at ? `${field} is missing (${expected(i.expected)})` : `${field} must be ${expected(i.expected)}, not ${kind(v)}`;
    }
    case 'invalid_value':
      return `${field} must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return i.path.length === 0 && i.errors.length === 3 ? 'it takes no argument' : `${field} has the wrong shape`;
    default:
      return `${field}: ${i.message}`;
  }
}

/** The field names the object schema at `path` allows, for the message. */
function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  const bare = (t: unknown): unknown => {
    let x = t;
    while (x instanceof z.ZodOptional || x instanceof z.ZodNullable) x = x.unwrap();
    return x;
  };
  let s = bare(schema);
  for (const p of path) {
    if (s instanceof z.ZodObject) s = bare(s.shape[String(p)]);
    else if (s instanceof z.ZodArray) s = bare(s.element);
    else return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function fmt(n: number | bigint): string {
  return typeof n === 'number' ? n.toLocaleString('en-GB') : String(n);
}

function expected(t: string): string {
  const words: Record<string, string> = {
    int: 'a whole number',
    string: 'text',
    number: 'a number',
    boolean: 'true or false',
    object: 'an object',
    array: 'a list',
    undefined: 'left out',
    null: 'null',
  };
  return words[t] ?? t;
}

function valueAt(v: unknown, path: PropertyKey[]): unknown {
  let x = v;
  for (const p of path) x = x !== null && typeof x === 'object' ? (x as Record<PropertyKey, unknown>)[p] : undefined;
  return x;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v === undefined) return 'missing';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'a number that is not finite';
  return typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'text' : typeof v;
}

function fallbackProblem(arg: unknown): string | null {
  let nodes = 0;
  const walk = (v: unknown, depth: number): string | null => {
    if (++nodes > FALLBACK.nodes) return `it holds more than ${fmt(FALLBACK.nodes)} values`;
    if (depth > FALLBACK.depth) return `it is nested deeper than ${FALLBACK.depth} levels`;
    if (typeof v === 'string') return v.length > FALLBACK.stringChars ? `a text in it is longer than ${fmt(FALLBACK.stringChars)} characters` : null;
    if (v === null || v === undefined || typeof v === 'boolean') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : 'a number in it is not finite';
    if (typeof v !== 'object') return `it holds ${kind(v)}, which is not JSON data`;
    for (const x of Array.isArray(v) ? v : Object.values(v as object)) {
      const p = walk(x, depth + 1);
      if (p) return p;
    }
    return null;
  };
  return walk(arg, 0);
}
