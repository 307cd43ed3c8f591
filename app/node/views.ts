// How the node shows a stream it holds: its summary and details for the API, and the web
// addresses its page is served at (on this computer, and for a phone on the LAN).
import * as os from 'node:os';
import type { StreamDetails, StreamSummary } from './api.js';
import { fingerprint, formatKey, keyLink, streamName } from '../core/keys.js';
import { listFiles, normalizeFilePath } from '../store/files.js';
import { POST_TYPE } from '../store/posts.js';
import type { Stream } from '../store/store.js';
import { lastSyncOf } from './sync-report.js';
import { entryOf, givenSources, servedStream, streamOf, type NodeState } from './state.js';

export function summary(n: NodeState, pk: string): StreamSummary {
  const s = streamOf(n, pk);
  const e = entryOf(n, pk);
  const info = s.info();
  const partial = s.partial;
  return {
    publicKey: pk,
    // a stream without a name record (the original Drayer's) shows by words of its key
    name: streamName(info.name ?? e.name, s.publicKey),
    about: String(info.about ?? ''),
    owned: s.writable,
    file: e.file,
    records: s.count(),
    posts: s.count(POST_TYPE),
    serve: servedStream(n, s.publicKey) !== undefined,
    announce: e.settings.announce !== false,
    partial: { minId: partial.minId ?? 0, minMod: partial.minMod ?? 0, metaOnly: partial.metaOnly ?? false, ...(s.latest ? { latest: s.latest } : {}) },
    sources: givenSources(e, s),
    ...(avatarPath(info.avatar) ? { avatar: avatarPath(info.avatar) } : {}),
  };
}

export function details(n: NodeState, publicKey: string): StreamDetails {
  const s = streamOf(n, publicKey);
  const sum = summary(n, formatKey(s.publicKey));
  const files = listFiles(s);
  return {
    ...sum,
    fingerprint: fingerprint(s.publicKey),
    link: keyLink(s.publicKey),
    webUrls: webUrls(n, s.publicKey),
    localUrl: localWebUrl(n, s.publicKey),
    primaryServers: s.primaryServers(),
    files: files.map((f) => ({ path: f.path, size: f.size, mime: f.mime, time: f.time })),
    bytes: files.reduce((x, f) => x + f.size, 0) + valueBytes(s),
    lastSeq: s.lastSeq(),
    nodeId: s.nodeId,
    path: s.file,
    ...lastSyncOf(n, sum.publicKey, entryOf(n, sum.publicKey).settings),
    incomplete: !s.writable && s.unfinishedSyncs().length > 0,
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
