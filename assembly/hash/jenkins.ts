// Bob Jenkins' hashes: jenkins (lookup3 hashlittle, initval 13) and one_at_a_time.
import { partialWord } from './bytes';

/** lookup3's initval as Netflix (and libmemcached) pass it. */
const JENKINS_INITVAL: u32 = 13;

/**
 * jenkins: lookup3 `hashlittle`. The C code has three read paths (4-, 2- and 1-byte aligned) that
 * give the same value on little-endian machines; one path with unaligned loads reproduces them.
 * An empty key makes the C function return before it sets the token, so no value exists for it
 * there (and Netflix routes a zero-length key to peer 0 without hashing); we return 0, the same
 * "token never set" value the hsieh vectors pin for its empty key.
 */
export function jenkins(ptr: usize, len: i32): u32 {
  if (len <= 0) return 0;
  let a: u32 = 0xdeadbeef + <u32>len + JENKINS_INITVAL;
  let b = a;
  let c = a;
  let p = ptr;
  let rem = len;
  // All but the last block: the last 1..12 bytes always go through the final mix below.
  while (rem > 12) {
    a += load<u32>(p);
    b += load<u32>(p, 4);
    c += load<u32>(p, 8);
    // mix(a, b, c)
    a -= c; a ^= rotl<u32>(c, 4); c += b;
    b -= a; b ^= rotl<u32>(a, 6); a += c;
    c -= b; c ^= rotl<u32>(b, 8); b += a;
    a -= c; a ^= rotl<u32>(c, 16); c += b;
    b -= a; b ^= rotl<u32>(a, 19); a += c;
    c -= b; c ^= rotl<u32>(b, 4); b += a;
    p += 12;
    rem -= 12;
  }
  a += partialWord(p, rem);
  if (rem > 4) b += partialWord(p + 4, rem - 4);
  if (rem > 8) c += partialWord(p + 8, rem - 8);
  // final(a, b, c)
  c ^= b; c -= rotl<u32>(b, 14);
  a ^= c; a -= rotl<u32>(c, 11);
  b ^= a; b -= rotl<u32>(a, 25);
  c ^= b; c -= rotl<u32>(b, 16);
  a ^= c; a -= rotl<u32>(c, 4);
  b ^= a; b -= rotl<u32>(a, 14);
  c ^= b; c -= rotl<u32>(b, 24);
  return c;
}

/**
 * one_at_a_time: Jenkins' one-at-a-time hash. The C code adds each byte through a plain (signed)
 * `char`, so bytes >= 0x80 are sign-extended (0xff adds 0xffffffff); Netflix nodes on x86 do this,
 * so we must too for binary keys to land on the same node.
 */
export function oneAtATime(ptr: usize, len: i32): u32 {
  let h: u32 = 0;
  const end = ptr + <usize>len;
  for (let p = ptr; p < end; p++) {
    h += <u32>(<i32>load<i8>(p));
    h += h << 10;
    h ^= h >> 6;
  }
  h += h << 3;
  h ^= h >> 11;
  h += h << 15;
  return h;
}
