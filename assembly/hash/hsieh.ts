// hsieh: Paul Hsieh's SuperFastHash as Netflix builds it on x86-64 (get16bits = little-endian u16).
//
// An empty key returns before the C code sets the token, so its token stays zero (the vectors pin 0).
// The third byte of a 3-byte tail is added unsigned: the reference vectors (computed by the Netflix C
// functions) show no sign extension there, unlike one_at_a_time; keys ending in 3 bytes with a byte
// >= 0x80 in that position are in the binary vectors and pin it.

export function hsieh(ptr: usize, len: i32): u32 {
  if (len <= 0) return 0;
  let h: u32 = 0;
  const blocksEnd = ptr + <usize>(len & ~3);
  let p = ptr;
  while (p < blocksEnd) {
    h += <u32>load<u16>(p);
    const tmp = (<u32>load<u16>(p, 2) << 11) ^ h;
    h = (h << 16) ^ tmp;
    h += h >> 11;
    p += 4;
  }
  switch (len & 3) {
    case 3: {
      h += <u32>load<u16>(p);
      h ^= h << 16;
      h ^= <u32>load<u8>(p, 2) << 18;
      h += h >> 11;
      break;
    }
    case 2: {
      h += <u32>load<u16>(p);
      h ^= h << 11;
      h += h >> 17;
      break;
    }
    case 1: {
      h += <u32>load<u8>(p);
      h ^= h << 10;
      h += h >> 1;
      break;
    }
    default:
      break;
  }
  // Final avalanche.
  h ^= h << 3;
  h += h >> 5;
  h ^= h << 4;
  h += h >> 17;
  h ^= h << 25;
  h += h >> 6;
  return h;
}
