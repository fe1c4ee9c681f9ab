// The merge column of the command table: every command split per owner (CF_FRAGMENT) has a merge
// policy, and each policy answers a client as the datastore itself would, over a two-node rack
// (each node owns half of the ring, so the keys of one request land on both).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { loadCommandTable, MERGE_NAMES } from '../src/wasm/commands.js';
import { createCore } from '../src/wasm/core.js';
import { MC_COMMAND_NAMES, MC_CMD_COUNT } from '../src/wasm/memcache.js';
import { FragmentedRequest, type MergePolicy } from '../src/dispatch/fragment.js';
import type { ReplyTarget } from '../src/dispatch/request.js';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

const core = createCore({ records: 16, keys: 64, connections: 8, stagingBytes: 4096, mbufSize: 512, mbufCount: 4 });

describe('the merge column', () => {
  const table = loadCommandTable(core);

  it('gives every CF_FRAGMENT Redis command a policy, and no other command one', () => {
    const withPolicy = Object.fromEntries(table.all().filter((c) => c.merge !== ABI.MG_NONE).map((c) => [c.name, MERGE_NAMES[c.merge]]));
    const fragments = table.all().filter((c) => (c.flags & ABI.CF_FRAGMENT) !== 0).map((c) => c.name).sort();
    expect(withPolicy).toEqual({ MGET: 'array', MSET: 'all ok', DEL: 'sum', EXISTS: 'sum', TOUCH: 'sum', UNLINK: 'sum' });
    expect(Object.keys(withPolicy).sort()).toEqual(fragments);
  });

  it('gives memcached get, gets, gat and gats the VALUE merge', () => {
    const merges: Record<string, string> = {};
    const fragments: string[] = [];
    for (let id = 1; id < MC_CMD_COUNT; id++) {
      const name = MC_COMMAND_NAMES[id]!;
      if ((core.exports.mcCmdFlags(id) & ABI.CF_FRAGMENT) !== 0) fragments.push(name);
      const m = core.exports.mcCmdMerge(id);
      if (m !== ABI.MG_NONE) merges[name] = MERGE_NAMES[m]!;
    }
    expect(merges).toEqual({ get: 'mc values', gets: 'mc values', gat: 'mc values', gats: 'mc values' });
    expect(fragments).toEqual(['get', 'gets', 'gat', 'gats']);
  });
});

/** A reply target that keeps what it is answered with. */
function collector(): ReplyTarget & { got: string[] } {
  const got: string[] = [];
  return {
    got,
    complete: (_s, src, off, len) => void got.push(Buffer.from(src.subarray(off, off + len)).toString('latin1')),
    completeBuffer: (_s, b) => void got.push(b.toString('latin1')),
    fail: (_s, code) => void got.push(`fail ${code}`),
  } as ReplyTarget & { got: string[] };
}

function merge(policy: MergePolicy, keysOf: number[][], replies: string[], keyNames?: string[]): string[] {
  const t = collector();
  const f = new FragmentedRequest(t, 7, policy, keysOf, keysOf.reduce((s, k) => s + k.length, 0));
  f.keyNames = keyNames;
  replies.forEach((r, i) => f.completeBuffer(i, Buffer.from(r, 'latin1')));
  return t.got;
}

describe('each policy, on the replies of its fragments', () => {
  it('array: every element at its key position', () => {
    expect(merge(ABI.MG_ARRAY, [[0, 2], [1]], ['*2\r\n$1\r\na\r\n$-1\r\n', '*1\r\n$1\r\nb\r\n'])).toEqual(['*3\r\n$1\r\na\r\n$1\r\nb\r\n$-1\r\n']);
  });

  it('sum, all ok, mc values; the first error reply wins over each', () => {
    expect(merge(ABI.MG_SUM, [[0], [1, 2]], [':1\r\n', ':2\r\n'])).toEqual([':3\r\n']);
    expect(merge(ABI.MG_ALL_OK, [[0], [1]], ['+OK\r\n', '+OK\r\n'])).toEqual(['+OK\r\n']);
    expect(merge(ABI.MG_MC_VALUES, [[1], [0]], ['VALUE b 0 1\r\n2\r\nEND\r\n', 'VALUE a 0 1\r\n1\r\nEND\r\n'], ['a', 'b'])).toEqual(['VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n']);
    expect(merge(ABI.MG_SUM, [[0], [1]], [':1\r\n', '-ERR x\r\n'])).toEqual(['-ERR x\r\n']);
    expect(merge(ABI.MG_ALL_OK, [[0], [1]], ['-ERR first\r\n', '-ERR second\r\n'])).toEqual(['-ERR first\r\n']);
    expect(merge(ABI.MG_MC_VALUES, [[0], [1]], ['END\r\n', 'SERVER_ERROR out of memory\r\n'], ['a', 'b'])).toEqual(['SERVER_ERROR out of memory\r\n']);
  });
});

/** Two nodes of one rack, tokens 0 and 2^31, on embedded datastores speaking `protocol`. */
async function startRack(protocol: 'redis' | 'memcache'): Promise<RunningNode[]> {
  const dyn = [await freePort(), await freePort()];
  const tokens = [0, 2147483648];
  const nodes: RunningNode[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const j = 1 - i;
      nodes.push(await startTestNode({
        dataStore: 'memory', clientProtocol: protocol, rack: 'r1', datacenter: 'dc1', tokens: [tokens[i]!], timeoutMs: 2000,
        cluster: {
          dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds: [{ host: '127.0.0.1', port: dyn[j]!, rack: 'r1', dc: 'dc1', tokens: [tokens[j]!] }],
          localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000,
        },
      }));
    }
    await until('both nodes to connect to each other', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000);
  } catch (err) {
    for (const n of nodes) await n.close('start failed', 0);
    throw err;
  }
  return nodes;
}

const KEYS = Array.from({ length: 10 }, (_, i) => `k${i}`);

/** Which node's own datastore holds each key (GET / get straight on the store). */
function owners(nodes: RunningNode[], redis: boolean): number[][] {
  const held = (n: RunningNode, k: string): boolean => {
    const s = (n.backend as MemoryBackend).store;
    return redis ? s.execute([Buffer.from('EXISTS'), Buffer.from(k)]).toString() === ':1\r\n'
      : s.executeMemcache('get', [Buffer.from(k)]).toString() !== 'END\r\n';
  };
  return nodes.map((n) => KEYS.filter((k) => held(n, k)).map((k) => Number(k.slice(1))));
}

describe('over a two-node rack (redis)', () => {
  let nodes: RunningNode[] = [];
  const clients: RawClient[] = [];
  beforeAll(async () => {
    nodes = await startRack('redis');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.close('test done', 100);
  });

  it('splits MSET per owner (all ok) and merges MGET, EXISTS, TOUCH, DEL and UNLINK as one datastore would', async () => {
    const c = await RawClient.connect(nodes[0]!.port);
    clients.push(c);
    c.write(cmd('MSET', ...KEYS.flatMap((k) => [k, `v${k.slice(1)}`])));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    // Every key on exactly one node, and both nodes hold some: the request was split.
    const [on0, on1] = owners(nodes, true);
    expect([...on0!, ...on1!].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(on0!.length).toBeGreaterThan(0);
    expect(on1!.length).toBeGreaterThan(0);
    const a = `k${on0![0]}`;
    const b = `k${on1![0]}`;
    c.write(Buffer.concat([
      cmd('MGET', b, 'nope', a, b),
      cmd('EXISTS', a, b, 'nope', a),
      cmd('TOUCH', a, b, 'nope'),
      cmd('DEL', a, 'nope', b),
      cmd('UNLINK', ...KEYS, 'nope'),
    ]));
    expect((await c.replies(5)).map(String)).toEqual([
      `*4\r\n$2\r\nv${b.slice(1)}\r\n$-1\r\n$2\r\nv${a.slice(1)}\r\n$2\r\nv${b.slice(1)}\r\n`,
      ':3\r\n',
      ':2\r\n',
      ':2\r\n',
      ':8\r\n',
    ]);
    expect(owners(nodes, true)).toEqual([[], []]);
  });
});

describe('over a two-node rack (memcached)', () => {
  let nodes: RunningNode[] = [];
  const clients: RawClient[] = [];
  beforeAll(async () => {
    nodes = await startRack('memcache');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.close('test done', 100);
  });

  it('merges a get across owners into the VALUE items in key order, then END', async () => {
    const c = await RawClient.connect(nodes[1]!.port);
    clients.push(c);
    c.write(KEYS.map((k) => `set ${k} ${k.slice(1)} 0 2\r\nv${k.slice(1)}\r\n`).join(''));
    const stored = await c.readUntil((buf) => buf.toString('latin1').split('STORED\r\n').length > KEYS.length);
    expect(stored.toString('latin1')).toBe('STORED\r\n'.repeat(KEYS.length));
    const [on0, on1] = owners(nodes, false);
    expect([...on0!, ...on1!].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(on0!.length).toBeGreaterThan(0);
    expect(on1!.length).toBeGreaterThan(0);
    const a = on0![0]!;
    const b = on1![0]!;
    c.write(`get k${b} nope k${a}\r\n`);
    const got = await c.readUntil((buf) => buf.toString('latin1').endsWith('END\r\n'));
    expect(got.toString('latin1')).toBe(`VALUE k${b} ${b} 2\r\nv${b}\r\nVALUE k${a} ${a} 2\r\nv${a}\r\nEND\r\n`);
    // gat / gats: split the same way, the exptime repeated in every part; every key gets its TTL.
    c.write(`gat 1000 k${b} nope k${a}\r\n`);
    const gat = await c.readUntil((buf) => buf.toString('latin1').endsWith('END\r\n'));
    expect(gat.toString('latin1')).toBe(`VALUE k${b} ${b} 2\r\nv${b}\r\nVALUE k${a} ${a} 2\r\nv${a}\r\nEND\r\n`);
    c.write(`gats 0 k${a} k${b}\r\n`);
    const gats = (await c.readUntil((buf) => buf.toString('latin1').endsWith('END\r\n'))).toString('latin1');
    expect(gats).toMatch(new RegExp(`^VALUE k${a} ${a} 2 \\d+\r\nv${a}\r\nVALUE k${b} ${b} 2 \\d+\r\nv${b}\r\nEND\r\n$`));
  });
});
