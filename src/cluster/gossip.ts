// Gossip (enable_gossip): peer state in Netflix Dynomite's wire format, and a failure detector.
//
//   every gos_interval ms:  refresh own timestamp ─► GOSSIP_SYN (7) to every peer
//       payload "dc$rack$token,ts,state,address|dc$rack$token,ts,state,address|..."  (self first)
//   every check tick:       the phi-accrual detector (failure-detector.ts) convicts late peers
//   GOSSIP_SYN in  ─► parseGossip ─► GossipTable.merge   (a newer timestamp wins, with its state; an
//                                                          advance is the node's heartbeat)
//   a peer link refused / reset / closed (or timed out while late) ─► linkFailure: DOWN at once
//   close() ─► a last GOSSIP_SYN to every peer whose own record says DOWN with a newer timestamp
//   GOSSIP_SHUTDOWN (13) in ─► the records named are DOWN at once (accepted, never sent)
//
// Netflix sends only GOSSIP_SYN (dyn_gossip.c gossip_forward_state, to one random peer per round);
// GOSSIP_SYN_REPLY is parsed and ignored, ACK and the DIGEST types are defined but never used, and
// a Netflix node reads any other type (13 included) as a datastore request. So the clean-exit notice
// travels as a SYN whose own record says DOWN (ts bumped by a second so it is newer than the last
// heartbeat): a Netflix peer takes the state too, as it takes any newer record.
//
// Netflix's format (dyn_dnode_msg.c dmsg_parse): records joined by '|', each
// `host_id,generation_ts,state,address` with host_id = `dc$rack$token`; the payload is parsed from the
// right (the last three commas delimit address, state and ts; the last two '$' of the host id delimit
// token and rack), so a dc name may hold '$' or ',' and a record still parses. ts is wall-clock seconds
// (time(NULL)); state is the number of Netflix's dyn_state_t (GOSSIP_STATE below).
//
// The address: Netflix sends the host alone and takes the receiver's own dyn_listen port for it
// (dyn_dnode_msg.c: rnode->port = sp->dnode_proxy_endpoint.port), i.e. every node on one port, 8101 in
// practice; a Netflix node that reads `host:port` takes it for a new host name and "replaces" the node
// with an address it cannot resolve (dyn_gossip.c gossip_add_node_if_absent: nodes are matched by
// name within their rack). Nodes here may listen on any port (several on one host), and a node learned
// from gossip must be reachable. So the address is written per receiver: the host alone when the node
// listens on the receiver's own dnode port (what Netflix means by a bare host), `host:port` otherwise.
// A cluster that mixes in Netflix nodes therefore runs every node on one port, as Netflix requires.
// Read back, a bare host means the member's known port, or for a new node the receiver's own port.
//
// Rules here (a node refreshes only its own timestamp):
// - merge: a record whose ts is newer than ours replaces ts and the state the node announced, and is
//   proof of life (the detector's heartbeat). An older or equal ts changes nothing: a relayed DOWN with
//   the same ts is another node's detector verdict (Netflix relays its own), and verdicts are local.
//   Records about this node are ignored. Before a SYN's records are merged, `beforeMerge` gives them
//   to membership (membership.ts), which adds joined nodes (addPeer) and drops replaced or removed ones
//   (removePeer); a record still about no known node after that is logged once.
// - failure detector: phi accrual over the intervals between heartbeats (see failure-detector.ts). The
//   timestamp counts seconds, so heartbeats arrive at most once a second: the expected interval is
//   max(gos_interval, 1 s). A peer never heard from stays UNKNOWN and is not marked down (a peer
//   without gossip is judged by its connection). DOWN -> the announced state only on a newer ts.
// - the verdict is local: a node relays the state a peer announced, not its own detector's opinion.
import type { Logger } from 'pino';
import { FailureDetector, type Transition } from './failure-detector.js';

/** Netflix dyn_state_t numbers, as they travel in the state field. */
export const GOSSIP_STATE = {
  INIT: 0, STANDBY: 1, WRITES_ONLY: 2, RESUMING: 3, NORMAL: 4, SUSPENDING: 5, LEAVING: 6,
  JOINING: 7, DOWN: 8, REMOVED: 9, EXITING: 10, RESET: 11, UNKNOWN: 12,
} as const;
export type GossipStateName = keyof typeof GOSSIP_STATE;

const STATE_NAMES = Object.keys(GOSSIP_STATE) as GossipStateName[];

/** Name of state number `s` ('UNKNOWN' for numbers Netflix does not define). */
export function gossipStateName(s: number): GossipStateName {
  return STATE_NAMES.find((n) => GOSSIP_STATE[n] === s) ?? 'UNKNOWN';
}

/** The number announced for a node state name (control.ts states); unknown names announce NORMAL. */
export function gossipStateOf(name: string): number {
  return (GOSSIP_STATE as Record<string, number>)[name] ?? GOSSIP_STATE.NORMAL;
}

/** Netflix's dnode port (dyn_gossip.c PEER_PORT): the one port an address may leave out. */
export const NETFLIX_PEER_PORT = 8101;

/**
 * The address field for a node at host:port as a receiver whose dnode port is `receiverPort` reads it:
 * the host alone when the node listens on that port (what Netflix sends and understands), else host:port.
 */
export function gossipAddress(host: string, port: number, receiverPort?: number): string {
  if (port === receiverPort) return host;
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An address field (as stored: host:port) rewritten for a receiver listening on `receiverPort`. */
export function addressFor(address: string, receiverPort: number | undefined): string {
  if (receiverPort === undefined) return address;
  const a = parseAddress(address, NETFLIX_PEER_PORT);
  return gossipAddress(a.host, a.port, receiverPort);
}

/** Host and port of an address field; `defaultPort` (this node's dyn_listen port) when it has none. */
export function parseAddress(address: string, defaultPort: number): { host: string; port: number } {
  const a = splitAddress(address);
  return { host: a.host, port: a.port ?? defaultPort };
}

/** Host and port of an address field; port undefined when the field is a bare host (Netflix's form). */
export function splitAddress(address: string): { host: string; port: number | undefined } {
  const v6 = /^\[([^\]]*)\](?::(\d{1,5}))?$/.exec(address);
  if (v6) return { host: v6[1]!, port: v6[2] !== undefined ? Number(v6[2]) : undefined };
  const m = /^([^:]*):(\d{1,5})$/.exec(address);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 65535) return { host: m[1]!, port: Number(m[2]) };
  return { host: address, port: undefined };
}

export const GOSSIP_SYN = 7;
export const GOSSIP_SHUTDOWN = 13;

/** Timestamps count seconds: heartbeats (ts advances) come at most this often. */
const TIMESTAMP_GRANULARITY_MS = 1000;

/** How often the detector runs for a gossip interval (ms): a quarter interval, 25..250 ms. */
export function checkEveryMs(intervalMs: number): number {
  return Math.max(25, Math.min(250, Math.floor(intervalMs / 4)));
}

export interface GossipRecord {
  dc: string;
  rack: string;
  token: string;
  /** Seconds (Netflix time(NULL)). */
  ts: number;
  state: number;
  address: string;
}

export function hostId(r: { dc: string; rack: string; token: string }): string {
  return `${r.dc}$${r.rack}$${r.token}`;
}

/** Netflix GOSSIP_SYN payload: records joined by '|'. */
export function encodeGossip(records: readonly GossipRecord[]): Buffer {
  return Buffer.from(records.map((r) => `${hostId(r)},${r.ts},${r.state},${r.address}`).join('|'), 'latin1');
}

/**
 * Parses a GOSSIP_SYN / GOSSIP_SHUTDOWN payload from the right, as Netflix does. Records in payload
 * order. A record without three commas, without two '$' in its host id, or whose ts / state is not a
 * decimal number is skipped (Netflix's atol would read garbage as 0 and trust it).
 */
export function parseGossip(payload: Buffer | string): GossipRecord[] {
  const text = typeof payload === 'string' ? payload : payload.toString('latin1');
  const out: GossipRecord[] = [];
  if (text.length === 0) return out;
  for (const rec of text.split('|')) {
    const c3 = rec.lastIndexOf(',');
    const c2 = c3 > 0 ? rec.lastIndexOf(',', c3 - 1) : -1;
    const c1 = c2 > 0 ? rec.lastIndexOf(',', c2 - 1) : -1;
    if (c1 < 0) continue;
    const id = rec.slice(0, c1);
    const ts = rec.slice(c1 + 1, c2);
    const state = rec.slice(c2 + 1, c3);
    const d2 = id.lastIndexOf('$');
    const d1 = d2 > 0 ? id.lastIndexOf('$', d2 - 1) : -1;
    if (d1 < 0 || !/^\d{1,15}$/.test(ts) || !/^\d{1,3}$/.test(state)) continue;
    out.push({ dc: id.slice(0, d1), rack: id.slice(d1 + 1, d2), token: id.slice(d2 + 1), ts: Number(ts), state: Number(state), address: rec.slice(c3 + 1) });
  }
  return out;
}

/** One known node as the table sees it. */
export interface GossipMember {
  /** Topology node index (0 = this node). */
  node: number;
  dc: string;
  rack: string;
  token: string;
  address: string;
}

interface Entry extends GossipMember {
  id: string;
  ts: number;
  /** The state the node itself announced with its newest ts. */
  announced: number;
}

export interface GossipTableOptions {
  self: GossipMember;
  peers: readonly GossipMember[];
  intervalMs: number;
  /** phi_convict_threshold. @default 8 */
  phiThreshold?: number;
  /** phi_window_size. @default 1000 */
  phiWindow?: number;
  /** Local monotonic clock, ms. */
  now: () => number;
  /** Wall clock, seconds (this node's timestamp). */
  wallSeconds: () => number;
  /** This node's own state number (GOSSIP_STATE). */
  selfState: () => number;
  /** A peer's effective state changed. */
  onTransition?: (node: number, from: number, to: number, why: string) => void;
  /** A record named a node outside the topology (first time only). */
  onUnknown?: (record: GossipRecord) => void;
  /** Sees a SYN's records before they are merged (membership adds and drops peers here). */
  beforeMerge?: (records: readonly GossipRecord[]) => void;
}

/** Per-node gossip state, the merge rules and the failure detector (no I/O; clocks injected). */
export class GossipTable {
  readonly detector: FailureDetector;
  private readonly self: Entry;
  private readonly byId = new Map<string, Entry>();
  private readonly byNode: Entry[] = [];
  private readonly unknown = new Set<string>();

  constructor(private readonly o: GossipTableOptions) {
    this.detector = new FailureDetector({
      expectedIntervalMs: Math.max(o.intervalMs, TIMESTAMP_GRANULARITY_MS),
      checkEveryMs: checkEveryMs(o.intervalMs),
      threshold: o.phiThreshold,
      windowSize: o.phiWindow,
    });
    this.self = entry(o.self);
    for (const p of o.peers) {
      const e = entry(p);
      this.byId.set(e.id, e);
      this.byNode[p.node] = e;
      this.detector.add(p.node);
    }
  }

  /** Starts tracking a peer that joined, in state `announced` (JOINING) until its next heartbeat. */
  addPeer(m: GossipMember, announced: number = GOSSIP_STATE.UNKNOWN): void {
    const e = entry(m);
    e.announced = announced;
    this.byId.set(e.id, e);
    this.byNode[m.node] = e;
    this.unknown.delete(e.id);
    this.detector.add(m.node);
  }

  /** Forgets a peer that left the ring or was replaced (its host id may now name another node). */
  removePeer(node: number): void {
    const e = this.byNode[node];
    if (e === undefined) return;
    delete this.byNode[node];
    if (this.byId.get(e.id) === e) this.byId.delete(e.id);
    this.detector.remove(node);
  }

  /** Node indexes of the peers tracked now. */
  peerNodes(): number[] {
    return [...this.byId.values()].map((e) => e.node);
  }

  /** A node refreshes only its own timestamp. */
  refreshSelf(): void {
    this.self.ts = Math.max(this.self.ts, this.o.wallSeconds());
    this.self.announced = this.o.selfState();
  }

  /** Effective state of topology node `node` (undefined for this node and unknown indexes). */
  state(node: number): number | undefined {
    const e = this.byNode[node];
    return e === undefined ? undefined : this.effective(e);
  }

  isDown(node: number): boolean {
    return this.state(node) === GOSSIP_STATE.DOWN;
  }

  /** /peer/reset: forgets what the detector measured; the peer is UNKNOWN until its next heartbeat. */
  reset(node: number): void {
    const e = this.byNode[node];
    if (e === undefined) return;
    this.change(e, 'reset by the operator (/peer/reset)', () => {
      this.detector.reset(node);
    });
  }

  /** Applies a GOSSIP_SYN's records: a newer timestamp wins, with the state it carries. */
  merge(records: readonly GossipRecord[]): void {
    this.o.beforeMerge?.(records);
    for (const r of records) {
      const e = this.lookup(r);
      if (e === undefined) continue;
      if (r.ts > e.ts) {
        const why = r.state === GOSSIP_STATE.DOWN ? 'announced DOWN (clean exit)' : `timestamp advanced to ${r.ts}`;
        this.change(e, why, () => {
          e.ts = r.ts;
          e.announced = r.state;
          if (r.state !== GOSSIP_STATE.DOWN) this.detector.heartbeat(e.node, this.o.now());
        });
      }
    }
  }

  /** Applies a GOSSIP_SHUTDOWN: every node it names is DOWN now (unless we know a newer life of it). */
  shutdown(records: readonly GossipRecord[]): void {
    for (const r of records) {
      const e = this.lookup(r);
      if (e === undefined || r.ts < e.ts) continue;
      this.change(e, 'GOSSIP_SHUTDOWN', () => {
        e.ts = r.ts;
        e.announced = GOSSIP_STATE.DOWN;
      });
    }
  }

  /** The failure detector's phi test (call it every checkEveryMs(intervalMs)). */
  detect(): void {
    for (const t of this.detector.check(this.o.now())) this.applyVerdict(t);
  }

  /**
   * The peer link's direct signal (refused, reset, closed): DOWN at once. `lateOnly` (a request timed
   * out): only when the peer's heartbeat is late too.
   */
  linkFailure(node: number, why: string, lateOnly = false): void {
    const t = this.detector.linkFailure(node, why, this.o.now(), lateOnly);
    if (t !== undefined) this.applyVerdict(t);
  }

  /** phi of a peer now (0 when never heard from or DOWN). */
  phi(node: number): number {
    return this.detector.phi(node, this.o.now());
  }

  /** ms since the peer's last heartbeat, or undefined when never heard from. */
  heartbeatAge(node: number): number | undefined {
    return this.detector.heartbeatAge(node, this.o.now());
  }

  /** Every record this node knows, itself first (what a GOSSIP_SYN carries), addressed for `receiverPort`. */
  records(receiverPort?: number): GossipRecord[] {
    return [this.self, ...this.byId.values()].map((e) => recordOf(e, receiverPort));
  }

  /** The dnode port of peer `node` (from its stored host:port address). */
  portOf(node: number): number | undefined {
    const e = this.byNode[node];
    return e === undefined ? undefined : parseAddress(e.address, NETFLIX_PEER_PORT).port;
  }

  /**
   * This node's own record with state DOWN and a ts newer than any heartbeat it sent (what the clean
   * exit's last GOSSIP_SYN carries: a same-second record would be ignored as not newer).
   */
  shutdownRecord(): GossipRecord {
    this.self.ts = Math.max(this.self.ts + 1, this.o.wallSeconds());
    this.self.announced = GOSSIP_STATE.DOWN;
    return recordOf(this.self);
  }

  /** For logs and the admin view: host id -> state name and ts. */
  describe(): { hostId: string; node: number; state: GossipStateName; ts: number }[] {
    return [...this.byId.values()].map((e) => ({ hostId: e.id, node: e.node, state: gossipStateName(this.effective(e)), ts: e.ts }));
  }

  private lookup(r: GossipRecord): Entry | undefined {
    const id = hostId(r);
    if (id === this.self.id) return undefined;
    const e = this.byId.get(id);
    if (e === undefined && !this.unknown.has(id)) {
      this.unknown.add(id);
      this.o.onUnknown?.(r);
    }
    return e;
  }

  private applyVerdict(t: Transition): void {
    const e = this.byNode[t.peer];
    if (e === undefined) return;
    // The detector already changed its verdict: compare the states before and after it.
    const from = effectiveOf(e.announced, t.from === 'DOWN');
    const to = effectiveOf(e.announced, t.to === 'DOWN');
    if (from !== to) this.o.onTransition?.(e.node, from, to, t.why);
  }

  private change(e: Entry, why: string, apply: () => void): void {
    const from = this.effective(e);
    apply();
    const to = this.effective(e);
    if (from !== to) this.o.onTransition?.(e.node, from, to, why);
  }

  /** DOWN when the node announced it or the detector convicted it; else what the node announced. */
  private effective(e: Entry): number {
    return effectiveOf(e.announced, this.detector.isDown(e.node));
  }
}

function effectiveOf(announced: number, convicted: boolean): number {
  return convicted ? GOSSIP_STATE.DOWN : announced;
}

function entry(m: GossipMember): Entry {
  return { ...m, id: hostId(m), ts: 0, announced: GOSSIP_STATE.UNKNOWN };
}

function recordOf(e: Entry, receiverPort?: number): GossipRecord {
  return { dc: e.dc, rack: e.rack, token: e.token, ts: e.ts, state: e.announced, address: addressFor(e.address, receiverPort) };
}

export interface GossipOptions extends Omit<GossipTableOptions, 'now' | 'wallSeconds' | 'onTransition'> {
  log: Logger;
  /** Sends a one-way dnode message of `type` to topology node `node`; false when its link is down. */
  send: (node: number, type: number, payload: Buffer) => boolean;
  /** A peer's effective state changed (the node logs it and wires routing health here). */
  onTransition?: (node: number, from: number, to: number, why: string) => void;
  now?: () => number;
  wallSeconds?: () => number;
}

/** The gossip round timer around a GossipTable: sends, receives, shuts down. */
export class Gossip {
  readonly table: GossipTable;
  private timer: NodeJS.Timeout | undefined;
  private checker: NodeJS.Timeout | undefined;

  constructor(private readonly o: GossipOptions) {
    this.table = new GossipTable({
      ...o,
      now: o.now ?? (() => performance.now()),
      wallSeconds: o.wallSeconds ?? (() => Math.floor(Date.now() / 1000)),
      onTransition: (node, from, to, why) => o.onTransition?.(node, from, to, why),
      onUnknown: (r) => {
        o.log.info({ hostId: hostId(r), address: r.address, state: gossipStateName(r.state) }, 'gossip: record of a node not in the ring, not joined (it announced it is not serving, or its token is not a u32)');
      },
    });
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts the rounds (the first one now) and the detector's checks. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.round(), this.o.intervalMs);
    this.timer.unref();
    this.checker = setInterval(() => this.table.detect(), checkEveryMs(this.o.intervalMs));
    this.checker.unref();
    this.round();
  }

  /** Stops the rounds and the detector without telling anyone (what a crash looks like to the peers). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.checker) clearInterval(this.checker);
    this.timer = undefined;
    this.checker = undefined;
  }

  /** Clean exit: stops, and sends every peer a GOSSIP_SYN whose own record says DOWN. */
  shutdown(): void {
    this.stop();
    const last = this.table.shutdownRecord();
    for (const n of this.table.peerNodes()) {
      this.o.send(n, GOSSIP_SYN, encodeGossip([{ ...last, address: addressFor(last.address, this.table.portOf(n)) }]));
    }
  }

  /** One round: own timestamp, GOSSIP_SYN to every peer (one payload per receiver port). */
  round(): void {
    this.table.refreshSelf();
    const byPort = new Map<number | undefined, Buffer>();
    for (const n of this.table.peerNodes()) {
      const port = this.table.portOf(n);
      let payload = byPort.get(port);
      if (payload === undefined) byPort.set(port, payload = encodeGossip(this.table.records(port)));
      this.o.send(n, GOSSIP_SYN, payload);
    }
  }

  /** A dnode message of a type other than REQ / RES arrived (inbound or on an outbound link). */
  onMessage(type: number, payload: Buffer): void {
    if (type === GOSSIP_SYN) this.table.merge(parseGossip(payload));
    else if (type === GOSSIP_SHUTDOWN) this.table.shutdown(parseGossip(payload));
    else this.o.log.debug({ type }, 'gossip: dnode message type ignored');
  }
}
