// The typed result of loading a Netflix-compatible dynomite YAML file.
//
// Naming rule: every YAML key `snake_case` becomes the field `camelCase` (`dyn_seeds` -> `dynSeeds`,
// `read_consistency` -> `readConsistency`). Durations are integers in milliseconds, sizes in bytes.
// Addresses are parsed once here so no consumer re-splits "host:port" strings.

/** The 14 token hashes, in Netflix `HASH_CODEC` order plus the Rust port's murmur3_x64_64. */
/** The 14 token hashes, in the core's HASH_* id order (Netflix `hash_type` + murmur3_x64_64). */
import { HASH_NAMES, type HashName } from '../wasm/abi.js';
import type { UserEntry } from './values.js';

/** client-output-buffer-limit for one class: bytes (0 = no limit) and the seconds of the soft one. */
export interface OutputLimit {
  readonly hard: number;
  readonly soft: number;
  readonly softSeconds: number;
}

export { HASH_NAMES, type HashName };
export type { UserEntry };

export const CONSISTENCY_LEVELS = ['DC_ONE', 'DC_QUORUM', 'DC_SAFE_QUORUM', 'DC_EACH_SAFE_QUORUM'] as const;
export type ConsistencyLevel = (typeof CONSISTENCY_LEVELS)[number];

export const SEED_PROVIDERS = ['simple_provider', 'florida_provider', 'dns_provider'] as const;
export type SeedProvider = (typeof SEED_PROVIDERS)[number];

export const SECURE_SERVER_OPTIONS = ['none', 'rack', 'datacenter', 'all'] as const;
export type SecureServerOption = (typeof SECURE_SERVER_OPTIONS)[number];

export const ENVS = ['aws', 'network'] as const;
export type Env = (typeof ENVS)[number];

/** `0` = redis, `1` = memcache (Netflix), `memory` = our embedded in-memory datastore. */
export type DataStore = 'redis' | 'memcache' | 'memory';

/** A parsed `host:port`. `text` is the value as written in the file (for logs and stats keys). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
  readonly text: string;
}

/** One `servers:` entry, `host:port:weight [name]`: the node's local datastore. */
export interface ServerSpec extends HostPort {
  readonly weight: number;
  /** The optional ` name` suffix, else null. */
  readonly name: string | null;
}

/** One `dyn_seeds:` entry, `host:port:rack:dc:tokens [name]`. */
export interface SeedSpec extends HostPort {
  readonly rack: string;
  readonly dc: string;
  /** Ring points (u32), in the order written. Several tokens = vnodes. */
  readonly tokens: readonly number[];
  readonly name: string | null;
}

/** This node, as the config loader produces it. */
export interface LocalNodeSpec {
  /** Display name (Netflix shows the host / IP). @default host */
  readonly name?: string | null;
  readonly host: string;
  /** dnode (peer) port. */
  readonly port: number;
  readonly dc: string;
  readonly rack: string;
  /** Ring points (u32), as written in `tokens:`. Several = vnodes. */
  readonly tokens: readonly number[];
}

/** One peer, from a `dyn_seeds` entry `host:port:rack:dc:tokens` (SeedSpec fits). */
export interface PeerSpec {
  readonly host: string;
  /** dnode (peer) port. */
  readonly port: number;
  readonly rack: string;
  readonly dc: string;
  readonly tokens: readonly number[];
  readonly name?: string | null;
}

/** Every value a YAML key sets. Keys marked "ours" are not Netflix keys. */
export interface ConfigValues {
  /** Client listen address (required). */
  readonly listen: HostPort;
  /** Peer (dnode) listen address; null = this node accepts no peer connections. */
  readonly dynListen: HostPort | null;
  readonly dynSeeds: readonly SeedSpec[];
  readonly dynSeedProvider: SeedProvider;
  /** The local datastore: exactly one entry, or none when `dataStore` is `memory`. */
  readonly servers: readonly ServerSpec[];
  /** This node's ring points (u32). */
  readonly tokens: readonly number[];
  readonly datacenter: string;
  readonly rack: string;
  readonly dataStore: DataStore;
  readonly readConsistency: ConsistencyLevel;
  readonly writeConsistency: ConsistencyLevel;
  readonly statsListen: HostPort;
  /** ms */
  readonly statsInterval: number;
  readonly hash: HashName;
  /** Two characters, e.g. "{}", or null when unset. */
  readonly hashTag: string | null;
  /** ms */
  readonly timeout: number;
  readonly backlog: number;
  /** Accepted for compatibility; has no effect (Netflix forces 0). */
  readonly clientConnections: number;
  readonly preconnect: boolean;
  readonly autoEjectHosts: boolean;
  /** ms */
  readonly serverRetryTimeout: number;
  readonly serverFailureLimit: number;
  /** ms */
  readonly dynReadTimeout: number;
  /** ms */
  readonly dynWriteTimeout: number;
  /** Legacy; null when unset. */
  readonly dynPort: number | null;
  readonly dynConnections: number;
  /** ms */
  readonly gosInterval: number;
  readonly enableGossip: boolean;
  /** Ours: phi at which the failure detector marks a peer DOWN. */
  readonly phiConvictThreshold: number;
  /** Ours: heartbeat intervals kept per peer. */
  readonly phiWindowSize: number;
  readonly gosRemovalTime: number;
  readonly seedsCheckInterval: number;
  readonly secureServerOption: SecureServerOption;
  readonly pemKeyFile: string;
  readonly reconKeyFile: string;
  readonly reconIvFile: string;
  readonly env: Env;
  /** Messages per second per connection. */
  readonly connMsgRate: number;
  /** bytes */
  readonly mbufSize: number;
  readonly maxMsgs: number;
  readonly datastoreConnections: number;
  readonly localPeerConnections: number;
  readonly remotePeerConnections: number;
  readonly readRepairsEnabled: boolean;
  /** Password sent with AUTH on every new redis connection; null = none. */
  readonly redisRequirepass: string | null;
  /** Ours: the largest request or reply the proxy frames, in bytes. */
  readonly maxMessageBytes: number;
  /** Ours: the client protocol; null = as dataStore says (memory: redis). */
  readonly clientProtocol: 'redis' | 'memcache' | null;
  /** Ours: FT index definitions file; null = in memory only. */
  readonly searchDefinitionsFile: string | null;
  /** Ours: durable hints directory; null = hints in memory only. */
  readonly hintsDir: string | null;
  /** Ours: bytes of hints kept at most; 0 = hinted handoff off. */
  readonly hintsMaxBytes: number;
  /** Ours: hint time to live, ms. */
  readonly hintsTtl: number;
  /** Ours: how long the write journal keeps a tombstone, ms; null = hintsTtl. */
  readonly tombstoneGrace: number | null;
  /** Ours: overwrite clocks (and, separately, tombstones) the write journal keeps at most. */
  readonly writeJournalMaxKeys: number;
  /** Ours: ms between anti-entropy passes; 0 = only by hand. */
  readonly antiEntropyInterval: number;
  /** Ours: keys/s an anti-entropy pass reads or repairs; 0 = unpaced. */
  readonly antiEntropyRate: number;
  /** Ours: which nodes a PUBLISH reaches. */
  readonly pubsubScope: 'cluster' | 'datacenter';
  /** Ours: client-output-buffer-limit pubsub. */
  readonly clientOutputBufferLimitPubsub: OutputLimit;
  /** Ours: the `default` user's password (after requirepass_file / requirepass_env are read); null = none. */
  readonly requirepass: string | null;
  readonly requirepassFile: string | null;
  readonly requirepassEnv: string | null;
  /** Ours: named users for `AUTH user pass` (passwords read from their files / env vars). */
  readonly users: readonly UserEntry[];
  /** Ours: the bearer token the stats port's admin paths accept (after its file / env var are read); null = none. */
  readonly statsAdminToken: string | null;
  readonly statsAdminTokenFile: string | null;
  readonly statsAdminTokenEnv: string | null;
  /** Ours: admin paths need the token from loopback too. */
  readonly statsAdminRequireToken: boolean;
  /** Ours (Redis tls-port): the TLS client port on listen's host; null = no TLS listener. */
  readonly tlsPort: number | null;
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  readonly tlsCaCertFile: string | null;
  readonly tlsAuthClients: 'yes' | 'no' | 'optional';
  /** Ours: TLS to the redis datastore. */
  readonly datastoreTls: boolean;
  readonly datastoreTlsCertFile: string | null;
  readonly datastoreTlsKeyFile: string | null;
  readonly datastoreTlsCaCertFile: string | null;
  readonly datastoreTlsServerName: string | null;
  /** Ours: mutual TLS on the dnode links, all three or none. */
  readonly peerTlsCert: string | null;
  readonly peerTlsKey: string | null;
  readonly peerTlsCa: string | null;
}

/** The loaded, validated and frozen configuration of one node. */
export interface NodeConfig extends ConfigValues {
  /** The file it came from (as given to loadConfig / parseConfig). */
  readonly file: string;
  /** The single top-level key, e.g. "dyn_o_mite" (the stats JSON is keyed by it). */
  readonly pool: string;
  /** Non-fatal findings, e.g. deprecated keys that were ignored. Each names file and key. */
  readonly warnings: readonly string[];
}
