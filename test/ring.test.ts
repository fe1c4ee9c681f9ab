// Continuum lookup: the owner of a token is the first ring point >= it (unsigned), wrapping to 0.
// Table cases for the edges, then random rings and tokens against a plain linear-scan reference.
import { describe, it, expect } from 'vitest';
import { createCore } from '../src/wasm/core.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 1 << 22 });
const ex = core.exports;
const POINTS = core.stagingPtr;
const TOKENS = core.stagingPtr + (1 << 20);
const OUT = core.stagingPtr + (2 << 20);
const u32 = new Uint32Array(core.u8.buffer);
const i32 = new Int32Array(core.u8.buffer);

/** The spec in its plainest form: scan for the first point >= token; none -> 0. */
function refLookup(points: readonly number[], token: number): number {
  if (points.length === 0) return -1;
  for (let i = 0; i < points.length; i++) if (points[i]! >= token) return i;
  return 0;
}

function loadRing(points: readonly number[]): void {
  u32.set(points, POINTS >> 2);
}

function lookup(points: readonly number[], token: number): number {
  loadRing(points);
  return ex.ringLookup(POINTS, points.length, token | 0);
}

function batch(points: readonly number[], tokens: readonly number[]): number[] {
  loadRing(points);
  u32.set(tokens, TOKENS >> 2);
  ex.ringLookupBatch(POINTS, points.length, TOKENS, OUT, tokens.length);
  return Array.from(i32.subarray(OUT >> 2, (OUT >> 2) + tokens.length));
}

const RING = [100, 200, 300, 0x80000000, 0xC0000000, 0xFFFFFFF0];

describe('ringLookup', () => {
  const cases: Array<[string, readonly number[], number, number]> = [
    ['below the first point', RING, 0, 0],
    ['just below the first point', RING, 99, 0],
    ['exact hit on the first point', RING, 100, 0],
    ['between points', RING, 101, 1],
    ['exact hit in the middle', RING, 300, 2],
    ['above 0x7fffffff, below the top-bit point', RING, 0x7FFFFFFF, 3],
    ['exact hit on 0x80000000', RING, 0x80000000, 3],
    ['top bit set, between points', RING, 0x80000001, 4],
    ['exact hit on the last point', RING, 0xFFFFFFF0, 5],
    ['above the last point wraps to 0', RING, 0xFFFFFFF1, 0],
    ['max token wraps to 0', RING, 0xFFFFFFFF, 0],
    ['n = 1, below', [5000], 1, 0],
    ['n = 1, exact', [5000], 5000, 0],
    ['n = 1, above wraps', [5000], 5001, 0],
    ['n = 1, top-bit point', [0x90000000], 0x10000000, 0],
    ['n = 2, between', [10, 0xF0000000], 0xE0000000, 1],
    ['duplicates: first of the run', [10, 20, 20, 20, 30], 20, 1],
    ['duplicates: token below the run', [10, 20, 20, 20, 30], 15, 1],
    ['duplicates: token past the run', [10, 20, 20, 20, 30], 21, 4],
    ['all points equal', [7, 7, 7, 7], 7, 0],
    ['all points equal, above wraps', [7, 7, 7, 7], 8, 0],
    ['token 0 with a point at 0', [0, 1, 2], 0, 0],
    ['token 1 with points at 0', [0, 0, 2], 1, 2],
  ];
  for (const [name, points, token, want] of cases) {
    it(name, () => {
      expect(refLookup(points, token)).toBe(want);
      expect(lookup(points, token)).toBe(want);
    });
  }

  it('returns -1 for n <= 0 and never traps', () => {
    expect(ex.ringLookup(POINTS, 0, 5)).toBe(-1);
    expect(ex.ringLookup(POINTS, -3, 5)).toBe(-1);
    expect(ex.ringLookup(core.u8.length - 8, 4, 5)).toBe(-1);
    expect(ex.ringLookup(core.u8.length - 8, 2, 5) >= 0).toBe(true);
  });

  it('equals the reference on random rings and tokens', () => {
    const rng = new Prng(0xd1ce);
    for (let r = 0; r < 200; r++) {
      const n = 1 + rng.int(300);
      // Small-range rings force duplicates; full-range rings cover the top bit.
      const range = r % 3 === 0 ? 64 : 0;
      const points = Array.from({ length: n }, () => (range ? rng.int(range) : rng.next())).sort((a, b) => a - b);
      loadRing(points);
      for (let k = 0; k < 50; k++) {
        const t = range ? rng.int(range + 2) : k < 5 ? points[rng.int(n)]! : rng.next();
        expect(ex.ringLookup(POINTS, n, t | 0), `n ${n} token ${t}`).toBe(refLookup(points, t));
      }
    }
  });

  it('handles a 768-point ring (256 vnodes x 3 racks)', () => {
    const rng = new Prng(768);
    const points = Array.from({ length: 768 }, () => rng.next()).sort((a, b) => a - b);
    loadRing(points);
    for (let k = 0; k < 2000; k++) {
      const t = rng.next();
      expect(ex.ringLookup(POINTS, 768, t | 0)).toBe(refLookup(points, t));
    }
  });
});

describe('ringLookupBatch', () => {
  it('gives the same answers as single lookups (odd and even counts)', () => {
    const rng = new Prng(77);
    for (let r = 0; r < 50; r++) {
      const n = 1 + rng.int(200);
      const points = Array.from({ length: n }, () => rng.next()).sort((a, b) => a - b);
      const count = 1 + rng.int(65);
      const tokens = Array.from({ length: count }, (_, i) => (i % 4 === 0 ? points[rng.int(n)]! : rng.next()));
      const got = batch(points, tokens);
      const want = tokens.map((t) => lookup(points, t));
      expect(got).toEqual(want);
      expect(got).toEqual(tokens.map((t) => refLookup(points, t)));
    }
  });

  it('covers the edge table', () => {
    const tokens = [0, 99, 100, 101, 300, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFF0, 0xFFFFFFF1, 0xFFFFFFFF];
    expect(batch(RING, tokens)).toEqual(tokens.map((t) => refLookup(RING, t)));
  });

  it('may write its output over its input', () => {
    const tokens = [1, 150, 250, 0x90000000, 0xFFFFFFFF];
    loadRing(RING);
    u32.set(tokens, TOKENS >> 2);
    ex.ringLookupBatch(POINTS, RING.length, TOKENS, TOKENS, tokens.length);
    expect(Array.from(i32.subarray(TOKENS >> 2, (TOKENS >> 2) + 5))).toEqual([0, 1, 2, 4, 0]);
  });

  it('writes -1 for every token when n <= 0, nothing when count <= 0', () => {
    i32.fill(123, OUT >> 2, (OUT >> 2) + 4);
    ex.ringLookupBatch(POINTS, 0, TOKENS, OUT, 3);
    expect(Array.from(i32.subarray(OUT >> 2, (OUT >> 2) + 4))).toEqual([-1, -1, -1, 123]);
    i32.fill(123, OUT >> 2, (OUT >> 2) + 4);
    ex.ringLookupBatch(POINTS, 4, TOKENS, OUT, 0);
    ex.ringLookupBatch(POINTS, 4, TOKENS, OUT, -1);
    expect(Array.from(i32.subarray(OUT >> 2, (OUT >> 2) + 4))).toEqual([123, 123, 123, 123]);
  });

  it('never traps on spans past the end of memory', () => {
    const end = core.u8.length;
    expect(() => ex.ringLookupBatch(POINTS, 4, end - 4, OUT, 2)).not.toThrow();
    expect(() => ex.ringLookupBatch(POINTS, 4, TOKENS, end - 4, 2)).not.toThrow();
    expect(() => ex.ringLookupBatch(end - 4, 4, TOKENS, OUT, 2)).not.toThrow();
  });
});
