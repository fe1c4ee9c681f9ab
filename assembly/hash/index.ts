// The 14 token hashes (HASH_* ids, Netflix hash_type order) behind four exports:
//
//   hashToken(algo, ptr, len)        32-bit ring token of the whole key
//   hashFull(algo, ptr, len, out)    the whole token as u32 words (1, 2 or 4), for display and tests
//   routingToken(ptr, len)           ring token of the routing span under the configured algo + tag
//   hashKeys(algo, base, keys, n)    batch: routing token of n key-table entries into KEY_TOKEN
//
// Which word is the ring token. Netflix's ring compares dyn_tokens, and every Netflix hash but
// murmur3 makes a one-word token (mag[0]); config tokens are one word too, and copy_dyn_token keeps
// only mag[0]. So for one-word hashes the ring token is the token, and placement equals Netflix's.
// For the two multi-word hashes, the ring token is word 0 of hashFull (murmur3: h1 of x86_128;
// murmur3_x64_64: the low half of h1): the same "first word" rule, and for murmur3 there is nothing
// to agree with (Netflix's murmur3 is a no-op that sends every key to the first ring point).
//
// hashFull word order (out + 4*i, u32 little-endian in memory; token_hex = each word as 8 hex digits,
// most significant digit first, words in index order):
//   one-word hashes   [token]
//   murmur3           [h1, h2, h3, h4]          (MurmurHash3_x86_128, seed 0xc0a1e5ce)
//   murmur3_x64_64    [lo32(h1), hi32(h1)]      (MurmurHash3_x64_128 h1, seed 0xc0a1e5ce)
//
// Never traps: an unknown algo gives token 0 / 0 words, a negative len counts as the empty key.
import {
  HASH_ONE_AT_A_TIME, HASH_MD5, HASH_CRC16, HASH_CRC32, HASH_CRC32A, HASH_FNV1_64, HASH_FNV1A_64,
  HASH_FNV1_32, HASH_FNV1A_32, HASH_HSIEH, HASH_MURMUR, HASH_JENKINS, HASH_MURMUR3, HASH_MURMUR3_X64_64,
  KEY_SIZE,
} from '../layout';
import { hashAlgo } from '../state';
import { crc16, crc32, crc32a } from './crc';
import { fnv1_32, fnv1a_32, fnv1_64, fnv1a_64 } from './fnv';
import { hsieh } from './hsieh';
import { jenkins, oneAtATime } from './jenkins';
import { md5First } from './md5';
import { murmur } from './murmur';
import { murmur3X86_128, murmur3X64_64 } from './murmur3';
import { routingSpan, spanLen, spanOff, tagConfigured } from './tag';

export { routingSpan, hasEmptyTag, spanOff, spanLen } from './tag';

/** Scratch for the 4-word murmur3 when only its ring word is wanted. */
const SCRATCH: usize = memory.data(16, 16);

/** The 32-bit ring token of [ptr, ptr+len) under algo; 0 for an unknown algo. */
export function hashToken(algo: i32, ptr: usize, len: i32): u32 {
  if (len < 0) len = 0;
  switch (algo) {
    case HASH_MURMUR: return murmur(ptr, len);
    case HASH_ONE_AT_A_TIME: return oneAtATime(ptr, len);
    case HASH_MD5: return md5First(ptr, len);
    case HASH_CRC16: return crc16(ptr, len);
    case HASH_CRC32: return crc32(ptr, len);
    case HASH_CRC32A: return crc32a(ptr, len);
    case HASH_FNV1_64: return fnv1_64(ptr, len);
    case HASH_FNV1A_64: return fnv1a_64(ptr, len);
    case HASH_FNV1_32: return fnv1_32(ptr, len);
    case HASH_FNV1A_32: return fnv1a_32(ptr, len);
    case HASH_HSIEH: return hsieh(ptr, len);
    case HASH_JENKINS: return jenkins(ptr, len);
    case HASH_MURMUR3: {
      murmur3X86_128(ptr, len, SCRATCH);
      return load<u32>(SCRATCH);
    }
    case HASH_MURMUR3_X64_64: return <u32>murmur3X64_64(ptr, len);
    default: return 0;
  }
}

/**
 * Writes the whole token of [ptr, ptr+len) under algo as u32 words at out (order above) and
 * returns the word count: 1, 2 (murmur3_x64_64), 4 (murmur3), or 0 for an unknown algo.
 */
export function hashFull(algo: i32, ptr: usize, len: i32, out: usize): i32 {
  if (len < 0) len = 0;
  if (algo == HASH_MURMUR3) {
    murmur3X86_128(ptr, len, out);
    return 4;
  }
  if (algo == HASH_MURMUR3_X64_64) {
    const h1 = murmur3X64_64(ptr, len);
    store<u32>(out, <u32>h1);
    store<u32>(out, <u32>(h1 >> 32), 4);
    return 2;
  }
  if (<u32>algo >= <u32>HASH_MURMUR3) return 0;
  store<u32>(out, hashToken(algo, ptr, len));
  return 1;
}

/** Ring token of the key's routing span (hash_tag applied) under algo. For other WASM modules. */
export function keyToken(algo: i32, ptr: usize, len: i32): u32 {
  if (!tagConfigured()) return hashToken(algo, ptr, len);
  const span = routingSpan(ptr, len);
  return hashToken(algo, ptr + <usize>spanOff(span), <i32>spanLen(span));
}

/** Ring token of [ptr, ptr+len) under the configured algo and hash_tag. */
export function routingToken(ptr: usize, len: i32): u32 {
  return keyToken(hashAlgo, ptr, len);
}

/**
 * Batch path: for n KEY entries at `keys` (OFF relative to base, LEN), stores the routing token
 * under algo (hash_tag applied) in each entry's TOKEN field. murmur, the default, gets its own loop
 * with the hash inlined, so the per-key cost is the hash itself.
 */
export function hashKeys(algo: i32, base: usize, keys: usize, n: i32): void {
  if (n <= 0) return;
  const end = keys + <usize>n * <usize>KEY_SIZE;
  if (algo == HASH_MURMUR && !tagConfigured()) {
    for (let e = keys; e < end; e += <usize>KEY_SIZE) {
      const len = max(load<i32>(e, 4), 0);
      store<u32>(e, murmur(base + <usize>load<i32>(e), len), 8);
    }
    return;
  }
  if (algo == HASH_MURMUR) {
    for (let e = keys; e < end; e += <usize>KEY_SIZE) {
      const p = base + <usize>load<i32>(e);
      const span = routingSpan(p, load<i32>(e, 4));
      store<u32>(e, murmur(p + <usize>spanOff(span), <i32>spanLen(span)), 8);
    }
    return;
  }
  for (let e = keys; e < end; e += <usize>KEY_SIZE) {
    store<u32>(e, keyToken(algo, base + <usize>load<i32>(e), load<i32>(e, 4)), 8);
  }
}
