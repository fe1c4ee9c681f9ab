// Little-endian word loads for the ragged end of a key: never read a byte at or past ptr+len.
// Block loops use plain unaligned load<u32>/load<u64>; only the last partial word comes through here.

/** Little-endian u32 of the n bytes at p (n in 0..4; missing high bytes are zero). */
// @ts-ignore: decorator
@inline export function partialWord(p: usize, n: i32): u32 {
  if (n >= 4) return load<u32>(p);
  if (n <= 0) return 0;
  let k: u32 = <u32>load<u8>(p);
  if (n > 1) k |= <u32>load<u8>(p, 1) << 8;
  if (n > 2) k |= <u32>load<u8>(p, 2) << 16;
  return k;
}

/** Little-endian u64 of the n bytes at p (n in 0..8). */
// @ts-ignore: decorator
@inline export function partialWord64(p: usize, n: i32): u64 {
  if (n >= 8) return load<u64>(p);
  if (n > 4) return <u64>load<u32>(p) | (<u64>partialWord(p + 4, n - 4) << 32);
  return <u64>partialWord(p, n);
}
