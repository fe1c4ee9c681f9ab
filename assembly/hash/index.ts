// STUB: replaced by the token hashes. Signatures are the contract.
export function hashToken(algo: i32, ptr: usize, len: i32): u32 { return 0; }
export function hashFull(algo: i32, ptr: usize, len: i32, out: usize): i32 { return 0; }
export function routingToken(ptr: usize, len: i32): u32 { return 0; }
export function hashKeys(algo: i32, base: usize, keys: usize, n: i32): void {}
