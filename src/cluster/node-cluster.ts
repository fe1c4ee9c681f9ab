// The cluster side of a node: the topology snapshot, one PeerConn per peer, the dnode listener for
// requests from peers, and the ClusterDispatcher that routes client requests over all of them.
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import type { Flusher } from '../net/flusher.js';
import type { ClusterOptions, NodeOptions } from '../conf/options.js';
import type { Stats } from '../observe/stats.js';
import type { NodeControl } from '../control.js';
import type { ClusterDescription } from '../observe/http.js';
import { buildTopology, type Topology } from '../route/topology.js';
import { describe } from '../route/planner.js';
import type { Backend } from '../dispatch/request.js';
import { ClusterDispatcher } from '../dispatch/cluster.js';
import { ReadRepair } from '../repair/read-repair.js';
import { DEFAULT_HINTS, HintStore } from '../repair/hints.js';
import { PeerConn } from './peer-conn.js';
import { Gossip, gossipStateOf, GOSSIP_STATE } from './gossip.js';
import { startupSeeds } from './seeds.js';
import type { PeerTransport } from '../net/transport.js';
import type { PeerSpec } from '../route/topology.js';
import { startDnodeListener, type DnodeListener } from './dnode-listener.js';
import { linkSecured, loadPemKey, type DnodeKeys } from '../crypto/dnode-crypto.js';

export interface RunningCluster {
  readonly dispatcher: ClusterDispatcher;
  /** Rewrites replicas that diverged on a quorum read (its counts, its rate limit). */
  readonly readRepair: ReadRepair;
  /** Hinted handoff: writes kept for unreachable replicas, replayed when they are back. */
  readonly hints: HintStore;
  readonly topology: () => Topology;
  readonly peers: readonly (PeerConn | undefined)[];
  /** enable_gossip: the gossip rounds and the per-peer state table; undefined when gossip is off. */
  readonly gossip: Gossip | undefined;
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
  /** Peer links: TCP unless an embedding program passes its own. */
  transport?: PeerTransport;
  /** The peers, instead of dyn_seed_provider (an embedding program's own membership source). */
  seeds?: () => Promise<readonly PeerSpec[]>;
  /** Membership and repair events for an embedding program (each called only on the change). */
  events?: ClusterEvents;
}

/** What changed, for listeners outside the node (src/embed). Not on the request path. */
export interface ClusterEvents {
  peerState?(node: number, up: boolean, why: string): void;
  repaired?(replicas: number): void;
  hintReplayed?(node: number): void;
}

export async function startCluster(d: ClusterDeps): Promise<RunningCluster> {
  const topology = await resolveTopology(d);
  const crypto = loadPeerKeys(topology, d.cluster, d.log);
  const peers: (PeerConn | undefined)[] = [undefined];
  const links: PeerLinks = { peers, gossip: undefined };
  const hints = makeHints(d, topology, peers);
  for (let n = 1; n < topology.nodes.length; n++) peers.push(connectPeer(d, topology, n, crypto, hints, links));
  // enable_gossip (off by default): peers' state from GOSSIP_SYN rounds; a DOWN peer is not `up`.
  const gossip = d.cluster.gossip?.enabled ? makeGossip(topology, d.cluster.gossip, peers, hints, d) : undefined;
  links.gossip = gossip;
  const current = (): Topology => topology;
  const dispatcher = makeDispatcher(d, current, peers);
  const readRepair = makeReadRepair(d, peers);
  dispatcher.fanout.divergence = readRepair;
  if (hints.enabled) dispatcher.fanout.hints = hints;
  registerRepairStats(d.stats, readRepair, hints);
  hints.start();
  dispatcher.start();
  const listener = await startListener(d, dispatcher, gossip, crypto?.keys, () => {
    gossip?.stop();
    dispatcher.stop();
    hints.stop();
  });
  d.stats.registerGauge('dnode_client_connections', () => listener.connections());
  await Promise.all(peers.map((p) => p?.start()));
  gossip?.start();
  d.log.info({ dynListen: `${d.cluster.dynListen.host}:${listener.port}`, peers: peers.length - 1, dcs: topology.dcs.length, racks: topology.racks.length }, 'cluster started');
  return {
    dispatcher,
    readRepair,
    hints,
    topology: current,
    peers,
    gossip,
    dynPort: listener.port,
    describe: () => describe(current()),
    async close() {
      // GOSSIP_SHUTDOWN first, while the links are up: the peers mark this node DOWN at once.
      gossip?.shutdown();
      readRepair.stop();
      dispatcher.stop();
      await listener.close();
      await Promise.all(peers.map((p) => p?.close()));
      // Last: writes failed by the closing links above are still hinted (and logged when durable).
      hints.stop();
    },
  };
}

/** The peers every PeerConn's hooks reach; gossip is set once the links exist (it sends over them). */
interface PeerLinks {
  readonly peers: readonly (PeerConn | undefined)[];
  gossip: Gossip | undefined;
}

type PeerKeys = ReturnType<typeof loadPeerKeys>;

/** This node and its peers: dyn_seed_provider is resolved once, before the topology (see seeds.ts for the failure policy). */
async function resolveTopology(d: ClusterDeps): Promise<Topology> {
  const { options, cluster, log } = d;
  const self = { host: cluster.dynListen.host, port: cluster.dynListen.port, dc: options.datacenter, rack: options.rack, tokens: options.tokens ?? [] };
  const seeds = d.seeds ? [...await d.seeds()] : await startupSeeds(cluster.seedProvider ?? 'simple_provider', { seeds: cluster.seeds, self }, process.env, cluster.seedProviderOptions ?? {}, log);
  const topology = buildTopology(self, seeds);
  for (const w of topology.warnings) log.warn({ warning: w }, 'topology');
  return topology;
}

/** Hinted handoff over the topology's nodes (node 0, this node, is never hinted). */
function makeHints(d: ClusterDeps, topology: Topology, peers: readonly (PeerConn | undefined)[]): HintStore {
  const h = d.cluster.hints;
  return new HintStore({
    core: d.core,
    peer: (n) => peers[n],
    peerAddress: (n) => (n === 0 ? undefined : { host: topology.nodes[n]!.host, port: topology.nodes[n]!.port }),
    nodes: topology.nodes.length,
    maxBytes: h?.maxBytes ?? DEFAULT_HINTS.maxBytes,
    ttlMs: h?.ttlMs ?? DEFAULT_HINTS.ttlMs,
    dir: h?.dir,
    logger: d.log,
    onReplayed: d.events?.hintReplayed,
  });
}

/** The links to peer n, with its stats counters and gauges. */
function connectPeer(d: ClusterDeps, topology: Topology, n: number, crypto: PeerKeys, hints: HintStore, links: PeerLinks): PeerConn {
  const { options, cluster } = d;
  const node = topology.nodes[n]!;
  const name = `${node.host}:${node.port}`;
  const dc = topology.dcs[node.dc]!.name;
  const rack = topology.racks[node.rack]!.name;
  const connections = node.isLocalDc ? cluster.localPeerConnections : cluster.remotePeerConnections;
  const counters = d.stats.peer(name, { dc, rack, remote: !node.isLocalDc });
  const peer = new PeerConn(d.core, {
    host: node.host,
    port: node.port,
    dc,
    rack,
    sameDc: node.isLocalDc,
    connections,
    // A request sent to one peer alone (a DC_ONE read, a single-rack write) has no fan-out deadline:
    // the link's timeout is what the client waits. Netflix times peer requests out after
    // `timeout` + 200 ms (same DC) or + 5000 ms (remote DC); dyn_read_timeout / dyn_write_timeout
    // (default 10 s) may only shorten that. (It was max(timeout, dyn_*): a hung peer held a DC_ONE
    // read for 10 s with `timeout: 1500`.)
    timeoutMs: Math.min(options.timeoutMs, cluster.peerReadTimeoutMs) + (node.isLocalDc ? 200 : 5000),
    writeTimeoutMs: Math.min(options.timeoutMs, cluster.peerWriteTimeoutMs) + (node.isLocalDc ? 200 : 5000),
    maxMessage: options.maxMessageBytes,
    preconnect: true,
    crypto: crypto?.secured(n) ? crypto.keys : undefined,
    mbufSize: d.options.mbufSize,
    transport: d.transport,
  }, d.flusher, d.log, {
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
    onTimeout: (_p, count) => {
      counters.timedout++;
      counters.timedout_requests += count;
    },
    onLinkUp: (p) => {
      hints.onPeerUp(n);
      d.events?.peerState?.(n, p.up, 'link up');
    },
    // The link's direct signal for the failure detector: refused / reset / closed convicts a peer
    // that gossips; a timed-out request only one whose heartbeat is late as well.
    onLinkDown: (p, _link, why) => {
      links.gossip?.table.linkFailure(n, why, why === 'request timed out');
      if (!p.up) d.events?.peerState?.(n, false, why);
    },
    onOther: (_p, type, _id, payload) => links.gossip?.onMessage(type, payload),
  });
  // peer_connections (rolled up from each peer's `connections`): links up right now. PeerConn
  // exposes its state, not a link count: every link when it is 'up', else at least one when any is.
  d.stats.registerPeerGauge(name, 'connections', () => (peer.state === 'up' ? connections : peer.up ? 1 : 0));
  d.stats.registerPeerGauge(name, 'out_queue', () => peer.inflight());
  return peer;
}

function makeDispatcher(d: ClusterDeps, topology: () => Topology, peers: readonly (PeerConn | undefined)[]): ClusterDispatcher {
  const { stats, options } = d;
  return new ClusterDispatcher({
    core: d.core,
    local: d.backend,
    protocol: d.protocol,
    topology,
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
}

function makeReadRepair(d: ClusterDeps, peers: readonly (PeerConn | undefined)[]): ReadRepair {
  return new ReadRepair({
    core: d.core, local: d.backend, peer: (n) => peers[n], enabled: () => d.control.readRepairs, logger: d.log, protocol: d.protocol,
    onRepair: d.events?.repaired,
  });
}

/** The read-repair and hinted-handoff counts in the pool's stats. */
function registerRepairStats(stats: Stats, readRepair: ReadRepair, hints: HintStore): void {
  const rc = readRepair.counts;
  stats.sourceOurs('read_repair_divergences', () => rc.divergences);
  stats.sourceOurs('read_repairs', () => rc.repaired);
  stats.sourceOurs('read_repair_replicas', () => rc.replicas);
  stats.sourceOurs('read_repair_skipped', () => rc.skipped);
  stats.sourceOurs('read_repair_failed', () => rc.failed);
  stats.sourceOurs('hints_stored', () => hints.counts.stored);
  stats.sourceOurs('hints_replayed', () => hints.counts.replayed);
  stats.sourceOurs('hints_dropped_bytes', () => hints.counts.droppedBytes);
  stats.sourceOurs('hints_dropped_ttl', () => hints.counts.droppedTtl);
  stats.sourceOurs('hints_dropped_other', () => hints.counts.droppedOther);
  stats.sourceOurs('hints_pending', () => hints.pending);
  stats.sourceOurs('hints_pending_bytes', () => hints.pendingBytes);
}

/** The dnode listener for requests and gossip from peers; when it cannot start, `unwind` stops what runs. */
async function startListener(d: ClusterDeps, dispatcher: ClusterDispatcher, gossip: Gossip | undefined, keys: DnodeKeys | undefined, unwind: () => void): Promise<DnodeListener> {
  try {
    return await startDnodeListener({
      core: d.core,
      listen: d.cluster.dynListen,
      transport: d.transport,
      flusher: d.flusher,
      logger: d.log,
      maxMessage: d.options.maxMessageBytes,
      protocol: d.protocol,
      crypto: keys,
      mbufSize: d.options.mbufSize,
      handler: {
        onPeerRequest: (conn, seq, type, req) => dispatcher.onPeerRequest(conn, seq, type, req, conn.id),
        onOther: gossip === undefined ? undefined : (_c, type, _id, payload) => gossip.onMessage(type, payload),
      },
    });
  } catch (err) {
    unwind();
    throw err;
  }
}

/** Builds the gossip rounds over the topology's nodes; transitions set PeerConn.gossipDown. */
function makeGossip(t: Topology, g: NonNullable<ClusterOptions['gossip']>, peers: readonly (PeerConn | undefined)[], hints: HintStore, d: ClusterDeps): Gossip {
  const intervalMs = g.intervalMs;
  const member = (n: number): { node: number; dc: string; rack: string; token: string; address: string } => {
    const node = t.nodes[n]!;
    // Netflix's host id carries one token; the address is the host (every node on its own dyn port).
    return { node: n, dc: t.dcs[node.dc]!.name, rack: t.racks[node.rack]!.name, token: String(node.tokens[0] ?? 0), address: node.host };
  };
  const others: number[] = [];
  for (let n = 1; n < t.nodes.length; n++) others.push(n);
  d.log.info({ intervalMs, peers: others.length, phiThreshold: g.phiThreshold, phiWindow: g.phiWindow }, 'gossip enabled');
  return new Gossip({
    self: member(0),
    peers: others.map(member),
    intervalMs,
    phiThreshold: g.phiThreshold,
    phiWindow: g.phiWindow,
    log: d.log,
    selfState: () => gossipStateOf(d.control.getState()),
    send: (n, type, payload) => peers[n]?.sendOneWay(type, payload) ?? false,
    onTransition: (n, _from, to) => {
      const p = peers[n];
      if (p === undefined) return;
      p.gossipDown = to === GOSSIP_STATE.DOWN;
      if (!p.gossipDown) hints.onPeerUp(n);
      d.events?.peerState?.(n, !p.gossipDown && p.up, `gossip ${p.gossipDown ? 'DOWN' : 'NORMAL'}`);
    },
  });
}

/**
 * secure_server_option: which peer links are encrypted (Netflix is_conn_secured) and the RSA keys
 * from pem_key_file (relative paths resolve against the working directory, as Netflix's fopen does).
 * When some existing link needs encryption an unreadable key file stops the start-up, naming the file;
 * when none does (`datacenter` in a one-DC cluster) it is only a warning: encrypted messages from a
 * peer are then refused per connection.
 */
function loadPeerKeys(t: Topology, cluster: ClusterOptions, log: Logger): { keys: DnodeKeys; secured(n: number): boolean } | undefined {
  const option = cluster.secureServerOption ?? 'none';
  if (option === 'none') return undefined;
  const self = t.nodes[0]!;
  const where = (n: number): { dc: string; rack: string } => ({ dc: t.dcs[t.nodes[n]!.dc]!.name, rack: t.racks[t.nodes[n]!.rack]!.name });
  const secured = (n: number): boolean => n > 0 && linkSecured(option, where(0), where(n));
  let needed = -1;
  for (let n = 1; n < t.nodes.length && needed < 0; n++) if (secured(n)) needed = n;
  const file = cluster.pemKeyFile ?? 'conf/dynomite.pem';
  try {
    const keys = loadPemKey(file);
    const encrypted = t.nodes.filter((_, n) => secured(n)).map((p) => `${p.host}:${p.port}`);
    log.info({ secureServerOption: option, pemKeyFile: keys.file, encryptedPeers: encrypted }, 'peer encryption');
    return { keys, secured };
  } catch (err) {
    if (needed < 0) {
      log.warn({ pemKeyFile: file, err: (err as Error).message }, `secure_server_option: ${option} encrypts no link of this node; running without a key`);
      return undefined;
    }
    const p = t.nodes[needed]!;
    throw new Error(`secure_server_option: ${option} encrypts the link to peer ${p.host}:${p.port} (from ${self.host}:${self.port}), which needs its RSA key: ${(err as Error).message}`);
  }
}
