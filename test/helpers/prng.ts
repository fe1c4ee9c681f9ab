// The tests' one seeded pseudo-random generator: xorshift32 (Marsaglia 2003, shifts 13/17/5).
// Property tests, fuzzers and generated corpora draw from it so that every run sees the same
// inputs and a failure reproduces from its seed alone.
//
//   state (u32, never 0) ──xorshift──▶ next(): u32 ─┬─ int(n) / range / bytes / pick (ints)
//                                                   └─ float(): next() / 2^32, in [0, 1)
//
// How an int in [0, n) is drawn from a u32 is fixed per generator, because some tests hold
// corpora (or compare against a live server on them) that were generated with one or the other:
//   'modulo' (default)  next() % n                  framers, routing, dnode, hashing, digests
//   'scaled'            floor(next() / 2^32 * n)    MemoryStore/memcached corpora, fault fuzz
// Both are uniform enough for tests; what matters is that a seed keeps producing its sequence.

/** How int(n) maps a 32-bit draw to [0, n): see the file comment. */
export type IntMapping = 'modulo' | 'scaled';

const TWO_32 = 4294967296;

export class Prng {
  private state: number;
  private readonly scaled: boolean;

  /** seed 0 (xorshift's fixed point) is taken as 1. */
  constructor(seed: number, ints: IntMapping = 'modulo') {
    this.state = seed >>> 0 || 1;
    this.scaled = ints === 'scaled';
  }

  /** The next 32-bit unsigned value. */
  next(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / TWO_32;
  }

  /** An integer in [0, n), by this generator's mapping. */
  int(n: number): number {
    return this.scaled ? Math.floor(this.float() * n) : this.next() % n;
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** n random bytes, one draw each. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** One element of a non-empty list. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}
