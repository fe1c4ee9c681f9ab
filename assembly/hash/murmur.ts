// murmur: Netflix Dynomite's default token hash, a MurmurHash2 variant (twemproxy's "murmur").
//
// It differs from Austin Appleby's MurmurHash2 only in the seed, which depends on the key length:
//   seed = 0xdeadbeef * len,  h = seed ^ len
// then the usual 4-byte blocks (little-endian), a 1..3 byte tail and the 13/15 final mix.
// This is the hot hash: keys of 10-30 bytes, so blocks are read with one unaligned load<u32> each
// (WASM allows unaligned loads; they never read past ptr+len), and the tail is assembled byte-wise.

import { partialWord } from './bytes';

const M: u32 = 0x5bd1e995;

/** Netflix murmur of [ptr, ptr+len): the 32-bit token. */
// @ts-ignore: decorator
@inline export function murmur(ptr: usize, len: i32): u32 {
  const n = <u32>len;
  let h: u32 = (0xdeadbeef * n) ^ n;
  const blocksEnd = ptr + <usize>(len & ~3);
  let p = ptr;
  while (p < blocksEnd) {
    let k = load<u32>(p);
    k *= M;
    k ^= k >> 24;
    k *= M;
    h = (h * M) ^ k;
    p += 4;
  }
  const rem = len & 3;
  if (rem != 0) {
    h ^= partialWord(p, rem);
    h *= M;
  }
  h ^= h >> 13;
  h *= M;
  h ^= h >> 15;
  return h;
}
