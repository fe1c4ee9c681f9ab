// Topology building and key placement. Placement is checked against a plain re-statement of
// Netflix's C (vnode_update + qsort + vnode_dispatch + cmp_dyn_token) written here, over keys
// hashed by the WASM core, and against the core's own ringLookup.
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/conf/load.js';
import { parseSeed } from '../src/conf/values.js';
import { HASH_NAMES } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { Ring, lowerBound } from '../src/route/ring.js';
import {
  buildTopology, findRack, netflixRackOrder, netflixStringCompare, ownersForKey, topologyFromConfig,
  type LocalNodeSpec, type PeerSpec, type Topology,
} from '../src/route/topology.js';
import { readFileSync } from 'node:fs';
import { Prng } from './helpers/prng.js';

const CONF = new URL('./fixtures/reference/conf/', import.meta.url);
const conf = (name: string) => loadConfig(new URL(`${name}.yml`, CONF).pathname);

function local(dc: string, rack: string, tokens: number[], host = '127.0.0.1', port = 8101): LocalNodeSpec {
  return { host, port, dc, rack, tokens };
}
const seeds = (lines: string[]): PeerSpec[] => lines.map(parseSeed);

// ---------------------------------------------------------------------------------------------
// Netflix, restated: continuum entries appended per peer (self first), stable-sorted with
// cmp_dyn_token (glibc qsort = merge sort), then vnode_dispatch.

interface Entry { token: number; peer: number }

function cmpDynToken(a: number, b: number): number {
  const sa = a > 0 ? 1 : 0;
  const sb = b > 0 ? 1 : 0;
  if (sa !== sb) return sa > sb ? 1 : -1;
  if (sa === 0) return 0;
  return a === b ? 0 : a > b ? 1 : -1;
}

function netflixContinuum(peers: Array<{ tokens: readonly number[] }>): Entry[] {
  const c: Entry[] = [];
  peers.forEach((p, peer) => {
    // derive_tokens parses the list right to left: tokens[0] is the last one written.
    for (const token of p.tokens.slice().reverse()) c.push({ token, peer });
  });
  // insertion sort: stable, like glibc's merge sort
  for (let i = 1; i < c.length; i++) {
    const x = c[i]!;
    let j = i - 1;
    while (j >= 0 && cmpDynToken(c[j]!.token, x.token) > 0) { c[j + 1] = c[j]!; j--; }
    c[j + 1] = x;
  }
  return c;
}

function vnodeDispatch(c: Entry[], token: number): number {
  let left = 0;
  let right = c.length - 1;
  if (cmpDynToken(c[right]!.token, token) < 0 || cmpDynToken(c[left]!.token, token) >= 0) {
    return c[left]!.peer;
  }
  while (left < right) {
    const middle = left + Math.floor((right - left) / 2);
    const cmp = cmpDynToken(c[middle]!.token, token);
    if (cmp === 0) return c[middle]!.peer;
    if (cmp < 0) left = middle + 1;
    else right = middle;
  }
  return c[right]!.peer;
}

/** The Netflix owner of token in each rack of t (a rack's peers in t.nodes order, self first). */
function netflixOwners(t: Topology, token: number): number[] {
  return t.racks.map((r) => {
    const members = t.nodes.filter((n) => n.rack === r.index);
    return members[vnodeDispatch(netflixContinuum(members), token)]!.index;
  });
}

// ---------------------------------------------------------------------------------------------

describe('topology from the reference configs', () => {
  it('3 racks x 1 node (redis_rack*_node.yml), seen from each rack', () => {
    for (const [file, rackName, pos] of [['redis_rack1_node', 'rack1', 0], ['redis_rack2_node', 'rack2', 1],
      ['redis_rack3_node', 'rack3', 2]] as const) {
      const t = topologyFromConfig(conf(file));
      expect(t.dcs.map((d) => d.name)).toEqual(['dc']);
      expect(t.dcs[0]!.racks.map((r) => r.name)).toEqual(['rack1', 'rack2', 'rack3']);
      expect(t.racks[t.localRack]!.name).toBe(rackName);
      expect(t.racks[t.localRack]!.position).toBe(pos);
      expect(t.nodes[0]!.isLocal).toBe(true);
      expect(t.racks[t.localRack]!.nodes).toEqual([0]);
      for (const r of t.racks) expect(Array.from(r.ring.points)).toEqual([1383429731]);
      expect(t.warnings).toEqual([]);
    }
    const t2 = topologyFromConfig(conf('redis_rack2_node'));
    expect(t2.nodes.map((n) => `${n.host}:${n.port}:${t2.racks[n.rack]!.name}`))
      .toEqual(['127.0.0.2:8101:rack2', '127.0.0.1:8101:rack1', '127.0.0.3:8101:rack3']);
  });

  it('2 DCs (redis_dc1/2.yml, node1/2.yml): the local DC first, never sorted', () => {
    const a = topologyFromConfig(conf('redis_dc1'));
    expect(a.dcs.map((d) => d.name)).toEqual(['dc1', 'dc2']);
    expect(a.nodes.map((n) => [n.dc, n.isLocalDc])).toEqual([[0, true], [1, false]]);
    const b = topologyFromConfig(conf('redis_dc2'));
    expect(b.dcs.map((d) => d.name)).toEqual(['dc2', 'dc1']);
    expect(Array.from(b.racks[b.localRack]!.ring.points)).toEqual([1383429731]);
    const n2 = topologyFromConfig(conf('node2'));
    expect(n2.dcs.map((d) => [d.name, d.racks.map((r) => r.name)])).toEqual([['dc2', ['rack1']], ['dc1', ['rack1']]]);
    expect(n2.nodes[1]!.port).toBe(8101);
    const z = buildTopology(local('zdc', 'r', [1]), seeds(['h:1:r:adc:2', 'h:2:r:mdc:3']));
    expect(z.dcs.map((d) => d.name)).toEqual(['zdc', 'adc', 'mdc']);
  });

  it('1 DC x 2 racks x 3 nodes', () => {
    const t = buildTopology(local('dc', 'rack2', [0], '10.0.0.4'), seeds([
      '10.0.0.1:8101:rack1:dc:0', '10.0.0.2:8101:rack1:dc:1431655765', '10.0.0.3:8101:rack1:dc:2863311530',
      '10.0.0.5:8101:rack2:dc:1431655765', '10.0.0.6:8101:rack2:dc:2863311530',
    ]));
    expect(t.dcs[0]!.racks.map((r) => [r.name, r.nodes])).toEqual([['rack1', [1, 2, 3]], ['rack2', [0, 4, 5]]]);
    expect(t.localRack).toBe(1);
    expect(findRack(t, 'dc', 'rack1')).toBe(0);
    expect(findRack(t, 'dc', 'nope')).toBe(-1);
    expect(ownersForKey(t, 1)).toEqual([2, 4]);
    expect(ownersForKey(t, 0)).toEqual([1, 0]);
  });

  it('2 DCs x 2 racks', () => {
    const t = buildTopology(local('us', 'b', [100]), seeds([
      'h1:1:a:us:100', 'h2:2:a:eu:100', 'h3:3:b:eu:100', 'h4:4:c:eu:100',
    ]));
    expect(t.dcs.map((d) => [d.name, d.racks.map((r) => `${r.name}@${r.position}`)]))
      .toEqual([['us', ['a@0', 'b@1']], ['eu', ['a@0', 'b@1', 'c@2']]]);
    expect(t.racks.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(t.racks[t.localRack]!.name).toBe('b');
  });

  it('drops a seed that is this node, warns about shared tokens, rejects bad input', () => {
    const t = buildTopology(local('dc', 'r1', [5], '0.0.0.0'), seeds(['10.1.1.1:8101:r1:dc:5', '10.1.1.2:8101:r2:dc:5']));
    expect(t.nodes.length).toBe(2);
    expect(t.warnings[0]).toMatch(/is this node/);
    const d = buildTopology(local('dc', 'r1', [5]), seeds(['10.1.1.2:8101:r1:dc:5']));
    expect(d.warnings).toContainEqual(expect.stringMatching(/share a token/));
    expect(() => buildTopology(local('dc', 'r', []), [])).toThrow(RangeError);
    expect(() => buildTopology(local('dc', 'r', [2 ** 32]), [])).toThrow(/unsigned 32-bit/);
    expect(() => buildTopology(local('dc', 'r', [-1]), [])).toThrow(RangeError);
    expect(() => buildTopology(local('', 'r', [1]), [])).toThrow(/datacenter/);
    expect(() => buildTopology({ ...local('d', 'r', [1]), port: 0 }, [])).toThrow(/port/);
    expect(Object.isFrozen(t) && Object.isFrozen(t.nodes) && Object.isFrozen(t.racks[0])).toBe(true);
  });
});

describe('Netflix rack order', () => {
  it('equal-length names sort by bytes', () => {
    expect(netflixRackOrder(['rack3', 'rack1', 'rack2'])).toEqual(['rack1', 'rack2', 'rack3']);
    expect(netflixRackOrder(['us-east-1c', 'us-east-1a', 'us-east-1b'])).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(netflixRackOrder(['B', 'a', 'A'])).toEqual(['A', 'B', 'a']);
  });

  it('different lengths compare as greater both ways (unsigned length subtraction)', () => {
    expect(netflixStringCompare('a', 'bb')).toBe(1);
    expect(netflixStringCompare('bb', 'a')).toBe(1);
    expect(netflixRackOrder(['a', 'bb'])).toEqual(['bb', 'a']);
    expect(netflixRackOrder(['bb', 'a'])).toEqual(['a', 'bb']);
    expect(netflixRackOrder(['rack10', 'rack2', 'rack1'])).toEqual(['rack1', 'rack2', 'rack10']);
    expect(netflixRackOrder(['rack1', 'rack10', 'rack2'])).toEqual(['rack1', 'rack2', 'rack10']);
    expect(netflixRackOrder(['rack10', 'rack1', 'rack2'])).toEqual(['rack1', 'rack2', 'rack10']);
    // the result depends on the insertion order, i.e. on which node is asked
    expect(netflixRackOrder(['rack2', 'rack10', 'rack1'])).toEqual(['rack1', 'rack10', 'rack2']);
  });

  it('rack insertion order is first appearance (self, then seeds)', () => {
    const t = buildTopology(local('dc', 'rack10', [1]), seeds(['h:1:rack2:dc:1', 'h:2:rack1:dc:1']));
    expect(t.dcs[0]!.racks.map((r) => r.name)).toEqual(netflixRackOrder(['rack10', 'rack2', 'rack1']));
  });
});

describe('ring placement', () => {
  const ring = Ring.build([
    { token: 100, node: 0 }, { token: 200, node: 1 }, { token: 300, node: 2 },
    { token: 0x80000000, node: 3 }, { token: 0xFFFFFFF0, node: 4 },
  ]);
  const cases: Array<[string, number, number]> = [
    ['token 0 -> first point', 0, 0],
    ['below the first point', 99, 0],
    ['exact hit on the first point', 100, 0],
    ['just above a point', 101, 1],
    ['exact hit in the middle', 300, 2],
    ['0x7fffffff is below 0x80000000 (unsigned)', 0x7FFFFFFF, 3],
    ['exact hit on 0x80000000', 0x80000000, 3],
    ['exact hit on the last point', 0xFFFFFFF0, 4],
    ['above the last point wraps', 0xFFFFFFF1, 0],
    ['max u32 wraps', 0xFFFFFFFF, 0],
    ['int32 -1 read as u32', -1, 0],
  ];
  for (const [name, token, owner] of cases) {
    it(name, () => expect(ring.ownerOf(token)).toBe(owner));
  }

  it('input order of points does not matter', () => {
    const r = Ring.build([{ token: 300, node: 2 }, { token: 100, node: 0 }, { token: 200, node: 1 }]);
    expect(Array.from(r.points)).toEqual([100, 200, 300]);
    expect([50, 150, 250, 350].map((t) => r.ownerOf(t))).toEqual([0, 1, 2, 0]);
  });

  it('vnodes: several tokens per node', () => {
    const t = buildTopology(local('dc', 'r', [100, 300]), seeds(['h:1:r:dc:200,400']));
    const r = t.racks[0]!.ring;
    expect(Array.from(r.points)).toEqual([100, 200, 300, 400]);
    expect([50, 100, 150, 250, 300, 350, 400, 450].map((x) => r.ownerOf(x))).toEqual([0, 0, 1, 0, 0, 1, 1, 0]);
  });

  it('a single point owns everything', () => {
    const r = Ring.build([{ token: 0, node: 7 }]);
    expect([0, 1, 0xFFFFFFFF].map((x) => r.ownerOf(x))).toEqual([7, 7, 7]);
  });

  it('duplicate tokens: lowest node index below the token, bisection pick on the exact hit', () => {
    // sorted continuum: 10(A=0) 20(B=1) 20(C=2) 20(D=3) 30(E=4); vnode_dispatch(20) probes index 2 first.
    const r = Ring.build([{ token: 10, node: 0 }, { token: 20, node: 1 }, { token: 20, node: 2 },
      { token: 20, node: 3 }, { token: 30, node: 4 }]);
    expect(r.hasDuplicates).toBe(true);
    expect(r.ownerOf(15)).toBe(1);
    expect(r.ownerOf(20)).toBe(2);
    expect(r.ownerOf(25)).toBe(4);
    // a run at the first point: <= first and wrap-around both give the run's first node
    const w = Ring.build([{ token: 10, node: 5 }, { token: 10, node: 6 }, { token: 30, node: 7 }]);
    expect([0, 10, 31].map((x) => w.ownerOf(x))).toEqual([5, 5, 5]);
    // one node naming one token twice is not a conflict
    expect(Ring.build([{ token: 1, node: 0 }, { token: 1, node: 0 }]).hasDuplicates).toBe(false);
  });

  it('matches the Netflix restatement on random rings with duplicates (property)', () => {
    const rng = new Prng(0xC0FFEE);
    for (let round = 0; round < 300; round++) {
      const peers: Array<{ tokens: number[] }> = [];
      const nPeers = 1 + rng.int(5);
      const pool = Array.from({ length: 1 + rng.int(6) }, () => (round % 3 === 0 ? rng.int(50) : rng.next()));
      for (let p = 0; p < nPeers; p++) {
        peers.push({ tokens: Array.from({ length: 1 + rng.int(4) }, () => pool[rng.int(pool.length)]!) });
      }
      const ring = Ring.build(peers.flatMap((p, node) => p.tokens.map((token) => ({ token, node }))));
      const cont = netflixContinuum(peers);
      const probes = [0, 0xFFFFFFFF, ...pool, ...pool.map((x) => (x + 1) >>> 0), ...pool.map((x) => (x - 1) >>> 0)];
      for (let i = 0; i < 20; i++) probes.push(round % 3 === 0 ? rng.int(60) : rng.next());
      for (const tok of probes) expect(ring.ownerOf(tok)).toBe(vnodeDispatch(cont, tok));
    }
  });
});

describe('agreement with the WASM core', () => {
  const core = createCore({ stagingBytes: 1 << 22, records: 64, keys: 256, connections: 16, mbufCount: 4 });
  const ex = core.exports;
  const POINTS = core.stagingPtr;
  const TOKENS = core.stagingPtr + (1 << 20);
  const OUT = core.stagingPtr + (2 << 20);
  const u32 = new Uint32Array(core.u8.buffer);
  const i32 = new Int32Array(core.u8.buffer);

  it('ringLookup / ringLookupBatch give the same point index as the TS search', () => {
    const rng = new Prng(42);
    for (let round = 0; round < 100; round++) {
      const entries = Array.from({ length: 1 + rng.int(40) }, (_, k) => ({ token: rng.next(), node: k % 7 }));
      const ring = Ring.build(entries);
      u32.set(ring.points, POINTS >> 2);
      const tokens = Array.from({ length: 64 }, () => rng.next());
      tokens.push(...Array.from(ring.points), 0, 0xFFFFFFFF);
      u32.set(tokens, TOKENS >> 2);
      ex.ringLookupBatch(POINTS, ring.size, TOKENS, OUT, tokens.length);
      tokens.forEach((tok, k) => {
        const idx = ex.ringLookup(POINTS, ring.size, tok | 0);
        expect(idx).toBe(ring.pointIndexOf(tok));
        expect(i32[(OUT >> 2) + k]).toBe(idx);
        expect(ring.ownerAtPoint(idx, tok)).toBe(ring.ownerOf(tok));
      });
    }
  });

  it('lowerBound is a lower bound', () => {
    const p = Uint32Array.from([1, 5, 5, 9]);
    expect([0, 1, 2, 5, 6, 9, 10].map((t) => lowerBound(p, t))).toEqual([0, 0, 1, 1, 3, 3, 4]);
  });

  type Vec = { algo: string; key_hex: string; token_hex: string };
  const vecs = JSON.parse(readFileSync(new URL('./fixtures/reference/hashkit_vectors.json', import.meta.url), 'utf8')) as Vec[];

  function hashed(algo: string): Array<{ token: number }> {
    const id = HASH_NAMES.indexOf(algo as (typeof HASH_NAMES)[number]);
    return vecs.filter((v) => v.algo === algo).map((v) => {
      const key = Buffer.from(v.key_hex, 'hex');
      core.u8.set(key, POINTS);
      const token = ex.hashToken(id, POINTS, key.length) >>> 0;
      expect(token).toBe(parseInt(v.token_hex, 16));
      return { token };
    });
  }

  const configs: Array<[string, Topology]> = [
    ['3 racks x 1 node, one token', buildTopology(local('dc', 'rack1', [1383429731]),
      seeds(['127.0.0.2:8101:rack2:dc:1383429731', '127.0.0.3:8101:rack3:dc:1383429731']))],
    ['2 racks x 3 nodes, even split', buildTopology(local('dc', 'rack1', [0]), seeds([
      'a:1:rack1:dc:1431655765', 'b:1:rack1:dc:2863311530',
      'c:1:rack2:dc:0', 'd:1:rack2:dc:1431655765', 'e:1:rack2:dc:2863311530']))],
    ['vnodes: 3 nodes x 4 tokens, 2 DCs', buildTopology(local('dc1', 'r', [7, 1073741824, 2147483648, 3221225472]), seeds([
      'a:1:r:dc1:357913941,1431655765,2505397589,3579139413', 'b:1:r:dc1:715827882,1789569706,2863311530,3937053354',
      'c:1:r:dc2:100,4000000000', 'd:1:r:dc2:2000000000']))],
    ['uneven layouts per rack', buildTopology(local('dc', 'x', [123456789]), seeds([
      'a:1:x:dc:987654321', 'b:1:y:dc:4000000000', 'c:1:y:dc:5', 'd:1:y:dc:2222222222']))],
  ];

  for (const algo of ['murmur', 'md5', 'crc32a', 'fnv1a_64', 'one_at_a_time', 'jenkins']) {
    it(`owners of ${algo}-hashed keys equal Netflix's`, () => {
      const keys = hashed(algo);
      for (const [, t] of configs) {
        for (const { token } of keys) expect(ownersForKey(t, token)).toEqual(netflixOwners(t, token));
      }
    });
  }
});
