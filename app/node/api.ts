// DrayerApi: the one door between a UI and the engine. Requests and events are the only two
// verbs; transports (Electron IPC, HTTP+SSE for the headless node's web UI, in-process calls in
// tests) forward `call(method, arg)` and `subscribe(listener)` and know nothing of the methods.
import type { ErrorCode } from '../core/errors.js';
import type { FolderDiff, FolderFile, PortMapStatus, PrimaryServer } from '../core/shapes.js';
export type { FolderDiff, FolderFile, PrimaryServer };

export interface PartialSettings {
  /** keep only the N newest live records (by id; drayer/info is kept beside them); the window moves on as the stream changes */
  latest?: number;
  /** keep records without values; values and chunks are fetched when opened */
  metaOnly?: boolean;
}

export interface StreamSummary {
  publicKey: string;
  name: string;
  about: string;
  owned: boolean;
  /** held without being followed (follow with `hold`): its posts stay out of Home */
  hold?: boolean;
  file: string;
  records: number;
  posts: number;
  /** served to the LAN and to mirrors */
  serve: boolean;
  /** announced by multicast discovery */
  announce: boolean;
  /** "Announce privately": announced only sealed, readable by computers that know the key (left out of plain listings and strangers' Nearby) */
  announcePrivately: boolean;
  /** findable on the internet: announced on the Mainline DHT while the node's DHT is on (Settings.dht) */
  dht: boolean;
  /** "Compatible with the original Drayer": new posts are written in its shape (publicSocialPost); set only when on, and when the file is open */
  compatible?: boolean;
  /** `latest`: N of a copy that keeps the N newest posts and files (0 for any other) */
  partial: { minId: number; minMod: number; metaOnly: boolean; latest?: number };
  /** URLs the user gave to sync this stream from */
  sources: string[];
  /** the stream's avatar: the path of an image among its files (drayer/info `avatar`) */
  avatar?: string;
  /** a private stream (DESIGN §8): `reader` where its read key is here, `sealed` where not (a blind mirror) */
  private?: 'reader' | 'sealed';
  /** this copy is a device of someone's stream (DESIGN §9, joinAsDevice): waiting to be added, added (it posts), or removed */
  device?: 'waiting' | 'listed' | 'removed';
  /** the record ids this copy writes, when the stream has several chains (DESIGN §9): its posts outside them were written on another computer, which alone edits or deletes them */
  ownIds?: { first: number; last: number };
}

/** One device a stream lists (DESIGN §9); times in µs. */
export interface DeviceView {
  key: string;
  name: string;
  added: number;
  /** removed: its records after this time are refused everywhere */
  removed?: number;
  /** this copy is that device */
  thisDevice?: boolean;
}

/** What a new device shows so the owner can add it: its key, as words, and the code (text and QR) that also says where it is. */
export interface PairingCode {
  key: string;
  words: string[];
  code: string;
}

export interface DevicesView {
  devices: DeviceView[];
  /** this copy's own device key, when it is a device of the stream, and whether it is added yet */
  mine?: PairingCode & { state: 'waiting' | 'listed' | 'removed' };
}

export interface JoinedDevice extends PairingCode {
  stream: StreamSummary;
}

export interface StreamDetails extends StreamSummary {
  fingerprint: string;
  /** a link others can follow by */
  link: string;
  /** URLs a phone on the LAN can open (also what the QR code shows) */
  webUrls: string[];
  primaryServers: PrimaryServer[];
  files: { path: string; size: number; mime: string; time: number }[];
  /** what this copy holds, in bytes: every file's content and every other record's value (the size people see) */
  bytes: number;
  lastSeq: number;
  nodeId: string;
  /** the stream's web page on this computer (its site, or the generated page); null when the LAN server is off or does not serve it */
  localUrl?: string | null;
  /** where the stream file is, on the node's machine */
  path: string;
  /** the last pull of this stream (a mirror): when (ms), from where, what it brought, or why it failed */
  lastSync: LastSync | null;
  /** the last pull that worked */
  lastOk: { at: number; peer: string; via?: SourceKind } | null;
  /** a mirror still being synced: a pull stopped before the end (verify says "incomplete") */
  incomplete: boolean;
  /** a private stream's read link (drayer:<key>#r=<read key>), where its read key is here: whoever has it reads the stream */
  readLink?: string;
  /** the read link as 64 words (the stream key's 32, then the read key's), where the read key is here */
  readWords?: string[];
}

/** A file as stored (`putFile`, `uploadFinish`): its normalized path, and whether the content changed. */
export interface StoredFile {
  path: string;
  changed: boolean;
}

/** Part of a file's content, base64 (`readFile`). */
export interface FileBytes {
  path: string;
  mime: string;
  /** the whole file's size */
  size: number;
  offset: number;
  /** base64 of the bytes from offset, at most READ_FILE_MAX of them */
  data: string;
}

export interface LastSync {
  at: number;
  peer: string;
  via?: SourceKind;
  records: number;
  stored: number;
  error?: string;
  /** stopped by the user (cancelSync): what arrived is kept; automatic sync leaves the stream alone until a sync by hand */
  cancelled?: boolean;
}

/** What verifyStream found (the same report as `drayer verify`). */
export interface VerifyReportView {
  /** no problem, and not incomplete */
  intact: boolean;
  records: number;
  metaOnly: number;
  problems: { id: number; what: string }[];
  partial: boolean;
  /** a mirror still being synced: a sync completes it */
  incomplete?: { missing: number; unfinished: string[] };
}

/** A stream's secret key as words, for a paper backup. */
export interface KeyBackup {
  publicKey: string;
  name: string;
  /** 32 words from the PGP word list, in order */
  words: string[];
}

/** What a set of secret-key words stands for, before restoring. */
export interface WordsCheck {
  publicKey: string;
  fingerprint: string;
  /** 'owned': already yours here; 'mirror': followed here, restoring makes it yours; 'new' */
  held: 'owned' | 'mirror' | 'new';
  name: string;
}

export interface PostView {
  key: string;
  id: number;
  ts: number;
  mod: number;
  title: string;
  body: string;
  /**
   * A metadata-only copy could not fetch this post's text from the stream's sources (title and
   * body are empty): what happened and what to do. Absent when the post reads normally.
   */
  unavailable?: string;
  /** µs its content last changed, when it was edited after it was written (a record's mod also moves when a delete beside it re-signs it) */
  edited?: number;
  /** a reply: the post it answers (issue 21; `changed`: that post was edited or deleted since) */
  replyTo?: { streamKey: string; key: string; streamName: string; changed?: boolean };
  /** replies this computer holds to this post */
  replies?: number;
  /** reactions to it, per emoji, in the order of REACTIONS */
  reactions?: ReactionCount[];
  /** a re-share: the post it shares (`post`: that post as held here; when it is a re-share with a comment, what that one shares is named in its `reshare`, without `post`) */
  reshare?: { streamKey: string; key: string; streamName: string; post?: TimelineItem };
  /** the streams its markdown mentions (drayer:<key> links), standard base64, at most 20 */
  mentions?: string[];
}

/** A post in "Mentions & replies": why it is there (it answers, mentions or re-shares something of yours). */
export type TalkNote = TimelineItem & {
  why: 'reply' | 'mention' | 'reshare';
  /** from a stream held here without being followed (hold.ts): shown marked, never notified */
  unfollowed?: true;
};

/** One emoji's reactions to a post: how many, and who (at most 20 named; `count` counts all). */
export interface ReactionCount {
  emoji: string;
  count: number;
  by: { streamKey: string; name: string }[];
}

/** A thread (`thread`): its root (null when this computer does not hold it) and the replies held, nested one level. */
export interface Thread {
  root: TimelineItem | null;
  rootRef: { streamKey: string; key: string };
  /** by time under their top-level reply; `unfollowed`: from a stream held here without being followed (hold.ts), shown only when asked; depth 1: answers a reply (deeper answers are shown at depth 1 too) */
  replies: (TimelineItem & { depth: 0 | 1; unfollowed?: boolean; nearby?: { address: string; port: number } })[];
}

export interface TimelineItem extends PostView {
  streamKey: string;
  streamName: string;
  /** `body` is the post's start (cut between words, outside links): getPost has the whole */
  cut?: boolean;
}

export interface NearbyStream {
  publicKey: string;
  name: string;
  /** held here (followed, or yours) */
  following: boolean;
  /** yours: this computer holds its key (made here, or restored from its words); others carry a copy */
  owned?: boolean;
  /** a private stream, proved by its signed marker (DESIGN §8): followed without its read link, this computer could not read it */
  private?: true;
  /** the computers that announce it, with their node names (Settings.name) when they gave one */
  peers: { address: string; port: number; name?: string }[];
  /** when it last changed (µs), as announced */
  mtip?: number;
}

/** Where a pull's records came from, as the stream page says it: a primary server the author named, an address the user gave, a computer heard on the LAN, or one found on the DHT. */
export type SourceKind = 'primary' | 'given' | 'lan' | 'dht';

export interface SyncReport {
  publicKey: string;
  peer: string;
  via?: SourceKind;
  records: number;
  stored: number;
  removed: number;
  /** records held already (not rejections) */
  duplicates?: number;
  rejected: number;
  /** everything received, file chunks included */
  bytes: number;
  error?: string;
  /** not pulled, and why (the LAN-only sync mode skips sources off the local network); nothing was sent */
  skipped?: string;
  /** stopped by cancelSync part way: what arrived is kept */
  cancelled?: boolean;
}

export interface ImportSummary {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
}

/**
 * normal: sync from every source; paused: no pulls at all (others can still fetch from this
 * computer); lan: pull only from peers on the local network (loopback, private and link-local
 * addresses, *.local names).
 */
export type SyncMode = 'normal' | 'paused' | 'lan';
export const SYNC_MODES: readonly SyncMode[] = ['normal', 'paused', 'lan'];

export interface Settings {
  /** this node's display name on the LAN */
  name: string;
  /** multicast discovery on/off */
  discovery: boolean;
  /** also serve streams we follow (every mirror helps a stream travel) */
  serveFollowed: boolean;
  /** automatic sync interval, seconds */
  syncIntervalS: number;
  /** desktop notifications for new posts in followed streams */
  notifications: boolean;
  /** what sync may fetch: everything, nothing (paused), or only from the local network */
  syncMode: SyncMode;
  /** reach beyond this network: join the Mainline DHT, announce the streams set findable, look up followed ones */
  dht: boolean;
  /** while reaching beyond this network, ask the router to forward this computer's ports (UPnP IGD, NAT-PMP, PCP); off: the router is asked nothing */
  portMapping: boolean;
}

export interface NodeStatus {
  dataDir: string;
  nodeId: string;
  lan: { host: string; port: number } | null;
  discovery: boolean;
  peers: number;
  /** `host:port` other computers can add this one by in Nearby (its LAN addresses and server port) */
  addresses?: string[];
  /** the Mainline DHT, while this node is in it: its UDP port, nodes known, streams announced */
  dht: { port: number; nodes: number; announcing: number } | null;
  /** the router's port forwarding, while in the DHT (null: not in it, turned off, or a loopback-only server) */
  portMapping?: PortMapStatus | null;
}

/** Every request: argument type and result type. */
export interface DrayerRequests {
  status: [void, NodeStatus];
  listStreams: [void, StreamSummary[]];
  /**
   * announcePrivately: set before the stream is first announced, so its key is never on the air;
   * `private`: only holders of its read key read it (DESIGN §8); the read key is kept beside it
   */
  createStream: [{ name: string; about?: string; announcePrivately?: boolean; private?: boolean }, StreamSummary];
  /** a private stream of yours sealed again under a new read key (DESIGN §8): holders of the old read link read nothing new or edited; share the new one */
  rotateReadKey: [
    { publicKey: string },
    {
      readLink: string;
      records: number;
      files: number;
      /** why the other devices' records stay sealed under the old key, when there are any */ devices?: string;
    },
  ];
  streamDetails: [{ publicKey: string }, StreamDetails];
  setStreamInfo: [{ publicKey: string; name?: string; about?: string }, StreamSummary];
  /** `replyTo`: the post this one answers; `reshare`: the post it re-shares, the body its comment (any stream's; this computer must hold it) */
  post: [
    { publicKey: string; title: string; body: string; replyTo?: { streamKey: string; key: string }; reshare?: { streamKey: string; key: string } },
    PostView,
  ];
  /** react to a post as stream `publicKey` (yours), replacing its reaction to it; emoji null takes it back */
  react: [{ publicKey: string; streamKey: string; key: string; emoji: string | null }, ReactionCount[]];
  /** the thread a post belongs to: its root and every reply this computer holds */
  thread: [{ streamKey: string; key: string }, Thread];
  /**
   * replies to the thread of a post that the computers nearby hold in public streams this one does not hold (`nearby`: who
   * answered; `unfollowed` always): each record checked against its stream's key. Asks at most 8 computers, 2 s each, cached 20 s
   */
  nearbyReplies: [{ streamKey: string; key: string }, Thread['replies']];
  /** replies to your posts, mentions of your streams and re-shares of your posts, by other streams, newest first (`before`: µs) */
  talkNotes: [{ limit?: number; before?: number }, TalkNote[]];
  editPost: [{ publicKey: string; key: string; title: string; body: string }, PostView];
  deletePost: [{ publicKey: string; key: string }, boolean];
  listPosts: [{ publicKey: string; limit?: number; offset?: number }, PostView[]];
  /** one post whole (the timeline holds excerpts); null when there is none with that key */
  getPost: [{ publicKey: string; key: string }, PostView | null];
  /** `key`: a public key in any accepted form, or a link */
  /** `hold`: keep and serve a copy without following it (its posts stay out of Home; its replies show behind a button in threads) */
  follow: [{ key: string; url?: string; hold?: boolean } & PartialSettings, StreamSummary];
  unfollow: [{ publicKey: string; deleteData?: boolean }, void];
  syncNow: [{ publicKey?: string }, SyncReport[]];
  /** stop the running pull of a stream, keeping what arrived; it syncs again by hand (syncNow with its key). False: none ran */
  cancelSync: [{ publicKey: string }, boolean];
  addFiles: [{ publicKey: string; paths: string[] }, ImportSummary];
  deleteFile: [{ publicKey: string; path: string }, boolean];
  /** delete several files at once: the listed paths, or every file in a folder; answers the paths deleted */
  deleteFiles: [{ publicKey: string; paths?: string[]; folder?: string }, { removed: string[] }];
  /**
   * A folder update (a site updated from its folder): given each file's path, size and hash (app/core/site.ts),
   * which to send (add, change) and which of the stream's files in `under` the folder no longer has (remove:
   * at its top or in subfolders it still has; folders it does not have at all, and the app's media/, are kept).
   * Writes nothing: send those with putFile/upload*, then deleteFiles the removed ones.
   */
  folderDiff: [{ publicKey: string; under: string; files: FolderFile[] }, FolderDiff];
  /** a file from its bytes (base64, at most 512 KiB decoded); mime is used only when the name's extension says nothing; time in µs */
  putFile: [{ publicKey: string; path: string; data: string; mime?: string; time?: number }, StoredFile];
  /** a bigger file in chunks: begin with its size, send chunks in order (each at most chunkBytes), then finish */
  uploadBegin: [{ publicKey: string; path: string; size: number; mime?: string; time?: number }, { uploadId: string; chunkBytes: number }];
  uploadChunk: [{ uploadId: string; offset: number; data: string }, { received: number }];
  uploadFinish: [{ uploadId: string }, StoredFile];
  uploadCancel: [{ uploadId: string }, boolean];
  /** bytes of a file (at most READ_FILE_MAX per call; ask again from offset for more) */
  readFile: [{ publicKey: string; path: string; offset?: number; length?: number }, FileBytes];
  /** set the stream's avatar from image bytes (PNG, JPEG, GIF or WebP, base64, at most 1 MiB), or remove it (null) */
  setAvatar: [{ publicKey: string; data: string | null }, StreamSummary];
  timeline: [{ limit?: number; before?: { ts: number; streamKey: string; id: number } }, TimelineItem[]];
  search: [{ query: string; limit?: number }, (TimelineItem & { snippet: string })[]];
  nearby: [void, NearbyStream[]];
  /** a computer Nearby does not find by itself (a network that hides computers): `host:port` or a URL; what it serves then shows in Nearby */
  addNearby: [{ address: string }, { address: string; port: number; name: string; streams: number }];
  setPrimaryServers: [{ publicKey: string; servers: PrimaryServer[] }, PrimaryServer[]];
  setStreamSettings: [
    { publicKey: string; serve?: boolean; announce?: boolean; announcePrivately?: boolean; dht?: boolean; sources?: string[]; compatible?: boolean },
    StreamSummary,
  ];
  getSettings: [void, Settings];
  setSettings: [Partial<Settings>, Settings];
  /** the secret key of one of your streams as words (for a paper backup) */
  keyBackup: [{ publicKey: string }, KeyBackup];
  /** which stream a backup's words belong to, and whether it is here already */
  checkWords: [{ words: string }, WordsCheck];
  /** make a stream yours from its backup words: a copy held here gets the key, else it is fetched (from `url`, nearby or its sources) */
  restoreStream: [{ words: string; url?: string }, StreamSummary];
  /**
   * take in a stream file by its path on the node's machine: writable when its key file is beside it, else a mirror.
   * A file of the original Drayer is refused with ORIGINAL_FILE (the offer, said); with importOriginal it is
   * imported into a new file in the data folder (the original only read) and that copy is opened.
   */
  openStreamFile: [{ path: string; importOriginal?: boolean }, StreamSummary];
  /** write a copy without the secret key at `path` (a file, or a folder to put NAME.stream in) */
  exportStream: [{ publicKey: string; path: string }, { path: string; records: number; bytes: number }];
  /** check every signature, value and chain link of a stream */
  verifyStream: [{ publicKey: string }, VerifyReportView];
  /** the devices a stream lists, and this copy's own device key when it is one (DESIGN §9) */
  listDevices: [{ publicKey: string }, DevicesView];
  /** list a device (its pairing code, key or words) in a stream of yours; its posts join the stream, and the addresses in its code become sources */
  addDevice: [{ publicKey: string; device: string; name?: string }, DevicesView];
  /** end a device: its later records are refused everywhere, its earlier ones stay */
  removeDevice: [{ publicKey: string; device: string }, DevicesView];
  /** on a new device: an empty copy of stream `key` with a key pair of its own, fetched now; answers the code to add it by */
  joinAsDevice: [{ key: string; url?: string; name?: string }, JoinedDevice];
}

export interface DrayerEvents {
  recordsChanged: { publicKey: string; stored: number; removed: number; local: boolean };
  /** records (and, for big files, chunks) done so far, with totals where the peer told them */
  syncProgress: {
    publicKey: string;
    peer: string;
    /** what kind of source the peer is (see SourceKind) */
    via?: SourceKind;
    records: number;
    bytes: number;
    recordsTotal?: number;
    chunks?: number;
    chunksTotal?: number;
    done: boolean;
    error?: string;
    /** bytes done and in all (record values and file chunks; see PullProgress.size): what a bar follows */
    size?: number;
    sizeTotal?: number;
    /** done: stopped by cancelSync, what arrived is kept */
    cancelled?: boolean;
    /** not done: the peer answered "busy" and is asked again later ("… is busy; asking again in 20 s") */
    waiting?: string;
  };
  peerFound: { nodeId: string; address: string; port: number; name: string; streams: string[] };
  /** a node left the LAN (it said goodbye, or went silent): its streams leave Nearby */
  peerLost: { nodeId: string; address: string; port: number; name: string };
  streamsChanged: Record<string, never>;
  /** the node's settings changed (from any window, the tray or the CLI's API): the new ones */
  settingsChanged: Settings;
}

export type Method = keyof DrayerRequests;
export type Arg<M extends Method> = DrayerRequests[M][0];
export type Ret<M extends Method> = DrayerRequests[M][1];
export type EventName = keyof DrayerEvents;
export type DrayerEvent = { [E in EventName]: { event: E; data: DrayerEvents[E] } }[EventName];

/** Errors cross every transport as data, never as thrown stack traces. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode | 'INTERNAL' | 'UNKNOWN_METHOD'; message: string } };

/** What every transport exposes; the renderer codes against this only. */
export interface DrayerApi {
  call<M extends Method>(method: M, arg: Arg<M>): Promise<Ret<M>>;
  subscribe(listener: (e: DrayerEvent) => void): () => void;
}

export const METHODS: readonly Method[] = [
  'status',
  'listStreams',
  'createStream',
  'streamDetails',
  'setStreamInfo',
  'post',
  'editPost',
  'deletePost',
  'listPosts',
  'getPost',
  'react',
  'thread',
  'nearbyReplies',
  'talkNotes',
  'follow',
  'unfollow',
  'syncNow',
  'cancelSync',
  'addFiles',
  'deleteFile',
  'deleteFiles',
  'folderDiff',
  'timeline',
  'search',
  'nearby',
  'addNearby',
  'setPrimaryServers',
  'setStreamSettings',
  'getSettings',
  'setSettings',
  'putFile',
  'uploadBegin',
  'uploadChunk',
  'uploadFinish',
  'uploadCancel',
  'readFile',
  'setAvatar',
  'keyBackup',
  'checkWords',
  'restoreStream',
  'openStreamFile',
  'exportStream',
  'verifyStream',
  'rotateReadKey',
  'listDevices',
  'addDevice',
  'removeDevice',
  'joinAsDevice',
];

/** Bytes `readFile` returns at most per call. */
export const READ_FILE_MAX = 2 * 1024 * 1024;
/** Decoded bytes `putFile` and one `uploadChunk` carry at most. */
export const PUT_FILE_MAX = 512 * 1024;
/** Longest sync interval: a week (setTimeout overflows past 2^31 ms, ~24.8 days, into a 1 ms loop). */
export const SYNC_INTERVAL_MAX_S = 7 * 24 * 3600;
export const SYNC_INTERVAL_MIN_S = 5;
/** Decoded bytes of an avatar image at most. */
export const AVATAR_MAX = 1024 * 1024;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Client side of any transport: turn an envelope back into a value or an ApiError. */
export function unwrap<T>(env: Envelope<T>): T {
  if (env.ok) return env.value;
  throw new ApiError(env.error.code, env.error.message);
}
