// The routing planner: every consistency level x read/write on 1-DC and 2/3-DC topologies, down
// owners (DC_ONE failover, forward failover), this node as owner, 1-rack DCs, plan reuse, the
// coalescer contract, multi-key grouping and /cluster_describe.
import { describe, it, expect } from 'vitest';
import { parseSeed } from '../src/conf/values.js';
import type { ConsistencyLevel } from '../src/conf/types.js';
import { CoalesceTracker } from '../src/dispatch/coalesce.js';
import { Plan, describe as describeCluster, groupKeysByOwner, plan, quorum, type Health } from '../src/route/planner.js';
import { buildTopology, type Topology } from '../src/route/topology.js';
import { Prng } from './helpers/prng.js';

const LEVELS: readonly ConsistencyLevel[] = ['DC_ONE', 'DC_QUORUM', 'DC_SAFE_QUORUM', 'DC_EACH_SAFE_QUORUM'];
const UP: Health = () => true;
const downSet = (...down: number[]): Health => (n) => !down.includes(n);

function topo(dc: string, rack: string, tokens: number[], seedLines: string[], host = '10.0.0.0'): Topology {
  return buildTopology({ host, port: 8101, dc, rack, tokens }, seedLines.map(parseSeed));
}

/** A plan as short strings: kind:node, "!" = skipped, "~" = not awaited. */
function show(p: Plan): string[] {
  return p.targets.map((t) => `${t.skipped ? '!' : ''}${t.awaited ? '' : '~'}${t.kind}:${t.node}`);
}

function run(t: Topology, token: number, isWrite: boolean, consistency: ConsistencyLevel, health: Health = UP,
  forward = false): Plan {
  return plan(t, { token, isWrite, consistency }, health, new Plan(), forward ? { eachQuorumRemote: 'forward' } : {});
}

// 1 DC x 3 racks x 1 node (the reference redis_rack*_node.yml cluster), seen from rack1 and rack2.
const R3 = topo('dc', 'rack1', [1383429731], ['127.0.0.2:8101:rack2:dc:1383429731', '127.0.0.3:8101:rack3:dc:1383429731']);
const R3b = topo('dc', 'rack2', [1383429731], ['127.0.0.1:8101:rack1:dc:1383429731', '127.0.0.3:8101:rack3:dc:1383429731']);

// 1 DC x 2 racks x 3 nodes; this node owns (0, 1/3] of rack1. Thirds: A = 1431655765, B = 2863311530.
const A = 1431655765;
const B = 2863311530;
const R23 = topo('dc', 'rack1', [A], ['n1:8101:rack1:dc:' + B, 'n2:8101:rack1:dc:0',
  'm0:8101:rack2:dc:0', 'm1:8101:rack2:dc:' + A, 'm2:8101:rack2:dc:' + B]);

// 2 DCs x 2 racks x 2 nodes (halves H = 2^31): this node is us/b, owning (0, H] there.
const H = 2147483648;
const D2 = topo('us', 'b', [H], [
  'ua0:1:a:us:0', 'ua1:1:a:us:' + H, 'ub1:1:b:us:0',
  'ea0:1:a:eu:0', 'ea1:1:a:eu:' + H, 'eb0:1:b:eu:0', 'eb1:1:b:eu:' + H]);
// nodes: 0 us/b H, 1 us/a 0, 2 us/a H, 3 us/b 0, 4 eu/a 0, 5 eu/a H, 6 eu/b 0, 7 eu/b H

describe('1 DC x 3 racks x 1 node', () => {
  const table: Array<[boolean, ConsistencyLevel, string[], number]> = [
    [false, 'DC_ONE', ['local:0'], 1],
    [false, 'DC_QUORUM', ['local:0', 'rack:1', 'rack:2'], 2],
    [false, 'DC_SAFE_QUORUM', ['local:0', 'rack:1', 'rack:2'], 2],
    [false, 'DC_EACH_SAFE_QUORUM', ['local:0', 'rack:1', 'rack:2'], 2],
    [true, 'DC_ONE', ['local:0', 'rack:1', 'rack:2'], 1],
    [true, 'DC_QUORUM', ['local:0', 'rack:1', 'rack:2'], 2],
    [true, 'DC_SAFE_QUORUM', ['local:0', 'rack:1', 'rack:2'], 2],
    [true, 'DC_EACH_SAFE_QUORUM', ['local:0', 'rack:1', 'rack:2'], 2],
  ];
  for (const [isWrite, level, targets, acks] of table) {
    it(`${isWrite ? 'write' : 'read'} ${level}`, () => {
      for (const token of [0, 5, 1383429731, 0xFFFFFFFF]) {
        const p = run(R3, token, isWrite, level);
        expect(show(p)).toEqual(targets);
        expect(Array.from(p.acksByDc)).toEqual([acks]);
        expect(p.acks).toBe(acks);
        expect(p.awaited.length).toBe(targets.length);
        expect(p.targets.map((t) => [t.isLocalDc, t.dc])).toEqual(p.targets.map(() => [true, 0]));
      }
    });
  }

  it('the local rack comes first, then the racks after it (seen from rack2)', () => {
    expect(show(run(R3b, 1, true, 'DC_QUORUM'))).toEqual(['local:0', 'rack:2', 'rack:1']);
    expect(run(R3b, 1, true, 'DC_QUORUM').targets.map((t) => R3b.racks[t.rack]!.name)).toEqual(['rack2', 'rack3', 'rack1']);
  });

  it('DC_ONE read fails over to the next rack, in rack order after the local one', () => {
    expect(show(run(R3, 1, false, 'DC_ONE', downSet(0)))).toEqual(['!local:0', 'rack:1']);
    expect(show(run(R3, 1, false, 'DC_ONE', downSet(0, 1)))).toEqual(['!local:0', '!rack:1', 'rack:2']);
    expect(show(run(R3b, 1, false, 'DC_ONE', downSet(0)))).toEqual(['!local:0', 'rack:2']);
    expect(show(run(R3b, 1, false, 'DC_ONE', downSet(0, 2)))).toEqual(['!local:0', '!rack:2', 'rack:1']);
    const all = run(R3, 1, false, 'DC_ONE', downSet(0, 1, 2));
    expect(show(all)).toEqual(['!local:0', '!rack:1', '!rack:2']);
    expect([all.live, all.skippedCount]).toEqual([0, 3]);
  });

  it('down targets are skipped, never sent to, and still counted in the quorum size', () => {
    const p = run(R3, 1, true, 'DC_SAFE_QUORUM', downSet(2));
    expect(show(p)).toEqual(['local:0', 'rack:1', '!rack:2']);
    expect([p.acks, p.live, p.skippedCount]).toEqual([2, 2, 1]);
    expect(show(run(R3, 1, false, 'DC_QUORUM', downSet(1, 2)))).toEqual(['local:0', '!rack:1', '!rack:2']);
  });
});

describe('1 DC x 2 racks x 3 nodes', () => {
  it('this node as owner -> local; another node of the local rack -> rack', () => {
    expect(show(run(R23, 1, false, 'DC_ONE'))).toEqual(['local:0']);
    expect(show(run(R23, A, false, 'DC_ONE'))).toEqual(['local:0']);
    expect(show(run(R23, A + 1, false, 'DC_ONE'))).toEqual(['rack:1']);
    expect(show(run(R23, B + 1, false, 'DC_ONE'))).toEqual(['rack:2']);
    expect(show(run(R23, 0, false, 'DC_ONE'))).toEqual(['rack:2']);
    expect(show(run(R23, 1, true, 'DC_QUORUM'))).toEqual(['local:0', 'rack:4']);
    expect(show(run(R23, A + 1, true, 'DC_ONE'))).toEqual(['rack:1', 'rack:5']);
    expect(run(R23, 1, true, 'DC_QUORUM').acks).toBe(2);
  });

  it('DC_ONE failover goes to the other rack\'s owner of the key', () => {
    expect(show(run(R23, A + 1, false, 'DC_ONE', downSet(1)))).toEqual(['!rack:1', 'rack:5']);
    expect(show(run(R23, 1, false, 'DC_ONE', downSet(0)))).toEqual(['!local:0', 'rack:4']);
  });
});

describe('2 DCs x 2 racks x 2 nodes', () => {
  it('reads stay in the local DC except at DC_EACH_SAFE_QUORUM', () => {
    expect(show(run(D2, 1, false, 'DC_ONE'))).toEqual(['local:0']);
    expect(show(run(D2, H + 1, false, 'DC_ONE'))).toEqual(['rack:3']);
    expect(show(run(D2, 1, false, 'DC_QUORUM'))).toEqual(['local:0', 'rack:2']);
    expect(show(run(D2, 1, false, 'DC_SAFE_QUORUM'))).toEqual(['local:0', 'rack:2']);
    expect(Array.from(run(D2, 1, false, 'DC_QUORUM').acksByDc)).toEqual([2, 0]);
  });

  it('writes: every local rack plus one forward per remote DC, at the same rack position', () => {
    // local rack b is position 1 -> eu rack b (position 1); owner of token 1 there is eb1 (7).
    for (const level of ['DC_ONE', 'DC_QUORUM', 'DC_SAFE_QUORUM'] as const) {
      const p = run(D2, 1, true, level);
      expect(show(p)).toEqual(['local:0', 'rack:2', '~forward:7']);
      expect(p.targets[2]!.dc).toBe(1);
      expect(p.targets[2]!.isLocalDc).toBe(false);
      expect(p.targets[2]!.slot).toBe(-1);
      expect(p.awaited.map((t) => t.node)).toEqual([0, 2]);
      expect(Array.from(p.acksByDc)).toEqual([level === 'DC_ONE' ? 1 : 2, 0]);
    }
    expect(show(run(D2, H + 1, true, 'DC_ONE'))).toEqual(['rack:3', 'rack:1', '~forward:6']);
  });

  it('a down forward target fails over to the next rack; none up -> skipped', () => {
    expect(show(run(D2, 1, true, 'DC_QUORUM', downSet(7)))).toEqual(['local:0', 'rack:2', '~forward:5']);
    expect(show(run(D2, 1, true, 'DC_QUORUM', downSet(7, 5)))).toEqual(['local:0', 'rack:2', '!~forward:7']);
    expect(show(run(D2, 1, true, 'DC_QUORUM', downSet(5)))).toEqual(['local:0', 'rack:2', '~forward:7']);
  });

  it('DC_EACH_SAFE_QUORUM: every rack of every DC, a quorum per DC', () => {
    for (const isWrite of [false, true]) {
      const p = run(D2, 1, isWrite, 'DC_EACH_SAFE_QUORUM', downSet(5));
      expect(show(p)).toEqual(['local:0', 'rack:2', 'rack:7', '!rack:5']);
      expect(Array.from(p.acksByDc)).toEqual([2, 2]);
      expect(p.acks).toBe(4);
      expect(p.awaited.length).toBe(4);
      expect(p.targets.map((t) => t.dc)).toEqual([0, 0, 1, 1]);
    }
  });

  it('DC_EACH_SAFE_QUORUM via forward: one awaited forward per remote DC, one ack for it', () => {
    const p = run(D2, 1, false, 'DC_EACH_SAFE_QUORUM', UP, true);
    expect(show(p)).toEqual(['local:0', 'rack:2', 'forward:7']);
    expect(Array.from(p.acksByDc)).toEqual([2, 1]);
    expect(p.targets[2]!.slot).toBe(2);
  });
});

describe('remote rack position modulo the remote DC size, 1-rack DCs', () => {
  // local DC: 3 racks (this node in r3 = position 2); remote: 'one' (1 rack), 'two' (2 racks).
  const T = topo('home', 'r3', [9], ['h1:1:r1:home:9', 'h2:1:r2:home:9', 'o:1:x:one:9', 't1:1:p:two:9', 't2:1:q:two:9']);
  it('position 2 -> rack 0 of a 1-rack DC, rack 0 (2 mod 2) of a 2-rack DC', () => {
    const p = run(T, 1, true, 'DC_ONE');
    expect(show(p)).toEqual(['local:0', 'rack:1', 'rack:2', '~forward:3', '~forward:4']);
    expect(p.targets.slice(3).map((t) => T.racks[t.rack]!.name)).toEqual(['x', 'p']);
    expect(show(run(T, 1, true, 'DC_ONE', downSet(4)))).toEqual(['local:0', 'rack:1', 'rack:2', '~forward:3', '~forward:5']);
    expect(show(run(T, 1, true, 'DC_ONE', downSet(3)))).toEqual(['local:0', 'rack:1', 'rack:2', '!~forward:3', '~forward:4']);
    expect(Array.from(run(T, 1, true, 'DC_EACH_SAFE_QUORUM').acksByDc)).toEqual([2, 1, 2]);
  });

  it('a single-node cluster and a 1-rack local DC', () => {
    const solo = topo('dc', 'r', [101134286], []);
    for (const level of LEVELS) {
      for (const isWrite of [false, true]) {
        const p = run(solo, 7, isWrite, level);
        expect(show(p)).toEqual(['local:0']);
        expect(p.acks).toBe(1);
      }
    }
    const N = topo('dc1', 'rack1', [101134286], ['127.0.0.1:8113:rack1:dc2:101134286']);
    expect(show(run(N, 7, true, 'DC_QUORUM'))).toEqual(['local:0', '~forward:1']);
    expect(show(run(N, 7, false, 'DC_ONE', downSet(0)))).toEqual(['!local:0']);
  });
});

describe('plan reuse and the coalescer contract', () => {
  it('a reused Plan gives the same answers and exact-length arrays', () => {
    const out = new Plan();
    const big = plan(D2, { token: 1, isWrite: false, consistency: 'DC_EACH_SAFE_QUORUM' }, UP, out);
    expect(big).toBe(out);
    expect(out.targets.length).toBe(4);
    const targetObjects = new Set(out.targets);
    plan(D2, { token: 1, isWrite: false, consistency: 'DC_ONE' }, UP, out);
    expect(show(out)).toEqual(['local:0']);
    expect(out.awaited.length).toBe(1);
    expect(targetObjects.has(out.targets[0]!)).toBe(true);
    plan(R3, { token: 1, isWrite: true, consistency: 'DC_QUORUM' }, downSet(1), out);
    expect(show(out)).toEqual(['local:0', '!rack:1', 'rack:2']);
    expect(Array.from(out.acksByDc)).toEqual([2]);
  });

  it('Plan.awaited feeds a CoalesceTracker directly', () => {
    const p = run(R3, 1, false, 'DC_QUORUM', downSet(2));
    const tr = new CoalesceTracker<string>('DC_QUORUM', p.awaited);
    for (const t of p.awaited) if (t.skipped) tr.onFailure(t.slot, 'DOWN');
    expect(tr.isDecided).toBe(false);
    tr.onReply(p.targets[0]!.slot, 1, 2, false, 'v');
    const d = tr.onReply(p.targets[1]!.slot, 1, 2, false, 'v');
    expect(d?.ok).toBe(true);
    expect(d?.winner).toBe('v');
  });

  it('invariants on random topologies and health (property)', () => {
    const rng = new Prng(0x1234567);
    for (let round = 0; round < 200; round++) {
      const lines: string[] = [];
      const nDc = 1 + rng.int(3);
      for (let d = 0; d < nDc; d++) {
        const nRack = 1 + rng.int(3);
        for (let r = 0; r < nRack; r++) {
          const nNode = 1 + rng.int(3);
          for (let k = 0; k < nNode; k++) if (d + r + k > 0) lines.push(`h${d}${r}${k}:1:r${r}:d${d}:${rng.next()},${rng.next()}`);
        }
      }
      const t = topo('d0', 'r0', [rng.next()], lines);
      const down = new Set(t.nodes.filter(() => rng.int(4) === 0).map((n) => n.index));
      const health: Health = (n) => !down.has(n);
      for (const level of LEVELS) {
        for (const isWrite of [false, true]) {
          const token = rng.next();
          const p = run(t, token, isWrite, level, health);
          for (const x of p.targets) {
            expect(x.skipped).toBe(down.has(x.node));
            expect(t.racks[x.rack]!.ring.ownerOf(token)).toBe(x.node);
            expect(x.kind === 'local').toBe(x.node === 0);
            expect(x.dc).toBe(t.racks[x.rack]!.dc);
          }
          const localTargets = p.targets.filter((x) => x.dc === 0);
          const nLocal = t.dcs[0]!.racks.length;
          if (!isWrite && level === 'DC_ONE') {
            expect(localTargets.filter((x) => !x.skipped).length).toBeLessThanOrEqual(1);
            expect(p.targets.length).toBe(localTargets.length);
          } else {
            expect(new Set(localTargets.map((x) => x.rack)).size).toBe(nLocal);
          }
          expect(p.acksByDc[0]).toBe(level === 'DC_ONE' ? 1 : quorum(nLocal));
          for (let d = 1; d < t.dcs.length; d++) {
            const remote = p.targets.filter((x) => x.dc === d);
            if (level === 'DC_EACH_SAFE_QUORUM') expect(remote.length).toBe(t.dcs[d]!.racks.length);
            else expect(remote.length).toBe(isWrite ? 1 : 0);
          }
          expect(p.awaited.map((x) => x.slot)).toEqual(p.awaited.map((_, i) => i));
        }
      }
    }
  });
});

describe('groupKeysByOwner', () => {
  it('groups keys by owner in key order, groups ordered by first key', () => {
    const tokens = Uint32Array.from([1, A + 1, 2, 0, B + 1, A + 2]);
    const g = groupKeysByOwner(R23, tokens, R23.localRack);
    expect(g.map((x) => [x.node, x.keys])).toEqual([[0, [0, 2]], [1, [1, 5]], [2, [3, 4]]]);
    expect(groupKeysByOwner(R23, [], 0)).toEqual([]);
  });

  it('with several racks, keys share a group only if they share owners in every rack', () => {
    const U = topo('dc', 'x', [100], ['a:1:x:dc:200', 'b:1:y:dc:150', 'c:1:y:dc:250']);
    // rack x: (100,200] -> a(1); rack y: (150,250] -> c(3), else b(2)
    const tokens = [120, 160, 180, 300];
    expect(groupKeysByOwner(U, tokens, 0).map((x) => x.keys)).toEqual([[0, 1, 2], [3]]);
    const g = groupKeysByOwner(U, tokens, [0, 1]);
    expect(g.map((x) => [x.owners, x.keys])).toEqual([[[1, 2], [0]], [[1, 3], [1, 2]], [[0, 2], [3]]]);
    expect(() => groupKeysByOwner(U, tokens, [9])).toThrow(RangeError);
  });
});

describe('/cluster_describe', () => {
  it('has the Netflix shape, racks in routing order', () => {
    expect(describeCluster(R3b)).toEqual({
      dcs: [{
        name: 'dc', racks: [
          { name: 'rack1', servers: [{ name: '127.0.0.1', host: '127.0.0.1', port: 8101, token: 1383429731 }] },
          { name: 'rack2', servers: [{ name: '10.0.0.0', host: '10.0.0.0', port: 8101, token: 1383429731 }] },
          { name: 'rack3', servers: [{ name: '127.0.0.3', host: '127.0.0.3', port: 8101, token: 1383429731 }] },
        ],
      }],
    });
  });

  it('several tokens: the comma list as written', () => {
    const v = topo('dc', 'r', [300, 100], ['h:2:r:dc:200 named']);
    expect(describeCluster(v).dcs[0]!.racks[0]!.servers).toEqual([
      { name: '10.0.0.0', host: '10.0.0.0', port: 8101, token: '300,100' },
      { name: 'named', host: 'h', port: 2, token: 200 },
    ]);
  });
});
