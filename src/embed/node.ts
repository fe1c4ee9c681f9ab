// createNode(): a dynomite-ts node inside a program. A handle with start()/stop(), stats(),
// ring(), peers() and typed events, and hooks, each an interface with a default: the datastore
// (DEFAULT: options.dataStore), the seeds provider (dyn_seed_provider), the peer transport (TCP) and
// a metrics sink (none: stats() and the stats endpoint). With an InProcessNetwork a whole cluster
// runs in one process without sockets between its nodes.
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { startNode, type NodeHooks, type RunningNode } from '../node.js';
import { DEFAULT_NODE_OPTIONS, type ClusterOptions, type NodeOptions } from '../conf/options.js';
import { loadConfig } from '../conf/load.js';
import { nodeOptionsFromConfig } from '../conf/node-options.js';
import type { PeerTransport } from '../net/transport.js';
import type { MembershipEvent } from '../cluster/node-cluster.js';
import type { PeerSpec } from '../route/topology.js';
import type { InfoSnapshot } from '../observe/stats.js';
import { ServerPool } from '../store/server-pool.js';
import { Flusher } from '../net/flusher.js';
import { DatastoreBackend, isStreamDatastore, type Datastore, type StreamDatastore } from './datastore.js';
import { InProcessClient, type Reply } from './client.js';
import type { InProcessNetwork } from './in-process.js';
import { ringView, type PeerInfo, type RingView } from './ring-view.js';
import type { PassReport } from '../repair/anti-entropy.js';

/** Where the peers come from, instead of dyn_seed_provider. */
export interface SeedsProvider {
  /** The other nodes of the cluster (resolved once, at start). */
  seeds(self: PeerSpec): Promise<readonly PeerSpec[]> | readonly PeerSpec[];
}

/** Receives the node's stats every intervalMs (Netflix /info shape). */
export interface MetricsSink {
  publish(info: InfoSnapshot, node: DynomiteNode): void;
}

export interface EmbedHooks {
  /** The local datastore. @default what options.dataStore says */
  datastore?: Datastore | StreamDatastore;
  /** @default dyn_seed_provider / dyn_seeds from the options */
  seeds?: SeedsProvider;
  /** Peer links. @default TCP */
  transport?: PeerTransport;
  /** Runs the node on an in-process network: transport and seeds from it, dyn_listen allocated. */
  network?: InProcessNetwork;
  /** @default none */
  metrics?: MetricsSink;
  /** How often the metrics sink gets a snapshot, ms. @default 1000 */
  metricsIntervalMs?: number;
  /** @default pino at level 'warn' */
  logger?: Logger;
}

/** The options createNode takes: any NodeOptions field (the rest from DEFAULT_NODE_OPTIONS). */
export type EmbedOptions = Partial<Omit<NodeOptions, 'cluster'>> & { cluster?: Partial<ClusterOptions> };

/** The events a node emits; nothing is computed for an event without listeners. */
export interface NodeEvents {
  peerUp: [peer: PeerInfo, reason: string];
  peerDown: [peer: PeerInfo, reason: string];
  /** The ring this node routes on: built at start, and on every peer state change (DOWN peers are routed around). */
  ringChange: [ring: RingView];
  /**
   * One membership change, once: a node joined (from NONE to JOINING), changed gossip state (NORMAL,
   * DOWN, STANDBY, ...), or left the ring (to REMOVED: DOWN past gos_removal_time, or replaced by a
   * node at a new address with its tokens).
   */
  membership: [change: MembershipEvent];
  /** Read repair rewrote the divergent replicas of one key. */
  repair: [info: { replicas: number }];
  /** A hint (a write kept for an unreachable replica) was delivered to it. */
  hintReplay: [info: { peer: PeerInfo }];
  /** An anti-entropy pass this node started finished: its report, as `GET /anti_entropy` shows it. */
  antiEntropy: [report: PassReport];
}

const CLUSTER_DEFAULTS = { seeds: [], localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 10000, peerWriteTimeoutMs: 10000 };

/** A node from options or a Netflix YAML config path; call start(). */
export function createNode(options: EmbedOptions | string = {}, hooks: EmbedHooks = {}): DynomiteNode {
  return new DynomiteNode(resolveOptions(options, hooks), hooks);
}

function resolveOptions(o: EmbedOptions | string, hooks: EmbedHooks): NodeOptions {
  const base: NodeOptions = typeof o === 'string'
    ? nodeOptionsFromConfig(loadConfig(o))
    : { ...DEFAULT_NODE_OPTIONS, listen: { host: '127.0.0.1', port: 0 }, dataStore: hooks.datastore ? 'redis' : 'memory', tokens: [0], ...o, cluster: undefined };
  const partial = typeof o === 'string' ? base.cluster : o.cluster;
  if (partial || hooks.network) {
    const dynListen = partial?.dynListen ?? hooks.network?.allocate();
    if (!dynListen) throw new Error('createNode: cluster.dynListen is required (or pass an InProcessNetwork as hooks.network)');
    base.cluster = { ...CLUSTER_DEFAULTS, ...partial, dynListen };
  }
  return base;
}

export class DynomiteNode extends EventEmitter<NodeEvents> {
  private running: RunningNode | undefined;
  private client: InProcessClient | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private readonly peerUpState: boolean[] = [];
  readonly logger: Logger;

  constructor(readonly options: NodeOptions, private readonly hooks: EmbedHooks = {}) {
    super();
    this.logger = hooks.logger ?? pino({ level: 'warn' });
    const c = options.cluster;
    if (hooks.network && c) {
      hooks.network.join({ host: c.dynListen.host, port: c.dynListen.port, rack: options.rack, dc: options.datacenter, tokens: options.tokens ?? [0] });
    }
  }

  /** The client port bound (after start). */
  get port(): number {
    return this.node().port;
  }

  /** The stats endpoint's port, when options.statsListen is set (after start). */
  get statsPort(): number | undefined {
    return this.node().statsPort;
  }

  /** The running node's internals (stats, control, cluster) for what this class does not wrap. */
  get internals(): RunningNode {
    return this.node();
  }

  async start(): Promise<this> {
    if (this.running) return this;
    const h = this.hooks;
    const o = this.options;
    const self: PeerSpec | undefined = o.cluster && { host: o.cluster.dynListen.host, port: o.cluster.dynListen.port, rack: o.rack, dc: o.datacenter, tokens: o.tokens ?? [] };
    const seedsHook = h.seeds ?? (h.network && { seeds: (s: PeerSpec) => h.network!.seedsOf(s) });
    const nodeHooks: NodeHooks = {
      transport: h.transport ?? h.network,
      seeds: seedsHook && self ? async () => seedsHook.seeds(self) : undefined,
      backend: h.datastore ? (core) => this.backendFor(core, h.datastore!) : undefined,
      events: {
        peerState: (n, up, why) => this.onPeerState(n, up, why),
        membership: (e) => {
          if (this.listenerCount('membership') > 0) this.emit('membership', e);
          if (e.to === 'REMOVED' || e.from === 'NONE') {
            if (this.running && this.listenerCount('ringChange') > 0) this.emit('ringChange', this.ring());
          }
        },
        repaired: (replicas) => {
          if (this.listenerCount('repair') > 0) this.emit('repair', { replicas });
        },
        antiEntropyPass: (report) => {
          if (this.listenerCount('antiEntropy') > 0) this.emit('antiEntropy', report);
        },
        hintReplayed: (n) => {
          if (this.listenerCount('hintReplay') > 0) this.emit('hintReplay', { peer: this.peers()[n - 1]! });
        },
      },
    };
    this.running = await startNode(o, { logger: this.logger, hooks: nodeHooks });
    if (this.listenerCount('ringChange') > 0) this.emit('ringChange', this.ring());
    if (h.metrics) {
      const sink = h.metrics;
      this.metricsTimer = setInterval(() => sink.publish(this.stats(), this), h.metricsIntervalMs ?? 1000);
      this.metricsTimer.unref();
    }
    return this;
  }

  /** Drains and closes everything (the in-process client too). */
  async stop(reason = 'stop'): Promise<void> {
    const r = this.running;
    if (!r) return;
    clearInterval(this.metricsTimer);
    this.client?.close();
    this.client = undefined;
    await r.close(reason, 1000);
    this.running = undefined;
    const c = this.options.cluster;
    if (this.hooks.network && c) this.hooks.network.leave(c.dynListen);
  }

  /** The Netflix /info JSON of this node. */
  stats(): InfoSnapshot {
    return this.node().stats.snapshot();
  }

  /** The ring per datacenter and rack: every node's tokens, the ranges it owns, its state. */
  ring(): RingView {
    const r = this.node();
    return ringView(r.options, r.cluster);
  }

  /** The other nodes and whether this node can reach them. */
  peers(): PeerInfo[] {
    return this.ring().datacenters.flatMap((d) => d.racks.flatMap((k) => k.nodes)).filter((n) => !n.self).sort((a, b) => a.index - b.index);
  }

  /** Sends one command through this node as a client would (in process, no socket). */
  call(...args: Array<string | Buffer | number>): Promise<Reply> {
    const r = this.node();
    this.client ??= new InProcessClient((link) => r.attach(link));
    return this.client.call(...args);
  }

  private node(): RunningNode {
    if (!this.running) throw new Error('the node is not started: await node.start() first');
    return this.running;
  }

  private backendFor(core: Parameters<NonNullable<NodeHooks['backend']>>[0], d: Datastore | StreamDatastore) {
    if (!isStreamDatastore(d)) return new DatastoreBackend(core, d);
    const o = this.options;
    return new ServerPool(core, {
      host: 'stream', port: 0, protocol: 'redis', connections: o.datastoreConnections, timeoutMs: o.timeoutMs,
      password: o.password, preconnect: o.preconnect, autoEject: o.autoEject, failureLimit: o.failureLimit,
      retryTimeoutMs: o.retryTimeoutMs, maxMessage: o.maxMessageBytes, connect: () => d.connect(),
    }, new Flusher(), this.logger);
  }

  private onPeerState(n: number, up: boolean, why: string): void {
    if (this.peerUpState[n] === up) return;
    this.peerUpState[n] = up;
    // During start the links come up one by one: peers() after start() shows them; events are changes after.
    if (!this.running) return;
    const event = up ? 'peerUp' : 'peerDown';
    if (this.listenerCount(event) === 0 && this.listenerCount('ringChange') === 0) return;
    const peer = this.peers().find((p) => p.index === n);
    if (peer) this.emit(event, peer, why);
    if (this.listenerCount('ringChange') > 0) this.emit('ringChange', this.ring());
  }
}
