/**
 * Every stat dynomite-ts reports, defined once as data (twemproxy's STATS_POOL_CODEC).
 *
 * Consumers, all driven from these tables and none written by hand per stat:
 *   - stats.ts       the live counter objects (one number field per row) and the `/info` JSON
 *   - prometheus.ts  `/metrics`, one metric family per row
 *   - describeStats  the `dynomite -D` text
 *
 * Four tables:
 *   POOL_STATS    Netflix's STATS_POOL_CODEC, same order, names, types and descriptions
 *                 (typos included: the text is what operators grep for).
 *   SERVER_STATS  Netflix's STATS_SERVER_CODEC (datastore stats), same order as the `/info` JSON.
 *   PEER_STATS    ours: the pool's peer_* stats broken down per dnode peer. Each row names the
 *                 pool stat it rolls up into, for a peer in the local DC and for one in a remote
 *                 DC, so the `/info` totals stay Netflix's while `/metrics` can label by peer.
 *   INFO_FIELDS   the top-level fields of `/info`, in the order snapshot.json gives them.
 * HISTOGRAMS lists the distributions the top-level latency / size / queue fields are read from.
 */

export type StatType = 'counter' | 'gauge' | 'timestamp';
export type StatScope = 'pool' | 'server' | 'peer';

export interface StatDef<N extends string = string, S extends StatScope = StatScope> {
  readonly name: N;
  readonly type: StatType;
  readonly scope: S;
  readonly description: string;
}

/** A per-peer stat and the pool stat its value is added to (by the peer's locality). */
export interface PeerStatDef<N extends string = string> extends StatDef<N, 'peer'> {
  readonly rollup: { readonly local: PoolStatName; readonly remote: PoolStatName };
}

function pool<N extends string>(name: N, type: StatType, description: string): StatDef<N, 'pool'> {
  return { name, type, scope: 'pool', description };
}

function server<N extends string>(name: N, type: StatType, description: string): StatDef<N, 'server'> {
  return { name, type, scope: 'server', description };
}

/* ------------------------------------------------------------------ pool (Netflix) */

export const POOL_STATS = [
  // client behavior
  pool('client_eof', 'counter', '# eof on client connections'),
  pool('client_err', 'counter', '# errors on client connections'),
  pool('client_connections', 'gauge', '# active client connections'),
  pool('client_read_requests', 'counter', '# client read requests'),
  pool('client_write_requests', 'counter', '# client write responses'),
  pool('client_dropped_requests', 'counter', '# client dropped requests'),
  pool('client_non_quorum_w_responses', 'counter', '# client non quorum write responses'),
  pool('client_non_quorum_r_responses', 'counter', '# client non quorum read responses'),
  // pool behavior
  pool('server_ejects', 'counter', '# times backend server was ejected'),
  // dnode client behavior
  pool('dnode_client_eof', 'counter', '# eof on dnode client connections'),
  pool('dnode_client_err', 'counter', '# errors on dnode client connections'),
  pool('dnode_client_connections', 'gauge', '# active dnode client connections'),
  pool('dnode_client_in_queue', 'gauge', '# dnode client requests in incoming queue'),
  pool('dnode_client_in_queue_bytes', 'gauge', 'current dnode client request bytes in incoming queue'),
  pool('dnode_client_out_queue', 'gauge', '# dnode client requests in outgoing queue'),
  pool('dnode_client_out_queue_bytes', 'gauge', 'current dnode client request bytes in outgoing queue'),
  // peer behavior
  pool('peer_dropped_requests', 'counter', '# local dc peer dropped requests'),
  pool('peer_timedout_requests', 'counter', '# local dc peer timedout requests'),
  pool('remote_peer_dropped_requests', 'counter', '# remote dc peer dropped requests'),
  pool('remote_peer_timedout_requests', 'counter', '# remote dc peer timedout requests'),
  pool('remote_peer_failover_requests', 'counter', '# remote dc peer failover requests'),
  pool('peer_eof', 'counter', '# eof on peer connections'),
  pool('peer_err', 'counter', '# errors on peer connections'),
  pool('peer_timedout', 'counter', '# timeouts on local dc peer connections'),
  pool('remote_peer_timedout', 'counter', '# timeouts on remote dc peer connections'),
  pool('peer_connections', 'gauge', '# active peer connections'),
  pool('peer_forward_error', 'gauge', '# times we encountered a peer forwarding error'),
  pool('peer_requests', 'counter', '# peer requests'),
  pool('peer_request_bytes', 'counter', 'total peer request bytes'),
  pool('peer_responses', 'counter', '# peer respones'),
  pool('peer_response_bytes', 'counter', 'total peer response bytes'),
  pool('peer_ejected_at', 'timestamp', 'timestamp when peer was ejected'),
  pool('peer_ejects', 'counter', '# times a peer was ejected'),
  pool('peer_in_queue', 'gauge', '# local dc peer requests in incoming queue'),
  pool('remote_peer_in_queue', 'gauge', '# remote dc peer requests in incoming queue'),
  pool('peer_in_queue_bytes', 'gauge', 'current peer request bytes in incoming queue'),
  pool('remote_peer_in_queue_bytes', 'gauge', 'current peer request bytes in incoming queue to remote DC'),
  pool('peer_out_queue', 'gauge', '# local dc peer requests in outgoing queue'),
  pool('remote_peer_out_queue', 'gauge', '# remote dc peer requests in outgoing queue'),
  pool('peer_out_queue_bytes', 'gauge', 'current peer request bytes in outgoing queue'),
  pool('remote_peer_out_queue_bytes', 'gauge', 'current peer request bytes in outgoing queue to remote DC'),
  pool('peer_mismatch_requests', 'counter', 'current dnode peer mismatched messages'),
  // forwarder behavior
  pool('forward_error', 'counter', '# times we encountered a forwarding error'),
  pool('fragments', 'counter', '# fragments created from a multi-vector request'),
  pool('stats_count', 'counter', '# stats request'),
] as const;

export type PoolStatName = (typeof POOL_STATS)[number]['name'];

/* ---------------------------------------------------------------- server (Netflix) */

export const SERVER_STATS = [
  // server behavior
  server('server_eof', 'counter', '# eof on server connections'),
  server('server_err', 'counter', '# errors on server connections'),
  server('server_timedout', 'counter', '# timeouts on server connections'),
  server('server_ejected_at', 'timestamp', 'timestamp when server was ejected in usec since epoch'),
  server('server_dropped_requests', 'counter', '# server dropped requests'),
  server('server_timedout_requests', 'counter', '# server timedout requests'),
  // data behavior
  server('read_requests', 'counter', '# read requests'),
  server('read_request_bytes', 'counter', 'total read request bytes'),
  server('write_requests', 'counter', '# write requests'),
  server('write_request_bytes', 'counter', 'total write request bytes'),
  server('read_responses', 'counter', '# read respones'),
  server('read_response_bytes', 'counter', 'total read response bytes'),
  server('write_responses', 'counter', '# write respones'),
  server('write_response_bytes', 'counter', 'total write response bytes'),
  server('in_queue', 'gauge', '# requests in incoming queue'),
  server('in_queue_bytes', 'gauge', 'current request bytes in incoming queue'),
  server('out_queue', 'gauge', '# requests in outgoing queue'),
  server('out_queue_bytes', 'gauge', 'current request bytes in outgoing queue'),
  // Redis command classes
  server('redis_req_get', 'counter', '# Redis get'),
  server('redis_req_set', 'counter', '# Redis set'),
  server('redis_req_del', 'counter', '# Redis del'),
  server('redis_req_incr_decr', 'counter', '# Redis incr or decr'),
  server('redis_req_keys', 'counter', '# Redis keys'),
  server('redis_req_mget', 'counter', '# Redis mget'),
  server('redis_req_scan', 'counter', '# Redis scan'),
  server('redis_req_sort', 'counter', '# Redis sort'),
  server('redis_req_lreqm', 'counter', '# Redis lreqm'),
  server('redis_req_sunion', 'counter', '# Redis sunion'),
  server('redis_req_ping', 'counter', '# Redis ping'),
  server('redis_req_lists', 'counter', '# Redis lists'),
  server('redis_req_sets', 'counter', '# Redis sets'),
  server('redis_req_hashes', 'counter', '# Redis hashes'),
  server('redis_req_sortedsets', 'counter', '# Redis sortedsets'),
  server('redis_req_other', 'counter', '# Redis other'),
] as const;

export type ServerStatName = (typeof SERVER_STATS)[number]['name'];

/* ------------------------------------------------------------------- per peer (ours) */

function peer<N extends string>(
  name: N,
  type: StatType,
  description: string,
  local: PoolStatName,
  remote: PoolStatName = local,
): PeerStatDef<N> {
  return { name, type, scope: 'peer', description, rollup: { local, remote } };
}

export const PEER_STATS = [
  peer('requests', 'counter', '# requests sent to this peer', 'peer_requests'),
  peer('request_bytes', 'counter', 'total request bytes sent to this peer', 'peer_request_bytes'),
  peer('responses', 'counter', '# responses from this peer', 'peer_responses'),
  peer('response_bytes', 'counter', 'total response bytes from this peer', 'peer_response_bytes'),
  peer('eof', 'counter', '# eof on connections to this peer', 'peer_eof'),
  peer('err', 'counter', '# errors on connections to this peer', 'peer_err'),
  peer('timedout', 'counter', '# timeouts on connections to this peer', 'peer_timedout', 'remote_peer_timedout'),
  peer('timedout_requests', 'counter', '# requests to this peer that timed out',
    'peer_timedout_requests', 'remote_peer_timedout_requests'),
  peer('dropped_requests', 'counter', '# requests to this peer dropped',
    'peer_dropped_requests', 'remote_peer_dropped_requests'),
  peer('forward_error', 'gauge', '# times forwarding to this peer failed', 'peer_forward_error'),
  peer('mismatch_requests', 'counter', '# mismatched messages from this peer', 'peer_mismatch_requests'),
  peer('ejects', 'counter', '# times this peer was ejected', 'peer_ejects'),
  peer('ejected_at', 'timestamp', 'timestamp when this peer was last ejected', 'peer_ejected_at'),
  peer('connections', 'gauge', '# active connections to this peer', 'peer_connections'),
  peer('in_queue', 'gauge', '# requests to this peer in incoming queue', 'peer_in_queue', 'remote_peer_in_queue'),
  peer('in_queue_bytes', 'gauge', 'current request bytes to this peer in incoming queue',
    'peer_in_queue_bytes', 'remote_peer_in_queue_bytes'),
  peer('out_queue', 'gauge', '# requests to this peer in outgoing queue', 'peer_out_queue', 'remote_peer_out_queue'),
  peer('out_queue_bytes', 'gauge', 'current request bytes to this peer in outgoing queue',
    'peer_out_queue_bytes', 'remote_peer_out_queue_bytes'),
] as const;

export type PeerStatName = (typeof PEER_STATS)[number]['name'];

/* --------------------------------------------------------------------- histograms */

export type HistogramUnit = 'microseconds' | 'bytes' | 'depth';

export interface HistogramDef<N extends string = string> {
  readonly name: N;
  readonly unit: HistogramUnit;
  readonly description: string;
}

function histogram<N extends string>(name: N, unit: HistogramUnit, description: string): HistogramDef<N> {
  return { name, unit, description };
}

export const HISTOGRAMS = [
  histogram('latency', 'microseconds', 'client request latency, request read to reply queued'),
  histogram('payload_size', 'bytes', 'client request payload size'),
  histogram('cross_region_rtt', 'microseconds', 'round trip to a remote-DC peer'),
  histogram('cross_zone_latency', 'microseconds', 'round trip to a local-DC peer in another rack'),
  histogram('server_latency', 'microseconds', 'round trip to the local datastore'),
  histogram('cross_region_queue_wait', 'microseconds', 'time a request to a remote-DC peer waits in queue'),
  histogram('cross_zone_queue_wait', 'microseconds', 'time a request to a local-DC peer waits in queue'),
  histogram('server_queue_wait', 'microseconds', 'time a request to the datastore waits in queue'),
  histogram('client_out_queue', 'depth', 'client connection outgoing queue length'),
  histogram('server_in_queue', 'depth', 'datastore connection incoming queue length'),
  histogram('server_out_queue', 'depth', 'datastore connection outgoing queue length'),
  histogram('dnode_client_out_queue', 'depth', 'dnode client connection outgoing queue length'),
  histogram('peer_in_queue', 'depth', 'local-DC peer connection incoming queue length'),
  histogram('peer_out_queue', 'depth', 'local-DC peer connection outgoing queue length'),
  histogram('remote_peer_out_queue', 'depth', 'remote-DC peer connection outgoing queue length'),
  histogram('remote_peer_in_queue', 'depth', 'remote-DC peer connection incoming queue length'),
] as const;

export type HistogramName = (typeof HISTOGRAMS)[number]['name'];

/** Which number of a histogram an `/info` field shows. */
export type HistogramStatistic = 'max' | 'p999' | 'p99' | 'p95' | 'mean';

/* --------------------------------------------------------------- top-level /info */

export type InfoText = 'service' | 'source' | 'version' | 'rack' | 'dc';

/** Where a top-level `/info` field's value comes from. */
export type InfoSource =
  | { readonly kind: 'text'; readonly key: InfoText }
  | { readonly kind: 'uptime' }
  | { readonly kind: 'clock' }
  | { readonly kind: 'histogram'; readonly histogram: HistogramName; readonly statistic: HistogramStatistic }
  | { readonly kind: 'gauge' };

export interface InfoFieldDef<N extends string = string> {
  readonly name: N;
  readonly type: 'string' | StatType;
  readonly source: InfoSource;
  readonly description: string;
}

function text<N extends InfoText>(name: N, description: string): InfoFieldDef<N> {
  return { name, type: 'string', source: { kind: 'text', key: name }, description };
}

function fromHistogram<N extends string>(
  name: N, histogram: HistogramName, statistic: HistogramStatistic, description: string,
): InfoFieldDef<N> {
  return { name, type: 'gauge', source: { kind: 'histogram', histogram, statistic }, description };
}

function gauge<N extends string>(name: N, description: string): InfoFieldDef<N> & { readonly source: { readonly kind: 'gauge' } } {
  return { name, type: 'gauge', source: { kind: 'gauge' }, description };
}

/** The five statistics Netflix prints for the client latency and payload size histograms. */
function fiveFigures<P extends string>(prefix: P, histogram: HistogramName, unit: string) {
  return [
    fromHistogram(`${prefix}_max`, histogram, 'max', `max ${unit}`),
    fromHistogram(`${prefix}_999th`, histogram, 'p999', `99.9th percentile ${unit}`),
    fromHistogram(`${prefix}_99th`, histogram, 'p99', `99th percentile ${unit}`),
    fromHistogram(`${prefix}_95th`, histogram, 'p95', `95th percentile ${unit}`),
    fromHistogram(`${prefix}_mean`, histogram, 'mean', `mean ${unit}`),
  ] as const;
}

/** Netflix's `average_<x>` / `99_<x>` pairs. */
function averageAnd99<H extends HistogramName>(histogram: H, what: string) {
  return [
    fromHistogram(`average_${histogram}`, histogram, 'mean', `mean ${what} (usec)`),
    fromHistogram(`99_${histogram}`, histogram, 'p99', `99th percentile ${what} (usec)`),
  ] as const;
}

function queue99<H extends HistogramName>(histogram: H) {
  return fromHistogram(`${histogram}_99`, histogram, 'p99', `99th percentile ${histogram} length`);
}

export const INFO_FIELDS = [
  text('service', 'always "dynomite"'),
  text('source', 'this node\'s host name'),
  text('version', 'dynomite-ts version'),
  { name: 'uptime', type: 'gauge', source: { kind: 'uptime' }, description: 'seconds since start' },
  { name: 'timestamp', type: 'timestamp', source: { kind: 'clock' }, description: 'seconds since epoch, now' },
  text('rack', 'this node\'s rack'),
  text('dc', 'this node\'s datacenter'),
  ...fiveFigures('latency', 'latency', 'client request latency (usec)'),
  ...fiveFigures('payload_size', 'payload_size', 'client request payload size (bytes)'),
  ...averageAnd99('cross_region_rtt', 'remote-DC round trip'),
  ...averageAnd99('cross_zone_latency', 'cross-rack round trip'),
  ...averageAnd99('server_latency', 'datastore round trip'),
  ...averageAnd99('cross_region_queue_wait', 'remote-DC queue wait'),
  ...averageAnd99('cross_zone_queue_wait', 'cross-rack queue wait'),
  ...averageAnd99('server_queue_wait', 'datastore queue wait'),
  queue99('client_out_queue'),
  queue99('server_in_queue'),
  queue99('server_out_queue'),
  queue99('dnode_client_out_queue'),
  queue99('peer_in_queue'),
  queue99('peer_out_queue'),
  queue99('remote_peer_out_queue'),
  queue99('remote_peer_in_queue'),
  gauge('alloc_msgs', '# messages allocated'),
  gauge('free_msgs', '# messages in the free pool'),
  gauge('alloc_mbufs', '# mbufs allocated'),
  gauge('free_mbufs', '# mbufs in the free pool'),
  gauge('dyn_memory', 'max resident set size (KB)'),
] as const satisfies readonly InfoFieldDef[];

export type InfoFieldName = (typeof INFO_FIELDS)[number]['name'];

/** The top-level fields whose value a registered callback supplies. */
export type InfoGaugeName = Extract<(typeof INFO_FIELDS)[number], { source: { kind: 'gauge' } }>['name'];

/** Every table row that has a scope, in `-D` order. */
/* ------------------------------------------------------------------ pool (ours) */

/**
 * Node-wide stats Netflix does not have. They are in `/metrics` and `-D`, not in `/info`, whose
 * shape stays exactly Netflix's (tools parse it).
 */
export const OUR_POOL_STATS = [
  pool('read_repair_divergences', 'counter', '# quorum reads whose replicas disagreed'),
  pool('read_repairs', 'counter', '# read repairs completed'),
  pool('read_repair_replicas', 'counter', '# replicas rewritten by read repair'),
  pool('read_repair_skipped', 'counter', '# read repairs skipped (rate limit, already in repair)'),
  pool('read_repair_failed', 'counter', '# read repairs that failed'),
  pool('hints_stored', 'counter', '# writes kept as hints for an unreachable replica'),
  pool('hints_replayed', 'counter', '# hints delivered to their replica'),
  pool('hints_dropped_bytes', 'counter', '# hints dropped to stay within hints_max_bytes'),
  pool('hints_dropped_ttl', 'counter', '# hints dropped because they outlived hints_ttl'),
  pool('hints_dropped_other', 'counter', '# hints dropped otherwise (too large to send, hint file error)'),
  pool('hints_pending', 'gauge', '# hints waiting for their replica'),
  pool('hints_pending_bytes', 'gauge', 'bytes of hints waiting (request bytes + 192 each)'),
  pool('hints_applied_versioned', 'counter', '# conditional hint replays (DYNO_HINT) from peers applied here'),
  pool('hints_skipped_newer', 'counter', '# conditional hint replays skipped: the key had a write at or after the hint'),
  pool('hints_skipped_floor', 'counter', '# conditional hint replays skipped: the journal forgot writes newer than the hint (left to anti-entropy)'),
  pool('write_journal_keys', 'gauge', '# keys with a last-write clock in the write journal'),
  pool('write_journal_tombstones', 'gauge', '# tombstones in the write journal'),
  pool('write_journal_evicted', 'counter', '# journal entries forgotten for its bounds (clocks, tombstones over the count)'),
  pool('anti_entropy_passes', 'counter', '# anti-entropy passes started by this node'),
  pool('anti_entropy_running', 'gauge', '1 while an anti-entropy pass runs, else 0'),
  pool('anti_entropy_percent_done', 'gauge', 'percent done of the running (or last) anti-entropy pass'),
  pool('anti_entropy_keys_compared', 'counter', '# keys compared by finished anti-entropy passes'),
  pool('anti_entropy_keys_repaired', 'counter', '# keys repaired by finished anti-entropy passes'),
  pool('anti_entropy_bytes_exchanged', 'counter', 'bytes exchanged with peers by finished anti-entropy passes'),
  pool('mbuf_chains', 'counter', '# partial messages held in an mbuf chain in core memory'),
  pool('mbuf_fallbacks', 'counter', '# large partial messages kept as JS chunks because the mbuf pool could not hold them'),
  pool('mbuf_waits', 'counter', '# times a client paused reading until the mbuf pool could hold its message'),
] as const;

export type OurPoolStatName = (typeof OUR_POOL_STATS)[number]['name'];

export const ALL_SCOPED_STATS: readonly StatDef[] = [...POOL_STATS, ...SERVER_STATS, ...PEER_STATS, ...OUR_POOL_STATS];

/* ------------------------------------------------------------------------- -D text */

/** One `-D` line, Netflix's `"  %-20s\"%s\""` (a name of 20+ characters runs into its quote). */
function describeLine(name: string, description: string): string {
  return `  ${name.padEnd(20)}"${description}"`;
}

/**
 * The `dynomite -D` text. The first two groups are byte-for-byte Netflix's ("pool stats:",
 * blank line, "server stats:"); the per-peer and top-level groups follow, in the same format,
 * so every stat we report is described. Netflix writes this to stderr; so should the CLI.
 */
export function describeStats(): string {
  const lines: string[] = ['pool stats:'];
  for (const s of POOL_STATS) lines.push(describeLine(s.name, s.description));
  lines.push('', 'server stats:');
  for (const s of SERVER_STATS) lines.push(describeLine(s.name, s.description));
  lines.push('', 'peer stats (per dnode peer, summed into the pool\'s peer_* stats):');
  for (const s of PEER_STATS) lines.push(describeLine(s.name, s.description));
  lines.push('', 'node stats (ours, in /metrics):');
  for (const s of OUR_POOL_STATS) lines.push(describeLine(s.name, s.description));
  lines.push('', 'info fields:');
  for (const f of INFO_FIELDS) lines.push(describeLine(f.name, f.description));
  return `${lines.join('\n')}\n`;
}
