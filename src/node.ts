// A running node: the client listener, the datastore backend, the stats endpoint, wired together.
// startNode() is what the CLI and embedding programs call.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { HASH_NAMES } from './wasm/abi.js';
import { sharedCore, type Core } from './wasm/core.js';
import { ClientConn, type ClientContext, type Consistency } from './net/client-conn.js';
import { Flusher } from './net/flusher.js';
import type { Backend } from './store/backend.js';
import { MemoryBackend } from './store/memory-backend.js';
import { ServerPool } from './store/server-pool.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Everything a single node needs to run; the config loader produces it (see nodeOptionsFromConfig). */
export interface NodeOptions {
  poolName: string;
  listen: HostPort;
  backlog: number;
  dataStore: 'redis' | 'memcache' | 'memory';
  /** The datastore (unused with the embedded one). */
  server?: HostPort;
  datastoreConnections: number;
  timeoutMs: number;
  password?: string;
  preconnect: boolean;
  autoEject: boolean;
  failureLimit: number;
  retryTimeoutMs: number;
  hash: (typeof HASH_NAMES)[number];
  hashTag?: string;
  mbufSize: number;
  maxMessageBytes: number;
  readConsistency: Consistency;
  writeConsistency: Consistency;
  datacenter: string;
  rack: string;
}

export interface RunningNode {
  readonly options: NodeOptions;
  /** The client port actually bound (useful with port 0). */
  readonly port: number;
  readonly core: Core;
  readonly backend: Backend;
  /** Open client connections. */
  clients(): number;
  /** Stops accepting, drains in-flight requests (up to drainMs), closes everything. */
  close(reason?: string, drainMs?: number): Promise<void>;
}

export async function startNode(options: NodeOptions, deps: { logger: Logger }): Promise<RunningNode> {
  const log = deps.logger;
  const core = sharedCore({ mbufSize: options.mbufSize, stagingBytes: Math.max(options.maxMessageBytes, 1 << 20) });
  const hashId = HASH_NAMES.indexOf(options.hash);
  if (hashId < 0) throw new Error(`unknown hash '${options.hash}'`);
  const tag = options.hashTag;
  core.exports.configureHash(hashId, tag ? tag.charCodeAt(0) : -1, tag ? tag.charCodeAt(1) : -1);

  const flusher = new Flusher();
  const protocol = options.dataStore === 'memcache' ? 'memcache' : 'redis';
  const backend = makeBackend(core, options, flusher, log);
  await backend.start();

  const clients = new Set<ClientConn>();
  let nextId = 0;
  const ctx: ClientContext = {
    core,
    backend,
    flusher,
    protocol,
    maxMessage: options.maxMessageBytes,
    onClosed: (c) => clients.delete(c),
    onProtocolError: (c, err) =>
      log.warn({ client: c.socket.remoteAddress, port: c.socket.remotePort, reason: err.reason, at: err.position }, 'client protocol error'),
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
  log.info({ listen: `${options.listen.host}:${port}`, datastore: backend.name, protocol }, 'dynomite-ts node listening');

  let closing: Promise<void> | undefined;
  return {
    options,
    port,
    core,
    backend,
    clients: () => clients.size,
    close(reason = 'close', drainMs = 5000) {
      closing ??= (async () => {
        log.info({ reason }, 'node closing');
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // Drain: let in-flight requests finish (replies still flow), then close what is left.
        const deadline = Date.now() + drainMs;
        while (Date.now() < deadline && [...clients].some((c) => c.pending > 0)) {
          await new Promise((r) => setTimeout(r, 10));
        }
        flusher.flushAll();
        for (const c of clients) c.destroy();
        await backend.close();
      })();
      return closing;
    },
  };
}

function makeBackend(core: Core, o: NodeOptions, flusher: Flusher, log: Logger): Backend {
  if (o.dataStore === 'memory') return new MemoryBackend(core, 'redis');
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
  }, flusher, log);
}
