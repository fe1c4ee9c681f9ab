// Three nodes in one process, one per rack of one DC, each on its own embedded datastore: writes
// reach every rack, reads follow the consistency level, multi-key commands span owners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

const nodes: RunningNode[] = [];
const clients: RawClient[] = [];

async function client(n: RunningNode): Promise<RawClient> {
  const c = await RawClient.connect(n.port);
  clients.push(c);
  return c;
}

function store(n: RunningNode): MemoryBackend {
  return n.backend as MemoryBackend;
}

/** Reads a key straight from a node's own datastore (no routing). */
function direct(n: RunningNode, ...args: string[]): string {
  return store(n).store.execute(args.map((a) => Buffer.from(a))).toString('latin1');
}

beforeAll(async () => {
  const dyn = [await freePort(), await freePort(), await freePort()];
  const racks = ['rack1', 'rack2', 'rack3'];
  for (let i = 0; i < 3; i++) {
    const seeds = [0, 1, 2].filter((j) => j !== i).map((j) => ({ host: '127.0.0.1', port: dyn[j]!, rack: racks[j]!, dc: 'dc1', tokens: [101134286] }));
    nodes.push(await startTestNode({
      dataStore: 'memory', rack: racks[i]!, datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000,
      cluster: { dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000 },
    }));
  }
  // Nodes started one after another: the first ones reconnect to the later ones with backoff.
  await until('every node to connect to its peers', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000, 50);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.close('test done', 100);
});

describe('1 DC x 3 racks x 1 node (in-process)', () => {
  it('replicates a write to every rack', async () => {
    const c = await client(nodes[0]!);
    c.write(cmd('SET', 'k1', 'v1'));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    await until('the write on every rack', () => expect(nodes.map((n) => direct(n, 'GET', 'k1'))).toEqual(nodes.map(() => '$2\r\nv1\r\n')), 2000);
  });

  it('reads DC_ONE from the local rack and DC_QUORUM from the majority', async () => {
    const c = await client(nodes[1]!);
    c.write(cmd('SET', 'q', 'good'));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    await until('the write on every rack', () => expect(nodes.map((n) => direct(n, 'GET', 'q'))).toEqual(nodes.map(() => '$4\r\ngood\r\n')), 2000);
    direct(nodes[1]!, 'SET', 'q', 'diverged'); // this node's own replica diverges
    c.write(cmd('GET', 'q'));
    expect(String((await c.replies(1))[0])).toBe('$8\r\ndiverged\r\n');
    c.write(Buffer.concat([cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM'), cmd('GET', 'q')]));
    const r = (await c.replies(2)).map(String);
    expect(r).toEqual(['+OK\r\n', '$4\r\ngood\r\n']);
    c.write(Buffer.concat([cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_SAFE_QUORUM'), cmd('GET', 'q')]));
    const s = (await c.replies(2)).map(String);
    expect(s).toEqual(['+OK\r\n', '-ERR Dynomite: Failed to achieve Quorum\r\n']);
  });

  it('merges multi-key commands in key order', async () => {
    const c = await client(nodes[2]!);
    c.write(Buffer.concat([cmd('MSET', 'a', '1', 'b', '2', 'c', '3'), cmd('MGET', 'c', 'nope', 'a', 'b'), cmd('DEL', 'a', 'b', 'nope'), cmd('EXISTS', 'a', 'c')]));
    const r = (await c.replies(4)).map(String);
    expect(r[0]).toBe('+OK\r\n');
    expect(r[1]).toBe('*4\r\n$1\r\n3\r\n$-1\r\n$1\r\n1\r\n$1\r\n2\r\n');
    expect(r[2]).toBe(':2\r\n');
    expect(r[3]).toBe(':1\r\n');
  });
});
