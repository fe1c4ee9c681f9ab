// The cluster side of a node: the topology snapshot, one PeerConn per peer, the dnode listener for
// requests from peers, and the ClusterDispatcher that routes client requests over all of them.
//
// Membership (membership.ts) owns the snapshot; member-links.ts applies its changes (a node joined
// from gossip or the seed provider, one replaced at a new address, one removed after
// gos_removal_time). The dispatcher reads `membership.topology` per request, so the next request
// plans on the new snapshot while one already planned keeps the node indexes it chose (indexes
// never move).
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import { ABI } from '../wasm/abi.js';
import type { Flusher } from '../net/flusher.js';
import type { ClusterOptions, NodeOptions } from '../conf/options.js';
import type { PeerStateSample, Stats } from '../observe/stats.js';
import type { NodeControl } from '../control.js';
import type { ClusterDescription } from '../observe/http.js';
import { buildTopology, type Topology } from '../route/topology.js';
import { describe } from '../route/planner.js';
import type { Backend } from '../dispatch/request.js';
import type { PublishSink } from '../dispatch/publish.js';
import { ClusterDispatcher } from '../dispatch/cluster.js';
import { ReadRepair } from '../repair/read-repair.js';
import { AntiEntropy, DEFAULT_AE_INTERVAL_MS, DEFAULT_AE_RATE, type PassReport } from '../repair/anti-entropy.js';
import { decide } from '../repair/version-rule.js';
import { HASH_NAMES } from '../wasm/abi.js';
import { DEFAULT_HINTS, HintStore } from '../repair/hints.js';
import { PeerConn } from './peer-conn.js';
import { Gossip, gossipStateOf, splitAddress, type GossipMember } from './gossip.js';
import { Membership } from './membership.js';
import { MemberLinks, type MembershipEvent } from './member-links.js';
import { resolveSeeds, startupSeeds } from './seeds.js';
import type { PeerTransport } from '../net/transport.js';
import type { PeerSpec } from '../route/topology.js';
import { startDnodeListener, type DnodeListener } from './dnode-listener.js';
import { linkSecured, loadPemKey, type DnodeKeys } from '../crypto/dnode-crypto.js';
import { WriteJournal } from '../repair/write-journal.js';
import { JournalBackend } from '../repair/journal-backend.js';
import { HintApplier } from '../repair/hint-apply.js';
import { JournalLog } from '../repair/journal-log.js';
import { capsReply, isCapsProbe, PeerCaps } from './peer-caps.js';
import { loadCommandTable } from '../wasm/commands.js';

export type { MembershipEvent };

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
  /** Anti-entropy passes (started on anti_entropy_interval or by hand) and the answers to peers' passes. */
  readonly antiEntropy: AntiEntropy;
  /**
   * Every write applied to this node's local datastore, by key: its time and whether it deleted
   * the key (src/repair/write-journal.ts). The version of a key for hint replay and anti-entropy.
   */
  readonly journal: WriteJournal;
  /** Which peers are dynomite-ts nodes (probed on link up: src/cluster/peer-caps.ts). */
  readonly peerCaps: PeerCaps;
  /** What conditional hint replays from peers did here (applied, skipped). */
  readonly hintApply: HintApplier;
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
  /** Each peer in the ring with its state, as /cluster_describe and /metrics show it. */
  peerStates(): PeerStateSample[];
  /** Asks the seed provider again now (what the seeds_check_interval timer does). */
  refreshSeeds(): Promise<void>;
  /** /peer/<up|down|reset>/<peer|all>; the number of peers it named. */
  peerAction(action: 'up' | 'down' | 'reset', target: string | undefined): number;
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
  /** Pub/sub: where messages relayed by peers are delivered (the node's registry). */
  publish?: { readonly sink: PublishSink; readonly hmgetCommand: number };
}

/** What changed, for listeners outside the node (src/embed). Not on the request path. */
export interface ClusterEvents {
  peerState?(node: number, up: boolean, why: string): void;
  membership?(e: MembershipEvent): void;
  repaired?(replicas: number): void;
  hintReplayed?(node: number): void;
  /** An anti-entropy pass finished (its report, as GET /anti_entropy shows it). */
  antiEntropyPass?(report: PassReport): void;
}

export async function startCluster(d: ClusterDeps): Promise<RunningCluster> {
  const start = await resolveTopology(d);
  const membership = new Membership(start, { removalMs: d.cluster.gossip?.removalMs ?? DEFAULT_REMOVAL_MS });
  const current = (): Topology => membership.topology;
  const crypto = loadPeerKeys(start, d.cluster, d.log);
  const peers: (PeerConn | undefined)[] = [undefined];
  const caps = new PeerCaps({
    core: d.core, protocol: d.protocol, peer: (n) => peers[n],
    indexOf: (name) => indexOfPeer(current(), name),
    // Hints wait for the peer's kind: replay them now that it is known.
    onKnown: (n) => hints.onPeerUp(n),
  });
  const links: PeerLinks = { peers, gossip: undefined, caps };
  const { journal, log: journalLog } = makeJournal(d);
  const hints = makeHints(d, current, start.nodes.length, peers, caps, journal);
  const members = new MemberLinks({
    membership, peers, hints, log: d.log, gossip: () => links.gossip,
    connect: (n) => connectPeer(d, current(), n, crypto, hints, links),
    selfState: () => d.control.getState(), closeAfterMs: d.options.timeoutMs + 1000,
    onEvent: d.events?.membership, onPeerState: d.events?.peerState,
  });
  for (let n = 1; n < start.nodes.length; n++) peers.push(connectPeer(d, start, n, crypto, hints, links));
  // enable_gossip (off by default): peers' state from GOSSIP_SYN rounds; a DOWN peer is not `up`.
  const gossip = d.cluster.gossip?.enabled ? makeGossip(start, d.cluster.gossip, members, d) : undefined;
  links.gossip = gossip;
  // Every write to the local datastore, whoever sent it, passes the journal.
  const local = new JournalBackend(d.backend, d.core, journal, d.protocol);
  const dispatcher = makeDispatcher(d, local, current, peers);
  const hintCommand = d.protocol === 'redis' ? loadCommandTable(d.core).byName('DYNO_HINT')?.id ?? -1 : -1;
  const applier = new HintApplier(d.core, local, hintCommand, (isWrite) => d.control.allows(isWrite));
  const readRepair = makeReadRepair(d, local, peers);
  dispatcher.fanout.divergence = readRepair;
  if (hints.enabled) dispatcher.fanout.hints = hints;
  registerRepairStats(d.stats, readRepair, hints);
  registerVersionStats(d.stats, journal, applier);
  const antiEntropy = makeAntiEntropy(d, current, peers, journal, caps);
  dispatcher.antiEntropy = antiEntropy;
  registerAntiEntropyStats(d.stats, antiEntropy);
  hints.start();
  dispatcher.start();
  const listener = await startListener(d, dispatcher, applier, gossip, crypto?.keys, () => {
    caps.stop();
    gossip?.stop();
    dispatcher.stop();
    hints.stop();
    closeJournalLog(journalLog, d.log);
  });
  d.stats.registerGauge('dnode_client_connections', () => listener.connections());
  d.stats.registerPeerStates(() => members.peerStates());
  await Promise.all(peers.map((p) => p?.start()));
  gossip?.start();
  antiEntropy.start();
  const refreshSeeds = (): Promise<void> => askSeedsAgain(d, membership, members);
  const timers = startMembershipTimers(d, gossip !== undefined, membership, members, refreshSeeds);
  d.log.info({ dynListen: `${d.cluster.dynListen.host}:${listener.port}`, peers: peers.length - 1, dcs: start.dcs.length, racks: start.racks.length }, 'cluster started');
  return {
    dispatcher,
    readRepair,
    hints,
    antiEntropy,
    journal,
    peerCaps: caps,
    hintApply: applier,
    topology: current,
    peers,
    gossip,
    membership,
    dynamic: gossip !== undefined || timers.seedsRefreshed,
    dynPort: listener.port,
    describe: () => describe(current(), members.describeExtra()),
    peerStates: () => members.peerStates(),
    refreshSeeds,
    peerAction: (action, target) => members.peerAction(action, target),
    async close() {
      for (const t of timers.all) clearInterval(t);
      // GOSSIP_SHUTDOWN first, while the links are up: the peers mark this node DOWN at once.
      gossip?.shutdown();
      caps.stop();
      readRepair.stop();
      antiEntropy.stop();
      dispatcher.stop();
      await listener.close();
      await Promise.all([...peers, ...members.retiredLinks()].map((p) => p?.close()));
      // Last: writes failed by the closing links above are still hinted (and logged when durable).
      hints.stop();
      closeJournalLog(journalLog, d.log);
    },
  };
}

/**
 * gos_removal_time (members DOWN that long leave the ring; checked a few times per removal time) and
 * seeds_check_interval (dns / florida providers asked again).
 */
function startMembershipTimers(d: ClusterDeps, gossiping: boolean, membership: Membership, members: MemberLinks,
  refreshSeeds: () => Promise<void>): { all: NodeJS.Timeout[]; seedsRefreshed: boolean } {
  const all: NodeJS.Timeout[] = [];
  const removalMs = d.cluster.gossip?.removalMs ?? DEFAULT_REMOVAL_MS;
  if (gossiping && removalMs > 0) {
    const t = setInterval(() => {
      for (const c of membership.expire(Date.now())) members.apply(c);
    }, Math.max(50, Math.min(1000, Math.floor(removalMs / 4))));
    t.unref();
    all.push(t);
  }
  const every = d.cluster.seedsCheckIntervalMs ?? DEFAULT_SEEDS_CHECK_MS;
  const provider = d.cluster.seedProvider ?? 'simple_provider';
  const seedsRefreshed = provider !== 'simple_provider' && d.seeds === undefined && every > 0;
  if (seedsRefreshed) {
    const t = setInterval(() => void refreshSeeds(), every);
    t.unref();
    all.push(t);
  }
  return { all, seedsRefreshed };
}

/** The seed provider's list now: nodes that appeared join; none is dropped (gossip judges the missing). */
async function askSeedsAgain(d: ClusterDeps, membership: Membership, members: MemberLinks): Promise<void> {
  const provider = d.cluster.seedProvider ?? 'simple_provider';
  if (provider === 'simple_provider' || d.seeds !== undefined) return;
  let found: PeerSpec[];
  try {
    found = await resolveSeeds(provider, { seeds: d.cluster.seeds, self: selfSpec(d) }, process.env, d.cluster.seedProviderOptions ?? {}, (w) => d.log.warn(w));
  } catch (err) {
    d.log.warn({ provider, err: (err as Error).message }, 'dyn_seed_provider: lookup failed; keeping the members known');
    return;
  }
  for (const c of membership.seeds(found)) members.apply(c);
}

function selfSpec(d: ClusterDeps): PeerSpec {
  const { options, cluster } = d;
  return { host: cluster.dynListen.host, port: cluster.dynListen.port, dc: options.datacenter, rack: options.rack, tokens: options.tokens ?? [] };
}

/** The peers every PeerConn's hooks reach; gossip is set once the links exist (it sends over them). */
interface PeerLinks {
  readonly peers: readonly (PeerConn | undefined)[];
  gossip: Gossip | undefined;
  readonly caps: PeerCaps;
}

function closeJournalLog(log: JournalLog | undefined, logger: Logger): void {
  try {
    log?.close();
  } catch (err) {
    logger.warn({ err, file: log?.path }, 'write journal: closing the journal file failed');
  }
}

/** The node index of a peer named `host:port` (its dnode address), or by its host alone. */
function indexOfPeer(t: Topology, name: string): number | undefined {
  for (let n = 1; n < t.nodes.length; n++) {
    const p = t.nodes[n]!;
    if (`${p.host}:${p.port}` === name) return n;
  }
  for (let n = 1; n < t.nodes.length; n++) if (t.nodes[n]!.host === name) return n;
  return undefined;
}

/**
 * The write journal: tombstones kept for tombstone_grace, clocks up to write_journal_max_keys;
 * durable in hints_dir when one is set (src/repair/journal-log.ts).
 */
function makeJournal(d: ClusterDeps): { journal: WriteJournal; log: JournalLog | undefined } {
  const h = d.cluster.hints;
  const journal = new WriteJournal({
    graceMs: d.cluster.tombstoneGraceMs ?? h?.ttlMs ?? DEFAULT_HINTS.ttlMs,
    maxKeys: d.cluster.writeJournalMaxKeys,
    maxTombstones: d.cluster.writeJournalMaxKeys,
  });
  const log = h?.dir === undefined ? undefined : new JournalLog(journal, { dir: h.dir, logger: d.log });
  return { journal, log };
}

type PeerKeys = ReturnType<typeof loadPeerKeys>;
type Place = { dc: string; rack: string };

/**
 * This node and its peers at start-up: dyn_seed_provider is resolved before the topology (see
 * seeds.ts for the failure policy), and asked again every seeds_check_interval (askSeedsAgain).
 */
async function resolveTopology(d: ClusterDeps): Promise<Topology> {
  const { cluster, log } = d;
  const self = selfSpec(d);
  const seeds = d.seeds ? [...await d.seeds()] : await startupSeeds(cluster.seedProvider ?? 'simple_provider', { seeds: cluster.seeds, self }, process.env, cluster.seedProviderOptions ?? {}, log);
  const topology = buildTopology(self, seeds);
  for (const w of topology.warnings) log.warn({ warning: w }, 'topology');
  return topology;
}

/** Hinted handoff over the topology's nodes (node 0, this node, is never hinted). */
function makeHints(d: ClusterDeps, topology: () => Topology, nodes: number, peers: readonly (PeerConn | undefined)[], caps: PeerCaps, journal: WriteJournal): HintStore {
  const h = d.cluster.hints;
  return new HintStore({
    core: d.core,
    peer: (n) => peers[n],
    peerAddress: (n) => (n === 0 ? undefined : { host: topology().nodes[n]!.host, port: topology().nodes[n]!.port }),
    nodes,
    maxBytes: h?.maxBytes ?? DEFAULT_HINTS.maxBytes,
    ttlMs: h?.ttlMs ?? DEFAULT_HINTS.ttlMs,
    dir: h?.dir,
    logger: d.log,
    onReplayed: d.events?.hintReplayed,
    // One clock for the journal and the hints' origin times: strictly increasing on this node.
    stamp: () => journal.stamp(),
    // Conditional replay (DYNO_HINT) to dynomite-ts peers over redis; memcached has no wrapper.
    replayMode: (n) => {
      const kind = caps.of(n);
      if (kind === 'unknown') {
        caps.ensure(n);
        return 'unknown';
      }
      return d.protocol === 'redis' && caps.has(n, 'hint') ? 'versioned' : 'plain';
    },
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
    crypto: crypto?.secured(where(topology, 0), { dc, rack }) ? crypto.keys : undefined,
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
    // A timed-out request fails alone (the link stays up); it is still the failure detector's
    // signal for a peer whose heartbeat is late as well.
    onTimeout: (_p, count) => {
      counters.timedout++;
      counters.timedout_requests += count;
      links.gossip?.table.linkFailure(n, 'request timed out', true);
    },
    // Netflix counts each skipped request and each dropped response in peer_mismatch_requests.
    onMismatch: (_p, skipped, dropped) => {
      counters.mismatch_requests += skipped + (dropped ? 1 : 0);
    },
    onLinkUp: (p, link) => {
      if (link === 0) links.caps.onLinkUp(n);
      hints.onPeerUp(n);
      d.events?.peerState?.(n, p.up, 'link up');
    },
    // The link's direct signal for the failure detector: refused / reset / closed convicts a peer
    // that gossips.
    onLinkDown: (p, link, why) => {
      if (link === 0) links.caps.onLinkDown(n);
      links.gossip?.table.linkFailure(n, why);
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

function makeDispatcher(d: ClusterDeps, local: Backend, topology: () => Topology, peers: readonly (PeerConn | undefined)[]): ClusterDispatcher {
  const { stats, options } = d;
  return new ClusterDispatcher({
    core: d.core,
    local,
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
    publish: d.publish,
    admits: (isWrite) => d.control.allows(isWrite),
  });
}

function makeReadRepair(d: ClusterDeps, local: Backend, peers: readonly (PeerConn | undefined)[]): ReadRepair {
  return new ReadRepair({
    core: d.core, local, peer: (n) => peers[n], enabled: () => d.control.readRepairs, logger: d.log, protocol: d.protocol,
    onRepair: d.events?.repaired,
  });
}

/**
 * Anti-entropy over the cluster's links, deciding with the version rule and the write journal. It
 * talks to the datastore itself (d.backend, not the JournalBackend): its reads need no journal, and
 * a repair is recorded with the winner's clock, not with a fresh stamp as a client write is.
 */
function makeAntiEntropy(d: ClusterDeps, topology: () => Topology, peers: readonly (PeerConn | undefined)[], journal: WriteJournal, caps: PeerCaps): AntiEntropy {
  const ae = d.cluster.antiEntropy;
  const rate = ae?.ratePerSecond ?? DEFAULT_AE_RATE;
  return new AntiEntropy({
    core: d.core, local: d.backend, peer: (n) => peers[n], topology, protocol: d.protocol, log: d.log,
    algo: HASH_NAMES.indexOf(d.options.hash as (typeof HASH_NAMES)[number]),
    decide, journal, caps: { of: (n) => caps.of(n), has: (n, cap) => caps.has(n, cap) },
    intervalMs: ae?.intervalMs ?? DEFAULT_AE_INTERVAL_MS, ratePerSecond: rate === 0 ? Infinity : rate,
    name: `${d.cluster.dynListen.host}:${d.cluster.dynListen.port}`,
    onPass: d.events?.antiEntropyPass,
    admits: (isWrite) => d.control.allows(isWrite),
  });
}

function registerAntiEntropyStats(stats: Stats, ae: AntiEntropy): void {
  stats.sourceOurs('anti_entropy_passes', () => ae.status().passes);
  stats.sourceOurs('anti_entropy_running', () => (ae.status().running ? 1 : 0));
  stats.sourceOurs('anti_entropy_percent_done', () => ae.status().percentDone);
  stats.sourceOurs('anti_entropy_keys_compared', () => ae.status().totals.keysCompared);
  stats.sourceOurs('anti_entropy_keys_repaired', () => ae.status().totals.keysRepaired);
  stats.sourceOurs('anti_entropy_bytes_exchanged', () => ae.status().totals.bytesExchanged);
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

/** The write journal's and the conditional hint replays' counts in the pool's stats. */
function registerVersionStats(stats: Stats, journal: WriteJournal, applier: HintApplier): void {
  const a = applier.counts;
  stats.sourceOurs('hints_applied_versioned', () => a.applied);
  stats.sourceOurs('hints_skipped_newer', () => a.skippedNewer);
  stats.sourceOurs('hints_skipped_floor', () => a.skippedFloor);
  stats.sourceOurs('write_journal_keys', () => journal.size);
  stats.sourceOurs('write_journal_tombstones', () => journal.tombstones);
  stats.sourceOurs('write_journal_evicted', () => journal.counts.clocksEvicted + journal.counts.tombstonesEvicted);
}

/** The dnode listener for requests and gossip from peers; when it cannot start, `unwind` stops what runs. */
async function startListener(d: ClusterDeps, dispatcher: ClusterDispatcher, applier: HintApplier, gossip: Gossip | undefined, keys: DnodeKeys | undefined, unwind: () => void): Promise<DnodeListener> {
  const hmget = d.protocol === 'redis' ? loadCommandTable(d.core).byName('HMGET')?.id ?? -1 : -1;
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
        onPeerRequest: (conn, seq, type, req) => {
          // The peer-caps probe (HMGET of a reserved key) is answered here, never by the datastore (src/cluster/peer-caps.ts).
          if (type === ABI.DN_TYPE_REQ && isCapsProbe(d.core, req, d.protocol, hmget)) return conn.completeBuffer(seq, capsReply(d.protocol));
          // A conditional hint replay (src/repair/hint-apply.ts): applied or skipped by the journal.
          if (type === ABI.DN_TYPE_REQ && applier.take(conn, seq, req, conn.id)) return;
          dispatcher.onPeerRequest(conn, seq, type, req, conn.id);
        },
        onOther: gossip === undefined ? undefined : (_c, type, _id, payload) => gossip.onMessage(type, payload),
      },
    });
  } catch (err) {
    unwind();
    throw err;
  }
}

/** Builds the gossip rounds over the start-up nodes; membership and transitions go through `members`. */
function makeGossip(t: Topology, g: NonNullable<ClusterOptions['gossip']>, members: MemberLinks, d: ClusterDeps): Gossip {
  const others: GossipMember[] = [];
  for (let n = 1; n < t.nodes.length; n++) others.push(members.gossipMember(n));
  d.log.info({ intervalMs: g.intervalMs, peers: others.length, phiThreshold: g.phiThreshold, phiWindow: g.phiWindow, removalMs: g.removalMs ?? DEFAULT_REMOVAL_MS }, 'gossip enabled');
  return new Gossip({
    self: members.gossipMember(0),
    peers: others,
    intervalMs: g.intervalMs,
    phiThreshold: g.phiThreshold,
    phiWindow: g.phiWindow,
    log: d.log,
    selfState: () => gossipStateOf(d.control.getState()),
    send: (n, type, payload) => members.peerLink(n)?.sendOneWay(type, payload) ?? false,
    // Joins and replacements first, so the records' heartbeats then land on the new entries.
    beforeMerge: (records) => {
      for (const r of records) {
        const at = splitAddress(r.address);
        if (WILDCARD_HOSTS.has(at.host)) continue; // not an address anyone can connect to
        const c = members.membership.observe({ ...r, ...at });
        if (c !== undefined) members.apply(c);
      }
    },
    onTransition: (n, from, to, why) => members.onTransition(n, from, to, why),
  });
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

function where(t: Topology, n: number): { dc: string; rack: string } {
  const node = t.nodes[n]!;
  return { dc: t.dcs[node.dc]?.name ?? '', rack: t.racks[node.rack]?.name ?? '' };
}

/**
 * secure_server_option: which peer links are encrypted (Netflix is_conn_secured) and the RSA keys
 * from pem_key_file (relative paths resolve against the working directory, as Netflix's fopen does).
 * When some existing link needs encryption an unreadable key file stops the start-up, naming the file;
 * when none does (`datacenter` in a one-DC cluster) it is only a warning: encrypted messages from a
 * peer are then refused per connection.
 */
function loadPeerKeys(t: Topology, cluster: ClusterOptions, log: Logger): { keys: DnodeKeys; secured(self: Place, peer: Place): boolean } | undefined {
  const option = cluster.secureServerOption ?? 'none';
  if (option === 'none') return undefined;
  const self = t.nodes[0]!;
  const secured = (n: number): boolean => n > 0 && linkSecured(option, where(t, 0), where(t, n));
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
