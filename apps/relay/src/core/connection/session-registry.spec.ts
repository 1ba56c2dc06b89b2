import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { memoryBackends } from '../../cluster/backends.js';
import { loadConfig } from '../../config/load-config.js';
import { createLogger } from '../../logging/logger.js';
import { RelayCore } from '../relay-core.js';
import { DRAIN_STEPS } from './session-registry.js';

const HEARTBEAT = { pingIntervalMs: 1000, pongTimeoutMs: 3000 };

/** The part of a `ws` socket the registry uses: events, state, pings and termination. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  pings = 0;
  terminated = 0;
  ping(): void {
    this.pings++;
  }
  send(): void {}
  close(): void {
    this.terminate();
  }
  terminate(): void {
    this.terminated++;
    if (this.readyState === this.OPEN) {
      this.readyState = 3;
      this.emit('close');
    }
  }
}

const raw = { writableLength: 0, cork: () => undefined, uncork: () => undefined };

describe('session registry: liveness', () => {
  let core: RelayCore;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const config = loadConfig({ env: {}, argv: [], overrides: { heartbeat: HEARTBEAT } });
    core = new RelayCore(config, 'r1', createLogger('silent', 'r1'), memoryBackends('r1'));
  });
  afterEach(async () => {
    await core.close();
    vi.useRealTimers();
  });

  function open(): FakeSocket {
    const socket = new FakeSocket();
    core.sessions.open(socket as unknown as WebSocket, '192.0.2.1', raw as unknown as Socket, true);
    return socket;
  }

  it('runs one sweep timer while connections are open, and none once the last one closed', () => {
    const idle = vi.getTimerCount();
    const sockets = [open(), open(), open()];
    expect(vi.getTimerCount()).toBe(idle + 1);
    for (const socket of sockets) socket.terminate();
    expect(vi.getTimerCount()).toBe(idle);
  });

  it('stops the sweep when the relay core closes, however many connections are still open', async () => {
    const idle = vi.getTimerCount();
    const socket = open();
    await core.close();
    expect(vi.getTimerCount()).toBe(idle);
    vi.advanceTimersByTime(2 * HEARTBEAT.pongTimeoutMs);
    expect(socket.pings).toBe(0);
    expect(socket.terminated).toBe(0);
  });

  it('pings every open socket and terminates the ones that stay silent', () => {
    const mute = open();
    const answering = open();
    for (let t = 0; t < 2 * HEARTBEAT.pongTimeoutMs; t += 50) {
      const before = answering.pings;
      vi.advanceTimersByTime(50);
      if (answering.pings > before) answering.emit('pong');
    }
    expect(mute.pings).toBeGreaterThanOrEqual(2);
    expect(mute.terminated).toBe(1);
    expect(answering.pings).toBeGreaterThanOrEqual(5);
    expect(answering.terminated).toBe(0);
  });
});

describe('session registry: drain', () => {
  let core: RelayCore;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const config = loadConfig({ env: {}, argv: [], overrides: { heartbeat: HEARTBEAT } });
    core = new RelayCore(config, 'r1', createLogger('silent', 'r1'), memoryBackends('r1'));
  });
  afterEach(async () => {
    await core.close();
    vi.useRealTimers();
  });

  it('keeps its closes within the span when the event loop runs a timer late', async () => {
    const sockets = Array.from({ length: 200 }, () => {
      const socket = new FakeSocket();
      core.sessions.open(
        socket as unknown as WebSocket,
        '192.0.2.1',
        raw as unknown as Socket,
        true,
      );
      return socket;
    });
    const closed = () => sockets.filter((socket) => socket.readyState !== socket.OPEN).length;
    const windowMs = 2_000;
    const drained = core.sessions.drain(windowMs, () => 0.5);
    // The first batch goes at once; then the loop is busy for the whole close span.
    expect(closed()).toBe(200 / DRAIN_STEPS);
    vi.setSystemTime(Date.now() + windowMs / 2);
    await vi.advanceTimersByTimeAsync(windowMs / 2 / DRAIN_STEPS);
    expect(closed()).toBe(200);
    await vi.advanceTimersByTimeAsync(windowMs);
    await drained;
  });
});
