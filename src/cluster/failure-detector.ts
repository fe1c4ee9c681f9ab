// The failure detector: which peers this node believes are alive. Pure (no I/O, no timers): every
// method takes the local monotonic clock in ms, so tests drive it with a fake clock.
//
// Two kinds of evidence feed it:
//   heartbeat(peer, now)    fresh proof of life: the peer's gossip timestamp advanced (it refreshes
//                           only its own timestamp, so an advance means it was alive at that second)
//   linkFailure(peer, why)  the peer link's direct signal: connection refused, reset, closed, or a
//                           request timed out while the peer was already late
//
// Phi accrual (Hayashibara et al.; Cassandra's and Akka's detectors): per peer a window of the last
// `windowSize` intervals between heartbeats. phi(t) = -log10(P(next heartbeat later than t)), t = time
// since the last heartbeat, with the intervals modelled as a normal distribution of the window's mean
// and standard deviation (never below `minStdDevMs`). phi 1 = a 10 % chance the peer is merely late,
// phi 8 = 1e-8. A peer is convicted (DOWN) when phi reaches `threshold`.
//
// Why a normal model and not Cassandra's exponential one: Cassandra's phi = t / (mean * ln 10)
// reaches its default threshold 8 only after 18.4 mean intervals (18 s at a 1 s heartbeat); heartbeats
// here arrive on a steady timer, and the normal model convicts after mean + 5.6 sigma, about 2.4
// heartbeat periods with the default sigma floor of a quarter period, while a peer whose heartbeats
// jitter widens its own sigma and so its margin. The window size (1000) and the threshold (8) are
// Cassandra's defaults.
//
// Rules:
//   - a peer never heard from is UNKNOWN: neither phi nor a link failure convicts it (a peer that does
//     not gossip could never prove it is alive again; its link state alone decides whether it is used).
//   - DOWN -> UP only on a heartbeat (fresh proof of life), never because phi fell or a link reconnected
//     (a stopped process's kernel still accepts connections).
//   - the interval that spans a DOWN period is not recorded (one outage would widen sigma for the next
//     thousand heartbeats and slow the next detection).
//   - local pause: when check() is called much later than its cadence (this process was stopped or its
//     event loop stalled), every peer looks silent because this node was not listening. Nobody is
//     convicted by phi until `pauseGraceMs` after the pause ends; heartbeats received meanwhile count.

/** A peer's verdict. */
export type Liveness = 'UNKNOWN' | 'UP' | 'DOWN';

export interface DetectorOptions {
  /** phi at which a peer is convicted. @default 8 (Cassandra phi_convict_threshold) */
  readonly threshold?: number;
  /** Intervals kept per peer. @default 1000 (Cassandra's arrival window) */
  readonly windowSize?: number;
  /** The heartbeat period expected before any was measured, ms (the first sample of every window). */
  readonly expectedIntervalMs: number;
  /** sigma floor, ms. @default expectedIntervalMs / 4 */
  readonly minStdDevMs?: number;
  /** How often the owner calls check(), ms: a call later than 3 x this (and 500 ms) is a local pause. */
  readonly checkEveryMs: number;
  /** No phi conviction for this long after a local pause, ms. @default 2 x expectedIntervalMs */
  readonly pauseGraceMs?: number;
}

export interface Transition {
  readonly peer: number;
  readonly from: Liveness;
  readonly to: Liveness;
  readonly why: string;
}

export const DEFAULT_PHI_THRESHOLD = 8;
export const DEFAULT_WINDOW_SIZE = 1000;

/** Intervals between heartbeats of one peer: a ring buffer with a running sum and sum of squares. */
export class ArrivalWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  private sumSq = 0;

  constructor(size: number) {
    this.samples = new Float64Array(Math.max(1, size));
  }

  add(intervalMs: number): void {
    if (this.count === this.samples.length) {
      const old = this.samples[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      this.count++;
    }
    this.samples[this.next] = intervalMs;
    this.next = (this.next + 1) % this.samples.length;
    this.sum += intervalMs;
    this.sumSq += intervalMs * intervalMs;
  }

  get size(): number {
    return this.count;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  stdDev(): number {
    if (this.count < 2) return 0;
    const m = this.mean();
    return Math.sqrt(Math.max(0, this.sumSq / this.count - m * m));
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
    this.sum = 0;
    this.sumSq = 0;
  }
}

/**
 * phi for `elapsedMs` since the last heartbeat, intervals ~ N(mean, sd). Uses the logistic
 * approximation of the normal CDF that Akka uses (error below 1e-4, monotonic, cheap).
 */
export function phiOf(elapsedMs: number, mean: number, sd: number): number {
  const y = (elapsedMs - mean) / sd;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  // P(later than t) = e / (1 + e); below the mean e can overflow to Infinity, where Infinity / Infinity
  // is NaN but 1 - 1 / (1 + e) is the right 1.
  if (elapsedMs > mean) return -Math.log10(e / (1 + e));
  return -Math.log10(1 - 1 / (1 + e));
}

interface PeerState {
  liveness: Liveness;
  window: ArrivalWindow;
  /** Local clock of the last heartbeat; -1 = never. */
  last: number;
  why: string;
}

export class FailureDetector {
  readonly threshold: number;
  private readonly windowSize: number;
  private readonly expected: number;
  private readonly minSd: number;
  private readonly pauseAfter: number;
  private readonly grace: number;
  private readonly peers = new Map<number, PeerState>();
  private lastCheck = -1;
  private quietUntil = -1;

  constructor(o: DetectorOptions) {
    this.threshold = o.threshold ?? DEFAULT_PHI_THRESHOLD;
    this.windowSize = o.windowSize ?? DEFAULT_WINDOW_SIZE;
    this.expected = o.expectedIntervalMs;
    this.minSd = o.minStdDevMs ?? o.expectedIntervalMs / 4;
    this.pauseAfter = Math.max(3 * o.checkEveryMs, 500);
    this.grace = o.pauseGraceMs ?? 2 * o.expectedIntervalMs;
    if (!(this.threshold > 0)) throw new RangeError(`phi threshold must be > 0 (got ${this.threshold})`);
    if (!(this.expected > 0)) throw new RangeError(`expected heartbeat interval must be > 0 (got ${this.expected})`);
  }

  /** Starts tracking `peer` (UNKNOWN). Idempotent. */
  add(peer: number): void {
    if (!this.peers.has(peer)) this.peers.set(peer, this.fresh());
  }

  /** Forgets `peer` (removed from the ring). */
  remove(peer: number): void {
    this.peers.delete(peer);
  }

  /** Forgets what was measured about `peer` (operator reset): UNKNOWN until its next heartbeat. */
  reset(peer: number): Transition | undefined {
    const p = this.peers.get(peer);
    if (p === undefined) return undefined;
    const from = p.liveness;
    this.peers.set(peer, this.fresh());
    return from === 'UNKNOWN' ? undefined : { peer, from, to: 'UNKNOWN', why: 'reset' };
  }

  liveness(peer: number): Liveness {
    return this.peers.get(peer)?.liveness ?? 'UNKNOWN';
  }

  isDown(peer: number): boolean {
    return this.peers.get(peer)?.liveness === 'DOWN';
  }

  /** Fresh proof of life. Returns the transition it caused, if any. */
  heartbeat(peer: number, now: number): Transition | undefined {
    let p = this.peers.get(peer);
    if (p === undefined) {
      p = this.fresh();
      this.peers.set(peer, p);
    }
    const from = p.liveness;
    // Not recorded: the interval across a DOWN period, and one that spans a local pause.
    if (p.last >= 0 && from === 'UP' && now >= this.quietUntil) p.window.add(now - p.last);
    p.last = now;
    if (from === 'UP') return undefined;
    p.liveness = 'UP';
    p.why = 'heartbeat';
    return { peer, from, to: 'UP', why: from === 'DOWN' ? 'fresh heartbeat after DOWN' : 'first heartbeat' };
  }

  /**
   * The peer link's direct signal: convicts at once when the connection was refused, reset or closed.
   * A request timeout (`lateOnly`) convicts only a peer whose heartbeat is late too (phi >= 1): a live
   * peer with a slow datastore keeps gossiping on time and stays UP.
   */
  linkFailure(peer: number, why: string, now: number, lateOnly = false): Transition | undefined {
    const p = this.peers.get(peer);
    if (p === undefined || p.liveness !== 'UP') return undefined;
    if (lateOnly && this.phiOfState(p, now) < 1) return undefined;
    const from = p.liveness;
    p.liveness = 'DOWN';
    p.why = why;
    return { peer, from, to: 'DOWN', why };
  }

  /** phi of `peer` now (0 when never heard from or DOWN: phi measures a live peer's lateness). */
  phi(peer: number, now: number): number {
    const p = this.peers.get(peer);
    if (p === undefined || p.last < 0 || p.liveness !== 'UP') return 0;
    return this.phiOfState(p, now);
  }

  /** ms since the last heartbeat of `peer`, or undefined when never heard from. */
  heartbeatAge(peer: number, now: number): number | undefined {
    const p = this.peers.get(peer);
    return p === undefined || p.last < 0 ? undefined : now - p.last;
  }

  /** Why the peer has its current verdict (for logs and the admin view). */
  reason(peer: number): string {
    return this.peers.get(peer)?.why ?? 'unknown peer';
  }

  /** Mean and sigma of the peer's window (for metrics). */
  stats(peer: number): { mean: number; sd: number; samples: number } | undefined {
    const p = this.peers.get(peer);
    if (p === undefined) return undefined;
    return { mean: p.window.mean(), sd: Math.max(this.minSd, p.window.stdDev()), samples: p.window.size };
  }

  /** Runs the phi test over every UP peer; call it every checkEveryMs. Returns the convictions. */
  check(now: number): Transition[] {
    const out: Transition[] = [];
    const gap = this.lastCheck < 0 ? 0 : now - this.lastCheck;
    this.lastCheck = now;
    if (gap > this.pauseAfter) {
      // This node was not running: the peers' silence is ours. Give them time to be heard again.
      this.quietUntil = now + this.grace;
      return out;
    }
    if (now < this.quietUntil) return out;
    for (const [peer, p] of this.peers) {
      if (p.liveness !== 'UP') continue;
      const phi = this.phiOfState(p, now);
      if (phi >= this.threshold) {
        p.liveness = 'DOWN';
        p.why = `phi ${phi.toFixed(1)} >= ${this.threshold} (no heartbeat for ${Math.round(now - p.last)} ms, mean interval ${Math.round(p.window.mean())} ms)`;
        out.push({ peer, from: 'UP', to: 'DOWN', why: p.why });
      }
    }
    return out;
  }

  private phiOfState(p: PeerState, now: number): number {
    const sd = Math.max(this.minSd, p.window.stdDev());
    return phiOf(now - p.last, p.window.mean(), sd);
  }

  private fresh(): PeerState {
    const window = new ArrivalWindow(this.windowSize);
    window.add(this.expected);
    return { liveness: 'UNKNOWN', window, last: -1, why: 'never heard from' };
  }
}
