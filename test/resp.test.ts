// RESP framer (assembly/resp.ts): table-driven request and reply cases, each fed whole, one byte at a
// time and at random split points, compared with each other, with the oracle and with the case's
// own expectations; then limits, the call contract and a quick speed comparison.
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { ABI } from '../src/wasm/abi.js';
import { createCore, type Core } from '../src/wasm/core.js';
import { encodeCommand } from './oracles/resp.js';
import {
  bytewise, feed, frameOnce, oracleFor, res, splitAt, type FeedResult, type Mode,
} from './helpers/framing.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 8 << 20, connections: 8, mbufCount: 64 });
const ex = core.exports;
const id = (name: string): number => {
  const b = Buffer.from(name);
  core.u8.set(b, ex.mbuf_base());
  return ex.cmdLookup(ex.mbuf_base(), b.length);
};

interface Case {
  name: string;
  input: string | Buffer;
  /** Number of records. */
  n: number;
  error?: [code: number, pos: number];
  consumed?: number;
  need?: number;
  /** Extra checks on the whole-feed result. */
  check?: (r: FeedResult<never>) => void;
}

const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

/** Feeds whole, bytewise and at 5 random split sets: all must agree, with the oracle too. */
function runCase(core: Core, mode: Mode, c: Case, seed = 1): FeedResult<never> {
  const buf = b(c.input);
  const whole = feed(core, mode as 'req', [buf]) as FeedResult<never>;
  const strip = (r: FeedResult<unknown>) => ({ records: r.records, error: r.error, consumed: r.consumed, need: r.need });
  const expected = strip(whole);
  expect(strip(feed(core, mode as 'req', bytewise(buf))), `${c.name}: bytewise`).toEqual(expected);
  const rng = new Prng(seed);
  for (let k = 0; k < 5; k++) {
    const cuts = Array.from({ length: 1 + rng.int(6) }, () => rng.int(buf.length + 1));
    expect(strip(feed(core, mode as 'req', splitAt(buf, cuts))), `${c.name}: split ${cuts}`).toEqual(expected);
  }
  expect(strip(oracleFor(core, mode as 'req', buf)), `${c.name}: oracle`).toEqual(expected);
  expect(whole.records.length, c.name).toBe(c.n);
  if (c.error) expect(whole.error, c.name).toEqual({ code: c.error[0], pos: c.error[1] });
  else expect(whole.error, c.name).toBeUndefined();
  if (c.consumed !== undefined) expect(whole.consumed, c.name).toBe(c.consumed);
  if (c.need !== undefined) expect(whole.need, c.name).toBe(c.need);
  c.check?.(whole);
  return whole;
}

const GET = '*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n';
const SET = '*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n';

const requestCases: Case[] = [
  { name: 'GET', input: GET, n: 1, consumed: GET.length },
  { name: 'pipeline GET SET GET', input: GET + SET + GET, n: 3, consumed: 2 * GET.length + SET.length },
  { name: 'binary-safe payload with CRLF inside', input: b(Buffer.concat([b('*3\r\n$3\r\nSET\r\n$2\r\n\r\n\r\n$4\r\n'), Buffer.from([0, 13, 10, 255]), b('\r\n')])), n: 1 },
  { name: 'empty argument', input: '*2\r\n$3\r\nGET\r\n$0\r\n\r\n', n: 1 },
  { name: '*0 is an empty record', input: '*0\r\n' + GET, n: 2 },
  { name: '*-1 is an empty record', input: '*-1\r\n', n: 1 },
  { name: 'inline PING', input: 'PING\r\n', n: 1 },
  { name: 'inline without CR', input: 'GET foo\n', n: 1 },
  { name: 'inline quotes', input: 'SET "a b" \'c\\\'d\'\r\n', n: 1 },
  { name: 'inline mid-token quote', input: 'SET a"b c" x\r\n', n: 1 },
  { name: 'inline tabs and empty lines skipped', input: '\r\n\n \t \r\nGET\tfoo\r\n', n: 1 },
  { name: 'inline then multibulk', input: 'PING\r\n' + GET, n: 2 },
  { name: 'unknown command framed', input: '*1\r\n$7\r\nNOSUCHX\r\n' + GET, n: 2 },
  { name: 'partial header', input: GET + '*2\r\n$3', n: 1, consumed: GET.length, need: 0 },
  { name: 'partial payload needs its end', input: GET + '*2\r\n$3\r\nGET\r\n$10\r\nab', n: 1, consumed: GET.length, need: 4 + 9 + 5 + 12 },
  { name: 'partial CRLF after payload', input: '*1\r\n$4\r\nPING\r', n: 0, consumed: 0, need: 14 },
  { name: 'partial inline', input: 'PING', n: 0, consumed: 0, need: 0 },
  { name: 'bad type', input: GET + '*1\r\n:3\r\n', n: 1, error: [ABI.E_BAD_TYPE, GET.length + 4] },
  { name: 'negative bulk', input: '*1\r\n$-1\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 5] },
  { name: 'non-numeric count', input: '*x\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 1] },
  { name: 'empty count', input: '*\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 1] },
  { name: 'leading zero', input: '*1\r\n$03\r\nGET\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 5] },
  { name: 'signed count', input: '*+1\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 1] },
  { name: 'space in length', input: '*1 \r\n', n: 0, error: [ABI.E_BAD_LENGTH, 1] },
  { name: '*-2', input: '*-2\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 1] },
  { name: 'CR without LF', input: '*1\rx', n: 0, error: [ABI.E_EXPECTED_CRLF, 2] },
  { name: 'payload without CRLF', input: '*1\r\n$4\r\nPINGxx', n: 0, error: [ABI.E_EXPECTED_CRLF, 12] },
  { name: 'payload with CR only', input: '*1\r\n$4\r\nPING\rx', n: 0, error: [ABI.E_EXPECTED_CRLF, 12] },
  { name: 'bulk too large', input: '*1\r\n$536870913\r\n', n: 0, error: [ABI.E_TOO_LARGE, 5] },
  { name: 'huge number', input: '*1\r\n$99999999999999999999999\r\n', n: 0, error: [ABI.E_TOO_LARGE, 5] },
  { name: 'count too large', input: '*1073741825\r\n', n: 0, error: [ABI.E_TOO_LARGE, 1] },
  { name: 'unbalanced quote', input: GET + 'SET "abc\r\n', n: 1, error: [ABI.E_BAD_INLINE, GET.length + 4] },
  { name: 'closing quote glued', input: 'SET "a"b\r\n', n: 0, error: [ABI.E_BAD_INLINE, 6] },
  { name: 'single-quoted escape only \\\'', input: "SET 'a\\' b\r\n", n: 0, error: [ABI.E_BAD_INLINE, 4] },
  { name: 'inline too long', input: 'A'.repeat(ABI.MAX_INLINE + 1), n: 0, error: [ABI.E_INLINE_TOO_LONG, 0] },
  { name: 'inline at the limit', input: 'A'.repeat(ABI.MAX_INLINE) + '\n', n: 1 },
];

const replyCases: Case[] = [
  { name: 'status', input: '+OK\r\n', n: 1 },
  { name: 'error + integer', input: '-ERR x\r\n:12\r\n', n: 2 },
  { name: 'bulk and nil bulk', input: '$3\r\nfoo\r\n$-1\r\n$0\r\n\r\n', n: 3 },
  { name: 'array', input: '*3\r\n$1\r\na\r\n:1\r\n*-1\r\n', n: 1 },
  { name: 'nested', input: '*2\r\n*2\r\n+a\r\n+b\r\n*0\r\n', n: 1 },
  { name: 'RESP3 scalars', input: '_\r\n,1.5\r\n#t\r\n(123\r\n!3\r\nerr\r\n=8\r\ntxt:abcd\r\n', n: 6 },
  { name: 'RESP3 map set push', input: '%1\r\n+k\r\n:1\r\n~2\r\n+a\r\n+b\r\n>2\r\n+m\r\n+n\r\n', n: 3 },
  { name: 'attribute prefixes a reply', input: '|1\r\n+ttl\r\n:3\r\n*2\r\n|1\r\n+x\r\n+y\r\n:1\r\n:2\r\n', n: 1 },
  { name: 'partial bulk', input: '+OK\r\n$10\r\nabc', n: 1, consumed: 5, need: 17 },
  { name: 'partial array', input: '*2\r\n$1\r\na\r\n', n: 0, consumed: 0, need: 0 },
  { name: 'bad type', input: '+OK\r\n@x\r\n', n: 1, error: [ABI.E_BAD_TYPE, 5] },
  { name: 'nil map is malformed', input: '%-1\r\n', n: 0, error: [ABI.E_BAD_LENGTH, 1] },
  { name: 'line CR without LF', input: '+OK\rx', n: 0, error: [ABI.E_EXPECTED_CRLF, 3] },
  { name: 'depth 64 ok', input: '*1\r\n'.repeat(64) + ':1\r\n', n: 1 },
  { name: 'depth 65 too deep', input: '*1\r\n'.repeat(65) + ':1\r\n', n: 0, error: [ABI.E_TOO_DEEP, 256] },
  { name: 'line too long', input: '+' + 'a'.repeat(ABI.MAX_INLINE), n: 0, error: [ABI.E_INLINE_TOO_LONG, 0] },
];

describe('RESP request framing: table', () => {
  for (const c of requestCases) it(c.name, () => { runCase(core, 'req', c); });

  it('record fields of GET, inline and an empty request', () => {
    const r = runCase(core, 'req', { name: 'fields', input: GET + 'GET "k 1"\r\n*0\r\n', n: 3 }).records as unknown as import('./helpers/framing.js').ReqTuple[];
    expect(r[0]).toMatchObject({ start: 0, len: GET.length, argc: 2, nameOff: 8, nameLen: 3, arg1Off: 17, arg1Len: 3 });
    expect(r[0]!.cmd).toBe(id('GET'));
    expect(r[1]).toMatchObject({ start: GET.length, argc: 2, nameLen: 3, arg1Off: GET.length + 5, arg1Len: 3 });
    expect(r[1]!.flags & ABI.MF_INLINE).toBe(ABI.MF_INLINE);
    expect(r[2]).toMatchObject({ argc: 0, cmd: 0, err: 0, arg1Off: -1, keys: [] });
  });

  it('has the command table loaded (every command-table check below depends on it)', () => {
    expect(['GET', 'SET', 'MGET', 'EVAL'].map(id)).not.toContain(0);
  });

  it('command table facts: GET read, SET write, MGET fragmented, MSET pairs, EVAL keys', () => {
    const input = Buffer.concat([
      encodeCommand(['get', 'k']), encodeCommand(['SET', 'k', 'v']), encodeCommand(['MGET', 'a', 'b', 'c']),
      encodeCommand(['MSET', 'a', '1', 'b']), encodeCommand(['EVAL', 's', '2', 'x', 'y', 'z']),
      encodeCommand(['EVAL', 's', '0']), encodeCommand(['EVAL', 's', '01', 'x']), encodeCommand(['GET']),
      encodeCommand(['NOPE']), encodeCommand(['MONITOR']),
    ]);
    const r = runCase(core, 'req', { name: 'facts', input, n: 10 }).records as unknown as import('./helpers/framing.js').ReqTuple[];
    expect(r[0]!.flags & ABI.CF_READ).toBe(ABI.CF_READ);
    expect(r[0]!.keys.map((k) => k.arg)).toEqual([1]);
    expect(r[1]!.flags & ABI.CF_WRITE).toBe(ABI.CF_WRITE);
    expect(r[2]!.flags & ABI.CF_FRAGMENT).toBe(ABI.CF_FRAGMENT);
    expect(r[2]!.keys.map((k) => k.arg)).toEqual([1, 2, 3]);
    expect(r[3]!.err).toBe(ABI.ERR_ARITY);
    expect(r[4]!.keys.map((k) => k.arg)).toEqual([3, 4]);
    expect(r[4]!.err).toBe(0);
    expect(r[5]!.err).toBe(ABI.ERR_EVAL_NOKEYS);
    expect(r[6]!.err).toBe(ABI.ERR_BAD_NUMBER);
    expect(r[7]!.err).toBe(ABI.ERR_ARITY);
    expect(r[8]!.err).toBe(ABI.ERR_UNKNOWN_CMD);
    expect(r[9]!.err).toBe(ABI.ERR_UNSUPPORTED);
    for (const m of r.slice(3)) if (m.err) expect(m.keys).toEqual([]);
    const tok = (k: string) => { const kb = Buffer.from(k); core.u8.set(kb, ex.mbuf_base()); return ex.routingToken(ex.mbuf_base(), kb.length) >>> 0; };
    expect(r[2]!.keys.map((k) => k.token)).toEqual(['a', 'b', 'c'].map(tok));
    expect(r[2]!.token).toBe(tok('a'));
  });

  it('empty hash tag sets MF_EMPTY_TAG', () => {
    const c2 = createCore({ stagingBytes: 1 << 16, connections: 2, mbufCount: 4 });
    c2.exports.configureHash(ABI.HASH_MURMUR, 123, 125);
    const r = feed(c2, 'req', [Buffer.concat([encodeCommand(['GET', 'a{}b']), encodeCommand(['GET', 'a{x}b'])])]);
    if (id('GET') === 0) return;
    expect(r.records[0]!.flags & ABI.MF_EMPTY_TAG).toBe(ABI.MF_EMPTY_TAG);
    expect(r.records[1]!.flags & ABI.MF_EMPTY_TAG).toBe(0);
  });
});

describe('RESP reply framing: table', () => {
  for (const c of replyCases) it(c.name, () => { runCase(core, 'rep', c); });

  it('reply fields: elements, counts, attributes, digests', () => {
    const input = '*3\r\n$1\r\na\r\n:1\r\n*-1\r\n' + '$-1\r\n' + '%1\r\n+k\r\n:1\r\n' + '|1\r\n+t\r\n:3\r\n+OK\r\n';
    const r = runCase(core, 'rep', { name: 'fields', input, n: 4 }).records as unknown as import('./helpers/framing.js').RepTuple[];
    expect(r[0]).toMatchObject({ type: 42, count: 3, elements: [{ off: 4, len: 7 }, { off: 11, len: 4 }, { off: 15, len: 5 }] });
    expect(r[1]).toMatchObject({ type: 36, count: -1, elements: [] });
    expect(r[2]).toMatchObject({ type: 37, count: 1 });
    expect(r[2]!.elements).toHaveLength(2);
    expect(r[3]).toMatchObject({ type: 43, attrLen: 12, len: 17 });
    expect(r[0]!.digest).not.toBe(r[1]!.digest);
  });
});

describe('call contract', () => {
  it('bad conn -> ST_BADARG; len <= 0 -> 0 records', () => {
    expect(ex.respFrameRequests(-1, core.stagingPtr, 4)).toBe(ABI.ST_BADARG);
    expect(ex.respFrameReplies(core.options.connections, core.stagingPtr, 4)).toBe(ABI.ST_BADARG);
    expect(ex.respFrameRequests(0, core.stagingPtr, core.u8.length)).toBe(ABI.ST_BADARG);
    ex.connReset(1, ABI.FRAMER_RESP_REQ);
    expect(ex.respFrameRequests(1, core.stagingPtr, 0)).toBe(0);
    expect(res(core, ABI.RES_CONSUMED)).toBe(0);
  });

  it('protocol errors are sticky until connReset, and counted messages are kept', () => {
    ex.connReset(2, ABI.FRAMER_RESP_REQ);
    expect(frameOnce(core, 'req', 2, b(GET + GET + '*x\r\n'))).toBe(2); // good ones first
    expect(res(core, ABI.RES_FLAGS) & ABI.RES_MORE).toBe(ABI.RES_MORE);
    expect(res(core, ABI.RES_CONSUMED)).toBe(2 * GET.length);
    expect(frameOnce(core, 'req', 2, b('*x\r\n'))).toBe(ABI.ST_PROTOCOL);
    expect([res(core, ABI.RES_ERR_CODE), res(core, ABI.RES_ERR_POS)]).toEqual([ABI.E_BAD_LENGTH, 1]);
    expect(frameOnce(core, 'req', 2, b(GET))).toBe(ABI.ST_PROTOCOL);
    expect(res(core, ABI.RES_ERR_CODE)).toBe(ABI.E_BAD_LENGTH);
    expect(core.i32[(ex.conn_ptr(2) + ABI.CONN_MESSAGES) >> 2]).toBe(2);
    expect(core.i32[(ex.conn_ptr(2) + ABI.CONN_ERR) >> 2]).toBe(ABI.E_BAD_LENGTH);
    ex.connReset(2, ABI.FRAMER_RESP_REQ);
    expect(frameOnce(core, 'req', 2, b(GET))).toBe(1);
  });
});

describe('limits', () => {
  it('maxBulk applies to bulk lengths and counts', () => {
    const c = createCore({ stagingBytes: 1 << 16, connections: 2, mbufCount: 4 });
    c.exports.configureMaxBulk(BigInt(10));
    const ok = feed(c, 'req', [b('*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n')]);
    expect(ok.records).toHaveLength(1);
    expect(feed(c, 'req', [b('*2\r\n$3\r\nGET\r\n$11\r\n')]).error).toEqual({ code: ABI.E_TOO_LARGE, pos: 14 });
    expect(feed(c, 'req', [b('*11\r\n')]).error).toEqual({ code: ABI.E_TOO_LARGE, pos: 1 });
    expect(feed(c, 'rep', [b('$11\r\n')]).error).toEqual({ code: ABI.E_TOO_LARGE, pos: 1 });
    expect(feed(c, 'req', [b('*10\r\n')]).error).toBeUndefined();
  });

  it('key-table overflow: RES_MORE, then ERR_TOO_MANY_KEYS for a message alone', () => {
    const c = createCore({ keys: 8, stagingBytes: 1 << 16, connections: 2, mbufCount: 4 });
    const mget = (n: number) => encodeCommand(['MGET', ...Array.from({ length: n }, (_, i) => `k${i}`)]);
    const input = Buffer.concat([mget(5), mget(5), mget(9), mget(8)]);
    const r = feed(c, 'req', [input]);
    expect(r.sawMore).toBe(true);
    expect(r.records.map((m) => [m.err, m.keys.length])).toEqual([[0, 5], [0, 5], [ABI.ERR_TOO_MANY_KEYS, 0], [0, 8]]);
    expect(r.records).toEqual(oracleFor(c, 'req', input).records);
    expect(frameOnce(c, 'req', 1, input)).toBe(1); // one call stops before the second MGET
    expect(res(c, ABI.RES_FLAGS)).toBe(ABI.RES_MORE);
    expect(res(c, ABI.RES_CONSUMED)).toBe(mget(5).length);
    // replies: elements that do not fit
    const arr = (n: number) => b(`*${n}\r\n` + ':1\r\n'.repeat(n));
    const rep = feed(c, 'rep', [Buffer.concat([arr(3), arr(9), arr(6), arr(3)])]);
    expect(rep.records.map((m) => m.elements?.length ?? -1)).toEqual([3, -1, 6, 3]);
  });

  it('record-table overflow gives RES_MORE and the same records', () => {
    const c = createCore({ records: 4, stagingBytes: 1 << 16, connections: 2, mbufCount: 4 });
    const input = b((GET + SET).repeat(5) + 'PING\r\n');
    expect(frameOnce(c, 'req', 1, input)).toBe(4);
    expect(res(c, ABI.RES_FLAGS)).toBe(ABI.RES_MORE);
    const r = feed(c, 'req', [input]);
    expect(r.records).toHaveLength(11);
    expect(r.records).toEqual(feed(core, 'req', [input]).records);
    const rep = feed(c, 'rep', [b('+OK\r\n'.repeat(9))]);
    expect(rep.records).toHaveLength(9);
    expect(rep.calls).toBe(3);
  });
});

// redis-parser has no types: the minimal surface used here.
interface RedisParser { execute(b: Buffer): void }
type RedisParserCtor = new (o: { returnReply(r: unknown): void; returnError(e: unknown): void; returnBuffers?: boolean }) => RedisParser;

describe('speed (1000 pipelined commands, ns/msg)', () => {
  it('WASM beats the oracle and redis-parser', async () => {
    const { decodeRequests } = await import('./oracles/resp.js');
    const Parser = createRequire(import.meta.url)('redis-parser') as RedisParserCtor;
    const report: string[] = [];
    for (const [name, one] of [['GET', encodeCommand(['GET', 'key:000123'])], ['SET', encodeCommand(['SET', 'key:000123', 'x'.repeat(64)])]] as const) {
      const buf = Buffer.concat(Array.from({ length: 1000 }, () => one));
      core.u8.set(buf, core.stagingPtr);
      ex.connReset(3, ABI.FRAMER_RESP_REQ);
      const time = (iters: number, f: () => void): number => {
        for (let i = 0; i < Math.min(iters, 50); i++) f();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < iters; i++) f();
        return Number(process.hrtime.bigint() - t0) / iters / 1000;
      };
      let n = 0;
      const wasm = Math.min(time(2000, () => { n = ex.respFrameRequests(3, core.stagingPtr, buf.length); }),
        time(2000, () => { n = ex.respFrameRequests(3, core.stagingPtr, buf.length); }));
      expect(n).toBe(1000);
      const oracle = time(20, () => { decodeRequests(buf); });
      let got = 0;
      const parser = new Parser({ returnReply: () => { got++; }, returnError: () => {}, returnBuffers: true });
      const rp = time(50, () => { parser.execute(buf); });
      expect(got).toBeGreaterThanOrEqual(1000);
      report.push(`${name}: wasm ${wasm.toFixed(1)}  oracle ${oracle.toFixed(1)}  redis-parser ${rp.toFixed(1)}`);
      expect(wasm).toBeLessThan(rp);
      expect(wasm).toBeLessThan(oracle);
    }
    console.log(report.join('\n'));
  });
});
