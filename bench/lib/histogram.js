// A fixed-size latency histogram: log buckets 1 % wide from 1 µs to about 100 s, so recording is
// O(1) with no allocation and percentiles are within 1 % of the exact value.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(100e6) / LOG_GROWTH) + 1;

export class Histogram {
  constructor() {
    this.counts = new Uint32Array(BUCKETS);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** @param {number} ms */
  record(ms) {
    const us = ms * 1000;
    const index = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.count += 1;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** The recorded values as plain data (nonzero buckets only), to cross a process boundary. */
  toData() {
    /** @type {[number, number][]} */
    const buckets = [];
    this.counts.forEach((count, index) => {
      if (count > 0) buckets.push([index, count]);
    });
    return { buckets, count: this.count, sum: this.sum, max: this.max };
  }

  /**
   * Adds the values of another histogram, given as its `toData()`.
   * @param {ReturnType<Histogram['toData']>} data
   */
  add(data) {
    for (const [index, count] of data.buckets) {
      this.counts[index] = (this.counts[index] ?? 0) + count;
    }
    this.count += data.count;
    this.sum += data.sum;
    if (data.max > this.max) this.max = data.max;
    return this;
  }

  reset() {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /**
   * The value below which `p` percent of recorded values fall, in ms (upper bucket bound, capped
   * at the maximum seen); null when empty.
   * @param {number} p
   */
  percentile(p) {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index += 1) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) return Math.min(this.max, GROWTH ** index / 1000);
    }
    return this.max;
  }

  /** p50/p95/p99/max/mean in ms, rounded to µs. */
  summary() {
    /** @param {number | null} value */
    const ms = (value) => (value === null ? null : Math.round(value * 1000) / 1000);
    return {
      count: this.count,
      p50: ms(this.percentile(50)),
      p95: ms(this.percentile(95)),
      p99: ms(this.percentile(99)),
      max: ms(this.count === 0 ? null : this.max),
      mean: ms(this.count === 0 ? null : this.sum / this.count),
    };
  }
}
