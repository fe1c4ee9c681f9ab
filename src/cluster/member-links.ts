// Applies membership changes to the running node: the peer links, the hint store and the gossip
// table follow membership.ts's snapshot, and each change is logged once and passed to the embedding
// program. membership.ts decides (pure); this file does (links, logs, events).
//
//   join      hints grown, a PeerConn for the new index (started), a gossip entry in JOINING
//   replaces  / remove: the old index's link retired (nothing new is sent on it; closed after
//             closeAfterMs, so requests planned on the old snapshot may still finish), its gossip
//             entry dropped
//   state     (gossip transitions) PeerConn.gossipDown, membership's removal clock, hints replayed
import type { Logger } from 'pino';
import type { PeerStateSample } from '../observe/stats.js';
import type { HintStore } from '../repair/hints.js';
import type { Topology } from '../route/topology.js';
import type { PeerConn } from './peer-conn.js';
import { gossipAddress, gossipStateName, GOSSIP_STATE, type Gossip, type GossipMember } from './gossip.js';
import type { Membership, MembershipChange } from './membership.js';

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

export interface MemberLinksOptions {
  membership: Membership;
  /** Peer links by node index; this class writes new and retired entries. */
  peers: (PeerConn | undefined)[];
  hints: HintStore;
  log: Logger;
  /** The gossip rounds, once they exist (undefined when gossip is off). */
  gossip: () => Gossip | undefined;
  /** Makes (does not start) the link to node n of the current snapshot. */
  connect: (n: number) => PeerConn;
  /** This node's own state name (control.ts). */
  selfState: () => string;
  /** How long a retired link stays open for what was in flight on it, ms. */
  closeAfterMs: number;
  onEvent?: (e: MembershipEvent) => void;
  onPeerState?: (node: number, up: boolean, why: string) => void;
}

type Place = { dc: string; rack: string };

export class MemberLinks {
  private readonly retired = new Set<PeerConn>();

  constructor(private readonly o: MemberLinksOptions) {}

  get membership(): Membership {
    return this.o.membership;
  }

  /** The live link to node n (undefined for this node and nodes out of the ring). */
  peerLink(n: number): PeerConn | undefined {
    return this.o.peers[n];
  }

  private get topology(): Topology {
    return this.o.membership.topology;
  }

  /** DC and rack names of node n ('' when it left the ring and its rack or DC is gone). */
  placeOf(n: number): Place {
    const t = this.topology;
    const node = t.nodes[n]!;
    return { dc: t.dcs[node.dc]?.name ?? '', rack: t.racks[node.rack]?.name ?? '' };
  }

  /** Node n as the gossip table tracks it (Netflix's host id carries the first token). */
  gossipMember(n: number): GossipMember {
    const node = this.topology.nodes[n]!;
    return { node: n, ...this.placeOf(n), token: String(node.tokens[0] ?? 0), address: gossipAddress(node.host, node.port) };
  }

  /**
   * /peer/<up|down|reset>/<peer>, as Netflix (dyn_stats.c): `down` holds the named peer DOWN, `up`
   * releases it (NORMAL again as far as the operator is concerned), `reset` also forgets what the
   * failure detector measured (UNKNOWN until its next heartbeat); `all` (or no name) resets every
   * peer, whatever the action. A peer is named by `host:port` of its dnode listener, or by its name
   * or host, which names every peer on that host (Netflix stops at the first). Returns the peers hit.
   */
  peerAction(action: 'up' | 'down' | 'reset', target: string | undefined): number {
    const all = target === undefined || target === '' || target === 'all';
    const t = this.topology;
    let hit = 0;
    for (let n = 1; n < t.nodes.length; n++) {
      const p = this.o.peers[n];
      const node = t.nodes[n]!;
      if (p === undefined) continue;
      if (!all && target !== `${node.host}:${node.port}` && target !== node.name && target !== node.host) continue;
      hit++;
      const from = this.stateName(n);
      const a = all ? 'reset' : action;
      p.operatorDown = a === 'down';
      const to = this.stateName(n);
      if (from !== to) this.announce(n, from, to, `operator /peer/${a}`);
      // The detector's own transition (if any) is announced by onTransition.
      if (a === 'reset') this.o.gossip()?.table.reset(n);
      this.o.onPeerState?.(n, p.up, `operator /peer/${a}`);
    }
    return hit;
  }

  /** State name of node n: this node's own, the operator's /peer/down, the gossip state, or (gossip off) the link's. */
  stateName(n: number): string {
    if (n === 0) return this.o.selfState();
    if (this.o.peers[n]?.operatorDown) return 'DOWN';
    const g = this.o.gossip()?.table.state(n);
    if (g !== undefined) return gossipStateName(g);
    return this.o.peers[n]?.up ? 'NORMAL' : 'DOWN';
  }

  apply(c: MembershipChange): void {
    if (c.kind === 'remove') {
      const from = this.stateName(c.node);
      this.retire(c.node);
      this.announce(c.node, from, 'REMOVED', c.why);
      return;
    }
    if (c.replaces !== undefined) {
      const from = this.stateName(c.replaces);
      this.retire(c.replaces);
      this.announce(c.replaces, from, 'REMOVED', `replaced by ${c.spec.host}:${c.spec.port}`);
    }
    this.o.hints.addNode(c.node);
    const pc = this.o.connect(c.node);
    this.o.peers[c.node] = pc;
    this.o.gossip()?.table.addPeer(this.gossipMember(c.node), GOSSIP_STATE.JOINING);
    void pc.start();
    this.announce(c.node, 'NONE', 'JOINING', c.why);
  }

  /** A gossip transition of node n: routing health, the removal clock, the log and the events. */
  onTransition(n: number, from: number, to: number, why: string): void {
    const p = this.o.peers[n];
    if (p === undefined) return;
    p.gossipDown = to === GOSSIP_STATE.DOWN;
    p.serves = servesOf(to);
    this.o.membership.stateChanged(n, p.gossipDown, Date.now());
    this.announce(n, gossipStateName(from), gossipStateName(to), why);
    if (!p.gossipDown) this.o.hints.onPeerUp(n);
    this.o.onPeerState?.(n, !p.gossipDown && p.up, `gossip ${gossipStateName(to)}`);
  }

  /** Every peer in the ring with its state, heartbeat age and phi. */
  peerStates(): PeerStateSample[] {
    const out: PeerStateSample[] = [];
    const t = this.topology;
    const g = this.o.gossip();
    for (let n = 1; n < t.nodes.length; n++) {
      const node = t.nodes[n]!;
      if (!node.inRing) continue;
      out.push({
        node: n, hostId: this.o.membership.idOf(n), name: `${node.host}:${node.port}`, ...this.placeOf(n), state: this.stateName(n),
        heartbeatAgeMs: g?.table.heartbeatAge(n) ?? null, phi: g?.table.phi(n) ?? 0,
      });
    }
    return out;
  }

  /** The extra /cluster_describe fields of node n. */
  describeExtra(): (n: number) => Record<string, unknown> {
    const byNode = new Map(this.peerStates().map((p) => [p.node, p]));
    return (n) => {
      const p = byNode.get(n);
      const age = p?.heartbeatAgeMs ?? null;
      return { state: this.stateName(n), heartbeat_age_ms: age === null ? null : Math.round(age), phi: Math.round((p?.phi ?? 0) * 100) / 100 };
    };
  }

  /** Links retired and not closed yet (closed with the cluster). */
  retiredLinks(): PeerConn[] {
    return [...this.retired];
  }

  private retire(n: number): void {
    const p = this.o.peers[n];
    this.o.peers[n] = undefined;
    this.o.gossip()?.table.removePeer(n);
    if (p === undefined) return;
    p.gossipDown = true;
    this.retired.add(p);
    const t = setTimeout(() => {
      this.retired.delete(p);
      void p.close();
    }, this.o.closeAfterMs);
    t.unref();
  }

  private announce(n: number, from: string, to: string, why: string): void {
    const node = this.topology.nodes[n]!;
    const e: MembershipEvent = { node: n, hostId: this.o.membership.idOf(n), host: node.host, port: node.port, ...this.placeOf(n), from, to, why };
    this.o.log.info({ node: e.hostId, address: `${e.host}:${e.port}`, from, to, why }, `membership: ${e.hostId} ${from} -> ${to}`);
    this.o.onEvent?.(e);
  }
}

/** What a node in gossip state `s` serves (Netflix dyn_client.c req_forward_local_datastore). */
export function servesOf(s: number): { reads: boolean; writes: boolean } {
  if (s === GOSSIP_STATE.STANDBY) return { reads: false, writes: false };
  if (s === GOSSIP_STATE.WRITES_ONLY || s === GOSSIP_STATE.RESUMING) return { reads: false, writes: true };
  return { reads: true, writes: true };
}
