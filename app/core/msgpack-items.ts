// A msgpack array read as it arrives, item by item: the original Drayer answers newRecords with one
// list of every record asked for (thousands, tens of MB), so the list is never held whole. Each
// item's bytes are measured by walking its headers (nothing is allocated from a declared length),
// handed out once complete, and refused once it grows past maxItemBytes: memory is bounded by one
// item, whatever the list's length.
import { MsgpackError } from './msgpack.js';

/** "Need at least this many bytes from the item's start" while an item is incomplete. */
type Measured = { end: number } | { need: number };

/** Splits a msgpack array arriving in parts into its items' bytes. */
export class ArrayItemSplitter {
  private parts: Uint8Array[] = [];
  private held = 0;
  /** bytes the pending item needs at least before it is measured again */
  private need = 1;
  private left: number | undefined;
  private total: number | undefined;

  constructor(
    /** for messages: "a newRecords list" */
    private readonly what: string,
    private readonly maxItemBytes: number,
    private readonly maxDepth: number,
  ) {}

  /** How many items the array declares (once its header has arrived). */
  get declared(): number | undefined {
    return this.total;
  }

  /** Whether every declared item has been handed out. */
  get complete(): boolean {
    return this.left === 0;
  }

  private fail(reason: string): never {
    throw new MsgpackError(this.what, reason);
  }

  /** Take a part of the answer; answers the items it completed (views into the bytes given). */
  push(part: Uint8Array): Uint8Array[] {
    if (this.left === 0 && part.length) this.fail('is not msgpack (bytes after its end)');
    this.parts.push(part);
    this.held += part.length;
    if (this.held < this.need) return [];
    let b = this.parts.length === 1 ? this.parts[0]! : new Uint8Array(Buffer.concat(this.parts, this.held));
    let pos = 0;
    const out: Uint8Array[] = [];
    if (this.left === undefined) {
      const head = arrayHeader(b);
      if (head === undefined) return this.keep(b, 0, 1);
      if (head === null) this.fail('is not a list');
      this.left = this.total = head.count;
      pos = head.size;
    }
    while (this.left > 0 && pos < b.length) {
      const m = this.measure(b, pos);
      if ('need' in m) return [...out, ...this.keep(b, pos, m.need)];
      out.push(b.subarray(pos, m.end));
      pos = m.end;
      this.left--;
    }
    if (this.left === 0 && pos < b.length) this.fail('is not msgpack (bytes after its end)');
    b = b.subarray(pos);
    return [...out, ...this.keep(b, 0, 1)];
  }

  /** The answer ended: throws when the list is incomplete. */
  end(): void {
    if (this.left === undefined) this.fail(this.held ? 'is not msgpack (cut short in its header)' : 'is not msgpack (it is empty)');
    if (this.left > 0) this.fail(`is cut short: ${this.left} of its ${this.total} items did not arrive`);
  }

  private keep(b: Uint8Array, from: number, need: number): Uint8Array[] {
    const rest = b.subarray(from);
    this.parts = rest.length ? [rest] : [];
    this.held = rest.length;
    this.need = Math.max(1, need);
    return [];
  }

  /** Where the item at `start` ends, or how many bytes from `start` it needs at least. */
  private measure(b: Uint8Array, start: number): Measured {
    const max = this.maxItemBytes;
    const n = b.length;
    const remaining: number[] = [1];
    let pos = start;
    const big = (len: number) => {
      if (len > max) this.fail(`holds an item of more than ${max} bytes`);
      return len;
    };
    for (;;) {
      while (remaining.length > 1 && remaining[remaining.length - 1] === 0) remaining.pop();
      if (remaining[remaining.length - 1] === 0) return { end: pos };
      remaining[remaining.length - 1]!--;
      if (pos >= n) return { need: big(pos - start + 1) };
      const h = b[pos]!;
      const wide = headWidth(h);
      if (wide === -1) this.fail(`is not msgpack (the never-used byte 0x${h.toString(16)})`);
      if (pos + 1 + wide.len > n) return { need: big(pos - start + 1 + wide.len) };
      const v = readUint(b, pos + 1, wide.len);
      if (wide.kind === 'fixed') pos += 1 + wide.len;
      else if (wide.kind === 'body') {
        const len = wide.inline ?? v;
        pos += 1 + wide.len + wide.extra + len;
        big(pos - start);
        if (pos > n) return { need: pos - start };
      } else {
        const count = wide.inline ?? v;
        const values = wide.kind === 'map' ? 2 * count : count;
        pos += 1 + wide.len;
        // every value takes a byte at least: a count beyond an item's bound is a lie, refused before anything is allocated
        if (pos - start + values > max)
          this.fail(
            `declares more items than it holds (${wide.kind === 'map' ? 'a map of' : 'an array of'} ${count}, more than fit in an item of ${max} bytes)`,
          );
        if (values === 0) continue;
        if (remaining.length > this.maxDepth) this.fail(`nests deeper than ${this.maxDepth} levels`);
        remaining.push(values);
      }
    }
  }
}

type Head =
  { kind: 'fixed'; len: number; inline?: undefined; extra?: undefined } | { kind: 'body' | 'map' | 'array'; len: number; inline?: number; extra: number };

/** What follows header byte `h`: a fixed width, a body whose length is inline or in `len` bytes, or a container. -1: 0xc1. */
function headWidth(h: number): Head | -1 {
  if (h <= 0x7f || h >= 0xe0 || h === 0xc0 || h === 0xc2 || h === 0xc3) return { kind: 'fixed', len: 0 };
  if (h <= 0x8f) return { kind: 'map', len: 0, inline: h & 0x0f, extra: 0 };
  if (h <= 0x9f) return { kind: 'array', len: 0, inline: h & 0x0f, extra: 0 };
  if (h <= 0xbf) return { kind: 'body', len: 0, inline: h & 0x1f, extra: 0 };
  switch (h) {
    case 0xcc:
    case 0xd0:
      return { kind: 'fixed', len: 1 };
    case 0xcd:
    case 0xd1:
      return { kind: 'fixed', len: 2 };
    case 0xca:
    case 0xce:
    case 0xd2:
      return { kind: 'fixed', len: 4 };
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return { kind: 'fixed', len: 8 };
    case 0xc4:
    case 0xd9:
      return { kind: 'body', len: 1, extra: 0 };
    case 0xc5:
    case 0xda:
      return { kind: 'body', len: 2, extra: 0 };
    case 0xc6:
    case 0xdb:
      return { kind: 'body', len: 4, extra: 0 };
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return { kind: 'body', len: 0, inline: 1 << (h - 0xd4), extra: 1 }; // fixext: a type byte, then 1..16 bytes
    case 0xc7:
      return { kind: 'body', len: 1, extra: 1 };
    case 0xc8:
      return { kind: 'body', len: 2, extra: 1 };
    case 0xc9:
      return { kind: 'body', len: 4, extra: 1 };
    case 0xdc:
      return { kind: 'array', len: 2, extra: 0 };
    case 0xdd:
      return { kind: 'array', len: 4, extra: 0 };
    case 0xde:
      return { kind: 'map', len: 2, extra: 0 };
    case 0xdf:
      return { kind: 'map', len: 4, extra: 0 };
    default:
      return -1;
  }
}

function readUint(b: Uint8Array, at: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[at + i]!;
  return v;
}

/** The array header at the start of `b`: its count and size; undefined while cut short; null when `b` is not an array. */
function arrayHeader(b: Uint8Array): { count: number; size: number } | undefined | null {
  if (b.length === 0) return undefined;
  const h = b[0]!;
  if (h >= 0x90 && h <= 0x9f) return { count: h & 0x0f, size: 1 };
  const len = h === 0xdc ? 2 : h === 0xdd ? 4 : 0;
  if (!len) return null;
  if (b.length < 1 + len) return undefined;
  return { count: readUint(b, 1, len), size: 1 + len };
}
