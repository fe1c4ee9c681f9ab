// STUB: replaced by the command table. Signatures are the contract.
export function cmdLookup(ptr: usize, len: i32): i32 { return 0; }
export function cmdCount(): i32 { return 0; }
export function cmdFlags(id: i32): i32 { return 0; }
export function cmdArity(id: i32): i32 { return 0; }
export function cmdFirstKey(id: i32): i32 { return 0; }
export function cmdLastKey(id: i32): i32 { return 0; }
export function cmdKeyStep(id: i32): i32 { return 0; }
export function cmdNameCopy(id: i32, out: usize): i32 { return 0; }
