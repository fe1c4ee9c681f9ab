// The memcached framer from JS: command ids, flags and reply kinds mirrored from assembly/memcache.ts
// (checked against the module's globals when it exports them), a record reader, and plain-TS
// reference decoders for requests and replies (the oracles the tests hold the core to).
// Grammar and error rules: the header comment of assembly/memcache.ts.
import { ABI } from './abi.js';
import type { Core } from './core.js';

/** Command ids (REC_CMD of a memcached request), as assembly/memcache.ts MC_CMD_*. */
export const MC_CMD = {
  UNKNOWN: 0, GET: 1, GETS: 2, SET: 3, ADD: 4, REPLACE: 5, APPEND: 6, PREPEND: 7, CAS: 8, INCR: 9, DECR: 10,
  DELETE: 11, TOUCH: 12, GAT: 13, GATS: 14, VERSION: 15, QUIT: 16, FLUSH_ALL: 17, STATS: 18, VERBOSITY: 19,
} as const;
export type McCommandName = Exclude<keyof typeof MC_CMD, 'UNKNOWN'>;
export const MC_CMD_COUNT = 20;

/** Wire names indexed by command id ('' for UNKNOWN). */
export const MC_COMMAND_NAMES: readonly string[] = Object.entries(MC_CMD)
  .sort((a, b) => a[1] - b[1])
  .map(([k, id]) => (id === 0 ? '' : k.toLowerCase()));

const RW_FRAGMENT = ABI.CF_READ | ABI.CF_FRAGMENT;
/** CF_* flags per command id (assembly/memcache.ts mcCmdFlags). gat/gats change TTLs: writes. */
export const MC_COMMAND_FLAGS: readonly number[] = [
  0, RW_FRAGMENT, RW_FRAGMENT,
  ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, // set..prepend, cas
  ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, ABI.CF_WRITE, // incr decr delete touch
  ABI.CF_WRITE | ABI.CF_FRAGMENT, ABI.CF_WRITE | ABI.CF_FRAGMENT, // gat gats
  ABI.CF_NOKEY, ABI.CF_QUIT | ABI.CF_PSEUDO, ABI.CF_NOKEY, ABI.CF_NOKEY, ABI.CF_NOKEY, // version quit flush_all stats verbosity
];

/** Message flag: the request ends in `noreply`. */
export const MF_NOREPLY = 1 << 18;
/** memcached's KEY_MAX_LENGTH. */
export const MC_MAX_KEY = 250;

/** REC_AUX of an MC_REPLY_STATUS record, by status word. */
export const MC_STATUS = {
  STORED: 1, NOT_STORED: 2, EXISTS: 3, NOT_FOUND: 4, DELETED: 5, TOUCHED: 6, OK: 7, RESET: 8,
} as const;
/** REC_AUX of an MC_REPLY_ERROR record, by first word. */
export const MC_ERROR_KIND = { ERROR: 1, CLIENT_ERROR: 2, SERVER_ERROR: 3 } as const;
/** Reply kind names by MC_REPLY_* id. */
export const MC_REPLY_KIND_NAMES: Readonly<Record<number, string>> = {
  [ABI.MC_REPLY_VALUE]: 'value', [ABI.MC_REPLY_STATUS]: 'status', [ABI.MC_REPLY_NUMBER]: 'number',
  [ABI.MC_REPLY_ERROR]: 'error', [ABI.MC_REPLY_VERSION]: 'version', [ABI.MC_REPLY_STAT]: 'stat',
};

/** The module-side names of every constant above, with their JS values. */
function mcConstants(): Record<string, number> {
  const out: Record<string, number> = { MC_CMD_COUNT, MF_NOREPLY, MC_MAX_KEY };
  for (const [k, v] of Object.entries(MC_CMD)) out[`MC_CMD_${k}`] = v;
  for (const [k, v] of Object.entries(MC_STATUS)) out[`MC_STATUS_${k}`] = v;
  out.MC_ERROR_PLAIN = MC_ERROR_KIND.ERROR;
  out.MC_ERROR_CLIENT = MC_ERROR_KIND.CLIENT_ERROR;
  out.MC_ERROR_SERVER = MC_ERROR_KIND.SERVER_ERROR;
  return out;
}

/**
 * Compares the constants above with the module's globals of the same names. Returns how many the
 * module exports (0 until index.ts re-exports assembly/memcache.ts); throws on any disagreement.
 */
export function checkMcConstants(core: Core): number {
  const raw = core.exports as unknown as Record<string, unknown>;
  let seen = 0;
  for (const [name, value] of Object.entries(mcConstants())) {
    const g = raw[name];
    if (!(g instanceof WebAssembly.Global)) continue;
    seen++;
    if (g.value !== value) throw new Error(`WASM core constant ${name} is ${g.value}, JS expects ${value}`);
  }
  return seen;
}

// ---- records ----

export interface McKey {
  off: number;
  len: number;
  /** Unsigned ring token. */
  token: number;
  arg: number;
}

/** A framed memcached request or reply in plain form (offsets relative to the framed range). */
export interface McRecord {
  start: number;
  len: number;
  cmd: number;
  flags: number;
  argc: number;
  nameOff: number;
  nameLen: number;
  keys: McKey[];
  /** Unsigned ring token of the first key (requests). */
  token: number;
  err: number;
  arg1Off: number;
  arg1Len: number;
  /** digest64 of the reply bytes (replies; 0n for requests). */
  digest: bigint;
  aux: number;
}

/** Reads the records (and their keys) of the last memcached framing call. */
export function readMcRecords(core: Core, count: number): McRecord[] {
  const w = core.i32;
  const out: McRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = (core.recPtr >> 2) + i * ABI.REC_WORDS;
    const first = w[r + ABI.REC_KEY_FIRST]!;
    const keys: McKey[] = [];
    for (let k = first; k < first + w[r + ABI.REC_NKEYS]!; k++) {
      const e = (core.keyPtr >> 2) + k * ABI.KEY_WORDS;
      keys.push({ off: w[e + ABI.KEY_OFF]!, len: w[e + ABI.KEY_LEN]!, token: w[e + ABI.KEY_TOKEN]! >>> 0, arg: w[e + ABI.KEY_ARG]! });
    }
    out.push({
      start: w[r + ABI.REC_START]!, len: w[r + ABI.REC_LEN]!, cmd: w[r + ABI.REC_CMD]!, flags: w[r + ABI.REC_FLAGS]!,
      argc: w[r + ABI.REC_ARGC]!, nameOff: w[r + ABI.REC_NAME_OFF]!, nameLen: w[r + ABI.REC_NAME_LEN]!, keys,
      token: w[r + ABI.REC_TOKEN]! >>> 0, err: w[r + ABI.REC_ERR]!, arg1Off: w[r + ABI.REC_ARG1_OFF]!,
      arg1Len: w[r + ABI.REC_ARG1_LEN]!, aux: w[r + ABI.REC_AUX]!,
      digest: (BigInt(w[r + ABI.REC_DIGEST_HI]! >>> 0) << 32n) | BigInt(w[r + ABI.REC_DIGEST_LO]! >>> 0),
    });
  }
  return out;
}

// ---- reference decoders ----

export interface McOracleOptions {
  /** Ring token of a key (the core's routingToken). */
  routingToken(key: Uint8Array): number;
  /** Reply digest (the core's digest64); replies only. */
  digest64?(bytes: Uint8Array): bigint;
  /** @default 512 MiB */
  maxBulk?: number;
}

export interface McDecodeResult {
  records: McRecord[];
  consumed: number;
  need: number;
  error?: { pos: number; code: number };
}

class Stop {
  constructor(readonly need: number, readonly error?: { pos: number; code: number }) {}
}

interface Token { off: number; text: string }

interface Line {
  /** Content, without \r\n. */
  text: string;
  /** Offset after the \n. */
  next: number;
}

/** The line at pos, or a Stop (incomplete / too long). */
function lineAt(s: string, pos: number, needIfShort: number): Line {
  const lf = s.indexOf('\n', pos);
  if (lf < 0 || lf - pos > ABI.MAX_INLINE) {
    if (s.length - pos > ABI.MAX_INLINE) throw new Stop(0, { pos: pos + ABI.MAX_INLINE, code: ABI.E_INLINE_TOO_LONG });
    throw new Stop(needIfShort);
  }
  const end = lf > pos && s[lf - 1] === '\r' ? lf - 1 : lf;
  return { text: s.slice(pos, end), next: lf + 1 };
}

function tokens(line: string, base: number): Token[] {
  const out: Token[] = [];
  for (const m of line.matchAll(/[^ ]+/g)) out.push({ off: base + m.index, text: m[0] });
  return out;
}

const U64_MAX = (1n << 64n) - 1n;
const isU64 = (t: string): boolean => /^\+?\d+$/.test(t) && BigInt(t.replace('+', '')) <= U64_MAX;
const isI32 = (t: string): boolean => /^[+-]?\d{1,10}$/.test(t) && Math.abs(Number(t) + 0.5) <= 2 ** 31;
const bad = (pos: number, code: number): Stop => new Stop(0, { pos, code });

/** Data block of `bytes` bytes at `next` followed by \r\n; returns its end or throws. */
function dataBlock(s: string, next: number, bytes: number, needFromStart: number): number {
  const end = next + bytes;
  if (end < s.length && s[end] !== '\r') throw bad(end, ABI.E_EXPECTED_CRLF);
  if (end + 2 > s.length) throw new Stop(needFromStart);
  if (s[end + 1] !== '\n') throw bad(end, ABI.E_EXPECTED_CRLF);
  return end + 2;
}

function decodeLoop(b: Uint8Array, one: (s: string, pos: number) => McRecord): McDecodeResult {
  const s = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  const records: McRecord[] = [];
  let pos = 0;
  while (pos < s.length) {
    try {
      const r = one(s, pos);
      records.push(r);
      pos = r.start + r.len;
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      if (e.error) return { records, consumed: pos, need: 0, error: e.error };
      return { records, consumed: pos, need: e.need };
    }
  }
  return { records, consumed: pos, need: 0 };
}

const latin1 = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Reference decoder for memcached requests, with mcFrameRequests' record contract. */
export function decodeMcRequests(b: Uint8Array, o: McOracleOptions): McDecodeResult {
  const maxBulk = o.maxBulk ?? 512 * 1024 * 1024;
  return decodeLoop(b, (s, pos) => {
    const line = lineAt(s, pos, 0);
    const t = tokens(line.text, pos);
    const name = t[0]?.text ?? '';
    const id = name === '' ? 0 : MC_COMMAND_NAMES.indexOf(name);
    const cmd = id < 0 ? 0 : id;
    const rec: McRecord = {
      start: pos, len: line.next - pos, cmd, flags: MC_COMMAND_FLAGS[cmd]!, argc: t.length,
      nameOff: t[0]?.off ?? pos, nameLen: name.length, keys: [], token: 0, err: 0,
      arg1Off: t.length > 1 ? t[1]!.off : -1, arg1Len: t.length > 1 ? t[1]!.text.length : 0, digest: 0n,
      aux: line.next - pos,
    };
    const last = t[t.length - 1]?.text;
    let keyTokens: Token[] = [];
    let err: number = ABI.ERR_NONE;
    let noreply = false;
    const keyOk = (k: Token): boolean => k.text.length <= MC_MAX_KEY;
    switch (cmd) {
      case MC_CMD.UNKNOWN:
        err = ABI.ERR_UNKNOWN_CMD;
        break;
      case MC_CMD.GET: case MC_CMD.GETS: case MC_CMD.GAT: case MC_CMD.GATS: {
        const first = cmd >= MC_CMD.GAT ? 2 : 1;
        keyTokens = t.slice(first);
        if (t.length <= first) err = ABI.ERR_ARITY;
        else if ((first === 2 && !isI32(t[1]!.text)) || !keyTokens.every(keyOk)) err = ABI.ERR_BAD_NUMBER;
        break;
      }
      case MC_CMD.SET: case MC_CMD.ADD: case MC_CMD.REPLACE: case MC_CMD.APPEND: case MC_CMD.PREPEND:
      case MC_CMD.CAS: {
        const base = cmd === MC_CMD.CAS ? 6 : 5;
        if (t.length !== base && t.length !== base + 1) { err = ABI.ERR_ARITY; break; }
        const bytesTok = t[4]!;
        const bytes = isI32(bytesTok.text) ? Number(bytesTok.text) : -1;
        if (bytes < 0 || bytes > 0x7ffffffd) throw bad(bytesTok.off, ABI.E_BAD_MC);
        if (bytes > maxBulk) throw bad(bytesTok.off, ABI.E_TOO_LARGE);
        rec.len = dataBlock(s, line.next, bytes, line.next - pos + bytes + 2) - pos;
        noreply = t.length === base + 1 && last === 'noreply';
        const nums = isU64(t[2]!.text) && isI32(t[3]!.text) && (base === 5 || isU64(t[5]!.text));
        if (!keyOk(t[1]!) || !nums) err = ABI.ERR_BAD_NUMBER;
        keyTokens = [t[1]!];
        break;
      }
      case MC_CMD.DELETE: {
        if (t.length < 2 || t.length > 4) { err = ABI.ERR_ARITY; break; }
        noreply = t.length > 2 && last === 'noreply';
        const zero = t[2]?.text === '0';
        const form = t.length === 2 || (t.length === 3 && (zero || noreply)) || (t.length === 4 && zero && noreply);
        if (!form || !keyOk(t[1]!)) err = ABI.ERR_BAD_NUMBER;
        keyTokens = [t[1]!];
        break;
      }
      case MC_CMD.INCR: case MC_CMD.DECR: case MC_CMD.TOUCH: {
        if (t.length !== 3 && t.length !== 4) { err = ABI.ERR_ARITY; break; }
        noreply = t.length === 4 && last === 'noreply';
        const num = cmd === MC_CMD.TOUCH ? isI32(t[2]!.text) : isU64(t[2]!.text);
        if (!num || !keyOk(t[1]!)) err = ABI.ERR_BAD_NUMBER;
        keyTokens = [t[1]!];
        break;
      }
      case MC_CMD.FLUSH_ALL:
        if (t.length > 3) { err = ABI.ERR_ARITY; break; }
        noreply = t.length > 1 && last === 'noreply';
        if (t.length !== (noreply ? 2 : 1) && !isI32(t[1]!.text)) err = ABI.ERR_BAD_NUMBER;
        break;
      case MC_CMD.VERBOSITY:
        if (t.length !== 2 && t.length !== 3) { err = ABI.ERR_ARITY; break; }
        noreply = last === 'noreply';
        break;
      default: // version, quit, stats: any arguments
        break;
    }
    rec.err = err;
    if (noreply) rec.flags |= MF_NOREPLY;
    if (err === ABI.ERR_NONE) {
      rec.keys = keyTokens.map((k, i) => ({
        off: k.off, len: k.text.length, token: o.routingToken(latin1(k.text)) >>> 0, arg: t.indexOf(k) >= 0 ? t.indexOf(k) : i,
      }));
      rec.token = rec.keys[0]?.token ?? 0;
    }
    return rec;
  });
}

const STATUS_WORDS = new Map<string, number>(Object.entries(MC_STATUS));
const ERROR_WORDS = new Map<string, number>(Object.entries(MC_ERROR_KIND));
const STAT_WORDS = new Set(['STAT', 'ITEM', 'PREFIX']);

/** Reference decoder for memcached replies, with mcFrameReplies' record contract. */
export function decodeMcReplies(b: Uint8Array, o: McOracleOptions): McDecodeResult {
  const maxBulk = o.maxBulk ?? 512 * 1024 * 1024;
  return decodeLoop(b, (s, pos) => {
    const first = lineAt(s, pos, 0);
    const sp = first.text.indexOf(' ');
    const word = sp < 0 ? first.text : first.text.slice(0, sp);
    const whole = sp < 0;
    const rest = whole || sp + 1 >= first.text.length ? null : { off: pos + sp + 1, len: first.text.length - sp - 1 };
    const rec: McRecord = {
      start: pos, len: first.next - pos, cmd: 0, flags: 0, argc: 0, nameOff: pos, nameLen: word.length, keys: [],
      token: 0, err: 0, arg1Off: -1, arg1Len: 0, digest: 0n, aux: 0,
    };
    if (word === 'VALUE' || first.text === 'END') {
      rec.cmd = ABI.MC_REPLY_VALUE;
      let p = pos;
      for (;;) {
        const line = lineAt(s, p, p > pos ? p - pos + 5 : 0);
        if (line.text === 'END') { p = line.next; break; }
        const t = tokens(line.text, p);
        const shape = t.length >= 4 && t.length <= 5 && t[0]!.off === p && t[0]!.text === 'VALUE' &&
          isU64(t[2]!.text) && (t.length === 4 || isU64(t[4]!.text));
        if (!shape) throw bad(p, ABI.E_BAD_MC);
        const bytesTok = t[3]!;
        const bytes = isU64(bytesTok.text) ? Number(BigInt(bytesTok.text.replace('+', ''))) : -1;
        if (bytes < 0 || bytes > 0x7ffffffd) throw bad(bytesTok.off, ABI.E_BAD_MC);
        if (bytes > maxBulk) throw bad(bytesTok.off, ABI.E_TOO_LARGE);
        const end = dataBlock(s, line.next, bytes, line.next + bytes + 7 - pos);
        rec.keys.push({ off: p, len: end - p, token: o.routingToken(latin1(t[1]!.text)) >>> 0, arg: rec.keys.length });
        p = end;
      }
      rec.argc = rec.keys.length;
      rec.len = p - pos;
    } else if (STAT_WORDS.has(word)) {
      rec.cmd = ABI.MC_REPLY_STAT;
      let p = pos;
      for (;;) {
        const line = lineAt(s, p, p - pos + 5);
        if (line.text === 'END') { p = line.next; break; }
        const w = line.text.split(' ')[0]!;
        if (!STAT_WORDS.has(w)) throw bad(p, ABI.E_BAD_MC);
        rec.argc++;
        p = line.next;
      }
      rec.len = p - pos;
    } else if (whole && STATUS_WORDS.has(word)) {
      rec.cmd = ABI.MC_REPLY_STATUS;
      rec.aux = STATUS_WORDS.get(word)!;
    } else if (whole && /^\d+$/.test(word) && BigInt(word) <= U64_MAX) {
      rec.cmd = ABI.MC_REPLY_NUMBER;
    } else if (ERROR_WORDS.has(word) || word === 'VERSION') {
      rec.cmd = word === 'VERSION' ? ABI.MC_REPLY_VERSION : ABI.MC_REPLY_ERROR;
      rec.aux = ERROR_WORDS.get(word) ?? 0;
      if (rest) { rec.arg1Off = rest.off; rec.arg1Len = rest.len; }
    } else {
      throw bad(pos, ABI.E_BAD_MC);
    }
    if (o.digest64) rec.digest = o.digest64(b.subarray(rec.start, rec.start + rec.len));
    return rec;
  });
}
