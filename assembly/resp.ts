// STUB: replaced by the RESP framer. Signatures are the contract.
export function respFrameRequests(conn: i32, ptr: usize, len: i32): i32 { return -2; }
export function respFrameReplies(conn: i32, ptr: usize, len: i32): i32 { return -2; }
