// The cluster as this node sees it: datacenters > racks > nodes, with one continuum (Ring) per
// rack. A Topology is an immutable snapshot: it is built whole from the local node and its peers,
// and replaced whole. The node holds one reference (`let topology = buildTopology(...)`); gossip or
// a seed provider builds a new snapshot off to the side and swaps the reference in one assignment,
// so a request planned against a snapshot sees one consistent cluster from start to end, and no
// lock or copy-on-read is needed (JS runs the swap between two requests, never inside one).
//
//   Topology
//   ├─ nodes[]   index 0 = this node, then the peers in the order given (dyn_seeds order; gossip
//   │            appends). The index is Netflix's peer index, stable across snapshots as long as
//   │            the caller keeps the peer list append-only, so health tables keyed by it survive.
//   ├─ dcs[]     Netflix order: by first appearance in nodes[] (the local DC is always dcs[0])
//   │  └─ racks[]  Netflix order (see netflixRackOrder); rack.position = index inside its DC
//   └─ racks[]   every rack, DC by DC, in that order (rack.index = position here)
//        └─ ring   the rack's continuum (ring.ts), node indexes as owners
//
// Netflix ordering, from src/dyn_vnode.c, src/dyn_server.c and src/dyn_dnode_peer.c:
//   - peers = [self, seeds in dyn_seeds order]; `vnode_update` walks them in that order and
//     `server_get_dc` / `server_get_rack` append a DC / rack the first time they see its name.
//   - DCs are never sorted.
//   - `preselect_remote_rack_for_replication` (run once at start-up) sorts each DC's racks with
//     qsort(rack_name_cmp) = string_compare, which is
//         if (s1->len != s2->len) return s1->len - s2->len > 0 ? 1 : -1;   // len is uint32_t
//     The subtraction is unsigned, so two names of different lengths always compare as "1"
//     (each one greater than the other). Names of equal length compare by strncmp (bytes).
//     glibc's qsort is a merge sort (split n/2, take the left element when cmp <= 0), so the
//     result is deterministic but depends on the insertion order; netflixRackOrder replays it.
//     When all rack names of a DC have the same length (us-east-1a/b/c, rack1..rack9) this is
//     simply byte order.
import type { ConfigValues, LocalNodeSpec, PeerSpec } from '../conf/types.js';

export type { LocalNodeSpec, PeerSpec };
import { Ring, checkToken, type RingPoint } from './ring.js';

export interface TopologyNode {
  /** Stable index: 0 = this node, then peers in the order given. */
  readonly index: number;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Index into Topology.dcs. */
  readonly dc: number;
  /** Index into Topology.racks. */
  readonly rack: number;
  /** Tokens as written (u32). */
  readonly tokens: readonly number[];
  readonly isLocal: boolean;
  readonly isLocalDc: boolean;
  /**
   * False for a node removed from the ring (membership.ts: replaced, or DOWN past gos_removal_time):
   * it keeps its index (indexes never move) but owns no token and is in no rack's `nodes`. Its
   * `rack` / `dc` are -1 when no node of the ring is left in that rack / DC.
   */
  readonly inRing: boolean;
}

export interface TopologyRack {
  /** Index into Topology.racks. */
  readonly index: number;
  readonly name: string;
  /** Index into Topology.dcs. */
  readonly dc: number;
  /** Position inside its DC (Netflix rack order): used for remote-DC forwarding. */
  readonly position: number;
  /** Node indexes of the rack, ascending. */
  readonly nodes: readonly number[];
  readonly ring: Ring;
}

export interface TopologyDc {
  /** Index into Topology.dcs (0 = the local DC). */
  readonly index: number;
  readonly name: string;
  /** Racks in Netflix order; racks[p].position === p. */
  readonly racks: readonly TopologyRack[];
  readonly isLocal: boolean;
}

export interface Topology {
  readonly nodes: readonly TopologyNode[];
  readonly dcs: readonly TopologyDc[];
  readonly racks: readonly TopologyRack[];
  /** Always 0: this node. */
  readonly localNode: number;
  /** Always 0: the local DC comes first. */
  readonly localDc: number;
  /** Index into racks of this node's rack. */
  readonly localRack: number;
  /** Configuration oddities that did not stop the build (duplicate tokens, self in the seeds). */
  readonly warnings: readonly string[];
}

/**
 * Builds a snapshot from this node and its peers. Throws RangeError on an empty token list, a
 * token outside u32, an empty DC / rack name or a port outside 1..65535. A peer that is this node
 * itself (same DC, rack, port and tokens, and same host or a wildcard local host), as DNS and
 * Florida seed providers return it, is dropped with a warning.
 */
export function buildTopology(local: LocalNodeSpec, peers: readonly PeerSpec[], o: BuildOptions = {}): Topology {
  const warnings: string[] = [];
  checkSpec(local, 'local node');
  const kept: PeerSpec[] = [];
  for (const p of peers) {
    checkSpec(p, `peer ${p.host}:${p.port}`);
    if (isSelf(local, p)) warnings.push(`peer ${p.host}:${p.port} is this node; ignored`);
    else kept.push(p);
  }
  const all: Array<LocalNodeSpec | PeerSpec> = [local, ...kept];
  const removed = o.removed ?? new Set<number>();
  // DCs and racks come from the nodes in the ring only: a rack whose last node left is gone.
  const specs = all.filter((_, i) => i === 0 || !removed.has(i));

  const dcNames = firstAppearance(specs.map((s) => s.dc));
  const dcOf = new Map(dcNames.map((n, i) => [n, i] as const));
  const rackNamesByDc = dcNames.map((dc) =>
    netflixRackOrder(firstAppearance(specs.filter((s) => s.dc === dc).map((s) => s.rack))));

  const rackIndex = new Map<string, number>();
  const rackList: Array<{ name: string; dc: number; position: number }> = [];
  rackNamesByDc.forEach((names, dc) => names.forEach((name, position) => {
    rackIndex.set(rackKey(dc, name), rackList.length);
    rackList.push({ name, dc, position });
  }));

  const nodes: TopologyNode[] = all.map((s, index) => {
    const dc = dcOf.get(s.dc) ?? -1;
    return Object.freeze({
      index,
      name: s.name ?? s.host,
      host: s.host,
      port: s.port,
      dc,
      rack: dc < 0 ? -1 : rackIndex.get(rackKey(dc, s.rack)) ?? -1,
      tokens: Object.freeze(s.tokens.slice()),
      isLocal: index === 0,
      isLocalDc: dc === 0,
      inRing: index === 0 || !removed.has(index),
    });
  });

  const racks: TopologyRack[] = rackList.map((r, index) => {
    const members = nodes.filter((n) => n.inRing && n.rack === index);
    const points: RingPoint[] = [];
    for (const n of members) for (const token of n.tokens) points.push({ token, node: n.index });
    const ring = Ring.build(points);
    if (ring.hasDuplicates) {
      warnings.push(`rack ${dcNames[r.dc]}/${r.name}: several nodes share a token; ` +
        'the lowest node index owns the keys below it (Netflix nodes may disagree)');
    }
    return Object.freeze({ index, name: r.name, dc: r.dc, position: r.position,
      nodes: Object.freeze(members.map((n) => n.index)), ring });
  });

  const dcs: TopologyDc[] = dcNames.map((name, index) => Object.freeze({
    index, name, isLocal: index === 0,
    racks: Object.freeze(racks.filter((r) => r.dc === index)),
  }));

  return Object.freeze({
    nodes: Object.freeze(nodes),
    dcs: Object.freeze(dcs),
    racks: Object.freeze(racks),
    localNode: 0,
    localDc: 0,
    localRack: nodes[0]!.rack,
    warnings: Object.freeze(warnings),
  });
}

export interface BuildOptions {
  /**
   * Indexes (positions in [local, ...peers], so >= 1) of nodes removed from the ring: they keep
   * their index and own nothing.
   */
  readonly removed?: ReadonlySet<number>;
}

/** The start-up snapshot from a loaded config: this node at its dnode address, peers = dyn_seeds. */
export function topologyFromConfig(
  cfg: Pick<ConfigValues, 'listen' | 'dynListen' | 'datacenter' | 'rack' | 'tokens' | 'dynSeeds'>,
): Topology {
  const at = cfg.dynListen ?? cfg.listen;
  return buildTopology(
    { host: at.host, port: at.port, dc: cfg.datacenter, rack: cfg.rack, tokens: cfg.tokens },
    cfg.dynSeeds);
}

/**
 * Netflix's rack order for one DC: glibc's merge sort (qsort) of the racks in insertion order with
 * Netflix's string_compare, whose unsigned length subtraction makes names of different lengths
 * compare as "greater" both ways. Equal-length names: byte order.
 */
export function netflixRackOrder(insertionOrder: readonly string[]): string[] {
  const a = insertionOrder.slice();
  mergeSort(a, 0, a.length, netflixStringCompare);
  return a;
}

/** Netflix `string_compare` (src/dyn_string.c), bug included: 1 whenever lengths differ. */
export function netflixStringCompare(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return 1;
  return Buffer.compare(x, y);
}

/** glibc msort_with_tmp: sort a[lo, lo+n) by splitting n/2 and merging (left wins on cmp <= 0). */
function mergeSort(a: string[], lo: number, n: number, cmp: (x: string, y: string) => number): void {
  if (n <= 1) return;
  const n1 = n >>> 1;
  const n2 = n - n1;
  mergeSort(a, lo, n1, cmp);
  mergeSort(a, lo + n1, n2, cmp);
  const left = a.slice(lo, lo + n1);
  const right = a.slice(lo + n1, lo + n);
  let i = 0;
  let j = 0;
  let k = lo;
  while (i < n1 && j < n2) a[k++] = cmp(left[i]!, right[j]!) <= 0 ? left[i++]! : right[j++]!;
  while (i < n1) a[k++] = left[i++]!;
  while (j < n2) a[k++] = right[j++]!;
}

/** The rack (index into topology.racks) named `rack` in DC `dc`, or -1. */
export function findRack(topology: Topology, dc: string, rack: string): number {
  const d = topology.dcs.find((x) => x.name === dc);
  const r = d?.racks.find((x) => x.name === rack);
  return r ? r.index : -1;
}

/** The owner of `token` in every rack, in topology.racks order (for tests and diagnostics). */
export function ownersForKey(topology: Topology, token: number): number[] {
  return topology.racks.map((r) => r.ring.ownerOf(token));
}

function checkSpec(s: LocalNodeSpec | PeerSpec, what: string): void {
  if (!s.dc) throw new RangeError(`${what}: empty datacenter name`);
  if (!s.rack) throw new RangeError(`${what}: empty rack name`);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) {
    throw new RangeError(`${what}: port ${String(s.port)} is not in 1..65535`);
  }
  if (s.tokens.length === 0) throw new RangeError(`${what}: no tokens`);
  for (const t of s.tokens) checkToken(t);
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

function isSelf(local: LocalNodeSpec, p: PeerSpec): boolean {
  if (p.dc !== local.dc || p.rack !== local.rack || p.port !== local.port) return false;
  if (p.host !== local.host && !WILDCARD_HOSTS.has(local.host)) return false;
  return sameTokenSet(p.tokens, local.tokens);
}

function sameTokenSet(a: readonly number[], b: readonly number[]): boolean {
  const x = [...new Set(a)].sort((p, q) => p - q);
  const y = [...new Set(b)].sort((p, q) => p - q);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function firstAppearance(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function rackKey(dc: number, rack: string): string {
  return `${dc}\u0000${rack}`;
}
