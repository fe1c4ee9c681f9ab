// murmur3 and murmur3_x64_64: Austin Appleby's MurmurHash3, seed 0xc0a1e5ce (Netflix's MURMUR3_SEED).
//
// Netflix Dynomite's hash_murmur3 has its MurmurHash3_x86_128 call commented out, so every key gets
// an all-zero token there; we compute the real x86_128 the reference vectors give (placement with
// `hash: murmur3` therefore differs from Netflix nodes, by design). murmur3_x64_64 exists only in the
// Rust port: the first 64-bit half (h1) of MurmurHash3_x64_128.
//
// Output words, in the order hashFull writes them (each formatted as 8 hex digits, big-endian):
//   x86_128:  +0 h1  +4 h2  +8 h3  +12 h4          (token_hex = h1 h2 h3 h4)
//   x64_64:   +0 low 32 bits of h1  +4 high 32 bits  (token_hex = lo hi, as the port stores the word pair)

import { partialWord, partialWord64 } from './bytes';

export const MURMUR3_SEED: u32 = 0xc0a1e5ce;

const C1: u32 = 0x239b961b;
const C2: u32 = 0xab0e9789;
const C3: u32 = 0x38b34ae5;
const C4: u32 = 0xa1e38b93;

// @ts-ignore: decorator
@inline function fmix32(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** MurmurHash3_x86_128 of [ptr, ptr+len) with MURMUR3_SEED; writes h1..h4 as four u32 at out. */
export function murmur3X86_128(ptr: usize, len: i32, out: usize): void {
  let h1 = MURMUR3_SEED, h2 = MURMUR3_SEED, h3 = MURMUR3_SEED, h4 = MURMUR3_SEED;
  const blocksEnd = ptr + <usize>(len & ~15);
  let p = ptr;
  while (p < blocksEnd) {
    let k1 = load<u32>(p), k2 = load<u32>(p, 4), k3 = load<u32>(p, 8), k4 = load<u32>(p, 12);
    k1 *= C1; k1 = rotl<u32>(k1, 15); k1 *= C2; h1 ^= k1;
    h1 = rotl<u32>(h1, 19); h1 += h2; h1 = h1 * 5 + 0x561ccd1b;
    k2 *= C2; k2 = rotl<u32>(k2, 16); k2 *= C3; h2 ^= k2;
    h2 = rotl<u32>(h2, 17); h2 += h3; h2 = h2 * 5 + 0x0bcaa747;
    k3 *= C3; k3 = rotl<u32>(k3, 17); k3 *= C4; h3 ^= k3;
    h3 = rotl<u32>(h3, 15); h3 += h4; h3 = h3 * 5 + 0x96cd1c35;
    k4 *= C4; k4 = rotl<u32>(k4, 18); k4 *= C1; h4 ^= k4;
    h4 = rotl<u32>(h4, 13); h4 += h1; h4 = h4 * 5 + 0x32ac3b17;
    p += 16;
  }
  // Tail: 0..15 bytes, lanes k1..k4 of 4 bytes each; a lane is mixed in only when it has a byte.
  const rem = len & 15;
  if (rem > 12) {
    let k4 = partialWord(p + 12, rem - 12);
    k4 *= C4; k4 = rotl<u32>(k4, 18); k4 *= C1; h4 ^= k4;
  }
  if (rem > 8) {
    let k3 = partialWord(p + 8, rem - 8);
    k3 *= C3; k3 = rotl<u32>(k3, 17); k3 *= C4; h3 ^= k3;
  }
  if (rem > 4) {
    let k2 = partialWord(p + 4, rem - 4);
    k2 *= C2; k2 = rotl<u32>(k2, 16); k2 *= C3; h2 ^= k2;
  }
  if (rem > 0) {
    let k1 = partialWord(p, rem);
    k1 *= C1; k1 = rotl<u32>(k1, 15); k1 *= C2; h1 ^= k1;
  }
  const n = <u32>len;
  h1 ^= n; h2 ^= n; h3 ^= n; h4 ^= n;
  h1 += h2 + h3 + h4; h2 += h1; h3 += h1; h4 += h1;
  h1 = fmix32(h1); h2 = fmix32(h2); h3 = fmix32(h3); h4 = fmix32(h4);
  h1 += h2 + h3 + h4; h2 += h1; h3 += h1; h4 += h1;
  store<u32>(out, h1);
  store<u32>(out, h2, 4);
  store<u32>(out, h3, 8);
  store<u32>(out, h4, 12);
}

const C1_64: u64 = 0x87c37b91114253d5;
const C2_64: u64 = 0x4cf5ad432745937f;

// @ts-ignore: decorator
@inline function fmix64(k: u64): u64 {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccd;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53;
  k ^= k >> 33;
  return k;
}

/** h1 of MurmurHash3_x64_128 of [ptr, ptr+len) with MURMUR3_SEED (murmur3_x64_64). */
export function murmur3X64_64(ptr: usize, len: i32): u64 {
  let h1: u64 = <u64>MURMUR3_SEED, h2: u64 = <u64>MURMUR3_SEED;
  const blocksEnd = ptr + <usize>(len & ~15);
  let p = ptr;
  while (p < blocksEnd) {
    let k1 = load<u64>(p), k2 = load<u64>(p, 8);
    k1 *= C1_64; k1 = rotl<u64>(k1, 31); k1 *= C2_64; h1 ^= k1;
    h1 = rotl<u64>(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= C2_64; k2 = rotl<u64>(k2, 33); k2 *= C1_64; h2 ^= k2;
    h2 = rotl<u64>(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
    p += 16;
  }
  const rem = len & 15;
  if (rem > 8) {
    let k2 = partialWord64(p + 8, rem - 8);
    k2 *= C2_64; k2 = rotl<u64>(k2, 33); k2 *= C1_64; h2 ^= k2;
  }
  if (rem > 0) {
    let k1 = partialWord64(p, rem);
    k1 *= C1_64; k1 = rotl<u64>(k1, 31); k1 *= C2_64; h1 ^= k1;
  }
  const n = <u64>len;
  h1 ^= n; h2 ^= n;
  h1 += h2; h2 += h1;
  h1 = fmix64(h1); h2 = fmix64(h2);
  h1 += h2;
  return h1;
}
