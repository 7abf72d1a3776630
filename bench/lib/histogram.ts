/**
 * A latency histogram with logarithmic buckets (1 % wide above 100 µs, exact below), small
 * enough to ship from a worker process over IPC and merge: 2 M samples become a few hundred
 * numbers. Values are microseconds.
 */
const GROWTH = Math.log(1.01);
const LINEAR = 100;
const BUCKETS = LINEAR + Math.ceil(Math.log(1e9 / LINEAR) / GROWTH) + 1;

function bucketOf(us: number): number {
  if (us < LINEAR) return Math.max(0, Math.floor(us));
  return Math.min(BUCKETS - 1, LINEAR + Math.floor(Math.log(us / LINEAR) / GROWTH));
}

/** The upper edge of a bucket, so a percentile is never reported below the truth. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR) return bucket + 1;
  return LINEAR * Math.exp((bucket - LINEAR + 1) * GROWTH);
}

export interface HistogramData {
  /** Sparse: [bucket, count] pairs. */
  buckets: Array<[number, number]>;
  count: number;
  sumUs: number;
  maxUs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sumUs = 0;
  maxUs = 0;

  record(us: number): void {
    this.counts[bucketOf(us)]! += 1;
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(d: HistogramData): void {
    for (const [b, n] of d.buckets) this.counts[b]! += n;
    this.count += d.count;
    this.sumUs += d.sumUs;
    if (d.maxUs > this.maxUs) this.maxUs = d.maxUs;
  }

  toJSON(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sumUs: this.sumUs, maxUs: this.maxUs };
  }

  /** The value at or below which a fraction q (0..1) of the samples fall, in microseconds. */
  percentile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(valueOf(i), this.maxUs);
    }
    return this.maxUs;
  }

  /** Points of the cumulative distribution: [latency µs, fraction ≤ it], one per non-empty bucket. */
  cdf(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.counts[i]! === 0) continue;
      seen += this.counts[i]!;
      out.push([Math.min(valueOf(i), this.maxUs), seen / this.count]);
    }
    return out;
  }
}
