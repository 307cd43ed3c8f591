// Msgpack for the original Drayer (DESIGN §4, §5): every string, map keys included, as a *bin*.
//
// The original reads what we send with `d[b"mtype"]`, `i[b"chain"]`, `i[b"type"].decode(...)`: it
// was written for msgpack-python 0.x, where str and bin both come out as bytes. msgpack-python ≥ 1.0
// (Debian's) returns a str as text, so those lookups fail on the str keys @msgpack/msgpack writes
// (its KeyError: b'chain' ends every pull from us). A bin comes out as bytes under both. Our decoder
// takes bin keys as text (msgpack.ts) and text fields as bytes or str (record.ts fromWire).

const utf8 = new TextEncoder();

class Out {
  readonly parts: Uint8Array[] = [];
  size = 0;
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }
  head(...bytes: number[]): void {
    this.push(Uint8Array.from(bytes));
  }
}

function int(o: Out, n: number): void {
  if (n >= 0) {
    if (n < 0x80) return o.head(n);
    if (n < 0x100) return o.head(0xcc, n);
    if (n < 0x10000) return o.head(0xcd, n >> 8, n & 0xff);
    if (n < 0x100000000) return o.head(0xce, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    const b = new Uint8Array(9);
    b[0] = 0xcf;
    new DataView(b.buffer).setBigUint64(1, BigInt(n));
    return o.push(b);
  }
  if (n >= -32) return o.head(n & 0xff);
  const b = new Uint8Array(9);
  b[0] = 0xd3;
  new DataView(b.buffer).setBigInt64(1, BigInt(n));
  o.push(b);
}

function bin(o: Out, b: Uint8Array): void {
  const n = b.length;
  if (n < 0x100) o.head(0xc4, n);
  else if (n < 0x10000) o.head(0xc5, n >> 8, n & 0xff);
  else o.head(0xc6, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  o.push(b);
}

function value(o: Out, v: unknown, depth: number): void {
  if (depth > 16) throw new TypeError('msgpack-bin: nested too deep');
  if (v === null || v === undefined) return o.head(0xc0);
  if (v === true || v === false) return o.head(v ? 0xc3 : 0xc2);
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return int(o, v);
    const b = new Uint8Array(9);
    b[0] = 0xcb;
    new DataView(b.buffer).setFloat64(1, v);
    return o.push(b);
  }
  if (typeof v === 'string') return bin(o, utf8.encode(v));
  if (v instanceof Uint8Array) return bin(o, v);
  if (Array.isArray(v)) {
    const n = v.length;
    if (n < 16) o.head(0x90 | n);
    else if (n < 0x10000) o.head(0xdc, n >> 8, n & 0xff);
    else o.head(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    for (const x of v) value(o, x, depth + 1);
    return;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    const n = entries.length;
    if (n < 16) o.head(0x80 | n);
    else if (n < 0x10000) o.head(0xde, n >> 8, n & 0xff);
    else o.head(0xdf, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    for (const [k, x] of entries) {
      bin(o, utf8.encode(k));
      value(o, x, depth + 1);
    }
    return;
  }
  throw new TypeError(`msgpack-bin: cannot encode a ${typeof v}`);
}

/** `v` as msgpack with every string (map keys too) a bin; integers as the smallest int, other numbers float64. */
export function encodeBin(v: unknown): Uint8Array {
  const o = new Out();
  value(o, v, 0);
  if (o.parts.length === 1) return o.parts[0]!;
  const out = new Uint8Array(o.size);
  let at = 0;
  for (const p of o.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
