// Read repair: a quorum read whose replicas disagree rewrites the divergent replicas with the
// winning replica's state (SET for strings, DUMP/RESTORE otherwise, TTL kept), rate-limited.
//
// Three nodes in one process, one per rack of one DC, each on its own embedded datastore. A
// coordinator's own replica answers first (synchronously), so diverging it is the deterministic
// way to get a divergent reply counted before the quorum decides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { rewriteFor, type ReadRepair } from '../src/repair/read-repair.js';
import { bulkReply, integerReply } from '../src/protocol/replies.js';
import { isProxyErrorReply } from '../src/errors.js';
import { TokenBucket } from '../src/repair/rate-limit.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const s = (x: Buffer | undefined): string => (x === undefined ? 'undefined' : x.toString('latin1'));

describe('rewriteFor (what divergent replicas get)', () => {
  const key = b('k');
  const cases: [string, 'get' | 'dump', string, string, string][] = [
    ['string with TTL', 'get', ':5000\r\n', '$3\r\nabc\r\n', 'SET k abc PX 5000'],
    ['string without TTL', 'get', ':-1\r\n', '$3\r\nabc\r\n', 'SET k abc'],
    ['empty string', 'get', ':-1\r\n', '$0\r\n\r\n', 'SET k '],
    ['string gone (expired between)', 'get', ':10\r\n', '$-1\r\n', 'DEL k'],
    ['key absent', 'dump', ':-2\r\n', '$-1\r\n', 'DEL k'],
    ['created between PTTL and GET', 'get', ':-2\r\n', '$1\r\nv\r\n', 'SET k v'],
    ['dump with TTL', 'dump', ':750\r\n', '$4\r\n\x01\x02\r\n\r\n', 'RESTORE k 750 \x01\x02\r\n REPLACE'],
    ['dump without TTL', 'dump', ':-1\r\n', '$2\r\nzz\r\n', 'RESTORE k 0 zz REPLACE'],
  ];
  it.each(cases)('%s', (_name, mode, pttl, value, want) => {
    const r = rewriteFor(key, mode, b(pttl), b(value));
    expect(r.kind).toBe('write');
    if (r.kind === 'write') expect(r.args.map(s).join(' ')).toBe(want);
  });

  it('GET on another type falls back to DUMP; other errors give up', () => {
    expect(rewriteFor(key, 'get', b(':-1\r\n'), b('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'))).toEqual({ kind: 'dump' });
    expect(rewriteFor(key, 'dump', b(':-1\r\n'), b('-WRONGTYPE x\r\n')).kind).toBe('error');
    expect(rewriteFor(key, 'get', b('-ERR boom\r\n'), b('$1\r\nv\r\n')).kind).toBe('error');
    expect(rewriteFor(key, 'dump', b(':-1\r\n'), b('+OK\r\n')).kind).toBe('error');
  });

  it('parses replies strictly', () => {
    expect(integerReply(b(':-2\r\n'))).toBe(-2);
    expect(integerReply(b(':12x\r\n'))).toBeUndefined();
    expect(integerReply(b('$1\r\n1\r\n'))).toBeUndefined();
    expect(s(bulkReply(b('$3\r\na\r\n\r\n')) ?? undefined)).toBe('a\r\n');
    expect(bulkReply(b('$-1\r\n'))).toBeNull();
    expect(bulkReply(b('$4\r\nabc\r\n'))).toBeUndefined(); // truncated
    expect(bulkReply(b('*1\r\n$1\r\na\r\n'))).toBeUndefined();
    const isProxyError = (x: Buffer): boolean => isProxyErrorReply(x, 0, x.length);
    expect(isProxyError(b('-ERR Storage: Datastore refused connection\r\n'))).toBe(true);
    expect(isProxyError(b('-ERR Peer: Peer Node is down\r\n'))).toBe(true);
    expect(isProxyError(b('-ERR Dynomite: Failed to achieve Quorum\r\n'))).toBe(true);
    expect(isProxyError(b('SERVER_ERROR Storage: Datastore refused connection\r\n'))).toBe(true);
    expect(isProxyError(b('SERVER_ERROR Peer: Peer Node is down\r\n'))).toBe(true);
    expect(isProxyError(b('-WRONGTYPE Operation against a key\r\n'))).toBe(false);
    expect(isProxyError(b('-ERR unknown command\r\n'))).toBe(false);
    expect(isProxyError(b('SERVER_ERROR out of memory storing object\r\n'))).toBe(false);
    expect(isProxyError(b('STORED\r\n'))).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('passes a burst of `rate`, then `rate` per second', () => {
    let now = 1000;
    const t = new TokenBucket({ ratePerSecond: 2, now: () => now });
    expect([t.tryTake(), t.tryTake(), t.tryTake()]).toEqual([true, true, false]);
    now += 499;
    expect(t.tryTake()).toBe(false);
    now += 1;
    expect(t.tryTake()).toBe(true);
    now += 10_000; // capped at capacity
    expect([t.tryTake(), t.tryTake(), t.tryTake()]).toEqual([true, true, false]);
    t.configure(0);
    now += 10_000;
    expect(t.tryTake()).toBe(false);
    t.configure(Infinity);
    expect(Array.from({ length: 1000 }, () => t.tryTake()).every(Boolean)).toBe(true);
    expect(() => t.configure(-1)).toThrow(RangeError);
  });
});

// ---- the in-process cluster -----------------------------------------------------------------

const nodes: RunningNode[] = [];
const clients: RawClient[] = [];

async function client(n: RunningNode): Promise<RawClient> {
  const c = await RawClient.connect(n.port);
  clients.push(c);
  c.write(cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM'));
  expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
  return c;
}

/** Runs a command on a node's own datastore (no routing). */
function direct(n: RunningNode, ...args: string[]): string {
  return (n.backend as MemoryBackend).store.execute(args.map(b)).toString('latin1');
}

function everywhere(...args: string[]): void {
  for (const n of nodes) direct(n, ...args);
}

function repairOf(n: RunningNode): ReadRepair {
  return n.cluster!.readRepair;
}

/** The node index of `other` in `n`'s topology. */
function indexIn(n: RunningNode, other: RunningNode): number {
  const i = n.cluster!.topology().nodes.findIndex((x, k) => k > 0 && x.port === other.cluster!.dynPort);
  if (i < 1) throw new Error('peer not in topology');
  return i;
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function read(c: RawClient, ...args: string[]): Promise<string> {
  c.write(cmd(...args));
  return String((await c.replies(1))[0]);
}

function pttl(n: RunningNode, key: string): number {
  return Number(direct(n, 'PTTL', key).slice(1, -2));
}

beforeAll(async () => {
  const dyn = [await freePort(), await freePort(), await freePort()];
  const racks = ['rack1', 'rack2', 'rack3'];
  for (let i = 0; i < 3; i++) {
    const seeds = [0, 1, 2].filter((j) => j !== i).map((j) => ({ host: '127.0.0.1', port: dyn[j]!, rack: racks[j]!, dc: 'dc1', tokens: [101134286] }));
    nodes.push(await startTestNode({
      dataStore: 'memory', rack: racks[i]!, datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000, readRepairs: true,
      cluster: { dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000 },
    }));
  }
  const deadline = Date.now() + 10000;
  while (!nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up))) {
    if (Date.now() > deadline) throw new Error('peers did not connect');
    await sleep(50);
  }
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.close('test done', 100);
});

describe('read repair in a 3-rack cluster', () => {
  it('rewrites a divergent string with SET, keeping the TTL', async () => {
    const [a] = nodes as [RunningNode];
    const before = { ...repairOf(a).counts };
    everywhere('SET', 'str', 'good', 'PX', '60000');
    direct(a, 'SET', 'str', 'stale'); // a's own replica diverges, without TTL
    const c = await client(a);
    expect(await read(c, 'GET', 'str')).toBe('$4\r\ngood\r\n');
    await until('the repair', () => direct(a, 'GET', 'str') === '$4\r\ngood\r\n');
    const t = pttl(a, 'str');
    expect(t).toBeGreaterThan(55_000);
    expect(t).toBeLessThanOrEqual(60_000);
    await until('the counters', () => repairOf(a).counts.repaired === before.repaired + 1);
    expect(repairOf(a).counts).toMatchObject({
      divergences: before.divergences + 1, replicas: before.replicas + 1, failed: before.failed, skipped: before.skipped,
    });
    // The other replicas were the winners: untouched.
    for (const n of nodes) expect(direct(n, 'GET', 'str')).toBe('$4\r\ngood\r\n');
    // Counted in the node's stats (/metrics and -D).
    expect(a.stats.ours.read_repairs).toBe(repairOf(a).counts.repaired);
    expect(a.stats.ours.read_repair_replicas).toBeGreaterThanOrEqual(1);
  });

  it('repairs a stale peer replica, also when its reply comes after the quorum decided', async () => {
    const [a, , c3] = nodes as [RunningNode, RunningNode, RunningNode];
    for (let i = 0; i < 5; i++) {
      everywhere('SET', `late${i}`, 'good');
      direct(c3, 'SET', `late${i}`, 'stale'); // a peer's replica diverges
      const c = await client(a);
      expect(await read(c, 'GET', `late${i}`)).toBe('$4\r\ngood\r\n');
      await until(`the repair of late${i}`, () => direct(c3, 'GET', `late${i}`) === '$4\r\ngood\r\n');
    }
  });

  it('rewrites a divergent hash with DUMP/RESTORE, keeping the TTL', async () => {
    const [a] = nodes as [RunningNode];
    everywhere('HSET', 'h', 'f1', 'v1', 'f2', 'v2');
    everywhere('PEXPIRE', 'h', '90000');
    direct(a, 'DEL', 'h');
    direct(a, 'HSET', 'h', 'f1', 'other', 'f3', 'extra');
    const want = direct(nodes[1]!, 'HGETALL', 'h');
    const c = await client(a);
    expect(await read(c, 'HGETALL', 'h')).toBe(want);
    await until('the repair', () => direct(a, 'HGETALL', 'h') === want);
    const t = pttl(a, 'h');
    expect(t).toBeGreaterThan(85_000);
    expect(t).toBeLessThanOrEqual(90_000);
  });

  it('a bulk reply of another type (HGET) tries GET, then repairs with DUMP/RESTORE', async () => {
    const [a] = nodes as [RunningNode];
    everywhere('HSET', 'h2', 'f', 'right', 'g', 'kept');
    direct(a, 'HSET', 'h2', 'f', 'wrong');
    direct(a, 'HDEL', 'h2', 'g');
    const want = direct(nodes[1]!, 'HGETALL', 'h2');
    const c = await client(a);
    expect(await read(c, 'HGET', 'h2', 'f')).toBe('$5\r\nright\r\n');
    await until('the repair', () => direct(a, 'HGETALL', 'h2') === want);
    expect(direct(a, 'TYPE', 'h2')).toBe('+hash\r\n');
    expect(pttl(a, 'h2')).toBe(-1);
  });

  it('deletes the key where the winning replica has none', async () => {
    const [a] = nodes as [RunningNode];
    everywhere('DEL', 'ghost');
    direct(a, 'SET', 'ghost', 'boo');
    const c = await client(a);
    expect(await read(c, 'GET', 'ghost')).toBe('$-1\r\n');
    await until('the repair', () => direct(a, 'EXISTS', 'ghost') === ':0\r\n');
  });

  it('rewrites a peer replica (fetching from the local one)', async () => {
    const [a, bNode] = nodes as [RunningNode, RunningNode];
    everywhere('SET', 'remote', 'fresh', 'PX', '30000');
    direct(bNode, 'SET', 'remote', 'old');
    expect(repairOf(a).repair(b('remote'), 0, [indexIn(a, bNode)])).toBe(true);
    await until('the repair', () => direct(bNode, 'GET', 'remote') === '$5\r\nfresh\r\n');
    const t = pttl(bNode, 'remote');
    expect(t).toBeGreaterThan(25_000);
    expect(t).toBeLessThanOrEqual(30_000);
  });

  it('does nothing when read repairs are disabled', async () => {
    const [a] = nodes as [RunningNode];
    a.control.setReadRepairs(false);
    try {
      const before = { ...repairOf(a).counts };
      everywhere('SET', 'off', 'good');
      direct(a, 'SET', 'off', 'stale');
      const c = await client(a);
      expect(await read(c, 'GET', 'off')).toBe('$4\r\ngood\r\n');
      await sleep(200);
      expect(direct(a, 'GET', 'off')).toBe('$5\r\nstale\r\n');
      expect(repairOf(a).counts).toEqual(before);
    } finally {
      a.control.setReadRepairs(true);
    }
  });

  it('respects the rate limit: the rest is skipped, not queued', async () => {
    const [a] = nodes as [RunningNode];
    const rr = repairOf(a);
    await until('idle', () => rr.pending === 0);
    const before = { ...rr.counts };
    rr.setMaxPerSecond(2);
    try {
      const keys = Array.from({ length: 10 }, (_, i) => `rl${i}`);
      for (const k of keys) {
        everywhere('SET', k, 'good');
        direct(a, 'SET', k, 'stale');
      }
      const c = await client(a);
      c.write(Buffer.concat(keys.map((k) => cmd('GET', k))));
      expect((await c.replies(10)).map(String)).toEqual(keys.map(() => '$4\r\ngood\r\n'));
      await until('two repairs', () => rr.counts.repaired === before.repaired + 2);
      await sleep(300);
      const fixed = keys.filter((k) => direct(a, 'GET', k) === '$4\r\ngood\r\n');
      expect(fixed).toHaveLength(2);
      expect(rr.counts.skipped).toBe(before.skipped + 8);
      expect(rr.counts.repaired).toBe(before.repaired + 2);
    } finally {
      rr.setMaxPerSecond(100);
    }
  });

  it('counts a failed repair and logs instead of throwing', async () => {
    const [a] = nodes as [RunningNode];
    const rr = repairOf(a);
    const before = { ...rr.counts };
    // Node 99 does not exist: the rewrite fails (no link), the fetch from the local one worked.
    everywhere('SET', 'nowhere', 'x');
    expect(rr.repair(b('nowhere'), 0, [99])).toBe(true);
    await until('the failure', () => rr.counts.failed === before.failed + 1);
    expect(rr.counts.repaired).toBe(before.repaired);
    expect(rr.pending).toBe(0);
  });

  it('skips a key already in repair', async () => {
    const [a, bNode] = nodes as [RunningNode, RunningNode];
    const rr = repairOf(a);
    const before = { ...rr.counts };
    everywhere('SET', 'twice', 'x');
    const to = [indexIn(a, bNode)];
    expect(rr.repair(b('twice'), 0, to)).toBe(true);
    expect(rr.repair(b('twice'), 0, to)).toBe(false); // queued, not started yet
    expect(rr.counts.skipped).toBe(before.skipped + 1);
    await until('done', () => rr.pending === 0);
    expect(rr.counts.repaired).toBe(before.repaired + 1);
  });
});
