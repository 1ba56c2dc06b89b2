import { describe, expect, it } from 'vitest';
import { RedisKeys } from './redis-keys.js';

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('RedisKeys', () => {
  const keys = new RedisKeys('hush:');
  const roomId = 'V1StGXR8_Z5jdHi6B-myT';

  it('puts a room’s keys and its channel in one slot, tagged by the room id', () => {
    const all = [...keys.room(roomId), keys.roomChannel(roomId)];
    expect(all.map(hashTag)).toEqual([roomId, roomId, roomId, roomId]);
    expect(new Set(all).size).toBe(4);
    expect(all.every((key) => key.startsWith('hush:'))).toBe(true);
  });

  it('puts a replica incarnation’s lease, member index and cleanup claim in one slot', () => {
    const all = [
      keys.replicaLease('r1.0'),
      keys.replicaMembers('r1.0'),
      keys.replicaReaped('r1.0'),
    ];
    expect(all.map(hashTag)).toEqual(['replica:r1.0', 'replica:r1.0', 'replica:r1.0']);
    expect(hashTag(keys.replicaLease('r1.1'))).not.toBe(hashTag(keys.replicaLease('r1.0')));
  });

  it('reads the room id back from a room channel and nothing from other channels', () => {
    expect(keys.roomOfChannel(keys.roomChannel(roomId))).toBe(roomId);
    expect(keys.roomOfChannel(keys.selfCheckChannel('r1'))).toBeUndefined();
    expect(new RedisKeys('other:').roomOfChannel(keys.roomChannel(roomId))).toBeUndefined();
  });

  it('uses the configured prefix for every key, the registry included', () => {
    const custom = new RedisKeys('tenant-a:');
    expect(custom.registry()).toBe('tenant-a:replicas');
    expect(custom.roomMeta(roomId)).toBe(`tenant-a:{${roomId}}:meta`);
  });
});
