// TLS as users meet it: the client listener on tls_port (redis-cli --tls, ioredis `tls: { ca }`,
// node-redis `socket: { tls: true, ca }`), client certificates (tls_auth_clients yes / optional),
// a redis-server on --tls-port as the datastore (datastore_tls, with a client certificate), and
// certificates reloaded without a restart (reloadTls(), SIGHUP for the CLI), observed as the
// fingerprint a new client sees. Certificates are made with openssl at test time.
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { loadConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import { startNode, type RunningNode } from '../src/node.js';
import { silentLogger, startTestNode } from './helpers/node.js';
import { ensureBuilt, spawnNode, type NodeProcess } from './helpers/node-process.js';
import { freePort, startRedisTls, waitForPort, type RunningServer } from './helpers/servers.js';
import { fingerprint, makeTestCerts, type TestCerts } from './helpers/tls.js';
import { until } from './helpers/until.js';

const run = promisify(execFile);
let certs: TestCerts;
let ca: Buffer;

beforeAll(() => {
  certs = makeTestCerts();
  ca = readFileSync(certs.ca);
});

afterAll(() => certs?.cleanup());

/** One TLS connection: the server certificate's fingerprint and the reply to one command, or the failure. */
async function tlsExchange(port: number, opts: ConnectionOptions, request = '*1\r\n$4\r\nPING\r\n'): Promise<{ fingerprint: string; reply: string }> {
  const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca, ...opts });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const fp = socket.getPeerCertificate().fingerprint256;
    socket.write(request);
    // TLS 1.3: a refused client certificate arrives as an alert after the client's handshake ends.
    const reply = await new Promise<string>((resolve, reject) => {
      socket.once('data', (d: Buffer) => resolve(d.toString('latin1')));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed without a reply')));
    });
    return { fingerprint: fp, reply };
  } finally {
    socket.destroy();
  }
}

const cli = (port: number, ...args: string[]) =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--tls', '--cacert', certs.ca, ...args]).then((r) => r.stdout);

describe('the TLS client listener (tls_port, tls_auth_clients no)', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startTestNode({ dataStore: 'memory', tls: { port: 0, certFile: certs.server.cert, keyFile: certs.server.key, authClients: 'no' } });
  });
  afterAll(() => node?.close());

  test('redis-cli --tls --cacert: SET and GET; the plain listen port serves the same data', async () => {
    expect(await cli(node.tlsPort!, 'SET', 'tls:cli', 'over tls')).toBe('OK\n');
    expect(await cli(node.tlsPort!, 'GET', 'tls:cli')).toBe('over tls\n');
    const plain = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(node.port), 'GET', 'tls:cli']);
    expect(plain.stdout).toBe('over tls\n');
  });

  test('ioredis with tls: { ca } (README style): a pipeline, MGET, a hash', async () => {
    const c = new IORedis({ host: '127.0.0.1', port: node.tlsPort, tls: { ca } });
    try {
      expect(await c.set('tls:io', '1')).toBe('OK');
      expect(await c.pipeline().incr('tls:io').get('tls:io').exec()).toEqual([[null, 2], [null, '2']]);
      expect(await c.mget('tls:io', 'tls:none')).toEqual(['2', null]);
      await c.hset('tls:h', 'f', 'v');
      expect(await c.hgetall('tls:h')).toEqual({ f: 'v' });
    } finally {
      c.disconnect();
    }
  });

  test('node-redis with socket: { tls: true, ca } (RESP3 by default)', async () => {
    const c = createClient({ socket: { host: '127.0.0.1', port: node.tlsPort!, tls: true, ca } });
    await c.connect();
    try {
      expect(await c.set('tls:nr', 'v')).toBe('OK');
      expect(await c.get('tls:nr')).toBe('v');
      expect(await c.hGetAll('tls:h')).toEqual({ f: 'v' });
    } finally {
      await c.close();
    }
  });

  test('a large value crosses TLS records intact (framing over a TLSSocket)', async () => {
    const c = new IORedis({ host: '127.0.0.1', port: node.tlsPort, tls: { ca } });
    try {
      const big = 'x'.repeat(3 * 1024 * 1024 + 7);
      expect(await c.set('tls:big', big)).toBe('OK');
      expect((await c.get('tls:big'))?.length).toBe(big.length);
    } finally {
      c.disconnect();
    }
  });

  test('a client that does not trust the CA is refused by its own check; plain text on the TLS port gets no reply', async () => {
    await expect(tlsExchange(node.tlsPort!, { ca: undefined })).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    const r = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(node.tlsPort), 'PING']).then((x) => x.stdout, (e: { stdout: string; stderr: string }) => e.stdout + e.stderr);
    expect(r).not.toMatch(/PONG/);
  });
});

describe('client certificates', () => {
  const nodes: Partial<Record<'yes' | 'optional', RunningNode>> = {};
  beforeAll(async () => {
    for (const authClients of ['yes', 'optional'] as const) {
      nodes[authClients] = await startTestNode({
        dataStore: 'memory', tls: { port: 0, certFile: certs.server.cert, keyFile: certs.server.key, caCertFile: certs.ca, authClients },
      });
    }
  });
  afterAll(() => Promise.all(Object.values(nodes).map((n) => n?.close())));

  test('tls_auth_clients yes: refused without a certificate and with one from another CA; served with ours', async () => {
    const port = nodes.yes!.tlsPort!;
    await expect(tlsExchange(port, {})).rejects.toThrow(/certificate required|alert|closed|ECONNRESET/i);
    await expect(tlsExchange(port, { cert: readFileSync(certs.strangerClient.cert), key: readFileSync(certs.strangerClient.key) })).rejects.toThrow();
    const ok = await tlsExchange(port, { cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key) });
    expect(ok.reply).toBe('+PONG\r\n');
    expect(await cli(port, '--cert', certs.client.cert, '--key', certs.client.key, 'SET', 'tls:cc', 'ok')).toBe('OK\n');
    const without = await cli(port, 'GET', 'tls:cc').catch((e: { stdout: string; stderr: string }) => `failed: ${e.stdout}${e.stderr}`);
    expect(without).not.toBe('ok\n');
  });

  test('tls_auth_clients optional: no certificate is fine, ours is fine, one from another CA is refused', async () => {
    const port = nodes.optional!.tlsPort!;
    expect((await tlsExchange(port, {})).reply).toBe('+PONG\r\n');
    expect((await tlsExchange(port, { cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key) })).reply).toBe('+PONG\r\n');
    await expect(tlsExchange(port, { cert: readFileSync(certs.strangerClient.cert), key: readFileSync(certs.strangerClient.key) })).rejects.toThrow();
  });

  test('tls_auth_clients yes without a CA is a start-up error saying what to set', async () => {
    await expect(startTestNode({ dataStore: 'memory', tls: { port: 0, certFile: certs.server.cert, keyFile: certs.server.key } }))
      .rejects.toThrow('tls_auth_clients yes needs tls_ca_cert_file (the CA that signs client certificates), or tls_auth_clients: no');
    await expect(startTestNode({ dataStore: 'memory', tls: { port: 0, certFile: join(certs.dir, 'nope.crt'), keyFile: certs.server.key, authClients: 'no' } }))
      .rejects.toThrow(`tls_cert_file ${join(certs.dir, 'nope.crt')}: cannot read: no such file`);
    await expect(startTestNode({ dataStore: 'memory', tls: { port: 0, certFile: certs.server.cert, keyFile: certs.client.key, authClients: 'no' } }))
      .rejects.toThrow(/tls_cert_file .*server\.crt \/ tls_key_file .*client\.key: .*(key values mismatch|KEY_VALUES_MISMATCH)/i);
  });
});

describe('a redis-server on --tls-port as the datastore (datastore_tls), configured from YAML', () => {
  let redis: RunningServer;
  let node: RunningNode;
  beforeAll(async () => {
    // Redis's default tls-auth-clients yes: the node must present a client certificate.
    redis = await startRedisTls({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca, authClients: 'yes' });
    const file = join(certs.dir, 'ds.yml');
    writeFileSync(file, `dyn_o_mite:
  listen: 127.0.0.1:${await freePort()}
  tls_port: ${await freePort()}
  tls_cert_file: ${certs.server.cert}
  tls_key_file: ${certs.server.key}
  tls_auth_clients: 'no'
  stats_listen: 127.0.0.1:${await freePort()}
  tokens: '1'
  servers:
  - 127.0.0.1:${redis.port}:1
  datastore_tls: true
  datastore_tls_ca_cert_file: ${certs.ca}
  datastore_tls_cert_file: ${certs.client.cert}
  datastore_tls_key_file: ${certs.client.key}
`);
    node = await startNode(nodeOptionsFromConfig(loadConfig(file)), { logger: silentLogger });
  });
  afterAll(async () => {
    await node?.close();
    await redis?.stop();
  });

  test('writes through the node (plain and TLS clients) are stored in the TLS redis', async () => {
    const direct = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), '--tls', '--cacert', certs.ca,
      '--cert', certs.client.cert, '--key', certs.client.key, ...args]).then((r) => r.stdout);
    const plain = new IORedis({ port: node.port });
    try {
      expect(await plain.set('dstls:a', 'via plain')).toBe('OK');
      expect(await cli(node.tlsPort!, 'SET', 'dstls:b', 'via tls')).toBe('OK\n');
      expect(await direct('MGET', 'dstls:a', 'dstls:b')).toBe('via plain\nvia tls\n');
      expect(await plain.get('dstls:b')).toBe('via tls');
    } finally {
      plain.disconnect();
    }
  });

  test('without the client certificate redis refuses the node: requests fail with an error, not a hang', async () => {
    const bare = await startTestNode({
      dataStore: 'redis', server: { host: '127.0.0.1', port: redis.port }, timeoutMs: 2000, preconnect: false,
      datastoreTls: { caCertFile: certs.ca },
    });
    // No ready check: its INFO would fail the same way before the GET is sent.
    const c = new IORedis({ port: bare.port, maxRetriesPerRequest: 0, enableReadyCheck: false });
    try {
      await expect(c.get('dstls:a')).rejects.toThrow('Storage: Datastore refused connection');
    } finally {
      c.disconnect();
      await bare.close();
    }
  });
});

describe('certificate reload', () => {
  test('reloadTls(): new connections get the new certificate, open ones keep working; a bad file changes nothing', async () => {
    const cert = join(certs.dir, 'live.crt');
    const key = join(certs.dir, 'live.key');
    copyFileSync(certs.server.cert, cert);
    copyFileSync(certs.server.key, key);
    const node = await startTestNode({ dataStore: 'memory', tls: { port: 0, certFile: cert, keyFile: key, authClients: 'no' } });
    const open = new IORedis({ host: '127.0.0.1', port: node.tlsPort, tls: { ca } });
    try {
      expect((await tlsExchange(node.tlsPort!, {})).fingerprint).toBe(fingerprint(certs.server.cert));
      await open.set('reload:k', 'before');

      const next = certs.newServerCert('next');
      copyFileSync(next.cert, cert);
      copyFileSync(next.key, key);
      expect(fingerprint(next.cert)).not.toBe(fingerprint(certs.server.cert));
      node.reloadTls();
      expect((await tlsExchange(node.tlsPort!, {})).fingerprint).toBe(fingerprint(next.cert));
      expect(await open.get('reload:k')).toBe('before');

      writeFileSync(key, 'not a key');
      expect(() => node.reloadTls()).toThrow(/tls_cert_file .*live\.crt \/ tls_key_file .*live\.key: /);
      expect((await tlsExchange(node.tlsPort!, {})).fingerprint).toBe(fingerprint(next.cert));
    } finally {
      open.disconnect();
      await node.close();
    }
  });

  test('SIGHUP makes the dynomite process reload its certificate', async () => {
    ensureBuilt();
    const cert = join(certs.dir, 'proc.crt');
    const key = join(certs.dir, 'proc.key');
    copyFileSync(certs.server.cert, cert);
    copyFileSync(certs.server.key, key);
    const tlsPort = await freePort();
    let proc: NodeProcess | undefined;
    try {
      proc = await spawnNode({
        dataStore: 'memory',
        conf: { tls_port: String(tlsPort), tls_cert_file: cert, tls_key_file: key, tls_auth_clients: "'no'" },
      });
      await waitForPort(tlsPort);
      expect((await tlsExchange(tlsPort, {})).fingerprint).toBe(fingerprint(certs.server.cert));
      const next = certs.newServerCert('proc-next');
      copyFileSync(next.cert, cert);
      copyFileSync(next.key, key);
      proc.proc.kill('SIGHUP');
      await until('the new certificate on new connections', async () => {
        expect((await tlsExchange(tlsPort, {})).fingerprint).toBe(fingerprint(next.cert));
      });
      expect(proc.log()).toMatch(/TLS certificates reloaded/);
      expect(proc.alive()).toBe(true);
    } finally {
      await proc?.stop();
    }
  });
});
