// Unit and property tests of the embedded datastore, per type, with an injected clock.
import { describe, expect, it } from 'vitest';
import { Deque } from '../src/store/memory/deque.js';
import { globMatch } from '../src/protocol/glob.js';
import { MemoryStore, SUPPORTED_COMMANDS } from '../src/store/memory/index.js';
import { formatDouble, formatHumanDouble } from '../src/store/memory/numbers.js';
import { ZSet } from '../src/store/memory/skiplist.js';
import { Prng } from './helpers/prng.js';

const T0 = 1_700_000_000_000;

function setup(): { s: MemoryStore; run: (...a: (string | Buffer)[]) => string; clock: { now: number } } {
  const clock = { now: T0 };
  const s = new MemoryStore({ now: () => clock.now });
  const run = (...a: (string | Buffer)[]): string =>
    s.execute(a.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x))).toString('latin1');
  return { s, run, clock };
}

const bulk = (v: string): string => `$${v.length}\r\n${v}\r\n`;
const arr = (...v: string[]): string => `*${v.length}\r\n${v.map(bulk).join('')}`;

describe('dispatch and errors', () => {
  it('matches Redis 7.0 error texts', () => {
    const { run } = setup();
    expect(run('get')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(run('GeT', 'a', 'b')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(run('foo', 'a\r\nb', 'c')).toBe("-ERR unknown command 'foo', with args beginning with: 'a  b' 'c' \r\n");
    expect(run('set', 'k', 'v', 'NX', 'XX')).toBe('-ERR syntax error\r\n');
    expect(run('set', 'k', 'v', 'EX', '0')).toBe("-ERR invalid expire time in 'set' command\r\n");
    expect(run('mset', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
  });

  it('lists the supported commands', () => {
    for (const c of ['get', 'set', 'zadd', 'hscan', 'lmove', 'sintercard', 'restore', 'ping']) expect(SUPPORTED_COMMANDS).toContain(c);
  });

  it('never retains argument buffers', () => {
    const { run } = setup();
    const v = Buffer.from('value');
    run('SET', 'k', v);
    run('HSET', 'h', 'f', v);
    run('RPUSH', 'l', v);
    v.fill(0x21);
    expect(run('GET', 'k')).toBe(bulk('value'));
    expect(run('HGET', 'h', 'f')).toBe(bulk('value'));
    expect(run('LPOP', 'l')).toBe(bulk('value'));
  });

  it('refuses growing writes above maxMemoryBytes but still allows deletes', () => {
    const s = new MemoryStore({ maxMemoryBytes: 1000 });
    const r = (...a: string[]): string => s.execute(a.map((x) => Buffer.from(x))).toString();
    expect(r('SET', 'big', 'x'.repeat(2000))).toBe('+OK\r\n');
    expect(r('SET', 'more', 'x')).toBe("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    expect(r('DEL', 'big')).toBe(':1\r\n');
    expect(r('SET', 'more', 'x')).toBe('+OK\r\n');
  });
});

describe('strings', () => {
  it('guards int64 overflow', () => {
    const { run } = setup();
    run('SET', 'n', '9223372036854775807');
    expect(run('INCR', 'n')).toBe('-ERR increment or decrement would overflow\r\n');
    expect(run('DECRBY', 'n', '-9223372036854775808')).toBe('-ERR decrement would overflow\r\n');
    expect(run('DECR', 'n')).toBe(':9223372036854775806\r\n');
    expect(run('INCRBY', 'm', '-9223372036854775808')).toBe(':-9223372036854775808\r\n');
    expect(run('DECR', 'm')).toBe('-ERR increment or decrement would overflow\r\n');
    run('SET', 'x', ' 1');
    expect(run('INCR', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
  });

  it('formats INCRBYFLOAT like a long double %.17Lf', () => {
    const { run } = setup();
    expect(run('INCRBYFLOAT', 'f', '0.1')).toBe(bulk('0.1'));
    expect(run('INCRBYFLOAT', 'f', '0.2')).toBe(bulk('0.3'));
    // Exactly what redis-server 7.0 prints (long double rounding shows at 17 decimals).
    expect(run('INCRBYFLOAT', 'f', '1e3')).toBe(bulk('1000.29999999999999999'));
    expect(run('INCRBYFLOAT', 'f', '10.5')).toBe(bulk('1010.79999999999999999'));
    expect(run('INCRBYFLOAT', 'g', '1e25')).toBe(bulk('10000000000000000000000000'));
    expect(run('INCRBYFLOAT', 'h', '9223372036854775807')).toBe(bulk('9223372036854775807'));
    expect(run('INCRBYFLOAT', 'h', '0.5')).toBe(bulk('9223372036854775807.5'));
    expect(run('INCRBYFLOAT', 'f', 'inf')).toBe('-ERR increment would produce NaN or Infinity\r\n');
    expect(run('INCRBYFLOAT', 'f', 'abc')).toBe('-ERR value is not a valid float\r\n');
  });

  it('handles negative and out-of-range GETRANGE / SETRANGE', () => {
    const { run } = setup();
    run('SET', 's', 'Hello World');
    expect(run('GETRANGE', 's', '-5', '-1')).toBe(bulk('World'));
    expect(run('GETRANGE', 's', '-1', '-5')).toBe(bulk(''));
    expect(run('GETRANGE', 's', '0', '100')).toBe(bulk('Hello World'));
    expect(run('SETRANGE', 'p', '3', 'x')).toBe(':4\r\n');
    expect(run('GET', 'p')).toBe(bulk('\0\0\0x'));
    expect(run('SETRANGE', 'p', '-1', 'x')).toBe('-ERR offset is out of range\r\n');
  });

  it('SET options: NX/XX/GET/KEEPTTL/PXAT', () => {
    const { run, clock } = setup();
    expect(run('SET', 'k', 'a', 'NX', 'GET')).toBe('$-1\r\n');
    expect(run('SET', 'k', 'b', 'NX')).toBe('$-1\r\n');
    expect(run('SET', 'k', 'c', 'XX', 'GET', 'EX', '10')).toBe(bulk('a'));
    expect(run('SET', 'k', 'd', 'KEEPTTL')).toBe('+OK\r\n');
    expect(run('TTL', 'k')).toBe(':10\r\n');
    expect(run('SET', 'k', 'e', 'PXAT', String(clock.now + 500))).toBe('+OK\r\n');
    expect(run('PTTL', 'k')).toBe(':500\r\n');
    run('HSET', 'h', 'f', 'v');
    expect(run('SET', 'h', 'x', 'GET')).toBe('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
  });

  it('stores and returns multi-MB binary values', () => {
    const { run, s } = setup();
    const big = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
    expect(run('SET', 'big', big)).toBe('+OK\r\n');
    const reply = s.execute([Buffer.from('GET'), Buffer.from('big')]);
    const header = `$${big.length}\r\n`;
    expect(reply.subarray(0, header.length).toString()).toBe(header);
    expect(reply.subarray(header.length, header.length + big.length).equals(big)).toBe(true);
    expect(run('APPEND', 'big', 'tail')).toBe(`:${big.length + 4}\r\n`);
    expect(run('STRLEN', 'big')).toBe(`:${big.length + 4}\r\n`);
  });
});

describe('expiry (injected clock)', () => {
  it('expires lazily, reports TTL/PTTL, and EXPIRE honours NX XX GT LT', () => {
    const { run, clock } = setup();
    run('SET', 'k', 'v', 'EX', '10');
    expect(run('TTL', 'k')).toBe(':10\r\n');
    clock.now += 9_400;
    expect(run('TTL', 'k')).toBe(':1\r\n');
    expect(run('PTTL', 'k')).toBe(':600\r\n');
    clock.now += 600;
    expect(run('GET', 'k')).toBe(bulk('v')); // expires strictly after the deadline, as Redis
    clock.now += 1;
    expect(run('GET', 'k')).toBe('$-1\r\n');
    expect(run('TTL', 'k')).toBe(':-2\r\n');
    run('SET', 'p', 'v');
    expect(run('TTL', 'p')).toBe(':-1\r\n');
    expect(run('EXPIRE', 'p', '100', 'XX')).toBe(':0\r\n');
    expect(run('EXPIRE', 'p', '100', 'NX')).toBe(':1\r\n');
    expect(run('EXPIRE', 'p', '50', 'GT')).toBe(':0\r\n');
    expect(run('EXPIRE', 'p', '50', 'LT')).toBe(':1\r\n');
    expect(run('EXPIRE', 'p', '50', 'NX', 'GT')).toBe('-ERR NX and XX, GT or LT options at the same time are not compatible\r\n');
    expect(run('PERSIST', 'p')).toBe(':1\r\n');
    expect(run('EXPIRE', 'p', '-1')).toBe(':1\r\n');
    expect(run('EXISTS', 'p')).toBe(':0\r\n');
  });

  it('sweeps expired keys incrementally without access', () => {
    const { s, run, clock } = setup();
    for (let i = 0; i < 5000; i++) run('SET', `k${i}`, 'v', 'PX', String(i % 2 === 0 ? 100 : 100_000));
    clock.now += 1000;
    expect(s.dbsize()).toBe(5000);
    let removed = 0;
    for (let i = 0; i < 100 && removed < 2500; i++) removed += s.sweep(1);
    expect(removed).toBe(2500);
    expect(s.dbsize()).toBe(2500);
  });

  it('GETEX sets and removes TTLs', () => {
    const { run, clock } = setup();
    run('SET', 'k', 'v');
    expect(run('GETEX', 'k', 'PX', '100')).toBe(bulk('v'));
    expect(run('PTTL', 'k')).toBe(':100\r\n');
    expect(run('GETEX', 'k', 'PERSIST')).toBe(bulk('v'));
    expect(run('TTL', 'k')).toBe(':-1\r\n');
    expect(run('GETEX', 'k', 'EXAT', String(Math.floor(clock.now / 1000) - 1))).toBe(bulk('v'));
    expect(run('EXISTS', 'k')).toBe(':0\r\n');
  });
});

describe('collections', () => {
  it('answers WRONGTYPE across types', () => {
    const { run } = setup();
    run('SET', 's', 'v');
    const wt = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
    for (const c of [['HGET', 's', 'f'], ['LPUSH', 's', 'x'], ['SADD', 's', 'x'], ['ZADD', 's', '1', 'x'], ['ZRANGE', 's', '0', '-1']]) {
      expect(run(...c)).toBe(wt);
    }
    run('RPUSH', 'l', 'x');
    expect(run('GET', 'l')).toBe(wt);
    expect(run('INCR', 'l')).toBe(wt);
  });

  it('deletes a key when its hash, list, set or zset becomes empty', () => {
    const { run } = setup();
    run('HSET', 'h', 'f', 'v');
    run('HDEL', 'h', 'f');
    run('RPUSH', 'l', 'a', 'b');
    run('LPOP', 'l', '5');
    run('SADD', 's', 'a');
    run('SPOP', 's');
    run('ZADD', 'z', '1', 'a', '2', 'b');
    run('ZREMRANGEBYSCORE', 'z', '-inf', '+inf');
    run('RPUSH', 'm', 'x');
    run('LTRIM', 'm', '5', '10');
    run('SADD', 'src', 'a');
    run('SMOVE', 'src', 'dst', 'a');
    expect(run('KEYS', '*')).toBe(arr('dst'));
    expect(run('DBSIZE')).toBe(':1\r\n');
  });

  it('handles negative list ranges and O(1) pops at both ends', () => {
    const { run } = setup();
    run('RPUSH', 'l', 'a', 'b', 'c', 'd', 'e');
    expect(run('LRANGE', 'l', '-3', '-1')).toBe(arr('c', 'd', 'e'));
    expect(run('LRANGE', 'l', '-100', '1')).toBe(arr('a', 'b'));
    expect(run('LRANGE', 'l', '3', '1')).toBe('*0\r\n');
    expect(run('LINDEX', 'l', '-1')).toBe(bulk('e'));
    expect(run('LMOVE', 'l', 'l', 'LEFT', 'RIGHT')).toBe(bulk('a'));
    expect(run('LRANGE', 'l', '0', '-1')).toBe(arr('b', 'c', 'd', 'e', 'a'));
    expect(run('LPOS', 'l', 'a')).toBe(':4\r\n');
    expect(run('RPOP', 'l', '2')).toBe(arr('a', 'e'));
  });

  it('formats zset scores as %.17g and orders by score then bytes', () => {
    const { run } = setup();
    run('ZADD', 'z', '1.1', 'a', '1', 'b', 'inf', 'c', '-inf', 'd', '1', 'a\0', '1.5', 'e');
    expect(run('ZSCORE', 'z', 'a')).toBe(bulk('1.1000000000000001'));
    expect(run('ZRANGE', 'z', '0', '-1', 'WITHSCORES')).toBe(
      arr('d', '-inf', 'a\0', '1', 'b', '1', 'a', '1.1000000000000001', 'e', '1.5', 'c', 'inf'),
    );
    expect(run('ZRANGE', 'z', '(1', '+inf', 'BYSCORE', 'LIMIT', '1', '1')).toBe(arr('e'));
    expect(run('ZREVRANGE', 'z', '-2', '-1')).toBe(arr('a\0', 'd'));
    expect(run('ZRANK', 'z', 'e')).toBe(':4\r\n');
    expect(run('ZADD', 'z', 'INCR', '-inf', 'c')).toBe('-ERR resulting score is not a number (NaN)\r\n');
  });

  it('formats doubles exactly like printf %.17g', () => {
    const cases: [number, string][] = [
      [1, '1'], [1.5, '1.5'], [-0.5, '-0.5'], [0.1, '0.10000000000000001'], [1e21, '1e+21'], [1.5e-7, '1.4999999999999999e-07'],
      [123456789012345680000, '1.2345678901234568e+20'], [1e16, '10000000000000000'], [1e17, '1e+17'], [0.0001, '0.0001'],
      [0.00001, '1.0000000000000001e-05'], [Infinity, 'inf'], [-Infinity, '-inf'],
    ];
    for (const [d, s] of cases) expect(formatDouble(d)).toBe(s);
    expect(formatHumanDouble(0.1 + 0.2)).toBe('0.3');
  });
});

describe('keyspace iteration', () => {
  it('matches KEYS globs like stringmatchlen', () => {
    const cases: [string, string, boolean][] = [
      ['*', 'anything', true], ['h?llo', 'hello', true], ['h?llo', 'hllo', false], ['h*llo', 'heeello', true],
      ['h[ae]llo', 'hallo', true], ['h[ae]llo', 'hillo', false], ['h[^e]llo', 'hallo', true], ['h[^e]llo', 'hello', false],
      ['h[a-b]llo', 'hbllo', true], ['h[b-a]llo', 'hallo', true], ['h\\*llo', 'h*llo', true], ['h\\*llo', 'hello', false],
      ['a[', 'a', false], ['*a', 'ba', true], ['a*b*c', 'axxbyyc', true], ['a*b*c', 'axxbyy', false], ['', '', true],
      ['[\\]]', ']', true], ['x**', 'x', true],
    ];
    for (const [p, s, want] of cases) expect(globMatch(p, s), `${p} ~ ${s}`).toBe(want);
  });

  it('SCAN never misses a key present for the whole scan, under concurrent inserts and deletes', () => {
    const rng = new Prng(7, 'scaled');
    const { s, run } = setup();
    for (let i = 0; i < 3000; i++) run('SET', `k${i}`, 'v');
    const stable = new Set<string>();
    for (let i = 0; i < 3000; i++) if (i % 3 !== 0) stable.add(`k${i}`); // never deleted
    const seen = new Map<string, number>();
    let cursor = '0';
    let next = 3000;
    do {
      const reply = s.execute(['SCAN', cursor, 'COUNT', String(1 + rng.int(50))].map((x) => Buffer.from(x)));
      const text = reply.toString('latin1');
      const parts = text.split('\r\n');
      cursor = parts[2]!;
      for (let i = 5; i < parts.length; i += 2) if (parts[i]) seen.set(parts[i]!, (seen.get(parts[i]!) ?? 0) + 1);
      // churn: delete some deletable keys, add new ones
      for (let j = 0; j < 20; j++) {
        const victim = rng.int(3000);
        if (victim % 3 === 0) run('DEL', `k${victim}`);
        run('SET', `n${next++}`, 'v');
      }
    } while (cursor !== '0');
    for (const k of stable) expect(seen.has(k), k).toBe(true);
    for (const [k, n] of seen) expect(n, k).toBe(1);
  });
});

describe('DUMP / RESTORE', () => {
  it('round-trips every type, keeping the TTL, and rejects foreign payloads', () => {
    const { s, run, clock } = setup();
    run('SET', 'str', 'v\0\xff');
    run('RPUSH', 'list', 'a', 'b');
    run('HSET', 'hash', 'f', 'v');
    run('SADD', 'set', 'x', 'y');
    run('ZADD', 'zset', '1.5', 'm', '-inf', 'n');
    for (const key of ['str', 'list', 'hash', 'set', 'zset']) {
      const payload = s.execute([Buffer.from('DUMP'), Buffer.from(key)]);
      const body = payload.subarray(payload.indexOf('\r\n') + 2, payload.length - 2);
      const before = run('TYPE', key) + run(key === 'zset' ? 'ZRANGE' : 'TYPE', key, ...(key === 'zset' ? ['0', '-1', 'WITHSCORES'] : []));
      expect(run('RESTORE', key, '0', body)).toBe('-BUSYKEY Target key name already exists.\r\n');
      expect(run('RESTORE', key, '5000', body, 'REPLACE')).toBe('+OK\r\n');
      const after = run('TYPE', key) + run(key === 'zset' ? 'ZRANGE' : 'TYPE', key, ...(key === 'zset' ? ['0', '-1', 'WITHSCORES'] : []));
      expect(after).toBe(before);
      expect(run('PTTL', key)).toBe(':5000\r\n');
      const corrupt = Buffer.from(body);
      corrupt[0] = corrupt[0]! ^ 1;
      expect(run('RESTORE', 'other', '0', corrupt)).toBe('-ERR DUMP payload version or checksum are wrong\r\n');
    }
    expect(run('LRANGE', 'list', '0', '-1')).toBe(arr('a', 'b'));
    const payload = s.execute([Buffer.from('DUMP'), Buffer.from('str')]);
    const body = payload.subarray(payload.indexOf('\r\n') + 2, payload.length - 2);
    expect(run('RESTORE', 'abs', String(clock.now + 2000), body, 'ABSTTL')).toBe('+OK\r\n');
    expect(run('PTTL', 'abs')).toBe(':2000\r\n');
    expect(run('RESTORE', 'gone', String(clock.now - 1), body, 'ABSTTL')).toBe('+OK\r\n');
    expect(run('EXISTS', 'gone')).toBe(':0\r\n');
    expect(run('RESTORE', 'neg', '-1', body)).toBe('-ERR Invalid TTL value, must be >= 0\r\n');
  });
});

describe('data structures (property tests against plain arrays)', () => {
  it('ZSet rank / at / order agree with a sorted array', () => {
    const rng = new Prng(3, 'scaled');
    const z = new ZSet();
    const ref = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const m = `m${rng.int(400)}`;
      if (rng.float() < 0.3) {
        expect(z.delete(m)).toBe(ref.delete(m));
      } else {
        const sc = rng.int(50) / 2;
        z.set(m, sc);
        ref.set(m, sc);
      }
      if (i % 250 === 0) {
        const sorted = [...ref].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        expect(z.size).toBe(sorted.length);
        sorted.forEach(([m2], idx) => {
          expect(z.rank(m2)).toBe(idx);
          expect(z.at(idx)!.member).toBe(m2);
        });
        const walked: string[] = [];
        for (let n = z.first(); n !== null; n = n.forward[0] ?? null) walked.push(n.member);
        expect(walked).toEqual(sorted.map(([m2]) => m2));
        const back: string[] = [];
        for (let n = z.tail; n !== null; n = n.backward) back.push(n.member);
        expect(back.reverse()).toEqual(walked);
      }
    }
  });

  it('Deque behaves like an array at both ends', () => {
    const rng = new Prng(11, 'scaled');
    const d = new Deque();
    const ref: Buffer[] = [];
    for (let i = 0; i < 20000; i++) {
      const op = rng.int(4);
      const b = Buffer.from(String(i));
      if (op === 0) (d.pushBack(b), ref.push(b));
      else if (op === 1) (d.pushFront(b), ref.unshift(b));
      else if (op === 2) expect(d.popFront()).toBe(ref.shift());
      else expect(d.popBack()).toBe(ref.pop());
      expect(d.length).toBe(ref.length);
    }
    expect(d.toArray()).toEqual(ref);
  });
});
