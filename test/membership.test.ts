// Membership merge logic (src/cluster/membership.ts), no I/O: joins from gossip records and seed lists,
// replacement at a new address by timestamp, removal after gos_removal_time, and the topology
// snapshots it builds (who owns which token, indexes that never move).
import { describe, expect, it } from 'vitest';
import { Membership, memberId, type MemberRecord } from '../src/cluster/membership.js';
import { buildTopology, ownersForKey, type Topology } from '../src/route/topology.js';

const { NORMAL, DOWN, LEAVING } = { NORMAL: 4, DOWN: 8, LEAVING: 6 };

// dc1: rack r1 = self (token 0) + b (token 2^31); rack r2 = c (token 0)
const start = (): Topology => buildTopology(
  { host: '127.0.0.1', port: 7000, dc: 'dc1', rack: 'r1', tokens: [0] },
  [
    { host: '127.0.0.1', port: 7001, dc: 'dc1', rack: 'r1', tokens: [2147483648] },
    { host: '127.0.0.1', port: 7002, dc: 'dc1', rack: 'r2', tokens: [0] },
  ]);

function rec(rack: string, token: string, ts: number, port: number | undefined, state = NORMAL, host = '127.0.0.1'): MemberRecord {
  return { dc: 'dc1', rack, token, ts, state, host, port };
}

/** Owner (host:port) of key token `t` in rack `rack` of the membership's snapshot. */
function owner(m: Membership, rack: string, t: number): string {
  const topo = m.topology;
  const r = topo.racks.find((x) => x.name === rack)!;
  const n = topo.nodes[ownersForKey(topo, t)[r.index]!]!;
  return `${n.host}:${n.port}`;
}

describe('joins from gossip', () => {
  it('an unknown host id at a new address joins its rack: a new index, and keys above the previous token route to it', () => {
    const m = new Membership(start(), { removalMs: 1000 });
    const before = m.topology;
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7001');
    const c = m.observe(rec('r1', '1073741824', 100, 7003));
    expect(c).toEqual({ kind: 'join', node: 3, spec: { host: '127.0.0.1', port: 7003, dc: 'dc1', rack: 'r1', tokens: [1073741824] }, why: expect.stringContaining('announced by gossip') });
    // A new snapshot; the old one is untouched (requests planned on it keep their view)
    expect(m.topology).not.toBe(before);
    expect(before.nodes.length).toBe(3);
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7003');
    expect(owner(m, 'r1', 1073741825)).toBe('127.0.0.1:7001');
    expect(owner(m, 'r2', 1000)).toBe('127.0.0.1:7002');
    expect(m.topology.nodes.map((n) => n.port)).toEqual([7000, 7001, 7002, 7003]);
    // The same record again, or a newer one at the same address: nothing more
    expect(m.observe(rec('r1', '1073741824', 100, 7003))).toBeUndefined();
    expect(m.observe(rec('r1', '1073741824', 101, 7003))).toBeUndefined();
  });

  it('a new rack and a new DC come with their first node', () => {
    const m = new Membership(start(), { removalMs: 0 });
    m.observe(rec('r3', '5', 1, 7010));
    m.observe({ ...rec('rx', '5', 1, 7011), dc: 'dc2' });
    expect(m.topology.dcs.map((d) => `${d.name}:${d.racks.map((r) => r.name).join(',')}`)).toEqual(['dc1:r1,r2,r3', 'dc2:rx']);
    expect(m.topology.nodes[4]!.isLocalDc).toBe(false);
  });

  it('ignores records about this node, farewell states of unknown nodes, bad tokens', () => {
    const m = new Membership(start(), { removalMs: 0 });
    expect(m.observe(rec('r1', '0', 100, 7999))).toBeUndefined(); // this node's host id at another address
    expect(m.observe(rec('r1', '77', 100, 7000))).toBeUndefined(); // another id at this node's address
    expect(m.observe(rec('r1', '5', 100, 7005, DOWN))).toBeUndefined();
    expect(m.observe(rec('r1', '6', 100, 7006, LEAVING))).toBeUndefined();
    expect(m.observe(rec('r1', '4294967296', 100, 7007))).toBeUndefined();
    expect(m.observe(rec('r1', '12a', 100, 7008))).toBeUndefined();
    expect(m.topology.nodes.length).toBe(3);
  });
});

describe('replacement (same token, new address)', () => {
  it('a newer record at a new address replaces the member; an older one (still relayed about the dead node) changes nothing', () => {
    const m = new Membership(start(), { removalMs: 0 });
    expect(m.observe(rec('r1', '2147483648', 500, 7001))).toBeUndefined(); // b heard at its address, ts 500
    expect(m.observe(rec('r1', '2147483648', 499, 7101))).toBeUndefined(); // older: dropped
    const c = m.observe(rec('r1', '2147483648', 501, 7101));
    expect(c).toMatchObject({ kind: 'join', node: 3, replaces: 1, spec: { port: 7101, tokens: [2147483648] } });
    expect(m.inRing(1)).toBe(false);
    expect(m.topology.nodes[1]!.inRing).toBe(false);
    expect(m.topology.racks.find((r) => r.name === 'r1')!.nodes).toEqual([0, 3]);
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7101');
    // the dead node's record, relayed by a peer that has not heard of the replacement yet
    expect(m.observe(rec('r1', '2147483648', 500, 7001))).toBeUndefined();
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7101');
    expect(m.idOf(3)).toBe('dc1$r1$2147483648');
  });

  it('new tokens at the address of a member: the member at that address leaves the ring', () => {
    const m = new Membership(start(), { removalMs: 0 });
    const c = m.observe(rec('r2', '99', 10, 7002));
    expect(c).toMatchObject({ kind: 'join', node: 3, replaces: 2 });
    expect(m.topology.racks.find((r) => r.name === 'r2')!.nodes).toEqual([3]);
  });

  it('a bare host (Netflix\'s address form) is a known member at its own port; a new node at this node\'s port', () => {
    const m = new Membership(start(), { removalMs: 0 });
    // Netflix writes b as '127.0.0.1': b stays where it is (not "replaced" at this node's port 7000)
    expect(m.observe(rec('r1', '2147483648', 500, undefined))).toBeUndefined();
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7001');
    // a bare host of another machine for a known host id, newer: replaced there, on the same port
    expect(m.observe(rec('r1', '2147483648', 501, undefined, NORMAL, '10.0.0.9'))).toMatchObject({ kind: 'join', replaces: 1, spec: { host: '10.0.0.9', port: 7001 } });
    // an unknown node with a bare host: Netflix's meaning, the receiver's own dnode port
    expect(m.observe(rec('r2', '77', 10, undefined, NORMAL, '10.0.0.8'))).toMatchObject({ kind: 'join', spec: { host: '10.0.0.8', port: 7000, tokens: [77] } });
  });

  it('a replacement that announces DOWN (its own clean exit) is not taken', () => {
    const m = new Membership(start(), { removalMs: 0 });
    expect(m.observe(rec('r1', '2147483648', 900, 7101, DOWN))).toBeUndefined();
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7001');
  });
});

describe('removal after gos_removal_time', () => {
  it('a member DOWN for removalMs leaves the ring (its rack passes the range on); coming up before stops the clock', () => {
    const m = new Membership(start(), { removalMs: 1000 });
    m.stateChanged(1, true, 10_000);
    expect(m.expire(10_999)).toEqual([]);
    m.stateChanged(1, false, 10_500);
    expect(m.expire(20_000)).toEqual([]);
    m.stateChanged(1, true, 30_000);
    m.stateChanged(1, true, 30_400); // still DOWN: the clock keeps its start
    expect(m.downFor(1, 30_500)).toBe(500);
    expect(m.expire(31_000)).toEqual([{ kind: 'remove', node: 1, why: expect.stringContaining('DOWN for 1000 ms') }]);
    expect(m.inRing(1)).toBe(false);
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7000');
    expect(m.expire(40_000)).toEqual([]);
  });

  it('a rack whose last node left is gone from the snapshot; the node keeps its index', () => {
    const m = new Membership(start(), { removalMs: 100 });
    m.stateChanged(2, true, 0);
    m.expire(100);
    expect(m.topology.racks.map((r) => r.name)).toEqual(['r1']);
    expect(m.topology.nodes[2]).toMatchObject({ port: 7002, inRing: false, rack: -1 });
  });

  it('0 = never', () => {
    const m = new Membership(start(), { removalMs: 0 });
    m.stateChanged(1, true, 0);
    expect(m.expire(1e12)).toEqual([]);
  });

  it('a removed node that gossips again (newer ts) joins again under a new index; its old records do not bring it back', () => {
    const m = new Membership(start(), { removalMs: 100 });
    m.observe(rec('r1', '2147483648', 50, 7001));
    m.stateChanged(1, true, 0);
    m.expire(100);
    expect(m.observe(rec('r1', '2147483648', 50, 7001))).toBeUndefined();
    expect(m.observe(rec('r1', '2147483648', 51, 7001))).toMatchObject({ kind: 'join', node: 3 });
    expect(owner(m, 'r1', 1000)).toBe('127.0.0.1:7001');
  });
});

describe('seed provider lists', () => {
  it('unknown seeds join, known ones at a new address replace, missing ones stay', () => {
    const m = new Membership(start(), { removalMs: 0 });
    const changes = m.seeds([
      { host: '127.0.0.1', port: 7000, dc: 'dc1', rack: 'r1', tokens: [0] }, // this node
      { host: '127.0.0.1', port: 7020, dc: 'dc1', rack: 'r2', tokens: [0] }, // c moved
      { host: '127.0.0.1', port: 7021, dc: 'dc1', rack: 'r2', tokens: [100, 200] }, // new, two tokens
    ]); // b (7001) is missing from the list: it stays
    expect(changes.map((c) => `${c.kind}:${c.node}:${c.kind === 'join' ? c.replaces ?? '-' : ''}`)).toEqual(['join:3:2', 'join:4:-']);
    expect(m.inRing(1)).toBe(true);
    expect(m.topology.nodes[4]!.tokens).toEqual([100, 200]);
    expect(m.seeds([{ host: '127.0.0.1', port: 7021, dc: 'dc1', rack: 'r2', tokens: [100, 200] }])).toEqual([]);
  });

  it('memberId is Netflix\'s host id: dc$rack$first token', () => {
    expect(memberId({ dc: 'us-east-1', rack: 'a', tokens: [5, 7] })).toBe('us-east-1$a$5');
  });
});
