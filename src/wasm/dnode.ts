// The dnode peer header from JS: the typed header, an encoder that goes through the core's
// dnodeEncode, and readers for dnodeFrame's records (one record as an object; a whole call's
// records copied into JS arrays for the peer connections). Wire format and tolerance rules:
// assembly/dnode.ts. The plain-TS reference encoder/decoder is in test/oracles/dnode.ts.
//
//   "   $2014$ " msg_id " " type " " flags " " version " " same_dc " *" data_len " " data " *" payload_len "\r\n" payload
import { ABI } from './abi.js';
import type { Core } from './core.js';


/** One dnode header, as Netflix's dmsg fields. */
export interface DnodeHeader {
  /** uint64 message id; a response reuses its request's. */
  msgId: bigint;
  /** DN_TYPE_* (0..13). */
  type: number;
  /** DN_FLAG_* bits (one digit on the wire). */
  flags: number;
  /** Protocol version (Netflix: 1). */
  version: number;
  /** 1 when the sender is in the receiver's DC (one digit on the wire). */
  sameDc: number;
  /** The data field: normally "d", or the RSA-wrapped AES key on the first encrypted message. */
  data: Uint8Array;
  /** Bytes of payload that follow the header. */
  payloadLen: number;
}

/** A framed dnode message (offsets relative to the framed range). */
export interface DnodeFrame extends DnodeHeader {
  start: number;
  /** Header + payload. */
  len: number;
  headerLen: number;
  dataOff: number;
  payloadOff: number;
  /** Garbage bytes skipped before this message (resync). */
  skipped: number;
}

const U64_MAX = (1n << 64n) - 1n;

/** The default data field: one placeholder byte, as Netflix writes it. */
export const DN_DATA_PLACEHOLDER: Uint8Array = Uint8Array.of(0x64); // "d"

/** Throws a RangeError naming the first field of h the wire format cannot carry. */
export function checkDnodeHeader(h: DnodeHeader): void {
  const bad = (what: string): never => {
    throw new RangeError(`dnode header: ${what} out of range`);
  };
  if (h.msgId < 0n || h.msgId > U64_MAX) bad('msgId');
  if (!Number.isInteger(h.type) || h.type < 0 || h.type > ABI.DN_TYPE_GOSSIP_SHUTDOWN) bad('type');
  if (!Number.isInteger(h.flags) || h.flags < 0 || h.flags > 9) bad('flags');
  if (!Number.isInteger(h.version) || h.version < 0 || h.version > 999) bad('version');
  if (!Number.isInteger(h.sameDc) || h.sameDc < 0 || h.sameDc > 9) bad('sameDc');
  if (h.data.length > ABI.DN_MAX_DATA) bad('data length');
  if (!Number.isInteger(h.payloadLen) || h.payloadLen < 0 || h.payloadLen > 0x7fffffff) bad('payloadLen');
}

/**
 * Encodes a header with the core's dnodeEncode. Works in `scratch` (an address with room for
 * 2 * data + 96 bytes) or, by default, in an mbuf taken and returned to the pool. Returns a copy.
 */
export function encodeDnodeHeader(core: Core, h: DnodeHeader, scratch?: number): Buffer {
  checkDnodeHeader(h);
  const ex = core.exports;
  const room = 2 * h.data.length + 96;
  let mbuf = 0;
  let base = scratch;
  if (base === undefined) {
    if (room > ex.mbuf_size() - ABI.MBUF_HDR) throw new RangeError('dnode data field larger than an mbuf');
    mbuf = ex.mbufAlloc();
    if (mbuf === 0) throw new Error('dnode encode: mbuf pool exhausted');
    base = mbuf + ABI.MBUF_HDR;
  }
  try {
    core.u8.set(h.data, base);
    const out = base + h.data.length;
    const n = ex.dnodeEncode(out, room - h.data.length, Number(h.msgId & 0xffffffffn), Number(h.msgId >> 32n),
      h.type, h.flags, h.version, h.sameDc, base, h.data.length, h.payloadLen);
    if (n < 0) throw new Error(`dnodeEncode refused the header (status ${n})`);
    return Buffer.from(core.u8.subarray(out, out + n));
  } finally {
    if (mbuf !== 0) ex.mbufRelease(mbuf);
  }
}

/** Reads record i of the last dnodeFrame call; `base` is the address the call framed from. */
export function readDnodeRecord(core: Core, base: number, i: number): DnodeFrame {
  const r = (core.recPtr >> 2) + i * ABI.REC_WORDS;
  const w = core.i32;
  const dataOff = w[r + ABI.REC_NAME_OFF]!;
  const dataLen = w[r + ABI.REC_NAME_LEN]!;
  return {
    start: w[r + ABI.REC_START]!,
    len: w[r + ABI.REC_LEN]!,
    headerLen: w[r + ABI.REC_AUX]!,
    msgId: (BigInt(w[r + ABI.REC_ARG1_LEN]! >>> 0) << 32n) | BigInt(w[r + ABI.REC_ARG1_OFF]! >>> 0),
    type: w[r + ABI.REC_CMD]!,
    flags: w[r + ABI.REC_FLAGS]!,
    version: w[r + ABI.REC_ARGC]!,
    sameDc: w[r + ABI.REC_TOKEN]!,
    dataOff,
    data: core.u8.slice(base + dataOff, base + dataOff + dataLen),
    payloadOff: w[r + ABI.REC_KEY_FIRST]!,
    payloadLen: w[r + ABI.REC_NKEYS]!,
    skipped: w[r + ABI.REC_ERR]!,
  };
}

/**
 * The fields of one framing call's dnode records, copied into JS arrays: whoever handles a message
 * may run another framing call (the payload's request framer, a coalescer framing replies) that
 * reuses the core's record table. Payload offsets are absolute (byte addresses in core memory).
 */
export class DnodeRecords {
  readonly type: Int32Array;
  readonly flags: Int32Array;
  readonly idLo: Int32Array;
  readonly idHi: Int32Array;
  readonly sameDc: Int32Array;
  readonly skipped: Int32Array;
  readonly payloadAt: Int32Array;
  readonly payloadLen: Int32Array;
  /** The header's data field (absolute address, length): the wrapped AES key when longer than 1. */
  readonly dataAt: Int32Array;
  readonly dataLen: Int32Array;
  /** Whole message (leading spaces, header, payload). */
  readonly len: Int32Array;
  count = 0;

  constructor(readonly core: Core) {
    const cap = core.options.records;
    this.type = new Int32Array(cap);
    this.flags = new Int32Array(cap);
    this.idLo = new Int32Array(cap);
    this.idHi = new Int32Array(cap);
    this.sameDc = new Int32Array(cap);
    this.skipped = new Int32Array(cap);
    this.payloadAt = new Int32Array(cap);
    this.payloadLen = new Int32Array(cap);
    this.dataAt = new Int32Array(cap);
    this.dataLen = new Int32Array(cap);
    this.len = new Int32Array(cap);
  }

  /** Copies records 0..count-1 of the last dnodeFrame call made at `base`. */
  copy(base: number, count: number): void {
    const w = this.core.i32;
    let r = this.core.recPtr >> 2;
    for (let i = 0; i < count; i++, r += ABI.REC_WORDS) {
      this.type[i] = w[r + ABI.REC_CMD];
      this.flags[i] = w[r + ABI.REC_FLAGS];
      this.idLo[i] = w[r + ABI.REC_ARG1_OFF];
      this.idHi[i] = w[r + ABI.REC_ARG1_LEN];
      this.sameDc[i] = w[r + ABI.REC_TOKEN];
      this.skipped[i] = w[r + ABI.REC_ERR];
      this.payloadAt[i] = base + w[r + ABI.REC_KEY_FIRST];
      this.payloadLen[i] = w[r + ABI.REC_NKEYS];
      this.dataAt[i] = base + w[r + ABI.REC_NAME_OFF];
      this.dataLen[i] = w[r + ABI.REC_NAME_LEN];
      this.len[i] = w[r + ABI.REC_LEN];
    }
    this.count = count;
  }

  /** msg_id of record i as a number (exact below 2^53, which covers every id we hand out). */
  msgId(i: number): number {
    return (this.idHi[i] >>> 0) * 4294967296 + (this.idLo[i] >>> 0);
  }

  /** msg_id of record i, exact. */
  msgIdBig(i: number): bigint {
    return (BigInt(this.idHi[i] >>> 0) << 32n) | BigInt(this.idLo[i] >>> 0);
  }

  payloadCopy(i: number): Buffer {
    const at = this.payloadAt[i];
    return Buffer.from(this.core.u8.subarray(at, at + this.payloadLen[i]));
  }
}
