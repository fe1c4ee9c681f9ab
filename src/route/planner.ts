// The routing plan of one request: which nodes it goes to, how, and how many replies the client
// waits for. Pure: no I/O, no clock, no allocation once a Plan object is reused.
//
// Rules (Netflix's src/dyn_request.c req_forward and friends, except where noted):
//
//   request            local DC                               each remote DC
//   -----------------  -------------------------------------  --------------------------------------
//   read  DC_ONE       the local rack's owner; if it is down,  -
//                      the next local rack's owner, and so on
//   read  (SAFE_)QUORUM  the owner in every local rack        -
//   write DC_ONE /     the owner in every local rack          one 'forward' target (below)
//     (SAFE_)QUORUM
//   any   EACH_SAFE_QUORUM  the owner in every local rack     the owner in every rack ('rack', as
//                                                              Netflix does), or one 'forward'
//                                                              target with {eachQuorumRemote:'forward'}
//
// Target kinds (what the dispatcher sends):
//   'local'    this node's own datastore (the owner in the local rack is this node)
//   'rack'     dnode type 3 REQ to that node: it runs the request on its datastore only
//   'forward'  dnode type 4 REQ_FORWARD to one node of a remote DC, which applies it and
//              forwards it to the owner in each of its DC's other racks
//
// Forward target of a remote DC with n racks: the owner of the key in the rack at position
// (local rack position) mod n (Netflix `preselect_remote_rack_for_replication`); when that owner is
// down, the owner in the next rack (position + 1, + 2 ... mod n). Netflix instead retries racks
// 0, 1, ... skipping the preselected one; both reach a live node of the DC, ours spreads the load
// of a dead rack over the racks after it. If no owner in the DC is up, the preselected owner is
// listed as skipped.
//
// Down targets (health(node) === false) are never sent to and never waited on: they stay in the
// plan with skipped = true so the caller can count them as failed in the coalescer (onFailure) and
// keep hints for writes. health(0) is this node's own datastore: when it is false a DC_ONE read
// fails over to the next local rack like any other down owner (better than Netflix, which answers
// `Datastore refused connection`).
//
// Acknowledgements (what the coalescer decides on). Only `awaited` targets are given to the
// CoalesceTracker (Plan.awaited, in plan order; target.slot is the index there); the others are
// fire-and-forget and their replies are swallowed, as Netflix does for remote DCs:
//
//   DC_ONE               acksByDc[local] = 1; awaited = the local-DC targets (first reply wins)
//   DC_QUORUM / SAFE     acksByDc[local] = floor(n/2)+1, n = racks in the local DC;
//                        awaited = the local-DC targets
//   DC_EACH_SAFE_QUORUM  acksByDc[d] = floor(n_d/2)+1 for every DC d; awaited = every target.
//                        With eachQuorumRemote 'forward', a remote DC has one awaited target and
//                        acksByDc[d] = 1: its single reply stands for the whole DC, so the forward
//                        target must answer only after its own DC reached a safe quorum (which a
//                        Netflix node does not do: keep the default 'direct' in mixed clusters).
//
// Skipped awaited targets count in n (the quorum is over racks, not over live racks): three racks
// with one down still need two agreeing replies.
import type { ConsistencyLevel } from '../conf/types.js';
import type { Topology, TopologyRack } from './topology.js';

export type TargetKind = 'local' | 'rack' | 'forward';

export interface RouteRequest {
  /** The key's token (u32; an int32 is read as u32). */
  readonly token: number;
  readonly isWrite: boolean;
  readonly consistency: ConsistencyLevel;
}

/** Is this node reachable? For node 0 (this node): is the local datastore reachable? */
export type Health = (node: number) => boolean;

export interface PlanOptions {
  /** How DC_EACH_SAFE_QUORUM reaches remote DCs. @default 'direct' */
  readonly eachQuorumRemote?: 'direct' | 'forward';
}

/** One destination of a request. Fields are rewritten when a Plan is reused. */
export class PlanTarget {
  /** Node index in the topology. */
  node = 0;
  kind: TargetKind = 'local';
  /** DC index (0 = local): CoalesceTarget.dc. */
  dc = 0;
  /** Rack index in topology.racks. */
  rack = 0;
  /** CoalesceTarget.isLocalDc. */
  isLocalDc = true;
  /** The client's reply depends on this target (it is in Plan.awaited). */
  awaited = true;
  /** The node is down: not sent to; report it to the coalescer as failed, hint a write. */
  skipped = false;
  /** Index in Plan.awaited, or -1. */
  slot = -1;
}

export class Plan {
  /** Every target, sent or skipped, in plan order: local rack first, local DC, then remote DCs. */
  readonly targets: PlanTarget[] = [];
  /** The awaited targets (the CoalesceTracker's target list), in plan order. */
  readonly awaited: PlanTarget[] = [];
  /** Acknowledgements needed per DC index (0 where the DC's replies are not waited for). */
  acksByDc: Int32Array = new Int32Array(1);
  /** Sum of acksByDc. */
  acks = 0;
  /** Targets that will be sent to (not skipped). */
  live = 0;
  /** Targets skipped because their node is down. */
  skippedCount = 0;
  consistency: ConsistencyLevel = 'DC_ONE';
  isWrite = false;
  private readonly pool: PlanTarget[] = [];
  private count = 0;
  private awaitedCount = 0;

  /** Clears the plan for a topology with dcCount DCs. */
  reset(dcCount: number, consistency: ConsistencyLevel, isWrite: boolean): void {
    if (this.acksByDc.length !== dcCount) this.acksByDc = new Int32Array(dcCount);
    else this.acksByDc.fill(0);
    this.acks = 0;
    this.live = 0;
    this.skippedCount = 0;
    this.count = 0;
    this.awaitedCount = 0;
    this.consistency = consistency;
    this.isWrite = isWrite;
  }

  /** Appends a target (reusing a pooled object). */
  add(node: number, kind: TargetKind, rack: TopologyRack, awaited: boolean, skipped: boolean): void {
    if (this.count === this.pool.length) this.pool.push(new PlanTarget());
    const t = this.pool[this.count]!;
    t.node = node;
    t.kind = kind;
    t.dc = rack.dc;
    t.rack = rack.index;
    t.isLocalDc = rack.dc === 0;
    t.awaited = awaited;
    t.skipped = skipped;
    t.slot = awaited ? this.awaitedCount : -1;
    put(this.targets, this.count++, t);
    if (awaited) put(this.awaited, this.awaitedCount++, t);
    if (skipped) this.skippedCount++;
    else this.live++;
  }

  /** Trims the target arrays to what this plan filled. */
  finish(): void {
    if (this.targets.length > this.count) this.targets.length = this.count;
    if (this.awaited.length > this.awaitedCount) this.awaited.length = this.awaitedCount;
    let sum = 0;
    for (let i = 0; i < this.acksByDc.length; i++) sum += this.acksByDc[i]!;
    this.acks = sum;
  }
}

function put(a: PlanTarget[], i: number, t: PlanTarget): void {
  if (i < a.length) a[i] = t;
  else a.push(t);
}

const NO_OPTIONS: PlanOptions = Object.freeze({});

/** floor(n/2) + 1. */
export function quorum(n: number): number {
  return (n >> 1) + 1;
}

/**
 * Plans one request. Pass `out` to reuse a Plan (and its PlanTarget objects) across requests:
 * the returned plan is `out`, valid until the next plan() into it.
 */
export function plan(topology: Topology, req: RouteRequest, health: Health, out: Plan = new Plan(),
  opts: PlanOptions = NO_OPTIONS): Plan {
  const token = req.token >>> 0;
  const level = req.consistency;
  out.reset(topology.dcs.length, level, req.isWrite);
  const localDc = topology.dcs[0]!;
  const localPos = topology.racks[topology.localRack]!.position;
  const nLocal = localDc.racks.length;

  if (!req.isWrite && level === 'DC_ONE') {
    planLocalOne(out, localDc.racks, localPos, token, health);
  } else {
    for (let k = 0; k < nLocal; k++) {
      const rack = localDc.racks[(localPos + k) % nLocal]!;
      const owner = rack.ring.ownerOf(token);
      out.add(owner, owner === 0 ? 'local' : 'rack', rack, true, !health(owner));
    }
  }
  out.acksByDc[0] = level === 'DC_ONE' ? 1 : quorum(nLocal);

  const each = level === 'DC_EACH_SAFE_QUORUM';
  const direct = each && opts.eachQuorumRemote !== 'forward';
  if (req.isWrite || each) {
    for (let d = 1; d < topology.dcs.length; d++) {
      const racks = topology.dcs[d]!.racks;
      if (direct) {
        planRemoteRacks(out, racks, localPos, token, health);
        out.acksByDc[d] = quorum(racks.length);
      } else {
        planForward(out, racks, localPos, token, health, each);
        if (each) out.acksByDc[d] = 1;
      }
    }
  }
  out.finish();
  return out;
}

/** DC_ONE read: the local rack's owner, else the next local racks' owners until one is up. */
function planLocalOne(out: Plan, racks: readonly TopologyRack[], localPos: number, token: number,
  health: Health): void {
  const n = racks.length;
  for (let k = 0; k < n; k++) {
    const rack = racks[(localPos + k) % n]!;
    const owner = rack.ring.ownerOf(token);
    const up = health(owner);
    out.add(owner, owner === 0 ? 'local' : 'rack', rack, true, !up);
    if (up) return;
  }
}

/** DC_EACH_SAFE_QUORUM, direct: the owner in every rack of a remote DC, from the same position. */
function planRemoteRacks(out: Plan, racks: readonly TopologyRack[], localPos: number,
  token: number, health: Health): void {
  const n = racks.length;
  const start = localPos % n;
  for (let k = 0; k < n; k++) {
    const rack = racks[(start + k) % n]!;
    const owner = rack.ring.ownerOf(token);
    out.add(owner, 'rack', rack, true, !health(owner));
  }
}

/** One forward target for a remote DC: same position mod n, else the next rack whose owner is up. */
function planForward(out: Plan, racks: readonly TopologyRack[], localPos: number, token: number,
  health: Health, awaited: boolean): void {
  const n = racks.length;
  const start = localPos % n;
  for (let k = 0; k < n; k++) {
    const rack = racks[(start + k) % n]!;
    const owner = rack.ring.ownerOf(token);
    if (health(owner)) {
      out.add(owner, 'forward', rack, awaited, false);
      return;
    }
  }
  const rack = racks[start]!;
  out.add(rack.ring.ownerOf(token), 'forward', rack, awaited, true);
}

/** Keys that go to the same owner(s): `keys` are indexes into the token list, ascending. */
export interface KeyGroup {
  /** The owner in the first rack given. */
  readonly node: number;
  /** The owner in each rack given, in the order given. */
  readonly owners: readonly number[];
  readonly keys: number[];
}

/**
 * Splits a multi-key request (MGET, MSET, DEL ...) into per-owner fragments: groups in order of
 * their first key, keys in key order. With one rack this is Netflix's fragmentation (it groups by
 * the local rack's owner). With several racks, keys are grouped by their owners in all of them, so
 * a fragment sent to every rack is correct even when racks have different token layouts (Netflix
 * routes a fragment by its first key in every rack, which misplaces keys when layouts differ).
 */
export function groupKeysByOwner(topology: Topology, tokens: Uint32Array | readonly number[],
  rack: number | readonly number[]): KeyGroup[] {
  const racks = typeof rack === 'number' ? [rack] : rack;
  if (racks.length === 0) throw new RangeError('groupKeysByOwner: no rack given');
  const rings = racks.map((r) => {
    const x = topology.racks[r];
    if (!x) throw new RangeError(`groupKeysByOwner: no rack ${r}`);
    return x.ring;
  });
  const groups: KeyGroup[] = [];
  const byOwners = new Map<string, KeyGroup>();
  const owners: number[] = new Array<number>(rings.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    for (let r = 0; r < rings.length; r++) owners[r] = rings[r]!.ownerOf(t);
    const key = rings.length === 1 ? String(owners[0]) : owners.join(',');
    let g = byOwners.get(key);
    if (!g) {
      g = { node: owners[0]!, owners: owners.slice(), keys: [] };
      byOwners.set(key, g);
      groups.push(g);
    }
    g.keys.push(i);
  }
  return groups;
}

/** `/cluster_describe`, Netflix's JSON shape. */
export interface ClusterDescription {
  dcs: Array<{
    name: string;
    racks: Array<{
      name: string;
      servers: Array<{ name: string; host: string; port: number; token: number | string; [extra: string]: unknown }>;
    }>;
  }>;
}

/**
 * The topology as Netflix's `/cluster_describe` shows it: DCs and racks in routing order, nodes by
 * index, port = dnode port. `token` is a number for a node with one token; with several (which
 * Netflix cannot run: its gossip table keeps one token per node and shows `tokens[0]`, the LAST
 * token written because `derive_tokens` parses the list right to left) it is the comma list as
 * written, the syntax `tokens:` and `dyn_seeds` accept.
 */
export function describe(topology: Topology, extra?: (node: number) => Record<string, unknown>): ClusterDescription {
  return {
    dcs: topology.dcs.map((dc) => ({
      name: dc.name,
      racks: dc.racks.map((rack) => ({
        name: rack.name,
        servers: rack.nodes.map((i) => {
          const n = topology.nodes[i]!;
          return {
            name: n.name, host: n.host, port: n.port,
            token: n.tokens.length === 1 ? n.tokens[0]! : n.tokens.join(','),
            ...extra?.(i),
          };
        }),
      })),
    })),
  };
}
