// SCRIPT LOAD / FLUSH / KILL reach every node of every rack and datacenter (Netflix routes them to
// all nodes), observed on the backing redis of every node; SCRIPT EXISTS stays local.
// Cluster: dc1 { rack1: 2 nodes, rack2: 1 node }, dc2 { rack1: 1 node }.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { cmd, type RawClient } from './helpers/resp-client.js';

let cl: TestCluster;

beforeAll(async () => {
  cl = await startTestCluster({
    nodes: [
      { dc: 'dc1', rack: 'rack1', tokens: [0] },
      { dc: 'dc1', rack: 'rack1', tokens: [2147483648] },
      { dc: 'dc1', rack: 'rack2', tokens: [0] },
      { dc: 'dc2', rack: 'rack1', tokens: [0] },
    ],
  });
}, 60_000);

afterAll(async () => {
  await cl?.stop();
});

async function one(c: RawClient, ...args: string[]): Promise<string> {
  c.write(cmd(...args));
  return String((await c.replies(1))[0]);
}

/** SCRIPT EXISTS sha straight on every node's redis: '1' or '0' per node. */
async function existsEverywhere(sha: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < cl.members.length; i++) {
    const r = await one(await cl.redisClient(i), 'SCRIPT', 'EXISTS', sha);
    out.push(r === '*1\r\n:1\r\n' ? '1' : r === '*1\r\n:0\r\n' ? '0' : r);
  }
  return out;
}

describe('SCRIPT broadcast (2 DCs, 3 racks, 4 nodes)', () => {
  it('SCRIPT LOAD through one node loads the script into every redis; EVALSHA works through any other node', async () => {
    const c = await cl.client(0);
    const body = "return 'loaded-' .. KEYS[1]";
    const reply = await one(c, 'SCRIPT', 'LOAD', body);
    const sha = /^\$40\r\n([0-9a-f]{40})\r\n$/.exec(reply)?.[1];
    expect(sha, reply).toBeDefined();
    // The client is answered once every node ran it: no waiting needed here.
    expect(await existsEverywhere(sha!)).toEqual(['1', '1', '1', '1']);
    for (const i of [1, 2, 3]) {
      const r = await one(await cl.client(i), 'EVALSHA', sha!, '1', `k${i}`);
      expect(r).toBe(`$9\r\nloaded-k${i}\r\n`);
    }
    // SCRIPT EXISTS through a node answers from its local redis.
    expect(await one(await cl.client(3), 'SCRIPT', 'EXISTS', sha!)).toBe('*1\r\n:1\r\n');
  });

  it('SCRIPT FLUSH through one node empties the script cache of every redis', async () => {
    const c = await cl.client(2);
    const sha = /([0-9a-f]{40})/.exec(await one(c, 'SCRIPT', 'LOAD', 'return 7'))![1]!;
    expect(await existsEverywhere(sha)).toEqual(['1', '1', '1', '1']);
    expect(await one(c, 'SCRIPT', 'FLUSH')).toBe('+OK\r\n');
    expect(await existsEverywhere(sha)).toEqual(['0', '0', '0', '0']);
    expect(await one(await cl.client(1), 'EVALSHA', sha, '1', 'k')).toMatch(/^-NOSCRIPT/);
  });

  it('SCRIPT KILL through one node stops a script running on another datacenter\'s redis', async () => {
    const far = await cl.redisClient(3);
    // Redis accepts SCRIPT KILL once a script has run past busy-reply-threshold (default 5 s).
    expect(await one(far, 'CONFIG', 'SET', 'lua-time-limit', '50')).toBe('+OK\r\n');
    far.write(cmd('EVAL', 'while true do end', '0'));
    const killed = far.replies(1);
    // Wait until the far redis reports BUSY (the script is running past the threshold).
    const probe = await cl.redisClient(3);
    for (let i = 0; i < 100 && !(await one(probe, 'PING')).startsWith('-BUSY'); i++) await new Promise((r) => setTimeout(r, 20));
    const reply = await one(await cl.client(0), 'SCRIPT', 'KILL');
    // The client gets the local redis's answer (nothing runs there).
    expect(reply).toMatch(/^-NOTBUSY/);
    expect(String((await killed)[0])).toMatch(/^-ERR .*[Ss]cript killed/);
    expect(await one(probe, 'PING')).toBe('+PONG\r\n');
  });
});
