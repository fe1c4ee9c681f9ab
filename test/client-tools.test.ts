// The Redis command-line tools through a node, as a user runs them, each against a node over redis
// and a node on the embedded store: redis-benchmark's default test suite leaves exactly the data it
// leaves in a real redis (the same run against a direct redis-server is the oracle), redis-cli -3
// (RESP3, HELLO 3 on connect) prints what it prints against redis, redis-cli --pipe mass insertion
// reports 0 errors and every key arrives, and redis-cli --scan lists exactly the matching keys.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { startTestNode } from './helpers/node.js';
import type { RunningNode } from '../src/node.js';

const run = promisify(execFile);

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 });
  return stdout;
}

/** Every key with its type and contents, read with the plain commands each type has (sorted). */
async function contents(port: number): Promise<string[]> {
  const keys = (await cli(port, '--raw', 'KEYS', '*')).split('\n').filter((k) => k !== '').sort();
  const out: string[] = [];
  for (const k of keys) {
    const type = (await cli(port, '--raw', 'TYPE', k)).trim();
    const read = { string: ['GET', k], list: ['LRANGE', k, '0', '-1'], set: ['SMEMBERS', k], hash: ['HGETALL', k], zset: ['ZRANGE', k, '0', '-1', 'WITHSCORES'] }[type];
    out.push(`${k} ${type} ${read ? (await cli(port, '--raw', ...read)).trim() : '(unread)'}`);
  }
  return out;
}

let oracle: RunningServer;
let backing: RunningServer;
const nodes: Record<'redis' | 'memory', RunningNode | undefined> = { redis: undefined, memory: undefined };

beforeAll(async () => {
  [oracle, backing] = await Promise.all([startRedis(), startRedis()]);
  nodes.redis = await startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: backing.port } });
  nodes.memory = await startTestNode({ dataStore: 'memory' });
});

afterAll(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.close()));
  await Promise.all([oracle?.stop(), backing?.stop()]);
});

describe.each(['redis', 'memory'] as const)('a node on %s', (store) => {
  const port = (): number => nodes[store]!.port;

  test('redis-benchmark default suite: no error replies, and the data it leaves equals a real redis\'s', async () => {
    await cli(oracle.port, 'FLUSHALL');
    await cli(port(), 'FLUSHALL');
    const args = ['-h', '127.0.0.1', '-n', '500', '-c', '20', '--csv'];
    const direct = await run('redis-benchmark', [...args, '-p', String(oracle.port)], { timeout: 120_000 });
    const proxied = await run('redis-benchmark', [...args, '-p', String(port())], { timeout: 120_000 });
    const tests = (csv: string): string[] => csv.trim().split('\n').slice(1).map((l) => l.split(',')[0]!.replace(/"/g, ''));
    expect(tests(proxied.stdout)).toEqual(tests(direct.stdout));
    expect(tests(proxied.stdout).length).toBeGreaterThanOrEqual(20);
    expect(proxied.stderr).not.toMatch(/error|ERR/i);
    const want = await contents(oracle.port);
    expect(want.map((l) => l.split(' ')[0])).toEqual(expect.arrayContaining(['counter:__rand_int__', 'key:__rand_int__', 'myhash', 'mylist']));
    expect(await contents(port())).toEqual(want);
  }, 240_000);

  test('redis-cli -3 (HELLO 3 on connect) prints what it prints against redis', async () => {
    const script: string[][] = [
      ['DEL', 'h', 's', 'z', 'f'],
      ['HSET', 'h', 'a', '1', 'b', '2'], ['HGETALL', 'h'],
      ['SADD', 's', 'x'], ['SMEMBERS', 's'],
      ['ZADD', 'z', '1.5', 'm', '2', 'n'], ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'], ['ZSCORE', 'z', 'm'],
      ['SET', 'f', '10.5'], ['INCRBYFLOAT', 'f', '0.25'], ['GET', 'nosuchkey'], ['EXISTS', 'h', 'nosuchkey'],
      ['LPOP', 'nosuchkey'], ['HGET', 'h', 'nosuchfield'],
    ];
    for (const c of script) {
      expect(await cli(port(), '-3', ...c), c.join(' ')).toBe(await cli(oracle.port, '-3', ...c));
    }
  });

  test('redis-cli --pipe: 10,000 SETs, "errors: 0, replies: 10000", every key readable', async () => {
    await cli(port(), 'FLUSHALL');
    const n = 10_000;
    const input = Array.from({ length: n }, (_, i) => {
      const k = `pipe:${i}`;
      const v = `value-${i}`;
      return `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
    }).join('');
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port()), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => { text += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { text += d.toString(); });
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`redis-cli --pipe exited ${code}: ${text}`))));
      p.stdin.end(input);
    });
    expect(out).toContain(`errors: 0, replies: ${n}`);
    expect((await cli(port(), 'DBSIZE')).trim()).toBe(String(n));
    expect((await cli(port(), 'MGET', 'pipe:0', 'pipe:4999', 'pipe:9999')).trim().split('\n')).toEqual(['value-0', 'value-4999', 'value-9999']);
  }, 60_000);

  test('redis-cli --scan --pattern lists exactly the matching keys', async () => {
    await cli(port(), 'FLUSHALL');
    const keys = Array.from({ length: 300 }, (_, i) => `user:${i}`);
    await cli(port(), 'MSET', ...keys.flatMap((k) => [k, 'x']), 'other:1', 'x', 'other:2', 'x');
    const scanned = (await cli(port(), '--scan', '--pattern', 'user:*')).split('\n').filter((k) => k !== '').sort();
    expect(scanned).toEqual([...keys].sort());
    const all = (await cli(port(), '--scan')).split('\n').filter((k) => k !== '');
    expect(all.length).toBe(302);
  });
});
