// What startNode() takes: the running node's options, one field per setting it uses. The config
// loader maps a YAML file to these (node-options.ts nodeOptionsFromConfig); embedding programs and
// the tests build them directly, starting from DEFAULT_NODE_OPTIONS. Each `@default` below is the
// value a config file without that key gives (test/conf.test.ts checks DEFAULT_NODE_OPTIONS
// against the config table).
import type { ConsistencyLevel, HashName, HostPort as ConfigHostPort, OutputLimit, SeedProvider } from './types.js';
import type { PeerSpec } from './types.js';

/** A listen or connect address (the config's HostPort without its original text). */
export type HostPort = Pick<ConfigHostPort, 'host' | 'port'>;

/** Everything a single node needs to run. */
export interface NodeOptions {
  /** The pool name (the config's top-level key; the stats JSON is keyed by it). @default 'dyn_o_mite' */
  poolName: string;
  /** listen: the client address. @default 127.0.0.1:8102 */
  listen: HostPort;
  /** backlog: the listen socket's accept backlog. @default 512 */
  backlog: number;
  /** data_store: what serves the data. @default 'redis' */
  dataStore: 'redis' | 'memcache' | 'memory';
  /** client_protocol: what clients speak; with the embedded datastore either works. @default as dataStore says */
  clientProtocol?: 'redis' | 'memcache';
  /** servers: the datastore (unused with the embedded one). @default none */
  server?: HostPort;
  /** datastore_connections: connections to the datastore. @default 1 */
  datastoreConnections: number;
  /** timeout: per-request datastore timeout, ms. @default 5000 */
  timeoutMs: number;
  /** redis_requirepass: AUTH sent on every datastore connection. @default none */
  password?: string;
  /** preconnect: connect to the datastore at start-up. @default true */
  preconnect: boolean;
  /** auto_eject_hosts: eject the datastore after failureLimit failures. @default true */
  autoEject: boolean;
  /** server_failure_limit. @default 3 */
  failureLimit: number;
  /** server_retry_timeout: ms before an ejected datastore is tried again. @default 10000 */
  retryTimeoutMs: number;
  /** hash: the token hash. @default 'murmur' */
  hash: HashName;
  /** hash_tag: two characters delimiting the hashed part of a key. @default none */
  hashTag?: string;
  /** mbuf_size: the core's mbuf size, bytes. @default 16384 */
  mbufSize: number;
  /** search_definitions_file: where FT index definitions are kept across restarts. @default none (in memory) */
  searchDefinitionsFile?: string;
  /** max_message_bytes: the largest request or reply accepted, bytes. @default 67108864 (64 MiB) */
  maxMessageBytes: number;
  /** read_consistency. @default 'DC_ONE' */
  readConsistency: ConsistencyLevel;
  /** write_consistency. @default 'DC_ONE' */
  writeConsistency: ConsistencyLevel;
  /** datacenter. @default 'localdc' */
  datacenter: string;
  /** rack. @default 'localrack' */
  rack: string;
  /** tokens: this node's ring points (for /cluster_describe). @default none */
  tokens?: readonly number[];
  /** stats_listen: the stats / admin HTTP endpoint; none when undefined. @default none (the config's is 0.0.0.0:22222) */
  statsListen?: HostPort;
  /** read_repairs_enabled. @default false */
  readRepairs?: boolean;
  /** Netflix `-v` verbosity the logger started with (for /loglevelup and /logleveldown). @default none */
  verbosity?: number;
  /** requirepass: the `default` user's password; clients must AUTH first. @default none */
  requirepass?: string;
  /** users: named users for AUTH user pass, each with a password (or its SHA-256) and a read-only flag. @default none */
  users?: readonly UserSpec[];
  /** pubsub_scope: which nodes a PUBLISH reaches (every DC, or this one). @default 'cluster' */
  pubsubScope: 'cluster' | 'datacenter';
  /** client_output_buffer_limit_pubsub: when a subscriber that does not read is cut off. @default 32mb 8mb 60 */
  pubsubOutputLimit: OutputLimit;
  /** stats_admin_token: `Authorization: Bearer <token>` opens the stats port's admin paths to non-loopback clients. @default none: loopback only */
  statsAdminToken?: string;
  /** stats_admin_require_token: loopback clients need the token too. @default false */
  statsAdminRequireToken?: boolean;
  /** tls_port and tls_*: a TLS client listener beside `listen`. @default none */
  tls?: TlsListenOptions;
  /** datastore_tls and datastore_tls_*: TLS to the redis datastore. @default none: plain TCP */
  datastoreTls?: DatastoreTlsOptions;
  /** Cluster membership: this node's dnode listener and its peers. @default none: a standalone proxy */
  cluster?: ClusterOptions;
}

/** A user clients may AUTH as: a password in clear or its SHA-256, and whether it may write. */
export interface UserSpec {
  readonly name: string;
  readonly password?: string;
  /** Lower-case hex SHA-256 of the password (Redis ACL `#<hex>`). */
  readonly sha256?: string;
  /** Only commands without the write flag (and the connection commands) are allowed. */
  readonly readonly?: boolean;
  /** false: AUTH as this user fails with WRONGPASS (a Redis user that is `off`). @default true */
  readonly enabled?: boolean;
}

/** The TLS client listener; PEM files, re-read by RunningNode.reloadTls() (SIGHUP in the CLI). */
export interface TlsListenOptions {
  /** tls_port, on listen's host (0: any free port, see RunningNode.tlsPort). */
  port: number;
  /** tls_cert_file: the server certificate (PEM, may hold the chain). */
  certFile: string;
  /** tls_key_file: its private key (PEM). */
  keyFile: string;
  /** tls_ca_cert_file: CAs that sign client certificates; needed unless authClients is 'no'. @default none */
  caCertFile?: string;
  /** tls_auth_clients: client certificates required (yes), not asked for (no), verified when sent (optional). @default 'yes' (as Redis) */
  authClients?: 'yes' | 'no' | 'optional';
}

/** TLS to the datastore. */
export interface DatastoreTlsOptions {
  /** datastore_tls_cert_file / datastore_tls_key_file: the client certificate redis asks for (its tls-auth-clients). @default none */
  certFile?: string;
  keyFile?: string;
  /** datastore_tls_ca_cert_file: CAs that sign redis's certificate. @default Node's bundled CAs */
  caCertFile?: string;
  /** datastore_tls_server_name: the name checked in redis's certificate (and sent as SNI). @default the servers host */
  serverName?: string;
}

export interface ClusterOptions {
  /** dyn_listen: where peers reach this node. @default none (required for a cluster member) */
  dynListen: HostPort;
  /** dyn_seeds: the other nodes. @default none */
  seeds: readonly PeerSpec[];
  /** dyn_seed_provider: dns / florida seeds are fetched once at start-up (src/cluster/seeds.ts). @default 'simple_provider' */
  seedProvider?: SeedProvider;
  /** DNS name, Florida address, timeouts; unset ones come from the DYNOMITE_DNS_* / DYNOMITE_FLORIDA_* env vars. @default from the environment */
  seedProviderOptions?: SeedProviderOptions;
  /** local_peer_connections: sockets to each peer in this DC. @default 1 */
  localPeerConnections: number;
  /** remote_peer_connections: sockets to each peer in another DC. @default 1 */
  remotePeerConnections: number;
  /** dyn_read_timeout, ms. @default 10000 */
  peerReadTimeoutMs: number;
  /** dyn_write_timeout, ms. @default 10000 */
  peerWriteTimeoutMs: number;
  /** secure_server_option: which peer links Netflix would encrypt (none | rack | datacenter | all). @default 'none' */
  secureServerOption?: 'none' | 'rack' | 'datacenter' | 'all';
  /** peer_tls_cert / peer_tls_key / peer_tls_ca: mutual TLS on every dnode link (our nodes only). @default none */
  peerTls?: { certFile: string; keyFile: string; caFile: string };
  /** pem_key_file: the RSA private key for secured links (relative = to the working directory). @default 'conf/dynomite.pem' */
  pemKeyFile?: string;
  /** Hinted handoff (hints_dir, hints_max_bytes, hints_ttl). @default in memory, 64 MiB, 3 hours */
  hints?: { dir?: string; maxBytes?: number; ttlMs?: number };
  /** tombstone_grace: the write journal keeps a tombstone this long, ms. @default hints.ttlMs */
  tombstoneGraceMs?: number;
  /** write_journal_max_keys: clocks (and, separately, tombstones) kept at most. @default 100000 */
  writeJournalMaxKeys?: number;
  /** anti_entropy_interval (ms, 0 = by hand only) / anti_entropy_rate (keys/s, 0 = unpaced). @default 3600000, 20000 */
  antiEntropy?: { intervalMs?: number; ratePerSecond?: number };
  /** enable_gossip / gos_interval / phi_convict_threshold / phi_window_size (src/cluster/gossip.ts). @default off */
  gossip?: {
    enabled: boolean; intervalMs: number; phiThreshold?: number; phiWindow?: number;
    /** gos_removal_time: a node DOWN this long leaves the ring, ms; 0 = never. @default 10800000 */
    removalMs?: number;
  };
  /** seeds_check_interval: dns / florida provider asked again this often, ms; 0 = start-up only. @default 30000 */
  seedsCheckIntervalMs?: number;
}

/** The TXT lookup the DNS seed provider needs; node:dns/promises Resolver satisfies it. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

/**
 * Seed provider settings. Each one left unset comes from the environment variable Netflix reads
 * (named in brackets), then from Netflix's default.
 */
export interface SeedProviderOptions {
  /** DNS name holding the TXT record [DYNOMITE_DNS_NAME]. @default '_dynomite.ec2-internal' */
  dnsName?: string;
  /** Record type [DYNOMITE_DNS_TYPE]: only TXT works (Netflix's `A` reads IPv4 bytes as text). @default 'TXT' */
  dnsType?: string;
  /** DNS servers (`ip` or `ip:port`) instead of the system's, e.g. a test responder. @default the system's */
  dnsServers?: readonly string[];
  /** A resolver to use instead of node:dns (tests). Takes precedence over dnsServers. @default node:dns */
  resolver?: TxtResolver;
  /** Florida host [DYNOMITE_FLORIDA_IP]. @default '127.0.0.1' */
  floridaIp?: string;
  /** Florida port [DYNOMITE_FLORIDA_PORT]. @default 8080 */
  floridaPort?: number;
  /**
   * Florida request [DYNOMITE_FLORIDA_REQUEST]: a path, or (as Netflix takes it) a raw HTTP request
   * `GET /path HTTP/1.0\r\n...` of which the path is used. @default '/REST/v1/admin/get_seeds'
   */
  floridaRequest?: string;
  /** Per lookup / HTTP request, ms. @default 5000 */
  timeoutMs?: number;
  /** Start-up attempts before giving up (startupSeeds). @default 5 */
  startupAttempts?: number;
  /** Pause between start-up attempts, ms. @default 2000 */
  retryDelayMs?: number;
}

/** Every required NodeOptions field at its `@default` (a node on 127.0.0.1:8102 in front of Redis). */
export const DEFAULT_NODE_OPTIONS: Readonly<NodeOptions> = Object.freeze({
  poolName: 'dyn_o_mite',
  listen: Object.freeze({ host: '127.0.0.1', port: 8102 }),
  backlog: 512,
  dataStore: 'redis',
  datastoreConnections: 1,
  timeoutMs: 5000,
  preconnect: true,
  autoEject: true,
  failureLimit: 3,
  retryTimeoutMs: 10000,
  hash: 'murmur',
  mbufSize: 16384,
  maxMessageBytes: 64 * 1024 * 1024,
  readConsistency: 'DC_ONE',
  writeConsistency: 'DC_ONE',
  datacenter: 'localdc',
  rack: 'localrack',
  pubsubScope: 'cluster',
  pubsubOutputLimit: Object.freeze({ hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 }),
});
