// Real clients with their README's default options, then common ones (name, db 0, password, RESP2
// and RESP3), against a node over redis and one on the embedded store. Each runs SET/GET, a
// pipeline, MGET/MSET, a hash, a counter, EXPIRE/TTL and SCAN; EVAL where the datastore is redis.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import IORedis6 from 'ioredis';
import IORedis5 from 'ioredis5';
import Valkey from 'iovalkey';
import { createClient as createClient6 } from 'redis';
import { createClient as createClient4 } from 'redis4';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { startTestNode } from './helpers/node.js';
import type { RunningNode } from '../src/node.js';

const PASSWORD = 's3cret pw';
let redis: RunningServer;
const nodes: Record<string, RunningNode> = {};

beforeAll(async () => {
  redis = await startRedis();
  const server = { host: '127.0.0.1', port: redis.port };
  [nodes.redis, nodes.memory, nodes.redisAuth, nodes.memoryAuth] = await Promise.all([
    startTestNode({ dataStore: 'redis', server }),
    startTestNode({ dataStore: 'memory' }),
    startTestNode({ dataStore: 'redis', server, requirepass: PASSWORD }),
    startTestNode({ dataStore: 'memory', requirepass: PASSWORD }),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(nodes).map((n) => n.close()));
  await redis?.stop();
});

interface IoPipeline {
  set(k: string, v: string): IoPipeline;
  get(k: string): IoPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

interface IoLike {
  set(k: string, v: string): Promise<unknown>;
  get(k: string): Promise<string | null>;
  mset(...kv: string[]): Promise<unknown>;
  mget(...k: string[]): Promise<(string | null)[]>;
  hset(k: string, ...fv: string[]): Promise<unknown>;
  hgetall(k: string): Promise<Record<string, string>>;
  incr(k: string): Promise<number>;
  expire(k: string, s: number): Promise<unknown>;
  ttl(k: string): Promise<number>;
  scan(cursor: string, ...a: string[]): Promise<[string, string[]]>;
  eval(script: string, n: number, ...a: string[]): Promise<unknown>;
  pipeline(): IoPipeline;
  quit(): Promise<unknown>;
}

async function ioWorkload(c: IoLike, p: string, evalToo: boolean): Promise<void> {
  await c.set(`${p}:a`, '1');
  expect(await c.get(`${p}:a`)).toBe('1');
  expect(await c.get(`${p}:none`)).toBeNull();
  const res = await c.pipeline().set(`${p}:b`, '2').get(`${p}:b`).exec();
  expect(res).toEqual([[null, 'OK'], [null, '2']]);
  await c.mset(`${p}:c`, '3', `${p}:d`, '4');
  expect(await c.mget(`${p}:c`, `${p}:d`, `${p}:none`)).toEqual(['3', '4', null]);
  await c.hset(`${p}:h`, 'f', 'v', 'g', 'w');
  expect(await c.hgetall(`${p}:h`)).toEqual({ f: 'v', g: 'w' });
  expect(await c.incr(`${p}:n`)).toBe(1);
  expect(await c.incr(`${p}:n`)).toBe(2);
  await c.expire(`${p}:n`, 100);
  expect(await c.ttl(`${p}:n`)).toBeGreaterThan(90);
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', '2');
    for (const k of keys) seen.add(k);
    cursor = next;
  } while (cursor !== '0');
  expect([...seen].sort()).toEqual([`${p}:a`, `${p}:b`, `${p}:c`, `${p}:d`, `${p}:h`, `${p}:n`]);
  if (evalToo) expect(await c.eval("return redis.call('get', KEYS[1])", 1, `${p}:a`)).toBe('1');
  await c.quit();
}

interface NodeRedisLike {
  connect(): Promise<unknown>;
  set(k: string, v: string): Promise<unknown>;
  get(k: string): Promise<unknown>;
  mSet(kv: [string, string][]): Promise<unknown>;
  mGet(k: string[]): Promise<unknown>;
  hSet(k: string, v: Record<string, string>): Promise<unknown>;
  hGetAll(k: string): Promise<unknown>;
  incr(k: string): Promise<unknown>;
  expire(k: string, s: number): Promise<unknown>;
  ttl(k: string): Promise<unknown>;
  scanIterator(o: { MATCH: string; COUNT: number }): AsyncIterable<string | string[]>;
  eval(script: string, o: { keys: string[] }): Promise<unknown>;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
}

async function nodeRedisWorkload(c: NodeRedisLike, p: string, evalToo: boolean): Promise<void> {
  await c.connect();
  await c.set(`${p}:a`, '1');
  expect(await c.get(`${p}:a`)).toBe('1');
  expect(await c.get(`${p}:none`)).toBeNull();
  // Commands issued in one tick go out as one pipeline.
  const [, b] = await Promise.all([c.set(`${p}:b`, '2'), c.get(`${p}:b`)]);
  expect(b).toBe('2');
  await c.mSet([[`${p}:c`, '3'], [`${p}:d`, '4']]);
  expect(await c.mGet([`${p}:c`, `${p}:d`, `${p}:none`])).toEqual(['3', '4', null]);
  await c.hSet(`${p}:h`, { f: 'v', g: 'w' });
  expect({ ...(await c.hGetAll(`${p}:h`) as Record<string, string>) }).toEqual({ f: 'v', g: 'w' });
  expect(await c.incr(`${p}:n`)).toBe(1);
  await c.expire(`${p}:n`, 100);
  expect(await c.ttl(`${p}:n`)).toBeGreaterThan(90);
  const seen = new Set<string>();
  for await (const k of c.scanIterator({ MATCH: `${p}:*`, COUNT: 2 })) for (const x of [k].flat()) seen.add(x);
  expect([...seen].sort()).toEqual([`${p}:a`, `${p}:b`, `${p}:c`, `${p}:d`, `${p}:h`, `${p}:n`]);
  if (evalToo) expect(await c.eval("return redis.call('get', KEYS[1])", { keys: [`${p}:a`] })).toBe('1');
  await (c.quit ?? c.close)!.call(c);
}

let run = 0;
const prefix = (): string => `m${run++}`;

describe.each(['redis', 'memory'] as const)('clients against a node over %s', (ds) => {
  const port = (auth = false): number => nodes[auth ? `${ds}Auth` : ds]!.port;
  const evalToo = ds === 'redis';
  const io = [['ioredis 6', IORedis6], ['ioredis 5', IORedis5], ['iovalkey', Valkey]] as const;

  test.each(io)('%s with its defaults', async (_n, Ctor) => {
    await ioWorkload(new (Ctor as unknown as new (o: object) => IoLike)({ host: '127.0.0.1', port: port() }), prefix(), evalToo);
  });

  test.each(io)('%s with name, db 0 and a password', async (_n, Ctor) => {
    await ioWorkload(new (Ctor as unknown as new (o: object) => IoLike)({ host: '127.0.0.1', port: port(true), connectionName: 'app', db: 0, password: PASSWORD }), prefix(), evalToo);
  });

  test('ioredis 6 with RESP2 (protocol: 2)', async () => {
    await ioWorkload(new (IORedis6 as unknown as new (o: object) => IoLike)({ host: '127.0.0.1', port: port(), protocol: 2 }), prefix(), evalToo);
  });

  test.each([['node-redis 6', createClient6], ['node-redis 4', createClient4]] as const)('%s with its defaults', async (_n, create) => {
    await nodeRedisWorkload((create as unknown as (o: object) => unknown)({ url: `redis://127.0.0.1:${port()}` }) as unknown as NodeRedisLike, prefix(), evalToo);
  });

  test.each([['node-redis 6', createClient6], ['node-redis 4', createClient4]] as const)('%s with name, database 0 and a password', async (_n, create) => {
    await nodeRedisWorkload((create as unknown as (o: object) => unknown)({ url: `redis://127.0.0.1:${port(true)}`, name: 'app', database: 0, password: PASSWORD }) as unknown as NodeRedisLike, prefix(), evalToo);
  });

  test('node-redis 6 with RESP3', async () => {
    await nodeRedisWorkload(createClient6({ url: `redis://127.0.0.1:${port()}`, RESP: 3 }) as unknown as NodeRedisLike, prefix(), evalToo);
  });
});

test('requirepass: NOAUTH before AUTH (HELLO, AUTH, QUIT allowed), WRONGPASS for a bad password', async () => {
  const { RawClient, cmd } = await import('./helpers/resp-client.js');
  const c = await RawClient.connect(nodes.memoryAuth!.port);
  try {
    c.write(Buffer.concat([cmd('GET', 'x'), cmd('AUTH', 'nope'), cmd('HELLO', '3'), cmd('AUTH', 'default', PASSWORD), cmd('GET', 'x')]));
    const r = (await c.replies(5)).map((b) => b.toString('latin1'));
    expect(r[0]).toBe('-NOAUTH Authentication required.\r\n');
    expect(r[1]).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(r[2]).toMatch(/^-NOAUTH HELLO must be called with the client already authenticated/);
    expect(r.slice(3)).toEqual(['+OK\r\n', '$-1\r\n']);
  } finally {
    c.close();
  }
});
