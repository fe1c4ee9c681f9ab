// The cluster, end to end: every node a separate `bin/dynomite.js` process on loopback in front of its
// own redis-server (test/helpers/cluster.ts). Three topologies, each started once per describe block:
//   (a) 1 DC x 3 racks x 1 node        replication, consistency levels, failures (last: they kill)
//   (b) 1 DC x 2 racks x 3 nodes       sharding inside a rack, multi-key fragments, EVAL, hash tags
//   (c) 2 DCs x 2 racks x 1 node       remote-DC forwarding, DC_EACH_SAFE_QUORUM, kill + restart
//   (d) memcached, 1 rack x 2 nodes    noreply writes to a peer
//   (e) 2 DCs with different layouts   multi-key writes grouped for the remote DC's owners too
// Expected placement is computed here, independently of the node: the WASM murmur token of the key
// and Netflix's rule (first ring point >= token, wrapping).
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ownersOf, pipeline, sleep, TestCluster, type ClusterSpec } from './helpers/cluster.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { Prng } from './helpers/prng.js';

const T1 = 101134286;
const THIRDS = [0, 1431655765, 2863311530];
const QUORUM_ERR = '-ERR Dynomite: Failed to achieve Quorum\r\n';
const SPAN_ERR = '-ERR Dynomite: Keys in the script cannot span multiple nodes\r\n';
const LEVELS = ['DC_ONE', 'DC_QUORUM', 'DC_SAFE_QUORUM'] as const;

const SPEC_A: ClusterSpec = {
  nodes: ['r1', 'r2', 'r3'].map((rack) => ({ dc: 'dc1', rack, tokens: [T1] })),
  // No ejection: a dead local datastore must be noticed by the cluster layer itself.
  conf: { auto_eject_hosts: 'false' },
};
const SPEC_B: ClusterSpec = {
  nodes: ['ra', 'rb'].flatMap((rack) => THIRDS.map((t) => ({ dc: 'dc1', rack, tokens: [t] }))),
  conf: { hash_tag: '"{}"' },
};
const SPEC_C: ClusterSpec = {
  nodes: [['dc1', 'r1'], ['dc1', 'r2'], ['dc2', 'r1'], ['dc2', 'r2']].map(([dc, rack]) => ({ dc: dc!, rack: rack!, tokens: [T1] })),
};

function bulk(v: string): string {
  return `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
}

/** Every key matching pattern on a redis, sorted. */
async function keysOn(c: RawClient, pattern: string): Promise<string[]> {
  c.write(cmd('KEYS', pattern));
  const r = (await c.replies(1))[0]!.toString('latin1');
  const out: string[] = [];
  const lines = r.split('\r\n');
  for (let i = 1; i < lines.length; i += 2) if (lines[i]?.startsWith('$')) out.push(lines[i + 1]!);
  return out.sort();
}

/** Polls until check() passes (replication to other racks is asynchronous for DC_ONE writes). */
async function eventually(check: () => Promise<void>, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

/** Writes n keys through every node in turn; checks every backing redis holds exactly its keys. */
async function placement(cl: TestCluster, spec: ClusterSpec, prefix: string, n: number, tag?: string): Promise<void> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(tag && i % 5 === 0 ? `${prefix}{grp${i % 3}}${i}` : `${prefix}${i}:${i * 7919}`);
  const nodes = cl.members.length;
  for (let m = 0; m < nodes; m++) {
    const c = await cl.client(m);
    const mine = keys.filter((_, i) => i % nodes === m);
    const replies = await pipeline(c, mine.map((k) => ['SET', k, `v-${k}`]));
    expect(replies.every((r) => r === '+OK\r\n')).toBe(true);
  }
  const expected: string[][] = cl.members.map(() => []);
  for (const k of keys) for (const owner of ownersOf(spec, k, tag)) expected[owner]!.push(k);
  const direct = await Promise.all(cl.members.map((m) => cl.redisClient(m.index)));
  await eventually(async () => {
    for (let m = 0; m < nodes; m++) {
      expect(await keysOn(direct[m]!, `${prefix}*`), `redis of node ${m}`).toEqual(expected[m]!.sort());
    }
  });
  // Sharding really happened where racks have several nodes (the test is not vacuous).
  if (spec.nodes.length > 3 && spec === SPEC_B) for (const e of expected) expect(e.length).toBeGreaterThan(n / 6);
  // And every key reads back through every node.
  for (let m = 0; m < nodes; m++) {
    const c = await cl.client(m);
    const sample = keys.filter((_, i) => i % 7 === m);
    expect(await pipeline(c, sample.map((k) => ['GET', k]))).toEqual(sample.map((k) => bulk(`v-${k}`)));
  }
}

/** A corpus over every data type; `p` prefixes every key. */
function corpus(p: string): string[][] {
  const k = (s: string): string => `${p}${s}`;
  return [
    ['SET', k('s1'), 'hello'], ['GET', k('s1')], ['APPEND', k('s1'), ' world'], ['STRLEN', k('s1')],
    ['GETRANGE', k('s1'), '0', '4'], ['SETRANGE', k('s1'), '6', 'WORLD'], ['GET', k('s1')],
    ['SETNX', k('s1'), 'x'], ['SETNX', k('s2'), 'x'], ['GETSET', k('s2'), 'y'], ['GET', k('nosuch')],
    ['INCR', k('n1')], ['INCRBY', k('n1'), '41'], ['DECR', k('n1')], ['DECRBY', k('n1'), '2'],
    ['INCRBYFLOAT', k('f1'), '1.5'], ['INCR', k('s1')],
    ['HSET', k('h1'), 'a', '1', 'b', '2'], ['HGET', k('h1'), 'a'], ['HINCRBY', k('h1'), 'a', '5'],
    ['HGETALL', k('h1')], ['HLEN', k('h1')], ['HDEL', k('h1'), 'b'], ['HEXISTS', k('h1'), 'b'], ['HMGET', k('h1'), 'a', 'b'],
    ['RPUSH', k('l1'), 'a', 'b', 'c'], ['LPUSH', k('l1'), 'z'], ['LRANGE', k('l1'), '0', '-1'], ['LPOP', k('l1')],
    ['LLEN', k('l1')], ['LINDEX', k('l1'), '1'], ['RPOP', k('l1')],
    ['SADD', k('set1'), 'a', 'b', 'c'], ['SISMEMBER', k('set1'), 'b'], ['SCARD', k('set1')], ['SREM', k('set1'), 'a'],
    ['SADD', k('set2'), '3', '1', '2'], ['SMEMBERS', k('set2')],
    ['ZADD', k('z1'), '1', 'a', '2', 'b', '3', 'c'], ['ZSCORE', k('z1'), 'b'], ['ZINCRBY', k('z1'), '5', 'a'],
    ['ZRANGE', k('z1'), '0', '-1', 'WITHSCORES'], ['ZRANK', k('z1'), 'a'], ['ZCARD', k('z1')], ['ZREM', k('z1'), 'b'],
    ['MSET', k('m1'), '1', k('m2'), '2', k('m3'), '3', k('m4'), '4', k('m5'), '5', k('m6'), '6'],
    ['MGET', k('m1'), k('m2'), k('nosuch'), k('m3'), k('m4'), k('m5'), k('m6')],
    ['EXISTS', k('m1'), k('m2'), k('nosuch'), k('m3'), k('s1'), k('m1')],
    ['DEL', k('m1'), k('m2'), k('nosuch'), k('m3')], ['EXISTS', k('m1'), k('m4'), k('m5'), k('m6')],
    ['EXPIRE', k('s1'), '100'], ['TTL', k('s1')], ['PERSIST', k('s1')], ['TTL', k('s1')], ['TTL', k('nosuch')],
    ['TYPE', k('h1')], ['TYPE', k('l1')], ['LPUSH', k('s1'), 'x'],
    ['DEL', k('s1'), k('s2'), k('n1'), k('f1'), k('h1'), k('l1'), k('set1'), k('set2'), k('z1'), k('m4'), k('m5'), k('m6')],
  ];
}

let reference: RunningServer | undefined;
let referenceClient: RawClient | undefined;

/** Runs the corpus through every node and through a plain redis: the replies must be identical. */
async function sameAsRedis(cl: TestCluster, tag: string): Promise<void> {
  reference ??= await startRedis();
  referenceClient ??= await RawClient.connect(reference.port);
  for (const m of cl.members) {
    const p = `corpus:${tag}:${m.index}:`;
    const want = await pipeline(referenceClient, corpus(p));
    const c = await cl.client(m.index);
    const got: string[] = [];
    // One by one (a mismatch names its command) and then pipelined (order under load).
    for (const line of corpus(p)) got.push(await call(c, ...line));
    expect(got, `node ${m.index}`).toEqual(want);
    expect(await pipeline(c, corpus(p)), `node ${m.index} pipelined`).toEqual(want);
  }
}

afterAll(async () => {
  referenceClient?.close();
  await reference?.stop();
});

async function setLevel(c: RawClient, level: string): Promise<void> {
  expect(await call(c, 'DYNO_CONFIG:CONN_CONSISTENCY', level)).toBe('+OK\r\n');
}

/** One request, timed. */
async function timed(c: RawClient, ...args: string[]): Promise<{ reply: string; ms: number }> {
  const t0 = performance.now();
  const reply = await call(c, ...args);
  return { reply, ms: performance.now() - t0 };
}

describe('(a) 1 DC x 3 racks x 1 node, separate processes', () => {
  const cl = new TestCluster(SPEC_A);
  beforeAll(() => cl.start(), 60_000);
  afterAll(() => cl.stop());

  it('places every key on its owner in every rack and nowhere else', async () => {
    await placement(cl, SPEC_A, 'pa:', 300);
  });

  it('answers a command corpus exactly as a plain redis, through every node', async () => {
    await sameAsRedis(cl, 'a');
  });

  it('lists every DC, rack and node in /cluster_describe on every node', async () => {
    for (const m of cl.members) {
      const d = JSON.parse(await cl.http(m, '/cluster_describe')) as { dcs: { name: string; racks: { name: string; servers: { port: number; token: number | string }[] }[] }[] };
      expect(d.dcs.map((x) => x.name)).toEqual(['dc1']);
      expect(d.dcs[0]!.racks.map((r) => r.name).sort()).toEqual(['r1', 'r2', 'r3']);
      const ports = d.dcs[0]!.racks.flatMap((r) => r.servers.map((s) => s.port)).sort();
      expect(ports).toEqual(cl.members.map((x) => x.dynPort).sort());
    }
  });

  it('reads at every consistency level with one replica diverged, and with all three different', async () => {
    const key = 'cons:k1';
    const c0 = await cl.client(0);
    expect(await call(c0, 'SET', key, 'good')).toBe('+OK\r\n');
    const direct = await Promise.all([0, 1, 2].map((i) => cl.redisClient(i)));
    await eventually(async () => {
      for (const d of direct) expect(await call(d, 'GET', key)).toBe(bulk('good'));
    });
    expect(await call(direct[1]!, 'SET', key, 'diverged')).toBe('+OK\r\n');

    // Per connection.
    const c1 = await cl.client(1);
    expect(await call(c1, 'GET', key)).toBe(bulk('diverged'));
    await setLevel(c1, 'DC_QUORUM');
    expect(await call(c1, 'GET', key)).toBe(bulk('good'));
    // DC_SAFE_QUORUM: the CoalesceTracker needs every local reply to agree.
    // (Netflix was seen returning the majority value here.)
    await setLevel(c1, 'DC_SAFE_QUORUM');
    expect(await call(c1, 'GET', key)).toBe(QUORUM_ERR);
    await setLevel(c1, 'DC_ONE');
    expect(await call(c1, 'GET', key)).toBe(bulk('diverged'));
    // Through a node whose replica is in the majority.
    const c2 = await cl.client(2);
    await setLevel(c2, 'DC_QUORUM');
    expect(await call(c2, 'GET', key)).toBe(bulk('good'));

    // At run time through the stats port (a new connection takes the node's level).
    const m1 = cl.members[1]!;
    expect(await cl.http(m1, '/set_consistency/read/dc_quorum')).toMatch(/OK/);
    expect(await cl.http(m1, '/get_consistency')).toMatch(/Read Consistency: DC_QUORUM/);
    const fresh = await cl.client(1);
    expect(await call(fresh, 'GET', key)).toBe(bulk('good'));
    expect(await cl.http(m1, '/set_consistency/read/dc_safe_quorum')).toMatch(/OK/);
    expect(await call(fresh, 'GET', key)).toBe(QUORUM_ERR);
    expect(await cl.http(m1, '/set_consistency/read/dc_one')).toMatch(/OK/);
    expect(await call(fresh, 'GET', key)).toBe(bulk('diverged'));

    // All three different: SAFE_QUORUM fails, QUORUM still answers with one of them.
    expect(await call(direct[2]!, 'SET', key, 'third')).toBe('+OK\r\n');
    await setLevel(c1, 'DC_SAFE_QUORUM');
    expect(await call(c1, 'GET', key)).toBe(QUORUM_ERR);
    await setLevel(c1, 'DC_QUORUM');
    expect([bulk('good'), bulk('diverged'), bulk('third')]).toContain(await call(c1, 'GET', key));
    // Agreement again: every level answers.
    expect(await call(c0, 'SET', key, 'same')).toBe('+OK\r\n');
    await eventually(async () => {
      for (const d of direct) expect(await call(d, 'GET', key)).toBe(bulk('same'));
    });
    for (const level of [...LEVELS, 'DC_EACH_SAFE_QUORUM']) {
      await setLevel(c1, level);
      expect(await call(c1, 'GET', key), level).toBe(bulk('same'));
    }
  });

  it('survives a peer speaking garbage on the dnode port', async () => {
    const target = cl.members[0]!;
    const probes: Buffer[] = [
      randomBytes(70_000), // no magic at all: cut off after maxGarbage
      Buffer.from('   $2014$ not-a-header\r\n*1\r\n$4\r\nPING\r\n'),
      Buffer.concat([Buffer.from('   $2014$ 1 3 0 1 1 *1 d *999999999999\r\n'), randomBytes(64)]),
      Buffer.concat([Buffer.from('   $2014$ '), randomBytes(4096)]),
    ];
    for (const bytes of probes) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: target.dynPort }, () => s.write(bytes));
        const t = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 3000);
        s.on('data', () => undefined);
        s.on('error', () => undefined);
        s.on('close', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      expect(closed, `closes after ${JSON.stringify(bytes.subarray(0, 24).toString('latin1'))}`).toBe(true);
    }
    expect(target.node.alive()).toBe(true);
    // Still serving clients, and its own and the other nodes' peer links still work.
    for (const m of [0, 1]) {
      const c = await cl.client(m);
      expect(await call(c, 'SET', `garbage:${m}`, 'still')).toBe('+OK\r\n');
    }
    const direct = await Promise.all([0, 1, 2].map((i) => cl.redisClient(i)));
    await eventually(async () => {
      for (const d of direct) expect(await pipeline(d, [['GET', 'garbage:0'], ['GET', 'garbage:1']])).toEqual([bulk('still'), bulk('still')]);
    });
    expect(await cl.peerConnections(target)).toBe(2);
  });

  it('keeps answering within timeout when a node process is killed, at every level', async () => {
    const c0 = await cl.client(0);
    expect(await call(c0, 'SET', 'fail:before', 'v0')).toBe('+OK\r\n');
    const direct = await Promise.all([0, 1, 2].map((i) => cl.redisClient(i)));
    await eventually(async () => {
      for (const d of direct) expect(await call(d, 'GET', 'fail:before')).toBe(bulk('v0'));
    });
    await cl.kill(2);
    const limit = cl.timeoutMs + 500;
    for (const m of [0, 1]) {
      const c = await cl.client(m);
      for (const level of LEVELS) {
        await setLevel(c, level);
        const w = await timed(c, 'SET', `fail:${m}:${level}`, level);
        expect(w.reply, `write via ${m} at ${level}`).toBe('+OK\r\n');
        expect(w.ms).toBeLessThan(limit);
        const r = await timed(c, 'GET', `fail:${m}:${level}`);
        expect(r.reply, `read via ${m} at ${level}`).toBe(bulk(level));
        expect(r.ms).toBeLessThan(limit);
        const old = await timed(c, 'GET', 'fail:before');
        expect(old.reply).toBe(bulk('v0'));
      }
    }
    // Writes reached every reachable replica (redis 2 lost its node: nothing new reached it).
    await eventually(async () => {
      for (const d of [direct[0]!, direct[1]!]) {
        expect(await keysOn(d, 'fail:[01]:*')).toHaveLength(6);
      }
    });
    expect(await keysOn(direct[2]!, 'fail:[01]:*')).toEqual([]);
  });

  it('fails a DC_ONE read over to another rack when the node\'s own redis is killed', async () => {
    // Node 2 is dead since the last test: node 1's reads can only go to node 0's rack.
    await cl.killRedis(1);
    await sleep(200); // node 1 sees its datastore connection close
    const c1 = await cl.client(1);
    const limit = cl.timeoutMs + 500;
    const until = Date.now() + 1500; // spans several reconnect attempts of the dead datastore
    let n = 0;
    while (Date.now() < until) {
      const r = await timed(c1, 'GET', 'fail:before');
      expect(r.reply, `read ${n}`).toBe(bulk('v0'));
      expect(r.ms).toBeLessThan(limit);
      n++;
      await sleep(5);
    }
    // A write still reaches the reachable replica, and the client hears back within timeout.
    const w = await timed(c1, 'SET', 'fail:after', 'v1');
    expect(w.ms).toBeLessThan(limit);
    expect(w.reply).toBe('+OK\r\n');
    const d0 = await cl.redisClient(0);
    await eventually(async () => expect(await call(d0, 'GET', 'fail:after')).toBe(bulk('v1')));
    // Quorum levels cannot be met (one node dead, one datastore dead): an error, not a hang.
    await setLevel(c1, 'DC_QUORUM');
    const q = await timed(c1, 'GET', 'fail:before');
    expect(q.ms).toBeLessThan(limit);
    expect(q.reply.startsWith('-ERR ')).toBe(true);
  });
});

describe('(b) 1 DC x 2 racks x 3 nodes, separate processes', () => {
  const cl = new TestCluster(SPEC_B);
  beforeAll(() => cl.start(), 60_000);
  afterAll(() => cl.stop());

  it('shards inside each rack: every key on its owner in each rack and nowhere else', async () => {
    await placement(cl, SPEC_B, 'pb:', 300, '{}');
  });

  it('answers a command corpus exactly as a plain redis, through every node', async () => {
    await sameAsRedis(cl, 'b');
  });

  it('merges multi-key commands spanning owners in key order, with multi-MB values', async () => {
    // Keys on each of the three owners, interleaved.
    const byOwner = new Map<number, string[]>();
    for (let i = 0; byOwner.size < 3 || [...byOwner.values()].some((l) => l.length < 3); i++) {
      const k = `mk:${i}`;
      const o = ownersOf(SPEC_B, k)[0]!;
      const l = byOwner.get(o) ?? [];
      if (l.length < 3) l.push(k);
      byOwner.set(o, l);
    }
    const groups = [...byOwner.values()];
    const keys = [0, 1, 2].flatMap((i) => groups.map((g) => g[i]!)); // owner A, B, C, A, B, C ...
    const big = (i: number): string => String.fromCharCode(97 + i).repeat(2 * 1024 * 1024 + i);
    for (const m of [0, 4]) {
      const c = await cl.client(m);
      const args = keys.flatMap((k, i) => [k, i % 3 === 0 ? big(i) : `v${i}`]);
      expect(await call(c, 'MSET', ...args)).toBe('+OK\r\n');
      const order = [...keys].reverse().concat(['mk:none']);
      const want = `*${order.length}\r\n${order.map((k) => {
        const i = keys.indexOf(k);
        return i < 0 ? '$-1\r\n' : bulk(i % 3 === 0 ? big(i) : `v${i}`);
      }).join('')}`;
      expect(await call(c, 'MGET', ...order)).toBe(want);
      expect(await call(c, 'EXISTS', ...keys, 'mk:none', keys[0]!)).toBe(`:${keys.length + 1}\r\n`);
      expect(await call(c, 'DEL', keys[0]!, keys[1]!, 'mk:none', keys[5]!)).toBe(':3\r\n');
      expect(await call(c, 'EXISTS', ...keys)).toBe(`:${keys.length - 3}\r\n`);
      expect(await call(c, 'DEL', ...keys)).toBe(`:${keys.length - 3}\r\n`);
    }
    // MSET: +OK only if every fragment said +OK, else the first error. The redises owning one
    // group's keys (one per rack) refuse writes.
    const bad = groups[1]![0]!;
    const owners = ownersOf(SPEC_B, bad);
    const direct = await Promise.all(owners.map((o) => cl.redisClient(o)));
    for (const d of direct) expect(await call(d, 'CONFIG', 'SET', 'min-replicas-to-write', '1')).toBe('+OK\r\n');
    try {
      const c = await cl.client(2);
      const r = await call(c, 'MSET', groups[0]![0]!, '1', bad, '2', groups[2]![0]!, '3');
      expect(r).toMatch(/^-NOREPLICAS /);
      expect(await call(c, 'MGET', groups[0]![0]!, bad)).toBe(`*2\r\n${bulk('1')}$-1\r\n`);
    } finally {
      for (const d of direct) await call(d, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
    }
  });

  it('runs EVAL on one owner and refuses keys spanning owners', async () => {
    const c = await cl.client(1);
    let a = 'ev:0';
    let b = '';
    for (let i = 1; !b; i++) if (ownersOf(SPEC_B, `ev:${i}`)[0] !== ownersOf(SPEC_B, a)[0]) b = `ev:${i}`;
    const script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[2])";
    expect(await call(c, 'EVAL', script, '2', a, b, 'x')).toBe(SPAN_ERR);
    // The same owner by a hash tag: runs, and both keys land on that owner in both racks.
    a = '{user7}:a';
    b = '{user7}:b';
    expect(ownersOf(SPEC_B, a, '{}')).toEqual(ownersOf(SPEC_B, b, '{}'));
    expect(await call(c, 'EVAL', script, '2', a, b, 'tagged')).toBe(bulk('tagged'));
    const owners = ownersOf(SPEC_B, a, '{}');
    await eventually(async () => {
      for (const o of owners) {
        const d = await cl.redisClient(o);
        expect(await pipeline(d, [['GET', a], ['GET', b]])).toEqual([bulk('tagged'), bulk('tagged')]);
      }
    });
    // One key: always one owner.
    expect(await call(c, 'EVAL', "return redis.call('GET', KEYS[1])", '1', a)).toBe(bulk('tagged'));
  });

  it('gives every client a plain redis\'s replies under concurrent pipelined multi-key load', async () => {
    reference ??= await startRedis();
    referenceClient ??= await RawClient.connect(reference.port);
    const rng = new Prng(0x9e3779b9);
    const script = (p: string): string[][] => {
      const k = (): string => `${p}${rng.int(40)}`;
      const out: string[][] = [];
      for (let i = 0; i < 400; i++) {
        switch (rng.int(7)) {
          case 0: out.push(['SET', k(), `v${i}`]); break;
          case 1: out.push(['GET', k()]); break;
          case 2: out.push(['MSET', k(), `a${i}`, k(), `b${i}`, k(), `c${i}`]); break;
          case 3: out.push(['MGET', k(), k(), k(), k(), k()]); break;
          case 4: out.push(['DEL', k(), k()]); break;
          case 5: out.push(['EXISTS', k(), k(), k()]); break;
          default: out.push(['INCR', `${p}ctr${rng.int(3)}`]); break;
        }
      }
      return out;
    };
    const runs = [0, 2, 3, 5].map((m) => ({ m, commands: script(`st:${m}:`) }));
    const want: string[][] = [];
    for (const r of runs) want.push(await pipeline(referenceClient, r.commands));
    const clients = await Promise.all(runs.map((r) => cl.client(r.m)));
    const got = await Promise.all(runs.map((r, i) => pipeline(clients[i]!, r.commands)));
    runs.forEach((r, i) => expect(got[i], `node ${r.m}`).toEqual(want[i]));
  });

  it('answers within timeout while a peer hangs (SIGSTOP), and recovers when it resumes', async () => {
    // Keys owned by node 1 in rack ra (and node 4 in rb), read through node 0 (rack ra).
    const keys: string[] = [];
    for (let i = 0; keys.length < 4; i++) if (ownersOf(SPEC_B, `hang:${i}`)[0] === 1) keys.push(`hang:${i}`);
    const c0 = await cl.client(0);
    for (const k of keys) expect(await call(c0, 'SET', k, 'v')).toBe('+OK\r\n');
    cl.pause(1);
    try {
      const limit = cl.timeoutMs + 700;
      for (const level of LEVELS) {
        await setLevel(c0, level);
        const w = await timed(c0, 'SET', keys[0]!, level);
        expect(w.ms, `write at ${level}`).toBeLessThan(limit);
        // DC_ONE: one replica answers (rack rb); the quorum levels need the hung one.
        if (level === 'DC_ONE') expect(w.reply).toBe('+OK\r\n');
        else expect(w.reply).toMatch(/^-ERR (Peer|Dynomite): /);
        const r = await timed(c0, 'GET', keys[1]!);
        expect(r.ms, `read at ${level}`).toBeLessThan(limit);
        expect(r.reply).toMatch(/^(\$1\r\nv\r\n|-ERR (Peer|Dynomite): .*)$/s);
        // A pipeline of requests to the hung node and to live ones: every one answered in time.
        const t0 = performance.now();
        const replies = await pipeline(c0, [['GET', keys[2]!], ['GET', 'hang:other'], ['MGET', keys[3]!, 'hang:other'], ['PING']]);
        expect(performance.now() - t0).toBeLessThan(limit + 300);
        expect(replies[3]).toBe('+PONG\r\n');
      }
      // Nodes not involved keep serving.
      const c5 = await cl.client(5);
      expect(await call(c5, 'SET', 'hang:fine', 'yes')).toBe('+OK\r\n');
      expect(await call(c5, 'GET', 'hang:fine')).toBe(bulk('yes'));
    } finally {
      cl.resume(1);
    }
    await cl.waitConnected(10_000);
    await setLevel(c0, 'DC_QUORUM');
    await eventually(async () => {
      expect(await call(c0, 'SET', keys[0]!, 'back')).toBe('+OK\r\n');
      expect(await call(c0, 'GET', keys[0]!)).toBe(bulk('back'));
    }, 8000);
  });

  it('lists both racks and all six nodes in /cluster_describe', async () => {
    for (const m of cl.members) {
      const d = JSON.parse(await cl.http(m, '/cluster_describe')) as { dcs: { name: string; racks: { name: string; servers: { port: number; token: number | string }[] }[] }[] };
      expect(d.dcs.map((x) => x.name)).toEqual(['dc1']);
      expect(d.dcs[0]!.racks.map((r) => r.name).sort()).toEqual(['ra', 'rb']);
      for (const r of d.dcs[0]!.racks) expect(r.servers.map((s) => Number(s.token)).sort((x, y) => x - y)).toEqual(THIRDS);
      expect(d.dcs[0]!.racks.flatMap((r) => r.servers.map((s) => s.port)).sort()).toEqual(cl.members.map((x) => x.dynPort).sort());
    }
  });
});

describe('(c) 2 DCs x 2 racks x 1 node, separate processes', () => {
  const cl = new TestCluster(SPEC_C);
  beforeAll(() => cl.start(), 60_000);
  afterAll(() => cl.stop());

  it('writes reach every rack of both DCs and nothing else', async () => {
    await placement(cl, SPEC_C, 'pc:', 200);
  });

  it('answers a command corpus exactly as a plain redis, through every node', async () => {
    await sameAsRedis(cl, 'c');
  });

  it('replicates multi-MB values across DCs (REQ_FORWARD) and splits multi-key commands there', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const c2 = await cl.client(2);
    expect(await call(c2, 'SET', 'bigc:1', big)).toBe('+OK\r\n');
    expect(await call(c2, 'MSET', 'bigc:2', big, 'bigc:3', 'small')).toBe('+OK\r\n');
    const direct = await Promise.all(cl.members.map((m) => cl.redisClient(m.index)));
    await eventually(async () => {
      for (const d of direct) expect(await call(d, 'STRLEN', 'bigc:2')).toBe(`:${big.length}\r\n`);
    });
    const c0 = await cl.client(0);
    expect(await call(c0, 'MGET', 'bigc:3', 'bigc:1')).toBe(`*2\r\n${bulk('small')}${bulk(big)}`);
    expect(await call(c0, 'DEL', 'bigc:1', 'bigc:2', 'bigc:3')).toBe(':3\r\n');
    await eventually(async () => {
      for (const d of direct) expect(await call(d, 'EXISTS', 'bigc:1', 'bigc:2', 'bigc:3')).toBe(':0\r\n');
    });
  });

  it('answers DC_EACH_SAFE_QUORUM reads and writes normally when all is well', async () => {
    for (const m of cl.members) {
      const c = await cl.client(m.index);
      await setLevel(c, 'DC_EACH_SAFE_QUORUM');
      const w = await timed(c, 'SET', `each:${m.index}`, 'v');
      expect(w.reply).toBe('+OK\r\n');
      expect(w.ms).toBeLessThan(cl.timeoutMs);
      expect(await call(c, 'GET', `each:${m.index}`)).toBe(bulk('v'));
      expect(await call(c, 'GET', 'each:none')).toBe('$-1\r\n');
      expect(await call(c, 'INCR', `each:n:${m.index}`)).toBe(':1\r\n');
      // An each-quorum write is acknowledged after every DC has it: direct reads agree at once.
      for (const o of cl.members) {
        const d = await cl.redisClient(o.index);
        expect(await call(d, 'GET', `each:${m.index}`), `redis ${o.index}`).toBe(bulk('v'));
      }
    }
    // A remote replica diverges: the local DC agrees, the remote DC does not -> quorum error.
    const d3 = await cl.redisClient(3);
    expect(await call(d3, 'SET', 'each:0', 'remote-diverged')).toBe('+OK\r\n');
    const c0 = await cl.client(0);
    await setLevel(c0, 'DC_EACH_SAFE_QUORUM');
    expect(await call(c0, 'GET', 'each:0')).toBe(QUORUM_ERR);
    await setLevel(c0, 'DC_SAFE_QUORUM');
    expect(await call(c0, 'GET', 'each:0')).toBe(bulk('v'));
  });

  it('forwards to the next rack of a remote DC whose preselected node is dead, and catches a restarted node up', async () => {
    await cl.kill(2); // dc2/r1: the forward target of dc1/r1 (same rack position)
    await cl.waitConnected(10_000, (m) => (m.index === 2 ? 0 : 2));
    const keys = [0, 1, 3].map((m) => `dead:${m}`);
    for (const m of [0, 1, 3]) {
      const c = await cl.client(m);
      const w = await timed(c, 'SET', `dead:${m}`, 'v');
      expect(w.reply).toBe('+OK\r\n');
      expect(w.ms).toBeLessThan(cl.timeoutMs);
    }
    const direct = await Promise.all([0, 1, 2, 3].map((i) => cl.redisClient(i)));
    await eventually(async () => {
      for (const i of [0, 1, 3]) expect(await keysOn(direct[i]!, 'dead:*'), `redis ${i}`).toEqual(keys);
    });
    expect(await keysOn(direct[2]!, 'dead:*')).toEqual([]);
    // Back: every peer reconnects to it and new writes reach it again.
    await cl.restart(2);
    await cl.waitConnected(15_000);
    const c0 = await cl.client(0);
    expect(await call(c0, 'SET', 'dead:again', 'v2')).toBe('+OK\r\n');
    await eventually(async () => {
      for (const d of direct) expect(await call(d, 'GET', 'dead:again')).toBe(bulk('v2'));
    });
    const c2 = await cl.client(2);
    expect(await call(c2, 'GET', 'dead:again')).toBe(bulk('v2'));
  });

  it('lists both DCs with their racks in /cluster_describe', async () => {
    for (const m of cl.members) {
      const d = JSON.parse(await cl.http(m, '/cluster_describe')) as { dcs: { name: string; racks: { name: string; servers: { port: number }[] }[] }[] };
      expect(d.dcs.map((x) => x.name).sort()).toEqual(['dc1', 'dc2']);
      expect(d.dcs[0]!.name).toBe(m.spec.dc); // the local DC first
      for (const dc of d.dcs) expect(dc.racks.map((r) => r.name).sort()).toEqual(['r1', 'r2']);
      expect(d.dcs.flatMap((x) => x.racks.flatMap((r) => r.servers.map((s) => s.port))).sort()).toEqual(cl.members.map((x) => x.dynPort).sort());
    }
  });
});

describe('(d) memcached: 1 DC x 1 rack x 2 nodes, separate processes', () => {
  const spec: ClusterSpec = { nodes: [0, 2147483648].map((t) => ({ dc: 'dc1', rack: 'r1', tokens: [t] })), datastore: 'memcached' };
  const cl = new TestCluster(spec);
  beforeAll(() => cl.start(), 60_000);
  afterAll(() => cl.stop());

  it('sends noreply writes to the owning peer without waiting for (or poisoning the link with) a reply', async () => {
    const remote: string[] = [];
    for (let i = 0; remote.length < 5; i++) if (ownersOf(spec, `nr${i}`)[0] === 1) remote.push(`nr${i}`);
    const c = await cl.client(0);
    const t0 = performance.now();
    c.write(remote.map((k) => `set ${k} 0 0 2 noreply\r\nok\r\n`).join('') + `get ${remote.join(' ')}\r\n`);
    const got = (await c.readUntil((b) => b.includes('END\r\n') || b.includes('ERROR'))).toString('latin1');
    expect(performance.now() - t0).toBeLessThan(cl.timeoutMs / 2);
    expect(got).toBe(remote.map((k) => `VALUE ${k} 0 2\r\nok\r\n`).join('') + 'END\r\n');
    // Stored on the owner only.
    const d1 = await cl.redisClient(1);
    d1.write(`get ${remote[0]}\r\n`);
    expect((await d1.readUntil((b) => b.includes('END\r\n'))).toString('latin1')).toBe(`VALUE ${remote[0]} 0 2\r\nok\r\nEND\r\n`);
    const d0 = await cl.redisClient(0);
    d0.write(`get ${remote[0]}\r\n`);
    expect((await d0.readUntil((b) => b.includes('END\r\n'))).toString('latin1')).toBe('END\r\n');
  });

  it('splits a multi-key get across owners and merges the items in key order', async () => {
    const on: [string[], string[]] = [[], []];
    for (let i = 0; on[0].length < 3 || on[1].length < 3; i++) on[ownersOf(spec, `mg${i}`)[0]!]!.push(`mg${i}`);
    // Interleave owners, with a missing key in the middle.
    const keys = [on[1][0]!, on[0][0]!, 'mg-missing', on[1][1]!, on[0][1]!, on[0][2]!, on[1][2]!];
    const c = await cl.client(0);
    c.write(keys.filter((k) => k !== 'mg-missing').map((k) => `set ${k} 7 0 ${k.length}\r\n${k}\r\n`).join(''));
    await c.readUntil((b) => b.toString('latin1').split('STORED\r\n').length - 1 === keys.length - 1);
    c.write(`gets ${keys.join(' ')}\r\n`);
    const got = (await c.readUntil((b) => b.includes('END\r\n'))).toString('latin1');
    const items = [...got.matchAll(/VALUE (\S+) 7 (\d+) \d+\r\n(\S+)\r\n/g)].map((m) => [m[1], m[3]]);
    expect(items).toEqual(keys.filter((k) => k !== 'mg-missing').map((k) => [k, k]));
    expect(got.endsWith('END\r\n')).toBe(true);
  });
});

describe('(e) 2 DCs, token layouts that differ: dc1 1 rack x 1 node, dc2 1 rack x 2 nodes', () => {
  const spec: ClusterSpec = {
    nodes: [{ dc: 'dc1', rack: 'r1', tokens: [T1] }, { dc: 'dc2', rack: 'r1', tokens: [0] }, { dc: 'dc2', rack: 'r1', tokens: [2147483648] }],
  };
  const cl = new TestCluster(spec);
  beforeAll(() => cl.start(), 60_000);
  afterAll(() => cl.stop());

  it('places every key of a multi-key write on its owner in the remote DC', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `lay:${i}`);
    const c0 = await cl.client(0);
    expect(await call(c0, 'MSET', ...keys.flatMap((k) => [k, `v-${k}`]))).toBe('+OK\r\n');
    const expected: string[][] = cl.members.map(() => []);
    for (const k of keys) for (const o of ownersOf(spec, k)) expected[o]!.push(k);
    expect(expected[1]!.length).toBeGreaterThan(5);
    expect(expected[2]!.length).toBeGreaterThan(5);
    const direct = await Promise.all(cl.members.map((m) => cl.redisClient(m.index)));
    await eventually(async () => {
      for (const m of cl.members) expect(await keysOn(direct[m.index]!, 'lay:*'), `redis ${m.index}`).toEqual(expected[m.index]!.sort());
    });
    // Reads through the remote DC find every key; a multi-key DEL from dc1 reaches every owner there.
    const c1 = await cl.client(1);
    expect(await call(c1, 'MGET', ...keys)).toBe(`*${keys.length}\r\n${keys.map((k) => bulk(`v-${k}`)).join('')}`);
    expect(await call(c0, 'DEL', ...keys)).toBe(`:${keys.length}\r\n`);
    await eventually(async () => {
      for (const d of direct) expect(await keysOn(d, 'lay:*')).toEqual([]);
    });
  });
});
