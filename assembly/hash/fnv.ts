// FNV token hashes as Netflix computes them. All four reduce to 32-bit arithmetic:
//
//   fnv1_32   FNV-1  (multiply, then xor) with the 32-bit offset basis and prime.
//   fnv1a_32  FNV-1a (xor, then multiply), 32-bit constants: the canonical FNV-1a 32.
//   fnv1_64   FNV-1 over a 64-bit accumulator, token = its low 32 bits. Multiplication and xor never
//             carry information from high bits to low ones, so the low word equals FNV-1 run in 32
//             bits with the 64-bit constants truncated: basis 0x84222325, prime 0x1b3.
//   fnv1a_64  the C code already keeps a 32-bit accumulator and truncated 64-bit constants (not the
//             real FNV-1a 64): FNV-1a with basis 0x84222325 and prime 0x1b3.

const FNV32_BASIS: u32 = 0x811c9dc5;
const FNV32_PRIME: u32 = 0x01000193;
/** Low 32 bits of the FNV-64 offset basis 0xcbf29ce484222325 and prime 0x100000001b3. */
const FNV64_BASIS_LO: u32 = 0x84222325;
const FNV64_PRIME_LO: u32 = 0x000001b3;

// @ts-ignore: decorator
@inline function fnv1(ptr: usize, len: i32, basis: u32, prime: u32): u32 {
  let h = basis;
  const end = ptr + <usize>len;
  for (let p = ptr; p < end; p++) h = (h * prime) ^ <u32>load<u8>(p);
  return h;
}

// @ts-ignore: decorator
@inline function fnv1a(ptr: usize, len: i32, basis: u32, prime: u32): u32 {
  let h = basis;
  const end = ptr + <usize>len;
  for (let p = ptr; p < end; p++) h = (h ^ <u32>load<u8>(p)) * prime;
  return h;
}

export function fnv1_32(ptr: usize, len: i32): u32 {
  return fnv1(ptr, len, FNV32_BASIS, FNV32_PRIME);
}

export function fnv1a_32(ptr: usize, len: i32): u32 {
  return fnv1a(ptr, len, FNV32_BASIS, FNV32_PRIME);
}

export function fnv1_64(ptr: usize, len: i32): u32 {
  return fnv1(ptr, len, FNV64_BASIS_LO, FNV64_PRIME_LO);
}

export function fnv1a_64(ptr: usize, len: i32): u32 {
  return fnv1a(ptr, len, FNV64_BASIS_LO, FNV64_PRIME_LO);
}
