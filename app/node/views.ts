// How the node shows a stream it holds: its summary and details for the API, and the web
// addresses its page is served at (on this computer, and for a phone on the LAN).
import { livePosts, privacyOf, privateLook } from './private-streams.js';
import * as os from 'node:os';
import type { Statement } from 'better-sqlite3';
import type { Settings, StreamDetails, StreamSummary } from './api.js';
import { fingerprint, formatKey, keyLink, parseKey, streamName } from '../core/keys.js';
import type { StreamEntry } from './library-schema.js';
import { normalizeFilePath } from '../store/files.js';
import { filesOf } from './stream-files.js';
import type { PartialFilter } from '../store/chains.js';
import type { Stream, StreamInfo } from '../store/store.js';
import { isCompatible } from '../store/posts.js';
import { lastSyncOf } from './sync-report.js';
import { deviceState, ownIds } from './device-state.js';
import { entryOf, servedStream, settingsOf, streamOf, type NodeState } from './state.js';

interface FilePart {
  seq: number;
  changes: number;
  info: StreamInfo;
  records: number;
  posts: number;
  partial: PartialFilter;
  latest: number;
  sources: string[];
  /** a private stream's access here, and its opened name and about where the read key is here */
  look: ReturnType<typeof privateLook>;
}

/**
 * What summary() reads of a stream file, kept while its last seq and its connection's count of
 * changed rows stay (every change of records moves the first, of its settings the second): the UI
 * asks for every stream's summary after each change, and reading 500 files (counts, then six
 * settings each) kept a node busy for a third of a second after every post.
 */
const fromFile = new WeakMap<Stream, FilePart>();
const changesOf = new WeakMap<object, Statement>();

/** Read it again next time: what the stream's file says has not changed, but how it reads has (a read key put beside it). */
export function forgetSummary(s: Stream): void {
  fromFile.delete(s);
}

/** Read a stream's counts and settings now (openWaiting does, a slice at a time), not in the next stream list. */
export function warmSummary(s: Stream): void {
  filePart(s);
}

function filePart(s: Stream): FilePart {
  const seq = s.lastSeq();
  let st = changesOf.get(s.db);
  if (!st) changesOf.set(s.db, (st = s.db.prepare('SELECT total_changes()').pluck()));
  const changes = st.get() as number;
  const known = fromFile.get(s);
  if (known && known.seq === seq && known.changes === changes) return known;
  const part = {
    seq,
    changes,
    info: s.info(),
    records: s.count(),
    posts: livePosts(s).count,
    partial: s.partial,
    latest: s.latest,
    sources: s.recordedSources(),
    look: privateLook(s),
  };
  fromFile.set(s, part);
  return part;
}

/** A held, open stream as the UI lists it; `e` and `settings` when the caller has them (a whole list). */
export function summary(n: NodeState, pk: string, e = entryOf(n, pk), settings?: Settings): StreamSummary {
  const s = streamOf(n, pk);
  const { info: stored, records, posts, partial, latest, sources, look } = filePart(s);
  // a private stream's own drayer/info is sealed: its reader's opened one names it here
  const info: StreamInfo = look?.private === 'reader' ? { ...stored, name: look.name, about: look.about, avatar: look.avatar } : stored;
  const serveFollowed = (settings ?? settingsOf(n)).serveFollowed;
  const device = deviceState(s);
  const ids = ownIds(s);
  return {
    publicKey: pk,
    // a stream without a name record (the original Drayer's) shows by words of its key
    name: streamName(info.name ?? e.name, s.publicKey),
    about: String(info.about ?? ''),
    owned: s.writable,
    ...(!s.writable && e.settings.hold === true ? { hold: true } : {}),
    file: e.file,
    records,
    posts,
    // as servedStream decides
    serve: e.settings.serve !== false && (e.owned || serveFollowed || e.settings.serve === true),
    announce: e.settings.announce !== false,
    announcePrivately: e.settings.announcePrivately === true,
    dht: e.settings.dht === true,
    ...(isCompatible(s) ? { compatible: true } : {}),
    partial: { minId: partial.minId ?? 0, minMod: partial.minMod ?? 0, metaOnly: partial.metaOnly ?? false, ...(latest ? { latest } : {}) },
    sources: Array.isArray(e.settings.sources) ? e.settings.sources.filter((x): x is string => typeof x === 'string') : sources,
    ...(avatarPath(info.avatar) ? { avatar: avatarPath(info.avatar) } : {}),
    ...(look ? { private: look.private } : {}),
    ...(device ? { device } : {}),
    ...(ids ? { ownIds: ids } : {}),
  };
}

/**
 * A stream not opened yet (just after start), from what the library knows: its name, about,
 * avatar, owner, settings and indexed posts. What only the file knows (a partial copy's range,
 * the sources it records) is left empty until it is open and the UI hears streamsChanged.
 */
export function entrySummary(n: NodeState, e: StreamEntry, settings?: Settings): StreamSummary {
  const key = parseKey(e.publicKey);
  const posts = n.library.postCount(e.publicKey);
  const serve = e.settings.serve !== false && (e.owned || (settings ?? settingsOf(n)).serveFollowed || e.settings.serve === true);
  return {
    publicKey: e.publicKey,
    name: streamName(e.name, key),
    about: e.about ?? '',
    owned: e.owned,
    file: e.file,
    records: posts,
    posts,
    serve,
    announce: e.settings.announce !== false,
    announcePrivately: e.settings.announcePrivately === true,
    dht: e.settings.dht === true,
    partial: { minId: 0, minMod: 0, metaOnly: false },
    sources: Array.isArray(e.settings.sources) ? e.settings.sources.filter((x): x is string => typeof x === 'string') : [],
    ...(avatarPath(e.avatar) ? { avatar: avatarPath(e.avatar) } : {}),
  };
}

export function details(n: NodeState, publicKey: string): StreamDetails {
  const s = streamOf(n, publicKey);
  const sum = summary(n, formatKey(s.publicKey));
  const files = filesOf(s).list(); // a private stream's as its reader lists them; none where sealed
  return {
    ...sum,
    fingerprint: fingerprint(s.publicKey),
    link: keyLink(s.publicKey),
    webUrls: webUrls(n, s.publicKey),
    localUrl: localWebUrl(n, s.publicKey),
    primaryServers: s.primaryServers(),
    files,
    bytes: files.reduce((x, f) => x + f.size, 0) + valueBytes(s),
    lastSeq: s.lastSeq(),
    nodeId: s.nodeId,
    path: s.file,
    ...lastSyncOf(n, sum.publicKey, entryOf(n, sum.publicKey).settings),
    incomplete: !s.writable && s.unfinishedSyncs().length > 0,
    ...privacyOf(s),
  } satisfies StreamDetails;
}

/** The stream's page on this computer, through the LAN server (null when it does not serve it). */
export function localWebUrl(n: NodeState, pk: Uint8Array): string | null {
  if (!n.lan || !servedStream(n, pk)) return null;
  const h = n.lan.host === '0.0.0.0' || n.lan.host === '::' || n.lan.host === '' ? '127.0.0.1' : n.lan.host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${n.lan.port}/${Buffer.from(pk).toString('base64url')}/`;
}

/** URLs a phone on the LAN can open for a stream. */
export function webUrls(n: NodeState, pk: Uint8Array): string[] {
  const lan = n.lan;
  if (!lan) return [];
  const hosts: string[] = [];
  if (lan.host === '0.0.0.0' || lan.host === '::') {
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) hosts.push(a.address);
    }
    if (hosts.length === 0) hosts.push('127.0.0.1');
  } else hosts.push(lan.host);
  return hosts.map((h) => `http://${h}:${lan.port}/${Buffer.from(pk).toString('base64url')}/`);
}

/** `avatar` of drayer/info when it names a possible file path (it is the author's word, not checked further). */
export function avatarPath(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  try {
    return normalizeFilePath(v);
  } catch {
    return undefined;
  }
}

/** Bytes of every live value but files' (theirs count by content size, chunks included): posts, the profile. */
function valueBytes(s: Stream): number {
  return Number(s.db.prepare(`SELECT coalesce(sum(length(val)), 0) FROM records WHERE type != 'file'`).pluck().get()) || 0;
}
