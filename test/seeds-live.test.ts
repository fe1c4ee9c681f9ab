// Seed providers asked again while the node runs (seeds_check_interval, here 200 ms): a node the
// provider starts to list joins the ring (keys then reach its datastore), one it stops listing stays.
// A local Florida HTTP server and a local DNS responder (UDP on 127.0.0.1) are the providers; gossip
// is off, so the provider is the only source of membership.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import type { ClusterOptions } from '../src/conf/options.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';
import { startDns, startFlorida, type DnsStub, type FloridaStub } from './helpers/seed-servers.js';

let florida: FloridaStub;
let dns: DnsStub;
const started: RunningNode[] = [];
const clients: RawClient[] = [];

beforeAll(async () => {
  florida = await startFlorida({});
  dns = await startDns({});
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of started) await n.close('test done', 100);
  await florida.close();
  dns.close();
});

async function member(rack: string, dynPort: number, extra: Partial<ClusterOptions> = {}): Promise<RunningNode> {
  const n = await startTestNode({
    dataStore: 'memory', rack, datacenter: 'dc1', tokens: [0], timeoutMs: 1500,
    cluster: {
      dynListen: { host: '127.0.0.1', port: dynPort }, seeds: [], localPeerConnections: 1, remotePeerConnections: 1,
      peerReadTimeoutMs: 1500, peerWriteTimeoutMs: 1500, ...extra,
    },
  });
  started.push(n);
  return n;
}

const entry = (port: number, rack: string): string => `127.0.0.1:${port}:${rack}:dc1:0`;
const ports = (n: RunningNode): number[] => n.cluster!.topology().nodes.filter((x) => x.inRing).map((x) => x.port);

function stored(n: RunningNode, key: string): string {
  return (n.backend as MemoryBackend).store.execute([Buffer.from('GET'), Buffer.from(key)]).toString('latin1');
}

async function set(n: RunningNode, key: string): Promise<void> {
  const c = await RawClient.connect(n.port);
  clients.push(c);
  c.write(cmd('SET', key, 'v'));
  expect((await c.replies(1, 5000))[0]!.toString('latin1')).toBe('+OK\r\n');
}

/** Node a (asking `provider`) with b listed from the start; c listed later, then b dropped from the list. */
async function scenario(provider: 'florida_provider' | 'dns_provider', setList: (text: string) => void, asked: () => number): Promise<void> {
  const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
  const b = await member('r2', pb);
  const c = await member('r3', pc);
  setList([entry(pa, 'r1'), entry(pb, 'r2')].join('|'));
  const options = provider === 'florida_provider'
    ? { floridaIp: '127.0.0.1', floridaPort: florida.port, floridaRequest: '/seeds-live', timeoutMs: 1000 }
    : { dnsName: '_dyn-live.test', dnsServers: [`127.0.0.1:${dns.port}`], timeoutMs: 1000 };
  const a = await member('r1', pa, { seedProvider: provider, seedProviderOptions: options, seedsCheckIntervalMs: 200 });
  expect(ports(a)).toEqual([pa, pb]);
  const before = asked();
  setList([entry(pa, 'r1'), entry(pb, 'r2'), entry(pc, 'r3')].join('|'));
  await until(`${provider}: c joins a's ring`, () => expect(ports(a)).toEqual([pa, pb, pc]), 3000);
  await until('a\'s link to c is up', () => expect(a.cluster!.peers[2]?.up).toBe(true), 3000);
  await set(a, `live-${provider}`);
  await until('the write reaches c and b', () => {
    expect(stored(c, `live-${provider}`)).toBe('$1\r\nv\r\n');
    expect(stored(b, `live-${provider}`)).toBe('$1\r\nv\r\n');
  }, 3000);
  // b disappears from the list: not dropped on that word alone
  setList([entry(pa, 'r1'), entry(pc, 'r3')].join('|'));
  const seen = asked();
  await until('the provider asked twice more', () => expect(asked()).toBeGreaterThanOrEqual(seen + 2), 3000);
  expect(ports(a)).toEqual([pa, pb, pc]);
  expect(asked() - before).toBeGreaterThanOrEqual(3);
}

describe('seed providers asked again every seeds_check_interval', () => {
  it('florida_provider: a node that appears joins; one that disappears stays', async () => {
    await scenario('florida_provider', (text) => {
      florida.bodies['/seeds-live'] = text;
    }, () => florida.hits['/seeds-live'] ?? 0);
  });

  it('dns_provider (a TXT record on a local DNS responder): the same', async () => {
    await scenario('dns_provider', (text) => {
      dns.zone['_dyn-live.test'] = [text];
    }, () => dns.hits['_dyn-live.test'] ?? 0);
  });
});
