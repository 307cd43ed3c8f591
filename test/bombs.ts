// Hostile msgpack from issue 7: tiny inputs whose headers declare huge lengths. An unbounded
// decoder allocates what they declare (an array32 of 33 M items is 260 MB of heap for 5 bytes).
import { MAGIC } from '../app/net/discovery.js';

/** array32 header declaring 33 554 432 items */
export const ARRAY32_33M = [0xdd, 0x02, 0x00, 0x00, 0x00];

/** `levels` nested array32 headers each declaring 33 M items: 300 bytes for 60 levels. */
export function arrayBomb(levels = 60): Uint8Array {
  return Uint8Array.from({ length: levels * ARRAY32_33M.length }, (_, i) => ARRAY32_33M[i % ARRAY32_33M.length]!);
}

/** A discovery packet: magic ‖ node id ‖ body. The 320-byte one is packet(arrayBomb(60), id). */
export function bombPacket(nodeId: Uint8Array, body: Uint8Array = arrayBomb(60)): Uint8Array {
  return Buffer.concat([MAGIC, nodeId, body]);
}
