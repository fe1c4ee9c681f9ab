// The cluster side of a node: the topology snapshot, one PeerConn per peer, the dnode listener for
// requests from peers, and the ClusterDispatcher that routes client requests over all of them.
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import type { Flusher } from '../net/flusher.js';
import type { ClusterOptions, NodeOptions } from '../node.js';
import type { Stats } from '../observe/stats.js';
import type { NodeControl } from '../control.js';
import type { ClusterDescription } from '../observe/http.js';
import { buildTopology, type Topology } from '../route/topology.js';
import { describe } from '../route/planner.js';
import type { Backend } from '../store/backend.js';
import { ClusterDispatcher } from '../dispatch/cluster.js';
import { ReadRepair } from '../repair/read-repair.js';
import { PeerConn } from './peer-conn.js';
import { startDnodeListener, type DnodeListener } from './dnode-listener.js';

export interface RunningCluster {
  readonly dispatcher: ClusterDispatcher;
  /** Rewrites replicas that diverged on a quorum read (its counts, its rate limit). */
  readonly readRepair: ReadRepair;
  readonly topology: () => Topology;
  readonly peers: readonly (PeerConn | undefined)[];
  /** The dnode port actually bound. */
  readonly dynPort: number;
  describe(): ClusterDescription;
  close(): Promise<void>;
}

export interface ClusterDeps {
  core: Core;
  options: NodeOptions;
  cluster: ClusterOptions;
  backend: Backend & { available?: boolean };
  flusher: Flusher;
  log: Logger;
  stats: Stats;
  protocol: 'redis' | 'memcache';
  control: NodeControl;
}

export async function startCluster(d: ClusterDeps): Promise<RunningCluster> {
  const { core, options, cluster, log, stats } = d;
  const topology = buildTopology(
    { host: cluster.dynListen.host, port: cluster.dynListen.port, dc: options.datacenter, rack: options.rack, tokens: options.tokens ?? [] },
    cluster.seeds,
  );
  for (const w of topology.warnings) log.warn({ warning: w }, 'topology');
  refuseUnencryptedLinks(topology, cluster.secureServerOption ?? 'none');
  const current = (): Topology => topology;

  const peers: (PeerConn | undefined)[] = [undefined];
  for (let n = 1; n < topology.nodes.length; n++) {
    const node = topology.nodes[n]!;
    const name = `${node.host}:${node.port}`;
    const counters = stats.peer(name, { dc: topology.dcs[node.dc]!.name, rack: topology.racks[node.rack]!.name, remote: !node.isLocalDc });
    peers.push(new PeerConn(core, {
      host: node.host,
      port: node.port,
      dc: topology.dcs[node.dc]!.name,
      rack: topology.racks[node.rack]!.name,
      sameDc: node.isLocalDc,
      connections: node.isLocalDc ? cluster.localPeerConnections : cluster.remotePeerConnections,
      // A request sent to one peer alone (a DC_ONE read, a single-rack write) has no fan-out deadline:
      // the link's timeout is what the client waits. Netflix times peer requests out after
      // `timeout` + 200 ms (same DC) or + 5000 ms (remote DC); dyn_read_timeout / dyn_write_timeout
      // (default 10 s) may only shorten that. (It was max(timeout, dyn_*): a hung peer held a DC_ONE
      // read for 10 s with `timeout: 1500`.)
      timeoutMs: Math.min(options.timeoutMs, cluster.peerReadTimeoutMs) + (node.isLocalDc ? 200 : 5000),
      writeTimeoutMs: Math.min(options.timeoutMs, cluster.peerWriteTimeoutMs) + (node.isLocalDc ? 200 : 5000),
      maxMessage: options.maxMessageBytes,
      preconnect: true,
    }, d.flusher, log, {
      onRequest: (_p, bytes) => {
        counters.requests++;
        counters.request_bytes += bytes;
      },
      onResponse: (_p, _us, bytes) => {
        counters.responses++;
        counters.response_bytes += bytes;
      },
      onEof: () => counters.eof++,
      onError: () => counters.err++,
      onTimeout: (_p, n) => {
        counters.timedout++;
        counters.timedout_requests += n;
      },
    }));
    // peer_connections (rolled up from each peer's `connections`): links up right now. PeerConn
    // exposes its state, not a link count: every link when it is 'up', else at least one when any is.
    const pc = peers[n]!;
    const links = node.isLocalDc ? cluster.localPeerConnections : cluster.remotePeerConnections;
    stats.registerPeerGauge(name, 'connections', () => (pc.state === 'up' ? links : pc.up ? 1 : 0));
    stats.registerPeerGauge(name, 'out_queue', () => pc.inflight());
  }

  const dispatcher = new ClusterDispatcher({
    core,
    local: d.backend,
    protocol: d.protocol,
    topology: current,
    peer: (n) => peers[n],
    localUp: () => d.backend.available ?? true,
    timeoutMs: () => options.timeoutMs,
    onNonQuorum: (isWrite) => {
      if (isWrite) stats.pool.client_non_quorum_w_responses++;
      else stats.pool.client_non_quorum_r_responses++;
    },
    onFragments: (n) => {
      stats.pool.fragments += n;
    },
    readRepairs: () => d.control.readRepairs,
  });
  const readRepair = new ReadRepair({
    core, local: d.backend, peer: (n) => peers[n], enabled: () => d.control.readRepairs, logger: log, protocol: d.protocol,
  });
  dispatcher.fanout.divergence = readRepair;
  const rc = readRepair.counts;
  stats.sourceOurs('read_repair_divergences', () => rc.divergences);
  stats.sourceOurs('read_repairs', () => rc.repaired);
  stats.sourceOurs('read_repair_replicas', () => rc.replicas);
  stats.sourceOurs('read_repair_skipped', () => rc.skipped);
  stats.sourceOurs('read_repair_failed', () => rc.failed);
  dispatcher.start();

  let listener: DnodeListener | undefined;
  try {
    listener = await startDnodeListener({
      core,
      listen: cluster.dynListen,
      flusher: d.flusher,
      logger: log,
      maxMessage: options.maxMessageBytes,
      protocol: d.protocol,
      handler: {
        onPeerRequest: (conn, seq, type, req) => dispatcher.onPeerRequest(conn, seq, type, req, conn.id),
      },
    });
  } catch (err) {
    dispatcher.stop();
    throw err;
  }
  const dnodeListener = listener;
  stats.registerGauge('dnode_client_connections', () => dnodeListener.connections());
  await Promise.all(peers.map((p) => p?.start()));
  log.info({ dynListen: `${cluster.dynListen.host}:${listener.port}`, peers: peers.length - 1, dcs: topology.dcs.length, racks: topology.racks.length }, 'cluster started');

  return {
    dispatcher,
    readRepair,
    topology: current,
    peers,
    dynPort: listener.port,
    describe: () => describe(current()),
    async close() {
      readRepair.stop();
      dispatcher.stop();
      await listener?.close();
      await Promise.all(peers.map((p) => p?.close()));
    },
  };
}

/**
 * Peer encryption (Netflix's AES/RSA dnode handshake) is not implemented yet. A configuration that
 * asks for it on a link this node actually has must not silently run in clear text: refuse to
 * start, naming the option and the first such peer. Settings that encrypt no existing link
 * (e.g. `datacenter` in a one-DC cluster, as most Netflix sample configs have) are fine.
 */
function refuseUnencryptedLinks(t: Topology, option: 'none' | 'rack' | 'datacenter' | 'all'): void {
  if (option === 'none') return;
  const self = t.nodes[0]!;
  for (let n = 1; n < t.nodes.length; n++) {
    const p = t.nodes[n]!;
    const needs = option === 'all' || (option === 'datacenter' && p.dc !== self.dc) || (option === 'rack' && (p.rack !== self.rack || p.dc !== self.dc));
    if (needs) {
      throw new Error(`secure_server_option: ${option} asks for an encrypted link to peer ${p.host}:${p.port}, but peer encryption is not supported by this version; use secure_server_option: none (or run the peers in one ${option === 'datacenter' ? 'datacenter' : 'rack'})`);
    }
  }
}
