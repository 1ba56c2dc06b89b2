import type { Member, ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, ServerType, decodeServerMessage } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import type { RoomRequest } from '../connection/connection.machine.js';
import type { RoomIo } from './room.machine.js';
import { memoryBackends } from '../../cluster/backends.js';
import type { Eviction, PresencePort, SeatLoss } from '../../cluster/presence.port.js';
import type { MemberLink } from './member-link.js';
import { memberColor } from './member-color.js';
import { RoomDirectory } from './room-directory.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function directory(options: { presence?: (base: PresencePort) => PresencePort } = {}) {
  const backends = memoryBackends('replica-a');
  const presence = options.presence?.(backends.presence) ?? backends.presence;
  const faults: string[] = [];
  let ids = 0;
  const io: RoomIo = {
    presence,
    fanout: backends.fanout,
    maxMembers: 10,
    expiryWarningSeconds: 0,
    observer: {
      relayed: () => undefined,
      fanoutFailed: () => undefined,
      fault: (w) => faults.push(w),
      error: () => undefined,
    },
    now: Date.now,
    newMemberId: () => `m${++ids}`,
    memberColor,
  };
  let roomIds = 0;
  const rooms = new RoomDirectory(io, () => `room-${++roomIds}`.padEnd(21, 'x'));
  return { rooms, faults, presence };
}

/** A presence port whose cluster-side listeners the test calls itself. */
function capture() {
  const listeners: {
    evict?: (eviction: Eviction) => void;
    loseSeat?: (loss: SeatLoss) => void;
    wrap: (base: PresencePort) => PresencePort;
  } = {
    wrap: (base) => ({
      createRoom: base.createRoom.bind(base),
      joinRoom: base.joinRoom.bind(base),
      leaveRoom: base.leaveRoom.bind(base),
      health: base.health.bind(base),
      close: base.close.bind(base),
      onEviction: (listener) => {
        listeners.evict = listener;
      },
      onSeatLost: (listener) => {
        listeners.loseSeat = listener;
      },
    }),
  };
  return listeners;
}

/** A connection as the directory sees it. */
function connection() {
  const frames: ServerMessage[] = [];
  const closed: string[] = [];
  const outcome: { admitted?: { roomId: string; memberId: string }; refused?: string } = {};
  const link: MemberLink = {
    features: new Set(),
    deliver: (frame) => {
      const decoded = decodeServerMessage(frame);
      if (decoded.ok) frames.push(decoded.value);
    },
    roomClosed: (reason) => closed.push(reason),
  };
  const reply = {
    accept: (admitted: { roomId: string; memberId: string }) => {
      outcome.admitted = admitted;
      return true;
    },
    reject: (code: string) => {
      outcome.refused = code;
    },
  };
  return { frames, closed, outcome, link, reply };
}

const create = (name: string): RoomRequest => ({
  kind: 'create',
  name,
  settings: { ephemeral: 0, expiresAt: 0, passwordHash: '' },
});
const join = (roomId: string, name: string): RoomRequest => ({
  kind: 'join',
  roomId,
  name,
  passwordHash: '',
});

describe('RoomDirectory', () => {
  it('starts a room actor for a new room and forgets it when its last member leaves', async () => {
    const { rooms } = directory();
    const alice = connection();
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    expect(alice.outcome.admitted?.roomId).toBe('room-1'.padEnd(21, 'x'));
    expect(rooms.size).toBe(1);
    rooms.leave(alice.outcome.admitted?.roomId ?? '', alice.outcome.admitted?.memberId ?? '');
    await settle();
    expect(rooms.size).toBe(0);
  });

  it('routes relays to the room and keeps their order per connection', async () => {
    const { rooms } = directory();
    const [alice, bob] = [connection(), connection()];
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    const roomId = alice.outcome.admitted?.roomId ?? '';
    rooms.join(join(roomId, 'bob'), bob.link, bob.reply);
    await settle();
    for (let i = 0; i < 5; i++) {
      rooms.relay(roomId, bob.outcome.admitted?.memberId ?? '', {
        type: ClientType.SendMessage,
        data: { iv: 'i', ciphertext: `${i}` },
      });
    }
    await settle();
    const texts = alice.frames.flatMap((f) =>
      f.type === ServerType.RelayMessage ? [f.data.ciphertext] : [],
    );
    expect(texts).toEqual(['0', '1', '2', '3', '4']);
  });

  it('takes a leave made while it delivers a relay after that relay, for everyone', async () => {
    const { rooms, faults } = directory();
    const [alice, bob, carol] = [connection(), connection(), connection()];
    // Bob's connection leaves as soon as a relay is written to it, as a slow consumer's does:
    // the room is still walking its members for that relay.
    let onRelay = () => undefined as void;
    const bobLink: MemberLink = {
      ...bob.link,
      deliver: (frame) => {
        bob.link.deliver(frame);
        if (bob.frames.at(-1)?.type === ServerType.RelayMessage) onRelay();
      },
    };
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    const roomId = alice.outcome.admitted?.roomId ?? '';
    rooms.join(join(roomId, 'bob'), bobLink, bob.reply);
    await settle();
    rooms.join(join(roomId, 'carol'), carol.link, carol.reply);
    await settle();
    const bobId = bob.outcome.admitted?.memberId ?? '';
    onRelay = () => rooms.leave(roomId, bobId);
    rooms.relay(roomId, alice.outcome.admitted?.memberId ?? '', {
      type: ClientType.SendMessage,
      data: { iv: 'i', ciphertext: 'hello' },
    });
    await settle();
    const since = (frames: ServerMessage[]) =>
      frames.slice(frames.findIndex((f) => f.type === ServerType.RelayMessage)).map((f) => f.type);
    expect(since(carol.frames)).toEqual([ServerType.RelayMessage, ServerType.MemberLeft]);
    expect(alice.frames.at(-1)).toEqual({ type: ServerType.MemberLeft, data: { id: bobId } });
    expect(faults).toEqual([]);
  });

  it('answers a join that races the room winding down with E001, and ends with no room', async () => {
    const { rooms } = directory();
    const [alice, bob] = [connection(), connection()];
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    const { roomId, memberId } = alice.outcome.admitted ?? { roomId: '', memberId: '' };
    rooms.leave(roomId, memberId);
    rooms.join(join(roomId, 'bob'), bob.link, bob.reply);
    await settle();
    expect(bob.outcome).toEqual({ refused: ErrorCode.RoomNotFound });
    await settle();
    expect(rooms.size).toBe(0);
  });

  it('drops relays and leaves for rooms it does not host', async () => {
    const { rooms, faults } = directory();
    rooms.relay('nowhere'.padEnd(21, 'x'), 'm1', {
      type: ClientType.SendMessage,
      data: { iv: 'i', ciphertext: 'c' },
    });
    rooms.leave('nowhere'.padEnd(21, 'x'), 'm1');
    await settle();
    expect(rooms.size).toBe(0);
    expect(faults).toEqual([]);
  });

  it('tells local members MemberLeft for members the cluster evicted', async () => {
    const listeners = capture();
    const { rooms } = directory({ presence: listeners.wrap });
    const alice = connection();
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    listeners.evict?.({
      roomId: alice.outcome.admitted?.roomId ?? '',
      memberIds: ['gone-1', 'gone-2'],
    });
    await settle();
    expect(alice.frames.filter((f) => f.type === ServerType.MemberLeft)).toEqual([
      { type: ServerType.MemberLeft, data: { id: 'gone-1' } },
      { type: ServerType.MemberLeft, data: { id: 'gone-2' } },
    ]);
  });

  it('never tells an evicted member that it left itself (its replica was only paused)', async () => {
    const listeners = capture();
    const { rooms } = directory({ presence: listeners.wrap });
    const [alice, bob] = [connection(), connection()];
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    const roomId = alice.outcome.admitted?.roomId ?? '';
    rooms.join(join(roomId, 'bob'), bob.link, bob.reply);
    await settle();
    const aliceId = alice.outcome.admitted?.memberId ?? '';
    listeners.evict?.({ roomId, memberIds: [aliceId] });
    await settle();
    expect(alice.frames.some((f) => f.type === ServerType.MemberLeft)).toBe(false);
    expect(bob.frames.filter((f) => f.type === ServerType.MemberLeft)).toEqual([
      { type: ServerType.MemberLeft, data: { id: aliceId } },
    ]);
  });

  it('closes the room for a member whose seat a recovery lost, and tells the others', async () => {
    const listeners = capture();
    const { rooms } = directory({ presence: listeners.wrap });
    const [alice, bob] = [connection(), connection()];
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    const roomId = alice.outcome.admitted?.roomId ?? '';
    rooms.join(join(roomId, 'bob'), bob.link, bob.reply);
    await settle();
    const bobId = bob.outcome.admitted?.memberId ?? '';
    listeners.loseSeat?.({ roomId, memberId: bobId, reason: 'seat-lost', announced: false });
    await settle();
    expect(bob.frames.at(-1)).toEqual({
      type: ServerType.RoomClosed,
      data: { reason: 'seat-lost' },
    });
    expect(bob.closed).toEqual(['seat-lost']);
    expect(alice.frames.at(-1)).toEqual({ type: ServerType.MemberLeft, data: { id: bobId } });
  });

  it('gives every member a #rrggbb colour derived from its id', async () => {
    const { rooms } = directory();
    const alice = connection();
    rooms.join(create('alice'), alice.link, alice.reply);
    await settle();
    const joined = alice.frames.find((f) => f.type === ServerType.RoomJoined);
    const [self] = (joined?.data as { members: Member[] }).members;
    expect(self?.color).toMatch(/^#[0-9a-f]{6}$/);
    expect(self?.color).toBe(memberColor(self?.id ?? ''));
  });
});
