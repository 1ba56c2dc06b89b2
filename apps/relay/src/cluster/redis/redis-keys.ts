/**
 * Every Redis key and channel the relay uses. A room's keys and its channel share the hash tag
 * `{roomId}`, so in Redis Cluster they live in one slot and one script can touch them all; a
 * replica's keys share `{replica:<incarnation>}`. Nothing here ever holds ciphertext.
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `<p>{<room>}:meta` | hash | `ephemeral`, `expiresAt`, `check` (`$scrypt$…` password check, or ""), `salt` ("", set only by pre-scrypt relays), `restored` (written back after Redis lost it) |
 * | `<p>{<room>}:members` | hash | member id → JSON `{name, color, owner, key, fresh?}` (`key` = name key, `owner` = incarnation, `fresh` = joined since the room was restored) |
 * | `<p>{<room>}:names` | hash | name key → member id (unique nicknames) |
 * | `<p>{<room>}:ch` | channel | fan-out envelopes (msgpack, published only) |
 * | `<p>{replica:<inc>}:lease` | string | the replica's heartbeat lease (PX lease TTL) |
 * | `<p>{replica:<inc>}:members` | hash | member id → room id, what a reaper must remove |
 * | `<p>{replica:<inc>}:reaped` | string | set (NX) by the survivor that claims the cleanup |
 * | `<p>{replica:<id>}:selfcheck` | channel | the replica's own subscription probe |
 * | `<p>replicas` | zset | incarnation → lease deadline (Redis server ms), to find dead replicas |
 */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  roomMeta(roomId: string): string {
    return `${this.prefix}{${roomId}}:meta`;
  }

  roomMembers(roomId: string): string {
    return `${this.prefix}{${roomId}}:members`;
  }

  roomNames(roomId: string): string {
    return `${this.prefix}{${roomId}}:names`;
  }

  /** The three keys of a room, in the order the presence scripts take them. */
  room(roomId: string): [meta: string, members: string, names: string] {
    return [this.roomMeta(roomId), this.roomMembers(roomId), this.roomNames(roomId)];
  }

  roomChannel(roomId: string): string {
    return `${this.prefix}{${roomId}}:ch`;
  }

  /** The room id of a channel made by {@link roomChannel}, or undefined for any other channel. */
  roomOfChannel(channel: string): string | undefined {
    const head = `${this.prefix}{`;
    if (!channel.startsWith(head) || !channel.endsWith('}:ch')) return undefined;
    return channel.slice(head.length, -'}:ch'.length);
  }

  replicaLease(incarnation: string): string {
    return `${this.prefix}{replica:${incarnation}}:lease`;
  }

  replicaMembers(incarnation: string): string {
    return `${this.prefix}{replica:${incarnation}}:members`;
  }

  replicaReaped(incarnation: string): string {
    return `${this.prefix}{replica:${incarnation}}:reaped`;
  }

  selfCheckChannel(replicaId: string): string {
    return `${this.prefix}{replica:${replicaId}}:selfcheck`;
  }

  registry(): string {
    return `${this.prefix}replicas`;
  }
}
