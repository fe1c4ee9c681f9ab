// Region pointers and start-up configuration. Set once by init(); read by every framer.
import { CONN_SIZE, HASH_MURMUR, MBUF_HDR, RES_SIZE, REC_SIZE, KEY_SIZE, ST_BADARG } from './layout';

export let resPtr: usize = 0;
export let recPtr: usize = 0;
export let recCap: i32 = 0;
export let keyPtr: usize = 0;
export let keyCap: i32 = 0;
export let connPtr: usize = 0;
export let connCap: i32 = 0;
export let stagingPtr: usize = 0;
export let stagingCap: i32 = 0;
export let mbufBase: usize = 0;
export let mbufSize: i32 = 0;
export let mbufCount: i32 = 0;

/** Largest bulk string / multibulk element count accepted (Redis proto-max-bulk-len). */
export let maxBulk: i64 = 512 * 1024 * 1024;
/** Token hash used for routing keys, and the hash_tag pair (-1 = no tag). */
export let hashAlgo: i32 = HASH_MURMUR;
export let tagOpen: i32 = -1;
export let tagClose: i32 = -1;

function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

function alloc(bytes: usize): usize {
  // The stub runtime's bump allocator grows memory as needed: only called from init(). Fresh
  // linear memory is zero already; not filling it keeps untouched pages (most of staging and the
  // mbuf pool) out of the resident set until they are used.
  const p = heap.alloc(align16(bytes) + 16);
  return align16(p);
}

/**
 * Allocates every region once. Returns 0, or ST_BADARG for out-of-range sizes or a second call.
 * mbufSize must be a multiple of 16 and at least MBUF_HDR + 16.
 */
export function initRegions(
  records: i32, keys: i32, conns: i32, staging: i32, mbufBytes: i32, mbufs: i32,
): i32 {
  if (resPtr != 0) return ST_BADARG;
  if (records < 1 || keys < 1 || conns < 1 || staging < 64 || mbufs < 0) return ST_BADARG;
  if (mbufBytes < MBUF_HDR + 16 || (mbufBytes & 15) != 0) return ST_BADARG;
  resPtr = alloc(<usize>RES_SIZE);
  recPtr = alloc(<usize>records * <usize>REC_SIZE);
  recCap = records;
  keyPtr = alloc(<usize>keys * <usize>KEY_SIZE);
  keyCap = keys;
  connPtr = alloc(<usize>conns * <usize>CONN_SIZE);
  connCap = conns;
  stagingPtr = alloc(<usize>staging);
  stagingCap = staging;
  mbufSize = mbufBytes;
  mbufCount = mbufs;
  mbufBase = mbufs > 0 ? alloc(<usize>mbufs * <usize>mbufBytes) : 0;
  return 0;
}

export function setMaxBulk(n: i64): void {
  maxBulk = n;
}

export function setHash(algo: i32, open: i32, close: i32): void {
  hashAlgo = algo;
  tagOpen = open;
  tagClose = close;
}
