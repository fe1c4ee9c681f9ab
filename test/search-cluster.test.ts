// FT.* across the ring, in one process: 2 racks x 3 nodes on the embedded datastore. Schema
// broadcast, write-anywhere / search-anywhere, global sort and deep paging, global KNN, FT.AGGREGATE /
// FT.PROFILE / FT.CURSOR over the ring, a killed
// node (the other rack answers), and no silent partial answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import { parseResp, type RespValue } from '../src/search/resp-conn.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';

const nodes: (RunningNode | undefined)[] = [];
const clients: RawClient[] = [];
const TOKENS = [0, 1431655765, 2863311530];
const RACKS = ['rack1', 'rack1', 'rack1', 'rack2', 'rack2', 'rack2'];
const N = 60;

const plain = (v: RespValue): unknown => (Buffer.isBuffer(v) ? v.toString('latin1') : Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' ? { err: v.message } : v);

async function call(i: number, ...args: (string | Buffer)[]): Promise<unknown> {
  const c = await RawClient.connect(nodes[i]!.port);
  clients.push(c);
  c.write(cmd(...args));
  const [r] = await c.replies(1);
  c.close();
  return plain(parseResp(r!, 0)![0]);
}

const vec = (i: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeFloatLE(Math.cos(i), 0);
  b.writeFloatLE(Math.sin(i * 0.7), 4);
  return b;
};

let dyn: number[] = [];

function startAt(i: number): Promise<RunningNode> {
  const seeds = RACKS.map((rack, j) => ({ host: '127.0.0.1', port: dyn[j]!, rack, dc: 'dc1', tokens: [TOKENS[j % 3]!] })).filter((_, j) => j !== i);
  return startTestNode({
    dataStore: 'memory', rack: RACKS[i]!, datacenter: 'dc1', tokens: [TOKENS[i % 3]!], timeoutMs: 2000,
    cluster: { dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000 },
  });
}

beforeAll(async () => {
  dyn = await Promise.all(RACKS.map(() => freePort()));
  for (let i = 0; i < RACKS.length; i++) nodes.push(await startAt(i));
  const deadline = Date.now() + 15000;
  while (!nodes.every((n) => n!.cluster!.peers.every((p) => !p || p.up))) {
    if (Date.now() > deadline) throw new Error('peers did not connect');
    await new Promise((r) => setTimeout(r, 50));
  }
}, 30000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n?.close('test done', 100);
});

describe('FT.* over 2 racks x 3 nodes', () => {
  it('broadcasts FT.CREATE to every node', async () => {
    expect(await call(2, 'FT.CREATE', 'idx', 'ON', 'HASH', 'PREFIX', '1', 'd:', 'SCHEMA', 'body', 'TEXT', 'price', 'NUMERIC', 'SORTABLE',
      'v', 'VECTOR', 'FLAT', '6', 'TYPE', 'FLOAT32', 'DIM', '2', 'DISTANCE_METRIC', 'L2')).toBe('OK');
    for (let i = 0; i < nodes.length; i++) expect(await call(i, 'FT._LIST'), `node ${i}`).toEqual(['idx']);
  });

  it('indexes writes made through any node on the nodes that hold them, once per rack', async () => {
    for (let i = 0; i < N; i++) {
      expect(await call(i % nodes.length, 'HSET', `d:${i}`, 'body', i % 3 === 0 ? 'red fox' : 'blue dog', 'price', String(i), 'v', vec(i))).toBe(3);
    }
    for (const rack of [[0, 1, 2], [3, 4, 5]]) {
      let sum = 0;
      for (const i of rack) {
        const info = (await call(i, 'FT.INFO', 'idx')) as unknown[];
        const n = Number(info[info.indexOf('num_docs') + 1]);
        expect(n, `node ${i} holds part of the data`).toBeLessThan(N);
        sum += n;
      }
      expect(sum).toBe(N);
    }
  });

  it('answers the whole ring from any node: totals, global sort, deep paging without overlap', async () => {
    const full = (await call(4, 'FT.SEARCH', 'idx', '*', 'SORTBY', 'price', 'DESC', 'LIMIT', '0', String(N), 'NOCONTENT')) as unknown[];
    expect(full[0]).toBe(N);
    expect(full.slice(1)).toEqual(Array.from({ length: N }, (_, i) => `d:${N - 1 - i}`));
    const paged: unknown[] = [];
    for (let off = 0; off < N; off += 7) {
      const page = (await call(off % 6, 'FT.SEARCH', 'idx', '*', 'SORTBY', 'price', 'DESC', 'LIMIT', String(off), '7', 'NOCONTENT')) as unknown[];
      expect(page[0]).toBe(N);
      paged.push(...page.slice(1));
    }
    expect(paged).toEqual(full.slice(1));
    const fox = (await call(1, 'FT.SEARCH', 'idx', 'fox', 'LIMIT', '0', '0')) as unknown[];
    expect(fox).toEqual([N / 3]);
  });

  it('KNN is a global top-K by distance', async () => {
    const q = Buffer.alloc(8);
    q.writeFloatLE(0.3, 0);
    q.writeFloatLE(0.2, 4);
    const dist = (i: number): number => {
      const v = vec(i);
      return (v.readFloatLE(0) - 0.3) ** 2 + (v.readFloatLE(4) - 0.2) ** 2;
    };
    const want = Array.from({ length: N }, (_, i) => i).sort((a, b) => dist(a) - dist(b)).slice(0, 5).map((i) => `d:${i}`);
    const r = (await call(5, 'FT.SEARCH', 'idx', '*=>[KNN 5 @v $q AS d]', 'PARAMS', '2', 'q', q, 'RETURN', '1', 'd', 'DIALECT', '2')) as unknown[];
    expect(r[0]).toBe(5);
    expect(r.filter((_, i) => i % 2 === 1)).toEqual(want);
  });

  it('FT.AGGREGATE over the ring: every step runs over every shard\'s rows, from any node', async () => {
    const prices = Array.from({ length: N }, (_, i) => i);
    const fox = prices.filter((i) => i % 3 === 0);
    const dog = prices.filter((i) => i % 3 !== 0);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    for (const at of [0, 4]) {
      const g = (await call(at, 'FT.AGGREGATE', 'idx', '*', 'GROUPBY', '1', '@body',
        'REDUCE', 'COUNT', '0', 'AS', 'n', 'REDUCE', 'SUM', '1', '@price', 'AS', 'total', 'REDUCE', 'AVG', '1', '@price', 'AS', 'avg',
        'REDUCE', 'MAX', '1', '@price', 'AS', 'top', 'SORTBY', '2', '@n', 'DESC')) as unknown[];
      expect(g, `through node ${at}`).toEqual([2,
        ['body', 'blue dog', 'n', String(dog.length), 'total', String(sum(dog)), 'avg', String(sum(dog) / dog.length), 'top', '59'],
        ['body', 'red fox', 'n', String(fox.length), 'total', String(sum(fox)), 'avg', String(sum(fox) / fox.length), 'top', '57']]);
    }
    const f = (await call(2, 'FT.AGGREGATE', 'idx', 'fox', 'LOAD', '1', '@price', 'APPLY', '@price * 2', 'AS', 'dbl',
      'FILTER', '@dbl > 60', 'SORTBY', '2', '@price', 'ASC', 'LIMIT', '0', '3')) as unknown[];
    const pick = (row: unknown, ...names: string[]): string[] => {
      const r = row as string[];
      return names.map((n) => r[r.indexOf(n) + 1]!);
    };
    expect(f[0]).toBe(fox.length);
    expect(f.slice(1).map((r) => pick(r, 'price', 'dbl'))).toEqual([['33', '66'], ['36', '72'], ['39', '78']]);
    // A cursor lives on the node that answered: read the rest there.
    const first = (await call(3, 'FT.AGGREGATE', 'idx', '*', 'LOAD', '1', '@price', 'SORTBY', '2', '@price', 'ASC', 'WITHCURSOR', 'COUNT', '25')) as [unknown[], number];
    expect(first[0].slice(1)).toHaveLength(25);
    expect(first[1]).toBeGreaterThan(0);
    const rest = (await call(3, 'FT.CURSOR', 'READ', 'idx', String(first[1]))) as [unknown[], number];
    const rest2 = (await call(3, 'FT.CURSOR', 'READ', 'idx', String(rest[1]))) as [unknown[], number];
    expect([rest[1], rest2]).toEqual([first[1], expect.anything()]);
    expect(rest2[1]).toBe(0);
    const seen = [...first[0].slice(1), ...rest[0].slice(1), ...rest2[0].slice(1)].map((r) => pick(r, 'price')[0]);
    expect(seen).toEqual(prices.map(String));
    // FT.PROFILE wraps the ring-wide answer.
    const p = (await call(5, 'FT.PROFILE', 'idx', 'AGGREGATE', 'QUERY', 'fox', 'GROUPBY', '0', 'REDUCE', 'COUNT', '0', 'AS', 'n')) as unknown[];
    expect(p[0]).toEqual([1, ['n', String(fox.length)]]);
    expect((p[1] as unknown[][])[0]![0]).toBe('Total profile time');
    const ps = (await call(5, 'FT.PROFILE', 'idx', 'SEARCH', 'QUERY', 'fox', 'LIMIT', '0', '0')) as unknown[];
    expect(ps[0]).toEqual([fox.length]);
    // Errors keep their words.
    expect(await call(1, 'FT.AGGREGATE', 'idx', '*', 'SORTBY', '1', '@nope')).toEqual({ err: 'Property `nope` not loaded nor in schema' });
  });

  it('a node down: its range is read from the other rack; no reachable copy is an error unless PARTIAL', async () => {
    await nodes[1]!.close('killed', 10);
    nodes[1] = undefined;
    const deadline = Date.now() + 5000;
    while (nodes[0]!.cluster!.peers[1]?.up) {
      if (Date.now() > deadline) throw new Error('peer still up');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(((await call(0, 'FT.SEARCH', 'idx', '*', 'LIMIT', '0', '0')) as unknown[])[0]).toBe(N);
    // Now rack2 loses a node too: no rack holds every range.
    await nodes[5]!.close('killed', 10);
    nodes[5] = undefined;
    const d2 = Date.now() + 5000;
    while (nodes[0]!.cluster!.peers.filter((p) => p?.up).length > 3) {
      if (Date.now() > d2) throw new Error('peer still up');
      await new Promise((r) => setTimeout(r, 20));
    }
    const e = (await call(0, 'FT.SEARCH', 'idx', '*', 'LIMIT', '0', '0')) as { err: string };
    expect(e.err).toMatch(/no reachable replica/);
    const part = (await call(0, 'FT.SEARCH', 'idx', '*', 'LIMIT', '0', '0', 'PARTIAL')) as unknown[];
    expect(part[0]).toBeGreaterThan(0);
    expect(part[0]).toBeLessThan(N);
  });

  it('a restarted node gets the index definitions from its peers', async () => {
    nodes[1] = await startAt(1);
    const deadline = Date.now() + 8000;
    for (;;) {
      const l = await call(1, 'FT._LIST');
      if (JSON.stringify(l) === '["idx"]') break;
      if (Date.now() > deadline) throw new Error(`no definitions on the restarted node: ${JSON.stringify(l)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await call(1, 'HSET', 'd:new', 'body', 'green fox', 'price', '1')).toBe(2);
    const info = (await call(1, 'FT.INFO', 'idx')) as unknown[];
    expect(info[info.indexOf('attributes') + 1]).toHaveLength(3);
  });
});
