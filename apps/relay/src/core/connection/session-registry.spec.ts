import { ClientType, decodeServerMessage, encode, ServerType } from '@hush/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryBackends } from '../../cluster/backends.js';
import { loadConfig } from '../../config/load-config.js';
import { createLogger } from '../../logging/logger.js';
import { RelayCore } from '../relay-core.js';
import type { Transport, TransportEvents } from '../transport.js';
import { addressKey } from '../budgets/address-key.js';
import { CloseCode } from './connection.machine.js';
import { DRAIN_STEPS } from './session-registry.js';

const HEARTBEAT = { pingIntervalMs: 1000, pongTimeoutMs: 3000 };

/** A transport in memory: what the core wrote to it, and its client's side of the events. */
class FakeTransport implements Transport {
  open = true;
  pings = 0;
  terminated = 0;
  unread = 0;
  readonly sent: Uint8Array[] = [];
  closedWith: { code: number; reason: string } | undefined;
  events: TransportEvents | undefined;

  send(frame: Uint8Array): void {
    this.sent.push(frame);
  }
  ping(): void {
    this.pings++;
  }
  backlog(): number {
    return this.unread;
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.terminate();
  }
  terminate(): void {
    this.terminated++;
    if (this.open) {
      this.open = false;
      this.events?.closed();
    }
  }
}

const ADDRESS = '192.0.2.7';

/**
 * A relay core for each test of the calling `describe`, on fake timers, with `limits` over the
 * defaults, and connections to it over fake transports.
 */
function fakeTransportRelay(limits: Record<string, number> = {}) {
  const relay = {
    core: undefined as unknown as RelayCore,
    open(counted = true): FakeTransport {
      const transport = new FakeTransport();
      transport.events = relay.core.sessions.open(transport, { address: ADDRESS, counted });
      return transport;
    },
  };
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const overrides = { heartbeat: HEARTBEAT, limits };
    const config = loadConfig({ env: {}, argv: [], overrides });
    relay.core = new RelayCore(config, 'r1', createLogger('silent', 'r1'), memoryBackends('r1'));
  });
  afterEach(async () => {
    await relay.core.close();
    vi.useRealTimers();
  });
  return relay;
}

describe('session registry: liveness', () => {
  const relay = fakeTransportRelay();

  it('runs one sweep timer while connections are open, and none once the last one closed', () => {
    const idle = vi.getTimerCount();
    const sockets = [relay.open(), relay.open(), relay.open()];
    expect(vi.getTimerCount()).toBe(idle + 1);
    for (const socket of sockets) socket.terminate();
    expect(vi.getTimerCount()).toBe(idle);
  });

  it('stops the sweep when the relay core closes, however many connections are still open', async () => {
    const idle = vi.getTimerCount();
    const socket = relay.open();
    await relay.core.close();
    expect(vi.getTimerCount()).toBe(idle);
    vi.advanceTimersByTime(2 * HEARTBEAT.pongTimeoutMs);
    expect(socket.pings).toBe(0);
    expect(socket.terminated).toBe(0);
  });

  it('pings every open socket and terminates the ones that stay silent', () => {
    const mute = relay.open();
    const answering = relay.open();
    for (let t = 0; t < 2 * HEARTBEAT.pongTimeoutMs; t += 50) {
      const before = answering.pings;
      vi.advanceTimersByTime(50);
      if (answering.pings > before) answering.events?.pong();
    }
    expect(mute.pings).toBeGreaterThanOrEqual(2);
    expect(mute.terminated).toBe(1);
    expect(answering.pings).toBeGreaterThanOrEqual(5);
    expect(answering.terminated).toBe(0);
  });
});

describe('session registry: drain', () => {
  const relay = fakeTransportRelay();

  it('keeps its closes within the span when the event loop runs a timer late', async () => {
    const sockets = Array.from({ length: 200 }, () => relay.open());
    const closed = () => sockets.filter((transport) => !transport.open).length;
    const windowMs = 2_000;
    const drained = relay.core.sessions.drain(windowMs, () => 0.5);
    // The first batch goes at once; then the loop is busy for the whole close span.
    expect(closed()).toBe(200 / DRAIN_STEPS);
    vi.setSystemTime(Date.now() + windowMs / 2);
    await vi.advanceTimersByTimeAsync(windowMs / 2 / DRAIN_STEPS);
    expect(closed()).toBe(200);
    await vi.advanceTimersByTimeAsync(windowMs);
    await drained;
  });
});

describe('session registry: a connection over a fake transport', () => {
  const relay = fakeTransportRelay({ maxConnectionsPerIp: 1, maxBufferedBytes: 128 * 1024 });

  const hello = encode({ type: ClientType.Hello, data: { version: 1, features: ['notices'] } });

  it('decodes frames for its actor and writes the answers to its transport', () => {
    const transport = relay.open();
    transport.events?.frame(hello);
    expect(transport.sent.map((frame) => decodeServerMessage(frame))).toEqual([
      { ok: true, value: expect.objectContaining({ type: ServerType.Welcome }) },
    ]);
  });

  it('counts connections until their transport closes', () => {
    const first = relay.open();
    const second = relay.open();
    expect(relay.core.sessions.size).toBe(2);
    first.terminate();
    expect(relay.core.sessions.size).toBe(1);
    second.terminate();
    expect(relay.core.sessions.size).toBe(0);
  });

  it('counts a connection not counted at accept against its address, until it closes', () => {
    const transport = relay.open(false);
    expect(relay.core.budgets.connectionAllowed(addressKey(ADDRESS))).toBe(false);
    transport.terminate();
    expect(relay.core.budgets.connectionAllowed(addressKey(ADDRESS))).toBe(true);
  });

  it('leaves the address budget to the accept side for a connection counted there', () => {
    const transport = relay.open(true);
    expect(relay.core.budgets.connectionAllowed(addressKey(ADDRESS))).toBe(true);
    transport.terminate();
    expect(relay.core.budgets.connectionAllowed(addressKey(ADDRESS))).toBe(true);
  });

  it('closes a client that leaves more than the buffer limit unread, and ignores it after', () => {
    const transport = relay.open();
    transport.unread = 128 * 1024 + 1;
    transport.open = true;
    transport.events?.frame(hello);
    expect(transport.closedWith?.code).toBe(CloseCode.SlowConsumer);
    expect(transport.sent).toEqual([]);
    // What the client still sends, and a late pong, reach no actor and write nothing.
    transport.open = true;
    transport.unread = 0;
    transport.events?.frame(hello);
    transport.events?.pong();
    expect(transport.sent).toEqual([]);
  });

  it('writes nothing to a transport that is no longer open', () => {
    const transport = relay.open();
    transport.open = false;
    transport.events?.frame(hello);
    expect(transport.sent).toEqual([]);
  });

  it('drains every connection with a going-away close', async () => {
    const transports = [relay.open(), relay.open(), relay.open()];
    const drained = relay.core.sessions.drain(1_000, () => 0);
    await vi.advanceTimersByTimeAsync(1_000);
    await drained;
    expect(transports.map((t) => t.closedWith?.code)).toEqual([
      CloseCode.GoingAway,
      CloseCode.GoingAway,
      CloseCode.GoingAway,
    ]);
    expect(relay.core.sessions.size).toBe(0);
  });

  it('terminates whatever is still open', () => {
    const transports = [relay.open(), relay.open()];
    relay.core.sessions.terminateAll();
    expect(transports.map((t) => t.terminated)).toEqual([1, 1]);
    expect(relay.core.sessions.size).toBe(0);
  });
});
