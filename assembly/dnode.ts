// STUB: replaced by the dnode codec. Signatures are the contract.
export function dnodeFrame(conn: i32, ptr: usize, len: i32): i32 { return -2; }
export function dnodeEncode(out: usize, cap: i32, msgIdLo: u32, msgIdHi: u32, type: i32, flags: i32,
  version: i32, sameDc: i32, data: usize, dataLen: i32, payloadLen: i32): i32 { return -2; }
