// Which token ranges this node compares, and with whom. Every rack is a full replica of the
// ring, so a key lives on one node per rack. For this node's own ranges in its rack, the
// segments are the intersections with the ranges of each node of every other rack (same DC and
// other DCs). Each pair of racks is compared once: the node whose rack sorts first by
// (datacenter name, rack name) starts the exchange, the other only answers. So with racks a, b, c,
// a's nodes compare with b's and c's, b's with c's.
import type { Topology } from '../route/topology.js';

/** An inclusive u32 token range [lo, hi] compared with node `peer`. */
export interface Segment {
  readonly lo: number;
  readonly hi: number;
  readonly peer: number;
}

/** The inclusive, non-wrapping ranges node `node` owns in rack `rack` (one or two per point). */
export function ownedRanges(topo: Topology, rack: number, node: number): [number, number][] {
  const ring = topo.racks[rack]!.ring;
  const out: [number, number][] = [];
  const n = ring.size;
  for (let i = 0; i < n; i++) {
    if (ring.owners[i] !== node) continue;
    const hi = ring.points[i]!;
    if (i > 0) {
      out.push([ring.points[i - 1]! + 1, hi]);
    } else {
      // Point 0 owns (last point, 2^32 - 1] and [0, points[0]].
      out.push([0, hi]);
      const last = ring.points[n - 1]!;
      if (n === 1) {
        if (hi < 0xFFFFFFFF) out.push([hi + 1, 0xFFFFFFFF]);
      } else if (last < 0xFFFFFFFF) out.push([last + 1, 0xFFFFFFFF]);
    }
  }
  return out.filter(([a, b]) => a <= b);
}

function rackKey(topo: Topology, rack: number): string {
  const r = topo.racks[rack]!;
  return `${topo.dcs[r.dc]!.name}\u0000${r.name}`;
}

/** The segments this node (index 0) starts, merged per peer where adjacent. */
export function segmentsToStart(topo: Topology): Segment[] {
  const self = topo.nodes[0]!;
  if (!self.inRing) return [];
  const mine = ownedRanges(topo, self.rack, 0);
  const myKey = rackKey(topo, self.rack);
  const out: Segment[] = [];
  for (const other of topo.racks) {
    if (other.index === self.rack || rackKey(topo, other.index) <= myKey) continue;
    for (const peer of other.nodes) {
      for (const [plo, phi] of ownedRanges(topo, other.index, peer)) {
        for (const [mlo, mhi] of mine) {
          const lo = Math.max(plo, mlo);
          const hi = Math.min(phi, mhi);
          if (lo <= hi) out.push({ lo, hi, peer });
        }
      }
    }
  }
  out.sort((a, b) => a.peer - b.peer || a.lo - b.lo);
  const merged: Segment[] = [];
  for (const s of out) {
    const last = merged[merged.length - 1];
    if (last && last.peer === s.peer && last.hi + 1 === s.lo) merged[merged.length - 1] = { lo: last.lo, hi: s.hi, peer: s.peer };
    else merged.push(s);
  }
  return merged;
}
