import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.js';
import { HotHistogram } from './hot-histogram.js';
import { RelayMetrics } from './relay-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1];

describe('HotHistogram', () => {
  it("exposes the same text as prom-client's histogram for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const hot = new HotHistogram({
      name: 'h_seconds',
      help: 'help text',
      labelName: 'kind',
      buckets: BUCKETS,
      registers: [ours],
    });
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['kind'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const observations: [string, number][] = [
      ['message', 0.0005],
      ['message', 0.001], // on a bound: counts in that bucket
      ['message', 0.05],
      ['message', 3], // above every bound: only +Inf
      ['file', 0.002],
      ['typing', 0],
    ];
    for (const [kind, value] of observations) {
      hot.observe(kind, value);
      reference.observe({ kind }, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(hot.countOf('message')).toBe(4);
    expect(hot.countOf('reaction')).toBe(0);
    hot.reset();
    reference.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});

describe('relayed-message metrics', () => {
  const value = (text: string, line: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${line} `))
        ?.split(' ')[1],
    );

  it('count every relayed message once, however often they are scraped', async () => {
    const metrics = new RelayMetrics(createLogger('silent', 'r1'), {
      connections: () => 0,
      rooms: () => 0,
      backendUp: () => true,
    });
    metrics.relayed('message', 0.0002);
    metrics.relayed('message', 0.0003);
    metrics.relayed('file', 0.02);
    let text = await metrics.registry.metrics();
    expect(value(text, 'hush_messages_relayed_total{kind="message"}')).toBe(2);
    expect(value(text, 'hush_messages_relayed_total{kind="file"}')).toBe(1);
    expect(value(text, 'hush_fanout_duration_seconds_count{kind="message"}')).toBe(2);
    text = await metrics.registry.metrics();
    expect(value(text, 'hush_messages_relayed_total{kind="message"}')).toBe(2);
    metrics.relayed('message', 0.0001);
    text = await metrics.registry.metrics();
    expect(value(text, 'hush_messages_relayed_total{kind="message"}')).toBe(3);
    expect(value(text, 'hush_fanout_duration_seconds_bucket{le="0.0001",kind="message"}')).toBe(1);
  });
});
