// Where a copy stands among a stream's devices (DESIGN §9), for the summary and the scheduler
// (kept apart from devices.ts, which needs both of them).
import * as fs from 'node:fs';
import * as path from 'node:path';
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
