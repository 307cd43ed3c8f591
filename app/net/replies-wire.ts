// Replies found nearby (issue 21): a node answers, for a post, the signed records of replies to it
// in the public streams it shares (GET /replies?stream=KEY&post=POSTKEY), so a computer that
// holds none of those streams still sees who answered. The answer is a msgpack array of
// [stream key (32 bytes), wire record] pairs, at most MAX_NEARBY_REPLIES and MAX_REPLIES_BYTES.
// The asker trusts none of it: each record is checked whole (shape, its value's hash, the
// signature of the stream it claims) and must name the asked post as what it answers or as the
// root of its thread. A signature proves the author wrote it, not that it is still live (a later
// delete is not seen here): the thread marks these replies as seen nearby, not followed.
import * as http from 'node:http';
import { formatKey } from '../core/keys.js';
import { checkRecord, decodeWire, encodeWire, fromWire, toWire, type DrayerRecord } from '../core/record.js';
import { POST_TYPE } from '../store/posts.js';
import { decodeLinks, type PostRef } from '../store/talk.js';
import { isMetadataHost } from './lan.js';

/** Records one answer holds at most (a thread's strangers, not a stream's history). */
export const MAX_NEARBY_REPLIES = 64;
/** Bytes one answer holds at most: the server stops adding records before, the asker cuts the answer past it. */
export const MAX_REPLIES_BYTES = 1024 * 1024;

export interface FoundReply {
  /** the stream's key, standard base64 */
  publicKey: string;
  record: DrayerRecord;
}

/** The answer's bytes: records in the order given, as many as fit in `maxBytes`. */
export function encodeReplies(items: { publicKey: Uint8Array; record: DrayerRecord }[], maxBytes = MAX_REPLIES_BYTES): Uint8Array {
  const kept: [Uint8Array, Record<string, unknown>][] = [];
  let bytes = 8;
  for (const x of items.slice(0, MAX_NEARBY_REPLIES)) {
    const wire = toWire(x.record);
    const size = encodeWire(wire).length + 40;
    if (bytes + size > maxBytes) break;
    bytes += size;
    kept.push([x.publicKey, wire]);
  }
  return encodeWire(kept);
}

/** Whether a post's value answers `to` (directly, or as a reply somewhere in the thread rooted there). */
export function answers(val: Uint8Array | null, to: PostRef): boolean {
  const reply = decodeLinks(val).reply;
  if (!reply) return false;
  return (reply.stream === to.stream && reply.post === to.post) || (reply.root.stream === to.stream && reply.root.post === to.post);
}

/**
 * The replies in an answer that hold: each a post of its own stream's chain, signed by it, whole,
 * answering `to`. Anything else is dropped, one by one; an answer that is no msgpack array at all
 * gives none. One record per stream and key (the newest).
 */
export function verifiedReplies(buf: Uint8Array, to: PostRef): FoundReply[] {
  let doc: unknown;
  try {
    doc = decodeWire(buf);
  } catch {
    return [];
  }
  if (!Array.isArray(doc)) return [];
  const out = new Map<string, FoundReply>();
  for (const item of doc.slice(0, MAX_NEARBY_REPLIES)) {
    if (!Array.isArray(item) || item.length !== 2 || !(item[0] instanceof Uint8Array) || item[0].length !== 32) continue;
    const pk = new Uint8Array(item[0]);
    let r: DrayerRecord;
    try {
      r = fromWire(item[1], pk);
    } catch {
      continue;
    }
    if (r.type !== POST_TYPE || !r.val || checkRecord(r, pk) !== null || !answers(r.val, to)) continue;
    const publicKey = formatKey(pk);
    const at = `${publicKey}\n${r.key}`;
    const had = out.get(at);
    if (!had || had.record.mod < r.mod) out.set(at, { publicKey, record: r });
  }
  return [...out.values()];
}

/** GET a node's replies to `to`, within MAX_REPLIES_BYTES and `timeoutMs`; the verified ones (none on any failure). */
export function askReplies(peer: { address: string; port: number }, to: PostRef, timeoutMs: number): Promise<FoundReply[]> {
  if (isMetadataHost(peer.address)) return Promise.resolve([]);
  const host = peer.address.includes(':') ? `[${peer.address}]` : peer.address;
  const q = new URLSearchParams({ stream: to.stream, post: to.post });
  return new Promise((resolve) => {
    let done = false;
    const finish = (found: FoundReply[]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(found);
    };
    const req = http.get(`http://${host}:${peer.port}/replies?${q}`, { agent: false });
    const timer = setTimeout(() => finish([]), timeoutMs);
    req.on('error', () => finish([]));
    req.on('response', (res) => {
      if (res.statusCode !== 200 || Number(res.headers['content-length'] ?? 0) > MAX_REPLIES_BYTES) return finish([]);
      const parts: Buffer[] = [];
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
        if (n > MAX_REPLIES_BYTES) return finish([]);
        parts.push(d);
      });
      res.on('error', () => finish([]));
      res.on('end', () => finish(done ? [] : verifiedReplies(new Uint8Array(Buffer.concat(parts)), to)));
    });
  });
}
