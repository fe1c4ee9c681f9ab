// Maps the loaded config (NodeConfig, one field per YAML key) to the options startNode() takes
// (options.ts NodeOptions). The type import makes tsc flag any drift between the two.
import type { NodeOptions } from './options.js';
import type { NodeConfig } from './types.js';

export function nodeOptionsFromConfig(c: NodeConfig): NodeOptions {
  const server = c.dataStore === 'memory' ? undefined : c.servers[0];
  return {
    poolName: c.pool,
    listen: { host: c.listen.host, port: c.listen.port },
    backlog: c.backlog,
    dataStore: c.dataStore,
    clientProtocol: c.clientProtocol ?? (c.dataStore === 'memcache' ? 'memcache' : 'redis'),
    server: server === undefined ? undefined : { host: server.host, port: server.port },
    datastoreConnections: c.datastoreConnections,
    timeoutMs: c.timeout,
    password: c.redisRequirepass ?? undefined,
    preconnect: c.preconnect,
    autoEject: c.autoEjectHosts,
    failureLimit: c.serverFailureLimit,
    retryTimeoutMs: c.serverRetryTimeout,
    hash: c.hash,
    hashTag: c.hashTag ?? undefined,
    mbufSize: c.mbufSize,
    maxMessageBytes: c.maxMessageBytes,
    searchDefinitionsFile: c.searchDefinitionsFile ?? undefined,
    readConsistency: c.readConsistency,
    writeConsistency: c.writeConsistency,
    datacenter: c.datacenter,
    rack: c.rack,
    tokens: c.tokens,
    statsListen: { host: c.statsListen.host, port: c.statsListen.port },
    readRepairs: c.readRepairsEnabled,
    pubsubScope: c.pubsubScope,
    pubsubOutputLimit: c.clientOutputBufferLimitPubsub,
    requirepass: c.requirepass ?? undefined,
    users: c.users.length === 0 ? undefined : c.users.map((u) => ({
      name: u.name,
      ...(u.passwordHash !== null ? { sha256: u.passwordHash } : { password: u.password ?? '' }),
      readonly: u.readOnly,
      enabled: u.enabled,
    })),
    statsAdminToken: c.statsAdminToken ?? undefined,
    statsAdminRequireToken: c.statsAdminRequireToken,
    tls: c.tlsPort === null ? undefined : {
      port: c.tlsPort,
      // crossCheck guarantees both files with tls_port.
      certFile: c.tlsCertFile ?? '',
      keyFile: c.tlsKeyFile ?? '',
      caCertFile: c.tlsCaCertFile ?? undefined,
      authClients: c.tlsAuthClients,
    },
    datastoreTls: !c.datastoreTls ? undefined : {
      certFile: c.datastoreTlsCertFile ?? undefined,
      keyFile: c.datastoreTlsKeyFile ?? undefined,
      caCertFile: c.datastoreTlsCaCertFile ?? undefined,
      serverName: c.datastoreTlsServerName ?? undefined,
    },
    // With a dyn_listen the node is a cluster member (possibly the only one so far).
    cluster: c.dynListen === null ? undefined : {
      dynListen: { host: c.dynListen.host, port: c.dynListen.port },
      seeds: c.dynSeeds,
      seedProvider: c.dynSeedProvider,
      localPeerConnections: c.localPeerConnections,
      remotePeerConnections: c.remotePeerConnections,
      peerReadTimeoutMs: c.dynReadTimeout,
      peerWriteTimeoutMs: c.dynWriteTimeout,
      secureServerOption: c.secureServerOption,
      pemKeyFile: c.pemKeyFile,
      peerTls: c.peerTlsCert === null || c.peerTlsKey === null || c.peerTlsCa === null
        ? undefined : { certFile: c.peerTlsCert, keyFile: c.peerTlsKey, caFile: c.peerTlsCa },
      gossip: { enabled: c.enableGossip, intervalMs: c.gosInterval, phiThreshold: c.phiConvictThreshold, phiWindow: c.phiWindowSize, removalMs: c.gosRemovalTime },
      seedsCheckIntervalMs: c.seedsCheckInterval,
      hints: { dir: c.hintsDir ?? undefined, maxBytes: c.hintsMaxBytes, ttlMs: c.hintsTtl },
      tombstoneGraceMs: c.tombstoneGrace ?? undefined,
      writeJournalMaxKeys: c.writeJournalMaxKeys,
      antiEntropy: { intervalMs: c.antiEntropyInterval, ratePerSecond: c.antiEntropyRate },
    },
  };
}
