// md5: the token is the first 4 bytes of the MD5 digest read little-endian, i.e. the A register
// (RFC 1321) after the last block; Netflix (like twemproxy/libmemcached) keeps only that word.
//
// No allocation: whole 64-byte blocks are compressed straight from the key; the tail, the 0x80
// marker, the zero padding and the 64-bit bit length go through a static 128-byte scratch block
// (two blocks when the tail leaves fewer than 8 free bytes).

/** Tail scratch: up to two padded blocks. */
const TAIL: usize = memory.data(128, 16);

/** The four chaining registers while a digest is being computed. */
let ra: u32 = 0;
let rb: u32 = 0;
let rc: u32 = 0;
let rd: u32 = 0;

// The four round functions, in the forms without AND-NOT (F and G as in Colin Plumb's code).
// @ts-ignore: decorator
@inline function F(x: u32, y: u32, z: u32): u32 { return z ^ (x & (y ^ z)); }
// @ts-ignore: decorator
@inline function G(x: u32, y: u32, z: u32): u32 { return y ^ (z & (x ^ y)); }
// @ts-ignore: decorator
@inline function H(x: u32, y: u32, z: u32): u32 { return x ^ y ^ z; }
// @ts-ignore: decorator
@inline function I(x: u32, y: u32, z: u32): u32 { return y ^ (x | ~z); }

/**
 * Compresses the 64-byte block at blk into (ra, rb, rc, rd). Fully unrolled, as RFC 1321's
 * reference code is: step i is  a = b + rotl(a + f(b, c, d) + X[g(i)] + K[i], s(i))  with the
 * registers renamed each step, K[i] = floor(|sin(i + 1)| * 2^32), and the message word X[g] and
 * the rotation s constants, so each step is a handful of ALU ops and one load at a fixed offset.
 */
function compress(blk: usize): void {
  let a = ra, b = rb, c = rc, d = rd;
  a = b + rotl<u32>(a + F(b, c, d) + load<u32>(blk, 0) + 0xd76aa478, 7);
  d = a + rotl<u32>(d + F(a, b, c) + load<u32>(blk, 4) + 0xe8c7b756, 12);
  c = d + rotl<u32>(c + F(d, a, b) + load<u32>(blk, 8) + 0x242070db, 17);
  b = c + rotl<u32>(b + F(c, d, a) + load<u32>(blk, 12) + 0xc1bdceee, 22);
  a = b + rotl<u32>(a + F(b, c, d) + load<u32>(blk, 16) + 0xf57c0faf, 7);
  d = a + rotl<u32>(d + F(a, b, c) + load<u32>(blk, 20) + 0x4787c62a, 12);
  c = d + rotl<u32>(c + F(d, a, b) + load<u32>(blk, 24) + 0xa8304613, 17);
  b = c + rotl<u32>(b + F(c, d, a) + load<u32>(blk, 28) + 0xfd469501, 22);
  a = b + rotl<u32>(a + F(b, c, d) + load<u32>(blk, 32) + 0x698098d8, 7);
  d = a + rotl<u32>(d + F(a, b, c) + load<u32>(blk, 36) + 0x8b44f7af, 12);
  c = d + rotl<u32>(c + F(d, a, b) + load<u32>(blk, 40) + 0xffff5bb1, 17);
  b = c + rotl<u32>(b + F(c, d, a) + load<u32>(blk, 44) + 0x895cd7be, 22);
  a = b + rotl<u32>(a + F(b, c, d) + load<u32>(blk, 48) + 0x6b901122, 7);
  d = a + rotl<u32>(d + F(a, b, c) + load<u32>(blk, 52) + 0xfd987193, 12);
  c = d + rotl<u32>(c + F(d, a, b) + load<u32>(blk, 56) + 0xa679438e, 17);
  b = c + rotl<u32>(b + F(c, d, a) + load<u32>(blk, 60) + 0x49b40821, 22);

  a = b + rotl<u32>(a + G(b, c, d) + load<u32>(blk, 4) + 0xf61e2562, 5);
  d = a + rotl<u32>(d + G(a, b, c) + load<u32>(blk, 24) + 0xc040b340, 9);
  c = d + rotl<u32>(c + G(d, a, b) + load<u32>(blk, 44) + 0x265e5a51, 14);
  b = c + rotl<u32>(b + G(c, d, a) + load<u32>(blk, 0) + 0xe9b6c7aa, 20);
  a = b + rotl<u32>(a + G(b, c, d) + load<u32>(blk, 20) + 0xd62f105d, 5);
  d = a + rotl<u32>(d + G(a, b, c) + load<u32>(blk, 40) + 0x02441453, 9);
  c = d + rotl<u32>(c + G(d, a, b) + load<u32>(blk, 60) + 0xd8a1e681, 14);
  b = c + rotl<u32>(b + G(c, d, a) + load<u32>(blk, 16) + 0xe7d3fbc8, 20);
  a = b + rotl<u32>(a + G(b, c, d) + load<u32>(blk, 36) + 0x21e1cde6, 5);
  d = a + rotl<u32>(d + G(a, b, c) + load<u32>(blk, 56) + 0xc33707d6, 9);
  c = d + rotl<u32>(c + G(d, a, b) + load<u32>(blk, 12) + 0xf4d50d87, 14);
  b = c + rotl<u32>(b + G(c, d, a) + load<u32>(blk, 32) + 0x455a14ed, 20);
  a = b + rotl<u32>(a + G(b, c, d) + load<u32>(blk, 52) + 0xa9e3e905, 5);
  d = a + rotl<u32>(d + G(a, b, c) + load<u32>(blk, 8) + 0xfcefa3f8, 9);
  c = d + rotl<u32>(c + G(d, a, b) + load<u32>(blk, 28) + 0x676f02d9, 14);
  b = c + rotl<u32>(b + G(c, d, a) + load<u32>(blk, 48) + 0x8d2a4c8a, 20);

  a = b + rotl<u32>(a + H(b, c, d) + load<u32>(blk, 20) + 0xfffa3942, 4);
  d = a + rotl<u32>(d + H(a, b, c) + load<u32>(blk, 32) + 0x8771f681, 11);
  c = d + rotl<u32>(c + H(d, a, b) + load<u32>(blk, 44) + 0x6d9d6122, 16);
  b = c + rotl<u32>(b + H(c, d, a) + load<u32>(blk, 56) + 0xfde5380c, 23);
  a = b + rotl<u32>(a + H(b, c, d) + load<u32>(blk, 4) + 0xa4beea44, 4);
  d = a + rotl<u32>(d + H(a, b, c) + load<u32>(blk, 16) + 0x4bdecfa9, 11);
  c = d + rotl<u32>(c + H(d, a, b) + load<u32>(blk, 28) + 0xf6bb4b60, 16);
  b = c + rotl<u32>(b + H(c, d, a) + load<u32>(blk, 40) + 0xbebfbc70, 23);
  a = b + rotl<u32>(a + H(b, c, d) + load<u32>(blk, 52) + 0x289b7ec6, 4);
  d = a + rotl<u32>(d + H(a, b, c) + load<u32>(blk, 0) + 0xeaa127fa, 11);
  c = d + rotl<u32>(c + H(d, a, b) + load<u32>(blk, 12) + 0xd4ef3085, 16);
  b = c + rotl<u32>(b + H(c, d, a) + load<u32>(blk, 24) + 0x04881d05, 23);
  a = b + rotl<u32>(a + H(b, c, d) + load<u32>(blk, 36) + 0xd9d4d039, 4);
  d = a + rotl<u32>(d + H(a, b, c) + load<u32>(blk, 48) + 0xe6db99e5, 11);
  c = d + rotl<u32>(c + H(d, a, b) + load<u32>(blk, 60) + 0x1fa27cf8, 16);
  b = c + rotl<u32>(b + H(c, d, a) + load<u32>(blk, 8) + 0xc4ac5665, 23);

  a = b + rotl<u32>(a + I(b, c, d) + load<u32>(blk, 0) + 0xf4292244, 6);
  d = a + rotl<u32>(d + I(a, b, c) + load<u32>(blk, 28) + 0x432aff97, 10);
  c = d + rotl<u32>(c + I(d, a, b) + load<u32>(blk, 56) + 0xab9423a7, 15);
  b = c + rotl<u32>(b + I(c, d, a) + load<u32>(blk, 20) + 0xfc93a039, 21);
  a = b + rotl<u32>(a + I(b, c, d) + load<u32>(blk, 48) + 0x655b59c3, 6);
  d = a + rotl<u32>(d + I(a, b, c) + load<u32>(blk, 12) + 0x8f0ccc92, 10);
  c = d + rotl<u32>(c + I(d, a, b) + load<u32>(blk, 40) + 0xffeff47d, 15);
  b = c + rotl<u32>(b + I(c, d, a) + load<u32>(blk, 4) + 0x85845dd1, 21);
  a = b + rotl<u32>(a + I(b, c, d) + load<u32>(blk, 32) + 0x6fa87e4f, 6);
  d = a + rotl<u32>(d + I(a, b, c) + load<u32>(blk, 60) + 0xfe2ce6e0, 10);
  c = d + rotl<u32>(c + I(d, a, b) + load<u32>(blk, 24) + 0xa3014314, 15);
  b = c + rotl<u32>(b + I(c, d, a) + load<u32>(blk, 52) + 0x4e0811a1, 21);
  a = b + rotl<u32>(a + I(b, c, d) + load<u32>(blk, 16) + 0xf7537e82, 6);
  d = a + rotl<u32>(d + I(a, b, c) + load<u32>(blk, 44) + 0xbd3af235, 10);
  c = d + rotl<u32>(c + I(d, a, b) + load<u32>(blk, 8) + 0x2ad7d2bb, 15);
  b = c + rotl<u32>(b + I(c, d, a) + load<u32>(blk, 36) + 0xeb86d391, 21);
  ra += a;
  rb += b;
  rc += c;
  rd += d;
}

/** First digest word (A, little-endian bytes 0..3 of the MD5) of [ptr, ptr+len). */
export function md5First(ptr: usize, len: i32): u32 {
  ra = 0x67452301;
  rb = 0xefcdab89;
  rc = 0x98badcfe;
  rd = 0x10325476;
  const full = len & ~63;
  for (let off = 0; off < full; off += 64) compress(ptr + <usize>off);
  const rem = len - full;
  // The length field takes the last 8 bytes of the final block; a tail of 56+ bytes pushes it to a
  // second block.
  const blocks: usize = rem < 56 ? 1 : 2;
  memory.copy(TAIL, ptr + <usize>full, <usize>rem);
  memory.fill(TAIL + <usize>rem, 0, blocks * 64 - <usize>rem);
  store<u8>(TAIL + <usize>rem, 0x80);
  store<u64>(TAIL + blocks * 64 - 8, <u64>len << 3);
  compress(TAIL);
  if (blocks == 2) compress(TAIL + 64);
  return ra;
}
