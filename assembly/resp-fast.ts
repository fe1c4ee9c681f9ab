// The RESP framer's fast paths. assembly/resp.ts owns the contract and the general framer; this
// module frames the common shapes with their state in locals and decides nothing on its own: each
// function either writes exactly the record (and keys) the general path would write for the
// message, or returns BAIL having published nothing (no record claimed; keys written past nkey but
// not committed), and the general path frames the message from its first byte, with every error,
// `need` and limit exactly as before. BAIL covers input that ends inside the message, any malformed
// byte, a value over a limit, `*0` / `*-1`, an unknown, unsupported or EVAL-like command, a wrong
// arity and keys that do not fit.
//
// Requests (frameFast). Nearly every request is a well-formed multibulk command, and in a pipeline
// most repeat the previous one's command, argument count and argument lengths:
//
//   1. the prefix template: the bytes `*N\r\n$L\r\n<name>\r\n` of the last message, when they fit in
//      16 bytes (`*2\r\n$3\r\nGET\r\n` is 13), are compared with the next message's first 16 in one
//      v128 compare; a match reuses that message's argc, name span, command and key plan;
//   2. otherwise the headers are read with one u32 load when N has one or two digits, and the
//      command's metadata comes from a one-entry cache of the last name (exact bytes), else from
//      cmdLookup (about 6 ns);
//   3. the arguments: the last `$N\r\n` header (up to 8 bytes) of argument 1 and of the later ones
//      is remembered, so a repeated length is one masked u64 compare and the next position does not
//      wait on the digits (the loop's critical path); payloads are jumped over by length; keys are
//      hashed inline (murmur, the default, without a hash tag); the record is eight u64 stores, no
//      memory.fill.
//
// The template and header caches are cleared at every call (fastBegin): they were checked against
// that call's limits. The name cache lives on: the command table never changes after start-up.
//
// Replies (replyFast): a top-level bulk string (not nil) or a + / - / : line, the commonest
// replies, with the record written without memory.fill.
import {
  CF_KV, CF_SCRIPT, CF_UNSUPPORTED, HASH_MURMUR, MAX_INLINE, MF_EMPTY_TAG, REC_ARG1_LEN, REC_ARG1_OFF,
  REC_ARGC, REC_AUX, REC_CMD, REC_DIGEST_HI, REC_DIGEST_LO, REC_ERR, REC_FLAGS, REC_KEY_FIRST, REC_LEN,
  REC_NAME_LEN, REC_NAME_OFF, REC_NKEYS, REC_START, REC_TOKEN, REC_WORDS,
} from './layout';
import { keyCommit, keyStore, nkey, recClaim, replyDigest } from './frame';
import { hashAlgo, keyCap, tagClose, tagOpen } from './state';
import { cmdArity, cmdFirstKey, cmdFlags, cmdKeyStep, cmdLastKey, cmdLookup } from './commands';
import { routingToken } from './hash/index';
import { murmur } from './hash/murmur';
import { tagConfigured } from './hash/tag';

/** "Not mine": the general framer takes the message from its first byte. */
export const BAIL: i32 = -4;

// The last command name resolved (exact bytes; names of 1..16 bytes are cached) and its metadata.
// The command table never changes after start-up, so the cache never needs invalidating.
let cacheLen: i32 = -1;
let cacheW0: u64 = 0;
let cacheW1: u64 = 0;
let cId: i32 = 0;
let cFlags: i32 = 0;
let cArity: i32 = 0;
let cFirst: i32 = 0;
let cLast: i32 = 0;
let cStep: i32 = 0;

// The prefix template (layer 1): valid while tplLen != 0. Its command is the c* one: a cache miss
// clears it, and so does every call's start (the limits it was checked against may have changed).
let tplLen: i32 = 0;
let tplVec: v128 = v128.splat<i32>(0);
let tplMask: v128 = v128.splat<i32>(0);
let tplArgc: i32 = 0;
let tplNameLen: i32 = 0;
let tplKeyFirst: i32 = -1; // first key's argument index, -1 = keyless
let tplKeyLast: i32 = 0;
let tplKeys: i32 = 0; // keys per message

const LANE_INDEX: v128 = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

/** Per call: keys hash with plain murmur (the default algo, no hash tag), so inline it. */
let plainMurmur: bool = true;

/**
 * Starts a request framing call: clears the template and header caches (they were checked against
 * the last call's limits) and decides whether keys hash with inline murmur.
 */
export function fastBegin(): void {
  plainMurmur = hashAlgo == HASH_MURMUR && !tagConfigured();
  tplLen = 0;
  hdr1Mask = EMPTY_MASK;
  hdr1Bytes = 0;
  hdr2Mask = EMPTY_MASK;
  hdr2Bytes = 0;
}

/** Bytes [p, p+len), 1 <= len <= 8, as a zero-padded little-endian word (overlapping loads). */
// @ts-ignore: decorator
@inline function shortWord(p: usize, len: i32): u64 {
  if (len >= 8) return load<u64>(p);
  if (len >= 4) return <u64>load<u32>(p) | (<u64>load<u32>(p + <usize>(len - 4)) << (<u64>(len - 4) << 3));
  if (len >= 2) return <u64>load<u16>(p) | (<u64>load<u16>(p + <usize>(len - 2)) << (<u64>(len - 2) << 3));
  return <u64>load<u8>(p);
}

/** Cache miss: looks the name up and fills the cache. False for an unknown name. */
function lookupName(p: usize, len: i32): bool {
  tplLen = 0;
  const id = cmdLookup(p, len);
  if (id == 0) return false;
  cId = id;
  cFlags = cmdFlags(id);
  cArity = cmdArity(id);
  cFirst = cmdFirstKey(id);
  cLast = cmdLastKey(id);
  cStep = cmdKeyStep(id);
  if (len <= 8) {
    cacheLen = len;
    cacheW0 = shortWord(p, len);
    cacheW1 = 0;
  } else if (len <= 16) {
    cacheLen = len;
    cacheW0 = load<u64>(p);
    cacheW1 = load<u64>(p + <usize>(len - 8));
  } else {
    cacheLen = -1;
  }
  return true;
}

/** Sets the c* metadata of the command named [p, p+len); false when unknown. */
// @ts-ignore: decorator
@inline function resolveName(p: usize, len: i32): bool {
  if (len == cacheLen) {
    if (len <= 8) {
      if (shortWord(p, len) == cacheW0) return true;
    } else if (load<u64>(p) == cacheW0 && load<u64>(p + <usize>(len - 8)) == cacheW1) {
      return true;
    }
  }
  return lookupName(p, len);
}

/** One digit at p in `<type>d\r\n` (w = the u32 at p), else -1. */
// @ts-ignore: decorator
@inline function oneDigit(w: u32, type: u32): i32 {
  const d = ((w >> 8) & 0xff) - 48;
  return (w & 0xffff00ff) == (0x0a0d0000 | type) && d <= 9 ? <i32>d : -1;
}

/**
 * A header `<type>N\r\n` at p with N = `0` | [1-9][0-9]* <= limit. Returns (N << 32) | position
 * after the `\r\n`, or -1 for anything else (including input that ends inside it).
 */
// @ts-ignore: decorator
@inline function header(b: usize, p: i32, e: i32, type: u32, limit: i64): i64 {
  if (p + 5 <= e) { // one or two digits (most lengths and counts): one u32 load
    const w = load<u32>(b + <usize>p);
    const d = ((w >> 8) & 0xff) - 48;
    if ((w & 0xffff00ff) == (0x0a0d0000 | type) && d <= 9) {
      if (<i64>d > limit) return -1;
      return (<i64>d << 32) | <i64>(p + 4);
    }
    const d2 = ((w >> 16) & 0xff) - 48;
    if ((w & 0xff0000ff) == (0x0d000000 | type) && d - 1 <= 8 && d2 <= 9 && load<u8>(b + <usize>p, 4) == 10) {
      const v = d * 10 + d2;
      if (<i64>v > limit) return -1;
      return (<i64>v << 32) | <i64>(p + 5);
    }
  } else if (p + 4 == e) { // one digit ending the input
    const d = oneDigit(load<u32>(b + <usize>p), type);
    if (d < 0 || <i64>d > limit) return -1;
    return (<i64>d << 32) | <i64>(p + 4);
  }
  let i = p + 1;
  if (i + 2 >= e || <u32>load<u8>(b + <usize>p) != type) return -1;
  let v: i64 = <i64>load<u8>(b + <usize>i) - 49; // first digit 1..9 (0 alone was the u32 case)
  if (<u64>v > 8) return -1;
  v++;
  i++;
  while (i < e) {
    const d = <i64>load<u8>(b + <usize>i) - 48;
    if (<u64>d > 9) break;
    v = v * 10 + d;
    if (v > limit) return -1;
    i++;
  }
  if (v > limit || i + 2 > e || load<u16>(b + <usize>i) != 0x0a0d) return -1;
  return (v << 32) | <i64>(i + 2);
}

// The paired stores below rely on these adjacencies of layout.ts: a layout change that breaks one
// stops the build here instead of writing records wrongly.
if (REC_LEN != REC_START + 1 || REC_FLAGS != REC_CMD + 1 || REC_NAME_OFF != REC_ARGC + 1
  || REC_KEY_FIRST != REC_NAME_LEN + 1 || REC_TOKEN != REC_NKEYS + 1 || REC_ARG1_OFF != REC_ERR + 1
  || REC_DIGEST_LO != REC_ARG1_LEN + 1 || REC_AUX != REC_DIGEST_HI + 1 || REC_WORDS != 16
  || REC_CMD != REC_START + 2 || REC_ARGC != REC_CMD + 2 || REC_NAME_LEN != REC_ARGC + 2
  || REC_NKEYS != REC_NAME_LEN + 2 || REC_ERR != REC_NKEYS + 2 || REC_ARG1_LEN != REC_ERR + 2
  || REC_DIGEST_HI != REC_ARG1_LEN + 2) {
  ERROR('resp.ts fast path: record layout changed, update frameFast\'s paired stores');
}

// Argument headers seen last (`$N\r\n`, up to 8 bytes: N < 100000): slot 1 for argument 1 (the
// key, mostly), slot 2 for the later ones. Keys and values of one length repeat in a pipeline, and
// a hit turns the parse into one masked u64 compare, so the next position no longer waits on the
// digits (the loop's critical path). Cleared per call (the limit N was checked against may change
// between calls). A cleared slot (all-ones mask, zero bytes) never matches: a header's byte 0 is `$`.
const EMPTY_MASK: u64 = <u64>-1;
let hdr1Bytes: u64 = 0;
let hdr1Mask: u64 = EMPTY_MASK;
let hdr1: i64 = 0; // (N << 32) | size
let hdr2Bytes: u64 = 0;
let hdr2Mask: u64 = EMPTY_MASK;
let hdr2: i64 = 0;

/** header(..., `$`, bulkLimit) for argument i, through the cache slot for i. */
// @ts-ignore: decorator
@inline function argHeader(b: usize, p: i32, e: i32, limit: i64, i: i32): i64 {
  const fits = p + 8 <= e;
  if (fits) {
    const w = load<u64>(b + <usize>p);
    if (i == 1) {
      if ((w & hdr1Mask) == hdr1Bytes) return hdr1 + <i64>p;
    } else if ((w & hdr2Mask) == hdr2Bytes) {
      return hdr2 + <i64>p;
    }
  }
  const x = header(b, p, e, 36, limit);
  if (x >= 0 && fits) {
    const size = <i32>x - p;
    if (size <= 8) {
      const mask = size == 8 ? <u64>-1 : (<u64>1 << (<u64>size << 3)) - 1;
      const bytes = load<u64>(b + <usize>p) & mask;
      const entry = x - <i64>p; // (N << 32) | size: adding p gives (N << 32) | next position
      if (i == 1) {
        hdr1Bytes = bytes;
        hdr1Mask = mask;
        hdr1 = entry;
      } else {
        hdr2Bytes = bytes;
        hdr2Mask = mask;
        hdr2 = entry;
      }
    }
  }
  return x;
}

/** Two i32 words as one little-endian u64: lo at the lower address. */
// @ts-ignore: decorator
@inline function pair(lo: i32, hi: i32): u64 {
  return <u64><u32>lo | (<u64>hi << 32);
}

/**
 * The multibulk request at s (byte `*`) of the input [b, b+e), under the call's count and bulk
 * limits: writes its record and keys and returns its end, or BAIL having published nothing.
 */
// @ts-ignore: decorator
@inline export function frameFast(s: i32, b: usize, e: i32, countLimit: i64, bulkLimit: i64): i32 {
  let argc: i32;
  let nameOff: i32;
  let nameLen: i32;
  let p: i32;
  let keyNext: i32; // argument index of the next key, -1 = none
  let keyLast: i32;
  let nKeys: i32;
  if (tplLen != 0 && s + 16 <= e
    && !v128.any_true(v128.and(v128.xor(v128.load(b + <usize>s), tplVec), tplMask))) {
    argc = tplArgc;
    nameLen = tplNameLen;
    p = s + tplLen;
    nameOff = p - 2 - nameLen;
    keyNext = tplKeyFirst;
    keyLast = tplKeyLast;
    nKeys = tplKeys;
  } else {
    let x = header(b, s, e, 42, countLimit); // `*argc\r\n`
    if (x < 0) return BAIL;
    argc = <i32>(x >>> 32);
    if (argc == 0) return BAIL;
    x = header(b, <i32>x, e, 36, bulkLimit); // the name
    if (x < 0) return BAIL;
    nameOff = <i32>x;
    nameLen = <i32>(x >>> 32);
    if (nameLen > e - nameOff - 2) return BAIL;
    p = nameOff + nameLen;
    if (load<u16>(b + <usize>p) != 0x0a0d || !resolveName(b + <usize>nameOff, nameLen)) return BAIL;
    p += 2;
    // The command: anything but a plain, well-formed call goes to the general path.
    const flags = cFlags;
    const arity = cArity;
    if ((flags & (CF_UNSUPPORTED | CF_SCRIPT)) != 0) return BAIL;
    if (arity > 0 ? argc != arity : argc < -arity) return BAIL;
    if ((flags & CF_KV) != 0 && ((argc - 1) & 1) != 0) return BAIL;
    // Its keys: arguments first, first + step ... keyLast (as planKeys).
    keyNext = -1;
    keyLast = 0;
    nKeys = 0;
    const step = cStep;
    const first = cFirst;
    if (step > 0 && first > 0) {
      keyLast = cLast < 0 ? argc + cLast : cLast;
      if (keyLast >= argc) keyLast = argc - 1;
      if (first <= keyLast) {
        keyNext = first;
        nKeys = step == 1 ? keyLast - first + 1 : (keyLast - first) / step + 1;
      }
    }
    if (p - s <= 16 && s + 16 <= e) { // becomes the template
      tplLen = p - s;
      tplMask = i8x16.lt_u(LANE_INDEX, i8x16.splat(<i8>tplLen));
      tplVec = v128.and(v128.load(b + <usize>s), tplMask);
      tplArgc = argc;
      tplNameLen = nameLen;
      tplKeyFirst = keyNext;
      tplKeyLast = keyLast;
      tplKeys = nKeys;
    }
  }
  const k0 = nkey;
  if (nKeys > keyCap - k0) return BAIL;
  const step = cStep;
  let flags = cFlags;
  let nk = k0;
  let token: u32 = 0;
  let arg1Off = -1;
  let arg1Len = 0;
  const plain = plainMurmur;
  const bulkMax = bulkLimit;
  for (let i = 1; i < argc; i++) {
    const x = argHeader(b, p, e, bulkMax, i);
    if (x < 0) return BAIL;
    const off = <i32>x;
    const len = <i32>(x >>> 32);
    if (len > e - off - 2) return BAIL;
    p = off + len;
    if (load<u16>(b + <usize>p) != 0x0a0d) return BAIL;
    p += 2;
    if (i == 1) {
      arg1Off = off;
      arg1Len = len;
    }
    if (i == keyNext) {
      let t: u32;
      if (plain) {
        t = murmur(b + <usize>off, len);
      } else {
        t = routingToken(b + <usize>off, len);
        flags |= emptyTagFlag(b + <usize>off, len);
      }
      if (nk == k0) token = t;
      keyStore(nk, off, len, t, i);
      nk++;
      keyNext = i + step <= keyLast ? i + step : -1;
    }
  }
  keyCommit(nk);
  // The record, all REC_WORDS fields as eight i64 stores (store throughput is what limits here):
  // each pair is (low word | high word << 32), little-endian, so word order is as in layout.ts.
  const r = recClaim();
  store<u64>(r, pair(s, p - s), REC_START << 2); // START, LEN
  store<u64>(r, pair(cId, flags), REC_CMD << 2); // CMD, FLAGS
  store<u64>(r, pair(argc, nameOff), REC_ARGC << 2); // ARGC, NAME_OFF
  store<u64>(r, pair(nameLen, k0), REC_NAME_LEN << 2); // NAME_LEN, KEY_FIRST
  store<u64>(r, pair(nk - k0, token), REC_NKEYS << 2); // NKEYS, TOKEN
  store<u64>(r, pair(0, arg1Off), REC_ERR << 2); // ERR, ARG1_OFF
  store<u64>(r, pair(arg1Len, 0), REC_ARG1_LEN << 2); // ARG1_LEN, DIGEST_LO
  store<u64>(r, 0, REC_DIGEST_HI << 2); // DIGEST_HI, AUX
  return p;
}

/** MF_EMPTY_TAG when a hash tag is configured and the key [p, p+len)'s first tag is empty, else 0. */
export function emptyTagFlag(p: usize, len: i32): i32 {
  if (tagOpen >= 0) {
    for (let j = p, e = p + <usize>len - 1; j < e; j++) {
      if (<i32>load<u8>(j) == tagOpen) return <i32>load<u8>(j, 1) == tagClose ? MF_EMPTY_TAG : 0;
    }
  }
  return 0;
}

/**
 * Fast path for the commonest replies: a top-level bulk string (`$N\r\n...\r\n`, not nil) or a
 * `+` / `-` / `:` line, with no attribute before it. Writes the record finishReply would write
 * (all fields, no memory.fill) and returns the reply's end; BAIL for anything else or anything
 * incomplete or malformed, having written nothing: frameReply then frames it from its first byte.
 * The input is [b, b+e); bulkLimit is the call's.
 */
// @ts-ignore: decorator
@inline export function replyFast(s: i32, b: usize, e: i32, bulkLimit: i64): i32 {
  const t = <i32>load<u8>(b + <usize>s);
  let q: i32;
  let count = 0;
  if (t == 36) { // '$'
    const x = header(b, s, e, 36, bulkLimit);
    if (x < 0) return BAIL;
    const off = <i32>x;
    count = <i32>(x >>> 32);
    if (count > e - off - 2) return BAIL;
    q = off + count;
    if (load<u16>(b + <usize>q) != 0x0a0d) return BAIL;
    q += 2;
  } else if (t == 43 || t == 45 || t == 58) { // '+' '-' ':' (the scan of replyLine)
    const limit = min(e, s + MAX_INLINE + 1);
    let r = s + 1;
    while (r < limit && load<u8>(b + <usize>r) != 13) r++;
    if (r >= limit || r + 1 >= e || load<u8>(b + <usize>r, 1) != 10) return BAIL;
    q = r + 2;
  } else {
    return BAIL;
  }
  const dg = replyDigest(b + <usize>s, q - s);
  const r = recClaim();
  store<u64>(r, pair(s, q - s), REC_START << 2); // START, LEN
  store<u64>(r, pair(t, 0), REC_CMD << 2); // CMD = type, FLAGS
  store<u64>(r, pair(count, 0), REC_ARGC << 2); // ARGC = bulk length (0 for a line), NAME_OFF
  store<u64>(r, pair(0, nkey), REC_NAME_LEN << 2); // NAME_LEN, KEY_FIRST
  store<u64>(r, 0, REC_NKEYS << 2); // NKEYS, TOKEN
  store<u64>(r, pair(0, -1), REC_ERR << 2); // ERR, ARG1_OFF (absent)
  store<u64>(r, dg << 32, REC_ARG1_LEN << 2); // ARG1_LEN, DIGEST_LO
  store<u64>(r, dg >>> 32, REC_DIGEST_HI << 2); // DIGEST_HI, AUX (no attributes)
  return q;
}

