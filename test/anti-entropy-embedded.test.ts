// Anti-entropy on the embedded datastore (three in-process nodes, one per rack, each over its own
// MemoryStore), and with a peer that is not dynomite-ts (a Netflix-like peer that forwards every
// request to its redis): skipped with its reason, never sent the carrier.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startNode, type RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { nodeOptions } from './helpers/node.js';
import { ScriptedDnodePeer } from './helpers/dnode-peer.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort, startMemcached, startRedis } from './helpers/servers.js';
import { until } from './helpers/until.js';
import { keyToken } from './helpers/cluster.js';

const TOKEN = 101134286;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A logger whose lines the test reads. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function direct(n: RunningNode, ...args: string[]): Buffer {
  return (n.backend as MemoryBackend).store.execute(args.map((a) => Buffer.from(a)));
}

/** Every key of node n's embedded store, sorted, with its DUMP. */
function contents(n: RunningNode): [string, string][] {
  const keys = direct(n, 'KEYS', '*').toString('latin1').split('\r\n').filter((_, i) => i > 0 && i % 2 === 0).sort();
  return keys.map((k) => [k, direct(n, 'DUMP', k).toString('latin1')]);
}

async function passOn(n: RunningNode): Promise<ReturnType<NonNullable<RunningNode['cluster']>['antiEntropy']['status']>> {
  const ae = n.cluster!.antiEntropy;
  const before = ae.status().passes;
  expect(ae.run('manual').started).toBe(true);
  await until('the pass to finish', () => {
    expect(ae.status().passes).toBe(before + 1);
    expect(ae.status().running).toBe(false);
  }, 20_000, 20);
  return ae.status();
}

/** Three in-process nodes, one per rack, each over its own embedded store; rate in keys/s (0 = unpaced). */
async function embeddedCluster(rate: number, logger0?: pino.Logger): Promise<RunningNode[]> {
  const dyn = [await freePort(), await freePort(), await freePort()];
  const racks = ['rack1', 'rack2', 'rack3'];
  const nodes: RunningNode[] = [];
  for (let i = 0; i < 3; i++) {
    const seeds = [0, 1, 2].filter((j) => j !== i).map((j) => ({ host: '127.0.0.1', port: dyn[j]!, rack: racks[j]!, dc: 'dc1', tokens: [TOKEN] }));
    const n = await startNode(nodeOptions({
      dataStore: 'memory', rack: racks[i]!, datacenter: 'dc1', tokens: [TOKEN], timeoutMs: 2000,
      cluster: { dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1,
        peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000, antiEntropy: { intervalMs: 0, ratePerSecond: rate } },
    }), { logger: i === 0 && logger0 ? logger0 : pino({ level: 'silent' }) });
    nodes.push(n);
    cleanups.push(() => n.close('test done', 100));
  }
  await until('every node knows every peer is dynomite-ts', () => {
    for (const n of nodes) for (const p of [1, 2]) expect(n.cluster!.peerCaps.of(p)).toBe('dynomite-ts');
  }, 10_000, 50);
  return nodes;
}

/**
 * A write applied to node n's store and recorded in its journal, as the node's journal records
 * every write that reaches its datastore: the journal is what anti-entropy's version rule and its
 * conditional apply read.
 */
function writeAt(n: RunningNode, key: string, value: string | null, ts = n.cluster!.journal.stamp()): void {
  if (value === null) direct(n, 'DEL', key);
  else direct(n, 'SET', key, value);
  n.cluster!.journal.record(Buffer.from(key), ts, value === null, keyToken(key));
}

describe('anti-entropy, embedded datastore', () => {
  it('a store that lost its keys and one with a damaged value converge on every rack', async () => {
    const nodes = await embeddedCluster(0);
    const c = await RawClient.connect(nodes[0]!.port);
    cleanups.push(() => c.close());
    const M = 200;
    c.write(Buffer.concat(Array.from({ length: M }, (_, k) => (k % 2 === 0 ? cmd('SET', `k${k}`, `v${k}`) : cmd('HSET', `h${k}`, 'f', `${k}`)))));
    expect((await c.replies(M)).filter((r) => r[0] === 45)).toEqual([]);
    await until('every write on every rack', () => expect(nodes.map((n) => contents(n).length)).toEqual([M, M, M]), 5000);
    expect(direct(nodes[2]!, 'FLUSHALL').toString()).toBe('+OK\r\n');
    expect(direct(nodes[1]!, 'SET', 'k0', 'damaged').toString()).toBe('+OK\r\n');
    const s0 = await passOn(nodes[0]!);
    expect(s0.lastPass).toMatchObject({ ranges: 2, rangesCompared: 2, errors: [], unsupported: null, percentDone: 100 });
    expect(s0.lastPass!.keysRepaired).toBeGreaterThanOrEqual(M);
    // r1 starts r1-r2 and r1-r3; r2 starts r2-r3: after both every rack holds the same bytes.
    await passOn(nodes[1]!);
    const want = contents(nodes[0]!);
    expect(want.length).toBe(M);
    expect(contents(nodes[1]!)).toEqual(want);
    expect(contents(nodes[2]!)).toEqual(want);
    // Converged: a further pass repairs nothing.
    const again = await passOn(nodes[0]!);
    expect(again.lastPass).toMatchObject({ keysRepaired: 0, keysCompared: 2 * M, errors: [] });
    // A peer in STANDBY refuses the exchange with Netflix's state error; a node in STANDBY starts none.
    nodes[2]!.control.setState('STANDBY');
    const refused = await passOn(nodes[0]!);
    expect(refused.lastPass!.rangesCompared).toBe(1);
    expect(refused.lastPass!.errors).toEqual([expect.stringMatching(/^range \[0, 4294967295\] with 127\.0\.0\.1:\d+: peer answered -ERR Dynomite: Dynomite's current state does not allow this request$/)]);
    const own = await passOn(nodes[2]!);
    expect(own.lastPass!.errors).toEqual(["this node's state does not allow anti-entropy (it reads and writes the datastore)"]);
  }, 60_000);

  it('a key deleted while a replica was away is deleted there, not resurrected; a newer client write is never overwritten', async () => {
    const nodes = await embeddedCluster(0);
    const t0 = nodes[0]!.cluster!.journal.stamp();
    for (const n of nodes) writeAt(n, 'gone', 'v', t0);
    // Deleted on r1 and r3 (tombstones) while r2 was away: r2 still holds the value with its older clock.
    for (const i of [0, 2]) writeAt(nodes[i]!, 'gone', null, t0 + 10);
    // Written again on r3 after a delete elsewhere: r3's newer value wins on every replica.
    for (const n of nodes) writeAt(n, 'back', 'old', t0);
    writeAt(nodes[0]!, 'back', null, t0 + 5);
    writeAt(nodes[1]!, 'back', null, t0 + 5);
    writeAt(nodes[2]!, 'back', 'newest', t0 + 20);
    await passOn(nodes[0]!);
    await passOn(nodes[1]!);
    expect(nodes.map((n) => direct(n, 'EXISTS', 'gone').toString())).toEqual([':0\r\n', ':0\r\n', ':0\r\n']);
    expect(nodes.map((n) => direct(n, 'GET', 'back').toString())).toEqual(nodes.map(() => '$6\r\nnewest\r\n'));
    // The repairs are in the journals: a further pass finds nothing to do.
    expect(nodes[1]!.cluster!.journal.lookup(Buffer.from('gone'))).toMatchObject({ deleted: true, ts: t0 + 10 });
    const again = await passOn(nodes[0]!);
    expect(again.lastPass).toMatchObject({ keysRepaired: 0, errors: [] });
  }, 60_000);

  it('a client write that lands on the receiver during a pass is not overwritten by it', async () => {
    // Paced at 20 keys/s: the repairs of 60 lost keys take ~3 s, time to write the last one first.
    const { logger, lines } = capturingLogger();
    const nodes = await embeddedCluster(20, logger);
    const M = 60;
    const keys = Array.from({ length: M }, (_, k) => `w${k}`);
    for (const k of keys) for (const n of nodes) writeAt(n, k, `old-${k}`);
    expect(direct(nodes[1]!, 'FLUSHALL').toString()).toBe('+OK\r\n');
    // Repairs go in token order: the key with the highest token is repaired last.
    const last = [...keys].sort((a, b) => keyToken(b) - keyToken(a))[0]!;
    const ae = nodes[0]!.cluster!.antiEntropy;
    expect(ae.run('manual').started).toBe(true);
    await until('the first repairs', () => expect(ae.status().lastPass!.keysRepaired).toBeGreaterThan(0), 20_000, 5);
    // A real client write, through r2's client port: it reaches every rack, and r2's journal records it.
    const c = await RawClient.connect(nodes[1]!.port);
    cleanups.push(() => c.close());
    c.write(cmd('SET', last, 'client-write'));
    expect((await c.replies(1))[0]!.toString()).toBe('+OK\r\n');
    await until('the pass to finish', () => expect(ae.status().running).toBe(false), 20_000, 20);
    const p = ae.status().lastPass!;
    expect(p.errors).toEqual([]);
    expect(direct(nodes[1]!, 'GET', last).toString()).toBe('$12\r\nclient-write\r\n');
    // Every other lost key reached r2; the one written meanwhile was skipped there, not overwritten.
    // Against r3 (compared after the write) the key is skipped too: r1's journal shows the client
    // write after r1's snapshot read the key, so r1's snapshot value is stale.
    expect({ skipped: p.repairsSkipped, repaired: p.keysRepaired, differing: p.keysDiffering }).toEqual({ skipped: 2, repaired: M - 1, differing: M + 1 });
    expect(nodes.map((n) => direct(n, 'GET', last).toString())).toEqual(nodes.map(() => '$12\r\nclient-write\r\n'));
    expect(p.keysRepaired).toBe(M - 1);
    expect(contents(nodes[1]!).length).toBe(M);
    // Percent done in the log while it ran (the snapshot, then each of the two segments), and the end line.
    const progress = lines.filter((l) => l.msg === 'anti-entropy: progress').map((l) => l.percentDone as number);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(progress[progress.length - 1]).toBeLessThan(100);
    expect(lines.filter((l) => l.msg === 'anti-entropy: pass finished').map((l) => [l.percentDone, l.keysRepaired, l.repairsSkipped])).toEqual([[100, M - 1, 2]]);
  }, 60_000);

  it('a memcached node says anti-entropy is unsupported, in its JSON and its log', async () => {
    const mcs = [await startMemcached(), await startMemcached()];
    for (const m of mcs) cleanups.push(() => m.stop());
    const dyn = [await freePort(), await freePort()];
    const { logger, lines } = capturingLogger();
    const nodes: RunningNode[] = [];
    for (let i = 0; i < 2; i++) {
      const n = await startNode(nodeOptions({
        dataStore: 'memcache', server: { host: '127.0.0.1', port: mcs[i]!.port }, rack: `rack${i + 1}`, datacenter: 'dc1', tokens: [TOKEN],
        cluster: { dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds: [{ host: '127.0.0.1', port: dyn[1 - i]!, rack: `rack${2 - i}`, dc: 'dc1', tokens: [TOKEN] }],
          localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000, antiEntropy: { intervalMs: 0, ratePerSecond: 0 } },
      }), { logger: i === 0 ? logger : pino({ level: 'silent' }) });
      nodes.push(n);
      cleanups.push(() => n.close('test done', 100));
    }
    const s = await passOn(nodes[0]!);
    const why = 'memcached datastores have no SCAN / DUMP / PTTL to snapshot and restore from: anti-entropy is unsupported for them';
    expect(s.lastPass).toMatchObject({ unsupported: why, ranges: 0, keysCompared: 0, errors: [] });
    expect(lines.filter((l) => l.msg === 'anti-entropy: pass skipped').map((l) => l.reason)).toEqual([why]);
  }, 30_000);

  it("a peer that is not dynomite-ts is skipped with the reason logged, and never sees the carrier", async () => {
    const r = await startRedis();
    cleanups.push(() => r.stop());
    const toRedis = await RawClient.connect(r.port);
    cleanups.push(() => toRedis.close());
    let chain: Promise<unknown> = Promise.resolve();
    const fake = await ScriptedDnodePeer.start((q) => {
      chain = chain.then(async () => {
        toRedis.write(q.payload);
        q.reply((await toRedis.replies(1))[0]!);
      });
    });
    cleanups.push(() => fake.close());
    const own = await startRedis();
    cleanups.push(() => own.stop());
    const { logger, lines } = capturingLogger();
    const a = await startNode(nodeOptions({
      dataStore: 'redis', server: { host: '127.0.0.1', port: own.port }, rack: 'rack1', datacenter: 'dc1', tokens: [TOKEN], timeoutMs: 3000,
      cluster: {
        dynListen: { host: '127.0.0.1', port: await freePort() },
        seeds: [{ host: '127.0.0.1', port: fake.port, rack: 'rack2', dc: 'dc1', tokens: [TOKEN] }],
        localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 3000, peerWriteTimeoutMs: 3000,
        antiEntropy: { intervalMs: 0, ratePerSecond: 0 },
      },
    }), { logger });
    cleanups.push(() => a.close('test done', 100));
    await until('the probe answered', () => expect(a.cluster!.peerCaps.of(1)).toBe('other'), 10_000);
    const s = await passOn(a);
    const reason = 'peer is not dynomite-ts (it does not answer the anti-entropy commands; a Netflix dynomite closes the link on unknown commands)';
    expect(s.lastPass).toMatchObject({ ranges: 0, keysCompared: 0, errors: [], peersSkipped: [{ peer: `127.0.0.1:${fake.port}`, reason }] });
    expect(lines.filter((l) => l.msg === 'anti-entropy: peer skipped').map((l) => [l.peer, l.reason])).toEqual([[`127.0.0.1:${fake.port}`, reason]]);
    expect(fake.requests.filter((q) => q.payload.includes('__dynomite_ts_ae__'))).toEqual([]);
    expect(fake.open).toBe(fake.accepted);
  }, 30_000);
});

describe('anti-entropy through the embedding API', () => {
  it("createNode's antiEntropy event carries the report of a pass, and repairs an in-process cluster", async () => {
    const { createNode, InProcessNetwork } = await import('../src/index.js');
    const network = new InProcessNetwork();
    const nodes = ['rack1', 'rack2'].map((rack) => createNode({ rack }, { network }));
    for (const n of nodes) cleanups.push(() => n.stop());
    await Promise.all(nodes.map((n) => n.start()));
    expect(await nodes[0]!.call('SET', 'e1', 'v1')).toBe('OK');
    await until('replicated', async () => expect(await nodes[1]!.call('GET', 'e1')).toBe('v1'), 5000);
    const internals = nodes.map((n) => n.internals);
    direct(internals[1]!, 'FLUSHALL');
    const reports: { keysRepaired: number }[] = [];
    nodes[0]!.on('antiEntropy', (r) => reports.push(r));
    await until('peer caps known', () => expect(internals[0]!.cluster!.peerCaps.of(1)).toBe('dynomite-ts'), 5000);
    await passOn(internals[0]!);
    expect(reports).toMatchObject([{ keysRepaired: 1, errors: [] }]);
    expect(direct(internals[1]!, 'GET', 'e1').toString()).toBe('$2\r\nv1\r\n');
  }, 30_000);
});
