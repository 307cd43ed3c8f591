// GET /replies?stream=KEY&post=POSTKEY (issue 21): the signed replies to a post found in the
// public streams this node shares, for computers nearby that hold none of them
// (net/replies-wire.ts has the shape and how the asker checks it). Private streams are never
// answered: the node's `replies` leaves them out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatKey, parseKey } from '../../core/keys.js';
import type { DrayerRecord } from '../../core/record.js';
import type { PostRef } from '../../store/talk.js';
import { encodeReplies } from '../replies-wire.js';
import { clip, HttpError, sendBody } from './http.js';

export type RepliesSource = (to: PostRef) => { publicKey: Uint8Array; record: DrayerRecord }[];

export function replies(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, source: RepliesSource | undefined): void {
  if (!source) throw new HttpError(404, 'There is nothing at this address.');
  const streamText = query.get('stream') ?? '';
  const post = query.get('post') ?? '';
  let stream: string;
  try {
    stream = formatKey(parseKey(streamText));
  } catch {
    throw new HttpError(400, `Ask for replies with stream=<the post's stream key>, not "${clip(streamText)}".`);
  }
  if (post === '' || post.length > 4096) throw new HttpError(400, 'Ask for replies with post=<the post key> (at most 4096 characters).');
  sendBody(req, res, 200, 'application/msgpack', encodeReplies(source({ stream, post })), { 'Cache-Control': 'no-store' });
}
