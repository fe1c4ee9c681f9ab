import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createNode, InProcessNetwork, OK, ReplyError, type Datastore, type DatastoreRequest, type DynomiteNode,
} from '../src/index.js';
import { startRedis, freePort } from './helpers/servers.js';
import { RawClient, cmd } from './helpers/resp-client.js';
import { ensureBuilt, ROOT } from './helpers/node-process.js';

// The embedding API (src/embed): createNode with its hooks and events, a whole cluster in one
// process, and the examples under examples/embed run as a user runs them.
const started: DynomiteNode[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()));
});

class MapStore implements Datastore {
  readonly data = new Map<string, Buffer>();
  readonly seen: DatastoreRequest[] = [];
  execute(r: DatastoreRequest) {
    this.seen.push(r);
    const k = r.args[0]?.toString();
    switch (r.command) {
      case 'SET': this.data.set(k!, r.args[1]!); return OK;
      case 'GET':
        if (k!.startsWith('slow')) return new Promise<Buffer | null>((res) => setTimeout(() => res(this.data.get(k!) ?? null), 20));
        return this.data.get(k!) ?? null;
      case 'DEL':
        if (k === 'boom') throw new Error('disk on fire');
        return this.data.delete(k!) ? 1 : 0;
      default: return new Error(`ERR unknown command '${r.command}'`);
    }
  }
}

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function cluster(racks = ['rack1', 'rack2', 'rack3']) {
  const network = new InProcessNetwork();
  const stores = racks.map(() => new MapStore());
  const nodes = racks.map((rack, i) => createNode({ rack }, { network, datastore: stores[i] }));
  started.push(...nodes);
  return { network, stores, nodes };
}

describe('createNode: an in-process cluster', () => {
  it('three nodes replicate a write to every datastore, each node reads it, without peer sockets', async () => {
    const { stores, nodes } = cluster();
    await Promise.all(nodes.map((n) => n.start()));
    expect(await nodes[0]!.call('SET', 'k1', 'v1')).toBe('OK');
    await until(() => stores.every((s) => s.data.get('k1')?.toString() === 'v1'), 5000, 'all replicas');
    for (const n of nodes) expect(await n.call('GET', 'k1')).toBe('v1');
    // A quorum write needs two racks to answer; all three get it.
    nodes[1]!.internals.control.setConsistency('write', 'DC_QUORUM');
    expect(await nodes[1]!.call('SET', 'k2', 'v2')).toBe('OK');
    await until(() => stores.every((s) => s.data.get('k2')?.toString() === 'v2'), 5000, 'quorum replicas');
    expect(nodes[0]!.peers().map((p) => [p.rack, p.state])).toEqual([['rack2', 'up'], ['rack3', 'up']]);
    const ring = nodes[0]!.ring();
    expect(ring.datacenters[0]!.racks.map((r) => r.nodes.map((x) => x.state))).toEqual([['self'], ['up'], ['up']]);
    expect(ring.datacenters[0]!.racks[0]!.nodes[0]!.ranges).toEqual([{ from: 0, to: 0 }]);
  });

  it('emits peerDown / peerUp and ringChange when a node stops and comes back', async () => {
    const { nodes, network, stores } = cluster();
    await Promise.all(nodes.map((n) => n.start()));
    const events: string[] = [];
    nodes[0]!.on('peerDown', (p) => events.push(`down ${p.rack}`));
    nodes[0]!.on('peerUp', (p) => events.push(`up ${p.rack}`));
    let rings = 0;
    nodes[0]!.on('ringChange', () => rings++);
    await nodes[2]!.stop();
    await until(() => events.includes('down rack3'), 5000, 'peerDown');
    expect(nodes[0]!.peers().find((p) => p.rack === 'rack3')!.state).toBe('down');
    const again = createNode({ rack: 'rack3', cluster: { dynListen: nodes[2]!.options.cluster!.dynListen } }, { network, datastore: stores[2] });
    started.push(again);
    await again.start();
    await until(() => events.includes('up rack3'), 5000, 'peerUp (reconnect)');
    expect(rings).toBeGreaterThanOrEqual(2);
  });

  it('computes no event payload without listeners', async () => {
    const { nodes } = cluster(['a', 'b']);
    await Promise.all(nodes.map((n) => n.start()));
    const ring = vi.spyOn(nodes[0]!, 'ring');
    const peers = vi.spyOn(nodes[0]!, 'peers');
    await nodes[1]!.stop();
    await until(() => nodes[0]!.internals.cluster!.peers[1]!.up === false, 5000, 'link down');
    expect(ring).not.toHaveBeenCalled();
    expect(peers).not.toHaveBeenCalled();
  });
});

describe('createNode: hooks', () => {
  it('a datastore object answers sync, async and failing requests in order', async () => {
    const store = new MapStore();
    const node = createNode({}, { datastore: store });
    started.push(node);
    await node.start();
    expect(await node.call('SET', 'a', '1')).toBe('OK');
    expect(await node.call('SET', 'slow', '2')).toBe('OK');
    // The slow (async) reply is answered after the fast one but delivered first, in request order.
    const [slow, fast] = await Promise.all([node.call('GET', 'slow'), node.call('GET', 'a')]);
    expect([slow, fast]).toEqual(['2', '1']);
    const boom = await node.call('DEL', 'boom');
    expect(boom).toBeInstanceOf(ReplyError);
    expect((boom as Error).message).toBe('ERR Storage: disk on fire');
    expect(store.seen.map((r) => r.command)).toEqual(['SET', 'SET', 'GET', 'GET', 'DEL']);
    // A TCP client on the node's port sees the same store (RESP2: HELLO would reach the user's
    // datastore, which answers what it knows).
    const c = await RawClient.connect(node.port);
    try {
      c.write(cmd('GET', 'a'));
      expect((await c.replies(1))[0]!.toString()).toBe('$1\r\n1\r\n');
    } finally {
      c.close();
    }
  });

  it('a RESP-speaking stream as the datastore: the write lands in the Redis behind it', async () => {
    const redis = await startRedis();
    try {
      let opened = 0;
      const node = createNode({}, { datastore: { connect: () => { opened++; return connect({ host: '127.0.0.1', port: redis.port }); } } });
      started.push(node);
      await node.start();
      expect(await node.call('SET', 'via-stream', 'yes')).toBe('OK');
      const direct = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
      await direct.connect();
      try {
        expect(await direct.get('via-stream')).toBe('yes');
      } finally {
        direct.disconnect();
      }
      expect(opened).toBeGreaterThan(0);
      await node.stop();
    } finally {
      await redis.stop();
    }
  });

  it('a seeds provider and the metrics sink', async () => {
    const network = new InProcessNetwork();
    const a = { host: 'a', port: 1 };
    const b = { host: 'b', port: 1 };
    const sa = new MapStore();
    const sb = new MapStore();
    const samples: number[] = [];
    const na = createNode({ rack: 'r1', cluster: { dynListen: a } }, {
      transport: network, datastore: sa, seeds: { seeds: () => [{ ...b, rack: 'r2', dc: 'localdc', tokens: [0] }] },
      metrics: { publish: (info) => samples.push(Number((info.dyn_o_mite as Record<string, number>).client_write_requests ?? 0)) },
      metricsIntervalMs: 20,
    });
    const nb = createNode({ rack: 'r2', cluster: { dynListen: b } }, {
      transport: network, datastore: sb, seeds: { seeds: () => [{ ...a, rack: 'r1', dc: 'localdc', tokens: [0] }] },
    });
    started.push(na, nb);
    await Promise.all([na.start(), nb.start()]);
    await na.call('SET', 'x', 'y');
    await until(() => sb.data.has('x'), 5000, 'replica via the provided seeds');
    await until(() => samples.some((s) => s >= 1), 5000, 'a metrics sample with the write');
  });

  it('takes a Netflix YAML config path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dyn-embed-'));
    try {
      const port = await freePort();
      const file = join(dir, 'node.yml');
      writeFileSync(file, `dyn_o_mite:\n  listen: 127.0.0.1:${port}\n  data_store: memory\n  tokens: '0'\n`);
      const node = createNode(file);
      started.push(node);
      await node.start();
      expect(node.port).toBe(port);
      expect(await node.call('SET', 'y', '1')).toBe('OK');
      expect(node.stats().dyn_o_mite).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('examples/embed (run as a user runs them)', () => {
  ensureBuilt();
  const run = (f: string) => execFileSync(process.execPath, [join(ROOT, 'examples/embed', f)], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

  it('five-lines.mjs', () => {
    expect(run('five-lines.mjs')).toBe('hello on port true\n');
  });

  it('in-process-cluster.mjs', () => {
    expect(run('in-process-cluster.mjs')).toBe('SET OK\nreplicas ada,ada,ada\nGET via rack3 ada\npeers of rack1 rack2:up,rack3:up\n');
  });

  it('the typings are generated: dist/index.d.ts exports createNode', () => {
    expect(existsSync(join(ROOT, 'dist/embed/node.d.ts'))).toBe(true);
    expect(readFileSync(join(ROOT, 'dist/index.d.ts'), 'utf8')).toMatch(/createNode/);
  });
});
