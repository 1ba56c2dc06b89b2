import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RedisConnections } from './redis.backends.js';
import { RedisKeys } from './redis-keys.js';
import type { Envelope } from '../fanout.port.js';
import { decodeEnvelope, encodeEnvelope, RedisFanout } from './redis.fanout.js';

describe('fan-out envelopes', () => {
  const frame = new Uint8Array([0x82, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x14, 0xff, 0x00]);

  it('round-trip every kind with the frame as raw bytes, not base64', () => {
    const broadcast: Envelope = { kind: 'broadcast', origin: 'r1', frame, exclude: 'm1' };
    const toSender: Envelope = { kind: 'to-transfer-sender', origin: 'r2', frame, transferId: 't' };
    const toMembers: Envelope = { kind: 'to-members', origin: 'r3', frame, memberIds: ['a', 'b'] };
    for (const envelope of [broadcast, toSender, toMembers]) {
      const bytes = encodeEnvelope(envelope);
      expect(bytes.includes(Buffer.from(frame))).toBe(true);
      expect(bytes.includes(Buffer.from(Buffer.from(frame).toString('base64')))).toBe(false);
      const decoded = decodeEnvelope(bytes);
      expect(decoded).toEqual({ ...envelope, frame: expect.any(Uint8Array) });
      expect(new Uint8Array(decoded?.frame ?? [])).toEqual(frame);
    }
  });

  it('rejects anything that is not an envelope', () => {
    const bad = [
      Buffer.from([0xc1]),
      encodeEnvelope({ kind: 'broadcast', origin: 'r1', frame }).subarray(0, 5),
      Buffer.from(JSON.stringify({ kind: 'broadcast', origin: 'r1', frame: 'AAAA' })),
    ];
    for (const bytes of bad) expect(decodeEnvelope(bytes)).toBeUndefined();
    const odd = (value: object) => decodeEnvelope(encodeEnvelope(value as Envelope));
    expect(odd({ kind: 'broadcast', origin: 1, frame })).toBeUndefined();
    expect(odd({ kind: 'broadcast', origin: 'r1', frame: 'text' })).toBeUndefined();
    expect(odd({ kind: 'to-transfer-sender', origin: 'r1', frame })).toBeUndefined();
    expect(odd({ kind: 'to-members', origin: 'r1', frame })).toBeUndefined();
    expect(odd({ kind: 'to-members', origin: 'r1', frame, memberIds: ['a', 2] })).toBeUndefined();
    expect(odd({ kind: 'whisper', origin: 'r1', frame })).toBeUndefined();
  });
});

/** A subscriber connection that answers after a macrotask, like a network would. */
class FakeSubscriber extends EventEmitter {
  status = 'ready';
  readonly channels = new Set<string>();
  readonly log: string[] = [];
  /** When set, subscriptions look fine but messages are lost. */
  deaf = false;
  /** When set, UNSUBSCRIBE replies wait for it. */
  held: Promise<void> | undefined;

  async subscribe(channel: string): Promise<number> {
    this.log.push(`subscribe ${channel}`);
    await tick();
    this.channels.add(channel);
    return this.channels.size;
  }

  async unsubscribe(channel: string): Promise<number> {
    this.log.push(`unsubscribe ${channel}`);
    await tick();
    await this.held;
    this.channels.delete(channel);
    return this.channels.size;
  }

  deliver(channel: string, message: Buffer): void {
    if (this.channels.has(channel) && !this.deaf) {
      this.emit('messageBuffer', Buffer.from(channel), message);
    }
  }
}

class FakeCommands extends EventEmitter {
  status = 'ready';
  constructor(private readonly subscriber: FakeSubscriber) {
    super();
  }

  async publish(channel: string, message: Buffer): Promise<number> {
    if (this.status !== 'ready') throw new Error('closed');
    setImmediate(() => this.subscriber.deliver(channel, message));
    return 1;
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const keys = new RedisKeys('hush:');
const ROOM = 'V1StGXR8_Z5jdHi6B-myT';
const CHANNEL = keys.roomChannel(ROOM);
const opened: RedisFanout[] = [];

function setup(selfCheckMs = 60_000) {
  const subscriber = new FakeSubscriber();
  const commands = new FakeCommands(subscriber);
  const resetSubscriber = vi.fn();
  const link: RedisConnections = {
    commands: commands as unknown as Redis,
    subscriber: subscriber as unknown as Redis,
    commandsReady: () => commands.status === 'ready',
    subscriberReady: () => subscriber.status === 'ready',
    onReady: (role, listener) =>
      (role === 'commands' ? commands : subscriber).on('ready', listener),
    resetSubscriber,
    release: async () => undefined,
  };
  const fanout = new RedisFanout({
    replicaId: 'me',
    link,
    keys,
    sharded: false,
    selfCheckMs,
    logger: pino({ level: 'silent' }),
  });
  const handler = vi.fn();
  fanout.onEnvelope(handler);
  fanout.start();
  opened.push(fanout);
  return { fanout, subscriber, commands, resetSubscriber, handler };
}

const envelope = (origin: string): Envelope => ({
  kind: 'broadcast',
  origin,
  frame: new Uint8Array([1, 2, 3]),
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((fanout) => fanout.close()));
});

describe('RedisFanout subscriptions', () => {
  it('subscribes a channel once for several subscriptions and drops it with the last one', async () => {
    const { fanout, subscriber } = setup();
    await fanout.subscribe(ROOM);
    await fanout.subscribe(ROOM);
    await fanout.unsubscribe(ROOM);
    expect(subscriber.channels.has(CHANNEL)).toBe(true);
    await fanout.unsubscribe(ROOM);
    expect(subscriber.channels.has(CHANNEL)).toBe(false);
    expect(subscriber.log).toEqual([`subscribe ${CHANNEL}`, `unsubscribe ${CHANNEL}`]);
  });

  it('stays subscribed when a re-subscribe races an unsubscribe already on the wire', async () => {
    const { fanout, subscriber, handler } = setup();
    await fanout.subscribe(ROOM);
    let release = () => undefined as void;
    subscriber.held = new Promise((resolve) => (release = resolve));
    const leaving = fanout.unsubscribe(ROOM);
    await vi.waitFor(() => expect(subscriber.log).toContain(`unsubscribe ${CHANNEL}`));
    const returning = fanout.subscribe(ROOM);
    await tick();
    release();
    await Promise.all([leaving, returning]);
    expect(subscriber.channels.has(CHANNEL)).toBe(true);

    await fanout.publish(ROOM, envelope('other'));
    await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(1));
  });

  it('stays subscribed when subscribe, unsubscribe and subscribe are all called at once', async () => {
    const { fanout, subscriber } = setup();
    await Promise.all([fanout.subscribe(ROOM), fanout.unsubscribe(ROOM), fanout.subscribe(ROOM)]);
    expect(subscriber.channels.has(CHANNEL)).toBe(true);
  });

  it('fails a subscribe while disconnected and keeps no subscription behind', async () => {
    const { fanout, subscriber } = setup();
    subscriber.status = 'reconnecting';
    await expect(fanout.subscribe(ROOM)).rejects.toThrow(/not connected/);
    subscriber.status = 'ready';
    subscriber.emit('ready');
    await tick();
    expect(subscriber.log).not.toContain(`subscribe ${CHANNEL}`);
  });

  it('defers an unsubscribe made while disconnected until the connection is back', async () => {
    const { fanout, subscriber } = setup();
    await fanout.subscribe(ROOM);
    subscriber.status = 'reconnecting';
    await fanout.unsubscribe(ROOM);
    expect(subscriber.channels.has(CHANNEL)).toBe(true);
    subscriber.status = 'ready';
    subscriber.emit('ready');
    await vi.waitFor(() => expect(subscriber.channels.has(CHANNEL)).toBe(false));
  });
});

describe('RedisFanout delivery', () => {
  it('hands other replicas’ envelopes to the one handler with their room, once, and ignores its own', async () => {
    const { fanout, handler } = setup();
    await fanout.subscribe(ROOM);
    await fanout.subscribe(ROOM);
    await fanout.publish(ROOM, envelope('me'));
    await fanout.publish(ROOM, envelope('other'));
    await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(1));
    expect(handler.mock.calls[0]?.[0]).toBe(ROOM);
    expect(handler.mock.calls[0]?.[1]).toMatchObject({ kind: 'broadcast', origin: 'other' });
  });

  it('hands nothing over for a room no longer subscribed', async () => {
    const { fanout, handler, subscriber } = setup();
    await fanout.subscribe(ROOM);
    await fanout.unsubscribe(ROOM);
    subscriber.emit('messageBuffer', Buffer.from(CHANNEL), encodeEnvelope(envelope('other')));
    await tick();
    expect(handler).not.toHaveBeenCalled();
  });

  it('rejects a publish while Redis is unreachable', async () => {
    const { fanout, commands } = setup();
    commands.status = 'reconnecting';
    await expect(fanout.publish(ROOM, envelope('me'))).rejects.toThrow(/unreachable/);
    expect(fanout.health()).toEqual({ ok: false, reason: 'redis unreachable' });
  });
});

describe('RedisFanout self-check', () => {
  it('is healthy once a probe came back after the subscriber connected', async () => {
    const { fanout, subscriber } = setup();
    expect(fanout.health().ok).toBe(false);
    subscriber.emit('ready');
    await vi.waitFor(() => expect(fanout.health()).toEqual({ ok: true }));
  });

  it('reports a silent subscription and reconnects the subscriber', async () => {
    const { fanout, subscriber, resetSubscriber } = setup(50);
    subscriber.emit('ready');
    await vi.waitFor(() => expect(fanout.health()).toEqual({ ok: true }));
    subscriber.deaf = true;
    await vi.waitFor(() =>
      expect(fanout.health()).toEqual({ ok: false, reason: 'redis subscription silent' }),
    );
    await vi.waitFor(() => expect(resetSubscriber).toHaveBeenCalled());
    subscriber.deaf = false;
    subscriber.emit('ready');
    await vi.waitFor(() => expect(fanout.health()).toEqual({ ok: true }));
  });
});
