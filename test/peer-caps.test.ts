// Peer capabilities (src/cluster/peer-caps.ts): a node asks each peer on link up what it is, with a
// request a Netflix node forwards to its datastore (HMGET of a reserved key; Netflix closes the
// link on ECHO). Our listener answers it itself; a Netflix node's redis answers a nil.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../src/node.js';
import { capsLine, CAPS_PROBE_WORD, parseCapsReply } from '../src/cluster/peer-caps.js';
import { nodeOptions, silentLogger } from './helpers/node.js';
import { ScriptedDnodePeer } from './helpers/dnode-peer.js';
import { RawClient } from './helpers/resp-client.js';
import { freePort, startRedis, waitForPort } from './helpers/servers.js';
import { until } from './helpers/until.js';
import { cmd } from './helpers/resp-client.js';

const TOKEN = 101134286;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function redisBacked(rack: string, dyn: number, seeds: { port: number; rack: string }[]): Promise<RunningNode> {
  const r = await startRedis();
  cleanups.push(() => r.stop());
  const n = await startNode(nodeOptions({
    dataStore: 'redis', server: { host: '127.0.0.1', port: r.port }, rack, datacenter: 'dc1', tokens: [TOKEN], timeoutMs: 3000,
    cluster: {
      dynListen: { host: '127.0.0.1', port: dyn },
      seeds: seeds.map((s) => ({ host: '127.0.0.1', port: s.port, rack: s.rack, dc: 'dc1', tokens: [TOKEN] })),
      localPeerConnections: 2, remotePeerConnections: 1, peerReadTimeoutMs: 3000, peerWriteTimeoutMs: 3000,
    },
  }), { logger: silentLogger });
  cleanups.push(() => n.close('test done', 100));
  return n;
}

async function hmgetCalls(port: number): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    c.write(cmd('INFO', 'commandstats'));
    const m = /cmdstat_hmget:calls=(\d+)/.exec((await c.replies(1))[0]!.toString('latin1'));
    return m ? Number(m[1]) : 0;
  } finally {
    c.close();
  }
}

describe('peer caps', () => {
  it('our node is dynomite-ts, with its protocol and capabilities; the probe never reaches a datastore', async () => {
    const [da, db] = [await freePort(), await freePort()];
    const a = await redisBacked('rack1', da, [{ port: db, rack: 'rack2' }]);
    const b = await redisBacked('rack2', db, [{ port: da, rack: 'rack1' }]);
    await until('each knows the other', () => {
      expect(a.cluster!.peerCaps.of(1)).toBe('dynomite-ts');
      expect(b.cluster!.peerCaps.of(1)).toBe('dynomite-ts');
    }, 10_000);
    expect(a.cluster!.peerCaps.entry(`127.0.0.1:${db}`)).toEqual({ kind: 'dynomite-ts', protocol: 1, capabilities: ['hint', 'anti-entropy'] });
    expect(a.cluster!.peerCaps.of('127.0.0.1')).toBe('dynomite-ts');
    expect(a.cluster!.peerCaps.has(1, 'hint')).toBe(true);
    expect(a.cluster!.peerCaps.of('127.0.0.1:1')).toBe('unknown');
    // Neither redis ran the HMGET: the listener answered the probe itself.
    const ports = [(a.options.server as { port: number }).port, (b.options.server as { port: number }).port];
    expect(await Promise.all(ports.map(hmgetCalls))).toEqual([0, 0]);
  }, 30_000);

  it('a peer that forwards the probe to its redis (what a Netflix node does) is other; the link stays open', async () => {
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
    const a = await redisBacked('rack1', await freePort(), [{ port: fake.port, rack: 'rack2' }]);
    await until('the probe answered', () => expect(a.cluster!.peerCaps.of(1)).toBe('other'), 10_000);
    expect(fake.requests.map((q) => q.payload.toString('latin1'))).toContain(`*3\r\n$5\r\nHMGET\r\n$${CAPS_PROBE_WORD.length}\r\n${CAPS_PROBE_WORD}\r\n$4\r\ncaps\r\n`);
    expect(await hmgetCalls(r.port)).toBe(1);
    expect(fake.open).toBe(fake.accepted);
    // Forgotten when link 0 goes down, asked again when it is back.
    for (const s of fake.sockets) s.destroy();
    await until('forgotten', () => expect(a.cluster!.peerCaps.of(1)).toBe('unknown'), 5000);
    await until('asked again', () => expect(a.cluster!.peerCaps.of(1)).toBe('other'), 10_000);
  }, 30_000);

  it('parses replies: ours, a nil, an error, memcached forms', () => {
    expect(parseCapsReply('redis', Buffer.from(`*1\r\n$${capsLine().length}\r\n${capsLine()}\r\n`)).kind).toBe('dynomite-ts');
    expect(parseCapsReply('redis', Buffer.from('*1\r\n$-1\r\n')).kind).toBe('other');
    expect(parseCapsReply('redis', Buffer.from(`$${CAPS_PROBE_WORD.length}\r\n${CAPS_PROBE_WORD}\r\n`)).kind).toBe('other');
    expect(parseCapsReply('redis', Buffer.from('-ERR unknown command\r\n')).kind).toBe('other');
    expect(parseCapsReply('memcache', Buffer.from('END\r\n')).kind).toBe('other');
    expect(parseCapsReply('memcache', Buffer.from(`VALUE k 0 ${capsLine().length}\r\n${capsLine()}\r\nEND\r\n`))).toEqual({ kind: 'dynomite-ts', protocol: 1, capabilities: ['hint', 'anti-entropy'] });
  });
});

const NETFLIX_BIN = process.env.DYNOMITE_NETFLIX_BIN;

describe.skipIf(!NETFLIX_BIN)('peer caps against a real Netflix node (needs DYNOMITE_NETFLIX_BIN: skipped without it)', () => {
  it('Netflix is other, keeps the link after the probe, and gets its hints unwrapped', async () => {
    if (!existsSync(NETFLIX_BIN!)) throw new Error(`DYNOMITE_NETFLIX_BIN=${NETFLIX_BIN} does not exist`);
    const nfRedis = await startRedis();
    cleanups.push(() => nfRedis.stop());
    const [nfDyn, ourDyn, nfPort, nfStats] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'caps-netflix-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'netflix.yml'), `dyn_o_mite:
  datacenter: dc1
  rack: nf
  dyn_listen: 127.0.0.1:${nfDyn}
  dyn_seeds:
  - 127.0.0.1:${ourDyn}:ts:dc1:${TOKEN}
  listen: 127.0.0.1:${nfPort}
  servers:
  - 127.0.0.1:${nfRedis.port}:1
  tokens: '${TOKEN}'
  data_store: 0
  stats_listen: 127.0.0.1:${nfStats}
  timeout: 5000
`);
    const proc = spawn(NETFLIX_BIN!, ['-c', join(dir, 'netflix.yml')], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    cleanups.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    });
    await waitForPort(nfPort, 10_000);
    const a = await redisBacked('ts', ourDyn, [{ port: nfDyn, rack: 'nf' }]);
    await until('the probe answered', () => expect(a.cluster!.peerCaps.of(1)).toBe('other'), 15_000);
    const c = await RawClient.connect(a.port);
    cleanups.push(() => c.close());
    const nf = await RawClient.connect(nfRedis.port);
    cleanups.push(() => nf.close());
    const get = async (client: RawClient, ...args: string[]): Promise<string> => {
      client.write(cmd(...args));
      return (await client.replies(1))[0]!.toString('latin1');
    };
    // The link survived the probe: a write through our node lands in Netflix's redis.
    expect(await get(c, 'SET', 'live', 'x')).toBe('+OK\r\n');
    await until('replicated to Netflix', async () => expect(await get(nf, 'GET', 'live')).toBe('$1\r\nx\r\n'), 10_000);
    expect(a.cluster!.peers[1]!.up).toBe(true);
    // A hint for Netflix replays as the plain request (Netflix has no DYNO_HINT).
    a.cluster!.peerAction('down', `127.0.0.1:${nfDyn}`);
    expect(await get(c, 'SET', 'hinted', 'y')).toBe('+OK\r\n');
    a.cluster!.peerAction('up', `127.0.0.1:${nfDyn}`);
    await until('the hint delivered', () => expect(a.cluster!.hints.pending).toBe(0), 10_000);
    expect(await get(nf, 'GET', 'hinted')).toBe('$1\r\ny\r\n');
    expect(await get(nf, 'DBSIZE')).toBe(':2\r\n');
  }, 40_000);
});
