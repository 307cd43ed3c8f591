// A changes page written straight into one buffer: the same bytes as encodeWire({node, seq, more,
// last, records: records.map(toWire), left}) (test/changes-page.test.ts compares them), without the
// wire object per record and the generic encoder's walk over it, a fifth of what a server spends
// per record it sends in a clone. Anything the writer here does not handle (an integer outside the
// safe range, a string that is not well-formed UTF-16) sends that page through encodeWire instead.
import { encodeWire, toWire, type DrayerRecord } from '../../core/record.js';
import { PACKED_HEAD, type PackedRow } from '../../store/store.js';

export interface ChangesPageFields {
  node: string;
  seq: number;
  more: boolean;
  last: number;
  records: DrayerRecord[];
  /** set only when the client asked (count=1) */
  left?: number;
}

/** The record map's keys, in toWire's order. */
const KEYS = ['id', 'type', 'key', 'val', 'hash', 'ts', 'mod', 'prev', 'prevch', 'sig', 'chain'] as const;

/** Each map key as msgpack (fixstr), ready to copy. */
const KEY_BYTES = new Map([...KEYS, 'node', 'seq', 'more', 'last', 'records', 'left'].map((k) => [k, Uint8Array.from([0xa0 + k.length, ...Buffer.from(k)])]));

const intBytes = (n: number): number =>
  n >= 0
    ? n < 0x80
      ? 1
      : n < 0x100
        ? 2
        : n < 0x10000
          ? 3
          : n < 0x100000000
            ? 5
            : 9
    : n >= -0x20
      ? 1
      : n >= -0x80
        ? 2
        : n >= -0x8000
          ? 3
          : n >= -0x80000000
            ? 5
            : 9;
const strHead = (len: number): number => (len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5);
const binHead = (len: number): number => (len < 0x100 ? 2 : len < 0x10000 ? 3 : 5);
const arrayHead = (n: number): number => (n < 16 ? 1 : n < 0x10000 ? 3 : 5);

class Writer {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  u8(b: number): void {
    this.buf[this.pos++] = b;
  }
  int(n: number): void {
    const v = this.view;
    if (n >= 0) {
      if (n < 0x80) return this.u8(n);
      if (n < 0x100) return (this.u8(0xcc), this.u8(n));
      if (n < 0x10000) return (this.u8(0xcd), v.setUint16(this.pos, n), void (this.pos += 2));
      if (n < 0x100000000) return (this.u8(0xce), v.setUint32(this.pos, n), void (this.pos += 4));
      this.u8(0xcf);
      v.setUint32(this.pos, Math.floor(n / 0x100000000));
      v.setUint32(this.pos + 4, n >>> 0);
      this.pos += 8;
      return;
    }
    if (n >= -0x20) return this.u8(0xe0 | (n + 0x20));
    if (n >= -0x80) return (this.u8(0xd0), v.setInt8(this.pos, n), void (this.pos += 1));
    if (n >= -0x8000) return (this.u8(0xd1), v.setInt16(this.pos, n), void (this.pos += 2));
    if (n >= -0x80000000) return (this.u8(0xd2), v.setInt32(this.pos, n), void (this.pos += 4));
    this.u8(0xd3);
    v.setInt32(this.pos, Math.floor(n / 0x100000000));
    v.setUint32(this.pos + 4, n >>> 0);
    this.pos += 8;
  }
  str(s: string, len: number): void {
    if (len < 32) this.u8(0xa0 + len);
    else if (len < 0x100) (this.u8(0xd9), this.u8(len));
    else if (len < 0x10000) (this.u8(0xda), this.view.setUint16(this.pos, len), (this.pos += 2));
    else (this.u8(0xdb), this.view.setUint32(this.pos, len), (this.pos += 4));
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }
  bin(b: Uint8Array): void {
    const len = b.byteLength;
    if (len < 0x100) (this.u8(0xc4), this.u8(len));
    else if (len < 0x10000) (this.u8(0xc5), this.view.setUint16(this.pos, len), (this.pos += 2));
    else (this.u8(0xc6), this.view.setUint32(this.pos, len), (this.pos += 4));
    this.buf.set(b, this.pos);
    this.pos += len;
  }
  /** `len` bytes of `src` from `at`, behind a str header */
  strBytes(src: Buffer, at: number, len: number): void {
    if (len < 32) this.u8(0xa0 + len);
    else if (len < 0x100) (this.u8(0xd9), this.u8(len));
    else if (len < 0x10000) (this.u8(0xda), this.view.setUint16(this.pos, len), (this.pos += 2));
    else (this.u8(0xdb), this.view.setUint32(this.pos, len), (this.pos += 4));
    this.copy(src, at, len);
  }
  /** `len` bytes of `src` from `at`, behind a bin header */
  binBytes(src: Buffer, at: number, len: number): void {
    if (len < 0x100) (this.u8(0xc4), this.u8(len));
    else if (len < 0x10000) (this.u8(0xc5), this.view.setUint16(this.pos, len), (this.pos += 2));
    else (this.u8(0xc6), this.view.setUint32(this.pos, len), (this.pos += 4));
    this.copy(src, at, len);
  }
  copy(src: Buffer, at: number, len: number): void {
    // short runs by hand: a native copy's call costs more than a few bytes of loop (and no view is made)
    if (len <= 16) for (let i = 0; i < len; i++) this.buf[this.pos + i] = src[at + i]!;
    else src.copy(this.buf, this.pos, at, at + len);
    this.pos += len;
  }
  bytes(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) this.buf[this.pos++] = b[i]!;
  }
  /** A key, from its bytes made once (a native write per short string costs more than this loop). */
  key(k: string): void {
    const b = KEY_BYTES.get(k)!;
    for (let i = 0; i < b.length; i++) this.buf[this.pos++] = b[i]!;
  }
}

/** In a u-mode pattern a surrogate pair is one code point: this finds only lone halves (which UTF-8 cannot carry). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Does this record take the fast path: every integer safe, every string well-formed? */
function plain(r: DrayerRecord): boolean {
  return (
    Number.isSafeInteger(r.id) &&
    Number.isSafeInteger(r.ts) &&
    Number.isSafeInteger(r.mod) &&
    Number.isSafeInteger(r.prev) &&
    Number.isSafeInteger(r.prevch) &&
    r.hash instanceof Uint8Array &&
    r.sig instanceof Uint8Array &&
    r.chain instanceof Uint8Array &&
    (r.val === null || r.val instanceof Uint8Array) &&
    typeof r.type === 'string' &&
    typeof r.key === 'string' &&
    !LONE_SURROGATE.test(r.type) &&
    !LONE_SURROGATE.test(r.key)
  );
}

/** The page's msgpack bytes (`metaOnly`: values sent as nil, as toWire does). */
export function encodeChangesPage(p: ChangesPageFields, metaOnly = false): Uint8Array {
  const { records } = p;
  const hasLeft = p.left !== undefined;
  if (LONE_SURROGATE.test(p.node) || ![p.seq, p.last, p.left ?? 0].every(Number.isSafeInteger) || !records.every(plain)) {
    return encodeWire({
      node: p.node,
      seq: p.seq,
      more: p.more,
      last: p.last,
      records: records.map((r) => toWire(r, metaOnly)),
      ...(hasLeft ? { left: p.left } : {}),
    });
  }
  // The size first, exactly, so the answer is written into one buffer of its final length.
  const typeLens = new Array<number>(records.length);
  const keyLens = new Array<number>(records.length);
  let size = 1 + 5 + strHead(Buffer.byteLength(p.node)) + Buffer.byteLength(p.node); // map header, "node", its value
  size += 4 + intBytes(p.seq) + 5 + 1 + 5 + intBytes(p.last) + 8 + arrayHead(records.length);
  if (hasLeft) size += 5 + intBytes(p.left!);
  let keyBytes = 0;
  for (const k of KEYS) keyBytes += 1 + k.length;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const t = (typeLens[i] = Buffer.byteLength(r.type));
    const k = (keyLens[i] = Buffer.byteLength(r.key));
    const val = metaOnly ? null : r.val;
    size += 1 + keyBytes + intBytes(r.id) + strHead(t) + t + strHead(k) + k;
    size += val ? binHead(val.byteLength) + val.byteLength : 1;
    size += binHead(r.hash.byteLength) + r.hash.byteLength + binHead(r.sig.byteLength) + r.sig.byteLength + binHead(r.chain.byteLength) + r.chain.byteLength;
    size += intBytes(r.ts) + intBytes(r.mod) + intBytes(r.prev) + intBytes(r.prevch);
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  w.u8(0x80 | (hasLeft ? 6 : 5));
  w.key('node');
  w.str(p.node, Buffer.byteLength(p.node));
  w.key('seq');
  w.int(p.seq);
  w.key('more');
  w.u8(p.more ? 0xc3 : 0xc2);
  w.key('last');
  w.int(p.last);
  w.key('records');
  const n = records.length;
  if (n < 16) w.u8(0x90 | n);
  else if (n < 0x10000) (w.u8(0xdc), w.view.setUint16(w.pos, n), (w.pos += 2));
  else (w.u8(0xdd), w.view.setUint32(w.pos, n), (w.pos += 4));
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    w.u8(0x80 | KEYS.length);
    w.key('id');
    w.int(r.id);
    w.key('type');
    w.str(r.type, typeLens[i]!);
    w.key('key');
    w.str(r.key, keyLens[i]!);
    w.key('val');
    const val = metaOnly ? null : r.val;
    if (val) w.bin(val);
    else w.u8(0xc0);
    w.key('hash');
    w.bin(r.hash);
    w.key('ts');
    w.int(r.ts);
    w.key('mod');
    w.int(r.mod);
    w.key('prev');
    w.int(r.prev);
    w.key('prevch');
    w.int(r.prevch);
    w.key('sig');
    w.bin(r.sig);
    w.key('chain');
    w.bin(r.chain);
  }
  if (hasLeft) {
    w.key('left');
    w.int(p.left!);
  }
  if (w.pos !== size) throw new Error(`changes page: wrote ${w.pos} bytes of ${size}`);
  return w.buf;
}

/**
 * What encodePackedPage writes between a record's values, made once: the map header with the
 * first key, each key, and the bin headers of the fixed-size hash (32), signature (64), chain (32).
 */
const K = {
  id: Uint8Array.from([0x80 | KEYS.length, ...KEY_BYTES.get('id')!]),
  type: KEY_BYTES.get('type')!,
  key: KEY_BYTES.get('key')!,
  val: KEY_BYTES.get('val')!,
  hash: Uint8Array.from([...KEY_BYTES.get('hash')!, 0xc4, 32]),
  ts: KEY_BYTES.get('ts')!,
  mod: KEY_BYTES.get('mod')!,
  prev: KEY_BYTES.get('prev')!,
  prevch: KEY_BYTES.get('prevch')!,
  sig: Uint8Array.from([...KEY_BYTES.get('sig')!, 0xc4, 64]),
  chain: Uint8Array.from([...KEY_BYTES.get('chain')!, 0xc4, 32]),
};

// A row's size and its writing are functions of their own, not loop bodies inside encodePackedPage:
// small and called a thousand times a page, they are optimised within the first page a fresh
// server answers, while the whole encoder (called once a page) ran unoptimised for its first pages
// (measured: a new server's first 50k records cost 1.5–2 µs a record less CPU this way).

/** The bytes `r` takes in a page (`fixed`: those every record takes), or -1 if an integer is unsafe. */
function packedRowSize(r: PackedRow, fixed: number, metaOnly: boolean): number {
  const [, id, ts, mod, prev, prevch, b, t, k, hasVal] = r;
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(ts) || !Number.isSafeInteger(mod) || !Number.isSafeInteger(prev) || !Number.isSafeInteger(prevch))
    return -1;
  const v = b.length - PACKED_HEAD - t - k;
  const size = fixed + intBytes(id) + intBytes(ts) + intBytes(mod) + intBytes(prev) + intBytes(prevch) + strHead(t) + t + strHead(k) + k;
  return size + (hasVal && !metaOnly ? binHead(v) + v : 1);
}

function writePackedRow(w: Writer, r: PackedRow, metaOnly: boolean): void {
  const [, id, ts, mod, prev, prevch, b, t, k, hasVal] = r;
  const at = PACKED_HEAD + t + k;
  w.bytes(K.id);
  w.int(id);
  w.bytes(K.type);
  w.strBytes(b, PACKED_HEAD, t);
  w.bytes(K.key);
  w.strBytes(b, PACKED_HEAD + t, k);
  w.bytes(K.val);
  if (hasVal && !metaOnly) w.binBytes(b, at, b.length - at);
  else w.u8(0xc0);
  w.bytes(K.hash);
  w.copy(b, 0, 32);
  w.bytes(K.ts);
  w.int(ts);
  w.bytes(K.mod);
  w.int(mod);
  w.bytes(K.prev);
  w.int(prev);
  w.bytes(K.prevch);
  w.int(prevch);
  w.bytes(K.sig);
  w.copy(b, 32, 64);
  w.bytes(K.chain);
  w.copy(b, 96, 32);
}

/** The page's fields other than its records. */
export type PageHead = Omit<ChangesPageFields, 'records'>;

/**
 * The same bytes as encodeChangesPage, written from the store's packed rows (feed.ts
 * changesPacked: one blob a row, no record objects). Null when a field is out of what the direct
 * writer handles (an unsafe integer, a node id that is not well-formed): encode the records instead.
 */
export function encodePackedPage(p: PageHead, rows: PackedRow[], metaOnly = false): Uint8Array | null {
  const hasLeft = p.left !== undefined;
  if (LONE_SURROGATE.test(p.node) || ![p.seq, p.last, p.left ?? 0].every(Number.isSafeInteger)) return null;
  let size = 1 + 5 + strHead(Buffer.byteLength(p.node)) + Buffer.byteLength(p.node);
  size += 4 + intBytes(p.seq) + 5 + 1 + 5 + intBytes(p.last) + 8 + arrayHead(rows.length);
  if (hasLeft) size += 5 + intBytes(p.left!);
  let keyBytes = 0;
  for (const k of KEYS) keyBytes += 1 + k.length;
  // hash and chain as bin8 of 32, the signature as bin8 of 64
  const fixed = 1 + keyBytes + 2 + 32 + 2 + 64 + 2 + 32;
  for (const r of rows) {
    const n = packedRowSize(r, fixed, metaOnly);
    if (n < 0) return null;
    size += n;
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  w.u8(0x80 | (hasLeft ? 6 : 5));
  w.key('node');
  w.str(p.node, Buffer.byteLength(p.node));
  w.key('seq');
  w.int(p.seq);
  w.key('more');
  w.u8(p.more ? 0xc3 : 0xc2);
  w.key('last');
  w.int(p.last);
  w.key('records');
  const n = rows.length;
  if (n < 16) w.u8(0x90 | n);
  else if (n < 0x10000) (w.u8(0xdc), w.view.setUint16(w.pos, n), (w.pos += 2));
  else (w.u8(0xdd), w.view.setUint32(w.pos, n), (w.pos += 4));
  for (const r of rows) writePackedRow(w, r, metaOnly);
  if (hasLeft) {
    w.key('left');
    w.int(p.left!);
  }
  if (w.pos !== size) throw new Error(`changes page: wrote ${w.pos} bytes of ${size}`);
  return w.buf;
}
