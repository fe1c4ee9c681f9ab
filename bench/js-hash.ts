// Plain-JS token hashes over a Buffer: the baseline the WASM hashes are benchmarked against (and a
// second implementation the tests compare them with). Written the way a careful JS port would be:
// Math.imul for 32-bit products, readUInt32LE-free inner loops (direct byte reads), no allocation.

const M = 0x5bd1e995;

/** Netflix murmur (MurmurHash2 with seed 0xdeadbeef * len) of buf[off, off+len), as an unsigned number. */
export function jsMurmur(buf: Uint8Array, off: number, len: number): number {
  let h = (Math.imul(0xdeadbeef, len) ^ len) | 0;
  let p = off;
  const blocksEnd = off + (len & ~3);
  while (p < blocksEnd) {
    let k = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
    p += 4;
  }
  const rem = len & 3;
  if (rem !== 0) {
    let k = buf[p]!;
    if (rem > 1) k |= buf[p + 1]! << 8;
    if (rem > 2) k |= buf[p + 2]! << 16;
    h = Math.imul(h ^ k, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * Jenkins one-at-a-time of buf[off, off+len), with each byte added as a signed char (bytes >= 0x80
 * sign-extended) as Netflix's C code does on x86.
 */
export function jsOneAtATime(buf: Uint8Array, off: number, len: number): number {
  let h = 0;
  const end = off + len;
  for (let p = off; p < end; p++) {
    h = (h + ((buf[p]! << 24) >> 24)) | 0;
    h = (h + (h << 10)) | 0;
    h ^= h >>> 6;
  }
  h = (h + (h << 3)) | 0;
  h ^= h >>> 11;
  h = (h + (h << 15)) | 0;
  return h >>> 0;
}
