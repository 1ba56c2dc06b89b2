import type { Metric, Registry } from 'prom-client';

interface Series {
  /** Observations per bucket (not cumulative), in the order of the bounds. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** One line of the exposition, as prom-client's own histogram describes it. */
interface Value {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram by one label for an event on the relay's hot path (one per relayed
 * message). prom-client's own histogram validates and hashes the label set and makes a closure
 * on every observation, a few per cent of the relay's CPU at saturation; this one keeps plain
 * numbers per label value and hands them to the registry, in prom-client's format (so the text
 * on `/metrics` is the same), only when it is scraped.
 */
export class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  readonly name: string;
  readonly help: string;
  private readonly labelName: string;
  private readonly upperBounds: readonly number[];

  constructor(options: {
    name: string;
    help: string;
    labelName: string;
    buckets: readonly number[];
    registers: Registry[];
  }) {
    this.name = options.name;
    this.help = options.help;
    this.labelName = options.labelName;
    this.upperBounds = options.buckets;
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  observe(labelValue: string, value: number): void {
    let series = this.series.get(labelValue);
    if (series === undefined) {
      series = { counts: this.upperBounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(labelValue, series);
    }
    const bucket = this.upperBounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.counts[bucket] = (series.counts[bucket] ?? 0) + 1;
    series.sum += value;
    series.count += 1;
  }

  /** Observations so far with this label value (what a counter of the same events would say). */
  countOf(labelValue: string): number {
    return this.series.get(labelValue)?.count ?? 0;
  }

  labelValues(): Iterable<string> {
    return this.series.keys();
  }

  get(): { name: string; help: string; type: 'histogram'; values: Value[]; aggregator: 'sum' } {
    const values: Value[] = [];
    for (const [labelValue, series] of this.series) {
      const sharedLabels = { [this.labelName]: labelValue };
      const value = (labels: Value['labels'], metricName: string, number: number): Value => ({
        labels,
        sharedLabels,
        value: number,
        metricName,
      });
      let below = 0;
      this.upperBounds.forEach((le, i) => {
        below += series.counts[i] ?? 0;
        values.push(value({ le }, `${this.name}_bucket`, below));
      });
      values.push(value({ le: '+Inf' }, `${this.name}_bucket`, series.count));
      values.push(value({}, `${this.name}_sum`, series.sum));
      values.push(value({}, `${this.name}_count`, series.count));
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }

  reset(): void {
    this.series.clear();
  }
}
