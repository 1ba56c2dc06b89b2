import { FakeTransport, ManualClock } from '@hush/client/testing';
import type { FakeConnection } from '@hush/client/testing';
import type { RoomKey } from '@hush/crypto';
import {
  exportRoomKey,
  fromBase64Url,
  generateRoomKey,
  generateSigningKeyPair,
  importRoomKey,
  isKeyAnnouncement,
  makeKeyAnnouncement,
  openMessageWithJson,
  parseShareCode,
  sealMessage,
  sealReaction,
  signPayload,
} from '@hush/crypto';
import type { Member, ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, RATE_LIMITS, ServerType } from '@hush/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { ChatEntry, ChatStoreDeps } from './chat-store.js';
import { ChatStore } from './chat-store.js';
import type { SavedRoom } from './saved-room.js';
import { roomMemory } from './saved-room.js';

const ROOM_ID = 'V1StGXR8_Z5jdHi6B-myT';
const ANA: Member = { id: 'm-ana', name: 'Ana', color: '#3b82f6' };
const BEN: Member = { id: 'm-ben', name: 'Ben', color: '#e11d48' };
const LIMITS = {
  maxFrameBytes: 102_400,
  maxRoomMembers: 50,
  nameMaxCodePoints: 20,
  maxExpirySeconds: 604_800,
  chatPerWindow: RATE_LIMITS.chat.events,
  windowMs: RATE_LIMITS.chat.windowMs,
  rates: { ...RATE_LIMITS },
};

/** A store on the SDK's fake transport and manual clock, with a memory in a plain Map. */
function setup(deps: Partial<ChatStoreDeps> = {}) {
  const fake = new FakeTransport();
  const clock = new ManualClock();
  const saved = new Map<string, string>();
  const storage = {
    getItem: (k: string) => saved.get(k) ?? null,
    setItem: (k: string, v: string) => void saved.set(k, v),
    removeItem: (k: string) => void saved.delete(k),
  } as Storage;
  const urls: string[] = [];
  const store = new ChatStore({
    url: 'ws://relay.test/ws',
    linkBase: 'https://hush.test/',
    transport: fake.transport,
    clock,
    random: () => 0,
    memory: roomMemory(() => storage),
    urls: {
      create: (data, type) => {
        urls.push(`blob:${type}:${data.length}`);
        return urls.at(-1)!;
      },
      revoke: () => undefined,
    },
    ...deps,
  });
  return { store, fake, clock, saved, memory: roomMemory(() => storage), urls };
}

const until = (check: () => boolean) => vi.waitFor(() => expect(check()).toBe(true));

/** The relay admits the newest connection into the room with `members` (self: the last). */
async function admit(
  fake: FakeTransport,
  members: Member[],
  extra: { created?: boolean; ephemeral?: number } = {},
): Promise<FakeConnection> {
  await until(() => fake.connections.length > 0);
  const connection = fake.last;
  connection.open();
  connection.receive({
    type: ServerType.Welcome,
    data: { version: 1, features: ['notices', 'self-id'], limits: LIMITS },
  });
  if (extra.created === true) {
    connection.receive({ type: ServerType.RoomCreated, data: { roomId: ROOM_ID, expiresAt: 0 } });
  }
  connection.receive({
    type: ServerType.RoomJoined,
    data: {
      roomId: ROOM_ID,
      members,
      hasPassword: false,
      ephemeral: extra.ephemeral ?? 0,
      expiresAt: 0,
      selfId: members.at(-1)!.id,
    },
  });
  return connection;
}

/** Another member's client: what it sends, as the relay delivers it. */
async function peer(member: Member, key: RoomKey) {
  const signing = (await generateSigningKeyPair())!;
  let t = 1_700_000_000_000;
  const relay = (sealed: { iv: string | Uint8Array; ciphertext: string | Uint8Array }) =>
    ({
      type: ServerType.RelayMessage,
      data: { senderId: member.id, senderName: member.name, ...sealed, t: (t += 1000) },
    }) satisfies ServerMessage;
  return {
    announce: async () => relay(await sealMessage(key, await makeKeyAnnouncement(signing))),
    say: async (payload: Record<string, unknown>) =>
      relay(await sealMessage(key, (await signPayload(payload, signing)) as { text: string })),
    react: async (payload: Record<string, unknown>) =>
      ({
        type: ServerType.RelayReaction,
        data: {
          senderId: member.id,
          senderName: member.name,
          ...(await sealReaction(key, (await signPayload(payload, signing)) as never)),
          t: (t += 1000),
        },
      }) satisfies ServerMessage,
  };
}

const messages = (store: ChatStore) =>
  store.room.entries.filter((e): e is ChatEntry => e.kind === 'message');

async function sentChat(connection: FakeConnection, key: RoomKey) {
  const opened = await Promise.all(
    connection.sentOf(ClientType.SendMessage).map((m) => openMessageWithJson(key, m.data)),
  );
  return opened.filter((o) => !isKeyAnnouncement(o.json)).map((o) => o.json!);
}

describe('ChatStore on the client SDK', () => {
  it('creates a room, shows the invitation and keeps the room in the tab for a reload', async () => {
    const { store, fake, memory } = setup();
    expect(await store.create({ name: ' Ana ', password: '', ephemeral: 0, expiry: 0 })).toBe(true);
    const connection = await admit(fake, [ANA], { created: true });
    expect(connection.sentOf(ClientType.CreateRoom)[0]?.data).toMatchObject({ name: 'Ana' });
    await until(() => store.state.status === 'online');
    expect(store.state.entered).toBe(true);
    expect(store.state.share?.code).toMatch(new RegExp(`^${ROOM_ID}:[A-Za-z0-9_-]{43}$`));
    expect(store.state.share?.link).toBe(`https://hush.test/#/join/${store.state.share?.code}`);
    const kept = memory.load();
    expect(kept).toMatchObject({ code: { roomId: ROOM_ID }, name: 'Ana', passwordHash: '' });
    expect(kept?.code.key).toBe(parseShareCode(store.state.share!.code).key);
    expect(kept?.signing?.seed).toHaveLength(32);
    await until(() => store.state.verification !== undefined);
    expect(store.state.verification?.safetyCode).toMatch(/^(\d{5} ){5}\d{5}$/);
    expect(store.state.verification?.fingerprints[ANA.id]).toMatch(/^[0-9A-F]{4}( [0-9A-F]{4})+$/);

    store.leave();
    expect(memory.load()).toBeUndefined();
    expect(store.state.status).toBe('idle');
    expect(store.room.entries).toEqual([]);
  });

  it('sends a message as queued, then sent; a reply carries the quoted message', async () => {
    const { store, fake } = setup();
    await store.create({ name: 'Ana', password: '', ephemeral: 0, expiry: 0 });
    const connection = await admit(fake, [BEN, ANA], { created: true });
    await until(() => store.state.status === 'online');
    const key = await importRoomKey(parseShareCode(store.state.share!.code).key);
    const ben = await peer(BEN, key);
    connection.receive(await ben.announce());
    connection.receive(await ben.say({ text: 'hi Ana' }));
    await until(() => messages(store).length === 1);
    const received = messages(store)[0]!;
    expect(received).toMatchObject({ text: 'hi Ana', own: false, senderName: 'Ben' });
    await until(() => messages(store)[0]!.verification === 'verified');

    expect(store.send('  hello Ben  ', received.ref)).toBe('queued');
    expect(messages(store)[1]).toMatchObject({
      text: 'hello Ben',
      own: true,
      reply: { ref: received.ref, senderName: 'Ben', preview: 'hi Ana' },
    });
    await until(() => messages(store)[1]!.status === 'sent');
    const [payload] = await sentChat(connection, key);
    expect(payload).toMatchObject({
      text: 'hello Ben',
      reply: { senderName: 'Ben', preview: 'hi Ana' },
    });
    expect(store.send('   ')).toBe('empty');
    expect(store.send('x'.repeat(4001))).toBe('too-long');
  });

  it('counts reactions per message, one per member, and sends ours', async () => {
    const { store, fake } = setup();
    await store.create({ name: 'Ana', password: '', ephemeral: 0, expiry: 0 });
    const connection = await admit(fake, [BEN, ANA], { created: true });
    await until(() => store.state.status === 'online');
    const key = await importRoomKey(parseShareCode(store.state.share!.code).key);
    const ben = await peer(BEN, key);
    const said = await ben.say({ text: 'vote' });
    connection.receive(said);
    await until(() => messages(store).length === 1);
    const { ref } = messages(store)[0]!;
    const stableId = `${BEN.id}:${(said.data as { t: number }).t}`;
    connection.receive(await ben.react({ stableId, emoji: '👍', action: 'add' }));
    await until(() => Object.keys(messages(store)[0]!.reactions).length === 1);
    expect(store.react(ref!, '👍')).toBe(true);
    expect(messages(store)[0]!.reactions).toEqual({ Ben: '👍', Ana: '👍' });
    expect(store.react(ref!, '❤️')).toBe(true);
    expect(messages(store)[0]!.reactions).toEqual({ Ben: '👍', Ana: '❤️' });
    connection.receive(await ben.react({ stableId, emoji: '👍', action: 'remove' }));
    await until(() => messages(store)[0]!.reactions['Ben'] === undefined);
    await until(() => connection.sentOf(ClientType.SendReaction).length === 3);
  });

  it('says the share code has the wrong key when nothing from others decrypts, but never to the creator', async () => {
    const joiner = setup();
    const otherKey = await generateRoomKey();
    await joiner.store.join({
      name: 'Eve',
      password: '',
      code: { roomId: ROOM_ID, key: exportRoomKey(await generateRoomKey()) },
    });
    const eve: Member = { id: 'm-eve', name: 'Eve', color: '#22c55e' };
    const connection = await admit(joiner.fake, [ANA, eve]);
    await until(() => joiner.store.state.status === 'online');
    const ana = await peer(ANA, otherKey);
    connection.receive(await ana.announce());
    await until(() => joiner.store.state.keyMismatch);
    expect(joiner.store.room.members.find((m) => m.id === ANA.id)?.unreadable).toBe(true);
    connection.receive(await ana.say({ text: 'secret' }));
    // One line per sender, counting.
    await until(() => {
      const last = joiner.store.room.entries.at(-1);
      return last?.kind === 'undecryptable' && last.count === 2;
    });
    expect(joiner.store.room.entries.filter((e) => e.kind === 'undecryptable')).toHaveLength(1);

    const creator = setup();
    await creator.store.create({ name: 'Ana', password: '', ephemeral: 0, expiry: 0 });
    const ownConnection = await admit(creator.fake, [eve, ANA], { created: true });
    await until(() => creator.store.state.status === 'online');
    const stranger = await peer(eve, otherKey);
    ownConnection.receive(await stranger.announce());
    await until(() => creator.store.room.entries.some((e) => e.kind === 'undecryptable'));
    expect(creator.store.state.keyMismatch).toBe(false);
  });

  it('is silent about a typing E004 and shows one notice per cause, however often it repeats', async () => {
    const { store, fake } = setup();
    await store.create({ name: 'Ana', password: '', ephemeral: 0, expiry: 0 });
    const connection = await admit(fake, [ANA], { created: true });
    await until(() => store.state.status === 'online');
    const error = (msg: string) =>
      connection.receive({ type: ServerType.Error, data: { code: ErrorCode.RateLimited, msg } });
    error('too many typing notifications; slow down');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.state.notices).toEqual([]);
    error('too many messages; slow down');
    error('too many messages; slow down');
    error('too many messages; slow down');
    await until(() => store.state.notices[0]?.count === 3);
    expect(store.state.notices).toHaveLength(1);
  });

  it('rejoins the room kept in the tab after a reload, with the same name and signing key', async () => {
    const key = await generateRoomKey();
    const first = setup();
    await first.store.join({
      name: 'Ben',
      password: '',
      code: { roomId: ROOM_ID, key: exportRoomKey(key) },
    });
    await admit(first.fake, [ANA, BEN]);
    await until(() => first.store.state.status === 'online');
    const kept = first.memory.load()!;

    // A new page in the same tab: the same storage, a new store.
    const reloaded = setup();
    reloaded.memory.save(kept);
    expect(await reloaded.store.resume()).toBe(true);
    expect(reloaded.store.state.resuming).toBe(true);
    const connection = await admit(reloaded.fake, [ANA, BEN]);
    expect(connection.sentOf(ClientType.JoinRoom)[0]?.data).toEqual({
      roomId: ROOM_ID,
      name: 'Ben',
      password: '',
    });
    await until(() => reloaded.store.state.status === 'online');
    expect(reloaded.store.state.resuming).toBe(false);
    await until(() => connection.sentOf(ClientType.SendMessage).length > 0);
    const [announcement] = await Promise.all(
      connection.sentOf(ClientType.SendMessage).map((m) => openMessageWithJson(key, m.data)),
    );
    expect(fromBase64Url(announcement!.json!['pubkey'] as string)).toEqual(kept.signing!.publicKey);
  });

  it('after a reload into a room that closed meanwhile, says so and forgets it', async () => {
    const { store, fake, memory } = setup();
    const kept: SavedRoom = {
      code: { roomId: ROOM_ID, key: exportRoomKey(await generateRoomKey()) },
      name: 'Ben',
      passwordHash: '',
    };
    memory.save(kept);
    await store.resume();
    await until(() => fake.connections.length > 0);
    fake.last.open();
    fake.last.receive({ type: ServerType.Error, data: { code: ErrorCode.RoomNotFound, msg: '' } });
    await until(() => store.state.joinError !== undefined);
    expect(store.state.joinError?.kind).toBe('room-gone-reload');
    expect(memory.load()).toBeUndefined();
    expect(store.state.entered).toBe(false);
  });

  it('shows files from others with their preview, progress and the received bytes', async () => {
    const { store, fake, urls } = setup();
    await store.create({ name: 'Ana', password: '', ephemeral: 10, expiry: 0 });
    await admit(fake, [BEN, ANA], { created: true, ephemeral: 10 });
    await until(() => store.state.status === 'online');
    const sent = await store.sendFile({
      name: 'notes.txt',
      type: 'text/plain',
      size: 5,
      arrayBuffer: async () => new TextEncoder().encode('hello').buffer as ArrayBuffer,
    });
    expect(sent).toBe(true);
    await until(() => store.room.entries.some((e) => e.kind === 'file' && e.state === 'sent'));
    const file = store.room.entries.find((e) => e.kind === 'file')!;
    expect(file).toMatchObject({ fileName: 'notes.txt', own: true, size: 5 });
    expect(urls).toContain('blob:text/plain:5');

    // A file can be cancelled while it waits behind the budget or goes out.
    const big = new Uint8Array(300_000);
    await store.sendFile({
      name: 'big.bin',
      type: '',
      size: big.length,
      arrayBuffer: async () => big.buffer,
    });
    const bigLine = () =>
      store.room.entries.find((e) => e.kind === 'file' && e.fileName === 'big.bin');
    store.cancelFile((bigLine() as { transferId: string }).transferId);
    await until(
      () => bigLine()?.kind === 'file' && (bigLine() as { state: string }).state === 'cancelled',
    );

    // Over the limit: refused with the limit stated.
    await store.sendFile({
      name: 'huge.bin',
      type: '',
      size: 6_000_000,
      arrayBuffer: () => Promise.reject(new Error('never read')),
    });
    expect(store.state.notices.at(-1)?.text).toMatch(
      /huge\.bin is 6\.0 MB: too large\. Files up to 5\.2 MB/,
    );
  });

  it('says how many messages from a member were lost while the connection was down', async () => {
    const { store, fake } = setup();
    await store.create({ name: 'Ana', password: '', ephemeral: 0, expiry: 0 });
    const connection = await admit(fake, [BEN, ANA], { created: true });
    await until(() => store.state.status === 'online');
    const key = await importRoomKey(parseShareCode(store.state.share!.code).key);
    const ben = await peer(BEN, key);
    const first = await ben.say({ text: 'one' });
    const later = await ben.say({ text: 'four' });
    connection.receive({ ...first, data: { ...first.data, seq: 1 } } as ServerMessage);
    connection.receive({ ...later, data: { ...later.data, seq: 4 } } as ServerMessage);
    await until(() => store.room.entries.some((e) => e.kind === 'system' && e.tone === 'warning'));
    expect(
      store.room.entries.find((e) => e.kind === 'system' && e.tone === 'warning'),
    ).toMatchObject({
      text: '2 messages from Ben did not reach you while the connection was down.',
    });
  });

  it('removes a message from view when the ephemeral time is up, and counts down to it', async () => {
    const { store, fake, clock } = setup();
    await store.create({ name: 'Ana', password: '', ephemeral: 10, expiry: 0 });
    await admit(fake, [ANA], { created: true, ephemeral: 10 });
    await until(() => store.state.status === 'online');
    store.send('gone soon');
    await until(() => messages(store)[0]?.status === 'sent');
    expect(messages(store)[0]!.expiresAt).toBe(clock.now() + 10_000);
    clock.advance(10_000);
    await until(() => messages(store).length === 0);
  });
});
