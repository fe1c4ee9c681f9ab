// The dnode header as the hot path writes it, in plain JS (no WASM call per message): byte-identical
// to Netflix's dmsg_write and to the core's dnodeEncode (test/dnode-transport.test.ts compares them).
//
//   "   $2014$ " msg_id " " type " 0 1 " same_dc " *1 d *" payload_len "\r\n"   (flags 0, version 1, data `d`)

const HEAD = Buffer.from('   $2014$ ', 'latin1');
/** Longest header we write: 10 + 16 (msg id) + " t 0 1 s *1 d *" + 10 (length) + CRLF. */
export const DNODE_HEADER_MAX = 64;

function putUint(dst: Uint8Array, at: number, v: number): number {
  if (v < 10) {
    dst[at] = 48 + v;
    return at + 1;
  }
  let digits = 0;
  for (let t = v; t >= 1; t = Math.floor(t / 10)) digits++;
  let p = at + digits;
  for (let t = v; p > at; t = Math.floor(t / 10)) dst[--p] = 48 + (t % 10);
  return at + digits;
}

/**
 * Writes `"   $2014$ <msgId> <type> 0 1 <sameDc> *1 d *<payloadLen>\r\n"` (flags 0, version 1, data
 * `d`) at dst[at]; returns the end. dst needs DNODE_HEADER_MAX bytes of room. msgId < 2^53.
 */
export function writeDnodeHeader(dst: Uint8Array, at: number, msgId: number, type: number, sameDc: number, payloadLen: number): number {
  dst.set(HEAD, at);
  let p = putUint(dst, at + HEAD.length, msgId);
  dst[p++] = 32;
  p = putUint(dst, p, type);
  dst[p++] = 32; dst[p++] = 48; dst[p++] = 32; dst[p++] = 49; dst[p++] = 32; // " 0 1 "
  dst[p++] = 48 + sameDc;
  dst[p++] = 32; dst[p++] = 42; dst[p++] = 49; dst[p++] = 32; dst[p++] = 100; dst[p++] = 32; dst[p++] = 42; // " *1 d *"
  p = putUint(dst, p, payloadLen);
  dst[p++] = 13;
  dst[p++] = 10;
  return p;
}
