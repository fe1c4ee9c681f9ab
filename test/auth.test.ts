// Authentication as a user configures it: a YAML file with requirepass from a file, named users
// (a password from an env var, a read-only user with a Redis ACL `#<sha256>` hash, a disabled
// user) and a stats admin token, loaded by the config loader and run by startNode, in front of
// redis and of the embedded store. Clients use their README options (username / password).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { loadConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import { startNode, type RunningNode } from '../src/node.js';
import { silentLogger } from './helpers/node.js';
import { RawClient, cmd } from './helpers/resp-client.js';
import { freePort, startRedis, type RunningServer } from './helpers/servers.js';

const run = promisify(execFile);
const RO_PASSWORD = 'look but do not touch';
const APP_PASSWORD = 'app-pw-from-env';
const DEFAULT_PASSWORD = 'default pw from a file';
const TOKEN = 'admin-token-from-env';
const ENV_APP = `DYN_AUTH_TEST_APP_${process.pid}`;
const ENV_TOKEN = `DYN_AUTH_TEST_TOKEN_${process.pid}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let dir: string;
let redis: RunningServer;
let direct: IORedis;
const nodes: Record<'redis' | 'memory', RunningNode | undefined> = { redis: undefined, memory: undefined };

async function confText(store: 'redis' | 'memory'): Promise<string> {
  return `dyn_o_mite:
  listen: 127.0.0.1:${await freePort()}
  stats_listen: 127.0.0.1:${await freePort()}
  tokens: '1'
  ${store === 'redis' ? `servers:\n  - 127.0.0.1:${redis.port}:1` : 'data_store: memory'}
  requirepass_file: ${join(dir, 'default.pw')}
  stats_admin_token_env: ${ENV_TOKEN}
  stats_admin_require_token: true
  users:
    - name: app
      password_env: ${ENV_APP}
    - name: ro
      password_hash: '#${sha(RO_PASSWORD)}'
      read_only: true
    - name: gone
      password: gone-pw
      enabled: false
`;
}

async function startFromYaml(store: 'redis' | 'memory'): Promise<RunningNode> {
  const file = join(dir, `${store}.yml`);
  writeFileSync(file, await confText(store));
  return startNode(nodeOptionsFromConfig(loadConfig(file)), { logger: silentLogger });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dyn-auth-'));
  writeFileSync(join(dir, 'default.pw'), `${DEFAULT_PASSWORD}\n`);
  process.env[ENV_APP] = APP_PASSWORD;
  process.env[ENV_TOKEN] = TOKEN;
  redis = await startRedis();
  direct = new IORedis({ port: redis.port, lazyConnect: true });
  nodes.redis = await startFromYaml('redis');
  nodes.memory = await startFromYaml('memory');
});

afterAll(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.close()));
  direct?.disconnect();
  await redis?.stop();
  delete process.env[ENV_APP];
  delete process.env[ENV_TOKEN];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(['redis', 'memory'] as const)('a node over %s, configured from YAML', (store) => {
  const port = () => nodes[store]!.port;
  const key = (k: string) => `auth:${store}:${k}`;
  /** The value as the datastore holds it (the node itself for the embedded store). */
  const stored = async (k: string): Promise<string | null> => {
    if (store === 'redis') return direct.get(k);
    const c = new IORedis({ port: port(), username: 'app', password: APP_PASSWORD });
    try {
      return await c.get(k);
    } finally {
      c.disconnect();
    }
  };

  test('ioredis as a read-only user: reads work, writes get NOPERM in Redis 7.2 words and change nothing', async () => {
    const app = new IORedis({ port: port(), username: 'app', password: APP_PASSWORD });
    const ro = new IORedis({ port: port(), username: 'ro', password: RO_PASSWORD });
    try {
      expect(await app.set(key('a'), 'by app')).toBe('OK');
      expect(await ro.get(key('a'))).toBe('by app');
      expect(await ro.mget(key('a'), key('none'))).toEqual(['by app', null]);
      if (store === 'redis') {
        // PFCOUNT is replicated like a write (it rewrites the HLL's cache) but stays a read for ACLs
        // (the embedded store has no HyperLogLog).
        expect(await app.pfadd(key('hll'), 'x', 'y')).toBe(1);
        expect(await ro.pfcount(key('hll'))).toBe(2);
        await expect(ro.pfadd(key('hll'), 'z')).rejects.toThrow("NOPERM User ro has no permissions to run the 'pfadd' command");
      }
      await expect(ro.set(key('a'), 'by ro')).rejects.toThrow("NOPERM User ro has no permissions to run the 'set' command");
      await expect(ro.del(key('a'))).rejects.toThrow("NOPERM User ro has no permissions to run the 'del' command");
      await expect(ro.config('SET', 'maxmemory', '1')).rejects.toThrow("NOPERM User ro has no permissions to run the 'config|set' command");
      const pipe = await ro.pipeline().get(key('a')).incr(key('n')).exec();
      expect(pipe?.map(([e, v]) => (e ? e.message : v))).toEqual(['by app', "NOPERM User ro has no permissions to run the 'incr' command"]);
      expect(await stored(key('a'))).toBe('by app');
      expect(await stored(key('n'))).toBeNull();
    } finally {
      app.disconnect();
      ro.disconnect();
    }
  });

  test('node-redis with username and password (RESP3 HELLO AUTH on connect)', async () => {
    const ro = createClient({ url: `redis://127.0.0.1:${port()}`, username: 'ro', password: RO_PASSWORD });
    const app = createClient({ url: `redis://app:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${port()}` });
    await Promise.all([ro.connect(), app.connect()]);
    try {
      expect(await app.set(key('b'), 'v')).toBe('OK');
      expect(await ro.get(key('b'))).toBe('v');
      await expect(ro.set(key('b'), 'w')).rejects.toThrow("NOPERM User ro has no permissions to run the 'set' command");
      expect(await stored(key('b'))).toBe('v');
    } finally {
      await Promise.all([ro.close(), app.close()]);
    }
  });

  test('requirepass from the file is the default user; a disabled user and a wrong password get WRONGPASS', async () => {
    const c = await RawClient.connect(port());
    try {
      c.write(Buffer.concat([
        cmd('SET', key('c'), 'x'), cmd('AUTH', 'gone', 'gone-pw'), cmd('AUTH', 'ro', 'wrong'), cmd('AUTH', DEFAULT_PASSWORD), cmd('SET', key('c'), 'x'),
      ]));
      expect((await c.replies(5)).map((b) => b.toString('latin1'))).toEqual([
        '-NOAUTH Authentication required.\r\n',
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
        '+OK\r\n',
        '+OK\r\n',
      ]);
      expect(await stored(key('c'))).toBe('x');
    } finally {
      c.close();
    }
  });

  test('redis-cli --user --pass', async () => {
    const base = ['-h', '127.0.0.1', '-p', String(port()), '--no-auth-warning'];
    expect((await run('redis-cli', [...base, '--user', 'app', '--pass', APP_PASSWORD, 'SET', key('d'), 'cli'])).stdout).toBe('OK\n');
    expect((await run('redis-cli', [...base, '--user', 'ro', '--pass', RO_PASSWORD, 'GET', key('d')])).stdout).toBe('cli\n');
    expect((await run('redis-cli', [...base, '--user', 'ro', '--pass', RO_PASSWORD, 'SET', key('d'), 'no'])).stdout)
      .toBe("NOPERM User ro has no permissions to run the 'set' command\n\n"); // redis-cli ends an error with a blank line
  });

  test('the stats port: admin paths need the bearer token (stats_admin_require_token), reads do not', async () => {
    const node = nodes[store]!;
    const get = (path: string, headers: Record<string, string> = {}) => new Promise<[number, string]>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: node.statsPort, path, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve([res.statusCode ?? 0, body]));
      });
      req.on('error', reject);
      req.end();
    });
    expect(await get('/set_consistency/read/dc_quorum')).toEqual([403, 'forbidden: /set_consistency: admin paths need Authorization: Bearer <stats_admin_token>\n']);
    expect(node.control.readConsistency).toBe('DC_ONE');
    expect(await get('/get_consistency')).toEqual([200, 'Read Consistency: DC_ONE\nWrite Consistency: DC_ONE\n']);
    expect((await get('/set_consistency/read/dc_quorum', { Authorization: `Bearer ${TOKEN}` }))[0]).toBe(200);
    expect(node.control.readConsistency).toBe('DC_QUORUM');
    expect((await get('/set_consistency/read/dc_one', { Authorization: `Bearer ${TOKEN}` }))[0]).toBe(200);
  });
});
