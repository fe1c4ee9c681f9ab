// A single node in front of a real memcached, and the embedded datastore behind a Redis client:
// the replies a client sees, compared with the real servers'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { startMemcached, type RunningServer } from './helpers/servers.js';

let mc: RunningServer;
let node: RunningNode;
const clients: RawClient[] = [];

async function client(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  return c;
}

/** Sends text, reads until the reply ends with `end`. */
async function ask(c: RawClient, text: string | Buffer, end: RegExp): Promise<string> {
  c.write(text);
  return (await c.readUntil((b) => end.test(b.toString('latin1')))).toString('latin1');
}

beforeAll(async () => {
  mc = await startMemcached();
  node = await startTestNode({ dataStore: 'memcache', server: { host: '127.0.0.1', port: mc.port } });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await node?.close('test done', 100);
  await mc?.stop();
});

describe('single node proxy over memcached', () => {
  it('gives the same replies as memcached for a session of verbs', async () => {
    const session: [string, RegExp][] = [
      ['set a 5 0 3\r\nabc\r\n', /\r\n$/],
      ['get a\r\n', /END\r\n$/],
      ['add a 0 0 1\r\nx\r\n', /\r\n$/],
      ['append a 0 0 2\r\nde\r\n', /\r\n$/],
      ['get a b\r\n', /END\r\n$/],
      ['set n 0 0 2\r\n10\r\n', /\r\n$/],
      ['incr n 5\r\n', /\r\n$/],
      ['decr n 100\r\n', /\r\n$/],
      ['incr a 1\r\n', /\r\n$/],
      ['delete a\r\n', /\r\n$/],
      ['delete a\r\n', /\r\n$/],
      ['touch n 100\r\n', /\r\n$/],
      ['bogus command\r\n', /\r\n$/],
      ['get n\r\n', /END\r\n$/],
    ];
    const direct = await client(mc.port);
    const proxied = await client(node.port);
    // The same session directly, then (after a flush) through the proxy to the same memcached.
    await ask(direct, 'flush_all\r\n', /OK\r\n$/);
    const a: string[] = [];
    for (const [req, end] of session) a.push(await ask(direct, req, end));
    await ask(direct, 'flush_all\r\n', /OK\r\n$/);
    const b: string[] = [];
    for (const [req, end] of session) b.push(await ask(proxied, req, end));
    expect(b).toEqual(a);
    expect(b[1]).toBe('VALUE a 5 3\r\nabc\r\nEND\r\n');
  });

  it('pipelines storage commands with noreply and multi-key gets in order', async () => {
    const c = await client(node.port);
    let req = '';
    for (let i = 0; i < 200; i++) req += `set k${i} 0 0 ${String(i).length} noreply\r\n${i}\r\n`;
    req += 'get k0 k1 k199 missing\r\n';
    const r = await ask(c, req, /END\r\n$/);
    expect(r).toBe('VALUE k0 0 1\r\n0\r\nVALUE k1 0 1\r\n1\r\nVALUE k199 0 3\r\n199\r\nEND\r\n');
  });

  it('moves a 1 MB value', async () => {
    const c = await client(node.port);
    const v = Buffer.alloc(1000 * 1000, 'z');
    const r = await ask(c, Buffer.concat([Buffer.from(`set big 0 0 ${v.length}\r\n`), v, Buffer.from('\r\nget big\r\n')]), /END\r\n$/);
    expect(r.startsWith(`STORED\r\nVALUE big 0 ${v.length}\r\nzzz`)).toBe(true);
    expect(r.length).toBe(8 + `VALUE big 0 ${v.length}\r\n`.length + v.length + 2 + 5);
  });
});

describe('embedded in-memory datastore', () => {
  let mem: RunningNode;
  beforeAll(async () => {
    mem = await startTestNode({ dataStore: 'memory' });
  });
  afterAll(async () => {
    await mem?.close('test done', 100);
  });

  it('serves a Redis client with no datastore to run', async () => {
    const c = await client(mem.port);
    c.write(Buffer.concat([
      cmd('SET', 'k', 'v', 'EX', '100'), cmd('GET', 'k'), cmd('TTL', 'k'), cmd('HSET', 'h', 'f', '1', 'g', '2'),
      cmd('HGETALL', 'h'), cmd('LPUSH', 'l', 'a', 'b'), cmd('LRANGE', 'l', '0', '-1'), cmd('INCR', 'k'), cmd('PING'),
    ]));
    const r = (await c.replies(9)).map(String);
    expect(r).toEqual([
      '+OK\r\n', '$1\r\nv\r\n', ':100\r\n', ':2\r\n', '*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n', ':2\r\n',
      '*2\r\n$1\r\nb\r\n$1\r\na\r\n', '-ERR value is not an integer or out of range\r\n', '+PONG\r\n',
    ]);
  });
});

describe('embedded datastore behind memcached clients (client_protocol: memcache)', () => {
  let mem: RunningNode;
  beforeAll(async () => {
    mem = await startTestNode({ dataStore: 'memory', clientProtocol: 'memcache' });
  });
  afterAll(async () => {
    await mem?.close('test done', 100);
  });

  it('answers memcached verbs as memcached does', async () => {
    const c = await client(mem.port);
    expect(await ask(c, 'set a 3 0 2\r\nhi\r\nget a zz\r\n', /END\r\n$/)).toBe('STORED\r\nVALUE a 3 2\r\nhi\r\nEND\r\n');
    expect(await ask(c, 'incr a 1\r\n', /\r\n$/)).toBe('CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
    expect(await ask(c, 'delete a\r\nget a\r\n', /END\r\n$/)).toBe('DELETED\r\nEND\r\n');
  });
});
