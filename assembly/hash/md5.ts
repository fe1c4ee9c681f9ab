// md5: the token is the first 4 bytes of the MD5 digest read little-endian, i.e. the A register
// (RFC 1321) after the last block; Netflix (like twemproxy/libmemcached) keeps only that word.
//
// No allocation: whole 64-byte blocks are compressed straight from the key; the tail, the 0x80
// marker, the zero padding and the 64-bit bit length go through a static 128-byte scratch block
// (two blocks when the tail leaves fewer than 8 free bytes).

/** Per-step additive constants K[i] = floor(|sin(i + 1)| * 2^32). */
const K: usize = memory.data<u32>([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

/** Per-step left rotations: four per round, repeated four times within the round. */
const SHIFTS: usize = memory.data<u8>([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

/** Tail scratch: up to two padded blocks. */
const TAIL: usize = memory.data(128, 16);

/** The four chaining registers while a digest is being computed. */
let ra: u32 = 0;
let rb: u32 = 0;
let rc: u32 = 0;
let rd: u32 = 0;

/** Compresses the 64-byte block at blk into (ra, rb, rc, rd). */
function compress(blk: usize): void {
  let a = ra, b = rb, c = rc, d = rd;
  for (let i = 0; i < 64; i++) {
    let f: u32;
    let g: i32;
    if (i < 16) {
      f = d ^ (b & (c ^ d));
      g = i;
    } else if (i < 32) {
      f = c ^ (d & (b ^ c));
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const sum = a + f + load<u32>(K + (<usize>i << 2)) + load<u32>(blk + (<usize>g << 2));
    a = d;
    d = c;
    c = b;
    b = b + rotl<u32>(sum, <u32>load<u8>(SHIFTS + <usize>i));
  }
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
  memory.fill(TAIL, 0, 128);
  memory.copy(TAIL, ptr + <usize>full, <usize>rem);
  store<u8>(TAIL + <usize>rem, 0x80);
  // The length field takes the last 8 bytes of the final block; a tail of 56+ bytes pushes it to a
  // second block.
  const blocks: usize = rem < 56 ? 1 : 2;
  store<u64>(TAIL + blocks * 64 - 8, <u64>len << 3);
  compress(TAIL);
  if (blocks == 2) compress(TAIL + 64);
  return ra;
}
