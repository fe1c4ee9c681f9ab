// A running node: the client listener, the datastore backend, the stats endpoint, wired together.
// startNode() is what the CLI and embedding programs call.
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { HASH_NAMES } from './wasm/abi.js';
import { loadCommandTable } from './wasm/commands.js';
import { sharedCore, type Core } from './wasm/core.js';
import { ClientConn, type ClientContext, type PubSubContext } from './net/client-conn.js';
import { PubSubHub, type PubSubOp } from './net/pubsub.js';
import { PublishRelay } from './dispatch/publish.js';
import { makeNodeView } from './net/node-view.js';
import { Flusher } from './net/flusher.js';
import type { Backend } from './dispatch/request.js';
import { MemoryBackend } from './store/memory-backend.js';
import { ServerPool, type ServerPoolHooks } from './store/server-pool.js';
import { NodeControl } from './control.js';
import { LocalDispatcher } from './dispatch/dispatcher.js';
import { requestClass, type RequestClass } from './observe/command-class.js';
import { startStatsServer, type ClusterDescription, type StatsServer } from './observe/http.js';
import { Stats } from './observe/stats.js';
import { VERSION } from './version.js';
import { startCluster, type ClusterEvents, type RunningCluster } from './cluster/node-cluster.js';
import type { LinkSocket, PeerTransport } from './net/transport.js';
import type { PeerSpec } from './route/topology.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { NodeOptions } from './conf/options.js';
import { NodeSearch, SearchBackend } from './search/node-search.js';
import { MemorySource } from './search/memory-source.js';
import { RedisSource } from './search/redis-source.js';

export type { ClusterOptions, HostPort, NodeOptions } from './conf/options.js';

export interface RunningNode {
  readonly options: NodeOptions;
  /** The client port actually bound (useful with port 0). */
  readonly port: number;
  readonly core: Core;
  readonly backend: Backend;
  readonly stats: Stats;
  readonly control: NodeControl;
  /** The stats endpoint's port, when it runs. */
  readonly statsPort: number | undefined;
  /** The cluster layer (peers, topology, dnode port), when this node has a dyn_listen. */
  readonly cluster: RunningCluster | undefined;
  /** Open client connections. */
  clients(): number;
  /** Serves a client over `link` (an in-process connection) exactly as over an accepted socket. */
  attach(link: LinkSocket): void;
  /** Stops accepting, drains in-flight requests (up to drainMs), closes everything. */
  close(reason?: string, drainMs?: number): Promise<void>;
}

/** What an embedding program replaces (src/embed); every one is optional. */
export interface NodeHooks {
  /** The local datastore instead of the one options.dataStore names. */
  backend?: (core: Core, protocol: 'redis' | 'memcache') => Backend;
  /** Peer links (TCP by default). */
  transport?: PeerTransport;
  /** The peers, instead of dyn_seed_provider. */
  seeds?: () => Promise<readonly PeerSpec[]>;
  events?: ClusterEvents;
}

export async function startNode(options: NodeOptions, deps: { logger: Logger; hooks?: NodeHooks }): Promise<RunningNode> {
  const log = deps.logger;
  const core = sharedCore({ mbufSize: options.mbufSize, stagingBytes: Math.max(options.maxMessageBytes, 1 << 20) });
  const hashId = HASH_NAMES.indexOf(options.hash);
  if (hashId < 0) throw new Error(`unknown hash '${options.hash}'`);
  const tag = options.hashTag;
  core.exports.configureHash(hashId, tag ? tag.charCodeAt(0) : -1, tag ? tag.charCodeAt(1) : -1);

  const stats = new Stats({ pool: options.poolName, source: hostname(), version: VERSION, rack: options.rack, dc: options.datacenter });
  const describe = (): ClusterDescription => ({
    dcs: [{ name: options.datacenter, racks: [{ name: options.rack, servers: [{
      name: options.listen.host, host: options.listen.host, port: options.listen.port, token: options.tokens?.[0] ?? 0,
    }] }] }],
  });
  const control = new NodeControl(log, {
    read: options.readConsistency, write: options.writeConsistency, readRepairs: options.readRepairs ?? false,
    verbosity: options.verbosity,
  }, describe);

  const flusher = new Flusher();
  const protocol = options.dataStore === 'memory' ? options.clientProtocol ?? 'redis' : options.dataStore;
  const dsName = options.server ? `${options.server.host}:${options.server.port}` : 'memory';
  const ds = stats.server(dsName);
  const backend = deps.hooks?.backend?.(core, protocol) ?? makeBackend(core, options, flusher, log, {
    onEject: () => {
      stats.pool.server_ejects++;
      ds.server_ejected_at = Math.floor(Date.now() / 1000);
    },
    onTimeout: (n) => {
      ds.server_timedout++;
      ds.server_timedout_requests += n;
    },
    onError: () => ds.server_err++,
    onReply: (us, bytes) => {
      stats.serverLatency.record(us);
      ds.read_responses++;
      ds.read_response_bytes += bytes;
    },
  });
  await backend.start();

  // redis_req_* class of every command id, computed once (the request path indexes it).
  const classOf: RequestClass[] = ['redis_req_other'];
  const commands = loadCommandTable(core);
  const replyShapes: number[] = [0];
  for (const c of commands.all()) {
    classOf[c.id] = requestClass(c.name);
    replyShapes[c.id] = c.shape;
  }
  const idOf = (name: string): number => commands.byName(name)?.id ?? -1;
  const mbufs = core.exports.mbuf_count();
  stats.registerGauge('alloc_mbufs', () => mbufs - core.exports.mbufFreeCount());
  stats.registerGauge('free_mbufs', () => core.exports.mbufFreeCount());

  let cluster: RunningCluster | undefined;
  // FT.*: every node indexes its own datastore (redis: keyspace notifications; memory: store hook).
  let search: NodeSearch | undefined;
  let redisSource: RedisSource | undefined;
  if (protocol === 'redis') {
    search = new NodeSearch(core, log);
    if (backend instanceof MemoryBackend) search.attach(new MemorySource(backend.store, search.engine));
    else if (options.server) {
      redisSource = new RedisSource(options.server.host, options.server.port, search.engine, log, options.password);
      search.attach(redisSource);
    }
  }

  // Pub/sub: this node's registry of its clients' subscriptions (src/net/pubsub.ts).
  const hub = protocol === 'redis' ? new PubSubHub() : undefined;
  const hmgetCommand = idOf('HMGET');

  let dispatcher: Dispatcher = new LocalDispatcher(backend);
  if (options.cluster) {
    // Peers reach this node's search engine (shard queries, schema broadcasts) through the datastore path.
    const local = search ? new SearchBackend(backend, search, core) : backend;
    cluster = await startCluster({
      core, options, cluster: options.cluster, backend: local, flusher, log, stats, protocol, control,
      transport: deps.hooks?.transport, seeds: deps.hooks?.seeds, events: deps.hooks?.events,
      publish: hub === undefined ? undefined : { sink: hub, hmgetCommand },
    });
    const c = cluster;
    search?.joinRing({ topology: () => c.topology(), peer: (n) => c.peers[n] });
    // A cluster of one (no seeds yet) routes everything locally: skip the planner.
    if (cluster.topology().nodes.length > 1) dispatcher = cluster.dispatcher;
    control.describeCluster = cluster.describe;
  }

  const clients = new Set<ClientConn>();
  stats.registerGauge('client_connections', () => clients.size);
  let nextId = 1; // Redis client ids start at 1
  const listenAddr = { host: options.listen.host, port: options.listen.port };
  const node = makeNodeView({
    commands,
    requirepass: options.requirepass,
    users: options.users,
    listen: listenAddr,
    maxMessageBytes: options.maxMessageBytes,
    dataStore: options.dataStore,
    pool: options.poolName,
    datacenter: options.datacenter,
    rack: options.rack,
    version: VERSION,
    startedAt: Date.now(),
    extraInfo: () => ({
      state: control.state,
      read_consistency: control.readConsistency,
      write_consistency: control.writeConsistency,
      cluster_nodes: cluster?.topology().nodes.length ?? 1,
    }),
    connections: () => clients,
  });
  let pubsub: PubSubContext | undefined;
  if (hub !== undefined) {
    const ops = new Map<number, PubSubOp>();
    for (const op of ['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'publish', 'spublish', 'pubsub'] as const) {
      ops.set(idOf(op.toUpperCase()), op);
    }
    const c = cluster;
    const relay = c === undefined ? undefined
      : new PublishRelay({ core, topology: c.topology, peer: (n) => c.peers[n], scope: options.pubsubScope });
    pubsub = {
      hub,
      ops,
      ping: idOf('PING'),
      reset: idOf('RESET'),
      quit: idOf('QUIT'),
      relay: relay === undefined ? undefined : (shard, channel, message, done) => relay.publish(shard, channel, message, done),
      limit: options.pubsubOutputLimit,
      onLimit: (conn, bytes, which) => {
        const [sub, psub, ssub] = conn.subscriptionCounts();
        log.warn({ client: conn.id, addr: `${conn.socket.remoteAddress}:${conn.socket.remotePort}`, bytes, limit: which, sub, psub, ssub },
          'client closed for overcoming of output buffer limits (client_output_buffer_limit_pubsub)');
      },
    };
  }
  const ctx: ClientContext = {
    pubsub,
    node,
    replyShapes,
    dynoConfigCommand: idOf('DYNO_CONFIG:CONN_CONSISTENCY'),
    noAuthCommands: new Set([idOf('HELLO'), idOf('AUTH'), idOf('QUIT')]),
    core,
    dispatcher,
    flusher,
    protocol,
    control,
    maxMessage: options.maxMessageBytes,
    search,
    onClosed: (c) => {
      clients.delete(c);
      stats.pool.client_eof++;
    },
    onRequest: (cmd, isWrite, bytes) => {
      if (isWrite) {
        stats.pool.client_write_requests++;
        ds.write_requests++;
        ds.write_request_bytes += bytes;
      } else {
        stats.pool.client_read_requests++;
        ds.read_requests++;
        ds.read_request_bytes += bytes;
      }
      if (protocol === 'redis') ds[classOf[cmd] ?? 'redis_req_other']++;
      stats.payloadSize.record(bytes);
    },
    onLatency: (us) => stats.latency.record(us),
    onProtocolError: (c, err) => {
      stats.pool.client_err++;
      log.warn({ client: c.socket.remoteAddress, port: c.socket.remotePort, reason: err.reason, at: err.position }, 'client protocol error');
    },
  };

  const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
    clients.add(new ClientConn(socket, ctx, nextId++));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.listen.host, port: options.listen.port, backlog: options.backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.listen.port;
  listenAddr.port = port;
  let statsServer: StatsServer | undefined;
  if (options.statsListen) {
    try {
      statsServer = await startStatsServer({ listen: options.statsListen, stats, admin: control, logger: log });
    } catch (err) {
      server.close();
      await cluster?.close();
      await backend.close();
      throw err;
    }
  }
  log.info({ listen: `${options.listen.host}:${port}`, datastore: backend.name, protocol, stats: statsServer?.port }, 'dynomite-ts node listening');

  let closing: Promise<void> | undefined;
  return {
    options,
    port,
    core,
    backend,
    stats,
    control,
    statsPort: statsServer?.port,
    cluster,
    clients: () => clients.size,
    attach: (link) => {
      clients.add(new ClientConn(link, ctx, nextId++));
    },
    close(reason = 'close', drainMs = 5000) {
      closing ??= (async () => {
        log.info({ reason }, 'node closing');
        // Stop accepting; server.close() resolves only once every connection is gone, so await it last.
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Drain: let in-flight requests finish (replies still flow), then close what is left.
        const deadline = Date.now() + drainMs;
        while (Date.now() < deadline && [...clients].some((c) => c.busy)) {
          await new Promise((r) => setTimeout(r, 10));
        }
        flusher.flushAll();
        for (const c of clients) c.destroy();
        await stopped;
        search?.close();
        await cluster?.close();
        redisSource?.close();
        await backend.close();
        await statsServer?.close();
      })();
      return closing;
    },
  };
}

function makeBackend(core: Core, o: NodeOptions, flusher: Flusher, log: Logger, hooks: ServerPoolHooks): Backend {
  if (o.dataStore === 'memory') return new MemoryBackend(core, o.clientProtocol ?? 'redis');
  if (!o.server) throw new Error(`data_store ${o.dataStore} needs a servers entry`);
  return new ServerPool(core, {
    host: o.server.host,
    port: o.server.port,
    protocol: o.dataStore,
    connections: o.datastoreConnections,
    timeoutMs: o.timeoutMs,
    password: o.password,
    preconnect: o.preconnect,
    autoEject: o.autoEject,
    failureLimit: o.failureLimit,
    retryTimeoutMs: o.retryTimeoutMs,
    maxMessage: o.maxMessageBytes,
  }, flusher, log, hooks);
}
