// The DrayerApi methods: one entry per request of api.ts, each checking its argument and doing
// the work with the node's parts (follow.ts, holdings.ts, reading.ts, scheduler.ts, views.ts ...).
import { openView } from '../store/private-view.js';
import { privacyOf, readerOf, requireReadKey } from './private-streams.js';
import { createPrivate, privateInfo, privatePost } from './private-writes.js';
import { rotateAccess } from './private-rotate.js';
import { addDevice, joinAsDevice, listDevices, removeDevice } from './devices.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encode } from '@msgpack/msgpack';
import type { DrayerRequests, Method, Settings, SyncReport, VerifyReportView } from './api.js';
import { AVATAR_MAX, PUT_FILE_MAX, READ_FILE_MAX, SYNC_INTERVAL_MAX_S, SYNC_INTERVAL_MIN_S, SYNC_MODES } from './api.js';
import { peerId } from '../core/peer.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { fingerprint, formatKey } from '../core/keys.js';
import { parseSecret, secretWords } from '../core/keybackup.js';
import { cleanName } from '../core/text.js';
import {
  COMPATIBLE_META,
  editPost,
  encodeOriginalPost,
  encodePost,
  findPost,
  isCompatible,
  newPostKey,
  ORIGINAL_POST_TYPE,
  originalPostKey,
  POST_TYPE,
  postView,
  type Post,
} from '../store/posts.js';
import type { Stream } from '../store/store.js';
import type { DrayerRecord } from '../core/record.js';
import { exportStream } from '../store/export.js';
import { verifyStreamParallel } from '../store/verifier.js';
import { addPaths, deleteFiles, folderDiff, normalizeFilePath } from '../store/files.js';
import { deleteSealedFiles, filesOf } from './stream-files.js';
import { decodeBase64, uploadMime, uploadTime, UPLOAD_CHUNK_BYTES } from './uploads.js';
import { afterChange, afterWrite, storeFile } from './changes.js';
import { requireOwnChain } from './device-state.js';
import { emit } from './events.js';
import { createStream, follow, restore, unfollow } from './follow.js';
import { openStreamFile } from './holdings.js';
import { announceToDht, setPortMapping, startDht, stopDht } from './dht-presence.js';
import { privateLanOf } from './presence-private.js';
import { nearbyStreams, startDiscovery, stopDiscovery } from './presence.js';
import { addNearby, ownAddresses } from './presence-mdns.js';
import { named, streamPost, streamPosts, timeline } from './reading.js';
import { cancelSync, syncStream } from './scheduler.js';
import { around, postReply, react, thread } from './talk.js';
import { nearbyReplies } from './nearby-replies.js';
import { postReshare, talkNotes } from './talk-links.js';
import { heldBack } from './sync-report.js';
import { DEFAULT_SETTINGS, entryOf, expandHome, pausedError, settingsOf, streamOf, syncModeOf, writableOf, type NodeState } from './state.js';
import { avatarPath, details, entrySummary, summary } from './views.js';

/** Original-shape keys being written now (posts share commits): two posts with one title at once get two keys. */
const writing = new WeakMap<Stream, Set<string>>();

async function putOriginalPost(s: Stream, p: Post): Promise<DrayerRecord> {
  let keys = writing.get(s);
  if (!keys) writing.set(s, (keys = new Set()));
  const key = originalPostKey(s, p, undefined, keys);
  keys.add(key);
  try {
    return await s.putDurable(ORIGINAL_POST_TYPE, key, encodeOriginalPost(p));
  } finally {
    keys.delete(key);
  }
}

/** "Compatible with the original Drayer": kept in the stream file (so `drayer post` honours it too); only where posts are written here, in clear. */
function setCompatible(n: NodeState, pk: string, on: boolean): void {
  const s = writableOf(n, pk);
  if (on && privacyOf(s).private)
    throw new DrayerError(
      'INVALID_ARGUMENT',
      'A private stream cannot be compatible with the original Drayer: its posts are sealed, and the original reads only clear ones.',
    );
  s.setMeta(COMPATIBLE_META, on ? 1 : null);
}

export type Handlers = { [M in Method]: (a: DrayerRequests[M][0]) => DrayerRequests[M][1] | Promise<DrayerRequests[M][1]> };

/** The image type by its first bytes (the name or a browser's word is not trusted for an avatar). */
export function imageKind(b: Uint8Array): { mime: string; ext: string } | null {
  const at = (i: number, ...xs: number[]) => xs.every((x, j) => b[i + j] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { mime: 'image/png', ext: 'png' };
  if (at(0, 0xff, 0xd8, 0xff)) return { mime: 'image/jpeg', ext: 'jpg' };
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return { mime: 'image/gif', ext: 'gif' };
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return { mime: 'image/webp', ext: 'webp' };
  return null;
}

export function apiMethods(n: NodeState): Handlers {
  return {
    status: () => ({
      dataDir: n.dataDir,
      nodeId: Buffer.from(n.nodeId).toString('hex'),
      lan: n.lan,
      discovery: n.discovery !== null,
      peers: n.discovery?.peers().length ?? 0,
      addresses: ownAddresses(n),
      dht: n.dht ? { port: n.dht.node.port, nodes: n.dht.node.nodeCount, announcing: n.dht.node.announcing().length } : null,
      portMapping: n.dht?.portMap?.status() ?? null,
    }),
    listStreams: () => {
      const settings = settingsOf(n);
      return (
        n.library
          .listStreams()
          .filter((e) => n.streams.has(e.publicKey))
          // one not opened yet (just after start) is described from the library; streamsChanged follows once all are open
          .map((e) => (n.streams.isOpen(e.publicKey) ? summary(n, e.publicKey, e, settings) : entrySummary(n, e, settings)))
      );
    },
    createStream: ({ name, about, announcePrivately, private: sealed }) =>
      sealed ? createPrivate(n, name, about, announcePrivately) : createStream(n, name, about, announcePrivately),
    streamDetails: ({ publicKey }) => details(n, publicKey),
    rotateReadKey: ({ publicKey }) => rotateAccess(n, streamOf(n, publicKey)),
    setStreamInfo: ({ publicKey, name, about }) => {
      const s = streamOf(n, publicKey);
      const reader = readerOf(s);
      if (reader) return privateInfo(n, s, reader, { name, about });
      const info = { ...s.info(), ...(name !== undefined ? { name } : {}), ...(about !== undefined ? { about } : {}) };
      const r = s.put('drayer', 'info', encode(info));
      afterChange(n, s, { stored: [r], removed: [] }, true);
      if (name) n.library.updateStream(formatKey(s.publicKey), { name });
      return summary(n, formatKey(s.publicKey));
    },
    // Group commit: posts arriving together share a transaction; each answer waits for the disk.
    post: async ({ publicKey, title, body, replyTo, reshare }) => {
      if (replyTo) return postReply(n, publicKey, title, body, replyTo);
      if (reshare) return postReshare(n, publicKey, title, body, reshare);
      const s = streamOf(n, publicKey);
      const reader = readerOf(s); // a private stream's post is sealed (private-writes.ts)
      if (reader) return privatePost(n, s, reader, title, body);
      requireReadKey(s);
      const r = isCompatible(s) ? await putOriginalPost(s, { title, body }) : await s.putDurable(POST_TYPE, newPostKey(), encodePost({ title, body }));
      if (s.db.open) afterChange(n, s, { stored: [r], removed: [] }, true); // closed meanwhile (unfollowed): nothing to tell
      return postView(r);
    },
    editPost: ({ publicKey, key, title, body }) => {
      const s = streamOf(n, publicKey);
      requireReadKey(s);
      const rs = readerOf(s) ?? s;
      const old = findPost(rs, key);
      if (old) requireOwnChain(s, old.id);
      const before = s.lastSeq();
      const p = editPost(rs, key, { title, body });
      afterChange(n, s, { stored: s.changesSince(before).records, removed: [] }, true);
      return around(n, [{ ...p, streamKey: formatKey(s.publicKey) }]).map(({ streamKey: _pk, ...q }) => q)[0]!;
    },
    deletePost: ({ publicKey, key }) => {
      const s = streamOf(n, publicKey);
      const rs = readerOf(s) ?? s;
      const old = findPost(rs, key);
      if (old) requireOwnChain(s, old.id);
      const before = s.lastSeq();
      const ok = old ? rs.delete(old.type, key) : false;
      if (ok) afterChange(n, s, { stored: s.changesSince(before).records, removed: old ? [old.id] : [] }, true);
      return ok;
    },
    // posts are shown with what they answer, their replies and reactions (talk.ts)
    listPosts: async ({ publicKey, limit, offset }) => {
      const pk = formatKey(streamOf(n, publicKey).publicKey);
      return around(
        n,
        (await streamPosts(n, publicKey, limit, offset)).map((p) => ({ ...p, streamKey: pk })),
      ).map(({ streamKey: _pk, ...p }) => p);
    },
    getPost: async ({ publicKey, key }) => {
      const p = await streamPost(n, publicKey, key);
      const pk = formatKey(streamOf(n, publicKey).publicKey);
      return p && around(n, [{ ...p, streamKey: pk }]).map(({ streamKey: _pk, ...q }) => q)[0]!;
    },
    react: (a) => react(n, a),
    thread: ({ streamKey, key }) => thread(n, streamKey, key),
    nearbyReplies: ({ streamKey, key }) => nearbyReplies(n, streamKey, key),
    talkNotes: ({ limit, before }) => around(n, talkNotes(n, limit, before)),
    follow: (a) => follow(n, a),
    unfollow: ({ publicKey, deleteData }) => unfollow(n, publicKey, deleteData),
    syncNow: async ({ publicKey }) => {
      if (syncModeOf(n) === 'paused') throw pausedError('nothing was synced');
      // One stream by hand resumes it when the user had stopped it; "all" leaves stopped ones stopped.
      const keys = publicKey ? [formatKey(streamOf(n, publicKey).publicKey)] : [...n.streams.keys()].filter((pk) => !heldBack(n, pk));
      const out: SyncReport[] = [];
      for (const pk of keys) out.push(...(await syncStream(n, pk, undefined, true)));
      return out;
    },
    cancelSync: ({ publicKey }) => cancelSync(n, formatKey(streamOf(n, publicKey).publicKey)),
    addFiles: async ({ publicKey, paths }) => {
      const s = streamOf(n, publicKey);
      const before = s.lastSeq();
      const v = readerOf(s); // a private stream's files are sealed, big ones chunk by chunk
      const r = v ? await (await import('../store/private-files.js')).addPrivatePaths(v, paths) : await addPaths(s, paths);
      afterWrite(n, s, before);
      return r;
    },
    deleteFile: async ({ publicKey, path: p }) => {
      const s = streamOf(n, publicKey);
      const before = s.lastSeq();
      const ok = filesOf(s).remove(p);
      if (ok) afterChange(n, s, { stored: s.changesSince(before, { metaOnly: true }).records, removed: [] }, true);
      return ok;
    },
    deleteFiles: ({ publicKey, paths, folder }) => {
      const s = writableOf(n, publicKey);
      const before = s.lastSeq();
      const removed = readerOf(s) ? deleteSealedFiles(filesOf(s), { paths, folder }) : deleteFiles(s, { paths, folder });
      if (removed.length > 0) afterWrite(n, s, before);
      return { removed };
    },
    folderDiff: ({ publicKey, under, files }) => {
      const s = writableOf(n, publicKey);
      return folderDiff(s, typeof under === 'string' ? under : '', files, filesOf(s));
    },
    putFile: ({ publicKey, path: p, data, mime, time }) => {
      const s = writableOf(n, publicKey);
      const key = normalizeFilePath(p);
      const bytes = decodeBase64(data, PUT_FILE_MAX, 'A file sent in one request');
      return storeFile(n, s, () => filesOf(s).add(key, { data: bytes }, { mime: uploadMime(key, mime), time: uploadTime(time) }));
    },
    uploadBegin: async ({ publicKey, path: p, size, mime, time }) => {
      const s = writableOf(n, publicKey);
      const u = await n.uploads.begin({ publicKey: formatKey(s.publicKey), path: p, size, mime, time });
      return { uploadId: u.id, chunkBytes: UPLOAD_CHUNK_BYTES };
    },
    uploadChunk: ({ uploadId, offset, data }) => n.uploads.chunk(uploadId, offset, data),
    uploadFinish: ({ uploadId }) =>
      n.uploads.finish(uploadId, (u) => {
        const s = writableOf(n, u.publicKey);
        return storeFile(n, s, () => filesOf(s).add(u.path, { abs: u.file }, { mime: u.mime }));
      }),
    uploadCancel: ({ uploadId }) => n.uploads.cancel(uploadId),
    readFile: async ({ publicKey, path: p, offset, length }) => {
      const files = filesOf(streamOf(n, publicKey));
      const key = normalizeFilePath(p);
      const f = await files.stat(key);
      if (!f) throw new DrayerError('NOT_FOUND', `There is no file "${key}" in this stream (or only its metadata is on this computer).`);
      const from = offset ?? 0;
      if (!Number.isSafeInteger(from) || from < 0 || from > f.size)
        throw new DrayerError('INVALID_ARGUMENT', `The offset must be from 0 to ${f.size}, the size of "${key}".`);
      if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new DrayerError('INVALID_ARGUMENT', 'The length is a number of bytes.');
      const len = Math.min(length ?? READ_FILE_MAX, READ_FILE_MAX, f.size - from);
      const parts: Buffer[] = [];
      if (len > 0) {
        try {
          for await (const part of await files.open(key, { start: from, end: from + len - 1 })) parts.push(part as Buffer);
        } catch (e) {
          if (isDrayerError(e, 'NOT_FOUND'))
            throw new DrayerError('NOT_FOUND', `Part of "${key}" is not on this computer yet; it arrives when the stream syncs.`);
          throw e;
        }
      }
      return { path: key, mime: f.mime, size: f.size, offset: from, data: Buffer.concat(parts).toString('base64') };
    },
    setAvatar: async ({ publicKey, data }) => {
      const s = writableOf(n, publicKey);
      const pk = formatKey(s.publicKey);
      const files = filesOf(s); // a private stream's avatar is sealed like its other files, and named in its sealed drayer/info
      const info = files.info();
      const old = avatarPath(info.avatar);
      const before = s.lastSeq();
      let next: string | undefined;
      if (data !== null && data !== undefined) {
        const bytes = decodeBase64(data, AVATAR_MAX, 'The avatar image');
        const kind = imageKind(bytes);
        if (!kind) throw new DrayerError('INVALID_ARGUMENT', 'The avatar must be a PNG, JPEG, GIF or WebP image.');
        next = `media/avatar-${Date.now().toString(36)}.${kind.ext}`;
        await files.add(next, { data: bytes }, { mime: kind.mime });
      }
      const { avatar: _old, ...rest } = info as Record<string, unknown>;
      files.putInfo(next ? { ...rest, avatar: next } : rest);
      if (old && old !== next && old.startsWith('media/avatar-')) files.remove(old);
      afterWrite(n, s, before);
      return summary(n, pk);
    },
    timeline: async ({ limit, before }) => around(n, await timeline(n, limit, before)),
    search: ({ query, limit }) => named(n.library.search(query, { limit }), n),
    nearby: () => nearbyStreams(n),
    addNearby: ({ address }) => addNearby(n, address),
    setPrimaryServers: ({ publicKey, servers }) => {
      const s = streamOf(n, publicKey);
      // the store checks and writes the list, so the CLI's `drayer servers` writes the same
      const { record, servers: clean } = s.setPrimaryServers((servers ?? []).map((x) => x.url));
      afterChange(n, s, { stored: [record], removed: [] }, true);
      return clean;
    },
    setStreamSettings: ({ publicKey, serve, announce, announcePrivately, dht, sources, compatible }) => {
      const pk = formatKey(streamOf(n, publicKey).publicKey);
      if (compatible !== undefined) setCompatible(n, pk, compatible);
      const e = entryOf(n, pk);
      const settings = { ...e.settings };
      if (serve !== undefined) settings.serve = serve;
      if (announce !== undefined) settings.announce = announce;
      if (announcePrivately !== undefined) settings.announcePrivately = announcePrivately;
      if (dht !== undefined) settings.dht = dht;
      if (sources !== undefined) settings.sources = sources.map(peerId);
      n.library.updateStream(pk, { settings });
      n.discovery?.announceNow();
      privateLanOf(n)?.listSoon();
      announceToDht(n);
      return summary(n, pk);
    },
    getSettings: () => settingsOf(n),
    setSettings: async (patch) => {
      const next = { ...settingsOf(n), ...Object.fromEntries(Object.entries(patch ?? {}).filter(([k]) => Object.hasOwn(DEFAULT_SETTINGS, k))) } as Settings;
      if (
        typeof next.name !== 'string' ||
        typeof next.discovery !== 'boolean' ||
        typeof next.serveFollowed !== 'boolean' ||
        typeof next.notifications !== 'boolean' ||
        typeof next.dht !== 'boolean' ||
        typeof next.portMapping !== 'boolean'
      ) {
        throw new DrayerError('INVALID_ARGUMENT', 'Settings: name is text; discovery, serveFollowed, notifications, dht and portMapping are true or false.');
      }
      if (!Number.isFinite(next.syncIntervalS) || next.syncIntervalS < SYNC_INTERVAL_MIN_S || next.syncIntervalS > SYNC_INTERVAL_MAX_S) {
        throw new DrayerError(
          'INVALID_ARGUMENT',
          `The sync interval is from ${SYNC_INTERVAL_MIN_S} seconds to ${SYNC_INTERVAL_MAX_S / 86400} days (${SYNC_INTERVAL_MAX_S} seconds).`,
        );
      }
      if (!SYNC_MODES.includes(next.syncMode)) throw new DrayerError('INVALID_ARGUMENT', `The sync mode is one of ${SYNC_MODES.join(', ')}.`);
      const before = settingsOf(n);
      n.library.setSetting('settings', next);
      if (!next.discovery && n.discovery) {
        await stopDiscovery(n);
      } else if (next.discovery && !n.discovery && n.lan && n.opts.discovery !== false) {
        await startDiscovery(n);
      } else if (patch.name !== undefined) {
        n.discovery?.announceNow(); // Nearby on other computers shows the new name now
      }
      if (next.dht !== before.dht) {
        if (next.dht) {
          try {
            await startDht(n);
          } catch (e) {
            n.library.setSetting('settings', { ...next, dht: false }); // not on, so not saved as on
            throw e;
          }
        } else if (!n.opts.dht || n.opts.dht.whenSet) await stopDht(n); // `serve --dht` keeps it for its run
      }
      if (next.portMapping !== before.portMapping) await setPortMapping(n);
      if (next.syncMode !== before.syncMode) n.log(`Sync mode: ${next.syncMode}.`);
      emit(n, 'settingsChanged', next);
      return next;
    },
    keyBackup: async ({ publicKey }) => {
      const s = streamOf(n, publicKey);
      const kp = s.keyPairForBackup();
      if (!kp)
        throw new DrayerError(
          'NOT_WRITABLE',
          "This stream is a copy of someone else's: its secret key is not on this computer, so there is nothing to back up here.",
        );
      // a private stream's backup is 64 words: its read key follows the secret key (private-view.ts)
      const view = await openView(s);
      return { publicKey: formatKey(s.publicKey), name: cleanName(view.info().name), words: secretWords(kp, view.readKey?.bytes) };
    },
    checkWords: ({ words }) => {
      const kp = parseSecret(words);
      const pk = formatKey(kp.publicKey);
      const s = n.streams.get(pk);
      return {
        publicKey: pk,
        fingerprint: fingerprint(kp.publicKey),
        held: s ? (s.writable ? 'owned' : 'mirror') : 'new',
        name: s ? cleanName(s.info().name) : '',
      };
    },
    restoreStream: ({ words, url }) => restore(n, words, url),
    openStreamFile: ({ path: p, importOriginal }) => openStreamFile(n, p, importOriginal === true),
    exportStream: ({ publicKey, path: p }) => {
      const s = streamOf(n, publicKey);
      if (typeof p !== 'string' || !p.trim()) throw new DrayerError('INVALID_ARGUMENT', 'Say where to write the copy: a file name, or a folder.');
      let out = path.resolve(expandHome(p.trim()));
      if (fs.statSync(out, { throwIfNoEntry: false })?.isDirectory()) out = path.join(out, path.basename(s.file));
      const r = exportStream(s, out);
      return { path: out, ...r };
    },
    listDevices: ({ publicKey }) => listDevices(n, publicKey),
    addDevice: (a) => addDevice(n, a),
    removeDevice: (a) => removeDevice(n, a),
    joinAsDevice: (a) => joinAsDevice(n, a),
    verifyStream: async ({ publicKey }) => {
      const s = streamOf(n, publicKey);
      let report: VerifyReportView;
      try {
        report = n.pool ? await verifyStreamParallel(s, n.pool) : s.verify();
      } catch (e) {
        // Damage below the records (SQLite pages) is a verify result, not a crash.
        const code = String((e as { code?: unknown }).code ?? '');
        if (!code.startsWith('SQLITE_')) throw e;
        report = {
          intact: false,
          records: 0,
          metaOnly: 0,
          partial: false,
          problems: [{ id: 0, what: `the stream file itself is damaged (${(e as Error).message})` }],
        };
      }
      return report;
    },
  };
}
