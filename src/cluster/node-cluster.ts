// The cluster side of a node: the topology snapshot, one PeerConn per peer, the dnode listener for
// requests from peers, and the ClusterDispatcher that routes client requests over all of them.
//
// Membership (membership.ts) owns the snapshot. A change it returns (a node joined from gossip or the
// seed provider, replaced one at a new address, removed one DOWN past gos_removal_time) is applied
// here: a PeerConn for the new index, hints and gossip table grown, the replaced or removed node's
// link retired; the dispatcher reads `membership.topology` per request, so the next request plans on
// the new snapshot while one already planned keeps the node indexes it chose (indexes never move).
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import type { Flusher } from '../net/flusher.js';
import type { ClusterOptions, NodeOptions } from '../conf/options.js';
import type { PeerStateSample, Stats } from '../observe/stats.js';
import type { NodeControl } from '../control.js';
import type { ClusterDescription } from '../observe/http.js';
import { buildTopology, type Topology } from '../route/topology.js';
import { describe } from '../route/planner.js';
import type { Backend } from '../dispatch/request.js';
import { ClusterDispatcher } from '../dispatch/cluster.js';
import { ReadRepair } from '../repair/read-repair.js';
import { DEFAULT_HINTS, HintStore } from '../repair/hints.js';
import { PeerConn } from './peer-conn.js';
import { Gossip, gossipAddress, gossipStateName, gossipStateOf, parseAddress, GOSSIP_STATE, type GossipMember } from './gossip.js';
import { Membership, type MembershipChange } from './membership.js';
import { resolveSeeds, startupSeeds } from './seeds.js';
import type { PeerTransport } from '../net/transport.js';
import type { PeerSpec } from '../route/topology.js';
import { startDnodeListener, type DnodeListener } from './dnode-listener.js';
import { linkSecured, loadPemKey, type DnodeKeys } from '../crypto/dnode-crypto.js';

/** gos_removal_time's default (3 hours, hints_ttl's default): see the config key. */
export const DEFAULT_REMOVAL_MS = 10_800_000;
/** Netflix SEEDS_CHECK_INTERVAL (dyn_gossip.c): the seed provider is asked again this often. */
export const DEFAULT_SEEDS_CHECK_MS = 30_000;

export interface RunningCluster {
  readonly dispatcher: ClusterDispatcher;
  /** Rewrites replicas that diverged on a quorum read (its counts, its rate limit). */
  readonly readRepair: ReadRepair;
  /** Hinted handoff: writes kept for unreachable replicas, replayed when they are back. */
  readonly hints: HintStore;
  readonly topology: () => Topology;
  /** Peer links by node index (undefined for this node and for nodes out of the ring). */
  readonly peers: readonly (PeerConn | undefined)[];
  /** enable_gossip: the gossip rounds and the per-peer state table; undefined when gossip is off. */
  readonly gossip: Gossip | undefined;
  readonly membership: Membership;
  /** Membership can change after start (gossip on, or a seed provider asked again). */
  readonly dynamic: boolean;
  /** The dnode port actually bound. */
  readonly dynPort: number;
  describe(): ClusterDescription;
  /** Each peer's state as /cluster_describe and /metrics show it. */
  peerStates(): PeerStateView[];
  /** Asks the seed provider again now (what the seeds_check_interval timer does). */
  refreshSeeds(): Promise<void>;
  close(): Promise<void>;
}

export type PeerStateView = PeerStateSample;

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

/**
 * One membership change of one node, logged once and passed to ClusterEvents.membership: a join is
 * NONE -> JOINING, a removal (or the replaced node of a replacement) X -> REMOVED, a state change
 * between gossip state names (NORMAL, DOWN, STANDBY, ...).
 */
export interface MembershipEvent {
  node: number;
  hostId: string;
  host: string;
  port: number;
  dc: string;
  rack: string;
  from: string;
  to: string;
  why: string;
}

/** What changed, for listeners outside the node (src/embed). Not on the request path. */
export interface ClusterEvents {
  peerState?(node: number, up: boolean, why: string): void;
  membership?(e: MembershipEvent): void;
  repaired?(replicas: number): void;
  hintReplayed?(node: number): void;
}

export async function startCluster(d: ClusterDeps): Promise<RunningCluster> {
  const { core, options, cluster, log, stats } = d;
  const self = { host: cluster.dynListen.host, port: cluster.dynListen.port, dc: options.datacenter, rack: options.rack, tokens: options.tokens ?? [] };
  const provider = cluster.seedProvider ?? 'simple_provider';
  // dyn_seed_provider: resolved before the topology (see seeds.ts for the failure policy), and asked
  // again every seeds_check_interval (below).
  const seeds = d.seeds ? [...await d.seeds()] : await startupSeeds(provider, { seeds: cluster.seeds, self }, process.env, cluster.seedProviderOptions ?? {}, log);
  const start = buildTopology(self, seeds);
  for (const w of start.warnings) log.warn({ warning: w }, 'topology');
  const membership = new Membership(start, { removalMs: cluster.gossip?.removalMs ?? DEFAULT_REMOVAL_MS });
  const current = (): Topology => membership.topology;
  const crypto = loadPeerKeys(start, cluster, log);
  const placeOf = (n: number): { dc: string; rack: string } => {
    const node = current().nodes[n]!;
    // A node out of the ring may have lost its rack / DC entry (the last one of it left).
    return { dc: current().dcs[node.dc]?.name ?? '', rack: current().racks[node.rack]?.name ?? '' };
  };

  const peers: (PeerConn | undefined)[] = [undefined];
  const hints = new HintStore({
    core,
    peer: (n) => peers[n],
    peerAddress: (n) => (n === 0 ? undefined : { host: current().nodes[n]!.host, port: current().nodes[n]!.port }),
    nodes: start.nodes.length,
    maxBytes: cluster.hints?.maxBytes ?? DEFAULT_HINTS.maxBytes,
    ttlMs: cluster.hints?.ttlMs ?? DEFAULT_HINTS.ttlMs,
    dir: cluster.hints?.dir,
    logger: log,
    onReplayed: d.events?.hintReplayed,
  });

  const makePeer = (n: number): PeerConn => {
    const node = current().nodes[n]!;
    const place = placeOf(n);
    const name = `${node.host}:${node.port}`;
    const counters = stats.peer(name, { dc: place.dc, rack: place.rack, remote: !node.isLocalDc });
    const pc = new PeerConn(core, {
      host: node.host,
      port: node.port,
      dc: place.dc,
      rack: place.rack,
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
      crypto: crypto?.secured(placeOf(0), place) ? crypto.keys : undefined,
      transport: d.transport,
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
      onTimeout: (_p, k) => {
        counters.timedout++;
        counters.timedout_requests += k;
      },
      onLinkUp: (p) => {
        hints.onPeerUp(n);
        d.events?.peerState?.(n, p.up, 'link up');
      },
      // The link's direct signal for the failure detector: refused / reset / closed convicts a peer
      // that gossips; a timed-out request only one whose heartbeat is late as well.
      onLinkDown: (p, _link, why) => {
        gossip?.table.linkFailure(n, why, why === 'request timed out');
        if (!p.up) d.events?.peerState?.(n, false, why);
      },
      onOther: (_p, type, _id, payload) => gossip?.onMessage(type, payload),
    });
    // peer_connections (rolled up from each peer's `connections`): links up right now. PeerConn
    // exposes its state, not a link count: every link when it is 'up', else at least one when any is.
    const links = node.isLocalDc ? cluster.localPeerConnections : cluster.remotePeerConnections;
    stats.registerPeerGauge(name, 'connections', () => (pc.state === 'up' ? links : pc.up ? 1 : 0));
    stats.registerPeerGauge(name, 'out_queue', () => pc.inflight());
    return pc;
  };
  for (let n = 1; n < start.nodes.length; n++) peers.push(makePeer(n));

  const eventOf = (n: number, from: string, to: string, why: string): MembershipEvent => {
    const node = current().nodes[n]!;
    return { node: n, hostId: membership.idOf(n), host: node.host, port: node.port, ...placeOf(n), from, to, why };
  };
  const announce = (e: MembershipEvent): void => {
    log.info({ node: e.hostId, address: `${e.host}:${e.port}`, from: e.from, to: e.to, why: e.why }, `membership: ${e.hostId} ${e.from} -> ${e.to}`);
    d.events?.membership?.(e);
  };
  const gossipMember = (n: number): GossipMember => {
    const node = current().nodes[n]!;
    // Netflix's host id carries one token (membership.memberId: the first one written).
    return { node: n, ...placeOf(n), token: String(node.tokens[0] ?? 0), address: gossipAddress(node.host, node.port) };
  };

  // Links of replaced / removed nodes: nothing new is sent on them; they close once what was in
  // flight on them had its time (a request planned on the old snapshot may still be waiting).
  const retired = new Set<PeerConn>();
  const retire = (n: number): void => {
    const p = peers[n];
    peers[n] = undefined;
    gossip?.table.removePeer(n);
    if (p === undefined) return;
    p.gossipDown = true;
    retired.add(p);
    const t = setTimeout(() => {
      retired.delete(p);
      void p.close();
    }, options.timeoutMs + 1000);
    t.unref();
  };
  const stateName = (n: number): string => {
    if (n === 0) return d.control.getState();
    const g = gossip?.table.state(n);
    if (g !== undefined) return gossipStateName(g);
    return peers[n]?.up ? 'NORMAL' : 'DOWN';
  };
  const apply = (c: MembershipChange): void => {
    if (c.kind === 'remove') {
      const from = stateName(c.node);
      retire(c.node);
      announce(eventOf(c.node, from, 'REMOVED', c.why));
      return;
    }
    if (c.replaces !== undefined) {
      const from = stateName(c.replaces);
      retire(c.replaces);
      announce(eventOf(c.replaces, from, 'REMOVED', `replaced by ${c.spec.host}:${c.spec.port}`));
    }
    hints.addNode(c.node);
    const pc = makePeer(c.node);
    peers[c.node] = pc;
    gossip?.table.addPeer(gossipMember(c.node), GOSSIP_STATE.JOINING);
    void pc.start();
    announce(eventOf(c.node, 'NONE', 'JOINING', c.why));
  };

  // enable_gossip (off by default): peers' state from GOSSIP_SYN rounds; a DOWN peer is not `up`.
  let gossip: Gossip | undefined;
  if (cluster.gossip?.enabled) {
    const g = cluster.gossip;
    d.log.info({ intervalMs: g.intervalMs, peers: start.nodes.length - 1, phiThreshold: g.phiThreshold, phiWindow: g.phiWindow, removalMs: cluster.gossip.removalMs ?? DEFAULT_REMOVAL_MS }, 'gossip enabled');
    const others: GossipMember[] = [];
    for (let n = 1; n < start.nodes.length; n++) others.push(gossipMember(n));
    gossip = new Gossip({
      self: gossipMember(0),
      peers: others,
      intervalMs: g.intervalMs,
      phiThreshold: g.phiThreshold,
      phiWindow: g.phiWindow,
      log,
      selfState: () => gossipStateOf(d.control.getState()),
      send: (n, type, payload) => peers[n]?.sendOneWay(type, payload) ?? false,
      beforeMerge: (records) => {
        for (const r of records) {
          const at = parseAddress(r.address, self.port);
          if (WILDCARD_HOSTS.has(at.host)) continue; // not an address anyone can connect to
          const c = membership.observe({ ...r, ...at });
          if (c !== undefined) apply(c);
        }
      },
      onTransition: (n, from, to, why) => {
        const p = peers[n];
        if (p === undefined) return;
        p.gossipDown = to === GOSSIP_STATE.DOWN;
        membership.stateChanged(n, p.gossipDown, Date.now());
        announce(eventOf(n, gossipStateName(from), gossipStateName(to), why));
        if (!p.gossipDown) hints.onPeerUp(n);
        d.events?.peerState?.(n, !p.gossipDown && p.up, `gossip ${gossipStateName(to)}`);
      },
    });
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
    onRepair: d.events?.repaired,
  });
  dispatcher.fanout.divergence = readRepair;
  const rc = readRepair.counts;
  stats.sourceOurs('read_repair_divergences', () => rc.divergences);
  stats.sourceOurs('read_repairs', () => rc.repaired);
  stats.sourceOurs('read_repair_replicas', () => rc.replicas);
  stats.sourceOurs('read_repair_skipped', () => rc.skipped);
  stats.sourceOurs('read_repair_failed', () => rc.failed);
  if (hints.enabled) dispatcher.fanout.hints = hints;
  stats.sourceOurs('hints_stored', () => hints.counts.stored);
  stats.sourceOurs('hints_replayed', () => hints.counts.replayed);
  stats.sourceOurs('hints_dropped_bytes', () => hints.counts.droppedBytes);
  stats.sourceOurs('hints_dropped_ttl', () => hints.counts.droppedTtl);
  stats.sourceOurs('hints_dropped_other', () => hints.counts.droppedOther);
  stats.sourceOurs('hints_pending', () => hints.pending);
  stats.sourceOurs('hints_pending_bytes', () => hints.pendingBytes);
  hints.start();
  dispatcher.start();

  let listener: DnodeListener | undefined;
  try {
    listener = await startDnodeListener({
      core,
      listen: cluster.dynListen,
      transport: d.transport,
      flusher: d.flusher,
      logger: log,
      maxMessage: options.maxMessageBytes,
      protocol: d.protocol,
      crypto: crypto?.keys,
      handler: {
        onPeerRequest: (conn, seq, type, req) => dispatcher.onPeerRequest(conn, seq, type, req, conn.id),
        onOther: gossip === undefined ? undefined : (_c, type, _id, payload) => gossip!.onMessage(type, payload),
      },
    });
  } catch (err) {
    gossip?.stop();
    dispatcher.stop();
    hints.stop();
    throw err;
  }
  const dnodeListener = listener;
  stats.registerGauge('dnode_client_connections', () => dnodeListener.connections());
  await Promise.all(peers.map((p) => p?.start()));
  gossip?.start();

  // gos_removal_time: members DOWN that long leave the ring (checked a few times per removal time).
  const removalMs = cluster.gossip?.removalMs ?? DEFAULT_REMOVAL_MS;
  const timers: NodeJS.Timeout[] = [];
  if (gossip !== undefined && removalMs > 0) {
    const t = setInterval(() => {
      for (const c of membership.expire(Date.now())) apply(c);
    }, Math.max(50, Math.min(1000, Math.floor(removalMs / 4))));
    t.unref();
    timers.push(t);
  }
  // seeds_check_interval: dns / florida providers asked again; joins only (none is dropped on its word).
  const refreshSeeds = async (): Promise<void> => {
    if (provider === 'simple_provider' || d.seeds) return;
    let found: PeerSpec[];
    try {
      found = await resolveSeeds(provider, { seeds: cluster.seeds, self }, process.env, cluster.seedProviderOptions ?? {}, (w) => log.warn(w));
    } catch (err) {
      log.warn({ provider, err: (err as Error).message }, 'dyn_seed_provider: lookup failed; keeping the members known');
      return;
    }
    for (const c of membership.seeds(found)) apply(c);
  };
  const seedsEvery = cluster.seedsCheckIntervalMs ?? DEFAULT_SEEDS_CHECK_MS;
  const refreshing = provider !== 'simple_provider' && !d.seeds && seedsEvery > 0;
  if (refreshing) {
    const t = setInterval(() => void refreshSeeds(), seedsEvery);
    t.unref();
    timers.push(t);
  }
  log.info({ dynListen: `${cluster.dynListen.host}:${listener.port}`, peers: peers.length - 1, dcs: start.dcs.length, racks: start.racks.length }, 'cluster started');

  const peerStates = (): PeerStateView[] => {
    const out: PeerStateView[] = [];
    const t = current();
    for (let n = 1; n < t.nodes.length; n++) {
      if (!t.nodes[n]!.inRing) continue;
      const node = t.nodes[n]!;
      out.push({
        node: n, hostId: membership.idOf(n), name: `${node.host}:${node.port}`, ...placeOf(n), state: stateName(n),
        heartbeatAgeMs: gossip?.table.heartbeatAge(n) ?? null, phi: gossip?.table.phi(n) ?? 0,
      });
    }
    return out;
  };
  stats.registerPeerStates(() => peerStates());

  return {
    dispatcher,
    readRepair,
    hints,
    topology: current,
    peers,
    gossip,
    membership,
    dynamic: gossip !== undefined || refreshing,
    dynPort: listener.port,
    describe: () => {
      const byNode = new Map(peerStates().map((p) => [p.node, p]));
      return describe(current(), (n) => {
        const p = byNode.get(n);
        return { state: stateName(n), heartbeat_age_ms: p?.heartbeatAgeMs === null || p === undefined ? null : Math.round(p.heartbeatAgeMs), phi: Math.round((p?.phi ?? 0) * 100) / 100 };
      });
    },
    peerStates,
    refreshSeeds,
    async close() {
      for (const t of timers) clearInterval(t);
      // GOSSIP_SHUTDOWN first, while the links are up: the peers mark this node DOWN at once.
      gossip?.shutdown();
      readRepair.stop();
      dispatcher.stop();
      await listener?.close();
      await Promise.all([...peers, ...retired].map((p) => p?.close()));
      // Last: writes failed by the closing links above are still hinted (and logged when durable).
      hints.stop();
    },
  };
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * secure_server_option: which peer links are encrypted (Netflix is_conn_secured) and the RSA keys
 * from pem_key_file (relative paths resolve against the working directory, as Netflix's fopen does).
 * When some existing link needs encryption an unreadable key file stops the start-up, naming the file;
 * when none does (`datacenter` in a one-DC cluster) it is only a warning: encrypted messages from a
 * peer are then refused per connection.
 */
type Place = { dc: string; rack: string };

function loadPeerKeys(t: Topology, cluster: ClusterOptions, log: Logger): { keys: DnodeKeys; secured(self: Place, peer: Place): boolean } | undefined {
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
    // Nodes that join later are judged by their placement (no key loaded: their links stay plain).
    return { keys, secured: (a, b) => linkSecured(option, a, b) };
  } catch (err) {
    if (needed < 0) {
      log.warn({ pemKeyFile: file, err: (err as Error).message }, `secure_server_option: ${option} encrypts no link of this node; running without a key`);
      return undefined;
    }
    const p = t.nodes[needed]!;
    throw new Error(`secure_server_option: ${option} encrypts the link to peer ${p.host}:${p.port} (from ${self.host}:${self.port}), which needs its RSA key: ${(err as Error).message}`);
  }
}
