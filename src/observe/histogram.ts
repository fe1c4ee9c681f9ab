/**
 * A fixed-bucket log-linear histogram (HdrHistogram's layout, one significant figure and a bit):
 * recording is a few integer ops and one typed-array increment, with no allocation, so the proxy
 * can record every request's latency and size on its hot path.
 *
 * Bucket layout, SUB_BITS = 7 (SUB = 128, HALF = 64):
 *
 *   index:  0 1 2 ... 127 | 128 ... 191 | 192 ... 255 | ... | 3008 ... 3071
 *   value:  0 1 2 ... 127 | 128 ... 255 | 256 ... 511 | ... | 2^52 ... 2^53-1
 *           exact         | width 2     | width 4     |     | width 2^46
 *
 * Values below 128 are counted exactly. Above, each power-of-two range [2^e, 2^(e+1)) is split in
 * 64 equal buckets, so a bucket is at most 1/64 (1.6%) of its lower bound wide: every percentile
 * we report is within 1.6% of the true sample value, above it, never below. Values are integers
 * (microseconds, bytes, queue depths); fractions are truncated, negatives and NaN count as 0,
 * values past 2^53 - 1 land in the last bucket.
 *
 * Percentiles use the nearest-rank definition (the value at rank ceil(q * count)) and report the
 * bucket's highest value, capped at the largest value recorded (HdrHistogram's
 * "highest equivalent value"). max, count, sum and mean are exact.
 */

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128 exact buckets, then 64 per power of two
const HALF = SUB >> 1;
const MAX_EXPONENT = 52; // 2^52 <= v < 2^53 is the last range
const BUCKETS = SUB + (MAX_EXPONENT - SUB_BITS + 1) * HALF; // 3072
const TWO_32 = 4294967296;

/** The numbers a snapshot reads from one histogram. Values are 0 when nothing was recorded. */
export interface HistogramSummary {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
}

export const EMPTY_SUMMARY: HistogramSummary = Object.freeze({
  count: 0, sum: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0, p999: 0,
});

/** Bucket of an integer 128 <= v < 2^32 (clz32 gives the exponent without a float log). */
function bucketOf32(v: number): number {
  const e = 31 - Math.clz32(v);
  const shift = e - SUB_BITS + 1;
  return SUB + (e - SUB_BITS) * HALF + (v >>> shift) - HALF;
}

/** Bucket of an integer 2^32 <= v (rare: only a bogus or enormous value gets here). */
function bucketOfLarge(v: number): number {
  if (v >= 2 ** (MAX_EXPONENT + 1)) return BUCKETS - 1;
  const e = 32 + 31 - Math.clz32(Math.floor(v / TWO_32));
  const q = Math.floor(v / 2 ** (e - SUB_BITS + 1));
  return SUB + (e - SUB_BITS) * HALF + q - HALF;
}

/** The highest value counted in bucket `index`. */
export function bucketHighestValue(index: number): number {
  if (index < SUB) return index;
  const j = index - SUB;
  const e = SUB_BITS + Math.floor(j / HALF);
  const width = 2 ** (e - SUB_BITS + 1);
  const q = HALF + (j % HALF);
  return q * width + width - 1;
}

/** The bucket a value is counted in (exported for tests). */
export function bucketIndex(value: number): number {
  const v = value > 0 ? Math.min(value, Number.MAX_SAFE_INTEGER) : 0;
  if (v < SUB) return Math.floor(v);
  if (v < TWO_32) return bucketOf32(v >>> 0);
  return bucketOfLarge(Math.floor(v));
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumOfValues = 0;
  private largest = 0;
  private smallest = Number.POSITIVE_INFINITY;
  /** Highest bucket touched since the last reset: percentile scans stop there. */
  private top = 0;

  /** Count one value. Hot path: no allocation, no float log for values below 2^32. */
  record(value: number): void {
    let v: number;
    let index: number;
    if (value < TWO_32) {
      v = value > 0 ? value >>> 0 : 0; // truncates; NaN and negatives become 0
      index = v < SUB ? v : bucketOf32(v);
    } else if (value === value) {
      v = Math.min(Math.floor(value), Number.MAX_SAFE_INTEGER);
      index = bucketOfLarge(v);
    } else {
      v = 0; // NaN
      index = 0;
    }
    this.counts[index]++;
    this.total++;
    this.sumOfValues += v;
    if (v > this.largest) this.largest = v;
    if (v < this.smallest) this.smallest = v;
    if (index > this.top) this.top = index;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.largest;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sumOfValues / this.total;
  }

  /** Value at quantile q (0 < q <= 1), nearest rank, bucket-highest capped at max. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i <= this.top; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketHighestValue(i), this.largest);
    }
    return this.largest;
  }

  /** Every figure a snapshot needs, in one pass over the buckets. */
  summary(): HistogramSummary {
    if (this.total === 0) return EMPTY_SUMMARY;
    const ranks = [0.5, 0.95, 0.99, 0.999].map((q) => Math.max(1, Math.ceil(q * this.total)));
    const found = [this.largest, this.largest, this.largest, this.largest];
    let next = 0;
    let seen = 0;
    for (let i = 0; i <= this.top && next < ranks.length; i++) {
      seen += this.counts[i]!;
      while (next < ranks.length && seen >= ranks[next]!) {
        found[next] = Math.min(bucketHighestValue(i), this.largest);
        next++;
      }
    }
    return {
      count: this.total,
      sum: this.sumOfValues,
      min: this.smallest,
      max: this.largest,
      mean: this.sumOfValues / this.total,
      p50: found[0]!,
      p95: found[1]!,
      p99: found[2]!,
      p999: found[3]!,
    };
  }

  reset(): void {
    this.counts.fill(0, 0, this.top + 1);
    this.total = 0;
    this.sumOfValues = 0;
    this.largest = 0;
    this.smallest = Number.POSITIVE_INFINITY;
    this.top = 0;
  }
}

export const HISTOGRAM_BUCKETS = BUCKETS;
