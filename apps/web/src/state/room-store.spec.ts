import { generateRoomKey, newMessageId, sealMessage } from '@hush/crypto';
import type { Member } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import { ManualTimers } from '../testing/manual-timers.js';
import type { ChatEntry } from './room-store.js';
import { MAX_ENTRIES, RoomStore, TYPING_TIMEOUT_MS } from './room-store.js';

const roomId = 'V1StGXR8_Z5jdHi6B-myT';
const ana: Member = { id: 'm-ana', name: 'Ana', color: '#3b82f6' };
const ben: Member = { id: 'm-ben', name: 'Ben', color: '#e11d48' };

function joinedRoom(ephemeral = 0) {
  const timers = new ManualTimers();
  const room = new RoomStore(timers);
  room.joined(
    { roomId, members: [ana, ben], hasPassword: false, ephemeral, expiresAt: 0, selfId: ana.id },
    'Ana',
  );
  return { timers, room };
}

const messages = (room: RoomStore) =>
  room.state.entries.filter((e): e is ChatEntry => e.kind === 'message');

describe('RoomStore typing', () => {
  it('shows a member as typing until the timeout, unless they refresh it', () => {
    const { timers, room } = joinedRoom();
    room.memberTyping(ben.id, true);
    expect(room.state.typing).toEqual([ben.id]);
    timers.advance(TYPING_TIMEOUT_MS - 1_000);
    room.memberTyping(ben.id, true);
    timers.advance(TYPING_TIMEOUT_MS - 1_000);
    expect(room.state.typing).toEqual([ben.id]);
    timers.advance(1_000);
    expect(room.state.typing).toEqual([]);
  });

  it('clears typing on "stopped", on leaving and when their message arrives', async () => {
    const { room } = joinedRoom();
    const key = await generateRoomKey();
    room.memberTyping(ben.id, true);
    room.memberTyping(ben.id, false);
    expect(room.state.typing).toEqual([]);

    room.memberTyping(ben.id, true);
    const sealed = await sealMessage(key, { text: 'hi', id: newMessageId() });
    await room.receive({ senderId: ben.id, senderName: 'Ben', t: 1, ...sealed }, key);
    expect(room.state.typing).toEqual([]);

    room.memberTyping(ben.id, true);
    room.memberLeft(ben.id);
    expect(room.state.typing).toEqual([]);
  });

  it('ignores typing from ourselves and from strangers', () => {
    const { room } = joinedRoom();
    room.memberTyping(ana.id, true);
    room.memberTyping('nobody', true);
    expect(room.state.typing).toEqual([]);
  });
});

describe('RoomStore members', () => {
  it('finds its own id by nickname when the relay does not send self-id', () => {
    const room = new RoomStore(new ManualTimers());
    room.joined(
      { roomId, members: [ben, ana], hasPassword: false, ephemeral: 0, expiresAt: 0 },
      ' ana ',
    );
    expect(room.state.selfId).toBe(ana.id);
  });

  it('adds and removes members with a line in the conversation', () => {
    const { room } = joinedRoom();
    const cleo: Member = { id: 'm-cleo', name: 'Cleo', color: '#10b981' };
    room.memberJoined(cleo);
    room.memberJoined(cleo);
    expect(room.state.members.map((m) => m.name)).toEqual(['Ana', 'Ben', 'Cleo']);
    room.memberLeft(cleo.id);
    expect(room.state.members.map((m) => m.name)).toEqual(['Ana', 'Ben']);
    expect(room.state.entries.map((e) => (e.kind === 'system' ? e.text : ''))).toEqual([
      'Cleo joined',
      'Cleo left',
    ]);
  });
});

describe('RoomStore messages', () => {
  it('decrypts a message and gives it the sender colour', async () => {
    const { room } = joinedRoom();
    const key = await generateRoomKey();
    const id = newMessageId();
    const sealed = await sealMessage(key, { text: 'hello Ana', id });
    await room.receive({ senderId: ben.id, senderName: 'Ben', t: 42, ...sealed }, key);
    expect(messages(room)).toEqual([
      expect.objectContaining({
        own: false,
        senderName: 'Ben',
        color: ben.color,
        text: 'hello Ana',
        id,
        t: 42,
        status: 'received',
      }),
    ]);
  });

  it('shows a message sealed with another key as undecryptable, without throwing', async () => {
    const { room } = joinedRoom();
    const sealed = await sealMessage(await generateRoomKey(), { text: 'secret' });
    await room.receive(
      { senderId: ben.id, senderName: 'Ben', t: 1, ...sealed },
      await generateRoomKey(),
    );
    await room.receive(
      { senderId: ben.id, senderName: 'Ben', t: 2, iv: 'not base64!', ciphertext: '' },
      await generateRoomKey(),
    );
    expect(messages(room).map((m) => [m.status, m.text])).toEqual([
      ['undecryptable', undefined],
      ['undecryptable', undefined],
    ]);
  });

  it('keeps arrival order even when decryption finishes out of order', async () => {
    const { room } = joinedRoom();
    const key = await generateRoomKey();
    const first = await sealMessage(key, { text: 'x'.repeat(3_000) });
    const second = await sealMessage(key, { text: 'short' });
    await Promise.all([
      room.receive({ senderId: ben.id, senderName: 'Ben', t: 1, ...first }, key),
      room.receive({ senderId: ben.id, senderName: 'Ben', t: 2, ...second }, key),
    ]);
    expect(messages(room).map((m) => m.t)).toEqual([1, 2]);
  });

  it('ignores a colour that is not #rrggbb', async () => {
    const timers = new ManualTimers();
    const room = new RoomStore(timers);
    const odd: Member = { id: 'm-odd', name: 'Odd', color: 'red; background: url(x)' };
    room.joined(
      {
        roomId,
        members: [ana, odd],
        hasPassword: false,
        ephemeral: 0,
        expiresAt: 0,
        selfId: ana.id,
      },
      'Ana',
    );
    const key = await generateRoomKey();
    await room.receive(
      { senderId: odd.id, senderName: 'Odd', t: 1, ...(await sealMessage(key, { text: 'x' })) },
      key,
    );
    expect(messages(room)[0]?.color).toBeUndefined();
  });

  it('removes messages from the view `ephemeral` seconds after they arrive or are sent', async () => {
    const { timers, room } = joinedRoom(10);
    const key = await generateRoomKey();
    await room.receive(
      { senderId: ben.id, senderName: 'Ben', t: 1, ...(await sealMessage(key, { text: 'a' })) },
      key,
    );
    timers.advance(4_000);
    const own = room.addOwn('b', newMessageId(), 'Ana');
    timers.advance(60_000);
    // A queued message waits for its turn; it must not vanish before anyone saw it.
    expect(messages(room).map((m) => m.text)).toEqual(['b']);
    room.setStatus(own, 'sent');
    timers.advance(9_999);
    expect(messages(room).map((m) => m.text)).toEqual(['b']);
    timers.advance(1);
    expect(messages(room)).toEqual([]);
  });

  it('keeps messages in rooms that are not ephemeral', async () => {
    const { timers, room } = joinedRoom(0);
    room.setStatus(room.addOwn('stays', newMessageId(), 'Ana'), 'sent');
    timers.advance(7 * 24 * 3_600_000);
    expect(messages(room).map((m) => m.text)).toEqual(['stays']);
  });

  it('keeps the view bounded but never drops a queued message', () => {
    const { room } = joinedRoom();
    const queued = room.addOwn('queued', newMessageId(), 'Ana');
    for (let i = 0; i < MAX_ENTRIES + 20; i += 1) room.system(`line ${i}`);
    expect(room.state.entries).toHaveLength(MAX_ENTRIES);
    expect(room.state.entries[0]?.key).toBe(queued);
  });
});
