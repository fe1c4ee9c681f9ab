// The config keys, defined once. This table drives parsing (load.ts), validation, defaults and the
// generated docs/config.md (cli/config-docs.ts). Defaults follow Netflix `conf_validate_pool`
// (src/dyn_conf.c) as observed in test/fixtures/reference/netflix-behaviour.md section 3; keys with
// `netflix: false` are ours.
import type { ConfigValues } from './types.js';
import { CONSISTENCY_LEVELS, ENVS, HASH_NAMES, SECURE_SERVER_OPTIONS, SEED_PROVIDERS } from './types.js';
import {
  boolean,
  dataStore,
  envName,
  hashTag,
  hostPort,
  ignored,
  integer,
  oneOf,
  outputLimit,
  password,
  seeds,
  servers,
  text,
  tokens,
  users,
  type ValueType,
} from './values.js';

/** Marks a key that has no default: a file without it is an error. */
export const REQUIRED = 'required' as const;

/** A key that sets one field of NodeConfig. */
export interface KeyDef<F extends keyof ConfigValues = keyof ConfigValues> {
  readonly field: F;
  readonly type: ValueType<ConfigValues[F]>;
  readonly default: ConfigValues[F] | typeof REQUIRED;
  readonly doc: string;
  /** true = a Netflix Dynomite key; false = a dynomite-ts extension. */
  readonly netflix: boolean;
  /** How docs/config.md shows the default, when the value alone would mislead. */
  readonly defaultDoc?: string;
}

/** A key Netflix still accepts but ignores: we accept any value and return a warning. */
export interface DeprecatedDef {
  readonly field: null;
  readonly type: ValueType<null>;
  readonly default: null;
  readonly doc: string;
  readonly netflix: true;
}

// Checks each entry's parser and default against the field's type.
function key<F extends keyof ConfigValues>(def: KeyDef<F>): KeyDef<F> {
  return def;
}

function deprecated(doc: string): DeprecatedDef {
  return { field: null, type: ignored(), default: null, doc, netflix: true };
}

const MS = 'ms';
const consistency = oneOf(CONSISTENCY_LEVELS);

export const CONFIG_KEYS = {
  listen: key({
    field: 'listen', type: hostPort(), default: REQUIRED, netflix: true,
    doc: 'Client listen address (Redis or Memcached protocol, as `data_store` says).',
  }),
  dyn_listen: key({
    field: 'dynListen', type: hostPort(), default: null, netflix: true,
    doc: 'Peer (dnode) listen address. Unset: the node accepts no peer connections.',
  }),
  dyn_seeds: key({
    field: 'dynSeeds', type: seeds(), default: [], netflix: true,
    doc: 'Peers, each `host:port:rack:dc:tokens [name]`; `tokens` may be a comma list (vnodes).',
  }),
  dyn_seed_provider: key({
    field: 'dynSeedProvider', type: oneOf(SEED_PROVIDERS), default: 'simple_provider', netflix: true,
    doc: 'Where peers come from: `simple_provider` = `dyn_seeds`; `florida_provider` = HTTP GET of a seed list (`host:port:rack:dc:tokens` entries joined by a pipe) (`$DYNOMITE_FLORIDA_IP`:`$DYNOMITE_FLORIDA_PORT` `$DYNOMITE_FLORIDA_REQUEST`, default `127.0.0.1:8080` `/REST/v1/admin/get_seeds`); `dns_provider` = the same list in the TXT record `$DYNOMITE_DNS_NAME` (default `_dynomite.ec2-internal`). Provider seeds are added to `dyn_seeds` and fetched **once at start-up** (Netflix re-polls every 30 s; restart to pick up changes). 5 attempts 2 s apart; if all fail the node starts from `dyn_seeds` with an error logged, or refuses to start when `dyn_seeds` is empty.',
  }),
  servers: key({
    field: 'servers', type: servers(), default: [], netflix: true, defaultDoc: 'one entry required (none with `memory`)',
    doc: 'The local datastore: exactly one `host:port:weight [name]` entry. Required unless `data_store` is `memory`, where it is ignored.',
  }),
  tokens: key({
    field: 'tokens', type: tokens(), default: REQUIRED, netflix: true,
    doc: "This node's ring points in the 32-bit ring, e.g. `'101134286'` or `'1,2147483648'` (several = vnodes).",
  }),
  datacenter: key({
    field: 'datacenter', type: text(), default: 'localdc', netflix: true,
    doc: 'Datacenter name.',
  }),
  rack: key({
    field: 'rack', type: text(), default: 'localrack', netflix: true,
    doc: 'Rack name. Every rack holds a full copy of the data.',
  }),
  data_store: key({
    field: 'dataStore', type: dataStore(), default: 'redis', netflix: true, defaultDoc: '`0` (redis)',
    doc: '`0` = redis, `1` = memcache (Netflix); `memory` = the embedded in-memory datastore (ours, speaks the redis protocol, needs no `servers`).',
  }),
  read_consistency: key({
    field: 'readConsistency', type: consistency, default: 'DC_ONE', netflix: true,
    doc: 'Read consistency, case-insensitive. Changeable at run time on the stats port.',
  }),
  write_consistency: key({
    field: 'writeConsistency', type: consistency, default: 'DC_ONE', netflix: true,
    doc: 'Write consistency (how many acknowledgements the client waits for; every replica is written).',
  }),
  stats_listen: key({
    field: 'statsListen', type: hostPort(), default: { host: '0.0.0.0', port: 22222, text: '0.0.0.0:22222' }, netflix: true,
    doc: 'HTTP stats and admin endpoint.',
  }),
  stats_interval: key({
    field: 'statsInterval', type: integer({ min: 1, zeroIsDefault: 30000 }), default: 30000, netflix: true,
    doc: `Stats aggregation interval, ${MS}. Accepted; no effect here: \`/info\` and \`/metrics\` are computed live on each request.`,
  }),
  hash: key({
    field: 'hash', type: oneOf(HASH_NAMES), default: 'murmur', netflix: true,
    doc: 'Key hash for token placement. `murmur3` is the real MurmurHash3 (Netflix\'s is a no-op); `murmur3_x64_64` comes from the Rust port.',
  }),
  hash_tag: key({
    field: 'hashTag', type: hashTag(), default: null, netflix: true,
    doc: 'Two characters, e.g. `"{}"`: only the text between them is hashed when present and non-empty.',
  }),
  timeout: key({
    field: 'timeout', type: integer({ zeroIsDefault: 5000 }), default: 5000, netflix: true,
    doc: `Datastore connect and response timeout, ${MS}.`,
  }),
  backlog: key({
    field: 'backlog', type: integer({ zeroIsDefault: 512 }), default: 512, netflix: true,
    doc: 'Listen backlog.',
  }),
  client_connections: key({
    field: 'clientConnections', type: integer(), default: 0, netflix: true,
    doc: 'Accepted for compatibility; no effect (Netflix forces 0 = unlimited).',
  }),
  preconnect: key({
    field: 'preconnect', type: boolean(), default: true, netflix: true,
    doc: 'Connect to the datastore at startup.',
  }),
  auto_eject_hosts: key({
    field: 'autoEjectHosts', type: boolean(), default: true, netflix: true,
    doc: 'Eject the datastore after `server_failure_limit` consecutive failures.',
  }),
  server_retry_timeout: key({
    field: 'serverRetryTimeout', type: integer({ zeroIsDefault: 10000 }), default: 10000, netflix: true,
    doc: `Wait before retrying an ejected datastore, ${MS}.`,
  }),
  server_failure_limit: key({
    field: 'serverFailureLimit', type: integer({ zeroIsDefault: 3 }), default: 3, netflix: true,
    doc: 'Consecutive failures before the datastore is ejected.',
  }),
  dyn_read_timeout: key({
    field: 'dynReadTimeout', type: integer({ zeroIsDefault: 10000 }), default: 10000, netflix: true,
    doc: `Peer read timeout, ${MS}: a read sent to a peer fails after min(timeout, dyn_read_timeout) + 200 ms (same DC) or + 5000 ms (remote DC), as Netflix times peers.`,
  }),
  dyn_write_timeout: key({
    field: 'dynWriteTimeout', type: integer({ zeroIsDefault: 10000 }), default: 10000, netflix: true,
    doc: `Peer write timeout, ${MS}: as dyn_read_timeout, for writes.`,
  }),
  dyn_port: key({
    field: 'dynPort', type: integer(), default: null, netflix: true,
    doc: 'Legacy; accepted and unused (`dyn_listen` gives the peer port).',
  }),
  dyn_connections: key({
    field: 'dynConnections', type: integer({ min: 1 }), default: 100, netflix: true,
    doc: 'Peer connection limit; 0 is an error, as in Netflix. Accepted; the connections per peer are `local_peer_connections` / `remote_peer_connections`.',
  }),
  gos_interval: key({
    field: 'gosInterval', type: integer({ zeroIsDefault: 30000 }), default: 30000, netflix: true,
    doc: `Gossip round interval, ${MS}: with \`enable_gossip: true\` a node sends GOSSIP_SYN to every known peer this often. Each node refreshes its own timestamp (in seconds) every round, so a peer's heartbeat comes every max(gos_interval, 1 s); see \`phi_convict_threshold\`.`,
  }),
  phi_convict_threshold: key({
    field: 'phiConvictThreshold', type: integer({ min: 1, max: 64 }), default: 8, netflix: false,
    doc: 'Failure detector (with `enable_gossip`): a peer is marked DOWN when phi, -log10 of the chance that its next heartbeat is merely late, reaches this value. Heartbeat intervals are modelled as a normal distribution over the last `phi_window_size` intervals, its sigma at least a quarter of the expected interval, so the default 8 marks a silent peer DOWN about 2.3 heartbeat intervals after its last one. Lower detects sooner with more false alarms. A refused, reset or closed peer link marks a gossiping peer DOWN at once; it is NORMAL again only on a fresh heartbeat. Cassandra\'s default.',
  }),
  phi_window_size: key({
    field: 'phiWindowSize', type: integer({ min: 1, max: 100000 }), default: 1000, netflix: false,
    doc: 'Failure detector: heartbeat intervals remembered per peer (Cassandra\'s arrival window). Intervals across a DOWN period or a pause of this node are not counted.',
  }),
  gos_removal_time: key({
    field: 'gosRemovalTime', type: integer({ min: 0 }), default: 10800000, netflix: false,
    doc: `Membership (with \`enable_gossip\`), ${MS}: a node DOWN this long (convicted by the failure detector, or announced DOWN on its clean exit) is removed from the ring, and its token range passes to the next node of its rack. It stops being a read or write target as soon as it is DOWN; only its ring range waits. 0 = never remove. The default, 3 hours, is \`hints_ttl\`'s: a node is removed when the writes kept for it would expire anyway. A removed node that gossips again (a newer timestamp) joins again.`,
  }),
  seeds_check_interval: key({
    field: 'seedsCheckInterval', type: integer({ min: 0 }), default: 30000, netflix: false,
    doc: `How often \`dyn_seed_provider\` (\`dns_provider\`, \`florida_provider\`) is asked again, ${MS} (Netflix SEEDS_CHECK_INTERVAL, 30 s, fixed there). A seed that appears joins the ring; one that disappears from the list is not dropped on that word alone (gossip decides whether it is gone). A failed lookup keeps what is known. 0 = only at start-up. \`simple_provider\` is never asked again.`,
  }),
  enable_gossip: key({
    field: 'enableGossip', type: boolean(), default: false, netflix: true,
    doc: 'Run gossip (peer state, Netflix GOSSIP_SYN wire format): every `gos_interval` a node sends its state table to its peers; a phi-accrual failure detector (`phi_convict_threshold`) marks a peer DOWN when its timestamp stops advancing or its link is refused / reset, at once when it announces DOWN on a clean exit, and NORMAL again when its timestamp advances; a DOWN peer is routed around like a disconnected one. A node announced by gossip that is not in `dyn_seeds` (new address, new token) joins the ring on every node; one announced at a new address with the same token replaces the older one; one DOWN for `gos_removal_time` leaves the ring.',
  }),
  secure_server_option: key({
    field: 'secureServerOption', type: oneOf(SECURE_SERVER_OPTIONS), default: 'none', netflix: true,
    doc: 'Which peer links are encrypted, as Netflix does it: `rack` = links to another rack or DC, `datacenter` = links to another DC, `all`, or `none`. Payloads are AES-128-CBC, one stream per mbuf as Netflix cuts them (see `mbuf_size`); each connection sends its key once, RSA-OAEP-wrapped with `pem_key_file`.',
  }),
  pem_key_file: key({
    field: 'pemKeyFile', type: text('path'), default: 'conf/dynomite.pem', netflix: true,
    doc: 'RSA private key (PEM) shared by every node for the peer AES key exchange; a relative path resolves against the working directory, as Netflix does. Missing: an error at start-up only when some link of this node must be encrypted. `conf/dynomite.pem` is Netflix\'s public sample key: make your own for production (`openssl genrsa -out dynomite.pem 1024`).',
  }),
  recon_key_file: key({
    field: 'reconKeyFile', type: text('path'), default: 'conf/recon_key.pem', netflix: true,
    doc: 'Reconciliation (anti-entropy) key file. Accepted; anti-entropy is not implemented in this version.',
  }),
  recon_iv_file: key({
    field: 'reconIvFile', type: text('path'), default: 'conf/recon_iv.pem', netflix: true,
    doc: 'Reconciliation (anti-entropy) IV file. Accepted; anti-entropy is not implemented in this version.',
  }),
  env: key({
    field: 'env', type: oneOf(ENVS), default: 'aws', netflix: true,
    doc: 'Deployment environment (Netflix uses it for AWS host naming). Accepted; no effect here.',
  }),
  conn_msg_rate: key({
    field: 'connMsgRate', type: integer({ zeroIsDefault: 50000 }), default: 50000, netflix: true,
    doc: 'Messages per second allowed per connection. Accepted; not enforced in this version (memory is bounded by backpressure instead).',
  }),
  mbuf_size: key({
    field: 'mbufSize', type: integer({ min: 512, max: 512000, multipleOf: 16 }), default: 16384, netflix: true,
    doc: 'mbuf chunk size in bytes. The command line `-m` sets it when the file does not. On encrypted links it also sets how payloads are cut into AES streams (mbuf_size - 64 plaintext bytes each, mbuf_size - 48 of ciphertext), as Netflix does with its own mbuf size: every node exchanging encrypted payloads larger than one piece must use the same value (Netflix: 16384 unless its YAML or `-m` says otherwise).',
  }),
  max_msgs: key({
    field: 'maxMsgs', type: integer({ min: 100000, max: 1000000 }), default: 200000, netflix: true,
    doc: 'Maximum messages allocated. The command line `-M` sets it when the file does not. Accepted; nothing is preallocated per message here.',
  }),
  datastore_connections: key({
    field: 'datastoreConnections', type: integer({ eightBit: true, zeroIsDefault: 1 }), default: 1, netflix: true,
    doc: 'Connections to the local datastore.',
  }),
  local_peer_connections: key({
    field: 'localPeerConnections', type: integer({ eightBit: true, zeroIsDefault: 1 }), default: 1, netflix: true,
    doc: 'Connections to each peer in the same datacenter.',
  }),
  remote_peer_connections: key({
    field: 'remotePeerConnections', type: integer({ eightBit: true, zeroIsDefault: 1 }), default: 1, netflix: true,
    doc: 'Connections to each peer in another datacenter.',
  }),
  read_repairs_enabled: key({
    field: 'readRepairsEnabled', type: boolean(), default: false, netflix: true,
    doc: 'Rewrite divergent replicas after quorum reads. Changeable at run time on the stats port.',
  }),
  redis_requirepass: key({
    field: 'redisRequirepass', type: password(), default: null, netflix: false,
    doc: 'Password sent with `AUTH` on every new redis connection (redis `requirepass`). Ignored for memcache. A key of the Rust port (dynomite-engine), not of Netflix.',
  }),
  client_protocol: key({
    field: 'clientProtocol', type: oneOf(['redis', 'memcache'] as const), default: null, netflix: false, defaultDoc: 'as `data_store` says',
    doc: 'The protocol clients speak: `redis` or `memcache`. Only needed with `data_store: memory` (whose embedded datastore speaks both); with `0` / `1` it must agree with `data_store`.',
  }),
  max_message_bytes: key({
    field: 'maxMessageBytes', type: integer({ min: 1024, max: 1073741824 }), default: 67108864, netflix: false, defaultDoc: '`67108864` (64 MiB)',
    doc: 'Largest request or reply the proxy frames, in bytes (64 MiB). A bigger message gets an error reply, never a crash.',
  }),
  search_definitions_file: key({
    field: 'searchDefinitionsFile', type: text('path'), default: null, netflix: false, defaultDoc: 'none (definitions in memory, fetched from peers at start)',
    doc: 'File where the node keeps its FT index definitions (JSON, rewritten atomically after every FT.CREATE / ALTER / DROPINDEX / alias change) and reads them back at start-up, backfilling each index from the datastore. Without it a node that restarts takes the definitions from a peer, and a cluster that restarts whole has none.',
  }),
  hints_dir: key({
    field: 'hintsDir', type: text('path'), default: null, netflix: false, defaultDoc: 'none (hints in memory only)',
    doc: 'Directory for durable hints (hinted handoff): one append-only file per peer, `<host>_<port>.hints`, fsync\'d once a second, loaded at start-up. Without it hints live in memory and a restart loses them.',
  }),
  hints_max_bytes: key({
    field: 'hintsMaxBytes', type: integer({ max: 1099511627776 }), default: 67108864, netflix: false, defaultDoc: '`67108864` (64 MiB)',
    doc: 'Most bytes of hints kept for unreachable replicas, over all peers (each hint counts its request bytes plus 192, its measured in-memory overhead). The oldest hints are dropped first. `0` turns hinted handoff off.',
  }),
  hints_ttl: key({
    field: 'hintsTtl', type: integer({ min: 1 }), default: 10800000, netflix: false, defaultDoc: '`10800000` (3 hours)',
    doc: 'Hints older than this are dropped instead of replayed, in ms.',
  }),
  tombstone_grace: key({
    field: 'tombstoneGrace', type: integer({ min: 1 }), default: null, netflix: false, defaultDoc: '`hints_ttl` (3 hours)',
    doc: `How long the write journal remembers that a key was deleted, ${MS} (docs/consistency.md). Within it, neither a hint replay nor anti-entropy brings a deleted key back from a replica that missed the DEL; after it, a replica that still holds the key may restore it. Keep it at least \`hints_ttl\` (a hint older than the grace is dropped anyway) and above the longest time a replica may be away before anti-entropy runs.`,
  }),
  write_journal_max_keys: key({
    field: 'writeJournalMaxKeys', type: integer({ min: 1 }), default: 100000, netflix: false, defaultDoc: '`100000` (about 14 MB of heap, plus the keys\' length)',
    doc: 'Most keys the write journal keeps a last-write clock for (the least recently written are forgotten first), and separately most tombstones. Measured at 118-157 heap bytes per entry with 16-byte keys. A forgotten key\'s time still bounds its hash bucket\'s floor: a hint older than that floor is skipped (counted; anti-entropy converges the key), so a larger journal lets hints outlive a busier write load. See docs/consistency.md.',
  }),
  anti_entropy_interval: key({
    field: 'antiEntropyInterval', type: integer({ min: 0 }), default: 3600000, netflix: false, defaultDoc: '`3600000` (1 hour)',
    doc: `Anti-entropy, ${MS} between passes (0 = only when started by hand with \`GET /anti_entropy/run\` on the stats port). A pass compares this node's token ranges with the replica of every other rack (a digest tree per range, descending only into ranges that differ) and repairs the keys that differ (RESTORE with TTL, or DEL), never over a newer client write. Each pass reads the whole local datastore (SCAN + DUMP), so the default is hourly: hinted handoff and read repair fix most divergence within seconds, anti-entropy catches what they cannot (a datastore restarted empty, hints dropped). See docs/anti-entropy.md.`,
  }),
  anti_entropy_rate: key({
    field: 'antiEntropyRate', type: integer({ min: 0 }), default: 20000, netflix: false,
    doc: 'Anti-entropy rate limit, keys per second read from the local datastore or repaired (a token bucket shared by the passes this node starts and the snapshots it serves to peers), so that the request path keeps its throughput; 0 = unpaced. See docs/anti-entropy.md for the measured cost.',
  }),
  pubsub_scope: key({
    field: 'pubsubScope', type: oneOf(['cluster', 'datacenter'] as const), default: 'cluster', netflix: false,
    doc: 'Which nodes a `PUBLISH` / `SPUBLISH` reaches: `cluster` = every node of every datacenter (as Redis Cluster delivers a `PUBLISH` to every node), `datacenter` = the nodes of this node\'s datacenter only (no pub/sub traffic on the links between datacenters). Each node delivers to its own subscribers; see docs/architecture.md.',
  }),
  client_output_buffer_limit_pubsub: key({
    field: 'clientOutputBufferLimitPubsub', type: outputLimit(), default: { hard: 33554432, soft: 8388608, softSeconds: 60 }, netflix: false,
    defaultDoc: '`32mb 8mb 60`',
    doc: 'Redis\'s `client-output-buffer-limit pubsub`: a client whose unsent messages pass the hard limit, or stay above the soft limit for the given seconds, is disconnected (logged), so a subscriber that does not read cannot grow the node\'s memory without bound.',
  }),
  requirepass: key({
    field: 'requirepass', type: password(), default: null, netflix: false, defaultDoc: 'unset (no password)',
    doc: "The `default` user's password, as Redis `requirepass`: a client must `AUTH <password>` (or `HELLO 3 AUTH default <password>`) before any command but `HELLO`, `AUTH` and `QUIT`, else `-NOAUTH Authentication required.`. Kept as written (spaces included). Use at most one of `requirepass`, `requirepass_file`, `requirepass_env`. See [Authentication](#authentication).",
  }),
  requirepass_file: key({
    field: 'requirepassFile', type: text('path'), default: null, netflix: false,
    doc: 'Read `requirepass` from this file (relative: to the working directory) at start-up; one trailing line break is dropped. A missing, unreadable or empty file is a start-up error naming it.',
  }),
  requirepass_env: key({
    field: 'requirepassEnv', type: envName(), default: null, netflix: false,
    doc: 'Read `requirepass` from this environment variable at start-up. Unset or empty: a start-up error naming it.',
  }),
  users: key({
    field: 'users', type: users(), default: [], netflix: false,
    doc: 'Named users for `AUTH <user> <password>` (and `HELLO 3 AUTH`): each a mapping with `name`, exactly one of `password`, `password_hash` (`\'#<64 hex>\'`, the SHA-256 as Redis ACL writes it), `password_file`, `password_env`, and optionally `read_only: true` (writes refused with `-NOPERM`) and `enabled: false` (AUTH refused). A user `default` replaces `requirepass`. See [Authentication](#authentication).',
  }),
  stats_admin_token: key({
    field: 'statsAdminToken', type: password(), default: null, netflix: false, defaultDoc: 'unset (admin paths from loopback only)',
    doc: "The stats port's admin paths (`/set_consistency`, `/state/<state>`, `/peer`, `/read_repairs`, `/setloglevel`, `/loglevelup`, `/logleveldown`, `/set_timeout_factor`, `/historeset`) are served to loopback clients and to requests with `Authorization: Bearer <token>`; any other request gets 403. Reading paths stay open. Use at most one of `stats_admin_token`, `stats_admin_token_file`, `stats_admin_token_env`.",
  }),
  stats_admin_token_file: key({
    field: 'statsAdminTokenFile', type: text('path'), default: null, netflix: false,
    doc: 'Read `stats_admin_token` from this file at start-up (as `requirepass_file`).',
  }),
  stats_admin_token_env: key({
    field: 'statsAdminTokenEnv', type: envName(), default: null, netflix: false,
    doc: 'Read `stats_admin_token` from this environment variable at start-up (as `requirepass_env`).',
  }),
  stats_admin_require_token: key({
    field: 'statsAdminRequireToken', type: boolean(), default: false, netflix: false,
    doc: 'true: the admin paths need the token from loopback too (other local processes or containers sharing the host network are not trusted). Needs a token.',
  }),
  tls_port: key({
    field: 'tlsPort', type: integer({ min: 1, max: 65535 }), default: null, netflix: false, defaultDoc: 'unset (no TLS listener)',
    doc: "A TLS client listener on this port of `listen`'s host, beside the plain `listen` (Redis `tls-port`); the same protocol and commands. Needs `tls_cert_file` and `tls_key_file`. See [TLS](security.md#tls).",
  }),
  tls_cert_file: key({
    field: 'tlsCertFile', type: text('path'), default: null, netflix: false,
    doc: "The TLS listener's certificate (PEM; may hold the chain after it). Re-read on SIGHUP.",
  }),
  tls_key_file: key({
    field: 'tlsKeyFile', type: text('path'), default: null, netflix: false,
    doc: 'Its private key (PEM, unencrypted). Re-read on SIGHUP.',
  }),
  tls_ca_cert_file: key({
    field: 'tlsCaCertFile', type: text('path'), default: null, netflix: false,
    doc: 'CA certificates (PEM) that sign client certificates; needed unless `tls_auth_clients: no`. Re-read on SIGHUP.',
  }),
  tls_auth_clients: key({
    field: 'tlsAuthClients', type: oneOf(['yes', 'no', 'optional'] as const), default: 'yes', netflix: false,
    doc: 'Client certificates on `tls_port`, as Redis `tls-auth-clients`: `yes` = required (a client without one is refused in the handshake), `no` = not asked for, `optional` = checked when a client sends one. Redis\'s default, `yes`.',
  }),
  datastore_tls: key({
    field: 'datastoreTls', type: boolean(), default: false, netflix: false,
    doc: "Connect to the redis datastore (`servers`) over TLS, e.g. a redis-server started with `--tls-port`; its certificate is verified (against `datastore_tls_ca_cert_file`, else Node's bundled CAs) and must name the `servers` host (or `datastore_tls_server_name`). Also used by FT.* indexing's own connections.",
  }),
  datastore_tls_cert_file: key({
    field: 'datastoreTlsCertFile', type: text('path'), default: null, netflix: false,
    doc: "The client certificate (PEM) sent to redis, for redis's `tls-auth-clients yes` (its default). With `datastore_tls_key_file`. Re-read on SIGHUP (new connections).",
  }),
  datastore_tls_key_file: key({
    field: 'datastoreTlsKeyFile', type: text('path'), default: null, netflix: false,
    doc: 'Its private key (PEM).',
  }),
  datastore_tls_ca_cert_file: key({
    field: 'datastoreTlsCaCertFile', type: text('path'), default: null, netflix: false, defaultDoc: "unset (Node's bundled CAs)",
    doc: "CA certificates (PEM) that sign redis's certificate.",
  }),
  datastore_tls_server_name: key({
    field: 'datastoreTlsServerName', type: text(), default: null, netflix: false, defaultDoc: 'the `servers` host',
    doc: "The name redis's certificate must carry (and the SNI sent), when it is not the `servers` host.",
  }),
  peer_tls_cert: key({
    field: 'peerTlsCert', type: text('path'), default: null, netflix: false, defaultDoc: 'unset (plain TCP peer links)',
    doc: "Mutual TLS on the dnode links (`dyn_listen` and every link to a peer), for clusters of dynomite-ts nodes only: this node's certificate (PEM), presented on the links it accepts and opens; it needs both `serverAuth` and `clientAuth` uses if it lists any. With `peer_tls_key` and `peer_tls_ca`. Netflix nodes cannot speak it: a mixed cluster keeps `secure_server_option`. Re-read on SIGHUP. See [TLS](security.md#between-nodes).",
  }),
  peer_tls_key: key({
    field: 'peerTlsKey', type: text('path'), default: null, netflix: false,
    doc: "The private key (PEM) of `peer_tls_cert`.",
  }),
  peer_tls_ca: key({
    field: 'peerTlsCa', type: text('path'), default: null, netflix: false,
    doc: "The CA (PEM) that signs every node's `peer_tls_cert`: a link is accepted or kept only when the other node's certificate verifies against it (host names are not checked: the CA is the cluster's membership, use one for this cluster only).",
  }),
  distribution: deprecated('Deprecated: accepted and ignored, with a warning.'),
  server_connections: deprecated('Deprecated: accepted and ignored, with a warning (see `datastore_connections`).'),
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type AnyKeyDef = KeyDef | DeprecatedDef;

/** Every key name, in table order. */
export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

export function keyDef(name: string): AnyKeyDef | undefined {
  return Object.hasOwn(CONFIG_KEYS, name) ? (CONFIG_KEYS as Record<string, AnyKeyDef>)[name] : undefined;
}

// Compile-time check: every field of ConfigValues is set by some key of the table.
type CoveredFields = (typeof CONFIG_KEYS)[ConfigKey]['field'];
type Uncovered = Exclude<keyof ConfigValues, CoveredFields>;
const everyFieldHasAKey: [Uncovered] extends [never] ? true : Uncovered = true;
void everyFieldHasAKey;
