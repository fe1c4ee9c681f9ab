// A dynomite-ts cluster of separate processes on loopback, for tests: one redis-server and one
// `node bin/dynomite.js -c <conf>` per node, every node listing every other one in dyn_seeds.
//
//   spec { nodes: [{dc, rack, tokens}], conf }
//     ├─ redis-server per node (free port)                        startRedis()
//     ├─ dyn_listen port per node (picked first: seeds name them)  freePort()
//     ├─ one YAML per node in its own temp dir, process started    spawnNode() (node-process.ts)
//     └─ ready when every node's /info says peer_connections == peers (each peer's links are up)
//
// stop() SIGKILLs every process (nodes, then redis) and removes the temp dirs; it is safe to call
// twice and after a partial start. Processes killed by a test (kill(), killRedis()) stay dead.
import { ensureBuilt, spawnNode, type NodeProcess } from './node-process.js';
import { cmd, RawClient } from './resp-client.js';
import { freePort, startMemcached, startRedis, type RunningServer } from './servers.js';
import { sleep } from './until.js';
import { createCore, type Core } from '../../src/wasm/core.js';

export interface ClusterNodeSpec {
  dc: string;
  rack: string;
  /** Ring points, e.g. [0] or [0, 2147483648]. */
  tokens: readonly number[];
}

export interface ClusterSpec {
  nodes: readonly ClusterNodeSpec[];
  /** Extra config keys for every node (YAML scalars), e.g. { hash_tag: '"{}"' }. */
  conf?: Record<string, string>;
  /** The datastore behind every node. @default 'redis' */
  datastore?: 'redis' | 'memcached';
  /** `timeout`, ms. @default 1500 */
  timeoutMs?: number;
  /** Each node's dyn_listen port, chosen by the caller (free ports are picked otherwise). */
  dynPorts?: readonly number[];
  /**
   * The port node `from` names for node `to` in its dyn_seeds (the chaos suite's fault relays);
   * node `to`'s own dyn_listen port otherwise.
   */
  seedPort?: (from: number, to: number) => number;
  /** Extra config keys for node i only (after `conf`), e.g. its own hints_dir. */
  nodeConf?: (i: number) => Record<string, string>;
}

export interface ClusterMember {
  readonly index: number;
  readonly spec: ClusterNodeSpec;
  readonly redis: RunningServer;
  readonly node: NodeProcess;
  /** Client port. */
  readonly port: number;
  readonly statsPort: number;
  readonly dynPort: number;
}

export class TestCluster {
  readonly members: ClusterMember[] = [];
  private readonly redises: RunningServer[] = [];
  private readonly clients: RawClient[] = [];
  private stopped = false;

  constructor(readonly spec: ClusterSpec) {}

  get timeoutMs(): number {
    return this.spec.timeoutMs ?? 1500;
  }

  /** Starts everything and waits until every peer link is up; cleans up after itself on failure. */
  async start(readyMs = 20_000): Promise<void> {
    ensureBuilt();
    const specs = this.spec.nodes;
    try {
      const mc = this.spec.datastore === 'memcached';
      const redis = await Promise.all(specs.map(() => (mc ? startMemcached() : startRedis())));
      this.redises.push(...redis);
      for (let i = 0; i < specs.length; i++) this.dyn.push(this.spec.dynPorts?.[i] ?? (await freePort()));
      // Members are recorded as each process starts, so a failed start still stops the others.
      await Promise.all(specs.map(async (_, i) => {
        this.members[i] = this.member(i, redis[i]!, await this.spawn(i, redis[i]!));
      }));
      await this.waitConnected(readyMs);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private readonly dyn: number[] = [];
  private readonly retired: NodeProcess[] = [];

  private member(i: number, redis: RunningServer, node: NodeProcess): ClusterMember {
    return { index: i, spec: this.spec.nodes[i]!, redis, node, port: node.port, statsPort: node.statsPort, dynPort: this.dyn[i]! };
  }

  /** Starts node i's process (config: this node, every other one as a seed). */
  private spawn(i: number, redis: RunningServer): Promise<NodeProcess> {
    const specs = this.spec.nodes;
    const s = specs[i]!;
    const t = String(this.timeoutMs);
    const seedPort = this.spec.seedPort ?? ((_: number, to: number) => this.dyn[to]!);
    const seeds = specs.map((o, j) => (j === i ? '' : `\n  - 127.0.0.1:${seedPort(i, j)}:${o.rack}:${o.dc}:${o.tokens.join(',')}`)).join('');
    return spawnNode({
      dataStore: { redisPort: redis.port },
      conf: {
        dyn_listen: `127.0.0.1:${this.dyn[i]}`,
        dyn_seeds: seeds === '' ? '[]' : seeds,
        rack: s.rack,
        datacenter: s.dc,
        tokens: `'${s.tokens.join(',')}'`,
        // Only `timeout`: dyn_read_timeout / dyn_write_timeout keep their defaults (10 s), and a
        // client must still be answered within `timeout`.
        timeout: t,
        ...(this.spec.datastore === 'memcached' ? { data_store: '1' } : {}),
        ...this.spec.conf,
        ...this.spec.nodeConf?.(i),
      },
    });
  }

  /** Starts node i again after kill(i) (same dnode port and redis; new client and stats ports). */
  async restart(i: number): Promise<void> {
    const old = this.members[i]!;
    if (old.node.alive()) throw new Error(`node ${i} is still running`);
    this.retired.push(old.node);
    this.members[i] = this.member(i, old.redis, await this.spawn(i, old.redis));
  }

  /** Waits until every live node reports every peer link up (stats gauge peer_connections). */
  async waitConnected(timeoutMs = 20_000, expectPeers?: (m: ClusterMember) => number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const live = this.members.filter((m) => m.node.alive());
    for (const m of live) {
      const want = expectPeers ? expectPeers(m) : this.members.length - 1;
      for (;;) {
        const have = await this.peerConnections(m).catch(() => -1);
        if (have >= want) break;
        if (Date.now() > deadline) {
          throw new Error(`node ${m.index}: ${have}/${want} peer connections after ${timeoutMs} ms\n${m.node.log().slice(-4000)}`);
        }
        await sleep(50);
      }
    }
  }

  async peerConnections(m: ClusterMember): Promise<number> {
    const info = JSON.parse(await this.http(m, '/info')) as Record<string, unknown>;
    const pool = info.dyn_o_mite as Record<string, number>;
    return pool.peer_connections ?? -1;
  }

  /** GET on the node's stats port; the body. */
  async http(m: ClusterMember, path: string): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${m.statsPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return r.text();
  }

  /** A raw client to node i (closed by stop()). */
  async client(i: number): Promise<RawClient> {
    const c = await RawClient.connect(this.members[i]!.port);
    this.clients.push(c);
    return c;
  }

  /** A raw client straight to node i's datastore (closed by stop()). */
  async redisClient(i: number): Promise<RawClient> {
    const c = await RawClient.connect(this.members[i]!.redis.port);
    this.clients.push(c);
    return c;
  }

  /** SIGKILLs node i's process (its redis keeps running). */
  async kill(i: number): Promise<void> {
    const n = this.members[i]!.node;
    if (n.alive()) n.proc.kill('SIGKILL');
    await n.exited;
  }

  /** SIGSTOPs / SIGCONTs node i's process: a peer that hangs with its sockets open. */
  pause(i: number): void {
    this.members[i]!.node.proc.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.members[i]!.node.proc.kill('SIGCONT');
  }

  /**
   * SIGKILLs node i's redis-server and starts an empty one on the same port (no persistence: every
   * key it held is gone); the node's datastore connections reconnect to it.
   */
  async restartRedisEmpty(i: number): Promise<void> {
    const old = this.members[i]!;
    await old.redis.stop();
    const fresh = await startRedis([], old.redis.port);
    this.redises.push(fresh);
    this.members[i] = { ...old, redis: fresh };
  }

  /** SIGKILLs node i's redis-server. */
  async killRedis(i: number): Promise<void> {
    await this.members[i]!.redis.stop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.clients) c.close();
    // After a failed start some members may be missing: stop what exists (the start error stays).
    const nodes = [...this.members.filter((m) => m !== undefined).map((m) => m.node), ...this.retired];
    await Promise.all(nodes.filter((n) => n !== undefined).map(async (n) => {
      if (n.alive()) n.proc.kill('SIGKILL');
      await n.stop();
    }));
    await Promise.all(this.redises.filter((r) => r !== undefined).map((r) => r.stop()));
  }
}

export async function startTestCluster(spec: ClusterSpec): Promise<TestCluster> {
  const c = new TestCluster(spec);
  await c.start();
  return c;
}



/** Sends one command, returns its reply as a latin1 string. */
export async function call(c: RawClient, ...args: (string | Buffer)[]): Promise<string> {
  c.write(cmd(...args));
  return (await c.replies(1, 20_000))[0]!.toString('latin1');
}

/** Sends every command pipelined, returns the replies in order. */
export async function pipeline(c: RawClient, commands: readonly (readonly (string | Buffer)[])[]): Promise<string[]> {
  c.write(Buffer.concat(commands.map((a) => cmd(...a))));
  return (await c.replies(commands.length, 30_000)).map((b) => b.toString('latin1'));
}

// ---- expected placement, computed independently of the node (WASM hash + Netflix's ring rule) ----

const MURMUR = 10;
let hashCore: Core | undefined;

/** The murmur token of a key's routing bytes (the hash tag's content when `tag` is given and found). */
export function keyToken(key: string | Buffer, tag?: string): number {
  hashCore ??= createCore();
  let k = typeof key === 'string' ? Buffer.from(key) : key;
  if (tag) {
    const open = k.indexOf(tag.charCodeAt(0));
    const close = open < 0 ? -1 : k.indexOf(tag.charCodeAt(1), open + 1);
    if (close > open + 1) k = k.subarray(open + 1, close);
  }
  const core = hashCore;
  core.u8.set(k, core.stagingPtr);
  return core.exports.hashToken(MURMUR, core.stagingPtr, k.length) >>> 0;
}

/**
 * The owner of a token among the nodes of one rack (members given as [index, tokens]): the node with
 * the first point >= token, wrapping to the smallest point; ties by the lowest index.
 */
export function ownerIn(rackNodes: readonly { index: number; tokens: readonly number[] }[], token: number): number {
  let best = -1;
  let bestPoint = Infinity;
  let min = -1;
  let minPoint = Infinity;
  for (const n of rackNodes) {
    for (const p of n.tokens) {
      if (p >= token && p < bestPoint) {
        bestPoint = p;
        best = n.index;
      }
      if (p < minPoint) {
        minPoint = p;
        min = n.index;
      }
    }
  }
  return best >= 0 ? best : min;
}

/** The owner of `key` in every rack: node indexes, one per rack, racks by first appearance. */
export function ownersOf(spec: ClusterSpec, key: string | Buffer, tag?: string): number[] {
  const token = keyToken(key, tag);
  const racks = new Map<string, { index: number; tokens: readonly number[] }[]>();
  spec.nodes.forEach((n, index) => {
    const id = `${n.dc}/${n.rack}`;
    const list = racks.get(id) ?? [];
    list.push({ index, tokens: n.tokens });
    racks.set(id, list);
  });
  return [...racks.values()].map((r) => ownerIn(r, token));
}
