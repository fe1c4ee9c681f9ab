// Replicas hold the same bytes after the same commands. PFCOUNT reads a HyperLogLog but rewrites
// its cached cardinality (Redis flags it may-replicate): sent to one replica only, as a read at
// DC_ONE would be, it leaves that replica's DUMP different from the others' forever (and
// anti-entropy would chase the difference). It goes to every replica like a write, and a
// read-only user may still run it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { cmd, type RawClient } from './helpers/resp-client.js';
import { until } from './helpers/until.js';

let cl: TestCluster;

beforeAll(async () => {
  cl = await startTestCluster({
    nodes: [
      { dc: 'dc1', rack: 'rack1', tokens: [0] },
      { dc: 'dc1', rack: 'rack2', tokens: [0] },
      { dc: 'dc1', rack: 'rack3', tokens: [0] },
    ],
  });
}, 60_000);

afterAll(async () => {
  await cl?.stop();
});

async function one(c: RawClient, ...args: string[]): Promise<Buffer> {
  c.write(cmd(...args));
  return (await c.replies(1))[0]!;
}

/** DUMP of key straight from every node's redis, hex. */
async function dumps(key: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < cl.members.length; i++) out.push((await one(await cl.redisClient(i), 'DUMP', key)).toString('hex'));
  return out;
}

describe('replicas byte-identical (3 racks, DC_ONE)', () => {
  it('PFCOUNT reaches every replica: the HyperLogLogs DUMP the same everywhere', async () => {
    const c = await cl.client(0);
    expect((await one(c, 'PFADD', 'hll', 'a', 'b', 'c', 'd')).toString()).toBe(':1\r\n');
    await until('the PFADD on every replica', async () => {
      const d = await dumps('hll');
      expect(d[0]).not.toBe('$-1\r\n');
      expect(new Set(d).size).toBe(1);
    }, 10_000);
    const beforeCount = await dumps('hll');
    expect((await one(c, 'PFCOUNT', 'hll')).toString()).toBe(':4\r\n');
    // The count rewrote the cache: the bytes changed, and changed on every replica alike.
    await until('PFCOUNT applied on every replica', async () => {
      const d = await dumps('hll');
      expect(d[0]).not.toBe(beforeCount[0]);
      expect(d).toEqual([d[0], d[0], d[0]]);
    }, 10_000);
  });

  it('COMMAND INFO says readonly, as Redis does', async () => {
    const c = await cl.client(1);
    const info = (await one(c, 'COMMAND', 'INFO', 'PFCOUNT')).toString();
    expect(info).toContain('*1\r\n+readonly\r\n');
  });
});
