// Plain-TS reference encoder and decoder of the dnode peer header, with the contract of the core's
// dnodeEncode / dnodeFrame: the oracles the tests hold the core to. Wire format and tolerance rules:
// assembly/dnode.ts.
//
//   "   $2014$ " msg_id " " type " " flags " " version " " same_dc " *" data_len " " data " *" payload_len "\r\n" payload
import { ABI } from '../../src/wasm/abi.js';
import { checkDnodeHeader, type DnodeFrame, type DnodeHeader } from '../../src/wasm/dnode.js';

/** Bytes a search for the magic leaves unconsumed at the end of a chunk: leading spaces + "$2014". */
export const DN_SEARCH_KEEP = ABI.DN_MAX_LEAD + 5;
const MAGIC = '$2014$';
const U64_MAX = (1n << 64n) - 1n;

/** Plain-TS encoder (the reference): the header bytes Netflix's dmsg_write produces. */
export function encodeDnodeHeaderTS(h: DnodeHeader): Buffer {
  checkDnodeHeader(h);
  return Buffer.concat([
    Buffer.from(`   ${MAGIC} ${h.msgId} ${h.type} ${h.flags} ${h.version} ${h.sameDc} *${h.data.length} `, 'latin1'),
    h.data,
    Buffer.from(` *${h.payloadLen}\r\n`, 'latin1'),
  ]);
}

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
      if (step.num === 'dataLen' && n > BigInt(ABI.DN_MAX_DATA)) throw new Malformed(at, ABI.E_BAD_DNODE);
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
    while (start > pos && m - start < ABI.DN_MAX_LEAD && b[start - 1] === 0x20) start--;
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
