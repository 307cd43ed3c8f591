// Replies from streams seen nearby but not held (issue 21). This node's LAN server answers, for a
// post, the signed replies to it in the public streams it shares (servedReplies, GET /replies);
// a thread opened here asks the computers nearby the same (nearbyReplies): a few at once, each
// within a time and a size, the answers cached briefly, and only records that verify kept
// (net/replies-wire.ts). They join the thread's "N more replies from people you don't follow",
// marked as seen nearby, never mixed in with those of the streams you follow.
import type { Statement } from 'better-sqlite3';
import type { Thread } from './api.js';
import { bytesEqual } from '../core/crypto.js';
import { formatKey, parseKey, streamName } from '../core/keys.js';
import type { DrayerRecord } from '../core/record.js';
import { askReplies, MAX_NEARBY_REPLIES, type FoundReply } from '../net/replies-wire.js';
import { POST_TYPE, postView } from '../store/posts.js';
import { isPrivate } from '../store/private-view.js';
import type { PostRef } from '../store/talk.js';
import { decodeLinks } from '../store/talk.js';
import { rootOf } from './talk.js';
import { servedStream, type NodeState } from './state.js';

/** Computers asked at once for a thread's replies. */
export const ASK_PEERS = 8;
/** How long each may take to answer. */
export const ASK_MS = 2000;
/** How long answers for a thread are reused (opening it again, going back and forth). */
const CACHE_MS = 20_000;
const CACHE_MAX = 64;

type NearbyReply = Thread['replies'][number];
type Found = FoundReply & { from: { address: string; port: number } };

const statements = new WeakMap<NodeState, Statement>();
const caches = new WeakMap<NodeState, Map<string, { at: number; found: Promise<Found[]> }>>();

/** The replies this node's server gives for a post: in public streams it serves, each whole and signed by its stream. */
export function servedReplies(n: NodeState, to: PostRef): { publicKey: Uint8Array; record: DrayerRecord }[] {
  let st = statements.get(n);
  if (!st) {
    st = n.library.db.prepare(
      `SELECT stream_pk, id FROM replies WHERE root_pk = ? AND root_key = ?
       UNION SELECT stream_pk, id FROM replies WHERE to_pk = ? AND to_key = ? ORDER BY id DESC LIMIT ${MAX_NEARBY_REPLIES * 4}`,
    );
    statements.set(n, st);
  }
  const out: { publicKey: Uint8Array; record: DrayerRecord }[] = [];
  for (const row of st.all(to.stream, to.post, to.stream, to.post) as { stream_pk: string; id: number }[]) {
    if (out.length >= MAX_NEARBY_REPLIES) break;
    const s = servedStream(n, parseKey(row.stream_pk));
    if (!s || isPrivate(s)) continue; // a private stream's replies stay among its readers
    const r = s.getById(row.id);
    // a device's record is signed by the device: the asker checks against the stream's key alone
    if (r && r.val && r.type === POST_TYPE && bytesEqual(r.chain, s.publicKey)) out.push({ publicKey: s.publicKey, record: r });
  }
  return out;
}

/** The computers nearby to ask: those heard most recently first, this one never. */
function peersToAsk(n: NodeState): { address: string; port: number }[] {
  const seen = new Set<string>();
  const out: { address: string; port: number }[] = [];
  for (const p of [...(n.discovery?.peers() ?? [])].sort((a, b) => b.lastSeen - a.lastSeen)) {
    const at = `${p.address}:${p.port}`;
    if (seen.has(at) || (p.port === n.lan?.port && (p.address === n.lan.host || p.address === '127.0.0.1'))) continue;
    seen.add(at);
    out.push({ address: p.address, port: p.port });
    if (out.length >= ASK_PEERS) break;
  }
  return out;
}

async function ask(n: NodeState, root: PostRef): Promise<Found[]> {
  const answers = await Promise.all(peersToAsk(n).map(async (p) => (await askReplies(p, root, ASK_MS)).map((f) => ({ ...f, from: p }))));
  const out = new Map<string, Found>();
  for (const f of answers.flat()) {
    const at = `${f.publicKey}\n${f.record.key}`;
    const had = out.get(at);
    if (!had || had.record.mod < f.record.mod) out.set(at, f);
  }
  return [...out.values()].slice(0, MAX_NEARBY_REPLIES);
}

/** What the computers nearby hold of the thread of this post in streams not held here, oldest first. */
export async function nearbyReplies(n: NodeState, streamKey: string, key: string): Promise<NearbyReply[]> {
  const root = rootOf(n, formatKey(parseKey(streamKey)), String(key));
  let cache = caches.get(n);
  if (!cache) caches.set(n, (cache = new Map()));
  const at = `${root.stream}\n${root.post}`;
  let hit = cache.get(at);
  if (!hit || Date.now() - hit.at > CACHE_MS) {
    if (cache.size >= CACHE_MAX) cache.clear();
    hit = { at: Date.now(), found: ask(n, root) };
    cache.set(at, hit);
  }
  const found = await hit.found;
  const out: NearbyReply[] = [];
  // streams held here are in the thread already (hold.ts marks the unfollowed ones)
  for (const f of found.filter((x) => !n.streams.has(x.publicKey)).sort((a, b) => a.record.ts - b.record.ts)) {
    const item = itemOf(n, f, root);
    if (item) out.push(item);
  }
  return out;
}

function itemOf(n: NodeState, f: Found, root: PostRef): NearbyReply | undefined {
  let view;
  try {
    view = postView(f.record);
  } catch {
    return undefined; // not a post's shape
  }
  const pk = parseKey(f.publicKey);
  const reply = decodeLinks(f.record.val).reply!;
  // named as Nearby names it: by its signed drayer/info when that computer proved it, else by its key's words
  const name = streamName(n.nearbyInfo?.verified(f.from.address, f.from.port, pk)?.name ?? '', pk);
  const toName = streamName(n.library.getStream(reply.stream)?.name ?? '', parseKey(reply.stream));
  return {
    ...view,
    // whole (an answer holds 1 MiB at most): the post is not here to read it again for "Show more"
    streamKey: f.publicKey,
    streamName: name,
    replyTo: { streamKey: reply.stream, key: reply.post, streamName: toName },
    depth: reply.stream === root.stream && reply.post === root.post ? 0 : 1,
    unfollowed: true,
    nearby: { address: f.from.address, port: f.from.port },
  };
}
