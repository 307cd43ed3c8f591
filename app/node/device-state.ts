// Where a copy stands among a stream's devices (DESIGN §9), for the summary and the scheduler
// (kept apart from devices.ts, which needs both of them).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrayerError } from '../core/errors.js';
import { ID_RANGE, idRangeOf } from '../core/siblings.js';
import { devicePathFor } from '../store/devices.js';
import type { Stream } from '../store/store.js';
import type { NodeState } from './state.js';

/** A copy pulls from elsewhere when it is a mirror, or when it is the owner's and lists a device still writing. */
export function pullsAnything(s: Stream): boolean {
  return !s.writable || s.devices().list.some((d) => d.to === 0);
}

/** This copy as a device of the stream: waiting to be listed, listed, or removed (undefined: not a device). */
export function deviceState(s: Stream): 'waiting' | 'listed' | 'removed' | undefined {
  const { list, mine } = s.devices();
  if (!mine || s.writable) return undefined;
  const mineKey = Buffer.from(mine);
  const entry = list.filter((d) => mineKey.equals(Buffer.from(d.pubkey))).sort((a, b) => b.timestamp - a.timestamp)[0];
  if (!entry) return 'waiting';
  return entry.to === 0 ? 'listed' : 'removed';
}

/**
 * Streams this computer writes as a device (waiting to be added, or added): yours here, as one
 * identity (DESIGN §9), for "Mentions & replies". Only copies with a device key beside them are
 * opened to ask (a stat per followed stream, not a file opened).
 */
export function devicesHere(n: NodeState): string[] {
  const out: string[] = [];
  for (const e of n.library.listStreams()) {
    if (e.owned || !fs.existsSync(devicePathFor(path.resolve(n.dataDir, e.file)))) continue;
    const s = n.streams.get(e.publicKey);
    const d = s && deviceState(s);
    if (d === 'listed' || d === 'waiting') out.push(e.publicKey);
  }
  return out;
}

/**
 * The record ids this copy writes when the stream has several chains: the owner's (below
 * ID_RANGE) or its own device's range; undefined when there is one chain (an owner without
 * devices) or this copy writes none. Post cards offer edit and delete only inside it.
 */
export function ownIds(s: Stream): { first: number; last: number } | undefined {
  const { list, mine } = s.devices();
  if (s.writable) return list.length ? { first: 0, last: ID_RANGE - 1 } : undefined;
  return mine ? idRangeOf(mine) : undefined;
}

/**
 * Edit and delete reach only this copy's own chain: an edit of another chain's post would make a
 * second post beside it, a delete would leave it (store/devices.ts). Refused, saying where to do it.
 */
export function requireOwnChain(s: Stream, id: number): void {
  const range = ownIds(s);
  if (!range || (id >= range.first && id <= range.last)) return;
  throw new DrayerError(
    'NOT_WRITABLE',
    s.writable
      ? 'That post was written on one of this stream’s devices: only that computer can edit or delete it.'
      : 'That post was written on another computer of this stream (its owner’s, or another device): edit or delete it there.',
  );
}
