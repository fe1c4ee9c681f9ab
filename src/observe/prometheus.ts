/**
 * `/metrics`: the stats in Prometheus text format, through prom-client 15 on a private Registry
 * (never the global one, so several nodes in one process, or tests, do not collide).
 *
 * Every metric family is generated from the stats table; none is written by hand:
 *
 *   table        metric name                               labels                    type
 *   POOL_STATS   dynomite_<name>[_total]                    pool                      counter|gauge
 *   SERVER_STATS dynomite_<name>[_total]                    pool, server              counter|gauge
 *   PEER_STATS   dynomite_dnode_peer_<name>[_total]         pool, peer, dc, rack      counter|gauge
 *   HISTOGRAMS   dynomite_<name>_<unit>                     quantile (summary)        summary
 *   INFO_FIELDS  dynomite_info (text fields as labels) = 1, dynomite_uptime_seconds,
 *                dynomite_<gauge name> for alloc_msgs .. dyn_memory                   gauge
 *
 * Counters get the `_total` suffix Prometheus expects; timestamps are gauges. Values are read
 * from one `Stats.view()` per scrape: `render()` takes the view, then the registry's collect
 * callbacks (which prom-client runs synchronously at the start of `metrics()`) read from it.
 */

import { Counter, Gauge, Registry, Summary } from 'prom-client';
import type { HistogramSummary } from './histogram.js';
import {
  HISTOGRAMS,
  INFO_FIELDS,
  PEER_STATS,
  POOL_STATS,
  OUR_POOL_STATS,
  SERVER_STATS,
  type HistogramDef,
  type InfoGaugeName,
  type StatType,
} from './stats-table.js';
import type { Stats, StatsView } from './stats.js';

export const METRIC_PREFIX = 'dynomite_';

export interface MetricsEndpoint {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text for one scrape. */
  render(): Promise<string>;
}

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];
type SummaryValues = Awaited<ReturnType<Summary['get']>>['values'];

/** The Prometheus name of a table stat: counters end in `_total`. */
export function metricName(base: string, type: StatType): string {
  return `${METRIC_PREFIX}${base}${type === 'counter' ? '_total' : ''}`;
}

/** Netflix's descriptions start with "# " meaning "number of"; say so in HELP. */
function help(description: string): string {
  return description.replace(/^# /, 'number of ');
}

/**
 * A summary whose quantiles come from our own histogram instead of prom-client's t-digest, so
 * the hot path records once. prom-client sets `type = 'summary'`; only `values` is replaced.
 */
class HistogramSummaryMetric extends Summary<string> {
  private readonly readSummary: () => HistogramSummary;
  private readonly familyName: string;

  constructor(name: string, helpText: string, registry: Registry, read: () => HistogramSummary) {
    super({ name, help: helpText, registers: [registry], percentiles: [0.5, 0.95, 0.99, 0.999, 1] });
    this.readSummary = read;
    this.familyName = name;
  }

  override async get(): Promise<Awaited<ReturnType<Summary['get']>>> {
    const s = this.readSummary(); // before any await: the scrape's view is current now
    const base = await super.get();
    const values: SummaryValues = [
      { labels: { quantile: 0.5 }, value: s.p50 },
      { labels: { quantile: 0.95 }, value: s.p95 },
      { labels: { quantile: 0.99 }, value: s.p99 },
      { labels: { quantile: 0.999 }, value: s.p999 },
      { labels: { quantile: 1 }, value: s.max },
      { metricName: `${this.familyName}_sum`, labels: {}, value: s.sum },
      { metricName: `${this.familyName}_count`, labels: {}, value: s.count },
    ];
    return { ...base, values };
  }
}

/** One counter or gauge family whose samples are read at scrape time. */
function family(
  registry: Registry,
  name: string,
  type: StatType,
  description: string,
  labelNames: readonly string[],
  samples: () => Iterable<Sample>,
): void {
  const config = { name, help: help(description), labelNames, registers: [registry] };
  if (type === 'counter') {
    new Counter({
      ...config,
      collect(this: Counter<string>) {
        this.reset();
        for (const [labels, v] of samples()) this.inc(labels, Math.max(0, v));
      },
    });
  } else {
    new Gauge({
      ...config,
      collect(this: Gauge<string>) {
        this.reset();
        for (const [labels, v] of samples()) this.set(labels, v);
      },
    });
  }
}

function histogramMetricName(h: HistogramDef): string {
  return `${METRIC_PREFIX}${h.name}_${h.unit}`;
}

export function createMetrics(stats: Stats): MetricsEndpoint {
  const registry = new Registry();
  const pool = stats.poolName;
  let view: StatsView | undefined;
  const current = (): StatsView => (view ??= stats.view());

  for (const s of POOL_STATS) {
    family(registry, metricName(s.name, s.type), s.type, s.description, ['pool'], () => [
      [{ pool }, current().pool[s.name]],
    ]);
  }
  for (const s of OUR_POOL_STATS) {
    family(registry, metricName(s.name, s.type), s.type, s.description, ['pool'], () => [[{ pool }, stats.ours[s.name]]]);
  }
  for (const s of SERVER_STATS) {
    family(registry, metricName(s.name, s.type), s.type, s.description, ['pool', 'server'], () =>
      current().servers.map((srv): Sample => [{ pool, server: srv.name }, srv.values[s.name]]));
  }
  for (const s of PEER_STATS) {
    family(registry, metricName(`dnode_peer_${s.name}`, s.type), s.type, s.description,
      ['pool', 'peer', 'dc', 'rack'], () =>
        current().peers.map((p): Sample => [{ pool, peer: p.name, dc: p.dc, rack: p.rack }, p.values[s.name]]));
  }
  for (const h of HISTOGRAMS) {
    new HistogramSummaryMetric(histogramMetricName(h), `${h.description} (${h.unit})`, registry,
      () => current().histograms[h.name]);
  }
  // Membership: one series per peer and gossip state it can be in (1 for the current one), phi and
  // heartbeat age. A peer that left the ring has no series.
  const STATES = ['NORMAL', 'DOWN', 'JOINING', 'LEAVING', 'STANDBY', 'WRITES_ONLY', 'RESUMING', 'UNKNOWN'];
  family(registry, `${METRIC_PREFIX}gossip_peer_state`, 'gauge', 'membership: 1 for the state this peer is in (gossip state names), 0 for the others',
    ['pool', 'peer', 'dc', 'rack', 'state'], () => stats.peerStates().flatMap((p) => {
      const states = STATES.includes(p.state) ? STATES : [...STATES, p.state];
      return states.map((st): Sample => [{ pool, peer: p.name, dc: p.dc, rack: p.rack, state: st }, st === p.state ? 1 : 0]);
    }));
  family(registry, `${METRIC_PREFIX}gossip_peer_phi`, 'gauge', 'failure detector: phi of this peer now (DOWN at phi_convict_threshold)',
    ['pool', 'peer', 'dc', 'rack'], () => stats.peerStates().map((p): Sample => [{ pool, peer: p.name, dc: p.dc, rack: p.rack }, p.phi]));
  family(registry, `${METRIC_PREFIX}gossip_peer_heartbeat_age_seconds`, 'gauge', 'seconds since this peer\'s last heartbeat (absent when never heard from)',
    ['pool', 'peer', 'dc', 'rack'], () => stats.peerStates().filter((p) => p.heartbeatAgeMs !== null)
      .map((p): Sample => [{ pool, peer: p.name, dc: p.dc, rack: p.rack }, p.heartbeatAgeMs! / 1000]));
  family(registry, `${METRIC_PREFIX}info`, 'gauge', 'node identity; always 1',
    ['service', 'source', 'version', 'rack', 'dc'], () => [[{ ...current().text }, 1]]);
  family(registry, `${METRIC_PREFIX}uptime_seconds`, 'gauge', 'seconds since start', [], () => [
    [{}, current().uptime],
  ]);
  for (const f of INFO_FIELDS) {
    if (f.source.kind !== 'gauge') continue;
    const name = f.name as InfoGaugeName;
    family(registry, `${METRIC_PREFIX}${name}`, 'gauge', f.description, [], () => [[{}, current().gauges[name]]]);
  }

  return {
    registry,
    contentType: registry.contentType,
    async render(): Promise<string> {
      view = stats.view();
      try {
        return await registry.metrics();
      } finally {
        view = undefined;
      }
    },
  };
}
