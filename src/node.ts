// A running node: the client listener, the datastore backend, the stats endpoint, wired together.
// startNode() is what the CLI and embedding programs call; it runs the named steps below in order.
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { HASH_NAMES } from './wasm/abi.js';
import { loadCommandTable, type CommandTable } from './wasm/commands.js';
import { DEFAULT_CORE_OPTIONS, sharedCore, type Core } from './wasm/core.js';
import { chainPool } from './wasm/framer.js';
import { ClientConn, type ClientContext, type PubSubContext } from './net/client-conn.js';
import { CHANNEL, PubSubHub, SHARD, type PubSubOp } from './net/pubsub.js';
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
import { Stats, type ServerCounters } from './observe/stats.js';
import { VERSION } from './version.js';
import { startCluster, type ClusterEvents, type RunningCluster } from './cluster/node-cluster.js';
import type { LinkSocket, PeerTransport } from './net/transport.js';
import type { PeerSpec } from './route/topology.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { NodeOptions } from './conf/options.js';
import { NodeSearch, SearchBackend } from './search/node-search.js';
import { MemorySource } from './search/memory-source.js';
import { RedisSource } from './search/redis-source.js';
import { DATASTORE_KEYS, LISTENER_KEYS, PEER_KEYS, TlsMaterial, datastoreTlsOptions, listenTls, tlsPeerTransport, type TlsListener } from './net/tls.js';
import type { ConnectionOptions } from 'node:tls';

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
  /** The TLS client port actually bound, when tls is configured. */
  readonly tlsPort: number | undefined;
  /** Open client connections. */
  clients(): number;
  /**
   * Re-reads the TLS files (the listener's and the datastore's): new connections use them,
   * open ones keep theirs. Throws (naming the key and file) and keeps the old ones when a file is bad.
   */
  reloadTls(): void;
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

/** What the steps of startNode share once the core, stats and control exist. */
interface NodeBase {
  readonly options: NodeOptions;
  readonly log: Logger;
  readonly core: Core;
  readonly stats: Stats;
  readonly control: NodeControl;
  readonly flusher: Flusher;
  /** The protocol clients speak: the datastore's, or client_protocol for the embedded datastore. */
  readonly protocol: 'redis' | 'memcache';
  /** The datastore's counters (stats `servers` entry). */
  readonly ds: ServerCounters;
  /** The dnode links' mutual TLS, when peer_tls_* is set (its reload installs a new certificate on the listener). */
  peerTransport: ReturnType<typeof tlsPeerTransport> | undefined;
  /** TLS material, read at start-up (a bad file stops the start before anything listens). */
  readonly tls: {
    readonly listener?: TlsMaterial;
    readonly datastore?: TlsMaterial;
    readonly datastoreConnect?: () => ConnectionOptions;
    readonly peer?: TlsMaterial;
  };
}

/** The command facts the request path indexes by command id, computed once. */
interface CommandFacts {
  readonly commands: CommandTable;
  /** redis_req_* class of every command id. */
  readonly classOf: readonly RequestClass[];
  readonly replyShapes: readonly number[];
  idOf(name: string): number;
}

/** FT.* on this node: the engine, and the keyspace-notification source when the datastore is redis. */
interface NodeSearchParts {
  readonly engine: NodeSearch | undefined;
  readonly source: RedisSource | undefined;
}

/** The client side: open connections and the context each ClientConn is built with. */
interface ClientSide {
  readonly clients: Set<ClientConn>;
  readonly ctx: ClientContext;
  readonly listenAddr: { host: string; port: number };
  /** Builds the next client connection (Redis client ids start at 1). */
  accept(socket: Socket | LinkSocket): void;
}

export async function startNode(options: NodeOptions, deps: { logger: Logger; hooks?: NodeHooks }): Promise<RunningNode> {
  const core = openCore(options);
  const base = makeNodeBase(options, deps.logger, core);
  const backend = await startBackend(base, deps.hooks);
  const facts = readCommandFacts(core);
  registerMbufGauges(base);
  let search: NodeSearchParts;
  try {
    search = startSearch(base, backend);
  } catch (err) {
    await backend.close(); // an unreadable search_definitions_file: nothing else started yet
    throw err;
  }
  // Pub/sub: this node's registry of its clients' subscriptions (src/net/pubsub.ts).
  const hub = base.protocol === 'redis' ? new PubSubHub() : undefined;
  const cluster = options.cluster ? await joinCluster(base, backend, search.engine, deps.hooks, hub, facts) : undefined;
  const dispatcher = chooseDispatcher(backend, cluster);
  const pubsub = hub === undefined ? undefined : makePubSub(base, facts, hub, cluster);
  const client = makeClientSide(base, facts, dispatcher, search.engine, () => cluster?.topology().nodes.length ?? 1, pubsub);
  const server = await startClientListener(options, client);
  let tlsListener: TlsListener | undefined;
  try {
    tlsListener = await startTlsListener(base, client);
  } catch (err) {
    server.close();
    await cluster?.close();
    await backend.close();
    throw err;
  }
  const statsServer = await startStats(base, async () => {
    server.close();
    tlsListener?.server.close();
    await cluster?.close();
    await backend.close();
  });
  base.log.info({
    listen: `${options.listen.host}:${client.listenAddr.port}`, tls: tlsListener?.port, datastore: backend.name,
    datastoreTls: base.tls.datastore !== undefined, protocol: base.protocol, stats: statsServer?.port,
  }, 'dynomite-ts node listening');
  return runningNode(base, { backend, cluster, search, client, server, tlsListener, statsServer });
}

/**
 * The process-wide core, sized for this node. Its staging area holds the largest message any
 * connection frames: at least the default (64 MiB), more when max_message_bytes asks for more, so
 * nodes of one process with the default or smaller limits share one core (each connection enforces
 * its own max_message_bytes) and a node asking for a larger one than the core has is an error.
 */
function openCore(options: NodeOptions): Core {
  const core = sharedCore({ mbufSize: options.mbufSize, stagingBytes: Math.max(options.maxMessageBytes, DEFAULT_CORE_OPTIONS.stagingBytes) });
  const hashId = HASH_NAMES.indexOf(options.hash);
  if (hashId < 0) throw new Error(`unknown hash '${options.hash}'`);
  const tag = options.hashTag;
  core.exports.configureHash(hashId, tag ? tag.charCodeAt(0) : -1, tag ? tag.charCodeAt(1) : -1);
  return core;
}

/** Stats, run-time control and the write flusher: what every later step uses. */
function makeNodeBase(options: NodeOptions, log: Logger, core: Core): NodeBase {
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
  const protocol = options.dataStore === 'memory' ? options.clientProtocol ?? 'redis' : options.dataStore;
  const dsName = options.server ? `${options.server.host}:${options.server.port}` : 'memory';
  return { options, log, core, stats, control, flusher: new Flusher(), protocol, ds: stats.server(dsName), tls: readTls(options), peerTransport: undefined };
}

function readTls(options: NodeOptions): NodeBase['tls'] {
  const t = options.tls;
  if (t !== undefined && (t.authClients ?? 'yes') !== 'no' && t.caCertFile === undefined) {
    throw new Error(`tls_auth_clients ${t.authClients ?? 'yes'} needs tls_ca_cert_file (the CA that signs client certificates), or tls_auth_clients: no`);
  }
  const listener = t === undefined ? undefined : new TlsMaterial(t, LISTENER_KEYS);
  const d = options.datastoreTls;
  if (d !== undefined && options.dataStore !== 'redis') throw new Error(`datastore_tls: only with data_store redis (0), not ${options.dataStore}`);
  const datastore = d === undefined ? undefined : new TlsMaterial(d, DATASTORE_KEYS);
  const p = options.cluster?.peerTls;
  const peer = p === undefined ? undefined : new TlsMaterial({ certFile: p.certFile, keyFile: p.keyFile, caCertFile: p.caFile }, PEER_KEYS);
  return { listener, datastore, datastoreConnect: datastore && datastoreTlsOptions(datastore, d?.serverName), peer };
}

/** The local datastore (an embedding program's, the embedded one or a server pool), started. */
async function startBackend(b: NodeBase, hooks: NodeHooks | undefined): Promise<Backend> {
  const { stats, ds } = b;
  const backend = hooks?.backend?.(b.core, b.protocol) ?? makeBackend(b.core, b.options, b.flusher, b.log, {
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
  }, b.tls.datastoreConnect);
  await backend.start();
  return backend;
}

function makeBackend(core: Core, o: NodeOptions, flusher: Flusher, log: Logger, hooks: ServerPoolHooks, tls: (() => ConnectionOptions) | undefined): Backend {
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
    tls,
  }, flusher, log, hooks);
}

function readCommandFacts(core: Core): CommandFacts {
  const commands = loadCommandTable(core);
  const classOf: RequestClass[] = ['redis_req_other'];
  const replyShapes: number[] = [0];
  for (const c of commands.all()) {
    classOf[c.id] = requestClass(c.name);
    replyShapes[c.id] = c.shape;
  }
  return { commands, classOf, replyShapes, idOf: (name) => commands.byName(name)?.id ?? -1 };
}

function registerMbufGauges({ core, stats }: NodeBase): void {
  const mbufs = core.exports.mbuf_count();
  stats.registerGauge('alloc_mbufs', () => mbufs - core.exports.mbufFreeCount());
  stats.registerGauge('free_mbufs', () => core.exports.mbufFreeCount());
  const chains = chainPool(core);
  stats.sourceOurs('mbuf_chains', () => chains.chains);
  stats.sourceOurs('mbuf_fallbacks', () => chains.fallbacks);
  stats.sourceOurs('mbuf_waits', () => chains.waits);
}

/** FT.*: every redis node indexes its own datastore (redis: keyspace notifications; memory: store hook). */
function startSearch(b: NodeBase, backend: Backend): NodeSearchParts {
  if (b.protocol !== 'redis') return { engine: undefined, source: undefined };
  const engine = new NodeSearch(b.core, b.log, undefined, b.options.searchDefinitionsFile);
  const persisted = engine.readPersisted(); // first: a bad file fails the start before a source opens
  let source: RedisSource | undefined;
  if (backend instanceof MemoryBackend) engine.attach(new MemorySource(backend.store, engine.engine));
  else if (b.options.server) {
    source = new RedisSource(b.options.server.host, b.options.server.port, engine.engine, b.log, b.options.password, b.tls.datastoreConnect);
    engine.attach(source);
  }
  engine.loadPersisted(persisted);
  return { engine, source };
}

/** The cluster layer (peers, dnode listener, cluster dispatcher) over the local datastore. */
async function joinCluster(b: NodeBase, backend: Backend, search: NodeSearch | undefined, hooks: NodeHooks | undefined,
  hub: PubSubHub | undefined, facts: CommandFacts): Promise<RunningCluster> {
  // Peers reach this node's search engine (shard queries, schema broadcasts) through the datastore path.
  const local = search ? new SearchBackend(backend, search, b.core) : backend;
  if (b.tls.peer !== undefined) {
    if (hooks?.transport !== undefined) throw new Error('peer_tls_*: mutual TLS runs over TCP; it cannot be combined with a custom peer transport');
    b.peerTransport = tlsPeerTransport(b.tls.peer, (err, from) => b.log.info({ peer: from, err: err.message }, 'dnode TLS handshake failed'));
  }
  const cluster = await startCluster({
    core: b.core, options: b.options, cluster: b.options.cluster!, backend: local, flusher: b.flusher, log: b.log,
    stats: b.stats, protocol: b.protocol, control: b.control,
    transport: hooks?.transport ?? b.peerTransport, seeds: hooks?.seeds, events: hooks?.events,
    // Messages relayed by peers reach this node's subscribers (src/dispatch/publish.ts).
    publish: hub === undefined ? undefined : { sink: hub, hmgetCommand: facts.idOf('HMGET') },
  });
  search?.joinRing({ topology: () => cluster.topology(), peer: (n) => cluster.peers[n] });
  b.control.describeCluster = cluster.describe;
  b.control.antiEntropy = cluster.antiEntropy;
  b.control.peerAction = (action, target) => {
    const hit = cluster.peerAction(action, target);
    if (hit === 0) b.log.warn({ action, target }, '/peer: no peer by that name (host, name or host:port)');
  };
  return cluster;
}

/** A cluster of one (no seeds, and no gossip or seed provider to learn any later) routes everything locally: it skips the planner. */
function chooseDispatcher(backend: Backend, cluster: RunningCluster | undefined): Dispatcher {
  if (cluster && (cluster.topology().nodes.length > 1 || cluster.dynamic)) return cluster.dispatcher;
  return new LocalDispatcher(backend);
}

/** What the pub/sub commands use: the registry, their command ids, the relay to the peers, the output limit. */
function makePubSub(b: NodeBase, facts: CommandFacts, hub: PubSubHub, cluster: RunningCluster | undefined): PubSubContext {
  const { idOf } = facts;
  const ops = new Map<number, PubSubOp>();
  for (const op of ['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'publish', 'spublish', 'pubsub'] as const) {
    ops.set(idOf(op.toUpperCase()), op);
  }
  const relay = cluster === undefined ? undefined
    : new PublishRelay({ core: b.core, topology: cluster.topology, peer: (n) => cluster.peers[n], scope: b.options.pubsubScope });
  return {
    hub,
    ops,
    ping: idOf('PING'),
    reset: idOf('RESET'),
    quit: idOf('QUIT'),
    relay: relay === undefined ? undefined : (shard, channel, message, done) => relay.publish(shard, channel, message, done),
    limit: b.options.pubsubOutputLimit,
    onLimit: (conn, bytes, which) => {
      const [sub, psub, ssub] = conn.subscriptionCounts();
      b.log.warn({ client: conn.id, addr: `${conn.socket.remoteAddress}:${conn.socket.remotePort}`, bytes, limit: which, sub, psub, ssub },
        'client closed for overcoming of output buffer limits (client_output_buffer_limit_pubsub)');
    },
  };
}

/** The node facts connections answer from (INFO, HELLO, CLIENT LIST) and each ClientConn's context. */
function makeClientSide(b: NodeBase, facts: CommandFacts, dispatcher: Dispatcher, search: NodeSearch | undefined, clusterNodes: () => number,
  pubsub: PubSubContext | undefined): ClientSide {
  const { options, stats, control, ds, protocol } = b;
  const clients = new Set<ClientConn>();
  stats.registerGauge('client_connections', () => clients.size);
  const listenAddr = { host: options.listen.host, port: options.listen.port };
  const node = makeNodeView({
    commands: facts.commands,
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
      cluster_nodes: clusterNodes(),
      // This node's own registry (the datastore's INFO, appended after, counts none of them).
      ...(pubsub === undefined ? {} : {
        pubsub_channels: pubsub.hub.names(CHANNEL).length,
        pubsub_patterns: pubsub.hub.patternCount(),
        pubsubshard_channels: pubsub.hub.names(SHARD).length,
      }),
    }),
    connections: () => clients,
  });
  const { classOf, idOf } = facts;
  const ctx: ClientContext = {
    pubsub,
    node,
    replyShapes: facts.replyShapes,
    dynoConfigCommand: idOf('DYNO_CONFIG:CONN_CONSISTENCY'),
    noAuthCommands: new Set([idOf('HELLO'), idOf('AUTH'), idOf('QUIT')]),
    txCommands: {
      multi: idOf('MULTI'), exec: idOf('EXEC'), discard: idOf('DISCARD'), watch: idOf('WATCH'), unwatch: idOf('UNWATCH'), echo: idOf('ECHO'),
      block: idOf('DYNO_TX'),
    },
    core: b.core,
    dispatcher,
    flusher: b.flusher,
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
      b.log.warn({ client: c.socket.remoteAddress, port: c.socket.remotePort, reason: err.reason, at: err.position }, 'client protocol error');
    },
  };
  let nextId = 1; // Redis client ids start at 1
  return { clients, ctx, listenAddr, accept: (socket) => clients.add(new ClientConn(socket, ctx, nextId++)) };
}

/** Listens for clients; records the port actually bound (listen port 0) in the node view. */
async function startClientListener(options: NodeOptions, client: ClientSide): Promise<Server> {
  const server: Server = createServer({ noDelay: true }, (socket: Socket) => client.accept(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.listen.host, port: options.listen.port, backlog: options.backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  client.listenAddr.port = typeof address === 'object' && address ? address.port : options.listen.port;
  return server;
}

/** tls_port: the same client connections over TLS (a TLSSocket is a net.Socket). */
async function startTlsListener(b: NodeBase, client: ClientSide): Promise<TlsListener | undefined> {
  const t = b.options.tls;
  if (t === undefined || b.tls.listener === undefined) return undefined;
  return listenTls({
    host: b.options.listen.host, port: t.port, backlog: b.options.backlog, material: b.tls.listener,
    authClients: t.authClients ?? 'yes',
    onSocket: (socket) => client.accept(socket),
    onHandshakeError: (err, from) => b.log.info({ client: from, err: err.message }, 'TLS handshake failed'),
  });
}

/** stats_listen: the stats / admin endpoint; when it cannot start, `unwind` closes what already runs. */
async function startStats(b: NodeBase, unwind: () => Promise<void>): Promise<StatsServer | undefined> {
  if (!b.options.statsListen) return undefined;
  try {
    return await startStatsServer({
      listen: b.options.statsListen, stats: b.stats, admin: b.control, logger: b.log,
      guard: { token: b.options.statsAdminToken, requireToken: b.options.statsAdminRequireToken },
    });
  } catch (err) {
    await unwind();
    throw err;
  }
}

interface NodeParts {
  backend: Backend;
  cluster: RunningCluster | undefined;
  search: NodeSearchParts;
  client: ClientSide;
  server: Server;
  tlsListener: TlsListener | undefined;
  statsServer: StatsServer | undefined;
}

function runningNode(b: NodeBase, p: NodeParts): RunningNode {
  let closing: Promise<void> | undefined;
  return {
    options: b.options,
    port: p.client.listenAddr.port,
    core: b.core,
    backend: p.backend,
    stats: b.stats,
    control: b.control,
    statsPort: p.statsServer?.port,
    cluster: p.cluster,
    tlsPort: p.tlsListener?.port,
    clients: () => p.client.clients.size,
    reloadTls() {
      if (b.tls.listener === undefined && b.tls.datastore === undefined && b.tls.peer === undefined) return;
      b.tls.listener?.reload();
      p.tlsListener?.reload();
      b.tls.datastore?.reload();
      b.tls.peer?.reload();
      b.peerTransport?.reload();
      b.log.info({ tls: b.options.tls?.certFile, datastoreTls: b.options.datastoreTls?.certFile ?? b.options.datastoreTls?.caCertFile }, 'TLS certificates reloaded');
    },
    attach: (link) => p.client.accept(link),
    close(reason = 'close', drainMs = 5000) {
      closing ??= closeNode(b, p, reason, drainMs);
      return closing;
    },
  };
}

/** Stops accepting, lets in-flight requests finish (replies still flow), then closes every part. */
async function closeNode(b: NodeBase, p: NodeParts, reason: string, drainMs: number): Promise<void> {
  b.log.info({ reason }, 'node closing');
  // server.close() resolves only once every connection is gone, so it is awaited last.
  const stopped = new Promise<void>((resolve) => p.server.close(() => resolve()));
  const tlsStopped = new Promise<void>((resolve) => (p.tlsListener ? p.tlsListener.server.close(() => resolve()) : resolve()));
  const deadline = Date.now() + drainMs;
  while (Date.now() < deadline && [...p.client.clients].some((c) => c.busy)) {
    await new Promise((r) => setTimeout(r, 10));
  }
  b.flusher.flushAll();
  for (const c of p.client.clients) c.destroy();
  await stopped;
  await tlsStopped;
  p.search.engine?.close();
  await p.cluster?.close();
  p.search.source?.close();
  await p.backend.close();
  await p.statsServer?.close();
}
