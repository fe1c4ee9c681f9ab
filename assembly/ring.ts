// Continuum lookup: which ring point owns a key token.
//
// A rack's ring is a sorted ascending array of n u32 tokens (one per vnode), laid out by the host:
//
//   points: +0 token[0] | +4 token[1] | ... | +4(n-1) token[n-1]     (u32, ascending, unsigned)
//
// The owner of a key is the first point whose token is >= the key's token (Netflix Dynomite's
// continuum), wrapping to point 0 when the key's token is above the last point. Tokens are unsigned:
// 0x80000000 and above sort after 0x7FFFFFFF, so every compare below is u32.
//
// The search is a branchless lower bound (the compare feeds a select, not a branch): key tokens are
// hash outputs, so a branchy search would mispredict about half its steps. A 768-point ring is ten
// steps over 3 KB, which stays in L1.
//
// Never traps: n <= 0 returns -1; arrays that run past the end of memory return -1 (single) or
// write nothing (batch).

/** True when [ptr, ptr + count*4) lies inside linear memory. */
// @ts-ignore: decorator
@inline function wordsInMemory(ptr: usize, count: i32): bool {
  return <u64>ptr + (<u64>count << 2) <= (<u64>memory.size() << 16);
}

/** Index of the first point >= token, or n when token is above every point. n >= 1. */
// @ts-ignore: decorator
@inline function lowerBound(points: usize, n: i32, token: u32): i32 {
  let lo: i32 = 0;
  let size: i32 = n;
  // Invariant: the answer lies in [lo, lo + size]. Each step halves size without a branch.
  while (size > 1) {
    const half = size >> 1;
    const below = load<u32>(points + (<usize>(lo + half - 1) << 2)) < token;
    lo = select<i32>(lo + half, lo, below);
    size -= half;
  }
  return lo + i32(load<u32>(points + (<usize>lo << 2)) < token);
}

/** Ring index for one token: lowerBound wrapped to 0 past the last point. */
// @ts-ignore: decorator
@inline function ownerIndex(points: usize, n: i32, token: u32): i32 {
  const i = lowerBound(points, n, token);
  return select<i32>(0, i, i == n);
}

/**
 * Index of the first of the n sorted u32 points at `points` whose token is >= token (unsigned),
 * 0 when token is above the last point, -1 when n <= 0.
 */
export function ringLookup(points: usize, n: i32, token: u32): i32 {
  if (n <= 0 || !wordsInMemory(points, n)) return -1;
  return ownerIndex(points, n, token);
}

/**
 * ringLookup for count u32 tokens at `tokens`, writing count i32 indexes to `out` (which may be
 * the same array as tokens). Two searches run interleaved so their load chains overlap.
 */
export function ringLookupBatch(points: usize, n: i32, tokens: usize, out: usize, count: i32): void {
  if (count <= 0 || !wordsInMemory(tokens, count) || !wordsInMemory(out, count)) return;
  if (n <= 0 || !wordsInMemory(points, n)) {
    memory.fill(out, 0xFF, <usize>count << 2);
    return;
  }
  let i: i32 = 0;
  for (; i + 2 <= count; i += 2) {
    const off = <usize>i << 2;
    const t0 = load<u32>(tokens + off);
    const t1 = load<u32>(tokens + off, 4);
    let lo0: i32 = 0;
    let lo1: i32 = 0;
    let size: i32 = n;
    while (size > 1) {
      const half = size >> 1;
      const b0 = load<u32>(points + (<usize>(lo0 + half - 1) << 2)) < t0;
      const b1 = load<u32>(points + (<usize>(lo1 + half - 1) << 2)) < t1;
      lo0 = select<i32>(lo0 + half, lo0, b0);
      lo1 = select<i32>(lo1 + half, lo1, b1);
      size -= half;
    }
    lo0 += i32(load<u32>(points + (<usize>lo0 << 2)) < t0);
    lo1 += i32(load<u32>(points + (<usize>lo1 << 2)) < t1);
    store<i32>(out + off, select<i32>(0, lo0, lo0 == n));
    store<i32>(out + off, select<i32>(0, lo1, lo1 == n), 4);
  }
  if (i < count) {
    const off = <usize>i << 2;
    store<i32>(out + off, ownerIndex(points, n, load<u32>(tokens + off)));
  }
}
