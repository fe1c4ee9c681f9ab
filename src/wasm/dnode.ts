// The dnode peer header from JS: the typed header, an encoder that goes through the core's
// dnodeEncode, a record reader for dnodeFrame's output, and a plain-TS reference decoder/encoder
// (the oracle the tests hold the core to). Wire format and tolerance rules: assembly/dnode.ts.
//
//   "   $2014$ " msg_id " " type " " flags " " version " " same_dc " *" data_len " " data " *" payload_len "\r\n" payload
import { ABI } from './abi.js';
import type { Core } from './core.js';

/** Spaces before the magic counted as part of a message (assembly/dnode.ts DN_MAX_LEAD). */
export const DN_MAX_LEAD = 8;
/** Largest data field (assembly/dnode.ts DN_MAX_DATA). */
export const DN_MAX_DATA = 65536;
/** Bytes a search for the magic leaves unconsumed at the end of a chunk: leading spaces + "$2014". */
export const DN_SEARCH_KEEP = DN_MAX_LEAD + 5;
const MAGIC = '$2014$';

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

/** Plain-TS encoder (reference and fallback): the header bytes Netflix's dmsg_write produces. */
export function encodeDnodeHeaderTS(h: DnodeHeader): Buffer {
  checkHeader(h);
  return Buffer.concat([
    Buffer.from(`   ${MAGIC} ${h.msgId} ${h.type} ${h.flags} ${h.version} ${h.sameDc} *${h.data.length} `, 'latin1'),
    h.data,
    Buffer.from(` *${h.payloadLen}\r\n`, 'latin1'),
  ]);
}

function checkHeader(h: DnodeHeader): void {
  const bad = (what: string): never => {
    throw new RangeError(`dnode header: ${what} out of range`);
  };
  if (h.msgId < 0n || h.msgId > U64_MAX) bad('msgId');
  if (!Number.isInteger(h.type) || h.type < 0 || h.type > ABI.DN_TYPE_GOSSIP_SHUTDOWN) bad('type');
  if (!Number.isInteger(h.flags) || h.flags < 0 || h.flags > 9) bad('flags');
  if (!Number.isInteger(h.version) || h.version < 0 || h.version > 999) bad('version');
  if (!Number.isInteger(h.sameDc) || h.sameDc < 0 || h.sameDc > 9) bad('sameDc');
  if (h.data.length > DN_MAX_DATA) bad('data length');
  if (!Number.isInteger(h.payloadLen) || h.payloadLen < 0 || h.payloadLen > 0x7fffffff) bad('payloadLen');
}

/**
 * Encodes a header with the core's dnodeEncode. Works in `scratch` (an address with room for
 * 2 * data + 96 bytes) or, by default, in an mbuf taken and returned to the pool. Returns a copy.
 */
export function encodeDnodeHeader(core: Core, h: DnodeHeader, scratch?: number): Buffer {
  checkHeader(h);
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

// ---- reference decoder ----

export interface DnodeDecodeResult {
  frames: DnodeFrame[];
  consumed: number;
  need: number;
  /** Garbage consumed after the last frame, carried into the next call's first frame. */
  carry: number;
  error?: { pos: number; code: number };
}

/** One step of the header grammar after the magic. */
type Step =
  | { lit: string }
  | { num: 'id' | 'type' | 'flags' | 'version' | 'sameDc' | 'dataLen' | 'payloadLen'; digits: number; then: string }
  | { data: true };

const GRAMMAR: Step[] = [
  { lit: ' ' },
  { num: 'id', digits: 20, then: ' ' },
  { num: 'type', digits: 2, then: ' ' },
  { num: 'flags', digits: 1, then: ' ' },
  { num: 'version', digits: 3, then: ' ' },
  { num: 'sameDc', digits: 1, then: ' ' },
  { lit: '*' },
  { num: 'dataLen', digits: 5, then: ' ' },
  { data: true },
  { lit: ' *' },
  { num: 'payloadLen', digits: 18, then: '\r' },
  { lit: '\n' },
];

class Incomplete {
  constructor(readonly need: number) {}
}
class Malformed {
  constructor(readonly pos: number, readonly code: number) {}
}

/** Parses the header whose magic is at m; throws Incomplete or Malformed. */
function parseHeader(b: Uint8Array, start: number, m: number, maxBulk: number): DnodeFrame {
  const v: Record<string, bigint> = {};
  let p = m + MAGIC.length;
  let need = 0;
  let dataOff = 0;
  for (const step of GRAMMAR) {
    if ('lit' in step) {
      for (const ch of step.lit) {
        if (p >= b.length) throw new Incomplete(need);
        if (b[p] !== ch.charCodeAt(0)) throw new Malformed(p, ABI.E_BAD_DNODE);
        p++;
      }
    } else if ('data' in step) {
      dataOff = p;
      p += Number(v.dataLen);
      need = p + 5 - start;
    } else {
      const at = p;
      while (p < b.length && b[p]! >= 48 && b[p]! <= 57) {
        if (p - at >= step.digits) {
          throw new Malformed(p, step.num === 'payloadLen' ? ABI.E_TOO_LARGE : ABI.E_BAD_DNODE);
        }
        p++;
      }
      // The core checks overflow while it scans, so it wins over running out of input.
      const n = p > at ? BigInt(Buffer.from(b.subarray(at, p)).toString('latin1')) : 0n;
      if (n > U64_MAX) throw new Malformed(p - 1, ABI.E_BAD_DNODE);
      if (p >= b.length) throw new Incomplete(need);
      if (p === at) throw new Malformed(p, ABI.E_BAD_DNODE);
      const big = step.num === 'payloadLen' && (n > BigInt(maxBulk) || n > BigInt(0x7fffffff - (p + 2)));
      if (big) throw new Malformed(at, ABI.E_TOO_LARGE);
      if (b[p] !== step.then.charCodeAt(0)) throw new Malformed(p, ABI.E_BAD_DNODE);
      if (step.num === 'type' && n > BigInt(ABI.DN_TYPE_GOSSIP_SHUTDOWN)) throw new Malformed(at, ABI.E_BAD_DNODE);
      if (step.num === 'dataLen' && n > BigInt(DN_MAX_DATA)) throw new Malformed(at, ABI.E_BAD_DNODE);
      v[step.num] = n;
      p++;
    }
  }
  const payloadLen = Number(v.payloadLen);
  const headerLen = p - start;
  if (p + payloadLen > b.length) throw new Incomplete(headerLen + payloadLen);
  return {
    start, len: headerLen + payloadLen, headerLen, msgId: v.id!, type: Number(v.type), flags: Number(v.flags),
    version: Number(v.version), sameDc: Number(v.sameDc), dataOff, data: new Uint8Array(b.subarray(dataOff, dataOff + Number(v.dataLen))),
    payloadOff: p, payloadLen, skipped: 0,
  };
}

/**
 * Reference decoder with dnodeFrame's contract: frames every complete message, skips garbage before
 * a magic (counted in the next frame's `skipped`, starting from `carry`), keeps DN_SEARCH_KEEP bytes
 * while searching.
 */
export function decodeDnode(b: Uint8Array, opts: { maxBulk?: number; carry?: number } = {}): DnodeDecodeResult {
  const maxBulk = opts.maxBulk ?? 512 * 1024 * 1024;
  const text = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  const frames: DnodeFrame[] = [];
  let skipped = opts.carry ?? 0;
  let pos = 0;
  let need = 0;
  while (pos < b.length) {
    const m = text.indexOf(MAGIC, pos);
    if (m < 0) {
      const keep = Math.max(pos, b.length - DN_SEARCH_KEEP);
      skipped += keep - pos;
      pos = keep;
      break;
    }
    let start = m;
    while (start > pos && m - start < DN_MAX_LEAD && b[start - 1] === 0x20) start--;
    try {
      const f = parseHeader(b, start, m, maxBulk);
      f.skipped = skipped + (start - pos);
      frames.push(f);
      skipped = 0;
      pos = start + f.len;
    } catch (e) {
      if (e instanceof Malformed) return { frames, consumed: pos, need: 0, carry: skipped, error: { pos: e.pos, code: e.code } };
      if (!(e instanceof Incomplete)) throw e;
      skipped += start - pos;
      pos = start;
      need = e.need;
      break;
    }
  }
  return { frames, consumed: pos, need, carry: skipped };
}
