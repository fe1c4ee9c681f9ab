// The memcached text protocol framer (memcached 1.6 ASCII protocol, as twemproxy / Netflix Dynomite
// proxy it): requests from clients and replies from memcached, with the same contract as the RESP
// framer (see layout.ts and frame.ts).
//
//   request   <cmd> <token>*\r\n                    (also a bare \n, as memcached accepts)
//   storage   <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]\r\n <bytes of data> \r\n
//   reply     VALUE <key> <flags> <bytes> [<cas>]\r\n <data>\r\n ... END\r\n | STAT ... END | one line
//
// A text line is scanned once (SIMD search for \n, then tokens split on spaces as memcached does);
// a data block is jumped over by its length and never scanned.
//
// Errors a client can recover from are framed with REC_ERR so the proxy answers in the message's
// pipeline slot, as memcached does: ERR_UNKNOWN_CMD and ERR_ARITY -> "ERROR"; ERR_BAD_NUMBER ->
// "CLIENT_ERROR bad command line format" (a bad number, a key over 250 bytes, a bad `delete` form).
// Only a storage command whose <bytes> is unusable is fatal (E_BAD_MC): its data block cannot be
// found, so the stream cannot be resynced (memcached itself then parses the data as commands).
// Better than memcached: a storage command with a bad key/flags/exptime but a good <bytes> gets one
// error reply and its data block is skipped, instead of the data being run as a command.
import {
  CF_FRAGMENT, CF_NOKEY, CF_PSEUDO, CF_QUIT, CF_READ, CF_WRITE, CONN_ERR, CONN_MESSAGES, CONN_MODE,
  CONN_NEED, E_BAD_MC, E_EXPECTED_CRLF, E_INLINE_TOO_LONG, E_TOO_LARGE, ERR_ARITY, ERR_BAD_NUMBER,
  ERR_NONE, ERR_TOO_MANY_KEYS, ERR_UNKNOWN_CMD, FRAMER_MC_REP, FRAMER_MC_REQ, MAX_INLINE,
  MC_REPLY_ERROR, MC_REPLY_NUMBER, MC_REPLY_STAT, MC_REPLY_STATUS, MC_REPLY_VALUE, MC_REPLY_VERSION,
  REC_ARG1_LEN, REC_ARG1_OFF, REC_ARGC, REC_AUX, REC_CMD, REC_DIGEST_HI, REC_DIGEST_LO, REC_ERR,
  REC_FLAGS, REC_KEY_FIRST, REC_LEN, REC_NAME_LEN, REC_NAME_OFF, REC_NKEYS, REC_START, REC_TOKEN,
  RES_MORE, MF_NOREPLY, MG_MC_VALUES, MG_NONE,
} from './layout';
import {
  beginCall, connAddr, endCall, failCall, keyPush, keyRoom, keyTruncate, nkey, nrec, recNext, recRoom,
  recSet, readDigestWish, replyDigest,
} from './frame';
import { maxBulk } from './state';
import { routingToken } from './hash/index';

// ---- memcached command ids (REC_CMD in request mode) ----
export const MC_CMD_UNKNOWN: i32 = 0;
export const MC_CMD_GET: i32 = 1;
export const MC_CMD_GETS: i32 = 2;
export const MC_CMD_SET: i32 = 3;
export const MC_CMD_ADD: i32 = 4;
export const MC_CMD_REPLACE: i32 = 5;
export const MC_CMD_APPEND: i32 = 6;
export const MC_CMD_PREPEND: i32 = 7;
export const MC_CMD_CAS: i32 = 8;
export const MC_CMD_INCR: i32 = 9;
export const MC_CMD_DECR: i32 = 10;
export const MC_CMD_DELETE: i32 = 11;
export const MC_CMD_TOUCH: i32 = 12;
export const MC_CMD_GAT: i32 = 13;
export const MC_CMD_GATS: i32 = 14;
export const MC_CMD_VERSION: i32 = 15;
export const MC_CMD_QUIT: i32 = 16;
export const MC_CMD_FLUSH_ALL: i32 = 17;
export const MC_CMD_STATS: i32 = 18;
export const MC_CMD_VERBOSITY: i32 = 19;
export const MC_CMD_COUNT: i32 = 20;

/** Longest key memcached accepts (KEY_MAX_LENGTH). */
export const MC_MAX_KEY: i32 = 250;

// ---- reply sub-kinds (REC_AUX in reply mode) ----
export const MC_STATUS_STORED: i32 = 1;
export const MC_STATUS_NOT_STORED: i32 = 2;
export const MC_STATUS_EXISTS: i32 = 3;
export const MC_STATUS_NOT_FOUND: i32 = 4;
export const MC_STATUS_DELETED: i32 = 5;
export const MC_STATUS_TOUCHED: i32 = 6;
export const MC_STATUS_OK: i32 = 7;
export const MC_STATUS_RESET: i32 = 8; // "stats reset"
export const MC_ERROR_PLAIN: i32 = 1; // ERROR [text]
export const MC_ERROR_CLIENT: i32 = 2; // CLIENT_ERROR text
export const MC_ERROR_SERVER: i32 = 3; // SERVER_ERROR text

/**
 * CF_* flags of a memcached command. gat/gats are writes: they change the TTL on every replica
 * (and fragment per key like get).
 */
export function mcCmdFlags(id: i32): i32 {
  switch (id) {
    case MC_CMD_GET: case MC_CMD_GETS: return CF_READ | CF_FRAGMENT;
    case MC_CMD_GAT: case MC_CMD_GATS: return CF_WRITE | CF_FRAGMENT;
    case MC_CMD_SET: case MC_CMD_ADD: case MC_CMD_REPLACE: case MC_CMD_APPEND: case MC_CMD_PREPEND:
    case MC_CMD_CAS: case MC_CMD_INCR: case MC_CMD_DECR: case MC_CMD_DELETE: case MC_CMD_TOUCH:
      return CF_WRITE;
    case MC_CMD_VERSION: case MC_CMD_FLUSH_ALL: case MC_CMD_STATS: case MC_CMD_VERBOSITY: return CF_NOKEY;
    case MC_CMD_QUIT: return CF_QUIT | CF_PSEUDO;
    default: return 0;
  }
}

/**
 * MG_*: how the replies of a memcached command split per owner are merged: get/gets/gat/gats, the
 * VALUE items in key order (each part of a gat/gats repeats the exptime before its keys).
 */
export function mcCmdMerge(id: i32): i32 {
  return id == MC_CMD_GET || id == MC_CMD_GETS || id == MC_CMD_GAT || id == MC_CMD_GATS ? MG_MC_VALUES : MG_NONE;
}

// Per-message outcome: a message end (>= 0) or one of these.
const NEED_MORE: i32 = -1;
const BAD: i32 = -2;
const NO_ROOM: i32 = -3;

let errPos: i32 = 0;
let errCode: i32 = 0;
let needBytes: i32 = 0;

// ---- lines and tokens ----

/** Index of the first \n in [from, end), or -1. SIMD over whole 16-byte blocks, never past end. */
function findLF(ptr: usize, from: i32, end: i32): i32 {
  let i = from;
  const nl = i8x16.splat(10);
  while (i + 16 <= end) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(ptr + <usize>i), nl));
    if (m != 0) return i + ctz<i32>(m);
    i += 16;
  }
  while (i < end) {
    if (load<u8>(ptr + <usize>i) == 10) return i;
    i++;
  }
  return -1;
}

/** The \n ending the line at s, NEED_MORE, or BAD (E_INLINE_TOO_LONG) past MAX_INLINE bytes. */
function lineLF(ptr: usize, s: i32, len: i32): i32 {
  const room = len - s;
  const lf = findLF(ptr, s, room > MAX_INLINE ? s + MAX_INLINE + 1 : len);
  if (lf >= 0) return lf;
  if (room > MAX_INLINE) {
    errPos = s + MAX_INLINE;
    errCode = E_INLINE_TOO_LONG;
    return BAD;
  }
  return NEED_MORE;
}

/** End of a line's content: its \n, or the \r before it. */
@inline function contentEnd(ptr: usize, s: i32, lf: i32): i32 {
  return lf > s && load<u8>(ptr + <usize>(lf - 1)) == 13 ? lf - 1 : lf;
}

// The current token [tokS, tokE) found by nextToken.
let tokS: i32 = 0;
let tokE: i32 = 0;

/** Finds the next space-separated token in [p, end); false when there is none. */
function nextToken(ptr: usize, p: i32, end: i32): bool {
  while (p < end && load<u8>(ptr + <usize>p) == 32) p++;
  if (p >= end) return false;
  tokS = p;
  while (p < end && load<u8>(ptr + <usize>p) != 32) p++;
  tokE = p;
  return true;
}

/** Up to 8 bytes at [a, a+n) as a little-endian u64 (compared with the word constants below). */
function pack(ptr: usize, a: i32, n: i32): u64 {
  let v: u64 = 0;
  for (let i = n - 1; i >= 0; i--) v = (v << 8) | <u64>load<u8>(ptr + <usize>(a + i));
  return v;
}

/** True when token [a, a+n) is "noreply". */
@inline function isNoreply(ptr: usize, a: i32, n: i32): bool {
  return n == 7 && pack(ptr, a, 7) == 0x796c7065726f6e;
}

// First MAX_TOK tokens of a generic command line: starts and ends, i32 each.
const MAX_TOK: i32 = 8;
const tokStart = memory.data(MAX_TOK * 4);
const tokEnd = memory.data(MAX_TOK * 4);
@inline function ts(i: i32): i32 { return load<i32>(tokStart + (<usize>i << 2)); }
@inline function te(i: i32): i32 { return load<i32>(tokEnd + (<usize>i << 2)); }
@inline function tl(i: i32): i32 { return te(i) - ts(i); }

/** Tokenizes [p, end) after the command name into tokens 1..; returns the total token count. */
function tokenizeRest(ptr: usize, p: i32, end: i32): i32 {
  let n = 1;
  while (nextToken(ptr, p, end)) {
    if (n < MAX_TOK) {
      store<i32>(tokStart + (<usize>n << 2), tokS);
      store<i32>(tokEnd + (<usize>n << 2), tokE);
    }
    n++;
    p = tokE;
  }
  return n;
}

// ---- numbers (as memcached's safe_strto* accept them: optional sign, decimal digits) ----
let numVal: i64 = 0;

/** Unsigned decimal in [a, b) with an optional '+', fitting in u64. */
function parseU64(ptr: usize, a: i32, b: i32): bool {
  if (a < b && load<u8>(ptr + <usize>a) == 43) a++;
  if (a >= b) return false;
  let v: u64 = 0;
  for (let i = a; i < b; i++) {
    const d = <u64>(<u32>load<u8>(ptr + <usize>i) - 48);
    if (d > 9 || v > (0xFFFFFFFFFFFFFFFF - d) / 10) return false;
    v = v * 10 + d;
  }
  numVal = <i64>v;
  return true;
}

/** Signed decimal in [a, b) fitting in i32 (exptime, <bytes>): numVal. */
function parseI32(ptr: usize, a: i32, b: i32): bool {
  let neg = false;
  if (a < b) {
    const c = load<u8>(ptr + <usize>a);
    if (c == 45 || c == 43) { neg = c == 45; a++; }
  }
  if (a >= b || b - a > 10) return false;
  let v: i64 = 0;
  for (let i = a; i < b; i++) {
    const d = <u32>load<u8>(ptr + <usize>i) - 48;
    if (d > 9) return false;
    v = v * 10 + <i64>d;
  }
  if (neg) v = -v;
  if (v > 0x7FFFFFFF || v < -0x80000000) return false;
  numVal = v;
  return true;
}

// ---- requests ----

/** Command id of the name token [a, a+n) (memcached matches names case-sensitively). */
function lookupCommand(ptr: usize, a: i32, n: i32): i32 {
  if (n > 9 || n < 3) return MC_CMD_UNKNOWN;
  const w = pack(ptr, a, n < 8 ? n : 8);
  switch (n) {
    case 3:
      if (w == 0x746567) return MC_CMD_GET;
      if (w == 0x746573) return MC_CMD_SET;
      if (w == 0x646461) return MC_CMD_ADD;
      if (w == 0x736163) return MC_CMD_CAS;
      if (w == 0x746167) return MC_CMD_GAT;
      break;
    case 4:
      if (w == 0x73746567) return MC_CMD_GETS;
      if (w == 0x72636e69) return MC_CMD_INCR;
      if (w == 0x72636564) return MC_CMD_DECR;
      if (w == 0x73746167) return MC_CMD_GATS;
      if (w == 0x74697571) return MC_CMD_QUIT;
      break;
    case 5:
      if (w == 0x6863756f74) return MC_CMD_TOUCH;
      if (w == 0x7374617473) return MC_CMD_STATS;
      break;
    case 6:
      if (w == 0x646e65707061) return MC_CMD_APPEND;
      if (w == 0x6574656c6564) return MC_CMD_DELETE;
      break;
    case 7:
      if (w == 0x6563616c706572) return MC_CMD_REPLACE;
      if (w == 0x646e6570657270) return MC_CMD_PREPEND;
      if (w == 0x6e6f6973726576) return MC_CMD_VERSION;
      break;
    case 9: {
      const last = load<u8>(ptr + <usize>(a + 8));
      if (w == 0x6c615f6873756c66 && last == 0x6c) return MC_CMD_FLUSH_ALL; // "flush_all"
      if (w == 0x7469736f62726576 && last == 0x79) return MC_CMD_VERBOSITY; // "verbosity"
      break;
    }
  }
  return MC_CMD_UNKNOWN;
}

// What one request resolved to, written into its record by writeRequest.
let qCmd: i32 = 0;
let qErr: i32 = 0;
let qNoreply: bool = false;
let qArgc: i32 = 0;
let qKeyFirst: i32 = 0;
let qToken: u32 = 0;

/** Pushes key [a, b) as argument arg; false when the key table is full. */
function pushKey(ptr: usize, a: i32, b: i32, arg: i32): bool {
  if (keyRoom() <= 0) return false;
  const t = routingToken(ptr + <usize>a, b - a);
  if (nkey == qKeyFirst) qToken = t;
  keyPush(a, b - a, t, arg);
  return true;
}

/** get/gets/gat/gats: keys from token `firstKey` to the end of the line, streamed into the key table. */
function frameMultiKey(ptr: usize, p: i32, le: i32, firstKey: i32): i32 {
  let n = 1;
  let full = false;
  while (nextToken(ptr, p, le)) {
    p = tokE;
    if (n == 1) {
      store<i32>(tokStart + 4, tokS);
      store<i32>(tokEnd + 4, tokE);
    }
    if (n == 1 && firstKey == 2) {
      if (!parseI32(ptr, tokS, tokE)) qErr = ERR_BAD_NUMBER; // gat <exptime>
    } else if (tokE - tokS > MC_MAX_KEY) {
      qErr = ERR_BAD_NUMBER;
    } else if (qErr == ERR_NONE && !full) {
      full = !pushKey(ptr, tokS, tokE, n);
    }
    n++;
  }
  if (n <= firstKey) qErr = ERR_ARITY;
  if (full && qErr == ERR_NONE) {
    if (nrec > 0) return NO_ROOM;
    qErr = ERR_TOO_MANY_KEYS; // more keys than the whole table holds: answer with an error
  }
  return n;
}

/** A storage command: validates its line and jumps over its data block. Returns the message end. */
function frameStorage(ptr: usize, s: i32, next: i32, len: i32, n: i32): i32 {
  const cas = qCmd == MC_CMD_CAS;
  const base = cas ? 6 : 5;
  if (n != base && n != base + 1) { qErr = ERR_ARITY; return next; } // memcached: ERROR, no data read
  if (!parseI32(ptr, ts(4), te(4)) || numVal < 0 || numVal > 0x7FFFFFFD) {
    errPos = ts(4);
    errCode = E_BAD_MC;
    return BAD;
  }
  const bytes = numVal;
  const total = <i64>(next - s) + bytes + 2;
  if (bytes > maxBulk || <i64>s + total > 0x7FFFFFFF) {
    errPos = ts(4);
    errCode = E_TOO_LARGE;
    return BAD;
  }
  const dataEnd = next + <i32>bytes;
  if (dataEnd < len && load<u8>(ptr + <usize>dataEnd) != 13) return badCrlf(dataEnd);
  if (dataEnd + 2 > len) { needBytes = <i32>total; return NEED_MORE; }
  if (load<u8>(ptr + <usize>(dataEnd + 1)) != 10) return badCrlf(dataEnd);
  qNoreply = n == base + 1 && isNoreply(ptr, ts(base), tl(base));
  if (tl(1) > MC_MAX_KEY || !parseU64(ptr, ts(2), te(2)) || !parseI32(ptr, ts(3), te(3)) ||
    (cas && !parseU64(ptr, ts(5), te(5)))) {
    qErr = ERR_BAD_NUMBER;
  } else if (!pushKey(ptr, ts(1), te(1), 1)) {
    return NO_ROOM;
  }
  return dataEnd + 2;
}

function badCrlf(at: i32): i32 {
  errPos = at;
  errCode = E_EXPECTED_CRLF;
  return BAD;
}

/** A one-key command with numeric arguments: incr/decr/touch/delete. */
function frameKeyed(ptr: usize, n: i32): i32 {
  if (qCmd == MC_CMD_DELETE) {
    if (n < 2 || n > 4) { qErr = ERR_ARITY; return 0; }
    // memcached: `delete <key> [0] [noreply]`, anything else is a usage error
    qNoreply = n > 2 && isNoreply(ptr, ts(n - 1), tl(n - 1));
    const zero = n > 2 && tl(2) == 1 && load<u8>(ptr + <usize>ts(2)) == 48;
    if ((n == 3 && !zero && !qNoreply) || (n == 4 && !(zero && qNoreply))) qErr = ERR_BAD_NUMBER;
  } else {
    if (n != 3 && n != 4) { qErr = ERR_ARITY; return 0; }
    qNoreply = n == 4 && isNoreply(ptr, ts(3), tl(3));
    const ok = qCmd == MC_CMD_TOUCH ? parseI32(ptr, ts(2), te(2)) : parseU64(ptr, ts(2), te(2));
    if (!ok) qErr = ERR_BAD_NUMBER;
  }
  if (tl(1) > MC_MAX_KEY) qErr = ERR_BAD_NUMBER;
  if (qErr == ERR_NONE && !pushKey(ptr, ts(1), te(1), 1)) return NO_ROOM;
  return 0;
}

/** Keyless commands: arity and the few arguments memcached checks. */
function frameKeyless(ptr: usize, n: i32): void {
  if (qCmd == MC_CMD_FLUSH_ALL) {
    if (n > 3) { qErr = ERR_ARITY; return; }
    qNoreply = n > 1 && isNoreply(ptr, ts(n - 1), tl(n - 1));
    // memcached reads a delay unless the only argument is noreply
    if (n != (qNoreply ? 2 : 1) && !parseI32(ptr, ts(1), te(1))) qErr = ERR_BAD_NUMBER;
  } else if (qCmd == MC_CMD_VERBOSITY) {
    if (n != 2 && n != 3) { qErr = ERR_ARITY; return; }
    qNoreply = isNoreply(ptr, ts(n - 1), tl(n - 1));
  }
}

/** Frames the request at s. Returns its end, NEED_MORE, BAD or NO_ROOM. */
function frameRequest(ptr: usize, s: i32, len: i32): i32 {
  const lf = lineLF(ptr, s, len);
  if (lf < 0) return lf;
  const le = contentEnd(ptr, s, lf);
  const next = lf + 1;
  qErr = ERR_NONE;
  qNoreply = false;
  qKeyFirst = nkey;
  qToken = 0;
  store<i32>(tokEnd + 4, -1); // no ARG1 until a second token is seen
  if (!nextToken(ptr, s, le)) {
    // An empty line: memcached answers ERROR.
    store<i32>(tokStart, s);
    store<i32>(tokEnd, s);
    qCmd = MC_CMD_UNKNOWN;
    qErr = ERR_UNKNOWN_CMD;
    qArgc = 0;
    writeRequest(s, next, next);
    return next;
  }
  store<i32>(tokStart, tokS);
  store<i32>(tokEnd, tokE);
  qCmd = lookupCommand(ptr, tokS, tokE - tokS);
  let end = next;
  if (qCmd == MC_CMD_GET || qCmd == MC_CMD_GETS || qCmd == MC_CMD_GAT || qCmd == MC_CMD_GATS) {
    const n = frameMultiKey(ptr, tokE, le, qCmd >= MC_CMD_GAT ? 2 : 1);
    if (n < 0) return n;
    qArgc = n;
  } else {
    const n = tokenizeRest(ptr, tokE, le);
    qArgc = n;
    if (qCmd == MC_CMD_UNKNOWN) {
      qErr = ERR_UNKNOWN_CMD;
    } else if (qCmd <= MC_CMD_CAS) {
      end = frameStorage(ptr, s, next, len, n);
    } else if (qCmd <= MC_CMD_TOUCH) {
      const st = frameKeyed(ptr, n);
      if (st < 0) return st;
    } else {
      frameKeyless(ptr, n);
    }
  }
  if (end >= 0) writeRequest(s, end, next);
  return end;
}

function writeRequest(s: i32, end: i32, next: i32): void {
  if (qErr != ERR_NONE) keyTruncate(qKeyFirst);
  const r = recNext();
  recSet(r, REC_START, s);
  recSet(r, REC_LEN, end - s);
  recSet(r, REC_CMD, qCmd);
  recSet(r, REC_FLAGS, mcCmdFlags(qCmd) | (qNoreply ? MF_NOREPLY : 0));
  recSet(r, REC_ARGC, qArgc);
  recSet(r, REC_NAME_OFF, ts(0));
  recSet(r, REC_NAME_LEN, tl(0));
  recSet(r, REC_KEY_FIRST, qKeyFirst);
  recSet(r, REC_NKEYS, nkey - qKeyFirst);
  recSet(r, REC_TOKEN, qErr == ERR_NONE ? <i32>qToken : 0);
  recSet(r, REC_ERR, qErr);
  if (te(1) >= 0 && qArgc > 1) {
    recSet(r, REC_ARG1_OFF, ts(1));
    recSet(r, REC_ARG1_LEN, tl(1));
  }
  recSet(r, REC_AUX, next - s); // the command line; a data block follows it up to START + LEN
}

// ---- replies ----

let pKind: i32 = 0;
let pSub: i32 = 0;
let pCount: i32 = 0;
let pRestOff: i32 = -1;
let pRestLen: i32 = 0;

/** Sub-kind of a one-word status line [a, a+n), or 0. */
function statusWord(ptr: usize, a: i32, n: i32): i32 {
  if (n > 10 || n < 2) return 0;
  const w = pack(ptr, a, n < 8 ? n : 8);
  if (n == 6 && w == 0x4445524f5453) return MC_STATUS_STORED;
  if (n == 10 && w == 0x524f54535f544f4e && pack(ptr, a + 8, 2) == 0x4445) return MC_STATUS_NOT_STORED;
  if (n == 6 && w == 0x535453495845) return MC_STATUS_EXISTS;
  if (n == 9 && w == 0x4e554f465f544f4e && load<u8>(ptr + <usize>(a + 8)) == 0x44) return MC_STATUS_NOT_FOUND;
  if (n == 7 && w == 0x444554454c4544) return MC_STATUS_DELETED;
  if (n == 7 && w == 0x44454843554f54) return MC_STATUS_TOUCHED;
  if (n == 2 && w == 0x4b4f) return MC_STATUS_OK;
  if (n == 5 && w == 0x5445534552) return MC_STATUS_RESET;
  return 0;
}

/** Error kind of the first word [a, a+n) of an error line, or 0. */
function errorWord(ptr: usize, a: i32, n: i32): i32 {
  if (n == 5 && pack(ptr, a, 5) == 0x524f525245) return MC_ERROR_PLAIN;
  if (n != 12 || pack(ptr, a + 8, 4) != 0x524f5252) return 0;
  const w = pack(ptr, a, 8);
  if (w == 0x455f544e45494c43) return MC_ERROR_CLIENT;
  if (w == 0x455f524556524553) return MC_ERROR_SERVER;
  return 0;
}

@inline function isWord(ptr: usize, a: i32, n: i32, wn: i32, w: u64): bool {
  return n == wn && pack(ptr, a, n) == w;
}

/** True when [a, b) is the whole line "END". */
@inline function isEnd(ptr: usize, a: i32, b: i32): bool {
  return isWord(ptr, a, b - a, 3, 0x444e45);
}

/** VALUE items up to END, from the line at p. Returns the message end, NEED_MORE, BAD or NO_ROOM. */
function frameValues(ptr: usize, s: i32, p: i32, len: i32): i32 {
  let full = false;
  for (;;) {
    const lf = lineLF(ptr, p, len);
    if (lf < 0) {
      if (lf == NEED_MORE) needBytes = p > s ? p - s + 5 : 0; // at least "END\r\n" more
      return lf;
    }
    const le = contentEnd(ptr, p, lf);
    if (isEnd(ptr, p, le)) return lf + 1;
    // VALUE <key> <flags> <bytes> [<cas>]
    let n = 0;
    let q = p;
    let keyS = 0, keyE = 0, bytesS = 0, bytesE = 0;
    let ok = true;
    while (nextToken(ptr, q, le)) {
      q = tokE;
      if (n == 0) ok = tokS == p && isWord(ptr, tokS, tokE - tokS, 5, 0x45554c4156);
      else if (n == 1) { keyS = tokS; keyE = tokE; }
      else if (n == 2 || n == 4) ok = ok && parseU64(ptr, tokS, tokE);
      else if (n == 3) { bytesS = tokS; bytesE = tokE; }
      n++;
    }
    if (!ok || n < 4 || n > 5) { errPos = p; errCode = E_BAD_MC; return BAD; }
    if (!parseU64(ptr, bytesS, bytesE) || numVal < 0 || numVal > 0x7FFFFFFD) {
      errPos = bytesS;
      errCode = E_BAD_MC;
      return BAD;
    }
    const next = lf + 1;
    if (numVal > maxBulk || <i64>next + numVal + 7 > 0x7FFFFFFF) {
      errPos = bytesS;
      errCode = E_TOO_LARGE;
      return BAD;
    }
    const dataEnd = next + <i32>numVal;
    if (dataEnd < len && load<u8>(ptr + <usize>dataEnd) != 13) return badCrlf(dataEnd);
    if (dataEnd + 2 > len) { needBytes = dataEnd + 7 - s; return NEED_MORE; }
    if (load<u8>(ptr + <usize>(dataEnd + 1)) != 10) return badCrlf(dataEnd);
    if (!full) {
      if (keyRoom() > 0) keyPush(p, dataEnd + 2 - p, routingToken(ptr + <usize>keyS, keyE - keyS), pCount);
      else full = true;
    }
    pCount++;
    p = dataEnd + 2;
  }
  return 0;
}

/** STAT / ITEM / PREFIX lines up to END ("stats", "stats cachedump", "stats detail dump"). */
function frameStats(ptr: usize, s: i32, p: i32, len: i32): i32 {
  for (;;) {
    const lf = lineLF(ptr, p, len);
    if (lf < 0) {
      if (lf == NEED_MORE) needBytes = p - s + 5;
      return lf;
    }
    const le = contentEnd(ptr, p, lf);
    if (isEnd(ptr, p, le)) return lf + 1;
    let we = p;
    while (we < le && load<u8>(ptr + <usize>we) != 32) we++;
    if (!isStatWord(ptr, p, we - p)) {
      errPos = p;
      errCode = E_BAD_MC;
      return BAD;
    }
    pCount++;
    p = lf + 1;
  }
  return 0;
}

@inline function isStatWord(ptr: usize, a: i32, n: i32): bool {
  return isWord(ptr, a, n, 4, 0x54415453) || isWord(ptr, a, n, 4, 0x4d455449) ||
    isWord(ptr, a, n, 6, 0x584946455250);
}

/** Sets pRestOff/pRestLen to the text after the first word of the line (-1 when none). */
function restOfLine(ptr: usize, wordEnd: i32, le: i32): void {
  let p = wordEnd;
  if (p < le && load<u8>(ptr + <usize>p) == 32) p++;
  if (p < le) { pRestOff = p; pRestLen = le - p; }
}

/** Frames the reply at s. Returns its end, NEED_MORE, BAD or NO_ROOM. */
function frameReply(ptr: usize, s: i32, len: i32): i32 {
  const lf = lineLF(ptr, s, len);
  if (lf < 0) return lf;
  const le = contentEnd(ptr, s, lf);
  pSub = 0;
  pCount = 0;
  pRestOff = -1;
  pRestLen = 0;
  const keyFirst = nkey;
  // The first word runs to the first space (replies are written with single spaces).
  let we = s;
  while (we < le && load<u8>(ptr + <usize>we) != 32) we++;
  const n = we - s;
  let end = lf + 1;
  if (isWord(ptr, s, n, 5, 0x45554c4156) || (n == 3 && we == le && isEnd(ptr, s, le))) {
    pKind = MC_REPLY_VALUE;
    end = frameValues(ptr, s, s, len);
  } else if (isStatWord(ptr, s, n)) {
    pKind = MC_REPLY_STAT;
    end = frameStats(ptr, s, s, len);
  } else if (we == le && (pSub = statusWord(ptr, s, n)) != 0) {
    pKind = MC_REPLY_STATUS;
  } else if (we == le && parseDigits(ptr, s, le)) {
    pKind = MC_REPLY_NUMBER;
  } else if ((pSub = errorWord(ptr, s, n)) != 0) {
    pKind = MC_REPLY_ERROR;
    restOfLine(ptr, we, le);
  } else if (isWord(ptr, s, n, 7, 0x4e4f4953524556)) {
    pKind = MC_REPLY_VERSION;
    restOfLine(ptr, we, le);
  } else {
    errPos = s;
    errCode = E_BAD_MC;
    return BAD;
  }
  if (end < 0) {
    keyTruncate(keyFirst);
    return end;
  }
  let err = ERR_NONE;
  if (pKind == MC_REPLY_VALUE && nkey - keyFirst < pCount) {
    keyTruncate(keyFirst);
    if (nrec > 0) return NO_ROOM;
    err = ERR_TOO_MANY_KEYS; // more items than the whole key table: framed without its item spans
  }
  writeReply(ptr, s, end, we, keyFirst, err);
  return end;
}

/** A number line: digits only (incr/decr results are unsigned 64-bit). */
function parseDigits(ptr: usize, a: i32, b: i32): bool {
  return a < b && load<u8>(ptr + <usize>a) != 43 && parseU64(ptr, a, b);
}

function writeReply(ptr: usize, s: i32, end: i32, we: i32, keyFirst: i32, err: i32): void {
  const r = recNext();
  const d = replyDigest(ptr + <usize>s, end - s);
  recSet(r, REC_START, s);
  recSet(r, REC_LEN, end - s);
  recSet(r, REC_CMD, pKind);
  recSet(r, REC_ARGC, pCount);
  recSet(r, REC_NAME_OFF, s);
  recSet(r, REC_NAME_LEN, we - s);
  recSet(r, REC_KEY_FIRST, keyFirst);
  recSet(r, REC_NKEYS, nkey - keyFirst);
  recSet(r, REC_ERR, err);
  recSet(r, REC_ARG1_OFF, pRestOff);
  recSet(r, REC_ARG1_LEN, pRestLen);
  recSet(r, REC_DIGEST_LO, <i32>d);
  recSet(r, REC_DIGEST_HI, <i32>(d >> 32));
  recSet(r, REC_AUX, pSub);
}

// ---- the calls ----

@inline function inMemory(ptr: usize, len: i32): bool {
  return len >= 0 && <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

/** The framing loop shared by both directions. */
function frameAll(conn: i32, ptr: usize, len: i32, mode: i32): i32 {
  const a = connAddr(conn);
  if (a == 0 || !inMemory(ptr, len)) return -2;
  const m = load<i32>(a, CONN_MODE);
  if (m != 0 && m != mode) return -2;
  beginCall();
  readDigestWish(a);
  const sticky = load<i32>(a, CONN_ERR);
  if (sticky != 0) return failCall(0, 0, sticky);
  let pos: i32 = 0;
  let need: i32 = 0;
  let flags: i32 = 0;
  while (pos < len) {
    if (!recRoom()) { flags |= RES_MORE; break; }
    needBytes = 0;
    const keys = nkey;
    const end = mode == FRAMER_MC_REQ ? frameRequest(ptr, pos, len) : frameReply(ptr, pos, len);
    if (end >= 0) { pos = end; continue; }
    keyTruncate(keys);
    if (end == NEED_MORE) { need = needBytes; break; }
    if (end == NO_ROOM) { flags |= RES_MORE; break; }
    store<i32>(a, errCode, CONN_ERR);
    return failCall(pos, errPos, errCode);
  }
  store<i32>(a, need, CONN_NEED);
  store<i32>(a, load<i32>(a, CONN_MESSAGES) + nrec, CONN_MESSAGES);
  return endCall(pos, need, flags);
}

/**
 * Frames every complete memcached request in [ptr, ptr+len): one record per command line (with its
 * data block for storage commands). Record: CMD = MC_CMD_*, FLAGS = mcCmdFlags | MF_NOREPLY,
 * ARGC = tokens on the line, NAME = the command word, ARG1 = the second token, keys = every key
 * (get/gets/gat/gats: all of them), TOKEN = ring token of the first key, ERR = ERR_*, AUX = length
 * of the command line (the data block is [START + AUX, START + LEN - 2)).
 */
export function mcFrameRequests(conn: i32, ptr: usize, len: i32): i32 {
  return frameAll(conn, ptr, len, FRAMER_MC_REQ);
}

/**
 * Frames every complete memcached reply in [ptr, ptr+len). Record: CMD = MC_REPLY_*, AUX = the
 * MC_STATUS_* / MC_ERROR_* sub-kind, ARGC = VALUE items or STAT lines, NAME = the first word (the
 * number itself for MC_REPLY_NUMBER), ARG1 = the text after the first word of an ERROR or VERSION
 * line, keys = one per VALUE item (OFF/LEN = `VALUE` through its data's \r\n, TOKEN = its key's ring
 * token, ARG = item index), DIGEST = digest64 of the whole reply.
 */
export function mcFrameReplies(conn: i32, ptr: usize, len: i32): i32 {
  return frameAll(conn, ptr, len, FRAMER_MC_REP);
}
