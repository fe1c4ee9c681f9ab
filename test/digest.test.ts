// Reply equivalence keys: digest64 must be plain XXH64 (seed 0) for every length and alignment, and
// memEqual must find a difference at any position. The oracle is a straight BigInt transcription of
// the XXH64 spec, checked first against the published vectors.
import { describe, it, expect } from 'vitest';
import { createCore } from '../src/wasm/core.js';
import { Prng } from './helpers/prng.js';

const M64 = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n;
const P2 = 0xC2B2AE3D27D4EB4Fn;
const P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n;
const P5 = 0x27D4EB2F165667C5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;
const mul = (a: bigint, b: bigint): bigint => (a * b) & M64;
const add = (a: bigint, b: bigint): bigint => (a + b) & M64;
const round = (acc: bigint, input: bigint): bigint => mul(rotl(add(acc, mul(input, P2)), 31n), P1);
const mergeRound = (h: bigint, v: bigint): bigint => add(mul(h ^ round(0n, v), P1), P4);

function readLE(b: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

/** XXH64 of b as the spec writes it: BigInt everywhere, no shortcuts. */
function xxh64Ref(b: Uint8Array, seed = 0n): bigint {
  const len = b.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = add(add(seed, P1), P2);
    let v2 = add(seed, P2);
    let v3 = seed;
    let v4 = (seed - P1) & M64;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, readLE(b, p, 8));
      v2 = round(v2, readLE(b, p + 8, 8));
      v3 = round(v3, readLE(b, p + 16, 8));
      v4 = round(v4, readLE(b, p + 24, 8));
    }
    h = add(add(rotl(v1, 1n), rotl(v2, 7n)), add(rotl(v3, 12n), rotl(v4, 18n)));
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4);
  } else {
    h = add(seed, P5);
  }
  h = add(h, BigInt(len));
  for (; p + 8 <= len; p += 8) h = add(mul(rotl(h ^ round(0n, readLE(b, p, 8)), 27n), P1), P4);
  if (p + 4 <= len) {
    h = add(mul(rotl(h ^ mul(readLE(b, p, 4), P1), 23n), P2), P3);
    p += 4;
  }
  for (; p < len; p++) h = mul(rotl(h ^ mul(BigInt(b[p]!), P5), 11n), P1);
  h ^= h >> 33n;
  h = mul(h, P2);
  h ^= h >> 29n;
  h = mul(h, P3);
  h ^= h >> 32n;
  return h;
}

const core = createCore({ stagingBytes: 1 << 22 });
const ex = core.exports;
const base = core.stagingPtr;
const enc = new TextEncoder();

/** digest64 of bytes copied to base + align, as an unsigned BigInt. */
function wasmDigest(bytes: Uint8Array, align = 0): bigint {
  core.u8.set(bytes, base + align);
  return BigInt.asUintN(64, ex.digest64(base + align, bytes.length));
}

describe('XXH64 oracle', () => {
  it('reproduces the published vectors', () => {
    expect(xxh64Ref(new Uint8Array(0))).toBe(0xEF46DB3751D8E999n);
    expect(xxh64Ref(enc.encode('a'))).toBe(0xD24EC4F1A98C6E5Bn);
    expect(xxh64Ref(enc.encode('abc'))).toBe(0x44BC2CF5AD770999n);
    // Longer inputs exercise the stripe loop (xxhsum -H1 values).
    expect(xxh64Ref(enc.encode('Nobody inspects the spammish repetition'))).toBe(0xFBCEA83C8A378BF1n);
    expect(xxh64Ref(enc.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x0B242D361FDA71BCn);
  });
});

describe('digest64', () => {
  it('matches the published vectors', () => {
    expect(wasmDigest(new Uint8Array(0))).toBe(0xEF46DB3751D8E999n);
    expect(wasmDigest(enc.encode('a'))).toBe(0xD24EC4F1A98C6E5Bn);
    expect(wasmDigest(enc.encode('abc'))).toBe(0x44BC2CF5AD770999n);
    expect(wasmDigest(enc.encode('Nobody inspects the spammish repetition'))).toBe(0xFBCEA83C8A378BF1n);
    expect(wasmDigest(enc.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x0B242D361FDA71BCn);
  });

  it('treats len <= 0 as the empty input and never traps', () => {
    expect(BigInt.asUintN(64, ex.digest64(base, 0))).toBe(0xEF46DB3751D8E999n);
    expect(BigInt.asUintN(64, ex.digest64(base, -1))).toBe(0xEF46DB3751D8E999n);
    expect(BigInt.asUintN(64, ex.digest64(base, -0x80000000))).toBe(0xEF46DB3751D8E999n);
    // A span running past the end of memory is refused, not read.
    const end = core.u8.length;
    expect(BigInt.asUintN(64, ex.digest64(end - 4, 8))).toBe(0xEF46DB3751D8E999n);
    expect(BigInt.asUintN(64, ex.digest64(0xFFFFFFF0 | 0, 64))).toBe(0xEF46DB3751D8E999n);
    // The last bytes of memory are still reachable.
    core.u8.set(enc.encode('abc'), end - 3);
    expect(BigInt.asUintN(64, ex.digest64(end - 3, 3))).toBe(0x44BC2CF5AD770999n);
  });

  it('equals the oracle for every length 0..300 (all tail shapes and stripe counts)', () => {
    const rng = new Prng(7);
    const bytes = new Uint8Array(300);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
    for (let len = 0; len <= 300; len++) {
      const b = bytes.subarray(0, len);
      expect(wasmDigest(b, len & 15), `len ${len}`).toBe(xxh64Ref(b));
    }
  });

  it('equals the oracle on random lengths 0..5000 at random alignments', () => {
    const rng = new Prng(0x5eed);
    for (let k = 0; k < 300; k++) {
      const len = rng.int(5001);
      const align = rng.int(64);
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) b[i] = rng.int(256);
      expect(wasmDigest(b, align), `len ${len} align ${align}`).toBe(xxh64Ref(b));
    }
  });

  it('depends only on the bytes, not on neighbours or alignment', () => {
    const b = enc.encode('$5\r\nhello\r\n');
    const want = xxh64Ref(b);
    core.u8.fill(0xAA, base, base + 64);
    expect(wasmDigest(b, 3)).toBe(want);
    core.u8.fill(0x55, base, base + 64);
    expect(wasmDigest(b, 17)).toBe(want);
  });

  it('separates replies that differ in one byte', () => {
    const a = enc.encode('$2\r\nv1\r\n');
    const b = enc.encode('$2\r\nv2\r\n');
    expect(wasmDigest(a)).not.toBe(wasmDigest(b));
  });
});

describe('memEqual', () => {
  const A = base;
  const B = base + 4096 + 5; // different alignment from A

  it('is 1 for equal buffers of every length 0..300 and 0 for a difference anywhere', () => {
    const rng = new Prng(99);
    for (let len = 0; len <= 300; len++) {
      for (let i = 0; i < len; i++) core.u8[A + i] = core.u8[B + i] = rng.int(256);
      expect(ex.memEqual(A, B, len), `equal len ${len}`).toBe(1);
      // Flip the byte at first, last and a random position.
      for (const pos of len ? [0, len - 1, rng.int(len)] : []) {
        core.u8[B + pos] ^= 0x01;
        expect(ex.memEqual(A, B, len), `len ${len} diff at ${pos}`).toBe(0);
        core.u8[B + pos] ^= 0x01;
      }
    }
  });

  it('finds a difference at every position of a 100-byte buffer', () => {
    const rng = new Prng(1234);
    for (let i = 0; i < 100; i++) core.u8[A + i] = core.u8[B + i] = rng.int(256);
    expect(ex.memEqual(A, B, 100)).toBe(1);
    for (let pos = 0; pos < 100; pos++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        core.u8[B + pos] ^= flip;
        expect(ex.memEqual(A, B, 100), `pos ${pos} flip ${flip}`).toBe(0);
        expect(ex.memEqual(B, A, 100), `pos ${pos} flip ${flip} (swapped)`).toBe(0);
        core.u8[B + pos] ^= flip;
      }
    }
    expect(ex.memEqual(A, B, 100)).toBe(1);
  });

  it('ignores bytes outside the compared range', () => {
    core.u8.fill(7, A, A + 64);
    core.u8.fill(7, B, B + 64);
    core.u8[A + 40] = 1;
    core.u8[B - 1] = 2;
    expect(ex.memEqual(A, B, 40)).toBe(1);
    expect(ex.memEqual(A, B, 41)).toBe(0);
  });

  it('treats len <= 0 as equal and never traps', () => {
    core.u8[A] = 1;
    core.u8[B] = 2;
    expect(ex.memEqual(A, B, 0)).toBe(1);
    expect(ex.memEqual(A, B, -5)).toBe(1);
    expect(ex.memEqual(A, A, 100)).toBe(1);
    const end = core.u8.length;
    expect(ex.memEqual(A, end - 8, 16)).toBe(0);
    expect(ex.memEqual(end - 16, end - 32, 16)).toBe(Number(
      Buffer.compare(core.u8.subarray(end - 16, end), core.u8.subarray(end - 32, end - 16)) === 0));
  });

  it('agrees with Buffer.equals on random pairs', () => {
    const rng = new Prng(42);
    for (let k = 0; k < 500; k++) {
      const len = rng.int(600);
      const ao = rng.int(32);
      const bo = 2048 + rng.int(32);
      for (let i = 0; i < len; i++) core.u8[A + ao + i] = core.u8[A + bo + i] = rng.int(4);
      if (len && rng.int(2)) core.u8[A + bo + rng.int(len)] ^= 1 << rng.int(8);
      const want = Buffer.from(core.u8.buffer, A + ao, len).equals(Buffer.from(core.u8.buffer, A + bo, len));
      expect(ex.memEqual(A + ao, A + bo, len), `len ${len}`).toBe(want ? 1 : 0);
    }
  });
});
