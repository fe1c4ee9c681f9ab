// The mbuf pool: fixed-size slots carved out of one region at init, a free list threaded through
// the slots' NEXT fields, and chains of mbufs for messages larger than one slot.
// Running out of mbufs returns 0: the caller applies backpressure, nothing traps.
import { MBUF_HDR, MBUF_LAST, MBUF_NEXT, MBUF_POS, MBUF_REFS } from './layout';
import { mbufBase, mbufCount, mbufSize } from './state';

let freeHead: usize = 0;
let freeCount: i32 = 0;

/** Threads every slot onto the free list. Called once by init() after the regions exist. */
export function mbufInit(): void {
  freeHead = 0;
  freeCount = 0;
  for (let i = mbufCount - 1; i >= 0; i--) {
    const m = mbufBase + <usize>i * <usize>mbufSize;
    store<i32>(m, <i32>freeHead, MBUF_NEXT);
    freeHead = m;
    freeCount++;
  }
}

/** Takes a slot off the free list (POS = LAST = data start, REFS = 1), or returns 0 when empty. */
export function mbufAlloc(): usize {
  const m = freeHead;
  if (m == 0) return 0;
  freeHead = <usize>load<i32>(m, MBUF_NEXT);
  freeCount--;
  store<i32>(m, 0, MBUF_NEXT);
  store<i32>(m, MBUF_HDR, MBUF_POS);
  store<i32>(m, MBUF_HDR, MBUF_LAST);
  store<i32>(m, 1, MBUF_REFS);
  return m;
}

function isSlot(m: usize): bool {
  if (m < mbufBase || mbufCount == 0) return false;
  const off = m - mbufBase;
  return off % <usize>mbufSize == 0 && off / <usize>mbufSize < <usize>mbufCount;
}

/** Drops one reference; the slot returns to the free list at zero. Returns 0, or -2 for a bad pointer. */
export function mbufRelease(m: usize): i32 {
  if (!isSlot(m)) return -2;
  const refs = load<i32>(m, MBUF_REFS) - 1;
  if (refs > 0) {
    store<i32>(m, refs, MBUF_REFS);
    return 0;
  }
  if (refs < 0) return -2; // already free: a double release is refused, not corrupting the list
  store<i32>(m, 0, MBUF_REFS);
  store<i32>(m, <i32>freeHead, MBUF_NEXT);
  freeHead = m;
  freeCount++;
  return 0;
}

/** Releases every mbuf of a chain (following NEXT). Returns the number released. */
export function mbufReleaseChain(m: usize): i32 {
  let n = 0;
  while (m != 0) {
    if (!isSlot(m)) return -2;
    const next = <usize>load<i32>(m, MBUF_NEXT);
    store<i32>(m, 0, MBUF_NEXT);
    if (mbufRelease(m) == 0) n++;
    m = next;
  }
  return n;
}

/**
 * Appends len bytes from src to the chain whose last mbuf is tail, taking new slots as needed.
 * Returns the new tail, or 0 when the pool ran out (the bytes written so far stay in the chain).
 */
export function mbufAppend(tail: usize, src: usize, len: i32): usize {
  let m = tail;
  let left = len;
  let from = src;
  while (left > 0) {
    let last = load<i32>(m, MBUF_LAST);
    let room = mbufSize - last;
    if (room == 0) {
      const n = mbufAlloc();
      if (n == 0) return 0;
      store<i32>(m, <i32>n, MBUF_NEXT);
      m = n;
      last = MBUF_HDR;
      room = mbufSize - MBUF_HDR;
    }
    const take = left < room ? left : room;
    memory.copy(m + <usize>last, from, <usize>take);
    store<i32>(m, last + take, MBUF_LAST);
    from += <usize>take;
    left -= take;
  }
  return m;
}

export function mbufFreeCount(): i32 {
  return freeCount;
}

/** Data bytes one mbuf holds. */
@inline function dataPerMbuf(): i32 {
  return mbufSize - MBUF_HDR;
}

/**
 * Takes a chain with room for `capacity` bytes, all of its mbufs at once or none (returns 0: the
 * pool cannot hold it now), and copies len bytes from src into it. A chain taken whole can never
 * run dry while it fills: the host reserves the message's known size (RES_NEED) up front.
 * Returns the head mbuf, 0 when the pool is short, or ST_BADARG (-2) for bad sizes.
 */
export function mbufChainFrom(src: usize, len: i32, capacity: i32): usize {
  if (len < 0 || capacity < 0 || mbufCount == 0) return <usize>-2;
  if (capacity < len) capacity = len;
  if (<u64>src + <u64>len > <u64>memory.size() << 16) return <usize>-2;
  const per = dataPerMbuf();
  let n = (capacity + per - 1) / per;
  if (n == 0) n = 1;
  if (n > freeCount) return 0;
  let head: usize = 0;
  let prev: usize = 0;
  for (let i = 0; i < n; i++) {
    const m = mbufAlloc();
    if (prev == 0) head = m;
    else store<i32>(prev, <i32>m, MBUF_NEXT);
    prev = m;
  }
  let m = head;
  let left = len;
  let from = src;
  while (left > 0) {
    const take = left < per ? left : per;
    memory.copy(m + <usize>MBUF_HDR, from, <usize>take);
    store<i32>(m, MBUF_HDR + take, MBUF_LAST);
    from += <usize>take;
    left -= take;
    if (left > 0) m = <usize>load<i32>(m, MBUF_NEXT);
  }
  return head;
}

/** Bytes held by a chain: the sum of LAST - POS over its mbufs, or -2 for a bad pointer. */
export function mbufChainBytes(head: usize): i32 {
  let n = 0;
  let m = head;
  while (m != 0) {
    if (!isSlot(m)) return -2;
    n += load<i32>(m, MBUF_LAST) - load<i32>(m, MBUF_POS);
    m = <usize>load<i32>(m, MBUF_NEXT);
  }
  return n;
}

/**
 * Copies the bytes of every mbuf of a chain ([POS, LAST) each, in order) to dst, contiguous, and
 * releases the chain. Returns the bytes copied, or -2 for a bad chain or a dst range outside memory
 * (nothing is copied or released then).
 */
export function mbufChainGather(head: usize, dst: usize): i32 {
  const total = mbufChainBytes(head);
  if (total < 0) return -2;
  if (<u64>dst + <u64>total > <u64>memory.size() << 16) return -2;
  let at = dst;
  let m = head;
  while (m != 0) {
    const pos = load<i32>(m, MBUF_POS);
    const take = load<i32>(m, MBUF_LAST) - pos;
    memory.copy(at, m + <usize>pos, <usize>take);
    at += <usize>take;
    m = <usize>load<i32>(m, MBUF_NEXT);
  }
  mbufReleaseChain(head);
  return total;
}
