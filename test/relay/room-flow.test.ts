/**
 * The wire protocol of SPEC section 3, end to end: real WebSockets and real msgpack against an
 * in-process relay in embedded mode (in-memory presence and fan-out, no Redis).
 */
import type { Member } from '@hush/protocol';
import { ClientType, ErrorCode, RATE_LIMITS, ROOM_ID_PATTERN, ServerType } from '@hush/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import type { Seated } from './helpers.js';
import {
  all,
  b64,
  bin,
  connect,
  connectAndCreate,
  connectAndJoin,
  create,
  expectSameOpaque,
  join,
  joinRefused,
  passwordHash,
  rawFrame,
  sleep,
  waitFor,
  waitForCount,
} from './helpers.js';
import { clientFrame, Opcode, RawClient } from './raw-client.js';

const COLOR = /^#[0-9a-f]{6}$/;
const HEARTBEAT = { pingIntervalMs: 200, pongTimeoutMs: 600 };

const relays: RunningRelay[] = [];
const clients: TestClient[] = [];
const raws: RawClient[] = [];

async function relay(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<string> {
  const started = await startTestRelay({ heartbeat: HEARTBEAT, ...overrides });
  relays.push(started);
  return started.url;
}

function track<T extends { client: TestClient } | TestClient>(value: T): T {
  clients.push('client' in value ? value.client : value);
  return value;
}

// Every test closes its clients: the relay caps connections per address.
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

/** A room of three: alice creates, bob and carol join; everyone has seen everyone join. */
async function trio(url: string): Promise<[Seated, Seated, Seated]> {
  const alice = track(await connectAndCreate(url, 'alice'));
  const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
  const carol = track(await connectAndJoin(url, alice.roomId, 'carol'));
  await waitForCount(alice.client, ServerType.MemberJoined, 2);
  await waitForCount(bob.client, ServerType.MemberJoined, 1);
  return [alice, bob, carol];
}

const joinFrame = (roomId: string, name: string) =>
  clientFrame(
    Opcode.Binary,
    rawFrame({ type: ClientType.JoinRoom, data: { roomId, name, password: '' } }),
  );

/**
 * Lets a test prove that `to` was not sent something the relay handled before this call: `from`
 * sends a marker message, and once it has arrived, everything the relay wrote to `to` before it
 * has arrived too (one socket, in order).
 */
async function barrier(from: Seated, to: Seated): Promise<void> {
  const marker = `barrier-${b64(6)}`;
  from.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: marker } });
  await waitFor(
    to.client,
    (received) =>
      received.find((m) => m.type === ServerType.RelayMessage && m.data.ciphertext === marker),
    'the barrier message',
  );
}

describe('embedded relay: rooms over real WebSockets', () => {
  let url: string;
  beforeAll(async () => {
    url = await relay({ rooms: { expiryWarningSeconds: 1 } });
  });

  describe('CreateRoom', () => {
    it('is answered by RoomCreated, then RoomJoined listing the creator with a #rrggbb colour', async () => {
      const client = track(await connect(url));
      client.send({
        type: ClientType.CreateRoom,
        data: { name: '  alice  ', password: '', ephemeral: 30, expiry: 0 },
      });
      await client.next(ServerType.RoomJoined);
      const [created, joined] = client.messages();
      expect(created).toMatchObject({ type: ServerType.RoomCreated, data: { expiresAt: 0 } });
      const roomId = created?.type === ServerType.RoomCreated ? created.data.roomId : '';
      expect(roomId).toMatch(ROOM_ID_PATTERN);
      expect(joined).toEqual({
        type: ServerType.RoomJoined,
        data: {
          roomId,
          members: [{ id: expect.any(String), name: 'alice', color: expect.stringMatching(COLOR) }],
          hasPassword: false,
          ephemeral: 30,
          expiresAt: 0,
        },
      });
    });

    it('makes a fresh 21-character room id for every room', async () => {
      const rooms = await Promise.all(
        [1, 2, 3].map(async (i) => track(await connectAndCreate(url, `maker${i}`)).roomId),
      );
      for (const id of rooms) expect(id).toMatch(ROOM_ID_PATTERN);
      expect(new Set(rooms).size).toBe(3);
    });

    it('sets expiresAt to now + expiry in unix seconds, in RoomCreated and RoomJoined', async () => {
      const before = Math.floor(Date.now() / 1000);
      const client = track(await connect(url));
      const seated = await create(client, 'timer', { expiry: 3600 });
      const after = Math.floor(Date.now() / 1000);
      const created = all(client, ServerType.RoomCreated)[0];
      expect(created?.data.expiresAt).toBeGreaterThanOrEqual(before + 3600);
      expect(created?.data.expiresAt).toBeLessThanOrEqual(after + 3600);
      expect(seated.joined.data.expiresAt).toBe(created?.data.expiresAt);
    });
  });

  describe('JoinRoom', () => {
    it('answers RoomJoined listing everyone; the others get MemberJoined for the newcomer', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      const carol = track(await connectAndJoin(url, alice.roomId, 'carol'));

      const members = carol.joined.data.members;
      expect(members.map((m) => m.name).sort()).toEqual(['alice', 'bob', 'carol']);
      for (const m of members) expect(m.color).toMatch(COLOR);
      expect(new Set(members.map((m) => m.id)).size).toBe(3);
      expect(carol.joined.data).toMatchObject({
        roomId: alice.roomId,
        hasPassword: false,
        ephemeral: 0,
        expiresAt: 0,
      });
      expect(carol.joined.data).not.toHaveProperty('selfId');

      const carolAsListed = members.find((m) => m.name === 'carol') as Member;
      const [bobJoined, carolJoinedForAlice] = await waitForCount(
        alice.client,
        ServerType.MemberJoined,
        2,
      );
      expect(bobJoined?.data).toEqual(bob.joined.data.members.find((m) => m.name === 'bob'));
      expect(carolJoinedForAlice?.data).toEqual(carolAsListed);
      expect((await bob.client.next(ServerType.MemberJoined)).data).toEqual(carolAsListed);
      // The newcomer is not told about itself.
      await barrier(alice, carol);
      expect(all(carol.client, ServerType.MemberJoined)).toEqual([]);
    });

    it('gives every member the same colour for the same member id', async () => {
      const [alice, bob, carol] = await trio(url);
      const colours = (seated: Seated) =>
        Object.fromEntries(seated.joined.data.members.map((m) => [m.id, m.color]));
      expect(colours(carol)).toMatchObject(colours(bob));
      expect(colours(carol)).toMatchObject(colours(alice));
    });
  });

  describe('relaying', () => {
    it('delivers a message from one of three members to exactly the other two, with server-set sender fields', async () => {
      const [alice, bob, carol] = await trio(url);
      const iv = b64(12);
      const ciphertext = b64(64);
      const before = Date.now();
      // A client-supplied sender is ignored: the relay sets senderId, senderName and t itself.
      bob.client.sendRaw(
        rawFrame({
          type: ClientType.SendMessage,
          data: { iv, ciphertext, senderId: alice.memberId, senderName: 'alice', t: 1 },
        }),
      );
      const forAlice = await alice.client.next(ServerType.RelayMessage);
      const forCarol = await carol.client.next(ServerType.RelayMessage);
      const after = Date.now();
      for (const relayed of [forAlice, forCarol]) {
        expect(relayed.data).toEqual({
          senderId: bob.memberId,
          senderName: 'bob',
          t: expect.any(Number),
          iv,
          ciphertext,
        });
        expect(relayed.data.t).toBeGreaterThanOrEqual(before);
        expect(relayed.data.t).toBeLessThanOrEqual(after);
      }
      await barrier(alice, bob);
      const bobGot = all(bob.client, ServerType.RelayMessage);
      expect(bobGot.every((m) => m.data.senderId === alice.memberId)).toBe(true);
      await barrier(alice, carol);
      expect(
        all(carol.client, ServerType.RelayMessage).filter((m) => m.data.senderId === bob.memberId),
      ).toHaveLength(1);
    });

    it('relays Typing as MemberTyping: a plain flag, or an encrypted state with its iv and ciphertext', async () => {
      const [alice, bob, carol] = await trio(url);
      bob.client.send({ type: ClientType.Typing, data: { typing: true } });
      bob.client.send({ type: ClientType.Typing, data: { typing: false } });
      const iv = b64(12);
      const ciphertext = bin(40);
      bob.client.send({ type: ClientType.Typing, data: { iv, ciphertext } });
      for (const other of [alice, carol]) {
        const [on, off, sealed] = await waitForCount(other.client, ServerType.MemberTyping, 3);
        expect(on?.data).toEqual({ id: bob.memberId, typing: true });
        expect(off?.data).toEqual({ id: bob.memberId, typing: false });
        expect(sealed?.data).toMatchObject({ id: bob.memberId, typing: false });
        expectSameOpaque(sealed?.data.iv, iv);
        expectSameOpaque(sealed?.data.ciphertext, ciphertext);
      }
      await barrier(alice, bob);
      expect(all(bob.client, ServerType.MemberTyping)).toEqual([]);
    });

    it('relays SendReaction as RelayReaction with server-set sender fields, not back to the sender', async () => {
      const [alice, bob, carol] = await trio(url);
      const iv = b64(12);
      const ciphertext = b64(30);
      const before = Date.now();
      carol.client.send({ type: ClientType.SendReaction, data: { iv, ciphertext } });
      for (const other of [alice, bob]) {
        const reaction = await other.client.next(ServerType.RelayReaction);
        expect(reaction.data).toEqual({
          senderId: carol.memberId,
          senderName: 'carol',
          t: expect.any(Number),
          iv,
          ciphertext,
        });
        expect(reaction.data.t).toBeGreaterThanOrEqual(before);
      }
      await barrier(alice, carol);
      expect(all(carol.client, ServerType.RelayReaction)).toEqual([]);
    });

    it('forwards opaque fields byte-for-byte in the form received: strings stay strings, binary stays binary', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      const raw: Buffer[] = [];
      bob.client.socket.on('message', (data: Buffer) => raw.push(data));
      const cases: { iv: string | Uint8Array; ciphertext: string | Uint8Array }[] = [
        { iv: b64(12), ciphertext: b64(100) },
        { iv: bin(12), ciphertext: bin(100) },
        { iv: b64(12), ciphertext: bin(90 * 1024) },
        { iv: bin(12), ciphertext: 'not base64 at all, but ASCII: ~!@#$%^&*()' },
        { iv: new Uint8Array([0, 0, 0]), ciphertext: new Uint8Array([255, 0, 255]) },
      ];
      for (const data of cases) alice.client.send({ type: ClientType.SendMessage, data });
      const relayed = await waitForCount(bob.client, ServerType.RelayMessage, cases.length);
      cases.forEach((sent, i) => {
        expectSameOpaque(relayed[i]?.data.iv, sent.iv);
        expectSameOpaque(relayed[i]?.data.ciphertext, sent.ciphertext);
      });
      // On the wire too: the received frame holds the exact msgpack encoding of each value.
      const frames = raw.filter((frame) => frame[0] !== undefined);
      for (const sent of cases) {
        const encoded = Buffer.from(rawFrame(sent.ciphertext));
        expect(frames.some((frame) => frame.includes(encoded))).toBe(true);
      }
    });

    it('refuses a string field that is not ASCII (it could not be relayed byte-for-byte) and relays nothing', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      alice.client.send({
        type: ClientType.SendMessage,
        data: { iv: b64(12), ciphertext: 'ünïcödé ✓ 🙂' },
      });
      const error = await alice.client.next(ServerType.Error);
      expect(error.data.code).toBe(ErrorCode.InvalidMessage);
      expect(error.data.msg).toMatch(/ASCII/);
      expect(await bob.client.quietFor(300, ServerType.RelayMessage)).toEqual([]);
    });
  });

  describe('file transfer', () => {
    it('relays meta, chunks and complete with the sender fields; the ack reaches only the file sender', async () => {
      const [alice, bob, carol] = await trio(url);
      const meta = { transferId: 'tx-1', iv: b64(12), ciphertext: b64(200) };
      const before = Date.now();
      alice.client.send({ type: ClientType.SendFileMeta, data: meta });
      const chunks = [0, 1].map((index) => ({
        transferId: 'tx-1',
        index,
        iv: bin(12),
        data: index === 0 ? bin(4096) : b64(3000),
      }));
      for (const chunk of chunks)
        alice.client.send({ type: ClientType.SendFileChunk, data: chunk });
      for (const other of [bob, carol]) {
        const relayedMeta = await other.client.next(ServerType.RelayFileMeta);
        expect(relayedMeta.data).toEqual({
          senderId: alice.memberId,
          senderName: 'alice',
          t: expect.any(Number),
          ...meta,
        });
        expect(relayedMeta.data.t).toBeGreaterThanOrEqual(before);
        const got = await waitForCount(other.client, ServerType.RelayFileChunk, 2);
        got.forEach((relayed, i) => {
          expect(relayed.data).toMatchObject({
            senderId: alice.memberId,
            transferId: 'tx-1',
            index: i,
          });
          expectSameOpaque(relayed.data.iv, chunks[i]!.iv);
          expectSameOpaque(relayed.data.data, chunks[i]!.data);
        });
      }

      bob.client.send({ type: ClientType.SendFileAck, data: { transferId: 'tx-1' } });
      const ack = await alice.client.next(ServerType.RelayFileAck);
      expect(ack.data).toEqual({ receiverId: bob.memberId, transferId: 'tx-1' });

      alice.client.send({ type: ClientType.SendFileComplete, data: { transferId: 'tx-1' } });
      for (const other of [bob, carol]) {
        const complete = await other.client.next(ServerType.RelayFileComplete);
        expect(complete.data).toEqual({ senderId: alice.memberId, transferId: 'tx-1' });
      }
      await barrier(alice, carol);
      await barrier(alice, bob);
      expect(all(carol.client, ServerType.RelayFileAck)).toEqual([]);
      expect(all(bob.client, ServerType.RelayFileAck)).toEqual([]);
      expect(all(alice.client, ServerType.RelayFileMeta)).toEqual([]);
      expect(all(alice.client, ServerType.RelayFileChunk)).toEqual([]);
    });

    it('relays a cancel, after which the sender may start a new transfer', async () => {
      const [alice, bob, carol] = await trio(url);
      alice.client.send({
        type: ClientType.SendFileMeta,
        data: { transferId: 'tx-a', iv: 'iv', ciphertext: 'meta' },
      });
      alice.client.send({ type: ClientType.SendFileCancel, data: { transferId: 'tx-a' } });
      alice.client.send({
        type: ClientType.SendFileMeta,
        data: { transferId: 'tx-b', iv: 'iv', ciphertext: 'meta' },
      });
      for (const other of [bob, carol]) {
        const cancel = await other.client.next(ServerType.RelayFileCancel);
        expect(cancel.data).toEqual({ senderId: alice.memberId, transferId: 'tx-a' });
        const metas = await waitForCount(other.client, ServerType.RelayFileMeta, 2);
        expect(metas.map((m) => m.data.transferId)).toEqual(['tx-a', 'tx-b']);
      }
      expect(all(alice.client, ServerType.Error)).toEqual([]);
    });

    it('refuses a second concurrent transfer on one connection, and chunks of a foreign transfer, with E023', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      const meta = (transferId: string) => ({
        type: ClientType.SendFileMeta,
        data: { transferId, iv: 'iv', ciphertext: 'meta' },
      });
      alice.client.send(meta('first'));
      alice.client.send(meta('second'));
      expect((await alice.client.next(ServerType.Error)).data.code).toBe(
        ErrorCode.TransferRejected,
      );
      alice.client.send({
        type: ClientType.SendFileChunk,
        data: { transferId: 'someone-elses', index: 0, iv: 'iv', data: 'x' },
      });
      expect((await alice.client.next(ServerType.Error)).data.code).toBe(
        ErrorCode.TransferRejected,
      );
      // A receiver cannot complete or cancel a transfer it does not send.
      bob.client.send({ type: ClientType.SendFileCancel, data: { transferId: 'first' } });
      expect((await bob.client.next(ServerType.Error)).data.code).toBe(ErrorCode.TransferRejected);
      await barrier(alice, bob);
      expect(all(bob.client, ServerType.RelayFileMeta).map((m) => m.data.transferId)).toEqual([
        'first',
      ]);
      expect(all(bob.client, ServerType.RelayFileChunk)).toEqual([]);
      expect(all(alice.client, ServerType.RelayFileCancel)).toEqual([]);
    });

    it('sends RelayFileCancel to the receivers when the sender disconnects mid-transfer', async () => {
      const [alice, bob, carol] = await trio(url);
      alice.client.send({
        type: ClientType.SendFileMeta,
        data: { transferId: 'gone', iv: 'iv', ciphertext: 'meta' },
      });
      await bob.client.next(ServerType.RelayFileMeta);
      await alice.client.close();
      for (const other of [bob, carol]) {
        const cancel = await other.client.next(ServerType.RelayFileCancel);
        expect(cancel.data).toEqual({ senderId: alice.memberId, transferId: 'gone' });
        expect((await other.client.next(ServerType.MemberLeft)).data).toEqual({
          id: alice.memberId,
        });
      }
    });

    it('keeps a transfer its own when another member reuses its transfer id: acks still reach it, its cancel still goes out', async () => {
      const [alice, bob, carol] = await trio(url);
      const meta = { transferId: 'shared-id', iv: 'iv', ciphertext: 'meta' };
      alice.client.send({ type: ClientType.SendFileMeta, data: meta });
      await carol.client.next(ServerType.RelayFileMeta);
      // bob copies the id, then completes "his" transfer.
      bob.client.send({ type: ClientType.SendFileMeta, data: meta });
      bob.client.send({ type: ClientType.SendFileComplete, data: { transferId: 'shared-id' } });
      await carol.client.next(ServerType.RelayFileComplete);

      carol.client.send({ type: ClientType.SendFileAck, data: { transferId: 'shared-id' } });
      expect((await alice.client.next(ServerType.RelayFileAck)).data).toEqual({
        receiverId: carol.memberId,
        transferId: 'shared-id',
      });
      await alice.client.close();
      const cancel = await carol.client.next(ServerType.RelayFileCancel);
      expect(cancel.data).toEqual({ senderId: alice.memberId, transferId: 'shared-id' });
    });

    it('sends RelayFileCancel when the sender leaves the room mid-transfer, but not after completion', async () => {
      const [alice, bob] = await trio(url);
      bob.client.send({
        type: ClientType.SendFileMeta,
        data: { transferId: 'done', iv: 'iv', ciphertext: 'meta' },
      });
      bob.client.send({ type: ClientType.SendFileComplete, data: { transferId: 'done' } });
      bob.client.send({
        type: ClientType.SendFileMeta,
        data: { transferId: 'open', iv: 'iv', ciphertext: 'meta' },
      });
      bob.client.send({ type: ClientType.LeaveRoom, data: {} });
      await alice.client.next(ServerType.MemberLeft);
      expect(all(alice.client, ServerType.RelayFileCancel).map((m) => m.data)).toEqual([
        { senderId: bob.memberId, transferId: 'open' },
      ]);
    });
  });

  describe('leaving', () => {
    it('tells the others MemberLeft; the leaver is back in its lobby and can rejoin with the same name', async () => {
      const [alice, bob, carol] = await trio(url);
      bob.client.send({ type: ClientType.LeaveRoom, data: {} });
      for (const other of [alice, carol]) {
        expect((await other.client.next(ServerType.MemberLeft)).data).toEqual({
          id: bob.memberId,
        });
      }
      bob.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'late' } });
      expect((await bob.client.next(ServerType.Error)).data.code).toBe(ErrorCode.NotInRoom);

      const again = await join(bob.client, alice.roomId, 'bob');
      expect(again.memberId).not.toBe(bob.memberId);
      expect(again.joined.data.members.map((m) => m.name).sort()).toEqual([
        'alice',
        'bob',
        'carol',
      ]);
      const rejoined = await alice.client.next(ServerType.MemberJoined);
      expect(rejoined.data).toMatchObject({ id: again.memberId, name: 'bob' });
    });

    it('treats a closed socket as leaving', async () => {
      const [alice, bob, carol] = await trio(url);
      await carol.client.close();
      for (const other of [alice, bob]) {
        expect((await other.client.next(ServerType.MemberLeft)).data).toEqual({
          id: carol.memberId,
        });
      }
      // carol's name is free again.
      const newcomer = track(await connectAndJoin(url, alice.roomId, 'Carol'));
      expect(newcomer.joined.data.members).toHaveLength(3);
    });

    it('kills the room with its last member: joining the id afterwards gives E001', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      bob.client.send({ type: ClientType.LeaveRoom, data: {} });
      await alice.client.next(ServerType.MemberLeft);
      alice.client.send({ type: ClientType.LeaveRoom, data: {} });
      // The last member's own connection, in order after its leave, cannot get back in.
      expect(await joinRefused(alice.client, alice.roomId, 'alice')).toBe(ErrorCode.RoomNotFound);
      const late = track(await connect(url));
      expect(await joinRefused(late, alice.roomId, 'bob')).toBe(ErrorCode.RoomNotFound);
    });
  });

  describe('expiry', () => {
    it('closes an expiring room for everyone with RoomClosed {reason: expired}, warning clients that negotiated notices first', async () => {
      const creator = track(await connect(url, { features: ['notices'] }));
      const alice = await create(creator, 'alice', { expiry: 2 });
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      const expiresAt = alice.joined.data.expiresAt;

      const closedForAlice = await alice.client.next(ServerType.RoomClosed, 4000);
      const closedForBob = await bob.client.next(ServerType.RoomClosed, 4000);
      expect(closedForAlice.data).toEqual({ reason: 'expired' });
      expect(closedForBob.data).toEqual({ reason: 'expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt * 1000 - 50);

      const aliceTypes = alice.client.messages().map((m) => m.type);
      const warning = all(alice.client, ServerType.Notice);
      expect(warning).toEqual([
        {
          type: ServerType.Notice,
          data: { kind: 'expiring', msg: expect.any(String), expiresAt },
        },
      ]);
      expect(aliceTypes.indexOf(ServerType.Notice)).toBeLessThan(
        aliceTypes.indexOf(ServerType.RoomClosed),
      );
      expect(all(bob.client, ServerType.Notice)).toEqual([]);

      // Both are back in their lobbies: relaying fails, creating a new room works.
      bob.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'late' } });
      expect((await bob.client.next(ServerType.Error)).data.code).toBe(ErrorCode.NotInRoom);
      const next = await create(alice.client, 'alice');
      expect(next.roomId).not.toBe(alice.roomId);
    });

    it('leaves no way into an expired room: a late joiner is told E007, room expired', async () => {
      const alice = track(await connectAndCreate(url, 'alice', { expiry: 1 }));
      await alice.client.next(ServerType.RoomClosed, 3000);
      const late = track(await connect(url));
      expect(await joinRefused(late, alice.roomId, 'late')).toBe(ErrorCode.RoomExpired);
    });
  });

  describe('passwords', () => {
    it('refuses a wrong or missing password with E006 and admits the right hash, with hasPassword true', async () => {
      const alice = track(
        await connectAndCreate(url, 'alice', { password: passwordHash('open sesame') }),
      );
      expect(alice.joined.data.hasPassword).toBe(true);
      const guest = track(await connect(url));
      expect(await joinRefused(guest, alice.roomId, 'bob', passwordHash('guess'))).toBe(
        ErrorCode.WrongPassword,
      );
      expect(await joinRefused(guest, alice.roomId, 'bob', '')).toBe(ErrorCode.WrongPassword);
      const bob = await join(guest, alice.roomId, 'bob', passwordHash('open sesame'));
      expect(bob.joined.data.hasPassword).toBe(true);
      expect(bob.joined.data.members).toHaveLength(2);
    });

    it('admits any password hash into a room without a password', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(
        await connectAndJoin(url, alice.roomId, 'bob', { password: passwordHash('x') }),
      );
      expect(bob.joined.data.hasPassword).toBe(false);
    });
  });

  describe('admission rules', () => {
    it('refuses a nickname already in the room, compared case-insensitively, with E020', async () => {
      const alice = track(await connectAndCreate(url, 'Alice'));
      const guest = track(await connect(url));
      expect(await joinRefused(guest, alice.roomId, 'alice')).toBe(ErrorCode.NameTaken);
      expect(await joinRefused(guest, alice.roomId, ' ALICE ')).toBe(ErrorCode.NameTaken);
      const bob = await join(guest, alice.roomId, 'Alicia');
      expect(bob.joined.data.members).toHaveLength(2);
    });

    it('answers every relayed message outside a room with E003 and ignores LeaveRoom there, as Arthas does', async () => {
      const client = track(await connect(url));
      client.send({ type: ClientType.LeaveRoom, data: {} });
      const outside = [
        { type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'c' } },
        { type: ClientType.Typing, data: { typing: true } },
        { type: ClientType.SendReaction, data: { iv: 'iv', ciphertext: 'c' } },
        { type: ClientType.SendFileMeta, data: { transferId: 't', iv: 'iv', ciphertext: 'c' } },
        { type: ClientType.SendFileChunk, data: { transferId: 't', index: 0, iv: 'i', data: 'd' } },
        { type: ClientType.SendFileComplete, data: { transferId: 't' } },
        { type: ClientType.SendFileCancel, data: { transferId: 't' } },
        { type: ClientType.SendFileAck, data: { transferId: 't' } },
      ] as const;
      for (const message of outside) client.send(message);
      const errors = await waitForCount(client, ServerType.Error, outside.length);
      expect(errors.map((e) => e.data.code)).toEqual(outside.map(() => ErrorCode.NotInRoom));
      // Every frame is answered in order: once Hello is, nothing else is left to arrive.
      client.send({ type: ClientType.Hello, data: { version: 1, features: [] } });
      await client.next(ServerType.Welcome);
      expect(all(client, ServerType.Error)).toHaveLength(outside.length);
    });

    it('forgets a join given up with LeaveRoom: a following join lands in the room asked for last', async () => {
      const first = track(await connectAndCreate(url, 'first'));
      const second = track(await connectAndCreate(url, 'second'));
      const client = await RawClient.connect(url);
      raws.push(client);
      // One TCP write: the first admission is still in flight when the client changes its mind.
      client.burst([
        joinFrame(first.roomId, 'hopper'),
        clientFrame(Opcode.Binary, rawFrame({ type: ClientType.LeaveRoom, data: {} })),
        joinFrame(second.roomId, 'hopper'),
      ]);
      const joined = await client.next(ServerType.RoomJoined);
      expect(joined.data.roomId).toBe(second.roomId);
      await second.client.next(ServerType.MemberJoined);
      client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'where am I' } });
      expect((await second.client.next(ServerType.RelayMessage)).data.ciphertext).toBe(
        'where am I',
      );
      // The first room never saw the hopper: the first MemberJoined there is a later witness.
      track(await connectAndJoin(url, first.roomId, 'witness'));
      const [seen] = await waitForCount(first.client, ServerType.MemberJoined, 1);
      expect(seen?.data.name).toBe('witness');
      expect(client.received.filter((m) => m.type === ServerType.RoomJoined)).toEqual([]);
      expect(client.received.filter((m) => m.type === ServerType.Error)).toEqual([]);
    });

    it('does not report the failure of a join given up with LeaveRoom', async () => {
      const taken = track(await connectAndCreate(url, 'hopper'));
      const target = track(await connectAndCreate(url, 'target'));
      const client = await RawClient.connect(url);
      raws.push(client);
      client.burst([
        joinFrame(taken.roomId, 'hopper'),
        clientFrame(Opcode.Binary, rawFrame({ type: ClientType.LeaveRoom, data: {} })),
        joinFrame(target.roomId, 'hopper'),
      ]);
      const joined = await client.next(ServerType.RoomJoined);
      expect(joined.data.roomId).toBe(target.roomId);
      target.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'hi' } });
      await client.next(ServerType.RelayMessage);
      expect(client.received.filter((m) => m.type === ServerType.Error)).toEqual([]);
    });

    it('refuses CreateRoom and JoinRoom from a member with E021, and the member stays in its room', async () => {
      const alice = track(await connectAndCreate(url, 'alice'));
      const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
      alice.client.send({
        type: ClientType.CreateRoom,
        data: { name: 'alice', password: '', ephemeral: 0, expiry: 0 },
      });
      expect((await alice.client.next(ServerType.Error)).data.code).toBe(ErrorCode.AlreadyInRoom);
      alice.client.send({
        type: ClientType.JoinRoom,
        data: { roomId: alice.roomId, name: 'again', password: '' },
      });
      expect((await alice.client.next(ServerType.Error)).data.code).toBe(ErrorCode.AlreadyInRoom);
      await barrier(alice, bob);
      expect(all(alice.client, ServerType.RoomCreated)).toHaveLength(1);
    });
  });

  describe('liveness', () => {
    it('pings with an app-level Ping carrying server time and a WebSocket ping, every interval', async () => {
      const client = track(await connect(url));
      let wsPings = 0;
      client.socket.on('ping', () => wsPings++);
      const start = Date.now();
      const pings = await waitForCount(client, ServerType.Ping, 3, 3000);
      const elapsed = Date.now() - start;
      for (const ping of pings) {
        expect(ping.data.t).toBeGreaterThanOrEqual(start - HEARTBEAT.pingIntervalMs);
        expect(ping.data.t).toBeLessThanOrEqual(Date.now());
      }
      expect(elapsed).toBeGreaterThanOrEqual(2 * HEARTBEAT.pingIntervalMs);
      expect(wsPings).toBeGreaterThanOrEqual(2);
    });
  });
});

describe('embedded relay: negotiation', () => {
  let url: string;
  beforeAll(async () => {
    url = await relay({
      limits: {
        maxRoomMembers: 7,
        nameMaxCodePoints: 8,
        maxExpirySeconds: 3600,
        rate: { chat: { events: 9, windowMs: 900 } },
      },
    });
  });

  it('answers Hello with Welcome: the features granted (unknown ones dropped), the limits and the liveness in force', async () => {
    const client = track(await connect(url));
    client.send({
      type: ClientType.Hello,
      data: { version: 7, features: ['notices', 'warp-drive', 'self-id'], client: 'test/1' },
    });
    const welcome = await client.next(ServerType.Welcome);
    expect(welcome.data.version).toBe(1);
    expect([...welcome.data.features].sort()).toEqual(['notices', 'self-id']);
    expect(welcome.data.limits).toEqual({
      maxFrameBytes: 100 * 1024,
      maxRoomMembers: 7,
      nameMaxCodePoints: 8,
      maxExpirySeconds: 3600,
      chatPerWindow: 9,
      windowMs: 900,
      rates: { ...RATE_LIMITS, chat: { events: 9, windowMs: 900 } },
      pingIntervalMs: HEARTBEAT.pingIntervalMs,
      pongTimeoutMs: HEARTBEAT.pongTimeoutMs,
    });
  });

  it('grants nothing that was not asked for, and refuses a second Hello with E005', async () => {
    const client = track(await connect(url, { features: [] }));
    expect(all(client, ServerType.Welcome)[0]?.data.features).toEqual([]);
    client.send({ type: ClientType.Hello, data: { version: 1, features: ['notices'] } });
    expect((await client.next(ServerType.Error)).data.code).toBe(ErrorCode.InvalidMessage);
    expect(all(client, ServerType.Welcome)).toHaveLength(1);
  });

  it('enforces the name limit it announces and clamps expiries to the one it announces, when configured below the protocol maximum', async () => {
    const client = track(await connect(url));
    const createRoom = (name: string, expiry: number) =>
      client.send({
        type: ClientType.CreateRoom,
        data: { name, password: '', ephemeral: 0, expiry },
      });
    createRoom('ninechars', 60);
    expect((await client.next(ServerType.Error)).data.code).toBe(ErrorCode.InvalidMessage);
    const before = Math.floor(Date.now() / 1000);
    createRoom('eight', 3601);
    const clamped = await client.next(ServerType.RoomCreated);
    expect(clamped.data.expiresAt - before).toBeGreaterThanOrEqual(3599);
    expect(clamped.data.expiresAt - before).toBeLessThanOrEqual(3601);
    client.send({ type: ClientType.LeaveRoom, data: {} });
    const seated = await create(client, 'eightchr', { expiry: 3600 });
    const guest = track(await connect(url));
    expect(await joinRefused(guest, seated.roomId, 'ninechars')).toBe(ErrorCode.InvalidMessage);
    await join(guest, seated.roomId, 'éééééééé');
  });

  it('puts selfId in RoomJoined only for clients that negotiated self-id', async () => {
    const withSelf = track(await connect(url, { features: ['self-id'] }));
    const alice = await create(withSelf, 'alice');
    expect(alice.joined.data.selfId).toBe(alice.memberId);

    const withNotices = track(await connect(url, { features: ['notices'] }));
    const bob = await join(withNotices, alice.roomId, 'bob');
    expect(bob.joined.data).not.toHaveProperty('selfId');

    const plain = track(await connectAndJoin(url, alice.roomId, 'carol'));
    expect(plain.joined.data).not.toHaveProperty('selfId');

    const late = track(await connect(url, { features: ['self-id'] }));
    const dave = await join(late, alice.roomId, 'dave');
    expect(dave.joined.data.selfId).toBe(dave.memberId);
  });
});

describe('embedded relay: a client that never negotiated', () => {
  it('never receives a message id of 0x40 or above, through expiry warnings and a drain', async () => {
    const started = await startTestRelay({
      heartbeat: HEARTBEAT,
      rooms: { expiryWarningSeconds: 1 },
    });
    const negotiated = await connect(started.url, { features: ['notices', 'self-id'] });
    const alice = await create(negotiated, 'alice', { expiry: 2 });
    const plain = await connectAndJoin(started.url, alice.roomId, 'bob');
    plain.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'c' } });
    plain.client.send({ type: ClientType.Typing, data: { typing: true } });
    plain.client.sendRaw(rawFrame({ type: 0x40, data: 'not a map' }));
    await plain.client.next(ServerType.Error);
    await plain.client.next(ServerType.RoomClosed, 4000);
    await alice.client.next(ServerType.RoomClosed, 4000);

    const other = await create(plain.client, 'bob');
    const again = await join(negotiated, other.roomId, 'alice');
    expect(again.joined.data.selfId).toBe(again.memberId);
    await started.stop();
    await Promise.all([plain.client.closed, negotiated.closed]);

    // The negotiated client did get extension messages, so there were some to withhold.
    const extensions = (client: TestClient) =>
      client.received.map((m) => m.type).filter((type) => type >= 0x40);
    expect(extensions(negotiated)).toEqual([
      ServerType.Welcome,
      ServerType.Notice,
      ServerType.Notice,
    ]);
    expect(extensions(plain.client)).toEqual([]);
    expect(plain.client.received.every((m) => m.type >= 0x10 && m.type <= 0x1e)).toBe(true);
  });
});

describe('embedded relay: capacity', () => {
  it('refuses a member past limits.maxRoomMembers with E002, and admits again once a seat frees', async () => {
    const url = await relay({ limits: { maxRoomMembers: 2 } });
    const alice = track(await connectAndCreate(url, 'alice'));
    const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
    const carol = track(await connect(url));
    expect(await joinRefused(carol, alice.roomId, 'carol')).toBe(ErrorCode.RoomFull);
    bob.client.send({ type: ClientType.LeaveRoom, data: {} });
    await alice.client.next(ServerType.MemberLeft);
    const seated = await join(carol, alice.roomId, 'carol');
    expect(seated.joined.data.members).toHaveLength(2);
  });
});

describe('embedded relay: rate limits', () => {
  it('refuses chat past limits.rate.chat with E004 without relaying it, and recovers after the window', async () => {
    const window = 600;
    const url = await relay({ limits: { rate: { chat: { events: 3, windowMs: window } } } });
    const alice = track(await connectAndCreate(url, 'alice'));
    const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
    // m0 stands for the key announcement Arthas clients send after joining: it is not counted.
    for (let i = 0; i < 6; i++) {
      alice.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: `m${i}` } });
    }
    const errors = await waitForCount(alice.client, ServerType.Error, 2);
    expect(errors.map((e) => e.data.code)).toEqual([ErrorCode.RateLimited, ErrorCode.RateLimited]);
    // Other kinds have their own budgets.
    alice.client.send({ type: ClientType.Typing, data: { typing: true } });
    await bob.client.next(ServerType.MemberTyping);
    const relayed = await waitForCount(bob.client, ServerType.RelayMessage, 4);
    expect(relayed.map((m) => m.data.ciphertext)).toEqual(['m0', 'm1', 'm2', 'm3']);

    await sleep(window);
    alice.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'later' } });
    const [, , , , later] = await waitForCount(bob.client, ServerType.RelayMessage, 5);
    expect(later?.data.ciphertext).toBe('later');
    expect(all(alice.client, ServerType.Error)).toHaveLength(2);
  });
});
