// RESP3 through every path, with redis-server 7 as the oracle: the same commands, after HELLO 3, sent
// straight to a redis-server and through a node (over redis, over the embedded store, and through
// a 3-rack cluster whose peers answer RESP2) must give the same bytes. RESP2 is checked the same way.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RawClient, cmd } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { startTestNode } from './helpers/node.js';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import type { RunningNode } from '../src/node.js';

/** Commands every datastore answers; `K` is replaced by a key prefix unique to the run. */
const COMMON: readonly string[][] = [
  ['SET', 'K:s', 'v'], ['GET', 'K:s'], ['GET', 'K:none'], ['MGET', 'K:s', 'K:none'], ['SET', 'K:s', 'w', 'GET'],
  ['INCR', 'K:n'], ['INCRBY', 'K:n', '5'], ['DECR', 'K:n'], ['INCRBYFLOAT', 'K:f', '1.5'], ['EXPIRE', 'K:n', '100'], ['TTL', 'K:n'],
  ['HSET', 'K:h', 'f1', 'v1', 'f2', 'v2'], ['HGETALL', 'K:h'], ['HGETALL', 'K:none'], ['HMGET', 'K:h', 'f1', 'nof'],
  ['HGET', 'K:h', 'nof'], ['HINCRBYFLOAT', 'K:h', 'x', '2.5'], ['HKEYS', 'K:h'],
  ['SADD', 'K:set', '1', '2', '3'], ['SMEMBERS', 'K:set'], ['SMEMBERS', 'K:none'], ['SINTER', 'K:set'], ['SUNION', 'K:set'],
  ['SDIFF', 'K:set'], ['SISMEMBER', 'K:set', '2'], ['SMISMEMBER', 'K:set', '1', '9'],
  ['ZADD', 'K:z', '1.5', 'a', '2', 'b', '3', 'c'], ['ZSCORE', 'K:z', 'a'], ['ZSCORE', 'K:z', 'none'], ['ZINCRBY', 'K:z', '1', 'a'],
  ['ZRANGE', 'K:z', '0', '-1'], ['ZRANGE', 'K:z', '0', '-1', 'WITHSCORES'], ['ZREVRANGE', 'K:z', '0', '1', 'withscores'],
  ['ZRANGEBYSCORE', 'K:z', '-inf', '+inf', 'WITHSCORES'], ['ZMSCORE', 'K:z', 'a', 'none'], ['ZADD', 'K:z', 'INCR', '1', 'b'],
  ['ZRANK', 'K:z', 'b'], ['ZPOPMIN', 'K:z'], ['ZPOPMAX', 'K:z', '2'], ['ZPOPMIN', 'K:none'], ['ZADD', 'K:z', '1e300', 'big'],
  ['ZSCORE', 'K:z', 'big'], ['ZADD', 'K:z', 'inf', 'top'], ['ZSCORE', 'K:z', 'top'],
  ['RPUSH', 'K:l', 'a', 'b', 'c'], ['LRANGE', 'K:l', '0', '-1'], ['LPOP', 'K:none'], ['LPOP', 'K:l', '2'], ['LPOS', 'K:l', 'zz'],
  ['GET', 'K:h'], ['ECHO', 'hi'], ['PING'], ['SELECT', '0'], ['CONFIG', 'GET', 'maxmemory'], ['TYPE', 'K:z'], ['EXISTS', 'K:s', 'K:none'],
];

/** Commands the embedded store does not implement (geo, streams, scripts, ZUNION). */
const REDIS_ONLY: readonly string[][] = [
  ['GEOADD', 'K:g', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania'],
  ['GEOPOS', 'K:g', 'Palermo', 'none'], ['GEODIST', 'K:g', 'Palermo', 'Catania', 'km'],
  ['GEOSEARCH', 'K:g', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'ASC', 'WITHCOORD', 'WITHDIST'],
  ['GEOSEARCH', 'K:g', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'ASC'],
  ['XADD', 'K:x', '1-1', 'f', 'v'], ['XADD', 'K:x', '2-1', 'g', 'w'], ['XRANGE', 'K:x', '-', '+'], ['XLEN', 'K:x'],
  ['XGROUP', 'CREATE', 'K:x', 'grp', '0'], ['XINFO', 'GROUPS', 'K:x'],
  ['EVAL', "return redis.call('get', KEYS[1])", '1', 'K:s'], ['EVAL', 'return {1, 2, 3}', '1', 'K:s'],
  ['ZUNION', '1', 'K:z', 'WITHSCORES'], ['ZUNION', '1', 'K:z'],
];

function expand(list: readonly string[][], prefix: string): string[][] {
  return list.map((c) => c.map((a) => a.replace(/^K:/, `${prefix}:`)));
}

/** Sends each command on both connections and returns the mismatches (command, oracle, ours). */
async function compare(oracle: RawClient, ours: RawClient, commands: string[][]): Promise<string[]> {
  const diffs: string[] = [];
  for (const c of commands) {
    oracle.write(cmd(...c));
    ours.write(cmd(...c));
    const [want] = await oracle.replies(1);
    const [got] = await ours.replies(1);
    if (!want.equals(got)) diffs.push(`${c.join(' ')}\n  redis: ${JSON.stringify(want.toString('latin1'))}\n  ours:  ${JSON.stringify(got.toString('latin1'))}`);
  }
  return diffs;
}

async function hello3(c: RawClient): Promise<string> {
  c.write(cmd('HELLO', '3'));
  const [r] = await c.replies(1);
  return r.toString('latin1');
}

let oracleRedis: RunningServer;
let backing: RunningServer;
let overRedis: RunningNode;
let overMemory: RunningNode;
let cluster: TestCluster;
let run = 0;

beforeAll(async () => {
  [oracleRedis, backing] = await Promise.all([startRedis(), startRedis()]);
  overRedis = await startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: backing.port } });
  overMemory = await startTestNode({ dataStore: 'memory' });
  cluster = await startTestCluster({
    nodes: [{ dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [0] }, { dc: 'dc1', rack: 'r3', tokens: [0] }],
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([overRedis?.close(), overMemory?.close(), cluster?.stop()]);
  await Promise.all([oracleRedis?.stop(), backing?.stop()]);
});

const targets = [
  { name: 'single node over redis', port: () => overRedis.port, redisOnly: true },
  { name: 'embedded store', port: () => overMemory.port, redisOnly: false },
  { name: '3-rack cluster', port: () => cluster.members[0]!.port, redisOnly: true },
] as const;

describe.each(targets)('RESP3 and RESP2 against redis-server: $name', (t) => {
  test.each([3, 2] as const)('RESP%i bytes equal redis-server 7', async (proto) => {
    const prefix = `o${run++}`;
    const oracle = await RawClient.connect(oracleRedis.port);
    const ours = await RawClient.connect(t.port());
    try {
      if (proto === 3) {
        expect(await hello3(oracle)).toMatch(/^%7\r\n/);
        const h = await hello3(ours);
        expect(h).toMatch(/^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$\d+\r\n[\d.]+\r\n\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n/);
        expect(h).toContain('$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n');
      }
      const commands = expand(t.redisOnly ? [...COMMON, ...REDIS_ONLY] : COMMON, prefix);
      expect(await compare(oracle, ours, commands)).toEqual([]);
    } finally {
      oracle.close();
      ours.close();
    }
  });
});

test('HELLO refuses other versions with NOPROTO and keeps the connection usable', async () => {
  const c = await RawClient.connect(overMemory.port);
  try {
    c.write(Buffer.concat([cmd('HELLO', '4'), cmd('HELLO', 'x'), cmd('PING'), cmd('HELLO', '3', 'SETNAME', 'a b')]));
    const r = (await c.replies(4)).map((b) => b.toString('latin1'));
    expect(r).toEqual([
      '-NOPROTO unsupported protocol version\r\n',
      '-ERR Protocol version is not an integer or out of range\r\n',
      '+PONG\r\n',
      '-ERR Client names cannot contain spaces, newlines or special characters.\r\n',
    ]);
  } finally {
    c.close();
  }
});

test('a pipeline that switches protocol mid-way gets each reply in the protocol of its request', async () => {
  const c = await RawClient.connect(overRedis.port);
  try {
    c.write(Buffer.concat([
      cmd('HSET', 'pipe:h', 'a', '1'), cmd('HGETALL', 'pipe:h'), cmd('HELLO', '3'), cmd('HGETALL', 'pipe:h'),
      cmd('GET', 'pipe:none'), cmd('HELLO', '2'), cmd('HGETALL', 'pipe:h'), cmd('GET', 'pipe:none'),
    ]));
    const r = (await c.replies(8)).map((b) => b.toString('latin1'));
    expect(r[1]).toBe('*2\r\n$1\r\na\r\n$1\r\n1\r\n');
    expect(r[3]).toBe('%1\r\n$1\r\na\r\n$1\r\n1\r\n');
    expect(r[4]).toBe('_\r\n');
    expect(r[5]).toMatch(/^\*14\r\n/);
    expect(r[6]).toBe('*2\r\n$1\r\na\r\n$1\r\n1\r\n');
    expect(r[7]).toBe('$-1\r\n');
  } finally {
    c.close();
  }
});
