// Anti-entropy end to end: 3 racks of one node each, every node a separate process over its own
// redis-server. Data is written through the proxy, a replica is damaged behind the proxy's back,
// a pass is started on the stats port, and every backing redis is read directly afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, pipeline, TestCluster, type ClusterSpec } from './helpers/cluster.js';
import type { RawClient } from './helpers/resp-client.js';
import { until } from './helpers/until.js';

const T1 = 101134286;
const SPEC: ClusterSpec = {
  nodes: ['r1', 'r2', 'r3'].map((rack) => ({ dc: 'dc1', rack, tokens: [T1] })),
  // Passes only by hand here; unpaced so the test is quick.
  conf: { anti_entropy_interval: '0', anti_entropy_rate: '0', write_consistency: 'DC_QUORUM' },
};
const N = 400;

let cluster: TestCluster;
const redis: RawClient[] = [];

interface PassJson {
  running: boolean;
  percentDone: number;
  passes: number;
  lastPass: { started: string; finished: string | null; ranges: number; rangesCompared: number; keysCompared: number;
    keysRepaired: number; repairsSkipped: number; bytesExchanged: number; percentDone: number; errors: string[];
    peersSkipped: { peer: string; reason: string }[] } | null;
}

async function status(i: number): Promise<PassJson> {
  return JSON.parse(await cluster.http(cluster.members[i]!, '/anti_entropy')) as PassJson;
}

/** Starts a pass on node i and waits for it to finish; returns its report. */
async function pass(i: number): Promise<NonNullable<PassJson['lastPass']>> {
  const before = (await status(i)).passes;
  const r = await fetch(`http://127.0.0.1:${cluster.members[i]!.statsPort}/anti_entropy/run`);
  expect(r.status).toBe(202);
  const body = await r.json() as { started: boolean; status: PassJson };
  expect(body.started).toBe(true);
  expect(body.status.running).toBe(true);
  await until('the pass to finish', async () => {
    const s = await status(i);
    expect(s.passes).toBe(before + 1);
    expect(s.running).toBe(false);
  }, 30_000, 50);
  const s = await status(i);
  expect(s.percentDone).toBe(100);
  expect(s.lastPass!.errors).toEqual([]);
  return s.lastPass!;
}

/** Every key of redis i, sorted, with its DUMP and PTTL. */
async function contents(i: number): Promise<{ key: string; dump: string; pttl: number }[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const r = await call(redis[i]!, 'SCAN', cursor, 'COUNT', '1000');
    const parts = r.split('\r\n');
    cursor = parts[2]!;
    for (let p = 4; p < parts.length - 1; p += 2) keys.push(parts[p + 1]!);
  } while (cursor !== '0');
  keys.sort();
  const out: { key: string; dump: string; pttl: number }[] = [];
  const replies = await pipeline(redis[i]!, keys.flatMap((k) => [['DUMP', k], ['PTTL', k]]));
  for (let j = 0; j < keys.length; j++) out.push({ key: keys[j]!, dump: replies[2 * j]!, pttl: Number(replies[2 * j + 1]!.slice(1, -2)) });
  return out;
}

async function expectReplicasEqual(): Promise<void> {
  const all = await Promise.all([0, 1, 2].map((i) => contents(i)));
  expect(all[0]!.length).toBe(N);
  for (const i of [1, 2]) {
    expect(all[i]!.map((e) => e.key)).toEqual(all[0]!.map((e) => e.key));
    expect(all[i]!.map((e) => e.dump)).toEqual(all[0]!.map((e) => e.dump));
    for (let j = 0; j < N; j++) {
      const a = all[0]![j]!.pttl;
      const b = all[i]![j]!.pttl;
      // -1 (no TTL) on both, or expire-at within 2 s (the replicas applied the TTL apart, and time passed between the reads).
      if (a < 0 || b < 0) expect([all[i]![j]!.key, b]).toEqual([all[0]![j]!.key, a]);
      else expect(Math.abs(a - b), all[0]![j]!.key).toBeLessThan(2500);
    }
  }
}

beforeAll(async () => {
  cluster = new TestCluster(SPEC);
  await cluster.start();
  for (let i = 0; i < 3; i++) redis.push(await cluster.redisClient(i));
  const c = await cluster.client(0);
  const cmds: string[][] = [];
  for (let k = 0; k < N; k++) {
    if (k % 4 === 0) cmds.push(['HSET', `h:${k}`, 'f', `v${k}`, 'g', 'x']);
    else if (k % 4 === 1) cmds.push(['SET', `t:${k}`, `value-${k}`, 'PX', '600000']);
    else if (k % 4 === 2) cmds.push(['RPUSH', `l:${k}`, 'a', 'b', `${k}`]);
    else cmds.push(['SET', `s:${k}`, 'x'.repeat(k)]);
  }
  const replies = await pipeline(c, cmds);
  expect(replies.filter((r) => r.startsWith('-'))).toEqual([]);
  await until('every write on every replica', async () => {
    expect(await Promise.all(redis.map((r) => call(r, 'DBSIZE')))).toEqual([`:${N}\r\n`, `:${N}\r\n`, `:${N}\r\n`]);
  }, 10_000, 50);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('anti-entropy over 3 racks', () => {
  it('a replica whose redis was flushed gets every key back, byte-identical, with its TTL', async () => {
    expect(await call(redis[2]!, 'FLUSHALL')).toBe('+OK\r\n');
    const p = await pass(0);
    expect(p.ranges).toBe(2);
    expect(p.rangesCompared).toBe(2);
    // r3 lost all N keys: each comes back from r1 (presence wins over a key lost without a tombstone).
    expect(p.keysRepaired).toBe(N);
    expect(p.bytesExchanged).toBeGreaterThan(0);
    await expectReplicasEqual();
  }, 60_000);

  it('equal replicas: nothing repaired, the exchange is reported', async () => {
    const p = await pass(0);
    expect(p.keysRepaired).toBe(0);
    expect(p.repairsSkipped).toBe(0);
    expect(p.keysCompared).toBe(2 * N);
    expect(p.bytesExchanged).toBeGreaterThan(0);
    // Equal trees: the exchange is a few TREE levels, far less than the data.
    expect(p.bytesExchanged).toBeLessThan(20_000);
    await expectReplicasEqual();
  }, 60_000);

  it('/anti_entropy reports a pass; a second /anti_entropy/run while one runs says so; /metrics has the series', async () => {
    const idle = await status(1);
    expect(idle).toMatchObject({ running: false, passes: 0, lastPass: null, intervalMs: 0, ratePerSecond: null });
    const first = await fetch(`http://127.0.0.1:${cluster.members[1]!.statsPort}/anti_entropy/run`);
    const second = await fetch(`http://127.0.0.1:${cluster.members[1]!.statsPort}/anti_entropy/run`);
    expect(first.status).toBe(202);
    expect(second.status).toBe(409);
    const body = await second.json() as { started: boolean; message: string };
    expect(body).toMatchObject({ started: false, message: 'an anti-entropy pass is already running' });
    await until('the pass on node 1 to finish', async () => expect((await status(1)).running).toBe(false), 30_000, 50);
    const s = await status(1);
    // r2 starts with r3 only (r1 sorts before it and starts that pair).
    expect(s.lastPass).toMatchObject({ ranges: 1, rangesCompared: 1, keysCompared: N, keysRepaired: 0, percentDone: 100, errors: [] });
    expect(Date.parse(s.lastPass!.finished!)).toBeGreaterThanOrEqual(Date.parse(s.lastPass!.started));
    const metrics = await cluster.http(cluster.members[1]!, '/metrics');
    expect(metrics).toMatch(/dynomite_anti_entropy_passes_total\{pool="[^"]*"\} 1/);
    expect(metrics).toMatch(/dynomite_anti_entropy_keys_compared_total\{pool="[^"]*"\} 400/);
    expect(metrics).toMatch(/dynomite_anti_entropy_running\{pool="[^"]*"\} 0/);
    // r3 sorts last: it starts no pair.
    const last = await pass(2);
    expect(last).toMatchObject({ ranges: 0, keysCompared: 0 });
  }, 60_000);
});

describe('anti-entropy and deletes, hinted handoff off', () => {
  // No hints: what the replica missed while it was away is anti-entropy's to fix, nobody else's.
  const spec: ClusterSpec = {
    nodes: ['r1', 'r2', 'r3'].map((rack) => ({ dc: 'dc1', rack, tokens: [T1] })),
    conf: { anti_entropy_interval: '0', anti_entropy_rate: '0', write_consistency: 'DC_QUORUM', hints_max_bytes: '0' },
  };
  let c2: TestCluster;
  afterAll(async () => {
    await c2?.stop();
  });

  it('a key deleted at quorum while a replica was down is deleted there by anti-entropy, not resurrected', async () => {
    c2 = new TestCluster(spec);
    await c2.start();
    const direct = await Promise.all([0, 1, 2].map((i) => c2.redisClient(i)));
    const client = await c2.client(0);
    expect(await pipeline(client, [['SET', 'del:a', '1'], ['SET', 'del:b', '2'], ['SET', 'keep', '3']])).toEqual(['+OK\r\n', '+OK\r\n', '+OK\r\n']);
    await until('on every replica', async () => expect(await Promise.all(direct.map((r) => call(r, 'DBSIZE')))).toEqual([':3\r\n', ':3\r\n', ':3\r\n']), 5000);
    await c2.kill(2);
    // r1 and r2 form the quorum; r3 (down, no hints) keeps both keys.
    await until('the delete at quorum', async () => expect(await call(client, 'DEL', 'del:a', 'del:b')).toBe(':2\r\n'), 10_000, 100);
    expect(await Promise.all(direct.map((r) => call(r, 'DBSIZE')))).toEqual([':1\r\n', ':1\r\n', ':3\r\n']);
    await c2.restart(2);
    await c2.waitConnected();
    const m0 = c2.members[0]!;
    await until('r1 to know r3 is dynomite-ts again', async () => {
      const r = await fetch(`http://127.0.0.1:${m0.statsPort}/anti_entropy/run`);
      expect(r.status).toBe(202);
      await until('that pass to end', async () => expect(JSON.parse(await c2.http(m0, '/anti_entropy')).running).toBe(false), 20_000, 50);
      expect(JSON.parse(await c2.http(m0, '/anti_entropy')).lastPass.peersSkipped).toEqual([]);
    }, 20_000, 200);
    const s = JSON.parse(await c2.http(m0, '/anti_entropy')) as PassJson;
    expect(s.lastPass!.errors).toEqual([]);
    expect(await Promise.all(direct.map((r) => call(r, 'EXISTS', 'del:a', 'del:b')))).toEqual([':0\r\n', ':0\r\n', ':0\r\n']);
    expect(await Promise.all(direct.map((r) => call(r, 'GET', 'keep')))).toEqual(direct.map(() => '$1\r\n3\r\n'));
  }, 90_000);
});
