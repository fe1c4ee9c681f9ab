// Several tokens per node (vnodes), which Netflix Dynomite crashes on: 1 DC x 2 racks x 2 nodes,
// each node owning three ring points. Every key written through any node must land on exactly its
// owner in each rack (Netflix's rule over all points: first point >= token, wrapping) and nowhere else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { createCore } from '../src/wasm/core.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

interface Spec { rack: string; tokens: number[]; dyn: number }
const specs: Spec[] = [];
const nodes: RunningNode[] = [];
const clients: RawClient[] = [];
const core = createCore({ stagingBytes: 1 << 16, connections: 4, mbufCount: 4 });

/** murmur token of a key (the node's default hash), computed by the core. */
function token(key: string): number {
  const b = Buffer.from(key);
  core.u8.set(b, core.stagingPtr);
  return core.exports.hashToken(10, core.stagingPtr, b.length) >>> 0;
}

/** Index in `specs` of the key's owner in `rack`: the node with the first point >= token, else the lowest point. */
function owner(rack: string, t: number): number {
  const points = specs.flatMap((s, i) => (s.rack === rack ? s.tokens.map((p) => ({ p, i })) : [])).sort((a, b) => a.p - b.p);
  return (points.find((x) => x.p >= t) ?? points[0]!).i;
}

beforeAll(async () => {
  const layout: [string, number[]][] = [
    ['rack1', [100_000_000, 1_500_000_000, 3_000_000_000]],
    ['rack1', [700_000_000, 2_200_000_000, 4_000_000_000]],
    ['rack2', [400_000_000, 1_900_000_000, 3_500_000_000]],
    ['rack2', [1_000_000_000, 2_600_000_000, 4_200_000_000]],
  ];
  for (const [rack, tokens] of layout) specs.push({ rack, tokens, dyn: await freePort() });
  for (let i = 0; i < specs.length; i++) {
    const me = specs[i]!;
    const seeds = specs.filter((_, j) => j !== i).map((s) => ({ host: '127.0.0.1', port: s.dyn, rack: s.rack, dc: 'dc1', tokens: s.tokens }));
    nodes.push(await startTestNode({
      dataStore: 'memory', rack: me.rack, datacenter: 'dc1', tokens: me.tokens, timeoutMs: 2000,
      cluster: { dynListen: { host: '127.0.0.1', port: me.dyn }, seeds, localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000 },
    }));
  }
  await until('every node to connect to its peers', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000, 50);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.close('test done', 100);
});

describe('vnodes: 1 DC x 2 racks x 2 nodes x 3 tokens', () => {
  it('places every key on exactly its owner in each rack', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `vkey:${i}`);
    for (let i = 0; i < keys.length; i++) {
      const c = await RawClient.connect(nodes[i % nodes.length]!.port);
      clients.push(c);
      c.write(cmd('SET', keys[i]!, `v${i}`));
      expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
      c.close();
    }
    const owners = new Set<number>();
    const want: string[] = [];
    for (const k of keys) {
      const t = token(k);
      const expected = new Set([owner('rack1', t), owner('rack2', t)]);
      for (const o of expected) owners.add(o);
      for (let n = 0; n < nodes.length; n++) want.push(`${k} (token ${t}) on node ${n}: ${expected.has(n) ? 1 : 0}`);
    }
    // The other rack's replica is written asynchronously: wait for the placement to settle.
    await until('every key on exactly its owners', () => {
      const got: string[] = [];
      for (const k of keys) {
        for (let n = 0; n < nodes.length; n++) {
          const has = (nodes[n]!.backend as MemoryBackend).store.execute([Buffer.from('EXISTS'), Buffer.from(k)]).toString();
          got.push(`${k} (token ${token(k)}) on node ${n}: ${has === ':1\r\n' ? 1 : 0}`);
        }
      }
      expect(got).toEqual(want);
    }, 3000);
    expect(owners.size).toBe(4); // every node owns some keys
  });

  it('reads and multi-key commands through any node see every key', async () => {
    const c = await RawClient.connect(nodes[3]!.port);
    clients.push(c);
    c.write(cmd('MGET', 'vkey:0', 'vkey:1', 'vkey:2', 'nokey', 'vkey:199'));
    expect(String((await c.replies(1))[0])).toBe('*5\r\n$2\r\nv0\r\n$2\r\nv1\r\n$2\r\nv2\r\n$-1\r\n$4\r\nv199\r\n');
    c.write(cmd('EXISTS', ...Array.from({ length: 200 }, (_, i) => `vkey:${i}`)));
    expect(String((await c.replies(1))[0])).toBe(':200\r\n');
  });
});
