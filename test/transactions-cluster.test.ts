// Transactions through a 3-rack cluster of separate processes (rack r1 has two nodes, so keys can
// have different owners): the EXEC array from the coordinator, the block applied on the owner's
// redis in every rack, a cross-owner transaction refused with nothing applied on any redis, the
// queue errors, RESP3, the replies byte for byte against a plain redis-server, and the clients'
// transactions with their defaults.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { RawClient, cmd } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { call, ownersOf, pipeline, startTestCluster, type ClusterSpec, type TestCluster } from './helpers/cluster.js';
import { until } from './helpers/until.js';
import { SEQUENCES, compare, expand } from './helpers/tx-sequences.js';

const SPEC: ClusterSpec = {
  nodes: [
    { dc: 'dc1', rack: 'r1', tokens: [0] },
    { dc: 'dc1', rack: 'r1', tokens: [2147483648] },
    { dc: 'dc1', rack: 'r2', tokens: [0] },
    { dc: 'dc1', rack: 'r3', tokens: [0] },
  ],
  conf: { hash_tag: '"{}"' },
};

let cluster: TestCluster;
let oracle: RunningServer;
let run = 0;

beforeAll(async () => {
  // One after the other: the cluster picks its dnode ports before binding them, and a redis started
  // meanwhile could take one.
  oracle = await startRedis();
  cluster = await startTestCluster(SPEC);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  await oracle?.stop();
});

/** A hash tag whose keys node `owner` owns in rack r1 (and every rack's single node elsewhere). */
function tagOwnedBy(owner: number): string {
  for (let i = 0; ; i++) {
    const tag = `t${run++}-${i}`;
    if (ownersOf(SPEC, `{${tag}}`, '{}')[0] === owner) return tag;
  }
}

/** GET key on the redis behind node i. */
async function onRedis(i: number, key: string): Promise<string> {
  const c = await cluster.redisClient(i);
  return call(c, 'GET', key);
}

describe('transactions through a 3-rack cluster', () => {
  test('the EXEC array comes back and every rack owner\'s redis holds the results; other nodes hold nothing', async () => {
    const tag = tagOwnedBy(1); // owned by node 1 in r1: the coordinator (node 0) forwards it
    const k = `{${tag}}:a`;
    const n = `{${tag}}:n`;
    const c = await cluster.client(0);
    expect(await pipeline(c, [['MULTI'], ['SET', k, 'v'], ['INCR', n], ['GET', k], ['EXEC']]))
      .toEqual(['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*3\r\n+OK\r\n:1\r\n$1\r\nv\r\n']);
    const owners = ownersOf(SPEC, k, '{}');
    expect(owners).toEqual([1, 2, 3]);
    await until('every owner\'s redis has the transaction', async () => {
      for (const i of owners) {
        expect(await onRedis(i, k), `redis of node ${i}`).toBe('$1\r\nv\r\n');
        expect(await onRedis(i, n), `redis of node ${i}`).toBe('$1\r\n1\r\n');
      }
    }, 10_000);
    expect(await onRedis(0, k)).toBe('$-1\r\n');
  });

  test('a transaction whose keys span owners is refused (EXECABORT) and nothing of it reaches any redis', async () => {
    const mine = `{${tagOwnedBy(0)}}:x`;
    const other = `{${tagOwnedBy(1)}}:y`;
    const c = await cluster.client(0);
    const r = await pipeline(c, [['MULTI'], ['SET', mine, '1'], ['SET', other, '2'], ['INCR', mine], ['EXEC']]);
    expect(r[0]).toBe('+OK\r\n');
    expect(r[1]).toBe('+QUEUED\r\n');
    expect(r[2]).toMatch(/^-CROSSSLOT Keys in request don't hash to the same slot \(dynomite: every key of a transaction must have the same owner/);
    expect(r[3]).toBe('+QUEUED\r\n');
    expect(r[4]).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    // A later write of the same owners, once replicated everywhere, shows the refused one never went.
    const marker = `{${tagOwnedBy(0)}}:marker`;
    expect(await call(c, 'SET', marker, 'm')).toBe('+OK\r\n');
    await until('the marker reached every owner', async () => {
      for (const i of ownersOf(SPEC, marker, '{}')) expect(await onRedis(i, marker)).toBe('$1\r\nm\r\n');
    }, 10_000);
    for (let i = 0; i < SPEC.nodes.length; i++) {
      expect(await onRedis(i, mine), `redis of node ${i}`).toBe('$-1\r\n');
      expect(await onRedis(i, other), `redis of node ${i}`).toBe('$-1\r\n');
    }
  });

  test('queue errors abort, runtime errors are elements, broadcast commands and WATCH are refused', async () => {
    const tag = tagOwnedBy(0);
    const s = `{${tag}}:s`;
    const c = await cluster.client(3);
    expect(await pipeline(c, [['MULTI'], ['SET', s, 'x'], ['GET'], ['EXEC'], ['GET', s]])).toEqual([
      '+OK\r\n', '+QUEUED\r\n', "-ERR wrong number of arguments for 'get' command\r\n",
      '-EXECABORT Transaction discarded because of previous errors.\r\n', '$-1\r\n']);
    expect(await pipeline(c, [['MULTI'], ['SET', s, 'x'], ['INCR', s], ['EXEC']])).toEqual([
      '+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n+OK\r\n-ERR value is not an integer or out of range\r\n']);
    expect(await pipeline(c, [['MULTI'], ['FLUSHALL'], ['DISCARD']])).toEqual([
      '+OK\r\n', "-ERR Command not allowed inside a transaction: 'flushall' goes to every node of the cluster\r\n", '+OK\r\n']);
    expect(await call(c, 'WATCH', s)).toBe('-ERR Dynomite: WATCH is not supported in a cluster (MULTI / EXEC are)\r\n');
  });

  test('at DC_QUORUM the replicas\' EXEC replies are coalesced', async () => {
    const k = `{${tagOwnedBy(1)}}:q`;
    const c = await cluster.client(2);
    expect(await call(c, 'DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM')).toBe('+OK\r\n');
    expect(await pipeline(c, [['MULTI'], ['INCR', k], ['INCR', k], ['EXEC']]))
      .toEqual(['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n:1\r\n:2\r\n']);
    await until('every owner has it', async () => {
      for (const i of ownersOf(SPEC, k, '{}')) expect(await onRedis(i, k)).toBe('$1\r\n2\r\n');
    }, 10_000);
  });

  test('a client cannot send DYNO_TX itself', async () => {
    const c = await cluster.client(0);
    expect(await call(c, 'DYNO_TX', '{a}', 'x', 'y')).toBe("-ERR unknown or unsupported command 'DYNO_TX'\r\n");
  });

  test.each([2, 3] as const)('RESP%i replies equal redis-server 7 byte for byte (keys under one hash tag)', async (proto) => {
    const o = await RawClient.connect(oracle.port);
    const ours = await cluster.client(0);
    try {
      if (proto === 3) {
        o.write(cmd('HELLO', '3'));
        ours.write(cmd('HELLO', '3'));
        await o.replies(1);
        await ours.replies(1);
      }
      const diffs: string[] = [];
      // WATCH is refused in a cluster: those sequences are the single-node tests' business.
      for (const seq of SEQUENCES.filter((q) => !q.some((c) => c[0] === 'WATCH'))) {
        diffs.push(...(await compare(o, ours, expand(seq, `{ctx${run++}}`))));
      }
      expect(diffs).toEqual([]);
    } finally {
      o.close();
    }
  });

  test('ioredis multi().set().get().exec() and node-redis multi()...exec() with their defaults', async () => {
    const k = `{${tagOwnedBy(1)}}:cl`;
    const io = new IORedis(cluster.members[0]!.port, '127.0.0.1');
    const nr = createClient({ url: `redis://127.0.0.1:${cluster.members[3]!.port}` });
    nr.on('error', () => undefined);
    try {
      expect(await io.multi().set(k, 'v').get(k).exec()).toEqual([[null, 'OK'], [null, 'v']]);
      await nr.connect();
      expect(await nr.multi().set(`${k}2`, 'w').get(`${k}2`).hSet(`${k}h`, 'f', '1').hGetAll(`${k}h`).exec())
        .toEqual(['OK', 'w', 1, { f: '1' }]);
    } finally {
      io.disconnect();
      nr.destroy();
    }
  });
});
