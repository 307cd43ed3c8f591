// Small byte arrays (a signature, a hash) carved from shared blocks, as Node's Buffer pool does.
// A typed array of 64 bytes or less starts on the V8 heap, and the first time a native addon
// (libsodium, SQLite) reads it V8 moves it off the heap: a malloc, an ArrayBuffer of its own and
// later a sweep, about 1 µs each, twice a post (its signature and its value hash). A view into a
// block that already lives off the heap costs none of that.

/** 8 KiB, like Node's own pool: a view kept alive keeps its whole block, so blocks stay small. */
const BLOCK = 8192;
let block = new ArrayBuffer(BLOCK);
let used = 0;

/** `n` zeroed bytes (n ≤ 8 KiB) of a shared block: a view no one else is handed. */
export function slabBytes(n: number): Uint8Array {
  if (n > BLOCK) return new Uint8Array(n);
  if (used + n > BLOCK) {
    block = new ArrayBuffer(BLOCK);
    used = 0;
  }
  const out = new Uint8Array(block, used, n);
  // 8-byte aligned, as an allocator would: a reader may take a wider view of it
  used += (n + 7) & ~7;
  return out;
}
