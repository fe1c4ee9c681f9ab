// Removal after gos_removal_time, with separate node processes on loopback: rack r1 holds A (token 0)
// and B (token 2^31), rack r2 holds C. B is killed and stays dead: A and C mark it DOWN at once and
// keep its ring range waiting (a write for it is not given to A), then after gos_removal_time (2 s
// here) B leaves the ring on both: /cluster_describe no longer lists it and B's range passes to A, so
// writes for it land in A's redis. B started again (same address and token) joins again and gets its
// range back. What a user sees: /cluster_describe and the keys in the backing redis servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, keyToken, TestCluster } from './helpers/cluster.js';
import { RawClient } from './helpers/resp-client.js';
import { until } from './helpers/until.js';

const HALF = 2147483648;
const REMOVAL_MS = 2000;

const cluster = new TestCluster({
  nodes: [
    { dc: 'dc1', rack: 'r1', tokens: [0] }, // A
    { dc: 'dc1', rack: 'r1', tokens: [HALF] }, // B
    { dc: 'dc1', rack: 'r2', tokens: [0] }, // C
  ],
  conf: { enable_gossip: 'true', gos_interval: '200', gos_removal_time: String(REMOVAL_MS) },
});
const [A, B, C] = [0, 1, 2];

beforeAll(async () => {
  await cluster.start();
}, 60_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

type Server = { host: string; port: number; state: string };

async function listed(i: number): Promise<string[]> {
  const d = JSON.parse(await cluster.http(cluster.members[i]!, '/cluster_describe')) as { dcs: { racks: { name: string; servers: Server[] }[] }[] };
  return d.dcs.flatMap((dc) => dc.racks.flatMap((r) => r.servers.map((s) => `${r.name}:${s.port}:${s.state}`))).sort();
}

/** Keys whose token is in B's range of rack r1, (0, 2^31]. */
function bKeys(prefix: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const t = keyToken(`${prefix}${i}`);
    if (t > 0 && t <= HALF) out.push(`${prefix}${i}`);
  }
  return out;
}

async function stored(i: number, key: string): Promise<string> {
  const r = await RawClient.connect(cluster.members[i]!.redis.port);
  try {
    return await call(r, 'GET', key);
  } finally {
    r.close();
  }
}

const dyn = (i: number): number => cluster.members[i]!.dynPort;

describe('gos_removal_time: a node killed and never back leaves the ring, and can rejoin', () => {
  it('every node sees the other two NORMAL', async () => {
    for (const i of [A, B, C]) {
      await until(`node ${i} to see every node NORMAL`, async () => {
        expect(await listed(i)).toEqual([`r1:${dyn(A)}:NORMAL`, `r1:${dyn(B)}:NORMAL`, `r2:${dyn(C)}:NORMAL`].sort());
      }, 10_000, 50);
    }
  });

  it('killed: DOWN at once, its range waits (not given to A) until gos_removal_time, then it leaves the ring and A takes the range', async () => {
    const t0 = Date.now();
    await cluster.kill(B);
    for (const i of [A, C]) {
      await until(`node ${i} to see B DOWN`, async () => {
        expect(await listed(i)).toContain(`r1:${dyn(B)}:DOWN`);
      }, 5000, 20);
    }
    const [waiting, moved, direct] = [bKeys('rm-wait-', 1)[0]!, bKeys('rm-moved-', 5), bKeys('rm-direct-', 1)[0]!];
    const c = await cluster.client(C);
    // DOWN, not removed yet: the write is C's (and hinted for B), never A's
    expect(await call(c, 'SET', waiting, 'w')).toBe('+OK\r\n');
    expect(await stored(C, waiting)).toBe('$1\r\nw\r\n');
    if (Date.now() - t0 < REMOVAL_MS - 200) expect(await stored(A, waiting)).toBe('$-1\r\n');
    for (const i of [A, C]) {
      await until(`node ${i} to drop B from the ring`, async () => {
        expect(await listed(i)).toEqual([`r1:${dyn(A)}:NORMAL`, `r2:${dyn(C)}:NORMAL`].sort());
      }, REMOVAL_MS + 10_000, 50);
    }
    const took = Date.now() - t0;
    console.log(`removal (gos_removal_time ${REMOVAL_MS} ms): B out of the ring on A and C ${took} ms after kill -9`);
    expect(took).toBeGreaterThanOrEqual(REMOVAL_MS);
    expect(cluster.members[C]!.node.log()).toMatch(new RegExp(`membership: dc1\\$r1\\$${HALF} DOWN -> REMOVED`));
    // B's range now belongs to A in rack r1: writes through C reach A's redis, reads come back
    for (const k of moved) expect(await call(c, 'SET', k, `m-${k}`)).toBe('+OK\r\n');
    await until('the moved keys in A\'s redis', async () => {
      for (const k of moved) expect(await stored(A, k)).toBe(`$${`m-${k}`.length}\r\nm-${k}\r\n`);
    }, 5000, 50);
    for (const k of moved) expect(await stored(C, k)).toBe(`$${`m-${k}`.length}\r\nm-${k}\r\n`);
    // through A itself: answered and stored there (A is the range's owner in its rack now)
    const a = await cluster.client(A);
    expect(await call(a, 'SET', direct, 'd')).toBe('+OK\r\n');
    expect(await stored(A, direct)).toBe('$1\r\nd\r\n');
    for (const k of moved) expect(await call(a, 'GET', k)).toBe(`$${`m-${k}`.length}\r\nm-${k}\r\n`);
  }, 30_000);

  it('started again at the same address: joins again on A and C and gets its range back', async () => {
    await cluster.restart(B);
    for (const i of [A, C]) {
      await until(`node ${i} to see B NORMAL again`, async () => {
        expect(await listed(i)).toEqual([`r1:${dyn(A)}:NORMAL`, `r1:${dyn(B)}:NORMAL`, `r2:${dyn(C)}:NORMAL`].sort());
      }, 15_000, 50);
    }
    const keys = bKeys('rm-back-', 5);
    const c = await cluster.client(C);
    await until('a write through C in B\'s range to reach B\'s redis', async () => {
      expect(await call(c, 'SET', keys[0]!, 'probe')).toBe('+OK\r\n');
      expect(await stored(B, keys[0]!)).toBe('$5\r\nprobe\r\n');
    }, 10_000, 100);
    for (const k of keys.slice(1)) expect(await call(c, 'SET', k, `b-${k}`)).toBe('+OK\r\n');
    await until('the keys in B\'s redis', async () => {
      for (const k of keys.slice(1)) expect(await stored(B, k)).toBe(`$${`b-${k}`.length}\r\nb-${k}\r\n`);
    }, 5000, 50);
    for (const k of keys.slice(1)) expect(await stored(A, k)).toBe('$-1\r\n');
  }, 40_000);
});
