// The dnode peer protocol header codec (wire-compatible with Netflix Dynomite, src/dyn_dnode_msg.c).
//
// One message = one text header line + payload_len raw bytes (a Redis or memcached message, possibly
// AES-encrypted):
//
//   "   $2014$ " msg_id " " type " " flags " " version " " same_dc " *" data_len " " data " *" payload_len "\r\n" payload
//    |  |                                                                                              |     |
//    |  magic (the reader resyncs on it)                                                 header ends here     payload_len bytes
//    up to DN_MAX_LEAD spaces belong to the message (Netflix writes three)
//
// Field rules, as Netflix's reader (dyn_parse_core) accepts what its writer (dmsg_write) produces:
//   msg_id   decimal uint64 (1-20 digits)        type     0..13 (dmsg_type_t)
//   flags    one digit (the reader takes exactly one: bit0 encrypted, bit1 compressed)
//   version  decimal, 1-3 digits                 same_dc  one digit
//   data     data_len raw bytes, then exactly " *"  (data_len 0 gives "*0  *": the empty data sits
//            between the two separating spaces, which is what Netflix's reader walks through)
// Netflix resets and rescans on any odd byte after the magic; we treat it as a broken peer instead
// (ST_PROTOCOL, E_BAD_DNODE): a well-behaved peer never sends one, and resyncing inside a header
// could frame payload bytes as a message. Garbage *before* a magic is skipped and counted.
import {
  CONN_ERR, CONN_MESSAGES, CONN_MODE, CONN_NEED, DN_TYPE_GOSSIP_SHUTDOWN, E_BAD_DNODE, E_TOO_LARGE,
  FRAMER_DNODE, REC_ARG1_LEN, REC_ARG1_OFF, REC_AUX, REC_CMD, REC_ERR, REC_FLAGS, REC_ARGC,
  REC_KEY_FIRST, REC_LEN, REC_NAME_LEN, REC_NAME_OFF, REC_NKEYS, REC_START, REC_TOKEN, RES_MORE,
} from './layout';
import { beginCall, connAddr, endCall, failCall, nrec, recNext, recRoom, recSet } from './frame';
import { maxBulk } from './state';

/** Spaces before the magic that still count as part of the message (more are skipped garbage). */
export const DN_MAX_LEAD: i32 = 8;
/** Bytes of the magic "$2014$". */
const MAGIC_LEN: i32 = 6;
/** Largest data field accepted (Netflix puts one byte, or an RSA-wrapped AES key: <= 512 bytes). */
export const DN_MAX_DATA: i32 = 65536;
/** Per-connection state at connAddr(conn) + 16: bytes skipped (garbage) since the last message. */
const CONN_DN_SKIPPED: i32 = 16;

// Outcome of parsing one message (parseMessage): its end, or one of these.
const NEED_MORE: i32 = -1;
const BAD: i32 = -2;

// Filled by parseMessage for the caller.
let errPos: i32 = 0;
let errCode: i32 = 0;
let needBytes: i32 = 0;
let msgIdLo: u32 = 0;
let msgIdHi: u32 = 0;
let fType: i32 = 0;
let fFlags: i32 = 0;
let fVersion: i32 = 0;
let fSameDc: i32 = 0;
let dataOff: i32 = 0;
let dataLen: i32 = 0;
let payloadOff: i32 = 0;
let payloadLen: i32 = 0;
// Number scanning (scanDigits): value and the position after the digits.
let numVal: u64 = 0;
let numEnd: i32 = 0;

@inline function isDigit(c: u32): bool {
  return c - 48 < 10;
}

/** True when the 6 bytes at p are "$2014$" (caller guarantees p + 6 <= end). */
@inline function isMagic(p: usize): bool {
  // "$201" little-endian, then "4$".
  return load<u32>(p) == 0x31303224 && load<u16>(p, 4) == 0x2434;
}

/**
 * Reads up to maxDigits decimal digits at [pos, len). Returns 1 (numVal, numEnd set; at least one
 * digit and a non-digit follows), 0 when the input ends inside the number, -1 when malformed
 * (no digit, too many digits, or u64 overflow; errPos set).
 */
function scanDigits(ptr: usize, pos: i32, len: i32, maxDigits: i32): i32 {
  let v: u64 = 0;
  let p = pos;
  while (p < len) {
    const c = <u32>load<u8>(ptr + <usize>p);
    if (!isDigit(c)) break;
    if (p - pos >= maxDigits) { errPos = p; return -1; }
    const d = <u64>(c - 48);
    if (v > (0xFFFFFFFFFFFFFFFF - d) / 10) { errPos = p; return -1; }
    v = v * 10 + d;
    p++;
  }
  if (p >= len) return 0;
  if (p == pos) { errPos = p; return -1; }
  numVal = v;
  numEnd = p;
  return 1;
}

/** Expects byte c at pos: 1 yes, 0 input ends, -1 another byte (errPos set). */
@inline function expectByte(ptr: usize, pos: i32, len: i32, c: u32): i32 {
  if (pos >= len) return 0;
  if (<u32>load<u8>(ptr + <usize>pos) != c) { errPos = pos; return -1; }
  return 1;
}

/** Reads a number field and the byte that must follow it. Returns the position after that byte, NEED_MORE or BAD. */
function field(ptr: usize, pos: i32, len: i32, maxDigits: i32, sep: u32): i32 {
  const st = scanDigits(ptr, pos, len, maxDigits);
  if (st <= 0) return st == 0 ? NEED_MORE : BAD;
  const e = expectByte(ptr, numEnd, len, sep);
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  return numEnd + 1;
}

/**
 * Parses the header whose magic is at m (message starts at start) and checks the payload is all
 * here. Returns the message end, NEED_MORE (needBytes = total needed from start, or 0) or BAD.
 */
function parseMessage(ptr: usize, start: i32, m: i32, len: i32): i32 {
  errCode = E_BAD_DNODE;
  needBytes = 0;
  let p = m + MAGIC_LEN;
  let e = expectByte(ptr, p, len, 32);
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  p = field(ptr, p + 1, len, 20, 32);
  if (p < 0) return p;
  msgIdLo = <u32>numVal;
  msgIdHi = <u32>(numVal >> 32);
  const typeAt = p;
  p = field(ptr, p, len, 2, 32);
  if (p < 0) return p;
  if (numVal > <u64>DN_TYPE_GOSSIP_SHUTDOWN) { errPos = typeAt; return BAD; }
  fType = <i32>numVal;
  p = field(ptr, p, len, 1, 32);
  if (p < 0) return p;
  fFlags = <i32>numVal;
  p = field(ptr, p, len, 3, 32);
  if (p < 0) return p;
  fVersion = <i32>numVal;
  p = field(ptr, p, len, 1, 32);
  if (p < 0) return p;
  fSameDc = <i32>numVal;
  e = expectByte(ptr, p, len, 42); // '*'
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  const dataLenAt = p + 1;
  p = field(ptr, dataLenAt, len, 5, 32);
  if (p < 0) return p;
  if (numVal > <u64>DN_MAX_DATA) { errPos = dataLenAt; return BAD; }
  dataOff = p;
  dataLen = <i32>numVal;
  p += dataLen;
  // Known from here: data, " *", one digit and "\r\n" at least.
  needBytes = p + 5 - start;
  e = expectByte(ptr, p, len, 32);
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  e = expectByte(ptr, p + 1, len, 42);
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  return parsePayloadLen(ptr, start, p + 2, len);
}

/** The tail of the header: payload_len "\r\n", then the payload. */
function parsePayloadLen(ptr: usize, start: i32, at: i32, len: i32): i32 {
  const st = scanDigits(ptr, at, len, 18);
  if (st == 0) return NEED_MORE;
  if (st < 0) {
    // 19+ digits is a length, just an absurd one.
    if (errPos - at >= 18) errCode = E_TOO_LARGE;
    return BAD;
  }
  const headerEnd = numEnd + 2;
  if (<i64>numVal > maxBulk || numVal > <u64>(0x7FFFFFFF - headerEnd)) {
    errPos = at;
    errCode = E_TOO_LARGE;
    return BAD;
  }
  let e = expectByte(ptr, numEnd, len, 13);
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  e = expectByte(ptr, numEnd + 1, len, 10);
  if (e <= 0) return e == 0 ? NEED_MORE : BAD;
  payloadOff = headerEnd;
  payloadLen = <i32>numVal;
  needBytes = headerEnd + payloadLen - start;
  if (payloadLen > len - headerEnd) return NEED_MORE;
  return headerEnd + payloadLen;
}

/** Position of the next magic at or after from, or -1. */
function findMagic(ptr: usize, from: i32, len: i32): i32 {
  const last = len - MAGIC_LEN;
  for (let i = from; i <= last; i++) {
    if (load<u8>(ptr + <usize>i) == 36 && isMagic(ptr + <usize>i)) return i;
  }
  return -1;
}

/** The message start for a magic at m: up to DN_MAX_LEAD spaces before it, not before from. */
function leadStart(ptr: usize, from: i32, m: i32): i32 {
  let s = m;
  while (s > from && m - s < DN_MAX_LEAD && load<u8>(ptr + <usize>(s - 1)) == 32) s--;
  return s;
}

function writeRecord(start: i32, end: i32, skipped: i32): void {
  const r = recNext();
  recSet(r, REC_START, start);
  recSet(r, REC_LEN, end - start);
  recSet(r, REC_CMD, fType);
  recSet(r, REC_FLAGS, fFlags);
  recSet(r, REC_ARGC, fVersion);
  recSet(r, REC_NAME_OFF, dataOff);
  recSet(r, REC_NAME_LEN, dataLen);
  recSet(r, REC_KEY_FIRST, payloadOff);
  recSet(r, REC_NKEYS, payloadLen);
  recSet(r, REC_TOKEN, fSameDc);
  recSet(r, REC_ERR, skipped);
  recSet(r, REC_ARG1_OFF, <i32>msgIdLo);
  recSet(r, REC_ARG1_LEN, <i32>msgIdHi);
  recSet(r, REC_AUX, payloadOff - start);
}

/** True when [ptr, ptr+len) lies inside memory. */
@inline function inMemory(ptr: usize, len: i32): bool {
  return len >= 0 && <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

/**
 * Frames every complete dnode message in [ptr, ptr+len) (see the "dnode records" comment in
 * layout.ts for the record fields). Garbage before a magic is consumed and counted in the next
 * record's ERR; while searching, the last DN_MAX_LEAD + 5 bytes stay unconsumed (a magic may be
 * split there). Returns the record count, ST_PROTOCOL (E_BAD_DNODE / E_TOO_LARGE) or ST_BADARG.
 */
export function dnodeFrame(conn: i32, ptr: usize, len: i32): i32 {
  const a = connAddr(conn);
  if (a == 0 || !inMemory(ptr, len)) return -2;
  const mode = load<i32>(a, CONN_MODE);
  if (mode != 0 && mode != FRAMER_DNODE) return -2;
  beginCall();
  const sticky = load<i32>(a, CONN_ERR);
  if (sticky != 0) return failCall(0, 0, sticky);
  let skipped = load<i32>(a, CONN_DN_SKIPPED);
  let pos: i32 = 0; // end of the last message (or of consumed garbage)
  let need: i32 = 0;
  let flags: i32 = 0;
  while (pos < len) {
    const m = findMagic(ptr, pos, len);
    if (m < 0) {
      // Keep what could be the start of a split message; the rest is garbage.
      const tail = len - (DN_MAX_LEAD + MAGIC_LEN - 1);
      const keep = tail > pos ? tail : pos;
      skipped += keep - pos;
      pos = keep;
      break;
    }
    if (!recRoom()) { flags |= RES_MORE; break; }
    const start = leadStart(ptr, pos, m);
    const end = parseMessage(ptr, start, m, len);
    if (end == BAD) {
      store<i32>(a, errCode, CONN_ERR);
      return failCall(pos, errPos, errCode);
    }
    skipped += start - pos;
    pos = start;
    if (end == NEED_MORE) { need = needBytes; break; }
    writeRecord(start, end, skipped);
    skipped = 0;
    pos = end;
  }
  store<i32>(a, skipped, CONN_DN_SKIPPED);
  store<i32>(a, need, CONN_NEED);
  store<i32>(a, load<i32>(a, CONN_MESSAGES) + nrec, CONN_MESSAGES);
  return endCall(pos, need, flags);
}

// ---- encoder ----

/** Decimal digits of v (1 for 0). */
function digitCount(v: u64): i32 {
  let n = 1;
  while (v >= 10) { v /= 10; n++; }
  return n;
}

/** Writes v in decimal at p (exactly digitCount(v) bytes); returns p after it. */
function writeDecimal(p: usize, v: u64): usize {
  const n = digitCount(v);
  let q = p + <usize>n;
  do {
    q--;
    store<u8>(q, <u8>(48 + <u32>(v % 10)));
    v /= 10;
  } while (v != 0);
  return p + <usize>n;
}

@inline function put(p: usize, c: i32): usize {
  store<u8>(p, <u8>c);
  return p + 1;
}

/**
 * Writes a dnode header exactly as Netflix's dmsg_write does (three spaces, magic, fields, `*<dataLen>
 * <data> *<payloadLen>\r\n`) at out. The payload is not copied. Returns the header length, -2 when
 * it does not fit in cap bytes, -1 for a value Netflix's reader cannot take back (flags or sameDc
 * outside 0..9, type outside 0..13, version outside 0..999, a negative or oversized length, a range
 * outside memory).
 */
export function dnodeEncode(out: usize, cap: i32, msgIdLo: u32, msgIdHi: u32, type: i32, flags: i32,
  version: i32, sameDc: i32, data: usize, dataLen: i32, payloadLen: i32): i32 {
  if (<u32>type > <u32>DN_TYPE_GOSSIP_SHUTDOWN || <u32>flags > 9 || <u32>sameDc > 9) return -1;
  if (<u32>version > 999 || <u32>dataLen > <u32>DN_MAX_DATA || payloadLen < 0) return -1;
  if (!inMemory(data, dataLen)) return -1;
  const id = (<u64>msgIdHi << 32) | <u64>msgIdLo;
  // "   $2014$ " + id + " " + type + " d " + version + " d *" + dataLen + " " + data + " *" + payloadLen + "\r\n"
  const total = 10 + digitCount(id) + 1 + digitCount(<u64>type) + 3 + digitCount(<u64>version) + 4 +
    digitCount(<u64>dataLen) + 1 + dataLen + 2 + digitCount(<u64>payloadLen) + 2;
  if (total > cap) return -2;
  if (!inMemory(out, total)) return -1;
  let p = out;
  store<u64>(p, 0x3431303224202020); // "   $2014" little-endian
  store<u16>(p, 0x2024, 8); // "$ "
  p += 10;
  p = writeDecimal(p, id);
  p = put(p, 32);
  p = writeDecimal(p, <u64>type);
  p = put(p, 32);
  p = put(p, 48 + flags);
  p = put(p, 32);
  p = writeDecimal(p, <u64>version);
  p = put(p, 32);
  p = put(p, 48 + sameDc);
  p = put(p, 32);
  p = put(p, 42);
  p = writeDecimal(p, <u64>dataLen);
  p = put(p, 32);
  memory.copy(p, data, <usize>dataLen);
  p += <usize>dataLen;
  p = put(p, 32);
  p = put(p, 42);
  p = writeDecimal(p, <u64>payloadLen);
  p = put(p, 13);
  p = put(p, 10);
  return <i32>(p - out);
}
