// The module's export list, and nothing else: every function a host may call, and the layout
// constants (as immutable globals) that src/wasm/abi.ts checks against its own copies.
import { initRegions, setHash, setMaxBulk, resPtr, recPtr, recCap, keyPtr, keyCap, connCap, stagingPtr, stagingCap, mbufBase, mbufSize, mbufCount } from './state';
import { mbufInit } from './mbuf';
import { connAddr } from './frame';
export { connReset } from './frame';

export * from './layout';
export { respFrameRequests, respFrameReplies } from './resp';
export * from './memcache';
export * from './dnode';
export { cmdLookup, cmdCount, cmdFlags, cmdArity, cmdFirstKey, cmdLastKey, cmdKeyStep, cmdReplyShape, cmdMerge, cmdNameCopy } from './commands';
export { hashToken, hashFull, routingToken, hashKeys } from './hash/index';
export { ringLookup, ringLookupBatch } from './ring';
export { digest64, digestLo, digestHi, memEqual } from './digest';
export { aeDigestBatch } from './anti-entropy';
export { mbufAlloc, mbufRelease, mbufReleaseChain, mbufAppend, mbufFreeCount, mbufChainFrom, mbufChainBytes, mbufChainGather } from './mbuf';

/**
 * Allocates every region once, at start-up: record table (records x 64 B), key table (keys x 16 B),
 * connection slab (conns x CONN_SIZE), staging area, mbuf pool (mbufs x mbufSize). Returns 0 or
 * ST_BADARG (bad sizes, or called twice).
 */
export function init(records: i32, keys: i32, conns: i32, staging: i32, mbufBytes: i32, mbufs: i32): i32 {
  const st = initRegions(records, keys, conns, staging, mbufBytes, mbufs);
  if (st != 0) return st;
  mbufInit();
  return 0;
}

/** Routing hash (HASH_* id) and hash_tag characters (-1 = none). */
export function configureHash(algo: i32, open: i32, close: i32): void {
  setHash(algo, open, close);
}

/** Largest bulk length / element count accepted by the framers (default 512 MB). */
export function configureMaxBulk(n: i64): void {
  setMaxBulk(n);
}


export function res_ptr(): usize { return resPtr; }
export function rec_ptr(): usize { return recPtr; }
export function rec_cap(): i32 { return recCap; }
export function key_ptr(): usize { return keyPtr; }
export function key_cap(): i32 { return keyCap; }
export function conn_ptr(c: i32): usize { return connAddr(c); }
export function conn_cap(): i32 { return connCap; }
export function staging_ptr(): usize { return stagingPtr; }
export function staging_cap(): i32 { return stagingCap; }
export function mbuf_base(): usize { return mbufBase; }
export function mbuf_size(): i32 { return mbufSize; }
export function mbuf_count(): i32 { return mbufCount; }
