// Membership: which nodes are in the ring, as gossip and the seed provider report them. Pure (no I/O,
// no timers: the caller passes the clock); the node applies each change it returns (peer link, gossip
// table, hints) and swaps the topology snapshot it routes on (node-cluster.ts).
//
//   observe(record)  a gossip record (host id dc$rack$token, ts, state, address):
//       host id unknown, address new          -> join      (a new index; its token enters its rack's ring)
//       host id unknown, address of a member  -> join that replaces the member at that address (its
//                                                tokens changed: the old ones leave the ring)
//       host id known, same address           -> nothing (state is the gossip table's business)
//       host id known, other address, newer ts-> join that replaces the member (a node replaced at a
//                                                new address with the same tokens takes its range over;
//                                                an older record, e.g. one still relayed about the
//                                                dead node, changes nothing)
//   seeds(list)      a seed provider's answer: unknown nodes join, known ones at a new address replace;
//                    a node missing from the list stays (gossip decides whether it is gone)
//   stateChanged     a member's effective state: DOWN (convicted or announced on a clean exit) starts
//                    its removal clock, anything else stops it
//   expire(now)      members DOWN for removalMs or more leave the ring (0 = never)
//
// Indexes never move (the topology's node index is what peer links, hints and the gossip table are
// keyed by): a member that leaves keeps its index with inRing false, and one that comes back later
// (a record newer than the last one seen of it) joins again under a new index. Joins never take a
// DOWN, LEAVING, REMOVED or EXITING record: a node known only from its farewell is not added.
import { buildTopology, type LocalNodeSpec, type PeerSpec, type Topology } from '../route/topology.js';
import { checkToken } from '../route/ring.js';

/** Netflix dyn_state_t numbers that say a node is not (or no longer) serving. */
const FAREWELL_STATES = new Set([6 /* LEAVING */, 8 /* DOWN */, 9 /* REMOVED */, 10 /* EXITING */]);

/** A gossip record with its address resolved to host and port. */
export interface MemberRecord {
  readonly dc: string;
  readonly rack: string;
  readonly token: string;
  /** Seconds (Netflix time(NULL)). */
  readonly ts: number;
  readonly state: number;
  readonly host: string;
  /**
   * undefined when the address was a bare host (Netflix's form): the member's own port for a known
   * host id (Netflix: "port is supposed to be the same"), this node's dnode port for a new one.
   */
  readonly port: number | undefined;
}

export type MembershipChange =
  /** `node` entered the ring; `replaces`: the member it took over from (now out of the ring). */
  | { readonly kind: 'join'; readonly node: number; readonly spec: PeerSpec; readonly replaces?: number; readonly why: string }
  /** `node` left the ring (it keeps its index). */
  | { readonly kind: 'remove'; readonly node: number; readonly why: string };

export interface MembershipOptions {
  /** gos_removal_time: a member DOWN this long leaves the ring, ms; 0 = never. */
  readonly removalMs: number;
}

/** The host id Netflix gossips a node under: `dc$rack$token`, the first token written. */
export function memberId(s: { dc: string; rack: string; tokens: readonly number[] }): string {
  return `${s.dc}$${s.rack}$${String(s.tokens[0] ?? 0)}`;
}

export class Membership {
  private readonly self: LocalNodeSpec;
  private readonly specs: PeerSpec[];
  private readonly gone = new Set<number>();
  /** Host id -> index of the member that holds it now (members in the ring only). */
  private readonly byId = new Map<string, number>();
  /** Host id -> the newest ts seen in a record of it (kept after the member left). */
  private readonly lastTs = new Map<string, number>();
  private readonly downSince = new Map<number, number>();
  private topo: Topology;

  /** Starts from the start-up snapshot (dyn_seeds / the seed provider, this node dropped). */
  constructor(start: Topology, private readonly o: MembershipOptions) {
    const [me, ...rest] = start.nodes;
    const spec = (n: typeof me & object): PeerSpec => ({
      host: n.host, port: n.port, dc: start.dcs[n.dc]!.name, rack: start.racks[n.rack]!.name, tokens: n.tokens, name: n.name,
    });
    this.self = spec(me!);
    this.specs = rest.map(spec);
    this.topo = start;
    this.byId.set(memberId(this.self), 0);
    this.specs.forEach((s, i) => {
      // Two seeds with the same host id: the first one owns it (the ring already prefers it).
      if (!this.byId.has(memberId(s))) this.byId.set(memberId(s), i + 1);
    });
  }

  /** The snapshot to route on (a new object after every change). */
  get topology(): Topology {
    return this.topo;
  }

  /** True while node `n` is in the ring. */
  inRing(n: number): boolean {
    return n === 0 || (n <= this.specs.length && !this.gone.has(n));
  }

  /** Node `n`'s host id (dc$rack$token). */
  idOf(n: number): string {
    return memberId(n === 0 ? this.self : this.specs[n - 1]!);
  }

  /** A gossip record: a join or a replacement, or nothing. */
  observe(r: MemberRecord): MembershipChange | undefined {
    const id = `${r.dc}$${r.rack}$${r.token}`;
    const seen = this.lastTs.get(id);
    const newer = seen === undefined || r.ts > seen;
    if (newer) this.lastTs.set(id, r.ts);
    const at = this.byId.get(id);
    if (at === 0) return undefined; // about this node
    if (at !== undefined) {
      const m = this.specs[at - 1]!;
      const port = r.port ?? m.port;
      if (m.host === r.host && m.port === port) return undefined;
      if (!newer || FAREWELL_STATES.has(r.state)) return undefined;
      return this.join(id, { host: r.host, port, dc: r.dc, rack: r.rack, tokens: m.tokens }, at,
        `${id} announced at ${r.host}:${port} with a newer timestamp (${r.ts} > ${String(seen)}): replaces ${m.host}:${m.port}`);
    }
    if (!newer || FAREWELL_STATES.has(r.state)) return undefined;
    const token = tokenOf(r.token);
    if (token === undefined) return undefined;
    const port = r.port ?? this.self.port;
    const spec: PeerSpec = { host: r.host, port, dc: r.dc, rack: r.rack, tokens: [token] };
    const same = this.memberAt(r.host, port);
    if (same === 0) return undefined; // someone else's name for this node's address: ignore it
    return this.join(id, spec, same, same === undefined
      ? `announced by gossip (${id} at ${r.host}:${port}, ts ${r.ts})`
      : `announced by gossip at the address of ${this.idOf(same)} with new tokens (${id}, ts ${r.ts})`);
  }

  /** A seed provider's list: unknown nodes join, known ones at a new address replace; none is dropped. */
  seeds(peers: readonly PeerSpec[]): MembershipChange[] {
    const out: MembershipChange[] = [];
    for (const p of peers) {
      const id = memberId(p);
      const at = this.byId.get(id);
      if (at === 0) continue;
      if (at !== undefined) {
        const m = this.specs[at - 1]!;
        if (m.host !== p.host || m.port !== p.port) out.push(this.join(id, p, at, `seed provider lists ${id} at ${p.host}:${p.port} (was ${m.host}:${m.port})`));
        continue;
      }
      const same = this.memberAt(p.host, p.port);
      if (same === 0) continue;
      out.push(this.join(id, p, same, `listed by the seed provider (${id} at ${p.host}:${p.port})`));
    }
    return out;
  }

  /** Node `n`'s effective state changed: DOWN starts its removal clock, anything else stops it. */
  stateChanged(n: number, down: boolean, now: number): void {
    if (n === 0 || !this.inRing(n)) return;
    if (!down) this.downSince.delete(n);
    else if (!this.downSince.has(n)) this.downSince.set(n, now);
  }

  /** ms node `n` has been DOWN, or undefined when it is not. */
  downFor(n: number, now: number): number | undefined {
    const t = this.downSince.get(n);
    return t === undefined ? undefined : now - t;
  }

  /** Members DOWN for removalMs or more leave the ring. */
  expire(now: number): MembershipChange[] {
    if (!(this.o.removalMs > 0)) return [];
    const out: MembershipChange[] = [];
    for (const [n, since] of this.downSince) {
      if (now - since < this.o.removalMs) continue;
      this.leave(n);
      out.push({ kind: 'remove', node: n, why: `DOWN for ${Math.round(now - since)} ms (gos_removal_time ${this.o.removalMs} ms)` });
    }
    if (out.length > 0) this.rebuild();
    return out;
  }

  /** The member (in the ring) at host:port: 0 for this node, undefined when none. */
  private memberAt(host: string, port: number): number | undefined {
    if (this.self.host === host && this.self.port === port) return 0;
    const i = this.specs.findIndex((s, k) => !this.gone.has(k + 1) && s.host === host && s.port === port);
    return i < 0 ? undefined : i + 1;
  }

  private join(id: string, spec: PeerSpec, replaces: number | undefined, why: string): MembershipChange {
    if (replaces !== undefined) this.leave(replaces);
    this.specs.push(spec);
    const node = this.specs.length;
    this.byId.set(id, node);
    this.rebuild();
    return replaces === undefined ? { kind: 'join', node, spec, why } : { kind: 'join', node, spec, replaces, why };
  }

  private leave(n: number): void {
    this.gone.add(n);
    this.downSince.delete(n);
    const id = memberId(this.specs[n - 1]!);
    if (this.byId.get(id) === n) this.byId.delete(id);
  }

  private rebuild(): void {
    this.topo = buildTopology(this.self, this.specs, { removed: this.gone });
  }
}

function tokenOf(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const t = Number(text);
  try {
    checkToken(t);
  } catch {
    return undefined;
  }
  return t;
}
