// Reply equivalence keys: a 64-bit digest of a reply's bytes (standard XXH64, seed 0, so any other
// host can recompute it) and an exact byte compare for the rare case of two equal digests.
//
// The coalescer compares replicas' replies by digest: the reply framer calls xxh64() once per reply
// and stores the result in the record's DIGEST_LO/DIGEST_HI words (layout.ts). Most replies are
// tiny (`+OK`, `$1\r\na\r\n`, ~20 B), so the short path matters as much as the bulk rate.
//
// XXH64 for len >= 32 keeps four 64-bit accumulators, one per 8-byte lane of a 32-byte stripe:
//
//   stripe (32 B):  +0 lane1 | +8 lane2 | +16 lane3 | +24 lane4
//   accumulators:   v1         v2         v3          v4        (acc = rotl(acc + lane*P2, 31) * P1)
//
// Why the stripe loop is scalar, not i64x2: the four accumulators fit in two i64x2, but wasm's
// i64x2.mul has no native x64 instruction below AVX-512 and V8 (Node 20) emulates it with three
// pmuludq plus shifts and adds, while a scalar 64-bit imul is one instruction. Measured here on
// the stripe loop alone (same digests): four u64s 13.2 GB/s at 1 KB, 14.1 GB/s at 64 KB; two
// i64x2 6.8 / 7.4 GB/s; one i64x2 + two u64s 8.7 / 8.7 GB/s. The loop is imul-throughput bound, so
// SIMD only pays in memEqual (no multiplies), which compares 64 bytes per step with v128
// (42 GB/s at 64 KB here; 32 bytes per step gave 33 GB/s).
//
// Never traps: len <= 0 digests the empty input; a range that runs past the end of memory digests
// the empty input too (the caller handed us a bad span; a wrong-but-stable key beats a trap).

// @ts-ignore: decorator
@inline const P1: u64 = 0x9E3779B185EBCA87;
// @ts-ignore: decorator
@inline const P2: u64 = 0xC2B2AE3D27D4EB4F;
// @ts-ignore: decorator
@inline const P3: u64 = 0x165667B19E3779F9;
// @ts-ignore: decorator
@inline const P4: u64 = 0x85EBCA77C2B2AE63;
// @ts-ignore: decorator
@inline const P5: u64 = 0x27D4EB2F165667C5;

// @ts-ignore: decorator
@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

// @ts-ignore: decorator
@inline function mergeRound(h: u64, v: u64): u64 {
  return (h ^ round(0, v)) * P1 + P4;
}

// @ts-ignore: decorator
@inline function avalanche(h: u64): u64 {
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/** True when [ptr, ptr+len) lies inside linear memory (len > 0). */
// @ts-ignore: decorator
@inline function inMemory(ptr: usize, len: i32): bool {
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

/** Folds the four lane accumulators of the stripes into one value (XXH64 convergence step). */
// @ts-ignore: decorator
@inline function converge(v1: u64, v2: u64, v3: u64, v4: u64): u64 {
  let h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
  h = mergeRound(h, v1);
  h = mergeRound(h, v2);
  h = mergeRound(h, v3);
  h = mergeRound(h, v4);
  return h;
}

/** Stripe loop on four u64 accumulators: `stripes` x 32 bytes from p. */
function stripes32(p: usize, stripes: i32): u64 {
  let v1: u64 = P1 + P2;
  let v2: u64 = P2;
  let v3: u64 = 0;
  let v4: u64 = 0 - P1;
  for (let i = 0; i < stripes; i++) {
    v1 = round(v1, load<u64>(p));
    v2 = round(v2, load<u64>(p, 8));
    v3 = round(v3, load<u64>(p, 16));
    v4 = round(v4, load<u64>(p, 24));
    p += 32;
  }
  return converge(v1, v2, v3, v4);
}

/** XXH64 (seed 0) of the len bytes at ptr. For use inside the module (the reply framer). */
export function xxh64(ptr: usize, len: i32): u64 {
  if (len <= 0 || !inMemory(ptr, len)) return avalanche(P5);
  let p = ptr;
  let h: u64;
  if (len >= 32) {
    const stripes = len >> 5;
    h = stripes32(p, stripes);
    p += <usize>stripes << 5;
  } else {
    h = P5;
  }
  h += <u64>len;
  // Tail: < 32 bytes left; 8-byte words, then one 4-byte word, then single bytes.
  const end = ptr + <usize>len;
  while (p + 8 <= end) {
    h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1;
    p++;
  }
  return avalanche(h);
}

/** XXH64 (seed 0) of [ptr, ptr+len). len <= 0: the digest of the empty input (0xEF46DB3751D8E999). */
export function digest64(ptr: usize, len: i32): u64 {
  return xxh64(ptr, len);
}

/**
 * 1 when the len bytes at a and b are equal, else 0. len <= 0 is equal. v128 compares, four
 * 16-byte blocks per step with one branch; the last partial block is compared by reloading the final 16 (or 8 / 4) bytes, overlapping bytes
 * already seen, so no read leaves either range.
 */
export function memEqual(a: usize, b: usize, len: i32): i32 {
  if (len <= 0 || a == b) return 1;
  if (!inMemory(a, len) || !inMemory(b, len)) return 0;
  const n = <usize>len;
  if (n >= 16) {
    let i: usize = 0;
    const last = n - 16;
    while (i + 64 <= n) {
      const d0 = v128.or(v128.xor(v128.load(a + i), v128.load(b + i)),
        v128.xor(v128.load(a + i, 16), v128.load(b + i, 16)));
      const d1 = v128.or(v128.xor(v128.load(a + i, 32), v128.load(b + i, 32)),
        v128.xor(v128.load(a + i, 48), v128.load(b + i, 48)));
      if (v128.any_true(v128.or(d0, d1))) return 0;
      i += 64;
    }
    if (i + 32 <= n) {
      const d0 = v128.xor(v128.load(a + i), v128.load(b + i));
      const d1 = v128.xor(v128.load(a + i, 16), v128.load(b + i, 16));
      if (v128.any_true(v128.or(d0, d1))) return 0;
      i += 32;
    }
    if (i < n) {
      // 1..31 bytes left: one more block if 16+ remain, then the final (overlapping) block.
      if (i + 16 <= n && v128.any_true(v128.xor(v128.load(a + i), v128.load(b + i)))) return 0;
      if (v128.any_true(v128.xor(v128.load(a + last), v128.load(b + last)))) return 0;
    }
    return 1;
  }
  if (n >= 8) {
    return i32(load<u64>(a) == load<u64>(b) && load<u64>(a + n - 8) == load<u64>(b + n - 8));
  }
  if (n >= 4) {
    return i32(load<u32>(a) == load<u32>(b) && load<u32>(a + n - 4) == load<u32>(b + n - 4));
  }
  // 1..3 bytes: first, middle and last byte cover every position.
  const m = n >> 1;
  return i32(load<u8>(a) == load<u8>(b) && load<u8>(a + m) == load<u8>(b + m)
    && load<u8>(a + n - 1) == load<u8>(b + n - 1));
}

let lastHi: i32 = 0;

/**
 * digest64 as two i32 words without a BigInt on the JS side: returns the low word, and keeps the high
 * word for digestHi(). The coalescer calls this for replies that did not come through the reply
 * framer (peer payloads, the embedded datastore's replies).
 */
export function digestLo(ptr: usize, len: i32): i32 {
  const d = digest64(ptr, len);
  lastHi = <i32>(d >> 32);
  return <i32>d;
}

/** High word of the last digestLo() call. */
export function digestHi(): i32 {
  return lastHi;
}
