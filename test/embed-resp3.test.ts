// A user's own datastore behind a node, reached by the newest clients with their README defaults:
// ioredis 6 and node-redis 6 open with `HELLO 3`, which the node answers itself (the user's store
// never sees it), and every reply of the store reaches them converted to RESP3 by the command's
// reply shape (HGETALL a map, SMEMBERS a set, a nil a RESP3 null).
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode, OK, type Datastore, type DatastoreRequest, type DynomiteNode } from '../src/index.js';
import { RawClient, cmd } from './helpers/resp-client.js';

/** Strings, hashes and sets in Maps: enough of Redis for the clients' calls. */
class SmallStore implements Datastore {
  readonly strings = new Map<string, Buffer>();
  readonly hashes = new Map<string, Map<string, Buffer>>();
  readonly sets = new Map<string, Set<string>>();
  readonly commands: string[] = [];
  execute(r: DatastoreRequest) {
    this.commands.push(r.command);
    const [k, ...rest] = r.args.map((b) => b.toString());
    switch (r.command) {
      case 'SET': this.strings.set(k!, r.args[1]!); return OK;
      case 'GET': return this.strings.get(k!) ?? null;
      case 'HSET': {
        const h = this.hashes.get(k!) ?? new Map<string, Buffer>();
        this.hashes.set(k!, h);
        let added = 0;
        for (let i = 0; i + 1 < rest.length; i += 2) {
          if (!h.has(rest[i]!)) added++;
          h.set(rest[i]!, Buffer.from(rest[i + 1]!));
        }
        return added;
      }
      case 'HGETALL': return [...(this.hashes.get(k!) ?? new Map<string, Buffer>())].flatMap(([f, v]) => [f, v]);
      case 'SADD': {
        const s = this.sets.get(k!) ?? new Set<string>();
        this.sets.set(k!, s);
        const before = s.size;
        for (const m of rest) s.add(m);
        return s.size - before;
      }
      case 'SMEMBERS': return [...(this.sets.get(k!) ?? [])];
      default: return new Error(`ERR unknown command '${r.command}'`);
    }
  }
}

describe('a user Datastore with RESP3 clients on their defaults', () => {
  const store = new SmallStore();
  let node: DynomiteNode;

  beforeAll(async () => {
    node = createNode({}, { datastore: store });
    await node.start();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('HELLO 3 is answered by the node (the store never sees it) with the server map', async () => {
    const c = await RawClient.connect(node.port);
    try {
      c.write(cmd('HELLO', '3'));
      const hello = (await c.replies(1))[0]!.toString();
      expect(hello.startsWith('%7\r\n')).toBe(true);
      expect(hello).toContain('$5\r\nproto\r\n:3\r\n');
      c.write(cmd('GET', 'missing'));
      expect((await c.replies(1))[0]!.toString()).toBe('_\r\n');
      // INFO (ioredis sends it on connect): the node's sections, the store's refusal said in its own.
      c.write(cmd('INFO'));
      const info = (await c.replies(1))[0]!.toString();
      expect(info.startsWith('=')).toBe(true);
      expect(info).toContain('# Dynomite\r\n');
      expect(info).toContain("# Datastore\r\ndatastore_info_error:ERR unknown command 'INFO'\r\n");
    } finally {
      c.close();
    }
    expect(store.commands).not.toContain('HELLO');
    expect(store.commands).toContain('INFO');
  });

  it('ioredis 6, README defaults: strings, a hash and a set', async () => {
    const r = new Redis({ port: node.port, host: '127.0.0.1' });
    try {
      expect(await r.set('io:a', '1')).toBe('OK');
      expect(await r.get('io:a')).toBe('1');
      expect(await r.get('io:missing')).toBeNull();
      expect(await r.hset('io:h', 'f1', 'v1', 'f2', 'v2')).toBe(2);
      expect(await r.hgetall('io:h')).toEqual({ f1: 'v1', f2: 'v2' });
      expect(await r.sadd('io:s', 'x', 'y')).toBe(2);
      expect((await r.smembers('io:s')).sort()).toEqual(['x', 'y']);
    } finally {
      r.disconnect();
    }
  });

  it('node-redis 6, README defaults (RESP3 map and set types arrive as such)', async () => {
    const c = createClient({ url: `redis://127.0.0.1:${node.port}` });
    c.on('error', () => undefined);
    await c.connect();
    try {
      expect(await c.set('nr:a', 'x')).toBe('OK');
      expect(await c.get('nr:a')).toBe('x');
      expect(await c.hSet('nr:h', { f: 'v' })).toBe(1);
      expect(await c.hGetAll('nr:h')).toEqual({ f: 'v' });
      expect(await c.sAdd('nr:s', ['p', 'q'])).toBe(2);
      expect((await c.sMembers('nr:s')).sort()).toEqual(['p', 'q']);
    } finally {
      await c.quit().catch(() => c.disconnect());
    }
  });
});
