// FT.* across one rack of three node processes, each over its own redis-server: the shape most users
// run (one rack x 3 nodes, data in redis). Seen from ioredis with its README defaults: the schema
// reaches every node, each document lands in exactly one redis (its token range's owner) and is
// counted once by a search from any node, global sort and deep paging without overlap, KNN as a
// global top-K, a distributed FT.AGGREGATE equal to the sums computed here, a hash written straight
// into a backing redis (not through the proxy) indexed from redis's keyspace notifications, and a
// DEL through any node removing the document from every node's answer.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { until } from './helpers/until.js';

const N = 90;
const TOKENS = [0, 1431655765, 2863311530];

const vec = (i: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeFloatLE(Math.cos(i), 0);
  b.writeFloatLE(Math.sin(i * 0.7), 4);
  return b;
};
const colour = (i: number): string => (i % 3 === 0 ? 'red fox' : 'blue dog');

describe('FT.* over 1 rack x 3 nodes on redis', () => {
  let cluster: TestCluster;
  const clients: Redis[] = [];
  const proxy = (i: number): Redis => clients[i]!;
  const direct: Redis[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({ nodes: TOKENS.map((t) => ({ dc: 'dc1', rack: 'rack1', tokens: [t] })), timeoutMs: 3000 });
    for (const m of cluster.members) {
      clients.push(new Redis({ host: '127.0.0.1', port: m.port }));
      direct.push(new Redis({ host: '127.0.0.1', port: m.redis.port }));
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of [...clients, ...direct]) c.disconnect();
    await cluster?.stop();
  });

  test('FT.CREATE at one node reaches all three', async () => {
    expect(await proxy(1).call('FT.CREATE', 'idx', 'ON', 'HASH', 'PREFIX', '1', 'd:', 'SCHEMA', 'body', 'TEXT', 'price', 'NUMERIC', 'SORTABLE',
      'v', 'VECTOR', 'FLAT', '6', 'TYPE', 'FLOAT32', 'DIM', '2', 'DISTANCE_METRIC', 'L2')).toBe('OK');
    for (let i = 0; i < 3; i++) expect(await proxy(i).call('FT._LIST'), `node ${i}`).toEqual(['idx']);
  });

  test('writes through any node land in one redis each and are counted once from every node', async () => {
    for (let i = 0; i < N; i++) {
      expect(await proxy(i % 3).hset(`d:${i}`, 'body', colour(i), 'price', String(i), 'v', vec(i))).toBe(3);
    }
    const perRedis = await Promise.all(direct.map((r) => r.keys('d:*')));
    for (const [i, keys] of perRedis.entries()) {
      expect(keys.length, `redis of node ${i} holds part of the documents`).toBeGreaterThan(0);
      expect(keys.length, `redis of node ${i} holds part of the documents`).toBeLessThan(N);
    }
    expect(perRedis.flat().sort()).toEqual(Array.from({ length: N }, (_, i) => `d:${i}`).sort());
    for (let at = 0; at < 3; at++) {
      const all = (await proxy(at).call('FT.SEARCH', 'idx', '*', 'LIMIT', '0', '0')) as unknown[];
      expect(all[0], `total from node ${at}`).toBe(N);
      const fox = (await proxy(at).call('FT.SEARCH', 'idx', 'fox', 'LIMIT', '0', '0')) as unknown[];
      expect(fox[0], `"fox" total from node ${at}`).toBe(N / 3);
    }
  });

  test('global sort and deep paging: pages from different nodes join into the full order', async () => {
    const ids: string[] = [];
    for (let off = 0; off < N; off += 7) {
      const page = (await proxy(off % 3).call('FT.SEARCH', 'idx', '*', 'SORTBY', 'price', 'DESC', 'LIMIT', String(off), '7', 'NOCONTENT')) as unknown[];
      expect(page[0]).toBe(N);
      ids.push(...(page.slice(1) as string[]));
    }
    expect(ids).toEqual(Array.from({ length: N }, (_, i) => `d:${N - 1 - i}`));
  });

  test('KNN is the global top-K by L2 distance', async () => {
    const q = vec(10);
    const dist = (i: number): number => {
      const v = vec(i);
      return (v.readFloatLE(0) - q.readFloatLE(0)) ** 2 + (v.readFloatLE(4) - q.readFloatLE(4)) ** 2;
    };
    const want = Array.from({ length: N }, (_, i) => i).sort((a, b) => dist(a) - dist(b) || a - b).slice(0, 5).map((i) => `d:${i}`);
    for (let at = 0; at < 3; at++) {
      const r = (await proxy(at).call('FT.SEARCH', 'idx', '*=>[KNN 5 @v $q]', 'PARAMS', '2', 'q', q, 'SORTBY', '__v_score', 'NOCONTENT', 'DIALECT', '2')) as unknown[];
      expect(r.slice(1), `from node ${at}`).toEqual(want);
    }
  });

  test('FT.AGGREGATE GROUPBY with COUNT / SUM / AVG equals the sums over every document', async () => {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < N; i++) groups.set(colour(i), [...(groups.get(colour(i)) ?? []), i]);
    const want = [...groups.entries()].map(([body, ps]) => [body, ps.length, ps.reduce((a, b) => a + b, 0), ps.reduce((a, b) => a + b, 0) / ps.length])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    for (let at = 0; at < 3; at++) {
      const r = (await proxy(at).call('FT.AGGREGATE', 'idx', '*', 'GROUPBY', '1', '@body',
        'REDUCE', 'COUNT', '0', 'AS', 'n', 'REDUCE', 'SUM', '1', '@price', 'AS', 's', 'REDUCE', 'AVG', '1', '@price', 'AS', 'a',
        'SORTBY', '2', '@body', 'ASC')) as unknown[];
      const rows = (r.slice(1) as string[][]).map((row) => {
        const o = new Map<string, string>();
        for (let k = 0; k < row.length; k += 2) o.set(row[k]!, row[k + 1]!);
        return [o.get('body'), Number(o.get('n')), Number(o.get('s')), Number(o.get('a'))];
      });
      expect(rows, `from node ${at}`).toEqual(want);
    }
  });

  test('a hash written straight into a backing redis is indexed from its keyspace notifications', async () => {
    // Node 2's redis, written without the proxy (as a redis-side script or a restore would).
    await direct[2]!.hset('d:direct', 'body', 'green parrot', 'price', '1000');
    for (let at = 0; at < 3; at++) {
      await until(`node ${at} finds the document written into node 2's redis`, async () => {
        const r = (await proxy(at).call('FT.SEARCH', 'idx', 'parrot', 'NOCONTENT')) as unknown[];
        expect(r).toEqual([1, 'd:direct']);
      }, 10_000);
    }
  });

  test('DEL through any node removes the document from every node\'s answer', async () => {
    expect(await proxy(0).del('d:3')).toBe(1);
    for (const [i, r] of direct.entries()) expect(await r.exists('d:3'), `redis of node ${i}`).toBe(0);
    for (let at = 0; at < 3; at++) {
      const fox = (await proxy(at).call('FT.SEARCH', 'idx', 'fox', 'LIMIT', '0', '0')) as unknown[];
      expect(fox[0], `"fox" total from node ${at} after DEL`).toBe(N / 3 - 1);
    }
  });
});
