// The memcached text framer: request and reply tables (valid and malformed, with codes and
// positions), each fed whole, one byte at a time and at random split points with identical records;
// random pipelines against the plain-TS oracles of test/oracles/memcache.ts; replies captured from a real
// memcached; table-full resumption; no memory growth.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createCore, type Core } from '../src/wasm/core.js';
import { ABI } from '../src/wasm/abi.js';
import {
  checkMcConstants, readMcRecords, MC_CMD, MC_COMMAND_FLAGS, MC_COMMAND_NAMES, MC_ERROR_KIND, MC_STATUS, MF_NOREPLY,
  type McRecord,
} from '../src/wasm/memcache.js';
import { decodeMcReplies, decodeMcRequests, type McDecodeResult } from './oracles/memcache.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 1 << 22 });
const ex = core.exports;
const SLOT = 5;
const SCRATCH = core.stagingPtr + (1 << 21); // inputs stay below this

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const tokenOf = (k: Uint8Array): number => {
  core.u8.set(k, SCRATCH);
  return ex.routingToken(SCRATCH, k.length) >>> 0;
};
const digestOf = (b: Uint8Array): bigint => {
  core.u8.set(b, SCRATCH);
  return BigInt.asUintN(64, ex.digest64(SCRATCH, b.length));
};

type Direction = 'req' | 'rep';
interface Run {
  records: McRecord[];
  error?: { pos: number; code: number };
  rest: number;
  need: number;
}

function shift(r: McRecord, by: number): McRecord {
  return {
    ...r, start: r.start + by, nameOff: r.nameOff + by, arg1Off: r.arg1Off < 0 ? -1 : r.arg1Off + by,
    keys: r.keys.map((k) => ({ ...k, off: k.off + by })),
  };
}

/** Frames `input` as a host would, cut at `cuts`; offsets in the result are absolute. */
function run(dir: Direction, input: Uint8Array, cuts: number[] = [], c: Core = core): Run {
  const e = c.exports;
  const res = c.resPtr >> 2;
  const fn = dir === 'req' ? e.mcFrameRequests : e.mcFrameReplies;
  e.connReset(SLOT, dir === 'req' ? ABI.FRAMER_MC_REQ : ABI.FRAMER_MC_REP);
  let tail: Buffer = Buffer.alloc(0);
  let abs = 0;
  let need = 0;
  const records: McRecord[] = [];
  let prev = 0;
  for (const cut of [...cuts, input.length]) {
    const data = Buffer.concat([tail, input.subarray(prev, cut)]);
    prev = cut;
    c.u8.set(data, c.stagingPtr);
    let off = 0;
    for (;;) {
      const n = fn(SLOT, c.stagingPtr + off, data.length - off);
      const consumed = c.i32[res + (ABI.RES_CONSUMED >> 2)]!;
      if (n < 0) {
        expect(n).toBe(ABI.ST_PROTOCOL);
        const error = { pos: abs + off + c.i32[res + (ABI.RES_ERR_POS >> 2)]!, code: c.i32[res + (ABI.RES_ERR_CODE >> 2)]! };
        e.connReset(SLOT, dir === 'req' ? ABI.FRAMER_MC_REQ : ABI.FRAMER_MC_REP);
        const k = fn(SLOT, c.stagingPtr + off, consumed); // the complete messages before the error
        records.push(...readMcRecords(c, k).map((r) => shift(r, abs + off)));
        return { records, error, rest: abs + off + consumed, need: 0 };
      }
      records.push(...readMcRecords(c, n).map((r) => shift(r, abs + off)));
      need = c.i32[res + (ABI.RES_NEED >> 2)]!;
      off += consumed;
      if ((c.i32[res + (ABI.RES_FLAGS >> 2)]! & ABI.RES_MORE) === 0 || consumed === 0) break;
    }
    tail = Buffer.from(data.subarray(off));
    abs += off;
  }
  return { records, rest: abs, need };
}

function oracle(dir: Direction, input: Uint8Array): Run {
  const r: McDecodeResult = dir === 'req'
    ? decodeMcRequests(input, { routingToken: tokenOf })
    : decodeMcReplies(input, { routingToken: tokenOf, digest64: digestOf });
  return r.error ? { records: r.records, error: r.error, rest: r.consumed, need: 0 } : { records: r.records, rest: r.consumed, need: r.need };
}

function randomCuts(len: number, rng: Prng, count: number): number[] {
  const cuts = new Set<number>();
  for (let i = 0; i < count && len > 1; i++) cuts.add(1 + rng.int(len - 1));
  return [...cuts].sort((a, b) => a - b);
}

/** Whole, byte by byte and at random cuts: all identical, and equal to the oracle. */
function runAllWays(dir: Direction, input: Uint8Array, seed = 1): Run {
  const whole = run(dir, input);
  expect(whole, 'oracle').toEqual(oracle(dir, input));
  const every = Array.from({ length: Math.max(0, input.length - 1) }, (_, i) => i + 1);
  expect(run(dir, input, every), 'one byte at a time').toEqual(whole);
  const rng = new Prng(seed);
  for (let i = 0; i < 4; i++) expect(run(dir, input, randomCuts(input.length, rng, 1 + rng.int(6))), 'random cuts').toEqual(whole);
  return whole;
}

const text = (input: string, off: number, len: number): string => input.slice(off, off + len);

describe('memcached command table', () => {
  it('mirrors ids, names and flags of the module', () => {
    expect(MC_COMMAND_NAMES).toHaveLength(20);
    expect(checkMcConstants(core)).toBeGreaterThanOrEqual(0); // throws on any disagreement
    for (let id = 1; id < MC_COMMAND_NAMES.length; id++) {
      const name = MC_COMMAND_NAMES[id]!;
      const { records } = run('req', bytes(`${name}\r\n`));
      expect(records[0]!.cmd, name).toBe(id);
      expect(records[0]!.flags & 0xffff, name).toBe(MC_COMMAND_FLAGS[id]);
    }
  });
});

const K250 = 'k'.repeat(250);
const K251 = 'k'.repeat(251);
type Want = { cmd: number; err?: number; keys?: string[]; argc?: number; noreply?: boolean; arg1?: string | null };

describe('mcFrameRequests: valid and client-error requests', () => {
  const cases: [string, Want][] = [
    ['get k1\r\n', { cmd: MC_CMD.GET, keys: ['k1'], argc: 2, arg1: 'k1' }],
    ['get a b  c\r\n', { cmd: MC_CMD.GET, keys: ['a', 'b', 'c'], argc: 4 }],
    ['gets a b\n', { cmd: MC_CMD.GETS, keys: ['a', 'b'] }],
    [`get ${K250}\r\n`, { cmd: MC_CMD.GET, keys: [K250] }],
    [`get a ${K251}\r\n`, { cmd: MC_CMD.GET, err: ABI.ERR_BAD_NUMBER, keys: [] }],
    ['get\r\n', { cmd: MC_CMD.GET, err: ABI.ERR_ARITY, argc: 1, arg1: null }],
    ['set k 0 0 5\r\nhello\r\n', { cmd: MC_CMD.SET, keys: ['k'], argc: 5 }],
    ['set k 0 0 5 noreply\r\nhe\r\nl\r\n', { cmd: MC_CMD.SET, keys: ['k'], noreply: true }],
    ['set k 0 0 5 foo\r\nhello\r\n', { cmd: MC_CMD.SET, keys: ['k'], noreply: false }],
    ['add k 4294967296 -1 +0\r\n\r\n', { cmd: MC_CMD.ADD, keys: ['k'] }],
    ['replace k 1 2 0\r\n\r\n', { cmd: MC_CMD.REPLACE, keys: ['k'] }],
    ['append k 1 2 1\r\nx\r\n', { cmd: MC_CMD.APPEND, keys: ['k'] }],
    ['prepend k 1 2 1\r\nx\r\n', { cmd: MC_CMD.PREPEND, keys: ['k'] }],
    ['cas k 0 0 1 99\r\nx\r\n', { cmd: MC_CMD.CAS, keys: ['k'], argc: 6 }],
    ['cas k 0 0 1 99 noreply\r\nx\r\n', { cmd: MC_CMD.CAS, keys: ['k'], noreply: true }],
    ['cas k 0 0 1 x\r\na\r\n', { cmd: MC_CMD.CAS, err: ABI.ERR_BAD_NUMBER }],
    ['set k -1 0 2\r\nab\r\n', { cmd: MC_CMD.SET, err: ABI.ERR_BAD_NUMBER }],
    ['set k 0 x 2\r\nab\r\n', { cmd: MC_CMD.SET, err: ABI.ERR_BAD_NUMBER }],
    [`set ${K251} 0 0 2\r\nab\r\n`, { cmd: MC_CMD.SET, err: ABI.ERR_BAD_NUMBER }],
    ['set k 0 0\r\n', { cmd: MC_CMD.SET, err: ABI.ERR_ARITY, argc: 4 }],
    ['set k 0 0 5 x y\r\n', { cmd: MC_CMD.SET, err: ABI.ERR_ARITY, argc: 7 }],
    ['incr n 3\r\n', { cmd: MC_CMD.INCR, keys: ['n'] }],
    ['decr n 18446744073709551615 noreply\r\n', { cmd: MC_CMD.DECR, keys: ['n'], noreply: true }],
    ['incr n abc\r\n', { cmd: MC_CMD.INCR, err: ABI.ERR_BAD_NUMBER }],
    ['incr n 18446744073709551616\r\n', { cmd: MC_CMD.INCR, err: ABI.ERR_BAD_NUMBER }],
    ['incr n\r\n', { cmd: MC_CMD.INCR, err: ABI.ERR_ARITY }],
    ['delete k\r\n', { cmd: MC_CMD.DELETE, keys: ['k'] }],
    ['delete k 0\r\n', { cmd: MC_CMD.DELETE, keys: ['k'] }],
    ['delete k noreply\r\n', { cmd: MC_CMD.DELETE, keys: ['k'], noreply: true }],
    ['delete k 0 noreply\r\n', { cmd: MC_CMD.DELETE, keys: ['k'], noreply: true }],
    ['delete k x\r\n', { cmd: MC_CMD.DELETE, err: ABI.ERR_BAD_NUMBER }],
    ['delete\r\n', { cmd: MC_CMD.DELETE, err: ABI.ERR_ARITY }],
    ['touch k 10\r\n', { cmd: MC_CMD.TOUCH, keys: ['k'] }],
    ['touch k abc\r\n', { cmd: MC_CMD.TOUCH, err: ABI.ERR_BAD_NUMBER }],
    ['gat 100 k n\r\n', { cmd: MC_CMD.GAT, keys: ['k', 'n'], arg1: '100' }],
    ['gats -1 k\r\n', { cmd: MC_CMD.GATS, keys: ['k'] }],
    ['gat x k\r\n', { cmd: MC_CMD.GAT, err: ABI.ERR_BAD_NUMBER }],
    ['gat 1\r\n', { cmd: MC_CMD.GAT, err: ABI.ERR_ARITY }],
    ['version\r\n', { cmd: MC_CMD.VERSION, argc: 1 }],
    ['version x\r\n', { cmd: MC_CMD.VERSION, argc: 2, arg1: 'x' }],
    ['quit\r\n', { cmd: MC_CMD.QUIT }],
    ['flush_all\r\n', { cmd: MC_CMD.FLUSH_ALL }],
    ['flush_all 0 noreply\r\n', { cmd: MC_CMD.FLUSH_ALL, noreply: true }],
    ['flush_all noreply\r\n', { cmd: MC_CMD.FLUSH_ALL, noreply: true }],
    ['flush_all x\r\n', { cmd: MC_CMD.FLUSH_ALL, err: ABI.ERR_BAD_NUMBER }],
    ['flush_all 1 2 3\r\n', { cmd: MC_CMD.FLUSH_ALL, err: ABI.ERR_ARITY }],
    ['stats\r\n', { cmd: MC_CMD.STATS }],
    ['stats slabs\r\n', { cmd: MC_CMD.STATS, arg1: 'slabs' }],
    ['verbosity 1\r\n', { cmd: MC_CMD.VERBOSITY }],
    ['verbosity\r\n', { cmd: MC_CMD.VERBOSITY, err: ABI.ERR_ARITY }],
    ['GET k\r\n', { cmd: MC_CMD.UNKNOWN, err: ABI.ERR_UNKNOWN_CMD, argc: 2 }],
    ['bogus a b c\r\n', { cmd: MC_CMD.UNKNOWN, err: ABI.ERR_UNKNOWN_CMD, argc: 4 }],
    ['\r\n', { cmd: MC_CMD.UNKNOWN, err: ABI.ERR_UNKNOWN_CMD, argc: 0 }],
  ];

  it.each(cases)('frames %j', (wire, want) => {
    const input = bytes(wire);
    const { records, rest, need, error } = runAllWays('req', input);
    expect(error).toBeUndefined();
    expect(rest).toBe(input.length);
    expect(need).toBe(0);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.start).toBe(0);
    expect(r.len).toBe(input.length);
    expect(r.cmd).toBe(want.cmd);
    expect(r.err).toBe(want.err ?? ABI.ERR_NONE);
    if (want.keys) expect(r.keys.map((k) => text(wire, k.off, k.len))).toEqual(want.keys);
    if (r.keys.length > 0) expect(r.token).toBe(r.keys[0]!.token);
    if (want.argc !== undefined) expect(r.argc).toBe(want.argc);
    if (want.noreply !== undefined) expect((r.flags & MF_NOREPLY) !== 0).toBe(want.noreply);
    if (want.arg1 !== undefined) expect(r.arg1Off < 0 ? null : text(wire, r.arg1Off, r.arg1Len)).toBe(want.arg1);
    expect(text(wire, r.nameOff, r.nameLen)).toBe(wire.split(/[ \r\n]/)[0]);
    expect(r.aux).toBe(wire.indexOf('\n') + 1);
  });

  it('frames a pipeline, storage data containing command text and CRLFs included', () => {
    const wire = 'set a 0 0 11\r\nget x\r\n\r\n\r\n\r\nget a b\r\ndelete a\r\n';
    const { records } = runAllWays('req', bytes(wire), 3);
    expect(records.map((r) => r.cmd)).toEqual([MC_CMD.SET, MC_CMD.GET, MC_CMD.DELETE]);
    expect(records[0]!.len).toBe(27);
    expect(records[1]!.keys.map((k) => [k.arg, k.token])).toEqual([[1, tokenOf(bytes('a'))], [2, tokenOf(bytes('b'))]]);
  });
});

describe('mcFrameRequests: incomplete and fatal input', () => {
  it('needs the line, then line + bytes + 2 for a storage command', () => {
    expect(run('req', bytes('get k'))).toEqual({ records: [], rest: 0, need: 0 });
    expect(run('req', bytes('get a\r\nset k 0 0 100\r\nabc'))).toMatchObject({ rest: 7, need: 15 + 100 + 2 });
    expect(run('req', bytes('set k 0 0 3\r\nabc\r'))).toMatchObject({ rest: 0, need: 18 });
  });

  it.each([
    ['set k 0 0 abc\r\nxx\r\n', 10, ABI.E_BAD_MC],
    ['set k 0 0 -1\r\n', 10, ABI.E_BAD_MC],
    ['cas k 0 0 2147483647 1\r\n', 10, ABI.E_BAD_MC],
    ['set k 0 0 536870913\r\n', 10, ABI.E_TOO_LARGE],
    ['set k 0 0 2\r\nxxx\r\n', 15, ABI.E_EXPECTED_CRLF],
    ['set k 0 0 2\r\nxx\rx', 15, ABI.E_EXPECTED_CRLF],
    ['set k 0 0 2\r\nxx\n\n', 15, ABI.E_EXPECTED_CRLF],
    [`get ${'k'.repeat(ABI.MAX_INLINE)}`, ABI.MAX_INLINE, ABI.E_INLINE_TOO_LONG],
  ])('rejects %# at its byte with its code', (wire, pos, code) => {
    const input = bytes('get a\r\n' + wire);
    const r = input.length < 1000 ? runAllWays('req', input) : run('req', input);
    expect(r.error).toEqual({ pos: 7 + pos, code });
    expect(r.records).toHaveLength(1);
    expect(r.rest).toBe(7);
    expect(oracle('req', input)).toEqual(r);
  });

  it('accepts a line of exactly MAX_INLINE bytes', () => {
    const line = 'get ' + 'k'.repeat(ABI.MAX_INLINE - 4);
    expect(run('req', bytes(line + '\n')).records).toHaveLength(1);
    expect(run('req', bytes(line)).need).toBe(0);
  });
});

describe('mcFrameReplies', () => {
  const value = (k: string, v: string, cas = ''): string => `VALUE ${k} 0 ${v.length}${cas ? ' ' + cas : ''}\r\n${v}\r\n`;
  const cases: [string, number, number, number][] = [
    [value('k', 'hello') + 'END\r\n', ABI.MC_REPLY_VALUE, 0, 1],
    [value('a', 'x\r\nEND\r\n') + value('b', '', '7') + 'END\r\n', ABI.MC_REPLY_VALUE, 0, 2],
    ['END\r\n', ABI.MC_REPLY_VALUE, 0, 0],
    ['STORED\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.STORED, 0],
    ['NOT_STORED\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.NOT_STORED, 0],
    ['EXISTS\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.EXISTS, 0],
    ['NOT_FOUND\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.NOT_FOUND, 0],
    ['DELETED\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.DELETED, 0],
    ['TOUCHED\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.TOUCHED, 0],
    ['OK\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.OK, 0],
    ['RESET\r\n', ABI.MC_REPLY_STATUS, MC_STATUS.RESET, 0],
    ['18446744073709551615\r\n', ABI.MC_REPLY_NUMBER, 0, 0],
    ['ERROR\r\n', ABI.MC_REPLY_ERROR, MC_ERROR_KIND.ERROR, 0],
    ['CLIENT_ERROR bad command line format\r\n', ABI.MC_REPLY_ERROR, MC_ERROR_KIND.CLIENT_ERROR, 0],
    ['SERVER_ERROR out of memory\r\n', ABI.MC_REPLY_ERROR, MC_ERROR_KIND.SERVER_ERROR, 0],
    ['VERSION 1.6.18\r\n', ABI.MC_REPLY_VERSION, 0, 0],
    ['STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n', ABI.MC_REPLY_STAT, 0, 2],
    ['ITEM k [5 b; 0 s]\r\nEND\r\n', ABI.MC_REPLY_STAT, 0, 1],
  ];

  it.each(cases)('frames %j', (wire, kind, sub, count) => {
    const input = bytes(wire);
    const { records, rest } = runAllWays('rep', input);
    expect(rest).toBe(input.length);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect([r.cmd, r.aux, r.argc, r.len]).toEqual([kind, sub, count, input.length]);
    expect(r.digest).toBe(digestOf(input));
    if (kind === ABI.MC_REPLY_VALUE) {
      expect(r.keys.map((k) => text(wire, k.off, k.len)).join('')).toBe(wire.slice(0, -5));
      expect(r.keys.map((k) => k.arg)).toEqual(r.keys.map((_, i) => i));
    }
    if (kind === ABI.MC_REPLY_ERROR && wire.includes(' ')) expect(text(wire, r.arg1Off, r.arg1Len)).toBe(wire.slice(wire.indexOf(' ') + 1, -2));
  });

  it('needs more with a lower bound once a VALUE length is known', () => {
    expect(run('rep', bytes('VALUE k 0 10\r\nab'))).toEqual({ records: [], rest: 0, need: 14 + 10 + 2 + 5 });
    expect(run('rep', bytes('VALUE k 0 1\r\na\r\n'))).toEqual({ records: [], rest: 0, need: 21 });
    expect(run('rep', bytes('STAT a 1\r\nSTAT'))).toMatchObject({ need: 15 });
  });

  it.each([
    ['HELLO\r\n', 0, ABI.E_BAD_MC],
    ['STORED extra\r\n', 0, ABI.E_BAD_MC],
    ['VALUE k 0 2\r\nab\r\nSTORED\r\n', 17, ABI.E_BAD_MC],
    ['VALUE k x 2\r\nab\r\nEND\r\n', 0, ABI.E_BAD_MC],
    ['VALUE k 0 -2\r\nab\r\nEND\r\n', 10, ABI.E_BAD_MC],
    ['VALUE k 0 2\r\nabc\r\nEND\r\n', 15, ABI.E_EXPECTED_CRLF],
    ['VALUE k 0 536870913\r\n', 10, ABI.E_TOO_LARGE],
    ['STAT a 1\r\nVALUE\r\n', 10, ABI.E_BAD_MC],
  ])('rejects %j at byte %i with code %i', (wire, pos, code) => {
    const input = bytes('OK\r\n' + wire);
    const r = runAllWays('rep', input);
    expect(r.error).toEqual({ pos: 4 + pos, code });
    expect(r.records).toHaveLength(1);
  });
});

describe('memcached framing against the oracles', () => {
  const key = (rng: Prng): string => {
    if (rng.int(40) === 0) return 'k'.repeat(251);
    return Array.from({ length: 1 + rng.int(12) }, () => String.fromCharCode(33 + rng.int(94))).join('');
  };
  const num = (rng: Prng): string => rng.pick(['0', '1', '-1', '+5', '99999999999', 'x', '4294967296', '18446744073709551616']);
  const blob = (rng: Prng): string => Array.from({ length: rng.int(20) }, () => rng.pick(['a', ' ', '\r', '\n', 'END', '\r\n'])).join('');

  function request(rng: Prng): string {
    const sp = rng.int(10) === 0 ? '  ' : ' ';
    const eol = rng.int(8) === 0 ? '\n' : '\r\n';
    const nr = rng.int(4) === 0 ? `${sp}noreply` : '';
    switch (rng.int(12)) {
      case 0: return `${rng.pick(['get', 'gets'])}${Array.from({ length: rng.int(5) }, () => sp + key(rng)).join('')}${eol}`;
      case 1: case 2: {
        const data = blob(rng);
        const n = rng.int(15) === 0 ? num(rng) : String(data.length);
        const cas = rng.int(3) === 0 ? `cas ${key(rng)} ${num(rng)} ${num(rng)} ${n} ${num(rng)}` : `${rng.pick(['set', 'add', 'replace', 'append', 'prepend'])} ${key(rng)} ${num(rng)} ${num(rng)} ${n}`;
        const end = rng.int(30) === 0 ? 'xx' : '\r\n';
        return `${cas}${nr}${eol}${data}${end}`;
      }
      case 3: return `${rng.pick(['incr', 'decr', 'touch'])} ${key(rng)} ${num(rng)}${nr}${eol}`;
      case 4: return `delete ${key(rng)}${rng.pick(['', ' 0', ' x', ' 0 noreply', ' noreply', ' 0 0'])}${eol}`;
      case 5: return `${rng.pick(['gat', 'gats'])} ${num(rng)}${Array.from({ length: rng.int(4) }, () => ' ' + key(rng)).join('')}${eol}`;
      case 6: return `${rng.pick(['version', 'quit', 'stats', 'stats items', 'flush_all', 'flush_all 10', 'flush_all x', 'verbosity 1', 'verbosity'])}${nr}${eol}`;
      case 7: return `${rng.pick(['', 'GET k', 'bogus', 'set', '   ', 'incr'])}${eol}`;
      default: return `get ${key(rng)}${eol}`;
    }
  }

  function reply(rng: Prng): string {
    switch (rng.int(8)) {
      case 0: case 1: {
        let s = '';
        for (let i = rng.int(4); i > 0; i--) {
          const v = blob(rng);
          s += `VALUE ${key(rng)} ${num(rng)} ${rng.int(20) === 0 ? num(rng) : v.length}${rng.int(2) ? ' 12' : ''}\r\n${v}\r\n`;
        }
        return s + (rng.int(30) === 0 ? 'STORED\r\n' : 'END\r\n');
      }
      case 2: return rng.pick(['STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'OK', 'RESET', 'OK ']) + '\r\n';
      case 3: return `${rng.pick(['0', '42', '18446744073709551615', '18446744073709551616', '+1'])}\r\n`;
      case 4: return `${rng.pick(['ERROR', 'ERROR ', 'CLIENT_ERROR bad data chunk', 'SERVER_ERROR out of memory', 'VERSION 1.6.18', 'VERSION'])}\r\n`;
      case 5: return `STAT pid 1\r\n${rng.int(2) ? 'STAT x y\r\n' : ''}${rng.int(20) === 0 ? 'BAD\r\n' : ''}END\r\n`;
      case 6: return rng.pick(['\r\n', 'garbage\r\n', 'END \r\n']);
      default: return 'END\r\n';
    }
  }

  it.each(['req', 'rep'] as const)('random %s pipelines frame as the oracle says, whole and split', (dir) => {
    const rng = new Prng(dir === 'req' ? 1234 : 5678);
    const before = core.memory.buffer.byteLength;
    let errors = 0;
    for (let iter = 0; iter < 400; iter++) {
      let input = bytes(Array.from({ length: 1 + rng.int(8) }, () => (dir === 'req' ? request(rng) : reply(rng))).join(''));
      if (rng.int(3) === 0) input = input.subarray(0, rng.int(input.length + 1));
      const want = oracle(dir, input);
      if (want.error) errors++;
      expect(run(dir, input), `iteration ${iter}: ${JSON.stringify(input.toString('latin1'))}`).toEqual(want);
      expect(run(dir, input, randomCuts(input.length, rng, 1 + rng.int(8)))).toEqual(want);
    }
    expect(errors).toBeGreaterThan(10); // the generator does reach the fatal paths
    expect(core.memory.buffer.byteLength).toBe(before);
  });

  it('random bytes never trap', () => {
    const rng = new Prng(99);
    for (let iter = 0; iter < 300; iter++) {
      const input = Buffer.from(Array.from({ length: rng.int(300) }, () => rng.pick([0x20, 0x0a, 0x0d, 0x30, 0x56, rng.int(256)])));
      for (const dir of ['req', 'rep'] as const) expect(run(dir, input)).toEqual(oracle(dir, input));
    }
  });
});

describe('table limits', () => {
  it('stops before a message whose keys do not fit and resumes; too many keys for the table is ERR_TOO_MANY_KEYS', () => {
    const small = createCore({ records: 3, keys: 4, connections: 8, stagingBytes: 1 << 16, mbufCount: 4 });
    const wire = 'get a b c\r\nget d e\r\nget f\r\nversion\r\nget g h i j k\r\nVERSION\r\n';
    const r = run('req', bytes(wire), [], small);
    expect(r.records.map((x) => [x.cmd, x.err, x.keys.length])).toEqual([
      [MC_CMD.GET, 0, 3], [MC_CMD.GET, 0, 2], [MC_CMD.GET, 0, 1], [MC_CMD.VERSION, 0, 0],
      [MC_CMD.GET, ABI.ERR_TOO_MANY_KEYS, 0], [MC_CMD.UNKNOWN, ABI.ERR_UNKNOWN_CMD, 0],
    ]);
    const values = 'VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nVALUE c 0 1\r\n3\r\nEND\r\n';
    const rep = run('rep', bytes(values + values), [], small);
    expect(rep.records.map((x) => x.keys.length)).toEqual([3, 3]);
  });
});

describe('replies captured from a real memcached', () => {
  let server: ChildProcess | undefined;
  afterAll(async () => {
    const s = server;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((resolve) => s.once('exit', resolve));
    s.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    if (s.exitCode === null) s.kill('SIGKILL');
  });

  const freePort = (): Promise<number> => new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });

  async function exchange(port: number, req: string, until: (got: string) => boolean): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<Buffer>((resolve, reject) => {
          const sock = connect(port, '127.0.0.1');
          const chunks: Buffer[] = [];
          const timer = setTimeout(() => { sock.destroy(); reject(new Error('memcached timeout')); }, 3000);
          sock.on('error', reject);
          sock.on('data', (d: Buffer) => {
            chunks.push(d);
            if (until(Buffer.concat(chunks).toString('latin1'))) {
              clearTimeout(timer);
              sock.end();
              resolve(Buffer.concat(chunks));
            }
          });
          sock.write(req);
        });
      } catch (e) {
        if (attempt > 40) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  it('frames what memcached 1.6 answers to a pipeline', async () => {
    const port = await freePort();
    const args = ['-U', '0', '-l', '127.0.0.1', '-p', String(port), '-m', '16'];
    if (process.getuid?.() === 0) args.push('-u', 'root');
    server = spawn('memcached', args, { stdio: 'ignore' });
    const pipeline = [
      'set a 5 0 3\r\nabc\r\n', 'set b 0 0 7\r\nx\r\nEND\r\r\n', 'get a b missing\r\n', 'gets a\r\n', 'add a 0 0 1\r\nz\r\n',
      'set n 0 0 2\r\n41\r\n', 'incr n 1\r\n', 'delete a\r\n', 'delete a\r\n', 'touch b 100\r\n', 'bogus\r\n',
      'incr b x\r\n', 'version\r\n', 'stats\r\n', 'get zzz\r\n',
    ];
    const got = await exchange(port, pipeline.join(''), (s) => /STAT[^]*END\r\nEND\r\n$/.test(s));
    const { records, rest, error } = runAllWays('rep', got, 11);
    expect(error).toBeUndefined();
    expect(rest).toBe(got.length);
    expect(records.map((r) => r.cmd)).toEqual([
      ABI.MC_REPLY_STATUS, ABI.MC_REPLY_STATUS, ABI.MC_REPLY_VALUE, ABI.MC_REPLY_VALUE, ABI.MC_REPLY_STATUS,
      ABI.MC_REPLY_STATUS, ABI.MC_REPLY_NUMBER, ABI.MC_REPLY_STATUS, ABI.MC_REPLY_STATUS, ABI.MC_REPLY_STATUS,
      ABI.MC_REPLY_ERROR, ABI.MC_REPLY_ERROR, ABI.MC_REPLY_VERSION, ABI.MC_REPLY_STAT, ABI.MC_REPLY_VALUE,
    ]);
    const s = got.toString('latin1');
    const multi = records[2]!;
    expect(multi.keys.map((k) => text(s, k.off, k.len))).toEqual(['VALUE a 5 3\r\nabc\r\n', 'VALUE b 0 7\r\nx\r\nEND\r\r\n']);
    expect(records[3]!.keys).toHaveLength(1); // gets: with the cas unique
    expect(records.slice(4, 11).map((r) => r.aux)).toEqual([
      MC_STATUS.NOT_STORED, MC_STATUS.STORED, 0, MC_STATUS.DELETED, MC_STATUS.NOT_FOUND, MC_STATUS.TOUCHED, MC_ERROR_KIND.ERROR,
    ]);
    expect(text(s, records[6]!.nameOff, records[6]!.nameLen)).toBe('42');
    expect(records[11]!.aux).toBe(MC_ERROR_KIND.CLIENT_ERROR);
    expect(records[13]!.argc).toBeGreaterThan(10);
    expect(records[14]!.argc).toBe(0);
    // The requests of the same pipeline frame too, one record each
    const reqs = run('req', bytes(pipeline.join('')));
    expect(reqs.records.map((r) => MC_COMMAND_NAMES[r.cmd] || 'unknown')).toEqual(pipeline.map((p) => {
      const name = p.split(' ')[0]!.replace('\r\n', '');
      return MC_COMMAND_NAMES.includes(name) ? name : 'unknown';
    }));
  }, 20000);
});
