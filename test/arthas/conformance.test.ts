/**
 * Arthas conformance on the wire: clients doing everything the real Arthas clients do, sending
 * exactly what they send (the Go CLI's CreateRoom without `expiry` and with int64 integers; the
 * web client's signed payloads, key announcement, encrypted typing, reactions, files with
 * thumbnails and acks; LeaveRoom after RoomClosed), get no Error frame the Arthas server would not
 * send, on one replica and across two replicas sharing Redis. The frames are written here from
 * the documented facts (libs/protocol/README.md, Compatibility); the payloads are opaque to the
 * relay, so random bytes stand in for ciphertext.
 */
import type { ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../libs/protocol/src/fixtures/bytes.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { all, rawFrame, sleep, waitFor, waitForCount } from '../relay/helpers.js';
import { clusterConfig } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { TestClient } from '../support/test-client.js';

const ORIGINS = ['https://hush.example', 'arthas-cli'];

/** base64url of `bytes` random bytes, as Arthas clients send iv and ciphertext. */
const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');

/** Hex of a msgpack str (fixstr or str8) holding `text`. */
function str(text: string): string {
  const bytes = Buffer.from(text);
  const head =
    bytes.length < 32
      ? (0xa0 | bytes.length).toString(16)
      : `d9 ${bytes.length.toString(16).padStart(2, '0')}`;
  return `${head} ${bytes.toString('hex')}`;
}

/** The Go CLI's CreateRoom: uint8 type, a 3-field map, `ephemeral` as int64, no `expiry`. */
function goCliCreateRoom(name: string): Uint8Array {
  return fromHex(
    `82 ${str('type')} cc 01 ${str('data')} 83`,
    `${str('name')} ${str(name)}`,
    `${str('password')} a0`,
    `${str('ephemeral')} d3 0000000000000000`,
  );
}

/** The Go CLI's JoinRoom. */
function goCliJoinRoom(roomId: string, name: string): Uint8Array {
  return fromHex(
    `82 ${str('type')} cc 02 ${str('data')} 83`,
    `${str('roomId')} ${str(roomId)}`,
    `${str('name')} ${str(name)}`,
    `${str('password')} a0`,
  );
}

/** The Go CLI's Pong: `t` as int64. */
function goCliPong(t: number): Uint8Array {
  return fromHex(
    `82 ${str('type')} cc 06 ${str('data')} 81 ${str('t')} d3 ${t.toString(16).padStart(16, '0')}`,
  );
}

/**
 * An Arthas-format client: connects with the Origin the real client sends, answers Ping with a
 * Pong in its own encoding, and keeps every frame it receives.
 */
async function arthas(url: string, kind: 'cli' | 'web'): Promise<TestClient> {
  const client = await TestClient.connect(url, {
    autoPong: false,
    headers: { Origin: kind === 'cli' ? 'arthas-cli' : 'https://hush.example' },
  });
  // TestClient records each frame first (its listener was added first); this one answers Pings,
  // the CLI echoing `t` as int64, the web client as its msgpack encoder sees fit.
  client.socket.on('message', () => {
    const ping = client.received.at(-1);
    if (ping?.type !== ServerType.Ping) return;
    client.sendRaw(
      kind === 'cli'
        ? goCliPong(ping.data.t)
        : rawFrame({ type: ClientType.Pong, data: { t: ping.data.t } }),
    );
  });
  return client;
}

const errors = (client: TestClient) => all(client, ServerType.Error);

/**
 * For a client outside a room: every frame before it has been handled once an unknown room id is
 * answered E001.
 */
async function barrier(client: TestClient): Promise<void> {
  const before = errors(client).length;
  client.sendRaw(goCliJoinRoom('z'.repeat(21), 'barrier'));
  const answer = await waitFor(
    client,
    (received) => received.filter((m) => m.type === ServerType.Error)[before],
    'the barrier',
  );
  expect(answer.type === ServerType.Error && answer.data.code).toBe(ErrorCode.RoomNotFound);
  client.received.splice(client.received.indexOf(answer as ServerMessage), 1);
}

/**
 * Two members of one room each send the other a reaction and wait for the other's. Frames are
 * handled in order and an Error is written before anything later on the same socket, so once
 * both markers arrived, every Error either client earned before has arrived too.
 */
async function exchangeMarkers(a: TestClient, b: TestClient): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const count = all(to, ServerType.RelayReaction).length + 1;
    from.sendRaw(
      rawFrame({ type: ClientType.SendReaction, data: { iv: b64(12), ciphertext: b64(40) } }),
    );
    await waitForCount(to, ServerType.RelayReaction, count);
  }
}

describe.each([
  ['one replica', 1],
  ['two replicas sharing Redis', 2],
] as const)('Arthas clients against %s', (_name, replicas) => {
  let redis: TestRedis | undefined;
  let relays: RunningRelay[] = [];
  const clients: TestClient[] = [];
  const at = (i: number) => (relays[i % relays.length] as RunningRelay).url;
  const track = (client: TestClient) => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const base = { server: { allowedOrigins: ORIGINS } };
    if (replicas === 1) {
      relays = [await startTestRelay(base)];
      return;
    }
    redis = await startRedis();
    const config = clusterConfig({ url: redis.url }, base);
    relays = await Promise.all([startTestRelay(config), startTestRelay(config)]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(relays.map((relay) => relay.stop()));
    await redis?.stop();
  });

  it('do everything a room is for and get no Error an Arthas server would not send', async () => {
    // The Go CLI creates the room (no expiry, int64 integers) from replica 0.
    const cli = track(await arthas(at(0), 'cli'));
    cli.sendRaw(goCliCreateRoom('gopher'));
    const created = await cli.next(ServerType.RoomCreated);
    expect(created.data.expiresAt).toBe(0);
    const { roomId } = created.data;
    await cli.next(ServerType.RoomJoined);

    // The web client joins from replica 1 and announces its signing key, then chats at the pace
    // its own limiter allows: ten messages within ten seconds.
    const web = track(await arthas(at(1), 'web'));
    web.sendRaw(
      rawFrame({ type: ClientType.JoinRoom, data: { roomId, name: 'webby', password: '' } }),
    );
    const joined = await web.next(ServerType.RoomJoined);
    const webId = joined.data.members.find((m) => m.name === 'webby')?.id;
    web.sendRaw(
      rawFrame({ type: ClientType.SendMessage, data: { iv: b64(12), ciphertext: b64(180) } }),
    );
    for (let i = 0; i < 10; i++) {
      web.sendRaw(
        rawFrame({ type: ClientType.SendMessage, data: { iv: b64(12), ciphertext: b64(120) } }),
      );
    }
    await waitForCount(cli, ServerType.RelayMessage, 11);

    // The CLI answers with signed messages of its own (JSON {text, sig}, encrypted: opaque here).
    for (let i = 0; i < 3; i++) {
      cli.sendRaw(
        rawFrame({ type: ClientType.SendMessage, data: { iv: b64(12), ciphertext: b64(150) } }),
      );
    }
    await waitForCount(web, ServerType.RelayMessage, 3);

    // Encrypted typing, start and stop: relayed with the pair, the flag at its zero value.
    for (let i = 0; i < 2; i++) {
      web.sendRaw(
        rawFrame({ type: ClientType.Typing, data: { iv: b64(12), ciphertext: b64(32) } }),
      );
    }
    const typing = await waitForCount(cli, ServerType.MemberTyping, 2);
    for (const state of typing) {
      expect(state.data).toMatchObject({ id: webId, typing: false });
      expect(typeof state.data.iv).toBe('string');
    }

    // A reaction.
    cli.sendRaw(
      rawFrame({ type: ClientType.SendReaction, data: { iv: b64(12), ciphertext: b64(90) } }),
    );
    await web.next(ServerType.RelayReaction);

    // A picture: metadata with a ~40 KB thumbnail (binary, as the web client sends it), chunks
    // of 64 KiB every 10 ms, Complete; the receiver acknowledges after Complete.
    const transferId = b64(16);
    web.sendRaw(
      rawFrame({
        type: ClientType.SendFileMeta,
        data: { transferId, iv: b64(12), ciphertext: randomBytes(40 * 1024) },
      }),
    );
    for (let index = 0; index < 6; index++) {
      web.sendRaw(
        rawFrame({
          type: ClientType.SendFileChunk,
          data: { transferId, index, iv: randomBytes(12), data: randomBytes(64 * 1024 + 16) },
        }),
      );
      await sleep(10);
    }
    web.sendRaw(rawFrame({ type: ClientType.SendFileComplete, data: { transferId } }));
    await cli.next(ServerType.RelayFileComplete);
    expect(all(cli, ServerType.RelayFileChunk)).toHaveLength(6);
    cli.sendRaw(rawFrame({ type: ClientType.SendFileAck, data: { transferId } }));
    const ack = await web.next(ServerType.RelayFileAck);
    expect(ack.data.transferId).toBe(transferId);

    await exchangeMarkers(web, cli);
    expect(errors(web)).toEqual([]);
    expect(errors(cli)).toEqual([]);
  });

  it('leave after RoomClosed without being told they are not in a room', async () => {
    const web = track(await arthas(at(0), 'web'));
    web.sendRaw(
      rawFrame({
        type: ClientType.CreateRoom,
        data: { name: 'brief', password: '', ephemeral: 0, expiry: 1 },
      }),
    );
    const { roomId } = (await web.next(ServerType.RoomCreated)).data;
    const cli = track(await arthas(at(1), 'cli'));
    cli.sendRaw(goCliJoinRoom(roomId, 'gopher'));
    await cli.next(ServerType.RoomJoined);
    for (const client of [web, cli]) {
      expect((await client.next(ServerType.RoomClosed, 5_000)).data.reason).toBe('expired');
      client.sendRaw(rawFrame({ type: ClientType.LeaveRoom, data: {} }));
      await barrier(client);
      expect(errors(client)).toEqual([]);
    }
  });

  it('connect with the Origin the Go CLI sends when the relay has an allowlist', async () => {
    const cli = track(await arthas(at(0), 'cli'));
    cli.sendRaw(goCliCreateRoom('origin'));
    await cli.next(ServerType.RoomJoined);
    await expect(
      TestClient.connect(at(0), { headers: { Origin: 'https://elsewhere.example' } }),
    ).rejects.toThrow('upgrade refused: 403');
  });

  it('are told in plain English what a Hush-only error means', async () => {
    const owner = track(await arthas(at(0), 'cli'));
    owner.sendRaw(goCliCreateRoom('twin'));
    const { roomId } = (await owner.next(ServerType.RoomCreated)).data;
    const twin = track(await arthas(at(1), 'cli'));
    twin.sendRaw(goCliJoinRoom(roomId, 'twin'));
    const taken = await twin.next(ServerType.Error);
    expect(taken.data.code).toBe(ErrorCode.NameTaken);
    expect(taken.data.msg).toMatch(/^[a-z][a-z ,;'.-]+$/i);
    expect(taken.data.msg).not.toContain('E0');
  });
});
