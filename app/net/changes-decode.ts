// A changes page decoded straight into records: the pages a Drayer server writes (changes-page.ts)
// read in one pass, with no generic msgpack walk, no map object per record and no bounds pre-scan
// (those were a third of what a clone costs the client's main thread). Only the exact shape a
// Drayer server sends is read here; anything else (another key, a float, a string that is not
// UTF-8, a cut-short or oversized page) answers null and goes through the general, bounded decoder
// (parseChangesPage and decodeRecords), which then accepts or refuses it as it always did. For
// every page both read, both give the same records (test/changes-decode.test.ts).
import type { DrayerRecord } from '../core/record.js';
import { MSGPACK_LIMITS } from '../core/msgpack.js';
import { MAX_NODE_ID, type ChangesPageWire } from './sync-pages.js';

/** Thrown inside the reader for anything it does not take; never leaves this module. */
const NOT_MINE = new Error('not a plain changes page');

const RECORD_KEYS = ['id', 'type', 'key', 'val', 'hash', 'ts', 'mod', 'prev', 'prevch', 'sig', 'chain'] as const;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.b.length) throw NOT_MINE;
    return this.b[this.pos++]!;
  }

  /** n bytes big-endian as an unsigned number (n ≤ 4) */
  uint(n: number): number {
    if (this.pos + n > this.b.length) throw NOT_MINE;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.b[this.pos++]!;
    return v;
  }

  /** A msgpack integer within the safe range (floats and bigger integers are not taken). */
  int(): number {
    const h = this.byte();
    if (h <= 0x7f) return h;
    if (h >= 0xe0) return h - 0x100;
    switch (h) {
      case 0xcc:
        return this.uint(1);
      case 0xcd:
        return this.uint(2);
      case 0xce:
        return this.uint(4);
      case 0xcf: {
        const hi = this.uint(4);
        if (hi > 0x1fffff) throw NOT_MINE;
        return hi * 0x100000000 + this.uint(4);
      }
      case 0xd0: {
        const v = this.uint(1);
        return v >= 0x80 ? v - 0x100 : v;
      }
      case 0xd1: {
        const v = this.uint(2);
        return v >= 0x8000 ? v - 0x10000 : v;
      }
      case 0xd2: {
        const v = this.uint(4);
        return v >= 0x80000000 ? v - 0x100000000 : v;
      }
      case 0xd3: {
        const hi = this.uint(4);
        const lo = this.uint(4);
        const v = (hi >= 0x80000000 ? hi - 0x100000000 : hi) * 0x100000000 + lo;
        if (!Number.isSafeInteger(v)) throw NOT_MINE;
        return v;
      }
    }
    throw NOT_MINE;
  }

  /** The length of a str or bin (both are bytes in a changes page), the position then at its first byte. */
  bytesLength(): number {
    const h = this.byte();
    if (h >= 0xa0 && h <= 0xbf) return this.body(h & 0x1f);
    switch (h) {
      case 0xc4:
      case 0xd9:
        return this.body(this.uint(1));
      case 0xc5:
      case 0xda:
        return this.body(this.uint(2));
      case 0xc6:
      case 0xdb:
        return this.body(this.uint(4));
    }
    throw NOT_MINE;
  }

  private body(len: number): number {
    if (len > this.b.length - this.pos) throw NOT_MINE;
    return len;
  }

  /** A str or bin as a view into the page (no copy), or null for nil. */
  bytesOrNil(): Uint8Array | null {
    if (this.pos < this.b.length && this.b[this.pos] === 0xc0) {
      this.pos++;
      return null;
    }
    const len = this.bytesLength();
    // a plain view, not the Buffer's subarray: a Buffer's costs more to make (and the records never needed one)
    const v = new Uint8Array(this.b.buffer, this.b.byteOffset + this.pos, len);
    this.pos += len;
    return v;
  }

  bytes(): Uint8Array {
    const v = this.bytesOrNil();
    if (v === null) throw NOT_MINE;
    return v;
  }

  /** Text as strict UTF-8; plain ASCII without a decoder call (`ascii`: nothing else is taken). */
  text(ascii = false): string {
    const len = this.bytesLength();
    const b = this.b;
    const start = this.pos;
    this.pos += len;
    let s = '';
    for (let i = start; i < start + len; i++) {
      const c = b[i]!;
      if (c >= 0x80) {
        if (ascii) throw NOT_MINE;
        try {
          return strictUtf8.decode(b.subarray(start, start + len));
        } catch {
          throw NOT_MINE;
        }
      }
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** The length of a map (fixmap or map16). */
  mapLength(): number {
    const h = this.byte();
    if (h >= 0x80 && h <= 0x8f) return h & 0x0f;
    if (h === 0xde) return this.uint(2);
    throw NOT_MINE;
  }

  /** A map key: a fixstr, returned as its index in `keys`. */
  key(keys: readonly string[]): number {
    const h = this.byte();
    if (h < 0xa0 || h > 0xbf) throw NOT_MINE;
    const len = h & 0x1f;
    if (len > this.b.length - this.pos) throw NOT_MINE;
    const b = this.b;
    const at = this.pos;
    this.pos += len;
    for (let k = 0; k < keys.length; k++) {
      const name = keys[k]!;
      if (name.length !== len) continue;
      let same = true;
      for (let i = 0; i < len && same; i++) same = b[at + i] === name.charCodeAt(i);
      if (same) return k;
    }
    throw NOT_MINE;
  }
}

const PAGE_KEYS = ['node', 'seq', 'more', 'last', 'records', 'left'] as const;

/**
 * A changes page as a Drayer server writes it, with its records, or null when it is anything
 * else (then the general decoder reads it). `lim`: the most records asked for; a page of more
 * answers null too (the pull refuses it after the general decoder).
 */
export function decodePlainChangesPage(buf: Uint8Array, streamKey: Uint8Array, lim: number): { page: ChangesPageWire; recs: DrayerRecord[] } | null {
  if (buf.length > MSGPACK_LIMITS.changesPage.maxBytes) return null;
  const r = new Reader(buf);
  try {
    const entries = r.mapLength();
    let node: string | undefined;
    let seq: number | undefined;
    let more: boolean | undefined;
    let last: number | undefined;
    let left: number | undefined;
    let recs: DrayerRecord[] | undefined;
    let seen = 0;
    for (let e = 0; e < entries; e++) {
      const k = r.key(PAGE_KEYS);
      if (seen & (1 << k)) throw NOT_MINE;
      seen |= 1 << k;
      switch (k) {
        case 0: {
          // (ASCII only: the general reader takes a node id's bytes leniently, a leading BOM included)
          node = r.text(true);
          if (node.length > MAX_NODE_ID) throw NOT_MINE;
          break;
        }
        case 1:
          seq = r.int();
          break;
        case 2: {
          const h = r.byte();
          if (h !== 0xc2 && h !== 0xc3) throw NOT_MINE;
          more = h === 0xc3;
          break;
        }
        case 3:
          last = r.int();
          if (last < 0) throw NOT_MINE;
          break;
        case 4:
          recs = records(r, streamKey, lim);
          break;
        case 5:
          left = r.int();
          if (left < 0) throw NOT_MINE;
          break;
      }
    }
    if (r.pos !== buf.length || node === undefined || seq === undefined || more === undefined || recs === undefined) return null;
    return { page: { node, seq, more, records: recs, last, left }, recs };
  } catch (e) {
    if (e === NOT_MINE) return null;
    throw e;
  }
}

function records(r: Reader, streamKey: Uint8Array, lim: number): DrayerRecord[] {
  const h = r.byte();
  const n = h >= 0x90 && h <= 0x9f ? h & 0x0f : h === 0xdc ? r.uint(2) : h === 0xdd ? r.uint(4) : -1;
  if (n < 0 || n > lim || n > MSGPACK_LIMITS.changesPage.maxArray) throw NOT_MINE;
  const out = new Array<DrayerRecord>(n);
  // Most pages hold one or two types over and over: the last one's text is kept.
  let lastType = '';
  let lastTypeBytes: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    if (r.mapLength() !== RECORD_KEYS.length) throw NOT_MINE;
    let id = 0;
    let type = '';
    let key = '';
    let val: Uint8Array | null = null;
    let hash: Uint8Array | null = null;
    let ts = 0;
    let mod = 0;
    let prev = 0;
    let prevch = 0;
    let sig: Uint8Array | null = null;
    let chain: Uint8Array | null = null;
    let seen = 0;
    for (let e = 0; e < RECORD_KEYS.length; e++) {
      const k = r.key(RECORD_KEYS);
      if (seen & (1 << k)) throw NOT_MINE;
      seen |= 1 << k;
      switch (k) {
        case 0:
          id = r.int();
          break;
        case 1: {
          const at = r.pos;
          const len = r.bytesLength();
          const b = r.b.subarray(r.pos, r.pos + len);
          if (lastTypeBytes && sameBytes(lastTypeBytes, b)) {
            r.pos += len;
            type = lastType;
          } else {
            r.pos = at;
            type = lastType = r.text();
            lastTypeBytes = b;
          }
          break;
        }
        case 2:
          key = r.text();
          break;
        case 3:
          val = r.bytesOrNil();
          break;
        case 4:
          hash = r.bytes();
          break;
        case 5:
          ts = r.int();
          break;
        case 6:
          mod = r.int();
          break;
        case 7:
          prev = r.int();
          break;
        case 8:
          prevch = r.int();
          break;
        case 9:
          sig = r.bytes();
          break;
        case 10:
          chain = r.bytesOrNil();
          break;
      }
    }
    // (as fromWire: an empty or missing chain is the stream's own key)
    out[i] = { id, type, key, val, hash: hash!, ts, mod, prev, prevch, sig: sig!, chain: chain === null || chain.length === 0 ? streamKey : chain };
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
