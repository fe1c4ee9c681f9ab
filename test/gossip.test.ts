// Gossip: Netflix payload codec, merge rules, the failure detector on an injected clock, and a
// 3-rack in-process cluster where peers go NORMAL, DOWN (shutdown / silence) and NORMAL again.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addressFor, encodeGossip, gossipAddress, splitAddress, parseAddress, GOSSIP_STATE, GossipTable, parseGossip, gossipStateName, gossipStateOf, hostId,
  type GossipMember, type GossipRecord,
} from '../src/cluster/gossip.js';
import type { RunningNode } from '../src/node.js';
import type { PeerConn } from '../src/cluster/peer-conn.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { sleep, until } from './helpers/until.js';

const { NORMAL, DOWN, UNKNOWN, STANDBY } = GOSSIP_STATE;

function rec(dc: string, rack: string, token: string, ts: number, state: number, address = '10.0.0.1'): GossipRecord {
  return { dc, rack, token, ts, state, address };
}

describe('payload codec (Netflix dmsg_parse format)', () => {
  it('encodes dc$rack$token,ts,state,address joined by |', () => {
    const p = encodeGossip([rec('us-east-1', 'rack1', '101134286', 1700000000, NORMAL, '10.0.0.1'), rec('eu', 'r2', '7', 5, DOWN, 'host-b')]);
    expect(p.toString()).toBe('us-east-1$rack1$101134286,1700000000,4,10.0.0.1|eu$r2$7,5,8,host-b');
  });

  it('parses a Netflix payload, from the right', () => {
    // Netflix's parser takes the last three commas and the last two '$': a dc may hold both.
    const r = parseGossip('dc,with,commas$and$dollars$rackA$4294967295,1700000001,4,10.1.2.3|dc2$r$1,2,11,h');
    expect(r).toEqual([
      rec('dc,with,commas$and$dollars', 'rackA', '4294967295', 1700000001, NORMAL, '10.1.2.3'),
      rec('dc2', 'r', '1', 2, GOSSIP_STATE.RESET, 'h'),
    ]);
  });

  it('skips malformed records and keeps the rest', () => {
    const r = parseGossip('nodollar,1,4,a|dc$r$1,notanumber,4,a|dc$r$1,1,4|dc$r$2,3,4,ok|');
    expect(r).toEqual([rec('dc', 'r', '2', 3, NORMAL, 'ok')]);
    expect(parseGossip('')).toEqual([]);
  });

  it('round-trips random tables (seeded)', () => {
    let x = 0x2545f491;
    const rnd = (n: number): number => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x % n;
    };
    const word = (): string => Array.from({ length: 1 + rnd(8) }, () => 'abcxyz-_.0123'[rnd(13)]).join('');
    for (let i = 0; i < 200; i++) {
      const rs = Array.from({ length: 1 + rnd(6) }, () => rec(word(), word(), String(rnd(2 ** 31)), rnd(2 ** 31), rnd(13), word()));
      expect(parseGossip(encodeGossip(rs))).toEqual(rs);
    }
  });

  it('addresses: the host alone when the node listens on the receiver\'s port (Netflix\'s form), host:port otherwise; no port = the receiver\'s own', () => {
    expect(gossipAddress('10.0.0.1', 8101, 8101)).toBe('10.0.0.1');
    expect(gossipAddress('10.0.0.1', 9101, 9101)).toBe('10.0.0.1');
    expect(gossipAddress('10.0.0.1', 8101, 9101)).toBe('10.0.0.1:8101');
    expect(gossipAddress('10.0.0.1', 8101)).toBe('10.0.0.1:8101');
    expect(gossipAddress('10.0.0.1', 9101)).toBe('10.0.0.1:9101');
    expect(addressFor('10.0.0.1:9101', 9101)).toBe('10.0.0.1');
    expect(addressFor('[::1]:9101', 9101)).toBe('::1');
    expect(addressFor('[::1]:9101', 7000)).toBe('[::1]:9101');
    expect(splitAddress('10.0.0.1')).toEqual({ host: '10.0.0.1', port: undefined });
    expect(gossipAddress('::1', 9101)).toBe('[::1]:9101');
    expect(parseAddress('10.0.0.1', 7000)).toEqual({ host: '10.0.0.1', port: 7000 });
    expect(parseAddress('10.0.0.1:9101', 7000)).toEqual({ host: '10.0.0.1', port: 9101 });
    expect(parseAddress('[::1]:9101', 7000)).toEqual({ host: '::1', port: 9101 });
    expect(parseAddress('fe80::1', 7000)).toEqual({ host: 'fe80::1', port: 7000 });
    expect(parseAddress('host-b.example', 7000)).toEqual({ host: 'host-b.example', port: 7000 });
  });

  it('names states as Netflix dyn_state_t', () => {
    expect([NORMAL, DOWN, UNKNOWN, STANDBY, GOSSIP_STATE.JOINING, GOSSIP_STATE.LEAVING, GOSSIP_STATE.RESET]).toEqual([4, 8, 12, 1, 7, 6, 11]);
    expect(gossipStateName(8)).toBe('DOWN');
    expect(gossipStateName(99)).toBe('UNKNOWN');
    expect(gossipStateOf('STANDBY')).toBe(1);
    expect(gossipStateOf('whatever')).toBe(NORMAL);
  });
});

// ---- the table on injected clocks ----

const self: GossipMember = { node: 0, dc: 'dc1', rack: 'r0', token: '1', address: 'a0' };
const peerA: GossipMember = { node: 1, dc: 'dc1', rack: 'r1', token: '1', address: 'a1' };
const peerB: GossipMember = { node: 2, dc: 'dc1', rack: 'r2', token: '1', address: 'a2' };

function table(intervalMs = 1000): { t: GossipTable; clock: { ms: number; s: number }; log: string[]; unknown: string[] } {
  const clock = { ms: 0, s: 1000 };
  const log: string[] = [];
  const unknown: string[] = [];
  const t = new GossipTable({
    self, peers: [peerA, peerB], intervalMs, now: () => clock.ms, wallSeconds: () => clock.s, selfState: () => NORMAL,
    onTransition: (n, from, to) => log.push(`${n}:${gossipStateName(from)}->${gossipStateName(to)}`),
    onUnknown: (r) => unknown.push(hostId(r)),
  });
  return { t, clock, log, unknown };
}

const A = (ts: number, state: number = NORMAL): GossipRecord => ({ ...peerA, ts, state });

describe('merge rules', () => {
  it('a newer timestamp wins, with its state; older and equal ones do not', () => {
    const { t, log } = table();
    expect(t.state(1)).toBe(UNKNOWN);
    t.merge([A(10)]);
    expect(t.state(1)).toBe(NORMAL);
    t.merge([A(9, STANDBY)]);
    expect(t.state(1)).toBe(NORMAL);
    t.merge([A(10, STANDBY)]);
    expect(t.state(1)).toBe(NORMAL);
    t.merge([A(11, STANDBY)]);
    expect(t.state(1)).toBe(STANDBY);
    expect(log).toEqual(['1:UNKNOWN->NORMAL', '1:NORMAL->STANDBY']);
  });

  it('an equal timestamp that says DOWN is another node\'s verdict and changes nothing; a newer one wins', () => {
    const { t, log } = table();
    t.merge([A(10)]);
    t.merge([A(10, DOWN)]);
    expect(t.state(1)).toBe(NORMAL);
    t.merge([A(11, DOWN)]);
    expect(t.state(1)).toBe(DOWN);
    t.merge([A(12)]);
    expect(t.state(1)).toBe(NORMAL);
    expect(log).toEqual(['1:UNKNOWN->NORMAL', '1:NORMAL->DOWN', '1:DOWN->NORMAL']);
  });

  it('the clean-exit record says DOWN with a timestamp newer than the last heartbeat', () => {
    const { t, clock } = table();
    t.refreshSelf();
    expect(t.records()[0]).toMatchObject({ ts: 1000, state: NORMAL });
    expect(t.shutdownRecord()).toMatchObject({ dc: 'dc1', rack: 'r0', token: '1', ts: 1001, state: DOWN });
    clock.s = 2000;
    expect(t.shutdownRecord()).toMatchObject({ ts: 2000, state: DOWN });
  });

  it('ignores records about itself and logs unknown nodes once', () => {
    const { t, unknown } = table();
    t.merge([{ ...self, ts: 99999, state: DOWN }, rec('dc9', 'r9', '5', 1, NORMAL), rec('dc9', 'r9', '5', 2, NORMAL)]);
    expect(unknown).toEqual(['dc9$r9$5']);
    expect(t.records()[0]).toMatchObject({ dc: 'dc1', rack: 'r0', state: UNKNOWN, ts: 0 });
    t.refreshSelf();
    expect(t.records()[0]).toMatchObject({ ts: 1000, state: NORMAL });
  });

  it('GOSSIP_SHUTDOWN marks the node DOWN at once, unless it names an older life', () => {
    const { t, log } = table();
    t.merge([A(10)]);
    t.shutdown([A(9, DOWN)]);
    expect(t.state(1)).toBe(NORMAL);
    t.shutdown([A(10, NORMAL)]); // the state field does not matter: a shutdown means DOWN
    expect(t.state(1)).toBe(DOWN);
    t.merge([A(12)]);
    expect(t.state(1)).toBe(NORMAL);
    expect(log).toEqual(['1:UNKNOWN->NORMAL', '1:NORMAL->DOWN', '1:DOWN->NORMAL']);
  });

  it('relays what peers announced, itself first', () => {
    const { t } = table();
    t.refreshSelf();
    t.merge([A(10), { ...peerB, ts: 20, state: STANDBY }]);
    expect(encodeGossip(t.records()).toString()).toBe('dc1$r0$1,1000,4,a0|dc1$r1$1,10,4,a1|dc1$r2$1,20,1,a2');
  });
});

describe('failure detector (phi accrual over timestamp advances)', () => {
  it('marks a silent peer DOWN after about 2.3 heartbeat periods and NORMAL again on a newer timestamp', () => {
    const { t, clock, log } = table(1000);
    t.merge([A(10), { ...peerB, ts: 10, state: NORMAL }]);
    let downAt = -1;
    for (let i = 1; i <= 40; i++) {
      clock.ms += 100;
      if (i % 10 === 0) t.merge([{ ...peerB, ts: 10 + i / 10, state: NORMAL }]); // B advances every second, A is silent
      t.detect();
      if (downAt < 0 && t.state(1) === DOWN) downAt = clock.ms;
      expect(t.state(2)).toBe(NORMAL);
    }
    expect(downAt).toBeGreaterThan(1500);
    expect(downAt).toBeLessThan(2600);
    t.merge([A(10)]); // a stale relay is no proof of life
    expect(t.state(1)).toBe(DOWN);
    t.merge([A(11)]);
    expect(t.state(1)).toBe(NORMAL);
    expect(t.heartbeatAge(1)).toBe(0);
    expect(log).toEqual(['1:UNKNOWN->NORMAL', '2:UNKNOWN->NORMAL', '1:NORMAL->DOWN', '1:DOWN->NORMAL']);
  });

  it('a link failure marks a gossiping peer DOWN at once; a timeout only when it is late', () => {
    const { t, clock } = table(1000);
    t.merge([A(10)]);
    clock.ms += 200;
    t.linkFailure(1, 'request timed out', true);
    expect(t.state(1)).toBe(NORMAL);
    t.linkFailure(1, 'connect ECONNREFUSED 127.0.0.1:1');
    expect(t.state(1)).toBe(DOWN);
    t.merge([A(11)]);
    expect(t.state(1)).toBe(NORMAL);
    clock.ms += 1800;
    expect(t.phi(1)).toBeGreaterThan(1);
    t.linkFailure(1, 'request timed out', true);
    expect(t.state(1)).toBe(DOWN);
  });

  it('never marks down a peer it never heard from', () => {
    const { t, clock } = table(100);
    clock.ms += 1e9;
    t.detect();
    t.linkFailure(1, 'connection closed by peer');
    expect(t.state(1)).toBe(UNKNOWN);
    expect(t.isDown(1)).toBe(false);
  });
});

// ---- in-process cluster ----

const racks = ['rack1', 'rack2', 'rack3'];
let dyn: number[] = [];
const nodes: (RunningNode | undefined)[] = [];
const clients: RawClient[] = [];

function startMember(i: number, gossip: boolean): Promise<RunningNode> {
  const seeds = [0, 1, 2].filter((j) => j !== i).map((j) => ({ host: '127.0.0.1', port: dyn[j]!, rack: racks[j]!, dc: 'dc1', tokens: [101134286] }));
  return startTestNode({
    dataStore: 'memory', rack: racks[i]!, datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000,
    cluster: {
      dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1,
      peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000, gossip: { enabled: gossip, intervalMs: 100 },
    },
  });
}

/** node i's gossip view of node j (topology index: peers in seed order, so j's index from i). */
function view(i: number, j: number): string {
  const n = nodes[i]!;
  const idx = n.cluster!.topology().nodes.findIndex((t) => t.port === dyn[j]);
  return gossipStateName(n.cluster!.gossip!.table.state(idx) ?? -1);
}

function peerOf(i: number, j: number): PeerConn | undefined {
  const n = nodes[i]!;
  const idx = n.cluster!.topology().nodes.findIndex((t) => t.port === dyn[j]);
  return n.cluster!.peers[idx];
}

function direct(n: RunningNode, ...args: string[]): string {
  return (n.backend as MemoryBackend).store.execute(args.map((a) => Buffer.from(a))).toString('latin1');
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n?.close('test done', 100);
});

describe('3 racks in-process with gossip (interval 100 ms)', () => {
  it('every peer becomes NORMAL', async () => {
    dyn = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) nodes[i] = await startMember(i, true);
    const all = (): boolean => [0, 1, 2].every((i) => [0, 1, 2].every((j) => i === j || view(i, j) === 'NORMAL'));
    await until('all NORMAL', all, 8000);
    expect(nodes[0]!.cluster!.gossip!.table.describe().map((d) => d.state)).toEqual(['NORMAL', 'NORMAL']);
  });

  it('a silent node (gossip stopped, links up) is marked DOWN by the detector, routed around, and NORMAL again', async () => {
    const g2 = nodes[2]!.cluster!.gossip!;
    g2.stop();
    const t0 = Date.now();
    await until('node 2 DOWN at 0 and 1', () => view(0, 2) === 'DOWN' && view(1, 2) === 'DOWN', 5000);
    expect(Date.now() - t0).toBeGreaterThan(1000); // the detector waited (about 2.3 heartbeats of 1 s)
    const p = peerOf(0, 2)!;
    expect(p.state).toBe('up'); // the links are fine ...
    expect(p.up).toBe(false); // ... but routing treats the peer as unreachable
    // A write from node 0 skips node 2 (kept as a hint) and reaches node 1.
    const c = await RawClient.connect(nodes[0]!.port);
    clients.push(c);
    c.write(cmd('SET', 'gk', 'v'));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    await until('write on node 1', () => direct(nodes[1]!, 'GET', 'gk') === '$1\r\nv\r\n', 2000);
    expect(direct(nodes[2]!, 'GET', 'gk')).toBe('$-1\r\n');
    // DC_ONE reads on node 0 still answer (local rack).
    c.write(cmd('GET', 'gk'));
    expect(String((await c.replies(1))[0])).toBe('$1\r\nv\r\n');
    g2.start();
    await until('node 2 NORMAL again', () => view(0, 2) === 'NORMAL' && view(1, 2) === 'NORMAL', 5000);
    expect(p.up).toBe(true);
    // The hint is replayed once the peer is NORMAL again.
    await until('hint replayed on node 2', () => direct(nodes[2]!, 'GET', 'gk') === '$1\r\nv\r\n', 5000);
  });

  it('a clean exit announces DOWN: the others mark the node DOWN at once; a restart is NORMAL again', async () => {
    // Pause the rounds (and so the detectors) of nodes 0 and 1: only the shutdown message can do it.
    nodes[0]!.cluster!.gossip!.stop();
    nodes[1]!.cluster!.gossip!.stop();
    expect([view(0, 2), view(1, 2)]).toEqual(['NORMAL', 'NORMAL']);
    await nodes[2]!.close('test', 100);
    nodes[2] = undefined;
    await until('node 2 DOWN after shutdown', () => view(0, 2) === 'DOWN' && view(1, 2) === 'DOWN', 1000);
    nodes[0]!.cluster!.gossip!.start();
    nodes[1]!.cluster!.gossip!.start();
    // Quorum reads fail over to the two live racks.
    const c = await RawClient.connect(nodes[1]!.port);
    clients.push(c);
    c.write(Buffer.concat([cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM'), cmd('GET', 'gk')]));
    expect((await c.replies(2)).map(String)).toEqual(['+OK\r\n', '$1\r\nv\r\n']);
    nodes[2] = await startMember(2, true);
    await until('node 2 NORMAL after restart', () => view(0, 2) === 'NORMAL' && view(1, 2) === 'NORMAL', 8000);
    await until('node 2 sees both NORMAL', () => view(2, 0) === 'NORMAL' && view(2, 1) === 'NORMAL', 8000);
  });
});

// ---- the wire: a fake peer records what a node sends ----

interface FakePeer { server: Server; port: number; connections: () => number; open: () => number; bytes: () => string; close: () => Promise<void> }

async function fakePeer(): Promise<FakePeer> {
  const chunks: Buffer[] = [];
  const sockets: Socket[] = [];
  let closed = 0;
  const server = createServer((s) => {
    sockets.push(s);
    s.on('data', (b) => chunks.push(b));
    s.on('error', () => undefined);
    s.on('close', () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    server, port, connections: () => sockets.length, open: () => sockets.length - closed, bytes: () => Buffer.concat(chunks).toString('latin1'),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const SYN = /\$2014\$ \d+ 7 0 1 1 \*1 d \*(\d+)\r\n/g;

/** What a node sent to a fake peer (three gossip rounds' worth, or 300 ms without gossip), then on close. */
async function wireFrom(gossip: boolean): Promise<string> {
  const peer = await fakePeer();
  const n = await startTestNode({
    dataStore: 'memory', rack: 'rA', datacenter: 'dcX', tokens: [42], timeoutMs: 2000,
    cluster: {
      dynListen: { host: '127.0.0.1', port: await freePort() }, localPeerConnections: 1, remotePeerConnections: 1,
      seeds: [{ host: '127.0.0.1', port: peer.port, rack: 'rB', dc: 'dcX', tokens: [7] }],
      peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000, gossip: { enabled: gossip, intervalMs: 50 },
    },
  });
  try {
    await until('the node to connect to the fake peer', () => peer.connections() > 0);
    if (gossip) await until('three GOSSIP_SYN rounds', () => [...peer.bytes().matchAll(SYN)].length >= 3);
    else await sleep(300); // six gossip intervals: a round, if one were sent, would be in here
    await n.close('test', 100);
    await until('the node to close its links to the fake peer', () => peer.open() === 0);
    return peer.bytes();
  } finally {
    await n.close('test', 100);
    await peer.close();
  }
}

describe('on the wire', () => {
  it('gossip off: no gossip frame is ever sent', async () => {
    const text = await wireFrom(false);
    expect(text).not.toMatch(/\$2014\$ \d+ (7|13) /);
  });

  it('gossip on: GOSSIP_SYN rounds in Netflix format; on close a last SYN whose own record says DOWN', async () => {
    const text = await wireFrom(true);
    const syn = [...text.matchAll(SYN)];
    expect(syn.length).toBeGreaterThanOrEqual(3);
    const first = syn[0]!;
    const payload = text.slice(first.index! + first[0].length, first.index! + first[0].length + Number(first[1]));
    const recs = parseGossip(payload);
    // Not on Netflix's port 8101: the address carries the port (a node learned from gossip must be reachable)
    expect(recs[0]).toMatchObject({ dc: 'dcX', rack: 'rA', token: '42', state: NORMAL, address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(Math.abs(recs[0]!.ts - Date.now() / 1000)).toBeLessThan(5);
    expect(recs[1]).toMatchObject({ dc: 'dcX', rack: 'rB', token: '7', ts: 0, state: UNKNOWN });
    // Netflix reads type 13 as a datastore request: never sent
    expect(text).not.toMatch(/\$2014\$ \d+ 13 /);
    const last = syn[syn.length - 1]!;
    const lp = text.slice(last.index! + last[0].length, last.index! + last[0].length + Number(last[1]));
    const lastTs = Math.max(...syn.slice(0, -1).map((m) => parseGossip(text.slice(m.index! + m[0].length, m.index! + m[0].length + Number(m[1])))[0]!.ts));
    expect(parseGossip(lp)).toEqual([expect.objectContaining({ dc: 'dcX', rack: 'rA', token: '42', state: DOWN })]);
    expect(parseGossip(lp)[0]!.ts).toBeGreaterThan(lastTs);
  });
});
