// Plain-TS reference decoders for memcached requests and replies, with the record contract of the
// core's mcFrameRequests / mcFrameReplies: the oracles the tests (and bench/core.ts) hold the core
// to. Grammar and error rules: the header comment of assembly/memcache.ts.
import { ABI } from '../../src/wasm/abi.js';
import {
  MC_CMD, MC_COMMAND_NAMES, MC_COMMAND_FLAGS, MF_NOREPLY, MC_STATUS, MC_ERROR_KIND, MC_MAX_KEY, type McRecord,
} from '../../src/wasm/memcache.js';

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
