// Writing frame records, key entries and the per-call RESULT block. Shared by every framer so the
// record layout lives in one place (layout.ts) and is written in one place (here).
import {
  KEY_SIZE, REC_SIZE, RES_CONSUMED, RES_ERR_CODE, RES_ERR_POS, RES_FLAGS, RES_NEED, RES_NKEYS, RES_COUNT,
  CONN_SIZE, CONN_MODE, CONN_NO_DIGEST, ST_BADARG,
} from './layout';
import { digest64 } from './digest';
import { connCap, connPtr, keyCap, keyPtr, recCap, recPtr, resPtr } from './state';

/** Records written by the current call. */
export let nrec: i32 = 0;
/** Key entries written by the current call. */
export let nkey: i32 = 0;

/** Reply framers: whether this call's connection wants reply digests (CONN_NO_DIGEST unset). */
let digestOn: bool = true;

/** Reads the connection's CONN_NO_DIGEST for this call (reply framers, after opening the call). */
@inline export function readDigestWish(conn: usize): void {
  digestOn = load<i32>(conn, CONN_NO_DIGEST) == 0;
}

/** XXH64 of a complete reply for REC_DIGEST_*, or 0 when the connection reads no digests. */
@inline export function replyDigest(p: usize, len: i32): u64 {
  return digestOn ? digest64(p, len) : 0;
}

/** Starts a framing call: clears the result block and the counters. */
export function beginCall(): void {
  nrec = 0;
  nkey = 0;
  store<i32>(resPtr, 0, RES_CONSUMED);
  store<i32>(resPtr, 0, RES_NEED);
  store<i32>(resPtr, 0, RES_ERR_POS);
  store<i32>(resPtr, 0, RES_ERR_CODE);
  store<i32>(resPtr, 0, RES_NKEYS);
  store<i32>(resPtr, 0, RES_FLAGS);
  store<i32>(resPtr, 0, RES_COUNT);
}

/** Ends a framing call: records how far it got. Returns the record count. */
export function endCall(consumed: i32, need: i32, flags: i32): i32 {
  store<i32>(resPtr, consumed, RES_CONSUMED);
  store<i32>(resPtr, need, RES_NEED);
  store<i32>(resPtr, nkey, RES_NKEYS);
  store<i32>(resPtr, flags, RES_FLAGS);
  store<i32>(resPtr, nrec, RES_COUNT);
  return nrec;
}

/**
 * Ends a framing call with a protocol error. Returns ST_PROTOCOL (-1). The records of the complete
 * messages before the error stay valid (RES_COUNT, RES_CONSUMED): the host answers them first.
 */
export function failCall(consumed: i32, pos: i32, code: i32): i32 {
  store<i32>(resPtr, consumed, RES_CONSUMED);
  store<i32>(resPtr, pos, RES_ERR_POS);
  store<i32>(resPtr, code, RES_ERR_CODE);
  store<i32>(resPtr, nkey, RES_NKEYS);
  store<i32>(resPtr, nrec, RES_COUNT);
  return -1;
}

/** True when another record fits in the table. */
@inline export function recRoom(): bool {
  return nrec < recCap;
}

/** Address of record i of this call. */
@inline export function recAddr(i: i32): usize {
  return recPtr + <usize>i * <usize>REC_SIZE;
}

/** Claims the next record slot (zeroed, ARG1_OFF = -1) and returns its address. Check recRoom() first. */
export function recNext(): usize {
  const r = recAddr(nrec);
  nrec++;
  memory.fill(r, 0, <usize>REC_SIZE);
  store<i32>(r, -1, 44); // REC_ARG1_OFF * 4: absent until a framer sets it
  return r;
}

/**
 * Claims the next record slot WITHOUT clearing it and returns its address: for a framer's fast path
 * that writes all REC_WORDS fields itself (no per-message memory.fill). Check recRoom() first.
 */
@inline export function recClaim(): usize {
  const r = recAddr(nrec);
  nrec++;
  return r;
}

/**
 * Writes key entry i (>= nkey: not yet published) without counting it; keyCommit publishes the
 * entries up to a count. Lets a fast path write keys speculatively and drop them by not committing.
 */
@inline export function keyStore(i: i32, off: i32, len: i32, token: u32, arg: i32): void {
  // Two u64 stores (OFF|LEN, TOKEN|ARG: adjacent words, little-endian) instead of four i32 ones.
  const k = keyPtr + <usize>i * <usize>KEY_SIZE;
  store<u64>(k, <u64><u32>off | (<u64><u32>len << 32), 0);
  store<u64>(k, <u64>token | (<u64><u32>arg << 32), 8);
}

/** Publishes key entries [nkey, n) written with keyStore. */
@inline export function keyCommit(n: i32): void {
  nkey = n;
}

/** Field i (REC_* word index) of record r. */
@inline export function recSet(r: usize, field: i32, v: i32): void {
  store<i32>(r + (<usize>field << 2), v);
}

@inline export function recGet(r: usize, field: i32): i32 {
  return load<i32>(r + (<usize>field << 2));
}

/** Free key slots left in this call. */
@inline export function keyRoom(): i32 {
  return keyCap - nkey;
}

/** Appends a key entry; the caller checks keyRoom(). Returns its index. */
export function keyPush(off: i32, len: i32, token: u32, arg: i32): i32 {
  const k = keyPtr + <usize>nkey * <usize>KEY_SIZE;
  store<i32>(k, off, 0);
  store<i32>(k, len, 4);
  store<u32>(k, token, 8);
  store<i32>(k, arg, 12);
  return nkey++;
}

/** Drops key entries back to count n (a message that did not complete gives back its keys). */
@inline export function keyTruncate(n: i32): void {
  nkey = n;
}

/** Drops records back to count n. */
@inline export function recTruncate(n: i32): void {
  nrec = n;
}

/** Address of the state of connection slot c, or 0 when out of range. */
export function connAddr(c: i32): usize {
  if (c < 0 || c >= connCap) return 0;
  return connPtr + <usize>c * <usize>CONN_SIZE;
}

/** Resets a connection slot's framer state for a new connection of the given FRAMER_* mode. */
export function connReset(c: i32, mode: i32): i32 {
  const a = connAddr(c);
  if (a == 0) return ST_BADARG;
  memory.fill(a, 0, CONN_SIZE);
  store<i32>(a, mode, CONN_MODE);
  return 0;
}
