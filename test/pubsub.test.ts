// Pub/sub at a single node, over redis and over the embedded store: the subscribe / unsubscribe /
// ping / PUBSUB sequences compared byte for byte with a real redis-server (RESP2 and RESP3), every
// subscriber getting a message exactly once with PUBLISH counting them, patterns, unsubscribe
// stopping delivery, the clients with their README defaults (ioredis 6 and node-redis 6 speak
// RESP3, ioredis 5 and node-redis 4 RESP2), and a subscriber that does not read being cut off at
// client_output_buffer_limit_pubsub.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { Redis as IORedis6 } from 'ioredis';
import { Redis as IORedis5 } from 'ioredis5';
import { createClient as createClient6 } from 'redis';
import { createClient as createClient4 } from 'redis4';
import { RawClient, cmd } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { nodeOptions, startTestNode } from './helpers/node.js';
import { until } from './helpers/until.js';
import { startNode, type RunningNode } from '../src/node.js';

let oracle: RunningServer;
let backing: RunningServer;
const nodes: Record<string, RunningNode> = {};
const opened: { close(): void }[] = [];
let limited: RunningNode;
const limitLog: string[] = [];

beforeAll(async () => {
  [oracle, backing] = await Promise.all([startRedis(), startRedis()]);
  [nodes.redis, nodes.memory] = await Promise.all([
    startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: backing.port } }),
    startTestNode({ dataStore: 'memory' }),
  ]);
  const logger = pino({ level: 'warn' }, { write: (line: string) => void limitLog.push(line) });
  limited = await startNode(nodeOptions({ dataStore: 'memory', pubsubOutputLimit: { hard: 1 << 20, soft: 0, softSeconds: 0 } }), { logger });
}, 30_000);

afterAll(async () => {
  for (const c of opened) c.close();
  await Promise.all([...Object.values(nodes).map((n) => n.close()), limited?.close()]);
  await Promise.all([oracle?.stop(), backing?.stop()]);
});

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  opened.push(c);
  return c;
}

/** One step of a script: a command on `sub` or `pub` and how many replies it gives, or a read of `sub`. */
interface Step {
  on: 'sub' | 'pub';
  cmd?: string[];
  replies: number;
  /** Not compared (HELLO's server map names the version and the id). */
  skip?: boolean;
}

/** Runs the script on two connections to redis-server and two to the node; returns the differences. */
async function compareScript(port: number, script: readonly Step[], prefix: string): Promise<string[]> {
  const fix = (a: string): string => a.replace(/^K:/, `${prefix}:`);
  const [os, op, ns, np] = await Promise.all([raw(oracle.port), raw(oracle.port), raw(port), raw(port)]);
  const diffs: string[] = [];
  for (const s of script) {
    const [o, n] = s.on === 'sub' ? [os, ns] : [op, np];
    if (s.cmd) {
      const c = cmd(...s.cmd.map(fix));
      o.write(c);
      n.write(c);
    }
    const want = Buffer.concat(await o.replies(s.replies));
    const got = Buffer.concat(await n.replies(s.replies));
    if (!s.skip && !want.equals(got)) {
      diffs.push(`${s.on}: ${s.cmd?.join(' ') ?? '(read)'}\n  redis: ${JSON.stringify(want.toString('latin1'))}\n  ours:  ${JSON.stringify(got.toString('latin1'))}`);
    }
  }
  for (const c of [os, op, ns, np]) c.close();
  return diffs;
}

const RESP2_SCRIPT: Step[] = [
  { on: 'sub', cmd: ['SUBSCRIBE', 'a', 'pb'], replies: 2 },
  { on: 'sub', cmd: ['PSUBSCRIBE', 'p*'], replies: 1 },
  { on: 'sub', cmd: ['SSUBSCRIBE', 's'], replies: 1 },
  { on: 'sub', cmd: ['SUBSCRIBE', 'a'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'NUMSUB', 'a', 'pb', 'z'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'NUMSUB'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'NUMPAT'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'CHANNELS', 'a*'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'CHANNELS', 'zz*'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'SHARDCHANNELS'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'SHARDNUMSUB', 's', 'a'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'NUMPAT', 'x'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'CHANNELS', 'a', 'b'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'FOO'], replies: 1 },
  { on: 'pub', cmd: ['PUBLISH', 'a', 'hello'], replies: 1 },
  { on: 'sub', replies: 1 },
  // Its channel and its pattern: two messages, counted 2.
  { on: 'pub', cmd: ['PUBLISH', 'pb', 'both'], replies: 1 },
  { on: 'sub', replies: 2 },
  { on: 'pub', cmd: ['PUBLISH', 'pzz', 'pattern only'], replies: 1 },
  { on: 'sub', replies: 1 },
  { on: 'pub', cmd: ['SPUBLISH', 's', 'sharded'], replies: 1 },
  { on: 'sub', replies: 1 },
  { on: 'pub', cmd: ['SPUBLISH', 'a', 'no shard subscriber'], replies: 1 },
  { on: 'sub', cmd: ['GET', 'K:x'], replies: 1 },
  { on: 'sub', cmd: ['PING'], replies: 1 },
  { on: 'sub', cmd: ['PING', 'hi'], replies: 1 },
  { on: 'sub', cmd: ['PUBLISH', 'a', 'x'], replies: 1 },
  { on: 'sub', cmd: ['CLIENT', 'ID'], replies: 1 },
  { on: 'sub', cmd: ['CONFIG', 'GET', 'maxmemory'], replies: 1 },
  { on: 'sub', cmd: ['GET'], replies: 1 },
  { on: 'sub', cmd: ['UNSUBSCRIBE', 'a'], replies: 1 },
  { on: 'pub', cmd: ['PUBLISH', 'a', 'after unsubscribe'], replies: 1 },
  { on: 'sub', cmd: ['UNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['PUNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['PUNSUBSCRIBE'], replies: 1 },
  // Only the shard channel left: still subscriber mode.
  { on: 'sub', cmd: ['PING'], replies: 1 },
  { on: 'sub', cmd: ['SUNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['SUNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['UNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['PING'], replies: 1 },
  { on: 'sub', cmd: ['GET', 'K:x'], replies: 1 },
  { on: 'pub', cmd: ['PUBLISH', 'pb', 'nobody'], replies: 1 },
  // RESET leaves every channel (no unsubscribe messages) and ends subscriber mode.
  { on: 'sub', cmd: ['SUBSCRIBE', 'a'], replies: 1 },
  { on: 'sub', cmd: ['RESET'], replies: 1 },
  { on: 'pub', cmd: ['PUBSUB', 'NUMSUB', 'a'], replies: 1 },
  { on: 'sub', cmd: ['GET', 'K:x'], replies: 1 },
];

const RESP3_SCRIPT: Step[] = [
  { on: 'sub', cmd: ['HELLO', '3'], replies: 1, skip: true },
  { on: 'sub', cmd: ['SUBSCRIBE', 'a', 'b'], replies: 2 },
  { on: 'sub', cmd: ['PSUBSCRIBE', 'a*'], replies: 1 },
  // RESP3: any command while subscribed, PING as usual.
  { on: 'sub', cmd: ['SET', 'K:k', 'v'], replies: 1 },
  { on: 'sub', cmd: ['GET', 'K:k'], replies: 1 },
  { on: 'sub', cmd: ['GET', 'K:none'], replies: 1 },
  { on: 'sub', cmd: ['PING'], replies: 1 },
  { on: 'pub', cmd: ['PUBLISH', 'a', 'hi'], replies: 1 },
  { on: 'sub', replies: 2 },
  { on: 'pub', cmd: ['PUBSUB', 'NUMSUB', 'a'], replies: 1 },
  // Its own message arrives before PUBLISH's reply, as Redis writes them.
  { on: 'sub', cmd: ['PUBLISH', 'b', 'self'], replies: 2 },
  { on: 'sub', cmd: ['UNSUBSCRIBE', 'a'], replies: 1 },
  { on: 'sub', cmd: ['PUNSUBSCRIBE', 'a*'], replies: 1 },
  { on: 'sub', cmd: ['UNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['UNSUBSCRIBE'], replies: 1 },
  { on: 'sub', cmd: ['SSUBSCRIBE', 's'], replies: 1 },
  { on: 'pub', cmd: ['SPUBLISH', 's', 'm'], replies: 1 },
  { on: 'sub', replies: 1 },
  { on: 'sub', cmd: ['SUNSUBSCRIBE'], replies: 1 },
];

/** What the test uses of node-redis 4 and 6 (their client types differ in generics only). */
interface NodeRedisLike {
  on(event: 'error', f: () => void): unknown;
  connect(): Promise<unknown>;
  duplicate(): NodeRedisLike;
  subscribe(ch: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  pSubscribe(pattern: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(ch: string): Promise<unknown>;
  publish(ch: string, message: string): Promise<number>;
  pubSubNumSub(ch: string): Promise<Record<string, number>>;
  quit(): Promise<unknown>;
}

let run = 0;
const prefix = (): string => `ps${run++}`;

describe.each(['redis', 'memory'] as const)('pub/sub at a node over %s', (ds) => {
  const port = (): number => nodes[ds]!.port;

  test('RESP2: subscriber mode, messages and PUBSUB are byte for byte redis-server\'s', async () => {
    expect(await compareScript(port(), RESP2_SCRIPT, prefix())).toEqual([]);
  });

  test('RESP3 (HELLO 3): push messages, other commands allowed, byte for byte redis-server\'s', async () => {
    expect(await compareScript(port(), RESP3_SCRIPT, prefix())).toEqual([]);
  });

  test('every subscriber gets a message exactly once; PUBLISH counts them; unsubscribe stops delivery', async () => {
    const ch = `${prefix()}:news`;
    const subs = await Promise.all([raw(port()), raw(port()), raw(port())]);
    const psub = await raw(port());
    const push3 = await raw(port());
    for (const s of subs) s.write(cmd('SUBSCRIBE', ch));
    psub.write(cmd('PSUBSCRIBE', `${ch.slice(0, -2)}*`));
    push3.write(Buffer.concat([cmd('HELLO', '3'), cmd('SUBSCRIBE', ch)]));
    for (const s of [...subs, psub]) await s.replies(1);
    await push3.replies(2);
    const pub = await raw(port());
    pub.write(cmd('PUBLISH', ch, 'one'));
    expect((await pub.replies(1))[0]!.toString()).toBe(':5\r\n');
    const message = `*3\r\n$7\r\nmessage\r\n$${ch.length}\r\n${ch}\r\n$3\r\none\r\n`;
    for (const s of subs) expect((await s.replies(1))[0]!.toString()).toBe(message);
    expect((await psub.replies(1))[0]!.toString()).toBe(`*4\r\n$8\r\npmessage\r\n$${ch.length - 1}\r\n${ch.slice(0, -2)}*\r\n$${ch.length}\r\n${ch}\r\n$3\r\none\r\n`);
    expect((await push3.replies(1))[0]!.toString()).toBe(`>${message.slice(1)}`);
    // Exactly once: the next thing each one reads is the PING it sends now.
    for (const s of [...subs, psub]) {
      s.write(cmd('PING'));
      expect((await s.replies(1))[0]!.toString()).toBe('*2\r\n$4\r\npong\r\n$0\r\n\r\n');
    }
    subs[0]!.write(cmd('UNSUBSCRIBE', ch));
    expect((await subs[0]!.replies(1))[0]!.toString()).toContain('unsubscribe');
    pub.write(cmd('PUBLISH', ch, 'two'));
    expect((await pub.replies(1))[0]!.toString()).toBe(':4\r\n');
    subs[0]!.write(cmd('PING'));
    expect((await subs[0]!.replies(1))[0]!.toString()).toBe('+PONG\r\n');
    expect((await subs[1]!.replies(1))[0]!.toString()).toContain('two');
    // A closed subscriber is forgotten.
    subs[2]!.close();
    await until('the closed subscriber to be dropped', async () => {
      pub.write(cmd('PUBSUB', 'NUMSUB', ch));
      expect((await pub.replies(1))[0]!.toString()).toBe(`*2\r\n$${ch.length}\r\n${ch}\r\n:2\r\n`);
    });
  });

  test('CLIENT LIST shows the subscriptions and TYPE pubsub selects them', async () => {
    const ch = `${prefix()}:list`;
    const s = await raw(port());
    s.write(cmd('SUBSCRIBE', ch, `${ch}2`));
    await s.replies(2);
    s.write(cmd('PSUBSCRIBE', 'x*'));
    await s.replies(1);
    const c = await raw(port());
    c.write(cmd('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const list = (await c.replies(1))[0]!.toString();
    expect(list).toMatch(/ flags=P .* sub=2 psub=1 ssub=0 /);
    c.write(cmd('CLIENT', 'LIST', 'TYPE', 'normal'));
    expect((await c.replies(1))[0]!.toString()).not.toContain('sub=2');
  });

  test('ioredis 6 with its README defaults (RESP3): subscribe, on("message"), psubscribe', async () => {
    const ch = `${prefix()}:io6`;
    const sub = new IORedis6({ host: '127.0.0.1', port: port() });
    const pub = new IORedis6({ host: '127.0.0.1', port: port() });
    try {
      const got: string[] = [];
      sub.on('message', (c: string, m: string) => got.push(`${c}=${m}`));
      sub.on('pmessage', (p: string, c: string, m: string) => got.push(`${p}:${c}=${m}`));
      expect(await sub.subscribe(ch)).toBe(1);
      expect(await sub.psubscribe(`${ch}*`)).toBe(2);
      expect(await pub.publish(ch, 'hello')).toBe(2);
      await until('both messages', () => expect(got).toEqual([`${ch}=hello`, `${ch}*:${ch}=hello`]));
      // RESP3: the subscribed connection still runs commands.
      expect(await sub.get(`${ch}:none`)).toBeNull();
      await sub.unsubscribe(ch);
      expect(await pub.publish(ch, 'later')).toBe(1);
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  test('ioredis 5 with its README defaults (RESP2 subscriber mode)', async () => {
    const ch = `${prefix()}:io5`;
    const sub = new IORedis5({ host: '127.0.0.1', port: port() });
    const pub = new IORedis5({ host: '127.0.0.1', port: port() });
    try {
      const got: string[] = [];
      sub.on('message', (c: string, m: string) => got.push(`${c}=${m}`));
      await sub.subscribe(ch);
      expect(await pub.publish(ch, 'hello')).toBe(1);
      await until('the message', () => expect(got).toEqual([`${ch}=hello`]));
      await expect(sub.get('x')).rejects.toThrow(/subscriber mode|only \(P\|S\)SUBSCRIBE/);
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  test.each([['node-redis 6', createClient6], ['node-redis 4', createClient4]] as const)(
    '%s with its README defaults: client.duplicate() and subscribe(channel, listener)', async (_n, create) => {
      const ch = `${prefix()}:nr`;
      const client = (create as (o: object) => NodeRedisLike)({ url: `redis://127.0.0.1:${port()}` });
      client.on('error', () => undefined);
      await client.connect();
      const subscriber = client.duplicate();
      subscriber.on('error', () => undefined);
      await subscriber.connect();
      try {
        const got: string[] = [];
        await subscriber.subscribe(ch, (message: string, channel: string) => void got.push(`${channel}=${message}`));
        await subscriber.pSubscribe(`${ch}*`, (message: string, channel: string) => void got.push(`p:${channel}=${message}`));
        expect(await client.publish(ch, 'hello')).toBe(2);
        await until('both messages', () => expect([...got].sort()).toEqual([`${ch}=hello`, `p:${ch}=hello`].sort()));
        expect(await client.pubSubNumSub(ch)).toEqual({ [ch]: 1 });
        await subscriber.unsubscribe(ch);
        expect(await client.publish(ch, 'later')).toBe(1);
      } finally {
        await subscriber.quit();
        await client.quit();
      }
    });
});

describe('a subscriber that does not read', () => {
  test('is disconnected at client_output_buffer_limit_pubsub, with a log line, and the others keep receiving', async () => {
    const ch = 'slow';
    const slow = await raw(limited.port);
    const fast = await raw(limited.port);
    for (const s of [slow, fast]) {
      s.write(cmd('SUBSCRIBE', ch));
      await s.replies(1);
    }
    slow.socket.pause();
    const pub = await raw(limited.port);
    const value = 'v'.repeat(64 * 1024);
    let count = 2;
    let sent = 0;
    // 1 MiB limit: the loopback socket buffers take a few MiB before the node's own output grows.
    while (count === 2 && sent < 2000) {
      pub.write(cmd('PUBLISH', ch, value));
      count = Number((await pub.replies(1))[0]!.toString().slice(1, -2));
      sent++;
      await fast.replies(1);
    }
    expect(count).toBe(1);
    expect(sent).toBeLessThan(2000);
    slow.socket.resume();
    await slow.waitClosed();
    expect(limitLog.join('')).toMatch(/client closed for overcoming of output buffer limits.*"limit":"hard"|"limit":"hard".*client closed for overcoming of output buffer limits/);
    pub.write(cmd('PUBLISH', ch, 'still'));
    expect((await pub.replies(1))[0]!.toString()).toBe(':1\r\n');
    expect((await fast.replies(1))[0]!.toString()).toContain('still');
  });
});
