// STUB: replaced by the memcached framer. Signatures are the contract.
export function mcFrameRequests(conn: i32, ptr: usize, len: i32): i32 { return -2; }
export function mcFrameReplies(conn: i32, ptr: usize, len: i32): i32 { return -2; }
