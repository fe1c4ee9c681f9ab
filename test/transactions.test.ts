// MULTI / EXEC / DISCARD / WATCH / UNWATCH through a single node over redis-server and over the
// embedded store, over real sockets: the replies byte for byte against a redis-server given the
// same sequences (RESP2 and RESP3), WATCH aborts, nothing applied on EXECABORT, and the three
// most used clients' transactions with their README defaults.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { RawClient, cmd } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { startTestNode } from './helpers/node.js';
import { until } from './helpers/until.js';
import type { RunningNode } from '../src/node.js';
import { MAX_PINNED, type ServerPool } from '../src/store/server-pool.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { MemoryStore, StoreClient } from '../src/store/memory/index.js';

let oracle: RunningServer;
let backing: RunningServer;
let overRedis: RunningNode;
let overMemory: RunningNode;
let run = 0;

beforeAll(async () => {
  [oracle, backing] = await Promise.all([startRedis(), startRedis()]);
  overRedis = await startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: backing.port } });
  overMemory = await startTestNode({ dataStore: 'memory' });
}, 30_000);

afterAll(async () => {
  await Promise.all([overRedis?.close(), overMemory?.close()]);
  await Promise.all([oracle?.stop(), backing?.stop()]);
});

/** Sequences sent in one write each (a pipeline); `K` is replaced by a key prefix unique to the run. */
const SEQUENCES: readonly (readonly string[][])[] = [
  // the EXEC array, with replies of every shape
  [['MULTI'], ['SET', 'K:s', 'v'], ['INCR', 'K:n'], ['GET', 'K:s'], ['GET', 'K:none'], ['HSET', 'K:h', 'f', 'v'],
    ['HGETALL', 'K:h'], ['ZADD', 'K:z', '1.5', 'a'], ['ZSCORE', 'K:z', 'a'], ['SADD', 'K:set', 'x'], ['SMEMBERS', 'K:set'],
    ['ZRANGE', 'K:z', '0', '-1', 'WITHSCORES'], ['EXEC'], ['GET', 'K:s']],
  // a runtime error inside EXEC is one element of the array; the others are applied
  [['MULTI'], ['SET', 'K:str', 'x'], ['INCR', 'K:str'], ['LPUSH', 'K:str', 'a'], ['APPEND', 'K:str', 'y'], ['EXEC'], ['GET', 'K:str']],
  // an arity error while queueing: EXECABORT, nothing applied
  [['MULTI'], ['SET', 'K:a', '1'], ['GET'], ['SET', 'K:b', '2'], ['EXEC'], ['EXISTS', 'K:a', 'K:b']],
  // outside MULTI
  [['EXEC'], ['DISCARD'], ['UNWATCH']],
  // nested MULTI and WATCH inside MULTI are refused without aborting
  [['MULTI'], ['MULTI'], ['WATCH', 'K:w'], ['SET', 'K:w', '1'], ['EXEC'], ['GET', 'K:w']],
  // DISCARD drops the queue
  [['MULTI'], ['SET', 'K:d', '1'], ['DISCARD'], ['GET', 'K:d'], ['EXEC']],
  // WATCH with no change in between: applied
  [['WATCH', 'K:w2', 'K:w3'], ['MULTI'], ['SET', 'K:w2', '1'], ['EXEC'], ['GET', 'K:w2']],
  // WATCH then the client's own write: aborted, as Redis does
  [['SET', 'K:own', '0'], ['WATCH', 'K:own'], ['SET', 'K:own', '1'], ['MULTI'], ['SET', 'K:own', '2'], ['EXEC'], ['GET', 'K:own']],
  // UNWATCH forgets the change
  [['WATCH', 'K:u'], ['SET', 'K:u', '1'], ['UNWATCH'], ['MULTI'], ['SET', 'K:u', '2'], ['EXEC'], ['GET', 'K:u']],
  // empty transactions, UNWATCH / ECHO / PING queued
  [['MULTI'], ['EXEC'], ['MULTI'], ['UNWATCH'], ['ECHO', 'hi'], ['PING'], ['EXEC']],
  // EXEC with arguments inside MULTI: Redis 7 discards saying why
  [['MULTI'], ['SET', 'K:e', '1'], ['EXEC', 'now'], ['EXEC'], ['GET', 'K:e']],
  // DEL / EXPIRE of watched keys abort; a transaction after an aborted one works
  [['SET', 'K:x', '1'], ['WATCH', 'K:x'], ['EXPIRE', 'K:x', '100'], ['MULTI'], ['GET', 'K:x'], ['EXEC'],
    ['MULTI'], ['TTL', 'K:x'], ['DEL', 'K:x'], ['EXEC']],
];

function expand(seq: readonly string[][], prefix: string): string[][] {
  return seq.map((c) => c.map((a) => a.replace(/^K:/, `${prefix}:`)));
}

/** Sends the sequence in one write to both and returns the differences. */
async function compare(a: RawClient, b: RawClient, seq: string[][]): Promise<string[]> {
  const bytes = Buffer.concat(seq.map((c) => cmd(...c)));
  a.write(bytes);
  b.write(bytes);
  const want = await a.replies(seq.length);
  const got = await b.replies(seq.length);
  const diffs: string[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (!want[i]!.equals(got[i]!)) {
      diffs.push(`${seq[i]!.join(' ')}\n  redis: ${JSON.stringify(want[i]!.toString('latin1'))}\n  ours:  ${JSON.stringify(got[i]!.toString('latin1'))}`);
    }
  }
  return diffs;
}

const targets = [
  { name: 'single node over redis', port: () => overRedis.port },
  { name: 'embedded store', port: () => overMemory.port },
] as const;

describe.each(targets)('transactions: $name', (t) => {
  test.each([2, 3] as const)('RESP%i replies equal redis-server 7 byte for byte', async (proto) => {
    const prefix = `tx${run++}`;
    const o = await RawClient.connect(oracle.port);
    const ours = await RawClient.connect(t.port());
    try {
      if (proto === 3) {
        o.write(cmd('HELLO', '3'));
        ours.write(cmd('HELLO', '3'));
        await o.replies(1);
        await ours.replies(1);
      }
      const diffs: string[] = [];
      for (const seq of SEQUENCES) diffs.push(...(await compare(o, ours, expand(seq, prefix))));
      expect(diffs).toEqual([]);
    } finally {
      o.close();
      ours.close();
    }
  });

  test.each([2, 3] as const)('RESP%i: WATCH aborts (nil) when another client changes the key', async (proto) => {
    const k = `watch${run++}`;
    const a = await RawClient.connect(t.port());
    const b = await RawClient.connect(t.port());
    try {
      if (proto === 3) {
        a.write(cmd('HELLO', '3'));
        await a.replies(1);
      }
      a.write(Buffer.concat([cmd('SET', k, 'start'), cmd('WATCH', k), cmd('GET', k)]));
      expect((await a.replies(3)).map(String)).toEqual(['+OK\r\n', '+OK\r\n', '$5\r\nstart\r\n']);
      b.write(cmd('SET', k, 'other'));
      expect(String((await b.replies(1))[0])).toBe('+OK\r\n');
      a.write(Buffer.concat([cmd('MULTI'), cmd('SET', k, 'mine'), cmd('EXEC'), cmd('GET', k)]));
      expect((await a.replies(4)).map(String)).toEqual(['+OK\r\n', '+QUEUED\r\n', proto === 3 ? '_\r\n' : '*-1\r\n', '$5\r\nother\r\n']);
      // The WATCH ended with EXEC: the next transaction applies.
      a.write(Buffer.concat([cmd('MULTI'), cmd('SET', k, 'mine'), cmd('EXEC'), cmd('GET', k)]));
      expect((await a.replies(4)).map(String)).toEqual(['+OK\r\n', '+QUEUED\r\n', '*1\r\n+OK\r\n', '$4\r\nmine\r\n']);
    } finally {
      a.close();
      b.close();
    }
  });

  test('an unknown command while queueing: its error, then EXECABORT, nothing applied', async () => {
    const k = `unk${run++}`;
    const c = await RawClient.connect(t.port());
    try {
      c.write(Buffer.concat([cmd('MULTI'), cmd('SET', k, '1'), cmd('NOSUCHCMD', 'x'), cmd('MONITOR'), cmd('EXEC'), cmd('GET', k)]));
      const r = (await c.replies(6)).map(String);
      expect(r[0]).toBe('+OK\r\n');
      expect(r[1]).toBe('+QUEUED\r\n');
      expect(r[2]).toBe("-ERR unknown or unsupported command 'NOSUCHCMD'\r\n");
      expect(r[3]).toBe("-ERR unknown or unsupported command 'MONITOR'\r\n");
      expect(r[4]).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
      expect(r[5]).toBe('$-1\r\n');
    } finally {
      c.close();
    }
  });

  test('commands the node answers itself are refused inside MULTI (EXECABORT); RESET ends the transaction', async () => {
    const k = `own${run++}`;
    const c = await RawClient.connect(t.port());
    try {
      c.write(Buffer.concat([cmd('MULTI'), cmd('SET', k, '1'), cmd('CLIENT', 'SETNAME', 'x'), cmd('EXEC'),
        cmd('MULTI'), cmd('SET', k, '2'), cmd('RESET'), cmd('EXEC'), cmd('GET', k)]));
      const r = (await c.replies(9)).map(String);
      expect(r.slice(0, 4)).toEqual(['+OK\r\n', '+QUEUED\r\n',
        "-ERR Command not allowed inside a transaction: 'client' is answered by this node, not by the datastore\r\n",
        '-EXECABORT Transaction discarded because of previous errors.\r\n']);
      expect(r.slice(4)).toEqual(['+OK\r\n', '+QUEUED\r\n', '+RESET\r\n', '-ERR EXEC without MULTI\r\n', '$-1\r\n']);
    } finally {
      c.close();
    }
  });

  test('a WATCHing client that disconnects leaves no reservation behind', async () => {
    const blocks = t.name === 'embedded store'
      ? (overMemory.backend as MemoryBackend) : (overRedis.backend as ServerPool);
    const before = blocks.pinned();
    const c = await RawClient.connect(t.port());
    c.write(cmd('WATCH', `gone${run++}`));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    expect(blocks.pinned()).toBe(before + 1);
    c.close();
    await until('the reservation is handed back', () => {
      expect(blocks.pinned()).toBe(before);
    }, 5000);
  });
});

test('the block reaches redis as one unit: a concurrent writer never sees half a transaction', async () => {
  const p = `unit${run++}`;
  const writer = await RawClient.connect(overRedis.port);
  const reader = await RawClient.connect(backing.port);
  try {
    // 200 transactions each setting both keys to i; straight reads of the backing redis between
    // them must always find both keys equal.
    const txs: Buffer[] = [];
    for (let i = 0; i < 200; i++) txs.push(cmd('MULTI'), cmd('SET', `${p}:a`, String(i)), cmd('SET', `${p}:b`, String(i)), cmd('EXEC'));
    writer.write(Buffer.concat(txs));
    const seen: string[] = [];
    let done = false;
    const replies = writer.replies(800).then((r) => {
      done = true;
      return r;
    });
    while (!done) {
      reader.write(cmd('MGET', `${p}:a`, `${p}:b`));
      const [r] = await reader.replies(1);
      const m = /^\*2\r\n(?:\$-1|\$\d+\r\n(\d+))\r\n(?:\$-1|\$\d+\r\n(\d+))\r\n$/.exec(r!.toString('latin1'));
      expect(m, r!.toString('latin1')).not.toBeNull();
      if (m![1] !== m![2]) seen.push(`${m![1]} != ${m![2]}`);
    }
    const r = await replies;
    expect(r.filter((b, i) => i % 4 === 3 && b.toString('latin1') !== '*2\r\n+OK\r\n+OK\r\n')).toEqual([]);
    expect(seen).toEqual([]);
  } finally {
    writer.close();
    reader.close();
  }
});

test(`WATCH beyond ${MAX_PINNED} reserved connections per datastore is refused, and served again once one is handed back`, async () => {
  const pool = overRedis.backend as ServerPool;
  const clients: RawClient[] = [];
  try {
    const free = MAX_PINNED - pool.pinned();
    for (let i = 0; i < free; i++) {
      const c = await RawClient.connect(overRedis.port);
      clients.push(c);
      c.write(cmd('WATCH', `lim${i}`));
    }
    for (const c of clients) expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    const extra = await RawClient.connect(overRedis.port);
    clients.push(extra);
    extra.write(cmd('WATCH', 'lim-extra'));
    expect(String((await extra.replies(1))[0]))
      .toBe(`-ERR Dynomite: all ${MAX_PINNED} connections for WATCH to the datastore 127.0.0.1:${backing.port} are in use\r\n`);
    clients[0]!.write(cmd('UNWATCH'));
    expect(String((await clients[0]!.replies(1))[0])).toBe('+OK\r\n');
    await until('a connection is handed back', () => {
      expect(pool.pinned()).toBeLessThan(MAX_PINNED);
    });
    extra.write(cmd('WATCH', 'lim-extra'));
    expect(String((await extra.replies(1))[0])).toBe('+OK\r\n');
  } finally {
    for (const c of clients) c.close();
  }
}, 30_000);

describe.each(targets)('clients with their README defaults: $name', (t) => {
  test('ioredis multi().set().get().exec()', async () => {
    const k = `io${run++}`;
    const c = new IORedis(t.port(), '127.0.0.1');
    try {
      expect(await c.multi().set(k, 'v').get(k).incr(`${k}:n`).exec()).toEqual([[null, 'OK'], [null, 'v'], [null, 1]]);
      // WATCH abort: exec() resolves null
      await c.watch(k);
      await c.set(k, 'changed');
      expect(await c.multi().set(k, 'mine').exec()).toBeNull();
      expect(await c.get(k)).toBe('changed');
    } finally {
      c.disconnect();
    }
  });

  test('node-redis multi()...exec()', async () => {
    const k = `nr${run++}`;
    const c = createClient({ url: `redis://127.0.0.1:${t.port()}` });
    c.on('error', () => undefined);
    await c.connect();
    try {
      expect(await c.multi().set(k, 'v').get(k).hSet(`${k}:h`, 'f', '1').hGetAll(`${k}:h`).exec())
        .toEqual(['OK', 'v', 1, { f: '1' }]);
      // A runtime error inside EXEC: node-redis rejects with every reply, the error in its place.
      const err: unknown = await c.multi().set(k, 'x').incr(k).exec().then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ errorIndexes: [1] });
      const replies = (err as { replies: unknown[] }).replies;
      expect(replies[0]).toBe('OK');
      expect(String(replies[1])).toMatch(/ERR value is not an integer or out of range/);
    } finally {
      c.destroy();
    }
  });

  // Debian's python3-redis (scripts/test-deps.sh installs it); run asynchronously: the node under
  // test lives in this process.
  test('redis-py pipeline() (transaction=True by default)', async () => {
    const k = `py${run++}`;
    const script = [
      'import redis, sys',
      `r = redis.Redis(host='127.0.0.1', port=${t.port()})`,
      `p = r.pipeline()`,
      `p.set('${k}', 'v'); p.incr('${k}:n'); p.get('${k}')`,
      'print(p.execute())',
      `def tx(pipe):`,
      `    v = pipe.get('${k}')`,
      `    pipe.multi()`,
      `    pipe.set('${k}', v + b'!')`,
      `print(r.transaction(tx, '${k}'))`,
      `print(r.get('${k}'))`,
      // an error in the queue aborts the whole transaction: nothing applied
      `p = r.pipeline(); p.set('${k}:x', '1'); p.execute_command('GET')`,
      'try:\n    p.execute()\nexcept redis.exceptions.ResponseError as e:\n    print("error", e)',
      `print(r.exists('${k}:x'))`,
    ].join('\n');
    const res = await promisify(execFile)('/usr/bin/python3', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
    expect(res.stderr).toBe('');
    expect(res.stdout.split('\n')).toEqual([
      "[True, 1, b'v']", '[True]', "b'v!'",
      expect.stringMatching(/^error Command # 2 \(GET\) of pipeline caused error: wrong number of arguments for 'get' command/),
      '0', '']);
  });
});

describe('embedded store: WATCH sees every change of a watched key', () => {
  const b = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));
  let clock = 1_000_000;
  const store = new MemoryStore({ now: () => clock });
  const exec = (c: StoreClient, ...cmds: string[][]): string => {
    store.execute(b('MULTI'), c);
    for (const x of cmds) store.execute(b(...x), c);
    return store.execute(b('EXEC'), c).toString('latin1');
  };
  const watching = (...keys: string[]): StoreClient => {
    const c = new StoreClient();
    expect(store.execute(b('WATCH', ...keys), c).toString()).toBe('+OK\r\n');
    return c;
  };

  test.each([
    ['a write in place (LPUSH on an existing list)', ['LPUSH', 'w:l', 'y'], 'w:l'],
    ['DEL', ['DEL', 'w:s'], 'w:s'],
    ['EXPIRE', ['EXPIRE', 'w:s', '100'], 'w:s'],
    ['a RENAME onto it', ['RENAME', 'w:o', 'w:s'], 'w:s'],
    ['FLUSHALL', ['FLUSHALL'], 'w:s'],
  ])('%s aborts EXEC', (_what, change, key) => {
    store.execute(b('FLUSHALL'));
    store.execute(b('SET', 'w:s', '1'));
    store.execute(b('SET', 'w:o', '2'));
    store.execute(b('RPUSH', 'w:l', 'x'));
    const c = watching(key);
    store.execute(b(...change));
    expect(exec(c, ['SET', 'w:after', '1'])).toBe('*-1\r\n');
    expect(store.execute(b('EXISTS', 'w:after')).toString()).toBe(':0\r\n');
  });

  test('expiry after WATCH aborts; a key already expired at WATCH does not; other keys do not', () => {
    store.execute(b('FLUSHALL'));
    store.execute(b('SET', 'e:k', '1', 'PX', '50'));
    const c = watching('e:k');
    clock += 100; // e:k expires, nobody touched it
    expect(exec(c, ['GET', 'e:k'])).toBe('*-1\r\n');
    const d = watching('e:k'); // already gone
    store.execute(b('SET', 'e:other', '1'));
    expect(exec(d, ['GET', 'e:k'])).toBe('*1\r\n$-1\r\n');
  });

  test('FLUSHALL of an empty watched key does not abort (Redis: only keys that existed)', () => {
    store.execute(b('FLUSHALL'));
    const c = watching('f:none');
    store.execute(b('FLUSHALL'));
    expect(exec(c, ['SET', 'f:none', '1'])).toBe('*1\r\n+OK\r\n');
  });
});
