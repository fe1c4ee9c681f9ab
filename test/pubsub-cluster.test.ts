// Pub/sub across a cluster of node processes: a message published at any node reaches the
// subscribers of every node exactly once (counted), patterns and shard channels too, PUBLISH's
// reply sums the receivers of every node, unsubscribing stops delivery, PUBSUB answers each node's
// own registry; across two DCs with pubsub_scope cluster (every DC) and datacenter (this DC
// only); the relay's wire form (a dnode REQ carrying HMGET of the reserved key) delivered when a
// peer sends it by hand; and a peer that is down costing its subscribers, not the PUBLISH.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { RawPeer, dnodeMessage, resp } from './helpers/dnode-peer.js';
import { cmd, type RawClient } from './helpers/resp-client.js';
import { until } from './helpers/until.js';

const text = (b: Buffer | undefined): string => b?.toString('latin1') ?? '(none)';
const message = (ch: string, m: string): string => `*3\r\n$7\r\nmessage\r\n$${ch.length}\r\n${ch}\r\n$${m.length}\r\n${m}\r\n`;
const PONG2 = '*2\r\n$4\r\npong\r\n$0\r\n\r\n';

async function subscribe(c: RawClient, command: string, ...names: string[]): Promise<void> {
  c.write(cmd(command, ...names));
  await c.replies(names.length);
}

async function publish(c: RawClient, ch: string, m: string, command = 'PUBLISH'): Promise<string> {
  c.write(cmd(command, ch, m));
  return text((await c.replies(1))[0]);
}

/** The next reply is the PING sent now: nothing else (no second copy of a message) came first. */
async function nothingMore(c: RawClient): Promise<void> {
  c.write(cmd('PING'));
  expect(text((await c.replies(1))[0])).toBe(PONG2);
}

describe('3 racks of one DC', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster({
      nodes: [{ dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [0] }, { dc: 'dc1', rack: 'r3', tokens: [0] }],
    });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test('a message published at any node reaches every node\'s subscribers exactly once; PUBLISH counts them all', async () => {
    const subs = await Promise.all([0, 1, 2].map((i) => cluster.client(i)));
    const psubs = await Promise.all([0, 1, 2].map((i) => cluster.client(i)));
    for (const s of subs) await subscribe(s, 'SUBSCRIBE', 'news');
    for (const s of psubs) await subscribe(s, 'PSUBSCRIBE', 'new*');
    const pubs = await Promise.all([0, 1, 2].map((i) => cluster.client(i)));
    for (let at = 0; at < 3; at++) {
      expect(await publish(pubs[at]!, 'news', `from ${at}`)).toBe(':6\r\n');
      for (const s of subs) expect(text((await s.replies(1))[0])).toBe(message('news', `from ${at}`));
      for (const s of psubs) expect(text((await s.replies(1))[0])).toContain(`from ${at}`);
    }
    for (const s of [...subs, ...psubs]) await nothingMore(s);
    // Each node's PUBSUB answers its own registry.
    for (let i = 0; i < 3; i++) {
      pubs[i]!.write(cmd('PUBSUB', 'NUMSUB', 'news'));
      expect(text((await pubs[i]!.replies(1))[0])).toBe('*2\r\n$4\r\nnews\r\n:1\r\n');
      pubs[i]!.write(cmd('PUBSUB', 'NUMPAT'));
      expect(text((await pubs[i]!.replies(1))[0])).toBe(':1\r\n');
    }
    // Unsubscribing at node 1 stops delivery there only.
    subs[1]!.write(cmd('UNSUBSCRIBE', 'news'));
    await subs[1]!.replies(1);
    expect(await publish(pubs[2]!, 'news', 'after')).toBe(':5\r\n');
    expect(text((await subs[0]!.replies(1))[0])).toBe(message('news', 'after'));
    expect(text((await subs[2]!.replies(1))[0])).toBe(message('news', 'after'));
    subs[1]!.write(cmd('PING'));
    expect(text((await subs[1]!.replies(1))[0])).toBe('+PONG\r\n');
  });

  test('messages from one publisher arrive in order at every node', async () => {
    const subs = await Promise.all([0, 1, 2].map((i) => cluster.client(i)));
    for (const s of subs) await subscribe(s, 'SUBSCRIBE', 'seq');
    const pub = await cluster.client(0);
    const n = 200;
    pub.write(Buffer.concat(Array.from({ length: n }, (_, i) => cmd('PUBLISH', 'seq', String(i)))));
    expect(new Set((await pub.replies(n)).map(text))).toEqual(new Set([':3\r\n']));
    for (const s of subs) {
      const got = (await s.replies(n)).map((b) => text(b).split('\r\n')[6]);
      expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    }
  });

  test('SPUBLISH reaches shard subscribers on every node; RESP3 subscribers get pushes', async () => {
    const s0 = await cluster.client(0);
    const s2 = await cluster.client(2);
    await subscribe(s0, 'SSUBSCRIBE', 'shard:{x}');
    s2.write(Buffer.concat([cmd('HELLO', '3'), cmd('SSUBSCRIBE', 'shard:{x}')]));
    await s2.replies(2);
    const pub = await cluster.client(1);
    expect(await publish(pub, 'shard:{x}', 'hi', 'SPUBLISH')).toBe(':2\r\n');
    expect(text((await s0.replies(1))[0])).toBe('*3\r\n$8\r\nsmessage\r\n$9\r\nshard:{x}\r\n$2\r\nhi\r\n');
    expect(text((await s2.replies(1))[0])).toBe('>3\r\n$8\r\nsmessage\r\n$9\r\nshard:{x}\r\n$2\r\nhi\r\n');
    // A shard message is not a channel message.
    expect(await publish(pub, 'shard:{x}', 'plain')).toBe(':0\r\n');
  });

  test('ioredis 6 with its defaults: subscriber on one node, publisher on another', async () => {
    const sub = new Redis({ host: '127.0.0.1', port: cluster.members[2]!.port });
    const pub = new Redis({ host: '127.0.0.1', port: cluster.members[0]!.port });
    try {
      const got: string[] = [];
      sub.on('message', (c: string, m: string) => got.push(`${c}=${m}`));
      await sub.subscribe('io');
      expect(await pub.publish('io', 'across')).toBe(1);
      await until('the message', () => expect(got).toEqual(['io=across']));
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  test('the relay\'s wire form: a dnode REQ "HMGET <reserved key> PUBLISH ch m" is delivered, answered with the count', async () => {
    const sub = await cluster.client(1);
    await subscribe(sub, 'SUBSCRIBE', 'wire');
    const peer = await RawPeer.connect(cluster.members[1]!.dynPort);
    try {
      peer.write(dnodeMessage(7, 3, resp('HMGET', '__dynomite_ts_pubsub__', 'PUBLISH', 'wire', 'by hand')));
      const rep = await peer.read(30);
      expect(rep).toBe('   $2014$ 7 5 0 1 1 *1 d *4\r\n:1\r\n');
      expect(text((await sub.replies(1))[0])).toBe(message('wire', 'by hand'));
      // Any other HMGET is an ordinary request for the datastore.
      peer.buf = Buffer.alloc(0);
      peer.write(dnodeMessage(8, 3, resp('HMGET', 'some-hash', 'PUBLISH', 'wire', 'x')));
      expect(await peer.read(40)).toContain('*3\r\n$-1\r\n$-1\r\n$-1\r\n');
      await nothingMore(sub);
    } finally {
      peer.close();
    }
  });

  test('a node that is down: PUBLISH still answers, counting the receivers that were reached', async () => {
    const subs = await Promise.all([0, 1, 2].map((i) => cluster.client(i)));
    for (const s of subs) await subscribe(s, 'SUBSCRIBE', 'down');
    await cluster.kill(2);
    const pub = await cluster.client(0);
    const t0 = Date.now();
    expect(await publish(pub, 'down', 'still')).toBe(':2\r\n');
    expect(Date.now() - t0).toBeLessThan(cluster.timeoutMs + 1000);
    expect(text((await subs[0]!.replies(1))[0])).toBe(message('down', 'still'));
    expect(text((await subs[1]!.replies(1))[0])).toBe(message('down', 'still'));
  });
});

describe('two DCs', () => {
  const NODES = [{ dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [0] }, { dc: 'dc2', rack: 'r1', tokens: [0] }];
  let everyDc: TestCluster;
  let oneDc: TestCluster;
  beforeAll(async () => {
    everyDc = await startTestCluster({ nodes: NODES });
    oneDc = await startTestCluster({ nodes: NODES, conf: { pubsub_scope: 'datacenter' } });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([everyDc?.stop(), oneDc?.stop()]);
  });

  test('pubsub_scope cluster (the default): every node of both DCs, once each, from either DC', async () => {
    const subs = await Promise.all([0, 1, 2].map((i) => everyDc.client(i)));
    for (const s of subs) await subscribe(s, 'SUBSCRIBE', 'global');
    for (const at of [0, 2]) {
      const pub = await everyDc.client(at);
      expect(await publish(pub, 'global', `dc of ${at}`)).toBe(':3\r\n');
      for (const s of subs) expect(text((await s.replies(1))[0])).toBe(message('global', `dc of ${at}`));
    }
    for (const s of subs) await nothingMore(s);
  });

  test('pubsub_scope datacenter: only the nodes of the publisher\'s DC', async () => {
    const subs = await Promise.all([0, 1, 2].map((i) => oneDc.client(i)));
    for (const s of subs) await subscribe(s, 'SUBSCRIBE', 'local');
    const pub1 = await oneDc.client(1);
    expect(await publish(pub1, 'local', 'dc1 only')).toBe(':2\r\n');
    expect(text((await subs[0]!.replies(1))[0])).toBe(message('local', 'dc1 only'));
    expect(text((await subs[1]!.replies(1))[0])).toBe(message('local', 'dc1 only'));
    const pub2 = await oneDc.client(2);
    expect(await publish(pub2, 'local', 'dc2 only')).toBe(':1\r\n');
    expect(text((await subs[2]!.replies(1))[0])).toBe(message('local', 'dc2 only'));
    for (const s of subs) await nothingMore(s);
  });
});
