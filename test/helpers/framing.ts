// Test host for the RESP framers: feeds chunks the way a connection does (keep the unconsumed
// tail, call again from the partial message's first byte, call again at once on RES_MORE) and
// turns the per-call record and key tables into absolute, grouping-independent tuples that can be
// compared across feedings and with the oracle (test/oracles/resp.ts).
import { ABI } from '../../src/wasm/abi.js';
import type { Core } from '../../src/wasm/core.js';
import {
  decodeReplies, decodeRequests, type CommandTable, type OracleOptions, type RequestDecode, type ReplyDecode,
} from '../oracles/resp.js';

export type Mode = 'req' | 'rep';

export interface KeyTuple { off: number; len: number; token: number; arg: number }

export interface ReqTuple {
  start: number; len: number; cmd: number; flags: number; argc: number; nameOff: number; nameLen: number;
  arg1Off: number; arg1Len: number; token: number; err: number; keys: KeyTuple[];
}

export interface RepTuple {
  start: number; len: number; type: number; count: number; attrLen: number; digest: bigint;
  elements: Array<{ off: number; len: number }> | null;
}

export interface FeedResult<T> {
  records: T[];
  /** Absolute end of the last complete message. */
  consumed: number;
  /** RES_NEED of the last call. */
  need: number;
  error?: { pos: number; code: number };
  calls: number;
  sawMore: boolean;
}

/** One framing call over bytes copied to staging. */
export function frameOnce(core: Core, mode: Mode, conn: number, bytes: Buffer): number {
  core.u8.set(bytes, core.stagingPtr);
  const fn = mode === 'req' ? core.exports.respFrameRequests : core.exports.respFrameReplies;
  return fn(conn, core.stagingPtr, bytes.length);
}

export function res(core: Core, field: number): number {
  return core.i32[(core.resPtr + field) >> 2]!;
}

function rec(core: Core, i: number, field: number): number {
  return core.i32[(core.recPtr >> 2) + i * ABI.REC_WORDS + field]!;
}

function key(core: Core, k: number, field: number): number {
  return core.i32[(core.keyPtr >> 2) + k * ABI.KEY_WORDS + field]!;
}

/** Record i of the last call as an absolute tuple (base = absolute offset of the call's ptr). */
export function readRequest(core: Core, i: number, base: number): ReqTuple {
  const first = rec(core, i, ABI.REC_KEY_FIRST);
  const keys: KeyTuple[] = [];
  for (let k = first; k < first + rec(core, i, ABI.REC_NKEYS); k++) {
    keys.push({ off: base + key(core, k, ABI.KEY_OFF), len: key(core, k, ABI.KEY_LEN),
      token: key(core, k, ABI.KEY_TOKEN) >>> 0, arg: key(core, k, ABI.KEY_ARG) });
  }
  const arg1Off = rec(core, i, ABI.REC_ARG1_OFF);
  return {
    start: base + rec(core, i, ABI.REC_START), len: rec(core, i, ABI.REC_LEN), cmd: rec(core, i, ABI.REC_CMD),
    flags: rec(core, i, ABI.REC_FLAGS), argc: rec(core, i, ABI.REC_ARGC),
    nameOff: base + rec(core, i, ABI.REC_NAME_OFF), nameLen: rec(core, i, ABI.REC_NAME_LEN),
    arg1Off: arg1Off < 0 ? -1 : base + arg1Off, arg1Len: arg1Off < 0 ? 0 : rec(core, i, ABI.REC_ARG1_LEN),
    token: rec(core, i, ABI.REC_TOKEN) >>> 0, err: rec(core, i, ABI.REC_ERR), keys,
  };
}

export function readReply(core: Core, i: number, base: number): RepTuple {
  const n = rec(core, i, ABI.REC_NKEYS);
  const first = rec(core, i, ABI.REC_KEY_FIRST);
  let elements: RepTuple['elements'] = null;
  if (n >= 0) {
    elements = [];
    for (let k = first; k < first + n; k++) {
      if (key(core, k, ABI.KEY_ARG) !== k - first) throw new Error(`element ${k} has index ${key(core, k, ABI.KEY_ARG)}`);
      elements.push({ off: base + key(core, k, ABI.KEY_OFF), len: key(core, k, ABI.KEY_LEN) });
    }
  }
  const lo = BigInt(rec(core, i, ABI.REC_DIGEST_LO) >>> 0);
  const hi = BigInt(rec(core, i, ABI.REC_DIGEST_HI) >>> 0);
  return {
    start: base + rec(core, i, ABI.REC_START), len: rec(core, i, ABI.REC_LEN), type: rec(core, i, ABI.REC_CMD),
    count: rec(core, i, ABI.REC_ARGC), attrLen: rec(core, i, ABI.REC_AUX), digest: (hi << 32n) | lo, elements,
  };
}

/** Feeds chunks through one conn like a connection does; the conn is reset first. */
export function feed(core: Core, mode: 'req', chunks: Buffer[], conn?: number): FeedResult<ReqTuple>;
export function feed(core: Core, mode: 'rep', chunks: Buffer[], conn?: number): FeedResult<RepTuple>;
export function feed(core: Core, mode: Mode, chunks: Buffer[], conn = 0): FeedResult<ReqTuple | RepTuple> {
  core.exports.connReset(conn, mode === 'req' ? ABI.FRAMER_RESP_REQ : ABI.FRAMER_RESP_REP);
  const out: FeedResult<ReqTuple | RepTuple> = { records: [], consumed: 0, need: 0, calls: 0, sawMore: false };
  let tail: Buffer = Buffer.alloc(0);
  for (const chunk of chunks) {
    tail = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    for (;;) {
      if (tail.length === 0) break;
      const n = frameOnce(core, mode, conn, tail);
      out.calls++;
      if (n < 0) {
        if (n !== ABI.ST_PROTOCOL) throw new Error(`framer returned ${n}`);
        out.need = 0;
        out.error = { pos: out.consumed + res(core, ABI.RES_ERR_POS), code: res(core, ABI.RES_ERR_CODE) };
        out.consumed += res(core, ABI.RES_CONSUMED); // empty inline lines before the bad message
        return out;
      }
      for (let i = 0; i < n; i++) {
        out.records.push(mode === 'req' ? readRequest(core, i, out.consumed) : readReply(core, i, out.consumed));
      }
      const consumed = res(core, ABI.RES_CONSUMED);
      out.need = res(core, ABI.RES_NEED);
      out.consumed += consumed;
      tail = tail.subarray(consumed);
      const more = (res(core, ABI.RES_FLAGS) & ABI.RES_MORE) !== 0;
      out.sawMore ||= more;
      if (!more) break;
      if (n === 0 && consumed === 0) throw new Error('RES_MORE without progress');
    }
  }
  return out;
}

/** Splits buf into chunks at the given cut points. */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < buf.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of points) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

export function bytewise(buf: Buffer): Buffer[] {
  return Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
}

/** The oracle's command table and token function, backed by the core's own exports. */
export function coreTable(core: Core): Required<Pick<OracleOptions, 'commands' | 'token'>> {
  const scratch = core.exports.mbuf_base();
  const put = (b: Buffer): number => { core.u8.set(b, scratch); return b.length; };
  const ex = core.exports;
  const commands: CommandTable = {
    lookup: (name) => ex.cmdLookup(scratch, put(name)),
    flags: (id) => ex.cmdFlags(id), arity: (id) => ex.cmdArity(id), firstKey: (id) => ex.cmdFirstKey(id),
    lastKey: (id) => ex.cmdLastKey(id), keyStep: (id) => ex.cmdKeyStep(id),
  };
  return { commands, token: (k) => ex.routingToken(scratch, put(k)) >>> 0 };
}

export function digestOf(core: Core, bytes: Buffer): bigint {
  const scratch = core.exports.mbuf_base();
  core.u8.set(bytes, scratch);
  return BigInt.asUintN(64, core.exports.digest64(scratch, bytes.length));
}

/** The oracle's view of requests as ReqTuples. */
export function oracleRequests(d: RequestDecode): ReqTuple[] {
  return d.messages.map((m) => ({
    start: m.start, len: m.len, cmd: m.cmd, flags: m.flags, argc: m.args.length,
    nameOff: m.spans[0]?.off ?? m.start, nameLen: m.spans[0]?.len ?? 0,
    arg1Off: m.spans[1]?.off ?? -1, arg1Len: m.spans[1]?.len ?? 0, token: m.token, err: m.err,
    keys: m.keys.map((k) => ({ ...k })),
  }));
}

export function oracleReplies(core: Core, buf: Buffer, d: ReplyDecode): RepTuple[] {
  return d.messages.map((m) => ({
    start: m.start, len: m.len, type: m.type, count: m.count, attrLen: m.attrLen,
    digest: digestOf(core, buf.subarray(m.start, m.start + m.len)), elements: m.elements,
  }));
}

export function oracleFor(core: Core, mode: 'req', buf: Buffer, opts?: OracleOptions): FeedResult<ReqTuple>;
export function oracleFor(core: Core, mode: 'rep', buf: Buffer, opts?: OracleOptions): FeedResult<RepTuple>;
export function oracleFor(core: Core, mode: Mode, buf: Buffer, opts: OracleOptions = {}): FeedResult<ReqTuple | RepTuple> {
  const o: OracleOptions = { maxBulk: core.options.maxBulk, keyCap: core.options.keys, ...coreTable(core), ...opts };
  const d = mode === 'req' ? decodeRequests(buf, o) : decodeReplies(buf, o);
  const records = mode === 'req' ? oracleRequests(d as RequestDecode) : oracleReplies(core, buf, d as ReplyDecode);
  return { records, consumed: d.consumed, need: d.need, calls: 0, sawMore: false, ...(d.error ? { error: d.error } : {}) };
}
