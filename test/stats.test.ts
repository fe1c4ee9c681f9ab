import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bucketHighestValue, bucketIndex, Histogram, HISTOGRAM_BUCKETS } from '../src/observe/histogram.js';
import {
  ALL_SCOPED_STATS,
  describeStats,
  HISTOGRAMS,
  INFO_FIELDS,
  PEER_STATS,
  POOL_STATS,
  SERVER_STATS,
} from '../src/observe/stats-table.js';
import { Stats, type StatsOptions } from '../src/observe/stats.js';
import { Prng } from './helpers/prng.js';

const SNAPSHOT_TEXT = readFileSync(new URL('./fixtures/reference/stats/snapshot.json', import.meta.url), 'utf8');
const NOW = 1_700_000_000_000;

function referenceStats(extra: Partial<StatsOptions> = {}): Stats {
  return new Stats({
    pool: 'dyn_o_mite', source: 'node-a', version: '0.0.1', rack: 'rack-1', dc: 'dc-1',
    now: () => NOW, startedAt: NOW - 42_000, ...extra,
  });
}

/** Exact nearest-rank percentile of a sorted array. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('the /info snapshot', () => {
  it('reproduces snapshot.json byte for byte, field order included', () => {
    const stats = referenceStats();
    stats.registerGauge('dyn_memory', () => 0);
    const ds = stats.server('redis_local');
    stats.pool.client_connections = 3;
    stats.pool.client_read_requests = 100;
    stats.pool.peer_ejected_at = 1_700_000_500;
    ds.server_ejected_at = 1_700_000_499;
    ds.read_requests = 100;
    ds.write_requests = 7;
    expect(JSON.stringify(stats.snapshot())).toBe(SNAPSHOT_TEXT.trim());
  });

  it('has exactly the reference keys in the reference order at every level', () => {
    const reference = JSON.parse(SNAPSHOT_TEXT) as Record<string, unknown>;
    const stats = referenceStats();
    stats.server('redis_local');
    const snap = stats.snapshot();
    expect(Object.keys(snap)).toEqual(Object.keys(reference));
    const pool = snap.dyn_o_mite as Record<string, unknown>;
    const refPool = reference.dyn_o_mite as Record<string, unknown>;
    expect(Object.keys(pool)).toEqual(Object.keys(refPool));
    expect(Object.keys(pool.redis_local as object)).toEqual(Object.keys(refPool.redis_local as object));
  });

  it('the tables list exactly the reference fields', () => {
    const reference = JSON.parse(SNAPSHOT_TEXT) as Record<string, Record<string, unknown>>;
    expect(INFO_FIELDS.map((f) => f.name)).toEqual(Object.keys(reference).filter((k) => k !== 'dyn_o_mite'));
    const pool = Object.keys(reference.dyn_o_mite!).filter((k) => k !== 'redis_local');
    expect(POOL_STATS.map((s) => s.name)).toEqual(pool);
    expect(SERVER_STATS.map((s) => s.name)).toEqual(Object.keys(reference.dyn_o_mite!.redis_local as object));
  });

  it('keys each datastore by its name, in creation order, after the pool stats', () => {
    const stats = referenceStats();
    stats.server('127.0.0.1:22122').read_requests = 5;
    stats.server('127.0.0.1:22123').write_requests = 6;
    const pool = stats.snapshot().dyn_o_mite as Record<string, unknown>;
    const keys = Object.keys(pool);
    expect(keys.slice(-2)).toEqual(['127.0.0.1:22122', '127.0.0.1:22123']);
    expect((pool['127.0.0.1:22122'] as Record<string, number>).read_requests).toBe(5);
    expect((pool['127.0.0.1:22123'] as Record<string, number>).write_requests).toBe(6);
  });

  it('reports uptime and timestamp from the clock, in seconds', () => {
    let now = NOW;
    const stats = referenceStats({ now: () => now });
    expect(stats.snapshot()).toMatchObject({ uptime: 42, timestamp: 1_700_000_000 });
    now += 8_999;
    expect(stats.snapshot()).toMatchObject({ uptime: 50, timestamp: 1_700_000_008 });
  });
});

describe('counters', () => {
  it('pool, server and peer counters move when incremented', () => {
    const stats = referenceStats();
    const ds = stats.server('127.0.0.1:6379');
    expect(stats.server('127.0.0.1:6379')).toBe(ds); // same handle every time
    stats.pool.client_read_requests++;
    stats.pool.client_read_requests++;
    stats.pool.forward_error += 3;
    ds.read_requests++;
    ds.read_request_bytes += 120;
    ds.redis_req_get++;
    const view = stats.view();
    expect(view.pool.client_read_requests).toBe(2);
    expect(view.pool.forward_error).toBe(3);
    expect(view.servers[0]!.values).toMatchObject({ read_requests: 1, read_request_bytes: 120, redis_req_get: 1 });
  });

  it('every table row is a zeroed field of its counter object', () => {
    const stats = referenceStats();
    expect(Object.keys(stats.pool)).toEqual(POOL_STATS.map((s) => s.name));
    expect(Object.keys(stats.server('x:1'))).toEqual(SERVER_STATS.map((s) => s.name));
    expect(Object.keys(stats.peer('p:1'))).toEqual(PEER_STATS.map((s) => s.name));
    expect(stats.pool).toEqual(Object.fromEntries(POOL_STATS.map((s) => [s.name, 0])));
  });

  it('per-peer stats roll up into the local or remote pool stat', () => {
    const stats = referenceStats();
    const near = stats.peer('10.0.0.2:8101', { dc: 'dc-1', rack: 'rack-2', remote: false });
    const far = stats.peer('10.1.0.2:8101', { dc: 'dc-2', rack: 'rack-1', remote: true });
    near.requests += 4;
    far.requests += 6;
    near.timedout += 1;
    far.timedout += 2;
    far.out_queue = 7;
    near.ejected_at = 1_700_000_100;
    far.ejected_at = 1_700_000_200;
    stats.pool.peer_requests = 10; // a direct pool increment still counts
    const pool = stats.view().pool;
    expect(pool.peer_requests).toBe(20);
    expect(pool.peer_timedout).toBe(1);
    expect(pool.remote_peer_timedout).toBe(2);
    expect(pool.remote_peer_out_queue).toBe(7);
    expect(pool.peer_out_queue).toBe(0);
    expect(pool.peer_ejected_at).toBe(1_700_000_200); // timestamps: the latest, not a sum
  });

  it('removing a peer keeps the pool counters and drops its gauges', () => {
    const stats = referenceStats();
    const p = stats.peer('10.0.0.2:8101', { dc: 'dc-1', rack: 'rack-2', remote: false });
    p.requests = 9;
    p.connections = 2;
    p.ejected_at = 123;
    stats.removePeer('10.0.0.2:8101');
    const view = stats.view();
    expect(view.peers).toHaveLength(0);
    expect(view.pool).toMatchObject({ peer_requests: 9, peer_connections: 0, peer_ejected_at: 123 });
  });

  it('registered gauges are read at snapshot time and can be unregistered', () => {
    const stats = referenceStats();
    let conns = 5;
    let queue = 11;
    const unregister = stats.registerGauge('client_connections', () => conns);
    stats.registerGauge('alloc_mbufs', () => 64);
    stats.registerServerGauge('127.0.0.1:6379', 'in_queue', () => queue);
    const p = stats.peer('10.0.0.2:8101', { dc: 'dc-1', rack: 'rack-2', remote: false });
    stats.registerPeerGauge('10.0.0.2:8101', 'out_queue', () => 3);
    let snap = stats.snapshot();
    let pool = snap.dyn_o_mite as Record<string, Record<string, number> | number>;
    expect(snap.alloc_mbufs).toBe(64);
    expect(pool.client_connections).toBe(5);
    expect(pool.peer_out_queue).toBe(3);
    expect((pool['127.0.0.1:6379'] as Record<string, number>).in_queue).toBe(11);
    conns = 6;
    queue = 12;
    snap = stats.snapshot();
    pool = snap.dyn_o_mite as Record<string, Record<string, number> | number>;
    expect(pool.client_connections).toBe(6);
    expect((pool['127.0.0.1:6379'] as Record<string, number>).in_queue).toBe(12);
    unregister();
    stats.pool.client_connections = 1;
    expect(stats.view().pool.client_connections).toBe(1);
    expect(p.out_queue).toBe(0);
    expect(() => stats.registerPeerGauge('nobody:1', 'out_queue', () => 1)).toThrow(/unknown peer/);
  });

  it('a throwing or non-finite gauge reads as 0 instead of breaking /info', () => {
    const stats = referenceStats();
    stats.registerGauge('free_msgs', () => {
      throw new Error('boom');
    });
    stats.registerGauge('alloc_msgs', () => Number.NaN);
    expect(stats.snapshot()).toMatchObject({ free_msgs: 0, alloc_msgs: 0 });
  });

  it('dyn_memory defaults to the max resident set size in KB', () => {
    const snap = referenceStats().snapshot();
    expect(snap.dyn_memory).toBeGreaterThan(1000);
  });
});

describe('histograms in the snapshot', () => {
  it('latency, payload, server latency and queue histograms feed their /info fields', () => {
    const stats = referenceStats();
    for (let v = 1; v <= 100; v++) {
      stats.recordLatency(v);
      stats.recordPayload(v * 10);
      stats.recordServerLatency(2 * v);
      stats.record('client_out_queue', v);
    }
    const snap = stats.snapshot();
    expect(snap).toMatchObject({
      latency_max: 100, latency_999th: 100, latency_99th: 99, latency_95th: 95, latency_mean: 50,
      payload_size_max: 1000, average_server_latency: 101, client_out_queue_99: 99,
    });
    expect(snap.payload_size_95th).toBeGreaterThanOrEqual(950);
    expect(snap.payload_size_95th).toBeLessThanOrEqual(950 * (1 + 1 / 64));
    expect(snap['99_server_latency']).toBeGreaterThanOrEqual(198);
  });

  it('resetHistograms empties every histogram', () => {
    const stats = referenceStats();
    for (const h of HISTOGRAMS) stats.record(h.name, 500);
    stats.resetHistograms();
    const view = stats.view();
    for (const h of HISTOGRAMS) expect(view.histograms[h.name].count).toBe(0);
  });

  it('a view taken after the window reports the window, then starts a new one', () => {
    let now = NOW;
    const stats = referenceStats({ now: () => now, histogramWindowMs: 60_000 });
    stats.recordLatency(700);
    now += 30_000;
    expect(stats.snapshot().latency_max).toBe(700);
    now += 30_000;
    expect(stats.snapshot().latency_max).toBe(700); // window over: reported, then reset
    expect(stats.snapshot().latency_max).toBe(0);
  });

  it('histogramWindowMs 0 never resets', () => {
    let now = NOW;
    const stats = referenceStats({ now: () => now, histogramWindowMs: 0 });
    stats.recordLatency(700);
    now += 10 * 3_600_000;
    stats.snapshot();
    expect(stats.snapshot().latency_max).toBe(700);
  });
});

describe('Histogram', () => {
  it('counts values below 128 exactly', () => {
    const h = new Histogram();
    for (let v = 0; v < 128; v++) h.record(v);
    for (let v = 0; v < 128; v++) expect(h.quantile((v + 1) / 128)).toBe(v);
  });

  it('percentiles of 1..10000 are within 1/64 above the exact value', () => {
    const h = new Histogram();
    for (let v = 1; v <= 10_000; v++) h.record(v);
    const s = h.summary();
    for (const [got, want] of [[s.p50, 5000], [s.p95, 9500], [s.p99, 9900], [s.p999, 9990]] as const) {
      expect(got).toBeGreaterThanOrEqual(want);
      expect(got).toBeLessThanOrEqual(want * (1 + 1 / 64));
    }
    expect(s).toMatchObject({ count: 10_000, max: 10_000, min: 1, sum: 50_005_000, mean: 5000.5 });
  });

  it('matches exact percentiles of a seeded exponential distribution', () => {
    const rng = new Prng(0x5eed);
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const v = Math.floor(-Math.log(1 - rng.float()) * 2000); // mean ~2 ms in usec
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99, 0.999]) {
      const want = exactQuantile(values, q);
      const got = h.quantile(q);
      expect(got).toBeGreaterThanOrEqual(want);
      expect(got).toBeLessThanOrEqual(Math.max(want * (1 + 1 / 64), want + 1));
    }
    expect(h.summary().p99).toBe(h.quantile(0.99));
    expect(h.max).toBe(values[values.length - 1]);
  });

  it('a constant distribution reports the constant everywhere', () => {
    const h = new Histogram();
    for (let i = 0; i < 1000; i++) h.record(12_345);
    expect(h.summary()).toMatchObject({ p50: 12_345, p95: 12_345, p99: 12_345, p999: 12_345, max: 12_345, mean: 12_345 });
  });

  it('handles values past 2^32, fractions, negatives and NaN', () => {
    const h = new Histogram();
    h.record(2 ** 40 + 12_345);
    expect(h.max).toBe(2 ** 40 + 12_345);
    expect(h.quantile(1)).toBe(2 ** 40 + 12_345);
    h.record(7.9);
    h.record(-5);
    h.record(Number.NaN);
    h.record(Number.POSITIVE_INFINITY);
    expect(h.count).toBe(5);
    expect(h.quantile(0.2)).toBe(0);
    expect(h.quantile(0.6)).toBe(7);
    expect(h.max).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('bucket layout: monotonic, contiguous, every value within its bucket (seeded property)', () => {
    const rng = new Prng(42, 'scaled');
    const bad: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.floor(rng.float() * 2 ** rng.int(53));
      const b = bucketIndex(v);
      const ok = b >= 0 && b < HISTOGRAM_BUCKETS && bucketHighestValue(b) >= v
        && (b === 0 || bucketHighestValue(b - 1) < v)
        && (v < 128 || bucketHighestValue(b) - v <= v / 64);
      if (!ok) bad.push(`${v} -> ${b}`);
    }
    for (let b = 1; b < HISTOGRAM_BUCKETS; b++) {
      if (bucketIndex(bucketHighestValue(b - 1) + 1) !== b) bad.push(`bucket ${b} not contiguous`);
    }
    expect(bad).toEqual([]);
    expect(bucketHighestValue(HISTOGRAM_BUCKETS - 1)).toBe(2 ** 53 - 1);
  });

  it('reset empties it', () => {
    const h = new Histogram();
    for (let v = 0; v < 1000; v++) h.record(v * 1000);
    h.reset();
    expect(h.summary()).toMatchObject({ count: 0, max: 0, p99: 0, mean: 0 });
    h.record(3);
    expect(h.summary()).toMatchObject({ count: 1, min: 3, max: 3, p50: 3 });
  });
});

describe('the stats table and -D', () => {
  it('names are unique within each scope and peer roll-ups match their pool stat type', () => {
    for (const table of [POOL_STATS, SERVER_STATS, PEER_STATS]) {
      const names = table.map((s) => s.name);
      expect(new Set(names).size).toBe(names.length);
    }
    for (const p of PEER_STATS) {
      for (const target of [p.rollup.local, p.rollup.remote]) {
        const pool = POOL_STATS.find((s) => s.name === target)!;
        expect(pool, `${p.name} -> ${target}`).toBeDefined();
        const compatible = pool.type === p.type || (pool.type === 'gauge' && p.type === 'counter');
        expect(compatible, `${p.name} (${p.type}) -> ${target} (${pool.type})`).toBe(true);
      }
    }
  });

  it('describes every table entry with its description', () => {
    const text = describeStats();
    const lines = text.split('\n');
    for (const s of [...ALL_SCOPED_STATS, ...INFO_FIELDS]) {
      expect(lines).toContain(`  ${s.name.padEnd(20)}"${s.description}"`);
    }
  });

  it('starts with Netflix\'s two groups in Netflix\'s layout', () => {
    const lines = describeStats().split('\n');
    expect(lines[0]).toBe('pool stats:');
    expect(lines[1]).toBe('  client_eof          "# eof on client connections"');
    expect(lines[4]).toBe('  client_read_requests"# client read requests"');
    expect(lines[POOL_STATS.length]).toBe('  stats_count         "# stats request"');
    expect(lines[POOL_STATS.length + 1]).toBe('');
    expect(lines[POOL_STATS.length + 2]).toBe('server stats:');
    expect(lines[POOL_STATS.length + 3]).toBe('  server_eof          "# eof on server connections"');
    expect(lines[POOL_STATS.length + 2 + SERVER_STATS.length]).toBe('  redis_req_other     "# Redis other"');
  });
});
