// A token bucket: background repair work (read repair, later anti-entropy) is bounded in rate so a
// burst of divergent reads can never turn into a burst of writes against the replicas.
//
//   tokens ──(refill: rate per second, continuously, capped at capacity)──► tryTake() takes 1
//
// A full bucket starts with `capacity` tokens (default: one second's worth), so a quiet node can
// absorb a short burst and a busy one settles at `rate` per second. The refill is computed lazily
// from the clock on each tryTake(): no timer.

export interface TokenBucketOptions {
  /** Tokens added per second. Infinity = unlimited; 0 = nothing ever passes. */
  ratePerSecond: number;
  /** Most tokens the bucket holds. @default max(1, ratePerSecond) (Infinity when unlimited) */
  capacity?: number;
  /** Monotonic clock in ms. @default performance.now */
  now?: () => number;
}

export class TokenBucket {
  private rate = 0;
  private capacity = 0;
  private tokens = 0;
  private last = 0;
  private readonly now: () => number;

  constructor(o: TokenBucketOptions) {
    this.now = o.now ?? (() => performance.now());
    this.configure(o.ratePerSecond, o.capacity);
  }

  /** Changes the rate (and capacity); the bucket starts full again. */
  configure(ratePerSecond: number, capacity?: number): void {
    if (!(ratePerSecond >= 0)) throw new RangeError(`TokenBucket: ratePerSecond must be >= 0, got ${ratePerSecond}`);
    this.rate = ratePerSecond;
    this.capacity = capacity ?? Math.max(1, ratePerSecond);
    if (ratePerSecond === 0) this.capacity = 0;
    this.tokens = this.capacity;
    this.last = this.now();
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  /** Takes one token when there is one; false (nothing taken) otherwise. */
  tryTake(): boolean {
    if (this.rate === Infinity) return true;
    const now = this.now();
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
