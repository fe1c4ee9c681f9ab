// Gossip (enable_gossip): peer state in Netflix Dynomite's wire format, and a failure detector.
//
//   every gos_interval ms:  refresh own timestamp ─► run the detector ─► GOSSIP_SYN (7) to every peer
//       payload "dc$rack$token,ts,state,address|dc$rack$token,ts,state,address|..."  (self first)
//   GOSSIP_SYN in  ─► parseGossip ─► GossipTable.merge   (a newer timestamp wins, with its state)
//   GOSSIP_SHUTDOWN (13) in ─► the records named are DOWN at once
//   close() ─► GOSSIP_SHUTDOWN to every peer (own record, state DOWN), before the links close
//
// Netflix's format (dyn_dnode_msg.c dmsg_parse): records joined by '|', each
// `host_id,generation_ts,state,address` with host_id = `dc$rack$token`; the payload is parsed from the
// right (the last three commas delimit address, state and ts; the last two '$' of the host id delimit
// token and rack), so a dc name may hold '$' or ',' and a record still parses. ts is wall-clock seconds
// (time(NULL)); state is the number of Netflix's dyn_state_t (GOSSIP_STATE below). The address is the
// host alone: Netflix assumes every node listens on its own dyn_listen port.
//
// Rules here (a node refreshes only its own timestamp):
// - merge: a record whose ts is newer than ours replaces ts and the state the node announced, and is
//   proof of life (the detector's clock restarts); an equal ts only matters when it says DOWN (a
//   shutdown in the same second as the last heartbeat must win). Records about this node are ignored;
//   records about nodes not in the topology are logged once (joins are not applied: membership comes
//   from dyn_seeds / the seed provider at start-up).
// - failure detector: a peer whose timestamp has not advanced for N = 3 intervals plus 1 s (the
//   timestamp counts seconds, so a live peer's ts may stand still for up to 1 s + one interval) is
//   DOWN; it is NORMAL (the state it announces) again as soon as its ts advances. A peer never heard
//   from stays UNKNOWN and is not marked down (a peer without gossip is judged by its connection).
// - the verdict is local: a node relays the state a peer announced, not its own detector's opinion.
import type { Logger } from 'pino';

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

export const GOSSIP_SYN = 7;
export const GOSSIP_SHUTDOWN = 13;

/** Intervals without a timestamp advance before the detector marks a peer DOWN. */
export const DETECTOR_INTERVALS = 3;
/** Timestamps count seconds: a live peer's ts can stand still this long on top of the intervals. */
const TIMESTAMP_GRANULARITY_MS = 1000;

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
  /** Local clock (ms) of the last ts advance; -1 = never heard from. */
  lastAdvanceAt: number;
  /** The failure detector's verdict. */
  suspect: boolean;
}

export interface GossipTableOptions {
  self: GossipMember;
  peers: readonly GossipMember[];
  intervalMs: number;
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
}

/** Per-node gossip state, the merge rules and the failure detector (no I/O; clocks injected). */
export class GossipTable {
  readonly downAfterMs: number;
  private readonly self: Entry;
  private readonly byId = new Map<string, Entry>();
  private readonly byNode: Entry[] = [];
  private readonly unknown = new Set<string>();

  constructor(private readonly o: GossipTableOptions) {
    this.downAfterMs = DETECTOR_INTERVALS * o.intervalMs + TIMESTAMP_GRANULARITY_MS;
    this.self = entry(o.self);
    for (const p of o.peers) {
      const e = entry(p);
      this.byId.set(e.id, e);
      this.byNode[p.node] = e;
    }
  }

  /** A node refreshes only its own timestamp. */
  refreshSelf(): void {
    this.self.ts = Math.max(this.self.ts, this.o.wallSeconds());
    this.self.announced = this.o.selfState();
  }

  /** Effective state of topology node `node` (undefined for this node and unknown indexes). */
  state(node: number): number | undefined {
    const e = this.byNode[node];
    return e === undefined ? undefined : effective(e);
  }

  isDown(node: number): boolean {
    return this.state(node) === GOSSIP_STATE.DOWN;
  }

  /** Applies a GOSSIP_SYN's records: a newer timestamp wins, with the state it carries. */
  merge(records: readonly GossipRecord[]): void {
    for (const r of records) {
      const e = this.lookup(r);
      if (e === undefined) continue;
      if (r.ts > e.ts) {
        this.change(e, 'timestamp advanced', () => {
          e.ts = r.ts;
          e.announced = r.state;
          e.lastAdvanceAt = this.o.now();
          e.suspect = false;
        });
      } else if (r.ts === e.ts && r.state === GOSSIP_STATE.DOWN && e.announced !== GOSSIP_STATE.DOWN) {
        this.change(e, 'announced DOWN', () => {
          e.announced = GOSSIP_STATE.DOWN;
        });
      }
    }
  }

  /** Applies a GOSSIP_SHUTDOWN: every node it names is DOWN now (unless we know a newer life of it). */
  shutdown(records: readonly GossipRecord[]): void {
    for (const r of records) {
      const e = this.lookup(r);
      if (e === undefined || r.ts < e.ts) continue;
      this.change(e, 'shutdown', () => {
        e.ts = r.ts;
        e.announced = GOSSIP_STATE.DOWN;
        e.suspect = false;
      });
    }
  }

  /** The failure detector: marks DOWN every peer whose ts stood still longer than downAfterMs. */
  detect(): void {
    const now = this.o.now();
    for (const e of this.byId.values()) {
      if (e.suspect || e.lastAdvanceAt < 0 || e.announced === GOSSIP_STATE.DOWN) continue;
      if (now - e.lastAdvanceAt > this.downAfterMs) {
        this.change(e, `timestamp stood still for ${Math.round(now - e.lastAdvanceAt)} ms`, () => {
          e.suspect = true;
        });
      }
    }
  }

  /** Every record this node knows, itself first (what a GOSSIP_SYN carries). */
  records(): GossipRecord[] {
    return [this.self, ...this.byId.values()].map(recordOf);
  }

  /** This node's own record with state DOWN (what a GOSSIP_SHUTDOWN carries). */
  shutdownRecord(): GossipRecord {
    return { ...recordOf(this.self), ts: Math.max(this.self.ts, this.o.wallSeconds()), state: GOSSIP_STATE.DOWN };
  }

  /** For logs and the admin view: host id -> state name and ts. */
  describe(): { hostId: string; node: number; state: GossipStateName; ts: number }[] {
    return [...this.byId.values()].map((e) => ({ hostId: e.id, node: e.node, state: gossipStateName(effective(e)), ts: e.ts }));
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

  private change(e: Entry, why: string, apply: () => void): void {
    const from = effective(e);
    apply();
    const to = effective(e);
    if (from !== to) this.o.onTransition?.(e.node, from, to, why);
  }
}

function entry(m: GossipMember): Entry {
  return { ...m, id: hostId(m), ts: 0, announced: GOSSIP_STATE.UNKNOWN, lastAdvanceAt: -1, suspect: false };
}

function effective(e: Entry): number {
  if (e.announced === GOSSIP_STATE.DOWN || e.suspect) return GOSSIP_STATE.DOWN;
  return e.announced;
}

function recordOf(e: Entry): GossipRecord {
  return { dc: e.dc, rack: e.rack, token: e.token, ts: e.ts, state: e.announced, address: e.address };
}

export interface GossipOptions extends Omit<GossipTableOptions, 'now' | 'wallSeconds' | 'onTransition'> {
  log: Logger;
  /** Sends a one-way dnode message of `type` to topology node `node`; false when its link is down. */
  send: (node: number, type: number, payload: Buffer) => boolean;
  /** Called after every transition has been logged (the node wires routing health here). */
  onTransition?: (node: number, from: number, to: number) => void;
  now?: () => number;
  wallSeconds?: () => number;
}

/** The gossip round timer around a GossipTable: sends, receives, shuts down. */
export class Gossip {
  readonly table: GossipTable;
  private timer: NodeJS.Timeout | undefined;
  private readonly peers: readonly number[];

  constructor(private readonly o: GossipOptions) {
    this.peers = o.peers.map((p) => p.node);
    this.table = new GossipTable({
      ...o,
      now: o.now ?? (() => performance.now()),
      wallSeconds: o.wallSeconds ?? (() => Math.floor(Date.now() / 1000)),
      onTransition: (node, from, to, why) => {
        const p = o.peers.find((m) => m.node === node);
        o.log.info({ peer: p ? hostId(p) : node, address: p?.address, from: gossipStateName(from), to: gossipStateName(to), why }, 'gossip: peer state changed');
        o.onTransition?.(node, from, to);
      },
      onUnknown: (r) => {
        o.log.info({ hostId: hostId(r), address: r.address, state: gossipStateName(r.state) }, 'gossip: node not in the topology (joins from gossip are not applied)');
      },
    });
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts the rounds (the first one now). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.round(), this.o.intervalMs);
    this.timer.unref();
    this.round();
  }

  /** Stops the rounds without telling anyone (what a crash looks like to the peers). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Clean exit: stops, and sends GOSSIP_SHUTDOWN to every peer. */
  shutdown(): void {
    this.stop();
    const payload = encodeGossip([this.table.shutdownRecord()]);
    for (const n of this.peers) this.o.send(n, GOSSIP_SHUTDOWN, payload);
  }

  /** One round: own timestamp, detector, GOSSIP_SYN to every peer. */
  round(): void {
    this.table.refreshSelf();
    this.table.detect();
    const payload = encodeGossip(this.table.records());
    for (const n of this.peers) this.o.send(n, GOSSIP_SYN, payload);
  }

  /** A dnode message of a type other than REQ / RES arrived (inbound or on an outbound link). */
  onMessage(type: number, payload: Buffer): void {
    if (type === GOSSIP_SYN) this.table.merge(parseGossip(payload));
    else if (type === GOSSIP_SHUTDOWN) this.table.shutdown(parseGossip(payload));
    else this.o.log.debug({ type }, 'gossip: dnode message type ignored');
  }
}
