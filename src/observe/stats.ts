/**
 * The live stats of one node: counters the proxy bumps on its hot path, histograms it records
 * into, gauges read through callbacks, and the two read-side views built from them: `view()`
 * (numbers, for /metrics) and `snapshot()` (the Netflix `/info` JSON, field order included).
 *
 * Hot path: every counter is a plain number field named after its table row, on an object made
 * once, so an increment is one monomorphic property store (about 1 ns) with no lookup by string:
 *
 *     stats.pool.client_read_requests++;                      // pool stat
 *     const ds = stats.server('127.0.0.1:22122');             // once, at start-up
 *     ds.read_requests++; ds.read_request_bytes += len;       // datastore stat
 *     const p = stats.peer('10.0.0.2:8101', { dc, rack, remote: false }); // once per peer
 *     p.requests++; p.request_bytes += len;                   // per-peer stat
 *     stats.latency.record(us);                               // histogram
 *
 * Per-peer stats are summed into the pool's peer_* stats by `view()` (PEER_STATS says which),
 * so the proxy increments the peer's counter only, never both.
 *
 * Units: latencies in microseconds, sizes in bytes, timestamps (server_ejected_at,
 * peer_ejected_at, ejected_at) in seconds since the epoch, as the reference snapshot shows.
 */

import { EMPTY_SUMMARY, Histogram, type HistogramSummary } from './histogram.js';
import {
  HISTOGRAMS,
  INFO_FIELDS,
  PEER_STATS,
  POOL_STATS,
  OUR_POOL_STATS,
  type OurPoolStatName,
  SERVER_STATS,
  type HistogramName,
  type InfoGaugeName,
  type InfoText,
  type PeerStatName,
  type PoolStatName,
  type ServerStatName,
} from './stats-table.js';

export type PoolCounters = Record<PoolStatName, number>;
export type ServerCounters = Record<ServerStatName, number>;
export type PeerCounters = Record<PeerStatName, number>;
export type GaugeFn = () => number;

/** Where a dnode peer sits; `remote` (another DC) picks the remote_peer_* roll-up targets. */
export interface PeerPlacement {
  readonly dc: string;
  readonly rack: string;
  readonly remote: boolean;
}

export interface StatsOptions {
  /** Pool name, the key of the pool object in `/info` (Netflix's YAML top-level key). */
  pool: string;
  /** Host name of this node (`source` in `/info`). */
  source: string;
  version: string;
  rack: string;
  dc: string;
  /** @default 'dynomite' */
  service?: string;
  /** Clock in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** When the node started, ms since the epoch (for `uptime`). @default now() at construction */
  startedAt?: number;
  /**
   * Histograms cover a window: a `view()` that finds the window over reports it and then starts
   * a new one (Netflix resets every 5 minutes). 0 keeps everything since start or /historeset.
   * @default 300000
   */
  histogramWindowMs?: number;
}

export interface ServerView {
  readonly name: string;
  readonly values: Readonly<ServerCounters>;
}

export interface PeerView extends PeerPlacement {
  readonly name: string;
  readonly values: Readonly<PeerCounters>;
}

/** Every number the node reports, computed at one instant. */
export interface StatsView {
  readonly text: Readonly<Record<InfoText, string>>;
  /** Seconds since start. */
  readonly uptime: number;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  /** Pool stats with gauges read and per-peer stats rolled up. */
  readonly pool: Readonly<PoolCounters>;
  readonly servers: readonly ServerView[];
  readonly peers: readonly PeerView[];
  readonly histograms: Readonly<Record<HistogramName, HistogramSummary>>;
  readonly gauges: Readonly<Record<InfoGaugeName, number>>;
}

/** One peer as membership sees it (src/cluster/node-cluster.ts fills it). */
export interface PeerStateSample {
  node: number;
  /** Netflix host id dc$rack$token. */
  hostId: string;
  /** host:port of its dnode listener. */
  name: string;
  dc: string;
  rack: string;
  /** Gossip state name (NORMAL, DOWN, JOINING, STANDBY, ...); from the link when gossip is off. */
  state: string;
  /** ms since its last heartbeat; null when never heard from (or gossip is off). */
  heartbeatAgeMs: number | null;
  /** The failure detector's phi now (0 when never heard from, DOWN, or gossip is off). */
  phi: number;
}

/** The `/info` JSON: top-level fields, then the pool object (its stats, then one object per datastore). */
export type InfoSnapshot = { [field: string]: string | number | PoolSnapshot };
export type PoolSnapshot = { [stat: string]: number | Record<string, number> };

interface ServerEntry {
  readonly counters: ServerCounters;
  readonly gauges: Map<ServerStatName, GaugeFn>;
}

interface PeerEntry extends PeerPlacement {
  readonly counters: PeerCounters;
  readonly gauges: Map<PeerStatName, GaugeFn>;
}

/**
 * An object with one zeroed number field per table row, in table order. Object.fromEntries keeps
 * V8's fast-properties layout; a loop of `o[name] = 0` stores would turn a 40-field object into a
 * dictionary (measured: increments 8x slower). Objects built from one table share a hidden class.
 */
function zeroed<N extends string>(table: readonly { readonly name: N }[]): Record<N, number> {
  return Object.fromEntries(table.map((s) => [s.name, 0])) as Record<N, number>;
}

function readGauge(fn: GaugeFn): number {
  try {
    const v = fn();
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0; // a broken callback must not take /info down with it
  }
}

/** Default dyn_memory: max resident set size in KB, what Netflix reports (getrusage ru_maxrss). */
function maxRssKb(): number {
  return process.resourceUsage().maxRSS;
}

export class Stats {
  readonly pool: PoolCounters = zeroed(POOL_STATS);
  /** Our own node-wide counters (OUR_POOL_STATS): `/metrics` and `-D` only. */
  readonly ours: Record<OurPoolStatName, number> = zeroed(OUR_POOL_STATS);

  /** Reads one of `ours` from the module that counts it (read at scrape time, nothing copied). */
  sourceOurs(name: OurPoolStatName, read: () => number): void {
    Object.defineProperty(this.ours, name, { get: read, enumerable: true, configurable: true });
  }
  readonly histograms: Readonly<Record<HistogramName, Histogram>>;
  /** Client request latency, microseconds (`latency_*` in /info). */
  readonly latency: Histogram;
  /** Client request payload size, bytes (`payload_size_*`). */
  readonly payloadSize: Histogram;
  /** Datastore round trip, microseconds (`average_server_latency`, `99_server_latency`). */
  readonly serverLatency: Histogram;

  private readonly servers = new Map<string, ServerEntry>();
  private readonly peers = new Map<string, PeerEntry>();
  private readonly poolGauges = new Map<PoolStatName, GaugeFn>();
  private readonly infoGauges = new Map<InfoGaugeName, GaugeFn>([['dyn_memory', maxRssKb]]);
  private readonly text: Record<InfoText, string>;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly windowMs: number;
  private windowStart: number;

  constructor(readonly options: StatsOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = options.startedAt ?? this.now();
    this.windowMs = options.histogramWindowMs ?? 300_000;
    this.windowStart = this.now();
    this.text = {
      service: options.service ?? 'dynomite',
      source: options.source,
      version: options.version,
      rack: options.rack,
      dc: options.dc,
    };
    this.histograms = Object.fromEntries(HISTOGRAMS.map((h) => [h.name, new Histogram()])) as Record<
      HistogramName,
      Histogram
    >;
    this.latency = this.histograms.latency;
    this.payloadSize = this.histograms.payload_size;
    this.serverLatency = this.histograms.server_latency;
  }

  get poolName(): string {
    return this.options.pool;
  }

  /* ------------------------------------------------------------ write side */

  /** Membership's per-peer states (gossip state, phi, heartbeat age) for /metrics. */
  registerPeerStates(fn: () => PeerStateSample[]): void {
    this.peerStatesFn = fn;
  }

  /** Every peer in the ring with its state now (empty for a single node). */
  peerStates(): PeerStateSample[] {
    return this.peerStatesFn?.() ?? [];
  }

  private peerStatesFn: (() => PeerStateSample[]) | undefined;

  /** The counters of datastore `name` (`host:port`), created on first call; keep the handle. */
  server(name: string): ServerCounters {
    let entry = this.servers.get(name);
    if (entry === undefined) {
      entry = { counters: zeroed(SERVER_STATS), gauges: new Map() };
      this.servers.set(name, entry);
    }
    return entry.counters;
  }

  /** The counters of dnode peer `name`, created on first call with `placement`; keep the handle. */
  peer(name: string, placement: PeerPlacement = { dc: this.text.dc, rack: '', remote: false }): PeerCounters {
    let entry = this.peers.get(name);
    if (entry === undefined) {
      entry = { ...placement, counters: zeroed(PEER_STATS), gauges: new Map() };
      this.peers.set(name, entry);
    }
    return entry.counters;
  }

  /**
   * Forget a peer (it left the ring). Its counters and timestamps are folded into the pool's
   * stats first, so the pool totals never go backwards; its gauges go with it.
   */
  removePeer(name: string): void {
    const entry = this.peers.get(name);
    if (entry === undefined) return;
    for (const def of PEER_STATS) {
      const target = entry.remote ? def.rollup.remote : def.rollup.local;
      const v = entry.counters[def.name];
      if (def.type === 'counter') this.pool[target] += v;
      else if (def.type === 'timestamp') this.pool[target] = Math.max(this.pool[target], v);
    }
    this.peers.delete(name);
  }

  recordLatency(us: number): void {
    this.latency.record(us);
  }

  recordPayload(bytes: number): void {
    this.payloadSize.record(bytes);
  }

  recordServerLatency(us: number): void {
    this.serverLatency.record(us);
  }

  record(histogram: HistogramName, value: number): void {
    this.histograms[histogram].record(value);
  }

  /**
   * Read a top-level gauge (alloc_msgs, free_msgs, alloc_mbufs, free_mbufs, dyn_memory) or a
   * pool stat from `fn` at read time, instead of the field. Returns the unregister function.
   */
  registerGauge(name: InfoGaugeName | PoolStatName, fn: GaugeFn): () => void {
    if (isInfoGauge(name)) return register(this.infoGauges, name, fn);
    return register(this.poolGauges, name, fn);
  }

  /** Read datastore stat `name` (e.g. in_queue) of server `server` from `fn` at read time. */
  registerServerGauge(server: string, name: ServerStatName, fn: GaugeFn): () => void {
    this.server(server);
    return register(this.servers.get(server)!.gauges, name, fn);
  }

  /** Read per-peer stat `name` (e.g. out_queue) of peer `peer` from `fn` at read time. */
  registerPeerGauge(peer: string, name: PeerStatName, fn: GaugeFn): () => void {
    const entry = this.peers.get(peer);
    if (entry === undefined) throw new Error(`registerPeerGauge: unknown peer '${peer}' (call peer() first)`);
    return register(entry.gauges, name, fn);
  }

  /** /historeset: every histogram starts empty, and a new window starts now. */
  resetHistograms(): void {
    for (const h of HISTOGRAMS) this.histograms[h.name].reset();
    this.windowStart = this.now();
  }

  /* ------------------------------------------------------------- read side */

  view(): StatsView {
    const now = this.now();
    const pool = this.poolTotals();
    const servers = [...this.servers].map(([name, e]) => ({ name, values: withGauges(e.counters, e.gauges) }));
    const peers = [...this.peers].map(([name, e]) => ({
      name, dc: e.dc, rack: e.rack, remote: e.remote, values: withGauges(e.counters, e.gauges),
    }));
    const histograms = Object.fromEntries(
      HISTOGRAMS.map((h) => [h.name, this.histograms[h.name].summary()]),
    ) as Record<HistogramName, HistogramSummary>;
    const gauges = {} as Record<InfoGaugeName, number>;
    for (const f of INFO_FIELDS) {
      if (f.source.kind !== 'gauge') continue;
      const fn = this.infoGauges.get(f.name as InfoGaugeName);
      gauges[f.name as InfoGaugeName] = fn === undefined ? 0 : readGauge(fn);
    }
    if (this.windowMs > 0 && now - this.windowStart >= this.windowMs) this.resetHistograms();
    return {
      text: this.text,
      uptime: Math.max(0, Math.floor((now - this.startedAt) / 1000)),
      timestamp: Math.floor(now / 1000),
      pool, servers, peers, histograms, gauges,
    };
  }

  /** The Netflix `/info` object, keys in snapshot.json's order; JSON.stringify it as is. */
  snapshot(): InfoSnapshot {
    return infoFromView(this.view(), this.options.pool);
  }

  /** Pool stats as reported: gauge callbacks replace fields, then per-peer values are added. */
  private poolTotals(): PoolCounters {
    const totals = { ...this.pool };
    for (const [name, fn] of this.poolGauges) totals[name] = readGauge(fn);
    for (const e of this.peers.values()) {
      for (const def of PEER_STATS) {
        const target = e.remote ? def.rollup.remote : def.rollup.local;
        const fn = e.gauges.get(def.name);
        const v = fn === undefined ? e.counters[def.name] : readGauge(fn);
        totals[target] = def.type === 'timestamp' ? Math.max(totals[target], v) : totals[target] + v;
      }
    }
    return totals;
  }
}

/* ------------------------------------------------------------------- helpers */

const INFO_GAUGES: ReadonlySet<string> = new Set(
  INFO_FIELDS.filter((f) => f.source.kind === 'gauge').map((f) => f.name),
);

function isInfoGauge(name: string): name is InfoGaugeName {
  return INFO_GAUGES.has(name);
}

function register<K>(map: Map<K, GaugeFn>, name: K, fn: GaugeFn): () => void {
  map.set(name, fn);
  return () => {
    if (map.get(name) === fn) map.delete(name);
  };
}

function withGauges<N extends string>(counters: Record<N, number>, gauges: Map<N, GaugeFn>): Record<N, number> {
  const out = { ...counters };
  for (const [name, fn] of gauges) out[name] = readGauge(fn);
  return out;
}

/** Netflix prints integers (its histograms and gauges are cast to int64). */
function int(v: number): number {
  return Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** Build the `/info` object from a view, driven by INFO_FIELDS, POOL_STATS and SERVER_STATS. */
export function infoFromView(view: StatsView, poolName: string): InfoSnapshot {
  const out: InfoSnapshot = {};
  for (const f of INFO_FIELDS) {
    const src = f.source;
    switch (src.kind) {
      case 'text': out[f.name] = view.text[src.key]; break;
      case 'uptime': out[f.name] = view.uptime; break;
      case 'clock': out[f.name] = view.timestamp; break;
      case 'histogram': out[f.name] = int((view.histograms[src.histogram] ?? EMPTY_SUMMARY)[src.statistic]); break;
      case 'gauge': out[f.name] = int(view.gauges[f.name as InfoGaugeName]); break;
    }
  }
  const pool: PoolSnapshot = {};
  for (const s of POOL_STATS) pool[s.name] = int(view.pool[s.name]);
  for (const server of view.servers) {
    const values: Record<string, number> = {};
    for (const s of SERVER_STATS) values[s.name] = int(server.values[s.name]);
    pool[server.name] = values;
  }
  out[poolName] = pool;
  return out;
}
