// The pure parts of the scale benchmark (bench/loadgen/scale-plan.js, scale.js, lib/histogram.js):
// the plan every generator process recomputes must be the same everywhere and shaped as the
// scenario says, and the figures merged from several processes must equal one process's.
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../bench/lib/histogram.js';
import { commandsBetween } from '../../bench/loadgen/scale.js';
import { drawRooms, plan, random } from '../../bench/loadgen/scale-plan.js';

const scenario = {
  connections: 10_000,
  roomSizeMin: 2,
  roomSizeMax: 50,
  activeShare: 0.01,
  seed: 17,
};

describe('drawRooms', () => {
  it('covers every connection with rooms inside the size range', () => {
    for (const total of [2, 3, 51, 52, 97, 1_000, 12_345]) {
      const sizes = drawRooms(total, 2, 50, random(total));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
      for (const size of sizes) {
        expect(size).toBeGreaterThanOrEqual(2);
        expect(size).toBeLessThanOrEqual(50);
      }
    }
  });

  it('draws sizes across the whole range', () => {
    const sizes = drawRooms(100_000, 2, 50, random(1));
    expect(Math.min(...sizes)).toBe(2);
    expect(Math.max(...sizes)).toBe(50);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThan(24);
    expect(mean).toBeLessThan(28);
  });
});

describe('plan', () => {
  it('is the same in every process that computes it', () => {
    const a = plan(scenario, 4, 3);
    const b = plan(scenario, 4, 3);
    expect(b.sizes).toEqual(a.sizes);
    expect(b.replicaOf).toEqual(a.replicaOf);
    expect(b.active).toEqual(a.active);
  });

  it('gives each replica the same share and spreads rooms over replicas', () => {
    const p = plan(scenario, 4, 3);
    const perReplica = [0, 0, 0, 0];
    for (const replica of p.replicaOf) perReplica[replica] = (perReplica[replica] ?? 0) + 1;
    expect(perReplica).toEqual([2_500, 2_500, 2_500, 2_500]);
    p.sizes.forEach((size, room) => {
      const hosts = p.replicasOf[room] ?? 0;
      expect(hosts).toBeGreaterThanOrEqual(1);
      expect(hosts).toBeLessThanOrEqual(Math.min(size, 4));
    });
    // Rooms of two land on one replica about a quarter of the time, not never and not always.
    const pairs = p.sizes.flatMap((size, room) => (size === 2 ? [p.replicasOf[room]] : []));
    const together = pairs.filter((hosts) => hosts === 1).length / pairs.length;
    expect(together).toBeGreaterThan(0.05);
    expect(together).toBeLessThan(0.6);
  });

  it('puts whole rooms in one generator process, in order, about evenly', () => {
    const p = plan(scenario, 4, 3);
    const members = [0, 0, 0];
    p.sizes.forEach((size, room) => {
      const worker = p.workerOf[room] ?? 0;
      members[worker] = (members[worker] ?? 0) + size;
      if (room > 0) expect(worker).toBeGreaterThanOrEqual(p.workerOf[room - 1] ?? 0);
    });
    for (const count of members) expect(Math.abs(count - 10_000 / 3)).toBeLessThanOrEqual(50);
  });

  it('picks the active share of members, each once', () => {
    const p = plan(scenario, 4, 3);
    expect(p.active).toHaveLength(100);
    expect(new Set(p.active).size).toBe(100);
    for (const index of p.active) expect(index).toBeLessThan(10_000);
  });
});

describe('Histogram toData / add', () => {
  it('merges into the same percentiles as one histogram of every value', () => {
    const all = new Histogram();
    const parts = [new Histogram(), new Histogram(), new Histogram()];
    const next = random(5);
    for (let i = 0; i < 30_000; i += 1) {
      const value = next() * next() * 500;
      all.record(value);
      parts[i % 3]?.record(value);
    }
    const merged = new Histogram();
    for (const part of parts) merged.add(JSON.parse(JSON.stringify(part.toData())));
    expect(merged.summary()).toEqual(all.summary());
  });
});

describe('commandsBetween', () => {
  it('counts what the relays ran, not the reads of the generator itself', () => {
    const before = { publish: 100, evalsha: 10, info: 3, 'pubsub|numsub': 1 };
    const after = {
      publish: 160,
      evalsha: 14,
      info: 9,
      'pubsub|numsub': 4,
      'pubsub|channels': 1,
      pexpire: 5,
    };
    expect(commandsBetween(before, after)).toEqual({
      byName: { publish: 60, evalsha: 4, pexpire: 5 },
      total: 69,
      publishes: 60,
    });
  });
});
