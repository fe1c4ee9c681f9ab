// dyn_seed_provider: the Florida (HTTP) and DNS (TXT) seed providers against local servers, the
// start-up policy, and a 2-node cluster whose nodes know each other only through Florida.
import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import {
  parseSeedList, resolveSeeds, startupSeeds, SeedProviderError, type SeedProviderOptions,
} from '../src/cluster/seeds.js';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import { startNode } from '../src/node.js';
import { silentLogger } from './helpers/node.js';

const SELF = { host: '10.0.0.1', port: 8101, dc: 'dc1', rack: 'r1', tokens: [100] };
const LIST = '10.0.0.1:8101:r1:dc1:100|10.0.0.2:8101:r2:dc1:100|10.0.0.3:8101:r1:dc2:5,6';

// ---- a Florida stand-in ------------------------------------------------------------------------

let florida: Server;
let floridaPort = 0;
const floridaBodies: Record<string, string> = {
  '/REST/v1/admin/get_seeds': LIST,
  '/lines': '10.0.0.2:8101:r2:dc1:100\n10.0.0.3:8101:r1:dc2:7\n',
  '/garbage': '<html>hello</html>',
  '/mixed': 'junk|10.0.0.2:8101:r2:dc1:100',
  '/empty': '',
};

// ---- a DNS stand-in: answers TXT queries from `zone`, NXDOMAIN for any other name ---------------

let dns: Socket;
let dnsPort = 0;
const zone: Record<string, string[]> = {
  '_dynomite.test': [LIST],
  '_split.test': ['10.0.0.2:8101:r2:dc1:100', '10.0.0.3:8101:r1:dc2:9'],
  '_long.test': [Array.from({ length: 20 }, (_, i) => `10.1.0.${i}:8101:r1:dc1:${1000 + i}`).join('|')],
};

/** Question name (lowercased) and where the question section ends. */
function readQuestion(q: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let p = 12;
  while (q[p]! !== 0) {
    labels.push(q.subarray(p + 1, p + 1 + q[p]!).toString('latin1'));
    p += 1 + q[p]!;
  }
  return { name: labels.join('.').toLowerCase(), end: p + 5 }; // zero byte + qtype + qclass
}

/** One TXT rdata: the text in <=255-byte character-strings. */
function txtRdata(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** Header (id echoed, QR+RD+RA, rcode), the question echoed, one TXT answer per record. */
function dnsReply(q: Buffer): Buffer {
  const { name, end } = readQuestion(q);
  const qtype = q.readUInt16BE(end - 4);
  const records = qtype === 16 ? zone[name] : undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (zone[name] === undefined ? 3 : 0), 2); // rcode 3 = NXDOMAIN
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records?.length ?? 0, 6);
  const answers = (records ?? []).map((text) => {
    const rdata = txtRdata(text);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question's name
    rr.writeUInt16BE(16, 2); // TXT
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6); // TTL
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, q.subarray(12, end), ...answers]);
}

beforeAll(async () => {
  florida = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/slow') return; // never answers
    if (path === '/500') {
      res.writeHead(500).end('boom');
      return;
    }
    const body = floridaBodies[path];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => florida.listen(0, '127.0.0.1', r));
  floridaPort = (florida.address() as AddressInfo).port;
  dns = createSocket('udp4');
  dns.on('message', (msg, rinfo) => dns.send(dnsReply(msg), rinfo.port, rinfo.address));
  await new Promise<void>((r) => dns.bind(0, '127.0.0.1', r));
  dnsPort = dns.address().port;
});

afterAll(async () => {
  florida.closeAllConnections();
  await new Promise((r) => florida.close(r));
  dns.close();
});

const fl = (path: string, more: SeedProviderOptions = {}): SeedProviderOptions =>
  ({ floridaIp: '127.0.0.1', floridaPort, floridaRequest: path, timeoutMs: 1000, ...more });
const dn = (name: string, more: SeedProviderOptions = {}): SeedProviderOptions =>
  ({ dnsName: name, dnsServers: [`127.0.0.1:${dnsPort}`], timeoutMs: 1000, ...more });
const addrs = (seeds: readonly { host: string; port: number }[]): string[] => seeds.map((s) => `${s.host}:${s.port}`);

describe('parseSeedList', () => {
  it('splits on | and newlines, keeps vnode token lists, reports bad entries', () => {
    const { seeds, bad } = parseSeedList(' a:1:r:d:1 | b:2:r:d:2,3\r\nc:3:r:d:4\n\n|nonsense|x:99999:r:d:1');
    expect(seeds.map((s) => [s.host, s.port, s.tokens])).toEqual([['a', 1, [1]], ['b', 2, [2, 3]], ['c', 3, [4]]]);
    expect(bad).toHaveLength(2);
    expect(bad[0]).toContain('"nonsense"');
  });
});

describe('florida_provider', () => {
  it('GETs the seed list and drops this node', async () => {
    const seeds = await resolveSeeds('florida_provider', { seeds: [], self: SELF }, {}, fl('/REST/v1/admin/get_seeds'));
    expect(addrs(seeds)).toEqual(['10.0.0.2:8101', '10.0.0.3:8101']);
    expect(seeds[1]).toMatchObject({ rack: 'r1', dc: 'dc2', tokens: [5, 6] });
  });

  it('takes the address and request from the Netflix env vars (raw request or path)', async () => {
    const env = {
      DYNOMITE_FLORIDA_IP: '127.0.0.1', DYNOMITE_FLORIDA_PORT: String(floridaPort),
      DYNOMITE_FLORIDA_REQUEST: 'GET /lines HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: HTMLGET 1.0\r\n\r\n',
    };
    expect(addrs(await resolveSeeds('florida_provider', { seeds: [] }, env, { timeoutMs: 1000 }))).toEqual(['10.0.0.2:8101', '10.0.0.3:8101']);
    const byPath = await resolveSeeds('florida_provider', { seeds: [] }, { ...env, DYNOMITE_FLORIDA_REQUEST: '/REST/v1/admin/get_seeds' }, {});
    expect(byPath).toHaveLength(3);
  });

  it('fails on an HTTP error, naming provider, URL and status', async () => {
    const p = resolveSeeds('florida_provider', { seeds: [] }, {}, fl('/500'));
    await expect(p).rejects.toBeInstanceOf(SeedProviderError);
    await expect(p).rejects.toThrow(`dyn_seed_provider florida_provider (GET http://127.0.0.1:${floridaPort}/500): HTTP 500`);
  });

  it('fails on a timeout', async () => {
    const t0 = Date.now();
    await expect(resolveSeeds('florida_provider', { seeds: [] }, {}, fl('/slow', { timeoutMs: 200 }))).rejects.toThrow(/\/slow\): no complete reply within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('fails on garbage or an empty list, skips bad entries in a good one', async () => {
    await expect(resolveSeeds('florida_provider', { seeds: [] }, {}, fl('/garbage'))).rejects.toThrow(/no valid seed entry \("<html>hello<\/html>"/);
    await expect(resolveSeeds('florida_provider', { seeds: [] }, {}, fl('/empty'))).rejects.toThrow(/holds no seed entry/);
    const warnings: string[] = [];
    const seeds = await resolveSeeds('florida_provider', { seeds: [] }, {}, fl('/mixed'), (w) => warnings.push(w));
    expect(addrs(seeds)).toEqual(['10.0.0.2:8101']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"junk"');
  });

  it('fails when nothing listens, and on a bad DYNOMITE_FLORIDA_PORT', async () => {
    const port = await freePort();
    await expect(resolveSeeds('florida_provider', { seeds: [] }, {}, fl('/x', { floridaPort: port }))).rejects.toThrow(/ECONNREFUSED/);
    await expect(resolveSeeds('florida_provider', { seeds: [] }, { DYNOMITE_FLORIDA_PORT: 'eighty' }, {})).rejects.toThrow(/DYNOMITE_FLORIDA_PORT "eighty" is not a port/);
  });
});

describe('dns_provider', () => {
  it('reads the TXT record and drops this node', async () => {
    const seeds = await resolveSeeds('dns_provider', { seeds: [], self: SELF }, {}, dn('_dynomite.test'));
    expect(addrs(seeds)).toEqual(['10.0.0.2:8101', '10.0.0.3:8101']);
  });

  it('joins several records and a record split into 255-byte strings', async () => {
    expect(addrs(await resolveSeeds('dns_provider', { seeds: [] }, {}, dn('_split.test')))).toEqual(['10.0.0.2:8101', '10.0.0.3:8101']);
    const long = await resolveSeeds('dns_provider', { seeds: [] }, {}, dn('_long.test'));
    expect(long).toHaveLength(20);
    expect(long[19]).toMatchObject({ host: '10.1.0.19', tokens: [1019] });
  });

  it('takes the name from DYNOMITE_DNS_NAME', async () => {
    const seeds = await resolveSeeds('dns_provider', { seeds: [] }, { DYNOMITE_DNS_NAME: '_split.test' }, { dnsServers: [`127.0.0.1:${dnsPort}`] });
    expect(seeds).toHaveLength(2);
  });

  it('fails on NXDOMAIN, naming the name', async () => {
    await expect(resolveSeeds('dns_provider', { seeds: [] }, {}, dn('_nope.test'))).rejects.toThrow('dyn_seed_provider dns_provider (TXT _nope.test): no such name (NXDOMAIN) [ENOTFOUND]');
  });

  it('refuses DYNOMITE_DNS_TYPE=A', async () => {
    await expect(resolveSeeds('dns_provider', { seeds: [] }, { DYNOMITE_DNS_TYPE: 'A' }, dn('_dynomite.test'))).rejects.toThrow(/DYNOMITE_DNS_TYPE=A is not supported/);
  });

  it('uses an injected resolver', async () => {
    const seeds = await resolveSeeds('dns_provider', { seeds: [] }, {}, { dnsName: 'x', resolver: { resolveTxt: () => Promise.resolve([['a:1:r', ':d:1']]) } });
    expect(seeds).toMatchObject([{ host: 'a', port: 1, rack: 'r', dc: 'd', tokens: [1] }]);
  });
});

describe('startupSeeds', () => {
  function capture(): { log: Logger; lines: () => Array<{ level: number; msg: string }> } {
    const out: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void out.push(s) });
    return { log, lines: () => out.map((l) => JSON.parse(l) as { level: number; msg: string }) };
  }
  const dynSeeds = parseSeedList('10.0.0.9:8101:r2:dc1:100|10.0.0.8:8101:r3:dc1:100').seeds;

  it('simple_provider: dyn_seeds as written', async () => {
    const { log } = capture();
    expect(await startupSeeds('simple_provider', { seeds: dynSeeds, self: SELF }, {}, {}, log)).toEqual(dynSeeds);
  });

  it('merges the provider list over dyn_seeds and logs that it resolves once', async () => {
    const { log, lines } = capture();
    const seeds = await startupSeeds('florida_provider', { seeds: dynSeeds, self: SELF }, {}, fl('/REST/v1/admin/get_seeds'), log);
    // 10.0.0.9 (r2, token 100) is replaced by the provider's 10.0.0.2 for the same rack and token.
    expect(addrs(seeds)).toEqual(['10.0.0.8:8101', '10.0.0.2:8101', '10.0.0.3:8101']);
    expect(lines()).toContainEqual(expect.objectContaining({ level: 30, msg: expect.stringMatching(/resolved at start-up/) }));
  });

  it('retries, then starts from dyn_seeds with an error logged', async () => {
    const { log, lines } = capture();
    const seeds = await startupSeeds('dns_provider', { seeds: dynSeeds }, {}, dn('_nope.test', { startupAttempts: 2, retryDelayMs: 10 }), log);
    expect(seeds).toEqual(dynSeeds);
    const l = lines();
    expect(l.filter((x) => /lookup failed/.test(x.msg))).toHaveLength(2);
    expect(l).toContainEqual(expect.objectContaining({ level: 50, msg: expect.stringMatching(/dns_provider failed 2 times; starting with dyn_seeds only/) }));
  });

  it('refuses to start alone when the provider fails and there are no dyn_seeds', async () => {
    const { log } = capture();
    await expect(startupSeeds('florida_provider', { seeds: [] }, {}, fl('/500', { startupAttempts: 1 }), log))
      .rejects.toThrow(/florida_provider .*HTTP 500 Internal Server Error \(after 1 attempt; no dyn_seeds/);
  });
});

describe('two nodes that find each other through Florida', () => {
  const nodes: RunningNode[] = [];
  let seedList = '';
  let server: Server;

  afterAll(async () => {
    for (const n of nodes) await n.close('test done', 100);
    server?.closeAllConnections();
    if (server) await new Promise((r) => server.close(r));
  });

  it('a write through B reaches A', async () => {
    const dyn = [await freePort(), await freePort()];
    seedList = `127.0.0.1:${dyn[0]}:rack1:dc1:101134286|127.0.0.1:${dyn[1]}:rack2:dc1:101134286`;
    server = createServer((_req, res) => res.writeHead(200).end(seedList));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    for (const i of [0, 1]) {
      nodes.push(await startTestNode({
        dataStore: 'memory', rack: `rack${i + 1}`, datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000,
        cluster: {
          dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds: [], seedProvider: 'florida_provider',
          seedProviderOptions: { floridaIp: '127.0.0.1', floridaPort: port, timeoutMs: 1000 },
          localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000,
        },
      }));
    }
    const [a, b] = nodes as [RunningNode, RunningNode];
    expect(b.cluster!.topology().nodes.map((n) => n.port)).toEqual([dyn[1], dyn[0]]);
    await until('B to connect to A', () => b.cluster!.peers.every((p) => !p || p.up), 10_000, 50);
    const c = await RawClient.connect(b.port);
    try {
      c.write(cmd('SET', 'via-florida', 'yes'));
      expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
      const onA = (): string => (a.backend as MemoryBackend).store.execute(['GET', 'via-florida'].map((x) => Buffer.from(x))).toString('latin1');
      await until('the write on A', () => expect(onA()).toBe('$3\r\nyes\r\n'), 2000);
    } finally {
      c.close();
    }
  });
});

describe("Netflix's dynomite_florida_single.yml with the DYNOMITE_FLORIDA_* env vars", () => {
  const nodes: RunningNode[] = [];
  let server: Server | undefined;
  const saved = { ip: process.env['DYNOMITE_FLORIDA_IP'], port: process.env['DYNOMITE_FLORIDA_PORT'], req: process.env['DYNOMITE_FLORIDA_REQUEST'] };

  afterAll(async () => {
    for (const n of nodes) await n.close('test done', 100);
    server?.closeAllConnections();
    if (server) await new Promise((r) => server!.close(r));
  });

  function restoreEnv(): void {
    for (const [k, v] of [['DYNOMITE_FLORIDA_IP', saved.ip], ['DYNOMITE_FLORIDA_PORT', saved.port], ['DYNOMITE_FLORIDA_REQUEST', saved.req]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }

  it('starts with the peer Florida lists and replicates to it', async () => {
    const [dynA, dynB, listenB, statsB] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const a = await startTestNode({
      dataStore: 'memory', rack: 'rack2', datacenter: 'dc', tokens: [0], timeoutMs: 2000,
      cluster: { dynListen: { host: '127.0.0.1', port: dynA }, seeds: [], localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000 },
    });
    nodes.push(a);
    let asked = '';
    server = createServer((req, res) => {
      asked = req.url ?? '';
      res.writeHead(200).end(`127.0.0.1:${dynB}:rack1:dc:0|127.0.0.1:${dynA}:rack2:dc:0`);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const text = readFileSync(new URL('./fixtures/reference/conf/dynomite_florida_single.yml', import.meta.url), 'utf8')
      .replace('0.0.0.0:8101', `127.0.0.1:${dynB}`).replace('0.0.0.0:8102', `127.0.0.1:${listenB}`)
      .replace('0.0.0.0:22222', `127.0.0.1:${statsB}`).replace('data_store: 0', 'data_store: memory')
      .replace('pem_key_file: conf/dynomite.pem', `pem_key_file: ${new URL('../conf/dynomite.pem', import.meta.url).pathname}`);
    const opts = nodeOptionsFromConfig(parseConfig(text, 'dynomite_florida_single.yml'));
    expect(opts.cluster?.seedProvider).toBe('florida_provider');
    process.env['DYNOMITE_FLORIDA_IP'] = '127.0.0.1';
    process.env['DYNOMITE_FLORIDA_PORT'] = String((server.address() as AddressInfo).port);
    process.env['DYNOMITE_FLORIDA_REQUEST'] = 'GET /florida/cluster1/get_seeds.txt HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n';
    try {
      nodes.push(await startNode(opts, { logger: silentLogger }));
    } finally {
      restoreEnv();
    }
    const b = nodes[1]!;
    expect(asked).toBe('/florida/cluster1/get_seeds.txt');
    expect(b.cluster!.topology().nodes.map((n) => n.port)).toEqual([dynB, dynA]);
    await until('B to connect to A', () => b.cluster!.peers.every((p) => !p || p.up), 10_000, 50);
    const c = await RawClient.connect(b.port);
    try {
      c.write(cmd('SET', 'fixture', 'ok'));
      expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
      const onA = (): string => (a.backend as MemoryBackend).store.execute(['GET', 'fixture'].map((x) => Buffer.from(x))).toString('latin1');
      await until('the write on A', () => expect(onA()).toBe('$2\r\nok\r\n'), 2000);
    } finally {
      c.close();
    }
  });
});
