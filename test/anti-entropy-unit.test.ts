// The pieces of anti-entropy without a cluster: the WASM batch digests, the digest tree over a
// snapshot, and which segments a node starts with whom.
import { describe, expect, it } from 'vitest';
import { createCore } from '../src/wasm/core.js';
import { ABI } from '../src/wasm/abi.js';
import { digestBatch, type Snapshot } from '../src/repair/ae-snapshot.js';
import { childRange, children, decodeLevel, encodeLevel, slice } from '../src/repair/ae-tree.js';
import { ownedRanges, segmentsToStart } from '../src/repair/ae-ranges.js';
import { buildTopology } from '../src/route/topology.js';
import { keyToken } from './helpers/cluster.js';
import { Prng } from './helpers/prng.js';

const core = createCore();

function rec(key: string, value: string, exp = 0): { key: Buffer; value: Buffer; exp: number } {
  return { key: Buffer.from(key), value: Buffer.from(value), exp };
}

function snapshotOf(entries: { key: Buffer; value: Buffer; exp: number }[]): Snapshot {
  const d = digestBatch(core, ABI.HASH_MURMUR, entries);
  const order = entries.map((_, i) => i).sort((a, b) => d.tokens[a]! - d.tokens[b]!);
  return {
    keys: order.map((i) => entries[i]!.key), tokens: Uint32Array.from(order, (i) => d.tokens[i]!),
    dlo: Int32Array.from(order, (i) => d.lo[i]!), dhi: Int32Array.from(order, (i) => d.hi[i]!),
    expireAt: Float64Array.from(order, (i) => entries[i]!.exp), readAt: new Float64Array(entries.length), startedAt: 0, bytes: 0,
  };
}

describe('aeDigestBatch', () => {
  it('gives each key its murmur ring token and a digest that depends on key, value and expire bucket', () => {
    const base = [rec('a', '1'), rec('b', '2'), rec('c', '3', 1_800_000_000_000)];
    const d = digestBatch(core, ABI.HASH_MURMUR, base);
    expect(Array.from(d.tokens)).toEqual(['a', 'b', 'c'].map((k) => keyToken(k)));
    const same = digestBatch(core, ABI.HASH_MURMUR, [base[2]!, base[0]!, base[1]!]);
    expect([same.lo[1], same.hi[1]]).toEqual([d.lo[0], d.hi[0]]);
    const swapped = digestBatch(core, ABI.HASH_MURMUR, [rec('a', '2'), rec('b', '1')]);
    expect([swapped.lo[0], swapped.hi[0]]).not.toEqual([d.lo[0], d.hi[0]]);
    // A few ms apart: the same 60 s bucket, the same digest; no TTL vs a TTL: different.
    const near = digestBatch(core, ABI.HASH_MURMUR, [rec('c', '3', 1_800_000_000_007), rec('c', '3')]);
    expect([near.lo[0], near.hi[0]]).toEqual([d.lo[2], d.hi[2]]);
    expect([near.lo[1], near.hi[1]]).not.toEqual([d.lo[2], d.hi[2]]);
  });

  it('digests every record of a large batch as it digests it alone (no state leaks between records)', () => {
    const rng = new Prng(7);
    const many = Array.from({ length: 3000 }, (_, i) => rec(`key:${i}`, 'x'.repeat(rng.int(200))));
    const d = digestBatch(core, ABI.HASH_MURMUR, many);
    for (const i of [0, 1234, 2999]) {
      const one = digestBatch(core, ABI.HASH_MURMUR, [many[i]!]);
      expect([one.lo[0], one.hi[0], one.tokens[0]]).toEqual([d.lo[i], d.hi[i], d.tokens[i]]);
    }
  });
});

describe('digest tree', () => {
  const entries = Array.from({ length: 500 }, (_, i) => rec(`k${i}`, `v${i}`));
  const s = snapshotOf(entries);

  it('children partition the range: counts add up, XOR of the children is the parent', () => {
    const top = children(s, 0, 0xFFFFFFFF, 16);
    expect(top.count.reduce((a, b) => a + b, 0)).toBe(500);
    const [a, b] = childRange(0, 0xFFFFFFFF, 16, 3);
    const sub = children(s, a, b, 16);
    expect(sub.count.reduce((x, y) => x + y, 0)).toBe(top.count[3]);
    expect([sub.lo.reduce((x, y) => x ^ y, 0), sub.hi.reduce((x, y) => x ^ y, 0)]).toEqual([top.lo[3], top.hi[3]]);
    const [from, to] = slice(s, a, b);
    expect(to - from).toBe(top.count[3]);
    expect(decodeLevel(encodeLevel(top), 16)).toEqual(top);
  });

  it('one changed value changes exactly one child at each level', () => {
    const changed = snapshotOf(entries.map((e, i) => (i === 42 ? rec('k42', 'other') : e)));
    const ours = children(s, 0, 0xFFFFFFFF, 16);
    const theirs = children(changed, 0, 0xFFFFFFFF, 16);
    const differ = [...Array(16).keys()].filter((j) => ours.lo[j] !== theirs.lo[j] || ours.hi[j] !== theirs.hi[j]);
    const t = keyToken('k42');
    expect(differ).toEqual([[...Array(16).keys()].find((j) => { const [a, b] = childRange(0, 0xFFFFFFFF, 16, j); return t >= a && t <= b; })]);
    expect(Array.from(theirs.count)).toEqual(Array.from(ours.count));
  });
});

describe('segments', () => {
  const spec = (rack: string, tokens: number[], port: number) => ({ host: '127.0.0.1', port, dc: 'dc1', rack, tokens });

  it('3 racks of one node: r1 starts r2 and r3 over the whole ring, r2 starts r3, r3 none', () => {
    const peers = [spec('r2', [100], 2), spec('r3', [100], 3)];
    const r1 = buildTopology(spec('r1', [100], 1), peers);
    expect(segmentsToStart(r1)).toEqual([{ lo: 0, hi: 0xFFFFFFFF, peer: 1 }, { lo: 0, hi: 0xFFFFFFFF, peer: 2 }]);
    const r2 = buildTopology(spec('r2', [100], 2), [spec('r1', [100], 1), spec('r3', [100], 3)]);
    expect(segmentsToStart(r2)).toEqual([{ lo: 0, hi: 0xFFFFFFFF, peer: 2 }]);
    const r3 = buildTopology(spec('r3', [100], 3), [spec('r1', [100], 1), spec('r2', [100], 2)]);
    expect(segmentsToStart(r3)).toEqual([]);
  });

  it('racks with different token layouts: the intersections, covering exactly this node\'s ranges', () => {
    // Rack a: this node owns (1000, 3000]; rack b: nodes at 2000 and 4000.
    const t = buildTopology(spec('a', [3000], 1), [spec('a', [1000], 2), spec('b', [2000], 3), spec('b', [4000], 4)]);
    expect(ownedRanges(t, t.nodes[0]!.rack, 0)).toEqual([[1001, 3000]]);
    expect(segmentsToStart(t)).toEqual([{ lo: 1001, hi: 2000, peer: 2 }, { lo: 2001, hi: 3000, peer: 3 }]);
    // The node owning the ring's first point owns both ends of the wrap.
    expect(ownedRanges(t, t.nodes[0]!.rack, 1)).toEqual([[0, 1000], [3001, 0xFFFFFFFF]]);
  });
});

describe('segments across datacenters', () => {
  it('2 DCs of one rack each: the node of the DC that sorts first starts the pair; the other starts none', () => {
    const a = { host: '127.0.0.1', port: 1, dc: 'dc-east', rack: 'r1', tokens: [5] };
    const b = { host: '127.0.0.1', port: 2, dc: 'dc-west', rack: 'r1', tokens: [5] };
    expect(segmentsToStart(buildTopology(a, [b]))).toEqual([{ lo: 0, hi: 0xFFFFFFFF, peer: 1 }]);
    expect(segmentsToStart(buildTopology(b, [a]))).toEqual([]);
  });
});
