// Resumable RESP framer: one call frames every complete message in [ptr, ptr+len).
//
// Request mode (respFrameRequests): multibulk `*N\r\n` + N x `$len\r\n<bytes>\r\n`, or an inline
// line. Each complete message gets a record (command id, flags, argc, name, ARG1, keys with their
// ring tokens, per-message error). Reply mode (respFrameReplies): RESP2 + RESP3 values, one record per
// top-level reply with the spans of its top-level elements and a 64-bit digest of its bytes.
//
// "Resumable" means message-granular: a call stops at the first incomplete message, reports where
// it starts (RES_CONSUMED) and, when a bulk header was read, how many bytes it needs (RES_NEED).
// The host calls again from that message's first byte once more bytes arrived. Headers are parsed
// again then, but payloads never are: they are jumped over by length, so a call costs O(tokens).
//
// Speed: every message is first offered to resp-fast.ts (frameFast / replyFast), which frames the
// common shapes with its state in locals or hands the message back untouched (BAIL); the general
// code below is the definition of every outcome, and the fast paths only reproduce it.
//
// Parsing is strictly left to right and every error is reported at the first byte that proves it,
// so the outcome (records, error code and position) never depends on how the input was split.
//
// Grammar of a length (after `*` or `$`): `0` | [1-9][0-9]* | `-1` (only where a nil is allowed),
// then `\r\n`. A value over the limit -> E_TOO_LARGE, any other malformed length -> E_BAD_LENGTH,
// both at the first byte of the length; a `\r` not followed by `\n` -> E_EXPECTED_CRLF at the `\r`.
// A payload not followed by `\r\n` -> E_EXPECTED_CRLF at the payload end.
//
// Protocol errors are sticky per connection (CONN_ERR). When a call already framed messages before
// the bad one, it returns those (with RES_MORE, RES_CONSUMED = the bad message's start) and the next
// call reports ST_PROTOCOL, RES_ERR_POS relative to that message's start, so the host answers the
// good requests of the pipeline before it closes the connection (as Redis does).
import {
  CF_KV, CF_SCRIPT, CF_UNSUPPORTED, CONN_ERR, CONN_MESSAGES, CONN_NEED, E_BAD_INLINE, E_BAD_LENGTH,
  E_BAD_TYPE, E_EXPECTED_CRLF, E_INLINE_TOO_LONG, E_TOO_DEEP, E_TOO_LARGE, ERR_ARITY, ERR_BAD_NUMBER,
  ERR_EVAL_NOKEYS, ERR_TOO_MANY_KEYS, ERR_UNKNOWN_CMD, ERR_UNSUPPORTED, MAX_DEPTH, MAX_INLINE,
  MF_INLINE, REC_ARG1_LEN, REC_ARG1_OFF, REC_ARGC, REC_AUX, REC_CMD, REC_DIGEST_HI,
  REC_DIGEST_LO, REC_ERR, REC_FLAGS, REC_KEY_FIRST, REC_LEN, REC_NAME_LEN, REC_NAME_OFF, REC_NKEYS,
  REC_START, REC_TOKEN, RES_MORE, ST_BADARG, ST_PROTOCOL,
} from './layout';
import {
  beginCall, endCall, failCall, keyPush, keyRoom, keyTruncate, nkey, nrec, recNext, recRoom, recSet,
  connAddr, readDigestWish, replyDigest,
} from './frame';
import { maxBulk, resPtr } from './state';
import { cmdArity, cmdFirstKey, cmdFlags, cmdKeyStep, cmdLastKey, cmdLookup } from './commands';
import { routingToken } from './hash/index';
import { BAIL, emptyTagFlag, fastBegin, frameFast, replyFast } from './resp-fast';

// ---- status values of the internal parse steps (positions are >= 0) ----
const INCOMPLETE: i32 = -1; // input ended inside the message; gNeed says how much it needs
const FAILED: i32 = -2; // protocol error in gErrCode at gErrPos
const NO_ROOM: i32 = -3; // complete, but its keys/elements do not fit: stop with RES_MORE

/** Conn-slot byte offset where a sticky error's position (relative to its message) is kept. */
const CONN_ERR_REL: i32 = 16;

/** Largest element count accepted in any case (Redis rejects multibulk counts above this). */
const COUNT_CAP: i64 = 1048576 * 1024;
/** Bulk lengths are i32 offsets here: nothing larger can ever be framed. */
const BULK_CAP: i64 = 0x7fffffff;

// Per-call scratch: the input window and the limits (set at the start of each call).
let base: usize = 0;
let end: i32 = 0;
let bulkLimit: i64 = 0;
let countLimit: i64 = 0;

// Results of the small parse steps, returned through globals to keep them allocation-free.
let gLen: i64 = 0;
let gNeed: i32 = 0;
let gErrCode: i32 = 0;
let gErrPos: i32 = 0;

@inline function fail(code: i32, pos: i32): i32 {
  gErrCode = code;
  gErrPos = pos;
  return FAILED;
}

@inline function byteAt(i: i32): i32 {
  return <i32>load<u8>(base + <usize>i);
}

/** need for a message starting at s that ends at least at e (i64 to survive huge lengths). */
@inline function needTo(s: i32, e: i64): i32 {
  const n = e - <i64>s;
  return n > BULK_CAP ? <i32>BULK_CAP : <i32>n;
}

/**
 * Parses a length at p (the byte after the type byte) up to and including its `\r\n`.
 * Returns the position after `\r\n` with the value in gLen, or INCOMPLETE / FAILED.
 */
function parseLen(p: i32, limit: i64, allowNil: bool): i32 {
  // Fast path: one digit and \r\n, the common case of pipelined small commands.
  if (p + 3 <= end) {
    const w = <i32>load<u16>(base + <usize>p + 1);
    const d = byteAt(p) - 48;
    if (w == 0x0a0d && <u32>d <= 9) {
      if (<i64>d > limit) return fail(E_TOO_LARGE, p);
      gLen = d;
      return p + 3;
    }
  }
  let i = p;
  if (i >= end) return INCOMPLETE;
  let c = byteAt(i);
  let v: i64 = 0;
  if (c == 45) { // '-': only "-1", and only where a nil is allowed
    if (!allowNil) return fail(E_BAD_LENGTH, p);
    if (i + 1 >= end) return INCOMPLETE;
    if (byteAt(i + 1) != 49) return fail(E_BAD_LENGTH, p);
    v = -1;
    i += 2;
  } else if (c == 48) { // '0': no leading zeros
    i++;
  } else if (<u32>(c - 49) <= 8) {
    v = c - 48;
    if (v > limit) return fail(E_TOO_LARGE, p);
    i++;
    while (i < end) {
      const d = byteAt(i) - 48;
      if (<u32>d > 9) break;
      v = v * 10 + d; // v <= limit <= 2^31 before this step: no overflow
      if (v > limit) return fail(E_TOO_LARGE, p);
      i++;
    }
  } else {
    return fail(E_BAD_LENGTH, p);
  }
  if (i >= end) return INCOMPLETE;
  if (byteAt(i) != 13) return fail(E_BAD_LENGTH, p);
  if (i + 1 >= end) return INCOMPLETE;
  if (byteAt(i + 1) != 10) return fail(E_EXPECTED_CRLF, i);
  gLen = v;
  return i + 2;
}

/** Checks the `\r\n` after a payload ending at pe (i64: may lie far past the input). */
@inline function payloadEnd(s: i32, pe: i64): i32 {
  if (pe + 2 <= <i64>end) {
    if (load<u16>(base + <usize>pe) != 0x0a0d) return fail(E_EXPECTED_CRLF, <i32>pe);
    return <i32>pe + 2;
  }
  if (pe < <i64>end && byteAt(<i32>pe) != 13) return fail(E_EXPECTED_CRLF, <i32>pe);
  gNeed = needTo(s, pe + 2);
  return INCOMPLETE;
}

// ================================ request mode ================================

// The message being framed: set when its name is read, consulted for every later argument.
let mArgc: i32 = 0;
let mCmd: i32 = 0;
let mFlags: i32 = 0;
let mErr: i32 = 0;
let mNameOff: i32 = 0;
let mNameLen: i32 = 0;
let mArg1Off: i32 = -1;
let mArg1Len: i32 = 0;
let mKeyNext: i32 = -1; // argument index of the next key to push, -1 = none
let mKeyLast: i32 = 0; // argument index of the last key
let mKeyStep: i32 = 0;
let mOverflow: bool = false; // the message's keys do not fit in the key table
let mToken: u32 = 0;
let mKeyStart: i32 = 0;

/** Plans the keys first..last (step) of an argc-argument message; sets the overflow flag. */
function planKeys(first: i32, last: i32, step: i32): void {
  if (step <= 0 || first <= 0) return;
  if (last < 0) last = mArgc + last;
  if (last >= mArgc) last = mArgc - 1;
  if (first > last) return;
  const n = (last - first) / step + 1;
  if (n > keyRoom()) {
    mOverflow = true;
    return;
  }
  mKeyNext = first;
  mKeyLast = last;
  mKeyStep = step;
}

/** Argument 0: command lookup, flags, arity and key plan. */
function onName(off: i32, len: i32): void {
  mNameOff = off;
  mNameLen = len;
  const id = cmdLookup(base + <usize>off, len);
  mCmd = id;
  if (id == 0) {
    mErr = ERR_UNKNOWN_CMD;
    return;
  }
  const f = cmdFlags(id);
  mFlags = f;
  if (f & CF_UNSUPPORTED) {
    mErr = ERR_UNSUPPORTED;
    return;
  }
  const arity = cmdArity(id);
  if ((arity > 0 && mArgc != arity) || (arity < 0 && mArgc < -arity)) {
    mErr = ERR_ARITY;
    return;
  }
  if ((f & CF_KV) && ((mArgc - 1) & 1) != 0) {
    mErr = ERR_ARITY;
    return;
  }
  if (f & CF_SCRIPT) { // keys planned when numkeys (argument 2) is read
    if (mArgc < 3) mErr = ERR_EVAL_NOKEYS;
    return;
  }
  planKeys(cmdFirstKey(id), cmdLastKey(id), cmdKeyStep(id));
}

/**
 * EVAL/EVALSHA numkeys as Redis string2ll reads it: `0` | -?[1-9][0-9]*, within i64.
 * Plans keys 3..3+numkeys-1, or sets ERR_BAD_NUMBER / ERR_EVAL_NOKEYS.
 */
function onNumkeys(off: i32, len: i32): void {
  let i = off;
  const e = off + len;
  const neg = i < e && byteAt(i) == 45;
  if (neg) i++;
  const digits = e - i;
  // empty, "-", a leading zero ("-0", "01"), or more digits than an i64 holds
  if (digits == 0 || digits > 19 || (byteAt(i) == 48 && (digits > 1 || neg))) {
    mErr = ERR_BAD_NUMBER;
    return;
  }
  let v: u64 = 0; // 19 digits always fit in a u64
  for (; i < e; i++) {
    const d = byteAt(i) - 48;
    if (<u32>d > 9) {
      mErr = ERR_BAD_NUMBER;
      return;
    }
    v = v * 10 + <u64>d;
  }
  if (v > (neg ? <u64>9223372036854775808 : <u64>9223372036854775807)) {
    mErr = ERR_BAD_NUMBER;
    return;
  }
  if (neg || v < 1 || v > <u64>(mArgc - 3)) {
    mErr = ERR_EVAL_NOKEYS;
    return;
  }
  planKeys(3, 2 + <i32>v, 1);
}

/** A key argument: its token, and the empty-hash-tag flag when a tag is configured. */
function pushKey(i: i32, off: i32, len: i32): void {
  const t = routingToken(base + <usize>off, len);
  if (nkey == mKeyStart) mToken = t;
  keyPush(off, len, t, i);
  mFlags |= emptyTagFlag(base + <usize>off, len);
  mKeyNext = i + mKeyStep <= mKeyLast ? i + mKeyStep : -1;
}

/** Every argument after the name, in order. */
@inline function onArg(i: i32, off: i32, len: i32): void {
  if (i == 1) {
    mArg1Off = off;
    mArg1Len = len;
  }
  if (i == mKeyNext) pushKey(i, off, len);
  else if (i == 2 && (mFlags & CF_SCRIPT) != 0 && mErr == 0) onNumkeys(off, len);
}

function beginMessage(argc: i32): void {
  mArgc = argc;
  mCmd = 0;
  mFlags = 0;
  mErr = 0;
  mNameOff = 0;
  mNameLen = 0;
  mArg1Off = -1;
  mArg1Len = 0;
  mKeyNext = -1;
  mKeyLast = 0;
  mKeyStep = 0;
  mOverflow = false;
  mToken = 0;
  mKeyStart = nkey;
}

/** Writes the record of a complete request [s, e). Returns e, or NO_ROOM. */
function finishRequest(s: i32, e: i32, mflags: i32): i32 {
  if (mOverflow) {
    if (nrec != 0) return NO_ROOM;
    mErr = ERR_TOO_MANY_KEYS;
  }
  const r = recNext();
  recSet(r, REC_START, s);
  recSet(r, REC_LEN, e - s);
  recSet(r, REC_CMD, mCmd);
  recSet(r, REC_FLAGS, mFlags | mflags);
  recSet(r, REC_ARGC, mArgc);
  recSet(r, REC_NAME_OFF, mNameOff);
  recSet(r, REC_NAME_LEN, mNameLen);
  recSet(r, REC_KEY_FIRST, mKeyStart);
  recSet(r, REC_NKEYS, nkey - mKeyStart);
  recSet(r, REC_TOKEN, <i32>mToken);
  recSet(r, REC_ERR, mErr);
  recSet(r, REC_ARG1_OFF, mArg1Off);
  recSet(r, REC_ARG1_LEN, mArg1Len);
  return e;
}

/** A multibulk request at s. Returns its end, or INCOMPLETE / FAILED / NO_ROOM. */
function frameMultibulk(s: i32): i32 {
  let p = parseLen(s + 1, countLimit, true);
  if (p < 0) {
    gNeed = 0;
    return p;
  }
  const argc = <i32>gLen;
  beginMessage(argc > 0 ? argc : 0);
  if (argc <= 0) { // `*0` / `*-1`: Redis ignores it, the host sends no reply
    mNameOff = s;
    return finishRequest(s, p, 0);
  }
  for (let i = 0; i < argc; i++) {
    if (p >= end) {
      gNeed = 0;
      return INCOMPLETE;
    }
    if (byteAt(p) != 36) return fail(E_BAD_TYPE, p); // '$'
    const q = parseLen(p + 1, bulkLimit, false);
    if (q < 0) {
      gNeed = 0;
      return q;
    }
    const pe = <i64>q + gLen;
    p = payloadEnd(s, pe);
    if (p < 0) return p;
    if (i == 0) onName(q, <i32>gLen);
    else onArg(i, q, <i32>gLen);
  }
  return finishRequest(s, p, 0);
}

// Inline commands: bytes up to `\n`, an optional `\r` before it, split as Redis sdssplitargs does.
// CLASS bit 1: skipped before a token (C isspace, plus NUL); bit 2: ends an unquoted token.
const CLASS: usize = memory.data<u8>([
  2 | 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 1, 1, 3, 0, 0, // NUL, \t \n \v \f \r
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  3, // space
]);

@inline function charClass(c: i32): i32 {
  return c <= 32 ? <i32>load<u8>(CLASS + <usize>c) : 0;
}

let gTokOff: i32 = 0;
let gTokLen: i32 = 0;

/**
 * The quote at i opens a quoted part: returns the position of its closing quote, or FAILED
 * (E_BAD_INLINE) when it is unterminated or not followed by a space or the line end.
 */
function closeQuote(i: i32, e: i32): i32 {
  const c = byteAt(i);
  let j = i + 1;
  for (; j < e; j++) {
    const b = byteAt(j);
    if (b == c) break;
    // "..." escapes any next byte; '...' only \'
    if (b == 92 && j + 1 < e && (c == 34 || byteAt(j + 1) == 39)) j++;
  }
  if (j >= e) return fail(E_BAD_INLINE, i);
  if (j + 1 < e && (charClass(byteAt(j + 1)) & 1) == 0) return fail(E_BAD_INLINE, j);
  return j;
}

/**
 * The next token of the line [i, e): returns the position after it (span in gTokOff/gTokLen), e + 1
 * when none is left, or FAILED. A token that starts with a quote spans the bytes inside the quotes;
 * any other token spans its raw bytes (a quote inside it opens a quoted part, as in sdssplitargs,
 * that ends the token). Escapes are not decoded: the host decodes tokens that contain them.
 */
function nextToken(i: i32, e: i32): i32 {
  while (i < e && (charClass(byteAt(i)) & 1) != 0) i++;
  if (i >= e) return e + 1;
  const c = byteAt(i);
  if (c == 34 || c == 39) {
    const j = closeQuote(i, e);
    if (j < 0) return FAILED;
    gTokOff = i + 1;
    gTokLen = j - i - 1;
    return j + 1;
  }
  let j = i + 1;
  while (j < e) {
    const b = byteAt(j);
    if (b == 34 || b == 39) {
      const k = closeQuote(j, e);
      if (k < 0) return FAILED;
      j = k + 1;
      break;
    }
    if ((charClass(b) & 2) != 0) break;
    j++;
  }
  gTokOff = i;
  gTokLen = j - i;
  return j;
}

/** An inline request at s. Returns its end (an empty line gives no record), or a status. */
function frameInline(s: i32): i32 {
  const limit = min(end, s + MAX_INLINE + 1);
  let nl = s;
  while (nl < limit && load<u8>(base + <usize>nl) != 10) nl++;
  if (nl >= limit) {
    if (limit - s > MAX_INLINE) return fail(E_INLINE_TOO_LONG, s);
    gNeed = 0;
    return INCOMPLETE;
  }
  const e = nl > s && byteAt(nl - 1) == 13 ? nl - 1 : nl;
  // Pass 1 validates and counts (key positions may count from the end); pass 2 frames.
  let argc = 0;
  for (let i = s; ;) {
    i = nextToken(i, e);
    if (i == FAILED) return FAILED;
    if (i > e) break;
    argc++;
  }
  if (argc == 0) return nl + 1;
  beginMessage(argc);
  let i = nextToken(s, e);
  onName(gTokOff, gTokLen);
  for (let a = 1; a < argc; a++) {
    i = nextToken(i, e);
    onArg(a, gTokOff, gTokLen);
  }
  return finishRequest(s, nl + 1, MF_INLINE);
}

// ================================ shared call frame ================================

/** Checks the call's arguments; returns the conn address, or 0 for ST_BADARG. */
function openCall(conn: i32, ptr: usize, len: i32): usize {
  const c = connAddr(conn);
  if (c == 0 || resPtr == 0) return 0;
  if (len > 0 && <u64>ptr + <u64>len > (<u64>memory.size() << 16)) return 0;
  beginCall();
  base = ptr;
  end = len;
  const mb = maxBulk < 0 ? 0 : maxBulk;
  bulkLimit = mb < BULK_CAP ? mb : BULK_CAP;
  countLimit = mb < COUNT_CAP ? mb : COUNT_CAP;
  return c;
}

/** A protocol error in the message at s: sticky on the conn; deferred when records precede it. */
function protocolError(c: usize, s: i32): i32 {
  store<i32>(c, gErrCode, CONN_ERR);
  store<i32>(c, gErrPos - s, CONN_ERR_REL);
  store<i32>(c, load<i32>(c, CONN_MESSAGES) + nrec, CONN_MESSAGES);
  if (nrec > 0) return endCall(s, 0, RES_MORE);
  return failCall(s, gErrPos, gErrCode);
}

function closeCall(c: usize, p: i32, need: i32, flags: i32): i32 {
  store<i32>(c, load<i32>(c, CONN_MESSAGES) + nrec, CONN_MESSAGES);
  store<i32>(c, need, CONN_NEED);
  return endCall(p, need, flags);
}

/** Frames every complete request in [ptr, ptr+len). See the file header for the contract. */
export function respFrameRequests(conn: i32, ptr: usize, len: i32): i32 {
  const c = openCall(conn, ptr, len);
  if (c == 0) return ST_BADARG;
  const sticky = load<i32>(c, CONN_ERR);
  if (sticky != 0) return failCall(0, load<i32>(c, CONN_ERR_REL), sticky);
  fastBegin();
  let p = 0;
  let need = 0;
  let flags = 0;
  while (p < end) {
    if (!recRoom()) {
      flags = RES_MORE;
      break;
    }
    const k0 = nkey;
    let q: i32;
    if (byteAt(p) == 42) {
      q = frameFast(p, base, end, countLimit, bulkLimit);
      if (q == BAIL) q = frameMultibulk(p);
    } else {
      q = frameInline(p);
    }
    if (q >= 0) {
      p = q;
      continue;
    }
    keyTruncate(k0);
    if (q == INCOMPLETE) need = gNeed;
    else if (q == NO_ROOM) flags = RES_MORE;
    else return protocolError(c, p);
    break;
  }
  return closeCall(c, p, need, flags);
}

// ================================ reply mode ================================

// Open aggregates of the reply being framed: elements left, and whether the level is an attribute.
const STACK_REM: usize = memory.data(<i32>(MAX_DEPTH + 1) * 8, 8);
const STACK_ATTR: usize = memory.data(MAX_DEPTH + 1);

let rType: i32 = 0;
let rCount: i32 = 0;
let rAttrLen: i32 = 0;
let rFits: bool = true;
let rKeyStart: i32 = 0;

/** Scalar line types: + - : and RESP3 _ , # ( . Returns the position after `\r\n`. */
function replyLine(t: i32): i32 {
  const limit = min(end, t + MAX_INLINE + 1);
  let r = t + 1;
  while (r < limit && load<u8>(base + <usize>r) != 13) r++;
  if (r >= limit) {
    if (limit - t > MAX_INLINE) return fail(E_INLINE_TOO_LONG, t);
    return INCOMPLETE;
  }
  if (r + 1 >= end) return INCOMPLETE;
  if (byteAt(r + 1) != 10) return fail(E_EXPECTED_CRLF, r);
  return r + 2;
}

@inline function isLineType(t: i32): bool {
  return t == 43 || t == 45 || t == 58 || t == 95 || t == 44 || t == 35 || t == 40;
}

@inline function isAggregate(t: i32): bool {
  return t == 42 || t == 37 || t == 126 || t == 62 || t == 124; // * % ~ > |
}

/** One reply (with its attributes) at s. Returns its end, or INCOMPLETE / FAILED / NO_ROOM. */
function frameReply(s: i32): i32 {
  let p = s;
  let d = 0;
  let elemStart = -1;
  let elemIdx = 0;
  rType = 0;
  rCount = 0;
  rAttrLen = 0;
  rFits = true;
  rKeyStart = nkey;
  gNeed = 0;
  while (true) {
    // ---- a value starts at p, at nesting level d ----
    if (p >= end) return INCOMPLETE;
    const t = byteAt(p);
    if (d == 1 && elemStart < 0 && load<u8>(STACK_ATTR + 1) == 0) elemStart = p;
    let q: i32;
    let count: i32 = 0;
    if (t == 36 || t == 33 || t == 61) { // $ ! =
      q = parseLen(p + 1, bulkLimit, t == 36);
      if (q < 0) return q;
      count = <i32>gLen;
      if (gLen >= 0) {
        q = payloadEnd(s, <i64>q + gLen);
        if (q < 0) return q;
      }
    } else if (isAggregate(t)) {
      if (d >= MAX_DEPTH) return fail(E_TOO_DEEP, p);
      q = parseLen(p + 1, countLimit, t == 42);
      if (q < 0) return q;
      count = <i32>gLen;
      const n: i64 = t == 37 || t == 124 ? gLen << 1 : gLen;
      if (d == 0 && t != 124) {
        rType = t;
        rCount = count;
        rAttrLen = p - s;
        rFits = n <= <i64>keyRoom();
      }
      if (n > 0) {
        d++;
        store<i64>(STACK_REM + (<usize>d << 3), n);
        store<u8>(STACK_ATTR + <usize>d, t == 124 ? 1 : 0);
        p = q;
        continue;
      }
      if (t == 124) { // empty attribute: still a prefix of the value that follows
        p = q;
        continue;
      }
    } else if (isLineType(t)) {
      q = replyLine(p);
      if (q < 0) return q;
    } else {
      return fail(E_BAD_TYPE, p);
    }
    if (d == 0) {
      rType = t;
      rCount = count;
      rAttrLen = p - s;
    }
    // ---- a value ended at q: complete it at level d, closing every aggregate it completes ----
    p = q;
    while (true) {
      if (d == 0) return p;
      if (d == 1 && load<u8>(STACK_ATTR + 1) == 0) {
        if (rFits) keyPush(elemStart, p - elemStart, 0, elemIdx);
        elemIdx++;
        elemStart = -1;
      }
      const slot = STACK_REM + (<usize>d << 3);
      const rem = load<i64>(slot) - 1;
      store<i64>(slot, rem);
      if (rem > 0) break;
      const wasAttr = load<u8>(STACK_ATTR + <usize>d) != 0;
      d--;
      if (wasAttr) break; // an attribute only prefixes the next value
    }
  }
  return FAILED; // unreachable
}

/** Writes the record of a complete reply [s, e). Returns e, or NO_ROOM. */
function finishReply(s: i32, e: i32): i32 {
  let nk = nkey - rKeyStart;
  if (!rFits) {
    if (nrec != 0) return NO_ROOM;
    nk = -1;
  }
  const r = recNext();
  recSet(r, REC_START, s);
  recSet(r, REC_LEN, e - s);
  recSet(r, REC_CMD, rType);
  recSet(r, REC_ARGC, rCount);
  recSet(r, REC_KEY_FIRST, rKeyStart);
  recSet(r, REC_NKEYS, nk);
  const dg = replyDigest(base + <usize>s, e - s);
  recSet(r, REC_DIGEST_LO, <i32>dg);
  recSet(r, REC_DIGEST_HI, <i32>(dg >>> 32));
  recSet(r, REC_AUX, rAttrLen);
  return e;
}

/** Frames every complete reply in [ptr, ptr+len). Same contract as respFrameRequests. */
export function respFrameReplies(conn: i32, ptr: usize, len: i32): i32 {
  const c = openCall(conn, ptr, len);
  if (c == 0) return ST_BADARG;
  readDigestWish(c);
  const sticky = load<i32>(c, CONN_ERR);
  if (sticky != 0) return failCall(0, load<i32>(c, CONN_ERR_REL), sticky);
  let p = 0;
  let need = 0;
  let flags = 0;
  while (p < end) {
    if (!recRoom()) {
      flags = RES_MORE;
      break;
    }
    const k0 = nkey;
    let q = replyFast(p, base, end, bulkLimit);
    if (q == BAIL) {
      q = frameReply(p);
      if (q >= 0) q = finishReply(p, q);
    }
    if (q >= 0) {
      p = q;
      continue;
    }
    keyTruncate(k0);
    if (q == INCOMPLETE) need = gNeed;
    else if (q == NO_ROOM) flags = RES_MORE;
    else return protocolError(c, p);
    break;
  }
  return closeCall(c, p, need, flags);
}
