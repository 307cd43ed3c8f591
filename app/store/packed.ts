// A change-feed row as a server sends it: read so by feed.ts changesPacked, kept so by tip-cache.ts,
// written into an answer by changes-page.ts encodePackedPage.

/**
 * A change-feed row as a server sends it (changesPacked): the integers, then one blob holding
 * hash (32) ‖ sig (64) ‖ chain (32) ‖ type ‖ key (UTF-8) ‖ val, with the byte lengths of type and
 * key, and whether there is a value (a NULL value is sent as nil; metadata-only pages carry none).
 */
export type PackedRow = [
  seq: number,
  id: number,
  ts: number,
  mod: number,
  prev: number,
  prevch: number,
  b: Buffer,
  typeBytes: number,
  keyBytes: number,
  hasVal: 0 | 1,
];

/** The fixed part of a packed row's blob: hash, signature and chain. */
export const PACKED_HEAD = 128;

export interface PackedPage {
  rows: PackedRow[];
  seq: number;
  more: boolean;
  /** the last seq, when the page knows it (tip-cache.ts) */
  last?: number;
}
