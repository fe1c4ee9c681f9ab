// Hinted handoff: HintStore unit tests (order, byte bound, TTL, replay interruption, the durable log
// across a restart) and in-process clusters where a replica is down while writes go on.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DynErrorCode } from '../src/errors.js';
import type { ClusterOptions, RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import type { ReplyTarget } from '../src/dispatch/request.js';
import { createCore } from '../src/wasm/core.js';
import { HINT_OVERHEAD_BYTES, HintStore, type HintStoreOptions } from '../src/repair/hints.js';
import { decodeHintRecords, encodeHintHeader, hintFileName, HINT_RECORD_HEADER } from '../src/repair/hint-log.js';
import { parseConfig } from '../src/conf/load.js';
import { parseSeed } from '../src/conf/values.js';
import { Fanout } from '../src/dispatch/fanout.js';
import { Plan, plan } from '../src/route/planner.js';
import { buildTopology } from '../src/route/topology.js';
import type { Backend, FramedRequest } from '../src/dispatch/request.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { Flusher } from '../src/net/flusher.js';
import { OUT_CHUNK_BYTES } from '../src/net/out-buffer.js';
import { PeerConn } from '../src/cluster/peer-conn.js';
import { PEER_SEND_WRITE } from '../src/dispatch/request.js';
import { Collector, dnodeMessage, fakePeerServer, resp } from './helpers/dnode-peer.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 1 << 16, connections: 4, mbufCount: 4 });

interface Sent { type: number; seq: number; text: string; flags: number; affinity: number; target: ReplyTarget }

/** A Peer that records what is sent; failSync makes send() fail at once like a down PeerConn. */
class FakeLink {
  up = false;
  failSync = false;
  readonly sent: Sent[] = [];
  send(type: 3 | 4, target: ReplyTarget, seq: number, off: number, len: number, affinity: number, flags = 0): void {
    if (this.failSync) return target.fail(seq, 'PEER_ERR_NOT_CONNECTED');
    this.sent.push({ type, seq, text: Buffer.from(core.u8.subarray(off, off + len)).toString('latin1'), flags, affinity, target });
  }
  /** Answers the i-th recorded send. */
  ok(i: number): void {
    const s = this.sent[i]!;
    s.target.completeBuffer(s.seq, Buffer.from('+OK\r\n'));
  }
  fail(i: number, code: DynErrorCode = 'PEER_ERR_NOT_CONNECTED'): void {
    const s = this.sent[i]!;
    s.target.fail(s.seq, code);
  }
}

let clock = 1_000_000;
const links = [undefined, new FakeLink(), new FakeLink()];

function store(o: Partial<HintStoreOptions> = {}): HintStore {
  for (const l of links) if (l) { l.up = false; l.failSync = false; l.sent.length = 0; }
  return new HintStore({
    core,
    peer: (n) => links[n],
    peerAddress: (n) => (n === 0 ? undefined : { host: '127.0.0.1', port: 9000 + n }),
    nodes: 3,
    maxBytes: 1 << 20,
    ttlMs: 60_000,
    maxPerSecond: Infinity,
    now: () => clock,
    ...o,
  });
}

/** Adds a hint whose request bytes are `text`. */
function add(h: HintStore, node: number, text: string, type: 3 | 4 = 3): void {
  const b = Buffer.from(text, 'latin1');
  core.u8.set(b, core.stagingPtr);
  h.add(node, type, core.u8, core.stagingPtr, b.length, 0);
}

const sentText = (l: FakeLink): string[] => l.sent.map((s) => s.text);

describe('HintStore', () => {
  it('replays a peer\'s hints in order, on link 0, once its link is up', () => {
    const h = store();
    add(h, 1, 'SET k 1');
    add(h, 1, 'APPEND k 2', 4);
    add(h, 2, 'other peer');
    add(h, 1, 'INCR k');
    add(h, 0, 'node 0 is never hinted');
    expect(h.pending).toBe(4);
    expect(h.pendingFor(1)).toBe(3);
    h.tick();
    expect(links[1]!.sent).toHaveLength(0); // link down: nothing sent
    links[1]!.up = true;
    h.tick();
    expect(sentText(links[1]!)).toEqual(['SET k 1', 'APPEND k 2', 'INCR k']);
    expect(links[1]!.sent.map((s) => [s.type, s.affinity, s.flags & 1])).toEqual([[3, 0, 1], [4, 0, 1], [3, 0, 1]]);
    expect(links[2]!.sent).toHaveLength(0);
    for (let i = 0; i < 3; i++) links[1]!.ok(i);
    expect(h.counts).toMatchObject({ stored: 4, replayed: 3 });
    expect(h.pendingFor(1)).toBe(0);
    expect(h.pending).toBe(1);
    expect(h.pendingBytes).toBe('other peer'.length + HINT_OVERHEAD_BYTES);
  });

  it('keeps at most `window` hints in flight and respects the rate limit', () => {
    const h = store({ window: 2 });
    for (let i = 0; i < 5; i++) add(h, 1, `w${i}`);
    links[1]!.up = true;
    h.tick();
    expect(sentText(links[1]!)).toEqual(['w0', 'w1']);
    links[1]!.ok(0);
    h.tick();
    expect(sentText(links[1]!)).toEqual(['w0', 'w1', 'w2']);
    const slow = store({ maxPerSecond: 2 });
    for (let i = 0; i < 5; i++) add(slow, 1, `r${i}`);
    links[1]!.up = true;
    slow.tick();
    expect(links[1]!.sent).toHaveLength(2); // the bucket holds one second's worth
  });

  it('drops the oldest hints (over every peer) to stay within maxBytes, and counts them', () => {
    const per = 2 + HINT_OVERHEAD_BYTES;
    const h = store({ maxBytes: 3 * per });
    add(h, 1, 'a1'); clock++;
    add(h, 2, 'b1'); clock++;
    add(h, 1, 'a2'); clock++;
    add(h, 1, 'a3'); clock++; // a1 (oldest anywhere) goes
    expect(h.counts.droppedBytes).toBe(1);
    add(h, 2, 'b2'); clock++; // b1 goes
    expect(h.counts.droppedBytes).toBe(2);
    add(h, 1, 'x'.repeat(3 * per)); // can never fit: dropped alone, nothing else goes
    expect(h.counts.droppedBytes).toBe(3);
    expect(h.pending).toBe(3);
    expect(h.pendingBytes).toBe(3 * per);
    links[1]!.up = true;
    links[2]!.up = true;
    h.tick();
    expect(sentText(links[1]!)).toEqual(['a2', 'a3']);
    expect(sentText(links[2]!)).toEqual(['b2']);
  });

  it('drops hints older than the TTL', () => {
    const h = store({ ttlMs: 1000 });
    add(h, 1, 'old');
    clock += 600;
    add(h, 1, 'young');
    clock += 500;
    h.tick();
    expect(h.counts.droppedTtl).toBe(1);
    links[1]!.up = true;
    h.tick();
    expect(sentText(links[1]!)).toEqual(['young']);
  });

  it('stops replaying on a connection failure and resumes from the first undelivered hint', () => {
    const h = store();
    for (const t of ['h0', 'h1', 'h2']) add(h, 1, t);
    const l = links[1]!;
    l.up = true;
    h.tick();
    l.ok(0);
    l.fail(1, 'PEER_ERR_TIMEOUT');
    l.fail(2);
    expect(h.pendingFor(1)).toBe(2);
    expect(h.counts.replayed).toBe(1);
    h.tick();
    expect(l.sent).toHaveLength(3); // backing off: the link has not come back yet
    h.onPeerUp(1);
    h.tick();
    expect(sentText(l).slice(3)).toEqual(['h1', 'h2']);
    l.ok(3);
    l.ok(4);
    expect(h.pending).toBe(0);
    expect(h.counts.replayed).toBe(3);
  });

  it('a `-ERR Storage:` reply (the peer\'s datastore is down) keeps the hint; a datastore error does not', () => {
    const h = store();
    add(h, 1, 'u0');
    add(h, 1, 'u1');
    const l = links[1]!;
    l.up = true;
    h.tick();
    l.sent[0]!.target.completeBuffer(l.sent[0]!.seq, Buffer.from('-WRONGTYPE Operation against a key\r\n'));
    l.sent[1]!.target.completeBuffer(l.sent[1]!.seq, Buffer.from('-ERR Storage: Datastore refused connection\r\n'));
    expect(h.counts.replayed).toBe(1);
    expect(h.pendingFor(1)).toBe(1);
    h.onPeerUp(1);
    h.tick();
    expect(sentText(l)).toEqual(['u0', 'u1', 'u1']);
  });

  it('a memcached peer\'s `SERVER_ERROR Storage:` / `SERVER_ERROR Peer:` reply keeps the hint too; its own errors do not', () => {
    const h = store();
    add(h, 1, 'set a 0 0 1\r\nx\r\n');
    add(h, 1, 'set b 0 0 1\r\ny\r\n');
    add(h, 1, 'set c 0 0 1\r\nz\r\n');
    const l = links[1]!;
    l.up = true;
    h.tick();
    l.sent[0]!.target.completeBuffer(l.sent[0]!.seq, Buffer.from('SERVER_ERROR out of memory storing object\r\n'));
    l.sent[1]!.target.completeBuffer(l.sent[1]!.seq, Buffer.from('SERVER_ERROR Storage: Datastore refused connection\r\n'));
    expect(h.counts.replayed).toBe(1); // the datastore's own error: the replica saw the write
    expect(h.pendingFor(1)).toBe(2); // b and c stay, in order
    h.onPeerUp(1);
    h.tick();
    expect(sentText(l).slice(3)).toEqual(['set b 0 0 1\r\ny\r\n', 'set c 0 0 1\r\nz\r\n']);
    l.sent[3]!.target.completeBuffer(l.sent[3]!.seq, Buffer.from('SERVER_ERROR Peer: Peer Node is down\r\n'));
    expect(h.pendingFor(1)).toBe(2);
    expect(h.counts.replayed).toBe(1);
  });

  it('a send that fails at once stops the replay without losing a hint', () => {
    const h = store();
    add(h, 1, 's0');
    add(h, 1, 's1');
    const l = links[1]!;
    l.up = true;
    l.failSync = true;
    h.tick();
    expect(h.pendingFor(1)).toBe(2);
    l.failSync = false;
    h.onPeerUp(1);
    h.tick();
    expect(sentText(l)).toEqual(['s0', 's1']);
  });

  it('guard: connection failures become hints, replies and other errors do not', () => {
    const h = store();
    const got: string[] = [];
    const target: ReplyTarget = {
      complete: (seq, src, off, len) => got.push(`${seq}:${Buffer.from(src.subarray(off, off + len)).toString()}`),
      completeBuffer: (seq, b) => got.push(`${seq}:${b.toString()}`),
      fail: (seq, code) => got.push(`${seq}:${code}`),
    };
    const b = Buffer.from('SET g 1');
    core.u8.set(b, core.stagingPtr);
    const codes: DynErrorCode[] = ['PEER_ERR_NOT_CONNECTED', 'PEER_ERR_REFUSED', 'PEER_ERR_TIMEOUT', 'PEER_ERR_DOWN'];
    codes.forEach((code, i) => h.guard(target, 1, 3, core.u8, core.stagingPtr, b.length, 0).fail(i, code));
    const reply = Buffer.from('-ERR wrong\r\n');
    h.guard(target, 1, 3, core.u8, core.stagingPtr, b.length, 0).complete(7, reply, 0, reply.length);
    core.u8.fill(0, core.stagingPtr, core.stagingPtr + b.length); // the guard copied the bytes
    expect(got).toEqual(['0:PEER_ERR_NOT_CONNECTED', '1:PEER_ERR_REFUSED', '2:PEER_ERR_TIMEOUT', '3:PEER_ERR_DOWN', '7:-ERR wrong\r\n']);
    expect(h.pendingFor(1)).toBe(3);
    links[1]!.up = true;
    h.tick();
    expect(sentText(links[1]!)).toEqual(['SET g 1', 'SET g 1', 'SET g 1']);
    // Node 0 and a store with hints off hand the target back untouched.
    expect(h.guard(target, 0, 3, core.u8, 0, 1, 0)).toBe(target);
    const off = store({ maxBytes: 0 });
    expect(off.enabled).toBe(false);
    expect(off.guard(target, 1, 3, core.u8, 0, 1, 0)).toBe(target);
    add(off, 1, 'x');
    expect(off.pending).toBe(0);
  });
});

describe('Fanout with hints (1 local rack + 1 more, 1 remote DC)', () => {
  const T = 101134286;
  const topo = buildTopology({ host: '10.0.0.1', port: 8101, dc: 'dc1', rack: 'rack1', tokens: [T] },
    [`10.0.0.2:8101:rack2:dc1:${T}`, `10.0.0.3:8101:rack1:dc2:${T}`].map(parseSeed));
  const local: Backend = {
    name: 'memory',
    forward: (target, seq) => target.completeBuffer(seq, Buffer.from('+OK\r\n')),
    start: async () => undefined,
    close: async () => undefined,
    inflight: () => 0,
  };

  function send(f: Fanout, text: string, isWrite: boolean, level: 'DC_ONE' | 'DC_QUORUM'): string[] {
    const b = Buffer.from(text);
    const at = core.stagingPtr + 1024;
    core.u8.set(b, at);
    const req: FramedRequest = { off: at, len: b.length, rec: 0, base: at, expectReply: true, inline: false };
    const p = plan(topo, { token: T, isWrite, consistency: level }, (n) => n === 0 || (links[n]?.up ?? false), new Plan());
    const got: string[] = [];
    f.send({
      complete: (_s, src, off, len) => got.push(Buffer.from(src.subarray(off, off + len)).toString()),
      completeBuffer: (_s, r) => got.push(r.toString()),
      fail: (_s, code) => got.push(code),
    }, 0, req, 0, p, level);
    return got;
  }

  it('hints a skipped replica and an unreachable one, and the quorum still sees them fail', () => {
    const h = store();
    const f = new Fanout(core, local, (n) => links[n], () => 1000);
    f.hints = h;
    links[2]!.up = true; // node 1 (rack2) is down, node 2 (the remote DC's forward target) is up
    const got = send(f, 'SET k v', true, 'DC_QUORUM');
    expect(h.pendingFor(1)).toBe(1); // skipped at plan time
    expect(links[2]!.sent.map((x) => x.type)).toEqual([4]);
    links[2]!.fail(0, 'PEER_ERR_TIMEOUT');
    expect(h.pendingFor(2)).toBe(1);
    expect(got).toEqual(['PEER_ERR_DOWN']); // 1 of the 2 local racks: no quorum, hint or not
    // A reply (even an error) means the replica saw the write; reads are never hinted.
    send(f, 'SET k w', true, 'DC_ONE');
    links[2]!.sent[1]!.target.completeBuffer(links[2]!.sent[1]!.seq, Buffer.from('-ERR no\r\n'));
    send(f, 'GET k', false, 'DC_QUORUM');
    expect([h.pendingFor(1), h.pendingFor(2)]).toEqual([2, 1]);
    links[1]!.up = true;
    h.tick();
    expect(links[1]!.sent.map((x) => [x.type, x.text])).toEqual([[3, 'SET k v'], [3, 'SET k w']]);
    expect(links[2]!.sent.slice(2).map((x) => [x.type, x.text])).toEqual([[4, 'SET k v']]);
    f.stop();
  });
});

describe('hints_* config keys', () => {
  const file = (...extra: string[]): string => ['dyn_o_mite:', '  listen: 127.0.0.1:8102', '  dyn_listen: 127.0.0.1:8101',
    "  tokens: '101134286'", '  servers:', '  - 127.0.0.1:22122:1', ...extra.map((l) => `  ${l}`)].join('\n') + '\n';

  it('default to in-memory hints, 64 MiB, 3 hours and map to ClusterOptions.hints', () => {
    const c = parseConfig(file(), 'f.yml');
    expect([c.hintsDir, c.hintsMaxBytes, c.hintsTtl]).toEqual([null, 64 * 1024 * 1024, 3 * 3600 * 1000]);
    expect(nodeOptionsFromConfig(c).cluster?.hints).toEqual({ dir: undefined, maxBytes: 67108864, ttlMs: 10800000 });
    const d = parseConfig(file('hints_dir: /var/lib/dyno/hints', 'hints_max_bytes: 0', 'hints_ttl: 60000'), 'f.yml');
    expect(nodeOptionsFromConfig(d).cluster?.hints).toEqual({ dir: '/var/lib/dyno/hints', maxBytes: 0, ttlMs: 60000 });
    expect(() => parseConfig(file('hints_ttl: 0'), 'f.yml')).toThrow(/hints_ttl/);
  });
});

describe('durable hints', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'hints-'));
    dirs.push(d);
    return d;
  };

  it('encodes and decodes records; a torn or corrupt tail ends the valid prefix', () => {
    const recs = [{ type: 3 as const, flags: 2, at: 1234.5, bytes: Buffer.from('SET a 1') }, { type: 4 as const, flags: 0, at: 99, bytes: Buffer.alloc(0) }];
    const img = Buffer.concat(recs.flatMap((r) => [encodeHintHeader(r), r.bytes]));
    expect(decodeHintRecords(img)).toEqual({ records: recs, end: img.length });
    for (let cut = 0; cut < img.length; cut++) {
      const d = decodeHintRecords(img.subarray(0, cut));
      expect(d.records.length).toBe(cut < HINT_RECORD_HEADER + 7 ? 0 : 1);
    }
    const bad = Buffer.from(img);
    bad[HINT_RECORD_HEADER + 2] = bad[HINT_RECORD_HEADER + 2]! ^ 1; // payload byte of the first record: crc mismatch
    expect(decodeHintRecords(bad)).toEqual({ records: [], end: 0 });
    expect(hintFileName('10.0.0.1', 8101)).toBe('10.0.0.1_8101.hints');
    expect(hintFileName('a:b/c', 1)).toBe('a_b_c_1.hints');
  });

  it('survives a restart: hints are loaded in order, a torn tail is cut, the file is emptied once delivered', () => {
    const dir = tmp();
    const a = store({ dir });
    a.start();
    add(a, 1, 'SET d 1');
    add(a, 1, 'APPEND d 2', 4);
    add(a, 2, 'SET e 1');
    a.stop();
    const f1 = join(dir, hintFileName('127.0.0.1', 9001));
    expect(existsSync(f1)).toBe(true);
    const whole = statSync(f1).size;
    expect(whole).toBe(2 * HINT_RECORD_HEADER + 'SET d 1'.length + 'APPEND d 2'.length);
    appendFileSync(f1, Buffer.from('HNT1 torn record'));

    const b = store({ dir });
    b.start();
    try {
      expect(b.pendingFor(1)).toBe(2);
      expect(b.pendingFor(2)).toBe(1);
      expect(statSync(f1).size).toBe(whole); // the torn tail was cut
      links[1]!.up = true;
      b.tick();
      expect(links[1]!.sent.map((s) => [s.type, s.text])).toEqual([[3, 'SET d 1'], [4, 'APPEND d 2']]);
      links[1]!.ok(0);
      b.tick();
      expect(statSync(f1).size).toBe(whole); // one still pending: the file is not rewritten yet
      links[1]!.ok(1);
      b.tick();
      expect(statSync(f1).size).toBe(0);
      expect(statSync(join(dir, hintFileName('127.0.0.1', 9002))).size).toBeGreaterThan(0);
    } finally {
      b.stop();
    }
    // Expired hints are dropped at load time, and counted.
    clock += 120_000;
    const c = store({ dir });
    c.start();
    c.stop();
    expect(c.counts.droppedTtl).toBe(1);
    expect(c.pending).toBe(0);
  });

  it('compacts a file whose delivered records outweigh the pending ones', () => {
    const dir = tmp();
    const h = store({ dir, maxBytes: 4 << 20 });
    h.start();
    try {
      const big = 'x'.repeat(40_000);
      for (let i = 0; i < 30; i++) add(h, 1, `${i} ${big}`);
      add(h, 1, 'last');
      const f = join(dir, hintFileName('127.0.0.1', 9001));
      links[1]!.up = true;
      h.tick();
      for (let i = 0; i < 30; i++) links[1]!.ok(i);
      h.tick(); // sends 'last' (in flight: no compaction while a replay is out)
      h.tick();
      expect(statSync(f).size).toBeGreaterThan(1 << 20);
      links[1]!.fail(30);
      h.tick();
      const after = readFileSync(f);
      expect(decodeHintRecords(after).records.map((r) => r.bytes.toString())).toEqual(['last']);
    } finally {
      h.stop();
    }
  });
});

// ---- in-process clusters ----

const running: RunningNode[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const n of running.splice(0)) await n.close('test done', 100);
});

function direct(n: RunningNode, ...args: string[]): string {
  return (n.backend as MemoryBackend).store.execute(args.map((a) => Buffer.from(a))).toString('latin1');
}

interface Member { rack: string; dyn: number }

async function startMember(all: Member[], i: number, hints?: ClusterOptions['hints']): Promise<RunningNode> {
  const me = all[i]!;
  const seeds = all.filter((_, j) => j !== i).map((m) => ({ host: '127.0.0.1', port: m.dyn, rack: m.rack, dc: 'dc1', tokens: [101134286] }));
  const n = await startTestNode({
    dataStore: 'memory', rack: me.rack, datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000,
    cluster: { dynListen: { host: '127.0.0.1', port: me.dyn }, seeds, localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000, hints },
  });
  running.push(n);
  return n;
}

async function startCluster(racks: number, hints?: (i: number) => ClusterOptions['hints']): Promise<{ members: Member[]; nodes: RunningNode[] }> {
  const members: Member[] = [];
  for (let i = 0; i < racks; i++) members.push({ rack: `rack${i + 1}`, dyn: await freePort() });
  const nodes: RunningNode[] = [];
  for (let i = 0; i < racks; i++) nodes.push(await startMember(members, i, hints?.(i)));
  await until('peers to connect', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000);
  return { members, nodes };
}

async function stopMember(nodes: RunningNode[], i: number): Promise<void> {
  const n = nodes[i]!;
  running.splice(running.indexOf(n), 1);
  await n.close('test: replica down', 50);
}

/** The index of the member listening on dnode port `dyn` in node n's topology. */
function nodeIndex(n: RunningNode, dyn: number): number {
  return n.cluster!.peers.findIndex((p) => p?.name === `127.0.0.1:${dyn}`);
}

async function client(n: RunningNode): Promise<RawClient> {
  const c = await RawClient.connect(n.port);
  clients.push(c);
  return c;
}

describe('hinted handoff in a cluster (1 DC x 3 racks, in-process)', () => {
  it('hints writes for down replicas, never counts them toward a quorum, replays them in order', async () => {
    const { members, nodes } = await startCluster(3);
    const [a] = nodes;
    const bAt = nodeIndex(a!, members[1]!.dyn);
    const cAt = nodeIndex(a!, members[2]!.dyn);
    await stopMember(nodes, 1);
    await until('the link to B to go down', () => !a!.cluster!.peers[bAt]!.up);

    const c = await client(a!);
    c.write(Buffer.concat([cmd('SET', 'k', '1'), cmd('APPEND', 'k', '2'),
      cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM'), cmd('INCR', 'k'), cmd('INCR', 'k')]));
    expect((await c.replies(5)).map(String)).toEqual(['+OK\r\n', ':2\r\n', '+OK\r\n', ':13\r\n', ':14\r\n']);
    expect(a!.cluster!.hints.pendingFor(bAt)).toBe(4);
    expect(a!.stats.ours.hints_stored).toBe(4);

    // With B and C down a quorum write fails: the two hints do not make up for them.
    await stopMember(nodes, 2);
    await until('the link to C to go down', () => !a!.cluster!.peers[cAt]!.up);
    const nonQuorum = a!.stats.pool.client_non_quorum_w_responses;
    c.write(cmd('SET', 'q', 'v'));
    // The tracker names the down peers (the quorum could not be met); either way: not +OK.
    expect(String((await c.replies(1))[0])).toMatch(/^-ERR (Peer: Peer Node is down|Dynomite: Failed to achieve Quorum)\r\n$/);
    expect(a!.stats.pool.client_non_quorum_w_responses).toBe(nonQuorum + 1);
    expect(direct(a!, 'GET', 'q')).toBe('$1\r\nv\r\n'); // the live replica still took it
    expect(a!.cluster!.hints.pendingFor(bAt)).toBe(5);
    expect(a!.cluster!.hints.pendingFor(cAt)).toBe(1);
    expect(a!.stats.ours.hints_pending).toBe(6);

    // Both come back (empty embedded datastores) on the same dnode ports.
    const b = await startMember(members, 1);
    const c2 = await startMember(members, 2);
    // SET, APPEND, INCR, INCR in order on B; the failed quorum write on both.
    await until('the hints replayed into B and C', () => {
      expect([direct(b, 'GET', 'k'), direct(b, 'GET', 'q'), direct(c2, 'GET', 'q')]).toEqual(['$2\r\n14\r\n', '$1\r\nv\r\n', '$1\r\nv\r\n']);
      expect(a!.cluster!.hints.pending).toBe(0);
    }, 10_000);
    expect(a!.stats.ours.hints_replayed).toBe(6);
    expect(a!.stats.ours.hints_pending_bytes).toBe(0);
  }, 30000);

  it('with a tiny hints_max_bytes keeps the newest hints and counts the dropped ones', async () => {
    const setBytes = cmd('SET', 'key0', 'v0').length;
    const keep = 3 * (setBytes + HINT_OVERHEAD_BYTES);
    const { members, nodes } = await startCluster(2, (i) => (i === 0 ? { maxBytes: keep } : undefined));
    const [a] = nodes;
    const bAt = nodeIndex(a!, members[1]!.dyn);
    await stopMember(nodes, 1);
    await until('the link to B to go down', () => !a!.cluster!.peers[bAt]!.up);
    const c = await client(a!);
    c.write(Buffer.concat([0, 1, 2, 3, 4].map((i) => cmd('SET', `key${i}`, `v${i}`))));
    expect((await c.replies(5)).map(String)).toEqual(Array(5).fill('+OK\r\n'));
    expect(a!.stats.ours.hints_stored).toBe(5);
    expect(a!.stats.ours.hints_dropped_bytes).toBe(2);
    expect(a!.stats.ours.hints_pending_bytes).toBe(keep);
    const b = await startMember(members, 1);
    await until('the three kept hints replayed into B', () => {
      expect([0, 1, 2, 3, 4].map((i) => direct(b, 'EXISTS', `key${i}`))).toEqual([':0\r\n', ':0\r\n', ':1\r\n', ':1\r\n', ':1\r\n']);
      expect(a!.cluster!.hints.pending).toBe(0);
    }, 10_000);
    expect(a!.stats.ours.hints_replayed).toBe(3);
  }, 30000);
});

describe('durable hinted handoff in a cluster (1 DC x 2 racks, in-process)', () => {
  it('hints taken before the coordinator restarted are replayed after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hints-node-'));
    try {
      const { members, nodes } = await startCluster(2, (i) => (i === 0 ? { dir } : undefined));
      const [a] = nodes;
      const bAt = nodeIndex(a!, members[1]!.dyn);
      await stopMember(nodes, 1);
      await until('the link to B to go down', () => !a!.cluster!.peers[bAt]!.up);
      const c = await client(a!);
      c.write(Buffer.concat([cmd('SET', 'dk', 'a'), cmd('APPEND', 'dk', 'b'), cmd('APPEND', 'dk', 'c')]));
      expect((await c.replies(3)).map(String)).toEqual(['+OK\r\n', ':2\r\n', ':3\r\n']);
      expect(a!.cluster!.hints.pendingFor(bAt)).toBe(3);
      c.close();
      await stopMember(nodes, 0);
      // The coordinator comes back first (loads its hint file), then the replica.
      const a2 = await startMember(members, 0, { dir });
      expect(a2.cluster!.hints.pending).toBe(3);
      const b = await startMember(members, 1);
      await until('the hints replayed into B', () => {
        expect(direct(b, 'GET', 'dk')).toBe('$3\r\nabc\r\n');
        expect(a2.cluster!.hints.pending).toBe(0);
      }, 10_000);
      await until('the hint file to be emptied', () => statSync(join(dir, hintFileName('127.0.0.1', members[1]!.dyn))).size === 0, 3000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);
});

// ---- the guard over a real peer link: a reference to the link's copy, not a second copy ----

describe('guard over a real PeerConn', () => {
  const big = createCore({ stagingBytes: 4 << 20, connections: 1024, mbufCount: 4 });
  const flusher = new Flusher();
  const quiet = pino({ level: 'silent' });

  /** A fake peer that records every byte received per connection; `answer` replies +OK to each REQ. */
  async function recordingPeer(): Promise<{ port: number; got: Buffer[][]; answer: boolean; cut(): void; close(): Promise<void> }> {
    const got: Buffer[][] = [];
    const state = { answer: false };
    const conns = new Map<Socket, Buffer[]>();
    const srv = await fakePeerServer((s, d) => {
      let mine = conns.get(s);
      if (!mine) conns.set(s, (mine = [])), got.push(mine);
      mine.push(d);
      if (!state.answer) return;
      const all = Buffer.concat(mine).toString('latin1');
      for (const m of all.matchAll(/\$2014\$ (\d+) 3 /g)) {
        if (!(s as Socket & { answered?: Set<string> }).answered) (s as Socket & { answered?: Set<string> }).answered = new Set();
        const done = (s as Socket & { answered?: Set<string> }).answered!;
        if (done.has(m[1]!)) continue;
        // Answer once the whole message is here (header + payload).
        const head = all.indexOf('\r\n', all.indexOf(`$2014$ ${m[1]} 3 `)) + 2;
        const len = Number(/\*(\d+)\r\n$/.exec(all.slice(0, head))![1]);
        if (all.length < head + len) continue;
        done.add(m[1]!);
        s.write(dnodeMessage(Number(m[1]), 5, '+OK\r\n'));
      }
    });
    return {
      port: srv.port, got,
      get answer() { return state.answer; },
      set answer(v: boolean) { state.answer = v; },
      cut: () => { for (const s of srv.sockets) s.destroy(); },
      close: srv.close,
    };
  }

  /** The payload of the first dnode message in bytes (after its header line). */
  function payloadOf(bytes: Buffer): Buffer {
    const s = bytes.toString('latin1');
    const head = s.indexOf('\r\n') + 2;
    const len = Number(/\*(\d+)\r\n$/.exec(s.slice(0, head))![1]);
    return bytes.subarray(head, head + len);
  }

  for (const size of [100, 1 << 20]) {
    it(`a ${size}-byte write lost after it was sent is hinted and redelivered byte-exact`, async () => {
      const peer = await recordingPeer();
      const pc = new PeerConn(big, { host: '127.0.0.1', port: peer.port, dc: 'dc1', rack: 'r2', sameDc: true, timeoutMs: 5000, maxMessage: 4 << 20 }, flusher, quiet);
      const hints = new HintStore({ core: big, peer: (n) => (n === 1 ? pc : undefined), peerAddress: () => ({ host: '127.0.0.1', port: peer.port }), nodes: 2, maxBytes: 8 << 20, ttlMs: 60_000 });
      try {
        await pc.start();
        hints.start();
        const value = Buffer.from(new Prng(size).bytes(size));
        const req = resp('SET', 'big', value);
        const at = big.stagingPtr;
        big.u8.set(req, at);
        const client = new Collector();
        const g = hints.guard(client, 1, 3, big.u8, at, req.length, 0);
        pc.send(3, g, 7, at, req.length, 0, PEER_SEND_WRITE);
        hints.sealGuard(g);
        // Staging is reused by the next read: the hint must not depend on it.
        big.u8.fill(0, at, at + req.length);
        await until('the peer to receive the write', () => peer.got[0] !== undefined && Buffer.concat(peer.got[0]).length > req.length);
        expect(hints.counts.guardCopies).toBe(size > OUT_CHUNK_BYTES ? 0 : 1);
        peer.cut();
        await client.waitFor(1);
        expect(client.text(7)).toBe('FAIL PEER_ERR_REFUSED');
        expect(hints.pendingFor(1)).toBe(1);
        peer.answer = true;
        await until('the hint to be redelivered', () => hints.counts.replayed === 1, 10_000);
        const replayed = payloadOf(Buffer.concat(peer.got[1]!));
        expect(replayed.length).toBe(req.length);
        expect(replayed.equals(req)).toBe(true);
        expect(hints.pending).toBe(0);
      } finally {
        hints.stop();
        await pc.close();
        await peer.close();
      }
    }, 20_000);
  }

  it('a large write that fails inside send() (peer closed) is hinted byte-exact from the caller\'s bytes', async () => {
    const peer = await recordingPeer();
    const pc = new PeerConn(big, { host: '127.0.0.1', port: peer.port, dc: 'dc1', rack: 'r2', sameDc: true, timeoutMs: 5000, maxMessage: 4 << 20 }, flusher, quiet);
    const hints = new HintStore({ core: big, peer: (n) => (n === 1 ? pc : undefined), peerAddress: () => undefined, nodes: 2, maxBytes: 8 << 20, ttlMs: 60_000 });
    try {
      await pc.start();
      await pc.close();
      const req = resp('SET', 'k', Buffer.from(new Prng(3).bytes(100_000)));
      big.u8.set(req, big.stagingPtr);
      const client = new Collector();
      const g = hints.guard(client, 1, 3, big.u8, big.stagingPtr, req.length, 0);
      pc.send(3, g, 1, big.stagingPtr, req.length, 0, PEER_SEND_WRITE);
      hints.sealGuard(g);
      big.u8.fill(0, big.stagingPtr, big.stagingPtr + req.length);
      expect(client.text(1)).toBe('FAIL PEER_ERR_NOT_CONNECTED');
      const kept = (hints as unknown as { peers: { q: { bytes: Buffer }[] }[] }).peers[1]!.q[0]!.bytes;
      expect(kept.equals(req)).toBe(true);
    } finally {
      await peer.close();
    }
  });
});
