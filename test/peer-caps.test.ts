// Peer capabilities (src/cluster/peer-caps.ts): a node asks each peer on link up what it is, with a
// request a Netflix node forwards to its datastore unchanged (ECHO). Our listener answers it
// itself; a Netflix-like peer (it forwards every request to its redis) echoes the word back.
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../src/node.js';
import { capsLine, CAPS_PROBE_WORD, parseCapsReply } from '../src/cluster/peer-caps.js';
import { nodeOptions, silentLogger } from './helpers/node.js';
import { ScriptedDnodePeer } from './helpers/dnode-peer.js';
import { RawClient } from './helpers/resp-client.js';
import { freePort, startRedis } from './helpers/servers.js';
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

async function echoCalls(port: number): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    c.write(cmd('INFO', 'commandstats'));
    const m = /cmdstat_echo:calls=(\d+)/.exec((await c.replies(1))[0]!.toString('latin1'));
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
    // Neither redis ran an ECHO: the listener answered the probe itself.
    const ports = [(a.options.server as { port: number }).port, (b.options.server as { port: number }).port];
    expect(await Promise.all(ports.map(echoCalls))).toEqual([0, 0]);
  }, 30_000);

  it('a peer that forwards ECHO to its redis (what a Netflix node does) is other; the link stays open', async () => {
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
    expect(fake.requests.map((q) => q.payload.toString('latin1'))).toContain(`*2\r\n$4\r\nECHO\r\n$${CAPS_PROBE_WORD.length}\r\n${CAPS_PROBE_WORD}\r\n`);
    expect(await echoCalls(r.port)).toBe(1);
    expect(fake.open).toBe(fake.accepted);
    // Forgotten when link 0 goes down, asked again when it is back.
    for (const s of fake.sockets) s.destroy();
    await until('forgotten', () => expect(a.cluster!.peerCaps.of(1)).toBe('unknown'), 5000);
    await until('asked again', () => expect(a.cluster!.peerCaps.of(1)).toBe('other'), 10_000);
  }, 30_000);

  it('parses replies: ours, an echo, an error, memcached forms', () => {
    expect(parseCapsReply('redis', Buffer.from(`$${capsLine().length}\r\n${capsLine()}\r\n`)).kind).toBe('dynomite-ts');
    expect(parseCapsReply('redis', Buffer.from(`$${CAPS_PROBE_WORD.length}\r\n${CAPS_PROBE_WORD}\r\n`)).kind).toBe('other');
    expect(parseCapsReply('redis', Buffer.from('-ERR unknown command\r\n')).kind).toBe('other');
    expect(parseCapsReply('memcache', Buffer.from('END\r\n')).kind).toBe('other');
    expect(parseCapsReply('memcache', Buffer.from(`VALUE k 0 ${capsLine().length}\r\n${capsLine()}\r\nEND\r\n`))).toEqual({ kind: 'dynomite-ts', protocol: 1, capabilities: ['hint', 'anti-entropy'] });
  });
});
