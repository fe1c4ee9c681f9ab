// A plain, obviously-correct RESP decoder with the same semantics as assembly/resp.ts. It is the
// test oracle (and the bench baseline): slow, allocating, written to be read, never used on the
// data path. Semantics shared with the WASM framer:
//
// - A length (after `*` or `$`) is `0` | [1-9][0-9]* | `-1` (only where a nil is allowed), then
//   `\r\n`. Over the limit -> E_TOO_LARGE, otherwise malformed -> E_BAD_LENGTH, both reported at
//   the first byte of the length; a `\r` not followed by `\n` -> E_EXPECTED_CRLF at the `\r`.
// - Bytes are judged left to right and an error is reported as soon as a byte proves it, so a
//   truncated input gives either the same error or "incomplete", never a different error.
// - An incomplete last message is not returned: `consumed` is its start and `need` its minimum total
//   size when a bulk header was read (payload end + 2 - start), else 0.
import { ABI } from '../../src/wasm/abi.js';

/** Command metadata the framer takes from the WASM command table. */
export interface CommandTable {
  lookup(name: Buffer): number;
  flags(id: number): number;
  arity(id: number): number;
  firstKey(id: number): number;
  lastKey(id: number): number;
  keyStep(id: number): number;
}

export interface OracleOptions {
  /** Largest bulk length / element count (the WASM `maxBulk`). @default 512 MiB */
  maxBulk?: number;
  /** Command table; without it every request is an unknown command (CMD 0). */
  commands?: CommandTable;
  /** Ring token of a key (the WASM `routingToken`). @default () => 0 */
  token?: (key: Buffer) => number;
  /** Key (request) or element (reply) table size: a message with more gets ERR_TOO_MANY_KEYS / -1. */
  keyCap?: number;
  /** hash_tag pair as byte values, for MF_EMPTY_TAG. */
  hashTag?: { open: number; close: number };
}

export interface OracleKey { off: number; len: number; token: number; arg: number }

export interface OracleRequest {
  start: number;
  len: number;
  args: Buffer[];
  /** Absolute spans of the arguments (inline: the token bytes as framed). */
  spans: Array<{ off: number; len: number }>;
  inline: boolean;
  cmd: number;
  /** Command flags | MF_* message flags. */
  flags: number;
  err: number;
  keys: OracleKey[];
  token: number;
}

export interface OracleError { pos: number; code: number }

export interface RequestDecode {
  messages: OracleRequest[];
  consumed: number;
  need: number;
  error?: OracleError;
}

export interface OracleReply {
  start: number;
  len: number;
  /** Type byte of the reply (after its attributes). */
  type: number;
  /** Element count (pairs for maps), bulk length, -1 for nil, 0 for line types. */
  count: number;
  /** Top-level element spans of an aggregate, absolute; null when they did not fit in keyCap. */
  elements: Array<{ off: number; len: number }> | null;
  /** Bytes of attributes before the reply. */
  attrLen: number;
}

export interface ReplyDecode {
  messages: OracleReply[];
  consumed: number;
  need: number;
  error?: OracleError;
}

const MAX_INLINE = ABI.MAX_INLINE;
const COUNT_CAP = 1024 * 1048576;
const BULK_CAP = 0x7fffffff;
const CR = 13;
const LF = 10;

/** Thrown inside the decoders: `need` for incomplete input, else a protocol error. */
class Stop {
  constructor(readonly need: number, readonly error?: OracleError) {}
}
const incomplete = (need = 0): Stop => new Stop(need);
const protocol = (code: number, pos: number): Stop => new Stop(0, { pos, code });

/** Reads a length line at p (after the type byte). Returns [value, position after \r\n]. */
function readLength(buf: Buffer, p: number, limit: number, allowNil: boolean): [number, number] {
  let i = p;
  let value = 0;
  const at = (k: number): number => {
    if (k >= buf.length) throw incomplete();
    return buf[k]!;
  };
  const isDigit = (c: number): boolean => c >= 48 && c <= 57;
  const c = at(i);
  if (c === 45) { // '-'
    if (!allowNil) throw protocol(ABI.E_BAD_LENGTH, p);
    if (at(i + 1) !== 49) throw protocol(ABI.E_BAD_LENGTH, p);
    value = -1;
    i += 2;
  } else if (c === 48) {
    i += 1;
  } else if (c >= 49 && c <= 57) {
    while (i < buf.length && isDigit(buf[i]!)) {
      value = value * 10 + (buf[i]! - 48);
      if (value > limit) throw protocol(ABI.E_TOO_LARGE, p);
      i++;
    }
  } else {
    throw protocol(ABI.E_BAD_LENGTH, p);
  }
  if (at(i) !== CR) throw protocol(ABI.E_BAD_LENGTH, p);
  if (at(i + 1) !== LF) throw protocol(ABI.E_EXPECTED_CRLF, i);
  return [value, i + 2];
}

/** The payload [p, p+n) and its \r\n; returns the position after them. */
function skipPayload(buf: Buffer, start: number, p: number, n: number): number {
  const pe = p + n;
  if (pe < buf.length && buf[pe] !== CR) throw protocol(ABI.E_EXPECTED_CRLF, pe);
  if (pe + 1 < buf.length && buf[pe + 1] !== LF) throw protocol(ABI.E_EXPECTED_CRLF, pe);
  if (pe + 2 > buf.length) throw incomplete(Math.min(pe + 2 - start, BULK_CAP));
  return pe + 2;
}

function limits(opts: OracleOptions): { bulk: number; count: number } {
  const mb = Math.max(0, opts.maxBulk ?? 512 * 1024 * 1024);
  return { bulk: Math.min(mb, BULK_CAP), count: Math.min(mb, COUNT_CAP) };
}

// ---------------------------------- requests ----------------------------------

type Span = { off: number; len: number };

function multibulkSpans(buf: Buffer, s: number, opts: OracleOptions): [Span[], number] {
  const lim = limits(opts);
  const [argc, afterCount] = readLength(buf, s + 1, lim.count, true);
  const spans: Span[] = [];
  let p = afterCount;
  for (let i = 0; i < argc; i++) {
    if (p >= buf.length) throw incomplete();
    if (buf[p] !== 36) throw protocol(ABI.E_BAD_TYPE, p);
    const [n, payload] = readLength(buf, p + 1, lim.bulk, false);
    p = skipPayload(buf, s, payload, n);
    spans.push({ off: payload, len: n });
  }
  return [spans, p];
}

// sdssplitargs character classes: skipped before a token (isspace + NUL), and unquoted-token ends.
const isSkip = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0;
const isTokenEnd = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13 || c === 0;

function closingQuote(buf: Buffer, q: number, e: number): number {
  const quote = buf[q]!;
  let j = q + 1;
  while (j < e && buf[j] !== quote) {
    const escapes = buf[j] === 92 && j + 1 < e && (quote === 34 || buf[j + 1] === 39);
    j += escapes ? 2 : 1;
  }
  if (j >= e) throw protocol(ABI.E_BAD_INLINE, q);
  if (j + 1 < e && !isSkip(buf[j + 1]!)) throw protocol(ABI.E_BAD_INLINE, j);
  return j;
}

function inlineSpans(buf: Buffer, s: number): [Span[], number] {
  let nl = -1;
  for (let i = s; i < buf.length && i <= s + MAX_INLINE; i++) {
    if (buf[i] === LF) { nl = i; break; }
  }
  if (nl < 0) {
    if (buf.length - s > MAX_INLINE) throw protocol(ABI.E_INLINE_TOO_LONG, s);
    throw incomplete();
  }
  const e = nl > s && buf[nl - 1] === CR ? nl - 1 : nl;
  const spans: Span[] = [];
  let i = s;
  for (;;) {
    while (i < e && isSkip(buf[i]!)) i++;
    if (i >= e) break;
    if (buf[i] === 34 || buf[i] === 39) {
      const j = closingQuote(buf, i, e);
      spans.push({ off: i + 1, len: j - i - 1 });
      i = j + 1;
      continue;
    }
    let j = i + 1;
    while (j < e && !isTokenEnd(buf[j]!)) {
      if (buf[j] === 34 || buf[j] === 39) { j = closingQuote(buf, j, e) + 1; break; }
      j++;
    }
    spans.push({ off: i, len: j - i });
    i = j;
  }
  return [spans, nl + 1];
}

/** Redis string2ll: `0` | -?[1-9][0-9]* within the i64 range. */
function parseInteger(b: Buffer): bigint | undefined {
  const s = b.toString('latin1');
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return undefined;
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return undefined;
  return v;
}

function hasEmptyTag(key: Buffer, tag: { open: number; close: number }): boolean {
  const i = key.indexOf(tag.open);
  return i >= 0 && i + 1 < key.length && key[i + 1] === tag.close;
}

/** Command id, flags, error and keys of a request, as the framer derives them. */
function analyse(buf: Buffer, spans: Span[], inline: boolean, opts: OracleOptions): OracleRequest {
  const args = spans.map((sp) => buf.subarray(sp.off, sp.off + sp.len));
  const argc = args.length;
  const msg = { args, spans, inline, cmd: 0, flags: inline ? ABI.MF_INLINE : 0, err: 0, keys: [] as OracleKey[], token: 0 };
  if (argc === 0) return { ...msg, start: 0, len: 0 };
  const table = opts.commands;
  const id = table ? table.lookup(args[0]!) : 0;
  msg.cmd = id;
  let keyArgs: number[] = [];
  if (id === 0) {
    msg.err = ABI.ERR_UNKNOWN_CMD;
  } else {
    const f = table!.flags(id);
    msg.flags |= f;
    const arity = table!.arity(id);
    if (f & ABI.CF_UNSUPPORTED) msg.err = ABI.ERR_UNSUPPORTED;
    else if ((arity > 0 && argc !== arity) || (arity < 0 && argc < -arity)) msg.err = ABI.ERR_ARITY;
    else if ((f & ABI.CF_KV) && (argc - 1) % 2 !== 0) msg.err = ABI.ERR_ARITY;
    else if (f & ABI.CF_SCRIPT) {
      const n = argc < 3 ? 0n : parseInteger(args[2]!);
      if (n === undefined) msg.err = ABI.ERR_BAD_NUMBER;
      else if (n < 1n || n > BigInt(argc - 3)) msg.err = ABI.ERR_EVAL_NOKEYS;
      else keyArgs = range(3, 2 + Number(n), 1);
    } else {
      const first = table!.firstKey(id);
      const step = table!.keyStep(id);
      let last = table!.lastKey(id);
      if (last < 0) last = argc + last;
      if (step > 0 && first > 0) keyArgs = range(first, Math.min(last, argc - 1), step);
    }
  }
  if (msg.err === 0 && opts.keyCap !== undefined && keyArgs.length > opts.keyCap) {
    msg.err = ABI.ERR_TOO_MANY_KEYS;
  }
  if (msg.err === 0) {
    const token = opts.token ?? (() => 0);
    for (const a of keyArgs) {
      const sp = spans[a]!;
      msg.keys.push({ off: sp.off, len: sp.len, token: token(args[a]!) >>> 0, arg: a });
      if (opts.hashTag && hasEmptyTag(args[a]!, opts.hashTag)) msg.flags |= ABI.MF_EMPTY_TAG;
    }
    msg.token = msg.keys[0]?.token ?? 0;
  }
  return { ...msg, start: 0, len: 0 };
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i += step) out.push(i);
  return out;
}

/** Decodes every complete request of buf (multibulk and inline), as respFrameRequests frames them. */
export function decodeRequests(buf: Buffer, opts: OracleOptions = {}): RequestDecode {
  const messages: OracleRequest[] = [];
  let p = 0;
  try {
    while (p < buf.length) {
      const inline = buf[p] !== 42;
      const [spans, end] = inline ? inlineSpans(buf, p) : multibulkSpans(buf, p, opts);
      if (!(inline && spans.length === 0)) {
        messages.push({ ...analyse(buf, spans, inline, opts), start: p, len: end - p });
      }
      p = end;
    }
    return { messages, consumed: p, need: 0 };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { messages, consumed: p, need: e.need, ...(e.error ? { error: e.error } : {}) };
  }
}

// ---------------------------------- replies ----------------------------------

const LINE_TYPES = new Set([...'+-:_,#('].map((c) => c.charCodeAt(0)));
const BULK_TYPES = new Set([...'$!='].map((c) => c.charCodeAt(0)));
const AGGREGATE_TYPES = new Set([...'*%~>|'].map((c) => c.charCodeAt(0)));
const ATTRIBUTE = 124; // '|'

interface Value { end: number; type: number; count: number; elements: Span[]; attrLen: number }

/**
 * One value at p, nested `depth` aggregates deep, including the attributes before it. Recursion is
 * fine here: depth is bounded by MAX_DEPTH.
 */
function readValue(buf: Buffer, s: number, p: number, depth: number, opts: OracleOptions): Value {
  const lim = limits(opts);
  const valueStart = p;
  for (;;) {
    if (p >= buf.length) throw incomplete();
    const t = buf[p]!;
    if (LINE_TYPES.has(t)) {
      let r = p + 1;
      while (r < buf.length && r - p <= MAX_INLINE && buf[r] !== CR) r++;
      if (r - p > MAX_INLINE) throw protocol(ABI.E_INLINE_TOO_LONG, p);
      if (r + 1 >= buf.length) throw incomplete();
      if (buf[r + 1] !== LF) throw protocol(ABI.E_EXPECTED_CRLF, r);
      return { end: r + 2, type: t, count: 0, elements: [], attrLen: p - valueStart };
    }
    if (BULK_TYPES.has(t)) {
      const [n, payload] = readLength(buf, p + 1, lim.bulk, t === 36);
      const end = n < 0 ? payload : skipPayload(buf, s, payload, n);
      return { end, type: t, count: n, elements: [], attrLen: p - valueStart };
    }
    if (!AGGREGATE_TYPES.has(t)) throw protocol(ABI.E_BAD_TYPE, p);
    if (depth >= ABI.MAX_DEPTH) throw protocol(ABI.E_TOO_DEEP, p);
    const [n, after] = readLength(buf, p + 1, lim.count, t === 42);
    const total = t === 37 || t === ATTRIBUTE ? 2 * n : Math.max(n, 0);
    const elements: Span[] = [];
    let q = after;
    for (let i = 0; i < total; i++) {
      const v = readValue(buf, s, q, depth + 1, opts);
      elements.push({ off: q, len: v.end - q });
      q = v.end;
    }
    if (t === ATTRIBUTE) { // a prefix: the value itself follows
      p = q;
      continue;
    }
    return { end: q, type: t, count: n, elements, attrLen: p - valueStart };
  }
}

/** Decodes every complete reply of buf (RESP2 and RESP3), as respFrameReplies frames them. */
export function decodeReplies(buf: Buffer, opts: OracleOptions = {}): ReplyDecode {
  const messages: OracleReply[] = [];
  let p = 0;
  try {
    while (p < buf.length) {
      const v = readValue(buf, p, p, 0, opts);
      const fits = opts.keyCap === undefined || v.elements.length <= opts.keyCap;
      messages.push({
        start: p, len: v.end - p, type: v.type, count: v.count,
        elements: fits ? v.elements : null, attrLen: v.attrLen,
      });
      p = v.end;
    }
    return { messages, consumed: p, need: 0 };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { messages, consumed: p, need: e.need, ...(e.error ? { error: e.error } : {}) };
  }
}

/** RESP multibulk encoding of a command. */
export function encodeCommand(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
