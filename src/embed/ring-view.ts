// The ring as a program (or the dashboard) sees it: per datacenter and rack, every node with its
// tokens, the token ranges it owns on its rack's ring, and whether this node can reach it.
import type { NodeOptions } from '../conf/options.js';
import type { RunningCluster } from '../cluster/node-cluster.js';

export type NodeState = 'self' | 'up' | 'down';

export interface PeerInfo {
  /** Topology index (0 = this node). */
  index: number;
  name: string;
  host: string;
  port: number;
  dc: string;
  rack: string;
  tokens: number[];
  /** Ranges this node owns on its rack's ring: (from, to], wrapping past 2^32 - 1 when from >= to. */
  ranges: Array<{ from: number; to: number }>;
  state: NodeState;
  self: boolean;
}

export interface RingView {
  datacenters: Array<{ name: string; local: boolean; racks: Array<{ name: string; nodes: PeerInfo[] }> }>;
}

export function ringView(options: NodeOptions, cluster: RunningCluster | undefined): RingView {
  if (!cluster) {
    const tokens = [...(options.tokens ?? [0])];
    const self: PeerInfo = {
      index: 0, name: `${options.listen.host}:${options.listen.port}`, host: options.listen.host, port: options.listen.port,
      dc: options.datacenter, rack: options.rack, tokens, ranges: rangesOf(tokens, tokens), state: 'self', self: true,
    };
    return { datacenters: [{ name: options.datacenter, local: true, racks: [{ name: options.rack, nodes: [self] }] }] };
  }
  const t = cluster.topology();
  return {
    datacenters: t.dcs.map((dc) => ({
      name: dc.name,
      local: dc.isLocal,
      racks: dc.racks.map((rack) => {
        const all = rack.nodes.flatMap((n) => t.nodes[n]!.tokens);
        return {
          name: rack.name,
          nodes: rack.nodes.map((n): PeerInfo => {
            const node = t.nodes[n]!;
            const peer = cluster.peers[n];
            return {
              index: n, name: node.name, host: node.host, port: node.port, dc: dc.name, rack: rack.name,
              tokens: [...node.tokens], ranges: rangesOf(node.tokens, all),
              state: n === 0 ? 'self' : peer?.up ? 'up' : 'down', self: n === 0,
            };
          }),
        };
      }),
    })),
  };
}

/** The ranges `mine` own among all of a rack's tokens: each token owns (previous token, token]. */
function rangesOf(mine: readonly number[], all: readonly number[]): Array<{ from: number; to: number }> {
  const sorted = [...new Set(all)].sort((a, b) => a - b);
  return [...mine].sort((a, b) => a - b).map((to) => {
    const i = sorted.indexOf(to);
    return { from: sorted[(i - 1 + sorted.length) % sorted.length]!, to };
  });
}
