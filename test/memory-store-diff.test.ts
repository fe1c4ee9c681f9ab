// Differential test: the same command corpus goes to a real redis-server 7.0 and to
// MemoryStore.execute, and the reply bytes must be identical (unordered replies compared as sorted
// multisets, SCAN-family compared as the union of a full cursor loop, a few clock-dependent
// replies compared within a tolerance).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory/index.js';
import { Prng } from './helpers/prng.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

// ─── tiny RESP tools ─────────────────────────────────────────────────────────────────────────

function encode(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

type Resp = string | number | null | { err: string } | Resp[];

/** Parses one reply at `pos`: [value, end] or null when incomplete. */
function parse(b: Buffer, pos: number): [Resp, number] | null {
  const eol = b.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const line = b.toString('latin1', pos + 1, eol);
  const tag = b[pos];
  if (tag === 0x2b) return [line, eol + 2];
  if (tag === 0x2d) return [{ err: line }, eol + 2];
  if (tag === 0x3a) return [Number(line), eol + 2];
  if (tag === 0x24) {
    const n = Number(line);
    if (n < 0) return [null, eol + 2];
    if (b.length < eol + 2 + n + 2) return null;
    if (b[eol + 2 + n] !== 13 || b[eol + 3 + n] !== 10) throw new Error('bulk not followed by CRLF');
    return [b.toString('latin1', eol + 2, eol + 2 + n), eol + 2 + n + 2];
  }
  if (tag === 0x2a) {
    const n = Number(line);
    if (n < 0) return [null, eol + 2];
    const out: Resp[] = [];
    let p = eol + 2;
    for (let i = 0; i < n; i++) {
      const r = parse(b, p);
      if (r === null) return null;
      out.push(r[0]);
      p = r[1];
    }
    return [out, p];
  }
  throw new Error(`bad reply tag ${tag} at ${pos}: ${JSON.stringify(b.toString('latin1', pos, pos + 40))}`);
}

class RawClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
  }
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  async call(args: Buffer[]): Promise<Buffer> {
    this.sock.write(encode(args));
    for (;;) {
      const r = this.buf.length > 0 ? parse(this.buf, 0) : null;
      if (r !== null) {
        const out = this.buf.subarray(0, r[1]);
        this.buf = this.buf.subarray(r[1]);
        return Buffer.from(out);
      }
      await new Promise<void>((res) => (this.waiter = res));
    }
  }
  close(): void {
    this.sock.destroy();
  }
}


// ─── corpus ──────────────────────────────────────────────────────────────────────────────────

/** How a command's replies are compared. */
type Mode = 'exact' | 'unordered' | 'pairs' | 'scan' | 'approx';

interface Case {
  args: Buffer[];
  mode: Mode;
}

const UNORDERED = new Set(['smembers', 'keys', 'sunion', 'sinter', 'sdiff', 'hkeys', 'hvals', 'spop', 'srandmember']);
const PAIRS = new Set(['hgetall']);
const SCANS = new Set(['scan', 'hscan', 'sscan', 'zscan']);
const APPROX = new Set(['pttl', 'expiretime', 'pexpiretime']);

function modeOf(args: Buffer[]): Mode {
  const name = args[0]!.toString('latin1').toLowerCase();
  if (UNORDERED.has(name)) return 'unordered';
  if (PAIRS.has(name)) return 'pairs';
  if (SCANS.has(name)) return 'scan';
  if (APPROX.has(name)) return 'approx';
  return 'exact';
}

/** Commands of the shared conformance corpus we do not run, and why. */
const CORPUS_SKIPPED: Record<string, string> = {
  setbit: 'bit operations are not supported by the embedded store',
  getbit: 'bit operations are not supported by the embedded store',
  bitcount: 'bit operations are not supported by the embedded store',
  info: 'content is server specific (versions, pids, counters)',
};

function decodeCorpusLine(line: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && line[i + 1] === 'r') (bytes.push(13), i++);
    else if (line[i] === '\\' && line[i + 1] === 'n') (bytes.push(10), i++);
    else if (line[i] === '\\' && line[i + 1] === 'x') (bytes.push(parseInt(line.slice(i + 2, i + 4), 16)), (i += 3));
    else bytes.push(line.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** Splits a wire frame (possibly a pipeline) into commands. */
function framesToCommands(b: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let pos = 0;
  while (pos < b.length) {
    const r = parse(b, pos);
    if (r === null || !Array.isArray(r[0])) throw new Error('bad corpus frame');
    out.push((r[0] as string[]).map((s) => Buffer.from(s, 'latin1')));
    pos = r[1];
  }
  return out;
}

function conformanceCorpus(): { cases: Case[]; skipped: string[] } {
  const text = readFileSync(new URL('./fixtures/reference/conformance/commands.txt', import.meta.url), 'latin1');
  const cases: Case[] = [];
  const skipped: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('*')) {
      skipped.push(`memcached: ${line}`);
      continue;
    }
    let commands: Buffer[][];
    try {
      commands = framesToCommands(decodeCorpusLine(line));
    } catch {
      // e.g. `$9\r\nZRANGEBYSCORE`: the declared length is wrong; Redis answers with a protocol
      // error and closes the connection, which is the framer's business, not the store's.
      skipped.push(`malformed frame: ${line}`);
      continue;
    }
    for (const args of commands) {
      const name = args[0]!.toString('latin1').toLowerCase();
      if (CORPUS_SKIPPED[name] !== undefined) skipped.push(`${name}: ${CORPUS_SKIPPED[name]}`);
      else cases.push({ args, mode: modeOf(args) });
    }
  }
  return { cases, skipped };
}

function generatedCorpus(seed: number, n: number): Case[] {
  // 'scaled': the corpus these seeds have always produced (see test/helpers/prng.ts).
  const rng = new Prng(seed, 'scaled');
  const bin = (len: number): string => {
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(rng.float() < 0.7 ? rng.range(97, 102) : rng.range(0, 255));
    return s;
  };
  const keys = ['k1', 'k2', 'k3', 'k\x00\r\n', 'h1', 'h2', 'l1', 'l2', 's1', 's2', 's3', 'z1', 'z2', 'z3', 'n1', '\xff\xfe'];
  const fields = ['f1', 'f2', 'f3', 'f\x00', '', 'ffff'];
  const members = ['a', 'b', 'c', 'd', 'e', '1', '2', '10', '\x00', 'abc'];
  const lexMembers = ['a', 'aa', 'ab', 'b', 'ba', 'c', '', 'z'];
  const ints = ['0', '1', '-1', '2', '5', '-3', '10', '100', '9223372036854775807', '-9223372036854775808', '9223372036854775808', 'x', '1.5', ' 1', '01', '+1', ''];
  const floats = ['0', '1', '1.5', '-2.25', '0.1', '3', '1e3', '-1e2', 'inf', '-inf', 'abc', '', '10.5', '7', '.5'];
  const scores = ['0', '1', '-1', '1.5', '2.5', '-0.5', '3', '10', '1e3', 'inf', '-inf', '+inf', '0.1', 'x', 'nan', '(1'];
  const ranges = ['-inf', '+inf', 'inf', '0', '(0', '1', '(1', '2.5', '(2.5', '10', 'x', '(x', '', ' 1', '(-inf'];
  const lexRanges = ['-', '+', '[a', '(a', '[b', '(b', '[aa', '(c', '[', '(', 'a', '+x'];
  const idx = ['0', '1', '2', '-1', '-2', '-5', '5', '10', '-100', '100', 'x'];
  const anyKey = (): string => rng.pick(keys);
  // Each type section mostly uses keys of its own type (so replies are not all WRONGTYPE), and
  // sometimes any key (so WRONGTYPE paths are exercised too).
  const pool = (own: string[]) => (): string => (rng.float() < 0.8 ? rng.pick(own) : anyKey());
  const key = pool(['k1', 'k2', 'k3', 'k\x00\r\n', 'n1', '\xff\xfe']);
  const hk = pool(['h1', 'h2']);
  const lk = pool(['l1', 'l2']);
  const sk = pool(['s1', 's2', 's3']);
  const zk = pool(['z1', 'z2', 'z3']);
  const val = (): string => (rng.float() < 0.3 ? rng.pick(ints) : rng.float() < 0.15 ? rng.pick(floats) : bin(rng.range(0, 12)));
  const cases: [string[], Mode?][] = [];
  const add = (args: string[], mode?: Mode): void => void cases.push([args, mode]);
  const setOpts = (): string[] => {
    const o: string[] = [];
    if (rng.float() < 0.2) o.push(rng.pick(['NX', 'XX', 'nx']));
    if (rng.float() < 0.2) o.push('GET');
    if (rng.float() < 0.3) o.push(...rng.pick([['EX', '100'], ['PX', '100000'], ['KEEPTTL'], ['EX', '0'], ['EX', 'x'], ['PX', '-5'], ['EXAT', '4000000000'], ['PXAT', '1'], ['EX']]));
    if (rng.float() < 0.05) o.push('BOGUS');
    return o;
  };
  const templates: (() => void)[] = [
    // strings
    () => add(['GET', key()]),
    () => add(['SET', key(), val(), ...setOpts()]),
    () => add(['SETNX', key(), val()]),
    () => add(['SETEX', key(), rng.pick(['100', '0', '-1', 'x']), val()]),
    () => add(['PSETEX', key(), rng.pick(['100000', '0', 'x']), val()]),
    () => add(['GETSET', key(), val()]),
    () => add(['GETDEL', key()]),
    () => add(['GETEX', key(), ...rng.pick([[], ['EX', '100'], ['PERSIST'], ['PX', '50000'], ['EX', '0'], ['BAD'], ['EX', '1', 'PERSIST']])]),
    () => add(['APPEND', key(), val()]),
    () => add(['STRLEN', key()]),
    () => add(['GETRANGE', key(), rng.pick(idx), rng.pick(idx)]),
    () => add(['SETRANGE', key(), rng.pick(['0', '1', '3', '10', '-1', 'x']), val()]),
    () => add([rng.pick(['INCR', 'DECR', 'incr']), key()]),
    () => add([rng.pick(['INCRBY', 'DECRBY']), key(), rng.pick(ints)]),
    () => add(['INCRBYFLOAT', key(), rng.pick(floats)]),
    () => add(['MGET', key(), key(), key()]),
    () => add(['MSET', key(), val(), key(), val(), ...(rng.float() < 0.1 ? ['odd'] : [])]),
    () => add(['MSETNX', key(), val(), key(), val()]),
    // generic
    () => add([rng.pick(['DEL', 'UNLINK', 'EXISTS', 'TOUCH']), key(), key()]),
    // No sub-second TTLs: both servers must agree on liveness whatever the scheduling jitter.
    () => add(['PEXPIRE', key(), rng.pick(['100000', '5000000', '0', '-5', 'x'])]),
    () => add(['EXPIRE', key(), rng.pick(['100', '100000', '0', '-5', 'x']), ...(rng.float() < 0.3 ? [rng.pick(['NX', 'XX', 'GT', 'LT', 'ZZ'])] : []), ...(rng.float() < 0.1 ? [rng.pick(['NX', 'GT', 'LT'])] : [])]),
    () => add([rng.pick(['EXPIREAT', 'PEXPIREAT']), key(), rng.pick(['4000000000', '4000000000000', '1', '0'])]),
    () => add([rng.pick(['TTL', 'PERSIST', 'TYPE']), key()]),
    () => add(['PTTL', key()]),
    () => add([rng.pick(['RENAME', 'RENAMENX']), key(), key()]),
    () => add(['COPY', key(), key(), ...(rng.float() < 0.5 ? ['REPLACE'] : [])]),
    () => add(['DBSIZE']),
    () => add(['KEYS', rng.pick(['*', 'k*', '?1', '[hl]*', '[^k]*', 'z[1-2]', '*\\*', 'k[', '\\k1', 's?'])]),
    () => add(['SCAN', '0', ...(rng.float() < 0.5 ? ['MATCH', rng.pick(['*1', 's*', '*'])] : []), ...(rng.float() < 0.5 ? ['COUNT', rng.pick(['2', '5', '100'])] : []), ...(rng.float() < 0.3 ? ['TYPE', rng.pick(['string', 'hash', 'zset', 'list', 'set'])] : [])]),
    // hashes
    () => add(['HSET', rng.pick(keys), rng.pick(fields), val(), ...(rng.float() < 0.5 ? [rng.pick(fields), val()] : []), ...(rng.float() < 0.05 ? ['odd'] : [])]),
    () => add(['HSETNX', hk(), rng.pick(fields), val()]),
    () => add(['HMSET', hk(), rng.pick(fields), val()]),
    () => add(['HGET', hk(), rng.pick(fields)]),
    () => add(['HMGET', hk(), rng.pick(fields), rng.pick(fields)]),
    () => add(['HDEL', hk(), rng.pick(fields), rng.pick(fields)]),
    () => add([rng.pick(['HLEN']), hk()]),
    () => add(['HEXISTS', hk(), rng.pick(fields)]),
    () => add(['HSTRLEN', hk(), rng.pick(fields)]),
    () => add([rng.pick(['HGETALL', 'HKEYS', 'HVALS']), hk()]),
    () => add(['HINCRBY', hk(), rng.pick(fields), rng.pick(ints)]),
    () => add(['HINCRBYFLOAT', hk(), rng.pick(fields), rng.pick(floats)]),
    () => add(['HSCAN', hk(), '0', ...(rng.float() < 0.3 ? ['MATCH', 'f*'] : [])]),
    // lists
    () => add([rng.pick(['LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX']), lk(), val(), ...(rng.float() < 0.5 ? [val(), val()] : [])]),
    () => add([rng.pick(['LPOP', 'RPOP']), lk(), ...(rng.float() < 0.4 ? [rng.pick(['0', '1', '2', '10', '-1', 'x'])] : [])]),
    () => add(['LLEN', lk()]),
    () => add(['LRANGE', lk(), rng.pick(idx), rng.pick(idx)]),
    () => add(['LINDEX', lk(), rng.pick(idx)]),
    () => add(['LSET', lk(), rng.pick(idx), val()]),
    () => add(['LINSERT', lk(), rng.pick(['BEFORE', 'AFTER', 'MIDDLE']), val(), val()]),
    () => add(['LREM', lk(), rng.pick(['0', '1', '-1', '2', 'x']), val()]),
    () => add(['LTRIM', lk(), rng.pick(idx), rng.pick(idx)]),
    () => add(['RPOPLPUSH', lk(), lk()]),
    () => add(['LMOVE', lk(), lk(), rng.pick(['LEFT', 'RIGHT', 'UP']), rng.pick(['LEFT', 'RIGHT'])]),
    () => add(['LPOS', lk(), val(), ...(rng.float() < 0.3 ? ['RANK', rng.pick(['1', '-1', '2', '0'])] : []), ...(rng.float() < 0.3 ? ['COUNT', rng.pick(['0', '1', '2', '-1'])] : []), ...(rng.float() < 0.2 ? ['MAXLEN', rng.pick(['0', '2'])] : [])]),
    // sets
    () => add(['SADD', sk(), rng.pick(members), rng.pick(members), rng.pick(members)]),
    () => add(['SREM', sk(), rng.pick(members), rng.pick(members)]),
    () => add(['SMEMBERS', sk()]),
    () => add(['SISMEMBER', sk(), rng.pick(members)]),
    () => add(['SMISMEMBER', sk(), rng.pick(members), rng.pick(members)]),
    () => add(['SCARD', sk()]),
    () => add(['SMOVE', sk(), sk(), rng.pick(members)]),
    () => add([rng.pick(['SUNION', 'SINTER', 'SDIFF']), sk(), sk(), sk()]),
    () => add([rng.pick(['SUNIONSTORE', 'SINTERSTORE', 'SDIFFSTORE']), sk(), sk(), sk()]),
    () => add(['SINTERCARD', rng.pick(['2', '1', '0', '5', 'x']), sk(), sk(), ...(rng.float() < 0.3 ? ['LIMIT', rng.pick(['1', '0', '-1'])] : [])]),
    // SPOP without a count (or with one below the size) is random: only the deterministic forms.
    () => add(['SPOP', sk(), rng.pick(['100', '0', '-1', 'x'])]),
    () => add(['SRANDMEMBER', sk(), rng.pick(['100', '0', 'x'])]),
    () => add(['SSCAN', sk(), '0']),
    // sorted sets
    () => add(['ZADD', zk(), ...(rng.float() < 0.3 ? [rng.pick(['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'])] : []), ...(rng.float() < 0.1 ? [rng.pick(['NX', 'XX', 'GT', 'CH'])] : []), rng.pick(scores), rng.pick(members), ...(rng.float() < 0.5 ? [rng.pick(scores), rng.pick(members)] : [])]),
    () => add(['ZADD', 'zlex', '0', rng.pick(lexMembers), '0', rng.pick(lexMembers)]),
    () => add(['ZREM', zk(), rng.pick(members), rng.pick(members)]),
    () => add(['ZSCORE', zk(), rng.pick(members)]),
    () => add(['ZMSCORE', zk(), rng.pick(members), rng.pick(members)]),
    () => add(['ZINCRBY', zk(), rng.pick(scores), rng.pick(members)]),
    () => add(['ZCARD', zk()]),
    () => add(['ZCOUNT', zk(), rng.pick(ranges), rng.pick(ranges)]),
    () => add([rng.pick(['ZRANK', 'ZREVRANK']), zk(), rng.pick(members)]),
    () => add(['ZRANGE', zk(), rng.pick(idx), rng.pick(idx), ...(rng.float() < 0.3 ? ['REV'] : []), ...(rng.float() < 0.5 ? ['WITHSCORES'] : []), ...(rng.float() < 0.1 ? ['LIMIT', '0', '1'] : [])]),
    () => add(['ZRANGE', zk(), rng.pick(ranges), rng.pick(ranges), 'BYSCORE', ...(rng.float() < 0.3 ? ['REV'] : []), ...(rng.float() < 0.5 ? ['WITHSCORES'] : []), ...(rng.float() < 0.4 ? ['LIMIT', rng.pick(['0', '1', '-1', '5']), rng.pick(['1', '2', '-1', '0'])] : [])]),
    () => add(['ZRANGE', 'zlex', rng.pick(lexRanges), rng.pick(lexRanges), 'BYLEX', ...(rng.float() < 0.3 ? ['REV'] : []), ...(rng.float() < 0.4 ? ['LIMIT', rng.pick(['0', '1', '-1']), rng.pick(['1', '2', '-1'])] : []), ...(rng.float() < 0.1 ? ['WITHSCORES'] : [])]),
    () => add([rng.pick(['ZRANGEBYSCORE', 'ZREVRANGEBYSCORE']), zk(), rng.pick(ranges), rng.pick(ranges), ...(rng.float() < 0.5 ? ['WITHSCORES'] : []), ...(rng.float() < 0.3 ? ['LIMIT', rng.pick(['0', '1', '2']), rng.pick(['1', '-1'])] : []), ...(rng.float() < 0.05 ? ['REV'] : [])]),
    () => add([rng.pick(['ZRANGEBYLEX', 'ZREVRANGEBYLEX']), 'zlex', rng.pick(lexRanges), rng.pick(lexRanges), ...(rng.float() < 0.3 ? ['LIMIT', rng.pick(['0', '1']), rng.pick(['1', '-1', '3'])] : [])]),
    () => add(['ZREVRANGE', zk(), rng.pick(idx), rng.pick(idx), ...(rng.float() < 0.5 ? ['WITHSCORES'] : [])]),
    () => add(['ZLEXCOUNT', 'zlex', rng.pick(lexRanges), rng.pick(lexRanges)]),
    () => add(['ZREMRANGEBYRANK', zk(), rng.pick(idx), rng.pick(idx)]),
    () => add(['ZREMRANGEBYSCORE', zk(), rng.pick(ranges), rng.pick(ranges)]),
    () => add(['ZREMRANGEBYLEX', 'zlex', rng.pick(lexRanges), rng.pick(lexRanges)]),
    () => add([rng.pick(['ZPOPMIN', 'ZPOPMAX']), zk(), ...(rng.float() < 0.5 ? [rng.pick(['1', '2', '0', '-1', 'x', '10'])] : [])]),
    () => add([rng.pick(['ZUNIONSTORE', 'ZINTERSTORE']), rng.pick(['z1', 'z2', 'z3', 'k1']), rng.pick(['2', '1', '0', '3', 'x']), zk(), zk(), ...(rng.float() < 0.3 ? ['WEIGHTS', rng.pick(['1', '2', '0.5', 'x']), rng.pick(['1', '-1', 'inf'])] : []), ...(rng.float() < 0.3 ? ['AGGREGATE', rng.pick(['SUM', 'MIN', 'MAX', 'AVG'])] : [])]),
    () => add(['ZSCAN', zk(), '0']),
    // server and errors
    () => add(['PING', ...(rng.float() < 0.5 ? [val()] : [])]),
    () => add(['ECHO', val()]),
    () => add(['CONFIG', 'GET', 'no-such-parameter']),
    () => add([rng.pick(['NOSUCH', 'getx', 'Fooo']), val(), val()]),
    () => add(['RESTORE', key(), '0', bin(rng.range(0, 20)), ...(rng.float() < 0.5 ? ['REPLACE'] : [])]),
  ];
  const arityNames = ['GET', 'SET', 'HSET', 'LPUSH', 'ZADD', 'SADD', 'EXPIRE', 'TTL', 'MGET', 'ZRANGE', 'LRANGE', 'HGET', 'INCRBY', 'GETRANGE', 'SETRANGE', 'LINSERT', 'SMOVE', 'ZCOUNT', 'RENAME', 'PING', 'ECHO', 'DBSIZE', 'LPOP', 'ZPOPMIN', 'COPY', 'GETEX', 'LMOVE', 'ZUNIONSTORE', 'SINTERCARD', 'HSCAN', 'SCAN'];
  for (let i = 0; i < n; i++) {
    if (rng.float() < 0.04) add([rng.pick(arityNames), ...Array.from({ length: rng.range(0, 6) }, () => rng.pick(members))]);
    else rng.pick(templates)();
    if (rng.float() < 0.003) add(['FLUSHALL']);
  }
  return cases.map(([args, mode]) => {
    const bufs = args.map((s) => Buffer.from(s, 'latin1'));
    return { args: bufs, mode: mode ?? modeOf(bufs) };
  });
}

// ─── comparison ──────────────────────────────────────────────────────────────────────────────

const key = (v: Resp): string => JSON.stringify(v);

function normalize(reply: Buffer, mode: Mode): string {
  const v = parse(reply, 0)![0];
  if (!Array.isArray(v)) return key(v);
  if (mode === 'unordered') return key(v.map(key).sort());
  if (mode === 'pairs') {
    const pairs: string[] = [];
    for (let i = 0; i < v.length; i += 2) pairs.push(key([v[i]!, v[i + 1]!]));
    return key(pairs.sort());
  }
  return reply.toString('latin1');
}

/** Runs a SCAN-family command to completion on one side and returns its elements, sorted. */
async function fullScan(call: (a: Buffer[]) => Promise<Buffer>, args: Buffer[]): Promise<string> {
  const name = args[0]!.toString('latin1').toLowerCase();
  const cursorAt = name === 'scan' ? 1 : 2;
  const pairs = name === 'hscan' || name === 'zscan';
  if (args.length <= cursorAt) return key(parse(await call(args), 0)![0]);
  const items: string[] = [];
  let cursor = '0';
  for (let guard = 0; guard < 10000; guard++) {
    const a = args.slice();
    a[cursorAt] = Buffer.from(cursor);
    const v = parse(await call(a), 0)![0];
    if (!Array.isArray(v)) return key(v);
    cursor = v[0] as string;
    const els = v[1] as string[];
    for (let i = 0; i < els.length; i += pairs ? 2 : 1) items.push(pairs ? key([els[i]!, els[i + 1]!]) : els[i]!);
    if (cursor === '0') break;
  }
  // SCAN may return a key twice in Redis (rehashing); compare as a set.
  return key([...new Set(items)].sort());
}

// ─── the test ────────────────────────────────────────────────────────────────────────────────

let server: ChildProcess | null = null;
let client: RawClient | null = null;

beforeAll(async () => {
  const port = await freePort();
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await until('redis-server to accept a connection', async () => {
    client = await RawClient.connect(port);
  }, 5000, 50);
});

afterAll(() => {
  client?.close();
  server?.kill('SIGKILL');
});

async function runDiff(cases: Case[]): Promise<string[]> {
  const redis = client!;
  await redis.call([Buffer.from('FLUSHALL')]);
  const store = new MemoryStore();
  const ours = async (a: Buffer[]): Promise<Buffer> => store.execute(a);
  const failures: string[] = [];
  const stats = new Map<string, [number, number]>();
  for (const [i, c] of cases.entries()) {
    let want: string;
    let got: string;
    if (c.mode === 'scan') {
      want = await fullScan((a) => redis.call(a), c.args);
      got = await fullScan(ours, c.args);
    } else {
      const wr = await redis.call(c.args);
      const gr = store.execute(c.args);
      if (c.mode === 'approx') {
        const w = parse(wr, 0)![0];
        const g = parse(gr, 0)![0];
        const close = typeof w === 'number' && typeof g === 'number' && (w < 0 ? w === g : Math.abs(w - g) <= 1500);
        want = key(w);
        got = close ? want : key(g);
      } else {
        want = normalize(wr, c.mode);
        got = normalize(gr, c.mode);
      }
    }
    const name = c.args[0]!.toString('latin1').toUpperCase();
    const st = stats.get(name) ?? [0, 0];
    st[0] += want.includes('ERR') || want.includes('WRONGTYPE') ? 1 : 0;
    st[1]++;
    stats.set(name, st);
    if (want !== got) {
      const shown = c.args.map((a) => a.toString('latin1'));
      failures.push(`#${i} ${JSON.stringify(shown)}\n    redis: ${JSON.stringify(want)}\n    ours:  ${JSON.stringify(got)}`);
      if (failures.length >= 20) break;
    }
  }
  if (process.env.DIFF_STATS) console.log([...stats].map(([k, v]) => `${k}:${v[0]}/${v[1]}`).join(' '));
  return failures;
}

describe('MemoryStore vs redis-server 7.0 (exact reply bytes)', () => {
  it('answers the shared conformance corpus identically', async () => {
    const { cases, skipped } = conformanceCorpus();
    expect(cases.length).toBeGreaterThan(80);
    expect(skipped).toContainEqual(expect.stringMatching(/^setbit/));
    // Three corpus lines declare wrong bulk lengths (ZRANGEBYSCORE $9, SETNX $6, INFO clients $6).
    expect(skipped.filter((s) => s.startsWith('malformed'))).toHaveLength(3);
    const failures = await runDiff(cases);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('answers multi-MB binary values identically', async () => {
    const big = new Prng(5, 'scaled').bytes(3 * 1024 * 1024 + 17);
    const b = (s: string): Buffer => Buffer.from(s, 'latin1');
    const cases: Case[] = [
      [b('SET'), b('big'), big],
      [b('GET'), b('big')],
      [b('APPEND'), b('big'), big.subarray(0, 1024 * 1024)],
      [b('STRLEN'), b('big')],
      [b('GETRANGE'), b('big'), b('1000000'), b('2999999')],
      [b('SETRANGE'), b('big'), b('4194000'), big.subarray(5, 70000)],
      [b('GET'), b('big')],
      [b('HSET'), b('bh'), b('f'), big],
      [b('HGET'), b('bh'), b('f')],
      [b('RPUSH'), b('bl'), big, big.subarray(7)],
      [b('LRANGE'), b('bl'), b('0'), b('-1')],
      [b('ZADD'), b('bz'), b('1'), big.subarray(0, 100000)],
      [b('ZRANGE'), b('bz'), b('0'), b('-1'), b('WITHSCORES')],
    ].map((args) => ({ args, mode: 'exact' as Mode }));
    const failures = await runDiff(cases);
    expect(failures.map((f) => f.slice(0, 300)), 'multi-MB replies differ').toEqual([]);
  });

  // MEMORY_DIFF_SEEDS=100 runs seeds 1..100 instead of the fixed three (for soak runs).
  const extra = Number(process.env.MEMORY_DIFF_SEEDS ?? 0);
  const seeds = extra > 0 ? Array.from({ length: extra }, (_, i) => i + 1) : [1, 42, 20260101];
  for (const seed of seeds) {
    it(`answers a generated corpus identically (seed ${seed})`, async () => {
      const failures = await runDiff(generatedCorpus(seed, 3000));
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }
});
