/**
 * The live cluster page of the stats port: `GET /dashboard` (the page) and `GET /dashboard/data`
 * (the JSON it polls once a second).
 *
 * The page is one self-contained HTML document: inline style, inline script, the ring drawn as SVG
 * by that script. It loads nothing else (no CDN, no font, no other node), so it works on a host with
 * no outside network and behind any firewall that lets the stats port through.
 *
 * What one node can honestly show is its own view of the cluster:
 *   - the ring of every datacenter as a circle, one concentric band per rack, each node's token range
 *     an arc from the previous token of its rack (exclusive) to its own token;
 *   - each node's state: the gossip state when `/cluster_describe` carries one, else this node's
 *     link to it (`UP` with open peer connections, `DOWN` with none); this node itself is its own
 *     state (`/state/get_state`);
 *   - throughput: this node's client requests per second and latency percentiles, and per peer the
 *     requests per second this node sends it and the errors and timeouts on that link;
 *   - hints pending and read repairs done.
 * Rates are computed by the page from successive counter samples, so the data endpoint stays a plain
 * read of the counters.
 */

import type { ClusterDescription } from './http.js';
import type { OurPoolStatName } from './stats-table.js';
import type { StatsView } from './stats.js';

/** One server of the ring as the page draws it. */
export interface DashboardServer {
  /** host:port of its dnode listener: unique, where `name` (Netflix's: often the host) may not be. */
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly dc: string;
  readonly rack: string;
  /** True for the node serving the page. */
  readonly self: boolean;
  /** NORMAL / DOWN / ... from gossip; UP / DOWN from the peer link; this node's own state for self. */
  readonly state: string;
  /** Where `state` came from. */
  readonly stateSource: 'self' | 'gossip' | 'link';
  /** Counters of this node's link to the server (absent for self). */
  readonly link?: {
    readonly requests: number;
    readonly responses: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly connections: number;
  };
}

/** `GET /dashboard/data`. */
export interface DashboardData {
  readonly node: { readonly dc: string; readonly rack: string; readonly state: string; readonly source: string };
  readonly uptime: number;
  /** Milliseconds since the epoch when the counters were read. */
  readonly sampledAt: number;
  readonly client: {
    readonly requests: number;
    readonly errors: number;
    readonly connections: number;
    readonly latencyUs: { readonly p50: number; readonly p99: number; readonly max: number };
  };
  readonly hintsPending: number;
  readonly readRepairs: number;
  readonly servers: readonly DashboardServer[];
}

type DescribedServer = ClusterDescription['dcs'][number]['racks'][number]['servers'][number] & { state?: string };

/**
 * Builds the data endpoint's answer from the stats view (Netflix's counters), our own counters
 * (hints, read repairs), the ring description and the node state.
 */
export function dashboardData(
  view: StatsView,
  ours: Readonly<Record<OurPoolStatName, number>>,
  ring: ClusterDescription,
  nodeState: string,
  now: number,
): DashboardData {
  const peers = new Map(view.peers.map((p) => [p.name, p.values]));
  const { text, pool } = view;
  const servers: DashboardServer[] = [];
  for (const dc of ring.dcs) {
    for (const rack of dc.racks) {
      for (const s of rack.servers as readonly DescribedServer[]) {
        const link = peers.get(`${s.host}:${s.port}`) ?? peers.get(s.name);
        const self = link === undefined && dc.name === text.dc && rack.name === text.rack;
        const base = { id: `${s.host}:${s.port}`, name: s.name, host: s.host, port: s.port, token: String(s.token), dc: dc.name, rack: rack.name, self };
        if (self) {
          servers.push({ ...base, state: nodeState, stateSource: 'self' });
          continue;
        }
        const counters = link === undefined ? undefined : {
          requests: link.requests ?? 0,
          responses: link.responses ?? 0,
          errors: (link.err ?? 0) + (link.forward_error ?? 0),
          timeouts: link.timedout_requests ?? 0,
          connections: link.connections ?? 0,
        };
        const gossip = typeof s.state === 'string' && s.state !== '' ? s.state : undefined;
        servers.push({
          ...base,
          state: gossip ?? (counters !== undefined && counters.connections > 0 ? 'UP' : 'DOWN'),
          stateSource: gossip !== undefined ? 'gossip' : 'link',
          ...(counters === undefined ? {} : { link: counters }),
        });
      }
    }
  }
  const latency = view.histograms.latency;
  return {
    node: { dc: text.dc, rack: text.rack, state: nodeState, source: text.source },
    uptime: view.uptime,
    sampledAt: now,
    client: {
      requests: (pool.client_read_requests ?? 0) + (pool.client_write_requests ?? 0),
      errors: pool.client_err ?? 0,
      connections: pool.client_connections ?? 0,
      latencyUs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    },
    hintsPending: ours.hints_pending,
    readRepairs: ours.read_repairs,
    servers,
  };
}
