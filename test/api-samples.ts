// A well-formed argument for every DrayerApi method, for tests of the transports' argument checks.
import type { Method } from '../app/node/api.js';

export const PK = 'A'.repeat(43);

/** A well-formed argument for each method (the engine may still say no to what it means). */
// Partial: a method added without a schema yet has no sample either (the bounded fallback checks it).
export const SAMPLES: Partial<Record<Method, unknown>> = {
  status: {},
  listStreams: {},
  createStream: { name: 'n', about: 'a' },
  streamDetails: { publicKey: PK },
  setStreamInfo: { publicKey: PK, name: 'n', about: 'a' },
  post: { publicKey: PK, title: 't', body: 'b' },
  editPost: { publicKey: PK, key: 'k', title: 't', body: 'b' },
  deletePost: { publicKey: PK, key: 'k' },
  listPosts: { publicKey: PK, limit: 10, offset: 0 },
  getPost: { publicKey: PK, key: 'k' },
  follow: { key: PK, url: 'http://127.0.0.1:1', latest: 5, metaOnly: true },
  unfollow: { publicKey: PK, deleteData: true },
  syncNow: { publicKey: PK },
  cancelSync: { publicKey: PK },
  addFiles: { publicKey: PK, paths: ['/tmp/x'] },
  deleteFile: { publicKey: PK, path: 'a.txt' },
  deleteFiles: { publicKey: PK, paths: ['a.txt'], folder: 'site' },
  folderDiff: { publicKey: PK, under: '', files: [{ path: 'index.html', size: 10, hash: 'ab'.repeat(32) }] },
  putFile: { publicKey: PK, path: 'a.txt', data: 'aGk=', mime: 'text/plain', time: 1 },
  uploadBegin: { publicKey: PK, path: 'a.bin', size: 10, mime: 'x/y', time: 1 },
  uploadChunk: { uploadId: 'u', offset: 0, data: 'aGk=' },
  uploadFinish: { uploadId: 'u' },
  uploadCancel: { uploadId: 'u' },
  readFile: { publicKey: PK, path: 'a.txt', offset: 0, length: 10 },
  setAvatar: { publicKey: PK, data: 'aGk=' },
  timeline: { limit: 10, before: { ts: 1, streamKey: PK, id: 1 } },
  search: { query: 'q', limit: 10 },
  nearby: {},
  addNearby: { address: '192.168.1.20:4657' },
  setPrimaryServers: { publicKey: PK, servers: [{ type: 'http', url: 'http://x' }] },
  setStreamSettings: { publicKey: PK, serve: true, announce: true, announcePrivately: true, dht: true, sources: ['http://x'] },
  getSettings: {},
  setSettings: { name: 'n', discovery: true, serveFollowed: true, syncIntervalS: 60, notifications: false, syncMode: 'lan', dht: false, portMapping: true },
  keyBackup: { publicKey: PK },
  checkWords: { words: 'w' },
  restoreStream: { words: 'w', url: 'http://x' },
  openStreamFile: { path: '/tmp/x.stream' },
  exportStream: { publicKey: PK, path: '/tmp' },
  verifyStream: { publicKey: PK },
  rotateReadKey: { publicKey: PK },
};
