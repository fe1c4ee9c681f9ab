// Hints with versions (src/repair/hint-apply.ts, hints.ts, journal-backend.ts): nodes in-process,
// each over its own redis-server, every node owning every key (one token, one node per rack). A
// replica is "away" from a coordinator with /peer/down (the coordinator hints its writes) and comes
// back with /peer/up; what matters is read in every backing redis directly.
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../src/node.js';
import { nodeOptions, silentLogger } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort, startRedis, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';

const TOKEN = 101134286;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Member { node: RunningNode; redis: RunningServer; dyn: number; rack: string }

async function startMembers(n: number, peerTimeoutMs = 3000): Promise<Member[]> {
  const dyn: number[] = [];
  for (let i = 0; i < n; i++) dyn.push(await freePort());
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const rack = `rack${i + 1}`;
    const seeds = dyn.flatMap((port, j) => (j === i ? [] : [{ host: '127.0.0.1', port, rack: `rack${j + 1}`, dc: 'dc1', tokens: [TOKEN] }]));
    const node = await startNode(nodeOptions({
      dataStore: 'redis', server: { host: '127.0.0.1', port: redis.port }, rack, datacenter: 'dc1', tokens: [TOKEN], timeoutMs: 3000,
      cluster: {
        dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds,
        localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: peerTimeoutMs, peerWriteTimeoutMs: peerTimeoutMs,
      },
    }), { logger: silentLogger });
    cleanups.push(() => node.close('test done', 100));
    members.push({ node, redis, dyn: dyn[i]!, rack });
  }
  await until('every peer known as dynomite-ts', () => {
    for (const m of members) for (let p = 1; p < n; p++) expect(m.node.cluster!.peerCaps.of(p)).toBe('dynomite-ts');
  }, 10_000);
  return members;
}

async function client(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  cleanups.push(() => c.close());
  return c;
}

async function call(c: RawClient, ...args: string[]): Promise<string> {
  c.write(cmd(...args));
  return (await c.replies(1))[0]!.toString('latin1');
}

/** Node `of`'s index for member `m`. */
function indexOf(of: Member, m: Member): number {
  return of.node.cluster!.peers.findIndex((p) => p?.name === `127.0.0.1:${m.dyn}`);
}

const name = (m: Member): string => `127.0.0.1:${m.dyn}`;

describe('hints with versions', () => {
  it('a hint replay racing a newer write leaves the newer value in the peer\'s redis', async () => {
    const [a, b] = await startMembers(2);
    const ca = await client(a!.node.port);
    const cb = await client(b!.node.port);
    a!.node.cluster!.peerAction('down', name(b!));
    expect(await call(ca, 'SET', 'k', 'old')).toBe('+OK\r\n');
    expect(a!.node.cluster!.hints.pendingFor(indexOf(a!, b!))).toBe(1);
    // The newer write goes through B: B and A both take it.
    expect(await call(cb, 'SET', 'k', 'new')).toBe('+OK\r\n');
    const ra = await client(a!.redis.port);
    const rb = await client(b!.redis.port);
    await until('A has the newer value', async () => expect(await call(ra, 'GET', 'k')).toBe('$3\r\nnew\r\n'));
    a!.node.cluster!.peerAction('up', name(b!));
    await until('the hint delivered', () => expect(a!.node.cluster!.hints.pending).toBe(0), 10_000);
    expect(b!.node.cluster!.hintApply.counts).toEqual({ applied: 0, skippedNewer: 1, skippedFloor: 0 });
    expect(b!.node.stats.ours.hints_skipped_newer).toBe(1);
    expect(b!.node.stats.ours.write_journal_keys).toBe(1);
    expect(await call(rb, 'GET', 'k')).toBe('$3\r\nnew\r\n');
    expect(await call(ra, 'GET', 'k')).toBe('$3\r\nnew\r\n');
  }, 30_000);

  it('DYNO_HINT is refused from clients (only the dnode listener takes it)', async () => {
    const [a] = await startMembers(2);
    const ca = await client(a!.node.port);
    expect(await call(ca, 'DYNO_HINT', '0', cmd('SET', 'k', 'v').toString('latin1'))).toMatch(/^-ERR unknown command 'DYNO_HINT'/);
    expect(await call(await client(a!.redis.port), 'EXISTS', 'k')).toBe(':0\r\n');
  }, 30_000);

  it('hints of one key in the same millisecond are all applied, in order (no newer write)', async () => {
    const [a, b] = await startMembers(2);
    const ca = await client(a!.node.port);
    a!.node.cluster!.peerAction('down', name(b!));
    ca.write(Buffer.concat([cmd('SET', 'k', '1'), cmd('APPEND', 'k', '2'), cmd('INCR', 'k'), cmd('INCR', 'k')]));
    expect((await ca.replies(4)).map(String)).toEqual(['+OK\r\n', ':2\r\n', ':13\r\n', ':14\r\n']);
    a!.node.cluster!.peerAction('up', name(b!));
    await until('the hints delivered', () => expect(a!.node.cluster!.hints.pending).toBe(0), 10_000);
    expect(b!.node.cluster!.hintApply.counts.applied).toBe(4);
    expect(await call(await client(b!.redis.port), 'GET', 'k')).toBe('$2\r\n14\r\n');
  }, 30_000);

  it('an older hinted INCR is applied although a newer INCR reached the replica first: no acknowledged increment is dropped', async () => {
    // The chaos suite's kill -9 case: a replica back from a crash takes new INCRs at once, and the
    // hints of the INCRs it missed arrive after them. Skipping those as "older" would lose them on
    // this replica, and anti-entropy would then spread the lower count.
    const [a, b] = await startMembers(2);
    const ca = await client(a!.node.port);
    const cb = await client(b!.node.port);
    a!.node.cluster!.peerAction('down', name(b!));
    for (let i = 1; i <= 5; i++) expect(await call(ca, 'INCR', 'ctr')).toBe(`:${i}\r\n`);
    expect(a!.node.cluster!.hints.pendingFor(indexOf(a!, b!))).toBe(5);
    // B takes a newer INCR from its own client (and A applies it too: A -> 6).
    expect(await call(cb, 'INCR', 'ctr')).toBe(':1\r\n');
    const ra = await client(a!.redis.port);
    const rb = await client(b!.redis.port);
    await until('A has the newer increment', async () => expect(await call(ra, 'GET', 'ctr')).toBe('$1\r\n6\r\n'));
    a!.node.cluster!.peerAction('up', name(b!));
    await until('the hints delivered', () => expect(a!.node.cluster!.hints.pending).toBe(0), 10_000);
    expect(b!.node.cluster!.hintApply.counts).toEqual({ applied: 5, skippedNewer: 0, skippedFloor: 0 });
    expect(await call(rb, 'GET', 'ctr')).toBe('$1\r\n6\r\n');
  }, 30_000);

  it('an INCR that timed out at the coordinator but was applied is applied again by its hint (at-least-once), a redelivered hint is not', async () => {
    // Peer requests time out after min(timeout, 400) + 200 ms; B's redis holds writes for 1.5 s.
    const [a, b] = await startMembers(2, 400);
    const ca = await client(a!.node.port);
    const rb = await client(b!.redis.port);
    expect(await call(rb, 'CLIENT', 'PAUSE', '1500', 'WRITE')).toBe('+OK\r\n');
    expect(await call(ca, 'INCR', 'ctr')).toBe(':1\r\n'); // DC_ONE: A's own reply
    await until('the timed-out write hinted', () => expect(a!.node.stats.ours.hints_stored).toBe(1), 5000);
    await until('the hint delivered', () => expect(a!.node.cluster!.hints.pending).toBe(0), 10_000);
    // The first replay's +OK waits behind the paused INCR on the same dnode connection, so it may
    // time out and be replayed again: that redelivery is recognised (same origin) and skipped.
    expect(b!.node.cluster!.hintApply.counts.applied).toBe(1);
    await until('B applied the original and its hint', async () => expect(await call(rb, 'GET', 'ctr')).toBe('$1\r\n2\r\n'), 5000);
    expect(await call(await client(a!.redis.port), 'GET', 'ctr')).toBe('$1\r\n1\r\n');
  }, 30_000);

  it('a DEL at quorum while a replica was away is not undone by the replay of an older SET hint', async () => {
    const [a, b, c] = await startMembers(3);
    const ca = await client(a!.node.port);
    const cb = await client(b!.node.port);
    a!.node.cluster!.peerAction('down', name(c!));
    b!.node.cluster!.peerAction('down', name(c!));
    expect(await call(ca, 'SET', 'k', 'v')).toBe('+OK\r\n');
    expect(await call(cb, 'DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM')).toBe('+OK\r\n');
    expect(await call(cb, 'DEL', 'k')).toBe(':1\r\n');
    // C hears of the DEL first (B's hint), then of the older SET (A's hint).
    b!.node.cluster!.peerAction('up', name(c!));
    await until('B\'s hint delivered', () => expect(b!.node.cluster!.hints.pending).toBe(0), 10_000);
    a!.node.cluster!.peerAction('up', name(c!));
    await until('A\'s hint delivered', () => expect(a!.node.cluster!.hints.pending).toBe(0), 10_000);
    expect(c!.node.cluster!.hintApply.counts).toEqual({ applied: 1, skippedNewer: 1, skippedFloor: 0 });
    expect(c!.node.cluster!.journal.lookup(Buffer.from('k'))?.deleted).toBe(true);
    for (const m of [a!, b!, c!]) expect(await call(await client(m.redis.port), 'EXISTS', 'k')).toBe(':0\r\n');
  }, 30_000);
});
